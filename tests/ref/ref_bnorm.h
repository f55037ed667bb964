/* ref_bnorm.h: naive double-precision reference of batch normalisation per channel (tests only).
 * x, y, dy, dx: (N, C, S) plain with S = elements per channel per example (H*W, or 1 for 2-D inputs). */
#ifndef DOB_REF_BNORM_H
#define DOB_REF_BNORM_H

#include <stdint.h>

/** Batch mean and biased variance per channel (double), then y = gamma (x - mean) / sqrt(var + eps) + beta.
 *  mean/var (C) receive the statistics when not NULL. */
void ref_bnorm_train(const float *x, const float *gamma, const float *beta, int64_t n, int64_t c, int64_t s,
                     double eps, float *y, double *mean, double *var);
/** y with given statistics (inference mode). */
void ref_bnorm_infer(const float *x, const float *gamma, const float *beta, const float *mean, const float *var,
                     int64_t n, int64_t c, int64_t s, double eps, float *y);
/** Training-mode backward: dx (if not NULL), dgamma = sum dy xhat, dbeta = sum dy. */
void ref_bnorm_backward(const float *x, const float *gamma, const float *dy, int64_t n, int64_t c, int64_t s,
                        double eps, float *dx, float *dgamma, float *dbeta);

#endif
