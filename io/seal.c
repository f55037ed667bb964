/* seal.c: CRC-32 checksums of dob's HDF5 files in their user block (format in seal.h).
 *
 * Invariants: verification uses read(2) only and bounds every offset by the file size before reading, so any
 * byte sequence is answered with a status; sealing runs on a closed file that this process just wrote (HDF5
 * lists the datasets and their raw-data addresses), and writes the block with one pwrite + fsync.
 * An open file (a sweep being written, or one whose writer was killed) has no checksums yet: before dob's
 * reader gives it to HDF5, a child process reads every object of it with HDF5 under a memory and time limit, so
 * a damaged one is refused with a message instead of crashing or hanging dob (HDF5 1.10's parser is not robust
 * against damaged metadata: fuzzing found a heap overread, a hang and 12 GB allocations in it). */
#include "seal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "h5util.h"

#define SEAL_MAGIC "dob-seal 1\n"
#define UB_MIN 4096u
#define UB_MAX ((hsize_t)1 << 30)
#define LINE_BYTES 112 /* "ds <20> <20> <8> <name up to ~60>\n" */
static const unsigned char hdf5_sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

hsize_t dob_seal_ub_size(long long n_datasets) {
    hsize_t need = 512 + (hsize_t)(n_datasets < 0 ? 0 : n_datasets) * LINE_BYTES, ub = UB_MIN;
    while (ub < need && ub < UB_MAX) ub *= 2;
    return ub;
}

/* CRC-32 of bytes [off, off + len) of fd; DOB_EIO on a read error, DOB_EFORMAT if the file ends first. */
static dob_status crc_range(int fd, const char *path, uint64_t off, uint64_t len, uint32_t *crc) {
    static unsigned char buf[1 << 16];
    uLong c = crc32(0L, Z_NULL, 0);
    while (len > 0) {
        size_t n = len < sizeof buf ? (size_t)len : sizeof buf;
        ssize_t got = pread(fd, buf, n, (off_t)off);
        if (got < 0) return DOB_FAIL(DOB_EIO, "'%s': read error at byte %" PRIu64 ": %s", path, off, strerror(errno));
        if (got == 0) return DOB_FAIL(DOB_EFORMAT, "'%s' ends at byte %" PRIu64 " (truncated)", path, off);
        c = crc32(c, buf, (uInt)got);
        off += (uint64_t)got;
        len -= (uint64_t)got;
    }
    *crc = (uint32_t)c;
    return DOB_OK;
}

static dob_status write_block(const char *path, char *text, size_t len, hsize_t ub) {
    uint32_t c = (uint32_t)crc32(crc32(0L, Z_NULL, 0), (const Bytef *)text, (uInt)len);
    int n = snprintf(text + len, (size_t)ub - len, "end %08" PRIx32 "\n", c);
    if (n < 0 || (size_t)n >= (size_t)ub - len)
        return DOB_FAIL(DOB_EINTERNAL, "'%s': the checksum table needs more than the %llu-byte user block", path,
                        (unsigned long long)ub);
    memset(text + len + (size_t)n, 0, (size_t)ub - len - (size_t)n);
    int fd = open(path, O_WRONLY);
    if (fd < 0) return DOB_FAIL(DOB_EIO, "cannot open '%s' to write its checksums: %s", path, strerror(errno));
    errno = 0;
    ssize_t w = pwrite(fd, text, (size_t)ub, 0);
    int e = errno;
    if (w == (ssize_t)ub && fsync(fd) != 0) w = -1, e = errno;
    close(fd);
    if (w != (ssize_t)ub)
        return DOB_FAIL(DOB_EIO, "cannot write the checksums of '%s': %s", path,
                        w >= 0 ? "short write (disk full?)" : strerror(e));
    return DOB_OK;
}

dob_status dob_seal_mark_open(const char *path, hsize_t ub) {
    char *t = calloc(1, (size_t)ub);
    if (!t) return DOB_FAIL(DOB_ENOMEM, "out of memory");
    int n = snprintf(t, (size_t)ub, SEAL_MAGIC "state open\nub %llu\n", (unsigned long long)ub);
    dob_status st = write_block(path, t, (size_t)n, ub);
    free(t);
    return st;
}

/* ---- sealing ------------------------------------------------------------------------------------------- */
typedef struct ds_entry {
    char name[256];
    haddr_t off;
    hsize_t len;
} ds_entry;

typedef struct ds_list {
    ds_entry *v;
    size_t n, cap;
    dob_status st;
} ds_list;

static herr_t visit_cb(hid_t obj, const char *name, const H5O_info_t *info, void *data) {
    ds_list *l = data;
    if (info->type != H5O_TYPE_DATASET) return 0;
    hid_t d = H5Dopen2(obj, name, H5P_DEFAULT);
    if (d < 0) {
        l->st = dob_h5_fail_at(__FILE__, __LINE__, "open dataset /%s to checksum it", name);
        return -1;
    }
    haddr_t off = H5Dget_offset(d);
    hsize_t len = H5Dget_storage_size(d);
    H5Dclose(d);
    if (off == HADDR_UNDEF || len == 0) return 0; /* no raw data of its own: covered by the file checksum */
    if (l->n == l->cap) {
        size_t nc = l->cap ? 2 * l->cap : 64;
        ds_entry *p = realloc(l->v, nc * sizeof *p);
        if (!p) {
            l->st = DOB_FAIL(DOB_ENOMEM, "out of memory");
            return -1;
        }
        l->v = p, l->cap = nc;
    }
    snprintf(l->v[l->n].name, sizeof l->v[l->n].name, "/%s", name);
    l->v[l->n].off = off;
    l->v[l->n].len = len;
    l->n++;
    return 0;
}

/* Every contiguous dataset of the closed file path and its user block size. */
static dob_status list_datasets(const char *path, ds_list *l, hsize_t *ub) {
    dob_status st = DOB_OK;
    hid_t f = -1, fcpl = -1;
    DOB_H5(f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT), "reopen '%s' to checksum it", path);
    DOB_H5(fcpl = H5Fget_create_plist(f), "creation properties of '%s'", path);
    DOB_H5(H5Pget_userblock(fcpl, ub), "user block of '%s'", path);
    if (*ub > 0 && H5Ovisit2(f, H5_INDEX_NAME, H5_ITER_INC, visit_cb, l, H5O_INFO_BASIC) < 0)
        st = l->st != DOB_OK ? l->st : dob_h5_fail_at(__FILE__, __LINE__, "list the datasets of '%s'", path);
fail:
    if (fcpl >= 0) H5Pclose(fcpl);
    if (f >= 0) H5Fclose(f);
    return st;
}

dob_status dob_seal_file(const char *path) {
    ds_list l = {0};
    hsize_t ub = 0;
    char *t = NULL;
    int fd = -1;
    dob_status st = list_datasets(path, &l, &ub);
    if (st != DOB_OK || ub == 0) goto done;
    struct stat sb;
    if ((fd = open(path, O_RDONLY)) < 0 || fstat(fd, &sb) != 0) {
        st = DOB_FAIL(DOB_EIO, "cannot read '%s' to checksum it: %s", path, strerror(errno));
        goto done;
    }
    if (!(t = calloc(1, (size_t)ub))) {
        st = DOB_FAIL(DOB_ENOMEM, "out of memory");
        goto done;
    }
    uint32_t c = 0;
    if ((st = crc_range(fd, path, ub, (uint64_t)sb.st_size - ub, &c)) != DOB_OK) goto done;
    size_t len = (size_t)snprintf(t, (size_t)ub, SEAL_MAGIC "state sealed\nub %llu\nfile %llu %llu %08" PRIx32 "\n",
                                  (unsigned long long)ub, (unsigned long long)ub, (unsigned long long)sb.st_size, c);
    for (size_t i = 0; i < l.n; i++) {
        if ((st = crc_range(fd, path, l.v[i].off, l.v[i].len, &c)) != DOB_OK) goto done;
        int n = snprintf(t + len, (size_t)ub - len, "ds %llu %llu %08" PRIx32 " %s\n", (unsigned long long)l.v[i].off,
                         (unsigned long long)l.v[i].len, c, l.v[i].name);
        if (n < 0 || (size_t)n >= (size_t)ub - len) {
            st = DOB_FAIL(DOB_EINTERNAL, "'%s': %zu datasets do not fit the %llu-byte checksum block", path, l.n,
                          (unsigned long long)ub);
            goto done;
        }
        len += (size_t)n;
    }
    close(fd);
    fd = -1;
    st = write_block(path, t, len, ub);
done:
    if (fd >= 0) close(fd);
    free(t);
    free(l.v);
    return st;
}

/* ---- an open file: read all of it with HDF5 in a child process ---------------------------------------------- */
static herr_t read_attr_cb(hid_t obj, const char *name, const H5A_info_t *info, void *data) {
    (void)info, (void)data;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT), t = a >= 0 ? H5Aget_type(a) : -1, sp = a >= 0 ? H5Aget_space(a) : -1;
    hid_t mt = t >= 0 ? H5Tget_native_type(t, H5T_DIR_DEFAULT) : -1;
    hssize_t n = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    size_t sz = mt >= 0 ? H5Tget_size(mt) : 0;
    int ok = a >= 0 && mt >= 0 && n >= 0 && sz > 0;
    void *buf = ok ? calloc((size_t)n + 1, sz) : NULL;
    ok = ok && buf && H5Aread(a, mt, buf) >= 0;
    if (ok && H5Tis_variable_str(mt) > 0) H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, buf);
    free(buf);
    if (mt >= 0) H5Tclose(mt);
    if (t >= 0) H5Tclose(t);
    if (sp >= 0) H5Sclose(sp);
    if (a >= 0) H5Aclose(a);
    return ok ? 0 : -1;
}

static herr_t read_obj_cb(hid_t f, const char *name, const H5O_info_t *info, void *data) {
    (void)data;
    hid_t o = H5Oopen(f, name, H5P_DEFAULT);
    if (o < 0) return -1;
    hsize_t idx = 0;
    int ok = H5Aiterate2(o, H5_INDEX_NAME, H5_ITER_INC, &idx, read_attr_cb, NULL) >= 0;
    if (ok && info->type == H5O_TYPE_DATASET) {
        hid_t t = H5Dget_type(o), mt = t >= 0 ? H5Tget_native_type(t, H5T_DIR_DEFAULT) : -1, sp = H5Dget_space(o);
        hssize_t n = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
        size_t sz = mt >= 0 ? H5Tget_size(mt) : 0;
        void *buf = n >= 0 && sz > 0 ? calloc((size_t)n + 1, sz) : NULL;
        ok = buf && H5Dread(o, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0;
        free(buf);
        if (mt >= 0) H5Tclose(mt);
        if (t >= 0) H5Tclose(t);
        if (sp >= 0) H5Sclose(sp);
    }
    H5Oclose(o);
    return ok ? 0 : -1;
}

#if defined(__SANITIZE_ADDRESS__)
#define DOB_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DOB_ASAN 1
#endif
#endif
/* set by sanitizer runtimes (libFuzzer: its crash report); cleared in the child, whose failure is an answer */
extern void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));

/* In a child: open path with HDF5 and read every attribute and dataset; exit 0 if all of it reads. */
static void probe_child(const char *path) {
    const int sigs[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGALRM};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) signal(sigs[i], SIG_DFL);
    if (__sanitizer_set_death_callback) __sanitizer_set_death_callback(NULL);
#ifndef DOB_ASAN /* ASan reserves terabytes of address space: it sets its own allocation limits */
    struct rlimit mem = {(rlim_t)2 << 30, (rlim_t)2 << 30}; /* a damaged size field asks for 12 GB: fail it */
    setrlimit(RLIMIT_AS, &mem);
#endif
    alarm(30); /* a damaged B-tree can make HDF5 loop */
    dob_h5_quiet();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    int ok = f >= 0 && H5Ovisit2(f, H5_INDEX_NAME, H5_ITER_INC, read_obj_cb, NULL, H5O_INFO_BASIC) >= 0;
    _exit(ok ? 0 : 1); /* no atexit handlers (MPI, HDF5 shutdown) in the child */
}

static dob_status probe_open_file(const char *path, const char *what) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return DOB_FAIL(DOB_EIO, "cannot check %s '%s': fork: %s", what, path, strerror(errno));
    if (pid == 0) probe_child(path);
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0)
        if (errno != EINTR) return DOB_FAIL(DOB_EIO, "cannot check %s '%s': waitpid: %s", what, path, strerror(errno));
    if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0) return DOB_OK;
    return DOB_FAIL(DOB_EFORMAT, "%s '%s' was never sealed (its writer is running, or was killed) and HDF5 cannot "
                                 "read all of it (%s): the file is damaged",
                    what, path, WIFSIGNALED(ws) ? (WTERMSIG(ws) == SIGALRM ? "it hangs" : "it crashes")
                                                : "read errors");
}

/* ---- verification (bytes only) ---------------------------------------------------------------------------- */
/* Parse and check the block text t (ub bytes, NUL-terminated by the caller at ub). */
static dob_status check_block(const char *path, const char *what, const char *t, hsize_t ub, dob_seal_state *state) {
    const char *end = strstr(t, "\nend ");
    unsigned long long u = 0;
    unsigned crc = 0;
    if (!end || sscanf(end + 5, "%8x", &crc) != 1 || end[5 + 8] != '\n')
        return DOB_FAIL(DOB_EFORMAT, "%s '%s': its checksum block is damaged (no end line)", what, path);
    size_t body = (size_t)(end - t) + 1;
    if ((uint32_t)crc32(crc32(0L, Z_NULL, 0), (const Bytef *)t, (uInt)body) != crc)
        return DOB_FAIL(DOB_EFORMAT, "%s '%s': its checksum block is damaged (it does not match its own checksum)",
                        what, path);
    for (size_t i = body + 13; i < (size_t)ub; i++) /* "end xxxxxxxx\n" is 13 bytes */
        if (t[i]) return DOB_FAIL(DOB_EFORMAT, "%s '%s': damaged byte %zu in its checksum block", what, path, i);
    const char *s = t + strlen(SEAL_MAGIC);
    if (!strncmp(s, "state open\n", 11)) *state = DOB_SEAL_OPEN;
    else if (!strncmp(s, "state sealed\n", 13)) *state = DOB_SEAL_SEALED;
    else return DOB_FAIL(DOB_EFORMAT, "%s '%s': unknown checksum block state", what, path);
    s = strchr(s, '\n') + 1;
    if (sscanf(s, "ub %llu\n", &u) != 1 || u != ub)
        return DOB_FAIL(DOB_EFORMAT, "%s '%s': checksum block size mismatch", what, path);
    return DOB_OK;
}

/* Every "file" and "ds" line of a sealed block against the bytes of fd (file size fsz). */
static dob_status check_data(int fd, const char *path, const char *what, const char *t, uint64_t fsz) {
    const char *s = strstr(t, "\nfile ");
    unsigned long long a = 0, b = 0;
    unsigned crc = 0, file_crc = 0;
    uint32_t c = 0;
    if (!s || sscanf(s + 6, "%llu %llu %8x", &a, &b, &file_crc) != 3 || a > b)
        return DOB_FAIL(DOB_EFORMAT, "%s '%s': checksum block without a file line", what, path);
    if (b != fsz)
        return DOB_FAIL(DOB_EFORMAT, "%s '%s' has %llu bytes, %llu when it was written (truncated or appended to)",
                        what, path, (unsigned long long)fsz, b);
    for (const char *p = strstr(t, "\nds "); p; p = strstr(p + 1, "\nds ")) {
        char name[256];
        unsigned long long off = 0, len = 0;
        if (sscanf(p + 4, "%llu %llu %8x %255s", &off, &len, &crc, name) != 4)
            return DOB_FAIL(DOB_EFORMAT, "%s '%s': malformed dataset line in its checksum block", what, path);
        if (off > fsz || len > fsz - off)
            return DOB_FAIL(DOB_EFORMAT, "%s '%s': dataset %s lies beyond the end of the file", what, path, name);
        dob_status st = crc_range(fd, path, off, len, &c);
        if (st != DOB_OK) return st;
        if (c != crc)
            return DOB_FAIL(DOB_EFORMAT, "%s '%s': dataset %s does not match its checksum (the file is damaged; "
                                         "stored crc32 %08x, found %08" PRIx32 ")", what, path, name, crc, c);
    }
    dob_status st = crc_range(fd, path, a, b - a, &c);
    if (st != DOB_OK) return st;
    if (c != file_crc)
        return DOB_FAIL(DOB_EFORMAT, "%s '%s': its HDF5 structure (bytes outside the datasets) does not match its "
                                     "checksum (the file is damaged, or was changed by another program)", what, path);
    return DOB_OK;
}

dob_status dob_seal_check(const char *path, const char *what, int require_sealed, dob_seal_state *state,
                          hsize_t *ubp) {
    dob_status st = DOB_OK;
    char *t = NULL, head[64] = {0};
    *state = DOB_SEAL_NONE;
    if (ubp) *ubp = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return DOB_FAIL(errno == ENOENT ? DOB_ENOENT : DOB_EIO, "cannot read %s '%s': %s", what, path,
                        strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = DOB_FAIL(DOB_EFORMAT, "%s '%s' is not a regular file", what, path);
        goto done;
    }
    uint64_t fsz = (uint64_t)sb.st_size;
    ssize_t got = pread(fd, head, sizeof head - 1, 0);
    unsigned long long ub = 0;
    if (got >= 8 && !memcmp(head, hdf5_sig, 8)) {
        /* refused, not trusted: a file without the block would hand unverified bytes to the HDF5 parser */
        st = DOB_FAIL(DOB_EFORMAT, "%s '%s' is an HDF5 file without dob's checksum block (written by another "
                      "program, or by a dob older than the checksums): cannot verify it", what, path);
        goto done;
    }
    if (got < (ssize_t)strlen(SEAL_MAGIC) || memcmp(head, SEAL_MAGIC, strlen(SEAL_MAGIC))) {
        st = DOB_FAIL(DOB_EFORMAT, "%s '%s' is not an HDF5 file written by dob (or its first bytes are damaged)", what, path);
        goto done;
    }
    const char *u = strstr(head, "\nub ");
    if (!u || sscanf(u + 4, "%llu", &ub) != 1 || ub < UB_MIN || ub > UB_MAX || (ub & (ub - 1)) || ub + 8 > fsz) {
        st = DOB_FAIL(DOB_EFORMAT, "%s '%s': its checksum block is damaged (size)", what, path);
        goto done;
    }
    if (!(t = malloc((size_t)ub + 1))) {
        st = DOB_FAIL(DOB_ENOMEM, "out of memory");
        goto done;
    }
    unsigned char sig[8];
    if (pread(fd, t, (size_t)ub, 0) != (ssize_t)ub || pread(fd, sig, 8, (off_t)ub) != 8) {
        st = DOB_FAIL(DOB_EIO, "cannot read %s '%s': %s", what, path, strerror(errno));
        goto done;
    }
    t[ub] = '\0';
    if ((st = check_block(path, what, t, ub, state)) != DOB_OK) goto done;
    if (ubp) *ubp = (hsize_t)ub;
    if (memcmp(sig, hdf5_sig, 8)) {
        st = DOB_FAIL(DOB_EFORMAT, "%s '%s': damaged HDF5 signature after its checksum block", what, path);
        goto done;
    }
    if (*state == DOB_SEAL_OPEN && require_sealed)
        st = DOB_FAIL(DOB_EFORMAT, "%s '%s' was never completed (its writer did not close it)", what, path);
    else if (*state == DOB_SEAL_OPEN)
        st = probe_open_file(path, what);
    else if (*state == DOB_SEAL_SEALED)
        st = check_data(fd, path, what, t, fsz);
done:
    free(t);
    close(fd);
    return st;
}
