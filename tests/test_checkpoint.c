/* test_checkpoint.c: checkpoints (io/checkpoint.c): a round trip of parameters, optimizer state, buffers and
 * curves, and the refusals of a checkpoint that does not fit. Fixtures: results_fx.c. */
#include "results_fx.h"

/* ---- checkpoints (io/checkpoint.c) ------------------------------------------------------------------------ */
static dob_arena *ckpt_arena(int64_t n_w, int n_state) {
    dob_arena *a = NULL;
    int id;
    const dob_init z = {DOB_INIT_CONST, 0.0f, 0.0f};
    if (dob_arena_create(&a) != DOB_OK ||
        dob_arena_reserve(a, "w", 2, (int64_t[]){n_w, 5}, n_w, 5, z, DOB_PARAM_L2, &id) != DOB_OK ||
        dob_arena_reserve(a, "bn/mean", 1, (int64_t[]){4}, 1, 1, z, DOB_PARAM_BUFFER, &id) != DOB_OK ||
        dob_arena_alloc(a, n_state) != DOB_OK) {
        dob_arena_destroy(a);
        return NULL;
    }
    return a;
}

static void test_checkpoint_roundtrip(void) {
    dob_arena *a = ckpt_arena(3, 2), *b = ckpt_arena(3, 2), *other = ckpt_arena(4, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(other);
    const size_t n = dob_arena_size(a), nb = dob_arena_buffer_size(a);
    CU_ASSERT_FATAL(nb >= 4);
    for (size_t i = 0; i < n; i++) {
        dob_arena_params(a)[i] = 0.5f * (float)i;
        dob_arena_state(a, 0)[i] = -1.0f * (float)i;
        dob_arena_state(a, 1)[i] = 1e-3f * (float)i;
    }
    float *rows = malloc(2 * nb * sizeof *rows);
    for (size_t i = 0; i < 2 * nb; i++) rows[i] = (float)(i < nb ? i : 100 + i);
    double c[7][4], mb[6] = {2.3, 1.1, NAN, NAN, NAN, NAN};
    for (int k = 0; k < 7; k++)
        for (int e = 0; e < 4; e++) c[k][e] = e < 2 ? 0.1 * (k + 1) + e : NAN;
    dob_train_out o = {.num_epochs = 3, .n_minibatch = 6, .steps_done = 17, .evaluated = 2, .n_logged = 2,
                       .train_losses = c[0], .valid_losses = c[1], .test_losses = c[2], .train_accuracies = c[3],
                       .valid_accuracies = c[4], .test_accuracies = c[5], .epoch_seconds = c[6],
                       .minibatch_train_losses = mb, .phase_seconds = {1, 2, 3, 4, 5}};
    char p[512], cfg[256];
    rfx_path_in(p, sizeof p, "run.ckpt");
    dob_ckpt_meta m = {.config = "problem=x lr=0.1", .ranks = 2, .threads = 3};
    TC_ASSERT_OK(dob_checkpoint_save(p, &m, a, rows, &o));
    TC_ASSERT_OK(dob_checkpoint_save(p, &m, a, rows, &o)); /* replaces the previous one */
    int ranks = 0, threads = 0;
    TC_ASSERT_OK(dob_checkpoint_read_meta(p, cfg, sizeof cfg, &ranks, &threads));
    CU_ASSERT_STRING_EQUAL(cfg, "problem=x lr=0.1");
    CU_ASSERT_EQUAL(ranks, 2);
    CU_ASSERT_EQUAL(threads, 3);

    dob_train_out in;
    TC_ASSERT_OK(dob_checkpoint_load(p, 1, b, &in));
    CU_ASSERT_EQUAL(memcmp(dob_arena_params(a), dob_arena_params(b), n * sizeof(float)), 0);
    CU_ASSERT_EQUAL(memcmp(dob_arena_state(a, 1), dob_arena_state(b, 1), n * sizeof(float)), 0);
    CU_ASSERT_EQUAL(memcmp(dob_arena_buffers(b), rows + nb, nb * sizeof(float)), 0); /* rank 1's row */
    CU_ASSERT_EQUAL(in.num_epochs, 3);
    CU_ASSERT_EQUAL(in.n_minibatch, 6);
    CU_ASSERT_EQUAL(in.steps_done, 17);
    CU_ASSERT_EQUAL(in.evaluated, 2);
    CU_ASSERT_EQUAL(in.epochs_done, 1);
    CU_ASSERT_EQUAL(in.n_logged, 2);
    CU_ASSERT_DOUBLE_EQUAL(in.test_losses[1], c[2][1], 0);
    CU_ASSERT(isnan(in.test_losses[3]));
    CU_ASSERT_DOUBLE_EQUAL(in.epoch_seconds[0], c[6][0], 0);
    CU_ASSERT_DOUBLE_EQUAL(in.minibatch_train_losses[1], 1.1, 0);
    CU_ASSERT_DOUBLE_EQUAL(in.phase_seconds[4], 5.0, 0);
    dob_train_out_free(&in);
    TC_ASSERT_OK(dob_checkpoint_load(p, 0, b, &in));
    CU_ASSERT_EQUAL(memcmp(dob_arena_buffers(b), rows, nb * sizeof(float)), 0); /* rank 0's row */
    dob_train_out_free(&in);

    /* refusals: another net, a rank it does not hold, junk, missing, unwritable */
    TC_ASSERT_FAILS(dob_checkpoint_load(p, 0, other, &in), DOB_EFORMAT, "params");
    TC_ASSERT_FAILS(dob_checkpoint_load(p, 2, b, &in), DOB_EFORMAT, "holds 2 ranks");
    char junk[512], missing[512], nodir[512];
    rfx_path_in(junk, sizeof junk, "junk.ckpt");
    rfx_put(junk, "not hdf5\n");
    TC_ASSERT_FAILS(dob_checkpoint_load(junk, 0, b, &in), DOB_EFORMAT, "not an HDF5 file");
    rfx_path_in(missing, sizeof missing, "missing.ckpt");
    TC_ASSERT_FAILS(dob_checkpoint_read_meta(missing, cfg, sizeof cfg, &ranks, &threads), DOB_ENOENT, "missing");
    rfx_path_in(nodir, sizeof nodir, "nodir/x.ckpt");
    TC_ASSERT_FAILS(dob_checkpoint_save(nodir, &m, a, rows, &o), DOB_ENOENT, "does not exist");
    /* no temporary file is left next to the checkpoint */
    DIR *d = opendir(rfx_tmpdir);
    struct dirent *de;
    int tmps = 0;
    while (d && (de = readdir(d)))
        if (strstr(de->d_name, ".tmp-")) tmps++;
    if (d) closedir(d);
    CU_ASSERT_EQUAL(tmps, 0);
    free(rows);
    dob_arena_destroy(a);
    dob_arena_destroy(b);
    dob_arena_destroy(other);
}

static CU_TestInfo tests[] = {
    {"checkpoint_roundtrip", test_checkpoint_roundtrip},
    CU_TEST_INFO_NULL,
};
CU_SuiteInfo checkpoint_suite = {"checkpoint", rfx_suite_init, rfx_suite_cleanup, NULL, NULL, tests};
