/* comm.c: dob_comm over MPI. Large buffers are reduced in chunks of at most INT_MAX elements.
 * Errors return DOB_EMPI with the MPI error string; MPI_ERRORS_RETURN is set on every comm. */
#include "comm_native.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PENDING 64 /* nonblocking sums in flight per comm; one more waits for the oldest first */

struct dob_comm {
    MPI_Comm comm;
    int rank, size, owned;
    MPI_Request pending[MAX_PENDING]; /* dob_comm_isum_float, completed by dob_comm_wait_sums */
    int n_pending;
};

static dob_comm world_comm;

MPI_Comm dob_comm_native(const dob_comm *c) { return c->comm; }

static dob_status mpi_fail(int rc, const char *what) {
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    return DOB_FAIL(DOB_EMPI, "MPI %s failed: %s", what, msg);
}
#define MPI_TRY(call, what)                               \
    do {                                                  \
        int rc_ = (call);                                 \
        if (rc_ != MPI_SUCCESS) return mpi_fail(rc_, what); \
    } while (0)

/* Open MPI 4.1's "lockedfile" shared-file-pointer component formats the path of every file MPI_File_open opens
 * into a fixed buffer: a result path of 241+ characters overflowed it (glibc's __sprintf_chk aborted the run in
 * H5Fcreate, issue 14). HDF5 never uses shared file pointers, and the "sm"/"individual" components take any path
 * (measured up to 3827 characters), so the component is left out unless the user chose the components
 * themselves. Set before MPI_Init: Open MPI reads OMPI_MCA_* from the environment then. */
static void avoid_lockedfile_sharedfp(void) {
    const char *v = getenv("OMPI_MCA_sharedfp");
    if (!v || !*v) setenv("OMPI_MCA_sharedfp", "^lockedfile", 1);
}

dob_status dob_comm_init(int *argc, char ***argv, dob_comm **world) {
    int inited = 0, provided = 0;
    MPI_Initialized(&inited);
    if (!inited) avoid_lockedfile_sharedfp();
    if (!inited) MPI_TRY(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "init");
    world_comm.comm = MPI_COMM_WORLD;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &world_comm.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world_comm.size);
    *world = &world_comm;
    return DOB_OK;
}

void dob_comm_finalize(void) {
    int inited = 0, fin = 0;
    MPI_Initialized(&inited);
    MPI_Finalized(&fin);
    if (inited && !fin) MPI_Finalize();
}

void dob_comm_abort(int code) { MPI_Abort(MPI_COMM_WORLD, code); }
int dob_comm_rank(const dob_comm *c) { return c->rank; }
int dob_comm_size(const dob_comm *c) { return c->size; }

dob_status dob_comm_split(dob_comm *c, int group_size, dob_comm **group, int *group_id) {
    if (group_size < 1 || c->size % group_size)
        return DOB_FAIL(DOB_EINVAL, "--ranks-per-trial %d must divide the number of ranks %d", group_size, c->size);
    dob_comm *g = calloc(1, sizeof *g);
    if (!g) return DOB_FAIL(DOB_ENOMEM, "out of memory");
    int color = c->rank / group_size;
    int rc = MPI_Comm_split(c->comm, color, c->rank, &g->comm);
    if (rc != MPI_SUCCESS) {
        free(g);
        return mpi_fail(rc, "Comm_split");
    }
    MPI_Comm_set_errhandler(g->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(g->comm, &g->rank);
    MPI_Comm_size(g->comm, &g->size);
    g->owned = 1;
    *group = g;
    if (group_id) *group_id = color;
    return DOB_OK;
}

dob_status dob_comm_split_node(dob_comm *c, dob_comm **node) {
    dob_comm *g = calloc(1, sizeof *g);
    if (!g) return DOB_FAIL(DOB_ENOMEM, "out of memory");
    int rc = MPI_Comm_split_type(c->comm, MPI_COMM_TYPE_SHARED, c->rank, MPI_INFO_NULL, &g->comm);
    if (rc != MPI_SUCCESS) {
        free(g);
        return mpi_fail(rc, "Comm_split_type(SHARED)");
    }
    MPI_Comm_set_errhandler(g->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(g->comm, &g->rank);
    MPI_Comm_size(g->comm, &g->size);
    g->owned = 1;
    *node = g;
    return DOB_OK;
}

void dob_comm_destroy(dob_comm *c) {
    if (!c || !c->owned) return;
    MPI_Comm_free(&c->comm);
    free(c);
}

dob_status dob_comm_allreduce_float(dob_comm *c, float *x, size_t n) {
    if (c->size == 1) return DOB_OK;
    for (size_t off = 0; off < n; off += INT_MAX) {
        int m = (int)(n - off < (size_t)INT_MAX ? n - off : (size_t)INT_MAX);
        MPI_TRY(MPI_Allreduce(MPI_IN_PLACE, x + off, m, MPI_FLOAT, MPI_SUM, c->comm), "Allreduce(float)");
    }
    return DOB_OK;
}

/* Nonblocking sums: MPI_Iallreduce per chunk of at most INT_MAX. Open MPI moves a nonblocking collective on only
 * inside MPI calls, so the caller drives it with dob_comm_progress between pieces of work. */
dob_status dob_comm_isum_float(dob_comm *c, float *x, size_t n) {
    if (c->size == 1) return DOB_OK;
    for (size_t off = 0; off < n; off += INT_MAX) {
        int m = (int)(n - off < (size_t)INT_MAX ? n - off : (size_t)INT_MAX);
        if (c->n_pending == MAX_PENDING) {
            MPI_TRY(MPI_Wait(&c->pending[0], MPI_STATUS_IGNORE), "Wait");
            memmove(c->pending, c->pending + 1, (size_t)(MAX_PENDING - 1) * sizeof *c->pending);
            c->n_pending--;
        }
        MPI_TRY(MPI_Iallreduce(MPI_IN_PLACE, x + off, m, MPI_FLOAT, MPI_SUM, c->comm, &c->pending[c->n_pending]),
                "Iallreduce(float)");
        c->n_pending++;
    }
    return DOB_OK;
}

dob_status dob_comm_progress(dob_comm *c) {
    if (!c->n_pending) return DOB_OK;
    int done = 0;
    MPI_TRY(MPI_Testall(c->n_pending, c->pending, &done, MPI_STATUSES_IGNORE), "Testall");
    if (done) c->n_pending = 0;
    return DOB_OK;
}

dob_status dob_comm_wait_sums(dob_comm *c) {
    if (!c->n_pending) return DOB_OK;
    int n = c->n_pending;
    c->n_pending = 0;
    MPI_TRY(MPI_Waitall(n, c->pending, MPI_STATUSES_IGNORE), "Waitall");
    return DOB_OK;
}

dob_status dob_comm_allreduce_double(dob_comm *c, double *x, size_t n) {
    if (c->size == 1) return DOB_OK;
    for (size_t off = 0; off < n; off += INT_MAX) {
        int m = (int)(n - off < (size_t)INT_MAX ? n - off : (size_t)INT_MAX);
        MPI_TRY(MPI_Allreduce(MPI_IN_PLACE, x + off, m, MPI_DOUBLE, MPI_SUM, c->comm), "Allreduce(double)");
    }
    return DOB_OK;
}

dob_status dob_comm_allreduce_max_int(dob_comm *c, int *x) {
    if (c->size == 1) return DOB_OK;
    MPI_TRY(MPI_Allreduce(MPI_IN_PLACE, x, 1, MPI_INT, MPI_MAX, c->comm), "Allreduce(max)");
    return DOB_OK;
}

/* The failure of the lowest failing rank, as broadcast by dob_comm_agree. */
typedef struct agree_msg {
    int st;
    char msg[1024];
} agree_msg;

dob_status dob_comm_agree(dob_comm *c, dob_status st) {
    if (c->size == 1) return st;
    /* max over ranks of size - rank: the lowest failing rank wins (0: no rank failed) */
    int first = st != DOB_OK ? c->size - c->rank : 0;
    MPI_TRY(MPI_Allreduce(MPI_IN_PLACE, &first, 1, MPI_INT, MPI_MAX, c->comm), "Allreduce(agree)");
    if (first == 0) return DOB_OK;
    const int who = c->size - first;
    static agree_msg m; /* 1 KB off small thread stacks: only the main thread agrees */
    memset(&m, 0, sizeof m);
    if (c->rank == who) {
        m.st = (int)st;
        snprintf(m.msg, sizeof m.msg, "%s", dob_last_error());
    }
    MPI_TRY(MPI_Bcast(&m, (int)sizeof m, MPI_BYTE, who, c->comm), "Bcast(agree)");
    if (c->rank == who) return st;
    return DOB_FAIL((dob_status)m.st, "rank %d: %s", who, m.msg);
}

dob_status dob_comm_bcast(dob_comm *c, void *buf, size_t bytes, int root) {
    if (c->size == 1) return DOB_OK;
    if (bytes > (size_t)INT_MAX) return DOB_FAIL(DOB_EINVAL, "broadcast of %zu bytes too large", bytes);
    MPI_TRY(MPI_Bcast(buf, (int)bytes, MPI_BYTE, root, c->comm), "Bcast");
    return DOB_OK;
}

dob_status dob_comm_barrier(dob_comm *c) {
    MPI_TRY(MPI_Barrier(c->comm), "Barrier");
    return DOB_OK;
}

double dob_comm_wtime(void) { return MPI_Wtime(); }
