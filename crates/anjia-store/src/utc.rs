//! A UTC instant column that reads and writes the same way on both backends.
//!
//! PostgreSQL stores `timestamptz` (microsecond precision). SQLite has no time type: anjia writes
//! one fixed-width UTC text form, `YYYY-MM-DDTHH:MM:SS.ffffffZ`, so that text order is time order
//! and both backends keep the same (microsecond) precision.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef};
use sqlx::sqlite::{SqliteArgumentsBuffer, SqliteTypeInfo, SqliteValueRef};
use sqlx::{Decode, Encode, Postgres, Sqlite, Type};
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

const SQLITE_FORMAT: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

/// A UTC instant as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Utc(pub OffsetDateTime);

impl Utc {
    /// Converts to UTC and truncates to microseconds (the precision both backends keep).
    pub(crate) fn new(t: OffsetDateTime) -> Utc {
        let t = t.to_offset(UtcOffset::UTC);
        let micros = t.microsecond();
        Utc(t.replace_microsecond(micros).unwrap_or(t))
    }

    /// The current time.
    pub(crate) fn now() -> Utc {
        Utc::new(OffsetDateTime::now_utc())
    }
}

impl Type<Sqlite> for Utc {
    fn type_info() -> SqliteTypeInfo {
        <String as Type<Sqlite>>::type_info()
    }
    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <OffsetDateTime as Type<Sqlite>>::compatible(ty) || <String as Type<Sqlite>>::compatible(ty)
    }
}

impl Encode<'_, Sqlite> for Utc {
    fn encode_by_ref(&self, buf: &mut SqliteArgumentsBuffer) -> Result<IsNull, BoxDynError> {
        let s = self.0.to_offset(UtcOffset::UTC).format(SQLITE_FORMAT)?;
        Encode::<Sqlite>::encode(s, buf)
    }
}

impl<'r> Decode<'r, Sqlite> for Utc {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        let t = <OffsetDateTime as Decode<Sqlite>>::decode(value)?;
        Ok(Utc(t.to_offset(UtcOffset::UTC)))
    }
}

impl Type<Postgres> for Utc {
    fn type_info() -> PgTypeInfo {
        <OffsetDateTime as Type<Postgres>>::type_info()
    }
    fn compatible(ty: &PgTypeInfo) -> bool {
        <OffsetDateTime as Type<Postgres>>::compatible(ty)
    }
}

impl Encode<'_, Postgres> for Utc {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        Encode::<Postgres>::encode_by_ref(&self.0, buf)
    }
}

impl<'r> Decode<'r, Postgres> for Utc {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        let t = <OffsetDateTime as Decode<Postgres>>::decode(value)?;
        Ok(Utc(t.to_offset(UtcOffset::UTC)))
    }
}
