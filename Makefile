# gen — set-up, build, test, benchmark and demo.
# `make demo` and `make test` each install the Debian packages they need (apt-get, with sudo when
# not root), build, and run. Nothing else has to be installed by hand.

SWIFT        ?= swift
CONFIG       ?= release
BUILD_FLAGS  := -c $(CONFIG)
GEN          := .build/$(CONFIG)/gen
OUT          ?= out/demo

# Libraries the package links against (system-library targets in Package.swift; libxml2 under
# Foundation's XML parser, which gen links statically with the Swift runtime).
BUILD_DEBS   := libsndfile1-dev libsamplerate0-dev libopenblas-dev flite1-dev libpng-dev libebur128-dev libxml2-dev
# Extra tools the tests and the demo use: the flite CLI makes real speech to test on; GNU time
# measures a command's peak memory.
TEST_DEBS    := flite time
# The music corpus (`gen dataset music`) renders MMA grooves with fluidsynth and these GM soundfonts.
MUSIC_DEBS   := mma fluidsynth fluid-soundfont-gm timgm6mb-soundfont musescore-general-soundfont-small
SUDO         := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# The test binaries do not run gen's start-up (Engine.Runtime), which names OpenBLAS's kernels by the
# CPU's flags when the library falls back to generic ones on a CPU newer than itself (Debian's
# 0.3.21 runs SSE3 kernels on AVX-512 Xeons, 4-6x slower sgemm). Every target here names the
# kernels the flags allow (gen then keeps them), unless OPENBLAS_CORETYPE is already set. Where the
# CPU has AVX-512 BF16, that is Cooperlake, which OpenBLAS picks there itself: naming SkylakeX made
# `make eval-speech` round differently from a plain `gen speech` (awb's dev WER 0.067 against 0.054).
ifeq ($(origin OPENBLAS_CORETYPE),undefined)
OPENBLAS_CORETYPE := $(shell f=$$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null); \
  if echo "$$f" | grep -qw avx512_bf16 && echo "$$f" | grep -qw avx512f && echo "$$f" | grep -qw avx512bw && echo "$$f" | grep -qw avx512dq && echo "$$f" | grep -qw avx512vl; then echo Cooperlake; \
  elif echo "$$f" | grep -qw avx512f && echo "$$f" | grep -qw avx512bw && echo "$$f" | grep -qw avx512dq && echo "$$f" | grep -qw avx512vl; then echo SkylakeX; \
  elif echo "$$f" | grep -qw avx2 && echo "$$f" | grep -qw fma; then echo Haswell; fi)
ifneq ($(OPENBLAS_CORETYPE),)
export OPENBLAS_CORETYPE
endif
endif

.PHONY: install uninstall all build deps test-deps eval-deps eval-codec eval-music eval-speech demo test bench fuzz clean help

all: build

help:
	@echo "make demo   install packages, build, render prompts/demo.jsonl with a report into $(OUT)/"
	@echo "make test   install packages, build, run the test suite"
	@echo "make check-report  render a small batch with --report and check it in headless Chromium"
	@echo "make completions   bash/zsh/fish completion scripts into .build/completions/"
	@echo "make install [PREFIX=/usr/local]  gen, its models and completions; the installed gen finds its models anywhere"
	@echo "make bench  engine, DSP, speech and music throughput (release build)"
	@echo "make fuzz   libFuzzer on the safetensors, codes-file, config and prompt parsers (FUZZ_RUNS inputs each)"
	@echo "make eval-codec  the codec's bitrate ladder vs Opus on held-out MMA and real music (needs ../shared/eval)"
	@echo "make eval-music  genre/vocal probes and the prior's control"
	@echo "make eval-speech DNSMOS, WER and vocoder PESQ/STOI vs the flite teachers (needs ../shared/eval)"

# Installs only what is missing, so repeated runs cost nothing.
deps:
	@command -v $(SWIFT) >/dev/null || { echo "error: '$(SWIFT)' not found. Install a Swift 5.9+ toolchain from swift.org and put it on PATH."; exit 1; }
	@missing=""; for p in $(BUILD_DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi

test-deps: deps
	@missing=""; for p in $(TEST_DEBS) $(MUSIC_DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi

build: deps
	$(SWIFT) build $(BUILD_FLAGS) --product gen

# Tests run on the release build: the numeric kernels are 10-50x slower unoptimised.
test: test-deps
	$(SWIFT) build $(BUILD_FLAGS) --product gen
	$(SWIFT) test $(BUILD_FLAGS) --disable-swift-testing
	$(MAKE) fuzz FUZZ_RUNS=20000

# libFuzzer on the parsers a user's files reach (Sources/FuzzTargets), FUZZ_RUNS inputs per target,
# starting from the inputs kept in Tests/Fixtures/fuzz (a crash is written to out/fuzz/ and fails
# the target: keep it there as regression-NAME once fixed). `make test` runs a short smoke.
FUZZ_RUNS    ?= 1000000
FUZZ_TARGETS := safetensors codes config prompt
fuzz: deps
	# lld: gold crashes (internal error in format_file_lineno) linking the libFuzzer runtime into a SwiftPM executable.
	$(SWIFT) build -c release --product gen-fuzz -Xswiftc -sanitize=fuzzer -Xswiftc -DFUZZING -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld --scratch-path .build-fuzz
	@mkdir -p out/fuzz
	@for t in $(FUZZ_TARGETS); do \
	  rm -rf out/fuzz/corpus-$$t && mkdir -p out/fuzz/corpus-$$t; \
	  GEN_FUZZ_TARGET=$$t .build-fuzz/release/gen-fuzz -runs=$(FUZZ_RUNS) -seed=1 -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
	    -artifact_prefix=out/fuzz/$$t- -print_final_stats=1 out/fuzz/corpus-$$t Tests/Fixtures/fuzz/$$t > out/fuzz/$$t.log 2>&1 \
	    || { echo "fuzz $$t: FAILED (see out/fuzz/$$t.log and out/fuzz/$$t-*)"; tail -20 out/fuzz/$$t.log; exit 1; }; \
	  echo "fuzz $$t: $$(grep -o 'stat::number_of_executed_units: *[0-9]*' out/fuzz/$$t.log | grep -o '[0-9]*$$') inputs, 0 crashes, 0 timeouts"; \
	done

bench: deps
	$(SWIFT) build $(BUILD_FLAGS) --product gen
	$(SWIFT) run $(BUILD_FLAGS) gen-bench

# Quality yardsticks (../shared/eval). They need Python with numpy/scipy and opus-tools.
EVAL_DIR     ?= ../shared/eval
MUSIC_DATA   ?= data/music
EVAL_DEBS    := opus-tools sox

eval-deps: test-deps
	@missing=""; for p in $(EVAL_DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi
	@python3 -c 'import numpy, scipy' 2>/dev/null || python3 -m pip install --quiet numpy scipy

$(MUSIC_DATA)/metadata.jsonl: | test-deps build
	$(GEN) dataset music --out $(MUSIC_DATA) --hours 3 --seed 1

# The held-out reference of `make eval-music`: an hour of clips that all play their genre's held-out
# progression and lyric lines (none trained on): 184 clips, 23 a genre, every groove of every genre.
# data/music's own 1-in-20 split holds out 2-7 clips a genre (blues: 2, both FastBlues, the least
# harmonic of its 4 grooves).
MUSIC_HELDOUT ?= data/music-heldout
$(MUSIC_HELDOUT)/metadata.jsonl: | test-deps build
	$(GEN) dataset music --out $(MUSIC_HELDOUT) --hours 1 --seed 2 --validation-every 1

# Free recorded music shipped in Debian packages (not Wesnoth's: kept for evaluation), for the codec:
# downloaded with apt-get download (no install), unpacked (the .pk3 archives are zip files), imported
# with `gen dataset music --audio-dir` (files under 20 s, the games' sound effects, are skipped).
REAL_MUSIC      ?= data/realmusic
REAL_MUSIC_DEBS := warzone2100-music hyperrogue-music nexuiz-music ufoai-music singularity-music asc-music
$(REAL_MUSIC)/metadata.jsonl: | build
	@command -v unzip >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq unzip; }
	rm -rf data/debs && mkdir -p data/debs/music
	cd data/debs && apt-get download $(REAL_MUSIC_DEBS)
	@for p in $(REAL_MUSIC_DEBS); do \
	  dpkg-deb -x data/debs/$${p}_*.deb data/debs/music/$$p || exit 1; \
	  find data/debs/music/$$p -name '*.pk3' -exec unzip -q -o -d data/debs/music/$$p/pk3 {} \; ; \
	done
	$(GEN) dataset music --audio-dir data/debs/music --out $(REAL_MUSIC)

# The shipped RVQ codec at each rung of its bitrate ladder, on every held-out MMA clip and on two
# 20 s excerpts of each held-out real-music track, with Opus 6 and 12 kbps in the same run: log-mel, MR-STFT and
# spectral convergence (codec_eval.py), and whether the notes survive (music_fidelity.py).
CODEC_LADDER ?= 1 2 3 4 8
eval-codec: eval-deps build $(MUSIC_DATA)/metadata.jsonl $(REAL_MUSIC)/metadata.jsonl
	@python3 -c 'import librosa' 2>/dev/null || python3 -m pip install --quiet librosa
	@rm -rf out/eval-codec && mkdir -p out/eval-codec/mma/ref out/eval-codec/real/ref
	@python3 -c 'import json,sys; [print(l["file"]) for l in map(json.loads, open(sys.argv[1])) if l["split"] == "val"]' \
	  $(MUSIC_DATA)/metadata.jsonl | while read f; do cp -f $(MUSIC_DATA)/$$f out/eval-codec/mma/ref/; done
	@python3 -c 'import json,sys; [print(l["file"]) for l in map(json.loads, open(sys.argv[1])) if l["split"] == "val"]' \
	  $(REAL_MUSIC)/metadata.jsonl | while read f; do n=$$(basename $$f .wav); d=$$(soxi -D $(REAL_MUSIC)/$$f); \
	    for part in 1 2; do sox $(REAL_MUSIC)/$$f out/eval-codec/real/ref/$$n-$$part.wav trim $$(python3 -c "print(f'{$$d * $$part / 3 - 10:.2f}')") 20; done; done
	@echo "$$(ls out/eval-codec/mma/ref | wc -l) held-out MMA clips, $$(ls out/eval-codec/real/ref | wc -l) excerpts of held-out real-music tracks (20 s at 1/3 and 2/3 of each)"
	@for set in mma real; do for K in $(CODEC_LADDER); do \
	  mkdir -p out/eval-codec/$$set/k$$K; \
	  for f in out/eval-codec/$$set/ref/*.wav; do r=$$($(GEN) codec $$f -o out/eval-codec/$$set/k$$K/$$(basename $$f) --codebooks $$K) || exit 1; \
	    echo "$$r" | sed -n 's/.*  (\(.*\))$$/\1/p' > out/eval-codec/$$set/k$$K.rung; done; \
	done; done
	@for set in mma real; do for K in $(CODEC_LADDER); do \
	  echo "== $$set: codec, $$(cat out/eval-codec/$$set/k$$K.rung) =="; \
	  python3 $(EVAL_DIR)/codec_eval.py --pairs out/eval-codec/$$set/ref out/eval-codec/$$set/k$$K $$([ $$K = 1 ] && echo --opus 6 12) || exit 1; \
	  python3 $(EVAL_DIR)/music_fidelity.py --pairs out/eval-codec/$$set/ref out/eval-codec/$$set/k$$K $$([ $$K = 1 ] && echo --opus 6 12) || exit 1; \
	done; done
	$(SWIFT) build $(BUILD_FLAGS) --product gen-eval
	.build/$(CONFIG)/gen-eval codec --data $(MUSIC_DATA) --models models --codebooks $(CODEC_LADDER)

# Speech quality against the flite teachers, in one run: DNSMOS (OVRL, P.808) and WER per voice on
# the dev sentences for flite and for gen; then the vocoder alone: PESQ-wb and STOI of copy synthesis
# (gen vocode) of the held-out corpus sentences re-spoken by flite, neural and Griffin-Lim.
SPEECH_EVAL_PY := pocketsphinx jiwer librosa speechmos onnxruntime pesq pystoi requests
eval-speech: eval-deps build
	@python3 -c 'import pocketsphinx, jiwer, librosa, speechmos, onnxruntime, pesq, pystoi' 2>/dev/null || python3 -m pip install --quiet $(SPEECH_EVAL_PY)
	@rm -rf out/eval-speech && mkdir -p out/eval-speech
	@for V in slt rms awb; do \
	  echo "== $$V: flite teacher =="; python3 $(EVAL_DIR)/wer.py $(EVAL_DIR)/sentences_dev.txt out/eval-speech/flite-$$V --cmd "flite -voice $$V -t \"\$$TEXT\" -o \"\$$OUT\"" || exit 1; \
	  echo "== $$V: gen speech (neural vocoder) =="; python3 $(EVAL_DIR)/wer.py $(EVAL_DIR)/sentences_dev.txt out/eval-speech/gen-$$V --cmd "$(GEN) speech --quiet --voice $$V \"\$$TEXT\" -o \"\$$OUT\"" || exit 1; \
	done
	python3 $(EVAL_DIR)/speech_quality.py mos out/eval-speech/flite-slt out/eval-speech/gen-slt out/eval-speech/flite-rms out/eval-speech/gen-rms out/eval-speech/flite-awb out/eval-speech/gen-awb
	@mkdir -p out/eval-speech/ref
	@test -f data/speech/metadata.jsonl || $(GEN) dataset speech --out data/speech --sentences 2000 --seed 1
	@python3 -c 'import json,sys; [print(l["voice"] + "\t" + l["id"] + "\t" + l["text"]) for l in map(json.loads, open("data/speech/metadata.jsonl")) if l["split"] == "val"]' \
	  | while IFS="$$(printf '\t')" read v id text; do flite -voice "$$v" -t "$$text" -o out/eval-speech/ref/$$id.wav; done
	@echo "$$(ls out/eval-speech/ref | wc -l) held-out utterances re-spoken by flite"
	$(GEN) vocode out/eval-speech/ref/*.wav -o out/eval-speech/neural --loudness off --quiet > /dev/null
	$(GEN) vocode out/eval-speech/ref/*.wav -o out/eval-speech/griffin-lim --vocoder griffin-lim --loudness off --quiet > /dev/null
	python3 $(EVAL_DIR)/speech_quality.py resynth out/eval-speech/ref out/eval-speech/neural
	python3 $(EVAL_DIR)/speech_quality.py resynth out/eval-speech/ref out/eval-speech/griffin-lim

# The shipped prior judged from outside: genre and vocal probes trained on the original training
# clips only (never on codec or prior output), genre control over 8 genres × EVAL_SEEDS clips of
# 10 s with the default guidance, vocals with and without lyrics, the seam check of a long piece,
# then music_tonality.py on the generated clips beside the held-out real clips of MUSIC_HELDOUT, per
# genre and pooled (each genre's flatness ratio and HPR difference with a 90% bootstrap interval:
# bench/tonality_intervals.py), how long each holds one spectrum (bench/held_spectra.py: the prior's
# held notes), and how well the clips keep to the bar grid they were asked for
# (bench/beat_alignment.py, beside the real clips).
EVAL_SEEDS ?= 5
eval-music: eval-deps deps $(MUSIC_DATA)/metadata.jsonl $(MUSIC_HELDOUT)/metadata.jsonl
	@python3 -c 'import librosa' 2>/dev/null || python3 -m pip install --quiet librosa
	$(SWIFT) build $(BUILD_FLAGS) --product gen-eval
	.build/$(CONFIG)/gen-eval music --data $(MUSIC_DATA) --held-out $(MUSIC_HELDOUT) --models models --out out/eval-music --seeds $(EVAL_SEEDS)
	@rm -rf out/eval-music/tonality && for g in $$(ls out/eval-music/real | sed 's/-[0-9]*\.wav$$//' | sort -u); do \
	  mkdir -p out/eval-music/tonality/real-$$g out/eval-music/tonality/gen-$$g out/eval-music/tonality/real-all out/eval-music/tonality/gen-all; \
	  cp out/eval-music/real/$$g-[0-9]*.wav out/eval-music/tonality/real-$$g/; cp out/eval-music/real/$$g-[0-9]*.wav out/eval-music/tonality/real-all/; \
	  cp out/eval-music/generated/$$g-[0-9]*.wav out/eval-music/tonality/gen-$$g/ 2>/dev/null; cp out/eval-music/generated/$$g-[0-9]*.wav out/eval-music/tonality/gen-all/ 2>/dev/null; \
	done; true
	python3 $(EVAL_DIR)/music_tonality.py $$(ls -d out/eval-music/tonality/*-* | sort -t- -k2) | tee out/eval-music/tonality.txt
	python3 bench/tonality_intervals.py $(EVAL_DIR) out/eval-music/tonality | tee out/eval-music/tonality-intervals.txt
	python3 bench/held_spectra.py out/eval-music/tonality/real-all out/eval-music/tonality/gen-all | tee out/eval-music/held.txt
	@if [ -f out/eval-music/generated/grids.jsonl ]; then python3 bench/beat_alignment.py corpus $(MUSIC_HELDOUT) val; \
	  python3 bench/beat_alignment.py generated out/eval-music/generated; fi | tee out/eval-music/beats.txt
	@if [ -f models/tagger/config.json ]; then \
	  for b in 6 12; do rm -rf out/eval-music/opus$$b; mkdir -p out/eval-music/opus$$b; \
	    for f in out/eval-music/real/*.wav; do n=$$(basename $$f .wav); \
	      opusenc --quiet --bitrate $$b $$f out/eval-music/opus$$b/$$n.opus 2>/dev/null && opusdec --quiet --rate 22050 out/eval-music/opus$$b/$$n.opus out/eval-music/opus$$b/$$n.wav \
	        && rm -f out/eval-music/opus$$b/$$n.opus; done; done; \
	  .build/$(CONFIG)/gen-eval tagger --models models --out out/eval-music \
	    --reference "Opus 6 kbps=out/eval-music/opus6" --reference "Opus 12 kbps=out/eval-music/opus12" | tee out/eval-music/tagger.txt; \
	else echo "no models/tagger: train one with gen train tagger to get the tagger's genre accuracy, KLD and FD"; fi

# The tour: prompts/demo.jsonl (every genre and voice) with a listening report, then a real recording converted.
JOBS         ?= 2
demo: test-deps build
	@mkdir -p $(OUT)
	@echo "== gen batch prompts/demo.jsonl: every genre and every voice, with a listening report =="
	$(GEN) batch prompts/demo.jsonl --out-dir $(OUT) --report --jobs $(JOBS)
	@echo "== gen convert on a real recording: flite's slt voice at 16 kHz =="
	flite -voice slt -t "This is gen, converting real speech between formats and sample rates." -o $(OUT)/flite-16k.wav
	$(GEN) convert $(OUT)/flite-16k.wav $(OUT)/flite-22k.flac --rate 22050
	$(GEN) convert $(OUT)/flite-22k.flac $(OUT)/flite-22k.ogg
	$(GEN) models
	@echo ""
	@echo "Open the report: file://$(abspath $(OUT))/index.html  (a player, spectrogram, prompt and seed per piece)"

# The listening report in a real browser: headless Chromium must load every player and spectrogram
# of a small batch; the screenshot goes to out/check-report/screenshot.png.
.PHONY: check-report completions
check-report: build
	@dpkg -s chromium >/dev/null 2>&1 || { echo "installing: chromium"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
	Tests/check-report.sh $(GEN) out/check-report

# Shell completion scripts, generated by swift-argument-parser from the command tree.
completions: build
	@mkdir -p .build/completions
	$(GEN) --generate-completion-script bash > .build/completions/gen.bash
	$(GEN) --generate-completion-script zsh > .build/completions/_gen
	$(GEN) --generate-completion-script fish > .build/completions/gen.fish
	@echo "bash: source .build/completions/gen.bash   zsh: copy _gen into a folder on \$$fpath   fish: copy gen.fish to ~/.config/fish/completions/"

clean:
	rm -rf .build out

# make install [PREFIX=/usr/local] [DESTDIR=]: PREFIX/bin/gen, its models in PREFIX/share/gen/models
# (found by the installed gen from any directory), and bash/zsh/fish completions.
PREFIX       ?= /usr/local
.PHONY: install uninstall
install: completions
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/gen/models \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/site-functions \
	  $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	install -m 755 $(GEN) $(DESTDIR)$(PREFIX)/bin/gen
	cp -R models/. $(DESTDIR)$(PREFIX)/share/gen/models/
	install -m 644 .build/completions/gen.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/gen
	install -m 644 .build/completions/_gen $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_gen
	install -m 644 .build/completions/gen.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/gen.fish
	@echo "installed $(DESTDIR)$(PREFIX)/bin/gen (models in $(DESTDIR)$(PREFIX)/share/gen/models); try: gen speech hi"

uninstall:
	rm -rf $(DESTDIR)$(PREFIX)/bin/gen $(DESTDIR)$(PREFIX)/share/gen \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions/gen $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_gen \
	  $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/gen.fish
