/* dob/sweep.h: hyperparameter grids and seed lists of a sweep, their expansion into trials, and the slicing of
 * the trial list (--trials a:b, Slurm job arrays). Pure computation (src/sweep.c): no MPI, no files.
 *
 * Grid syntax (one per hyperparameter flag, --lr included):
 *   log:LO:HI:N   N values log-spaced from LO to HI, both included (0 < LO < HI, N >= 2):
 *                 10^((log10 LO (N-1-k) + log10 HI k) / (N-1)); DeepOBS's lr grid log:1e-5:1e2:36 = 10^(-5+k/5)
 *   lin:LO:HI:N   N values evenly spaced from LO to HI, both included (LO < HI, N >= 2)
 *   A,B,C         a list (no duplicates), or a single value A
 *   uniform:LO:HI      random search (with --samples N): uniform on [LO, HI] (LO < HI)
 *   loguniform:LO:HI   random search: log-uniform on [LO, HI] (0 < LO < HI), DeepOBS 1.2's log_uniform
 * Seeds: A:B (inclusive range, A <= B), A,B,C (no duplicates), or A; seeds are >= 0.
 *
 * Trial order: trial t = s * n_seeds + j, seed j innermost; the setting s enumerates the grids like nested
 * loops in the order given (the first grid, the learning rate, outermost; the last grid fastest). So a
 * contiguous slice of the trial list holds whole settings when its bounds are multiples of n_seeds.
 * A random search has N settings, the samples: trial t = sample * n_seeds + j. Every hyperparameter is then a
 * distribution or one value (a grid of several values with samples is refused: no hidden product).
 *
 * Sample s, hyperparameter column k (0: the learning rate) of a sweep with sample seed S is a pure function of
 * (S, s, k): u = dob_rng_uniform_double of the Philox stream (seed S, purpose DOB_RNG_SEARCH, stream s) at value
 * k, mapped to [LO, HI] (log-uniform: exp(log LO + u (log HI - log LO))), rounded to 10 significant digits (so
 * that a last-bit difference of libm's exp/log on another machine does not change it) and clamped to [LO, HI].
 * So every rank, slice, --resume and merge draws the same points from the sweep_spec alone.
 *
 * The sweep_spec (/meta sweep_spec) names everything the trial list depends on:
 *   "NAME=GRID;NAME=GRID;...;[samples=N;sample_seed=S;]seeds=SEEDS"
 * one entry per hyperparameter, learning_rate first, each GRID as given (a default as %.17g).
 * dob_sweep_spec_expand is the only expansion of a sweep's trials: `dob sweep` expands the spec it stores, and
 * --resume, merge and the per-trial checksums expand the spec they read. */
#ifndef DOB_SWEEP_H
#define DOB_SWEEP_H

#include <stddef.h>
#include <stdint.h>

#include "dob/status.h"

#define DOB_GRID_MAX_VALUES 100000      /* values in one grid */
#define DOB_SWEEP_MAX_TRIALS 10000000   /* trials in one sweep (ids fit an int) */

/** The values of one hyperparameter (malloc'd; dob_grid_free). */
typedef struct dob_grid {
    int n;
    double *v;
} dob_grid;

/** Parse a grid spec; flag ("--lr") names the option in messages. On error g is left empty. */
dob_status dob_grid_parse(const char *flag, const char *spec, dob_grid *g);
/** A one-value grid. */
dob_status dob_grid_single(double v, dob_grid *g);
void dob_grid_free(dob_grid *g);

/** Parse a seed spec into *seeds (malloc'd, *n values). */
dob_status dob_seeds_parse(const char *flag, const char *spec, int64_t **seeds, int *n);

/** Expand n_grids grids x n_seeds seeds into trials (order above).
 *  @param hp out: malloc'd n_trials x n_grids values, row-major
 *  @param seed out: malloc'd n_trials seeds
 *  @param n_trials out: number of trials (fails above DOB_SWEEP_MAX_TRIALS) */
dob_status dob_sweep_expand(int n_grids, const dob_grid *grids, const int64_t *seeds, int n_seeds, double **hp,
                            int64_t **seed, int64_t *n_trials);

/* ---- random search (src/sweep_search.c; the expansion in src/sweep.c) ---------------------------------------- */
typedef enum dob_dist_kind { DOB_DIST_UNIFORM = 0, DOB_DIST_LOGUNIFORM } dob_dist_kind;

/** A distribution of a random search: uniform or log-uniform on [lo, hi]. */
typedef struct dob_dist {
    dob_dist_kind kind;
    double lo, hi;
} dob_dist;

/** 1 if spec is a distribution ("uniform:..." or "loguniform:..."), 0 for a grid. */
int dob_dist_is(const char *spec);
/** Parse "uniform:LO:HI" / "loguniform:LO:HI"; flag names the option in messages (bounds named). */
dob_status dob_dist_parse(const char *flag, const char *spec, dob_dist *d);
/** Sample `sample` of hyperparameter column col under sample_seed (the rule above); in [d->lo, d->hi]. */
double dob_dist_sample(const dob_dist *d, uint64_t sample_seed, int64_t sample, int col);

/** One hyperparameter of a sweep: a grid, or a distribution (is_dist). */
typedef struct dob_axis {
    int is_dist;
    dob_grid grid;
    dob_dist dist;
} dob_axis;

/** Parse a grid or a distribution. On error a is left empty. */
dob_status dob_axis_parse(const char *flag, const char *spec, dob_axis *a);
void dob_axis_free(dob_axis *a);
/** The axes fit the sweep's kind: with n_samples > 0 no grid of several values and at least one distribution;
 *  with n_samples == 0 no distribution. labels ("--lr") and texts name them in the messages. */
dob_status dob_sweep_check_axes(int n, const char *const *labels, const char *const *texts, const dob_axis *axes,
                                int64_t n_samples);
/** Expand n_samples samples x n_seeds seeds (order above); single-value axes give their value. Same outputs as
 *  dob_sweep_expand. */
dob_status dob_sweep_expand_samples(int n_axes, const dob_axis *axes, int64_t n_samples, uint64_t sample_seed,
                                    const int64_t *seeds, int n_seeds, double **hp, int64_t **seed,
                                    int64_t *n_trials);

/* ---- the sweep_spec (src/sweep_search.c) ------------------------------------------------------------------ */
/** Make the spec (malloc'd *spec) from n hyperparameter names and their texts (none NULL), n_samples (0: a grid
 *  sweep), sample_seed and the seeds' text. */
dob_status dob_sweep_spec_make(int n, const char *const *names, const char *const *texts, int64_t n_samples,
                               uint64_t sample_seed, const char *seeds, char **spec);
/** Expand a spec for hyperparameters names[0..n) into the trial list (outputs as dob_sweep_expand). DOB_EFORMAT
 *  names the spec when an entry is missing, unknown or repeated; grid, seed and sample errors as their parsers. */
dob_status dob_sweep_spec_expand(const char *spec, int n, const char *const *names, double **hp, int64_t **seed,
                                 int64_t *n_trials);

/** Contiguous slice `id` of `count` over n_trials trials: [*first, *end), sizes differ by at most one
 *  (slice i = [floor(i T / C), floor((i+1) T / C))). Fails unless 0 <= id < count and count >= 1. */
dob_status dob_sweep_slice(int64_t n_trials, int id, int count, int64_t *first, int64_t *end);

/** Parse "--trials A:B" (inclusive global ids, 0 <= A <= B < n_trials) or "A" into [*first, *end). */
dob_status dob_sweep_parse_range(const char *flag, const char *spec, int64_t n_trials, int64_t *first,
                                 int64_t *end);

/** The job-array slice from the Slurm variables (strings as getenv returns them, NULL if unset):
 *  slice id = SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN (MIN unset: 0), count = SLURM_ARRAY_TASK_COUNT.
 *  *have = 0 (and DOB_OK) when task_id is unset; errors name the variable and value. */
dob_status dob_sweep_slurm_slice(const char *task_id, const char *task_count, const char *task_min, int *have,
                                 int *id, int *count);

/** The output file of slice `id`: "<stem>.slice<id>.h5" for "<stem>.h5", else "<path>.slice<id>".
 *  @return DOB_EINVAL if it does not fit in cap bytes. */
dob_status dob_sweep_slice_path(const char *path, int id, char *out, size_t cap);

#endif
