//! GGUF v2/v3 parser: header, metadata key/values (walked to find their end and
//! `general.alignment`), tensor infos, and the aligned data section.
//!
//! Layout (ggml docs/gguf.md): magic `GGUF`, u32 version, u64 tensor_count, u64 kv_count, the
//! KV pairs, the tensor infos, zero padding to the alignment, then tensor data. Tensor offsets
//! are relative to the data section and must be multiples of the alignment. Unlike ggml's own
//! reader, tensors may appear in any order (ggml requires info order); they must not overlap.

use std::borrow::Cow;

use super::dtype::DType;
use super::error::{ErrorKind, ModelError};
use super::format::Format;
use super::map::{MapBuilder, ModelMap, TensorRegion};
use super::reader::Reader;

const FORMAT: Format = Format::Gguf;
/// ggml's `GGML_MAX_DIMS`.
const MAX_DIMS: u32 = 4;
/// Default `general.alignment`.
const DEFAULT_ALIGNMENT: u64 = 32;
/// Nested arrays deeper than this are rejected (ggml itself rejects any nesting).
const MAX_ARRAY_DEPTH: u32 = 8;

/// Metadata value type ids.
const TYPE_UINT32: u32 = 4;
const TYPE_STRING: u32 = 8;
const TYPE_ARRAY: u32 = 9;

/// Smallest encodings, used to bound counts before looping: a KV pair is an empty key (8),
/// a type (4) and a 1-byte value; a tensor info is an empty name (8), n_dims (4), type (4) and
/// offset (8).
const MIN_KV_BYTES: u64 = 13;
const MIN_TENSOR_INFO_BYTES: u64 = 24;

/// Maps a GGUF file.
pub fn parse(bytes: &[u8]) -> Result<ModelMap<'_>, ModelError> {
    let mut r = Reader::new(FORMAT, bytes);
    read_magic_and_version(&mut r)?;
    let tensor_count = r.u64("tensor_count")?;
    let kv_count = r.u64("metadata_kv_count")?;
    r.check_count(kv_count, MIN_KV_BYTES, "metadata_kv_count")?;
    let alignment = read_metadata(&mut r, kv_count)?;

    r.check_count(tensor_count, MIN_TENSOR_INFO_BYTES, "tensor_count")?;
    let mut infos = Vec::with_capacity(tensor_count as usize);
    for _ in 0..tensor_count {
        infos.push(read_tensor_info(&mut r)?);
    }

    let data_start = r.pos().div_ceil(alignment) * alignment;
    if data_start > bytes.len() as u64 && tensor_count > 0 {
        return Err(r.error(ErrorKind::Truncated {
            what: "padding before the tensor data",
            needed: data_start - r.pos(),
            available: r.remaining(),
        }));
    }

    let mut map = MapBuilder::new(FORMAT, bytes.len() as u64);
    let mut declared_bytes = 0u64;
    for info in infos {
        let offset = tensor_offset(&info, data_start, alignment)?;
        declared_bytes += info.nbytes;
        let shape = info.ne.iter().rev().copied().collect();
        map.tensor(TensorRegion {
            name: info.name,
            aliases: Vec::new(),
            dtype: info.dtype,
            shape,
            offset,
            len: info.nbytes,
            quant: None,
            layout: info.dtype.layout(),
            sparse: false,
        })?;
    }
    map.declare(tensor_count, declared_bytes);
    map.finish()
}

/// Reads the magic and the version: GGUF 2 or 3, little-endian.
fn read_magic_and_version(r: &mut Reader<'_>) -> Result<(), ModelError> {
    let magic = r.take(4, "magic")?;
    if magic != b"GGUF" {
        return Err(ModelError::invalid(FORMAT, 0, "missing GGUF magic"));
    }
    let version = r.u32("version")?;
    if version & 0xFFFF == 0 && version != 0 {
        return Err(r.error(ErrorKind::UnsupportedVersion {
            version: u64::from(version.swap_bytes()),
            hint: "this is a big-endian GGUF file; only little-endian files are supported",
        }));
    }
    if !(2..=3).contains(&version) {
        return Err(ModelError::new(
            FORMAT,
            4,
            ErrorKind::UnsupportedVersion {
                version: u64::from(version),
                hint: "GGUF versions 2 and 3 are supported",
            },
        ));
    }
    Ok(())
}

/// Reads the `kv_count` metadata pairs; returns the data alignment (`general.alignment`, a
/// power of two, or the default).
fn read_metadata(r: &mut Reader<'_>, kv_count: u64) -> Result<u64, ModelError> {
    let mut alignment = DEFAULT_ALIGNMENT;
    for _ in 0..kv_count {
        let key = read_string(r, "metadata key")?;
        let value_type = r.u32("metadata value type")?;
        if key == b"general.alignment" {
            let at = r.pos();
            if value_type != TYPE_UINT32 {
                return Err(ModelError::invalid(
                    FORMAT,
                    at,
                    "general.alignment must be a uint32",
                ));
            }
            let value = u64::from(r.u32("general.alignment")?);
            if value == 0 || !value.is_power_of_two() {
                return Err(ModelError::invalid(
                    FORMAT,
                    at,
                    format!("general.alignment is {value}; it must be a power of two"),
                ));
            }
            alignment = value;
        } else {
            skip_value(r, value_type, 0)?;
        }
    }
    Ok(alignment)
}

/// The file offset of a tensor's data: its offset (a multiple of `alignment`) after
/// `data_start`.
fn tensor_offset(
    info: &TensorInfo<'_>,
    data_start: u64,
    alignment: u64,
) -> Result<u64, ModelError> {
    if info.relative_offset % alignment != 0 {
        return Err(ModelError::invalid(
            FORMAT,
            info.at,
            format!(
                "tensor `{}` has offset {}, not a multiple of the alignment {alignment}",
                info.name, info.relative_offset
            ),
        ));
    }
    data_start.checked_add(info.relative_offset).ok_or_else(|| {
        ModelError::invalid(
            FORMAT,
            info.at,
            format!("tensor `{}` offset overflows", info.name),
        )
    })
}

struct TensorInfo<'a> {
    /// Offset of the tensor info in the file, for error messages.
    at: u64,
    name: Cow<'a, str>,
    /// ggml `ne[]`: innermost dimension first.
    ne: Vec<u64>,
    dtype: DType,
    relative_offset: u64,
    nbytes: u64,
}

fn read_tensor_info<'a>(r: &mut Reader<'a>) -> Result<TensorInfo<'a>, ModelError> {
    let at = r.pos();
    let name = String::from_utf8_lossy(read_string(r, "tensor name")?);
    let n_dims = r.u32("tensor n_dims")?;
    if n_dims > MAX_DIMS {
        return Err(ModelError::invalid(
            FORMAT,
            at,
            format!("tensor `{name}` has {n_dims} dimensions; ggml allows at most {MAX_DIMS}"),
        ));
    }
    let mut ne = Vec::with_capacity(n_dims as usize);
    for _ in 0..n_dims {
        ne.push(r.u64("tensor dimension")?);
    }
    let type_id = r.u32("tensor type")?;
    let dtype = DType::from_ggml(type_id).ok_or_else(|| {
        r.error(ErrorKind::UnknownDType {
            code: format!("ggml type {type_id}"),
            tensor: name.to_string(),
        })
    })?;
    let relative_offset = r.u64("tensor offset")?;

    let elements = ne.iter().try_fold(1u64, |acc, &d| {
        acc.checked_mul(d).filter(|&n| n <= i64::MAX as u64)
    });
    let nbytes = match (elements, ne.first()) {
        (Some(n), first) => {
            let (block, _) = block_shape(dtype);
            if first.copied().unwrap_or(1) % block != 0 {
                return Err(ModelError::invalid(
                    FORMAT,
                    at,
                    format!("tensor `{name}`: first dimension {} is not a multiple of the {dtype} block size {block}", first.copied().unwrap_or(1)),
                ));
            }
            dtype.storage_bytes(n)
        }
        (None, _) => None,
    }
    .ok_or_else(|| ModelError::invalid(FORMAT, at, format!("tensor `{name}`: element count overflows")))?;
    Ok(TensorInfo {
        at,
        name,
        ne,
        dtype,
        relative_offset,
        nbytes,
    })
}

/// (elements per block, bytes per block) of a GGML-stored dtype.
fn block_shape(dtype: DType) -> (u64, u64) {
    match dtype {
        DType::Ggml(t) => (
            u64::from(t.info().block_elements),
            u64::from(t.info().block_bytes),
        ),
        other => (1, other.layout().unit_bytes()),
    }
}

fn read_string<'a>(r: &mut Reader<'a>, what: &'static str) -> Result<&'a [u8], ModelError> {
    let len = r.u64(what)?;
    r.take(len, what)
}

/// Size of a fixed-size metadata value type, `None` for strings, arrays and unknown types.
fn fixed_size(value_type: u32) -> Option<u64> {
    match value_type {
        0 | 1 | 7 => Some(1), // u8, i8, bool
        2 | 3 => Some(2),     // u16, i16
        4..=6 => Some(4),     // u32, i32, f32
        10..=12 => Some(8),   // u64, i64, f64
        _ => None,
    }
}

fn skip_value(r: &mut Reader<'_>, value_type: u32, depth: u32) -> Result<(), ModelError> {
    if let Some(size) = fixed_size(value_type) {
        r.take(size, "metadata value")?;
        return Ok(());
    }
    match value_type {
        TYPE_STRING => {
            read_string(r, "metadata string")?;
        }
        TYPE_ARRAY => {
            if depth >= MAX_ARRAY_DEPTH {
                return Err(r.error(ErrorKind::TooDeep {
                    limit: MAX_ARRAY_DEPTH,
                }));
            }
            let element_type = r.u32("array element type")?;
            let count = r.u64("array length")?;
            if let Some(size) = fixed_size(element_type) {
                let total = count.saturating_mul(size);
                r.take(total, "metadata array")?;
            } else {
                let min_element = match element_type {
                    TYPE_STRING => 8,
                    TYPE_ARRAY => 12,
                    other => {
                        return Err(r.error(ErrorKind::Invalid(format!(
                            "unknown metadata value type {other}"
                        ))));
                    }
                };
                r.check_count(count, min_element, "metadata array length")?;
                for _ in 0..count {
                    skip_value(r, element_type, depth + 1)?;
                }
            }
        }
        other => {
            return Err(r.error(ErrorKind::Invalid(format!(
                "unknown metadata value type {other}"
            ))));
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::dtype::GgmlType;

    /// Builds a small GGUF file: one string KV, an array KV, optional alignment, then tensors
    /// `(name, ne, type id)` laid out in order with padding.
    pub(crate) fn build(alignment: Option<u32>, tensors: &[(&str, &[u64], u32)]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(b"GGUF");
        out.extend_from_slice(&3u32.to_le_bytes());
        out.extend_from_slice(&(tensors.len() as u64).to_le_bytes());
        let kv = 2 + u64::from(alignment.is_some());
        out.extend_from_slice(&kv.to_le_bytes());
        let string = |out: &mut Vec<u8>, s: &str| {
            out.extend_from_slice(&(s.len() as u64).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        };
        string(&mut out, "general.name");
        out.extend_from_slice(&TYPE_STRING.to_le_bytes());
        string(&mut out, "tiny");
        string(&mut out, "tokenizer.scores");
        out.extend_from_slice(&TYPE_ARRAY.to_le_bytes());
        out.extend_from_slice(&6u32.to_le_bytes());
        out.extend_from_slice(&2u64.to_le_bytes());
        out.extend_from_slice(&[0; 8]);
        if let Some(a) = alignment {
            string(&mut out, "general.alignment");
            out.extend_from_slice(&TYPE_UINT32.to_le_bytes());
            out.extend_from_slice(&a.to_le_bytes());
        }
        let align = u64::from(alignment.unwrap_or(32));
        let mut offset = 0u64;
        let mut sizes = Vec::new();
        for (name, ne, ty) in tensors {
            string(&mut out, name);
            out.extend_from_slice(&(ne.len() as u32).to_le_bytes());
            for d in *ne {
                out.extend_from_slice(&d.to_le_bytes());
            }
            out.extend_from_slice(&ty.to_le_bytes());
            out.extend_from_slice(&offset.to_le_bytes());
            let n: u64 = ne.iter().product();
            let size = DType::from_ggml(*ty).unwrap().storage_bytes(n).unwrap();
            sizes.push(size);
            offset += size.div_ceil(align) * align;
        }
        while out.len() as u64 % align != 0 {
            out.push(0);
        }
        for size in sizes {
            let start = out.len();
            out.extend((0..size).map(|i| (i % 251) as u8));
            while (out.len() - start) as u64 % align != 0 {
                out.push(0);
            }
        }
        out
    }

    #[test]
    fn maps_tensors_with_blocks_and_alignment() {
        let file = build(
            Some(64),
            &[("tok", &[64, 3], 8), ("norm", &[5], 0), ("k", &[256], 12)],
        );
        let map = parse(&file).unwrap();
        map.check_tiling().unwrap();
        let tensors: Vec<_> = map.tensors().collect();
        assert_eq!(tensors.len(), 3);
        assert_eq!(tensors[0].dtype, DType::Ggml(GgmlType::Q8_0));
        assert_eq!(tensors[0].shape, vec![3, 64]);
        assert_eq!(tensors[0].len, 3 * 2 * 34);
        assert_eq!(tensors[0].offset % 64, 0);
        assert_eq!(tensors[1].len, 20);
        assert_eq!(tensors[2].len, 144);
        assert_eq!(map.declared.tensors, 3);
        assert_eq!(map.declared.data_bytes, 204 + 20 + 144);
    }

    #[test]
    fn rejects_bad_headers() {
        let good = build(None, &[("a", &[32], 8)]);
        let mut v1 = good.clone();
        v1[4] = 1;
        assert!(matches!(
            parse(&v1).unwrap_err().kind,
            ErrorKind::UnsupportedVersion { .. }
        ));
        let mut big_endian = good.clone();
        big_endian[4..8].copy_from_slice(&3u32.to_be_bytes());
        assert!(
            parse(&big_endian)
                .unwrap_err()
                .to_string()
                .contains("big-endian")
        );
        let mut many = good.clone();
        many[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(
            parse(&many).unwrap_err().kind,
            ErrorKind::Implausible { .. }
        ));
        let unknown_type = build(None, &[("a", &[32], 8)]);
        let pos = unknown_type
            .windows(4)
            .rposition(|w| w == 8u32.to_le_bytes())
            .unwrap();
        let mut bad = unknown_type.clone();
        bad[pos..pos + 4].copy_from_slice(&4u32.to_le_bytes());
        let err = parse(&bad).unwrap_err();
        assert!(matches!(err.kind, ErrorKind::UnknownDType { .. }), "{err}");
        let data_end = parse(&good)
            .unwrap()
            .tensors()
            .map(|t| t.offset + t.len)
            .max()
            .unwrap();
        for cut in 0..good.len() {
            // Padding after the last tensor is optional; anything shorter loses data.
            assert_eq!(
                parse(&good[..cut]).is_ok(),
                cut as u64 >= data_end,
                "truncated at {cut}"
            );
        }
    }

    #[test]
    fn rejects_misaligned_and_partial_block_tensors() {
        let partial = build(None, &[("a", &[32, 2], 8)]);
        let mut bad = partial.clone();
        let pos = bad
            .windows(8)
            .position(|w| w == 32u64.to_le_bytes())
            .unwrap();
        bad[pos..pos + 8].copy_from_slice(&16u64.to_le_bytes());
        assert!(parse(&bad).unwrap_err().to_string().contains("block size"));
    }
}
