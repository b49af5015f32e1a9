#!/usr/bin/env bash
# Re-quantise the shared MiniLM Q8_0 lineage (base and fine-tune) with llama.cpp's own
# quantiser, so the delta coder is measured on K-quant files as llama.cpp writes them (its
# mixed-type recipes and its scale search), not on a re-implementation.
#
#   mallorn-bench/scripts/llama_quantize_pairs.sh LLAMA_QUANTIZE OUT_DIR [TYPE ...]
#
# LLAMA_QUANTIZE: a built `llama-quantize` (llama.cpp's tools/quantize; see
# docs/benchmarks.md for how it was built here). TYPEs default to Q4_K_M Q5_K_M Q6_K.
# For each TYPE it writes OUT_DIR/TYPE/v0-base.TYPE.gguf and OUT_DIR/TYPE/v1-finetune.TYPE.gguf
# (--allow-requantize: the corpus holds Q8_0 files only) and appends each file's size, SHA-256
# and tensor types to OUT_DIR/provenance.txt. llama-quantize is deterministic on one
# machine: same inputs, same outputs.
set -euo pipefail

quantize="${1:?usage: $0 LLAMA_QUANTIZE OUT_DIR [TYPE ...]}"
out="${2:?usage: $0 LLAMA_QUANTIZE OUT_DIR [TYPE ...]}"
shift 2
types=("$@")
[ ${#types[@]} -gt 0 ] || types=(Q4_K_M Q5_K_M Q6_K)

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
corpus="$(cd "$here/../../../shared/corpus/minilm-gguf-q8_0" && pwd)"
mkdir -p "$out"
{
  echo "# llama-quantize: $quantize"
  for f in v0-base v1-finetune; do
    echo "# source $f.Q8_0.gguf $(stat -c %s "$corpus/$f.Q8_0.gguf") $(sha256sum "$corpus/$f.Q8_0.gguf" | cut -d' ' -f1)"
  done
} > "$out/provenance.txt"

for type in "${types[@]}"; do
  mkdir -p "$out/$type"
  for f in v0-base v1-finetune; do
    dst="$out/$type/$f.$type.gguf"
    "$quantize" --allow-requantize "$corpus/$f.Q8_0.gguf" "$dst" "$type" > "$out/$type/$f.log" 2>&1
    kinds="$(python3 -c '
import collections, sys
from gguf import GGUFReader
r = GGUFReader(sys.argv[1])
print(dict(collections.Counter(t.tensor_type.name for t in r.tensors)))' "$dst")"
    echo "$type $dst $(stat -c %s "$dst") $(sha256sum "$dst" | cut -d' ' -f1) $kinds" >> "$out/provenance.txt"
  done
done
cat "$out/provenance.txt"
