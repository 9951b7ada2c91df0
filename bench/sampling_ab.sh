#!/bin/sh
# Sampling settings of the prior side by side, on the same seeds: what the prior's card calls "the
# make eval-music recipe" for pieces without lyrics, once per setting. For each NAME=ARGS pair it runs
# `gen-eval music --genre-only --seam-seconds 0` with ARGS (gen-eval flags, e.g. "--cfg-plausibility
# 0.003"; "" for the shipped defaults), then ../shared/eval/music_tonality.py per genre against the
# corpus's held-out windows, bench/held_spectra.py, and gen's tagger (genre and vocals > 0.5), and
# prints one line per setting, its genres' flatness and HPR against real, and how far past the issue's
# lines (2x, 2 dB) they fall. Not part of the build, the tests or CI; it costs about 4 minutes of 2
# cores per 80 pieces.
#
# usage (from the repository root, after `swift build -c release --product gen --product gen-eval`):
#   [REUSE=1] bench/sampling_ab.sh OUT SEEDS OFFSET NAME=ARGS [NAME=ARGS ...]
#   e.g. bench/sampling_ab.sh /tmp/ab 10 7000 shipped= plausible="--cfg-plausibility 0.003"
# Rule of the prior's card: fix what counts as better before the draw, and draw fresh seeds
# (OFFSET) for the test once a pilot has picked the setting. The real reference is the held-out
# corpus MUSIC_HELDOUT (default data/music-heldout, `make data/music-heldout/metadata.jsonl`), as in
# `make eval-music`; without it, data/music's own few held-out clips (2-7 a genre).
set -e
out=${1:?usage: bench/sampling_ab.sh OUT SEEDS OFFSET NAME=ARGS ...}; seeds=${2:?SEEDS}; offset=${3:?OFFSET}; shift 3
[ $# -gt 0 ] || { echo "give at least one NAME=ARGS (NAME= alone for the defaults)" >&2; exit 2; }
eval_dir=${EVAL_DIR:-../shared/eval}
data=${MUSIC_DATA:-data/music}
held_out=${MUSIC_HELDOUT:-data/music-heldout}
if [ -f "$held_out/metadata.jsonl" ]; then reference="--held-out $held_out"; else
  reference=""; echo "no $held_out: the real reference is $data's own held-out clips (2-7 a genre)" >&2; fi
mkdir -p "$out"
for pair in "$@"; do
  name=${pair%%=*}; args=${pair#*=}
  o="$out/$name"
  # REUSE=1: a setting whose pieces were drawn and scored by an earlier call into the same OUT is
  # summarised again, not drawn again (draw the reference while a candidate trains, the candidate after).
  if [ "${REUSE:-0}" = 1 ] && [ -s "$o/tags.jsonl" ]; then continue; fi
  # shellcheck disable=SC2086  # ARGS is a list of flags; $reference is empty or one flag and its folder
  .build/release/gen-eval music --data "$data" $reference --models models --out "$o" --genre-only --seam-seconds 0 \
      --seeds "$seeds" --seed-offset "$offset" $args > "$o.log" 2>&1 || { echo "$name: gen-eval failed, see $o.log" >&2; exit 1; }
  t="$o/tonality"; rm -rf "$t"
  for g in $(ls "$o/real" | sed 's/-[0-9]*\.wav$//' | sort -u); do
    mkdir -p "$t/real-$g" "$t/gen-$g" "$t/real-all" "$t/gen-all"
    cp "$o/real/$g"-[0-9]*.wav "$t/real-$g/"; cp "$o/real/$g"-[0-9]*.wav "$t/real-all/"
    cp "$o/generated/$g"-[0-9]*.wav "$t/gen-$g/" 2>/dev/null || true
    cp "$o/generated/$g"-[0-9]*.wav "$t/gen-all/" 2>/dev/null || true
  done
  python3 "$eval_dir/music_tonality.py" $(ls -d "$t"/*-* | sort -t- -k2) > "$o/tonality.txt"
  python3 bench/held_spectra.py "$t/real-all" "$t/gen-all" > "$o/held.txt"
  .build/release/gen tag "$o"/generated/*-[0-9]*.wav --json --quiet > "$o/tags.jsonl"
done
python3 - "$out" "$@" <<'PY'
import json, os, re, sys
out = sys.argv[1]
FLAT_LINE, HPR_LINE = 2, 2   # issue 14: flatness <= 2x real, HPR within 2 dB of real, per genre
print("%-14s %-7s %-7s %-9s %-9s %-16s %-9s %-9s %s" % ("setting", "probe", "tagger", "vocals p", "vocals t",
      "flat / HPR pool", "flat<=2x", "HPR<=2dB", "held median / p90 (real)"))
for pair in sys.argv[2:]:
    name = pair.split("=", 1)[0]; o = os.path.join(out, name)
    log = open(o + ".log").read()
    probe = re.search(r"genre control: .* in (\d+/\d+)", log); vocal = re.search(r"vocal probe heard vocals in (\d+/\d+)", log)
    rows = {}
    for line in open(os.path.join(o, "tonality.txt")):
        f = line.split()
        if f and os.path.basename(f[0]).startswith(("gen-", "real-")): rows[os.path.basename(f[0])] = (float(f[2]), float(f[3]))
    genres = sorted(k[4:] for k in rows if k.startswith("gen-") and k != "gen-all" and "real-" + k[4:] in rows)
    ratio = {g: rows["gen-" + g][0] / rows["real-" + g][0] for g in genres}
    hpr = {g: rows["gen-" + g][1] - rows["real-" + g][1] for g in genres}
    pooled = (rows["gen-all"][0] / rows["real-all"][0], rows["gen-all"][1] - rows["real-all"][1])
    held = re.findall(r"median ([\d.]+) s, 90th percentile ([\d.]+) s", open(os.path.join(o, "held.txt")).read())
    tags = [json.loads(l) for l in open(os.path.join(o, "tags.jsonl"))]
    hit = sum(max(t["genre"], key=t["genre"].get) == os.path.basename(t["file"]).rsplit("-", 1)[0] for t in tags)
    sung = sum(t["vocals"] > 0.5 for t in tags)
    print("%-14s %-7s %-7s %-9s %-9s %-16s %-9s %-9s %s" % (name, probe.group(1) if probe else "?", "%d/%d" % (hit, len(tags)),
          vocal.group(1) if vocal else "?", "%d/%d" % (sung, len(tags)), "%.2fx / %+.1f dB" % pooled,
          "%d of %d" % (sum(r <= FLAT_LINE for r in ratio.values()), len(genres)),
          "%d of %d" % (sum(abs(h) <= HPR_LINE for h in hpr.values()), len(genres)),
          " / ".join(held[-1]) + " s (" + " / ".join(held[0]) + ")" if len(held) >= 2 else "?"))
    print("  " + ", ".join("%s %.2fx %+.1f" % (g, ratio[g], hpr[g]) for g in genres))
    # How far past the issue's lines the genres fall, summed: unlike the counts above, a genre a few
    # tenths either side of a line moves this by a few tenths, not by one whole genre.
    print("  past the lines: flatness %.2fx, HPR %.1f dB (sums over genres of ratio - 2 and |HPR| - 2 where positive)"
          % (sum(max(0, r - FLAT_LINE) for r in ratio.values()), sum(max(0, abs(h) - HPR_LINE) for h in hpr.values())))
PY
