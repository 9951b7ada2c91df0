#!/usr/bin/env python3
"""Does music follow the chords it was asked for? For each clip: librosa's CQT chroma, and at every
chroma frame the pitch-class template of the chord sounding then (the chord timing of
Sources/Music/ChordTrack.swift: repeating bars, a bar's chords sharing its beats as MMA shares a
chord line's). The score is the mean cosine between chroma and template. The control is the same
clip scored against the same chords transposed by 1..11 semitones (same rhythm of changes, wrong
notes): a clip that follows its chords scores above its own transpositions. Prints per genre and
pooled: mean score, mean control, and the share of clips above their control mean.

Sources of chords:
  gen DIR        a `gen-eval music` output folder: DIR/generated/grids.jsonl names each clip's
                 bar_seconds, beats_per_bar and chords (a prior with chords writes them)
  corpus DIR S   a corpus (`gen dataset music`): the first S seconds of each validation clip, its
                 chords from its metadata's key and progression, the progression's notation read
                 from Sources/Music/MusicCatalog.swift (the reference: real music on known chords)

Not part of the build, the tests or CI.
"""
import json, os, re, sys
import numpy as np
import librosa

QUALITIES = {"": [0, 4, 7], "m": [0, 3, 7], "7": [0, 4, 7, 10], "maj7": [0, 4, 7, 11], "m7": [0, 3, 7, 10],
             "6": [0, 4, 7, 9], "m6": [0, 3, 7, 9], "m7b5": [0, 3, 6, 10], "dim7": [0, 3, 6, 9],
             "7b9": [0, 4, 7, 10, 1], "9": [0, 4, 7, 10, 2], "m9": [0, 3, 7, 10, 2], "7#9": [0, 4, 7, 10, 3]}
LETTERS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
SR, HOP = 22050, 512


def parse_chord(token):
    root = LETTERS[token[0].upper()]
    rest = token[1:]
    if rest[:1] in ("#", "b"):
        root += 1 if rest[0] == "#" else -1
        rest = rest[1:]
    return root % 12, QUALITIES[rest]


def parse_track(text):
    return [[parse_chord(t) for t in bar.split()] for bar in text.split("|")]


def chord_at(bars, t, bar_seconds, beats):
    x = max(0.0, t) / bar_seconds
    whole = int(np.floor(x))
    bar = bars[whole % len(bars)]
    each = max(1, beats // len(bar))
    beat = int((x - whole) * beats)
    return bar[min(len(bar) - 1, beat // each)]


def score(path, bars, bar_seconds, beats, seconds=None):
    y, _ = librosa.load(path, sr=SR, mono=True, duration=seconds)
    chroma = librosa.feature.chroma_cqt(y=y, sr=SR, hop_length=HOP)          # (12, F)
    times = librosa.frames_to_time(np.arange(chroma.shape[1]), sr=SR, hop_length=HOP)
    norms = np.linalg.norm(chroma, axis=0) + 1e-9
    def mean_cos(shift):
        total = 0.0
        for f, t in enumerate(times):
            root, ivs = chord_at(bars, t, bar_seconds, beats)
            tpl = np.zeros(12)
            tpl[[(root + shift + i) % 12 for i in ivs]] = 1
            total += chroma[:, f] @ tpl / (norms[f] * np.linalg.norm(tpl))
        return total / len(times)
    return mean_cos(0), float(np.mean([mean_cos(s) for s in range(1, 12)]))


def catalogue():
    src = open(os.path.join(os.path.dirname(__file__), "..", "Sources", "Music", "MusicCatalog.swift")).read()
    out = {}
    for block in re.finditer(r'Genre\(name: "(\w+)"(.*?)words:', src, re.S):
        genre = block.group(1)
        for name, notation in re.findall(r'Progression\("([^"]+)", \.\w+, "([^"]+)"\)', block.group(2)):
            out[(genre, name)] = notation
    return out


def degree(token):
    shift = 0
    while token and token[0] in "b#":
        shift += -1 if token[0] == "b" else 1
        token = token[1:]
    return {"I": 0, "II": 2, "III": 4, "IV": 5, "V": 7, "VI": 9, "VII": 11}[token.upper()] + shift


def corpus_track(notation, key):
    tonic_name = key.split()[0]
    names = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
    flats = ["C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B"]
    tonic = names.index(tonic_name) if tonic_name in names else flats.index(tonic_name)
    bars = []
    for bar in notation.split("|"):
        chords = []
        for tok in bar.split():
            deg, _, q = tok.partition(":")
            chords.append(((tonic + degree(deg)) % 12, QUALITIES[q]))
        bars.append(chords)
    return bars


def main():
    rows = []   # (genre, matched, control)
    if len(sys.argv) >= 3 and sys.argv[1] == "gen":
        d = os.path.join(sys.argv[2], "generated")
        for line in open(os.path.join(d, "grids.jsonl")):
            g = json.loads(line)
            if "chords" not in g:
                sys.exit(f"{d}/grids.jsonl names no chords: the prior did not read any")
            m, c = score(os.path.join(d, g["file"]), parse_track(g["chords"]), g["bar_seconds"], g["beats_per_bar"])
            rows.append((re.sub(r"-\d+\.wav$", "", g["file"]), m, c))
    elif len(sys.argv) >= 4 and sys.argv[1] == "corpus":
        cat, d, seconds = catalogue(), sys.argv[2], float(sys.argv[3])
        for line in open(os.path.join(d, "metadata.jsonl")):
            m = json.loads(line)
            if m["split"] != "val" or (m["genre"], m.get("progression")) not in cat:
                continue
            n, dd = (int(x) for x in m["time_signature"].split("/"))
            beats = n // 3 if dd == 8 and n % 3 == 0 and n > 3 else n      # MusicRequest.beatsPerBar
            bars = corpus_track(cat[(m["genre"], m["progression"])], m["key"])
            s, c = score(os.path.join(d, m["file"]), bars, m["bar_seconds"], beats, seconds)
            rows.append((m["genre"], s, c))
    else:
        sys.exit(__doc__)
    print(f"{'genre':8} {'clips':>5} {'matched':>8} {'control':>8} {'above':>6}")
    for g in sorted({r[0] for r in rows}) + ["all"]:
        sel = [r for r in rows if g == "all" or r[0] == g]
        m, c = np.mean([r[1] for r in sel]), np.mean([r[2] for r in sel])
        above = sum(r[1] > r[2] for r in sel)
        print(f"{g:8} {len(sel):5d} {m:8.3f} {c:8.3f} {above:3d}/{len(sel)}")


if __name__ == "__main__":
    main()
