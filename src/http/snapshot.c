/* snapshot.c — copies what an HTTP answer needs out of the broker's live structures:
 * topics with their partitions and traffic counters, the process metrics, object
 * totals, and groups with members and committed offsets (lag computed against the high
 * watermark at the same instant). Runs on the loop thread, which owns all of it; the
 * copy then travels to an HTTP thread. */
#include "http/internal.h"

#include <stdlib.h>
#include <string.h>

#include "group/group.h"

static const char *dup(weir_arena *a, const char *s) { return s ? weir_arena_strndup(a, s, strlen(s)) : NULL; }

static void topic_id_base64(const uint8_t id[16], char out[24]) {
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint8_t r[18] = {0};
    memcpy(r, id, 16);
    for (int i = 0; i < 22; i++) {
        int bit = i * 6, byte = bit / 8, shift = bit % 8;
        unsigned v = ((unsigned)r[byte] << 8 | r[byte + 1]) >> (10 - shift);
        out[i] = b64[v & 63];
    }
    out[22] = 0;
}

typedef struct group_ctx {
    weir_http_snapshot *s;
    weir_log *log;
    weir_group_coordinator *gc;
    int cap;
    http_group *cur;
    int offcap;
} group_ctx;

static void on_offset(void *arg, const char *topic, int32_t partition, int64_t offset, int32_t leader_epoch,
                      const char *metadata) {
    (void)leader_epoch;
    (void)metadata;
    group_ctx *gx = arg;
    http_group *g = gx->cur;
    if (g->noffsets == gx->offcap) {
        gx->offcap = gx->offcap ? gx->offcap * 2 : 8;
        http_offset *n = weir_arena_alloc(&gx->s->arena, sizeof *n * (size_t)gx->offcap);
        if (g->noffsets) memcpy(n, g->offsets, sizeof *n * (size_t)g->noffsets);
        g->offsets = n;
    }
    http_offset *o = &g->offsets[g->noffsets++];
    o->topic = dup(&gx->s->arena, topic);
    o->partition = partition;
    o->committed = offset;
    o->end = o->lag = -1;
    weir_topic *t = weir_log_topic_find(gx->log, weir_str_from_cstr(topic));
    if (t && partition >= 0 && partition < t->npartitions) {
        o->end = t->partitions[partition]->hw;
        o->lag = o->end > offset ? o->end - offset : 0;
    }
}

static void on_group(void *arg, const weir_group_info *gi) {
    group_ctx *gx = arg;
    weir_http_snapshot *s = gx->s;
    if (s->ngroups == gx->cap) {
        gx->cap = gx->cap ? gx->cap * 2 : 16;
        http_group *n = weir_arena_alloc(&s->arena, sizeof *n * (size_t)gx->cap);
        if (s->ngroups) memcpy(n, s->groups, sizeof *n * (size_t)s->ngroups);
        s->groups = n;
    }
    http_group *g = &s->groups[s->ngroups++];
    g->group = dup(&s->arena, gi->group_id);
    g->state = dup(&s->arena, gi->state);
    g->protocol_type = dup(&s->arena, gi->protocol_type);
    g->protocol = dup(&s->arena, gi->protocol);
    g->generation = gi->generation;
    g->nmembers = gi->nmembers;
    g->members = weir_arena_alloc(&s->arena, sizeof *g->members * (size_t)(gi->nmembers + 1));
    for (int i = 0; i < gi->nmembers; i++) {
        g->members[i].member_id = dup(&s->arena, gi->members[i].member_id);
        g->members[i].instance_id = dup(&s->arena, gi->members[i].group_instance_id);
        g->members[i].client_id = dup(&s->arena, gi->members[i].client_id);
        g->members[i].client_host = dup(&s->arena, gi->members[i].client_host);
    }
    gx->cur = g;
    gx->offcap = 0;
    weir_group_offsets_of(gx->gc, weir_str_from_cstr(gi->group_id), on_offset, gx);
}

weir_http_snapshot *weir_http_snapshot_take(const weir_http_sources *src) {
    weir_http_snapshot *s = calloc(1, sizeof *s);
    if (!s) abort();
    weir_arena_init(&s->arena, 0);
    s->metrics = *weir_metrics_get();
    weir_log_object_stats(src->log, &s->objects, &s->object_bytes);
    size_t nt = 0;
    while (weir_log_topic_at(src->log, nt)) nt++;
    s->ntopics = (int)nt;
    s->topics = weir_arena_alloc(&s->arena, sizeof *s->topics * (nt + 1));
    for (size_t i = 0; i < nt; i++) {
        weir_topic *t = weir_log_topic_at(src->log, i);
        http_topic *ht = &s->topics[i];
        ht->name = dup(&s->arena, t->name);
        topic_id_base64(t->id, ht->id);
        ht->npartitions = t->npartitions;
        ht->partitions = weir_arena_alloc(&s->arena, sizeof *ht->partitions * (size_t)(t->npartitions + 1));
        for (int32_t k = 0; k < t->npartitions; k++) {
            weir_partition *p = t->partitions[k];
            ht->partitions[k] = (http_partition){k, p->log_start, p->hw, p->bytes};
        }
        ht->bytes_in = t->bytes_in;
        ht->records_in = t->records_in;
        ht->bytes_out = t->bytes_out;
        ht->records_out = t->records_out;
    }
    if (src->groups) {
        s->have_groups = true;
        s->groups_loaded = weir_group_coordinator_loaded(src->groups);
        group_ctx gx = {s, src->log, src->groups, 0, NULL, 0};
        weir_group_foreach_group(src->groups, on_group, &gx);
    }
    return s;
}

void weir_http_snapshot_free(weir_http_snapshot *s) {
    if (!s) return;
    weir_arena_free(&s->arena);
    free(s);
}
