#!/usr/bin/env bash
# Regenerates the perturbation tables of README.md: perturbs a corpus model with
# perturb.py at several sizes and seeds, runs the matching evaluation script on
# (release, perturbed) and prints one markdown row per setting with the score of
# each seed; then the lossy-delta mimic (perturb.py --snap-to) on real release
# pairs. Takes about four minutes on one core.
#
#   bash mallorn-bench/eval/sensitivity.sh [CORPUS_DIR]   (default /work/shared/corpus)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
corpus="${1:-/work/shared/corpus}"
python="${PYTHON:-python3}"
seeds=(1 2 3)
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

row() {  # script release ext label perturb-args...
    local script="$1" release="$2" ext="$3" label="$4"; shift 4
    local scores=()
    for s in "${seeds[@]}"; do
        "$python" "$here/perturb.py" "$release" "$tmp/p.$ext" --seed "$s" "$@" 2>/dev/null
        scores+=("$("$python" "$here/$script" "$release" "$tmp/p.$ext" 2>/dev/null)")
    done
    local joined
    joined="$(printf '%.6f / ' "${scores[@]}")"
    printf '| %s | %s | %s |\n' "$script" "$label" "${joined% / }"
}

echo "| script | perturbation of the release | score (seeds ${seeds[*]}) |"
echo "|---|---|---|"
vad="$corpus/silero-vad/v6.2.onnx"
for e in 1e-5 1e-4 3e-4 1e-3 3e-3 1e-2 3e-2; do
    row vad_agreement.py "$vad" onnx "uniform noise, max abs $e, every float tensor" --eps "$e"
done
mini="$corpus/minilm-gguf-q8_0/v0-base.Q8_0.gguf"
for f in 0.1 0.5 1.0; do
    row minilm_cosine.py "$mini" gguf "Q8_0 quants +-1 step on $f of elements" --steps 1 --fraction "$f"
done
for k in 2 4 8; do
    row minilm_cosine.py "$mini" gguf "Q8_0 quants +-$k steps on 1.0 of elements" --steps "$k" --fraction 1.0
done
snaprow() {  # script release previous ext label perturb-args...
    local script="$1" release="$2" previous="$3" ext="$4" label="$5"; shift 5
    local info score
    info="$("$python" "$here/perturb.py" "$release" "$tmp/s.$ext" --snap-to "$previous" "$@" 2>&1)"
    score="$("$python" "$here/$script" "$release" "$tmp/s.$ext" 2>/dev/null)"
    info="$(sed -E 's/.* ([0-9]+) elements changed.*/\1/' <<<"$info")"
    printf '| %s | %s | %s | %.6f |\n' "$script" "$label" "$info" "$score"
}

ww="$corpus/microwakeword-okay-nabu/v3-2026-09-17-multilingual.tflite"
for f in 0.1 0.5 1.0; do
    row tflite_outputs.py "$ww" tflite "int8 weights +-1 step on $f of elements" --steps 1 --fraction "$f"
done
for k in 2 4; do
    row tflite_outputs.py "$ww" tflite "int8 weights +-$k steps on 1.0 of elements" --steps "$k" --fraction 1.0
done

echo
echo "| script | shipped image = release snapped to the previous release within | elements snapped | score |"
echo "|---|---|---|---|"
sv="$corpus/silero-vad"
for e in 1e-4 1e-3 3e-3 1e-2 3e-2; do
    snaprow vad_agreement.py "$sv/v6.2.onnx" "$sv/v6.0.onnx" onnx "v6.2 -> v6.0, max abs $e" --eps "$e"
done
for e in 1e-3 1e-2; do
    snaprow vad_agreement.py "$sv/v6.0.onnx" "$sv/v5.1.onnx" onnx "v6.0 -> v5.1, max abs $e" --eps "$e"
done
mm="$corpus/minilm-gguf-q8_0"
for k in 1 2; do
    snaprow minilm_cosine.py "$mm/v1-finetune.Q8_0.gguf" "$mm/v0-base.Q8_0.gguf" gguf \
        "v1 -> v0, Q8_0 quants +-$k step(s) where the block scale is unchanged" --steps "$k"
done
snaprow minilm_cosine.py "$mm/v1-finetune.Q8_0.gguf" "$mm/v0-base.Q8_0.gguf" gguf \
    "v1 -> v0, quants +-1 step and F32 tensors max abs 1e-3" --steps 1 --eps 1e-3
