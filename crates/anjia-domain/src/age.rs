//! Age in full years (周岁) and the age classes that decide guardian consent (PRIVACY.md PRV-15).
//!
//! # When a year is complete
//! * 《中华人民共和国民法典》 Art. 201: a period counted in years, months or days does not count its
//!   first day; it runs from the next day. Art. 202: a period in years ends on the corresponding
//!   day of the last year, or on the last day of that month when there is no corresponding day.
//!   Art. 203: the last day of a period ends at 24:00.
//! * 《最高人民法院关于审理未成年人刑事案件具体应用法律若干问题的解释》(法释〔2006〕1号) Art. 2:
//!   周岁 are counted by the Gregorian calendar, **from the day after the birthday** (“从周岁生日的
//!   第二天起算”).
//!
//! So a person born on 10 May 2008 completes 18 years at the end of 10 May 2026: on 10 May 2026
//! (the 18th birthday itself) they are still 17, from 11 May 2026 they are 18. A person born on
//! 29 February has no corresponding day in a common year; the period ends on the last day of
//! February (Art. 202), 28 February, so in a common year they complete the year at the end of
//! 28 February and are one year older from 1 March. In a leap year the birthday is 29 February and
//! they are one year older from 1 March as well.
//!
//! Dates are calendar dates in Asia/Shanghai ([`today_in_shanghai`]).

use time::{Date, Month, OffsetDateTime};

use crate::china_time::SHANGHAI;

/// Age from which a person is an adult (成年人), in full years: 《民法典》 Art. 17.
pub const ADULT_AGE: u32 = 18;

/// Age below which personal information of a minor is sensitive and processing needs the
/// guardian's consent: 《个人信息保护法》 Art. 28 and 31 (不满十四周岁).
pub const CHILD_AGE: u32 = 14;

/// The class of a person's age on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgeClass {
    /// 18 full years or more ([`ADULT_AGE`]).
    Adult,
    /// 14 to 17 full years: a minor (未成年人) who is not a child.
    Minor,
    /// Under 14 full years ([`CHILD_AGE`]): all their PI is sensitive PI (PIPL Art. 28).
    Child,
}

impl AgeClass {
    /// Stable identifier: `adult`, `minor`, `child`.
    pub fn id(self) -> &'static str {
        match self {
            AgeClass::Adult => "adult",
            AgeClass::Minor => "minor",
            AgeClass::Child => "child",
        }
    }

    /// Whether the person is under 18 (a minor or a child).
    pub fn is_minor(self) -> bool {
        !matches!(self, AgeClass::Adult)
    }
}

/// The day in `year` that ends a year of life for someone born on `birth`: the same month and day,
/// or 28 February for a 29 February birth in a common year (《民法典》 Art. 202).
fn birthday_in(birth: Date, year: i32) -> Option<Date> {
    Date::from_calendar_date(year, birth.month(), birth.day())
        .or_else(|_| Date::from_calendar_date(year, Month::February, 28))
        .ok()
}

/// Full years (周岁) of a person born on `birth`, on the day `on` (both Asia/Shanghai calendar
/// dates).
///
/// A year is complete at the end of the birthday, so the count goes up on the day **after** the
/// birthday (SPC interpretation 法释〔2006〕1号 Art. 2; see the module docs); for a 29 February
/// birth the birthday in a common year is 28 February, so the count goes up on 1 March. Returns 0
/// when `on` is before or on the first birthday, including when `on` is before `birth`.
pub fn age_on(birth: Date, on: Date) -> u32 {
    if on <= birth {
        return 0;
    }
    let mut years = on.year() - birth.year();
    // `birthday_in` only fails for a year outside `Date`'s range, and `on.year()` came from a Date;
    // treating that as "birthday not yet passed" keeps the count conservative.
    if birthday_in(birth, on.year()).is_none_or(|birthday| on <= birthday) {
        years -= 1;
    }
    u32::try_from(years).unwrap_or(0)
}

/// The [`AgeClass`] of a person born on `birth`, on the day `on`: [`age_on`] ≥ 18 adult, 14–17
/// minor, under 14 child.
pub fn age_class(birth: Date, on: Date) -> AgeClass {
    match age_on(birth, on) {
        a if a >= ADULT_AGE => AgeClass::Adult,
        a if a >= CHILD_AGE => AgeClass::Minor,
        _ => AgeClass::Child,
    }
}

/// The calendar date in Asia/Shanghai (UTC+08:00, [`SHANGHAI`]) at the instant `now`.
pub fn today_in_shanghai(now: OffsetDateTime) -> Date {
    now.to_offset(SHANGHAI).date()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::{date, datetime};

    #[test]
    fn turns_18_the_day_after_the_18th_birthday() {
        let birth = date!(2008 - 05 - 10);
        assert_eq!(age_on(birth, date!(2026 - 05 - 09)), 17);
        assert_eq!(age_on(birth, date!(2026 - 05 - 10)), 17);
        assert_eq!(age_on(birth, date!(2026 - 05 - 11)), 18);
        assert_eq!(age_class(birth, date!(2026 - 05 - 10)), AgeClass::Minor);
        assert_eq!(age_class(birth, date!(2026 - 05 - 11)), AgeClass::Adult);
    }

    #[test]
    fn turns_14_the_day_after_the_14th_birthday() {
        let birth = date!(2012 - 09 - 01);
        assert_eq!(age_on(birth, date!(2026 - 08 - 31)), 13);
        assert_eq!(age_on(birth, date!(2026 - 09 - 01)), 13);
        assert_eq!(age_on(birth, date!(2026 - 09 - 02)), 14);
        assert_eq!(age_class(birth, date!(2026 - 09 - 01)), AgeClass::Child);
        assert_eq!(age_class(birth, date!(2026 - 09 - 02)), AgeClass::Minor);
    }

    #[test]
    fn born_29_february() {
        let birth = date!(2008 - 02 - 29);
        // 2026 is a common year: the birthday is 28 February, 18 from 1 March.
        assert_eq!(age_on(birth, date!(2026 - 02 - 27)), 17);
        assert_eq!(age_on(birth, date!(2026 - 02 - 28)), 17);
        assert_eq!(age_on(birth, date!(2026 - 03 - 01)), 18);
        assert_eq!(age_class(birth, date!(2026 - 02 - 28)), AgeClass::Minor);
        assert_eq!(age_class(birth, date!(2026 - 03 - 01)), AgeClass::Adult);
        // 2028 is a leap year: the birthday is 29 February, 20 from 1 March.
        assert_eq!(age_on(birth, date!(2028 - 02 - 28)), 19);
        assert_eq!(age_on(birth, date!(2028 - 02 - 29)), 19);
        assert_eq!(age_on(birth, date!(2028 - 03 - 01)), 20);
        // 14th birthday in the common year 2026.
        let birth = date!(2012 - 02 - 29);
        assert_eq!(age_on(birth, date!(2026 - 02 - 28)), 13);
        assert_eq!(age_on(birth, date!(2026 - 03 - 01)), 14);
        // First birthday of a 29 Feb baby (2001 is common).
        let birth = date!(2000 - 02 - 29);
        assert_eq!(age_on(birth, date!(2001 - 02 - 28)), 0);
        assert_eq!(age_on(birth, date!(2001 - 03 - 01)), 1);
        // Leap-year 18th birthday: born 2000-02-29, 18 in 2018 (common) from 1 March.
        assert_eq!(age_on(birth, date!(2018 - 02 - 28)), 17);
        assert_eq!(age_on(birth, date!(2018 - 03 - 01)), 18);
    }

    #[test]
    fn born_28_february_is_not_affected_by_leap_years() {
        let birth = date!(2008 - 02 - 28);
        assert_eq!(age_on(birth, date!(2026 - 02 - 28)), 17);
        assert_eq!(age_on(birth, date!(2026 - 03 - 01)), 18);
        let birth = date!(2010 - 02 - 28);
        assert_eq!(age_on(birth, date!(2028 - 02 - 28)), 17);
        assert_eq!(age_on(birth, date!(2028 - 02 - 29)), 18);
    }

    #[test]
    fn year_end_births() {
        let birth = date!(2007 - 12 - 31);
        assert_eq!(age_on(birth, date!(2025 - 12 - 31)), 17);
        assert_eq!(age_on(birth, date!(2026 - 01 - 01)), 18);
        let birth = date!(2008 - 01 - 01);
        assert_eq!(age_on(birth, date!(2025 - 12 - 31)), 17);
        assert_eq!(age_on(birth, date!(2026 - 01 - 01)), 17);
        assert_eq!(age_on(birth, date!(2026 - 01 - 02)), 18);
    }

    #[test]
    fn before_birth_and_first_year() {
        let birth = date!(2020 - 06 - 01);
        assert_eq!(age_on(birth, date!(2019 - 01 - 01)), 0);
        assert_eq!(age_on(birth, birth), 0);
        assert_eq!(age_on(birth, date!(2021 - 06 - 01)), 0);
        assert_eq!(age_on(birth, date!(2021 - 06 - 02)), 1);
        assert_eq!(age_class(birth, date!(2019 - 01 - 01)), AgeClass::Child);
    }

    #[test]
    fn shanghai_today() {
        // 2026-05-10 16:30 UTC is already 11 May in Shanghai.
        assert_eq!(
            today_in_shanghai(datetime!(2026-05-10 16:30 UTC)),
            date!(2026 - 05 - 11)
        );
        assert_eq!(
            today_in_shanghai(datetime!(2026-05-10 15:59:59 UTC)),
            date!(2026 - 05 - 10)
        );
    }

    fn any_date() -> impl Strategy<Value = Date> {
        (1900i32..2100, 1u8..=12, 1u8..=31).prop_filter_map("real date", |(y, m, d)| {
            Date::from_calendar_date(y, Month::try_from(m).ok()?, d).ok()
        })
    }

    proptest! {
        /// Cross-check against the definition: the age is the number of birthdays (28 Feb in
        /// common years for 29 Feb births) that lie strictly before `on`, after the birth.
        #[test]
        fn counts_completed_birthdays(birth in any_date(), on in any_date()) {
            let completed = (birth.year() + 1..=on.year())
                .filter(|y| birthday_in(birth, *y).is_some_and(|b| b < on))
                .count();
            prop_assert_eq!(age_on(birth, on) as usize, completed);
        }

        #[test]
        fn monotonic(birth in any_date(), on in any_date()) {
            if let Some(next) = on.next_day() {
                let (a, b) = (age_on(birth, on), age_on(birth, next));
                prop_assert!(b == a || b == a + 1);
            }
        }
    }
}
