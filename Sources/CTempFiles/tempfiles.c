#include "tempfiles.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

enum { SLOTS = 256, PATH_BYTES = 4096 };

/* 0: free, 1: being filled or cleared, 2: holds a path the handler may remove. */
static _Atomic int state[SLOTS];
static char paths[SLOTS][PATH_BYTES];

int gt_temp_register(const char *path) {
    size_t n = strlen(path);
    if (n + 1 > PATH_BYTES) return -1;
    for (int i = 0; i < SLOTS; i++) {
        int expected = 0;
        if (atomic_compare_exchange_strong(&state[i], &expected, 1)) {
            memcpy(paths[i], path, n + 1);
            atomic_store(&state[i], 2);
            return i;
        }
    }
    return -1;
}

void gt_temp_unregister(int slot) {
    if (slot < 0 || slot >= SLOTS) return;
    atomic_store(&state[slot], 1);
    paths[slot][0] = 0;
    atomic_store(&state[slot], 0);
}

int gt_temp_count(void) {
    int n = 0;
    for (int i = 0; i < SLOTS; i++) if (atomic_load(&state[i]) == 2) n++;
    return n;
}

static void on_signal(int sig) {
    for (int i = 0; i < SLOTS; i++) {
        if (atomic_load(&state[i]) == 2) unlink(paths[i]);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

void gt_temp_install_signal_handlers(void) {
    int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    /* A parent may hand us a mask with these blocked (some test runners do): a command-line tool
       must be stoppable, so they are unblocked in this thread and the threads it starts later. */
    sigset_t set;
    sigemptyset(&set);
    for (int k = 0; k < 3; k++) sigaddset(&set, sigs[k]);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    for (int k = 0; k < 3; k++) {
        struct sigaction old;
        if (sigaction(sigs[k], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART;
        sigaction(sigs[k], &sa, NULL);
    }
}
