"""Shared helpers of the audio evaluation scripts: cache directory, espeak-ng
synthesis and a deterministic numpy resampler. No third-party imports besides numpy."""

import os
import shutil
import subprocess
import wave
from math import gcd

import numpy as np


class EnvironmentIncomplete(Exception):
    """A tool or package the evaluation needs is missing (run setup.sh)."""


def cache_dir():
    """$MALLORN_EVAL_CACHE, else $XDG_CACHE_HOME/mallorn-eval, else /tmp/mallorn-eval."""
    d = os.environ.get("MALLORN_EVAL_CACHE")
    if not d:
        xdg = os.environ.get("XDG_CACHE_HOME")
        d = os.path.join(xdg, "mallorn-eval") if xdg else "/tmp/mallorn-eval"
    os.makedirs(d, exist_ok=True)
    return d


def espeak_version():
    if shutil.which("espeak-ng") is None:
        raise EnvironmentIncomplete("espeak-ng is not installed (run mallorn-bench/eval/setup.sh)")
    return subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True).stdout.strip()


def espeak(text, voice, speed, pitch, workdir):
    """Synthesise `text`; returns (float64 samples in [-1, 1], sample rate)."""
    path = os.path.join(workdir, "u.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", path, text],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    with wave.open(path, "rb") as w:
        if w.getnchannels() != 1 or w.getsampwidth() != 2:
            raise RuntimeError("unexpected espeak-ng WAV format")
        sr = w.getframerate()
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768.0
    return pcm, sr


def resample(x, sr_in, sr_out, half_taps=32, beta=8.0):
    """Windowed-sinc resampling (Kaiser window, cut-off at 90 % of the lower
    Nyquist frequency); deterministic, numpy only."""
    if sr_in == sr_out:
        return np.asarray(x, dtype=np.float64)
    g = gcd(sr_in, sr_out)
    up, down = sr_out // g, sr_in // g
    n_out = (len(x) * up) // down
    cutoff = 0.9 * min(sr_in, sr_out) / 2 / sr_in  # cycles per input sample
    # Only `up` distinct fractional phases: one row of taps per phase.
    phases = np.arange(up, dtype=np.float64) * down % up / up
    k = np.arange(-half_taps + 1, half_taps + 1, dtype=np.float64)
    d = phases[:, None] - k[None, :]          # distance in input samples
    win = np.where(np.abs(d) < half_taps,
                   np.i0(beta * np.sqrt(np.clip(1 - (d / half_taps) ** 2, 0, None))) / np.i0(beta), 0.0)
    taps = 2 * cutoff * np.sinc(2 * cutoff * d) * win
    taps /= taps.sum(axis=1, keepdims=True)
    n = np.arange(n_out, dtype=np.int64)
    base = (n * down) // up
    idx = base[:, None] + k.astype(np.int64)[None, :]
    xp = np.concatenate([np.zeros(half_taps), np.asarray(x, dtype=np.float64), np.zeros(half_taps + 1)])
    return (xp[idx + half_taps] * taps[n % up]).sum(axis=1)


def save_atomic_npz(path, **arrays):
    """Write an .npz so that concurrent runs never see a partial file."""
    import tempfile
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        np.savez(f, **arrays)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
