/* problem_fx.c: tc_problem_data and tc_problem_steps (problem_fx.h). */
#include "problem_fx.h"

#include <stdlib.h>

#include "dob/io.h"
#include "dob/trainer.h"
#include "tc.h"

void tc_problem_data(const dob_problem_spec *p, int64_t n, uint64_t stream, dob_dataset *d) {
    if (p->loss == DOB_LOSS_SEQ_SOFTMAX_CE) { /* a text of ids with a learnable pattern, cut into sequences */
        const int64_t L = p->in_dims[0], len = n * L + 1;
        int32_t *ids = malloc((size_t)len * sizeof *ids);
        dob_rng r = {12, DOB_RNG_TEST, stream};
        for (int64_t i = 0; i < len; i++)
            ids[i] = (int32_t)(i % 3 ? (i * 7) % 40 : dob_rng_u32(&r, (uint64_t)i) % 83);
        TC_ASSERT_OK(dob_text_sequences(ids, len, L, d));
        free(ids);
        return;
    }
    TC_ASSERT_OK(dob_dataset_alloc(d, n, p->in_ndim, p->in_dims, p->n_classes));
    int64_t per = dob_dataset_example_size(d);
    tc_fill(d->x, (size_t)(n * per), 11, stream, 0.0f, 0.5f);
    dob_rng r = {12, DOB_RNG_TEST, stream};
    for (int64_t i = 0; i < n; i++) {
        int64_t c = (int64_t)(dob_rng_u32(&r, (uint64_t)i) % p->n_classes), band = per / p->n_classes;
        d->y[i * p->n_classes + c] = 1.0f;
        for (int64_t j = c * band; j < (c + 1) * band; j++) TC_X(*d)[i * per + j] += 0.5f;
    }
}

void tc_problem_steps(const dob_problem_spec *p, dob_precision prec, int64_t bs, int k, double lr, double *losses,
                      double *acc0) {
    dob_net *net;
    TC_ASSERT_OK(dob_problem_net(p, &net));
    TC_ASSERT_OK(dob_net_set_precision(net, prec));
    dob_dataset train, test;
    tc_problem_data(p, bs * k, 1, &train);
    tc_problem_data(p, bs, 2, &test);
    dob_train_cfg c = {.net = net, .loss = p->loss, .has_accuracy = p->has_accuracy, .train_eval_size = bs,
                       .optim = dob_optim_find("sgd"), .batch_size = bs, .num_epochs = 1, .train_log_interval = 1,
                       .weight_decay = p->has_l2 ? p->weight_decay : 0.0, .seed = 42, .rank = 0, .nranks = 1,
                       .train = &train, .test = &test, .preproc = p->preproc};
    TC_ASSERT_OK(dob_sched_constant(&c.sched, lr));
    dob_train_out o;
    TC_ASSERT_OK(dob_train(&c, &o));
    CU_ASSERT_EQUAL(o.status, DOB_TRAIN_DONE);
    CU_ASSERT_EQUAL(o.n_minibatch, k);
    for (int i = 0; i < k; i++) losses[i] = o.minibatch_train_losses[i];
    if (acc0) *acc0 = o.test_accuracies[0];
    dob_train_out_free(&o);
    dob_dataset_free(&train);
    dob_dataset_free(&test);
    dob_net_destroy(net);
}

void tc_problem_steps_on(const dob_problem_spec *p, const char *data_dir, int64_t bs, int k, double lr,
                         double *losses) {
    dob_dataset tr, va, te;
    TC_ASSERT_OK(dob_problem_data_load(p, data_dir, 0, &tr, &va, &te));
    dob_net *net;
    TC_ASSERT_OK(dob_problem_net(p, &net));
    dob_train_cfg c = {.net = net, .loss = p->loss, .has_accuracy = p->has_accuracy, .train_eval_size = bs,
                       .optim = dob_optim_find("sgd"), .batch_size = bs, .num_epochs = 1, .train_log_interval = 1,
                       .weight_decay = p->has_l2 ? p->weight_decay : 0.0, .seed = 42, .rank = 0, .nranks = 1,
                       .train = &tr, .test = &te, .preproc = p->preproc, .max_steps = k};
    TC_ASSERT_OK(dob_sched_constant(&c.sched, lr));
    dob_train_out o;
    TC_ASSERT_OK(dob_train(&c, &o));
    CU_ASSERT_EQUAL(o.status, DOB_TRAIN_DONE);
    for (int i = 0; i < k; i++) losses[i] = o.minibatch_train_losses[i];
    dob_train_out_free(&o);
    dob_dataset_free(&tr);
    dob_dataset_free(&va);
    dob_dataset_free(&te);
    dob_net_destroy(net);
}
