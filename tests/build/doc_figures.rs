//! Figures the documentation quotes for the example come from the tool: each SKU's coding,
//! profile and work RAM in docs/build.md (the `<sku>: <coding>, work RAM N of M bytes` lines
//! of the sample `build` output) and in the SKU table of examples/wakeword-device/README.md
//! must be what `cargo mallorn plan --json` reports (`coding_detail`, `work_len`).
//!
//! When the tool changes (a new runtime changes work RAM), regenerate the quotes with one
//! command: `MALLORN_UPDATE_DOCS=1 cargo test -p mallorn-tests --test build doc_figures`.

use std::path::Path;

use crate::common::{Example, example_dir};

/// What the plan says about one SKU.
struct Quote {
    sku: String,
    coding: String,
    work_len: usize,
    ram_buffer: u64,
}

fn quotes() -> Vec<Quote> {
    let example = Example::new();
    let loaded = example.load();
    let plan = mallorn_engine::build::plan(&loaded, &[]).unwrap();
    let summary = plan.summary(&loaded);
    summary
        .targets
        .iter()
        .map(|t| Quote {
            sku: t.sku.clone(),
            coding: t.coding_detail.clone(),
            work_len: t.work_len,
            ram_buffer: loaded.target(&t.sku).unwrap().ram_buffer,
        })
        .collect()
}

/// docs/build.md: `<sku>: <coding>, work RAM <work_len> of <ram_buffer> bytes`.
fn build_md_line(q: &Quote) -> String {
    format!(
        "{}: {}, work RAM {} of {} bytes",
        q.sku, q.coding, q.work_len, q.ram_buffer
    )
}

/// The README table's last cell: `<coding>, work RAM <work_len> B`.
fn readme_cell(q: &Quote) -> String {
    format!("{}, work RAM {} B", q.coding, q.work_len)
}

/// Rewrites (with `MALLORN_UPDATE_DOCS=1`) or checks every line of `file` that `select`
/// recognises as quoting a SKU: `expected` gives the line it must be.
fn check_file(
    file: &Path,
    quotes: &[Quote],
    select: impl Fn(&str, &Quote) -> bool,
    expected: impl Fn(&str, &Quote) -> String,
) {
    let text = std::fs::read_to_string(file).unwrap();
    let mut out = String::new();
    let mut found = vec![false; quotes.len()];
    let mut wrong = Vec::new();
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches('\n');
        match quotes.iter().position(|q| select(body, q)) {
            Some(i) => {
                found[i] = true;
                let want = expected(body, &quotes[i]);
                if want != body {
                    wrong.push(format!("  quoted: {body}\n  tool:   {want}"));
                }
                out.push_str(&want);
                out.push('\n');
            }
            None => out.push_str(line),
        }
    }
    if std::env::var_os("MALLORN_UPDATE_DOCS").is_some() {
        std::fs::write(file, out).unwrap();
        return;
    }
    for (q, found) in quotes.iter().zip(found) {
        assert!(found, "{} quotes no figures for {}", file.display(), q.sku);
    }
    assert!(
        wrong.is_empty(),
        "{} disagrees with `cargo mallorn plan --json` (regenerate: MALLORN_UPDATE_DOCS=1 cargo test -p mallorn-tests --test build doc_figures):\n{}",
        file.display(),
        wrong.join("\n")
    );
}

#[test]
fn doc_figures_match_the_plan() {
    let quotes = quotes();
    let root = example_dir().join("../..");
    check_file(
        &root.join("docs/build.md"),
        &quotes,
        |line, q| line.starts_with(&format!("{}: ", q.sku)) && line.contains("work RAM"),
        |_, q| build_md_line(q),
    );
    check_file(
        &example_dir().join("README.md"),
        &quotes,
        |line, q| line.starts_with(&format!("| `{}` |", q.sku)),
        |line, q| {
            let cells: Vec<&str> = line.trim_end_matches('|').split(" | ").collect();
            let rest = &cells[..cells.len() - 1];
            format!("{} | {} |", rest.join(" | "), readme_cell(q))
        },
    );
}
