/* wal.c — the produce path. Appends collect per partition; a seal assigns offsets to
 * every pending batch (rewriting base offsets, setting LogAppendTime) and hands one WAL
 * object to the storage thread, which makes it durable and commits its ranges and the
 * new high watermarks in one metadata transaction. Only then do the waiting produce
 * requests get their answer. One flush is in flight at a time, so a failed flush can
 * roll offsets back without leaving gaps; the next buffer fills meanwhile (group commit). */
#include "log/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct flush_part {
    weir_topic *t; /* referenced for the flight */
    int32_t partition;
    int64_t base, end, max_ts;
    int64_t pos;
    weir_buf data;
    weir_append *appends;
} flush_part;

typedef struct flush_job {
    weir_job j;
    int64_t object_id;
    char key[96];
    flush_part *parts;
    int nparts;
    int64_t size;
    int rc;
    weir_err err;
    int64_t started_us;
    weir_meta_producer *producers; /* state of the idempotent producers this object touches */
    int nproducers, capproducers;
} flush_job;

static void waiter_done_one(weir_log_waiter *w) {
    if (!w) return;
    if (--w->pending == 0 && w->armed) w->done(w);
}

void weir_log_waiter_arm(weir_log *log, weir_log_waiter *w) {
    (void)log;
    w->armed = true;
    if (w->pending == 0) w->done(w);
}

static void fail_appends(weir_partition *p, weir_append *a, int16_t error) {
    while (a) {
        weir_append *next = a->next;
        if (a->res) a->res->error = error;
        if (a->idempotent || a->dups) weir_producer_failed(p, a, error);
        waiter_done_one(a->w);
        free(a);
        a = next;
    }
}

static void flush_maybe(weir_log *log);

/* After a failed flush, a producer's batches still waiting in the buffer follow batches
 * that were never written: they fail too (the producer retries them all, in order)
 * instead of being written after a sequence gap. Their bytes leave the buffer. */
static void fail_pending_of_producer(weir_log *log, weir_partition *p, int64_t producer_id, int16_t error) {
    weir_append *failed = NULL, **failed_tail = &failed, *kept_tail = NULL;
    weir_append **pa = &p->appends_head;
    size_t w = 0;
    while (*pa) {
        weir_append *a = *pa;
        if (a->idempotent && a->producer_id == producer_id) {
            *pa = a->next;
            a->next = NULL;
            *failed_tail = a;
            failed_tail = &a->next;
            continue;
        }
        if (a->off != w) memmove(p->pending.data + w, p->pending.data + a->off, a->len);
        a->off = w;
        w += a->len;
        kept_tail = a;
        pa = &a->next;
    }
    if (!failed) return;
    p->appends_tail = kept_tail;
    log->pending_bytes -= (int64_t)(p->pending.len - w);
    p->pending.len = w;
    if (!p->appends_head && p->dirty) { /* nothing left to seal for this partition */
        for (weir_partition **pp = &log->dirty_head; *pp; pp = &(*pp)->dirty_next) {
            if (*pp == p) {
                *pp = p->dirty_next;
                break;
            }
        }
        p->dirty = false;
    }
    fail_appends(p, failed, error);
}

static void flush_timer_fire(void *arg) {
    weir_log *log = arg;
    log->flush_timer = NULL;
    flush_maybe(log);
}

void weir_log_append(weir_log *log, weir_partition *p, const uint8_t *data, size_t len,
                     const weir_batch_info *infos, int ninfos, weir_log_waiter *w, weir_append_result *res) {
    bool idempotent = false;
    for (int i = 0; i < ninfos; i++) idempotent |= infos[i].producer_id >= 0;
    if (idempotent) {
        /* A retry of batches already appended is answered from them; a bad sequence or
         * epoch is refused; neither is written. */
        weir_append *dup_of;
        int64_t dup_offset;
        int16_t error = weir_producer_check(p, infos, ninfos, &dup_of, &dup_offset);
        if (error || dup_of || dup_offset >= 0) {
            if (res) {
                res->error = error;
                res->base_offset = error ? -1 : dup_offset;
                res->log_append_time = -1;
                res->log_start = p->log_start;
            }
            if (dup_of) weir_producer_dup(dup_of, infos[0].base_sequence, w, res);
            return;
        }
    }
    weir_append *a = calloc(1, sizeof *a);
    if (!a) abort();
    a->off = p->pending.len;
    a->len = len;
    a->w = w;
    a->res = res;
    if (res) {
        res->error = 0;
        res->base_offset = -1;
        res->log_append_time = -1;
        res->log_start = p->log_start;
    }
    if (w) w->pending++;
    weir_buf_append(&p->pending, data, len);
    if (idempotent) weir_producer_track(p, infos, ninfos, a);
    if (p->appends_tail) p->appends_tail->next = a;
    else p->appends_head = a;
    p->appends_tail = a;
    if (!p->dirty) {
        p->dirty = true;
        p->dirty_next = log->dirty_head;
        log->dirty_head = p;
    }
    if (log->pending_bytes == 0) log->first_pending_ms = weir_mono_ms();
    log->pending_bytes += (int64_t)len;
    if (log->pending_bytes >= log->cfg.wal_object_bytes) flush_maybe(log);
}

/* Fails the pending (unsealed) appends of a topic that is going away. */
void weir_log_drop_pending(weir_log *log, weir_topic *t, int16_t error) {
    weir_partition **pp = &log->dirty_head;
    while (*pp) {
        weir_partition *p = *pp;
        if (p->topic == t) {
            *pp = p->dirty_next;
            p->dirty = false;
            log->pending_bytes -= (int64_t)p->pending.len;
            fail_appends(p, p->appends_head, error);
            p->appends_head = p->appends_tail = NULL;
            p->pending.len = 0;
        } else {
            pp = &p->dirty_next;
        }
    }
}

static void flush_run(weir_job *j, void *worker) {
    flush_job *f = (flush_job *)j;
    weir_meta *meta = worker;
    weir_log *log = j->log;
    struct iovec *iov = calloc((size_t)f->nparts, sizeof *iov);
    weir_meta_range *ranges = calloc((size_t)f->nparts, sizeof *ranges);
    if (!iov || !ranges) abort();
    for (int i = 0; i < f->nparts; i++) {
        flush_part *fp = &f->parts[i];
        iov[i].iov_base = fp->data.data;
        iov[i].iov_len = fp->data.len;
        memcpy(ranges[i].topic_id, fp->t->id, 16); /* id is immutable: safe to read here */
        ranges[i].partition = fp->partition;
        ranges[i].base_offset = fp->base;
        ranges[i].end_offset = fp->end;
        ranges[i].position = fp->pos;
        ranges[i].length = (int64_t)fp->data.len;
        ranges[i].max_timestamp = fp->max_ts;
    }
    f->rc = weir_objstore_putv(log->store, f->key, iov, f->nparts, &f->err);
    if (f->rc == WEIR_OK)
        f->rc = weir_meta_commit_object_producers(meta, f->object_id, f->key, f->size, ranges, f->nparts, f->producers,
                                                  f->nproducers, &f->err);
    free(iov);
    free(ranges);
}

void weir_log_wake_watchers(weir_log *log);
weir_object *weir_log_object_add(weir_log *log, int64_t id, const char *key, int64_t size);
void weir_partition_add_chunk(weir_partition *p, const weir_chunk *c);
void weir_log_cache_push(weir_log *log, weir_partition *p, int64_t base, int64_t len);

static void flush_complete(weir_job *j) {
    flush_job *f = (flush_job *)j;
    weir_log *log = j->log;
    weir_object *obj = NULL;
    weir_metrics_wal_flush(weir_mono_us() - f->started_us, f->size, f->rc == WEIR_OK);
    if (f->rc == WEIR_OK) {
        obj = weir_log_object_add(log, f->object_id, f->key, f->size);
    } else {
        weir_error("log", "flushing WAL object %s (%d partitions, %lld bytes) failed: %s", f->key, f->nparts,
                   (long long)f->size, f->err.msg);
    }
    for (int i = 0; i < f->nparts; i++) {
        flush_part *fp = &f->parts[i];
        weir_topic *t = fp->t;
        if (t->deleted) {
            fail_appends(t->partitions[fp->partition], fp->appends, WEIR_KERR_UNKNOWN_TOPIC_OR_PARTITION);
            weir_buf_free(&fp->data);
        } else if (f->rc != WEIR_OK) {
            weir_partition *p = t->partitions[fp->partition];
            p->next_offset = p->hw; /* nothing after hw was assigned outside this flush */
            for (weir_append *a = fp->appends; a; a = a->next)
                if (a->idempotent) fail_pending_of_producer(log, p, a->producer_id, WEIR_KERR_KAFKA_STORAGE_ERROR);
            fail_appends(p, fp->appends, WEIR_KERR_KAFKA_STORAGE_ERROR);
            weir_buf_free(&fp->data);
        } else {
            weir_partition *p = t->partitions[fp->partition];
            weir_chunk c = {.base = fp->base, .end = fp->end, .max_ts = fp->max_ts, .obj = obj, .pos = fp->pos,
                            .len = (int64_t)fp->data.len, .data = fp->data.data};
            weir_partition_add_chunk(p, &c);
            p->hw = fp->end;
            weir_log_cache_push(log, p, c.base, c.len);
            for (weir_append *a = fp->appends; a;) {
                weir_append *next = a->next;
                if (a->res) a->res->log_start = p->log_start;
                if (a->idempotent || a->dups) weir_producer_committed(p, a);
                waiter_done_one(a->w);
                free(a);
                a = next;
            }
        }
        weir_topic_unref(log, t);
    }
    free(f->parts);
    free(f->producers);
    free(f);
    log->flushing = false;
    weir_log_wake_watchers(log);
    flush_maybe(log);
}

/* Seals the pending appends into one WAL object and sends it to the storage thread,
 * unless a flush is already in flight or the buffer should wait for more. */
static void flush_maybe(weir_log *log) {
    if (log->flushing || !log->dirty_head) return;
    int64_t age = weir_mono_ms() - log->first_pending_ms;
    if (log->pending_bytes < log->cfg.wal_object_bytes && age < log->cfg.wal_flush_ms) {
        if (!log->flush_timer) log->flush_timer = weir_timer_add(log->loop, log->cfg.wal_flush_ms - age, flush_timer_fire, log);
        return;
    }
    if (log->flush_timer) {
        weir_timer_cancel(log->loop, log->flush_timer);
        log->flush_timer = NULL;
    }
    int nparts = 0;
    for (weir_partition *p = log->dirty_head; p; p = p->dirty_next) nparts++;
    flush_job *f = calloc(1, sizeof *f);
    f->parts = calloc((size_t)nparts, sizeof *f->parts);
    if (!f || !f->parts) abort();
    f->j.log = log;
    f->j.run = flush_run;
    f->j.complete = flush_complete;
    f->object_id = log->next_object_id++;
    snprintf(f->key, sizeof f->key, "wal/%d/%020lld", log->cfg.node_id, (long long)f->object_id);
    int64_t now = weir_now_ms();
    int64_t pos = 0;
    int i = 0;
    for (weir_partition *p = log->dirty_head; p; p = p->dirty_next, i++) {
        flush_part *fp = &f->parts[i];
        weir_topic *t = p->topic;
        weir_topic_ref(t);
        fp->t = t;
        fp->partition = p->index;
        fp->base = p->next_offset;
        fp->max_ts = -1;
        fp->pos = pos;
        /* Assign offsets batch by batch: each append holds one or more whole batches. */
        int64_t next = p->next_offset;
        for (weir_append *a = p->appends_head; a; a = a->next) {
            size_t off = a->off;
            bool first = true;
            while (off < a->off + a->len) {
                uint8_t *b = p->pending.data + off;
                size_t size = 12 + (size_t)weir_be32_get(b + WEIR_BATCH_LENGTH);
                int32_t lod = (int32_t)weir_be32_get(b + WEIR_BATCH_LAST_OFFSET_DELTA);
                weir_batch_set_base_offset(b, next);
                if (t->log_append_time) {
                    weir_batch_set_log_append_time(b, now);
                    if (a->res) a->res->log_append_time = now;
                }
                int64_t mts = (int64_t)weir_be64_get(b + WEIR_BATCH_MAX_TIMESTAMP);
                if (mts > fp->max_ts) fp->max_ts = mts;
                if (first && a->res) a->res->base_offset = next;
                if (a->idempotent || a->dups)
                    weir_producer_sealed(p, a, b, next, t->log_append_time ? now : -1);
                first = false;
                next += (int64_t)lod + 1;
                off += size;
            }
        }
        fp->end = next;
        p->next_offset = next;
        fp->data = p->pending;
        weir_buf_init(&p->pending);
        weir_producer_snapshot(p, p->appends_head, &f->producers, &f->nproducers, &f->capproducers);
        fp->appends = p->appends_head;
        p->appends_head = p->appends_tail = NULL;
        p->dirty = false;
        pos += (int64_t)fp->data.len;
    }
    f->nparts = nparts;
    f->size = pos;
    log->dirty_head = NULL;
    log->pending_bytes = 0;
    log->flushing = true;
    f->started_us = weir_mono_us();
    weir_workq_submit(&log->storage, &f->j);
}

void weir_log_before_sleep(weir_log *log) { flush_maybe(log); }

bool weir_log_idle(weir_log *log) { return !log->dirty_head && !log->flushing && log->inflight_jobs == 0; }
