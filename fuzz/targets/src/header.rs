//! Fuzzes the bundle header parser and the device admission checks.
//!
//! Input: 1 mode byte, then up to 272 bytes of header and signature, then a base image. Mode
//! bit 0 signs the fuzzed header with the trusted fuzz key first, so the fuzzer also reaches
//! the SKU, model, counter and base checks behind the signature; bit 3 writes valid magic,
//! version and length so the fuzzer spends its time on the fields after them.

use ed25519_dalek::{Signer, SigningKey};
use mallorn_runtime::Error;
use mallorn_runtime::format::header::FORMAT_VERSION;
use mallorn_runtime::format::{BundleHeader, HEADER_LEN, SIGNATURE_LEN, key_id};
use mallorn_runtime::verify::{DeviceContext, TrustedKey, admit, check_base};

/// One run of the header target on `data` (see the module notes for its layout).
pub fn header(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut header = [0u8; HEADER_LEN];
    let mut signature = [0u8; SIGNATURE_LEN];
    let take = rest.len().min(HEADER_LEN);
    header[..take].copy_from_slice(&rest[..take]);
    let rest = &rest[take..];
    let take = rest.len().min(SIGNATURE_LEN);
    signature[..take].copy_from_slice(&rest[..take]);
    let base = &rest[take..];

    if mode & 8 == 8 {
        header[..4].copy_from_slice(b"MLRN");
        header[4..6].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        header[6..8].copy_from_slice(&(HEADER_LEN as u16).to_le_bytes());
    }
    let signer = SigningKey::from_bytes(&[0x4d; 32]);
    let public = signer.verifying_key().to_bytes();
    let trusted = [
        TrustedKey::new(public).expect("fixed key is valid"),
        TrustedKey::new(
            SigningKey::from_bytes(&[0x4e; 32])
                .verifying_key()
                .to_bytes(),
        )
        .expect("fixed key is valid"),
    ];
    let resigned = mode & 1 == 1;
    if resigned {
        header[16..24].copy_from_slice(&key_id(&public));
        signature = signer.sign(&header).to_bytes();
    }
    // Device facts taken from the input too, so matches and mismatches are both reachable.
    let device = DeviceContext {
        sku_id: if mode & 2 == 2 {
            header[32..40].try_into().unwrap()
        } else {
            [0; 8]
        },
        model_id: if mode & 4 == 4 {
            header[24..32].try_into().unwrap()
        } else {
            [0; 8]
        },
        committed_counter: u64::from(mode >> 4),
        trusted_keys: &trusted,
    };

    match admit(&header, &signature, &device) {
        Ok(parsed) => {
            assert_eq!(parsed.to_bytes(), header, "admitted header must round-trip");
            let mut scratch = [0u8; 64];
            let scratch_len = usize::from(header[199] % 64) + 1;
            let mut image: &[u8] = base;
            let _ = check_base(&parsed, &mut image, &mut scratch[..scratch_len]);
        }
        Err(Error::BadSignature | Error::UnknownKey { .. }) => {
            assert!(
                !resigned,
                "a header signed by a trusted key must pass the signature check"
            );
            assert!(
                BundleHeader::parse(&header).is_ok(),
                "signature checked before structure"
            );
        }
        Err(_) => {}
    }
}
