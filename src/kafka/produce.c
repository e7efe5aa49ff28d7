/* produce.c — the Produce API: each partition's record set is validated (magic 2, sizes,
 * CRC, record count, compression) and appended to the log; with acks=1/all the answer
 * waits until the WAL object holding it is durable and committed. */
#include "kafka/internal.h"

#include <string.h>

typedef struct produce_state {
    weir_log_waiter w; /* first: the waiter's done() finds the state from it */
    kreq *r;
    struct weir_produce_response resp;
    weir_append_result **results; /* [topic][partition] */
} produce_state;

static int16_t batch_status_error(weir_batch_status s) {
    switch (s) {
    case WEIR_BATCH_OK: return KERR_NONE;
    case WEIR_BATCH_CORRUPT: return KERR_CORRUPT_MESSAGE;
    case WEIR_BATCH_OLD_MAGIC: return KERR_UNSUPPORTED_FOR_MESSAGE_FORMAT;
    case WEIR_BATCH_TOO_LARGE: return KERR_MESSAGE_TOO_LARGE;
    case WEIR_BATCH_BAD_COMPRESSION: return KERR_UNSUPPORTED_COMPRESSION_TYPE;
    }
    return KERR_CORRUPT_MESSAGE;
}

static void produce_done(weir_log_waiter *w) {
    produce_state *st = (produce_state *)w;
    kreq *r = st->r;
    for (int32_t i = 0; i < st->resp.responses_count; i++) {
        struct weir_produce_response_topic_produce_response *tr = &st->resp.responses[i];
        for (int32_t k = 0; k < tr->partition_responses_count; k++) {
            struct weir_produce_response_partition_produce_response *pr = &tr->partition_responses[k];
            weir_append_result *res = &st->results[i][k];
            if (pr->error_code != KERR_NONE) continue; /* refused before the append */
            pr->error_code = res->error;
            if (res->error == KERR_NONE) {
                pr->base_offset = res->base_offset;
                pr->log_append_time_ms = res->log_append_time;
                pr->log_start_offset = res->log_start;
            } else if (res->error == KERR_KAFKA_STORAGE_ERROR) {
                pr->error_message = weir_str_from_cstr("the object store or metadata store failed; see the broker log");
            } else if (res->error == KERR_OUT_OF_ORDER_SEQUENCE_NUMBER) {
                pr->error_message = weir_str_from_cstr("the batch's sequence does not follow the producer's last one");
            } else if (res->error == KERR_INVALID_PRODUCER_EPOCH) {
                pr->error_message = weir_str_from_cstr("the producer's epoch is older than its current one (fenced)");
            } else if (res->error == KERR_UNKNOWN_PRODUCER_ID) {
                pr->error_message = weir_str_from_cstr("no state for this producer id here: its first batch must have sequence 0");
            }
        }
    }
    weir_kafka_respond(r, &st->resp);
}

void weir_kafka_handle_produce(kreq *r) {
    struct weir_produce_request *req = r->msg;
    weir_kafka_server *srv = r->srv;
    produce_state *st = weir_arena_alloc(&r->arena, sizeof *st);
    st->r = r;
    st->w.done = produce_done;
    r->state = st;
    bool acks0 = req->acks == 0;
    bool bad_acks = req->acks != 0 && req->acks != 1 && req->acks != -1;
    weir_produce_response_init(&st->resp);
    st->resp.responses_count = req->topic_data_count > 0 ? req->topic_data_count : 0;
    st->resp.responses = KALLOC(r, struct weir_produce_response_topic_produce_response, st->resp.responses_count,
                                weir_produce_response_topic_produce_response_init);
    st->results = weir_arena_alloc(&r->arena, sizeof *st->results * (size_t)(st->resp.responses_count + 1));
    for (int32_t i = 0; i < st->resp.responses_count; i++) {
        struct weir_produce_request_topic_produce_data *td = &req->topic_data[i];
        struct weir_produce_response_topic_produce_response *tr = &st->resp.responses[i];
        int32_t np = td->partition_data_count > 0 ? td->partition_data_count : 0;
        tr->name = td->name;
        tr->partition_responses_count = np;
        tr->partition_responses = KALLOC(r, struct weir_produce_response_partition_produce_response, np,
                                         weir_produce_response_partition_produce_response_init);
        st->results[i] = weir_arena_alloc(&r->arena, sizeof **st->results * (size_t)(np + 1));
        weir_topic *t = weir_log_topic_find(srv->log, td->name);
        for (int32_t k = 0; k < np; k++) {
            struct weir_produce_request_partition_produce_data *pd = &td->partition_data[k];
            struct weir_produce_response_partition_produce_response *pr = &tr->partition_responses[k];
            pr->index = pd->index;
            pr->base_offset = -1;
            pr->log_append_time_ms = -1;
            pr->log_start_offset = -1;
            if (bad_acks) {
                pr->error_code = KERR_INVALID_REQUIRED_ACKS;
                continue;
            }
            if (!t || pd->index < 0 || pd->index >= t->npartitions) {
                pr->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            if (!pd->records.ptr || pd->records.len <= 0) {
                pr->error_code = KERR_CORRUPT_MESSAGE;
                pr->error_message = weir_str_from_cstr("empty record set");
                continue;
            }
            int max_infos = pd->records.len / WEIR_BATCH_HEADER_SIZE + 1;
            weir_batch_info *infos = weir_arena_alloc(&r->arena, sizeof *infos * (size_t)max_infos);
            int ninfos = 0;
            weir_err err;
            weir_batch_status bs = weir_batch_validate(pd->records.ptr, (size_t)pd->records.len, t->max_message_bytes,
                                                       infos, max_infos, &ninfos, &err);
            if (bs != WEIR_BATCH_OK) {
                pr->error_code = batch_status_error(bs);
                pr->error_message = weir_str_from_cstr(weir_arena_sprintf(&r->arena, "%s", err.msg));
                weir_warn("kafka", "produce to %s-%d from %s refused: %s", t->name, pd->index,
                          r->kc->conn ? weir_conn_peer(r->kc->conn) : "?", err.msg);
                continue;
            }
            /* Correct a wrong maxTimestamp in place (the frame copy is this request's own). */
            size_t pos = 0;
            for (int b = 0; b < ninfos; b++) {
                if (!t->log_append_time && infos[b].max_timestamp != infos[b].records_max_timestamp)
                    weir_batch_set_max_timestamp((uint8_t *)pd->records.ptr + pos, infos[b].records_max_timestamp);
                pos += infos[b].size;
            }
            weir_partition *p = t->partitions[pd->index];
            weir_log_append(srv->log, p, pd->records.ptr, (size_t)pd->records.len, infos, ninfos,
                            acks0 ? NULL : &st->w, acks0 ? NULL : &st->results[i][k]);
            t->bytes_in += pd->records.len; /* for /metrics */
            for (int b = 0; b < ninfos; b++) t->records_in += infos[b].record_count;
        }
    }
    if (acks0) {
        weir_kafka_no_response(r);
        return;
    }
    weir_log_waiter_arm(srv->log, &st->w);
}
