/* alter.c — changing a topic's configs after creation (AlterConfigs and
 * IncrementalAlterConfigs): the new set of explicitly set configs commits in one metadata
 * transaction on the storage thread, and only then replaces the topic's configs in memory
 * and re-derives what the hot path reads (timestamp type, max message size); retention
 * reads its configs at each pass. */
#include "log/internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct alter_job {
    weir_job j;
    weir_topic *t; /* referenced */
    weir_topic_config *configs; /* the new explicit set (owned) */
    int n;
    weir_meta_config *changes; /* what the store is told: set, or NULL value to remove */
    int nchanges;
    weir_log_done_fn done;
    void *arg;
    int rc;
    weir_err err;
} alter_job;

static void alter_run(weir_job *j, void *worker) {
    alter_job *a = (alter_job *)j;
    a->rc = weir_meta_topic_set_configs(worker, a->t->id, a->changes, a->nchanges, &a->err);
}

static void configs_free(weir_topic_config *c, int n) {
    for (int i = 0; i < n; i++) {
        free(c[i].name);
        free(c[i].value);
    }
    free(c);
}

static void alter_complete(weir_job *j) {
    alter_job *a = (alter_job *)j;
    weir_log *log = j->log;
    weir_topic *t = a->t;
    if (a->rc == WEIR_OK && !t->deleted) {
        configs_free(t->configs, t->nconfigs);
        t->configs = a->configs;
        t->nconfigs = a->n;
        a->configs = NULL; /* the topic owns them now */
        a->n = 0;
        weir_topic_apply_configs(log, t);
        weir_info("log", "topic %s: configs changed (%d set explicitly)", t->name, t->nconfigs);
    } else if (a->rc != WEIR_OK) {
        weir_warn("log", "changing the configs of topic %s failed: %s", t->name, a->err.msg);
    }
    if (a->done) a->done(a->arg, a->rc, &a->err);
    configs_free(a->configs, a->n);
    for (int i = 0; i < a->nchanges; i++) {
        free((char *)a->changes[i].name);
        free((char *)a->changes[i].value);
    }
    free(a->changes);
    weir_topic_unref(log, t);
    free(a);
}

static char *dup_or_abort(const char *s) {
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) abort();
    return d;
}

void weir_log_topic_set_configs(weir_log *log, weir_topic *t, const weir_topic_config *configs, int n,
                                weir_log_done_fn done, void *arg) {
    alter_job *a = calloc(1, sizeof *a);
    if (!a) abort();
    a->j.log = log;
    a->j.run = alter_run;
    a->j.complete = alter_complete;
    weir_topic_ref(t);
    a->t = t;
    a->done = done;
    a->arg = arg;
    a->configs = calloc((size_t)n + 1, sizeof *a->configs);
    a->changes = calloc((size_t)(n + t->nconfigs) + 1, sizeof *a->changes);
    if (!a->configs || !a->changes) abort();
    for (int i = 0; i < n; i++) {
        a->configs[i].name = dup_or_abort(configs[i].name);
        a->configs[i].value = dup_or_abort(configs[i].value);
        a->changes[a->nchanges].name = dup_or_abort(configs[i].name);
        a->changes[a->nchanges++].value = dup_or_abort(configs[i].value);
    }
    a->n = n;
    for (int k = 0; k < t->nconfigs; k++) {
        bool kept = false;
        for (int i = 0; i < n && !kept; i++) kept = strcmp(configs[i].name, t->configs[k].name) == 0;
        if (!kept) a->changes[a->nchanges++].name = dup_or_abort(t->configs[k].name); /* value NULL: removed */
    }
    weir_workq_submit(&log->storage, &a->j);
}
