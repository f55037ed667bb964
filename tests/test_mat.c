/* test_mat.c: the MATLAB level-5 reader (io/mat5.c) and SVHN's official .mat files (io/svhn.c) on files written
 * here from the MAT-File Format specification, as MATLAB writes the official ones: header "MATLAB 5.0 MAT-file",
 * version 0x0100, "IM"; each variable a zlib-compressed miMATRIX; X class uint8 32x32x3xN stored miUINT8, y class
 * double N x 1 stored miUINT8 (MATLAB keeps small whole doubles as uint8), names as small elements. Also: the
 * uncompressed layout with y stored as miDOUBLE and other variables (skipped) first; the directory switch (the
 * official files are read where DeepOBS's prepared ones are absent), the valid split; and every error path on
 * status and message (not a MAT-file, v7.3, big-endian, truncated, corrupt zlib, missing variable, complex, wrong
 * shapes, count mismatch, labels and pixels out of range, a missing test file). tests/e2e_svhn_mat.sh checks the
 * same reader on files scipy.io.savemat writes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "dob/datasets.h"
#include "dob/io.h"
#include "tc.h"


/* ---- a level-5 writer ------------------------------------------------------------------------------------ */
typedef struct buf {
    uint8_t *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *src, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}
static void put32(buf *b, uint32_t v) { put(b, &v, 4); } /* little-endian host */

/* One data element: small format when it fits in 4 bytes (as MATLAB writes names), else tag + data + padding. */
static void element(buf *b, uint32_t type, const void *data, uint32_t n) {
    static const uint8_t zero[8] = {0};
    if (n <= 4) {
        put32(b, type | n << 16);
        uint8_t w[4] = {0};
        memcpy(w, data, n);
        put(b, w, 4);
        return;
    }
    put32(b, type);
    put32(b, n);
    put(b, data, n);
    put(b, zero, (8 - n % 8) % 8);
}

typedef struct mvar {
    const char *name;
    uint32_t cls, type, flags; /* class, storage type, extra flag bits (0x800 complex) */
    int ndim;
    int32_t dims[4];
    const void *data;
    uint32_t bytes;
} mvar;

static void matrix(buf *b, const mvar *v) {
    buf m = {0};
    const uint32_t fl[2] = {v->cls | v->flags, 0};
    element(&m, 6, fl, 8);                                /* miUINT32 array flags */
    element(&m, 5, v->dims, (uint32_t)(4 * v->ndim));     /* miINT32 dimensions */
    element(&m, 1, v->name, (uint32_t)strlen(v->name));   /* miINT8 name */
    element(&m, v->type, v->data, v->bytes);              /* real part */
    put32(b, 14);
    put32(b, (uint32_t)m.n);
    put(b, m.p, m.n);
    free(m.p);
}

/* A MAT-file of nv variables, compressed (as the official files) or not; `endian` "IM" (little) or "MI". */
static void write_mat(const char *path, const mvar *v, int nv, int compress, const char *text, const char *endian) {
    buf b = {0};
    char head[116];
    memset(head, ' ', sizeof head);
    memcpy(head, text, strlen(text));
    put(&b, head, sizeof head);
    put(&b, (const uint8_t[10]){0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x01}, 10);
    put(&b, endian, 2);
    for (int i = 0; i < nv; i++) {
        buf m = {0};
        matrix(&m, &v[i]);
        if (compress) {
            uLongf zn = compressBound(m.n);
            uint8_t *z = malloc(zn);
            CU_ASSERT_EQUAL_FATAL(compress2(z, &zn, m.p, m.n, 6), Z_OK);
            put32(&b, 15);
            put32(&b, (uint32_t)zn);
            put(&b, z, zn);
            free(z);
        } else {
            put(&b, m.p, m.n);
        }
        free(m.p);
    }
    FILE *f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(fwrite(b.p, 1, b.n, f), b.n);
    fclose(f);
    free(b.p);
}

#define OFFICIAL "MATLAB 5.0 MAT-file, Platform: GLNXA64, Created on: Mon Dec  5 16:37:09 2011"

/* Known content: X(h, w, c, i) and the label (1..10) of image i. */
static uint8_t px(int64_t i, int64_t h, int64_t w, int64_t c) { return (uint8_t)((i * 31 + h * 7 + w * 3 + c * 101) % 256); }
static uint8_t lab(int64_t i) { return (uint8_t)(i % 10 + 1); }

typedef struct svhn_file {
    uint8_t *x;   /* column-major 32x32x3xn */
    uint8_t *y;   /* n labels */
    double *yd;   /* the same as doubles */
    int n;
} svhn_file;

static svhn_file make_content(int n) {
    svhn_file s = {malloc((size_t)n * 3072), malloc((size_t)n), malloc((size_t)n * sizeof(double)), n};
    for (int64_t i = 0; i < n; i++) {
        for (int64_t c = 0; c < 3; c++)
            for (int64_t w = 0; w < 32; w++)
                for (int64_t h = 0; h < 32; h++) s.x[h + 32 * w + 1024 * c + 3072 * i] = px(i, h, w, c);
        s.y[i] = lab(i);
        s.yd[i] = lab(i);
    }
    return s;
}
static void free_content(svhn_file *s) {
    free(s->x);
    free(s->y);
    free(s->yd);
}

/* X and y as in the official files. */
static void official_vars(const svhn_file *s, mvar v[2]) {
    v[0] = (mvar){"X", 9, 2, 0, 4, {32, 32, 3, s->n}, s->x, (uint32_t)(s->n * 3072)};
    v[1] = (mvar){"y", 6, 2, 0, 2, {s->n, 1}, s->y, (uint32_t)s->n};
}

static void write_official(const char *path, int n) {
    svhn_file s = make_content(n);
    mvar v[2];
    official_vars(&s, v);
    write_mat(path, v, 2, 1, OFFICIAL, "IM");
    free_content(&s);
}

/* The loaded data set holds image i at [i][c][h][w] and label 10 -> 0. @return the number of wrong values. */
static int check_content(const dob_dataset *d, int n) {
    int bad = d->n != n || d->k != 10 || d->x_dims[0] != 3 || d->x_dims[1] != 32 || d->x_dims[2] != 32;
    const uint8_t *x = d->x;
    for (int64_t i = 0; i < d->n && !bad; i++) {
        bad += d->label[i] != lab(i) % 10;
        for (int64_t c = 0; c < 3; c++)
            for (int64_t h = 0; h < 32; h++)
                for (int64_t w = 0; w < 32; w++) bad += x[i * 3072 + c * 1024 + h * 32 + w] != px(i, h, w, c);
    }
    return bad;
}

/* ---- tests --------------------------------------------------------------------------------------------------- */
static void test_mat_official(void) {
    write_official(tc_tmp("train_32x32.mat"), 23);
    dob_dataset d;
    TC_ASSERT_OK(dob_svhn_mat_load(tc_tmp("train_32x32.mat"), &d));
    CU_ASSERT_EQUAL(d.x_type, DOB_DT_U8);
    CU_ASSERT_EQUAL(check_content(&d, 23), 0);
    dob_dataset_free(&d);
}

/* Uncompressed, y stored as double, a numeric and a cell variable before X (skipped), y before X. */
static void test_mat_plain_and_skips(void) {
    svhn_file s = make_content(4);
    const double other[4] = {1, 2, 3, 4};
    const uint8_t junk[24] = {1, 2, 3};
    mvar v[4] = {{"other", 6, 9, 0, 2, {2, 2}, other, sizeof other},
                 {"cellvar", 1, 2, 0, 2, {1, 1}, junk, sizeof junk},
                 {"y", 6, 9, 0, 2, {1, 4}, s.yd, 4 * sizeof(double)}};
    v[3] = (mvar){"X", 9, 2, 0, 4, {32, 32, 3, 4}, s.x, 4 * 3072};
    for (int compress = 0; compress < 2; compress++) {
        write_mat(tc_tmp("p.mat"), v, 4, compress, "MATLAB 5.0 MAT-file, written by test_mat.c", "IM");
        dob_dataset d;
        TC_ASSERT_OK(dob_svhn_mat_load(tc_tmp("p.mat"), &d));
        CU_ASSERT_EQUAL(check_content(&d, 4), 0);
        dob_dataset_free(&d);
    }
    dob_mat_var got[1];
    TC_ASSERT_OK(dob_mat5_read(tc_tmp("p.mat"), 1, (const char *const[]){"other"}, got));
    CU_ASSERT(got[0].ndim == 2 && got[0].count == 4 && got[0].cls == 6 && dob_mat_var_at(&got[0], 3) == 4.0);
    dob_mat_var_free(&got[0]);
    free_content(&s);
}

/* <tmp>/d: no data_batch_0.bin, the two official files: the svhn data set reads them, and --valid splits them. */
static void test_mat_directory(void) {
    mkdir(tc_tmp("d"), 0755);
    mkdir(tc_tmp("d/svhn"), 0755);
    write_official(tc_tmp("d/svhn/train_32x32.mat"), 30);
    dob_dataset tr, va, te;
    TC_ASSERT_FAILS(dob_svhn_load(tc_tmp("d/svhn"), "test", &te), DOB_ENOENT, "test_32x32.mat: no such file");
    write_official(tc_tmp("d/svhn/test_32x32.mat"), 7);
    TC_ASSERT_OK(dob_svhn_load(tc_tmp("d/svhn"), "train", &tr));
    CU_ASSERT_EQUAL(check_content(&tr, 30), 0);
    dob_dataset_free(&tr);
    TC_ASSERT_OK(dob_data_load_split("svhn", tc_tmp("d"), NULL, "test", 0, &te));
    CU_ASSERT_EQUAL(check_content(&te, 7), 0);
    dob_dataset_free(&te);
    TC_ASSERT_OK(dob_data_load_split("svhn", tc_tmp("d"), NULL, "valid", 10, &va));
    CU_ASSERT_EQUAL(check_content(&va, 10), 0); /* v1.2: the first examples in file order */
    dob_dataset_free(&va);
    TC_ASSERT_OK(dob_data_load_split("svhn", tc_tmp("d"), NULL, "train", 10, &tr));
    CU_ASSERT(tr.n == 20 && tr.label[0] == lab(10) % 10);
    dob_dataset_free(&tr);
    mkdir(tc_tmp("none"), 0755);
    TC_ASSERT_FAILS(dob_svhn_load(tc_tmp("none"), "train", &tr), DOB_ENOENT, "train_32x32.mat and test_32x32.mat");
}

/* A file of the official layout with one thing changed. */
static void write_variant(const char *path, int n, int what) {
    svhn_file s = make_content(n);
    mvar v[2];
    official_vars(&s, v);
    double yd[3] = {1, 2, 3};
    if (what == 1) v[0].dims[2] = 1, v[0].bytes = (uint32_t)(n * 1024);          /* X 32x32x1xN */
    if (what == 2) v[1].dims[0] = n - 1, v[1].bytes = (uint32_t)(n - 1);         /* one label short */
    if (what == 3) s.y[1] = 11;                                                  /* label 11 */
    if (what == 4) yd[2] = 2.5, v[1] = (mvar){"y", 6, 9, 0, 2, {3, 1}, yd, sizeof yd}; /* label 2.5 */
    if (what == 5) v[0].flags = 0x800;                                           /* complex X */
    if (what == 6) v[0].bytes -= 8;                                              /* data shorter than dims */
    if (what == 7) v[1].name = "Y";                                              /* no y */
    if (what == 8) s.y[0] = 0;                                                   /* label 0 */
    write_mat(path, v, 2, 1, OFFICIAL, "IM");
    free_content(&s);
}

static void test_mat_errors(void) {
    dob_dataset d;
    static const struct {
        int what;
        const char *msg;
    } cases[] = {
        {1, "expected X of 32x32x3xN (N >= 1), found 32x32x1x3"},
        {2, "expected y of 3x1 (one label per image of X), found 2x1"},
        {3, "y(2): expected a label 1..10 (10 = digit 0), found 11"},
        {4, "y(3): expected a label 1..10 (10 = digit 0), found 2.5"},
        {5, "variable 'X': expected a real numeric array"},
        {6, "variable 'X': expected 9216 values of a numeric type, found type 2 with 9208 bytes"},
        {7, "expected a variable named 'y', found none"},
        {8, "y(1): expected a label 1..10 (10 = digit 0), found 0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_variant(tc_tmp("bad.mat"), 3, cases[i].what);
        TC_ASSERT_FAILS(dob_svhn_mat_load(tc_tmp("bad.mat"), &d), DOB_EFORMAT, cases[i].msg);
        CU_ASSERT_PTR_NULL(d.x);
    }
    TC_ASSERT_FAILS(dob_svhn_mat_load(tc_tmp("absent.mat"), &d), DOB_ENOENT, "absent.mat: no such file");
    write_mat(tc_tmp("bad.mat"), NULL, 0, 0, "MATLAB 7.3 MAT-file, Platform: GLNXA64, HDF5 schema 1.00", "IM");
    TC_ASSERT_FAILS(dob_svhn_mat_load(tc_tmp("bad.mat"), &d), DOB_EFORMAT, "bad.mat: a MATLAB v7.3 (HDF5-based)");
    write_mat(tc_tmp("bad.mat"), NULL, 0, 0, OFFICIAL, "MI");
    TC_ASSERT_FAILS(dob_svhn_mat_load(tc_tmp("bad.mat"), &d), DOB_EFORMAT, "a big-endian MAT-file");
    write_mat(tc_tmp("bad.mat"), NULL, 0, 0, "PK zip, not MATLAB", "IM");
    TC_ASSERT_FAILS(dob_svhn_mat_load(tc_tmp("bad.mat"), &d), DOB_EFORMAT, "bad.mat: not a MAT-file");
    FILE *f = fopen(tc_tmp("empty.mat"), "wb");
    fclose(f);
    TC_ASSERT_FAILS(dob_svhn_mat_load(tc_tmp("empty.mat"), &d), DOB_EFORMAT, "not a MAT-file");
}

/* The official file cut short (at several places), and with its compressed bytes damaged. */
static void test_mat_damaged(void) {
    write_official(tc_tmp("t.mat"), 5);
    FILE *f = fopen(tc_tmp("t.mat"), "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    uint8_t all[1 << 16];
    size_t n = fread(all, 1, sizeof all, f);
    fclose(f);
    CU_ASSERT_FATAL(n > 200 && n < sizeof all);
    dob_dataset d;
    const size_t cuts[] = {100, 131, 140, 200, n / 2, n - 9, n - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        f = fopen(tc_tmp("cut.mat"), "wb");
        fwrite(all, 1, cuts[i], f);
        fclose(f);
        dob_status st = dob_svhn_mat_load(tc_tmp("cut.mat"), &d);
        CU_ASSERT_EQUAL(st, DOB_EFORMAT);
        CU_ASSERT_PTR_NOT_NULL(strstr(dob_last_error(), "cut.mat"));
        if (st != DOB_EFORMAT) fprintf(stderr, "\n    cut at %zu: %s\n", cuts[i], dob_last_error());
    }
    for (size_t at = 150; at < 400; at += 50) { /* inside X's zlib stream */
        uint8_t save = all[at];
        all[at] ^= 0x5a;
        f = fopen(tc_tmp("z.mat"), "wb");
        fwrite(all, 1, n, f);
        fclose(f);
        all[at] = save;
        TC_ASSERT_FAILS(dob_svhn_mat_load(tc_tmp("z.mat"), &d), DOB_EFORMAT, "z.mat: ");
    }
}

static CU_TestInfo tests[] = {
    {"mat_official_layout", test_mat_official},
    {"mat_plain_and_skips", test_mat_plain_and_skips},
    {"mat_svhn_directory", test_mat_directory},
    {"mat_errors", test_mat_errors},
    {"mat_damaged", test_mat_damaged},
    CU_TEST_INFO_NULL,
};
CU_SuiteInfo mat_suite = {"mat", tc_tmp_init, tc_tmp_clean, NULL, NULL, tests};
