#!/bin/sh
# Which band makes which genre noisy: samples every (genre, band) pair of the prior's genre_artists
# with `gen music --genre G --artist B --duration 10 --samples N --seed SEED`, then scores each pair's
# clips with ../shared/eval/music_tonality.py's own statistics (the first 10 s of each file) against
# the held-out real clips of the genre and of that band playing it (from MUSIC_HELDOUT's
# metadata.jsonl, default data/music-heldout). One line per pair: flatness and HPR of the generated
# clips, of the band's real clips and of the genre's, and the generated-to-genre flatness ratio and
# HPR difference that the tonality target judges. The prior's card (section "Waltz without Old Town
# Brass, on the new reference") used it to find the one pair far off the rest. Not part of the
# build, the tests or CI; about 5 minutes of 2 cores at N = 8.
#
# usage (from the repository root, after `swift build -c release --product gen`):
#   bench/band_tonality.sh OUT N SEED [gen music flags...]
#   e.g. bench/band_tonality.sh /tmp/bands 8 500
#        bench/band_tonality.sh /tmp/bands-cfg2 8 500 --cfg 2
set -e
out=${1:?usage: bench/band_tonality.sh OUT N SEED [gen music flags...]}; n=${2:?N}; seed=${3:?SEED}; shift 3
eval_dir=${EVAL_DIR:-../shared/eval}
models=${GEN_MODELS:-models}
held_out=${MUSIC_HELDOUT:-data/music-heldout}
[ -f "$held_out/metadata.jsonl" ] || { echo "no $held_out/metadata.jsonl: make data/music-heldout/metadata.jsonl" >&2; exit 2; }
mkdir -p "$out"
python3 -c 'import json, sys
for g, bands in sorted((json.load(open(sys.argv[1])).get("genre_artists") or {}).items()):
    for b in bands: print(g + "\t" + b)' "$models/prior/config.json" > "$out/pairs.tsv"
[ -s "$out/pairs.tsv" ] || { echo "$models/prior/config.json lists no genre_artists" >&2; exit 2; }
while IFS="$(printf '\t')" read -r genre band; do
  dir="$out/$genre/$(echo "$band" | tr ' ' '_')"
  mkdir -p "$dir"
  .build/release/gen music --models-dir "$models" --genre "$genre" --artist "$band" --duration 10 \
      --seed "$seed" --samples "$n" --quiet -o "$dir/piece.wav" "$@" < /dev/null > /dev/null \
      || { echo "gen music failed for $genre / $band" >&2; exit 1; }
done < "$out/pairs.tsv"
python3 - "$eval_dir" "$held_out" "$out" <<'PY'
import glob, json, os, sys
import numpy as np
sys.path.insert(0, "bench")
from tonality_intervals import load_stats   # music_tonality.py's own statistics, imported from EVAL_DIR
eval_dir, held_out, out = sys.argv[1:4]
stats = load_stats(eval_dir)
real = {}
for line in open(os.path.join(held_out, "metadata.jsonl")):
    clip = json.loads(line)
    real.setdefault((clip["genre"], clip["artist"]), []).append(os.path.join(held_out, clip["file"]))
def mean(files):
    s = np.array([stats(f)[:2] for f in files]); return s[:, 0].mean(), s[:, 1].mean()
print("%-8s %-28s %-16s %-16s %-16s %s" % ("genre", "band", "gen flat / HPR", "band real", "genre real", "gen / genre"))
genre_real = {}
for line in open(os.path.join(out, "pairs.tsv")):
    genre, band = line.rstrip("\n").split("\t")
    if genre not in genre_real:
        genre_real[genre] = mean(sum((v for (g, _), v in real.items() if g == genre), []))
    gf, gh = genre_real[genre]
    flat, hpr = mean(sorted(glob.glob(os.path.join(out, genre, band.replace(" ", "_"), "*.wav"))))
    own = "%.4f / %5.2f" % mean(real[(genre, band)]) if (genre, band) in real else "none held out"
    print("%-8s %-28s %.4f / %5.2f   %-16s %.4f / %5.2f   %.2fx %+.1f dB" % (genre, band, flat, hpr, own, gf, gh, flat / gf, hpr - gh))
PY
