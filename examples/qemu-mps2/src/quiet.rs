//! The minimal appliers' ending: their two RAM figures, the result line and the exit code,
//! without `core::fmt` (whose code would otherwise dominate their size).

use crate::exit::{FAILED, OK, REJECTED, exit};
use crate::flow::{Figures, Outcome};
use crate::hex::{decimal, print, sha256_hex};
use crate::stack;

/// Prints the work buffer and the peak stack since reset (measured first, so printing does
/// not count).
pub fn report(work_len: usize) {
    let peak_stack = stack::peak();
    let mut digits = [0; 10];
    print(b"work buffer       ");
    print(decimal(work_len as u32, &mut digits));
    print(b" bytes\npeak stack        ");
    print(decimal(peak_stack as u32, &mut digits));
    print(b" bytes\n");
}

/// Prints the work buffer and the peak stack since reset (measured first, so printing does
/// not count), then `MALLORN OK <sha256>`, `MALLORN REJECTED` or `MALLORN FAILED`, and exits
/// with the matching code.
pub fn finish(outcome: Outcome, figures: &Figures) -> ! {
    report(figures.work_len);
    match outcome {
        Outcome::Applied { sha256, .. } => {
            print(b"MALLORN OK ");
            print(&sha256_hex(&sha256));
            print(b"\n");
            exit(OK)
        }
        Outcome::Rejected { .. } => {
            print(b"MALLORN REJECTED\n");
            exit(REJECTED)
        }
        Outcome::Failed(_) => {
            print(b"MALLORN FAILED\n");
            exit(FAILED)
        }
    }
}
