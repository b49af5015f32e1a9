//! Fuzzes format detection plus whichever parser it picks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mallorn_engine::model::parse;

fuzz_target!(|data: &[u8]| {
    if let Ok(map) = parse(data) {
        map.check_tiling().expect("an accepted map must tile the input");
        assert_eq!(map.file_len, data.len() as u64);
    }
});
