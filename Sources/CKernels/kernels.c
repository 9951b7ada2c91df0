// kernels.c — half-precision weights and KV caches for gen's sampling steps, a vectorized GELU,
// and the engine's gradient switch (see include/gen_kernels.h). The AVX2/F16C functions are
// compiled for those features alone (target attributes) and chosen at run time, so the binary
// still runs on any x86-64 CPU (and on other architectures, portably).
#include "gen_kernels.h"
#include <math.h>
#include <string.h>

// MARK: portable half <-> float (IEEE 754 binary16), bit exact with F16C's conversions (NaN
// payloads aside: every NaN becomes the quiet 0x7E00 here)

static uint16_t f32_to_f16_scalar(float f) {
    uint32_t x; memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u, mag = x & 0x7fffffffu;
    if (mag >= 0x7f800000u) return (uint16_t)(sign | (mag > 0x7f800000u ? 0x7e00u : 0x7c00u));  // nan / inf
    if (mag >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);                                 // rounds past 65504
    if (mag < 0x38800000u) {                                                                   // half subnormal or zero
        if (mag < 0x33000000u) return (uint16_t)sign;                                          // below half the smallest subnormal
        uint32_t m = (mag & 0x7fffffu) | 0x800000u;
        int shift = 126 - (int)(mag >> 23);                                                    // 14 … 24
        uint32_t h = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (h & 1u))) h++;
        return (uint16_t)(sign | h);
    }
    uint32_t h = ((mag >> 13) - (112u << 10)), rem = mag & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++;
    return (uint16_t)(sign | h);
}

static float f16_to_f32_scalar(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu, x;
    if (e == 0) {
        if (m == 0) x = sign;
        else {                                                                                 // subnormal: normalise
            e = 113;
            while (!(m & 0x400u)) { m <<= 1; e--; }
            x = sign | (e << 23) | ((m & 0x3ffu) << 13);
        }
    } else if (e == 31) x = sign | 0x7f800000u | (m << 13);
    else x = sign | ((e + 112u) << 23) | (m << 13);
    float f; memcpy(&f, &x, 4); return f;
}

static void matmul_f16_scalar(const uint16_t *w, const float *bias, const float *x, float *y,
                              long m, long k, long j0, long j1, long ldy) {
    for (long j = j0; j < j1; j++) {
        const uint16_t *row = w + j * k;
        for (long r = 0; r < m; r++) {
            const float *xr = x + r * k; float s = 0;
            for (long i = 0; i < k; i++) s += f16_to_f32_scalar(row[i]) * xr[i];
            y[r * ldy + j] = s + (bias ? bias[j] : 0);
        }
    }
}

static void attend_f16_scalar(const float *q, const uint16_t *k, const uint16_t *v, long len, long d, float scale,
                              float *out, float *scores) {
    float mx = -INFINITY;
    for (long j = 0; j < len; j++) {
        float s = 0;
        for (long i = 0; i < d; i++) s += q[i] * f16_to_f32_scalar(k[j * d + i]);
        scores[j] = s * scale; if (scores[j] > mx) mx = scores[j];
    }
    float total = 0;
    for (long j = 0; j < len; j++) { scores[j] = expf(scores[j] - mx); total += scores[j]; }
    for (long i = 0; i < d; i++) out[i] = 0;
    for (long j = 0; j < len; j++) {
        float p = scores[j] / total;
        for (long i = 0; i < d; i++) out[i] += p * f16_to_f32_scalar(v[j * d + i]);
    }
}

static const float gelu_c = 0.7978845608028654f, gelu_a = 0.044715f;

static void gelu_scalar(const float *x, float *y, long n) {
    for (long i = 0; i < n; i++) { float v = x[i]; y[i] = 0.5f * v * (1 + tanhf(gelu_c * (v + gelu_a * v * v * v))); }
}

// d/dx ½x(1 + tanh u), u = c(x + ax³): ½(1 + t) + ½x(1 − t²)·c(1 + 3ax²), t = tanh u.
static void gelu_backward_scalar(const float *x, const float *g, float *gx, long n) {
    for (long i = 0; i < n; i++) {
        float v = x[i], t = tanhf(gelu_c * (v + gelu_a * v * v * v));
        gx[i] += g[i] * (0.5f * (1 + t) + 0.5f * v * (1 - t * t) * gelu_c * (1 + 3 * gelu_a * v * v));
    }
}

static double softmax_row_scalar(const float *x, float *y, long n) {
    float m = -INFINITY;
    for (long j = 0; j < n; j++) m = x[j] > m ? x[j] : m;
    if (m == -INFINITY) { for (long j = 0; j < n; j++) y[j] = 0; return -INFINITY; }
    double s = 0;
    for (long j = 0; j < n; j++) { float e = expf(x[j] - m); y[j] = e; s += e; }
    float inv = (float)(1 / s);
    for (long j = 0; j < n; j++) y[j] *= inv;
    return m + log(s);
}

// MARK: x86-64 with AVX2, FMA and F16C

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define GK_X86 1
#define GK_AVX __attribute__((target("avx2,fma,f16c")))

GK_AVX static inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

GK_AVX static void f32_to_f16_avx(const float *src, uint16_t *dst, long n) {
    long i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(dst + i), _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) dst[i] = f32_to_f16_scalar(src[i]);
}

GK_AVX static void f16_to_f32_avx(const uint16_t *src, float *dst, long n) {
    long i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
    for (; i < n; i++) dst[i] = f16_to_f32_scalar(src[i]);
}

#define GK_LOADH(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p)))

// The tail of a dot product past the last multiple of 16 (k % 16 ≠ 0), in scalar code.
static inline float dot_tail(const uint16_t *row, const float *x, long from, long k) {
    float s = 0;
    for (long i = from; i < k; i++) s += f16_to_f32_scalar(row[i]) * x[i];
    return s;
}

// One row of x against 4 weight rows at a time: 8 independent sums keep the FMA units busy
// (a single row's two sums would wait on the FMA latency), each x block loaded once for 4 rows.
GK_AVX static void matmul_f16_avx_1(const uint16_t *w, const float *bias, const float *x, float *y,
                                    long k, long j0, long j1) {
    long k16 = k & ~15L, j = j0;
    for (; j + 4 <= j1; j += 4) {
        const uint16_t *w0 = w + j * k, *w1 = w0 + k, *w2 = w1 + k, *w3 = w2 + k;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        for (long i = 0; i < k16; i += 16) {
            __m256 xa = _mm256_loadu_ps(x + i), xb = _mm256_loadu_ps(x + i + 8);
            a0 = _mm256_fmadd_ps(GK_LOADH(w0 + i), xa, a0); b0 = _mm256_fmadd_ps(GK_LOADH(w0 + i + 8), xb, b0);
            a1 = _mm256_fmadd_ps(GK_LOADH(w1 + i), xa, a1); b1 = _mm256_fmadd_ps(GK_LOADH(w1 + i + 8), xb, b1);
            a2 = _mm256_fmadd_ps(GK_LOADH(w2 + i), xa, a2); b2 = _mm256_fmadd_ps(GK_LOADH(w2 + i + 8), xb, b2);
            a3 = _mm256_fmadd_ps(GK_LOADH(w3 + i), xa, a3); b3 = _mm256_fmadd_ps(GK_LOADH(w3 + i + 8), xb, b3);
        }
        y[j] = hsum(_mm256_add_ps(a0, b0)) + dot_tail(w0, x, k16, k) + (bias ? bias[j] : 0);
        y[j + 1] = hsum(_mm256_add_ps(a1, b1)) + dot_tail(w1, x, k16, k) + (bias ? bias[j + 1] : 0);
        y[j + 2] = hsum(_mm256_add_ps(a2, b2)) + dot_tail(w2, x, k16, k) + (bias ? bias[j + 2] : 0);
        y[j + 3] = hsum(_mm256_add_ps(a3, b3)) + dot_tail(w3, x, k16, k) + (bias ? bias[j + 3] : 0);
    }
    for (; j < j1; j++) {
        const uint16_t *w0 = w + j * k;
        __m256 a0 = _mm256_setzero_ps(), b0 = a0;
        for (long i = 0; i < k16; i += 16) {
            a0 = _mm256_fmadd_ps(GK_LOADH(w0 + i), _mm256_loadu_ps(x + i), a0);
            b0 = _mm256_fmadd_ps(GK_LOADH(w0 + i + 8), _mm256_loadu_ps(x + i + 8), b0);
        }
        y[j] = hsum(_mm256_add_ps(a0, b0)) + dot_tail(w0, x, k16, k) + (bias ? bias[j] : 0);
    }
}

// Two rows of x (guidance's pair) against 2 weight rows at a time: again 8 independent sums.
GK_AVX static void matmul_f16_avx_2(const uint16_t *w, const float *bias, const float *x, float *y,
                                    long k, long j0, long j1, long ldy) {
    long k16 = k & ~15L, j = j0;
    const float *x0 = x, *x1 = x + k;
    for (; j + 2 <= j1; j += 2) {
        const uint16_t *w0 = w + j * k, *w1 = w0 + k;
        __m256 a00 = _mm256_setzero_ps(), a01 = a00, a10 = a00, a11 = a00, b00 = a00, b01 = a00, b10 = a00, b11 = a00;
        for (long i = 0; i < k16; i += 16) {
            __m256 wa0 = GK_LOADH(w0 + i), wb0 = GK_LOADH(w0 + i + 8), wa1 = GK_LOADH(w1 + i), wb1 = GK_LOADH(w1 + i + 8);
            __m256 xa0 = _mm256_loadu_ps(x0 + i), xb0 = _mm256_loadu_ps(x0 + i + 8);
            __m256 xa1 = _mm256_loadu_ps(x1 + i), xb1 = _mm256_loadu_ps(x1 + i + 8);
            a00 = _mm256_fmadd_ps(wa0, xa0, a00); b00 = _mm256_fmadd_ps(wb0, xb0, b00);   // x row 0, weight row 0
            a01 = _mm256_fmadd_ps(wa1, xa0, a01); b01 = _mm256_fmadd_ps(wb1, xb0, b01);   // x row 0, weight row 1
            a10 = _mm256_fmadd_ps(wa0, xa1, a10); b10 = _mm256_fmadd_ps(wb0, xb1, b10);   // x row 1, weight row 0
            a11 = _mm256_fmadd_ps(wa1, xa1, a11); b11 = _mm256_fmadd_ps(wb1, xb1, b11);   // x row 1, weight row 1
        }
        float c0 = bias ? bias[j] : 0, c1 = bias ? bias[j + 1] : 0;
        y[j] = hsum(_mm256_add_ps(a00, b00)) + dot_tail(w0, x0, k16, k) + c0;
        y[j + 1] = hsum(_mm256_add_ps(a01, b01)) + dot_tail(w1, x0, k16, k) + c1;
        y[ldy + j] = hsum(_mm256_add_ps(a10, b10)) + dot_tail(w0, x1, k16, k) + c0;
        y[ldy + j + 1] = hsum(_mm256_add_ps(a11, b11)) + dot_tail(w1, x1, k16, k) + c1;
    }
    if (j < j1) {
        matmul_f16_avx_1(w, bias, x0, y, k, j, j1);
        matmul_f16_avx_1(w, bias, x1, y + ldy, k, j, j1);
    }
}

// 3 or 4 rows of x against one weight row (the row loaded and converted once); 1 or 2 rows above.
GK_AVX static void matmul_f16_avx(const uint16_t *w, const float *bias, const float *x, float *y,
                                  long m, long k, long j0, long j1, long ldy) {
    long k16 = k & ~15L;
    if (m == 1) { matmul_f16_avx_1(w, bias, x, y, k, j0, j1); return; }
    if (m == 2) { matmul_f16_avx_2(w, bias, x, y, k, j0, j1, ldy); return; }
    for (long r0 = 0; r0 < m; r0 += 4) {
        long rows = m - r0 < 4 ? m - r0 : 4;
        if (rows == 1) { matmul_f16_avx_1(w, bias, x + r0 * k, y + r0 * ldy, k, j0, j1); continue; }
        if (rows == 2) { matmul_f16_avx_2(w, bias, x + r0 * k, y + r0 * ldy, k, j0, j1, ldy); continue; }
        const float *x0 = x + r0 * k, *x1 = x0 + (rows > 1 ? k : 0), *x2 = x0 + (rows > 2 ? 2 * k : 0), *x3 = x0 + (rows > 3 ? 3 * k : 0);
        for (long j = j0; j < j1; j++) {
            const uint16_t *row = w + j * k;
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
            for (long i = 0; i < k16; i += 16) {
                __m256 wa = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + i)));
                __m256 wb = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + i + 8)));
                a0 = _mm256_fmadd_ps(wa, _mm256_loadu_ps(x0 + i), a0); b0 = _mm256_fmadd_ps(wb, _mm256_loadu_ps(x0 + i + 8), b0);
                a1 = _mm256_fmadd_ps(wa, _mm256_loadu_ps(x1 + i), a1); b1 = _mm256_fmadd_ps(wb, _mm256_loadu_ps(x1 + i + 8), b1);
                a2 = _mm256_fmadd_ps(wa, _mm256_loadu_ps(x2 + i), a2); b2 = _mm256_fmadd_ps(wb, _mm256_loadu_ps(x2 + i + 8), b2);
                a3 = _mm256_fmadd_ps(wa, _mm256_loadu_ps(x3 + i), a3); b3 = _mm256_fmadd_ps(wb, _mm256_loadu_ps(x3 + i + 8), b3);
            }
            float s[4] = { hsum(_mm256_add_ps(a0, b0)), hsum(_mm256_add_ps(a1, b1)), hsum(_mm256_add_ps(a2, b2)), hsum(_mm256_add_ps(a3, b3)) };
            const float *xs[4] = { x0, x1, x2, x3 };
            for (long i = k16; i < k; i++) {
                float wi = f16_to_f32_scalar(row[i]);
                for (long r = 0; r < rows; r++) s[r] += wi * xs[r][i];
            }
            float b = bias ? bias[j] : 0;
            for (long r = 0; r < rows; r++) y[(r0 + r) * ldy + j] = s[r] + b;
        }
    }
}
// e^x for x in [−87.3, 88.3] (beyond: clamped): x = n·ln 2 + r, |r| ≤ ln 2 / 2, e^r by its Taylor
// polynomial to r⁷ (truncation below 2·10⁻⁸ relative), 2ⁿ put into the exponent bits.
GK_AVX static inline __m256 exp_avx(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.0f / 5040);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

GK_AVX static void attend_f16_avx(const float *q, const uint16_t *k, const uint16_t *v, long len, long d, float scale,
                                  float *out, float *scores) {
    if (d % 8 != 0 || d > 256) { attend_f16_scalar(q, k, v, len, d, scale, out, scores); return; }
    long blocks = d / 8;
    __m256 qv[32];
    for (long b = 0; b < blocks; b++) qv[b] = _mm256_mul_ps(_mm256_loadu_ps(q + 8 * b), _mm256_set1_ps(scale));
    float mx = -INFINITY;
    long j0 = 0;
    // Four keys at a time, two sums each (even and odd blocks): 8 independent FMA chains.
    for (; j0 + 4 <= len; j0 += 4) {
        const uint16_t *r0 = k + j0 * d, *r1 = r0 + d, *r2 = r1 + d, *r3 = r2 + d;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, c0 = a0, c1 = a0, c2 = a0, c3 = a0;
        long b = 0;
        for (; b + 2 <= blocks; b += 2) {
            a0 = _mm256_fmadd_ps(qv[b], GK_LOADH(r0 + 8 * b), a0); c0 = _mm256_fmadd_ps(qv[b + 1], GK_LOADH(r0 + 8 * b + 8), c0);
            a1 = _mm256_fmadd_ps(qv[b], GK_LOADH(r1 + 8 * b), a1); c1 = _mm256_fmadd_ps(qv[b + 1], GK_LOADH(r1 + 8 * b + 8), c1);
            a2 = _mm256_fmadd_ps(qv[b], GK_LOADH(r2 + 8 * b), a2); c2 = _mm256_fmadd_ps(qv[b + 1], GK_LOADH(r2 + 8 * b + 8), c2);
            a3 = _mm256_fmadd_ps(qv[b], GK_LOADH(r3 + 8 * b), a3); c3 = _mm256_fmadd_ps(qv[b + 1], GK_LOADH(r3 + 8 * b + 8), c3);
        }
        if (b < blocks) {
            a0 = _mm256_fmadd_ps(qv[b], GK_LOADH(r0 + 8 * b), a0); a1 = _mm256_fmadd_ps(qv[b], GK_LOADH(r1 + 8 * b), a1);
            a2 = _mm256_fmadd_ps(qv[b], GK_LOADH(r2 + 8 * b), a2); a3 = _mm256_fmadd_ps(qv[b], GK_LOADH(r3 + 8 * b), a3);
        }
        float s0 = hsum(_mm256_add_ps(a0, c0)), s1 = hsum(_mm256_add_ps(a1, c1)), s2 = hsum(_mm256_add_ps(a2, c2)), s3 = hsum(_mm256_add_ps(a3, c3));
        scores[j0] = s0; scores[j0 + 1] = s1; scores[j0 + 2] = s2; scores[j0 + 3] = s3;
        float m01 = s0 > s1 ? s0 : s1, m23 = s2 > s3 ? s2 : s3, m4 = m01 > m23 ? m01 : m23;
        if (m4 > mx) mx = m4;
    }
    for (long j = j0; j < len; j++) {
        const uint16_t *row = k + j * d;
        __m256 acc = _mm256_setzero_ps();
        for (long b = 0; b < blocks; b++) acc = _mm256_fmadd_ps(qv[b], GK_LOADH(row + 8 * b), acc);
        float s = hsum(acc); scores[j] = s; if (s > mx) mx = s;
    }
    __m256 total = _mm256_setzero_ps(), m8 = _mm256_set1_ps(mx);
    long j = 0;
    for (; j + 8 <= len; j += 8) {
        __m256 e = exp_avx(_mm256_sub_ps(_mm256_loadu_ps(scores + j), m8));
        _mm256_storeu_ps(scores + j, e); total = _mm256_add_ps(total, e);
    }
    float t = hsum(total);
    for (; j < len; j++) { scores[j] = expf(scores[j] - mx); t += scores[j]; }
    __m256 ov[32];
    for (long b = 0; b < blocks; b++) ov[b] = _mm256_setzero_ps();
    for (j = 0; j < len; j++) {
        const uint16_t *row = v + j * d;
        __m256 p = _mm256_set1_ps(scores[j]);
        for (long b = 0; b < blocks; b++)
            ov[b] = _mm256_fmadd_ps(p, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + 8 * b))), ov[b]);
    }
    __m256 inv = _mm256_set1_ps(1 / t);
    for (long b = 0; b < blocks; b++) _mm256_storeu_ps(out + 8 * b, _mm256_mul_ps(ov[b], inv));
}

// Eight lanes of partial sums in float, added in double: n up to a few thousand (attention rows,
// a vocabulary) loses under 1e-6 of the sum to rounding.
GK_AVX static double softmax_row_avx(const float *x, float *y, long n) {
    long j = 0;
    __m256 m8 = _mm256_set1_ps(-INFINITY);
    for (; j + 8 <= n; j += 8) m8 = _mm256_max_ps(m8, _mm256_loadu_ps(x + j));
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(m8), _mm256_extractf128_ps(m8, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_movehdup_ps(h));
    float m = _mm_cvtss_f32(h);
    for (; j < n; j++) m = x[j] > m ? x[j] : m;
    if (m == -INFINITY) { for (j = 0; j < n; j++) y[j] = 0; return -INFINITY; }
    m8 = _mm256_set1_ps(m);
    __m256 total = _mm256_setzero_ps();
    for (j = 0; j + 8 <= n; j += 8) {
        __m256 e = exp_avx(_mm256_sub_ps(_mm256_loadu_ps(x + j), m8));
        // exp_avx clamps at −87.3: a masked −∞ (or anything that far below the maximum) is exactly 0
        e = _mm256_and_ps(e, _mm256_cmp_ps(_mm256_loadu_ps(x + j), _mm256_set1_ps(m - 87.0f), _CMP_GT_OQ));
        _mm256_storeu_ps(y + j, e); total = _mm256_add_ps(total, e);
    }
    double s = hsum(total);
    for (; j < n; j++) { float e = expf(x[j] - m); y[j] = e; s += e; }
    float r = (float)(1 / s);
    __m256 inv = _mm256_set1_ps(r);
    for (j = 0; j + 8 <= n; j += 8) _mm256_storeu_ps(y + j, _mm256_mul_ps(_mm256_loadu_ps(y + j), inv));
    for (; j < n; j++) y[j] *= r;
    return m + log(s);
}

GK_AVX static void gelu_avx(const float *x, float *y, long n) {
    long i = 0;
    const __m256 c = _mm256_set1_ps(gelu_c), a = _mm256_set1_ps(gelu_a), half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1), two = _mm256_set1_ps(2);
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256 u = _mm256_mul_ps(c, _mm256_fmadd_ps(_mm256_mul_ps(a, v), _mm256_mul_ps(v, v), v));
        // tanh u = 1 − 2 / (e^{2u} + 1): exact at both ends (e^{2u} → 0 gives −1, → 2¹²⁸ gives 1)
        __m256 t = _mm256_sub_ps(one, _mm256_div_ps(two, _mm256_add_ps(exp_avx(_mm256_mul_ps(two, u)), one)));
        _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_mul_ps(half, v), _mm256_add_ps(one, t)));
    }
    gelu_scalar(x + i, y + i, n - i);
}

GK_AVX static void gelu_backward_avx(const float *x, const float *g, float *gx, long n) {
    long i = 0;
    const __m256 c = _mm256_set1_ps(gelu_c), a = _mm256_set1_ps(gelu_a), a3 = _mm256_set1_ps(3 * gelu_a),
                 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1), two = _mm256_set1_ps(2);
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i), v2 = _mm256_mul_ps(v, v);
        __m256 u = _mm256_mul_ps(c, _mm256_fmadd_ps(_mm256_mul_ps(a, v), v2, v));
        __m256 t = _mm256_sub_ps(one, _mm256_div_ps(two, _mm256_add_ps(exp_avx(_mm256_mul_ps(two, u)), one)));
        __m256 du = _mm256_mul_ps(c, _mm256_fmadd_ps(a3, v2, one));                       // du/dx
        __m256 sech2 = _mm256_fnmadd_ps(t, t, one);                                        // 1 − t²
        __m256 d = _mm256_mul_ps(half, _mm256_add_ps(_mm256_add_ps(one, t), _mm256_mul_ps(_mm256_mul_ps(v, sech2), du)));
        _mm256_storeu_ps(gx + i, _mm256_fmadd_ps(_mm256_loadu_ps(g + i), d, _mm256_loadu_ps(gx + i)));
    }
    gelu_backward_scalar(x + i, g + i, gx + i, n - i);
}
#endif

// MARK: dispatch

static int forced_portable = 0;

void gk_force_portable(int on) { forced_portable = on != 0; }

int gk_has_f16c(void) {
#ifdef GK_X86
    static int known = -1;
    if (forced_portable) return 0;
    if (known < 0) {
        __builtin_cpu_init();
        known = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    }
    return known;
#else
    return 0;
#endif
}

void gk_f32_to_f16(const float *src, uint16_t *dst, long n) {
#ifdef GK_X86
    if (gk_has_f16c()) { f32_to_f16_avx(src, dst, n); return; }
#endif
    for (long i = 0; i < n; i++) dst[i] = f32_to_f16_scalar(src[i]);
}

void gk_f16_to_f32(const uint16_t *src, float *dst, long n) {
#ifdef GK_X86
    if (gk_has_f16c()) { f16_to_f32_avx(src, dst, n); return; }
#endif
    for (long i = 0; i < n; i++) dst[i] = f16_to_f32_scalar(src[i]);
}

void gk_matmul_f16(const uint16_t *w, const float *bias, const float *x, float *y,
                   long m, long k, long j0, long j1, long ldy) {
#ifdef GK_X86
    if (gk_has_f16c()) { matmul_f16_avx(w, bias, x, y, m, k, j0, j1, ldy); return; }
#endif
    matmul_f16_scalar(w, bias, x, y, m, k, j0, j1, ldy);
}

void gk_attend_f16(const float *q, const uint16_t *k, const uint16_t *v, long len, long d, float scale,
                   float *out, float *scores) {
#ifdef GK_X86
    if (gk_has_f16c()) { attend_f16_avx(q, k, v, len, d, scale, out, scores); return; }
#endif
    attend_f16_scalar(q, k, v, len, d, scale, out, scores);
}

double gk_softmax_row(const float *x, float *y, long n) {
#ifdef GK_X86
    if (gk_has_f16c()) return softmax_row_avx(x, y, n);
#endif
    return softmax_row_scalar(x, y, n);
}

void gk_gelu_tanh(const float *x, float *y, long n) {
#ifdef GK_X86
    if (gk_has_f16c()) { gelu_avx(x, y, n); return; }
#endif
    gelu_scalar(x, y, n);
}

void gk_gelu_tanh_backward(const float *x, const float *g, float *gx, long n) {
#ifdef GK_X86
    if (gk_has_f16c()) { gelu_backward_avx(x, g, gx, n); return; }
#endif
    gelu_backward_scalar(x, g, gx, n);
}

// MARK: sine for Snake

void gk_sin_scaled(const float *x, float *y, long n, float scale) {
    const float inv_pi = 0.318309886183790671f, pi_a = 3.140625f, pi_b = 9.67653589793e-4f;
    for (long i = 0; i < n; i++) {
        float u = scale * x[i];
        float kf = u * inv_pi;
        int k = (int)(kf + (kf >= 0 ? 0.5f : -0.5f));
        float r = (u - (float)k * pi_a) - (float)k * pi_b;
        float r2 = r * r;
        float p = 1.f + r2 * (-1.f / 6 + r2 * (1.f / 120 + r2 * (-1.f / 5040 + r2 * (1.f / 362880 + r2 * (-1.f / 39916800)))));
        float s = r * p;
        y[i] = (k & 1) ? -s : s;
    }
}

// MARK: the engine's gradient switch

static _Thread_local int grad_disabled_depth = 0;

int gk_grad_disabled_depth(void) { return grad_disabled_depth; }

void gk_set_grad_disabled_depth(int depth) { grad_disabled_depth = depth; }

// MARK: mixed-precision training's switch

static _Thread_local int bf16_training_depth = 0;

int gk_bf16_training_depth(void) { return bf16_training_depth; }

void gk_set_bf16_training_depth(int depth) { bf16_training_depth = depth; }
