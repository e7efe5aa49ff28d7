/* offsets.c — committed offsets of consumer groups. Memory on the loop thread is the
 * read side (OffsetFetch, lag snapshots); the metadata store is the durable side: a
 * commit is written through the log's storage thread (weir_log_meta_job) and only then
 * applied to memory and answered. At start every row is loaded by a storage-thread job;
 * until it is done the APIs answer COORDINATOR_LOAD_IN_PROGRESS. A timer expires the
 * offsets of empty groups after offsets.retention.minutes. */
#include "group/internal.h"
#include "meta/meta.h"

#include <stdlib.h>
#include <string.h>

#define MAX_METADATA_BYTES 4096

static int offset_cmp(const goffset *o, weir_str topic, int32_t partition) {
    size_t n = strlen(o->topic);
    size_t tn = topic.ptr ? (size_t)topic.len : 0;
    int c = memcmp(o->topic, topic.ptr ? topic.ptr : "", n < tn ? n : tn);
    if (c) return c;
    if (n != tn) return n < tn ? -1 : 1;
    return o->partition < partition ? -1 : o->partition > partition;
}

/* Index of the offset, or -(insertion point)-1. */
static int offsets_search(ggroup *g, weir_str topic, int32_t partition) {
    int lo = 0, hi = g->noffsets - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = offset_cmp(&g->offsets[mid], topic, partition);
        if (c == 0) return mid;
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return -lo - 1;
}

goffset *offsets_find(ggroup *g, weir_str topic, int32_t partition) {
    int i = offsets_search(g, topic, partition);
    return i >= 0 ? &g->offsets[i] : NULL;
}

void offsets_set(ggroup *g, weir_str topic, int32_t partition, int64_t offset, int32_t leader_epoch,
                 weir_str metadata, int64_t commit_ms) {
    int i = offsets_search(g, topic, partition);
    goffset *o;
    if (i >= 0) {
        o = &g->offsets[i];
        free(o->metadata);
    } else {
        i = -i - 1;
        if (g->noffsets == g->capoffsets) {
            g->capoffsets = g->capoffsets ? g->capoffsets * 2 : 8;
            g->offsets = realloc(g->offsets, (size_t)g->capoffsets * sizeof *g->offsets);
            if (!g->offsets) abort();
        }
        memmove(&g->offsets[i + 1], &g->offsets[i], (size_t)(g->noffsets - i) * sizeof *g->offsets);
        g->noffsets++;
        o = &g->offsets[i];
        o->topic = gstrdup(topic);
        o->partition = partition;
    }
    o->offset = offset;
    o->leader_epoch = leader_epoch;
    o->metadata = gstrdup(metadata);
    o->commit_ms = commit_ms;
}

void offsets_remove(ggroup *g, weir_str topic, int32_t partition) {
    int i = offsets_search(g, topic, partition);
    if (i < 0) return;
    free(g->offsets[i].topic);
    free(g->offsets[i].metadata);
    memmove(&g->offsets[i], &g->offsets[i + 1], (size_t)(g->noffsets - i - 1) * sizeof *g->offsets);
    g->noffsets--;
}

void offsets_free(ggroup *g) {
    for (int i = 0; i < g->noffsets; i++) {
        free(g->offsets[i].topic);
        free(g->offsets[i].metadata);
    }
    free(g->offsets);
    g->offsets = NULL;
    g->noffsets = g->capoffsets = 0;
}

/* ---- OffsetCommit ------------------------------------------------------------------------ */

typedef struct commit_job {
    weir_group_coordinator *gc;
    weir_group_commit_req *req;
    weir_meta_group_offset *rows;
    int *index; /* rows[i] is req->offsets[index[i]] */
    int nrows;
    void (*done)(void *arg, int16_t error);
    void *arg;
} commit_job;

static int commit_run(weir_meta *meta, void *arg, weir_err *err) {
    commit_job *cj = arg;
    return weir_meta_group_offsets_commit(meta, cj->req->group_id, cj->rows, cj->nrows, err);
}

static void commit_done(void *arg, int rc, const weir_err *err) {
    commit_job *cj = arg;
    weir_group_commit_req *req = cj->req;
    if (rc != WEIR_OK) {
        weir_error("group", "committing %d offsets: %s", cj->nrows, err->msg);
        for (int i = 0; i < cj->nrows; i++) req->offsets[cj->index[i]].error = WEIR_GERR_KAFKA_STORAGE_ERROR;
    } else {
        ggroup *g = group_get(cj->gc, req->group_id); /* deleted meanwhile: the commit recreates it */
        for (int i = 0; i < cj->nrows; i++) {
            const weir_meta_group_offset *o = &cj->rows[i];
            offsets_set(g, o->topic, o->partition, o->offset, o->leader_epoch, o->metadata, o->commit_ms);
        }
    }
    cj->done(cj->arg, 0);
    free(cj->rows);
    free(cj->index);
    free(cj);
}

/* Kafka's rules for who may commit: a simple consumer (generation < 0) to a group that
 * does not exist or is Empty; a member in its current generation otherwise (also while
 * the group prepares a rebalance, so revoked partitions can be committed). */
static int16_t commit_check(weir_group_coordinator *gc, const weir_group_commit_req *req) {
    ggroup *g = group_find(gc, req->group_id);
    if (!g) return req->generation < 0 ? WEIR_GERR_NONE : WEIR_GERR_ILLEGAL_GENERATION;
    if (req->group_instance_id.ptr && req->group_instance_id.len) {
        for (gmember *m = g->members; m; m = m->next)
            if (m->instance_id && (size_t)req->group_instance_id.len == strlen(m->instance_id) &&
                memcmp(m->instance_id, req->group_instance_id.ptr, (size_t)req->group_instance_id.len) == 0 &&
                member_find(g, req->member_id) != m)
                return WEIR_GERR_FENCED_INSTANCE_ID;
    }
    if (req->generation < 0 && g->state == GS_EMPTY) return WEIR_GERR_NONE;
    if (g->state == GS_COMPLETING) return WEIR_GERR_REBALANCE_IN_PROGRESS;
    gmember *m = member_find(g, req->member_id);
    if (!m) return WEIR_GERR_UNKNOWN_MEMBER_ID;
    if (req->generation != g->generation) return WEIR_GERR_ILLEGAL_GENERATION;
    member_touch(m);
    return WEIR_GERR_NONE;
}

void weir_group_commit(weir_group_coordinator *gc, weir_group_commit_req *req, void (*done)(void *arg, int16_t error),
                       void *arg) {
    int16_t e = WEIR_GERR_NONE;
    if (!gc->loaded) e = WEIR_GERR_COORDINATOR_LOAD_IN_PROGRESS;
    else if (gc->stopping) e = WEIR_GERR_COORDINATOR_NOT_AVAILABLE;
    else if (!req->group_id.ptr || req->group_id.len == 0) e = WEIR_GERR_INVALID_GROUP_ID;
    else e = commit_check(gc, req);
    if (e) {
        for (int i = 0; i < req->noffsets; i++)
            if (!req->offsets[i].error) req->offsets[i].error = e;
        return done(arg, 0);
    }
    commit_job *cj = calloc(1, sizeof *cj);
    if (!cj) abort();
    cj->rows = calloc((size_t)req->noffsets + 1, sizeof *cj->rows);
    cj->index = calloc((size_t)req->noffsets + 1, sizeof *cj->index);
    if (!cj->rows || !cj->index) abort();
    int64_t now = weir_now_ms();
    for (int i = 0; i < req->noffsets; i++) {
        weir_group_offset *o = &req->offsets[i];
        if (o->error) continue;
        if (o->metadata.ptr && o->metadata.len > MAX_METADATA_BYTES) {
            o->error = WEIR_GERR_OFFSET_METADATA_TOO_LARGE;
            continue;
        }
        cj->rows[cj->nrows] = (weir_meta_group_offset){o->topic, o->partition, o->offset, o->leader_epoch,
                                                       o->metadata, now};
        cj->index[cj->nrows++] = i;
    }
    if (cj->nrows == 0) {
        free(cj->rows);
        free(cj->index);
        free(cj);
        return done(arg, 0);
    }
    cj->gc = gc;
    cj->req = req;
    cj->done = done;
    cj->arg = arg;
    weir_log_meta_job(gc->log, commit_run, cj, commit_done, cj);
}

/* ---- OffsetFetch ------------------------------------------------------------------------- */

int16_t weir_group_fetch_check(weir_group_coordinator *gc, weir_str group_id) {
    (void)group_id;
    if (!gc->loaded) return WEIR_GERR_COORDINATOR_LOAD_IN_PROGRESS;
    return WEIR_GERR_NONE;
}

int weir_group_offset_get(weir_group_coordinator *gc, weir_str group_id, weir_str topic, int32_t partition,
                          int64_t *offset, int32_t *leader_epoch, const char **metadata) {
    ggroup *g = group_find(gc, group_id);
    goffset *o = g ? offsets_find(g, topic, partition) : NULL;
    if (!o) return WEIR_ENOTFOUND;
    *offset = o->offset;
    *leader_epoch = o->leader_epoch;
    *metadata = o->metadata;
    return WEIR_OK;
}

void weir_group_offsets_of(weir_group_coordinator *gc, weir_str group_id,
                           void (*fn)(void *ctx, const char *topic, int32_t partition, int64_t offset,
                                      int32_t leader_epoch, const char *metadata),
                           void *ctx) {
    ggroup *g = group_find(gc, group_id);
    for (int i = 0; g && i < g->noffsets; i++) {
        goffset *o = &g->offsets[i];
        fn(ctx, o->topic, o->partition, o->offset, o->leader_epoch, o->metadata);
    }
}

/* ---- deleting groups and offsets ---------------------------------------------------------- */

typedef struct delete_job {
    char *group;
    weir_meta_group_offset *rows; /* NULL: the whole group */
    char **topics;                /* owned copies behind rows[i].topic */
    int nrows;
    void (*done)(void *arg, int16_t error);
    void *arg;
} delete_job;

static int delete_run(weir_meta *meta, void *arg, weir_err *err) {
    delete_job *dj = arg;
    return weir_meta_group_offsets_delete(meta, weir_str_from_cstr(dj->group), dj->rows, dj->nrows, err);
}

static void delete_done(void *arg, int rc, const weir_err *err) {
    delete_job *dj = arg;
    if (rc != WEIR_OK) weir_error("group", "deleting offsets of group '%s': %s", dj->group, err->msg);
    if (dj->done) dj->done(dj->arg, rc == WEIR_OK ? 0 : WEIR_GERR_KAFKA_STORAGE_ERROR);
    for (int i = 0; dj->topics && i < dj->nrows; i++) free(dj->topics[i]);
    free(dj->topics);
    free(dj->rows);
    free(dj->group);
    free(dj);
}

static delete_job *delete_job_new(const char *group, int n) {
    delete_job *dj = calloc(1, sizeof *dj);
    if (!dj) abort();
    dj->group = strdup(group);
    if (n >= 0) {
        dj->rows = calloc((size_t)n + 1, sizeof *dj->rows);
        dj->topics = calloc((size_t)n + 1, sizeof *dj->topics);
        if (!dj->rows || !dj->topics) abort();
    }
    return dj;
}

static void delete_job_add(delete_job *dj, const char *topic, int32_t partition) {
    dj->topics[dj->nrows] = strdup(topic);
    dj->rows[dj->nrows].topic = weir_str_from_cstr(dj->topics[dj->nrows]);
    dj->rows[dj->nrows].partition = partition;
    dj->nrows++;
}

void weir_group_delete(weir_group_coordinator *gc, weir_str group_id, void (*done)(void *arg, int16_t error),
                       void *arg) {
    if (!gc->loaded) return done(arg, WEIR_GERR_COORDINATOR_LOAD_IN_PROGRESS);
    if (gc->stopping) return done(arg, WEIR_GERR_COORDINATOR_NOT_AVAILABLE);
    ggroup *g = group_find(gc, group_id);
    if (!g) return done(arg, WEIR_GERR_GROUP_ID_NOT_FOUND);
    if (g->nmembers > 0 || g->state != GS_EMPTY) return done(arg, WEIR_GERR_NON_EMPTY_GROUP);
    delete_job *dj = delete_job_new(g->id, -1);
    dj->done = done;
    dj->arg = arg;
    for (ggroup **pp = &gc->groups; *pp; pp = &(*pp)->next)
        if (*pp == g) {
            *pp = g->next;
            break;
        }
    weir_info("group", "group '%s' deleted", g->id);
    group_free(g);
    weir_log_meta_job(gc->log, delete_run, dj, delete_done, dj);
}

/* A deleted topic's committed offsets go with it, in memory and in the metadata store, as
 * in Kafka: consumers of a topic created again under the same name start from their
 * reset policy, not from offsets of the old one. @thread loop */
static void on_topic_deleted(void *arg, const char *topic) {
    weir_group_coordinator *gc = arg;
    ggroup *next;
    for (ggroup *g = gc->groups; g; g = next) {
        next = g->next;
        int n = 0;
        for (int i = 0; i < g->noffsets; i++) n += strcmp(g->offsets[i].topic, topic) == 0;
        if (n == 0) continue;
        delete_job *dj = delete_job_new(g->id, n);
        for (int i = g->noffsets - 1; i >= 0; i--) {
            if (strcmp(g->offsets[i].topic, topic) != 0) continue;
            int32_t partition = g->offsets[i].partition;
            delete_job_add(dj, topic, partition);
            offsets_remove(g, weir_str_from_cstr(dj->topics[dj->nrows - 1]), partition);
        }
        weir_info("group", "group '%s': dropped %d committed offsets of deleted topic %s", g->id, n, topic);
        weir_log_meta_job(gc->log, delete_run, dj, delete_done, dj);
        group_maybe_remove(gc, g);
    }
}

void offsets_watch_deletions(weir_group_coordinator *gc, bool on) {
    weir_log_set_topic_deleted_hook(gc->log, on ? on_topic_deleted : NULL, on ? gc : NULL);
}

/* The topics a consumer-protocol member subscribes to, from its subscription metadata
 * (version int16, topics array of strings): true if `topic` is among them. */
static bool subscribed_to(const uint8_t *p, int32_t len, const char *topic) {
    if (len < 6) return false;
    int32_t n = (int32_t)weir_be32_get(p + 2);
    size_t pos = 6, tl = strlen(topic);
    for (int32_t i = 0; i < n; i++) {
        if (pos + 2 > (size_t)len) return false;
        int16_t sl = (int16_t)weir_be16_get(p + pos);
        pos += 2;
        if (sl < 0 || pos + (size_t)sl > (size_t)len) return false;
        if ((size_t)sl == tl && memcmp(p + pos, topic, tl) == 0) return true;
        pos += (size_t)sl;
    }
    return false;
}

static bool group_subscribed(ggroup *g, const char *topic) {
    for (gmember *m = g->members; m; m = m->next)
        for (int i = 0; i < m->nprotos; i++)
            if (g->protocol && strcmp(m->protos[i].name, g->protocol) == 0 &&
                subscribed_to(m->protos[i].meta, m->protos[i].len, topic))
                return true;
    return false;
}

int16_t weir_group_offsets_delete(weir_group_coordinator *gc, weir_str group_id, weir_group_offset *offsets, int n,
                                  void (*done)(void *arg, int16_t error), void *arg) {
    if (!gc->loaded) return WEIR_GERR_COORDINATOR_LOAD_IN_PROGRESS;
    if (gc->stopping) return WEIR_GERR_COORDINATOR_NOT_AVAILABLE;
    ggroup *g = group_find(gc, group_id);
    if (!g) return WEIR_GERR_GROUP_ID_NOT_FOUND;
    bool consumer = g->protocol_type && strcmp(g->protocol_type, "consumer") == 0;
    if (g->nmembers > 0 && !consumer) return WEIR_GERR_NON_EMPTY_GROUP;
    delete_job *dj = delete_job_new(g->id, n);
    dj->done = done;
    dj->arg = arg;
    for (int i = 0; i < n; i++) {
        weir_group_offset *o = &offsets[i];
        if (o->error) continue;
        char *topic = gstrdup(o->topic);
        if (g->nmembers > 0 && group_subscribed(g, topic)) {
            o->error = WEIR_GERR_GROUP_SUBSCRIBED_TO_TOPIC;
        } else {
            offsets_remove(g, o->topic, o->partition);
            delete_job_add(dj, topic, o->partition);
        }
        free(topic);
    }
    weir_log_meta_job(gc->log, delete_run, dj, delete_done, dj);
    return WEIR_GERR_NONE;
}

/* ---- retention ------------------------------------------------------------------------------ */

int weir_group_expire_offsets(weir_group_coordinator *gc, int64_t now_ms) {
    int expired = 0;
    for (ggroup *g = gc->groups, *next; g; g = next) {
        next = g->next;
        if (g->state != GS_EMPTY || g->nmembers) continue;
        delete_job *dj = NULL;
        for (int i = 0; i < g->noffsets;) {
            goffset *o = &g->offsets[i];
            int64_t base = o->commit_ms > g->empty_since_ms ? o->commit_ms : g->empty_since_ms;
            if (base + gc->retention_ms > now_ms) {
                i++;
                continue;
            }
            if (!dj) dj = delete_job_new(g->id, g->noffsets);
            delete_job_add(dj, o->topic, o->partition);
            offsets_remove(g, weir_str_from_cstr(dj->topics[dj->nrows - 1]), o->partition);
            expired++;
        }
        if (dj) {
            weir_info("group", "group '%s': %d committed offsets expired (offsets.retention.minutes)", g->id,
                      dj->nrows);
            weir_log_meta_job(gc->log, delete_run, dj, delete_done, dj);
        }
        group_maybe_remove(gc, g);
    }
    return expired;
}

static void on_retention_timer(void *arg) {
    weir_group_coordinator *gc = arg;
    gc->retention_timer = NULL;
    if (gc->stopping) return;
    weir_group_expire_offsets(gc, weir_now_ms());
    gc->retention_timer = weir_timer_add(gc->loop, gc->retention_check_ms, on_retention_timer, gc);
}

/* ---- loading at start -------------------------------------------------------------------------- */

typedef struct load_row {
    char *group, *topic, *metadata;
    int32_t partition, leader_epoch;
    int64_t offset, commit_ms;
} load_row;

typedef struct load_job {
    weir_group_coordinator *gc;
    load_row *rows;
    size_t n, cap;
} load_job;

static int load_one(void *ctx, const char *group, const weir_meta_group_offset *o) {
    load_job *lj = ctx;
    if (lj->n == lj->cap) {
        lj->cap = lj->cap ? lj->cap * 2 : 64;
        lj->rows = realloc(lj->rows, lj->cap * sizeof *lj->rows);
        if (!lj->rows) abort();
    }
    load_row *r = &lj->rows[lj->n++];
    r->group = strdup(group);
    r->topic = gstrdup(o->topic);
    r->metadata = gstrdup(o->metadata);
    r->partition = o->partition;
    r->leader_epoch = o->leader_epoch;
    r->offset = o->offset;
    r->commit_ms = o->commit_ms;
    return WEIR_OK;
}

static int load_run(weir_meta *meta, void *arg, weir_err *err) {
    return weir_meta_group_offsets_load(meta, load_one, arg, err);
}

static void load_submit(void *arg);

static void load_done(void *arg, int rc, const weir_err *err) {
    load_job *lj = arg;
    weir_group_coordinator *gc = lj->gc;
    if (rc == WEIR_OK) {
        for (size_t i = 0; i < lj->n; i++) {
            load_row *r = &lj->rows[i];
            ggroup *g = group_get(gc, weir_str_from_cstr(r->group));
            offsets_set(g, weir_str_from_cstr(r->topic), r->partition, r->offset, r->leader_epoch,
                        weir_str_from_cstr(r->metadata), r->commit_ms);
        }
        gc->loaded = true;
        weir_info("group", "loaded %zu committed offsets", lj->n);
        if (!gc->stopping)
            gc->retention_timer = weir_timer_add(gc->loop, gc->retention_check_ms, on_retention_timer, gc);
    } else {
        weir_error("group", "loading committed offsets: %s (retrying in 1 s)", err->msg);
    }
    for (size_t i = 0; i < lj->n; i++) {
        free(lj->rows[i].group);
        free(lj->rows[i].topic);
        free(lj->rows[i].metadata);
    }
    free(lj->rows);
    free(lj);
    if (rc != WEIR_OK && !gc->stopping) weir_timer_add(gc->loop, 1000, load_submit, gc);
}

static void load_submit(void *arg) {
    weir_group_coordinator *gc = arg;
    if (gc->stopping) return;
    load_job *lj = calloc(1, sizeof *lj);
    if (!lj) abort();
    lj->gc = gc;
    weir_log_meta_job(gc->log, load_run, lj, load_done, lj);
}

void offsets_start(weir_group_coordinator *gc) { load_submit(gc); }
