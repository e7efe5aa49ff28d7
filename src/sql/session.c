/* session.c — a SQL session: one catalog, the SET configuration and the jobs it started.
 * execute() runs a script statement by statement (parse → bind → DDL, SET/RESET, EXPLAIN,
 * a query in the foreground, INSERT / STATEMENT SET in the background); stop() may come
 * from another thread (the one that caught SIGINT) and ends the running jobs cleanly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sql/engine_internal.h"
#include "sql/window_internal.h" /* the session time zone */

struct weir_sql_session {
    FILE *out;
    char *bootstrap;
    int parallelism;
    weir_arena arena;        /* the catalog's and every parsed script's (they point into it) */
    weir_sql_catalog cat;
    char **keys, **values;   /* SET 'key' = 'value', in the order set */
    int nconf, capconf;
    pthread_mutex_t out_lock; /* the jobs' output (weir_sql_job_output_lock) */
    pthread_mutex_t lock;    /* jobs, totals */
    weir_sql_job *jobs;      /* started and not yet waited for */
    weir_sql_job *foreground; /* the query running in execute(), also in jobs */
    weir_sql_job_stats done; /* totals of the jobs already freed */
    bool bg_failed;          /* a background job freed before wait() failed: its error */
    weir_err bg_failure;
    atomic_bool stopped;
    bool savepoint_used;     /* 'execution.savepoint.path' restored a job already */
    bool state_refused;      /* the last failure: a job refused its checkpoint's state */
};

int weir_sql_session_new(const weir_sql_session_opts *opts, weir_sql_session **out, weir_err *err) {
    (void)err;
    weir_sql_session *s = calloc(1, sizeof *s);
    if (!s) abort();
    s->out = opts && opts->out ? opts->out : stdout;
    s->bootstrap = opts && opts->bootstrap_servers ? strdup(opts->bootstrap_servers) : NULL;
    s->parallelism = opts && opts->parallelism > 0 ? opts->parallelism : 0;
    weir_arena_init(&s->arena, 0);
    weir_sql_catalog_init(&s->cat, &s->arena);
    pthread_mutex_init(&s->out_lock, NULL);
    pthread_mutex_init(&s->lock, NULL);
    atomic_init(&s->stopped, false);
    *out = s;
    return WEIR_OK;
}

/* Removes job from the list, adds its counters to the totals and frees it (it has ended). */
static void reap(weir_sql_session *s, weir_sql_job *job) {
    weir_sql_job_stats st;
    weir_sql_job_stats_get(job, &st);
    pthread_mutex_lock(&s->lock);
    for (weir_sql_job **pp = &s->jobs; *pp; pp = &(*pp)->link)
        if (*pp == job) {
            *pp = job->link;
            break;
        }
    if (s->foreground == job) s->foreground = NULL;
    s->done.rows_in += st.rows_in;
    s->done.rows_out += st.rows_out;
    s->done.skipped += st.skipped;
    s->done.dead_lettered += st.dead_lettered;
    s->done.late_rows += st.late_rows;
    pthread_mutex_unlock(&s->lock);
    pthread_mutex_lock(&job->ckpt_lock); /* weir_sql_session_checkpoint_now may hold it */
    while (job->ckpt_users > 0) pthread_cond_wait(&job->ckpt_cond, &job->ckpt_lock);
    pthread_mutex_unlock(&job->ckpt_lock);
    weir_sql_job_free(job);
}

void weir_sql_session_free(weir_sql_session *s) {
    if (!s) return;
    weir_sql_session_stop(s);
    weir_sql_session_wait(s, NULL);
    for (int k = 0; k < s->nconf; k++) {
        free(s->keys[k]);
        free(s->values[k]);
    }
    free(s->keys);
    free(s->values);
    free(s->bootstrap);
    pthread_mutex_destroy(&s->out_lock);
    pthread_mutex_destroy(&s->lock);
    weir_arena_free(&s->arena);
    free(s);
}

/* Frees the background jobs that have ended (a long interactive session starts many),
 * keeping the first failure for wait(). @thread the session's */
static void reap_ended(weir_sql_session *s) {
    for (;;) {
        pthread_mutex_lock(&s->lock);
        weir_sql_job *job = s->jobs;
        while (job && (job == s->foreground || !weir_sql_job_ended(job))) job = job->link;
        pthread_mutex_unlock(&s->lock);
        if (!job) return;
        weir_err jerr;
        if (weir_sql_job_wait(job, &jerr) != WEIR_OK && !s->bg_failed) {
            s->bg_failed = true;
            s->bg_failure = jerr;
        }
        reap(s, job);
    }
}

int weir_sql_session_wait(weir_sql_session *s, weir_err *err) {
    bool failed = s->bg_failed;
    if (failed && err) *err = s->bg_failure;
    s->bg_failed = false;
    for (;;) {
        pthread_mutex_lock(&s->lock);
        weir_sql_job *job = s->jobs;
        while (job && job == s->foreground) job = job->link;
        pthread_mutex_unlock(&s->lock);
        if (!job) break;
        weir_err jerr;
        if (weir_sql_job_wait(job, &jerr) != WEIR_OK && !failed) {
            failed = true;
            if (err) *err = jerr;
        }
        reap(s, job);
    }
    return failed ? WEIR_ERROR : WEIR_OK;
}

void weir_sql_session_stop(weir_sql_session *s) {
    atomic_store(&s->stopped, true);
    pthread_mutex_lock(&s->lock);
    for (weir_sql_job *job = s->jobs; job; job = job->link) weir_sql_job_stop(job);
    pthread_mutex_unlock(&s->lock);
}

void weir_sql_session_stop_with_savepoint(weir_sql_session *s) {
    atomic_store(&s->stopped, true);
    pthread_mutex_lock(&s->lock);
    for (weir_sql_job *job = s->jobs; job; job = job->link) weir_sql_job_stop_with_savepoint(job);
    pthread_mutex_unlock(&s->lock);
}

bool weir_sql_session_state_refused(weir_sql_session *s) { return s->state_refused; }

/* Each running job in turn; the session's lock is not held while one is taken (that may
 * take long), so a job is looked up again by position after each. */
int weir_sql_session_checkpoint_now(weir_sql_session *s, weir_sql_checkpoint_stats *out, weir_err *err) {
    weir_sql_checkpoint_stats total = {0}, one;
    int taken = 0;
    for (int index = 0;; index++) {
        pthread_mutex_lock(&s->lock);
        weir_sql_job *job = s->jobs;
        int k = 0;
        for (; job; job = job->link) {
            if (!job->ckpt_dir || weir_sql_job_ended(job)) continue;
            if (k++ == index) break;
        }
        if (!job) {
            pthread_mutex_unlock(&s->lock);
            break;
        }
        /* the job is not freed while it has users (reap waits for them) */
        pthread_mutex_lock(&job->ckpt_lock);
        job->ckpt_users++;
        pthread_mutex_unlock(&job->ckpt_lock);
        pthread_mutex_unlock(&s->lock);
        int rc = weir_sql_job_checkpoint_now(job, &one, err);
        pthread_mutex_lock(&job->ckpt_lock);
        job->ckpt_users--;
        pthread_cond_broadcast(&job->ckpt_cond);
        pthread_mutex_unlock(&job->ckpt_lock);
        if (rc != WEIR_OK) return WEIR_ERROR;
        total.bytes += one.bytes;
        total.file_bytes += one.file_bytes;
        total.duration_ms += one.duration_ms;
        total.id = one.id;
        memcpy(total.path, one.path, sizeof total.path);
        taken++;
    }
    if (!taken) return weir_err_set(err, "no running job has 'state.checkpoints.dir'");
    if (out) *out = total;
    return WEIR_OK;
}

void weir_sql_session_stats(weir_sql_session *s, weir_sql_job_stats *out) {
    pthread_mutex_lock(&s->lock);
    *out = s->done;
    for (weir_sql_job *job = s->jobs; job; job = job->link) {
        weir_sql_job_stats st;
        weir_sql_job_stats_get(job, &st);
        out->rows_in += st.rows_in;
        out->rows_out += st.rows_out;
        out->skipped += st.skipped;
        out->dead_lettered += st.dead_lettered;
        out->late_rows += st.late_rows;
    }
    pthread_mutex_unlock(&s->lock);
}

/* The lines come from the jobs' published atomics (engine.c); the session's lock keeps
 * the jobs listed (not freed) while they are read. */
int weir_sql_session_watermarks(weir_sql_session *s, weir_buf *out) {
    size_t start = out->len;
    int64_t min = INT64_MAX;
    bool tracked = false;
    pthread_mutex_lock(&s->lock);
    for (weir_sql_job *job = s->jobs; job; job = job->link) weir_sql_job_watermarks(job, out, &min, &tracked);
    pthread_mutex_unlock(&s->lock);
    int n = 0;
    for (size_t k = start; k < out->len; k++) n += out->data[k] == '\n';
    return n;
}

bool weir_sql_session_watermark_summary(weir_sql_session *s, char *buf, size_t cap) {
    weir_buf lines;
    weir_buf_init(&lines);
    int64_t min = INT64_MAX;
    bool tracked = false;
    pthread_mutex_lock(&s->lock);
    for (weir_sql_job *job = s->jobs; job; job = job->link) weir_sql_job_watermarks(job, &lines, &min, &tracked);
    pthread_mutex_unlock(&s->lock);
    if (tracked && cap > 0) {
        if (min != INT64_MAX) {
            /* seconds of the day (UTC), floor for times before 1970 */
            int64_t secs = min >= 0 ? min / 1000000 : -((-min + 999999) / 1000000);
            int64_t day = ((secs % 86400) + 86400) % 86400;
            snprintf(buf, cap, "%02d:%02d:%02d", (int)(day / 3600), (int)(day / 60 % 60), (int)(day % 60));
        } else {
            /* no source has a value: say what the first one is waiting for */
            const char *l = lines.len ? strstr((const char *)lines.data, ": watermark ") : NULL;
            const char *why = "none yet";
            if (l && !strncmp(l + 12, "idle", 4)) why = "idle";
            else if (l && !strncmp(l + 12, "end of input", 12)) why = "end of input";
            snprintf(buf, cap, "%s", why);
        }
    }
    weir_buf_free(&lines);
    return tracked;
}

/* ---- configuration -------------------------------------------------------------------------- */

static const char *conf_get(const weir_sql_session *s, const char *key) {
    for (int k = 0; k < s->nconf; k++)
        if (strcmp(s->keys[k], key) == 0) return s->values[k];
    return NULL;
}

/* The keys the engine reads are checked when they are set, so a typo fails at its SET. */
static int conf_check(const weir_sql_stmt *st, const char *key, const char *value, weir_err *err) {
    const char *why = NULL;
    if (strcmp(key, "parallelism.default") == 0) {
        char *end;
        long n = strtol(value, &end, 10);
        if (!*value || *end || !(n == -1 || (n >= 1 && n <= 1024))) why = "not a number of workers (1 to 1024, or -1)";
    } else if (strcmp(key, "execution.checkpointing.interval") == 0) {
        int64_t ms;
        if (!weir_sql_parse_duration_ms(value, &ms) || ms <= 0) why = "not a duration (e.g. '10 s', '500 ms', '1 min')";
    } else if (strcmp(key, "table.exec.source.idle-timeout") == 0) {
        int64_t ms;
        if (!weir_sql_parse_duration_ms(value, &ms) || ms < 0)
            why = "not a duration (e.g. '10 s', '500 ms'; '0' turns idleness detection off)";
    } else if (strcmp(key, "table.dml-sync") == 0) {
        if (strcasecmp(value, "true") != 0 && strcasecmp(value, "false") != 0) why = "not a boolean (true or false)";
    } else if (strcmp(key, "state.memory.limit") == 0) {
        int64_t n;
        if (!weir_sql_parse_memory_size(value, &n) || n <= 0) why = "not a memory size (e.g. '2 gb', '512 mb')";
    } else if (strcmp(key, "state.checkpoints.num-retained") == 0) {
        char *end;
        long n = strtol(value, &end, 10);
        if (!*value || *end || n < 1 || n > 1000) why = "not a number of checkpoints (1 to 1000)";
    } else if (strcmp(key, "state.checkpoints.dir") == 0 || strcmp(key, "state.savepoints.dir") == 0 ||
               strcmp(key, "execution.savepoint.path") == 0) {
        const char *v = strncmp(value, "file://", 7) ? value : value + 7;
        if (!*v || strstr(v, "://")) why = "not a local directory (a path or file:///path)";
    } else if (strcmp(key, "execution.savepoint.ignore-unclaimed-state") == 0 ||
               strcmp(key, "weir.state.allow-reset") == 0) {
        if (strcasecmp(value, "true") != 0 && strcasecmp(value, "false") != 0) why = "not a boolean (true or false)";
    } else if (strcmp(key, "table.local-time-zone") == 0) {
        weir_err why_zone;
        if (weir_sql_time_zone_check(value, &why_zone) != WEIR_OK)
            return weir_err_set(err, "line %d, column %d: %s", st->pos.line, st->pos.col, why_zone.msg);
    } else if (strcmp(key, "sql-client.display.max-column-width") == 0) {
        char *end;
        long n = strtol(value, &end, 10);
        if (!*value || *end || n < 4 || n > 10000) why = "not a column width (4 to 10000)";
    }
    if (why)
        return weir_err_set(err, "line %d, column %d: SET '%s' = '%s': %s", st->pos.line, st->pos.col, key, value, why);
    return WEIR_OK;
}

static void conf_set(weir_sql_session *s, const char *key, const char *value) {
    if (!strcmp(key, "execution.savepoint.path")) s->savepoint_used = false; /* a new one to restore */
    for (int k = 0; k < s->nconf; k++)
        if (strcmp(s->keys[k], key) == 0) {
            free(s->values[k]);
            s->values[k] = strdup(value);
            return;
        }
    if (s->nconf == s->capconf) {
        s->capconf = s->capconf ? s->capconf * 2 : 8;
        s->keys = realloc(s->keys, sizeof *s->keys * (size_t)s->capconf);
        s->values = realloc(s->values, sizeof *s->values * (size_t)s->capconf);
        if (!s->keys || !s->values) abort();
    }
    s->keys[s->nconf] = strdup(key);
    s->values[s->nconf] = strdup(value);
    if (!s->keys[s->nconf] || !s->values[s->nconf]) abort();
    s->nconf++;
}

static void conf_reset(weir_sql_session *s, const char *key) {
    for (int k = 0; k < s->nconf; k++) {
        if (key && strcmp(s->keys[k], key) != 0) continue;
        free(s->keys[k]);
        free(s->values[k]);
        memmove(&s->keys[k], &s->keys[k + 1], sizeof *s->keys * (size_t)(s->nconf - k - 1));
        memmove(&s->values[k], &s->values[k + 1], sizeof *s->values * (size_t)(s->nconf - k - 1));
        s->nconf--;
        k--;
    }
}

static void write_out(weir_sql_session *s, const weir_buf *b) {
    pthread_mutex_lock(&s->out_lock);
    fwrite(b->data, 1, b->len, s->out);
    fflush(s->out);
    pthread_mutex_unlock(&s->out_lock);
}

static int cmp_index_keys(const void *a, const void *b, void *arg) {
    char **keys = arg;
    return strcmp(keys[*(const int *)a], keys[*(const int *)b]);
}

/* SET alone: every key set, sorted, as 'key' = 'value'. */
static void conf_print(weir_sql_session *s) {
    int *order = malloc(sizeof(int) * (size_t)(s->nconf + 1));
    if (!order) abort();
    for (int k = 0; k < s->nconf; k++) order[k] = k;
    qsort_r(order, (size_t)s->nconf, sizeof *order, cmp_index_keys, s->keys);
    weir_buf b;
    weir_buf_init(&b);
    for (int k = 0; k < s->nconf; k++) {
        const char *parts[] = {"'", s->keys[order[k]], "' = '", s->values[order[k]], "'\n"};
        for (size_t p = 0; p < 5; p++) weir_buf_append(&b, parts[p], strlen(parts[p]));
    }
    if (b.len) write_out(s, &b);
    weir_buf_free(&b);
    free(order);
}

/* ---- statements --------------------------------------------------------------------------- */

/* A job for stmt (planned into the job's arena) started and listed; NULL on error. */
static weir_sql_job *start_job(weir_sql_session *s, const weir_sql_bstmt *st, bool foreground, weir_err *err) {
    weir_sql_job *job = weir_sql_job_new(s, s->out, &s->out_lock, s->bootstrap, (const char *const *)s->keys,
                                         (const char *const *)s->values, s->nconf);
    weir_sql_plan **roots = NULL;
    int nroots = 0;
    if (weir_sql_plan_build(&job->arena, st, &roots, &nroots, err) != WEIR_OK) {
        weir_sql_job_free(job);
        return NULL;
    }
    /* listed before it starts, so a stop() that comes meanwhile reaches it */
    pthread_mutex_lock(&s->lock);
    job->link = s->jobs;
    s->jobs = job;
    if (foreground) s->foreground = job;
    bool stopped = atomic_load(&s->stopped);
    pthread_mutex_unlock(&s->lock);
    if (stopped) weir_sql_job_stop(job);
    /* 'execution.savepoint.path' restores the first job that starts after it is set */
    job->skip_savepoint_path = s->savepoint_used;
    s->state_refused = false;
    if (weir_sql_job_start(job, roots, nroots, s->parallelism, err) != WEIR_OK) {
        s->state_refused = job->state_refused;
        reap(s, job);
        return NULL;
    }
    if (conf_get(s, "execution.savepoint.path")) s->savepoint_used = true;
    return job;
}

/* Starts the statement's job; with wait, waits for its end, and with analyze (EXPLAIN
 * ANALYZE, Weir's extension) then prints its plan with the figures of the run. */
static int run_job(weir_sql_session *s, const weir_sql_bstmt *st, bool foreground, bool wait, bool analyze,
                   weir_err *err) {
    weir_sql_job *job = start_job(s, st, foreground, err);
    if (!job) return WEIR_ERROR;
    if (!wait) return WEIR_OK;
    int rc = weir_sql_job_wait(job, err);
    if (analyze) {
        weir_buf b;
        weir_buf_init(&b);
        weir_sql_job_analyze(job, &b);
        write_out(s, &b);
        weir_buf_free(&b);
    }
    reap(s, job);
    return rc;
}

static int explain(weir_sql_session *s, const weir_sql_bstmt *st, weir_err *err) {
    weir_arena arena;
    weir_arena_init(&arena, 0);
    weir_sql_plan **roots = NULL;
    int nroots = 0;
    int rc = weir_sql_plan_build(&arena, st, &roots, &nroots, err);
    if (rc == WEIR_OK) {
        weir_buf b;
        weir_buf_init(&b);
        weir_sql_plan_explain(&b, roots, nroots);
        if (b.len && b.data[b.len - 1] != '\n') weir_buf_append(&b, "\n", 1);
        write_out(s, &b);
        weir_buf_free(&b);
    }
    weir_arena_free(&arena);
    return rc;
}

static int execute_stmt(weir_sql_session *s, const weir_sql_stmt *stmt, weir_err *err) {
    weir_sql_bstmt *st = NULL;
    if (weir_sql_bind_stmt(&s->cat, stmt, &st, err) != WEIR_OK) return WEIR_ERROR;
    switch (st->kind) {
    case WEIR_SQL_STMT_CREATE_TABLE:
    case WEIR_SQL_STMT_CREATE_VIEW:
    case WEIR_SQL_STMT_DROP_TABLE:
    case WEIR_SQL_STMT_DROP_VIEW: return WEIR_OK; /* the binder changed the catalog */
    case WEIR_SQL_STMT_SET:
        if (!stmt->key) {
            conf_print(s);
            return WEIR_OK;
        }
        if (conf_check(stmt, stmt->key, stmt->value ? stmt->value : "", err) != WEIR_OK) return WEIR_ERROR;
        conf_set(s, stmt->key, stmt->value ? stmt->value : "");
        return WEIR_OK;
    case WEIR_SQL_STMT_RESET: conf_reset(s, stmt->key); return WEIR_OK;
    case WEIR_SQL_STMT_EXPLAIN:
        if (weir_sql_stmt_is_explain_analyze(stmt)) return run_job(s, st->body[0], true, true, true, err);
        return explain(s, st, err);
    case WEIR_SQL_STMT_QUERY: return run_job(s, st, true, true, false, err);
    case WEIR_SQL_STMT_INSERT:
    case WEIR_SQL_STMT_STATEMENT_SET: {
        const char *sync = conf_get(s, "table.dml-sync");
        return run_job(s, st, false, sync && strcasecmp(sync, "true") == 0, false, err);
    }
    }
    return weir_err_set(err, "line %d, column %d: this statement cannot be executed", stmt->pos.line, stmt->pos.col);
}

int weir_sql_session_execute(weir_sql_session *s, const char *src, size_t len, weir_err *err) {
    atomic_store(&s->stopped, false);
    reap_ended(s);
    weir_sql_script *script = NULL;
    if (weir_sql_parse_script(&s->arena, src, len, &script, err) != WEIR_OK) return WEIR_ERROR;
    for (int k = 0; k < script->nstmts; k++) {
        if (atomic_load(&s->stopped)) break; /* stopped: the rest of the script does not run */
        if (execute_stmt(s, script->stmts[k], err) != WEIR_OK) return WEIR_ERROR;
    }
    return WEIR_OK;
}
