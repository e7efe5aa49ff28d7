/* exchange.c — the keyed exchange: splits the rows after it over the workers by the hash of
 * its key columns (no keys: everything to worker 0), so each key's state lives on one
 * worker. Senders append batches to the receiving worker's inbox (bounded: a sender waits
 * while it is full, delivering its own inbox meanwhile so two full workers cannot wait on
 * each other); watermarks and the end go to every worker, and a receiver forwards the
 * minimum watermark over the senders that are not idle, and the end once all ended.
 * Checkpoint barriers go to every worker too; a receiver forwards barrier N once every
 * sender sent it (or ended) and holds back what a sender sent after its barrier until the
 * worker has finished N (aligned checkpoints, as Flink's). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sql/window_internal.h"

typedef struct exchange_state {
    /* sending side */
    weir_sql_batch *staged;   /* per receiving worker */
    int nstaged;
    weir_buf key;
    /* receiving side: per sender, its last watermark and whether it ended */
    int64_t *sender_wm;
    bool *sender_idle;
    bool *sender_done;
    int ndone;
    /* checkpoints: per sender the last barrier it sent, the last barrier forwarded, and
     * the messages held back (in arrival order) */
    int64_t *sender_barrier;
    int64_t barrier_out;
    weir_sql_xmsg *held, *held_tail;
} exchange_state;


void weir_sql_inbox_init(weir_sql_inbox *in) {
    memset(in, 0, sizeof *in);
    pthread_mutex_init(&in->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&in->cond, &ca);
    pthread_condattr_destroy(&ca);
}

static void msg_free(weir_sql_xmsg *m) {
    if ((int)m->kind == WEIR_SQL_XMSG_BATCH) weir_sql_batch_free(&m->batch);
    free(m);
}

void weir_sql_inbox_free(weir_sql_inbox *in) {
    for (weir_sql_xmsg *m = in->head, *next; m; m = next) {
        next = m->next;
        msg_free(m);
    }
    pthread_mutex_destroy(&in->lock);
    pthread_cond_destroy(&in->cond);
}

void weir_sql_deadline_in(struct timespec *ts, int ms) {
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Appends m to worker `to`'s inbox; a batch waits while the inbox is full (delivering the
 * sender's own inbox meanwhile), unless the job is stopping. */
static int send_msg(weir_sql_op *op, int to, weir_sql_xmsg *m, weir_err *err) {
    weir_sql_worker *self = op->worker;
    weir_sql_job *job = self->job;
    weir_sql_inbox *in = job->workers[to].inbox;
    /* A sender that is itself delivering its inbox (rows of an exchange further down
     * that feed this one: cascaded windows) cannot drain while it waits, and two such
     * senders could wait on each other for ever: it goes over the bound instead (that
     * traffic is aggregated rows, far less than the source's). */
    if (m->kind == WEIR_SQL_XMSG_BATCH && to != self->index && !self->draining) {
        for (;;) {
            pthread_mutex_lock(&in->lock);
            bool full = in->nbatches >= WEIR_SQL_INBOX_CAP;
            pthread_mutex_unlock(&in->lock);
            if (!full || atomic_load(&job->stopping)) break;
            if (weir_sql_worker_drain(self, 0, err) < 0) {
                msg_free(m);
                return WEIR_ERROR;
            }
            pthread_mutex_lock(&in->lock);
            if (in->nbatches >= WEIR_SQL_INBOX_CAP) {
                struct timespec ts;
                weir_sql_deadline_in(&ts, 5);
                pthread_cond_timedwait(&in->cond, &in->lock, &ts);
            }
            pthread_mutex_unlock(&in->lock);
        }
    }
    m->next = NULL;
    pthread_mutex_lock(&in->lock);
    if (in->tail) in->tail->next = m;
    else in->head = m;
    in->tail = m;
    if (m->kind == WEIR_SQL_XMSG_BATCH) in->nbatches++;
    pthread_cond_broadcast(&in->cond);
    pthread_mutex_unlock(&in->lock);
    return WEIR_OK;
}

static weir_sql_xmsg *new_msg(weir_sql_op *op, int kind, int64_t ts) {
    weir_sql_xmsg *m = calloc(1, sizeof *m);
    if (!m) abort();
    m->kind = kind;
    m->exchange = op->shared->exchange;
    m->sender = op->worker->index;
    m->ts = ts;
    return m;
}

static int exchange_init(weir_sql_op *op, weir_err *err) {
    exchange_state *st = calloc(1, sizeof *st);
    if (!st) abort();
    op->state = st;
    int nw = op->worker->job->nworkers;
    const weir_sql_plan *in = op->plan->inputs[0];
    st->staged = calloc((size_t)nw, sizeof *st->staged);
    st->sender_wm = calloc((size_t)nw, sizeof *st->sender_wm);
    st->sender_done = calloc((size_t)nw, sizeof *st->sender_done);
    st->sender_idle = calloc((size_t)nw, sizeof *st->sender_idle);
    st->sender_barrier = calloc((size_t)nw, sizeof *st->sender_barrier);
    if (!st->staged || !st->sender_wm || !st->sender_done || !st->sender_idle || !st->sender_barrier) abort();
    weir_buf_init(&st->key);
    for (int i = 0; i < nw; i++) st->sender_wm[i] = WEIR_SQL_WM_NONE;
    for (int i = 0; i < nw; i++) {
        if (weir_sql_batch_init(&st->staged[i], in->cols, in->ncols, 256, err) != WEIR_OK) return WEIR_ERROR;
        st->nstaged = i + 1;
    }
    return WEIR_OK;
}

/* Sends worker `to`'s staged rows as one batch (the message takes the batch). */
static int send_staged(weir_sql_op *op, int to, weir_err *err) {
    exchange_state *st = op->state;
    if (st->staged[to].nrows == 0) return WEIR_OK;
    const weir_sql_plan *in = op->plan->inputs[0];
    weir_sql_xmsg *m = new_msg(op, WEIR_SQL_XMSG_BATCH, 0);
    m->batch = st->staged[to];
    if (weir_sql_batch_init(&st->staged[to], in->cols, in->ncols, 256, err) != WEIR_OK) {
        st->staged[to] = m->batch;
        free(m);
        return WEIR_ERROR;
    }
    return send_msg(op, to, m, err);
}

static int exchange_push(weir_sql_op *op, int input, const weir_sql_batch *b, weir_err *err) {
    (void)input;
    exchange_state *st = op->state;
    const weir_sql_plan *p = op->plan;
    int nw = op->worker->job->nworkers;
    if (p->nkeys == 0 || nw == 1) { /* one receiver: the batch as it is */
        weir_sql_batch_append_rows(&st->staged[0], b, 0, b->nrows);
        return send_staged(op, 0, err);
    }
    for (int r = 0; r < b->nrows; r++) {
        int to = 0;
        st->key.len = 0;
        weir_sql_row_key(&st->key, b, r, p->keys, p->nkeys);
        /* the high half picks the worker: the receivers' hash tables index by the low bits,
         * which would otherwise be alike for every key a worker gets */
        to = (int)((weir_sql_hash_bytes(st->key.data, st->key.len) >> 32) % (uint64_t)nw);
        weir_sql_batch_append_rows(&st->staged[to], b, r, 1);
        if (st->staged[to].nrows >= WEIR_SQL_READ_ROWS && send_staged(op, to, err) != WEIR_OK) return WEIR_ERROR;
    }
    for (int i = 0; i < nw; i++)
        if (send_staged(op, i, err) != WEIR_OK) return WEIR_ERROR;
    return WEIR_OK;
}

/* The sending side's watermark (already the minimum over its inputs) goes to every
 * receiver, after the rows staged before it. */
static int exchange_watermark(weir_sql_op *op, int input, int64_t ts, weir_err *err) {
    (void)input;
    int nw = op->worker->job->nworkers;
    for (int i = 0; i < nw; i++)
        if (send_staged(op, i, err) != WEIR_OK || send_msg(op, i, new_msg(op, WEIR_SQL_XMSG_WATERMARK, ts), err) != WEIR_OK)
            return WEIR_ERROR;
    return WEIR_OK;
}

static int exchange_finish(weir_sql_op *op, int input, weir_err *err) {
    (void)input;
    int nw = op->worker->job->nworkers;
    for (int i = 0; i < nw; i++)
        if (send_staged(op, i, err) != WEIR_OK || send_msg(op, i, new_msg(op, WEIR_SQL_XMSG_FINISH, 0), err) != WEIR_OK)
            return WEIR_ERROR;
    return WEIR_OK;
}

/* The receiving side: the minimum watermark over the senders that are neither idle nor
 * ended, forwarded when it advances. When the last active sender goes idle, the maximum of
 * the senders' last watermarks goes out before the idleness (as Flink's watermark valve
 * does), so the windows an idle sender was the last to hold back still fire. */
static int receive_watermark(weir_sql_op *op, int sender, int64_t ts, weir_err *err) {
    exchange_state *st = op->state;
    return weir_sql_op_watermark_valve(op, st->sender_wm, st->sender_idle, op->worker->job->nworkers, sender, ts, err);
}

int weir_sql_exchange_barrier(weir_sql_op *op, int64_t n, weir_err *err) {
    int nw = op->worker->job->nworkers;
    for (int i = 0; i < nw; i++)
        if (send_staged(op, i, err) != WEIR_OK || send_msg(op, i, new_msg(op, WEIR_SQL_XMSG_BARRIER, n), err) != WEIR_OK)
            return WEIR_ERROR;
    return WEIR_OK;
}

/* Forwards the newest barrier once every sender that has not ended sent it. */
static int forward_barrier(weir_sql_op *op, weir_err *err) {
    exchange_state *st = op->state;
    int nw = op->worker->job->nworkers;
    int64_t n = 0;
    for (int i = 0; i < nw; i++)
        if (st->sender_barrier[i] > n) n = st->sender_barrier[i];
    if (n <= st->barrier_out) return WEIR_OK;
    for (int i = 0; i < nw; i++)
        if (!st->sender_done[i] && st->sender_barrier[i] < n) return WEIR_OK;
    st->barrier_out = n;
    weir_sql_worker_barrier_handled(op->worker, n);
    if (!op->next) return WEIR_OK;
    return weir_sql_op_barrier(op->next, op->next_input, n, err);
}

static int receive(weir_sql_op *op, weir_sql_xmsg *m, weir_err *err) {
    exchange_state *st = op->state;
    switch (m->kind) {
    case WEIR_SQL_XMSG_BARRIER:
        if (m->ts > st->sender_barrier[m->sender]) st->sender_barrier[m->sender] = m->ts;
        return forward_barrier(op, err);
    case WEIR_SQL_XMSG_BATCH: return weir_sql_op_emit(op, &m->batch, err);
    case WEIR_SQL_XMSG_WATERMARK: return receive_watermark(op, m->sender, m->ts, err);
    case WEIR_SQL_XMSG_FINISH:
        if (st->sender_done[m->sender]) return WEIR_OK;
        st->sender_done[m->sender] = true;
        st->ndone++;
        if (receive_watermark(op, m->sender, WEIR_SQL_WM_END, err) != WEIR_OK) return WEIR_ERROR;
        if (forward_barrier(op, err) != WEIR_OK) return WEIR_ERROR; /* it waited for this sender */
        if (st->ndone < op->worker->job->nworkers || !op->next) return WEIR_OK;
        return op->next->vt->finish(op->next, op->next_input, err);
    }
    return WEIR_OK;
}

int weir_sql_worker_drain(weir_sql_worker *w, int wait_ms, weir_err *err) {
    weir_sql_inbox *in = w->inbox;
    if (!in || w->draining) return 0;
    pthread_mutex_lock(&in->lock);
    if (!in->head && wait_ms > 0) {
        struct timespec ts;
        weir_sql_deadline_in(&ts, wait_ms);
        pthread_cond_timedwait(&in->cond, &in->lock, &ts);
    }
    weir_sql_xmsg *list = in->head;
    in->head = in->tail = NULL;
    in->nbatches = 0;
    if (list) pthread_cond_broadcast(&in->cond); /* room for waiting senders */
    pthread_mutex_unlock(&in->lock);
    int n = 0, rc = WEIR_OK;
    w->draining = true;
    for (weir_sql_xmsg *m = list, *next; m; m = next) {
        next = m->next;
        if (rc == WEIR_OK && !atomic_load(&w->job->stopping)) {
            weir_sql_op *op = w->exchanges[m->exchange];
            exchange_state *st = op->state;
            /* aligned: after a sender's barrier, its messages wait until this worker has
             * finished that checkpoint */
            if (st->sender_barrier[m->sender] > w->ckpt_released) {
                m->next = NULL;
                if (st->held_tail) st->held_tail->next = m;
                else st->held = m;
                st->held_tail = m;
                n++;
                continue;
            }
            rc = receive(op, m, err);
        }
        msg_free(m);
        n++;
    }
    w->draining = false;
    return rc == WEIR_OK ? n : WEIR_ERROR;
}

int weir_sql_exchange_release(weir_sql_op *op, weir_err *err) {
    exchange_state *st = op->state;
    if (!st) return WEIR_OK;
    weir_sql_xmsg *list = st->held;
    st->held = st->held_tail = NULL;
    int rc = WEIR_OK;
    for (weir_sql_xmsg *m = list, *next; m; m = next) {
        next = m->next;
        if (rc == WEIR_OK && !atomic_load(&op->worker->job->stopping)) {
            /* a sender already past the next barrier stays held back */
            if (st->sender_barrier[m->sender] > op->worker->ckpt_released) {
                m->next = NULL;
                if (st->held_tail) st->held_tail->next = m;
                else st->held = m;
                st->held_tail = m;
                continue;
            }
            rc = receive(op, m, err);
        }
        msg_free(m);
    }
    return rc;
}

bool weir_sql_worker_exchanges_done(const weir_sql_worker *w) {
    for (int k = 0; k < w->job->nexchanges; k++) {
        const exchange_state *st = w->exchanges[k]->state;
        if (!st || st->ndone < w->job->nworkers) return false;
    }
    return true;
}

static void exchange_free(weir_sql_op *op) {
    exchange_state *st = op->state;
    if (!st) return;
    for (int i = 0; i < st->nstaged; i++) weir_sql_batch_free(&st->staged[i]);
    free(st->staged);
    free(st->sender_wm);
    free(st->sender_done);
    free(st->sender_idle);
    free(st->sender_barrier);
    for (weir_sql_xmsg *m = st->held, *next; m; m = next) {
        next = m->next;
        msg_free(m);
    }
    weir_buf_free(&st->key);
    free(st);
    op->state = NULL;
}

const weir_sql_op_vtab weir_sql_op_exchange = {
    .name = "exchange",
    .init = exchange_init,
    .push = exchange_push,
    .watermark = exchange_watermark,
    .finish = exchange_finish,
    .flush = NULL,
    .free = exchange_free,
};
