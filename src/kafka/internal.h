/* internal.h — what the request handlers of the kafka module share: the request and
 * connection state, the response path, and the error codes used. */
#ifndef WEIR_KAFKA_INTERNAL_H
#define WEIR_KAFKA_INTERNAL_H

#include "kafka/codec.h"
#include "kafka/gen/messages.h"
#include "kafka/kafka.h"

enum {
    KERR_NONE = 0,
    KERR_OFFSET_OUT_OF_RANGE = 1,
    KERR_CORRUPT_MESSAGE = 2,
    KERR_UNKNOWN_TOPIC_OR_PARTITION = 3,
    KERR_LEADER_NOT_AVAILABLE = 5,
    KERR_REQUEST_TIMED_OUT = 7,
    KERR_MESSAGE_TOO_LARGE = 10,
    KERR_INVALID_TOPIC_EXCEPTION = 17,
    KERR_INVALID_REQUIRED_ACKS = 21,
    KERR_UNSUPPORTED_VERSION = 35,
    KERR_TOPIC_ALREADY_EXISTS = 36,
    KERR_INVALID_PARTITIONS = 37,
    KERR_INVALID_REPLICATION_FACTOR = 38,
    KERR_INVALID_REQUEST = 42,
    KERR_UNSUPPORTED_FOR_MESSAGE_FORMAT = 43,
    KERR_OUT_OF_ORDER_SEQUENCE_NUMBER = 45,
    KERR_INVALID_PRODUCER_EPOCH = 47,
    KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53,
    KERR_UNKNOWN_PRODUCER_ID = 59,
    KERR_INVALID_CONFIG = 40,
    KERR_UNKNOWN_SERVER_ERROR = -1,
    KERR_KAFKA_STORAGE_ERROR = 56,
    KERR_UNSUPPORTED_COMPRESSION_TYPE = 76,
    KERR_UNKNOWN_TOPIC_ID = 100
};

typedef struct kconn kconn;
typedef struct kreq kreq;

struct weir_kafka_server {
    weir_config cfg;
    weir_loop *loop;
    weir_log *log;
    weir_listener *listener;
    struct weir_group_coordinator *groups; /* consumer groups (group/group.h) */
    char advertised_host[256];
    int advertised_port;
};

struct kconn {
    weir_kafka_server *srv;
    weir_conn *conn; /* NULL once the connection is gone */
    kreq *head, *tail; /* requests in arrival order, answered in this order */
    int queued;
    int refs;
    bool paused;
};

struct kreq {
    kreq *next;
    kconn *kc;
    weir_kafka_server *srv;
    weir_arena arena;  /* everything of this request: frame copy, decoded structs, response parts */
    int16_t api_key, version;
    int32_t correlation_id;
    weir_str client_id;
    const weir_kafka_api_spec *spec;
    void *msg;         /* the decoded request */
    weir_buf out;      /* the encoded response frame */
    bool ready;
    void *state;       /* the handler's, for asynchronous work */
    int64_t arrived_us; /* monotonic time the frame arrived, for the latency metric */
};

/* Encodes msg as this request's response (header + body) and sends every response that
 * is now next in line on the connection. The request is freed once sent. */
void weir_kafka_respond(kreq *r, const void *msg);
/* Frees a request that gets no response (Produce with acks=0). */
void weir_kafka_no_response(kreq *r);

/* Handlers: one per API; each decodes nothing itself (r->msg is decoded) and eventually
 * calls weir_kafka_respond. */
void weir_kafka_handle_api_versions(kreq *r);
void weir_kafka_handle_metadata(kreq *r);
void weir_kafka_handle_produce(kreq *r);
void weir_kafka_handle_fetch(kreq *r);
void weir_kafka_handle_list_offsets(kreq *r);
void weir_kafka_handle_create_topics(kreq *r);
void weir_kafka_handle_delete_topics(kreq *r);
void weir_kafka_handle_create_partitions(kreq *r);
void weir_kafka_handle_describe_configs(kreq *r);
void weir_kafka_handle_find_coordinator(kreq *r);
/* producer_id.c: idempotent producers */
void weir_kafka_handle_init_producer_id(kreq *r);
/* admin_configs.c, admin_records.c: config changes, record deletion, cluster */
void weir_kafka_handle_alter_configs(kreq *r);
void weir_kafka_handle_incremental_alter_configs(kreq *r);
void weir_kafka_handle_delete_records(kreq *r);
void weir_kafka_handle_offset_for_leader_epoch(kreq *r);
void weir_kafka_handle_describe_cluster(kreq *r);
/* group_api.c: consumer groups */
void weir_kafka_handle_join_group(kreq *r);
void weir_kafka_handle_sync_group(kreq *r);
void weir_kafka_handle_heartbeat(kreq *r);
void weir_kafka_handle_leave_group(kreq *r);
void weir_kafka_handle_offset_commit(kreq *r);
void weir_kafka_handle_offset_fetch(kreq *r);
void weir_kafka_handle_describe_groups(kreq *r);
void weir_kafka_handle_list_groups(kreq *r);
void weir_kafka_handle_delete_groups(kreq *r);
void weir_kafka_handle_offset_delete(kreq *r);

/* A request that answers after several asynchronous parts (admin changes, offset
 * lookups): it responds once all are done. The state holds one count for the request
 * itself until weir_kafka_pending_release, so parts finishing at once cannot answer early. */
typedef struct weir_kafka_pending {
    kreq *r;
    void *resp;
    int pending;
} weir_kafka_pending;
typedef struct weir_kafka_pending_wait {
    weir_kafka_pending *st;
    int16_t *error_code;     /* set to UNKNOWN_SERVER_ERROR if the change fails */
    weir_str *error_message; /* and the failure's message, if not NULL */
} weir_kafka_pending_wait;
weir_kafka_pending *weir_kafka_pending_new(kreq *r, void *resp);
weir_kafka_pending_wait *weir_kafka_pending_wait_new(weir_kafka_pending *st, int16_t *error_code, weir_str *error_message);
void weir_kafka_pending_done(void *arg, int rc, const weir_err *err); /* a weir_log_done_fn */
void weir_kafka_pending_release(weir_kafka_pending *st);

/* Allocates n zeroed elements of a generated struct from the request's arena and runs
 * its _init (defaults) on each. */
#define KALLOC(r, type, n, initfn) kalloc_init((r), sizeof(type), (n), (void (*)(void *))(initfn))
void *kalloc_init(kreq *r, size_t size, int32_t n, void (*init)(void *));

/* A topic name as a NUL-terminated string in the request's arena (for messages). */
const char *kstr(kreq *r, weir_str s);

#endif
