//! Key files interoperate with OpenSSL: a key from `openssl genpkey -algorithm ed25519` signs
//! bundles, and OpenSSL derives the same public key from a key that Mallorn wrote. Skipped
//! with a notice where `openssl` is not installed.

use std::process::Command;

use mallorn_engine::signing::{KeySource, PublicKey, SigningKey, write_key_pair};

fn openssl(args: &[&str]) -> Option<String> {
    let output = Command::new("openssl").args(args).output().ok()?;
    assert!(output.status.success(), "openssl {args:?} failed");
    Some(String::from_utf8(output.stdout).unwrap())
}

#[test]
fn keys_round_trip_through_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let theirs = dir.path().join("openssl.pem");
    let theirs_str = theirs.to_str().unwrap();
    if openssl(&["genpkey", "-algorithm", "ed25519", "-out", theirs_str]).is_none() {
        eprintln!("notice: openssl is not installed; skipping the interop test");
        return;
    }
    let loaded = KeySource::File(theirs.clone()).load().unwrap();
    let their_public = openssl(&["pkey", "-in", theirs_str, "-pubout"]).unwrap();
    assert_eq!(
        PublicKey::from_spki_pem(&their_public, "openssl").unwrap(),
        loaded.public_key()
    );
    assert_eq!(
        loaded.to_pkcs8_pem().as_str(),
        std::fs::read_to_string(&theirs).unwrap(),
        "Mallorn writes the same PKCS#8 form as OpenSSL"
    );

    let ours = dir.path().join("mallorn.pem");
    let key = SigningKey::generate().unwrap();
    let public_path = write_key_pair(&ours, &key).unwrap();
    let derived = openssl(&["pkey", "-in", ours.to_str().unwrap(), "-pubout"]).unwrap();
    assert_eq!(derived, std::fs::read_to_string(public_path).unwrap());
}
