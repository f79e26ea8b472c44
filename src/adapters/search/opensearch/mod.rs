//! Search on Amazon OpenSearch Service (or any OpenSearch 2.x), over its REST API: one index
//! that every instance shares, fed by one projector queue of competing consumers.
//!
//! Writes carry the event's version as an external version (`version_type=external`), so
//! OpenSearch itself refuses a stale or duplicate write with 409; a delete writes a tombstone
//! document (status `GONE`) instead of deleting, because a bare delete forgets its version
//! after `index.gc_deletes` (60 s) and a late update would bring the product back. New
//! documents become searchable at the next refresh, which [`Flush`] asks for in batches.
//!
//! Requests are signed with SigV4 (service `es`) from the AWS credentials chain, or sent
//! unsigned to a cluster that needs no signature.

use std::{
    sync::atomic::{AtomicBool, Ordering},
    time::{Duration, SystemTime},
};

use async_trait::async_trait;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use mercado_resolvers::{
    StoreError,
    inventory::{Product, ProductStatus},
    search::{
        FacetCount, PRICE_RANGES, PriceRangeCount, SearchFacet, SearchFacets, SearchHits,
        SearchIndex, SearchRequest, SearchSort,
    },
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{FUZZY_FROM_CHARS, GONE, variant_words};
use crate::workers::{
    Flush,
    projector::{ModelItem, ReadModel, Upsert, digest},
};

/// Most values a category or seller facet lists.
const FACET_VALUES: usize = 1_000;
/// Items per page of a scan.
const SCAN_PAGE: usize = 1_000;
/// Longest an OpenSearch request may take before the caller hears `UNAVAILABLE`.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// How requests to the cluster are authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OpenSearchAuth {
    /// SigV4 with the AWS credentials chain (Amazon OpenSearch Service domains).
    Sigv4,
    /// No signature (a cluster on a private network, or a test double).
    None,
}

/// SigV4 signing for Amazon OpenSearch Service.
struct Signer {
    credentials: SharedCredentialsProvider,
    region: String,
}

/// The shared search index on OpenSearch.
pub struct OpenSearch {
    http: reqwest::Client,
    /// Base URL of the cluster, without a trailing slash.
    url: String,
    index: String,
    signer: Option<Signer>,
    /// Items per page of a scan.
    scan_page: usize,
    /// Documents written since the last refresh.
    dirty: AtomicBool,
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("opensearch: {e}"))
}

fn internal(e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("opensearch: {e}"))
}

/// The words of a search text as both engines split them: runs of letters and digits,
/// lower-cased.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// An answer from the cluster.
struct Answer {
    status: u16,
    body: Value,
}

impl Answer {
    /// The error type OpenSearch names (`version_conflict_engine_exception`, …).
    fn error_type(&self) -> &str {
        self.body["error"]["type"].as_str().unwrap_or_default()
    }

    /// The body of a success; anything else as a store error (retryable when the cluster is
    /// overloaded or down).
    fn ok(self, what: &str) -> Result<Value, StoreError> {
        match self.status {
            200..=299 => Ok(self.body),
            429 | 500..=599 => Err(unavailable(format!("{what}: HTTP {}", self.status))),
            status => Err(internal(format!(
                "{what}: HTTP {status} {}: {}",
                self.error_type(),
                self.body["error"]["reason"].as_str().unwrap_or_default()
            ))),
        }
    }
}

impl OpenSearch {
    /// A client of the index `index` at `url`, signing with `aws`'s credentials and region
    /// when `auth` asks for it.
    pub fn new(
        url: &str,
        index: &str,
        auth: OpenSearchAuth,
        aws: &aws_config::SdkConfig,
    ) -> Result<Self, StoreError> {
        let signer = match auth {
            OpenSearchAuth::None => None,
            OpenSearchAuth::Sigv4 => Some(Signer {
                credentials: aws
                    .credentials_provider()
                    .ok_or_else(|| internal("SigV4 needs AWS credentials; none are configured"))?,
                region: aws
                    .region()
                    .map(ToString::to_string)
                    .ok_or_else(|| internal("SigV4 needs an AWS region (AWS_REGION)"))?,
            }),
        };
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(1))
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(internal)?;
        Ok(Self {
            http,
            url: url.trim_end_matches('/').to_string(),
            index: index.to_string(),
            signer,
            scan_page: SCAN_PAGE,
            dirty: AtomicBool::new(false),
        })
    }

    /// Creates the index with its mapping unless it exists (another instance may create it
    /// at the same moment: that is fine).
    pub async fn ensure_index(&self) -> Result<(), StoreError> {
        let answer = self
            .send("PUT", &format!("/{}", self.index), Some(&mapping()))
            .await?;
        if answer.status == 400 && answer.error_type() == "resource_already_exists_exception" {
            return Ok(());
        }
        answer.ok("create index").map(|_| ())
    }

    /// Deletes the index and everything in it (`mercado reindex` starts from empty).
    pub async fn delete_index(&self) -> Result<(), StoreError> {
        let answer = self
            .send("DELETE", &format!("/{}", self.index), None)
            .await?;
        if answer.status == 404 {
            return Ok(());
        }
        answer.ok("delete index").map(|_| ())
    }

    /// Sends one request; the answer whatever its status, or `UNAVAILABLE` when there was
    /// none.
    async fn send(
        &self,
        method: &str,
        path_and_query: &str,
        body: Option<&Value>,
    ) -> Result<Answer, StoreError> {
        let url = format!("{}{path_and_query}", self.url);
        let body = match body {
            Some(body) => serde_json::to_vec(body).map_err(internal)?,
            None => Vec::new(),
        };
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(internal)?;
        let mut request = self
            .http
            .request(method.clone(), &url)
            .header("content-type", "application/json");
        if let Some(signer) = &self.signer {
            for (name, value) in signer.headers(method.as_str(), &url, &body).await? {
                request = request.header(name, value);
            }
        }
        let response = request.body(body).send().await.map_err(unavailable)?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(unavailable)?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).map_err(|e| internal(format!("answer: {e}")))?
        };
        Ok(Answer { status, body })
    }

    /// Writes `document` for `id` at `version`: applied, or stale when the index holds that
    /// version or a newer one (`external`), or a newer one (`external_gte`, for repairs).
    async fn put(
        &self,
        id: Uuid,
        version: i64,
        version_type: &str,
        document: &Value,
    ) -> Result<Upsert, StoreError> {
        let path = format!(
            "/{}/_doc/{id}?version={version}&version_type={version_type}",
            self.index
        );
        let answer = self.send("PUT", &path, Some(document)).await?;
        if answer.status == 409 && answer.error_type() == "version_conflict_engine_exception" {
            return Ok(Upsert::Stale);
        }
        answer.ok("index document")?;
        self.dirty.store(true, Ordering::Release);
        Ok(Upsert::Applied)
    }

    /// One page of the scan: items after `after` in id order.
    async fn scan_page(&self, after: Option<&str>) -> Result<Vec<ModelItem>, StoreError> {
        let mut body = json!({
            "size": self.scan_page,
            "query": { "match_all": {} },
            "_source": ["id", "version", "status", "digest"],
            "sort": [{ "id": "asc" }],
        });
        if let Some(after) = after {
            body["search_after"] = json!([after]);
        }
        let found = self
            .send("POST", &format!("/{}/_search", self.index), Some(&body))
            .await?
            .ok("scan")?;
        hits(&found)
            .iter()
            .map(|hit| {
                let source = &hit["_source"];
                let deleted = source["status"] == GONE;
                Ok(ModelItem {
                    id: source["id"]
                        .as_str()
                        .ok_or_else(|| internal("a document without its id"))?
                        .to_string(),
                    version: source["version"].as_i64().unwrap_or(0),
                    deleted,
                    digest: source["digest"]
                        .as_str()
                        .filter(|_| !deleted)
                        .map(str::to_string),
                })
            })
            .collect()
    }
}

impl Signer {
    /// The headers that sign one request (SigV4, service `es`, payload hashed).
    async fn headers(
        &self,
        method: &str,
        url: &str,
        body: &[u8],
    ) -> Result<Vec<(String, String)>, StoreError> {
        use aws_sigv4::{
            http_request::{SignableBody, SignableRequest, SigningSettings, sign},
            sign::v4,
        };
        let credentials = self
            .credentials
            .provide_credentials()
            .await
            .map_err(unavailable)?;
        let identity = credentials.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("es")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(internal)?
            .into();
        let signable = SignableRequest::new(
            method,
            url,
            std::iter::once(("content-type", "application/json")),
            SignableBody::Bytes(body),
        )
        .map_err(internal)?;
        let (instructions, _) = sign(signable, &params).map_err(internal)?.into_parts();
        Ok(instructions
            .headers()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect())
    }
}

/// The index's settings and mapping: keywords for filters and facets, analysed text for the
/// words, numbers for sorting, and the whole document kept as it is (not indexed).
fn mapping() -> Value {
    json!({
        "mappings": {
            "dynamic": "strict",
            "properties": {
                "id": { "type": "keyword" },
                "status": { "type": "keyword" },
                "seller": { "type": "keyword" },
                "category": { "type": "keyword" },
                "name": { "type": "text" },
                "description": { "type": "text" },
                "category_text": { "type": "text" },
                "variants": { "type": "text" },
                "price": { "type": "long" },
                "created": { "type": "long" },
                "version": { "type": "long" },
                "digest": { "type": "keyword", "index": false },
                "doc": { "type": "object", "enabled": false }
            }
        }
    })
}

/// A product's document: the fields searched, filtered and sorted on, and the product itself.
fn document(product: &Product) -> Result<Value, StoreError> {
    Ok(json!({
        "id": product.id.to_string(),
        "status": product.status.as_str(),
        "seller": product.seller_id,
        "category": product.category,
        "name": product.name,
        "description": product.description,
        "category_text": product.category,
        "variants": variant_words(product),
        "price": product.lowest_price().unwrap_or(0),
        "created": product.created_at.timestamp_micros(),
        "version": product.version,
        "digest": digest(product),
        "doc": serde_json::to_value(product).map_err(internal)?,
    }))
}

fn tombstone(id: Uuid, version: i64) -> Value {
    json!({ "id": id.to_string(), "status": GONE, "version": version })
}

/// The search body for a request: every word must match some text field (words of five
/// letters or more with one edit), within the filters, active products only; facets as
/// aggregations over every match.
fn search_body(request: &SearchRequest) -> Value {
    let must: Vec<Value> = words(&request.text)
        .into_iter()
        .map(|word| {
            let fuzziness = usize::from(word.chars().count() >= FUZZY_FROM_CHARS);
            json!({ "multi_match": {
                "query": word,
                "fields": ["name^3", "category_text^2", "variants^1.5", "description"],
                "fuzziness": fuzziness,
            }})
        })
        .collect();
    let mut filter = vec![json!({ "term": { "status": ProductStatus::Active.as_str() } })];
    if let Some(category) = &request.category {
        filter.push(json!({ "term": { "category": category } }));
    }
    if let Some(seller) = &request.seller_id {
        filter.push(json!({ "term": { "seller": seller } }));
    }
    if request.min_price.is_some() || request.max_price.is_some() {
        let mut range = serde_json::Map::new();
        if let Some(min) = request.min_price {
            range.insert("gte".into(), min.into());
        }
        if let Some(max) = request.max_price {
            range.insert("lte".into(), max.into());
        }
        filter.push(json!({ "range": { "price": range } }));
    }
    let newest = json!({ "created": "desc" });
    let sort = match request.sort {
        SearchSort::Relevance => json!([{ "_score": "desc" }, newest]),
        SearchSort::Newest => json!([newest]),
        SearchSort::PriceLowToHigh => json!([{ "price": "asc" }, newest]),
        SearchSort::PriceHighToLow => json!([{ "price": "desc" }, newest]),
    };
    let mut aggs = serde_json::Map::new();
    for facet in &request.facets {
        let (name, agg) = match facet {
            SearchFacet::Category => (
                "categories",
                json!({ "terms": { "field": "category", "size": FACET_VALUES } }),
            ),
            SearchFacet::Seller => (
                "sellers",
                json!({ "terms": { "field": "seller", "size": FACET_VALUES } }),
            ),
            SearchFacet::Price => (
                "prices",
                json!({ "range": { "field": "price", "keyed": true, "ranges": price_ranges() } }),
            ),
        };
        aggs.insert(name.into(), agg);
    }
    let mut body = json!({
        "from": request.offset,
        "size": request.limit,
        "track_total_hits": true,
        "query": { "bool": { "must": must, "filter": filter } },
        "sort": sort,
        "_source": ["doc"],
    });
    if !aggs.is_empty() {
        body["aggs"] = Value::Object(aggs);
    }
    body
}

/// [`PRICE_RANGES`] as a range aggregation's ranges, keyed by position.
fn price_ranges() -> Vec<Value> {
    PRICE_RANGES
        .iter()
        .enumerate()
        .map(|(n, (min, max))| {
            let mut range = json!({ "key": n.to_string() });
            if let Some(min) = min {
                range["from"] = json!(min);
            }
            if let Some(max) = max {
                range["to"] = json!(max);
            }
            range
        })
        .collect()
}

fn hits(found: &Value) -> &[Value] {
    found["hits"]["hits"].as_array().map_or(&[], Vec::as_slice)
}

/// What a search answer holds: the page's products, the total, and the facets asked for.
fn search_hits(found: &Value, asked: &[SearchFacet]) -> Result<SearchHits, StoreError> {
    let products = hits(found)
        .iter()
        .map(|hit| serde_json::from_value(hit["_source"]["doc"].clone()).map_err(internal))
        .collect::<Result<Vec<Product>, _>>()?;
    let total = found["hits"]["total"]["value"]
        .as_u64()
        .ok_or_else(|| internal("an answer without its total"))?;
    let aggs = &found["aggregations"];
    let terms = |name: &str| {
        let mut list: Vec<FacetCount> = aggs[name]["buckets"]
            .as_array()
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .filter_map(|bucket| {
                Some(FacetCount {
                    value: bucket["key"].as_str()?.to_string(),
                    count: bucket["doc_count"].as_u64()?,
                })
            })
            .collect();
        // The order the Tantivy engine gives: largest first, ties by value.
        list.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
        list
    };
    let mut facets = SearchFacets::default();
    if asked.contains(&SearchFacet::Category) {
        facets.categories = terms("categories");
    }
    if asked.contains(&SearchFacet::Seller) {
        facets.sellers = terms("sellers");
    }
    if asked.contains(&SearchFacet::Price) {
        facets.prices = PRICE_RANGES
            .iter()
            .enumerate()
            .map(|(n, &(min, max))| PriceRangeCount {
                min,
                max,
                count: aggs["prices"]["buckets"][n.to_string()]["doc_count"]
                    .as_u64()
                    .unwrap_or(0),
            })
            .collect();
    }
    Ok(SearchHits {
        products,
        total,
        facets,
    })
}

#[async_trait]
impl SearchIndex for OpenSearch {
    async fn search(&self, request: &SearchRequest) -> Result<SearchHits, StoreError> {
        let found = self
            .send(
                "POST",
                &format!("/{}/_search", self.index),
                Some(&search_body(request)),
            )
            .await?
            .ok("search")?;
        search_hits(&found, &request.facets)
    }
}

#[async_trait]
impl ReadModel for OpenSearch {
    async fn upsert(&self, product: &Product) -> Result<Upsert, StoreError> {
        self.put(product.id, product.version, "external", &document(product)?)
            .await
    }

    async fn tombstone(&self, id: Uuid, version: i64) -> Result<Upsert, StoreError> {
        self.put(id, version, "external", &tombstone(id, version))
            .await
    }

    /// `external_gte`: the same version may be written again, a newer one still wins.
    async fn rewrite(&self, product: &Product) -> Result<Upsert, StoreError> {
        self.put(
            product.id,
            product.version,
            "external_gte",
            &document(product)?,
        )
        .await
    }

    async fn scan(&self) -> Result<Vec<ModelItem>, StoreError> {
        let mut items = Vec::new();
        loop {
            let page = self
                .scan_page(items.last().map(|i: &ModelItem| i.id.as_str()))
                .await?;
            let full = page.len() == self.scan_page;
            items.extend(page);
            if !full {
                return Ok(items);
            }
        }
    }
}

#[async_trait]
impl Flush for OpenSearch {
    /// A refresh when documents were written since the last one (the index also refreshes
    /// itself every second).
    async fn flush(&self) -> Result<bool, StoreError> {
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return Ok(false);
        }
        let refreshed = self
            .send("POST", &format!("/{}/_refresh", self.index), None)
            .await
            .and_then(|a| a.ok("refresh"));
        if let Err(e) = refreshed {
            self.dirty.store(true, Ordering::Release);
            return Err(e);
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests;
