/* test_tolstoi.c: the Tolstoi readers (io/tolstoi.c) on generated files of both kinds DeepOBS leaves: .npy
 * arrays (numpy's own header layout, several dtypes and byte orders, versions 1.0 and 2.0), vocab.pkl pickles
 * (the exact bytes Python 3.11's pickle writes for protocols 2 and 4), and input.txt turned into the vocabulary,
 * ids and split of DeepOBS's _tolstoi_preprocess (expected values computed by that Python code on the same text);
 * the directory loader with either source; every malformed input as a status and message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dob/datasets.h"
#include "tc.h"

/* "ab ba\u00e4c\n b\u00e4a  \u00e4\u20ac!" in UTF-8, and what DeepOBS's preprocessing makes of it */
static const char TEXT[] = "ab ba\xc3\xa4" "c\n b\xc3\xa4" "a  \xc3\xa4\xe2\x82\xac!";
static const uint32_t VOCAB[8] = {0x20, 0x61, 0x62, 0xe4, 0x63, 0x0a, 0x20ac, 0x21};
static const int32_t IDS[17] = {1, 2, 0, 2, 1, 3, 4, 5, 0, 2, 3, 1, 0, 0, 3, 6, 7};
/* pickle.dumps(chars, protocol=2) and protocol=4 */
static const unsigned char PKL2[] = {
    0x80, 0x02, 0x28, 0x58, 0x01, 0x00, 0x00, 0x00, 0x20, 0x71, 0x00, 0x58, 0x01, 0x00, 0x00, 0x00, 0x61, 0x71,
    0x01, 0x58, 0x01, 0x00, 0x00, 0x00, 0x62, 0x71, 0x02, 0x58, 0x02, 0x00, 0x00, 0x00, 0xc3, 0xa4, 0x71, 0x03,
    0x58, 0x01, 0x00, 0x00, 0x00, 0x63, 0x71, 0x04, 0x58, 0x01, 0x00, 0x00, 0x00, 0x0a, 0x71, 0x05, 0x58, 0x03,
    0x00, 0x00, 0x00, 0xe2, 0x82, 0xac, 0x71, 0x06, 0x58, 0x01, 0x00, 0x00, 0x00, 0x21, 0x71, 0x07, 0x74, 0x71,
    0x08, 0x2e};
static const unsigned char PKL4[] = {
    0x80, 0x04, 0x95, 0x27, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x28, 0x8c, 0x01, 0x20, 0x94, 0x8c, 0x01,
    0x61, 0x94, 0x8c, 0x01, 0x62, 0x94, 0x8c, 0x02, 0xc3, 0xa4, 0x94, 0x8c, 0x01, 0x63, 0x94, 0x8c, 0x01, 0x0a,
    0x94, 0x8c, 0x03, 0xe2, 0x82, 0xac, 0x94, 0x8c, 0x01, 0x21, 0x94, 0x74, 0x94, 0x2e};

static char dir[64];

static void setup_dir(void) {
    snprintf(dir, sizeof dir, "/tmp/dob_tolstoi_XXXXXX");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
}

static void write_file(const char *name, const void *b, size_t n) {
    char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(fwrite(b, 1, n, f), n);
    fclose(f);
}

static void rm(const char *name) {
    char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    unlink(p);
}

/* an .npy file as numpy writes it: magic, version, header dict padded with spaces + '\n' to a multiple of 64 */
static void write_npy(const char *name, int major, const char *descr, const char *shape, const int64_t *v, int64_t n,
                      int size, int big, size_t extra) {
    char dict[256];
    int dl = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape);
    size_t pre = major == 1 ? 10 : 12, total = (pre + (size_t)dl + 1 + 63) / 64 * 64, hl = total - pre;
    size_t bytes = total + (size_t)n * (size_t)size + extra;
    unsigned char *b = calloc(bytes, 1);
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (unsigned char)major;
    for (size_t k = 0; k < pre - 8; k++) b[8 + k] = (unsigned char)(hl >> (8 * k));
    memset(b + pre, ' ', hl);
    memcpy(b + pre, dict, (size_t)dl);
    b[total - 1] = '\n';
    for (int64_t i = 0; i < n; i++)
        for (int k = 0; k < size; k++)
            b[total + (size_t)i * (size_t)size + (size_t)(big ? size - 1 - k : k)] = (unsigned char)((uint64_t)v[i] >> (8 * k));
    write_file(name, b, bytes);
    free(b);
}

static void test_npy(void) {
    setup_dir();
    int64_t v[17];
    for (int i = 0; i < 17; i++) v[i] = IDS[i];
    const struct { int major; const char *descr; int size, big; } kinds[] = {
        {1, "<i8", 8, 0}, {1, "<i4", 4, 0}, {1, ">i2", 2, 1}, {1, "|u1", 1, 0}, {2, "<u8", 8, 0}, {1, "=i4", 4, 0}};
    char p[128];
    snprintf(p, sizeof p, "%s/a.npy", dir);
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        write_npy("a.npy", kinds[k].major, kinds[k].descr, "(17,)", v, 17, kinds[k].size, kinds[k].big, 0);
        int32_t *ids;
        int64_t n;
        TC_ASSERT_OK(dob_npy_read_ids(p, &ids, &n));
        CU_ASSERT_EQUAL(n, 17);
        CU_ASSERT(n == 17 && !memcmp(ids, IDS, sizeof IDS));
        free(ids);
    }
    int32_t *ids;
    int64_t n;
    write_npy("a.npy", 1, "<i8", "(0,)", v, 0, 8, 0, 0); /* empty arrays are valid files */
    TC_ASSERT_OK(dob_npy_read_ids(p, &ids, &n));
    CU_ASSERT_EQUAL(n, 0);
    free(ids);
    write_npy("a.npy", 1, "<f4", "(17,)", v, 17, 4, 0, 0);
    TC_ASSERT_FAILS(dob_npy_read_ids(p, &ids, &n), DOB_EFORMAT, "expected an integer dtype");
    write_npy("a.npy", 1, "<i8", "(17, 1)", v, 17, 8, 0, 0);
    TC_ASSERT_FAILS(dob_npy_read_ids(p, &ids, &n), DOB_EFORMAT, "expected a 1-D array of shape (n,)");
    write_npy("a.npy", 1, "<i8", "(18,)", v, 17, 8, 0, 0);
    TC_ASSERT_FAILS(dob_npy_read_ids(p, &ids, &n), DOB_EFORMAT, "needs 144 bytes of data, the file has 136");
    write_npy("a.npy", 1, "<i8", "(17,)", v, 17, 8, 0, 3);
    TC_ASSERT_FAILS(dob_npy_read_ids(p, &ids, &n), DOB_EFORMAT, "the file has 139");
    v[4] = -3;
    write_npy("a.npy", 1, "<i8", "(17,)", v, 17, 8, 0, 0);
    TC_ASSERT_FAILS(dob_npy_read_ids(p, &ids, &n), DOB_EFORMAT, "id -1 at index 4 is outside [0, 2^31)");
    write_file("a.npy", "\x93NUMPY\x01\x00\xff\x00{", 11);
    TC_ASSERT_FAILS(dob_npy_read_ids(p, &ids, &n), DOB_EFORMAT, "runs past the end of the file");
    /* a header that ends inside the dtype string (fuzz_tolstoi found the reader reading past it) */
    write_file("a.npy", "\x93NUMPY\x01\x00\x32\x00{'fortran_order': False, 'shape': (8,), 'descr': '", 60);
    TC_ASSERT_FAILS(dob_npy_read_ids(p, &ids, &n), DOB_EFORMAT, "expected an integer dtype");
    write_file("a.npy", "PK\x03\x04 not numpy", 15);
    TC_ASSERT_FAILS(dob_npy_read_ids(p, &ids, &n), DOB_EFORMAT, "not a NumPy .npy file");
    write_file("a.npy", "\x93NUMPY\x07\x00\x00\x00", 10);
    TC_ASSERT_FAILS(dob_npy_read_ids(p, &ids, &n), DOB_EFORMAT, "format version 7.0");
    rm("a.npy");
    TC_ASSERT_FAILS(dob_npy_read_ids(p, &ids, &n), DOB_ENOENT, "a.npy: no such file");
    rmdir(dir);
}

static void test_pkl(void) {
    setup_dir();
    char p[128];
    snprintf(p, sizeof p, "%s/vocab.pkl", dir);
    uint32_t *v;
    int64_t n;
    const unsigned char *pk[2] = {PKL2, PKL4};
    const size_t pn[2] = {sizeof PKL2, sizeof PKL4};
    for (int k = 0; k < 2; k++) {
        write_file("vocab.pkl", pk[k], pn[k]);
        TC_ASSERT_OK(dob_pkl_read_vocab(p, &v, &n));
        CU_ASSERT(n == 8 && !memcmp(v, VOCAB, sizeof VOCAB));
        free(v);
    }
    write_file("vocab.pkl", PKL4, sizeof PKL4 - 1);
    TC_ASSERT_FAILS(dob_pkl_read_vocab(p, &v, &n), DOB_EFORMAT, "pickle ends without STOP");
    unsigned char bad[sizeof PKL4];
    memcpy(bad, PKL4, sizeof bad);
    bad[13] = 2; /* first string claims 2 bytes: " \x94" is not one character */
    write_file("vocab.pkl", bad, sizeof bad);
    TC_ASSERT_FAILS(dob_pkl_read_vocab(p, &v, &n), DOB_EFORMAT, "is not one UTF-8 character");
    memcpy(bad, PKL4, sizeof bad);
    bad[14] = 'a'; /* ' ' -> 'a': 'a' twice */
    write_file("vocab.pkl", bad, sizeof bad);
    TC_ASSERT_FAILS(dob_pkl_read_vocab(p, &v, &n), DOB_EFORMAT, "U+0061 appears twice");
    write_file("vocab.pkl", "(lp0\nVa\n.", 9); /* protocol 0 (Python 2 text pickle) */
    TC_ASSERT_FAILS(dob_pkl_read_vocab(p, &v, &n), DOB_EFORMAT, "expected a binary pickle (protocol 2 to 5)");
    write_file("vocab.pkl", "\x80\x04}\x94.", 5); /* a dict */
    TC_ASSERT_FAILS(dob_pkl_read_vocab(p, &v, &n), DOB_EFORMAT, "pickle opcode 0x7d at byte 2");
    rm("vocab.pkl");
    rmdir(dir);
}

static void test_preprocess(void) {
    uint32_t *v;
    int32_t *ids;
    int64_t nv, n, nt;
    TC_ASSERT_OK(dob_tolstoi_preprocess(TEXT, strlen(TEXT), &v, &nv, &ids, &n, &nt));
    CU_ASSERT(nv == 8 && !memcmp(v, VOCAB, sizeof VOCAB));
    CU_ASSERT(n == 17 && !memcmp(ids, IDS, sizeof IDS));
    CU_ASSERT_EQUAL(nt, 14); /* int(np.ceil(0.8 * 17)) */
    free(v);
    free(ids);
    /* War and Peace's size from DeepOBS: 3 266 185 characters -> 2 612 948 train */
    char *big = malloc(3266185);
    for (int i = 0; i < 3266185; i++) big[i] = (char)('a' + i % 26);
    TC_ASSERT_OK(dob_tolstoi_preprocess(big, 3266185, &v, &nv, &ids, &n, &nt));
    CU_ASSERT(nv == 26 && n == 3266185 && nt == 2612948);
    CU_ASSERT(v[0] == 'a' && v[25] == 'z' && ids[3266184] == 3266184 % 26); /* ties: first occurrence first */
    free(v);
    free(ids);
    free(big);
    TC_ASSERT_FAILS(dob_tolstoi_preprocess("ab\xff" "c", 4, &v, &nv, &ids, &n, &nt), DOB_EFORMAT,
                    "invalid UTF-8 at byte 2");
    TC_ASSERT_FAILS(dob_tolstoi_preprocess("a\xc0\x80", 3, &v, &nv, &ids, &n, &nt), DOB_EFORMAT,
                    "invalid UTF-8 at byte 1"); /* overlong NUL */
    TC_ASSERT_FAILS(dob_tolstoi_preprocess("a", 1, &v, &nv, &ids, &n, &nt), DOB_EFORMAT, "too few");
}

/* The directory loader: input.txt and the prepared files give the same splits. */
static void test_load_dir(void) {
    setup_dir();
    dob_tolstoi t;
    TC_ASSERT_FAILS(dob_tolstoi_load(dir, &t), DOB_ENOENT, "neither train.npy/test.npy nor input.txt");
    write_file("input.txt", TEXT, strlen(TEXT));
    TC_ASSERT_OK(dob_tolstoi_load(dir, &t));
    CU_ASSERT(t.n_train == 14 && t.n_test == 3 && t.n_vocab == 8);
    CU_ASSERT(!memcmp(t.train, IDS, 14 * sizeof(int32_t)) && !memcmp(t.test, IDS + 14, 3 * sizeof(int32_t)));
    dob_tolstoi_free(&t);
    int64_t v[17];
    for (int i = 0; i < 17; i++) v[i] = IDS[i];
    write_npy("train.npy", 1, "<i8", "(14,)", v, 14, 8, 0, 0);
    write_npy("test.npy", 1, "<i8", "(3,)", v + 14, 3, 8, 0, 0);
    TC_ASSERT_OK(dob_tolstoi_load(dir, &t)); /* no vocab.pkl: the ids say 8 characters */
    CU_ASSERT(t.n_train == 14 && t.n_test == 3 && t.n_vocab == 8 && t.vocab == NULL);
    CU_ASSERT(!memcmp(t.test, IDS + 14, 3 * sizeof(int32_t)));
    dob_tolstoi_free(&t);
    write_file("vocab.pkl", PKL4, sizeof PKL4 - 3 * 3 - 1); /* cut: ends without STOP */
    TC_ASSERT_FAILS(dob_tolstoi_load(dir, &t), DOB_EFORMAT, "vocab.pkl: pickle ends without STOP");
    write_file("vocab.pkl", PKL4, sizeof PKL4);
    TC_ASSERT_OK(dob_tolstoi_load(dir, &t));
    CU_ASSERT(t.n_vocab == 8 && t.vocab && t.vocab[6] == 0x20ac);
    dob_tolstoi_free(&t);
    v[15] = 9; /* test id 9 >= 8 characters */
    write_npy("test.npy", 1, "<i8", "(3,)", v + 14, 3, 8, 0, 0);
    TC_ASSERT_FAILS(dob_tolstoi_load(dir, &t), DOB_EFORMAT, "test id 9 at index 1, but the vocabulary has 8");
    const char *files[] = {"input.txt", "train.npy", "test.npy", "vocab.pkl"};
    for (int i = 0; i < 4; i++) rm(files[i]);
    rmdir(dir);
}

static CU_TestInfo tests[] = {
    {"npy", test_npy},
    {"pkl", test_pkl},
    {"preprocess", test_preprocess},
    {"load_dir", test_load_dir},
    CU_TEST_INFO_NULL,
};
CU_SuiteInfo tolstoi_suite = {"tolstoi", NULL, NULL, NULL, NULL, tests};
