/* h5util.h (internal to io/): HDF5 error reporting and small attribute/dataset helpers shared by the result file
 * writer (results.c, results_write.c) and its readers (results_write.c read_status, json_export.c).
 *
 * Every HDF5 failure becomes DOB_EH5 with the object name and the innermost HDF5 error description (HDF5's own
 * automatic stack printing is switched off by dob_h5_quiet(), so nothing is printed to stderr behind the user's
 * back). Readers and attribute writers; dataset writing lives in results_write.c and checkpoint.c, which follow the
 * collective rules of parallel HDF5 (attribute creation on a shared file is collective: every rank calls). */
#ifndef DOB_IO_H5UTIL_H
#define DOB_IO_H5UTIL_H

#include <hdf5.h>
#include <stdint.h>

#include "dob/status.h"

#define DOB_RESULTS_SCHEMA_VERSION 1

/** Switch off HDF5's automatic error stack printing for this thread (idempotent). */
void dob_h5_quiet(void);
/** Record DOB_EH5: "HDF5: <what>: <HDF5's innermost error description>". Call right after the failing call. */
dob_status dob_h5_fail_at(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/** Evaluate an HDF5 call (hid_t or herr_t); if negative, record DOB_EH5 naming the object, set st, goto fail. */
#define DOB_H5(call, ...)                                            \
    do {                                                             \
        if ((call) < 0) {                                            \
            st = dob_h5_fail_at(__FILE__, __LINE__, __VA_ARGS__);    \
            goto fail;                                               \
        }                                                            \
    } while (0)

/** Read a scalar string attribute (variable- or fixed-length) of obj into buf (truncated to cap-1 bytes). */
dob_status dob_h5_attr_str(hid_t obj, const char *name, char *buf, size_t cap);
/** Read a scalar numeric attribute converted to int64 / double. */
dob_status dob_h5_attr_i64(hid_t obj, const char *name, int64_t *v);
dob_status dob_h5_attr_f64(hid_t obj, const char *name, double *v);
/** Read the 1-D string-array attribute `name`: *n gets its length, *out a malloc'd array of *n malloc'd strings
 *  (free with dob_h5_strv_free). */
dob_status dob_h5_attr_strv(hid_t obj, const char *name, int *n, char ***out);
void dob_h5_strv_free(char **v, int n);
/** Read a whole dataset of n elements into buf, converted to mem_type; DOB_EFORMAT if its size differs. */
dob_status dob_h5_read(hid_t loc, const char *name, hid_t mem_type, int64_t n, void *buf);

/** Variable-length UTF-8 string type (h5py reads it as str); close with H5Tclose. */
hid_t dob_h5_vstr_type(void);
/** Write attribute name of obj: scalar if n < 0, else 1-D of n elements. */
dob_status dob_h5_attr_write(hid_t obj, const char *name, hid_t ftype, hid_t mtype, int n, const void *v);
/** Scalar attributes: variable-length UTF-8 string (NULL = ""), int32, int64. */
dob_status dob_h5_put_str(hid_t obj, const char *name, const char *v);
dob_status dob_h5_put_i32(hid_t obj, const char *name, int32_t v);
dob_status dob_h5_put_i64(hid_t obj, const char *name, int64_t v);

#endif
