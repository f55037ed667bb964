/* vae.c: mnist_vae and fmnist_vae (DeepOBS §3.9, TF _vae.py + mnist_vae.py), n_latent = 8.
 *
 * Encoder: 3 x [conv 4x4, 64, SAME, strides 2, 2, 1, leaky ReLU 0.3, dropout 0.2] -> flatten 3136 ->
 *          mean = dense 8, log sigma = 0.5 * dense 8 -> z = mean + eps exp(log sigma), eps ~ N(0, I) in every
 *          phase (DeepOBS samples in evaluation too, so evaluation losses are stochastic).
 * Decoder: dense 24 lrelu -> dense 49 lrelu -> 7x7x1 -> conv-transpose 4x4, 64, s2, ReLU, dropout 0.2 ->
 *          conv-transpose s1, ReLU, dropout 0.2 -> conv-transpose s1, ReLU (no dropout: TF; the PyTorch port adds
 *          one) -> flatten 12 544 -> dense 784 sigmoid.
 * Loss per example: sum over the 784 pixels of (x_hat - x)^2 + KL, KL = -0.5 sum(1 + 2 s - mean^2 - exp(2 s)),
 * averaged over the batch by the trainer: the net outputs [x_hat | KL] (785 values) and DOB_LOSS_VAE reads the
 * input as the target. Every layer has TF's defaults (glorot_uniform kernels, zero biases); no L2;
 * 10 151 489 parameters in 22 tensors. Flattening is c,h,w (TF: h,w,c); with one channel (the 7x7x1 reshape) the
 * orders agree, and the i.i.d. init of the dense layers after the other flattens makes them equal in distribution.
 * No accuracy (DeepOBS reports none). */
#include "dob/problem.h"

static const dob_init glorot = {DOB_INIT_GLOROT_UNIFORM, 0, 0}, zeros = {DOB_INIT_ZEROS, 0, 0};

/* conv/deconv 4x4, 64 filters, SAME, bias */
static dob_conv_cfg k4(int64_t stride, dob_act_kind act) {
    return (dob_conv_cfg){.out_channels = 64, .kh = 4, .kw = 4, .sh = stride, .sw = stride, .pad = DOB_PAD_SAME,
                          .bias = 1, .w_init = glorot, .b_init = zeros, .act = act};
}

static dob_status dense(dob_net *net, const char *name, int in, int64_t units, dob_act_kind act, int *out) {
    return dob_net_dense(net, name, in,
                         &(dob_dense_cfg){.out_features = units, .bias = 1, .w_init = glorot, .b_init = zeros,
                                          .act = act},
                         out);
}

static dob_status lrelu(dob_net *net, const char *name, int in, int *out) {
    return dob_net_act(net, name, in, &(dob_act_cfg){.kind = DOB_ACT_LRELU, .alpha = 0.3f}, out);
}

static dob_status encoder(dob_net *net, int *mean, int *log_sigma_raw) {
    dob_status st = DOB_OK;
    static const char *const names[3][3] = {{"encoder/conv1", "encoder/lrelu1", "encoder/drop1"},
                                            {"encoder/conv2", "encoder/lrelu2", "encoder/drop2"},
                                            {"encoder/conv3", "encoder/lrelu3", "encoder/drop3"}};
    static const int64_t strides[3] = {2, 2, 1}; /* 28 -> 14 -> 7 -> 7 */
    int x = dob_net_input(net);
    for (int i = 0; i < 3; i++) {
        const dob_conv_cfg cfg = k4(strides[i], DOB_ACT_NONE);
        DOB_TRY(dob_net_conv(net, names[i][0], x, &cfg, &x));
        DOB_TRY(lrelu(net, names[i][1], x, &x));
        DOB_TRY(dob_net_dropout(net, names[i][2], x, &(dob_dropout_cfg){.rate = 0.2f}, &x));
    }
    DOB_TRY(dob_net_flatten(net, "encoder/flatten", x, &x));
    DOB_TRY(dense(net, "encoder/mean", x, 8, DOB_ACT_NONE, mean));
    DOB_TRY(dense(net, "encoder/std_dev", x, 8, DOB_ACT_NONE, log_sigma_raw)); /* times 0.5 in the latent layers */
fail:
    return st;
}

static dob_status decoder(dob_net *net, int z, int *img) {
    dob_status st = DOB_OK;
    const dob_conv_cfg t1 = k4(2, DOB_ACT_RELU), t2 = k4(1, DOB_ACT_RELU);
    int x;
    DOB_TRY(dense(net, "decoder/dense1", z, 24, DOB_ACT_NONE, &x));
    DOB_TRY(lrelu(net, "decoder/lrelu1", x, &x));
    DOB_TRY(dense(net, "decoder/dense2", x, 49, DOB_ACT_NONE, &x));
    DOB_TRY(lrelu(net, "decoder/lrelu2", x, &x));
    DOB_TRY(dob_net_reshape(net, "decoder/reshape", x, &(dob_reshape_cfg){.ndim = 3, .dims = {1, 7, 7}}, &x));
    DOB_TRY(dob_net_deconv(net, "decoder/deconv1", x, &t1, &x)); /* 14x14 */
    DOB_TRY(dob_net_dropout(net, "decoder/drop1", x, &(dob_dropout_cfg){.rate = 0.2f}, &x));
    DOB_TRY(dob_net_deconv(net, "decoder/deconv2", x, &t2, &x));
    DOB_TRY(dob_net_dropout(net, "decoder/drop2", x, &(dob_dropout_cfg){.rate = 0.2f}, &x));
    DOB_TRY(dob_net_deconv(net, "decoder/deconv3", x, &t2, &x));
    DOB_TRY(dob_net_flatten(net, "decoder/flatten", x, &x));
    DOB_TRY(dense(net, "decoder/out", x, 28 * 28, DOB_ACT_SIGMOID, img));
fail:
    return st;
}

static dob_status build(dob_net *net, int *out) {
    dob_status st = DOB_OK;
    const dob_latent_cfg lat = {.scale = 0.5f};
    int mean, raw, z, kl, img;
    DOB_TRY(encoder(net, &mean, &raw));
    DOB_TRY(dob_net_gauss_sample(net, "encoder/z", mean, raw, &lat, &z));
    DOB_TRY(dob_net_gauss_kl(net, "latent_loss", mean, raw, &lat, &kl));
    DOB_TRY(decoder(net, z, &img));
    DOB_TRY(dob_net_concat(net, "img_and_kl", 2, (int[]){img, kl}, out));
fail:
    return st;
}

#define VAE(NAME, DATA, EP, DESC)                                                                                \
    const dob_problem_spec dob_problem_##NAME = {                                                               \
        .name = #NAME, .dataset = DATA, .summary = DESC, .in_ndim = 3, .in_dims = {1, 28, 28},                  \
        .n_classes = 10, .batch_size = 64, .num_epochs = EP, .weight_decay = 0.0, .has_l2 = 0,                  \
        .has_accuracy = 0, .loss = DOB_LOSS_VAE, .train_eval_size = 10000, .n_params = 10151489,               \
        .build = build}

VAE(mnist_vae, "mnist", 50, "variational autoencoder on MNIST (DeepOBS P2)");
VAE(fmnist_vae, "fmnist", 100, "variational autoencoder on Fashion-MNIST (DeepOBS P5)");
