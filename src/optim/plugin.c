/* plugin.c: loading an external optimizer (--optimizer-lib path.so) without recompiling dob.
 * The shared object exports `const dob_optim_ops *dob_optim_plugin(void)`; we dlopen it (RTLD_NOW, so missing
 * symbols fail here, not mid-run), call that function, and validate the table with dob_optim_check_ops (ABI
 * version first, then names, step, counts, ranges), and refuse a name that shadows a built-in (results are
 * filed by optimizer name). Every message names the file.
 * Invariant: a successfully loaded library is never dlclosed (the returned table and step code live in it);
 * on failure it is closed again. Does not search a plugin path: a bare file name is taken relative to the
 * current directory, as a user typing --optimizer-lib myopt.so expects (dlopen alone would search
 * LD_LIBRARY_PATH and the system directories instead). */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "builtins.h"

typedef const dob_optim_ops *(*plugin_fn)(void);

dob_status dob_optim_load_plugin(const char *path, const dob_optim_ops **out) {
    dob_status st = DOB_OK;
    void *lib = NULL;
    if (!path || !*path || !out) return DOB_FAIL(DOB_EINVAL, "optimizer plugin: expected a file path, found none");
    *out = NULL;

    char local[4096];
    const char *open_path = path;
    if (!strchr(path, '/')) {
        int k = snprintf(local, sizeof local, "./%s", path);
        if (k < 0 || (size_t)k >= sizeof local)
            return DOB_FAIL(DOB_EINVAL, "optimizer plugin: path too long (%zu characters)", strlen(path));
        open_path = local;
    }

    dlerror();
    lib = dlopen(open_path, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *e = dlerror();
        if (access(open_path, F_OK) != 0)
            return DOB_FAIL(DOB_ENOENT, "optimizer plugin '%s': file not found (%s)", path, e ? e : "dlopen failed");
        return DOB_FAIL(DOB_EFORMAT, "optimizer plugin '%s': cannot load it as a shared object: %s", path,
                        e ? e : "dlopen failed");
    }

    dlerror();
    void *sym = dlsym(lib, "dob_optim_plugin");
    const char *e = dlerror();
    if (e || !sym) {
        st = DOB_FAIL(DOB_EFORMAT, "optimizer plugin '%s': expected the symbol dob_optim_plugin "
                      "(const dob_optim_ops *dob_optim_plugin(void)), not found: %s", path, e ? e : "NULL symbol");
        goto fail;
    }
    plugin_fn fn;
    memcpy(&fn, &sym, sizeof fn); /* ISO C has no object-to-function pointer cast; POSIX guarantees this works */
    const dob_optim_ops *o = fn();
    if (!o) {
        st = DOB_FAIL(DOB_EINVAL, "optimizer plugin '%s': dob_optim_plugin() returned NULL", path);
        goto fail;
    }
    st = dob_optim_check_ops(o);
    if (st != DOB_OK) {
        dob_error_prefix("optimizer plugin '%s': ", path);
        goto fail;
    }
    if (dob_optim_find(o->name)) {
        st = DOB_FAIL(DOB_EINVAL, "optimizer plugin '%s': name '%s' is a built-in optimizer; choose another name",
                      path, o->name);
        goto fail;
    }
    *out = o;
    return DOB_OK;
fail:
    dlclose(lib);
    return st;
}
