/* group_api.c — the consumer-group APIs: JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
 * OffsetCommit, OffsetFetch, DescribeGroups, ListGroups, DeleteGroups, OffsetDelete.
 * Each handler turns the decoded request into a call on the group coordinator
 * (group/group.h) and its answer into the response; the coordinator owns all group state. */
#include "group/group.h"
#include "kafka/internal.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static weir_str cs(const char *s) { return weir_str_from_cstr(s); }

/* "/127.0.0.1" as Kafka shows a member's host. */
static weir_str client_host(kreq *r) {
    if (!r->kc->conn) return cs("");
    const char *peer = weir_conn_peer(r->kc->conn);
    const char *colon = strrchr(peer, ':');
    int n = colon ? (int)(colon - peer) : (int)strlen(peer);
    return cs(weir_arena_sprintf(&r->arena, "/%.*s", n, peer));
}

/* ---- JoinGroup --------------------------------------------------------------------------- */

static void join_done(void *arg, const weir_group_join_resp *g) {
    kreq *r = arg;
    struct weir_join_group_response resp;
    weir_join_group_response_init(&resp);
    resp.error_code = g->error;
    resp.generation_id = g->generation;
    resp.protocol_type = cs(g->protocol_type);
    resp.protocol_name = cs(g->protocol_name);
    if (r->version < 7 && !resp.protocol_name.ptr) resp.protocol_name = cs("");
    resp.leader = cs(g->leader ? g->leader : "");
    resp.member_id = cs(g->member_id ? g->member_id : "");
    resp.skip_assignment = g->skip_assignment;
    resp.members_count = g->nmembers;
    resp.members = KALLOC(r, struct weir_join_group_response_join_group_response_member, g->nmembers,
                          weir_join_group_response_join_group_response_member_init);
    for (int i = 0; i < g->nmembers; i++) {
        resp.members[i].member_id = cs(g->members[i].member_id);
        resp.members[i].group_instance_id = cs(g->members[i].group_instance_id);
        resp.members[i].metadata = g->members[i].metadata.ptr ? g->members[i].metadata : (weir_bytes){(const uint8_t *)"", 0};
    }
    weir_kafka_respond(r, &resp);
}

void weir_kafka_handle_join_group(kreq *r) {
    struct weir_join_group_request *req = r->msg;
    weir_group_join_req j = {0};
    j.group_id = req->group_id;
    j.member_id = req->member_id;
    j.group_instance_id = r->version >= 5 ? req->group_instance_id : WEIR_STR_NULL;
    j.protocol_type = req->protocol_type;
    j.client_id = r->client_id;
    j.client_host = client_host(r);
    j.session_timeout_ms = req->session_timeout_ms;
    j.rebalance_timeout_ms = r->version >= 1 ? req->rebalance_timeout_ms : req->session_timeout_ms;
    j.require_known_member_id = r->version >= 4;
    int n = req->protocols_count > 0 ? req->protocols_count : 0;
    weir_group_protocol *protos = weir_arena_alloc(&r->arena, sizeof *protos * (size_t)(n + 1));
    for (int i = 0; i < n; i++) {
        protos[i].name = req->protocols[i].name;
        protos[i].metadata = req->protocols[i].metadata;
    }
    j.protocols = protos;
    j.nprotocols = n;
    weir_group_join(r->srv->groups, &j, join_done, r);
}

/* ---- SyncGroup, Heartbeat, LeaveGroup --------------------------------------------------------- */

static void sync_done(void *arg, int16_t error, const char *protocol_type, const char *protocol_name,
                      weir_bytes assignment) {
    kreq *r = arg;
    struct weir_sync_group_response resp;
    weir_sync_group_response_init(&resp);
    resp.error_code = error;
    resp.protocol_type = cs(protocol_type);
    resp.protocol_name = cs(protocol_name);
    resp.assignment = assignment.ptr ? assignment : (weir_bytes){(const uint8_t *)"", 0};
    weir_kafka_respond(r, &resp);
}

void weir_kafka_handle_sync_group(kreq *r) {
    struct weir_sync_group_request *req = r->msg;
    weir_group_sync_req s = {0};
    s.group_id = req->group_id;
    s.generation = req->generation_id;
    s.member_id = req->member_id;
    s.group_instance_id = r->version >= 3 ? req->group_instance_id : WEIR_STR_NULL;
    s.protocol_type = r->version >= 5 ? req->protocol_type : WEIR_STR_NULL;
    s.protocol_name = r->version >= 5 ? req->protocol_name : WEIR_STR_NULL;
    int n = req->assignments_count > 0 ? req->assignments_count : 0;
    weir_group_assignment *as = weir_arena_alloc(&r->arena, sizeof *as * (size_t)(n + 1));
    for (int i = 0; i < n; i++) {
        as[i].member_id = req->assignments[i].member_id;
        as[i].assignment = req->assignments[i].assignment;
    }
    s.assignments = as;
    s.nassignments = n;
    weir_group_sync(r->srv->groups, &s, sync_done, r);
}

void weir_kafka_handle_heartbeat(kreq *r) {
    struct weir_heartbeat_request *req = r->msg;
    struct weir_heartbeat_response resp;
    weir_heartbeat_response_init(&resp);
    resp.error_code = weir_group_heartbeat(r->srv->groups, req->group_id, req->member_id,
                                           r->version >= 3 ? req->group_instance_id : WEIR_STR_NULL,
                                           req->generation_id);
    weir_kafka_respond(r, &resp);
}

void weir_kafka_handle_leave_group(kreq *r) {
    struct weir_leave_group_request *req = r->msg;
    struct weir_leave_group_response resp;
    weir_leave_group_response_init(&resp);
    weir_group_coordinator *gc = r->srv->groups;
    if (r->version < 3) {
        resp.error_code = weir_group_leave(gc, req->group_id, req->member_id, WEIR_STR_NULL);
    } else if (!weir_group_coordinator_loaded(gc)) {
        resp.error_code = WEIR_GERR_COORDINATOR_LOAD_IN_PROGRESS;
    } else {
        int n = req->members_count > 0 ? req->members_count : 0;
        resp.members_count = n;
        resp.members = KALLOC(r, struct weir_leave_group_response_member_response, n,
                              weir_leave_group_response_member_response_init);
        for (int i = 0; i < n; i++) {
            struct weir_leave_group_request_member_identity *mi = &req->members[i];
            resp.members[i].member_id = mi->member_id;
            resp.members[i].group_instance_id = mi->group_instance_id;
            resp.members[i].error_code = weir_group_leave(gc, req->group_id, mi->member_id, mi->group_instance_id);
        }
    }
    weir_kafka_respond(r, &resp);
}

/* ---- OffsetCommit ------------------------------------------------------------------------------ */

typedef struct commit_state {
    weir_group_commit_req req;
} commit_state;

static void commit_done(void *arg, int16_t error) {
    kreq *r = arg;
    (void)error;
    struct weir_offset_commit_request *req = r->msg;
    commit_state *cs_ = r->state;
    struct weir_offset_commit_response resp;
    weir_offset_commit_response_init(&resp);
    int nt = req->topics_count > 0 ? req->topics_count : 0;
    resp.topics_count = nt;
    resp.topics = KALLOC(r, struct weir_offset_commit_response_offset_commit_response_topic, nt,
                         weir_offset_commit_response_offset_commit_response_topic_init);
    int k = 0;
    for (int t = 0; t < nt; t++) {
        struct weir_offset_commit_request_offset_commit_request_topic *rt = &req->topics[t];
        int np = rt->partitions_count > 0 ? rt->partitions_count : 0;
        resp.topics[t].name = rt->name;
        resp.topics[t].partitions_count = np;
        resp.topics[t].partitions = KALLOC(r, struct weir_offset_commit_response_offset_commit_response_partition, np,
                                           weir_offset_commit_response_offset_commit_response_partition_init);
        for (int p = 0; p < np; p++, k++) {
            resp.topics[t].partitions[p].partition_index = rt->partitions[p].partition_index;
            resp.topics[t].partitions[p].error_code = cs_->req.offsets[k].error;
        }
    }
    weir_kafka_respond(r, &resp);
}

void weir_kafka_handle_offset_commit(kreq *r) {
    struct weir_offset_commit_request *req = r->msg;
    commit_state *st = weir_arena_alloc(&r->arena, sizeof *st);
    r->state = st;
    st->req.group_id = req->group_id;
    st->req.generation = r->version >= 1 ? req->generation_id_or_member_epoch : -1;
    st->req.member_id = r->version >= 1 ? req->member_id : cs("");
    st->req.group_instance_id = r->version >= 7 ? req->group_instance_id : WEIR_STR_NULL;
    int total = 0;
    for (int t = 0; t < req->topics_count; t++) total += req->topics[t].partitions_count > 0 ? req->topics[t].partitions_count : 0;
    st->req.offsets = weir_arena_alloc(&r->arena, sizeof *st->req.offsets * (size_t)(total + 1));
    st->req.noffsets = total;
    int k = 0;
    for (int t = 0; t < req->topics_count; t++) {
        struct weir_offset_commit_request_offset_commit_request_topic *rt = &req->topics[t];
        weir_topic *topic = weir_log_topic_find(r->srv->log, rt->name);
        for (int p = 0; p < rt->partitions_count; p++, k++) {
            struct weir_offset_commit_request_offset_commit_request_partition *rp = &rt->partitions[p];
            weir_group_offset *o = &st->req.offsets[k];
            o->topic = rt->name;
            o->partition = rp->partition_index;
            o->offset = rp->committed_offset;
            o->leader_epoch = r->version >= 6 ? rp->committed_leader_epoch : -1;
            o->metadata = rp->committed_metadata;
            if (!topic || rp->partition_index < 0 || rp->partition_index >= topic->npartitions)
                o->error = KERR_UNKNOWN_TOPIC_OR_PARTITION;
        }
    }
    weir_group_commit(r->srv->groups, &st->req, commit_done, r);
}

/* ---- OffsetFetch --------------------------------------------------------------------------------- */

/* One partition's answer, gathered before the response structs (which differ by version)
 * are filled. */
typedef struct fetch_part {
    int32_t partition;
    int64_t offset;
    int32_t epoch;
    const char *metadata;
    int16_t error;
} fetch_part;

typedef struct fetch_topic {
    weir_str name;
    fetch_part *parts;
    int nparts, cap;
} fetch_topic;

typedef struct fetch_group {
    kreq *r;
    fetch_topic *topics;
    int ntopics, cap;
} fetch_group;

static fetch_part *fetch_add(fetch_group *fg, weir_str topic, int32_t partition) {
    fetch_topic *t = fg->ntopics ? &fg->topics[fg->ntopics - 1] : NULL;
    if (!t || t->name.len != topic.len || memcmp(t->name.ptr, topic.ptr, (size_t)topic.len) != 0) {
        if (fg->ntopics == fg->cap) {
            int cap = fg->cap ? fg->cap * 2 : 8;
            fetch_topic *n = weir_arena_alloc(&fg->r->arena, sizeof *n * (size_t)cap);
            if (fg->ntopics) memcpy(n, fg->topics, sizeof *n * (size_t)fg->ntopics);
            fg->topics = n;
            fg->cap = cap;
        }
        t = &fg->topics[fg->ntopics++];
        memset(t, 0, sizeof *t);
        t->name = topic;
    }
    if (t->nparts == t->cap) {
        int cap = t->cap ? t->cap * 2 : 8;
        fetch_part *n = weir_arena_alloc(&fg->r->arena, sizeof *n * (size_t)cap);
        if (t->nparts) memcpy(n, t->parts, sizeof *n * (size_t)t->nparts);
        t->parts = n;
        t->cap = cap;
    }
    fetch_part *p = &t->parts[t->nparts++];
    p->partition = partition;
    p->offset = -1;
    p->epoch = -1;
    p->metadata = "";
    return p;
}

static void fetch_all_one(void *ctx, const char *topic, int32_t partition, int64_t offset, int32_t leader_epoch,
                          const char *metadata) {
    fetch_group *fg = ctx;
    char *name = weir_arena_strndup(&fg->r->arena, topic, strlen(topic));
    fetch_part *p = fetch_add(fg, cs(name), partition);
    p->offset = offset;
    p->epoch = leader_epoch;
    p->metadata = metadata ? weir_arena_strndup(&fg->r->arena, metadata, strlen(metadata)) : "";
}

/* Gathers one group's offsets: the listed topics' partitions, or all (ntopics < 0). */
static void fetch_gather(kreq *r, fetch_group *fg, weir_str group, int ntopics, const weir_str *names,
                         int32_t *const *parts, const int32_t *nparts) {
    weir_group_coordinator *gc = r->srv->groups;
    memset(fg, 0, sizeof *fg);
    fg->r = r;
    if (ntopics < 0) {
        weir_group_offsets_of(gc, group, fetch_all_one, fg);
        return;
    }
    for (int t = 0; t < ntopics; t++)
        for (int i = 0; i < nparts[t]; i++) {
            fetch_part *p = fetch_add(fg, names[t], parts[t][i]);
            const char *md = NULL;
            if (weir_group_offset_get(gc, group, names[t], parts[t][i], &p->offset, &p->epoch, &md) == WEIR_OK)
                p->metadata = md ? weir_arena_strndup(&r->arena, md, strlen(md)) : "";
        }
}

void weir_kafka_handle_offset_fetch(kreq *r) {
    struct weir_offset_fetch_request *req = r->msg;
    weir_group_coordinator *gc = r->srv->groups;
    struct weir_offset_fetch_response resp;
    weir_offset_fetch_response_init(&resp);
    if (r->version < 8) {
        fetch_group fg;
        int16_t gerr = weir_group_fetch_check(gc, req->group_id);
        int nt = req->topics_count;
        weir_str *names = weir_arena_alloc(&r->arena, sizeof *names * (size_t)(nt > 0 ? nt : 1));
        int32_t **parts = weir_arena_alloc(&r->arena, sizeof *parts * (size_t)(nt > 0 ? nt : 1));
        int32_t *nparts = weir_arena_alloc(&r->arena, sizeof *nparts * (size_t)(nt > 0 ? nt : 1));
        for (int t = 0; t < nt; t++) {
            names[t] = req->topics[t].name;
            parts[t] = req->topics[t].partition_indexes;
            nparts[t] = req->topics[t].partition_indexes_count > 0 ? req->topics[t].partition_indexes_count : 0;
        }
        fetch_gather(r, &fg, req->group_id, nt, names, parts, nparts);
        resp.error_code = gerr;
        resp.topics_count = fg.ntopics;
        resp.topics = KALLOC(r, struct weir_offset_fetch_response_offset_fetch_response_topic, fg.ntopics,
                             weir_offset_fetch_response_offset_fetch_response_topic_init);
        for (int t = 0; t < fg.ntopics; t++) {
            resp.topics[t].name = fg.topics[t].name;
            resp.topics[t].partitions_count = fg.topics[t].nparts;
            resp.topics[t].partitions = KALLOC(r, struct weir_offset_fetch_response_offset_fetch_response_partition,
                                               fg.topics[t].nparts,
                                               weir_offset_fetch_response_offset_fetch_response_partition_init);
            for (int i = 0; i < fg.topics[t].nparts; i++) {
                fetch_part *p = &fg.topics[t].parts[i];
                struct weir_offset_fetch_response_offset_fetch_response_partition *o = &resp.topics[t].partitions[i];
                o->partition_index = p->partition;
                o->committed_offset = p->offset;
                o->committed_leader_epoch = p->epoch;
                o->metadata = cs(p->metadata);
                o->error_code = r->version < 2 ? gerr : p->error; /* no top-level error before v2 */
            }
        }
    } else {
        int ng = req->groups_count > 0 ? req->groups_count : 0;
        resp.groups_count = ng;
        resp.groups = KALLOC(r, struct weir_offset_fetch_response_offset_fetch_response_group, ng,
                             weir_offset_fetch_response_offset_fetch_response_group_init);
        for (int gi = 0; gi < ng; gi++) {
            struct weir_offset_fetch_request_offset_fetch_request_group *rg = &req->groups[gi];
            struct weir_offset_fetch_response_offset_fetch_response_group *og = &resp.groups[gi];
            og->group_id = rg->group_id;
            og->error_code = weir_group_fetch_check(gc, rg->group_id);
            int nt = rg->topics_count;
            weir_str *names = weir_arena_alloc(&r->arena, sizeof *names * (size_t)(nt > 0 ? nt : 1));
            int32_t **parts = weir_arena_alloc(&r->arena, sizeof *parts * (size_t)(nt > 0 ? nt : 1));
            int32_t *nparts = weir_arena_alloc(&r->arena, sizeof *nparts * (size_t)(nt > 0 ? nt : 1));
            for (int t = 0; t < nt; t++) {
                names[t] = rg->topics[t].name;
                parts[t] = rg->topics[t].partition_indexes;
                nparts[t] = rg->topics[t].partition_indexes_count > 0 ? rg->topics[t].partition_indexes_count : 0;
            }
            fetch_group fg;
            fetch_gather(r, &fg, rg->group_id, og->error_code ? 0 : nt, names, parts, nparts);
            og->topics_count = fg.ntopics;
            og->topics = KALLOC(r, struct weir_offset_fetch_response_offset_fetch_response_topics, fg.ntopics,
                                weir_offset_fetch_response_offset_fetch_response_topics_init);
            for (int t = 0; t < fg.ntopics; t++) {
                og->topics[t].name = fg.topics[t].name;
                og->topics[t].partitions_count = fg.topics[t].nparts;
                og->topics[t].partitions =
                    KALLOC(r, struct weir_offset_fetch_response_offset_fetch_response_partitions, fg.topics[t].nparts,
                           weir_offset_fetch_response_offset_fetch_response_partitions_init);
                for (int i = 0; i < fg.topics[t].nparts; i++) {
                    fetch_part *p = &fg.topics[t].parts[i];
                    struct weir_offset_fetch_response_offset_fetch_response_partitions *o =
                        &og->topics[t].partitions[i];
                    o->partition_index = p->partition;
                    o->committed_offset = p->offset;
                    o->committed_leader_epoch = p->epoch;
                    o->metadata = cs(p->metadata);
                    o->error_code = p->error;
                }
            }
        }
    }
    weir_kafka_respond(r, &resp);
}

/* ---- DescribeGroups, ListGroups ------------------------------------------------------------------ */

typedef struct describe_ctx {
    kreq *r;
    struct weir_describe_groups_response_described_group *out;
} describe_ctx;

static void describe_one(void *ctx, const weir_group_description *d) {
    describe_ctx *dc = ctx;
    kreq *r = dc->r;
    struct weir_describe_groups_response_described_group *o = dc->out;
    o->error_code = d->error;
    o->group_state = cs(weir_arena_strndup(&r->arena, d->state, strlen(d->state)));
    o->protocol_type = cs(weir_arena_strndup(&r->arena, d->protocol_type, strlen(d->protocol_type)));
    o->protocol_data = cs(weir_arena_strndup(&r->arena, d->protocol, strlen(d->protocol)));
    o->members_count = d->nmembers;
    o->members = KALLOC(r, struct weir_describe_groups_response_described_group_member, d->nmembers,
                        weir_describe_groups_response_described_group_member_init);
    /* The strings stay valid until this handler responds: nothing runs in between. */
    for (int i = 0; i < d->nmembers; i++) {
        const weir_group_describe_member *m = &d->members[i];
        o->members[i].member_id = cs(m->member_id);
        o->members[i].group_instance_id = cs(m->group_instance_id);
        o->members[i].client_id = cs(m->client_id);
        o->members[i].client_host = cs(m->client_host);
        o->members[i].member_metadata = m->metadata.ptr ? m->metadata : (weir_bytes){(const uint8_t *)"", 0};
        o->members[i].member_assignment = m->assignment.ptr ? m->assignment : (weir_bytes){(const uint8_t *)"", 0};
    }
}

void weir_kafka_handle_describe_groups(kreq *r) {
    struct weir_describe_groups_request *req = r->msg;
    struct weir_describe_groups_response resp;
    weir_describe_groups_response_init(&resp);
    int n = req->groups_count > 0 ? req->groups_count : 0;
    resp.groups_count = n;
    resp.groups = KALLOC(r, struct weir_describe_groups_response_described_group, n,
                         weir_describe_groups_response_described_group_init);
    for (int i = 0; i < n; i++) {
        resp.groups[i].group_id = req->groups[i];
        describe_ctx dc = {r, &resp.groups[i]};
        weir_group_describe(r->srv->groups, req->groups[i], describe_one, &dc);
    }
    weir_kafka_respond(r, &resp);
}

typedef struct list_ctx {
    kreq *r;
    struct weir_list_groups_request *req;
    struct weir_list_groups_response *resp;
    int cap;
} list_ctx;

static void list_one(void *ctx, const weir_group_info *g) {
    list_ctx *lc = ctx;
    kreq *r = lc->r;
    if (r->version >= 4 && lc->req->states_filter_count > 0) {
        bool match = false;
        for (int i = 0; i < lc->req->states_filter_count && !match; i++) {
            weir_str s = lc->req->states_filter[i];
            match = s.ptr && (size_t)s.len == strlen(g->state) && strncasecmp(s.ptr, g->state, (size_t)s.len) == 0;
        }
        if (!match) return;
    }
    struct weir_list_groups_response *resp = lc->resp;
    if (resp->groups_count == lc->cap) {
        int cap = lc->cap ? lc->cap * 2 : 16;
        struct weir_list_groups_response_listed_group *n =
            KALLOC(r, struct weir_list_groups_response_listed_group, cap, weir_list_groups_response_listed_group_init);
        if (resp->groups_count) memcpy(n, resp->groups, sizeof *n * (size_t)resp->groups_count);
        resp->groups = n;
        lc->cap = cap;
    }
    struct weir_list_groups_response_listed_group *o = &resp->groups[resp->groups_count++];
    o->group_id = cs(weir_arena_strndup(&r->arena, g->group_id, strlen(g->group_id)));
    o->protocol_type = cs(weir_arena_strndup(&r->arena, g->protocol_type, strlen(g->protocol_type)));
    o->group_state = cs(g->state); /* static names */
    o->group_type = cs("classic");
}

void weir_kafka_handle_list_groups(kreq *r) {
    struct weir_list_groups_response resp;
    weir_list_groups_response_init(&resp);
    if (!weir_group_coordinator_loaded(r->srv->groups)) {
        resp.error_code = WEIR_GERR_COORDINATOR_LOAD_IN_PROGRESS;
    } else {
        list_ctx lc = {r, r->msg, &resp, 0};
        weir_group_foreach_group(r->srv->groups, list_one, &lc);
    }
    weir_kafka_respond(r, &resp);
}

/* ---- DeleteGroups, OffsetDelete ------------------------------------------------------------------- */

typedef struct delete_state {
    struct weir_delete_groups_response resp;
    int pending;
} delete_state;

typedef struct delete_one_ctx {
    kreq *r;
    int index;
} delete_one_ctx;

static void delete_finish(kreq *r) {
    delete_state *st = r->state;
    if (--st->pending == 0) weir_kafka_respond(r, &st->resp);
}

static void delete_one_done(void *arg, int16_t error) {
    delete_one_ctx *dc = arg;
    delete_state *st = dc->r->state;
    st->resp.results[dc->index].error_code = error;
    delete_finish(dc->r);
}

void weir_kafka_handle_delete_groups(kreq *r) {
    struct weir_delete_groups_request *req = r->msg;
    delete_state *st = weir_arena_alloc(&r->arena, sizeof *st);
    r->state = st;
    weir_delete_groups_response_init(&st->resp);
    int n = req->groups_names_count > 0 ? req->groups_names_count : 0;
    st->resp.results_count = n;
    st->resp.results = KALLOC(r, struct weir_delete_groups_response_deletable_group_result, n,
                              weir_delete_groups_response_deletable_group_result_init);
    st->pending = 1 + n; /* one for this function, so answers that come at once do not respond early */
    for (int i = 0; i < n; i++) {
        st->resp.results[i].group_id = req->groups_names[i];
        delete_one_ctx *dc = weir_arena_alloc(&r->arena, sizeof *dc);
        dc->r = r;
        dc->index = i;
        weir_group_delete(r->srv->groups, req->groups_names[i], delete_one_done, dc);
    }
    delete_finish(r);
}

typedef struct offset_delete_state {
    weir_group_offset *offsets;
    int16_t error;
} offset_delete_state;

static void offset_delete_respond(kreq *r) {
    struct weir_offset_delete_request *req = r->msg;
    offset_delete_state *st = r->state;
    struct weir_offset_delete_response resp;
    weir_offset_delete_response_init(&resp);
    resp.error_code = st->error;
    if (!st->error) {
        int nt = req->topics_count > 0 ? req->topics_count : 0;
        resp.topics_count = nt;
        resp.topics = KALLOC(r, struct weir_offset_delete_response_offset_delete_response_topic, nt,
                             weir_offset_delete_response_offset_delete_response_topic_init);
        int k = 0;
        for (int t = 0; t < nt; t++) {
            int np = req->topics[t].partitions_count > 0 ? req->topics[t].partitions_count : 0;
            resp.topics[t].name = req->topics[t].name;
            resp.topics[t].partitions_count = np;
            resp.topics[t].partitions =
                KALLOC(r, struct weir_offset_delete_response_offset_delete_response_partition, np,
                       weir_offset_delete_response_offset_delete_response_partition_init);
            for (int p = 0; p < np; p++, k++) {
                resp.topics[t].partitions[p].partition_index = req->topics[t].partitions[p].partition_index;
                resp.topics[t].partitions[p].error_code = st->offsets[k].error;
            }
        }
    }
    weir_kafka_respond(r, &resp);
}

static void offset_delete_done(void *arg, int16_t error) {
    kreq *r = arg;
    offset_delete_state *st = r->state;
    if (error) st->error = error;
    offset_delete_respond(r);
}

void weir_kafka_handle_offset_delete(kreq *r) {
    struct weir_offset_delete_request *req = r->msg;
    offset_delete_state *st = weir_arena_alloc(&r->arena, sizeof *st);
    r->state = st;
    int total = 0;
    for (int t = 0; t < req->topics_count; t++) total += req->topics[t].partitions_count > 0 ? req->topics[t].partitions_count : 0;
    st->offsets = weir_arena_alloc(&r->arena, sizeof *st->offsets * (size_t)(total + 1));
    int k = 0;
    for (int t = 0; t < req->topics_count; t++) {
        weir_topic *topic = weir_log_topic_find(r->srv->log, req->topics[t].name);
        for (int p = 0; p < req->topics[t].partitions_count; p++, k++) {
            weir_group_offset *o = &st->offsets[k];
            o->topic = req->topics[t].name;
            o->partition = req->topics[t].partitions[p].partition_index;
            if (!topic || o->partition < 0 || o->partition >= topic->npartitions)
                o->error = KERR_UNKNOWN_TOPIC_OR_PARTITION;
        }
    }
    st->error = weir_group_offsets_delete(r->srv->groups, req->group_id, st->offsets, total, offset_delete_done, r);
    if (st->error) offset_delete_respond(r);
}
