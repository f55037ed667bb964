/* preproc.c: the image preprocessing DeepOBS TF applies per data set (§4.3-4.5), shared by the problems that read
 * them: in training zero-pad 2 + random 32x32 crop, random left-right flip (CIFAR only: DeepOBS's SVHN pipeline
 * has none), random_brightness 63/255 (on the 0..255 scale, as DeepOBS: nearly no effect), random_saturation
 * [0.5, 1.5), random_contrast [0.2, 1.8); per-image standardisation in every split. ImageNet's crop and flip
 * happen where its images are decoded (src/data/imgpre.c, variable-size images); here only the standardisation. */
#include "dob/problem.h"

const dob_preproc dob_preproc_cifar = {.standardize = 1, .pad = 2, .flip = 1, .brightness = 63.0f / 255.0f,
                                       .sat_lo = 0.5f, .sat_hi = 1.5f, .con_lo = 0.2f, .con_hi = 1.8f};
const dob_preproc dob_preproc_svhn = {.standardize = 1, .pad = 2, .flip = 0, .brightness = 63.0f / 255.0f,
                                      .sat_lo = 0.5f, .sat_hi = 1.5f, .con_lo = 0.2f, .con_hi = 1.8f};
const dob_preproc dob_preproc_imagenet = {.standardize = 1};
