/* admin.c — topic administration: CreateTopics (with validate_only and configs),
 * DeleteTopics (by name or id), CreatePartitions and DescribeConfigs for topic and broker
 * resources (values, sources, defaults, synonyms and documentation). Changes answer once
 * they are durable in the metadata store. */
#include "kafka/internal.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>


static weir_str kmsg(kreq *r, const weir_err *err) { return weir_str_from_cstr(weir_arena_sprintf(&r->arena, "%s", err->msg)); }

/* ---- CreateTopics ------------------------------------------------------------------------------- */

void weir_kafka_handle_create_topics(kreq *r) {
    struct weir_create_topics_request *req = r->msg;
    weir_kafka_server *srv = r->srv;
    struct weir_create_topics_response *resp = weir_arena_alloc(&r->arena, sizeof *resp);
    weir_create_topics_response_init(resp);
    weir_kafka_pending *st = weir_kafka_pending_new(r, resp);
    int32_t nt = req->topics_count > 0 ? req->topics_count : 0;
    resp->topics_count = nt;
    resp->topics = KALLOC(r, struct weir_create_topics_response_creatable_topic_result, nt,
                          weir_create_topics_response_creatable_topic_result_init);
    for (int32_t i = 0; i < nt; i++) {
        struct weir_create_topics_request_creatable_topic *ct = &req->topics[i];
        struct weir_create_topics_response_creatable_topic_result *res = &resp->topics[i];
        res->name = ct->name;
        int32_t partitions = ct->num_partitions;
        if (ct->assignments_count > 0) partitions = ct->assignments_count;
        else if (partitions == -1) partitions = srv->cfg.num_partitions;
        res->num_partitions = partitions;
        res->replication_factor = ct->replication_factor == -1 ? 1 : ct->replication_factor;
        /* a name listed twice in one request is refused for both, as Kafka does */
        bool dup = false;
        for (int32_t k = 0; k < nt; k++)
            if (k != i && ct->name.ptr && req->topics[k].name.ptr && req->topics[k].name.len == ct->name.len &&
                memcmp(req->topics[k].name.ptr, ct->name.ptr, (size_t)ct->name.len) == 0)
                dup = true;
        if (dup) {
            res->error_code = KERR_INVALID_REQUEST;
            res->error_message = weir_str_from_cstr("topic is listed more than once in the request");
            continue;
        }
        if (ct->replication_factor == 0 || ct->replication_factor < -1) {
            res->error_code = KERR_INVALID_REPLICATION_FACTOR;
            res->error_message = weir_str_from_cstr("replication factor must be -1 or at least 1");
            continue;
        }
        int32_t nc = ct->configs_count > 0 ? ct->configs_count : 0;
        weir_topic_config *cfgs = weir_arena_alloc(&r->arena, sizeof *cfgs * (size_t)(nc + 1));
        int ncfg = 0;
        for (int32_t k = 0; k < nc; k++) {
            if (!ct->configs[k].value.ptr) continue; /* null: use the default */
            cfgs[ncfg].name = (char *)kstr(r, ct->configs[k].name);
            cfgs[ncfg].value = (char *)kstr(r, ct->configs[k].value);
            ncfg++;
        }
        weir_err err;
        int16_t code = weir_log_topic_check(srv->log, ct->name, partitions, cfgs, ncfg, &err);
        if (code) {
            res->error_code = code;
            res->error_message = kmsg(r, &err);
            continue;
        }
        if (r->version >= 5) {
            /* v5+ answers with the topic's resulting configs */
            weir_topic_config_info info;
            int n = 0;
            while (weir_log_topic_config_info(n, &info)) n++;
            res->configs_count = n;
            res->configs = KALLOC(r, struct weir_create_topics_response_creatable_topic_configs, n,
                                  weir_create_topics_response_creatable_topic_configs_init);
            for (int k = 0; k < n; k++) {
                weir_log_topic_config_info(k, &info);
                const char *v = NULL;
                for (int c = 0; c < ncfg; c++)
                    if (strcmp(cfgs[c].name, info.name) == 0) v = cfgs[c].value;
                char buf[256];
                res->configs[k].name = weir_str_from_cstr(info.name);
                res->configs[k].config_source = v ? 1 : 5;
                if (!v) v = weir_log_topic_config_default(srv->log, info.name, buf, sizeof buf);
                res->configs[k].value = weir_str_from_cstr(weir_arena_sprintf(&r->arena, "%s", v ? v : ""));
            }
        }
        if (req->validate_only) continue;
        weir_log_topic_create(srv->log, ct->name, partitions, cfgs, ncfg, res->topic_id, weir_kafka_pending_done,
                              weir_kafka_pending_wait_new(st, &res->error_code, &res->error_message));
    }
    weir_kafka_pending_release(st);
}

/* ---- DeleteTopics ------------------------------------------------------------------------------- */

void weir_kafka_handle_delete_topics(kreq *r) {
    struct weir_delete_topics_request *req = r->msg;
    weir_kafka_server *srv = r->srv;
    struct weir_delete_topics_response *resp = weir_arena_alloc(&r->arena, sizeof *resp);
    weir_delete_topics_response_init(resp);
    weir_kafka_pending *st = weir_kafka_pending_new(r, resp);
    int32_t n = r->version >= 6 ? req->topics_count : req->topic_names_count;
    if (n < 0) n = 0;
    resp->responses_count = n;
    resp->responses = KALLOC(r, struct weir_delete_topics_response_deletable_topic_result, n,
                             weir_delete_topics_response_deletable_topic_result_init);
    static const uint8_t zero[16];
    for (int32_t i = 0; i < n; i++) {
        struct weir_delete_topics_response_deletable_topic_result *res = &resp->responses[i];
        weir_topic *t;
        if (r->version >= 6) {
            res->name = req->topics[i].name;
            memcpy(res->topic_id, req->topics[i].topic_id, 16);
            t = req->topics[i].name.ptr ? weir_log_topic_find(srv->log, req->topics[i].name)
                                        : weir_log_topic_find_id(srv->log, req->topics[i].topic_id);
            if (!t) {
                res->error_code = req->topics[i].name.ptr || !memcmp(req->topics[i].topic_id, zero, 16)
                                      ? KERR_UNKNOWN_TOPIC_OR_PARTITION
                                      : KERR_UNKNOWN_TOPIC_ID;
                continue;
            }
        } else {
            res->name = req->topic_names[i];
            t = weir_log_topic_find(srv->log, req->topic_names[i]);
            if (!t) {
                res->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
        }
        res->name = weir_str_from_cstr(weir_arena_sprintf(&r->arena, "%s", t->name));
        memcpy(res->topic_id, t->id, 16);
        weir_log_topic_delete(srv->log, t, weir_kafka_pending_done, weir_kafka_pending_wait_new(st, &res->error_code, &res->error_message));
    }
    weir_kafka_pending_release(st);
}

/* ---- CreatePartitions ------------------------------------------------------------------------------ */

void weir_kafka_handle_create_partitions(kreq *r) {
    struct weir_create_partitions_request *req = r->msg;
    weir_kafka_server *srv = r->srv;
    struct weir_create_partitions_response *resp = weir_arena_alloc(&r->arena, sizeof *resp);
    weir_create_partitions_response_init(resp);
    weir_kafka_pending *st = weir_kafka_pending_new(r, resp);
    int32_t n = req->topics_count > 0 ? req->topics_count : 0;
    resp->results_count = n;
    resp->results = KALLOC(r, struct weir_create_partitions_response_create_partitions_topic_result, n,
                           weir_create_partitions_response_create_partitions_topic_result_init);
    for (int32_t i = 0; i < n; i++) {
        struct weir_create_partitions_request_create_partitions_topic *ct = &req->topics[i];
        struct weir_create_partitions_response_create_partitions_topic_result *res = &resp->results[i];
        res->name = ct->name;
        weir_topic *t = weir_log_topic_find(srv->log, ct->name);
        if (!t) {
            res->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
            res->error_message = weir_str_from_cstr(weir_arena_sprintf(&r->arena, "topic '%s' does not exist",
                                                                       kstr(r, ct->name)));
            continue;
        }
        if (ct->count <= t->npartitions || ct->count > 100000) {
            res->error_code = KERR_INVALID_PARTITIONS;
            res->error_message = weir_str_from_cstr(weir_arena_sprintf(
                &r->arena, "topic '%s' has %d partitions; the new count must be larger (and at most 100000), not %d",
                t->name, t->npartitions, ct->count));
            continue;
        }
        if (ct->assignments_count > 0 && ct->assignments_count != ct->count - t->npartitions) {
            res->error_code = KERR_INVALID_REQUEST;
            res->error_message = weir_str_from_cstr("the assignment must list one entry per new partition");
            continue;
        }
        if (req->validate_only) continue;
        weir_log_topic_add_partitions(srv->log, t, ct->count, weir_kafka_pending_done,
                                      weir_kafka_pending_wait_new(st, &res->error_code, &res->error_message));
    }
    weir_kafka_pending_release(st);
}

/* ---- DescribeConfigs --------------------------------------------------------------------------------- */

enum { RESOURCE_TOPIC = 2, RESOURCE_BROKER = 4 };
enum { SRC_DYNAMIC_TOPIC = 1, SRC_STATIC_BROKER = 4, SRC_DEFAULT = 5 };
enum { TYPE_BOOLEAN = 1, TYPE_STRING = 2, TYPE_INT = 3, TYPE_LONG = 5, TYPE_LIST = 7 };

static bool key_wanted(const struct weir_describe_configs_request_describe_configs_resource *res, const char *name) {
    if (res->configuration_keys_count < 0) return true; /* null: all */
    for (int32_t i = 0; i < res->configuration_keys_count; i++)
        if (weir_str_eq_cstr(res->configuration_keys[i], name)) return true;
    return false;
}

typedef struct dc_entry {
    const char *name, *value, *doc;
    int8_t source, type;
    const char *syn_name; /* a broker-level synonym, when the value comes from one */
    const char *syn_value;
    int8_t syn_source;
} dc_entry;

static void dc_put(kreq *r, bool synonyms, struct weir_describe_configs_response_describe_configs_resource_result *c,
                   const dc_entry *e) {
    c->name = weir_str_from_cstr(e->name);
    c->value = weir_str_from_cstr(weir_arena_sprintf(&r->arena, "%s", e->value ? e->value : ""));
    c->read_only = false;
    c->is_default = e->source == SRC_DEFAULT;
    c->config_source = e->source;
    c->is_sensitive = false;
    c->config_type = e->type;
    c->documentation = weir_str_from_cstr(e->doc);
    if (!synonyms) return;
    int n = 1 + (e->syn_name ? 1 : 0);
    c->synonyms_count = n;
    c->synonyms = KALLOC(r, struct weir_describe_configs_response_describe_configs_synonym, n,
                         weir_describe_configs_response_describe_configs_synonym_init);
    c->synonyms[0].name = c->name;
    c->synonyms[0].value = c->value;
    c->synonyms[0].source = e->source;
    if (e->syn_name) {
        c->synonyms[1].name = weir_str_from_cstr(e->syn_name);
        c->synonyms[1].value = weir_str_from_cstr(weir_arena_sprintf(&r->arena, "%s", e->syn_value));
        c->synonyms[1].source = e->syn_source;
    }
}

static int8_t broker_key_source(const weir_config *cfg, const char *key) {
    weir_config_key_info ki;
    for (int i = 0; weir_config_key(i, &ki); i++)
        if (strcmp(ki.name, key) == 0) return cfg->source[i] == WEIR_CONF_SRC_DEFAULT ? SRC_DEFAULT : SRC_STATIC_BROKER;
    return SRC_DEFAULT;
}

static int8_t topic_config_type(const char *name) {
    if (!strcmp(name, "cleanup.policy")) return TYPE_LIST;
    if (!strcmp(name, "retention.ms") || !strcmp(name, "retention.bytes") || !strcmp(name, "segment.ms")) return TYPE_LONG;
    if (!strcmp(name, "compression.type") || !strcmp(name, "message.timestamp.type")) return TYPE_STRING;
    return TYPE_INT;
}

void weir_kafka_handle_describe_configs(kreq *r) {
    struct weir_describe_configs_request *req = r->msg;
    weir_kafka_server *srv = r->srv;
    struct weir_describe_configs_response resp;
    weir_describe_configs_response_init(&resp);
    int32_t n = req->resources_count > 0 ? req->resources_count : 0;
    resp.results_count = n;
    resp.results = KALLOC(r, struct weir_describe_configs_response_describe_configs_result, n,
                          weir_describe_configs_response_describe_configs_result_init);
    bool synonyms = r->version >= 1 && req->include_synonyms;
    for (int32_t i = 0; i < n; i++) {
        struct weir_describe_configs_request_describe_configs_resource *rq = &req->resources[i];
        struct weir_describe_configs_response_describe_configs_result *res = &resp.results[i];
        res->resource_type = rq->resource_type;
        res->resource_name = rq->resource_name;
        dc_entry entries[64];
        int ne = 0;
        if (rq->resource_type == RESOURCE_TOPIC) {
            weir_topic *t = weir_log_topic_find(srv->log, rq->resource_name);
            if (!t) {
                res->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
                res->error_message = weir_str_from_cstr(
                    weir_arena_sprintf(&r->arena, "topic '%s' does not exist", kstr(r, rq->resource_name)));
                continue;
            }
            weir_topic_config_info info;
            for (int k = 0; weir_log_topic_config_info(k, &info) && ne < 64; k++) {
                if (!key_wanted(rq, info.name)) continue;
                bool is_default;
                const char *v = weir_log_topic_config(srv->log, t, info.name, &is_default);
                dc_entry *e = &entries[ne++];
                memset(e, 0, sizeof *e);
                e->name = info.name;
                e->value = weir_arena_sprintf(&r->arena, "%s", v ? v : "");
                e->doc = info.doc;
                e->type = topic_config_type(info.name);
                if (!is_default) e->source = SRC_DYNAMIC_TOPIC;
                else if (info.broker_key) e->source = broker_key_source(&srv->cfg, info.broker_key);
                else e->source = SRC_DEFAULT;
                if (info.broker_key) {
                    char buf[256];
                    e->syn_name = info.broker_key;
                    e->syn_value = weir_arena_sprintf(&r->arena, "%s",
                                                      weir_log_topic_config_default(srv->log, info.name, buf, sizeof buf));
                    e->syn_source = broker_key_source(&srv->cfg, info.broker_key);
                }
            }
        } else if (rq->resource_type == RESOURCE_BROKER) {
            char want[16];
            snprintf(want, sizeof want, "%d", srv->cfg.node_id);
            if (rq->resource_name.len > 0 && !weir_str_eq_cstr(rq->resource_name, want)) {
                res->error_code = KERR_INVALID_REQUEST;
                res->error_message = weir_str_from_cstr(weir_arena_sprintf(
                    &r->arena, "broker '%s' is not this broker (node.id %d)", kstr(r, rq->resource_name), srv->cfg.node_id));
                continue;
            }
            weir_config_key_info ki;
            for (int k = 0; weir_config_key(k, &ki) && ne < 64; k++) {
                if (!key_wanted(rq, ki.name)) continue;
                char buf[1024];
                weir_config_value(&srv->cfg, k, buf, sizeof buf);
                dc_entry *e = &entries[ne++];
                memset(e, 0, sizeof *e);
                e->name = ki.name;
                e->value = weir_arena_sprintf(&r->arena, "%s", buf);
                e->doc = ki.doc;
                e->source = srv->cfg.source[k] == WEIR_CONF_SRC_DEFAULT ? SRC_DEFAULT : SRC_STATIC_BROKER;
                e->type = ki.type == WEIR_CONF_BOOL ? TYPE_BOOLEAN
                          : ki.type == WEIR_CONF_INT ? TYPE_INT
                          : ki.type == WEIR_CONF_LONG ? TYPE_LONG
                                                      : TYPE_STRING;
            }
        } else {
            res->error_code = KERR_INVALID_REQUEST;
            res->error_message = weir_str_from_cstr(
                weir_arena_sprintf(&r->arena, "resource type %d is not supported (2 topic, 4 broker)", rq->resource_type));
            continue;
        }
        res->configs_count = ne;
        res->configs = KALLOC(r, struct weir_describe_configs_response_describe_configs_resource_result, ne,
                              weir_describe_configs_response_describe_configs_resource_result_init);
        for (int k = 0; k < ne; k++) dc_put(r, synonyms, &res->configs[k], &entries[k]);
    }
    weir_kafka_respond(r, &resp);
}
