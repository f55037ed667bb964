/* tfrecord.c: the TFRecord framing and the tf.train.Example message of ImageNet's shards (include/dob/imagenet.h).
 *
 * A TFRecord file is a sequence of records:
 *     uint64 length | uint32 masked_crc32c(length bytes) | byte data[length] | uint32 masked_crc32c(data)
 * all little-endian; masked = ((crc >> 15) | (crc << 17)) + 0xa282ead8 (TensorFlow's crc32c::Mask).
 * The data is a serialized tf.train.Example, read here from the protobuf wire format (no generated code):
 *     Example  { Features features = 1; }
 *     Features { map<string, Feature> feature = 1; }   entries: { string key = 1; Feature value = 2; }
 *     Feature  { oneof { BytesList bytes_list = 1; FloatList float_list = 2; Int64List int64_list = 3; } }
 *     BytesList { repeated bytes value = 1; }   Int64List { repeated int64 value = 1 [packed]; }
 * Each field is a varint tag (field << 3 | wire type); wire types 0 varint, 1 fixed64, 2 length-delimited,
 * 5 fixed32; groups (3, 4) are refused. Unknown fields are skipped; a repeated message field or map key seen
 * twice: the last wins, as protobuf parsers merge them.
 * Does not: read files (io/imagenet.c does), or allocate (results are views into the caller's bytes). */
#include <pthread.h>
#include <string.h>

#include "dob/imagenet.h"

/* ---- CRC-32C ---------------------------------------------------------------------------------------------- */

static uint32_t crc_table[8][256];

static void crc_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++) crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
}

/* slicing-by-8: eight bytes per step (~1 GB/s), next to ~5 ms of decoding per image */
uint32_t dob_crc32c(const void *data, size_t n) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, crc_init);
    const uint8_t *p = data;
    uint32_t c = 0xFFFFFFFFu;
    for (; n >= 8; n -= 8, p += 8) {
        const uint32_t lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
        c = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^ crc_table[5][(lo >> 16) & 0xff] ^
            crc_table[4][lo >> 24] ^ crc_table[3][p[4]] ^ crc_table[2][p[5]] ^ crc_table[1][p[6]] ^
            crc_table[0][p[7]];
    }
    while (n--) c = crc_table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

uint32_t dob_crc32c_masked(const void *data, size_t n) {
    const uint32_t c = dob_crc32c(data, n);
    return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

dob_status dob_tfrecord_header(const uint8_t hdr[12], uint64_t *len, const char *where) {
    const uint32_t want = le32(hdr + 8), got = dob_crc32c_masked(hdr, 8);
    if (want != got)
        return DOB_FAIL(DOB_EFORMAT, "%s: record length CRC-32C is 0x%08x, expected 0x%08x (not a TFRecord file, "
                        "or a damaged one)", where, got, want);
    *len = (uint64_t)le32(hdr) | (uint64_t)le32(hdr + 4) << 32;
    return DOB_OK;
}

dob_status dob_tfrecord_check(const uint8_t *data, uint64_t len, const uint8_t crc[4], const char *where) {
    const uint32_t want = le32(crc), got = dob_crc32c_masked(data, (size_t)len);
    if (want != got)
        return DOB_FAIL(DOB_EFORMAT, "%s: record data CRC-32C is 0x%08x, expected 0x%08x (damaged record)", where,
                        got, want);
    return DOB_OK;
}

/* ---- protobuf wire format --------------------------------------------------------------------------------- */

typedef struct pb {
    const uint8_t *p, *end;
} pb;

/* One field: its number, wire type, and value (varint in *v; length-delimited as the sub-buffer *sub; fixed
 * widths skipped). 0 on malformed data. */
static int pb_varint(pb *b, uint64_t *v) {
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (b->p >= b->end) return 0;
        const uint8_t byte = *b->p++;
        *v |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) return 1;
    }
    return 0;
}

static int pb_field(pb *b, uint64_t *field, int *wt, uint64_t *v, pb *sub) {
    uint64_t tag;
    if (!pb_varint(b, &tag) || (tag >> 3) == 0) return 0;
    *field = tag >> 3;
    *wt = (int)(tag & 7);
    switch (*wt) {
    case 0: return pb_varint(b, v);
    case 1:
    case 5: {
        const size_t w = *wt == 1 ? 8 : 4;
        if ((size_t)(b->end - b->p) < w) return 0;
        b->p += w;
        return 1;
    }
    case 2:
        if (!pb_varint(b, v) || *v > (uint64_t)(b->end - b->p)) return 0;
        sub->p = b->p;
        sub->end = b->p + *v;
        b->p = sub->end;
        return 1;
    default: return 0; /* groups and reserved wire types */
    }
}

typedef struct example_out {
    const uint8_t *jpeg;
    size_t jpeg_len;
    int n_jpeg;        /* values of image/encoded's BytesList (must be 1) */
    int64_t label;
    int n_label;       /* values of image/class/label's Int64List (must be 1); -1: the feature is absent */
} example_out;

/* BytesList: the values (the last one kept, their count). */
static int bytes_list(pb b, example_out *o) {
    uint64_t f, v;
    int wt;
    pb sub;
    o->n_jpeg = 0;
    while (b.p < b.end) {
        if (!pb_field(&b, &f, &wt, &v, &sub)) return 0;
        if (f == 1 && wt == 2) o->jpeg = sub.p, o->jpeg_len = (size_t)v, o->n_jpeg++;
    }
    return 1;
}

/* Int64List: values unpacked (wire type 0) or packed (2: a run of varints). */
static int int64_list(pb b, example_out *o) {
    uint64_t f, v;
    int wt;
    pb sub;
    o->n_label = 0;
    while (b.p < b.end) {
        if (!pb_field(&b, &f, &wt, &v, &sub)) return 0;
        if (f == 1 && wt == 0) o->label = (int64_t)v, o->n_label++;
        if (f != 1 || wt != 2) continue;
        while (sub.p < sub.end) {
            if (!pb_varint(&sub, &v)) return 0;
            o->label = (int64_t)v, o->n_label++;
        }
    }
    return 1;
}

/* Feature of the key `which` (1 image/encoded, 2 image/class/label): the kind that key expects. */
static int feature(pb b, int which, example_out *o) {
    uint64_t f, v;
    int wt;
    pb sub;
    while (b.p < b.end) {
        if (!pb_field(&b, &f, &wt, &v, &sub)) return 0;
        if (wt != 2) continue;
        if (which == 1 && f == 1 && !bytes_list(sub, o)) return 0;
        if (which == 2 && f == 3 && !int64_list(sub, o)) return 0;
    }
    return 1;
}

static int key_is(pb key, const char *s) {
    const size_t n = strlen(s);
    return (size_t)(key.end - key.p) == n && !memcmp(key.p, s, n);
}

/* One map entry {key = 1, value = 2}; the value is parsed once the key is known (either order). */
static int entry(pb b, example_out *o) {
    uint64_t f, v;
    int wt;
    pb sub, key = {0}, val = {0};
    int has_val = 0;
    while (b.p < b.end) {
        if (!pb_field(&b, &f, &wt, &v, &sub)) return 0;
        if (f == 1 && wt == 2) key = sub;
        if (f == 2 && wt == 2) val = sub, has_val = 1;
    }
    const int which = key.p && key_is(key, "image/encoded") ? 1 : key.p && key_is(key, "image/class/label") ? 2 : 0;
    if (!which) return 1;
    if (which == 1) o->n_jpeg = 0, o->jpeg = NULL, o->jpeg_len = 0;
    if (which == 2) o->n_label = 0;
    return !has_val || feature(val, which, o);
}

/* A message whose field 1 (length-delimited) is parsed by fn, each occurrence. */
static int repeated(pb b, int (*fn)(pb, example_out *), example_out *o) {
    uint64_t f, v;
    int wt;
    pb sub;
    while (b.p < b.end) {
        if (!pb_field(&b, &f, &wt, &v, &sub)) return 0;
        if (f == 1 && wt == 2 && !fn(sub, o)) return 0;
    }
    return 1;
}

static int features(pb b, example_out *o) { return repeated(b, entry, o); }

dob_status dob_example_parse(const uint8_t *p, size_t n, const uint8_t **jpeg, size_t *jpeg_len, int64_t *label) {
    example_out o = {.n_label = -1};
    if (!repeated((pb){p, p + n}, features, &o))
        return DOB_FAIL(DOB_EFORMAT, "tf.train.Example: malformed protobuf wire data (%zu bytes)", n);
    if (o.n_jpeg != 1)
        return DOB_FAIL(DOB_EFORMAT, "tf.train.Example: expected one bytes value of image/encoded, found %d",
                        o.n_jpeg);
    if (o.n_label == 0 || o.n_label > 1)
        return DOB_FAIL(DOB_EFORMAT, "tf.train.Example: expected one int64 value of image/class/label, found %d",
                        o.n_label);
    *jpeg = o.jpeg;
    *jpeg_len = o.jpeg_len;
    *label = o.n_label < 0 ? -1 : o.label;
    return DOB_OK;
}
