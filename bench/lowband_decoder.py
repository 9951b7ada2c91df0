#!/usr/bin/env python3
"""A waveform decoder for the codec's low band, prototyped in PyTorch (issue 13). gen has it now:
Sources/Music/BassDecoder.swift (the DOWN=32, RESIDUAL=0 network, loading `export`'s weights), trained by
`gen train codec --bass-decoder`; this script stays as the prototype it was checked against.

Why: the codec's iSTFT decoder keeps the notes' envelope and loses their pitch at the bottom (the
codec's MODEL_CARD.md): a 1024-point frame's bins are 21.5 Hz apart, and the decoder does not learn
where a partial lies between them. A decoder that writes the waveform itself has no bins to fall
between (the v1 codec's waveform decoder kept chroma 0.986 at 6.89 kbps). At the sample rate such
a decoder costs too much for two cores, and `oracle` shows the lost chroma is almost all in the
bass, so this one writes only the low band, at 22050 / DOWN Hz: the RVQ latent of the first k
codebooks (the sum of their codewords, 86 frames/s) upsampled to that rate by transposed
convolutions with Snake activations (BigVGAN), beside the codec's own decoded low band. The output
is the codec's decoded audio with its low band replaced.

  prep  DATA OUT [I N]  encode every clip of DATA (a `gen dataset music` folder) with `gen encode`,
                        decode it at 2, 4 and 8 codebooks (shard I of N)
  train OUT             train on the training clips' windows (resumes from its checkpoint in OUT)
  apply OUT K DST       the held-out clips at K codebooks to DST/ref, DST/codec and DST/fixed (low band replaced)
  export OUT FILE       the trained weights (F32) as a safetensors file, for a port to gen to load and check against
  oracle OUT K D DST    the held-out clips at K codebooks with the band below 11025 / D Hz taken from the
                        original (DST/oracle), and both with that band removed (DST/high-ref, DST/high-codec):
                        how much chroma a perfect low band would give back, and how the notes above it fare

Environment: DOWN (8: 2756 Hz, the band below 1.38 kHz; 32: 689 Hz, below 345 Hz), RESIDUAL (1: the
network corrects the codec's low band, its last layer starting at zero; 0: it writes the low band,
reading the codec's as an input), STEPS. Score the folders with ../shared/eval/music_fidelity.py --pairs.

Run with a PyTorch venv (`python3 -m venv --system-site-packages .venv-torch; .venv-torch/bin/pip
install torch`); it is never part of the build, the tests or CI.
"""
import json, math, os, subprocess, sys, time
import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

GEN = os.environ.get("GEN", ".build/release/gen")
LADDER = (2, 4, 8)
DOWN = int(os.environ.get("DOWN", 8))
FRAME = 256 // DOWN
RESIDUAL = os.environ.get("RESIDUAL", "1") == "1"
# Weight of the log-magnitude term beside spectral convergence: the log term counts quiet bins as
# much as loud ones, spectral convergence counts the loud partials a chroma hears.
LOG_WEIGHT = float(os.environ.get("LOG_WEIGHT", 1))
TAG = os.environ.get("TAG", "")
# Residual blocks at the frame rate before the upsampling: width for reading the codes, at 86 Hz.
FRAME_BLOCKS = int(os.environ.get("FRAME_BLOCKS", 0))


def read_safetensors(path):
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        blob = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        dt = {"F32": np.float32, "I32": np.int32, "F16": np.float16}[v["dtype"]]
        out[k] = np.frombuffer(blob[a:b], dtype=dt).reshape(v["shape"])
    return out


def latent(codes, books, k):
    return sum(books[f"quantizer.{c}.codebook"][codes[c]] for c in range(k)).T.astype(np.float32)   # (128, S)


def prep(data, out, shard=0, shards=1):
    os.makedirs(out, exist_ok=True)
    meta = [json.loads(l) for l in open(os.path.join(data, "metadata.jsonl"))][shard::shards]
    books = read_safetensors("models/codec/model.safetensors")
    t0 = time.time()
    for i, m in enumerate(meta):
        name = os.path.splitext(os.path.basename(m["file"]))[0]
        dst = os.path.join(out, name + ".npz")
        if os.path.exists(dst):
            continue
        src = os.path.join(data, m["file"])
        codes_path = os.path.join(out, name + ".codes.safetensors")
        subprocess.run([GEN, "encode", src, "-o", codes_path, "--quiet", "--threads", "1"], check=True, stdout=subprocess.DEVNULL)
        codes = read_safetensors(codes_path)["codes"]
        x, sr = sf.read(src, dtype="float32")
        assert sr == 22050 and x.ndim == 1
        item = {"split": m["split"], "orig": x, "codes": codes}
        for k in LADDER:
            wav = os.path.join(out, f"{name}.k{k}.wav")
            subprocess.run([GEN, "decode", codes_path, "-o", wav, "--codebooks", str(k), "--quiet", "--threads", "1"], check=True,
                           stdout=subprocess.DEVNULL)
            y, _ = sf.read(wav, dtype="float32")
            item[f"k{k}"] = y
            os.remove(wav)
        os.remove(codes_path)
        np.savez(dst, **item)
        if i % 20 == 0:
            print(f"prep {i + 1}/{len(meta)} {time.time() - t0:.0f} s", flush=True)


def low(x, down=DOWN):
    return resample_poly(x, 1, down).astype(np.float32)


def up(x, n, down=DOWN):
    y = resample_poly(x, down, 1).astype(np.float32)
    return np.pad(y, (0, max(0, n - len(y))))[:n]


def checkpoint_path(out):
    return os.path.join(out, f"lowband{'' if RESIDUAL else '-scratch'}-{DOWN}{TAG}.pt")


# ---------------------------------------------------------------------------- the model
def model_and_torch():
    import torch
    import torch.nn as nn
    torch.set_num_threads(int(os.environ.get("THREADS", 2)))

    class Snake(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.alpha = nn.Parameter(torch.ones(1, c, 1))

        def forward(self, x):
            a = self.alpha
            return x + torch.sin(a * x) ** 2 / (a + 1e-9)

    class Res(nn.Module):
        def __init__(self, c, dilations=(1, 3, 9)):
            super().__init__()
            self.layers = nn.ModuleList()
            for d in dilations:
                self.layers.append(nn.Sequential(Snake(c), nn.Conv1d(c, c, 7, dilation=d, padding=3 * d),
                                                 Snake(c), nn.Conv1d(c, c, 1)))

        def forward(self, x):
            for l in self.layers:
                x = x + l(x)
            return x

    class FrameBlock(nn.Module):             # a residual block at the frame rate: conv k5, GELU, conv k1
        def __init__(self, c):
            super().__init__()
            self.f = nn.Sequential(nn.Conv1d(c, c, 5, padding=2), nn.GELU(), nn.Conv1d(c, c, 1))

        def forward(self, x):
            return x + self.f(x)

    class LowBand(nn.Module):
        def __init__(self, d=128, c=48):
            super().__init__()
            conv = nn.Conv1d(d, 128, 3, padding=1)
            self.inp = nn.Sequential(conv, *[FrameBlock(128) for _ in range(FRAME_BLOCKS)]) if FRAME_BLOCKS else conv
            stages = {8: [(128, 96, 4), (96, 64, 4), (64, c, 2)], 32: [(128, 96, 4), (96, c, 2)]}[DOWN]
            layers = []
            for i, (a, b, r) in enumerate(stages):
                layers.append(nn.ConvTranspose1d(a, b, 2 * r, stride=r, padding=r // 2))
                if i < len(stages) - 1:
                    layers.append(Res(b, (1, 3)))
            self.up = nn.Sequential(*layers)
            self.mix = nn.Conv1d(c + 1, c, 7, padding=3)
            self.body = nn.Sequential(Res(c), Res(c))
            self.out = nn.Sequential(Snake(c), nn.Conv1d(c, 1, 7, padding=3))
            if RESIDUAL:
                nn.init.zeros_(self.out[1].weight); nn.init.zeros_(self.out[1].bias)

        def forward(self, z, lowband):              # z (B, 128, S), lowband (B, 1, 32·S)
            h = self.up(self.inp(z))
            h = self.mix(torch.cat([h, lowband * 10], 1))
            y = self.out(self.body(h)) / 10
            return lowband + y if RESIDUAL else y

    return torch, LowBand


# 21.5 down to 2.7 Hz bins
STFT_SIZES = (128, 256, 512, 1024) if DOWN == 8 else (32, 64, 128, 256)


def stft_loss(torch, y, x, magnitude_weight=1.0):
    loss = 0
    for n in STFT_SIZES:
        w = torch.hann_window(n)
        Y = torch.stft(y, n, n // 4, window=w, return_complex=True).abs()
        X = torch.stft(x, n, n // 4, window=w, return_complex=True).abs()
        sc = torch.linalg.norm(X - Y) / (torch.linalg.norm(X) + 1e-7)
        lm = (torch.log(Y + 1e-4) - torch.log(X + 1e-4)).abs().mean()
        loss = loss + sc + magnitude_weight * lm
    return loss / len(STFT_SIZES)


def load_items(out, split):
    items = []
    for f in sorted(os.listdir(out)):
        if f.endswith(".npz"):
            d = np.load(os.path.join(out, f))
            if str(d["split"]) == split:
                items.append((f[:-4], d))
    return items


def train(out, steps=4000, batch=8, frames=96, lr=1e-3):
    batch = int(os.environ.get("BATCH", batch)); lr = float(os.environ.get("LR", lr))
    torch, LowBand = model_and_torch()
    books = read_safetensors("models/codec/model.safetensors")
    items = load_items(out, "train")
    print(f"{len(items)} training clips", flush=True)
    cache = []
    for name, d in items:
        per = {"orig": low(d["orig"]), "codes": d["codes"]}
        for k in LADDER:
            per[k] = (latent(d["codes"], books, k), low(d[f"k{k}"]))
        cache.append(per)
    net = LowBand()
    opt = torch.optim.AdamW(net.parameters(), lr=lr, betas=(0.8, 0.99), weight_decay=0.01)
    ckpt = checkpoint_path(out)
    step = 0
    if os.path.exists(ckpt):
        s = torch.load(ckpt)
        net.load_state_dict(s["net"]); opt.load_state_dict(s["opt"]); step = s["step"]
    elif os.environ.get("INIT"):                 # weights of another run to start from (a fine-tune)
        net.load_state_dict(torch.load(os.environ["INIT"])["net"])
    rng = np.random.default_rng(step + 1)
    log = open(os.path.join(out, f"train{'' if RESIDUAL else '-scratch'}-{DOWN}{TAG}.jsonl"), "a")
    t0 = time.time()
    while step < steps:
        zs, lbs, xs = [], [], []
        for _ in range(batch):
            c = cache[rng.integers(len(cache))]
            k = LADDER[rng.integers(len(LADDER))]
            z, lb = c[k]
            s_max = z.shape[1] - frames
            s = int(rng.integers(0, max(1, s_max)))
            zs.append(z[:, s:s + frames])
            seg = slice(s * FRAME, (s + frames) * FRAME)
            lbs.append(np.pad(lb[seg], (0, frames * FRAME - len(lb[seg]))))
            xs.append(np.pad(c["orig"][seg], (0, frames * FRAME - len(c["orig"][seg]))))
        z = torch.tensor(np.stack(zs)); lb = torch.tensor(np.stack(lbs))[:, None]; x = torch.tensor(np.stack(xs))
        frac = step / steps
        for g in opt.param_groups:
            g["lr"] = lr * min(1, (step + 1) / 100) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))
        y = net(z, lb)[:, 0]
        loss = stft_loss(torch, y, x, LOG_WEIGHT)
        opt.zero_grad(); loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step(); step += 1
        if step % 20 == 0:
            base = stft_loss(torch, lb[:, 0], x, LOG_WEIGHT).item()
            rec = {"step": step, "loss": round(loss.item(), 4), "codec_lowband": round(base, 4),
                   "s_per_step": round((time.time() - t0) / 20, 2)}
            print(json.dumps(rec), flush=True); log.write(json.dumps(rec) + "\n"); log.flush()
            t0 = time.time()
        if step % 200 == 0 or step == steps:
            torch.save({"net": net.state_dict(), "opt": opt.state_dict(), "step": step}, ckpt + ".tmp")
            os.replace(ckpt + ".tmp", ckpt)


def apply(out, k, dst):
    torch, LowBand = model_and_torch()
    books = read_safetensors("models/codec/model.safetensors")
    net = LowBand()
    net.load_state_dict(torch.load(checkpoint_path(out))["net"])
    net.eval()
    for sub in ("ref", "codec", "fixed"):
        os.makedirs(os.path.join(dst, sub), exist_ok=True)
    for name, d in load_items(out, "val"):
        y = d[f"k{k}"]
        lb = low(y)
        z = latent(d["codes"], books, k)
        n = z.shape[1] * FRAME
        lbp = np.pad(lb, (0, max(0, n - len(lb))))[:n]
        with torch.no_grad():
            p = net(torch.tensor(z)[None], torch.tensor(lbp)[None, None])[0, 0].numpy()
        fixed = y + up(p[:len(lb)] - lb, len(y))
        sf.write(os.path.join(dst, "ref", name + ".wav"), d["orig"], 22050)
        sf.write(os.path.join(dst, "codec", name + ".wav"), y, 22050)
        sf.write(os.path.join(dst, "fixed", name + ".wav"), np.clip(fixed, -1, 1), 22050)


def export(out, path):
    import torch
    state = torch.load(checkpoint_path(out))
    tensors = {k: v.detach().float().contiguous().numpy() for k, v in state["net"].items()}
    header, offset = {"__metadata__": {"model": "lowband-decoder-prototype", "down": str(DOWN), "residual": str(int(RESIDUAL)),
                                       "frame_blocks": str(FRAME_BLOCKS), "step": str(state["step"])}}, 0
    for k, v in tensors.items():
        header[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [offset, offset + v.nbytes]}
        offset += v.nbytes
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(len(raw).to_bytes(8, "little")); f.write(raw)
        for v in tensors.values():
            f.write(v.tobytes())
    os.replace(path + ".tmp", path)


def lowpass(x, down):
    return up(low(x, down), len(x), down)


def oracle(out, k, down, dst):
    for sub in ("ref", "codec", "oracle", "high-ref", "high-codec"):
        os.makedirs(os.path.join(dst, sub), exist_ok=True)
    for name, d in load_items(out, "val"):
        y, x = d[f"k{k}"], d["orig"]
        ly, lx = lowpass(y, down), lowpass(x, down)
        for sub, a in (("ref", x), ("codec", y), ("oracle", np.clip(y - ly + lx, -1, 1)), ("high-ref", x - lx), ("high-codec", y - ly)):
            sf.write(os.path.join(dst, sub, name + ".wav"), a, 22050)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "prep":
        prep(sys.argv[2], sys.argv[3], *map(int, sys.argv[4:6]))
    elif cmd == "train":
        train(sys.argv[2], steps=int(os.environ.get("STEPS", 4000)))
    elif cmd == "apply":
        apply(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif cmd == "export":
        export(sys.argv[2], sys.argv[3])
    elif cmd == "oracle":
        oracle(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
