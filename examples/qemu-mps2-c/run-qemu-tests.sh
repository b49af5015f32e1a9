#!/usr/bin/env bash
# Builds the C example firmware (arm-none-eabi-gcc, C main, the Cortex-M4F staticlib of
# mallorn-runtime-c), runs its cases under QEMU mps2-an386, checks each exit code and result
# line, and prints the size and RAM figures.
#
#   bash examples/qemu-mps2-c/run-qemu-tests.sh
#
# 1. `cargo mallorn build` for examples/qemu-mps2/Mallorn.toml (the bundles and the per-SKU
#    header mallorn.h, into examples/qemu-mps2/target/mallorn), with the test profile's
#    cargo-mallorn (CI has built it for `simulate` already).
# 2. The staticlib for thumbv7em-none-eabihf, sized like the Rust example: opt-level "s", fat
#    LTO, compact SHA-2 (its own target directory, examples/qemu-mps2-c/target).
# 3. One firmware per case (Makefile), each run under QEMU.
# Exits 0 only if every case passed.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$here"

log() { printf '%s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

for tool in arm-none-eabi-gcc qemu-system-arm make; do
    command -v "$tool" >/dev/null || die "$tool is missing (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm make)"
done
rustup target list --installed 2>/dev/null | grep -qx thumbv7em-none-eabihf ||
    rustup target add thumbv7em-none-eabihf >&2 || die "no thumbv7em-none-eabihf target"

log "== cargo mallorn build (examples/qemu-mps2/Mallorn.toml)"
(cd "$root" && cargo run --profile test --locked --quiet -p cargo-mallorn -- \
    mallorn build --manifest-path examples/qemu-mps2/Mallorn.toml --target mps2-an386) >&2 ||
    die "cargo mallorn build failed"
sku_dir="$root/examples/qemu-mps2/target/mallorn/mps2-an386"
delta="$sku_dir/okay-nabu/okay-nabu-2.0.0-to-2.1.0.mlrn"
full="$sku_dir/okay-nabu/okay-nabu-2.1.0-full.mlrn"

log "== mallorn-runtime-c staticlib for thumbv7em-none-eabihf"
(cd "$root" && CARGO_TARGET_DIR="$here/target" CARGO_PROFILE_RELEASE_OPT_LEVEL=s \
    CARGO_PROFILE_RELEASE_DEBUG=false RUSTFLAGS='--cfg sha2_backend_soft="compact"' \
    cargo build --locked --quiet --release -p mallorn-runtime-c --target thumbv7em-none-eabihf) >&2 ||
    die "building the staticlib failed"
lib="$here/target/thumbv7em-none-eabihf/release/libmallorn_runtime_c.a"

log "== the same with the opt-in salty verifier (feature ed25519-salty)"
(cd "$root" && CARGO_TARGET_DIR="$here/target/salty" CARGO_PROFILE_RELEASE_OPT_LEVEL=s \
    CARGO_PROFILE_RELEASE_DEBUG=false RUSTFLAGS='--cfg sha2_backend_soft="compact"' \
    cargo build --locked --quiet --release -p mallorn-runtime-c --target thumbv7em-none-eabihf \
    --features ed25519-salty) >&2 || die "building the salty staticlib failed"
salty_lib="$here/target/salty/thumbv7em-none-eabihf/release/libmallorn_runtime_c.a"

new_sha="$(sha256sum "$root/examples/qemu-mps2/models/okay-nabu/v2-2024-10-01.tflite" | cut -d' ' -f1)"
old_sha="$(sha256sum "$root/examples/qemu-mps2/models/okay-nabu/v2-2024-07-10.tflite" | cut -d' ' -f1)"
middle=$(( $(stat -c %s "$delta") / 2 ))
passed=0
failed=0
rows=()

section() {
    arm-none-eabi-size -A "$2" | awk -v name="$1" '$1 == name { print $2; found = 1 } END { if (!found) print 0 }'
}
figure() {
    printf '%s\n' "$2" | awk -v label="$1" 'index($0, label) == 1 { print $3; found = 1; exit } END { if (!found) print "-" }'
}

# run_case NAME BUNDLE DEFS EXPECTED_EXIT LAST_LINE_REGEX [EXTRA_REGEX...]
run_case() {
    local name="$1" bundle="$2" defs="$3" want_code="$4" want_line="$5"
    shift 5
    local extras=("$@") extra elf="$here/build/$name.elf"
    log "== $name"
    if ! make --quiet NAME="$name" LIB="$lib" SKU_DIR="$sku_dir" BUNDLE="$bundle" DEFS="$defs" >&2; then
        log "FAIL $name: build failed"
        failed=$((failed + 1))
        return
    fi
    local out code
    out="$(timeout 120 qemu-system-arm -cpu cortex-m4 -machine mps2-an386 -nographic \
        -monitor none -serial none -semihosting-config enable=on,target=native \
        -icount shift=0 -kernel "$elf" 2>/dev/null)"
    code=$?
    printf '%s\n' "$out" | sed 's/^/    /' >&2
    local verdict=ok
    [[ "$code" == "$want_code" ]] || verdict="exit code $code, expected $want_code"
    [[ "$verdict" == ok ]] && { printf '%s\n' "$out" | tail -n 1 | grep -Eqx "$want_line" || verdict="last line is not /$want_line/"; }
    for extra in "${extras[@]}"; do
        [[ "$verdict" == ok ]] && { printf '%s\n' "$out" | grep -Eq "$extra" || verdict="no line matches /$extra/"; }
    done
    if [[ "$verdict" == ok ]]; then
        log "PASS $name"
        passed=$((passed + 1))
    else
        log "FAIL $name: $verdict"
        failed=$((failed + 1))
    fi
    local text rodata data bss vectors exidx work stack ram="-"
    text=$(section .text "$elf"); rodata=$(section .rodata "$elf"); data=$(section .data "$elf")
    bss=$(section .bss "$elf"); vectors=$(section .vectors "$elf"); exidx=$(section .ARM.exidx "$elf")
    work=$(figure "work buffer" "$out"); stack=$(figure "peak stack" "$out")
    [[ "$work" != "-" && "$stack" != "-" ]] && ram=$((work + stack))
    rows+=("$(printf '%-20s %7s %7s %6s %7s %8s %7s %7s %8s' "$name" "$text" "$rodata" "$data" "$bss" \
        "$((vectors + text + rodata + data + exidx))" "$work" "$stack" "$ram")")
}

old_active="active +slot A \\(old model\\) $old_sha"
run_case signed "$delta" "" 0 "MALLORN OK $new_sha"
run_case full-image "$full" "" 0 "MALLORN OK $new_sha"
run_case tamper-header "$delta" "-DTAMPER_HEADER" 2 "MALLORN REJECTED .+" "$old_active"
run_case tamper-payload "$delta" "-DTAMPER_PAYLOAD=$middle" 2 \
    "MALLORN REJECTED payload segment failed its hash.*" "$old_active"
signed_lib="$lib"
lib="$salty_lib"
run_case signed-salty "$delta" "" 0 "MALLORN OK $new_sha"
run_case tamper-header-salty "$delta" "-DTAMPER_HEADER" 2 "MALLORN REJECTED bad signature" \
    "$old_active"
lib="$signed_lib"

printf '\nFigures (bytes; flash = vectors + .text + .rodata + .data + .ARM.exidx, without the models\n'
printf 'and bundles in .assets; RAM = work buffer + peak stack; .bss holds the work buffer and the\n'
printf 'updater and session storage)\n'
printf '%-20s %7s %7s %6s %7s %8s %7s %7s %8s\n' case .text .rodata .data .bss flash work stack RAM
printf '%s\n' "${rows[@]}"
printf 'qemu-mps2-c: %d passed, %d failed\n' "$passed" "$failed"
[[ "$failed" == 0 ]]
