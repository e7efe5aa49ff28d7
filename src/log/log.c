/* log.c — opening the log (load state from the metadata store), the topic table, the
 * worker queues, and topic creation/deletion/growth. The produce path is in wal.c and
 * the read path in read.c. */
#include "log/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- worker queues --------------------------------------------------------------------- */

static void job_complete_post(void *arg) {
    weir_job *j = arg;
    weir_log *log = j->log;
    log->inflight_jobs--;
    j->complete(j);
}

typedef struct worker_start {
    weir_workq *q;
} worker_start;

static void *workq_thread(void *arg) {
    weir_workq *q = arg;
    void *worker = q->make_worker ? q->make_worker(q->log) : NULL;
    pthread_mutex_lock(&q->lock);
    for (;;) {
        while (!q->head && !q->stopping) pthread_cond_wait(&q->cond, &q->lock);
        if (!q->head) break;
        weir_job *j = q->head;
        q->head = j->next;
        if (!q->head) q->tail = NULL;
        pthread_mutex_unlock(&q->lock);
        j->run(j, worker);
        weir_loop_post(j->log->loop, job_complete_post, j);
        pthread_mutex_lock(&q->lock);
    }
    pthread_mutex_unlock(&q->lock);
    if (q->free_worker) q->free_worker(worker);
    return NULL;
}

int weir_workq_start(weir_workq *q, weir_log *log, int nthreads, void *(*make_worker)(weir_log *),
                     void (*free_worker)(void *)) {
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->cond, NULL);
    q->log = log;
    q->make_worker = make_worker;
    q->free_worker = free_worker;
    q->threads = calloc((size_t)nthreads, sizeof *q->threads);
    if (!q->threads) abort();
    for (int i = 0; i < nthreads; i++) {
        if (pthread_create(&q->threads[i], NULL, workq_thread, q) != 0) return WEIR_ERROR;
        q->nthreads++;
    }
    return WEIR_OK;
}

void weir_workq_submit(weir_workq *q, weir_job *j) {
    j->next = NULL;
    j->log->inflight_jobs++;
    pthread_mutex_lock(&q->lock);
    if (q->tail) q->tail->next = j;
    else q->head = j;
    q->tail = j;
    pthread_cond_signal(&q->cond);
    pthread_mutex_unlock(&q->lock);
}

void weir_workq_stop(weir_workq *q) {
    if (!q->threads) return;
    pthread_mutex_lock(&q->lock);
    q->stopping = true;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->lock);
    for (int i = 0; i < q->nthreads; i++) pthread_join(q->threads[i], NULL);
    free(q->threads);
    q->threads = NULL;
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->cond);
}

/* ---- topics ------------------------------------------------------------------------------ */

static weir_topic *topic_new(const char *name, size_t namelen, const uint8_t id[16], int32_t npartitions) {
    weir_topic *t = calloc(1, sizeof *t);
    if (!t) abort();
    t->name = strndup(name, namelen);
    memcpy(t->id, id, 16);
    t->refs = 1;
    t->npartitions = npartitions;
    t->partitions = calloc((size_t)(npartitions ? npartitions : 1), sizeof *t->partitions);
    if (!t->name || !t->partitions) abort();
    for (int32_t i = 0; i < npartitions; i++) {
        weir_partition *p = calloc(1, sizeof *p);
        if (!p) abort();
        p->topic = t;
        p->index = i;
        t->partitions[i] = p;
    }
    return t;
}

static void topic_set_configs(weir_topic *t, const weir_topic_config *configs, int n) {
    for (int i = 0; i < t->nconfigs; i++) {
        free(t->configs[i].name);
        free(t->configs[i].value);
    }
    free(t->configs);
    t->configs = n ? calloc((size_t)n, sizeof *t->configs) : NULL;
    t->nconfigs = n;
    for (int i = 0; i < n; i++) {
        t->configs[i].name = strdup(configs[i].name);
        t->configs[i].value = strdup(configs[i].value);
    }
}

static void topic_free(weir_topic *t) {
    for (int32_t i = 0; i < t->npartitions; i++) {
        weir_partition *p = t->partitions[i];
        for (size_t k = 0; k < p->nchunks; k++) free(p->chunks[k].data);
        free(p->chunks);
        weir_buf_free(&p->pending);
        weir_producer_table_free(p->producers);
        free(p);
    }
    topic_set_configs(t, NULL, 0);
    free(t->partitions);
    free(t->name);
    free(t);
}

void weir_topic_ref(weir_topic *t) { t->refs++; }

void weir_topic_unref(weir_log *log, weir_topic *t) {
    (void)log;
    if (--t->refs == 0) topic_free(t);
}

static void topics_add(weir_log *log, weir_topic *t) {
    if (log->ntopics == log->captopics) {
        log->captopics = log->captopics ? log->captopics * 2 : 16;
        log->topics = realloc(log->topics, log->captopics * sizeof *log->topics);
        if (!log->topics) abort();
    }
    log->topics[log->ntopics++] = t;
}

static void topics_remove(weir_log *log, weir_topic *t) {
    for (size_t i = 0; i < log->ntopics; i++)
        if (log->topics[i] == t) {
            memmove(&log->topics[i], &log->topics[i + 1], (log->ntopics - i - 1) * sizeof *log->topics);
            log->ntopics--;
            return;
        }
}

weir_topic *weir_log_topic_find_any(weir_log *log, weir_str name) {
    if (!name.ptr) return NULL;
    for (size_t i = 0; i < log->ntopics; i++) {
        weir_topic *t = log->topics[i];
        if (strlen(t->name) == (size_t)name.len && memcmp(t->name, name.ptr, (size_t)name.len) == 0) return t;
    }
    return NULL;
}

weir_topic *weir_log_topic_find(weir_log *log, weir_str name) {
    weir_topic *t = weir_log_topic_find_any(log, name);
    return t && !t->creating ? t : NULL;
}

weir_topic *weir_log_topic_find_id(weir_log *log, const uint8_t id[16]) {
    for (size_t i = 0; i < log->ntopics; i++)
        if (!log->topics[i]->creating && memcmp(log->topics[i]->id, id, 16) == 0) return log->topics[i];
    return NULL;
}

weir_topic *weir_log_topic_at(weir_log *log, size_t i) {
    size_t k = 0;
    for (size_t j = 0; j < log->ntopics; j++) {
        if (log->topics[j]->creating) continue;
        if (k++ == i) return log->topics[j];
    }
    return NULL;
}

const char *weir_log_cluster_id(const weir_log *log) { return log->cluster_id; }

/* ---- objects ------------------------------------------------------------------------------ */

weir_object *weir_log_object_add(weir_log *log, int64_t id, const char *key, int64_t size) {
    weir_object *o = calloc(1, sizeof *o);
    if (!o) abort();
    o->id = id;
    snprintf(o->key, sizeof o->key, "%s", key);
    o->size = size;
    if (log->nobjects == log->capobjects) {
        log->capobjects = log->capobjects ? log->capobjects * 2 : 64;
        log->objects = realloc(log->objects, log->capobjects * sizeof *log->objects);
        if (!log->objects) abort();
    }
    /* ids arrive increasing; keep the array sorted either way */
    size_t i = log->nobjects;
    while (i > 0 && log->objects[i - 1]->id > id) {
        log->objects[i] = log->objects[i - 1];
        i--;
    }
    log->objects[i] = o;
    log->nobjects++;
    return o;
}

static weir_object *object_find(weir_log *log, int64_t id) {
    size_t lo = 0, hi = log->nobjects;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (log->objects[mid]->id < id) lo = mid + 1;
        else hi = mid;
    }
    return lo < log->nobjects && log->objects[lo]->id == id ? log->objects[lo] : NULL;
}

void weir_partition_add_chunk(weir_partition *p, const weir_chunk *c) {
    if (p->nchunks == p->capchunks) {
        p->capchunks = p->capchunks ? p->capchunks * 2 : 16;
        p->chunks = realloc(p->chunks, p->capchunks * sizeof *p->chunks);
        if (!p->chunks) abort();
    }
    p->chunks[p->nchunks++] = *c;
    p->bytes += c->len;
}

/* ---- loading --------------------------------------------------------------------------- */

static int load_topic(void *ctx, const weir_meta_topic *mt) {
    weir_log *log = ctx;
    weir_topic *t = topic_new(mt->name, strlen(mt->name), mt->id, mt->partitions);
    t->created_ms = mt->created_ms;
    weir_topic_config *cfgs = mt->nconfigs ? calloc((size_t)mt->nconfigs, sizeof *cfgs) : NULL;
    for (int i = 0; i < mt->nconfigs; i++) {
        cfgs[i].name = (char *)mt->configs[i].name;
        cfgs[i].value = (char *)mt->configs[i].value;
    }
    topic_set_configs(t, cfgs, mt->nconfigs);
    free(cfgs);
    weir_topic_apply_configs(log, t);
    topics_add(log, t);
    return WEIR_OK;
}

static weir_topic *topic_by_id_any(weir_log *log, const uint8_t id[16]) {
    for (size_t i = 0; i < log->ntopics; i++)
        if (memcmp(log->topics[i]->id, id, 16) == 0) return log->topics[i];
    return NULL;
}

static int load_partition(void *ctx, const uint8_t topic_id[16], int32_t partition, int64_t log_start, int64_t hw) {
    weir_log *log = ctx;
    weir_topic *t = topic_by_id_any(log, topic_id);
    if (!t || partition < 0 || partition >= t->npartitions) return WEIR_OK;
    weir_partition *p = t->partitions[partition];
    p->log_start = log_start;
    p->hw = p->next_offset = hw;
    return WEIR_OK;
}

static int load_object(void *ctx, int64_t id, const char *key, int64_t size) {
    weir_log_object_add(ctx, id, key, size);
    return WEIR_OK;
}

static int load_range(void *ctx, int64_t object_id, const weir_meta_range *r) {
    weir_log *log = ctx;
    weir_topic *t = topic_by_id_any(log, r->topic_id);
    weir_object *o = object_find(log, object_id);
    if (!t || !o || r->partition < 0 || r->partition >= t->npartitions) return WEIR_OK;
    weir_chunk c = {.base = r->base_offset, .end = r->end_offset, .max_ts = r->max_timestamp, .obj = o,
                    .pos = r->position, .len = r->length, .data = NULL};
    weir_partition_add_chunk(t->partitions[r->partition], &c);
    return WEIR_OK;
}

static void *storage_worker_make(weir_log *log) { return log->meta; }

static void *reader_worker_make(weir_log *log) {
    (void)log;
    weir_buf *scratch = calloc(1, sizeof *scratch);
    if (!scratch) abort();
    return scratch;
}

static void reader_worker_free(void *w) {
    weir_buf_free(w);
    free(w);
}

static int mkdir_p(const char *path, weir_err *err) {
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
                return weir_err_set(err, "cannot create directory %s: %s", tmp, strerror(errno));
            *p = '/';
        }
    if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
        return weir_err_set(err, "cannot create directory %s: %s", tmp, strerror(errno));
    return WEIR_OK;
}

int weir_log_open(const weir_config *cfg, weir_loop *loop, weir_log **out, weir_err *err) {
    weir_log *log = calloc(1, sizeof *log);
    if (!log) abort();
    log->cfg = *cfg;
    log->loop = loop;
    log->watchers.next = log->watchers.prev = &log->watchers;
    char path[1200];
    if (mkdir_p(cfg->log_dirs, err) != WEIR_OK) goto fail;
    snprintf(path, sizeof path, "%s/objects", cfg->log_dirs);
    if (weir_objstore_open_fs(path, &log->store, err) != WEIR_OK) goto fail;
    snprintf(path, sizeof path, "%s/meta.sqlite", cfg->log_dirs);
    if (weir_meta_open_sqlite(path, &log->meta, err) != WEIR_OK) goto fail;
    weir_meta_loader loader = {log, load_topic, load_partition, load_object, load_range};
    if (weir_meta_load(log->meta, &loader, err) != WEIR_OK) goto fail;
    if (weir_producer_load(log, err) != WEIR_OK) goto fail;
    int64_t max_id = 0;
    if (weir_meta_max_object_id(log->meta, &max_id, err) != WEIR_OK) goto fail;
    log->next_object_id = max_id + 1;
    int rc = weir_meta_kv_get(log->meta, "cluster.id", log->cluster_id, sizeof log->cluster_id, err);
    if (rc == WEIR_ENOTFOUND) {
        /* Kafka's cluster ids are 16 random bytes in URL-safe base64 without padding. */
        static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        uint8_t r[18] = {0};
        weir_random_bytes(r, 16);
        for (int i = 0; i < 22; i++) {
            int bit = i * 6, byte = bit / 8, shift = bit % 8;
            unsigned v = ((unsigned)r[byte] << 8 | r[byte + 1]) >> (10 - shift);
            log->cluster_id[i] = b64[v & 63];
        }
        log->cluster_id[22] = 0;
        if (weir_meta_kv_set(log->meta, "cluster.id", log->cluster_id, err) != WEIR_OK) goto fail;
    } else if (rc != WEIR_OK) {
        goto fail;
    }
    size_t nchunks = 0;
    for (size_t i = 0; i < log->ntopics; i++)
        for (int32_t k = 0; k < log->topics[i]->npartitions; k++) nchunks += log->topics[i]->partitions[k]->nchunks;
    weir_info("log", "opened %s: %zu topics, %zu objects, %zu ranges, cluster id %s", cfg->log_dirs, log->ntopics,
              log->nobjects, nchunks, log->cluster_id);
    if (weir_workq_start(&log->storage, log, 1, storage_worker_make, NULL) != WEIR_OK ||
        weir_workq_start(&log->readers, log, cfg->num_io_threads, reader_worker_make, reader_worker_free) != WEIR_OK) {
        weir_err_set(err, "cannot start worker threads");
        goto fail;
    }
    weir_log_lifecycle_start(log);
    *out = log;
    return WEIR_OK;
fail:
    weir_log_close(log);
    return WEIR_ERROR;
}

void weir_log_close(weir_log *log) {
    if (!log) return;
    weir_log_lifecycle_stop(log);
    weir_workq_stop(&log->storage);
    weir_workq_stop(&log->readers);
    for (size_t i = 0; i < log->ntopics; i++) weir_topic_unref(log, log->topics[i]);
    free(log->topics);
    for (size_t i = 0; i < log->nobjects; i++) free(log->objects[i]);
    free(log->objects);
    free(log->cache);
    weir_log_catchup_free(log);
    weir_producer_ids_free(log);
    if (log->meta) weir_meta_close(log->meta);
    if (log->store) weir_objstore_close(log->store);
    free(log);
}

/* ---- watchers ---------------------------------------------------------------------------- */

weir_log_watch *weir_log_watch_add(weir_log *log, void (*fn)(void *), void *arg) {
    weir_log_watch *w = calloc(1, sizeof *w);
    if (!w) abort();
    w->fn = fn;
    w->arg = arg;
    w->next = &log->watchers;
    w->prev = log->watchers.prev;
    w->prev->next = w;
    log->watchers.prev = w;
    return w;
}

void weir_log_watch_cancel(weir_log *log, weir_log_watch *w) {
    (void)log;
    if (!w) return;
    w->prev->next = w->next;
    w->next->prev = w->prev;
    free(w);
}

void weir_log_wake_watchers(weir_log *log) {
    /* Detach the whole list first: a woken fetch may register again. */
    weir_log_watch *first = log->watchers.next;
    if (first == &log->watchers) return;
    weir_log_watch *last = log->watchers.prev;
    log->watchers.next = log->watchers.prev = &log->watchers;
    last->next = NULL;
    while (first) {
        weir_log_watch *next = first->next;
        void (*fn)(void *) = first->fn;
        void *arg = first->arg;
        free(first);
        fn(arg);
        first = next;
    }
}

/* ---- generic metadata jobs ---------------------------------------------------------------------- */

typedef struct meta_job {
    weir_job j;
    weir_log_meta_fn fn;
    void *arg;
    weir_log_done_fn done;
    void *done_arg;
    int rc;
    weir_err err;
} meta_job;

static void meta_job_run(weir_job *j, void *worker) {
    meta_job *mj = (meta_job *)j;
    mj->err.msg[0] = 0;
    mj->rc = mj->fn(worker, mj->arg, &mj->err);
}

static void meta_job_complete(weir_job *j) {
    meta_job *mj = (meta_job *)j;
    if (mj->done) mj->done(mj->done_arg, mj->rc, &mj->err);
    free(mj);
}

void weir_log_meta_job(weir_log *log, weir_log_meta_fn fn, void *arg, weir_log_done_fn done, void *done_arg) {
    meta_job *mj = calloc(1, sizeof *mj);
    if (!mj) abort();
    mj->j.log = log;
    mj->j.run = meta_job_run;
    mj->j.complete = meta_job_complete;
    mj->fn = fn;
    mj->arg = arg;
    mj->done = done;
    mj->done_arg = done_arg;
    weir_workq_submit(&log->storage, &mj->j);
}

/* ---- admin operations ----------------------------------------------------------------------- */

/* Topic changes run as metadata jobs; admin_done applies them in memory once durable. */
typedef struct admin_job {
    weir_topic *t;
    int32_t partitions;
    weir_log_done_fn done;
    void *arg;
    weir_log *log;
    enum { ADMIN_CREATE, ADMIN_DELETE, ADMIN_PARTITIONS } kind;
} admin_job;

static int admin_run(weir_meta *m, void *arg, weir_err *err) {
    admin_job *a = arg;
    switch (a->kind) {
    case ADMIN_CREATE: {
        weir_meta_config *cfgs = calloc((size_t)a->t->nconfigs + 1, sizeof *cfgs);
        if (!cfgs) abort();
        for (int i = 0; i < a->t->nconfigs; i++) {
            cfgs[i].name = a->t->configs[i].name;
            cfgs[i].value = a->t->configs[i].value;
        }
        weir_meta_topic mt = {.name = a->t->name, .partitions = a->t->npartitions, .created_ms = a->t->created_ms,
                              .configs = cfgs, .nconfigs = a->t->nconfigs};
        memcpy(mt.id, a->t->id, 16);
        int rc = weir_meta_topic_create(m, &mt, err);
        free(cfgs);
        return rc;
    }
    case ADMIN_DELETE: return weir_meta_topic_delete(m, a->t->id, err);
    case ADMIN_PARTITIONS: return weir_meta_topic_add_partitions(m, a->t->id, a->partitions, err);
    }
    return WEIR_ERROR;
}

static void admin_done(void *arg, int rc, const weir_err *err) {
    admin_job *a = arg;
    weir_log *log = a->log;
    weir_topic *t = a->t;
    if (rc == WEIR_ENOTFOUND) rc = WEIR_OK; /* deleting what is already gone */
    switch (a->kind) {
    case ADMIN_CREATE:
        if (rc == WEIR_OK) {
            t->creating = false;
            weir_info("log", "created topic %s with %d partitions", t->name, t->npartitions);
        } else {
            weir_warn("log", "creating topic %s failed: %s", t->name, err->msg);
            topics_remove(log, t);
            weir_topic_unref(log, t);
        }
        break;
    case ADMIN_DELETE:
        if (rc == WEIR_OK) {
            weir_info("log", "deleted topic %s", t->name);
            if (log->topic_deleted_fn) log->topic_deleted_fn(log->topic_deleted_arg, t->name);
        } else {
            weir_error("log", "deleting topic %s failed: %s", t->name, err->msg);
        }
        break;
    case ADMIN_PARTITIONS:
        if (rc == WEIR_OK && !t->deleted && a->partitions > t->npartitions) {
            weir_partition **ps = realloc(t->partitions, (size_t)a->partitions * sizeof *ps);
            if (!ps) abort();
            t->partitions = ps;
            for (int32_t i = t->npartitions; i < a->partitions; i++) {
                weir_partition *p = calloc(1, sizeof *p);
                if (!p) abort();
                p->topic = t;
                p->index = i;
                ps[i] = p;
            }
            weir_info("log", "topic %s grew from %d to %d partitions", t->name, t->npartitions, a->partitions);
            t->npartitions = a->partitions;
        }
        break;
    }
    if (a->done) a->done(a->arg, rc, err);
    weir_topic_unref(log, t); /* the job's reference */
    weir_log_wake_watchers(log);
    free(a);
}

static void admin_submit(weir_log *log, weir_topic *t, int kind, int32_t partitions, weir_log_done_fn done, void *arg) {
    admin_job *a = calloc(1, sizeof *a);
    if (!a) abort();
    a->log = log;
    a->t = t;
    a->kind = kind;
    a->partitions = partitions;
    a->done = done;
    a->arg = arg;
    weir_log_meta_job(log, admin_run, a, admin_done, a);
}

void weir_log_topic_create(weir_log *log, weir_str name, int32_t partitions, const weir_topic_config *configs,
                           int nconfigs, uint8_t id_out[16], weir_log_done_fn done, void *arg) {
    uint8_t id[16];
    do {
        weir_random_bytes(id, 16);
        id[6] = (id[6] & 0x0f) | 0x40; /* UUID v4 */
        id[8] = (id[8] & 0x3f) | 0x80;
    } while (topic_by_id_any(log, id));
    weir_topic *t = topic_new(name.ptr, (size_t)name.len, id, partitions);
    t->creating = true;
    t->created_ms = weir_now_ms();
    topic_set_configs(t, configs, nconfigs);
    weir_topic_apply_configs(log, t);
    topics_add(log, t);
    weir_topic_ref(t); /* the job's */
    if (id_out) memcpy(id_out, id, 16);
    admin_submit(log, t, ADMIN_CREATE, 0, done, arg);
}

void weir_log_drop_pending(weir_log *log, weir_topic *t, int16_t error);

void weir_log_topic_delete(weir_log *log, weir_topic *t, weir_log_done_fn done, void *arg) {
    t->deleted = true;
    weir_log_drop_pending(log, t, WEIR_KERR_UNKNOWN_TOPIC_OR_PARTITION);
    topics_remove(log, t); /* the list's reference passes to the job */
    admin_submit(log, t, ADMIN_DELETE, 0, done, arg);
}

void weir_log_topic_add_partitions(weir_log *log, weir_topic *t, int32_t partitions, weir_log_done_fn done,
                                   void *arg) {
    weir_topic_ref(t);
    admin_submit(log, t, ADMIN_PARTITIONS, partitions, done, arg);
}

void weir_log_set_topic_deleted_hook(weir_log *log, void (*fn)(void *arg, const char *topic), void *arg) {
    log->topic_deleted_fn = fn;
    log->topic_deleted_arg = arg;
}
