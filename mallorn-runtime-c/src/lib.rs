//! The C ABI of `mallorn-runtime`: every step of a device's update lifecycle (provision,
//! open, boot decision, begin with admission, feed, finish, confirm, cancel, state query)
//! for C and C++ firmware, with flash access through caller-supplied callbacks.
//!
//! This crate is a thin adapter: the wire format, the checks and the state machine are the
//! runtime's. It adds what C needs: opaque, caller-allocated storage for the updater and the
//! session (sizes and alignments exported as constants), a flash driver made of callbacks
//! whose geometry is known only at run time, status codes instead of `Result`, and a check
//! of every pointer and length it is given. It allocates nothing. The header
//! `include/mallorn_runtime.h` is generated from this source by cbindgen.
//!
//! On bare-metal targets it is `#![no_std]`; on hosted targets (the host tests) it links
//! `std`, where a panic in an `extern "C"` function aborts rather than unwinding into C.
#![cfg_attr(target_os = "none", no_std)]
#![allow(
    unsafe_code,
    reason = "the C ABI: raw pointers from C are checked, then turned into references here"
)]
#![allow(
    non_camel_case_types,
    reason = "the exported types carry their C names (mallorn_*_t)"
)]

mod flash;
mod hash;
mod session;
mod status;
mod storage;
mod types;
mod updater;

pub use flash::{CFlash, mallorn_flash_t};
pub use hash::mallorn_sha256;
pub use session::*;
pub use status::{mallorn_status_t, mallorn_strerror};
pub use storage::{
    MALLORN_SESSION_ALIGN, MALLORN_SESSION_SIZE, MALLORN_UPDATER_ALIGN, MALLORN_UPDATER_SIZE,
    mallorn_session_t, mallorn_updater_t,
};
pub use types::*;
pub use updater::*;

#[cfg(all(target_os = "none", feature = "panic-handler", not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    // Nothing reachable from the C functions panics by design (every pointer and length is
    // checked first); should the runtime ever panic, park the core for the watchdog.
    loop {
        core::hint::spin_loop();
    }
}
