/* http.h — the HTTP listener (`http.listener`, libmicrohttpd): /metrics in Prometheus
 * text format, /healthz, /readyz, and the JSON admin API under /api/v1 that `weir topics`
 * and `weir groups` read. libmicrohttpd answers on its own threads; every look at broker
 * state is a snapshot copied on the event loop's thread (a weir_loop_post) and rendered
 * afterwards on the HTTP thread, so the loop never waits for a client. */
#ifndef WEIR_HTTP_H
#define WEIR_HTTP_H

#include "base/base.h"
#include "log/log.h"
#include "net/net.h"

struct weir_group_coordinator;
typedef struct weir_http_server weir_http_server;

/* Where the snapshots come from; groups may be NULL (no group coordinator). */
typedef struct weir_http_sources {
    weir_loop *loop;
    weir_log *log;
    struct weir_group_coordinator *groups;
} weir_http_sources;

/* Listens on cfg->http_listener ("host:port"; port 0 picks a free one) and serves from
 * its own threads. Fails with a message naming http.listener. @thread main, once the
 * Kafka listener is open (readiness assumes it). */
int weir_http_start(const weir_config *cfg, const weir_http_sources *src, weir_http_server **out, weir_err *err);
int weir_http_port(const weir_http_server *h);
/* Stops accepting and waits for the HTTP threads; requests waiting for a snapshot get
 * 503 at once. Call when the loop has stopped running and before it drains (snapshot
 * closures still queued then run during the drain, harmlessly). */
void weir_http_stop(weir_http_server *h);
void weir_http_free(weir_http_server *h);

#endif
