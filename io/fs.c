/* fs.c: mkdir -p and existence checks, with messages that name the path and the reason. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

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
