/* two_d.c: two_d_rosenbrock, two_d_beale, two_d_branin (DeepOBS §3.12, §4.9): scalars u ("weight"), v ("bias")
 * from DeepOBS's start points; per-example loss f(u, v) + u x + v y with (x, y) ~ N(0, 1) (10 000 pairs, numpy
 * seed 42; valid 44; test all zeros, so the test loss is f(u, v) exactly). No L2, no accuracy, 2 parameters.
 * Rosenbrock (1-u)^2 + 100 (v-u^2)^2 from (-0.5, 1.5); Beale sum_k (c_k - u + u v^k)^2, c = 1.5, 2.25, 2.625,
 * from (-4.5, 4.5); Branin (v - b u^2 + c u - 6)^2 + 10 (1 - 1/(8 pi)) cos u + 10, b = 5.1/(4 pi^2), c = 5/pi,
 * from (2.5, 12.5). Decision: DeepOBS's config has no batch size or epochs for them; dob uses 128 and 100. */
#include "dob/problem.h"

#define TWO_D(NAME, KIND, U0, V0, DESC)                                                                         \
    static dob_status build_##NAME(dob_net *net, int *out) {                                                    \
        const dob_two_d_cfg c = {.kind = KIND, .u0 = U0, .v0 = V0};                                              \
        return dob_net_two_d(net, #NAME, dob_net_input(net), &c, out);                                          \
    }                                                                                                           \
    const dob_problem_spec dob_problem_##NAME = {                                                               \
        .name = #NAME, .dataset = "two_d", .summary = DESC, .in_ndim = 1, .in_dims = {2}, .n_classes = 1,       \
        .batch_size = 128, .num_epochs = 100, .weight_decay = 0.0, .has_l2 = 0, .has_accuracy = 0,              \
        .loss = DOB_LOSS_IDENTITY, .train_eval_size = 10000, .n_params = 2, .build = build_##NAME,              \
        .notes = "no DeepOBS default batch size / epochs: dob uses 128 / 100"}

TWO_D(two_d_rosenbrock, DOB_TWO_D_ROSENBROCK, -0.5f, 1.5f, "noisy 2-d Rosenbrock function, start (-0.5, 1.5)");
TWO_D(two_d_beale, DOB_TWO_D_BEALE, -4.5f, 4.5f, "noisy 2-d Beale function, start (-4.5, 4.5)");
TWO_D(two_d_branin, DOB_TWO_D_BRANIN, 2.5f, 12.5f, "noisy 2-d Branin function, start (2.5, 12.5)");
