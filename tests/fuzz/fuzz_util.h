/* fuzz_util.h: shared by the libFuzzer harnesses of tests/fuzz/. dob's readers take paths, so each input is
 * written to a file in a private directory on tmpfs (/dev/shm when present) and read back through the real
 * reader: the harness exercises exactly the code `dob` runs on an untrusted file. */
#ifndef DOB_FUZZ_UTIL_H
#define DOB_FUZZ_UTIL_H

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int rm_one_(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

/* rm -rf path (no fork per input: libFuzzer runs thousands a second). */
static void fuzz_rm_tree(const char *path) {
    if (access(path, F_OK) == 0 && nftw(path, rm_one_, 16, FTW_DEPTH | FTW_PHYS) != 0) {
        perror("fuzz: remove");
        abort();
    }
}

/* A private directory, made once per process (removed by fuzz_cleanup at exit). */
static char fuzz_dir_[256];

static void fuzz_cleanup_(void) {
    if (fuzz_dir_[0]) fuzz_rm_tree(fuzz_dir_);
}

static const char *fuzz_dir(void) {
    if (fuzz_dir_[0]) return fuzz_dir_;
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(fuzz_dir_, sizeof fuzz_dir_, "%s/dob-fuzz-XXXXXX", base);
    if (!mkdtemp(fuzz_dir_)) {
        perror("fuzz: mkdtemp");
        abort();
    }
    atexit(fuzz_cleanup_);
    return fuzz_dir_;
}

/* Write n bytes to <fuzz_dir>/name; returns the path (static storage per name slot). */
static const char *fuzz_file(const char *name, const uint8_t *data, size_t n, char *path, size_t cap) {
    snprintf(path, cap, "%s/%s", fuzz_dir(), name);
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0) {
        perror("fuzz: write input");
        abort();
    }
    return path;
}

#endif
