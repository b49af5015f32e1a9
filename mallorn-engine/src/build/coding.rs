//! How a target's bundles are coded: the best decoder the target allows whose work RAM fits its
//! `ram-buffer`. Decoders are tried in the order of [`PREFERENCE`]; supporting a new coder is
//! one line there, with a function that configures its [`EncodeOptions`] for a target (the
//! encoder behind [`crate::bundle::build_bundle`] does the rest).

use mallorn_manifest::{Decoder, Target};
use mallorn_runtime::apply::required_work_len;
use mallorn_runtime::codec::smallest::Profile;
use mallorn_runtime::format::Decoders;
use mallorn_runtime::format::segments::MIN_SEGMENT_LOG2;

use crate::build::error::BuildError;
use crate::delta::{
    DEFAULT_CHUNK_LEN, DeltaCodec, EncodeOptions, ModelFormat, TargetError, fitting_segment_log2,
};

/// The coding chosen for one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    /// Deltas and full images with a coder (`smallest` or `fast`); chunks it cannot shrink
    /// are stored.
    Coder {
        /// The coder's decoder.
        decoder: Decoder,
        /// Its options for this target.
        options: EncodeOptions,
    },
    /// Full images only, stored verbatim in erase-block chunks: for targets that allow no
    /// coder, or whose RAM fits none.
    Stored {
        /// log2 of the chunk alignment (the erase size).
        chunk_align_log2: u8,
        /// log2 of the payload's authenticated segment length.
        segment_log2: u8,
    },
}

impl Coding {
    /// The decoder its bundles use.
    pub fn decoder(&self) -> Decoder {
        match self {
            Self::Coder { decoder, .. } => *decoder,
            Self::Stored { .. } => Decoder::Stored,
        }
    }

    /// The decoder's name, as in Mallorn.toml.
    pub fn name(&self) -> &'static str {
        self.decoder().as_str()
    }

    /// Whether delta bundles are built (stored coding ships full images only).
    pub fn builds_deltas(&self) -> bool {
        !matches!(self, Self::Stored { .. })
    }

    /// The decoders a bundle of this coding may name in its header.
    pub fn decoders(&self) -> Decoders {
        match self {
            Self::Coder { decoder, .. } => {
                Decoders(Decoders::STORED | decoder.codec_id().decoder_bit())
            }
            Self::Stored { .. } => Decoders(Decoders::STORED),
        }
    }

    /// The coder profile byte of the header (0 when no coder is used).
    pub fn profile(&self) -> u8 {
        match self {
            // Only the smallest coder has model-size profiles.
            Self::Coder {
                decoder: Decoder::Smallest,
                options,
            } => options.profile as u8,
            Self::Coder { .. } => 0,
            Self::Stored { .. } => 0,
        }
    }

    /// log2 of the payload's authenticated segment length.
    pub fn segment_log2(&self) -> u8 {
        match self {
            Self::Coder { options, .. } => options.segment_log2,
            Self::Stored { segment_log2, .. } => *segment_log2,
        }
    }

    /// Work RAM the device's applier needs for any bundle of this coding: the size of the
    /// buffer a firmware must hand to the updater at least.
    pub fn work_len(&self) -> usize {
        required_work_len(self.decoders(), self.profile(), self.segment_log2())
    }

    /// Every field that shapes a bundle, spelt out for the build cache's keys (a stable text,
    /// not `Debug` output, so a refactor cannot silently change or collide keys).
    pub fn cache_key(&self) -> Vec<u8> {
        match self {
            Self::Coder { decoder, options } => format!(
                "coder {} profile {} chunk-align-log2 {} chunk-len {} segment-log2 {} format {} effort {}",
                decoder.as_str(),
                profile_name(options.profile),
                options.chunk_align_log2,
                options.chunk_len,
                options.segment_log2,
                options.format.as_str(),
                options.effort.as_str(),
            ),
            Self::Stored {
                chunk_align_log2,
                segment_log2,
            } => format!("stored chunk-align-log2 {chunk_align_log2} segment-log2 {segment_log2}"),
        }
        .into_bytes()
    }

    /// A short description for plans and logs, e.g. `smallest (profile compact)`.
    pub fn describe(&self) -> String {
        match self {
            Self::Coder { decoder, options } => {
                format!(
                    "{} (profile {})",
                    decoder.as_str(),
                    profile_name(options.profile)
                )
            }
            Self::Stored { .. } => "stored (full images only)".into(),
        }
    }
}

/// The name of a coder profile in reports.
pub fn profile_name(profile: Profile) -> &'static str {
    match profile {
        Profile::Tiny => "tiny",
        Profile::Compact => "compact",
        Profile::Large => "large",
    }
}

/// How to code for a target with a decoder, or why that decoder cannot be used.
type Configure = fn(&Target) -> Result<Coding, String>;

/// Decoders in order of preference, each with how to configure it for a target.
const PREFERENCE: [(Decoder, Configure); 3] = [
    (Decoder::Smallest, smallest),
    (Decoder::Fast, fast),
    (Decoder::Stored, stored),
];

/// The coding for `target`, and a note for each preferred decoder passed over (to report).
pub fn choose(target: &Target) -> Result<(Coding, Vec<String>), BuildError> {
    let mut passed_over = Vec::new();
    for (decoder, configure) in PREFERENCE {
        if !target.codec.allows(decoder) {
            continue;
        }
        match configure(target) {
            Ok(coding) => return Ok((coding, passed_over)),
            Err(why) => passed_over.push(format!("{}: {why}", decoder.as_str())),
        }
    }
    if passed_over.is_empty() {
        passed_over.push("`decoders` allows none".into());
    }
    Err(BuildError::NoDecoder {
        sku: target.sku.clone(),
        reasons: passed_over.join("; "),
    })
}

fn smallest(target: &Target) -> Result<Coding, String> {
    EncodeOptions::for_target(target.flash.erase_size, target.ram_buffer)
        .map(|options| Coding::Coder {
            decoder: Decoder::Smallest,
            options: EncodeOptions {
                effort: target.codec.effort,
                ..options
            },
        })
        .map_err(|e| match e {
            TargetError::RamTooSmall { needed, allowed } => format!(
                "needs {needed} bytes of work RAM even with the tiny profile; ram-buffer is {allowed}"
            ),
            other => other.to_string(),
        })
}

fn fast(target: &Target) -> Result<Coding, String> {
    let erase = target.flash.erase_size;
    let decoders = Decoders(Decoders::STORED | Decoders::FAST);
    let coding = Coding::Coder {
        decoder: Decoder::Fast,
        options: EncodeOptions {
            coder: DeltaCodec::Fast,
            // Unused by the fast coder (it keeps no model); the planner prices with it.
            profile: Profile::Tiny,
            chunk_align_log2: chunk_align_log2(erase)?,
            chunk_len: DEFAULT_CHUNK_LEN.max(erase),
            segment_log2: segment_log2(target, decoders)?,
            format: ModelFormat::Auto,
            effort: target.codec.effort,
        },
    };
    fits(target, coding)
}

fn stored(target: &Target) -> Result<Coding, String> {
    let coding = Coding::Stored {
        chunk_align_log2: chunk_align_log2(target.flash.erase_size)?,
        segment_log2: segment_log2(target, Decoders(Decoders::STORED))?,
    };
    fits(target, coding)
}

/// The longest payload segment whose work buffer fits the target's `ram-buffer`.
fn segment_log2(target: &Target, decoders: Decoders) -> Result<u8, String> {
    fitting_segment_log2(decoders, 0, target.ram_buffer).ok_or_else(|| {
        format!(
            "needs {} bytes of work RAM; ram-buffer is {}",
            required_work_len(decoders, 0, MIN_SEGMENT_LOG2),
            target.ram_buffer
        )
    })
}

/// log2 of the erase size, which chunk boundaries align to.
fn chunk_align_log2(erase: u64) -> Result<u8, String> {
    if !erase.is_power_of_two() || !(64..=1 << 30).contains(&erase) {
        return Err(format!(
            "erase size {erase} is not a power of two between 64 B and 1 GiB"
        ));
    }
    Ok(erase.trailing_zeros() as u8)
}

/// `coding` if its work RAM fits the target's `ram-buffer`.
fn fits(target: &Target, coding: Coding) -> Result<Coding, String> {
    let needed = coding.work_len() as u64;
    if needed > target.ram_buffer {
        return Err(format!(
            "needs {needed} bytes of work RAM; ram-buffer is {}",
            target.ram_buffer
        ));
    }
    Ok(coding)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mallorn_manifest::{CodecPolicy, FlashGeometry};

    fn target(ram_buffer: u64, decoders: &[Decoder]) -> Target {
        Target {
            sku: "board".into(),
            ram_buffer,
            flash: FlashGeometry {
                base: 0,
                size: 1 << 20,
                erase_size: 4096,
                write_size: 4,
            },
            models: Vec::new(),
            codec: CodecPolicy {
                decoders: decoders.to_vec(),
                ..CodecPolicy::default()
            },
            boot: Default::default(),
            span: Default::default(),
        }
    }

    #[test]
    fn picks_the_largest_profile_that_fits_and_falls_back_to_stored() {
        let (coding, notes) = choose(&target(256 << 10, &Decoder::ALL)).unwrap();
        assert!(
            matches!(coding, Coding::Coder { options, .. } if options.profile == Profile::Large)
        );
        assert!(notes.is_empty());
        assert!(coding.work_len() <= 256 << 10);

        let (coding, _) = choose(&target(8 << 10, &Decoder::ALL)).unwrap();
        assert!(
            matches!(coding, Coding::Coder { options, .. } if options.profile == Profile::Tiny)
        );
        assert!(coding.work_len() <= 8 << 10);

        // 2 KiB fits no smallest profile: the fast coder (no model RAM), with the reason kept
        // for the report; without fast, stored full images.
        let (coding, notes) = choose(&target(2048, &Decoder::ALL)).unwrap();
        assert_eq!(coding.name(), "fast");
        assert!(coding.builds_deltas());
        assert!(coding.work_len() <= 2048);
        assert!(notes[0].starts_with("smallest: needs"), "{notes:?}");
        let (coding, _) = choose(&target(2048, &[Decoder::Smallest, Decoder::Stored])).unwrap();
        assert_eq!(coding.name(), "stored");
        assert!(!coding.builds_deltas());
        // 1 KiB holds no segment buffer besides the decoder's buffers: nothing fits.
        let err = choose(&target(1024, &Decoder::ALL)).unwrap_err();
        assert!(err.to_string().contains("stored: needs"), "{err}");
    }

    #[test]
    fn respects_the_allowed_decoders_and_explains_a_dead_end() {
        let (coding, _) = choose(&target(64 << 10, &[Decoder::Stored])).unwrap();
        assert_eq!(
            coding,
            Coding::Stored {
                chunk_align_log2: 12,
                segment_log2: 13,
            }
        );
        let (coding, _) = choose(&target(64 << 10, &[Decoder::Stored, Decoder::Fast])).unwrap();
        assert_eq!(coding.decoders().0, Decoders::STORED | Decoders::FAST);
        assert_eq!(coding.profile(), 0);
        let err = choose(&target(1024, &[Decoder::Smallest])).unwrap_err();
        assert!(err.to_string().contains("smallest: needs"), "{err}");
    }

    /// A coder coding names its decoder twice (for the manifest and for the encoder): both
    /// must be one codec, or the header's decoder set and work RAM would not match the chunks.
    #[test]
    fn a_coder_coding_encodes_with_its_decoder() {
        let mut seen = Vec::new();
        for ram_buffer in [256 << 10, 8 << 10, 2048] {
            let (coding, _) = choose(&target(ram_buffer, &Decoder::ALL)).unwrap();
            let Coding::Coder { decoder, options } = coding else {
                panic!("{ram_buffer}: expected a coder, got {coding:?}");
            };
            assert_eq!(decoder.codec_id(), options.coder.codec_id());
            seen.push(decoder);
        }
        assert_eq!(seen, [Decoder::Smallest, Decoder::Smallest, Decoder::Fast]);
    }
}
