/* topics.c — the topic configs Weir understands (names and checks follow Kafka's), and
 * topic name rules. The log keeps only explicitly set configs on a topic; everything
 * else falls back to the broker config that supplies its default. */
#include "log/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { TC_LONG, TC_INT, TC_ENUM, TC_STRING } tc_kind;

typedef struct tc_def {
    const char *name;
    const char *broker_key;
    const char *fixed_default; /* when no broker key supplies it */
    tc_kind kind;
    int64_t min, max;
    const char *choices; /* TC_ENUM: comma-separated */
    const char *doc;
} tc_def;

static const tc_def topic_configs[] = {
    {"cleanup.policy", NULL, "delete", TC_ENUM, 0, 0, "delete",
     "delete: old data is removed by retention (compact is not supported yet)"},
    {"compression.type", NULL, "producer", TC_ENUM, 0, 0, "producer",
     "producer: batches are stored as the producer compressed them"},
    {"max.message.bytes", "message.max.bytes", NULL, TC_INT, 64, 1073741824, NULL, "largest record batch accepted"},
    {"message.timestamp.type", "log.message.timestamp.type", NULL, TC_ENUM, 0, 0, "CreateTime,LogAppendTime",
     "CreateTime keeps the producer's timestamps; LogAppendTime sets the broker's"},
    {"min.insync.replicas", NULL, "1", TC_INT, 1, 1000, NULL,
     "accepted for compatibility: durability comes from the object store"},
    {"retention.bytes", "log.retention.bytes", NULL, TC_LONG, -1, INT64_MAX, NULL, "bytes kept per partition (-1: no limit)"},
    {"retention.ms", "log.retention.ms", NULL, TC_LONG, -1, INT64_MAX, NULL, "how long data is kept (-1: forever)"},
    {"segment.bytes", NULL, "1073741824", TC_INT, 14, 2147483647, NULL,
     "accepted for compatibility: the log is made of objects, not segments"},
    {"segment.ms", NULL, "604800000", TC_LONG, 1, INT64_MAX, NULL,
     "accepted for compatibility: the log is made of objects, not segments"},
};
#define NTC (sizeof topic_configs / sizeof topic_configs[0])

static const tc_def *tc_find(const char *name) {
    for (size_t i = 0; i < NTC; i++)
        if (strcmp(topic_configs[i].name, name) == 0) return &topic_configs[i];
    return NULL;
}

bool weir_log_topic_config_info(int i, weir_topic_config_info *info) {
    if (i < 0 || (size_t)i >= NTC) return false;
    info->name = topic_configs[i].name;
    info->broker_key = topic_configs[i].broker_key;
    info->doc = topic_configs[i].doc;
    return true;
}

int weir_log_topic_config_check(const char *name, const char *value, weir_err *err) {
    const tc_def *d = tc_find(name);
    if (!d) return weir_err_set(err, "unknown topic config '%s'", name);
    if (!value) return weir_err_set(err, "topic config '%s' needs a value", name);
    switch (d->kind) {
    case TC_INT:
    case TC_LONG: {
        errno = 0;
        char *end;
        long long v = strtoll(value, &end, 10);
        if (errno || end == value || *end)
            return weir_err_set(err, "topic config %s must be an integer, not '%s'", name, value);
        if (v < d->min || v > d->max)
            return weir_err_set(err, "topic config %s must be between %lld and %lld, not %lld", name,
                                (long long)d->min, (long long)d->max, v);
        return WEIR_OK;
    }
    case TC_ENUM: {
        const char *c = d->choices;
        size_t vl = strlen(value);
        while (c && *c) {
            const char *comma = strchr(c, ',');
            size_t cl = comma ? (size_t)(comma - c) : strlen(c);
            if (cl == vl && strncmp(c, value, vl) == 0) return WEIR_OK;
            c = comma ? comma + 1 : NULL;
        }
        if (strcmp(name, "cleanup.policy") == 0 && strstr(value, "compact"))
            return weir_err_set(err, "cleanup.policy=%s is not supported yet: Weir has no log compaction; use "
                                     "cleanup.policy=delete",
                                value);
        return weir_err_set(err, "topic config %s must be one of %s, not '%s'", name, d->choices, value);
    }
    case TC_STRING: return WEIR_OK;
    }
    return WEIR_OK;
}

const char *weir_log_topic_config_default(weir_log *log, const char *name, char *buf, size_t cap) {
    const tc_def *d = tc_find(name);
    if (!d) return NULL;
    if (d->fixed_default) {
        snprintf(buf, cap, "%s", d->fixed_default);
        return buf;
    }
    weir_config_key_info ki;
    for (int i = 0; weir_config_key(i, &ki); i++)
        if (strcmp(ki.name, d->broker_key) == 0) {
            weir_config_value(&log->cfg, i, buf, cap);
            return buf;
        }
    return NULL;
}

const char *weir_log_topic_config(weir_log *log, const weir_topic *t, const char *name, bool *is_default) {
    for (int i = 0; i < t->nconfigs; i++)
        if (strcmp(t->configs[i].name, name) == 0) {
            if (is_default) *is_default = false;
            return t->configs[i].value;
        }
    if (is_default) *is_default = true;
    return weir_log_topic_config_default(log, name, log->config_scratch, sizeof log->config_scratch);
}

/* Derives the fields the hot path reads from a topic's configs. */
void weir_topic_apply_configs(weir_log *log, weir_topic *t) {
    const char *ts = weir_log_topic_config(log, t, "message.timestamp.type", NULL);
    t->log_append_time = ts && strcmp(ts, "LogAppendTime") == 0;
    const char *mmb = weir_log_topic_config(log, t, "max.message.bytes", NULL);
    t->max_message_bytes = mmb ? (int32_t)strtol(mmb, NULL, 10) : log->cfg.message_max_bytes;
}

int16_t weir_log_topic_check(weir_log *log, weir_str name, int32_t partitions, const weir_topic_config *configs,
                             int nconfigs, weir_err *err) {
    if (!name.ptr || name.len == 0) return (weir_err_set(err, "topic name is empty"), 17);
    if (name.len > 249) return (weir_err_set(err, "topic name is longer than 249 characters"), 17);
    if ((name.len == 1 && name.ptr[0] == '.') || (name.len == 2 && name.ptr[0] == '.' && name.ptr[1] == '.'))
        return (weir_err_set(err, "topic name cannot be '.' or '..'"), 17);
    for (int i = 0; i < name.len; i++) {
        char c = name.ptr[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return (weir_err_set(err, "topic name '%.*s' has the character '%c': only ASCII letters, digits, '.', "
                                      "'_' and '-' are allowed",
                                 name.len, name.ptr, c),
                    17);
    }
    weir_topic *existing = weir_log_topic_find_any(log, name);
    if (existing) return (weir_err_set(err, "topic '%.*s' already exists", name.len, name.ptr), 36);
    if (partitions < 1 || partitions > 100000)
        return (weir_err_set(err, "topic '%.*s': number of partitions must be between 1 and 100000, not %d", name.len,
                             name.ptr, partitions),
                37);
    for (int i = 0; i < nconfigs; i++)
        if (weir_log_topic_config_check(configs[i].name, configs[i].value, err) != WEIR_OK) return 40;
    return 0;
}
