/* registry.c: the static table of DeepOBS test problems and the net constructor shared by all of them. */
#include "dob/problem.h"

#include <string.h>

extern const dob_problem_spec dob_problem_mnist_logreg, dob_problem_fmnist_logreg;
extern const dob_problem_spec dob_problem_mnist_mlp, dob_problem_fmnist_mlp;
extern const dob_problem_spec dob_problem_mnist_2c2d, dob_problem_fmnist_2c2d;
extern const dob_problem_spec dob_problem_mnist_vae, dob_problem_fmnist_vae;
extern const dob_problem_spec dob_problem_quadratic_deep;
extern const dob_problem_spec dob_problem_cifar10_3c3d, dob_problem_cifar100_3c3d;
extern const dob_problem_spec dob_problem_cifar100_allcnnc, dob_problem_cifar100_wrn404;
extern const dob_problem_spec dob_problem_svhn_3c3d, dob_problem_svhn_wrn164;
extern const dob_problem_spec dob_problem_two_d_rosenbrock, dob_problem_two_d_beale, dob_problem_two_d_branin;

static const dob_problem_spec *const problems[] = {
    &dob_problem_mnist_logreg, &dob_problem_fmnist_logreg, &dob_problem_mnist_mlp,
    &dob_problem_fmnist_mlp,   &dob_problem_mnist_2c2d,    &dob_problem_fmnist_2c2d,
    &dob_problem_mnist_vae,    &dob_problem_fmnist_vae,
    &dob_problem_quadratic_deep, &dob_problem_two_d_rosenbrock, &dob_problem_two_d_beale,
    &dob_problem_two_d_branin,   &dob_problem_cifar10_3c3d,   &dob_problem_cifar100_3c3d,
    &dob_problem_cifar100_allcnnc, &dob_problem_cifar100_wrn404, &dob_problem_svhn_3c3d,
    &dob_problem_svhn_wrn164,
};

int dob_problem_count(void) { return (int)(sizeof problems / sizeof problems[0]); }

const dob_problem_spec *dob_problem_at(int i) {
    return (i >= 0 && i < dob_problem_count()) ? problems[i] : NULL;
}

const dob_problem_spec *dob_problem_find(const char *name) {
    for (int i = 0; i < dob_problem_count(); i++)
        if (!strcmp(problems[i]->name, name)) return problems[i];
    return NULL;
}

dob_status dob_problem_net(const dob_problem_spec *p, dob_net **out) {
    dob_status st = DOB_OK;
    dob_net *net = NULL;
    int logits;
    DOB_TRY(dob_net_create(&net, p->in_ndim, p->in_dims));
    DOB_TRY(p->build(net, &logits));
    dob_net_set_output(net, logits);
    DOB_TRY(dob_net_alloc(net));
    *out = net;
    return DOB_OK;
fail:
    dob_error_prefix("problem %s: ", p->name);
    dob_net_destroy(net);
    *out = NULL;
    return st;
}
