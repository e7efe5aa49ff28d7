/* kafka.h — the Kafka protocol front end: accepts client connections on the Kafka
 * listener, decodes requests with the generated codec, runs each API's handler against
 * the log, and answers in request order on every connection. */
#ifndef WEIR_KAFKA_H
#define WEIR_KAFKA_H

#include "base/base.h"
#include "log/log.h"
#include "net/net.h"

typedef struct weir_kafka_server weir_kafka_server;

/* Starts listening on cfg->listeners. @thread the loop's, before weir_loop_run. */
int weir_kafka_server_start(const weir_config *cfg, weir_loop *loop, weir_log *log, weir_kafka_server **out,
                            weir_err *err);
int weir_kafka_server_port(const weir_kafka_server *s);
/* The consumer-group coordinator the server owns (for /metrics and the admin API). */
struct weir_group_coordinator *weir_kafka_server_groups(const weir_kafka_server *s);
/* Stops accepting and closes every connection; requests under way still finish (their
 * answers are dropped), so free only after the loop has drained. */
void weir_kafka_server_stop(weir_kafka_server *s);
void weir_kafka_server_free(weir_kafka_server *s);

/* The APIs and versions this broker serves (for ApiVersions and the docs). */
typedef struct weir_kafka_api_range {
    int16_t key, min_version, max_version;
} weir_kafka_api_range;
int weir_kafka_supported_apis(const weir_kafka_api_range **out);

#endif
