#!/bin/sh
# How a prior continues real music: each of the first N held-out clips of every genre primes
# `gen music` (its genre and band, PRIME seconds of the clip, 10 s in all, the shipped sampling
# defaults), and ../shared/eval/music_tonality.py scores what the prior added (from PRIME s to the
# end) beside the same span of the clip's own codec round trip (the prior's 4 main codebooks, as
# `gen music` decodes them). A prior whose one-step predictions are sound but whose own draws lead
# it away from music (exposure bias) shows it here: the continuation is flatter than the span it
# stands in for. Not part of the build, the tests or CI.
#
# usage (from the repository root, after `swift build -c release --product gen`):
#   bench/continuation.sh OUT MODELS [N] [PRIME]     e.g. bench/continuation.sh /tmp/cont models 2 4
set -e
out=${1:?usage: bench/continuation.sh OUT MODELS [N] [PRIME]}; models=${2:?MODELS}; n=${3:-2}; prime=${4:-4}
held_out=${MUSIC_HELDOUT:-data/music-heldout}
eval_dir=${EVAL_DIR:-../shared/eval}
gen=.build/release/gen
mkdir -p "$out/gen" "$out/roundtrip" "$out/full"
python3 - "$held_out" "$n" > "$out/clips.tsv" <<'PY'
import json, sys
held, n = sys.argv[1], int(sys.argv[2])
taken = {}
for line in open(held + "/metadata.jsonl"):
    d = json.loads(line)
    if d["length"] < 10 or taken.get(d["genre"], 0) >= n:
        continue
    taken[d["genre"]] = taken.get(d["genre"], 0) + 1
    print("\t".join([d["id"], held + "/" + d["file"], d["genre"], d["artist"]]))
PY
i=0
while IFS="$(printf '\t')" read -r id file genre artist; do
  i=$((i + 1))
  [ -f "$out/roundtrip/$id.wav" ] || "$gen" codec "$file" --no-bass-stream --codebooks 4 -o "$out/full/rt-$id.wav" --quiet > /dev/null
  sox "$out/full/rt-$id.wav" "$out/roundtrip/$id.wav" trim "$prime" "$((10 - prime))"
  "$gen" music --models-dir "$models" --genre "$genre" --artist "$artist" --prime "$file" --prime-seconds "$prime" \
      --duration 10 --seed "$i" -o "$out/full/$id.wav" --quiet > /dev/null
  sox "$out/full/$id.wav" "$out/gen/$id.wav" trim "$prime" "$((10 - prime))"
done < "$out/clips.tsv"
python3 "$eval_dir/music_tonality.py" "$out/roundtrip" "$out/gen" | tee "$out/tonality.txt"
