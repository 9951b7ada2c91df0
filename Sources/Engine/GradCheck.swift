// GradCheck.swift — central finite differences against the tape's analytic gradients.
//
// The engine is Float32, so the check projects the op's output onto fixed random weights w
// (L = Σ w·f(x), accumulated in Double) and compares dL/dx from backward() with
// (L(x+ε) − L(x−ε)) / 2ε. Float32 rounding in f limits the numeric side to about
// 1e-7·|L|/ε, which is why callers use ε ≈ 1e-2…1e-3 and a mixed tolerance.

public struct GradCheckReport: CustomStringConvertible {
    /// Largest |analytic − numeric| / max(1, |analytic|, |numeric|) over all checked elements.
    public var maxError: Double
    public var worstInput: Int
    public var worstIndex: Int
    public var analytic: Double
    public var numeric: Double
    public var checked: Int

    public var description: String {
        "max error \(maxError) at input \(worstInput)[\(worstIndex)]: analytic \(analytic) vs numeric \(numeric) (\(checked) elements)"
    }
}

/// Checks d(Σ w·f)/d(inputs) for every element of every input (or `maxPerInput` spread samples).
/// `skip` lets callers avoid kinks (e.g. ReLU at 0): return true for elements not to check.
public func gradCheck(_ inputs: [Tensor], eps: Float = 1e-2, maxPerInput: Int = 64, seed: UInt64 = 7,
                      skip: ((Int, Int) -> Bool)? = nil, _ f: () -> Tensor) -> GradCheckReport {
    for t in inputs { t.requiresGrad = true; t.grad = nil }
    let y0 = f()
    var rng = RNG(seed: seed)
    let w = (0..<y0.count).map { _ in rng.uniform() * 2 - 1 }
    y0.backward(seed: w)
    let analytic = inputs.map { $0.grad ?? [Float](repeating: 0, count: $0.count) }

    func objective() -> Double {
        let y = GradMode.withoutGrad { f() }
        var s: Double = 0
        for i in 0..<y.count { s += Double(w[i]) * Double(y.data[i]) }
        return s
    }

    var report = GradCheckReport(maxError: 0, worstInput: -1, worstIndex: -1, analytic: 0, numeric: 0, checked: 0)
    for (k, t) in inputs.enumerated() {
        let stride = max(1, t.count / maxPerInput)
        for i in Swift.stride(from: 0, to: t.count, by: stride) {
            if skip?(k, i) == true { continue }
            let orig = t.data[i]
            t.data[i] = orig + eps; let up = objective()
            t.data[i] = orig - eps; let down = objective()
            t.data[i] = orig
            let numeric = (up - down) / (2 * Double(eps))
            let a = Double(analytic[k][i])
            let err = Swift.abs(a - numeric) / max(1, Swift.abs(a), Swift.abs(numeric))
            report.checked += 1
            if err > report.maxError || report.worstInput < 0 {
                report.maxError = err; report.worstInput = k; report.worstIndex = i
                report.analytic = a; report.numeric = numeric
            }
        }
    }
    for t in inputs { t.grad = nil }
    return report
}
