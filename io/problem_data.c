/* problem_data.c: which reader and which splits each test problem's data set uses (DeepOBS §4).
 * MNIST and Fashion-MNIST: IDX files; train 60 000 (v1.1) or 50 000 + valid 10 000 (v1.2, --valid); test
 * 10 000. Does not: shuffle or batch (the trainer does, with the counter RNG). */
#include <string.h>

#include "dob/datasets.h"
#include "dob/io.h"

dob_status dob_problem_data_load(const dob_problem_spec *p, const char *data_dir, int use_valid, dob_dataset *train,
                                 dob_dataset *valid, dob_dataset *test) {
    dob_status st = DOB_OK;
    char dir[4096];
    memset(train, 0, sizeof *train);
    memset(valid, 0, sizeof *valid);
    memset(test, 0, sizeof *test);
    if (!strcmp(p->dataset, "mnist") || !strcmp(p->dataset, "fmnist")) {
        DOB_TRY(dob_data_dir_resolve(data_dir, p->dataset, dir, sizeof dir));
        DOB_TRY(dob_mnist_load(dir, "train", train));
        DOB_TRY(dob_mnist_load(dir, "test", test));
        if (use_valid) DOB_TRY(dob_dataset_split_valid(train, p->train_eval_size, valid));
        return DOB_OK;
    }
    return DOB_FAIL(DOB_EINVAL, "data set '%s' of problem %s has no reader yet", p->dataset, p->name);
fail:
    dob_dataset_free(train);
    dob_dataset_free(valid);
    dob_dataset_free(test);
    return st;
}
