//! A minimal protobuf wire-format walker that keeps absolute file offsets: it yields each
//! field's number, value and where its payload lies, without decoding into messages.

/// The value of one field as it appears on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 1.
    Fixed64(u64),
    /// Wire type 5.
    Fixed32(u32),
    /// Wire type 2: a string, bytes, nested message or packed repeated field.
    Bytes {
        /// Absolute offset of the payload (after tag and length).
        offset: u64,
        /// The payload.
        data: &'a [u8],
    },
}

/// One field: its number, where its tag starts, and its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Field<'a> {
    pub(crate) number: u32,
    pub(crate) tag_offset: u64,
    pub(crate) value: Value<'a>,
}

/// A malformed field: where and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WireError {
    pub(crate) offset: u64,
    pub(crate) reason: String,
}

/// Iterates over the fields of one message body, stopping at the first error.
pub(crate) struct Fields<'a> {
    data: &'a [u8],
    /// Absolute offset of `data[0]` in the file.
    base: u64,
    pos: usize,
    failed: bool,
}

impl<'a> Fields<'a> {
    /// Walks `data`, whose first byte is at absolute file offset `base`.
    pub(crate) fn new(data: &'a [u8], base: u64) -> Self {
        Fields {
            data,
            base,
            pos: 0,
            failed: false,
        }
    }

    fn error(
        &mut self,
        at: usize,
        reason: impl Into<String>,
    ) -> Option<Result<Field<'a>, WireError>> {
        self.failed = true;
        Some(Err(WireError {
            offset: self.base + at as u64,
            reason: reason.into(),
        }))
    }
}

/// Decodes a varint at `pos`; returns the value and the position after it.
pub(crate) fn read_varint(data: &[u8], pos: usize) -> Result<(u64, usize), String> {
    let mut value = 0u64;
    for i in 0..10 {
        let Some(&byte) = data.get(pos + i) else {
            return Err("varint runs past the end of its message".to_owned());
        };
        if i == 9 && byte > 1 {
            return Err("varint longer than 64 bits".to_owned());
        }
        value |= u64::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok((value, pos + i + 1));
        }
    }
    Err("varint longer than 10 bytes".to_owned())
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<Field<'a>, WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.data.len() {
            return None;
        }
        let tag_at = self.pos;
        let (tag, after_tag) = match read_varint(self.data, self.pos) {
            Ok(v) => v,
            Err(reason) => return self.error(tag_at, reason),
        };
        let number = tag >> 3;
        if number == 0 || number > u64::from(u32::MAX >> 3) {
            return self.error(tag_at, format!("invalid field number {number}"));
        }
        let number = number as u32;
        let tag_offset = self.base + tag_at as u64;
        match self.value(tag & 7, number, tag_at, after_tag) {
            Ok((value, next)) => {
                self.pos = next;
                Some(Ok(Field {
                    number,
                    tag_offset,
                    value,
                }))
            }
            Err((at, reason)) => self.error(at, reason),
        }
    }
}

/// A malformed value: where it goes wrong (a position in the message) and why.
type ValueError = (usize, String);

impl<'a> Fields<'a> {
    /// Reads the value of field `number`, of wire type `wire_type`, that starts at `at` (its
    /// tag at `tag_at`); returns it and the position after it.
    fn value(
        &self,
        wire_type: u64,
        number: u32,
        tag_at: usize,
        at: usize,
    ) -> Result<(Value<'a>, usize), ValueError> {
        match wire_type {
            0 => read_varint(self.data, at)
                .map(|(v, next)| (Value::Varint(v), next))
                .map_err(|reason| (at, reason)),
            1 => self
                .fixed::<8>(at, number, "fixed64")
                .map(|(raw, next)| (Value::Fixed64(u64::from_le_bytes(raw)), next)),
            5 => self
                .fixed::<4>(at, number, "fixed32")
                .map(|(raw, next)| (Value::Fixed32(u32::from_le_bytes(raw)), next)),
            2 => self.length_delimited(at, number),
            3 | 4 => Err((
                tag_at,
                format!("field {number}: protobuf groups are not used by ONNX"),
            )),
            other => Err((tag_at, format!("field {number}: invalid wire type {other}"))),
        }
    }

    /// The `N` bytes of a fixed-width value at `at`, and the position after them.
    fn fixed<const N: usize>(
        &self,
        at: usize,
        number: u32,
        what: &str,
    ) -> Result<([u8; N], usize), ValueError> {
        match self.data.get(at..at + N) {
            Some(b) => {
                let mut raw = [0u8; N];
                raw.copy_from_slice(b);
                Ok((raw, at + N))
            }
            None => Err((
                at,
                format!("field {number}: {what} runs past the end of its message"),
            )),
        }
    }

    /// A length-delimited value at `at`: a varint length, then that many bytes, which must
    /// lie in the message.
    fn length_delimited(&self, at: usize, number: u32) -> Result<(Value<'a>, usize), ValueError> {
        let (len, start) = read_varint(self.data, at).map_err(|reason| (at, reason))?;
        let available = (self.data.len() - start) as u64;
        if len > available {
            return Err((
                at,
                format!(
                    "field {number}: length {len} exceeds the {available} bytes left in its message"
                ),
            ));
        }
        let end = start + len as usize;
        let value = Value::Bytes {
            offset: self.base + start as u64,
            data: &self.data[start..end],
        };
        Ok((value, end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_fields_with_offsets() {
        // field 1 varint 150, field 9 bytes "abc", field 4 fixed32, field 10 fixed64
        let mut msg = vec![0x08, 0x96, 0x01, 0x4A, 3, b'a', b'b', b'c', 0x25];
        msg.extend_from_slice(&1.5f32.to_le_bytes());
        msg.push(0x51);
        msg.extend_from_slice(&7u64.to_le_bytes());
        let fields: Vec<_> = Fields::new(&msg, 100).collect::<Result<_, _>>().unwrap();
        assert_eq!(fields[0].value, Value::Varint(150));
        assert_eq!(
            fields[1].value,
            Value::Bytes {
                offset: 105,
                data: b"abc"
            }
        );
        assert_eq!(fields[1].tag_offset, 103);
        assert_eq!(fields[2].value, Value::Fixed32(1.5f32.to_bits()));
        assert_eq!(fields[3].value, Value::Fixed64(7));
    }

    #[test]
    fn reports_malformed_input_once() {
        for bad in [
            &[0x4A, 10, 1][..],
            &[0x08][..],
            &[0x0B][..],
            &[0x00][..],
            &[0xFF; 11][..],
            &[0x0F][..],
        ] {
            let mut it = Fields::new(bad, 0);
            assert!(matches!(it.next(), Some(Err(_))), "{bad:?}");
            assert!(it.next().is_none());
        }
        assert!(
            read_varint(
                &[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02],
                0
            )
            .is_err()
        );
        assert_eq!(
            read_varint(
                &[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],
                0
            )
            .unwrap()
            .0,
            u64::MAX
        );
    }
}
