//! Search on Tantivy, embedded: one index directory per instance, written by this process
//! alone (Tantivy takes one writer per directory). Documents are added at once and committed
//! in batches by [`Flush`] (a commit costs tens of milliseconds; one per event would cap
//! indexing far below the bus), and searches see each commit.
//!
//! An index that is missing or was written by another format is rebuilt from empty; at every
//! start the reconciler's pass brings it level with PostgreSQL, which also replays whatever the
//! last uncommitted batch of a crash held.

mod facets;

use std::{
    collections::HashMap,
    ops::Bound,
    path::Path,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
};

use async_trait::async_trait;
use mercado_resolvers::{
    StoreError,
    inventory::{Product, ProductStatus},
    search::{SearchHits, SearchIndex, SearchRequest, SearchSort},
};
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, Score, TantivyDocument, Term,
    collector::{Count, TopDocs},
    query::{BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, Query, RangeQuery, TermQuery},
    schema::{FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TEXT, Value},
};
use uuid::Uuid;

use super::{FUZZY_FROM_CHARS, GONE, variant_words};
use crate::workers::{
    Flush,
    projector::{ModelItem, ReadModel, Upsert},
};

/// Bumped whenever the schema or what is indexed changes: an index of another format is
/// rebuilt.
const FORMAT: &str = "mercado-search-1";
const FORMAT_FILE: &str = "mercado-format";
/// Memory for the writer's buffer (Tantivy's floor is 15 MB per thread).
const WRITER_BYTES: usize = 32_000_000;

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    status: Field,
    seller: Field,
    category: Field,
    name: Field,
    description: Field,
    category_text: Field,
    variants: Field,
    price: Field,
    created: Field,
    version: Field,
    doc: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let fields = Fields {
        id: b.add_text_field("id", STRING | STORED | FAST),
        status: b.add_text_field("status", STRING),
        seller: b.add_text_field("seller", STRING | FAST),
        category: b.add_text_field("category", STRING | FAST),
        name: b.add_text_field("name", TEXT),
        description: b.add_text_field("description", TEXT),
        category_text: b.add_text_field("category_text", TEXT),
        variants: b.add_text_field("variants", TEXT),
        price: b.add_i64_field("price", INDEXED | FAST),
        created: b.add_i64_field("created", FAST),
        version: b.add_i64_field("version", FAST),
        doc: b.add_text_field("doc", STORED),
    };
    (b.build(), fields)
}

fn engine(e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("search index: {e}"))
}

/// The index and its writer; shared by [`TantivySearch`] handles.
struct Engine {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    /// The version of every product the index holds (tombstones included): the version guard
    /// and `scan`, without reading the index.
    versions: Mutex<HashMap<Uuid, (i64, bool)>>,
    /// Documents added since the last commit.
    dirty: AtomicBool,
}

impl Engine {
    /// Opens the index in `dir`, creating it (or recreating one of another format).
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let (schema, fields) = schema();
        let marker = dir.join(FORMAT_FILE);
        let current = std::fs::read_to_string(&marker).ok();
        if current.as_deref() != Some(FORMAT) && dir.exists() {
            tracing::info!(dir = %dir.display(), found = ?current, "search index missing or of another format: rebuilding");
            std::fs::remove_dir_all(dir).map_err(engine)?;
        }
        let index = if dir.join("meta.json").exists() {
            Index::open_in_dir(dir).map_err(engine)?
        } else {
            std::fs::create_dir_all(dir).map_err(engine)?;
            let index = Index::create_in_dir(dir, schema).map_err(engine)?;
            std::fs::write(&marker, FORMAT).map_err(engine)?;
            index
        };
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(engine)?;
        let writer = index
            .writer_with_num_threads(1, WRITER_BYTES)
            .map_err(engine)?;
        let search = Self {
            index,
            reader,
            writer: Mutex::new(writer),
            fields,
            versions: Mutex::default(),
            dirty: AtomicBool::new(false),
        };
        search.load_versions()?;
        Ok(search)
    }

    fn load_versions(&self) -> Result<(), StoreError> {
        let searcher = self.reader.searcher();
        let mut versions = self.versions.lock().map_err(|_| poisoned())?;
        let mut id = String::new();
        for segment in searcher.segment_readers() {
            let fast = segment.fast_fields();
            let (Some(ids), Ok(version_col)) =
                (fast.str("id").map_err(engine)?, fast.i64("version"))
            else {
                continue;
            };
            let statuses = self.gone_docs(segment)?;
            for doc in 0..segment.max_doc() {
                if segment.alive_bitset().is_some_and(|a| !a.is_alive(doc)) {
                    continue;
                }
                let Some(ord) = ids.term_ords(doc).next() else {
                    continue;
                };
                id.clear();
                if !ids.ord_to_str(ord, &mut id).map_err(engine)? {
                    continue;
                }
                let Ok(uuid) = Uuid::parse_str(&id) else {
                    continue;
                };
                let version = version_col.first(doc).unwrap_or(0);
                versions.insert(uuid, (version, statuses.contains(&doc)));
            }
        }
        Ok(())
    }

    /// The tombstones of one segment.
    fn gone_docs(
        &self,
        segment: &tantivy::SegmentReader,
    ) -> Result<std::collections::HashSet<u32>, StoreError> {
        let inverted = segment.inverted_index(self.fields.status).map_err(engine)?;
        let term = Term::from_field_text(self.fields.status, GONE);
        let mut gone = std::collections::HashSet::new();
        if let Some(mut postings) = inverted
            .read_postings(&term, IndexRecordOption::Basic)
            .map_err(engine)?
        {
            use tantivy::{DocSet, TERMINATED};
            let mut doc = postings.doc();
            while doc != TERMINATED {
                gone.insert(doc);
                doc = postings.advance();
            }
        }
        Ok(gone)
    }

    /// Replaces what the index holds for `id` with `document`: if `version` is newer, or
    /// (`repair`) only if it is the same.
    fn put(
        &self,
        id: Uuid,
        version: i64,
        gone: bool,
        document: TantivyDocument,
        repair: bool,
    ) -> Result<Upsert, StoreError> {
        let mut versions = self.versions.lock().map_err(|_| poisoned())?;
        let held = versions.get(&id).map(|(held, _)| *held);
        let applies = if repair {
            held == Some(version)
        } else {
            held.is_none_or(|held| held < version)
        };
        if !applies {
            return Ok(Upsert::Stale);
        }
        let writer = self.writer.lock().map_err(|_| poisoned())?;
        writer.delete_term(Term::from_field_text(self.fields.id, &id.to_string()));
        writer.add_document(document).map_err(engine)?;
        versions.insert(id, (version, gone));
        self.dirty.store(true, Ordering::Release);
        Ok(Upsert::Applied)
    }

    fn document(&self, product: &Product) -> Result<TantivyDocument, StoreError> {
        let f = &self.fields;
        let mut doc = TantivyDocument::default();
        doc.add_text(f.id, product.id.to_string());
        doc.add_text(f.status, product.status.as_str());
        doc.add_text(f.seller, &product.seller_id);
        doc.add_text(f.category, &product.category);
        doc.add_text(f.name, &product.name);
        doc.add_text(f.description, &product.description);
        doc.add_text(f.category_text, &product.category);
        doc.add_text(f.variants, variant_words(product));
        doc.add_i64(f.price, product.lowest_price().unwrap_or(0));
        doc.add_i64(f.created, product.created_at.timestamp_micros());
        doc.add_i64(f.version, product.version);
        doc.add_text(f.doc, serde_json::to_string(product).map_err(engine)?);
        Ok(doc)
    }

    fn tombstone_document(&self, id: Uuid, version: i64) -> TantivyDocument {
        let f = &self.fields;
        let mut doc = TantivyDocument::default();
        doc.add_text(f.id, id.to_string());
        doc.add_text(f.status, GONE);
        doc.add_i64(f.version, version);
        doc
    }

    /// Commits what was added since the last commit and makes it searchable; false when there
    /// was nothing to commit.
    pub fn commit(&self) -> Result<bool, StoreError> {
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return Ok(false);
        }
        let committed = self
            .writer
            .lock()
            .map_err(|_| poisoned())?
            .commit()
            .map(|_| ());
        if let Err(e) = committed {
            self.dirty.store(true, Ordering::Release);
            return Err(engine(e));
        }
        self.reader.reload().map_err(engine)?;
        Ok(true)
    }

    /// The query for a request: every word must match some text field (words of five
    /// letters or more with one edit), within the filters, active products only.
    fn query(&self, request: &SearchRequest) -> Result<Box<dyn Query>, StoreError> {
        let f = &self.fields;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(
            Occur::Must,
            Box::new(TermQuery::new(
                Term::from_field_text(f.status, ProductStatus::Active.as_str()),
                IndexRecordOption::Basic,
            )),
        )];
        let mut analyzer = self.index.tokenizer_for_field(f.name).map_err(engine)?;
        let mut words = Vec::new();
        analyzer
            .token_stream(&request.text)
            .process(&mut |token| words.push(token.text.clone()));
        for word in words {
            let fuzzy = word.chars().count() >= FUZZY_FROM_CHARS;
            let per_field: Vec<(Occur, Box<dyn Query>)> = [
                (f.name, 3.0),
                (f.category_text, 2.0),
                (f.variants, 1.5),
                (f.description, 1.0),
            ]
            .into_iter()
            .map(|(field, boost): (Field, Score)| {
                let term = Term::from_field_text(field, &word);
                let matcher: Box<dyn Query> = if fuzzy {
                    Box::new(FuzzyTermQuery::new(term, 1, true))
                } else {
                    Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs))
                };
                (
                    Occur::Should,
                    Box::new(BoostQuery::new(matcher, boost)) as Box<dyn Query>,
                )
            })
            .collect();
            clauses.push((Occur::Must, Box::new(BooleanQuery::new(per_field))));
        }
        for (field, value) in [
            (f.category, &request.category),
            (f.seller, &request.seller_id),
        ] {
            if let Some(value) = value {
                clauses.push((
                    Occur::Must,
                    Box::new(TermQuery::new(
                        Term::from_field_text(field, value),
                        IndexRecordOption::Basic,
                    )),
                ));
            }
        }
        if request.min_price.is_some() || request.max_price.is_some() {
            let bound = |v: Option<i64>| match v {
                Some(v) => Bound::Included(Term::from_field_i64(f.price, v)),
                None => Bound::Unbounded,
            };
            clauses.push((
                Occur::Must,
                Box::new(RangeQuery::new(
                    bound(request.min_price),
                    bound(request.max_price),
                )),
            ));
        }
        Ok(Box::new(BooleanQuery::new(clauses)))
    }

    fn run(&self, request: &SearchRequest) -> Result<SearchHits, StoreError> {
        let query = self.query(request)?;
        let searcher = self.reader.searcher();
        let sort = request.sort;
        // One key for every order: (primary, newest), larger first.
        let top = TopDocs::with_limit(request.limit.max(1))
            .and_offset(request.offset)
            .tweak_score(move |segment: &tantivy::SegmentReader| {
                let fast = segment.fast_fields();
                let created = fast.i64("created").ok();
                let price = fast.i64("price").ok();
                move |doc: tantivy::DocId, score: Score| {
                    let created = created.as_ref().and_then(|c| c.first(doc)).unwrap_or(0);
                    let price = price.as_ref().and_then(|c| c.first(doc)).unwrap_or(0) as f64;
                    let primary = match sort {
                        SearchSort::Relevance => f64::from(score),
                        SearchSort::Newest => created as f64,
                        SearchSort::PriceLowToHigh => -price,
                        SearchSort::PriceHighToLow => price,
                    };
                    (primary, created)
                }
            });
        let counter = facets::FacetCounter::new(&request.facets);
        let (top, total, counts) = searcher
            .search(&query, &(top, Count, counter))
            .map_err(engine)?;
        // Tantivy wants a limit of one at least; a request for none gets none.
        let products = top
            .into_iter()
            .take(request.limit)
            .map(|(_, address)| self.product(&searcher, address))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SearchHits {
            products,
            total: total as u64,
            facets: counts.into_facets(&request.facets),
        })
    }

    fn product(
        &self,
        searcher: &tantivy::Searcher,
        address: DocAddress,
    ) -> Result<Product, StoreError> {
        let doc: TantivyDocument = searcher.doc(address).map_err(engine)?;
        let json = doc
            .get_first(self.fields.doc)
            .and_then(|v| v.as_str().map(str::to_string))
            .ok_or_else(|| engine("a match without its stored document"))?;
        serde_json::from_str(&json).map_err(engine)
    }
}

/// The search read model: a cheap handle on one index.
#[derive(Clone)]
pub struct TantivySearch(Arc<Engine>);

impl TantivySearch {
    /// Opens the index in `dir`, creating it (or recreating one of another format).
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        Engine::open(dir).map(|engine| Self(Arc::new(engine)))
    }

    /// Commits what was added since the last commit and makes it searchable; false when there
    /// was nothing to commit.
    pub fn commit(&self) -> Result<bool, StoreError> {
        self.0.commit()
    }

    /// Products the index holds (tombstones included).
    pub fn products(&self) -> usize {
        self.0.versions.lock().map(|v| v.len()).unwrap_or(0)
    }
}

fn poisoned() -> StoreError {
    StoreError::Internal("search index lock poisoned".into())
}

#[async_trait]
impl SearchIndex for TantivySearch {
    async fn search(&self, request: &SearchRequest) -> Result<SearchHits, StoreError> {
        let (engine_, request) = (self.0.clone(), request.clone());
        tokio::task::spawn_blocking(move || engine_.run(&request))
            .await
            .map_err(engine)?
    }
}

#[async_trait]
impl ReadModel for TantivySearch {
    async fn upsert(&self, product: &Product) -> Result<Upsert, StoreError> {
        let document = self.0.document(product)?;
        self.0
            .put(product.id, product.version, false, document, false)
    }

    async fn tombstone(&self, id: Uuid, version: i64) -> Result<Upsert, StoreError> {
        let document = self.0.tombstone_document(id, version);
        self.0.put(id, version, true, document, false)
    }

    async fn rewrite(&self, product: &Product) -> Result<Upsert, StoreError> {
        let document = self.0.document(product)?;
        self.0
            .put(product.id, product.version, false, document, true)
    }

    /// From the versions kept in memory: the index keeps no digest (its copy is rewritten
    /// whole from each event, and `mercado reindex` rebuilds it).
    async fn scan(&self) -> Result<Vec<ModelItem>, StoreError> {
        Ok(self
            .0
            .versions
            .lock()
            .map_err(|_| poisoned())?
            .iter()
            .map(|(id, (version, deleted))| ModelItem {
                id: id.to_string(),
                version: *version,
                deleted: *deleted,
                digest: None,
            })
            .collect())
    }
}

#[async_trait]
impl Flush for TantivySearch {
    async fn flush(&self) -> Result<bool, StoreError> {
        // A commit writes files and waits for the indexing thread: off the async workers.
        let engine_ = self.0.clone();
        tokio::task::spawn_blocking(move || engine_.commit())
            .await
            .map_err(engine)?
    }
}

#[cfg(test)]
mod tests;
