/* dob/io.h: file-system helpers and the data of each test problem (io/). */
#ifndef DOB_IO_H
#define DOB_IO_H

#include <stddef.h>

#include "dob/comm.h"
#include "dob/data.h"
#include "dob/problem.h"
#include "dob/status.h"

/** Reader options that change what a data set decodes to (recorded with the results). */
typedef struct dob_data_opts {
    int cifar100_fix_offset;  /* 1: read CIFAR-100 images from the correct byte (DeepOBS TF reads one early) */
} dob_data_opts;

/** Load one split ("train", "valid", "test") of a data set by its key (dob_problem_spec.dataset: "mnist",
 *  "cifar10", ...): "valid" is DeepOBS v1.2's validation split (the first n_valid training examples in file
 *  order, or its own draw for the synthetic sets), "train" is then the rest when n_valid > 0, the whole training
 *  set when n_valid == 0. o may be NULL (defaults). @return DOB_EINVAL for an unknown set or split. */
dob_status dob_data_load_split(const char *dataset, const char *data_dir, const dob_data_opts *o, const char *split,
                               int64_t n_valid, dob_dataset *out);
/** 1 if `dataset` is a key of the data-set table. */
int dob_data_known(const char *dataset);
/** 1 if `dataset` is streamed from its files by each rank (ImageNet), so never loaded whole nor shared. */
int dob_data_streamed(const char *dataset);
/** dob_problem_data_load with reader options (o may be NULL). */
dob_status dob_problem_data_load_opts(const dob_problem_spec *p, const char *data_dir, const dob_data_opts *o,
                                      int use_valid, dob_dataset *train, dob_dataset *valid, dob_dataset *test);
/** A problem's data held once per node (io/data_share.c, issue 20). */
typedef struct dob_node_data {
    dob_comm *node;      /* the ranks of this node (NULL when the world has one rank) */
    dob_shared *mem;     /* the shared window holding the splits (NULL: each rank holds its own copy) */
    int ranks;           /* ranks of the job on this node */
    size_t bytes;        /* bytes of one copy of the three splits */
    char note[256];      /* how the data is held, for -v ("one copy in a shared window of 4 ranks", or why not) */
} dob_node_data;
/** dob_problem_data_load_opts, once per node: collective over world. The node's first rank reads the files and
 *  copies the splits into an MPI-3 shared window that the node's other ranks map read-only (the data sets come
 *  back borrowed from it); one rank per node, DOB_SHARED_DATA=0 in the environment, or a window MPI refuses give
 *  every rank its own copy (nd->mem NULL, the reason in nd->note). The status is agreed over the node; the
 *  caller agrees it over the world. Free the data sets, then dob_node_data_free (collective). */
dob_status dob_problem_data_load_node(const dob_problem_spec *p, const char *data_dir, const dob_data_opts *o,
                                      int use_valid, dob_comm *world, dob_dataset *train, dob_dataset *valid,
                                      dob_dataset *test, dob_node_data *nd);
/** Collective over the node; accepts an all-zero nd. */
void dob_node_data_free(dob_node_data *nd);
/** `dob data`'s HDF5 dump of d (io/data_dump.c): /x float32 [N,H,W,C], /y int64 class indices, string attributes
 *  dataset, split, preprocessing. Never replaces a file (DOB_EEXIST); written to a temporary name, renamed. */
dob_status dob_data_dump_h5(const char *path, const dob_dataset *d, const char *dataset, const char *split,
                            const char *preprocessing);
/** `dob data`'s PNG grid of d (C,H,W images with 1 or 3 channels), each tile min-max scaled and labelled with its
 *  class index. Never replaces a file (DOB_EEXIST). */
dob_status dob_data_dump_png(const char *path, const dob_dataset *d);
/** Load a problem's splits. use_valid = 1 carves DeepOBS v1.2's validation split (the first train_eval_size
 *  training examples) off the training set; 0 keeps DeepOBS v1.1's full training set (valid left empty).
 *  data_dir may be NULL (DOB_DATA_DIR, then the data set's default location). */
dob_status dob_problem_data_load(const dob_problem_spec *p, const char *data_dir, int use_valid, dob_dataset *train,
                                 dob_dataset *valid, dob_dataset *test);
/** mkdir -p; the message names the first component that could not be created and why. */
dob_status dob_io_mkdirs(const char *path);
/** The directory of file `path` exists and is writable, with need_bytes free (0: not checked); else DOB_ENOENT /
 *  DOB_EIO with a message naming the directory, `what` ("checkpoint", "result file") and path. */
dob_status dob_io_check_dir_of(const char *path, const char *what, double need_bytes);
/** @return 1 if path exists (any type). */
int dob_io_exists(const char *path);
/** The directory part of path into dir: "." when path has no '/', "/" for a file in the root. DOB_EINVAL when
 *  it does not fit in cap bytes. */
dob_status dob_io_dirname(const char *path, char *dir, size_t cap);
/** The kernel's estimate of memory available to new work (MemAvailable of /proc/meminfo) in bytes; 0 if unknown.
 *  DOB_MEM_AVAILABLE_MB in the environment replaces it (a job's share of a node, or tests). */
double dob_io_mem_available(void);
/** 1 if paths a and b name the same file: the same real directory and base name (b need not exist). */
int dob_io_same_file(const char *a, const char *b);

#endif
