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
} dob_dataset;

/** Allocate n float32 examples and float rows of k targets (zeroed). */
dob_status dob_dataset_alloc(dob_dataset *d, int64_t n, int x_ndim, const int64_t *x_dims, int64_t k);
/** Allocate n examples stored as x_type with targets of kind y_type (zeroed; x_div = 1). DOB_Y_NEXT needs
 *  x_ndim = 1 and k = x_dims[0] (the sequence length): x then holds n * k + 1 values. */
dob_status dob_dataset_alloc_as(dob_dataset *d, int64_t n, int x_ndim, const int64_t *x_dims, int64_t k,
                                dob_dtype x_type, dob_targets y_type);
void dob_dataset_free(dob_dataset *d);
/** Values per example. */
int64_t dob_dataset_example_size(const dob_dataset *d);
/** Bytes of x and y/label as dob_dataset_pack lays them out (each rounded up to 64). */
size_t dob_dataset_bytes(const dob_dataset *d);
/** Copy x and y/label to dst (dob_dataset_bytes(d) bytes, 64-byte aligned). */
void dob_dataset_pack(const dob_dataset *d, void *dst);
/** *view = the header hdr over packed data at src (borrowed: dob_dataset_free leaves it). */
void dob_dataset_view(const dob_dataset *hdr, const void *src, dob_dataset *view);
/** Move examples [first, first + count) of src into a new dataset dst (copy, same storage). */
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

#endif
