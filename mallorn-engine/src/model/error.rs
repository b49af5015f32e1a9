//! The error every model parser returns: which format, where in the file, and what was wrong.

use super::format::Format;

/// A model file could not be mapped. Parsers never panic on bad input; they return this.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{format} file invalid at byte {offset}: {kind}")]
pub struct ModelError {
    /// The format the file was parsed as.
    pub format: Format,
    /// Byte offset in the file where the problem was found.
    pub offset: u64,
    /// What was wrong.
    pub kind: ErrorKind,
}

/// The kinds of problem a parser reports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    /// The file ends inside a structure.
    #[error("file ends inside {what} (needs {needed} bytes, {available} left)")]
    Truncated {
        /// The structure being read.
        what: &'static str,
        /// Bytes the structure needs.
        needed: u64,
        /// Bytes left in the file (or enclosing structure).
        available: u64,
    },
    /// A declared range points outside the file.
    #[error("{what} spans bytes {start}..{end}, beyond the end of the file ({file_len} bytes)")]
    OutOfBounds {
        /// What the range holds.
        what: String,
        /// Start of the range.
        start: u64,
        /// End of the range (exclusive; saturated on overflow).
        end: u64,
        /// File length.
        file_len: u64,
    },
    /// A count or size is larger than the file could possibly hold.
    #[error("{what} is {value}, more than a file of {file_len} bytes can hold")]
    Implausible {
        /// The count or size.
        what: &'static str,
        /// Its value.
        value: u64,
        /// File length.
        file_len: u64,
    },
    /// An element type code this version of Mallorn does not know.
    #[error("unknown element type {code} for tensor `{tensor}`")]
    UnknownDType {
        /// The format's type code (number or name).
        code: String,
        /// The tensor using it.
        tensor: String,
    },
    /// A format version this parser does not read.
    #[error("unsupported version {version} ({hint})")]
    UnsupportedVersion {
        /// The version found.
        version: u64,
        /// Which versions are supported.
        hint: &'static str,
    },
    /// Two tensors claim partly the same bytes.
    #[error(
        "tensor `{second}` (bytes {second_start}..{second_end}) overlaps tensor `{first}` (bytes {first_start}..{first_end})"
    )]
    Overlap {
        /// The earlier tensor.
        first: String,
        /// Its start.
        first_start: u64,
        /// Its end.
        first_end: u64,
        /// The later tensor.
        second: String,
        /// Its start.
        second_start: u64,
        /// Its end.
        second_end: u64,
    },
    /// Nesting deeper than any real model uses (a defence against stack exhaustion).
    #[error("nesting deeper than {limit} levels")]
    TooDeep {
        /// The limit.
        limit: u32,
    },
    /// Any other violation of the format, described in words.
    #[error("{0}")]
    Invalid(String),
}

impl ModelError {
    /// Builds an error for `format` at `offset`.
    pub fn new(format: Format, offset: u64, kind: ErrorKind) -> Self {
        ModelError {
            format,
            offset,
            kind,
        }
    }

    /// Shorthand for an [`ErrorKind::Invalid`] error.
    pub fn invalid(format: Format, offset: u64, reason: impl Into<String>) -> Self {
        Self::new(format, offset, ErrorKind::Invalid(reason.into()))
    }
}

/// A file given to the encoder is not what Mallorn.toml (or the command line) says it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// `format = "auto"`, and the file is none of the model formats Mallorn reads.
    #[error(
        "not a TFLite, GGUF, ONNX or safetensors file ({len} bytes; no format's magic bytes or structure at byte 0)"
    )]
    Unrecognised {
        /// File length.
        len: u64,
    },
    /// The file does not parse as its declared (or detected) format.
    #[error("{source} (format {})", if *declared { "declared" } else { "detected" })]
    Invalid {
        /// True when the format was declared, false when it was detected.
        declared: bool,
        /// Where and why parsing failed.
        source: ModelError,
    },
    /// The model keeps tensor data in other files (ONNX external data, TFLite external
    /// buffers), which a bundle does not carry: the device would get the model without them.
    #[error(
        "{format} tensor `{first}`{} keeps its data in the external file `{location}`, which the bundle does not carry: the device would get the model without those weights",
        if *tensors > 1 { format!(" (and {} more)", tensors - 1) } else { String::new() }
    )]
    ExternalData {
        /// The model format.
        format: super::format::Format,
        /// How many tensors are external.
        tensors: u64,
        /// The first external tensor.
        first: String,
        /// Its file (ONNX `location`, TFLite buffer group name).
        location: String,
    },
}

impl InputError {
    /// What to change in Mallorn.toml, for reports of `build` (a command-line tool that takes
    /// the format as a flag words its own help).
    pub fn help(&self) -> &'static str {
        match self {
            Self::Unrecognised { .. } => {
                "the file may be truncated or damaged, or not a model: declare its format on its [[model]] (e.g. `format = \"onnx\"`) to see where it stops parsing, or `format = \"raw\"` to ship it as opaque bytes without tensor awareness"
            }
            Self::Invalid { .. } => {
                "the file may be truncated or damaged, or not that format: check it, fix `format` on its [[model]], or declare `format = \"raw\"` to code it as opaque bytes"
            }
            Self::ExternalData { .. } => {
                "save the model with its weights inside the file (ONNX: `onnx.save_model(model, path, save_as_external_data=False)`, for models under 2 GiB), or, to ship the data file as a model of its own, declare `format = \"raw\"` on both [[model]]s"
            }
        }
    }
}
