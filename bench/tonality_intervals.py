#!/usr/bin/env python3
"""Per-genre tonality of generated clips against real ones, with bootstrap intervals.

    python3 bench/tonality_intervals.py EVAL_DIR TONALITY_DIR

TONALITY_DIR holds folders gen-GENRE and real-GENRE (as `make eval-music` lays them out). Each clip is
scored with ../shared/eval/music_tonality.py's own statistics (imported from EVAL_DIR, so the means are
the numbers music_tonality.py prints for the same folders); then, per genre, the flatness ratio
(generated / real) and the HPR difference (generated - real, dB) with a 90% bootstrap interval that
resamples the generated and the real clips alike (2,000 draws, seed 0), and whether each target
(flatness <= 2x, HPR within 2 dB) is met by the mean and by the whole interval. With 5-10 generated
clips and 30 real windows a genre, a verdict whose interval straddles its bound is not one the run can
make. Not part of the build, the tests or CI.
"""
import importlib.util
import os
import sys

import numpy as np


def load_stats(eval_dir):
    spec = importlib.util.spec_from_file_location("music_tonality", os.path.join(eval_dir, "music_tonality.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.stats


def clips(stats, folder):
    return np.array([stats(os.path.join(folder, f))[:2] for f in sorted(os.listdir(folder)) if f.endswith(".wav")])


def interval(gen, real, rng, draws=2000):
    ratio, diff = [], []
    for _ in range(draws):
        g = gen[rng.integers(0, len(gen), len(gen))].mean(axis=0)
        r = real[rng.integers(0, len(real), len(real))].mean(axis=0)
        ratio.append(g[0] / r[0]); diff.append(g[1] - r[1])
    return np.percentile(ratio, [5, 95]), np.percentile(diff, [5, 95])


def verdict(mean, low, high, ok):
    return "met" if ok(low) and ok(high) else "not met" if not ok(low) and not ok(high) else ("met?" if ok(mean) else "not met?")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    stats = load_stats(sys.argv[1])
    root = sys.argv[2]
    genres = sorted(d[4:] for d in os.listdir(root) if d.startswith("gen-") and d != "gen-all" and os.path.isdir(os.path.join(root, "real-" + d[4:])))
    rng = np.random.default_rng(0)
    print("%-8s %4s %4s  %-28s %-30s" % ("genre", "gen", "real", "flatness ratio [90%] (<= 2x)", "HPR difference dB [90%] (within 2)"))
    flat_met = hpr_met = 0
    pooled = ([], [])
    for g in genres + ["all"]:
        if g == "all":   # every genre's clips together, as music_tonality.py scores gen-all and real-all
            gen, real = np.concatenate(pooled[0]), np.concatenate(pooled[1])
        else:
            gen, real = clips(stats, os.path.join(root, "gen-" + g)), clips(stats, os.path.join(root, "real-" + g))
            if len(gen) == 0 or len(real) == 0:
                continue
            pooled[0].append(gen); pooled[1].append(real)
        ratio = gen[:, 0].mean() / real[:, 0].mean(); diff = gen[:, 1].mean() - real[:, 1].mean()
        (rl, rh), (dl, dh) = interval(gen, real, rng)
        fv = verdict(ratio, rl, rh, lambda x: x <= 2); hv = verdict(diff, min(abs(dl), abs(dh)) if dl * dh > 0 else 0, max(abs(dl), abs(dh)), lambda x: abs(x) <= 2)
        if g != "all":
            flat_met += ratio <= 2; hpr_met += abs(diff) <= 2
        print("%-8s %4d %4d  %5.2fx [%4.2f, %4.2f] %-9s %+5.1f [%+5.1f, %+5.1f] %s" % (g, len(gen), len(real), ratio, rl, rh, fv, diff, dl, dh, hv))
    print("by the means: flatness <= 2x in %d of %d genres, HPR within 2 dB in %d of %d ('?': the interval straddles the bound)"
          % (flat_met, len(genres), hpr_met, len(genres)))


if __name__ == "__main__":
    main()
