//! Maps every model of the shared corpus (`../shared/corpus` from the workspace root) and checks
//! the map against the format's own declarations: the regions tile the file, tensor counts and
//! byte totals agree, and at least 99.9% of the tensor data bytes are classified as tensors.
//! GGUF, safetensors and ONNX are also cross-checked against independent decodings of their
//! headers (ONNX with prost). Prints one summary line per file. Without the corpus the checks
//! are skipped with a notice, or fail if `MALLORN_REQUIRE_CORPUS=1` (`mallorn_tests::corpus_dir`).

#[path = "parsers_support/mod.rs"]
mod support;

use std::path::Path;

use mallorn_engine::model::{Format, ModelFile, ModelMap, Region, parse};
use mallorn_tests::corpus_files;
use prost::Message;

fn expected_format(path: &Path) -> Format {
    match path.extension().and_then(|e| e.to_str()) {
        Some("tflite") => Format::Tflite,
        Some("gguf") => Format::Gguf,
        Some("onnx") => Format::Onnx,
        Some("safetensors") => Format::Safetensors,
        _ => Format::Unknown,
    }
}

fn summary(path: &Path, map: &ModelMap<'_>) -> String {
    let tensor_bytes = map.tensor_bytes();
    format!(
        "{:<55} {:<11} {:>10} B  tensors {:>4} in {:>4} regions  tensor bytes {:>10} ({:.2}% of file)  opaque {:>8} B",
        path.strip_prefix(mallorn_tests::corpus_location())
            .unwrap_or(path)
            .display(),
        map.format.id(),
        map.file_len,
        map.tensor_count(),
        map.tensors().count(),
        tensor_bytes,
        100.0 * tensor_bytes as f64 / map.file_len.max(1) as f64,
        map.opaque_bytes(),
    )
}

#[test]
fn every_corpus_model_maps_exactly() {
    let Some(files) = corpus_files() else { return };
    for path in files {
        let bytes = ModelFile::open(&path).unwrap();
        let map = parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        println!("{}", summary(&path, &map));
        assert_eq!(map.format, expected_format(&path), "{}", path.display());
        assert_eq!(map.file_len, bytes.len() as u64);
        map.check_tiling()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            map.tensor_count(),
            map.declared.tensors,
            "{}: tensor count",
            path.display()
        );
        assert!(
            map.declared.tensors > 0,
            "{}: a model without tensors?",
            path.display()
        );
        let classified = map.tensor_bytes();
        assert!(classified <= map.declared.data_bytes, "{}", path.display());
        assert!(
            classified as f64 >= 0.999 * map.declared.data_bytes as f64,
            "{}: only {classified} of {} declared tensor data bytes classified",
            path.display(),
            map.declared.data_bytes
        );
        for tensor in map.tensors() {
            assert_eq!(tensor.bytes(&bytes).len() as u64, tensor.len);
            // Dense tensors hold exactly the bytes their shape and dtype need.
            if !tensor.sparse
                && tensor.dtype.bits_per_element().is_some()
                && tensor.layout == tensor.dtype.layout()
            {
                let elements: u64 = tensor.shape.iter().product();
                assert_eq!(
                    tensor.dtype.storage_bytes(elements),
                    Some(tensor.len),
                    "{}: {}",
                    path.display(),
                    tensor.name
                );
            }
        }
    }
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
}

#[test]
fn gguf_data_section_is_tensors_and_padding_only() {
    let Some(files) = corpus_files() else { return };
    for path in files.iter().filter(|p| expected_format(p) == Format::Gguf) {
        let bytes = ModelFile::open(path).unwrap();
        let map = parse(&bytes).unwrap();
        let header_tensor_count = u64_at(&bytes, 8);
        assert_eq!(map.declared.tensors, header_tensor_count);
        assert_eq!(
            map.tensors().count() as u64 + map.unmapped_tensors.len() as u64,
            header_tensor_count
        );
        // After the first tensor only alignment padding (< 32 bytes, all zero) may be opaque.
        let first = map.tensors().map(|t| t.offset).min().unwrap();
        for region in &map.regions {
            if let Region::Opaque { offset, len } = *region {
                if offset > first {
                    assert!(
                        len < 32,
                        "{}: {len} opaque bytes at {offset} inside the data section",
                        path.display()
                    );
                    assert!(
                        bytes[offset as usize..(offset + len) as usize]
                            .iter()
                            .all(|&b| b == 0)
                    );
                }
            }
        }
    }
}

#[test]
fn safetensors_agrees_with_its_json_header() {
    let Some(files) = corpus_files() else { return };
    for path in files
        .iter()
        .filter(|p| expected_format(p) == Format::Safetensors)
    {
        let bytes = ModelFile::open(path).unwrap();
        let map = parse(&bytes).unwrap();
        let header_len = u64_at(&bytes, 0);
        let header: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&bytes[8..8 + header_len as usize]).unwrap();
        let entries = header.keys().filter(|k| *k != "__metadata__").count() as u64;
        assert_eq!(map.declared.tensors, entries);
        assert_eq!(map.tensor_count(), entries);
        assert_eq!(map.tensor_bytes(), bytes.len() as u64 - 8 - header_len);
        assert_eq!(
            map.regions[0],
            Region::Opaque {
                offset: 0,
                len: 8 + header_len
            }
        );
    }
}

/// Just enough of onnx.proto for prost to find every tensor, independently of the engine.
mod onnx_oracle {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ModelProto {
        #[prost(message, optional, tag = "7")]
        pub graph: Option<GraphProto>,
        #[prost(message, repeated, tag = "20")]
        pub training_info: Vec<TrainingInfoProto>,
        #[prost(message, repeated, tag = "25")]
        pub functions: Vec<FunctionProto>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TrainingInfoProto {
        #[prost(message, optional, tag = "1")]
        pub initialization: Option<GraphProto>,
        #[prost(message, optional, tag = "2")]
        pub algorithm: Option<GraphProto>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct FunctionProto {
        #[prost(message, repeated, tag = "7")]
        pub node: Vec<NodeProto>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct GraphProto {
        #[prost(message, repeated, tag = "1")]
        pub node: Vec<NodeProto>,
        #[prost(message, repeated, tag = "5")]
        pub initializer: Vec<TensorProto>,
        #[prost(message, repeated, tag = "15")]
        pub sparse_initializer: Vec<SparseTensorProto>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct NodeProto {
        #[prost(message, repeated, tag = "5")]
        pub attribute: Vec<AttributeProto>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct AttributeProto {
        #[prost(message, optional, tag = "5")]
        pub t: Option<TensorProto>,
        #[prost(message, optional, boxed, tag = "6")]
        pub g: Option<Box<GraphProto>>,
        #[prost(message, repeated, tag = "10")]
        pub tensors: Vec<TensorProto>,
        #[prost(message, repeated, tag = "11")]
        pub graphs: Vec<GraphProto>,
        #[prost(message, optional, tag = "22")]
        pub sparse_tensor: Option<SparseTensorProto>,
        #[prost(message, repeated, tag = "23")]
        pub sparse_tensors: Vec<SparseTensorProto>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct SparseTensorProto {
        #[prost(message, optional, tag = "1")]
        pub values: Option<TensorProto>,
        #[prost(message, optional, tag = "2")]
        pub indices: Option<TensorProto>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TensorProto {
        #[prost(float, repeated, tag = "4")]
        pub float_data: Vec<f32>,
        #[prost(int32, repeated, tag = "5")]
        pub int32_data: Vec<i32>,
        #[prost(int64, repeated, tag = "7")]
        pub int64_data: Vec<i64>,
        #[prost(bytes = "vec", tag = "9")]
        pub raw_data: Vec<u8>,
        #[prost(double, repeated, tag = "10")]
        pub double_data: Vec<f64>,
        #[prost(uint64, repeated, tag = "11")]
        pub uint64_data: Vec<u64>,
        #[prost(int32, tag = "14")]
        pub data_location: i32,
    }

    /// (tensor messages, bytes of numeric tensor data) found by walking the decoded model.
    #[derive(Default, Debug, PartialEq)]
    pub struct Totals {
        pub tensors: u64,
        pub data_bytes: u64,
    }

    impl Totals {
        pub fn model(&mut self, m: &ModelProto) {
            m.graph.iter().for_each(|g| self.graph(g));
            for t in &m.training_info {
                t.initialization
                    .iter()
                    .chain(&t.algorithm)
                    .for_each(|g| self.graph(g));
            }
            m.functions
                .iter()
                .flat_map(|f| &f.node)
                .for_each(|n| self.node(n));
        }
        fn graph(&mut self, g: &GraphProto) {
            g.node.iter().for_each(|n| self.node(n));
            g.initializer.iter().for_each(|t| self.tensor(t));
            g.sparse_initializer.iter().for_each(|s| self.sparse(s));
        }
        fn node(&mut self, n: &NodeProto) {
            for a in &n.attribute {
                a.t.iter().chain(&a.tensors).for_each(|t| self.tensor(t));
                a.g.iter()
                    .map(|g| &**g)
                    .chain(&a.graphs)
                    .for_each(|g| self.graph(g));
                a.sparse_tensor
                    .iter()
                    .chain(&a.sparse_tensors)
                    .for_each(|s| self.sparse(s));
            }
        }
        fn sparse(&mut self, s: &SparseTensorProto) {
            s.values
                .iter()
                .chain(&s.indices)
                .for_each(|t| self.tensor(t));
        }
        fn tensor(&mut self, t: &TensorProto) {
            use prost::encoding::encoded_len_varint;
            self.tensors += 1;
            if t.data_location == 1 {
                return;
            }
            self.data_bytes += t.raw_data.len() as u64
                + 4 * t.float_data.len() as u64
                + 8 * t.double_data.len() as u64
                + t.int32_data
                    .iter()
                    .map(|&v| encoded_len_varint(i64::from(v) as u64) as u64)
                    .sum::<u64>()
                + t.int64_data
                    .iter()
                    .map(|&v| encoded_len_varint(v as u64) as u64)
                    .sum::<u64>()
                + t.uint64_data
                    .iter()
                    .map(|&v| encoded_len_varint(v) as u64)
                    .sum::<u64>();
        }
    }
}

#[test]
fn onnx_agrees_with_an_independent_protobuf_decoding() {
    let Some(files) = corpus_files() else { return };
    for path in files.iter().filter(|p| expected_format(p) == Format::Onnx) {
        let bytes = ModelFile::open(path).unwrap();
        let map = parse(&bytes).unwrap();
        let model = onnx_oracle::ModelProto::decode(&bytes[..]).unwrap();
        let mut totals = onnx_oracle::Totals::default();
        totals.model(&model);
        assert_eq!(map.declared.tensors, totals.tensors, "{}", path.display());
        assert_eq!(map.tensor_count(), totals.tensors, "{}", path.display());
        assert_eq!(
            map.declared.data_bytes,
            totals.data_bytes,
            "{}",
            path.display()
        );
        assert_eq!(map.tensor_bytes(), totals.data_bytes, "{}", path.display());
    }
}
