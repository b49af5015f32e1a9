//! A simulated NOR flash. It enforces what real NOR parts impose (erase sets bytes to 0xFF,
//! a write unit is programmed at most once between erases, offsets and lengths aligned to the
//! read, write and erase units), counts operations, logs the operations that change the
//! contents, and can cut power before or in the middle of any of them. After a cut every
//! operation fails until [`SimFlash::reboot`]; the contents are what a real part would hold:
//! a write cut in the middle has programmed only a prefix (its last byte half-programmed),
//! an erase cut in the middle has erased only a prefix and left the rest as garbage.
//!
//! Cuts are deterministic: the position inside an interrupted operation derives from the
//! operation's index, so replaying a logged operation with
//! [`SimFlash::replay_interrupted`] leaves exactly the contents a live cut would.

use std::vec::Vec;

use embedded_storage::nor_flash::{
    ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};

/// How many operations of each kind the flash has served.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpCounts {
    /// Reads.
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

/// Why the simulated flash refused an operation.
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
}

impl NorFlashError for SimError {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            Self::NotAligned => NorFlashErrorKind::NotAligned,
            Self::OutOfBounds => NorFlashErrorKind::OutOfBounds,
            Self::PowerLost | Self::NotErased { .. } => NorFlashErrorKind::Other,
        }
    }
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
}

impl<const WRITE: usize, const ERASE: usize, const READ: usize> SimFlash<WRITE, ERASE, READ> {
    /// An erased flash.
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
        }
    }

    /// The contents (reading them this way is not counted).
    pub fn bytes(&self) -> &[u8] {
        &self.mem
    }

    /// Sets contents directly, as a factory programmer would; the units count as programmed.
    pub fn program_at(&mut self, offset: usize, data: &[u8]) {
        self.mem[offset..offset + data.len()].copy_from_slice(data);
        for unit in offset / WRITE..(offset + data.len()).div_ceil(WRITE) {
            self.programmed[unit] = true;
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
    /// lifetime, see [`OpCounts::mutations`]).
    pub fn cut_power_at(&mut self, at: u64, mode: CutMode) {
        self.cut = Some((at, mode));
    }

    /// Whether power is on.
    pub fn is_powered(&self) -> bool {
        self.powered
    }

    /// Restores power and disarms any cut. The contents stay as they are.
    pub fn reboot(&mut self) {
        self.powered = true;
        self.cut = None;
    }

    /// Starts logging the mutations (clearing an earlier log).
    pub fn record(&mut self) {
        self.log = Some(Vec::new());
    }

    /// Stops logging and returns the mutations logged since [`SimFlash::record`].
    pub fn take_log(&mut self) -> Vec<FlashOp> {
        self.log.take().unwrap_or_default()
    }

    /// Applies a logged operation completely.
    pub fn replay(&mut self, op: &FlashOp) -> Result<(), SimError> {
        match op {
            FlashOp::Erase { from, to } => self.erase(*from, *to),
            FlashOp::Write { offset, data } => self.write(*offset, data),
        }
    }

    /// Applies a logged operation as if power were lost in its middle, leaving the contents
    /// a live cut at mutation `index` would leave, and the power off.
    pub fn replay_interrupted(&mut self, op: &FlashOp, index: u64) -> Result<(), SimError> {
        match op {
            FlashOp::Erase { from, to } => self.check_erase(*from, *to)?,
            FlashOp::Write { offset, data } => self.check_write(*offset, data)?,
        }
        self.interrupt(op, index);
        Ok(())
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

    fn check_write(&mut self, offset: u32, data: &[u8]) -> Result<(), SimError> {
        self.check_range(offset, data.len(), WRITE)?;
        let first = offset as usize / WRITE;
        for unit in first..first + data.len() / WRITE {
            if self.programmed[unit]
                || self.mem[unit * WRITE..(unit + 1) * WRITE]
                    .iter()
                    .any(|&b| b != 0xFF)
            {
                self.refused += 1;
                return Err(SimError::NotErased {
                    offset: (unit * WRITE) as u32,
                });
            }
        }
        Ok(())
    }

    /// Counts a mutation and fires an armed cut. Returns `Err` when power is lost at it.
    /// The operation is only materialised when it is logged or cut.
    fn mutation(&mut self, is_write: bool, op: impl FnOnce() -> FlashOp) -> Result<(), SimError> {
        let index = self.counts.mutations();
        if is_write {
            self.counts.writes += 1;
        } else {
            self.counts.erases += 1;
        }
        if let Some((at, mode)) = self.cut {
            if at == index {
                if mode == CutMode::During {
                    self.interrupt(&op(), index);
                }
                self.powered = false;
                return Err(SimError::PowerLost);
            }
        }
        if let Some(log) = &mut self.log {
            log.push(op());
        }
        Ok(())
    }

    /// The partial effect of an operation cut at mutation `index`; powers the flash off.
    fn interrupt(&mut self, op: &FlashOp, index: u64) {
        let mut rng = Rng::new(index);
        match op {
            FlashOp::Write { offset, data } => {
                let start = *offset as usize;
                let done = rng.below(data.len());
                self.mem[start..start + done].copy_from_slice(&data[..done]);
                // The byte being programmed when power went: some of its bits cleared.
                self.mem[start + done] &= data[done] | rng.byte();
                for unit in start / WRITE..=(start + done) / WRITE {
                    self.programmed[unit] = true;
                }
            }
            FlashOp::Erase { from, to } => {
                let (from, to) = (*from as usize, *to as usize);
                let done = rng.below(to - from);
                self.mem[from..from + done].fill(0xFF);
                for byte in &mut self.mem[from + done..to] {
                    *byte |= rng.byte();
                }
                let clean_units = (from + done) / WRITE;
                for unit in from / WRITE..to / WRITE {
                    // Half-erased cells are not reliably erased: they must be erased again.
                    self.programmed[unit] = unit >= clean_units;
                }
            }
        }
        self.powered = false;
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
        self.counts.reads += 1;
        let start = offset as usize;
        bytes.copy_from_slice(&self.mem[start..start + bytes.len()]);
        Ok(())
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
        self.mutation(false, || FlashOp::Erase { from, to })?;
        let (from, to) = (from as usize, to as usize);
        self.mem[from..to].fill(0xFF);
        self.programmed[from / WRITE..to / WRITE].fill(false);
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), SimError> {
        self.power()?;
        self.check_write(offset, bytes)?;
        if bytes.is_empty() {
            return Ok(());
        }
        self.mutation(true, || FlashOp::Write {
            offset,
            data: bytes.to_vec(),
        })?;
        let start = offset as usize;
        self.mem[start..start + bytes.len()].copy_from_slice(bytes);
        let first = start / WRITE;
        self.programmed[first..first + bytes.len() / WRITE].fill(true);
        Ok(())
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
}
