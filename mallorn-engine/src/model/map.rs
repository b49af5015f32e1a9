//! The region map of a model file: tensor regions and opaque glue that together tile the file
//! exactly, plus the builder the parsers use to assemble one.

use std::borrow::Cow;

use serde::Serialize;

use super::dtype::{DType, ElementLayout};
use super::error::{ErrorKind, ModelError};
use super::format::Format;

/// A byte-exact map of one model file.
///
/// Invariant (checked by [`ModelMap::check_tiling`]): `regions` are sorted by offset, non-empty,
/// contiguous, and cover `[0, file_len)` exactly. Each byte range is described once: tensors
/// that share bytes (TFLite buffers used by several tensors) appear as one region whose
/// [`TensorRegion::aliases`] name the others.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelMap<'a> {
    /// The format the file was parsed as.
    pub format: Format,
    /// File length in bytes.
    pub file_len: u64,
    /// Tensor and opaque regions tiling the file.
    pub regions: Vec<Region<'a>>,
    /// Tensors whose data lives in other files (ONNX external data, TFLite external buffers).
    pub external: Vec<ExternalTensor<'a>>,
    /// Tensors with data that is not one contiguous range in this file: zero-length tensors,
    /// ONNX string tensors and unpacked repeated fields.
    pub unmapped_tensors: Vec<Cow<'a, str>>,
    /// What the format's own headers declare, for cross-checking the regions.
    pub declared: Declared,
}

/// Counts the format declares, independent of where the regions ended up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Declared {
    /// Tensors that carry data (in this file, in another file, or zero-length). TFLite: tensors
    /// whose buffer is non-empty; GGUF: `tensor_count`; ONNX: every `TensorProto` (initializers,
    /// attribute tensors, sparse values and indices); safetensors: header entries.
    pub tensors: u64,
    /// Bytes of tensor data in this file, each shared range counted once. TFLite: the distinct
    /// non-empty buffers that tensors use; GGUF: the sum of `ggml_nbytes` over tensor infos;
    /// ONNX: `raw_data` plus numeric typed-field payloads (strings excluded); safetensors: the
    /// byte buffer.
    pub data_bytes: u64,
}

/// One region of a [`ModelMap`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Region<'a> {
    /// Tensor data.
    Tensor(TensorRegion<'a>),
    /// Everything else: headers, metadata, FlatBuffer tables, protobuf framing, padding.
    Opaque {
        /// First byte.
        offset: u64,
        /// Length in bytes (never zero).
        len: u64,
    },
}

impl Region<'_> {
    /// First byte of the region.
    pub fn offset(&self) -> u64 {
        match self {
            Region::Tensor(t) => t.offset,
            Region::Opaque { offset, .. } => *offset,
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> u64 {
        match self {
            Region::Tensor(t) => t.len,
            Region::Opaque { len, .. } => *len,
        }
    }

    /// True for a zero-length region (never present in a valid map).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One past the last byte.
    pub fn end(&self) -> u64 {
        self.offset() + self.len()
    }
}

/// The bytes of one tensor (or of one buffer shared by several tensors).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TensorRegion<'a> {
    /// Tensor name (the first tensor's, when several share the bytes).
    pub name: Cow<'a, str>,
    /// Names of other tensors that use exactly these bytes.
    pub aliases: Vec<Cow<'a, str>>,
    /// Element type.
    pub dtype: DType,
    /// Logical shape, outermost dimension first (row-major; for GGUF this is the reverse of the
    /// file's `ne[]` order, so the last dimension is the contiguous one everywhere).
    pub shape: Vec<u64>,
    /// First byte in the file.
    pub offset: u64,
    /// Length in bytes (a whole number of `layout.unit_bytes()`).
    pub len: u64,
    /// Quantisation parameters stored outside the data, where the format has them.
    pub quant: Option<Quantization>,
    /// Byte structure of the stored data (its unit sets which lengths are valid).
    pub layout: ElementLayout,
    /// The data is a sparse encoding (TFLite sparsity, ONNX sparse values/indices): `len` does
    /// not follow from `shape`.
    pub sparse: bool,
}

impl TensorRegion<'_> {
    /// The tensor's bytes within the file it was parsed from.
    pub fn bytes<'f>(&self, file: &'f [u8]) -> &'f [u8] {
        let start = usize::try_from(self.offset).unwrap_or(usize::MAX);
        let end = usize::try_from(self.offset + self.len).unwrap_or(usize::MAX);
        file.get(start..end).unwrap_or(&[])
    }
}

/// Quantisation parameters kept outside the tensor data.
///
/// GGUF block types carry their scales inside the data; [`ElementLayout::Block`] describes
/// those, and `quant` is `None`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Quantization {
    /// `real = scale * (q - zero_point)`, per tensor (one entry) or per channel along `axis`.
    Affine {
        /// Scales.
        scale: Vec<f32>,
        /// Zero points (TFLite stores them as int64).
        zero_point: Vec<i64>,
        /// The per-channel axis, when there is more than one scale.
        axis: Option<u32>,
    },
    /// Scales (and zero points) are other tensors of the same subgraph (TFLite blockwise and
    /// multi-axis quantisation).
    ScaleTensors {
        /// Name of the scale tensor.
        scales: String,
        /// Name of the zero-point tensor, if any.
        zero_points: Option<String>,
        /// Elements per block (0 for per-channel).
        block_size: u32,
        /// Quantised dimensions.
        axes: Vec<i32>,
    },
    /// Format-specific parameters Mallorn does not interpret (TFLite custom quantisation).
    Custom,
}

/// A tensor whose bytes are in another file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExternalTensor<'a> {
    /// Tensor name.
    pub name: Cow<'a, str>,
    /// Element type.
    pub dtype: DType,
    /// Logical shape, outermost first.
    pub shape: Vec<u64>,
    /// The other file: ONNX `location` (relative to the model's directory) or the TFLite
    /// external buffer group name.
    pub location: Cow<'a, str>,
    /// Offset in that file.
    pub offset: u64,
    /// Length in bytes, if the format states it.
    pub len: Option<u64>,
}

impl<'a> ModelMap<'a> {
    /// The map of a file of no known format: one opaque region (none for an empty file).
    pub fn opaque(file_len: u64) -> ModelMap<'a> {
        ModelMap {
            format: Format::Unknown,
            file_len,
            regions: if file_len == 0 {
                Vec::new()
            } else {
                vec![Region::Opaque {
                    offset: 0,
                    len: file_len,
                }]
            },
            external: Vec::new(),
            unmapped_tensors: Vec::new(),
            declared: Declared::default(),
        }
    }

    /// The tensor regions, in file order.
    pub fn tensors(&self) -> impl Iterator<Item = &TensorRegion<'a>> {
        self.regions.iter().filter_map(|r| match r {
            Region::Tensor(t) => Some(t),
            Region::Opaque { .. } => None,
        })
    }

    /// Bytes classified as tensor data.
    pub fn tensor_bytes(&self) -> u64 {
        self.tensors().map(|t| t.len).sum()
    }

    /// Bytes left opaque.
    pub fn opaque_bytes(&self) -> u64 {
        self.file_len - self.tensor_bytes().min(self.file_len)
    }

    /// Tensors with data found in the map: every tensor region and its aliases, the external
    /// and the unmapped tensors. Equals `declared.tensors` for a well-formed file.
    pub fn tensor_count(&self) -> u64 {
        let in_file: u64 = self.tensors().map(|t| 1 + t.aliases.len() as u64).sum();
        in_file + self.external.len() as u64 + self.unmapped_tensors.len() as u64
    }

    /// Checks the tiling invariant; returns a description of the first violation.
    pub fn check_tiling(&self) -> Result<(), String> {
        let mut next = 0u64;
        for (i, region) in self.regions.iter().enumerate() {
            if region.offset() != next {
                return Err(format!(
                    "region {i} starts at {} but the previous one ends at {next}",
                    region.offset()
                ));
            }
            if region.is_empty() {
                return Err(format!("region {i} at {next} is empty"));
            }
            if let Region::Tensor(t) = region {
                if t.len % t.layout.unit_bytes() != 0 {
                    return Err(format!(
                        "tensor `{}`: {} bytes is not a whole number of units",
                        t.name, t.len
                    ));
                }
            }
            next = region
                .offset()
                .checked_add(region.len())
                .ok_or_else(|| format!("region {i} overflows"))?;
        }
        if next != self.file_len {
            return Err(format!(
                "regions end at {next}, the file at {}",
                self.file_len
            ));
        }
        Ok(())
    }
}

/// Collects tensor regions in any order and produces a tiled [`ModelMap`].
pub(crate) struct MapBuilder<'a> {
    format: Format,
    file_len: u64,
    tensors: Vec<TensorRegion<'a>>,
    external: Vec<ExternalTensor<'a>>,
    unmapped_tensors: Vec<Cow<'a, str>>,
    declared: Declared,
}

impl<'a> MapBuilder<'a> {
    pub(crate) fn new(format: Format, file_len: u64) -> Self {
        MapBuilder {
            format,
            file_len,
            tensors: Vec::new(),
            external: Vec::new(),
            unmapped_tensors: Vec::new(),
            declared: Declared::default(),
        }
    }

    /// Declares tensors and data bytes as the format's headers state them.
    pub(crate) fn declare(&mut self, tensors: u64, data_bytes: u64) {
        self.declared.tensors += tensors;
        self.declared.data_bytes += data_bytes;
    }

    /// Adds tensor data. A zero-length tensor is recorded as unmapped, by name only. The layout falls back
    /// to [`ElementLayout::Bytes`] if `len` is not a whole number of its units.
    pub(crate) fn tensor(&mut self, mut region: TensorRegion<'a>) -> Result<(), ModelError> {
        let end = region
            .offset
            .checked_add(region.len)
            .filter(|&end| end <= self.file_len);
        if end.is_none() {
            return Err(ModelError::new(
                self.format,
                region.offset,
                ErrorKind::OutOfBounds {
                    what: format!("data of tensor `{}`", region.name),
                    start: region.offset,
                    end: region.offset.saturating_add(region.len),
                    file_len: self.file_len,
                },
            ));
        }
        if region.len == 0 {
            self.unmapped_tensors.push(region.name);
            self.unmapped_tensors.extend(region.aliases);
            return Ok(());
        }
        if region.len % region.layout.unit_bytes() != 0 {
            region.layout = ElementLayout::Bytes;
        }
        self.tensors.push(region);
        Ok(())
    }

    pub(crate) fn external(&mut self, tensor: ExternalTensor<'a>) {
        self.external.push(tensor);
    }

    pub(crate) fn unmapped(&mut self, name: Cow<'a, str>) {
        self.unmapped_tensors.push(name);
    }

    /// Sorts the tensors, merges tensors with identical ranges into aliases, rejects partial
    /// overlaps and fills the gaps with opaque regions.
    pub(crate) fn finish(self) -> Result<ModelMap<'a>, ModelError> {
        let MapBuilder {
            format,
            file_len,
            mut tensors,
            external,
            unmapped_tensors,
            declared,
        } = self;
        tensors.sort_by_key(|t| (t.offset, t.len));
        let mut regions: Vec<Region<'a>> = Vec::with_capacity(tensors.len() * 2 + 1);
        let mut cursor = 0u64;
        for tensor in tensors {
            if let Some(Region::Tensor(prev)) = regions.last_mut() {
                if prev.offset == tensor.offset && prev.len == tensor.len {
                    prev.aliases.push(tensor.name);
                    prev.aliases.extend(tensor.aliases);
                    continue;
                }
                if tensor.offset < prev.offset + prev.len {
                    return Err(ModelError::new(
                        format,
                        tensor.offset,
                        ErrorKind::Overlap {
                            first: prev.name.to_string(),
                            first_start: prev.offset,
                            first_end: prev.offset + prev.len,
                            second: tensor.name.to_string(),
                            second_start: tensor.offset,
                            second_end: tensor.offset + tensor.len,
                        },
                    ));
                }
            }
            if tensor.offset > cursor {
                regions.push(Region::Opaque {
                    offset: cursor,
                    len: tensor.offset - cursor,
                });
            }
            cursor = tensor.offset + tensor.len;
            regions.push(Region::Tensor(tensor));
        }
        if cursor < file_len {
            regions.push(Region::Opaque {
                offset: cursor,
                len: file_len - cursor,
            });
        }
        Ok(ModelMap {
            format,
            file_len,
            regions,
            external,
            unmapped_tensors,
            declared,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(name: &str, offset: u64, len: u64) -> TensorRegion<'_> {
        TensorRegion {
            name: Cow::Borrowed(name),
            aliases: Vec::new(),
            dtype: DType::F32,
            shape: vec![len / 4],
            offset,
            len,
            quant: None,
            layout: DType::F32.layout(),
            sparse: false,
        }
    }

    #[test]
    fn builder_fills_gaps_merges_aliases_and_rejects_overlaps() {
        let mut b = MapBuilder::new(Format::Tflite, 100);
        b.tensor(tensor("b", 40, 8)).unwrap();
        b.tensor(tensor("a", 8, 16)).unwrap();
        b.tensor(tensor("a2", 8, 16)).unwrap();
        b.tensor(tensor("odd", 60, 6)).unwrap();
        b.tensor(tensor("empty", 0, 0)).unwrap();
        let map = b.finish().unwrap();
        map.check_tiling().unwrap();
        assert_eq!(map.regions.len(), 7);
        assert_eq!(map.tensor_bytes(), 30);
        assert_eq!(map.opaque_bytes(), 70);
        assert_eq!(map.tensor_count(), 5);
        let first = map.tensors().next().unwrap();
        assert_eq!((first.name.as_ref(), first.aliases.len()), ("a", 1));
        assert_eq!(map.tensors().nth(2).unwrap().layout, ElementLayout::Bytes);

        let mut b = MapBuilder::new(Format::Tflite, 100);
        b.tensor(tensor("a", 8, 16)).unwrap();
        b.tensor(tensor("b", 20, 8)).unwrap();
        let err = b.finish().unwrap_err();
        assert!(matches!(err.kind, ErrorKind::Overlap { .. }), "{err}");

        let mut b = MapBuilder::new(Format::Tflite, 100);
        assert!(b.tensor(tensor("past-end", 96, 8)).is_err());
        assert!(b.tensor(tensor("overflow", u64::MAX, 8)).is_err());
    }

    #[test]
    fn opaque_map_tiles() {
        ModelMap::opaque(10).check_tiling().unwrap();
        ModelMap::opaque(0).check_tiling().unwrap();
    }
}
