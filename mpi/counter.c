/* counter.c: dob_counter, a few int64 counters shared by the ranks of a comm (API in include/dob/comm.h).
 *
 * The counters live in an MPI window allocated on rank 0 of the comm (MPI_Win_allocate; 0 bytes elsewhere).
 * Every access is a passive-target epoch MPI_Win_lock(SHARED) + MPI_Fetch_and_op + MPI_Win_unlock, so rank 0
 * does not have to call MPI while others take ids: a sweep has no master rank and rank 0 trains like everyone.
 * Fetch_and_op is atomic with respect to other accumulate operations on the same location, so shared locks are
 * enough. The window is created with accumulate_ops = same_op_no_op (only MPI_SUM and MPI_NO_OP are used),
 * which lets Open MPI's osc/rdma and osc/sm use hardware atomics.
 *
 * It does not: give fairness guarantees, or work with an MPI whose one-sided layer needs the target to make
 * progress (Open MPI osc/pt2pt): there a rank busy in a long computation would delay the others. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "comm_native.h"

#define MAX_SLOTS 16

struct dob_counter {
    MPI_Win win;
    int n_slots;
};

static dob_status counter_fail(int rc, const char *what) {
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    return DOB_FAIL(DOB_EMPI, "shared counter: MPI %s failed: %s", what, msg);
}

dob_status dob_counter_create(dob_comm *c, int n_slots, dob_counter **out) {
    *out = NULL;
    if (n_slots < 1 || n_slots > MAX_SLOTS)
        return DOB_FAIL(DOB_EINVAL, "shared counter: expected 1..%d slots, found %d", MAX_SLOTS, n_slots);
    dob_counter *k = calloc(1, sizeof *k);
    if (!k) return DOB_FAIL(DOB_ENOMEM, "out of memory");
    k->n_slots = n_slots;
    MPI_Comm comm = dob_comm_native(c);
    int rank = dob_comm_rank(c);
    MPI_Info info;
    MPI_Info_create(&info);
    MPI_Info_set(info, "accumulate_ops", "same_op_no_op");
    int64_t *base = NULL;
    MPI_Aint bytes = rank == 0 ? (MPI_Aint)(sizeof(int64_t) * (size_t)n_slots) : 0;
    int rc = MPI_Win_allocate(bytes, (int)sizeof(int64_t), info, comm, &base, &k->win);
    MPI_Info_free(&info);
    if (rc != MPI_SUCCESS) {
        free(k);
        return counter_fail(rc, "Win_allocate");
    }
    MPI_Win_set_errhandler(k->win, MPI_ERRORS_RETURN);
    if (rank == 0) {
        /* local stores inside an exclusive epoch: visible to the others' later atomics (separate model too) */
        MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, k->win);
        memset(base, 0, (size_t)bytes);
        MPI_Win_unlock(0, k->win);
    }
    rc = MPI_Barrier(comm);
    if (rc != MPI_SUCCESS) {
        MPI_Win_free(&k->win);
        free(k);
        return counter_fail(rc, "Barrier");
    }
    *out = k;
    return DOB_OK;
}

dob_status dob_counter_fetch_add(dob_counter *k, int slot, int64_t add, int64_t *old) {
    if (!k || slot < 0 || slot >= k->n_slots)
        return DOB_FAIL(DOB_EINVAL, "shared counter: slot %d out of range [0, %d)", slot, k ? k->n_slots : 0);
    int64_t result = 0;
    int rc = MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, k->win);
    if (rc != MPI_SUCCESS) return counter_fail(rc, "Win_lock");
    rc = MPI_Fetch_and_op(&add, &result, MPI_INT64_T, 0, (MPI_Aint)slot, add ? MPI_SUM : MPI_NO_OP, k->win);
    int rc2 = MPI_Win_unlock(0, k->win);
    if (rc != MPI_SUCCESS) return counter_fail(rc, "Fetch_and_op");
    if (rc2 != MPI_SUCCESS) return counter_fail(rc2, "Win_unlock");
    *old = result;
    return DOB_OK;
}

void dob_counter_destroy(dob_counter *k) {
    if (!k) return;
    MPI_Win_free(&k->win);
    free(k);
}
