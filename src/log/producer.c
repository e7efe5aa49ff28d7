/* producer.c — the idempotent producer. Each partition keeps, per producer id, the
 * producer's epoch and its last five batches (sequences, base offset, count), as Kafka
 * does: a batch equal to one of them is a retry and is answered with the original's
 * offset instead of being written again; anything else must follow the last sequence.
 * Batches still in the WAL buffer or in flight count too (their records point at their
 * append), so a retry racing its original waits for it and gets the same answer. The
 * state of every producer a WAL object touches is committed with that object's ranges
 * (weir_meta_commit_object_producers) and loaded at start. Producer ids come from a
 * counter in the metadata store, reserved a block at a time. All on the loop thread. */
#include "log/internal.h"

#include <stdlib.h>
#include <string.h>

#define PRODUCER_BATCHES WEIR_META_PRODUCER_BATCHES
#define PRODUCER_ID_BLOCK 100

typedef struct producer_batch {
    int32_t first_seq, last_seq;
    int64_t base_offset; /* -1 until sealed */
    int32_t count;
    weir_append *append; /* not yet committed: the append holding it; NULL once committed */
} producer_batch;

typedef struct producer_entry {
    int64_t id;
    int16_t epoch;
    int n;                    /* batches, oldest first */
    int32_t evicted_last_seq; /* last sequence of the newest batch pushed out, -1 if none */
    int64_t last_ms;          /* wall clock of the last append (or the last write, once loaded) */
    producer_batch b[PRODUCER_BATCHES];
} producer_entry;

/* Entries sorted by producer id. */
struct weir_producer_table {
    producer_entry *v;
    size_t n, cap;
};

/* A retry that arrived while its original was not yet committed. */
typedef struct weir_append_dup {
    struct weir_append_dup *next;
    int32_t first_seq;
    weir_log_waiter *w;
    weir_append_result *res;
} weir_append_dup;

/* ---- the table ------------------------------------------------------------------------- */

static size_t table_lower(const struct weir_producer_table *pt, int64_t id) {
    size_t lo = 0, hi = pt->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (pt->v[mid].id < id) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static producer_entry *table_find(const struct weir_producer_table *pt, int64_t id) {
    if (!pt) return NULL;
    size_t i = table_lower(pt, id);
    return i < pt->n && pt->v[i].id == id ? &pt->v[i] : NULL;
}

static producer_entry *table_insert(weir_partition *p, int64_t id, int16_t epoch) {
    struct weir_producer_table *pt = p->producers;
    if (!pt) {
        pt = p->producers = calloc(1, sizeof *pt);
        if (!pt) abort();
    }
    size_t i = table_lower(pt, id);
    if (i < pt->n && pt->v[i].id == id) return &pt->v[i];
    if (pt->n == pt->cap) {
        pt->cap = pt->cap ? pt->cap * 2 : 4;
        pt->v = realloc(pt->v, pt->cap * sizeof *pt->v);
        if (!pt->v) abort();
    }
    memmove(&pt->v[i + 1], &pt->v[i], (pt->n - i) * sizeof *pt->v);
    pt->n++;
    producer_entry *e = &pt->v[i];
    memset(e, 0, sizeof *e);
    e->id = id;
    e->epoch = epoch;
    e->evicted_last_seq = -1;
    return e;
}

static void table_remove(struct weir_producer_table *pt, producer_entry *e) {
    size_t i = (size_t)(e - pt->v);
    memmove(&pt->v[i], &pt->v[i + 1], (pt->n - i - 1) * sizeof *pt->v);
    pt->n--;
}

void weir_producer_table_free(struct weir_producer_table *pt) {
    if (!pt) return;
    free(pt->v);
    free(pt);
}

/* ---- sequences --------------------------------------------------------------------------- */

/* Sequences wrap from INT32_MAX to 0. */
static int32_t seq_add(int32_t seq, int64_t n) { return (int32_t)(((int64_t)seq + n) % ((int64_t)INT32_MAX + 1)); }

static int32_t batch_last_seq(const weir_batch_info *b) { return seq_add(b->base_sequence, b->last_offset_delta); }

static int32_t entry_last_seq(const producer_entry *e) { return e->n ? e->b[e->n - 1].last_seq : e->evicted_last_seq; }

int16_t weir_producer_check(weir_partition *p, const weir_batch_info *infos, int ninfos, weir_append **dup_of,
                            int64_t *dup_offset) {
    *dup_of = NULL;
    *dup_offset = -1;
    int64_t pid = -1;
    int16_t epoch = 0;
    int32_t last = -1;
    for (int i = 0; i < ninfos; i++) {
        const weir_batch_info *b = &infos[i];
        if (b->producer_id < 0) continue;
        if (b->base_sequence < 0) return WEIR_KERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
        if (pid >= 0) {
            /* A later batch of the same request follows the one before it. */
            if (b->producer_id != pid) return WEIR_KERR_CORRUPT_MESSAGE; /* one producer per record set */
            if (b->producer_epoch != epoch || b->base_sequence != seq_add(last, 1))
                return WEIR_KERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
            last = batch_last_seq(b);
            continue;
        }
        pid = b->producer_id;
        epoch = b->producer_epoch;
        last = batch_last_seq(b);
        producer_entry *e = table_find(p->producers, pid);
        if (!e) {
            if (b->base_sequence != 0) return WEIR_KERR_UNKNOWN_PRODUCER_ID;
            continue;
        }
        if (i == 0 && b->producer_epoch == e->epoch) {
            for (int k = 0; k < e->n; k++) {
                if (e->b[k].first_seq == b->base_sequence && e->b[k].last_seq == last) {
                    *dup_of = e->b[k].append;          /* NULL once committed */
                    *dup_offset = e->b[k].base_offset; /* -1 until sealed */
                    return WEIR_KERR_NONE;
                }
            }
        }
        if (b->producer_epoch < e->epoch) return WEIR_KERR_INVALID_PRODUCER_EPOCH;
        if (b->producer_epoch > e->epoch) {
            if (b->base_sequence != 0) return WEIR_KERR_OUT_OF_ORDER_SEQUENCE_NUMBER; /* a new epoch starts at 0 */
        } else if (b->base_sequence != seq_add(entry_last_seq(e), 1)) {
            return WEIR_KERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
        }
    }
    return WEIR_KERR_NONE;
}

void weir_producer_track(weir_partition *p, const weir_batch_info *infos, int ninfos, weir_append *a) {
    for (int i = 0; i < ninfos; i++) {
        const weir_batch_info *b = &infos[i];
        if (b->producer_id < 0) continue;
        a->idempotent = true;
        a->producer_id = b->producer_id;
        producer_entry *e = table_insert(p, b->producer_id, b->producer_epoch);
        e->last_ms = weir_now_ms();
        if (b->producer_epoch != e->epoch) { /* a newer epoch (check refused older ones) */
            e->epoch = b->producer_epoch;
            e->n = 0;
            e->evicted_last_seq = -1;
        }
        if (e->n == PRODUCER_BATCHES) {
            e->evicted_last_seq = e->b[0].last_seq;
            memmove(&e->b[0], &e->b[1], (PRODUCER_BATCHES - 1) * sizeof e->b[0]);
            e->n--;
        }
        e->b[e->n++] = (producer_batch){.first_seq = b->base_sequence, .last_seq = batch_last_seq(b),
                                        .base_offset = -1, .count = b->last_offset_delta + 1, .append = a};
    }
}

void weir_producer_dup(weir_append *orig, int32_t first_seq, weir_log_waiter *w, weir_append_result *res) {
    if (!w) return; /* acks=0: nobody waits for the answer */
    weir_append_dup *d = calloc(1, sizeof *d);
    if (!d) abort();
    d->first_seq = first_seq;
    d->w = w;
    d->res = res;
    d->next = orig->dups;
    orig->dups = d;
    w->pending++;
}

void weir_producer_sealed(weir_partition *p, weir_append *a, const uint8_t *batch, int64_t base_offset,
                          int64_t log_append_time) {
    int64_t pid = (int64_t)weir_be64_get(batch + WEIR_BATCH_PRODUCER_ID);
    int32_t seq = (int32_t)weir_be32_get(batch + WEIR_BATCH_BASE_SEQUENCE);
    if (pid < 0) return;
    producer_entry *e = table_find(p->producers, pid);
    for (int k = 0; e && k < e->n; k++)
        if (e->b[k].append == a && e->b[k].first_seq == seq) e->b[k].base_offset = base_offset;
    for (weir_append_dup *d = a->dups; d; d = d->next) {
        if (d->first_seq != seq || !d->res) continue;
        d->res->base_offset = base_offset;
        d->res->log_append_time = log_append_time;
    }
}

int weir_producer_snapshot(weir_partition *p, weir_append *appends, weir_meta_producer **out, int *n, int *cap) {
    int start = *n;
    for (weir_append *a = appends; a; a = a->next) {
        if (!a->idempotent) continue;
        bool seen = false;
        for (int i = start; i < *n && !seen; i++) seen = (*out)[i].producer_id == a->producer_id;
        producer_entry *e = table_find(p->producers, a->producer_id);
        if (seen || !e) continue;
        if (*n == *cap) {
            *cap = *cap ? *cap * 2 : 8;
            *out = realloc(*out, (size_t)*cap * sizeof **out);
            if (!*out) abort();
        }
        weir_meta_producer *mp = &(*out)[(*n)++];
        memset(mp, 0, sizeof *mp);
        memcpy(mp->topic_id, p->topic->id, 16);
        mp->partition = p->index;
        mp->producer_id = e->id;
        mp->epoch = e->epoch;
        for (int k = 0; k < e->n; k++) {
            if (e->b[k].base_offset < 0) continue; /* not sealed (cannot happen at a seal) */
            mp->batches[mp->nbatches++] = (weir_meta_producer_batch){
                .first_seq = e->b[k].first_seq, .last_seq = e->b[k].last_seq, .base_offset = e->b[k].base_offset,
                .count = e->b[k].count};
        }
    }
    return *n - start;
}

/* Answers the retries that waited for a: with a's result on success, or its error. */
static void dups_finish(weir_partition *p, weir_append *a, int16_t error) {
    weir_append_dup *d = a->dups;
    a->dups = NULL;
    while (d) {
        weir_append_dup *next = d->next;
        if (d->res) {
            d->res->error = error;
            d->res->log_start = p->log_start;
            if (error) d->res->base_offset = -1;
        }
        if (--d->w->pending == 0 && d->w->armed) d->w->done(d->w);
        free(d);
        d = next;
    }
}

void weir_producer_committed(weir_partition *p, weir_append *a) {
    producer_entry *e = a->idempotent ? table_find(p->producers, a->producer_id) : NULL;
    for (int k = 0; e && k < e->n; k++)
        if (e->b[k].append == a) e->b[k].append = NULL;
    dups_finish(p, a, WEIR_KERR_NONE);
}

/* A failed append's batches were never written: forget them, so the producer's retry
 * is taken as new (it follows the last batch that did get written). */
void weir_producer_failed(weir_partition *p, weir_append *a, int16_t error) {
    producer_entry *e = a->idempotent ? table_find(p->producers, a->producer_id) : NULL;
    if (e) {
        int kept = 0;
        for (int k = 0; k < e->n; k++)
            if (e->b[k].append != a) e->b[kept++] = e->b[k];
        e->n = kept;
        if (e->n == 0 && e->evicted_last_seq < 0) table_remove(p->producers, e); /* it never wrote here */
    }
    dups_finish(p, a, error);
}

/* ---- loading ----------------------------------------------------------------------------- */

static int load_one(void *ctx, const weir_meta_producer *mp) {
    weir_log *log = ctx;
    weir_topic *t = weir_log_topic_find_id(log, mp->topic_id);
    if (!t || mp->partition < 0 || mp->partition >= t->npartitions || mp->nbatches <= 0) return WEIR_OK;
    producer_entry *e = table_insert(t->partitions[mp->partition], mp->producer_id, mp->epoch);
    e->epoch = mp->epoch;
    e->last_ms = mp->updated_ms;
    e->n = 0;
    for (int k = 0; k < mp->nbatches && k < PRODUCER_BATCHES; k++)
        e->b[e->n++] = (producer_batch){.first_seq = mp->batches[k].first_seq, .last_seq = mp->batches[k].last_seq,
                                        .base_offset = mp->batches[k].base_offset, .count = mp->batches[k].count};
    return WEIR_OK;
}

int weir_producer_load(weir_log *log, weir_err *err) { return weir_meta_producers_load(log->meta, load_one, log, err); }

/* ---- expiry ------------------------------------------------------------------------------ */

typedef struct forget_job {
    weir_meta_producer *v;
    int n;
} forget_job;

static int forget_run(weir_meta *m, void *arg, weir_err *err) {
    forget_job *fj = arg;
    return weir_meta_producers_forget(m, fj->v, fj->n, err);
}

static void forget_done(void *arg, int rc, const weir_err *err) {
    forget_job *fj = arg;
    if (rc != WEIR_OK) weir_warn("log", "forgetting %d expired producers: %s", fj->n, err->msg);
    free(fj->v);
    free(fj);
}

/* Forgets producers that wrote nothing to a partition for producer.id.expiration.ms, in
 * memory and then in the metadata store, as Kafka expires producer state: a producer
 * coming back after that starts over at sequence 0 (or gets UNKNOWN_PRODUCER_ID). A
 * producer with batches not yet committed is never expired. The delete job is ordered
 * after every flush sealed before it, and a later write of the same producer comes after
 * it, so the store never loses state that memory still has. @thread loop */
void weir_log_producers_expire(weir_log *log, int64_t now_ms) {
    forget_job *fj = NULL;
    int cap = 0;
    for (size_t ti = 0; ti < log->ntopics; ti++) {
        weir_topic *t = log->topics[ti];
        for (int32_t pi = 0; pi < t->npartitions; pi++) {
            struct weir_producer_table *pt = t->partitions[pi]->producers;
            for (size_t i = 0; pt && i < pt->n;) {
                producer_entry *e = &pt->v[i];
                bool pending = false;
                for (int k = 0; k < e->n; k++) pending |= e->b[k].append != NULL;
                if (pending || now_ms - e->last_ms < log->cfg.producer_id_expiration_ms) {
                    i++;
                    continue;
                }
                if (!fj) {
                    fj = calloc(1, sizeof *fj);
                    if (!fj) abort();
                }
                if (fj->n == cap) {
                    cap = cap ? cap * 2 : 16;
                    fj->v = realloc(fj->v, (size_t)cap * sizeof *fj->v);
                    if (!fj->v) abort();
                }
                weir_meta_producer *mp = &fj->v[fj->n++];
                memset(mp, 0, sizeof *mp);
                memcpy(mp->topic_id, t->id, 16);
                mp->partition = pi;
                mp->producer_id = e->id;
                table_remove(pt, e); /* the next entry moved into slot i */
            }
        }
    }
    if (!fj) return;
    weir_info("log", "forgetting %d idle producer states (producer.id.expiration.ms %lld)", fj->n,
              (long long)log->cfg.producer_id_expiration_ms);
    weir_log_meta_job(log, forget_run, fj, forget_done, fj);
}

/* ---- producer ids ------------------------------------------------------------------------ */

typedef struct id_waiter {
    struct id_waiter *next;
    weir_log_producer_id_fn done;
    void *arg;
} id_waiter;

struct weir_producer_ids {
    int64_t next, limit; /* [next, limit) reserved and unused */
    bool reserving;
    int64_t reserved_first; /* written by the storage thread, read after the job */
    id_waiter *head, *tail;
};

static int ids_reserve_run(weir_meta *meta, void *arg, weir_err *err) {
    struct weir_producer_ids *ids = arg;
    return weir_meta_producer_ids_reserve(meta, PRODUCER_ID_BLOCK, &ids->reserved_first, err);
}

static void ids_serve(weir_log *log);

static void ids_reserve_done(void *arg, int rc, const weir_err *err) {
    weir_log *log = arg;
    struct weir_producer_ids *ids = log->producer_ids;
    ids->reserving = false;
    if (rc != WEIR_OK) {
        weir_error("log", "reserving producer ids failed: %s", err->msg);
        while (ids->head) {
            id_waiter *wt = ids->head;
            ids->head = wt->next;
            wt->done(wt->arg, rc, -1, err);
            free(wt);
        }
        ids->tail = NULL;
        return;
    }
    ids->next = ids->reserved_first;
    ids->limit = ids->reserved_first + PRODUCER_ID_BLOCK;
    ids_serve(log);
}

static void ids_serve(weir_log *log) {
    struct weir_producer_ids *ids = log->producer_ids;
    while (ids->head && ids->next < ids->limit) {
        id_waiter *wt = ids->head;
        ids->head = wt->next;
        if (!ids->head) ids->tail = NULL;
        wt->done(wt->arg, WEIR_OK, ids->next++, NULL);
        free(wt);
    }
    if (ids->head && !ids->reserving) {
        ids->reserving = true;
        weir_log_meta_job(log, ids_reserve_run, ids, ids_reserve_done, log);
    }
}

void weir_log_producer_id_alloc(weir_log *log, weir_log_producer_id_fn done, void *arg) {
    if (!log->producer_ids) {
        log->producer_ids = calloc(1, sizeof *log->producer_ids);
        if (!log->producer_ids) abort();
    }
    id_waiter *wt = calloc(1, sizeof *wt);
    if (!wt) abort();
    wt->done = done;
    wt->arg = arg;
    struct weir_producer_ids *ids = log->producer_ids;
    if (ids->tail) ids->tail->next = wt;
    else ids->head = wt;
    ids->tail = wt;
    ids_serve(log);
}

void weir_producer_ids_free(weir_log *log) {
    struct weir_producer_ids *ids = log->producer_ids;
    if (!ids) return;
    while (ids->head) {
        id_waiter *wt = ids->head;
        ids->head = wt->next;
        free(wt);
    }
    free(ids);
    log->producer_ids = NULL;
}
