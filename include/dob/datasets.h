/* dob/datasets.h: readers for the official data set files (io/) and the DeepOBS splits.
 *
 * Typical use (what a problem's data step does):
 *
 *     char dir[4096];
 *     dob_dataset train, valid, test;
 *     dob_data_dir_resolve(opt_data_dir, "fmnist", dir, sizeof dir);   // --data_dir, DOB_DATA_DIR, ...
 *     dob_mnist_load(dir, "train", &train);                             // 60 000 x {1,28,28}, one-hot k=10
 *     dob_mnist_load(dir, "test", &test);                               // 10 000
 *     dob_dataset_split_valid(&train, 10000, &valid);                   // v1.2b: valid = first 10 000
 *
 * Every function returns a dob_status and leaves a message naming the file, what was expected and what was
 * found, and for missing data how to get it. Nothing here aborts on bad files. */
#ifndef DOB_DATASETS_H
#define DOB_DATASETS_H

#include <stddef.h>
#include <stdint.h>

#include "dob/data.h"
#include "dob/status.h"

/* ---- IDX (MNIST, Fashion-MNIST) --------------------------------------------------------------------- */

/** An IDX file of unsigned bytes in memory: dims[0..ndim) in file order (big-endian header decoded). */
typedef struct dob_idx {
    int ndim;          /* 1..4 (magic 0x0000080<ndim>) */
    int64_t dims[4];   /* e.g. {count, rows, cols} for images, {count} for labels */
    int64_t count;     /* prod(dims) = payload bytes */
    uint8_t *data;     /* owned, row-major, count bytes; free with dob_idx_free */
} dob_idx;

/** Read an IDX ubyte file, raw or gzip (detected by the magic bytes 1f 8b). On failure *out is empty.
 *  @return DOB_ENOENT (no file), DOB_EIO, DOB_EFORMAT (bad magic, truncated, trailing data), DOB_ENOMEM. */
dob_status dob_idx_read(const char *path, dob_idx *out);
/** Free the payload and zero *idx (accepts NULL and empty). */
void dob_idx_free(dob_idx *idx);

/** Load an MNIST-format split from dir: split "train" reads train-{images-idx3,labels-idx1}-ubyte[.gz],
 *  "test" reads t10k-...; the .gz names are preferred. x = pixel / 255 as float32 in [0, 1], x_dims {1,28,28}
 *  (C,H,W); y one-hot with k = 10. Serves MNIST and Fashion-MNIST (same format, DeepOBS §4.1/4.2). */
dob_status dob_mnist_load(const char *dir, const char *split, dob_dataset *out);

/* ---- CIFAR-10 / CIFAR-100 binary (io/cifar.c) ---------------------------------------------------------- */

/** CIFAR-10 binary version from dir: split "train" = data_batch_1.bin .. data_batch_5.bin in that order, "test" =
 *  test_batch.bin. x = pixel bytes as float32 0..255 (not rescaled, as DeepOBS), dims {3,32,32}; y one-hot k = 10.
 *  @return DOB_ENOENT (missing file, with how to get it), DOB_EFORMAT (not whole 3 073-byte records, empty, more
 *  records than the official file, batch files of different counts, label > 9), DOB_EIO, DOB_ENOMEM. */
dob_status dob_cifar10_load(const char *dir, const char *split, dob_dataset *out);
/** CIFAR-100 binary version: "train" = train.bin, "test" = test.bin, 3 074-byte records (coarse, fine label,
 *  pixels); y = fine label one-hot k = 100. fix_offset = 0 reproduces DeepOBS TF, which reads the image from
 *  record byte 1 (fine label as the first red value, last blue value lost); 1 reads byte 2, the correct image. */
dob_status dob_cifar100_load(const char *dir, const char *split, int fix_offset, dob_dataset *out);

/** SVHN as DeepOBS's deepobs_prepare_data.sh leaves it (io/svhn.c): "train" = data_batch_0.bin, data_batch_1.bin,
 *  ... (3 073-byte records: label 0..9, image H,W,C), "test" = test_batch.bin. x float32 0..255 in C,H,W, y one-hot
 *  k = 10. @return DOB_ENOENT (no data_batch_0.bin / test_batch.bin, with how to get them), DOB_EFORMAT (not whole
 *  records, empty, inconsistent file counts, > 12 800 records per train file, label > 9), DOB_EIO, DOB_ENOMEM. */
dob_status dob_svhn_load(const char *dir, const char *split, dob_dataset *out);

/** SVHN from the official MATLAB files (io/svhn.c, read with dob_mat5_read): `path` is train_32x32.mat or
 *  test_32x32.mat, X uint8 32x32x3xN (column-major: row, column, channel, example), y N x 1 (any numeric class)
 *  with labels 1..10, 10 meaning digit 0. All N examples in file order (DeepOBS v1.2's 73 257 training examples,
 *  not v1.1's first 64 000). x as dob_svhn_load. @return DOB_ENOENT, DOB_EFORMAT (the MAT-file's errors, X or y of
 *  the wrong shape, X values outside 0..255 or not whole, labels outside 1..10), DOB_EIO, DOB_ENOMEM. */
dob_status dob_svhn_mat_load(const char *path, dob_dataset *out);

/* ---- MATLAB level-5 MAT-files (io/mat5.c) ----------------------------------------------------------------- */

/** A real numeric variable of a MAT-file, as stored: count values of storage type `type` (1 int8, 2 uint8, 3
 *  int16, 4 uint16, 5 int32, 6 uint32, 7 single, 9 double, 12 int64, 13 uint64), column-major over dims. */
typedef struct dob_mat_var {
    char name[64];
    int cls;              /* MATLAB class: 6 double, 7 single, 8 int8, 9 uint8, ... 15 uint64 */
    int ndim;
    int64_t dims[8];
    size_t count;         /* prod(dims) */
    uint32_t type;        /* storage type (MATLAB stores small integers of a double array as uint8, ...) */
    void *data;           /* malloc'ed; dob_mat_var_free */
} dob_mat_var;
/** Read the variables names[0..n) of a little-endian level-5 MAT-file (v5-v7: compressed or not) into vars[0..n).
 *  Other variables are skipped. On failure every vars[i] is empty. @return DOB_ENOENT, DOB_EIO, DOB_ENOMEM,
 *  DOB_EFORMAT (not a MAT-file, v7.3, big-endian, truncated, bad zlib data, malformed elements, a requested
 *  variable that is absent, complex or not numeric). */
dob_status dob_mat5_read(const char *path, int n, const char *const *names, dob_mat_var *vars);
/** Value i (column-major) of v as a double. */
double dob_mat_var_at(const dob_mat_var *v, size_t i);
/** Free the data and zero *v (accepts NULL and empty). */
void dob_mat_var_free(dob_mat_var *v);

/* ---- Tolstoi (io/tolstoi.c) ------------------------------------------------------------------------------- */

/** A 1-D NumPy .npy array of integers (format 1.0-3.0, dtype [<>|=][iu][1248], shape (n,)) as int32 ids in
 *  [0, 2^31). *ids is malloc'ed (free). @return DOB_ENOENT, DOB_EIO, DOB_EFORMAT (with the reason), DOB_ENOMEM. */
dob_status dob_npy_read_ids(const char *path, int32_t **ids, int64_t *n);
/** DeepOBS's vocab.pkl (a pickled tuple of one-character strings, protocol 2-5) as Unicode code points in id
 *  order. *chars is malloc'ed. */
dob_status dob_pkl_read_vocab(const char *path, uint32_t **chars, int64_t *n);
/** DeepOBS's _tolstoi_preprocess on UTF-8 text: vocabulary (code points by descending count, ties in order of
 *  first occurrence), the ids of the whole text (n), and n_train = ceil(0.8 n) (train = ids[0, n_train)). */
dob_status dob_tolstoi_preprocess(const char *text, size_t len, uint32_t **vocab, int64_t *n_vocab, int32_t **ids,
                                  int64_t *n, int64_t *n_train);
/** The Tolstoi splits: ids of the train and test text and the vocabulary (code points; when vocab.pkl is absent
 *  beside the .npy files, vocab is NULL and n_vocab = largest id + 1). */
typedef struct dob_tolstoi {
    int32_t *train, *test;
    int64_t n_train, n_test;
    uint32_t *vocab;
    int64_t n_vocab;
} dob_tolstoi;
/** Load dir/{train,test}.npy (+ vocab.pkl) if train.npy exists, else preprocess dir/input.txt as DeepOBS does.
 *  Every id must be < n_vocab. On failure *t is empty. */
dob_status dob_tolstoi_load(const char *dir, dob_tolstoi *t);
void dob_tolstoi_free(dob_tolstoi *t);
/** The (n - 1) / len consecutive sequences of a text as a data set: x = ids[e len, (e+1) len), y = the next ids
 *  (x shifted by one), both as floats, x_dims {len}, k = len. DeepOBS's batching of them into bs streams is the
 *  trainer's (stream batching of stateful nets); its floor((n-1)/(bs len)) batches use the first bs * that. */
dob_status dob_text_sequences(const int32_t *ids, int64_t n, int64_t len, dob_dataset *out);

/* ---- data directory ----------------------------------------------------------------------------------- */

/** Find the directory holding `dataset` ("mnist", "fmnist", "cifar-10", "cifar-100", "svhn", "tolstoi",
 *  "imagenet"; DeepOBS directory names). With data_dir D (non-NULL, non-empty; --data_dir): D/<dataset> if it
 *  is a directory, else D if it holds the data set's files; nothing else is tried. Without: the same two rules
 *  on $DOB_DATA_DIR, then (fmnist only) /usr/share/datasets/fashion-mnist (Debian dataset-fashion-mnist), then
 *  ./data_deepobs/<dataset> (DeepOBS's default). Writes the directory to out[outsz].
 *  @return DOB_ENOENT with the places tried and how to get the data; DOB_EINVAL if out is too small. */
dob_status dob_data_dir_resolve(const char *data_dir, const char *dataset, char *out, size_t outsz);

/* ---- splits (src/data/dataset.c; no file access) ---------------------------------------------------- */

/** DeepOBS v1.2 (TF) validation split: move the FIRST n_valid examples (file order) of *train into a new
 *  data set *valid and keep the rest, in order, as *train (in place: train's buffers keep their capacity).
 *  MNIST: 60 000 -> 50 000 train + 10 000 valid. @return DOB_EINVAL unless 1 <= n_valid < train->n. */
dob_status dob_dataset_split_valid(dob_dataset *train, int64_t n_valid, dob_dataset *valid);

#endif
