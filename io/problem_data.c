/* problem_data.c: the table of data sets (DeepOBS §4): for each key a problem names, the directory it lives in,
 * the reader of its train and test files, and how its v1.2 validation split is made. A new data set is one row.
 * Splits: train (v1.1: the whole training file set) or, with --valid, v1.2's valid = the first train_eval_size
 * training examples in file order and train = the rest; test. Does not: shuffle, batch or preprocess (the
 * trainer does, with the counter RNG and the problem's dob_preproc). The synthetic sets (quadratic, two_d) are
 * drawn here with numpy's RandomState seeds, as DeepOBS does, and have their own valid draw. */
#include <string.h>

#include "dob/datasets.h"
#include "dob/imagenet.h"
#include "dob/io.h"

typedef struct data_set {
    const char *key;   /* dob_problem_spec.dataset */
    const char *dir;   /* directory name (DeepOBS layout) for dob_data_dir_resolve; NULL: drawn, no files */
    /** Read split "train" or "test" (and "valid" when own_valid) from the resolved directory (NULL if none). */
    dob_status (*load)(const char *dir, const dob_data_opts *o, const char *split, dob_dataset *out);
    int own_valid;     /* 1: v1.2's valid split is a separate draw, not carved off the training set */
    int streamed;      /* 1: read on demand by each rank (dob_dataset_stream), never held or shared whole */
} data_set;

static dob_status load_mnist(const char *dir, const dob_data_opts *o, const char *split, dob_dataset *out) {
    (void)o;
    return dob_mnist_load(dir, split, out);
}

static dob_status load_cifar10(const char *dir, const dob_data_opts *o, const char *split, dob_dataset *out) {
    (void)o;
    return dob_cifar10_load(dir, split, out);
}

static dob_status load_cifar100(const char *dir, const dob_data_opts *o, const char *split, dob_dataset *out) {
    return dob_cifar100_load(dir, split, o->cifar100_fix_offset, out);
}

static dob_status load_svhn(const char *dir, const dob_data_opts *o, const char *split, dob_dataset *out) {
    (void)o;
    return dob_svhn_load(dir, split, out);
}

/* DeepOBS quadratic: 1 000 x 100, N(0, 0.6^2), numpy seeds train 42, test 43, valid 44 */
static dob_status load_quadratic(const char *dir, const dob_data_opts *o, const char *split, dob_dataset *out) {
    (void)dir, (void)o;
    const uint32_t seed = !strcmp(split, "train") ? 42u : !strcmp(split, "test") ? 43u : 44u;
    return dob_quadratic_data(seed, 1000, 100, 0.6, out);
}

/* DeepOBS two_d: 10 000 pairs, N(0, 1), seeds train 42, valid 44; test all zeros */
static dob_status load_two_d(const char *dir, const dob_data_opts *o, const char *split, dob_dataset *out) {
    (void)dir, (void)o;
    return dob_two_d_data(!strcmp(split, "train") ? 42u : 44u, 10000, 1.0, !strcmp(split, "test"), out);
}

/* DeepOBS tolstoi: the prepared train.npy/test.npy (or input.txt, preprocessed as DeepOBS does) as sequences of
 * 50 characters; the trainer batches them into contiguous streams (tolstoi.py). v1.2's valid = the first
 * train_eval_size sequences of train (DeepOBS: the first 653 237 characters). */
static dob_status load_tolstoi(const char *dir, const dob_data_opts *o, const char *split, dob_dataset *out) {
    (void)o;
    dob_tolstoi t;
    dob_status st = dob_tolstoi_load(dir, &t);
    if (st != DOB_OK) return st;
    const int test = !strcmp(split, "test");
    st = dob_text_sequences(test ? t.test : t.train, test ? t.n_test : t.n_train, 50, out);
    dob_tolstoi_free(&t);
    if (st != DOB_OK) dob_error_prefix("tolstoi %s split: ", split);
    return st;
}

/* DeepOBS imagenet: TFRecord shards or class folders, streamed (io/imagenet.c); v1.2's valid = the first
 * train_eval_size examples of the sorted shard (or folder) order, a window on the same stream */
static dob_status load_imagenet(const char *dir, const dob_data_opts *o, const char *split, dob_dataset *out) {
    (void)o;
    return dob_imagenet_load(dir, split, out);
}

static const data_set sets[] = {
    {"mnist", "mnist", load_mnist, 0, 0},
    {"fmnist", "fmnist", load_mnist, 0, 0},
    {"cifar10", "cifar-10", load_cifar10, 0, 0},
    {"cifar100", "cifar-100", load_cifar100, 0, 0},
    {"svhn", "svhn", load_svhn, 0, 0},
    {"quadratic", NULL, load_quadratic, 1, 0},
    {"two_d", NULL, load_two_d, 1, 0},
    {"tolstoi", "tolstoi", load_tolstoi, 0, 0},
    {"imagenet", "imagenet", load_imagenet, 0, 1},
};

static const data_set *find_set(const char *key) {
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
        if (key && !strcmp(sets[i].key, key)) return &sets[i];
    return NULL;
}

int dob_data_known(const char *dataset) { return find_set(dataset) != NULL; }

int dob_data_streamed(const char *dataset) {
    const data_set *s = find_set(dataset);
    return s && s->streamed;
}

dob_status dob_data_load_split(const char *dataset, const char *data_dir, const dob_data_opts *o, const char *split,
                               int64_t n_valid, dob_dataset *out) {
    dob_status st = DOB_OK;
    static const dob_data_opts defaults = {0};
    const data_set *s = find_set(dataset);
    char dir[4096];
    memset(out, 0, sizeof *out);
    if (!s) return DOB_FAIL(DOB_EINVAL, "data set '%s' has no reader", dataset ? dataset : "(null)");
    if (!o) o = &defaults;
    const int is_train = split && !strcmp(split, "train"), is_valid = split && !strcmp(split, "valid");
    if (!is_train && !is_valid && !(split && !strcmp(split, "test")))
        return DOB_FAIL(DOB_EINVAL, "data set %s: expected split train, valid or test, found '%s'", dataset,
                        split ? split : "(null)");
    if (is_valid && n_valid <= 0)
        return DOB_FAIL(DOB_EINVAL, "data set %s: the valid split needs n_valid > 0, found %lld", dataset,
                        (long long)n_valid);
    if (s->dir) DOB_TRY(dob_data_dir_resolve(data_dir, s->dir, dir, sizeof dir));
    DOB_TRY(s->load(s->dir ? dir : NULL, o, is_valid && !s->own_valid ? "train" : split, out));
    if (!s->own_valid && (is_valid || (is_train && n_valid > 0))) {
        dob_dataset valid;
        DOB_TRY(dob_dataset_split_valid(out, n_valid, &valid));
        if (is_valid) {
            dob_dataset_free(out);
            *out = valid;
        } else {
            dob_dataset_free(&valid);
        }
    }
    return DOB_OK;
fail:
    dob_dataset_free(out);
    return st;
}

dob_status dob_problem_data_load_opts(const dob_problem_spec *p, const char *data_dir, const dob_data_opts *o,
                                      int use_valid, dob_dataset *train, dob_dataset *valid, dob_dataset *test) {
    dob_status st = DOB_OK;
    static const dob_data_opts defaults = {0};
    const data_set *s = find_set(p->dataset);
    char dir[4096];
    memset(train, 0, sizeof *train);
    memset(valid, 0, sizeof *valid);
    memset(test, 0, sizeof *test);
    if (!s) return DOB_FAIL(DOB_EINVAL, "data set '%s' of problem %s has no reader yet", p->dataset, p->name);
    if (!o) o = &defaults;
    /* one directory lookup and one read of the training files, even with --valid */
    if (s->dir) DOB_TRY(dob_data_dir_resolve(data_dir, s->dir, dir, sizeof dir));
    DOB_TRY(s->load(s->dir ? dir : NULL, o, "train", train));
    DOB_TRY(s->load(s->dir ? dir : NULL, o, "test", test));
    if (use_valid && s->own_valid) DOB_TRY(s->load(NULL, o, "valid", valid));
    else if (use_valid) DOB_TRY(dob_dataset_split_valid(train, p->train_eval_size, valid));
    return DOB_OK;
fail:
    dob_dataset_free(train);
    dob_dataset_free(valid);
    dob_dataset_free(test);
    return st;
}

dob_status dob_problem_data_load(const dob_problem_spec *p, const char *data_dir, int use_valid, dob_dataset *train,
                                 dob_dataset *valid, dob_dataset *test) {
    return dob_problem_data_load_opts(p, data_dir, NULL, use_valid, train, valid, test);
}
