//! In-memory copies of clients, accounts and API resources so the token hot path reads no
//! database, kept fresh from the store's change feed.

use std::collections::BTreeSet;
use std::hash::Hash;
use std::sync::Arc;

use dashmap::DashMap;

use crate::ids::{AccountSid, ClientId, ResourceSid};
use crate::model::{Account, Change, Client, Entity, Resource};
use crate::store::{ResourceDirectory, Store, StoreResult};

/// How long an id the store did not know is answered from memory, and how many such ids are
/// remembered: unknown ids cannot hammer the store, and a new record waits at most this long.
const NEGATIVE_TTL_SECS: i64 = 1;
const NEGATIVE_MAX: usize = 10_000;

/// Records read through to the store on a miss, with a short negative cache.
pub struct ReadThrough<K, V> {
    records: DashMap<K, Arc<V>>,
    /// Ids the store did not have, until the given time.
    missing: DashMap<K, i64>,
}

impl<K: Hash + Eq, V> Default for ReadThrough<K, V> {
    fn default() -> Self {
        Self {
            records: DashMap::new(),
            missing: DashMap::new(),
        }
    }
}

impl<K: Hash + Eq + Clone, V> ReadThrough<K, V> {
    pub fn get(&self, key: &K) -> Option<Arc<V>> {
        self.records.get(key).map(|v| v.clone())
    }

    /// `key` from memory, else from `load` (the store), remembering a miss for a short while.
    pub async fn or_load(
        &self,
        key: &K,
        now: i64,
        load: impl Future<Output = StoreResult<Option<V>>>,
    ) -> StoreResult<Option<Arc<V>>> {
        if let Some(hit) = self.get(key) {
            return Ok(Some(hit));
        }
        if self.missing.get(key).is_some_and(|until| *until > now) {
            return Ok(None);
        }
        match load.await? {
            Some(v) => {
                let v = Arc::new(v);
                self.missing.remove(key);
                self.records.insert(key.clone(), v.clone());
                Ok(Some(v))
            }
            None => {
                // Forgets everything when full (a flood of random ids).
                if self.missing.len() >= NEGATIVE_MAX {
                    self.missing.clear();
                }
                self.missing.insert(key.clone(), now + NEGATIVE_TTL_SECS);
                Ok(None)
            }
        }
    }

    /// Re-reads `key` after a change to it: kept afresh, or dropped when it is gone.
    async fn reload(
        &self,
        key: K,
        load: impl Future<Output = StoreResult<Option<V>>>,
    ) -> StoreResult<()> {
        self.missing.remove(&key);
        match load.await? {
            Some(v) => {
                self.records.insert(key, Arc::new(v));
            }
            None => {
                self.records.remove(&key);
            }
        }
        Ok(())
    }

    /// Holds exactly `all`.
    fn replace_all(&self, all: Vec<V>, key: impl Fn(&V) -> K) {
        self.records.clear();
        for v in all {
            self.records.insert(key(&v), Arc::new(v));
        }
    }

    /// Forgets expired negative entries.
    fn prune(&self, now: i64) {
        self.missing.retain(|_, until| *until > now);
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

#[derive(Default)]
pub struct Directory {
    pub clients: ReadThrough<ClientId, Client>,
    pub accounts: ReadThrough<AccountSid, Account>,
    /// Every registered resource, by identifier (the audience a client names). Complete, not
    /// read-through: an identifier missing here is one nobody registered.
    resources: DashMap<String, Arc<Resource>>,
}

impl Directory {
    /// Forgets expired negative entries.
    pub fn prune(&self, now: i64) {
        self.clients.prune(now);
        self.accounts.prune(now);
    }

    pub fn client(&self, id: &ClientId) -> Option<Arc<Client>> {
        self.clients.get(id)
    }

    pub fn account(&self, sid: &AccountSid) -> Option<Arc<Account>> {
        self.accounts.get(sid)
    }

    /// Whether `origin` (`scheme://host[:port]`) is the origin of a registered redirect URI:
    /// the browser apps that may call the token endpoints cross-origin.
    pub fn is_client_origin(&self, origin: &str) -> bool {
        self.clients.records.iter().any(|c| {
            c.redirect_uris
                .iter()
                .filter_map(|u| url::Url::parse(u).ok())
                .any(|u| u.origin().ascii_serialization() == origin)
        })
    }

    /// The resource registered under `identifier`, if any.
    pub fn resource(&self, identifier: &str) -> Option<Arc<Resource>> {
        self.resources.get(identifier).map(|r| r.clone())
    }

    pub fn sizes(&self) -> (usize, usize) {
        (self.clients.len(), self.accounts.len())
    }

    pub fn client_count(&self) -> usize {
        self.clients.len()
    }

    pub async fn load_all(&self, store: &dyn Store) -> StoreResult<()> {
        let accounts = store.accounts().await?;
        let clients = store.clients(None).await?;
        let resources = store.resources(None).await?;
        self.resources.clear();
        for r in resources {
            self.resources.insert(r.identifier.clone(), Arc::new(r));
        }
        self.accounts.replace_all(accounts, |a| a.sid.clone());
        self.clients.replace_all(clients, |c| c.id.clone());
        Ok(())
    }

    /// Re-reads one changed record; a record that is gone is dropped.
    pub async fn refresh(&self, store: &dyn Store, change: &Change) -> StoreResult<()> {
        match change.entity {
            Entity::Client => {
                if let Ok(id) = ClientId::parse(&change.id) {
                    self.clients.reload(id.clone(), store.client(&id)).await?;
                }
            }
            Entity::Account => {
                if let Ok(sid) = AccountSid::parse(&change.id) {
                    self.accounts
                        .reload(sid.clone(), store.account(&sid))
                        .await?;
                }
            }
            Entity::Resource => {
                if let Ok(sid) = ResourceSid::parse(&change.id) {
                    self.refresh_resource(store, &sid).await?;
                }
            }
            Entity::SigningKey | Entity::Revocation => {}
        }
        Ok(())
    }

    /// Re-reads one resource with its grants. Identifiers never change, so a deleted one is
    /// found by its SID.
    async fn refresh_resource(
        &self,
        store: &(impl ResourceDirectory + ?Sized),
        sid: &ResourceSid,
    ) -> StoreResult<()> {
        match store.resource(sid).await? {
            Some(r) => {
                self.resources.insert(r.identifier.clone(), Arc::new(r));
            }
            None => self.resources.retain(|_, r| r.sid != *sid),
        }
        Ok(())
    }
}

/// Tracks which changes this node has applied. PostgreSQL sequences can commit out of order,
/// so a window below the highest seen sequence is re-read and gaps filled in when they appear.
#[derive(Debug, Default)]
pub struct ChangeCursor {
    applied: BTreeSet<i64>,
    high: i64,
}

impl ChangeCursor {
    /// How far below the highest applied sequence to look again for late commits.
    pub const WINDOW: i64 = 256;

    pub fn starting_at(seq: i64) -> Self {
        Self {
            applied: BTreeSet::new(),
            high: seq,
        }
    }

    pub fn read_from(&self) -> i64 {
        (self.high - Self::WINDOW).max(0)
    }

    /// Filters out changes already applied and records the rest as applied.
    pub fn take_new(&mut self, changes: Vec<Change>) -> Vec<Change> {
        let floor = self.read_from();
        let fresh: Vec<Change> = changes
            .into_iter()
            .filter(|c| c.seq > floor && !self.applied.contains(&c.seq))
            .collect();
        for c in &fresh {
            self.applied.insert(c.seq);
            self.high = self.high.max(c.seq);
        }
        let floor = self.read_from();
        self.applied = self.applied.split_off(&floor);
        fresh
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ch(seq: i64) -> Change {
        Change {
            seq,
            entity: Entity::Client,
            id: format!("c{seq}"),
        }
    }

    #[test]
    fn cursor_applies_each_change_once_and_fills_late_gaps() {
        let mut cur = ChangeCursor::starting_at(0);
        assert_eq!(cur.take_new(vec![ch(1), ch(3)]).len(), 2);
        // seq 2 commits late; 1 and 3 come back in the window and are skipped
        let again = cur.take_new(vec![ch(1), ch(2), ch(3)]);
        assert_eq!(again.iter().map(|c| c.seq).collect::<Vec<_>>(), vec![2]);
        assert!(cur.take_new(vec![ch(1), ch(2), ch(3)]).is_empty());
    }

    #[test]
    fn cursor_started_at_a_sequence_ignores_older_changes() {
        let mut cur = ChangeCursor::starting_at(1000);
        assert!(cur.take_new(vec![ch(10)]).is_empty());
        assert_eq!(cur.take_new(vec![ch(1001)]).len(), 1);
    }
}
