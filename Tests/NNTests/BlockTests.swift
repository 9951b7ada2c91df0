// BlockTests.swift — NN's blocks, the one forward each model runs through. Expected values come
// from identities, not stored numbers: a causal block's output at position t cannot depend on
// later inputs; decoding with a KV cache one position at a time reproduces the full pass;
// cross-attention over precomputed keys and values equals cross-attention over the context it was
// computed from; and the ConvNeXt block's gradients match central finite differences (see
// EngineTests/OpGradientTests for the tolerance argument).
import Engine
import NN
import XCTest

final class BlockTests: XCTestCase {
    func randn(_ shape: [Int], seed: UInt64) -> Tensor {
        var rng = RNG(seed: seed)
        return Tensor(randn: shape, rng: &rng)
    }

    func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { Swift.abs($0 - $1) }.max() ?? 0 }

    func testCausalBlockIgnoresTheFuture() {
        var rng = RNG(seed: 1)
        let block = TransformerBlock(dModel: 8, heads: 2, scope: Scope(ParameterStore()), rng: &rng)
        let x = randn([1, 5, 8], seed: 2)
        var y = x.data
        for i in (3 * 8)..<(5 * 8) { y[i] += Float(i % 5) - 2 }   // change positions 3 and 4 only (not by a constant, which LayerNorm removes)
        let a = GradMode.withoutGrad { block(x) }, b = GradMode.withoutGrad { block(Tensor(shape: [1, 5, 8], data: y)) }
        XCTAssertLessThan(maxAbsDiff(Array(a.data[0..<24]), Array(b.data[0..<24])), 1e-6, "positions 0–2 saw the future")
        XCTAssertGreaterThan(maxAbsDiff(Array(a.data[24...]), Array(b.data[24...])), 1e-3)
        // Not causal (an encoder): position 0 does see position 4.
        let c = GradMode.withoutGrad { block(x, causal: false) }, d = GradMode.withoutGrad { block(Tensor(shape: [1, 5, 8], data: y), causal: false) }
        XCTAssertGreaterThan(maxAbsDiff(Array(c.data[0..<8]), Array(d.data[0..<8])), 1e-4)
    }

    func testCachedDecodingMatchesTheFullPassWithCrossAttention() {
        var rng = RNG(seed: 3)
        let block = TransformerBlock(dModel: 8, heads: 2, crossDim: 6, scope: Scope(ParameterStore()), rng: &rng)
        let x = randn([2, 6, 8], seed: 4), context = randn([2, 3, 6], seed: 5)
        let mask = [true, true, false, true, false, false]
        let full = GradMode.withoutGrad { block(x, context: context, contextMask: mask) }
        let kv = block.cross!.keysValues(context, mask: mask)
        let cache = KVCache(batch: 2, heads: 2, maxLength: 6, headDim: 4)
        for t in 0..<6 {
            let step = GradMode.withoutGrad { block(slice(x, axis: 1, t..<(t + 1)), cross: kv, cache: cache) }
            let expected = slice(full, axis: 1, t..<(t + 1))
            XCTAssertLessThan(maxAbsDiff(step.data, expected.data), 1e-5, "position \(t)")
        }
    }

    func testConvNeXtBlockGradients() {
        var rng = RNG(seed: 6)
        let store = ParameterStore()
        let block = ConvNeXtBlock(channels: 4, mlpDim: 8, kernel: 3, layerScale: 0.5, activation: tanh, scope: Scope(store), rng: &rng)
        let x = randn([2, 5, 4], seed: 7)
        let report = gradCheck([x] + store.tensors, eps: 1e-2, maxPerInput: 24) { block(x) }
        XCTAssertLessThan(report.maxError, 1e-3, "\(report)")
        XCTAssertEqual(block(x).shape, [2, 5, 4])
    }

    // Expected: the bin head's gradients (through the frequency convolutions and the per-bin
    // ReLUs) match central finite differences, its last layer non-zero so every weight is reached;
    // and a decoder that gains a bin head (its last layer at zero, as built) computes exactly the
    // head output of the same decoder without one, built from the same seed.
    func testBinHeadGradientsAndZeroStart() {
        let layout = ConvNeXtLayout(inputs: 3, width: 6, blocks: 1, mlpDim: 8, kernel: 3, activation: "relu")
        var rng = RNG(seed: 6), same = RNG(seed: 6)
        let store = ParameterStore()
        let decoder = ISTFTDecoder(layout, nFFT: 16, hop: 4, phaseHead: .integrated, binHead: BinHeadLayout(channels: 3, kernel: 3),
                                   scope: Scope(store), rng: &rng)
        let plain = ISTFTDecoder(layout, nFFT: 16, hop: 4, phaseHead: .integrated, scope: Scope(ParameterStore()), rng: &same)
        let x = randn([2, 5, 3], seed: 7)
        XCTAssertEqual(GradMode.withoutGrad { decoder.head(x) }.data, GradMode.withoutGrad { plain.head(x) }.data)
        let binHead = store.names.indices.filter { store.names[$0].hasPrefix("bin_head.") }.map { store.tensors[$0] }
        XCTAssertEqual(binHead.count, 6)
        var fill = RNG(seed: 8)
        for t in binHead where t.data.allSatisfy({ $0 == 0 }) { t.data = (0..<t.count).map { _ in fill.uniform() - 0.5 } }
        let report = gradCheck([x] + binHead, eps: 1e-3, maxPerInput: 24) { decoder.head(x) }
        XCTAssertLessThan(report.maxError, 2e-2, "\(report)")
        XCTAssertEqual(decoder.head(x).shape, [2, 5, 27])
    }

    // Expected: the iSTFT decoder's chunked synthesis (bounded memory) equals one pass over the
    // whole signal for both heads, with and without a bin head; for the integrated head that needs each chunk to carry the
    // accumulated phase from the one before. Chunks of 5 frames, shorter than the context.
    func testChunkedSynthesisEqualsOnePassForBothHeads() {
        for head in PhaseHead.allCases {
            var rng = RNG(seed: 6)
            let layout = ConvNeXtLayout(inputs: 3, width: 8, blocks: 1, mlpDim: 16, kernel: 3, activation: "relu")
            for binHead in [nil, BinHeadLayout(channels: 2, kernel: 3)] {
                let store = ParameterStore()
                let decoder = ISTFTDecoder(layout, nFFT: 32, hop: 8, phaseHead: head, binHead: binHead, scope: Scope(store), rng: &rng)
                for t in store.tensors where t.data.allSatisfy({ $0 == 0 }) { t.data = (0..<t.count).map { _ in rng.uniform() * 0.2 - 0.1 } }
                let frames = 41, x = randn([1, frames, 3], seed: 7)
                let whole = GradMode.withoutGrad { decoder(x) }.data
                let chunked = decoder.synthesize(features: x.data, frames: frames, chunk: 5)
                XCTAssertEqual(chunked.count, whole.count)
                XCTAssertLessThan(maxAbsDiff(whole, chunked), 1e-4, "\(head), bin head \(binHead != nil): chunks differ from one pass")
            }
        }
    }
}
