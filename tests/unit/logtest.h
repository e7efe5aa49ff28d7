/* logtest.h — what the unit tests that drive the real log share: a log opened on a real
 * event loop, object store and SQLite in a temporary directory, with the group-commit
 * trigger installed as weir serve installs it, and the loop run until the log is idle. */
#ifndef WEIR_LOGTEST_H
#define WEIR_LOGTEST_H

#include <stdlib.h>

#include "log/internal.h"
#include "test.h"

static inline bool logtest_idle(void *arg) { return weir_log_idle(arg); }
static inline void logtest_before_sleep(void *arg) { weir_log_before_sleep(arg); }

/* Runs the loop until no append, flush or worker job is pending (10 s at most). */
static inline void run_until_idle(weir_loop *loop, weir_log *log) { weir_loop_drain(loop, logtest_idle, log, 10000); }

/* A produce waiter that counts its completions. */
typedef struct done_flag {
    weir_log_waiter w;
    int calls;
} done_flag;

static inline void on_done(weir_log_waiter *w) { ((done_flag *)w)->calls++; }

/* An admin completion: *(int *)arg becomes 1 on success, -1 on failure. */
static inline void on_admin(void *arg, int rc, const weir_err *err) {
    (void)err;
    *(int *)arg = rc == WEIR_OK ? 1 : -1;
}

/* Opens the log in dir with the default configuration, changed by tweak when given. */
static inline weir_log *logtest_open(weir_loop *loop, const char *dir, void (*tweak)(weir_config *cfg, const void *ctx),
                                     const void *ctx) {
    weir_config cfg;
    weir_err err;
    char *env[] = {NULL};
    weir_config_load(&cfg, NULL, env, &err);
    snprintf(cfg.log_dirs, sizeof cfg.log_dirs, "%s", dir);
    if (tweak) tweak(&cfg, ctx);
    weir_log *log = NULL;
    if (weir_log_open(&cfg, loop, &log, &err) != WEIR_OK) fprintf(stderr, "open %s: %s\n", dir, err.msg);
    weir_loop_set_before_sleep(loop, logtest_before_sleep, log); /* as weir serve does */
    return log;
}

/* Removes a test's temporary directory. */
static inline void logtest_rmdir(const char *dir) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK_EQ_INT(system(cmd), 0);
}

#endif
