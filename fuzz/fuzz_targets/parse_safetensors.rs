//! Fuzzes the safetensors parser: any input must give an error or a map that tiles it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mallorn_engine::model::{Format, parse_as};

fuzz_target!(|data: &[u8]| {
    if let Ok(map) = parse_as(Format::Safetensors, data) {
        map.check_tiling().expect("an accepted map must tile the input");
        assert_eq!(map.file_len, data.len() as u64);
    }
});
