/* connect.h — the connect module's one header: the built-in connectors of the SQL engine
 * (kafka, datagen, print, blackhole, filesystem) and the record formats they share (json,
 * csv, raw). Connectors implement sql.h's weir_sql_connector and are registered with
 * weir_connect_register_all(); the engine finds them by the table's 'connector' option.
 * Kafka is reached only through librdkafka, so a job runs against any Kafka cluster. */
#ifndef WEIR_CONNECT_H
#define WEIR_CONNECT_H

#include "sql/sql.h"

/* Registers kafka, upsert-kafka, datagen, print, blackhole and filesystem with the SQL engine. Call once
 * before the first session starts. */
void weir_connect_register_all(void);

/* The connectors, for registration and tests (each file defines one). */
extern const weir_sql_connector weir_connect_kafka;
extern const weir_sql_connector weir_connect_datagen;
extern const weir_sql_connector weir_connect_print;
extern const weir_sql_connector weir_connect_blackhole;
extern const weir_sql_connector weir_connect_filesystem;
extern const weir_sql_connector weir_connect_upsert_kafka;

/* ---- option helpers (options.c), shared by the connectors and formats --------------- */

/* Checks that every WITH option of t is one the connector knows: a key in keys[] (NULL-
 * terminated) or one starting with a prefix in prefixes[] (NULL-terminated; e.g.
 * "properties.", "fields."). Unknown keys fail with "table 'orders': unsupported option
 * 'scan.startup.mod' for connector 'kafka'; did you mean 'scan.startup.mode'?". */
int weir_connect_check_options(const weir_sql_table *t, const char *connector, const char *const *keys,
                               const char *const *prefixes, weir_err *err);
/* Option parsers with Flink's syntax; each fails naming the table, key and value.
 * Booleans: true/false (any case). Integers: decimal. Durations ('10 s', '500ms', '1 min',
 * '2h', '1 d'; a bare number is milliseconds) in milliseconds. Memory sizes ('128mb',
 * '64 KB', '1gb'; a bare number is bytes) in bytes. Absent keys leave *out as it is. */
int weir_connect_opt_bool(const weir_sql_table *t, const char *key, bool *out, weir_err *err);
int weir_connect_opt_int(const weir_sql_table *t, const char *key, int64_t min, int64_t max, int64_t *out,
                         weir_err *err);
int weir_connect_opt_duration_ms(const weir_sql_table *t, const char *key, int64_t *out, weir_err *err);
int weir_connect_opt_bytes(const weir_sql_table *t, const char *key, int64_t *out, weir_err *err);
/* One of choices[] (NULL-terminated, compared case-insensitively); *out is its index. */
int weir_connect_opt_choice(const weir_sql_table *t, const char *key, const char *const *choices, int *out,
                            weir_err *err);

/* ---- formats (format_json.c, format_csv.c, format_raw.c) ---------------------------- */
/* (debezium-json lives in format_json.c: it shares the json codec for "before"/"after".) */

/* A format turns one record's bytes into one row of a batch, and one row back into
 * bytes. It carries some of the table's columns (all physical columns for 'format',
 * the key fields for 'key.format', ...), named by their index in the table. Options are
 * read from the table with Flink's names under a prefix: with prefix "" the json format
 * reads 'json.fail-on-missing-field'; with prefix "value." it reads
 * 'value.json.fail-on-missing-field' (Flink's key./value. format options). */
typedef struct weir_format weir_format;

typedef struct weir_format_spec {
    const char *name;             /* "json", "csv", "raw" or "debezium-json" */
    const weir_sql_table *table;
    const char *prefix;           /* "", "key." or "value." */
    const int *cols;              /* table column indexes the format carries, in order */
    int ncols;
    const bool *needed;           /* decode: per table column, whether to fill it (NULL: all) */
} weir_format_spec;

/* Creates a format; fails naming the table and option for unknown format names, unknown
 * or bad format options, and column types the format cannot carry (raw: exactly one
 * column). */
int weir_format_open(const weir_format_spec *spec, weir_format **out, weir_err *err);
void weir_format_free(weir_format *f);
/* Whether bad records are skipped rather than failing the job ('json.ignore-parse-errors'
 * / 'csv.ignore-parse-errors' = 'true'). */
bool weir_format_ignores_parse_errors(const weir_format *f);
/* Decodes data into row `row` of b (b has the table's columns; the row exists and is
 * all NULL). Fills only the carried columns that needed[] asks for. Returns WEIR_OK;
 * WEIR_ENOTFOUND when the record is a null value (a Kafka tombstone: no row, as Flink);
 * WEIR_ERROR when the record cannot be decoded, err saying why and where in the record
 * ("at byte 17: expected ':' after a field name", "field 'amount': 'abc' is not a
 * DECIMAL(10, 2)"). With ignore-parse-errors, field errors leave the field NULL and only
 * records that are not decodable at all return WEIR_ERROR (the caller skips and counts). */
int weir_format_decode(weir_format *f, const void *data, size_t len, weir_sql_batch *b, int row, weir_err *err);
/* Changelog formats (debezium-json) carry a change of a row, not a row: one record gives
 * zero, one or two rows, each with its row kind (an update: -U then +U), and encoding
 * writes the row's kind into the record. Other formats are insert-only. */
bool weir_format_is_changelog(const weir_format *f);
/* Decodes data as weir_format_decode does, for any format: row `row` of b exists and is
 * all NULL; the format fills it and, for an update, appends one more row (so b may end up
 * with row + 2 rows). *nrows gets how many rows the record gave (0: a null value, a
 * tombstone); each row's kind is set (plain formats: +I). On WEIR_ERROR the caller
 * truncates b back to `row`. */
int weir_format_decode_changes(weir_format *f, const void *data, size_t len, weir_sql_batch *b, int row, int *nrows,
                               weir_err *err);
/* Appends row `row` of b (the table's columns) encoded to out. Changelog formats encode
 * the row's kind too (debezium-json: +I/+U as "op":"c" with "after", -U/-D as "op":"d"
 * with "before", as Flink's serializer). */
int weir_format_encode(weir_format *f, const weir_sql_batch *b, int row, weir_buf *out, weir_err *err);
/* The option keys a format reads, with the format's name but without the key./value.
 * prefix ("json.fail-on-missing-field", ...; NULL-terminated), or NULL for an unknown
 * format: a connector validating its table adds them (prefixed as it uses them) to the
 * keys it passes to weir_connect_check_options. Static storage. */
const char *const *weir_format_option_keys(const char *format_name);

#endif
