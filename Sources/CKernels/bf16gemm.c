// bf16gemm.c — matrix products with bfloat16 operands and float accumulation, for inference on
// CPUs with AVX512-BF16 (AMD Zen 4, Intel Cooper Lake and Sapphire Rapids): VDPBF16PS multiplies
// 32 pairs of bfloat16 values per instruction into 16 float sums, twice sgemm's FMAs per cycle.
// Both operands are rounded to bfloat16 (8 significant bits, to nearest, ties to even); products
// and sums are float. The AVX512 functions are compiled for those features alone (target
// attributes) and chosen at run time (gk_has_bf16), so the binary runs on any x86-64 CPU.
//
// Layout. B (the K × N operand) is packed once per product into panels of 32 columns: for each
// pair of rows k = 2p, 2p + 1, the 32 columns' pairs (B[2p][n], B[2p+1][n]) side by side, zero
// padded to an even K and a multiple of 32 columns. A's rows are rounded to bfloat16 with an even
// row length, so a pair A[r][2p], A[r][2p+1] is one 32-bit load. A micro-kernel keeps a tile of
// MR rows × 32 columns of C in 2·MR registers, one broadcast of A's pair per row and two panel
// loads per pair of k. Each panel holds its pairs of k padded with zero pairs to a multiple of 16.
//
// AMX. Where the CPU also has AMX-BF16 (Intel Sapphire Rapids and later) and Linux grants the
// process its tile state, untransposed products run on the tile unit instead: TDPBF16PS multiplies
// a 16-row × 32-k tile of A by a 32-k × 16-column tile of B into a 16 × 16 float tile, 8,192
// multiply-adds per instruction. A panel's 16 pairs of k × 16 columns are one B tile as packed
// (rows 128 bytes apart), A's rounded rows are A tiles, and a block of 32 rows × 32 columns of C
// stays in 4 tiles while k runs. Every element still sums its products pair after pair in k's
// order, starting from zero, so a row's values do not depend on the rows or columns beside it;
// rows and columns past the ends are computed on zero padding and not stored.
#include "gen_kernels.h"
#include <stdlib.h>
#include <string.h>

/// Round to nearest bfloat16, ties to even (NaN kept a quiet NaN).
static inline uint16_t bf16_round(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}

float gk_bf16_round(float f) {
    uint32_t u = (uint32_t)bf16_round(f) << 16;
    float r;
    memcpy(&r, &u, 4);
    return r;
}

/// Pairs of k a panel holds: (k + 1) / 2 rounded up to a multiple of 16 (one AMX tile's depth).
static inline long padded_pairs(long k) { return (((k + 1) / 2 + 15) / 16) * 16; }

long gk_bf16_packed_count(long k, long n) { return ((n + 31) / 32) * padded_pairs(k) * 64; }

#if defined(__x86_64__)
static int pack_avx512(const float *b, long ld, long k, long n, uint16_t *packed);
static int pack_t_avx512(const float *b, long k, long n, uint16_t *packed);
#endif
int gk_has_bf16(void);

void gk_bf16_pack_b(const float *b, long k, long n, int trans_b, uint16_t *packed) {
#if defined(__x86_64__)
    if (gk_has_bf16() && (trans_b ? pack_t_avx512(b, k, n, packed) : pack_avx512(b, n, k, n, packed))) return;
#endif
    long kp = padded_pairs(k), panels = (n + 31) / 32;
    for (long p = 0; p < panels; p++) {
        for (long q = 0; q < kp; q++) {
            uint16_t *dst = packed + (p * kp + q) * 64;
            for (long j = 0; j < 32; j++) {
                long col = p * 32 + j;
                for (long h = 0; h < 2; h++) {
                    long row = 2 * q + h;
                    float v = 0;
                    if (col < n && row < k) v = trans_b ? b[col * k + row] : b[row * n + col];
                    dst[2 * j + h] = bf16_round(v);
                }
            }
        }
    }
}

#if defined(__x86_64__)
#include <immintrin.h>
#define GK_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#define MR 12

/// C[r][0..<cols] for r < ROWS (a compile-time constant once inlined) = A's rows · the panel.
GK_BF16 __attribute__((always_inline)) static inline void
tile(const uint16_t *a, long rs, long qs, const uint16_t *panel, long kp, float *c, long ldc, int rows, int cols, int add) {
    __m512 acc0[MR], acc1[MR];
#pragma unroll
    for (int r = 0; r < MR; r++) { acc0[r] = _mm512_setzero_ps(); acc1[r] = _mm512_setzero_ps(); }
    for (long q = 0; q < kp; q++) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(panel + q * 64);
        __m512bh b1 = (__m512bh)_mm512_loadu_si512(panel + q * 64 + 32);
#pragma unroll
        for (int r = 0; r < MR; r++) {
            if (r < rows) {
                int32_t pair;
                memcpy(&pair, a + r * rs + q * qs, 4);
                __m512bh x = (__m512bh)_mm512_set1_epi32(pair);
                acc0[r] = _mm512_dpbf16_ps(acc0[r], x, b0);
                acc1[r] = _mm512_dpbf16_ps(acc1[r], x, b1);
            }
        }
    }
    __mmask16 m0 = cols >= 16 ? 0xffff : (__mmask16)((1u << cols) - 1);
    __mmask16 m1 = cols >= 32 ? 0xffff : cols > 16 ? (__mmask16)((1u << (cols - 16)) - 1) : 0;
#pragma unroll
    for (int r = 0; r < MR; r++) {
        if (r >= rows) break;
        if (add) {
            acc0[r] = _mm512_add_ps(acc0[r], _mm512_maskz_loadu_ps(m0, c + r * ldc));
            acc1[r] = _mm512_add_ps(acc1[r], _mm512_maskz_loadu_ps(m1, c + r * ldc + 16));
        }
        _mm512_mask_storeu_ps(c + r * ldc, m0, acc0[r]);
        _mm512_mask_storeu_ps(c + r * ldc + 16, m1, acc1[r]);
    }
}

#define TILE_N(N) GK_BF16 static void tile##N(const uint16_t *a, long rs, long qs, const uint16_t *p, long kp, float *c, long ldc, \
                                               int cols, int add) { tile(a, rs, qs, p, kp, c, ldc, N, cols, add); }
TILE_N(1) TILE_N(2) TILE_N(3) TILE_N(4) TILE_N(5) TILE_N(6)
TILE_N(7) TILE_N(8) TILE_N(9) TILE_N(10) TILE_N(11) TILE_N(12)
typedef void (*tile_fn)(const uint16_t *, long, long, const uint16_t *, long, float *, long, int, int);
static const tile_fn tiles[MR + 1] = { 0, tile1, tile2, tile3, tile4, tile5, tile6, tile7, tile8, tile9, tile10, tile11, tile12 };

/// A's rows rounded to bfloat16, each row padded with a zero to an even length.
GK_BF16 static void round_rows(const float *a, long m, long k, uint16_t *out) {
    long k2 = (k + 1) & ~1L;
    for (long r = 0; r < m; r++) {
        const float *src = a + r * k;
        uint16_t *dst = out + r * k2;
        long i = 0;
        for (; i + 32 <= k; i += 32) {
            __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + i + 16), _mm512_loadu_ps(src + i));
            _mm512_storeu_si512(dst + i, (__m512i)v);
        }
        for (; i < k; i++) dst[i] = bf16_round(src[i]);
        if (k2 > k) dst[k] = 0;
    }
}

/// B (k, n) packed as gk_bf16_pack_b does: two rows at a time, 32 columns rounded and interleaved
/// into pairs by one two-source permutation per 16 pairs. Rows and columns past the ends read 0.
GK_BF16 static int pack_avx512(const float *b, long ld, long k, long n, uint16_t *packed) {
    long kp = (k + 1) / 2, kpad = padded_pairs(k), panels = (n + 31) / 32;
    static const uint16_t lo_idx[32] = { 0, 32, 1, 33, 2, 34, 3, 35, 4, 36, 5, 37, 6, 38, 7, 39,
                                         8, 40, 9, 41, 10, 42, 11, 43, 12, 44, 13, 45, 14, 46, 15, 47 };
    static const uint16_t hi_idx[32] = { 16, 48, 17, 49, 18, 50, 19, 51, 20, 52, 21, 53, 22, 54, 23, 55,
                                         24, 56, 25, 57, 26, 58, 27, 59, 28, 60, 29, 61, 30, 62, 31, 63 };
    const __m512i lo = _mm512_loadu_si512(lo_idx), hi = _mm512_loadu_si512(hi_idx);
    for (long p = 0; p < panels; p++) {
        long c0 = p * 32, cols = n - c0 < 32 ? n - c0 : 32;
        __mmask16 m0 = cols >= 16 ? 0xffff : (__mmask16)((1u << cols) - 1);
        __mmask16 m1 = cols >= 32 ? 0xffff : cols > 16 ? (__mmask16)((1u << (cols - 16)) - 1) : 0;
        for (long q = 0; q < kp; q++) {
            const float *r0 = b + (2 * q) * ld + c0, *r1 = b + (2 * q + 1) * ld + c0;
            __m512 a0 = _mm512_maskz_loadu_ps(m0, r0), a1 = _mm512_maskz_loadu_ps(m1, r0 + 16);
            __m512 b0 = _mm512_setzero_ps(), b1 = _mm512_setzero_ps();
            if (2 * q + 1 < k) { b0 = _mm512_maskz_loadu_ps(m0, r1); b1 = _mm512_maskz_loadu_ps(m1, r1 + 16); }
            __m512i x = (__m512i)_mm512_cvtne2ps_pbh(a1, a0);   // row 2q: columns 0..31
            __m512i y = (__m512i)_mm512_cvtne2ps_pbh(b1, b0);   // row 2q + 1
            uint16_t *dst = packed + (p * kpad + q) * 64;
            _mm512_storeu_si512(dst, _mm512_permutex2var_epi16(x, lo, y));
            _mm512_storeu_si512(dst + 32, _mm512_permutex2var_epi16(x, hi, y));
        }
        memset(packed + (p * kpad + kp) * 64, 0, (size_t)(kpad - kp) * 64 * sizeof(uint16_t));
    }
    return 1;
}

GK_BF16 static void round_rows(const float *a, long m, long k, uint16_t *out);

/// B stored (n, k), read transposed (a linear layer's weight): its rows rounded with an even
/// length, so each pair (B[col][2q], B[col][2q+1]) is one 32-bit word, then gathered 16 columns at
/// a time into the panels.
GK_BF16 static int pack_t_avx512(const float *b, long k, long n, uint16_t *packed) {
    long k2 = (k + 1) & ~1L, kp = k2 / 2, kpad = padded_pairs(k), panels = (n + 31) / 32;
    uint16_t *rows = malloc((size_t)(n * k2) * sizeof(uint16_t) + 64);
    if (!rows) return 0;
    round_rows(b, n, k, rows);
    const int32_t *words = (const int32_t *)rows;
    const __m512i step = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                            _mm512_set1_epi32((int)kp));
    for (long p = 0; p < panels; p++) {
        long c0 = p * 32, cols = n - c0 < 32 ? n - c0 : 32;
        __mmask16 m0 = cols >= 16 ? 0xffff : (__mmask16)((1u << cols) - 1);
        __mmask16 m1 = cols >= 32 ? 0xffff : cols > 16 ? (__mmask16)((1u << (cols - 16)) - 1) : 0;
        for (long q = 0; q < kp; q++) {
            const int32_t *base = words + c0 * kp + q;
            __m512i lo = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), m0, step, base, 4);
            __m512i hi = m1 ? _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), m1, step, base + 16 * kp, 4)
                            : _mm512_setzero_si512();
            uint16_t *dst = packed + (p * kpad + q) * 64;
            _mm512_storeu_si512(dst, lo);
            _mm512_storeu_si512(dst + 32, hi);
        }
        memset(packed + (p * kpad + kp) * 64, 0, (size_t)(kpad - kp) * 64 * sizeof(uint16_t));
    }
    free(rows);
    return 1;
}

/// Rows r0 ..< r0 + m of c = the same rows of op(A) · packed op(B). Untransposed, A's rows are
/// rounded with an even length (pair q of row r at 2q, rows k2 apart). Transposed (A stored (k,
/// lda), op(A)'s row r is A's column r), A is packed as B is: 32 rows of op(A) side by side per pair
/// of k (pair q of row r at 64q + 2(r mod 32) in its panel), so no tile crosses a panel's 32 rows.
GK_BF16 static int gemm_avx512(const float *a, long lda, int trans_a, long r0, long m, long k, const uint16_t *packed, long n,
                               float *c, int add) {
    long k2 = (k + 1) & ~1L, kp = k2 / 2, kpad = padded_pairs(k), panels = (n + 31) / 32;
    size_t count = trans_a ? (size_t)gk_bf16_packed_count(k, m) : (size_t)(m * k2);
    uint16_t *ab = malloc(count * sizeof(uint16_t) + 64);
    if (!ab) return 0;
    if (trans_a) pack_avx512(a + r0, lda, k, m, ab); else round_rows(a + r0 * k, m, k, ab);
    for (long p = 0; p < panels; p++) {
        const uint16_t *panel = packed + p * kpad * 64;
        int cols = (int)(n - p * 32 < 32 ? n - p * 32 : 32);
        for (long r = 0; r < m;) {
            long end = trans_a ? (r / 32 + 1) * 32 : m;   // a transposed A's tiles stay inside its panel
            if (end > m) end = m;
            int rows = (int)(end - r < MR ? end - r : MR);
            const uint16_t *arow = trans_a ? ab + (r / 32) * kpad * 64 + (r % 32) * 2 : ab + r * k2;
            tiles[rows](arow, trans_a ? 2 : k2, trans_a ? 64 : 2, panel, kp, c + r * n + p * 32, n, cols, add);
            r += rows;
        }
    }
    free(ab);
    return 1;
}

// MARK: AMX

#define GK_AMX __attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512vl,avx512bf16")))

/// The tile configuration (palette 1): every tile 16 rows of 64 bytes.
struct amx_config {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
};

/// A 16 × 16 float tile of C stored at rows r ..< r + 16, columns col ..< col + 16 of c (m × n):
/// straight into c where it lies wholly inside and nothing is added, else through `tmp`, with only
/// the part inside written (added to c with `add`: the sum first, then c, as the AVX512 kernel does).
GK_AMX static inline void amx_store_part(const float *tmp, float *c, long n, long m, long r, long col, int add) {
    long rows = m - r < 16 ? m - r : 16, cols = n - col < 16 ? n - col : 16;
    if (rows <= 0 || cols <= 0) return;
    __mmask16 mask = cols >= 16 ? 0xffff : (__mmask16)((1u << cols) - 1);
    for (long i = 0; i < rows; i++) {
        __m512 v = _mm512_loadu_ps(tmp + i * 16);
        if (add) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, c + (r + i) * n + col));
        _mm512_mask_storeu_ps(c + (r + i) * n + col, mask, v);
    }
}

#define AMX_STORE(T, R, COL) do { \
        if (!add && (R) + 16 <= m && (COL) + 16 <= n) _tile_stored(T, c + (R) * n + (COL), n * 4); \
        else { _tile_stored(T, tmp, 64); amx_store_part(tmp, c, n, m, (R), (COL), add); } \
    } while (0)

/// c (m × n, rows n apart) = A · packed B (+= with add) on the tile unit. `ab` holds A's rows rounded
/// to bfloat16, `kpad` pairs each (zero padded), rounded up to a multiple of 16 rows (zero rows).
/// Tiles: 0–3 the 32 × 32 block of C, 4–5 two A tiles (rows r, r + 16), 6–7 two B tiles (the panel's
/// columns 0–15 and 16–31).
GK_AMX static void gemm_amx(const uint16_t *ab, long m, long kpad, const uint16_t *packed, long n, float *c, int add) {
    struct amx_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) { cfg.rows[t] = 16; cfg.colsb[t] = 64; }
    _tile_loadconfig(&cfg);
    float tmp[256] __attribute__((aligned(64)));
    long panels = (n + 31) / 32, chunks = kpad / 16, stride = kpad * 4;   // bytes between A's rows
    for (long p = 0; p < panels; p++) {
        const uint16_t *panel = packed + p * kpad * 64;
        long col = p * 32;
        for (long r = 0; r < m; r += 32) {
            const uint16_t *a0 = ab + r * kpad * 2, *a1 = a0 + 16 * kpad * 2;
            int two = r + 16 < m;   // a second row tile holds rows of C
            _tile_zero(0); _tile_zero(1); _tile_zero(2); _tile_zero(3);
            for (long q = 0; q < chunks; q++) {
                _tile_loadd(6, panel + q * 16 * 64, 128);
                _tile_loadd(7, panel + q * 16 * 64 + 32, 128);
                _tile_loadd(4, a0 + q * 32, stride);
                _tile_dpbf16ps(0, 4, 6);
                _tile_dpbf16ps(1, 4, 7);
                if (two) {
                    _tile_loadd(5, a1 + q * 32, stride);
                    _tile_dpbf16ps(2, 5, 6);
                    _tile_dpbf16ps(3, 5, 7);
                }
            }
            AMX_STORE(0, r, col);
            AMX_STORE(1, r, col + 16);
            if (two) { AMX_STORE(2, r + 16, col); AMX_STORE(3, r + 16, col + 16); }
        }
    }
    _tile_release();
}

/// A's rows r0 ..< r0 + m rounded for gemm_amx (kpad pairs each, rows to a multiple of 16 with
/// zeros), then the product; 0 without memory.
GK_AMX static int gemm_rows_amx(const float *a, long r0, long m, long k, const uint16_t *packed, long n, float *c, int add) {
    long kpad = padded_pairs(k), width = 2 * kpad, rows = (m + 15) / 16 * 16;
    uint16_t *ab = malloc((size_t)(rows * width) * sizeof(uint16_t) + 64);
    if (!ab) return 0;
    for (long r = 0; r < m; r++) {
        round_rows(a + (r0 + r) * k, 1, k, ab + r * width);
        memset(ab + r * width + k, 0, (size_t)(width - k) * sizeof(uint16_t));
    }
    memset(ab + m * width, 0, (size_t)((rows - m) * width) * sizeof(uint16_t));
    gemm_amx(ab, m, kpad, packed, n, c, add);
    free(ab);
    return 1;
}
#endif

static int bf16_forced_off = 0, amx_forced_off = 0;

void gk_bf16_force_off(int off) { bf16_forced_off = off != 0; }

void gk_amx_force_off(int off) { amx_forced_off = off != 0; }

#if defined(__x86_64__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

int gk_has_amx(void) {
#if defined(__x86_64__) && defined(__linux__)
    static volatile int known = -1;
    if (amx_forced_off || !gk_has_bf16()) return 0;
    if (known < 0) {
        unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
        int tiles = __get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) && (edx & (1u << 22)) && (edx & (1u << 24));
        // Linux hands a process the tiles' 8 KB of register state only when asked
        // (ARCH_REQ_XCOMP_PERM for XFEATURE_XTILEDATA); without it the first tile instruction faults.
        known = tiles && syscall(SYS_arch_prctl, 0x1023, 18) == 0;
    }
    return known;
#else
    return 0;
#endif
}

int gk_has_bf16(void) {
#if defined(__x86_64__)
    static int known = -1;
    if (bf16_forced_off) return 0;
    if (known < 0) {
        __builtin_cpu_init();
        known = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
            && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
    }
    return known;
#else
    return 0;
#endif
}

int gk_bf16_gemm_rows(const float *a, long lda, int trans_a, long r0, long m, long k, const uint16_t *packed, long n,
                      float *c, int add) {
#if defined(__x86_64__)
    if (gk_has_bf16() && m > 0 && n > 0 && k > 0) {
        if (!trans_a && gk_has_amx()) return gemm_rows_amx(a, r0, m, k, packed, n, c, add);
        return gemm_avx512(a, lda, trans_a, r0, m, k, packed, n, c, add);
    }
#endif
    (void)a; (void)lda; (void)trans_a; (void)r0; (void)m; (void)k; (void)packed; (void)n; (void)c; (void)add;
    return 0;
}
