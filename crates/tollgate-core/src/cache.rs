//! In-memory copies of clients and accounts so the token hot path reads no database, kept
//! fresh from the store's change feed.

use std::collections::BTreeSet;
use std::sync::Arc;

use dashmap::DashMap;

use crate::ids::{AccountSid, ClientId};
use crate::model::{Account, Change, Client, Entity};
use crate::store::{Store, StoreResult};

#[derive(Default)]
pub struct Directory {
    clients: DashMap<ClientId, Arc<Client>>,
    accounts: DashMap<AccountSid, Arc<Account>>,
}

impl Directory {
    pub fn client(&self, id: &ClientId) -> Option<Arc<Client>> {
        self.clients.get(id).map(|c| c.clone())
    }

    pub fn account(&self, sid: &AccountSid) -> Option<Arc<Account>> {
        self.accounts.get(sid).map(|a| a.clone())
    }

    pub fn client_count(&self) -> usize {
        self.clients.len()
    }

    pub async fn load_all(&self, store: &dyn Store) -> StoreResult<()> {
        let accounts = store.accounts().await?;
        let clients = store.clients(None).await?;
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
                let Ok(id) = ClientId::parse(&change.id) else {
                    return Ok(());
                };
                match store.client(&id).await? {
                    Some(c) => {
                        self.clients.insert(id, Arc::new(c));
                    }
                    None => {
                        self.clients.remove(&id);
                    }
                }
            }
            Entity::Account => {
                let Ok(sid) = AccountSid::parse(&change.id) else {
                    return Ok(());
                };
                match store.account(&sid).await? {
                    Some(a) => {
                        self.accounts.insert(sid, Arc::new(a));
                    }
                    None => {
                        self.accounts.remove(&sid);
                    }
                }
            }
            Entity::SigningKey => {}
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
