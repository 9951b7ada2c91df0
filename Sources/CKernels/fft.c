// fft.c — the butterfly passes of DSP/FFT.swift's fast kernel, eight lanes wide where the CPU has
// AVX. Swift is compiled for x86-64's baseline, so its SIMD4 vectors are four-lane SSE; here each
// AVX instruction does two of FFT.swift's butterflies at once (the elements of two consecutive k,
// their broadcast twiddles side by side). The arithmetic per lane is FFT.swift's, operation for
// operation (multiplies, adds and subtracts, no fused multiply-add), so the transform is the same
// to the bit on either path. Layouts are FFT.swift's: split real and imaginary arrays of vector
// elements of 4 floats; per k of a radix-4 pass six 4-float twiddle vectors (cos, sin of W^2k, W^k,
// W^3k, each broadcast), per k of the radix-2 pass two.
#include "gen_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define GK_FFT_AVX __attribute__((target("avx")))

static int fft_forced_portable = 0;

void gk_fft_force_portable(int on) { fft_forced_portable = on != 0; }

int gk_fft_wide(void) {
    static int known = -1;
    if (fft_forced_portable) return 0;
    if (known < 0) { __builtin_cpu_init(); known = __builtin_cpu_supports("avx"); }
    return known;
}

/// Twiddle vector j (0–5) of k and of k + 1 (vectors of 4 floats, `per` of them per k), side by side.
GK_FFT_AVX static inline __m256 pair(const float *w, int j, int per) {
    return _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(w + 4 * j)), _mm_loadu_ps(w + 4 * (per + j)), 1);
}

#define LD(p) _mm256_loadu_ps(p)
#define ST(v, p) _mm256_storeu_ps(p, v)
#define MUL _mm256_mul_ps
#define ADD _mm256_add_ps
#define SUB _mm256_sub_ps

GK_FFT_AVX void gk_fft_radix4_pass(float *re, float *im, long m, long q, const float *twiddles) {
    long stride = 4 * q;   // floats between a_j and a_j+1
    for (long base = 0; base < m; base += 4 * q) {
        float *xr = re + 4 * base, *xi = im + 4 * base;
        const float *w = twiddles;
        for (long k = 0; k < q; k += 2) {
            __m256 a0r = LD(xr), a0i = LD(xi);
            __m256 a1r = LD(xr + stride), a1i = LD(xi + stride);
            __m256 a2r = LD(xr + 2 * stride), a2i = LD(xi + 2 * stride);
            __m256 a3r = LD(xr + 3 * stride), a3i = LD(xi + 3 * stride);
            __m256 c1 = pair(w, 0, 6), s1 = pair(w, 1, 6), c2 = pair(w, 2, 6), s2 = pair(w, 3, 6);
            __m256 c3 = pair(w, 4, 6), s3 = pair(w, 5, 6);
            __m256 t1r = SUB(MUL(a1r, c1), MUL(a1i, s1)), t1i = ADD(MUL(a1r, s1), MUL(a1i, c1));
            __m256 t2r = SUB(MUL(a2r, c2), MUL(a2i, s2)), t2i = ADD(MUL(a2r, s2), MUL(a2i, c2));
            __m256 t3r = SUB(MUL(a3r, c3), MUL(a3i, s3)), t3i = ADD(MUL(a3r, s3), MUL(a3i, c3));
            __m256 sr = ADD(a0r, t1r), si = ADD(a0i, t1i), dr = SUB(a0r, t1r), di = SUB(a0i, t1i);
            __m256 ur = ADD(t2r, t3r), ui = ADD(t2i, t3i), vr = SUB(t2r, t3r), vi = SUB(t2i, t3i);
            ST(ADD(sr, ur), xr); ST(ADD(si, ui), xi);
            ST(ADD(dr, vi), xr + stride); ST(SUB(di, vr), xi + stride);
            ST(SUB(sr, ur), xr + 2 * stride); ST(SUB(si, ui), xi + 2 * stride);
            ST(SUB(dr, vi), xr + 3 * stride); ST(ADD(di, vr), xi + 3 * stride);
            xr += 8; xi += 8; w += 48;
        }
    }
}

GK_FFT_AVX void gk_fft_radix2_pass(float *re, float *im, long h, const float *twiddles) {
    long stride = 4 * h;
    float *xr = re, *xi = im;
    const float *w = twiddles;
    for (long k = 0; k < h; k += 2) {
        __m256 ar = LD(xr), ai = LD(xi), br = LD(xr + stride), bi = LD(xi + stride);
        __m256 c = pair(w, 0, 2), s = pair(w, 1, 2);
        __m256 tr = SUB(MUL(br, c), MUL(bi, s)), ti = ADD(MUL(br, s), MUL(bi, c));
        ST(ADD(ar, tr), xr); ST(ADD(ai, ti), xi);
        ST(SUB(ar, tr), xr + stride); ST(SUB(ai, ti), xi + stride);
        xr += 8; xi += 8; w += 16;
    }
}
#else
void gk_fft_force_portable(int on) { (void)on; }
int gk_fft_wide(void) { return 0; }
void gk_fft_radix4_pass(float *re, float *im, long m, long q, const float *twiddles) { (void)re; (void)im; (void)m; (void)q; (void)twiddles; }
void gk_fft_radix2_pass(float *re, float *im, long h, const float *twiddles) { (void)re; (void)im; (void)h; (void)twiddles; }
#endif
