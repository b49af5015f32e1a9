#!/usr/bin/env bash
# Regenerates schema_generated.rs from schema.fbs with planus-cli (pure Rust, no flatc):
#   cargo install planus-cli --version 1.3.0 --locked
# With --check, fails if the committed file differs from what planus generates.
set -euo pipefail
cd "$(dirname "$0")"
out=$(mktemp --suffix=.rs)
trap 'rm -f "$out"' EXIT
planus rust -o "$out" schema.fbs
if [[ "${1:-}" == "--check" ]]; then
    diff -u schema_generated.rs "$out" && echo "schema_generated.rs is up to date"
else
    cp "$out" schema_generated.rs
    echo "wrote $(pwd)/schema_generated.rs"
fi
