/* vgg.c: cifar10_vgg16, cifar10_vgg19, cifar100_vgg16, cifar100_vgg19, imagenet_vgg16, imagenet_vgg19 (DeepOBS
 * §3.6, _vgg.py) and their shared builder (dob_vgg_build).
 *
 * Net, input 3xHxW: bilinear resize to 224x224 (TF1 resize_images: align_corners=False, legacy mapping without
 * half-pixel centres; src/layers/resize.c), after DeepOBS's per-image standardisation (done by the data pipeline,
 * so the net sees standardised 32x32 images, as in TF); skipped when the input is 224x224 already (ImageNet: TF's
 * resize_images returns its input unchanged then). Five blocks of 3x3 / stride 1 / SAME convs with ReLU, each
 * block followed by a 2x2/2 SAME max pool: 64 x2, 128 x2, 256 x3 (x4 for VGG19), 512 x3 (x4), 512 x3 (x4) ->
 * 512x7x7 -> flatten (25 088) -> fc 4096 ReLU -> dropout 0.5 -> fc 4096 ReLU -> dropout 0.5 -> fc classes (logits).
 * Init: conv kernels glorot_normal (TF's truncated form), conv biases 0; dense kernels glorot_uniform and zero biases
 * (TF defaults: _vgg.py passes no initializer to tf.layers.dense).
 * Parameters: VGG16 134 301 514 (10 classes), 134 670 244 (100), 138 361 641 (1001); VGG19 139 611 210,
 * 139 979 940, 143 671 337.
 * Decisions on DeepOBS's quirks (also in `dob list`):
 *  - L2 (default 5e-4) on the 13/16 conv kernels only (14 710 464 / 20 018 880 weights), as DeepOBS TF: the three
 *    dense kernels are not regularised although the docstring says "weights".
 *  - The resize is TF1's legacy bilinear, not the PyTorch port's UpsamplingBilinear2d (align_corners=True).
 *  - Batch size and epochs: DeepOBS has no default for the VGG problems (not in v1.2b's config nor in the later
 *    info.py); dob uses 128 / 100, cifar10_3c3d's. At 224x224 one example needs ~0.12 GB of activations and their
 *    gradients in training, so bs 128 wants ~16 GB on one rank: `dob run` states its memory estimate and refuses
 *    a node that cannot hold it; split the batch over ranks or nodes.
 *  - Data: as the other CIFAR problems (augmentation in training, train_eval not augmented; CIFAR-100's DeepOBS
 *    off-by-one image offset unless --cifar100-fix-offset). ImageNet: 1001 classes (0 = background), the streamed
 *    224x224 crops of io/imagenet.c (§4.6: random crop and flip in training), standardised; the net has no resize.
 * Layer names follow VGG's (conv1_1 .. conv5_4, pool1 .. pool5, fc_1 .. fc_3), not TF's auto-numbered ones. */
#include <stdio.h>

#include "dob/problem.h"

/* conv3x3 SAME + ReLU, glorot_normal kernel in the L2 term, zero bias */
static dob_status conv(dob_net *net, const char *name, int x, int64_t filters, int *y) {
    const dob_conv_cfg c = {.out_channels = filters, .kh = 3, .kw = 3, .sh = 1, .sw = 1, .pad = DOB_PAD_SAME,
                            .bias = 1, .w_init = {DOB_INIT_GLOROT_NORMAL, 0, 0}, .b_init = {DOB_INIT_ZEROS, 0, 0},
                            .l2 = 1, .act = DOB_ACT_RELU};
    return dob_net_conv(net, name, x, &c, y);
}

/* dense glorot_uniform kernel (not regularised), zero bias, optional ReLU, then dropout 0.5 when drop_name */
static dob_status dense(dob_net *net, const char *name, int x, int64_t out, int relu, const char *drop_name,
                        int *y) {
    dob_status st = DOB_OK;
    const dob_dense_cfg d = {.out_features = out, .bias = 1, .w_init = {DOB_INIT_GLOROT_UNIFORM, 0, 0},
                             .b_init = {DOB_INIT_ZEROS, 0, 0}, .l2 = 0, .act = relu ? DOB_ACT_RELU : DOB_ACT_NONE};
    DOB_TRY(dob_net_dense(net, name, x, &d, y));
    if (drop_name) DOB_TRY(dob_net_dropout(net, drop_name, *y, &(dob_dropout_cfg){.rate = 0.5f}, y));
fail:
    return st;
}

static dob_status blocks(dob_net *net, int variant, int x, int *y) {
    dob_status st = DOB_OK;
    static const int64_t filters[5] = {64, 128, 256, 512, 512};
    const int deep = variant == 19 ? 4 : 3; /* convs in blocks 3..5 */
    const dob_pool_cfg pool = {.kind = DOB_POOL_MAX, .kh = 2, .kw = 2, .sh = 2, .sw = 2, .pad = DOB_PAD_SAME};
    char name[32];
    for (int b = 0; b < 5; b++) {
        for (int i = 0; i < (b < 2 ? 2 : deep); i++) {
            snprintf(name, sizeof name, "conv%d_%d", b + 1, i + 1);
            DOB_TRY(conv(net, name, x, filters[b], &x));
        }
        snprintf(name, sizeof name, "pool%d", b + 1);
        DOB_TRY(dob_net_pool(net, name, x, &pool, &x));
    }
    *y = x;
fail:
    return st;
}

dob_status dob_vgg_build(dob_net *net, int variant, int64_t classes, int *logits) {
    dob_status st = DOB_OK;
    if (variant != 16 && variant != 19)
        return DOB_FAIL(DOB_EINVAL, "VGG variant must be 16 or 19, found %d", variant);
    int x = dob_net_input(net);
    const dob_tensor *in = dob_net_tensor(net, x);
    if (in->ndim != 4)
        return DOB_FAIL(DOB_EINVAL, "VGG expects a C,H,W input, found %d dims per example", in->ndim - 1);
    if (in->dims[2] != 224 || in->dims[3] != 224)
        DOB_TRY(dob_net_resize_bilinear(net, "resize", x, &(dob_resize_cfg){224, 224}, &x));
    DOB_TRY(blocks(net, variant, x, &x));
    DOB_TRY(dob_net_flatten(net, "flatten", x, &x));
    DOB_TRY(dense(net, "fc_1", x, 4096, 1, "dropout_1", &x));
    DOB_TRY(dense(net, "fc_2", x, 4096, 1, "dropout_2", &x));
    DOB_TRY(dense(net, "fc_3", x, classes, 0, NULL, logits));
fail:
    return st;
}

static dob_status build_c10_16(dob_net *net, int *logits) { return dob_vgg_build(net, 16, 10, logits); }
static dob_status build_c10_19(dob_net *net, int *logits) { return dob_vgg_build(net, 19, 10, logits); }
static dob_status build_c100_16(dob_net *net, int *logits) { return dob_vgg_build(net, 16, 100, logits); }
static dob_status build_c100_19(dob_net *net, int *logits) { return dob_vgg_build(net, 19, 100, logits); }
static dob_status build_in_16(dob_net *net, int *logits) { return dob_vgg_build(net, 16, 1001, logits); }
static dob_status build_in_19(dob_net *net, int *logits) { return dob_vgg_build(net, 19, 1001, logits); }

/* the notes of `dob list` */
#define VGG_NOTES "L2 on conv kernels only (DeepOBS TF); TF1 legacy bilinear resize 32->224; no DeepOBS bs/epochs: 128/100"
#define C100_NOTE "; CIFAR-100 off-by-one offset unless --cifar100-fix-offset"

#define VGG_SPEC(pname, data, k, np, fn, what, note)                                                               \
    const dob_problem_spec dob_problem_##pname = {                                                                 \
        .name = #pname, .dataset = data, .summary = what, .in_ndim = 3, .in_dims = {3, 32, 32}, .n_classes = k,    \
        .batch_size = 128, .num_epochs = 100, .weight_decay = 0.0005, .has_l2 = 1, .has_accuracy = 1,               \
        .loss = DOB_LOSS_SOFTMAX_CE, .train_eval_size = 10000, .n_params = np, .build = fn,                        \
        .preproc = &dob_preproc_cifar, .notes = note,                                                              \
    }

VGG_SPEC(cifar10_vgg16, "cifar10", 10, 134301514, build_c10_16, "VGG 16 on CIFAR-10 upsampled to 224x224",
         VGG_NOTES);
VGG_SPEC(cifar10_vgg19, "cifar10", 10, 139611210, build_c10_19, "VGG 19 on CIFAR-10 upsampled to 224x224",
         VGG_NOTES);
VGG_SPEC(cifar100_vgg16, "cifar100", 100, 134670244, build_c100_16, "VGG 16 on CIFAR-100 upsampled to 224x224",
         VGG_NOTES C100_NOTE);
VGG_SPEC(cifar100_vgg19, "cifar100", 100, 139979940, build_c100_19, "VGG 19 on CIFAR-100 upsampled to 224x224",
         VGG_NOTES C100_NOTE);

/* ImageNet: 224x224 crops, train_eval 50 000 (DeepOBS's imagenet train_eval_size) */
#define VGG_IN_NOTES "L2 on conv kernels only (DeepOBS TF); 1001 classes, class 0 background; no DeepOBS bs/epochs: 128/100"
#define VGG_IN_SPEC(pname, np, fn, what)                                                                           \
    const dob_problem_spec dob_problem_##pname = {                                                                 \
        .name = #pname, .dataset = "imagenet", .summary = what, .in_ndim = 3, .in_dims = {3, 224, 224},            \
        .n_classes = 1001, .batch_size = 128, .num_epochs = 100, .weight_decay = 0.0005, .has_l2 = 1,              \
        .has_accuracy = 1, .loss = DOB_LOSS_SOFTMAX_CE, .train_eval_size = 50000, .n_params = np, .build = fn,     \
        .preproc = &dob_preproc_imagenet, .notes = VGG_IN_NOTES,                                                   \
    }

VGG_IN_SPEC(imagenet_vgg16, 138361641, build_in_16, "VGG 16 on ImageNet (224x224 crops, 1001 classes)");
VGG_IN_SPEC(imagenet_vgg19, 143671337, build_in_19, "VGG 19 on ImageNet (224x224 crops, 1001 classes)");
