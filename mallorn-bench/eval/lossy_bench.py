#!/usr/bin/env python3
"""Lossy releases on real corpus pairs: payload bytes of the delta bundle, lossless vs lossy at
several bounds, and the task drift of each shipped image measured with the evaluation
scripts beside this file (a real inference engine on real inputs).

Usage: python3 mallorn-bench/eval/lossy_bench.py [CARGO_MALLORN [PAIR-FILTER]]
  CARGO_MALLORN: the cargo-mallorn binary (default target/release/cargo-mallorn; build it
  with `cargo build --release -p cargo-mallorn`). PAIR-FILTER: only pairs whose label
  contains it. Needs ../shared/corpus and setup.sh's
  packages. Prints a Markdown table on stdout, progress on stderr.
"""

import json
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpus"
EVAL = pathlib.Path(__file__).resolve().parent

# (label, format, old file, new file, evaluation command or None, bound key, bounds)
PAIRS = [
    ("silero-vad v5.1 -> v6.0 (fp32 retrain)", "onnx", "silero-vad/v5.1.onnx",
     "silero-vad/v6.0.onnx", ["vad_agreement.py"], "max-abs-error", [1e-4, 3e-4, 1e-3, 3e-3]),
    ("silero-vad v6.0 -> v6.2 (fp32 retrain)", "onnx", "silero-vad/v6.0.onnx",
     "silero-vad/v6.2.onnx", ["vad_agreement.py"], "max-abs-error", [1e-4, 3e-4, 1e-3, 3e-3]),
    ("rapidocr-det v1.2.13 -> v1.4.4 (fp32 retrain)", "onnx", "rapidocr-det/v1.2.13-ppocrv3.onnx",
     "rapidocr-det/v1.4.4-ppocrv4.onnx", None, "max-abs-error", [1e-4, 1e-3]),
    ("MiniLM v0 -> v1 (Q8_0 fine-tune)", "gguf", "minilm-gguf-q8_0/v0-base.Q8_0.gguf",
     "minilm-gguf-q8_0/v1-finetune.Q8_0.gguf", ["minilm_cosine.py"], "max-steps", [1, 2]),
    # A float bound on a Q8_0 model moves its f32 tensors and lets blocks keep their old scale.
    ("MiniLM v0 -> v1 (Q8_0 fine-tune, float bound)", "gguf", "minilm-gguf-q8_0/v0-base.Q8_0.gguf",
     "minilm-gguf-q8_0/v1-finetune.Q8_0.gguf", ["minilm_cosine.py"], "max-abs-error",
     [3e-4, 1e-3]),
    ("okay_nabu v2 2024-07 -> 2024-10 (int8 retrain)", "tflite",
     "microwakeword-okay-nabu/v2-2024-07-10.tflite", "microwakeword-okay-nabu/v2-2024-10-01.tflite",
     ["tflite_outputs.py", "--cutoff", "0.97"], "max-steps", [1, 2]),
]

# Publish the delta even when it is near the full image's size, to compare like with like.
TARGET = """
[codec]
full-image-threshold = 1.0

[[target]]
sku = "soc"
ram-buffer = "64KiB"
[target.flash]
base = 0
size = "256MiB"
erase-size = "4KiB"
write-size = 4
[target.models.m]
slot-a = { offset = "0MiB", size = "64MiB" }
slot-b = { offset = "64MiB", size = "64MiB" }
state = { offset = "128MiB", size = "8KiB" }
"""


def build(tool, work, fmt, old, new, lossy):
    text = f'schema-version = 1\n[[model]]\nname = "m"\nformat = "{fmt}"\n{lossy}\n'
    for version, path in (("1.0.0", old), ("2.0.0", new)):
        text += f'[[model.release]]\nversion = "{version}"\npath = "{path}"\n'
    (work / "Mallorn.toml").write_text(text + TARGET)
    subprocess.run([tool, "mallorn", "build", "--manifest-path", str(work / "Mallorn.toml"),
                    "--allow-unsigned"], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    index = json.loads((work / "target/mallorn/index.json").read_text())
    delta = next(a for a in index["artefacts"] if a["from"] == "1.0.0")
    if delta["kind"] != "delta":
        sys.exit(f"{old} -> {new}: the build published a full image, not a delta")
    shipped = [s for s in index.get("shipped", []) if s["version"] == "2.0.0"]
    return delta["size"], (shipped[0] if shipped else None)


def score(command, release, shipped):
    out = subprocess.run([sys.executable, str(EVAL / command[0]), *command[1:], str(release),
                          str(shipped)], check=True, capture_output=True, text=True)
    return float(out.stdout.strip())


def main():
    tool = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "target/release/cargo-mallorn")
    print("| pair | bound | delta bytes | x lossless | max abs error | changed | task score |")
    print("|---|---|---:|---:|---:|---:|---:|")
    only = sys.argv[2] if len(sys.argv) > 2 else ''
    for label, fmt, old, new, command, key, bounds in PAIRS:
        if only not in label:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            work = pathlib.Path(tmp)
            old_path, new_path = CORPUS / old, CORPUS / new
            lossless, _ = build(tool, work, fmt, old_path, new_path, "")
            print(f"| {label} | lossless | {lossless} | 1.000 | 0 | 0 | 1.0 |", flush=True)
            for bound in bounds:
                print(f"{label}: {key} = {bound}", file=sys.stderr)
                size, shipped = build(tool, work, fmt, old_path, new_path,
                                      f"[model.lossy]\n{key} = {bound}")
                image = work / "target/mallorn" / shipped["path"]
                task = f"{score(command, new_path, image):.6f}" if command else "n/a"
                changed = shipped["changed_elements"] / max(shipped["bounded_elements"], 1)
                print(f"| {label} | {key} {bound} | {size} | {size / lossless:.3f} | "
                      f"{shipped['max_abs_error']:.3g} | {changed:.1%} | {task} |", flush=True)


if __name__ == "__main__":
    main()
