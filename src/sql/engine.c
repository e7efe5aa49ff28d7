/* engine.c — runs a job: opens the plan's sources and sinks, spreads the sources' splits
 * over W worker threads, gives each worker its own instance of the operator chain (op_*.c)
 * and runs the worker loop (read, push, stop on request or failure). Every checkpoint
 * interval either each worker flushes its sinks and commits its sources, or, with
 * 'state.checkpoints.dir', the supervisor coordinates aligned checkpoints of sources and
 * operator state (engine_ckpt.c), restores from the latest one at start, takes a savepoint
 * when stopped with one, and enforces 'state.memory.limit'. Also the job services
 * connectors call (sql.h). */
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

const weir_sql_op_vtab *weir_sql_plan_vtab(const weir_sql_plan *p) {
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
weir_sql_op_shared *weir_sql_job_shared_of(weir_sql_job *job, const weir_sql_plan *p) {
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
    weir_sql_op_shared *sh = weir_sql_job_shared_of(job, p);
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
    weir_sql_op_shared *sh = weir_sql_job_shared_of(job, p);
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
    op->vt = weir_sql_plan_vtab(p);
    op->plan = p;
    op->id = p->id;
    op->worker = w;
    op->next = next;
    op->next_input = next_input;
    op->shared = weir_sql_job_shared_of(job, p);
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
    if (weir_sql_job_setup_checkpoints(job, err) != WEIR_OK) {
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
     * complete (weir_sql_worker_barrier_step) */
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
    if (weir_sql_worker_restore(w, err) != WEIR_OK) return WEIR_ERROR;
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
        if (weir_sql_worker_tick(w, err) != WEIR_OK) return WEIR_ERROR;
        if (job->barriers) {
            if (weir_sql_worker_barrier_step(w, err) != WEIR_OK) return WEIR_ERROR;
            if (w->ckpt_pending || w->ckpt_paused) {
                /* aligning (nothing is read until every instance handled the barrier), or
                 * stopping after a savepoint: only the other workers' messages move */
                if (w->inbox) {
                    if (weir_sql_worker_drain(w, 10, err) < 0) return WEIR_ERROR;
                } else {
                    pthread_mutex_lock(&job->ckpt_lock);
                    struct timespec ts;
                    weir_sql_deadline_in(&ts, 20);
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
        weir_sql_ckpt_report_reset(w->final_report, 0);
        if (weir_sql_worker_record_positions(w, w->final_report, &err) != WEIR_OK) weir_sql_job_fail(job, &err);
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
    weir_sql_job_coordinate(job, nstarted);
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
        weir_sql_ckpt_report_free(job->workers[i].report);
        weir_sql_ckpt_report_free(job->workers[i].final_report);
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
