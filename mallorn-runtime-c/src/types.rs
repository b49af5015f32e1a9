//! The plain structs and enums of the C ABI and their conversions from and to the runtime's
//! types.

use mallorn_runtime::storage::{
    BootDecision, BootKind, BootPolicy, DeviceState, Finished, FlashLayout, Phase, Region, Slot,
    SlotImage,
};

/// Bytes of a bundle's signed header.
pub const MALLORN_HEADER_LEN: usize = 208;
/// Bytes of the signature after the header.
pub const MALLORN_SIGNATURE_LEN: usize = 64;
/// Bytes `mallorn_session_begin` takes: the header and the signature, the start of every
/// bundle. The payload follows them.
pub const MALLORN_BUNDLE_PREFIX_LEN: usize = 272;
/// Most trusted keys one `mallorn_admission_t` may list.
pub const MALLORN_MAX_TRUSTED_KEYS: usize = 8;

const _: () = assert!(MALLORN_HEADER_LEN == mallorn_runtime::format::HEADER_LEN);
const _: () = assert!(MALLORN_SIGNATURE_LEN == mallorn_runtime::format::SIGNATURE_LEN);
const _: () = assert!(MALLORN_BUNDLE_PREFIX_LEN == mallorn_runtime::format::SIGNED_BUNDLE_PREFIX);

/// Whether `len` bytes can be one buffer: no object is larger than `isize::MAX` bytes, and a
/// slice of more is undefined behaviour. Checked on every length C passes before a slice is
/// made of it (`MALLORN_ERR_INVALID_ARGUMENT` otherwise).
pub(crate) const fn buffer_len(len: usize) -> bool {
    len <= isize::MAX as usize
}

/// A pointer C passed, checked: NULL is `MALLORN_ERR_NULL_POINTER`; one not aligned for `T`
/// (storage declared as a byte array, say), which Rust may not read or write through, is
/// `MALLORN_ERR_INVALID_ARGUMENT`.
pub(crate) fn check_ptr<T>(p: *const T) -> Result<(), crate::status::mallorn_status_t> {
    use crate::status::mallorn_status_t as S;
    if p.is_null() {
        Err(S::MALLORN_ERR_NULL_POINTER)
    } else if !p.is_aligned() {
        Err(S::MALLORN_ERR_INVALID_ARGUMENT)
    } else {
        Ok(())
    }
}

/// One of the two model slots.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum mallorn_slot_t {
    /// Slot A.
    MALLORN_SLOT_A = 0,
    /// Slot B.
    MALLORN_SLOT_B = 1,
}

impl From<Slot> for mallorn_slot_t {
    fn from(slot: Slot) -> Self {
        match slot {
            Slot::A => Self::MALLORN_SLOT_A,
            Slot::B => Self::MALLORN_SLOT_B,
        }
    }
}

/// The slot numbered `code` (a `mallorn_slot_t` value), if there is one.
pub(crate) fn slot_from(code: u32) -> Option<Slot> {
    match code {
        0 => Some(Slot::A),
        1 => Some(Slot::B),
        _ => None,
    }
}

/// A byte range of the flash device, from its start (`MALLORN_<MODEL>_SLOT_A_OFFSET` and
/// `_SIZE` of the generated header).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct mallorn_region_t {
    /// First byte.
    pub offset: u32,
    /// Bytes.
    pub len: u32,
}

impl From<Region> for mallorn_region_t {
    fn from(r: Region) -> Self {
        Self {
            offset: r.offset,
            len: r.len,
        }
    }
}

/// Where the two model slots and the state journal are.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct mallorn_layout_t {
    /// Slot A.
    pub slot_a: mallorn_region_t,
    /// Slot B.
    pub slot_b: mallorn_region_t,
    /// The state journal (at least two erase blocks).
    pub state: mallorn_region_t,
}

impl From<&mallorn_layout_t> for FlashLayout {
    fn from(l: &mallorn_layout_t) -> Self {
        let r = |r: mallorn_region_t| Region::new(r.offset, r.len);
        FlashLayout::new(r(l.slot_a), r(l.slot_b), r(l.state))
    }
}

/// A model in a slot: its length and SHA-256.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct mallorn_image_t {
    /// Bytes from the start of the slot.
    pub len: u64,
    /// SHA-256 of those bytes.
    pub sha256: [u8; 32],
}

impl From<SlotImage> for mallorn_image_t {
    fn from(i: SlotImage) -> Self {
        Self {
            len: i.len,
            sha256: i.sha256,
        }
    }
}

impl From<&mallorn_image_t> for SlotImage {
    fn from(i: &mallorn_image_t) -> Self {
        Self {
            len: i.len,
            sha256: i.sha256,
        }
    }
}

/// How the boot decision treats a model on trial (`MALLORN_TRIAL_BOOTS` and
/// `MALLORN_VERIFY_TRIAL_BOOT` of the generated header).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct mallorn_boot_policy_t {
    /// Boots a new model gets before it must be confirmed (0 counts as 1).
    pub trial_boots: u8,
    /// Non-zero: re-hash the trial slot at every trial boot, revert it if it does not match.
    pub verify_trial_boot: u8,
}

impl From<&mallorn_boot_policy_t> for BootPolicy {
    fn from(p: &mallorn_boot_policy_t) -> Self {
        Self {
            trial_boots: p.trial_boots,
            verify_trial_boot: p.verify_trial_boot != 0,
        }
    }
}

/// Why the chosen slot boots.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum mallorn_boot_kind_t {
    /// The confirmed model.
    MALLORN_BOOT_CONFIRMED = 0,
    /// A new model on trial: `mallorn_updater_confirm` once it works.
    MALLORN_BOOT_TRIAL = 1,
    /// The trial boots were used up without a confirm: back to the old model.
    MALLORN_BOOT_REVERTED = 2,
    /// The trial slot no longer matched its SHA-256: back to the old model.
    MALLORN_BOOT_TRIAL_CORRUPT = 3,
}

impl From<BootKind> for mallorn_boot_kind_t {
    fn from(k: BootKind) -> Self {
        match k {
            BootKind::Confirmed => Self::MALLORN_BOOT_CONFIRMED,
            BootKind::Trial => Self::MALLORN_BOOT_TRIAL,
            BootKind::Reverted => Self::MALLORN_BOOT_REVERTED,
            BootKind::TrialCorrupt => Self::MALLORN_BOOT_TRIAL_CORRUPT,
        }
    }
}

/// The model to load at this boot.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct mallorn_boot_t {
    /// The slot to load.
    pub slot: mallorn_slot_t,
    /// Confirmed, trial or reverted.
    pub kind: mallorn_boot_kind_t,
    /// Its flash region.
    pub region: mallorn_region_t,
    /// The model in it.
    pub image: mallorn_image_t,
    /// An interrupted update waits: fetch the bundle identified by `resume_bundle_hash` again
    /// and feed it from `resume_bundle_offset` after `mallorn_session_begin`.
    pub resume: bool,
    /// SHA-256 of the interrupted bundle's header and signature (zero without `resume`).
    pub resume_bundle_hash: [u8; 32],
    /// Bundle offset the interrupted update continues from (0 without `resume`).
    pub resume_bundle_offset: u64,
}

impl From<BootDecision> for mallorn_boot_t {
    fn from(d: BootDecision) -> Self {
        Self {
            slot: d.slot.into(),
            kind: d.kind.into(),
            region: d.region.into(),
            image: d.image.into(),
            resume: d.resume.is_some(),
            resume_bundle_hash: d.resume.map_or([0; 32], |r| r.bundle_hash),
            resume_bundle_offset: d.resume.map_or(0, |r| r.bundle_offset()),
        }
    }
}

/// Where an update stands.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum mallorn_phase_t {
    /// No update.
    MALLORN_PHASE_IDLE = 0,
    /// An update is being written into the inactive slot.
    MALLORN_PHASE_UPDATING = 1,
    /// A verified result waits for the next boot.
    MALLORN_PHASE_PENDING = 2,
    /// The new model is on trial.
    MALLORN_PHASE_TRIAL = 3,
}

/// The device's state as the journal records it.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct mallorn_state_t {
    /// The slot holding the confirmed model.
    pub active: mallorn_slot_t,
    /// Where an update stands.
    pub phase: mallorn_phase_t,
    /// The confirmed model.
    pub active_image: mallorn_image_t,
    /// The committed anti-rollback counter.
    pub committed_counter: u64,
    /// The update's result (zero when idle).
    pub target_image: mallorn_image_t,
    /// The update's security counter (0 when idle).
    pub target_security_counter: u64,
    /// SHA-256 of the update's bundle header and signature (zero when idle).
    pub target_bundle_hash: [u8; 32],
    /// Trial boots left after the current one (`MALLORN_PHASE_TRIAL` only).
    pub trial_boots_left: u8,
    /// Journal record sequence number.
    pub journal_sequence: u32,
    /// Journal slots that failed to read at open (non-zero: the flash is wearing).
    pub journal_unreadable_slots: u32,
}

impl From<&DeviceState> for mallorn_state_t {
    fn from(s: &DeviceState) -> Self {
        let (phase, boots_left) = match s.phase {
            Phase::Idle => (mallorn_phase_t::MALLORN_PHASE_IDLE, 0),
            Phase::Updating { .. } => (mallorn_phase_t::MALLORN_PHASE_UPDATING, 0),
            Phase::Pending(_) => (mallorn_phase_t::MALLORN_PHASE_PENDING, 0),
            Phase::Trial { boots_left, .. } => (mallorn_phase_t::MALLORN_PHASE_TRIAL, boots_left),
        };
        let target = s.phase.target();
        Self {
            active: s.active.into(),
            phase,
            active_image: s.active_image.into(),
            committed_counter: s.committed_counter,
            target_image: target.map_or(ZERO_IMAGE, |t| t.image.into()),
            target_security_counter: target.map_or(0, |t| t.security_counter),
            target_bundle_hash: target.map_or([0; 32], |t| t.bundle_hash),
            trial_boots_left: boots_left,
            journal_sequence: 0,
            journal_unreadable_slots: 0,
        }
    }
}

const ZERO_IMAGE: mallorn_image_t = mallorn_image_t {
    len: 0,
    sha256: [0; 32],
};

/// What `mallorn_session_begin` admits a bundle against.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct mallorn_admission_t {
    /// The device's SKU id (`MALLORN_SKU_ID`).
    pub sku_id: [u8; 8],
    /// The slots' model id (`MALLORN_<MODEL>_MODEL_ID`).
    pub model_id: [u8; 8],
    /// Ed25519 public keys the device trusts (`MALLORN_TRUSTED_KEYS`); NULL only with a
    /// count of 0.
    pub trusted_keys: *const [u8; 32],
    /// Number of keys (`MALLORN_TRUSTED_KEY_COUNT`, at most `MALLORN_MAX_TRUSTED_KEYS`).
    pub trusted_key_count: usize,
}

/// Where a session stands.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct mallorn_progress_t {
    /// Payload offset to feed from next.
    pub payload_offset: u64,
    /// Payload length from the header.
    pub payload_len: u64,
    /// The same position as a bundle offset (header and signature included).
    pub bundle_offset: u64,
    /// The session continues an interrupted update.
    pub resumed: bool,
    /// The whole payload is applied: call `mallorn_session_finish`.
    pub complete: bool,
}

/// A finished update: verified on flash, pending; the next boot tries it.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct mallorn_finished_t {
    /// The slot that holds it.
    pub slot: mallorn_slot_t,
    /// The model.
    pub image: mallorn_image_t,
}

impl From<Finished> for mallorn_finished_t {
    fn from(f: Finished) -> Self {
        Self {
            slot: f.slot.into(),
            image: f.image.into(),
        }
    }
}
