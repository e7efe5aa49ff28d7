/* admin_configs.c — AlterConfigs (replaces a topic's whole set of explicit configs) and
 * IncrementalAlterConfigs (SET / DELETE / APPEND / SUBTRACT per key) for topic
 * resources, with validate_only. Each new value is checked the way CreateTopics checks
 * it; the change is answered once it is durable and in force. Broker configs are static
 * (weir.properties and WEIR_ variables), so broker resources are refused with a message
 * that says where to set them. */
#include "kafka/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { RES_TOPIC = 2, RES_BROKER = 4, RES_BROKER_LOGGER = 8 };
enum { OP_SET = 0, OP_DELETE = 1, OP_APPEND = 2, OP_SUBTRACT = 3 };

/* A working copy of a topic's explicit configs, edited by the request's operations. */
typedef struct cfgset {
    weir_topic_config *c;
    int n, cap;
} cfgset;

static int cfgset_find(cfgset *s, const char *name) {
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->c[i].name, name) == 0) return i;
    return -1;
}

static void cfgset_put(kreq *r, cfgset *s, const char *name, const char *value) {
    int i = cfgset_find(s, name);
    if (i >= 0) {
        s->c[i].value = (char *)value;
        return;
    }
    if (s->n == s->cap) {
        int ncap = s->cap ? s->cap * 2 : 16;
        weir_topic_config *nc = weir_arena_alloc(&r->arena, sizeof *nc * (size_t)ncap);
        if (s->n) memcpy(nc, s->c, sizeof *nc * (size_t)s->n);
        s->c = nc;
        s->cap = ncap;
    }
    s->c[s->n].name = (char *)name;
    s->c[s->n].value = (char *)value;
    s->n++;
}

static void cfgset_del(cfgset *s, const char *name) {
    int i = cfgset_find(s, name);
    if (i < 0) return;
    s->c[i] = s->c[--s->n];
}

/* APPEND / SUBTRACT on a comma-separated list value (cleanup.policy is the only list). */
static const char *list_edit(kreq *r, const char *cur, const char *item, bool append) {
    char *out = weir_arena_alloc(&r->arena, strlen(cur) + strlen(item) + 2);
    out[0] = 0;
    bool present = false;
    const char *p = cur;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        bool same = len == strlen(item) && strncmp(p, item, len) == 0;
        if (same) present = true;
        if (!(same && !append) && len) {
            if (out[0]) strcat(out, ",");
            strncat(out, p, len);
        }
        p = comma ? comma + 1 : p + len;
    }
    if (append && !present) {
        if (out[0]) strcat(out, ",");
        strcat(out, item);
    }
    return out;
}

/* Checks a resource that is not a topic; returns false (with the error set) when the
 * request cannot change it. */
static bool resource_refused(kreq *r, int8_t type, weir_str name, int16_t *code, weir_str *msg) {
    if (type == RES_TOPIC) return false;
    if (type == RES_BROKER || type == RES_BROKER_LOGGER) {
        *code = KERR_INVALID_REQUEST;
        *msg = weir_str_from_cstr(weir_arena_sprintf(
            &r->arena,
            "broker '%s': broker configs are static in Weir; set them in weir.properties (or a WEIR_<KEY> "
            "environment variable) and restart the broker",
            kstr(r, name)));
        return true;
    }
    *code = KERR_INVALID_REQUEST;
    *msg = weir_str_from_cstr(
        weir_arena_sprintf(&r->arena, "resource type %d cannot be altered (2 topic, 4 broker)", type));
    return true;
}

/* Validates the resulting set and, unless validate_only, starts the durable change. */
static void apply_set(kreq *r, weir_kafka_pending *st, weir_topic *t, cfgset *s, bool validate_only, int16_t *code,
                      weir_str *msg) {
    weir_err err;
    for (int i = 0; i < s->n; i++)
        if (weir_log_topic_config_check(s->c[i].name, s->c[i].value, &err) != WEIR_OK) {
            *code = KERR_INVALID_CONFIG;
            *msg = weir_str_from_cstr(weir_arena_sprintf(&r->arena, "topic '%s': %s", t->name, err.msg));
            return;
        }
    if (validate_only) return;
    weir_log_topic_set_configs(r->srv->log, t, s->c, s->n, weir_kafka_pending_done,
                               weir_kafka_pending_wait_new(st, code, msg));
}

static weir_topic *find_topic(kreq *r, weir_str name, int16_t *code, weir_str *msg) {
    weir_topic *t = weir_log_topic_find(r->srv->log, name);
    if (!t) {
        *code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
        *msg = weir_str_from_cstr(weir_arena_sprintf(&r->arena, "topic '%s' does not exist", kstr(r, name)));
    }
    return t;
}

/* ---- AlterConfigs ------------------------------------------------------------------------------ */

void weir_kafka_handle_alter_configs(kreq *r) {
    struct weir_alter_configs_request *req = r->msg;
    struct weir_alter_configs_response *resp = weir_arena_alloc(&r->arena, sizeof *resp);
    weir_alter_configs_response_init(resp);
    weir_kafka_pending *st = weir_kafka_pending_new(r, resp);
    int32_t n = req->resources_count > 0 ? req->resources_count : 0;
    resp->responses_count = n;
    resp->responses = KALLOC(r, struct weir_alter_configs_response_alter_configs_resource_response, n,
                             weir_alter_configs_response_alter_configs_resource_response_init);
    for (int32_t i = 0; i < n; i++) {
        struct weir_alter_configs_request_alter_configs_resource *rq = &req->resources[i];
        struct weir_alter_configs_response_alter_configs_resource_response *res = &resp->responses[i];
        res->resource_type = rq->resource_type;
        res->resource_name = rq->resource_name;
        if (resource_refused(r, rq->resource_type, rq->resource_name, &res->error_code, &res->error_message)) continue;
        weir_topic *t = find_topic(r, rq->resource_name, &res->error_code, &res->error_message);
        if (!t) continue;
        /* AlterConfigs replaces the whole set: what is not listed returns to its default */
        cfgset s = {0};
        bool dup = false;
        for (int32_t k = 0; k < rq->configs_count; k++) {
            const char *name = kstr(r, rq->configs[k].name);
            if (cfgset_find(&s, name) >= 0) dup = true;
            if (!rq->configs[k].value.ptr) continue; /* null: the default */
            cfgset_put(r, &s, name, kstr(r, rq->configs[k].value));
        }
        if (dup) {
            res->error_code = KERR_INVALID_REQUEST;
            res->error_message = weir_str_from_cstr("a config is listed more than once for the resource");
            continue;
        }
        apply_set(r, st, t, &s, req->validate_only, &res->error_code, &res->error_message);
    }
    weir_kafka_pending_release(st);
}

/* ---- IncrementalAlterConfigs ------------------------------------------------------------------------ */

void weir_kafka_handle_incremental_alter_configs(kreq *r) {
    struct weir_incremental_alter_configs_request *req = r->msg;
    weir_log *log = r->srv->log;
    struct weir_incremental_alter_configs_response *resp = weir_arena_alloc(&r->arena, sizeof *resp);
    weir_incremental_alter_configs_response_init(resp);
    weir_kafka_pending *st = weir_kafka_pending_new(r, resp);
    int32_t n = req->resources_count > 0 ? req->resources_count : 0;
    resp->responses_count = n;
    resp->responses = KALLOC(r, struct weir_incremental_alter_configs_response_alter_configs_resource_response, n,
                             weir_incremental_alter_configs_response_alter_configs_resource_response_init);
    for (int32_t i = 0; i < n; i++) {
        struct weir_incremental_alter_configs_request_alter_configs_resource *rq = &req->resources[i];
        struct weir_incremental_alter_configs_response_alter_configs_resource_response *res = &resp->responses[i];
        res->resource_type = rq->resource_type;
        res->resource_name = rq->resource_name;
        if (resource_refused(r, rq->resource_type, rq->resource_name, &res->error_code, &res->error_message)) continue;
        weir_topic *t = find_topic(r, rq->resource_name, &res->error_code, &res->error_message);
        if (!t) continue;
        cfgset s = {0};
        for (int k = 0; k < t->nconfigs; k++)
            cfgset_put(r, &s, weir_arena_sprintf(&r->arena, "%s", t->configs[k].name),
                       weir_arena_sprintf(&r->arena, "%s", t->configs[k].value));
        const char *bad = NULL;
        for (int32_t k = 0; k < rq->configs_count && !bad; k++) {
            struct weir_incremental_alter_configs_request_alterable_config *c = &rq->configs[k];
            const char *name = kstr(r, c->name);
            const char *value = c->value.ptr ? kstr(r, c->value) : NULL;
            weir_topic_config_info info;
            bool known = false;
            for (int x = 0; weir_log_topic_config_info(x, &info); x++) known |= strcmp(info.name, name) == 0;
            if (!known) {
                bad = weir_arena_sprintf(&r->arena, "unknown topic config '%s'", name);
                break;
            }
            switch (c->config_operation) {
            case OP_SET:
                if (!value) bad = weir_arena_sprintf(&r->arena, "SET of %s needs a value", name);
                else cfgset_put(r, &s, name, value);
                break;
            case OP_DELETE: cfgset_del(&s, name); break;
            case OP_APPEND:
            case OP_SUBTRACT: {
                if (strcmp(name, "cleanup.policy") != 0) {
                    bad = weir_arena_sprintf(&r->arena, "%s is not a list config: APPEND and SUBTRACT apply to list "
                                                        "configs (cleanup.policy)",
                                             name);
                    break;
                }
                if (!value) {
                    bad = weir_arena_sprintf(&r->arena, "APPEND/SUBTRACT of %s needs a value", name);
                    break;
                }
                const char *cur = weir_log_topic_config(log, t, name, NULL);
                int idx = cfgset_find(&s, name);
                if (idx >= 0) cur = s.c[idx].value;
                cfgset_put(r, &s, name, list_edit(r, cur ? cur : "", value, c->config_operation == OP_APPEND));
                break;
            }
            default: bad = weir_arena_sprintf(&r->arena, "unknown config operation %d", c->config_operation);
            }
        }
        if (bad) {
            res->error_code = KERR_INVALID_CONFIG;
            res->error_message = weir_str_from_cstr(weir_arena_sprintf(&r->arena, "topic '%s': %s", t->name, bad));
            continue;
        }
        apply_set(r, st, t, &s, req->validate_only, &res->error_code, &res->error_message);
    }
    weir_kafka_pending_release(st);
}
