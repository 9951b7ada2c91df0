#!/usr/bin/env python3
"""Are a folder's percussive parts drum hits or a steady haze? A companion to music_tonality.py.

music_tonality.py's harmonic-to-percussive ratio counts as percussive every part of the spectrum
that does not hold still along time (librosa's HPSS): drum hits, but also a broadband hiss that
changes from frame to frame. So a generated clip whose drums are weak but whose noise floor is
high can show real music's ratio for the wrong reason. This splits the same percussive part
(HPSS of the magnitude STFT, n_fft 2048, hop 512, as music_tonality.py) into its time profile:
for each clip, the percussive energy of each frame, and

  peak_db   its 95th percentile over its median, in dB: hits stand far above the floor between
            them (real drums), a haze does not;
  top10     the share of the clip's percussive energy in its loudest 10% of frames.

Prints per folder the mean of each over the clips (first 10 s, non-silent clips).

usage: bench/percussive_peaks.py DIR [DIR ...]
Needs numpy and librosa (as ../shared/eval/music_tonality.py).
"""
import os
import sys
import warnings

warnings.filterwarnings("ignore")
import librosa  # noqa: E402
import numpy as np  # noqa: E402

SR = 22050


def profile(path):
    x, _ = librosa.load(path, sr=SR, mono=True, duration=10)
    S = np.abs(librosa.stft(x, n_fft=2048, hop_length=512))
    _, P = librosa.decompose.hpss(S)
    e = (P ** 2).sum(axis=0)
    if e.max() <= 0:
        return None
    peak = 10 * np.log10(np.percentile(e, 95) / max(np.median(e), 1e-12))
    top = np.sort(e)[::-1][: max(1, len(e) // 10)].sum() / e.sum()
    return peak, top


def main():
    dirs = sys.argv[1:]
    if not dirs:
        sys.exit(__doc__)
    print(f"{'folder':36s} {'n':>4s} {'peak_db':>8s} {'top10':>6s}")
    for d in dirs:
        rows = [profile(os.path.join(d, f)) for f in sorted(os.listdir(d)) if f.endswith(".wav")]
        rows = [r for r in rows if r is not None]
        if not rows:
            print(f"{d[-36:]:36s}    0")
            continue
        m = np.mean(rows, axis=0)
        print(f"{d[-36:]:36s} {len(rows):4d} {m[0]:8.2f} {m[1]:6.3f}")


if __name__ == "__main__":
    main()
