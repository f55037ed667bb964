/* data.c: `dob data DATASET`: the first N examples of a split, in file order, read by dob's own reader and
 * preprocessed exactly as the net sees them (tolstoi: the first N characters, decoded) (evaluation: standardisation where the problem has it; --augment: the
 * training augmentation, keyed as the first N positions of training step 0 with seed 42). Prints one summary
 * line (count, shape, value range and mean, labels seen) and writes --png / --h5 through io/. DATASET is a data
 * set key or a problem name; the preprocessing is that of the first registered problem reading the set. */
#include <math.h>
#include <string.h>

#include "app.h"
#include "dob/datasets.h"
#include "dob/io.h"

/* The problem whose preprocessing applies: by name, else the first one reading data set `name`. */
static const dob_problem_spec *problem_for(const char *name, const char **dataset) {
    const dob_problem_spec *p = dob_problem_find(name);
    if (p) {
        *dataset = p->dataset;
        return p;
    }
    *dataset = name;
    for (int i = 0; i < dob_problem_count(); i++)
        if (!strcmp(dob_problem_at(i)->dataset, name)) return dob_problem_at(i);
    return NULL;
}

static void describe(const dob_preproc *pp, int augment, char *buf, size_t cap) {
    if (!pp) {
        snprintf(buf, cap, "none (the reader's values)");
        return;
    }
    size_t l = 0;
    if (augment)
        l = (size_t)snprintf(buf, cap, "pad %lld + random crop, %sbrightness %g, saturation [%g, %g), contrast "
                             "[%g, %g) (seed 42, step 0); ", (long long)pp->pad, pp->flip ? "left-right flip, " : "",
                             (double)pp->brightness, (double)pp->sat_lo, (double)pp->sat_hi, (double)pp->con_lo,
                             (double)pp->con_hi);
    if (l < cap) snprintf(buf + l, cap - l, "%s", pp->standardize ? "per-image standardisation" : "none");
}

/* One code point as UTF-8 (an invalid one as U+FFFD). */
static void put_utf8(uint32_t c, FILE *f) {
    if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) c = 0xFFFD;
    if (c < 0x80) {
        fputc((int)c, f);
    } else if (c < 0x800) {
        fputc((int)(0xC0 | c >> 6), f), fputc((int)(0x80 | (c & 0x3F)), f);
    } else if (c < 0x10000) {
        fputc((int)(0xE0 | c >> 12), f), fputc((int)(0x80 | (c >> 6 & 0x3F)), f), fputc((int)(0x80 | (c & 0x3F)), f);
    } else {
        fputc((int)(0xF0 | c >> 18), f), fputc((int)(0x80 | (c >> 12 & 0x3F)), f);
        fputc((int)(0x80 | (c >> 6 & 0x3F)), f), fputc((int)(0x80 | (c & 0x3F)), f);
    }
}

/* `dob data tolstoi`: the first N characters of a split, decoded through the vocabulary (ids where the prepared
 * files come without vocab.pkl), after a summary line; the text as the net reads it, before the sequence cut. */
static int data_text(dob_comm *world, const app_opts *o) {
    if (o->png || o->h5 || o->augment) {
        app_error(world, "dob data tolstoi prints text: --png, --h5 and --augment are for image data sets");
        return DOB_EXIT_USAGE;
    }
    if (strcmp(o->split, "train") && strcmp(o->split, "test")) {
        app_error(world, "--split %s: the tolstoi data set has the splits train and test", o->split);
        return DOB_EXIT_USAGE;
    }
    char dir[4096];
    dob_tolstoi t;
    dob_status st = dob_data_dir_resolve(o->data_dir, "tolstoi", dir, sizeof dir);
    if (st == DOB_OK) st = dob_tolstoi_load(dir, &t);
    if (st != DOB_OK) {
        app_status_error(world, "tolstoi");
        return DOB_EXIT_FAIL;
    }
    const int train = !strcmp(o->split, "train");
    const int32_t *ids = train ? t.train : t.test;
    const int64_t n = train ? t.n_train : t.n_test, k = o->first < n ? o->first : n;
    printf("tolstoi %s: %lld characters, vocabulary of %lld%s; the first %lld:\n", o->split, (long long)n,
           (long long)t.n_vocab, t.vocab ? "" : " (no vocab.pkl: ids shown)", (long long)k);
    for (int64_t i = 0; i < k; i++) {
        if (t.vocab) put_utf8(t.vocab[ids[i]], stdout);
        else printf("%s%d", i ? " " : "", ids[i]);
    }
    putchar('\n');
    dob_tolstoi_free(&t);
    return DOB_EXIT_OK;
}

int cmd_data(dob_comm *world, const app_cmd *cmd, app_opts *o, int argc, char **argv) {
    (void)cmd, (void)argc, (void)argv;
    if (!app_is_root(world)) return DOB_EXIT_OK;
    const char *dataset;
    const dob_problem_spec *p = problem_for(o->pos[0], &dataset);
    if (!strcmp(dataset, "tolstoi")) return data_text(world, o);
    if (!dob_data_known(dataset)) {
        app_error(world, "unknown data set '%s': expected mnist, fmnist, cifar10, cifar100, svhn, quadratic, two_d, "
                  "tolstoi or a problem name (dob list)", o->pos[0]);
        return DOB_EXIT_USAGE;
    }
    const dob_data_opts dopts = {.cifar100_fix_offset = o->cifar100_fix_offset};
    dob_dataset d = {0}, first = {0};
    dob_status st = dob_data_load_split(dataset, o->data_dir, &dopts, o->split,
                                        !strcmp(o->split, "test") ? 0 : (p && !strcmp(o->split, "valid") ?
                                                                         p->train_eval_size : 0), &d);
    if (st == DOB_OK && o->first > d.n) {
        app_error(world, "--first %lld: the %s split of %s has only %lld examples", (long long)o->first, o->split,
                  dataset, (long long)d.n);
        dob_dataset_free(&d);
        return DOB_EXIT_USAGE;
    }
    if (st == DOB_OK) st = dob_dataset_to_f32(&d, 0, o->first, &first);
    dob_dataset_free(&d);
    if (st != DOB_OK) {
        app_status_error(world, dataset);
        return DOB_EXIT_FAIL;
    }
    const dob_preproc *pp = p ? p->preproc : NULL;
    if (pp && first.x_ndim == 3) {
        dob_dataset raw;
        if ((st = dob_dataset_slice(&first, 0, first.n, &raw)) != DOB_OK) {
            app_status_error(world, dataset);
            dob_dataset_free(&first);
            return DOB_EXIT_FAIL;
        }
        dob_preproc_apply(pp, o->augment, 42, 0, raw.x, first.x, first.n, first.x_dims[0], first.x_dims[1],
                          first.x_dims[2]);
        dob_dataset_free(&raw);
    }
    char desc[512];
    describe(pp && first.x_ndim == 3 ? pp : NULL, o->augment, desc, sizeof desc);
    const int64_t size = dob_dataset_example_size(&first);
    double lo = INFINITY, hi = -INFINITY, sum = 0.0;
    const float *fx = first.x;
    for (int64_t i = 0; i < first.n * size; i++) {
        lo = fmin(lo, fx[i]), hi = fmax(hi, fx[i]);
        sum += fx[i];
    }
    printf("%s %s: the first %lld examples of %lld values each; values in [%.4g, %.4g], mean %.4g; preprocessing: "
           "%s\n", dataset, o->split, (long long)first.n, (long long)size, lo, hi, sum / (double)(first.n * size),
           desc);
    if (o->h5 && (st = dob_data_dump_h5(o->h5, &first, dataset, o->split, desc)) == DOB_OK)
        printf("  HDF5: %s\n", o->h5);
    if (st == DOB_OK && o->png && (st = dob_data_dump_png(o->png, &first)) == DOB_OK) printf("  PNG: %s\n", o->png);
    dob_dataset_free(&first);
    if (st != DOB_OK) {
        app_status_error(world, NULL);
        return st == DOB_EEXIST ? DOB_EXIT_USAGE : DOB_EXIT_FAIL;
    }
    return DOB_EXIT_OK;
}
