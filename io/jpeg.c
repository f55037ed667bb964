/* jpeg.c: JPEG decoding with libjpeg-turbo as TensorFlow's decode_jpeg(channels=3) (include/dob/imagenet.h).
 * Colour: libjpeg converts YCbCr and greyscale to RGB itself (JCS_RGB; greyscale is replicated); CMYK and YCCK
 * files are decoded as CMYK and converted per pixel with TF's formula (jpeg_mem.cc): Adobe files store inverted
 * values, r = c * k / 255, else r = (255 - k)(255 - c) / 255 (integer arithmetic). Progressive files need nothing
 * special. DCT method and upsampling are libjpeg's defaults, as TF's (JDCT_ISLOW, fancy upsampling).
 * Errors: libjpeg's error_exit would call exit(); ours longjmps back to dob_jpeg_decode, which returns DOB_EFORMAT
 * with libjpeg's message. A premature end of data, which libjpeg only warns about (padding the image with grey), is
 * an error here as well: a truncated file is corrupt. Other warnings (extraneous bytes) are ignored, as by TF.
 * Size: the sink's begin accepts or refuses the image before libjpeg allocates for it (see decode_rows).
 * Does not: read files, or hold the decoded image (rows go to the sink one at a time). */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "dob/imagenet.h"

typedef struct jerr {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
} jerr;

static void on_error(j_common_ptr c) {
    jerr *e = (jerr *)c->err;
    c->err->format_message(c, e->msg);
    longjmp(e->jump, 1);
}

static void on_message(j_common_ptr c, int level) {
    if (level < 0 && c->err->msg_code == JWRN_JPEG_EOF) on_error(c); /* truncated: corrupt, not grey padding */
}

/* CMYK row [w x 4] -> RGB [w x 3] in place (TF's conversion). */
static void cmyk_to_rgb(uint8_t *p, JDIMENSION w, int adobe) {
    for (JDIMENSION x = 0; x < w; x++) {
        const int c = p[4 * x], m = p[4 * x + 1], y = p[4 * x + 2], k = p[4 * x + 3];
        if (adobe) {
            p[3 * x] = (uint8_t)(k * c / 255), p[3 * x + 1] = (uint8_t)(k * m / 255), p[3 * x + 2] = (uint8_t)(k * y / 255);
        } else {
            p[3 * x] = (uint8_t)((255 - k) * (255 - c) / 255);
            p[3 * x + 1] = (uint8_t)((255 - k) * (255 - m) / 255);
            p[3 * x + 2] = (uint8_t)((255 - k) * (255 - y) / 255);
        }
    }
}

typedef struct decode_state {
    struct jpeg_decompress_struct info;
    jerr err;
    uint8_t *row;
} decode_state;

/* The part after the header; every libjpeg call may longjmp to s->err.jump (set by the caller). */
static dob_status decode_rows(decode_state *s, const dob_jpeg_sink *sink) {
    struct jpeg_decompress_struct *d = &s->info;
    const int cmyk = d->jpeg_color_space == JCS_CMYK || d->jpeg_color_space == JCS_YCCK;
    d->out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    /* the sink judges the size before jpeg_start_decompress: for a progressive file that call reads every scan
     * into whole-image coefficient arrays (2 bytes per pixel and component), so a 659-byte file declaring 60000 x
     * 60000 pixels made libjpeg allocate 10.8 GB and fill it, and only then did the sink refuse the size */
    jpeg_calc_output_dimensions(d);
    dob_status st = sink->begin(sink->ctx, (int64_t)d->output_height, (int64_t)d->output_width);
    if (st != DOB_OK) return st;
    jpeg_start_decompress(d);
    s->row = malloc((size_t)d->output_width * (size_t)d->output_components);
    if (!s->row) return DOB_FAIL(DOB_ENOMEM, "JPEG: out of memory for a row of %u pixels", d->output_width);
    while (d->output_scanline < d->output_height) {
        const int64_t r = (int64_t)d->output_scanline;
        JSAMPROW rows[1] = {s->row};
        if (jpeg_read_scanlines(d, rows, 1) != 1)
            return DOB_FAIL(DOB_EFORMAT, "JPEG: no data for row %lld", (long long)r);
        if (cmyk) cmyk_to_rgb(s->row, d->output_width, d->saw_Adobe_marker);
        sink->row(sink->ctx, r, s->row);
    }
    jpeg_finish_decompress(d);
    return DOB_OK;
}

dob_status dob_jpeg_decode(const uint8_t *buf, size_t len, const dob_jpeg_sink *sink) {
    decode_state *s = calloc(1, sizeof *s); /* on the heap: nothing to restore after longjmp */
    if (!s) return DOB_FAIL(DOB_ENOMEM, "JPEG: out of memory");
    volatile dob_status st = DOB_OK; /* set on both sides of setjmp */
    s->info.err = jpeg_std_error(&s->err.mgr);
    s->err.mgr.error_exit = on_error;
    s->err.mgr.emit_message = on_message;
    jpeg_create_decompress(&s->info);
    if (setjmp(s->err.jump)) {
        st = DOB_FAIL(DOB_EFORMAT, "JPEG: %s", s->err.msg);
    } else if (len == 0 || len > (size_t)0xFFFFFFFFu) {
        st = DOB_FAIL(DOB_EFORMAT, "JPEG: expected 1 byte to 4 GiB of data, found %zu", len);
    } else {
        jpeg_mem_src(&s->info, buf, (unsigned long)len);
        jpeg_read_header(&s->info, TRUE);
        st = decode_rows(s, sink);
    }
    jpeg_destroy_decompress(&s->info);
    free(s->row);
    free(s);
    return st;
}

static dob_status pre_begin(void *ctx, int64_t h, int64_t w) { return dob_imgpre_begin(ctx, h, w); }
static void pre_row(void *ctx, int64_t r, const uint8_t *rgb) { dob_imgpre_row(ctx, r, rgb); }

dob_status dob_jpeg_preprocess(const uint8_t *buf, size_t len, dob_imgpre *p, int augment, uint64_t seed,
                               uint64_t key, float *dst) {
    const dob_jpeg_sink sink = {p, pre_begin, pre_row};
    dob_status st = dob_jpeg_decode(buf, len, &sink);
    if (st == DOB_OK) dob_imgpre_finish(p, augment, seed, key, dst);
    return st;
}
