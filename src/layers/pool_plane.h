/* pool_plane.h: average pooling on plain N,C,H,W planes by hand (pool_plane.c), and the window geometry pool.c
 * shares with it. */
#ifndef DOB_POOL_PLANE_H
#define DOB_POOL_PLANE_H

#include <stdint.h>

/* One axis of output position o's window: it starts at input *start (negative inside the leading padding) and
 * its valid taps are [*lo, *hi) of 0 .. k-1 (n inputs, stride s, leading padding pad). */
static inline void dob_pool_window(int64_t o, int64_t s, int64_t pad, int64_t k, int64_t n, int64_t *start,
                                   int64_t *lo, int64_t *hi) {
    *start = o * s - pad;
    *lo = *start < 0 ? -*start : 0;
    *hi = *start + k > n ? n - *start : k;
}

/* Geometry of one plane-wise average pooling: `planes` = N * C contiguous H x W planes -> OH x OW, window kh x kw,
 * strides sh, sw, leading pads pt, pl; cols[j] = valid columns of output column j's window (TF excludes padding
 * from the count). */
typedef struct dob_avg_plane {
    int64_t planes, H, W, OH, OW, kh, kw, sh, sw, pt, pl;
    float *cols;
    int64_t *taps; /* [2 kw]: the outputs [taps[2b], taps[2b+1]) whose window tap b is inside a row */
} dob_avg_plane;

/** Fill g (cols and taps allocated here); 0 when out of memory, with nothing left allocated. */
int dob_avg_plane_init(dob_avg_plane *g, int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW, int64_t kh,
                       int64_t kw, int64_t sh, int64_t sw, int64_t pt, int64_t pl);
void dob_avg_plane_free(dob_avg_plane *g);
/** y = average of x over each window (valid taps only). */
void dob_avg_plane_forward(const dob_avg_plane *g, const float *x, float *y);
/** dx = sum over the windows holding each input of dy / count (dx overwritten). */
void dob_avg_plane_backward(const dob_avg_plane *g, const float *dy, float *dx);

#endif
