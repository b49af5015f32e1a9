//! safetensors parser: u64 header length, JSON header, and a byte buffer that the header's
//! `data_offsets` must index completely, without gaps, overlaps or trailing bytes.
//!
//! Tensor names are borrowed from the header when they contain no JSON escapes.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};

use super::dtype::DType;
use super::error::{ErrorKind, ModelError};
use super::format::Format;
use super::map::{MapBuilder, ModelMap, TensorRegion};
use super::reader::Reader;

const FORMAT: Format = Format::Safetensors;
/// The reference implementation's `MAX_HEADER_SIZE`.
pub(crate) const MAX_HEADER_LEN: u64 = 100_000_000;

/// Maps a safetensors file.
pub fn parse(bytes: &[u8]) -> Result<ModelMap<'_>, ModelError> {
    let (header_len, mut entries) = read_header(bytes)?;
    let data_start = 8 + header_len;
    let buffer = DataBuffer {
        start: data_start,
        len: bytes.len() as u64 - data_start,
        file_len: bytes.len() as u64,
    };
    // Validate like the reference implementation: sorted by offsets, each tensor starts where
    // the previous one ended, and the last one ends at the end of the file.
    entries.sort_by_key(|e| (e.begin, e.end));
    let mut expected_start = 0u64;
    let mut map = MapBuilder::new(FORMAT, bytes.len() as u64);
    let entry_count = entries.len() as u64;
    for entry in entries {
        let (at, len) = buffer.place(&entry, expected_start)?;
        expected_start = entry.end;
        map.tensor(TensorRegion {
            name: entry.name,
            aliases: Vec::new(),
            dtype: entry.dtype,
            shape: entry.shape,
            offset: at,
            len,
            quant: None,
            layout: entry.dtype.layout(),
            sparse: false,
        })?;
    }
    buffer.check_covered(expected_start)?;
    map.declare(entry_count, buffer.len);
    map.finish()
}

/// The header length and the entries of the JSON header that follows it.
fn read_header(bytes: &[u8]) -> Result<(u64, Vec<Entry<'_>>), ModelError> {
    let mut r = Reader::new(FORMAT, bytes);
    let header_len = r.u64("header length")?;
    if header_len > MAX_HEADER_LEN {
        return Err(ModelError::new(
            FORMAT,
            0,
            ErrorKind::Implausible {
                what: "header length",
                value: header_len,
                file_len: bytes.len() as u64,
            },
        ));
    }
    let header_bytes = r.take(header_len, "JSON header")?;
    let header = std::str::from_utf8(header_bytes).map_err(|e| {
        ModelError::invalid(
            FORMAT,
            8 + e.valid_up_to() as u64,
            "header is not valid UTF-8",
        )
    })?;
    if !header.starts_with('{') {
        return Err(ModelError::invalid(FORMAT, 8, "header must start with `{`"));
    }
    let Header(entries) = serde_json::from_str(header).map_err(|e| {
        ModelError::invalid(
            FORMAT,
            8 + json_error_offset(header, &e),
            format!("header JSON: {e}"),
        )
    })?;
    Ok((header_len, entries))
}

/// The byte buffer after the header, which the entries' `data_offsets` index.
struct DataBuffer {
    /// Its offset in the file.
    start: u64,
    /// Its length.
    len: u64,
    /// The file's length.
    file_len: u64,
}

impl DataBuffer {
    /// Checks that `entry` starts at `expected_start` (where the previous one ended), holds
    /// exactly the bytes its dtype and shape need, and lies in the buffer; returns its offset
    /// in the file and its length.
    fn place(&self, entry: &Entry<'_>, expected_start: u64) -> Result<(u64, u64), ModelError> {
        let at = self.start.saturating_add(entry.begin);
        if entry.begin != expected_start || entry.end < entry.begin {
            let what = if entry.begin > expected_start {
                "leaves a gap before it"
            } else {
                "overlaps the previous tensor"
            };
            return Err(ModelError::invalid(
                FORMAT,
                at,
                format!(
                    "tensor `{}` has data_offsets [{}, {}] and {what} (expected it to start at {expected_start})",
                    entry.name, entry.begin, entry.end
                ),
            ));
        }
        let len = entry.end - entry.begin;
        check_size(entry, at, len)?;
        if entry.end > self.len {
            return Err(ModelError::new(
                FORMAT,
                at,
                ErrorKind::OutOfBounds {
                    what: format!("data of tensor `{}`", entry.name),
                    start: at,
                    end: self.start.saturating_add(entry.end),
                    file_len: self.file_len,
                },
            ));
        }
        Ok((at, len))
    }

    /// Checks that the tensors, which end at `covered`, cover the whole buffer.
    fn check_covered(&self, covered: u64) -> Result<(), ModelError> {
        if covered != self.len {
            return Err(ModelError::invalid(
                FORMAT,
                self.start + covered,
                format!(
                    "the tensors index {covered} bytes of a {}-byte buffer: the rest is not covered by any tensor",
                    self.len
                ),
            ));
        }
        Ok(())
    }
}

/// Checks that `len` bytes at `at` are what `entry`'s dtype and shape need.
fn check_size(entry: &Entry<'_>, at: u64, len: u64) -> Result<(), ModelError> {
    let elements = entry
        .shape
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d));
    let expected = elements.and_then(|n| entry.dtype.storage_bytes(n));
    if expected != Some(len) {
        return Err(ModelError::invalid(
            FORMAT,
            at,
            format!(
                "tensor `{}`: {} of shape {:?} needs {} bytes but data_offsets give {len}",
                entry.name,
                entry.dtype,
                entry.shape,
                expected.map_or_else(|| "an overflowing number of".to_owned(), |n| n.to_string())
            ),
        ));
    }
    Ok(())
}

/// Byte offset into `text` of a serde_json error's line and column.
fn json_error_offset(text: &str, error: &serde_json::Error) -> u64 {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(error.line().saturating_sub(1))
        .map(str::len)
        .sum();
    (line_start + error.column().saturating_sub(1)) as u64
}

struct Entry<'a> {
    name: Cow<'a, str>,
    dtype: DType,
    shape: Vec<u64>,
    begin: u64,
    end: u64,
}

/// The header: tensor entries and an optional string-to-string `__metadata__`.
struct Header<'a>(Vec<Entry<'a>>);

/// A JSON string borrowed from the header unless it contains escapes.
struct Name<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Name<'de> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameVisitor;
        impl<'de> Visitor<'de> for NameVisitor {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a tensor name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_str(NameVisitor)
    }
}

#[derive(Deserialize)]
struct RawEntry<'a> {
    #[serde(borrow)]
    dtype: Cow<'a, str>,
    shape: Vec<u64>,
    data_offsets: (u64, u64),
}

impl<'de: 'a, 'a> Deserialize<'de> for Header<'a> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct HeaderVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for HeaderVisitor<'a> {
            type Value = Header<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of tensor names to {dtype, shape, data_offsets}")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut access: M) -> Result<Header<'a>, M::Error> {
                let mut entries: Vec<Entry<'a>> = Vec::new();
                let mut seen_metadata = false;
                while let Some(Name(name)) = access.next_key::<Name<'de>>()? {
                    if name == "__metadata__" {
                        if seen_metadata {
                            return Err(de::Error::custom("duplicate `__metadata__`"));
                        }
                        seen_metadata = true;
                        access.next_value::<std::collections::BTreeMap<String, String>>()?;
                        continue;
                    }
                    let raw: RawEntry<'de> = access.next_value()?;
                    let dtype = DType::from_safetensors(&raw.dtype).ok_or_else(|| {
                        de::Error::custom(format!(
                            "tensor `{name}` has unknown dtype `{}`",
                            raw.dtype
                        ))
                    })?;
                    entries.push(Entry {
                        name,
                        dtype,
                        shape: raw.shape,
                        begin: raw.data_offsets.0,
                        end: raw.data_offsets.1,
                    });
                }
                let mut names: Vec<&str> = entries.iter().map(|e| e.name.as_ref()).collect();
                names.sort_unstable();
                if let Some(pair) = names.windows(2).find(|w| w[0] == w[1]) {
                    return Err(de::Error::custom(format!("duplicate tensor `{}`", pair[0])));
                }
                Ok(Header(entries))
            }
        }
        deserializer.deserialize_map(HeaderVisitor(std::marker::PhantomData))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a safetensors file from a JSON header and a data buffer.
    pub(crate) fn build(header: &str, data_len: usize) -> Vec<u8> {
        let mut out = (header.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(header.as_bytes());
        out.extend((0..data_len).map(|i| i as u8));
        out
    }

    const GOOD: &str = r#"{"__metadata__":{"format":"pt"},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]},"a":{"dtype":"I8","shape":[4],"data_offsets":[0,4]},"e":{"dtype":"F16","shape":[0,3],"data_offsets":[12,12]}}  "#;

    #[test]
    fn maps_entries_in_offset_order() {
        let file = build(GOOD, 12);
        let map = parse(&file).unwrap();
        map.check_tiling().unwrap();
        let names: Vec<_> = map.tensors().map(|t| t.name.as_ref()).collect();
        assert_eq!(names, ["a", "b"]);
        assert!(matches!(
            map.tensors().next().unwrap().name,
            Cow::Borrowed(_)
        ));
        assert_eq!(map.unmapped_tensors, ["e"]);
        assert_eq!(map.declared.tensors, 3);
        assert_eq!(map.tensor_count(), 3);
        assert_eq!(map.tensor_bytes(), 12);
    }

    #[test]
    fn rejects_gaps_overlaps_trailing_bytes_and_duplicates() {
        assert!(
            parse(&build(GOOD, 13))
                .unwrap_err()
                .to_string()
                .contains("not covered")
        );
        assert!(parse(&build(GOOD, 11)).is_err());
        let gap = GOOD.replace("[4,12]", "[5,13]");
        assert!(
            parse(&build(&gap, 13))
                .unwrap_err()
                .to_string()
                .contains("gap")
        );
        let overlap = GOOD
            .replace("[0,4]", "[0,5]")
            .replace("\"shape\":[4]", "\"shape\":[5]");
        assert!(
            parse(&build(&overlap, 12))
                .unwrap_err()
                .to_string()
                .contains("overlaps")
        );
        let wrong_size = GOOD.replace("\"shape\":[2]", "\"shape\":[3]");
        assert!(
            parse(&build(&wrong_size, 12))
                .unwrap_err()
                .to_string()
                .contains("needs 12 bytes")
        );
        let duplicate = GOOD.replace("\"b\"", "\"a\"");
        assert!(
            parse(&build(&duplicate, 12))
                .unwrap_err()
                .to_string()
                .contains("duplicate")
        );
        let unknown = GOOD.replace("\"I8\"", "\"Q9\"");
        assert!(
            parse(&build(&unknown, 12))
                .unwrap_err()
                .to_string()
                .contains("unknown dtype")
        );
        let huge = GOOD.replace("[0,3]", "[4294967296,4294967296,4294967296]");
        assert!(parse(&build(&huge, 12)).is_err());
    }
}
