/* checkpoint.c: checkpoint files of `dob run` (schema in include/dob/checkpoint.h).
 *
 * Invariants: a save never touches path until the new file is complete: it is written under
 * "<path>.tmp-<pid>", closed, and renamed over path (rename(2) is atomic on one file system). Free space is
 * checked before HDF5 writes anything (HDF5 1.10 cannot close a file whose writes failed: see results.c), and
 * any failure removes the temporary file. Loads check every dataset's size against the arena and the run.
 *
 * It does not: decide when to checkpoint (the trainer's hooks), or compare settings (the caller compares the
 * config string). Serial HDF5 calls only: the caller's rank 0 saves; every rank may load. */
#include "dob/checkpoint.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>

#include "dob/io.h"
#include "h5util.h"
#include "seal.h"

#ifndef DOB_VERSION
#define DOB_VERSION "unknown"
#endif

/* One 1-D (ndim 1: d0) or 2-D (d0 x d1) dataset; v may be NULL when it has no elements. */
static dob_status put_ds(hid_t loc, const char *name, hid_t ftype, hid_t mtype, int ndim, hsize_t d0, hsize_t d1,
                         const void *v) {
    dob_status st = DOB_OK;
    hid_t sp = -1, d = -1;
    hsize_t dims[2] = {d0, d1};
    DOB_H5(sp = H5Screate_simple(ndim, dims, NULL), "dataspace of '%s'", name);
    DOB_H5(d = H5Dcreate2(loc, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "create dataset '%s'", name);
    if (d0 && (ndim == 1 || d1))
        DOB_H5(H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), "write dataset '%s'", name);
fail:
    if (d >= 0) H5Dclose(d);
    if (sp >= 0) H5Sclose(sp);
    return st;
}

static dob_status put_scalar_i64(hid_t loc, const char *name, int64_t v) {
    dob_status st = DOB_OK;
    hid_t sp = -1, d = -1;
    DOB_H5(sp = H5Screate(H5S_SCALAR), "dataspace of '%s'", name);
    DOB_H5(d = H5Dcreate2(loc, name, H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "create '%s'", name);
    DOB_H5(H5Dwrite(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v), "write '%s'", name);
fail:
    if (d >= 0) H5Dclose(d);
    if (sp >= 0) H5Sclose(sp);
    return st;
}

static double curve_values(const dob_train_out *o) {
    double n = 0;
    for (int c = 0; c < DOB_N_CURVES; c++) n += (double)dob_curve_len(c, o->num_epochs, o->n_minibatch);
    return n;
}

/* After a save: remove "<path>.tmp-<pid>" left by a writer of this checkpoint that was killed mid-save (kill -9,
 * a node failure) and is no longer running on this host. Only that exact name pattern, never the live
 * process's own; a writer alive elsewhere on a shared file system would be another run on the same path, which
 * dob does not support anyway. */
static void remove_stale_tmp(const char *path) {
    char dir[4096];
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    if (slash == path) snprintf(dir, sizeof dir, "/");
    const size_t bl = strlen(base);
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *n = e->d_name;
        if (strncmp(n, base, bl) || strncmp(n + bl, ".tmp-", 5) || !isdigit((unsigned char)n[bl + 5])) continue;
        char *end;
        long pid = strtol(n + bl + 5, &end, 10);
        if (*end || pid <= 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        char p[4400];
        snprintf(p, sizeof p, "%s/%s", dir, n);
        unlink(p);
    }
    closedir(d);
}

dob_status dob_checkpoint_save(const char *path, const dob_ckpt_meta *m, dob_arena *a, const float *buffers_all,
                               const dob_train_out *o) {
    dob_status st = DOB_OK;
    const size_t n = dob_arena_size(a), nb = dob_arena_buffer_size(a);
    const int ns = dob_arena_state_count(a);
    const double need = 4.0 * ((double)n * (1 + ns) + (double)(nb + (size_t)o->net_state_n) * m->ranks) +
                        8.0 * curve_values(o) + 65536.0;
    if ((st = dob_io_check_dir_of(path, "checkpoint", need)) != DOB_OK) return st;
    size_t tl = strlen(path) + 32;
    char *tmp = malloc(tl);
    if (!tmp) return DOB_FAIL(DOB_ENOMEM, "out of memory");
    snprintf(tmp, tl, "%s.tmp-%ld", path, (long)getpid());
    dob_h5_quiet();
    hid_t f = -1, g = -1, fcpl = -1;
    int created = 0;
    char created_at[40], host[256] = "unknown";
    time_t now = time(NULL);
    struct tm tmv;
    if (!localtime_r(&now, &tmv) || !strftime(created_at, sizeof created_at, "%Y-%m-%dT%H:%M:%S%z", &tmv))
        snprintf(created_at, sizeof created_at, "1970-01-01T00:00:00+0000");
    if (gethostname(host, sizeof host - 1) != 0) snprintf(host, sizeof host, "unknown");

    /* the user block holds the checksums (seal.h): one line per dataset, about 16 */
    DOB_H5(fcpl = H5Pcreate(H5P_FILE_CREATE), "file creation properties");
    DOB_H5(H5Pset_userblock(fcpl, dob_seal_ub_size(17 + ns)), "file creation properties");
    DOB_H5(f = H5Fcreate(tmp, H5F_ACC_TRUNC, fcpl, H5P_DEFAULT), "create checkpoint '%s'", tmp);
    created = 1;
    DOB_TRY(dob_h5_put_str(f, "format", "dob-checkpoint"));
    DOB_TRY(dob_h5_put_i32(f, "version", DOB_CHECKPOINT_VERSION));
    DOB_TRY(dob_h5_put_str(f, "config", m->config));
    DOB_TRY(dob_h5_put_i32(f, "ranks", m->ranks));
    DOB_TRY(dob_h5_put_i32(f, "threads", m->threads));
    DOB_TRY(dob_h5_put_str(f, "onednn_isa", dnnl_cpu_isa2str(dnnl_get_effective_cpu_isa())));
    DOB_TRY(dob_h5_put_str(f, "dob_version", DOB_VERSION));
    DOB_TRY(dob_h5_put_str(f, "created", created_at));
    DOB_TRY(dob_h5_put_str(f, "hostname", host));
    DOB_TRY(dob_h5_put_str(f, "precision", m->precision ? m->precision : "f32"));

    DOB_H5(g = H5Gcreate2(f, "arena", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "create group /arena");
    DOB_TRY(put_ds(g, "params", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, n, 0, dob_arena_params(a)));
    for (int k = 0; k < ns; k++) {
        char name[32];
        snprintf(name, sizeof name, "state%d", k);
        DOB_TRY(put_ds(g, name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, n, 0, dob_arena_state(a, k)));
    }
    DOB_TRY(put_ds(g, "buffers", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, (hsize_t)m->ranks, nb,
                   nb ? (buffers_all ? buffers_all : dob_arena_buffers(a)) : NULL));
    H5Gclose(g);
    g = -1;

    DOB_H5(g = H5Gcreate2(f, "progress", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "create group /progress");
    DOB_TRY(put_scalar_i64(g, "steps_done", o->steps_done));
    DOB_TRY(put_scalar_i64(g, "evaluated", o->evaluated));
    DOB_TRY(put_scalar_i64(g, "n_logged", o->n_logged));
    H5Gclose(g);
    g = -1;

    DOB_H5(g = H5Gcreate2(f, "curves", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "create group /curves");
    for (int c = 0; c < DOB_N_CURVES; c++)
        DOB_TRY(put_ds(g, dob_curves[c].name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1,
                       (hsize_t)dob_curve_len(c, o->num_epochs, o->n_minibatch), 0, o->curve[c]));
    DOB_TRY(put_ds(g, "phase_seconds", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, DOB_N_PHASES, 0,
                   o->phase_seconds));
    H5Gclose(g);
    g = -1;
    if (o->net_state_n > 0)
        DOB_TRY(put_ds(f, "net_state", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, (hsize_t)m->ranks,
                       (hsize_t)o->net_state_n, m->net_state_all ? m->net_state_all : o->net_state));
    DOB_H5(H5Fflush(f, H5F_SCOPE_GLOBAL), "flush checkpoint '%s'", tmp);
    hid_t ff = f;
    f = -1;
    DOB_H5(H5Fclose(ff), "close checkpoint '%s'", tmp);
    DOB_TRY(dob_seal_file(tmp));
    if (rename(tmp, path) != 0) {
        st = DOB_FAIL(DOB_EIO, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
        goto fail;
    }
    free(tmp);
    H5Pclose(fcpl);
    remove_stale_tmp(path);
    return DOB_OK;
fail:
    if (fcpl >= 0) H5Pclose(fcpl);
    if (g >= 0) H5Gclose(g);
    if (f >= 0) H5Fclose(f);
    if (created) unlink(tmp);
    free(tmp);
    return st;
}

static dob_status open_checked(const char *path, hid_t *out) {
    dob_status st = DOB_OK;
    hid_t f = -1;
    char fmt[64];
    int64_t ver = 0;
    dob_seal_state seal;
    dob_h5_quiet();
    if (access(path, R_OK) != 0)
        return DOB_FAIL(errno == ENOENT ? DOB_ENOENT : DOB_EIO, "cannot read checkpoint '%s': %s", path,
                        strerror(errno));
    /* every byte is verified before HDF5 parses any: a damaged checkpoint is refused, never resumed from */
    DOB_TRY(dob_seal_check(path, "checkpoint", 1, &seal, NULL));
    if (H5Fis_hdf5(path) <= 0)
        return DOB_FAIL(DOB_EFORMAT, "'%s' is not an HDF5 file (damaged or truncated checkpoint?)", path);
    DOB_H5(f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT), "open checkpoint '%s'", path);
    if (dob_h5_attr_str(f, "format", fmt, sizeof fmt) != DOB_OK || strcmp(fmt, "dob-checkpoint")) {
        st = DOB_FAIL(DOB_EFORMAT, "'%s' is an HDF5 file but not a dob checkpoint", path);
        goto fail;
    }
    DOB_TRY(dob_h5_attr_i64(f, "version", &ver));
    if (ver != DOB_CHECKPOINT_VERSION) {
        st = DOB_FAIL(DOB_EFORMAT, "checkpoint '%s' has version %lld; this dob reads version %d", path,
                      (long long)ver, DOB_CHECKPOINT_VERSION);
        goto fail;
    }
    *out = f;
    return DOB_OK;
fail:
    if (f >= 0) H5Fclose(f);
    return st;
}

dob_status dob_checkpoint_read_meta(const char *path, char *config, size_t cap, int *ranks, int *threads) {
    dob_status st = DOB_OK;
    hid_t f = -1;
    int64_t r = 0, t = 0;
    DOB_TRY(open_checked(path, &f));
    DOB_TRY(dob_h5_attr_str(f, "config", config, cap));
    DOB_TRY(dob_h5_attr_i64(f, "ranks", &r));
    DOB_TRY(dob_h5_attr_i64(f, "threads", &t));
    *ranks = (int)r;
    *threads = (int)t;
fail:
    if (f >= 0) H5Fclose(f);
    return st;
}

/* Length of the 1-D dataset name (or of dimension 0 of a 2-D one). */
static dob_status ds_len(hid_t loc, const char *name, int64_t *len) {
    dob_status st = DOB_OK;
    hid_t d = -1, sp = -1;
    hsize_t dims[2] = {0, 0};
    if (H5Lexists(loc, name, H5P_DEFAULT) <= 0) return DOB_FAIL(DOB_EFORMAT, "dataset '%s' is missing", name);
    DOB_H5(d = H5Dopen2(loc, name, H5P_DEFAULT), "open dataset '%s'", name);
    DOB_H5(sp = H5Dget_space(d), "dataspace of '%s'", name);
    DOB_H5(H5Sget_simple_extent_dims(sp, dims, NULL), "dimensions of '%s'", name);
    *len = (int64_t)dims[0];
fail:
    if (sp >= 0) H5Sclose(sp);
    if (d >= 0) H5Dclose(d);
    return st;
}

/* /net_state's row of rank into o (allocated here), if the checkpoint has one. */
static dob_status load_net_state(hid_t f, const char *path, int rank, int64_t ranks, dob_train_out *o) {
    dob_status st = DOB_OK;
    hid_t d = -1, sp = -1;
    float *all = NULL;
    hsize_t dims[2] = {0, 0};
    if (H5Lexists(f, "net_state", H5P_DEFAULT) <= 0) return DOB_OK;
    DOB_H5(d = H5Dopen2(f, "net_state", H5P_DEFAULT), "open /net_state of '%s'", path);
    DOB_H5(sp = H5Dget_space(d), "dataspace of /net_state");
    if (H5Sget_simple_extent_ndims(sp) != 2 || H5Sget_simple_extent_dims(sp, dims, NULL) < 0 ||
        dims[0] != (hsize_t)ranks || dims[1] == 0 || dims[1] > ((hsize_t)1 << 32)) {
        st = DOB_FAIL(DOB_EFORMAT, "/net_state must be [%lld ranks, k > 0]", (long long)ranks);
        goto fail;
    }
    if (!(all = malloc((size_t)(dims[0] * dims[1]) * sizeof *all)) ||
        !(o->net_state = malloc((size_t)dims[1] * sizeof *o->net_state))) {
        st = DOB_FAIL(DOB_ENOMEM, "out of memory for /net_state");
        goto fail;
    }
    DOB_H5(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, all), "read /net_state of '%s'", path);
    memcpy(o->net_state, all + (size_t)rank * dims[1], (size_t)dims[1] * sizeof *all);
    o->net_state_n = (int64_t)dims[1];
fail:
    free(all);
    if (sp >= 0) H5Sclose(sp);
    if (d >= 0) H5Dclose(d);
    return st;
}

dob_status dob_checkpoint_load(const char *path, int rank, dob_arena *a, dob_train_out *o) {
    dob_status st = DOB_OK;
    hid_t f = -1, g = -1;
    float *bufs = NULL;
    memset(o, 0, sizeof *o);
    o->diverged_step = -1;
    if ((st = open_checked(path, &f)) != DOB_OK) return st; /* its messages name the file */
    const size_t n = dob_arena_size(a), nb = dob_arena_buffer_size(a);
    int64_t ranks = 0;
    DOB_TRY(dob_h5_attr_i64(f, "ranks", &ranks));
    if (rank < 0 || rank >= ranks) {
        st = DOB_FAIL(DOB_EFORMAT, "checkpoint '%s' holds %lld ranks, not rank %d", path, (long long)ranks, rank);
        goto fail;
    }
    DOB_H5(g = H5Gopen2(f, "arena", H5P_DEFAULT), "open /arena of '%s'", path);
    DOB_TRY(dob_h5_read(g, "params", H5T_NATIVE_FLOAT, (int64_t)n, dob_arena_params(a)));
    for (int k = 0; k < dob_arena_state_count(a); k++) {
        char name[32];
        snprintf(name, sizeof name, "state%d", k);
        DOB_TRY(dob_h5_read(g, name, H5T_NATIVE_FLOAT, (int64_t)n, dob_arena_state(a, k)));
    }
    if (nb) {
        if (!(bufs = malloc((size_t)ranks * nb * sizeof *bufs))) {
            st = DOB_FAIL(DOB_ENOMEM, "out of memory");
            goto fail;
        }
        DOB_TRY(dob_h5_read(g, "buffers", H5T_NATIVE_FLOAT, ranks * (int64_t)nb, bufs));
        memcpy(dob_arena_buffers(a), bufs + (size_t)rank * nb, nb * sizeof *bufs);
    }
    H5Gclose(g);
    g = -1;

    DOB_H5(g = H5Gopen2(f, "progress", H5P_DEFAULT), "open /progress of '%s'", path);
    DOB_TRY(dob_h5_read(g, "steps_done", H5T_NATIVE_INT64, 1, &o->steps_done));
    DOB_TRY(dob_h5_read(g, "evaluated", H5T_NATIVE_INT64, 1, &o->evaluated));
    DOB_TRY(dob_h5_read(g, "n_logged", H5T_NATIVE_INT64, 1, &o->n_logged));
    H5Gclose(g);
    g = -1;

    DOB_H5(g = H5Gopen2(f, "curves", H5P_DEFAULT), "open /curves of '%s'", path);
    int64_t ne = 0;
    DOB_TRY(ds_len(g, dob_curves[DOB_CURVE_TEST_LOSSES].name, &ne));
    DOB_TRY(ds_len(g, dob_curves[DOB_CURVE_MINIBATCH_TRAIN_LOSSES].name, &o->n_minibatch));
    if (ne < 1) {
        st = DOB_FAIL(DOB_EFORMAT, "checkpoint '%s': empty curves", path);
        goto fail;
    }
    o->num_epochs = ne - 1;
    for (int c = 0; c < DOB_N_CURVES; c++) {
        int64_t len = dob_curve_len(c, o->num_epochs, o->n_minibatch);
        if (!(o->curve[c] = malloc((size_t)(len > 0 ? len : 1) * sizeof(double)))) {
            st = DOB_FAIL(DOB_ENOMEM, "out of memory");
            goto fail;
        }
        DOB_TRY(dob_h5_read(g, dob_curves[c].name, H5T_NATIVE_DOUBLE, len, o->curve[c]));
    }
    DOB_TRY(dob_h5_read(g, "phase_seconds", H5T_NATIVE_DOUBLE, DOB_N_PHASES, o->phase_seconds));
    o->epochs_done = o->evaluated > 0 ? (int)(o->evaluated - 1) : 0;
    H5Gclose(g);
    g = -1;
    DOB_TRY(load_net_state(f, path, rank, ranks, o));
fail:
    if (st != DOB_OK) {
        dob_error_prefix("checkpoint '%s': ", path);
        dob_train_out_free(o);
    }
    free(bufs);
    if (g >= 0) H5Gclose(g);
    if (f >= 0) H5Fclose(f);
    return st;
}
