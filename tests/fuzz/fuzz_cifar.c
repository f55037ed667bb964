/* fuzz_cifar.c: libFuzzer harness for the CIFAR-10 / CIFAR-100 binary readers (io/cifar.c): record sizes,
 * counts across the five CIFAR-10 train files, labels, into a dob_dataset.
 * Input byte 0: bit 0 CIFAR-100 (else CIFAR-10), bit 1 the train split (else test), bit 2 fix_offset (CIFAR-100).
 * The rest is the split's file; CIFAR-10 train cuts it into five consecutive parts, data_batch_1..5.bin. */
#include "dob/data.h"
#include "dob/datasets.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const int c100 = data[0] & 1, train = (data[0] >> 1) & 1, fix = (data[0] >> 2) & 1;
    data++, size--;
    char p[512], dir[512];
    snprintf(dir, sizeof dir, "%s/%s", fuzz_dir(), c100 ? "c100" : "c10");
    fuzz_rm_tree(dir);
    if (mkdir(dir, 0700) != 0) abort();
    if (c100) {
        fuzz_file(train ? "c100/train.bin" : "c100/test.bin", data, size, p, sizeof p);
    } else if (!train) {
        fuzz_file("c10/test_batch.bin", data, size, p, sizeof p);
    } else {
        size_t part = size / 5;
        for (int i = 0; i < 5; i++) {
            char name[64];
            snprintf(name, sizeof name, "c10/data_batch_%d.bin", i + 1);
            fuzz_file(name, data + part * (size_t)i, i < 4 ? part : size - 4 * part, p, sizeof p);
        }
    }
    dob_dataset d;
    dob_status st = c100 ? dob_cifar100_load(dir, train ? "train" : "test", fix, &d)
                         : dob_cifar10_load(dir, train ? "train" : "test", &d);
    if (st == DOB_OK) {
        double s = 0;
        dob_dataset f; /* every value as a batch gathers it */
        if (dob_dataset_to_f32(&d, 0, d.n, &f) == DOB_OK) {
            const float *fx = f.x;
            for (int64_t i = 0; i < f.n * dob_dataset_example_size(&f); i++) s += fx[i];
            for (int64_t i = 0; i < f.n * f.k; i++) s += f.y[i];
            dob_dataset_free(&f);
        }
        (void)s;
        dob_dataset_free(&d);
    }
    return 0;
}
