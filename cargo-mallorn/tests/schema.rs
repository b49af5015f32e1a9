//! `cargo mallorn schema`: the JSON schema editors use, snapshot-tested.

mod common;

use common::mallorn;

#[test]
fn schema_prints_the_draft07_schema() {
    let dir = tempfile::tempdir().unwrap();
    let run = mallorn(dir.path(), &["schema"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let schema: serde_json::Value = serde_json::from_str(&run.stdout).expect("valid JSON");
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    assert_eq!(schema["title"], "Mallorn.toml");
    insta::assert_snapshot!("schema", run.stdout);
}
