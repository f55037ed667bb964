/* test_main.c: one CUnit runner for every suite. `dob_tests [-s suite] [-t test] [-l] [--isa NAME]`.
 * Exit code: the number of failed asserts + failed tests (0 = all passed), never CUnit's framework status.
 * --isa NAME (with ONEDNN_MAX_CPU_ISA=NAME in the environment, as the CTest label `isa` sets it) first checks that
 * oneDNN really runs at that ISA: on a CPU below it the run is skipped with exit code 77 (CTest's skip code), so
 * one machine tests every ISA it can emulate downwards and says which it could not. At the CPU's own ISA the run is
 * skipped too: the unit_ tests ran the same suites there already (unit and isa label run the same binary). */
#include <CUnit/Basic.h>
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "suites.h"

static const CU_SuiteInfo *suite_list[] = {
#define X(name) &name##_suite,
    DOB_SUITES
#undef X
};
#define N_SUITES (sizeof suite_list / sizeof suite_list[0])
static CU_SuiteInfo all_suites[N_SUITES + 1];

/* The ISA oneDNN runs at on this CPU without ONEDNN_MAX_CPU_ISA (oneDNN reads the variable once per process, so
 * this asks a child, `dob_tests --native-isa`, started without it); -1 if that fails (then nothing is skipped). */
static long native_isa(void) {
    char exe[4096], cmd[4200];
    long isa = -1;
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return -1;
    exe[n] = '\0';
    if (strchr(exe, '\'')) return -1;
    snprintf(cmd, sizeof cmd, "env -u ONEDNN_MAX_CPU_ISA '%s' --native-isa", exe);
    FILE *f = popen(cmd, "r");
    if (!f) return -1;
    if (fscanf(f, "%ld", &isa) != 1) isa = -1;
    return pclose(f) == 0 ? isa : -1;
}

/* 1 if oneDNN's effective ISA is NAME (ONEDNN_MAX_CPU_ISA caps it; a CPU below NAME keeps its own) and NAME is
 * not the CPU's own ISA (which the unit_ tests cover). */
static int isa_is_effective(const char *name) {
    static const struct {
        const char *name;
        dnnl_cpu_isa_t isa;
    } isas[] = {{"AVX2", dnnl_cpu_isa_avx2},
                {"AVX512_CORE", dnnl_cpu_isa_avx512_core},
                {"AVX512_CORE_VNNI", dnnl_cpu_isa_avx512_core_vnni},
                {"AVX512_CORE_BF16", dnnl_cpu_isa_avx512_core_bf16},
                {"AVX512_CORE_AMX", dnnl_cpu_isa_avx512_core_amx}};
    dnnl_cpu_isa_t have = dnnl_get_effective_cpu_isa();
    for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++)
        if (!strcmp(isas[i].name, name)) {
            if (have == isas[i].isa && native_isa() == (long)have) {
                printf("skipped: %s is this CPU's own ISA, where the unit_ tests ran these suites\n", name);
                return 0;
            }
            if (have == isas[i].isa) {
                printf("oneDNN ISA: %s\n", dnnl_cpu_isa2str(have));
                return 1;
            }
            printf("skipped: this CPU runs oneDNN at %s, below %s\n", dnnl_cpu_isa2str(have), name);
            return 0;
        }
    printf("skipped: unknown ISA name %s\n", name);
    return 0;
}

int main(int argc, char **argv) {
    for (size_t i = 0; i < N_SUITES; i++) all_suites[i] = *suite_list[i];
    all_suites[N_SUITES] = (CU_SuiteInfo)CU_SUITE_INFO_NULL;
    const char *suite = NULL, *test = NULL, *isa = NULL;
    int list = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-s") && i + 1 < argc) suite = argv[++i];
        else if (!strcmp(argv[i], "--isa") && i + 1 < argc) isa = argv[++i];
        else if (!strcmp(argv[i], "-t") && i + 1 < argc) test = argv[++i];
        else if (!strcmp(argv[i], "-l")) list = 1;
        else if (!strcmp(argv[i], "--native-isa")) return printf("%ld\n", (long)dnnl_get_effective_cpu_isa()) < 0;
        else {
            fprintf(stderr, "usage: %s [-s suite] [-t test] [-l] [--isa NAME] [--native-isa]\n", argv[0]);
            return 2;
        }
    }
    if (list) {
        for (CU_SuiteInfo *s = all_suites; s->pName; s++) printf("%s\n", s->pName);
        return 0;
    }
    if (isa && !isa_is_effective(isa)) return 77;
    if (CU_initialize_registry() != CUE_SUCCESS) return 1;
    if (CU_register_suites(all_suites) != CUE_SUCCESS) {
        fprintf(stderr, "cannot register suites: %s\n", CU_get_error_msg());
        return 1;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    int found = 1;
    if (suite) {
        CU_pSuite s = CU_get_suite(suite);
        if (!s) {
            fprintf(stderr, "no suite '%s' (-l lists them)\n", suite);
            found = 0;
        } else if (test) {
            CU_pTest t = CU_get_test(s, test);
            if (!t) {
                fprintf(stderr, "no test '%s' in suite '%s'\n", test, suite);
                found = 0;
            } else
                CU_basic_run_test(s, t);
        } else
            CU_basic_run_suite(s);
    } else
        CU_basic_run_tests();
    unsigned fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    if (!found) return 2;
    return fails > 125 ? 125 : (int)fails;
}
