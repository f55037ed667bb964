/* fs.c: mkdir -p, existence and same-file checks and directory names, with messages that name the path and the
 * reason. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "dob/io.h"

int dob_io_exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}

dob_status dob_io_mkdirs(const char *path) {
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0) return DOB_OK;
    if (n >= sizeof buf) return DOB_FAIL(DOB_EINVAL, "path too long: %s", path);
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0') continue;
        char c = buf[i];
        buf[i] = '\0';
        struct stat sb;
        if (stat(buf, &sb) != 0) {
            if (mkdir(buf, 0775) != 0 && errno != EEXIST)
                return DOB_FAIL(DOB_EIO, "cannot create directory '%s': %s", buf, strerror(errno));
        } else if (!S_ISDIR(sb.st_mode)) {
            return DOB_FAIL(DOB_EIO, "'%s' exists and is not a directory", buf);
        }
        buf[i] = c;
    }
    return DOB_OK;
}

dob_status dob_io_dirname(const char *path, char *dir, size_t cap) {
    const char *slash = strrchr(path, '/');
    size_t n = !slash ? 0 : slash == path ? 1 : (size_t)(slash - path);
    if ((n ? n : 1) >= cap) return DOB_FAIL(DOB_EINVAL, "path too long: %s", path);
    if (n)
        memcpy(dir, path, n);
    else
        dir[n++] = '.';
    dir[n] = '\0';
    return DOB_OK;
}

int dob_io_same_file(const char *a, const char *b) {
    if (!strcmp(a, b)) return 1;
    char da[PATH_MAX], db[PATH_MAX], ra[PATH_MAX], rb[PATH_MAX];
    if (dob_io_dirname(a, da, sizeof da) != DOB_OK || dob_io_dirname(b, db, sizeof db) != DOB_OK) return 0;
    if (!realpath(da, ra) || !realpath(db, rb)) return 0;
    const char *sa = strrchr(a, '/'), *sb = strrchr(b, '/');
    return !strcmp(ra, rb) && !strcmp(sa ? sa + 1 : a, sb ? sb + 1 : b);
}

dob_status dob_io_check_dir_of(const char *path, const char *what, double need_bytes) {
    char dir[4096];
    dob_status st = dob_io_dirname(path, dir, sizeof dir);
    if (st != DOB_OK) return st;
    struct stat sb;
    struct statvfs vfs;
    if (stat(dir, &sb) != 0)
        return DOB_FAIL(errno == ENOENT ? DOB_ENOENT : DOB_EIO, "directory '%s' of the %s '%s' %s: %s", dir, what, path,
                        errno == ENOENT ? "does not exist" : "cannot be accessed", strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return DOB_FAIL(DOB_ENOENT, "'%s' (the directory of the %s '%s') is not a directory", dir, what, path);
    if (access(dir, W_OK | X_OK) != 0)
        return DOB_FAIL(DOB_EIO, "directory '%s' is not writable (%s): cannot create the %s '%s'", dir,
                        strerror(errno), what, path);
    /* a full disk is refused here, cleanly: HDF5 1.10 cannot close a file whose writes failed */
    if (need_bytes > 0 && statvfs(dir, &vfs) == 0 && (double)vfs.f_bavail * (double)vfs.f_frsize < need_bytes) {
        if (vfs.f_blocks == 0) /* /proc, /sys: no storage at all, not "not enough free space" (issue 14) */
            return DOB_FAIL(DOB_EIO, "directory '%s' is on a virtual file system without storage (like /proc or "
                                     "/sys): it cannot hold the %s '%s'",
                            dir, what, path);
        return DOB_FAIL(DOB_EIO, "not enough free space in '%s' for the %s '%s': it needs about %.1f MB, %.1f MB are "
                                 "free",
                        dir, what, path, need_bytes / 1e6, (double)vfs.f_bavail * (double)vfs.f_frsize / 1e6);
    }
    return DOB_OK;
}

double dob_io_mem_available(void) {
    const char *cap = getenv("DOB_MEM_AVAILABLE_MB"); /* a share of a node smaller than the kernel's figure */
    if (cap && *cap) return atof(cap) * 1048576.0;
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    double kb = 0.0;
    if (!f) return 0.0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %lf kB", &kb) == 1) break;
    fclose(f);
    return kb * 1024.0;
}
