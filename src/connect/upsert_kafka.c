/* upsert_kafka.c — Flink's 'upsert-kafka' connector: a compacted Kafka topic as a table
 * keyed by its PRIMARY KEY. The record key holds the key columns (key.format), the value
 * the row (value.format); a null value (tombstone) is a delete. Reading and writing are the
 * kafka connector's code (kafka_source.c, kafka_sink.c) opened in upsert mode. */
#include <string.h>

#include "connect/kafka_internal.h"

static int upsert_validate(const weir_sql_table *t, bool as_source, weir_err *err) {
    return weir_kafka_validate_as(t, as_source, true, err);
}

/* Reads give upserts (+U by key, -D for tombstones; the planner adds a normaliser that
 * makes them a full changelog); writes take upserts (-U is dropped). */
static weir_sql_changes upsert_changelog(const weir_sql_table *t, bool as_source) {
    (void)t;
    (void)as_source;
    return WEIR_SQL_CHANGES_UPSERT;
}

static void upsert_describe(const weir_sql_table *t, weir_buf *out) {
    const char *topic = weir_sql_table_option(t, "topic");
    const char *kfmt = weir_sql_table_option(t, "key.format");
    const char *vfmt = weir_sql_table_option(t, "value.format");
    weir_buf_append(out, "topic=[", 7);
    for (const char *p = topic ? topic : ""; *p; p++) {
        if (*p == ';') weir_buf_append(out, ", ", 2);
        else if (*p != ' ') weir_buf_append(out, p, 1);
    }
    weir_buf_append(out, "]", 1);
    if (kfmt) {
        weir_buf_append(out, ", key=[", 7);
        weir_buf_append(out, kfmt, strlen(kfmt));
        weir_buf_append(out, ":", 1);
        for (int i = 0; i < t->nprimary_key; i++) {
            const char *name = t->columns[t->primary_key[i]].name;
            weir_buf_append(out, i ? ", " : " ", i ? 2 : 1);
            weir_buf_append(out, name, strlen(name));
        }
        weir_buf_append(out, "]", 1);
    }
    if (vfmt) {
        weir_buf_append(out, ", value=[", 9);
        weir_buf_append(out, vfmt, strlen(vfmt));
        weir_buf_append(out, "]", 1);
    }
}

const weir_sql_connector weir_connect_upsert_kafka = {
    .name = "upsert-kafka",
    .source = &weir_upsert_kafka_source_ops,
    .sink = &weir_upsert_kafka_sink_ops,
    .validate = upsert_validate,
    .describe = upsert_describe,
    .changelog = upsert_changelog,
};
