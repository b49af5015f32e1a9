//! The caller-allocated storage of the updater and the session: opaque to C, sized and
//! aligned for the Rust values they hold (checked at compile time on every target), and
//! tagged so that a call on storage that was never opened, or was closed, is refused.

use core::mem::{align_of, size_of};
use core::ptr::{addr_of, addr_of_mut};

use mallorn_runtime::storage::{UpdateSession, Updater};

use crate::flash::CFlash;
use crate::status::mallorn_status_t;
use crate::types::check_ptr;

/// Bytes of a `mallorn_updater_t`: an upper bound over the supported targets (the updater
/// is 448 bytes on 32-bit targets, 504 on 64-bit hosts), with room for the runtime to grow.
pub const MALLORN_UPDATER_SIZE: usize = 576;
/// Alignment of a `mallorn_updater_t`.
pub const MALLORN_UPDATER_ALIGN: usize = 8;
/// Bytes of a `mallorn_session_t`: an upper bound over the supported targets (the session
/// is 960 bytes on 32-bit targets, 1,072 on 64-bit hosts).
pub const MALLORN_SESSION_SIZE: usize = 1152;
/// Alignment of a `mallorn_session_t`.
pub const MALLORN_SESSION_ALIGN: usize = 8;

/// Storage for an open updater. Allocate it anywhere (static, stack, heap) and keep it in
/// place while open: sessions point into it. Never copy an open one.
#[repr(C)]
pub struct mallorn_updater_t {
    /// Opaque: `MALLORN_UPDATER_SIZE` bytes (uint64_t for the alignment).
    pub opaque: [u64; 72],
}

/// Storage for a session in progress. It points into its updater and work buffer, which must
/// stay in place until `mallorn_session_finish` or `mallorn_session_abort`.
#[repr(C)]
pub struct mallorn_session_t {
    /// Opaque: `MALLORN_SESSION_SIZE` bytes (uint64_t for the alignment).
    pub opaque: [u64; 144],
}

/// What a `mallorn_updater_t` holds.
///
/// cbindgen:ignore
#[repr(C)]
pub(crate) struct UpdaterSlot {
    pub(crate) magic: u32,
    /// A session borrows `updater`: nothing else may touch it until the session ends.
    pub(crate) session_open: bool,
    /// A C call on the updater (or on its session) is running: a flash callback calling back
    /// into it is refused rather than given an updater that is already borrowed.
    pub(crate) in_call: bool,
    pub(crate) updater: Updater<CFlash>,
}

/// What a `mallorn_session_t` holds. `'static` stands for "until finish or abort": the
/// updater and work buffer it borrows are the caller's, kept in place as documented.
///
/// cbindgen:ignore
#[repr(C)]
pub(crate) struct SessionSlot {
    pub(crate) magic: u32,
    pub(crate) owner: *mut UpdaterSlot,
    pub(crate) session: UpdateSession<'static, 'static, CFlash>,
}

const _: () = assert!(size_of::<mallorn_updater_t>() == MALLORN_UPDATER_SIZE);
const _: () = assert!(size_of::<UpdaterSlot>() <= size_of::<mallorn_updater_t>());
const _: () = assert!(align_of::<UpdaterSlot>() <= align_of::<mallorn_updater_t>());
const _: () = assert!(align_of::<mallorn_updater_t>() == MALLORN_UPDATER_ALIGN);
const _: () = assert!(size_of::<mallorn_session_t>() == MALLORN_SESSION_SIZE);
const _: () = assert!(size_of::<SessionSlot>() <= size_of::<mallorn_session_t>());
const _: () = assert!(align_of::<SessionSlot>() <= align_of::<mallorn_session_t>());
const _: () = assert!(align_of::<mallorn_session_t>() == MALLORN_SESSION_ALIGN);

pub(crate) const UPDATER_MAGIC: u32 = 0x4d4c_5255; // "MLRU"
pub(crate) const SESSION_MAGIC: u32 = 0x4d4c_5253; // "MLRS"
/// An updater being opened or provisioned into the storage: not open yet, and busy.
const OPENING: u32 = 0x4d4c_524f; // "MLRO"
const CLOSED: u32 = 0;

impl UpdaterSlot {
    /// The slot in `storage` if it holds an open updater.
    ///
    /// # Safety
    /// `storage` is NULL or points to a `mallorn_updater_t`.
    pub(crate) unsafe fn open_at(
        storage: *mut mallorn_updater_t,
    ) -> Result<*mut UpdaterSlot, mallorn_status_t> {
        check_ptr(storage)?;
        let slot = storage.cast::<UpdaterSlot>();
        // SAFETY: `storage` is a valid `mallorn_updater_t`, large and aligned enough for a
        // slot (asserted above); the tag is read as a plain integer, whatever the bytes are.
        if unsafe { addr_of!((*slot).magic).read() } != UPDATER_MAGIC {
            return Err(mallorn_status_t::MALLORN_ERR_NOT_OPEN);
        }
        Ok(slot)
    }

    /// The open updater in `storage`, if no session borrows it and no other call on it is
    /// running, marked in use until the returned guard drops.
    ///
    /// # Safety
    /// As [`UpdaterSlot::open_at`]; the storage stays in place while the guard lives.
    pub(crate) unsafe fn updater<'a>(
        storage: *mut mallorn_updater_t,
    ) -> Result<(&'a mut Updater<CFlash>, InCall), mallorn_status_t> {
        // SAFETY: forwarded contract.
        let slot = unsafe { Self::open_at(storage)? };
        // SAFETY: the slot is open (tagged), so its fields are initialised; with no session
        // open and no call running nothing else borrows `updater`.
        unsafe {
            if addr_of!((*slot).session_open).read() || addr_of!((*slot).in_call).read() {
                return Err(mallorn_status_t::MALLORN_ERR_BUSY);
            }
            let call = InCall::enter(slot);
            Ok((&mut *addr_of_mut!((*slot).updater), call))
        }
    }

    /// Marks `storage` as being opened: refused by `open`, `provision` and `close`, not open
    /// for the other calls, until [`UpdaterSlot::install`] or [`UpdaterSlot::close`].
    ///
    /// # Safety
    /// `storage` points to a `mallorn_updater_t` that holds no busy updater.
    pub(crate) unsafe fn opening(storage: *mut mallorn_updater_t) {
        // SAFETY: writing the tag integer of valid storage.
        unsafe { addr_of_mut!((*storage.cast::<UpdaterSlot>()).magic).write(OPENING) }
    }

    /// Puts a freshly opened updater into `storage`.
    ///
    /// # Safety
    /// `storage` points to a `mallorn_updater_t` that holds no open updater with a session.
    pub(crate) unsafe fn install(storage: *mut mallorn_updater_t, updater: Updater<CFlash>) {
        let slot = UpdaterSlot {
            magic: UPDATER_MAGIC,
            session_open: false,
            in_call: false,
            updater,
        };
        // SAFETY: size and alignment asserted above; an updater previously there is
        // overwritten without being dropped (it owns no resources).
        unsafe { storage.cast::<UpdaterSlot>().write(slot) }
    }

    /// Marks `storage` closed (nothing to release: the updater owns no resources).
    ///
    /// # Safety
    /// `storage` points to a `mallorn_updater_t`.
    pub(crate) unsafe fn close(storage: *mut mallorn_updater_t) {
        // SAFETY: writing the tag integer of valid storage.
        unsafe { addr_of_mut!((*storage.cast::<UpdaterSlot>()).magic).write(CLOSED) }
    }

    /// Whether an open updater in `storage` has a session in progress or a call running, or
    /// an updater is being opened into it.
    ///
    /// # Safety
    /// `storage` is non-NULL and points to a `mallorn_updater_t`.
    pub(crate) unsafe fn is_busy(storage: *mut mallorn_updater_t) -> bool {
        let slot = storage.cast::<UpdaterSlot>();
        // SAFETY: tag read as an integer; the flags only read when the tag says open.
        unsafe {
            match addr_of!((*slot).magic).read() {
                OPENING => true,
                UPDATER_MAGIC => {
                    addr_of!((*slot).session_open).read() || addr_of!((*slot).in_call).read()
                }
                _ => false,
            }
        }
    }
}

/// An updater in use for the length of one C call (on it or on its session). A flash
/// callback that calls back into it, which the docs forbid, is refused with
/// `MALLORN_ERR_BUSY` instead of reaching an updater (or session) already borrowed.
pub(crate) struct InCall(*mut UpdaterSlot);

impl InCall {
    /// Marks `slot` in use.
    ///
    /// # Safety
    /// `slot` is an open updater slot that stays in place while the guard lives.
    unsafe fn enter(slot: *mut UpdaterSlot) -> Self {
        // SAFETY: only the flag field of valid storage.
        unsafe { addr_of_mut!((*slot).in_call).write(true) };
        Self(slot)
    }
}

impl Drop for InCall {
    fn drop(&mut self) {
        // SAFETY: the slot stays in place while the guard lives (`InCall::enter`).
        unsafe { addr_of_mut!((*self.0).in_call).write(false) }
    }
}

impl SessionSlot {
    /// The slot in `storage` if it holds a session in progress.
    ///
    /// # Safety
    /// `storage` is NULL or points to a `mallorn_session_t`.
    pub(crate) unsafe fn open_at(
        storage: *mut mallorn_session_t,
    ) -> Result<*mut SessionSlot, mallorn_status_t> {
        check_ptr(storage)?;
        let slot = storage.cast::<SessionSlot>();
        // SAFETY: as in `UpdaterSlot::open_at`.
        if unsafe { addr_of!((*slot).magic).read() } != SESSION_MAGIC {
            return Err(mallorn_status_t::MALLORN_ERR_NOT_OPEN);
        }
        Ok(slot)
    }

    /// The session in `storage`, if it is in progress and no other call on it (or on its
    /// updater) is running, marked in use until the returned guard drops.
    ///
    /// # Safety
    /// As [`SessionSlot::open_at`].
    pub(crate) unsafe fn enter(
        storage: *mut mallorn_session_t,
    ) -> Result<(*mut SessionSlot, InCall), mallorn_status_t> {
        // SAFETY: forwarded contract.
        let slot = unsafe { Self::open_at(storage)? };
        // SAFETY: the slot is open, so `owner` is the open updater slot it borrows, which the
        // caller keeps in place until the session ends.
        unsafe {
            let owner = addr_of!((*slot).owner).read();
            if addr_of!((*owner).in_call).read() {
                return Err(mallorn_status_t::MALLORN_ERR_BUSY);
            }
            Ok((slot, InCall::enter(owner)))
        }
    }

    /// Closes `slot`, drops its session where it lies (not moved out onto the stack first)
    /// and releases its updater.
    ///
    /// # Safety
    /// `slot` comes from [`SessionSlot::open_at`].
    pub(crate) unsafe fn close(slot: *mut SessionSlot) {
        // SAFETY: the slot is tagged open, so `session` and `owner` are initialised; the tag
        // is cleared first so the dropped session is never read again.
        unsafe {
            addr_of_mut!((*slot).magic).write(CLOSED);
            let owner = addr_of!((*slot).owner).read();
            core::ptr::drop_in_place(addr_of_mut!((*slot).session));
            // Only the flag field: the session borrowed `updater`.
            addr_of_mut!((*owner).session_open).write(false);
        }
    }
}
