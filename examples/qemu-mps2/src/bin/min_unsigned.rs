//! The same minimal applier without signature verification, for the code-size comparison:
//! it applies the unsigned bundle, and its admission checks the header's structure, SKU,
//! model, counter and base (`UnsignedDevelopmentAdmit`), but links no Ed25519 code. Built only
//! with this example's `dev-unsigned` feature: a device that skips signatures must never ship.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use mallorn_qemu_mps2::exit::{FAILED, exit};
use mallorn_qemu_mps2::flow::{Delivery, FRAGMENT_LEN, SCRATCH_LEN};
use mallorn_qemu_mps2::generated::{self, SKU_ID, WORK_LEN, okay_nabu};
use mallorn_qemu_mps2::{Flash, flow, quiet};
use mallorn_runtime::storage::UnsignedDevelopmentAdmit;

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
    let mut scratch = [0u8; SCRATCH_LEN];
    // The explicit development opt-in: every check but the signature, signed bundles refused.
    let mut admit = UnsignedDevelopmentAdmit::new(SKU_ID, okay_nabu::MODEL_ID, &mut scratch);
    let delivery = Delivery {
        admit: &mut admit,
        bundle: generated::BUNDLE_UNSIGNED,
        tamper: None,
        work: WORK,
        radio: RADIO,
    };
    let (outcome, figures) = flow::run(flash, delivery, &flow::NoMeter);
    quiet::finish(outcome, &figures)
}
