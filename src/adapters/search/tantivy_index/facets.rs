//! Facet counts over every match of a search, read from fast fields as the search runs: per
//! category, per seller, and per price range of the lowest variant price.

use std::collections::HashMap;

use mercado_resolvers::search::{
    FacetCount, PRICE_RANGES, PriceRangeCount, SearchFacet, SearchFacets,
};
use tantivy::{
    DocId, Score, SegmentOrdinal, SegmentReader,
    collector::{Collector, SegmentCollector},
    columnar::{Column, StrColumn},
};

/// Counts of one segment, or of all of them once merged.
#[derive(Default)]
pub struct Counts {
    categories: HashMap<String, u64>,
    sellers: HashMap<String, u64>,
    prices: [u64; PRICE_RANGES.len()],
}

impl Counts {
    /// The facets asked for, largest count first (ties by value), price ranges in order.
    pub fn into_facets(self, asked: &[SearchFacet]) -> SearchFacets {
        let ranked = |counts: HashMap<String, u64>| {
            let mut list: Vec<FacetCount> = counts
                .into_iter()
                .map(|(value, count)| FacetCount { value, count })
                .collect();
            list.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
            list
        };
        let mut facets = SearchFacets::default();
        if asked.contains(&SearchFacet::Category) {
            facets.categories = ranked(self.categories);
        }
        if asked.contains(&SearchFacet::Seller) {
            facets.sellers = ranked(self.sellers);
        }
        if asked.contains(&SearchFacet::Price) {
            facets.prices = PRICE_RANGES
                .iter()
                .zip(self.prices)
                .map(|(&(min, max), count)| PriceRangeCount { min, max, count })
                .collect();
        }
        facets
    }
}

/// Which range of [`PRICE_RANGES`] a price falls in.
fn price_range(price: i64) -> usize {
    PRICE_RANGES
        .iter()
        .position(|&(min, max)| min.is_none_or(|m| price >= m) && max.is_none_or(|m| price < m))
        .unwrap_or(0)
}

pub struct FacetCounter {
    categories: bool,
    sellers: bool,
    prices: bool,
}

impl FacetCounter {
    pub fn new(asked: &[SearchFacet]) -> Self {
        Self {
            categories: asked.contains(&SearchFacet::Category),
            sellers: asked.contains(&SearchFacet::Seller),
            prices: asked.contains(&SearchFacet::Price),
        }
    }
}

pub struct SegmentCounter {
    categories: Option<(StrColumn, HashMap<u64, u64>)>,
    sellers: Option<(StrColumn, HashMap<u64, u64>)>,
    prices: Option<Column<i64>>,
    counts: Counts,
}

impl Collector for FacetCounter {
    type Fruit = Counts;
    type Child = SegmentCounter;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<SegmentCounter> {
        let fast = segment.fast_fields();
        let column = |wanted: bool, name: &str| -> tantivy::Result<_> {
            Ok(if wanted {
                fast.str(name)?.map(|c| (c, HashMap::new()))
            } else {
                None
            })
        };
        Ok(SegmentCounter {
            categories: column(self.categories, "category")?,
            sellers: column(self.sellers, "seller")?,
            prices: if self.prices {
                Some(fast.i64("price")?)
            } else {
                None
            },
            counts: Counts::default(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Counts>) -> tantivy::Result<Counts> {
        let mut all = Counts::default();
        for fruit in fruits {
            for (value, n) in fruit.categories {
                *all.categories.entry(value).or_default() += n;
            }
            for (value, n) in fruit.sellers {
                *all.sellers.entry(value).or_default() += n;
            }
            for (total, n) in all.prices.iter_mut().zip(fruit.prices) {
                *total += n;
            }
        }
        Ok(all)
    }
}

impl SegmentCollector for SegmentCounter {
    type Fruit = Counts;

    fn collect(&mut self, doc: DocId, _: Score) {
        for (column, counts) in [&mut self.categories, &mut self.sellers]
            .into_iter()
            .flatten()
        {
            if let Some(ord) = column.term_ords(doc).next() {
                *counts.entry(ord).or_default() += 1;
            }
        }
        if let Some(price) = self.prices.as_ref().and_then(|c| c.first(doc)) {
            self.counts.prices[price_range(price)] += 1;
        }
    }

    fn harvest(mut self) -> Counts {
        // Ordinals are per segment: turn them into values before segments are merged.
        let mut value = String::new();
        for (column, target) in [
            (self.categories, &mut self.counts.categories),
            (self.sellers, &mut self.counts.sellers),
        ] {
            let Some((column, counts)) = column else {
                continue;
            };
            for (ord, n) in counts {
                value.clear();
                if column.ord_to_str(ord, &mut value).unwrap_or(false) {
                    *target.entry(value.clone()).or_default() += n;
                }
            }
        }
        self.counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_fall_in_their_half_open_range() {
        assert_eq!(price_range(0), 0);
        assert_eq!(price_range(999), 0);
        assert_eq!(price_range(1_000), 1);
        assert_eq!(price_range(9_999), 2);
        assert_eq!(price_range(50_000), 4);
        assert_eq!(price_range(i64::MAX), 4);
    }
}
