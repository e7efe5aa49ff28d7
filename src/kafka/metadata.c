/* metadata.c — the Metadata API: brokers (just this one), the cluster id, and topics with
 * their partitions. A topic asked for that does not exist is created first when
 * auto.create.topics.enable allows it, and the answer waits until it is durable. */
#include "kafka/internal.h"

#include <string.h>

typedef struct md_state {
    int pending_creates;
} md_state;

static void md_fill_topic(kreq *r, struct weir_metadata_response_metadata_response_topic *mt, weir_topic *t) {
    weir_kafka_server *srv = r->srv;
    mt->error_code = 0;
    mt->name = weir_str_from_cstr(t->name);
    memcpy(mt->topic_id, t->id, 16);
    mt->partitions_count = t->npartitions;
    mt->partitions = KALLOC(r, struct weir_metadata_response_metadata_response_partition, t->npartitions,
                            weir_metadata_response_metadata_response_partition_init);
    int32_t *self = weir_arena_alloc(&r->arena, sizeof *self);
    *self = srv->cfg.node_id;
    for (int32_t i = 0; i < t->npartitions; i++) {
        struct weir_metadata_response_metadata_response_partition *mp = &mt->partitions[i];
        mp->error_code = 0;
        mp->partition_index = i;
        mp->leader_id = srv->cfg.node_id;
        mp->leader_epoch = 0;
        mp->replica_nodes_count = 1;
        mp->replica_nodes = self;
        mp->isr_nodes_count = 1;
        mp->isr_nodes = self;
        mp->offline_replicas_count = 0;
    }
}

static void md_answer(kreq *r) {
    struct weir_metadata_request *req = r->msg;
    weir_kafka_server *srv = r->srv;
    struct weir_metadata_response resp;
    weir_metadata_response_init(&resp);
    resp.brokers_count = 1;
    resp.brokers = KALLOC(r, struct weir_metadata_response_metadata_response_broker, 1,
                          weir_metadata_response_metadata_response_broker_init);
    resp.brokers[0].node_id = srv->cfg.node_id;
    resp.brokers[0].host = weir_str_from_cstr(srv->advertised_host);
    resp.brokers[0].port = srv->advertised_port;
    resp.cluster_id = weir_str_from_cstr(weir_log_cluster_id(srv->log));
    resp.controller_id = srv->cfg.node_id;
    bool all = req->topics_count < 0 || (r->version == 0 && req->topics_count == 0);
    if (all) {
        size_t n = 0;
        while (weir_log_topic_at(srv->log, n)) n++;
        resp.topics_count = (int32_t)n;
        resp.topics = KALLOC(r, struct weir_metadata_response_metadata_response_topic, (int32_t)n,
                             weir_metadata_response_metadata_response_topic_init);
        for (size_t i = 0; i < n; i++) md_fill_topic(r, &resp.topics[i], weir_log_topic_at(srv->log, i));
    } else {
        resp.topics_count = req->topics_count;
        resp.topics = KALLOC(r, struct weir_metadata_response_metadata_response_topic, req->topics_count,
                             weir_metadata_response_metadata_response_topic_init);
        for (int32_t i = 0; i < req->topics_count; i++) {
            struct weir_metadata_request_metadata_request_topic *rt = &req->topics[i];
            struct weir_metadata_response_metadata_response_topic *mt = &resp.topics[i];
            weir_topic *t = NULL;
            static const uint8_t zero[16];
            if (rt->name.ptr) t = weir_log_topic_find(srv->log, rt->name);
            else if (memcmp(rt->topic_id, zero, 16) != 0) t = weir_log_topic_find_id(srv->log, rt->topic_id);
            if (t) {
                md_fill_topic(r, mt, t);
                continue;
            }
            mt->name = rt->name;
            memcpy(mt->topic_id, rt->topic_id, 16);
            if (!rt->name.ptr) {
                mt->error_code = KERR_UNKNOWN_TOPIC_ID;
                continue;
            }
            weir_err err;
            int16_t check = weir_log_topic_check(srv->log, rt->name, 1, NULL, 0, &err);
            mt->error_code = check == KERR_INVALID_TOPIC_EXCEPTION ? KERR_INVALID_TOPIC_EXCEPTION
                             : check == KERR_TOPIC_ALREADY_EXISTS   ? KERR_LEADER_NOT_AVAILABLE /* being created */
                                                                    : KERR_UNKNOWN_TOPIC_OR_PARTITION;
        }
    }
    weir_kafka_respond(r, &resp);
}

static void md_created(void *arg, int rc, const weir_err *err) {
    kreq *r = arg;
    md_state *st = r->state;
    if (rc != WEIR_OK) weir_warn("kafka", "auto-creating a topic failed: %s", err->msg);
    if (--st->pending_creates == 0) md_answer(r);
}

void weir_kafka_handle_metadata(kreq *r) {
    struct weir_metadata_request *req = r->msg;
    weir_kafka_server *srv = r->srv;
    md_state *st = weir_arena_alloc(&r->arena, sizeof *st);
    r->state = st;
    bool allow = r->version < 4 || req->allow_auto_topic_creation;
    if (allow && srv->cfg.auto_create_topics_enable && req->topics_count > 0) {
        st->pending_creates = 1; /* held until every create is submitted */
        for (int32_t i = 0; i < req->topics_count; i++) {
            weir_str name = req->topics[i].name;
            if (!name.ptr || weir_log_topic_find(srv->log, name)) continue;
            weir_err err;
            if (weir_log_topic_check(srv->log, name, srv->cfg.num_partitions, NULL, 0, &err) != 0) continue;
            st->pending_creates++;
            weir_info("kafka", "auto-creating topic %.*s for %s", name.len, name.ptr, weir_conn_peer(r->kc->conn));
            weir_log_topic_create(srv->log, name, srv->cfg.num_partitions, NULL, 0, NULL, md_created, r);
        }
        if (--st->pending_creates > 0) return;
    }
    md_answer(r);
}
