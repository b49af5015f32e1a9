//! Slots, state journal and update lifecycle of `mallorn_runtime::storage` on a simulated NOR
//! flash: exhaustive power cuts over real model pairs, fragmented ingestion, and the
//! pending / trial / confirm / revert lifecycle, and the trust guarantees against forged
//! payloads and faulty flash, and the same update over an async flash driver.

mod async_flash;
mod common;
mod fragments;
mod lifecycle;
mod power_cut;
mod trust;
