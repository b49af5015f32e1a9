#!/usr/bin/env bash
# Fuzzes every cargo-fuzz target for a bounded time, starting from the committed seeds
# (fuzz/seeds/<target>/) and regressions (fuzz/regressions/<target>/), and fails if any
# target crashes, times out or runs out of memory. Needs nightly and cargo-fuzz (.ci/run
# installs both). Seconds per target: $MALLORN_FUZZ_SECONDS, default 40.
#
# A crash input is copied to fuzz/regressions/<target>/ in this checkout and printed in the
# log as base64 with the command that recreates it, since CI's checkout is thrown away.
# Commit it there with the fix: `cargo test -p mallorn-fuzz-targets` replays it on stable.
set -euo pipefail
cd "$(dirname "$0")"

seconds=${MALLORN_FUZZ_SECONDS:-40}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# cargo-fuzz has no --locked: check the committed fuzz/Cargo.lock first.
cargo +nightly metadata --locked --format-version 1 >/dev/null
cargo +nightly fuzz build

crashed=()
for target in $(cargo +nightly fuzz list); do
  # libFuzzer adds new inputs to the first corpus folder: a scratch one, so seeds/ and
  # regressions/ are only read.
  mkdir -p "$work/corpus/$target" "$work/artifacts/$target"
  started=$SECONDS
  status=0
  cargo +nightly fuzz run "$target" "$work/corpus/$target" "seeds/$target" \
    "regressions/$target" -- -max_total_time="$seconds" -timeout=20 \
    -artifact_prefix="$work/artifacts/$target/" -print_final_stats=1 \
    >"$work/$target.log" 2>&1 || status=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/$target.log" | grep -o '[0-9]*$' || true)
  cov=$(grep -o 'cov: [0-9]*' "$work/$target.log" | tail -n 1 || true)
  printf '%-18s %3ss  %10s runs  %s  corpus %s inputs\n' "$target" "$((SECONDS - started))" \
    "${runs:-?}" "${cov:-cov: ?}" "$(find "$work/corpus/$target" -type f | wc -l)"
  artifacts=("$work/artifacts/$target"/*)
  if [ "$status" -ne 0 ] || [ -e "${artifacts[0]}" ]; then
    crashed+=("$target")
    echo "--- $target failed (exit $status); the end of its log:"
    tail -n 60 "$work/$target.log"
    for artifact in "${artifacts[@]}"; do
      [ -e "$artifact" ] || continue
      name=$(basename "$artifact")
      cp "$artifact" "regressions/$target/$name"
      echo "--- copied to fuzz/regressions/$target/$name ($(wc -c <"$artifact") bytes); to recreate it:"
      echo "base64 -d > fuzz/regressions/$target/$name <<'INPUT'"
      base64 "$artifact"
      echo "INPUT"
    done
  fi
done

if [ "${#crashed[@]}" -ne 0 ]; then
  echo "fuzzing found failures in: ${crashed[*]}"
  exit 1
fi
echo "fuzzing: no crash in $(cargo +nightly fuzz list | wc -l) targets, ${seconds}s each"
