/* cli.c: number parsing, error printing and "did you mean" suggestions for the dob program. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"

int app_is_root(dob_comm *world) { return !world || dob_comm_rank(world) == 0; }

void app_error(dob_comm *world, const char *fmt, ...) {
    if (!app_is_root(world)) return;
    va_list ap;
    va_start(ap, fmt);
    fputs("dob: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void app_status_error(dob_comm *world, const char *context) {
    if (!app_is_root(world)) return;
    const char *dbg = getenv("DOB_DEBUG");
    fprintf(stderr, "dob: error: %s%s%s\n", context ? context : "", context && *context ? ": " : "",
            dob_last_error());
    if (dbg && *dbg == '1') fprintf(stderr, "dob: (failure site %s)\n", dob_last_error_site());
}

dob_status app_parse_double(const char *flag, const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno == ERANGE || !isfinite(v))
        return DOB_FAIL(DOB_EINVAL, "%s: expected a finite number, found '%s'", flag, s);
    *out = v;
    return DOB_OK;
}

dob_status app_parse_int(const char *flag, const char *s, int64_t *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno == ERANGE) return DOB_FAIL(DOB_EINVAL, "%s: expected an integer, found '%s'", flag, s);
    *out = v;
    return DOB_OK;
}

dob_status app_parse_double_list(const char *flag, const char *s, double *out, int max, int *n) {
    char buf[1024];
    if (strlen(s) >= sizeof buf) return DOB_FAIL(DOB_EINVAL, "%s: list too long", flag);
    strcpy(buf, s);
    int k = *n;
    for (char *save = NULL, *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        if (k >= max) return DOB_FAIL(DOB_EINVAL, "%s: more than %d values", flag, max);
        dob_status st = app_parse_double(flag, tok, &out[k]);
        if (st != DOB_OK) return st;
        k++;
    }
    *n = k;
    return DOB_OK;
}

static int edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63) return 99;
    int d[64][64];
    for (size_t i = 0; i <= la; i++) d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++) d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            int c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < c) c = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < c) c = d[i][j - 1] + 1;
            d[i][j] = c;
        }
    return d[la][lb];
}

const char *app_suggest(const char *s, const char *const *names, int n) {
    const char *best = NULL;
    int bd = 4;
    for (int i = 0; i < n; i++) {
        int d = edit_distance(s, names[i]);
        if (d < bd) {
            bd = d;
            best = names[i];
        }
    }
    return best;
}

/* ---- table-driven option parsing ------------------------------------------------------------------------- */
/* Does name equal one of the space-separated aliases in names? */
static int opt_matches(const char *names, const char *name) {
    size_t l = strlen(name);
    for (const char *p = names; *p;) {
        size_t k = strcspn(p, " ");
        if (k == l && !strncmp(p, name, l)) return 1;
        p += k;
        while (*p == ' ') p++;
    }
    return 0;
}

/* The first alias of names into buf (for messages). */
static const char *opt_label(const char *names, char *buf, size_t cap) {
    size_t k = strcspn(names, " ");
    snprintf(buf, cap, "%.*s", (int)k, names);
    return buf;
}

dob_status app_parse_opts(int argc, char **argv, const app_opt *opts, int n_opts, app_args *args) {
    dob_status st = DOB_OK;
    for (int i = 0; i < argc; i++) {
        char *a = argv[i], *val = NULL, name[128], label[64];
        if (a[0] != '-') {
            if (args->positional)
                return DOB_FAIL(DOB_EINVAL, "unexpected argument '%s' (the problem is '%s')", a, args->positional);
            args->positional = a;
            continue;
        }
        snprintf(name, sizeof name, "%s", a);
        char *eq = strchr(name, '=');
        if (eq) {
            *eq = '\0';
            val = a + (eq - name) + 1;
        }
        int k = 0;
        while (k < n_opts && !opt_matches(opts[k].names, name)) k++;
        if (k == n_opts) {
            /* an optimizer hyperparameter: --name VALUE */
            if (strncmp(name, "--", 2) || !name[2]) return DOB_FAIL(DOB_EINVAL, "unknown option '%s'", name);
            if (!val) {
                if (i + 1 >= argc) return DOB_FAIL(DOB_EINVAL, "option '%s' needs a value", name);
                val = argv[++i];
            }
            if (args->n_hp == (int)(sizeof args->hp_names / sizeof args->hp_names[0]))
                return DOB_FAIL(DOB_EINVAL, "too many options");
            if (eq) a[eq - name] = '\0'; /* "--name=value": keep "name" (argv is ours to cut) */
            args->hp_names[args->n_hp] = a + 2;
            args->hp_values[args->n_hp++] = val;
            continue;
        }
        const app_opt *o = &opts[k];
        opt_label(o->names, label, sizeof label);
        if (o->kind != APP_SWITCH && !val) {
            if (i + 1 >= argc) return DOB_FAIL(DOB_EINVAL, "option '%s' needs a value", name);
            val = argv[++i];
        } else if (o->kind == APP_SWITCH && val) {
            return DOB_FAIL(DOB_EINVAL, "option '%s' takes no value", name);
        }
        switch (o->kind) {
        case APP_STR: *(const char **)o->dst = val; break;
        case APP_INT: DOB_TRY(app_parse_int(label, val, o->dst)); break;
        case APP_DOUBLE: DOB_TRY(app_parse_double(label, val, o->dst)); break;
        case APP_SWITCH: *(int *)o->dst = 1; break;
        case APP_LIST:
            DOB_TRY(app_parse_double_list(label, val, o->dst, o->max, o->given));
            while (i + 1 < argc && argv[i + 1][0] != '-')
                DOB_TRY(app_parse_double_list(label, argv[++i], o->dst, o->max, o->given));
            break;
        }
        if (o->given && o->kind != APP_LIST) *o->given = 1;
    }
fail:
    return st;
}

int app_hp_index(dob_comm *world, const char *cmd, const dob_optim_api *opt, const char *name, const app_opt *opts,
                 int n_opts) {
    int k = dob_optim_hp_index(opt, name);
    if (k >= 0) return k;
    /* suggestions: the optimizer's hyperparameters and every long flag of the table */
    char pool[2048];
    const char *names[DOB_OPTIM_MAX_HP + 96];
    int n = 0;
    size_t used = 0;
    for (int j = 0; j < opt->n_hparams; j++) names[n++] = opt->hparams[j].name;
    for (int j = 0; j < n_opts; j++)
        for (const char *p = opts[j].names; *p && n < (int)(sizeof names / sizeof names[0]);) {
            size_t l = strcspn(p, " ");
            if (l > 2 && !strncmp(p, "--", 2) && used + l < sizeof pool) {
                memcpy(pool + used, p + 2, l - 2);
                pool[used + l - 2] = '\0';
                names[n++] = pool + used;
                used += l - 1;
            }
            p += l;
            while (*p == ' ') p++;
        }
    const char *s = app_suggest(name, names, n);
    app_error(world, "unknown option '--%s' for optimizer %s%s%s%s (dob %s --optimizer %s --help lists them)", name,
              opt->name, s ? ", did you mean '--" : "", s ? s : "", s ? "'?" : "", cmd, opt->name);
    return -1;
}

int app_weight_decay(dob_comm *world, const dob_problem_spec *p, int have_wd, double wd, double *out) {
    *out = p->weight_decay;
    if (!have_wd) return 0;
    if (wd < 0) {
        app_error(world, "--weight_decay must be >= 0, found %g", wd);
        return -1;
    }
    if (!p->has_l2) {
        if (app_is_root(world))
            fprintf(stderr, "dob: warning: %s has no regulariser; --weight_decay %g is ignored (as in DeepOBS)\n",
                    p->name, wd);
    } else {
        *out = wd;
    }
    return 0;
}
