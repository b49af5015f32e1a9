//! The example firmware: a device of SKU `mps2-an386` provisioned with okay-nabu 2.0.0
//! receives the signed bundle to 2.1.0 in 512-byte fragments, admits it (signature, SKU,
//! model, anti-rollback counter, base SHA-256), applies it into slot B, resets, boots it on
//! trial, checks it and confirms it. It prints its figures and `MALLORN OK <sha256>` (exit
//! code 0), or `MALLORN REJECTED <reason>` (exit code 2) once it has checked that the old
//! model still boots. Features pick the case: `tamper-header`, `tamper-payload`,
//! `tamper-payload-first` (one bit flipped on the way in: of the signed header, in the middle
//! of the payload, in its first fragment), `profile-tiny` (the bundle coded for the smallest
//! RAM), `full-image` (the published full image instead of the delta), `power-cut` (the power
//! cut when half the payload is applied; the update resumes after the reset).
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
use mallorn_qemu_mps2::clock::{self, Clock};
use mallorn_qemu_mps2::exit::{FAILED, OK, REJECTED, exit};
use mallorn_qemu_mps2::flow::{self, Delivery, FRAGMENT_LEN, Meter, Outcome, SCRATCH_LEN, Tamper};
use mallorn_qemu_mps2::generated::{SKU, SKU_ID, TRUSTED_KEYS, WORK_LEN, factory, okay_nabu};
use mallorn_qemu_mps2::hex::sha256_hex;
use mallorn_qemu_mps2::{Flash, stack};
use mallorn_runtime::format::{BundleHeader, Flags, HEADER_LEN, SIGNED_BUNDLE_PREFIX};
use mallorn_runtime::storage::{UpdateSession, Updater, VerifyingAdmit};

/// The bit this build flips on the way in, if any.
fn tamper(bundle: &[u8]) -> Option<Tamper> {
    if cfg!(feature = "tamper-header") {
        // A bit of the signed result SHA-256: the header still parses, the signature fails.
        Some(Tamper {
            offset: 120,
            mask: 0x01,
        })
    } else if cfg!(feature = "tamper-payload") {
        // A bit in the middle of the payload: refused at its segment, after the segments
        // before it were applied to slot B.
        let payload_len = bundle.len() - SIGNED_BUNDLE_PREFIX;
        Some(Tamper {
            offset: SIGNED_BUNDLE_PREFIX + payload_len / 2,
            mask: 0x10,
        })
    } else if cfg!(feature = "tamper-payload-first") {
        // A bit in the payload's first fragment: segment 0 fails its signed hash, so nothing
        // may be decoded, erased or programmed in slot B.
        Some(Tamper {
            offset: SIGNED_BUNDLE_PREFIX + 100,
            mask: 0x10,
        })
    } else {
        None
    }
}

/// SysTick for time, stack painting for stack.
struct Instruments {
    clock: Clock,
}

impl Meter for Instruments {
    fn ticks(&self) -> u64 {
        self.clock.ticks()
    }

    fn stack_period(&self) -> usize {
        let peak = stack::peak();
        stack::restart();
        peak
    }
}

#[entry]
fn main() -> ! {
    // `WORK_LEN`: the work RAM every bundle `cargo mallorn build` publishes for this SKU fits in
    // (at most `RAM_BUFFER`, the budget in Mallorn.toml).
    static mut WORK: [u8; WORK_LEN] = [0; WORK_LEN];
    // The radio driver's receive buffer: the fragments' way in, not the applier's stack.
    static mut RADIO: [u8; FRAGMENT_LEN] = [0; FRAGMENT_LEN];

    let Some(core) = cortex_m::Peripherals::take() else {
        hprintln!("MALLORN FAILED core peripherals taken twice");
        exit(FAILED)
    };
    let meter = Instruments {
        clock: Clock::start(core.SYST),
    };
    let Some(flash) = Flash::take() else {
        hprintln!("MALLORN FAILED flash taken twice");
        exit(FAILED)
    };
    let bundle = mallorn_qemu_mps2::signed_bundle();
    let tamper = tamper(bundle);
    let mut scratch = [0u8; SCRATCH_LEN];
    let mut admit = VerifyingAdmit::new(SKU_ID, okay_nabu::MODEL_ID, &TRUSTED_KEYS, &mut scratch);
    let delivery = Delivery {
        admit: &mut admit,
        bundle,
        tamper,
        work: WORK,
        radio: RADIO,
    };
    let (outcome, figures) = flow::run(flash, delivery, &meter);
    // Measured before anything is printed: the figure is the update's, not the formatter's.
    let peak_stack = [
        figures.setup_stack,
        figures.admit_stack,
        figures.apply_stack,
        figures.lifecycle_stack,
        figures.cut_stack,
        stack::peak(),
    ]
    .into_iter()
    .max()
    .unwrap_or(0);

    let old = &factory::VERSION;
    hprintln!(
        "mallorn-qemu-mps2: {} {}.{}.{} -> {} on {}",
        okay_nabu::NAME,
        old.major,
        old.minor,
        old.patch,
        okay_nabu::VERSION_STR,
        SKU
    );
    let header: Option<&[u8; HEADER_LEN]> = bundle.first_chunk();
    if let Some(header) = header.and_then(|h| BundleHeader::parse(h).ok()) {
        let kind = if header.flags.contains(Flags::FULL_IMAGE) {
            "full image"
        } else {
            "delta"
        };
        hprintln!(
            "bundle            {} bytes, {}, codec profile {}, {}-byte segments, fed in {}-byte fragments",
            bundle.len(),
            kind,
            header.coder_profile,
            1u32 << header.segment_log2,
            FRAGMENT_LEN
        );
    }
    match tamper {
        Some(t) => hprintln!(
            "tampered          bit mask {:#04x} at bundle byte {}",
            t.mask,
            t.offset
        ),
        None => hprintln!("tampered          no"),
    }
    hprintln!("work buffer       {} bytes", figures.work_len);
    hprintln!(
        "peak stack        {} bytes (factory {}, admission {}, apply {}, boot/confirm {}; {} reserved)",
        peak_stack,
        figures.setup_stack,
        figures.admit_stack,
        figures.apply_stack,
        figures.lifecycle_stack,
        stack::size()
    );
    hprintln!(
        "peak RAM          {} bytes (work buffer + peak stack)",
        figures.work_len + peak_stack
    );
    hprintln!(
        "updater state     Updater {} bytes, UpdateSession {} bytes (on the stack, in its peak)",
        core::mem::size_of::<Updater<&mut Flash>>(),
        core::mem::size_of::<UpdateSession<'static, 'static, &mut Flash>>()
    );
    hprintln!(
        "admission         {} ticks = {} instructions (signature, ids, counter, base SHA-256)",
        figures.admit_ticks,
        clock::instructions(figures.admit_ticks)
    );
    if figures.apply_ticks == 0 {
        hprintln!("apply             not reached");
    } else {
        hprintln!(
            "apply             {} ticks = {} instructions (segment hashes, decode, flash writes and read-back, checkpoints, result read back)",
            figures.apply_ticks,
            clock::instructions(figures.apply_ticks)
        );
    }
    hprintln!(
        "flash             {} blocks erased, {} writes, {} bytes programmed, journal sequence {}",
        figures.flash.blocks_erased,
        figures.flash.writes,
        figures.flash.bytes_written,
        figures.journal_sequence
    );
    hprintln!(
        "slot B ops        {} (erase and program calls on slot B from admission on)",
        figures.flash.watched_ops
    );
    if cfg!(feature = "power-cut") {
        hprintln!(
            "power cut         at payload byte {}; after the reset the old model booted and the update resumed at payload byte {}",
            figures.cut_at,
            figures.resumed_from
        );
        hprintln!(
            "power cut stack   {} bytes (the interrupted attempt: power-on, admission, half the apply)",
            figures.cut_stack
        );
    }
    match outcome {
        Outcome::Applied { slot, sha256 } => {
            hprintln!("active            slot {:?} (new model, confirmed)", slot);
            hprintln!("MALLORN OK {}", Hex(&sha256));
            exit(OK)
        }
        Outcome::Rejected {
            reason,
            active_sha256,
        } => {
            hprintln!(
                "active            slot A (old model) {}",
                Hex(&active_sha256)
            );
            hprintln!("MALLORN REJECTED {}", reason);
            exit(REJECTED)
        }
        Outcome::Failed(failure) => {
            hprintln!("MALLORN FAILED {:?}", failure);
            exit(FAILED)
        }
    }
}

/// Shows a SHA-256 in lower-case hex.
struct Hex<'a>(&'a [u8; 32]);

impl core::fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let text = sha256_hex(self.0);
        f.write_str(core::str::from_utf8(&text).map_err(|_| core::fmt::Error)?)
    }
}
