/* registry.c: the static table of DeepOBS test problems and the net constructor shared by all of them. */
#include "dob/problem.h"

#include <string.h>

/* the problems of list.h: declarations, then the table */
#define DOB_PROBLEM(name) extern const dob_problem_spec dob_problem_##name;
#include "list.h"
#undef DOB_PROBLEM

static const dob_problem_spec *const problems[] = {
#define DOB_PROBLEM(name) &dob_problem_##name,
#include "list.h"
#undef DOB_PROBLEM
};

int dob_problem_count(void) { return (int)(sizeof problems / sizeof problems[0]); }

const dob_problem_spec *dob_problem_at(int i) {
    return (i >= 0 && i < dob_problem_count()) ? problems[i] : NULL;
}

const dob_problem_spec *dob_problem_find(const char *name) {
    for (int i = 0; i < dob_problem_count(); i++)
        if (!strcmp(problems[i]->name, name)) return problems[i];
    return NULL;
}

dob_status dob_problem_net(const dob_problem_spec *p, dob_net **out) {
    dob_status st = DOB_OK;
    dob_net *net = NULL;
    int logits;
    DOB_TRY(dob_net_create(&net, p->in_ndim, p->in_dims));
    DOB_TRY(p->build(net, &logits));
    dob_net_set_output(net, logits);
    DOB_TRY(dob_net_alloc(net));
    *out = net;
    return DOB_OK;
fail:
    dob_error_prefix("problem %s: ", p->name);
    dob_net_destroy(net);
    *out = NULL;
    return st;
}
