//! How the state region divides into journal banks and record slots for a flash geometry.
//! A record is padded to the write size; a bank is the smallest whole number of erase blocks
//! that holds at least one record; records never straddle banks.

use crate::storage::journal::record::RECORD_RAW_LEN;
use crate::storage::layout::Region;

/// The journal's shape on one device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct JournalGeometry {
    /// The state region.
    pub(crate) region: Region,
    /// Bytes per record slot: the record padded to the write size.
    pub(crate) rec_len: usize,
    /// Bytes per bank: a whole number of erase blocks.
    pub(crate) bank_len: usize,
    /// Banks in the region (the layout guarantees at least two).
    pub(crate) banks: u32,
    /// Record slots per bank (at least one).
    pub(crate) per_bank: u32,
}

impl JournalGeometry {
    /// The geometry for a state region on a device with these erase and write sizes (both
    /// non-zero, erase a multiple of write: checked by `FlashLayout::validate`).
    // `banks` <= `region.len` (a u32); `per_bank` <= erase size / record size, both small.
    #[allow(clippy::cast_possible_truncation)]
    pub(crate) const fn new(region: Region, erase_size: usize, write_size: usize) -> Self {
        let rec_len = round_up(RECORD_RAW_LEN, write_size);
        let bank_len = round_up(rec_len, erase_size);
        Self {
            region,
            rec_len,
            bank_len,
            banks: (region.len as usize / bank_len) as u32,
            per_bank: (bank_len / rec_len) as u32,
        }
    }

    /// Record slots in the whole region.
    pub(crate) const fn slots(&self) -> u32 {
        self.banks * self.per_bank
    }

    /// Flash offset of a bank.
    pub(crate) const fn bank_offset(&self, bank: u32) -> u64 {
        self.region.offset as u64 + bank as u64 * self.bank_len as u64
    }

    /// Flash offset of a record slot.
    pub(crate) const fn slot_offset(&self, bank: u32, index: u32) -> u64 {
        self.bank_offset(bank) + index as u64 * self.rec_len as u64
    }
}

const fn round_up(n: usize, unit: usize) -> usize {
    n.div_ceil(unit) * unit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_records_and_fits_banks_to_erase_blocks() {
        let g = JournalGeometry::new(Region::new(0, 8192), 4096, 8);
        assert_eq!(
            (g.rec_len, g.bank_len, g.banks, g.per_bank),
            (208, 4096, 2, 19)
        );
        let g = JournalGeometry::new(Region::new(0, 8192), 4096, 256);
        assert_eq!(
            (g.rec_len, g.bank_len, g.banks, g.per_bank),
            (256, 4096, 2, 16)
        );
        // Tiny erase blocks: a bank spans several of them.
        let g = JournalGeometry::new(Region::new(0, 1024), 128, 4);
        assert_eq!(
            (g.rec_len, g.bank_len, g.banks, g.per_bank),
            (208, 256, 4, 1)
        );
    }
}
