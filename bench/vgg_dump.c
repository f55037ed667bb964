/* vgg_dump.c: dump an initialised dob net, one input batch, its logits and its gradients, for a check against
 * PyTorch at the same weights (bench/torch_vgg_check.py, which runs this program).
 * usage: vgg_dump PROBLEM OUTDIR [batch=2] [seed=42]
 * Writes to OUTDIR (which must exist), all float32 little-endian, plain layouts (conv oihw, dense out x in):
 *   index.txt   one line per arena tensor: name count ndim dims... (the order of params.bin / grads.bin)
 *   params.bin  the initialised parameters, tensors back to back (no arena padding)
 *   x.bin       the input [N, C, H, W], U(-2, 2) from a fixed stream; labels are i % classes
 *   logits_eval.bin  forward in evaluation mode [N, K]
 *   logits_train.bin forward in training mode (dropout on) [N, K], then backward of the mean softmax
 *                    cross-entropy (no L2 term) into grads.bin
 *   drop_<i>.bin     the outputs of every dropout layer in that training forward (PyTorch rebuilds the masks)
 * Never run by CTest (it needs PyTorch); a development check, like the other bench/ tools. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dob/layer.h"
#include "dob/problem.h"

static int write_f32(const char *dir, const char *name, const float *x, size_t n) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(x, sizeof *x, n, f) == n;
    if (f && fclose(f)) ok = 0;
    if (!ok) fprintf(stderr, "vgg_dump: cannot write %s\n", path);
    return ok;
}

/* index.txt and params.bin (which = 0) or grads.bin (which = 1) */
static int write_arena(const char *dir, dob_arena *a, int which) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, which ? "grads.bin" : "params.bin");
    FILE *f = fopen(path, "wb");
    snprintf(path, sizeof path, "%s/index.txt", dir);
    FILE *ix = which ? NULL : fopen(path, "w");
    int ok = f && (which || ix);
    for (int k = 0; ok && k < dob_arena_tensor_count(a); k++) {
        const dob_param_info *t = dob_arena_info(a, k);
        if (t->flags & DOB_PARAM_BUFFER) continue;
        const float *x = which ? dob_arena_grad(a, k) : dob_arena_param(a, k);
        ok = fwrite(x, sizeof *x, t->count, f) == t->count;
        if (ix) {
            fprintf(ix, "%s %zu %d", t->name, t->count, t->ndim);
            for (int d = 0; d < t->ndim; d++) fprintf(ix, " %lld", (long long)t->dims[d]);
            fprintf(ix, "\n");
        }
    }
    if (f && fclose(f)) ok = 0;
    if (ix && fclose(ix)) ok = 0;
    if (!ok) fprintf(stderr, "vgg_dump: cannot write the arena to %s\n", dir);
    return ok;
}

/* diff = (softmax(z) - onehot(i % k)) / n: d mean CE / d logits */
static void ce_diff(const float *z, int64_t n, int64_t k, float *diff) {
    for (int64_t i = 0; i < n; i++) {
        double m = -INFINITY, s = 0;
        for (int64_t j = 0; j < k; j++) m = fmax(m, z[i * k + j]);
        for (int64_t j = 0; j < k; j++) s += exp(z[i * k + j] - m);
        for (int64_t j = 0; j < k; j++)
            diff[i * k + j] = (float)((exp(z[i * k + j] - m) / s - (j == i % k)) / (double)n);
    }
}

static int dump_dropouts(const char *dir, dob_net *net) {
    int nd = 0;
    for (int i = 0; i < dob_net_layer_count(net); i++) {
        const dob_layer *l = dob_net_layer(net, i);
        if (l->ops != &dob_dropout_ops) continue;
        char name[32];
        snprintf(name, sizeof name, "drop_%d.bin", ++nd);
        if (!write_f32(dir, name, l->out->data, l->out->count)) return 0;
    }
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s PROBLEM OUTDIR [batch=2] [seed=42]\n", argv[0]);
        return 2;
    }
    const dob_problem_spec *p = dob_problem_find(argv[1]);
    const char *dir = argv[2];
    const int64_t n = argc > 3 ? atoll(argv[3]) : 2;
    const uint64_t seed = argc > 4 ? strtoull(argv[4], NULL, 10) : 42;
    if (!p || n < 1) {
        fprintf(stderr, "vgg_dump: unknown problem %s or batch < 1\n", argv[1]);
        return 2;
    }
    dob_net *net;
    if (dob_problem_net(p, &net) != DOB_OK) goto fail;
    dob_arena_init(dob_net_arena(net), seed);
    if (dob_net_build(net, n) != DOB_OK) goto fail;
    dob_tensor *x = dob_net_input_tensor(net), *y = dob_net_output(net);
    dob_rng r = {7, DOB_RNG_TEST, 1};
    for (size_t i = 0; i < x->count; i++) x->data[i] = 4.0f * dob_rng_uniform(&r, i) - 2.0f;
    dob_net_set_context(net, (dob_net_ctx){.seed = seed, .step = 0, .example_offset = 0});
    int ok = write_arena(dir, dob_net_arena(net), 0) && write_f32(dir, "x.bin", x->data, x->count);
    if (!ok || dob_net_forward(net, 0) != DOB_OK) goto fail;
    ok = write_f32(dir, "logits_eval.bin", y->data, y->count);
    if (!ok || dob_net_forward(net, 1) != DOB_OK) goto fail;
    ok = write_f32(dir, "logits_train.bin", y->data, y->count) && dump_dropouts(dir, net);
    ce_diff(y->data, n, y->dims[1], y->diff);
    if (!ok || dob_net_backward(net) != DOB_OK) goto fail;
    if (!write_arena(dir, dob_net_arena(net), 1)) goto fail;
    dob_net_destroy(net);
    return 0;
fail:
    fprintf(stderr, "vgg_dump: %s\n", dob_last_error());
    return 1;
}
