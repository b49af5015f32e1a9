//! Profiling helper: encodes one pair once, then applies the bundle repeatedly.
fn main() {
    let old = std::fs::read(std::env::args().nth(1).unwrap()).unwrap();
    let new = std::fs::read(std::env::args().nth(2).unwrap()).unwrap();
    let reps: usize = std::env::args().nth(3).map_or(5, |s| s.parse().unwrap());
    let options = mallorn_engine::delta::EncodeOptions::default();
    let enc = mallorn_engine::delta::encode(&old, &new, &options);
    let header = enc.payload.header(&Default::default(), Some(&old), &new);
    let bundle = mallorn_engine::bundle::assemble_unsigned(&header, enc.payload.bytes());
    let t = std::time::Instant::now();
    for _ in 0..reps {
        let out = mallorn_engine::bundle::apply_bundle(&bundle, &old).unwrap();
        assert_eq!(out.len(), new.len());
    }
    let s = t.elapsed().as_secs_f64() / reps as f64;
    println!("apply {:.1} MB/s", new.len() as f64 / s / 1e6);
}
