//! SHA-256 for the firmware's own checks (a self-test of the booted model against the image
//! `mallorn_updater_boot` reports), with the runtime's implementation.

use mallorn_runtime::hash::Sha256;

use crate::status::mallorn_status_t;

/// Writes the SHA-256 of `len` bytes at `data` to `out` (32 bytes). For memory-mapped slots
/// (the slot's address is `MALLORN_<MODEL>_SLOT_B_ADDRESS` of the generated header); read
/// other flash through `mallorn_updater_read_slot`. A `len` above `PTRDIFF_MAX` is refused
/// (`MALLORN_ERR_INVALID_ARGUMENT`).
///
/// # Safety
/// `data` is NULL or valid for `len` bytes of reads; `out` is NULL or valid for 32 bytes of
/// writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mallorn_sha256(
    data: *const u8,
    len: usize,
    out: *mut [u8; 32],
) -> mallorn_status_t {
    if out.is_null() || (data.is_null() && len > 0) {
        return mallorn_status_t::MALLORN_ERR_NULL_POINTER;
    }
    if !crate::types::buffer_len(len) {
        return mallorn_status_t::MALLORN_ERR_INVALID_ARGUMENT;
    }
    let mut hasher = Sha256::new();
    if len > 0 {
        // SAFETY: non-NULL and valid for `len` bytes per the contract.
        hasher.update(unsafe { core::slice::from_raw_parts(data, len) });
    }
    // SAFETY: non-NULL and valid for 32 bytes per the contract.
    unsafe { out.write(hasher.finalize()) };
    mallorn_status_t::MALLORN_OK
}
