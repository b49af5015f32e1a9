//! Lowercase hex for key ids, SKU and model ids, digests and public keys in messages.

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
