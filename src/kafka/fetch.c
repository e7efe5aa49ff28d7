/* fetch.c — the Fetch API (with long polling: the answer waits, up to max.wait.ms, for
 * min.bytes to arrive) and the ListOffsets API (earliest, latest, by timestamp, max
 * timestamp). Data comes from the log's tail cache or, for older offsets, from objects
 * read by the reader threads. */
#include "kafka/internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct fetch_state {
    kreq *r;
    struct weir_fetch_response resp;
    weir_log_read_req rr;
    int32_t *read_topic, *read_part; /* where each read goes in resp */
    weir_log_watch *watch;
    weir_timer *timer;
    bool final;   /* max.wait.ms has passed: answer with what there is */
    bool reading; /* object reads in flight: a timeout only marks final */
} fetch_state;

static void fetch_run(fetch_state *st);

static void fetch_free_reads(fetch_state *st) {
    for (int i = 0; i < st->rr.nreads; i++) weir_buf_free(&st->rr.reads[i].data);
}

/* Counts bytes and records (lastOffsetDelta + 1 of each whole batch) sent out of a topic,
 * for /metrics. The topic is looked up again: it may have gone while the read ran. */
static void fetch_count_out(kreq *r, weir_str name, const weir_buf *data) {
    weir_topic *t = weir_log_topic_find(r->srv->log, name);
    if (!t) return;
    t->bytes_out += (int64_t)data->len;
    size_t pos = 0;
    while (pos + WEIR_BATCH_HEADER_SIZE <= data->len) {
        const uint8_t *b = data->data + pos;
        size_t size = 12 + (size_t)weir_be32_get(b + WEIR_BATCH_LENGTH);
        if (pos + size > data->len) break;
        t->records_out += (int64_t)(int32_t)weir_be32_get(b + WEIR_BATCH_LAST_OFFSET_DELTA) + 1;
        pos += size;
    }
}

/* Fills the response from the reads, keeping whole partitions' data while the response
 * stays within max_bytes (the first non-empty partition always). */
static void fetch_answer(fetch_state *st) {
    kreq *r = st->r;
    struct weir_fetch_request *req = r->msg;
    int64_t max_bytes = r->version >= 3 ? req->max_bytes : INT32_MAX;
    int64_t total = 0;
    for (int i = 0; i < st->rr.nreads; i++) {
        weir_log_read *rd = &st->rr.reads[i];
        struct weir_fetch_response_partition_data *pd = &st->resp.responses[st->read_topic[i]].partitions[st->read_part[i]];
        pd->error_code = rd->error;
        pd->high_watermark = rd->hw;
        pd->last_stable_offset = rd->hw;
        pd->log_start_offset = rd->log_start;
        if (rd->data.len && (total == 0 || total + (int64_t)rd->data.len <= max_bytes)) {
            pd->records.ptr = rd->data.data; /* encoded before the reads are freed */
            pd->records.len = (int32_t)rd->data.len;
            total += (int64_t)rd->data.len;
            fetch_count_out(r, req->topics[st->read_topic[i]].topic, &rd->data);
        }
    }
    /* responding may free the request and its arena (st, the reads): keep the buffers */
    int n = st->rr.nreads;
    uint8_t **bufs = malloc(sizeof *bufs * (size_t)(n + 1));
    if (!bufs) abort();
    for (int i = 0; i < n; i++) bufs[i] = st->rr.reads[i].data.data;
    weir_kafka_respond(r, &st->resp);
    for (int i = 0; i < n; i++) free(bufs[i]);
    free(bufs);
}

static void fetch_timeout(void *arg) {
    fetch_state *st = arg;
    st->timer = NULL;
    if (st->watch) {
        weir_log_watch_cancel(st->r->srv->log, st->watch);
        st->watch = NULL;
    }
    st->final = true;
    if (!st->reading) fetch_run(st); /* else the read's completion answers */
}

static void fetch_wake(void *arg) {
    fetch_state *st = arg;
    st->watch = NULL;
    fetch_run(st);
}

static void fetch_after_read(fetch_state *st) {
    kreq *r = st->r;
    struct weir_fetch_request *req = r->msg;
    int64_t total = 0;
    bool errors = false;
    for (int i = 0; i < st->rr.nreads; i++) {
        total += (int64_t)st->rr.reads[i].data.len;
        if (st->rr.reads[i].error) errors = true;
    }
    if (st->final || errors || total >= req->min_bytes || req->max_wait_ms <= 0) {
        if (st->timer) {
            weir_timer_cancel(r->srv->loop, st->timer);
            st->timer = NULL;
        }
        fetch_answer(st);
        return;
    }
    /* Nothing yet: wait for a commit, or for max.wait.ms. */
    fetch_free_reads(st);
    if (!st->timer) st->timer = weir_timer_add(r->srv->loop, req->max_wait_ms, fetch_timeout, st);
    st->watch = weir_log_watch_add(r->srv->log, fetch_wake, st);
}

static void fetch_read_done(weir_log_read_req *rr) {
    fetch_state *st = rr->arg;
    st->reading = false;
    fetch_after_read(st);
}

/* (Re)reads every partition; topics are looked up again each time since one may have
 * been deleted while the request waited. */
static void fetch_run(fetch_state *st) {
    kreq *r = st->r;
    struct weir_fetch_request *req = r->msg;
    weir_log *log = r->srv->log;
    int n = 0;
    for (int32_t i = 0; i < req->topics_count; i++) {
        weir_topic *t = weir_log_topic_find(log, req->topics[i].topic);
        for (int32_t k = 0; k < req->topics[i].partitions_count; k++) {
            struct weir_fetch_request_fetch_partition *fp = &req->topics[i].partitions[k];
            weir_log_read *rd = &st->rr.reads[n++];
            memset(rd, 0, sizeof *rd);
            rd->topic = t;
            rd->partition = fp->partition;
            rd->offset = fp->fetch_offset;
            int32_t mb = fp->partition_max_bytes;
            if (r->version >= 3 && req->max_bytes < mb) mb = req->max_bytes;
            rd->max_bytes = mb;
            rd->allow_oversize = true;
            weir_buf_init(&rd->data);
        }
    }
    if (weir_log_fetch(log, &st->rr) == WEIR_OK) fetch_after_read(st);
    else st->reading = true;
}

void weir_kafka_handle_fetch(kreq *r) {
    struct weir_fetch_request *req = r->msg;
    fetch_state *st = weir_arena_alloc(&r->arena, sizeof *st);
    st->r = r;
    r->state = st;
    weir_fetch_response_init(&st->resp);
    st->resp.session_id = 0; /* no incremental fetch sessions: every fetch is a full one */
    int32_t nt = req->topics_count > 0 ? req->topics_count : 0;
    st->resp.responses_count = nt;
    st->resp.responses = KALLOC(r, struct weir_fetch_response_fetchable_topic_response, nt,
                                weir_fetch_response_fetchable_topic_response_init);
    int nreads = 0;
    for (int32_t i = 0; i < nt; i++) nreads += req->topics[i].partitions_count > 0 ? req->topics[i].partitions_count : 0;
    st->rr.reads = weir_arena_alloc(&r->arena, sizeof *st->rr.reads * (size_t)(nreads + 1));
    st->rr.nreads = nreads;
    st->rr.done = fetch_read_done;
    st->rr.arg = st;
    st->read_topic = weir_arena_alloc(&r->arena, sizeof(int32_t) * (size_t)(nreads + 1));
    st->read_part = weir_arena_alloc(&r->arena, sizeof(int32_t) * (size_t)(nreads + 1));
    int n = 0;
    for (int32_t i = 0; i < nt; i++) {
        struct weir_fetch_request_fetch_topic *ft = &req->topics[i];
        struct weir_fetch_response_fetchable_topic_response *tr = &st->resp.responses[i];
        int32_t np = ft->partitions_count > 0 ? ft->partitions_count : 0;
        tr->topic = ft->topic;
        memcpy(tr->topic_id, ft->topic_id, 16);
        tr->partitions_count = np;
        tr->partitions = KALLOC(r, struct weir_fetch_response_partition_data, np, weir_fetch_response_partition_data_init);
        for (int32_t k = 0; k < np; k++) {
            struct weir_fetch_response_partition_data *pd = &tr->partitions[k];
            pd->partition_index = ft->partitions[k].partition;
            pd->aborted_transactions_count = req->isolation_level == 1 ? 0 : -1;
            pd->records.ptr = (const uint8_t *)"";
            pd->records.len = 0;
            st->read_topic[n] = i;
            st->read_part[n] = k;
            n++;
        }
    }
    fetch_run(st);
}

/* ---- ListOffsets -------------------------------------------------------------------------------- */

typedef struct lo_wait {
    weir_kafka_pending *st; /* the shared pending count: answers when every lookup is done */
    struct weir_list_offsets_response_list_offsets_partition_response *pr;
} lo_wait;

static void lo_set(kreq *r, struct weir_list_offsets_response_list_offsets_partition_response *pr, int64_t offset,
                   int64_t ts) {
    pr->offset = offset;
    pr->timestamp = ts;
    if (r->version == 0) {
        pr->old_style_offsets_count = offset >= 0 ? 1 : 0;
        pr->old_style_offsets = weir_arena_alloc(&r->arena, sizeof(int64_t));
        pr->old_style_offsets[0] = offset;
    }
}

static void lo_found(void *arg, int16_t error, int64_t offset, int64_t ts) {
    lo_wait *w = arg;
    w->pr->error_code = error;
    lo_set(w->st->r, w->pr, offset, ts);
    weir_kafka_pending_release(w->st);
}

void weir_kafka_handle_list_offsets(kreq *r) {
    struct weir_list_offsets_request *req = r->msg;
    weir_log *log = r->srv->log;
    struct weir_list_offsets_response *resp = weir_arena_alloc(&r->arena, sizeof *resp);
    weir_list_offsets_response_init(resp);
    weir_kafka_pending *st = weir_kafka_pending_new(r, resp);
    int32_t nt = req->topics_count > 0 ? req->topics_count : 0;
    resp->topics_count = nt;
    resp->topics = KALLOC(r, struct weir_list_offsets_response_list_offsets_topic_response, nt,
                             weir_list_offsets_response_list_offsets_topic_response_init);
    for (int32_t i = 0; i < nt; i++) {
        struct weir_list_offsets_request_list_offsets_topic *lt = &req->topics[i];
        struct weir_list_offsets_response_list_offsets_topic_response *tr = &resp->topics[i];
        int32_t np = lt->partitions_count > 0 ? lt->partitions_count : 0;
        tr->name = lt->name;
        tr->partitions_count = np;
        tr->partitions = KALLOC(r, struct weir_list_offsets_response_list_offsets_partition_response, np,
                                weir_list_offsets_response_list_offsets_partition_response_init);
        weir_topic *t = weir_log_topic_find(log, lt->name);
        for (int32_t k = 0; k < np; k++) {
            struct weir_list_offsets_request_list_offsets_partition *lp = &lt->partitions[k];
            struct weir_list_offsets_response_list_offsets_partition_response *pr = &tr->partitions[k];
            pr->partition_index = lp->partition_index;
            pr->offset = -1;
            pr->timestamp = -1;
            if (!t || lp->partition_index < 0 || lp->partition_index >= t->npartitions) {
                pr->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            weir_partition *p = t->partitions[lp->partition_index];
            pr->leader_epoch = 0;
            if (lp->timestamp == -1) lo_set(r, pr, p->hw, -1);
            else if (lp->timestamp == -2) lo_set(r, pr, p->log_start, -1);
            else if (lp->timestamp < -3) pr->error_code = KERR_INVALID_REQUEST;
            else {
                lo_wait *w = weir_arena_alloc(&r->arena, sizeof *w);
                w->st = st;
                w->pr = pr;
                st->pending++;
                weir_log_offset_for_time(log, p, lp->timestamp, lo_found, w);
            }
        }
    }
    weir_kafka_pending_release(st);
}
