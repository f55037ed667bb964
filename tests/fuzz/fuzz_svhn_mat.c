/* fuzz_svhn_mat.c: libFuzzer harness for the MATLAB level-5 reader (io/mat5.c) and SVHN's official .mat files
 * (io/svhn.c): header, element tags (small and normal), miCOMPRESSED streams inflated in chunks, the miMATRIX
 * sub-elements, skipped variables, then X/y shapes, labels and pixels into a dob_dataset.
 * Input byte 0: bit 0 reads the rest as <dir>/train_32x32.mat through dob_svhn_load (the path dob run takes);
 * otherwise the rest is read with dob_mat5_read for the variables "X" and "y" and every value is visited. */
#include "dob/data.h"
#include "dob/datasets.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const int svhn = data[0] & 1;
    data++, size--;
    char p[512], dir[512];
    snprintf(dir, sizeof dir, "%s/svhn", fuzz_dir());
    fuzz_rm_tree(dir);
    if (mkdir(dir, 0700) != 0) abort();
    fuzz_file("svhn/train_32x32.mat", data, size, p, sizeof p);
    double s = 0;
    if (svhn) {
        dob_dataset d;
        if (dob_svhn_load(dir, "train", &d) == DOB_OK) {
            const uint8_t *x = d.x;
            for (int64_t i = 0; i < d.n * dob_dataset_example_size(&d); i++) s += x[i];
            for (int64_t i = 0; i < d.n; i++) s += d.label[i];
            dob_dataset_free(&d);
        }
    } else {
        dob_mat_var v[2];
        if (dob_mat5_read(p, 2, (const char *const[]){"X", "y"}, v) == DOB_OK) {
            for (int k = 0; k < 2; k++) {
                for (size_t i = 0; i < v[k].count; i++) s += dob_mat_var_at(&v[k], i);
                dob_mat_var_free(&v[k]);
            }
        }
    }
    (void)s;
    return 0;
}
