//! Profiling helper: encodes one pair once (`CODER=fast` for the fast codec), then applies the
//! bundle repeatedly and prints the apply speed in this thread's CPU time.
fn main() {
    let old = std::fs::read(std::env::args().nth(1).unwrap()).unwrap();
    let new = std::fs::read(std::env::args().nth(2).unwrap()).unwrap();
    let reps: usize = std::env::args().nth(3).map_or(5, |s| s.parse().unwrap());
    let mut options = mallorn_engine::delta::EncodeOptions::default();
    if std::env::var("CODER").is_ok_and(|c| c == "fast") {
        options.coder = mallorn_engine::delta::DeltaCodec::Fast;
    }
    let t = cpu_time::ThreadTime::now();
    let enc = mallorn_engine::delta::encode(Some(&old), &new, &options).expect("inputs parse");
    let encode = t.elapsed().as_secs_f64();
    let (_, bundle) = enc
        .payload
        .unsigned_bundle(&Default::default(), Some(&old), &new);
    let t = cpu_time::ThreadTime::now();
    for _ in 0..reps {
        let out = mallorn_engine::bundle::apply_bundle(&bundle, &old).unwrap();
        assert_eq!(out.len(), new.len());
    }
    let s = t.elapsed().as_secs_f64() / reps as f64;
    println!(
        "encode {:.1} MB/s, apply {:.1} MB/s",
        new.len() as f64 / encode / 1e6,
        new.len() as f64 / s / 1e6
    );
}
