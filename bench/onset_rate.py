#!/usr/bin/env python3
"""Onsets per second of music clips, per genre and pooled, by librosa's detector (onset_detect at its
defaults: spectral flux on a log-mel spectrogram, hop 512): how many drum strokes and note attacks a
clip holds. The prior's card compares generated pieces with the held-out real clips of their genres
with it (the priors held 9-30% fewer onsets than real in blues, country and march). Files are named
GENRE-N.wav, as gen-eval music writes them. Where a folder holds gen-eval's grids.jsonl with the onset
density each piece was asked for (a prior trained with --onset-density), it also prints how closely the
pieces follow it. Not part of the build, the tests or CI.

usage: python3 bench/onset_rate.py NAME=DIR [NAME=DIR ...]
   e.g. python3 bench/onset_rate.py real=/tmp/ab/shipped/real shipped=/tmp/ab/shipped/generated D=/tmp/ab/D/generated
"""
import glob
import json
import os
import re
import sys

import librosa
import numpy as np


def rates(folder, per_file=None):
    out = {}
    for path in sorted(glob.glob(os.path.join(folder, "*.wav"))):
        m = re.match(r"(.+)-\d+\.wav$", os.path.basename(path))
        if not m:
            continue
        y, sr = librosa.load(path, sr=22050, mono=True)
        if len(y) < sr:
            continue
        n = len(librosa.onset.onset_detect(y=y, sr=sr))
        out.setdefault(m.group(1), []).append(n / (len(y) / sr))
        if per_file is not None:
            per_file[os.path.basename(path)] = n / (len(y) / sr)
    return out


def asked(folder, measured):
    """(asked, measured) onsets per second of the pieces whose grids.jsonl (gen-eval music) names
    the onset density they were asked for (a prior with onset_density draws one per piece)."""
    path = os.path.join(folder, "grids.jsonl")
    if not os.path.exists(path):
        return []
    pairs = []
    for line in open(path):
        g = json.loads(line)
        if "onset_density" in g and g["file"] in measured:
            pairs.append((g["onset_density"], measured[g["file"]]))
    return pairs


def main(args):
    if not args or any("=" not in a for a in args):
        sys.exit(__doc__)
    table, follows = {}, {}
    for name, folder in (a.split("=", 1) for a in args):
        measured = {}
        table[name] = rates(folder, measured)
        follows[name] = asked(folder, measured)
    genres = sorted(set().union(*[set(t) for t in table.values()]))
    print("%-10s" % "onsets/s" + "".join("%10s" % g[:9] for g in genres) + "%10s" % "pooled")
    for name, t in table.items():
        cells = ["%10.2f" % np.mean(t[g]) if g in t else "%10s" % "-" for g in genres]
        pooled = [r for g in t for r in t[g]]
        print("%-10s" % name[:10] + "".join(cells) + "%10.2f" % (np.mean(pooled) if pooled else float("nan")))
    for name, pairs in follows.items():
        if len(pairs) >= 3:
            a, m = np.array(pairs).T
            slope = np.polyfit(a, m, 1)[0]
            print("%s: %d pieces asked for a density: correlation of asked with measured %.2f, slope %.2f, "
                  "asked mean %.2f, measured mean %.2f" % (name, len(pairs), np.corrcoef(a, m)[0, 1], slope, a.mean(), m.mean()))


if __name__ == "__main__":
    main(sys.argv[1:])
