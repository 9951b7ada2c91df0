#!/usr/bin/env python3
"""Paired PocketSphinx WER of two renderings of the same sentences (not part of the build).

usage:
  python3 bench/wer_paired.py sentences METADATA.jsonl OUT_DIR
      From a speech corpus's metadata (`gen dataset speech --out D --sentences N --seed S`), per voice:
      the sentences without digits or abbreviations, OUT_DIR/V.orig.txt (as spoken) and OUT_DIR/V.txt
      (lower case, no punctuation: what PocketSphinx's words are scored against), and OUT_DIR/jobs.jsonl,
      a `gen batch` file rendering every sentence to V/NNN.wav.
  python3 bench/wer_paired.py score V.txt DIR_A DIR_B
      Decodes DIR_A/NNN.wav and DIR_B/NNN.wav as ../shared/eval/wer.py does (sox to 16 kHz, PocketSphinx's
      bundled US English model), but without sox's dither (-D), which is random per run and moved wer.py's
      score of the same files by 0.008; then prints both WERs and the paired difference A − B with its standard
      error over sentences (a ratio estimator: errors and words summed per sentence).

Why normalise: jiwer compares words exactly, so "Jack." against PocketSphinx's "jack" is a wrong word;
sentences_dev.txt is already lower case without punctuation, the corpus generator's sentences are not.
"""
import json, math, os, re, subprocess, sys


def build(metadata, out):
    os.makedirs(out, exist_ok=True)
    rows = [json.loads(line) for line in open(metadata)]
    with open(os.path.join(out, "jobs.jsonl"), "w") as jobs:
        for voice in sorted({r["voice"] for r in rows}):
            kept = [r["text"] for r in rows if r["voice"] == voice and not re.search(r"\d", r["text"])
                    and not re.search(r"[A-Za-z]\.\S|\b[A-Z][a-z]{0,3}\.\s", r["text"])]
            norm = [" ".join(re.sub(r"[^a-z' ]", " ", t.lower()).split()) for t in kept]
            open(os.path.join(out, voice + ".orig.txt"), "w").write("\n".join(kept) + "\n")
            open(os.path.join(out, voice + ".txt"), "w").write("\n".join(norm) + "\n")
            for i, t in enumerate(kept):
                jobs.write(json.dumps({"kind": "speech", "text": t, "voice": voice, "out": "%s/%03d.wav" % (voice, i)}) + "\n")
            print("%s: %d sentences, %d words" % (voice, len(kept), sum(len(t.split()) for t in norm)))


def score(sentences, dir_a, dir_b):
    import jiwer
    from pocketsphinx import Decoder
    refs = [line.strip() for line in open(sentences) if line.strip()]
    decoder = Decoder(samprate=16000)

    def errors(d):
        out = []
        for i, ref in enumerate(refs):
            raw = subprocess.run(["sox", "-D", "%s/%03d.wav" % (d, i), "-t", "raw", "-r", "16000", "-c", "1", "-b", "16",
                                  "-e", "signed-integer", "-"], capture_output=True, check=True).stdout
            decoder.start_utt(); decoder.process_raw(raw, full_utt=True); decoder.end_utt()
            hyp = decoder.hyp().hypstr if decoder.hyp() else ""
            if not hyp:
                out.append(len(ref.split())); continue
            o = jiwer.process_words(ref, hyp)
            out.append(o.substitutions + o.deletions + o.insertions)
        return out

    a, b = errors(dir_a), errors(dir_b)
    words = [len(r.split()) for r in refs]
    n, m = sum(words), len(words)
    d = (sum(a) - sum(b)) / n
    se = math.sqrt(sum((x - y - d * w) ** 2 for x, y, w in zip(a, b, words)) * m / (m - 1)) / n
    print("lines %d words %d  WER A %.4f  B %.4f  A-B %+.4f  SE %.4f" % (m, n, sum(a) / n, sum(b) / n, d, se))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "sentences":
        build(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 5 and sys.argv[1] == "score":
        score(*sys.argv[2:])
    else:
        sys.exit(__doc__)
