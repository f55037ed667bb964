/* seal.h (internal to io/): checksums of dob's HDF5 files, kept in the file's HDF5 user block (issue 14).
 *
 * A sealed file starts with a text block (HDF5 leaves the user block to the application; h5py reads such files
 * as usual):
 *     dob-seal 1
 *     state sealed                      ("open": being written, e.g. a running sweep; nothing to verify yet)
 *     ub <user block size>
 *     file <start> <end> <crc32>        every byte after the user block: HDF5 metadata and raw data
 *     ds <offset> <bytes> <crc32> <name>  one line per contiguous dataset (its raw data)
 *     end <crc32 of the lines above>
 * then zeros up to the user block size, then the HDF5 file proper. CRC-32 is zlib's.
 *
 * Verification reads the bytes only, before HDF5 parses anything: a damaged file never reaches the HDF5 library
 * (whose 1.10 parser is not robust against damaged metadata: tests/fuzz found crashes in it). A flipped byte in
 * a dataset is refused naming the dataset; elsewhere naming the region (the block itself, HDF5 metadata). */
#ifndef DOB_IO_SEAL_H
#define DOB_IO_SEAL_H

#include <hdf5.h>

#include "dob/status.h"

typedef enum dob_seal_state { DOB_SEAL_NONE = 0, DOB_SEAL_OPEN, DOB_SEAL_SEALED } dob_seal_state;

/** User block size for a file of about n_datasets datasets (a power of two >= 4096). */
hsize_t dob_seal_ub_size(long long n_datasets);
/** Mark path (created with a user block of ub bytes) as being written: state open. */
dob_status dob_seal_mark_open(const char *path, hsize_t ub);
/** Seal the closed file path: checksum every contiguous dataset and the whole file into its user block.
 *  A file without a user block (written by an older dob) is left as it is. */
dob_status dob_seal_file(const char *path);
/** Verify path before HDF5 opens it. what names the file kind in messages ("checkpoint", "result file").
 *  *state gets the seal state: open files (a sweep being written, or one whose writer was killed) pass with the
 *  block itself checked, unless require_sealed; a file without the block (DOB_SEAL_NONE: another program's, or
 *  an older dob's) is refused. *ub (may be NULL) gets the user block size. DOB_EFORMAT, naming the dataset or
 *  region, on any mismatch; DOB_ENOENT if missing. */
dob_status dob_seal_check(const char *path, const char *what, int require_sealed, dob_seal_state *state,
                          hsize_t *ub);

#endif
