/* dob/imagenet.h: ImageNet's files (io/): TFRecord framing and tf.train.Example (io/tfrecord.c), JPEG decoding
 * (io/jpeg.c), the two layouts users have and the streamed data set over them (io/imagenet.c, io/stream.c).
 *
 *     dob_dataset train;
 *     dob_imagenet_load(dir, "train", &train);     // index only: n examples of {3,224,224}, k = 1001, streamed
 *
 * Nothing here aborts on bad bytes: framing errors of a shard refuse the data set with the file and offset;
 * a record or image that cannot be read at training time is skipped with a warning naming it (see imagenet.c). */
#ifndef DOB_IMAGENET_H
#define DOB_IMAGENET_H

#include <stddef.h>
#include <stdint.h>

#include "dob/data.h"
#include "dob/status.h"

/* ---- TFRecord and tf.train.Example (io/tfrecord.c) ------------------------------------------------------------ */

/** CRC-32C (Castagnoli, reflected 0x82F63B78) of data[0..n). */
uint32_t dob_crc32c(const void *data, size_t n);
/** TFRecord's masked CRC: ((crc >> 15) | (crc << 17)) + 0xa282ead8 of dob_crc32c. */
uint32_t dob_crc32c_masked(const void *data, size_t n);
/** A record header (uint64 length little-endian, masked CRC of those 8 bytes): *len on success.
 *  @return DOB_EFORMAT naming `where` when the length CRC differs. */
dob_status dob_tfrecord_header(const uint8_t hdr[12], uint64_t *len, const char *where);
/** Check record data [len] against the masked CRC that follows it (crc[4], little-endian). */
dob_status dob_tfrecord_check(const uint8_t *data, uint64_t len, const uint8_t crc[4], const char *where);
/** Parse a serialized tf.train.Example (protobuf wire format: Features map<string, Feature>, BytesList,
 *  Int64List packed or not): *jpeg, *jpeg_len = the one bytes value of "image/encoded" (a view into p), *label =
 *  the one int64 of "image/class/label" (-1 when absent, as DeepOBS's default). Later map entries win, as
 *  protobuf. @return DOB_EFORMAT (malformed wire data, no image/encoded, not exactly one value). */
dob_status dob_example_parse(const uint8_t *p, size_t n, const uint8_t **jpeg, size_t *jpeg_len, int64_t *label);

/* ---- JPEG (io/jpeg.c) ----------------------------------------------------------------------------------------- */

/** Where decoded rows go: begin(h, w) once (may refuse the size), then row(r, rgb[w x 3]) for r = 0..h-1. */
typedef struct dob_jpeg_sink {
    void *ctx;
    dob_status (*begin)(void *ctx, int64_t h, int64_t w);
    void (*row)(void *ctx, int64_t r, const uint8_t *rgb);
} dob_jpeg_sink;
/** Decode JPEG bytes with libjpeg-turbo as TF's decode_jpeg(channels=3): greyscale replicated to RGB, CMYK and
 *  YCCK converted as TF (Adobe files store inverted CMYK), baseline and progressive. @return DOB_EFORMAT with
 *  libjpeg's message for a corrupt or truncated file (never aborts), or the sink's begin error. */
dob_status dob_jpeg_decode(const uint8_t *buf, size_t len, const dob_jpeg_sink *sink);
/** dob_jpeg_decode through dob_imgpre: the 3 x 224 x 224 preprocessed image (see dob_imgpre_finish). */
dob_status dob_jpeg_preprocess(const uint8_t *buf, size_t len, dob_imgpre *p, int augment, uint64_t seed,
                               uint64_t key, float *dst);

/* ---- the data set (io/imagenet.c) ----------------------------------------------------------------------------- */

#define DOB_IMAGENET_CLASSES 1001   /* 0 = background, as TF-slim; real classes 1..1000 */

/** ImageNet split "train" or "test" from dir: TFRecord shards train-*-of-* / validation-*-of-* (DeepOBS's layout,
 *  sorted by name) if present, else class folders train/<wnid>/ and val/<wnid>/ (wnids of train/ sorted ->
 *  labels 1..1000; files sorted by name). x {3,224,224} float32, k = 1001, streamed: only an index is held
 *  (record offsets or file names). Decode threads: $DOB_DATA_THREADS (default 2); prefetch depth 2 batches.
 *  @return DOB_ENOENT (neither layout, with how to get ImageNet), DOB_EFORMAT (a shard's record framing or length
 *  CRC is broken, a val/ class not in train/), DOB_EIO, DOB_ENOMEM. */
dob_status dob_imagenet_load(const char *dir, const char *split, dob_dataset *out);
/** Images skipped so far by this process's ImageNet readers (corrupt JPEG, bad record CRC or Example). */
int64_t dob_imagenet_skipped(void);

#endif
