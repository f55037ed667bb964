/* dob/data.h: data sets held in memory and the batching over them (src/data/). Readers in io/ fill a
 * dob_dataset; the trainer gathers batches by index lists from counter-RNG permutations. */
#ifndef DOB_DATA_H
#define DOB_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "dob/rng.h"
#include "dob/status.h"

/** How a data set stores its examples (issue 20): in the type of its files, converted to float32 only when a
 *  batch is gathered, so a 60 000-image MNIST is 47 MB of bytes, not 188 MB of floats. */
typedef enum dob_dtype {
    DOB_DT_F32 = 0,  /* float32 as is (drawn data: quadratic, two_d) */
    DOB_DT_U8 = 1,   /* bytes: pixels, characters */
    DOB_DT_I32 = 2,  /* int32: token ids beyond 255 */
} dob_dtype;

/** What the targets are and how a batch gets them (always as float32 rows of k). */
typedef enum dob_targets {
    DOB_Y_ROWS = 0,    /* y: k floats per example */
    DOB_Y_LABELS = 1,  /* label: one class in [0, k) per example, gathered one-hot */
    DOB_Y_NEXT = 2,    /* the next k values of x's stream (a char-RNN's targets: x shifted by one) */
} dob_targets;

/* ---- data sets read on demand (streamed) ------------------------------------------------------------------
 * A data set too large for memory (ImageNet) keeps only its list of examples; an io/ reader decodes and
 * preprocesses the examples a batch asks for, ahead of the step when told which batches come next. */

/** One batch asked of a source: examples base + idx[0..n) of its list. augment = 1: the training preprocessing of
 *  example i keyed by the Philox stream (seed, DOB_RNG_AUGMENT, first + i), as dob_preproc_apply. */
typedef struct dob_batch_req {
    int64_t base;
    const uint32_t *idx;
    int64_t n;
    int augment;
    uint64_t seed, first;
} dob_batch_req;

typedef struct dob_source_ops {
    /** Examples of q into x [n x size] and one-hot targets into y [n x k] (y NULL: none). */
    dob_status (*read)(void *ctx, const dob_batch_req *q, float *x, float *y);
    /** Start producing q, which a read with equal arguments will ask for (in announcement order). */
    void (*prefetch)(void *ctx, const dob_batch_req *q);
    void (*destroy)(void *ctx);
} dob_source_ops;

/** A source shared by the data sets cut from it (a v1.2 split's train and valid); the last free destroys it. */
typedef struct dob_source {
    const dob_source_ops *ops;
    void *ctx;
    int refs;
    int depth;           /* batches a consumer may announce ahead (the prefetch queue's length) */
} dob_source;

/** One split in memory. Example i is the prod(x_dims) values of x from element i * stride (C,H,W order), as
 *  float32: (float)v for integer storage, divided by x_div unless that is 1 (MNIST: TF's x / 255.). Streams
 *  (DOB_Y_NEXT) hold overlapping sequences: stride = the sequence length, n * stride + 1 elements. */
typedef struct dob_dataset {
    int64_t n;
    int x_ndim;
    int64_t x_dims[4];
    int64_t k;
    dob_dtype x_type;
    int64_t stride;      /* elements from one example's start to the next */
    float x_div;         /* integer storage: float value = (float)v / x_div (1: no division) */
    void *x;             /* 64-byte aligned */
    dob_targets y_type;
    float *y;            /* DOB_Y_ROWS: n x k */
    int32_t *label;      /* DOB_Y_LABELS: n */
    int borrowed;        /* x, y and label belong to someone else (a node's shared window): free leaves them */
    dob_source *src;     /* streamed: examples [src_first, src_first + n) of the source; x, y, label NULL */
    int64_t src_first;
} dob_dataset;

/** Allocate n float32 examples and float rows of k targets (zeroed). */
dob_status dob_dataset_alloc(dob_dataset *d, int64_t n, int x_ndim, const int64_t *x_dims, int64_t k);
/** Allocate n examples stored as x_type with targets of kind y_type (zeroed; x_div = 1). DOB_Y_NEXT needs
 *  x_ndim = 1 and k = x_dims[0] (the sequence length): x then holds n * k + 1 values. */
dob_status dob_dataset_alloc_as(dob_dataset *d, int64_t n, int x_ndim, const int64_t *x_dims, int64_t k,
                                dob_dtype x_type, dob_targets y_type);
void dob_dataset_free(dob_dataset *d);
/** A streamed data set of n examples over a new source (ops, ctx; depth batches of prefetch) that the data set
 *  owns: dob_dataset_free destroys it. Targets: k classes. On failure ops->destroy(ctx) has been called. */
dob_status dob_dataset_stream(dob_dataset *d, int64_t n, int x_ndim, const int64_t *x_dims, int64_t k,
                              const dob_source_ops *ops, void *ctx, int depth);
/** Examples idx[0..n) as float32 into x [n x size] and targets into y [n x k] (y NULL: none): a gather for sets
 *  in memory (augment, seed and first unused: the trainer augments them), a read for streamed ones, which apply
 *  their own training preprocessing when augment = 1. @return the source's error (DOB_EIO, ...). */
dob_status dob_dataset_fetch(const dob_dataset *d, const uint32_t *idx, int64_t n, int augment, uint64_t seed,
                             uint64_t first, float *x, float *y);
/** Announce a dob_dataset_fetch with the same arguments that will follow (streamed sets; no-op in memory). */
void dob_dataset_prefetch(const dob_dataset *d, const uint32_t *idx, int64_t n, int augment, uint64_t seed,
                          uint64_t first);
/** Batches a consumer may announce ahead: 0 for sets in memory. */
int dob_dataset_prefetch_depth(const dob_dataset *d);
/** Values per example. */
int64_t dob_dataset_example_size(const dob_dataset *d);
/** Bytes of x and y/label as dob_dataset_pack lays them out (each rounded up to 64); 0 for a streamed set, which
 *  is never packed (each rank streams its own). */
size_t dob_dataset_bytes(const dob_dataset *d);
/** Copy x and y/label to dst (dob_dataset_bytes(d) bytes, 64-byte aligned). */
void dob_dataset_pack(const dob_dataset *d, void *dst);
/** *view = the header hdr over packed data at src (borrowed: dob_dataset_free leaves it). */
void dob_dataset_view(const dob_dataset *hdr, const void *src, dob_dataset *view);
/** Move examples [first, first + count) of src into a new dataset dst (copy, same storage; a streamed src gives
 *  a streamed dst sharing its source). */
dob_status dob_dataset_slice(const dob_dataset *src, int64_t first, int64_t count, dob_dataset *dst);
/** Examples [first, first + count) of src converted into a new float32 data set with target rows, as a batch
 *  would see them (for `dob data` and dumps). */
dob_status dob_dataset_to_f32(const dob_dataset *src, int64_t first, int64_t count, dob_dataset *dst);
/** Examples idx[0..b) as float32 into x [b x size] and targets into y [b x k] (y NULL: none). OpenMP over
 *  examples; pure conversions, so the batch does not depend on the storage type or the thread count. */
void dob_dataset_gather(const dob_dataset *d, const uint32_t *idx, int64_t b, float *x, float *y);

/* ---- numpy's legacy RandomState and DeepOBS's synthetic data sets (src/data/np_random.c) ---------------- */

/** numpy.random.RandomState (MT19937 + the cached polar Box-Muller), for data DeepOBS draws with fixed seeds. */
typedef struct dob_np_rng {
    uint32_t mt[624];
    int mti;
    int has_gauss;
    double gauss;
} dob_np_rng;
/** RandomState(seed) for an integer seed (init_genrand). */
void dob_np_seed(dob_np_rng *r, uint32_t seed);
uint32_t dob_np_u32(dob_np_rng *r);
/** random_sample(): 53-bit double in [0, 1). */
double dob_np_random(dob_np_rng *r);
/** uniform(lo, hi). */
double dob_np_uniform(dob_np_rng *r, double lo, double hi);
/** One standard normal as RandomState.normal draws it (legacy gauss, second value cached). */
double dob_np_gauss(dob_np_rng *r);
/** DeepOBS quadratic data: float32(RandomState(seed).normal(0, noise, (n, dim))); y one zero column. */
dob_status dob_quadratic_data(uint32_t seed, int64_t n, int64_t dim, double noise, dob_dataset *out);
/** DeepOBS two_d data: examples (x_i, y_i), x = normal(0, noise, n) then y = normal(0, noise, n) from
 *  RandomState(seed); zeros = 1 gives the all-zero test set. y one zero column. */
dob_status dob_two_d_data(uint32_t seed, int64_t n, double noise, int zeros, dob_dataset *out);

/** DeepOBS's image preprocessing (src/data/augment.c, TF order): in training, zero-pad + random crop, random
 *  left-right flip, random brightness, saturation and contrast; in every split, per-image standardisation.
 *  A field at 0 switches its step off. Images are C,H,W; saturation needs C == 3. */
typedef struct dob_preproc {
    int standardize;          /* tf.image.per_image_standardization, every split */
    int64_t pad;              /* train: pad each side, random crop back (CIFAR/SVHN: 2, 32 -> 36 -> 32) */
    int flip;                 /* train: random left-right flip, p = 0.5 */
    float brightness;         /* train: add U[-b, b) (DeepOBS: 63/255 on the 0..255 scale) */
    float sat_lo, sat_hi;     /* train: saturation factor U[lo, hi) (DeepOBS: 0.5, 1.5) */
    float con_lo, con_hi;     /* train: contrast factor U[lo, hi) (DeepOBS: 0.2, 1.8) */
} dob_preproc;

/** Preprocess n images src -> dst [n x c x h x w]. augment = 1: the training steps, example i keyed by the Philox
 *  stream (seed, DOB_RNG_AUGMENT, first + i) with first = its global position in the run, then standardisation;
 *  augment = 0: standardisation only (dst may equal src). With augment, src and dst must not overlap.
 *  OpenMP over examples; results do not depend on the thread count. */
void dob_preproc_apply(const dob_preproc *p, int augment, uint64_t seed, uint64_t first, const float *src,
                       float *dst, int64_t n, int64_t c, int64_t h, int64_t w);
/** One example's training steps (no standardisation), global index `index`: for tests and `dob data`. */
void dob_preproc_example(const dob_preproc *p, uint64_t seed, uint64_t index, const float *src, float *dst,
                         int64_t c, int64_t h, int64_t w);

/* ---- DeepOBS's ImageNet preprocessing (src/data/imgpre.c) --------------------------------------------------
 * Per image, as DeepOBS's imagenet.py: RGB bytes -> float32 x / 255 -> aspect-preserving bilinear resize (TF1
 * resize_images, legacy mapping: src/layers/resize.c's arithmetic) so the shorter side is 256 -> training:
 * crop-or-pad to 256x256, random 224x224 crop, random left-right flip; evaluation: crop-or-pad to 224x224. The
 * per-image standardisation that follows is dob_preproc_apply's (the problem's dob_preproc). Rows are fed as a
 * decoder emits them; memory is the first pass over the rows the resize reads (at most 2 x 256 x 4096 x 3 floats)
 * and the resized image, never the decoded image. */
#define DOB_IMAGENET_SIDE 224    /* network input */
#define DOB_IMAGENET_SHORT 256   /* shorter side after the resize */
#define DOB_IMAGENET_MAX_PIXELS ((int64_t)1 << 26) /* larger decoded images are refused (64 Mpx) */
#define DOB_IMAGENET_MAX_ASPECT 16                 /* ... and longer sides beyond 16 x the shorter one */

typedef struct dob_imgpre {
    int64_t h, w, nh, nw;             /* decoded size, resized size */
    int64_t kept;                     /* source rows the resize reads */
    struct dob_resize_tap *ys, *xs;   /* [nh] (indices into the kept rows), [nw] */
    int32_t *slot;                    /* [h]: kept-row index of a source row, -1 if the resize never reads it */
    float *line;                      /* [3 x w]: the current row as floats */
    float *rows;                      /* [3 x kept x nw]: first pass over the kept rows */
    float *img;                       /* [3 x nh x nw]: resized image */
    size_t cap[5];                    /* grow-only capacities of the buffers above */
} dob_imgpre;
/** DeepOBS's new size: scale = 256 / shorter side (float32), each side rint(scale * side). */
void dob_imgpre_size(int64_t h, int64_t w, int64_t *nh, int64_t *nw);
/** Start an h x w image. @return DOB_EFORMAT for a size beyond the limits above, DOB_ENOMEM. */
dob_status dob_imgpre_begin(dob_imgpre *p, int64_t h, int64_t w);
/** Row r (0..h-1, in order) as RGB bytes [w x 3]. */
void dob_imgpre_row(dob_imgpre *p, int64_t r, const uint8_t *rgb);
/** The 3 x 224 x 224 result (C,H,W) into dst; augment = 1: the training crop and flip keyed by the Philox stream
 *  (seed, DOB_RNG_AUGMENT, key). */
void dob_imgpre_finish(dob_imgpre *p, int augment, uint64_t seed, uint64_t key, float *dst);
void dob_imgpre_free(dob_imgpre *p);

#endif
