/* read.c — the read path: fetches served from the tail cache when the data is recent,
 * otherwise read from objects by the reader threads through the range index; the tail
 * cache's bookkeeping; and offset lookups by timestamp. */
#include "log/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- tail cache ---------------------------------------------------------------------------- */

static weir_partition *partition_by_id(weir_log *log, const uint8_t id[16], int32_t partition) {
    weir_topic *t = weir_log_topic_find_id(log, id);
    if (!t || partition >= t->npartitions) return NULL;
    return t->partitions[partition];
}

static weir_chunk *chunk_find(weir_partition *p, int64_t offset, size_t *index) {
    size_t lo = 0, hi = p->nchunks;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (p->chunks[mid].end <= offset) lo = mid + 1;
        else hi = mid;
    }
    if (lo < p->nchunks && p->chunks[lo].base <= offset) {
        if (index) *index = lo;
        return &p->chunks[lo];
    }
    /* offset may fall in a gap left by deleted records: the next chunk serves it */
    if (lo < p->nchunks) {
        if (index) *index = lo;
        return &p->chunks[lo];
    }
    return NULL;
}

/* Evicts the oldest cached chunks until the cache fits its budget. */
static void cache_evict(weir_log *log) {
    while (log->cache_bytes > log->cfg.log_tail_cache_bytes && log->cache_len > 0) {
        cache_entry *e = &log->cache[log->cache_head];
        log->cache_head = (log->cache_head + 1) % log->cache_cap;
        log->cache_len--;
        log->cache_bytes -= e->len;
        weir_partition *p = partition_by_id(log, e->topic_id, e->partition);
        if (!p) continue;
        weir_chunk *c = chunk_find(p, e->base, NULL);
        if (c && c->base == e->base && c->data) {
            free(c->data);
            c->data = NULL;
        }
    }
}

void weir_log_cache_push(weir_log *log, weir_partition *p, int64_t base, int64_t len) {
    if (log->cache_len == log->cache_cap) {
        size_t ncap = log->cache_cap ? log->cache_cap * 2 : 1024;
        cache_entry *n = malloc(ncap * sizeof *n);
        if (!n) abort();
        for (size_t i = 0; i < log->cache_len; i++) n[i] = log->cache[(log->cache_head + i) % log->cache_cap];
        free(log->cache);
        log->cache = n;
        log->cache_cap = ncap;
        log->cache_head = 0;
    }
    cache_entry *e = &log->cache[(log->cache_head + log->cache_len) % log->cache_cap];
    memcpy(e->topic_id, p->topic->id, 16);
    e->partition = p->index;
    e->base = base;
    e->len = len;
    log->cache_len++;
    log->cache_bytes += len;
    cache_evict(log);
}

/* ---- copying whole batches ------------------------------------------------------------------ */

/* Appends whole batches of data[start..len) to out while they fit in max_bytes (the first
 * one regardless when allow_oversize and out is empty). Returns false once full. */
static bool copy_batches(weir_buf *out, const uint8_t *data, size_t len, size_t start, int32_t max_bytes,
                         bool allow_oversize) {
    size_t pos = start;
    while (pos + WEIR_BATCH_HEADER_SIZE <= len) {
        size_t size = 12 + (size_t)weir_be32_get(data + pos + WEIR_BATCH_LENGTH);
        if (pos + size > len) break;
        if (out->len + size > (size_t)max_bytes && !(out->len == 0 && allow_oversize)) return false;
        weir_buf_append(out, data + pos, size);
        pos += size;
    }
    return out->len < (size_t)max_bytes;
}

/* ---- catch-up cache --------------------------------------------------------------------------
 * Chunks read from objects for consumers behind the tail cache. A fetch returns about
 * max.partition.fetch.bytes while a chunk may be several MiB, so without this a consumer
 * catching up would read each chunk many times over. Bounded by log.catchup.cache.bytes,
 * least recently used out first, separate from the tail cache so a replay never evicts
 * what tailing consumers read. Loop thread only. */

typedef struct catchup_entry catchup_entry;
struct catchup_entry {
    int64_t obj_id, pos, len;
    uint8_t *data;
    catchup_entry *prev, *next; /* LRU list, most recent first */
    catchup_entry *hnext;       /* hash chain */
};

struct weir_catchup {
    catchup_entry **buckets;
    size_t nbuckets;
    catchup_entry lru; /* sentinel */
    int64_t bytes, cap;
};

static size_t catchup_hash(const struct weir_catchup *cc, int64_t obj_id, int64_t pos) {
    uint64_t h = (uint64_t)obj_id * 0x9E3779B97F4A7C15ull ^ (uint64_t)pos * 0xC2B2AE3D27D4EB4Full;
    return (size_t)(h >> 17) & (cc->nbuckets - 1);
}

static struct weir_catchup *catchup_get_cache(weir_log *log) {
    if (!log->catchup && log->cfg.log_catchup_cache_bytes > 0) {
        struct weir_catchup *cc = calloc(1, sizeof *cc);
        if (!cc) abort();
        cc->nbuckets = 4096;
        cc->buckets = calloc(cc->nbuckets, sizeof *cc->buckets);
        if (!cc->buckets) abort();
        cc->lru.next = cc->lru.prev = &cc->lru;
        cc->cap = log->cfg.log_catchup_cache_bytes;
        log->catchup = cc;
    }
    return log->catchup;
}

static void catchup_unlink(struct weir_catchup *cc, catchup_entry *e) {
    e->prev->next = e->next;
    e->next->prev = e->prev;
    catchup_entry **pp = &cc->buckets[catchup_hash(cc, e->obj_id, e->pos)];
    while (*pp != e) pp = &(*pp)->hnext;
    *pp = e->hnext;
    cc->bytes -= e->len;
}

/* The cached bytes of a chunk, or NULL; a hit becomes the most recently used. */
static const uint8_t *catchup_lookup(weir_log *log, const weir_chunk *c) {
    struct weir_catchup *cc = log->catchup;
    if (!cc) return NULL;
    for (catchup_entry *e = cc->buckets[catchup_hash(cc, c->obj->id, c->pos)]; e; e = e->hnext)
        if (e->obj_id == c->obj->id && e->pos == c->pos && e->len == c->len) {
            e->prev->next = e->next;
            e->next->prev = e->prev;
            e->next = cc->lru.next;
            e->prev = &cc->lru;
            cc->lru.next->prev = e;
            cc->lru.next = e;
            return e->data;
        }
    return NULL;
}

/* Takes ownership of data (freed if it is not kept). */
static void catchup_insert(weir_log *log, int64_t obj_id, int64_t pos, int64_t len, uint8_t *data) {
    struct weir_catchup *cc = catchup_get_cache(log);
    if (!cc || len > cc->cap / 4) {
        free(data);
        return;
    }
    size_t h = catchup_hash(cc, obj_id, pos);
    for (catchup_entry *e = cc->buckets[h]; e; e = e->hnext)
        if (e->obj_id == obj_id && e->pos == pos) {
            free(data); /* another read got there first */
            return;
        }
    while (cc->bytes + len > cc->cap && cc->lru.prev != &cc->lru) {
        catchup_entry *old = cc->lru.prev;
        catchup_unlink(cc, old);
        free(old->data);
        free(old);
    }
    catchup_entry *e = calloc(1, sizeof *e);
    if (!e) abort();
    e->obj_id = obj_id;
    e->pos = pos;
    e->len = len;
    e->data = data;
    e->hnext = cc->buckets[h];
    cc->buckets[h] = e;
    e->next = cc->lru.next;
    e->prev = &cc->lru;
    cc->lru.next->prev = e;
    cc->lru.next = e;
    cc->bytes += len;
}

void weir_log_catchup_free(weir_log *log) {
    struct weir_catchup *cc = log->catchup;
    if (!cc) return;
    for (catchup_entry *e = cc->lru.next; e != &cc->lru;) {
        catchup_entry *next = e->next;
        free(e->data);
        free(e);
        e = next;
    }
    free(cc->buckets);
    free(cc);
    log->catchup = NULL;
}

/* ---- reads through the reader threads ---------------------------------------------------------- */

typedef struct chunk_snap {
    char key[96];
    int64_t obj_id, pos, len;
    uint8_t *data; /* what was read, handed to the catch-up cache on completion */
} chunk_snap;

typedef struct read_job {
    weir_job j;
    weir_log_read_req *req;
    weir_log_read *r;
    chunk_snap *chunks;
    int nchunks;
    /* for offset lookups */
    int64_t ts;
    weir_log_offset_fn offset_done;
    void *offset_arg;
    int64_t found_offset, found_ts;
} read_job;

static void read_run(weir_job *j, void *worker) {
    read_job *rj = (read_job *)j;
    weir_log *log = j->log;
    weir_log_read *r = rj->r;
    weir_buf *scratch = worker;
    weir_err err;
    for (int i = 0; i < rj->nchunks; i++) {
        chunk_snap *c = &rj->chunks[i];
        uint8_t *buf = malloc((size_t)c->len ? (size_t)c->len : 1);
        if (!buf) abort();
        int rc = weir_objstore_get_range(log->store, c->key, (uint64_t)c->pos, (size_t)c->len, buf, &err);
        if (rc != WEIR_OK) {
            weir_error("log", "reading %s [%lld, +%lld): %s", c->key, (long long)c->pos, (long long)c->len, err.msg);
            free(buf);
            if (r) r->error = WEIR_KERR_KAFKA_STORAGE_ERROR;
            else rj->found_offset = -2;
            break;
        }
        if (r) {
            size_t start = i == 0 ? weir_batch_seek(buf, (size_t)c->len, r->offset) : 0;
            bool more = copy_batches(&r->data, buf, (size_t)c->len, start, r->max_bytes, r->allow_oversize);
            c->data = buf;
            if (!more) break;
        } else {
            int64_t off, ts;
            rc = weir_batch_find_timestamp(buf, (size_t)c->len, rj->ts, scratch, &off, &ts, &err);
            free(buf);
            if (rc == WEIR_OK) {
                rj->found_offset = off;
                rj->found_ts = ts;
                break;
            }
        }
    }
}

static void read_complete(weir_job *j) {
    read_job *rj = (read_job *)j;
    for (int i = 0; i < rj->nchunks; i++)
        if (rj->chunks[i].data)
            catchup_insert(j->log, rj->chunks[i].obj_id, rj->chunks[i].pos, rj->chunks[i].len, rj->chunks[i].data);
    if (rj->r) {
        weir_log_read_req *req = rj->req;
        if (--req->pending == 0) req->done(req);
    } else {
        int16_t error = rj->found_offset == -2 ? WEIR_KERR_KAFKA_STORAGE_ERROR : 0;
        if (rj->found_offset < 0) rj->found_offset = rj->found_ts = -1;
        rj->offset_done(rj->offset_arg, error, rj->found_offset, rj->found_ts);
    }
    free(rj->chunks);
    free(rj);
}

static read_job *read_job_new(weir_log *log, weir_partition *p, size_t first, int64_t budget) {
    read_job *rj = calloc(1, sizeof *rj);
    if (!rj) abort();
    rj->j.log = log;
    rj->j.run = read_run;
    rj->j.complete = read_complete;
    size_t n = 0;
    int64_t total = 0;
    for (size_t i = first; i < p->nchunks && (n == 0 || total < budget); i++, n++) total += p->chunks[i].len;
    rj->chunks = calloc(n ? n : 1, sizeof *rj->chunks);
    if (!rj->chunks) abort();
    for (size_t i = 0; i < n; i++) {
        weir_chunk *c = &p->chunks[first + i];
        snprintf(rj->chunks[i].key, sizeof rj->chunks[i].key, "%s", c->obj->key);
        rj->chunks[i].obj_id = c->obj->id;
        rj->chunks[i].pos = c->pos;
        rj->chunks[i].len = c->len;
    }
    rj->nchunks = (int)n;
    return rj;
}

int weir_log_fetch(weir_log *log, weir_log_read_req *req) {
    req->pending = 0;
    read_job **jobs = NULL;
    int njobs = 0;
    for (int i = 0; i < req->nreads; i++) {
        weir_log_read *r = &req->reads[i];
        weir_topic *t = r->topic;
        r->error = 0;
        if (!t || t->deleted || r->partition < 0 || r->partition >= t->npartitions) {
            r->error = WEIR_KERR_UNKNOWN_TOPIC_OR_PARTITION;
            r->hw = r->log_start = -1;
            continue;
        }
        weir_partition *p = t->partitions[r->partition];
        r->hw = p->hw;
        r->log_start = p->log_start;
        if (r->offset < p->log_start || r->offset > p->hw) {
            r->error = WEIR_KERR_OFFSET_OUT_OF_RANGE;
            continue;
        }
        if (r->offset == p->hw || r->max_bytes <= 0) continue;
        size_t ci;
        weir_chunk *c = chunk_find(p, r->offset, &ci);
        if (!c) continue;
        if (c->data) {
            /* cached chunks form a suffix of the partition: serve them all from memory */
            size_t start = weir_batch_seek(c->data, (size_t)c->len, r->offset);
            for (size_t k = ci; k < p->nchunks && p->chunks[k].data; k++) {
                weir_chunk *ck = &p->chunks[k];
                if (!copy_batches(&r->data, ck->data, (size_t)ck->len, k == ci ? start : 0, r->max_bytes,
                                  r->allow_oversize))
                    break;
            }
            continue;
        }
        /* older data: from the catch-up cache while it has the chunks, else the objects */
        bool full = false;
        size_t k = ci;
        for (; k < p->nchunks && !full; k++) {
            weir_chunk *ck = &p->chunks[k];
            const uint8_t *data = ck->data ? ck->data : catchup_lookup(log, ck);
            if (!data) break;
            size_t start = k == ci ? weir_batch_seek(data, (size_t)ck->len, r->offset) : 0;
            full = !copy_batches(&r->data, data, (size_t)ck->len, start, r->max_bytes, r->allow_oversize);
        }
        if (full || k == p->nchunks) continue;
        /* the rest from the objects, after what the cache gave (offsets only grow from k) */
        read_job *rj = read_job_new(log, p, k, r->max_bytes - (int64_t)r->data.len);
        rj->req = req;
        rj->r = r;
        jobs = realloc(jobs, (size_t)(njobs + 1) * sizeof *jobs);
        if (!jobs) abort();
        jobs[njobs++] = rj;
    }
    if (njobs == 0) {
        free(jobs);
        return WEIR_OK;
    }
    req->pending = njobs;
    for (int i = 0; i < njobs; i++) weir_workq_submit(&log->readers, &jobs[i]->j);
    free(jobs);
    return WEIR_EAGAIN;
}

/* ---- offsets by timestamp --------------------------------------------------------------------- */

void weir_log_offset_for_time(weir_log *log, weir_partition *p, int64_t ts, weir_log_offset_fn done, void *arg) {
    size_t first = p->nchunks;
    if (ts == -3) { /* max timestamp: the chunk holding the largest one, then the record */
        int64_t best = -1;
        for (size_t i = 0; i < p->nchunks; i++)
            if (p->chunks[i].end > p->log_start && p->chunks[i].max_ts > best) {
                best = p->chunks[i].max_ts;
                first = i;
            }
        ts = best;
    } else {
        for (size_t i = 0; i < p->nchunks; i++)
            if (p->chunks[i].end > p->log_start && p->chunks[i].max_ts >= ts) {
                first = i;
                break;
            }
    }
    if (first == p->nchunks) {
        done(arg, 0, -1, -1);
        return;
    }
    weir_chunk *c = &p->chunks[first];
    if (c->data) {
        weir_buf scratch;
        weir_buf_init(&scratch);
        weir_err err;
        int64_t off = -1, fts = -1;
        int rc = weir_batch_find_timestamp(c->data, (size_t)c->len, ts, &scratch, &off, &fts, &err);
        weir_buf_free(&scratch);
        if (rc == WEIR_OK && off < p->log_start) off = p->log_start;
        if (rc == WEIR_OK) done(arg, 0, off, fts);
        else done(arg, 0, -1, -1);
        return;
    }
    read_job *rj = read_job_new(log, p, first, 1);
    rj->ts = ts;
    rj->found_offset = -1;
    rj->offset_done = done;
    rj->offset_arg = arg;
    weir_workq_submit(&log->readers, &rj->j);
}
