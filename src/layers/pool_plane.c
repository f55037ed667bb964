/* pool_plane.c: average pooling (TF semantics: padded taps excluded from the count) on plain N,C,H,W planes.
 *
 * Why: Inception-v3 keeps its tensors plain (they feed concatenations), and oneDNN 2.6 pools plain nchw only
 * with slow kernels, so pool.c reordered each input to nhwc and the output back: on the 2-core Sapphire Rapids,
 * batch 32, 2 threads, block5b_1's 3x3/1 SAME pooling of 32x288x35x35 took 25.7 ms forward and 35.2 ms backward,
 * of which the primitives 5.8 and 13.2 ms; the reorders were the rest. These loops read each plane once and
 * vectorise along a row: 13.3 / 11.3 ms. On short rows their per-row overhead loses (pool.c, plane_build).
 * Order of the sums: forward adds the window row by row, left to right (as oneDNN's reference); backward adds
 * each output's share dy / count into its window's inputs, outputs in row-major order. Each plane is one
 * thread's, so the result never depends on the thread count. */
#include "pool_plane.h"

#include <stdlib.h>
#include <string.h>

enum { PLANE_CHUNK = 256 };

/* The row loops are short (35 outputs in Inception's 35x35 blocks): with generic x86-64's 4 lanes they were
 * compute-bound; AVX2 / AVX-512 clones (GCC picks one at load time by the CPU) give 8 / 16 lanes. */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define DOB_PLANE_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define DOB_PLANE_CLONES
#endif /* outputs of one row whose shares backward holds at once */

int dob_avg_plane_init(dob_avg_plane *g, int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW, int64_t kh,
                       int64_t kw, int64_t sh, int64_t sw, int64_t pt, int64_t pl) {
    *g = (dob_avg_plane){planes, H, W, OH, OW, kh, kw, sh, sw, pt, pl, malloc((size_t)OW * sizeof(float)),
                         malloc((size_t)(2 * kw) * sizeof(int64_t))};
    if (!g->cols || !g->taps) {
        dob_avg_plane_free(g);
        return 0;
    }
    for (int64_t j = 0; j < OW; j++) {
        int64_t start, lo, hi;
        dob_pool_window(j, sw, pl, kw, W, &start, &lo, &hi);
        g->cols[j] = (float)(hi - lo);
    }
    /* tap b of output j reads column j sw + b - pl: inside [0, W) for j in [j0, j1) */
    for (int64_t b = 0; b < kw; b++) {
        const int64_t off = b - pl, j1 = (W - off + sw - 1) / sw;
        g->taps[2 * b] = off < 0 ? (-off + sw - 1) / sw : 0;
        g->taps[2 * b + 1] = j1 < OW ? j1 : OW;
    }
    return 1;
}

void dob_avg_plane_free(dob_avg_plane *g) {
    free(g->cols);
    free(g->taps);
    g->cols = NULL;
    g->taps = NULL;
}

/* acc[j] += x[j sw + off] over [j0, j1): contiguous for stride 1, where it vectorises. */
static void add_taps(float *restrict acc, const float *restrict x, int64_t j0, int64_t j1, int64_t sw, int64_t off) {
    if (sw == 1)
        for (int64_t j = j0; j < j1; j++) acc[j] += x[j + off];
    else
        for (int64_t j = j0; j < j1; j++) acc[j] += x[j * sw + off];
}

/* dx[j sw + off] += s[j - base] over [j0, j1): the transpose of add_taps. */
static void spread_taps(float *restrict dx, const float *restrict s, int64_t base, int64_t j0, int64_t j1,
                        int64_t sw, int64_t off) {
    if (sw == 1)
        for (int64_t j = j0; j < j1; j++) dx[j + off] += s[j - base];
    else
        for (int64_t j = j0; j < j1; j++) dx[j * sw + off] += s[j - base];
}

DOB_PLANE_CLONES static void plane_forward(const dob_avg_plane *g, const float *x, float *y) {
    for (int64_t i = 0; i < g->OH; i++, y += g->OW) {
        int64_t r0, lo, hi;
        dob_pool_window(i, g->sh, g->pt, g->kh, g->H, &r0, &lo, &hi);
        memset(y, 0, (size_t)g->OW * sizeof *y);
        for (int64_t a = lo; a < hi; a++)
            for (int64_t b = 0; b < g->kw; b++)
                add_taps(y, x + (r0 + a) * g->W, g->taps[2 * b], g->taps[2 * b + 1], g->sw, b - g->pl);
        const float rows = (float)(hi - lo);
        for (int64_t j = 0; j < g->OW; j++) y[j] /= rows * g->cols[j];
    }
}

DOB_PLANE_CLONES static void plane_backward(const dob_avg_plane *g, const float *dy, float *dx) {
    float share[PLANE_CHUNK];
    memset(dx, 0, (size_t)(g->H * g->W) * sizeof *dx);
    for (int64_t i = 0; i < g->OH; i++, dy += g->OW) {
        int64_t r0, lo, hi;
        dob_pool_window(i, g->sh, g->pt, g->kh, g->H, &r0, &lo, &hi);
        const float rows = (float)(hi - lo);
        for (int64_t c0 = 0; c0 < g->OW; c0 += PLANE_CHUNK) {
            const int64_t c1 = c0 + PLANE_CHUNK < g->OW ? c0 + PLANE_CHUNK : g->OW;
            for (int64_t j = c0; j < c1; j++) share[j - c0] = dy[j] / (rows * g->cols[j]);
            for (int64_t a = lo; a < hi; a++)
                for (int64_t b = 0; b < g->kw; b++) {
                    const int64_t j0 = g->taps[2 * b], j1 = g->taps[2 * b + 1];
                    spread_taps(dx + (r0 + a) * g->W, share, c0, j0 > c0 ? j0 : c0, j1 < c1 ? j1 : c1, g->sw,
                                b - g->pl);
                }
        }
    }
}

void dob_avg_plane_forward(const dob_avg_plane *g, const float *x, float *y) {
#pragma omp parallel for schedule(static)
    for (int64_t p = 0; p < g->planes; p++) plane_forward(g, x + p * g->H * g->W, y + p * g->OH * g->OW);
}

void dob_avg_plane_backward(const dob_avg_plane *g, const float *dy, float *dx) {
#pragma omp parallel for schedule(static)
    for (int64_t p = 0; p < g->planes; p++) plane_backward(g, dy + p * g->OH * g->OW, dx + p * g->H * g->W);
}
