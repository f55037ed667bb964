/* app.h: the dob command-line program (not part of dob_core): subcommands and their shared helpers. */
#ifndef DOB_APP_H
#define DOB_APP_H

#include <stdint.h>
#include <stdio.h>

#include "dob/comm.h"
#include "dob/status.h"

/* Exit codes */
enum { DOB_EXIT_OK = 0, DOB_EXIT_FAIL = 1, DOB_EXIT_USAGE = 2, DOB_EXIT_INTERRUPTED = 3 };

/** Print "dob: error: <msg>" (and the failure site with DOB_DEBUG=1) on rank 0. */
void app_error(dob_comm *world, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Print the last dob error with a context prefix. */
void app_status_error(dob_comm *world, const char *context);
int app_is_root(dob_comm *world);

/* ---- option parsing ---------------------------------------------------------------------------------- */
/** Parse a finite double; on error sets the message "--flag: expected a number, found 'x'". */
dob_status app_parse_double(const char *flag, const char *s, double *out);
dob_status app_parse_int(const char *flag, const char *s, int64_t *out);
/** Parse "a,b,c" or several tokens into up to max values. */
dob_status app_parse_double_list(const char *flag, const char *s, double *out, int max, int *n);
/** @return the closest name in names[0..n) to s by edit distance if it is close, else NULL. */
const char *app_suggest(const char *s, const char *const *names, int n);

int cmd_run(dob_comm *world, int argc, char **argv);



#endif
