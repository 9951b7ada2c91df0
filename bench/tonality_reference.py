#!/usr/bin/env python3
"""The tonality check of `make eval-music` against a larger real reference.

gen-eval music's real clips are the held-out clips of one corpus: 48 windows of 10 s, as few as
3 for some genres, where one clip moves the genre's harmonic-to-percussive ratio by decibels.
This cuts the held-out clips of every corpus named (each split by the same held-out progressions
and lyric lines, so none of them was trained on) into windows of the same length, sets the
generated clips of each genre beside them, runs ../shared/eval/music_tonality.py once, and prints
each genre's flatness ratio and HPR difference.

usage: bench/tonality_reference.py OUT EVAL_DIR GENERATED_DIR CORPUS [CORPUS ...]
"""
import json
import os
import shutil
import subprocess
import sys

import soundfile as sf


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    out, eval_dir, generated, corpora = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    shutil.rmtree(out, ignore_errors=True)
    counts = {}
    for corpus in corpora:
        for line in open(os.path.join(corpus, "metadata.jsonl")):
            clip = json.loads(line)
            if clip["split"] != "val":
                continue
            audio, rate = sf.read(os.path.join(corpus, clip["file"]), always_2d=True)
            audio = audio.mean(axis=1)
            window = 10 * rate
            for start in range(0, len(audio) - window + 1, window):
                genre = clip["genre"]
                counts[genre] = counts.get(genre, 0) + 1
                os.makedirs(os.path.join(out, "real-" + genre), exist_ok=True)
                sf.write(os.path.join(out, "real-" + genre, "%d.wav" % counts[genre]), audio[start:start + window], rate)
    for genre in counts:
        os.makedirs(os.path.join(out, "gen-" + genre), exist_ok=True)
        for name in os.listdir(generated):
            # the genre-only clips (GENRE-SEED.wav), as the per-genre rows of make eval-music
            stem = name[:-4]
            if name.endswith(".wav") and stem.rsplit("-", 1)[0] == genre and stem.rsplit("-", 1)[1].isdigit():
                shutil.copy(os.path.join(generated, name), os.path.join(out, "gen-" + genre))
    folders = sorted(os.path.join(out, d) for d in os.listdir(out))
    table = subprocess.run([sys.executable, os.path.join(eval_dir, "music_tonality.py")] + folders,
                           check=True, capture_output=True, text=True).stdout
    print("real reference: %d windows of 10 s from the held-out clips of %s" % (sum(counts.values()), ", ".join(corpora)))
    print(table, end="")
    rows = {l.split()[0].rstrip("/").rsplit("/", 1)[-1]: l.split() for l in table.splitlines() if l.split()}
    within = 0
    for genre in sorted(counts):
        g, r = rows.get("gen-" + genre), rows.get("real-" + genre)
        if not g or not r or g[1] == "0":
            continue
        flat, hpr = float(g[2]) / float(r[2]), float(g[3]) - float(r[3])
        within += abs(hpr) <= 2
        print("%10s: flatness %.2fx real, HPR %+.1f dB vs real (targets <= 2x, within 2 dB; %s real windows)" % (genre, flat, hpr, r[1]))
    print("HPR within 2 dB in %d of %d genres" % (within, len(counts)))


if __name__ == "__main__":
    main()
