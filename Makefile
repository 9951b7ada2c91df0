# gen — set-up, build, test, benchmark and demo.
# `make demo` and `make test` each install the Debian packages they need (apt-get, with sudo when
# not root), build, and run. Nothing else has to be installed by hand.

SWIFT        ?= swift
CONFIG       ?= release
BUILD_FLAGS  := -c $(CONFIG)
GEN          := .build/$(CONFIG)/gen
OUT          ?= out/demo

# Libraries the package links against (system-library targets in Package.swift).
BUILD_DEBS   := libsndfile1-dev libsamplerate0-dev libopenblas-dev flite1-dev libpng-dev
# Extra tools the tests and the demo use: the flite CLI makes real speech to test on.
TEST_DEBS    := flite
# The music corpus (`gen dataset music`) renders MMA grooves with fluidsynth and these GM soundfonts.
MUSIC_DEBS   := mma fluidsynth fluid-soundfont-gm timgm6mb-soundfont musescore-general-soundfont-small
SUDO         := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all build deps test-deps demo test bench clean help

all: build

help:
	@echo "make demo   install packages, build, render examples into $(OUT)/"
	@echo "make test   install packages, build, run the test suite"
	@echo "make bench  engine and DSP throughput (release build)"

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

bench: deps
	$(SWIFT) build $(BUILD_FLAGS) --product gen
	$(SWIFT) run $(BUILD_FLAGS) gen-bench

demo: test-deps build
	@mkdir -p $(OUT)
	@echo "== gen speech: the shipped FastSpeech 2 model, one file per voice =="
	$(GEN) speech "Hello! This is gen, speaking with a model trained on this machine." --voice slt -o $(OUT)/speech-slt.wav
	$(GEN) speech "The train to Glasgow leaves at 9:45 from platform 4." --voice rms -o $(OUT)/speech-rms.wav
	$(GEN) speech --file examples/sentences.txt --voice awb -o $(OUT)/sentences-awb.wav
	@echo "== gen convert on a real recording: flite's slt voice at 16 kHz =="
	flite -voice slt -t "This is gen, converting real speech between formats and sample rates." -o $(OUT)/flite-16k.wav
	$(GEN) convert $(OUT)/flite-16k.wav $(OUT)/flite-22k.flac --rate 22050
	$(GEN) convert $(OUT)/flite-22k.flac $(OUT)/flite-22k.ogg
	$(GEN) models
	@echo "Demo files are in $(OUT)/. Music arrives with issues 4-5."

clean:
	rm -rf .build out
