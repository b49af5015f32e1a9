//! What the device knows about itself when a bundle arrives: who it is, which model the slot
//! holds, how far its anti-rollback counter has advanced, and whom it trusts.

use crate::verify::trusted_key::TrustedKey;

/// The device-side facts a bundle is admitted against.
#[derive(Debug, Clone, Copy)]
pub struct DeviceContext<'k> {
    /// The device's SKU id (see [`crate::format::sku_id`]).
    pub sku_id: [u8; 8],
    /// Id of the model in the slot being updated (see [`crate::format::model_id`]).
    pub model_id: [u8; 8],
    /// Security counter of the last confirmed update; a bundle must carry a greater one.
    pub committed_counter: u64,
    /// Keys whose signatures the device accepts.
    pub trusted_keys: &'k [TrustedKey],
}
