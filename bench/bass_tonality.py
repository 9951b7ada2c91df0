#!/usr/bin/env python3
"""How note-like the bass of music clips is, per genre and pooled: the spectral flatness of the band
from 40 to 345 Hz (where the codec's bass stream codes the waveform) on a 4096-point STFT (5.4 Hz
bins, fine enough to resolve bass notes a semitone apart), frame by frame over the frames whose band
holds sound (within 50 dB of the clip's loudest), then the clip's median. A held bass note gives a
few sharp peaks (flatness near 0); rumble or a smeared bass line spreads its power over the band
(flatness toward 1). Also each clip's peak-to-band ratio: the share of the band's power in its
three strongest bins and their neighbours. The prior's card compares generated pieces with the
held-out real clips of their genres with it. Files are named GENRE-N.wav, as gen-eval music writes
them. Not part of the build, the tests or CI.

usage: python3 bench/bass_tonality.py NAME=DIR [NAME=DIR ...]
   e.g. python3 bench/bass_tonality.py real=/tmp/ab/shipped/real shipped=/tmp/ab/shipped/generated B=/tmp/ab/B/generated
"""
import glob
import os
import re
import sys

import numpy as np
import soundfile as sf

N_FFT, HOP, LOW, HIGH = 4096, 1024, 40.0, 345.0


def clip_scores(path):
    y, sr = sf.read(path, dtype="float64", always_2d=True)
    y = y.mean(axis=1)
    if sr != 22050 or len(y) < N_FFT:
        return None
    window = np.hanning(N_FFT)
    frames = np.lib.stride_tricks.sliding_window_view(y, N_FFT)[::HOP] * window
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    freqs = np.fft.rfftfreq(N_FFT, 1 / sr)
    band = power[:, (freqs >= LOW) & (freqs <= HIGH)] + 1e-20
    energy = band.sum(axis=1)
    keep = energy > energy.max() * 1e-5
    if keep.sum() < 3:
        return None
    band = band[keep]
    flatness = np.exp(np.log(band).mean(axis=1)) / band.mean(axis=1)
    top = np.sort(band, axis=1)[:, ::-1]
    peaks = top[:, :9].sum(axis=1) / band.sum(axis=1)   # three peaks with their two neighbours each, roughly
    return float(np.median(flatness)), float(np.median(peaks))


def scores(folder):
    out = {}
    for path in sorted(glob.glob(os.path.join(folder, "*.wav"))):
        m = re.match(r"(.+)-\d+\.wav$", os.path.basename(path))
        s = clip_scores(path) if m else None
        if s:
            out.setdefault(m.group(1), []).append(s)
    return out


def main():
    sets = [a.split("=", 1) for a in sys.argv[1:]]
    if not sets or any(len(s) != 2 for s in sets):
        sys.exit(__doc__)
    table = {name: scores(folder) for name, folder in sets}
    genres = sorted(set().union(*(t.keys() for t in table.values())))
    print("bass band %d-%d Hz, median over each clip's frames; per genre: flatness / peak share (clips)" % (LOW, HIGH))
    for name, _ in sets:
        t = table[name]
        pooled = [s for g in t.values() for s in g]
        if not pooled:
            print("%-10s no clips" % name)
            continue
        row = ", ".join("%s %.3f / %.2f" % (g, np.mean([s[0] for s in t[g]]), np.mean([s[1] for s in t[g]])) for g in genres if g in t)
        print("%-10s pooled flatness %.3f, peak share %.2f (%d clips): %s" % (
            name, np.mean([s[0] for s in pooled]), np.mean([s[1] for s in pooled]), len(pooled), row))


if __name__ == "__main__":
    main()
