/* shared.c: one block of memory per node, mapped by every rank of the node (include/dob/comm.h, issue 20).
 * An MPI-3 shared window: rank 0 of the node comm allocates the whole block, the others 0 bytes and look up
 * rank 0's segment (MPI_Win_shared_query), so the pages exist once and each process's PSS carries 1/ranks of
 * them. Rank 0 fills the block between alloc and seal; seal orders those writes before every rank's reads
 * (lock_all, Win_sync, barrier, Win_sync: the separate/unified-model recipe of MPI-3 §11.7) and then protects the
 * whole pages inside the block read-only in every process, so a stray write faults instead of corrupting the
 * data of every rank on the node. Does not: know what the bytes are (io/data_share.c lays out data sets). */
#include "comm_native.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

struct dob_shared {
    MPI_Comm comm;
    MPI_Win win;
    char *base;
    size_t bytes;
    int sealed;
};

static dob_status mpi_fail(int rc, const char *what) {
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    return DOB_FAIL(DOB_EMPI, "MPI %s failed: %s", what, msg);
}

/* The whole pages inside [base, base + bytes): the range mprotect may change without touching MPI's own. */
static void page_range(const dob_shared *s, char **lo, size_t *len) {
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), b = (uintptr_t)s->base;
    const uintptr_t a = (b + page - 1) / page * page, e = (b + s->bytes) / page * page;
    *lo = (char *)a;
    *len = e > a ? (size_t)(e - a) : 0;
}

dob_status dob_shared_alloc(dob_comm *node, size_t bytes, dob_shared **out, void **base) {
    const MPI_Comm comm = dob_comm_native(node);
    const int rank = dob_comm_rank(node);
    int ok = 1;
    *out = NULL;
    *base = NULL;
    dob_shared *s = calloc(1, sizeof *s);
    if (!s) ok = 0;
    MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, comm);
    if (!ok) {
        free(s);
        return DOB_FAIL(DOB_ENOMEM, "node-shared memory: out of memory");
    }
    s->comm = comm;
    s->bytes = bytes;
    MPI_Bcast(&s->bytes, sizeof s->bytes, MPI_BYTE, 0, comm);
    MPI_Info info;
    MPI_Info_create(&info);
    MPI_Info_set(info, "alloc_shared_noncontig", "true"); /* rank 0's segment may start on its own pages */
    void *mine = NULL;
    const MPI_Aint size = rank == 0 ? (MPI_Aint)(s->bytes ? s->bytes : 1) : 0;
    int rc = MPI_Win_allocate_shared(size, 1, info, comm, &mine, &s->win);
    MPI_Info_free(&info);
    /* a refused window must fail every rank alike: they fall back together */
    ok = rc == MPI_SUCCESS;
    MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, comm);
    if (!ok) {
        dob_status st = rc != MPI_SUCCESS ? mpi_fail(rc, "Win_allocate_shared")
                                          : DOB_FAIL(DOB_EMPI, "MPI Win_allocate_shared failed on another rank");
        if (rc == MPI_SUCCESS) MPI_Win_free(&s->win);
        free(s);
        return st;
    }
    MPI_Aint got = 0;
    int disp = 0;
    rc = MPI_Win_shared_query(s->win, 0, &got, &disp, &s->base);
    if (rc != MPI_SUCCESS || (size_t)got < s->bytes) {
        dob_status st = rc != MPI_SUCCESS ? mpi_fail(rc, "Win_shared_query")
                                          : DOB_FAIL(DOB_EMPI, "MPI shared window: %zu bytes of rank 0, expected %zu",
                                                     (size_t)got, s->bytes);
        MPI_Win_free(&s->win);
        free(s);
        return st;
    }
    MPI_Win_lock_all(MPI_MODE_NOCHECK, s->win);
    *out = s;
    *base = s->base;
    return DOB_OK;
}

dob_status dob_shared_seal(dob_shared *s) {
    MPI_Win_sync(s->win);
    int rc = MPI_Barrier(s->comm);
    MPI_Win_sync(s->win);
    MPI_Win_unlock_all(s->win);
    s->sealed = 1;
    if (rc != MPI_SUCCESS) return mpi_fail(rc, "Barrier (shared window)");
    char *lo;
    size_t len;
    page_range(s, &lo, &len);
    if (len) mprotect(lo, len, PROT_READ); /* a guard only: without it the data is just as shared */
    return DOB_OK;
}

void dob_shared_free(dob_shared *s) {
    if (!s) return;
    char *lo;
    size_t len;
    page_range(s, &lo, &len);
    if (s->sealed && len) mprotect(lo, len, PROT_READ | PROT_WRITE); /* MPI unmaps what it mapped writable */
    if (!s->sealed) MPI_Win_unlock_all(s->win);
    MPI_Win_free(&s->win);
    free(s);
}
