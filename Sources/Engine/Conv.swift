// Conv.swift — 1-D convolution and transposed convolution (PyTorch semantics and weight layouts),
// each forward beside its backward. Both lower to sgemm through im2col / col2im (Chellapilla et al.
// 2006): a conv is "unfold the input into columns, multiply by the weight matrix", and a transposed
// conv is exactly its adjoint, "multiply, then fold the columns back (adding overlaps)".
//
// Letters: B batch, C channels (Cin, Cout), T time, K kernel taps.
// Geometry shared by both ops: output column t of the unfolded (C·K, T) matrix reads input
// position t·stride − padding + k·dilation for tap k; positions outside 0..<L are zeros.

// MARK: im2col / col2im

/// The first and one-past-last column t whose position t·stride + offset lies in 0..<length.
@inline(__always)
private func validColumns(offset: Int, stride: Int, length: Int, columns: Int) -> Range<Int> {
    let lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride
    let last = length - 1 - offset
    let hi = last >= 0 ? min(columns, last / stride + 1) : 0
    return lo < hi ? lo..<hi : 0..<0
}

/// Unfolds src (C, L) into col (C·K, T): col[c·K + k, t] = src[c, t·s − p + k·d] (0 outside).
/// Every element of col is written.
func im2col(_ src: UnsafePointer<Float>, _ col: UnsafeMutablePointer<Float>,
            channels: Int, length: Int, kernel: Int, stride: Int, padding: Int, dilation: Int, columns: Int) {
    let rows = channels * kernel
    // Rows are independent; a parallel split only pays once a row block is a few thousand values.
    parallelFor(rows, minChunk: max(1, 8192 / max(columns, 1))) { range in
        for row in range {
            let c = row / kernel, k = row % kernel
            let offset = k * dilation - padding
            let dst = col + row * columns, s = src + c * length
            let valid = validColumns(offset: offset, stride: stride, length: length, columns: columns)
            for t in 0..<valid.lowerBound { dst[t] = 0 }
            if stride == 1 {
                for t in valid { dst[t] = s[t + offset] }
            } else {
                for t in valid { dst[t] = s[t * stride + offset] }
            }
            for t in valid.upperBound..<columns { dst[t] = 0 }
        }
    }
}

/// Folds col (C·K, T) back into dst (C, L), *adding* each column entry at the position im2col
/// read it from (the adjoint of im2col). Parallel over channels: each channel owns its dst row.
func col2im(_ col: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>,
            channels: Int, length: Int, kernel: Int, stride: Int, padding: Int, dilation: Int, columns: Int) {
    parallelFor(channels, minChunk: max(1, 8192 / max(kernel * columns, 1))) { range in
        for c in range {
            let d = dst + c * length
            for k in 0..<kernel {
                let offset = k * dilation - padding
                let s = col + (c * kernel + k) * columns
                let valid = validColumns(offset: offset, stride: stride, length: length, columns: columns)
                if stride == 1 {
                    for t in valid { d[t + offset] += s[t] }
                } else {
                    for t in valid { d[t * stride + offset] += s[t] }
                }
            }
        }
    }
}

/// Adds bias[c] to every time step of each (C, T) row block, B times.
/// out[b, c, t] = bias[c].
private func setBias(_ out: UnsafeMutablePointer<Float>, _ bias: UnsafePointer<Float>, batch: Int, channels: Int, time: Int) {
    for b in 0..<batch {
        for c in 0..<channels { (out + (b * channels + c) * time).update(repeating: bias[c], count: time) }
    }
}

private func addBias(_ out: UnsafeMutablePointer<Float>, _ bias: UnsafePointer<Float>, batch: Int, channels: Int, time: Int) {
    for b in 0..<batch {
        for c in 0..<channels {
            let row = out + (b * channels + c) * time, v = bias[c]
            for t in 0..<time { row[t] += v }
        }
    }
}

/// dbias[c] += Σ_b Σ_t g[b, c, t].
private func accumulateBiasGrad(_ bias: Tensor, _ g: [Float], batch: Int, channels: Int, time: Int) {
    bias.accumulateGrad { gb in
        g.withUnsafeBufferPointer { gp in
            for b in 0..<batch {
                for c in 0..<channels {
                    let row = gp.baseAddress! + (b * channels + c) * time
                    var s: Float = 0
                    for t in 0..<time { s += row[t] }
                    gb[c] += s
                }
            }
        }
    }
}

// MARK: conv1d

/// Output length of `conv1d`: ⌊(T + 2p − d(K − 1) − 1) / s⌋ + 1.
public func conv1dOutputLength(_ length: Int, kernel: Int, stride: Int = 1, padding: Int = 0, dilation: Int = 1) -> Int {
    (length + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1
}

/// 1-D cross-correlation as PyTorch's `Conv1d`: x (B, Cin, T), weight (Cout, Cin, K), bias (Cout)
/// → (B, Cout, Tout). Per item: out (Cout, Tout) = W (Cout, Cin·K) · im2col(x) (Cin·K, Tout).
public func conv1d(_ x: Tensor, weight: Tensor, bias: Tensor?,
                   stride: Int = 1, padding: Int = 0, dilation: Int = 1) -> Tensor {
    precondition(x.rank == 3 && weight.rank == 3 && weight.shape[1] == x.shape[1],
                 "conv1d: expects x (B, Cin, T) and weight (Cout, Cin, K), got \(x.shape) and \(weight.shape)")
    precondition(stride >= 1 && dilation >= 1 && padding >= 0,
                 "conv1d: stride \(stride) and dilation \(dilation) must be ≥ 1, padding \(padding) ≥ 0")
    let batch = x.shape[0], cin = x.shape[1], length = x.shape[2]
    let cout = weight.shape[0], kernel = weight.shape[2]
    let tout = conv1dOutputLength(length, kernel: kernel, stride: stride, padding: padding, dilation: dilation)
    precondition(tout >= 1, "conv1d: input length \(length) is shorter than the receptive field "
                 + "\(dilation * (kernel - 1) + 1) (padding \(padding)); pad the input or shrink the kernel")
    if let bias { precondition(bias.shape == [cout], "conv1d: bias shape \(bias.shape), expected [\(cout)]") }
    let rows = cin * kernel
    // A 1×1, stride-1, unpadded conv reads x itself as the column matrix: skip the unfold.
    let pointwise = kernel == 1 && stride == 1 && padding == 0
    let bf16 = weight.frozenForInference && BF16Products.serves(m: cout, n: tout, k: rows)

    // (B, Cout, Tout): the bias (or sgemm with beta 0) writes every element first.
    var out = uninitializedFloats(batch * cout * tout) { _ in }
    // (Cin·K, Tout), reused per item; im2col writes every element, so it starts uninitialised.
    var col = [Float](unsafeUninitializedCapacity: pointwise ? 0 : rows * tout) { _, n in n = pointwise ? 0 : rows * tout }
    x.withValues { xp in weight.withValues { wp in
    out.withUnsafeMutableBufferPointer { op in col.withUnsafeMutableBufferPointer { cp in
        if let bias { bias.withValues { setBias(op.baseAddress!, $0.baseAddress!, batch: batch, channels: cout, time: tout) } }
        for b in 0..<batch {
            let xb = xp.baseAddress! + b * cin * length
            var colPtr = UnsafePointer(xb)
            if !pointwise {
                im2col(xb, cp.baseAddress!, channels: cin, length: length, kernel: kernel,
                       stride: stride, padding: padding, dilation: dilation, columns: tout)
                colPtr = UnsafePointer(cp.baseAddress!)
            }
            if bf16 {   // the columns are this item's data: packed here, once, for both workers
                let packed = BF16Products.pack(colPtr, k: rows, n: tout, transposed: false)
                packed.withUnsafeBufferPointer { pp in
                    BF16Products.product(wp.baseAddress!, colPtr, packed: pp.baseAddress!, op.baseAddress! + b * cout * tout,
                                         m: cout, n: tout, k: rows, transB: false, accumulate: bias != nil)
                }
            } else {
                sgemmForward(wp.baseAddress!, colPtr, op.baseAddress! + b * cout * tout,
                             m: cout, n: tout, k: rows, beta: bias == nil ? 0 : 1)
            }
        }
    } } } }

    var parents = [x, weight]
    if let bias { parents.append(bias) }
    return Tensor.result(shape: [batch, cout, tout], data: out, parents: parents) { o in
        let g = o.grad!  // (B, Cout, Tout)
        // The columns are recomputed rather than saved: one unfold is cheap next to the sgemms, and
        // saving (B, Cin·K, Tout) would multiply activation memory by K.
        var col = [Float](repeating: 0, count: weight.requiresGrad && !pointwise ? rows * tout : 0)  // (Cin·K, Tout)
        var dcol = [Float](repeating: 0, count: x.requiresGrad && !pointwise ? rows * tout : 0)     // (Cin·K, Tout)
        g.withUnsafeBufferPointer { gp in x.withValues { xp in weight.withValues { wp in
        col.withUnsafeMutableBufferPointer { cp in dcol.withUnsafeMutableBufferPointer { dp in
            for b in 0..<batch {
                let gb = gp.baseAddress! + b * cout * tout
                let xb = xp.baseAddress! + b * cin * length
                if weight.requiresGrad {
                    var colPtr = UnsafePointer(xb)
                    if !pointwise {
                        im2col(xb, cp.baseAddress!, channels: cin, length: length, kernel: kernel,
                               stride: stride, padding: padding, dilation: dilation, columns: tout)
                        colPtr = UnsafePointer(cp.baseAddress!)
                    }
                    // dW (Cout, Cin·K) += dOut (Cout, Tout) · colᵀ (Tout, Cin·K)
                    weight.accumulateGrad { gw in
                        sgemm(gb, colPtr, gw, m: cout, n: rows, k: tout, transB: true, beta: 1)
                    }
                }
                if x.requiresGrad {
                    x.accumulateGrad { gx in
                        let gxb = gx + b * cin * length
                        if pointwise {  // dx (Cin, T) += Wᵀ (Cin, Cout) · dOut (Cout, T)
                            sgemm(wp.baseAddress!, gb, gxb, m: rows, n: tout, k: cout, transA: true, beta: 1)
                        } else {        // dcol (Cin·K, Tout) = Wᵀ · dOut, folded back onto x
                            sgemm(wp.baseAddress!, gb, dp.baseAddress!, m: rows, n: tout, k: cout, transA: true)
                            col2im(dp.baseAddress!, gxb, channels: cin, length: length, kernel: kernel,
                                   stride: stride, padding: padding, dilation: dilation, columns: tout)
                        }
                    }
                }
            }
        } } } } }
        if let bias, bias.requiresGrad { accumulateBiasGrad(bias, g, batch: batch, channels: cout, time: tout) }
    }
}

// MARK: convTranspose1d

/// Output length of `convTranspose1d`: (T − 1)s − 2p + d(K − 1) + outputPadding + 1.
public func convTranspose1dOutputLength(_ length: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                                        outputPadding: Int = 0, dilation: Int = 1) -> Int {
    (length - 1) * stride - 2 * padding + dilation * (kernel - 1) + outputPadding + 1
}

/// Transposed 1-D convolution as PyTorch's `ConvTranspose1d`: x (B, Cin, T), weight (Cin, Cout, K),
/// bias (Cout) → (B, Cout, Tout). It is the adjoint of `conv1d` with the same weight read as
/// (Cout_conv = Cin, Cin_conv = Cout, K): per item cols (Cout·K, T) = Wᵀ · x, then col2im.
/// `outputPadding` (< max(stride, dilation), as in PyTorch) picks among the input lengths that a
/// strided conv maps to the same T.
public func convTranspose1d(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int = 0,
                            outputPadding: Int = 0, dilation: Int = 1) -> Tensor {
    precondition(x.rank == 3 && weight.rank == 3 && weight.shape[0] == x.shape[1],
                 "convTranspose1d: expects x (B, Cin, T) and weight (Cin, Cout, K), got \(x.shape) and \(weight.shape)")
    precondition(stride >= 1 && dilation >= 1 && padding >= 0,
                 "convTranspose1d: stride \(stride) and dilation \(dilation) must be ≥ 1, padding \(padding) ≥ 0")
    precondition(outputPadding >= 0 && outputPadding < max(stride, dilation),
                 "convTranspose1d: outputPadding \(outputPadding) must be in 0..<max(stride, dilation) = \(max(stride, dilation))")
    let batch = x.shape[0], cin = x.shape[1], length = x.shape[2]
    let cout = weight.shape[1], kernel = weight.shape[2]
    let tout = convTranspose1dOutputLength(length, kernel: kernel, stride: stride, padding: padding,
                                           outputPadding: outputPadding, dilation: dilation)
    precondition(tout >= 1, "convTranspose1d: output length \(tout) < 1 for input length \(length); reduce padding \(padding)")
    if let bias { precondition(bias.shape == [cout], "convTranspose1d: bias shape \(bias.shape), expected [\(cout)]") }
    let rows = cout * kernel

    var out = [Float](repeating: 0, count: batch * cout * tout)  // (B, Cout, Tout)
    var col = [Float](repeating: 0, count: rows * length)        // (Cout·K, T), reused per item
    x.withValues { xp in weight.withValues { wp in
    out.withUnsafeMutableBufferPointer { op in col.withUnsafeMutableBufferPointer { cp in
        for b in 0..<batch {
            // cols (Cout·K, T) = Wᵀ (Cout·K, Cin) · x (Cin, T)
            sgemm(wp.baseAddress!, xp.baseAddress! + b * cin * length, cp.baseAddress!,
                  m: rows, n: length, k: cin, transA: true)
            col2im(cp.baseAddress!, op.baseAddress! + b * cout * tout, channels: cout, length: tout, kernel: kernel,
                   stride: stride, padding: padding, dilation: dilation, columns: length)
        }
        if let bias { bias.withValues { addBias(op.baseAddress!, $0.baseAddress!, batch: batch, channels: cout, time: tout) } }
    } } } }

    var parents = [x, weight]
    if let bias { parents.append(bias) }
    return Tensor.result(shape: [batch, cout, tout], data: out, parents: parents) { o in
        let g = o.grad!  // (B, Cout, Tout)
        var dcol = [Float](repeating: 0, count: rows * length)  // (Cout·K, T): im2col of dOut
        g.withUnsafeBufferPointer { gp in x.withValues { xp in weight.withValues { wp in
        dcol.withUnsafeMutableBufferPointer { dp in
            for b in 0..<batch where x.requiresGrad || weight.requiresGrad {
                im2col(gp.baseAddress! + b * cout * tout, dp.baseAddress!, channels: cout, length: tout, kernel: kernel,
                       stride: stride, padding: padding, dilation: dilation, columns: length)
                let xb = xp.baseAddress! + b * cin * length
                if x.requiresGrad {
                    // dx (Cin, T) += W (Cin, Cout·K) · dcol (Cout·K, T)
                    x.accumulateGrad { gx in
                        sgemm(wp.baseAddress!, dp.baseAddress!, gx + b * cin * length, m: cin, n: length, k: rows, beta: 1)
                    }
                }
                if weight.requiresGrad {
                    // dW (Cin, Cout·K) += x (Cin, T) · dcolᵀ (T, Cout·K)
                    weight.accumulateGrad { gw in
                        sgemm(xb, dp.baseAddress!, gw, m: cin, n: rows, k: length, transB: true, beta: 1)
                    }
                }
            }
        } } } }
        if let bias, bias.requiresGrad { accumulateBiasGrad(bias, g, batch: batch, channels: cout, time: tout) }
    }
}

// MARK: depthwiseConv1d

/// Depthwise 1-D convolution over time on channel-last x (B, T, C), stride 1:
/// y[b, t, c] = bias[c] + Σ_k w[c, k]·x[b, t + k − padding, c] (zeros outside), T' = T + 2p − K + 1.
/// weight (C, K). Channel-last is the layout of the blocks around it (LayerNorm and Linear act on
/// the last axis), so ConvNeXt needs no transposes. Backward: dx[t + k − p] += w·dy,
/// dw[c, k] += Σ x·dy, db[c] += Σ dy.
public func depthwiseConv1d(_ x: Tensor, weight: Tensor, bias: Tensor?, padding: Int) -> Tensor {
    precondition(x.rank == 3 && weight.rank == 2 && weight.shape[0] == x.shape[2],
                 "depthwiseConv1d: expects x (B, T, C) and weight (C, K), got \(x.shape) and \(weight.shape)")
    let b = x.shape[0], t = x.shape[1], c = x.shape[2], k = weight.shape[1]
    let tout = t + 2 * padding - k + 1
    precondition(padding >= 0 && tout >= 1, "depthwiseConv1d: \(t) frames with padding \(padding) are shorter than the kernel \(k)")
    if let bias { precondition(bias.shape == [c], "depthwiseConv1d: bias shape \(bias.shape), expected [\(c)]") }
    // (K, C): the taps of one offset for all channels are contiguous, so the inner loop runs over C.
    var wt = [Float](repeating: 0, count: k * c)
    for ci in 0..<c { for ki in 0..<k { wt[ki * c + ci] = weight.data[ci * k + ki] } }
    var out = uninitializedFloats(b * tout * c) { _ in }   // each row starts at its bias, or 0, below
    let xs = x.data, bs = bias?.data
    // Through raw pointers, so the channel loop vectorises (each channel's sum keeps its order).
    out.withUnsafeMutableBufferPointer { op in xs.withUnsafeBufferPointer { xp in wt.withUnsafeBufferPointer { wp in
        let op = op.baseAddress!, xs = xp.baseAddress!, wt = wp.baseAddress!
        parallelFor(b * tout, minChunk: max(1, 4096 / max(c, 1))) { range in
            for row in range {
                let bi = row / tout, to = row % tout, y = op + row * c
                if let bs { bs.withUnsafeBufferPointer { y.update(from: $0.baseAddress!, count: c) } } else { y.update(repeating: 0, count: c) }
                for ki in 0..<k {
                    let ti = to + ki - padding
                    if ti < 0 || ti >= t { continue }
                    let xr = xs + (bi * t + ti) * c, wr = wt + ki * c
                    for ci in 0..<c { y[ci] += wr[ci] * xr[ci] }
                }
            }
        }
    } } }
    var parents = [x, weight]
    if let bias { parents.append(bias) }
    return Tensor.result(shape: [b, tout, c], data: out, parents: parents) { o in
        let g = o.grad!
        if x.requiresGrad {
            x.accumulateGrad { gx in
                parallelFor(b, minChunk: 1) { range in
                    for bi in range { for to in 0..<tout {
                        let gr = (bi * tout + to) * c
                        for ki in 0..<k {
                            let ti = to + ki - padding
                            if ti < 0 || ti >= t { continue }
                            let xr = (bi * t + ti) * c, wr = ki * c
                            for ci in 0..<c { gx[xr + ci] += wt[wr + ci] * g[gr + ci] }
                        }
                    } }
                }
            }
        }
        if weight.requiresGrad {
            var gwt = [Float](repeating: 0, count: k * c)   // (K, C)
            for row in 0..<(b * tout) {
                let bi = row / tout, to = row % tout, gr = row * c
                for ki in 0..<k {
                    let ti = to + ki - padding
                    if ti < 0 || ti >= t { continue }
                    let xr = (bi * t + ti) * c, wr = ki * c
                    for ci in 0..<c { gwt[wr + ci] += xs[xr + ci] * g[gr + ci] }
                }
            }
            weight.accumulateGrad { gw in for ci in 0..<c { for ki in 0..<k { gw[ci * k + ki] += gwt[ki * c + ci] } } }
        }
        if let bias, bias.requiresGrad {
            bias.accumulateGrad { gb in for row in 0..<(b * tout) { for ci in 0..<c { gb[ci] += g[row * c + ci] } } }
        }
    }
}
