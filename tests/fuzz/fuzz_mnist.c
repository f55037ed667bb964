/* fuzz_mnist.c: libFuzzer harness for the MNIST-format split loader (io/idx.c dob_mnist_load): images and labels
 * files and the checks across them (shapes, counts, labels 0..9) into a dob_dataset.
 * Input: a 4-byte little-endian length L, then L bytes of the images file, then the labels file (both raw: the
 * gzip path is fuzz_idx's). */
#include "dob/data.h"
#include "dob/datasets.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 4) return 0;
    size_t l = (size_t)data[0] | (size_t)data[1] << 8 | (size_t)data[2] << 16 | (size_t)data[3] << 24;
    data += 4;
    size -= 4;
    if (l > size) l = size;
    char p1[512], p2[512];
    fuzz_file("train-images-idx3-ubyte", data, l, p1, sizeof p1);
    fuzz_file("train-labels-idx1-ubyte", data + l, size - l, p2, sizeof p2);
    dob_dataset d;
    if (dob_mnist_load(fuzz_dir(), "train", &d) == DOB_OK) {
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
