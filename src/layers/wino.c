/* wino.c: Winograd F(4x4, 3x3) convolution (Lavin & Gray 2016) on nChw8c tensors, for 3x3 stride-1 layers on CPUs
 * where oneDNN 2.6 has no Winograd kernel (its jit_wino_4x3 is AVX-512 only): all three passes.
 *
 * Forward: each 4x4 output tile is Y = A^T [ sum_i (G g_io G^T) .* (B^T d_i B) ] A, d_i the 6x6 input patch of
 * channel i (points 0, +-1, +-2 and infinity). Per chunk of tiles, with p = 0..35 the 6x6 transform positions:
 *   U[p][i][o] = (G g_io G^T)[p]          (all weights, once per call)
 *   V[p][t][i] = (B^T d_ti B)[p]          (input transform, 8 channels per vector)
 *   M[p][t][o] = sum_i V[p][t][i] U[p][i][o]   (36 independent sgemms, T x I times I x O)
 *   dst tile t = A^T M[.][t][o] A (+ bias, ReLU), clipped at the image's bottom and right edges.
 * Backward data is the same forward with the weights rotated by 180 degrees, input and output channels swapped
 * and padding 2 - pad (conv.c). Backward weights: Y is linear in g, so dL/dg = G^T [ (A dy A^T) .* (B^T d B) ] G
 * summed over tiles; the sum runs in the transformed domain as 36 sgemms V[p]^T (I x T) times Yt[p] (T x O),
 * accumulated over the chunks, and one G^T . G per weight at the end.
 * The multiplies drop from 144 to 36 per output per channel pair; the transforms are O(I + O) per tile.
 * Rounding differs from direct (the transforms' entries up to 8, and G's 1/6, 1/12, 1/24 inexact in binary):
 * at most 3.7e-5 from oneDNN's direct output on VGG16's layers (outputs up to 3.1 in magnitude), 5e-5 on the
 * weight gradients of the tests.
 * Speed (bench/bench_wino; Zen 3, AVX2, 2 threads, batch 32, jit:avx2 direct -> this, ms, forward / backward data /
 * backward weights, each pass alone on nChw8c): 256->256 at 56x56 715 -> 300 / 671 -> 308 / 1231 -> 301; 512->512 at
 * 28x28 818 -> 341 / 842 -> 212 / 1354 -> 483; 512->512 at 14x14 230 -> 114 / 197 -> 111 / 289 -> 137 (14 is not a
 * multiple of 4: the tiles cover 16x16); 64->64 at 224x224 700 -> 539 / 867 -> 485 / 1026 -> 742; but 32->32 at
 * 147x147 forward 80 -> 101 (transform-bound: conv.c's 64-channel rule). VGG16's step 21.8 -> 10.2 s.
 * Chunks of 1024 tiles: fewer starve the sgemms (512->512 at 28: 64 tiles 250 ms of sgemm, 113 tiles 240, 910
 * tiles 165: each call packs its U[p]); many more spill V and M from the caches (64->64 at 224: 910 tiles 345 ms
 * in all, 7281 tiles 385). Scratch: 36 (IC OC + 1024 (IC + OC)) floats, 189 MB for 512->512.
 * Threads: the transforms split tiles x channel blocks; the 36 sgemms go one per thread, each single-threaded
 * inside the parallel region (256->256 at 56x56: 214-216 ms, against 234-255 for 36 sgemms each on all threads).
 * The result does not depend on the thread count. */
#include "wino.h"

#include <string.h>

enum { VL = 8 };                      /* channels per vector: the nChw8c block */
enum { WINO_CHUNK = 1024 };           /* tiles per round (see the header) */

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define DOB_WINO_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define DOB_WINO_CLONES
#endif

int dob_wino_init(dob_wino *k, int64_t n, int64_t ic, int64_t oc, int64_t h, int64_t w, int64_t oh, int64_t ow,
                  int64_t pt, int64_t pl) {
    if (n <= 0 || ic <= 0 || oc <= 0 || ic % VL || oc % VL || h <= 0 || w <= 0 || oh <= 0 || ow <= 0) return 0;
    *k = (dob_wino){n, ic, oc, h, w, oh, ow, pt, pl, (oh + 3) / 4, (ow + 3) / 4, 0};
    const int64_t all = n * k->th * k->tw;
    k->chunk = all < WINO_CHUNK ? all : WINO_CHUNK;
    return 1;
}

size_t dob_wino_scratch(const dob_wino *k) {
    return (size_t)(36 * (k->ic * k->oc + k->chunk * (k->ic + k->oc)));
}

/* ---- weights: U = G g G^T, 8 output channels per vector ---- */
/* r[j * rs] = (G x)[j], x[0], x[s], x[2 s] one column (or row) of 3 */
static inline void g6(float (*x)[VL], int64_t s, float (*r)[VL], int64_t rs) {
#pragma omp simd
    for (int c = 0; c < VL; c++) {
        const float a = x[0][c], b = x[s][c], d = x[2 * s][c];
        r[0][c] = a * 0.25f;
        r[rs][c] = (a + b + d) * (-1.f / 6);
        r[2 * rs][c] = (a - b + d) * (-1.f / 6);
        r[3 * rs][c] = a * (1.f / 24) + b * (1.f / 12) + d * (1.f / 6);
        r[4 * rs][c] = a * (1.f / 24) - b * (1.f / 12) + d * (1.f / 6);
        r[5 * rs][c] = d;
    }
}

DOB_WINO_CLONES
static void weights_block(const dob_wino *k, const float *w, int flip, int64_t i, int64_t ob, float *u) {
    const int64_t I = k->ic, O = k->oc;
    float g[9][VL], t[18][VL], r[36][VL];
    for (int c = 0; c < VL; c++) {
        const int64_t o = ob * VL + c;
        const float *s = flip ? w + (i * O + o) * 9 : w + (o * I + i) * 9;
        for (int j = 0; j < 9; j++) g[j][c] = s[flip ? 8 - j : j]; /* flip: rotate by 180 degrees */
    }
    for (int b = 0; b < 3; b++) g6(&g[b], 3, &t[b], 3);    /* t[a*3+b] = (G g)[a][b] */
    for (int a = 0; a < 6; a++) g6(&t[a * 3], 1, &r[a * 6], 1); /* r[a*6+b] = (G g G^T)[a][b] */
    for (int p = 0; p < 36; p++) memcpy(u + (p * I + i) * O + ob * VL, r[p], sizeof r[p]);
}

static void wino_weights(const dob_wino *k, const float *w, int flip, float *u) {
    const int64_t I = k->ic, OB = k->oc / VL;
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t i = 0; i < I; i++)
        for (int64_t ob = 0; ob < OB; ob++) weights_block(k, w, flip, i, ob, u);
}

/* ---- input: V = B^T d B ---- */
static inline void bt6(float (*d)[VL], int64_t s, float (*r)[VL], int64_t rs) {
#pragma omp simd
    for (int c = 0; c < VL; c++) {
        const float d0 = d[0][c], d1 = d[s][c], d2 = d[2 * s][c], d3 = d[3 * s][c], d4 = d[4 * s][c],
                    d5 = d[5 * s][c];
        r[0][c] = 4 * d0 - 5 * d2 + d4;
        r[rs][c] = -4 * d1 - 4 * d2 + d3 + d4;
        r[2 * rs][c] = 4 * d1 - 4 * d2 - d3 + d4;
        r[3 * rs][c] = -2 * d1 - d2 + 2 * d3 + d4;
        r[4 * rs][c] = 2 * d1 - d2 - 2 * d3 + d4;
        r[5 * rs][c] = 4 * d1 - 5 * d3 + d5;
    }
}

/* d[a * n + b] = the 8 channels at (y0 + a, x0 + b) of an nChw8c plane of h x w pixels, zeros outside it */
static inline void patch(const float *plane, int64_t h, int64_t w, int64_t y0, int64_t x0, int n, float (*d)[VL]) {
    for (int a = 0; a < n; a++)
        for (int b = 0; b < n; b++) {
            const int64_t y = y0 + a, x = x0 + b;
            if (y >= 0 && y < h && x >= 0 && x < w)
                memcpy(d[a * n + b], plane + (y * w + x) * VL, sizeof d[0]);
            else
                memset(d[a * n + b], 0, sizeof d[0]);
        }
}

/* the 36 transformed vectors r of tile t, channel block cb into rows t - t0 of buf[p] (chunk x ch) */
static inline void put36(const dob_wino *k, float (*r)[VL], float *buf, int64_t ch, int64_t t, int64_t t0,
                         int64_t cb) {
    for (int p = 0; p < 36; p++) memcpy(buf + (p * k->chunk + t - t0) * ch + cb * VL, r[p], sizeof r[0]);
}

/* tile t (global index: image, tile row, tile column) of channel block cb into V row t - t0 */
DOB_WINO_CLONES
static void in_tile(const dob_wino *k, const float *src, int64_t t, int64_t t0, int64_t cb, float *v) {
    const int64_t per = k->th * k->tw, n = t / per, y0 = t % per / k->tw * 4 - k->pt, x0 = t % k->tw * 4 - k->pl;
    float d[36][VL], e[36][VL];
    patch(src + (n * (k->ic / VL) + cb) * k->h * k->w * VL, k->h, k->w, y0, x0, 6, d);
    for (int b = 0; b < 6; b++) bt6(&d[b], 6, &e[b], 6);         /* e = B^T d, column by column */
    for (int a = 0; a < 6; a++) bt6(&e[a * 6], 1, &d[a * 6], 1); /* d = e B, row by row */
    put36(k, d, v, k->ic, t, t0, cb);
}

/* ---- output: Y = A^T M A ---- */
static inline void at6(float (*m)[VL], int64_t s, float (*r)[VL], int64_t rs) {
#pragma omp simd
    for (int c = 0; c < VL; c++) {
        const float m0 = m[0][c], m1 = m[s][c], m2 = m[2 * s][c], m3 = m[3 * s][c], m4 = m[4 * s][c],
                    m5 = m[5 * s][c];
        r[0][c] = m0 + m1 + m2 + m3 + m4;
        r[rs][c] = m1 - m2 + 2 * m3 - 2 * m4;
        r[2 * rs][c] = m1 + m2 + 4 * m3 + 4 * m4;
        r[3 * rs][c] = m1 - m2 + 8 * m3 - 8 * m4 + m5;
    }
}

DOB_WINO_CLONES
static void out_tile(const dob_wino *k, const float *m, int64_t t, int64_t t0, int64_t cb, float *dst,
                     const float *bias, int relu) {
    const int64_t per = k->th * k->tw, n = t / per, y0 = t % per / k->tw * 4, x0 = t % k->tw * 4;
    float q[36][VL], e[24][VL], o[16][VL], b0[VL] = {0};
    for (int p = 0; p < 36; p++) memcpy(q[p], m + (p * k->chunk + t - t0) * k->oc + cb * VL, sizeof q[0]);
    if (bias) memcpy(b0, bias + cb * VL, sizeof b0);
    for (int b = 0; b < 6; b++) at6(&q[b], 6, &e[b], 6);         /* e[a*6+b], a < 4 */
    for (int a = 0; a < 4; a++) at6(&e[a * 6], 1, &o[a * 4], 1); /* o[a*4+b] */
    for (int j = 0; j < 16; j++)
#pragma omp simd
        for (int c = 0; c < VL; c++) o[j][c] += b0[c];
    if (relu) /* as oneDNN's relu post-op: a NaN stays NaN */
        for (int j = 0; j < 16; j++)
#pragma omp simd
            for (int c = 0; c < VL; c++) o[j][c] = o[j][c] <= 0.f ? 0.f : o[j][c];
    float *d = dst + (n * (k->oc / VL) + cb) * k->oh * k->ow * VL;
    for (int a = 0; a < 4 && y0 + a < k->oh; a++)
        for (int b = 0; b < 4 && x0 + b < k->ow; b++) {
            memcpy(d + ((y0 + a) * k->ow + x0 + b) * VL, o[a * 4 + b], sizeof o[0]);
        }
}

/* ---- one chunk: transform in, 36 sgemms, transform out ---- */
static dnnl_status_t wino_chunk(const dob_wino *k, const float *u, const float *src, int64_t t0, int64_t T,
                                float *v, float *m, float *dst, const float *bias, int relu) {
    const int64_t I = k->ic, O = k->oc, CI = I / VL, CO = O / VL;
    int bad = 0;
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t t = t0; t < t0 + T; t++)
        for (int64_t cb = 0; cb < CI; cb++) in_tile(k, src, t, t0, cb, v);
#pragma omp parallel for schedule(static) reduction(| : bad)
    for (int p = 0; p < 36; p++)
        bad |= dnnl_sgemm('N', 'N', T, O, I, 1.f, v + p * k->chunk * I, I, u + p * I * O, O, 0.f,
                          m + p * k->chunk * O, O) != dnnl_success;
    if (bad) return dnnl_runtime_error;
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t t = t0; t < t0 + T; t++)
        for (int64_t cb = 0; cb < CO; cb++) out_tile(k, m, t, t0, cb, dst, bias, relu);
    return dnnl_success;
}

dnnl_status_t dob_wino_run(const dob_wino *k, const float *w, int flip, const float *src, float *dst,
                           const float *bias, int relu, float *scratch) {
    float *u = scratch, *v = u + 36 * k->ic * k->oc, *m = v + 36 * k->chunk * k->ic;
    const int64_t all = k->n * k->th * k->tw;
    wino_weights(k, w, flip, u);
    for (int64_t t0 = 0; t0 < all; t0 += k->chunk) {
        dnnl_status_t s = wino_chunk(k, u, src, t0, all - t0 < k->chunk ? all - t0 : k->chunk, v, m, dst, bias, relu);
        if (s != dnnl_success) return s;
    }
    return dnnl_success;
}

/* ---- backward weights: dW = G^T [ sum_t (A dy_t A^T) .* (B^T d_t B) ] G ----
 * (y = A^T [(G g) .* (B^T d)] is linear in g, so dL/dg = G^T [(A dy) .* (B^T d)], in 2-D on both sides.) */
/* r[j * rs] = (A x)[j], x[0..3 s] one column (or row) of a 4x4 output-gradient tile */
static inline void a6(float (*x)[VL], int64_t s, float (*r)[VL], int64_t rs) {
#pragma omp simd
    for (int c = 0; c < VL; c++) {
        const float x0 = x[0][c], x1 = x[s][c], x2 = x[2 * s][c], x3 = x[3 * s][c];
        r[0][c] = x0;
        r[rs][c] = x0 + x1 + x2 + x3;
        r[2 * rs][c] = x0 - x1 + x2 - x3;
        r[3 * rs][c] = x0 + 2 * x1 + 4 * x2 + 8 * x3;
        r[4 * rs][c] = x0 - 2 * x1 + 4 * x2 - 8 * x3;
        r[5 * rs][c] = x3;
    }
}

/* output-gradient tile t of channel block cb (zeros beyond the plane) into Y row t - t0 */
DOB_WINO_CLONES
static void dy_tile(const dob_wino *k, const float *ddst, int64_t t, int64_t t0, int64_t cb, float *yt) {
    const int64_t per = k->th * k->tw, n = t / per, y0 = t % per / k->tw * 4, x0 = t % k->tw * 4;
    float d[16][VL], e[24][VL], r[36][VL];
    patch(ddst + (n * (k->oc / VL) + cb) * k->oh * k->ow * VL, k->oh, k->ow, y0, x0, 4, d);
    for (int b = 0; b < 4; b++) a6(&d[b], 4, &e[b], 4);         /* e[j*4+b] = (A d)[j][b] */
    for (int j = 0; j < 6; j++) a6(&e[j * 4], 1, &r[j * 6], 1); /* r[j*6+i] = (A d A^T)[j][i] */
    put36(k, r, yt, k->oc, t, t0, cb);
}

/* r[j * rs] = (G^T x)[j], x[0..5 s] */
static inline void gt3(float (*x)[VL], int64_t s, float (*r)[VL], int64_t rs) {
#pragma omp simd
    for (int c = 0; c < VL; c++) {
        const float x0 = x[0][c], x1 = x[s][c], x2 = x[2 * s][c], x3 = x[3 * s][c], x4 = x[4 * s][c],
                    x5 = x[5 * s][c];
        r[0][c] = x0 * 0.25f - (x1 + x2) * (1.f / 6) + (x3 + x4) * (1.f / 24);
        r[rs][c] = (x2 - x1) * (1.f / 6) + (x3 - x4) * (1.f / 12);
        r[2 * rs][c] = (x3 + x4 - x1 - x2) * (1.f / 6) + x5;
    }
}

/* dw[o][i] (plain OIHW) = G^T M[.][i][o] G for the 8 output channels of block ob */
DOB_WINO_CLONES
static void dw_block(const dob_wino *k, const float *m, int64_t i, int64_t ob, float *dw) {
    const int64_t I = k->ic, O = k->oc;
    float q[36][VL], e[18][VL], r[9][VL];
    for (int p = 0; p < 36; p++) memcpy(q[p], m + (p * I + i) * O + ob * VL, sizeof q[0]);
    for (int b = 0; b < 6; b++) gt3(&q[b], 6, &e[b], 6);         /* e[a*6+b], a < 3 */
    for (int a = 0; a < 3; a++) gt3(&e[a * 6], 1, &r[a * 3], 1); /* r[a*3+b] */
    for (int c = 0; c < VL; c++)
        for (int j = 0; j < 9; j++) dw[((ob * VL + c) * I + i) * 9 + j] = r[j][c];
}

/* db[o] = sum of ddst over images and pixels, in double, one channel block per thread at a time */
static void bias_grad(const dob_wino *k, const float *ddst, float *db) {
    const int64_t CO = k->oc / VL, hw = k->oh * k->ow;
#pragma omp parallel for schedule(static)
    for (int64_t cb = 0; cb < CO; cb++) {
        double acc[VL] = {0};
        for (int64_t n = 0; n < k->n; n++) {
            const float *s = ddst + (n * CO + cb) * hw * VL;
            for (int64_t j = 0; j < hw; j++)
#pragma omp simd
                for (int c = 0; c < VL; c++) acc[c] += s[j * VL + c];
        }
        for (int c = 0; c < VL; c++) db[cb * VL + c] = (float)acc[c];
    }
}

dnnl_status_t dob_wino_bwd_w(const dob_wino *k, const float *src, const float *ddst, float *dw, float *db,
                             float *scratch) {
    const int64_t I = k->ic, O = k->oc, CI = I / VL, CO = O / VL, all = k->n * k->th * k->tw;
    float *m = scratch, *v = m + 36 * I * O, *yt = v + 36 * k->chunk * I;
    int bad = 0;
    for (int64_t t0 = 0; t0 < all; t0 += k->chunk) {
        const int64_t T = all - t0 < k->chunk ? all - t0 : k->chunk;
#pragma omp parallel for collapse(2) schedule(static)
        for (int64_t t = t0; t < t0 + T; t++)
            for (int64_t cb = 0; cb < CI + CO; cb++) {
                if (cb < CI)
                    in_tile(k, src, t, t0, cb, v);
                else
                    dy_tile(k, ddst, t, t0, cb - CI, yt);
            }
#pragma omp parallel for schedule(static) reduction(| : bad)
        for (int p = 0; p < 36; p++) /* M[p] (I x O) (+)= V[p]^T Y[p]: the sum over tiles */
            bad |= dnnl_sgemm('T', 'N', I, O, T, 1.f, v + p * k->chunk * I, I, yt + p * k->chunk * O, O,
                              t0 ? 1.f : 0.f, m + p * I * O, O) != dnnl_success;
        if (bad) return dnnl_runtime_error;
    }
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t i = 0; i < I; i++)
        for (int64_t ob = 0; ob < CO; ob++) dw_block(k, m, i, ob, dw);
    if (db) bias_grad(k, ddst, db);
    return dnnl_success;
}
