#!/usr/bin/env python3
"""How long a folder of clips holds one spectrum: the prior's held-note tendency, measured.

For each clip (its first 10 s, 22050 Hz mono) the 64-band log-mel (dB, floored 60 dB under the
clip's peak, each frame's mean removed) of every frame is correlated with the frame LAG seconds
later; the clip's score is the longest stretch in which that correlation stays above THRESHOLD
(the stretch counts the lag too). Real music changes chord or texture within about a second; an
autoregressive prior that freezes holds one spectrum for seconds. Prints per folder the median and
90th percentile of the clips' scores and how many clips hold one spectrum for 3 s or more.

usage: bench/held_spectra.py DIR [DIR ...] [--threshold 0.9] [--lag 0.5]
  e.g. bench/held_spectra.py out/eval-music/real out/eval-music/generated

Needs numpy, soundfile and librosa (as ../shared/eval/music_tonality.py).
Measured 2026-12-02 (models/prior/MODEL_CARD.md): real held-out clips median 0.65 s, their round
trips through the codec's first 4 codebooks 0.77 s, the shipped prior's clips at cfg 3 0.86 s.
"""
import argparse
import glob
import os

import librosa
import numpy as np
import soundfile as sf

SR, HOP = 22050, 512


def longest_held(path, threshold, lag_s):
    x, sr = sf.read(path, dtype="float32", always_2d=True)
    x = x.mean(axis=1)
    if sr != SR:
        x = librosa.resample(x, orig_sr=sr, target_sr=SR)
    x = x[: 10 * SR]
    lag = max(1, int(round(lag_s * SR / HOP)))
    mel = librosa.feature.melspectrogram(y=x, sr=SR, n_fft=2048, hop_length=HOP, n_mels=64, fmax=8000)
    m = np.maximum(librosa.power_to_db(mel, ref=np.max), -60.0)
    m = m - m.mean(axis=0, keepdims=True)
    if m.shape[1] <= lag:
        return 0.0
    a, b = m[:, :-lag], m[:, lag:]
    corr = (a * b).sum(0) / np.sqrt((a * a).sum(0) * (b * b).sum(0) + 1e-9)
    run = best = 0
    for c in corr:
        run = run + 1 if c > threshold else 0
        best = max(best, run)
    return (best + lag) * HOP / SR if best else 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--threshold", type=float, default=0.9)
    ap.add_argument("--lag", type=float, default=0.5, help="seconds between the frames compared")
    a = ap.parse_args()
    for d in a.dirs:
        files = sorted(glob.glob(os.path.join(d, "*.wav")))
        if not files:
            raise SystemExit(f"held_spectra.py: no .wav files in {d}")
        s = np.array([longest_held(f, a.threshold, a.lag) for f in files])
        print("%-40s n=%4d  longest held spectrum: median %.2f s, 90th percentile %.2f s, >= 3 s in %d (%.0f%%)"
              % (d, len(s), np.median(s), np.percentile(s, 90), (s >= 3).sum(), 100 * (s >= 3).mean()))


if __name__ == "__main__":
    main()
