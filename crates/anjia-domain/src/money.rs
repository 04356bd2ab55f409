//! Money as integer fen (1 yuan = 100 fen) and prices whose precision is known.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An amount of money in fen (1 yuan = 100 fen; 1 万元 = 1,000,000 fen). Never a float.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(transparent)]
pub struct Money(pub i64);

/// Error for an amount that cannot be money.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MoneyError {
    /// The amount is negative, NaN, infinite or larger than the platform handles (10^13 yuan).
    #[error("amount {0} is not a valid amount of yuan (must be finite, ≥ 0 and < 10^13)")]
    OutOfRange(String),
    /// The text is not a number of yuan.
    #[error("{0:?} is not a number of yuan")]
    NotANumber(String),
}

impl Money {
    /// Zero fen.
    pub const ZERO: Money = Money(0);

    /// Amount in fen.
    pub fn fen(self) -> i64 {
        self.0
    }

    /// From whole yuan.
    pub fn from_yuan(yuan: i64) -> Money {
        Money(yuan * 100)
    }

    /// From a yuan amount sent as a float by a source (Ali/JD JSON), rounded to the nearest fen.
    ///
    /// # Errors
    /// [`MoneyError::OutOfRange`] for NaN, infinities, negatives and amounts ≥ 10^13 yuan.
    pub fn from_yuan_f64(yuan: f64) -> Result<Money, MoneyError> {
        if !yuan.is_finite() || !(0.0..1e13).contains(&yuan) {
            return Err(MoneyError::OutOfRange(yuan.to_string()));
        }
        Ok(Money((yuan * 100.0).round() as i64))
    }

    /// Parses a decimal yuan string such as `30000`, `115623.68` or `1,234.5` (thousands separators
    /// allowed) exactly, without going through a float.
    ///
    /// # Errors
    /// [`MoneyError::NotANumber`] for anything else (more than two decimals, signs, letters, empty).
    pub fn parse_yuan(s: &str) -> Result<Money, MoneyError> {
        let t: String = s.trim().chars().filter(|c| *c != ',').collect();
        let bad = || MoneyError::NotANumber(s.to_string());
        let (int, frac) = match t.split_once('.') {
            Some((i, f)) => (i, f),
            None => (t.as_str(), ""),
        };
        if int.is_empty()
            || int.len() > 13
            || frac.len() > 2
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let yuan: i64 = int.parse().map_err(|_| bad())?;
        let mut fen_part: i64 = if frac.is_empty() {
            0
        } else {
            frac.parse().map_err(|_| bad())?
        };
        if frac.len() == 1 {
            fen_part *= 10;
        }
        Ok(Money(yuan * 100 + fen_part))
    }

    /// Amount in yuan as a float, for display and ratios only.
    pub fn yuan_f64(self) -> f64 {
        self.0 as f64 / 100.0
    }

    /// Amount in 万元 (10,000 yuan) as a float, for display only.
    pub fn wan_f64(self) -> f64 {
        self.0 as f64 / 1_000_000.0
    }

    /// Formats as 万元 with up to two decimals and no trailing zeros, e.g. `225.38万`; amounts under
    /// 1万 are shown in yuan, e.g. `5,000元`.
    pub fn format_wan(self) -> String {
        if self.0 < 1_000_000 {
            return format!("{}元", group_thousands(self.0 / 100));
        }
        let hundredths_of_wan = (self.0 + 5_000) / 10_000; // rounded to 0.01万
        let whole = hundredths_of_wan / 100;
        let frac = hundredths_of_wan % 100;
        if frac == 0 {
            format!("{whole}万")
        } else if frac % 10 == 0 {
            format!("{whole}.{}万", frac / 10)
        } else {
            format!("{whole}.{frac:02}万")
        }
    }

    /// Formats exactly in yuan with thousands separators, e.g. `115,623.68元`.
    pub fn format_yuan(self) -> String {
        let y = self.0 / 100;
        let f = self.0 % 100;
        if f == 0 {
            format!("{}元", group_thousands(y))
        } else {
            format!("{}.{f:02}元", group_thousands(y))
        }
    }
}

fn group_thousands(n: i64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.format_yuan())
    }
}

/// How precisely a price is known.
///
/// The sf_taobao export cut `first_price` and `evaluation_price` at the first thousands separator, so
/// `430` means 430,xxx yuan (known to the thousand yuan) and `2` means 2,xxx,xxx yuan (known to the
/// million yuan); importers reconstruct the most likely value and record its precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PricePrecision {
    /// Known to the fen, as published.
    Exact,
    /// Digits below the thousands were lost: the true value lies in `[low, high]`, a 1,000-yuan band.
    Thousands,
    /// Digits below the millions were lost: a 1,000,000-yuan band.
    Millions,
    /// Digits below the billions were lost: a 1,000,000,000-yuan band.
    Billions,
}

impl PricePrecision {
    /// Stable text form used in storage and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            PricePrecision::Exact => "exact",
            PricePrecision::Thousands => "thousands",
            PricePrecision::Millions => "millions",
            PricePrecision::Billions => "billions",
        }
    }

    /// Parses [`PricePrecision::as_str`] output.
    pub fn parse(s: &str) -> Option<PricePrecision> {
        Some(match s {
            "exact" => PricePrecision::Exact,
            "thousands" => PricePrecision::Thousands,
            "millions" => PricePrecision::Millions,
            "billions" => PricePrecision::Billions,
            _ => return None,
        })
    }
}

/// A price with its precision: the best value, the interval the true value lies in, and how the value
/// was obtained.
///
/// Invariant: `low <= value <= high`; for [`PricePrecision::Exact`] all three are equal and `method` is
/// `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PriceValue {
    /// Best value, fen.
    pub value: Money,
    /// Precision of the published figure.
    pub precision: PricePrecision,
    /// Lowest value consistent with the source, fen.
    pub low: Money,
    /// Highest value consistent with the source, fen.
    pub high: Money,
    /// How an estimate was reconstructed (e.g. `deposit_ratio_10pct`); `None` when exact.
    pub method: Option<String>,
}

impl PriceValue {
    /// An exactly known price.
    pub fn exact(m: Money) -> PriceValue {
        PriceValue {
            value: m,
            precision: PricePrecision::Exact,
            low: m,
            high: m,
            method: None,
        }
    }

    /// Whether the value is an estimate (anything but exact).
    pub fn is_estimate(&self) -> bool {
        self.precision != PricePrecision::Exact
    }

    /// Display in 万元, prefixed with `≈` when estimated, e.g. `≈43万`.
    pub fn display_wan(&self) -> String {
        if self.is_estimate() {
            format!("≈{}", self.value.format_wan())
        } else {
            self.value.format_wan()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_yuan_exactly() {
        assert_eq!(Money::parse_yuan("30000").unwrap(), Money(3_000_000));
        assert_eq!(Money::parse_yuan("115623.68").unwrap(), Money(11_562_368));
        assert_eq!(Money::parse_yuan("1,234.5").unwrap(), Money(123_450));
        for bad in ["", "abc", "-1", "1.234", "1e5", "12 3", "."] {
            assert!(Money::parse_yuan(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn formats_wan() {
        assert_eq!(Money::from_yuan(430_000).format_wan(), "43万");
        assert_eq!(Money::from_yuan(2_253_785).format_wan(), "225.38万");
        assert_eq!(Money::from_yuan(2_250_000).format_wan(), "225万");
        assert_eq!(Money::from_yuan(1_205_000).format_wan(), "120.5万");
        assert_eq!(Money::from_yuan(5_000).format_wan(), "5,000元");
        assert_eq!(Money(11_562_368).format_yuan(), "115,623.68元");
    }

    #[test]
    fn rejects_bad_floats() {
        assert!(Money::from_yuan_f64(f64::NAN).is_err());
        assert!(Money::from_yuan_f64(-1.0).is_err());
        assert_eq!(
            Money::from_yuan_f64(1_287_173.87).unwrap(),
            Money(128_717_387)
        );
    }

    proptest! {
        #[test]
        fn parse_roundtrips_format(fen in 0i64..10_000_000_000_000) {
            let m = Money(fen);
            let s = m.format_yuan();
            let back = Money::parse_yuan(s.trim_end_matches('元')).unwrap();
            prop_assert_eq!(back, m);
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,20}") {
            let _ = Money::parse_yuan(&s);
        }
    }
}
