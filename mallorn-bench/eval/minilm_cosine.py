#!/usr/bin/env python3
"""Quality gate for BERT sentence-embedding GGUF models (all-MiniLM-L6-v2 family).

Usage: minilm_cosine.py RELEASE.gguf SHIPPED.gguf

Embeds a fixed set of 40 English sentences with both models and prints on stdout
ONE number: the minimum, over the sentences, of the cosine similarity between
the release model's embedding and the shipped model's embedding of the same
sentence. Two identical files give exactly 1.0. On stderr: mean cosine, and
sanity figures showing the embeddings behave (paraphrase pairs score higher than
unrelated pairs; the similarity matrix that sentence-transformers publishes for
all-MiniLM-L6-v2 is reproduced).

Everything is done here in numpy: tensors are read with the `gguf` package's
GGUFReader and dequantised (F32, F16, Q8_0 natively; other types through
gguf.quants), the BERT encoder forward pass (embeddings + LayerNorm, N post-LN
layers of multi-head self-attention and GELU feed-forward) follows the GGUF
metadata (block count, head count, LayerNorm epsilon, pooling type), and the
WordPiece tokeniser (BERT basic tokenisation: clean-up, lower case, accent
stripping, punctuation split; greedy longest match; [CLS] ... [SEP]) uses the
vocabulary stored in the GGUF. Pooling: mean over tokens (pooling type 1) or
[CLS] (type 2), then L2 normalisation, as sentence-transformers does.

Exit status: 0 and a score on success; 2 on a bad model file (the message names
it); 3 when a Python package is missing (run setup.sh).
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import sys
import unicodedata

try:
    import numpy as np
    from gguf import GGUFReader, GGMLQuantizationType
except ImportError as _e:
    sys.stderr.write(f"minilm_cosine: {_e} (run mallorn-bench/eval/setup.sh)\n")
    sys.exit(3)

# 40 sentences. The first three are the example of sentence-transformers'
# documentation, with its published cosine similarities for all-MiniLM-L6-v2.
SENTENCES = [
    "The weather is lovely today.",
    "It's so sunny outside!",
    "He drove to the stadium.",
    # paraphrase pairs: (3, 4), (5, 6), ... (29, 30)
    "A man is playing a guitar on stage.",
    "Someone performs music with a guitar in front of an audience.",
    "The cat is sleeping on the windowsill.",
    "A kitten naps by the window.",
    "How do I reset my password?",
    "What are the steps to change a forgotten password?",
    "The stock market fell sharply this morning.",
    "Share prices dropped steeply early today.",
    "She is reading a book in the garden.",
    "A woman reads a novel outside among the flowers.",
    "The firmware update failed because the battery was low.",
    "Because of a weak battery, the device could not install the new firmware.",
    "Children are playing football in the park.",
    "Kids kick a soccer ball around on the grass.",
    "The restaurant was closed for renovations.",
    "The diner shut its doors while it was being remodelled.",
    "Please turn off the lights when you leave the room.",
    "Switch the lamps off as you exit, please.",
    "The train to London was delayed by twenty minutes.",
    "Our London-bound train arrived about 20 minutes late.",
    "He cooked pasta with tomato sauce for dinner.",
    "For his evening meal he made spaghetti in a tomato sauce.",
    "The sensor measures temperature and humidity every minute.",
    "Once a minute, the device records how hot and how humid it is.",
    "Vaccines help the immune system recognise viruses.",
    "Immunisation teaches the body's defences to identify viral infections.",
    "The river flooded the village after days of heavy rain.",
    "After several days of downpours the town was under water from the overflowing river.",
    # assorted: questions, numbers, code-like text, accents, rare words, a long sentence
    "Is it possible to ship a model update to ten thousand microcontrollers over LoRa?",
    "Version 6.2 reduced the error rate from 3.1% to 2.4% on the test set.",
    "fn main() { println!(\"hello, world\"); }",
    "Café owners in Zürich serve crème brûlée and naïve art.",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "The quick brown fox jumps over the lazy dog.",
    "Quantum entanglement puzzled Einstein, who called it spooky action at a distance.",
    "Although the committee had reviewed every proposal carefully over several weeks, "
    "it still could not agree on which project deserved the remaining funds, so the "
    "decision was postponed until the next meeting in the autumn.",
    "Thanks!",
]
PARAPHRASE_PAIRS = [(i, i + 1) for i in range(3, 31, 2)]
# sentence-transformers documentation, all-MiniLM-L6-v2 (rounded to 4 decimals)
REFERENCE_SIMS = {(0, 1): 0.6660, (0, 2): 0.1046, (1, 2): 0.1411}
MAX_SEQ_LEN = 256  # all-MiniLM-L6-v2's max_seq_length


class BadModel(Exception):
    pass


def die(code, msg):
    sys.stderr.write(f"minilm_cosine: {msg}\n")
    sys.exit(code)


# ---------------------------------------------------------------- GGUF ---

def field(reader, key, default=None):
    f = reader.fields.get(key)
    if f is None:
        return default
    return f.contents()


def dequant(t):
    data = np.asarray(t.data)
    ttype = t.tensor_type
    if ttype == GGMLQuantizationType.F32:
        w = data.astype(np.float32)
    elif ttype == GGMLQuantizationType.F16:
        w = data.astype(np.float32)
    elif ttype == GGMLQuantizationType.Q8_0:
        # block of 32 weights: float16 scale, then 32 int8 quants
        blocks = data.reshape(-1, 34)
        scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)
        quants = blocks[:, 2:].view(np.int8).astype(np.float32)
        w = (scale * quants).reshape(data.shape[:-1] + (-1,))
    else:
        from gguf.quants import dequantize
        w = dequantize(data, ttype).astype(np.float32)
    # numpy shape is (ne[n-1], ..., ne[0]); check it matches the declared shape
    want = tuple(int(n) for n in reversed(t.shape))
    if w.shape != want:
        w = w.reshape(want)
    return w


class Bert:
    def __init__(self, path):
        self.path = path
        if not os.path.isfile(path):
            raise BadModel("no such file")
        try:
            r = GGUFReader(path, "r")
        except Exception as e:
            raise BadModel(f"not a readable GGUF file ({type(e).__name__}: {e})")
        arch = field(r, "general.architecture")
        if arch != "bert":
            raise BadModel(f"general.architecture is {arch!r}, expected 'bert'")
        self.n_layer = int(field(r, "bert.block_count", 0))
        self.n_head = int(field(r, "bert.attention.head_count", 0))
        self.eps = float(field(r, "bert.attention.layer_norm_epsilon", 1e-12))
        self.pooling = int(field(r, "bert.pooling_type", 1))
        if self.n_layer <= 0 or self.n_head <= 0:
            raise BadModel("missing bert.block_count / bert.attention.head_count")
        if self.pooling not in (1, 2):
            raise BadModel(f"bert.pooling_type {self.pooling} not supported (1 = mean, 2 = cls)")
        try:
            self.w = {t.name: dequant(t) for t in r.tensors}
        except Exception as e:
            raise BadModel(f"cannot read tensor data ({type(e).__name__}: {e})")
        needed = ["token_embd.weight", "position_embd.weight", "token_embd_norm.weight", "token_embd_norm.bias"]
        for i in range(self.n_layer):
            for n in ("attn_q", "attn_k", "attn_v", "attn_output", "attn_output_norm",
                      "ffn_up", "ffn_down", "layer_output_norm"):
                needed += [f"blk.{i}.{n}.weight", f"blk.{i}.{n}.bias"]
        missing = [n for n in needed if n not in self.w]
        if missing:
            raise BadModel(f"missing tensors, e.g. {missing[:3]}")
        for n, a in self.w.items():
            if not np.all(np.isfinite(a)):
                raise BadModel(f"tensor {n} has non-finite values")
        self.d = self.w["token_embd.weight"].shape[1]
        if self.d % self.n_head:
            raise BadModel(f"embedding length {self.d} not divisible by {self.n_head} heads")
        toks = r.fields.get("tokenizer.ggml.tokens")
        if toks is None:
            raise BadModel("no tokenizer.ggml.tokens vocabulary")
        vocab = [bytes(toks.parts[i]).decode("utf-8", "replace") for i in toks.data]
        self.tok = WordPiece(vocab, unk_id=int(field(r, "tokenizer.ggml.unknown_token_id", 100)),
                             cls_id=int(field(r, "tokenizer.ggml.bos_token_id",
                                              field(r, "tokenizer.ggml.cls_token_id", 101))),
                             sep_id=int(field(r, "tokenizer.ggml.eos_token_id",
                                              field(r, "tokenizer.ggml.seperator_token_id", 102))))
        if len(vocab) != self.w["token_embd.weight"].shape[0]:
            raise BadModel(f"vocabulary has {len(vocab)} tokens, token_embd has "
                           f"{self.w['token_embd.weight'].shape[0]} rows")
        self.max_pos = self.w["position_embd.weight"].shape[0]

    def layernorm(self, x, name):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + self.eps) * self.w[name + ".weight"] + self.w[name + ".bias"]

    def linear(self, x, name):
        return x @ self.w[name + ".weight"].T + self.w[name + ".bias"]

    def embed(self, text):
        ids = self.tok.encode(text, min(MAX_SEQ_LEN, self.max_pos))
        n = len(ids)
        w = self.w
        x = w["token_embd.weight"][ids] + w["position_embd.weight"][:n]
        if "token_types.weight" in w:
            x = x + w["token_types.weight"][0]
        x = self.layernorm(x, "token_embd_norm")
        h, dh = self.n_head, self.d // self.n_head
        for i in range(self.n_layer):
            p = f"blk.{i}."
            q = self.linear(x, p + "attn_q").reshape(n, h, dh).transpose(1, 0, 2)
            k = self.linear(x, p + "attn_k").reshape(n, h, dh).transpose(1, 0, 2)
            v = self.linear(x, p + "attn_v").reshape(n, h, dh).transpose(1, 0, 2)
            s = q @ k.transpose(0, 2, 1) / np.sqrt(dh)
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            ctx = (s @ v).transpose(1, 0, 2).reshape(n, self.d)
            x = self.layernorm(x + self.linear(ctx, p + "attn_output"), p + "attn_output_norm")
            f = gelu(self.linear(x, p + "ffn_up"))
            x = self.layernorm(x + self.linear(f, p + "ffn_down"), p + "layer_output_norm")
        e = x.mean(0) if self.pooling == 1 else x[0]
        e = e.astype(np.float64)
        return e / max(np.linalg.norm(e), 1e-12)


def erf(x):
    # Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7); numpy has no erf.
    s = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t
               + 0.254829592) * t * np.exp(-a * a)
    return s * y


def gelu(x):
    # exact (erf) GELU, as BERT / sentence-transformers use
    return (0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))).astype(np.float32)


# ------------------------------------------------------------ tokeniser ---

def _is_punct(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


class WordPiece:
    """BERT uncased tokenisation (BasicTokenizer + WordpieceTokenizer)."""

    def __init__(self, vocab, unk_id, cls_id, sep_id):
        # Accept both the plain HF vocabulary ("##" marks a continuation) and the
        # llama.cpp "phantom space" one ("\u2581" marks a word start).
        phantom = any(t.startswith("\u2581") for t in vocab)
        self.ids = {}
        for i, t in enumerate(vocab):
            if phantom and not (t.startswith("[") and t.endswith("]")):
                t = t[1:] if t.startswith("\u2581") else "##" + t
            self.ids.setdefault(t, i)
        self.unk, self.cls, self.sep = unk_id, cls_id, sep_id

    def basic(self, text):
        out = []
        for ch in text:
            cp = ord(ch)
            if cp == 0 or cp == 0xFFFD:
                continue
            cat = unicodedata.category(ch)
            if ch in "\t\n\r" or cat == "Zs":
                out.append(" ")
            elif cat in ("Cc", "Cf"):
                continue
            elif _is_cjk(cp):
                out.append(f" {ch} ")
            else:
                out.append(ch)
        words = []
        for w in "".join(out).split():
            w = "".join(c for c in unicodedata.normalize("NFD", w.lower()) if unicodedata.category(c) != "Mn")
            cur = ""
            for c in w:
                if _is_punct(c):
                    if cur:
                        words.append(cur)
                    words.append(c)
                    cur = ""
                else:
                    cur += c
            if cur:
                words.append(cur)
        return words

    def wordpiece(self, word):
        if len(word) > 100:
            return [self.unk]
        pieces, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                sub = word[start:end] if start == 0 else "##" + word[start:end]
                if sub in self.ids:
                    pieces.append(self.ids[sub])
                    break
                end -= 1
            else:
                return [self.unk]
            start = end
        return pieces

    def encode(self, text, max_len):
        ids = [i for w in self.basic(text) for i in self.wordpiece(w)]
        return [self.cls] + ids[: max_len - 2] + [self.sep]


# ------------------------------------------------------------------ main ---

def sanity(name, emb):
    sims = emb @ emb.T
    n = len(emb)
    para = np.array([sims[a, b] for a, b in PARAPHRASE_PAIRS])
    para_set = {frozenset(p) for p in PARAPHRASE_PAIRS}
    unrel = np.array([sims[a, b] for a in range(n) for b in range(a + 1, n) if frozenset((a, b)) not in para_set])
    # nearest neighbour of each paraphrase-pair member (among all other sentences) is its partner
    hits = 0
    for a, b in PARAPHRASE_PAIRS:
        for x, y in ((a, b), (b, a)):
            row = sims[x].copy()
            row[x] = -np.inf
            hits += int(np.argmax(row) == y)
    ref = max(abs(sims[i, j] - v) for (i, j), v in REFERENCE_SIMS.items())
    ok = para.min() > np.median(unrel) and hits == 2 * len(PARAPHRASE_PAIRS)
    sys.stderr.write(
        f"{name}: paraphrase cos mean {para.mean():.3f} (min {para.min():.3f}), unrelated cos mean "
        f"{unrel.mean():.3f} (max {unrel.max():.3f}); nearest neighbour is the paraphrase for "
        f"{hits}/{2 * len(PARAPHRASE_PAIRS)}; max |deviation| from the published all-MiniLM-L6-v2 "
        f"similarities {ref:.4f}; sanity {'PASS' if ok else 'FAIL'}\n")


def main(argv):
    if len(argv) != 3 or argv[1] in ("-h", "--help"):
        sys.stderr.write(__doc__)
        return 2
    models = []
    for path in argv[1:]:
        try:
            models.append(Bert(path))
        except BadModel as e:
            die(2, f"{path}: {e}")
    embs = []
    for m in models:
        try:
            embs.append(np.stack([m.embed(s) for s in SENTENCES]))
        except Exception as e:
            die(2, f"{m.path}: forward pass failed ({type(e).__name__}: {e})")
        if not np.all(np.isfinite(embs[-1])):
            die(2, f"{m.path}: forward pass produced non-finite embeddings")
    a, b = embs
    cos = np.array([1.0 if np.array_equal(x, y) else float(np.clip(x @ y, -1.0, 1.0)) for x, y in zip(a, b)])
    worst = int(np.argmin(cos))
    sys.stderr.write(
        f"sentences: {len(SENTENCES)}; layers {models[0].n_layer}, heads {models[0].n_head}, "
        f"dim {models[0].d}, pooling {'mean' if models[0].pooling == 1 else 'cls'}\n"
        f"mean cosine: {cos.mean():.6f}\n"
        f"min cosine: {cos[worst]:.6f} on {SENTENCES[worst]!r}\n")
    sanity("release", a)
    sanity("shipped", b)
    print(repr(float(cos.min())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
