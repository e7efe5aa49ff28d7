/* admin_records.c — DeleteRecords (advances partitions' log start durably), 
 * OffsetForLeaderEpoch (Weir has one leader epoch, 0, for every partition: its end
 * offset is the high watermark; other epochs are undefined, as Kafka answers for epochs
 * it does not know) and DescribeCluster (this one broker and the cluster id). */
#include "kafka/internal.h"

#include <stdlib.h>
#include <string.h>

enum { KERR_UNKNOWN_LEADER_EPOCH = 74, KERR_UNSUPPORTED_ENDPOINT_TYPE = 119 };

/* ---- DeleteRecords ---------------------------------------------------------------------------- */

typedef struct dr_wait {
    weir_kafka_pending *st;
    struct weir_delete_records_response_delete_records_partition_result *pr;
} dr_wait;

static void dr_done(void *arg, int16_t error, int64_t log_start) {
    dr_wait *w = arg;
    w->pr->error_code = error;
    w->pr->low_watermark = log_start;
    weir_kafka_pending_release(w->st);
}

void weir_kafka_handle_delete_records(kreq *r) {
    struct weir_delete_records_request *req = r->msg;
    weir_log *log = r->srv->log;
    struct weir_delete_records_response *resp = weir_arena_alloc(&r->arena, sizeof *resp);
    weir_delete_records_response_init(resp);
    weir_kafka_pending *st = weir_kafka_pending_new(r, resp);
    int32_t nt = req->topics_count > 0 ? req->topics_count : 0;
    resp->topics_count = nt;
    resp->topics = KALLOC(r, struct weir_delete_records_response_delete_records_topic_result, nt,
                             weir_delete_records_response_delete_records_topic_result_init);
    for (int32_t i = 0; i < nt; i++) {
        struct weir_delete_records_request_delete_records_topic *dt = &req->topics[i];
        struct weir_delete_records_response_delete_records_topic_result *tr = &resp->topics[i];
        int32_t np = dt->partitions_count > 0 ? dt->partitions_count : 0;
        tr->name = dt->name;
        tr->partitions_count = np;
        tr->partitions = KALLOC(r, struct weir_delete_records_response_delete_records_partition_result, np,
                                weir_delete_records_response_delete_records_partition_result_init);
        weir_topic *t = weir_log_topic_find(log, dt->name);
        for (int32_t k = 0; k < np; k++) {
            struct weir_delete_records_response_delete_records_partition_result *pr = &tr->partitions[k];
            int32_t index = dt->partitions[k].partition_index;
            pr->partition_index = index;
            pr->low_watermark = -1;
            if (!t || index < 0 || index >= t->npartitions) {
                pr->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            dr_wait *w = weir_arena_alloc(&r->arena, sizeof *w);
            w->st = st;
            w->pr = pr;
            st->pending++;
            weir_log_delete_records(log, t->partitions[index], dt->partitions[k].offset, dr_done, w);
        }
    }
    weir_kafka_pending_release(st);
}

/* ---- OffsetForLeaderEpoch ----------------------------------------------------------------------- */

void weir_kafka_handle_offset_for_leader_epoch(kreq *r) {
    struct weir_offset_for_leader_epoch_request *req = r->msg;
    weir_log *log = r->srv->log;
    struct weir_offset_for_leader_epoch_response resp;
    weir_offset_for_leader_epoch_response_init(&resp);
    int32_t nt = req->topics_count > 0 ? req->topics_count : 0;
    resp.topics_count = nt;
    resp.topics = KALLOC(r, struct weir_offset_for_leader_epoch_response_offset_for_leader_topic_result, nt,
                         weir_offset_for_leader_epoch_response_offset_for_leader_topic_result_init);
    for (int32_t i = 0; i < nt; i++) {
        struct weir_offset_for_leader_epoch_request_offset_for_leader_topic *lt = &req->topics[i];
        struct weir_offset_for_leader_epoch_response_offset_for_leader_topic_result *tr = &resp.topics[i];
        int32_t np = lt->partitions_count > 0 ? lt->partitions_count : 0;
        tr->topic = lt->topic;
        tr->partitions_count = np;
        tr->partitions = KALLOC(r, struct weir_offset_for_leader_epoch_response_epoch_end_offset, np,
                                weir_offset_for_leader_epoch_response_epoch_end_offset_init);
        weir_topic *t = weir_log_topic_find(log, lt->topic);
        for (int32_t k = 0; k < np; k++) {
            struct weir_offset_for_leader_epoch_request_offset_for_leader_partition *lp = &lt->partitions[k];
            struct weir_offset_for_leader_epoch_response_epoch_end_offset *eo = &tr->partitions[k];
            eo->partition = lp->partition;
            eo->leader_epoch = -1;
            eo->end_offset = -1;
            if (!t || lp->partition < 0 || lp->partition >= t->npartitions) {
                eo->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            if (lp->current_leader_epoch > 0) { /* newer than ours: the client knows something we do not */
                eo->error_code = KERR_UNKNOWN_LEADER_EPOCH;
                continue;
            }
            if (lp->leader_epoch == 0) {
                eo->leader_epoch = 0;
                eo->end_offset = t->partitions[lp->partition]->hw;
            }
        }
    }
    weir_kafka_respond(r, &resp);
}

/* ---- DescribeCluster ----------------------------------------------------------------------------- */

/* Cluster operations (AclOperation codes): CREATE 5, ALTER 7, DESCRIBE 8, CLUSTER_ACTION 9,
 * DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12; without ACLs all are allowed. */
#define CLUSTER_OPERATIONS ((1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12))

void weir_kafka_handle_describe_cluster(kreq *r) {
    struct weir_describe_cluster_request *req = r->msg;
    weir_kafka_server *srv = r->srv;
    struct weir_describe_cluster_response resp;
    weir_describe_cluster_response_init(&resp);
    resp.cluster_id = weir_str_from_cstr(weir_log_cluster_id(srv->log));
    resp.endpoint_type = r->version >= 1 ? req->endpoint_type : 1;
    if (r->version >= 1 && req->endpoint_type != 1) {
        resp.error_code = KERR_UNSUPPORTED_ENDPOINT_TYPE;
        resp.error_message = weir_str_from_cstr("Weir brokers describe brokers only (endpoint type 1); there are no "
                                                "separate controllers");
        weir_kafka_respond(r, &resp);
        return;
    }
    resp.controller_id = srv->cfg.node_id;
    resp.brokers_count = 1;
    resp.brokers = KALLOC(r, struct weir_describe_cluster_response_describe_cluster_broker, 1,
                          weir_describe_cluster_response_describe_cluster_broker_init);
    resp.brokers[0].broker_id = srv->cfg.node_id;
    resp.brokers[0].host = weir_str_from_cstr(srv->advertised_host);
    resp.brokers[0].port = srv->advertised_port;
    if (req->include_cluster_authorized_operations) resp.cluster_authorized_operations = CLUSTER_OPERATIONS;
    weir_kafka_respond(r, &resp);
}
