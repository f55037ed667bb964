/* curves.c: the table of a run's curves (include/dob/curves.h), and the checks that the named and the array view
 * of dob_train_out's curves are the same storage. */
#include <stddef.h>

#include "dob/curves.h"
#include "dob/trainer.h"

#define ROW_(id, name, flags) [DOB_CURVE_##id] = {#name, flags},
const dob_curve_info dob_curves[DOB_N_CURVES] = {DOB_CURVE_LIST(ROW_)};
#undef ROW_

/* o->name and o->curve[DOB_CURVE_ID] must alias: the anonymous struct of pointers and the array share offsets. */
#define SAME_SLOT_(id, name, flags)                                                                                \
    _Static_assert(offsetof(dob_train_out, name) ==                                                                \
                       offsetof(dob_train_out, curve) + (size_t)DOB_CURVE_##id * sizeof(double *),                 \
                   "dob_train_out: " #name " is not curve[DOB_CURVE_" #id "]");
DOB_CURVE_LIST(SAME_SLOT_)
#undef SAME_SLOT_
