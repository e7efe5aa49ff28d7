/* test_sql_eval.c — compiled expression evaluation over columnar batches. Every .sql file in
 * tests/sql/eval is parsed and bound; each SELECT over (VALUES ...) (or over no FROM) is run:
 * the VALUES rows are evaluated as constant programs into an input batch, the SELECT's
 * WHERE and projection are compiled into one program and run over that input in batches of
 * two rows, and the result is printed as Flink's SQL client's tableau (or "error: " and the
 * message). WEIR_GOLDEN_UPDATE=1 rewrites the .out files. Then: a cross-check against SQLite
 * of expressions that mean the same in both, and a 1M-row filter + projection run in
 * batches of 1024 rows that checks the results and that instructions are dispatched once
 * per batch, not per row. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "sql/sql.h"
#include "golden.h"
#include "test.h"

#define GOLDEN_DIR "tests/sql/eval"

/* The golden files and cross-checks assume the local time zone is UTC. */
__attribute__((constructor)) static void utc_zone(void) {
    setenv("TZ", "UTC", 1);
    tzset();
}
#define GOLDEN_BATCH_ROWS 2

static void outs(weir_buf *b, const char *s) { weir_buf_append(b, s, strlen(s)); }

/* Display width: UTF-8 characters. */
static int chars(const weir_buf *b) {
    int n = 0;
    for (size_t k = 0; k < b->len; k++) n += (b->data[k] & 0xC0) != 0x80;
    return n;
}

/* Runs program over in, GOLDEN-sized slices at a time, appending to out. */
static int run_sliced(weir_sql_program *prog, const weir_sql_batch *in, const weir_sql_lfield *in_cols, weir_sql_batch *out,
                      int slice, weir_err *err) {
    for (int from = 0; from < in->nrows; from += slice) {
        weir_sql_batch part;
        if (weir_sql_batch_init(&part, in_cols, in->ncols, slice, err) != WEIR_OK) return WEIR_ERROR;
        int n = in->nrows - from < slice ? in->nrows - from : slice;
        weir_sql_batch_append_rows(&part, in, from, n);
        int rc = weir_sql_program_run(prog, &part, out, err);
        weir_sql_batch_free(&part);
        if (rc != WEIR_OK) return rc;
    }
    return WEIR_OK;
}

/* The input rows of a SELECT: its VALUES, each row a constant program, or one empty row
 * when there is no FROM. On error nothing is left to free. */
static int build_input(const weir_sql_bquery *q, weir_sql_batch *in, const weir_sql_lfield **cols, int *ncols,
                       weir_err *err) {
    static const weir_sql_lfield none[1];
    const weir_sql_bquery *values = NULL;
    if (q->from) {
        const weir_sql_brel *r = q->from;
        if (r->kind == WEIR_SQL_BREL_QUERY && r->query && r->query->kind == WEIR_SQL_BQUERY_VALUES && !r->table)
            values = r->query;
        else
            return weir_err_set(err, "line %d, column %d: only SELECT ... FROM (VALUES ...) is evaluated so far",
                                r->pos.line, r->pos.col);
        *cols = r->cols;
        *ncols = r->ncols;
    } else {
        *cols = none;
        *ncols = 0;
    }
    if (weir_sql_batch_init(in, *cols, *ncols, 4, err) != WEIR_OK) return WEIR_ERROR;
    if (!values) {
        weir_sql_batch_add_row(in);
        return WEIR_OK;
    }
    weir_sql_batch one;
    weir_sql_batch_init(&one, none, 0, 1, err);
    weir_sql_batch_add_row(&one);
    for (int k = 0; k < values->nrows; k++) {
        weir_sql_program *p = NULL;
        if (weir_sql_program_compile(NULL, values->rows[k], values->ncols, none, 0, &p, err) != WEIR_OK) {
            weir_sql_batch_free(&one);
            weir_sql_batch_free(in);
            return WEIR_ERROR;
        }
        weir_sql_batch row;
        int rc = weir_sql_batch_init(&row, weir_sql_program_columns(p), values->ncols, 1, err);
        if (rc == WEIR_OK) rc = weir_sql_program_run(p, &one, &row, err);
        if (rc == WEIR_OK) {
            /* the row's values, stored with the VALUES column types */
            int r = weir_sql_batch_add_row(in);
            for (int c = 0; c < *ncols; c++) {
                if (weir_sql_batch_is_null(&row, c, 0)) continue;
                const weir_sql_ltype *t = &row.cols[c].type;
                if (t->kind == WEIR_SQL_TYPE_DECIMAL && t->precision > 18) {
                    weir_sql_batch_set_i128(in, c, r, weir_sql_batch_get_i128(&row, c, 0));
                } else if (weir_sql_ltype_is_string(t) || weir_sql_ltype_is_binary(t) || t->kind == WEIR_SQL_TYPE_ARRAY ||
                           t->kind == WEIR_SQL_TYPE_MAP || t->kind == WEIR_SQL_TYPE_ROW || t->kind == WEIR_SQL_TYPE_MULTISET) {
                    weir_str s = weir_sql_batch_get_str(&row, c, 0);
                    weir_sql_batch_set_str(in, c, r, s.ptr, (size_t)s.len);
                } else if (t->kind == WEIR_SQL_TYPE_FLOAT || t->kind == WEIR_SQL_TYPE_DOUBLE) {
                    weir_sql_batch_set_f64(in, c, r, weir_sql_batch_get_f64(&row, c, 0));
                } else {
                    weir_sql_batch_set_i64(in, c, r, weir_sql_batch_get_i64(&row, c, 0));
                }
            }
        }
        weir_sql_batch_free(&row);
        weir_sql_program_free(p);
        if (rc != WEIR_OK) {
            weir_sql_batch_free(&one);
            weir_sql_batch_free(in);
            return WEIR_ERROR;
        }
    }
    weir_sql_batch_free(&one);
    return WEIR_OK;
}

/* Runs a bound SELECT and leaves its rows in out (initialised here). */
static int run_query(const weir_sql_bquery *q, weir_sql_batch *out, int slice, weir_err *err) {
    if (q->kind != WEIR_SQL_BQUERY_SELECT || q->aggregate || q->distinct || q->norder_by || q->limit)
        return weir_err_set(err, "line %d, column %d: only a plain SELECT (no aggregates, DISTINCT, ORDER BY or LIMIT) is evaluated so far",
                            q->pos.line, q->pos.col);
    weir_sql_batch in;
    const weir_sql_lfield *cols = NULL;
    int ncols = 0;
    if (build_input(q, &in, &cols, &ncols, err) != WEIR_OK) return WEIR_ERROR;
    weir_sql_program *p = NULL;
    int rc = weir_sql_program_compile(q->where, q->items, q->ncols, cols, ncols, &p, err);
    if (rc == WEIR_OK) rc = weir_sql_batch_init(out, weir_sql_program_columns(p), q->ncols, 4, err);
    if (rc == WEIR_OK) {
        rc = run_sliced(p, &in, cols, out, slice, err);
        if (rc != WEIR_OK) weir_sql_batch_free(out);
    }
    weir_sql_program_free(p);
    weir_sql_batch_free(&in);
    return rc;
}

/* Flink SQL client's tableau: a row-kind column, then the columns, right-aligned. */
static void print_tableau(weir_buf *o, const weir_sql_bquery *q, const weir_sql_batch *b) {
    int nc = q->ncols;
    int *w = calloc((size_t)nc + 1, sizeof *w);
    weir_buf cell;
    weir_buf_init(&cell);
    for (int c = 0; c < nc; c++) {
        w[c] = (int)strlen(q->cols[c].name);
        for (int r = 0; r < b->nrows; r++) {
            cell.len = 0;
            weir_sql_batch_format(&cell, b, c, r);
            if (chars(&cell) > w[c]) w[c] = chars(&cell);
        }
    }
    weir_buf line;
    weir_buf_init(&line);
    outs(&line, "+----+");
    for (int c = 0; c < nc; c++) {
        for (int k = 0; k < w[c] + 2; k++) outs(&line, "-");
        outs(&line, "+");
    }
    outs(&line, "\n");
    weir_buf_append(o, line.data, line.len);
    outs(o, "| op |");
    char tmp[64];
    for (int c = 0; c < nc; c++) {
        int pad = w[c] - (int)strlen(q->cols[c].name);
        outs(o, " ");
        for (int k = 0; k < pad; k++) outs(o, " ");
        outs(o, q->cols[c].name);
        outs(o, " |");
    }
    outs(o, "\n");
    weir_buf_append(o, line.data, line.len);
    static const char *kinds[] = {"+I", "-U", "+U", "-D"};
    for (int r = 0; r < b->nrows; r++) {
        outs(o, "| ");
        outs(o, kinds[b->row_kinds[r] & 3]);
        outs(o, " |");
        for (int c = 0; c < nc; c++) {
            cell.len = 0;
            weir_sql_batch_format(&cell, b, c, r);
            outs(o, " ");
            for (int k = chars(&cell); k < w[c]; k++) outs(o, " ");
            weir_buf_append(o, cell.data, cell.len);
            outs(o, " |");
        }
        outs(o, "\n");
    }
    weir_buf_append(o, line.data, line.len);
    snprintf(tmp, sizeof tmp, "Received a total of %d row%s\n", b->nrows, b->nrows == 1 ? "" : "s");
    outs(o, tmp);
    weir_buf_free(&line);
    weir_buf_free(&cell);
    free(w);
}

static int render(const char *src, size_t len, weir_buf *out) {
    weir_arena arena;
    weir_arena_init(&arena, 0);
    weir_sql_script *script = NULL;
    weir_err err;
    int rc = weir_sql_parse_script(&arena, src, len, &script, &err);
    weir_sql_catalog cat;
    weir_sql_catalog_init(&cat, &arena);
    bool first = true;
    for (int k = 0; rc == WEIR_OK && k < script->nstmts; k++) {
        weir_sql_bstmt *st = NULL;
        rc = weir_sql_bind_stmt(&cat, script->stmts[k], &st, &err);
        if (rc != WEIR_OK || st->kind != WEIR_SQL_STMT_QUERY) continue;
        weir_sql_batch res;
        rc = run_query(st->query, &res, GOLDEN_BATCH_ROWS, &err);
        if (rc != WEIR_OK) break;
        if (!first) outs(out, "\n");
        first = false;
        print_tableau(out, st->query, &res);
        weir_sql_batch_free(&res);
    }
    if (rc != WEIR_OK) {
        if (!first) outs(out, "\n");
        outs(out, "error: ");
        outs(out, err.msg);
        outs(out, "\n");
    }
    weir_arena_free(&arena);
    return rc;
}

TEST(golden) {
    int n = 0;
    int errors = golden_run(GOLDEN_DIR, render, true, &n);
    CHECK(n >= 8);
    CHECK(errors >= 3);
}

/* ---- SQLite cross-check ------------------------------------------------------------- */

static const char *xvalues =
    "(-7, -3, 'abc'), (-1, 1, ' Hello '), (0, 2, 'x_y%z'), (3, 5, NULL), (10, NULL, 'hello world'), "
    "(NULL, 2, 'll'), (12, -5, ''), (2147483, 7, 'MiXeD')";

static const char *xpairs[][2] = {
    {"a + b", "a + b"},
    {"a - b", "a - b"},
    {"a * b", "a * b"},
    {"CASE WHEN b <> 0 THEN a / b END", "CASE WHEN b <> 0 THEN a / b END"},
    {"CASE WHEN b <> 0 THEN a % b END", "CASE WHEN b <> 0 THEN a % b END"},
    {"ABS(a)", "ABS(a)"},
    {"-a", "-a"},
    {"CASE WHEN a < b THEN 1 ELSE 0 END", "CASE WHEN a < b THEN 1 ELSE 0 END"},
    {"CASE WHEN a >= b OR b IS NULL THEN 1 WHEN a = 0 THEN 2 ELSE 3 END", "CASE WHEN a >= b OR b IS NULL THEN 1 WHEN a = 0 THEN 2 ELSE 3 END"},
    {"CASE WHEN a > 0 AND b > 0 THEN 'both' WHEN NOT (a > 0) THEN 'not a' END", "CASE WHEN a > 0 AND b > 0 THEN 'both' WHEN NOT (a > 0) THEN 'not a' END"},
    {"COALESCE(a, b, 0)", "COALESCE(a, b, 0)"},
    {"NULLIF(a, b + 5)", "NULLIF(a, b + 5)"},
    {"GREATEST(a, b)", "MAX(a, b)"},
    {"LEAST(a, b, 4)", "MIN(a, b, 4)"},
    {"CASE WHEN a IN (1, 3, 10) THEN 1 ELSE 0 END", "CASE WHEN a IN (1, 3, 10) THEN 1 ELSE 0 END"},
    {"CASE WHEN a BETWEEN 0 AND 5 THEN 1 ELSE 0 END", "CASE WHEN a BETWEEN 0 AND 5 THEN 1 ELSE 0 END"},
    {"CAST(a AS DOUBLE) / 4", "CAST(a AS REAL) / 4"},
    {"CAST(a AS STRING)", "CAST(a AS TEXT)"},
    {"UPPER(s)", "UPPER(s)"},
    {"LOWER(s)", "LOWER(s)"},
    {"TRIM(s)", "TRIM(s)"},
    {"LTRIM(s)", "LTRIM(s)"},
    {"RTRIM(s)", "RTRIM(s)"},
    {"REPLACE(s, 'l', 'LL')", "REPLACE(s, 'l', 'LL')"},
    {"CHAR_LENGTH(s)", "LENGTH(s)"},
    {"SUBSTRING(s, 2, 3)", "SUBSTR(s, 2, 3)"},
    {"SUBSTRING(s, 3)", "SUBSTR(s, 3)"},
    {"POSITION('l' IN s)", "INSTR(s, 'l')"},
    {"s || '!'", "s || '!'"},
    {"CASE WHEN s LIKE 'h%' THEN 1 ELSE 0 END", "CASE WHEN s GLOB 'h*' THEN 1 ELSE 0 END"},
    {"CASE WHEN s LIKE '_l%' THEN 1 WHEN s IS NULL THEN 2 ELSE 0 END", "CASE WHEN s GLOB '?l*' THEN 1 WHEN s IS NULL THEN 2 ELSE 0 END"},
    {"CASE WHEN s IS NOT DISTINCT FROM 'abc' THEN 1 ELSE 0 END", "CASE WHEN s IS 'abc' THEN 1 ELSE 0 END"},
    {"CASE WHEN a IS DISTINCT FROM 3 THEN 1 ELSE 0 END", "CASE WHEN a IS NOT 3 THEN 1 ELSE 0 END"},
    {"IFNULL(s, 'none')", "IFNULL(s, 'none')"},
    {"IF(a > 1, a, b)", "IIF(a > 1, a, b)"},
};

/* Dates and JSON documents for the temporal and JSON functions (the local zone is UTC here). */
static const char *xvalues2 =
    "('2024-02-29 13:45:06', '{\"a\": 1, \"b\": {\"c\": \"x\"}}'), ('1999-12-31 23:59:59', '{\"a\": \"text\"}'), "
    "('2000-01-01 00:00:00', '[1, 2]'), (NULL, NULL), ('2021-07-04 08:00:30', '{\"b\": null}')";

static const char *xpairs2[][2] = {
    {"DATE_FORMAT(TO_TIMESTAMP(s), 'yyyy-MM-dd')", "strftime('%Y-%m-%d', s)"},
    {"DATE_FORMAT(TO_TIMESTAMP(s), 'HH:mm:ss')", "strftime('%H:%M:%S', s)"},
    {"EXTRACT(DOY FROM TO_TIMESTAMP(s))", "CAST(strftime('%j', s) AS INTEGER)"},
    {"EXTRACT(DOW FROM TO_TIMESTAMP(s))", "CAST(strftime('%w', s) AS INTEGER) + 1"},
    {"EXTRACT(MONTH FROM TO_DATE(SUBSTRING(s, 1, 10)))", "CAST(strftime('%m', s) AS INTEGER)"},
    {"UNIX_TIMESTAMP(s)", "CAST(strftime('%s', s) AS INTEGER)"},
    {"FROM_UNIXTIME(UNIX_TIMESTAMP(s) + 86400)", "datetime(s, '+1 day')"},
    {"DATE_FORMAT(TIMESTAMPADD(DAY, 40, TO_TIMESTAMP(s)), 'yyyy-MM-dd HH:mm:ss')", "datetime(s, '+40 days')"},
    {"DATE_FORMAT(TIMESTAMPADD(MINUTE, -90, TO_TIMESTAMP(s)), 'yyyy-MM-dd HH:mm:ss')", "datetime(s, '-90 minutes')"},
    {"DATE_FORMAT(FLOOR(TO_TIMESTAMP(s) TO MONTH), 'yyyy-MM-dd HH:mm:ss')", "strftime('%Y-%m-01 00:00:00', s)"},
    {"DATE_FORMAT(FLOOR(TO_TIMESTAMP(s) TO DAY), 'yyyy-MM-dd HH:mm:ss')", "datetime(s, 'start of day')"},
    {"TIMESTAMPDIFF(DAY, TO_TIMESTAMP('2000-01-01 00:00:00'), TO_TIMESTAMP(s))", "CAST(julianday(s) - julianday('2000-01-01') AS INTEGER)"},
    {"TIMESTAMPDIFF(SECOND, TO_TIMESTAMP(s), TO_TIMESTAMP('2030-01-01 00:00:00'))", "CAST(strftime('%s', '2030-01-01') AS INTEGER) - CAST(strftime('%s', s) AS INTEGER)"},
    {"JSON_VALUE(j, '$.a')", "json_extract(j, '$.a')"},
    {"JSON_VALUE(j, '$.b.c')", "json_extract(j, '$.b.c')"},
    {"JSON_VALUE(j, '$[1]')", "CASE WHEN json_type(j) = 'array' THEN json_extract(j, '$[1]') END"},
    {"CASE WHEN JSON_EXISTS(j, '$.b') THEN 1 ELSE 0 END", "CASE WHEN json_type(j, '$.b') IS NOT NULL THEN 1 ELSE 0 END"},
    {"JSON_QUERY(j, '$.b')", "CASE WHEN json_type(j, '$.b') = 'object' THEN json_extract(j, '$.b') END"},
};

static char *flink_rows_over(const char *expr, const char *values, const char *cols) {
    char sql[2048];
    snprintf(sql, sizeof sql, "SELECT %s FROM (VALUES %s) AS t(%s)", expr, values, cols);
    weir_arena arena;
    weir_arena_init(&arena, 0);
    weir_sql_stmt *st = NULL;
    weir_err err;
    weir_buf o;
    weir_buf_init(&o);
    weir_sql_catalog cat;
    weir_sql_catalog_init(&cat, &arena);
    weir_sql_bstmt *bs = NULL;
    weir_sql_batch res;
    if (weir_sql_parse_statement(&arena, sql, strlen(sql), &st, &err) != WEIR_OK ||
        weir_sql_bind_stmt(&cat, st, &bs, &err) != WEIR_OK || run_query(bs->query, &res, 3, &err) != WEIR_OK) {
        outs(&o, "error: ");
        outs(&o, err.msg);
    } else {
        for (int r = 0; r < res.nrows; r++) {
            weir_sql_batch_format(&o, &res, 0, r);
            outs(&o, "\n");
        }
        weir_sql_batch_free(&res);
    }
    weir_buf_append(&o, "", 1);
    weir_arena_free(&arena);
    return (char *)o.data;
}

static char *flink_rows(const char *expr) { return flink_rows_over(expr, xvalues, "a, b, s"); }

static char *sqlite_rows_over(sqlite3 *db, const char *expr, const char *values, const char *cols) {
    char sql[2048];
    snprintf(sql, sizeof sql, "WITH t(%s) AS (VALUES %s) SELECT %s FROM t", cols, values, expr);
    weir_buf o;
    weir_buf_init(&o);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        outs(&o, "sqlite error: ");
        outs(&o, sqlite3_errmsg(db));
    } else {
        while (sqlite3_step(st) == SQLITE_ROW) {
            const unsigned char *t = sqlite3_column_text(st, 0);
            outs(&o, t ? (const char *)t : "NULL");
            outs(&o, "\n");
        }
    }
    sqlite3_finalize(st);
    weir_buf_append(&o, "", 1);
    return (char *)o.data;
}

static char *sqlite_rows(sqlite3 *db, const char *expr) { return sqlite_rows_over(db, expr, xvalues, "a, b, s"); }

TEST(sqlite_cross_check) {
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(":memory:", &db) == SQLITE_OK);
    for (size_t k = 0; k < sizeof xpairs / sizeof xpairs[0]; k++) {
        char *f = flink_rows(xpairs[k][0]), *s = sqlite_rows(db, xpairs[k][1]);
        if (strcmp(f, s) != 0) {
            fprintf(stderr, "  %s\n  weir:\n%s  sqlite (%s):\n%s", xpairs[k][0], f, xpairs[k][1], s);
            weir_test_failed_checks++;
        }
        free(f);
        free(s);
    }
    for (size_t k = 0; k < sizeof xpairs2 / sizeof xpairs2[0]; k++) {
        char *f = flink_rows_over(xpairs2[k][0], xvalues2, "s, j"), *s = sqlite_rows_over(db, xpairs2[k][1], xvalues2, "s, j");
        if (strcmp(f, s) != 0) {
            fprintf(stderr, "  %s\n  weir:\n%s  sqlite (%s):\n%s", xpairs2[k][0], f, xpairs2[k][1], s);
            weir_test_failed_checks++;
        }
        free(f);
        free(s);
    }
    sqlite3_close(db);
}

/* ---- a million rows, batch by batch -------------------------------------------------- */

TEST(million_rows_batchwise) {
    const char *sql = "SELECT a * 2 + 1, b / 2, UPPER(s) FROM (VALUES (1, 1.0E0, 'x')) AS t(a, b, s) "
                      "WHERE a % 3 = 0 AND b > 10";
    weir_arena arena;
    weir_arena_init(&arena, 0);
    weir_sql_stmt *st = NULL;
    weir_err err;
    weir_sql_catalog cat;
    weir_sql_catalog_init(&cat, &arena);
    weir_sql_bstmt *bs = NULL;
    CHECK(weir_sql_parse_statement(&arena, sql, strlen(sql), &st, &err) == WEIR_OK);
    CHECK(weir_sql_bind_stmt(&cat, st, &bs, &err) == WEIR_OK);
    const weir_sql_bquery *q = bs->query;
    const weir_sql_brel *from = q->from;
    weir_sql_program *p = NULL;
    CHECK(weir_sql_program_compile(q->where, q->items, q->ncols, from->cols, from->ncols, &p, &err) == WEIR_OK);
    weir_sql_batch in, out;
    CHECK(weir_sql_batch_init(&in, from->cols, from->ncols, 1024, &err) == WEIR_OK);
    CHECK(weir_sql_batch_init(&out, weir_sql_program_columns(p), q->ncols, 1024, &err) == WEIR_OK);
    const int total = 1000000, bs_rows = 1024;
    long rows_out = 0, batches = 0;
    int64_t sum_a = 0, want_sum_a = 0;
    double sum_b = 0, want_sum_b = 0;
    long want_rows = 0;
    for (int base = 0; base < total; base += bs_rows) {
        weir_sql_batch_clear(&in);
        int n = total - base < bs_rows ? total - base : bs_rows;
        for (int k = 0; k < n; k++) {
            int i = base + k;
            int r = weir_sql_batch_add_row(&in);
            weir_sql_batch_set_i64(&in, 0, r, i);
            if (i % 7 != 0) weir_sql_batch_set_f64(&in, 1, r, i * 0.5);
            weir_sql_batch_set_str(&in, 2, r, "ab", 2);
            if (i % 3 == 0 && i % 7 != 0 && i * 0.5 > 10) {
                want_rows++;
                want_sum_a += (int64_t)i * 2 + 1;
                want_sum_b += i * 0.25;
            }
        }
        weir_sql_batch_clear(&out);
        CHECK(weir_sql_program_run(p, &in, &out, &err) == WEIR_OK);
        batches++;
        rows_out += out.nrows;
        for (int r = 0; r < out.nrows; r++) {
            sum_a += weir_sql_batch_get_i64(&out, 0, r);
            sum_b += weir_sql_batch_get_f64(&out, 1, r);
        }
        if (out.nrows > 0) {
            weir_str s = weir_sql_batch_get_str(&out, 2, 0);
            CHECK(s.len == 2 && memcmp(s.ptr, "AB", 2) == 0);
        }
    }
    CHECK_EQ_INT(rows_out, want_rows);
    CHECK(sum_a == want_sum_a);
    CHECK(sum_b == want_sum_b);
    /* each instruction ran once per batch: 977 batches, not a million rows */
    CHECK_EQ_INT(batches, (total + bs_rows - 1) / bs_rows);
    CHECK_EQ_INT(weir_sql_program_dispatches(p), (long)weir_sql_program_ninstrs(p) * batches);
    CHECK(weir_sql_program_ninstrs(p) < 40);
    weir_sql_batch_free(&in);
    weir_sql_batch_free(&out);
    weir_sql_program_free(p);
    weir_arena_free(&arena);
}

/* Runtime errors name the function, the row's value and line:column; TRY_CAST gives NULL. */
TEST(runtime_errors) {
    const char *cases[][2] = {
        {"SELECT CAST(s AS INT) FROM (VALUES ('12'), ('x1')) AS t(s)", "line 1, column 8: CAST to INT failed for 'x1': not an integer"},
        {"SELECT a / b FROM (VALUES (1, 0)) AS t(a, b)", "line 1, column 8: / failed for 1: division by zero"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        weir_buf o;
        weir_buf_init(&o);
        CHECK(render(cases[k][0], strlen(cases[k][0]), &o) == WEIR_ERROR);
        if (o.len && o.data[o.len - 1] == '\n') o.len--;
        weir_buf_append(&o, "", 1);
        const char *msg = strstr((const char *)o.data, "error: ");
        CHECK(msg != NULL);
        if (msg) CHECK_EQ_STR(msg + 7, cases[k][1]);
        weir_buf_free(&o);
    }
}

/* Seeded random edits of every golden script must evaluate or fail with a message that
 * names where (line:column) or what (a column), never crash (this binary runs under ASan). */
static bool clean_result(const char *src, size_t len, const char *file) {
    weir_buf o;
    weir_buf_init(&o);
    bool clean = true;
    if (render(src, len, &o) != WEIR_OK) {
        weir_buf_append(&o, "", 1);
        const char *msg = strstr((const char *)o.data, "error: ");
        clean = msg && (strncmp(msg + 7, "line ", 5) == 0 || strncmp(msg + 7, "column '", 8) == 0);
        if (!clean) fprintf(stderr, "  unclean error for mutation of %s: %s\n", file, msg ? msg : "(none)");
    }
    weir_buf_free(&o);
    return clean;
}

TEST(mutations) {
    const golden_fuzz_opts o = {.min_len = 2, .mutations = 150, .edits = 2, .alphabet = "()[],;.'-/*+<>=|% 019eE_aZ",
                                .seed = 0x9e3779b97f4a7c15ull};
    CHECK(golden_fuzz(GOLDEN_DIR, &o, clean_result) >= 1000);
}

/* The compiled form: a flat list of instructions over registers, lazy branches masked. */
TEST(program_listing) {
    const char *sql = "SELECT CASE WHEN b <> 0 THEN a / b END FROM (VALUES (1, 2)) AS t(a, b) WHERE a > 0";
    weir_arena arena;
    weir_arena_init(&arena, 0);
    weir_sql_stmt *st = NULL;
    weir_err err;
    weir_sql_catalog cat;
    weir_sql_catalog_init(&cat, &arena);
    weir_sql_bstmt *bs = NULL;
    CHECK(weir_sql_parse_statement(&arena, sql, strlen(sql), &st, &err) == WEIR_OK);
    CHECK(weir_sql_bind_stmt(&cat, st, &bs, &err) == WEIR_OK);
    weir_sql_program *p = NULL;
    CHECK(weir_sql_program_compile(bs->query->where, bs->query->items, 1, bs->query->from->cols, 2, &p, &err) == WEIR_OK);
    weir_buf o;
    weir_buf_init(&o);
    weir_sql_program_print(&o, p);
    weir_buf_append(&o, "", 1);
    const char *text = (const char *)o.data;
    CHECK(strstr(text, "load #0") != NULL);
    CHECK(strstr(text, "arith_i") != NULL);
    CHECK(strstr(text, "select") != NULL);
    CHECK(strstr(text, " where r") != NULL); /* the division runs only where b <> 0 and a > 0 */
    if (getenv("WEIR_SHOW_PROGRAM") || weir_sql_program_ninstrs(p) != 13) fprintf(stderr, "%s", text);
    CHECK_EQ_INT(weir_sql_program_ninstrs(p), 13);
    weir_buf_free(&o);
    weir_sql_program_free(p);
    weir_arena_free(&arena);
}


/* Batches hold DECIMAL(p > 18) as 16-byte values and ARRAY/MAP/ROW as encoded byte strings;
 * they print as Flink does and survive append_rows. */
TEST(batch_wide_and_nested) {
    weir_sql_ltype i = weir_sql_ltype_make(WEIR_SQL_TYPE_INT, 0, 0, false);
    weir_sql_ltype str = weir_sql_ltype_make(WEIR_SQL_TYPE_STRING, WEIR_SQL_MAX_LENGTH, 0, false);
    weir_sql_ltype arr = weir_sql_ltype_make(WEIR_SQL_TYPE_ARRAY, 0, 0, false);
    arr.elem = &i;
    weir_sql_ltype map = weir_sql_ltype_make(WEIR_SQL_TYPE_MAP, 0, 0, false);
    map.elem = &str;
    map.value = &i;
    weir_sql_lfield rf[2] = {{"a", &i}, {"b", &str}};
    weir_sql_ltype row = weir_sql_ltype_make(WEIR_SQL_TYPE_ROW, 0, 0, false);
    row.fields = rf;
    row.nfields = 2;
    weir_sql_ltype dec = weir_sql_ltype_make(WEIR_SQL_TYPE_DECIMAL, 30, 2, false);
    weir_sql_ltype arr_arr = weir_sql_ltype_make(WEIR_SQL_TYPE_ARRAY, 0, 0, false);
    arr_arr.elem = &arr;
    weir_sql_lfield cols[5] = {{"a", &arr}, {"m", &map}, {"r", &row}, {"d", &dec}, {"aa", &arr_arr}};
    weir_sql_batch b, c;
    weir_err err;
    CHECK(weir_sql_batch_init(&b, cols, 5, 1, &err) == WEIR_OK);
    int r = weir_sql_batch_add_row(&b);
    weir_buf e;
    weir_buf_init(&e);
    weir_sql_nested_put_count(&e, 3);
    weir_sql_nested_put_i64(&e, 1);
    weir_sql_nested_put_null(&e);
    weir_sql_nested_put_i64(&e, -3);
    weir_sql_batch_set_str(&b, 0, r, (const char *)e.data, e.len);
    weir_buf inner;
    weir_buf_init(&inner);
    weir_sql_nested_put_count(&inner, 2);
    weir_sql_nested_put_bytes(&inner, e.data, (uint32_t)e.len);
    weir_sql_nested_put_null(&inner);
    weir_sql_batch_set_str(&b, 4, r, (const char *)inner.data, inner.len);
    e.len = 0;
    weir_sql_nested_put_count(&e, 2);
    weir_sql_nested_put_bytes(&e, "k", 1);
    weir_sql_nested_put_i64(&e, 7);
    weir_sql_nested_put_bytes(&e, "z", 1);
    weir_sql_nested_put_null(&e);
    weir_sql_batch_set_str(&b, 1, r, (const char *)e.data, e.len);
    e.len = 0;
    weir_sql_nested_put_i64(&e, 1);
    weir_sql_nested_put_bytes(&e, "foo", 3);
    weir_sql_batch_set_str(&b, 2, r, (const char *)e.data, e.len);
    __int128 big = (__int128)1234567890123456789LL * 1000 + 12; /* 12345678901234567890.12 at scale 2 */
    weir_sql_batch_set_i128(&b, 3, r, -big);
    r = weir_sql_batch_add_row(&b); /* all NULL, and the batch grew past its capacity */
    CHECK(weir_sql_batch_init(&c, cols, 5, 1, &err) == WEIR_OK);
    weir_sql_batch_append_rows(&c, &b, 0, 2);
    const char *want[5] = {"[1, NULL, -3]", "{k=7, z=NULL}", "(1, foo)", "-12345678901234567890.12", "[[1, NULL, -3], NULL]"};
    for (int k = 0; k < 5; k++) {
        weir_buf o;
        weir_buf_init(&o);
        weir_sql_batch_format(&o, &c, k, 0);
        weir_buf_append(&o, "", 1);
        CHECK_EQ_STR((const char *)o.data, want[k]);
        o.len = 0;
        weir_sql_batch_format(&o, &c, k, 1);
        weir_buf_append(&o, "", 1);
        CHECK_EQ_STR((const char *)o.data, "NULL");
        weir_buf_free(&o);
    }
    CHECK(weir_sql_batch_get_i128(&c, 3, 0) == -big);
    weir_buf_free(&e);
    weir_buf_free(&inner);
    weir_sql_batch_free(&b);
    weir_sql_batch_free(&c);
}

/* TIMESTAMP_LTZ is an instant shown in the local zone (the process's TZ); conversions to and
 * from wall-clock types go through it, also across a daylight-saving change. */
TEST(local_time_zone) {
    const char *cases[][3] = {
        {"Asia/Kolkata", "SELECT TO_TIMESTAMP_LTZ(0, 0), CAST(TO_TIMESTAMP_LTZ(0, 0) AS TIMESTAMP(3)), UNIX_TIMESTAMP('1970-01-01 05:30:00'), "
                         "FROM_UNIXTIME(0), CAST(CAST(TIMESTAMP '1970-01-01 05:30:00' AS TIMESTAMP_LTZ(3)) AS STRING), "
                         "EXTRACT(HOUR FROM TO_TIMESTAMP_LTZ(0, 0)), DATE_FORMAT(TO_TIMESTAMP_LTZ(0, 0), 'HH:mm')",
         "1970-01-01 05:30:00.000|1970-01-01 05:30:00.000|0|1970-01-01 05:30:00|1970-01-01 05:30:00.000|5|05:30|"},
        {"America/New_York", "SELECT TO_TIMESTAMP_LTZ(1710054000, 0), TO_TIMESTAMP_LTZ(1710050400, 0), "
                             "UNIX_TIMESTAMP('2024-03-10 03:30:00') - UNIX_TIMESTAMP('2024-03-10 01:30:00'), "
                             "CAST(CAST(TIMESTAMP '2024-07-01 12:00:00' AS TIMESTAMP_LTZ(0)) AS BIGINT)",
         "2024-03-10 03:00:00.000|2024-03-10 01:00:00.000|3600|1719849600|"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        setenv("TZ", cases[k][0], 1);
        tzset();
        weir_arena arena;
        weir_arena_init(&arena, 0);
        weir_sql_stmt *st = NULL;
        weir_err err;
        weir_sql_catalog cat;
        weir_sql_catalog_init(&cat, &arena);
        weir_sql_bstmt *bs = NULL;
        weir_sql_batch res;
        weir_buf o;
        weir_buf_init(&o);
        CHECK(weir_sql_parse_statement(&arena, cases[k][1], strlen(cases[k][1]), &st, &err) == WEIR_OK);
        CHECK(weir_sql_bind_stmt(&cat, st, &bs, &err) == WEIR_OK);
        if (run_query(bs->query, &res, 2, &err) == WEIR_OK) {
            for (int c = 0; c < res.ncols; c++) {
                weir_sql_batch_format(&o, &res, c, 0);
                outs(&o, "|");
            }
            weir_sql_batch_free(&res);
        } else {
            outs(&o, err.msg);
        }
        weir_buf_append(&o, "", 1);
        CHECK_EQ_STR((const char *)o.data, cases[k][2]);
        weir_buf_free(&o);
        weir_arena_free(&arena);
    }
    setenv("TZ", "UTC", 1);
    tzset();
}

TEST_MAIN(T(batch_wide_and_nested), T(local_time_zone), T(golden), T(sqlite_cross_check), T(million_rows_batchwise), T(runtime_errors), T(mutations), T(program_listing))
