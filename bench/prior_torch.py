#!/usr/bin/env python3
"""The music prior's KV-cached sampling step in PyTorch, for issue 14's speed comparison.

Never part of the build, the tests or CI. Run it through bench/compare_prior.sh, which times gen's
step (`gen-bench prior`) in the same run:

    python3 -m venv .venv-torch && .venv-torch/bin/pip install torch numpy
    bench/compare_prior.sh .venv-torch/bin/python

The same architecture as Sources/Music/Prior.swift at the shipped prior's size (models/prior/
config.json; random weights, as gen-bench uses), context 1024 steps: each step sums the K code
embeddings of a frame (delay pattern), adds learned position and timing embeddings, runs the pre-LN
blocks (self-attention on a preallocated KV cache written in place, cross-attention to the lyric
window's precomputed keys and values in every `cross_attention_every`-th block, a GELU MLP), the
final LayerNorm and K output heads tied to the code embeddings. Eager mode, 2 threads,
torch.inference_mode, F.scaled_dot_product_attention. Prints ms per step for a batch of 1 and of 2
(classifier-free guidance's pair) and of 3 (grid guidance's rows), after filling the cache to 1024 − 64 positions, as gen-bench does.
DTYPE=bfloat16 (or float16) runs the weights and caches in that 16-bit type, the counterpart of
gen's half-precision sampling (gen converts to F32 for the arithmetic; PyTorch computes in it).
"""
import json, os, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(int(os.environ.get("THREADS", "2")))
DTYPE = getattr(torch, os.environ.get("DTYPE", "float32"))
cfg = json.load(open(sys.argv[1] if len(sys.argv) > 1 else "models/prior/config.json"))
K, V, C, H = cfg["codebooks"], cfg["vocab_size"], cfg["d_model"], cfg["heads"]
L, MLP, E, BINS = cfg["layers"], cfg["mlp_dim"], cfg["lyrics_dim"], cfg["timing_bins"]
EVERY, CTX, D = cfg["cross_attention_every"], 1024, cfg["d_model"] // cfg["heads"]
torch.manual_seed(0)


class Block(nn.Module):
    def __init__(self, cross):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(C), nn.LayerNorm(C)
        self.q, self.k, self.v, self.o = (nn.Linear(C, C) for _ in range(4))
        self.cross = cross
        if cross:
            self.norm_cross = nn.LayerNorm(C)
            self.cq, self.ck, self.cv, self.co = nn.Linear(C, C), nn.Linear(E, C), nn.Linear(E, C), nn.Linear(C, C)
        self.fc1, self.fc2 = nn.Linear(C, MLP), nn.Linear(MLP, C)

    def heads(self, x):                       # (B, n, C) → (B, H, n, D)
        return x.view(x.shape[0], x.shape[1], H, D).transpose(1, 2)

    def forward(self, x, cache, pos, lyrics_kv):
        b, n, _ = x.shape
        h = self.norm1(x)
        kc, vc = cache
        kc[:b, :, pos:pos + n] = self.heads(self.k(h))   # written in place
        vc[:b, :, pos:pos + n] = self.heads(self.v(h))
        a = F.scaled_dot_product_attention(self.heads(self.q(h)), kc[:b, :, :pos + n], vc[:b, :, :pos + n],
                                           is_causal=(n > 1 and pos == 0))
        x = x + self.o(a.transpose(1, 2).reshape(b, n, C))
        if self.cross:
            ck, cv = lyrics_kv
            a = F.scaled_dot_product_attention(self.heads(self.cq(self.norm_cross(x))), ck, cv)
            x = x + self.co(a.transpose(1, 2).reshape(b, n, C))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x)), approximate="tanh"))


class Prior(nn.Module):
    def __init__(self):
        super().__init__()
        self.tokens = nn.Embedding(K * (V + 1), C)
        self.position = nn.Embedding(CTX, C)
        self.offset, self.fraction = nn.Embedding(BINS, C), nn.Embedding(BINS, C)
        self.blocks = nn.ModuleList(Block(i % EVERY == EVERY - 1) for i in range(L))
        self.final = nn.LayerNorm(C)
        self.head_bias = nn.Parameter(torch.zeros(K * V))

    def step(self, codes, pos, caches, lyrics):   # codes (B, n, K) → logits of the last position (B, K·V)
        b, n, _ = codes.shape
        ids = codes + torch.arange(K) * V
        x = self.tokens(ids).sum(2) + self.position.weight[pos:pos + n]
        t = torch.full((b, n), pos * BINS // CTX, dtype=torch.long)
        x = x + self.offset(t) + self.fraction(t)
        for blk, cache, kv in zip(self.blocks, caches, lyrics):
            x = blk(x, cache, pos, kv)
        return F.linear(self.final(x[:, -1]), self.tokens.weight[:K * V], self.head_bias)


def ms_per_step(model, batch, tail=64):
    caches = [(torch.zeros(batch, H, CTX, D, dtype=DTYPE), torch.zeros(batch, H, CTX, D, dtype=DTYPE)) for _ in range(L)]
    lyric = torch.randn(batch, 1, E, dtype=DTYPE)        # one lyric position, as gen-bench's unlyricked condition
    lyrics = [(blk.heads(blk.ck(lyric)), blk.heads(blk.cv(lyric))) if blk.cross else None for blk in model.blocks]
    codes = torch.randint(0, V, (batch, CTX, K))
    model.step(codes[:, :CTX - tail], 0, caches, lyrics)
    t0 = time.perf_counter()
    for p in range(CTX - tail, CTX):
        model.step(codes[:, p:p + 1], p, caches, lyrics)
    return (time.perf_counter() - t0) / tail * 1000


with torch.inference_mode():
    model = Prior().eval().to(DTYPE)
    ms_per_step(model, 1, tail=8)           # warm-up
    one, two, three = ms_per_step(model, 1), ms_per_step(model, 2), ms_per_step(model, 3)
print(f"PyTorch {torch.__version__} ({torch.get_num_threads()} threads, {str(DTYPE).split('.')[-1]}), prior {L} layers × {C}, {K} codebooks, "
      f"1024 steps of context: KV-cached {one:.2f} ms/step ({two:.2f} ms with guidance's batch of 2, {three:.2f} ms with grid guidance's 3)")
