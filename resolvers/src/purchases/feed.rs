//! `orderStatus` fan-out on one instance: order notifications ([`OrderEvents`]; PostgreSQL
//! `NOTIFY` in the server) are routed to the followers of that order only, and each change is
//! read from the store once for all of them, as the live catalog does for products. Orders
//! nobody follows here cost nothing.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, Weak},
};

use tokio::sync::broadcast::{self, error::RecvError};
use uuid::Uuid;

use super::{OrderEvents, OrderStore, Transition};
use crate::StoreError;

/// Batches buffered per followed order before a slow follower lags (it then reads itself).
const FOLLOW_CAPACITY: usize = 16;

/// New transitions of one order, each with its sequence number, oldest first. Empty: the feed
/// could not read them, and each follower reads for itself.
pub type Transitions = Arc<Vec<(i32, Transition)>>;

pub struct OrderFeed {
    store: Arc<dyn OrderStore>,
    followed: Mutex<HashMap<Uuid, Followed>>,
}

/// One order followed on this instance: its followers, and the last transition read for them.
struct Followed {
    sender: broadcast::Sender<Transitions>,
    last_seq: i32,
}

impl OrderFeed {
    /// Starts routing notifications (the task ends with the feed).
    pub fn start(store: Arc<dyn OrderStore>, events: &dyn OrderEvents) -> Arc<Self> {
        let heard = events.subscribe();
        let feed = Arc::new(Self {
            store,
            followed: Mutex::default(),
        });
        tokio::spawn(route(Arc::downgrade(&feed), heard));
        feed
    }

    /// New transitions of `order` from now on (subscribe before reading the history, so
    /// nothing committed in between is missed; batches may repeat what the history held:
    /// followers skip sequence numbers they have).
    pub fn follow(&self, order: Uuid) -> Result<broadcast::Receiver<Transitions>, StoreError> {
        let mut followed = self.lock()?;
        Ok(followed
            .entry(order)
            .or_insert_with(|| Followed {
                sender: broadcast::channel(FOLLOW_CAPACITY).0,
                last_seq: 0,
            })
            .sender
            .subscribe())
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, HashMap<Uuid, Followed>>, StoreError> {
        self.followed
            .lock()
            .map_err(|_| StoreError::Internal("order feed lock poisoned".into()))
    }

    /// Reads what `order` gained since the last read and hands it to its followers; forgets
    /// an order nobody follows any more.
    async fn refresh(&self, order: Uuid) -> Result<(), StoreError> {
        let after = {
            let mut followed = self.lock()?;
            match followed.get(&order) {
                Some(f) if f.sender.receiver_count() == 0 => {
                    followed.remove(&order);
                    return Ok(());
                }
                Some(f) => f.last_seq,
                None => return Ok(()),
            }
        };
        let fresh = self.store.transitions_after(order, after).await?;
        let Some(&(last, _)) = fresh.last() else {
            return Ok(());
        };
        let mut followed = self.lock()?;
        if let Some(f) = followed.get_mut(&order)
            && last > f.last_seq
        {
            f.last_seq = last;
            // No receiver left: the next notification forgets the order.
            let _ = f.sender.send(Arc::new(fresh));
        }
        Ok(())
    }
}

/// Routes each notification to its order's followers; on a gap (a missed notification, or
/// this task lagging) every followed order is read again.
async fn route(feed: Weak<OrderFeed>, mut heard: broadcast::Receiver<Uuid>) {
    loop {
        let orders = match heard.recv().await {
            Ok(id) if !id.is_nil() => vec![id],
            Ok(_) | Err(RecvError::Lagged(_)) => {
                let Some(feed) = feed.upgrade() else { return };
                let Ok(followed) = feed.lock() else { return };
                followed.keys().copied().collect()
            }
            Err(RecvError::Closed) => return,
        };
        let Some(feed) = feed.upgrade() else { return };
        for order in orders {
            if let Err(e) = feed.refresh(order).await {
                tracing::warn!(order_id = %order, error = %e, "order feed read failed; its followers read for themselves");
                if let Ok(followed) = feed.lock()
                    && let Some(f) = followed.get(&order)
                {
                    let _ = f.sender.send(Arc::new(Vec::new()));
                }
            }
        }
    }
}
