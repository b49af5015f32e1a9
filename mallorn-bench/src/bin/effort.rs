//! Encode time and bundle payload bytes per `effort`, on corpus pairs:
//! `cargo run --release -p mallorn-bench --bin effort -- OLD NEW [OLD NEW ...]`.

use std::time::Instant;

use mallorn_engine::delta::{self, Effort, EncodeOptions};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    assert!(
        !args.is_empty() && args.len() % 2 == 0,
        "usage: effort OLD NEW [OLD NEW ...]"
    );
    println!("| pair | effort | encode ms | payload bytes |");
    println!("|---|---|---:|---:|");
    for pair in args.chunks(2) {
        let old = std::fs::read(&pair[0]).expect("read OLD");
        let new = std::fs::read(&pair[1]).expect("read NEW");
        let name = |p: &str| p.rsplit('/').next().unwrap_or(p).to_owned();
        for effort in [Effort::Fast, Effort::Default, Effort::Max] {
            let options = EncodeOptions {
                effort,
                ..EncodeOptions::default()
            };
            // Best of three runs.
            let mut best = f64::MAX;
            let mut bytes = 0;
            for _ in 0..3 {
                let start = Instant::now();
                let encoded = delta::encode(Some(&old), &new, &options).expect("inputs parse");
                best = best.min(start.elapsed().as_secs_f64() * 1e3);
                bytes = encoded.payload.bytes().len();
            }
            println!(
                "| {} -> {} | {effort:?} | {best:.1} | {bytes} |",
                name(&pair[0]),
                name(&pair[1])
            );
        }
    }
}
