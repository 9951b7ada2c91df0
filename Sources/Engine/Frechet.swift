// Frechet.swift — the Fréchet distance between two Gaussians fitted to embeddings (FID, Heusel et
// al. 2017; FAD, Kilgour et al. 2019):
//   d² = |μ₁ − μ₂|² + Tr(Σ₁ + Σ₂ − 2 (Σ₁ Σ₂)^½).
// Tr((Σ₁Σ₂)^½) is the sum of the square roots of the eigenvalues of Σ₁^½ Σ₂ Σ₁^½ (similar to Σ₁Σ₂,
// and symmetric positive semi-definite), so two symmetric eigendecompositions (cyclic Jacobi, in
// Double) do it without a general matrix square root.

public enum Frechet {
    /// Mean and covariance (unbiased, n − 1) of the rows of `x` (n × d).
    public static func moments(_ x: [[Double]]) -> (mean: [Double], covariance: [[Double]]) {
        let n = x.count, d = x.first?.count ?? 0
        var mean = [Double](repeating: 0, count: d)
        for row in x { for j in 0..<d { mean[j] += row[j] } }
        for j in 0..<d { mean[j] /= Double(max(n, 1)) }
        var cov = [[Double]](repeating: [Double](repeating: 0, count: d), count: d)
        for row in x {
            for i in 0..<d {
                let a = row[i] - mean[i]
                for j in i..<d { cov[i][j] += a * (row[j] - mean[j]) }
            }
        }
        for i in 0..<d { for j in i..<d { cov[i][j] /= Double(max(n - 1, 1)); cov[j][i] = cov[i][j] } }
        return (mean, cov)
    }

    /// The Fréchet distance d² between N(μ₁, Σ₁) and N(μ₂, Σ₂).
    public static func distance(mean1: [Double], cov1: [[Double]], mean2: [Double], cov2: [[Double]]) -> Double {
        let d = mean1.count
        var meanTerm = 0.0
        for i in 0..<d { meanTerm += (mean1[i] - mean2[i]) * (mean1[i] - mean2[i]) }
        var trace = 0.0
        for i in 0..<d { trace += cov1[i][i] + cov2[i][i] }
        let root1 = symmetricSqrt(cov1)
        let m = multiply(multiply(root1, cov2), root1)
        let (values, _) = eigenSymmetric(m)
        let crossTrace = values.reduce(0) { $0 + max($1, 0).squareRoot() }
        return meanTerm + trace - 2 * crossTrace
    }

    /// The Fréchet distance between the Gaussians fitted to two sets of embeddings.
    public static func distance(_ a: [[Double]], _ b: [[Double]]) -> Double {
        let (m1, c1) = moments(a), (m2, c2) = moments(b)
        return distance(mean1: m1, cov1: c1, mean2: m2, cov2: c2)
    }

    static func multiply(_ a: [[Double]], _ b: [[Double]]) -> [[Double]] {
        let n = a.count, k = b.count, m = b.first?.count ?? 0
        var out = [[Double]](repeating: [Double](repeating: 0, count: m), count: n)
        for i in 0..<n { for p in 0..<k where a[i][p] != 0 { let v = a[i][p]; for j in 0..<m { out[i][j] += v * b[p][j] } } }
        return out
    }

    /// The positive semi-definite square root of a symmetric matrix (negative eigenvalues, from
    /// rounding, count as 0).
    static func symmetricSqrt(_ a: [[Double]]) -> [[Double]] {
        let n = a.count
        let (values, vectors) = eigenSymmetric(a)   // columns of `vectors` are the eigenvectors
        var out = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
        for k in 0..<n {
            let s = max(values[k], 0).squareRoot()
            guard s > 0 else { continue }
            for i in 0..<n { let v = vectors[i][k] * s; for j in 0..<n { out[i][j] += v * vectors[j][k] } }
        }
        return out
    }

    /// Eigenvalues and eigenvectors (as columns) of a symmetric matrix, by cyclic Jacobi rotations
    /// until the off-diagonal mass is below 1e-22 of the total (at most 100 sweeps).
    public static func eigenSymmetric(_ matrix: [[Double]]) -> (values: [Double], vectors: [[Double]]) {
        let n = matrix.count
        var a = matrix
        var v = (0..<n).map { i in (0..<n).map { $0 == i ? 1.0 : 0.0 } }
        let total = a.reduce(0) { $0 + $1.reduce(0) { $0 + $1 * $1 } }
        for _ in 0..<100 {
            var off = 0.0
            for i in 0..<n { for j in (i + 1)..<max(n, i + 1) { off += a[i][j] * a[i][j] } }
            if off <= 1e-22 * max(total, 1e-300) { break }
            for p in 0..<n {
                for q in (p + 1)..<max(n, p + 1) where a[p][q] != 0 {
                    let theta = (a[q][q] - a[p][p]) / (2 * a[p][q])
                    let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<n {
                        let akp = a[k][p], akq = a[k][q]
                        a[k][p] = c * akp - s * akq; a[k][q] = s * akp + c * akq
                    }
                    for k in 0..<n {
                        let apk = a[p][k], aqk = a[q][k]
                        a[p][k] = c * apk - s * aqk; a[q][k] = s * apk + c * aqk
                    }
                    for k in 0..<n {
                        let vkp = v[k][p], vkq = v[k][q]
                        v[k][p] = c * vkp - s * vkq; v[k][q] = s * vkp + c * vkq
                    }
                }
            }
        }
        return ((0..<n).map { a[$0][$0] }, v)
    }
}
