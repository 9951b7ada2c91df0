// gen_kernels.h — the few kernels gen writes in C because Swift cannot ask for a CPU feature per
// function: half-precision (IEEE binary16) weight storage and the products that read it, for
// sampling steps whose time is reading the weights (the prior's KV-cached step), a vectorized
// GELU, bfloat16 products (AVX512-BF16, AMX tiles) and the FFT's eight-lane butterfly passes.
// Also a C thread-local, the engine's gradient switch, which every op reads.
#ifndef GEN_KERNELS_H
#define GEN_KERNELS_H
#include <stdint.h>

/// 1 when this CPU converts half precision in hardware (x86-64 AVX2 + FMA + F16C), else 0; the
/// functions below work either way (a portable path otherwise, slower).
int gk_has_f16c(void);

/// With on ≠ 0 every function below takes its portable path even where F16C is present (for tests
/// that compare the two paths); 0 restores the choice by CPU.
void gk_force_portable(int on);

/// dst[i] = src[i] rounded to half precision (to nearest, ties to even; beyond ±65504 → ±inf).
void gk_f32_to_f16(const float *src, uint16_t *dst, long n);

/// dst[i] = the float value of half-precision src[i].
void gk_f16_to_f32(const uint16_t *src, float *dst, long n);

/// y[r·ldy + j] = Σ_i w[j·k + i] · x[r·k + i] (+ bias[j]) for rows r < m and outputs j in [j0, j1):
/// x (m, k) times the transpose of a half-precision w (n, k), as a linear layer's x Wᵀ + b.
/// Any m; each weight row is read once for up to 4 rows of x at a time. bias may be NULL.
void gk_matmul_f16(const uint16_t *w, const float *bias, const float *x, float *y,
                   long m, long k, long j0, long j1, long ldy);

/// One query of one attention head against `len` cached positions whose keys and values (len, d)
/// are stored in half precision: out (d) = softmax(scale · K q) · V. `scores` is scratch of len floats.
void gk_attend_f16(const float *q, const uint16_t *k, const uint16_t *v, long len, long d, float scale,
                   float *out, float *scores);

/// y[i] = GELU(x[i]) with the tanh approximation (GPT-2's): ½x(1 + tanh(√(2/π)(x + 0.044715x³))),
/// tanh from a polynomial exp (within 2·10⁻⁷·|x| of the formula with libm's tanh). y may be x.
void gk_gelu_tanh(const float *x, float *y, long n);

/// gx[i] += g[i] · GELU'(x[i]), the derivative of gk_gelu_tanh's formula, with the same tanh.
void gk_gelu_tanh_backward(const float *x, const float *g, float *gx, long n);

/// y[i] = sin(scale · x[i]): reduced by the nearest multiple of π (two-part Cody–Waite constant),
/// then an odd Taylor polynomial to r¹¹ on [−π/2, π/2] (within 3·10⁻⁷ of libm's sinf for
/// |scale · x| < 10⁴). A plain loop the compiler vectorises: Snake's activation spends its time
/// here, and libm's sinf was a third of the codec's bass decoder. y may be x.
void gk_sin_scaled(const float *x, float *y, long n, float scale);

/// y = softmax(x) over n values, stable (the row's maximum subtracted), exp from the same polynomial
/// as gk_gelu_tanh's; returns ln Σ e^x (−∞ and y all 0 when every x is −∞). y may be x: each entry
/// is read before it is written.
double gk_softmax_row(const float *x, float *y, long n);

/// 1 when this CPU multiplies bfloat16 pairs in hardware (AVX512-BF16: AMD Zen 4, Intel Cooper
/// Lake and later), else 0 (then gk_bf16_gemm_rows declines and the caller keeps sgemm).
int gk_has_bf16(void);

/// With off ≠ 0, gk_has_bf16 answers 0 (for measurements and tests of the float path).
void gk_bf16_force_off(int off);

/// 1 when, beside AVX512-BF16, this CPU has AMX-BF16 tiles (Intel Sapphire Rapids and later) and
/// Linux has granted this process their state; gk_bf16_gemm_rows then runs untransposed products
/// on the tiles. Each element still sums its pairs of products in k's order from zero, but the
/// tiles add the two products of a pair in the other order from VDPBF16PS, so the last bits can
/// differ from the AVX512 kernel's (within the same bounds; a process uses one or the other).
int gk_has_amx(void);

/// With off ≠ 0, gk_has_amx answers 0 (the AVX512 kernel alone, for measurements and tests).
void gk_amx_force_off(int off);

/// f rounded to the nearest bfloat16 (ties to even), as a float: what the products see.
float gk_bf16_round(float f);

/// How many uint16 values gk_bf16_pack_b writes for a (k, n) operand.
long gk_bf16_packed_count(long k, long n);

/// Packs op(B) (k, n) for gk_bf16_gemm_rows: b is (k, n), or (n, k) read transposed when trans_b ≠ 0
/// (a linear layer's weight). Rounded to bfloat16; padded with zeros to an even k and whole panels.
void gk_bf16_pack_b(const float *b, long k, long n, int trans_b, uint16_t *packed);

/// Rows r0 ..< r0 + m of c (whose rows are n long; c points at row r0) = the same rows of op(A) · op(B)
/// (add ≠ 0: c += it): op(A) is A (rows of k, a points at row 0, lda ignored) or, with trans_a ≠ 0, A
/// stored (k, lda) read transposed; B packed by gk_bf16_pack_b. A's values are rounded to bfloat16;
/// products and sums in float. Returns 1, or 0 (c untouched) where the CPU lacks AVX512-BF16 or
/// memory for A's rounded copy could not be had. Callers split a product's rows over workers.
int gk_bf16_gemm_rows(const float *a, long lda, int trans_a, long r0, long m, long k, const uint16_t *packed, long n,
                      float *c, int add);

/// Mixed-precision training's switch, per thread (like the gradient switch): how many scopes in
/// which products recorded for or run by backward use bfloat16 are open.
int gk_bf16_training_depth(void);
void gk_set_bf16_training_depth(int depth);

/// 1 when DSP/FFT.swift's butterfly passes run eight lanes wide here (x86-64 with AVX), else 0
/// (FFT.swift's own four-lane passes then). The same operations per lane: the same bits.
int gk_fft_wide(void);

/// With on ≠ 0, gk_fft_wide answers 0 (for tests that compare the two paths).
void gk_fft_force_portable(int on);

/// FFT.swift's radix-4 pass of quarter size q (elements of 4 floats; q even) over m elements, in
/// place on split arrays, with FFT.swift's twiddles for the pass (six 4-float vectors per k).
void gk_fft_radix4_pass(float *re, float *im, long m, long q, const float *twiddles);

/// FFT.swift's closing radix-2 pass of half size h (elements; h even), in place, with its twiddles
/// (two 4-float vectors per k).
void gk_fft_radix2_pass(float *re, float *im, long h, const float *twiddles);

/// The engine's gradient switch (GradMode), per thread: how many `withoutGrad` scopes are open.
int gk_grad_disabled_depth(void);
void gk_set_grad_disabled_depth(int depth);

#endif
