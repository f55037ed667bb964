/* fuzz_idx.c: libFuzzer harness for the IDX reader (io/idx.c dob_idx_read), raw and gzip.
 * Input byte 0 picks the container: bit 0 clear writes the rest as it is (raw IDX, or a .gz stream the fuzzer
 * mutates directly: seeds include real gzip files), bit 0 set gzip-compresses the rest first, so mutations of
 * the IDX header and payload also reach the reader through zlib. The reader must return a status (never crash,
 * leak or allocate more than the bytes it read justify). */
#include <zlib.h>

#include "dob/datasets.h"
#include "fuzz_util.h"

static void write_gz(const char *path, const uint8_t *data, size_t n) {
    gzFile g = gzopen(path, "wb");
    if (!g || (n && gzwrite(g, data, (unsigned)n) != (int)n) || gzclose(g) != Z_OK) {
        perror("fuzz: gzip input");
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    char path[512];
    if (data[0] & 1) {
        snprintf(path, sizeof path, "%s/in.idx.gz", fuzz_dir());
        write_gz(path, data + 1, size - 1);
    } else {
        fuzz_file("in.idx", data + 1, size - 1, path, sizeof path);
    }
    dob_idx idx;
    if (dob_idx_read(path, &idx) == DOB_OK) {
        /* touch every byte: a count that disagrees with the buffer shows up under ASan */
        unsigned s = 0;
        for (int64_t i = 0; i < idx.count; i++) s += idx.data[i];
        (void)s;
        dob_idx_free(&idx);
    }
    return 0;
}
