/* fuzz_json.c: libFuzzer harness for the readers of `dob analyze` that take untrusted text (issue 18). Byte 0
 * picks the reader, the rest is its input: 0 dob_an_json_parse (one DeepOBS JSON run, v1.1 or v1.2, NaN literals
 * rewritten before jansson), 1 dob_an_thresholds_read_json (DeepOBS's convergence_performance.json, read from a
 * file), 2 dob_an_baselines_parse and 3 dob_an_thresholds_parse_csv (the reference CSV files). Every outcome must
 * be a status; a parsed run is freed. Seeds: tests/fuzz/corpus/json (DeepOBS 1.1/1.2 runs as DeepOBS writes them,
 * and the shipped CSV files). */
#include "dob/analyze.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const char *text = (const char *)data + 1;
    const size_t n = size - 1;
    char path[512];
    switch (data[0] % 4) {
    case 0: {
        dob_an_run r;
        if (dob_an_json_parse(text, n, "fuzz.json", &r) == DOB_OK) dob_an_run_free(&r);
        break;
    }
    case 1: {
        dob_an_thresholds t = {0};
        fuzz_file("conv.json", data + 1, n, path, sizeof path);
        (void)dob_an_thresholds_read_json(path, &t);
        dob_an_thresholds_free(&t);
        break;
    }
    default: { /* the CSV parsers take NUL-terminated text */
        char *s = malloc(n + 1);
        if (!s) return 0;
        memcpy(s, text, n);
        s[n] = '\0';
        if (data[0] % 4 == 2) {
            dob_an_baselines b;
            if (dob_an_baselines_parse(s, "fuzz.csv", &b) == DOB_OK) dob_an_baselines_free(&b);
        } else {
            dob_an_thresholds t = {0};
            (void)dob_an_thresholds_parse_csv(s, "fuzz.csv", &t);
            dob_an_thresholds_free(&t);
        }
        free(s);
    }
    }
    return 0;
}
