/* h5util.c: HDF5 error messages and read helpers for io/ (see h5util.h).
 *
 * Invariant: every public helper leaves no HDF5 identifier open, on success and on failure. The error text is
 * taken from HDF5's error stack right after the failing call (any later HDF5 call clears that stack). */
#include "h5util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dob_h5_quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

typedef struct walk_state {
    char inner[384];
} walk_state;

/* Called from the API entry down to the innermost frame: the last call sees the root cause. */
static herr_t walk_cb(unsigned n, const H5E_error2_t *e, void *data) {
    walk_state *w = data;
    (void)n;
    char minor[128] = "";
    if (H5Eget_msg(e->min_num, NULL, minor, sizeof minor) < 0) minor[0] = '\0';
    if (e->desc && e->desc[0])
        snprintf(w->inner, sizeof w->inner, "%s%s%s%s", e->desc, minor[0] ? " (" : "", minor, minor[0] ? ")" : "");
    else
        snprintf(w->inner, sizeof w->inner, "%s", minor);
    return 0;
}

dob_status dob_h5_fail_at(const char *file, int line, const char *fmt, ...) {
    walk_state w = {{0}};
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk_cb, &w);
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    H5Eclear2(H5E_DEFAULT);
    return dob_fail_at(DOB_EH5, file, line, "HDF5: %s: %s", what, w.inner[0] ? w.inner : "no HDF5 error detail");
}

/* Open attribute `name` of obj; a missing attribute is a format error (not a dob result file), not an HDF5 bug. */
static dob_status attr_open(hid_t obj, const char *name, hid_t *a) {
    htri_t ex = H5Aexists(obj, name);
    if (ex < 0) return dob_h5_fail_at(__FILE__, __LINE__, "check attribute '%s'", name);
    if (ex == 0) return DOB_FAIL(DOB_EFORMAT, "attribute '%s' is missing (not a dob result file?)", name);
    *a = H5Aopen(obj, name, H5P_DEFAULT);
    if (*a < 0) return dob_h5_fail_at(__FILE__, __LINE__, "open attribute '%s'", name);
    return DOB_OK;
}

dob_status dob_h5_attr_str(hid_t obj, const char *name, char *buf, size_t cap) {
    dob_status st = DOB_OK;
    hid_t a = -1, ft = -1, mt = -1;
    char *tmp = NULL;
    if (cap == 0) return DOB_FAIL(DOB_EINTERNAL, "attribute '%s': zero-size buffer", name);
    DOB_TRY(attr_open(obj, name, &a));
    DOB_H5(ft = H5Aget_type(a), "type of attribute '%s'", name);
    if (H5Tget_class(ft) != H5T_STRING) {
        st = DOB_FAIL(DOB_EFORMAT, "attribute '%s': expected a string, found HDF5 type class %d", name,
                      (int)H5Tget_class(ft));
        goto fail;
    }
    htri_t var = H5Tis_variable_str(ft);
    DOB_H5(var, "type of attribute '%s'", name);
    DOB_H5(mt = H5Tcopy(H5T_C_S1), "string type");
    /* HDF5 does not convert between character sets: read in the file's (ASCII or UTF-8). */
    DOB_H5(H5Tset_cset(mt, H5Tget_cset(ft)), "string type");
    if (var) {
        DOB_H5(H5Tset_size(mt, H5T_VARIABLE), "string type");
        DOB_H5(H5Aread(a, mt, &tmp), "read attribute '%s'", name);
        snprintf(buf, cap, "%s", tmp ? tmp : "");
        H5free_memory(tmp);
    } else {
        size_t n = H5Tget_size(ft);
        tmp = calloc(n + 1, 1);
        if (!tmp) {
            st = DOB_FAIL(DOB_ENOMEM, "attribute '%s': out of memory for %zu bytes", name, n + 1);
            goto fail;
        }
        DOB_H5(H5Tset_size(mt, n + 1), "string type");
        DOB_H5(H5Aread(a, mt, tmp), "read attribute '%s'", name);
        snprintf(buf, cap, "%s", tmp);
        free(tmp);
    }
fail:
    if (mt >= 0) H5Tclose(mt);
    if (ft >= 0) H5Tclose(ft);
    if (a >= 0) H5Aclose(a);
    return st;
}

static dob_status attr_num(hid_t obj, const char *name, hid_t mem_type, void *v) {
    dob_status st = DOB_OK;
    hid_t a = -1, sp = -1;
    DOB_TRY(attr_open(obj, name, &a));
    DOB_H5(sp = H5Aget_space(a), "dataspace of attribute '%s'", name);
    if (H5Sget_simple_extent_npoints(sp) != 1) {
        st = DOB_FAIL(DOB_EFORMAT, "attribute '%s': expected a scalar, found %lld elements", name,
                      (long long)H5Sget_simple_extent_npoints(sp));
        goto fail;
    }
    DOB_H5(H5Aread(a, mem_type, v), "read attribute '%s'", name);
fail:
    if (sp >= 0) H5Sclose(sp);
    if (a >= 0) H5Aclose(a);
    return st;
}

dob_status dob_h5_attr_i64(hid_t obj, const char *name, int64_t *v) {
    return attr_num(obj, name, H5T_NATIVE_INT64, v);
}
dob_status dob_h5_attr_f64(hid_t obj, const char *name, double *v) {
    return attr_num(obj, name, H5T_NATIVE_DOUBLE, v);
}

void dob_h5_strv_free(char **v, int n) {
    if (!v) return;
    for (int i = 0; i < n; i++) free(v[i]);
    free(v);
}

dob_status dob_h5_attr_strv(hid_t obj, const char *name, int *n, char ***out) {
    dob_status st = DOB_OK;
    hid_t a = -1, sp = -1, mt = -1, ft = -1;
    char **tmp = NULL, **res = NULL;
    int m = 0;
    *n = 0;
    *out = NULL;
    DOB_TRY(attr_open(obj, name, &a));
    DOB_H5(sp = H5Aget_space(a), "dataspace of attribute '%s'", name);
    hssize_t np = H5Sget_simple_extent_npoints(sp);
    if (np < 0 || np > 100000) {
        st = DOB_FAIL(DOB_EFORMAT, "attribute '%s': expected 0..100000 strings, found %lld", name, (long long)np);
        goto fail;
    }
    m = (int)np;
    tmp = calloc((size_t)m + 1, sizeof *tmp);
    res = calloc((size_t)m + 1, sizeof *res);
    if (!tmp || !res) {
        st = DOB_FAIL(DOB_ENOMEM, "attribute '%s': out of memory", name);
        goto fail;
    }
    DOB_H5(ft = H5Aget_type(a), "type of attribute '%s'", name);
    if (H5Tget_class(ft) != H5T_STRING || H5Tis_variable_str(ft) <= 0) {
        st = DOB_FAIL(DOB_EFORMAT, "attribute '%s': expected variable-length strings", name);
        goto fail;
    }
    DOB_H5(mt = H5Tcopy(H5T_C_S1), "string type");
    DOB_H5(H5Tset_size(mt, H5T_VARIABLE), "string type");
    DOB_H5(H5Tset_cset(mt, H5Tget_cset(ft)), "string type");
    if (m > 0) DOB_H5(H5Aread(a, mt, tmp), "read attribute '%s'", name);
    for (int i = 0; i < m; i++) {
        res[i] = strdup(tmp[i] ? tmp[i] : "");
        H5free_memory(tmp[i]);
        if (!res[i] && st == DOB_OK) st = DOB_FAIL(DOB_ENOMEM, "attribute '%s': out of memory", name);
    }
    if (st == DOB_OK) {
        *out = res;
        *n = m;
        res = NULL;
    }
fail:
    dob_h5_strv_free(res, m);
    free(tmp);
    if (ft >= 0) H5Tclose(ft);
    if (mt >= 0) H5Tclose(mt);
    if (sp >= 0) H5Sclose(sp);
    if (a >= 0) H5Aclose(a);
    return st;
}

dob_status dob_h5_read(hid_t loc, const char *name, hid_t mem_type, int64_t n, void *buf) {
    dob_status st = DOB_OK;
    hid_t d = -1, sp = -1;
    htri_t ex = H5Lexists(loc, name, H5P_DEFAULT);
    if (ex <= 0) return DOB_FAIL(DOB_EFORMAT, "dataset '%s' is missing (not a dob result file?)", name);
    DOB_H5(d = H5Dopen2(loc, name, H5P_DEFAULT), "open dataset '%s'", name);
    DOB_H5(sp = H5Dget_space(d), "dataspace of dataset '%s'", name);
    hssize_t np = H5Sget_simple_extent_npoints(sp);
    if (np != n) {
        st = DOB_FAIL(DOB_EFORMAT, "dataset '%s': expected %lld elements, found %lld", name, (long long)n,
                      (long long)np);
        goto fail;
    }
    if (n > 0) DOB_H5(H5Dread(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf), "read dataset '%s'", name);
fail:
    if (sp >= 0) H5Sclose(sp);
    if (d >= 0) H5Dclose(d);
    return st;
}

/* ---- attribute writers (on a shared parallel file every rank calls them: metadata is collective) ---------- */
/* Variable-length UTF-8 string type: h5py reads these attributes as str. */
hid_t dob_h5_vstr_type(void) {
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0) return t;
    if (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

/* n < 0: scalar; else a 1-D attribute of n elements. */
dob_status dob_h5_attr_write(hid_t obj, const char *name, hid_t ftype, hid_t mtype, int n, const void *v) {
    dob_status st = DOB_OK;
    hid_t sp = -1, a = -1;
    hsize_t dim = (hsize_t)(n < 0 ? 1 : n);
    DOB_H5(sp = n < 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dim, NULL), "dataspace of attribute %s", name);
    DOB_H5(a = H5Acreate2(obj, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT), "create attribute %s", name);
    DOB_H5(H5Awrite(a, mtype, v), "write attribute %s", name);
fail:
    if (a >= 0) H5Aclose(a);
    if (sp >= 0) H5Sclose(sp);
    return st;
}

dob_status dob_h5_put_str(hid_t obj, const char *name, const char *v) {
    dob_status st = DOB_OK;
    hid_t t = -1;
    const char *p = v ? v : "";
    DOB_H5(t = dob_h5_vstr_type(), "string type for attribute %s", name);
    st = dob_h5_attr_write(obj, name, t, t, -1, &p);
fail:
    if (t >= 0) H5Tclose(t);
    return st;
}

dob_status dob_h5_put_i32(hid_t obj, const char *name, int32_t v) {
    return dob_h5_attr_write(obj, name, H5T_STD_I32LE, H5T_NATIVE_INT32, -1, &v);
}
dob_status dob_h5_put_i64(hid_t obj, const char *name, int64_t v) {
    return dob_h5_attr_write(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, -1, &v);
}
