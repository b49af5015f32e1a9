//! ONNX parser: walks the protobuf wire format of a `ModelProto` (field numbers from
//! onnx.proto) and maps every tensor payload to its byte range.
//!
//! Tensors are found in graph initializers and sparse initializers, in node attributes
//! (`Constant` values and any other `t`/`tensors`/`sparse_tensor` attribute), recursively in
//! subgraphs (`If`/`Loop`/`Scan` attributes `g`/`graphs`), in functions and in training info.
//! A tensor's region is the payload of its `raw_data` field, or of a packed typed field
//! (`float_data`, `int32_data`, ...) whose stored encoding the region's layout states
//! (fixed-width floats, or varints). Tags and lengths stay in the opaque glue. External data
//! (`data_location = EXTERNAL`) is reported as [`ExternalTensor`].

mod wire;

use std::borrow::Cow;

use super::dtype::{DType, ElementLayout, FloatFormat};
use super::error::{ErrorKind, ModelError};
use super::format::Format;
use super::map::{ExternalTensor, MapBuilder, ModelMap, TensorRegion};
use wire::{Field, Fields, Value};

const FORMAT: Format = Format::Onnx;
/// protobuf's default recursion limit; each subgraph level uses three message levels.
const MAX_DEPTH: u32 = 100;

/// Maps an ONNX model file.
pub fn parse(bytes: &[u8]) -> Result<ModelMap<'_>, ModelError> {
    let mut walker = Walker {
        map: MapBuilder::new(FORMAT, bytes.len() as u64),
        tensors: 0,
        data_bytes: 0,
    };
    walker.model(bytes)?;
    let (tensors, data_bytes) = (walker.tensors, walker.data_bytes);
    walker.map.declare(tensors, data_bytes);
    walker.map.finish()
}

/// True if `bytes` is a well-formed protobuf message whose top-level fields look like a
/// `ModelProto`: an `ir_version` varint and a `graph` message, every field intact to the end.
pub(crate) fn looks_like_model(bytes: &[u8]) -> bool {
    let (mut ir_version, mut graph) = (false, false);
    for field in Fields::new(bytes, 0) {
        match field {
            Ok(Field {
                number: 1,
                value: Value::Varint(_),
                ..
            }) => ir_version = true,
            Ok(Field {
                number: 7,
                value: Value::Bytes { .. },
                ..
            }) => graph = true,
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    ir_version && graph
}

struct Walker<'a> {
    map: MapBuilder<'a>,
    tensors: u64,
    data_bytes: u64,
}

/// A length-delimited field's payload and its absolute offset.
#[derive(Clone, Copy)]
struct Message<'a> {
    data: &'a [u8],
    offset: u64,
}

fn fields(message: Message<'_>) -> Fields<'_> {
    Fields::new(message.data, message.offset)
}

fn wire_error(e: wire::WireError) -> ModelError {
    ModelError::invalid(FORMAT, e.offset, e.reason)
}

/// The payload of a field that must be length-delimited.
fn submessage<'a>(field: &Field<'a>, what: &str) -> Result<Message<'a>, ModelError> {
    match field.value {
        Value::Bytes { offset, data } => Ok(Message { data, offset }),
        _ => Err(ModelError::invalid(
            FORMAT,
            field.tag_offset,
            format!("field {} ({what}) must be length-delimited", field.number),
        )),
    }
}

fn string<'a>(field: &Field<'a>, what: &str) -> Result<Cow<'a, str>, ModelError> {
    Ok(String::from_utf8_lossy(submessage(field, what)?.data))
}

fn deeper(depth: u32, at: u64) -> Result<u32, ModelError> {
    if depth >= MAX_DEPTH {
        return Err(ModelError::new(
            FORMAT,
            at,
            ErrorKind::TooDeep { limit: MAX_DEPTH },
        ));
    }
    Ok(depth + 1)
}

/// Bytes a varint of this value occupies.
fn varint_len(value: u64) -> u64 {
    u64::from((64 - value.leading_zeros()).max(1).div_ceil(7))
}

impl<'a> Walker<'a> {
    /// `ModelProto`: graph = 7, training_info = 20, functions = 25.
    fn model(&mut self, bytes: &'a [u8]) -> Result<(), ModelError> {
        let message = Message {
            data: bytes,
            offset: 0,
        };
        for field in fields(message) {
            let field = field.map_err(wire_error)?;
            match field.number {
                7 => self.graph(submessage(&field, "graph")?, 1)?,
                20 => self.training_info(submessage(&field, "training_info")?, 1)?,
                25 => self.function(submessage(&field, "functions")?, 1)?,
                _ => {}
            }
        }
        Ok(())
    }

    /// `GraphProto`: node = 1, initializer = 5, sparse_initializer = 15.
    fn graph(&mut self, message: Message<'a>, depth: u32) -> Result<(), ModelError> {
        let depth = deeper(depth, message.offset)?;
        for field in fields(message) {
            let field = field.map_err(wire_error)?;
            match field.number {
                1 => self.node(submessage(&field, "node")?, depth)?,
                5 => {
                    let initializer = submessage(&field, "initializer")?;
                    self.tensor(
                        initializer,
                        depth,
                        Cow::Borrowed("(unnamed initializer)"),
                        false,
                    )?;
                }
                15 => self.sparse_tensor(
                    submessage(&field, "sparse_initializer")?,
                    depth,
                    Cow::Borrowed("(unnamed sparse initializer)"),
                )?,
                _ => {}
            }
        }
        Ok(())
    }

    /// `TrainingInfoProto`: initialization = 1, algorithm = 2.
    fn training_info(&mut self, message: Message<'a>, depth: u32) -> Result<(), ModelError> {
        let depth = deeper(depth, message.offset)?;
        for field in fields(message) {
            let field = field.map_err(wire_error)?;
            if field.number == 1 || field.number == 2 {
                self.graph(submessage(&field, "training graph")?, depth)?;
            }
        }
        Ok(())
    }

    /// `FunctionProto`: node = 7.
    fn function(&mut self, message: Message<'a>, depth: u32) -> Result<(), ModelError> {
        let depth = deeper(depth, message.offset)?;
        for field in fields(message) {
            let field = field.map_err(wire_error)?;
            if field.number == 7 {
                self.node(submessage(&field, "function node")?, depth)?;
            }
        }
        Ok(())
    }

    /// `NodeProto`: output = 2, name = 3, op_type = 4, attribute = 5. Attribute tensors without
    /// a name of their own are named after the node: a `Constant`'s value takes the node's
    /// output name, others `<node>.<attribute>`.
    fn node(&mut self, message: Message<'a>, depth: u32) -> Result<(), ModelError> {
        let depth = deeper(depth, message.offset)?;
        let (mut output, mut name, mut op_type) = (None, None, None);
        for field in fields(message) {
            let field = field.map_err(wire_error)?;
            match field.number {
                2 if output.is_none() => output = Some(string(&field, "output")?),
                3 => name = Some(string(&field, "name")?),
                4 => op_type = Some(string(&field, "op_type")?),
                _ => {}
            }
        }
        let node_label = match (&name, &output) {
            (Some(n), _) if !n.is_empty() => n.clone(),
            (_, Some(o)) => o.clone(),
            _ => Cow::Borrowed("(unnamed node)"),
        };
        let is_constant = op_type.as_deref() == Some("Constant");
        for field in fields(message) {
            let field = field.map_err(wire_error)?;
            if field.number == 5 {
                let attribute = submessage(&field, "attribute")?;
                self.attribute(
                    attribute,
                    depth,
                    &node_label,
                    output.as_ref().filter(|_| is_constant),
                )?;
            }
        }
        Ok(())
    }

    /// `AttributeProto`: name = 1, t = 5, g = 6, tensors = 10, graphs = 11, sparse_tensor = 22,
    /// sparse_tensors = 23.
    fn attribute(
        &mut self,
        message: Message<'a>,
        depth: u32,
        node_label: &str,
        constant_output: Option<&Cow<'a, str>>,
    ) -> Result<(), ModelError> {
        let depth = deeper(depth, message.offset)?;
        let mut attribute_name = Cow::Borrowed("");
        for field in fields(message) {
            let field = field.map_err(wire_error)?;
            if field.number == 1 {
                attribute_name = string(&field, "attribute name")?;
            }
        }
        let fallback = || match constant_output {
            Some(output) => output.clone(),
            None => Cow::Owned(format!("{node_label}.{attribute_name}")),
        };
        for field in fields(message) {
            let field = field.map_err(wire_error)?;
            match field.number {
                5 | 10 => {
                    self.tensor(
                        submessage(&field, "tensor attribute")?,
                        depth,
                        fallback(),
                        false,
                    )?;
                }
                6 | 11 => self.graph(submessage(&field, "graph attribute")?, depth)?,
                22 | 23 => self.sparse_tensor(
                    submessage(&field, "sparse tensor attribute")?,
                    depth,
                    fallback(),
                )?,
                _ => {}
            }
        }
        Ok(())
    }

    /// `SparseTensorProto`: values = 1, indices = 2. The values take the sparse tensor's name;
    /// unnamed indices become `<name>.indices`.
    fn sparse_tensor(
        &mut self,
        message: Message<'a>,
        depth: u32,
        fallback: Cow<'a, str>,
    ) -> Result<(), ModelError> {
        let depth = deeper(depth, message.offset)?;
        let mut values_name = fallback;
        for field in fields(message) {
            let field = field.map_err(wire_error)?;
            if field.number == 1 {
                let values = submessage(&field, "sparse values")?;
                values_name = self.tensor(values, depth, values_name, true)?;
            }
        }
        for field in fields(message) {
            let field = field.map_err(wire_error)?;
            if field.number == 2 {
                let indices = submessage(&field, "sparse indices")?;
                self.tensor(
                    indices,
                    depth,
                    Cow::Owned(format!("{values_name}.indices")),
                    true,
                )?;
            }
        }
        Ok(())
    }

    /// `TensorProto`: dims = 1, data_type = 2, float_data = 4, int32_data = 5, string_data = 6,
    /// int64_data = 7, name = 8, raw_data = 9, double_data = 10, uint64_data = 11,
    /// external_data = 13, data_location = 14. Returns the tensor's name.
    fn tensor(
        &mut self,
        message: Message<'a>,
        depth: u32,
        fallback_name: Cow<'a, str>,
        sparse: bool,
    ) -> Result<Cow<'a, str>, ModelError> {
        deeper(depth, message.offset)?;
        let mut t = TensorFields::default();
        for field in fields(message) {
            let field = field.map_err(wire_error)?;
            t.absorb(&field)?;
        }
        let name = t.name.filter(|n| !n.is_empty()).unwrap_or(fallback_name);
        self.tensors += 1;
        let has_data = !t.runs.is_empty() || t.unmapped_values || t.external;
        let dtype = match DType::from_onnx(t.data_type) {
            Some(dtype) => dtype,
            None if !has_data => DType::U8,
            None => {
                return Err(ModelError::new(
                    FORMAT,
                    message.offset,
                    ErrorKind::UnknownDType {
                        code: format!("ONNX data_type {}", t.data_type),
                        tensor: name.to_string(),
                    },
                ));
            }
        };
        let shape = t.dims;
        if t.external {
            let location = t.location.ok_or_else(|| {
                ModelError::invalid(
                    FORMAT,
                    message.offset,
                    format!("tensor `{name}` is external but has no `location`"),
                )
            })?;
            self.map.external(ExternalTensor {
                name: name.clone(),
                dtype,
                shape,
                location,
                offset: t.external_offset.unwrap_or(0),
                len: t.external_length,
            });
            return Ok(name);
        }
        self.data_bytes += t.runs.iter().map(|r| r.len).sum::<u64>() + t.unmapped_numeric_bytes;
        // Protobuf allows a field to repeat; only the first run is mapped so that each tensor
        // is one region, and any further runs stay in the opaque glue.
        let Some(run) = t.runs.first().copied() else {
            self.map.unmapped(name.clone());
            return Ok(name);
        };
        if t.unmapped_values {
            // Mixed packed and unpacked elements: not one contiguous range.
            self.map.unmapped(name.clone());
            return Ok(name);
        }
        let layout = match run.encoding {
            Encoding::Raw => dtype.layout(),
            Encoding::Stored(layout) => layout,
        };
        self.map.tensor(TensorRegion {
            name: name.clone(),
            aliases: Vec::new(),
            dtype,
            shape,
            offset: run.offset,
            len: run.len,
            quant: None,
            layout,
            sparse,
        })?;
        Ok(name)
    }
}

/// How a data run is encoded.
#[derive(Clone, Copy)]
enum Encoding {
    /// `raw_data`: the dtype's own little-endian layout.
    Raw,
    /// A packed typed field with this stored layout.
    Stored(ElementLayout),
}

#[derive(Clone, Copy)]
struct Run {
    offset: u64,
    len: u64,
    encoding: Encoding,
}

/// The fields of one `TensorProto` that matter for mapping.
#[derive(Default)]
struct TensorFields<'a> {
    name: Option<Cow<'a, str>>,
    data_type: u64,
    dims: Vec<u64>,
    runs: Vec<Run>,
    /// Unpacked numeric elements or strings: data that is not one contiguous payload.
    unmapped_values: bool,
    unmapped_numeric_bytes: u64,
    external: bool,
    location: Option<Cow<'a, str>>,
    external_offset: Option<u64>,
    external_length: Option<u64>,
}

impl<'a> TensorFields<'a> {
    fn absorb(&mut self, field: &Field<'a>) -> Result<(), ModelError> {
        let at = field.tag_offset;
        match (field.number, field.value) {
            (1, Value::Varint(d)) => self.dims.push(check_dim(d, at)?),
            (1, Value::Bytes { data, offset }) => {
                let mut pos = 0;
                while pos < data.len() {
                    let (d, next) = wire::read_varint(data, pos).map_err(|reason| {
                        ModelError::invalid(FORMAT, offset + pos as u64, reason)
                    })?;
                    self.dims.push(check_dim(d, at)?);
                    pos = next;
                }
            }
            (2, Value::Varint(t)) => self.data_type = t,
            (8, Value::Bytes { data, .. }) => self.name = Some(String::from_utf8_lossy(data)),
            (9, Value::Bytes { offset, data }) => {
                self.runs.push(Run {
                    offset,
                    len: data.len() as u64,
                    encoding: Encoding::Raw,
                });
            }
            (4, Value::Bytes { offset, data }) => {
                self.packed(offset, data, ElementLayout::Float(FloatFormat::F32))
            }
            (10, Value::Bytes { offset, data }) => {
                self.packed(offset, data, ElementLayout::Float(FloatFormat::F64))
            }
            (5 | 7 | 11, Value::Bytes { offset, data }) => {
                self.packed(offset, data, ElementLayout::Varint)
            }
            (4, Value::Fixed32(_)) => self.unpacked(4),
            (10, Value::Fixed64(_)) => self.unpacked(8),
            (5 | 7 | 11, Value::Varint(v)) => self.unpacked(varint_len(v)),
            (6, Value::Bytes { .. }) => self.unmapped_values = true,
            (13, Value::Bytes { offset, data }) => self.external_entry(Message { data, offset })?,
            (14, Value::Varint(location)) => self.external = location == 1,
            (1 | 2 | 4 | 5 | 6 | 7 | 8 | 9 | 10 | 11 | 13 | 14, _) => {
                return Err(ModelError::invalid(
                    FORMAT,
                    at,
                    format!("TensorProto field {} has the wrong wire type", field.number),
                ));
            }
            _ => {}
        }
        Ok(())
    }

    fn packed(&mut self, offset: u64, data: &[u8], layout: ElementLayout) {
        if !data.is_empty() {
            self.runs.push(Run {
                offset,
                len: data.len() as u64,
                encoding: Encoding::Stored(layout),
            });
        }
    }

    fn unpacked(&mut self, bytes: u64) {
        self.unmapped_values = true;
        self.unmapped_numeric_bytes += bytes;
    }

    /// `StringStringEntryProto` key = 1, value = 2, for `location`, `offset`, `length`.
    fn external_entry(&mut self, message: Message<'a>) -> Result<(), ModelError> {
        let (mut key, mut value) = (None, None);
        for field in fields(message) {
            let field = field.map_err(wire_error)?;
            match field.number {
                1 => key = Some(string(&field, "external_data key")?),
                2 => value = Some(string(&field, "external_data value")?),
                _ => {}
            }
        }
        let value = value.unwrap_or(Cow::Borrowed(""));
        let number = |v: &str| {
            v.trim().parse::<u64>().map_err(|_| {
                ModelError::invalid(
                    FORMAT,
                    message.offset,
                    format!("external_data value `{v}` is not a byte count"),
                )
            })
        };
        match key.as_deref() {
            Some("location") => self.location = Some(value),
            Some("offset") => self.external_offset = Some(number(&value)?),
            Some("length") => self.external_length = Some(number(&value)?),
            _ => {}
        }
        Ok(())
    }
}

fn check_dim(d: u64, at: u64) -> Result<u64, ModelError> {
    if d > i64::MAX as u64 {
        return Err(ModelError::invalid(
            FORMAT,
            at,
            format!("negative tensor dimension {}", d as i64),
        ));
    }
    Ok(d)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Minimal protobuf encoder for building test models.
    pub(crate) fn varint(mut v: u64, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    pub(crate) fn len_field(number: u32, payload: &[u8], out: &mut Vec<u8>) {
        varint(u64::from(number) << 3 | 2, out);
        varint(payload.len() as u64, out);
        out.extend_from_slice(payload);
    }

    pub(crate) fn varint_field(number: u32, v: u64, out: &mut Vec<u8>) {
        varint(u64::from(number) << 3, out);
        varint(v, out);
    }

    pub(crate) fn tensor_raw(name: &str, data_type: u64, dims: &[u64], raw: &[u8]) -> Vec<u8> {
        let mut t = Vec::new();
        for &d in dims {
            varint_field(1, d, &mut t);
        }
        varint_field(2, data_type, &mut t);
        len_field(8, name.as_bytes(), &mut t);
        len_field(9, raw, &mut t);
        t
    }

    /// A model: initializer `w` (raw f32), initializer `i` (packed int64_data), a Constant
    /// node, an If node whose then-branch holds an initializer, a sparse initializer and an
    /// external tensor.
    pub(crate) fn sample_model() -> Vec<u8> {
        let mut graph = Vec::new();
        len_field(5, &tensor_raw("w", 1, &[2, 2], &[1u8; 16]), &mut graph);

        let mut packed = Vec::new();
        varint_field(1, 3, &mut packed);
        varint_field(2, 7, &mut packed);
        len_field(8, b"i", &mut packed);
        let mut values = Vec::new();
        for v in [1u64, 300, u64::MAX] {
            varint(v, &mut values);
        }
        len_field(7, &values, &mut packed);
        len_field(5, &packed, &mut graph);

        let mut constant = Vec::new();
        len_field(2, b"c_out", &mut constant);
        len_field(4, b"Constant", &mut constant);
        let mut attr = Vec::new();
        len_field(1, b"value", &mut attr);
        len_field(5, &tensor_raw("", 1, &[1], &[2u8; 4]), &mut attr);
        len_field(5, &attr, &mut constant);
        len_field(1, &constant, &mut graph);

        let mut then_graph = Vec::new();
        len_field(
            5,
            &tensor_raw("inner", 6, &[3], &[3u8; 12]),
            &mut then_graph,
        );
        let mut if_attr = Vec::new();
        len_field(1, b"then_branch", &mut if_attr);
        len_field(6, &then_graph, &mut if_attr);
        let mut if_node = Vec::new();
        len_field(3, b"if0", &mut if_node);
        len_field(4, b"If", &mut if_node);
        len_field(5, &if_attr, &mut if_node);
        len_field(1, &if_node, &mut graph);

        let mut sparse = Vec::new();
        len_field(1, &tensor_raw("s", 1, &[2], &[4u8; 8]), &mut sparse);
        len_field(2, &tensor_raw("", 7, &[2], &[5u8; 16]), &mut sparse);
        varint_field(3, 10, &mut sparse);
        len_field(15, &sparse, &mut graph);

        let mut external = Vec::new();
        varint_field(1, 1000, &mut external);
        varint_field(2, 1, &mut external);
        len_field(8, b"big", &mut external);
        for (k, v) in [
            ("location", "weights.bin"),
            ("offset", "4096"),
            ("length", "4000"),
        ] {
            let mut entry = Vec::new();
            len_field(1, k.as_bytes(), &mut entry);
            len_field(2, v.as_bytes(), &mut entry);
            len_field(13, &entry, &mut external);
        }
        varint_field(14, 1, &mut external);
        len_field(5, &external, &mut graph);

        let mut model = Vec::new();
        varint_field(1, 8, &mut model);
        len_field(2, b"test", &mut model);
        len_field(7, &graph, &mut model);
        model
    }

    #[test]
    fn maps_initializers_constants_subgraphs_sparse_and_external() {
        let file = sample_model();
        assert!(looks_like_model(&file));
        let map = parse(&file).unwrap();
        map.check_tiling().unwrap();
        let names: Vec<_> = map.tensors().map(|t| t.name.to_string()).collect();
        assert_eq!(names, ["w", "i", "c_out", "inner", "s", "s.indices"]);
        let w = map.tensors().next().unwrap();
        assert_eq!(&file[w.offset as usize..][..16], &[1u8; 16]);
        assert_eq!((w.dtype, w.shape.clone()), (DType::F32, vec![2, 2]));
        let i = map.tensors().nth(1).unwrap();
        assert_eq!(
            (i.dtype, i.layout, i.len),
            (DType::I64, ElementLayout::Varint, 1 + 2 + 10)
        );
        assert!(map.tensors().nth(4).unwrap().sparse);
        assert_eq!(map.external.len(), 1);
        assert_eq!(map.external[0].location, "weights.bin");
        assert_eq!(
            (map.external[0].offset, map.external[0].len),
            (4096, Some(4000))
        );
        assert_eq!(map.declared.tensors, 7);
        assert_eq!(map.tensor_count(), 7);
        assert_eq!(map.declared.data_bytes, map.tensor_bytes());
    }

    #[test]
    fn rejects_malformed_models() {
        let file = sample_model();
        for cut in 1..file.len() {
            if let Ok(map) = parse(&file[..cut]) {
                map.check_tiling().unwrap();
            }
        }
        let mut deep = Vec::new();
        len_field(5, &tensor_raw("x", 1, &[1], &[0; 4]), &mut deep);
        for _ in 0..60 {
            let mut attr = Vec::new();
            len_field(6, &deep, &mut attr);
            let mut node = Vec::new();
            len_field(5, &attr, &mut node);
            let mut graph = Vec::new();
            len_field(1, &node, &mut graph);
            deep = graph;
        }
        let mut model = Vec::new();
        varint_field(1, 8, &mut model);
        len_field(7, &deep, &mut model);
        assert!(matches!(
            parse(&model).unwrap_err().kind,
            ErrorKind::TooDeep { .. }
        ));

        let mut bad_type = Vec::new();
        len_field(5, &tensor_raw("x", 99, &[1], &[0; 4]), &mut bad_type);
        let mut model = Vec::new();
        varint_field(1, 8, &mut model);
        len_field(7, &bad_type, &mut model);
        assert!(matches!(
            parse(&model).unwrap_err().kind,
            ErrorKind::UnknownDType { .. }
        ));
        assert!(!looks_like_model(b"hello world, not a model"));
    }
}
