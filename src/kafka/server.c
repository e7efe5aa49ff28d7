/* server.c — the Kafka listener: framing in, request header and body decoding, dispatch
 * through the API table below, and in-order responses per connection. The table is the
 * one place that says which API versions Weir serves; ApiVersions answers from it. */
#include "group/group.h"
#include "kafka/internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct api_entry {
    int16_t key, min_version, max_version;
    void (*handle)(kreq *r);
} api_entry;

/* Minimum versions are low on purpose: librdkafka enables features only when the
 * advertised range contains specific old versions (Produce v0 for compression). */
static const api_entry apis[] = {
    {WEIR_API_PRODUCE, 0, 9, weir_kafka_handle_produce},
    {WEIR_API_FETCH, 4, 12, weir_kafka_handle_fetch},
    {WEIR_API_LIST_OFFSETS, 0, 7, weir_kafka_handle_list_offsets},
    {WEIR_API_METADATA, 0, 12, weir_kafka_handle_metadata},
    {WEIR_API_FIND_COORDINATOR, 0, 4, weir_kafka_handle_find_coordinator},
    {WEIR_API_INIT_PRODUCER_ID, 0, 4, weir_kafka_handle_init_producer_id},
    {WEIR_API_JOIN_GROUP, 0, 9, weir_kafka_handle_join_group},
    {WEIR_API_HEARTBEAT, 0, 4, weir_kafka_handle_heartbeat},
    {WEIR_API_LEAVE_GROUP, 0, 5, weir_kafka_handle_leave_group},
    {WEIR_API_SYNC_GROUP, 0, 5, weir_kafka_handle_sync_group},
    {WEIR_API_OFFSET_COMMIT, 0, 8, weir_kafka_handle_offset_commit},
    {WEIR_API_OFFSET_FETCH, 0, 8, weir_kafka_handle_offset_fetch},
    {WEIR_API_DESCRIBE_GROUPS, 0, 5, weir_kafka_handle_describe_groups},
    {WEIR_API_LIST_GROUPS, 0, 4, weir_kafka_handle_list_groups},
    {WEIR_API_DELETE_GROUPS, 0, 2, weir_kafka_handle_delete_groups},
    {WEIR_API_OFFSET_DELETE, 0, 0, weir_kafka_handle_offset_delete},
    {WEIR_API_API_VERSIONS, 0, 3, weir_kafka_handle_api_versions},
    {WEIR_API_CREATE_TOPICS, 0, 7, weir_kafka_handle_create_topics},
    {WEIR_API_DELETE_TOPICS, 0, 6, weir_kafka_handle_delete_topics},
    {WEIR_API_DESCRIBE_CONFIGS, 0, 4, weir_kafka_handle_describe_configs},
    {WEIR_API_CREATE_PARTITIONS, 0, 3, weir_kafka_handle_create_partitions},
    {WEIR_API_ALTER_CONFIGS, 0, 2, weir_kafka_handle_alter_configs},
    {WEIR_API_INCREMENTAL_ALTER_CONFIGS, 0, 1, weir_kafka_handle_incremental_alter_configs},
    {WEIR_API_DELETE_RECORDS, 0, 2, weir_kafka_handle_delete_records},
    {WEIR_API_OFFSET_FOR_LEADER_EPOCH, 0, 4, weir_kafka_handle_offset_for_leader_epoch},
    {WEIR_API_DESCRIBE_CLUSTER, 0, 1, weir_kafka_handle_describe_cluster},
};
#define NAPIS (sizeof apis / sizeof apis[0])

int weir_kafka_supported_apis(const weir_kafka_api_range **out) {
    static weir_kafka_api_range ranges[NAPIS];
    for (size_t i = 0; i < NAPIS; i++) {
        ranges[i].key = apis[i].key;
        ranges[i].min_version = apis[i].min_version;
        ranges[i].max_version = apis[i].max_version;
    }
    *out = ranges;
    return (int)NAPIS;
}

static const api_entry *api_find(int16_t key) {
    for (size_t i = 0; i < NAPIS; i++)
        if (apis[i].key == key) return &apis[i];
    return NULL;
}

/* ---- helpers for handlers ---------------------------------------------------------------- */

void *kalloc_init(kreq *r, size_t size, int32_t n, void (*init)(void *)) {
    if (n <= 0) return NULL;
    uint8_t *p = weir_arena_alloc(&r->arena, size * (size_t)n);
    if (init)
        for (int32_t i = 0; i < n; i++) init(p + size * (size_t)i);
    return p;
}

const char *kstr(kreq *r, weir_str s) {
    if (!s.ptr) return "(null)";
    return weir_arena_strndup(&r->arena, s.ptr, (size_t)s.len);
}

/* ---- connections and the response queue ----------------------------------------------------- */

static void kconn_unref(kconn *kc) {
    if (--kc->refs == 0) free(kc);
}

static void kreq_free(kreq *r) {
    weir_arena_free(&r->arena);
    weir_buf_free(&r->out);
    kconn_unref(r->kc);
    free(r);
}

/* Sends (or, once the connection is gone, drops) every ready response at the head. */
static void kconn_flush(kconn *kc) {
    while (kc->head && (kc->head->ready || !kc->conn)) {
        kreq *r = kc->head;
        if (!r->ready) break; /* still running: it is freed when it completes */
        kc->head = r->next;
        if (!kc->head) kc->tail = NULL;
        kc->queued--;
        if (kc->conn && r->out.len) weir_conn_send(kc->conn, r->out.data, r->out.len);
        kreq_free(r);
    }
    if (kc->conn && kc->paused && kc->queued < 256) {
        kc->paused = false;
        weir_conn_pause(kc->conn, false);
    }
}

static void kreq_complete(kreq *r) {
    kconn *kc = r->kc;
    r->ready = true;
    kc->refs++;
    kconn_flush(kc);
    kconn_unref(kc);
}

void weir_kafka_respond(kreq *r, const void *msg) {
    weir_kwriter w = {&r->out};
    weir_buf_reserve(&r->out, 256);
    r->out.len = 4;
    int16_t hv = weir_kafka_response_header_version(r->api_key, r->version);
    weir_kwrite_int32(&w, r->correlation_id);
    if (hv >= 1) weir_kwrite_uvarint(&w, 0); /* no tagged fields */
    r->spec->response_encode(&w, r->version, msg);
    weir_be32_put(r->out.data, (uint32_t)(r->out.len - 4));
    weir_metrics_request(r->api_key, r->spec->name, weir_mono_us() - r->arrived_us);
    kreq_complete(r);
}

void weir_kafka_no_response(kreq *r) {
    r->out.len = 0;
    weir_metrics_request(r->api_key, r->spec->name, weir_mono_us() - r->arrived_us);
    kreq_complete(r);
}

/* ---- requests that answer after several asynchronous parts (admin changes, ListOffsets) ---- */

weir_kafka_pending *weir_kafka_pending_new(kreq *r, void *resp) {
    weir_kafka_pending *st = weir_arena_alloc(&r->arena, sizeof *st);
    st->r = r;
    st->resp = resp;
    st->pending = 1; /* held until every operation is started */
    r->state = st;
    return st;
}

void weir_kafka_pending_release(weir_kafka_pending *st) {
    if (--st->pending == 0) weir_kafka_respond(st->r, st->resp);
}

void weir_kafka_pending_done(void *arg, int rc, const weir_err *err) {
    weir_kafka_pending_wait *w = arg;
    if (rc != WEIR_OK) {
        *w->error_code = KERR_UNKNOWN_SERVER_ERROR;
        if (w->error_message)
            *w->error_message = weir_str_from_cstr(weir_arena_sprintf(&w->st->r->arena, "%s", err->msg));
    }
    weir_kafka_pending_release(w->st);
}

weir_kafka_pending_wait *weir_kafka_pending_wait_new(weir_kafka_pending *st, int16_t *error_code, weir_str *error_message) {
    weir_kafka_pending_wait *w = weir_arena_alloc(&st->r->arena, sizeof *w);
    w->st = st;
    w->error_code = error_code;
    w->error_message = error_message;
    st->pending++;
    return w;
}

/* ---- ApiVersions ----------------------------------------------------------------------------- */

void weir_kafka_handle_api_versions(kreq *r) {
    struct weir_api_versions_response resp;
    weir_api_versions_response_init(&resp);
    const api_entry *e = api_find(WEIR_API_API_VERSIONS);
    if (r->version > e->max_version) {
        /* Answer in v0 so any client can read which versions we do speak. */
        resp.error_code = KERR_UNSUPPORTED_VERSION;
        r->version = 0;
    }
    resp.api_keys_count = (int32_t)NAPIS;
    resp.api_keys = KALLOC(r, struct weir_api_versions_response_api_version, (int32_t)NAPIS,
                           weir_api_versions_response_api_version_init);
    for (size_t i = 0; i < NAPIS; i++) {
        resp.api_keys[i].api_key = apis[i].key;
        resp.api_keys[i].min_version = apis[i].min_version;
        resp.api_keys[i].max_version = apis[i].max_version;
    }
    weir_kafka_respond(r, &resp);
}

/* ---- frames in --------------------------------------------------------------------------------- */

static void on_open(weir_conn *c, void *ctx) {
    kconn *kc = calloc(1, sizeof *kc);
    if (!kc) abort();
    kc->srv = ctx;
    kc->conn = c;
    kc->refs = 1;
    weir_conn_set_user(c, kc);
    weir_metrics_connection(+1);
}

static void on_close(weir_conn *c, void *ctx) {
    (void)ctx;
    kconn *kc = weir_conn_user(c);
    kc->conn = NULL;
    weir_metrics_connection(-1);
    kconn_flush(kc);
    kconn_unref(kc);
}

static void on_frame(weir_conn *c, uint8_t *frame, size_t len, void *ctx) {
    weir_kafka_server *srv = ctx;
    kconn *kc = weir_conn_user(c);
    if (len < 8) {
        weir_warn("kafka", "closing %s: request of %zu bytes is too short for a request header", weir_conn_peer(c), len);
        weir_conn_close(c, true);
        return;
    }
    int16_t api_key = (int16_t)weir_be16_get(frame);
    int16_t version = (int16_t)weir_be16_get(frame + 2);
    int32_t correlation_id = (int32_t)weir_be32_get(frame + 4);
    const api_entry *e = api_find(api_key);
    const weir_kafka_api_spec *spec = weir_kafka_api_spec_get(api_key);
    if (!e || !spec) {
        weir_warn("kafka", "closing %s: unsupported API key %d (correlation id %d)", weir_conn_peer(c), api_key,
                  correlation_id);
        weir_conn_close(c, true);
        return;
    }
    bool unsupported = version < e->min_version || version > e->max_version;
    if (unsupported && api_key != WEIR_API_API_VERSIONS) {
        weir_warn("kafka", "closing %s: %s v%d is not supported (versions %d-%d)", weir_conn_peer(c), spec->name,
                  version, e->min_version, e->max_version);
        weir_conn_close(c, true);
        return;
    }
    kreq *r = calloc(1, sizeof *r);
    if (!r) abort();
    weir_arena_init(&r->arena, 16384);
    r->arrived_us = weir_mono_us();
    r->kc = kc;
    kc->refs++;
    r->srv = srv;
    r->api_key = api_key;
    r->version = version;
    r->correlation_id = correlation_id;
    r->spec = spec;
    weir_buf_init(&r->out);
    /* Decoded strings and records point into the frame: keep a copy for async handlers. */
    uint8_t *copy = weir_arena_alloc(&r->arena, len);
    memcpy(copy, frame, len);
    if (kc->tail) kc->tail->next = r;
    else kc->head = r;
    kc->tail = r;
    kc->queued++;
    if (unsupported) { /* ApiVersions of a version we do not know: answer in v0 */
        r->msg = NULL;
        weir_kafka_handle_api_versions(r);
        return;
    }
    weir_kreader rd;
    weir_kreader_init(&rd, copy, len);
    struct weir_request_header hdr;
    int16_t hv = weir_kafka_request_header_version(api_key, version);
    if (weir_request_header_decode(&rd, hv, &r->arena, &hdr) != WEIR_OK) goto malformed;
    r->client_id = hdr.client_id;
    r->msg = weir_arena_alloc(&r->arena, spec->request_size);
    if (spec->request_decode(&rd, version, &r->arena, r->msg) != WEIR_OK) goto malformed;
    if (kc->queued >= 1024 && !kc->paused) { /* backpressure on deep pipelines */
        kc->paused = true;
        weir_conn_pause(c, true);
    }
    e->handle(r);
    return;
malformed:
    weir_warn("kafka", "closing %s: malformed %s v%d request (correlation id %d): %s", weir_conn_peer(c), spec->name,
              version, correlation_id, rd.why ? rd.why : "bad encoding");
    weir_kafka_no_response(r);
    weir_conn_close(c, true);
}

int weir_kafka_server_start(const weir_config *cfg, weir_loop *loop, weir_log *log, weir_kafka_server **out,
                            weir_err *err) {
    weir_kafka_server *s = calloc(1, sizeof *s);
    if (!s) abort();
    s->cfg = *cfg;
    s->loop = loop;
    s->log = log;
    char host[256];
    int port;
    if (weir_config_parse_listener(cfg->listeners, host, sizeof host, &port, err) != WEIR_OK ||
        weir_config_parse_listener(cfg->advertised_listeners, s->advertised_host, sizeof s->advertised_host,
                                   &s->advertised_port, err) != WEIR_OK) {
        free(s);
        return WEIR_ERROR;
    }
    weir_conn_handler h = {on_open, on_frame, on_close, s};
    if (weir_listener_open(loop, host, port, cfg->socket_request_max_bytes, cfg->max_connections, &h, &s->listener,
                           err) != WEIR_OK) {
        free(s);
        return WEIR_ERROR;
    }
    if (weir_group_coordinator_new(cfg, loop, log, &s->groups, err) != WEIR_OK) {
        weir_listener_close(s->listener);
        free(s);
        return WEIR_ERROR;
    }
    /* Port 0 picks a free port: advertise the one we got when the listeners are the same. */
    if (s->advertised_port == 0 && strcmp(cfg->listeners, cfg->advertised_listeners) == 0)
        s->advertised_port = weir_listener_port(s->listener);
    if (!s->advertised_host[0] || strcmp(s->advertised_host, "0.0.0.0") == 0) strcpy(s->advertised_host, "127.0.0.1");
    *out = s;
    return WEIR_OK;
}

int weir_kafka_server_port(const weir_kafka_server *s) { return weir_listener_port(s->listener); }

struct weir_group_coordinator *weir_kafka_server_groups(const weir_kafka_server *s) { return s->groups; }

void weir_kafka_server_stop(weir_kafka_server *s) {
    if (s) weir_group_coordinator_stop(s->groups); /* timers off, waiting joins answered */
    if (!s || !s->listener) return;
    weir_listener_close(s->listener);
    s->listener = NULL;
}

void weir_kafka_server_free(weir_kafka_server *s) {
    if (!s) return;
    weir_kafka_server_stop(s);
    weir_group_coordinator_free(s->groups);
    free(s);
}
