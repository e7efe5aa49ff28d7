/* internal.h — what the files of the http module share: the snapshot of broker state
 * (taken on the loop thread by snapshot.c, owned by the HTTP thread afterwards) and the
 * renderers of render.c that turn a snapshot into Prometheus text or JSON. */
#ifndef WEIR_HTTP_INTERNAL_H
#define WEIR_HTTP_INTERNAL_H

#include "http/http.h"

typedef struct http_partition {
    int32_t partition;
    int64_t log_start, hw, bytes;
} http_partition;

typedef struct http_topic {
    const char *name;
    char id[24]; /* URL-safe base64 without padding, as Kafka prints topic ids */
    int32_t npartitions;
    http_partition *partitions;
    int64_t bytes_in, records_in, bytes_out, records_out;
} http_topic;

typedef struct http_member {
    const char *member_id, *instance_id /* NULL if dynamic */, *client_id, *client_host;
} http_member;

typedef struct http_offset {
    const char *topic;
    int32_t partition;
    int64_t committed;
    int64_t end; /* the partition's high watermark, -1 if the partition is gone */
    int64_t lag; /* end - committed (never below 0), -1 if the partition is gone */
} http_offset;

typedef struct http_group {
    const char *group, *state, *protocol_type, *protocol;
    int32_t generation;
    int nmembers;
    http_member *members;
    int noffsets;
    http_offset *offsets;
} http_group;

/* Everything one HTTP answer needs, copied on the loop thread. All strings and arrays
 * live in the arena; freed with weir_http_snapshot_free on any thread. */
typedef struct weir_http_snapshot {
    weir_arena arena;
    bool groups_loaded; /* false while the coordinator loads committed offsets */
    bool have_groups;   /* a coordinator exists */
    weir_metrics metrics;
    int64_t objects, object_bytes;
    int ntopics;
    http_topic *topics;
    int ngroups;
    http_group *groups;
} weir_http_snapshot;

/* Copies the state of src. @thread loop. */
weir_http_snapshot *weir_http_snapshot_take(const weir_http_sources *src);
void weir_http_snapshot_free(weir_http_snapshot *s);

/* Renderers: append to out. @thread any (they read only the snapshot). */
void weir_http_render_metrics(const weir_http_snapshot *s, weir_buf *out);
void weir_http_render_topics_json(const weir_http_snapshot *s, weir_buf *out);
void weir_http_render_groups_json(const weir_http_snapshot *s, weir_buf *out);

#endif
