/* kafka.c — the 'kafka' connector of the SQL engine (Flink's Kafka SQL connector options):
 * parsing and checking a table's options and metadata columns (validate), EXPLAIN's
 * description, the key/value formats, and librdkafka configurations built from
 * properties.*. Reading is kafka_source.c, writing kafka_sink.c; Kafka is reached only
 * through librdkafka, so a job runs against any Kafka cluster. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "connect/kafka_internal.h"

/* ---- option keys ----------------------------------------------------------------------- */

static const char *const kafka_keys[] = {
    "connector", "topic", "topic-pattern", "format", "value.format", "key.format", "key.fields",
    "key.fields-prefix", "value.fields-include", "scan.startup.mode", "scan.startup.specific-offsets",
    "scan.startup.timestamp-millis", "scan.bounded.mode", "scan.bounded.specific-offsets",
    "scan.bounded.timestamp-millis", "scan.topic-partition-discovery.interval", "sink.partitioner",
    "sink.semantic", "sink.delivery-guarantee", "sink.transactional-id-prefix", "sink.parallelism",
    "errors.dead-letter-topic", NULL};

/* Flink's upsert-kafka options (key.fields comes from the PRIMARY KEY; no 'format'), with
 * the kafka connector's scan.startup.* / scan.bounded.* and dead-letter topic. */
static const char *const upsert_keys[] = {
    "connector", "topic", "value.format", "key.format", "key.fields-prefix", "value.fields-include",
    "scan.startup.mode", "scan.startup.specific-offsets", "scan.startup.timestamp-millis", "scan.bounded.mode",
    "scan.bounded.specific-offsets", "scan.bounded.timestamp-millis", "sink.parallelism",
    "sink.buffer-flush.max-rows", "sink.buffer-flush.interval", "sink.delivery-guarantee",
    "sink.transactional-id-prefix", "errors.dead-letter-topic", NULL};

static const char *const meta_keys[] = {"topic", "partition", "headers", "leader-epoch",
                                        "offset", "timestamp", "timestamp-type", NULL};

static const char *const pos_names[] = {"earliest-offset", "latest-offset", "group-offsets", "timestamp",
                                        "specific-offsets", "unbounded", NULL};

/* ---- small helpers ----------------------------------------------------------------------- */

static char *trimmed(weir_arena *a, const char *s, size_t n) {
    while (n && isspace((unsigned char)*s)) s++, n--;
    while (n && isspace((unsigned char)s[n - 1])) n--;
    return weir_arena_strndup(a, s, n);
}

/* Splits s at sep into trimmed, non-empty parts. */
static int split_list(weir_arena *a, const char *s, char sep, const char ***out) {
    int cap = 1;
    for (const char *p = s; *p; p++) cap += *p == sep;
    const char **v = weir_arena_alloc(a, sizeof *v * (size_t)cap);
    int n = 0;
    const char *start = s;
    for (const char *p = s;; p++) {
        if (*p == sep || !*p) {
            char *part = trimmed(a, start, (size_t)(p - start));
            if (*part) v[n++] = part;
            if (!*p) break;
            start = p + 1;
        }
    }
    *out = v;
    return n;
}

static int find_column(const weir_sql_table *t, const char *name) {
    for (int c = 0; c < t->ncolumns; c++)
        if (!strcmp(t->columns[c].name, name)) return c;
    return -1;
}

/* 'partition:0,offset:42;partition:1,offset:300' (Flink's syntax, spaces allowed). */
static int parse_specific_offsets(kafka_opts *o, const char *key, kafka_specific_offset **out, int *nout,
                                  weir_err *err) {
    const weir_sql_table *t = o->table;
    const char *v = weir_sql_table_option(t, key);
    const char **parts;
    int n = split_list(&o->arena, v, ';', &parts);
    kafka_specific_offset *offs = weir_arena_alloc(&o->arena, sizeof *offs * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++) {
        long long p, off;
        char tail;
        if (sscanf(parts[i], " partition : %lld , offset : %lld %c", &p, &off, &tail) != 2 || p < 0 ||
            p > INT32_MAX || off < 0)
            return weir_err_set(err,
                                "table '%s': option '%s' = '%s': '%s' is not 'partition:<number>,offset:<number>' "
                                "(e.g. 'partition:0,offset:42;partition:1,offset:300')",
                                t->name, key, v, parts[i]);
        for (int j = 0; j < i; j++)
            if (offs[j].partition == p)
                return weir_err_set(err, "table '%s': option '%s' names partition %lld twice", t->name, key, p);
        offs[i].partition = (int32_t)p;
        offs[i].offset = off;
    }
    if (n == 0) return weir_err_set(err, "table '%s': option '%s' is empty", t->name, key);
    *out = offs;
    *nout = n;
    return WEIR_OK;
}

/* A startup or bounded mode with its companion option (timestamp-millis or specific-offsets). */
static int parse_position(kafka_opts *o, const char *prefix, bool bounded, int *mode, int64_t *ts,
                          kafka_specific_offset **offs, int *noffs, weir_err *err) {
    const weir_sql_table *t = o->table;
    char key[64], ts_key[64], off_key[64];
    snprintf(key, sizeof key, "%s.mode", prefix);
    snprintf(ts_key, sizeof ts_key, "%s.timestamp-millis", prefix);
    snprintf(off_key, sizeof off_key, "%s.specific-offsets", prefix);
    const char *v = weir_sql_table_option(t, key);
    /* upsert-kafka reads the whole topic unless told otherwise (its table is the topic's
     * compacted state) */
    *mode = bounded ? KAFKA_POS_UNBOUNDED : o->upsert ? KAFKA_POS_EARLIEST : KAFKA_POS_GROUP;
    if (v) {
        int m = -1;
        for (int i = 0; pos_names[i]; i++)
            if (!strcasecmp(v, pos_names[i]) && (bounded || i != KAFKA_POS_UNBOUNDED)) m = i;
        if (m < 0)
            return weir_err_set(err,
                                "table '%s': option '%s' = '%s' is not one of %s, 'latest-offset', 'group-offsets', "
                                "'timestamp', 'specific-offsets'",
                                t->name, key, v, bounded ? "'unbounded'" : "'earliest-offset'");
        *mode = m;
    }
    if (*mode == KAFKA_POS_TIMESTAMP) {
        if (!weir_sql_table_option(t, ts_key))
            return weir_err_set(err, "table '%s': '%s' = 'timestamp' needs option '%s' (epoch milliseconds)", t->name,
                                key, ts_key);
        if (weir_connect_opt_int(t, ts_key, 0, INT64_MAX, ts, err) != WEIR_OK) return WEIR_ERROR;
    }
    if (*mode == KAFKA_POS_SPECIFIC) {
        if (!weir_sql_table_option(t, off_key))
            return weir_err_set(err, "table '%s': '%s' = 'specific-offsets' needs option '%s' "
                                "(e.g. 'partition:0,offset:42;partition:1,offset:300')",
                                t->name, key, off_key);
        if (parse_specific_offsets(o, off_key, offs, noffs, err) != WEIR_OK) return WEIR_ERROR;
    }
    return WEIR_OK;
}

/* The declared type of a metadata column must hold the value (Flink casts the metadata
 * type to the declared one). */
static bool meta_type_ok(int meta, const weir_sql_ltype *ty) {
    switch (meta) {
    case KAFKA_META_TOPIC:
    case KAFKA_META_TIMESTAMP_TYPE: return weir_sql_ltype_is_string(ty);
    case KAFKA_META_PARTITION:
    case KAFKA_META_LEADER_EPOCH:
    case KAFKA_META_OFFSET:
        return weir_sql_ltype_is_exact_int(ty) || (ty->kind == WEIR_SQL_TYPE_DECIMAL && ty->precision <= 18) ||
               weir_sql_ltype_is_string(ty);
    case KAFKA_META_TIMESTAMP: return weir_sql_ltype_is_timestamp(ty);
    case KAFKA_META_HEADERS:
        return ty->kind == WEIR_SQL_TYPE_MAP && ty->elem && ty->value && weir_sql_ltype_is_string(ty->elem) &&
               (weir_sql_ltype_is_binary(ty->value) || weir_sql_ltype_is_string(ty->value));
    }
    return false;
}

static const char *const meta_types[] = {"STRING NOT NULL", "INT NOT NULL", "MAP<STRING, BYTES> NOT NULL", "INT NULL",
                                         "BIGINT NOT NULL", "TIMESTAMP_LTZ(3) NOT NULL", "STRING NOT NULL"};

static int parse_metadata(kafka_opts *o, weir_err *err) {
    const weir_sql_table *t = o->table;
    o->meta = weir_arena_alloc(&o->arena, sizeof(int) * (size_t)(t->ncolumns + 1));
    for (int c = 0; c < t->ncolumns; c++) {
        const weir_sql_table_column *col = &t->columns[c];
        o->meta[c] = KAFKA_META_NONE;
        if (col->kind != WEIR_SQL_COLUMN_METADATA) continue;
        const char *key = col->metadata_key ? col->metadata_key : col->name;
        int m = -1;
        for (int i = 0; meta_keys[i]; i++)
            if (!strcmp(meta_keys[i], key)) m = i;
        if (m < 0) {
            const char *near = weir_sql_closest(key, meta_keys, 7);
            return weir_err_set(err,
                                "table '%s': column '%s' reads metadata key '%s', which connector '%s' does not "
                                "have%s%s%s (it has topic, partition, headers, leader-epoch, offset, timestamp, "
                                "timestamp-type)",
                                t->name, col->name, key, o->connector, near ? "; did you mean '" : "", near ? near : "",
                                near ? "'?" : "");
        }
        if (!meta_type_ok(m, &col->type)) {
            const char *ty = weir_sql_ltype_str(&o->arena, &col->type);
            return weir_err_set(err, "table '%s': metadata column '%s' is %s, which cannot hold metadata '%s' (%s)",
                                t->name, col->name, ty, key, meta_types[m]);
        }
        if (!o->as_source && !col->is_virtual && m != KAFKA_META_TIMESTAMP && m != KAFKA_META_HEADERS)
            return weir_err_set(err,
                                "table '%s': metadata '%s' of column '%s' is read-only and the table is written: "
                                "declare the column VIRTUAL (only 'timestamp' and 'headers' can be written)",
                                t->name, key, col->name);
        o->meta[c] = m;
    }
    return WEIR_OK;
}

/* The table the key format works on: the key columns' names without key.fields-prefix
 * (the format's field names), everything else shared with the real table. */
static void make_key_table(kafka_opts *o) {
    const weir_sql_table *t = o->table;
    weir_sql_table *kt = weir_arena_alloc(&o->arena, sizeof *kt);
    *kt = *t;
    weir_sql_table_column *cols = weir_arena_alloc(&o->arena, sizeof *cols * (size_t)(t->ncolumns + 1));
    memcpy(cols, t->columns, sizeof *cols * (size_t)t->ncolumns);
    size_t plen = o->key_fields_prefix ? strlen(o->key_fields_prefix) : 0;
    for (int i = 0; i < o->nkey_cols && plen; i++) cols[o->key_cols[i]].name += plen;
    kt->columns = cols;
    o->key_table = kt;
}

int weir_kafka_pattern_compile(const kafka_opts *o, void **code, weir_err *err) {
    int ec;
    PCRE2_SIZE eoff;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)o->pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &ec, &eoff, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(ec, msg, sizeof msg);
        return weir_err_set(err, "table '%s': option 'topic-pattern' = '%s' is not a regular expression: %s at "
                            "character %zu", o->table->name, o->pattern, (const char *)msg, (size_t)eoff + 1);
    }
    *code = re;
    return WEIR_OK;
}

bool weir_kafka_pattern_matches(void *code, const char *topic) {
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(code, NULL);
    if (!md) abort();
    int rc = pcre2_match(code, (PCRE2_SPTR)topic, PCRE2_ZERO_TERMINATED, 0, PCRE2_ANCHORED | PCRE2_ENDANCHORED, md,
                         NULL);
    pcre2_match_data_free(md);
    return rc >= 0;
}

void weir_kafka_pattern_free(void *code) { pcre2_code_free(code); }

int weir_kafka_opts_parse(const weir_sql_table *t, bool as_source, kafka_opts *o, weir_err *err) {
    return weir_kafka_opts_parse_as(t, as_source, false, o, err);
}

bool weir_kafka_value_is_changelog(const kafka_opts *o) {
    return o->value_format && !strcmp(o->value_format, "debezium-json");
}

/* upsert-kafka's key: the PRIMARY KEY columns, in key order. */
static int upsert_key_fields(kafka_opts *o, weir_err *err) {
    const weir_sql_table *t = o->table;
    if (t->nprimary_key == 0)
        return weir_err_set(err,
                            "table '%s': connector 'upsert-kafka' needs a primary key: declare PRIMARY KEY (...) NOT "
                            "ENFORCED (its columns make the record key)",
                            t->name);
    o->key_cols = weir_arena_alloc(&o->arena, sizeof(int) * (size_t)(t->nprimary_key + 1));
    for (int i = 0; i < t->nprimary_key; i++) {
        int c = t->primary_key[i];
        const char *name = t->columns[c].name;
        if (t->columns[c].kind != WEIR_SQL_COLUMN_PHYSICAL)
            return weir_err_set(err, "table '%s': primary key column '%s' is not a physical column", t->name, name);
        if (o->key_fields_prefix && strncmp(name, o->key_fields_prefix, strlen(o->key_fields_prefix)))
            return weir_err_set(err, "table '%s': primary key column '%s' does not start with 'key.fields-prefix' = "
                                "'%s'", t->name, name, o->key_fields_prefix);
        o->key_cols[i] = c;
    }
    o->nkey_cols = t->nprimary_key;
    return WEIR_OK;
}

int weir_kafka_opts_parse_as(const weir_sql_table *t, bool as_source, bool upsert, kafka_opts *o, weir_err *err) {
    memset(o, 0, sizeof *o);
    weir_arena_init(&o->arena, 0);
    o->table = t;
    o->as_source = as_source;
    o->upsert = upsert;
    o->connector = upsert ? "upsert-kafka" : "kafka";
    /* the keys we know: the connector's, properties.*, and the formats' under their prefixes */
    const char *fmt = weir_sql_table_option(t, "format");
    const char *vfmt = weir_sql_table_option(t, "value.format");
    const char *kfmt = weir_sql_table_option(t, "key.format");
    int nk = 0;
    while (kafka_keys[nk]) nk++;
    const char *const *fk_value = weir_format_option_keys(vfmt ? vfmt : fmt);
    const char *const *fk_key = weir_format_option_keys(kfmt);
    int nfv = 0, nfk = 0;
    while (fk_value && fk_value[nfv]) nfv++;
    while (fk_key && fk_key[nfk]) nfk++;
    const char **keys = weir_arena_alloc(&o->arena, sizeof *keys * (size_t)(nk + nfv + nfk + 1));
    int n = 0;
    if (upsert) {
        nk = 0;
        while (upsert_keys[nk]) nk++;
        keys = weir_arena_alloc(&o->arena, sizeof *keys * (size_t)(nk + nfv + nfk + 1));
    }
    for (int i = 0; i < nk; i++) keys[n++] = upsert ? upsert_keys[i] : kafka_keys[i];
    for (int i = 0; i < nfv; i++) keys[n++] = vfmt ? weir_arena_sprintf(&o->arena, "value.%s", fk_value[i]) : fk_value[i];
    for (int i = 0; i < nfk; i++) keys[n++] = weir_arena_sprintf(&o->arena, "key.%s", fk_key[i]);
    keys[n] = NULL;
    static const char *const prefixes[] = {"properties.", NULL};
    if (weir_connect_check_options(t, o->connector, keys, prefixes, err) != WEIR_OK) goto fail;

    /* topics */
    const char *topic = weir_sql_table_option(t, "topic");
    o->pattern = weir_sql_table_option(t, "topic-pattern");
    if (as_source) {
        if (topic && o->pattern) {
            weir_err_set(err, "table '%s': options 'topic' and 'topic-pattern' exclude each other; give one", t->name);
            goto fail;
        }
        if (!topic && !o->pattern) {
            if (upsert) weir_err_set(err, "table '%s': connector 'upsert-kafka' needs option 'topic'", t->name);
            else
                weir_err_set(err, "table '%s': connector 'kafka' needs option 'topic' (or 'topic-pattern' to read from)",
                             t->name);
            goto fail;
        }
    } else {
        if (!topic) {
            weir_err_set(err, "table '%s': connector '%s' needs option 'topic' to write to", t->name, o->connector);
            goto fail;
        }
        if (o->pattern) {
            weir_err_set(err, "table '%s': option 'topic-pattern' only works for reading; a sink writes to one 'topic'",
                         t->name);
            goto fail;
        }
    }
    if (topic) {
        o->ntopics = split_list(&o->arena, topic, ';', &o->topics);
        if (o->ntopics == 0) {
            weir_err_set(err, "table '%s': option 'topic' is empty", t->name);
            goto fail;
        }
        if (!as_source && o->ntopics > 1) {
            weir_err_set(err, "table '%s': a sink writes to one topic; option 'topic' = '%s' lists %d", t->name, topic,
                         o->ntopics);
            goto fail;
        }
    }

    if (o->pattern) {
        void *code;
        if (weir_kafka_pattern_compile(o, &code, err) != WEIR_OK) goto fail;
        pcre2_code_free(code);
    }

    /* formats */
    if (fmt && vfmt) {
        weir_err_set(err, "table '%s': options 'format' and 'value.format' mean the same; give one", t->name);
        goto fail;
    }
    if (upsert && !vfmt) {
        weir_err_set(err, "table '%s': connector 'upsert-kafka' needs option 'value.format' (json, csv or raw)",
                     t->name);
        goto fail;
    }
    if (upsert && !kfmt) {
        weir_err_set(err, "table '%s': connector 'upsert-kafka' needs option 'key.format' (json, csv or raw): the "
                     "record key holds the PRIMARY KEY columns", t->name);
        goto fail;
    }
    if (upsert && !strcmp(vfmt, "debezium-json")) {
        weir_err_set(err, "table '%s': connector 'upsert-kafka' takes an insert-only 'value.format' (json, csv or "
                     "raw), not 'debezium-json': read and write Debezium changes with connector 'kafka'", t->name);
        goto fail;
    }
    if (!fmt && !vfmt) {
        weir_err_set(err, "table '%s': connector 'kafka' needs option 'format' (or 'value.format'): json, csv, raw or "
                     "debezium-json", t->name);
        goto fail;
    }
    o->value_format = vfmt ? vfmt : fmt;
    o->value_prefix = vfmt ? "value." : "";
    o->key_format = kfmt;
    o->key_fields_prefix = weir_sql_table_option(t, "key.fields-prefix");
    const char *inc = weir_sql_table_option(t, "value.fields-include");
    if (inc) {
        if (!strcasecmp(inc, "EXCEPT_KEY")) o->except_key = true;
        else if (strcasecmp(inc, "ALL")) {
            weir_err_set(err, "table '%s': option 'value.fields-include' = '%s' is not one of 'ALL', 'EXCEPT_KEY'",
                         t->name, inc);
            goto fail;
        }
    }
    const char *kf = weir_sql_table_option(t, "key.fields");
    if (kf && !kfmt) {
        weir_err_set(err, "table '%s': option 'key.fields' needs 'key.format' (the format of the record key)", t->name);
        goto fail;
    }
    if (kfmt && !kf && !upsert) {
        weir_err_set(err, "table '%s': option 'key.format' needs 'key.fields' (the columns in the key, as 'a;b')",
                     t->name);
        goto fail;
    }
    if (o->key_fields_prefix && *o->key_fields_prefix && !o->except_key) {
        weir_err_set(err, "table '%s': option 'key.fields-prefix' needs 'value.fields-include' = 'EXCEPT_KEY'", t->name);
        goto fail;
    }
    if (upsert) {
        if (upsert_key_fields(o, err) != WEIR_OK) goto fail;
    } else if (kf) {
        const char **names;
        int nn = split_list(&o->arena, kf, ';', &names);
        o->key_cols = weir_arena_alloc(&o->arena, sizeof(int) * (size_t)(nn + 1));
        for (int i = 0; i < nn; i++) {
            int c = find_column(t, names[i]);
            if (c < 0 || t->columns[c].kind != WEIR_SQL_COLUMN_PHYSICAL) {
                const char **phys = weir_arena_alloc(&o->arena, sizeof *phys * (size_t)(t->ncolumns + 1));
                int np = 0;
                for (int k = 0; k < t->ncolumns; k++)
                    if (t->columns[k].kind == WEIR_SQL_COLUMN_PHYSICAL) phys[np++] = t->columns[k].name;
                const char *near = c < 0 ? weir_sql_closest(names[i], phys, np) : NULL;
                weir_err_set(err, "table '%s': key field '%s' of option 'key.fields' is not a physical column%s%s%s",
                             t->name, names[i], near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
                goto fail;
            }
            for (int j = 0; j < i; j++)
                if (o->key_cols[j] == c) {
                    weir_err_set(err, "table '%s': option 'key.fields' names '%s' twice", t->name, names[i]);
                    goto fail;
                }
            if (o->key_fields_prefix && strncmp(names[i], o->key_fields_prefix, strlen(o->key_fields_prefix))) {
                weir_err_set(err, "table '%s': key field '%s' does not start with 'key.fields-prefix' = '%s'", t->name,
                             names[i], o->key_fields_prefix);
                goto fail;
            }
            o->key_cols[i] = c;
        }
        o->nkey_cols = nn;
        if (nn == 0) {
            weir_err_set(err, "table '%s': option 'key.fields' is empty", t->name);
            goto fail;
        }
    }
    o->value_cols = weir_arena_alloc(&o->arena, sizeof(int) * (size_t)(t->ncolumns + 1));
    for (int c = 0; c < t->ncolumns; c++) {
        if (t->columns[c].kind != WEIR_SQL_COLUMN_PHYSICAL) continue;
        bool is_key = false;
        for (int i = 0; i < o->nkey_cols; i++) is_key |= o->key_cols[i] == c;
        if (is_key && o->except_key) continue;
        o->value_cols[o->nvalue_cols++] = c;
    }
    make_key_table(o);

    /* reading positions */
    if (parse_position(o, "scan.startup", false, &o->startup, &o->startup_ts, &o->startup_offsets,
                       &o->nstartup_offsets, err) != WEIR_OK ||
        parse_position(o, "scan.bounded", true, &o->bounded, &o->bounded_ts, &o->bounded_offsets,
                       &o->nbounded_offsets, err) != WEIR_OK)
        goto fail;
    int64_t discovery = 0;
    if (weir_connect_opt_duration_ms(t, "scan.topic-partition-discovery.interval", &discovery, err) != WEIR_OK) goto fail;
    o->group_id = weir_sql_table_option(t, "properties.group.id");
    const char *reset = weir_sql_table_option(t, "properties.auto.offset.reset");
    if (reset) {
        if (!strcasecmp(reset, "earliest") || !strcasecmp(reset, "smallest") || !strcasecmp(reset, "beginning"))
            o->auto_offset_reset = "earliest";
        else if (!strcasecmp(reset, "latest") || !strcasecmp(reset, "largest") || !strcasecmp(reset, "end"))
            o->auto_offset_reset = "latest";
        else if (!strcasecmp(reset, "none") || !strcasecmp(reset, "error"))
            o->auto_offset_reset = "none";
        else {
            weir_err_set(err, "table '%s': option 'properties.auto.offset.reset' = '%s' is not one of 'earliest', "
                         "'latest', 'none'", t->name, reset);
            goto fail;
        }
    }

    /* writing */
    static const char *const partitioners[] = {"default", "fixed", "round-robin", NULL};
    const char *part = weir_sql_table_option(t, "sink.partitioner");
    if (part) {
        int k = -1;
        for (int i = 0; partitioners[i]; i++)
            if (!strcmp(part, partitioners[i])) k = i;
        if (k < 0) {
            weir_err_set(err,
                         "table '%s': option 'sink.partitioner' = '%s' is not one of 'default', 'fixed', "
                         "'round-robin' (custom partitioner classes need Flink's Java runtime)",
                         t->name, part);
            goto fail;
        }
        o->partitioner = k;
    }
    const char *dg = weir_sql_table_option(t, "sink.delivery-guarantee");
    const char *sem = weir_sql_table_option(t, "sink.semantic"); /* Flink's deprecated name */
    const char *dg_key = dg ? "sink.delivery-guarantee" : "sink.semantic";
    if (!dg) dg = sem;
    if (dg) {
        char norm[32];
        size_t i = 0;
        for (; dg[i] && i < sizeof norm - 1; i++) norm[i] = dg[i] == '_' ? '-' : (char)tolower((unsigned char)dg[i]);
        norm[i] = 0;
        if (!strcmp(norm, "at-least-once")) o->delivery = KAFKA_DELIVERY_AT_LEAST_ONCE;
        else if (!strcmp(norm, "none")) o->delivery = KAFKA_DELIVERY_NONE;
        else if (!strcmp(norm, "exactly-once")) {
            if (!as_source) {
                weir_err_set(err,
                             "table '%s': '%s' = '%s' needs Kafka transactions, which Weir does not support yet; use "
                             "'at-least-once'",
                             t->name, dg_key, dg);
                goto fail;
            }
            o->delivery = KAFKA_DELIVERY_EXACTLY_ONCE;
        } else {
            weir_err_set(err, "table '%s': option '%s' = '%s' is not one of 'at-least-once', 'exactly-once', 'none'",
                         t->name, dg_key, dg);
            goto fail;
        }
    }
    int64_t sink_par = 0;
    if (weir_connect_opt_int(t, "sink.parallelism", 1, 1 << 20, &sink_par, err) != WEIR_OK) goto fail;
    if (upsert) {
        /* accepted and checked as Flink does; every change is written as it comes (no
         * per-key buffering), which gives the same compacted topic */
        int64_t rows = 0, interval = 0;
        if (weir_connect_opt_int(t, "sink.buffer-flush.max-rows", 0, INT32_MAX, &rows, err) != WEIR_OK ||
            weir_connect_opt_duration_ms(t, "sink.buffer-flush.interval", &interval, err) != WEIR_OK)
            goto fail;
        if ((rows > 0) != (interval > 0)) {
            weir_err_set(err, "table '%s': 'sink.buffer-flush.max-rows' and 'sink.buffer-flush.interval' must both be "
                         "greater than zero to buffer, or both zero (not set)", t->name);
            goto fail;
        }
    }
    o->dead_letter_topic = weir_sql_table_option(t, "errors.dead-letter-topic");
    if (o->dead_letter_topic && (!*o->dead_letter_topic || strchr(o->dead_letter_topic, ';'))) {
        weir_err_set(err, "table '%s': option 'errors.dead-letter-topic' = '%s' is not one topic name", t->name,
                     o->dead_letter_topic);
        goto fail;
    }
    if (parse_metadata(o, err) != WEIR_OK) goto fail;
    return WEIR_OK;
fail:
    weir_kafka_opts_free(o);
    return WEIR_ERROR;
}

void weir_kafka_opts_free(kafka_opts *o) {
    weir_arena_free(&o->arena);
    memset(o, 0, sizeof *o);
}

int weir_kafka_key_format_open(const kafka_opts *o, const bool *needed, weir_format **key, weir_err *err) {
    weir_format_spec ks = {.name = o->key_format, .table = o->key_table, .prefix = "key.",
                           .cols = o->key_cols, .ncols = o->nkey_cols, .needed = needed};
    return weir_format_open(&ks, key, err);
}

int weir_kafka_formats_open(const kafka_opts *o, const bool *needed, weir_format **key, weir_format **value,
                            weir_err *err) {
    *key = *value = NULL;
    if (o->key_format) {
        /* a key column is read from the key only when the value does not carry it too (with
         * 'ALL' the value's copy wins, as in Flink, and the key bytes are not decoded) */
        bool *kneeded = calloc((size_t)o->table->ncolumns + 1, 1);
        if (!kneeded) abort();
        bool any = false;
        for (int i = 0; i < o->nkey_cols; i++) {
            int c = o->key_cols[i];
            bool in_value = false;
            for (int j = 0; j < o->nvalue_cols; j++) in_value |= o->value_cols[j] == c;
            kneeded[c] = (!needed || needed[c]) && !in_value;
            any |= kneeded[c];
        }
        int rc = WEIR_OK;
        if (!needed || any) {
            weir_format_spec ks = {.name = o->key_format, .table = o->key_table, .prefix = "key.",
                                   .cols = o->key_cols, .ncols = o->nkey_cols, .needed = needed ? kneeded : NULL};
            rc = weir_format_open(&ks, key, err);
        }
        free(kneeded);
        if (rc != WEIR_OK) return WEIR_ERROR;
    }
    weir_format_spec vs = {.name = o->value_format, .table = o->table, .prefix = o->value_prefix,
                           .cols = o->value_cols, .ncols = o->nvalue_cols, .needed = needed};
    if (weir_format_open(&vs, value, err) != WEIR_OK) {
        weir_format_free(*key);
        *key = NULL;
        return WEIR_ERROR;
    }
    return WEIR_OK;
}

/* ---- validate and describe ------------------------------------------------------------- */

int weir_kafka_validate_as(const weir_sql_table *t, bool as_source, bool upsert, weir_err *err) {
    kafka_opts o;
    if (weir_kafka_opts_parse_as(t, as_source, upsert, &o, err) != WEIR_OK) return WEIR_ERROR;
    if (!as_source && weir_kafka_value_is_changelog(&o)) {
        bool with_schema = false;
        char key[64];
        snprintf(key, sizeof key, "%sdebezium-json.schema-include", o.value_prefix);
        if (weir_connect_opt_bool(t, key, &with_schema, err) != WEIR_OK) {
            weir_kafka_opts_free(&o);
            return WEIR_ERROR;
        }
        if (with_schema) {
            weir_err_set(err, "table '%s': the debezium-json format cannot write records with their schema ('%s' is "
                         "true); set it to false for a sink", t->name, key);
            weir_kafka_opts_free(&o);
            return WEIR_ERROR;
        }
    }
    /* the formats check their own options and the column types they carry */
    weir_format *k, *v;
    int rc = weir_kafka_formats_open(&o, NULL, &k, &v, err);
    if (rc == WEIR_OK) {
        weir_format_free(k);
        weir_format_free(v);
    }
    /* and the Java-client property names (refused or mapped, see below) */
    if (rc == WEIR_OK) {
        rd_kafka_conf_t *conf;
        rc = weir_kafka_conf_new(&o, "validate.invalid:9092", as_source ? KAFKA_ROLE_CONSUMER : KAFKA_ROLE_PRODUCER,
                                 &conf, err);
        if (rc == WEIR_OK) rd_kafka_conf_destroy(conf);
    }
    weir_kafka_opts_free(&o);
    return rc;
}

static void kafka_describe(const weir_sql_table *t, weir_buf *out) {
    const char *topic = weir_sql_table_option(t, "topic");
    const char *pattern = weir_sql_table_option(t, "topic-pattern");
    char tmp[64];
    if (topic) {
        weir_buf_append(out, "topic=[", 7);
        /* a list reads "a, b" like Flink's lists */
        for (const char *p = topic; *p; p++) {
            if (*p == ';') weir_buf_append(out, ", ", 2);
            else if (*p != ' ') weir_buf_append(out, p, 1);
        }
        weir_buf_append(out, "]", 1);
    } else if (pattern) {
        weir_buf_append(out, "topic-pattern=[", 15);
        weir_buf_append(out, pattern, strlen(pattern));
        weir_buf_append(out, "]", 1);
    }
    const char *fmt = weir_sql_table_option(t, "value.format");
    if (!fmt) fmt = weir_sql_table_option(t, "format");
    if (fmt) {
        int n = snprintf(tmp, sizeof tmp, ", format=[%s]", fmt);
        weir_buf_append(out, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
    }
    const char *kfmt = weir_sql_table_option(t, "key.format");
    const char *kf = weir_sql_table_option(t, "key.fields");
    if (kfmt && kf) {
        weir_buf_append(out, ", key=[", 7);
        weir_buf_append(out, kfmt, strlen(kfmt));
        weir_buf_append(out, ": ", 2);
        for (const char *p = kf; *p; p++) {
            if (*p == ';') weir_buf_append(out, ", ", 2);
            else if (*p != ' ') weir_buf_append(out, p, 1);
        }
        weir_buf_append(out, "]", 1);
    }
}

static int kafka_validate(const weir_sql_table *t, bool as_source, weir_err *err) {
    return weir_kafka_validate_as(t, as_source, false, err);
}

/* By the value format: debezium-json carries every row kind both ways, the others only
 * inserts. */
static weir_sql_changes kafka_changelog(const weir_sql_table *t, bool as_source) {
    (void)as_source;
    const char *fmt = weir_sql_table_option(t, "value.format");
    if (!fmt) fmt = weir_sql_table_option(t, "format");
    return fmt && !strcmp(fmt, "debezium-json") ? WEIR_SQL_CHANGES_ALL : WEIR_SQL_CHANGES_INSERT_ONLY;
}

const weir_sql_connector weir_connect_kafka = {
    .name = "kafka",
    .source = &weir_kafka_source_ops,
    .sink = &weir_kafka_sink_ops,
    .validate = kafka_validate,
    .describe = kafka_describe,
    .changelog = kafka_changelog,
};

/* ---- librdkafka configuration ------------------------------------------------------------ */

/* Java-client and Flink property names librdkafka does not have and that change nothing
 * here (serializers are the formats' job; partition discovery happens at start; offsets
 * are committed at checkpoints): accepted and ignored. */
static const char *const ignored_props[] = {
    "key.deserializer", "value.deserializer", "key.serializer", "value.serializer",
    "partition.discovery.interval.ms", "commit.offsets.on.checkpoint", "client.id.prefix",
    "register.consumer.metrics", "flink.partition-discovery.interval-millis", "max.poll.records",
    "buffer.memory", "auto.commit.interval.ms", "enable.auto.commit", NULL};

/* Java names librdkafka spells differently. */
static const struct {
    const char *java, *rdkafka;
} renamed_props[] = {
    {"fetch.max.wait.ms", "fetch.wait.max.ms"},
    {"max.request.size", "message.max.bytes"},
};

/* Java names librdkafka cannot honour, with what to use instead. */
static const struct {
    const char *java, *hint;
} refused_props[] = {
    {"ssl.truststore.location", "librdkafka reads PEM files: use 'properties.ssl.ca.location'"},
    {"ssl.truststore.password", "librdkafka reads PEM files: use 'properties.ssl.ca.location'"},
    {"ssl.truststore.type", "librdkafka reads PEM files: use 'properties.ssl.ca.location'"},
    {"ssl.keystore.type", "librdkafka reads a PKCS#12 'properties.ssl.keystore.location' or PEM "
                          "'properties.ssl.certificate.location' and 'properties.ssl.key.location'"},
    {"transactional.id", "Weir's Kafka sink does not use transactions"},
};

/* properties.* that the connector decides itself. */
static const char *const own_props[] = {"bootstrap.servers", "auto.offset.reset", NULL};

/* Pulls name=value (value optionally quoted, with or without backslashes) out of a JAAS
 * line such as PlainLoginModule required username="u" password="p"; */
static char *jaas_value(weir_arena *a, const char *jaas, const char *name) {
    size_t nlen = strlen(name);
    for (const char *p = jaas; (p = strstr(p, name)); p += nlen) {
        if (p > jaas && !isspace((unsigned char)p[-1])) continue;
        const char *q = p + nlen;
        while (isspace((unsigned char)*q)) q++;
        if (*q != '=') continue;
        q++;
        while (isspace((unsigned char)*q) || *q == '\\') q++;
        bool quoted = *q == '"';
        if (quoted) q++;
        const char *e = q;
        while (*e && (quoted ? *e != '"' : !isspace((unsigned char)*e) && *e != ';')) e++;
        size_t n = (size_t)(e - q);
        if (quoted && n && q[n - 1] == '\\') n--;
        return weir_arena_strndup(a, q, n);
    }
    return NULL;
}

static int conf_set(rd_kafka_conf_t *conf, const weir_sql_table *t, const char *key, const char *shown_key,
                    const char *value, weir_err *err) {
    char errstr[512];
    rd_kafka_conf_res_t r = rd_kafka_conf_set(conf, key, value, errstr, sizeof errstr);
    if (r == RD_KAFKA_CONF_OK) return WEIR_OK;
    if (r == RD_KAFKA_CONF_UNKNOWN)
        return weir_err_set(err, "table '%s': option '%s' is not a Kafka client property librdkafka knows (%s)",
                            t->name, shown_key, errstr);
    return weir_err_set(err, "table '%s': option '%s' = '%s': %s", t->name, shown_key, value, errstr);
}

int weir_kafka_conf_new(const kafka_opts *o, const char *bootstrap, kafka_role role, rd_kafka_conf_t **out,
                        weir_err *err) {
    const weir_sql_table *t = o->table;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    weir_arena a;
    weir_arena_init(&a, 0);
    char shown[300];
    int rc = conf_set(conf, t, "bootstrap.servers", "properties.bootstrap.servers", bootstrap, err);
    if (rc == WEIR_OK) rc = conf_set(conf, t, "client.id", "properties.client.id", "weir-sql", err);
    for (int i = 0; i < t->noptions && rc == WEIR_OK; i++) {
        const char *k = t->options[i].key, *v = t->options[i].value;
        if (strncmp(k, "properties.", 11)) continue;
        const char *p = k + 11;
        snprintf(shown, sizeof shown, "%s", k);
        bool skip = false;
        for (int j = 0; ignored_props[j] && !skip; j++) skip = !strcmp(p, ignored_props[j]);
        for (int j = 0; own_props[j] && !skip; j++) skip = !strcmp(p, own_props[j]);
        /* a table used both ways carries consumer settings; the producer needs none of them */
        if (role == KAFKA_ROLE_PRODUCER && !strcmp(p, "group.id")) skip = true;
        if (skip) continue;
        for (size_t j = 0; j < sizeof refused_props / sizeof refused_props[0] && rc == WEIR_OK; j++)
            if (!strcmp(p, refused_props[j].java))
                rc = weir_err_set(err, "table '%s': option '%s' is a Java-client property: %s", t->name, k,
                                  refused_props[j].hint);
        if (rc != WEIR_OK) break;
        for (size_t j = 0; j < sizeof renamed_props / sizeof renamed_props[0]; j++)
            if (!strcmp(p, renamed_props[j].java)) p = renamed_props[j].rdkafka;
        if (!strcmp(p, "sasl.jaas.config")) {
            if (!strstr(v, "PlainLoginModule") && !strstr(v, "ScramLoginModule")) {
                rc = weir_err_set(err,
                                  "table '%s': option '%s': only PlainLoginModule and ScramLoginModule can be mapped "
                                  "to librdkafka (use 'properties.sasl.username' / 'properties.sasl.password' or "
                                  "librdkafka's sasl.oauthbearer.* properties)",
                                  t->name, k);
                break;
            }
            char *user = jaas_value(&a, v, "username"), *pass = jaas_value(&a, v, "password");
            if (!user || !pass) {
                rc = weir_err_set(err, "table '%s': option '%s' has no username=\"...\" password=\"...\"", t->name, k);
                break;
            }
            rc = conf_set(conf, t, "sasl.username", k, user, err);
            if (rc == WEIR_OK) rc = conf_set(conf, t, "sasl.password", k, pass, err);
            continue;
        }
        /* Java's empty string turns host name checking off; librdkafka says 'none' */
        if (!strcmp(p, "ssl.endpoint.identification.algorithm") && !*v) v = "none";
        rc = conf_set(conf, t, p, shown, v, err);
    }
    if (rc == WEIR_OK && role == KAFKA_ROLE_CONSUMER) {
        /* the engine decides positions and commits at checkpoints; librdkafka must not */
        static const char *const forced[][2] = {{"enable.auto.commit", "false"},
                                                {"enable.auto.offset.store", "false"},
                                                {"enable.partition.eof", "true"}};
        for (size_t j = 0; j < sizeof forced / sizeof forced[0] && rc == WEIR_OK; j++)
            rc = conf_set(conf, t, forced[j][0], forced[j][0], forced[j][1], err);
        /* librdkafka 2.0 stops fetching a partition whose local queue holds
         * queued.min.messages (100000) and looks again only on its broker thread's next
         * wakeup (up to a second later); one compressed fetch of small JSON records can
         * hold that many, which stalled catch-up reads at a quarter of their speed */
        if (rc == WEIR_OK && !weir_sql_table_option(t, "properties.queued.min.messages"))
            rc = conf_set(conf, t, "queued.min.messages", "properties.queued.min.messages", "1000000", err);
        /* librdkafka's assign() needs a group handle even though Weir never joins the
         * group: without properties.group.id use Flink's generated name (nothing is
         * committed to it) */
        if (rc == WEIR_OK && !o->group_id) {
            char gid[300];
            snprintf(gid, sizeof gid, "KafkaSource-default_catalog.default_database.%s", t->name);
            rc = conf_set(conf, t, "group.id", "properties.group.id", gid, err);
        }
        const char *reset = o->auto_offset_reset;
        if (rc == WEIR_OK)
            rc = conf_set(conf, t, "auto.offset.reset", "properties.auto.offset.reset",
                          !reset ? "earliest" : !strcmp(reset, "none") ? "error" : reset, err);
    }
    if (rc == WEIR_OK && role == KAFKA_ROLE_PRODUCER) {
        /* Kafka's default partitioner (murmur2 of the key), as Flink's 'default' uses,
         * unless the table picks librdkafka's own */
        if (!weir_sql_table_option(t, "properties.partitioner"))
            rc = conf_set(conf, t, "partitioner", "properties.partitioner", "murmur2_random", err);
        /* Java's delivery.timeout.ms default (two minutes) rather than librdkafka's five:
         * how long a flush may wait for an unreachable cluster before the job fails */
        if (rc == WEIR_OK && !weir_sql_table_option(t, "properties.message.timeout.ms") &&
            !weir_sql_table_option(t, "properties.delivery.timeout.ms"))
            rc = conf_set(conf, t, "message.timeout.ms", "properties.message.timeout.ms", "120000", err);
        if (rc == WEIR_OK && o->delivery == KAFKA_DELIVERY_AT_LEAST_ONCE &&
            !weir_sql_table_option(t, "properties.enable.idempotence"))
            rc = conf_set(conf, t, "enable.idempotence", "properties.enable.idempotence", "true", err);
    }
    weir_arena_free(&a);
    if (rc != WEIR_OK) {
        rd_kafka_conf_destroy(conf);
        return WEIR_ERROR;
    }
    *out = conf;
    return WEIR_OK;
}

const char *weir_kafka_bootstrap(const kafka_opts *o, weir_sql_job *job, weir_err *err) {
    const char *bs = job ? weir_sql_job_bootstrap_servers(job) : NULL;
    if (!bs) bs = weir_sql_table_option(o->table, "properties.bootstrap.servers");
    if (!bs || !*bs) {
        weir_err_set(err,
                     "table '%s': no Kafka bootstrap servers: set 'properties.bootstrap.servers' or run "
                     "`weir sql --bootstrap-servers HOST:PORT`",
                     o->table->name);
        return NULL;
    }
    return bs;
}

/* librdkafka's log lines go through Weir's logger (it calls from its own threads). */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    weir_log_level l = level <= 3 ? WEIR_LOG_ERROR : level <= 4 ? WEIR_LOG_WARN : level <= 6 ? WEIR_LOG_INFO
                                                                                             : WEIR_LOG_DEBUG;
    weir_logf(l, "kafka", "%s %s: %s", rd_kafka_name(rk), fac, buf);
}

rd_kafka_t *weir_kafka_client_new(const kafka_opts *o, rd_kafka_type_t type, rd_kafka_conf_t *conf, weir_err *err) {
    char errstr[512];
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof errstr);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        weir_err_set(err, "table '%s': cannot create the Kafka %s: %s", o->table->name,
                     type == RD_KAFKA_CONSUMER ? "consumer" : "producer", errstr);
    }
    return rk;
}

int weir_kafka_partition_count(const kafka_opts *o, rd_kafka_t *rk, const char *topic, const char *bootstrap,
                               int *n, weir_err *err) {
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, KAFKA_METADATA_TIMEOUT_MS);
    rd_kafka_topic_destroy(rkt);
    if (e)
        return weir_err_set(err, "table '%s': cannot read the metadata of topic '%s' from %s: %s", o->table->name,
                            topic, bootstrap, rd_kafka_err2str(e));
    int rc = WEIR_OK;
    if (md->topic_cnt < 1 || md->topics[0].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
        rc = weir_err_set(err, "table '%s': topic '%s' does not exist (bootstrap servers %s)", o->table->name, topic,
                          bootstrap);
    else if (md->topics[0].err)
        rc = weir_err_set(err, "table '%s': topic '%s': %s", o->table->name, topic,
                          rd_kafka_err2str(md->topics[0].err));
    else
        *n = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    return rc;
}
