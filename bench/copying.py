#!/usr/bin/env python3
"""Does the prior copy its training clips? The share of a clip's n-frame stretches of codebook-1 codes
(n = 16, 0.19 s, by default) that occur verbatim somewhere in the training clips' codes, for each
folder of generated codes (the NAME.codes.safetensors `gen-eval music` saves) and, as the baseline,
for the held-out clips of the corpus (real music the prior never saw, encoded by the same codec).
A prior that plays back what it learned by heart sits far above the held-out clips.

usage: python3 bench/copying.py CACHE METADATA.jsonl [--n 16] DIR...
  CACHE: a prior run's codes_cache.safetensors (clip.i = codes (K, T) of metadata line i, in order)
Not part of the build, the tests or CI.
"""
import argparse, glob, json, os, sys
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from code_stats import tensors   # the safetensors reader of bench/code_stats.py


def grams(seq, n):
    return {tuple(seq[i:i + n]) for i in range(len(seq) - n + 1)}


def share(seq, table, n):
    g = [tuple(seq[i:i + n]) for i in range(len(seq) - n + 1)]
    return sum(x in table for x in g) / max(len(g), 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cache"); ap.add_argument("metadata"); ap.add_argument("dirs", nargs="*")
    ap.add_argument("--n", type=int, default=16)
    a = ap.parse_args()
    splits = [json.loads(l)["split"] for l in open(a.metadata)]
    cache = tensors(a.cache)
    train, val = set(), []
    for i, s in enumerate(splits):
        c0 = cache[f"clip.{i}"][0]
        if s == "train":
            train |= grams(c0.tolist(), a.n)
        else:
            val.append(c0)
    v = [share(c.tolist(), train, a.n) for c in val]
    print(f"n = {a.n} frames; {len(train)} distinct training {a.n}-grams of codebook 1")
    print(f"{'held-out clips':40} {len(v):4d} clips: mean {np.mean(v):.3f}, max {np.max(v):.3f}")
    for d in a.dirs:
        s = [share(tensors(p)["codes"][0].tolist(), train, a.n) for p in sorted(glob.glob(os.path.join(d, "*.codes.safetensors")))]
        print(f"{d[-40:]:40} {len(s):4d} clips: mean {np.mean(s):.3f}, max {np.max(s):.3f}")


if __name__ == "__main__":
    main()
