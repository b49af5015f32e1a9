//! The updater's C functions: provision, open, boot decision, confirm, cancel, state query,
//! slot reads, close.

use mallorn_runtime::storage::{FlashLayout, Updater};

use crate::flash::{CFlash, mallorn_flash_t};
use crate::status::{mallorn_status_t, status_of};
use crate::storage::{UpdaterSlot, mallorn_updater_t};
use crate::types::{
    buffer_len, check_ptr, mallorn_boot_policy_t, mallorn_boot_t, mallorn_image_t,
    mallorn_layout_t, mallorn_state_t, slot_from,
};

use mallorn_status_t as S;

/// Turns an early return's status into the function's result.
macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(status) => return status,
        }
    };
}
pub(crate) use tri;

/// Checks the arguments shared by open and provision: storage not in use by a session, and
/// the flash callbacks and layout present.
///
/// # Safety
/// Each pointer is NULL or valid for its type.
unsafe fn opening(
    storage: *mut mallorn_updater_t,
    flash: *const mallorn_flash_t,
    layout: *const mallorn_layout_t,
) -> Result<(CFlash, FlashLayout), mallorn_status_t> {
    if storage.is_null() || flash.is_null() || layout.is_null() {
        return Err(S::MALLORN_ERR_NULL_POINTER);
    }
    check_ptr(storage)?;
    check_ptr(flash)?;
    check_ptr(layout)?;
    // SAFETY: non-NULL and valid per the contract.
    if unsafe { UpdaterSlot::is_busy(storage) } {
        return Err(S::MALLORN_ERR_BUSY);
    }
    // SAFETY: non-NULL and valid per the contract.
    let (flash, layout) = unsafe { (&*flash, &*layout) };
    let flash = CFlash::new(flash).ok_or(S::MALLORN_ERR_NULL_POINTER)?;
    Ok((flash, layout.into()))
}

/// Opens the updater over `flash` and `layout` at boot: reads the state journal. Fails with
/// `MALLORN_ERR_JOURNAL_BLANK` on a device never provisioned. `storage` must be zeroed at
/// boot (static storage is, by the C startup; storage on the stack or in a no-init section
/// needs a `memset` first), or closed; it is closed on failure. Refused (`MALLORN_ERR_BUSY`)
/// while `storage` holds an updater with a session in progress or in a call, so stale bytes
/// left by a reset in the middle of a session would refuse it too.
///
/// # Safety
/// Each pointer is NULL or valid for its type; `flash->ctx` and the callbacks stay valid
/// while the updater is open.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mallorn_updater_open(
    storage: *mut mallorn_updater_t,
    flash: *const mallorn_flash_t,
    layout: *const mallorn_layout_t,
) -> mallorn_status_t {
    // SAFETY: forwarded contract.
    let (flash, layout) = tri!(unsafe { opening(storage, flash, layout) });
    let geometry = flash.geometry();
    // SAFETY: checked non-NULL and not busy by `opening`.
    unsafe { UpdaterSlot::opening(storage) };
    install(
        storage,
        Updater::open_with_geometry(flash, layout, geometry),
    )
}

/// Factory provisioning: erases the state region and records that slot `active` (a
/// `mallorn_slot_t` value) holds `image` with anti-rollback counter `committed_counter`.
/// The updater is then open in `storage`.
///
/// # Safety
/// As `mallorn_updater_open`; `image` is NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mallorn_updater_provision(
    storage: *mut mallorn_updater_t,
    flash: *const mallorn_flash_t,
    layout: *const mallorn_layout_t,
    active: u32,
    image: *const mallorn_image_t,
    committed_counter: u64,
) -> mallorn_status_t {
    // SAFETY: forwarded contract.
    let (flash, layout) = tri!(unsafe { opening(storage, flash, layout) });
    tri!(check_ptr(image));
    let Some(active) = slot_from(active) else {
        return S::MALLORN_ERR_INVALID_ARGUMENT;
    };
    // SAFETY: non-NULL and valid per the contract.
    let image = unsafe { &*image }.into();
    let geometry = flash.geometry();
    // SAFETY: checked non-NULL and not busy by `opening`.
    unsafe { UpdaterSlot::opening(storage) };
    let opened =
        Updater::provision_with_geometry(flash, layout, geometry, active, image, committed_counter);
    install(storage, opened)
}

/// Stores an opened updater, or closes the storage and reports why it did not open.
fn install(
    storage: *mut mallorn_updater_t,
    opened: Result<Updater<CFlash>, mallorn_runtime::Error>,
) -> mallorn_status_t {
    match opened {
        // SAFETY: `storage` was checked non-NULL and not busy by `opening`.
        Ok(updater) => unsafe { UpdaterSlot::install(storage, updater) },
        Err(e) => {
            // SAFETY: as above.
            unsafe { UpdaterSlot::close(storage) };
            return e.into();
        }
    }
    S::MALLORN_OK
}

/// Closes the updater (a no-op on closed storage). Refused while a session is in progress.
///
/// # Safety
/// `storage` is NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mallorn_updater_close(
    storage: *mut mallorn_updater_t,
) -> mallorn_status_t {
    tri!(check_ptr(storage));
    // SAFETY: non-NULL and valid per the contract.
    unsafe {
        if UpdaterSlot::is_busy(storage) {
            return S::MALLORN_ERR_BUSY;
        }
        UpdaterSlot::close(storage);
    }
    S::MALLORN_OK
}

/// Decides which model to load at this boot (call once per reset, before loading a model;
/// later calls return the same decision). On an error, load the confirmed model
/// (`mallorn_updater_state`'s `active`).
///
/// # Safety
/// Each pointer is NULL or valid for its type.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mallorn_updater_boot(
    storage: *mut mallorn_updater_t,
    policy: *const mallorn_boot_policy_t,
    out: *mut mallorn_boot_t,
) -> mallorn_status_t {
    if policy.is_null() || out.is_null() {
        return S::MALLORN_ERR_NULL_POINTER;
    }
    tri!(check_ptr(policy).and(check_ptr(out)));
    // SAFETY: forwarded contract.
    let (updater, _call) = tri!(unsafe { UpdaterSlot::updater(storage) });
    // SAFETY: non-NULL and valid per the contract.
    let policy = unsafe { &*policy }.into();
    match updater.boot(policy) {
        Ok(decision) => {
            // SAFETY: non-NULL and valid per the contract.
            unsafe { out.write(decision.into()) };
            S::MALLORN_OK
        }
        Err(e) => e.into(),
    }
}

/// Commits the model on trial (after `mallorn_updater_boot` returned `MALLORN_BOOT_TRIAL` in
/// this power cycle); a no-op when idle.
///
/// # Safety
/// `storage` is NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mallorn_updater_confirm(
    storage: *mut mallorn_updater_t,
) -> mallorn_status_t {
    // SAFETY: forwarded contract.
    let (updater, _call) = tri!(unsafe { UpdaterSlot::updater(storage) });
    status_of(updater.confirm())
}

/// Abandons the update: one in progress or pending is discarded, a trial is rejected (the
/// next boot loads the old model). A no-op when idle. Abort a session first.
///
/// # Safety
/// `storage` is NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mallorn_updater_cancel(
    storage: *mut mallorn_updater_t,
) -> mallorn_status_t {
    // SAFETY: forwarded contract.
    let (updater, _call) = tri!(unsafe { UpdaterSlot::updater(storage) });
    status_of(updater.cancel())
}

/// The state as the journal records it.
///
/// # Safety
/// Each pointer is NULL or valid for its type.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mallorn_updater_state(
    storage: *mut mallorn_updater_t,
    out: *mut mallorn_state_t,
) -> mallorn_status_t {
    tri!(check_ptr(out));
    // SAFETY: forwarded contract.
    let (updater, _call) = tri!(unsafe { UpdaterSlot::updater(storage) });
    let mut state = mallorn_state_t::from(updater.state());
    state.journal_sequence = updater.journal_sequence();
    state.journal_unreadable_slots = updater.journal_unreadable_slots();
    // SAFETY: non-NULL and valid per the contract.
    unsafe { out.write(state) };
    S::MALLORN_OK
}

/// Reads `len` bytes at `offset` of slot `slot` (a `mallorn_slot_t` value) into `buf`: to
/// load or check the booted model. A `len` above `PTRDIFF_MAX` is refused
/// (`MALLORN_ERR_INVALID_ARGUMENT`).
///
/// # Safety
/// `storage` is NULL or valid; `buf` is NULL or valid for `len` bytes of writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mallorn_updater_read_slot(
    storage: *mut mallorn_updater_t,
    slot: u32,
    offset: u64,
    buf: *mut u8,
    len: usize,
) -> mallorn_status_t {
    if buf.is_null() && len > 0 {
        return S::MALLORN_ERR_NULL_POINTER;
    }
    let Some(slot) = slot_from(slot).filter(|_| buffer_len(len)) else {
        return S::MALLORN_ERR_INVALID_ARGUMENT;
    };
    // SAFETY: forwarded contract.
    let (updater, _call) = tri!(unsafe { UpdaterSlot::updater(storage) });
    if len == 0 {
        return S::MALLORN_OK;
    }
    // SAFETY: non-NULL and valid for `len` bytes per the contract.
    let buf = unsafe { core::slice::from_raw_parts_mut(buf, len) };
    status_of(updater.read_slot(slot, offset, buf))
}
