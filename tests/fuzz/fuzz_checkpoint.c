/* fuzz_checkpoint.c: libFuzzer harness for the checkpoint loader (io/checkpoint.c): dob_checkpoint_read_meta,
 * then dob_checkpoint_load into a small arena (a 4x3 weight, a bias and a 2-float buffer tensor, one optimizer
 * state), as `dob run --checkpoint` does with an existing file. Every outcome must be a status: a damaged file
 * is refused (integrity checks name the dataset), never read past, never leaked.
 *
 * Seeds: DOB_FUZZ_MAKE_SEEDS=<dir> makes the harness write valid checkpoints of this arena (1 and 2 ranks,
 * short and long curves) to <dir> through the real dob_checkpoint_save and exit (tests/fuzz/make_seeds.sh). */
#include <math.h>

#include "dob/arena.h"
#include "dob/checkpoint.h"
#include "fuzz_util.h"

static dob_arena *arena;

static void make_arena(void) {
    int id;
    const int64_t w[2] = {4, 3}, b[1] = {3}, s[1] = {2};
    dob_init z = {DOB_INIT_ZEROS, 0, 0};
    if (dob_arena_create(&arena) != DOB_OK || dob_arena_reserve(arena, "w", 2, w, 4, 3, z, DOB_PARAM_L2, &id) ||
        dob_arena_reserve(arena, "b", 1, b, 4, 3, z, 0, &id) ||
        dob_arena_reserve(arena, "bn/mean", 1, s, 2, 2, z, DOB_PARAM_BUFFER, &id) || dob_arena_alloc(arena, 1)) {
        fprintf(stderr, "fuzz: arena: %s\n", dob_last_error());
        abort();
    }
}

static void make_seed(const char *dir, int k, int ranks, int64_t epochs) {
    dob_train_out o = {0};
    double *curves[7];
    o.num_epochs = epochs;
    o.n_minibatch = 3 * epochs;
    for (int i = 0; i < 7; i++) {
        curves[i] = calloc((size_t)epochs + 1, sizeof(double));
        for (int64_t e = 0; e <= epochs; e++) curves[i][e] = e < epochs ? 1.0 / (double)(e + i + 1) : NAN;
    }
    o.train_losses = curves[0], o.valid_losses = curves[1], o.test_losses = curves[2];
    o.train_accuracies = curves[3], o.valid_accuracies = curves[4], o.test_accuracies = curves[5];
    o.epoch_seconds = curves[6];
    o.minibatch_train_losses = calloc((size_t)o.n_minibatch + 1, sizeof(double));
    o.steps_done = 7 * k, o.evaluated = epochs, o.n_logged = o.n_minibatch;
    float *p = dob_arena_params(arena);
    for (size_t i = 0; i < dob_arena_size(arena); i++) p[i] = (float)i * 0.25f;
    size_t nb = dob_arena_buffer_size(arena) * (size_t)ranks;
    float *bufs = calloc(nb + 1, sizeof *bufs);
    for (size_t i = 0; i < nb; i++) bufs[i] = 0.5f + (float)i;
    dob_ckpt_meta m = {"problem=fuzz optimizer=momentum lr=0.1", ranks, 1};
    char path[512];
    snprintf(path, sizeof path, "%s/seed%d.h5", dir, k);
    if (dob_checkpoint_save(path, &m, arena, bufs, &o) != DOB_OK) {
        fprintf(stderr, "fuzz: seed %s: %s\n", path, dob_last_error());
        exit(1);
    }
    for (int i = 0; i < 7; i++) free(curves[i]);
    free(bufs);
    free(o.minibatch_train_losses);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    make_arena();
    const char *seeds = getenv("DOB_FUZZ_MAKE_SEEDS");
    if (seeds) {
        make_seed(seeds, 0, 1, 1);
        make_seed(seeds, 1, 2, 3);
        dob_arena_destroy(arena);
        exit(0);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[512], config[256];
    int ranks = 0, threads = 0;
    fuzz_file("ckpt.h5", data, size, path, sizeof path);
    if (dob_checkpoint_read_meta(path, config, sizeof config, &ranks, &threads) != DOB_OK) return 0;
    for (int rank = 0; rank < 2; rank++) {
        dob_train_out o;
        if (dob_checkpoint_load(path, rank, arena, &o) == DOB_OK) dob_train_out_free(&o);
    }
    return 0;
}
