#!/usr/bin/env python3
"""Quality gate for microWakeWord streaming TFLite models (ESPHome micro_wake_word,
e.g. "Okay Nabu"): clip-level wake-word detection agreement.

Usage: tflite_outputs.py [--cutoff P] [--window N] RELEASE.tflite SHIPPED.tflite

Runs both models with the LiteRT (TFLite) interpreter, reference kernels (as
TFLite Micro uses on the device), over the same set of short audio clips, and
prints on stdout ONE number: the fraction of clips on which both models take the
same detection decision. Two identical files give exactly 1.0. On stderr:
clips, detections of each model, max and mean |probability difference| per
inference step, and max |difference| of each clip's peak sliding-window mean.

Clips: real speech synthesised with espeak-ng, 16 kHz: "Okay Nabu" said by
several voices at several speeds and pitches (positives), and near misses and
other speech (negatives), each with 1 s of lead-in and tail and low-level noise.
Features: the TFLite Micro audio frontend (pymicro-features: 30 ms window, 10 ms
step, 40 channels), quantised with the model's input scale and zero point, fed
`stride` feature frames per inference (the model's input dimension 1), exactly
as pymicro-wakeword does. A fresh interpreter per clip resets the streaming
state. Decision: the mean of the last N output probabilities (--window, default
5) exceeds P (--cutoff, default 0.85), as in the model's ESPHome JSON manifest
(okay_nabu v3/multilingual: 0.85 and 5; the 2024 v2 models: 0.97 and 5).

Supported: models with one int8 input [1, stride, 40] and one uint8/int8 output
[1, 1] (microWakeWord v2 and later). The 2024-01/02 v1 models of the corpus
were trained on 20 ms feature steps, which this frontend does not produce: they
run but never detect anything, so their score says nothing.

Features are cached in $MALLORN_EVAL_CACHE, else $XDG_CACHE_HOME/mallorn-eval,
else /tmp/mallorn-eval. Exit 0 and a score on success; 2 on a bad or unsupported
model file (the message names it); 3 when the environment is incomplete (run
setup.sh).
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse
import hashlib
import subprocess
import sys
import tempfile

try:
    import numpy as np
except ImportError:
    sys.stderr.write("tflite_outputs: numpy is not installed (run mallorn-bench/eval/setup.sh)\n")
    sys.exit(3)

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
from _audio import EnvironmentIncomplete, cache_dir, espeak, espeak_version, resample, save_atomic_npz

SR = 16000
FEATURES_VERSION = "1"  # bump when the clip recipe below changes
SEED = 7
NOISE_STD = 0.002
LEAD_S = 1.0
TAIL_S = 1.0

_VOICES = ["en-us", "en-gb+f3", "en-us+m3", "en-gb-scotland+f2", "en-029+m5",
           "en-gb-x-rp+f4", "en-us-nyc+m2", "en-us+f1"]
_STYLES = [(130, 45, 0.7), (150, 55, 0.4), (165, 50, 0.8), (185, 65, 0.55), (210, 40, 0.3)]
POSITIVES = [("Okay Nabu", v, s, p, g) for v in _VOICES for (s, p, g) in _STYLES]
POSITIVES += [(t, v, 160, 50, 0.6) for t, v in [
    ("Okay, Nabu.", "en-us"), ("OK Nabu", "en-gb+m3"), ("Okay Nah boo", "en-us+f2"),
    ("Okay Naboo", "en-gb-x-rp+m4"), ("Ok, nabu", "en-us-nyc+f3"), ("Okay Nabu, turn on the lights", "en-us+m7")]]
NEGATIVES = [(t, v, 160, 50, 0.6) for t, v in [
    ("Okay", "en-us"), ("Nabu", "en-gb+f3"), ("Okay Google", "en-us+m3"), ("Hey Jarvis", "en-gb"),
    ("Alexa", "en-us+f4"), ("Okay now", "en-us-nyc+m2"), ("Okay, a new boot", "en-gb-x-rp+f2"),
    ("Oh, cannot do", "en-029+m5"), ("Okay, Nadia", "en-us+f1"), ("Hey Nabu", "en-gb-scotland+m3"),
    ("Okay, not now", "en-us+m5"), ("A baboon", "en-gb+f5"),
    ("The weather is lovely today.", "en-us+f3"), ("Turn on the kitchen lights", "en-gb+m6"),
    ("Okay, let us go", "en-us+m1"), ("Bamboo", "en-029+f2"),
    ("Please set a timer for ten minutes", "en-us+klatt"), ("Nobody knew", "en-gb-x-rp+m3"),
    ("Hey Mycroft", "en-us+f5"), ("What time is it?", "en-gb-scotland+f4")]]
CLIPS = POSITIVES + NEGATIVES


def die(code, msg):
    sys.stderr.write(f"tflite_outputs: {msg}\n")
    sys.exit(code)


# ------------------------------------------------------------- features ---

def frontend_features(pcm16):
    from pymicro_features import MicroFrontend
    fe = MicroFrontend()
    data = pcm16.astype("<i2").tobytes()
    out, i, step = [], 0, 160 * 2
    while i + step <= len(data):
        r = fe.process_samples(data[i:i + step])
        i += r.samples_read * 2
        if r.features:
            out.append(r.features)
    return np.array(out, dtype=np.float32)


def build_features():
    rng = np.random.default_rng(SEED)
    feats = []
    with tempfile.TemporaryDirectory(prefix="mallorn-eval-") as tmp:
        for text, voice, speed, pitch, gain in CLIPS:
            pcm, sr = espeak(text, voice, speed, pitch, tmp)
            y = resample(pcm, sr, SR)
            y = y * (gain / max(1e-9, np.max(np.abs(y))))
            y = np.concatenate([np.zeros(int(LEAD_S * SR)), y, np.zeros(int(TAIL_S * SR))])
            y += rng.normal(0, NOISE_STD, len(y))
            pcm16 = np.clip(np.round(y * 32767), -32768, 32767).astype(np.int16)
            feats.append(frontend_features(pcm16))
    lens = np.array([len(f) for f in feats])
    return np.concatenate(feats), lens


def load_features():
    try:
        import importlib.metadata as md
        fver = md.version("pymicro-features")
        ever = espeak_version()
    except EnvironmentIncomplete as e:
        die(3, str(e))
    except Exception:
        die(3, "pymicro-features is not installed (run mallorn-bench/eval/setup.sh)")
    key = hashlib.sha256(repr((FEATURES_VERSION, fver, ever, CLIPS, SEED, NOISE_STD, LEAD_S, TAIL_S))
                         .encode()).hexdigest()[:16]
    path = os.path.join(cache_dir(), f"wakeword-features-{key}.npz")
    if os.path.exists(path):
        try:
            with np.load(path) as z:
                flat, lens = z["features"], z["lens"]
            return np.split(flat, np.cumsum(lens)[:-1]), path
        except (ValueError, OSError, KeyError):
            pass
    try:
        flat, lens = build_features()
    except (OSError, RuntimeError, subprocess.CalledProcessError) as e:
        die(3, f"cannot synthesise the test audio: {e}")
    save_atomic_npz(path, features=flat, lens=lens)
    return np.split(flat, np.cumsum(lens)[:-1]), path


# ---------------------------------------------------------------- model ---

class WakeWordModel:
    def __init__(self, path):
        try:
            from ai_edge_litert.interpreter import Interpreter, OpResolverType
        except ImportError:
            die(3, "ai-edge-litert is not installed (run mallorn-bench/eval/setup.sh)")
        self.path = path
        if not os.path.isfile(path):
            die(2, f"{path}: no such file")
        with open(path, "rb") as f:
            self.content = f.read()
        if self.content[4:8] != b"TFL3":
            die(2, f"{path}: not a TFLite flatbuffer (no TFL3 identifier)")
        self._make = lambda: Interpreter(model_content=self.content, num_threads=1,
                                         experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
        try:
            it = self._make()
            it.allocate_tensors()
        except Exception as e:
            die(2, f"{path}: not a loadable TFLite model: {str(e).splitlines()[0] if str(e) else type(e).__name__}")
        ins, outs = it.get_input_details(), it.get_output_details()
        if (len(ins) != 1 or len(outs) != 1 or len(ins[0]["shape"]) != 3 or ins[0]["shape"][0] != 1
                or ins[0]["shape"][2] != 40 or ins[0]["dtype"] != np.int8
                or list(outs[0]["shape"]) != [1, 1] or outs[0]["dtype"] not in (np.uint8, np.int8)):
            die(2, f"{path}: not a microWakeWord streaming model (input "
                   f"{[([int(n) for n in d['shape']], d['dtype'].__name__) for d in ins]}, output "
                   f"{[([int(n) for n in d['shape']], d['dtype'].__name__) for d in outs]}; expected int8 [1, stride, 40] "
                   "and uint8 [1, 1])")
        self.stride = int(ins[0]["shape"][1])
        self.in_scale, self.in_zp = ins[0]["quantization"]
        self.out_scale, self.out_zp = outs[0]["quantization"]
        self.out_dtype = outs[0]["dtype"]
        if not self.in_scale or not self.out_scale:
            die(2, f"{path}: input/output tensors are not quantised")

    def probabilities(self, feats):
        it = self._make()
        it.allocate_tensors()
        i_idx = it.get_input_details()[0]["index"]
        o_idx = it.get_output_details()[0]["index"]
        probs = []
        for k in range(0, len(feats) - self.stride + 1, self.stride):
            q = np.clip(np.round(feats[k:k + self.stride] / self.in_scale + self.in_zp), -128, 127)
            it.set_tensor(i_idx, q.astype(np.int8)[None])
            it.invoke()
            out = it.get_tensor(o_idx).astype(np.float32).item()
            probs.append((out - self.out_zp) * self.out_scale)
        return np.array(probs, dtype=np.float64)


def peak_mean(probs, window):
    if len(probs) < window:
        return 0.0
    return float(np.max(np.convolve(probs, np.ones(window) / window, mode="valid")))


def main():
    ap = argparse.ArgumentParser(description="microWakeWord detection agreement (see module docstring)")
    ap.add_argument("release")
    ap.add_argument("shipped")
    ap.add_argument("--cutoff", type=float, default=0.85, help="probability cutoff (default 0.85)")
    ap.add_argument("--window", type=int, default=5, help="sliding window size (default 5)")
    a = ap.parse_args()
    models = [WakeWordModel(a.release), WakeWordModel(a.shipped)]
    clips, cache_path = load_features()
    peaks = np.zeros((2, len(clips)))
    step_diffs = []
    for c, feats in enumerate(clips):
        probs = []
        for m, model in enumerate(models):
            try:
                p = model.probabilities(feats)
            except Exception as e:
                die(2, f"{model.path}: inference failed: {e}")
            peaks[m, c] = peak_mean(p, a.window)
            probs.append(p)
        if models[0].stride == models[1].stride:
            step_diffs.append(np.abs(probs[0] - probs[1]))
    det = peaks > a.cutoff
    agree = float(np.mean(det[0] == det[1]))
    npos = len(POSITIVES)
    msg = [f"clips: {len(clips)} ({npos} 'Okay Nabu', {len(clips) - npos} other speech); "
           f"cutoff {a.cutoff}, window {a.window}; features {cache_path}",
           f"detections: release {int(det[0, :npos].sum())}/{npos} positives + {int(det[0, npos:].sum())} false, "
           f"shipped {int(det[1, :npos].sum())}/{npos} positives + {int(det[1, npos:].sum())} false",
           f"clips with differing decisions: {int(np.sum(det[0] != det[1]))}",
           f"max |diff| of clip peak sliding mean: {np.max(np.abs(peaks[0] - peaks[1])):.6g}"]
    if step_diffs:
        d = np.concatenate(step_diffs)
        msg.append(f"inference steps: {len(d)}; max |prob diff| {d.max():.6g}; mean |prob diff| {d.mean():.6g}")
    else:
        msg.append(f"strides differ ({models[0].stride} vs {models[1].stride}): no per-step comparison")
    sys.stderr.write("\n".join(msg) + "\n")
    print(repr(agree))
    return 0


if __name__ == "__main__":
    sys.exit(main())
