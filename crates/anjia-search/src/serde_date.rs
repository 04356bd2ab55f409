//! `YYYY-MM-DD` (de)serialisation of calendar dates.

/// `Option<Date>` as `YYYY-MM-DD` or null.
pub mod option {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::{Date, format_description::BorrowedFormatItem, macros::format_description};

    const FMT: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]");

    /// Serialises as `YYYY-MM-DD` or null.
    pub fn serialize<S: Serializer>(d: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => {
                let txt = d.format(FMT).map_err(serde::ser::Error::custom)?;
                s.serialize_some(&txt)
            }
            None => s.serialize_none(),
        }
    }

    /// Deserialises `YYYY-MM-DD`, null or an empty string (as `None`).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
        let v: Option<String> = Option::deserialize(d)?;
        match v.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(t) => Date::parse(t, FMT).map(Some).map_err(|e| {
                serde::de::Error::custom(format!("{t:?} is not a YYYY-MM-DD date: {e}"))
            }),
        }
    }
}
