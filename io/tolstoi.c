/* tolstoi.c: the Tolstoi (War and Peace) character data of DeepOBS (include/dob/datasets.h).
 *
 * Two sources, as DeepOBS's preparation leaves them in <data>/tolstoi/:
 *   - prepared: train.npy and test.npy (NumPy 1-D integer arrays of character ids, np.save of numpy's default
 *     int: '<i8' on Linux) and vocab.pkl (pickle of the tuple of characters, id order);
 *   - raw: input.txt, the text deepobs_prepare_data.sh cuts from War and Peace, turned into the same vocabulary,
 *     ids and split as DeepOBS's _tolstoi_preprocess: characters (Unicode code points of the UTF-8 text) by
 *     descending count, ties in order of first occurrence (collections.Counter + a stable sort); train = the first
 *     ceil((1.0 - 0.2) * n) ids, test = the rest.
 * .npy: format versions 1.0, 2.0 and 3.0; the header dict is parsed for 'descr' (integer kinds i/u of 1, 2, 4 or 8
 * bytes, '<', '>', '|' or '=' byte order), 'fortran_order' (either: a 1-D array has one order) and 'shape' ((n,)
 * only); the payload must be exactly n items. Ids must lie in [0, 2^31).
 * .pkl: protocols 2 to 5: PROTO, FRAME, MARK, (SHORT_)BINUNICODE(8), BINPUT/LONG_BINPUT/MEMOIZE, TUPLE(1..3),
 * EMPTY_TUPLE, STOP: enough for a pickled tuple of one-character strings, refused with a message otherwise.
 * Every malformed input is DOB_EFORMAT naming the file and what was expected; sizes come from bytes actually read.
 * Does not: read .npz, object arrays or protocol 0/1 pickles (Python 2's text pickles). */
#include "dob/datasets.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILE ((long)1 << 34) /* 16 GiB: far above War and Peace (26 MB as int64 ids) */

/* Whole file into a malloc'ed buffer (+1 NUL byte). */
static dob_status slurp(const char *path, unsigned char **buf, size_t *len) {
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        return e == ENOENT ? DOB_FAIL(DOB_ENOENT, "%s: no such file", path)
                           : DOB_FAIL(DOB_EIO, "%s: cannot open: %s", path, strerror(e));
    }
    size_t cap = 1 << 16, n = 0;
    unsigned char *b = malloc(cap + 1);
    while (b) {
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (n < cap) break;
        if ((long)cap >= MAX_FILE) {
            free(b);
            fclose(f);
            return DOB_FAIL(DOB_EFORMAT, "%s: larger than %ld bytes", path, MAX_FILE);
        }
        unsigned char *nb = realloc(b, 2 * cap + 1);
        if (!nb) free(b);
        b = nb;
        cap *= 2;
    }
    int err = ferror(f);
    fclose(f);
    if (!b) return DOB_FAIL(DOB_ENOMEM, "%s: out of memory reading the file", path);
    if (err) {
        free(b);
        return DOB_FAIL(DOB_EIO, "%s: read error", path);
    }
    b[n] = 0;
    *buf = b;
    *len = n;
    return DOB_OK;
}

/* ---- .npy ---------------------------------------------------------------------------------------------- */

/* The value of key `key` in a Python dict literal: pointer just after "'key':" and spaces, or NULL. */
static const char *dict_value(const char *h, const char *key) {
    char pat[32];
    snprintf(pat, sizeof pat, "'%s'", key);
    const char *p = strstr(h, pat);
    if (!p) return NULL;
    p += strlen(pat);
    while (*p == ' ') p++;
    if (*p != ':') return NULL;
    p++;
    while (*p == ' ') p++;
    return p;
}

static dob_status npy_header(const char *path, const char *h, int *size, int *is_signed, int *big, int64_t *count) {
    const char *d = dict_value(h, "descr"), *fo = dict_value(h, "fortran_order"), *sh = dict_value(h, "shape");
    if (!d || !fo || !sh)
        return DOB_FAIL(DOB_EFORMAT, "%s: .npy header lacks 'descr', 'fortran_order' or 'shape': %.80s", path, h);
    /* each test reads the next byte only after the previous one proved non-NUL (strchr finds the NUL too) */
    if ((d[0] != '\'' && d[0] != '"') || !d[1] || !strchr("<>|=", d[1]) || (d[2] != 'i' && d[2] != 'u') ||
        !d[3] || !strchr("1248", d[3]) || d[4] != d[0])
        return DOB_FAIL(DOB_EFORMAT, "%s: expected an integer dtype ('<i8' as np.save writes ids), found %.12s", path,
                        d);
    *size = d[3] - '0';
    *is_signed = d[2] == 'i';
    *big = d[1] == '>';
    if (strncmp(fo, "False", 5) && strncmp(fo, "True", 4))
        return DOB_FAIL(DOB_EFORMAT, "%s: 'fortran_order' must be True or False, found %.10s", path, fo);
    if (*sh != '(') return DOB_FAIL(DOB_EFORMAT, "%s: 'shape' must be a tuple, found %.20s", path, sh);
    const char *p = sh + 1;
    while (*p == ' ') p++;
    if (!isdigit((unsigned char)*p))
        return DOB_FAIL(DOB_EFORMAT, "%s: expected a 1-D array of shape (n,), found shape %.30s", path, sh);
    errno = 0;
    char *end;
    long long n = strtoll(p, &end, 10);
    while (*end == ' ') end++;
    if (*end == ',') end++;
    while (*end == ' ') end++;
    if (errno || n < 0 || *end != ')')
        return DOB_FAIL(DOB_EFORMAT, "%s: expected a 1-D array of shape (n,), found shape %.30s", path, sh);
    *count = n;
    return DOB_OK;
}

dob_status dob_npy_read_ids(const char *path, int32_t **ids, int64_t *n) {
    unsigned char *b;
    size_t len;
    *ids = NULL;
    *n = 0;
    dob_status st = slurp(path, &b, &len);
    if (st != DOB_OK) return st;
    size_t hl = 0, off = 0;
    if (len < 10 || memcmp(b, "\x93NUMPY", 6)) {
        st = DOB_FAIL(DOB_EFORMAT, "%s: not a NumPy .npy file (no \\x93NUMPY magic)", path);
        goto done;
    }
    if (b[6] == 1) {
        hl = (size_t)b[8] | (size_t)b[9] << 8;
        off = 10;
    } else if ((b[6] == 2 || b[6] == 3) && len >= 12) {
        hl = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        off = 12;
    } else {
        st = DOB_FAIL(DOB_EFORMAT, "%s: .npy format version %d.%d, expected 1.0, 2.0 or 3.0", path, b[6], b[7]);
        goto done;
    }
    if (hl > len - off) {
        st = DOB_FAIL(DOB_EFORMAT, "%s: .npy header of %zu bytes runs past the end of the file (%zu bytes)", path, hl,
                      len);
        goto done;
    }
    char *h = malloc(hl + 1);
    if (!h) {
        st = DOB_FAIL(DOB_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    memcpy(h, b + off, hl);
    h[hl] = 0;
    int size = 1, sgn = 0, big = 0;
    int64_t count = 0;
    st = npy_header(path, h, &size, &sgn, &big, &count);
    free(h);
    if (st != DOB_OK) goto done;
    const size_t data = off + hl;
    if ((uint64_t)count > (len - data) / (size_t)size || (size_t)count * (size_t)size != len - data) {
        st = DOB_FAIL(DOB_EFORMAT, "%s: shape (%lld,) of %d-byte items needs %llu bytes of data, the file has %zu",
                      path, (long long)count, size, (unsigned long long)count * (unsigned long long)size, len - data);
        goto done;
    }
    int32_t *out = malloc((size_t)(count ? count : 1) * sizeof *out);
    if (!out) {
        st = DOB_FAIL(DOB_ENOMEM, "%s: out of memory for %lld ids", path, (long long)count);
        goto done;
    }
    for (int64_t i = 0; i < count; i++) {
        const unsigned char *q = b + data + (size_t)i * (size_t)size;
        uint64_t u = 0;
        for (int k = 0; k < size; k++) u |= (uint64_t)q[big ? size - 1 - k : k] << (8 * k);
        int neg = sgn && (u >> (8 * size - 1)) & 1;
        if (neg || u > INT32_MAX) {
            st = DOB_FAIL(DOB_EFORMAT, "%s: id %lld at index %lld is outside [0, 2^31)", path,
                          neg ? -1LL : (long long)u, (long long)i);
            free(out);
            goto done;
        }
        out[i] = (int32_t)u;
    }
    *ids = out;
    *n = count;
done:
    free(b);
    return st;
}

/* ---- vocab.pkl --------------------------------------------------------------------------------------------- */

/* Decode one UTF-8 code point at s[0..len); *used gets its length. @return code point or -1 if invalid. */
static int32_t utf8_cp(const unsigned char *s, size_t len, size_t *used) {
    if (len == 0) return -1;
    unsigned c = s[0];
    int n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (!n || (size_t)n > len) return -1;
    uint32_t cp = n == 1 ? c : c & (0x7f >> n);
    for (int k = 1; k < n; k++) {
        if ((s[k] & 0xc0) != 0x80) return -1;
        cp = cp << 6 | (s[k] & 0x3f);
    }
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return -1; /* overlong, surrogate */
    *used = (size_t)n;
    return (int32_t)cp;
}

dob_status dob_pkl_read_vocab(const char *path, uint32_t **chars, int64_t *n) {
    unsigned char *b;
    size_t len, i = 0;
    *chars = NULL;
    *n = 0;
    dob_status st = slurp(path, &b, &len);
    if (st != DOB_OK) return st;
    uint32_t *v = malloc((len + 1) * sizeof *v); /* at most one string per byte */
    int64_t nv = 0, mark = -1, tuple = 0;
    if (!v) {
        free(b);
        return DOB_FAIL(DOB_ENOMEM, "%s: out of memory", path);
    }
    if (len < 2 || b[0] != 0x80 || b[1] < 2 || b[1] > 5) {
        st = DOB_FAIL(DOB_EFORMAT, "%s: expected a binary pickle (protocol 2 to 5) of the vocabulary tuple", path);
        goto done;
    }
    for (i = 2; i < len;) {
        const unsigned char op = b[i++];
        uint64_t sl = 0;
        int lb = 0;
        switch (op) {
        case 0x95: i += 8; continue;                              /* FRAME <8-byte length> */
        case 0x94: continue;                                      /* MEMOIZE */
        case 'q': i += 1; continue;                               /* BINPUT */
        case 'r': i += 4; continue;                               /* LONG_BINPUT */
        case '(': mark = nv; continue;                            /* MARK */
        case 't': tuple = mark >= 0; mark = -1; continue;         /* TUPLE */
        case 0x85: case 0x86: case 0x87: tuple = 1; continue;     /* TUPLE1..3 */
        case ')': tuple = 1; continue;                            /* EMPTY_TUPLE */
        case '.': goto stop;                                      /* STOP */
        case 0x8c: lb = 1; break;                                 /* SHORT_BINUNICODE <1-byte len> */
        case 'X': lb = 4; break;                                  /* BINUNICODE <4-byte len> */
        case 0x8d: lb = 8; break;                                 /* BINUNICODE8 <8-byte len> */
        default:
            st = DOB_FAIL(DOB_EFORMAT, "%s: pickle opcode 0x%02x at byte %zu: expected only a tuple of strings", path,
                          op, i - 1);
            goto done;
        }
        if ((size_t)lb > len - i) break;
        for (int k = 0; k < lb; k++) sl |= (uint64_t)b[i + (size_t)k] << (8 * k);
        i += (size_t)lb;
        if (sl > len - i) break; /* truncated inside the string */
        size_t used = 0;
        int32_t cp = utf8_cp(b + i, (size_t)sl, &used);
        if (cp < 0 || used != sl) {
            st = DOB_FAIL(DOB_EFORMAT, "%s: vocabulary entry %lld at byte %zu is not one UTF-8 character", path,
                          (long long)nv, i);
            goto done;
        }
        v[nv++] = (uint32_t)cp;
        i += (size_t)sl;
    }
    st = DOB_FAIL(DOB_EFORMAT, "%s: pickle ends without STOP (truncated file)", path);
    goto done;
stop:
    if (!tuple || nv == 0) {
        st = DOB_FAIL(DOB_EFORMAT, "%s: expected a non-empty tuple of characters, found %lld strings%s", path,
                      (long long)nv, tuple ? "" : " and no tuple");
        goto done;
    }
    for (int64_t a = 0; a < nv; a++)
        for (int64_t c = a + 1; c < nv; c++)
            if (v[a] == v[c]) {
                st = DOB_FAIL(DOB_EFORMAT, "%s: character U+%04X appears twice in the vocabulary", path, v[a]);
                goto done;
            }
    *chars = v;
    *n = nv;
    v = NULL;
done:
    free(v);
    free(b);
    return st;
}

/* ---- raw text -------------------------------------------------------------------------------------------- */

typedef struct vslot {
    uint32_t cp;
    int64_t count, first;
} vslot;

static int by_count(const void *a, const void *b) {
    const vslot *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return (x->first > y->first) - (x->first < y->first); /* stable: first occurrence first */
}

dob_status dob_tolstoi_preprocess(const char *text, size_t len, uint32_t **vocab, int64_t *n_vocab, int32_t **ids,
                                  int64_t *n, int64_t *n_train) {
    const unsigned char *s = (const unsigned char *)text;
    int32_t *out = malloc((len ? len : 1) * sizeof *out);
    vslot *slots = NULL;
    int64_t ns = 0, cap = 0, k = 0;
    int32_t *rank = NULL;
    dob_status st = DOB_OK;
    *vocab = NULL;
    *ids = NULL;
    if (!out) return DOB_FAIL(DOB_ENOMEM, "tolstoi: out of memory for %zu characters", len);
    /* code points -> slot index, via a small open table keyed by code point */
    size_t tcap = 1024;
    int64_t *table = malloc(tcap * sizeof *table);
    if (!table) {
        free(out);
        return DOB_FAIL(DOB_ENOMEM, "tolstoi: out of memory");
    }
    for (size_t t = 0; t < tcap; t++) table[t] = -1;
    for (size_t i = 0; i < len;) {
        size_t used;
        int32_t cp = utf8_cp(s + i, len - i, &used);
        if (cp < 0) {
            st = DOB_FAIL(DOB_EFORMAT, "tolstoi: input.txt: invalid UTF-8 at byte %zu (DeepOBS reads it as UTF-8)", i);
            goto fail;
        }
        size_t h = ((uint32_t)cp * 2654435761u) & (tcap - 1);
        while (table[h] >= 0 && slots[table[h]].cp != (uint32_t)cp) h = (h + 1) & (tcap - 1);
        if (table[h] < 0) {
            if (ns == cap) {
                cap = cap ? 2 * cap : 128;
                vslot *nsl = realloc(slots, (size_t)cap * sizeof *nsl);
                if (!nsl) {
                    st = DOB_FAIL(DOB_ENOMEM, "tolstoi: out of memory");
                    goto fail;
                }
                slots = nsl;
            }
            slots[ns] = (vslot){(uint32_t)cp, 0, ns};
            table[h] = ns++;
            if ((size_t)ns * 2 > tcap) { /* grow and rehash */
                size_t ncap = tcap * 2;
                int64_t *nt = malloc(ncap * sizeof *nt);
                if (!nt) {
                    st = DOB_FAIL(DOB_ENOMEM, "tolstoi: out of memory");
                    goto fail;
                }
                for (size_t t = 0; t < ncap; t++) nt[t] = -1;
                for (int64_t j = 0; j < ns; j++) {
                    size_t g = (slots[j].cp * 2654435761u) & (ncap - 1);
                    while (nt[g] >= 0) g = (g + 1) & (ncap - 1);
                    nt[g] = j;
                }
                free(table);
                table = nt;
                tcap = ncap;
                h = ((uint32_t)cp * 2654435761u) & (tcap - 1);
                while (slots[table[h]].cp != (uint32_t)cp) h = (h + 1) & (tcap - 1);
            }
        }
        slots[table[h]].count++;
        out[k++] = (int32_t)table[h]; /* slot index for now: renumbered by rank below */
        i += used;
    }
    if (k < 2) {
        st = DOB_FAIL(DOB_EFORMAT, "tolstoi: input.txt has %lld characters, too few to predict any", (long long)k);
        goto fail;
    }
    qsort(slots, (size_t)ns, sizeof *slots, by_count);
    rank = malloc((size_t)ns * sizeof *rank);
    uint32_t *voc = malloc((size_t)ns * sizeof *voc);
    if (!rank || !voc) {
        free(voc);
        st = DOB_FAIL(DOB_ENOMEM, "tolstoi: out of memory");
        goto fail;
    }
    for (int64_t r = 0; r < ns; r++) {
        rank[slots[r].first] = (int32_t)r; /* slot index (= first-occurrence order) -> id */
        voc[r] = slots[r].cp;
    }
    for (int64_t i = 0; i < k; i++) out[i] = rank[out[i]];
    *vocab = voc;
    *n_vocab = ns;
    *ids = out;
    *n = k;
    /* DeepOBS: train_size = int(np.ceil((1.0 - test_size) * np.size(array))), test_size = 0.2 */
    *n_train = (int64_t)ceil((1.0 - 0.2) * (double)k);
    out = NULL;
fail:
    free(out);
    free(slots);
    free(table);
    free(rank);
    return st;
}

/* ---- the data set directory --------------------------------------------------------------------------------- */

void dob_tolstoi_free(dob_tolstoi *t) {
    if (!t) return;
    free(t->train);
    free(t->test);
    free(t->vocab);
    memset(t, 0, sizeof *t);
}

static dob_status load_prepared(const char *dir, dob_tolstoi *t) {
    char p[4200];
    dob_status st;
    snprintf(p, sizeof p, "%s/train.npy", dir);
    if ((st = dob_npy_read_ids(p, &t->train, &t->n_train)) != DOB_OK) return st;
    snprintf(p, sizeof p, "%s/test.npy", dir);
    if ((st = dob_npy_read_ids(p, &t->test, &t->n_test)) != DOB_OK) return st;
    snprintf(p, sizeof p, "%s/vocab.pkl", dir);
    st = dob_pkl_read_vocab(p, &t->vocab, &t->n_vocab);
    if (st == DOB_ENOENT) { /* the ids alone suffice for training */
        dob_error_clear();
        st = DOB_OK;
        int64_t m = 0;
        for (int64_t i = 0; i < t->n_train; i++) m = t->train[i] >= m ? t->train[i] + 1 : m;
        for (int64_t i = 0; i < t->n_test; i++) m = t->test[i] >= m ? t->test[i] + 1 : m;
        t->n_vocab = m;
    }
    return st;
}

dob_status dob_tolstoi_load(const char *dir, dob_tolstoi *t) {
    char p[4200];
    dob_status st;
    memset(t, 0, sizeof *t);
    snprintf(p, sizeof p, "%s/train.npy", dir);
    FILE *f = fopen(p, "rb");
    if (f) {
        fclose(f);
        st = load_prepared(dir, t);
    } else {
        unsigned char *text;
        size_t len;
        snprintf(p, sizeof p, "%s/input.txt", dir);
        st = slurp(p, &text, &len);
        if (st == DOB_ENOENT) {
            dob_tolstoi_free(t);
            return DOB_FAIL(DOB_ENOENT, "%s: neither train.npy/test.npy nor input.txt: get DeepOBS's prepared files "
                            "with deepobs_prepare_data.sh (tolstoi), or put its input.txt there (README: data sets)",
                            dir);
        }
        if (st != DOB_OK) return st;
        int32_t *ids;
        int64_t n, n_train;
        st = dob_tolstoi_preprocess((const char *)text, len, &t->vocab, &t->n_vocab, &ids, &n, &n_train);
        free(text);
        if (st == DOB_OK) {
            t->train = ids;
            t->n_train = n_train;
            t->n_test = n - n_train;
            t->test = malloc((size_t)(t->n_test ? t->n_test : 1) * sizeof *t->test);
            if (!t->test) st = DOB_FAIL(DOB_ENOMEM, "tolstoi: out of memory");
            else memcpy(t->test, ids + n_train, (size_t)t->n_test * sizeof *t->test);
        }
    }
    if (st == DOB_OK) /* every id must name a vocabulary entry */
        for (int k = 0; k < 2 && st == DOB_OK; k++) {
            const int32_t *a = k ? t->test : t->train;
            for (int64_t i = 0; i < (k ? t->n_test : t->n_train); i++)
                if (a[i] >= t->n_vocab) {
                    st = DOB_FAIL(DOB_EFORMAT, "%s: %s id %d at index %lld, but the vocabulary has %lld characters",
                                  dir, k ? "test" : "train", a[i], (long long)i, (long long)t->n_vocab);
                    break;
                }
        }
    if (st != DOB_OK) dob_tolstoi_free(t);
    return st;
}

dob_status dob_text_sequences(const int32_t *ids, int64_t n, int64_t len, dob_dataset *out) {
    memset(out, 0, sizeof *out);
    if (len <= 0) return DOB_FAIL(DOB_EINVAL, "sequence length must be > 0, found %lld", (long long)len);
    const int64_t m = n > 0 ? (n - 1) / len : 0; /* y is x shifted by one character */
    if (m < 1)
        return DOB_FAIL(DOB_EINVAL, "a text of %lld characters holds no sequence of %lld (+1) characters",
                        (long long)n, (long long)len);
    /* one stream of the m * len + 1 ids the sequences and their targets cover, as bytes when every id fits
     * (DeepOBS's Tolstoi has 83 characters), else int32 */
    int bytes = 1;
    for (int64_t i = 0; i <= m * len; i++) bytes &= ids[i] >= 0 && ids[i] < 256;
    const dob_dtype t = bytes ? DOB_DT_U8 : DOB_DT_I32;
    dob_status st = dob_dataset_alloc_as(out, m, 1, (int64_t[]){len}, len, t, DOB_Y_NEXT);
    if (st != DOB_OK) return st;
    for (int64_t i = 0; i <= m * len; i++) {
        if (t == DOB_DT_U8) ((uint8_t *)out->x)[i] = (uint8_t)ids[i];
        else ((int32_t *)out->x)[i] = ids[i];
    }
    return DOB_OK;
}
