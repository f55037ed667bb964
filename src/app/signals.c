/* signals.c: SIGINT, SIGTERM and SIGUSR1 are received by one dedicated thread, never by a computing one.
 *
 * Why: oneDNN 2.6's JIT f32 GEMM kernels (jit_avx512_common_gemm_f32, the AVX2 one; inner products with plain
 * weights and GEMM-based convolutions run them) point rsp into a heap workspace while they run. A signal handled
 * by a thread inside such a kernel gets its signal frame written by the kernel onto that heap block: "corrupted
 * size vs. prev_size" or "double free or corruption" later, in free(). oneDNN issue #4845, fixed upstream by PR
 * #4855 (2026-03, oneDNN 3.12), not in Debian 12's 2.6.3. Measured here before this file: `dob sweep` of
 * fmnist_mlp with SIGUSR1 after 2 s aborted in 4 of 8 runs (Zen 5, 1 and 2 threads); the CI's checkpoint test
 * (SIGTERM to `dob run`) and the Slurm test (SIGUSR1 under srun) hit it too.
 *
 * How: main() calls app_signals_init() before MPI or OpenMP start a thread, so every thread inherits a mask that
 * blocks the three signals (the kernel then delivers them to the one thread that waits for them with sigwait),
 * and a child process unblocks them again (pthread_atfork), so whatever it executes (Open MPI's orted) is not
 * deaf to them. Until a command calls app_catch_signals(), a signal keeps its default effect (the waiting thread
 * re-raises it with the default action: the process ends as before); afterwards it only sets app_stop_signal,
 * which the trainer polls between steps.
 *
 * If the thread cannot be created, the signals are unblocked and handled as before (a handler on any thread). */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

#include "app.h"

volatile sig_atomic_t app_stop_signal = 0;
static atomic_int catching;
static sigset_t stop_set;

static void on_signal(int sig) { app_stop_signal = sig; }

static void unblock_in_child(void) { pthread_sigmask(SIG_UNBLOCK, &stop_set, NULL); }

static void *waiter(void *arg) {
    (void)arg;
    for (;;) {
        int sig = 0;
        if (sigwait(&stop_set, &sig) != 0) continue;
        if (atomic_load(&catching)) {
            app_stop_signal = sig;
            continue;
        }
        /* not catching yet: the default action (terminate), as if nothing were blocked */
        signal(sig, SIG_DFL);
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, sig);
        pthread_sigmask(SIG_UNBLOCK, &one, NULL);
        raise(sig);
    }
    return NULL;
}

void app_signals_init(void) {
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGINT);
    sigaddset(&stop_set, SIGTERM);
    sigaddset(&stop_set, SIGUSR1);
    if (pthread_sigmask(SIG_BLOCK, &stop_set, NULL) != 0) return;
    pthread_t t;
    pthread_attr_t at;
    int ok = pthread_attr_init(&at) == 0;
    ok = ok && pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED) == 0 &&
         pthread_attr_setstacksize(&at, 1 << 16) == 0 && pthread_create(&t, &at, waiter, NULL) == 0;
    if (ok) {
        pthread_atfork(NULL, NULL, unblock_in_child);
    } else {
        pthread_sigmask(SIG_UNBLOCK, &stop_set, NULL); /* fall back: a handler on whichever thread */
    }
}

/* sigaction, not signal(): with -std=c11 glibc's signal() has System V semantics (the handler is reset after the
 * first signal, so a second one kills the process mid-checkpoint, and interrupted system calls fail with EINTR
 * instead of restarting). The handler serves a thread that has the signals unblocked (the fallback above). */
void app_catch_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    atomic_store(&catching, 1);
}
