//! Host-side test doubles (the `sim` feature, needs `std`): a simulated NOR flash that
//! enforces the rules real parts impose, can lose power at any operation, and injects the
//! faults real parts have (silent program failures, read errors, ECC errors on torn words,
//! operations that land but report failure, bit flips, schedules of several power cuts).
//!
//! [`flash`] is the part and applies the faults; [`faults`] is the catalogue ([`Fault`]),
//! the plan ([`FaultPlan`]) and the counts of what fired ([`FaultCounts`]). With the `async`
//! feature, `PendingFlash` puts any of them behind the `embedded_storage_async` traits.

pub mod faults;
pub mod flash;
#[cfg(feature = "async")]
pub mod pending;

pub use faults::{Fault, FaultCounts, FaultPlan, Persistence};
pub use flash::{CutMode, FlashOp, OpCounts, SimError, SimFlash};
#[cfg(feature = "async")]
pub use pending::PendingFlash;
