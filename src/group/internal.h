/* internal.h — what the files of the group module share: the coordinator, groups,
 * members and committed offsets as they live on the loop thread. group.c runs the
 * membership protocol; offsets.c keeps committed offsets (memory + metadata store). */
#ifndef WEIR_GROUP_INTERNAL_H
#define WEIR_GROUP_INTERNAL_H

#include "group/group.h"

enum { GS_EMPTY, GS_PREPARING, GS_COMPLETING, GS_STABLE, GS_DEAD };

typedef struct gproto {
    char *name;
    uint8_t *meta;
    int32_t len;
} gproto;

typedef struct ggroup ggroup;
typedef struct gmember gmember;

struct gmember {
    gmember *next;
    ggroup *g;
    char *id;
    char *instance_id; /* NULL: dynamic member */
    char *client_id, *client_host;
    int32_t session_timeout_ms, rebalance_timeout_ms;
    gproto *protos;
    int nprotos;
    uint8_t *assignment;
    int32_t assignment_len;
    weir_group_join_fn join_done; /* waiting in JoinGroup */
    void *join_arg;
    weir_group_sync_fn sync_done; /* waiting in SyncGroup */
    void *sync_arg;
    weir_timer *session_timer;
    bool is_new; /* joined during the current rebalance */
};

/* A member id handed out with MEMBER_ID_REQUIRED, not yet joined. */
typedef struct gpending {
    struct gpending *next;
    char *id;
    int64_t expires_ms;
} gpending;

typedef struct goffset {
    char *topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;
    char *metadata; /* NULL: null */
    int64_t commit_ms;
} goffset;

struct ggroup {
    ggroup *next;
    weir_group_coordinator *gc;
    char *id;
    int state;
    int32_t generation;
    char *protocol_type; /* NULL until a member joins */
    char *protocol;      /* selected at the end of a join */
    char *leader;        /* member id */
    gmember *members;
    int nmembers;
    gpending *pending;
    weir_timer *join_timer;
    int64_t rebalance_deadline_ms; /* mono: the join completes by then at the latest */
    bool initial_delay;            /* rebalance of an empty group: wait for more joiners */
    bool new_member_added;         /* during the initial delay */
    int64_t empty_since_ms;        /* wall clock of the last transition to Empty (0 = unknown) */
    goffset *offsets;              /* sorted by (topic, partition) */
    int noffsets, capoffsets;
};

struct weir_group_coordinator {
    weir_loop *loop;
    weir_log *log;
    ggroup *groups;
    bool loaded, stopping;
    int64_t initial_delay_ms;
    int64_t retention_ms;
    int64_t retention_check_ms;
    weir_timer *retention_timer;
    uint64_t member_seq;
};

ggroup *group_find(weir_group_coordinator *gc, weir_str id);
ggroup *group_get(weir_group_coordinator *gc, weir_str id); /* creates an Empty group */
/* Removes the group when it is empty and holds no offsets. */
void group_maybe_remove(weir_group_coordinator *gc, ggroup *g);
void group_free(ggroup *g);
gmember *member_find(ggroup *g, weir_str id);
/* Restarts a member's session timer (a heartbeat, a join, a sync, a commit). */
void member_touch(gmember *m);

/* offsets.c */
goffset *offsets_find(ggroup *g, weir_str topic, int32_t partition);
void offsets_set(ggroup *g, weir_str topic, int32_t partition, int64_t offset, int32_t leader_epoch,
                 weir_str metadata, int64_t commit_ms);
void offsets_remove(ggroup *g, weir_str topic, int32_t partition);
void offsets_free(ggroup *g);
void offsets_start(weir_group_coordinator *gc);
/* Drops a deleted topic's committed offsets (on: from now on; off: no longer). */
void offsets_watch_deletions(weir_group_coordinator *gc, bool on);

char *gstrdup(weir_str s); /* NULL for a null string */

#endif
