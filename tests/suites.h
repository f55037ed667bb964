/* suites.h: every CUnit suite, one X(name) per tests/test_<name>.c that defines `CU_SuiteInfo name_suite`. */
#ifndef DOB_SUITES_H
#define DOB_SUITES_H
#include <CUnit/CUnit.h>

#define DOB_SUITES \
    X(core)        \
    X(conv)        \
    X(wino)        \
    X(deconv)      \
    X(embed)       \
    X(latent)      \
    X(lstm)        \
    X(seq)         \
    X(pool)        \
    X(resize)      \
    X(dense)       \
    X(bnorm)       \
    X(dropout)     \
    X(structure)   \
    X(buffers)     \
    X(losses)      \
    X(optim)       \
    X(sched)       \
    X(idx)         \
    X(cifar)       \
    X(mat)         \
    X(tolstoi)     \
    X(imagenet)    \
    X(augment)     \
    X(synthetic)   \
    X(results)     \
    X(json)        \
    X(checkpoint)  \
    X(problems)    \
    X(vgg)         \
    X(imagenet_vgg) \
    X(inception)   \
    X(inception_golden) \
    X(trainer)     \
    X(sweep)       \
    X(bf16)        \
    X(integrity)   \
    X(analyze)

#define X(name) extern CU_SuiteInfo name##_suite;
DOB_SUITES
#undef X

#endif
