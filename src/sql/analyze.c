/* analyze.c — EXPLAIN ANALYZE (Weir's extension, not Flink's): the physical plan as EXPLAIN
 * prints it, each operator followed by a line of what its instances did while the job ran
 * (rows emitted, watermark, state held), then a runtime summary of the job (how it ended,
 * rows read and written, late rows, bad records). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sql/engine_internal.h"
#include "sql/plan_internal.h"
#include "sql/window_internal.h"

static void outs(weir_buf *b, const char *s) { weir_buf_append(b, s, strlen(s)); }

bool weir_sql_stmt_is_explain_analyze(const weir_sql_stmt *stmt) {
    if (!stmt || stmt->kind != WEIR_SQL_STMT_EXPLAIN) return false;
    for (int k = 0; k < stmt->nexplain_details; k++)
        if (strcmp(stmt->explain_details[k], "ANALYZE") == 0) return true;
    return false;
}

/* Event time (microseconds since the epoch) as "2024-01-31 12:00:05.000" (UTC), or what a
 * watermark sentinel means. */
static void put_wm(weir_buf *b, int64_t us) {
    if (us == WEIR_SQL_WM_NONE) {
        outs(b, "none yet");
        return;
    }
    if (us == WEIR_SQL_WM_END) {
        outs(b, "end of input");
        return;
    }
    if (us == WEIR_SQL_WM_IDLE) {
        outs(b, "idle");
        return;
    }
    int64_t ms = us >= 0 ? us / 1000 : -((-us + 999) / 1000);
    time_t secs = (time_t)(ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000));
    int frac = (int)(ms - (int64_t)secs * 1000);
    struct tm tm;
    char buf[64];
    if (!gmtime_r(&secs, &tm)) snprintf(buf, sizeof buf, "%" PRId64 " us", us);
    else
        snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%03d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                 tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
    outs(b, buf);
}

/* Bytes the way a person reads them: 512 B, 12.3 KiB, 1.02 GiB. */
static void put_bytes(weir_buf *b, int64_t n) {
    char buf[48];
    const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)(n < 0 ? 0 : n);
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    if (u == 0) snprintf(buf, sizeof buf, "%" PRId64 " B", n < 0 ? 0 : n);
    else snprintf(buf, sizeof buf, "%.*f %s", v < 10 ? 2 : v < 100 ? 1 : 0, v, units[u]);
    outs(b, buf);
}

static bool stateful_kind(weir_sql_plan_kind k) {
    return k == WEIR_SQL_PLAN_WINDOW_AGG || k == WEIR_SQL_PLAN_GROUP_AGG || k == WEIR_SQL_PLAN_RANK ||
           k == WEIR_SQL_PLAN_OVER_AGG || k == WEIR_SQL_PLAN_JOIN || k == WEIR_SQL_PLAN_INTERVAL_JOIN;
}

static weir_sql_op_shared *shared_of(weir_sql_job *job, const weir_sql_plan *p) {
    for (weir_sql_op_shared *sh = job->shared; sh; sh = sh->link)
        if (sh->plan == p) return sh;
    return NULL;
}

/* A source's watermark: the minimum over its splits that are neither idle nor ended, from
 * what the scan publishes per split (atomics: readable while the job runs). */
static void scan_wm(weir_buf *b, const weir_sql_op_shared *sh) {
    int nidle = 0, nended = 0;
    bool active = false, none = false;
    int64_t m = WEIR_SQL_WM_END;
    for (int k = 0; k < sh->nsplits; k++) {
        int64_t v = atomic_load_explicit(&sh->split_wm[k], memory_order_relaxed);
        if (v == WEIR_SQL_WM_END) {
            nended++;
            continue;
        }
        if (atomic_load_explicit(&sh->split_idle[k], memory_order_relaxed)) {
            nidle++;
            continue;
        }
        active = true;
        if (v == WEIR_SQL_WM_NONE) none = true;
        else if (v < m) m = v;
    }
    outs(b, "watermark=[");
    if (nended == sh->nsplits) outs(b, "end of input");
    else if (!active) outs(b, "idle");
    else put_wm(b, none ? WEIR_SQL_WM_NONE : m);
    char buf[96];
    snprintf(buf, sizeof buf, " (%d split%s, %d idle, %d ended)]", sh->nsplits, sh->nsplits == 1 ? "" : "s", nidle,
             nended);
    outs(b, buf);
}

/* An operator's watermark: the minimum over its instances that are not idle. Window
 * operators publish theirs per worker (atomics); the others' are read from the instances,
 * which only the worker threads touch while the job runs, so only once it has ended. */
static bool op_wm(weir_sql_job *job, const weir_sql_op_shared *sh, bool ended, int64_t *out) {
    bool any = false, seen = false, none = false;
    int64_t m = WEIR_SQL_WM_END;
    if (sh->worker_wm) {
        for (int i = 0; i < sh->nworker_wm; i++) {
            int64_t v = atomic_load_explicit(&sh->worker_wm[i], memory_order_relaxed);
            seen = true;
            if (v == WEIR_SQL_WM_IDLE) continue;
            any = true;
            if (v == WEIR_SQL_WM_NONE) none = true;
            else if (v < m) m = v;
        }
    } else if (ended) {
        for (int w = 0; w < job->nworkers; w++)
            for (int k = 0; k < job->workers[w].nops; k++) {
                const weir_sql_op *op = job->workers[w].ops[k];
                if (op->plan != sh->plan) continue;
                if (op->out_wm == WEIR_SQL_WM_NONE && !op->out_idle) {
                    none = true; /* an instance that never saw event time */
                    any = true;
                    continue;
                }
                seen = true;
                if (op->out_idle) continue;
                any = true;
                if (op->out_wm < m) m = op->out_wm;
            }
        if (!seen) return false; /* no instance ever had a watermark: event time does not reach it */
    }
    if (!seen) return false;
    *out = !any ? WEIR_SQL_WM_IDLE : none ? WEIR_SQL_WM_NONE : m;
    return true;
}

/* The figures line of one node: rows it emitted (a sink: rows it was given), its
 * watermark where event time is tracked, and for stateful operators the state their
 * instances hold (see below). */
static void node_stats(weir_buf *b, weir_sql_job *job, const weir_sql_plan *p, bool ended) {
    weir_sql_op_shared *sh = shared_of(job, p);
    char num[64];
    uint64_t rows = 0;
    if (p->kind == WEIR_SQL_PLAN_SINK) {
        for (int i = 0; i < p->ninputs; i++) {
            weir_sql_op_shared *in = shared_of(job, p->inputs[i]);
            if (in) rows += atomic_load_explicit(&in->rows_out, memory_order_relaxed);
        }
    } else if (sh) {
        rows = atomic_load_explicit(&sh->rows_out, memory_order_relaxed);
    }
    snprintf(num, sizeof num, "rows=[%" PRIu64 "]", rows);
    outs(b, num);
    if (!sh) {
        outs(b, " (never ran)");
        return;
    }
    if (job->event_time) {
        int64_t wm;
        if (p->kind == WEIR_SQL_PLAN_SCAN && sh->split_wm && sh->nsplits > 0) {
            outs(b, ", ");
            scan_wm(b, sh);
        } else if (p->kind != WEIR_SQL_PLAN_SINK && op_wm(job, sh, ended, &wm)) {
            outs(b, ", watermark=[");
            put_wm(b, wm);
            outs(b, "]");
        }
    }
    if (stateful_kind(p->kind)) {
        /* the engine publishes each instance's state_bytes per worker every 50 ms or so
         * (relaxed atomics, for the memory cap): readable while the job runs. The
         * instances' own counters are read only once the job has ended; an operator's
         * free() may have zeroed its own, hence the larger of the two: about what the
         * operator held when the run ended (before a bounded job's last windows fired). */
        int64_t pub = 0, own = 0;
        int n = 0;
        if (sh->state_bytes_w)
            for (int w = 0; w < job->nworkers; w++) pub += atomic_load_explicit(&sh->state_bytes_w[w], memory_order_relaxed);
        for (int w = 0; w < job->nworkers; w++)
            for (int k = 0; k < job->workers[w].nops; k++)
                if (job->workers[w].ops[k]->plan == p) {
                    if (ended) own += job->workers[w].ops[k]->state_bytes;
                    n++;
                }
        if (sh->state_bytes_w || ended) {
            outs(b, ", state=[");
            put_bytes(b, pub > own ? pub : own);
            snprintf(num, sizeof num, " in %d instance%s]", n, n == 1 ? "" : "s");
            outs(b, num);
        }
    }
}

typedef struct analyze_ctx {
    weir_sql_job *job;
    bool ended;
} analyze_ctx;

/* explain.c's tree, with each node's figures on the line below it, indented under the
 * node (a ':' in the node's column when its inputs follow). */
static void node_stats_line(weir_buf *b, const weir_sql_plan *p, const weir_buf *lead, void *ctx) {
    const analyze_ctx *a = ctx;
    if (lead->len) weir_buf_append(b, lead->data, lead->len);
    outs(b, p->ninputs ? ":  " : "   ");
    node_stats(b, a->job, p, a->ended);
    outs(b, "\n");
}

void weir_sql_job_analyze(weir_sql_job *job, weir_buf *out) {
    /* ended (read under the job's lock, set after every worker was joined): the instances'
     * own fields are safe to read; before that only the published atomics are */
    bool ended = weir_sql_job_ended(job);
    bool running = atomic_load_explicit(&job->running, memory_order_acquire);
    if (!running) {
        /* never started, or start failed: the workers and the nodes' shared state may be
         * half made (or in the making on the start thread); the plan alone is safe */
        if (job->roots && job->nroots > 0) weir_sql_plan_explain(out, job->roots, job->nroots);
        outs(out, "\n== Runtime ==\nnot started\n");
        return;
    }
    outs(out, "== Physical Plan (analyzed) ==\n");
    weir_buf lead;
    weir_buf_init(&lead);
    for (int k = 0; k < job->nroots; k++) {
        if (k) outs(out, "\n");
        lead.len = 0;
        weir_sql_plan_print_tree(out, job->roots[k], &lead, node_stats_line, &(analyze_ctx){job, ended});
    }
    weir_buf_free(&lead);

    outs(out, "\n== Runtime ==\n");
    pthread_mutex_lock(&job->lock);
    bool failed = job->failed;
    weir_err failure = job->failure;
    pthread_mutex_unlock(&job->lock);
    char buf[256];
    if (!ended) outs(out, "running");
    else if (failed) {
        outs(out, "failed: ");
        outs(out, failure.msg);
    } else if (atomic_load(&job->stop_asked)) outs(out, "stopped");
    else outs(out, "finished (every source ended)");
    snprintf(buf, sizeof buf, "; %d worker%s\n", job->nworkers, job->nworkers == 1 ? "" : "s");
    outs(out, buf);
    weir_sql_job_stats st;
    weir_sql_job_stats_get(job, &st);
    snprintf(buf, sizeof buf,
             "rows read: %" PRIu64 ", rows written: %" PRIu64 ", late rows: %" PRIu64 ", bad records skipped: %" PRIu64
             ", dead-lettered: %" PRIu64 "\n",
             st.rows_in, st.rows_out, st.late_rows, st.skipped, st.dead_lettered);
    outs(out, buf);
}
