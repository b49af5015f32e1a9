//! Where the model slots and the state journal live on the flash device. A firmware builds a
//! [`FlashLayout`] from constants (a generated include file does it) and the runtime checks it
//! against the flash geometry before touching anything.

use core::fmt;

use embedded_storage::nor_flash::NorFlash;

use crate::storage::journal::geometry::JournalGeometry;

/// Largest flash write unit the runtime supports (it buffers one unit of unaligned output).
pub const MAX_WRITE_SIZE: usize = 256;
/// Largest flash read unit the runtime supports (it bounces unaligned reads through one unit).
pub const MAX_READ_SIZE: usize = 64;

/// The read, write and erase units the updater works with. Usually the driver's own
/// constants ([`FlashGeometry::of`]); a driver whose geometry is only known at run time (a C
/// driver behind callbacks) declares units of 1 and passes its real geometry to
/// [`crate::storage::Updater::open_with_geometry`]. Each unit must be a multiple of the
/// driver's constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FlashGeometry {
    /// Bytes per erase block.
    pub erase_size: usize,
    /// Bytes per program unit.
    pub write_size: usize,
    /// Bytes per read unit.
    pub read_size: usize,
}

impl FlashGeometry {
    /// The geometry a driver declares in its [`NorFlash`] constants.
    pub const fn of<F: NorFlash>() -> Self {
        Self {
            erase_size: F::ERASE_SIZE,
            write_size: F::WRITE_SIZE,
            read_size: F::READ_SIZE,
        }
    }

    /// Whether a driver with constants `F` can serve this geometry: every unit here is a
    /// whole number of the driver's units.
    pub const fn is_served_by<F: NorFlash>(&self) -> bool {
        self.erase_size % F::ERASE_SIZE == 0
            && self.write_size % F::WRITE_SIZE == 0
            && self.read_size % F::READ_SIZE == 0
    }
}

/// A byte range of the flash device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Region {
    /// First byte, from the start of the flash device.
    pub offset: u32,
    /// Length in bytes.
    pub len: u32,
}

impl Region {
    /// A region of `len` bytes at `offset`.
    pub const fn new(offset: u32, len: u32) -> Self {
        Self { offset, len }
    }

    /// One past the last byte (computed in 64 bits so it cannot overflow).
    pub const fn end(&self) -> u64 {
        self.offset as u64 + self.len as u64
    }

    /// Whether the two regions share a byte.
    pub const fn overlaps(&self, other: &Region) -> bool {
        (self.offset as u64) < other.end() && (other.offset as u64) < self.end()
    }

    /// The placement rule for one region: non-empty, offset and length multiples of
    /// `erase_size`, inside a device of `capacity` bytes. `name` is the region reported.
    pub const fn check_placement(
        &self,
        name: RegionName,
        erase_size: usize,
        capacity: usize,
    ) -> Result<(), LayoutError> {
        if erase_size == 0
            || self.len == 0
            || self.offset as usize % erase_size != 0
            || self.len as usize % erase_size != 0
        {
            return Err(LayoutError::NotEraseAligned { region: name });
        }
        if self.end() > capacity as u64 {
            return Err(LayoutError::OutOfFlash { region: name });
        }
        Ok(())
    }
}

/// The geometry rule: sizes non-zero, the erase size a multiple of the write and read sizes,
/// write and read units within the runtime's buffers.
pub const fn check_geometry(
    erase_size: usize,
    write_size: usize,
    read_size: usize,
) -> Result<(), LayoutError> {
    if erase_size == 0
        || write_size == 0
        || read_size == 0
        || erase_size % write_size != 0
        || erase_size % read_size != 0
        || write_size > MAX_WRITE_SIZE
        || read_size > MAX_READ_SIZE
    {
        return Err(LayoutError::UnsupportedGeometry {
            erase_size,
            write_size,
            read_size,
        });
    }
    Ok(())
}

/// The smallest state region for this geometry: two journal banks, each a whole number of
/// erase blocks holding at least one record padded to the write size
/// (`docs/journal-format.md`). `None` for a geometry that [`check_geometry`] rejects.
pub const fn min_state_len(erase_size: usize, write_size: usize) -> Option<u64> {
    if check_geometry(erase_size, write_size, 1).is_err() {
        return None;
    }
    let geometry = JournalGeometry::new(Region::new(0, 0), erase_size, write_size);
    Some(2 * geometry.bank_len as u64)
}

/// One of the two model slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Slot {
    /// The first slot.
    A,
    /// The second slot.
    B,
}

impl Slot {
    /// The other slot.
    pub const fn other(self) -> Self {
        match self {
            Self::A => Self::B,
            Self::B => Self::A,
        }
    }

    pub(crate) const fn to_u8(self) -> u8 {
        match self {
            Self::A => 0,
            Self::B => 1,
        }
    }

    pub(crate) const fn from_u8(byte: u8) -> Option<Self> {
        match byte {
            0 => Some(Self::A),
            1 => Some(Self::B),
            _ => None,
        }
    }
}

/// Names a region of the layout in error reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RegionName {
    /// Model slot A.
    SlotA,
    /// Model slot B.
    SlotB,
    /// The state journal.
    State,
    /// The optional staging region that holds a whole bundle.
    Staging,
}

/// Why a layout does not fit the flash device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum LayoutError {
    /// The flash geometry itself is unusable: a size is zero, the erase size is not a multiple
    /// of the write and read sizes, or a unit is larger than the runtime's buffers.
    UnsupportedGeometry {
        /// Erase size of the device.
        erase_size: usize,
        /// Write size of the device.
        write_size: usize,
        /// Read size of the device.
        read_size: usize,
    },
    /// A region is empty, or its offset or length is not a multiple of the erase size.
    NotEraseAligned {
        /// The region.
        region: RegionName,
    },
    /// A region ends beyond the device's capacity.
    OutOfFlash {
        /// The region.
        region: RegionName,
    },
    /// Two regions share bytes.
    Overlap {
        /// One region.
        a: RegionName,
        /// The other.
        b: RegionName,
    },
    /// The state region holds fewer than two journal banks.
    StateTooSmall {
        /// Bytes the journal needs at least (two banks).
        needed: u64,
        /// Bytes given.
        got: u32,
    },
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::UnsupportedGeometry {
                erase_size,
                write_size,
                read_size,
            } => write!(
                f,
                "flash geometry erase {erase_size} / write {write_size} / read {read_size} is not \
                 supported (sizes must be non-zero, erase a multiple of write and read, write <= \
                 {MAX_WRITE_SIZE}, read <= {MAX_READ_SIZE})"
            ),
            Self::NotEraseAligned { region } => write!(
                f,
                "{region:?} region is empty or not aligned to the flash erase size"
            ),
            Self::OutOfFlash { region } => {
                write!(f, "{region:?} region ends beyond the flash capacity")
            }
            Self::Overlap { a, b } => write!(f, "{a:?} and {b:?} regions overlap"),
            Self::StateTooSmall { needed, got } => write!(
                f,
                "state region of {got} bytes is smaller than the {needed} bytes of two journal banks"
            ),
        }
    }
}

/// The regions of one flash device that the updater uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FlashLayout {
    /// Model slot A.
    pub slot_a: Region,
    /// Model slot B.
    pub slot_b: Region,
    /// The state journal (at least two journal banks; see `docs/journal-format.md`).
    pub state: Region,
    /// Where a whole bundle may be stored before it is applied, if the device has one.
    pub staging: Option<Region>,
}

impl FlashLayout {
    /// A layout without a staging region.
    pub const fn new(slot_a: Region, slot_b: Region, state: Region) -> Self {
        Self {
            slot_a,
            slot_b,
            state,
            staging: None,
        }
    }

    /// The same layout with a staging region.
    pub const fn with_staging(mut self, staging: Region) -> Self {
        self.staging = Some(staging);
        self
    }

    /// The region of `slot`.
    pub const fn slot(&self, slot: Slot) -> Region {
        match slot {
            Slot::A => self.slot_a,
            Slot::B => self.slot_b,
        }
    }

    /// Checks the layout against a flash geometry: every region erase-aligned and inside the
    /// device, no overlaps, a state region of at least two journal banks. A `const fn`, so a
    /// generated layout can be checked at compile time:
    /// `const _: () = assert!(LAYOUT.validate(4096, 8, 1, 1 << 20).is_ok());`
    pub const fn validate(
        &self,
        erase_size: usize,
        write_size: usize,
        read_size: usize,
        capacity: usize,
    ) -> Result<(), LayoutError> {
        if let Err(e) = check_geometry(erase_size, write_size, read_size) {
            return Err(e);
        }
        let regions = [
            Some((RegionName::SlotA, self.slot_a)),
            Some((RegionName::SlotB, self.slot_b)),
            Some((RegionName::State, self.state)),
            match self.staging {
                Some(r) => Some((RegionName::Staging, r)),
                None => None,
            },
        ];
        let mut i = 0;
        while i < regions.len() {
            if let Some((name, region)) = regions[i] {
                if let Err(e) = region.check_placement(name, erase_size, capacity) {
                    return Err(e);
                }
                let mut j = 0;
                while j < i {
                    if let Some((other_name, other)) = regions[j] {
                        if region.overlaps(&other) {
                            return Err(LayoutError::Overlap {
                                a: other_name,
                                b: name,
                            });
                        }
                    }
                    j += 1;
                }
            }
            i += 1;
        }
        let needed = match min_state_len(erase_size, write_size) {
            Some(needed) => needed,
            None => {
                return Err(LayoutError::UnsupportedGeometry {
                    erase_size,
                    write_size,
                    read_size,
                });
            }
        };
        if (self.state.len as u64) < needed {
            return Err(LayoutError::StateTooSmall {
                needed,
                got: self.state.len,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K4: u32 = 4096;

    fn layout() -> FlashLayout {
        FlashLayout::new(
            Region::new(0, 16 * K4),
            Region::new(16 * K4, 16 * K4),
            Region::new(32 * K4, 2 * K4),
        )
    }

    #[test]
    fn accepts_a_sound_layout_at_compile_time() {
        const LAYOUT: FlashLayout = FlashLayout::new(
            Region::new(0, 8 * 4096),
            Region::new(8 * 4096, 8 * 4096),
            Region::new(16 * 4096, 2 * 4096),
        );
        const _: () = assert!(LAYOUT.validate(4096, 8, 1, 18 * 4096).is_ok());
        assert_eq!(layout().validate(4096, 8, 1, 34 * 4096), Ok(()));
    }

    const CAP: usize = 40 * 4096;

    #[test]
    fn rejects_geometries_it_has_no_buffers_for() {
        // Each condition: a unit that does not divide the erase size, a unit beyond the
        // buffers the runtime has for it, a zero size.
        for (erase, write, read) in [
            (4096, 3, 1),
            (4096, 512, 1),
            (4096, 8, 3),
            (4096, 8, 2 * MAX_READ_SIZE),
            (0, 8, 1),
            (4096, 0, 1),
            (4096, 8, 0),
        ] {
            assert!(
                matches!(
                    layout().validate(erase, write, read, CAP),
                    Err(LayoutError::UnsupportedGeometry { .. })
                ),
                "{erase} {write} {read}"
            );
        }
    }

    #[test]
    fn rejects_regions_off_erase_boundaries() {
        for (offset, len) in [(16 * K4 + 8, 16 * K4), (16 * K4, 16 * K4 - 8), (16 * K4, 0)] {
            let mut l = layout();
            l.slot_b = Region::new(offset, len);
            assert_eq!(
                l.validate(4096, 8, 1, CAP),
                Err(LayoutError::NotEraseAligned {
                    region: RegionName::SlotB
                }),
                "{offset} {len}"
            );
        }
        // On its own, the placement rule also refuses an erase size of zero.
        assert_eq!(
            Region::new(0, K4).check_placement(RegionName::SlotA, 0, CAP),
            Err(LayoutError::NotEraseAligned {
                region: RegionName::SlotA
            })
        );
    }

    #[test]
    fn rejects_regions_beyond_the_flash() {
        assert_eq!(
            layout().validate(4096, 8, 1, 33 * 4096),
            Err(LayoutError::OutOfFlash {
                region: RegionName::State
            })
        );
    }

    #[test]
    fn rejects_overlapping_regions() {
        let l = layout().with_staging(Region::new(30 * K4, 4 * K4));
        assert_eq!(
            l.validate(4096, 8, 1, CAP),
            Err(LayoutError::Overlap {
                a: RegionName::SlotB,
                b: RegionName::Staging
            })
        );
    }

    #[test]
    fn the_minimum_state_region_needs_a_supported_geometry() {
        assert_eq!(min_state_len(4096, 8), Some(2 * 4096));
        assert_eq!(min_state_len(0, 8), None);
        assert_eq!(min_state_len(4096, 3), None);
    }

    #[test]
    fn rejects_a_state_region_below_two_banks() {
        let mut l = layout();
        l.state.len = K4;
        assert_eq!(
            l.validate(4096, 8, 1, CAP),
            Err(LayoutError::StateTooSmall {
                needed: 2 * 4096,
                got: 4096
            })
        );
    }
}
