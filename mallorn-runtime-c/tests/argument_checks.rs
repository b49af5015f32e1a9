//! The C ABI's own checks, driven from Rust over a RAM flash: NULL pointers, storage that was
//! never opened, lengths, key counts and slot numbers out of range. The
//! full lifecycle with real bundles is tests/c_api.rs (the C test program).
#![allow(unsafe_code, reason = "calls the C ABI")]

use core::ffi::c_void;
use core::mem::MaybeUninit;
use core::ptr::{null, null_mut};

use mallorn_runtime_c::*;
use mallorn_status_t as S;

const ERASE: u32 = 4096;

/// Flash bytes behind the callbacks.
struct Ram(Vec<u8>);

unsafe extern "C" fn read(ctx: *mut c_void, offset: u32, buf: *mut u8, len: usize) -> i32 {
    // SAFETY: ctx is the test's `Ram`, buf valid for len bytes (the adapter's contract).
    let ram = unsafe { &*ctx.cast::<Ram>() };
    let from = offset as usize;
    unsafe { buf.copy_from_nonoverlapping(ram.0[from..from + len].as_ptr(), len) };
    0
}

unsafe extern "C" fn program(ctx: *mut c_void, offset: u32, data: *const u8, len: usize) -> i32 {
    // SAFETY: as in `read`.
    let ram = unsafe { &mut *ctx.cast::<Ram>() };
    let data = unsafe { core::slice::from_raw_parts(data, len) };
    for (cell, byte) in ram.0[offset as usize..].iter_mut().zip(data) {
        *cell &= byte;
    }
    0
}

unsafe extern "C" fn erase(ctx: *mut c_void, from: u32, to: u32) -> i32 {
    // SAFETY: as in `read`.
    let ram = unsafe { &mut *ctx.cast::<Ram>() };
    ram.0[from as usize..to as usize].fill(0xFF);
    0
}

fn flash(ram: &mut Ram) -> mallorn_flash_t {
    mallorn_flash_t {
        ctx: (ram as *mut Ram).cast(),
        read: Some(read),
        program: Some(program),
        erase: Some(erase),
        read_size: 1,
        write_size: 4,
        erase_size: ERASE,
        capacity: ram.0.len() as u32,
    }
}

fn layout() -> mallorn_layout_t {
    let r = |offset, len| mallorn_region_t { offset, len };
    mallorn_layout_t {
        slot_a: r(0, 4 * ERASE),
        slot_b: r(4 * ERASE, 4 * ERASE),
        state: r(8 * ERASE, 2 * ERASE),
    }
}

const IMAGE: mallorn_image_t = mallorn_image_t {
    len: 100,
    sha256: [1; 32],
};

/// An admission that trusts no key: enough to reach the checks before the bundle's.
const NO_KEYS: mallorn_admission_t = mallorn_admission_t {
    sku_id: [0; 8],
    model_id: [0; 8],
    trusted_keys: null(),
    trusted_key_count: 0,
};

fn provisioned(ram: &mut Ram, storage: *mut mallorn_updater_t) {
    let status =
        unsafe { mallorn_updater_provision(storage, &flash(ram), &layout(), 0, &IMAGE, 3) };
    assert_eq!(status, S::MALLORN_OK);
}

#[test]
fn null_pointers_and_unopened_storage_are_refused() {
    let mut ram = Ram(vec![0xFF; 10 * ERASE as usize]);
    let mut storage = MaybeUninit::<mallorn_updater_t>::zeroed();
    let u = storage.as_mut_ptr();
    let mut state = MaybeUninit::<mallorn_state_t>::uninit();
    unsafe {
        assert_eq!(mallorn_updater_confirm(u), S::MALLORN_ERR_NOT_OPEN);
        assert_eq!(
            mallorn_updater_state(null_mut(), state.as_mut_ptr()),
            S::MALLORN_ERR_NULL_POINTER
        );
        assert_eq!(
            mallorn_updater_open(u, &flash(&mut ram), &layout()),
            S::MALLORN_ERR_JOURNAL_BLANK
        );
        assert_eq!(mallorn_updater_cancel(u), S::MALLORN_ERR_NOT_OPEN);
        let mut no_erase = flash(&mut ram);
        no_erase.erase = None;
        assert_eq!(
            mallorn_updater_open(u, &no_erase, &layout()),
            S::MALLORN_ERR_NULL_POINTER
        );
        assert_eq!(
            mallorn_updater_open(u, null(), &layout()),
            S::MALLORN_ERR_NULL_POINTER
        );
        let bad = mallorn_updater_provision(u, &flash(&mut ram), &layout(), 2, &IMAGE, 3);
        assert_eq!(bad, S::MALLORN_ERR_INVALID_ARGUMENT);
    }
    provisioned(&mut ram, u);
    unsafe {
        assert_eq!(
            mallorn_updater_state(u, null_mut()),
            S::MALLORN_ERR_NULL_POINTER
        );
        assert_eq!(mallorn_updater_state(u, state.as_mut_ptr()), S::MALLORN_OK);
        let state = state.assume_init();
        assert_eq!(state.phase, mallorn_phase_t::MALLORN_PHASE_IDLE);
        assert_eq!((state.active_image, state.committed_counter), (IMAGE, 3));
        assert_eq!(
            mallorn_updater_read_slot(u, 1, 0, null_mut(), 4),
            S::MALLORN_ERR_NULL_POINTER
        );
        let mut buf = [0u8; 4];
        assert_eq!(
            mallorn_updater_read_slot(u, 7, 0, buf.as_mut_ptr(), 4),
            S::MALLORN_ERR_INVALID_ARGUMENT
        );
        let past = u64::from(4 * ERASE) - 2;
        assert_eq!(
            mallorn_updater_read_slot(u, 0, past, buf.as_mut_ptr(), 4),
            S::MALLORN_ERR_SLOT_TOO_SMALL
        );
        assert_eq!(mallorn_updater_close(u), S::MALLORN_OK);
        assert_eq!(mallorn_updater_confirm(u), S::MALLORN_ERR_NOT_OPEN);
    }
}

#[test]
fn a_geometry_the_layout_does_not_fit_is_refused() {
    let mut ram = Ram(vec![0xFF; 10 * ERASE as usize]);
    let mut storage = MaybeUninit::<mallorn_updater_t>::zeroed();
    for (read_size, write_size, erase_size) in [
        (1, 4, 3 * ERASE),
        (1, 3, ERASE),
        (128, 4, ERASE),
        (1, 0, ERASE),
    ] {
        let mut f = flash(&mut ram);
        (f.read_size, f.write_size, f.erase_size) = (read_size, write_size, erase_size);
        let status =
            unsafe { mallorn_updater_provision(storage.as_mut_ptr(), &f, &layout(), 0, &IMAGE, 3) };
        assert_eq!(
            status,
            S::MALLORN_ERR_LAYOUT,
            "{read_size} {write_size} {erase_size}"
        );
    }
}

#[test]
fn begin_checks_its_arguments_before_the_bundle() {
    let mut ram = Ram(vec![0xFF; 10 * ERASE as usize]);
    let mut storage = MaybeUninit::<mallorn_updater_t>::zeroed();
    let u = storage.as_mut_ptr();
    provisioned(&mut ram, u);
    let mut session = MaybeUninit::<mallorn_session_t>::zeroed();
    let s = session.as_mut_ptr();
    let admission = NO_KEYS;
    let prefix = [0u8; MALLORN_BUNDLE_PREFIX_LEN];
    let mut work = [0u8; 64];
    let (p, w) = (prefix.as_ptr(), work.as_mut_ptr());
    unsafe {
        assert_eq!(
            mallorn_session_feed(s, [1u8].as_ptr(), 1),
            S::MALLORN_ERR_NOT_OPEN
        );
        assert_eq!(
            mallorn_session_begin(s, u, &admission, p, 271, w, 64),
            S::MALLORN_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            mallorn_session_begin(s, u, null(), p, 272, w, 64),
            S::MALLORN_ERR_NULL_POINTER
        );
        let many = mallorn_admission_t {
            trusted_key_count: MALLORN_MAX_TRUSTED_KEYS + 1,
            ..admission
        };
        assert_eq!(
            mallorn_session_begin(s, u, &many, p, 272, w, 64),
            S::MALLORN_ERR_TOO_MANY_KEYS
        );
        let dangling = mallorn_admission_t {
            trusted_key_count: 1,
            ..admission
        };
        assert_eq!(
            mallorn_session_begin(s, u, &dangling, p, 272, w, 64),
            S::MALLORN_ERR_NULL_POINTER
        );
        assert_eq!(
            mallorn_session_begin(s, u, &admission, p, 272, w, 64),
            S::MALLORN_ERR_BAD_MAGIC
        );
        // Nothing was written by the refused begin: the updater is still free.
        assert_eq!(mallorn_updater_cancel(u), S::MALLORN_OK);
        assert_eq!(mallorn_session_abort(s), S::MALLORN_OK);
        assert_eq!(
            mallorn_session_finish(s, null_mut()),
            S::MALLORN_ERR_NOT_OPEN
        );
    }
}

#[test]
fn strerror_never_returns_null() {
    for code in [-1, 0, 1, 5, 99, 100, 147, 148, i32::MAX] {
        let text = unsafe { core::ffi::CStr::from_ptr(mallorn_strerror(code)) };
        assert!(!text.is_empty());
    }
}

#[test]
fn lengths_no_buffer_can_have_are_refused() {
    // A length past `isize::MAX` cannot describe a buffer: it is refused as an argument before
    // any slice is made of it (that would be undefined behaviour, and reads past the buffer).
    let mut ram = Ram(vec![0xFF; 10 * ERASE as usize]);
    let mut storage = MaybeUninit::<mallorn_updater_t>::zeroed();
    let u = storage.as_mut_ptr();
    provisioned(&mut ram, u);
    let mut session = MaybeUninit::<mallorn_session_t>::zeroed();
    let s = session.as_mut_ptr();
    let admission = NO_KEYS;
    let prefix = [0u8; MALLORN_BUNDLE_PREFIX_LEN];
    let mut buf = [0u8; 64];
    let mut digest = [0u8; 32];
    for len in [usize::MAX, isize::MAX as usize + 1] {
        unsafe {
            assert_eq!(
                mallorn_sha256(buf.as_ptr(), len, &mut digest),
                S::MALLORN_ERR_INVALID_ARGUMENT
            );
            assert_eq!(
                mallorn_updater_read_slot(u, 0, 0, buf.as_mut_ptr(), len),
                S::MALLORN_ERR_INVALID_ARGUMENT
            );
            assert_eq!(
                mallorn_session_begin(
                    s,
                    u,
                    &admission,
                    prefix.as_ptr(),
                    272,
                    buf.as_mut_ptr(),
                    len
                ),
                S::MALLORN_ERR_INVALID_ARGUMENT
            );
            assert_eq!(
                mallorn_session_feed(s, buf.as_ptr(), len),
                S::MALLORN_ERR_INVALID_ARGUMENT
            );
        }
    }
    // Nothing was started: the updater is free.
    assert_eq!(unsafe { mallorn_updater_cancel(u) }, S::MALLORN_OK);
}

/// Flash whose read callback calls back into the C ABI on the updater reading it (which the
/// docs forbid): every such call must be refused, not run on an updater already in use.
struct CallingBack {
    ram: Ram,
    updater: *mut mallorn_updater_t,
    statuses: Vec<(&'static str, mallorn_status_t)>,
}

unsafe extern "C" fn read_calling_back(
    ctx: *mut c_void,
    offset: u32,
    buf: *mut u8,
    len: usize,
) -> i32 {
    // SAFETY: ctx is the test's `CallingBack`; the calls below get storage that is valid.
    let this = unsafe { &mut *ctx.cast::<CallingBack>() };
    let u = this.updater;
    let mut state = MaybeUninit::<mallorn_state_t>::uninit();
    let mut boot = MaybeUninit::<mallorn_boot_t>::uninit();
    let policy = mallorn_boot_policy_t {
        trial_boots: 1,
        verify_trial_boot: 0,
    };
    let ops = flash(&mut this.ram);
    let calls = unsafe {
        [
            ("state", mallorn_updater_state(u, state.as_mut_ptr())),
            ("boot", mallorn_updater_boot(u, &policy, boot.as_mut_ptr())),
            ("confirm", mallorn_updater_confirm(u)),
            ("cancel", mallorn_updater_cancel(u)),
            ("close", mallorn_updater_close(u)),
            ("open", mallorn_updater_open(u, &ops, &layout())),
            (
                "provision",
                mallorn_updater_provision(u, &ops, &layout(), 1, &IMAGE, 0),
            ),
        ]
    };
    this.statuses.extend(calls);
    unsafe { read((&mut this.ram as *mut Ram).cast(), offset, buf, len) }
}

#[test]
fn a_callback_calling_back_into_its_updater_is_refused() {
    let mut storage = MaybeUninit::<mallorn_updater_t>::zeroed();
    let u = storage.as_mut_ptr();
    let mut device = Box::new(CallingBack {
        ram: Ram(vec![0xFF; 10 * ERASE as usize]),
        updater: u,
        statuses: Vec::new(),
    });
    provisioned(&mut device.ram, u);
    let mut ops = flash(&mut device.ram);
    ops.ctx = (&mut *device as *mut CallingBack).cast();
    ops.read = Some(read_calling_back);
    unsafe {
        assert_eq!(mallorn_updater_open(u, &ops, &layout()), S::MALLORN_OK);
        device.statuses.clear();
        let mut buf = [0u8; 8];
        assert_eq!(
            mallorn_updater_read_slot(u, 0, 0, buf.as_mut_ptr(), 8),
            S::MALLORN_OK
        );
    }
    assert!(!device.statuses.is_empty());
    for (call, status) in &device.statuses {
        assert_eq!(*status, S::MALLORN_ERR_BUSY, "{call}");
    }
    // The updater is free again after the call, and the journal unchanged.
    let mut state = MaybeUninit::<mallorn_state_t>::uninit();
    unsafe {
        assert_eq!(mallorn_updater_state(u, state.as_mut_ptr()), S::MALLORN_OK);
        let state = state.assume_init();
        assert_eq!(state.active, mallorn_slot_t::MALLORN_SLOT_A);
        assert_eq!((state.active_image, state.committed_counter), (IMAGE, 3));
        assert_eq!(mallorn_updater_close(u), S::MALLORN_OK);
    }
}

/// Bytes aligned for any storage, to carve misaligned pointers from.
#[repr(C, align(16))]
struct Aligned([u8; 2 * MALLORN_SESSION_SIZE]);

#[test]
fn misaligned_storage_and_structs_are_refused() {
    // Storage declared as a byte array (`uint8_t buf[MALLORN_UPDATER_SIZE]`) need not be
    // 8-aligned; the Rust values in it must be. A misaligned pointer is refused, not used.
    let mut ram = Ram(vec![0xFF; 10 * ERASE as usize]);
    let mut bytes = Box::new(Aligned([0; 2 * MALLORN_SESSION_SIZE]));
    let odd = unsafe { bytes.0.as_mut_ptr().add(4) };
    let (u, s) = (
        odd.cast::<mallorn_updater_t>(),
        odd.cast::<mallorn_session_t>(),
    );
    let invalid = S::MALLORN_ERR_INVALID_ARGUMENT;
    unsafe {
        assert_eq!(
            mallorn_updater_open(u, &flash(&mut ram), &layout()),
            invalid
        );
        let provision = mallorn_updater_provision(u, &flash(&mut ram), &layout(), 0, &IMAGE, 3);
        assert_eq!(provision, invalid);
        assert_eq!(mallorn_updater_confirm(u), invalid);
        assert_eq!(mallorn_updater_cancel(u), invalid);
        assert_eq!(mallorn_updater_close(u), invalid);
        assert_eq!(mallorn_session_feed(s, null(), 0), invalid);
        assert_eq!(mallorn_session_abort(s), invalid);
        assert_eq!(mallorn_session_finish(s, null_mut()), invalid);
    }
    // Misaligned structs the caller passes or receives.
    let mut storage = MaybeUninit::<mallorn_updater_t>::zeroed();
    let good = storage.as_mut_ptr();
    provisioned(&mut ram, good);
    unsafe {
        assert_eq!(
            mallorn_updater_state(good, odd.cast::<mallorn_state_t>()),
            invalid
        );
        let policy = mallorn_boot_policy_t {
            trial_boots: 1,
            verify_trial_boot: 0,
        };
        assert_eq!(
            mallorn_updater_boot(good, &policy, odd.cast::<mallorn_boot_t>()),
            invalid
        );
        let image = odd.cast::<mallorn_image_t>();
        image.write_unaligned(IMAGE);
        let mut other = MaybeUninit::<mallorn_updater_t>::zeroed();
        let provision =
            mallorn_updater_provision(other.as_mut_ptr(), &flash(&mut ram), &layout(), 0, image, 3);
        assert_eq!(provision, invalid);
        assert_eq!(mallorn_updater_close(good), S::MALLORN_OK);
    }
}

#[test]
fn a_work_buffer_over_the_storage_or_the_prefix_is_refused() {
    // The decoder writes all over `work` while the session lives in its storage and the
    // updater in its own: a work buffer (or a session) laid over another of them is refused
    // before admission, not found out by the model it corrupts.
    let mut ram = Ram(vec![0xFF; 10 * ERASE as usize]);
    let mut storage = MaybeUninit::<mallorn_updater_t>::zeroed();
    let u = storage.as_mut_ptr();
    provisioned(&mut ram, u);
    let mut session = MaybeUninit::<mallorn_session_t>::zeroed();
    let s = session.as_mut_ptr();
    let admission = NO_KEYS;
    let mut bytes = vec![0u8; 4096];
    let mut work = vec![0u8; 4096];
    let p = bytes.as_ptr();
    let invalid = S::MALLORN_ERR_INVALID_ARGUMENT;
    unsafe {
        let cases: [(&str, *mut mallorn_session_t, *const u8, *mut u8, usize); 5] = [
            ("work over the session", s, p, s.cast::<u8>().add(8), 64),
            ("work over the updater", s, p, u.cast::<u8>(), 64),
            (
                "work ending in the updater",
                s,
                p,
                u.cast::<u8>().wrapping_sub(8),
                16,
            ),
            (
                "work over the prefix",
                s,
                p,
                bytes.as_mut_ptr().add(100),
                1000,
            ),
            (
                "session over the updater",
                u.cast(),
                p,
                work.as_mut_ptr(),
                4096,
            ),
        ];
        for (case, session, prefix, w, len) in cases {
            assert_eq!(
                mallorn_session_begin(session, u, &admission, prefix, 272, w, len),
                invalid,
                "{case}"
            );
        }
        // Apart, they go on to admission (which refuses this zeroed prefix).
        assert_eq!(
            mallorn_session_begin(s, u, &admission, p, 272, work.as_mut_ptr(), 4096),
            S::MALLORN_ERR_BAD_MAGIC
        );
        assert_eq!(mallorn_updater_close(u), S::MALLORN_OK);
    }
}
