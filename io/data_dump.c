/* data_dump.c: what `dob data` writes, so users can look at their data as the net sees it and check a reader
 * against other tools.
 *   HDF5: /x float32 [N, H, W, C] (TF's order, so numpy/h5py users compare directly), /y int64 [N] (the class
 *         index: argmax of the one-hot row; 0 for the synthetic sets), attributes dataset, split, preprocessing.
 *   PNG:  a grid of the N images (RGB, or grey for one channel), each tile min-max scaled to 0..255 on its own
 *         (standardised values have no fixed range) and labelled above with its class index in a 3x5 pixel font.
 * Both are written to a temporary name and renamed; an existing file is never replaced (DOB_EEXIST). */
#include <hdf5.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dob/datasets.h"
#include "dob/io.h"

static int64_t label_of(const dob_dataset *d, int64_t i) {
    int64_t b = 0;
    for (int64_t k = 1; k < d->k; k++)
        if (d->y[i * d->k + k] > d->y[i * d->k + b]) b = k;
    return b;
}

static dob_status refuse_existing(const char *path, const char *what) {
    if (dob_io_exists(path))
        return DOB_FAIL(DOB_EEXIST, "%s %s exists: dob data never replaces a file (remove it or pick another name)",
                        what, path);
    return dob_io_check_dir_of(path, what, 0.0);
}

static dob_status attr_str(hid_t loc, const char *name, const char *value) {
    dob_status st = DOB_OK;
    hid_t t = H5Tcopy(H5T_C_S1), s = H5Screate(H5S_SCALAR), a = -1;
    if (t < 0 || s < 0 || H5Tset_size(t, strlen(value) + 1) < 0 ||
        (a = H5Acreate2(loc, name, t, s, H5P_DEFAULT, H5P_DEFAULT)) < 0 || H5Awrite(a, t, value) < 0)
        st = DOB_FAIL(DOB_EH5, "HDF5: cannot write attribute %s", name);
    if (a >= 0) H5Aclose(a);
    if (s >= 0) H5Sclose(s);
    if (t >= 0) H5Tclose(t);
    return st;
}

static dob_status write_set(hid_t f, const char *name, hid_t type, int rank, const hsize_t *dims, const void *buf) {
    dob_status st = DOB_OK;
    hid_t s = H5Screate_simple(rank, dims, NULL), d = -1;
    if (s < 0 || (d = H5Dcreate2(f, name, type, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
        st = DOB_FAIL(DOB_EH5, "HDF5: cannot write dataset %s", name);
    if (d >= 0) H5Dclose(d);
    if (s >= 0) H5Sclose(s);
    return st;
}

dob_status dob_data_dump_h5(const char *path, const dob_dataset *d, const char *dataset, const char *split,
                            const char *preprocessing) {
    dob_status st = DOB_OK;
    char tmp[4200] = "";
    float *x = NULL;
    int64_t *y = NULL;
    hid_t f = -1;
    if (d->x_type != DOB_DT_F32 || d->y_type != DOB_Y_ROWS)
        return DOB_FAIL(DOB_EINTERNAL, "HDF5 dump: expected float32 examples (dob_dataset_to_f32)");
    if ((st = refuse_existing(path, "HDF5 dump")) != DOB_OK) return st;
    const float *dx = d->x;
    const int64_t n = d->n, c = d->x_ndim == 3 ? d->x_dims[0] : 1, h = d->x_ndim == 3 ? d->x_dims[1] : 1;
    const int64_t w = d->x_ndim == 3 ? d->x_dims[2] : dob_dataset_example_size(d);
    x = malloc((size_t)(n * c * h * w > 0 ? n * c * h * w : 1) * sizeof *x);
    y = malloc((size_t)(n > 0 ? n : 1) * sizeof *y);
    if (!x || !y) {
        st = DOB_FAIL(DOB_ENOMEM, "HDF5 dump: out of memory for %lld examples", (long long)n);
        goto fail;
    }
    for (int64_t i = 0; i < n; i++) { /* C,H,W -> H,W,C */
        y[i] = label_of(d, i);
        for (int64_t ch = 0; ch < c; ch++)
            for (int64_t p = 0; p < h * w; p++) x[(i * h * w + p) * c + ch] = dx[(i * c + ch) * h * w + p];
    }
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
    if ((f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT)) < 0) {
        st = DOB_FAIL(DOB_EH5, "HDF5 dump: cannot create %s", tmp);
        goto fail;
    }
    const hsize_t xd[4] = {(hsize_t)n, (hsize_t)h, (hsize_t)w, (hsize_t)c}, yd[1] = {(hsize_t)n};
    if ((st = write_set(f, "x", H5T_NATIVE_FLOAT, 4, xd, x)) != DOB_OK ||
        (st = write_set(f, "y", H5T_NATIVE_INT64, 1, yd, y)) != DOB_OK ||
        (st = attr_str(f, "dataset", dataset)) != DOB_OK || (st = attr_str(f, "split", split)) != DOB_OK ||
        (st = attr_str(f, "preprocessing", preprocessing)) != DOB_OK)
        goto fail;
    if (H5Fclose(f) < 0) {
        f = -1;
        st = DOB_FAIL(DOB_EH5, "HDF5 dump: cannot close %s", tmp);
        goto fail;
    }
    f = -1;
    if (rename(tmp, path) != 0) {
        st = DOB_FAIL(DOB_EIO, "HDF5 dump: cannot rename %s to %s", tmp, path);
        goto fail;
    }
    free(x);
    free(y);
    return DOB_OK;
fail:
    if (f >= 0) H5Fclose(f);
    if (tmp[0]) remove(tmp);
    free(x);
    free(y);
    return st;
}

/* ---- PNG grid ------------------------------------------------------------------------------------------- */

/* 3x5 digits, one row of 3 bits per line, top first */
static const unsigned char DIGITS[10][5] = {{7, 5, 5, 5, 7}, {2, 6, 2, 2, 7}, {7, 1, 7, 4, 7}, {7, 1, 7, 1, 7},
                                            {5, 5, 7, 1, 1}, {7, 4, 7, 1, 7}, {7, 4, 7, 5, 7}, {7, 1, 1, 1, 1},
                                            {7, 5, 7, 5, 7}, {7, 5, 7, 1, 7}};
enum { LABEL_H = 7, GAP = 2 };

static void draw_label(unsigned char *img, int64_t stride, int64_t x0, int64_t y0, int64_t label) {
    char s[24];
    snprintf(s, sizeof s, "%lld", (long long)label);
    for (int ci = 0; s[ci]; ci++)
        for (int r = 0; r < 5; r++)
            for (int b = 0; b < 3; b++)
                if (DIGITS[s[ci] - '0'][r] & (4 >> b)) {
                    unsigned char *p = img + (y0 + 1 + r) * stride + (x0 + ci * 4 + b) * 3;
                    p[0] = 255, p[1] = 255, p[2] = 0;
                }
}

/* Write an RGB image [H x W x 3] to fp; libpng reports errors by longjmp, so nothing here changes after setjmp.
 * @return 0 or -1. */
static int png_rows(FILE *fp, const unsigned char *img, int64_t W, int64_t H) {
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        if (png) png_destroy_write_struct(&png, NULL);
        return -1;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return -1;
    }
    png_init_io(png, fp);
    png_set_IHDR(png, info, (png_uint_32)W, (png_uint_32)H, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int64_t r = 0; r < H; r++) png_write_row(png, img + r * W * 3);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return 0;
}

dob_status dob_data_dump_png(const char *path, const dob_dataset *d) {
    dob_status st = DOB_OK;
    char tmp[4200] = "";
    unsigned char *img = NULL;
    FILE *fp = NULL;
    if (d->x_ndim != 3 || (d->x_dims[0] != 1 && d->x_dims[0] != 3))
        return DOB_FAIL(DOB_EINVAL, "PNG grid: expected images of 1 or 3 channels, found %d dims", d->x_ndim);
    if (d->x_type != DOB_DT_F32 || d->y_type != DOB_Y_ROWS)
        return DOB_FAIL(DOB_EINTERNAL, "PNG grid: expected float32 examples (dob_dataset_to_f32)");
    if ((st = refuse_existing(path, "PNG grid")) != DOB_OK) return st;
    const int64_t n = d->n, c = d->x_dims[0], h = d->x_dims[1], w = d->x_dims[2];
    int64_t cols = 1;
    while (cols * cols < n) cols++;
    const int64_t rows = (n + cols - 1) / cols, tw = w + GAP, th = h + LABEL_H + GAP;
    const int64_t W = cols * tw, H = rows * th, stride = W * 3;
    img = calloc((size_t)(W * H * 3), 1);
    if (!img) return DOB_FAIL(DOB_ENOMEM, "PNG grid: out of memory for %lld x %lld pixels", (long long)W, (long long)H);
    for (int64_t i = 0; i < n; i++) {
        const float *x = (const float *)d->x + i * c * h * w;
        float lo = x[0], hi = x[0];
        for (int64_t j = 1; j < c * h * w; j++) lo = x[j] < lo ? x[j] : lo, hi = x[j] > hi ? x[j] : hi;
        const float sc = hi > lo ? 255.0f / (hi - lo) : 0.0f;
        const int64_t x0 = (i % cols) * tw, y0 = (i / cols) * th;
        draw_label(img, stride, x0, y0, label_of(d, i));
        for (int64_t r = 0; r < h; r++)
            for (int64_t q = 0; q < w; q++)
                for (int64_t ch = 0; ch < 3; ch++) {
                    const float v = x[(c == 3 ? ch : 0) * h * w + r * w + q];
                    img[(y0 + LABEL_H + r) * stride + (x0 + q) * 3 + ch] = (unsigned char)((v - lo) * sc + 0.5f);
                }
    }
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
    if (!(fp = fopen(tmp, "wb"))) {
        st = DOB_FAIL(DOB_EIO, "PNG grid: cannot create %s", tmp);
        goto fail;
    }
    if (png_rows(fp, img, W, H) != 0) {
        st = DOB_FAIL(DOB_EIO, "PNG grid: libpng failed writing %s", tmp);
        goto fail;
    }
    if (fclose(fp) != 0 || rename(tmp, path) != 0) {
        fp = NULL;
        st = DOB_FAIL(DOB_EIO, "PNG grid: cannot write %s", path);
        goto fail;
    }
    free(img);
    return DOB_OK;
fail:
    if (fp) fclose(fp);
    if (tmp[0]) remove(tmp);
    free(img);
    return st;
}
