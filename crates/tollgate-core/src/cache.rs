//! In-memory copies of clients, accounts and API resources so the token hot path reads no
//! database, kept fresh from the store's change feed.

use std::collections::BTreeSet;
use std::sync::Arc;

use dashmap::DashMap;

use crate::ids::{AccountSid, ClientId, ResourceSid};
use crate::model::{Account, Change, Client, Entity, Resource};
use crate::store::{ClientDirectory, ResourceDirectory, Store, StoreResult, Tenancy};

/// How long an id the store did not know is answered from memory, and how many such ids are
/// remembered: unknown ids cannot hammer the store, and a new record waits at most this long.
const NEGATIVE_TTL_SECS: i64 = 1;
const NEGATIVE_MAX: usize = 10_000;

#[derive(Default)]
pub struct Directory {
    clients: DashMap<ClientId, Arc<Client>>,
    accounts: DashMap<AccountSid, Arc<Account>>,
    /// Every registered resource, by identifier (the audience a client names). Complete, not
    /// read-through: an identifier missing here is one nobody registered.
    resources: DashMap<String, Arc<Resource>>,
    /// Ids the store did not have, until the given time.
    missing_clients: DashMap<ClientId, i64>,
    missing_accounts: DashMap<AccountSid, i64>,
}

/// Remembers a miss, forgetting everything when full (a flood of random ids).
fn remember_miss<K: std::hash::Hash + Eq>(map: &DashMap<K, i64>, key: K, now: i64) {
    if map.len() >= NEGATIVE_MAX {
        map.clear();
    }
    map.insert(key, now + NEGATIVE_TTL_SECS);
}

fn recently_missing<K: std::hash::Hash + Eq>(map: &DashMap<K, i64>, key: &K, now: i64) -> bool {
    map.get(key).is_some_and(|until| *until > now)
}

/// Re-reads `key` after a change to it: kept afresh, or dropped when it is gone.
async fn reload<K, V>(
    cache: &DashMap<K, Arc<V>>,
    missing: &DashMap<K, i64>,
    key: K,
    load: impl Future<Output = StoreResult<Option<V>>>,
) -> StoreResult<()>
where
    K: std::hash::Hash + Eq,
{
    missing.remove(&key);
    match load.await? {
        Some(v) => {
            cache.insert(key, Arc::new(v));
        }
        None => {
            cache.remove(&key);
        }
    }
    Ok(())
}

/// `key` from memory, else from `load` (the store), remembering a miss for a short while.
async fn read_through<K, V>(
    cache: &DashMap<K, Arc<V>>,
    missing: &DashMap<K, i64>,
    key: &K,
    now: i64,
    load: impl Future<Output = StoreResult<Option<V>>>,
) -> StoreResult<Option<Arc<V>>>
where
    K: std::hash::Hash + Eq + Clone,
{
    if let Some(hit) = cache.get(key).map(|v| v.clone()) {
        return Ok(Some(hit));
    }
    if recently_missing(missing, key, now) {
        return Ok(None);
    }
    match load.await? {
        Some(v) => {
            let v = Arc::new(v);
            missing.remove(key);
            cache.insert(key.clone(), v.clone());
            Ok(Some(v))
        }
        None => {
            remember_miss(missing, key.clone(), now);
            Ok(None)
        }
    }
}

impl Directory {
    /// The client from memory, else from the store (read-through, with a short negative cache).
    pub async fn client_or_load(
        &self,
        store: &(impl ClientDirectory + ?Sized),
        id: &ClientId,
        now: i64,
    ) -> StoreResult<Option<Arc<Client>>> {
        read_through(
            &self.clients,
            &self.missing_clients,
            id,
            now,
            store.client(id),
        )
        .await
    }

    /// The account from memory, else from the store, as for clients.
    pub async fn account_or_load(
        &self,
        store: &(impl Tenancy + ?Sized),
        sid: &AccountSid,
        now: i64,
    ) -> StoreResult<Option<Arc<Account>>> {
        read_through(
            &self.accounts,
            &self.missing_accounts,
            sid,
            now,
            store.account(sid),
        )
        .await
    }

    /// Forgets expired negative entries.
    pub fn prune(&self, now: i64) {
        self.missing_clients.retain(|_, until| *until > now);
        self.missing_accounts.retain(|_, until| *until > now);
    }

    pub fn client(&self, id: &ClientId) -> Option<Arc<Client>> {
        self.clients.get(id).map(|c| c.clone())
    }

    pub fn account(&self, sid: &AccountSid) -> Option<Arc<Account>> {
        self.accounts.get(sid).map(|a| a.clone())
    }

    /// Whether `origin` (`scheme://host[:port]`) is the origin of a registered redirect URI:
    /// the browser apps that may call the token endpoints cross-origin.
    pub fn is_client_origin(&self, origin: &str) -> bool {
        self.clients.iter().any(|c| {
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
        self.accounts.clear();
        for a in accounts {
            self.accounts.insert(a.sid.clone(), Arc::new(a));
        }
        self.clients.clear();
        for c in clients {
            self.clients.insert(c.id.clone(), Arc::new(c));
        }
        Ok(())
    }

    /// Re-reads one changed record; a record that is gone is dropped.
    pub async fn refresh(&self, store: &dyn Store, change: &Change) -> StoreResult<()> {
        match change.entity {
            Entity::Client => {
                if let Ok(id) = ClientId::parse(&change.id) {
                    let load = store.client(&id);
                    reload(&self.clients, &self.missing_clients, id.clone(), load).await?;
                }
            }
            Entity::Account => {
                if let Ok(sid) = AccountSid::parse(&change.id) {
                    let load = store.account(&sid);
                    reload(&self.accounts, &self.missing_accounts, sid.clone(), load).await?;
                }
            }
            Entity::Resource => {
                let Ok(sid) = ResourceSid::parse(&change.id) else {
                    return Ok(());
                };
                self.refresh_resource(store, &sid).await?;
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
