//! Status filters: stored statuses are terms; derived states become range conditions on
//! `auction_start`, `auction_end` and `listed_on` evaluated at the time of the request.
//!
//! With `n` = the request time in whole epoch seconds (floor), `today` = `now.date()` in days, and the
//! sentinels of [`crate::schema`] (unknown start = `i64::MIN`, unknown end = `i64::MAX`, unknown listing
//! date = `i64::MAX`), [`anjia_domain::listing::derive_state`] is equivalent to (for postings whose
//! times are whole seconds):
//!
//! | state | condition |
//! |---|---|
//! | ended_awaiting_result | `end ≤ n` ∨ (`start` unknown ∧ `end` unknown ∧ `listed ≤ today − 366`) |
//! | announced | `end > n` ∧ `start ≥ n + 86401` (and start known) |
//! | upcoming | `end > n` ∧ `n + 1 ≤ start ≤ n + 86400` |
//! | bidding / sell_off_open | `end > n` ∧ `start` known ∧ `start ≤ n` ∧ round ≠ / = sell-off |
//! | unknown | `start` unknown ∧ ((`n < end` ∧ `end` known) ∨ (`end` unknown ∧ `listed > today − 366`)) |
//!
//! `end > n` includes an unknown end (`i64::MAX`); `listed > …` includes an unknown listing date.
//! The property test `derived_ranges_agree_with_derive_state` checks the table against `derive_state`.

use crate::schema::{
    END_UNKNOWN, F_END, F_LISTED, F_ROUND, F_START, F_STATUS, LISTED_UNKNOWN, START_UNKNOWN,
    epoch_days, ordinal,
};
use anjia_domain::listing::LISTING_HORIZON;
use anjia_domain::{DerivedState, Round};
use std::ops::Bound;
use tantivy::Term;
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use time::OffsetDateTime;

/// The request time in the units of the index.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Now {
    /// Whole epoch seconds (floor).
    pub secs: i64,
    /// Last listing day (days since epoch) that counts as over: `today − (horizon + 1 day)`.
    pub listed_cutoff: i64,
}

impl Now {
    pub fn new(now: OffsetDateTime) -> Now {
        let horizon_days = LISTING_HORIZON.whole_days();
        Now {
            secs: now.unix_timestamp(),
            listed_cutoff: epoch_days(now.date()) - horizon_days - 1,
        }
    }
}

/// A closed interval condition on one i64 fast field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct I64Range {
    pub field: &'static str,
    pub lo: i64,
    pub hi: i64,
}

impl I64Range {
    fn new(field: &'static str, lo: i64, hi: i64) -> I64Range {
        I64Range { field, lo, hi }
    }
    /// Whether `v` satisfies the condition.
    #[cfg(test)]
    pub fn contains(&self, v: i64) -> bool {
        self.lo <= v && v <= self.hi
    }
}

/// One conjunction of conditions; a derived state is a disjunction of these.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Conj {
    pub ranges: Vec<I64Range>,
    /// Round must (true) or must not (false) be sell-off.
    pub sell_off: Option<bool>,
}

/// The conditions (for postings without a stored status) equivalent to `state` at `now`.
pub(crate) fn derived_conditions(state: DerivedState, now: Now) -> Vec<Conj> {
    let n = now.secs;
    let not_ended = I64Range::new(F_END, n.saturating_add(1), i64::MAX);
    let start_known = |lo: i64, hi: i64| I64Range::new(F_START, lo.max(START_UNKNOWN + 1), hi);
    let conj = |ranges: Vec<I64Range>| Conj {
        ranges,
        sell_off: None,
    };
    match state {
        DerivedState::EndedAwaitingResult => vec![
            conj(vec![I64Range::new(F_END, i64::MIN, n)]),
            conj(vec![
                I64Range::new(F_START, START_UNKNOWN, START_UNKNOWN),
                I64Range::new(F_END, END_UNKNOWN, END_UNKNOWN),
                I64Range::new(F_LISTED, i64::MIN, now.listed_cutoff),
            ]),
        ],
        DerivedState::Announced => vec![conj(vec![
            not_ended,
            start_known(n.saturating_add(86_401), i64::MAX),
        ])],
        DerivedState::Upcoming => vec![conj(vec![
            not_ended,
            start_known(n.saturating_add(1), n.saturating_add(86_400)),
        ])],
        DerivedState::Bidding | DerivedState::SellOffOpen => vec![Conj {
            ranges: vec![not_ended, start_known(i64::MIN, n)],
            sell_off: Some(state == DerivedState::SellOffOpen),
        }],
        DerivedState::Unknown => vec![
            conj(vec![
                I64Range::new(F_START, START_UNKNOWN, START_UNKNOWN),
                I64Range::new(F_END, n.saturating_add(1), END_UNKNOWN - 1),
            ]),
            conj(vec![
                I64Range::new(F_START, START_UNKNOWN, START_UNKNOWN),
                I64Range::new(F_END, END_UNKNOWN, END_UNKNOWN),
                I64Range::new(
                    F_LISTED,
                    now.listed_cutoff.saturating_add(1),
                    LISTED_UNKNOWN,
                ),
            ]),
        ],
    }
}

fn range_query(schema_field: Field, r: &I64Range) -> Box<dyn Query> {
    Box::new(RangeQuery::new(
        Bound::Included(Term::from_field_i64(schema_field, r.lo)),
        Bound::Included(Term::from_field_i64(schema_field, r.hi)),
    ))
}

/// Fields needed to build status queries.
pub(crate) struct StatusFields {
    pub status: Field,
    pub round: Field,
    pub start: Field,
    pub end: Field,
    pub listed: Field,
}

impl StatusFields {
    fn by_name(&self, name: &str) -> Field {
        match name {
            F_START => self.start,
            F_END => self.end,
            F_LISTED => self.listed,
            F_STATUS => self.status,
            F_ROUND => self.round,
            _ => self.start,
        }
    }
}

/// Query matching postings without a stored status whose derived state at `now` is `state`.
pub(crate) fn derived_query(f: &StatusFields, state: DerivedState, now: Now) -> Box<dyn Query> {
    let no_status: Box<dyn Query> = Box::new(TermQuery::new(
        Term::from_field_u64(f.status, 0),
        IndexRecordOption::Basic,
    ));
    let mut alternatives: Vec<Box<dyn Query>> = Vec::new();
    for c in derived_conditions(state, now) {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = c
            .ranges
            .iter()
            .map(|r| (Occur::Must, range_query(f.by_name(r.field), r)))
            .collect();
        if let Some(sell_off) = c.sell_off {
            let t: Box<dyn Query> = Box::new(TermQuery::new(
                Term::from_field_u64(f.round, ordinal(Round::ALL, &Round::SellOff)),
                IndexRecordOption::Basic,
            ));
            clauses.push((
                if sell_off {
                    Occur::Must
                } else {
                    Occur::MustNot
                },
                t,
            ));
        }
        alternatives.push(Box::new(BooleanQuery::new(clauses)));
    }
    let any: Box<dyn Query> = if alternatives.len() == 1 {
        alternatives
            .pop()
            .unwrap_or_else(|| Box::new(tantivy::query::EmptyQuery))
    } else {
        Box::new(BooleanQuery::union(alternatives))
    };
    Box::new(BooleanQuery::new(vec![
        (Occur::Must, no_status),
        (Occur::Must, any),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::epoch_seconds;
    use anjia_domain::listing::derive_state;
    use proptest::prelude::*;
    use time::{Date, Duration};

    fn eval(conds: &[Conj], round: Round, start: i64, end: i64, listed: i64) -> bool {
        conds.iter().any(|c| {
            c.ranges.iter().all(|r| {
                let v = match r.field {
                    F_START => start,
                    F_END => end,
                    _ => listed,
                };
                r.contains(v)
            }) && c.sell_off.is_none_or(|s| s == (round == Round::SellOff))
        })
    }

    const BASE: i64 = 1_600_000_000;

    fn arb_time() -> impl Strategy<Value = Option<OffsetDateTime>> {
        // Whole seconds near BASE, with values around the 24-hour and end boundaries likely.
        prop::option::of(
            (-3i64..3, -90_000i64..90_000)
                .prop_map(|(d, s)| OffsetDateTime::from_unix_timestamp(BASE + d * 86_400 + s).ok()),
        )
        .prop_map(Option::flatten)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        #[test]
        fn derived_ranges_agree_with_derive_state(
            start in arb_time(),
            end in arb_time(),
            listed_off in prop::option::of(-800i64..800),
            now_off in -200_000i64..200_000,
            now_nanos in 0u32..1_000_000_000,
            round_i in 0usize..Round::ALL.len(),
            offset_h in -12i8..=14,
        ) {
            let round = Round::ALL[round_i];
            let now = OffsetDateTime::from_unix_timestamp(BASE + now_off).unwrap()
                + Duration::nanoseconds(i64::from(now_nanos));
            let now = now.to_offset(time::UtcOffset::from_hms(offset_h, 0, 0).unwrap());
            let listed: Option<Date> = listed_off.map(|d| now.date() - Duration::days(d - 365));
            let expected = derive_state(round, start, end, listed, now);
            let s = start.map_or(START_UNKNOWN, epoch_seconds);
            let e = end.map_or(END_UNKNOWN, epoch_seconds);
            let l = listed.map_or(LISTED_UNKNOWN, epoch_days);
            let n = Now::new(now);
            for st in DerivedState::ALL {
                let got = eval(&derived_conditions(*st, n), round, s, e, l);
                prop_assert_eq!(got, *st == expected, "state {:?} expected {:?}", st, expected);
            }
        }
    }
}
