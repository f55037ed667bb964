/* dob/curves.h: the curves of one run, declared once.
 *
 * A run records eight curves of doubles: the DeepOBS metrics (train/valid/test loss and accuracy, one value per
 * evaluation round, num_epochs + 1 of them), the logged mini-batch losses (n_minibatch) and the wall time of each
 * epoch (num_epochs + 1). DOB_CURVE_LIST below is the one list of them: it gives the enum, the field names of
 * dob_train_out and dob_trial_result (so `o->test_losses` and `o->curve[DOB_CURVE_TEST_LOSSES]` are the same
 * pointer), and dob_curves[], the table the trainer, the result file, checkpoints, the JSON export and merge walk.
 * The curve name is also the HDF5 dataset name (result files, checkpoints) and the DeepOBS JSON key.
 *
 * The order is part of the file formats only through the names: readers look datasets up by name. */
#ifndef DOB_CURVES_H
#define DOB_CURVES_H

#include <stdint.h>

/* Flags of a curve (dob_curve_info.flags). */
enum {
    DOB_CURVE_EVAL = 1,     /* one value per evaluation round (the DeepOBS metrics) */
    DOB_CURVE_ACC = 2,      /* an accuracy: meaningful only for problems with an accuracy */
    DOB_CURVE_VALID = 4,    /* of the validation split: meaningful only for runs with one */
    DOB_CURVE_LOGGED = 8,   /* one value per logged mini-batch (n_minibatch long), not per epoch */
    DOB_CURVE_TIMING = 16,  /* wall time: differs between identical runs, not a result */
};

/* X(ID, name, flags), in the order of the enum and of dob_train_out.curve[]. The three losses and the three
 * accuracies are in split order (train, valid, test): DOB_CURVE_TRAIN_LOSSES + split. */
#define DOB_CURVE_LIST(X)                                                                                         \
    X(TRAIN_LOSSES, train_losses, DOB_CURVE_EVAL)                                                                  \
    X(VALID_LOSSES, valid_losses, DOB_CURVE_EVAL | DOB_CURVE_VALID)                                                \
    X(TEST_LOSSES, test_losses, DOB_CURVE_EVAL)                                                                    \
    X(TRAIN_ACCURACIES, train_accuracies, DOB_CURVE_EVAL | DOB_CURVE_ACC)                                          \
    X(VALID_ACCURACIES, valid_accuracies, DOB_CURVE_EVAL | DOB_CURVE_ACC | DOB_CURVE_VALID)                        \
    X(TEST_ACCURACIES, test_accuracies, DOB_CURVE_EVAL | DOB_CURVE_ACC)                                            \
    X(MINIBATCH_TRAIN_LOSSES, minibatch_train_losses, DOB_CURVE_LOGGED)                                            \
    X(EPOCH_SECONDS, epoch_seconds, DOB_CURVE_TIMING)

#define DOB_CURVE_ENUM_(id, name, flags) DOB_CURVE_##id,
typedef enum dob_curve { DOB_CURVE_LIST(DOB_CURVE_ENUM_) DOB_N_CURVES } dob_curve;
#undef DOB_CURVE_ENUM_

/* Field declarations for structs that hold one pointer per curve, named and as an array (C11 anonymous members):
 *   union { struct { DOB_CURVE_LIST(DOB_CURVE_FIELD) }; double *curve[DOB_N_CURVES]; };  */
#define DOB_CURVE_FIELD(id, name, flags) double *name;
#define DOB_CURVE_CONST_FIELD(id, name, flags) const double *name;

typedef struct dob_curve_info {
    const char *name; /* dataset name and JSON key */
    int flags;        /* DOB_CURVE_* */
} dob_curve_info;

extern const dob_curve_info dob_curves[DOB_N_CURVES];

/** Length of curve c in a run of num_epochs epochs that logs n_minibatch mini-batch losses. */
static inline int64_t dob_curve_len(int c, int64_t num_epochs, int64_t n_minibatch) {
    return (dob_curves[c].flags & DOB_CURVE_LOGGED) ? n_minibatch : num_epochs + 1;
}

#endif
