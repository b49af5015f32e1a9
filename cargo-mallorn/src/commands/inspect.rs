//! `cargo mallorn inspect FILE [--json]`: shows where every tensor's bytes live in a model file
//! (name, dtype, shape, size, offset) and how much of the file is tensor data versus glue.
//! Given a bundle (`MLRN` magic), it shows the header, the chunks and, with `--base OLD` (or
//! for a full-image bundle), the payload bytes per operation kind and per tensor.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mallorn_engine::model::{
    DType, ModelFile, ModelMap, Quantization, Region, TensorRegion, parse,
};
use serde::Serialize;

use super::{CommandResult, failure};
use crate::cli::{GlobalArgs, MessageFormat};

/// Arguments of `cargo mallorn inspect`.
#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// Model file: TFLite, GGUF, ONNX or safetensors (any other file shows as one opaque region).
    pub file: PathBuf,
    /// Print one JSON document instead of a table (same as `--message-format json`).
    #[arg(long)]
    pub json: bool,
    /// For a bundle: the model it applies to, so its operations can be decoded and costed.
    #[arg(long, value_name = "OLD")]
    pub base: Option<PathBuf>,
    /// For a bundle: a trusted public key (the FILE.pub keygen writes; repeat for rotation).
    /// The signature is then verified, and a bundle that fails is refused (exit 1). Without
    /// it, inspect only shows which key id the bundle claims.
    #[arg(long = "public-key", value_name = "FILE")]
    pub public_keys: Vec<PathBuf>,
}

/// Runs the command.
pub fn run(args: &InspectArgs, global: &GlobalArgs) -> CommandResult {
    let json = args.json || global.message_format == MessageFormat::Json;
    let bytes = match ModelFile::open(&args.file) {
        Ok(bytes) => bytes,
        Err(e) => {
            return Err(failure(
                format!("cannot read {}: {e}", args.file.display()),
                None,
            ));
        }
    };
    if bytes.starts_with(&mallorn_runtime::format::header::MAGIC) {
        return super::inspect_bundle::run(
            &args.file,
            &bytes,
            args.base.as_deref(),
            &args.public_keys,
            json,
        );
    }
    match inspect_model(&args.file, &bytes, json) {
        Ok(report) => {
            out!("{report}");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Err(failure(
            format!("cannot map {}: {e}", args.file.display()),
            format!(
                "the file looks like a {} model but is damaged or uses a feature Mallorn does \
                 not read; re-export it, or check that the download is complete",
                e.format
            ),
        )),
    }
}

/// Maps a model file and renders the report (JSON or a table). Only the file name of `path`
/// appears in the output, so reports do not depend on where the file is.
pub fn inspect_model(
    path: &Path,
    bytes: &[u8],
    json: bool,
) -> Result<String, mallorn_engine::model::ModelError> {
    let map = parse(bytes)?;
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    Ok(if json {
        crate::output::json_pretty(&model_json(&name, &map))
    } else {
        model_table(&name, &map)
    })
}

fn coverage(map: &ModelMap<'_>) -> f64 {
    if map.file_len == 0 {
        0.0
    } else {
        map.tensor_bytes() as f64 / map.file_len as f64
    }
}

fn opaque_regions(map: &ModelMap<'_>) -> usize {
    map.regions
        .iter()
        .filter(|r| matches!(r, Region::Opaque { .. }))
        .count()
}

/// The JSON report: `format`, `file_size`, `tensors` (name, dtype, shape, offset, length, ...),
/// `opaque_bytes`, plus external and unmapped tensors and the counts.
#[derive(Serialize)]
struct ModelJson<'a> {
    file: &'a str,
    format: &'static str,
    file_size: u64,
    tensors: Vec<TensorJson<'a>>,
    external_tensors: Vec<ExternalJson<'a>>,
    unmapped_tensors: &'a [Cow<'a, str>],
    tensor_bytes: u64,
    opaque_bytes: u64,
    coverage: f64,
    counts: CountsJson,
}

/// A tensor whose data is in the file.
#[derive(Serialize)]
struct TensorJson<'a> {
    name: &'a str,
    aliases: &'a [Cow<'a, str>],
    dtype: DType,
    shape: &'a [u64],
    offset: u64,
    length: u64,
    layout: String,
    quantization: &'a Option<Quantization>,
    sparse: bool,
}

/// A tensor whose data is in another file.
#[derive(Serialize)]
struct ExternalJson<'a> {
    name: &'a str,
    dtype: DType,
    shape: &'a [u64],
    location: &'a str,
    offset: u64,
    length: Option<u64>,
}

/// How many tensors and regions the map has, and how many the file declares.
#[derive(Serialize)]
struct CountsJson {
    tensors: u64,
    data_regions: usize,
    opaque_regions: usize,
    declared_tensors: u64,
    declared_data_bytes: u64,
}

fn model_json<'a>(file_name: &'a str, map: &'a ModelMap<'a>) -> ModelJson<'a> {
    let tensors = map
        .tensors()
        .map(|t| TensorJson {
            name: &t.name,
            aliases: &t.aliases,
            dtype: t.dtype,
            shape: &t.shape,
            offset: t.offset,
            length: t.len,
            layout: t.layout.describe(),
            quantization: &t.quant,
            sparse: t.sparse,
        })
        .collect();
    let external_tensors = map
        .external
        .iter()
        .map(|t| ExternalJson {
            name: &t.name,
            dtype: t.dtype,
            shape: &t.shape,
            location: &t.location,
            offset: t.offset,
            length: t.len,
        })
        .collect();
    ModelJson {
        file: file_name,
        format: map.format.id(),
        file_size: map.file_len,
        tensors,
        external_tensors,
        unmapped_tensors: &map.unmapped_tensors,
        tensor_bytes: map.tensor_bytes(),
        opaque_bytes: map.opaque_bytes(),
        coverage: (coverage(map) * 1e6).round() / 1e6,
        counts: CountsJson {
            tensors: map.tensor_count(),
            data_regions: map.tensors().count(),
            opaque_regions: opaque_regions(map),
            declared_tensors: map.declared.tensors,
            declared_data_bytes: map.declared.data_bytes,
        },
    }
}

/// The human-readable report: one row per tensor region, then the coverage summary.
pub fn model_table(file_name: &str, map: &ModelMap<'_>) -> String {
    let mut out = format!(
        "{file_name}: {} model, {} bytes\n",
        map.format, map.file_len
    );
    let rows: Vec<[String; 5]> = map.tensors().map(tensor_row).collect();
    if !rows.is_empty() {
        out += &aligned_table(&rows);
    }
    for t in &map.external {
        out += &format!(
            "external: {} {} in {} at {}\n",
            t.name, t.dtype, t.location, t.offset
        );
    }
    if !map.unmapped_tensors.is_empty() {
        out += &format!(
            "{} tensors hold no contiguous data in this file\n",
            map.unmapped_tensors.len()
        );
    }
    out += &format!(
        "{} tensors in {} data regions; tensor bytes {} ({:.2}% of the file), opaque bytes {} in {} regions\n",
        map.tensor_count(),
        map.tensors().count(),
        map.tensor_bytes(),
        100.0 * coverage(map),
        map.opaque_bytes(),
        opaque_regions(map),
    );
    out
}

/// The columns of the tensor table.
const TABLE_HEADERS: [&str; 5] = ["NAME", "DTYPE", "SHAPE", "BYTES", "OFFSET"];

/// One tensor's cells, in the order of [`TABLE_HEADERS`].
fn tensor_row(t: &TensorRegion<'_>) -> [String; 5] {
    let name = if t.aliases.is_empty() {
        t.name.to_string()
    } else {
        format!("{} (+{} aliases)", t.name, t.aliases.len())
    };
    let shape = format!(
        "[{}]",
        t.shape
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    [
        name,
        t.dtype.to_string(),
        shape,
        t.len.to_string(),
        t.offset.to_string(),
    ]
}

/// [`TABLE_HEADERS`] and `rows` in columns as wide as their widest cell: text left-aligned,
/// numbers right-aligned.
fn aligned_table(rows: &[[String; 5]]) -> String {
    let mut widths = TABLE_HEADERS.map(str::len);
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 5]| {
        format!(
            "{:<w0$}  {:<w1$}  {:<w2$}  {:>w3$}  {:>w4$}\n",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            cells[4],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3],
            w4 = widths[4]
        )
    };
    let mut out = line(TABLE_HEADERS);
    for row in rows {
        out += &line([&row[0], &row[1], &row[2], &row[3], &row[4]]);
    }
    out
}
