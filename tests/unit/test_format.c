/* test_format.c — the json, csv, raw and debezium-json record formats (src/connect/format*.c): every
 * scalar type decoded and encoded back (exact bytes, as Flink writes them), nested
 * ROW/ARRAY/MAP in json, missing fields, ignore-parse-errors, the exact error texts, only
 * the needed columns written, format open errors and option keys, and 10,000 seeded
 * random mutations and truncations of valid records decoded from exactly-sized buffers
 * (this binary runs under ASan+UBSan too, so an out-of-bounds read fails it). Tables are
 * made from CREATE TABLE statements as a session would. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "connect/connect.h"
#include "sql/sql.h"
#include "test.h"

static weir_arena arena;
static weir_sql_catalog cat;

static weir_sql_table *table(const char *ddl) {
    weir_sql_script *script = NULL;
    weir_err err = {{0}};
    if (weir_sql_parse_script(&arena, ddl, strlen(ddl), &script, &err) != WEIR_OK || script->nstmts != 1) {
        fprintf(stderr, "  parse failed: %s\n", err.msg);
        return NULL;
    }
    weir_sql_table *t = NULL;
    if (weir_sql_catalog_apply(&cat, script->stmts[0], &t, &err) != WEIR_OK) {
        fprintf(stderr, "  catalog failed: %s\n", err.msg);
        return NULL;
    }
    return t;
}

/* A format over all of t's columns (prefix ""), or NULL with err set. */
static weir_format *open_format(const weir_sql_table *t, const char *name, const char *prefix, const bool *needed,
                                weir_err *err) {
    int cols[64];
    for (int i = 0; i < t->ncolumns; i++) cols[i] = i;
    weir_format_spec spec = {name, t, prefix ? prefix : "", cols, t->ncolumns, needed};
    weir_format *f = NULL;
    if (weir_format_open(&spec, &f, err) != WEIR_OK) return NULL;
    return f;
}

static bool new_batch(weir_sql_batch *b, const weir_sql_table *t) {
    weir_sql_lfield fields[64];
    for (int i = 0; i < t->ncolumns; i++) fields[i] = (weir_sql_lfield){t->columns[i].name, &t->columns[i].type};
    weir_err err;
    if (weir_sql_batch_init(b, fields, t->ncolumns, 4, &err) != WEIR_OK) {
        fprintf(stderr, "  batch: %s\n", err.msg);
        return false;
    }
    return true;
}

/* Most tests' start: open_format over t (NULL t: the DDL failed) and a batch for its rows.
 * NULL, after a failed check and the reason on stderr, when either cannot be made. */
static weir_format *format_and_batch(const weir_sql_table *t, const char *name, const char *prefix, const bool *needed,
                                     weir_err *err, weir_sql_batch *b) {
    weir_format *f = t ? open_format(t, name, prefix, needed, err) : NULL;
    CHECK(f != NULL);
    if (!f) {
        if (t) fprintf(stderr, "  %s\n", err->msg);
        return NULL;
    }
    if (!new_batch(b, t)) {
        CHECK(0);
        weir_format_free(f);
        return NULL;
    }
    return f;
}

/* The row as "v1|v2|..." with Flink's printed values. */
static char *row_text(const weir_sql_batch *b, int row) {
    static char text[4096];
    weir_buf out;
    weir_buf_init(&out);
    for (int c = 0; c < b->ncols; c++) {
        if (c) weir_buf_append(&out, "|", 1);
        weir_sql_batch_format(&out, b, c, row);
    }
    size_t n = out.len < sizeof text - 1 ? out.len : sizeof text - 1;
    memcpy(text, out.data, n);
    text[n] = 0;
    weir_buf_free(&out);
    return text;
}

/* Decodes rec into a fresh row; returns the code, the row's text in *text. */
static int decode(weir_format *f, weir_sql_batch *b, const char *rec, const char **text, weir_err *err) {
    weir_sql_batch_clear(b);
    int row = weir_sql_batch_add_row(b);
    /* an exactly-sized copy, so ASan sees any read past the record */
    size_t n = rec ? strlen(rec) : 0;
    char *copy = rec ? malloc(n ? n : 1) : NULL;
    if (copy) memcpy(copy, rec, n);
    int rc = weir_format_decode(f, copy, n, b, row, err);
    free(copy);
    if (text) *text = row_text(b, row);
    return rc;
}

static char *encode(weir_format *f, const weir_sql_batch *b, int row, int *rc) {
    static char text[4096];
    weir_buf out;
    weir_buf_init(&out);
    weir_err err = {{0}};
    *rc = weir_format_encode(f, b, row, &out, &err);
    size_t n = out.len < sizeof text - 1 ? out.len : sizeof text - 1;
    if (n) memcpy(text, out.data, n);
    text[n] = 0;
    if (*rc != WEIR_OK) snprintf(text, sizeof text, "error: %s", err.msg);
    weir_buf_free(&out);
    return text;
}

#define ALL_SCALARS                                                                                                  \
    "(b BOOLEAN, ti TINYINT, si SMALLINT, i INT, bi BIGINT, f FLOAT, d DOUBLE, dec DECIMAL(10, 2), c CHAR(3), "  \
    "s STRING, bin BYTES, dt DATE, tm TIME, ts TIMESTAMP(3), ltz TIMESTAMP_LTZ(3))"

/* ---- json ------------------------------------------------------------------------- */

TEST(json_scalars_round_trip) {
    weir_sql_table *t = table("CREATE TABLE js " ALL_SCALARS " WITH ('connector' = 'kafka', 'format' = 'json')");
    CHECK(t != NULL);
    if (!t) return;
    weir_err err = {{0}};
    weir_sql_batch b;
    weir_format *f = format_and_batch(t, "json", "", NULL, &err, &b);
    if (!f) return;
    const char *rec =
        "{ \"b\": true, \"ti\": -128, \"si\": 32767, \"i\": -2147483648, \"bi\": 9223372036854775807, "
        "\"f\": 1.5, \"d\": 1e10, \"dec\": 12.345, \"c\": \"abc\", \"s\": \"h\\u00e9\\n\\\"q\\\"\", "
        "\"bin\": \"AAEC/w==\", \"dt\": \"2024-01-31\", \"tm\": \"12:34:56\", \"ts\": \"2024-01-31 12:00:00.123\", "
        "\"ltz\": \"2024-01-31 12:00:00.5Z\", \"extra\": [1, {\"x\": null}] }";
    const char *text;
    int rc = decode(f, &b, rec, &text, &err);
    CHECK_EQ_INT(rc, WEIR_OK);
    if (rc) fprintf(stderr, "  %s\n", err.msg);
    CHECK_EQ_STR(text, "TRUE|-128|32767|-2147483648|9223372036854775807|1.5|1.0E10|12.35|abc|h\xc3\xa9\n\"q\"|"
                       "x'000102ff'|2024-01-31|12:34:56|2024-01-31 12:00:00.123|2024-01-31 12:00:00.500");
    const char *want =
        "{\"b\":true,\"ti\":-128,\"si\":32767,\"i\":-2147483648,\"bi\":9223372036854775807,\"f\":1.5,\"d\":1.0E10,"
        "\"dec\":12.35,\"c\":\"abc\",\"s\":\"h\xc3\xa9\\n\\\"q\\\"\",\"bin\":\"AAEC/w==\",\"dt\":\"2024-01-31\","
        "\"tm\":\"12:34:56\",\"ts\":\"2024-01-31 12:00:00.123\",\"ltz\":\"2024-01-31 12:00:00.5Z\"}";
    CHECK_EQ_STR(encode(f, &b, 0, &rc), want);
    /* and what it wrote reads back to the same row */
    char again[4096];
    snprintf(again, sizeof again, "%s", want);
    char first[4096];
    snprintf(first, sizeof first, "%s", text);
    CHECK_EQ_INT(decode(f, &b, again, &text, &err), WEIR_OK);
    CHECK_EQ_STR(text, first);
    /* NULLs: null and absent fields */
    CHECK_EQ_INT(decode(f, &b, "{\"b\": null, \"s\": null}", &text, &err), WEIR_OK);
    CHECK_EQ_STR(text, "NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL");
    CHECK_EQ_STR(encode(f, &b, 0, &rc),
                 "{\"b\":null,\"ti\":null,\"si\":null,\"i\":null,\"bi\":null,\"f\":null,\"d\":null,\"dec\":null,"
                 "\"c\":null,\"s\":null,\"bin\":null,\"dt\":null,\"tm\":null,\"ts\":null,\"ltz\":null}");
    weir_sql_batch_free(&b);
    weir_format_free(f);
}

TEST(json_numbers_and_strings_as_flink_reads_them) {
    weir_sql_table *t = table("CREATE TABLE jn (i INT, bi BIGINT, d DOUBLE, dec DECIMAL(5, 2), s STRING, b BOOLEAN) "
                              "WITH ('connector' = 'kafka', 'format' = 'json')");
    weir_err err = {{0}};
    weir_sql_batch b;
    weir_format *f = format_and_batch(t, "json", "", NULL, &err, &b);
    if (!f) return;
    const char *text;
    /* numbers in strings, a fraction truncated for INT, HALF_UP, overflow to NULL */
    CHECK_EQ_INT(decode(f, &b, "{\"i\": \" 42 \", \"bi\": 7.9, \"d\": \"NaN\", \"dec\": \"1.005\", \"s\": 1.50, \"b\": \"TRUE\"}",
                        &text, &err), WEIR_OK);
    CHECK_EQ_STR(text, "42|7|NaN|1.01|1.50|TRUE");
    CHECK_EQ_INT(decode(f, &b, "{\"dec\": 1000, \"s\": {\"a\" : [1, 2]}, \"b\": \"yes\"}", &text, &err), WEIR_OK);
    CHECK_EQ_STR(text, "NULL|NULL|NULL|NULL|{\"a\":[1,2]}|FALSE");
    CHECK_EQ_INT(decode(f, &b, "{\"dec\": -0.005, \"s\": true, \"d\": -1.5e-3}", &text, &err), WEIR_OK);
    CHECK_EQ_STR(text, "NULL|NULL|-0.0015|-0.01|true|NULL");
    int rc;
    CHECK_EQ_STR(encode(f, &b, 0, &rc), "{\"i\":null,\"bi\":null,\"d\":-0.0015,\"dec\":-0.01,\"s\":\"true\",\"b\":null}");
    weir_sql_batch_free(&b);
    weir_format_free(f);
}

TEST(json_iso_timestamps_and_decimal_notation) {
    weir_sql_table *t = table("CREATE TABLE ji (ts TIMESTAMP(6), ltz TIMESTAMP_LTZ(3), dec DECIMAL(12, 10)) WITH "
                              "('connector' = 'kafka', 'value.format' = 'json', "
                              "'value.json.timestamp-format.standard' = 'ISO-8601')");
    weir_err err = {{0}};
    weir_sql_batch b;
    weir_format *f = format_and_batch(t, "json", "value.", NULL, &err, &b);
    if (!f) return;
    const char *text;
    CHECK_EQ_INT(decode(f, &b, "{\"ts\": \"2024-01-31T12:00\", \"ltz\": \"2024-01-31T12:00:00.1239Z\", \"dec\": 1e-7}",
                        &text, &err), WEIR_OK);
    CHECK_EQ_STR(text, "2024-01-31 12:00:00.000000|2024-01-31 12:00:00.123|0.0000001000");
    int rc;
    /* Java's BigDecimal.toString: scientific below 1e-6 */
    CHECK_EQ_STR(encode(f, &b, 0, &rc), "{\"ts\":\"2024-01-31T12:00:00\",\"ltz\":\"2024-01-31T12:00:00.123Z\",\"dec\":1.000E-7}");
    /* the SQL form is refused under ISO-8601 */
    CHECK_EQ_INT(decode(f, &b, "{\"ts\": \"2024-01-31 12:00:00\"}", &text, &err), WEIR_ERROR);
    CHECK_EQ_STR(err.msg, "field 'ts': expected a TIMESTAMP 'yyyy-MM-ddTHH:mm:ss[.fff]', found \"2024-01-31 12:00:00\"");
    weir_format_free(f);
    t = table("CREATE TABLE jp (dec DECIMAL(12, 10)) WITH ('format' = 'json', 'json.encode.decimal-as-plain-number' = 'true')");
    f = t ? open_format(t, "json", "", NULL, &err) : NULL;
    CHECK(f != NULL);
    if (f) {
        weir_sql_batch b2;
        if (new_batch(&b2, t)) {
            CHECK_EQ_INT(decode(f, &b2, "{\"dec\": \"0.0000001\"}", &text, &err), WEIR_OK);
            CHECK_EQ_STR(encode(f, &b2, 0, &rc), "{\"dec\":0.0000001000}");
            weir_sql_batch_free(&b2);
        }
        weir_format_free(f);
    }
    weir_sql_batch_free(&b);
}

TEST(json_nested_row_array_map) {
    weir_sql_table *t = table(
        "CREATE TABLE jnest (id INT, addr ROW<city STRING, zip INT, geo ROW<lat DOUBLE, lon DOUBLE>>, "
        "tags ARRAY<STRING>, scores MAP<STRING, BIGINT>, items ARRAY<ROW<sku STRING, qty INT>>) "
        "WITH ('format' = 'json')");
    weir_err err = {{0}};
    weir_sql_batch b;
    weir_format *f = format_and_batch(t, "json", "", NULL, &err, &b);
    if (!f) return;
    const char *text;
    const char *rec = "{\"items\": [{\"qty\": 2, \"sku\": \"A\"}, null, {\"sku\": \"B\"}], \"id\": 1, "
                      "\"addr\": {\"zip\": \"75001\", \"unknown\": {\"deep\": [1,2]}, \"city\": \"Paris\", "
                      "\"geo\": {\"lat\": 48.85, \"lon\": 2.35}}, \"tags\": [\"a\", \"b\\\"\", null], "
                      "\"scores\": {\"x\": 1, \"y\": null}}";
    int rc = decode(f, &b, rec, &text, &err);
    CHECK_EQ_INT(rc, WEIR_OK);
    if (rc) fprintf(stderr, "  %s\n", err.msg);
    CHECK_EQ_STR(text, "1|(Paris, 75001, (48.85, 2.35))|[a, b\", NULL]|{x=1, y=NULL}|[(A, 2), NULL, (B, NULL)]");
    CHECK_EQ_STR(encode(f, &b, 0, &rc),
                 "{\"id\":1,\"addr\":{\"city\":\"Paris\",\"zip\":75001,\"geo\":{\"lat\":48.85,\"lon\":2.35}},"
                 "\"tags\":[\"a\",\"b\\\"\",null],\"scores\":{\"x\":1,\"y\":null},"
                 "\"items\":[{\"sku\":\"A\",\"qty\":2},null,{\"sku\":\"B\",\"qty\":null}]}");
    /* empty containers, and a type error inside an array */
    CHECK_EQ_INT(decode(f, &b, "{\"tags\": [], \"scores\": {}, \"addr\": {}}", &text, &err), WEIR_OK);
    CHECK_EQ_STR(encode(f, &b, 0, &rc),
                 "{\"id\":null,\"addr\":{\"city\":null,\"zip\":null,\"geo\":null},\"tags\":[],\"scores\":{},\"items\":null}");
    CHECK_EQ_INT(decode(f, &b, "{\"items\": [{\"qty\": \"x\"}]}", &text, &err), WEIR_ERROR);
    CHECK_EQ_STR(err.msg, "field 'items[0].qty': expected an integer, found \"x\"");
    CHECK_EQ_INT(decode(f, &b, "{\"tags\": {\"a\": 1}}", &text, &err), WEIR_ERROR);
    CHECK_EQ_STR(err.msg, "field 'tags': expected an array, found an object");
    weir_sql_batch_free(&b);
    weir_format_free(f);
}

TEST(json_missing_fields) {
    weir_sql_table *t = table("CREATE TABLE jm (id INT, name STRING, r ROW<a INT>) WITH ('format' = 'json')");
    weir_err err = {{0}};
    weir_sql_batch b;
    weir_format *f = format_and_batch(t, "json", "", NULL, &err, &b);
    if (!f) return;
    const char *text;
    CHECK_EQ_INT(decode(f, &b, "{\"id\": 5}", &text, &err), WEIR_OK);
    CHECK_EQ_STR(text, "5|NULL|NULL");
    weir_format_free(f);

    t = table("CREATE TABLE jm2 (id INT, name STRING, r ROW<a INT>) WITH ('format' = 'json', "
              "'json.fail-on-missing-field' = 'true')");
    f = t ? open_format(t, "json", "", NULL, &err) : NULL;
    CHECK(f != NULL);
    if (!f) { weir_sql_batch_free(&b); return; }
    CHECK_EQ_INT(decode(f, &b, "{\"id\": 5}", &text, &err), WEIR_ERROR);
    CHECK_EQ_STR(err.msg, "field 'name' is missing (json.fail-on-missing-field is true)");
    CHECK_EQ_INT(decode(f, &b, "{\"id\": 5, \"name\": null, \"r\": {}}", &text, &err), WEIR_ERROR);
    CHECK_EQ_STR(err.msg, "field 'r.a': missing (json.fail-on-missing-field is true)");
    CHECK_EQ_INT(decode(f, &b, "{\"id\": 5, \"name\": null, \"r\": {\"a\": 1}}", &text, &err), WEIR_OK);
    weir_format_free(f);
    /* with both options Flink refuses the table */
    t = table("CREATE TABLE jm3 (id INT) WITH ('format' = 'json', 'json.fail-on-missing-field' = 'true', "
              "'json.ignore-parse-errors' = 'true')");
    CHECK(t && open_format(t, "json", "", NULL, &err) == NULL);
    CHECK_EQ_STR(err.msg, "table 'jm3': 'json.fail-on-missing-field' and 'json.ignore-parse-errors' cannot both be true");
    /* a NOT NULL column (primary keys are) must be there */
    t = table("CREATE TABLE jm4 (id INT NOT NULL, v STRING) WITH ('format' = 'json')");
    weir_sql_batch b4;
    f = t ? open_format(t, "json", "", NULL, &err) : NULL;
    CHECK(f != NULL);
    if (f && new_batch(&b4, t)) {
        CHECK_EQ_INT(decode(f, &b4, "{\"v\": \"x\"}", &text, &err), WEIR_ERROR);
        CHECK_EQ_STR(err.msg, "field 'id' is missing, and the column is NOT NULL");
        CHECK_EQ_INT(decode(f, &b4, "{\"id\": null}", &text, &err), WEIR_ERROR);
        CHECK_EQ_STR(err.msg, "field 'id': null for a NOT NULL column");
        weir_sql_batch_free(&b4);
    }
    weir_format_free(f);
    weir_sql_batch_free(&b);
}

TEST(json_ignore_parse_errors) {
    weir_sql_table *t = table("CREATE TABLE jg (id INT, amount DECIMAL(10, 2), tags ARRAY<INT>, ts TIMESTAMP(3)) "
                              "WITH ('format' = 'json', 'json.ignore-parse-errors' = 'true')");
    weir_err err = {{0}};
    weir_format *f = t ? open_format(t, "json", "", NULL, &err) : NULL;
    CHECK(f != NULL);
    if (!f) return;
    CHECK(weir_format_ignores_parse_errors(f));
    weir_sql_batch b;
    if (!new_batch(&b, t)) { CHECK(0); weir_format_free(f); return; }
    const char *text;
    /* bad values become NULL, the rest of the record is kept */
    CHECK_EQ_INT(decode(f, &b, "{\"id\": \"x1\", \"amount\": \"abc\", \"tags\": [1, \"two\", 3], \"ts\": \"yesterday\"}",
                        &text, &err), WEIR_OK);
    CHECK_EQ_STR(text, "NULL|NULL|[1, NULL, 3]|NULL");
    int rc;
    CHECK_EQ_STR(encode(f, &b, 0, &rc), "{\"id\":null,\"amount\":null,\"tags\":[1,null,3],\"ts\":null}");
    /* a record that is not JSON still fails (the caller skips and counts it) */
    CHECK_EQ_INT(decode(f, &b, "{\"id\": 1,", &text, &err), WEIR_ERROR);
    CHECK_EQ_STR(err.msg, "at byte 9: expected a field name in double quotes, found end of input");
    weir_sql_batch_free(&b);
    weir_format_free(f);
    /* without the option, the same value fails the record */
    t = table("CREATE TABLE jg2 (id INT, amount DECIMAL(10, 2)) WITH ('format' = 'json')");
    f = t ? open_format(t, "json", "", NULL, &err) : NULL;
    CHECK(f && !weir_format_ignores_parse_errors(f));
    if (f && new_batch(&b, t)) {
        CHECK_EQ_INT(decode(f, &b, "{\"id\": 1, \"amount\": \"abc\"}", &text, &err), WEIR_ERROR);
        CHECK_EQ_STR(err.msg, "field 'amount': expected a number, found \"abc\"");
        weir_sql_batch_free(&b);
    }
    weir_format_free(f);
}

TEST(json_error_messages) {
    weir_sql_table *t = table("CREATE TABLE je (id INT, amount DOUBLE, tiny TINYINT, d DATE, bin BYTES, ok BOOLEAN, ts TIMESTAMP(3), "
                              "ltz TIMESTAMP_LTZ(3)) "
                              "WITH ('format' = 'json')");
    weir_err err = {{0}};
    weir_sql_batch b;
    weir_format *f = format_and_batch(t, "json", "", NULL, &err, &b);
    if (!f) return;
    static const struct {
        const char *rec, *msg;
    } cases[] = {
        {"{\"x\": 1, \"id\" 17}", "at byte 14: expected ':' after field name \"id\""},
        {"{\"amount\": \"abc\"}", "field 'amount': expected a number, found \"abc\""},
        {"{\"tiny\": 300}", "field 'tiny': out of range for TINYINT, found 300"},
        {"{\"id\": 1.5e99}", "field 'id': out of range for INT, found 1.5e99"},
        {"{\"id\": true}", "field 'id': expected an integer, found true"},
        {"{\"d\": \"2024-02-30\"}", "field 'd': expected a DATE 'yyyy-MM-dd', found \"2024-02-30\""},
        {"{\"bin\": \"***\"}", "field 'bin': expected base64 bytes, found \"***\""},
        {"{\"ok\": 1}", "field 'ok': expected a boolean, found 1"},
        {"{\"ts\": \"2024-1-31 12:00:00\"}", "field 'ts': expected a TIMESTAMP 'yyyy-MM-dd HH:mm:ss[.fff]', found \"2024-1-31 12:00:00\""},
        {"{\"ts\": \"2024-01-31 12:00\"}", "field 'ts': expected a TIMESTAMP 'yyyy-MM-dd HH:mm:ss[.fff]', found \"2024-01-31 12:00\""},
        {"{\"ltz\": \"2024-01-31 12:00:00\"}", "field 'ltz': expected a TIMESTAMP_LTZ 'yyyy-MM-dd HH:mm:ss[.fff]Z', found \"2024-01-31 12:00:00\""},
        {"[1, 2]", "at byte 0: expected '{' at the start of a JSON object, found '['"},
        {"", "at byte 0: expected '{' at the start of a JSON object, found end of input"},
        {"{\"id\": 1} x", "at byte 10: unexpected 'x' after the JSON object"},
        {"{\"id\": 1 \"amount\": 2}", "at byte 9: expected ',' or '}' after the value of field \"id\", found '\"'"},
        {"{\"id\": \"abc", "at byte 7: unterminated string"},
        {"{\"id\": 01}", "at byte 7: malformed number"},
        {"{\"id\": nul}", "at byte 7: expected a value, found 'n'"},
        {"{\"s\": \"a\\qb\"}", "at byte 8: bad escape '\\q' in a string"},
        {"{\"s\": \"a\tb\"}", "at byte 8: control character 0x09 in a string"},
        {"{\"s\": \"a\xc3(\"}", "at byte 8: invalid UTF-8 in a string"},
        {"{\"s\": \"\xed\xa0\x80\"}", "at byte 7: invalid UTF-8 in a string"},
        {"{\"x\": [1, 2}", "at byte 11: expected ',' or ']' in an array, found '}'"},
        {"{\"x\": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]",
         "at byte 70: nesting deeper than 64 levels"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *text;
        err.msg[0] = 0;
        CHECK_EQ_INT(decode(f, &b, cases[i].rec, &text, &err), WEIR_ERROR);
        CHECK_EQ_STR(err.msg, cases[i].msg);
    }
    /* a null record is a tombstone: no row */
    CHECK_EQ_INT(decode(f, &b, NULL, NULL, &err), WEIR_ENOTFOUND);
    weir_sql_batch_free(&b);
    weir_format_free(f);
}

TEST(json_only_needed_columns) {
    weir_sql_table *t = table("CREATE TABLE jneed (a INT, b STRING, c DOUBLE, n ROW<x INT>) WITH ('format' = 'json')");
    bool needed[] = {false, true, false, false};
    weir_err err = {{0}};
    weir_sql_batch b;
    weir_format *f = format_and_batch(t, "json", "", needed, &err, &b);
    if (!f) return;
    const char *text;
    /* unneeded fields are skipped unread: their bad values are no error, and stay NULL */
    CHECK_EQ_INT(decode(f, &b, "{\"a\": 1, \"b\": \"kept\", \"c\": \"not a number\", \"n\": {\"x\": \"y\"}}", &text, &err),
                 WEIR_OK);
    CHECK_EQ_STR(text, "NULL|kept|NULL|NULL");
    weir_sql_batch_free(&b);
    weir_format_free(f);
}

TEST(json_field_names_are_case_sensitive_and_escaped) {
    weir_sql_table *t = table("CREATE TABLE jc (`Id` INT, `we\"ird` STRING) WITH ('format' = 'json')");
    weir_err err = {{0}};
    weir_sql_batch b;
    weir_format *f = format_and_batch(t, "json", "", NULL, &err, &b);
    if (!f) return;
    const char *text;
    CHECK_EQ_INT(decode(f, &b, "{\"id\": 1, \"Id\": 2, \"we\\\"ird\": \"x\", \"\\u0049d\": 3}", &text, &err), WEIR_OK);
    CHECK_EQ_STR(text, "3|x");
    int rc;
    CHECK_EQ_STR(encode(f, &b, 0, &rc), "{\"Id\":3,\"we\\\"ird\":\"x\"}");
    weir_sql_batch_free(&b);
    weir_format_free(f);
}

/* A MAP with a NULL key, built in the nested encoding, under each null-key mode. */
TEST(json_map_null_key_modes) {
    static const struct {
        const char *opts, *want;
    } cases[] = {
        {"", "error: column 'm': a MAP with a NULL key cannot be written as JSON (json.map-null-key.mode is FAIL; "
             "DROP or LITERAL allow it)"},
        {", 'json.map-null-key.mode' = 'DROP'", "{\"m\":{\"k\":1}}"},
        {", 'json.map-null-key.mode' = 'LITERAL'", "{\"m\":{\"null\":2,\"k\":1}}"},
        {", 'json.map-null-key.mode' = 'LITERAL', 'json.map-null-key.literal' = 'N/A'", "{\"m\":{\"N/A\":2,\"k\":1}}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char ddl[512];
        snprintf(ddl, sizeof ddl, "CREATE TABLE jmap%zu (m MAP<STRING, INT>) WITH ('format' = 'json'%s)", i, cases[i].opts);
        weir_sql_table *t = table(ddl);
        weir_err err = {{0}};
        weir_format *f = t ? open_format(t, "json", "", NULL, &err) : NULL;
        CHECK(f != NULL);
        if (!f) continue;
        weir_sql_batch b;
        if (new_batch(&b, t)) {
            int row = weir_sql_batch_add_row(&b);
            weir_buf nb;
            weir_buf_init(&nb);
            weir_sql_nested_put_count(&nb, 2);
            weir_sql_nested_put_null(&nb);
            weir_sql_nested_put_i64(&nb, 2);
            weir_sql_nested_put_bytes(&nb, "k", 1);
            weir_sql_nested_put_i64(&nb, 1);
            weir_sql_batch_set_str(&b, 0, row, (const char *)nb.data, nb.len);
            weir_buf_free(&nb);
            int rc;
            CHECK_EQ_STR(encode(f, &b, row, &rc), cases[i].want);
            weir_sql_batch_free(&b);
        }
        weir_format_free(f);
    }
}

/* DECIMAL(p > 18) as 128-bit values: inside nested values always; as a column once
 * batch.c holds them (until then the format refuses the column at open, by name). */
TEST(wide_decimals) {
    weir_sql_table *t = table("CREATE TABLE jw (big DECIMAL(38, 4), a ARRAY<DECIMAL(38, 4)>) WITH ('format' = 'json')");
    weir_err err = {{0}};
    weir_format *f = t ? open_format(t, "json", "", NULL, &err) : NULL;
    CHECK(f != NULL);
    weir_sql_batch b;
    const char *text;
    int rc;
    if (f && new_batch(&b, t)) {
        CHECK_EQ_INT(decode(f, &b, "{\"big\": \"-98765432109876543210987654321.12345\", "
                                   "\"a\": [12345678901234567890123.45675, \"-0.00005\", 1e33, 1e34, null]}", &text, &err),
                     WEIR_OK);
        CHECK_EQ_STR(encode(f, &b, 0, &rc), "{\"big\":-98765432109876543210987654321.1235,"
                                            "\"a\":[12345678901234567890123.4568,-0.0001,"
                                            "1000000000000000000000000000000000.0000,null,null]}");
        weir_sql_batch_free(&b);
    }
    weir_format_free(f);
    t = table("CREATE TABLE cw (big DECIMAL(38, 4), a ARRAY<DECIMAL(20, 1)>) WITH ('format' = 'csv')");
    f = t ? open_format(t, "csv", "", NULL, &err) : NULL;
    CHECK(f != NULL);
    if (f && new_batch(&b, t)) {
        CHECK_EQ_INT(decode(f, &b, "12345678901234567890123456789012.34567,1.25;;-3", &text, &err), WEIR_OK);
        CHECK_EQ_STR(encode(f, &b, 0, &rc), "12345678901234567890123456789012.3457,1.3;;-3.0");
        /* 39 digits do not fit (and must not wrap around 128 bits) */
        CHECK_EQ_INT(decode(f, &b, "999999999999999999999999999999999999999,1", &text, &err), WEIR_OK);
        CHECK_EQ_STR(text, "NULL|[1.0]");
        weir_sql_batch_free(&b);
    }
    weir_format_free(f);
    t = table("CREATE TABLE cw2 (z DECIMAL(38, 0)) WITH ('format' = 'csv')");
    f = t ? open_format(t, "csv", "", NULL, &err) : NULL;
    if (f && new_batch(&b, t)) {
        CHECK_EQ_INT(decode(f, &b, "350000000000000000000000000000000000000", &text, &err), WEIR_OK);
        CHECK_EQ_STR(text, "NULL");
        CHECK_EQ_INT(decode(f, &b, "99999999999999999999999999999999999999.4", &text, &err), WEIR_OK);
        CHECK_EQ_STR(text, "99999999999999999999999999999999999999");
        CHECK_EQ_INT(decode(f, &b, "99999999999999999999999999999999999999.5", &text, &err), WEIR_OK);
        CHECK_EQ_STR(text, "NULL");
        weir_sql_batch_free(&b);
    }
    weir_format_free(f);
}

/* ---- csv -------------------------------------------------------------------------- */

TEST(csv_scalars_round_trip) {
    weir_sql_table *t = table("CREATE TABLE cs " ALL_SCALARS " WITH ('format' = 'csv')");
    weir_err err = {{0}};
    weir_sql_batch b;
    weir_format *f = format_and_batch(t, "csv", "", NULL, &err, &b);
    if (!f) return;
    const char *text;
    const char *rec = "true,-128,32767,-2147483648,9223372036854775807,1.5,1e10,12.345,abc,\"a,\"\"b\"\"\nc\",AAEC/w==,"
                      "2024-1-31,12:34:56.789,2024-01-31 12:00:00.123,2024-01-31 12:00:00.5Z\r\n";
    int rc = decode(f, &b, rec, &text, &err);
    CHECK_EQ_INT(rc, WEIR_OK);
    if (rc) fprintf(stderr, "  %s\n", err.msg);
    CHECK_EQ_STR(text, "TRUE|-128|32767|-2147483648|9223372036854775807|1.5|1.0E10|12.35|abc|a,\"b\"\nc|x'000102ff'|"
                       "2024-01-31|12:34:56|2024-01-31 12:00:00.123|2024-01-31 12:00:00.500");
    const char *want = "true,-128,32767,-2147483648,9223372036854775807,1.5,1.0E10,12.35,abc,\"a,\"\"b\"\"\nc\",AAEC/w==,"
                       "2024-01-31,12:34:56,2024-01-31 12:00:00.123,2024-01-31 12:00:00.5Z";
    CHECK_EQ_STR(encode(f, &b, 0, &rc), want);
    char first[4096], again[4096];
    snprintf(first, sizeof first, "%s", text);
    snprintf(again, sizeof again, "%s", want);
    CHECK_EQ_INT(decode(f, &b, again, &text, &err), WEIR_OK);
    CHECK_EQ_STR(text, first);
    /* NULL is an empty field, "" an empty string */
    CHECK_EQ_INT(decode(f, &b, ",,,,,,,,,\"\",,,,,", &text, &err), WEIR_OK);
    CHECK_EQ_STR(text, "NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL||NULL|NULL|NULL|NULL|NULL");
    CHECK_EQ_STR(encode(f, &b, 0, &rc), ",,,,,,,,,\"\",,,,,");
    weir_sql_batch_free(&b);
    weir_format_free(f);
}

TEST(csv_options) {
    weir_sql_table *t = table("CREATE TABLE co (a STRING, b INT, arr ARRAY<INT>, r ROW<x STRING, y DOUBLE>) WITH "
                              "('format' = 'csv', 'csv.field-delimiter' = '\\t', 'csv.null-literal' = 'N', "
                              "'csv.array-element-delimiter' = '|', 'csv.allow-comments' = 'true')");
    weir_err err = {{0}};
    weir_sql_batch b;
    weir_format *f = format_and_batch(t, "csv", "", NULL, &err, &b);
    if (!f) return;
    const char *text;
    int rc;
    CHECK_EQ_INT(decode(f, &b, "x,y\tN\t1|N|3\tp|2.5\n", &text, &err), WEIR_OK);
    CHECK_EQ_STR(text, "x,y|NULL|[1, NULL, 3]|(p, 2.5)");
    CHECK_EQ_STR(encode(f, &b, 0, &rc), "x,y\tN\t1|N|3\tp|2.5");
    CHECK_EQ_INT(decode(f, &b, "# a comment", &text, &err), WEIR_ENOTFOUND);
    CHECK_EQ_INT(decode(f, &b, "\n", &text, &err), WEIR_ENOTFOUND);
    weir_sql_batch_free(&b);
    weir_format_free(f);

    t = table("CREATE TABLE co2 (a STRING, b STRING) WITH ('format' = 'csv', 'csv.disable-quote-character' = 'true', "
              "'csv.escape-character' = '\\')");
    f = t ? open_format(t, "csv", "", NULL, &err) : NULL;
    CHECK(f != NULL);
    if (f && new_batch(&b, t)) {
        CHECK_EQ_INT(decode(f, &b, "\"q\\,x\",y", &text, &err), WEIR_OK);
        CHECK_EQ_STR(text, "\"q,x\"|y");
        CHECK_EQ_STR(encode(f, &b, 0, &rc), "\"q\\,x\",y");
        weir_sql_batch_free(&b);
    }
    weir_format_free(f);
    t = table("CREATE TABLE co3 (a STRING) WITH ('format' = 'csv', 'csv.disable-quote-character' = 'true', "
              "'csv.quote-character' = '''')");
    CHECK(t && open_format(t, "csv", "", NULL, &err) == NULL);
    CHECK_EQ_STR(err.msg, "table 'co3': 'csv.quote-character' and 'csv.disable-quote-character' cannot be set together");
    t = table("CREATE TABLE co4 (a STRING) WITH ('format' = 'csv', 'csv.field-delimiter' = ';;')");
    CHECK(t && open_format(t, "csv", "", NULL, &err) == NULL);
    CHECK_EQ_STR(err.msg, "table 'co4': option 'csv.field-delimiter' = ';;' is not a single character");
    t = table("CREATE TABLE co5 (m MAP<STRING, INT>) WITH ('format' = 'csv')");
    CHECK(t && open_format(t, "csv", "", NULL, &err) == NULL);
    CHECK_EQ_STR(err.msg, "table 'co5': the csv format cannot carry column 'm' of type MAP<STRING, INT> (no MAP or "
                          "MULTISET; ARRAY and ROW of scalar types only)");
}

TEST(csv_errors_and_ignore) {
    weir_sql_table *t = table("CREATE TABLE ce (id INT, amount DECIMAL(10, 2), s STRING) WITH ('format' = 'csv')");
    weir_err err = {{0}};
    weir_sql_batch b;
    weir_format *f = format_and_batch(t, "csv", "", NULL, &err, &b);
    if (!f) return;
    static const struct {
        const char *rec, *msg;
    } cases[] = {
        {"1,abc,x", "field 'amount': expected a number, found \"abc\""},
        {"1,2", "expected 3 fields, found 2"},
        {"1,2,3,4", "expected 3 fields, found 4"},
        {"x,2,3", "field 'id': expected an integer, found \"x\""},
        {"99999999999,2,3", "field 'id': out of range for INT, found \"99999999999\""},
        {"1,2,\"abc", "at byte 4: unterminated quoted field"},
        {"1,2,\"ab\"c", "at byte 8: expected the field delimiter ',' or the end of the record after a closing quote"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *text;
        err.msg[0] = 0;
        CHECK_EQ_INT(decode(f, &b, cases[i].rec, &text, &err), WEIR_ERROR);
        CHECK_EQ_STR(err.msg, cases[i].msg);
    }
    weir_format_free(f);
    t = table("CREATE TABLE ce2 (id INT, amount DECIMAL(10, 2), s STRING) WITH ('format' = 'csv', "
              "'csv.ignore-parse-errors' = 'true')");
    f = t ? open_format(t, "csv", "", NULL, &err) : NULL;
    CHECK(f != NULL);
    if (f) {
        const char *text;
        CHECK_EQ_INT(decode(f, &b, "x,abc", &text, &err), WEIR_OK);
        CHECK_EQ_STR(text, "NULL|NULL|NULL");
        CHECK_EQ_INT(decode(f, &b, "1,2.5,s,extra", &text, &err), WEIR_OK);
        CHECK_EQ_STR(text, "1|2.50|s");
        CHECK_EQ_INT(decode(f, &b, "1,2,\"abc", &text, &err), WEIR_ERROR);
        weir_format_free(f);
    }
    weir_sql_batch_free(&b);
}

/* ---- raw -------------------------------------------------------------------------- */

TEST(raw_format) {
    weir_sql_table *t = table("CREATE TABLE rs (line STRING) WITH ('format' = 'raw')");
    weir_err err = {{0}};
    weir_sql_batch b;
    weir_format *f = format_and_batch(t, "raw", "", NULL, &err, &b);
    if (!f) return;
    const char *text;
    int rc;
    CHECK_EQ_INT(decode(f, &b, "hello, {world}", &text, &err), WEIR_OK);
    CHECK_EQ_STR(text, "hello, {world}");
    CHECK_EQ_STR(encode(f, &b, 0, &rc), "hello, {world}");
    /* a null record is a NULL value (Flink), and a NULL value a null record */
    CHECK_EQ_INT(decode(f, &b, NULL, &text, &err), WEIR_OK);
    CHECK_EQ_STR(text, "NULL");
    encode(f, &b, 0, &rc);
    CHECK_EQ_INT(rc, WEIR_ENOTFOUND);
    weir_sql_batch_free(&b);
    weir_format_free(f);

    t = table("CREATE TABLE ri (n INT) WITH ('format' = 'raw', 'raw.endianness' = 'little-endian')");
    f = t ? open_format(t, "raw", "", NULL, &err) : NULL;
    CHECK(f != NULL);
    if (f && new_batch(&b, t)) {
        CHECK_EQ_INT(decode(f, &b, "\x01\x02\x03\x04", &text, &err), WEIR_OK);
        CHECK_EQ_STR(text, "67305985");
        CHECK_EQ_STR(encode(f, &b, 0, &rc), "\x01\x02\x03\x04");
        CHECK_EQ_INT(decode(f, &b, "\x01\x02\x03", &text, &err), WEIR_ERROR);
        CHECK_EQ_STR(err.msg, "field 'n': expected 4 bytes for INT, found 3");
        weir_sql_batch_free(&b);
    }
    weir_format_free(f);
    t = table("CREATE TABLE rb (n BIGINT) WITH ('format' = 'raw')");
    f = t ? open_format(t, "raw", "", NULL, &err) : NULL;
    if (f && new_batch(&b, t)) {
        CHECK_EQ_INT(decode(f, &b, "\x01\x02\x03\x04\x05\x06\x07\x08", &text, &err), WEIR_OK);
        CHECK_EQ_STR(text, "72623859790382856");
        weir_sql_batch_free(&b);
    }
    weir_format_free(f);
    t = table("CREATE TABLE r2 (a STRING, b STRING) WITH ('format' = 'raw')");
    CHECK(t && open_format(t, "raw", "", NULL, &err) == NULL);
    CHECK_EQ_STR(err.msg, "table 'r2': the raw format carries exactly one column, found 2");
    t = table("CREATE TABLE r3 (a STRING) WITH ('format' = 'raw', 'raw.charset' = 'ISO-8859-1')");
    CHECK(t && open_format(t, "raw", "", NULL, &err) == NULL);
    CHECK_EQ_STR(err.msg, "table 'r3': option 'raw.charset' = 'ISO-8859-1' is not supported: only UTF-8");
    t = table("CREATE TABLE r4 (a DATE) WITH ('format' = 'raw')");
    CHECK(t && open_format(t, "raw", "", NULL, &err) == NULL);
    CHECK_EQ_STR(err.msg, "table 'r4': the raw format cannot carry column 'a' of type DATE (strings, binary strings, "
                          "BOOLEAN, TINYINT, SMALLINT, INT, BIGINT, FLOAT and DOUBLE only)");
}

/* ---- open ------------------------------------------------------------------------- */

TEST(open_errors_and_option_keys) {
    weir_err err = {{0}};
    weir_sql_table *t = table("CREATE TABLE t (id INT) WITH ('connector' = 'kafka', 'format' = 'jsn')");
    CHECK(t && open_format(t, "jsn", "", NULL, &err) == NULL);
    CHECK_EQ_STR(err.msg, "table 't': unknown format 'jsn'; did you mean 'json'?");
    t = table("CREATE TABLE t2 (id INT) WITH ('format' = 'json', 'json.fail-on-missing-feld' = 'true')");
    CHECK(t && open_format(t, "json", "", NULL, &err) == NULL);
    CHECK_EQ_STR(err.msg, "table 't2': unsupported option 'json.fail-on-missing-feld' for format 'json'; did you mean "
                          "'json.fail-on-missing-field'?");
    t = table("CREATE TABLE t3 (id INT) WITH ('format' = 'json', 'json.ignore-parse-errors' = 'maybe')");
    CHECK(t && open_format(t, "json", "", NULL, &err) == NULL);
    CHECK_EQ_STR(err.msg, "table 't3': option 'json.ignore-parse-errors' = 'maybe' is not a boolean (true or false)");
    t = table("CREATE TABLE t4 (id INT) WITH ('format' = 'json', 'value.json.timestamp-format.standard' = 'RFC')");
    CHECK(t && open_format(t, "json", "value.", NULL, &err) == NULL);
    CHECK_EQ_STR(err.msg, "table 't4': option 'value.json.timestamp-format.standard' = 'RFC' is not one of SQL, ISO-8601");
    /* options of the connector, of other prefixes and of other formats are not the format's business */
    t = table("CREATE TABLE t5 (id INT, m MULTISET<INT>) WITH ('connector' = 'kafka', 'topic' = 'x', 'key.json.bogus' = '1', "
              "'csv.whatever' = '2', 'value.json.fail-on-missing-field' = 'true')");
    int col0 = 0;
    weir_format_spec spec = {"json", t, "value.", &col0, 1, NULL};
    weir_format *f = NULL;
    CHECK(t && weir_format_open(&spec, &f, &err) == WEIR_OK);
    weir_format_free(f);
    /* json cannot carry a MULTISET or a MAP with non-string keys */
    t = table("CREATE TABLE t6 (m MAP<INT, STRING>) WITH ('format' = 'json')");
    CHECK(t && open_format(t, "json", "", NULL, &err) == NULL);
    CHECK_EQ_STR(err.msg, "table 't6': the json format cannot carry column 'm' of type MAP<INT, STRING> (JSON object "
                          "keys are strings: use MAP<STRING, ...>)");
    /* the keys a connector validates */
    const char *const *keys = weir_format_option_keys("json");
    CHECK(keys != NULL);
    int n = 0;
    bool found = false;
    for (; keys && keys[n]; n++) found = found || !strcmp(keys[n], "json.map-null-key.literal");
    CHECK_EQ_INT(n, 8);
    CHECK(found);
    keys = weir_format_option_keys("csv");
    CHECK(keys && !strcmp(keys[0], "csv.field-delimiter"));
    keys = weir_format_option_keys("raw");
    CHECK(keys && !strcmp(keys[1], "raw.endianness") && !keys[2]);
    CHECK(weir_format_option_keys("avro") == NULL);
}

/* A key format: some of the table's columns, options under 'key.' */
TEST(key_format_carries_its_columns) {
    weir_sql_table *t = table("CREATE TABLE kt (id INT, name STRING, amount DOUBLE) WITH ('connector' = 'kafka', "
                              "'key.format' = 'json', 'key.fields' = 'id;amount', 'key.json.encode.ignore-null-fields' = 'true', "
                              "'value.format' = 'csv', 'value.csv.field-delimiter' = '|')");
    int key_cols[] = {2, 0};
    weir_format_spec spec = {"json", t, "key.", key_cols, 2, NULL};
    weir_format *f = NULL;
    weir_err err = {{0}};
    CHECK(t && weir_format_open(&spec, &f, &err) == WEIR_OK);
    weir_sql_batch b;
    if (!f || !new_batch(&b, t)) return weir_format_free(f);
    const char *text;
    int rc;
    CHECK_EQ_INT(decode(f, &b, "{\"id\": 7, \"name\": \"not carried\", \"amount\": 2.5}", &text, &err), WEIR_OK);
    CHECK_EQ_STR(text, "7|NULL|2.5");
    CHECK_EQ_STR(encode(f, &b, 0, &rc), "{\"amount\":2.5,\"id\":7}");
    CHECK_EQ_INT(decode(f, &b, "{\"id\": 8}", &text, &err), WEIR_OK);
    CHECK_EQ_STR(encode(f, &b, 0, &rc), "{\"id\":8}");
    weir_format_free(f);
    int value_cols[] = {0, 1, 2};
    weir_format_spec vspec = {"csv", t, "value.", value_cols, 3, NULL};
    CHECK(weir_format_open(&vspec, &f, &err) == WEIR_OK);
    if (f) {
        CHECK_EQ_INT(decode(f, &b, "1|a,b|3.5", &text, &err), WEIR_OK);
        CHECK_EQ_STR(text, "1|a,b|3.5");
        CHECK_EQ_STR(encode(f, &b, 0, &rc), "1|a,b|3.5");
        weir_format_free(f);
    }
    /* csv writes only the needed columns too: a bad unneeded field is no error */
    bool needed[] = {false, true, false};
    vspec.needed = needed;
    f = NULL;
    CHECK(weir_format_open(&vspec, &f, &err) == WEIR_OK);
    if (f) {
        CHECK_EQ_INT(decode(f, &b, "x|kept|y", &text, &err), WEIR_OK);
        CHECK_EQ_STR(text, "NULL|kept|NULL");
        weir_format_free(f);
    }
    weir_sql_batch_free(&b);
}

/* ---- robustness ------------------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Each mutation: a truncation, or 1-4 random byte edits (replace, insert, delete) biased
 * toward the format's own syntax characters. Every decode must end in OK, ENOTFOUND or an
 * error with a message; the exact-size copy in decode() lets ASan catch any over-read. */
static int fuzz(weir_format *f, weir_sql_batch *b, const char *const *seeds, int nseeds, int rounds,
                const char *alphabet) {
    int bad = 0, ok = 0, failed = 0;
    for (int i = 0; i < nseeds; i++) { /* the seeds themselves are valid */
        const char *text;
        weir_err err;
        if (decode(f, b, seeds[i], &text, &err) != WEIR_OK) {
            fprintf(stderr, "  seed %d: %s\n", i, err.msg);
            bad++;
        }
    }
    char buf[1024];
    size_t alen = strlen(alphabet);
    for (int i = 0; i < rounds; i++) {
        const char *seed = seeds[rnd() % (uint64_t)nseeds];
        size_t n = strlen(seed);
        memcpy(buf, seed, n);
        if (rnd() % 4 == 0) {
            n = (size_t)(rnd() % (n + 1));
        } else {
            int edits = 1 + (int)(rnd() % 4);
            for (int e = 0; e < edits; e++) {
                size_t at = n ? (size_t)(rnd() % n) : 0;
                char c = rnd() % 3 ? alphabet[rnd() % alen] : (char)(rnd() % 256);
                switch (rnd() % 3) {
                case 0: if (n) buf[at] = c; break;
                case 1:
                    if (n + 1 < sizeof buf) {
                        memmove(buf + at + 1, buf + at, n - at);
                        buf[at] = c;
                        n++;
                    }
                    break;
                default:
                    if (n) {
                        memmove(buf + at, buf + at + 1, n - at - 1);
                        n--;
                    }
                }
            }
        }
        weir_sql_batch_clear(b);
        int row = weir_sql_batch_add_row(b);
        char *copy = malloc(n ? n : 1);
        memcpy(copy, buf, n);
        weir_err err;
        err.msg[0] = 0;
        int rc = weir_format_decode(f, copy, n, b, row, &err);
        free(copy);
        ok += rc == WEIR_OK;
        failed += rc == WEIR_ERROR;
        if (rc == WEIR_ERROR && !err.msg[0]) bad++;
        if (rc != WEIR_OK && rc != WEIR_ERROR && rc != WEIR_ENOTFOUND) bad++;
        if (rc == WEIR_OK) { /* what decoded must encode */
            weir_buf out;
            weir_buf_init(&out);
            int erc = weir_format_encode(f, b, row, &out, &err);
            if (erc != WEIR_OK && erc != WEIR_ENOTFOUND) bad++;
            weir_buf_free(&out);
        }
    }
    /* the mutations reach both the decoders' success and error paths */
    if (ok < rounds / 20 || failed < rounds / 20) {
        fprintf(stderr, "  mutations: %d decoded, %d failed of %d\n", ok, failed, rounds);
        bad++;
    }
    return bad;
}

TEST(json_mutations_never_crash) {
    weir_sql_table *t = table("CREATE TABLE jz (id BIGINT, name STRING, amount DECIMAL(10, 2), ok BOOLEAN, "
                              "ts TIMESTAMP(3), bin BYTES, tags ARRAY<STRING>, r ROW<a INT, b ARRAY<DOUBLE>>, "
                              "m MAP<STRING, INT>, d DATE) WITH ('format' = 'json')");
    weir_err err = {{0}};
    weir_sql_batch b;
    weir_format *f = format_and_batch(t, "json", "", NULL, &err, &b);
    if (!f) return;
    static const char *const seeds[] = {
        "{\"id\": 1, \"name\": \"a\\u00e9\\\"b\", \"amount\": 12.5, \"ok\": true, \"ts\": \"2024-01-31 12:00:00.123\"}",
        "{\"bin\": \"AAEC\", \"tags\": [\"x\", null, \"y\"], \"r\": {\"a\": 1, \"b\": [1.5, -2e3]}, \"m\": {\"k\": 1}}",
        "{\"unknown\": {\"deep\": [1, [2, {\"x\": \"\\ud83d\\ude00\"}]]}, \"d\": \"2024-02-29\", \"id\": \"42\"}",
        "  {  }  ",
    };
    int bad = fuzz(f, &b, seeds, 4, 6000, "{}[]\":,\\ 0123456789.eE-+tfnulrsaxyz");
    CHECK_EQ_INT(bad, 0);
    weir_format_free(f);
    /* and again with ignore-parse-errors, which takes other paths */
    t = table("CREATE TABLE jz2 (id BIGINT, tags ARRAY<INT>, r ROW<a INT, b ARRAY<DOUBLE>>, m MAP<STRING, INT>) "
              "WITH ('format' = 'json', 'json.ignore-parse-errors' = 'true')");
    f = t ? open_format(t, "json", "", NULL, &err) : NULL;
    weir_sql_batch b2;
    if (f && new_batch(&b2, t)) {
        CHECK_EQ_INT(fuzz(f, &b2, seeds, 4, 1000, "{}[]\":,\\ 0123456789.eE-+tfnul"), 0);
        weir_sql_batch_free(&b2);
    }
    weir_format_free(f);
    weir_sql_batch_free(&b);
}

TEST(csv_mutations_never_crash) {
    weir_sql_table *t = table("CREATE TABLE cz (id BIGINT, name STRING, amount DECIMAL(10, 2), ts TIMESTAMP(3), "
                              "arr ARRAY<INT>, r ROW<a STRING, b DOUBLE>, bin BYTES) WITH ('format' = 'csv', "
                              "'csv.escape-character' = '\\', 'csv.null-literal' = 'null')");
    weir_err err = {{0}};
    weir_sql_batch b;
    weir_format *f = format_and_batch(t, "csv", "", NULL, &err, &b);
    if (!f) return;
    static const char *const seeds[] = {
        "1,\"a,\"\"b\",12.50,2024-01-31 12:00:00.123,1;2;3,x;1.5,AAEC\n",
        "null,,\"\",,,;,\r\n",
        "-9,x\\,y,1e3,2024-1-1 00:00:00,null,\"p;2\",\n",
    };
    CHECK_EQ_INT(fuzz(f, &b, seeds, 3, 3000, ",;\"\\\n\r 0123456789.-:eEnulabc"), 0);
    weir_sql_batch_free(&b);
    weir_format_free(f);
}

/* ---- debezium-json ------------------------------------------------------------------- */

/* Decodes a Debezium record with weir_format_decode_changes into a fresh batch; returns
 * the code, and the rows as "+I 1|a; -U ..." in *text. */
static int decode_changes(weir_format *f, weir_sql_batch *b, const char *rec, const char **text, weir_err *err) {
    static char out[4096];
    weir_sql_batch_clear(b);
    int row = weir_sql_batch_add_row(b);
    size_t n = rec ? strlen(rec) : 0;
    char *copy = rec ? malloc(n ? n : 1) : NULL;
    if (copy) memcpy(copy, rec, n);
    int nrows = -1;
    int rc = weir_format_decode_changes(f, copy, n, b, row, &nrows, err);
    free(copy);
    static const char *const kinds[] = {"+I", "-U", "+U", "-D"};
    out[0] = 0;
    size_t len = 0;
    for (int i = 0; rc == WEIR_OK && i < nrows; i++)
        len += (size_t)snprintf(out + len, sizeof out - len, "%s%s %s", i ? "; " : "", kinds[b->row_kinds[row + i]],
                                row_text(b, row + i));
    if (text) *text = out;
    return rc;
}

TEST(debezium_decode_kinds) {
    weir_sql_table *t = table("CREATE TABLE dz (id INT, name STRING, w DOUBLE) WITH ('format' = 'debezium-json')");
    weir_err err = {{0}};
    weir_sql_batch b;
    weir_format *f = format_and_batch(t, "debezium-json", "", NULL, &err, &b);
    if (!f) return;
    CHECK(weir_format_is_changelog(f));
    const char *text;
    CHECK_EQ_INT(decode_changes(f, &b, "{\"before\":null,\"after\":{\"id\":1,\"name\":\"a\",\"w\":1.5},\"op\":\"c\"}",
                                &text, &err), WEIR_OK);
    CHECK_EQ_STR(text, "+I 1|a|1.5");
    CHECK_EQ_INT(decode_changes(f, &b, "{\"op\":\"r\",\"after\":{\"id\":2,\"name\":\"b\"},\"source\":{\"x\":[1]}}",
                                &text, &err), WEIR_OK);
    CHECK_EQ_STR(text, "+I 2|b|NULL");
    CHECK_EQ_INT(decode_changes(f, &b, " {\"before\":{\"id\":1,\"name\":\"a\",\"w\":1.5},\"after\":{\"id\":1,\"name\":"
                                "\"a2\",\"w\":2.5},\"op\":\"u\",\"ts_ms\":5} ", &text, &err), WEIR_OK);
    CHECK_EQ_STR(text, "-U 1|a|1.5; +U 1|a2|2.5");
    CHECK_EQ_INT(b.nrows, 2);
    CHECK_EQ_INT(decode_changes(f, &b, "{\"before\":{\"id\":1,\"name\":\"a2\",\"w\":2.5},\"after\":null,\"op\":\"d\"}",
                                &text, &err), WEIR_OK);
    CHECK_EQ_STR(text, "-D 1|a2|2.5");
    /* Debezium's tombstone after a delete: no row */
    int nrows = -1;
    weir_sql_batch_clear(&b);
    CHECK_EQ_INT(weir_format_decode_changes(f, NULL, 0, &b, weir_sql_batch_add_row(&b), &nrows, &err), WEIR_OK);
    CHECK_EQ_INT(nrows, 0);
    CHECK_EQ_INT(decode(f, &b, NULL, NULL, &err), WEIR_ENOTFOUND);
    /* errors */
    CHECK_EQ_INT(decode_changes(f, &b, "{\"after\":{\"id\":1},\"op\":\"x\"}", &text, &err), WEIR_ERROR);
    CHECK_EQ_STR(err.msg, "unknown \"op\" value \"x\" (Debezium's are c, r, u and d)");
    CHECK_EQ_INT(decode_changes(f, &b, "{\"before\":null,\"after\":null,\"op\":\"d\"}", &text, &err), WEIR_ERROR);
    CHECK_EQ_STR(err.msg, "the \"before\" field of a change event with \"op\": \"d\" is null (with Debezium's Postgres "
                          "connector, set the table's REPLICA IDENTITY to FULL)");
    CHECK_EQ_INT(decode_changes(f, &b, "{\"after\":{\"id\":1}}", &text, &err), WEIR_ERROR);
    CHECK_EQ_STR(err.msg, "no \"op\" field (a Debezium change event has \"op\": c, r, u or d)");
    CHECK_EQ_INT(decode_changes(f, &b, "{\"after\":[1],\"op\":\"c\"}", &text, &err), WEIR_ERROR);
    CHECK_EQ_STR(err.msg, "the \"after\" field is not an object: found an array");
    CHECK_EQ_INT(decode_changes(f, &b, "{\"after\":{\"id\":\"x1\"},\"op\":\"c\"}", &text, &err), WEIR_ERROR);
    CHECK(strstr(err.msg, "in \"after\": field 'id'") == err.msg);
    CHECK_EQ_INT(decode_changes(f, &b, "{\"schema\":{},\"payload\":{\"after\":{\"id\":1},\"op\":\"c\"}}", &text, &err),
                 WEIR_ERROR);
    CHECK(strstr(err.msg, "set 'debezium-json.schema-include' = 'true'") != NULL);
    CHECK_EQ_INT(decode_changes(f, &b, "{\"op\":\"c\",\"after\":{}} x", &text, &err), WEIR_ERROR);
    CHECK_EQ_STR(err.msg, "at byte 22: unexpected 'x' after the JSON object");
    weir_format_free(f);
    weir_sql_batch_free(&b);

    /* schema-include and ignore-parse-errors, under the value. prefix */
    t = table("CREATE TABLE dz2 (id INT, name STRING) WITH ('value.format' = 'debezium-json', "
              "'value.debezium-json.schema-include' = 'true', 'value.debezium-json.ignore-parse-errors' = 'true')");
    f = format_and_batch(t, "debezium-json", "value.", NULL, &err, &b);
    if (!f) return;
    CHECK(weir_format_ignores_parse_errors(f));
    CHECK_EQ_INT(decode_changes(f, &b, "{\"schema\":{\"type\":\"struct\"},\"payload\":{\"before\":{\"id\":3,\"name\":"
                                "\"p\"},\"after\":{\"id\":3,\"name\":\"q\"},\"op\":\"u\"}}", &text, &err), WEIR_OK);
    CHECK_EQ_STR(text, "-U 3|p; +U 3|q");
    /* a field that does not fit becomes NULL; a record without a payload still fails */
    CHECK_EQ_INT(decode_changes(f, &b, "{\"payload\":{\"after\":{\"id\":\"zz\",\"name\":\"r\"},\"op\":\"c\"}}", &text,
                                &err), WEIR_OK);
    CHECK_EQ_STR(text, "+I NULL|r");
    CHECK_EQ_INT(decode_changes(f, &b, "{\"before\":null,\"after\":{\"id\":1},\"op\":\"c\"}", &text, &err), WEIR_ERROR);
    CHECK(strstr(err.msg, "no \"payload\" object ('value.debezium-json.schema-include' is true") == err.msg);
    weir_format_free(f);
    weir_sql_batch_free(&b);
}

/* As Flink's DebeziumJsonSerializationSchema: +I/+U are creates, -U/-D deletes. */
TEST(debezium_encode_as_flink) {
    weir_sql_table *t = table("CREATE TABLE de (id INT, name STRING, ts TIMESTAMP(3)) WITH ('format' = "
                              "'debezium-json', 'debezium-json.timestamp-format.standard' = 'ISO-8601')");
    weir_err err = {{0}};
    weir_sql_batch b;
    weir_format *f = format_and_batch(t, "debezium-json", "", NULL, &err, &b);
    if (!f) return;
    const char *text;
    CHECK_EQ_INT(decode_changes(f, &b, "{\"before\":{\"id\":1,\"name\":\"a\",\"ts\":\"2024-01-31T12:00:00.123\"},"
                                "\"after\":{\"id\":1,\"name\":null,\"ts\":\"2024-02-01T00:00:00\"},\"op\":\"u\"}", &text,
                                &err), WEIR_OK);
    int rc;
    CHECK_EQ_STR(encode(f, &b, 0, &rc),
                 "{\"before\":{\"id\":1,\"name\":\"a\",\"ts\":\"2024-01-31T12:00:00.123\"},\"after\":null,\"op\":\"d\"}");
    CHECK_EQ_STR(encode(f, &b, 1, &rc),
                 "{\"before\":null,\"after\":{\"id\":1,\"name\":null,\"ts\":\"2024-02-01T00:00:00\"},\"op\":\"c\"}");
    b.row_kinds[0] = WEIR_SQL_ROW_INSERT;
    CHECK_EQ_STR(encode(f, &b, 0, &rc),
                 "{\"before\":null,\"after\":{\"id\":1,\"name\":\"a\",\"ts\":\"2024-01-31T12:00:00.123\"},\"op\":\"c\"}");
    b.row_kinds[1] = WEIR_SQL_ROW_DELETE;
    CHECK_EQ_STR(encode(f, &b, 1, &rc),
                 "{\"before\":{\"id\":1,\"name\":null,\"ts\":\"2024-02-01T00:00:00\"},\"after\":null,\"op\":\"d\"}");
    weir_format_free(f);
    /* encode.ignore-null-fields drops the null image and null fields */
    t = table("CREATE TABLE de2 (id INT, name STRING, ts TIMESTAMP(3)) WITH ('format' = 'debezium-json', "
              "'debezium-json.encode.ignore-null-fields' = 'true')");
    f = t ? open_format(t, "debezium-json", "", NULL, &err) : NULL;
    CHECK(f != NULL);
    if (f) {
        CHECK_EQ_STR(encode(f, &b, 1, &rc), "{\"before\":{\"id\":1,\"ts\":\"2024-02-01 00:00:00\"},\"op\":\"d\"}");
        b.row_kinds[1] = WEIR_SQL_ROW_UPDATE_AFTER;
        CHECK_EQ_STR(encode(f, &b, 1, &rc), "{\"after\":{\"id\":1,\"ts\":\"2024-02-01 00:00:00\"},\"op\":\"c\"}");
        weir_format_free(f);
    }
    /* json options debezium-json does not have are refused */
    t = table("CREATE TABLE de3 (id INT) WITH ('format' = 'debezium-json', 'debezium-json.fail-on-missing-field' = "
              "'true')");
    CHECK(t && open_format(t, "debezium-json", "", NULL, &err) == NULL);
    CHECK(strstr(err.msg, "unsupported option 'debezium-json.fail-on-missing-field' for format 'debezium-json'") !=
          NULL);
    const char *const *keys = weir_format_option_keys("debezium-json");
    CHECK(keys && !strcmp(keys[0], "debezium-json.schema-include"));
    weir_sql_batch_free(&b);
}

TEST(debezium_mutations_never_crash) {
    weir_sql_table *t = table("CREATE TABLE dzz (id BIGINT, name STRING, tags ARRAY<STRING>, r ROW<a INT>) WITH "
                              "('format' = 'debezium-json')");
    weir_err err = {{0}};
    weir_sql_batch b;
    weir_format *f = format_and_batch(t, "debezium-json", "", NULL, &err, &b);
    if (!f) return;
    static const char *const seeds[] = {
        "{\"before\":null,\"after\":{\"id\":1,\"name\":\"a\",\"tags\":[\"x\"],\"r\":{\"a\":1}},\"op\":\"c\"}",
        "{\"before\":{\"id\":1},\"after\":{\"id\":2,\"name\":\"\\u00e9\"},\"op\":\"u\",\"source\":{\"q\":[1,{}]}}",
        "{\"op\":\"d\",\"before\":{\"id\":3,\"tags\":null}}",
    };
    CHECK_EQ_INT(fuzz(f, &b, seeds, 3, 4000, "{}[]\":,\\ 0123456789.-nulcrdbeoftpa"), 0);
    weir_format_free(f);
    weir_sql_batch_free(&b);
}

static void setup(void) {
    weir_arena_init(&arena, 0);
    weir_sql_catalog_init(&cat, &arena);
}

static void teardown(void) { weir_arena_free(&arena); }

TEST(begin) { setup(); }
TEST(end) { teardown(); }

TEST_MAIN(T(begin), T(json_scalars_round_trip), T(json_numbers_and_strings_as_flink_reads_them),
          T(json_iso_timestamps_and_decimal_notation), T(json_nested_row_array_map), T(json_missing_fields),
          T(json_ignore_parse_errors), T(json_error_messages), T(json_only_needed_columns),
          T(json_field_names_are_case_sensitive_and_escaped), T(json_map_null_key_modes), T(wide_decimals), T(csv_scalars_round_trip),
          T(csv_options), T(csv_errors_and_ignore), T(raw_format), T(open_errors_and_option_keys), T(key_format_carries_its_columns),
          T(json_mutations_never_crash), T(csv_mutations_never_crash), T(debezium_decode_kinds),
          T(debezium_encode_as_flink), T(debezium_mutations_never_crash), T(end))
