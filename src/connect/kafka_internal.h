/* kafka_internal.h — shared by the 'kafka' connector's files: kafka.c (options, validate,
 * describe, librdkafka configuration), kafka_source.c (readers, bad-record policies) and
 * kafka_sink.c (writers). Not part of the module's interface. */
#ifndef WEIR_CONNECT_KAFKA_INTERNAL_H
#define WEIR_CONNECT_KAFKA_INTERNAL_H

#include <librdkafka/rdkafka.h>

#include "connect/connect.h"

/* Flink's scan.startup.mode and scan.bounded.mode values (bounded adds UNBOUNDED). */
enum {
    KAFKA_POS_EARLIEST,
    KAFKA_POS_LATEST,
    KAFKA_POS_GROUP,
    KAFKA_POS_TIMESTAMP,
    KAFKA_POS_SPECIFIC,
    KAFKA_POS_UNBOUNDED
};

enum { KAFKA_PART_DEFAULT, KAFKA_PART_FIXED, KAFKA_PART_ROUND_ROBIN };
enum { KAFKA_DELIVERY_AT_LEAST_ONCE, KAFKA_DELIVERY_NONE, KAFKA_DELIVERY_EXACTLY_ONCE };

/* The metadata keys of Flink's Kafka connector. */
enum {
    KAFKA_META_NONE = -1,
    KAFKA_META_TOPIC,
    KAFKA_META_PARTITION,
    KAFKA_META_HEADERS,
    KAFKA_META_LEADER_EPOCH,
    KAFKA_META_OFFSET,
    KAFKA_META_TIMESTAMP,
    KAFKA_META_TIMESTAMP_TYPE
};

/* 'partition:0,offset:42;partition:1,offset:300' */
typedef struct kafka_specific_offset {
    int32_t partition;
    int64_t offset;
} kafka_specific_offset;

/* A kafka table's options, parsed and checked once (validate, and again at open). All
 * memory lives in `arena`; free with weir_kafka_opts_free. */
typedef struct kafka_opts {
    weir_arena arena;
    const weir_sql_table *table;
    bool as_source;
    bool upsert;         /* connector 'upsert-kafka': key = the PRIMARY KEY, tombstones are deletes */
    const char *connector; /* "kafka" or "upsert-kafka", for messages */
    const char **topics; /* 'topic' split at ';' (sources), or the one sink topic */
    int ntopics;
    const char *pattern; /* 'topic-pattern' */
    const char *value_format;
    const char *value_prefix; /* "" for 'format', "value." for 'value.format' */
    const char *key_format;   /* NULL: records have no key (sink) / the key is not read */
    int *key_cols;            /* table column indexes of 'key.fields' */
    int nkey_cols;
    const char *key_fields_prefix;
    bool except_key;          /* value.fields-include = EXCEPT_KEY */
    int *value_cols;          /* physical columns the value format carries */
    int nvalue_cols;
    int startup;              /* KAFKA_POS_* */
    int64_t startup_ts;
    kafka_specific_offset *startup_offsets;
    int nstartup_offsets;
    int bounded;              /* KAFKA_POS_* (UNBOUNDED by default) */
    int64_t bounded_ts;
    kafka_specific_offset *bounded_offsets;
    int nbounded_offsets;
    int partitioner;          /* KAFKA_PART_* */
    int delivery;             /* KAFKA_DELIVERY_* */
    const char *group_id;     /* properties.group.id, NULL if not given */
    const char *auto_offset_reset; /* properties.auto.offset.reset normalised: earliest, latest, none; NULL */
    const char *dead_letter_topic; /* errors.dead-letter-topic */
    int *meta;                /* per table column: KAFKA_META_* (KAFKA_META_NONE if not metadata) */
    /* the table the key format sees: key.fields-prefix removed from the key columns' names */
    weir_sql_table *key_table;
} kafka_opts;

int weir_kafka_opts_parse(const weir_sql_table *t, bool as_source, kafka_opts *o, weir_err *err);
/* The same for connector 'upsert-kafka' (upsert: its options and rules, see upsert_kafka.c). */
int weir_kafka_opts_parse_as(const weir_sql_table *t, bool as_source, bool upsert, kafka_opts *o, weir_err *err);
/* Whether the value format is a changelog format (debezium-json): the table then reads
 * and writes every row kind. */
bool weir_kafka_value_is_changelog(const kafka_opts *o);
void weir_kafka_opts_free(kafka_opts *o);

/* 'topic-pattern' as a PCRE2 program; a topic matches when the whole name does (Java's
 * Pattern.matcher(topic).matches(), as Flink). */
int weir_kafka_pattern_compile(const kafka_opts *o, void **code, weir_err *err);
bool weir_kafka_pattern_matches(void *code, const char *topic);
void weir_kafka_pattern_free(void *code);

/* Opens the key format (NULL when the table has none or, with needed, when no key column
 * is read) and the value format over o's columns; needed is per table column (NULL: all). */
int weir_kafka_formats_open(const kafka_opts *o, const bool *needed, weir_format **key, weir_format **value,
                            weir_err *err);

/* The key format over all the key columns (those needed[] asks for; NULL: all), whether
 * or not the value carries them too: upsert-kafka's tombstones have only the key. */
int weir_kafka_key_format_open(const kafka_opts *o, const bool *needed, weir_format **key, weir_err *err);

typedef enum { KAFKA_ROLE_CONSUMER, KAFKA_ROLE_PRODUCER } kafka_role;

/* A librdkafka configuration from the table's properties.* (Java-client names mapped or
 * refused, see kafka.c) and bootstrap (the job's, when it gives them); the caller sets
 * its callbacks and owns the result. */
int weir_kafka_conf_new(const kafka_opts *o, const char *bootstrap, kafka_role role, rd_kafka_conf_t **out,
                        weir_err *err);
/* The bootstrap servers to use: the job's (--bootstrap-servers) or the table's. */
const char *weir_kafka_bootstrap(const kafka_opts *o, weir_sql_job *job, weir_err *err);
/* rd_kafka_new with the error naming the table. Takes conf (freed on failure too). */
rd_kafka_t *weir_kafka_client_new(const kafka_opts *o, rd_kafka_type_t type, rd_kafka_conf_t *conf, weir_err *err);
/* The partition count of topic (metadata request); fails naming the table and topic when
 * the topic does not exist. */
int weir_kafka_partition_count(const kafka_opts *o, rd_kafka_t *rk, const char *topic, const char *bootstrap,
                               int *n, weir_err *err);

extern const weir_sql_source_ops weir_kafka_source_ops;
extern const weir_sql_sink_ops weir_kafka_sink_ops;
/* The same code opened as 'upsert-kafka' (open parses the table with upsert = true). */
extern const weir_sql_source_ops weir_upsert_kafka_source_ops;
extern const weir_sql_sink_ops weir_upsert_kafka_sink_ops;

/* validate for both connectors. */
int weir_kafka_validate_as(const weir_sql_table *t, bool as_source, bool upsert, weir_err *err);

#define KAFKA_METADATA_TIMEOUT_MS 15000

#endif
