/* char_rnn.c: tolstoi_char_rnn (DeepOBS §3.10, TF tolstoi_char_rnn.py): character-level language model on War and
 * Peace. Input 50 character ids -> embedding [83, 128] -> 2 x [DropoutWrapper(LSTMCell(128, forget_bias 1.0),
 * input_keep_prob 0.8, output_keep_prob 0.8)] -> softmax layer h W + b ([128, 83], [83]) at every step.
 * DropoutWrapper drops the input and the output of each cell in training (keep 0.8 = rate 0.2), so between the
 * two layers dropout is applied twice, as in TF; inference keeps everything. Inits are TF's get_variable defaults:
 * glorot_uniform for the embedding, both LSTM kernels (fans of the [in + 128, 512] kernel), softmax_w AND
 * softmax_b (non-zero: fan 83 each by TF's rule for 1-D shapes); the LSTM biases start at zero.
 * Loss per sequence: softmax CE averaged over the 50 steps (sequence_loss, average_across_timesteps); accuracy:
 * the fraction of correct next characters. The LSTM state carries from batch to batch in every phase and is reset
 * at each phase start; the trainer feeds the data as DeepOBS's contiguous streams (stream batching). No L2.
 * 284 499 parameters. */
#include "dob/problem.h"

static dob_status build(dob_net *net, int *logits) {
    dob_status st = DOB_OK;
    const dob_init glorot = {DOB_INIT_GLOROT_UNIFORM, 0, 0}, zeros = {DOB_INIT_ZEROS, 0, 0};
    const dob_dropout_cfg drop = {.rate = 0.2f}; /* keep_prob 0.8 */
    const dob_lstm_cfg cell = {.hidden = 128, .forget_bias = 1.0f, .w_init = glorot, .b_init = zeros};
    int x = dob_net_input(net);
    DOB_TRY(dob_net_embed(net, "embedding", x, &(dob_embed_cfg){.vocab = 83, .dim = 128, .init = glorot}, &x));
    DOB_TRY(dob_net_dropout(net, "cell0/input_dropout", x, &drop, &x));
    DOB_TRY(dob_net_lstm(net, "cell0/lstm", x, &cell, &x));
    DOB_TRY(dob_net_dropout(net, "cell0/output_dropout", x, &drop, &x));
    DOB_TRY(dob_net_dropout(net, "cell1/input_dropout", x, &drop, &x));
    DOB_TRY(dob_net_lstm(net, "cell1/lstm", x, &cell, &x));
    DOB_TRY(dob_net_dropout(net, "cell1/output_dropout", x, &drop, &x));
    DOB_TRY(dob_net_seq_dense(net, "rnnlm/softmax", x,
                              &(dob_dense_cfg){.out_features = 83, .bias = 1, .w_init = glorot, .b_init = glorot},
                              logits));
fail:
    return st;
}

/* train_eval_size in sequences of 50: DeepOBS v1.2's 653 237 characters // 50 (v1.1 evaluated the whole training
 * set: a unit bug, deepobs.md §4) */
const dob_problem_spec dob_problem_tolstoi_char_rnn = {
    .name = "tolstoi_char_rnn", .dataset = "tolstoi", .summary = "2-layer LSTM char model on War and Peace (P8)",
    .in_ndim = 1, .in_dims = {50}, .n_classes = 50, .batch_size = 50, .num_epochs = 200, .weight_decay = 0.0,
    .has_l2 = 0, .has_accuracy = 1, .loss = DOB_LOSS_SEQ_SOFTMAX_CE, .train_eval_size = 653237 / 50,
    .n_params = 284499, .build = build};
