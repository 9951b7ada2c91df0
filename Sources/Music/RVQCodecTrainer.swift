// RVQCodecTrainer.swift — `gen train codec`: trains the RVQ codec (RVQCodec.swift) on random windows
// of one or more music corpora (the MMA corpus and imported recordings), with AdamW, warm-up +
// cosine, gradient clipping, a JSONL log (loss terms, codebooks in use, per-codebook usage and
// perplexity), held-out evaluation (log-mel L1, spectral convergence, chroma similarity and
// flatness ratio at the full ladder and at two codebooks, per-codebook usage), checkpoints and
// --resume. `--encoder-input magnitude+frequency --init-from DIR` widens a trained codec's encoder to
// read the phase advance too (RVQCodec.swift, EncoderInput). Each corpus gets an equal share of the
// batches, whatever its size, so hours of imported recordings do not drown the labelled corpus the
// prior learns from.
import Audio
import Base
import DSP
import Engine
import Foundation
import NN

public struct RVQCodecTrainOptions: TrainingRunSettings {
    public var dataDirs: [String]
    public var outDir: String
    public static var defaultRun: TrainingRun { TrainingRun(learningRate: 5e-4, warmup: 300, evalEvery: 250, saveEvery: 250) }
    public var run = defaultRun
    public var batchSize = 12
    /// Frames per training window (64 frames at hop 256: 0.74 s).
    public var segmentFrames = 64
    /// Held-out windows of `evalSeconds` each, taken from each corpus's val clips in turn.
    public var evalWindows = 24
    public var evalSeconds: Double = 4
    public var model = RVQCodecConfig()
    /// Start from this codec folder's weights and config (not with `resume`).
    public var initFrom: String? = nil
    /// With `initFrom`: the decoder's phase head to train (an absolute head's weights seed an
    /// integrated one: `ISTFTDecoder.integratedHead`).
    public var phaseHead: PhaseHead? = nil
    /// Train the decoder alone: the encoder and codebooks are held, so the codec id, the codes
    /// files and the prior trained on its codes stay valid.
    public var decoderOnly = false
    /// With `initFrom`: a frequency-local head to add to the decoder (its last layer starts at zero,
    /// so the run starts from the given codec's output).
    public var binHead: BinHeadLayout? = nil
    /// Train the decoder's bin head alone (implies `decoderOnly`): everything else is held.
    public var binHeadOnly = false
    /// With `initFrom`: add a bass decoder (BassDecoder.swift) and train it alone; everything else
    /// is held, so the codes, the codec id and the prior stay valid.
    public var bassDecoder = false
    /// The bass decoder's starting weights: a safetensors file of its tensors under their own names
    /// (as `bench/lowband_decoder.py export` writes its prototype's).
    public var bassInit: String? = nil
    /// The new bass decoder's layout (nil: the default, at hop / 8 of the sample rate).
    public var bassLayout: BassDecoderLayout? = nil
    /// Above 0, in training of the whole codec (not `bassDecoder`'s bass-only mode) of a codec that
    /// has a bass decoder: its loss joins the codec's at this weight, and its gradient reaches the
    /// encoder and codebooks through the latents (straight through the quantizer), so the codes
    /// learn to carry the bass line. The codes change: the codec id changes and a prior on the old
    /// codes needs retraining.
    public var bassWeight: Float = 0
    /// With `initFrom`: fit a bass stream of this many codebooks (BassStream.swift) to the corpora
    /// by k-means, everything else kept; no gradient steps.
    public var bassStream: Int? = nil
    /// Lloyd iterations per bass-stream codebook, and the band vectors (frames) drawn from each corpus.
    public var bassStreamIterations = 40
    public var bassStreamVectors = 250_000
    /// Each bass-stream codebook's size (nil: the main codebooks' size for every one).
    public var bassStreamSizes: [Int]? = nil
    /// The bass stream's decode-time Wiener postfilter strength (`BassStreamLayout.postfilter`; nil: none).
    public var bassStreamPostfilter: Float? = nil
    /// Overrides the config's phase-loss weight.
    public var phaseWeight: Float? = nil
    /// Blocks of the decoder's ConvNeXt stack. With `initFrom`, more than that codec's own appends
    /// blocks whose layer scale starts at zero (each the identity), so the run starts from that
    /// codec's output with more capacity to fill (`addNewDecoderBlocks`).
    public var decoderBlocks: Int? = nil
    /// The codebook counts the batches draw from (`RVQCodecConfig.trainingCodebooks`); also on
    /// --resume, where it replaces the run's own.
    public var trainingCodebooks: [Int]? = nil
    /// With `initFrom`: what the encoder reads. A magnitude encoder's weights seed a
    /// magnitude+frequency one (`widenEncoderInput`), which starts out giving the same codes.
    public var encoderInput: EncoderInput? = nil
    /// With `initFrom` (or a new codec): the encoder also reads the low bins of this long window
    /// (`LongWindowInput`); a trained encoder's input conv gets zero weights for them, so the run
    /// starts out giving the same codes.
    public var longWindow: LongWindowInput? = nil
    /// The discriminator phase (`--adversarial-weight` above 0; NN/AdversarialRun.swift): an
    /// adversary on the decoded waveform, where the reconstruction losses leave phase free.
    public var adversarial = AdversarialSettings()

    public init(dataDirs: [String], outDir: String) { self.dataDirs = dataDirs; self.outDir = outDir }

    public func problems() -> [String] {
        var p = run.problems()
        if dataDirs.isEmpty { p.append("give at least one --data corpus folder (from `gen dataset music`)") }
        p += rangeProblem("--batch-size", batchSize, 1...256) + rangeProblem("--segment-frames", segmentFrames, 8...1024)
        p += rangeProblem("--codebooks", model.codebooks, 1...32)
        p += rangeProblem("--width", model.encoderWidth, 8...1024) + rangeProblem("--width", model.decoderWidth, 8...1024)
        if (decoderOnly || binHeadOnly) && initFrom == nil && !resume {
            p.append("\(binHeadOnly ? "--bin-head-only" : "--decoder-only") trains an existing codec's decoder: give --init-from DIR (or --resume such a run)")
        }
        if initFrom != nil && resume { p.append("--init-from starts a new run; drop it with --resume") }
        if bassDecoder && initFrom == nil { p.append("--bass-decoder adds a bass decoder to an existing codec: give --init-from DIR (a resumed run keeps its own)") }
        if bassInit != nil && !bassDecoder && !(bassWeight > 0 && initFrom == nil && !resume) {
            p.append("--bass-init gives a new bass decoder its weights: use it with --bass-decoder, or with --bass-weight on a new codec")
        }
        if bassDecoder && (binHead != nil || binHeadOnly || encoderInput != nil || phaseHead != nil || adversarial.weight > 0) {
            p.append("--bass-decoder trains the bass decoder alone; drop the options that change the rest of the codec")
        }
        if let b = bassStream {
            p += rangeProblem("--bass-stream", b, 1...8) + rangeProblem("--bass-stream-iterations", bassStreamIterations, 1...1000)
            p += rangeProblem("--bass-stream-vectors", bassStreamVectors, 2048...20_000_000)
            if let f = bassStreamPostfilter { p += rangeProblem("--bass-stream-postfilter", f, 0...100) }
            if let sizes = bassStreamSizes, sizes.count != b || sizes.contains(where: { !(2...65_536).contains($0) }) {
                p.append("--bass-stream-sizes must give each of the \(b) bass codebooks a size in 2...65536, got \(sizes.map(String.init).joined(separator: ","))")
            }
            if initFrom == nil || resume { p.append("--bass-stream fits a bass stream beside an existing codec: give --init-from DIR (no --resume: the fit is one pass)") }
            if decoderOnly || bassDecoder || binHead != nil || binHeadOnly || encoderInput != nil || phaseHead != nil || longWindow != nil || bassWeight > 0 || adversarial.weight > 0 {
                p.append("--bass-stream fits the bass stream alone; drop the options that train the rest of the codec")
            }
        }
        if let w = phaseWeight { p += rangeProblem("--phase-weight", w, 0...100) }
        if let n = decoderBlocks {
            p += rangeProblem("--decoder-blocks", n, 1...32)
            if resume { p.append("--decoder-blocks sets up a new run; a resumed run keeps its own") }
        }
        if let t = trainingCodebooks, !(1...64).contains(t.count) || t.contains(where: { !(0...32).contains($0) }) {
            p.append("--train-codebooks must list 1 to 64 codebook counts, each in 0...32 (0: unquantized), got \(t.map(String.init).joined(separator: ","))")
        }
        p += rangeProblem("--bass-weight", bassWeight, 0...100)
        if bassWeight > 0 && bassDecoder { p.append("--bass-weight trains the whole codec with its bass decoder; --bass-decoder trains the bass decoder alone. Drop one") }
        if encoderInput != nil && decoderOnly { p.append("--encoder-input changes what the codes mean; --decoder-only keeps them. Drop one") }
        if encoderInput != nil && resume { p.append("--encoder-input sets up a new run; a resumed run keeps its own") }
        if longWindow != nil && decoderOnly { p.append("--long-window changes what the codes mean; --decoder-only keeps them. Drop one") }
        if longWindow != nil && resume { p.append("--long-window sets up a new run; a resumed run keeps its own") }
        if longWindow != nil && bassDecoder { p.append("--bass-decoder trains the bass decoder alone; drop --long-window, which changes the encoder") }
        if let l = longWindow { p += l.problems(frameNFFT: model.nFFT).map { "--long-window: " + $0 } }
        if binHead != nil && resume { p.append("--bin-head sets up a new run; a resumed run keeps its own") }
        p += binHead?.problems(channelsName: "--bin-head", kernelName: "--bin-head-kernel") ?? []
        p += adversarial.problems()
        return p
    }
}

/// Held-out numbers with the first `codebooks` codebooks.
public struct RVQCodecEval {
    public var codebooks: Int
    public var melL1: Float, convergence: Float, chroma: Float, flatnessRatio: Float
}

public enum RVQCodecTrainer {
    /// B random windows of `span` samples from `corpora` (each corpus equally often, clips in
    /// proportion to their length) → (B, 1, span).
    static func randomBatch(_ corpora: [[[Float]]], batch: Int, span: Int, rng: inout RNG) -> Tensor {
        var data: [Float] = []
        data.reserveCapacity(batch * span)
        for _ in 0..<batch {
            let clips = corpora[rng.int(below: corpora.count)]
            data += MusicClips.randomBatch(clips, batch: 1, length: span, rng: &rng).data
        }
        return Tensor(shape: [batch, 1, span], data: data)
    }

    /// Held-out scores of whole windows through encode → decode with the first `k` codebooks
    /// (`bass` false: without the bass decoder, for comparison).
    public static func evaluate(_ model: RVQCodec, windows: [[Float]], codebooks k: Int, bass: Bool = true) -> RVQCodecEval {
        let fb = MelFilterbank(config: .standard), stft = STFT(config: MelConfig.standard.stft)
        var mel: Float = 0, sc: Float = 0, chroma: Float = 0, flat: Float = 0
        for w in windows {
            let y = k == 0 ? model.decodeUnquantized(w)   // a ceiling run (`--train-codebooks 0`)
                : model.decode(model.encode(w, codebooks: k), length: w.count, bass: bass)
            let a = fb.logMel(audio: y), b = fb.logMel(audio: w)
            mel += zip(a, b).reduce(Float(0)) { $0 + Swift.abs($1.0 - $1.1) } / Float(max(a.count, 1))
            sc += spectralConvergence(target: stft.magnitude(w), estimate: stft.magnitude(y))
            let t = Tonality.score(reference: w, test: y, sampleRate: model.sampleRate)
            chroma += t.chroma; flat += t.flatnessRatio
        }
        let n = Float(max(windows.count, 1))
        return RVQCodecEval(codebooks: k, melL1: mel / n, convergence: sc / n, chroma: chroma / n, flatnessRatio: flat / n)
    }

    /// Per codebook: the fraction of its codes used on `windows`, and the perplexity of their histogram.
    public static func usage(_ model: RVQCodec, windows: [[Float]]) -> [(usage: Float, perplexity: Float)] {
        let size = model.config.codebookSize
        var counts = [[Int]](repeating: [Int](repeating: 0, count: size), count: model.config.codebooks)
        for w in windows {
            for (k, codes) in model.encode(w).enumerated() { for c in codes { counts[k][Int(c)] += 1 } }
        }
        return counts.map { h in
            let rows = Double(max(h.reduce(0, +), 1))
            var entropy: Double = 0
            for c in h where c > 0 { let p = Double(c) / rows; entropy -= p * Foundation.log(p) }
            return (Float(h.filter { $0 > 0 }.count) / Float(size), Float(Foundation.exp(entropy)))
        }
    }

    /// Gives a weights file without a decoder bin head the one `model` was initialised with (its
    /// last layer at zero), so the codec it holds gains the head and still decodes as it did.
    static func addNewBinHead(to file: inout SafeTensorsFile, from model: RVQCodec) { addNew(prefix: "decoder.bin_head.", to: &file, from: model) }

    /// Gives a weights file whose decoder has `old` blocks the blocks `model` has beyond them, as
    /// it initialised them but with their layer scale (gamma) at zero: each new block adds
    /// nothing to its input, so the codec decodes exactly as before, and the run starts there.
    /// (Appended after the old blocks, before the final LayerNorm.)
    static func addNewDecoderBlocks(to file: inout SafeTensorsFile, from model: RVQCodec, after old: Int) {
        for i in old..<model.config.decoderBlocks {
            let prefix = "decoder.blocks.\(i)."
            addNew(prefix: prefix, to: &file, from: model)
            if let g = file.tensors[prefix + "gamma"] { file.tensors[prefix + "gamma"] = SafeTensor(floats: [Float](repeating: 0, count: g.shape.reduce(1, *)), shape: g.shape) }
        }
    }

    /// Gives a weights file the tensors under `prefix` that it lacks, as `model` was initialised.
    static func addNew(prefix: String, to file: inout SafeTensorsFile, from model: RVQCodec) {
        for (name, t) in zip(model.params.names, model.params.tensors) where name.hasPrefix(prefix) && file.tensors[name] == nil {
            file.tensors[name] = SafeTensor(floats: t.data, shape: t.shape)
        }
    }

    /// Rewrites a weights file's encoder input conv, weight (C, from, K), as one of (C, to, K) whose
    /// first `from` input channels keep their weights and the new ones get zeros: the widened encoder
    /// starts out computing the same latents, and the same codes. (magnitude → magnitude+frequency
    /// appends the phase advance's 2F channels; a long window appends its bins.)
    static func widenEncoderInput(in file: inout SafeTensorsFile, from f: Int, to wide: Int, path: String) throws {
        let name = "encoder.embed.weight"
        guard let w = file.tensors[name], w.shape.count == 3, w.shape[1] == f else {
            throw CheckpointError(path: path, message: "no encoder input conv of \(f) channels (\(name)) to widen.")
        }
        let old = try w.floats(), c = w.shape[0], k = w.shape[2]
        var out = [Float](repeating: 0, count: c * wide * k)
        for o in 0..<c { out.replaceSubrange((o * wide * k)..<(o * wide * k + f * k), with: old[(o * f * k)..<((o + 1) * f * k)]) }
        file.tensors[name] = SafeTensor(floats: out, shape: [c, wide, k])
    }

    /// `--bass-init FILE`: a bass decoder's tensors under their own names (a trained codec's
    /// `bass.*` without the prefix, or the prototype's export), named as the codec names them.
    static func bassSeed(_ path: String) throws -> SafeTensorsFile {
        var named = SafeTensorsFile()
        for (name, t) in try SafeTensorsFile.read(path).tensors { named.tensors["bass." + name] = t }
        return named
    }

    /// A new bass decoder's layout: at hop / 8 of the sample rate, used from 3 codebooks up (the
    /// shipped codec's choice: at 2 it made real music flatter than its chroma gain was worth).
    static func defaultBassLayout(hop: Int) -> BassDecoderLayout {
        var l = BassDecoderLayout(); l.down = max(1, hop / 8); l.minCodebooks = 3
        return l
    }

    public static func train(_ o: RVQCodecTrainOptions) throws {
        try o.check()   // every option's limit and combination (an --encoder-input with --decoder-only too)
        if o.bassStream != nil { return try fitBassStream(o) }
        let folder = try TrainingFolder(o.outDir)
        var config = o.model
        var initial: SafeTensorsFile? = nil
        var grownFrom: Int? = nil   // with --init-from: the decoder's blocks before --decoder-blocks
        if o.resume, FileManager.default.fileExists(atPath: folder.config) {
            config = try ConfigFile.read(RVQCodecConfig.self, from: folder.config)
        } else if let from = o.initFrom {
            config = try ConfigFile.read(RVQCodecConfig.self, from: from + "/config.json")
            grownFrom = config.decoderBlocks
            if let n = o.decoderBlocks {
                guard n >= config.decoderBlocks else {
                    throw CodecError("--decoder-blocks \(n): the decoder of \(from) has \(config.decoderBlocks) blocks; a fine-tune can add blocks, not remove them.")
                }
                config.decoderBlocks = n
            }
            var file = try ISTFTDecoder.initialWeights(from: from, phaseHead: &config.phaseHead, requested: o.phaseHead,
                                                       prefix: "decoder.", nFFT: config.nFFT)
            let requestedInput = o.encoderInput.flatMap { $0 != (config.encoderInput ?? .magnitude) ? $0 : nil }
            let requestedLong = o.longWindow.flatMap { $0 != config.longWindow ? $0 : nil }
            if !(o.decoderOnly || o.binHeadOnly || o.bassDecoder) {
                // The encoder and codebooks train on from this codec's: its codes change, but start out as
                // the seeding codec's, so a prior of those is a fine start for the new ones (`gen train prior --init-from`).
                let parent = RVQCodec(config: config, randomInit: false)
                try parent.loadWeights(file, path: from + "/model.safetensors")
                config.seededFrom = parent.modelID
            }
            if requestedInput != nil || requestedLong != nil {
                if let requestedInput, config.encoderInput ?? .magnitude != .magnitude || config.longWindow != nil {
                    throw CheckpointError(path: from + "/model.safetensors", message: "--encoder-input \(requestedInput.rawValue): only a magnitude encoder's weights can seed another input (this one reads \((config.encoderInput ?? .magnitude).rawValue)\(config.longWindow == nil ? "" : " and a long window")).")
                }
                if requestedLong != nil && config.longWindow != nil {
                    throw CheckpointError(path: from + "/model.safetensors", message: "--long-window: this codec already reads a long window of \(config.longWindow!.nFFT) points; a fine-tune keeps it (drop --long-window).")
                }
                let f = config.encoderLayout.inputs
                if let requestedInput { config.encoderInput = requestedInput }
                if let requestedLong { config.longWindow = requestedLong }
                try widenEncoderInput(in: &file, from: f, to: config.encoderLayout.inputs, path: from + "/model.safetensors")
            }
            if let requested = o.binHead, requested != config.binHead {
                guard config.binHead == nil else {
                    throw CodecError("--bin-head: \(from) already has a bin head of \(config.binHead!.channels) channels; a fine-tune keeps it (drop --bin-head).")
                }
                config.binHead = requested
            }
            if o.bassDecoder {
                guard config.bassDecoder == nil else {
                    throw CodecError("--bass-decoder: \(from) already has a bass decoder; train it further with --resume of its run, or start from a codec without one.")
                }
                config.bassDecoder = o.bassLayout ?? Self.defaultBassLayout(hop: config.hop)
                if let path = o.bassInit {
                    for (name, t) in try Self.bassSeed(path).tensors { file.tensors[name] = t }
                }
            }
            initial = file
        } else {
            if o.phaseHead != nil { config.phaseHead = o.phaseHead }
            if o.binHead != nil { config.binHead = o.binHead }
            if o.encoderInput != nil { config.encoderInput = o.encoderInput }
            if o.longWindow != nil { config.longWindow = o.longWindow }
            if let n = o.decoderBlocks { config.decoderBlocks = n }
            // A new codec trained with the bass loss gets its bass decoder from the start.
            if o.bassWeight > 0 { config.bassDecoder = o.bassLayout ?? Self.defaultBassLayout(hop: config.hop) }
        }
        if let w = o.phaseWeight { config.phaseWeight = w }
        if let t = o.trainingCodebooks {
            guard t.allSatisfy({ $0 <= config.codebooks }) else {
                throw CodecError("--train-codebooks \(t.map(String.init).joined(separator: ",")): this codec has \(config.codebooks) codebooks; give counts in 0...\(config.codebooks) (0: unquantized).")
            }
            config.trainingCodebooks = t
        }
        let problems = config.validate()
        if !problems.isEmpty { throw CodecError("invalid codec config: " + problems.joined(separator: "; ")) }

        var corpora: [[[Float]]] = [], heldOut: [[[Float]]] = []
        for dir in o.dataDirs {
            let train = try MusicClips.load(dir, split: "train", sampleRate: config.sampleRate)
            guard !train.isEmpty else {
                throw CodecError("the corpus at '\(dir)' has no training clips; build one with `gen dataset music --out \(dir)`.")
            }
            corpora.append(train)
            heldOut.append(try MusicClips.load(dir, split: "val", sampleRate: config.sampleRate))
        }
        // Held-out windows: each corpus in turn, one window per clip per round.
        let evalLength = Int(o.evalSeconds * Double(config.sampleRate))
        let perCorpus = heldOut.map { MusicClips.evalWindows($0, count: o.evalWindows, length: evalLength) }
        var val: [[Float]] = []
        var round = 0
        while val.count < o.evalWindows && perCorpus.contains(where: { round < $0.count }) {
            for windows in perCorpus where round < windows.count && val.count < o.evalWindows { val.append(windows[round]) }
            round += 1
        }

        let model = RVQCodec(config: config, seed: o.seed)
        if var file = initial, let from = o.initFrom {
            addNewBinHead(to: &file, from: model)
            if let old = grownFrom, old < config.decoderBlocks {
                addNewDecoderBlocks(to: &file, from: model, after: old)
                o.log("codec: the decoder grows from \(old) to \(config.decoderBlocks) blocks; the new ones start as the identity (layer scale 0)")
            }
            if o.bassDecoder && o.bassInit == nil { addNew(prefix: "bass.", to: &file, from: model) }
            try model.loadWeights(file, path: from + "/model.safetensors")
            o.log("codec: starting from \(from) (codec \(model.modelID))")
        } else if !o.resume, let path = o.bassInit {
            // A new codec's bass decoder from a trained one's weights, loaded as strictly as a model.
            let bass = ParameterStore()
            for (name, t) in zip(model.params.names, model.params.tensors) where name.hasPrefix("bass.") { bass.register(name, t) }
            do { try bass.load(Self.bassSeed(path), path: path) } catch {
                throw CodecError("--bass-init: the file does not fit this codec's bass decoder (layout \(config.bassDecoder.map { "\($0.channels)/\($0.upChannels) channels" } ?? "none")): \(error)")
            }
            o.log("codec: the bass decoder starts from \(path)")
        }
        let opt = AdamW(model.params, config: AdamWConfig(learningRate: o.learningRate, beta1: 0.8, beta2: 0.99, eps: 1e-8, weightDecay: 0.01))
        var step = 0, decoderOnly = o.decoderOnly || o.binHeadOnly || o.bassDecoder, binHeadOnly = o.binHeadOnly, bassOnly = o.bassDecoder
        if o.resume {
            let point = try folder.resumePoint()
            // A decoder-only run stays one: its checkpoints say so, and training the encoder now
            // would change what its codes mean.
            if point.weights.metadata["decoder_only"] == "true" { decoderOnly = true }
            if point.weights.metadata["bin_head_only"] == "true" { binHeadOnly = true }
            if point.weights.metadata["bass_only"] == "true" { bassOnly = true }
            if bassOnly && o.bassWeight > 0 {
                throw CodecError("--bass-weight trains the whole codec with its bass decoder's loss, but the run in \(o.outDir) trains the bass decoder alone: resume it without --bass-weight, or start a whole-codec run from it with --init-from \(o.outDir).")
            }
            try model.loadWeights(point.weights, path: folder.weights)
            step = point.step
            if let state = point.state {
                try opt.restore(from: state, path: folder.state)
                for (k, stage) in model.quantizer.stages.enumerated() {
                    guard let cs = state.tensors["quantizer.\(k).cluster_size"], cs.shape == [stage.codebookSize],
                          let es = state.tensors["quantizer.\(k).embed_sum"], es.shape == [stage.codebookSize, stage.dim] else {
                        throw CheckpointError(path: folder.state, message: "codebook EMA state of codebook \(k) is missing or mis-shaped; delete the file to resume from the weights alone.")
                    }
                    stage.clusterSize = try cs.floats(); stage.embedSum = try es.floats()
                }
            }
            o.log(folder.resumedMessage(point))
        }
        if o.initFrom != nil && !decoderOnly {
            // The codebooks come without their EMA history; a fresh one (restartThreshold members a
            // code) would restart every code the first batch leaves unused, most of each codebook.
            // Each code gets the history of one used at the batch's mean rate instead, so only codes
            // that stay unused for a few hundred steps are restarted, as in a run that never stopped.
            let perCode = max(config.restartThreshold, Float(o.batchSize * o.segmentFrames) / Float(config.codebookSize))
            for stage in model.quantizer.stages {
                stage.clusterSize = [Float](repeating: perCode, count: stage.codebookSize)
                stage.embedSum = stage.codebook.data.map { $0 * perCode }
            }
        }
        if bassOnly {
            guard config.bassDecoder != nil else { throw CodecError("this run trains a bass decoder, but its config has none; start it again with --bass-decoder.") }
            for (name, t) in zip(model.params.names, model.params.tensors) where !name.hasPrefix("bass.") { t.requiresGrad = false }
            o.log("codec: training the bass decoder alone; everything else is held (codec id \(model.modelID) kept)")
        } else if binHeadOnly {
            guard config.binHead != nil else { throw CodecError("--bin-head-only: this codec has no bin head; add one with --bin-head C.") }
            // No gradient reaches (or is computed for) anything but the bin head.
            for (name, t) in zip(model.params.names, model.params.tensors) where !name.hasPrefix("decoder.bin_head.") { t.requiresGrad = false }
            o.log("codec: training the decoder's bin head alone; everything else is held (codec id \(model.modelID) kept)")
        } else if decoderOnly { o.log("codec: training the decoder alone; the encoder and codebooks are held (codec id \(model.modelID) kept)") }
        if o.bassWeight > 0 && !bassOnly {
            guard let layout = config.bassDecoder else { throw CodecError("--bass-weight: this codec has no bass decoder; add one with --bass-decoder first.") }
            o.log(String(format: "codec: the bass decoder's loss joins at weight %g from %d codebooks up%@", o.bassWeight, layout.minCodebooks ?? 1,
                         decoderOnly ? "" : "; its gradient reaches the encoder and codebooks, so the codes (and the codec id) change"))
        }
        let hours = corpora.map { Double($0.reduce(0) { $0 + $1.count }) / Double(config.sampleRate) / 3600 }
        o.log(String(format: "codec: %@ hours of training audio in %d corpora, %d held-out windows of %.0f s, %d parameters, %d codebooks of %d (%.2f kbps at all of them)",
                     hours.map { String(format: "%.2f", $0) }.joined(separator: " + "), corpora.count, val.count, o.evalSeconds,
                     model.params.parameterCount, config.codebooks, config.codebookSize, config.bitrate(codebooks: config.codebooks) / 1000))

        let gan = try AdversarialRun.start(o.adversarial, folder: folder, seed: o.seed, generator: "codec", resume: o.resume, step: step, log: o.log)

        func save() throws {
            try ConfigFile.write(config, to: folder.config)
            var metadata = ["step": String(step), "model": "rvq-codec", "model_id": model.modelID]
            if decoderOnly { metadata["decoder_only"] = "true" }
            if binHeadOnly { metadata["bin_head_only"] = "true" }
            if bassOnly { metadata["bass_only"] = "true" }
            try model.weightsFile(metadata: metadata).write(to: folder.weights)
            var state = opt.stateFile(step: step)
            for (k, stage) in model.quantizer.stages.enumerated() {
                state.tensors["quantizer.\(k).cluster_size"] = SafeTensor(floats: stage.clusterSize, shape: [stage.codebookSize])
                state.tensors["quantizer.\(k).embed_sum"] = SafeTensor(floats: stage.embedSum, shape: [stage.codebookSize, stage.dim])
            }
            try state.write(to: folder.state)
            try gan?.save(step: step)
        }
        let log = try TrainingLog(path: folder.log, echo: o.log)
        func heldOutEval(final: Bool) {
            guard !val.isEmpty else { return }
            let tail = final ? ",\"final\":true" : ""
            // 2 and all codebooks, and the count the batches draw most often (if they are told).
            let aimed = config.trainingCodebooks.flatMap { t in t.max { a, b in t.filter { $0 == a }.count < t.filter { $0 == b }.count } }
            for k in Set([min(2, config.codebooks), config.codebooks] + (aimed.map { [$0] } ?? [])).sorted() {
                let single = config.bassDecoder == nil || k == 0   // at 0 codebooks no bass decoder applies (it starts at its min_codebooks)
                for bass in single ? [true] : [false, true] {
                    let e = evaluate(model, windows: val, codebooks: k, bass: bass)
                    let which = single ? "" : (bass ? ",\"bass_decoder\":true" : ",\"bass_decoder\":false")
                    log.emit(String(format: "{\"step\":%d,\"codebooks\":%d,\"kbps\":%.2f%@,\"val_mel_l1\":%.4f,\"val_spectral_convergence\":%.4f,\"val_chroma\":%.4f,\"val_flatness_ratio\":%.3f%@}",
                                    step, k, config.bitrate(codebooks: k) / 1000, which, e.melL1, e.convergence, e.chroma, e.flatnessRatio, tail))
                }
            }
            let u = usage(model, windows: val)
            log.emit("{\"step\":\(step),\"val_codebook_usage\":[" + u.map { String(format: "%.3f", $0.usage) }.joined(separator: ",")
                     + "],\"val_perplexity\":[" + u.map { String(format: "%.0f", $0.perplexity) }.joined(separator: ",") + "]\(tail)}")
        }

        let schedule = LRSchedule(peak: o.learningRate, warmupSteps: o.warmup, totalSteps: o.steps, minRatio: 0.05)
        var rng = RNG.derive(seed: o.seed, index: UInt64(step))
        let start = Date()
        let span = (o.segmentFrames - 1) * config.hop + config.inputExtra
        var sums = [Double](repeating: 0, count: 11), count = 0
        var bassCount = 0   // steps whose batch had enough codebooks for the bass loss
        var usageSums = [Double](repeating: 0, count: config.codebooks), perplexitySums = usageSums, usageCounts = usageSums
        // One optimiser step on a loss, the same for every mode; the adversary (if any) keeps its
        // discriminator out of the generator's gradient.
        func optimise(_ total: Tensor) -> Float {
            model.params.zeroGrad()
            if let gan { gan.backward(total) } else { total.backward() }
            let norm = clipGradNorm(model.params, maxNorm: 1)
            opt.update(lr: schedule.rate(at: step))
            step += 1
            return norm
        }
        while step < o.steps {
            if let why = TrainingInterrupt.stopReason(started: start, maxMinutes: o.maxMinutes) { o.log(why); break }
            let x = randomBatch(corpora, batch: o.batchSize, span: span, rng: &rng)
            if bassOnly {
                let l = model.bassLosses(x, rng: &rng)
                let norm = optimise(l.total)
                for (i, v) in [l.total.item, l.convergence, l.logMagnitude, l.codecConvergence].enumerated() { sums[i] += Double(v) }
                count += 1
                if step % o.logEvery == 0 {
                    let n = Double(count)
                    log.emit(String(format: "{\"step\":%d,\"bass_loss\":%.4f,\"bass_sc\":%.4f,\"bass_log_mag\":%.4f,\"codec_band_sc\":%.4f,\"grad_norm\":%.3f,\"lr\":%.2e,\"elapsed_s\":%.0f}",
                                    step, sums[0] / n, sums[1] / n, sums[2] / n, sums[3] / n, norm, schedule.rate(at: step), Date().timeIntervalSince(start)))
                    sums = sums.map { _ in 0 }; count = 0
                }
            } else {
                let l = model.losses(x, training: true, decoderOnly: decoderOnly, bassWeight: bassOnly ? 0 : o.bassWeight, rng: &rng)
                var total = l.total
                var adversarial: [Float] = [0, 0, 0]
                if let gan {
                    let a = gan.step(o.adversarial, real: l.target, generated: l.waveform, scheduleFraction: schedule.rate(at: step) / o.learningRate)
                    total = total + a.loss * o.adversarial.weight
                    adversarial = [a.discriminator, a.generator, a.featureMatching]
                }
                let norm = optimise(total)
                for (i, v) in ([total.item, l.mel, l.convergence, l.logMagnitude, l.commit, l.phase, l.phaseFrequency] + adversarial + [l.bassConvergence ?? 0]).enumerated() { sums[i] += Double(v) }
                if l.bassConvergence != nil { bassCount += 1 }
                for k in 0..<l.active {
                    usageSums[k] += Double(l.usage[k]) / Double(config.codebookSize); perplexitySums[k] += Double(l.perplexity[k]); usageCounts[k] += 1
                }
                count += 1
                if step % o.logEvery == 0 {
                    let n = Double(count)
                    let usage = (0..<config.codebooks).map { usageCounts[$0] > 0 ? String(format: "%.2f", usageSums[$0] / usageCounts[$0]) : "null" }
                    let perplexity = (0..<config.codebooks).map { usageCounts[$0] > 0 ? String(format: "%.0f", perplexitySums[$0] / usageCounts[$0]) : "null" }
                    let gan = (gan == nil ? "" : String(format: "\"d_loss\":%.4f,\"g_adv\":%.4f,\"fm\":%.4f,", sums[7] / n, sums[8] / n, sums[9] / n))
                        + (bassCount == 0 ? "" : String(format: "\"bass_sc\":%.4f,", sums[10] / Double(bassCount)))
                    log.emit(String(format: "{\"step\":%d,\"loss\":%.4f,\"mel_l1\":%.4f,\"sc\":%.4f,\"log_mag\":%.4f,\"commit\":%.4f,\"phase\":%.4f,\"phase_if\":%.4f,%@\"grad_norm\":%.3f,\"lr\":%.2e,\"elapsed_s\":%.0f,",
                                    step, sums[0] / n, sums[1] / n, sums[2] / n, sums[3] / n, sums[4] / n, sums[5] / n, sums[6] / n, gan, norm, schedule.rate(at: step), Date().timeIntervalSince(start))
                             + "\"batch_usage\":[" + usage.joined(separator: ",") + "],\"batch_perplexity\":[" + perplexity.joined(separator: ",") + "]}")
                    sums = sums.map { _ in 0 }; count = 0; bassCount = 0
                    usageSums = usageSums.map { _ in 0 }; perplexitySums = usageSums; usageCounts = usageSums
                }
            }
            if step % o.evalEvery == 0 { heldOutEval(final: false) }
            if step % o.saveEvery == 0 { try save() }
        }
        try save()
        if TrainingInterrupt.signal == nil { heldOutEval(final: true) }   // an interrupted run ends at its checkpoint
    }
}

extension RVQCodecTrainer {
    /// `--bass-stream B --init-from DIR`: DIR's codec with a bass stream of B codebooks beside it,
    /// fitted by k-means to the band vectors of every corpus's training clips (an equal share from
    /// each, near-silent frames left out), scored on the held-out clips' bands; OUT gets the codec
    /// (its main weights, codebooks and codec id unchanged) with the stream and its ladder.
    static func fitBassStream(_ o: RVQCodecTrainOptions) throws {
        let b = o.bassStream!, from = o.initFrom!
        let folder = try TrainingFolder(o.outDir)
        let base = try RVQCodec.load(directory: from)
        var config = base.config
        var layout = BassStreamLayout()
        layout.down = defaultBassLayout(hop: config.hop).down; layout.codebooks = b
        layout.codebookSize = o.bassStreamSizes?.first ?? config.codebookSize; layout.codebookSizes = o.bassStreamSizes
        guard config.codebooks > b else { throw CheckpointError(path: from, message: "--bass-stream \(b) needs more main codebooks than that; the codec has \(config.codebooks)") }
        layout.rungs = BassStreamLayout.interleavedRungs(main: config.codebooks, bass: b)
        layout.postfilter = o.bassStreamPostfilter
        config.bassStream = layout
        if let problem = config.validate().first { throw CheckpointError(path: from + "/config.json", message: "with the bass stream: " + problem) }
        let model = RVQCodec(config: config, randomInit: false)
        var weights = base.weightsFile()
        weights.tensors = weights.tensors.filter { !$0.key.hasPrefix("bass_stream.") }
        try model.loadWeights(weights, path: from + "/model.safetensors", includingBassStream: false)
        let stream = model.bassStream!, d = stream.perFrame

        var rng = RNG(seed: o.seed)
        func bandVectors(_ clips: [[Float]]) -> [Float] {
            var out: [Float] = []
            for clip in clips {
                let v = stream.vectors(clip, frames: model.frameCount(length: clip.count))
                for f in 0..<(v.count / d) where v[(f * d)..<((f + 1) * d)].contains(where: { abs($0) > 1e-4 }) { out += v[(f * d)..<((f + 1) * d)] }
            }
            return out
        }
        var train: [Float] = [], heldOut: [[Float]] = []
        for dir in o.dataDirs {
            var v = bandVectors(try MusicClips.load(dir, split: "train", sampleRate: config.sampleRate))
            let n = v.count / d
            if n > o.bassStreamVectors {   // a seeded draw of frames without replacement (partial Fisher–Yates)
                var rows = Array(0..<n)
                for i in 0..<o.bassStreamVectors { rows.swapAt(i, i + rng.int(below: n - i)) }
                v = rows.prefix(o.bassStreamVectors).flatMap { v[($0 * d)..<(($0 + 1) * d)] }
            }
            o.log("codec: bass stream: \(v.count / d) band vectors of \(d) samples from the training clips of \(dir) (\(n) not silent)")
            train += v
            heldOut.append(bandVectors(try MusicClips.load(dir, split: "val", sampleRate: config.sampleRate)))
        }
        guard train.count / d >= layout.stageSizes.max()! else {
            throw CheckpointError(path: o.outDir, message: "the corpora give \(train.count / d) band vectors, fewer than the \(layout.stageSizes.max()!) codes of a codebook; give more audio")
        }
        let fits = stream.fit(train, iterations: o.bassStreamIterations, seed: o.seed) { k, it, perplexity in
            if (it + 1) % 10 == 0 { o.log(String(format: "codec: bass stream codebook %d, iteration %d: perplexity %.0f", k, it + 1, perplexity)) }
        }
        if let sig = TrainingInterrupt.signal {
            // A fit is one pass of a minute or two with no checkpoint to resume from: nothing is written.
            FileHandle.standardError.write(("gen: \(TemporaryFiles.signalName(sig)); the bass stream's fit stopped before its end and left no model in "
                                            + "\(o.outDir): run the command again (it takes a minute or two).\n").data(using: .utf8)!)
            TemporaryFiles.removeAllPending()
            Foundation.exit(128 + sig)
        }
        let log = try TrainingLog(path: folder.log, echo: o.log)
        for (k, f) in fits.enumerated() {
            log.emit(String(format: "{\"bass_stream_codebook\": %d, \"iterations\": %d, \"train_residual_db\": %.3f, \"train_usage\": %d, \"train_perplexity\": %.1f}",
                            k, o.bassStreamIterations, f.residualDB, f.usage, f.perplexity))
        }
        for (dir, v) in zip(o.dataDirs, heldOut) where v.count >= d {
            log.emit("{\"held_out\": \"\(dir)\", \"vectors\": \(v.count / d), " + stream.scores(v).enumerated().map { k, x in
                String(format: "\"codebook_%d\": {\"residual_db\": %.3f, \"usage\": %.4f, \"perplexity\": %.1f}", k, x.residualDB,
                       Float(x.usage) / Float(layout.stageSizes[k]), x.perplexity)
            }.joined(separator: ", ") + "}")
        }
        try ConfigFile.write(config, to: folder.config)
        try model.weightsFile(metadata: ["model": "rvq-codec", "model_id": model.modelID, "bass_stream_id": stream.streamID,
                                         "bass_stream_fit": "k-means, \(o.bassStreamIterations) iterations, seed \(o.seed)"]).write(to: folder.weights)
        o.log("codec: wrote \(folder.config) and \(folder.weights): codec \(model.modelID) (unchanged) with bass stream \(stream.streamID); ladder \(config.describe(config.rungs()))")
    }
}
