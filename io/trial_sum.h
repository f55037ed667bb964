/* trial_sum.h (internal to io/): the checksum of one sweep trial's data (issue 14).
 *
 * Sweep files carry a scalar int64 /trials/<i>/checksum, created with the trial's other datasets (collectively,
 * at file creation) and first written with its identity (hyperparameters, seed, id; status pending). The rank
 * that writes a trial's data or status (dob_results_write_trial, dob_results_set_status) writes it after the
 * data and before the status, so every status but running implies a checksum of that status; the readers
 * (dob_results_read_sweep, hence resume and merge) verify every trial that is not running. A running trial is
 * not verified: its data change until it ends, and --resume runs it again. */
#ifndef DOB_IO_TRIAL_SUM_H
#define DOB_IO_TRIAL_SUM_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#include "dob/status.h"

#define DOB_TRIAL_CHECKSUM "checksum"

/** Name of dataset j of a sweep trial in creation order, NULL past the last (results.c's schema table). */
const char *dob_trial_dset_name(size_t j);
/** CRC-32 of /trials/<trial>'s data as they are in file, with status as its final status. */
dob_status dob_trial_checksum(hid_t file, int trial, int32_t status, uint32_t *crc);
/** DOB_EFORMAT naming the trial if its stored checksum differs from its data with status; DOB_OK if it matches
 *  or the file predates checksums (no such dataset). */
dob_status dob_trial_verify(hid_t file, int trial, int32_t status);

#endif
