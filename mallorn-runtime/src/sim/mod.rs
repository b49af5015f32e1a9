//! Host-side test doubles (the `sim` feature, needs `std`): a simulated NOR flash that
//! enforces the rules real parts impose and can lose power at any operation.

pub mod flash;

pub use flash::{CutMode, FlashOp, OpCounts, SimError, SimFlash};
