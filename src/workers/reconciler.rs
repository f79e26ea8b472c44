//! The reconciler: makes the read model equal PostgreSQL whatever the buses did. It streams
//! every product from PostgreSQL and upserts it with the version guard (so it never undoes a
//! newer live event), writes tombstones for deleted products, and turns read-model items that
//! PostgreSQL does not know into tombstones. It rebuilds an empty table from nothing. One
//! instance at a time, by an exclusive lock (a PostgreSQL advisory lock in the server).

use std::{collections::HashSet, sync::Arc, time::Duration};

use async_trait::async_trait;
use mercado_resolvers::{StoreError, inventory::Product};
use uuid::Uuid;

use super::{
    Shutdown,
    projector::{ReadModel, Upsert},
    stopped,
};

/// The write side's documents, as the reconciler streams them (PostgreSQL in the server).
#[async_trait]
pub trait DocumentSource: Send + Sync {
    /// Every product (deleted ones too, flagged) with an id after `after`, in id order.
    async fn documents_after(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<(Product, bool)>, StoreError>;
}

/// Keeps reconcilers apart: at most one instance holds it at a time.
#[async_trait]
pub trait Exclusive: Send + Sync {
    /// The lock if it is free now (`None` when another instance holds it).
    async fn try_acquire(&self) -> Result<Option<Box<dyn ExclusiveGuard>>, StoreError>;
}

#[async_trait]
pub trait ExclusiveGuard: Send {
    async fn release(self: Box<Self>);
}

const BATCH: u32 = 500;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ReconcileReport {
    /// Products read from PostgreSQL.
    pub checked: u64,
    /// Read-model items written because they were missing or older.
    pub repaired: u64,
    /// Read-model items PostgreSQL does not know, turned into tombstones.
    pub removed: u64,
}

/// The reconciler's ports.
#[derive(Clone)]
pub struct Reconciler {
    pub lock: Arc<dyn Exclusive>,
    pub source: Arc<dyn DocumentSource>,
    pub model: Arc<dyn ReadModel>,
}

impl Reconciler {
    /// One full pass. `Ok(None)` when another instance holds the lock.
    pub async fn reconcile_once(&self) -> Result<Option<ReconcileReport>, StoreError> {
        let Some(guard) = self.lock.try_acquire().await? else {
            return Ok(None);
        };
        let result = repair(self.source.as_ref(), self.model.as_ref()).await;
        guard.release().await;
        result.map(Some)
    }
}

/// One pass without the lock: brings `catalog` level with `inventory`. For a read model of
/// this instance alone (the search index), which no other instance writes.
pub async fn repair(
    inventory: &dyn DocumentSource,
    catalog: &dyn ReadModel,
) -> Result<ReconcileReport, StoreError> {
    let mut report = ReconcileReport::default();
    let mut known: HashSet<String> = HashSet::new();
    let mut after: Option<Uuid> = None;
    loop {
        let batch = inventory.documents_after(after, BATCH).await?;
        let Some((last, _)) = batch.last() else {
            break;
        };
        after = Some(last.id);
        for (product, deleted) in &batch {
            report.checked += 1;
            known.insert(product.id.to_string());
            let outcome = if *deleted {
                catalog.tombstone(product.id, product.version).await
            } else {
                catalog.upsert(product).await
            }?;
            if outcome == Upsert::Applied {
                report.repaired += 1;
            }
        }
    }
    for (id, version, deleted) in catalog.scan_versions().await? {
        if deleted || known.contains(&id) {
            continue;
        }
        let Ok(uuid) = Uuid::parse_str(&id) else {
            continue;
        };
        if catalog.tombstone(uuid, version + 1).await? == Upsert::Applied {
            report.removed += 1;
        }
    }
    Ok(report)
}

/// Reconciles every `interval` until shutdown.
pub async fn run(reconciler: Reconciler, interval: Duration, mut shutdown: Shutdown) {
    loop {
        tokio::select! {
            () = stopped(&mut shutdown) => return,
            () = tokio::time::sleep(interval) => {}
        }
        match reconciler.reconcile_once().await {
            Ok(Some(r)) => tracing::info!(
                checked = r.checked,
                repaired = r.repaired,
                removed = r.removed,
                "reconciled the read model"
            ),
            Ok(None) => tracing::info!("another instance is reconciling; skipped"),
            Err(e) => tracing::warn!(error = %e, "reconcile failed"),
        }
    }
}
