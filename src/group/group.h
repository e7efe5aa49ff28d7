/* group.h — the consumer-group coordinator (Kafka's classic group protocol) and the
 * committed offsets. Groups, members, generations and rebalances live in memory on the
 * event loop's thread; committed offsets are written to the metadata store through the
 * log's storage thread before a commit is answered, and loaded into memory at start, so
 * reads never touch the store. Every function here runs on the loop thread; callbacks
 * come back on it. Strings passed in are copied; strings and bytes handed to callbacks
 * are valid only during the call. */
#ifndef WEIR_GROUP_H
#define WEIR_GROUP_H

#include "base/base.h"
#include "log/log.h"
#include "net/net.h"

typedef struct weir_group_coordinator weir_group_coordinator;

/* Kafka error codes the coordinator answers with. */
enum {
    WEIR_GERR_NONE = 0,
    WEIR_GERR_UNKNOWN_TOPIC_OR_PARTITION = 3,
    WEIR_GERR_OFFSET_METADATA_TOO_LARGE = 12,
    WEIR_GERR_COORDINATOR_LOAD_IN_PROGRESS = 14,
    WEIR_GERR_COORDINATOR_NOT_AVAILABLE = 15,
    WEIR_GERR_ILLEGAL_GENERATION = 22,
    WEIR_GERR_INCONSISTENT_GROUP_PROTOCOL = 23,
    WEIR_GERR_INVALID_GROUP_ID = 24,
    WEIR_GERR_UNKNOWN_MEMBER_ID = 25,
    WEIR_GERR_INVALID_SESSION_TIMEOUT = 26,
    WEIR_GERR_REBALANCE_IN_PROGRESS = 27,
    WEIR_GERR_INVALID_COMMIT_OFFSET_SIZE = 28,
    WEIR_GERR_UNKNOWN_SERVER_ERROR = -1,
    WEIR_GERR_KAFKA_STORAGE_ERROR = 56,
    WEIR_GERR_NON_EMPTY_GROUP = 68,
    WEIR_GERR_GROUP_ID_NOT_FOUND = 69,
    WEIR_GERR_MEMBER_ID_REQUIRED = 79,
    WEIR_GERR_FENCED_INSTANCE_ID = 82,
    WEIR_GERR_GROUP_SUBSCRIBED_TO_TOPIC = 86
};

/* Creates the coordinator and starts loading committed offsets from the metadata store
 * (a storage-thread job); until that is done the APIs answer COORDINATOR_LOAD_IN_PROGRESS,
 * which clients retry. Reads group.initial.rebalance.delay.ms, offsets.retention.minutes
 * and offsets.retention.check.interval.ms from cfg. */
int weir_group_coordinator_new(const weir_config *cfg, weir_loop *loop, weir_log *log, weir_group_coordinator **out,
                               weir_err *err);
/* Shutdown: cancels every timer and answers every waiting JoinGroup/SyncGroup with
 * COORDINATOR_NOT_AVAILABLE, so the loop can drain. Offset commits under way finish. */
void weir_group_coordinator_stop(weir_group_coordinator *gc);
/* Frees everything; after the loop has drained. */
void weir_group_coordinator_free(weir_group_coordinator *gc);
/* True once the committed offsets are loaded. */
bool weir_group_coordinator_loaded(const weir_group_coordinator *gc);

/* ---- snapshots (for /metrics, `weir groups`, the admin API) ------------------------------- */

/* Every committed offset: group, its state name, topic, partition, offset. Lag is the
 * caller's: partition high watermark minus committed. */
void weir_group_foreach_offset(weir_group_coordinator *gc,
                               void (*fn)(void *ctx, const char *group, const char *state, const char *topic,
                                          int32_t partition, int64_t committed),
                               void *ctx);

typedef struct weir_group_member_info {
    const char *member_id;
    const char *group_instance_id; /* NULL for dynamic members */
    const char *client_id;
    const char *client_host;
} weir_group_member_info;

typedef struct weir_group_info {
    const char *group_id;
    const char *state;         /* Empty, PreparingRebalance, CompletingRebalance, Stable, Dead */
    const char *protocol_type; /* "consumer", or "" for groups that only commit offsets */
    const char *protocol;      /* the selected protocol (assignor), "" if none */
    const char *leader;        /* leader's member id, "" if none */
    int32_t generation;
    int nmembers;
    const weir_group_member_info *members;
} weir_group_info;

/* Every group (including groups that only hold committed offsets). */
void weir_group_foreach_group(weir_group_coordinator *gc, void (*fn)(void *ctx, const weir_group_info *g),
                              void *ctx);

/* ---- the protocol operations (used by kafka/group_api.c) --------------------------------- */

typedef struct weir_group_protocol {
    weir_str name;
    weir_bytes metadata;
} weir_group_protocol;

typedef struct weir_group_join_req {
    weir_str group_id, member_id, group_instance_id, protocol_type;
    weir_str client_id, client_host;
    int32_t session_timeout_ms, rebalance_timeout_ms;
    const weir_group_protocol *protocols;
    int nprotocols;
    bool require_known_member_id; /* JoinGroup v4+: a new member first gets MEMBER_ID_REQUIRED */
} weir_group_join_req;

typedef struct weir_group_join_member {
    const char *member_id;
    const char *group_instance_id;
    weir_bytes metadata;
} weir_group_join_member;

typedef struct weir_group_join_resp {
    int16_t error;
    int32_t generation;
    const char *protocol_type, *protocol_name, *leader, *member_id;
    bool skip_assignment;
    int nmembers; /* the leader gets every member with its metadata */
    const weir_group_join_member *members;
} weir_group_join_resp;

typedef void (*weir_group_join_fn)(void *arg, const weir_group_join_resp *resp);
/* Joins (or rejoins) a group; done runs when the rebalance completes (possibly now). */
void weir_group_join(weir_group_coordinator *gc, const weir_group_join_req *req, weir_group_join_fn done, void *arg);

typedef struct weir_group_assignment {
    weir_str member_id;
    weir_bytes assignment;
} weir_group_assignment;

typedef struct weir_group_sync_req {
    weir_str group_id, member_id, group_instance_id, protocol_type, protocol_name;
    int32_t generation;
    const weir_group_assignment *assignments;
    int nassignments;
} weir_group_sync_req;

typedef void (*weir_group_sync_fn)(void *arg, int16_t error, const char *protocol_type, const char *protocol_name,
                                   weir_bytes assignment);
void weir_group_sync(weir_group_coordinator *gc, const weir_group_sync_req *req, weir_group_sync_fn done, void *arg);

int16_t weir_group_heartbeat(weir_group_coordinator *gc, weir_str group_id, weir_str member_id,
                             weir_str group_instance_id, int32_t generation);
/* Removes one member (by member id, or by instance id when given: member id "" then
 * matches any). */
int16_t weir_group_leave(weir_group_coordinator *gc, weir_str group_id, weir_str member_id, weir_str group_instance_id);

/* ---- committed offsets ---------------------------------------------------------------------- */

typedef struct weir_group_offset {
    weir_str topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;
    weir_str metadata;
    int16_t error; /* in: set by the caller to skip a partition (e.g. unknown topic); out: result */
} weir_group_offset;

typedef struct weir_group_commit_req {
    weir_str group_id, member_id, group_instance_id;
    int32_t generation; /* -1 with member id "": a simple commit outside the group protocol */
    weir_group_offset *offsets;
    int noffsets;
} weir_group_commit_req;

/* Validates the member and generation, writes the offsets durably, then updates memory
 * and calls done(arg, error) with per-offset errors in req->offsets[i].error. The
 * request's memory must stay valid until done. */
void weir_group_commit(weir_group_coordinator *gc, weir_group_commit_req *req, void (*done)(void *arg, int16_t error),
                       void *arg);

/* A committed offset: WEIR_OK with the values, WEIR_ENOTFOUND if none. *metadata stays
 * valid until the next commit to that partition. Returns COORDINATOR_LOAD_IN_PROGRESS
 * in *error before the load is done. */
int weir_group_offset_get(weir_group_coordinator *gc, weir_str group_id, weir_str topic, int32_t partition,
                          int64_t *offset, int32_t *leader_epoch, const char **metadata);
/* Every committed offset of one group, ordered by topic then partition. */
void weir_group_offsets_of(weir_group_coordinator *gc, weir_str group_id,
                           void (*fn)(void *ctx, const char *topic, int32_t partition, int64_t offset,
                                      int32_t leader_epoch, const char *metadata),
                           void *ctx);
/* The group-level error for an offset fetch (load in progress), or 0. */
int16_t weir_group_fetch_check(weir_group_coordinator *gc, weir_str group_id);

/* One group of DescribeGroups: error 0 and state "Dead" for an unknown group, as Kafka. */
typedef struct weir_group_describe_member {
    const char *member_id, *group_instance_id, *client_id, *client_host;
    weir_bytes metadata, assignment;
} weir_group_describe_member;
typedef struct weir_group_description {
    int16_t error;
    const char *state, *protocol_type, *protocol;
    int nmembers;
    const weir_group_describe_member *members;
} weir_group_description;
void weir_group_describe(weir_group_coordinator *gc, weir_str group_id,
                         void (*fn)(void *ctx, const weir_group_description *d), void *ctx);

/* Deletes an empty group and its offsets (GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP otherwise);
 * done once the store has forgotten it. */
void weir_group_delete(weir_group_coordinator *gc, weir_str group_id, void (*done)(void *arg, int16_t error),
                       void *arg);

/* OffsetDelete: removes the listed partitions' offsets of a group; partitions of topics
 * the group is subscribed to get GROUP_SUBSCRIBED_TO_TOPIC. Returns the group-level error
 * (done is then not called) or 0 and calls done once durable. */
int16_t weir_group_offsets_delete(weir_group_coordinator *gc, weir_str group_id, weir_group_offset *offsets, int n,
                                  void (*done)(void *arg, int16_t error), void *arg);

/* Expires offsets of empty groups committed (or emptied) before now_ms minus the
 * retention; runs from a timer every offsets.retention.check.interval.ms. Returns how
 * many offsets expired. Exposed for tests. */
int weir_group_expire_offsets(weir_group_coordinator *gc, int64_t now_ms);

/* The name of a state. */
const char *weir_group_state_name(int state);

#endif
