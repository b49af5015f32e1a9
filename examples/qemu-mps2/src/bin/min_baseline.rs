//! The minimal appliers with the Mallorn calls taken out: the same startup, flash driver,
//! factory programming of slot A, read-back, output and exit, and no update. The applier's
//! code size is a minimal applier's `.text + .rodata` minus this firmware's
//! (`run-qemu-tests.sh` prints it per configuration).
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use embedded_storage::nor_flash::ReadNorFlash;
use mallorn_qemu_mps2::exit::{FAILED, OK, exit};
use mallorn_qemu_mps2::generated::{OLD_MODEL, okay_nabu};
use mallorn_qemu_mps2::hex::print;
use mallorn_qemu_mps2::{Flash, flow, quiet};

#[entry]
fn main() -> ! {
    let Some(mut flash) = Flash::take() else {
        exit(FAILED)
    };
    if !flash.matches_generated_base() || flow::program_slot_a(&mut flash, OLD_MODEL).is_err() {
        exit(FAILED)
    }
    // Read slot A back, as the appliers read their slots, and compare.
    let mut buf = [0u8; 256];
    let mut same = true;
    for (i, expected) in OLD_MODEL.chunks(buf.len()).enumerate() {
        let at = okay_nabu::LAYOUT.slot_a.offset + (i * buf.len()) as u32;
        let read = &mut buf[..expected.len()];
        same &= flash.read(at, read).is_ok() && read == expected;
    }
    quiet::report(0);
    if same {
        print(b"MALLORN BASELINE OK\n");
        exit(OK)
    }
    print(b"MALLORN FAILED\n");
    exit(FAILED)
}
