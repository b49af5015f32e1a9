#!/usr/bin/env python3
"""Quality gate for silero-vad ONNX models: frame-level speech-decision agreement.

Usage: vad_agreement.py RELEASE.onnx SHIPPED.onnx

Runs both models with onnxruntime over the same deterministic test recording and
prints on stdout ONE number: the fraction of 32 ms frames (512 samples at 16 kHz)
on which both models take the same speech decision (probability >= 0.5). Two
identical files give exactly 1.0. Details (frame count, max and mean |prob
difference|, speech fraction) go to stderr.

The recording is English speech synthesised with espeak-ng (several voices,
speeds and pitches, silence gaps between sentences, a few non-speech sounds and
low-level noise), resampled to 16 kHz. It is generated once and cached in
$MALLORN_EVAL_CACHE, else $XDG_CACHE_HOME/mallorn-eval, else /tmp/mallorn-eval.

The models are fed exactly as silero-vad's own Python wrapper (OnnxWrapper in
silero_vad/utils_vad.py, v5+) feeds them: each call gets the previous 64
samples of context followed by the 512-sample chunk (576 samples), the
recurrent state (2, 1, 128) returned by the previous call, and sr = 16000.

Exit status: 0 and a score on success; 2 on a bad model file (the message names
it); 3 when the environment is incomplete (espeak-ng or a Python package
missing: run setup.sh).
"""

import os

# The machine is shared with a Rust build: one core for numeric work.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import hashlib
import subprocess
import sys
import tempfile

try:
    import numpy as np
except ImportError:
    sys.stderr.write("vad_agreement: numpy is not installed (run mallorn-bench/eval/setup.sh)\n")
    sys.exit(3)

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
from _audio import EnvironmentIncomplete, cache_dir, espeak, espeak_version, resample, save_atomic_npz

SR = 16000
CHUNK = 512
CONTEXT = 64
THRESHOLD = 0.5
AUDIO_VERSION = "1"  # bump when the recording recipe below changes

# (text, espeak-ng voice, words per minute, pitch 0-99, peak amplitude, gap after in s)
UTTERANCES = [
    ("The update was downloaded overnight and installed before anyone woke up.", "en-us", 165, 50, 0.70, 1.10),
    ("Please check that the battery is charged before you start the firmware upgrade.", "en-gb+f3", 150, 60, 0.55, 0.60),
    ("Seven hundred and forty two devices reported back within the first hour.", "en-gb-scotland+m3", 175, 40, 0.80, 1.50),
    ("If the signal drops, the device keeps the old version and tries again later.", "en-us+f4", 140, 70, 0.40, 0.90),
    ("Turn left at the second traffic light, then follow the river for about a mile.", "en-029+m5", 185, 45, 0.65, 0.40),
    ("Would you like the window open, or should I switch on the air conditioning?", "en-gb-x-rp+f2", 160, 55, 0.75, 1.20),
    ("Quietly, the old clock in the hallway struck midnight.", "en-us-nyc+m2", 125, 35, 0.25, 1.80),
    ("Measurements from the north field show the soil is drier than last spring.", "en-us+m7", 200, 50, 0.60, 0.70),
    ("She said the meeting had moved to Thursday afternoon at half past three.", "en-gb+f5", 170, 65, 0.50, 1.00),
    ("Hello? Can you hear me? I think the line is breaking up.", "en-us+klatt", 150, 50, 0.70, 1.30),
    ("A cup of tea, two slices of toast, and the morning paper, please.", "en-gb-x-rp+m4", 135, 45, 0.45, 0.50),
    ("The model is smaller now, but it should recognise the wake word just as well.", "en-us+f1", 190, 75, 0.85, 1.60),
    ("Rain is expected along the coast tonight, clearing by the middle of tomorrow.", "en-gb-scotland+f4", 155, 60, 0.35, 0.80),
    ("Do not unplug the charger while the light is still blinking green.", "en-029+f2", 145, 55, 0.60, 1.10),
    ("Numbers: three, fourteen, fifteen, ninety two, sixty five, thirty five.", "en-us+m1", 130, 40, 0.70, 0.60),
    ("We tested the new release on a hundred boards and none of them failed.", "en-gb+m6", 180, 50, 0.55, 1.40),
    ("Whisper it softly so the baby does not wake.", "en-us+whisper", 130, 50, 0.50, 1.00),
    ("The quick brown fox jumps over the lazy dog near the riverbank.", "en-us-nyc+f3", 210, 60, 0.75, 0.45),
    ("Could you send me the report by Friday, including the charts from last week?", "en-gb-x-rp+m3", 160, 45, 0.30, 1.20),
    ("Every sensor on the bridge sends a short message once every ten minutes.", "en-us+m5", 170, 35, 0.65, 0.90),
    ("Yes. No. Maybe. Okay, let us try that one more time.", "en-gb+f4", 140, 70, 0.80, 1.30),
    ("The library closes early on Sundays, so plan your visit for the morning.", "en-029+m3", 150, 50, 0.45, 0.70),
    ("After the storm the power came back, but the internet took two more days.", "en-us+f2", 185, 55, 0.60, 1.00),
    ("Thank you for waiting. Your call is important to us.", "en-gb-scotland+m7", 160, 45, 0.70, 1.50),
]
LEAD_IN_S = 1.0
NOISE_STD = 0.003   # about -50 dBFS white noise over the whole recording
SEED = 20240917


def die(code, msg):
    sys.stderr.write(f"vad_agreement: {msg}\n")
    sys.exit(code)


# ---------------------------------------------------------------- audio ---

def build_audio():
    rng = np.random.default_rng(SEED)
    parts = [np.zeros(int(LEAD_IN_S * SR))]
    with tempfile.TemporaryDirectory(prefix="mallorn-eval-") as tmp:
        for i, (text, voice, speed, pitch, peak, gap) in enumerate(UTTERANCES):
            pcm, sr = espeak(text, voice, speed, pitch, tmp)
            y = resample(pcm, sr, SR)
            y = y * (peak / max(1e-9, np.max(np.abs(y))))
            parts.append(y)
            g = np.zeros(int(gap * SR))
            # A few non-speech sounds inside gaps: a beep, a noise burst, a low hum.
            if i % 6 == 1 and len(g) > SR // 2:
                t = np.arange(int(0.25 * SR)) / SR
                g[SR // 8: SR // 8 + len(t)] += 0.3 * np.sin(2 * np.pi * 1000 * t) * np.hanning(len(t))
            elif i % 6 == 3 and len(g) > SR // 2:
                b = rng.normal(0, 0.08, int(0.2 * SR)) * np.hanning(int(0.2 * SR))
                g[SR // 10: SR // 10 + len(b)] += b
            elif i % 6 == 5 and len(g) > SR // 2:
                t = np.arange(len(g) - SR // 4) / SR
                g[: len(t)] += 0.05 * np.sin(2 * np.pi * 50 * t) * np.hanning(len(t))
            parts.append(g)
    audio = np.concatenate(parts)
    audio += rng.normal(0, NOISE_STD, len(audio))
    return np.clip(audio, -1.0, 1.0).astype(np.float32)


def load_audio():
    try:
        ver = espeak_version()
    except EnvironmentIncomplete as e:
        die(3, str(e))
    key = hashlib.sha256(repr((AUDIO_VERSION, ver, SR, UTTERANCES, LEAD_IN_S, NOISE_STD, SEED)).encode()).hexdigest()[:16]
    path = os.path.join(cache_dir(), f"vad-speech-{key}.npz")
    if os.path.exists(path):
        try:
            with np.load(path) as z:
                return z["audio"], path
        except (ValueError, OSError, KeyError):
            pass  # damaged cache entry: rebuild it
    try:
        audio = build_audio()
    except (OSError, RuntimeError, subprocess.CalledProcessError) as e:
        die(3, f"cannot synthesise the test audio with espeak-ng: {e}")
    save_atomic_npz(path, audio=audio)
    return audio, path


# ---------------------------------------------------------------- model ---

def open_model(path):
    try:
        import onnxruntime as ort
    except ImportError:
        die(3, "onnxruntime is not installed (run mallorn-bench/eval/setup.sh)")
    if not os.path.isfile(path):
        die(2, f"{path}: no such file")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3
    try:
        sess = ort.InferenceSession(path, sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises several exception types
        die(2, f"{path}: not a loadable ONNX model: {str(e).splitlines()[0] if str(e) else type(e).__name__}")
    names = {i.name: i for i in sess.get_inputs()}
    if "input" not in names or "state" not in names:
        die(2, f"{path}: not a silero-vad v5+ model (inputs are {sorted(names)}, "
               "expected input, state, sr)")
    return sess, "sr" in names


def run(sess, has_sr, frames):
    state = np.zeros((2, 1, 128), dtype=np.float32)
    context = np.zeros((1, CONTEXT), dtype=np.float32)
    sr = np.array(SR, dtype=np.int64)
    probs = np.empty(len(frames), dtype=np.float32)
    for i, chunk in enumerate(frames):
        x = np.concatenate([context, chunk[None, :]], axis=1)
        feed = {"input": x, "state": state}
        if has_sr:
            feed["sr"] = sr
        out, state = sess.run(None, feed)
        probs[i] = out.reshape(-1)[0]
        context = x[:, -CONTEXT:]
    return probs


def main(argv):
    if len(argv) != 3 or argv[1] in ("-h", "--help"):
        sys.stderr.write(__doc__)
        return 2
    release, shipped = argv[1], argv[2]
    models = [open_model(release), open_model(shipped)]
    audio, cache_path = load_audio()
    pad = (-len(audio)) % CHUNK
    frames = np.concatenate([audio, np.zeros(pad, np.float32)]).reshape(-1, CHUNK)
    try:
        p_rel = run(*models[0], frames)
    except Exception as e:
        die(2, f"{release}: inference failed: {e}")
    try:
        p_shp = run(*models[1], frames)
    except Exception as e:
        die(2, f"{shipped}: inference failed: {e}")
    for p, name in ((p_rel, release), (p_shp, shipped)):
        if not np.all(np.isfinite(p)):
            die(2, f"{name}: model produced non-finite probabilities")
    d_rel = p_rel >= THRESHOLD
    d_shp = p_shp >= THRESHOLD
    agree = float(np.mean(d_rel == d_shp))
    diff = np.abs(p_rel.astype(np.float64) - p_shp.astype(np.float64))
    sys.stderr.write(
        f"frames: {len(frames)} ({len(audio) / SR:.1f} s at {SR} Hz, {CHUNK}-sample chunks; audio {cache_path})\n"
        f"decisions differing: {int(np.sum(d_rel != d_shp))}\n"
        f"max |prob diff|: {diff.max():.6g}\n"
        f"mean |prob diff|: {diff.mean():.6g}\n"
        f"speech frames: release {d_rel.mean():.4f}, shipped {d_shp.mean():.4f}\n")
    print(repr(agree))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
