/* trial_sum.c: the checksum of one sweep trial's data (issue 14), see trial_sum.h.
 *
 * Why not the seal: a sweep file stays unsealed while its sweep runs, and for good when its writer is killed, so
 * the whole-file checksums of seal.h never cover it; a resumed or merged sweep would take a damaged finished
 * trial at its word. Each trial is checksummed when it ends instead, by the rank that writes it.
 *
 * What is summed: CRC-32 (zlib) over every dataset of a sweep trial in schema order (dob_trial_dset_name, the
 * table results.c creates them from) except the mutable status, run_count and checksum themselves: its name with
 * the NUL, then its values read as native double (floating point) or int64 (integers); at the end the final
 * status as int64. Summing what the file holds (read back), not the writer's buffers, makes the writer and the
 * reader one function, whatever datasets a trial result left at their fill value, and a dataset added to the
 * schema is covered without a change here. Native doubles and int64 are little-endian on every machine dob runs
 * on (x86-64; HDF5 converts the file's LE types).
 *
 * Datasets are opened by path, never found by iterating the group: on the writer (a rank of a parallel file)
 * H5Gget_info/H5Lget_name_by_idx on these old-style groups left metadata dirty on that rank alone, and the
 * collective H5Fclose then deadlocked (ranks in different cache sync points; seen resuming a damaged sweep on
 * 3 ranks, HDF5 1.10.8). */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "h5util.h"
#include "trial_sum.h"

#define MAX_POINTS (1 << 26) /* no trial dataset is near this; a damaged dataspace is refused, not allocated */

static int excluded(const char *name) {
    return !strcmp(name, "status") || !strcmp(name, "run_count") || !strcmp(name, DOB_TRIAL_CHECKSUM);
}

/* Adds one dataset's name and values to *crc. */
static dob_status sum_dataset(hid_t file, int trial, const char *name, uLong *crc) {
    dob_status st = DOB_OK;
    hid_t d = -1, sp = -1, ty = -1;
    void *buf = NULL;
    char path[96];
    snprintf(path, sizeof path, "trials/%d/%s", trial, name);
    DOB_H5(d = H5Dopen2(file, path, H5P_DEFAULT), "open /trials/%d/%s", trial, name);
    DOB_H5(sp = H5Dget_space(d), "dataspace of /trials/%d/%s", trial, name);
    DOB_H5(ty = H5Dget_type(d), "type of /trials/%d/%s", trial, name);
    const hssize_t n = H5Sget_simple_extent_npoints(sp);
    const H5T_class_t cls = H5Tget_class(ty);
    if (n < 0 || n > MAX_POINTS || (cls != H5T_FLOAT && cls != H5T_INTEGER)) {
        st = DOB_FAIL(DOB_EFORMAT, "/trials/%d/%s: expected a numeric dataset of at most %d values", trial, name,
                      MAX_POINTS);
        goto fail;
    }
    const hid_t mtype = cls == H5T_FLOAT ? H5T_NATIVE_DOUBLE : H5T_NATIVE_INT64;
    buf = malloc((size_t)(n ? n : 1) * 8);
    if (!buf) {
        st = DOB_FAIL(DOB_ENOMEM, "out of memory for /trials/%d/%s", trial, name);
        goto fail;
    }
    DOB_H5(H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf), "read /trials/%d/%s", trial, name);
    *crc = crc32(*crc, (const Bytef *)name, (uInt)strlen(name) + 1);
    *crc = crc32(*crc, buf, (uInt)((size_t)n * 8));
fail:
    free(buf);
    if (ty >= 0) H5Tclose(ty);
    if (sp >= 0) H5Sclose(sp);
    if (d >= 0) H5Dclose(d);
    return st;
}

dob_status dob_trial_checksum(hid_t file, int trial, int32_t status, uint32_t *out) {
    dob_status st = DOB_OK;
    uLong crc = crc32(0L, Z_NULL, 0);
    const char *name;
    for (size_t j = 0; (name = dob_trial_dset_name(j)); j++)
        if (!excluded(name)) DOB_TRY(sum_dataset(file, trial, name, &crc));
    const int64_t s = status;
    crc = crc32(crc, (const Bytef *)&s, sizeof s);
    *out = (uint32_t)crc;
fail:
    return st;
}

dob_status dob_trial_verify(hid_t file, int trial, int32_t status) {
    dob_status st = DOB_OK;
    char path[64];
    snprintf(path, sizeof path, "trials/%d/" DOB_TRIAL_CHECKSUM, trial);
    htri_t has = H5Lexists(file, path, H5P_DEFAULT);
    if (has < 0) return dob_h5_fail_at(__FILE__, __LINE__, "look up /%s", path);
    if (!has) return DOB_OK; /* a file of a dob before checksums: nothing to verify */
    int64_t stored = 0;
    uint32_t now = 0;
    DOB_TRY(dob_h5_read(file, path, H5T_NATIVE_INT64, 1, &stored));
    DOB_TRY(dob_trial_checksum(file, trial, status, &now));
    if (stored != (int64_t)now)
        return DOB_FAIL(DOB_EFORMAT, "trial /trials/%d: its data do not match their checksum (stored %08llx, "
                        "computed %08x): the file was damaged after the trial was written; `dob sweep --resume` on this "
                        "file runs the trial again", trial,
                        (unsigned long long)stored, (unsigned)now);
    return DOB_OK;
fail:
    return st;
}
