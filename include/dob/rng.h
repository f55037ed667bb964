/* dob/rng.h: counter-based random numbers (Random123 Philox4x32-10).
 *
 * Every random number is a pure function of (seed, purpose, stream, index): no state, no sequence. So parameter
 * init, epoch permutations, augmentation and dropout give the same values on any number of threads or MPI ranks.
 * The key is (seed low 32 bits ^ purpose mix, seed high 32 bits); the counter is (index lo, index hi, stream lo,
 * stream hi). Each counter yields four uint32 words. */
#ifndef DOB_RNG_H
#define DOB_RNG_H

#include <stddef.h>
#include <stdint.h>

/* What a stream is used for; part of the key so streams of different purposes never collide. */
enum {
    DOB_RNG_INIT = 1,     /* parameter init; stream = tensor id */
    DOB_RNG_SHUFFLE = 2,  /* epoch permutation; stream = epoch */
    DOB_RNG_AUGMENT = 3,  /* augmentation; stream = global example index, keyed per epoch */
    DOB_RNG_DROPOUT = 4,  /* dropout masks; stream = (layer, step), index = global element */
    DOB_RNG_DATA = 5,     /* synthetic data sets (quadratic, two_d) */
    DOB_RNG_NOISE = 6,    /* sampling inside a model (VAE) */
    DOB_RNG_TEST = 7,     /* tests */
    DOB_RNG_SEARCH = 8    /* random search of a sweep: stream = sample index, value = hyperparameter column */
};

typedef struct dob_rng {
    uint64_t seed;
    uint32_t purpose;
    uint64_t stream;
} dob_rng;

/** Raw block: four uint32 words at counter (index, stream) under key (seed, purpose). */
void dob_rng_block(const dob_rng *r, uint64_t index, uint32_t out[4]);
/** One uint32 word number `i` of the stream (word i of block i/4). */
uint32_t dob_rng_u32(const dob_rng *r, uint64_t i);
/** Blocks first .. first + n - 1 (dob_rng_block of each) into out[4 n], in order; the same bits, 8 blocks at a
 *  time in AVX2 lanes where the CPU has AVX2 (dropout's mask). */
void dob_rng_blocks(const dob_rng *r, uint64_t first, size_t n, uint32_t *out);
/** Uniform float in [0, 1) from word i (24 random bits). */
float dob_rng_uniform(const dob_rng *r, uint64_t i);
/** Uniform double in [0, 1) from words 2i and 2i+1 (53 bits). */
double dob_rng_uniform_double(const dob_rng *r, uint64_t i);
/** Standard normal number i of the stream (Box-Muller on one block, one value per block: thread independent). */
double dob_rng_normal(const dob_rng *r, uint64_t i);
/** Standard normal truncated to [-2, 2] by resampling (TF truncated_normal); value i of the stream. */
double dob_rng_trunc_normal(const dob_rng *r, uint64_t i);

/** Fill x[0..n) with U[lo, hi); element i uses word i. Parallel over threads, thread-count independent. */
void dob_rng_fill_uniform(const dob_rng *r, float *x, size_t n, float lo, float hi);
/** Fill with N(mean, std^2). */
void dob_rng_fill_normal(const dob_rng *r, float *x, size_t n, float mean, float std);
/** Fill with TF's truncated normal: N(mean, std^2) resampled outside mean +- 2 std. */
void dob_rng_fill_trunc_normal(const dob_rng *r, float *x, size_t n, float mean, float std);
/** Fisher-Yates permutation of 0..n-1 into perm, driven by stream r (sequential; n up to 2^32). */
void dob_rng_permutation(const dob_rng *r, uint32_t *perm, size_t n);

#endif
