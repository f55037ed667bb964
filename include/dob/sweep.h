/* dob/sweep.h: hyperparameter grids and seed lists of a sweep, their expansion into trials, and the slicing of
 * the trial list (--trials a:b, Slurm job arrays). Pure computation (src/sweep.c): no MPI, no files.
 *
 * Grid syntax (one per hyperparameter flag, --lr included):
 *   log:LO:HI:N   N values log-spaced from LO to HI, both included (0 < LO < HI, N >= 2):
 *                 10^((log10 LO (N-1-k) + log10 HI k) / (N-1)); DeepOBS's lr grid log:1e-5:1e2:36 = 10^(-5+k/5)
 *   lin:LO:HI:N   N values evenly spaced from LO to HI, both included (LO < HI, N >= 2)
 *   A,B,C         a list (no duplicates), or a single value A
 * Seeds: A:B (inclusive range, A <= B), A,B,C (no duplicates), or A; seeds are >= 0.
 *
 * Trial order: trial t = s * n_seeds + j, seed j innermost; the setting s enumerates the grids like nested
 * loops in the order given (the first grid, the learning rate, outermost; the last grid fastest). So a
 * contiguous slice of the trial list holds whole settings when its bounds are multiples of n_seeds. */
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
