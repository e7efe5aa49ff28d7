/* engine.c — runs a job: opens the plan's sources and sinks, spreads the sources' splits
 * over W worker threads, gives each worker its own instance of the operator chain (op_*.c)
 * and runs the worker loop (read, push, stop on request or failure). Every checkpoint
 * interval either each worker flushes its sinks and commits its sources, or, with
 * 'state.checkpoints.dir', the supervisor coordinates aligned checkpoints of sources and
 * operator state (below), restores from the latest one at start, takes a savepoint when
 * stopped with one, and enforces 'state.memory.limit'. Also the job services connectors
 * call (sql.h). */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "sql/plan_internal.h"
#include "sql/window_internal.h"

/* ---- job services (sql.h) ------------------------------------------------------------- */

const char *weir_sql_job_config(const weir_sql_job *job, const char *key) {
    for (int k = job->nconf - 1; k >= 0; k--)
        if (strcmp(job->conf_keys[k], key) == 0) return job->conf_values[k];
    return NULL;
}

const char *weir_sql_job_bootstrap_servers(const weir_sql_job *job) { return job->bootstrap; }

FILE *weir_sql_job_output(weir_sql_job *job) { return job->out; }

void weir_sql_job_output_lock(weir_sql_job *job) { pthread_mutex_lock(job->out_lock); }

void weir_sql_job_output_unlock(weir_sql_job *job) { pthread_mutex_unlock(job->out_lock); }

void weir_sql_job_count_skipped(weir_sql_job *job, uint64_t n) { atomic_fetch_add(&job->skipped, n); }

void weir_sql_job_count_dead_lettered(weir_sql_job *job, uint64_t n) { atomic_fetch_add(&job->dead_lettered, n); }

bool weir_sql_job_stopping(const weir_sql_job *job) { return atomic_load(&((weir_sql_job *)job)->stopping); }

void weir_sql_job_fail(weir_sql_job *job, const weir_err *err) {
    pthread_mutex_lock(&job->lock);
    if (!job->failed) {
        job->failed = true;
        job->failure = *err;
    }
    pthread_mutex_unlock(&job->lock);
    atomic_store(&job->stopping, true);
}

void weir_sql_job_stop(weir_sql_job *job) {
    atomic_store(&job->stop_asked, true);
    atomic_store(&job->stopping, true);
}

/* ---- durations ---------------------------------------------------------------------- */

bool weir_sql_parse_duration_ms(const char *s, int64_t *out) {
    while (isspace((unsigned char)*s)) s++;
    if (!isdigit((unsigned char)*s)) return false;
    char *end;
    long long n = strtoll(s, &end, 10);
    while (isspace((unsigned char)*end)) end++;
    char unit[16];
    size_t k = 0;
    while (*end && !isspace((unsigned char)*end) && k < sizeof unit - 1) unit[k++] = (char)tolower((unsigned char)*end++);
    unit[k] = 0;
    while (isspace((unsigned char)*end)) end++;
    if (*end) return false;
    static const struct { const char *name; int64_t ms; } units[] = {
        {"", 1}, {"ms", 1}, {"milli", 1}, {"millis", 1}, {"millisecond", 1}, {"milliseconds", 1},
        {"s", 1000}, {"sec", 1000}, {"secs", 1000}, {"second", 1000}, {"seconds", 1000},
        {"min", 60000}, {"m", 60000}, {"mins", 60000}, {"minute", 60000}, {"minutes", 60000},
        {"h", 3600000}, {"hour", 3600000}, {"hours", 3600000},
        {"d", 86400000}, {"day", 86400000}, {"days", 86400000},
    };
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++)
        if (strcmp(unit, units[u].name) == 0) {
            if (n > INT64_MAX / units[u].ms) return false;
            *out = (int64_t)n * units[u].ms;
            return true;
        }
    return false;
}

/* ---- operator plumbing -------------------------------------------------------------- */

int weir_sql_op_emit(weir_sql_op *op, const weir_sql_batch *b, weir_err *err) {
    if (b->nrows == 0) return WEIR_OK;
    atomic_fetch_add_explicit(&op->shared->rows_out, (uint64_t)b->nrows, memory_order_relaxed);
    if (!op->next) return WEIR_OK;
    return op->next->vt->push(op->next, op->next_input, b, err);
}

/* The watermark valve: input `slot` of n now stands at ts (or went idle); forwards the
 * minimum over the inputs that are not idle when it advances (watermarks never go back:
 * an input back from idleness behind the others holds nothing up). When every input is
 * idle, the largest of their last watermarks goes out before the idleness, as Flink's
 * watermark valve does. Operators with several inputs and the exchange (one slot per
 * sending worker) share it. */
static int valve(weir_sql_op *op, int64_t *wm, bool *idle, int n, int slot, int64_t ts, weir_err *err) {
    if (ts == WEIR_SQL_WM_IDLE) idle[slot] = true;
    else {
        idle[slot] = false;
        wm[slot] = ts;
    }
    int64_t min = WEIR_SQL_WM_END, max = WEIR_SQL_WM_NONE;
    bool any = false;
    for (int k = 0; k < n; k++) {
        if (wm[k] > max) max = wm[k];
        if (idle[k]) continue;
        any = true;
        if (wm[k] < min) min = wm[k];
    }
    if (!any) {
        if (op->out_idle) return WEIR_OK;
        if (max != WEIR_SQL_WM_NONE && max > op->out_wm) {
            op->out_wm = max;
            if (op->next && op->next->vt->watermark(op->next, op->next_input, max, err) != WEIR_OK) return WEIR_ERROR;
        }
        op->out_idle = true;
        return op->next ? op->next->vt->watermark(op->next, op->next_input, WEIR_SQL_WM_IDLE, err) : WEIR_OK;
    }
    if (min == WEIR_SQL_WM_NONE || (min <= op->out_wm && !op->out_idle)) return WEIR_OK;
    if (min < op->out_wm) min = op->out_wm;
    op->out_wm = min;
    op->out_idle = false;
    if (!op->next) return WEIR_OK;
    return op->next->vt->watermark(op->next, op->next_input, min, err);
}

int weir_sql_op_watermark_valve(weir_sql_op *op, int64_t *wm, bool *idle, int n, int slot, int64_t ts,
                                weir_err *err) {
    int rc = valve(op, wm, idle, n, slot, ts, err);
    /* a window operator's instance forwards through here: its watermark is published for
     * weir_sql_session_watermarks (one relaxed store per watermark, not per row) */
    weir_sql_op_shared *sh = op->shared;
    if (sh && sh->worker_wm && op->worker->index < sh->nworker_wm)
        atomic_store_explicit(&sh->worker_wm[op->worker->index], op->out_idle ? WEIR_SQL_WM_IDLE : op->out_wm,
                              memory_order_relaxed);
    return rc;
}

int weir_sql_op_forward_watermark(weir_sql_op *op, int input, int64_t ts, weir_err *err) {
    int n = op->plan->ninputs > 0 ? op->plan->ninputs : 1;
    if (input < 0 || input >= n) input = 0;
    return weir_sql_op_watermark_valve(op, op->input_wm, op->input_idle, n, input, ts, err);
}

/* An input that ended is at the end of time: its watermark moves there first, so windows
 * waiting on it fire (as Flink does when a bounded source ends). */
int weir_sql_op_forward_finish(weir_sql_op *op, int input, weir_err *err) {
    if (weir_sql_op_forward_watermark(op, input, WEIR_SQL_WM_END, err) != WEIR_OK) return WEIR_ERROR;
    if (++op->nfinished < (op->plan->ninputs > 0 ? op->plan->ninputs : 1)) return WEIR_OK;
    if (!op->next) return WEIR_OK;
    return op->next->vt->finish(op->next, op->next_input, err);
}

bool weir_sql_limit_exhausted(const weir_sql_op_shared *sh) {
    const weir_sql_plan *p = sh->plan;
    if (p->limit < 0) return false;
    int64_t off = p->offset > 0 ? p->offset : 0;
    return atomic_load(&((weir_sql_op_shared *)sh)->seen) >= off + p->limit;
}

static const weir_sql_op_vtab *vtab_of(const weir_sql_plan *p) {
    switch (p->kind) {
    case WEIR_SQL_PLAN_SCAN: return &weir_sql_op_scan;
    case WEIR_SQL_PLAN_VALUES: return &weir_sql_op_values;
    case WEIR_SQL_PLAN_CALC: return &weir_sql_op_calc;
    case WEIR_SQL_PLAN_UNION: return &weir_sql_op_union;
    case WEIR_SQL_PLAN_LIMIT: return &weir_sql_op_limit;
    case WEIR_SQL_PLAN_SINK: return &weir_sql_op_sink;
    case WEIR_SQL_PLAN_EXCHANGE: return &weir_sql_op_exchange;
    case WEIR_SQL_PLAN_WINDOW_AGG: return &weir_sql_op_window_agg;
    case WEIR_SQL_PLAN_GROUP_AGG: return &weir_sql_op_group_agg;
    case WEIR_SQL_PLAN_RANK: return &weir_sql_op_rank;
    case WEIR_SQL_PLAN_OVER_AGG: return &weir_sql_op_over_agg;
    case WEIR_SQL_PLAN_JOIN: return &weir_sql_op_join;
    case WEIR_SQL_PLAN_INTERVAL_JOIN: return &weir_sql_op_interval_join;
    }
    return NULL;
}

/* ---- job start -------------------------------------------------------------------------- */

weir_sql_job *weir_sql_job_new(weir_sql_session *s, FILE *out, pthread_mutex_t *out_lock, const char *bootstrap,
                               const char *const *conf_keys, const char *const *conf_values, int nconf) {
    weir_sql_job *job = calloc(1, sizeof *job);
    if (!job) abort();
    weir_arena_init(&job->arena, 0);
    job->session = s;
    job->out = out;
    job->out_lock = out_lock;
    job->bootstrap = bootstrap ? weir_arena_strndup(&job->arena, bootstrap, strlen(bootstrap)) : NULL;
    job->conf_keys = weir_arena_alloc(&job->arena, sizeof(char *) * (size_t)(nconf + 1));
    job->conf_values = weir_arena_alloc(&job->arena, sizeof(char *) * (size_t)(nconf + 1));
    for (int k = 0; k < nconf; k++) {
        job->conf_keys[k] = weir_arena_strndup(&job->arena, conf_keys[k], strlen(conf_keys[k]));
        job->conf_values[k] = weir_arena_strndup(&job->arena, conf_values[k], strlen(conf_values[k]));
    }
    job->nconf = nconf;
    job->checkpoint_ms = 1000;
    pthread_mutex_init(&job->lock, NULL);
    pthread_cond_init(&job->cond, NULL);
    pthread_mutex_init(&job->ckpt_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&job->ckpt_cond, &ca);
    pthread_condattr_destroy(&ca);
    return job;
}

/* The job-wide state of a plan node (one per node, made on first use). */
static weir_sql_op_shared *shared_of(weir_sql_job *job, const weir_sql_plan *p) {
    for (weir_sql_op_shared *sh = job->shared; sh; sh = sh->link)
        if (sh->plan == p) return sh;
    weir_sql_op_shared *sh = weir_arena_alloc(&job->arena, sizeof *sh);
    sh->plan = p;
    atomic_init(&sh->seen, 0);
    atomic_init(&sh->printed, 0);
    atomic_init(&sh->rows_out, 0);
    sh->link = job->shared;
    job->shared = sh;
    if (p->kind == WEIR_SQL_PLAN_EXCHANGE) sh->exchange = job->nexchanges++;
    switch (p->kind) {
    case WEIR_SQL_PLAN_WINDOW_AGG:
    case WEIR_SQL_PLAN_RANK:
    case WEIR_SQL_PLAN_OVER_AGG:
    case WEIR_SQL_PLAN_INTERVAL_JOIN: job->event_time = job->stateful = true; break;
    case WEIR_SQL_PLAN_GROUP_AGG:
    case WEIR_SQL_PLAN_JOIN: job->stateful = true; break;
    default: break;
    }
    return sh;
}

/* Marks the table columns a computed column reads. */
static void mark_deps(const weir_sql_bexpr *e, bool *needed, int ncols) {
    if (!e) return;
    if (e->kind == WEIR_SQL_BEXPR_COLUMN && e->input == 0 && e->column >= 0 && e->column < ncols) needed[e->column] = true;
    for (int k = 0; k < e->nargs; k++) mark_deps(e->args[k], needed, ncols);
    mark_deps(e->filter, needed, ncols);
}

/* Constant rows of a VALUES node: each row compiled as a program over no input and run
 * once (a runtime error, e.g. 1 / 0, fails the job's start naming line:column). */
static int eval_values(weir_sql_op_shared *sh, weir_err *err) {
    const weir_sql_plan *p = sh->plan;
    static const weir_sql_lfield none[1];
    if (weir_sql_batch_init(&sh->values, p->cols, p->ncols, p->nrows > 0 ? p->nrows : 1, err) != WEIR_OK)
        return WEIR_ERROR;
    sh->has_values = true;
    weir_sql_batch one;
    if (weir_sql_batch_init(&one, none, 0, 1, err) != WEIR_OK) return WEIR_ERROR;
    weir_sql_batch_add_row(&one);
    int rc = WEIR_OK;
    for (int r = 0; r < p->nrows && rc == WEIR_OK; r++) {
        weir_sql_program *prog = NULL;
        rc = weir_sql_program_compile(NULL, p->rows[r], p->ncols, none, 0, &prog, err);
        if (rc != WEIR_OK) break;
        weir_sql_batch row;
        rc = weir_sql_batch_init(&row, weir_sql_program_columns(prog), p->ncols, 1, err);
        if (rc == WEIR_OK) {
            rc = weir_sql_program_run(prog, &one, &row, err);
            /* stored with the node's column types (the program's may differ in nullability) */
            if (rc == WEIR_OK) weir_sql_batch_append_rows(&sh->values, &row, 0, row.nrows);
            weir_sql_batch_free(&row);
        }
        weir_sql_program_free(prog);
    }
    weir_sql_batch_free(&one);
    return rc;
}

/* Job-wide preparation of every node below p, on the start thread: sources opened (their
 * split counts summed into *total_splits), VALUES evaluated, CALC programs compiled once
 * to find errors before anything runs, sinks checked. Sinks are opened later (they are
 * told the final number of workers). */
static int prepare_node(weir_sql_job *job, const weir_sql_plan *p, int nworkers, int *total_splits, weir_err *err) {
    weir_sql_op_shared *sh = shared_of(job, p);
    for (int k = 0; k < p->ninputs; k++)
        if (prepare_node(job, p->inputs[k], nworkers, total_splits, err) != WEIR_OK) return WEIR_ERROR;
    switch (p->kind) {
    case WEIR_SQL_PLAN_SCAN: {
        if (sh->source || sh->scan_needed) return WEIR_OK; /* the same node twice */
        const weir_sql_table *t = p->table;
        if (!p->connector || !p->connector->source)
            return weir_err_set(err, "line %d, column %d: table '%s' cannot be read", p->pos.line, p->pos.col,
                                t ? t->name : "?");
        sh->scan_needed = weir_arena_alloc(&job->arena, (size_t)(t->ncolumns + 1));
        for (int c = 0; c < t->ncolumns; c++) {
            bool want = !p->needed || p->needed[c];
            if (!want) continue;
            if (t->columns[c].kind == WEIR_SQL_COLUMN_COMPUTED) mark_deps(t->columns[c].expr, sh->scan_needed, t->ncolumns);
            else sh->scan_needed[c] = true;
        }
        for (int c = 0; c < t->ncolumns; c++)
            if (t->columns[c].kind == WEIR_SQL_COLUMN_COMPUTED) sh->scan_needed[c] = false;
        /* the ctx lives as long as the job; nworkers is the parallelism asked for until the
         * splits are counted, then the number of workers that run (readers <= both) */
        weir_sql_conn_ctx *ctx = weir_arena_alloc(&job->arena, sizeof *ctx);
        *ctx = (weir_sql_conn_ctx){.table = t, .needed = sh->scan_needed, .nworkers = nworkers, .job = job};
        sh->ctx = ctx;
        int n = 0;
        if (p->connector->source->open(ctx, &sh->source, &n, err) != WEIR_OK) {
            sh->source = NULL;
            return WEIR_ERROR;
        }
        sh->nsplits = n > 0 ? n : 0;
        *total_splits += sh->nsplits;
        if (p->watermark && sh->nsplits > 0) {
            sh->split_wm = weir_arena_alloc(&job->arena, sizeof *sh->split_wm * (size_t)sh->nsplits);
            sh->split_idle = weir_arena_alloc(&job->arena, sizeof *sh->split_idle * (size_t)sh->nsplits);
            for (int k = 0; k < sh->nsplits; k++) {
                atomic_init(&sh->split_wm[k], WEIR_SQL_WM_NONE);
                atomic_init(&sh->split_idle[k], false);
            }
        }
        return WEIR_OK;
    }
    case WEIR_SQL_PLAN_VALUES:
        if (sh->has_values) return WEIR_OK;
        return eval_values(sh, err);
    case WEIR_SQL_PLAN_CALC: {
        weir_sql_program *prog = NULL;
        const weir_sql_plan *in = p->inputs[0];
        if (weir_sql_program_compile(p->filter, p->exprs, p->nexprs, in->cols, in->ncols, &prog, err) != WEIR_OK)
            return WEIR_ERROR;
        weir_sql_program_free(prog);
        return WEIR_OK;
    }
    default: return WEIR_OK;
    }
}

/* Sinks, once the number of workers is known. */
static int open_sinks(weir_sql_job *job, const weir_sql_plan *p, int nworkers, weir_err *err) {
    for (int k = 0; k < p->ninputs; k++)
        if (open_sinks(job, p->inputs[k], nworkers, err) != WEIR_OK) return WEIR_ERROR;
    if (p->kind != WEIR_SQL_PLAN_SINK) return WEIR_OK;
    weir_sql_op_shared *sh = shared_of(job, p);
    if (!p->table) {
        if (!sh->widths) weir_sql_tableau_header(job, sh);
        return WEIR_OK;
    }
    if (sh->sink) return WEIR_OK;
    const weir_sql_table *t = p->table;
    if (!p->connector || !p->connector->sink)
        return weir_err_set(err, "line %d, column %d: table '%s' cannot be written", p->pos.line, p->pos.col, t->name);
    /* the planner lays the INSERT's values out in the table's columns (NULL for the
     * columns it does not write) */
    const weir_sql_plan *in = p->ninputs > 0 ? p->inputs[0] : NULL;
    if (!in || in->ncols != t->ncolumns)
        return weir_err_set(err, "line %d, column %d: the sink of table '%s' gets %d columns for its %d", p->pos.line,
                            p->pos.col, t->name, in ? in->ncols : 0, t->ncolumns);
    weir_sql_conn_ctx *ctx = weir_arena_alloc(&job->arena, sizeof *ctx);
    *ctx = (weir_sql_conn_ctx){.table = t, .needed = NULL, .nworkers = nworkers, .job = job};
    if (p->connector->sink->open(ctx, &sh->sink, err) != WEIR_OK) {
        sh->sink = NULL;
        return WEIR_ERROR;
    }
    return WEIR_OK;
}

/* Closes what prepare_node and open_sinks opened (start failed, or the job ended). */
static void close_shared(weir_sql_job *job, bool report) {
    for (weir_sql_op_shared *sh = job->shared; sh; sh = sh->link) {
        const weir_sql_plan *p = sh->plan;
        if (p->kind == WEIR_SQL_PLAN_SCAN && sh->source) {
            p->connector->source->close(sh->source);
            sh->source = NULL;
        }
        if (p->kind == WEIR_SQL_PLAN_SINK && sh->sink) {
            weir_err err;
            if (p->connector->sink->close(sh->sink, &err) != WEIR_OK && report) weir_sql_job_fail(job, &err);
            sh->sink = NULL;
        }
        if (sh->has_values) {
            weir_sql_batch_free(&sh->values);
            sh->has_values = false;
        }
    }
}

/* A worker's instance of the operators below p; *leaf_limits collects the LIMITs on the
 * way down (for the leaves' readers). */
typedef struct limit_path {
    weir_sql_op_shared *items[64];
    int n;
} limit_path;

static weir_sql_op *instantiate(weir_sql_worker *w, const weir_sql_plan *p, weir_sql_op *next, int next_input,
                                limit_path *path) {
    weir_sql_job *job = w->job;
    weir_sql_op *op = weir_arena_alloc(&job->arena, sizeof *op);
    op->vt = vtab_of(p);
    op->plan = p;
    op->id = p->id;
    op->worker = w;
    op->next = next;
    op->next_input = next_input;
    op->shared = shared_of(job, p);
    op->input_wm = weir_arena_alloc(&job->arena, sizeof *op->input_wm * (size_t)(p->ninputs > 0 ? p->ninputs : 1));
    op->input_idle = weir_arena_alloc(&job->arena, sizeof *op->input_idle * (size_t)(p->ninputs > 0 ? p->ninputs : 1));
    for (int k = 0; k < (p->ninputs > 0 ? p->ninputs : 1); k++) op->input_wm[k] = WEIR_SQL_WM_NONE;
    op->barrier_in = weir_arena_alloc(&job->arena, sizeof *op->barrier_in * (size_t)(p->ninputs > 0 ? p->ninputs : 1));
    op->out_wm = WEIR_SQL_WM_NONE;
    if (p->kind == WEIR_SQL_PLAN_EXCHANGE) w->exchanges[op->shared->exchange] = op;
    w->ops[w->nops++] = op;
    bool pushed = false;
    if (p->kind == WEIR_SQL_PLAN_LIMIT && path->n < 64) {
        path->items[path->n++] = op->shared;
        pushed = true;
    }
    if (p->kind == WEIR_SQL_PLAN_SCAN) {
        weir_sql_worker_reader *r = &w->readers[w->nreaders++];
        r->leaf = op;
        r->sh = op->shared;
        r->nlimits = path->n;
        r->limits = weir_arena_alloc(&job->arena, sizeof *r->limits * (size_t)(path->n + 1));
        memcpy(r->limits, path->items, sizeof *r->limits * (size_t)path->n);
    } else if (p->kind == WEIR_SQL_PLAN_VALUES) {
        w->values_leaves[w->nvalues++] = op;
    }
    for (int k = 0; k < p->ninputs; k++) instantiate(w, p->inputs[k], op, k, path);
    if (pushed) path->n--;
    return op;
}

static int count_nodes(const weir_sql_plan *p, int *scans, int *values) {
    int n = 1;
    if (p->kind == WEIR_SQL_PLAN_SCAN) (*scans)++;
    if (p->kind == WEIR_SQL_PLAN_VALUES) (*values)++;
    for (int k = 0; k < p->ninputs; k++) n += count_nodes(p->inputs[k], scans, values);
    return n;
}

static int config_parallelism(weir_sql_job *job, int parallelism, weir_err *err) {
    if (parallelism > 0) return parallelism;
    const char *v = weir_sql_job_config(job, "parallelism.default");
    if (v) {
        char *end;
        long n = strtol(v, &end, 10);
        bool number = *v && !*end;
        if (number && n > 0 && n <= 1024) return (int)n;
        if (!number || n != -1) { /* -1 is Flink's "the default": the CPUs */
            weir_err_set(err, "SET 'parallelism.default' = '%s': not a number of workers (1 to 1024)", v);
            return -1;
        }
    }
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return cpus > 0 ? (int)cpus : 1;
}

static void *worker_main(void *arg);
static void *supervisor_main(void *arg);

/* Event time is tracked per split (Flink's per-partition watermarks): a reader gives rows
 * of all its splits in one batch without saying which split each came from, so with a
 * window operator in the job each split gets a reader of its own, and the SCAN generates
 * one watermark per reader (its input `sub`) and forwards their minimum. The cost is a
 * reader per split (for Kafka, a consumer per partition) instead of per worker. */
static void split_readers(weir_sql_job *job, weir_sql_worker *w) {
    int n = 0;
    for (int r = 0; r < w->nreaders; r++) n += w->readers[r].nsplits > 1 ? w->readers[r].nsplits : 1;
    if (n == w->nreaders) return;
    weir_sql_worker_reader *rs = weir_arena_alloc(&job->arena, sizeof *rs * (size_t)n);
    n = 0;
    for (int r = 0; r < w->nreaders; r++) {
        const weir_sql_worker_reader *rd = &w->readers[r];
        if (rd->nsplits <= 1) {
            rs[n++] = *rd;
            continue;
        }
        for (int k = 0; k < rd->nsplits; k++) {
            rs[n] = *rd;
            rs[n].splits = &rd->splits[k];
            rs[n].nsplits = 1;
            rs[n].sub = k;
            n++;
        }
    }
    w->readers = rs;
    w->nreaders = n;
}

/* ---- checkpoints: barriers on the workers -------------------------------------------------
 * Aligned checkpoints (Chandy-Lamport barriers, as Flink's): the coordinator (the
 * supervisor thread, below) asks for barrier N; each worker, between batches, records its
 * readers' positions and split watermarks and injects N into its leaves, then reads nothing
 * more until every operator instance of the worker has handled N. An operator handles N once
 * it arrived on all its inputs: a stateful one snapshots its state into a state file, a sink
 * flushes, an exchange sends N to every worker; an exchange's receiving side forwards N once
 * every sender sent it, holding back what a sender sent after N until the worker finished it.
 * The worker then reports its positions and files; when every worker has, the coordinator
 * writes _metadata (last, atomically) and the workers commit their sources. */

typedef struct ckpt_pos {
    const weir_sql_op_shared *sh;
    int split;
    size_t off, len;          /* in the report's bytes */
    bool has_wm;
    int64_t wm;
} ckpt_pos;

typedef struct ckpt_file {
    const weir_sql_op_shared *sh;
    char name[48];
    int instance;
    uint64_t bytes, raw, records;
} ckpt_file;

typedef struct weir_sql_ckpt_report {
    int64_t n;
    weir_buf bytes;
    ckpt_pos *pos;
    int npos, cappos;
    ckpt_file *files;
    int nfiles, capfiles;
    uint64_t state_bytes, file_bytes;
} weir_sql_ckpt_report;

static weir_sql_ckpt_report *report_new(weir_sql_job *job) {
    weir_sql_ckpt_report *r = weir_arena_alloc(&job->arena, sizeof *r);
    weir_buf_init(&r->bytes);
    return r;
}

static void report_reset(weir_sql_ckpt_report *r, int64_t n) {
    r->n = n;
    r->bytes.len = 0;
    r->npos = r->nfiles = 0;
    r->state_bytes = r->file_bytes = 0;
}

static void report_free(weir_sql_ckpt_report *r) {
    if (!r) return;
    weir_buf_free(&r->bytes);
    free(r->pos);
    free(r->files);
}

static bool stateful_kind(weir_sql_plan_kind k) {
    return k == WEIR_SQL_PLAN_WINDOW_AGG || k == WEIR_SQL_PLAN_GROUP_AGG || k == WEIR_SQL_PLAN_RANK ||
           k == WEIR_SQL_PLAN_OVER_AGG || k == WEIR_SQL_PLAN_JOIN || k == WEIR_SQL_PLAN_INTERVAL_JOIN;
}

/* Starts this worker's part of checkpoint n (on the first thing of n that happens here). */
static void report_begin(weir_sql_worker *w, int64_t n) {
    if (w->ckpt_report_n == n) return;
    w->ckpt_report_n = n;
    w->ckpt_handled = 0;
    if (w->report) report_reset(w->report, n); /* (none: a worker built by a unit test) */
}

/* Where every reader stands in each of its splits (and the split's watermark). */
static int record_positions(weir_sql_worker *w, weir_sql_ckpt_report *r, weir_err *err) {
    for (int k = 0; k < w->nreaders; k++) {
        weir_sql_worker_reader *rd = &w->readers[k];
        if (!rd->reader) continue;
        const weir_sql_source_ops *ops = rd->sh->plan->connector->source;
        for (int s = 0; s < rd->nsplits; s++) {
            size_t off = r->bytes.len;
            if (ops->position(rd->reader, rd->splits[s], &r->bytes, err) != WEIR_OK)
                return weir_err_wrap(err, "checkpoint: table '%s'", rd->sh->plan->table->name);
            if (r->npos == r->cappos) {
                r->cappos = r->cappos ? r->cappos * 2 : 16;
                r->pos = realloc(r->pos, sizeof *r->pos * (size_t)r->cappos);
                if (!r->pos) abort();
            }
            ckpt_pos *p = &r->pos[r->npos++];
            *p = (ckpt_pos){.sh = rd->sh, .split = rd->splits[s], .off = off, .len = r->bytes.len - off};
            if (rd->nsplits == 1) p->has_wm = weir_sql_scan_split_wm(rd->leaf, rd->sub, &p->wm);
        }
    }
    return WEIR_OK;
}

/* A stateful instance's state into <checkpoint>/<id>-<worker>.state (no file when empty). */
static int snapshot_op(weir_sql_op *op, weir_err *err) {
    weir_sql_worker *w = op->worker;
    weir_sql_job *job = w->job;
    weir_sql_ckpt_report *r = w->report;
    char name[48], path[WEIR_SQL_PATH_MAX + 64];
    snprintf(name, sizeof name, "%s-%d.state", op->id, w->index);
    snprintf(path, sizeof path, "%s/%s", job->ckpt_target, name);
    weir_sql_state_writer *sw = NULL;
    if (weir_sql_state_writer_open(path, &sw, err) != WEIR_OK) return WEIR_ERROR;
    int rc = op->vt->snapshot(op, sw, err);
    uint64_t bytes = 0, raw = 0, records = 0;
    weir_err cerr;
    if (rc != WEIR_OK) {
        weir_sql_state_writer_close(sw, false, NULL, NULL, NULL, &cerr);
        return weir_err_wrap(err, "checkpoint %lld: operator %s", (long long)r->n, op->vt->name);
    }
    if (weir_sql_state_writer_close(sw, true, &bytes, &raw, &records, err) != WEIR_OK) return WEIR_ERROR;
    if (records == 0) {
        unlink(path);
        return WEIR_OK;
    }
    if (r->nfiles == r->capfiles) {
        r->capfiles = r->capfiles ? r->capfiles * 2 : 8;
        r->files = realloc(r->files, sizeof *r->files * (size_t)r->capfiles);
        if (!r->files) abort();
    }
    ckpt_file *f = &r->files[r->nfiles++];
    *f = (ckpt_file){.sh = op->shared, .instance = w->index, .bytes = bytes, .raw = raw, .records = records};
    snprintf(f->name, sizeof f->name, "%s", name);
    r->state_bytes += raw;
    r->file_bytes += bytes;
    return WEIR_OK;
}

void weir_sql_worker_barrier_handled(weir_sql_worker *w, int64_t n) {
    report_begin(w, n);
    w->ckpt_handled++;
}

int weir_sql_op_barrier(weir_sql_op *op, int input, int64_t n, weir_err *err) {
    int nin = op->plan->ninputs > 0 ? op->plan->ninputs : 1;
    if (input < 0 || input >= nin) input = 0;
    if (op->barrier_in[input] >= n) return WEIR_OK;
    op->barrier_in[input] = n;
    for (int k = 0; k < nin; k++)
        if (op->barrier_in[k] < n) return WEIR_OK; /* aligned: wait for the other inputs */
    if (op->barrier_done >= n) return WEIR_OK;
    op->barrier_done = n;
    weir_sql_worker *w = op->worker;
    report_begin(w, n);
    w->ckpt_handled++;
    if (op->plan->kind == WEIR_SQL_PLAN_EXCHANGE) return weir_sql_exchange_barrier(op, n, err);
    if (op->vt->snapshot && snapshot_op(op, err) != WEIR_OK) return WEIR_ERROR;
    if (op->vt->flush && op->vt->flush(op, err) != WEIR_OK) return WEIR_ERROR;
    if (!op->next) return WEIR_OK;
    return weir_sql_op_barrier(op->next, op->next_input, n, err);
}

static int commit_readers(weir_sql_worker *w, weir_err *err) {
    for (int r = 0; r < w->nreaders; r++) {
        weir_sql_worker_reader *rd = &w->readers[r];
        const weir_sql_source_ops *ops = rd->sh->plan->connector->source;
        if (rd->reader && ops->commit && ops->commit(rd->reader, err) != WEIR_OK) return WEIR_ERROR;
    }
    return WEIR_OK;
}

/* The worker's checkpoint duties between batches: commit after a completed checkpoint,
 * start a requested one, finish the one in progress once every instance handled it. */
static int barrier_step(weir_sql_worker *w, weir_err *err) {
    weir_sql_job *job = w->job;
    int64_t done = atomic_load(&job->ckpt_completed);
    if (done > w->ckpt_committed) {
        if (commit_readers(w, err) != WEIR_OK) return WEIR_ERROR;
        w->ckpt_committed = done;
    }
    if (!w->ckpt_pending) {
        int64_t req = atomic_load_explicit(&job->ckpt_request, memory_order_acquire);
        if (req <= w->ckpt_injected) return WEIR_OK;
        report_begin(w, req);
        if (record_positions(w, w->report, err) != WEIR_OK) return WEIR_ERROR;
        w->ckpt_injected = req;
        w->ckpt_pending = req;
        for (int k = 0; k < w->nops; k++) {
            weir_sql_op *op = w->ops[k];
            if (op->plan->kind != WEIR_SQL_PLAN_SCAN && op->plan->kind != WEIR_SQL_PLAN_VALUES) continue;
            if (weir_sql_op_barrier(op, 0, req, err) != WEIR_OK) return WEIR_ERROR;
        }
    }
    if (w->ckpt_report_n != w->ckpt_pending || w->ckpt_handled < w->nops + job->nexchanges) return WEIR_OK;
    /* every instance handled it: report, then deliver what the exchanges held back */
    int64_t n = w->ckpt_pending;
    bool savepoint = atomic_load(&job->request_savepoint);
    pthread_mutex_lock(&job->ckpt_lock);
    if (job->inflight == n && job->reports) {
        job->reports[w->index] = w->report;
        job->nreported++;
        pthread_cond_broadcast(&job->ckpt_cond);
    }
    pthread_mutex_unlock(&job->ckpt_lock);
    w->ckpt_pending = 0;
    w->ckpt_released = n;
    if (savepoint) w->ckpt_paused = true; /* the job stops once the savepoint is complete */
    w->draining = true;
    int rc = WEIR_OK;
    for (int k = 0; k < job->nexchanges && rc == WEIR_OK; k++) rc = weir_sql_exchange_release(w->exchanges[k], err);
    w->draining = false;
    return rc;
}

/* Processing-time duties, at most every 50 ms and never inside a barrier's alignment:
 * operators' tick (timers, state TTL) and their state sizes published for the memory cap. */
static int tick_ops(weir_sql_worker *w, weir_err *err) {
    int64_t now = weir_mono_ms();
    if (now - w->last_tick_ms < 50 || w->ckpt_pending) return WEIR_OK;
    w->last_tick_ms = now;
    int64_t wall = weir_now_ms();
    for (int k = 0; k < w->nops; k++) {
        weir_sql_op *op = w->ops[k];
        if (op->vt->tick && op->vt->tick(op, wall, err) != WEIR_OK) return WEIR_ERROR;
        if (op->shared->state_bytes_w)
            atomic_store_explicit(&op->shared->state_bytes_w[w->index], op->state_bytes, memory_order_relaxed);
    }
    return WEIR_OK;
}

/* Hands each record of a restored operator's state to the instance that owns its key now
 * (the exchange's hash; empty keys to every instance). */
typedef struct restore_ctx {
    weir_sql_op *op;
    int nw;
    bool single;
} restore_ctx;

static int restore_record(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, weir_err *err) {
    restore_ctx *c = arg;
    int me = c->op->worker->index;
    if (c->single) {
        if (me != 0) return WEIR_OK;
    } else if (klen > 0 && c->nw > 1) {
        int owner = (int)((weir_sql_hash_bytes(key, klen) >> 32) % (uint64_t)c->nw);
        if (owner != me) return WEIR_OK;
    }
    return c->op->vt->restore(c->op, key, klen, val, vlen, err);
}

static int restore_ops(weir_sql_worker *w, weir_err *err) {
    weir_sql_job *job = w->job;
    for (int k = 0; k < w->nops; k++) {
        weir_sql_op *op = w->ops[k];
        const weir_sql_op_shared *sh = op->shared;
        if (!sh->restore_op || !op->vt->restore) continue;
        restore_ctx c = {.op = op, .nw = job->nworkers, .single = sh->restore_single};
        for (int f = 0; f < sh->restore_op->nfiles; f++) {
            const weir_sql_ckpt_file *file = &sh->restore_op->files[f];
            /* at the same parallelism an instance's keys are all in its own file */
            if (sh->restore_parallelism == job->nworkers && file->instance != w->index && !c.single) continue;
            char path[WEIR_SQL_PATH_MAX + 64];
            snprintf(path, sizeof path, "%s/%s", sh->restore_dir, file->name);
            if (weir_sql_state_file_read(path, restore_record, &c, err) != WEIR_OK)
                return weir_err_wrap(err, "restoring operator %s", sh->restore_op->explain);
        }
    }
    return WEIR_OK;
}

/* ---- checkpoints: the coordinator (supervisor thread) ------------------------------------ */

static void notice(weir_sql_job *job, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void notice(weir_sql_job *job, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(job->out_lock);
    fflush(job->out);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    fflush(stderr);
    pthread_mutex_unlock(job->out_lock);
    va_end(ap);
}

/* The node's EXPLAIN line, cut to fit a message. */
static void explain_line(char *buf, size_t cap, const weir_sql_plan *p) {
    weir_buf b;
    weir_buf_init(&b);
    weir_sql_plan_describe(&b, p, false);
    size_t n = b.len < cap - 1 ? b.len : cap - 1;
    if (b.len > cap - 1 && cap > 4) {
        memcpy(buf, b.data, cap - 4);
        memcpy(buf + cap - 4, "...", 4);
    } else {
        if (n) memcpy(buf, b.data, n);
        buf[n] = 0;
    }
    weir_buf_free(&b);
}

/* Sums the instances' published state sizes; over 'state.memory.limit' the job fails
 * naming the operator that holds the most. @thread supervisor */
static void memory_check(weir_sql_job *job) {
    if (job->mem_limit <= 0) return;
    int64_t total = 0, most = 0;
    const weir_sql_op_shared *top = NULL;
    for (weir_sql_op_shared *sh = job->shared; sh; sh = sh->link) {
        if (!sh->state_bytes_w) continue;
        int64_t s = 0;
        for (int i = 0; i < job->nworkers; i++) s += atomic_load_explicit(&sh->state_bytes_w[i], memory_order_relaxed);
        total += s;
        if (s > most) {
            most = s;
            top = sh;
        }
    }
    if (total <= job->mem_limit || !top) return;
    char t[32], m[32], line[200];
    weir_sql_format_bytes(t, sizeof t, total);
    weir_sql_format_bytes(m, sizeof m, most);
    explain_line(line, sizeof line, top->plan);
    weir_err e;
    weir_err_set(&e,
                 "job state is %s, over 'state.memory.limit' = '%s': operator %s holds %s; raise the limit or bound "
                 "the state with 'table.exec.state.ttl' or smaller windows",
                 t, job->mem_limit_text, line, m);
    weir_sql_job_fail(job, &e);
}

/* Starts checkpoint (or savepoint) job->ckpt_next. @locks ckpt_lock */
static int trigger(weir_sql_job *job, bool savepoint, weir_err *err) {
    int64_t n = job->ckpt_next++;
    char target[WEIR_SQL_PATH_MAX];
    if (savepoint) {
        uint8_t rnd[6];
        weir_random_bytes(rnd, sizeof rnd);
        snprintf(target, sizeof target, "%s/savepoint-%.6s-%02x%02x%02x%02x%02x%02x", job->savepoint_dir, job->job_id,
                 rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
    } else {
        snprintf(target, sizeof target, "%s/chk-%lld", job->ckpt_dir, (long long)n);
    }
    weir_sql_remove_tree(target); /* a crashed run's incomplete one */
    if (weir_sql_mkdirs(target, err) != WEIR_OK) return WEIR_ERROR;
    snprintf(job->ckpt_target, sizeof job->ckpt_target, "%s", target);
    job->inflight = n;
    job->inflight_savepoint = savepoint;
    job->inflight_tickets = job->manual_asked;
    job->inflight_start_ms = weir_mono_ms();
    job->nreported = 0;
    for (int i = 0; i < job->nworkers; i++) job->reports[i] = NULL;
    atomic_store(&job->request_savepoint, savepoint);
    atomic_store_explicit(&job->ckpt_request, n, memory_order_release);
    return WEIR_OK;
}

/* Every worker reported (or ended): _metadata, retention, then sources may commit. Runs
 * without ckpt_lock (the reports stay put until the next trigger). */
static int complete(weir_sql_job *job, weir_err *err) {
    weir_arena a;
    weir_arena_init(&a, 0);
    weir_sql_ckpt_meta m = {.id = job->inflight, .savepoint = job->inflight_savepoint, .parallelism = job->nworkers,
                            .time_ms = weir_now_ms()};
    snprintf(m.job_id, sizeof m.job_id, "%s", job->job_id);
    weir_sql_ckpt_report **reps = weir_arena_alloc(&a, sizeof *reps * (size_t)job->nworkers);
    for (int i = 0; i < job->nworkers; i++) {
        weir_sql_worker *w = &job->workers[i];
        reps[i] = job->reports[i] ? job->reports[i] : atomic_load(&w->exited) ? w->final_report : NULL;
    }
    int nnodes = 0;
    for (weir_sql_op_shared *sh = job->shared; sh; sh = sh->link) nnodes++;
    m.ops = weir_arena_alloc(&a, sizeof *m.ops * (size_t)(nnodes + 1));
    m.sources = weir_arena_alloc(&a, sizeof *m.sources * (size_t)(nnodes + 1));
    for (weir_sql_op_shared *sh = job->shared; sh; sh = sh->link) {
        const weir_sql_plan *p = sh->plan;
        if (stateful_kind(p->kind)) {
            weir_sql_ckpt_op *o = &m.ops[m.nops++];
            snprintf(o->id, sizeof o->id, "%s", p->id);
            weir_buf line;
            weir_buf_init(&line);
            weir_sql_plan_describe(&line, p, false);
            o->explain = weir_arena_strndup(&a, (const char *)line.data, line.len);
            weir_buf_free(&line);
            o->instances = job->nworkers;
            int nf = 0;
            for (int i = 0; i < job->nworkers; i++)
                for (int f = 0; reps[i] && f < reps[i]->nfiles; f++) nf += reps[i]->files[f].sh == sh;
            o->files = weir_arena_alloc(&a, sizeof *o->files * (size_t)(nf + 1));
            for (int i = 0; i < job->nworkers; i++)
                for (int f = 0; reps[i] && f < reps[i]->nfiles; f++) {
                    const ckpt_file *cf = &reps[i]->files[f];
                    if (cf->sh != sh) continue;
                    o->files[o->nfiles++] = (weir_sql_ckpt_file){.name = cf->name, .instance = cf->instance,
                                                                 .bytes = cf->bytes, .raw = cf->raw,
                                                                 .records = cf->records};
                    m.bytes += cf->raw;
                    m.file_bytes += cf->bytes;
                }
        }
        if (p->kind == WEIR_SQL_PLAN_SCAN && p->table) {
            weir_sql_ckpt_source *s = &m.sources[m.nsources++];
            s->table = p->table->name;
            s->occurrence = sh->occurrence;
            int np = 0;
            for (int i = 0; i < job->nworkers; i++)
                for (int k = 0; reps[i] && k < reps[i]->npos; k++) np += reps[i]->pos[k].sh == sh;
            s->splits = weir_arena_alloc(&a, sizeof *s->splits * (size_t)(np + 1));
            for (int i = 0; i < job->nworkers; i++)
                for (int k = 0; reps[i] && k < reps[i]->npos; k++) {
                    const ckpt_pos *cp = &reps[i]->pos[k];
                    if (cp->sh != sh) continue;
                    s->splits[s->nsplits++] = (weir_sql_ckpt_split){.split = cp->split,
                                                                    .pos = reps[i]->bytes.data + cp->off,
                                                                    .len = cp->len,
                                                                    .has_wm = cp->has_wm && cp->wm != WEIR_SQL_WM_NONE,
                                                                    .wm = cp->wm};
                }
        }
    }
    m.duration_ms = weir_mono_ms() - job->inflight_start_ms;
    char *text = weir_sql_meta_encode(&m);
    int rc = weir_sql_write_file_atomic(job->ckpt_target, "_metadata", text, strlen(text), err);
    free(text);
    const char *parent = job->inflight_savepoint ? job->savepoint_dir : job->ckpt_dir;
    if (rc == WEIR_OK) rc = weir_sql_fsync_dir(parent, err);
    if (rc == WEIR_OK && !job->inflight_savepoint) {
        /* keep the last 'state.checkpoints.num-retained' */
        int64_t *done = NULL, *partial = NULL;
        int ndone = 0, npartial = 0;
        weir_sql_list_checkpoints(job->ckpt_dir, &done, &ndone, &partial, &npartial);
        for (int k = 0; k < ndone - job->retained; k++) {
            char old[WEIR_SQL_PATH_MAX + 32];
            snprintf(old, sizeof old, "%s/chk-%lld", job->ckpt_dir, (long long)done[k]);
            weir_sql_remove_tree(old);
        }
        for (int k = 0; k < npartial; k++)
            if (partial[k] < job->inflight) {
                char old[WEIR_SQL_PATH_MAX + 32];
                snprintf(old, sizeof old, "%s/chk-%lld", job->ckpt_dir, (long long)partial[k]);
                weir_sql_remove_tree(old);
            }
        free(done);
        free(partial);
    }
    if (rc == WEIR_OK) {
        weir_sql_checkpoint_stats *st = &job->last_stats;
        st->id = job->inflight;
        st->bytes = m.bytes;
        st->file_bytes = m.file_bytes;
        st->duration_ms = weir_mono_ms() - job->inflight_start_ms;
        snprintf(st->path, sizeof st->path, "%s", job->ckpt_target);
    }
    weir_arena_free(&a);
    return rc;
}

/* Removes an in-flight checkpoint that cannot complete (the job stops or failed). @locks ckpt_lock */
static void abandon(weir_sql_job *job, const char *why) {
    if (!job->inflight) return;
    weir_sql_remove_tree(job->ckpt_target);
    if (job->inflight_tickets > job->manual_done) {
        job->manual_failed = true;
        weir_err_set(&job->manual_err, "checkpoint %lld did not complete: %s", (long long)job->inflight, why);
        job->manual_done = job->inflight_tickets;
    }
    if (job->inflight_savepoint) notice(job, "savepoint %s was not completed: %s", job->ckpt_target, why);
    job->inflight = 0;
    pthread_cond_broadcast(&job->ckpt_cond);
}

/* The coordinator: until every worker has ended, it checks the memory cap every 100 ms and
 * drives checkpoints (periodic, asked for, or the savepoint of a stop). @thread supervisor */
static void coordinate(weir_sql_job *job, int nstarted) {
    int64_t next_due = weir_mono_ms() + job->checkpoint_ms;
    pthread_mutex_lock(&job->ckpt_lock);
    while (job->nexited < nstarted) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += 100 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&job->ckpt_cond, &job->ckpt_lock, &ts);
        if (job->nexited >= nstarted) break;
        pthread_mutex_unlock(&job->ckpt_lock);
        memory_check(job);
        pthread_mutex_lock(&job->ckpt_lock);
        bool stopping = atomic_load(&job->stopping);
        if (!job->barriers) continue;
        if (job->inflight) {
            if (stopping) {
                abandon(job, "the job stopped");
                continue;
            }
            int ready = 0;
            for (int i = 0; i < job->nworkers; i++)
                ready += job->reports[i] != NULL || atomic_load(&job->workers[i].exited) || !job->workers[i].started;
            if (ready < job->nworkers) continue;
            pthread_mutex_unlock(&job->ckpt_lock);
            weir_err err;
            int rc = complete(job, &err);
            pthread_mutex_lock(&job->ckpt_lock);
            bool savepoint = job->inflight_savepoint;
            if (rc != WEIR_OK) {
                abandon(job, err.msg);
                weir_sql_job_fail(job, &err);
                continue;
            }
            if (job->inflight_tickets > job->manual_done) job->manual_done = job->inflight_tickets;
            atomic_store(&job->ckpt_completed, job->inflight);
            job->inflight = 0;
            next_due = weir_mono_ms() + job->checkpoint_ms;
            pthread_cond_broadcast(&job->ckpt_cond);
            if (savepoint) {
                notice(job, "savepoint written to %s", job->last_stats.path);
                job->savepoint_asked = false;
                weir_sql_job_stop(job);
            }
            continue;
        }
        if (stopping) continue;
        weir_err err;
        int rc = WEIR_OK;
        if (job->savepoint_asked && job->savepoint_dir) rc = trigger(job, true, &err);
        else if (job->manual_asked > job->manual_done || (job->ckpt_dir && weir_mono_ms() >= next_due))
            rc = job->ckpt_dir ? trigger(job, false, &err) : WEIR_OK;
        if (rc != WEIR_OK) {
            job->inflight = 0;
            weir_sql_job_fail(job, &err);
        }
    }
    abandon(job, "the job ended");
    job->coordinator_exit = true;
    pthread_cond_broadcast(&job->ckpt_cond);
    pthread_mutex_unlock(&job->ckpt_lock);
}

/* ---- checkpoints: the API ---------------------------------------------------------------- */

int weir_sql_job_checkpoint_now(weir_sql_job *job, weir_sql_checkpoint_stats *out, weir_err *err) {
    if (!job->ckpt_dir) return weir_err_set(err, "the job has no 'state.checkpoints.dir'");
    pthread_mutex_lock(&job->ckpt_lock);
    if (job->coordinator_exit || !atomic_load(&job->running)) {
        pthread_mutex_unlock(&job->ckpt_lock);
        return weir_err_set(err, "the job is not running");
    }
    int ticket = ++job->manual_asked;
    pthread_cond_broadcast(&job->ckpt_cond);
    while (job->manual_done < ticket && !job->coordinator_exit) pthread_cond_wait(&job->ckpt_cond, &job->ckpt_lock);
    int rc = WEIR_OK;
    if (job->manual_done < ticket) rc = weir_err_set(err, "the job ended before the checkpoint completed");
    else if (job->manual_failed) {
        rc = WEIR_ERROR;
        if (err) *err = job->manual_err;
        job->manual_failed = false;
    } else if (out) *out = job->last_stats;
    pthread_mutex_unlock(&job->ckpt_lock);
    return rc;
}

void weir_sql_job_stop_with_savepoint(weir_sql_job *job) {
    if (!job->savepoint_dir || !atomic_load(&job->running)) {
        weir_sql_job_stop(job);
        return;
    }
    pthread_mutex_lock(&job->ckpt_lock);
    bool over = job->coordinator_exit;
    job->savepoint_asked = true;
    pthread_cond_broadcast(&job->ckpt_cond);
    pthread_mutex_unlock(&job->ckpt_lock);
    if (over) weir_sql_job_stop(job);
}

/* ---- checkpoints: configuration and restore at job start ---------------------------------- */

static uint64_t fnv64(uint64_t h, const void *p, size_t n) {
    const uint8_t *b = p;
    for (size_t k = 0; k < n; k++) {
        h ^= b[k];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* A stable job id (32 hex digits, as Flink's JobID): 'weir.job.id' as given, else a hash of
 * 'pipeline.name', else of the plan's root ids (the same job file gives the same id). */
static int job_id_of(weir_sql_job *job, weir_err *err) {
    const char *given = weir_sql_job_config(job, "weir.job.id");
    if (given) {
        size_t n = strlen(given);
        bool ok = n > 0 && n < sizeof job->job_id;
        for (size_t k = 0; k < n && ok; k++)
            ok = isalnum((unsigned char)given[k]) || given[k] == '-' || given[k] == '_' || given[k] == '.';
        if (!ok || given[0] == '.')
            return weir_err_set(err, "SET 'weir.job.id' = '%s': use 1 to 32 letters, digits, '-', '_' or '.'", given);
        snprintf(job->job_id, sizeof job->job_id, "%s", given);
        return WEIR_OK;
    }
    const char *name = weir_sql_job_config(job, "pipeline.name");
    uint64_t h1 = 0xcbf29ce484222325ull, h2 = 0x84222325cbf29ce4ull;
    if (name) {
        h1 = fnv64(h1, name, strlen(name));
        h2 = fnv64(h2, name, strlen(name));
    } else {
        for (int k = 0; k < job->nroots; k++) {
            h1 = fnv64(h1, job->roots[k]->id, 16);
            h2 = fnv64(h2, job->roots[k]->id, 16);
        }
    }
    snprintf(job->job_id, sizeof job->job_id, "%016llx%016llx", (unsigned long long)h1, (unsigned long long)h2);
    return WEIR_OK;
}

static bool conf_true(const weir_sql_job *job, const char *key) {
    const char *v = weir_sql_job_config(job, key);
    return v && !strcasecmp(v, "true");
}

/* Flink's keys take URIs; a local directory may be written as file:///path. */
static const char *local_dir(weir_sql_job *job, const char *key, const char *v, weir_err *err) {
    if (!strncmp(v, "file://", 7)) v += 7;
    if (!*v || strstr(v, "://")) {
        weir_err_set(err, "SET '%s' = '%s': not a local directory (a path or file:///path)", key, v);
        return NULL;
    }
    size_t n = strlen(v);
    while (n > 1 && v[n - 1] == '/') n--;
    if (n > WEIR_SQL_PATH_MAX - 200) {
        weir_err_set(err, "SET '%s': the path is too long", key);
        return NULL;
    }
    return weir_arena_strndup(&job->arena, v, n);
}

/* Numbers each SCAN of a table in plan order (positions are kept by table and occurrence). */
static void number_scans(weir_sql_job *job, const weir_sql_plan *p, const weir_sql_plan **seen, int *nseen) {
    for (int k = 0; k < p->ninputs; k++) number_scans(job, p->inputs[k], seen, nseen);
    if (p->kind != WEIR_SQL_PLAN_SCAN || !p->table) return;
    for (int k = 0; k < *nseen; k++)
        if (seen[k] == p) return;
    int occ = 0;
    for (int k = 0; k < *nseen; k++) occ += strcmp(seen[k]->table->name, p->table->name) == 0;
    seen[(*nseen)++] = p;
    shared_of(job, p)->occurrence = occ;
}

/* Refuses (state_refused) with a message naming the operator and what changed. */
static int refuse(weir_sql_job *job, weir_err *err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int refuse(weir_sql_job *job, weir_err *err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char msg[sizeof err->msg];
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    job->state_refused = true;
    return weir_err_set(err, "%s", msg);
}

static void cut(char *buf, size_t cap, const char *s) {
    size_t n = strlen(s);
    if (n < cap) {
        memcpy(buf, s, n + 1);
        return;
    }
    memcpy(buf, s, cap - 4);
    memcpy(buf + cap - 4, "...", 4);
}

/* The operator name of an EXPLAIN line ("WindowAggregate" of "WindowAggregate(...)"). */
static size_t op_name_len(const char *line) {
    const char *p = strchr(line, '(');
    return p ? (size_t)(p - line) : strlen(line);
}

/* Matches the checkpoint's operators and sources with the plan's, seeks the sources and
 * tells each stateful node where its state is. */
static int restore_plan(weir_sql_job *job, const char *dir, weir_sql_ckpt_meta *m, weir_err *err) {
    bool reset = conf_true(job, "weir.state.allow-reset");
    bool ignore_unclaimed = reset || conf_true(job, "execution.savepoint.ignore-unclaimed-state");
    int nops = m->nops;
    bool *claimed = weir_arena_alloc(&job->arena, (size_t)nops + 1);
    /* the plan's stateful operators without state there */
    for (weir_sql_op_shared *sh = job->shared; sh; sh = sh->link) {
        const weir_sql_plan *p = sh->plan;
        if (!stateful_kind(p->kind)) continue;
        int found = -1;
        for (int k = 0; k < nops && found < 0; k++)
            if (!claimed[k] && !strcmp(m->ops[k].id, p->id)) found = k;
        if (found >= 0) {
            claimed[found] = true;
            sh->restore_op = &m->ops[found];
            sh->restore_dir = dir;
            sh->restore_parallelism = m->parallelism;
            bool single = p->ninputs > 0;
            for (int i = 0; i < p->ninputs; i++)
                single = single && p->inputs[i]->kind == WEIR_SQL_PLAN_EXCHANGE && p->inputs[i]->nkeys == 0;
            sh->restore_single = single;
            continue;
        }
        if (reset) continue;
        char line[130], old[130];
        explain_line(line, sizeof line, p);
        /* the checkpoint's operator of the same kind that nothing claims is what it was */
        const weir_sql_ckpt_op *was = NULL;
        for (int k = 0; k < nops && !was; k++) {
            bool taken = false;
            for (weir_sql_op_shared *o = job->shared; o && !taken; o = o->link)
                taken = stateful_kind(o->plan->kind) && !strcmp(o->plan->id, m->ops[k].id);
            if (!taken && op_name_len(m->ops[k].explain) == op_name_len(line) &&
                !strncmp(m->ops[k].explain, line, op_name_len(line)))
                was = &m->ops[k];
        }
        if (was) {
            cut(old, sizeof old, was->explain);
            if (!strcmp(old, line))
                return refuse(job, err,
                              "operator %s does not match its state: its input columns (names or types) changed; run "
                              "with --allow-state-reset to start it empty (checkpoint %s)",
                              line, dir);
            return refuse(job, err,
                          "operator %s does not match its state, which belongs to %s: its keys, aggregates or window "
                          "changed; run with --allow-state-reset to start it empty (checkpoint %s)",
                          line, old, dir);
        }
        return refuse(job, err,
                      "operator %s has no state to restore (it is new, or its keys, aggregates, window or input "
                      "columns changed); run with --allow-state-reset to start it empty (checkpoint %s)",
                      line, dir);
    }
    for (int k = 0; k < nops && !ignore_unclaimed; k++) {
        if (claimed[k]) continue;
        char old[160];
        cut(old, sizeof old, m->ops[k].explain);
        return refuse(job, err,
                      "the checkpoint holds state of operator %s, which this job does not have (removed or changed); "
                      "run with --allow-state-reset (or SET 'execution.savepoint.ignore-unclaimed-state' = 'true') "
                      "to drop it (checkpoint %s)",
                      old, dir);
    }
    /* sources: by table and occurrence */
    for (int k = 0; k < m->nsources; k++) {
        const weir_sql_ckpt_source *s = &m->sources[k];
        weir_sql_op_shared *sh = NULL;
        for (weir_sql_op_shared *o = job->shared; o && !sh; o = o->link)
            if (o->plan->kind == WEIR_SQL_PLAN_SCAN && o->plan->table && !strcmp(o->plan->table->name, s->table) &&
                o->occurrence == s->occurrence && o->source)
                sh = o;
        if (!sh) {
            if (ignore_unclaimed) continue;
            return refuse(job, err,
                          "the checkpoint holds positions of table '%s' (read %d time%s by the job), which this job "
                          "does not read as often; run with --allow-state-reset (or SET "
                          "'execution.savepoint.ignore-unclaimed-state' = 'true') to drop them (checkpoint %s)",
                          s->table, s->occurrence + 1, s->occurrence ? "s" : "", dir);
        }
        const weir_sql_source_ops *ops = sh->plan->connector->source;
        for (int p = 0; p < s->nsplits; p++) {
            const weir_sql_ckpt_split *sp = &s->splits[p];
            if (ops->seek(sh->source, sp->pos, sp->len, err) != WEIR_OK)
                return weir_err_wrap(err, "restoring %s", dir);
            if (sp->has_wm && sp->split >= 0 && sp->split < sh->nsplits) {
                if (!sh->restore_wm) {
                    sh->restore_wm = weir_arena_alloc(&job->arena, sizeof *sh->restore_wm * (size_t)sh->nsplits);
                    for (int i = 0; i < sh->nsplits; i++) sh->restore_wm[i] = WEIR_SQL_WM_NONE;
                }
                sh->restore_wm[sp->split] = sp->wm;
            }
        }
    }
    return WEIR_OK;
}

/* Reads the checkpoint keys, and restores from 'execution.savepoint.path' or the latest
 * complete checkpoint of this job. Runs on the start thread after the sources are open and
 * before any reader is. */
static int setup_checkpoints(weir_sql_job *job, weir_err *err) {
    const char *v = weir_sql_job_config(job, "state.memory.limit");
    job->mem_limit_text = v ? v : "2 gb";
    if (!weir_sql_parse_memory_size(job->mem_limit_text, &job->mem_limit) || job->mem_limit <= 0)
        return weir_err_set(err, "SET 'state.memory.limit' = '%s': not a memory size (e.g. '2 gb', '512 mb')",
                            job->mem_limit_text);
    for (weir_sql_op_shared *sh = job->shared; sh; sh = sh->link)
        if (stateful_kind(sh->plan->kind)) {
            sh->state_bytes_w = weir_arena_alloc(&job->arena, sizeof *sh->state_bytes_w * (size_t)job->nworkers);
            for (int i = 0; i < job->nworkers; i++) atomic_init(&sh->state_bytes_w[i], 0);
        }
    if (job_id_of(job, err) != WEIR_OK) return WEIR_ERROR;
    const weir_sql_plan **seen = weir_arena_alloc(&job->arena, sizeof *seen * 1024);
    int nseen = 0;
    for (int k = 0; k < job->nroots && nseen < 1000; k++) number_scans(job, job->roots[k], seen, &nseen);
    job->retained = 1;
    const char *ret = weir_sql_job_config(job, "state.checkpoints.num-retained");
    if (ret) {
        char *end;
        long n = strtol(ret, &end, 10);
        if (!*ret || *end || n < 1 || n > 1000)
            return weir_err_set(err, "SET 'state.checkpoints.num-retained' = '%s': not a number from 1 to 1000", ret);
        job->retained = (int)n;
    }
    const char *cd = weir_sql_job_config(job, "state.checkpoints.dir");
    if (cd) {
        const char *base = local_dir(job, "state.checkpoints.dir", cd, err);
        if (!base) return WEIR_ERROR;
        job->ckpt_dir = weir_arena_sprintf(&job->arena, "%s/%s", base, job->job_id);
    }
    const char *sd = weir_sql_job_config(job, "state.savepoints.dir");
    if (sd) {
        job->savepoint_dir = local_dir(job, "state.savepoints.dir", sd, err);
        if (!job->savepoint_dir) return WEIR_ERROR;
    } else if (cd) {
        job->savepoint_dir = weir_arena_sprintf(&job->arena, "%s/savepoints", local_dir(job, "", cd, err));
    }
    const char *from = job->skip_savepoint_path ? NULL : weir_sql_job_config(job, "execution.savepoint.path");
    job->barriers = job->ckpt_dir || job->savepoint_dir;
    job->ckpt_next = 1;
    if (!job->barriers && !from) return WEIR_OK;
    /* what a checkpoint needs of every source and stateful operator */
    for (weir_sql_op_shared *sh = job->shared; sh; sh = sh->link) {
        const weir_sql_plan *p = sh->plan;
        if (p->kind == WEIR_SQL_PLAN_SCAN && p->connector && p->connector->source &&
            (!p->connector->source->position || !p->connector->source->seek))
            return weir_err_set(err,
                                "table '%s': connector '%s' cannot record where it reads, so the job cannot take "
                                "checkpoints or savepoints; leave 'state.checkpoints.dir' and 'state.savepoints.dir' "
                                "unset",
                                p->table->name, p->connector->name);
        if (stateful_kind(p->kind)) {
            const weir_sql_op_vtab *vt = vtab_of(p);
            if (!vt->snapshot || !vt->restore) {
                char line[200];
                explain_line(line, sizeof line, p);
                return weir_err_set(err,
                                    "operator %s cannot checkpoint its state yet; leave 'state.checkpoints.dir' and "
                                    "'state.savepoints.dir' unset",
                                    line);
            }
        }
    }
    job->reports = weir_arena_alloc(&job->arena, sizeof *job->reports * (size_t)job->nworkers);
    for (int i = 0; i < job->nworkers; i++) {
        job->workers[i].report = report_new(job);
        job->workers[i].final_report = report_new(job);
    }
    /* the latest complete checkpoint; incomplete ones of a crashed run are removed */
    int64_t latest = 0;
    if (job->ckpt_dir) {
        if (weir_sql_mkdirs(job->ckpt_dir, err) != WEIR_OK) return WEIR_ERROR;
        int64_t *done = NULL, *partial = NULL;
        int ndone = 0, npartial = 0;
        weir_sql_list_checkpoints(job->ckpt_dir, &done, &ndone, &partial, &npartial);
        if (ndone) latest = done[ndone - 1];
        for (int k = 0; k < npartial; k++) {
            char old[WEIR_SQL_PATH_MAX + 32];
            snprintf(old, sizeof old, "%s/chk-%lld", job->ckpt_dir, (long long)partial[k]);
            weir_sql_remove_tree(old);
            if (partial[k] > latest) job->ckpt_next = partial[k] + 1;
        }
        free(done);
        free(partial);
    }
    char dir[WEIR_SQL_PATH_MAX];
    if (from) {
        const char *p = local_dir(job, "execution.savepoint.path", from, err);
        if (!p) return WEIR_ERROR;
        snprintf(dir, sizeof dir, "%s", p);
    } else if (latest > 0) {
        snprintf(dir, sizeof dir, "%s/chk-%lld", job->ckpt_dir, (long long)latest);
    } else {
        if (latest + 1 > job->ckpt_next) job->ckpt_next = latest + 1;
        return WEIR_OK;
    }
    weir_sql_ckpt_meta *m = weir_arena_alloc(&job->arena, sizeof *m);
    if (weir_sql_meta_load(dir, &job->arena, m, err) != WEIR_OK) {
        job->state_refused = from != NULL; /* the savepoint asked for is not there: like a usage error */
        return WEIR_ERROR;
    }
    const char *kept = weir_arena_strndup(&job->arena, dir, strlen(dir));
    if (restore_plan(job, kept, m, err) != WEIR_OK) return WEIR_ERROR;
    job->restored = m;
    snprintf(job->restored_from, sizeof job->restored_from, "%s", kept);
    if (m->id + 1 > job->ckpt_next) job->ckpt_next = m->id + 1;
    if (latest + 1 > job->ckpt_next) job->ckpt_next = latest + 1;
    notice(job, "restored from checkpoint %s", kept);
    return WEIR_OK;
}

int weir_sql_job_start(weir_sql_job *job, weir_sql_plan **roots, int nroots, int parallelism, weir_err *err) {
    job->roots = roots;
    job->nroots = nroots;
    const char *iv = weir_sql_job_config(job, "execution.checkpointing.interval");
    if (iv && (!weir_sql_parse_duration_ms(iv, &job->checkpoint_ms) || job->checkpoint_ms <= 0))
        return weir_err_set(err, "SET 'execution.checkpointing.interval' = '%s': not a duration (e.g. '10 s', '500 ms')", iv);
    int want = config_parallelism(job, parallelism, err);
    if (want < 0) return WEIR_ERROR;
    /* 'table.local-time-zone': TIMESTAMP_LTZ values are shown and windowed in it */
    if (weir_sql_time_zone_set(weir_sql_job_config(job, "table.local-time-zone"), err) != WEIR_OK) return WEIR_ERROR;
    const char *idle = weir_sql_job_config(job, "table.exec.source.idle-timeout");
    if (idle && (!weir_sql_parse_duration_ms(idle, &job->idle_timeout_ms) || job->idle_timeout_ms < 0))
        return weir_err_set(err, "SET 'table.exec.source.idle-timeout' = '%s': not a duration (e.g. '10 s', '500 ms'; "
                                 "0 turns idleness detection off)", idle);
    int total = 0;
    for (int k = 0; k < nroots; k++)
        if (prepare_node(job, roots[k], want, &total, err) != WEIR_OK) {
            close_shared(job, false);
            return WEIR_ERROR;
        }
    int nw = want < total ? want : total;
    if (nw < 1) nw = 1;
    for (weir_sql_op_shared *sh = job->shared; sh; sh = sh->link)
        if (sh->ctx) sh->ctx->nworkers = nw;
    for (int k = 0; k < nroots; k++)
        if (open_sinks(job, roots[k], nw, err) != WEIR_OK) {
            close_shared(job, false);
            return WEIR_ERROR;
        }
    /* workers and their operator instances */
    job->nworkers = nw;
    job->workers = weir_arena_alloc(&job->arena, sizeof *job->workers * (size_t)nw);
    int nodes = 0, scans = 0, values = 0;
    for (int k = 0; k < nroots; k++) nodes += count_nodes(roots[k], &scans, &values);
    for (int i = 0; i < nw; i++) {
        weir_sql_worker *w = &job->workers[i];
        w->job = job;
        w->index = i;
        w->ops = weir_arena_alloc(&job->arena, sizeof *w->ops * (size_t)(nodes + 1));
        w->readers = weir_arena_alloc(&job->arena, sizeof *w->readers * (size_t)(scans + 1));
        w->values_leaves = weir_arena_alloc(&job->arena, sizeof *w->values_leaves * (size_t)(values + 1));
        w->exchanges = weir_arena_alloc(&job->arena, sizeof *w->exchanges * (size_t)(job->nexchanges + 1));
        if (job->nexchanges > 0) {
            w->inbox = weir_arena_alloc(&job->arena, sizeof *w->inbox);
            weir_sql_inbox_init(w->inbox);
        }
        limit_path path = {.n = 0};
        for (int k = 0; k < nroots; k++) instantiate(w, roots[k], NULL, 0, &path);
    }
    /* splits round-robin over the workers, continuing from source to source so that
     * several small sources still spread */
    int rr = 0;
    for (int r = 0; r < job->workers[0].nreaders; r++) {
        weir_sql_op_shared *sh = job->workers[0].readers[r].sh;
        for (int i = 0; i < nw; i++) {
            weir_sql_worker_reader *wr = &job->workers[i].readers[r];
            wr->splits = weir_arena_alloc(&job->arena, sizeof(int) * (size_t)(sh->nsplits / nw + 2));
        }
        /* (the planner makes one SCAN node per FROM occurrence; a node reached twice would
         * get a reader per occurrence, each reading every split) */
        for (int s = 0; s < sh->nsplits; s++) {
            weir_sql_worker_reader *wr = &job->workers[rr % nw].readers[r];
            wr->splits[wr->nsplits++] = s;
            rr++;
        }
    }
    if (job->event_time)
        for (int i = 0; i < nw; i++) split_readers(job, &job->workers[i]);
    for (weir_sql_op_shared *sh = job->shared; sh; sh = sh->link)
        if (sh->plan->kind == WEIR_SQL_PLAN_WINDOW_AGG) {
            sh->worker_wm = weir_arena_alloc(&job->arena, sizeof *sh->worker_wm * (size_t)nw);
            for (int i = 0; i < nw; i++) atomic_init(&sh->worker_wm[i], WEIR_SQL_WM_NONE);
            sh->nworker_wm = nw;
        }
    if (setup_checkpoints(job, err) != WEIR_OK) {
        for (int i = 0; i < nw; i++)
            if (job->workers[i].inbox) {
                weir_sql_inbox_free(job->workers[i].inbox);
                job->workers[i].inbox = NULL;
            }
        close_shared(job, false);
        job->workers = NULL;
        return WEIR_ERROR;
    }
    /* from here on the shared state is only read by other threads */
    atomic_store_explicit(&job->running, true, memory_order_release);
    for (int i = 0; i < nw; i++) {
        weir_sql_worker *w = &job->workers[i];
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            weir_err e;
            weir_err_set(&e, "cannot start worker thread %d", i);
            weir_sql_job_fail(job, &e);
            break;
        }
        w->started = true;
    }
    if (pthread_create(&job->supervisor, NULL, supervisor_main, job) != 0) {
        /* nothing watches the workers: do it here */
        supervisor_main(job);
        return WEIR_OK;
    }
    job->supervised = true;
    return WEIR_OK;
}

/* ---- workers ---------------------------------------------------------------------------- */

/* Without 'state.checkpoints.dir' (and at a worker's end): flushes this worker's sinks,
 * then commits its readers: in a job without state nothing crosses workers, so every row a
 * reader gave has been written by this worker's writers and after the flush its position
 * is safe to commit. */
static int checkpoint(weir_sql_worker *w, weir_err *err) {
    for (int k = 0; k < w->nops; k++) {
        weir_sql_op *op = w->ops[k];
        if (op->vt->flush && op->vt->flush(op, err) != WEIR_OK) return WEIR_ERROR;
    }
    /* without a checkpoint of its state, committing a stateful job's position would lose
     * the rows held in open windows if the job died, so it commits nothing here and a
     * restart reads them again (at least once); with checkpoints it commits once one is
     * complete (barrier_step) */
    if (w->job->stateful) return WEIR_OK;
    for (int r = 0; r < w->nreaders; r++) {
        weir_sql_worker_reader *rd = &w->readers[r];
        const weir_sql_source_ops *ops = rd->sh->plan->connector->source;
        if (rd->reader && ops->commit && ops->commit(rd->reader, err) != WEIR_OK) return WEIR_ERROR;
    }
    return WEIR_OK;
}

static bool limited(const weir_sql_worker_reader *rd) {
    for (int k = 0; k < rd->nlimits; k++)
        if (weir_sql_limit_exhausted(rd->limits[k])) return true;
    return false;
}

static int emit_values(weir_sql_worker *w, weir_err *err) {
    for (int k = 0; k < w->nvalues; k++) {
        weir_sql_op *op = w->values_leaves[k];
        if (w->index == 0 && op->vt->push(op, 0, &op->shared->values, err) != WEIR_OK) return WEIR_ERROR;
        if (atomic_load(&w->job->stopping)) return WEIR_OK;
        if (op->vt->finish(op, 0, err) != WEIR_OK) return WEIR_ERROR;
    }
    return WEIR_OK;
}

static int worker_run(weir_sql_worker *w, weir_err *err) {
    weir_sql_job *job = w->job;
    for (int k = 0; k < w->nops; k++)
        if (w->ops[k]->vt->init(w->ops[k], err) != WEIR_OK) return WEIR_ERROR;
    for (int r = 0; r < w->nreaders; r++) {
        weir_sql_worker_reader *rd = &w->readers[r];
        const weir_sql_plan *p = rd->sh->plan;
        if (weir_sql_batch_init(&rd->batch, p->cols, p->ncols, WEIR_SQL_READ_ROWS, err) != WEIR_OK) return WEIR_ERROR;
        if (rd->nsplits == 0) continue;
        if (p->connector->source->open_reader(rd->sh->source, w->index, rd->splits, rd->nsplits, &rd->reader, err) != WEIR_OK) {
            rd->reader = NULL;
            return WEIR_ERROR;
        }
    }
    if (restore_ops(w, err) != WEIR_OK) return WEIR_ERROR;
    if (emit_values(w, err) != WEIR_OK) return WEIR_ERROR;
    /* a leaf with nothing to read on this worker has ended here */
    for (int r = 0; r < w->nreaders && !atomic_load(&job->stopping); r++) {
        weir_sql_worker_reader *rd = &w->readers[r];
        if (rd->reader) continue;
        rd->done = true;
        if (rd->leaf->vt->finish(rd->leaf, rd->sub, err) != WEIR_OK) return WEIR_ERROR;
    }
    int64_t next_checkpoint = weir_mono_ms() + job->checkpoint_ms;
    w->last_tick_ms = weir_mono_ms();
    while (!atomic_load(&job->stopping)) {
        if (tick_ops(w, err) != WEIR_OK) return WEIR_ERROR;
        if (job->barriers) {
            if (barrier_step(w, err) != WEIR_OK) return WEIR_ERROR;
            if (w->ckpt_pending || w->ckpt_paused) {
                /* aligning (nothing is read until every instance handled the barrier), or
                 * stopping after a savepoint: only the other workers' messages move */
                if (w->inbox) {
                    if (weir_sql_worker_drain(w, 10, err) < 0) return WEIR_ERROR;
                } else {
                    pthread_mutex_lock(&job->ckpt_lock);
                    struct timespec ts;
                    clock_gettime(CLOCK_MONOTONIC, &ts);
                    ts.tv_nsec += 20 * 1000000L;
                    if (ts.tv_nsec >= 1000000000L) {
                        ts.tv_sec++;
                        ts.tv_nsec -= 1000000000L;
                    }
                    if (!atomic_load(&job->stopping)) pthread_cond_timedwait(&job->ckpt_cond, &job->ckpt_lock, &ts);
                    pthread_mutex_unlock(&job->ckpt_lock);
                }
                continue;
            }
        }
        int active = 0;
        for (int r = 0; r < w->nreaders; r++) {
            weir_sql_worker_reader *rd = &w->readers[r];
            if (rd->done) continue;
            if (limited(rd)) {
                rd->done = true;
                if (rd->leaf->vt->finish(rd->leaf, rd->sub, err) != WEIR_OK) return WEIR_ERROR;
                continue;
            }
            active++;
        }
        /* rows and watermarks from the other workers' exchanges */
        if (w->inbox) {
            if (weir_sql_worker_drain(w, active == 0 ? 50 : 0, err) < 0) return WEIR_ERROR;
            if (active == 0 && weir_sql_worker_exchanges_done(w)) break;
        } else if (active == 0) {
            break;
        }
        for (int r = 0; r < w->nreaders && !atomic_load(&job->stopping); r++) {
            weir_sql_worker_reader *rd = &w->readers[r];
            if (rd->done) continue;
            /* one reader may wait until the next checkpoint; several take turns quickly so
             * an idle source does not hold up a busy one, nor rows waiting in the inbox */
            int64_t left = next_checkpoint - weir_mono_ms();
            int timeout = active > 1 || w->inbox ? 10 : (int)(left < 0 ? 0 : left > 50 ? 50 : left);
            weir_sql_batch_clear(&rd->batch);
            int n = rd->sh->plan->connector->source->read(rd->reader, &rd->batch, WEIR_SQL_READ_ROWS, timeout, err);
            if (n == WEIR_SQL_END) {
                rd->done = true;
                if (rd->leaf->vt->finish(rd->leaf, rd->sub, err) != WEIR_OK) return WEIR_ERROR;
                continue;
            }
            if (n < 0) return WEIR_ERROR;
            bool got = n > 0 && rd->batch.nrows > 0;
            if (got) {
                atomic_fetch_add(&job->rows_in, (uint64_t)rd->batch.nrows);
                if (rd->leaf->vt->push(rd->leaf, rd->sub, &rd->batch, err) != WEIR_OK) return WEIR_ERROR;
            }
            if (job->event_time && weir_sql_scan_tick(rd->leaf, rd->sub, got, weir_mono_ms(), err) != WEIR_OK) return WEIR_ERROR;
        }
        if (!job->ckpt_dir && weir_mono_ms() >= next_checkpoint) {
            if (checkpoint(w, err) != WEIR_OK) return WEIR_ERROR;
            next_checkpoint = weir_mono_ms() + job->checkpoint_ms;
        }
    }
    return WEIR_OK;
}

static void *worker_main(void *arg) {
    weir_sql_worker *w = arg;
    weir_sql_job *job = w->job;
    weir_err err;
    if (worker_run(w, &err) != WEIR_OK) {
        w->failed = true;
        weir_sql_job_fail(job, &err);
    }
    /* the end: a worker that failed commits nothing (its last rows were not written); the
     * others flush and commit what they did, whether the job ended, was stopped or failed
     * elsewhere */
    if (!w->failed && checkpoint(w, &err) != WEIR_OK) weir_sql_job_fail(job, &err);
    /* the state sizes as the run ended (EXPLAIN ANALYZE reads them after the job) */
    for (int k = 0; k < w->nops; k++)
        if (w->ops[k]->shared->state_bytes_w)
            atomic_store_explicit(&w->ops[k]->shared->state_bytes_w[w->index], w->ops[k]->state_bytes,
                                  memory_order_relaxed);
    /* an ended worker takes part in later checkpoints with where its readers stopped */
    if (job->barriers && !w->failed && !atomic_load(&job->stopping)) {
        report_reset(w->final_report, 0);
        if (record_positions(w, w->final_report, &err) != WEIR_OK) weir_sql_job_fail(job, &err);
    }
    pthread_mutex_lock(&job->ckpt_lock);
    atomic_store(&w->exited, true);
    job->nexited++;
    pthread_cond_broadcast(&job->ckpt_cond);
    pthread_mutex_unlock(&job->ckpt_lock);
    for (int r = 0; r < w->nreaders; r++) {
        weir_sql_worker_reader *rd = &w->readers[r];
        if (rd->reader) rd->sh->plan->connector->source->close_reader(rd->reader);
        rd->reader = NULL;
        weir_sql_batch_free(&rd->batch);
    }
    for (int k = w->nops - 1; k >= 0; k--) w->ops[k]->vt->free(w->ops[k]);
    return NULL;
}

static void *supervisor_main(void *arg) {
    weir_sql_job *job = arg;
    int nstarted = 0;
    for (int i = 0; i < job->nworkers; i++) nstarted += job->workers[i].started;
    coordinate(job, nstarted);
    for (int i = 0; i < job->nworkers; i++)
        if (job->workers[i].started) pthread_join(job->workers[i].thread, NULL);
    for (int i = 0; i < job->nworkers; i++) /* what no worker took (the job stopped or failed) */
        if (job->workers[i].inbox) {
            weir_sql_inbox_free(job->workers[i].inbox);
            job->workers[i].inbox = NULL;
        }
    close_shared(job, true);
    pthread_mutex_lock(&job->lock);
    bool failed = job->failed;
    pthread_mutex_unlock(&job->lock);
    if (!failed)
        for (weir_sql_op_shared *sh = job->shared; sh; sh = sh->link)
            if (sh->plan->kind == WEIR_SQL_PLAN_SINK && !sh->plan->table)
                weir_sql_tableau_footer(job, sh, atomic_load(&job->stop_asked));
    pthread_mutex_lock(&job->lock);
    job->ended = true;
    pthread_cond_broadcast(&job->cond);
    pthread_mutex_unlock(&job->lock);
    return NULL;
}

/* ---- the end ------------------------------------------------------------------------------ */

bool weir_sql_job_ended(weir_sql_job *job) {
    pthread_mutex_lock(&job->lock);
    bool e = job->ended;
    pthread_mutex_unlock(&job->lock);
    return e;
}

int weir_sql_job_wait(weir_sql_job *job, weir_err *err) {
    pthread_mutex_lock(&job->lock);
    while (!job->ended) pthread_cond_wait(&job->cond, &job->lock);
    bool failed = job->failed;
    if (failed && err) *err = job->failure;
    pthread_mutex_unlock(&job->lock);
    if (job->supervised) {
        pthread_join(job->supervisor, NULL);
        job->supervised = false;
    }
    return failed ? WEIR_ERROR : WEIR_OK;
}

void weir_sql_job_stats_get(weir_sql_job *job, weir_sql_job_stats *out) {
    out->rows_in = atomic_load(&job->rows_in);
    out->rows_out = atomic_load(&job->rows_out);
    out->skipped = atomic_load(&job->skipped);
    out->dead_lettered = atomic_load(&job->dead_lettered);
    out->late_rows = atomic_load(&job->late_rows);
}

/* ---- watermarks shown to the user ---------------------------------------------------- */

/* "2024-01-31 12:00:05.000" (UTC) for event time us microseconds since the epoch. */
static void put_time(weir_buf *out, int64_t us) {
    int64_t ms = us >= 0 ? us / 1000 : -((-us + 999) / 1000);
    time_t secs = (time_t)(ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000));
    int frac = (int)(ms - (int64_t)secs * 1000);
    struct tm tm;
    char buf[64];
    if (!gmtime_r(&secs, &tm)) {
        snprintf(buf, sizeof buf, "%lld us", (long long)us);
    } else {
        snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%03d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                 tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
    }
    weir_buf_append(out, buf, strlen(buf));
}

static void put_str(weir_buf *out, const char *s) { weir_buf_append(out, s, strlen(s)); }

/* The window operators' watermark: the minimum over the instances that are not idle. */
static void put_window_wm(weir_sql_job *job, weir_buf *out) {
    bool any_window = false, any = false, none = false;
    int64_t min = WEIR_SQL_WM_END;
    for (weir_sql_op_shared *sh = job->shared; sh; sh = sh->link) {
        if (sh->plan->kind != WEIR_SQL_PLAN_WINDOW_AGG || !sh->worker_wm) continue;
        any_window = true;
        for (int i = 0; i < sh->nworker_wm; i++) {
            int64_t v = atomic_load_explicit(&sh->worker_wm[i], memory_order_relaxed);
            if (v == WEIR_SQL_WM_IDLE) continue;
            any = true;
            if (v == WEIR_SQL_WM_NONE) none = true;
            else if (v < min) min = v;
        }
    }
    if (!any_window) return;
    put_str(out, "; window operator: ");
    if (!any) put_str(out, "idle");
    else if (none) put_str(out, "none yet");
    else if (min == WEIR_SQL_WM_END) put_str(out, "end of input");
    else put_time(out, min);
    char buf[64];
    uint64_t late = atomic_load_explicit(&job->late_rows, memory_order_relaxed);
    snprintf(buf, sizeof buf, ", %llu late row%s", (unsigned long long)late, late == 1 ? "" : "s");
    put_str(out, buf);
}

/* A table's watermark is the minimum over its splits that are neither idle nor ended (as
 * the scan computes it); "none yet" while such a split has had no row with event time. */
void weir_sql_job_watermarks(weir_sql_job *job, weir_buf *out, int64_t *min, bool *tracked) {
    if (!atomic_load_explicit(&job->running, memory_order_acquire) || weir_sql_job_ended(job)) return;
    for (weir_sql_op_shared *sh = job->shared; sh; sh = sh->link) {
        const weir_sql_plan *p = sh->plan;
        if (p->kind != WEIR_SQL_PLAN_SCAN || !p->table) continue;
        put_str(out, p->table->name);
        if (!p->watermark) {
            put_str(out, ": no WATERMARK\n");
            continue;
        }
        if (!job->event_time || !sh->split_wm) {
            put_str(out, job->event_time ? ": watermark none (no splits)\n"
                                         : ": watermark not generated (no window operator in the job)\n");
            continue;
        }
        *tracked = true;
        int nidle = 0, nended = 0;
        bool active = false, none = false;
        int64_t m = WEIR_SQL_WM_END;
        for (int k = 0; k < sh->nsplits; k++) {
            int64_t v = atomic_load_explicit(&sh->split_wm[k], memory_order_relaxed);
            bool idle = atomic_load_explicit(&sh->split_idle[k], memory_order_relaxed);
            if (v == WEIR_SQL_WM_END) {
                nended++;
                continue;
            }
            if (idle) {
                nidle++;
                continue;
            }
            active = true;
            if (v == WEIR_SQL_WM_NONE) none = true;
            else if (v < m) m = v;
        }
        put_str(out, ": watermark ");
        if (nended == sh->nsplits) put_str(out, "end of input");
        else if (!active) put_str(out, "idle");
        else if (none) put_str(out, "none yet");
        else {
            put_time(out, m);
            if (m < *min) *min = m;
        }
        char buf[96];
        int n = snprintf(buf, sizeof buf, " (%d split%s, %d idle", sh->nsplits, sh->nsplits == 1 ? "" : "s", nidle);
        if (nended > 0 && nended < sh->nsplits) snprintf(buf + n, sizeof buf - (size_t)n, ", %d ended)", nended);
        else snprintf(buf + n, sizeof buf - (size_t)n, ")");
        put_str(out, buf);
        put_window_wm(job, out);
        put_str(out, "\n");
    }
}

void weir_sql_job_free(weir_sql_job *job) {
    if (!job) return;
    if (job->workers || job->supervised) weir_sql_job_wait(job, NULL);
    close_shared(job, false);
    for (int i = 0; job->workers && i < job->nworkers; i++) {
        report_free(job->workers[i].report);
        report_free(job->workers[i].final_report);
    }
    pthread_mutex_destroy(&job->lock);
    pthread_cond_destroy(&job->cond);
    pthread_mutex_destroy(&job->ckpt_lock);
    pthread_cond_destroy(&job->ckpt_cond);
    weir_arena_free(&job->arena);
    free(job);
}

int64_t weir_sql_job_state_ttl_ms(const weir_sql_job *job) {
    const char *v = weir_sql_job_config(job, "table.exec.state.ttl");
    int64_t ms = 0;
    if (!v || !weir_sql_parse_duration_ms(v, &ms) || ms < 0) return 0;
    return ms;
}
