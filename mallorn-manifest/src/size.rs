//! Byte sizes and addresses as a firmware engineer writes them.
//!
//! Accepted: TOML integers (`4096`, `0x0800_0000`, `0o7`, `0b1`) and strings holding a decimal
//! or `0x` hex number with an optional IEC unit: `"4096"`, `"4096B"`, `"4KiB"`, `"1 MiB"`,
//! `"2GiB"`, `"0x1000"`. SI-looking units (`K`, `KB`, `MB`, ...) are refused because their
//! meaning (1000 or 1024) is ambiguous, and fractions are refused because flash sizes are whole
//! bytes.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::de_error::message_with_hint;

/// A number of bytes (or a byte offset/address) written as an integer or an IEC size string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ByteSize(pub u64);

/// Why a size string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid size `{text}`: {reason}")]
pub struct SizeError {
    /// The text as written.
    pub text: String,
    /// What is wrong with it.
    pub reason: String,
    /// How to write it instead.
    pub hint: String,
}

const UNITS: [(&str, u64); 4] = [
    ("B", 1),
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
];

/// Parses a size string such as `"4KiB"`, `"1536 KiB"`, `"0x800"` or `"4096"`.
pub fn parse_size(text: &str) -> Result<u64, SizeError> {
    let fail = |reason: &str, hint: &str| SizeError {
        text: text.to_owned(),
        reason: reason.to_owned(),
        hint: hint.to_owned(),
    };
    let usage =
        "write a whole number of bytes, optionally with B, KiB, MiB or GiB, e.g. \"512KiB\"";
    let trimmed = text.trim();
    let (digits, radix, rest) = if let Some(hex) = trimmed
        .strip_prefix("0x")
        .or_else(|| trimmed.strip_prefix("0X"))
    {
        let end = hex
            .find(|c: char| !(c.is_ascii_hexdigit() || c == '_'))
            .unwrap_or(hex.len());
        (&hex[..end], 16, &hex[end..])
    } else {
        let end = trimmed
            .find(|c: char| !(c.is_ascii_digit() || c == '_'))
            .unwrap_or(trimmed.len());
        (&trimmed[..end], 10, &trimmed[end..])
    };
    let digits = digits.replace('_', "");
    if digits.is_empty() {
        return Err(fail("it does not start with a number", usage));
    }
    if rest.starts_with('.') {
        return Err(fail(
            "fractions are not supported",
            "use a smaller unit instead, e.g. \"1536KiB\" rather than \"1.5MiB\"",
        ));
    }
    let unit = rest.trim_start();
    let multiplier = if unit.is_empty() {
        1
    } else if let Some((_, factor)) = UNITS.iter().find(|(name, _)| *name == unit) {
        if radix == 16 {
            return Err(fail(
                "hexadecimal numbers cannot carry a unit",
                "write the hex number alone (bytes), or a decimal number with a unit",
            ));
        }
        *factor
    } else {
        let iec = match unit.to_ascii_lowercase().chars().next() {
            Some('k') => Some("KiB"),
            Some('m') => Some("MiB"),
            Some('g') => Some("GiB"),
            Some('b') => Some("B"),
            _ => None,
        };
        let hint = match iec {
            Some(iec) => format!(
                "`{unit}` is ambiguous (1000 or 1024?); write `{iec}` for multiples of 1024 bytes"
            ),
            None => usage.to_owned(),
        };
        return Err(fail(&format!("unknown unit `{unit}`"), &hint));
    };
    let number = u64::from_str_radix(&digits, radix)
        .map_err(|_| fail("the number does not fit in 64 bits", usage))?;
    number
        .checked_mul(multiplier)
        .ok_or_else(|| fail("the size does not fit in 64 bits", usage))
}

/// Formats `bytes` the way Mallorn prints sizes: `512 KiB`, `8 MiB`, `1000 bytes`.
pub fn format_size(bytes: u64) -> String {
    for (name, factor) in UNITS.iter().rev() {
        if *factor > 1 && bytes >= *factor && bytes % factor == 0 {
            return format!("{} {name}", bytes / factor);
        }
    }
    if bytes == 1 {
        "1 byte".to_owned()
    } else {
        format!("{bytes} bytes")
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_size(self.0))
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SizeVisitor;

        impl Visitor<'_> for SizeVisitor {
            type Value = ByteSize;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size: a non-negative integer or a string like \"4KiB\"")
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ByteSize, E> {
                Ok(ByteSize(v))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ByteSize, E> {
                u64::try_from(v).map(ByteSize).map_err(|_| {
                    E::custom(message_with_hint(
                        &format!("invalid size {v}: sizes and offsets cannot be negative"),
                        "offsets are counted from the start of flash (`base`), so they are >= 0",
                    ))
                })
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<ByteSize, E> {
                Err(E::custom(message_with_hint(
                    &format!("invalid size {v}: sizes are whole numbers of bytes"),
                    "use a smaller unit instead, e.g. \"1536KiB\" rather than 1.5MiB",
                )))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<ByteSize, E> {
                parse_size(v)
                    .map(ByteSize)
                    .map_err(|err| E::custom(message_with_hint(&err.to_string(), &err.hint)))
            }
        }

        deserializer.deserialize_any(SizeVisitor)
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(self.0)
    }
}

impl JsonSchema for ByteSize {
    fn schema_name() -> Cow<'static, str> {
        "ByteSize".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> schemars::Schema {
        json_schema!({
            "description": "A number of bytes: an integer (`4096`, `0x0800_0000`) or a string with an IEC unit (`\"4KiB\"`, `\"1 MiB\"`, `\"2GiB\"`).",
            "anyOf": [
                { "type": "integer", "minimum": 0 },
                {
                    "type": "string",
                    "pattern": "^\\s*(0[xX][0-9A-Fa-f_]+|[0-9][0-9_]*\\s*(B|KiB|MiB|GiB)?)\\s*$"
                }
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_hex_and_iec_sizes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("4096B"), Ok(4096));
        assert_eq!(parse_size("4KiB"), Ok(4096));
        assert_eq!(parse_size(" 1536 KiB "), Ok(1536 * 1024));
        assert_eq!(parse_size("8MiB"), Ok(8 << 20));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("0x0800_0000"), Ok(0x0800_0000));
        assert_eq!(parse_size("1_000"), Ok(1000));
    }

    #[test]
    fn refuses_ambiguous_units_with_the_iec_spelling_as_hint() {
        let err = parse_size("4KB").unwrap_err();
        assert_eq!(err.reason, "unknown unit `KB`");
        assert!(err.hint.contains("`KiB`"), "{}", err.hint);
        assert!(parse_size("512K").unwrap_err().hint.contains("`KiB`"));
        assert!(parse_size("1mb").unwrap_err().hint.contains("`MiB`"));
        assert!(parse_size("4 kib").is_err(), "units are case-sensitive");
    }

    #[test]
    fn refuses_fractions_garbage_and_overflow() {
        assert!(parse_size("1.5MiB").unwrap_err().hint.contains("1536KiB"));
        assert!(parse_size("").is_err());
        assert!(parse_size("KiB").is_err());
        assert!(parse_size("-4").is_err());
        assert!(parse_size("0x10KiB").is_err());
        assert!(parse_size("99999999999999999999").is_err());
        assert!(parse_size("17179869184GiB").is_err());
    }

    #[test]
    fn formats_with_the_largest_exact_unit() {
        assert_eq!(format_size(512 * 1024), "512 KiB");
        assert_eq!(format_size(8 << 20), "8 MiB");
        assert_eq!(format_size(1536 * 1024), "1536 KiB");
        assert_eq!(format_size(1000), "1000 bytes");
        assert_eq!(format_size(1), "1 byte");
        assert_eq!(format_size(0), "0 bytes");
    }

    #[test]
    fn deserializes_from_toml_integers_and_strings() {
        #[derive(Deserialize)]
        struct Probe {
            a: ByteSize,
            b: ByteSize,
            c: ByteSize,
        }
        let probe: Probe = toml::from_str("a = 0x0800_0000\nb = \"4KiB\"\nc = 12").unwrap();
        assert_eq!((probe.a.0, probe.b.0, probe.c.0), (0x0800_0000, 4096, 12));
        let err = toml::from_str::<Probe>("a = -1\nb = 1\nc = 1")
            .err()
            .unwrap();
        assert!(err.message().contains("cannot be negative"), "{err}");
    }
}
