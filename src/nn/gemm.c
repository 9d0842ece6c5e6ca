/* gemm.c — the convolutions' GEMMs without packing, in the bits OpenBLAS gives.
 *
 * A conv layer's GEMMs are one per kernel tap and per sequence: C[M][N] += A[M][K] B[K][N]
 * with M = the output length, K = in_ch (backward: out_ch) <= a few hundred and
 * B = one tap's weights, small enough for L1/L2. OpenBLAS packs A and B for every such
 * call (12-18 % of a run on the BPNet- and Basset-like models: sgemm_oncopy, itcopy,
 * incopy). Here A is read in place (rows broadcast one value at a time) and B's rows
 * are loaded as they are, 16 floats per AVX-512 register, into a tile of MR rows x up
 * to 64 columns of accumulators.
 *
 * The same bits as cblas_sgemm with OpenBLAS 0.3.21's Cooper Lake kernels: its sgemm kernel
 * (kernel/x86_64/sgemm_kernel_16x4_skylakex_3.c, read through the fetched source)
 * zeroes its accumulators, adds one product per k in order with an FMA
 * (vfmadd231ps), then stores C = acc * alpha + C (vfmadd213ps, alpha = 1: acc + C
 * rounded once); the driver (driver/level3/level3.c) splits K into blocks above
 * GEMM_Q = 320 (param.h, x86-64 SkylakeX) and adds each block's sum to C in turn, so
 * every element of C is C + (a sum in k order, FMA by FMA) per block — which is what
 * tile() computes, block by block (k_block). Other shapes
 * (tiles_take), CPUs without AVX-512F, and SEQLIFT_GEMM=blas in the environment go to
 * cblas_sgemm. tests/test_gemm.c checks the bits against a scalar model of that order
 * and, where OpenBLAS runs its Cooper Lake kernels, against cblas_sgemm, over a range of
 * shapes and through the conv kernels. OpenBLAS's other kernels sum in other orders
 * (SkylakeX's, Haswell's, and the SSE3 ones 0.3.21 falls back to on AVX-512 CPUs it does
 * not know, such as family 6 model 207: OPENBLAS_CORETYPE=CooperLake picks them back),
 * so there the tiles' bits are not cblas's; seqlift's bytes still depend on nothing but
 * the machine and its OpenBLAS (not threads, batch or shard). CPUs with AVX2 and FMA but
 * not AVX-512F run the same GEMMs in AVX2 tiles of the same order (tiles256: the same
 * bits).
 */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_priv.h"
#include "seqlift/pipeline.h"
#include "seqlift/util.h"

/* OpenBLAS's K blocks: C += the block's sum, block after block; blocks of GEMM_Q = 320
 * (param.h, x86-64 SkylakeX), and a last stretch of 320..640 cut in two, the first part
 * half of it rounded up to GEMM_UNROLL_M = 16. That is driver/level3/level3.c, the
 * driver of single-threaded calls, which are the only ones seqlift makes
 * (sl_net_blas_threads(1)); the threaded driver (level3_thread.c) cuts (l + 1) / 2, so
 * OpenBLAS's own bits for 320 < K depend on its thread count. */
#define GEMM_Q 320
static int k_block(int K, int ls)
{
    int l = K - ls;
    if (l >= 2 * GEMM_Q) return GEMM_Q;
    if (l > GEMM_Q) return (l / 2 + 15) / 16 * 16;
    return l;
}

/* Shapes the tiles take: OpenBLAS sends M·N·K <= 100³ to its small-matrix kernels
 * (interface/gemm.c, kernel/x86_64/sgemm_small_kernel_permit_skylakex.c), whose sums
 * differ; those stay with cblas. */
static int tiles_take(int M, int N, int K)
{
    return (double)M * N * K > 100.0 * 100.0 * 100.0 && sl_nn_gemm_tiles() != SL_NN_TILES_OFF;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_TILES 1

/* GCC -O2 leaves the tiles' constant-bound loops rolled (and the accumulators in
 * memory) unless told; clang unrolls them itself, and with the pragma under its
 * sanitizers takes minutes over this file. */
#if defined(__clang__)
#define UNROLL(n)
#else
#define UNROLL_PRAGMA(x) _Pragma(#x)
#define UNROLL(n) UNROLL_PRAGMA(GCC unroll n)
#endif

/* c[0 .. 16·nv) += acc (the last register masked by `last`): OpenBLAS's acc·1 + C */
__attribute__((target("avx512f"), always_inline)) static inline void add_row(float *c, const __m512 *acc, const int nv,
                                                                             __mmask16 last)
{
    UNROLL(4) for (int v = 0; v < 4; v++) {
        if (v >= nv) break;
        __mmask16 m = v == nv - 1 ? last : (__mmask16)0xffff;
        _mm512_mask_storeu_ps(c + 16 * v, m, _mm512_add_ps(acc[v], _mm512_maskz_loadu_ps(m, c + 16 * v)));
    }
}

/* rows x (nv 16-float registers) of C += A B; the last register of a row is masked by
 * `last`. mr and nv are constants at every call (switch below), so the loops unroll
 * and the accumulators stay in registers. */
#define TILE_MAX_ROWS 12
__attribute__((target("avx512f"), always_inline)) static inline void
tile(const int mr, const int nv, __mmask16 last, int K, const float *A, size_t lda, const float *B, size_t ldb,
     float *C, size_t ldc)
{
    __m512 acc[TILE_MAX_ROWS][4];
    UNROLL(12) for (int r = 0; r < TILE_MAX_ROWS; r++)
        UNROLL(4) for (int v = 0; v < 4; v++) acc[r][v] = _mm512_setzero_ps();
    for (int k = 0; k < K; k++) {
        const float *b = B + (size_t)k * ldb;
        __m512 bv[4];
        UNROLL(4) for (int v = 0; v < 4; v++)
            if (v < nv) bv[v] = v == nv - 1 ? _mm512_maskz_loadu_ps(last, b + 16 * v) : _mm512_loadu_ps(b + 16 * v);
        UNROLL(12) for (int r = 0; r < TILE_MAX_ROWS; r++) {
            if (r >= mr) break;
            __m512 a = _mm512_set1_ps(A[(size_t)r * lda + k]);
            UNROLL(4) for (int v = 0; v < 4; v++)
                if (v < nv) acc[r][v] = _mm512_fmadd_ps(a, bv[v], acc[r][v]);
        }
    }
    UNROLL(12) for (int r = 0; r < TILE_MAX_ROWS; r++) {
        if (r >= mr) break;
        add_row(C + (size_t)r * ldc, acc[r], nv, last);
    }
}

/* rows per tile for nv registers per row: at most 24 accumulators, 4 B registers */
#define TILE_ROWS(nv) ((nv) == 4 ? 6 : (nv) == 3 ? 8 : 12)
static int tile_rows(int nv) { return TILE_ROWS(nv); }

/* A full tile of tile_rows(nv) rows, nv chosen at run time. */
#define FULL(CALL)                             \
    switch (nv) {                              \
    case 4: CALL(TILE_ROWS(4), 4); break;      \
    case 3: CALL(TILE_ROWS(3), 3); break;      \
    case 2: CALL(TILE_ROWS(2), 2); break;      \
    default: CALL(TILE_ROWS(1), 1); break;     \
    }
#define T(R, NV) tile(R, NV, last, K, a, la, b, ldb, c, lc)

/* Full tiles only (few instantiations: a switch over every row count made clang's
 * sanitizer builds take minutes over this file); the last rows of a panel go through
 * a full tile on zero-padded copies of their A and C rows (rows are independent: the
 * same bits). tiles() gets K <= GEMM_Q (its callers cut K) and columns ls .. ls+K-1 of
 * each segment's A. Columns n0 .. n0+63 of B start at B + (n0 / 64) · bps: bps = 64 for
 * a plain row-major B, K · 64 for a packed one (sl_nn_pack). The segments share B: each
 * panel of B is read for all their rows while it is in L1/L2. */
__attribute__((target("avx512f"))) static void tiles512(int nseg, const sl_nn_rows_t *sg, int ls, int N, int K,
                                                         const float *B, size_t ldb, size_t bps)
{
    float pa[TILE_MAX_ROWS * GEMM_Q], pc[TILE_MAX_ROWS * 64];
    int pa_s = -1, pa_m0 = -1; /* the rows pa holds: panels with the same tile height share them */
    for (int n0 = 0; n0 < N; n0 += 64) {
        int nn = N - n0 < 64 ? N - n0 : 64, nv = (nn + 15) / 16, rem = nn - 16 * (nv - 1);
        __mmask16 last = (__mmask16)(rem == 16 ? 0xffffu : (1u << rem) - 1);
        int R = tile_rows(nv);
        const float *b = B + (size_t)(n0 / 64) * bps;
        for (int q = 0; q < nseg; q++) {
            const int M = sg[q].M;
            const float *A = sg[q].A + ls;
            const size_t lda = sg[q].lda, ldc = sg[q].ldc;
            float *C = sg[q].C;
            int m0 = 0;
            for (; m0 + R <= M; m0 += R) {
                const float *a = A + (size_t)m0 * lda;
                float *c = C + (size_t)m0 * ldc + n0;
                size_t la = lda, lc = ldc;
                FULL(T)
            }
            if (m0 >= M) continue;
            int mr = M - m0;
            if (pa_s != q || pa_m0 != m0) {
                memset(pa + (size_t)mr * K, 0, (size_t)(TILE_MAX_ROWS - mr) * K * sizeof(float));
                for (int r = 0; r < mr; r++)
                    memcpy(pa + (size_t)r * K, A + (size_t)(m0 + r) * lda, (size_t)K * sizeof(float));
                pa_s = q, pa_m0 = m0;
            }
            memset(pc, 0, sizeof pc);
            for (int r = 0; r < mr; r++)
                memcpy(pc + (size_t)r * 64, C + (size_t)(m0 + r) * ldc + n0, (size_t)nn * sizeof(float));
            {
                const float *a = pa;
                float *c = pc;
                size_t la = (size_t)K, lc = 64;
                FULL(T)
            }
            for (int r = 0; r < mr; r++)
                memcpy(C + (size_t)(m0 + r) * ldc + n0, pc + (size_t)r * 64, (size_t)nn * sizeof(float));
        }
    }
}

/* The AVX2 tiles, for CPUs without AVX-512F (gemm mode 2): tile()'s order — per K
 * block a sum from zero, one FMA per k in k order, then C + the sum — 8 floats per
 * register, so every element gets the bits the AVX-512 tiles give it. Two reasons, both
 * measured on AMD EPYC (Zen 1) with OpenBLAS 0.3.21's Zen core: its Haswell kernels
 * round a row by where it sits in the call (rows 6-11 of a 16-row dense GEMM differ from
 * the same row at row 0), which made a sequence's dense rows depend on its batch and its
 * references' passes; and its sgemm on the convs' shapes ran at 8-13 GFLOP/s until some
 * large call had mapped the pages of its buffer that its kernel's prefetches run into
 * (~100 ns each on a never-touched page in this VM; 20-31 GFLOP/s after, see
 * scripts/bench_sgemm.c), where these tiles run at 19-26 without such a dependence. */
#define T2_ROWS 6
/* C's T2_ROWS x 16 floats += acc: OpenBLAS's acc·1 + C, as add_row */
__attribute__((target("avx2,fma"), always_inline)) static inline void add_rows2(__m256 acc[T2_ROWS][2], float *C,
                                                                                size_t ldc)
{
    UNROLL(6) for (int r = 0; r < T2_ROWS; r++) {
        float *c = C + (size_t)r * ldc;
        _mm256_storeu_ps(c, _mm256_add_ps(acc[r][0], _mm256_loadu_ps(c)));
        _mm256_storeu_ps(c + 8, _mm256_add_ps(acc[r][1], _mm256_loadu_ps(c + 8)));
    }
}

__attribute__((target("avx2,fma"), always_inline)) static inline void tile2(int K, const float *A, size_t lda,
                                                                            const float *B, size_t ldb, float *C,
                                                                            size_t ldc)
{
    __m256 acc[T2_ROWS][2];
    UNROLL(6) for (int r = 0; r < T2_ROWS; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (int k = 0; k < K; k++) {
        const float *b = B + (size_t)k * ldb;
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        UNROLL(6) for (int r = 0; r < T2_ROWS; r++) {
            __m256 a = _mm256_broadcast_ss(A + (size_t)r * lda + k);
            acc[r][0] = _mm256_fmadd_ps(a, b0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(a, b1, acc[r][1]);
        }
    }
    add_rows2(acc, C, ldc);
}

/* tiles512's contract in 16-column groups of 6-row tiles; a group's last rows and
 * columns through zero-padded copies of their A, B and C (rows and columns are
 * independent: the same bits). The groups go in blocks whose B fits in half of L1
 * (64 columns where K = 64, all of N where K is tiny): a tile's 6 rows of A then stay
 * in L1 across the block instead of being streamed from L2/L3 once per group
 * (BPNet-like's per-tap convs: M = 2114 rows of 64, N = 64; 84 -> 93 GFLOP/s alone on
 * Zen 3). */
#define T2_L1_B (16 * 1024)
__attribute__((target("avx2,fma"))) static void tiles256(int nseg, const sl_nn_rows_t *sg, int ls, int N, int K,
                                                         const float *B, size_t ldb, size_t bps)
{
    float pa[T2_ROWS * GEMM_Q], pc[T2_ROWS * 16], pb[GEMM_Q * 16];
    int pa_s = -1, pa_m0 = -1; /* the rows pa holds */
    const size_t gbytes = (size_t)K * 16 * sizeof(float); /* one group's B */
    const int gb = gbytes < T2_L1_B ? (int)(T2_L1_B / gbytes) : 1; /* groups per block */
    const int nl = N / 16 * 16; /* the partial last group, if any, starts here */
    if (nl < N) { /* B's last columns: reading 16 could leave the array */
        const float *b = B + (size_t)(nl / 64) * bps + nl % 64;
        for (int k = 0; k < K; k++) {
            memcpy(pb + (size_t)k * 16, b + (size_t)k * ldb, (size_t)(N - nl) * sizeof(float));
            memset(pb + (size_t)k * 16 + (N - nl), 0, (size_t)(16 - (N - nl)) * sizeof(float));
        }
    }
    for (int g0 = 0; g0 < N; g0 += 16 * gb) {
        const int g1 = g0 + 16 * gb < N ? g0 + 16 * gb : N;
        for (int q = 0; q < nseg; q++) {
            const int M = sg[q].M;
            const float *A = sg[q].A + ls;
            const size_t lda = sg[q].lda, ldc = sg[q].ldc;
            for (int m0 = 0; m0 < M; m0 += T2_ROWS) {
                int mr = M - m0 < T2_ROWS ? M - m0 : T2_ROWS;
                const float *a = A + (size_t)m0 * lda;
                size_t la = lda;
                if (mr < T2_ROWS) {
                    if (pa_s != q || pa_m0 != m0) {
                        memset(pa + (size_t)mr * K, 0, (size_t)(T2_ROWS - mr) * K * sizeof(float));
                        for (int r = 0; r < mr; r++) memcpy(pa + (size_t)r * K, a + (size_t)r * lda, (size_t)K * sizeof(float));
                        pa_s = q, pa_m0 = m0;
                    }
                    a = pa, la = (size_t)K;
                }
                for (int n0 = g0; n0 < g1; n0 += 16) {
                    const int nn = N - n0 < 16 ? N - n0 : 16;
                    const float *b = nn < 16 ? pb : B + (size_t)(n0 / 64) * bps + n0 % 64;
                    const size_t lb = nn < 16 ? 16 : ldb;
                    float *c = sg[q].C + (size_t)m0 * ldc + n0;
                    if (mr == T2_ROWS && nn == 16) {
                        tile2(K, a, la, b, lb, c, ldc);
                        continue;
                    }
                    memset(pc, 0, sizeof pc);
                    for (int r = 0; r < mr; r++) memcpy(pc + r * 16, c + (size_t)r * ldc, (size_t)nn * sizeof(float));
                    tile2(K, a, la, b, lb, pc, 16);
                    for (int r = 0; r < mr; r++) memcpy(c + (size_t)r * ldc, pc + r * 16, (size_t)nn * sizeof(float));
                }
            }
        }
    }
}

/* Rows t0 .. t0+mr of one column panel of a conv on input with at most one nonzero
 * per position: acc = Σ_j val[q] · w[j][idx[q]][n0 ..] with q = t·s + j·d (positions
 * counted from the first the conv reads; val 0 where x is all zero or padding), then
 * C += acc. Every row is its own FMA chain, so mr rows run side by side. */
__attribute__((target("avx512f"), always_inline)) static inline void
onehot_tile(const int mr, const int nv, __mmask16 last, const sl_layer_t *L, const int *idx, const float *val,
            const float *w, int n0, int t0, float *y, size_t ldy)
{
    int ci = L->in_ch, co = L->out_ch;
    __m512 acc[TILE_MAX_ROWS][4];
    UNROLL(12) for (int r = 0; r < TILE_MAX_ROWS; r++)
        UNROLL(4) for (int v = 0; v < 4; v++) acc[r][v] = _mm512_setzero_ps();
    size_t q0 = (size_t)t0 * L->stride;
    for (int j = 0; j < L->kernel; j++, q0 += L->dilation) {
        UNROLL(12) for (int r = 0; r < TILE_MAX_ROWS; r++) {
            if (r >= mr) break;
            size_t q = q0 + (size_t)r * L->stride;
            __m512 a = _mm512_set1_ps(val[q]);
            const float *wr = w + ((size_t)j * ci + idx[q]) * co + n0;
            UNROLL(4) for (int v = 0; v < 4; v++) {
                if (v >= nv) break;
                __m512 b = v == nv - 1 ? _mm512_maskz_loadu_ps(last, wr + 16 * v) : _mm512_loadu_ps(wr + 16 * v);
                acc[r][v] = _mm512_fmadd_ps(a, b, acc[r][v]);
            }
        }
    }
    UNROLL(12) for (int r = 0; r < TILE_MAX_ROWS; r++) {
        if (r >= mr) break;
        add_row(y + (size_t)r * ldy, acc[r], nv, last);
    }
}

#define O(R, NV) onehot_tile(R, NV, last, L, idx, val, w, n0, t0, c, ldc)

/* The rows of a conv on one-hot input in full tiles; the last ones into a padded copy
 * of their output rows (idx/val run R·stride past the span the rows read, val 0). */
__attribute__((target("avx512f"))) static void onehot_rows(const sl_layer_t *L, const int *idx, const float *val,
                                                            const float *w, float *y)
{
    float pc[TILE_MAX_ROWS * 64];
    int co = L->out_ch;
    for (int n0 = 0; n0 < co; n0 += 64) {
        int nn = co - n0 < 64 ? co - n0 : 64, nv = (nn + 15) / 16, rem = nn - 16 * (nv - 1);
        __mmask16 last = (__mmask16)(rem == 16 ? 0xffffu : (1u << rem) - 1);
        int R = tile_rows(nv), t0 = 0;
        size_t ldc = (size_t)co;
        for (; t0 + R <= L->len; t0 += R) {
            float *c = y + (size_t)t0 * co + n0;
            FULL(O)
        }
        if (t0 == L->len) continue;
        int mr = L->len - t0;
        memset(pc, 0, sizeof pc);
        for (int r = 0; r < mr; r++) memcpy(pc + (size_t)r * 64, y + (size_t)(t0 + r) * co + n0, (size_t)nn * sizeof(float));
        {
            float *c = pc;
            ldc = 64;
            FULL(O)
        }
        for (int r = 0; r < mr; r++) memcpy(y + (size_t)(t0 + r) * co + n0, pc + (size_t)r * 64, (size_t)nn * sizeof(float));
    }
}

/* onehot_tile's sum for T2_ROWS rows x 16 columns at n0 (the last group of a row
 * masked: w's rows end there), C += acc. */
__attribute__((target("avx2,fma"), always_inline)) static inline void
onehot_tile2(const int masked, __m256i m0, __m256i m1, const sl_layer_t *L, const int *idx, const float *val,
             const float *w, int n0, int t0, float *y, size_t ldy)
{
    int ci = L->in_ch, co = L->out_ch;
    __m256 acc[T2_ROWS][2];
    UNROLL(6) for (int r = 0; r < T2_ROWS; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    size_t q0 = (size_t)t0 * L->stride;
    for (int j = 0; j < L->kernel; j++, q0 += L->dilation) {
        UNROLL(6) for (int r = 0; r < T2_ROWS; r++) {
            size_t q = q0 + (size_t)r * L->stride;
            __m256 a = _mm256_set1_ps(val[q]);
            const float *wr = w + ((size_t)j * ci + idx[q]) * co + n0;
            __m256 b0 = masked ? _mm256_maskload_ps(wr, m0) : _mm256_loadu_ps(wr);
            __m256 b1 = masked ? _mm256_maskload_ps(wr + 8, m1) : _mm256_loadu_ps(wr + 8);
            acc[r][0] = _mm256_fmadd_ps(a, b0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(a, b1, acc[r][1]);
        }
    }
    add_rows2(acc, y, ldy);
}

/* onehot_rows with the AVX2 tiles: every tile into a padded copy of its output rows
 * where it has fewer rows or columns than a full one. */
__attribute__((target("avx2,fma"))) static void onehot_rows2(const sl_layer_t *L, const int *idx, const float *val,
                                                              const float *w, float *y)
{
    float pc[T2_ROWS * 16];
    int co = L->out_ch;
    for (int n0 = 0; n0 < co; n0 += 16) {
        int nn = co - n0 < 16 ? co - n0 : 16;
        __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        __m256i m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(nn), lane);
        __m256i m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(nn - 8), lane);
        for (int t0 = 0; t0 < L->len; t0 += T2_ROWS) {
            int mr = L->len - t0 < T2_ROWS ? L->len - t0 : T2_ROWS;
            float *c = y + (size_t)t0 * co + n0;
            if (mr == T2_ROWS && nn == 16) {
                onehot_tile2(0, m0, m1, L, idx, val, w, n0, t0, c, (size_t)co);
                continue;
            }
            memset(pc, 0, sizeof pc);
            for (int r = 0; r < mr; r++) memcpy(pc + r * 16, c + (size_t)r * co, (size_t)nn * sizeof(float));
            if (nn == 16) onehot_tile2(0, m0, m1, L, idx, val, w, n0, t0, pc, 16);
            else onehot_tile2(1, m0, m1, L, idx, val, w, n0, t0, pc, 16);
            for (int r = 0; r < mr; r++) memcpy(c + (size_t)r * co, pc + r * 16, (size_t)nn * sizeof(float));
        }
    }
}
#else
#define HAVE_TILES 0
#endif

/* -1 unknown, else an SL_NN_TILES_* mode; set once (a race only writes the same value) */
static int gemm_mode = -1;

static int cpu_tiles(void)
{
#if HAVE_TILES
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return SL_NN_TILES_512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return SL_NN_TILES_256;
#endif
    return SL_NN_TILES_OFF;
}

/* mode `want` where the CPU can run it (1: its best) */
static int tiles_mode(int want)
{
    int cpu = cpu_tiles();
    if (want == SL_NN_TILES_256) return cpu != SL_NN_TILES_OFF ? SL_NN_TILES_256 : SL_NN_TILES_OFF;
    return want ? cpu : SL_NN_TILES_OFF;
}

int sl_nn_gemm_tiles(void)
{
    int m = __atomic_load_n(&gemm_mode, __ATOMIC_RELAXED);
    if (m >= 0) return m;
    const char *e = getenv("SEQLIFT_GEMM");
    m = tiles_mode(!e ? 1 : strcmp(e, "blas") == 0 ? 0 : strcmp(e, "avx2") == 0 ? SL_NN_TILES_256 : 1);
    __atomic_store_n(&gemm_mode, m, __ATOMIC_RELAXED);
    return m;
}

void sl_nn_gemm_set_tiles(int on) { __atomic_store_n(&gemm_mode, on < 0 ? -1 : tiles_mode(on), __ATOMIC_RELAXED); }

int sl_nn_tiles_take(int M, int N, int K) { return HAVE_TILES && tiles_take(M, N, K); }

int sl_nn_tiles_take_dense(int N, int K)
{
    int m = sl_nn_gemm_tiles();
    return m == SL_NN_TILES_256 || sl_nn_tiles_take(SL_NN_GEMM_ROWS, N, K);
}

#if HAVE_TILES
/* one K block (K <= GEMM_Q) through the mode's tiles */
static void tiles(int nseg, const sl_nn_rows_t *sg, int ls, int N, int K, const float *B, size_t ldb, size_t bps)
{
    if (sl_nn_gemm_tiles() == SL_NN_TILES_256) tiles256(nseg, sg, ls, N, K, B, ldb, bps);
    else tiles512(nseg, sg, ls, N, K, B, ldb, bps);
}
#endif

void sl_nn_sgemm_tiles(int M, int N, int K, const float *A, size_t lda, const float *B, size_t ldb, float *C,
                       size_t ldc)
{
#if HAVE_TILES
    const sl_nn_rows_t sg = {M, A, lda, C, ldc};
    for (int ls = 0, l; ls < K; ls += l) l = k_block(K, ls), tiles(1, &sg, ls, N, l, B + (size_t)ls * ldb, ldb, 64);
#else
    (void)M, (void)N, (void)K, (void)A, (void)lda, (void)B, (void)ldb, (void)C, (void)ldc;
#endif
}

size_t sl_nn_pack_size(int K, int N) { return (size_t)(N + 63) / 64 * 64 * (size_t)K; }

static void pack_into(float *p, const float *B, size_t sk, size_t sn, int K, int N)
{
    for (int n0 = 0; n0 < N; n0 += 64) {
        float *q = p + (size_t)(n0 / 64) * K * 64;
        int nn = N - n0 < 64 ? N - n0 : 64;
        for (int k = 0; k < K; k++) {
            for (int j = 0; j < nn; j++) q[(size_t)k * 64 + j] = B[(size_t)k * sk + (size_t)(n0 + j) * sn];
            for (int j = nn; j < 64; j++) q[(size_t)k * 64 + j] = 0; /* only the last panel's padding */
        }
    }
}

float *sl_nn_pack(const float *B, size_t sk, size_t sn, int K, int N)
{
    float *p = aligned_alloc(64, sl_nn_pack_size(K, N) * sizeof(float)); /* a multiple of 64 floats */
    if (p) pack_into(p, B, sk, sn, K, N);
    return p;
}

void sl_nn_sgemm_packed_n(int nseg, const sl_nn_rows_t *seg, int N, int K, const float *Bp)
{
#if HAVE_TILES
    if (N <= 0 || K <= 0) return;
    for (int ls = 0, l; ls < K; ls += l) l = k_block(K, ls), tiles(nseg, seg, ls, N, l, Bp + (size_t)ls * 64, 64, (size_t)K * 64);
#else
    (void)nseg, (void)seg, (void)N, (void)K, (void)Bp;
#endif
}

void sl_nn_sgemm_packed(int M, int N, int K, const float *A, size_t lda, const float *Bp, float *C, size_t ldc)
{
    const sl_nn_rows_t sg = {M, A, lda, C, ldc};
    if (M > 0) sl_nn_sgemm_packed_n(1, &sg, N, K, Bp);
}

void sl_nn_sgemm(int M, int N, int K, const float *A, size_t lda, const float *B, size_t ldb, float *C, size_t ldc)
{
    if (M <= 0 || N <= 0 || K <= 0) return;
    if (sl_nn_tiles_take(M, N, K)) sl_nn_sgemm_tiles(M, N, K, A, lda, B, ldb, C, ldc);
    else cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, (int)lda, B, (int)ldb, 1.0f, C, (int)ldc);
}

void sl_nn_sgemm_bt(int M, int N, int K, const float *A, size_t lda, const float *B, size_t ldb, const float *Bt,
                    float *C, size_t ldc)
{
    if (M <= 0 || N <= 0 || K <= 0) return;
    if (Bt && sl_nn_tiles_take(M, N, K)) sl_nn_sgemm_tiles(M, N, K, A, lda, Bt, (size_t)N, C, ldc);
    else cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, A, (int)lda, B, (int)ldb, 1.0f, C, (int)ldc);
}

/* ---- convs on one-hot input ------------------------------------------------------ */

/* A zero term of the tiles' sum changes no bit wherever it goes: the accumulator starts
 * at +0 and is never −0 (a sum of nonzero terms that cancels is +0), and ±0 · w added
 * to a value that is not −0 leaves it as it is. So on input with at most one nonzero
 * per position (one-hot DNA, N = all zero) an im2col conv's sum over k·ci columns is
 * the sum over its k taps of the one nonzero term each (or a zero one): 1/ci of the
 * FMAs. */
int sl_nn_conv_onehot(const sl_layer_t *L, const float *x, const float *w, float *y, void *mem, size_t mem_size)
{
#if HAVE_TILES
    int ci = L->in_ch, K = L->kernel * ci;
    /* positions the conv reads, from -pad_left on */
    size_t span = (size_t)(L->len - 1) * L->stride + (size_t)(L->kernel - 1) * L->dilation + 1;
    size_t room = span + (size_t)TILE_MAX_ROWS * L->stride; /* the padded last tile reads past the span */
    if (K > GEMM_Q || !tiles_take(L->len, L->out_ch, K) || mem_size < room * (sizeof(int) + sizeof(float)))
        return -1;
    int *idx = mem;
    float *val = (float *)(idx + room);
    for (size_t q = 0; q < room; q++) {
        long p = (long)q - L->pad_left;
        idx[q] = 0, val[q] = 0;
        if (q >= span || p < 0 || p >= L->in_len) continue;
        const float *xp = x + (size_t)p * ci;
        int n = 0;
        for (int i = 0; i < ci; i++) /* branch-free: the last nonzero and the count */
            idx[q] = xp[i] != 0 ? i : idx[q], n += xp[i] != 0;
        if (n > 1) return -1; /* not one-hot: the GEMM */
        val[q] = xp[idx[q]];
    }
    if (sl_nn_gemm_tiles() == SL_NN_TILES_256) onehot_rows2(L, idx, val, w, y);
    else onehot_rows(L, idx, val, w, y);
    return 0;
#else
    (void)L, (void)x, (void)w, (void)y, (void)mem, (void)mem_size;
    return -1;
#endif
}

/* ---- the weights' copies for the tiles, kept in a set ------------------------ */

void sl_nn_transpose(const float *a, size_t rows, size_t cols, float *b)
{
    for (size_t r0 = 0; r0 < rows; r0 += 16)
        for (size_t c0 = 0; c0 < cols; c0 += 16)
            for (size_t r = r0; r < rows && r < r0 + 16; r++)
                for (size_t c = c0; c < cols && c < c0 + 16; c++) b[c * rows + r] = a[r * cols + c];
}

struct sl_nn_wt_s {
    const float *w; /* the weight array they are made from (by address: weights do not
                     * change while a set is used) */
    size_t numel;   /* its floats, a check on the address */
    int kind;       /* SL_NN_WT_T or SL_NN_WT_F */
    const float *wt; /* wt_size(L, kind) floats */
    int own;        /* wt is the set's to free */
};

static size_t wt_numel(const sl_layer_t *L) { return (size_t)L->kernel * L->in_ch * L->out_ch; }

/* Dense layers' copies and per-tap convs' are packed (sl_nn_pack), tap by tap: a dense
 * B is megabytes, read once per GEMM from L3, and a panel's rows 4-8 KB apart defeat
 * the prefetchers (2x slower at the 10-row passes of Basset's dense layers); a conv
 * tap's rows of 200 or 300 floats straddle cache lines (the packed panels ran Basset's
 * conv shapes 5-25 % faster, measured). im2col convs keep the plain transpose. */
static int packs(const sl_layer_t *L) { return L->op == SL_OP_DENSE || !sl_nn_col_size(L); }

size_t sl_nn_wt_tap(const sl_layer_t *L, int kind)
{
    return kind == SL_NN_WT_T ? sl_nn_pack_size(L->out_ch, L->in_ch) : sl_nn_pack_size(L->in_ch, L->out_ch);
}

static size_t wt_size(const sl_layer_t *L, int kind)
{
    if (!packs(L)) return kind == SL_NN_WT_T ? wt_numel(L) : 0;
    return (size_t)L->kernel * sl_nn_wt_tap(L, kind);
}

const float *sl_nn_wts_find(const sl_nn_wts_t *s, const sl_layer_t *L, const float *w, int kind)
{
    size_t n = wt_numel(L);
    for (int i = 0; s && i < s->n; i++)
        if (s->e[i].w == w && s->e[i].numel == n && s->e[i].kind == kind) return s->e[i].wt;
    return NULL;
}

int sl_nn_wts_put(sl_nn_wts_t *s, const sl_layer_t *L, const float *w, int kind, const float *wt, int own)
{
    struct sl_nn_wt_s *t = realloc(s->e, (size_t)(s->n + 1) * sizeof *t);
    if (!t) {
        if (own) free((void *)wt);
        return -1;
    }
    s->e = t;
    s->e[s->n++] = (struct sl_nn_wt_s){w, wt_numel(L), kind, wt, own};
    return 0;
}

/* w's copy of this kind, made: NULL without memory (or for a conv's forward) */
static float *wt_make(const sl_layer_t *L, const float *w, int kind)
{
    int k = L->kernel, ci = L->in_ch, co = L->out_ch;
    if (packs(L)) { /* tap j of w [k][ci][co]: forward B [ci][co]; backward B = its transpose [co][ci] */
        size_t tap = sl_nn_wt_tap(L, kind);
        float *p = aligned_alloc(64, (size_t)k * tap * sizeof(float));
        for (int j = 0; p && j < k; j++) {
            const float *wj = w + (size_t)j * ci * co;
            if (kind == SL_NN_WT_T) pack_into(p + j * tap, wj, 1, (size_t)co, co, ci);
            else pack_into(p + j * tap, wj, (size_t)co, 1, ci, co);
        }
        return p;
    }
    if (kind != SL_NN_WT_T) return NULL;
    float *wt = malloc(wt_numel(L) * sizeof(float));
    if (!wt) return NULL; /* the cblas path needs no copy */
    /* w: [k][ci][co]. One GEMM per tap: wt [k][co][ci]; im2col (one GEMM over the
     * k·ci columns): wt [co][k·ci] */
    if (sl_nn_col_size(L)) sl_nn_transpose(w, (size_t)k * ci, co, wt);
    else
        for (int j = 0; j < k; j++) sl_nn_transpose(w + (size_t)j * ci * co, ci, co, wt + (size_t)j * co * ci);
    return wt;
}

const float *sl_nn_wts_get(sl_nn_wts_t *s, const sl_layer_t *L, const float *w, int kind)
{
    if (!sl_nn_gemm_tiles()) return NULL;
    const float *got = sl_nn_wts_find(s, L, w, kind);
    if (got) return got;
    float *wt = wt_make(L, w, kind);
    return wt && sl_nn_wts_put(s, L, w, kind, wt, 1) == 0 ? wt : NULL;
}

void sl_nn_wts_free(sl_nn_wts_t *s)
{
    for (int i = 0; i < s->n; i++)
        if (s->e[i].own) free((void *)s->e[i].wt);
    free(s->e);
    s->e = NULL, s->n = 0;
}

const float *sl_nn_wt_get(const sl_layer_t *L, const float *w, int kind, sl_acts_t *scratch)
{
    if (!scratch || !scratch->priv || !sl_nn_gemm_tiles() || !wt_size(L, kind)) return NULL;
    sl_acts_priv_t *p = scratch->priv;
    const float *got = sl_nn_wts_find(p->wt_shared, L, w, kind);
    return got ? got : sl_nn_wts_get(&p->wt, L, w, kind);
}

void sl_nn_acts_share_wts(sl_acts_t *a, const sl_nn_wts_t *s) { ((sl_acts_priv_t *)a->priv)->wt_shared = s; }

/* One copy of sl_nn_wts_prepare: layer l's of one kind (and its copies by sign), or
 * (kind -1) the split W⁺/W⁻ themselves. */
typedef struct {
    int l, kind;
    size_t n;           /* floats: the order tasks are handed out in */
    float *wt, *pos, *neg;
} prep_t;

typedef struct {
    const sl_net_t *net;
    float *const *wpos, *const *wneg;
    prep_t *t;
} prep_job_t;

static void prep_task(void *ud, int i)
{
    prep_job_t *j = ud;
    prep_t *t = &j->t[i];
    const sl_layer_t *L = &j->net->layers[t->l];
    float *wp = j->wpos ? j->wpos[t->l] : NULL, *wn = j->wneg ? j->wneg[t->l] : NULL;
    if (t->kind < 0) {
        sl_nn_split_sign(L->w, wp, wn, wt_numel(L));
        return;
    }
    if (!(t->wt = wt_make(L, L->w, t->kind)) || !wp) return;
    size_t n = (t->n + 15) / 16 * 16; /* aligned_alloc's size: a multiple of 64 bytes */
    t->pos = aligned_alloc(64, n * sizeof(float)), t->neg = aligned_alloc(64, n * sizeof(float));
    if (t->pos && t->neg) sl_nn_split_sign(t->wt, t->pos, t->neg, t->n);
    else free(t->pos), free(t->neg), t->pos = t->neg = NULL;
}

static int prep_larger(const void *a, const void *b)
{
    const prep_t *x = a, *y = b;
    if (x->n != y->n) return x->n < y->n ? 1 : -1;
    return x->l != y->l ? (x->l < y->l ? -1 : 1) : (x->kind > y->kind) - (x->kind < y->kind);
}

int sl_nn_wts_prepare(sl_nn_wts_t *s, const sl_net_t *net, const char *need, int kinds, float *const *wpos,
                      float *const *wneg, int threads)
{
    int nl = net->n_layers, n = 0, tiles = sl_nn_gemm_tiles();
    prep_t *t = sl_calloc((size_t)nl * 3 + 1, sizeof *t, "weights' copies");
    if (!t) return -1;
    for (int l = 0; l < nl; l++) {
        const sl_layer_t *L = &net->layers[l];
        if ((need && !need[l]) || !(sl_ops[L->op].flags & SL_OPF_WEIGHTS)) continue;
        if (wpos && wpos[l]) t[n++] = (prep_t){l, -1, wt_numel(L), NULL, NULL, NULL};
        for (int kind = SL_NN_WT_T; tiles && kind <= SL_NN_WT_F; kind++)
            if ((kinds >> kind & 1) && wt_size(L, kind)) t[n++] = (prep_t){l, kind, wt_size(L, kind), NULL, NULL, NULL};
    }
    qsort(t, (size_t)n, sizeof *t, prep_larger);
    prep_job_t job = {net, wpos, wneg, t};
    sl_pipe_for(n, threads, prep_task, &job);
    /* into the set in one order, whatever thread made what; a copy not made (no memory)
     * is made by each scratch, or its GEMM takes the cblas path */
    for (int i = 0; i < n; i++) {
        const sl_layer_t *L = &net->layers[t[i].l];
        if (t[i].wt) sl_nn_wts_put(s, L, L->w, t[i].kind, t[i].wt, 1);
        if (t[i].pos) sl_nn_wts_put(s, L, wpos[t[i].l], t[i].kind, t[i].pos, 1);
        if (t[i].neg) sl_nn_wts_put(s, L, wneg[t[i].l], t[i].kind, t[i].neg, 1);
    }
    free(t);
    return 0;
}
