/* runtime.c: `dob runtime`, DeepOBS's runtime estimate (reference §6.1: deepobs_estimate_runtime.py in v1.1,
 * analyzer.estimate_runtime in v1.2): --runs times an SGD run then a run of the optimizer under test, each the
 * whole protocol for -N epochs without result files; the overhead of a pair is T_opt / T_sgd, reported as
 * mean +- std over the pairs with both times per epoch.
 *
 * Deliberate differences: DeepOBS 1.1 times the new optimizer through os.system (interpreter and TF start-up
 * included, a bias against it) and SGD in-process; here both run in this process on data loaded once, on the
 * same net (re-initialised by every run: seed --seed), so the ratio measures the optimizer alone. The SGD runs
 * use --sgd-lr (1.2's sgd_lr = 0.01), the other runs --lr; a diverged run still counts (its epochs ran). One
 * untimed SGD run goes first: the first run of a process builds the net and JIT-compiles oneDNN's kernels
 * (measured: fmnist_logreg 1 epoch 0.23 s first, 0.09 s after), which would bias the first pair.
 *
 * Phases: plan (problem, optimizers, settings) -> load (data once, the net) -> the pairs -> report. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "dob/optim.h"
#include "dob/problem.h"
#include "dob/trainer.h"

/* Return the status of a failing call (the phases here own nothing to release on the way out). */
#define DOB_TRY_R(call)                   \
    do {                                  \
        dob_status rt_st_ = (call);       \
        if (rt_st_ != DOB_OK) return rt_st_; \
    } while (0)

typedef struct rt_state {
    dob_comm *world;
    const app_cmd *cmd;
    app_opts *o;
    int rc;
    const char *ctx;
    const dob_problem_spec *p;
    const dob_optim_ops *opt, *sgd;
    double hp[DOB_OPTIM_MAX_HP], wd;
    dob_conv_algo algo;
    dob_dataset train, valid, test;
    dob_node_data nd;
    dob_net *net;
    double *t_sgd, *t_opt; /* seconds of each run */
} rt_state;

static dob_status plan(rt_state *r) {
    app_opts *o = r->o;
    r->rc = DOB_EXIT_USAGE;
    DOB_TRY_R(app_find_problem(o->pos[0], &r->p));
    DOB_TRY_R(app_find_optimizer(o->optimizer, o->optimizer_lib, &r->opt));
    if (!r->opt) return DOB_FAIL(DOB_EINVAL, "missing --optimizer NAME (or --optimizer-lib PATH.so)");
    if (!app_given(o, &o->lr)) return DOB_FAIL(DOB_EINVAL, "missing --lr (the optimizer's learning rate)");
    DOB_TRY_R(app_find_optimizer("sgd", NULL, &r->sgd));
    for (int i = 0; i < r->opt->n_hparams; i++) r->hp[i] = r->opt->hparams[i].def;
    for (int i = 0; i < o->n_hp; i++) {
        int k = 0;
        DOB_TRY_R(app_hp_index(r->cmd, r->opt, o->hp_names[i], &k));
        DOB_TRY_R(app_parse_double(o->hp_names[i], o->hp_values[i], &r->hp[k]));
    }
    DOB_TRY_R(dob_optim_check(r->opt, o->lr, r->hp));
    DOB_TRY_R(dob_optim_check(r->sgd, o->sgd_lr, NULL));
    DOB_TRY_R(app_conv_algo(o->conv_algo, o->quiet || !app_is_root(r->world), &r->algo));
    if (!app_given(o, &o->bs)) o->bs = r->p->batch_size;
    r->wd = app_weight_decay(r->world, r->p, o);
    r->t_sgd = calloc((size_t)o->runs, sizeof *r->t_sgd);
    r->t_opt = calloc((size_t)o->runs, sizeof *r->t_opt);
    r->rc = DOB_EXIT_FAIL;
    return r->t_sgd && r->t_opt ? DOB_OK : DOB_FAIL(DOB_ENOMEM, "out of memory");
}

static dob_status load(rt_state *r) {
    const app_opts *o = r->o;
    r->ctx = r->p->name;
    const dob_data_opts dopts = {0};
    DOB_TRY_R(dob_comm_agree(r->world, dob_problem_data_load_node(r->p, o->data_dir, &dopts, 0, r->world, &r->train,
                                                                  &r->valid, &r->test, &r->nd)));
    r->ctx = NULL;
    DOB_TRY_R(dob_problem_net(r->p, &r->net));
    return dob_net_set_conv_algo(r->net, r->algo);
}

/* One whole run of opt at lr: its wall time (every rank the same: rank 0's). */
static dob_status one_run(rt_state *r, const dob_optim_ops *opt, double lr, const double *hp, double *secs) {
    const app_opts *o = r->o;
    app_trial t = {.p = r->p, .opt = opt, .hp = hp, .bs = o->bs, .epochs = o->epochs, .log_interval = 10,
                   .seed = o->seed, .wd = r->wd, .train = &r->train, .test = &r->test, .net = r->net};
    app_ctx ctx = {.comm = r->world, .quiet = 1};
    dob_train_cfg cfg;
    dob_train_out out;
    memset(&out, 0, sizeof out);
    DOB_TRY_R(app_make_sched(lr, 0, NULL, 0, NULL, &t.sched));
    app_trial_cfg(&t, &ctx, 0, &cfg);
    DOB_TRY_R(dob_comm_barrier(r->world));
    const double t0 = dob_comm_wtime();
    dob_status st = dob_comm_agree(r->world, dob_train(&cfg, &out));
    *secs = dob_comm_wtime() - t0;
    dob_train_out_free(&out);
    if (st == DOB_OK) st = dob_comm_bcast(r->world, secs, sizeof *secs, 0);
    return st;
}

static dob_status pairs(rt_state *r) {
    const app_opts *o = r->o;
    const int root = app_is_root(r->world);
    if (root && !o->quiet)
        fprintf(stderr, "dob runtime %s: %s (lr %g) against SGD (lr %g), %lld epoch%s, batch %lld, %lld pair%s of "
                "runs\n", r->p->name, r->opt->name, o->lr, o->sgd_lr, (long long)o->epochs, o->epochs == 1 ? "" : "s",
                (long long)o->bs, (long long)o->runs, o->runs == 1 ? "" : "s");
    double warm = 0; /* the first run builds the net and JIT-compiles oneDNN's kernels: untimed */
    DOB_TRY_R(one_run(r, r->sgd, o->sgd_lr, NULL, &warm));
    for (int64_t i = 0; i < o->runs; i++) {
        DOB_TRY_R(one_run(r, r->sgd, o->sgd_lr, NULL, &r->t_sgd[i]));
        DOB_TRY_R(one_run(r, r->opt, o->lr, r->hp, &r->t_opt[i]));
        if (root && !o->quiet)
            fprintf(stderr, "  pair %lld: SGD %.3f s, %s %.3f s, overhead %.3f\n", (long long)i + 1, r->t_sgd[i],
                    r->opt->name, r->t_opt[i], r->t_opt[i] / r->t_sgd[i]);
    }
    return DOB_OK;
}

/* Mean and sample std (n - 1; 0 for one value) of v[i] / w[i] (w NULL: of v[i]) / scale. */
static void mean_std(const double *v, const double *w, int64_t n, double scale, double *mean, double *std) {
    double s = 0, q = 0;
    for (int64_t i = 0; i < n; i++) s += (w ? v[i] / w[i] : v[i]) / scale;
    *mean = s / (double)n;
    for (int64_t i = 0; i < n; i++) {
        const double d = (w ? v[i] / w[i] : v[i]) / scale - *mean;
        q += d * d;
    }
    *std = n > 1 ? sqrt(q / (double)(n - 1)) : 0.0;
}

static void report(const rt_state *r) {
    const app_opts *o = r->o;
    if (!app_is_root(r->world)) return;
    double ms, ss, mo, so, mr, sr;
    const double ep = (double)o->epochs;
    mean_std(r->t_sgd, NULL, o->runs, ep, &ms, &ss);
    mean_std(r->t_opt, NULL, o->runs, ep, &mo, &so);
    mean_std(r->t_opt, r->t_sgd, o->runs, 1.0, &mr, &sr);
    printf("%s: SGD %.4f +- %.4f s/epoch, %s %.4f +- %.4f s/epoch; overhead %.3f +- %.3f (%lld pair%s, %lld "
           "epoch%s each)\n", r->p->name, ms, ss, r->opt->name, mo, so, mr, sr, (long long)o->runs,
           o->runs == 1 ? "" : "s", (long long)o->epochs, o->epochs == 1 ? "" : "s");
}

static void rt_free(rt_state *r) {
    dob_net_destroy(r->net);
    dob_dataset_free(&r->train);
    dob_dataset_free(&r->valid);
    dob_dataset_free(&r->test);
    dob_node_data_free(&r->nd);
    free(r->t_sgd);
    free(r->t_opt);
}

int cmd_runtime(dob_comm *world, const app_cmd *cmd, app_opts *o, int argc, char **argv) {
    (void)argc, (void)argv;
    rt_state r = {.world = world, .cmd = cmd, .o = o, .rc = DOB_EXIT_FAIL};
    dob_status st = plan(&r);
    if (st == DOB_OK) st = load(&r);
    if (st == DOB_OK) st = pairs(&r);
    int rc = DOB_EXIT_OK;
    if (st != DOB_OK) {
        app_status_error(world, r.ctx);
        rc = r.rc;
    } else {
        report(&r);
    }
    rt_free(&r);
    return rc;
}
