#!/usr/bin/env python3
"""Write a copy of a model with its weights perturbed, to check that an evaluation
script is sensitive (and to calibrate quality-gate thresholds).

Usage:
  perturb.py IN OUT --eps E [--seed S] [--min-elements N]
  perturb.py IN OUT --steps K --fraction F [--seed S]
  perturb.py IN OUT --snap-to PREVIOUS [--eps E] [--steps K]

--eps E          add uniform noise in [-E, E] to every floating-point weight
                 tensor (float32/float16/float64) with at least N elements
                 (--min-elements, default 1). Rank-0 (scalar) ONNX tensors are
                 graph constants, not weights, and are kept unless
                 --include-scalars: silero-vad computes its STFT magnitude
                 with Pow(x, 2.0), and 2.0 + 1e-5 makes Pow return NaN for
                 every negative x.
--steps K        move quantised int8 weights by +K or -K steps (random sign;
--fraction F     the other sign when +-K would leave [-127, 127]) at a random
                 fraction F of their elements.

--snap-to PREV   mimic a lossy delta instead of adding noise: every element of
                 IN takes PREV's value wherever that is within the bound (--eps
                 for floats, --steps for Q8_0 quants, the latter only in blocks
                 whose float16 scale is unchanged), so OUT is "IN shipped as a
                 small delta from PREV". ONNX and GGUF; tensors paired by
                 name (GGUF) or by position in the graph walk (ONNX).

Noise options can be given together. Formats, recognised by content:
  ONNX         float tensors of graph initializers AND of Constant nodes, in the
               main graph and recursively in every subgraph (If/Loop/Scan
               bodies: silero-vad keeps all its weights in Constant nodes inside
               If branches). Written back with the onnx package.
  GGUF         --steps/--fraction change the int8 quants of Q8_0 tensors (the
               per-block float16 scales are kept); --eps perturbs F32/F16
               tensors. The file is patched in place: same size, same layout.
  TFLite       --steps/--fraction change INT8 constant tensors (weights; INT32
               biases are kept); --eps perturbs FLOAT32 constant tensors. Patched
               in place in the flatbuffer: same size, same layout.
  safetensors  --eps perturbs F32/F16/F64 tensors, in place.

A summary (tensors and elements changed, max |change|) goes to stderr.
Deterministic for a given --seed (default 0). Exit 2 on a bad input file.
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import json
import struct
import sys
import tempfile

import numpy as np


class BadInput(Exception):
    pass


class Perturber:
    def __init__(self, eps, steps, fraction, seed, min_elements, include_scalars):
        self.include_scalars = include_scalars
        self.skipped_scalars = 0
        self.eps = eps
        self.steps = steps
        self.fraction = fraction
        self.rng = np.random.default_rng(seed)
        self.min_elements = min_elements
        self.tensors = 0
        self.elements = 0
        self.max_change = 0.0

    def floats(self, arr):
        """Return arr (float array) + uniform noise in [-eps, eps], same dtype."""
        if not self.eps or arr.size < self.min_elements:
            return None
        if arr.ndim == 0 and not self.include_scalars:
            self.skipped_scalars += 1
            return None
        noise = self.rng.uniform(-self.eps, self.eps, arr.shape)
        out = np.array(arr.astype(np.float64) + noise, dtype=arr.dtype)
        # rounding to float32/float16 may overshoot the bound by half an ulp:
        # step those elements one ulp back towards the original value
        over = np.abs(out.astype(np.float64) - arr) > self.eps
        if over.any():
            out[over] = np.nextafter(out[over], arr[over])
        changed = out != arr
        self.tensors += 1
        self.elements += int(changed.sum())
        if changed.any():
            self.max_change = max(self.max_change, float(np.max(np.abs(out.astype(np.float64) - arr))))
        return out

    def snap_floats(self, arr, old):
        """Lossy-delta mimic: take OLD's value wherever it is within eps of arr."""
        if not self.eps or arr.size < self.min_elements or arr.shape != old.shape:
            return None
        if arr.ndim == 0 and not self.include_scalars:
            self.skipped_scalars += 1
            return None
        old = old.astype(arr.dtype)
        diff = np.abs(arr.astype(np.float64) - old.astype(np.float64))
        take = (diff <= self.eps) & (diff > 0)
        self.tensors += 1
        self.elements += int(take.sum())
        if take.any():
            self.max_change = max(self.max_change, float(diff[take].max()))
        return np.where(take, old, arr)

    def snap_quants(self, q, old, eligible):
        """Lossy-delta mimic: take OLD's quant wherever it is within `steps` of q
        (and `eligible`, e.g. the block scale is unchanged)."""
        if not self.steps or q.shape != old.shape:
            return None
        diff = np.abs(q.astype(np.int16) - old.astype(np.int16))
        take = eligible & (diff <= self.steps) & (diff > 0)
        self.tensors += 1
        self.elements += int(take.sum())
        if take.any():
            self.max_change = max(self.max_change, float(diff[take].max()))
        return np.where(take, old, q).astype(np.int8)

    def quants(self, q):
        """Return int8 array q with +-steps at a random fraction of elements."""
        if not self.steps or not self.fraction:
            return None
        q16 = q.astype(np.int16)
        pick = self.rng.random(q.shape) < self.fraction
        sign = np.where(self.rng.random(q.shape) < 0.5, -1, 1).astype(np.int16)
        new = q16 + sign * self.steps
        out_of_range = (new > 127) | (new < -127)
        new = np.where(out_of_range, q16 - sign * self.steps, new)
        new = np.clip(new, -127, 127)
        out = np.where(pick, new, q16).astype(np.int8)
        self.tensors += 1
        self.elements += int((out != q).sum())
        self.max_change = max(self.max_change, float(np.max(np.abs(out.astype(np.int16) - q16), initial=0)))
        return out


# ------------------------------------------------------------------- ONNX ---

def onnx_float_slots(model):
    """(get, set) accessors of every float tensor of an ONNX model, in a fixed order:
    initializers and Constant nodes of the main graph, every subgraph (recursively)
    and every function."""
    import onnx
    from onnx import numpy_helper
    floats = (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.DOUBLE)
    slots = []

    def tensor(t):
        if t.data_type not in floats:
            return
        if t.data_location == onnx.TensorProto.EXTERNAL:
            raise BadInput("tensors with external data are not supported")
        slots.append((lambda t=t: numpy_helper.to_array(t),
                      lambda arr, t=t: t.CopyFrom(numpy_helper.from_array(arr, t.name))))

    def value_floats(a):
        def put(arr, a=a):
            del a.floats[:]
            a.floats.extend(float(v) for v in arr)
        slots.append((lambda a=a: np.array(a.floats, np.float32), put))

    def nodes(ns):
        for n in ns:
            for a in n.attribute:
                if a.type == onnx.AttributeProto.GRAPH:
                    graph(a.g)
                elif a.type == onnx.AttributeProto.GRAPHS:
                    for sub in a.graphs:
                        graph(sub)
                elif n.op_type != "Constant":
                    continue
                elif a.type == onnx.AttributeProto.TENSOR:
                    tensor(a.t)
                elif a.type == onnx.AttributeProto.FLOAT and a.name == "value_float":
                    slots.append((lambda a=a: np.array(a.f, np.float32),
                                  lambda arr, a=a: setattr(a, "f", float(arr))))
                elif a.type == onnx.AttributeProto.FLOATS and a.name == "value_floats":
                    value_floats(a)

    def graph(g):
        for t in g.initializer:
            tensor(t)
        nodes(g.node)

    graph(model.graph)
    for f in model.functions:
        nodes(f.node)
    return slots


def load_onnx(path):
    import onnx
    try:
        return onnx.load(path)
    except Exception as e:
        raise BadInput(f"not a readable ONNX model ({e})")


def perturb_onnx(src, dst, p, old=None):
    model = load_onnx(src)
    slots = onnx_float_slots(model)
    if old is None:
        for get, put in slots:
            out = p.floats(get())
            if out is not None:
                put(out)
    else:
        old_slots = onnx_float_slots(load_onnx(old))
        if len(old_slots) != len(slots):
            raise BadInput(f"has {len(slots)} float tensors, {old} has {len(old_slots)}: not the same graph")
        for (get, put), (get_old, _) in zip(slots, old_slots):
            out = p.snap_floats(get(), get_old())
            if out is not None:
                put(out)
    write(dst, model.SerializeToString())


# ------------------------------------------------------------------- GGUF ---

def perturb_gguf(src, dst, p, old=None):
    from gguf import GGUFReader, GGMLQuantizationType as T
    try:
        reader = GGUFReader(src, "r")
    except Exception as e:
        raise BadInput(f"not a readable GGUF file ({e})")
    old_tensors = {}
    if old is not None:
        try:
            old_tensors = {t.name: t for t in GGUFReader(old, "r").tensors}
        except Exception as e:
            raise BadInput(f"{old} is not a readable GGUF file ({e})")
    buf = bytearray(open(src, "rb").read())
    for t in reader.tensors:
        off, n = int(t.data_offset), int(t.n_bytes)
        raw = np.frombuffer(buf, dtype=np.uint8, count=n, offset=off)
        o = old_tensors.get(t.name)
        if old is not None and (o is None or o.tensor_type != t.tensor_type or int(o.n_bytes) != n):
            continue  # no counterpart: ships exactly
        old_raw = None if o is None else np.asarray(o.data).reshape(-1).view(np.uint8)
        if t.tensor_type == T.Q8_0:
            blocks = raw.reshape(-1, 34)
            q = blocks[:, 2:].copy().view(np.int8)
            if old is None:
                out = p.quants(q)
            else:
                old_blocks = old_raw.reshape(-1, 34)
                same_scale = np.all(blocks[:, :2] == old_blocks[:, :2], axis=1)
                out = p.snap_quants(q, old_blocks[:, 2:].copy().view(np.int8), same_scale[:, None])
            if out is not None:
                blocks = blocks.copy()
                blocks[:, 2:] = out.view(np.uint8)
                buf[off:off + n] = blocks.tobytes()
        elif t.tensor_type in (T.F32, T.F16):
            dt = np.float32 if t.tensor_type == T.F32 else np.float16
            if old is None:
                out = p.floats(raw.view(dt))
            else:
                out = p.snap_floats(raw.view(dt), old_raw.view(dt))
            if out is not None:
                buf[off:off + n] = out.astype(dt).tobytes()
    write(dst, bytes(buf))


# ----------------------------------------------------------------- TFLite ---

class FlatTable:
    """Just enough flatbuffer reading to find TFLite tensors and buffers."""

    def __init__(self, buf, pos):
        self.buf, self.pos = buf, pos
        vt = pos - struct.unpack_from("<i", buf, pos)[0]
        vlen = struct.unpack_from("<H", buf, vt)[0]
        self.fields = [struct.unpack_from("<H", buf, vt + 4 + 2 * i)[0] for i in range((vlen - 4) // 2)]

    def _at(self, i):
        return self.pos + self.fields[i] if i < len(self.fields) and self.fields[i] else None

    def scalar(self, i, fmt, default=0):
        at = self._at(i)
        return default if at is None else struct.unpack_from("<" + fmt, self.buf, at)[0]

    def _ref(self, i):
        at = self._at(i)
        return None if at is None else at + struct.unpack_from("<I", self.buf, at)[0]

    def vector(self, i):
        """(start, length) of a vector field, or (None, 0)."""
        v = self._ref(i)
        return (None, 0) if v is None else (v + 4, struct.unpack_from("<I", self.buf, v)[0])

    def tables(self, i):
        start, n = self.vector(i)
        out = []
        for k in range(n):
            e = start + 4 * k
            out.append(FlatTable(self.buf, e + struct.unpack_from("<I", self.buf, e)[0]))
        return out


def perturb_tflite(src, dst, p):
    buf = bytearray(open(src, "rb").read())
    try:
        model = FlatTable(buf, struct.unpack_from("<I", buf, 0)[0])
        buffers = model.tables(4)
        kinds = {}  # buffer index -> TFLite tensor type
        for sg in model.tables(2):
            for t in sg.tables(0):
                b = t.scalar(2, "I")
                if b and not t.scalar(5, "?"):
                    kinds.setdefault(b, t.scalar(1, "b"))
        done = set()
        for b, ttype in sorted(kinds.items()):
            if b in done or b >= len(buffers):
                continue
            done.add(b)
            bt = buffers[b]
            start, n = bt.vector(0)
            if start is None or n == 0:
                off, size = bt.scalar(1, "Q"), bt.scalar(2, "Q")
                if not size:
                    continue
                start, n = off, size
            raw = np.frombuffer(buf, dtype=np.uint8, count=n, offset=start)
            if ttype == 9:  # INT8
                out = p.quants(raw.view(np.int8))
            elif ttype == 0 and n % 4 == 0:  # FLOAT32
                out = p.floats(raw.view(np.float32))
            else:
                out = None
            if out is not None:
                buf[start:start + n] = out.tobytes()
    except (struct.error, IndexError, ValueError) as e:
        raise BadInput(f"not a readable TFLite flatbuffer ({e})")
    write(dst, bytes(buf))


# ------------------------------------------------------------ safetensors ---

def perturb_safetensors(src, dst, p):
    buf = bytearray(open(src, "rb").read())
    try:
        hlen = struct.unpack_from("<Q", buf, 0)[0]
        header = json.loads(buf[8:8 + hlen])
    except Exception as e:
        raise BadInput(f"not a readable safetensors file ({e})")
    base = 8 + hlen
    dtypes = {"F32": np.float32, "F16": np.float16, "F64": np.float64}
    for name, info in header.items():
        if name == "__metadata__" or info.get("dtype") not in dtypes:
            continue
        a, b = info["data_offsets"]
        dt = dtypes[info["dtype"]]
        raw = np.frombuffer(buf, dtype=dt, count=(b - a) // np.dtype(dt).itemsize, offset=base + a)
        out = p.floats(raw)
        if out is not None:
            buf[base + a:base + b] = out.tobytes()
    write(dst, bytes(buf))


# ------------------------------------------------------------------- main ---

def write(dst, data):
    d = os.path.dirname(os.path.abspath(dst))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".perturb-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, dst)


def detect(path, head):
    if head[:4] == b"GGUF":
        return "gguf", perturb_gguf
    if head[4:8] == b"TFL3":
        return "tflite", perturb_tflite
    if path.endswith(".safetensors"):
        return "safetensors", perturb_safetensors
    if path.endswith(".onnx") or head[:1] == b"\x08":
        return "onnx", perturb_onnx
    return None, None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--eps", type=float, default=0.0, help="max |noise| added to float weights")
    ap.add_argument("--steps", type=int, default=0, help="int8 quantisation steps to move")
    ap.add_argument("--fraction", type=float, default=0.0, help="fraction of int8 elements moved")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--min-elements", type=int, default=1, help="skip float tensors smaller than this")
    ap.add_argument("--include-scalars", action="store_true", help="also perturb rank-0 ONNX float constants")
    ap.add_argument("--snap-to", metavar="PREVIOUS", help="lossy-delta mimic (ONNX, GGUF): take PREVIOUS's "
                    "value wherever it is within --eps (floats) / --steps (quants) of IN's")
    a = ap.parse_args()
    if a.snap_to:
        if not a.eps and not a.steps:
            ap.error("--snap-to needs --eps and/or --steps")
    elif not a.eps and not (a.steps and a.fraction):
        ap.error("give --eps, or --steps with --fraction")
    if a.eps < 0 or a.steps < 0 or not 0 <= a.fraction <= 1:
        ap.error("--eps and --steps must be >= 0 and --fraction in [0, 1]")
    try:
        with open(a.input, "rb") as f:
            head = f.read(8)
    except OSError as e:
        sys.stderr.write(f"perturb: {a.input}: {e.strerror}\n")
        return 2
    kind, fn = detect(a.input, head)
    if fn is None:
        sys.stderr.write(f"perturb: {a.input}: unrecognised format (ONNX, GGUF, TFLite, safetensors)\n")
        return 2
    p = Perturber(a.eps, a.steps, a.fraction, a.seed, a.min_elements, a.include_scalars)
    if a.snap_to:
        if kind not in ("onnx", "gguf"):
            sys.stderr.write(f"perturb: {a.input}: --snap-to supports ONNX and GGUF only\n")
            return 2
        if not os.path.isfile(a.snap_to):
            sys.stderr.write(f"perturb: {a.snap_to}: no such file\n")
            return 2
    try:
        if a.snap_to:
            fn(a.input, a.output, p, old=a.snap_to)
        else:
            fn(a.input, a.output, p)
    except BadInput as e:
        sys.stderr.write(f"perturb: {a.input}: {e}\n")
        return 2
    sys.stderr.write(f"perturb: {kind}: {p.tensors} tensors visited, {p.elements} elements changed, "
                     f"max |change| {p.max_change:.6g}{' steps' if a.steps and kind in ('gguf', 'tflite') and not a.eps else ''}"
                     f"{f', {p.skipped_scalars} scalar constants kept' if p.skipped_scalars else ''}"
                     f" -> {a.output}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
