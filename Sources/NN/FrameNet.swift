// FrameNet.swift — the frame-rate networks shared by the vocoder and the music codec (Vocos,
// Siuzdak 2023): a ConvNeXt stack over STFT-rate frames, and the iSTFT head that ends it with each
// frame's log-magnitude and phase turned into samples. No layer runs at the sample rate.
//
//   features (B, S, Cin) ─▶ conv k7 ─▶ LN ─▶ N × ConvNeXt (depthwise k, MLP) ─▶ LN ─▶ (B, S, C)
//   ─▶ linear to 2·F (log|X|, arg X) ─▶ polar ─▶ iSTFT ─▶ (B, 1, (S − 1)·hop)
import Engine
import Foundation

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
        if !(1...31).contains(kernel) || kernel % 2 == 0 { p.append("\(prefix)kernel must be odd, in 1...31, got \(kernel)") }
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

/// A ConvNeXt stack ending in Vocos's iSTFT head: frame features (B, S, inputs) → samples.
/// Parameter names: the stack's, then head.
public final class ISTFTDecoder {
    public let stack: ConvNeXtStack
    let out: Linear
    public let basis: STFTBasis
    /// Clamp of the predicted log-magnitude (Vocos clips |X| at 100; music at full scale needs more).
    public let maxLogMagnitude: Float

    public init(_ l: ConvNeXtLayout, nFFT: Int, hop: Int, maxLogMagnitude: Float = Foundation.log(100), scope s: Scope, rng: inout RNG) {
        stack = ConvNeXtStack(l, scope: s, rng: &rng)
        out = Linear(l.width, nFFT + 2, scope: s.child("head"), rng: &rng)
        basis = STFTBasis(nFFT: nFFT, hop: hop)
        self.maxLogMagnitude = maxLogMagnitude
    }

    /// Frames of input context each side that influence an output sample's frames.
    public var contextFrames: Int { stack.layout.receptiveFrames + basis.nFFT / basis.hop }

    /// (B, S, inputs) → head output (B, S, 2F): F log-magnitudes, then F phases, per frame.
    public func head(_ x: Tensor) -> Tensor { out(stack(x)) }

    /// Head output (B, S, 2F) → waveform (B, 1, (S − 1)·hop) (or `length`), sample t lined up with frame t / hop.
    public func waveform(head h: Tensor, length: Int? = nil) -> Tensor {
        istft(polarSpectrum(h, maxLogMagnitude: maxLogMagnitude), basis: basis, padding: basis.nFFT / 2,
              length: length ?? (h.shape[1] - 1) * basis.hop)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { waveform(head: head(x)) }

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
        var a = 0
        while a * hop < reach {
            let b = a + chunk                                 // output samples [a·hop, min(b·hop, reach))
            let lo = max(0, a - contextFrames), hi = min(frames, b + contextFrames)
            let end = min(b * hop, reach)
            let piece = Tensor(shape: [1, hi - lo, m], data: Array(features[(lo * m)..<(hi * m)]))
            let y = GradMode.withoutGrad { waveform(head: head(piece), length: end - lo * hop) }   // samples from lo·hop
            for t in (a * hop)..<end { output[t] = y.data[t - lo * hop] }
            a = b
        }
        return output
    }
}
