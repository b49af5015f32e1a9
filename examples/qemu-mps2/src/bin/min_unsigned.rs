//! The same minimal applier without signature verification, for the code-size comparison:
//! it applies the unsigned bundle, and its admission checks the header's structure, SKU,
//! model, counter and base, but links no Ed25519 code. Built only with `dev-unsigned`: a
//! device that skips signatures must never ship.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use mallorn_qemu_mps2::exit::{FAILED, exit};
use mallorn_qemu_mps2::flow::FRAGMENT_LEN;
use mallorn_qemu_mps2::generated::{self, SKU_ID, WORK_LEN, okay_nabu};
use mallorn_qemu_mps2::{Flash, flow, quiet};
use mallorn_runtime::Error;
use mallorn_runtime::format::{BundleHeader, Flags, HEADER_LEN, SIGNATURE_LEN};
use mallorn_runtime::image::BaseImage;
use mallorn_runtime::storage::Admit;
use mallorn_runtime::verify;

/// Admission of unsigned development bundles: every check but the signature.
struct UnsignedAdmit<'s> {
    scratch: &'s mut [u8],
}

impl Admit for UnsignedAdmit<'_> {
    fn admit(
        &mut self,
        header: &[u8; HEADER_LEN],
        signature: &[u8; SIGNATURE_LEN],
        committed_counter: u64,
    ) -> Result<BundleHeader, Error> {
        let parsed = BundleHeader::parse(header)?;
        // Signed bundles cannot be checked here: refuse them rather than skip their check.
        if !parsed.flags.contains(Flags::UNSIGNED) || *signature != [0; SIGNATURE_LEN] {
            return Err(Error::BadSignature);
        }
        verify::check_sku(&parsed, SKU_ID)?;
        verify::check_model(&parsed, okay_nabu::MODEL_ID)?;
        verify::check_counter(&parsed, committed_counter)?;
        Ok(parsed)
    }

    fn check_base<B: BaseImage>(
        &mut self,
        header: &BundleHeader,
        base: &mut B,
    ) -> Result<(), Error> {
        verify::check_base(header, base, self.scratch)
    }
}

#[entry]
fn main() -> ! {
    // `WORK_LEN`: the work RAM every bundle `cargo mallorn build` publishes for this SKU fits in
    // (at most `RAM_BUFFER`, the budget in Mallorn.toml).
    static mut WORK: [u8; WORK_LEN] = [0; WORK_LEN];
    // The radio driver's receive buffer: the fragments' way in, not the applier's stack.
    static mut RADIO: [u8; FRAGMENT_LEN] = [0; FRAGMENT_LEN];

    let Some(flash) = Flash::take() else {
        exit(FAILED)
    };
    let mut scratch = [0u8; 256];
    let mut admit = UnsignedAdmit {
        scratch: &mut scratch,
    };
    let (outcome, figures) = flow::run(
        flash,
        &mut admit,
        generated::BUNDLE_UNSIGNED,
        WORK,
        RADIO,
        None,
        &flow::NoMeter,
    );
    quiet::finish(outcome, &figures)
}
