#!/usr/bin/env python3
"""Mallorn against generic delta tools on the re-quantised GGUF lineages that
gguf_requant_pairs.py writes, one row per quantisation.

Usage:
  cargo build --release -p cargo-mallorn
  python3 mallorn-bench/scripts/gguf_requant_pairs.py /work/gguf-pairs
  python3 mallorn-bench/scripts/gguf_quant_table.py /work/gguf-pairs [--skip-baselines]

For every folder PAIRS/<TYPE>/ holding v0-base.<TYPE>.gguf and v1-finetune.<TYPE>.gguf it
builds an unsigned bundle twice with `cargo mallorn diff` (default settings: the largest
profile that fits 64 KiB; once with the GGUF parsed, once with `--format raw`, the same
codec seeing opaque bytes), applies each with `cargo mallorn apply` and checks the result's
SHA-256, and runs the generic tools of ../shared/tools/baselines.py (zstd --patch-from -19
and -22 with --long, xdelta3 -9, bsdiff4, HDiffPatch LZMA2; each decoded and checked by that
script) unless --skip-baselines reuses PAIRS/baselines.csv. Payload = bundle minus the
signed header. Times are wall-clock seconds on whatever machine runs it.
"""

import argparse
import csv
import hashlib
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
BASELINES = os.path.normpath(os.path.join(REPO, "..", "shared", "tools", "baselines.py"))
TOOLS = "zstd-patch-19,zstd-patch-22,xdelta3-9-djw,bsdiff4,hdiffpatch-lzma2"
HEADER = 272  # SIGNED_BUNDLE_PREFIX of format version 2 (mallorn-runtime format/header.rs)


def cli():
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
    exe = os.path.join(target, "release", "cargo-mallorn")
    if not os.path.exists(exe):
        sys.exit(f"{exe} missing: run `cargo build --release -p cargo-mallorn` first")
    return exe


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def mallorn(exe, old, new, raw, tmp):
    """(payload bytes, encode s, apply s) of one bundle, applied and checked."""
    bundle = os.path.join(tmp, "raw.mlrn" if raw else "auto.mlrn")
    out = os.path.join(tmp, "out.gguf")
    args = [exe, "mallorn", "diff", old, new, "-o", bundle, "--unsigned"]
    if raw:
        args += ["--format", "raw"]
    t = time.monotonic()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    encode = time.monotonic() - t
    t = time.monotonic()
    subprocess.run([exe, "mallorn", "apply", old, bundle, "-o", out, "--allow-unsigned"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    apply = time.monotonic() - t
    if sha256(out) != sha256(new):
        sys.exit(f"{bundle}: applied result differs from {new}")
    os.remove(out)
    return os.path.getsize(bundle) - HEADER, encode, apply


def pairs(root):
    for kind in sorted(os.listdir(root)):
        folder = os.path.join(root, kind)
        old = os.path.join(folder, f"v0-base.{kind}.gguf")
        new = os.path.join(folder, f"v1-finetune.{kind}.gguf")
        if os.path.isfile(old) and os.path.isfile(new):
            yield kind, old, new


def generic(root, skip):
    out = os.path.join(root, "baselines.md")
    if not skip:
        subprocess.run([sys.executable, BASELINES, "--corpus", root, "--out", out, "--tools", TOOLS,
                        "--timeout", "900"], check=True, stdout=sys.stderr)
    best = {}
    with open(os.path.splitext(out)[0] + ".csv") as f:
        for row in csv.DictReader(f):
            if row.get("status", "ok").lower() not in ("ok", ""):
                continue
            size = int(row["patch_bytes"])
            key = row["lineage"]
            if key not in best or size < best[key][0]:
                best[key] = (size, row["tool"])
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pairs")
    ap.add_argument("--skip-baselines", action="store_true")
    a = ap.parse_args()
    exe = cli()
    best = generic(a.pairs, a.skip_baselines)
    print("| quantisation | NEW | Mallorn payload | raw-format payload | best generic tool | "
          "payload / best | payload / raw | encode s | apply s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for kind, old, new in pairs(a.pairs):
            payload, enc, app = mallorn(exe, old, new, False, tmp)
            raw, _, _ = mallorn(exe, old, new, True, tmp)
            size, tool = best[kind]
            print(f"| {kind} | {os.path.getsize(new)} | {payload} | {raw} | {size} ({tool}) | "
                  f"{payload / size:.3f} | {payload / raw:.3f} | {enc:.1f} | {app:.1f} |", flush=True)


if __name__ == "__main__":
    main()
