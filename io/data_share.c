/* data_share.c: a problem's data held once per node (include/dob/io.h, issue 20).
 * Every rank of a data-parallel run or a packed sweep trains on the same read-only bytes, so the ranks of a node
 * (the world split by node, whatever trial groups a sweep makes later) keep one copy: the node's first rank reads
 * the files as a single process does, then packs the three splits into an MPI-3 shared window (mpi/shared.c)
 * and frees its private copy; the others receive the headers and view the window. Layout of the window:
 * [64-byte pad to alignment] train | valid | test, each as dob_dataset_pack lays it out (x, then y or labels,
 * each rounded to 64 bytes). The numbers a batch sees do not change: the views are the same stored values.
 * Falls back to one plain copy per rank (each rank reads the files) when the node has one rank, when
 * DOB_SHARED_DATA=0, or when MPI refuses the window; nd->note says which.
 * Does not: decide anything about the data (io/problem_data.c), or share across nodes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dob/io.h"

/* Every rank reads its own copy (the pre-issue-20 behaviour). */
static dob_status load_plain(const dob_problem_spec *p, const char *data_dir, const dob_data_opts *o, int use_valid,
                             dob_dataset *sets[3], dob_node_data *nd) {
    dob_status st = dob_problem_data_load_opts(p, data_dir, o, use_valid, sets[0], sets[1], sets[2]);
    nd->bytes = 0;
    for (int i = 0; i < 3 && st == DOB_OK; i++) nd->bytes += dob_dataset_bytes(sets[i]);
    return st;
}

static int sharing_off(void) {
    const char *v = getenv("DOB_SHARED_DATA");
    return v && !strcmp(v, "0");
}

/* Rank 0 of the node: copy its splits into the window at base and make them views of it. */
static void pack_into(dob_dataset *sets[3], char *base) {
    size_t off = 0;
    for (int i = 0; i < 3; i++) {
        dob_dataset hdr = *sets[i];
        dob_dataset_pack(sets[i], base + off);
        dob_dataset_free(sets[i]);
        dob_dataset_view(&hdr, base + off, sets[i]);
        off += dob_dataset_bytes(&hdr);
    }
}

/* The other ranks: views of the window described by rank 0's headers. */
static void view_of(const dob_dataset hdr[3], const char *base, dob_dataset *sets[3]) {
    size_t off = 0;
    for (int i = 0; i < 3; i++) {
        dob_dataset_view(&hdr[i], base + off, sets[i]);
        off += dob_dataset_bytes(&hdr[i]);
    }
}

/* Collective over the node once rank 0 holds the splits: headers out, window up, bytes in, views everywhere. */
static dob_status share(dob_node_data *nd, dob_dataset *sets[3]) {
    dob_dataset hdr[3];
    const int leader = dob_comm_rank(nd->node) == 0;
    memset(hdr, 0, sizeof hdr);
    if (leader)
        for (int i = 0; i < 3; i++) hdr[i] = *sets[i];
    dob_status st = dob_comm_bcast(nd->node, hdr, sizeof hdr, 0);
    if (st != DOB_OK) return st;
    nd->bytes = 0;
    for (int i = 0; i < 3; i++) nd->bytes += dob_dataset_bytes(&hdr[i]);
    void *raw = NULL;
    if ((st = dob_shared_alloc(nd->node, nd->bytes + 64, &nd->mem, &raw)) != DOB_OK) return st;
    char *base = (char *)raw + (64 - (uintptr_t)raw % 64) % 64;
    if (leader) pack_into(sets, base);
    if ((st = dob_shared_seal(nd->mem)) != DOB_OK) return st;
    if (!leader) view_of(hdr, base, sets);
    return DOB_OK;
}

dob_status dob_problem_data_load_node(const dob_problem_spec *p, const char *data_dir, const dob_data_opts *o,
                                      int use_valid, dob_comm *world, dob_dataset *train, dob_dataset *valid,
                                      dob_dataset *test, dob_node_data *nd) {
    dob_dataset *sets[3] = {train, valid, test};
    memset(nd, 0, sizeof *nd);
    nd->ranks = 1;
    for (int i = 0; i < 3; i++) memset(sets[i], 0, sizeof *sets[i]);
    if (dob_comm_size(world) == 1) {
        snprintf(nd->note, sizeof nd->note, "one copy in this process (a single rank)");
        return load_plain(p, data_dir, o, use_valid, sets, nd);
    }
    dob_status st = dob_comm_split_node(world, &nd->node);
    if (st != DOB_OK) return st;
    nd->ranks = dob_comm_size(nd->node);
    const int leader = dob_comm_rank(nd->node) == 0;
    if (nd->ranks == 1 || sharing_off()) {
        snprintf(nd->note, sizeof nd->note, "one copy per rank (%s)",
                 nd->ranks == 1 ? "one rank on this node" : "DOB_SHARED_DATA=0");
        return dob_comm_agree(nd->node, load_plain(p, data_dir, o, use_valid, sets, nd));
    }
    if (dob_data_streamed(p->dataset)) { /* each rank decodes its own slice of every batch */
        snprintf(nd->note, sizeof nd->note, "streamed from the files by each rank (%d ranks on this node)", nd->ranks);
        return dob_comm_agree(nd->node, load_plain(p, data_dir, o, use_valid, sets, nd));
    }
    st = leader ? load_plain(p, data_dir, o, use_valid, sets, nd) : DOB_OK;
    if ((st = dob_comm_agree(nd->node, st)) != DOB_OK) return st;
    st = share(nd, sets);
    if (st == DOB_OK) {
        snprintf(nd->note, sizeof nd->note, "one copy per node in an MPI shared window (%d ranks on this node)",
                 nd->ranks);
        return DOB_OK;
    }
    if (nd->mem) return st; /* the window exists but MPI failed after: nothing sane to fall back to */
    /* MPI refused the window (the same on every rank of the node): rank 0 keeps its copy, the others read theirs */
    snprintf(nd->note, sizeof nd->note, "one copy per rank: %.200s", dob_last_error());
    st = leader ? DOB_OK : load_plain(p, data_dir, o, use_valid, sets, nd);
    return dob_comm_agree(nd->node, st);
}

void dob_node_data_free(dob_node_data *nd) {
    if (!nd) return;
    dob_shared_free(nd->mem);
    dob_comm_destroy(nd->node);
    memset(nd, 0, sizeof *nd);
}
