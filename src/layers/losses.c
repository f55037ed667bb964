/* losses.c: per-example losses (reduction none) and their gradients, accuracy counts, and a thread-count
 * independent mean. All arrays are plain row-major [n x k] floats (one row per example).
 *
 * SOFTMAX_CE: loss_i = -sum_k t_ik log softmax(x_i)_k = sum_k t_ik (lse(x_i) - x_ik), with the log-sum-exp
 *             taken after subtracting the row maximum (finite for any finite logits).
 *             d loss_i / d x_ik = softmax(x_i)_k * sum_j t_ij - t_ik (= softmax - t when the targets sum to 1,
 *             which covers one-hot and label-smoothed targets).
 * SIGMOID_CE: loss_i = sum_k max(x,0) - x t + log1p(exp(-|x|))  (TF sigmoid_cross_entropy_with_logits);
 *             d/dx = sigmoid(x) - t.
 * SQUARED:    loss_i = sum_k (x - t)^2; d/dx = 2 (x - t).
 * VAE:        pred rows hold k reconstruction values and then the example's KL term (DeepOBS mnist_vae: img_loss
 *             + latent_loss); loss_i = sum_k (x - t)^2 + x_ik; d/dx = 2 (x - t), and 1 for the KL column.
 * IDENTITY:   loss_i = sum_k x (synthetic problems whose net computes the loss); d/dx = 1.
 * SEQ_SOFTMAX_CE: loss_i = 1/T sum_s CE(x_is, y_is) with ids y (TF sequence_loss averaged over time, not over
 *             the batch: DeepOBS tolstoi_char_rnn); d/dx_is = (softmax(x_is) - onehot(y_is)) / T.
 * SMOOTH_CE_AUX / SMOOTH_CE_MAIN (DeepOBS imagenet_inception_v3): pred rows are 2k wide, main logits m then
 *             auxiliary logits a; with TF's label smoothing s = 0.1 the target is u = (1 - s) t + s / k, and
 *             loss_i = CE(m, u) + w CE(a, u), w = 0.4 for AUX (phase "train") and 0 for MAIN (every other phase:
 *             the smoothing stays). d/dm = softmax(m) sum(u) - u, d/da = w (softmax(a) sum(u) - u).
 * Invariants: rows are independent and each row is computed in double by one thread in index order, so the
 * results do not depend on the thread count. dob_mean sums fixed chunks of MEAN_CHUNK elements and combines the
 * chunk sums in index order (same property).
 * Does not: average over the batch (the trainer does, with dob_mean) or add the L2 regulariser. */
#include "dob/layers.h"

#include <math.h>

#define SMOOTHING 0.1  /* TF label_smoothing of the Inception losses */
#define AUX_WEIGHT 0.4 /* TF weights= of the auxiliary head's loss */
#define MEAN_CHUNK 4096   /* elements per partial sum in dob_mean */
#define MEAN_GROUP 256    /* chunk sums kept on the stack at once */

/* log(sum_k exp(x_k)) of one row, stably. */
static double row_lse(const float *x, int64_t k) {
    double m = x[0];
    for (int64_t j = 1; j < k; j++)
        if (x[j] > m) m = x[j];
    double s = 0.0;
    for (int64_t j = 0; j < k; j++) s += exp((double)x[j] - m);
    return m + log(s);
}

static double sigmoid(double x) {
    if (x >= 0) return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

static int is_aux(dob_loss_kind kind) { return kind == DOB_LOSS_SMOOTH_CE_AUX || kind == DOB_LOSS_SMOOTH_CE_MAIN; }

int64_t dob_loss_pred_width(dob_loss_kind kind, int64_t k) {
    return kind == DOB_LOSS_VAE ? k + 1 : is_aux(kind) ? 2 * k : k;
}

dob_loss_kind dob_loss_phase_kind(dob_loss_kind kind, int training) {
    return kind == DOB_LOSS_SMOOTH_CE_AUX && !training ? DOB_LOSS_SMOOTH_CE_MAIN : kind;
}

/* Label-smoothed target of class j: (1 - s) t_j + s / k. */
static double smoothed(const float *t, int64_t j, int64_t k) {
    return (1.0 - SMOOTHING) * t[j] + SMOOTHING / (double)k;
}

/* CE(x, u) = sum_j u_j (lse(x) - x_j) with u the smoothed t; x, t [k]. */
static double smooth_ce(const float *x, const float *t, int64_t k) {
    const double lse = row_lse(x, k);
    double s = 0.0;
    for (int64_t j = 0; j < k; j++) s += smoothed(t, j, k) * (lse - x[j]);
    return s;
}

/* d[j] = g (softmax(x)_j sum(u) - u_j); x, t, d [k]. */
static void smooth_ce_backward(const float *x, const float *t, int64_t k, double g, float *d) {
    const double lse = row_lse(x, k);
    double usum = 0.0;
    for (int64_t j = 0; j < k; j++) usum += smoothed(t, j, k);
    for (int64_t j = 0; j < k; j++) d[j] = (float)(g * (exp(x[j] - lse) * usum - smoothed(t, j, k)));
}

/* weight of the auxiliary logits' loss */
static double aux_weight(dob_loss_kind kind) { return kind == DOB_LOSS_SMOOTH_CE_AUX ? AUX_WEIGHT : 0.0; }

void dob_loss_forward(dob_loss_kind kind, const float *pred, const float *target, int64_t n, int64_t k,
                      float *loss) {
    const int64_t pk = dob_loss_pred_width(kind, k);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        const float *x = pred + i * pk, *t = target + i * k;  /* [pk], [k] */
        double s = 0.0;
        if (kind == DOB_LOSS_SOFTMAX_CE) {
            double lse = row_lse(x, k);
            for (int64_t j = 0; j < k; j++) s += (double)t[j] * (lse - x[j]);
        } else if (kind == DOB_LOSS_SIGMOID_CE) {
            for (int64_t j = 0; j < k; j++) {
                double xj = x[j];
                s += (xj > 0 ? xj : 0.0) - xj * t[j] + log1p(exp(-fabs(xj)));
            }
        } else if (kind == DOB_LOSS_IDENTITY) {
            for (int64_t j = 0; j < k; j++) s += x[j];
        } else if (is_aux(kind)) {
            s = smooth_ce(x, t, k);
            if (kind == DOB_LOSS_SMOOTH_CE_AUX) s += AUX_WEIGHT * smooth_ce(x + k, t, k);
        } else {
            for (int64_t j = 0; j < k; j++) {
                double d = (double)x[j] - t[j];
                s += d * d;
            }
            if (kind == DOB_LOSS_VAE) s += x[k];
        }
        loss[i] = (float)s;
    }
}

void dob_loss_backward(dob_loss_kind kind, const float *pred, const float *target, int64_t n, int64_t k,
                       float scale, float *diff) {
    const int64_t pk = dob_loss_pred_width(kind, k);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        const float *x = pred + i * pk, *t = target + i * k;  /* [pk], [k] */
        float *d = diff + i * pk;                            /* [pk] */
        if (kind == DOB_LOSS_SOFTMAX_CE) {
            double lse = row_lse(x, k), tsum = 0.0;
            for (int64_t j = 0; j < k; j++) tsum += t[j];
            for (int64_t j = 0; j < k; j++) d[j] = (float)(scale * (exp(x[j] - lse) * tsum - t[j]));
        } else if (kind == DOB_LOSS_SIGMOID_CE) {
            for (int64_t j = 0; j < k; j++) d[j] = (float)(scale * (sigmoid(x[j]) - t[j]));
        } else if (kind == DOB_LOSS_IDENTITY) {
            for (int64_t j = 0; j < k; j++) d[j] = scale;
        } else if (is_aux(kind)) {
            smooth_ce_backward(x, t, k, scale, d);
            smooth_ce_backward(x + k, t, k, scale * aux_weight(kind), d + k);
        } else {
            for (int64_t j = 0; j < k; j++) d[j] = (float)(scale * 2.0 * ((double)x[j] - t[j]));
            if (kind == DOB_LOSS_VAE) d[k] = scale;
        }
    }
}

/* Index of the first maximum of x[0..k). */
static int64_t argmax(const float *x, int64_t k) {
    int64_t b = 0;
    for (int64_t j = 1; j < k; j++)
        if (x[j] > x[b]) b = j;
    return b;
}

int64_t dob_accuracy_count(const float *pred, const float *target, int64_t n, int64_t k) {
    return dob_loss_accuracy_count(DOB_LOSS_SOFTMAX_CE, pred, target, n, k);
}

int64_t dob_loss_accuracy_count(dob_loss_kind kind, const float *pred, const float *target, int64_t n, int64_t k) {
    const int64_t pk = dob_loss_pred_width(kind, k);
    int64_t hits = 0;
#pragma omp parallel for schedule(static) reduction(+ : hits)
    for (int64_t i = 0; i < n; i++) hits += argmax(pred + i * pk, k) == argmax(target + i * k, k);
    return hits;
}

double dob_mean(const float *x, int64_t n) {
    if (n <= 0) return 0.0;
    const int64_t n_chunks = (n + MEAN_CHUNK - 1) / MEAN_CHUNK;
    double total = 0.0;
    for (int64_t g0 = 0; g0 < n_chunks; g0 += MEAN_GROUP) {
        double part[MEAN_GROUP];
        const int64_t g1 = g0 + MEAN_GROUP < n_chunks ? g0 + MEAN_GROUP : n_chunks;
#pragma omp parallel for schedule(static) if (g1 - g0 > 1)
        for (int64_t c = g0; c < g1; c++) {
            const int64_t b = c * MEAN_CHUNK, e = b + MEAN_CHUNK < n ? b + MEAN_CHUNK : n;
            double s = 0.0;
            for (int64_t i = b; i < e; i++) s += x[i];
            part[c - g0] = s;
        }
        for (int64_t c = g0; c < g1; c++) total += part[c - g0];
    }
    return total / (double)n;
}

// ---- sequences of class ids ----------------------------------------------------------------------------------

void dob_seq_loss_forward(const float *pred, const float *target, int64_t n, int64_t t, int64_t v, float *loss) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        double s = 0.0;
        for (int64_t j = 0; j < t; j++) {
            const float *x = pred + (i * t + j) * v; /* [v] */
            s += row_lse(x, v) - x[(int64_t)target[i * t + j]];
        }
        loss[i] = (float)(s / (double)t);
    }
}

void dob_seq_loss_backward(const float *pred, const float *target, int64_t n, int64_t t, int64_t v, float scale,
                           float *diff) {
    const double g = (double)scale / (double)t;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < t; j++) {
            const float *x = pred + (i * t + j) * v; /* [v] */
            float *d = diff + (i * t + j) * v;
            const double lse = row_lse(x, v);
            const int64_t y = (int64_t)target[i * t + j];
            for (int64_t c = 0; c < v; c++) d[c] = (float)(g * (exp(x[c] - lse) - (c == y)));
        }
}

double dob_seq_accuracy_sum(const float *pred, const float *target, int64_t n, int64_t t, int64_t v) {
    int64_t hits = 0;
#pragma omp parallel for schedule(static) reduction(+ : hits)
    for (int64_t i = 0; i < n * t; i++) hits += argmax(pred + i * v, v) == (int64_t)target[i];
    return (double)hits / (double)t;
}
