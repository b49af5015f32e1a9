//! The base check: the active slot must hold exactly the model the bundle was built from.
//! The slot is streamed through SHA-256 in a caller-supplied scratch buffer, so the check
//! needs no RAM beyond that buffer whatever the model size.

use crate::error::Error;
use crate::format::header::{BundleHeader, Flags};
use crate::hash::Sha256;
use crate::image::BaseImage;

/// Hashes the first `header.base_len` bytes of `base` and compares them with the header's
/// base SHA-256. Full-image bundles read no base and pass. A base too short for `base_len`
/// is [`Error::WrongBase`]; flash errors are passed on.
pub fn check_base<B: BaseImage>(
    header: &BundleHeader,
    base: &mut B,
    scratch: &mut [u8],
) -> Result<(), Error> {
    if header.flags.contains(Flags::FULL_IMAGE) {
        return Ok(());
    }
    if scratch.is_empty() {
        return Err(Error::WorkBufferTooSmall { needed: 1, got: 0 });
    }
    let mut hash = Sha256::new();
    let mut offset = 0u64;
    while offset < header.base_len {
        // At least one byte per round, so the loop ends after `base_len` bytes.
        let n = scratch
            .len()
            .min(usize::try_from(header.base_len - offset).unwrap_or(usize::MAX));
        let piece = &mut scratch[..n];
        base.read_base(offset, piece).map_err(|e| match e {
            Error::BaseOutOfRange { .. } => Error::WrongBase,
            other => other,
        })?;
        hash.update(piece);
        offset += n as u64;
    }
    if hash.finalize() != header.base_sha256 {
        return Err(Error::WrongBase);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::header::tests::sample;
    use crate::hash::sha256;

    fn header_for(base: &[u8]) -> BundleHeader {
        BundleHeader {
            base_len: base.len() as u64,
            base_sha256: sha256(base),
            ..sample()
        }
    }

    #[test]
    fn accepts_the_right_base_with_any_scratch_size() {
        let base: [u8; 300] = core::array::from_fn(|i| (i * 31) as u8);
        let header = header_for(&base);
        for scratch_len in [1, 7, 64, 299, 300, 1000] {
            let mut scratch = [0u8; 1000];
            let mut image: &[u8] = &base;
            check_base(&header, &mut image, &mut scratch[..scratch_len]).unwrap();
        }
    }

    #[test]
    fn refuses_other_bases() {
        let base = [5u8; 100];
        let header = header_for(&base);
        let mut scratch = [0u8; 16];
        let mut changed = base;
        changed[99] ^= 1;
        let mut image: &[u8] = &changed;
        assert_eq!(
            check_base(&header, &mut image, &mut scratch),
            Err(Error::WrongBase)
        );
        let mut short: &[u8] = &base[..99];
        assert_eq!(
            check_base(&header, &mut short, &mut scratch),
            Err(Error::WrongBase)
        );
        // A longer slot is fine: only base_len bytes belong to the model.
        let longer = [5u8; 120];
        let mut image: &[u8] = &longer;
        check_base(&header, &mut image, &mut scratch).unwrap();
        let mut image: &[u8] = &base;
        assert_eq!(
            check_base(&header, &mut image, &mut []),
            Err(Error::WorkBufferTooSmall { needed: 1, got: 0 })
        );
    }

    #[test]
    fn full_images_read_no_base() {
        let header = BundleHeader {
            flags: Flags(Flags::LOSSLESS | Flags::FULL_IMAGE),
            base_len: 0,
            base_sha256: [0; 32],
            ..sample()
        };
        let mut empty: &[u8] = &[];
        check_base(&header, &mut empty, &mut [0; 4]).unwrap();
    }
}
