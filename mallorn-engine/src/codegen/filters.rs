//! Filters the templates use to print numbers, byte arrays and strings in C, Rust and linker
//! script syntax. They are part of the template interface (`docs/generated-files.md`).

use minijinja::{Error, ErrorKind, Value};

/// Registers every filter on `env`.
pub fn register(env: &mut minijinja::Environment<'_>) {
    env.add_filter("hex", hex);
    env.add_filter("bytes", bytes);
    env.add_filter("rust_str", rust_str);
    env.add_filter("c_str", c_str);
    env.add_filter("comment", comment);
}

/// `4096 | hex` -> `0x00001000`: 8 digits up to 32 bits, 16 beyond.
fn hex(value: u64) -> String {
    if value <= u64::from(u32::MAX) {
        format!("{value:#010x}")
    } else {
        format!("{value:#018x}")
    }
}

/// `[1, 2] | bytes` -> `0x01, 0x02`; refuses anything that is not a list of bytes.
fn bytes(value: Value) -> Result<String, Error> {
    let mut out = Vec::new();
    for item in value.try_iter()? {
        let byte = u8::try_from(item.clone()).map_err(|_| {
            Error::new(
                ErrorKind::InvalidOperation,
                format!("`bytes` needs a list of bytes, found {item}"),
            )
        })?;
        out.push(format!("{byte:#04x}"));
    }
    Ok(out.join(", "))
}

/// A Rust string literal (quotes included).
fn rust_str(value: &str) -> String {
    format!("{value:?}")
}

/// A C string literal (quotes included): backslash and quote escaped, anything outside
/// printable ASCII as an octal escape (never ambiguous, unlike `\x`).
fn c_str(value: &str) -> String {
    let mut out = String::from("\"");
    for byte in value.bytes() {
        match byte {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(byte as char),
            _ => out.push_str(&format!("\\{byte:03o}")),
        }
    }
    out.push('"');
    out
}

/// Text that is safe inside a `/* */` or `//` comment: one line, no comment terminator.
fn comment(value: &str) -> String {
    value.replace("*/", "* /").replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_numbers_bytes_and_strings() {
        assert_eq!(hex(0x0800_0000), "0x08000000");
        assert_eq!(hex(1 << 32), "0x0000000100000000");
        assert_eq!(
            bytes(Value::from(vec![0x1fu8, 0, 255])).unwrap(),
            "0x1f, 0x00, 0xff"
        );
        assert!(bytes(Value::from(vec![256u32])).is_err());
        assert_eq!(c_str("a\"b\\c\u{e9}"), "\"a\\\"b\\\\c\\303\\251\"");
        assert_eq!(rust_str("a\"b"), "\"a\\\"b\"");
        assert_eq!(comment("x */ y\nz"), "x * / y z");
    }
}
