/* config.c — weir.properties and its WEIR_ environment overrides. The key table below is
 * the single list of what Weir can be configured with: defaults, types and help text
 * all come from it, and so does the broker resource of DescribeConfigs. */
#include "base/base.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct conf_key {
    const char *name;
    weir_conf_type type;
    const char *def;
    size_t offset;
    size_t size; /* for strings: capacity of the field */
    int64_t min, max;
    const char *doc;
} conf_key;

#define F(field) offsetof(weir_config, field), sizeof(((weir_config *)0)->field)

static const conf_key conf_keys[] = {
    {"listeners", WEIR_CONF_STRING, "PLAINTEXT://127.0.0.1:9092", F(listeners), 0, 0,
     "Kafka listener, PLAINTEXT://host:port"},
    {"advertised.listeners", WEIR_CONF_STRING, "", F(advertised_listeners), 0, 0,
     "address clients are told to connect to (default: listeners)"},
    {"http.listener", WEIR_CONF_STRING, "127.0.0.1:8081", F(http_listener), 0, 0,
     "HTTP listener host:port for /metrics, /healthz, /readyz and /api/v1 (empty: no HTTP listener)"},
    {"log.dirs", WEIR_CONF_STRING, "./weir-data", F(log_dirs), 0, 0,
     "data directory: metadata database (SQLite) and the local object store"},
    {"num.partitions", WEIR_CONF_INT, "1", F(num_partitions), 1, 100000, "partitions of auto-created topics"},
    {"auto.create.topics.enable", WEIR_CONF_BOOL, "true", F(auto_create_topics_enable), 0, 0,
     "create a topic when a client asks for one that does not exist"},
    {"message.max.bytes", WEIR_CONF_INT, "1048588", F(message_max_bytes), 64, 1073741824,
     "largest record batch the broker accepts (topic override: max.message.bytes)"},
    {"socket.request.max.bytes", WEIR_CONF_INT, "104857600", F(socket_request_max_bytes), 64, 2147483647,
     "largest request frame; a larger one closes the connection"},
    {"log.retention.ms", WEIR_CONF_LONG, "604800000", F(log_retention_ms), -1, INT64_MAX,
     "default retention.ms of topics (-1: forever)"},
    {"log.retention.bytes", WEIR_CONF_LONG, "-1", F(log_retention_bytes), -1, INT64_MAX,
     "default retention.bytes of topics (-1: unlimited)"},
    {"log.message.timestamp.type", WEIR_CONF_STRING, "CreateTime", F(log_message_timestamp_type), 0, 0,
     "default message.timestamp.type of topics: CreateTime or LogAppendTime"},
    {"node.id", WEIR_CONF_INT, "0", F(node_id), 0, 2147483647, "this broker's id"},
    {"num.io.threads", WEIR_CONF_INT, "2", F(num_io_threads), 1, 64, "threads reading objects for fetches"},
    {"wal.object.bytes", WEIR_CONF_LONG, "8388608", F(wal_object_bytes), 1024, 1073741824,
     "a WAL object is flushed once its buffer reaches this size"},
    {"wal.flush.ms", WEIR_CONF_LONG, "0", F(wal_flush_ms), 0, 60000,
     "longest wait before buffered records are flushed (0: as soon as the previous flush is done)"},
    {"log.tail.cache.bytes", WEIR_CONF_LONG, "268435456", F(log_tail_cache_bytes), 0, INT64_MAX,
     "memory for recent data served to tailing consumers without object reads"},
    {"log.catchup.cache.bytes", WEIR_CONF_LONG, "67108864", F(log_catchup_cache_bytes), 0, INT64_MAX,
     "memory for older data read from objects, so consumers catching up read each chunk once"},
    {"producer.id.expiration.ms", WEIR_CONF_LONG, "86400000", F(producer_id_expiration_ms), 1, INT64_MAX,
     "an idempotent producer's sequence state is forgotten after this long without a write"},
    {"log.retention.check.interval.ms", WEIR_CONF_LONG, "300000", F(log_retention_check_interval_ms), 10,
     INT64_MAX, "how often retention, compaction of small WAL objects and object collection run"},
    {"log.object.delete.grace.ms", WEIR_CONF_LONG, "300000", F(log_object_delete_grace_ms), 0, INT64_MAX,
     "how long an object nothing references any more (or never committed) is kept before it is deleted"},
    {"group.initial.rebalance.delay.ms", WEIR_CONF_LONG, "100", F(group_initial_rebalance_delay_ms), 0, 300000,
     "how long the first rebalance of an empty group waits for more members to join"},
    {"offsets.retention.minutes", WEIR_CONF_INT, "10080", F(offsets_retention_minutes), 1, 2147483647,
     "committed offsets of a group that has been empty this long are deleted"},
    {"offsets.retention.check.interval.ms", WEIR_CONF_LONG, "600000", F(offsets_retention_check_interval_ms), 10,
     INT64_MAX, "how often expired committed offsets are looked for"},
    {"max.connections", WEIR_CONF_INT, "10000", F(max_connections), 1, 1000000, "open client connections at most"},
    {"log.level", WEIR_CONF_STRING, "info", F(log_level), 0, 0, "debug, info, warn or error"},
};
#define NKEYS (sizeof conf_keys / sizeof conf_keys[0])
_Static_assert(NKEYS <= 64, "weir_config.source is too small");

bool weir_config_key(int i, weir_config_key_info *info) {
    if (i < 0 || (size_t)i >= NKEYS) return false;
    info->name = conf_keys[i].name;
    info->type = conf_keys[i].type;
    info->default_value = conf_keys[i].def;
    info->doc = conf_keys[i].doc;
    return true;
}

static int find_key(const char *name) {
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(conf_keys[i].name, name) == 0) return (int)i;
    return -1;
}

/* The key nearest to a misspelt one, by edit distance, for "did you mean". */
static const char *nearest_key(const char *name) {
    const char *best = NULL;
    size_t best_d = 4;
    for (size_t k = 0; k < NKEYS; k++) {
        const char *a = name, *b = conf_keys[k].name;
        size_t la = strlen(a), lb = strlen(b);
        if (la > 64 || lb > 64) continue;
        size_t d[65][65];
        for (size_t i = 0; i <= la; i++) d[i][0] = i;
        for (size_t j = 0; j <= lb; j++) d[0][j] = j;
        for (size_t i = 1; i <= la; i++)
            for (size_t j = 1; j <= lb; j++) {
                size_t c = d[i - 1][j - 1] + (tolower((unsigned char)a[i - 1]) != b[j - 1]);
                if (d[i - 1][j] + 1 < c) c = d[i - 1][j] + 1;
                if (d[i][j - 1] + 1 < c) c = d[i][j - 1] + 1;
                d[i][j] = c;
            }
        if (d[la][lb] < best_d) {
            best_d = d[la][lb];
            best = b;
        }
    }
    return best;
}

static int set_index(weir_config *c, int i, const char *value, const char *origin, weir_err *err) {
    const conf_key *k = &conf_keys[i];
    char *field = (char *)c + k->offset;
    switch (k->type) {
    case WEIR_CONF_STRING:
        if (strlen(value) >= k->size)
            return weir_err_set(err, "%s: %s is too long (at most %zu characters)", origin, k->name, k->size - 1);
        strcpy(field, value);
        break;
    case WEIR_CONF_BOOL:
        if (strcmp(value, "true") == 0) *(bool *)field = true;
        else if (strcmp(value, "false") == 0) *(bool *)field = false;
        else return weir_err_set(err, "%s: %s must be true or false, not '%s'", origin, k->name, value);
        break;
    case WEIR_CONF_INT:
    case WEIR_CONF_LONG: {
        errno = 0;
        char *end;
        long long v = strtoll(value, &end, 10);
        if (errno || end == value || *end)
            return weir_err_set(err, "%s: %s must be an integer, not '%s'", origin, k->name, value);
        if (v < k->min || v > k->max)
            return weir_err_set(err, "%s: %s must be between %lld and %lld, not %lld", origin, k->name,
                                (long long)k->min, (long long)k->max, v);
        if (k->type == WEIR_CONF_INT) *(int32_t *)field = (int32_t)v;
        else *(int64_t *)field = v;
        break;
    }
    }
    return WEIR_OK;
}

int weir_config_set(weir_config *c, const char *key, const char *value, const char *origin, weir_err *err) {
    int i = find_key(key);
    if (i < 0) {
        const char *near = nearest_key(key);
        if (near) return weir_err_set(err, "%s: unknown configuration key '%s' (did you mean '%s'?)", origin, key, near);
        return weir_err_set(err, "%s: unknown configuration key '%s' (see weir serve --help)", origin, key);
    }
    return set_index(c, i, value, origin, err);
}

static char *trim(char *s) {
    while (isspace((unsigned char)*s)) s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = 0;
    return s;
}

static int load_file(weir_config *c, const char *path, weir_err *err) {
    FILE *f = fopen(path, "r");
    if (!f) return weir_err_set(err, "cannot open configuration file %s: %s", path, strerror(errno));
    char line[4096];
    int lineno = 0, rc = WEIR_OK;
    while (rc == WEIR_OK && fgets(line, sizeof line, f)) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#' || *s == '!') continue;
        char *sep = strpbrk(s, "=:");
        char origin[1100];
        snprintf(origin, sizeof origin, "%s:%d", path, lineno);
        if (!sep) {
            rc = weir_err_set(err, "%s: expected key=value, got '%s'", origin, s);
            break;
        }
        *sep = 0;
        char *key = trim(s), *value = trim(sep + 1);
        int i = find_key(key);
        rc = weir_config_set(c, key, value, origin, err);
        if (rc == WEIR_OK) c->source[i] = WEIR_CONF_SRC_FILE;
    }
    fclose(f);
    return rc;
}

static void env_name(const char *key, char *dst, size_t cap) {
    size_t n = snprintf(dst, cap, "WEIR_");
    for (const char *p = key; *p && n + 1 < cap; p++) dst[n++] = *p == '.' ? '_' : (char)toupper((unsigned char)*p);
    dst[n] = 0;
}

int weir_config_load(weir_config *c, const char *path, char *const *envp, weir_err *err) {
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < NKEYS; i++) {
        if (set_index(c, (int)i, conf_keys[i].def, "default", err) != WEIR_OK) return WEIR_ERROR;
        c->source[i] = WEIR_CONF_SRC_DEFAULT;
    }
    if (path && load_file(c, path, err) != WEIR_OK) return WEIR_ERROR;
    for (char *const *e = envp; e && *e; e++) {
        if (strncmp(*e, "WEIR_", 5) != 0) continue;
        const char *eq = strchr(*e, '=');
        if (!eq) continue;
        char name[128];
        size_t nlen = (size_t)(eq - *e);
        if (nlen >= sizeof name) nlen = sizeof name - 1;
        memcpy(name, *e, nlen);
        name[nlen] = 0;
        int found = -1;
        for (size_t i = 0; i < NKEYS && found < 0; i++) {
            char want[128];
            env_name(conf_keys[i].name, want, sizeof want);
            if (strcmp(want, name) == 0) found = (int)i;
        }
        char origin[160];
        snprintf(origin, sizeof origin, "environment variable %s", name);
        if (found < 0)
            return weir_err_set(err, "%s does not name a configuration key (WEIR_ + key upper-cased, dots as "
                                     "underscores, e.g. WEIR_LOG_DIRS for log.dirs)", origin);
        if (set_index(c, found, eq + 1, origin, err) != WEIR_OK) return WEIR_ERROR;
        c->source[found] = WEIR_CONF_SRC_ENV;
    }
    if (!c->advertised_listeners[0]) strcpy(c->advertised_listeners, c->listeners);
    char host[256];
    int port;
    if (weir_config_parse_listener(c->listeners, host, sizeof host, &port, err) != WEIR_OK)
        return weir_err_wrap(err, "listeners");
    if (weir_config_parse_listener(c->advertised_listeners, host, sizeof host, &port, err) != WEIR_OK)
        return weir_err_wrap(err, "advertised.listeners");
    if (strcmp(c->log_message_timestamp_type, "CreateTime") != 0 && strcmp(c->log_message_timestamp_type, "LogAppendTime") != 0)
        return weir_err_set(err, "log.message.timestamp.type must be CreateTime or LogAppendTime, not '%s'",
                            c->log_message_timestamp_type);
    if (strcmp(c->log_level, "debug") && strcmp(c->log_level, "info") && strcmp(c->log_level, "warn") &&
        strcmp(c->log_level, "error"))
        return weir_err_set(err, "log.level must be debug, info, warn or error, not '%s'", c->log_level);
    return WEIR_OK;
}

void weir_config_value(const weir_config *c, int i, char *dst, size_t cap) {
    const conf_key *k = &conf_keys[i];
    const char *field = (const char *)c + k->offset;
    switch (k->type) {
    case WEIR_CONF_STRING: snprintf(dst, cap, "%s", field); break;
    case WEIR_CONF_BOOL: snprintf(dst, cap, "%s", *(const bool *)field ? "true" : "false"); break;
    case WEIR_CONF_INT: snprintf(dst, cap, "%d", *(const int32_t *)field); break;
    case WEIR_CONF_LONG: snprintf(dst, cap, "%lld", (long long)*(const int64_t *)field); break;
    }
}

int weir_config_parse_listener(const char *listener, char *host, size_t hostcap, int *port, weir_err *err) {
    const char *s = listener;
    const char *scheme = strstr(s, "://");
    if (scheme) {
        if (strncmp(s, "PLAINTEXT://", 12) != 0)
            return weir_err_set(err, "listener '%s': only PLAINTEXT is supported so far", listener);
        s = scheme + 3;
    }
    const char *colon = strrchr(s, ':');
    if (!colon) return weir_err_set(err, "listener '%s': expected host:port", listener);
    size_t hl = (size_t)(colon - s);
    if (hl >= hostcap) return weir_err_set(err, "listener '%s': host name too long", listener);
    memcpy(host, s, hl);
    host[hl] = 0;
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') { /* [::1] */
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = 0;
    }
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end || p < 0 || p > 65535)
        return weir_err_set(err, "listener '%s': bad port '%s'", listener, colon + 1);
    *port = (int)p;
    return WEIR_OK;
}
