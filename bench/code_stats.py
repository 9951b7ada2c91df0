#!/usr/bin/env python3
"""How codes move from frame to frame, per folder of codes files (numpy only; not part of the build).

usage: python3 bench/code_stats.py [--codec models/codec] [--codebooks 4] DIR...

Each DIR holds codes files (`gen encode … -o X.safetensors`, or the NAME.codes.safetensors that
`gen-eval music` saves beside each generated clip: the codes the prior drew). Printed per DIR:
  - how often each codebook's code equals the previous frame's (the prior's card quotes the
    training codes: about 60 / 33 / 23 / 15 % for the first 4 codebooks);
  - the longest run of one codebook-1 code per file (median, 90th percentile, seconds);
  - the quantized latent z_t (the sum of the chosen codewords of the first K codebooks, as the
    decoder reads it): its mean frame-to-frame step |z_t − z_{t−1}| relative to mean |z_t|, and
    the mean cosine between z_t and z_{t+0.5 s} (how much of a frame is still there half a
    second later: the held-note question asked of the codes rather than of the audio).
"""
import argparse, glob, json, os, struct
import numpy as np


def tensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, v in header.items():
        if name == "__metadata__":
            continue
        start, end = v["data_offsets"]
        dtype = {"I32": np.int32, "F32": np.float32}[v["dtype"]]
        out[name] = np.frombuffer(raw[8 + n + start:8 + n + end], dtype=dtype).reshape(v["shape"])
    return out


def cosine(a, b):
    return float((np.sum(a * b, 1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-9)).mean())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--codec", default="models/codec")
    ap.add_argument("--codebooks", type=int, default=4)
    a = ap.parse_args()
    weights = tensors(os.path.join(a.codec, "model.safetensors"))
    config = json.load(open(os.path.join(a.codec, "config.json")))
    frame_rate = config.get("sample_rate", 22050) / config.get("hop", 256)
    lag = int(round(0.5 * frame_rate))
    books = [weights["quantizer.%d.codebook" % q] for q in range(a.codebooks)]
    for d in a.dirs:
        repeats, runs, steps, held = [], [], [], []
        for path in sorted(glob.glob(os.path.join(d, "*.safetensors"))):
            codes = next(iter(tensors(path).values()))
            if codes.ndim != 2 or codes.shape[0] < a.codebooks or codes.shape[1] <= lag:
                continue
            codes = codes[:a.codebooks]
            repeats.append((codes[:, 1:] == codes[:, :-1]).mean(axis=1))
            change = np.flatnonzero(np.diff(codes[0]) != 0)
            edges = np.concatenate([[-1], change, [codes.shape[1] - 1]])
            runs.append(np.diff(edges).max() / frame_rate)
            z = sum(books[q][codes[q]] for q in range(a.codebooks))
            steps.append(np.linalg.norm(np.diff(z, axis=0), axis=1).mean() / np.linalg.norm(z, axis=1).mean())
            held.append(cosine(z[:-lag], z[lag:]))
        if not repeats:
            print("%s: no codes files with %d codebooks and over 0.5 s" % (d, a.codebooks))
            continue
        r = np.mean(repeats, axis=0)
        print("%s  files %d  repeat rate per codebook %s  longest codebook-1 run median %.2f s, p90 %.2f s  "
              "latent step %.3f  cos(z_t, z_t+0.5s) %.3f" % (d, len(repeats), " / ".join("%.3f" % x for x in r),
              np.median(runs), np.percentile(runs, 90), np.mean(steps), np.mean(held)))


if __name__ == "__main__":
    main()
