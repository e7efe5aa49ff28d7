/* test_sql_rank.c — Top-N, deduplication, window Top-N / deduplication, OVER aggregation and
 * the changelog normalisation of upsert sources (plan_rank.c, op_rank.c, op_over.c) over an
 * in-test connector: "ranktest", a source whose rows (id, key, value, event time, row kind,
 * split) the test sets, read round-robin over a reader's splits (an upsert source when the
 * table says 'changelog' = 'upsert'), and a sink that collects rows with their row kinds.
 * Out-of-order input over 4 splits at parallelism 2 is compared with SQLite's window
 * functions after applying the changelog; a snapshot taken mid-stream and restored into a
 * new operator instance continues exactly as an uninterrupted run. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "sql/engine_internal.h"
#include "sql/sql.h"
#include "sqltest.h"
#include "test.h"

/* ---- the rows the source gives --------------------------------------------------------- */

typedef struct in_row {
    int split;
    int64_t id;
    char k[8];
    int64_t v;
    int64_t ts_ms;
    int kind;
} in_row;

#define MAX_ROWS 20000
static in_row in_rows[MAX_ROWS];
static int nin;

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static char *out_rows[MAX_ROWS * 4];
static int out_kinds[MAX_ROWS * 4];
static int nout;

static void reset(void) {
    pthread_mutex_lock(&out_lock);
    for (int k = 0; k < nout; k++) free(out_rows[k]);
    nout = 0;
    pthread_mutex_unlock(&out_lock);
    nin = 0;
}

/* ---- the ranktest source ------------------------------------------------------------------ */

typedef struct src {
    const weir_sql_table *table;
    int nsplits;
} src;

typedef struct rdr {
    src *s;
    int splits[16], nsplits, pos[16], turn;
} rdr;

static int src_open(const weir_sql_conn_ctx *ctx, void **source, int *nsplits, weir_err *err) {
    (void)err;
    src *s = calloc(1, sizeof *s);
    s->table = ctx->table;
    s->nsplits = (int)sqltest_opt_int(ctx->table, "splits", 4);
    *source = s;
    *nsplits = s->nsplits;
    return WEIR_OK;
}

static int src_open_reader(void *source, int worker, const int *splits, int n, void **reader, weir_err *err) {
    (void)worker, (void)err;
    rdr *r = calloc(1, sizeof *r);
    r->s = source;
    r->nsplits = n;
    memcpy(r->splits, splits, sizeof(int) * (size_t)n);
    *reader = r;
    return WEIR_OK;
}

static int src_read(void *reader, weir_sql_batch *out, int max, int timeout_ms, weir_err *err) {
    (void)timeout_ms, (void)err;
    rdr *r = reader;
    const weir_sql_table *t = r->s->table;
    int cid = sqltest_col_of(t, "id"), ck = sqltest_col_of(t, "k"), cv = sqltest_col_of(t, "v"), cts = sqltest_col_of(t, "ts");
    int n = 0, empty = 0, limit = max < 16 ? max : 16;
    while (n < limit && empty < r->nsplits) {
        int k = r->turn++ % r->nsplits;
        while (r->pos[k] < nin && in_rows[r->pos[k]].split != r->splits[k]) r->pos[k]++;
        if (r->pos[k] >= nin) {
            empty++;
            continue;
        }
        empty = 0;
        const in_row *w = &in_rows[r->pos[k]++];
        int row = weir_sql_batch_add_row(out);
        if (cid >= 0) weir_sql_batch_set_i64(out, cid, row, w->id);
        if (ck >= 0) weir_sql_batch_set_str(out, ck, row, w->k, strlen(w->k));
        if (cv >= 0) weir_sql_batch_set_i64(out, cv, row, w->v);
        if (cts >= 0) weir_sql_batch_set_i64(out, cts, row, w->ts_ms * 1000);
        out->row_kinds[row] = (uint8_t)w->kind;
        n++;
    }
    return n > 0 ? n : WEIR_SQL_END;
}

static void src_close_reader(void *reader) { free(reader); }
static void src_close(void *source) { free(source); }

/* ---- the sink: each row as "values|..." with its kind, integers and timestamps as numbers */

static int snk_open_writer(void *sink, int worker, void **writer, weir_err *err) {
    (void)sink, (void)worker, (void)err;
    *writer = calloc(1, 1);
    return WEIR_OK;
}

static void collect(const weir_sql_batch *b) {
    for (int r = 0; r < b->nrows; r++) {
        char *s = sqltest_format_row(b, r);
        pthread_mutex_lock(&out_lock);
        if (nout < MAX_ROWS * 4) {
            out_kinds[nout] = b->row_kinds[r];
            out_rows[nout++] = s;
        } else {
            free(s);
        }
        pthread_mutex_unlock(&out_lock);
    }
}

static int snk_write(void *writer, const weir_sql_batch *b, weir_err *err) {
    (void)writer, (void)err;
    collect(b);
    return WEIR_OK;
}

static void snk_close_writer(void *writer) { free(writer); }
static weir_sql_changes rank_changelog(const weir_sql_table *t, bool as_source) {
    const char *m = weir_sql_table_option(t, "changelog");
    if (!as_source) return WEIR_SQL_CHANGES_ALL;
    return m && strcmp(m, "upsert") == 0 ? WEIR_SQL_CHANGES_UPSERT : WEIR_SQL_CHANGES_INSERT_ONLY;
}

static const weir_sql_source_ops src_ops = {.open = src_open, .open_reader = src_open_reader, .read = src_read,
                                            .close_reader = src_close_reader, .close = src_close};
static const weir_sql_sink_ops snk_ops = {.open = sqltest_sink_open, .open_writer = snk_open_writer, .write = snk_write,
                                          .flush = sqltest_sink_flush, .close_writer = snk_close_writer, .close = sqltest_sink_close};
static const weir_sql_connector ranktest = {
    .name = "ranktest", .source = &src_ops, .sink = &snk_ops, .changelog = rank_changelog};

/* ---- helpers ---------------------------------------------------------------------------------- */

/* The final state after applying the collected changelog (+I/+U add a row, -U/-D take an
 * equal row away), sorted, one row a line. */
static char *final_state(void) {
    pthread_mutex_lock(&out_lock);
    char **live = calloc((size_t)nout + 1, sizeof *live);
    int n = 0;
    for (int k = 0; k < nout; k++) {
        if (out_kinds[k] == WEIR_SQL_ROW_INSERT || out_kinds[k] == WEIR_SQL_ROW_UPDATE_AFTER) {
            live[n++] = out_rows[k];
            continue;
        }
        int j = n - 1;
        while (j >= 0 && strcmp(live[j], out_rows[k]) != 0) j--;
        if (j < 0) {
            fprintf(stderr, "    retraction of a row never added: %s\n", out_rows[k]);
            CHECK(false);
            continue;
        }
        live[j] = live[--n];
    }
    char *text = sqltest_sorted_lines(live, n);
    free(live);
    pthread_mutex_unlock(&out_lock);
    return text;
}

static bool any_kind(int kind) {
    bool found = false;
    pthread_mutex_lock(&out_lock);
    for (int k = 0; k < nout && !found; k++) found = out_kinds[k] == kind;
    pthread_mutex_unlock(&out_lock);
    return found;
}

static const char *SOURCE_DDL =
    "CREATE TABLE t (id BIGINT, k STRING, v BIGINT, ts TIMESTAMP(3), "
    "WATERMARK FOR ts AS ts - INTERVAL '300' SECOND) WITH ('connector' = 'ranktest', 'splits' = '4');";

/* n rows over 4 splits and 7 keys: v a permutation of 0..n-1 (no ties in ORDER BY v), event
 * times unique and out of order by up to 200 s (within the watermark's 300 s). */
static void make_input(int n) {
    nin = n;
    for (int i = 0; i < n; i++) {
        in_row *r = &in_rows[i];
        r->split = i % 4;
        r->id = i;
        snprintf(r->k, sizeof r->k, "k%d", (i * 7919) % 7);
        r->v = ((int64_t)i * 7907) % n;
        r->ts_ms = (int64_t)(i + (i * 37) % 50) * 4096 + i;
        r->kind = WEIR_SQL_ROW_INSERT;
    }
}

/* The oracle's rows for a query over t(id, k, v, ts INTEGER ms) in SQLite, sorted. */
static char *oracle(const char *sql) {
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(":memory:", &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "CREATE TABLE t (id INTEGER, k TEXT, v INTEGER, ts INTEGER)", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_stmt *ins = NULL;
    CHECK(sqlite3_prepare_v2(db, "INSERT INTO t VALUES (?, ?, ?, ?)", -1, &ins, NULL) == SQLITE_OK);
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    for (int i = 0; i < nin; i++) {
        sqlite3_bind_int64(ins, 1, in_rows[i].id);
        sqlite3_bind_text(ins, 2, in_rows[i].k, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 3, in_rows[i].v);
        sqlite3_bind_int64(ins, 4, in_rows[i].ts_ms);
        sqlite3_step(ins);
        sqlite3_reset(ins);
    }
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_finalize(ins);
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &q, NULL);
    if (rc != SQLITE_OK) fprintf(stderr, "    (sqlite: %s)\n", sqlite3_errmsg(db));
    CHECK(rc == SQLITE_OK);
    char **rows = calloc(MAX_ROWS * 2, sizeof *rows);
    int n = 0;
    while (q && sqlite3_step(q) == SQLITE_ROW && n < MAX_ROWS * 2) {
        weir_buf line;
        weir_buf_init(&line);
        for (int c = 0; c < sqlite3_column_count(q); c++) {
            if (c) weir_buf_append(&line, "|", 1);
            const char *v = (const char *)sqlite3_column_text(q, c);
            if (!v) v = "NULL";
            weir_buf_append(&line, v, strlen(v));
        }
        weir_buf_append(&line, "", 1);
        rows[n++] = (char *)line.data;
    }
    sqlite3_finalize(q);
    sqlite3_close(db);
    char *text = sqltest_sorted_lines(rows, n);
    for (int k = 0; k < n; k++) free(rows[k]);
    free(rows);
    return text;
}

/* Runs an INSERT INTO out (a ranktest sink with the given columns) of query at parallelism
 * 2 and compares the final state with SQLite's answer to oracle_sql. */
static void check(const char *out_cols, const char *query, const char *oracle_sql) {
    reset();
    make_input(2003);
    weir_sql_session *s = sqltest_session(2, NULL);
    char ddl[512], ins[2048];
    snprintf(ddl, sizeof ddl, "CREATE TABLE out (%s) WITH ('connector' = 'ranktest');", out_cols);
    snprintf(ins, sizeof ins, "SET 'table.dml-sync' = 'true'; INSERT INTO out %s", query);
    CHECK(sqltest_exec_wait(s, SOURCE_DDL) == WEIR_OK);
    CHECK(sqltest_exec_wait(s, ddl) == WEIR_OK);
    CHECK(sqltest_exec_wait(s, ins) == WEIR_OK);
    weir_sql_job_stats st;
    weir_sql_session_stats(s, &st);
    CHECK(st.late_rows == 0);
    weir_sql_session_free(s);
    char *got = final_state(), *want = oracle(oracle_sql);
    CHECK(strlen(want) > 20);
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "    query: %s\n    got (%zu bytes):\n%.600s\n    want (%zu bytes):\n%.600s\n", query, strlen(got), got,
                strlen(want), want);
        CHECK(false);
    }
    free(got);
    free(want);
}

/* ---- against the oracle ------------------------------------------------------------------------ */

TEST(topn_with_row_number_matches_oracle) {
    check("k STRING, id BIGINT, v BIGINT, rn BIGINT",
          "SELECT k, id, v, rn FROM (SELECT k, id, v, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v DESC) AS rn FROM t) "
          "WHERE rn <= 3",
          "SELECT k, id, v, rn FROM (SELECT k, id, v, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v DESC) AS rn FROM t) "
          "WHERE rn <= 3");
    CHECK(any_kind(WEIR_SQL_ROW_UPDATE_BEFORE));
}

TEST(topn_without_row_number_matches_oracle) {
    check("k STRING, id BIGINT, v BIGINT",
          "SELECT k, id, v FROM (SELECT k, id, v, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v) AS rn FROM t) "
          "WHERE rn BETWEEN 2 AND 4",
          "SELECT k, id, v FROM (SELECT k, id, v, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v) AS rn FROM t) "
          "WHERE rn BETWEEN 2 AND 4");
    CHECK(any_kind(WEIR_SQL_ROW_DELETE));
}

TEST(dedup_first_and_last_match_oracle) {
    check("k STRING, id BIGINT",
          "SELECT k, id FROM (SELECT k, id, ROW_NUMBER() OVER (PARTITION BY k ORDER BY ts) AS rn FROM t) WHERE rn = 1",
          "SELECT k, id FROM (SELECT k, id, ROW_NUMBER() OVER (PARTITION BY k ORDER BY ts) AS rn FROM t) WHERE rn = 1");
    check("k STRING, id BIGINT",
          "SELECT k, id FROM (SELECT k, id, ROW_NUMBER() OVER (PARTITION BY k ORDER BY ts DESC) AS rn FROM t) WHERE rn = 1",
          "SELECT k, id FROM (SELECT k, id, ROW_NUMBER() OVER (PARTITION BY k ORDER BY ts DESC) AS rn FROM t) WHERE rn = 1");
}

TEST(window_topn_and_dedup_match_oracle) {
    check("ws TIMESTAMP(3), k STRING, id BIGINT, v BIGINT, rn BIGINT",
          "SELECT window_start, k, id, v, rn FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end, k "
          "ORDER BY v DESC) AS rn FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' MINUTE))) WHERE rn <= 2",
          "SELECT ws * 1000, k, id, v, rn FROM (SELECT ts - ts % 60000 AS ws, k, id, v, ROW_NUMBER() OVER (PARTITION BY "
          "ts - ts % 60000, k ORDER BY v DESC) AS rn FROM t) WHERE rn <= 2");
    CHECK(!any_kind(WEIR_SQL_ROW_UPDATE_BEFORE) && !any_kind(WEIR_SQL_ROW_DELETE));
    check("ws TIMESTAMP(3), k STRING, id BIGINT",
          "SELECT window_start, k, id FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end, k "
          "ORDER BY ts DESC) AS rn FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' MINUTE))) WHERE rn = 1",
          "SELECT ws * 1000, k, id FROM (SELECT ts - ts % 60000 AS ws, k, id, ROW_NUMBER() OVER (PARTITION BY "
          "ts - ts % 60000, k ORDER BY ts DESC) AS rn FROM t) WHERE rn = 1");
    /* HOP: each row in two windows */
    check("ws TIMESTAMP(3), k STRING, id BIGINT",
          "SELECT window_start, k, id FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end, k "
          "ORDER BY v) AS rn FROM TABLE(HOP(TABLE t, DESCRIPTOR(ts), INTERVAL '30' SECOND, INTERVAL '1' MINUTE))) WHERE rn <= 1",
          "SELECT ws * 1000, k, id FROM (SELECT ws, k, id, ROW_NUMBER() OVER (PARTITION BY ws, k ORDER BY v) AS rn FROM "
          "(SELECT ts - ts % 30000 AS ws, * FROM t UNION ALL SELECT ts - ts % 30000 - 30000, * FROM t)) WHERE rn <= 1");
}

TEST(window_topn_over_window_aggregation_matches_oracle) {
    check("ws TIMESTAMP(3), k STRING, total BIGINT",
          "SELECT window_start, k, total FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY "
          "total DESC, k) AS rn FROM (SELECT window_start, window_end, k, SUM(v) AS total FROM TABLE(TUMBLE(TABLE t, "
          "DESCRIPTOR(ts), INTERVAL '1' MINUTE)) GROUP BY window_start, window_end, k)) WHERE rn <= 2",
          "SELECT ws * 1000, k, total FROM (SELECT ws, k, total, ROW_NUMBER() OVER (PARTITION BY ws ORDER BY total DESC, k) "
          "AS rn FROM (SELECT ts - ts % 60000 AS ws, k, SUM(v) AS total FROM t GROUP BY 1, 2)) WHERE rn <= 2");
}

TEST(over_rows_and_range_match_oracle) {
    check("id BIGINT, s BIGINT, n BIGINT, lo BIGINT, hi BIGINT",
          "SELECT id, SUM(v) OVER (PARTITION BY k ORDER BY ts ROWS BETWEEN 3 PRECEDING AND CURRENT ROW), "
          "COUNT(*) OVER (PARTITION BY k ORDER BY ts ROWS BETWEEN 3 PRECEDING AND CURRENT ROW), "
          "MIN(v) OVER (PARTITION BY k ORDER BY ts ROWS BETWEEN 3 PRECEDING AND CURRENT ROW), "
          "MAX(v) OVER (PARTITION BY k ORDER BY ts ROWS BETWEEN 3 PRECEDING AND CURRENT ROW) FROM t",
          "SELECT id, SUM(v) OVER w, COUNT(*) OVER w, MIN(v) OVER w, MAX(v) OVER w FROM t "
          "WINDOW w AS (PARTITION BY k ORDER BY ts ROWS BETWEEN 3 PRECEDING AND CURRENT ROW)");
}

TEST(over_range_and_unbounded_match_oracle) {
    check("id BIGINT, s BIGINT, n BIGINT, a BIGINT",
          "SELECT id, SUM(v) OVER (PARTITION BY k ORDER BY ts RANGE BETWEEN INTERVAL '20' SECOND PRECEDING AND CURRENT ROW), "
          "COUNT(v) OVER (PARTITION BY k ORDER BY ts RANGE BETWEEN INTERVAL '20' SECOND PRECEDING AND CURRENT ROW), "
          "MAX(v) OVER (PARTITION BY k ORDER BY ts RANGE BETWEEN INTERVAL '20' SECOND PRECEDING AND CURRENT ROW) FROM t",
          "SELECT id, SUM(v) OVER w, COUNT(v) OVER w, MAX(v) OVER w FROM t "
          "WINDOW w AS (PARTITION BY k ORDER BY ts RANGE BETWEEN 20000 PRECEDING AND CURRENT ROW)");
    check("id BIGINT, s BIGINT, f BIGINT",
          "SELECT id, SUM(v) OVER (PARTITION BY k ORDER BY ts), FIRST_VALUE(id) OVER (PARTITION BY k ORDER BY ts) FROM t",
          "SELECT id, SUM(v) OVER w, FIRST_VALUE(id) OVER w FROM t WINDOW w AS (PARTITION BY k ORDER BY ts)");
}

/* ---- changelog normalisation ------------------------------------------------------------------- */

static void add(int split, int64_t id, int64_t v, int kind) {
    in_row *r = &in_rows[nin++];
    memset(r, 0, sizeof *r);
    r->split = split;
    r->id = id;
    r->v = v;
    r->kind = kind;
}

TEST(upsert_source_is_normalised) {
    reset();
    add(0, 1, 10, WEIR_SQL_ROW_INSERT);
    add(0, 2, 20, WEIR_SQL_ROW_UPDATE_AFTER);   /* an upsert of a new key: +I */
    add(0, 1, 11, WEIR_SQL_ROW_UPDATE_AFTER);   /* -U old, +U new */
    add(0, 1, 11, WEIR_SQL_ROW_UPDATE_AFTER);   /* the same row again: nothing */
    add(0, 3, 0, WEIR_SQL_ROW_DELETE);          /* a delete of an unknown key: nothing */
    add(0, 2, 0, WEIR_SQL_ROW_DELETE);          /* a tombstone with only the key: -D of the full row */
    weir_sql_session *s = sqltest_session(1, NULL);
    CHECK(sqltest_exec_wait(s, "CREATE TABLE u (id BIGINT, v BIGINT, PRIMARY KEY (id) NOT ENFORCED) WITH ('connector' = 'ranktest', "
                               "'changelog' = 'upsert', 'splits' = '1');"
                               "CREATE TABLE out (id BIGINT, v BIGINT) WITH ('connector' = 'ranktest');") == WEIR_OK);
    CHECK(sqltest_exec_wait(s, "SET 'table.dml-sync' = 'true'; INSERT INTO out SELECT id, v FROM u;") == WEIR_OK);
    weir_sql_session_free(s);
    static const char *const want[] = {"+I 1|10", "+I 2|20", "-U 1|10", "+U 1|11", "-D 2|20"};
    static const char *const kinds[] = {"+I", "-U", "+U", "-D"};
    CHECK(nout == 5);
    for (int k = 0; k < nout && k < 5; k++) {
        char line[64];
        snprintf(line, sizeof line, "%s %s", kinds[out_kinds[k]], out_rows[k]);
        if (strcmp(line, want[k]) != 0) fprintf(stderr, "    row %d: %s, want %s\n", k, line, want[k]);
        CHECK(strcmp(line, want[k]) == 0);
    }
}

/* A Top-N over a changelog (the normalised upsert source): rows leave the ranking when
 * their key is updated or deleted (Flink's RetractStrategy). Compared with SQLite's Top-N
 * over the table's final contents. */
TEST(topn_over_a_changelog_matches_oracle) {
    reset();
    unsigned seed = 7;
    int64_t vals[200];
    bool live[200] = {false};
    for (int i = 0; i < 3000; i++) {
        seed = seed * 1103515245u + 12345u;
        int64_t id = (seed >> 8) % 200;
        seed = seed * 1103515245u + 12345u;
        bool del = live[id] && (seed >> 8) % 5 == 0;
        int64_t v = (int64_t)(i * 7919) % 100003; /* distinct */
        add(0, id, del ? 0 : v, del ? WEIR_SQL_ROW_DELETE : WEIR_SQL_ROW_UPDATE_AFTER);
        live[id] = !del;
        vals[id] = v;
    }
    weir_sql_session *s = sqltest_session(2, NULL);
    CHECK(sqltest_exec_wait(s, "CREATE TABLE u (id BIGINT, v BIGINT, PRIMARY KEY (id) NOT ENFORCED) WITH ('connector' = 'ranktest', "
                               "'changelog' = 'upsert', 'splits' = '1');"
                               "CREATE TABLE out (id BIGINT, v BIGINT, rn BIGINT) WITH ('connector' = 'ranktest');") == WEIR_OK);
    CHECK(sqltest_exec_wait(s, "SET 'table.dml-sync' = 'true'; INSERT INTO out SELECT * FROM (SELECT id, v, ROW_NUMBER() OVER "
                               "(ORDER BY v DESC) AS rn FROM u) WHERE rn <= 5;") == WEIR_OK);
    weir_sql_session_free(s);
    char *got = final_state();
    /* the oracle: the table's last state, ranked */
    nin = 0;
    for (int id = 0; id < 200; id++)
        if (live[id]) {
            in_rows[nin].id = id;
            in_rows[nin].v = vals[id];
            strcpy(in_rows[nin].k, "x");
            nin++;
        }
    char *want = oracle("SELECT id, v, rn FROM (SELECT id, v, ROW_NUMBER() OVER (ORDER BY v DESC) AS rn FROM t) WHERE rn <= 5");
    if (strcmp(got, want) != 0) fprintf(stderr, "    got:\n%s    want:\n%s", got, want);
    CHECK(strcmp(got, want) == 0);
    free(got);
    free(want);
}

/* Processing-time OVER: rows are aggregated as they come (one split, one worker: in id
 * order), so a running COUNT is each row's number within its key and SUM a running total
 * in id order. */
TEST(over_on_processing_time_counts_in_arrival_order) {
    reset();
    make_input(500);
    for (int i = 0; i < nin; i++) in_rows[i].split = 0;
    weir_sql_session *s = sqltest_session(1, NULL);
    CHECK(sqltest_exec_wait(s, "CREATE TABLE p (id BIGINT, k STRING, v BIGINT, pt AS PROCTIME()) WITH ('connector' = 'ranktest', "
                               "'splits' = '1');"
                               "CREATE TABLE out (id BIGINT, n BIGINT, s BIGINT) WITH ('connector' = 'ranktest');") == WEIR_OK);
    CHECK(sqltest_exec_wait(s, "SET 'table.dml-sync' = 'true'; INSERT INTO out SELECT id, COUNT(*) OVER (PARTITION BY k ORDER BY pt "
                               "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW), SUM(v) OVER (PARTITION BY k ORDER BY pt ROWS "
                               "BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) FROM p;") == WEIR_OK);
    weir_sql_session_free(s);
    char *got = final_state();
    char *want = oracle("SELECT id, COUNT(*) OVER (PARTITION BY k ORDER BY id), SUM(v) OVER (PARTITION BY k ORDER BY id) "
                        "FROM t");
    CHECK(strcmp(got, want) == 0);
    free(got);
    free(want);
}

/* A row behind the watermark whose window has fired is late: counted in late_rows and not
 * ranked (its window's result, already emitted, stays as it was). */
TEST(window_topn_counts_late_rows) {
    reset();
    for (int i = 0; i < 40; i++) {
        add(0, i, i, WEIR_SQL_ROW_INSERT);
        strcpy(in_rows[nin - 1].k, "a");
        in_rows[nin - 1].ts_ms = i * 1000;
    }
    add(0, 99, 1000, WEIR_SQL_ROW_INSERT); /* the largest v, but at 1 s: [0 s, 10 s) fired long ago */
    strcpy(in_rows[nin - 1].k, "a");
    in_rows[nin - 1].ts_ms = 1000;
    weir_sql_session *s = sqltest_session(1, NULL);
    CHECK(sqltest_exec_wait(s, "CREATE TABLE w (id BIGINT, k STRING, v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' "
                               "SECOND) WITH ('connector' = 'ranktest', 'splits' = '1');"
                               "CREATE TABLE out (ws TIMESTAMP(3), id BIGINT) WITH ('connector' = 'ranktest');") == WEIR_OK);
    CHECK(sqltest_exec_wait(s, "SET 'table.dml-sync' = 'true'; INSERT INTO out SELECT window_start, id FROM (SELECT *, ROW_NUMBER() "
                               "OVER (PARTITION BY window_start, window_end ORDER BY v DESC) AS rn FROM TABLE(TUMBLE(TABLE w, "
                               "DESCRIPTOR(ts), INTERVAL '10' SECOND))) WHERE rn <= 1;") == WEIR_OK);
    weir_sql_job_stats st;
    weir_sql_session_stats(s, &st);
    CHECK(st.late_rows == 1);
    weir_sql_session_free(s);
    char *got = final_state();
    CHECK(strcmp(got, "0|9\n10000000|19\n20000000|29\n30000000|39\n") == 0);
    if (strcmp(got, "0|9\n10000000|19\n20000000|29\n30000000|39\n") != 0) fprintf(stderr, "    got:\n%s", got);
    free(got);
}

/* ---- snapshot and restore ---------------------------------------------------------------------- */

static int col_push(weir_sql_op *op, int input, const weir_sql_batch *b, weir_err *err) {
    (void)op, (void)input, (void)err;
    collect(b);
    return WEIR_OK;
}
static int col_wm(weir_sql_op *op, int input, int64_t ts, weir_err *err) {
    (void)op, (void)input, (void)ts, (void)err;
    return WEIR_OK;
}
static int col_finish(weir_sql_op *op, int input, weir_err *err) {
    (void)op, (void)input, (void)err;
    return WEIR_OK;
}
static const weir_sql_op_vtab collector = {.name = "collector", .push = col_push, .watermark = col_wm, .finish = col_finish};

/* Plans the last statement of sql in arena; its first node of kind, or NULL (a failed
 * CHECK, with the planner's message). */
static const weir_sql_plan *plan_node(weir_arena *arena, const char *sql, weir_sql_plan_kind kind) {
    weir_sql_plan **roots = NULL;
    int nroots = 0;
    weir_err err;
    int rc = sqltest_plan_last(arena, sql, &roots, &nroots, &err);
    if (rc != WEIR_OK) fprintf(stderr, "    (planning: %s)\n", err.msg);
    CHECK(rc == WEIR_OK);
    const weir_sql_plan *p = rc == WEIR_OK ? sqltest_find_kind(roots[0], kind) : NULL;
    CHECK(p != NULL);
    return p;
}

typedef struct instance {
    weir_sql_op op, next;
    weir_sql_op_shared shared;
    weir_sql_worker worker;
    int64_t wm[1];
    bool idle[1];
} instance;

static void instance_init(instance *in, const weir_sql_plan *p, weir_sql_job *job) {
    memset(in, 0, sizeof *in);
    in->worker.job = job;
    in->op.vt = p->kind == WEIR_SQL_PLAN_RANK ? &weir_sql_op_rank : &weir_sql_op_over_agg;
    in->op.plan = p;
    in->op.id = p->id;
    in->op.worker = &in->worker;
    in->op.shared = &in->shared;
    in->op.next = &in->next;
    in->op.input_wm = in->wm;
    in->op.input_idle = in->idle;
    in->wm[0] = INT64_MIN;
    in->op.out_wm = INT64_MIN;
    in->next.vt = &collector;
    weir_err err;
    CHECK(in->op.vt->init(&in->op, &err) == WEIR_OK);
}

static int restore_one(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, weir_err *err) {
    weir_sql_op *op = arg;
    return op->vt->restore(op, key, klen, val, vlen, err);
}

/* Feeds in_rows (as the operator's input columns id, k, v, ts) in batches of 50, with a
 * watermark of the largest time seen minus 300 s after each batch; with snapshot_at >= 0,
 * the instance is snapshotted after that batch, freed, and a new one restored from the file
 * goes on. Returns the rows collected, in order, one a line with its kind. */
static char *feed(const weir_sql_plan *p, weir_sql_job *job, int snapshot_at, int64_t *state_bytes) {
    pthread_mutex_lock(&out_lock);
    for (int k = 0; k < nout; k++) free(out_rows[k]);
    nout = 0;
    pthread_mutex_unlock(&out_lock);
    instance *in = calloc(1, sizeof *in);
    instance_init(in, p, job);
    const weir_sql_plan *src = p->inputs[0];
    weir_err err;
    weir_sql_batch b;
    CHECK(weir_sql_batch_init(&b, src->cols, src->ncols, 64, &err) == WEIR_OK);
    int64_t maxts = INT64_MIN;
    for (int start = 0, batch = 0; start < nin; start += 50, batch++) {
        weir_sql_batch_clear(&b);
        for (int i = start; i < start + 50 && i < nin; i++) {
            int r = weir_sql_batch_add_row(&b);
            weir_sql_batch_set_i64(&b, 0, r, in_rows[i].id);
            weir_sql_batch_set_str(&b, 1, r, in_rows[i].k, strlen(in_rows[i].k));
            weir_sql_batch_set_i64(&b, 2, r, in_rows[i].v);
            weir_sql_batch_set_i64(&b, 3, r, in_rows[i].ts_ms * 1000);
            if (in_rows[i].ts_ms * 1000 > maxts) maxts = in_rows[i].ts_ms * 1000;
        }
        CHECK(in->op.vt->push(&in->op, 0, &b, &err) == WEIR_OK);
        CHECK(in->op.vt->watermark(&in->op, 0, maxts - 300000000, &err) == WEIR_OK);
        if (batch == snapshot_at) {
            char path[] = "/tmp/weir-rank-stateXXXXXX";
            int fd = mkstemp(path);
            CHECK(fd >= 0);
            close(fd);
            weir_sql_state_writer *w = NULL;
            CHECK(weir_sql_state_writer_open(path, &w, &err) == WEIR_OK);
            CHECK(in->op.vt->snapshot(&in->op, w, &err) == WEIR_OK);
            uint64_t bytes = 0, raw = 0, records = 0;
            CHECK(weir_sql_state_writer_close(w, true, &bytes, &raw, &records, &err) == WEIR_OK);
            CHECK(records > 1);
            *state_bytes = in->op.state_bytes;
            in->op.vt->free(&in->op);
            instance_init(in, p, job);
            CHECK(weir_sql_state_file_read(path, restore_one, &in->op, &err) == WEIR_OK);
            CHECK(in->op.state_bytes > 0);
            unlink(path);
        }
    }
    CHECK(in->op.vt->finish(&in->op, 0, &err) == WEIR_OK);
    in->op.vt->free(&in->op);
    free(in);
    weir_sql_batch_free(&b);
    static const char *const kinds[] = {"+I", "-U", "+U", "-D"};
    weir_buf o;
    weir_buf_init(&o);
    pthread_mutex_lock(&out_lock);
    for (int k = 0; k < nout; k++) {
        weir_buf_append(&o, kinds[out_kinds[k]], 2);
        weir_buf_append(&o, " ", 1);
        weir_buf_append(&o, out_rows[k], strlen(out_rows[k]));
        weir_buf_append(&o, "\n", 1);
    }
    pthread_mutex_unlock(&out_lock);
    weir_buf_append(&o, "", 1);
    return (char *)o.data;
}

/* Plans query (over t with columns id, k, v, ts) and checks that its RANK / OVER_AGG node
 * gives the same output when snapshotted and restored after batch 17 of 41. */
static void check_snapshot(const char *query, weir_sql_plan_kind kind) {
    make_input(2003);
    weir_arena arena;
    weir_arena_init(&arena, 0);
    char sql[1024];
    snprintf(sql, sizeof sql, "%s %s", SOURCE_DDL, query);
    const weir_sql_plan *p = plan_node(&arena, sql, kind);
    if (!p) {
        weir_arena_free(&arena);
        return;
    }
    /* the operator's input must be t's columns as they are (the pre-CALC is the identity) */
    CHECK(p->inputs[0]->ncols == 4);
    weir_sql_job *job = weir_sql_job_new(NULL, NULL, NULL, NULL, NULL, NULL, 0);
    int64_t bytes = 0;
    char *whole = feed(p, job, -1, &bytes);
    char *resumed = feed(p, job, 17, &bytes);
    CHECK(bytes > 0);
    CHECK(strlen(whole) > 100);
    if (strcmp(whole, resumed) != 0) fprintf(stderr, "    %s: the resumed run differs\n", query);
    CHECK(strcmp(whole, resumed) == 0);
    free(whole);
    free(resumed);
    weir_sql_job_free(job);
    weir_arena_free(&arena);
}

TEST(snapshot_restore_continues_like_an_uninterrupted_run) {
    check_snapshot("SELECT * FROM (SELECT id, k, v, ts, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v DESC) AS rn FROM t) "
                   "WHERE rn <= 3;",
                   WEIR_SQL_PLAN_RANK);
    check_snapshot("SELECT id, k, v FROM (SELECT id, k, v, ts, ROW_NUMBER() OVER (PARTITION BY k ORDER BY ts DESC) AS rn "
                   "FROM t) WHERE rn = 1;",
                   WEIR_SQL_PLAN_RANK);
    check_snapshot("SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end, k ORDER BY v) AS rn "
                   "FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' MINUTE))) WHERE rn <= 2;",
                   WEIR_SQL_PLAN_RANK);
    check_snapshot("SELECT id, k, v, ts, SUM(v) OVER (PARTITION BY k ORDER BY ts ROWS BETWEEN 3 PRECEDING AND CURRENT ROW) "
                   "FROM t;",
                   WEIR_SQL_PLAN_OVER_AGG);
    check_snapshot("SELECT id, k, v, ts, MAX(v) OVER (PARTITION BY k ORDER BY ts) FROM t;", WEIR_SQL_PLAN_OVER_AGG);
}

/* State TTL: a deduplicated key forgotten after 'table.exec.state.ttl' lets its next row
 * through again. */
TEST(state_ttl_expires_idle_keys) {
    make_input(40);
    for (int i = 0; i < nin; i++) snprintf(in_rows[i].k, sizeof in_rows[i].k, "k%d", i % 2);
    weir_arena arena;
    weir_arena_init(&arena, 0);
    const char *sql = "CREATE TABLE p (id BIGINT, k STRING, v BIGINT, ts TIMESTAMP(3), pt AS PROCTIME()) WITH ('connector' = "
                      "'ranktest'); SELECT * FROM (SELECT id, k, v, pt, ROW_NUMBER() OVER (PARTITION BY k ORDER BY pt) AS rn "
                      "FROM p) WHERE rn = 1;";
    const weir_sql_plan *p = plan_node(&arena, sql, WEIR_SQL_PLAN_RANK);
    if (!p) {
        weir_arena_free(&arena);
        return;
    }
    const char *keys[] = {"table.exec.state.ttl"}, *vals[] = {"1 s"};
    weir_sql_job *job = weir_sql_job_new(NULL, NULL, NULL, NULL, keys, vals, 1);
    instance *in = calloc(1, sizeof *in);
    instance_init(in, p, job);
    const weir_sql_plan *src = p->inputs[0];
    weir_err err;
    weir_sql_batch b;
    CHECK(weir_sql_batch_init(&b, src->cols, src->ncols, 64, &err) == WEIR_OK);
    int64_t now = weir_now_ms();
    for (int round = 0; round < 3; round++) {
        weir_sql_batch_clear(&b);
        for (int i = 0; i < 10; i++) {
            int r = weir_sql_batch_add_row(&b);
            weir_sql_batch_set_i64(&b, 0, r, round * 10 + i);
            weir_sql_batch_set_str(&b, 1, r, in_rows[i].k, strlen(in_rows[i].k));
            weir_sql_batch_set_i64(&b, 2, r, i);
            weir_sql_batch_set_i64(&b, 3, r, (now + round) * 1000);
        }
        pthread_mutex_lock(&out_lock);
        for (int k = 0; k < nout; k++) free(out_rows[k]);
        nout = 0;
        pthread_mutex_unlock(&out_lock);
        CHECK(in->op.vt->push(&in->op, 0, &b, &err) == WEIR_OK);
        /* rounds 0 and 2 start with fresh keys: two rows out; round 1 (no expiry) none */
        CHECK(nout == (round == 1 ? 0 : 2));
        CHECK(in->op.state_bytes > 0);
        now += round == 0 ? 500 : 2000;
        CHECK(in->op.vt->tick(&in->op, now, &err) == WEIR_OK);
    }
    CHECK(in->op.state_bytes == 0); /* every key expired: nothing held */
    in->op.vt->free(&in->op);
    free(in);
    weir_sql_batch_free(&b);
    weir_sql_job_free(job);
    weir_arena_free(&arena);
}

int main(void) {
    weir_sql_register_connector(&ranktest);
    weir_test_case cases[] = {
        T(topn_with_row_number_matches_oracle), T(topn_without_row_number_matches_oracle),
        T(dedup_first_and_last_match_oracle), T(window_topn_and_dedup_match_oracle),
        T(window_topn_over_window_aggregation_matches_oracle), T(over_rows_and_range_match_oracle),
        T(over_range_and_unbounded_match_oracle), T(upsert_source_is_normalised),
        T(topn_over_a_changelog_matches_oracle), T(over_on_processing_time_counts_in_arrival_order),
        T(window_topn_counts_late_rows),
        T(snapshot_restore_continues_like_an_uninterrupted_run), T(state_ttl_expires_idle_keys),
    };
    int rc = weir_test_run(__FILE__, cases, sizeof cases / sizeof cases[0]);
    reset();
    return rc;
}
