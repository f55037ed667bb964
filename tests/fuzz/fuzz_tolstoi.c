/* fuzz_tolstoi.c: libFuzzer harness for the Tolstoi readers (io/tolstoi.c): input byte 0 picks the reader, the
 * rest is the file: bit 0-1 = 0 train.npy through dob_npy_read_ids, 1 vocab.pkl through dob_pkl_read_vocab, 2
 * input.txt through dob_tolstoi_preprocess (in memory), 3 a whole directory (the bytes as train.npy, a valid
 * test.npy, and the bytes again as vocab.pkl) through dob_tolstoi_load. Every outcome must be a status: never a
 * crash, an out-of-bounds read or a leak. */
#include "dob/datasets.h"
#include "fuzz_util.h"

/* np.save(np.array([0, 1], dtype=np.int64)) as numpy 1.24 writes it */
static void valid_test_npy(char *path, size_t cap) {
    uint8_t b[144];
    memset(b, ' ', sizeof b);
    memcpy(b, "\x93NUMPY\x01\x00\x76\x00", 10);
    static const char dict[] = "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }";
    memcpy(b + 10, dict, sizeof dict - 1);
    b[127] = '\n';
    memset(b + 128, 0, 16);
    b[136] = 1;
    fuzz_file("test.npy", b, sizeof b, path, cap);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    char path[512];
    const uint8_t *d = data + 1;
    const size_t n = size - 1;
    switch (data[0] & 3) {
    case 0: {
        int32_t *ids;
        int64_t k;
        if (dob_npy_read_ids(fuzz_file("train.npy", d, n, path, sizeof path), &ids, &k) == DOB_OK) {
            int64_t s = 0;
            for (int64_t i = 0; i < k; i++) s += ids[i];
            (void)s;
            free(ids);
        }
        break;
    }
    case 1: {
        uint32_t *v;
        int64_t k;
        if (dob_pkl_read_vocab(fuzz_file("vocab.pkl", d, n, path, sizeof path), &v, &k) == DOB_OK) free(v);
        break;
    }
    case 2: {
        uint32_t *v;
        int32_t *ids;
        int64_t nv, k, nt;
        if (dob_tolstoi_preprocess((const char *)d, n, &v, &nv, &ids, &k, &nt) == DOB_OK) {
            free(v);
            free(ids);
        }
        break;
    }
    default: {
        dob_tolstoi t;
        fuzz_file("train.npy", d, n, path, sizeof path);
        fuzz_file("vocab.pkl", d, n, path, sizeof path);
        valid_test_npy(path, sizeof path);
        if (dob_tolstoi_load(fuzz_dir(), &t) == DOB_OK) dob_tolstoi_free(&t);
        break;
    }
    }
    return 0;
}
