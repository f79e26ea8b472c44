//! The reconciler: makes the read model equal PostgreSQL whatever the buses did. It scans the
//! read model, streams every product from PostgreSQL, and compares them item by item: a
//! missing or older item is upserted with the version guard (so it never undoes a newer live
//! event), an item whose content differs at the same version (edited in place) is rewritten
//! at that version, deleted products get tombstones, and items PostgreSQL does not know are
//! turned into tombstones. It rebuilds an empty table from nothing. One instance at a time, by
//! an exclusive lock (a PostgreSQL advisory lock in the server). `check_once` compares and
//! writes nothing.

use std::{collections::HashMap, sync::Arc, time::Duration};

use async_trait::async_trait;
use mercado_resolvers::{StoreError, inventory::Product};
use uuid::Uuid;

use super::{
    Shutdown,
    projector::{ModelItem, ReadModel, Upsert, digest},
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

/// How a read-model item differs from PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drift {
    /// PostgreSQL has the product; the read model has no item.
    Missing,
    /// The read model holds an older version (or a live item for a deleted product).
    Stale,
    /// Same version, other content: edited in place, or its indexes disagree with it.
    Differs,
    /// The read model holds a live item PostgreSQL does not know.
    Orphan,
    /// The read model holds a newer version than PostgreSQL: only a fault can do that.
    Ahead,
}

impl Drift {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Stale => "stale",
            Self::Differs => "differs",
            Self::Orphan => "orphan",
            Self::Ahead => "ahead",
        }
    }
}

/// One item that differs, and the versions on each side (`None`: absent there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub id: String,
    pub drift: Drift,
    pub source_version: Option<i64>,
    pub model_version: Option<i64>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReconcileReport {
    /// Products read from PostgreSQL.
    pub checked: u64,
    /// Read-model items written because they were missing, older, or differed.
    pub repaired: u64,
    /// Read-model items PostgreSQL does not know, turned into tombstones.
    pub removed: u64,
    /// Every difference found (repaired or not, as the pass was asked).
    pub differences: Vec<Difference>,
}

/// Whether a pass writes or only looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Repair,
    Check,
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
        if let Ok(r) = &result {
            let m = mercado_resolvers::telemetry::metrics();
            m.repaired("repaired", r.repaired);
            m.repaired("removed", r.removed);
        }
        result.map(Some)
    }

    /// Compares the read model with PostgreSQL item by item and writes nothing (no lock
    /// needed).
    pub async fn check_once(&self) -> Result<ReconcileReport, StoreError> {
        pass(self.source.as_ref(), self.model.as_ref(), Mode::Check).await
    }
}

/// One pass without the lock: brings `model` level with `source`. For a read model of
/// this instance alone (the search index), which no other instance writes.
pub async fn repair(
    source: &dyn DocumentSource,
    model: &dyn ReadModel,
) -> Result<ReconcileReport, StoreError> {
    pass(source, model, Mode::Repair).await
}

/// Scans the model, streams every product from the source, and compares them item by item:
/// version, tombstone, and content (where the model reports a digest). In `Repair` mode each
/// difference is written right with the model's conditional writes, so a live event that
/// lands meanwhile is never undone.
async fn pass(
    source: &dyn DocumentSource,
    model: &dyn ReadModel,
    mode: Mode,
) -> Result<ReconcileReport, StoreError> {
    let mut report = ReconcileReport::default();
    let mut held: HashMap<String, ModelItem> = model
        .scan()
        .await?
        .into_iter()
        .map(|item| (item.id.clone(), item))
        .collect();
    let mut after: Option<Uuid> = None;
    loop {
        let batch = source.documents_after(after, BATCH).await?;
        let Some((last, _)) = batch.last() else {
            break;
        };
        after = Some(last.id);
        for (product, deleted) in &batch {
            report.checked += 1;
            let item = held.remove(&product.id.to_string());
            let Some(drift) = drift(product, *deleted, item.as_ref()) else {
                continue;
            };
            report.differences.push(Difference {
                id: product.id.to_string(),
                drift,
                source_version: Some(product.version),
                model_version: item.as_ref().map(|i| i.version),
            });
            if mode == Mode::Check || drift == Drift::Ahead {
                continue;
            }
            let outcome = match (drift, *deleted) {
                (_, true) => model.tombstone(product.id, product.version).await,
                (Drift::Differs, false) => model.rewrite(product).await,
                (_, false) => model.upsert(product).await,
            }?;
            if outcome == Upsert::Applied {
                report.repaired += 1;
            }
        }
    }
    // What is left, PostgreSQL does not know.
    for item in held.into_values().filter(|i| !i.deleted) {
        report.differences.push(Difference {
            id: item.id.clone(),
            drift: Drift::Orphan,
            source_version: None,
            model_version: Some(item.version),
        });
        let Ok(id) = Uuid::parse_str(&item.id) else {
            continue;
        };
        if mode == Mode::Repair && model.tombstone(id, item.version + 1).await? == Upsert::Applied {
            report.removed += 1;
        }
    }
    Ok(report)
}

/// How the model's item differs from the source's product, if it does.
fn drift(product: &Product, deleted: bool, item: Option<&ModelItem>) -> Option<Drift> {
    let Some(item) = item else {
        return Some(Drift::Missing);
    };
    if item.version > product.version {
        return Some(Drift::Ahead);
    }
    if item.version < product.version {
        return Some(Drift::Stale);
    }
    match (deleted, item.deleted) {
        (true, true) => None,
        (true, false) | (false, true) => Some(Drift::Stale),
        (false, false) => item
            .digest
            .as_ref()
            .is_some_and(|d| *d != digest(product))
            .then_some(Drift::Differs),
    }
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
