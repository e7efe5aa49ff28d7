/* kafka_sink.c — the 'kafka' connector's sink: one librdkafka producer per sink, shared by
 * every worker's writer (librdkafka producers are thread-safe; sharing keeps one set of
 * connections and lets rows of all workers for one partition travel in the same batches).
 * Rows are encoded with the key/value formats, partitioned per sink.partitioner, and with
 * sink.delivery-guarantee = at-least-once flush() waits for every delivery report of its
 * writer and fails on any delivery error. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "connect/kafka_internal.h"

typedef struct kafka_sink {
    kafka_opts o;
    weir_sql_job *job;
    char *bootstrap;
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    int npartitions;       /* at open (fixed and round-robin spread over these) */
    atomic_ulong rr;       /* round-robin position, shared by the writers */
    int ts_col, headers_col; /* writable metadata columns, -1 if none */
} kafka_sink;

typedef struct kafka_writer {
    kafka_sink *sink;
    int worker;
    weir_format *key, *value;
    weir_buf kbuf, vbuf;
    rd_kafka_message_t *msgs; /* write_batch's */
    size_t *offs;             /* per row: key start, key end, value start, value end */
    int msgs_cap;
    int queue_max;            /* queue.buffering.max.messages */
    /* delivery reports (served on any thread that polls the shared producer) */
    atomic_long inflight;
    pthread_mutex_t lock;
    bool failed;
    weir_err failure;
} kafka_writer;

/* Runs on whichever writer thread polls the producer; the writer is the message opaque. */
static void delivered(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    (void)opaque;
    kafka_writer *w = m->_private;
    if (!w) return;
    if (m->err) {
        pthread_mutex_lock(&w->lock);
        if (!w->failed) {
            w->failed = true;
            weir_err_set(&w->failure, "kafka sink '%s': delivery to topic %s, partition %d failed: %s",
                         w->sink->o.table->name, w->sink->o.topics[0], (int)m->partition, rd_kafka_err2str(m->err));
        }
        pthread_mutex_unlock(&w->lock);
    }
    atomic_fetch_sub(&w->inflight, 1);
}

static void sink_free(kafka_sink *s) {
    if (!s) return;
    if (s->rkt) rd_kafka_topic_destroy(s->rkt);
    if (s->rk) rd_kafka_destroy(s->rk);
    free(s->bootstrap);
    weir_kafka_opts_free(&s->o);
    free(s);
}

static int sink_open_as(const weir_sql_conn_ctx *ctx, bool upsert, void **out, weir_err *err) {
    kafka_sink *s = calloc(1, sizeof *s);
    if (!s) abort();
    if (weir_kafka_opts_parse_as(ctx->table, false, upsert, &s->o, err) != WEIR_OK) {
        free(s);
        return WEIR_ERROR;
    }
    s->job = ctx->job;
    s->ts_col = s->headers_col = -1;
    for (int c = 0; c < ctx->table->ncolumns; c++) {
        if (ctx->table->columns[c].is_virtual) continue;
        if (s->o.meta[c] == KAFKA_META_TIMESTAMP) s->ts_col = c;
        if (s->o.meta[c] == KAFKA_META_HEADERS) s->headers_col = c;
    }
    atomic_init(&s->rr, 0);
    const char *bs = weir_kafka_bootstrap(&s->o, ctx->job, err);
    if (!bs) goto fail;
    s->bootstrap = strdup(bs);
    rd_kafka_conf_t *conf;
    if (weir_kafka_conf_new(&s->o, s->bootstrap, KAFKA_ROLE_PRODUCER, &conf, err) != WEIR_OK) goto fail;
    rd_kafka_conf_set_dr_msg_cb(conf, delivered);
    s->rk = weir_kafka_client_new(&s->o, RD_KAFKA_PRODUCER, conf, err);
    if (!s->rk) goto fail;
    /* the topic must exist (a broker that creates topics on use creates it here) */
    if (weir_kafka_partition_count(&s->o, s->rk, s->o.topics[0], s->bootstrap, &s->npartitions, err) != WEIR_OK)
        goto fail;
    s->rkt = rd_kafka_topic_new(s->rk, s->o.topics[0], NULL);
    *out = s;
    return WEIR_OK;
fail:
    sink_free(s);
    return WEIR_ERROR;
}

static int sink_open(const weir_sql_conn_ctx *ctx, void **out, weir_err *err) {
    return sink_open_as(ctx, false, out, err);
}

static int upsert_sink_open(const weir_sql_conn_ctx *ctx, void **out, weir_err *err) {
    return sink_open_as(ctx, true, out, err);
}

static int sink_close(void *sv, weir_err *err) {
    kafka_sink *s = sv;
    int rc = WEIR_OK;
    /* the writers flushed already (at-least-once); with 'none' give what is queued its chance */
    if (rd_kafka_flush(s->rk, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        int left = rd_kafka_outq_len(s->rk);
        if (s->o.delivery == KAFKA_DELIVERY_AT_LEAST_ONCE)
            rc = weir_err_set(err, "kafka sink '%s': %d records to topic %s still undelivered after 60 s",
                              s->o.table->name, left, s->o.topics[0]);
        else
            weir_warn("kafka", "kafka sink '%s': %d records to topic %s undelivered at close", s->o.table->name, left,
                      s->o.topics[0]);
    }
    sink_free(s);
    return rc;
}

static int open_writer(void *sv, int worker, void **out, weir_err *err) {
    kafka_sink *s = sv;
    kafka_writer *w = calloc(1, sizeof *w);
    if (!w) abort();
    w->sink = s;
    w->worker = worker;
    atomic_init(&w->inflight, 0);
    pthread_mutex_init(&w->lock, NULL);
    weir_buf_init(&w->kbuf);
    weir_buf_init(&w->vbuf);
    char qm[32];
    size_t qlen = sizeof qm;
    w->queue_max = 100000;
    if (rd_kafka_conf_get(rd_kafka_conf(s->rk), "queue.buffering.max.messages", qm, &qlen) == RD_KAFKA_CONF_OK)
        w->queue_max = atoi(qm);
    if (w->queue_max < 1) w->queue_max = 1;
    if (weir_kafka_formats_open(&s->o, NULL, &w->key, &w->value, err) != WEIR_OK) {
        pthread_mutex_destroy(&w->lock);
        free(w);
        return WEIR_ERROR;
    }
    *out = w;
    return WEIR_OK;
}

static void close_writer(void *wv) {
    kafka_writer *w = wv;
    /* delivery reports may still name this writer: drain them first */
    while (atomic_load(&w->inflight) > 0) rd_kafka_flush(w->sink->rk, 100);
    if (w->failed && w->sink->o.delivery == KAFKA_DELIVERY_NONE)
        weir_warn("kafka", "%s (sink.delivery-guarantee is 'none': the job goes on)", w->failure.msg);
    weir_format_free(w->key);
    weir_format_free(w->value);
    weir_buf_free(&w->kbuf);
    weir_buf_free(&w->vbuf);
    free(w->msgs);
    free(w->offs);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

static const char *row_kind_name(int k) {
    switch (k) {
    case WEIR_SQL_ROW_UPDATE_BEFORE: return "-U";
    case WEIR_SQL_ROW_UPDATE_AFTER: return "+U";
    case WEIR_SQL_ROW_DELETE: return "-D";
    default: return "+I";
    }
}

/* MAP<STRING, BYTES> (nested encoding) to Kafka headers; NULL names are skipped. */
static rd_kafka_headers_t *row_headers(const weir_sql_batch *b, int col, int row) {
    const weir_sql_ltype *ty = &b->cols[col].type;
    weir_sql_nested_reader rd;
    weir_sql_nested_reader_init(&rd, weir_sql_batch_get_str(b, col, row));
    uint32_t n;
    if (!weir_sql_nested_get_count(&rd, &n)) return NULL;
    rd_kafka_headers_t *h = rd_kafka_headers_new(n ? n : 1);
    for (uint32_t i = 0; i < n; i++) {
        weir_sql_nested_value k, v;
        if (!weir_sql_nested_get(&rd, ty->elem, &k) || !weir_sql_nested_get(&rd, ty->value, &v)) break;
        if (k.is_null) continue;
        rd_kafka_header_add(h, k.s.ptr, k.s.len, v.is_null ? NULL : v.s.ptr, v.is_null ? 0 : v.s.len);
    }
    return h;
}

static int writer_failure(kafka_writer *w, weir_err *err) {
    pthread_mutex_lock(&w->lock);
    bool failed = w->failed;
    if (failed) *err = w->failure;
    pthread_mutex_unlock(&w->lock);
    return failed ? WEIR_ERROR : WEIR_OK;
}

/* What a row becomes: a record with a value; upsert-kafka's tombstone (key, null value)
 * for -D; nothing for upsert-kafka's -U (the +U after it overwrites the key, as Flink
 * drops it). With a changelog value format (debezium-json) every kind is a record whose
 * value says the kind. Anything else is an error: the table is append-only. */
enum { ROW_VALUE, ROW_TOMBSTONE, ROW_SKIP };

static int row_action(const kafka_sink *s, const weir_sql_batch *b, int row, int *action, weir_err *err) {
    int k = b->row_kinds[row];
    *action = ROW_VALUE;
    if (k == WEIR_SQL_ROW_INSERT || weir_kafka_value_is_changelog(&s->o)) return WEIR_OK;
    if (s->o.upsert) {
        if (k == WEIR_SQL_ROW_UPDATE_AFTER) return WEIR_OK;
        *action = k == WEIR_SQL_ROW_DELETE ? ROW_TOMBSTONE : ROW_SKIP;
        return WEIR_OK;
    }
    return weir_err_set(err,
                        "kafka sink '%s' is append-only; got %s (the query produces updates or deletes, which a "
                        "'kafka' table cannot take: use connector 'upsert-kafka', or 'format' = 'debezium-json')",
                        s->o.table->name, row_kind_name(k));
}

/* The fast path, for rows without timestamp or headers metadata: the whole batch is
 * encoded into two buffers and handed to librdkafka in one rd_kafka_produce_batch call
 * (one queue lock and one wakeup per batch instead of per record: the producer's share
 * of the CPU fell by about a third). */
static int write_batch(kafka_writer *w, const weir_sql_batch *b, weir_err *err) {
    kafka_sink *s = w->sink;
    int n = b->nrows;
    if (w->msgs_cap < n) {
        rd_kafka_message_t *m = realloc(w->msgs, sizeof *m * (size_t)n);
        size_t *o = realloc(w->offs, sizeof *o * 4 * (size_t)n);
        if (!m || !o) abort();
        w->msgs = m;
        w->offs = o;
        w->msgs_cap = n;
    }
    w->kbuf.len = w->vbuf.len = 0;
    /* msg i is the i-th row that makes a record (upsert-kafka skips -U) */
    int nmsg = 0;
    for (int row = 0; row < b->nrows; row++) {
        int action;
        if (row_action(s, b, row, &action, err) != WEIR_OK) return WEIR_ERROR;
        if (action == ROW_SKIP) continue;
        int i = nmsg++;
        w->offs[4 * i] = w->kbuf.len;
        if (w->key && weir_format_encode(w->key, b, row, &w->kbuf, err) != WEIR_OK) return WEIR_ERROR;
        w->offs[4 * i + 1] = w->kbuf.len;
        w->offs[4 * i + 2] = w->vbuf.len;
        if (action == ROW_TOMBSTONE) {
            w->offs[4 * i + 3] = SIZE_MAX; /* null value */
            continue;
        }
        if (weir_format_encode(w->value, b, row, &w->vbuf, err) != WEIR_OK) return WEIR_ERROR;
        w->offs[4 * i + 3] = w->vbuf.len;
    }
    n = nmsg;
    int flags = RD_KAFKA_MSG_F_COPY;
    for (int row = 0; row < n; row++) {
        rd_kafka_message_t *m = &w->msgs[row];
        memset(m, 0, sizeof *m);
        static const char empty[1];
        m->key = w->key ? (w->kbuf.data ? w->kbuf.data + w->offs[4 * row] : (uint8_t *)empty) : NULL;
        m->key_len = w->key ? w->offs[4 * row + 1] - w->offs[4 * row] : 0;
        if (w->offs[4 * row + 3] == SIZE_MAX) {
            m->payload = NULL;
            m->len = 0;
        } else {
            m->payload = w->vbuf.data ? w->vbuf.data + w->offs[4 * row + 2] : (uint8_t *)empty;
            m->len = w->offs[4 * row + 3] - w->offs[4 * row + 2];
        }
        m->_private = w;
        if (s->o.partitioner == KAFKA_PART_FIXED && s->npartitions > 0) m->partition = w->worker % s->npartitions;
        else if (s->o.partitioner == KAFKA_PART_ROUND_ROBIN && s->npartitions > 0)
            m->partition = (int32_t)(atomic_fetch_add(&s->rr, 1) % (unsigned long)s->npartitions);
        else m->partition = RD_KAFKA_PARTITION_UA;
    }
    if (s->o.partitioner != KAFKA_PART_DEFAULT && s->npartitions > 0) flags |= RD_KAFKA_MSG_F_PARTITION;
    int from = 0;
    while (from < n) {
        /* leave room first, so that a full queue does not refuse a record in the middle
         * of the batch and take a later one (that would reorder a partition) */
        while (rd_kafka_outq_len(s->rk) + (n - from) > w->queue_max && rd_kafka_outq_len(s->rk) > 0) {
            rd_kafka_poll(s->rk, 10);
            if (s->o.delivery == KAFKA_DELIVERY_AT_LEAST_ONCE && writer_failure(w, err) != WEIR_OK) return WEIR_ERROR;
        }
        atomic_fetch_add(&w->inflight, n - from);
        int sent = rd_kafka_produce_batch(s->rkt, RD_KAFKA_PARTITION_UA, flags, w->msgs + from, n - from);
        atomic_fetch_sub(&w->inflight, (n - from) - sent);
        int k = from;
        while (k < n && !w->msgs[k].err) k++;
        if (k == n) break;
        if (w->msgs[k].err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            return weir_err_set(err, "kafka sink '%s': cannot produce to topic %s: %s", s->o.table->name,
                                s->o.topics[0], rd_kafka_err2str(w->msgs[k].err));
        /* the refused ones go again, in order */
        int m = k;
        for (int j = k; j < n; j++)
            if (w->msgs[j].err) {
                w->msgs[m] = w->msgs[j];
                w->msgs[m++].err = 0;
            }
        n = m;
        from = k;
        rd_kafka_poll(s->rk, 10);
    }
    rd_kafka_poll(s->rk, 0);
    return WEIR_OK;
}

static int writer_write(void *wv, const weir_sql_batch *b, weir_err *err) {
    kafka_writer *w = wv;
    kafka_sink *s = w->sink;
    if (s->o.delivery == KAFKA_DELIVERY_AT_LEAST_ONCE && writer_failure(w, err) != WEIR_OK) return WEIR_ERROR;
    if (s->ts_col < 0 && s->headers_col < 0) return write_batch(w, b, err);
    for (int row = 0; row < b->nrows; row++) {
        int action;
        if (row_action(s, b, row, &action, err) != WEIR_OK) return WEIR_ERROR;
        if (action == ROW_SKIP) continue;
        const void *key = NULL;
        size_t klen = 0;
        if (w->key) {
            w->kbuf.len = 0;
            if (weir_format_encode(w->key, b, row, &w->kbuf, err) != WEIR_OK) return WEIR_ERROR;
            key = w->kbuf.data ? (const void *)w->kbuf.data : "";
            klen = w->kbuf.len;
        }
        w->vbuf.len = 0;
        if (action == ROW_VALUE && weir_format_encode(w->value, b, row, &w->vbuf, err) != WEIR_OK) return WEIR_ERROR;
        /* a tombstone's value is null (not empty) */
        void *value = action == ROW_TOMBSTONE ? NULL : w->vbuf.data ? (void *)w->vbuf.data : "";
        size_t vlen = action == ROW_TOMBSTONE ? 0 : w->vbuf.len;
        int32_t partition = RD_KAFKA_PARTITION_UA;
        if (s->o.partitioner == KAFKA_PART_FIXED && s->npartitions > 0) partition = w->worker % s->npartitions;
        else if (s->o.partitioner == KAFKA_PART_ROUND_ROBIN && s->npartitions > 0)
            partition = (int32_t)(atomic_fetch_add(&s->rr, 1) % (unsigned long)s->npartitions);
        int64_t ts = 0; /* 0: now (CreateTime) */
        if (s->ts_col >= 0 && !weir_sql_batch_is_null(b, s->ts_col, row)) {
            int64_t us = weir_sql_batch_get_i64(b, s->ts_col, row);
            ts = us / 1000 - (us % 1000 < 0);
        }
        rd_kafka_headers_t *h = NULL;
        if (s->headers_col >= 0 && !weir_sql_batch_is_null(b, s->headers_col, row))
            h = row_headers(b, s->headers_col, row);
        atomic_fetch_add(&w->inflight, 1);
        for (;;) {
            rd_kafka_resp_err_t e;
            if (h)
                e = rd_kafka_producev(s->rk, RD_KAFKA_V_RKT(s->rkt), RD_KAFKA_V_PARTITION(partition),
                                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, klen),
                                      RD_KAFKA_V_VALUE(value, vlen),
                                      RD_KAFKA_V_TIMESTAMP(ts), RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_OPAQUE(w),
                                      RD_KAFKA_V_END);
            else
                e = rd_kafka_producev(s->rk, RD_KAFKA_V_RKT(s->rkt), RD_KAFKA_V_PARTITION(partition),
                                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, klen),
                                      RD_KAFKA_V_VALUE(value, vlen),
                                      RD_KAFKA_V_TIMESTAMP(ts), RD_KAFKA_V_OPAQUE(w), RD_KAFKA_V_END);
            if (!e) break;
            if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                /* the local queue drains as the cluster acknowledges */
                rd_kafka_poll(s->rk, 10);
                if (s->o.delivery == KAFKA_DELIVERY_AT_LEAST_ONCE && writer_failure(w, err) != WEIR_OK) {
                    atomic_fetch_sub(&w->inflight, 1);
                    if (h) rd_kafka_headers_destroy(h);
                    return WEIR_ERROR;
                }
                continue;
            }
            atomic_fetch_sub(&w->inflight, 1);
            if (h) rd_kafka_headers_destroy(h);
            return weir_err_set(err, "kafka sink '%s': cannot produce to topic %s: %s", s->o.table->name,
                                s->o.topics[0], rd_kafka_err2str(e));
        }
    }
    rd_kafka_poll(s->rk, 0);
    return WEIR_OK;
}

static int writer_flush(void *wv, weir_err *err) {
    kafka_writer *w = wv;
    kafka_sink *s = w->sink;
    if (s->o.delivery != KAFKA_DELIVERY_AT_LEAST_ONCE) {
        rd_kafka_poll(s->rk, 0);
        return WEIR_OK;
    }
    /* rd_kafka_flush sends lingering batches at once and serves delivery reports; other
     * writers' records may keep it busy, so wait on this writer's own count */
    while (atomic_load(&w->inflight) > 0) {
        rd_kafka_flush(s->rk, 100);
        char why[256];
        rd_kafka_resp_err_t fe = rd_kafka_fatal_error(s->rk, why, sizeof why);
        if (fe) return weir_err_set(err, "kafka sink '%s': the producer failed: %s", s->o.table->name, why);
    }
    return writer_failure(w, err);
}

const weir_sql_sink_ops weir_upsert_kafka_sink_ops = {
    .open = upsert_sink_open,
    .open_writer = open_writer,
    .write = writer_write,
    .flush = writer_flush,
    .close_writer = close_writer,
    .close = sink_close,
};

const weir_sql_sink_ops weir_kafka_sink_ops = {
    .open = sink_open,
    .open_writer = open_writer,
    .write = writer_write,
    .flush = writer_flush,
    .close_writer = close_writer,
    .close = sink_close,
};
