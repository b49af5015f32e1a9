//! A simulated NOR flash. It enforces what real NOR parts impose (erase sets bytes to 0xFF,
//! programming only clears bits, a write unit is programmed at most once between erases,
//! offsets and lengths aligned to the read, write and erase units), counts operations, logs
//! the operations that change the contents, and can cut power before or in the middle of
//! any of them. After a cut every operation fails until [`SimFlash::reboot`]; the contents
//! are what a real part would hold: a write cut in the middle has programmed only a prefix
//! (its last byte half-programmed), an erase cut in the middle has erased only a prefix and
//! left the rest as garbage (bits only raised).
//!
//! Cuts are deterministic: the position inside an interrupted operation derives from the
//! operation's index, so replaying a logged operation with
//! [`SimFlash::replay_interrupted`] leaves exactly the contents a live cut would. The
//! position can also be chosen ([`SimFlash::cut_power_torn`],
//! [`SimFlash::replay_interrupted_at`]).
//!
//! Beyond power cuts the flash injects the faults of the [`Fault`] catalogue
//! ([`SimFlash::inject`]): silent program failures, read errors, operations that land but
//! report failure, bit flips in retained data, schedules of several cuts. With
//! [`SimFlash::set_ecc`] it behaves like a part with per-write-unit ECC: a unit torn by a
//! cut reads as an error until erased, one wrong bit in a unit is corrected, two or more
//! are an error. [`SimFlash::fault_counts`] tells how many faults fired.

use std::vec::Vec;

use embedded_storage::nor_flash::{
    ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};

use super::faults::{Fault, FaultCounts, Persistence};

/// How many operations of each kind the flash has served.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpCounts {
    /// Reads (including failed ones).
    pub reads: u64,
    /// Writes (completed or cut).
    pub writes: u64,
    /// Erases (completed or cut).
    pub erases: u64,
}

impl OpCounts {
    /// Operations that change the contents: the points where a power cut can matter.
    pub fn mutations(&self) -> u64 {
        self.writes + self.erases
    }
}

/// Where inside an operation power is lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CutMode {
    /// Just before the operation: it has no effect.
    Before,
    /// In the middle of the operation: part of it has happened.
    During,
}

/// An operation that changes the contents, as logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlashOp {
    /// `erase(from, to)`.
    Erase {
        /// First byte.
        from: u32,
        /// One past the last byte.
        to: u32,
    },
    /// `write(offset, data)`.
    Write {
        /// First byte.
        offset: u32,
        /// The bytes.
        data: Vec<u8>,
    },
}

impl FlashOp {
    /// The byte range the operation touches.
    pub fn range(&self) -> core::ops::Range<u64> {
        match self {
            Self::Erase { from, to } => u64::from(*from)..u64::from(*to),
            Self::Write { offset, data } => {
                u64::from(*offset)..u64::from(*offset) + data.len() as u64
            }
        }
    }
}

/// Why the simulated flash refused or failed an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimError {
    /// Power is off (cut earlier and not rebooted).
    PowerLost,
    /// Offset or length not aligned to the operation's unit.
    NotAligned,
    /// Beyond the capacity.
    OutOfBounds,
    /// A write unit was programmed since its last erase (or holds half-erased garbage).
    NotErased {
        /// Offset of the offending write unit.
        offset: u32,
    },
    /// The part reported that a write or erase failed ([`Fault::FailedButLanded`]: it
    /// completed all the same).
    OpFailed {
        /// First byte of the operation.
        offset: u32,
    },
    /// A read failed ([`Fault::ReadError`], [`Fault::ReadErrorAt`]); nothing was returned.
    ReadFailed {
        /// First byte of the read.
        offset: u32,
    },
    /// ECC parts ([`SimFlash::set_ecc`]): the write unit at `offset` is torn or holds more
    /// wrong bits than the ECC corrects; nothing was returned.
    Uncorrectable {
        /// Offset of the write unit.
        offset: u32,
    },
}

impl NorFlashError for SimError {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            Self::NotAligned => NorFlashErrorKind::NotAligned,
            Self::OutOfBounds => NorFlashErrorKind::OutOfBounds,
            Self::PowerLost
            | Self::NotErased { .. }
            | Self::OpFailed { .. }
            | Self::ReadFailed { .. }
            | Self::Uncorrectable { .. } => NorFlashErrorKind::Other,
        }
    }
}

/// A fault of the plan and how often it fired.
#[derive(Debug, Clone)]
struct Armed {
    fault: Fault,
    fired: u64,
}

/// The ECC model: what each write unit's ECC was computed over, and which units a cut tore.
#[derive(Debug, Clone)]
struct Ecc {
    /// The contents the ECC words vouch for (0xFF where erased).
    intended: Vec<u8>,
    /// Per write unit: data and ECC disagree beyond repair until the next erase.
    torn: Vec<bool>,
}

/// A NOR flash of `capacity` bytes with the given write, erase and read units.
#[derive(Debug, Clone)]
pub struct SimFlash<const WRITE: usize, const ERASE: usize, const READ: usize = 1> {
    mem: Vec<u8>,
    /// Per write unit: programmed (or left dirty by a cut erase) since its last erase.
    programmed: Vec<bool>,
    counts: OpCounts,
    cut: Option<(u64, CutMode)>,
    powered: bool,
    log: Option<Vec<FlashOp>>,
    refused: u64,
    faults: Vec<Armed>,
    fired: FaultCounts,
    ecc: Option<Ecc>,
    reboots: u64,
}

impl<const WRITE: usize, const ERASE: usize, const READ: usize> SimFlash<WRITE, ERASE, READ> {
    /// An erased flash, without ECC and without faults.
    ///
    /// # Panics
    /// If the units are zero, the erase size is not a multiple of the write and read sizes,
    /// or the capacity is not a multiple of the erase size (a test set-up mistake).
    pub fn new(capacity: usize) -> Self {
        assert!(WRITE > 0 && READ > 0 && ERASE % WRITE == 0 && ERASE % READ == 0);
        assert!(capacity % ERASE == 0 && u32::try_from(capacity).is_ok());
        Self {
            mem: vec![0xFF; capacity],
            programmed: vec![false; capacity / WRITE],
            counts: OpCounts::default(),
            cut: None,
            powered: true,
            log: None,
            refused: 0,
            faults: Vec::new(),
            fired: FaultCounts::default(),
            ecc: None,
            reboots: 0,
        }
    }

    /// The contents (reading them this way is not counted, faults and ECC do not apply).
    pub fn bytes(&self) -> &[u8] {
        &self.mem
    }

    /// Sets contents directly, as a factory programmer would; the units count as programmed
    /// (and, with ECC, as consistent).
    pub fn program_at(&mut self, offset: usize, data: &[u8]) {
        self.mem[offset..offset + data.len()].copy_from_slice(data);
        for unit in offset / WRITE..(offset + data.len()).div_ceil(WRITE) {
            self.programmed[unit] = true;
        }
        if let Some(ecc) = &mut self.ecc {
            ecc.intended[offset..offset + data.len()].copy_from_slice(data);
            ecc.torn[offset / WRITE..(offset + data.len()).div_ceil(WRITE)].fill(false);
        }
    }

    /// Operations served so far.
    pub fn counts(&self) -> OpCounts {
        self.counts
    }

    /// Writes refused because they targeted units that were not erased.
    pub fn refused_writes(&self) -> u64 {
        self.refused
    }

    /// Arms a power cut at the mutation with index `at` (counting from 0 over the flash's
    /// lifetime, see [`OpCounts::mutations`]). One such cut is armed at a time, and
    /// [`SimFlash::reboot`] disarms it; for several cuts use [`Fault::PowerCut`].
    pub fn cut_power_at(&mut self, at: u64, mode: CutMode) {
        self.cut = Some((at, mode));
    }

    /// Arms a power cut in the middle of mutation `at` after `done` bytes of it completed
    /// (see [`Fault::TornCut`]); like [`Fault::TornCut`], it stays armed until it fires.
    pub fn cut_power_torn(&mut self, at: u64, done: u32) {
        self.inject(Fault::TornCut { at, done });
    }

    /// Whether power is on.
    pub fn is_powered(&self) -> bool {
        self.powered
    }

    /// Restores power and disarms the cut of [`SimFlash::cut_power_at`] (the plan's cuts
    /// stay armed until they fire). The contents stay as they are, except for the plan's
    /// [`Fault::BitFlip`]s of this reboot, which happen while the power is off.
    pub fn reboot(&mut self) {
        let reboot = self.reboots;
        self.reboots += 1;
        for i in 0..self.faults.len() {
            if let Fault::BitFlip {
                addr,
                mask,
                at_reboot,
            } = self.faults[i].fault
            {
                if at_reboot == reboot && self.flip(addr, mask) {
                    self.faults[i].fired += 1;
                }
            }
        }
        self.powered = true;
        self.cut = None;
    }

    /// Reboots so far.
    pub fn reboots(&self) -> u64 {
        self.reboots
    }

    /// Starts logging the mutations (clearing an earlier log).
    pub fn record(&mut self) {
        self.log = Some(Vec::new());
    }

    /// Stops logging and returns the mutations logged since [`SimFlash::record`].
    pub fn take_log(&mut self) -> Vec<FlashOp> {
        self.log.take().unwrap_or_default()
    }

    /// Applies a logged operation completely (as a live one: counted, faults apply).
    pub fn replay(&mut self, op: &FlashOp) -> Result<(), SimError> {
        match op {
            FlashOp::Erase { from, to } => self.erase(*from, *to),
            FlashOp::Write { offset, data } => self.write(*offset, data),
        }
    }

    /// Applies a logged operation as if power were lost in its middle, leaving the contents
    /// a live cut at mutation `index` would leave, and the power off.
    pub fn replay_interrupted(&mut self, op: &FlashOp, index: u64) -> Result<(), SimError> {
        self.replay_torn(op, index, None)
    }

    /// Like [`SimFlash::replay_interrupted`], with `done` bytes of the operation completed
    /// (clamped to its length), as a live [`Fault::TornCut`] at `index` would leave it.
    pub fn replay_interrupted_at(
        &mut self,
        op: &FlashOp,
        index: u64,
        done: u32,
    ) -> Result<(), SimError> {
        self.replay_torn(op, index, Some(done))
    }

    fn replay_torn(&mut self, op: &FlashOp, index: u64, done: Option<u32>) -> Result<(), SimError> {
        match op {
            FlashOp::Erase { from, to } => self.check_erase(*from, *to)?,
            FlashOp::Write { offset, data } => self.check_write(*offset, data)?,
        }
        self.interrupt(op, index, done);
        Ok(())
    }

    /// Adds a fault to the plan. Faults whose moment has passed never fire.
    pub fn inject(&mut self, fault: Fault) {
        self.faults.push(Armed { fault, fired: 0 });
    }

    /// Adds faults to the plan (a [`FaultPlan`](super::FaultPlan) or any iterator).
    pub fn inject_all(&mut self, faults: impl IntoIterator<Item = Fault>) {
        for fault in faults {
            self.inject(fault);
        }
    }

    /// Removes every fault of the plan, cuts of [`SimFlash::cut_power_torn`] included (the
    /// counts stay).
    pub fn clear_faults(&mut self) {
        self.faults.clear();
    }

    /// The plan's faults that have not fired (yet): a harness can check that its plan was
    /// not vacuous.
    pub fn unfired_faults(&self) -> Vec<Fault> {
        self.faults
            .iter()
            .filter(|armed| armed.fired == 0)
            .map(|armed| armed.fault)
            .collect()
    }

    /// How many faults fired so far, by kind.
    pub fn fault_counts(&self) -> FaultCounts {
        self.fired
    }

    /// Flips the bits of `mask` in byte `addr` now, as retention loss or disturb would.
    /// Programming state is untouched: an erased unit with a bit flipped to 0 still accepts
    /// one write, which can then only clear bits (the flipped bit stays 0).
    ///
    /// # Panics
    /// If `addr` is beyond the capacity.
    pub fn flip_bits(&mut self, addr: u32, mask: u8) {
        self.flip(addr, mask);
    }

    fn flip(&mut self, addr: u32, mask: u8) -> bool {
        if mask == 0 {
            return false;
        }
        self.mem[addr as usize] ^= mask;
        self.fired.bit_flips += 1;
        true
    }

    /// Switches the ECC model on or off. Switched on, the current contents count as what
    /// the ECC was computed over; then each write unit carries ECC computed when it is
    /// programmed: a unit torn by a cut write or erase reads as
    /// [`SimError::Uncorrectable`] until it is erased, a unit with one wrong bit (a stuck
    /// or flipped bit) reads corrected, a unit with two or more reads as an error
    /// (single-error-correct, double-error-detect). Erased units carry erased ECC and read
    /// clean. Off by default.
    pub fn set_ecc(&mut self, on: bool) {
        match (on, self.ecc.is_some()) {
            (true, false) => {
                self.ecc = Some(Ecc {
                    intended: self.mem.clone(),
                    torn: vec![false; self.programmed.len()],
                });
            }
            (false, true) => self.ecc = None,
            _ => {}
        }
    }

    /// Whether the ECC model is on.
    pub fn has_ecc(&self) -> bool {
        self.ecc.is_some()
    }

    fn power(&self) -> Result<(), SimError> {
        if self.powered {
            Ok(())
        } else {
            Err(SimError::PowerLost)
        }
    }

    fn check_range(&self, offset: u32, len: usize, unit: usize) -> Result<(), SimError> {
        if offset as usize % unit != 0 || len % unit != 0 {
            return Err(SimError::NotAligned);
        }
        if offset as usize + len > self.mem.len() {
            return Err(SimError::OutOfBounds);
        }
        Ok(())
    }

    fn check_erase(&self, from: u32, to: u32) -> Result<(), SimError> {
        if to < from {
            return Err(SimError::OutOfBounds);
        }
        self.check_range(from, (to - from) as usize, ERASE)
    }

    /// Refuses a write into units programmed (or left dirty by a cut) since their last
    /// erase. A unit that is merely not 0xFF because a bit flipped is not refused: the
    /// driver could not know, and the part would program it.
    // Host simulator: offsets inside a simulated flash of u32-addressable size.
    #[allow(clippy::cast_possible_truncation)]
    fn check_write(&mut self, offset: u32, data: &[u8]) -> Result<(), SimError> {
        self.check_range(offset, data.len(), WRITE)?;
        let first = offset as usize / WRITE;
        if let Some(unit) = (first..first + data.len() / WRITE).find(|&u| self.programmed[u]) {
            self.refused += 1;
            return Err(SimError::NotErased {
                offset: (unit * WRITE) as u32,
            });
        }
        Ok(())
    }

    /// Counts a mutation and fires an armed cut. Returns the mutation's index, or `Err`
    /// when power is lost at it. The operation is only materialised when it is logged or
    /// cut.
    fn mutation(&mut self, is_write: bool, op: impl FnOnce() -> FlashOp) -> Result<u64, SimError> {
        let index = self.counts.mutations();
        if is_write {
            self.counts.writes += 1;
        } else {
            self.counts.erases += 1;
        }
        let mut cut = match self.cut {
            Some((at, mode)) if at == index => Some((mode, None)),
            _ => None,
        };
        for armed in &mut self.faults {
            let planned = match armed.fault {
                Fault::PowerCut { at, mode } if at == index => Some((mode, None)),
                Fault::TornCut { at, done } if at == index => Some((CutMode::During, Some(done))),
                _ => None,
            };
            if planned.is_some() && cut.is_none() {
                armed.fired += 1;
                cut = planned;
            }
        }
        if let Some((mode, done)) = cut {
            self.fired.power_cuts += 1;
            if mode == CutMode::During {
                self.interrupt(&op(), index, done);
            }
            self.powered = false;
            return Err(SimError::PowerLost);
        }
        if let Some(log) = &mut self.log {
            log.push(op());
        }
        Ok(index)
    }

    /// The partial effect of an operation cut at mutation `index` after `done` bytes
    /// (derived from `index` when `None`); powers the flash off.
    fn interrupt(&mut self, op: &FlashOp, index: u64, done: Option<u32>) {
        let mut rng = Rng::new(index);
        match op {
            FlashOp::Write { offset, data } => {
                let start = *offset as usize;
                let done = match done {
                    Some(done) => (done as usize).min(data.len()),
                    None => rng.below(data.len()),
                };
                program(&mut self.mem[start..start + done], &data[..done]);
                if done < data.len() {
                    // The byte being programmed when power went: some of its bits cleared.
                    self.mem[start + done] &= data[done] | rng.byte();
                }
                let touched = (start + done + 1).min(start + data.len());
                for unit in start / WRITE..touched.div_ceil(WRITE) {
                    self.programmed[unit] = true;
                }
                if let Some(ecc) = &mut self.ecc {
                    // Units wholly programmed carry good ECC; the one in progress is torn.
                    let whole = (start + done) / WRITE * WRITE;
                    ecc.intended[start..whole].copy_from_slice(&data[..whole - start]);
                    if done < data.len() {
                        ecc.torn[(start + done) / WRITE] = true;
                    }
                }
            }
            FlashOp::Erase { from, to } => {
                let (from, to) = (*from as usize, *to as usize);
                let done = match done {
                    Some(done) => (done as usize).min(to - from),
                    None => rng.below(to - from),
                };
                let clean_units = (from + done) / WRITE;
                if let Some(ecc) = &mut self.ecc {
                    // A unit that was erased before stays erased with its ECC; the others
                    // are half-erased, data and ECC alike.
                    for unit in clean_units..to / WRITE {
                        let cells = unit * WRITE..(unit + 1) * WRITE;
                        let was_erased = !self.programmed[unit]
                            && !ecc.torn[unit]
                            && self.mem[cells].iter().all(|&b| b == 0xFF);
                        ecc.torn[unit] = !was_erased;
                    }
                    ecc.intended[from..from + done].fill(0xFF);
                    ecc.torn[from / WRITE..clean_units].fill(false);
                }
                self.mem[from..from + done].fill(0xFF);
                for byte in &mut self.mem[from + done..to] {
                    *byte |= rng.byte();
                }
                for unit in from / WRITE..to / WRITE {
                    // Half-erased cells are not reliably erased: they must be erased again.
                    self.programmed[unit] = unit >= clean_units;
                }
            }
        }
        self.powered = false;
    }

    /// The bits the plan's stuck-bit faults keep at 1 in write mutation `index` of `data`
    /// at `start`: (fault, address, bits), for bits the write means to clear that are 1.
    fn stuck_bits(&self, index: u64, start: usize, data: &[u8]) -> Vec<(usize, usize, u8)> {
        let mut stuck = Vec::new();
        for (i, armed) in self.faults.iter().enumerate() {
            let (addr, mask) = match armed.fault {
                Fault::StuckBits { at, addr, mask } if at == index => (addr as usize, mask),
                Fault::WeakCell { addr, mask } => (addr as usize, mask),
                _ => continue,
            };
            if (start..start + data.len()).contains(&addr) {
                let bits = mask & !data[addr - start] & self.mem[addr];
                if bits != 0 {
                    stuck.push((i, addr, bits));
                }
            }
        }
        stuck
    }

    /// Fails a completed mutation at `index` if the plan says it lands but reports failure.
    fn landed(&mut self, index: u64, offset: u32) -> Result<(), SimError> {
        for armed in &mut self.faults {
            if matches!(armed.fault, Fault::FailedButLanded { at } if at == index) {
                armed.fired += 1;
                self.fired.failed_but_landed += 1;
                return Err(SimError::OpFailed { offset });
            }
        }
        Ok(())
    }

    /// Fails read number `index` of `range` if the plan says so.
    // Host simulator: offsets inside a simulated flash of u32-addressable size.
    #[allow(clippy::cast_possible_truncation)]
    fn read_fault(&mut self, index: u64, range: core::ops::Range<usize>) -> Result<(), SimError> {
        for armed in &mut self.faults {
            let fails = match armed.fault {
                Fault::ReadErrorAt { read } => read == index,
                Fault::ReadError { addr, persistence } => {
                    range.contains(&(addr as usize))
                        && (persistence == Persistence::Always || armed.fired == 0)
                }
                _ => false,
            };
            if fails {
                armed.fired += 1;
                self.fired.read_errors += 1;
                return Err(SimError::ReadFailed {
                    offset: range.start as u32,
                });
            }
        }
        Ok(())
    }

    /// Checks (and corrects) a read of `bytes` at `start` against the ECC model.
    // Host simulator: offsets inside a simulated flash of u32-addressable size.
    #[allow(clippy::cast_possible_truncation)]
    fn ecc_read(&mut self, start: usize, bytes: &mut [u8]) -> Result<(), SimError> {
        let Some(ecc) = &self.ecc else {
            return Ok(());
        };
        if bytes.is_empty() {
            return Ok(());
        }
        let end = start + bytes.len();
        let mut corrected = 0;
        for unit in start / WRITE..end.div_ceil(WRITE) {
            let cells = unit * WRITE..(unit + 1) * WRITE;
            let wrong: u32 = self.mem[cells.clone()]
                .iter()
                .zip(&ecc.intended[cells.clone()])
                .map(|(a, b)| (a ^ b).count_ones())
                .sum();
            if ecc.torn[unit] || wrong >= 2 {
                self.fired.ecc_uncorrectable += 1;
                return Err(SimError::Uncorrectable {
                    offset: cells.start as u32,
                });
            }
            if wrong == 1 {
                corrected += 1;
                let (lo, hi) = (cells.start.max(start), cells.end.min(end));
                bytes[lo - start..hi - start].copy_from_slice(&ecc.intended[lo..hi]);
            }
        }
        if corrected > 0 {
            self.fired.ecc_corrected += 1;
        }
        Ok(())
    }
}

/// Programs `data` over `cells`: NOR programming only clears bits.
fn program(cells: &mut [u8], data: &[u8]) {
    for (cell, &byte) in cells.iter_mut().zip(data) {
        *cell &= byte;
    }
}

impl<const WRITE: usize, const ERASE: usize, const READ: usize> ErrorType
    for SimFlash<WRITE, ERASE, READ>
{
    type Error = SimError;
}

impl<const WRITE: usize, const ERASE: usize, const READ: usize> ReadNorFlash
    for SimFlash<WRITE, ERASE, READ>
{
    const READ_SIZE: usize = READ;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), SimError> {
        self.power()?;
        self.check_range(offset, bytes.len(), READ)?;
        let index = self.counts.reads;
        self.counts.reads += 1;
        let start = offset as usize;
        if !self.faults.is_empty() {
            self.read_fault(index, start..start + bytes.len())?;
        }
        bytes.copy_from_slice(&self.mem[start..start + bytes.len()]);
        self.ecc_read(start, bytes)
    }

    fn capacity(&self) -> usize {
        self.mem.len()
    }
}

impl<const WRITE: usize, const ERASE: usize, const READ: usize> NorFlash
    for SimFlash<WRITE, ERASE, READ>
{
    const WRITE_SIZE: usize = WRITE;
    const ERASE_SIZE: usize = ERASE;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), SimError> {
        self.power()?;
        self.check_erase(from, to)?;
        let index = self.mutation(false, || FlashOp::Erase { from, to })?;
        let (start, end) = (from as usize, to as usize);
        self.mem[start..end].fill(0xFF);
        self.programmed[start / WRITE..end / WRITE].fill(false);
        if let Some(ecc) = &mut self.ecc {
            ecc.intended[start..end].fill(0xFF);
            ecc.torn[start / WRITE..end / WRITE].fill(false);
        }
        self.landed(index, from)
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), SimError> {
        self.power()?;
        self.check_write(offset, bytes)?;
        if bytes.is_empty() {
            return Ok(());
        }
        let index = self.mutation(true, || FlashOp::Write {
            offset,
            data: bytes.to_vec(),
        })?;
        let start = offset as usize;
        let stuck = if self.faults.is_empty() {
            Vec::new()
        } else {
            self.stuck_bits(index, start, bytes)
        };
        program(&mut self.mem[start..start + bytes.len()], bytes);
        let first = start / WRITE;
        self.programmed[first..first + bytes.len() / WRITE].fill(true);
        if let Some(ecc) = &mut self.ecc {
            ecc.intended[start..start + bytes.len()].copy_from_slice(bytes);
            ecc.torn[first..first + bytes.len() / WRITE].fill(false);
        }
        for (fault, addr, bits) in stuck {
            self.mem[addr] |= bits;
            self.faults[fault].fired += 1;
            self.fired.stuck_programs += 1;
        }
        self.landed(index, offset)
    }
}

/// xorshift64*: a tiny deterministic generator for cut positions and garbage.
struct Rng(u64);

impl Rng {
    fn new(index: u64) -> Self {
        Self(index.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03 | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    // Host simulator: offsets inside a simulated flash of u32-addressable size.
    #[allow(clippy::cast_possible_truncation)]
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn byte(&mut self) -> u8 {
        (self.next() >> 56) as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Flash = SimFlash<4, 64, 1>;

    #[test]
    fn enforces_erase_before_write_and_alignment() {
        let mut f = Flash::new(256);
        f.write(0, &[1, 2, 3, 4]).unwrap();
        assert_eq!(
            f.write(0, &[0, 0, 0, 0]),
            Err(SimError::NotErased { offset: 0 })
        );
        // Writing erased-looking bytes still programs the unit once.
        f.write(4, &[0xFF; 4]).unwrap();
        assert_eq!(f.write(4, &[0; 4]), Err(SimError::NotErased { offset: 4 }));
        assert_eq!(f.write(2, &[0; 4]), Err(SimError::NotAligned));
        assert_eq!(f.write(8, &[0; 3]), Err(SimError::NotAligned));
        assert_eq!(f.erase(0, 32), Err(SimError::NotAligned));
        assert_eq!(f.write(256, &[0; 4]), Err(SimError::OutOfBounds));
        f.erase(0, 64).unwrap();
        f.write(0, &[9; 4]).unwrap();
        assert_eq!(
            f.counts(),
            OpCounts {
                reads: 0,
                writes: 3,
                erases: 1
            }
        );
        assert_eq!(f.refused_writes(), 2);
    }

    #[test]
    fn a_cut_stops_everything_until_reboot() {
        let mut f = Flash::new(256);
        f.cut_power_at(1, CutMode::Before);
        f.write(0, &[1; 4]).unwrap();
        assert_eq!(f.write(4, &[2; 4]), Err(SimError::PowerLost));
        let mut buf = [0; 4];
        assert_eq!(f.read(0, &mut buf), Err(SimError::PowerLost));
        f.reboot();
        f.read(4, &mut buf).unwrap();
        assert_eq!(buf, [0xFF; 4]);
        f.write(4, &[2; 4]).unwrap();
    }

    #[test]
    fn a_write_cut_midway_programs_a_prefix_and_dirties_the_unit() {
        let data: Vec<u8> = (0..64).collect();
        let mut live = Flash::new(256);
        live.cut_power_at(0, CutMode::During);
        assert_eq!(live.write(64, &data), Err(SimError::PowerLost));
        let mem = &live.bytes()[64..128];
        let done = mem.iter().zip(&data).take_while(|(a, b)| a == b).count();
        assert!(done < 64);
        assert!(mem[done + 1..].iter().all(|&b| b == 0xFF));
        live.reboot();
        let unit = (64 + done) as u32 / 4 * 4;
        assert_eq!(
            live.write(unit, &[0; 4]),
            Err(SimError::NotErased { offset: unit })
        );
        // A replay of the same op at the same index leaves the same contents.
        let mut replayed = Flash::new(256);
        replayed
            .replay_interrupted(&FlashOp::Write { offset: 64, data }, 0)
            .unwrap();
        assert_eq!(replayed.bytes(), live.bytes());
        assert!(!replayed.is_powered());
    }

    #[test]
    fn an_erase_cut_midway_leaves_garbage_that_must_be_erased_again() {
        let mut f = Flash::new(256);
        f.write(0, &[0u8; 64]).unwrap();
        f.cut_power_at(1, CutMode::During);
        assert_eq!(f.erase(0, 64), Err(SimError::PowerLost));
        f.reboot();
        let erased = f.bytes()[..64].iter().take_while(|&&b| b == 0xFF).count();
        assert!(erased < 64);
        let dirty = erased as u32 / 4 * 4;
        assert!(f.write(dirty, &[1; 4]).is_err());
        f.erase(0, 64).unwrap();
        f.write(dirty, &[1; 4]).unwrap();
    }

    #[test]
    fn logs_mutations_for_replay() {
        let mut f = Flash::new(256);
        f.record();
        f.erase(64, 128).unwrap();
        f.write(64, &[5; 8]).unwrap();
        let log = f.take_log();
        let mut g = Flash::new(256);
        for op in &log {
            g.replay(op).unwrap();
        }
        assert_eq!(g.bytes(), f.bytes());
        assert_eq!(log[1].range(), 64..72);
    }

    use crate::sim::faults::{Fault, FaultPlan, Persistence};

    fn read4(f: &mut Flash, offset: u32) -> Result<[u8; 4], SimError> {
        let mut buf = [0; 4];
        f.read(offset, &mut buf).map(|()| buf)
    }

    #[test]
    fn stuck_bits_report_ok_and_read_back_differs() {
        let mut f = Flash::new(256);
        f.inject(Fault::StuckBits {
            at: 1,
            addr: 6,
            mask: 0b1000_0001,
        });
        // The bits the write wants at 1 anyway: not a fault that fired.
        f.inject(Fault::StuckBits {
            at: 2,
            addr: 8,
            mask: 0xF0,
        });
        f.write(4, &[0; 4]).unwrap(); // mutation 0 covers byte 6: not the chosen write
        assert_eq!(read4(&mut f, 4), Ok([0; 4]));
        f.erase(0, 64).unwrap(); // mutation 1: not a write, no effect
        f.write(8, &[0xF3; 4]).unwrap(); // mutation 2
        assert_eq!(read4(&mut f, 8), Ok([0xF3; 4]));
        assert_eq!(f.fault_counts().stuck_programs, 0);
        assert_eq!(f.unfired_faults().len(), 2);

        let mut f = Flash::new(256);
        f.inject(Fault::StuckBits {
            at: 1,
            addr: 6,
            mask: 0b1000_0001,
        });
        f.write(0, &[0; 4]).unwrap();
        assert_eq!(f.write(4, &[0x00, 0x00, 0x0F, 0x00]), Ok(()));
        // Bit 7 stayed 1; bit 0 was meant to be 1 anyway.
        assert_eq!(read4(&mut f, 4), Ok([0x00, 0x00, 0x8F, 0x00]));
        assert_eq!(f.fault_counts().stuck_programs, 1);
        assert!(f.unfired_faults().is_empty());
        // One write only: after an erase the cell programs.
        f.erase(0, 64).unwrap();
        f.write(4, &[0; 4]).unwrap();
        assert_eq!(read4(&mut f, 4), Ok([0; 4]));
        assert_eq!(f.fault_counts().stuck_programs, 1);
    }

    #[test]
    fn a_weak_cell_never_programs_its_bits() {
        let mut f = Flash::new(256);
        f.inject(Fault::WeakCell {
            addr: 70,
            mask: 0x01,
        });
        for round in 1..=3 {
            f.write(68, &[0x10, 0x20, 0x30, 0x40]).unwrap();
            assert_eq!(read4(&mut f, 68), Ok([0x10, 0x20, 0x31, 0x40]));
            assert_eq!(f.fault_counts().stuck_programs, round);
            f.erase(64, 128).unwrap();
            assert_eq!(read4(&mut f, 68), Ok([0xFF; 4]), "it still erases");
        }
        f.write(64, &[0; 64]).unwrap();
        assert_eq!(f.bytes()[64..72], [0, 0, 0, 0, 0, 0, 1, 0]);
    }

    #[test]
    fn read_errors_once_or_always() {
        let mut f = Flash::new(256);
        f.write(0, &[1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
        f.inject(Fault::ReadError {
            addr: 5,
            persistence: Persistence::Once,
        });
        f.inject(Fault::ReadError {
            addr: 130,
            persistence: Persistence::Always,
        });
        assert_eq!(read4(&mut f, 0), Ok([1, 2, 3, 4]));
        let err = read4(&mut f, 4).unwrap_err();
        assert_eq!(err, SimError::ReadFailed { offset: 4 });
        assert_eq!(err.kind(), NorFlashErrorKind::Other);
        assert_eq!(read4(&mut f, 4), Ok([5, 6, 7, 8]), "a retry succeeds");
        for _ in 0..3 {
            assert_eq!(
                read4(&mut f, 128),
                Err(SimError::ReadFailed { offset: 128 })
            );
        }
        f.erase(128, 192).unwrap();
        let mut big = [0; 64];
        assert!(f.read(128, &mut big).is_err(), "erasing does not heal it");
        assert_eq!(read4(&mut f, 132), Ok([0xFF; 4]), "only reads covering it");
        assert_eq!(f.fault_counts().read_errors, 5);
        assert_eq!(f.counts().reads, 8, "failed reads are served reads");
    }

    #[test]
    fn a_read_error_at_a_chosen_read() {
        let mut f = Flash::new(256);
        f.inject(Fault::ReadErrorAt { read: 2 });
        assert!(read4(&mut f, 0).is_ok());
        assert!(read4(&mut f, 0).is_ok());
        assert_eq!(read4(&mut f, 8), Err(SimError::ReadFailed { offset: 8 }));
        assert!(read4(&mut f, 8).is_ok());
        assert_eq!(f.fault_counts().read_errors, 1);
    }

    #[test]
    fn a_write_reported_failed_has_landed() {
        let mut f = Flash::new(256);
        f.inject(Fault::FailedButLanded { at: 1 });
        f.inject(Fault::FailedButLanded { at: 3 });
        f.record();
        f.write(0, &[9; 4]).unwrap();
        let err = f.write(4, &[1, 2, 3, 4]).unwrap_err();
        assert_eq!(err, SimError::OpFailed { offset: 4 });
        assert_eq!(err.kind(), NorFlashErrorKind::Other);
        assert_eq!(read4(&mut f, 4), Ok([1, 2, 3, 4]), "the data is there");
        assert!(f.is_powered());
        // A retry in place hits a programmed unit.
        assert_eq!(
            f.write(4, &[1, 2, 3, 4]),
            Err(SimError::NotErased { offset: 4 })
        );
        assert_eq!(f.refused_writes(), 1);
        f.write(8, &[7; 4]).unwrap(); // mutation 2
        // An erase reported failed has erased.
        assert_eq!(f.erase(0, 64), Err(SimError::OpFailed { offset: 0 }));
        assert!(f.bytes()[..64].iter().all(|&b| b == 0xFF));
        f.write(4, &[1; 4]).unwrap();
        assert_eq!(f.fault_counts().failed_but_landed, 2);
        assert_eq!(f.take_log().len(), 5, "landed operations are logged");
    }

    #[test]
    fn bit_flips_between_operations_and_at_reboot() {
        let mut f = Flash::new(256);
        f.write(0, &[0x0F; 4]).unwrap();
        f.flip_bits(1, 0x81);
        assert_eq!(read4(&mut f, 0), Ok([0x0F, 0x8E, 0x0F, 0x0F]));
        f.flip_bits(2, 0);
        assert_eq!(f.fault_counts().bit_flips, 1, "an empty mask flips nothing");

        f.inject(Fault::BitFlip {
            addr: 3,
            mask: 0x10,
            at_reboot: 1,
        });
        f.cut_power_at(1, CutMode::Before);
        assert!(f.write(4, &[0; 4]).is_err());
        f.reboot(); // reboot 0
        assert_eq!(read4(&mut f, 0), Ok([0x0F, 0x8E, 0x0F, 0x0F]));
        f.reboot(); // reboot 1
        assert_eq!(read4(&mut f, 0), Ok([0x0F, 0x8E, 0x0F, 0x1F]));
        assert_eq!(f.reboots(), 2);
        assert_eq!(f.fault_counts().bit_flips, 2);

        // A flip to 0 in an erased unit: the driver cannot know, the write goes ahead and
        // can only clear bits.
        f.flip_bits(9, 0x02);
        f.write(8, &[0xFF, 0xFF, 0xF0, 0xF0]).unwrap();
        assert_eq!(read4(&mut f, 8), Ok([0xFF, 0xFD, 0xF0, 0xF0]));
        assert_eq!(f.refused_writes(), 0);
    }

    #[test]
    fn an_erase_tears_at_any_chosen_byte() {
        let op = FlashOp::Erase { from: 64, to: 128 };
        for done in 0..=64u32 {
            let mut f = Flash::new(256);
            f.write(64, &[0; 64]).unwrap();
            f.cut_power_torn(1, done);
            assert_eq!(f.erase(64, 128), Err(SimError::PowerLost));
            let sector = &f.bytes()[64..128];
            let done = done as usize;
            assert!(
                sector[..done].iter().all(|&b| b == 0xFF),
                "prefix at {done}"
            );
            if done < 64 {
                assert!(
                    sector[done..].iter().any(|&b| b != 0xFF),
                    "garbage after {done}"
                );
            }
            // The same tear replayed from the log leaves the same bytes.
            let mut replayed = Flash::new(256);
            replayed.write(64, &[0; 64]).unwrap();
            replayed.replay_interrupted_at(&op, 1, done as u32).unwrap();
            assert_eq!(replayed.bytes(), f.bytes());
            f.reboot();
            // Only write units wholly inside the erased prefix take a write.
            for unit in 0..16 {
                let at = 64 + unit as u32 * 4;
                assert_eq!(f.write(at, &[1; 4]).is_ok(), unit * 4 + 4 <= done, "{done}");
            }
        }
        // A derived During cut tears at a position that depends on the index.
        let tears: std::collections::BTreeSet<usize> = (1..40)
            .map(|index| {
                let mut f = Flash::new(256);
                f.write(64, &[0; 64]).unwrap();
                f.replay_interrupted(&op, index).unwrap();
                f.bytes()[64..128]
                    .iter()
                    .take_while(|&&b| b == 0xFF)
                    .count()
            })
            .collect();
        assert!(tears.len() > 5, "{tears:?}");
    }

    #[test]
    fn a_write_tears_at_a_chosen_byte() {
        let data: Vec<u8> = (0x10..0x20).collect();
        let mut f = Flash::new(256);
        f.cut_power_torn(0, 5);
        assert_eq!(f.write(0, &data), Err(SimError::PowerLost));
        let mem = f.bytes();
        assert_eq!(mem[..5], data[..5]);
        assert_eq!(
            mem[5] & data[5],
            data[5],
            "half-programmed: only some bits cleared"
        );
        assert!(mem[6..16].iter().all(|&b| b == 0xFF));
        f.reboot();
        assert_eq!(f.write(4, &[0; 4]), Err(SimError::NotErased { offset: 4 }));
        f.write(8, &[0; 4]).unwrap();
        assert_eq!(f.fault_counts().power_cuts, 1);
    }

    #[test]
    fn ecc_parts_read_torn_words_as_errors_until_erased() {
        let data = [0x5A; 16];
        // Without ECC the torn unit reads back, garbage and all.
        let mut plain = Flash::new(256);
        plain.cut_power_torn(0, 6);
        assert!(plain.write(0, &data).is_err());
        plain.reboot();
        assert!(read4(&mut plain, 4).is_ok());

        let mut f = Flash::new(256);
        f.set_ecc(true);
        assert!(f.has_ecc());
        f.cut_power_torn(0, 6);
        assert!(f.write(0, &data).is_err());
        f.reboot();
        assert_eq!(
            read4(&mut f, 0),
            Ok([0x5A; 4]),
            "a whole unit before the tear"
        );
        for _ in 0..2 {
            assert_eq!(read4(&mut f, 4), Err(SimError::Uncorrectable { offset: 4 }));
        }
        assert_eq!(read4(&mut f, 8), Ok([0xFF; 4]), "untouched units");
        let mut all = [0; 16];
        assert!(f.read(0, &mut all).is_err());
        assert_eq!(f.fault_counts().ecc_uncorrectable, 3);
        assert_eq!(
            f.fault_counts().injected(),
            1,
            "ECC errors are not injections"
        );
        f.erase(0, 64).unwrap();
        assert_eq!(read4(&mut f, 4), Ok([0xFF; 4]));
        f.write(4, &[1; 4]).unwrap();
        assert_eq!(read4(&mut f, 4), Ok([1; 4]));

        // A unit whose data bits had nothing to clear is torn all the same: its ECC bits
        // were being programmed.
        let mut f = Flash::new(256);
        f.set_ecc(true);
        f.cut_power_torn(0, 4);
        assert!(f.write(0, &[0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]).is_err());
        f.reboot();
        assert_eq!(f.bytes()[4..8], [0xFF; 4]);
        assert_eq!(read4(&mut f, 0), Ok([0; 4]));
        assert_eq!(read4(&mut f, 4), Err(SimError::Uncorrectable { offset: 4 }));
    }

    #[test]
    fn ecc_parts_tear_erases_only_where_there_was_data() {
        let mut f = Flash::new(256);
        f.set_ecc(true);
        f.write(0, &[0; 32]).unwrap(); // the sector's first half holds data
        f.cut_power_torn(1, 10);
        assert!(f.erase(0, 64).is_err());
        f.reboot();
        assert_eq!(read4(&mut f, 0), Ok([0xFF; 4]));
        assert_eq!(read4(&mut f, 4), Ok([0xFF; 4]));
        assert_eq!(read4(&mut f, 8), Err(SimError::Uncorrectable { offset: 8 }));
        assert_eq!(
            read4(&mut f, 28),
            Err(SimError::Uncorrectable { offset: 28 })
        );
        // Erased before the erase, still erased, ECC and all.
        assert_eq!(read4(&mut f, 32), Ok([0xFF; 4]));
        assert_eq!(read4(&mut f, 60), Ok([0xFF; 4]));
        f.erase(0, 64).unwrap();
        assert_eq!(read4(&mut f, 28), Ok([0xFF; 4]));
    }

    #[test]
    fn ecc_corrects_one_bit_and_detects_two() {
        let mut f = Flash::new(256);
        f.set_ecc(true);
        f.inject(Fault::StuckBits {
            at: 0,
            addr: 1,
            mask: 0x01,
        });
        f.write(0, &[0; 8]).unwrap();
        assert_eq!(f.bytes()[1], 0x01, "the cell did not program");
        assert_eq!(read4(&mut f, 0), Ok([0; 4]), "one stuck bit: corrected");
        assert_eq!(f.fault_counts().ecc_corrected, 1);
        f.flip_bits(6, 0x40);
        assert_eq!(read4(&mut f, 4), Ok([0; 4]), "one flipped bit: corrected");
        f.flip_bits(4, 0x02);
        assert_eq!(read4(&mut f, 4), Err(SimError::Uncorrectable { offset: 4 }));
        assert_eq!(f.fault_counts().ecc_uncorrectable, 1);
        // The same faults without ECC read back wrong.
        f.set_ecc(false);
        assert_eq!(read4(&mut f, 0), Ok([0, 1, 0, 0]));
        assert_eq!(read4(&mut f, 4), Ok([2, 0, 0x40, 0]));
    }

    /// Writes fresh units one after another, rebooting after each cut, until `mutations`
    /// mutations happened; returns the indices the cuts fired at.
    fn run_through_cuts(f: &mut Flash, mutations: u64) -> Vec<u64> {
        let mut cuts = Vec::new();
        let mut at = 0;
        while f.counts().mutations() < mutations {
            match f.write(at, &[0xA5; 4]) {
                Ok(()) => {}
                Err(SimError::PowerLost) => {
                    cuts.push(f.counts().mutations() - 1);
                    f.reboot();
                }
                Err(e) => panic!("{e:?}"),
            }
            at += 4;
        }
        cuts
    }

    #[test]
    fn a_schedule_cuts_at_each_listed_index_across_reboots() {
        let mut f = Flash::new(256);
        f.inject_all(
            FaultPlan::new()
                .with(Fault::PowerCut {
                    at: 9,
                    mode: CutMode::During,
                })
                .with(Fault::PowerCut {
                    at: 3,
                    mode: CutMode::Before,
                })
                .with(Fault::TornCut { at: 5, done: 2 }),
        );
        assert_eq!(run_through_cuts(&mut f, 12), [3, 5, 9]);
        assert_eq!(f.fault_counts().power_cuts, 3);
        assert!(f.unfired_faults().is_empty());
        // Before: nothing written; During: a prefix.
        assert_eq!(f.bytes()[12..16], [0xFF; 4]);
        assert_eq!(f.bytes()[20..22], [0xA5; 2]);
        assert_eq!(f.bytes()[23], 0xFF);

        // A reboot without a cut leaves the plan's cuts armed, unlike cut_power_at's.
        let mut f = Flash::new(256);
        f.inject(Fault::PowerCut {
            at: 4,
            mode: CutMode::Before,
        });
        f.cut_power_at(2, CutMode::Before);
        f.reboot();
        assert_eq!(run_through_cuts(&mut f, 8), [4]);
    }

    #[test]
    fn a_seeded_schedule_fires_every_cut() {
        for seed in 0..8 {
            let plan = FaultPlan::random_cuts(seed, 2, 6, 5);
            let expected = plan.cut_indices();
            let mut f = Flash::new(256);
            f.inject_all(plan.clone());
            let last = *expected.last().unwrap();
            assert_eq!(run_through_cuts(&mut f, last + 2), expected, "seed {seed}");
            assert_eq!(f.fault_counts().injected(), 6);
            // Deterministic: the same plan leaves the same contents.
            let mut again = Flash::new(256);
            again.inject_all(plan);
            run_through_cuts(&mut again, last + 2);
            assert_eq!(again.bytes(), f.bytes());
        }
    }
}
