/* test_seq.c: sequence pieces of the char-RNN: the per-step dense layer (src/layers/seq_dense.c) against a naive
 * loop, finite differences and overwrite; the sequence loss, its gradient and accuracy by hand; the text ->
 * sequences data set; and the trainer's stream batching on a small LSTM net: a generated text with learnable
 * structure is learned far above the unigram rate. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dob/datasets.h"
#include "dob/trainer.h"
#include "tc.h"

static void test_seq_dense(void) {
    const int64_t N = 3, T = 4, F = 5, O = 6;
    dob_net *net;
    int y;
    dob_dense_cfg c = {.out_features = O, .bias = 1, .w_init = {DOB_INIT_GLOROT_UNIFORM, 0, 0},
                       .b_init = {DOB_INIT_UNIFORM, -0.5f, 0.5f}};
    TC_ASSERT_OK(dob_net_create(&net, 2, (int64_t[]){T, F}));
    TC_ASSERT_OK(dob_net_seq_dense(net, "sd", 0, &c, &y));
    TC_ASSERT_OK(dob_net_alloc(net));
    dob_arena_init(dob_net_arena(net), 3);
    dob_net_set_input_grad(net, 1);
    TC_ASSERT_OK(dob_net_build(net, N));
    dob_tensor *x = dob_net_input_tensor(net), *out = dob_net_output(net);
    CU_ASSERT(out->ndim == 3 && out->dims[1] == T && out->dims[2] == O);
    tc_fill(x->data, x->count, 5, 5, -1.0f, 1.0f);
    TC_ASSERT_OK(dob_net_forward(net, 1));
    const float *w = dob_arena_param(dob_net_arena(net), 0), *b = dob_arena_param(dob_net_arena(net), 1);
    float want[3 * 4 * 6];
    for (int64_t r = 0; r < N * T; r++)
        for (int64_t o = 0; o < O; o++) {
            double s = b[o];
            for (int64_t f = 0; f < F; f++) s += (double)x->data[r * F + f] * w[o * F + f];
            want[r * O + o] = (float)s;
        }
    TC_ASSERT_CLOSE("seq_dense forward", out->data, want, out->count, 1e-5);
    CU_ASSERT_EQUAL(tc_gradcheck(net, (tc_gc_opts){.eps = 1e-2, .tol = 1e-3, .training = 1}, "seq_dense"), 0);
    CU_ASSERT(tc_overwrite_check(net, "seq_dense"));
    TC_ASSERT_FAILS(dob_net_seq_dense(net, "sd2", 0, &(dob_dense_cfg){.out_features = 2, .act = DOB_ACT_RELU}, NULL),
                    DOB_EINVAL, "layer sd2 (seq_dense): no fused activation");
    dob_net_destroy(net);
}

/* two sequences of 2 steps over 3 classes */
static void test_seq_loss(void) {
    const float pred[2 * 2 * 3] = {0, 0, 0, 1, 2, 3, 5, 0, 0, 0, 0, 1};
    const float tgt[4] = {1, 2, 0, 1};
    float loss[2], diff[12];
    dob_seq_loss_forward(pred, tgt, 2, 2, 3, loss);
    const double l0 = (log(3.0) + (log(exp(1.0) + exp(2.0) + exp(3.0)) - 3.0)) / 2;
    const double l1 = ((log(exp(5.0) + 2) - 5.0) + (log(2 + exp(1.0)) - 0.0)) / 2;
    const float want[2] = {(float)l0, (float)l1};
    TC_ASSERT_CLOSE("seq loss", loss, want, 2, 1e-6);
    dob_seq_loss_backward(pred, tgt, 2, 2, 3, 0.5f, diff);
    /* row (0, 0): uniform softmax, target 1: 0.5 / 2 * (1/3 - [0 1 0]) */
    CU_ASSERT(fabs(diff[0] - 0.25 / 3) < 1e-6 && fabs(diff[1] - 0.25 * (1.0 / 3 - 1)) < 1e-6);
    double s = 0;
    for (int i = 0; i < 12; i++) s += diff[i];
    CU_ASSERT(fabs(s) < 1e-6); /* softmax - onehot sums to 0 per row */
    /* argmax: (0,0) tie -> class 0 != 1; (0,1) 2 == 2; (1,0) 0 == 0; (1,1) 2 != 1 */
    CU_ASSERT_DOUBLE_EQUAL(dob_seq_accuracy_sum(pred, tgt, 2, 2, 3), 0.5 + 0.5, 1e-12);
}

static void test_text_sequences(void) {
    const int32_t ids[11] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    dob_dataset d;
    TC_ASSERT_OK(dob_text_sequences(ids, 11, 3, &d)); /* (11 - 1) / 3 = 3 sequences */
    CU_ASSERT(d.n == 3 && d.k == 3 && d.x_ndim == 1 && d.x_dims[0] == 3);
    /* one byte stream of the 10 ids the sequences and targets cover (issue 20), not 2 x 9 floats */
    CU_ASSERT(d.x_type == DOB_DT_U8 && d.y_type == DOB_Y_NEXT && d.stride == 3);
    CU_ASSERT_EQUAL(dob_dataset_bytes(&d), 64);
    dob_dataset v, f;
    TC_ASSERT_OK(dob_dataset_split_valid(&d, 1, &v)); /* valid = sequence 0, train = sequences 1, 2 */
    TC_ASSERT_OK(dob_dataset_to_f32(&d, 0, d.n, &f));
    CU_ASSERT(f.n == 2 && TC_X(f)[0] == 3.0f && f.y[0] == 4.0f && TC_X(f)[5] == 8.0f && f.y[5] == 9.0f);
    dob_dataset_free(&f);
    TC_ASSERT_OK(dob_dataset_to_f32(&v, 0, v.n, &f));
    CU_ASSERT(f.n == 1 && TC_X(f)[2] == 2.0f && f.y[2] == 3.0f);
    dob_dataset_free(&f);
    dob_dataset_free(&v);
    dob_dataset_free(&d);
    /* ids beyond a byte keep int32 */
    const int32_t big[7] = {300, 1, 70000, 2, 5, 6, 7};
    TC_ASSERT_OK(dob_text_sequences(big, 7, 2, &d));
    CU_ASSERT(d.x_type == DOB_DT_I32 && d.n == 3);
    TC_ASSERT_OK(dob_dataset_to_f32(&d, 0, d.n, &f));
    CU_ASSERT(TC_X(f)[0] == 300.0f && f.y[1] == 70000.0f && TC_X(f)[5] == 6.0f && f.y[5] == 7.0f);
    dob_dataset_free(&f);
    dob_dataset_free(&d);
    TC_ASSERT_FAILS(dob_text_sequences(ids, 3, 3, &d), DOB_EINVAL, "holds no sequence of 3 (+1) characters");
}

/* A text over 12 symbols where each symbol is fixed by the one before it except at random "word starts" (every
 * 4th position): a model that sees the previous character predicts 3 of 4 positions; the unigram rate is ~1/12.
 * The training set is cut into streams; with a carried state the RNN also learns the phase of the 4-cycle. */
static void make_text(int32_t *ids, int64_t n, uint64_t stream) {
    dob_rng r = {5, DOB_RNG_TEST, stream};
    for (int64_t i = 0; i < n; i++)
        ids[i] = i % 4 == 0 ? (int32_t)(dob_rng_u32(&r, (uint64_t)i) % 12) : (ids[i - 1] * 5 + 1) % 12;
}

static dob_status small_rnn(dob_net *net, int *out) {
    dob_status st = DOB_OK;
    const dob_init g = {DOB_INIT_GLOROT_UNIFORM, 0, 0};
    int x = dob_net_input(net);
    DOB_TRY(dob_net_embed(net, "emb", x, &(dob_embed_cfg){.vocab = 12, .dim = 16, .init = g}, &x));
    DOB_TRY(dob_net_lstm(net, "lstm", x, &(dob_lstm_cfg){.hidden = 32, .forget_bias = 1.0f, .w_init = g}, &x));
    DOB_TRY(dob_net_seq_dense(net, "out", x, &(dob_dense_cfg){.out_features = 12, .bias = 1, .w_init = g}, out));
fail:
    return st;
}

static void test_stream_training(void) {
    const int64_t L = 10, B = 8, n_train = 8001, n_test = 1601;
    int32_t *a = malloc(n_train * sizeof *a), *b = malloc(n_test * sizeof *b);
    make_text(a, n_train, 1);
    make_text(b, n_test, 2);
    dob_dataset train, test;
    TC_ASSERT_OK(dob_text_sequences(a, n_train, L, &train));
    TC_ASSERT_OK(dob_text_sequences(b, n_test, L, &test));
    dob_net *net;
    int out;
    TC_ASSERT_OK(dob_net_create(&net, 1, (int64_t[]){L}));
    TC_ASSERT_OK(small_rnn(net, &out));
    TC_ASSERT_OK(dob_net_alloc(net));
    dob_train_cfg c = {.net = net, .loss = DOB_LOSS_SEQ_SOFTMAX_CE, .has_accuracy = 1, .train_eval_size = 160,
                       .optim = dob_optim_find("adam"), .batch_size = B, .num_epochs = 2, .train_log_interval = 10,
                       .seed = 3, .rank = 0, .nranks = 1, .train = &train, .test = &test};
    dob_optim_defaults(c.optim, c.hp);
    TC_ASSERT_OK(dob_sched_constant(&c.sched, 0.01));
    dob_train_out o;
    TC_ASSERT_OK(dob_train(&c, &o));
    CU_ASSERT_EQUAL(o.status, DOB_TRAIN_DONE);
    fprintf(stderr, "\n    stream training: test acc %.3f -> %.3f -> %.3f, loss %.3f -> %.3f\n", o.test_accuracies[0],
            o.test_accuracies[1], o.test_accuracies[2], o.test_losses[0], o.test_losses[2]);
    CU_ASSERT(o.test_accuracies[0] < 0.2);
    CU_ASSERT(o.test_accuracies[2] > 0.7); /* unigram rate ~ 1/12 */
    dob_train_out_free(&o);
    dob_net_destroy(net);
    dob_dataset_free(&train);
    dob_dataset_free(&test);
    free(a);
    free(b);
}

static CU_TestInfo tests[] = {
    {"seq_dense", test_seq_dense},
    {"seq_loss", test_seq_loss},
    {"text_sequences", test_text_sequences},
    {"stream_training", test_stream_training},
    CU_TEST_INFO_NULL,
};
CU_SuiteInfo seq_suite = {"seq", NULL, NULL, NULL, NULL, tests};
