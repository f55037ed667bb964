/* meta.h (internal to io/): the /meta group of a result file, described by one table (meta.c) and read and written
 * by one pair of functions. The record is the /meta part of dob_sweep_desc (include/dob/results.h): the writer
 * (results.c) fills one from the caller's dob_results_meta and dob_sweep_meta, every reader (results_write.c for
 * --resume, results.c for reopening, sweep_file.c, json_export.c) gets one back. A new /meta attribute is one row
 * in meta.c plus its field in dob_sweep_desc. */
#ifndef DOB_IO_META_H
#define DOB_IO_META_H

#include <hdf5.h>

#include "dob/results.h"

/** Create /meta in file and write every attribute of d (collective under parallel HDF5: every rank calls with
 *  identical d). The sweep attributes are written iff d->spec is set. NULL strings are written as the row's
 *  default ("" where none). */
dob_status dob_meta_write(hid_t file, const dob_sweep_desc *d);
/** Read /meta of file into the /meta fields of d (the others are left alone; strings malloc'd, free with
 *  dob_meta_free). d->spec is set iff the file is a sweep file. DOB_EFORMAT if there is no /meta, the schema
 *  version differs, an attribute is missing, or the values are inconsistent. path names the file in messages. */
dob_status dob_meta_read(hid_t file, const char *path, dob_sweep_desc *d);
/** Free the /meta fields dob_meta_read allocated and zero them; accepts zeroed fields. */
void dob_meta_free(dob_sweep_desc *d);

#endif
