/* mat5.c: numeric variables of a MATLAB level-5 MAT-file (MathWorks, "MAT-File Format", the v5/v6/v7 layout; the
 * official SVHN train_32x32.mat / test_32x32.mat are such files, "MATLAB 5.0 MAT-file", with zlib-compressed
 * variables).
 *
 * Layout read here: a 128-byte header (116 bytes of text, 8 bytes subsystem offset, version 0x0100, endian "IM" =
 * little-endian), then data elements: an 8-byte tag (uint32 type, uint32 byte count) and the data padded to 8
 * bytes, or a "small" element (type in the low and count in the high 16 bits of the first word, up to 4 data
 * bytes in the second). A variable is a miMATRIX element (14): array flags (miUINT32: class in the low byte,
 * complex bit 0x800), dimensions (miINT32), name (miINT8), real part (any numeric type: MATLAB stores a double
 * array of small integers as miUINT8, for instance). miCOMPRESSED (15) wraps one element in a zlib stream; it is
 * inflated while it is read (chunks of 64 KiB: the 182 MB training file is never held compressed in memory).
 *
 * Why not libmatio: Debian's libmatio-dev depends on libhdf5-dev and libmatio11 on the serial libhdf5-103-1,
 * while dob links the Open MPI build of HDF5 (CMakeLists.txt refuses the serial one): two HDF5 libraries with the
 * same symbols in one process. The level-5 layout is small and documented; zlib is a dependency already.
 *
 * Every failure is one line naming the file and what was expected and found: not a MAT-file, v7.3 (HDF5-based,
 * not read), big-endian, truncated elements, bad zlib data, malformed sub-elements, complex/sparse/cell/struct
 * variables asked for, data counts that do not match the dimensions, a requested variable absent.
 * Does not: read big-endian files, character/cell/struct/sparse/object arrays (they are skipped unless asked
 * for), or v7.3 files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <zlib.h>

#include "dob/datasets.h"

enum { MI_INT8 = 1, MI_UINT8, MI_INT16, MI_UINT16, MI_INT32, MI_UINT32, MI_SINGLE, MI_DOUBLE = 9, MI_INT64 = 12,
       MI_UINT64, MI_MATRIX, MI_COMPRESSED };
enum { MX_CELL = 1, MX_STRUCT, MX_OBJECT, MX_CHAR, MX_SPARSE, MX_DOUBLE, MX_SINGLE, MX_INT8, MX_UINT8, MX_INT16,
       MX_UINT16, MX_INT32, MX_UINT32, MX_INT64, MX_UINT64 };
#define CHUNK 65536
#define MAX_DIMS 8

/* A byte source: the file itself, or the inflated stream of one miCOMPRESSED element of it. */
typedef struct src {
    FILE *f;
    const char *path;
    int z;                   /* 1 while inside a compressed element */
    z_stream zs;
    uint64_t z_left;         /* compressed bytes of the element not yet fed to inflate */
    unsigned char in[CHUNK];
} src;

/* Bytes of one element of numeric type t, or 0 for a non-numeric type. */
static size_t type_size(uint32_t t) {
    switch (t) {
    case MI_INT8: case MI_UINT8: return 1;
    case MI_INT16: case MI_UINT16: return 2;
    case MI_INT32: case MI_UINT32: case MI_SINGLE: return 4;
    case MI_DOUBLE: case MI_INT64: case MI_UINT64: return 8;
    default: return 0;
    }
}

static dob_status inflate_into(src *s, unsigned char *buf, size_t n) {
    s->zs.next_out = buf;
    s->zs.avail_out = (uInt)n;
    while (s->zs.avail_out > 0) {
        if (s->zs.avail_in == 0 && s->z_left > 0) {
            size_t want = s->z_left < CHUNK ? (size_t)s->z_left : CHUNK, got = fread(s->in, 1, want, s->f);
            if (got != want)
                return DOB_FAIL(DOB_EFORMAT, "%s: truncated: a compressed variable ends after the end of the file",
                                s->path);
            s->z_left -= got;
            s->zs.next_in = s->in;
            s->zs.avail_in = (uInt)got;
        }
        int r = inflate(&s->zs, Z_NO_FLUSH);
        if (r == Z_STREAM_END && s->zs.avail_out > 0)
            return DOB_FAIL(DOB_EFORMAT, "%s: a compressed variable holds fewer bytes than its elements declare",
                            s->path);
        if (r == Z_BUF_ERROR && s->zs.avail_in == 0 && s->z_left == 0)
            return DOB_FAIL(DOB_EFORMAT, "%s: truncated zlib stream in a compressed variable", s->path);
        if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR)
            return DOB_FAIL(DOB_EFORMAT, "%s: corrupt zlib data in a compressed variable (%s)", s->path,
                            s->zs.msg ? s->zs.msg : "inflate failed");
    }
    return DOB_OK;
}

/* Read exactly n bytes (buf NULL: discard them). */
static dob_status src_read(src *s, void *buf, size_t n) {
    unsigned char scratch[4096];
    while (n > 0) {
        size_t k = buf ? n : (n < sizeof scratch ? n : sizeof scratch);
        unsigned char *dst = buf ? buf : scratch;
        if (s->z) {
            dob_status st = inflate_into(s, dst, k);
            if (st != DOB_OK) return st;
        } else if (fread(dst, 1, k, s->f) != k) {
            return DOB_FAIL(DOB_EFORMAT, "%s: truncated: an element ends after the end of the file", s->path);
        }
        n -= k;
        if (buf) buf = (unsigned char *)buf + k;
    }
    return DOB_OK;
}

/* An element tag: type, byte count, and whether it is a small element (its data in the tag's second word, data[]). */
typedef struct tag {
    uint32_t type, bytes;
    int small;
    unsigned char data[4];
} tag;

static uint32_t le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static dob_status decode_tag(const src *s, const unsigned char *b, tag *t) {
    uint32_t w = le32(b);
    t->small = (w >> 16) != 0;
    t->type = t->small ? (w & 0xffff) : w;
    t->bytes = t->small ? (w >> 16) : le32(b + 4);
    if (t->small && t->bytes > 4)
        return DOB_FAIL(DOB_EFORMAT, "%s: a small data element declares %u bytes, at most 4 fit", s->path, t->bytes);
    memcpy(t->data, b + 4, 4);
    return DOB_OK;
}

static dob_status read_tag(src *s, tag *t) {
    unsigned char b[8];
    dob_status st = src_read(s, b, 8);
    return st != DOB_OK ? st : decode_tag(s, b, t);
}

/* The data of a sub-element of a miMATRIX: read `t->bytes` into buf (cap bytes) and skip its padding. */
static dob_status read_data(src *s, const tag *t, void *buf, size_t cap) {
    if (t->bytes > cap)
        return DOB_FAIL(DOB_EFORMAT, "%s: a variable's sub-element holds %u bytes, expected at most %zu", s->path,
                        t->bytes, cap);
    if (t->small) {
        memcpy(buf, t->data, t->bytes < 4 ? t->bytes : 4); /* decode_tag: small elements hold <= 4 bytes */
        return DOB_OK;
    }
    dob_status st = src_read(s, buf, t->bytes);
    if (st == DOB_OK) st = src_read(s, NULL, (8 - t->bytes % 8) % 8);
    return st;
}

/* The element bytes a sub-element occupies within its miMATRIX (tag + padded data). */
static uint64_t span(const tag *t) { return t->small ? 8 : 8 + ((uint64_t)t->bytes + 7) / 8 * 8; }

/* ---- one variable (miMATRIX) ---------------------------------------------------------------------------- */

/* What precedes a variable's data: class, complex flag, dimensions, name; `used` counts the bytes read of the
 * miMATRIX's `size`. */
typedef struct mat_head {
    int cls, complex;
    int ndim;
    int64_t dims[MAX_DIMS];
    char name[64];
} mat_head;

static dob_status sub_tag(src *s, uint32_t size, uint64_t *used, tag *t) {
    dob_status st = read_tag(s, t);
    if (st != DOB_OK) return st;
    if (*used + span(t) > size)
        return DOB_FAIL(DOB_EFORMAT, "%s: a sub-element of %u bytes overruns its variable (%u bytes, %llu used)",
                        s->path, t->bytes, size, (unsigned long long)*used);
    *used += span(t);
    return DOB_OK;
}

static dob_status matrix_head(src *s, uint32_t size, mat_head *h, uint64_t *used) {
    tag t;
    unsigned char flags[8], dims[4 * MAX_DIMS];
    dob_status st = sub_tag(s, size, used, &t);
    if (st == DOB_OK && (t.type != MI_UINT32 || t.bytes != 8))
        st = DOB_FAIL(DOB_EFORMAT, "%s: expected a variable's array flags (miUINT32, 8 bytes), found type %u of %u "
                      "bytes", s->path, t.type, t.bytes);
    if (st == DOB_OK) st = read_data(s, &t, flags, sizeof flags);
    if (st != DOB_OK) return st;
    h->cls = flags[0];
    h->complex = (le32(flags) & 0x800) != 0;
    if ((st = sub_tag(s, size, used, &t)) != DOB_OK) return st;
    if (t.type != MI_INT32 || t.bytes % 4 || t.bytes < 8 || t.bytes > sizeof dims)
        return DOB_FAIL(DOB_EFORMAT, "%s: expected a variable's dimensions (miINT32, 2..%d of them), found type %u of "
                        "%u bytes", s->path, MAX_DIMS, t.type, t.bytes);
    if ((st = read_data(s, &t, dims, sizeof dims)) != DOB_OK) return st;
    h->ndim = (int)(t.bytes / 4);
    for (int i = 0; i < h->ndim; i++) {
        h->dims[i] = (int32_t)le32(dims + 4 * i);
        if (h->dims[i] < 0)
            return DOB_FAIL(DOB_EFORMAT, "%s: a variable has a negative dimension (%lld)", s->path,
                            (long long)h->dims[i]);
    }
    if ((st = sub_tag(s, size, used, &t)) != DOB_OK) return st;
    if (t.type != MI_INT8 || t.bytes >= sizeof h->name)
        return DOB_FAIL(DOB_EFORMAT, "%s: expected a variable name (miINT8, at most %zu characters), found type %u "
                        "of %u bytes", s->path, sizeof h->name - 1, t.type, t.bytes);
    memset(h->name, 0, sizeof h->name);
    return read_data(s, &t, h->name, sizeof h->name - 1);
}

static int numeric_class(int cls) { return cls >= MX_DOUBLE && cls <= MX_UINT64; }

/* The real part of variable h into v; `limit` bounds the bytes it may declare (what the file can still hold). */
static dob_status matrix_data(src *s, uint32_t size, const mat_head *h, uint64_t *used, uint64_t limit,
                              dob_mat_var *v) {
    if (!numeric_class(h->cls) || h->complex)
        return DOB_FAIL(DOB_EFORMAT, "%s: variable '%s': expected a real numeric array, found %s class %d", s->path,
                        h->name, h->complex ? "a complex array of" : "", h->cls);
    uint64_t count = 1;
    for (int i = 0; i < h->ndim; i++) {
        count *= (uint64_t)h->dims[i];
        if (count > UINT32_MAX)
            return DOB_FAIL(DOB_EFORMAT, "%s: variable '%s': more than 2^32 elements", s->path, h->name);
    }
    tag t;
    dob_status st = sub_tag(s, size, used, &t);
    if (st != DOB_OK) return st;
    const size_t ts = type_size(t.type);
    if (!ts || (uint64_t)t.bytes != count * ts)
        return DOB_FAIL(DOB_EFORMAT, "%s: variable '%s': expected %llu values of a numeric type, found type %u with "
                        "%u bytes", s->path, h->name, (unsigned long long)count, t.type, t.bytes);
    if (t.bytes > limit)
        return DOB_FAIL(DOB_EFORMAT, "%s: variable '%s' declares %u bytes, more than the rest of the file can hold",
                        s->path, h->name, t.bytes);
    memset(v, 0, sizeof *v);
    v->data = malloc(t.bytes ? t.bytes : 1);
    if (!v->data) return DOB_FAIL(DOB_ENOMEM, "%s: variable '%s': out of memory for %u bytes", s->path, h->name, t.bytes);
    memcpy(v->name, h->name, sizeof v->name);
    v->cls = h->cls;
    v->ndim = h->ndim;
    memcpy(v->dims, h->dims, sizeof v->dims);
    v->count = (size_t)count;
    v->type = t.type;
    return read_data(s, &t, v->data, t.bytes);
}

static int wanted(const char *name, int n, const char *const *names) {
    for (int i = 0; i < n; i++)
        if (!strcmp(name, names[i])) return i;
    return -1;
}

/* ---- the file ----------------------------------------------------------------------------------------------- */

static dob_status check_header(FILE *f, const char *path) {
    unsigned char h[128];
    size_t got = fread(h, 1, sizeof h, f);
    if (got < 4 || memcmp(h, "MATLAB", got < 6 ? got : 6))
        return DOB_FAIL(DOB_EFORMAT, "%s: not a MAT-file: expected the text \"MATLAB 5.0 MAT-file\" at the start",
                        path);
    if (got >= 10 && !memcmp(h, "MATLAB 7.3", 10))
        return DOB_FAIL(DOB_EFORMAT, "%s: a MATLAB v7.3 (HDF5-based) MAT-file; dob reads level-5 MAT-files (v5-v7, "
                        "like the official SVHN files): re-save it with save(..., '-v7')", path);
    if (got < sizeof h)
        return DOB_FAIL(DOB_EFORMAT, "%s: truncated: %zu bytes, shorter than the 128-byte MAT-file header", path, got);
    if (h[126] == 'M' && h[127] == 'I')
        return DOB_FAIL(DOB_EFORMAT, "%s: a big-endian MAT-file; dob reads little-endian ones (\"IM\")", path);
    if (h[126] != 'I' || h[127] != 'M' || h[124] != 0x00 || h[125] != 0x01)
        return DOB_FAIL(DOB_EFORMAT, "%s: not a level-5 MAT-file: expected version 0x0100 and endian \"IM\" at bytes "
                        "124-127, found %02x %02x %02x %02x", path, h[124], h[125], h[126], h[127]);
    return DOB_OK;
}

/* A variable in the element just opened (its miMATRIX tag read: `size` bytes follow): into vars[i] if wanted and
 * not seen yet; otherwise *skip = 1 and *used says how much of it was read (the caller skips the rest: a compressed
 * element without inflating it). */
static dob_status read_variable(src *s, uint32_t size, uint64_t limit, int n, const char *const *names,
                                dob_mat_var *vars, int *skip, uint64_t *used) {
    mat_head h;
    *used = 0;
    dob_status st = matrix_head(s, size, &h, used);
    if (st != DOB_OK) return st;
    const int i = wanted(h.name, n, names);
    *skip = i < 0 || vars[i].data;
    if (*skip) return DOB_OK;
    return matrix_data(s, size, &h, used, limit, &vars[i]);
}

/* Skip n bytes of the file (a seek: past the end is found by the next read). */
static dob_status skip(src *s, uint64_t n) {
    if (n && fseeko(s->f, (off_t)n, SEEK_CUR) != 0)
        return DOB_FAIL(DOB_EIO, "%s: cannot seek: %s", s->path, strerror(errno));
    return DOB_OK;
}

/* A miCOMPRESSED element of `bytes` bytes: inflate its inner element; a wanted variable is read, anything else is
 * skipped over in the file. zlib can expand at most ~1032:1, which bounds what a variable may declare. */
static dob_status read_compressed(src *s, uint32_t bytes, int n, const char *const *names, dob_mat_var *vars) {
    memset(&s->zs, 0, sizeof s->zs);
    if (inflateInit(&s->zs) != Z_OK) return DOB_FAIL(DOB_ENOMEM, "%s: cannot start zlib", s->path);
    s->z = 1;
    s->z_left = bytes;
    tag t;
    int skipped = 1;
    uint64_t used;
    dob_status st = read_tag(s, &t);
    if (st == DOB_OK && t.type == MI_MATRIX && !t.small)
        st = read_variable(s, t.bytes, (uint64_t)bytes * 1032 + CHUNK, n, names, vars, &skipped, &used);
    inflateEnd(&s->zs);
    s->z = 0;
    return st == DOB_OK ? skip(s, s->z_left) : st;
}

/* An uncompressed element whose tag was read. */
static dob_status read_plain(src *s, const tag *t, uint64_t file_left, int n, const char *const *names,
                             dob_mat_var *vars) {
    if (t->small) return DOB_OK;
    const uint64_t pad = (8 - t->bytes % 8) % 8;
    uint64_t used = 0;
    int skipped = 1;
    if (t->type == MI_MATRIX) {
        dob_status st = read_variable(s, t->bytes, file_left, n, names, vars, &skipped, &used);
        if (st != DOB_OK) return st;
    }
    return skip(s, t->bytes - used + pad);
}

dob_status dob_mat5_read(const char *path, int n, const char *const *names, dob_mat_var *vars) {
    dob_status st = DOB_OK;
    src *s = calloc(1, sizeof *s);
    memset(vars, 0, (size_t)n * sizeof *vars);
    if (!s) return DOB_FAIL(DOB_ENOMEM, "%s: out of memory", path);
    s->path = path;
    if (!(s->f = fopen(path, "rb"))) {
        int e = errno;
        free(s);
        return DOB_FAIL(e == ENOENT ? DOB_ENOENT : DOB_EIO, "%s: %s", path,
                        e == ENOENT ? "no such file" : strerror(e));
    }
    struct stat sb;
    const uint64_t fsize = fstat(fileno(s->f), &sb) == 0 ? (uint64_t)sb.st_size : 0;
    DOB_TRY(check_header(s->f, path));
    int found = 0;
    while (found < n) {
        unsigned char b[8];
        size_t got = fread(b, 1, 8, s->f);
        if (got == 0 && feof(s->f)) break;
        if (got != 8) {
            st = DOB_FAIL(DOB_EFORMAT, "%s: truncated: %zu bytes of an element tag at the end", path, got);
            goto fail;
        }
        tag t;
        DOB_TRY(decode_tag(s, b, &t));
        const off_t at = ftello(s->f);
        const uint64_t left = at >= 0 && (uint64_t)at <= fsize ? fsize - (uint64_t)at : 0;
        if (t.type == MI_COMPRESSED && !t.small) DOB_TRY(read_compressed(s, t.bytes, n, names, vars));
        else DOB_TRY(read_plain(s, &t, left, n, names, vars));
        found = 0;
        for (int i = 0; i < n; i++) found += vars[i].data != NULL;
    }
    for (int i = 0; i < n; i++)
        if (!vars[i].data) {
            st = DOB_FAIL(DOB_EFORMAT, "%s: expected a variable named '%s', found none", path, names[i]);
            goto fail;
        }
    fclose(s->f);
    free(s);
    return DOB_OK;
fail:
    fclose(s->f);
    free(s);
    for (int i = 0; i < n; i++) dob_mat_var_free(&vars[i]);
    return st;
}

double dob_mat_var_at(const dob_mat_var *v, size_t i) {
    const unsigned char *p = (const unsigned char *)v->data + i * type_size(v->type);
    union {
        int8_t i8; uint8_t u8; int16_t i16; uint16_t u16; int32_t i32; uint32_t u32; float f; double d;
        int64_t i64; uint64_t u64;
    } u;
    memcpy(&u, p, type_size(v->type)); /* little-endian file on a little-endian host (x86-64, aarch64) */
    switch (v->type) {
    case MI_INT8: return u.i8;
    case MI_UINT8: return u.u8;
    case MI_INT16: return u.i16;
    case MI_UINT16: return u.u16;
    case MI_INT32: return u.i32;
    case MI_UINT32: return u.u32;
    case MI_SINGLE: return u.f;
    case MI_DOUBLE: return u.d;
    case MI_INT64: return (double)u.i64;
    default: return (double)u.u64;
    }
}

void dob_mat_var_free(dob_mat_var *v) {
    if (!v) return;
    free(v->data);
    memset(v, 0, sizeof *v);
}
