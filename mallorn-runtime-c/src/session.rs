//! The session's C functions: begin (admission), feed, progress, finish, abort.

use core::ptr::{addr_of, addr_of_mut};

use mallorn_runtime::format::{HEADER_LEN, SIGNATURE_LEN, SIGNED_BUNDLE_PREFIX};
use mallorn_runtime::storage::{Admitted, UpdateSession, Updater, VerifyingAdmit};
use mallorn_runtime::verify::TrustedKey;

use crate::flash::CFlash;
use crate::status::{mallorn_status_t, status_of};
use crate::storage::{
    MALLORN_SESSION_SIZE, MALLORN_UPDATER_SIZE, SESSION_MAGIC, SessionSlot, UpdaterSlot,
    mallorn_session_t, mallorn_updater_t,
};
use crate::types::{
    MALLORN_MAX_TRUSTED_KEYS, buffer_len, check_ptr, mallorn_admission_t, mallorn_finished_t,
    mallorn_progress_t,
};
use crate::updater::tri;

use mallorn_status_t as S;

/// Bytes of the scratch buffer the base check reads the active slot through.
const BASE_SCRATCH: usize = 256;

/// The trusted keys of `admission`, checked, in a fixed table (only the first `n` are used).
///
/// # Safety
/// `admission.trusted_keys` is NULL or valid for `trusted_key_count` keys.
unsafe fn trusted_keys(
    admission: &mallorn_admission_t,
) -> Result<([TrustedKey; MALLORN_MAX_TRUSTED_KEYS], usize), mallorn_status_t> {
    let n = admission.trusted_key_count;
    if n > MALLORN_MAX_TRUSTED_KEYS {
        return Err(S::MALLORN_ERR_TOO_MANY_KEYS);
    }
    if n > 0 && admission.trusted_keys.is_null() {
        return Err(S::MALLORN_ERR_NULL_POINTER);
    }
    let none = TrustedKey {
        id: [0; 8],
        public_key: [0; 32],
    };
    let mut keys = [none; MALLORN_MAX_TRUSTED_KEYS];
    if n > 0 {
        // SAFETY: non-NULL and valid for `n` keys per the contract.
        let given = unsafe { core::slice::from_raw_parts(admission.trusted_keys, n) };
        for (key, bytes) in keys.iter_mut().zip(given) {
            *key = TrustedKey::new(*bytes).map_err(mallorn_status_t::from)?;
        }
    }
    Ok((keys, n))
}

/// Starts applying a bundle, or resumes it when the journal shows this same bundle in
/// progress. `prefix` is the bundle's first `MALLORN_BUNDLE_PREFIX_LEN` bytes (header and
/// signature); `work` at least the header's `ram_required` bytes (`MALLORN_WORK_LEN` of the
/// generated header covers every bundle built for the SKU), any alignment. Admission
/// (signature against the trusted keys, SKU, model, anti-rollback counter, base SHA-256 of
/// the active slot) runs before anything is written. Refused with
/// `MALLORN_ERR_INVALID_ARGUMENT`: a `work_len` above `PTRDIFF_MAX`, and `work` sharing a
/// byte with the session, the updater or the prefix (or the session with the updater). Then
/// feed the payload from the progress's `payload_offset`. Until `mallorn_session_finish` or `mallorn_session_abort`,
/// the session borrows the updater (its other calls return `MALLORN_ERR_BUSY`) and `work`.
///
/// # Safety
/// `session`, `updater` and `admission` are NULL or valid; `prefix` is NULL or valid for
/// `prefix_len` bytes; `work` is NULL or valid for `work_len` bytes, not otherwise used
/// until the session ends.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mallorn_session_begin(
    session: *mut mallorn_session_t,
    updater: *mut mallorn_updater_t,
    admission: *const mallorn_admission_t,
    prefix: *const u8,
    prefix_len: usize,
    work: *mut u8,
    work_len: usize,
) -> mallorn_status_t {
    if session.is_null() || admission.is_null() || prefix.is_null() || work.is_null() {
        return S::MALLORN_ERR_NULL_POINTER;
    }
    tri!(check_ptr(session).and(check_ptr(admission)));
    if prefix_len != SIGNED_BUNDLE_PREFIX || !buffer_len(work_len) {
        return S::MALLORN_ERR_INVALID_ARGUMENT;
    }
    // The decoder writes all of `work` while the session and the updater live in their
    // storage: none of them may share a byte (nor `work` the prefix admission reads).
    let regions = [
        span(session, MALLORN_SESSION_SIZE),
        span(updater, MALLORN_UPDATER_SIZE),
        span(prefix, prefix_len),
    ];
    let work_span = span(work, work_len);
    if regions.iter().any(|r| overlap(work_span, *r)) || overlap(regions[0], regions[1]) {
        return S::MALLORN_ERR_INVALID_ARGUMENT;
    }
    // SAFETY: forwarded contract. A session in progress in this storage (of another
    // updater) is not overwritten: its updater would stay busy for good.
    if unsafe { SessionSlot::open_at(session) }.is_ok() {
        return S::MALLORN_ERR_BUSY;
    }
    // SAFETY: forwarded contract (the updater is checked open and not busy).
    let owner = tri!(unsafe { UpdaterSlot::open_at(updater) });
    // SAFETY: as above.
    let (up, _call) = tri!(unsafe { UpdaterSlot::updater(updater) });
    // SAFETY: non-NULL and valid per the contract.
    let admission = unsafe { &*admission };
    // SAFETY: forwarded contract.
    let (keys, n) = tri!(unsafe { trusted_keys(admission) });
    // SAFETY: non-NULL and valid for `prefix_len` (checked) bytes per the contract.
    let Prefix { header, signature } = unsafe { &*prefix.cast::<Prefix>() };
    // SAFETY: non-NULL and valid for `work_len` bytes, left to the session until it ends.
    let work: &'static mut [u8] = unsafe { core::slice::from_raw_parts_mut(work, work_len) };
    let mut scratch = [0u8; BASE_SCRATCH];
    let mut admit = VerifyingAdmit::new(
        admission.sku_id,
        admission.model_id,
        keys.get(..n).unwrap_or(&[]),
        &mut scratch,
    );
    // Admission first, from this frame: signature verification is the deepest part of an
    // update, and the session under construction is not on the stack yet.
    let admitted = tri!(
        up.admit(&mut admit, header, signature)
            .map_err(mallorn_status_t::from)
    );
    // SAFETY: `session` is non-NULL and valid; `owner` is the open updater `up` borrows.
    unsafe { start(session, owner, up, &mut admit, &admitted, work) }
}

/// Starts the admitted update and stores its session: in a frame of its own, which holds the
/// session while it is built.
///
/// # Safety
/// As for [`install`], and `up` is the updater of `owner`.
#[inline(never)]
unsafe fn start(
    session: *mut mallorn_session_t,
    owner: *mut UpdaterSlot,
    up: &'static mut Updater<CFlash>,
    admit: &mut VerifyingAdmit<'_, '_>,
    admitted: &Admitted,
    work: &'static mut [u8],
) -> mallorn_status_t {
    match up.begin_admitted(admit, admitted, work) {
        // SAFETY: forwarded contract.
        Ok(s) => unsafe { install(session, owner, s) },
        Err(e) => return e.into(),
    }
    S::MALLORN_OK
}

/// The addresses `[start, end)` of `len` bytes at `p` (`None` when they would wrap).
fn span<T>(p: *const T, len: usize) -> Option<(usize, usize)> {
    let start = p as usize;
    start.checked_add(len).map(|end| (start, end))
}

/// Whether two spans share a byte (a span that wraps the address space overlaps anything).
fn overlap(a: Option<(usize, usize)>, b: Option<(usize, usize)>) -> bool {
    match (a, b) {
        (Some((a0, a1)), Some((b0, b1))) => a0 < b1 && b0 < a1,
        _ => true,
    }
}

/// A bundle's signed prefix, as `mallorn_session_begin` reads it.
#[repr(C)]
struct Prefix {
    header: [u8; HEADER_LEN],
    signature: [u8; SIGNATURE_LEN],
}

const _: () = assert!(core::mem::size_of::<Prefix>() == SIGNED_BUNDLE_PREFIX);
const _: () = assert!(core::mem::align_of::<Prefix>() == 1);

/// Stores a session and marks its updater busy.
///
/// # Safety
/// `session` is valid storage; `owner` is the open updater slot the session borrows.
unsafe fn install(
    session: *mut mallorn_session_t,
    owner: *mut UpdaterSlot,
    s: UpdateSession<'static, 'static, CFlash>,
) {
    let slot = SessionSlot {
        magic: SESSION_MAGIC,
        owner,
        session: s,
    };
    // SAFETY: size and alignment asserted in `storage`; only the flag field of the owner is
    // written, the session borrows its `updater` field.
    unsafe {
        session.cast::<SessionSlot>().write(slot);
        addr_of_mut!((*owner).session_open).write(true);
    }
}

/// Applies the next `len` payload bytes (any number, contiguous from the progress's
/// `payload_offset`; a `len` above `PTRDIFF_MAX` is refused with
/// `MALLORN_ERR_INVALID_ARGUMENT`). After `MALLORN_ERR_PAYLOAD_SEGMENT_MISMATCH` the session
/// goes on: feed again from `payload_offset`. After `MALLORN_ERR_PAYLOAD_TOO_LONG` the data went on
/// past the payload's end: the payload was applied, the rest was not used, and the session
/// goes on to `mallorn_session_finish`. After any other error the session has ended: abort it
/// and begin again with the same bundle (it resumes from the last checkpoint, or starts over
/// when the update had to be discarded).
///
/// # Safety
/// `session` is NULL or valid; `data` is NULL or valid for `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mallorn_session_feed(
    session: *mut mallorn_session_t,
    data: *const u8,
    len: usize,
) -> mallorn_status_t {
    if data.is_null() && len > 0 {
        return S::MALLORN_ERR_NULL_POINTER;
    }
    if !buffer_len(len) {
        return S::MALLORN_ERR_INVALID_ARGUMENT;
    }
    // SAFETY: forwarded contract.
    let (slot, _call) = tri!(unsafe { SessionSlot::enter(session) });
    let data = match len {
        0 => &[][..],
        // SAFETY: non-NULL and valid for `len` bytes per the contract.
        _ => unsafe { core::slice::from_raw_parts(data, len) },
    };
    // SAFETY: the slot is open, so `session` is initialised and only reached through it.
    let s = unsafe { &mut *addr_of_mut!((*slot).session) };
    status_of(s.feed(data))
}

/// Where the session stands: the offset to feed from, the payload length, whether it resumed
/// and whether it is complete.
///
/// # Safety
/// Each pointer is NULL or valid for its type.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mallorn_session_progress(
    session: *mut mallorn_session_t,
    out: *mut mallorn_progress_t,
) -> mallorn_status_t {
    tri!(check_ptr(out));
    // SAFETY: forwarded contract.
    let (slot, _call) = tri!(unsafe { SessionSlot::enter(session) });
    // SAFETY: the slot is open, so `session` is initialised.
    let s = unsafe { &*addr_of!((*slot).session) };
    let progress = mallorn_progress_t {
        payload_offset: s.payload_offset(),
        payload_len: s.payload_len(),
        bundle_offset: s.bundle_offset(),
        resumed: s.is_resumed(),
        complete: s.is_complete(),
    };
    // SAFETY: non-NULL and valid per the contract.
    unsafe { out.write(progress) };
    S::MALLORN_OK
}

/// Ends the session: checks the whole payload was applied, reads the result back from the
/// slot, checks its SHA-256 and records the update pending (the next boot tries it). `out`
/// may be NULL. The session storage is closed and the updater free again, whatever the
/// result.
///
/// # Safety
/// `session` is NULL or valid; `out` is NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mallorn_session_finish(
    session: *mut mallorn_session_t,
    out: *mut mallorn_finished_t,
) -> mallorn_status_t {
    if !out.is_null() {
        tri!(check_ptr(out));
    }
    // SAFETY: forwarded contract.
    let (slot, _call) = tri!(unsafe { SessionSlot::enter(session) });
    // SAFETY: the slot is open. The session finishes where it lies: a copy would put a
    // second session on the stack.
    let finished = unsafe { (*addr_of_mut!((*slot).session)).finish() };
    // SAFETY: the slot is open; it closes whatever the result.
    unsafe { SessionSlot::close(slot) };
    match finished {
        Ok(finished) => {
            if !out.is_null() {
                // SAFETY: non-NULL and valid per the contract.
                unsafe { out.write(finished.into()) };
            }
            S::MALLORN_OK
        }
        Err(e) => e.into(),
    }
}

/// Ends the session without finishing (the update stays where the journal has it: `begin`
/// resumes it, `mallorn_updater_cancel` discards it). A no-op on closed storage.
///
/// # Safety
/// `session` is NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mallorn_session_abort(
    session: *mut mallorn_session_t,
) -> mallorn_status_t {
    // SAFETY: forwarded contract.
    match unsafe { SessionSlot::enter(session) } {
        // SAFETY: the slot is open: closing it ends the session and frees the updater.
        Ok((slot, _call)) => unsafe { SessionSlot::close(slot) },
        Err(S::MALLORN_ERR_NOT_OPEN) => {}
        Err(status) => return status,
    }
    S::MALLORN_OK
}
