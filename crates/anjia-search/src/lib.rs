//! Full-text and faceted search over judicial-auction postings (tantivy + jieba). No HTTP, no database.
//!
//! * [`SearchIndex`]: the index (on disk or in RAM): rebuild, upsert, search.
//! * [`SearchRequest`]: free text, filters, sort and page, with [`SearchRequest::validate`].
//! * [`interpret`](mod@interpret): how the free text becomes region/type/round filters and required terms.
//! * [`SearchResults`]: hits read straight from the index, facet counts, and the interpretation.
//! * [`Percolator`]: which saved searches a posting matches (alerts), with the search's semantics.
//! * [`synth`]: realistic synthetic postings for tests and benchmarks.
//!
//! Text matching: titles, addresses, communities and sellers are indexed twice, as jieba words (search
//! mode, so long words also yield their dictionary sub-words) and as CJK character bigrams. A query word
//! matches a posting holding that jieba word or all of the word's bigrams, so `望京` finds `望京西园`
//! whichever way jieba cut the title.

mod collect;
pub mod interpret;
pub mod percolate;
mod plan;
mod query;
mod request;
mod results;
mod schema;
mod serde_date;
mod status;
pub mod synth;
pub mod tokenize;

pub use interpret::interpret;
pub use percolate::{KeyStats, Percolator, PercolatorStats, explain_zh};
pub use request::{
    DEFAULT_PER_PAGE, InvalidParam, MAX_DISCOUNT, MAX_PER_PAGE, MAX_QUERY_CHARS, SearchRequest,
    Sort,
};
pub use results::{FacetCount, Facets, Hit, QueryInterpretation, SearchResults};

use anjia_domain::listing::derive_state;
use anjia_domain::region::RegionLevel;
use anjia_domain::{
    DerivedState, Gazetteer, LotState, Posting, PropertyType, RegionCode, Round, StoredStatus,
};
use collect::{RegionFacet, SearchCollector};
use schema::{Fields, StoredHit};
use status::Now;
use std::path::Path;
use std::sync::{Arc, Mutex};
use tantivy::directory::MmapDirectory;
use tantivy::schema::Value;
use tantivy::{DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};
use time::OffsetDateTime;

/// Memory budget of the index writer, bytes (shared by its threads).
const WRITER_BUDGET: usize = 256 * 1024 * 1024;

/// Errors of the search crate.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// A request parameter is not acceptable (a client error).
    #[error(transparent)]
    Invalid(#[from] InvalidParam),
    /// The index directory could not be opened.
    #[error("opening the index directory: {0}")]
    OpenDirectory(#[from] tantivy::directory::error::OpenDirectoryError),
    /// tantivy failed (I/O, corruption, schema mismatch…).
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    /// A lock was poisoned by a panicking writer.
    #[error("search index writer lock poisoned")]
    Poisoned,
    /// A stored document could not be read back.
    #[error("stored document is corrupt: {0}")]
    Corrupt(String),
}

/// How [`SearchIndex::search_with`] evaluates a request. Both give the same results.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryPlan {
    /// Posting lists find candidates, fast fields filter them, survivors are scored (the default).
    Optimized,
    /// One boolean query with every filter as a clause, collected by tantivy (the original plan).
    Straightforward,
}

struct Inner {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
}

/// The search index. Cheap to clone (an [`Arc`]); `Send + Sync`.
#[derive(Clone)]
pub struct SearchIndex {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("num_docs", &self.num_docs())
            .finish()
    }
}

impl SearchIndex {
    /// Opens the index in `dir` (created, with its parents, when missing).
    ///
    /// # Errors
    /// I/O errors, or an index in `dir` with another schema.
    pub fn open_or_create(dir: &Path) -> Result<SearchIndex, SearchError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            SearchError::Index(tantivy::TantivyError::SystemError(format!(
                "creating {}: {e}",
                dir.display()
            )))
        })?;
        let (schema, fields) = schema::build_schema();
        let index = Index::open_or_create(MmapDirectory::open(dir)?, schema)?;
        Self::from_index(index, fields)
    }

    /// A fresh index held in memory (tests, small data).
    ///
    /// # Errors
    /// Only if tantivy fails to set up its writer.
    pub fn in_ram() -> Result<SearchIndex, SearchError> {
        let (schema, fields) = schema::build_schema();
        Self::from_index(Index::create_in_ram(schema), fields)
    }

    fn from_index(index: Index, fields: Fields) -> Result<SearchIndex, SearchError> {
        index
            .tokenizers()
            .register(tokenize::JIEBA, tokenize::jieba_analyzer());
        index
            .tokenizers()
            .register(tokenize::BIGRAM, tokenize::bigram_analyzer());
        let writer = index.writer(WRITER_BUDGET)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(SearchIndex {
            inner: Arc::new(Inner {
                index,
                reader,
                writer: Mutex::new(writer),
                fields,
            }),
        })
    }

    /// Replaces the whole content: deletes every document, adds `postings`, commits. Returns the
    /// number of documents added.
    ///
    /// # Errors
    /// tantivy errors; the previous content stays visible when the commit fails.
    pub fn rebuild(&self, postings: impl IntoIterator<Item = Posting>) -> Result<u64, SearchError> {
        let mut w = self
            .inner
            .writer
            .lock()
            .map_err(|_| SearchError::Poisoned)?;
        w.delete_all_documents()?;
        let mut n = 0u64;
        for p in postings {
            if let Err(e) = w.add_document(schema::to_document(&self.inner.fields, &p)?) {
                w.rollback()?;
                return Err(e.into());
            }
            n += 1;
        }
        w.commit()?;
        drop(w);
        self.inner.reader.reload()?;
        Ok(n)
    }

    /// Adds or replaces postings (by posting id), commits and makes them visible.
    ///
    /// # Errors
    /// tantivy errors.
    pub fn upsert(&self, postings: &[Posting]) -> Result<(), SearchError> {
        let mut w = self
            .inner
            .writer
            .lock()
            .map_err(|_| SearchError::Poisoned)?;
        for p in postings {
            w.delete_term(Term::from_field_i64(self.inner.fields.id, p.id));
            w.add_document(schema::to_document(&self.inner.fields, p)?)?;
        }
        w.commit()?;
        drop(w);
        self.inner.reader.reload()?;
        Ok(())
    }

    /// Removes postings by id, commits and makes the change visible.
    ///
    /// # Errors
    /// tantivy errors.
    pub fn delete(&self, ids: &[i64]) -> Result<(), SearchError> {
        let mut w = self
            .inner
            .writer
            .lock()
            .map_err(|_| SearchError::Poisoned)?;
        for id in ids {
            w.delete_term(Term::from_field_i64(self.inner.fields.id, *id));
        }
        w.commit()?;
        drop(w);
        self.inner.reader.reload()?;
        Ok(())
    }

    /// Merges all segments into one and waits for merging threads (after a bulk build; optional).
    ///
    /// # Errors
    /// tantivy errors.
    pub fn optimize(&self) -> Result<(), SearchError> {
        let ids = self.inner.index.searchable_segment_ids()?;
        let mut w = self
            .inner
            .writer
            .lock()
            .map_err(|_| SearchError::Poisoned)?;
        if ids.len() > 1 {
            w.merge(&ids).wait()?;
        }
        w.commit()?;
        drop(w);
        self.inner.reader.reload()?;
        Ok(())
    }

    /// Number of searchable documents.
    pub fn num_docs(&self) -> u64 {
        self.inner.reader.searcher().num_docs()
    }

    /// Runs a search at time `now` (derived states and the status facet depend on it).
    ///
    /// # Errors
    /// [`SearchError::Invalid`] when [`SearchRequest::validate`] fails; tantivy errors otherwise.
    pub fn search(
        &self,
        req: &SearchRequest,
        now: OffsetDateTime,
    ) -> Result<SearchResults, SearchError> {
        self.search_with(req, now, QueryPlan::Optimized)
    }

    /// [`SearchIndex::search`] with a chosen [`QueryPlan`]: for benchmarks and equivalence tests.
    ///
    /// # Errors
    /// As [`SearchIndex::search`].
    #[doc(hidden)]
    pub fn search_with(
        &self,
        req: &SearchRequest,
        now: OffsetDateTime,
        plan: QueryPlan,
    ) -> Result<SearchResults, SearchError> {
        req.validate()?;
        let interp = req
            .q
            .as_deref()
            .map(interpret::interpret)
            .unwrap_or_default();
        let n = Now::new(now);
        let f = &self.inner.fields;
        let searcher = self.inner.reader.searcher();
        let offset = req.offset();
        let per_page = req.per_page as usize;
        let k = offset
            .saturating_add(per_page)
            .min(usize::try_from(searcher.num_docs()).unwrap_or(usize::MAX));
        let facet_parent = req
            .region
            .or_else(|| (interp.regions.len() == 1).then(|| interp.regions[0]));
        let collector = SearchCollector {
            sort: req.sort,
            k,
            now: n,
            region_facet: region_facet(facet_parent),
        };
        let h = match plan {
            QueryPlan::Optimized => plan::execute(
                &searcher,
                &query::build_plan(f, req, &interp, n),
                &collector,
            )?,
            QueryPlan::Straightforward => {
                searcher.search(query::build_query(f, req, &interp, n).as_ref(), &collector)?
            }
        };

        let g = Gazetteer::bundled();
        let mut hits = Vec::with_capacity(per_page);
        for e in h.top.iter().skip(offset).take(per_page) {
            let doc: TantivyDocument = searcher.doc(DocAddress::new(e.segment, e.doc))?;
            let bytes = doc
                .get_first(f.hit)
                .and_then(|v| v.as_bytes())
                .ok_or_else(|| {
                    SearchError::Corrupt(format!("posting {} has no stored hit", e.id))
                })?;
            let s: StoredHit = serde_json::from_slice(bytes)
                .map_err(|err| SearchError::Corrupt(format!("posting {}: {err}", e.id)))?;
            hits.push(to_hit(
                s,
                g,
                now,
                if req.sort == Sort::Relevance {
                    e.score
                } else {
                    0.0
                },
            ));
        }

        let mut region: Vec<FacetCount> = h
            .regions
            .iter()
            .filter_map(|(code, count)| {
                let rc = RegionCode::new(u32::try_from(*code).ok()?).ok()?;
                Some(FacetCount {
                    value: rc.to_string(),
                    label: g.name(rc).unwrap_or("").to_string(),
                    count: *count,
                })
            })
            .collect();
        sort_facet(&mut region);
        let facets = Facets {
            region,
            property_type: enum_facet(PropertyType::ALL, &h.types, |t| (t.as_str(), t.label_zh())),
            round: enum_facet(Round::ALL, &h.rounds, |t| (t.as_str(), t.label_zh())),
            status: {
                let states: Vec<LotState> = StoredStatus::ALL
                    .iter()
                    .map(|s| LotState::Stored(*s))
                    .chain(DerivedState::ALL.iter().map(|d| LotState::Derived(*d)))
                    .collect();
                enum_facet(&states, &h.statuses, |s| (s.code(), s.label_zh()))
            },
        };
        Ok(SearchResults {
            total: h.total,
            page: req.page,
            per_page: req.per_page,
            hits,
            facets,
            interpretation: interp,
        })
    }
}

fn region_facet(parent: Option<RegionCode>) -> RegionFacet {
    match parent {
        None => RegionFacet::Provinces,
        Some(p) => {
            let n = u64::from(p.get());
            match p.level() {
                RegionLevel::Province if p.is_municipality() => {
                    RegionFacet::DistrictsOfMunicipality(n / 10_000)
                }
                RegionLevel::Province => RegionFacet::CitiesOf(n / 10_000),
                RegionLevel::City => RegionFacet::DistrictsOfCity(n / 100),
                RegionLevel::District => RegionFacet::None,
            }
        }
    }
}

fn sort_facet(v: &mut [FacetCount]) {
    v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
}

fn enum_facet<T>(
    all: &[T],
    counts: &[u64],
    code: impl Fn(&T) -> (&'static str, &'static str),
) -> Vec<FacetCount> {
    let mut v: Vec<FacetCount> = all
        .iter()
        .zip(counts)
        .filter(|(_, c)| **c > 0)
        .map(|(t, c)| {
            let (value, label) = code(t);
            FacetCount {
                value: value.to_string(),
                label: label.to_string(),
                count: *c,
            }
        })
        .collect();
    sort_facet(&mut v);
    v
}

fn to_hit(s: StoredHit, g: &Gazetteer, now: OffsetDateTime, score: f32) -> Hit {
    let state = match s.stored_status {
        Some(st) => LotState::Stored(st),
        None => LotState::Derived(derive_state(
            s.round,
            s.auction_start,
            s.auction_end,
            s.listed_on,
            now,
        )),
    };
    let discount = match (&s.start_price, &s.appraised_value) {
        (Some(p), Some(a)) if a.value.fen() > 0 => {
            Some(p.value.fen() as f64 / a.value.fen() as f64)
        }
        _ => None,
    };
    Hit {
        id: s.id,
        asset_id: s.asset_id,
        title: s.title,
        platform: s.platform,
        kind: s.kind,
        round: s.round,
        state,
        property_type: s.property_type,
        region: s.region,
        region_name: s.region.map(|r| g.full_name(r)).filter(|n| !n.is_empty()),
        start_price: s.start_price,
        appraised_value: s.appraised_value,
        discount,
        auction_start: s.auction_start,
        auction_end: s.auction_end,
        listed_on: s.listed_on,
        building_area_m2: s.building_area_m2,
        seller_name: s.seller_name,
        score,
    }
}

#[cfg(test)]
mod tests;
