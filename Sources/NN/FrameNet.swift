// FrameNet.swift — the frame-rate networks shared by the vocoder and the music codec (Vocos,
// Siuzdak 2023): a ConvNeXt stack over STFT-rate frames, and the iSTFT head that ends it with each
// frame's log-magnitude and phase turned into samples. No layer runs at the sample rate.
//
//   features (B, S, Cin) ─▶ conv k7 ─▶ LN ─▶ N × ConvNeXt (depthwise k, MLP) ─▶ LN ─▶ (B, S, C)
//   ─▶ linear to 2·F (log|X|, arg X) ─▶ polar ─▶ iSTFT ─▶ (B, 1, (S − 1)·hop)
//
// The head comes in two kinds (`PhaseHead`): Vocos's, which predicts each frame's phase, and an
// integrated one, which predicts each frame's phase advance and integrates it as a phase vocoder
// does (`integratePhase`, Engine/Spectral.swift, says why a held note needs it).
import Engine
import Foundation

/// A convolution's kernel size must be odd (a centred "same" padding) and at most 31.
func oddKernelProblem(_ name: String, _ kernel: Int) -> [String] {
    (1...31).contains(kernel) && kernel % 2 == 1 ? [] : ["\(name) must be odd, in 1...31, got \(kernel)"]
}

/// The layout of a ConvNeXt stack; every field is range-checked by the owning model's config.
public struct ConvNeXtLayout: Equatable {
    public var inputs: Int, width: Int, blocks: Int, mlpDim: Int, kernel: Int
    /// "relu" (fast) or "gelu".
    public var activation: String

    public init(inputs: Int, width: Int, blocks: Int, mlpDim: Int, kernel: Int, activation: String) {
        self.inputs = inputs; self.width = width; self.blocks = blocks; self.mlpDim = mlpDim
        self.kernel = kernel; self.activation = activation
    }

    /// Frames of context each side that influence an output frame: the input conv (k7) and the blocks.
    public var receptiveFrames: Int { 3 + blocks * (kernel / 2) }

    /// The problems with these sizes, for a config's validate().
    public func problems(prefix: String = "") -> [String] {
        var p: [String] = []
        if !(1...1024).contains(width) { p.append("\(prefix)width must be in 1...1024, got \(width)") }
        if !(1...32).contains(blocks) { p.append("\(prefix)blocks must be in 1...32, got \(blocks)") }
        if !(1...8192).contains(mlpDim) { p.append("\(prefix)mlp_dim must be in 1...8192, got \(mlpDim)") }
        p += oddKernelProblem(prefix + "kernel", kernel)
        if !["relu", "gelu"].contains(activation) { p.append("\(prefix)activation must be relu or gelu, got '\(activation)'") }
        if p.isEmpty && Double(blocks) * 2 * Double(width) * Double(mlpDim) > 2e8 {
            p.append("\(prefix)width × mlp_dim × blocks make more than the 200 million parameters gen loads")
        }
        return p
    }
}

/// conv k7 → LN → ConvNeXt blocks → LN, channel-last: (B, S, inputs) → (B, S, width).
/// Parameter names under its scope: embed, embed_norm, blocks.i, final_norm.
public final class ConvNeXtStack {
    public let layout: ConvNeXtLayout
    let inConv: Conv1d
    let inNorm: LayerNorm, outNorm: LayerNorm
    let blocks: [ConvNeXtBlock]

    public init(_ l: ConvNeXtLayout, scope s: Scope, rng: inout RNG) {
        layout = l
        inConv = Conv1d(l.inputs, l.width, kernel: 7, scope: s.child("embed"), rng: &rng)
        inNorm = LayerNorm(l.width, scope: s.child("embed_norm"))
        blocks = (0..<l.blocks).map {
            ConvNeXtBlock(channels: l.width, mlpDim: l.mlpDim, kernel: l.kernel, layerScale: 1 / Float(l.blocks),
                          activation: l.activation == "gelu" ? gelu : relu, scope: s.child("blocks").child($0), rng: &rng)
        }
        outNorm = LayerNorm(l.width, scope: s.child("final_norm"))
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = inNorm(transpose(inConv(transpose(x, 1, 2)), 1, 2))   // (B, S, C)
        for block in blocks { h = block(h) }
        return outNorm(h)
    }
}

/// A frequency-local head beside the linear one (`bin_head` in a config): the frame's features →
/// C channels per bin (linear, ReLU) → a convolution along the frequency axis (C → C, ReLU) → one
/// more (C → the head's outputs per bin), added to the linear head's. Why: a linear head from W
/// features can only emit log-magnitudes and phase advances inside a W-dimensional affine subspace
/// of the F bins' values, and where a partial lies between two bins is a detail of each peak's
/// shape that such a subspace smooths away. Measured on held-out MMA clips, the original's own
/// log-magnitudes projected on their best 256-dimensional subspace lose it: phase read back from
/// them by PGHI gives CQT chroma 0.950 against 0.976 unprojected (ten clips; the codec's card). This head is
/// nonlinear per bin and sees its neighbours, so it has no such rank. Its last convolution starts
/// at zero, so a decoder that gains one starts out decoding exactly as before.
public struct BinHeadLayout: Codable, Equatable {
    public var channels: Int
    /// Bins each convolution spans (odd).
    public var kernel: Int

    public init(channels: Int, kernel: Int = 5) { self.channels = channels; self.kernel = kernel }

    /// The problems with these sizes, each named as the caller calls it (a config's key, a flag).
    public func problems(channelsName: String = "bin_head channels", kernelName: String = "bin_head kernel") -> [String] {
        var p: [String] = []
        if !(1...64).contains(channels) { p.append("\(channelsName) must be in 1...64, got \(channels)") }
        return p + oddKernelProblem(kernelName, kernel)
    }
}

/// `BinHeadLayout`'s network: (B, S, width) → (B, S, outputs · F), each bin's outputs grouped as the
/// linear head's are (all F of the first output, then all F of the next). Parameter names under
/// its scope: inner, conv, out.
final class BinHead {
    let inner: Linear
    let conv: Conv1d, out: Conv1d
    let bins: Int, channels: Int, outputs: Int

    init(_ l: BinHeadLayout, width: Int, bins f: Int, outputs: Int, scope s: Scope, rng: inout RNG) {
        bins = f; channels = l.channels; self.outputs = outputs
        inner = Linear(width, l.channels * f, scope: s.child("inner"), rng: &rng)
        conv = Conv1d(l.channels, l.channels, kernel: l.kernel, scope: s.child("conv"), rng: &rng)
        out = Conv1d(l.channels, outputs, kernel: l.kernel, scope: s.child("out"), rng: &rng)
        out.weight.data = [Float](repeating: 0, count: out.weight.data.count)
        if let b = out.bias { b.data = [Float](repeating: 0, count: b.data.count) }
    }

    func callAsFunction(_ h: Tensor) -> Tensor {
        let b = h.shape[0], s = h.shape[1]
        let x = reshape(relu(inner(h)), [b * s, channels, bins])       // (B·S, C, F): a bin axis to convolve along
        return reshape(out(relu(conv(x))), [b, s, outputs * bins])
    }
}

/// What the iSTFT head predicts for each frame's phase.
public enum PhaseHead: String, Codable, CaseIterable {
    /// The phase itself (Vocos): F outputs. A stationary input gives every frame the same phase.
    case absolute
    /// The phase advance since the last frame and an offset, integrated over the frames
    /// (`integratePhase`): 2F outputs. Holds a note's pitch between the bins.
    case integrated
}

/// A ConvNeXt stack ending in an iSTFT head: frame features (B, S, inputs) → samples.
/// Parameter names: the stack's, then head.
public final class ISTFTDecoder {
    public let stack: ConvNeXtStack
    let out: Linear
    let binHead: BinHead?
    public let basis: STFTBasis
    public let phaseHead: PhaseHead
    /// Clamp of the predicted log-magnitude (Vocos clips |X| at 100; music at full scale needs more).
    public let maxLogMagnitude: Float

    public init(_ l: ConvNeXtLayout, nFFT: Int, hop: Int, phaseHead: PhaseHead = .absolute, binHead bh: BinHeadLayout? = nil,
                maxLogMagnitude: Float = Foundation.log(100), scope s: Scope, rng: inout RNG) {
        stack = ConvNeXtStack(l, scope: s, rng: &rng)
        let f = nFFT / 2 + 1, outputs = phaseHead == .integrated ? 3 : 2
        out = Linear(l.width, outputs * f, scope: s.child("head"), rng: &rng)
        binHead = bh.map { BinHead($0, width: l.width, bins: f, outputs: outputs, scope: s.child("bin_head"), rng: &rng) }
        basis = STFTBasis(nFFT: nFFT, hop: hop)
        self.phaseHead = phaseHead
        self.maxLogMagnitude = maxLogMagnitude
    }

    /// APNet's phase losses of log-magnitudes and phases `mp` (B, S, 2F) against the complex
    /// spectrum `spec` (B, S, 2F) of the same frames, and their sum for this head: an absolute head
    /// counts all three over the bins within 60 dB; an integrated phase starts from 0 at the
    /// window's first frame, so only its differences along time and frequency can match, and
    /// bins count by magnitude (`phaseTargets(byMagnitude:)`).
    public func phaseLoss(magnitudePhase mp: Tensor, target spec: Tensor) -> (sum: Tensor, parts: PhaseLosses) {
        let f = basis.nFFT / 2 + 1
        let t = phaseTargets(spec, byMagnitude: phaseHead == .integrated)
        let p = phaseLosses(slice(mp, axis: 2, f..<(2 * f)), target: t.angle, weight: t.weight)
        return (phaseHead == .integrated ? p.groupDelay + p.frequency : p.instantaneous + p.groupDelay + p.frequency, p)
    }

    /// Frames of input context each side that influence an output sample's frames.
    public var contextFrames: Int { stack.layout.receptiveFrames + basis.nFFT / basis.hop }

    /// (B, S, inputs) → head output (B, S, 2F) (absolute: F log-magnitudes, then F phases per
    /// frame) or (B, S, 3F) (integrated: log-magnitudes, phase advances, phase offsets).
    public func head(_ x: Tensor) -> Tensor {
        let h = stack(x)
        guard let binHead else { return out(h) }
        return out(h) + binHead(h)
    }

    /// Head output → (B, S, 2F): F log-magnitudes, then F phases, per frame (the phases integrated
    /// from frame 0 for an integrated head).
    public func magnitudePhase(head h: Tensor) -> Tensor {
        phaseHead == .integrated ? integratePhase(h, nFFT: basis.nFFT, hop: basis.hop) : h
    }

    /// Log-magnitudes and phases (B, S, 2F) → waveform (B, 1, (S − 1)·hop) (or `length`), sample t
    /// lined up with frame t / hop.
    public func waveform(magnitudePhase mp: Tensor, length: Int? = nil) -> Tensor {
        istft(polarSpectrum(mp, maxLogMagnitude: maxLogMagnitude), basis: basis, padding: basis.nFFT / 2,
              length: length ?? (mp.shape[1] - 1) * basis.hop)
    }

    /// Head output → waveform (B, 1, (S − 1)·hop) (or `length`).
    public func waveform(head h: Tensor, length: Int? = nil) -> Tensor {
        waveform(magnitudePhase: magnitudePhase(head: h), length: length)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { waveform(head: head(x)) }

    /// Head weights for an integrated head from an absolute head's (weight (2F, C), bias (2F)): the
    /// log-magnitude rows kept, the phase rows as the offsets, zero advances (bin-centred at first).
    public static func integratedHead(fromAbsolute w: [Float], bias: [Float], bins f: Int) -> (weight: [Float], bias: [Float]) {
        let c = w.count / (2 * f)
        precondition(w.count == 2 * f * c && bias.count == 2 * f, "integratedHead: expects a (2F, C) head")
        let weight = Array(w[0..<(f * c)]) + [Float](repeating: 0, count: f * c) + Array(w[(f * c)...])
        return (weight, Array(bias[0..<f]) + [Float](repeating: 0, count: f) + Array(bias[f...]))
    }

    /// The weights of the model folder `dir` to start a new run from (`--init-from`), with the
    /// decoder's phase head rewritten as `requested` when one is asked for (`convertHead`);
    /// `phaseHead` (the config's, absent = absolute) follows the request.
    public static func initialWeights(from dir: String, phaseHead: inout PhaseHead?, requested: PhaseHead?,
                                      prefix: String, nFFT: Int) throws -> SafeTensorsFile {
        var file = try SafeTensorsFile.read(dir + "/model.safetensors")
        if let requested {
            try convertHead(in: &file, from: phaseHead ?? .absolute, to: requested, prefix: prefix,
                            bins: nFFT / 2 + 1, path: dir + "/model.safetensors")
            phaseHead = requested
        }
        return file
    }

    /// Rewrites the `prefix`head.weight / .bias of a weights file whose head is `current` as a
    /// `requested` head, for a fine-tune that changes the head's kind: nothing when they agree; an
    /// absolute head seeds an integrated one (`integratedHead`); the other way has nothing to seed.
    public static func convertHead(in file: inout SafeTensorsFile, from current: PhaseHead, to requested: PhaseHead,
                                   prefix: String, bins f: Int, path: String) throws {
        guard requested != current else { return }
        guard requested == .integrated else {
            throw CheckpointError(path: path, message: "--phase-head \(requested.rawValue): only an absolute head's weights can seed another head (this one is \(current.rawValue)).")
        }
        guard let w = file.tensors[prefix + "head.weight"], let b = file.tensors[prefix + "head.bias"],
              w.shape.count == 2, w.shape[0] == 2 * f, b.shape == [2 * f] else {
            throw CheckpointError(path: path, message: "no absolute iSTFT head of \(f) bins (\(prefix)head.weight, .bias) to seed an integrated head from.")
        }
        let wide = integratedHead(fromAbsolute: try w.floats(), bias: try b.floats(), bins: f)
        file.tensors[prefix + "head.weight"] = SafeTensor(floats: wide.weight, shape: [3 * f, w.shape[1]])
        file.tensors[prefix + "head.bias"] = SafeTensor(floats: wide.bias, shape: [3 * f])
    }

    /// One signal's features (S, inputs) → `length` samples ((S − 1)·hop by default; a centred STFT
    /// of L samples has 1 + L / hop frames, so L itself is the natural choice when it is known).
    /// Runs in chunks of `chunk` frames that each see `contextFrames` of context on both sides, so
    /// memory stays bounded for any length and the result equals the whole-signal computation up
    /// to float rounding.
    public func synthesize(features: [Float], frames: Int, length requested: Int? = nil, chunk: Int = 512) -> [Float] {
        let m = stack.layout.inputs, hop = basis.hop, half = basis.nFFT / 2
        let length = requested ?? max(frames - 1, 0) * hop
        var output = [Float](repeating: 0, count: length)
        guard frames >= 1, length > 0 else { return output }
        precondition(features.count == frames * m, "synthesize: \(features.count) values for \(frames) frames of \(m)")
        // Samples past the last frame's centre + N/2 have no frame: they stay 0.
        let reach = min(length, (frames - 1) * hop + half)
        // An integrated head's phases run over the whole signal: `carry` holds the accumulated
        // phase through frame `anchor` − 1, where this chunk's integration starts. Frames before
        // a − n_fft/hop reach no kept sample, and from there on the head has its full context.
        let overlap = basis.nFFT / hop, f = basis.nFFT / 2 + 1
        var carry = [Double](repeating: 0, count: f)
        var a = 0
        while a * hop < reach {
            let b = a + chunk                                 // output samples [a·hop, min(b·hop, reach))
            let lo = max(0, a - contextFrames), hi = min(frames, b + contextFrames)
            let end = min(b * hop, reach)
            let piece = Tensor(shape: [1, hi - lo, m], data: Array(features[(lo * m)..<(hi * m)]))
            let y: Tensor = GradMode.withoutGrad {
                let h = head(piece)
                guard phaseHead == .integrated else { return waveform(head: h, length: end - lo * hop) }
                let anchor = max(0, a - overlap), next = min(hi, max(anchor, b - overlap))
                var mp = [Float](repeating: 0, count: (hi - lo) * 2 * f)
                for t in 0..<(anchor - lo) {                   // unused frames: magnitudes, offsets
                    for k in 0..<f { mp[t * 2 * f + k] = h.data[t * 3 * f + k]; mp[t * 2 * f + f + k] = h.data[t * 3 * f + 2 * f + k] }
                }
                var part = [Float](repeating: 0, count: (next - anchor) * 2 * f)
                integratePhaseFrames(Array(h.data[((anchor - lo) * 3 * f)..<((next - lo) * 3 * f)]), into: &part, batch: 1,
                                     frames: next - anchor, bins: f, nFFT: basis.nFFT, hop: hop, accumulators: &carry)
                var rest = [Float](repeating: 0, count: (hi - next) * 2 * f), ahead = carry   // carry: through frame next − 1
                integratePhaseFrames(Array(h.data[((next - lo) * 3 * f)...]), into: &rest, batch: 1,
                                     frames: hi - next, bins: f, nFFT: basis.nFFT, hop: hop, accumulators: &ahead)
                mp.replaceSubrange(((anchor - lo) * 2 * f)..<((hi - lo) * 2 * f), with: part + rest)
                return waveform(magnitudePhase: Tensor(shape: [1, hi - lo, 2 * f], data: mp), length: end - lo * hop)
            }                                                  // samples from lo·hop
            for t in (a * hop)..<end { output[t] = y.data[t - lo * hop] }
            a = b
        }
        return output
    }
}
