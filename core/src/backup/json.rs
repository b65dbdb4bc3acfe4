//! Lenient readers for the values of milvus-backup's meta JSON, shared by the meta and schema
//! models: `null` as the default, and integers written by Go's `encoding/json` (numbers) or by
//! protobuf's JSON mapping (decimal strings).

use serde::{Deserialize, Deserializer};

/// Reads `null` (or an absent value) as the type's default.
pub(crate) fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A 64-bit integer as Go's `encoding/json` writes it (a number) or as protobuf's JSON mapping
/// does (a decimal string); `null` reads as 0. Anything else — a float, a number out of range, a
/// string that is not an integer — is an error.
pub(crate) fn int<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum IntOrString {
        Int(i64),
        Text(String),
    }
    match Option::<IntOrString>::deserialize(d)? {
        None => Ok(0),
        Some(IntOrString::Int(n)) => Ok(n),
        Some(IntOrString::Text(s)) => s
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("{s:?} is not a 64-bit integer"))),
    }
}

/// A 32-bit integer, read as [`int`] reads (protobuf JSON writes these as numbers, but tools
/// that re-emit meta are not always that careful).
pub(crate) fn int32<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    let n = int(d)?;
    i32::try_from(n).map_err(|_| serde::de::Error::custom(format!("{n} is out of range")))
}
