/* version.c: `dob version`: the versions of dob (git revision from the build), oneDNN and the CPU ISA oneDNN
 * dispatches to, with the ranks and threads of this launch. */
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "app.h"
#include "dob_git_rev.h" /* DOB_GIT_REV, written by each build: scripts/git_rev.cmake */

int cmd_version(dob_comm *world, const app_cmd *cmd, app_opts *o, int argc, char **argv) {
    (void)cmd, (void)o, (void)argc, (void)argv;
    if (!app_is_root(world)) return DOB_EXIT_OK;
    const dnnl_version_t *v = dnnl_version();
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    printf("dob %s (git %s)\noneDNN %d.%d.%d, CPU runtime %s, ISA %s\nranks %d, threads per rank %d\n",
           DOB_VERSION, DOB_GIT_REV, v->major, v->minor, v->patch,
           v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "other", dnnl_cpu_isa2str(dnnl_get_effective_cpu_isa()),
           dob_comm_size(world), threads);
    return DOB_EXIT_OK;
}
