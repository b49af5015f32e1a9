//! A measurement, not a way to update a device: the applier's decoding core alone, for
//! comparison with patch appliers such as detools or HPatchLite, which leave the rest to the
//! firmware. It parses the unsigned bundle's header, authenticates each payload segment
//! against the header's payload hash, decodes into slot B (every program read back) and
//! reads slot B back against the header's result hash.
//!
//! It leaves out everything that makes an update safe, which `min-unsigned` pays for: the
//! signature, the SKU, model and anti-rollback checks, the base check, and the journal (resume
//! after a power cut, A/B bookkeeping, trial boot, confirm and revert). `run-qemu-tests.sh`
//! reports it as the `*-stream` applier costs (docs/qemu.md). Built only with this example's
//! `dev-unsigned` feature.
#![no_std]
#![no_main]

use core::cell::RefCell;

use cortex_m_rt::entry;
use embedded_storage::nor_flash::{NorFlashError, ReadNorFlash};
use mallorn_qemu_mps2::exit::{FAILED, OK, exit};
use mallorn_qemu_mps2::flow::{FRAGMENT_LEN, SCRATCH_LEN, program_slot_a};
use mallorn_qemu_mps2::generated::{BUNDLE_UNSIGNED, OLD_MODEL, WORK_LEN, okay_nabu};
use mallorn_qemu_mps2::hex::print;
use mallorn_qemu_mps2::{Flash, quiet};
use mallorn_runtime::Error;
use mallorn_runtime::apply::PayloadStream;
use mallorn_runtime::format::{BundleHeader, HEADER_LEN, SIGNED_BUNDLE_PREFIX};
use mallorn_runtime::hash::Sha256;
use mallorn_runtime::storage::{FlashBase, FlashGeometry, FlashResult};

#[entry]
fn main() -> ! {
    static mut WORK: [u8; WORK_LEN] = [0; WORK_LEN];
    static mut RADIO: [u8; FRAGMENT_LEN] = [0; FRAGMENT_LEN];

    let Some(mut flash) = Flash::take() else {
        exit(FAILED)
    };
    if !flash.matches_generated_base() || program_slot_a(&mut flash, OLD_MODEL).is_err() {
        exit(FAILED)
    }
    let flash = RefCell::new(flash);
    let applied = apply(&flash, WORK, RADIO);
    quiet::report(applied.unwrap_or(0));
    if applied.is_ok() {
        print(b"MALLORN STREAM OK\n");
        exit(OK)
    }
    print(b"MALLORN FAILED\n");
    exit(FAILED)
}

/// Decodes the bundle's payload into slot B, fed in radio-sized fragments, and checks that
/// slot B reads back as the header's result; returns the work buffer the bundle states it
/// needs (the figure to report).
#[inline(never)]
fn apply(
    flash: &RefCell<Flash>,
    work: &mut [u8],
    radio: &mut [u8; FRAGMENT_LEN],
) -> Result<usize, Error> {
    let mut header_bytes = [0u8; HEADER_LEN];
    header_bytes.copy_from_slice(&BUNDLE_UNSIGNED[..HEADER_LEN]);
    let header = BundleHeader::parse(&header_bytes)?;
    let mut stream = PayloadStream::new(&header, work)?;
    let mut base = FlashBase::new(flash, okay_nabu::LAYOUT.slot_a);
    let geometry = FlashGeometry::of::<Flash>();
    let mut result = FlashResult::new(flash, okay_nabu::LAYOUT.slot_b, geometry, 0)?;
    for piece in BUNDLE_UNSIGNED[SIGNED_BUNDLE_PREFIX..].chunks(FRAGMENT_LEN) {
        let wire = &mut radio[..piece.len()];
        wire.copy_from_slice(piece);
        let mut rest: &[u8] = wire;
        // A completed chunk returns early: put it on flash, then feed the rest.
        loop {
            let fed = stream.feed(rest, &mut base, &mut result)?;
            rest = &rest[fed.consumed..];
            if fed.checkpoint.is_none() {
                break;
            }
            result.sync()?;
        }
    }
    stream.finish()?;
    result.sync()?;
    if slot_b_hash(flash, header.result_len)? != header.result_sha256 {
        return Err(Error::ResultHashMismatch);
    }
    Ok(header.ram_required as usize)
}

/// SHA-256 of the first `len` bytes of slot B, read back from flash.
#[inline(never)]
fn slot_b_hash(flash: &RefCell<Flash>, len: u64) -> Result<[u8; 32], Error> {
    let slot = okay_nabu::LAYOUT.slot_b;
    let mut hasher = Sha256::new();
    let mut buf = [0u8; SCRATCH_LEN];
    let mut at = 0;
    while at < len {
        let n = (len - at).min(SCRATCH_LEN as u64) as usize;
        let read = &mut buf[..n];
        flash
            .borrow_mut()
            .read(slot.offset + at as u32, read)
            .map_err(|e| Error::Flash(e.kind()))?;
        hasher.update(read);
        at += n as u64;
    }
    Ok(hasher.finalize())
}
