/* producer_id.c — InitProducerId (v0–v4) for idempotent producers: always a new producer
 * id, allocated durably by the log (reserved in blocks in the metadata store), with epoch
 * 0. As in Kafka, a request without a transactional id never bumps the epoch of the id it
 * passes (v3+): only a transactional id owns a producer id across sessions. Transactional
 * ids are not supported yet and are refused. */
#include "kafka/internal.h"

static void init_producer_id_done(void *arg, int rc, int64_t producer_id, const weir_err *err) {
    kreq *r = arg;
    struct weir_init_producer_id_response resp;
    weir_init_producer_id_response_init(&resp);
    if (rc != WEIR_OK) {
        weir_warn("kafka", "InitProducerId from %s failed: %s", r->kc->conn ? weir_conn_peer(r->kc->conn) : "?",
                  err ? err->msg : "?");
        resp.error_code = KERR_KAFKA_STORAGE_ERROR;
        resp.producer_id = -1;
        resp.producer_epoch = -1;
    } else {
        resp.producer_id = producer_id;
        resp.producer_epoch = 0;
    }
    weir_kafka_respond(r, &resp);
}

void weir_kafka_handle_init_producer_id(kreq *r) {
    struct weir_init_producer_id_request *req = r->msg;
    if (req->transactional_id.ptr) {
        /* The response has no message field: say it in the broker log. */
        weir_warn("kafka", "InitProducerId from %s with transactional.id '%s' refused: transactions are not "
                  "supported yet (idempotence without a transactional.id is)",
                  r->kc->conn ? weir_conn_peer(r->kc->conn) : "?", kstr(r, req->transactional_id));
        struct weir_init_producer_id_response resp;
        weir_init_producer_id_response_init(&resp);
        resp.error_code = KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
        resp.producer_id = -1;
        resp.producer_epoch = -1;
        weir_kafka_respond(r, &resp);
        return;
    }
    weir_log_producer_id_alloc(r->srv->log, init_producer_id_done, r);
}
