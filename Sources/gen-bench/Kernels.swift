// Kernels.swift — conv1d, conv-transpose1d and attention throughput, forward and backward.
import Engine
import Foundation

func benchConvAndAttention(peak: Double, rng: inout RNG) {
    // Conv1d at a FastSpeech/VQ-VAE size: (B, C, T) = (4, 128, 1024), kernel 3.
    let (b, c, t, k) = (4, 128, 1024, 3)
    let x = Tensor(randn: [b, c, t], rng: &rng, requiresGrad: true)
    let w = Tensor(randn: [c, c, k], std: 0.05, rng: &rng, requiresGrad: true)
    let bias = Tensor(zeros: [c], requiresGrad: true)
    let convFlops = 2 * Double(b * c * c * k * t)
    let fwd = time { _ = GradMode.withoutGrad { conv1d(x, weight: w, bias: bias, padding: 1) } }
    let both = time {
        let y = conv1d(x, weight: w, bias: bias, padding: 1)
        y.backward(seed: y.data); x.grad = nil; w.grad = nil; bias.grad = nil
    }
    let fg = gflops(convFlops, fwd), bg = gflops(3 * convFlops, both)
    print("conv1d (4,128,1024) k3 forward:      \(fmt(fg)) GFLOP/s  ratio to peak \(fmt(fg / peak, 3))")
    print("conv1d (4,128,1024) k3 fwd+bwd:      \(fmt(bg)) GFLOP/s  ratio to peak \(fmt(bg / peak, 3))")

    let wt = Tensor(randn: [c, c, 4], std: 0.05, rng: &rng, requiresGrad: true)
    let xt = Tensor(randn: [b, c, t / 2], rng: &rng, requiresGrad: true)
    let tFlops = 2 * Double(b * c * c * 4 * (t / 2))
    let tf = time { _ = GradMode.withoutGrad { convTranspose1d(xt, weight: wt, bias: nil, stride: 2, padding: 1) } }
    let tb = time {
        let y = convTranspose1d(xt, weight: wt, bias: nil, stride: 2, padding: 1)
        y.backward(seed: y.data); xt.grad = nil; wt.grad = nil
    }
    print("convT1d (4,128,512) k4 s2 forward:   \(fmt(gflops(tFlops, tf))) GFLOP/s  ratio to peak \(fmt(gflops(tFlops, tf) / peak, 3))")
    print("convT1d (4,128,512) k4 s2 fwd+bwd:   \(fmt(gflops(3 * tFlops, tb))) GFLOP/s  ratio to peak \(fmt(gflops(3 * tFlops, tb) / peak, 3))")

    // Causal self-attention: (B, H, T, D) = (2, 4, 512, 64).
    let (ab, h, at, d) = (2, 4, 512, 64)
    let q = Tensor(randn: [ab, h, at, d], rng: &rng, requiresGrad: true)
    let kk = Tensor(randn: [ab, h, at, d], rng: &rng, requiresGrad: true)
    let v = Tensor(randn: [ab, h, at, d], rng: &rng, requiresGrad: true)
    let attFlops = 4 * Double(ab * h * at * at * d)  // QKᵀ and PV, 2 flops per multiply-add
    let af = time { _ = GradMode.withoutGrad { attention(q: q, k: kk, v: v, causal: true) } }
    let abw = time {
        let y = attention(q: q, k: kk, v: v, causal: true)
        y.backward(seed: y.data); q.grad = nil; kk.grad = nil; v.grad = nil
    }
    print("attention (2,4,512,64) causal fwd:   \(fmt(gflops(attFlops, af))) GFLOP/s  ratio to peak \(fmt(gflops(attFlops, af) / peak, 3))")
    // backward does four more products of the same size (dV, dP, dQ, dK)
    print("attention (2,4,512,64) causal f+b:   \(fmt(gflops(3 * attFlops, abw))) GFLOP/s  ratio to peak \(fmt(gflops(3 * attFlops, abw) / peak, 3))")
    print("  (masked-out half of the causal products is still computed and counted)")
    print("")
}
