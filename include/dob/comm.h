/* dob/comm.h: the only view of MPI outside mpi/. A dob_comm is a group of ranks (the world, or the ranks of one
 * data-parallel job inside a sweep). Runs without mpirun too: MPI then starts as a singleton of size 1. */
#ifndef DOB_COMM_H
#define DOB_COMM_H

#include <stddef.h>
#include <stdint.h>

#include "dob/status.h"

typedef struct dob_comm dob_comm;

/** Initialise MPI (thread level FUNNELED) once per process; returns the world communicator. */
dob_status dob_comm_init(int *argc, char ***argv, dob_comm **world);
/** Finalise MPI (after destroying every comm). */
void dob_comm_finalize(void);
/** Abort every rank of the world with `code` (last resort, main only). */
void dob_comm_abort(int code);
int dob_comm_rank(const dob_comm *c);
int dob_comm_size(const dob_comm *c);
/** Split into groups of `group_size` consecutive ranks; *group gets this rank's group, *group_id its index. */
dob_status dob_comm_split(dob_comm *c, int group_size, dob_comm **group, int *group_id);
/** The ranks of c on this node (those that can share memory: MPI_Comm_split_type(MPI_COMM_TYPE_SHARED)), in
 *  c's rank order, as a new comm (free with dob_comm_destroy). Collective over c. */
dob_status dob_comm_split_node(dob_comm *c, dob_comm **node);
/** Free a comm made by split (the world is freed by finalize); accepts NULL. */
void dob_comm_destroy(dob_comm *c);
/** In-place sums over the comm. */
dob_status dob_comm_allreduce_float(dob_comm *c, float *x, size_t n);
dob_status dob_comm_allreduce_double(dob_comm *c, double *x, size_t n);
/** Start an in-place sum of x[0..n) over the comm and return; x must not be touched until dob_comm_wait_sums.
 *  Every rank starts the same sums in the same order. */
dob_status dob_comm_isum_float(dob_comm *c, float *x, size_t n);
/** Let the started sums advance (MPI moves them on only inside MPI calls); never blocks. */
dob_status dob_comm_progress(dob_comm *c);
/** Complete every started sum. */
dob_status dob_comm_wait_sums(dob_comm *c);
/** Max of an int over the ranks (a stop decision every rank must share). */
dob_status dob_comm_allreduce_max_int(dob_comm *c, int *x);
/** Collective: do all ranks agree that st is DOB_OK? Returns DOB_OK on every rank iff every rank passed DOB_OK.
 *  Otherwise every rank returns a failure: the lowest failing rank its own st and message, the others its status
 *  with the message "rank R: <its message>", so rank 0 can print the first failure and no rank goes on into a
 *  collective call the others never make. */
dob_status dob_comm_agree(dob_comm *c, dob_status st);
dob_status dob_comm_bcast(dob_comm *c, void *buf, size_t bytes, int root);
dob_status dob_comm_barrier(dob_comm *c);
double dob_comm_wtime(void);

/* ---- node-shared memory (mpi/shared.c) ---------------------------------------------------------------------
 * One block that every rank of a node maps (an MPI-3 shared window, MPI_Win_allocate_shared): data held once per
 * node instead of once per rank (issue 20). Rank 0 of the node comm owns and fills it; after dob_shared_seal every
 * rank sees its bytes and the block is read-only wherever the pages allow (mprotect). */
typedef struct dob_shared dob_shared;
/** Collective over node (a comm from dob_comm_split_node): a block of `bytes` (rank 0's argument; the others'
 *  is ignored), mapped by all; *base its address in this process. Fails (DOB_EMPI,
 *  on every rank alike) when MPI cannot make the window: the caller then keeps one plain copy per rank. */
dob_status dob_shared_alloc(dob_comm *node, size_t bytes, dob_shared **out, void **base);
/** Collective: rank 0 has written the block; afterwards every rank reads it, nobody writes it. */
dob_status dob_shared_seal(dob_shared *s);
/** Collective over the node comm of alloc; accepts NULL. */
void dob_shared_free(dob_shared *s);

/* ---- shared counters (mpi/counter.c) ------------------------------------------------------------------- */
/** A few int64 counters shared by all ranks of a comm, hosted on its rank 0 (an MPI RMA window); any rank
 *  updates them atomically without involving the host (passive target), so a sweep needs no master rank. */
typedef struct dob_counter dob_counter;
/** Collective over c: n_slots (1..16) counters, all 0. */
dob_status dob_counter_create(dob_comm *c, int n_slots, dob_counter **out);
/** Atomically add `add` to counter `slot`; *old gets the value before (add 0 to read). Not collective. */
dob_status dob_counter_fetch_add(dob_counter *k, int slot, int64_t add, int64_t *old);
/** Collective over the comm of create; accepts NULL. */
void dob_counter_destroy(dob_counter *k);

#endif
