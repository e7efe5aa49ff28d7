/* coordinator.c — FindCoordinator: on a single node this broker coordinates every group
 * and transactional id, so the answer is always itself (batched keys from v4). The
 * group protocol itself is in group_api.c. */
#include "kafka/internal.h"

void weir_kafka_handle_find_coordinator(kreq *r) {
    struct weir_find_coordinator_request *req = r->msg;
    weir_kafka_server *srv = r->srv;
    struct weir_find_coordinator_response resp;
    weir_find_coordinator_response_init(&resp);
    weir_str host = weir_str_from_cstr(srv->advertised_host);
    if (req->key_type != 0 && req->key_type != 1) {
        resp.error_code = KERR_INVALID_REQUEST;
        resp.error_message = weir_str_from_cstr("key type must be 0 (group) or 1 (transaction)");
    } else {
        resp.node_id = srv->cfg.node_id;
        resp.host = host;
        resp.port = srv->advertised_port;
    }
    if (r->version >= 4) {
        int32_t n = req->coordinator_keys_count > 0 ? req->coordinator_keys_count : 0;
        resp.coordinators_count = n;
        resp.coordinators = KALLOC(r, struct weir_find_coordinator_response_coordinator, n,
                                   weir_find_coordinator_response_coordinator_init);
        for (int32_t i = 0; i < n; i++) {
            struct weir_find_coordinator_response_coordinator *c = &resp.coordinators[i];
            c->key = req->coordinator_keys[i];
            c->error_code = resp.error_code;
            c->error_message = resp.error_message;
            c->node_id = resp.node_id;
            c->host = resp.host;
            c->port = resp.port;
        }
    }
    weir_kafka_respond(r, &resp);
}
