//! The live catalog across the CQRS split: `productChanged` streams and read-your-writes
//! waits. Both are driven by the applied-version announcements made after every read-model
//! write ([`CatalogChanges`]; PostgreSQL `NOTIFY` in the server, so every instance hears every
//! write). Per instance, one store read per change is shared by all the change's subscribers.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, Weak,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use async_graphql::{Context, Enum, ErrorExtensions, ID, Result, SimpleObject, Subscription};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use futures::Stream;
use tokio::sync::broadcast::{self, error::RecvError};
use uuid::Uuid;

use super::{AppliedVersion, CatalogChanges, CatalogEntry, CatalogReader};
use crate::{
    ApiError, StoreError, Viewer,
    error::into_gql,
    inventory::{Product, ProductStatus},
};

/// Changes buffered per watched product before a slow subscriber lags (it then re-reads).
const WATCH_CAPACITY: usize = 16;
/// Watched-product entries kept before those with no subscriber left are swept.
const SWEEP_AT: usize = 1024;
/// Most (product, version) pairs one read may wait for.
pub const MAX_CONSISTENCY_PAIRS: usize = 100;
const TOKEN_PREFIX: &str = "ct1.";

/// Counters of the live catalog, logged every minute while they move.
#[derive(Default, Debug)]
pub struct FeedStats {
    /// Applied versions announced (by any instance).
    pub announcements: AtomicU64,
    /// Store reads made to fan a change out (one per change per watched product).
    pub change_reads: AtomicU64,
    /// Reads that waited for a consistency token.
    pub waits: AtomicU64,
    /// Of those, reads answered before the read model caught up (`STALE_READ`).
    pub stale_reads: AtomicU64,
    /// Total time spent waiting, in microseconds.
    pub wait_micros: AtomicU64,
}

/// Fans applied versions out to `productChanged` subscribers and wakes consistency waits.
pub struct CatalogFeed {
    reader: Arc<dyn CatalogReader>,
    changes: Arc<dyn CatalogChanges>,
    watchers: Mutex<HashMap<Uuid, Watched>>,
    read_wait: Duration,
    stats: FeedStats,
}

/// One followed product on this instance: its subscribers, and the newest entry read for it
/// (so a new subscriber starts from it instead of reading the store again).
struct Watched {
    sender: broadcast::Sender<Arc<CatalogEntry>>,
    latest: Option<Arc<CatalogEntry>>,
    /// Held while the first read of the product is in flight, so that subscribers arriving
    /// meanwhile wait for it instead of reading the store again.
    loading: Arc<tokio::sync::Mutex<()>>,
}

/// A version a read asked for that the read model did not reach in time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lagging {
    pub id: Uuid,
    pub wanted: i64,
    /// What the read model held when the wait ended (0: nothing).
    pub held: i64,
}

impl CatalogFeed {
    /// Starts fanning announcements out (the task ends with the feed).
    pub fn start(
        reader: Arc<dyn CatalogReader>,
        changes: Arc<dyn CatalogChanges>,
        read_wait: Duration,
    ) -> Arc<Self> {
        let announcements = changes.subscribe();
        let feed = Arc::new(Self {
            reader,
            changes,
            watchers: Mutex::default(),
            read_wait,
            stats: FeedStats::default(),
        });
        tokio::spawn(fan_out(Arc::downgrade(&feed), announcements));
        feed
    }

    pub fn stats(&self) -> &FeedStats {
        &self.stats
    }

    /// Changes of `id` from now on, and the entry to start from: the newest this instance
    /// has read for `id`, or one store read when it has none (subscribe happens first, so
    /// nothing applied in between is missed).
    async fn watch(
        self: &Arc<Self>,
        id: Uuid,
    ) -> Result<(broadcast::Receiver<Arc<CatalogEntry>>, Arc<CatalogEntry>), StoreError> {
        let (changes, loading) = {
            let mut watchers = self.lock_watchers()?;
            if watchers.len() >= SWEEP_AT {
                watchers.retain(|_, w| w.sender.receiver_count() > 0);
            }
            let watched = watchers.entry(id).or_insert_with(|| Watched {
                sender: broadcast::channel(WATCH_CAPACITY).0,
                latest: None,
                loading: Arc::default(),
            });
            (watched.sender.subscribe(), watched.loading.clone())
        };
        let _loading = loading.lock().await;
        let latest = self
            .lock_watchers()?
            .get(&id)
            .and_then(|w| w.latest.clone());
        let current = match latest {
            Some(entry) => entry,
            None => {
                let entry = Arc::new(self.reader.entry(id).await?);
                self.remember(id, &entry);
                entry
            }
        };
        Ok((changes, current))
    }

    fn lock_watchers(
        &self,
    ) -> Result<std::sync::MutexGuard<'_, HashMap<Uuid, Watched>>, StoreError> {
        self.watchers
            .lock()
            .map_err(|_| StoreError::Internal("catalog feed lock poisoned".into()))
    }

    /// Keeps `entry` as `id`'s newest unless a newer one is already kept.
    fn remember(&self, id: Uuid, entry: &Arc<CatalogEntry>) {
        if let Ok(mut watchers) = self.watchers.lock()
            && let Some(watched) = watchers.get_mut(&id)
            && watched
                .latest
                .as_ref()
                .is_none_or(|l| l.version() < entry.version())
        {
            watched.latest = Some(entry.clone());
        }
    }

    fn subscribers(&self) -> usize {
        self.watchers
            .lock()
            .map(|w| w.values().map(|w| w.sender.receiver_count()).sum())
            .unwrap_or(0)
    }

    /// Reads `id` once and hands the entry to every subscriber of `id` on this instance.
    fn fan_out_one(self: &Arc<Self>, id: Uuid) {
        let sender = match self.watchers.lock() {
            Ok(mut watchers) => match watchers.get(&id) {
                Some(w) if w.sender.receiver_count() > 0 => w.sender.clone(),
                Some(_) => {
                    watchers.remove(&id);
                    return;
                }
                None => return,
            },
            Err(_) => return,
        };
        let feed = self.clone();
        tokio::spawn(async move {
            feed.stats.change_reads.fetch_add(1, Ordering::Relaxed);
            match feed.reader.entry(id).await {
                Ok(entry) => {
                    let entry = Arc::new(entry);
                    feed.remember(id, &entry);
                    let _ = sender.send(entry);
                }
                Err(e) => {
                    tracing::warn!(%id, error = %e, "catalog change not read; subscribers wait for the next")
                }
            }
        });
    }

    /// Waits until the read model holds at least every wanted version, or the read wait
    /// passes; returns what it still lacks then. Woken by announcements, never by polling.
    pub async fn wait_for(&self, wanted: &[AppliedVersion]) -> Result<Vec<Lagging>, StoreError> {
        let started = tokio::time::Instant::now();
        let deadline = started + self.read_wait;
        // Subscribe before reading, so an announcement in between is not missed.
        let mut announcements = self.changes.subscribe();
        let mut missing: HashMap<Uuid, (i64, i64)> = HashMap::new();
        for w in wanted {
            let slot = missing.entry(w.id).or_insert((w.version, 0));
            slot.0 = slot.0.max(w.version);
        }
        let refresh = |missing: &mut HashMap<Uuid, (i64, i64)>, held: HashMap<Uuid, i64>| {
            missing.retain(|id, (want, have)| {
                *have = held.get(id).copied().unwrap_or(0);
                *have < *want
            });
        };
        let ids: Vec<Uuid> = missing.keys().copied().collect();
        refresh(&mut missing, self.reader.versions(&ids).await?);
        while !missing.is_empty() {
            match tokio::time::timeout_at(deadline, announcements.recv()).await {
                Err(_) | Ok(Err(RecvError::Closed)) => break,
                Ok(Ok(applied)) if applied != AppliedVersion::MISSED => {
                    if let Some((want, have)) = missing.get_mut(&applied.id) {
                        *have = (*have).max(applied.version);
                        if *have >= *want {
                            missing.remove(&applied.id);
                        }
                    }
                }
                Ok(Ok(_)) | Ok(Err(RecvError::Lagged(_))) => {
                    let ids: Vec<Uuid> = missing.keys().copied().collect();
                    refresh(&mut missing, self.reader.versions(&ids).await?);
                }
            }
        }
        let stats = &self.stats;
        stats.waits.fetch_add(1, Ordering::Relaxed);
        let waited = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        stats.wait_micros.fetch_add(waited, Ordering::Relaxed);
        if !missing.is_empty() {
            stats.stale_reads.fetch_add(1, Ordering::Relaxed);
        }
        let mut lagging: Vec<Lagging> = missing
            .into_iter()
            .map(|(id, (wanted, held))| Lagging { id, wanted, held })
            .collect();
        lagging.sort_by_key(|l| l.id);
        Ok(lagging)
    }
}

async fn fan_out(feed: Weak<CatalogFeed>, mut announcements: broadcast::Receiver<AppliedVersion>) {
    let mut report = tokio::time::interval(Duration::from_secs(60));
    let mut last_reported = 0;
    loop {
        let received = tokio::select! {
            r = announcements.recv() => r,
            _ = report.tick() => {
                let Some(feed) = feed.upgrade() else { return };
                let s = &feed.stats;
                let announced = s.announcements.load(Ordering::Relaxed);
                if announced != last_reported {
                    last_reported = announced;
                    tracing::info!(
                        announcements = announced,
                        change_reads = s.change_reads.load(Ordering::Relaxed),
                        subscribers = feed.subscribers(),
                        waits = s.waits.load(Ordering::Relaxed),
                        stale_reads = s.stale_reads.load(Ordering::Relaxed),
                        wait_ms_total = s.wait_micros.load(Ordering::Relaxed) / 1000,
                        "live catalog"
                    );
                }
                continue;
            }
        };
        let Some(feed) = feed.upgrade() else { return };
        match received {
            Ok(applied) if applied != AppliedVersion::MISSED => {
                feed.stats.announcements.fetch_add(1, Ordering::Relaxed);
                feed.fan_out_one(applied.id);
            }
            // Some announcements were lost: every watched product is re-read once.
            Ok(_) | Err(RecvError::Lagged(_)) => {
                let ids: Vec<Uuid> = feed
                    .watchers
                    .lock()
                    .map(|w| w.keys().copied().collect())
                    .unwrap_or_default();
                for id in ids {
                    feed.fan_out_one(id);
                }
            }
            Err(RecvError::Closed) => return,
        }
    }
}

/// An opaque token naming product versions a later read must see: `ct1.` and URL-safe base64
/// of (16-byte id, 8-byte big-endian version) pairs.
pub fn encode_token(pairs: &[AppliedVersion]) -> String {
    let mut bytes = Vec::with_capacity(pairs.len() * 24);
    for pair in pairs {
        bytes.extend_from_slice(pair.id.as_bytes());
        bytes.extend_from_slice(&pair.version.to_be_bytes());
    }
    format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The pairs a token names, or `None` if it is not one of ours.
pub fn decode_token(token: &str) -> Option<Vec<AppliedVersion>> {
    let bytes = URL_SAFE_NO_PAD
        .decode(token.strip_prefix(TOKEN_PREFIX)?)
        .ok()?;
    if bytes.is_empty() || bytes.len() % 24 != 0 {
        return None;
    }
    bytes
        .chunks_exact(24)
        .map(|chunk| {
            let id = Uuid::from_slice(&chunk[..16]).ok()?;
            let version = i64::from_be_bytes(chunk[16..].try_into().ok()?);
            (version > 0).then_some(AppliedVersion { id, version })
        })
        .collect()
}

/// Waits for the versions `tokens` name (the `consistency` argument of catalog reads). Past the
/// read wait the read goes on with what the read model holds, and a `STALE_READ` error naming
/// the missing versions is added beside the data.
pub async fn await_consistency(ctx: &Context<'_>, tokens: Option<&[String]>) -> Result<()> {
    let Some(tokens) = tokens.filter(|t| !t.is_empty()) else {
        return Ok(());
    };
    let mut wanted = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        let pairs = decode_token(token).ok_or_else(|| {
            into_gql(ApiError::bad_input(
                format!("consistency.{i}"),
                "is not a consistency token (take `consistencyToken` from a write's answer)",
            ))
        })?;
        wanted.extend(pairs);
    }
    if wanted.len() > MAX_CONSISTENCY_PAIRS {
        return Err(into_gql(ApiError::bad_input(
            "consistency",
            format!("names more than {MAX_CONSISTENCY_PAIRS} product versions"),
        )));
    }
    let feed = ctx.data::<Arc<CatalogFeed>>()?;
    let lagging = feed
        .wait_for(&wanted)
        .await
        .map_err(|e| into_gql(e.into()))?;
    if !lagging.is_empty() {
        ctx.add_error(ctx.set_error_path(stale_read(&lagging).into_server_error(ctx.item.pos)));
    }
    Ok(())
}

fn stale_read(lagging: &[Lagging]) -> async_graphql::Error {
    let missing: Vec<async_graphql::Value> = lagging
        .iter()
        .map(|l| {
            async_graphql::value!({
                "id": l.id.to_string(),
                "version": l.wanted,
                "held": l.held,
            })
        })
        .collect();
    async_graphql::Error::new(format!(
        "the catalog had not caught up with {} product version(s) in time; this answer may be older than your write",
        lagging.len()
    ))
    .extend_with(|_, ext| {
        ext.set("code", "STALE_READ");
        ext.set("missing", async_graphql::Value::List(missing));
    })
}

/// Why a product's stream ended.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ProductGone {
    /// The seller deleted it.
    Deleted,
    /// The seller took it back to draft.
    Unpublished,
    /// The seller archived it.
    Archived,
}

/// One step of a product's life in the catalog.
#[derive(SimpleObject, Clone, Debug)]
pub struct ProductChange {
    /// The product at this version; null on a last step that removed it from view.
    pub product: Option<Product>,
    /// The catalog version of this step.
    pub version: i64,
    /// Only on the last step: why the product left the catalog (the stream then completes).
    pub gone: Option<ProductGone>,
}

/// Live catalog streams.
#[derive(Default)]
pub struct CatalogSubscription;

#[Subscription]
impl CatalogSubscription {
    /// The product as the catalog holds it now, then every newer version as the read model
    /// applies it (stock held by orders in flight shows in `available`), on any server
    /// instance; completes when the product leaves the catalog, saying why. Anyone may follow
    /// an active product; a seller follows their own in any status (and only deletion ends
    /// it). A product not in the catalog yet is followed until it appears.
    async fn product_changed(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<impl Stream<Item = Result<ProductChange>> + use<>> {
        let id = crate::checks::uuid("id", &id)?;
        let viewer = ctx
            .data_opt::<Option<Viewer>>()
            .and_then(Option::as_ref)
            .map(|v| v.subject.clone());
        let feed = ctx.data::<Arc<CatalogFeed>>()?.clone();
        let (changes, current) = feed.watch(id).await.map_err(|e| into_gql(e.into()))?;
        if let CatalogEntry::Present(p) = current.as_ref()
            && !visible(p, viewer.as_deref())
        {
            return Err(into_gql(ApiError::NotFound("no such product".into())));
        }
        let follow = Follow {
            feed,
            changes,
            id,
            viewer,
            last: 0,
            pending: Some((*current).clone()),
            done: false,
        };
        Ok(futures::stream::unfold(follow, |mut f| async move {
            let step = f.next_step().await?;
            Some((step, f))
        }))
    }
}

fn visible(product: &Product, viewer: Option<&str>) -> bool {
    product.status == ProductStatus::Active || viewer == Some(product.seller_id.as_str())
}

struct Follow {
    feed: Arc<CatalogFeed>,
    changes: broadcast::Receiver<Arc<CatalogEntry>>,
    id: Uuid,
    viewer: Option<String>,
    last: i64,
    pending: Option<CatalogEntry>,
    done: bool,
}

impl Follow {
    /// The next step; an error (then the end) when the store fails while catching up.
    async fn next_step(&mut self) -> Option<Result<ProductChange>> {
        loop {
            if self.done {
                return None;
            }
            let entry = match self.pending.take() {
                Some(entry) => entry,
                None => match self.changes.recv().await {
                    Ok(entry) => (*entry).clone(),
                    Err(RecvError::Lagged(_)) => match self.feed.reader.entry(self.id).await {
                        Ok(entry) => entry,
                        Err(e) => {
                            self.done = true;
                            return Some(Err(into_gql(e.into())));
                        }
                    },
                    Err(RecvError::Closed) => return None,
                },
            };
            let version = entry.version();
            if version <= self.last {
                continue; // duplicate or out of order: already past it
            }
            self.last = version;
            return Some(Ok(match entry {
                CatalogEntry::Missing => continue,
                CatalogEntry::Deleted { version } => {
                    self.done = true;
                    ProductChange {
                        product: None,
                        version,
                        gone: Some(ProductGone::Deleted),
                    }
                }
                CatalogEntry::Present(p) if visible(&p, self.viewer.as_deref()) => ProductChange {
                    version,
                    product: Some(*p),
                    gone: None,
                },
                CatalogEntry::Present(p) => {
                    self.done = true;
                    ProductChange {
                        product: None,
                        version,
                        gone: Some(if p.status == ProductStatus::Archived {
                            ProductGone::Archived
                        } else {
                            ProductGone::Unpublished
                        }),
                    }
                }
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn tokens_round_trip_and_refuse_what_is_not_theirs() {
        let pairs = vec![
            AppliedVersion {
                id: Uuid::new_v4(),
                version: 7,
            },
            AppliedVersion {
                id: Uuid::new_v4(),
                version: 1,
            },
        ];
        assert_eq!(decode_token(&encode_token(&pairs)).unwrap(), pairs);
        assert_eq!(decode_token("ct1."), None);
        assert_eq!(decode_token("nope"), None);
        assert_eq!(decode_token("ct1.AAAA"), None);
        let zero = encode_token(&[AppliedVersion {
            id: Uuid::new_v4(),
            version: 0,
        }]);
        assert_eq!(decode_token(&zero), None);
    }
}
