#!/usr/bin/env python3
"""Re-quantise a GGUF lineage (OLD, NEW) to other GGML block types, so the delta coder can be
measured on real fine-tunes in each quantisation.

Usage:
  gguf_requant_pairs.py OUT_DIR [--old OLD.gguf] [--new NEW.gguf] [--types Q4_0,Q4_1,...]

Defaults: the MiniLM Q8_0 base and fine-tune of the shared corpus
(../shared/corpus/minilm-gguf-q8_0) and every type below. For each type T it writes
OUT_DIR/T/v0-base.T.gguf and OUT_DIR/T/v1-finetune.T.gguf and prints one line per file
(type, file, bytes, sha256, tensors per GGML type) plus the tool versions.

Every tensor stored Q8_0 in the source is dequantised to float32 and quantised again to T;
F32 tensors (norms, biases, token types) stay F32, and the metadata is copied unchanged
except `general.file_type`. Q4_0, Q4_1, Q5_0 and Q5_1 use gguf-py's own quantisers
(`gguf.quants.quantize`, the reference rounding of ggml). gguf-py cannot quantise K-quants,
so Q4_K, Q5_K and Q6_K use the functions below: the ggml block layouts (checked against
`gguf.quants.dequantize` on every tensor) with simpler scale choices than llama.cpp's
iterative search (a sub-block's range instead of a rounding-error search). A K-quant needs a
row of a multiple of 256 values; rows of other lengths fall back to the type llama-quantize
uses for them (Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0).

Deterministic: same inputs, same outputs, byte for byte.
"""

import argparse
import hashlib
import os
import sys
from importlib.metadata import version

import numpy as np

import gguf
from gguf import GGMLQuantizationType as T
from gguf import quants

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "corpus", "minilm-gguf-q8_0"))
ALL_TYPES = ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K", "Q5_K", "Q6_K"]
K_FALLBACK = {"Q4_K": "Q5_0", "Q5_K": "Q5_1", "Q6_K": "Q8_0"}
# llama_ftype values (llama.h) for general.file_type.
FILE_TYPE = {"Q4_0": 2, "Q4_1": 3, "Q5_0": 8, "Q5_1": 9, "Q4_K": 15, "Q5_K": 17, "Q6_K": 18}


def f16(x):
    return np.asarray(x, dtype=np.float32).astype(np.float16).view(np.uint8).reshape(*np.shape(x), 2)


def k_sub_scales(x, levels):
    """Per 32-value sub-block of 256-value blocks: (scale, min) with x ~ scale*q - min, q in
    [0, levels], min >= 0 (ggml's make_qkx2_quants convention, range-based)."""
    lo = np.minimum(x.min(axis=-1), 0.0)
    hi = x.max(axis=-1)
    scale = (hi - lo) / levels
    return scale, -lo


def k_pack_scales(ls, lm):
    """Packs 8 six-bit scales and mins per block into ggml's 12 bytes (get_scale_min_k4)."""
    out = np.zeros((ls.shape[0], 12), dtype=np.uint8)
    out[:, 0:4] = ls[:, 0:4] | ((ls[:, 4:8] >> 4) << 6)
    out[:, 4:8] = lm[:, 0:4] | ((lm[:, 4:8] >> 4) << 6)
    out[:, 8:12] = (ls[:, 4:8] & 15) | ((lm[:, 4:8] & 15) << 4)
    return out


def k_levels(x, levels):
    """The d, dmin, packed scales and per-value levels of Q4_K (levels 15) or Q5_K (31)."""
    blocks = x.reshape(-1, 8, 32)
    scale, mn = k_sub_scales(blocks, levels)
    max_scale = scale.max(axis=1, keepdims=True)
    max_min = mn.max(axis=1, keepdims=True)
    d = (max_scale / 63).astype(np.float16).astype(np.float32)
    dmin = (max_min / 63).astype(np.float16).astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        ls = np.where(d > 0, np.rint(scale / d), 0).clip(0, 63).astype(np.uint8)
        lm = np.where(dmin > 0, np.rint(mn / dmin), 0).clip(0, 63).astype(np.uint8)
        d1 = d * ls
        dm = dmin * lm
        q = np.where(d1[..., None] > 0, np.rint((blocks + dm[..., None]) / d1[..., None]), 0)
    q = q.clip(0, levels).astype(np.uint8).reshape(-1, 256)
    return d[:, 0], dmin[:, 0], k_pack_scales(ls, lm), q


def pack_low_nibbles(q):
    """ggml's K-quant nibble order: per 64 values, byte l holds value l (low) and l+32 (high)."""
    q = q.reshape(-1, 4, 2, 32) & 15
    return (q[:, :, 0, :] | (q[:, :, 1, :] << 4)).reshape(-1, 128)


def quantize_q4_k(x):
    d, dmin, scales, q = k_levels(x, 15)
    return np.concatenate([f16(d), f16(dmin), scales, pack_low_nibbles(q)], axis=1)


def quantize_q5_k(x):
    d, dmin, scales, q = k_levels(x, 31)
    high = (q >> 4).reshape(-1, 4, 2, 32)
    qh = np.zeros((q.shape[0], 32), dtype=np.uint8)
    for n in range(4):
        qh |= (high[:, n, 0, :] << (2 * n)) | (high[:, n, 1, :] << (2 * n + 1))
    return np.concatenate([f16(d), f16(dmin), scales, qh, pack_low_nibbles(q)], axis=1)


def quantize_q6_k(x):
    blocks = x.reshape(-1, 16, 16)
    idx = np.abs(blocks).argmax(axis=-1)
    amax = np.take_along_axis(blocks, idx[..., None], axis=-1)[..., 0]
    scale = amax / -32
    big = np.take_along_axis(scale, np.abs(scale).argmax(axis=1)[:, None], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        iscale = np.where(big != 0, -128 / big, 0)
        sc = np.rint(iscale * scale).clip(-128, 127).astype(np.int8)
        d = np.where(iscale != 0, 1 / iscale, 0).astype(np.float16).astype(np.float32)
        dl = d * sc.astype(np.float32)
        q = np.where(dl[..., None] != 0, np.rint(blocks / dl[..., None]), 0)
    q = (q.clip(-32, 31) + 32).astype(np.uint8).reshape(-1, 2, 4, 32)
    ql = np.stack(
        [np.concatenate([(q[:, h, 0] & 15) | ((q[:, h, 2] & 15) << 4),
                         (q[:, h, 1] & 15) | ((q[:, h, 3] & 15) << 4)], axis=1) for h in range(2)],
        axis=1).reshape(-1, 128)
    qh = np.stack(
        [(q[:, h, 0] >> 4) | ((q[:, h, 1] >> 4) << 2) | ((q[:, h, 2] >> 4) << 4) | ((q[:, h, 3] >> 4) << 6)
         for h in range(2)], axis=1).reshape(-1, 64)
    return np.concatenate([ql, qh, sc.view(np.uint8).reshape(-1, 16), f16(d[:, 0])], axis=1)


K_QUANTIZERS = {"Q4_K": quantize_q4_k, "Q5_K": quantize_q5_k, "Q6_K": quantize_q6_k}


def requantize(values, target):
    """Quantised bytes of float32 `values` (rows of ne0 values) and the type actually used."""
    ne0 = values.shape[-1]
    if target in K_QUANTIZERS:
        if ne0 % 256 != 0:
            target = K_FALLBACK[target]
        else:
            rows = values.reshape(-1, ne0)
            data = K_QUANTIZERS[target](rows.reshape(-1)).reshape(rows.shape[0], -1)
            check_k(values, data, target)
            return data.reshape(*values.shape[:-1], -1), target
    return quants.quantize(values, T[target]), target


def check_k(values, data, target):
    """Our K-quant bytes must decode (with gguf-py) to within a step of the input."""
    back = quants.dequantize(data, T[target]).reshape(values.shape)
    err = np.abs(back - values).max()
    span = np.abs(values).max()
    levels = {"Q4_K": 15, "Q5_K": 31, "Q6_K": 63}[target]
    if not err <= 2.5 * span / levels:
        sys.exit(f"{target}: dequantised error {err} too large for range {span}: layout bug")


def copy_fields(reader, writer, file_type):
    for field in reader.fields.values():
        if field.name.startswith("GGUF.") or field.name == "general.architecture":
            continue
        if field.name == "general.file_type":
            writer.add_file_type(file_type)
            continue
        vtype = field.types[0]
        sub = field.types[1] if vtype == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), vtype, sub_type=sub)


def convert(src, dst, target):
    reader = gguf.GGUFReader(src, "r")
    arch = reader.fields["general.architecture"].contents()
    writer = gguf.GGUFWriter(dst, arch)
    copy_fields(reader, writer, FILE_TYPE[target])
    used = {}
    for t in reader.tensors:
        kind = t.tensor_type
        if kind == T.Q8_0:
            values = quants.dequantize(t.data, T.Q8_0)
            data, name = requantize(values, target)
            writer.add_tensor(t.name, data, raw_dtype=T[name])
        elif kind in (T.F32, T.F16):
            name = kind.name
            writer.add_tensor(t.name, np.array(t.data), raw_dtype=kind)
        else:
            sys.exit(f"{src}: tensor {t.name} of type {kind.name}: not handled")
        used[name] = used.get(name, 0) + 1
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return used


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir")
    ap.add_argument("--old", default=os.path.join(CORPUS, "v0-base.Q8_0.gguf"))
    ap.add_argument("--new", default=os.path.join(CORPUS, "v1-finetune.Q8_0.gguf"))
    ap.add_argument("--types", default=",".join(ALL_TYPES))
    a = ap.parse_args()
    print(f"# gguf {version('gguf')}, numpy {np.__version__}, python {sys.version.split()[0]}")
    for src in (a.old, a.new):
        print(f"# source {os.path.basename(src)} {os.path.getsize(src)} {sha256(src)}")
    for target in a.types.split(","):
        os.makedirs(os.path.join(a.out_dir, target), exist_ok=True)
        for src, stem in ((a.old, "v0-base"), (a.new, "v1-finetune")):
            dst = os.path.join(a.out_dir, target, f"{stem}.{target}.gguf")
            used = convert(src, dst, target)
            print(target, dst, os.path.getsize(dst), sha256(dst), used, flush=True)


if __name__ == "__main__":
    main()
