// Reduce.swift — sums and means, over everything or along one axis.

/// Sum of all elements, a scalar.
public func sum(_ x: Tensor) -> Tensor {
    var s: Double = 0
    for v in x.data { s += Double(v) }
    return Tensor.result(shape: [], data: [Float(s)], parents: [x]) { o in
        let g = o.grad![0]
        x.accumulateGrad { gx in for i in 0..<x.count { gx[i] += g } }
    }
}

/// Mean of all elements, a scalar.
public func mean(_ x: Tensor) -> Tensor { scale(sum(x), 1 / Float(max(x.count, 1))) }

/// Sum along `axis`; `keepDims` leaves a dimension of 1 in its place.
public func sum(_ x: Tensor, axis: Int, keepDims: Bool = false) -> Tensor {
    let ax = x.axis(axis)
    let outer = x.shape[..<ax].reduce(1, *), len = x.shape[ax], inner = x.shape[(ax + 1)...].reduce(1, *)
    var out = [Float](repeating: 0, count: outer * inner)
    for o in 0..<outer {
        for l in 0..<len {
            let base = (o * len + l) * inner
            for i in 0..<inner { out[o * inner + i] += x.data[base + i] }
        }
    }
    var outShape = x.shape
    if keepDims { outShape[ax] = 1 } else { outShape.remove(at: ax) }
    return Tensor.result(shape: outShape, data: out, parents: [x]) { t in
        let g = t.grad!
        x.accumulateGrad { gx in
            for o in 0..<outer {
                for l in 0..<len {
                    let base = (o * len + l) * inner
                    for i in 0..<inner { gx[base + i] += g[o * inner + i] }
                }
            }
        }
    }
}

/// Mean along `axis`.
public func mean(_ x: Tensor, axis: Int, keepDims: Bool = false) -> Tensor {
    scale(sum(x, axis: axis, keepDims: keepDims), 1 / Float(max(x.shape[x.axis(axis)], 1)))
}
