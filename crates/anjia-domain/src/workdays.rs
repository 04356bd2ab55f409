//! The Chinese working-day calendar: weekends, public holidays and make-up working days (调休),
//! kept as data (`data/calendar/cn-workdays.json`, one entry per year with the State Council
//! notice it comes from), and the due date of a privacy request.
//!
//! Rules: a date in a year's `holidays` ranges is not a working day; a date in its `workdays`
//! (a weekend made a working day) is one; any other date is a working day Monday to Friday.
//! For a year the data does not cover, only weekends are known: counting working days there
//! gives a date no later than the true one (holidays only push it later), so a deadline computed
//! from it is never missed — [`WorkCalendar::covers`] tells the caller, who should add the year's
//! notice to the data when it is published (each November for the next year).

use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;
use time::{Date, Duration, Weekday};

#[derive(Deserialize)]
struct FileData {
    years: Vec<YearData>,
}

#[derive(Deserialize)]
struct YearData {
    year: i32,
    source: String,
    holidays: Vec<(String, String)>,
    workdays: Vec<String>,
}

/// One covered year.
#[derive(Debug, Clone, Default)]
struct Year {
    off: BTreeSet<Date>,
    on: BTreeSet<Date>,
    source: String,
}

/// The calendar of the covered years.
#[derive(Debug, Clone, Default)]
pub struct WorkCalendar {
    years: BTreeMap<i32, Year>,
}

/// Why a calendar file is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// Not the expected JSON.
    #[error("calendar file: {0}")]
    Format(String),
    /// A date that is not `YYYY-MM-DD`, or outside the year it is listed under.
    #[error("calendar {year}: {what}")]
    BadDate {
        /// The year entry.
        year: i32,
        /// What is wrong (the text of the date is ours, from the file).
        what: String,
    },
}

/// Days a privacy request may take at most (PRIVACY.md: min(30 days, 15 working days)).
pub const PRIVACY_REQUEST_CALENDAR_DAYS: i64 = 30;
/// Working days a privacy request may take at most.
pub const PRIVACY_REQUEST_WORKING_DAYS: u32 = 15;

fn parse_date(year: i32, s: &str) -> Result<Date, CalendarError> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let d = Date::parse(s, &fmt).map_err(|_| CalendarError::BadDate {
        year,
        what: format!("{s} is not a date YYYY-MM-DD"),
    })?;
    if d.year() != year {
        return Err(CalendarError::BadDate {
            year,
            what: format!("{s} is not in {year}"),
        });
    }
    Ok(d)
}

impl WorkCalendar {
    /// The bundled calendar (`data/calendar/cn-workdays.json`), parsed once.
    ///
    /// # Panics
    /// If the bundled file is broken (a build defect; the unit tests parse it).
    pub fn bundled() -> &'static WorkCalendar {
        static C: OnceLock<WorkCalendar> = OnceLock::new();
        C.get_or_init(|| {
            WorkCalendar::from_json(include_str!("../../../data/calendar/cn-workdays.json"))
                .expect("the bundled working-day calendar parses")
        })
    }

    /// Parses a calendar file.
    ///
    /// # Errors
    /// [`CalendarError`] for malformed JSON, a bad date, a range that ends before it starts, or
    /// a day listed both as holiday and as working day.
    pub fn from_json(text: &str) -> Result<WorkCalendar, CalendarError> {
        let f: FileData =
            serde_json::from_str(text).map_err(|e| CalendarError::Format(e.to_string()))?;
        let mut years = BTreeMap::new();
        for y in f.years {
            let mut year = Year {
                source: y.source,
                ..Year::default()
            };
            for (a, b) in &y.holidays {
                let (a, b) = (parse_date(y.year, a)?, parse_date(y.year, b)?);
                if b < a {
                    return Err(CalendarError::BadDate {
                        year: y.year,
                        what: format!("holiday range {a}…{b} ends before it starts"),
                    });
                }
                let mut d = a;
                while d <= b {
                    year.off.insert(d);
                    d += Duration::days(1);
                }
            }
            for w in &y.workdays {
                let d = parse_date(y.year, w)?;
                if year.off.contains(&d) {
                    return Err(CalendarError::BadDate {
                        year: y.year,
                        what: format!("{d} is listed as holiday and as working day"),
                    });
                }
                year.on.insert(d);
            }
            years.insert(y.year, year);
        }
        Ok(WorkCalendar { years })
    }

    /// Whether the data covers `year` (holidays known); otherwise only weekends are.
    pub fn covers(&self, year: i32) -> bool {
        self.years.contains_key(&year)
    }

    /// The notice a covered year's data comes from.
    pub fn source(&self, year: i32) -> Option<&str> {
        self.years.get(&year).map(|y| y.source.as_str())
    }

    /// Whether `d` is a working day (see the module rules).
    pub fn is_working_day(&self, d: Date) -> bool {
        if let Some(y) = self.years.get(&d.year()) {
            if y.on.contains(&d) {
                return true;
            }
            if y.off.contains(&d) {
                return false;
            }
        }
        !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday)
    }

    /// The `n`-th working day after `start` (`start` itself not counted; `n` = 0 gives `start`).
    pub fn add_working_days(&self, start: Date, n: u32) -> Date {
        let mut d = start;
        let mut left = n;
        while left > 0 {
            d += Duration::days(1);
            if self.is_working_day(d) {
                left -= 1;
            }
        }
        d
    }

    /// The due date of a privacy request received on `received` (China local date): the
    /// earlier of 30 days and 15 working days after it (PRIVACY.md, privacy requests).
    pub fn privacy_request_due(&self, received: Date) -> Date {
        let by_days = received + Duration::days(PRIVACY_REQUEST_CALENDAR_DAYS);
        let by_working = self.add_working_days(received, PRIVACY_REQUEST_WORKING_DAYS);
        by_days.min(by_working)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn c() -> &'static WorkCalendar {
        WorkCalendar::bundled()
    }

    #[test]
    fn holidays_and_make_up_days_of_2026() {
        assert!(c().covers(2026) && !c().covers(2027));
        assert!(c().source(2026).unwrap().contains("国务院办公厅"));
        // Make-up working days (weekends).
        for d in [
            date!(2026 - 01 - 04),
            date!(2026 - 02 - 14),
            date!(2026 - 02 - 28),
            date!(2026 - 05 - 09),
            date!(2026 - 09 - 20),
            date!(2026 - 10 - 10),
        ] {
            assert!(c().is_working_day(d), "{d}");
        }
        // Holidays on weekdays.
        for d in [
            date!(2026 - 01 - 01),
            date!(2026 - 02 - 16),
            date!(2026 - 02 - 23),
            date!(2026 - 04 - 06),
            date!(2026 - 05 - 05),
            date!(2026 - 06 - 19),
            date!(2026 - 09 - 25),
            date!(2026 - 10 - 07),
        ] {
            assert!(!c().is_working_day(d), "{d}");
        }
        // Ordinary days.
        assert!(c().is_working_day(date!(2026 - 11 - 30))); // Monday
        assert!(!c().is_working_day(date!(2026 - 11 - 28))); // Saturday
    }

    #[test]
    fn due_dates_span_the_long_holidays() {
        // Received Monday 2026-09-28: 9-29, 9-30, (10-01…10-07 off), 10-08, 10-09, 10-10 (Sat,
        // make-up), 10-12 … 10-23 → the 15th working day is 10-23, before 30 days (10-28).
        assert_eq!(
            c().add_working_days(date!(2026 - 09 - 28), 15),
            date!(2026 - 10 - 23)
        );
        assert_eq!(
            c().privacy_request_due(date!(2026 - 09 - 28)),
            date!(2026 - 10 - 23)
        );
        // Spring festival: received 2026-02-10 → 15 working days end 2026-03-09.
        assert_eq!(
            c().privacy_request_due(date!(2026 - 02 - 10)),
            date!(2026 - 03 - 09)
        );
        // An ordinary fortnight: 15 working days = 21 calendar days, under 30.
        assert_eq!(
            c().privacy_request_due(date!(2026 - 11 - 02)),
            date!(2026 - 11 - 23)
        );
        assert_eq!(
            c().add_working_days(date!(2026 - 11 - 02), 0),
            date!(2026 - 11 - 02)
        );
        // Not covered (2027): weekends only — never later than the true date.
        assert_eq!(
            c().add_working_days(date!(2026 - 12 - 28), 5),
            date!(2027 - 01 - 04)
        );
    }

    #[test]
    fn bad_files_are_refused() {
        let y = |h: &str, w: &str| {
            format!(
                r#"{{"years":[{{"year":2026,"source":"s","holidays":[{h}],"workdays":[{w}]}}]}}"#
            )
        };
        assert!(
            WorkCalendar::from_json(&y(r#"["2026-01-01","2026-01-03"]"#, r#""2026-01-04""#))
                .is_ok()
        );
        for bad in [
            y(r#"["2026-01-03","2026-01-01"]"#, ""),
            y(r#"["2026-01-01","2027-01-03"]"#, ""),
            y(r#"["2026-13-01","2026-13-02"]"#, ""),
            y(r#"["2026-01-01","2026-01-03"]"#, r#""2026-01-02""#),
            "not json".to_string(),
        ] {
            assert!(WorkCalendar::from_json(&bad).is_err(), "{bad}");
        }
    }
}
