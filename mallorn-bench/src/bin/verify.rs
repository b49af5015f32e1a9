//! Prints what admission costs on this host: header parse + Ed25519 signature check
//! (`verify_strict`, ed25519-dalek without precomputed tables, as on a device), the streaming
//! base check at several scratch sizes, and host signing and whole-bundle verification.
//!
//! Run: `cargo run --release -p mallorn-bench --bin verify`. Uses the minilm GGUF pair from
//! `../shared/corpus` (a 24.6 MB base) when present, else a generated 24 MB base.

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use mallorn_engine::bundle::{BundleIdentity, PayloadBuilder};
use mallorn_engine::signing::{SigningKey, sign_bundle, verify_bundle};
use mallorn_runtime::format::{HEADER_LEN, SIGNATURE_LEN, SIGNED_BUNDLE_PREFIX, model_id, sku_id};
use mallorn_runtime::verify::{DeviceContext, TrustedKey, admit, authenticate, check_base};

fn per_call<T>(rounds: u32, mut f: impl FnMut() -> T) -> f64 {
    let start = Instant::now();
    for _ in 0..rounds {
        black_box(f());
    }
    start.elapsed().as_secs_f64() / f64::from(rounds)
}

fn main() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/minilm-gguf-q8_0");
    let (base, name) = match std::fs::read(corpus.join("v0-base.Q8_0.gguf")) {
        Ok(base) => (base, "minilm v0-base.Q8_0.gguf"),
        Err(_) => {
            eprintln!("notice: corpus absent; using a generated base");
            (
                (0..24_000_000u32)
                    .map(|i| (i * 2_654_435_761) as u8)
                    .collect(),
                "generated",
            )
        }
    };
    let target = &base[..base.len() / 2];
    let identity = BundleIdentity {
        model_id: model_id("minilm"),
        sku_id: sku_id("bench"),
        security_counter: 2,
        error_bound: None,
        ..BundleIdentity::default()
    };
    let mut payload = PayloadBuilder::new(12);
    payload.push_stored(target);
    let (_, unsigned) = payload.unsigned_bundle(&identity, Some(&base), target);
    let key = SigningKey::from_seed(&[1; 32]).expect("fixed seed");
    let bundle = sign_bundle(&unsigned, &key).expect("signs");
    let trusted = [
        TrustedKey::new(key.public_key().to_bytes()).expect("valid"),
        TrustedKey::new(
            SigningKey::from_seed(&[2; 32])
                .expect("seed")
                .public_key()
                .to_bytes(),
        )
        .expect("valid"),
    ];
    let header: &[u8; HEADER_LEN] = bundle[..HEADER_LEN].try_into().expect("len");
    let signature: &[u8; SIGNATURE_LEN] = bundle[HEADER_LEN..SIGNED_BUNDLE_PREFIX]
        .try_into()
        .expect("len");
    let device = DeviceContext {
        sku_id: sku_id("bench"),
        model_id: model_id("minilm"),
        committed_counter: 1,
        trusted_keys: &trusted,
    };

    println!("admission (header parse + Ed25519 verify_strict + SKU/model/counter)");
    let t = per_call(2000, || {
        admit(header, signature, &device).expect("admitted")
    });
    println!("  admit                      {:>9.1} us", t * 1e6);
    let t = per_call(2000, || {
        authenticate(header, signature, &trusted).expect("authentic")
    });
    println!("  authenticate               {:>9.1} us", t * 1e6);
    let parsed = admit(header, signature, &device).expect("admitted");

    println!("base check over {} bytes ({name})", base.len());
    for scratch_len in [256usize, 4096, 65536] {
        let mut scratch = vec![0; scratch_len];
        let t = per_call(5, || {
            let mut image: &[u8] = &base;
            check_base(&parsed, &mut image, &mut scratch).expect("right base")
        });
        println!(
            "  scratch {scratch_len:>6} B            {:>9.1} ms  {:>7.0} MB/s",
            t * 1e3,
            base.len() as f64 / t / 1e6
        );
    }

    println!("host ({} byte bundle)", bundle.len());
    let t = per_call(5, || sign_bundle(&unsigned, &key).expect("signs"));
    println!(
        "  sign_bundle                {:>9.1} ms (checks the payload SHA-256 first)",
        t * 1e3
    );
    let public = [key.public_key()];
    let t = per_call(5, || {
        verify_bundle(&bundle, &public, Some(&base)).expect("verifies")
    });
    println!("  verify_bundle with base    {:>9.1} ms", t * 1e3);
}
