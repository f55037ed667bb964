/* dob/status.h: status codes and error messages with context.
 *
 * Every fallible dob call returns a dob_status. At the failure site DOB_FAIL records file:line and a message
 * that says what was expected and what was found, in a thread-local buffer read with dob_last_error().
 * Callers may prefix context on the way up with dob_error_prefix() ("problem fmnist_2c2d: layer conv1: ...").
 * Bad user input never aborts; DOB_ASSERT is only for broken internal invariants. */
#ifndef DOB_STATUS_H
#define DOB_STATUS_H

#include <stdarg.h>

typedef enum dob_status {
    DOB_OK = 0,
    DOB_EINVAL = -1,   /* invalid argument, flag, hyperparameter or configuration */
    DOB_ENOMEM = -2,   /* allocation failed */
    DOB_EIO = -3,      /* file system error (open, read, write, rename) */
    DOB_EDNNL = -4,    /* oneDNN call failed */
    DOB_EMPI = -5,     /* MPI call failed */
    DOB_EH5 = -6,      /* HDF5 call failed */
    DOB_EFORMAT = -7,  /* a file exists but its content is not in the expected format */
    DOB_ENOENT = -8,   /* a required file or directory does not exist */
    DOB_EEXIST = -9,   /* refusing to overwrite an existing result */
    DOB_EINTERNAL = -10 /* internal error: a bug in dob */
} dob_status;

/** @return the symbolic name of a status ("DOB_EINVAL"). */
const char *dob_status_str(dob_status st);
/** @return the message of the last failure on this thread ("" if none). */
const char *dob_last_error(void);
/** @return "file:line" of the last failure site on this thread ("" if none). */
const char *dob_last_error_site(void);
/** Record a failure: status, site and printf-style message. @return st, for `return DOB_FAIL(...)`. */
dob_status dob_fail_at(dob_status st, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/** Prepend printf-style context to the last message ("layer conv1: " + message). */
void dob_error_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/** Forget the last failure. */
void dob_error_clear(void);

#define DOB_FAIL(st, ...) dob_fail_at((st), __FILE__, __LINE__, __VA_ARGS__)

/** Call a dob function; on failure store its status in `st` and jump to `fail`. */
#define DOB_TRY(call)                       \
    do {                                    \
        dob_status dob_try_st_ = (call);    \
        if (dob_try_st_ != DOB_OK) {        \
            st = dob_try_st_;               \
            goto fail;                      \
        }                                   \
    } while (0)

/** Internal invariant; aborts with file:line. Never used on user input. */
#define DOB_ASSERT(cond)                                                         \
    do {                                                                         \
        if (!(cond)) dob_assert_fail(#cond, __FILE__, __LINE__);                 \
    } while (0)
void dob_assert_fail(const char *expr, const char *file, int line) __attribute__((noreturn));

#endif
