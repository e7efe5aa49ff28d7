/* engine_ckpt.c — the engine's checkpoints (engine.c runs the job; checkpoint.c writes
 * and reads the files): barriers on the workers, the coordinator on the supervisor thread,
 * the checkpoint API, the memory cap, and the configuration and restore at job start. */
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

void weir_sql_ckpt_report_reset(weir_sql_ckpt_report *r, int64_t n) {
    r->n = n;
    r->bytes.len = 0;
    r->npos = r->nfiles = 0;
    r->state_bytes = r->file_bytes = 0;
}

void weir_sql_ckpt_report_free(weir_sql_ckpt_report *r) {
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
    if (w->report) weir_sql_ckpt_report_reset(w->report, n); /* (none: a worker built by a unit test) */
}

/* Where every reader stands in each of its splits (and the split's watermark). */
int weir_sql_worker_record_positions(weir_sql_worker *w, weir_sql_ckpt_report *r, weir_err *err) {
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
int weir_sql_worker_barrier_step(weir_sql_worker *w, weir_err *err) {
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
        if (weir_sql_worker_record_positions(w, w->report, err) != WEIR_OK) return WEIR_ERROR;
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
int weir_sql_worker_tick(weir_sql_worker *w, weir_err *err) {
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

int weir_sql_worker_restore(weir_sql_worker *w, weir_err *err) {
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
void weir_sql_job_coordinate(weir_sql_job *job, int nstarted) {
    int64_t next_due = weir_mono_ms() + job->checkpoint_ms;
    pthread_mutex_lock(&job->ckpt_lock);
    while (job->nexited < nstarted) {
        struct timespec ts;
        weir_sql_deadline_in(&ts, 100);
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
    uint64_t h1 = WEIR_FNV1A64_INIT, h2 = 0x84222325cbf29ce4ull;
    if (name) {
        h1 = weir_fnv1a64(h1, name, strlen(name));
        h2 = weir_fnv1a64(h2, name, strlen(name));
    } else {
        for (int k = 0; k < job->nroots; k++) {
            h1 = weir_fnv1a64(h1, job->roots[k]->id, 16);
            h2 = weir_fnv1a64(h2, job->roots[k]->id, 16);
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
    weir_sql_job_shared_of(job, p)->occurrence = occ;
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
int weir_sql_job_setup_checkpoints(weir_sql_job *job, weir_err *err) {
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
            const weir_sql_op_vtab *vt = weir_sql_plan_vtab(p);
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

