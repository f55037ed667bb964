/* memory.c: the memory a run or sweep will need on a node, printed with -v, recorded in /meta
 * (memory_estimate_bytes) and checked against the node's MemAvailable before any training (issue 20).
 * The sum of buffers the program knows it allocates: the data (once per node when the ranks share it, see
 * io/data_share.c), and per rank the arena (parameters, gradients, optimizer state), the net's activation
 * buffers at the larger of the training and evaluation batch, the trainer's own buffers and a process's fixed
 * cost. Does not: count allocator slack, oneDNN scratchpads or page cache, so it is a floor, not a ceiling. */
#include <stdio.h>

#include "app.h"

static double mb(double bytes) { return bytes / 1048576.0; }

dob_status app_mem_estimate(const dob_train_cfg *cfg, const dob_node_data *nd, app_mem *m) {
    *m = (app_mem){.data = nd->bytes, .ranks = nd->ranks > 0 ? nd->ranks : 1};
    m->data_copies = nd->mem ? 1 : m->ranks;
    dob_status st = dob_train_memory(cfg, &m->rank);
    if (st != DOB_OK) return st;
    const double per = (double)m->rank.params + (double)m->rank.activations + (double)m->rank.batch +
                       (double)APP_MEM_PROCESS;
    m->node = (double)m->data * m->data_copies + per * m->ranks;
    m->available = dob_io_mem_available();
    return DOB_OK;
}

void app_mem_print(const app_mem *m, FILE *f) {
    fprintf(f, "dob: memory estimate for this node: %.0f MB = data %.1f MB x %d cop%s + %d rank%s x (net and "
            "optimizer state %.1f MB + activations %.1f MB + batches %.1f MB + process %.0f MB)",
            mb(m->node), mb((double)m->data), m->data_copies, m->data_copies == 1 ? "y" : "ies", m->ranks,
            m->ranks == 1 ? "" : "s", mb((double)m->rank.params), mb((double)m->rank.activations),
            mb((double)m->rank.batch), mb((double)APP_MEM_PROCESS));
    if (m->available > 0) fprintf(f, "; %.0f MB available", mb(m->available));
    fputc('\n', f);
}

dob_status app_mem_check(const app_mem *m, int64_t local_batch) {
    if (m->available <= 0 || m->node <= m->available) return DOB_OK;
    const double per = (m->node - (double)m->data * m->data_copies) / m->ranks;
    return DOB_FAIL(DOB_ENOMEM, "this node would need about %.0f MB (data %.0f MB x %d cop%s + %d rank%s x %.0f MB, "
                    "of which activations %.0f MB at %lld examples per rank) but has %.0f MB available: use a "
                    "smaller --bs or fewer ranks per node%s", mb(m->node), mb((double)m->data), m->data_copies,
                    m->data_copies == 1 ? "y" : "ies", m->ranks, m->ranks == 1 ? "" : "s", mb(per),
                    mb((double)m->rank.activations), (long long)local_batch, mb(m->available),
                    m->data_copies > 1 && m->ranks > 1 ? " (or let them share the data: unset DOB_SHARED_DATA)" : "");
}
