/* dob/problem.h: DeepOBS test problems. Each problem is one file in problems/ exporting a const spec; the
 * static table in problems/registry.c lists them (no constructor-time registration). A spec says which data set
 * it reads, its DeepOBS defaults, and builds its network into an empty dob_net. */
#ifndef DOB_PROBLEM_H
#define DOB_PROBLEM_H

#include <stdint.h>

#include "dob/data.h"
#include "dob/layers.h"
#include "dob/net.h"

typedef struct dob_problem_spec {
    const char *name;          /* "fmnist_2c2d" */
    const char *dataset;       /* data set key for io/: "mnist", "fmnist" */
    const char *summary;       /* one line for `dob list` */
    int in_ndim;
    int64_t in_dims[4];        /* one example, C,H,W */
    int64_t n_classes;         /* width of the targets */
    int64_t batch_size;        /* DeepOBS default */
    int64_t num_epochs;        /* DeepOBS default */
    double weight_decay;       /* default L2 factor; 0 with has_l2 == 0: the problem has no regularizer */
    int has_l2;
    int has_accuracy;
    dob_loss_kind loss;
    int64_t train_eval_size;   /* examples evaluated as train_eval (DeepOBS: the test-set size) */
    int64_t n_params;          /* DeepOBS's trainable parameter count (checked by the tests) */
    const dob_preproc *preproc; /* image preprocessing of its data set (augmentation in training), or NULL */
    const char *notes;         /* deliberate decisions on DeepOBS quirks, for `dob list --notes`, or NULL */
    /** Add the layers to net (created with in_dims); *logits gets the output tensor id. */
    dob_status (*build)(dob_net *net, int *logits);
} dob_problem_spec;

const dob_problem_spec *dob_problem_find(const char *name);
int dob_problem_count(void);
const dob_problem_spec *dob_problem_at(int i);
/** DeepOBS's preprocessing of CIFAR-10/100 (crop, flip, colour jitter, standardisation), of SVHN (the same
 *  without the flip) and of ImageNet (standardisation; its crop and flip are the reader's), problems/preproc.c. */
extern const dob_preproc dob_preproc_cifar, dob_preproc_svhn, dob_preproc_imagenet;
/** quadratic_deep's Hessian (DeepOBS v1.1 TF), [100 x 100] row-major in float64; dim must be 100. */
void dob_quadratic_deep_hessian(double *h, int64_t dim);
/** Add DeepOBS's VGG (variant 16 or 19) with `classes` logits to an empty net whose input is C,H,W: resized to
 *  224x224 inside the net unless it is 224x224 already (problems/vgg.c; the CIFAR and ImageNet problems). */
dob_status dob_vgg_build(dob_net *net, int variant, int64_t classes, int *logits);
/** Create the net of a problem (input, layers, arena allocated, not initialised, not built). */
dob_status dob_problem_net(const dob_problem_spec *p, dob_net **out);

#endif
