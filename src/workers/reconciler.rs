//! The reconciler: makes the read model equal PostgreSQL whatever the buses did. It streams
//! every product from PostgreSQL and upserts it with the version guard (so it never undoes a
//! newer live event), writes tombstones for deleted products, and turns read-model items that
//! PostgreSQL does not know into tombstones. It rebuilds an empty table from nothing. One
//! instance at a time, by a PostgreSQL advisory lock.

use std::{collections::HashSet, time::Duration};

use sqlx::PgPool;
use uuid::Uuid;

use super::{Shutdown, stopped};
use crate::{
    adapters::dynamo::{DynamoCatalog, Upsert},
    adapters::postgres::PgInventory,
};

/// Advisory-lock key: "mercado reconcile".
const LOCK_KEY: i64 = 0x6d65_7263_7265_636f;
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

/// One full pass. `Ok(None)` when another instance holds the lock.
pub async fn reconcile_once(
    pool: &PgPool,
    inventory: &PgInventory,
    catalog: &DynamoCatalog,
) -> Result<Option<ReconcileReport>, String> {
    // The lock lives on one connection for the whole pass.
    let mut lock = pool.acquire().await.map_err(|e| e.to_string())?;
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(LOCK_KEY)
        .fetch_one(&mut *lock)
        .await
        .map_err(|e| e.to_string())?;
    if !locked {
        return Ok(None);
    }
    let result = pass(inventory, catalog).await;
    let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(LOCK_KEY)
        .execute(&mut *lock)
        .await;
    result.map(Some)
}

async fn pass(inventory: &PgInventory, catalog: &DynamoCatalog) -> Result<ReconcileReport, String> {
    let mut report = ReconcileReport::default();
    let mut known: HashSet<String> = HashSet::new();
    let mut after: Option<Uuid> = None;
    loop {
        let batch = inventory
            .documents_after(after, BATCH)
            .await
            .map_err(|e| e.to_string())?;
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
            }
            .map_err(|e| e.to_string())?;
            if outcome == Upsert::Applied {
                report.repaired += 1;
            }
        }
    }
    for (id, version, deleted) in catalog.scan_versions().await.map_err(|e| e.to_string())? {
        if deleted || known.contains(&id) {
            continue;
        }
        let Ok(uuid) = Uuid::parse_str(&id) else {
            continue;
        };
        if catalog
            .tombstone(uuid, version + 1)
            .await
            .map_err(|e| e.to_string())?
            == Upsert::Applied
        {
            report.removed += 1;
        }
    }
    Ok(report)
}

/// Reconciles every `interval` until shutdown.
pub async fn run(
    pool: PgPool,
    inventory: std::sync::Arc<PgInventory>,
    catalog: DynamoCatalog,
    interval: Duration,
    mut shutdown: Shutdown,
) {
    loop {
        tokio::select! {
            () = stopped(&mut shutdown) => return,
            () = tokio::time::sleep(interval) => {}
        }
        match reconcile_once(&pool, &inventory, &catalog).await {
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
