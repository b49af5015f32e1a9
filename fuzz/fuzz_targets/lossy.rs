//! libFuzzer entry; the body is `mallorn_fuzz_targets::lossy` (fuzz/targets/src).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mallorn_fuzz_targets::lossy(data));
