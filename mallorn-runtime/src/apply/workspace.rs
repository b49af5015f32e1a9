//! How the applier divides the caller's work buffer: the entropy coder's model state, an
//! input staging area for the decoder, an output buffer for writes to flash, and the buffer
//! in which a payload segment is authenticated.

use crate::codec::{self, CodecId};
use crate::error::Error;
use crate::format::segments::segment_buffer_len;
use crate::format::{BundleHeader, Decoders};

/// Bytes of payload staged while a codec waits for enough lookahead.
pub const STAGING_LEN: usize = 512;
/// Smallest output buffer the applier accepts.
pub const MIN_OUTPUT_LEN: usize = 256;
/// Slack reserved so the model state can be aligned inside an unaligned buffer.
const ALIGN_SLACK: usize = 8;

/// Work-buffer bytes the applier needs to decode a payload using `decoders` in segments of
/// `1 << segment_log2` bytes.
pub const fn required_work_len(decoders: Decoders, coder_profile: u8, segment_log2: u8) -> usize {
    let mut model = 0;
    if decoders.contains(Decoders::FAST) {
        model = max(model, codec::model_bytes(CodecId::Fast, coder_profile));
    }
    if decoders.contains(Decoders::SMALLEST) {
        model = max(model, codec::model_bytes(CodecId::Smallest, coder_profile));
    }
    let slack = if model > 0 { ALIGN_SLACK } else { 0 };
    STAGING_LEN + MIN_OUTPUT_LEN + model + slack + segment_buffer_len(segment_log2)
}

const fn max(a: usize, b: usize) -> usize {
    if a > b { a } else { b }
}

/// The work buffer, split.
pub(crate) struct Workspace<'w> {
    pub(crate) staging: &'w mut [u8],
    pub(crate) output: &'w mut [u8],
    pub(crate) model: &'w mut [u16],
    pub(crate) segment: &'w mut [u8],
}

impl<'w> Workspace<'w> {
    /// Splits `work` for `header`, checking that the header's stated requirement covers what
    /// the decoders need and that the buffer meets the stated requirement.
    pub(crate) fn split(header: &BundleHeader, work: &'w mut [u8]) -> Result<Self, Error> {
        // Before anything is written: a decoder this build lacks cannot apply the bundle.
        let missing = header.decoders.0 & !Decoders::BUILT;
        if missing != 0 {
            return Err(Error::DecoderNotBuilt { decoders: missing });
        }
        let needed = required_work_len(header.decoders, header.coder_profile, header.segment_log2);
        if (header.ram_required as usize) < needed {
            return Err(Error::RamRequirementUnderstated {
                stated: header.ram_required,
                needed,
            });
        }
        if work.len() < header.ram_required as usize {
            return Err(Error::WorkBufferTooSmall {
                needed: header.ram_required as usize,
                got: work.len(),
            });
        }
        let work_len = work.len();
        let (segment, work) = work.split_at_mut(segment_buffer_len(header.segment_log2));
        let model_len = needed - segment.len() - STAGING_LEN - MIN_OUTPUT_LEN;
        let (model, rest) = work.split_at_mut(model_len);
        // Probabilities are u16: skip a byte if the buffer starts unaligned.
        let skip = model
            .as_ptr()
            .align_offset(core::mem::align_of::<u16>())
            .min(model.len());
        let model = &mut model[skip..];
        let even = model.len() & !1;
        // No model (stored and fast bundles): nothing to cast, at any alignment of `work`.
        // Otherwise aligned and even, so the cast succeeds; `try_` keeps bytemuck's panic (and
        // the message formatting it links) out of the firmware.
        let model: &mut [u16] = match even {
            0 => &mut [],
            _ => bytemuck::try_cast_slice_mut(&mut model[..even]).map_err(|_| {
                Error::WorkBufferTooSmall {
                    needed: header.ram_required as usize,
                    got: work_len,
                }
            })?,
        };
        let (staging, rest) = rest.split_at_mut(STAGING_LEN);
        // The output buffer is a power of two so that flash writes stay aligned to it.
        let output_len = prev_power_of_two(rest.len());
        let (output, _) = rest.split_at_mut(output_len);
        Ok(Self {
            staging,
            output,
            model,
            segment,
        })
    }
}

fn prev_power_of_two(n: usize) -> usize {
    if n == 0 {
        0
    } else {
        1 << (usize::BITS - 1 - n.leading_zeros())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::testing::{chunk, forged};
    use crate::format::header::tests::sample;

    #[test]
    fn the_stated_ram_covers_the_decoders_and_the_buffer_covers_the_statement() {
        let (mut header, _) = forged(&chunk(64, 0, &[0; 64]), &[], 64);
        let needed = header.ram_required as usize;
        let mut work = vec![0u8; needed + 100];
        assert!(Workspace::split(&header, &mut work).is_ok());
        header.ram_required = needed as u32 - 1;
        assert!(matches!(
            Workspace::split(&header, &mut work),
            Err(Error::RamRequirementUnderstated { stated, needed: n })
                if stated as usize == needed - 1 && n == needed
        ));
        header.ram_required = needed as u32 + 100;
        assert!(matches!(
            Workspace::split(&header, &mut work[..needed + 99]),
            Err(Error::WorkBufferTooSmall { needed: n, got })
                if n == needed + 100 && got == needed + 99
        ));
    }

    #[test]
    fn a_buffer_at_any_address_serves_bundles_without_a_model() {
        // Stored and fast need no model RAM: an odd start address must not matter (one of
        // the two offsets below is odd). A misaligned empty slice once made the cast fail.
        let (mut header, _) = forged(&chunk(64, 0, &[0; 64]), &[], 64);
        header.decoders = Decoders(Decoders::STORED | Decoders::FAST);
        let needed = required_work_len(header.decoders, header.coder_profile, header.segment_log2);
        header.ram_required = needed as u32;
        let mut work = vec![0u8; needed + 1];
        for offset in 0..2 {
            assert!(Workspace::split(&header, &mut work[offset..offset + needed]).is_ok());
        }
    }

    #[test]
    fn built_decoders_follow_the_features() {
        let built = Decoders::built();
        assert!(built.contains(Decoders::STORED));
        assert_eq!(built.contains(Decoders::FAST), cfg!(feature = "fast"));
        assert_eq!(
            built.contains(Decoders::SMALLEST),
            cfg!(feature = "smallest")
        );
    }

    #[test]
    fn refuses_a_bundle_whose_decoders_are_not_built() {
        // Every decoder this build lacks (an unknown bit when it has them all): refused
        // before the buffer is touched.
        let missing = match !Decoders::BUILT & Decoders::ALL {
            0 => 1 << 15,
            bits => bits,
        };
        let mut header = sample();
        header.decoders = Decoders(Decoders::STORED | missing);
        let mut work = [0u8; 64 << 10];
        header.ram_required = work.len() as u32;
        assert_eq!(
            Workspace::split(&header, &mut work).err(),
            Some(Error::DecoderNotBuilt { decoders: missing })
        );
        header.decoders = Decoders(Decoders::BUILT);
        header.coder_profile = 0;
        assert!(Workspace::split(&header, &mut work).is_ok());
    }
}
