/* dob/layers.h: the layer types and their configurations, and the per-example losses.
 * Each dob_net_<type> adds one layer (see net.h); shapes are checked when the layer is added.
 * Layouts: activations N,C,H,W (or N,F); conv weights oihw; dense weights oi (out x in, in = C*H*W flattened
 * in c,h,w order). TF flattens h,w,c: the i.i.d. inits make the two equivalent in distribution. */
#ifndef DOB_LAYERS_H
#define DOB_LAYERS_H

#include "dob/net.h"

/** TF padding semantics: SAME = ceil(in/stride) outputs, extra pad pixel bottom/right; VALID = no padding. */
typedef enum dob_padding { DOB_PAD_SAME = 0, DOB_PAD_VALID = 1 } dob_padding;

typedef enum dob_act_kind {
    DOB_ACT_NONE = 0,
    DOB_ACT_RELU,
    DOB_ACT_TANH,
    DOB_ACT_SIGMOID,
    DOB_ACT_LRELU   /* max(x, alpha x) */
} dob_act_kind;

/** TF SAME/VALID output size and leading (top/left) padding for one spatial dim. */
int64_t dob_pad_out(int64_t in, int64_t k, int64_t stride, dob_padding pad, int64_t *pad_l, int64_t *pad_r);

/* ---- 2-D convolution (+ bias, + optional fused activation) ---------------------------------------- */
typedef struct dob_conv_cfg {
    int64_t out_channels, kh, kw, sh, sw;
    dob_padding pad;
    int bias;              /* 1 = add a bias vector */
    dob_init w_init, b_init;
    int l2;                /* 1 = kernel counted in the L2 regularizer */
    dob_act_kind act;      /* fused activation (RELU as a oneDNN post-op), NONE = linear */
} dob_conv_cfg;
extern const dob_layer_ops dob_conv_ops;
dob_status dob_net_conv(dob_net *net, const char *name, int in, const dob_conv_cfg *cfg, int *out);
/** The oneDNN implementations a built conv layer runs ("jit:avx512_core", "jit_wino_4x3:avx512_core", ...) for
 *  forward, backward data (NULL: none, the layer reads the net input) and backward weights; NULL for all if l
 *  is not a built conv layer. Owned by the layer, valid until its next build. */
void dob_conv_impls(const dob_layer *l, const char **fwd, const char **bwd_d, const char **bwd_w);

/* ---- 2-D transposed convolution (TF conv2d_transpose; src/layers/deconv.c) ---------------------------------
 * Same cfg as conv: out_channels, kernel, strides, SAME/VALID, bias, inits, l2, act NONE or RELU. Weights OC,IC,KH,KW
 * (oihw). Output: SAME H*stride; VALID H*stride + max(K - stride, 0). Requires K >= stride. */
extern const dob_layer_ops dob_deconv_ops;
dob_status dob_net_deconv(dob_net *net, const char *name, int in, const dob_conv_cfg *cfg, int *out);
/** TF transposed-conv output size of one spatial dim and the padding (pad_l/pad_r may be NULL). */
int64_t dob_deconv_out(int64_t in, int64_t k, int64_t stride, dob_padding pad, int64_t *pad_l, int64_t *pad_r);

/* ---- pooling ---------------------------------------------------------------------------------------- */
typedef enum dob_pool_kind { DOB_POOL_MAX = 0, DOB_POOL_AVG = 1 } dob_pool_kind;
typedef struct dob_pool_cfg {
    dob_pool_kind kind;
    int64_t kh, kw, sh, sw;
    dob_padding pad;       /* SAME max ignores padding; SAME avg divides by the number of valid elements (TF) */
} dob_pool_cfg;
extern const dob_layer_ops dob_pool_ops;
dob_status dob_net_pool(dob_net *net, const char *name, int in, const dob_pool_cfg *cfg, int *out);
/** Mean over H and W: N,C,H,W -> N,C. */
extern const dob_layer_ops dob_gap_ops;
dob_status dob_net_global_avg_pool(dob_net *net, const char *name, int in, int *out);

/* ---- bilinear resize (src/layers/resize.c) ----------------------------------------------------------------
 * TF1 tf.image.resize_images(BILINEAR): align_corners=False with TF1's legacy mapping src = dst * in / out (no
 * half-pixel centres), upper neighbour clamped at the edge. N,C,H,W -> N,C,out_h,out_w; no parameters. */
typedef struct dob_resize_cfg {
    int64_t out_h, out_w;
} dob_resize_cfg;
extern const dob_layer_ops dob_resize_ops;
dob_status dob_net_resize_bilinear(dob_net *net, const char *name, int in, const dob_resize_cfg *cfg, int *out);
/** The layer's arithmetic for one plane, in its two passes, for the input pipeline (ImageNet's aspect-preserving
 *  resize, which runs the first pass per decoded row). A tap: the two source neighbours of an output coordinate
 *  and the upper one's weight. */
typedef struct dob_resize_tap {
    int64_t lo, hi;
    float lerp;
} dob_resize_tap;
/** Taps t[0..out) of an axis of `in` source values (TF's legacy scaler, in float32 as TF). */
void dob_resize_taps(int64_t in, int64_t out, dob_resize_tap *t);
/** First pass, one source row: dst[j] = s[lo] + (s[hi] - s[lo]) * lerp over the column taps xs[0..ow). */
void dob_resize_row(const float *src, const dob_resize_tap *xs, int64_t ow, float *dst);
/** Second pass: dst [oh x ow] from the first-pass rows [in_h x ow] and the row taps ys[0..oh). */
void dob_resize_cols(const float *rows, const dob_resize_tap *ys, int64_t oh, int64_t ow, float *dst);

/* ---- dense (inner product) --------------------------------------------------------------------------- */
typedef struct dob_dense_cfg {
    int64_t out_features;
    int bias;
    dob_init w_init, b_init;
    int l2;
    dob_act_kind act;      /* fused activation, NONE = linear */
} dob_dense_cfg;
extern const dob_layer_ops dob_dense_ops;
dob_status dob_net_dense(dob_net *net, const char *name, int in, const dob_dense_cfg *cfg, int *out);
/** The same dense layer at every step of a sequence: in N,T,F -> out N,T,O (src/layers/seq_dense.c; act NONE). */
extern const dob_layer_ops dob_seq_dense_ops;
dob_status dob_net_seq_dense(dob_net *net, const char *name, int in, const dob_dense_cfg *cfg, int *out);

/* ---- activations --------------------------------------------------------------------------------------- */
typedef struct dob_act_cfg {
    dob_act_kind kind;
    float alpha;           /* LRELU slope */
} dob_act_cfg;
extern const dob_layer_ops dob_act_ops;
dob_status dob_net_act(dob_net *net, const char *name, int in, const dob_act_cfg *cfg, int *out);

/* ---- batch normalisation ------------------------------------------------------------------------------ */
typedef struct dob_bnorm_cfg {
    float momentum;        /* TF convention: moving = momentum * moving + (1 - momentum) * batch */
    float eps;
    int relu;              /* 1: out = max(0, normalised), a fused ReLU: tf.nn.relu(tf.layers.batch_normalization) */
} dob_bnorm_cfg;
extern const dob_layer_ops dob_bnorm_ops;
dob_status dob_net_bnorm(dob_net *net, const char *name, int in, const dob_bnorm_cfg *cfg, int *out);

/* ---- dropout (counter RNG keyed by seed, layer, step and global example index) ------------------------- */
typedef struct dob_dropout_cfg {
    float rate;            /* drop probability (TF tf.layers.dropout rate); survivors scaled by 1/(1-rate) */
} dob_dropout_cfg;
extern const dob_layer_ops dob_dropout_ops;
dob_status dob_net_dropout(dob_net *net, const char *name, int in, const dob_dropout_cfg *cfg, int *out);

/* ---- embedding lookup (src/layers/embed.c) --------------------------------------------------------------
 * in: integer ids held as floats, any shape per example; out: the same shape + dim. Parameter "embedding" [V, E]. */
typedef struct dob_embed_cfg {
    int64_t vocab, dim;
    dob_init init;         /* TF default: glorot_uniform with fan_in = V, fan_out = E */
} dob_embed_cfg;
extern const dob_layer_ops dob_embed_ops;
dob_status dob_net_embed(dob_net *net, const char *name, int in, const dob_embed_cfg *cfg, int *out);

/* ---- LSTM layer (src/layers/lstm.c) ----------------------------------------------------------------------
 * in N,T,C -> out N,T,H; TF LSTMCell semantics with forget_bias; the (c, h) state carries over from batch to batch
 * (reset by dob_net_reset_state). Parameters weights_layer [C,4,H], weights_iter [H,4,H], bias [4,H], gate order
 * oneDNN's (i, f, c~, o); TF's kernel [C+H, 4H] in order (i, c~, f, o) is the same numbers permuted. */
typedef struct dob_lstm_cfg {
    int64_t hidden;
    float forget_bias;     /* TF LSTMCell default 1.0, added to the forget gate's pre-activation */
    dob_init w_init, b_init;
} dob_lstm_cfg;
extern const dob_layer_ops dob_lstm_ops;
dob_status dob_net_lstm(dob_net *net, const char *name, int in, const dob_lstm_cfg *cfg, int *out);

/* ---- Gaussian latent of a VAE (src/layers/latent.c) --------------------------------------------------------
 * Inputs mean [N, L] and r [N, L] with log sigma = scale * r. gauss_sample: z = mean + eps exp(scale r), eps from
 * the counter RNG in every phase (DeepOBS samples in evaluation too); gauss_kl: [N, 1] = -0.5 sum(1 + 2 log sigma
 * - mean^2 - sigma^2). */
typedef struct dob_latent_cfg {
    float scale;           /* DeepOBS: 0.5 */
} dob_latent_cfg;
extern const dob_layer_ops dob_gauss_sample_ops, dob_gauss_kl_ops;
dob_status dob_net_gauss_sample(dob_net *net, const char *name, int mean, int log_sigma, const dob_latent_cfg *cfg,
                                int *out);
dob_status dob_net_gauss_kl(dob_net *net, const char *name, int mean, int log_sigma, const dob_latent_cfg *cfg,
                            int *out);

/* ---- structure --------------------------------------------------------------------------------------- */
extern const dob_layer_ops dob_add_ops;     /* residual: out = in[0] + in[1], same shapes */
/** Add a residual sum layer (dob_add_ops): out = a + b (dob_net_add adds a layer of any type). */
dob_status dob_net_residual(dob_net *net, const char *name, int a, int b, int *out);
extern const dob_layer_ops dob_concat_ops;  /* along channels (dim 1) */
dob_status dob_net_concat(dob_net *net, const char *name, int n, const int *in, int *out);
typedef struct dob_reshape_cfg {
    int ndim;              /* of one example */
    int64_t dims[DOB_MAX_DIMS - 1];
} dob_reshape_cfg;
extern const dob_layer_ops dob_reshape_ops; /* view with a new shape, same element count: no copy */
dob_status dob_net_reshape(dob_net *net, const char *name, int in, const dob_reshape_cfg *cfg, int *out);
dob_status dob_net_flatten(dob_net *net, const char *name, int in, int *out);

/* ---- synthetic problems: the layer computes the per-example loss (use DOB_LOSS_IDENTITY) ---------------- */
typedef struct dob_quadratic_cfg {
    int64_t dim;
    dob_init theta_init;   /* quadratic_deep: constant 1 */
    /** Fill h [dim x dim] (row-major, symmetric) with the Hessian; called at every build, must be deterministic. */
    void (*make)(double *h, int64_t dim);
} dob_quadratic_cfg;
/** out_i = 0.5 (theta - x_i)^T H (theta - x_i): N x dim -> N x 1 (theta is the only parameter). */
extern const dob_layer_ops dob_quadratic_ops;
dob_status dob_net_quadratic(dob_net *net, const char *name, int in, const dob_quadratic_cfg *cfg, int *out);

typedef enum dob_two_d_kind { DOB_TWO_D_ROSENBROCK = 0, DOB_TWO_D_BEALE, DOB_TWO_D_BRANIN } dob_two_d_kind;
typedef struct dob_two_d_cfg {
    dob_two_d_kind kind;
    float u0, v0;          /* start point (TF variables "weight" and "bias") */
} dob_two_d_cfg;
/** out_i = f(u, v) + u x_i + v y_i: N x 2 -> N x 1, parameters u, v. */
extern const dob_layer_ops dob_two_d_ops;
dob_status dob_net_two_d(dob_net *net, const char *name, int in, const dob_two_d_cfg *cfg, int *out);

/* ---- per-example losses and accuracy (hand-written; plain N x K arrays) ------------------------------ */
typedef enum dob_loss_kind {
    DOB_LOSS_SOFTMAX_CE = 0,  /* -sum_k t_k log softmax(x)_k; t may be smoothed */
    DOB_LOSS_SIGMOID_CE,      /* sum_k [max(x,0) - x t + log(1 + exp(-|x|))] */
    DOB_LOSS_SQUARED,         /* sum_k (x - t)^2 */
    DOB_LOSS_VAE,             /* sum_k (x - t)^2 + x_k: pred rows are k + 1 wide (reconstruction, then the
                                 example's KL term), targets are the net input (the trainer copies it) */
    DOB_LOSS_IDENTITY,        /* sum_k x: the net already outputs the per-example loss (targets ignored) */
    DOB_LOSS_SEQ_SOFTMAX_CE,  /* per sequence: mean over its T steps of softmax CE; pred [n, T, V] logits, target
                                 [n, T] class ids (TF sequence_loss, average_across_timesteps): dob_seq_loss_* */
    DOB_LOSS_SMOOTH_CE_AUX,   /* DeepOBS Inception-v3 in phase "train": pred rows [main k | aux k] logits; softmax CE
                                 with label smoothing 0.1 of main + 0.4 x that of aux; accuracy from main */
    DOB_LOSS_SMOOTH_CE_MAIN   /* the same rows in every other phase: main's smoothed CE only */
} dob_loss_kind;
/** The kind a problem's loss takes in a phase: DOB_LOSS_SMOOTH_CE_AUX evaluates as DOB_LOSS_SMOOTH_CE_MAIN
 *  (training = 0); every other kind is the same in all phases. */
dob_loss_kind dob_loss_phase_kind(dob_loss_kind kind, int training);
/** Sequence softmax CE: loss[i] = 1/t sum_s (lse(x_is) - x_is[y_is]) for pred [n, t, v], target ids [n, t]. */
void dob_seq_loss_forward(const float *pred, const float *target, int64_t n, int64_t t, int64_t v, float *loss);
/** diff [n, t, v] = scale / t (softmax(x_is) - onehot(y_is)) (overwrite). */
void dob_seq_loss_backward(const float *pred, const float *target, int64_t n, int64_t t, int64_t v, float scale,
                           float *diff);
/** Sum over the n sequences of the fraction of steps with argmax(x_is) == y_is (first maximum on ties). */
double dob_seq_accuracy_sum(const float *pred, const float *target, int64_t n, int64_t t, int64_t v);
/** Width of a prediction row for targets of width k (k; k + 1 for DOB_LOSS_VAE; 2k for DOB_LOSS_SMOOTH_CE_*). */
int64_t dob_loss_pred_width(dob_loss_kind kind, int64_t k);
/** loss[i] for i < n, from pred [n x dob_loss_pred_width(kind, k)] and target [n x k]. */
void dob_loss_forward(dob_loss_kind kind, const float *pred, const float *target, int64_t n, int64_t k,
                      float *loss);
/** diff[i,j] = scale * d loss[i] / d pred[i,j] (overwrite). For the batch mean use scale = 1/n_global. */
void dob_loss_backward(dob_loss_kind kind, const float *pred, const float *target, int64_t n, int64_t k,
                       float scale, float *diff);
/** Number of rows with argmax(pred) == argmax(target) (first maximum on ties). */
int64_t dob_accuracy_count(const float *pred, const float *target, int64_t n, int64_t k);
/** The same for the prediction rows of a loss kind (width dob_loss_pred_width): argmax over their first k values
 *  (the main logits of DOB_LOSS_SMOOTH_CE_*). */
int64_t dob_loss_accuracy_count(dob_loss_kind kind, const float *pred, const float *target, int64_t n, int64_t k);
/** Mean of x[0..n) in double, fixed chunking (thread-count independent). */
double dob_mean(const float *x, int64_t n);

#endif
