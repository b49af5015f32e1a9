//! The smallest firmware that applies a signed bundle: factory step, admission with signature
//! verification (`VerifyingAdmit`), streaming apply, trial boot, confirm. It prints only the
//! result line, without `core::fmt`; its size is the code-size figure "with verification".
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use mallorn_qemu_mps2::exit::{FAILED, exit};
use mallorn_qemu_mps2::flow::{Delivery, FRAGMENT_LEN, SCRATCH_LEN};
use mallorn_qemu_mps2::generated::{SKU_ID, TRUSTED_KEYS, WORK_LEN, okay_nabu};
use mallorn_qemu_mps2::{Flash, flow, quiet};
use mallorn_runtime::storage::VerifyingAdmit;

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
    let mut admit = VerifyingAdmit::new(SKU_ID, okay_nabu::MODEL_ID, &TRUSTED_KEYS, &mut scratch);
    let delivery = Delivery {
        admit: &mut admit,
        bundle: mallorn_qemu_mps2::signed_bundle(),
        tamper: None,
        work: WORK,
        radio: RADIO,
    };
    let (outcome, figures) = flow::run(flash, delivery, &flow::NoMeter);
    quiet::finish(outcome, &figures)
}
