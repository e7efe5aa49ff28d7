/* test_sql_window.c — event time and window aggregation (plan.c's window planning,
 * exchange.c, op_window_agg.c, the scan's watermarks) over an in-test connector:
 * "wintest", a source whose rows (key, value, event time, split) the test sets, read
 * round-robin over a reader's splits, bounded or not, and a sink that collects its rows
 * with the worker that wrote them. Checks TUMBLE, HOP and CUMULATE (with offsets) over
 * out-of-order input with several keys at parallelism 2 against SQLite as the oracle, the
 * exchange spreading keys over both workers, a late row counted and left out, windows
 * firing at a bounded source's end, and 'table.exec.source.idle-timeout'; LISTAGG,
 * FIRST_VALUE and LAST_VALUE (arrival order) on one worker against SQLite too. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "sql/sql.h"
#include "sql/window_internal.h"
#include "sqltest.h"
#include "test.h"

/* ---- the rows the source gives ------------------------------------------------------------ */

typedef struct win_row {
    int split;
    char key[8];
    bool v_null;
    int64_t v;
    int64_t ts_ms;
} win_row;

#define MAX_IN 20000 /* rows in, and rows out */
static win_row in_rows[MAX_IN];
static int nin_rows;

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static char *out_rows[MAX_IN];
static int out_workers[MAX_IN];
static int nout_rows;

static void reset(void) {
    pthread_mutex_lock(&out_lock);
    for (int k = 0; k < nout_rows; k++) free(out_rows[k]);
    nout_rows = 0;
    pthread_mutex_unlock(&out_lock);
    memset(in_rows, 0, sizeof in_rows);
    nin_rows = 0;
}

static int noutput(void) {
    pthread_mutex_lock(&out_lock);
    int n = nout_rows;
    pthread_mutex_unlock(&out_lock);
    return n;
}

/* ---- the wintest source ----------------------------------------------------------------- */

typedef struct win_source {
    const weir_sql_table *table;
    weir_sql_job *job;
    int nsplits, batch;
    bool unbounded;
} win_source;

typedef struct win_reader {
    win_source *src;
    int splits[16], nsplits;
    int pos[16];       /* per split: the next index into in_rows to look at */
    int turn;
} win_reader;

static int win_open(const weir_sql_conn_ctx *ctx, void **source, int *nsplits, weir_err *err) {
    (void)err;
    win_source *s = calloc(1, sizeof *s);
    s->table = ctx->table;
    s->job = ctx->job;
    s->nsplits = (int)sqltest_opt_int(ctx->table, "splits", 4);
    s->batch = (int)sqltest_opt_int(ctx->table, "batch", 16);
    s->unbounded = sqltest_opt_true(ctx->table, "unbounded");
    *source = s;
    *nsplits = s->nsplits;
    return WEIR_OK;
}

static int win_open_reader(void *source, int worker, const int *splits, int n, void **reader, weir_err *err) {
    (void)worker;
    (void)err;
    win_reader *r = calloc(1, sizeof *r);
    r->src = source;
    r->nsplits = n;
    memcpy(r->splits, splits, sizeof(int) * (size_t)n);
    *reader = r;
    return WEIR_OK;
}

/* The next row of split k of the reader at or after pos[k], or -1. */
static int next_of(win_reader *r, int k) {
    while (r->pos[k] < nin_rows && in_rows[r->pos[k]].split != r->splits[k]) r->pos[k]++;
    return r->pos[k] < nin_rows ? r->pos[k] : -1;
}

static int win_read(void *reader, weir_sql_batch *out, int max, int timeout_ms, weir_err *err) {
    (void)err;
    win_reader *r = reader;
    win_source *s = r->src;
    const weir_sql_table *t = s->table;
    int ck = sqltest_col_of(t, "k"), cv = sqltest_col_of(t, "v"), cts = sqltest_col_of(t, "ts");
    int limit = max < s->batch ? max : s->batch, n = 0, empty = 0;
    while (n < limit && empty < r->nsplits) { /* one row of each split in turn */
        int k = r->turn++ % r->nsplits;
        int i = next_of(r, k);
        if (i < 0) {
            empty++;
            continue;
        }
        empty = 0;
        r->pos[k]++;
        const win_row *w = &in_rows[i];
        int row = weir_sql_batch_add_row(out);
        if (ck >= 0) weir_sql_batch_set_str(out, ck, row, w->key, strlen(w->key));
        if (cv >= 0) {
            if (w->v_null) weir_sql_batch_set_null(out, cv, row, true);
            else weir_sql_batch_set_i64(out, cv, row, w->v);
        }
        if (cts >= 0) weir_sql_batch_set_i64(out, cts, row, w->ts_ms * 1000);
        n++;
    }
    if (n > 0) return n;
    if (!s->unbounded) return WEIR_SQL_END;
    int64_t until = weir_mono_ms() + timeout_ms;
    while (weir_mono_ms() < until && !weir_sql_job_stopping(s->job)) usleep(1000);
    return 0;
}

static void win_close_reader(void *reader) { free(reader); }
static void win_close(void *source) { free(source); }

/* ---- the wintest sink: rows as text, integers and timestamps as numbers (µs) ------------ */

typedef struct win_writer {
    int worker;
} win_writer;

static int win_open_writer(void *sink, int worker, void **writer, weir_err *err) {
    (void)sink;
    (void)err;
    win_writer *w = calloc(1, sizeof *w);
    w->worker = worker;
    *writer = w;
    return WEIR_OK;
}

static int win_write(void *writer, const weir_sql_batch *b, weir_err *err) {
    (void)err;
    for (int r = 0; r < b->nrows; r++) {
        char *line = sqltest_format_row(b, r);
        pthread_mutex_lock(&out_lock);
        if (nout_rows < MAX_IN) {
            out_workers[nout_rows] = ((win_writer *)writer)->worker;
            out_rows[nout_rows++] = line;
            line = NULL;
        }
        pthread_mutex_unlock(&out_lock);
        free(line);
    }
    return WEIR_OK;
}

static void win_close_writer(void *writer) { free(writer); }

static const weir_sql_source_ops win_source_ops = {
    .open = win_open, .open_reader = win_open_reader, .read = win_read, .close_reader = win_close_reader, .close = win_close,
};
static const weir_sql_sink_ops win_sink_ops = {
    .open = sqltest_sink_open, .open_writer = win_open_writer, .write = win_write, .flush = sqltest_sink_flush,
    .close_writer = win_close_writer, .close = sqltest_sink_close,
};
static const weir_sql_connector wintest = {.name = "wintest", .source = &win_source_ops, .sink = &win_sink_ops};

/* ---- helpers ------------------------------------------------------------------------------ */

/* The output rows, sorted, one per line. */
static char *output_sorted(void) {
    pthread_mutex_lock(&out_lock);
    char **copy = malloc(sizeof *copy * (size_t)(nout_rows + 1));
    memcpy(copy, out_rows, sizeof *copy * (size_t)nout_rows);
    char *text = sqltest_sorted_lines(copy, nout_rows);
    pthread_mutex_unlock(&out_lock);
    free(copy);
    return text;
}

static const char *SOURCE_DDL =
    "CREATE TABLE ev (k STRING, v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) "
    "WITH ('connector' = 'wintest', 'splits' = '4', 'batch' = '16');"
    "CREATE TABLE out9 (k STRING, ws TIMESTAMP(3), we TIMESTAMP(3), n BIGINT, s BIGINT, lo BIGINT, hi BIGINT, a BIGINT, "
    "cd BIGINT, big BIGINT) WITH ('connector' = 'wintest');"
    "SET 'table.dml-sync' = 'true';";

#define BASE_MS 1704067200000LL /* 2024-01-01 00:00:00 UTC */

/* Appends one input row (v not NULL) to split. */
static void add_row(int split, const char *key, int64_t v, int64_t ts_ms) {
    win_row *r = &in_rows[nin_rows++];
    r->split = split;
    snprintf(r->key, sizeof r->key, "%s", key);
    r->v = v;
    r->ts_ms = ts_ms;
}

/* The input of the late-row tests: one split, key "a", v = 0..4; the 3 s row comes after
 * the 12 s one. */
static void add_late_rows(void) {
    const int64_t ts[] = {1000, 2000, 12000, 3000, 15000};
    for (int i = 0; i < 5; i++) add_row(0, "a", i, BASE_MS + ts[i]);
}

/* N rows over 4 splits in about event-time order, each up to 2 s out of order (less than
 * the watermark's 5 s), 7 keys, every 13th value NULL. */
static void make_input(int n, unsigned seed) {
    nin_rows = 0;
    for (int i = 0; i < n && i < MAX_IN; i++) {
        seed = seed * 1103515245u + 12345u;
        win_row *r = &in_rows[nin_rows++];
        r->split = i % 4;
        snprintf(r->key, sizeof r->key, "k%u", (seed >> 8) % 7);
        r->v_null = i % 13 == 5;
        r->v = (int64_t)((seed >> 4) % 1000);
        r->ts_ms = BASE_MS + (int64_t)i * 7 + (int64_t)((seed >> 12) % 2000);
    }
}

/* SQLite computes the same windows from the same rows: windows(ts) is a table of the
 * (start, end) pairs each row belongs to, written out per window kind. */
/* mode: the ninth column is COUNT(v) (0), COUNT(DISTINCT v % 7) (1), or SUM, AVG, MIN and
 * MAX of DISTINCT v % 7 in one number (2) */
static const char *const ninth_weir[] = {
    "COUNT(v)", "COUNT(DISTINCT MOD(v, 7))",
    "SUM(DISTINCT MOD(v, 7)) * 1000 + AVG(DISTINCT MOD(v, 7)) * 100 + MIN(DISTINCT MOD(v, 7)) * 10 + "
    "MAX(DISTINCT MOD(v, 7))"};
static const char *const ninth_sqlite[] = {
    "COUNT(v)", "COUNT(DISTINCT v % 7)",
    "IFNULL(SUM(DISTINCT v % 7) * 1000 + (SUM(DISTINCT v % 7) / COUNT(DISTINCT v % 7)) * 100 + MIN(v % 7) * 10 + "
    "MAX(v % 7), 'NULL')"};

static char *oracle(const char *windows_sql, int mode) {
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(":memory:", &db) == SQLITE_OK);
    char *msg = NULL;
    CHECK(sqlite3_exec(db, "CREATE TABLE ev (k TEXT, v INTEGER, ts INTEGER);"
                           "CREATE TABLE n (i INTEGER); WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c "
                           "WHERE i < 99) INSERT INTO n SELECT i FROM c;",
                       NULL, NULL, &msg) == SQLITE_OK);
    sqlite3_stmt *ins = NULL;
    CHECK(sqlite3_prepare_v2(db, "INSERT INTO ev VALUES (?, ?, ?)", -1, &ins, NULL) == SQLITE_OK);
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    for (int i = 0; i < nin_rows; i++) {
        sqlite3_bind_text(ins, 1, in_rows[i].key, -1, SQLITE_STATIC);
        if (in_rows[i].v_null) sqlite3_bind_null(ins, 2);
        else sqlite3_bind_int64(ins, 2, in_rows[i].v);
        sqlite3_bind_int64(ins, 3, in_rows[i].ts_ms);
        sqlite3_step(ins);
        sqlite3_reset(ins);
    }
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_finalize(ins);
    char q[2048];
    snprintf(q, sizeof q,
             "WITH w AS (%s) SELECT k || '|' || (ws * 1000) || '|' || (we * 1000) || '|' || COUNT(*) || '|' || "
             "IFNULL(SUM(v), 'NULL') || '|' || IFNULL(MIN(v), 'NULL') || '|' || IFNULL(MAX(v), 'NULL') || '|' || "
             "IFNULL(SUM(v) / COUNT(v), 'NULL') || '|' || %s || '|' || "
             "SUM(CASE WHEN v > 500 THEN 1 ELSE 0 END) FROM w GROUP BY k, ws, we ORDER BY 1",
             windows_sql, ninth_sqlite[mode]);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, q, -1, &st, NULL);
    if (rc != SQLITE_OK) fprintf(stderr, "    (sqlite: %s)\n", sqlite3_errmsg(db));
    CHECK(rc == SQLITE_OK);
    weir_buf b;
    weir_buf_init(&b);
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        const char *line = (const char *)sqlite3_column_text(st, 0);
        weir_buf_append(&b, line, strlen(line));
        weir_buf_append(&b, "\n", 1);
    }
    weir_buf_append(&b, "", 1);
    sqlite3_finalize(st);
    sqlite3_close(db);
    sqlite3_free(msg);
    /* SQLite's ORDER BY on text is byte order, as strcmp's */
    return (char *)b.data;
}

/* Runs the window query at parallelism 2 and compares with the oracle; both workers must
 * have written rows (the exchange spread the keys). */
static void check_against_oracle(const char *tvf, const char *windows_sql, int mode) {
    reset();
    make_input(3000, 42);
    weir_sql_session *s = sqltest_session(2, stderr);
    CHECK(sqltest_exec(s, SOURCE_DDL) == WEIR_OK);
    char sql[1024];
    snprintf(sql, sizeof sql,
             "INSERT INTO out9 SELECT k, window_start, window_end, COUNT(*), SUM(v), MIN(v), MAX(v), AVG(v), "
             "%s, COUNT(*) FILTER (WHERE v > 500) FROM TABLE(%s) GROUP BY k, window_start, window_end;",
             ninth_weir[mode], tvf);
    CHECK(sqltest_exec(s, sql) == WEIR_OK);
    weir_err err;
    CHECK(weir_sql_session_wait(s, &err) == WEIR_OK);
    weir_sql_job_stats st;
    weir_sql_session_stats(s, &st);
    CHECK_EQ_INT(st.rows_in, 3000);
    CHECK_EQ_INT(st.late_rows, 0);
    char *got = output_sorted();
    char *want = oracle(windows_sql, mode);
    CHECK(strlen(want) > 100);
    if (strcmp(got, want) != 0) fprintf(stderr, "  %s\n  got:\n%.2000s\n  want:\n%.2000s\n", tvf, got, want);
    CHECK(strcmp(got, want) == 0);
    bool by[2] = {false, false};
    pthread_mutex_lock(&out_lock);
    for (int k = 0; k < nout_rows; k++) by[out_workers[k] & 1] = true;
    pthread_mutex_unlock(&out_lock);
    CHECK(by[0] && by[1]);
    free(got);
    free(want);
    weir_sql_session_free(s);
}

/* ---- tests ------------------------------------------------------------------------------ */

TEST(tumble_matches_oracle) {
    check_against_oracle("TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '1' SECOND)",
                         "SELECT k, v, ts - (((ts % 1000) + 1000) % 1000) AS ws, ts - (((ts % 1000) + 1000) % 1000) + 1000 "
                         "AS we FROM ev", 1);
}

TEST(tumble_with_offset_matches_oracle) {
    check_against_oracle("TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '2' SECOND, INTERVAL '0.3' SECOND)",
                         "SELECT k, v, ts - ((((ts - 300) % 2000) + 2000) % 2000) AS ws, "
                         "ts - ((((ts - 300) % 2000) + 2000) % 2000) + 2000 AS we FROM ev", 1);
}

TEST(hop_matches_oracle) {
    /* slide 500 ms, size 2 s, offset 100 ms: each row is in 4 windows */
    check_against_oracle("HOP(TABLE ev, DESCRIPTOR(ts), INTERVAL '0.5' SECOND, INTERVAL '2' SECOND, INTERVAL '0.1' SECOND)",
                         "SELECT k, v, ts - ((((ts - 100) % 500) + 500) % 500) - n.i * 500 AS ws, "
                         "ts - ((((ts - 100) % 500) + 500) % 500) - n.i * 500 + 2000 AS we FROM ev, n WHERE n.i < 4", 1);
}

TEST(cumulate_matches_oracle) {
    /* step 1 s, size 3 s: windows [s, s + 1 s), [s, s + 2 s), [s, s + 3 s) that hold the row */
    check_against_oracle("CUMULATE(TABLE ev, DESCRIPTOR(ts), INTERVAL '1' SECOND, INTERVAL '3' SECOND)",
                         "SELECT k, v, ts - (((ts % 3000) + 3000) % 3000) AS ws, "
                         "ts - (((ts % 3000) + 3000) % 3000) + (n.i + 1) * 1000 AS we FROM ev, n "
                         "WHERE n.i < 3 AND ts - (((ts % 3000) + 3000) % 3000) + (n.i + 1) * 1000 > ts", 1);
}

TEST(session_matches_oracle) {
    /* a 50 ms gap: a key's rows about 49 ms apart with up to 2 s of jitter make many
     * sessions, which merge as out-of-order rows bridge them (and their COUNT(DISTINCT)
     * sets with them) */
    check_against_oracle("SESSION(TABLE ev PARTITION BY k, DESCRIPTOR(ts), INTERVAL '0.05' SECOND)",
                         "SELECT k, v, MIN(ts) OVER (PARTITION BY k, sid) AS ws, MAX(ts) OVER (PARTITION BY k, sid) + 50 "
                         "AS we FROM (SELECT k, v, ts, SUM(brk) OVER (PARTITION BY k ORDER BY ts ROWS UNBOUNDED "
                         "PRECEDING) AS sid FROM (SELECT k, v, ts, CASE WHEN ts - LAG(ts) OVER (PARTITION BY k ORDER BY "
                         "ts) <= 50 THEN 0 ELSE 1 END AS brk FROM ev))",
                         1);
}

/* SUM, AVG, MIN and MAX over DISTINCT values: per window, and over sessions whose sets
 * merge as rows bridge them */
TEST(distinct_aggregates_match_oracle) {
    check_against_oracle("TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '1' SECOND)",
                         "SELECT k, v, ts - (((ts % 1000) + 1000) % 1000) AS ws, ts - (((ts % 1000) + 1000) % 1000) + 1000 "
                         "AS we FROM ev", 2);
    check_against_oracle("HOP(TABLE ev, DESCRIPTOR(ts), INTERVAL '0.5' SECOND, INTERVAL '2' SECOND, INTERVAL '0.1' SECOND)",
                         "SELECT k, v, ts - ((((ts - 100) % 500) + 500) % 500) - n.i * 500 AS ws, "
                         "ts - ((((ts - 100) % 500) + 500) % 500) - n.i * 500 + 2000 AS we FROM ev, n WHERE n.i < 4", 2);
    check_against_oracle("SESSION(TABLE ev PARTITION BY k, DESCRIPTOR(ts), INTERVAL '0.05' SECOND)",
                         "SELECT k, v, MIN(ts) OVER (PARTITION BY k, sid) AS ws, MAX(ts) OVER (PARTITION BY k, sid) + 50 "
                         "AS we FROM (SELECT k, v, ts, SUM(brk) OVER (PARTITION BY k ORDER BY ts ROWS UNBOUNDED "
                         "PRECEDING) AS sid FROM (SELECT k, v, ts, CASE WHEN ts - LAG(ts) OVER (PARTITION BY k ORDER BY "
                         "ts) <= 50 THEN 0 ELSE 1 END AS brk FROM ev))",
                         2);
}

/* LISTAGG, FIRST_VALUE and LAST_VALUE go by arrival order: one split read by one worker
 * gives the rows in input order, which SQLite's rowid keeps (its group_concat of an
 * ordered subquery follows that order; 3.40 has no ORDER BY inside group_concat). NULL
 * values are skipped by all three, as Flink's. */
TEST(listagg_first_last_match_oracle) {
    reset();
    make_input(3000, 7);
    for (int i = 0; i < nin_rows; i++) in_rows[i].split = 0;
    weir_sql_session *s = sqltest_session(1, stderr);
    CHECK(sqltest_exec(s, "CREATE TABLE ev (k STRING, v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) "
                          "WITH ('connector' = 'wintest', 'splits' = '1', 'batch' = '16');"
                          "CREATE TABLE o (k STRING, ws TIMESTAMP(3), l STRING, lf STRING, f BIGINT, la BIGINT, fb BIGINT) "
                          "WITH ('connector' = 'wintest');"
                          "SET 'table.dml-sync' = 'true';") == WEIR_OK);
    CHECK(sqltest_exec(s, "INSERT INTO o SELECT k, window_start, LISTAGG(CAST(v AS STRING), ';'), "
                          "LISTAGG(CAST(v AS STRING)) FILTER (WHERE v > 500), FIRST_VALUE(v), LAST_VALUE(v), "
                          "FIRST_VALUE(v) FILTER (WHERE v > 900) "
                          "FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '1' SECOND)) GROUP BY k, window_start, window_end;")
          == WEIR_OK);
    weir_err err;
    CHECK(weir_sql_session_wait(s, &err) == WEIR_OK);
    weir_sql_job_stats st;
    weir_sql_session_stats(s, &st);
    CHECK_EQ_INT(st.late_rows, 0);
    char *got = output_sorted();

    sqlite3 *db = NULL;
    CHECK(sqlite3_open(":memory:", &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "CREATE TABLE ev (k TEXT, v INTEGER, ts INTEGER)", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_stmt *ins = NULL;
    CHECK(sqlite3_prepare_v2(db, "INSERT INTO ev VALUES (?, ?, ?)", -1, &ins, NULL) == SQLITE_OK);
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    for (int i = 0; i < nin_rows; i++) {
        sqlite3_bind_text(ins, 1, in_rows[i].key, -1, SQLITE_STATIC);
        if (in_rows[i].v_null) sqlite3_bind_null(ins, 2);
        else sqlite3_bind_int64(ins, 2, in_rows[i].v);
        sqlite3_bind_int64(ins, 3, in_rows[i].ts_ms);
        sqlite3_step(ins);
        sqlite3_reset(ins);
    }
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_finalize(ins);
    CHECK(sqlite3_exec(db, "CREATE TABLE w AS SELECT rowid AS r, k, v, ts - (((ts % 1000) + 1000) % 1000) AS ws FROM ev",
                       NULL, NULL, NULL) == SQLITE_OK);
#define IN_GROUP "FROM w AS x WHERE x.k = g.k AND x.ws = g.ws AND x.v IS NOT NULL"
    const char *q =
        "SELECT k || '|' || (ws * 1000) || '|' || "
        "IFNULL((SELECT group_concat(v, ';') FROM (SELECT x.v " IN_GROUP " ORDER BY x.r)), 'NULL') || '|' || "
        "IFNULL((SELECT group_concat(v, ',') FROM (SELECT x.v " IN_GROUP " AND x.v > 500 ORDER BY x.r)), 'NULL') || '|' || "
        "IFNULL((SELECT x.v " IN_GROUP " ORDER BY x.r LIMIT 1), 'NULL') || '|' || "
        "IFNULL((SELECT x.v " IN_GROUP " ORDER BY x.r DESC LIMIT 1), 'NULL') || '|' || "
        "IFNULL((SELECT x.v " IN_GROUP " AND x.v > 900 ORDER BY x.r LIMIT 1), 'NULL') "
        "FROM (SELECT DISTINCT k, ws FROM w) AS g ORDER BY 1";
#undef IN_GROUP
    sqlite3_stmt *qs = NULL;
    int rc = sqlite3_prepare_v2(db, q, -1, &qs, NULL);
    if (rc != SQLITE_OK) fprintf(stderr, "    (sqlite: %s)\n", sqlite3_errmsg(db));
    CHECK(rc == SQLITE_OK);
    weir_buf b;
    weir_buf_init(&b);
    while (qs && sqlite3_step(qs) == SQLITE_ROW) {
        const char *line = (const char *)sqlite3_column_text(qs, 0);
        weir_buf_append(&b, line, strlen(line));
        weir_buf_append(&b, "\n", 1);
    }
    weir_buf_append(&b, "", 1);
    sqlite3_finalize(qs);
    sqlite3_close(db);
    char *want = (char *)b.data;
    CHECK(strlen(want) > 100);
    if (strcmp(got, want) != 0) fprintf(stderr, "  got:\n%.2000s\n  want:\n%.2000s\n", got, want);
    CHECK(strcmp(got, want) == 0);
    free(got);
    free(want);
    weir_sql_session_free(s);
}

/* Cascaded windows (two exchanges): per-key 1 s counts, then 5 s totals over their
 * window_time, at parallelism 2, equal the 5 s counts of the rows. */
TEST(cascaded_windows) {
    reset();
    make_input(3000, 99);
    weir_sql_session *s = sqltest_session(2, stderr);
    CHECK(sqltest_exec(s, SOURCE_DDL) == WEIR_OK);
    CHECK(sqltest_exec(s, "CREATE TABLE o (ws TIMESTAMP(3), n BIGINT, parts BIGINT) WITH ('connector' = 'wintest');"
                          "CREATE VIEW per_key AS SELECT k, window_time AS wt, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE ev, "
                          "DESCRIPTOR(ts), INTERVAL '1' SECOND)) GROUP BY k, window_start, window_end, window_time;"
                          "INSERT INTO o SELECT window_start, SUM(n), COUNT(*) FROM TABLE(TUMBLE(TABLE per_key, DESCRIPTOR(wt), "
                          "INTERVAL '5' SECOND)) GROUP BY window_start, window_end;") == WEIR_OK);
    weir_sql_job_stats st;
    weir_sql_session_stats(s, &st);
    CHECK_EQ_INT(st.late_rows, 0);
    /* the oracle: rows per 5 s window, and the (key, second) pairs in it */
    int64_t first = (BASE_MS / 5000) * 5000, last = first;
    for (int i = 0; i < nin_rows; i++)
        if (in_rows[i].ts_ms > last) last = in_rows[i].ts_ms;
    char **lines = calloc((size_t)((last - first) / 5000 + 2), sizeof *lines);
    int nlines = 0;
    for (int64_t w = first; w <= last; w += 5000) {
        int n = 0, parts = 0;
        char seen[7][5] = {{0}};
        for (int i = 0; i < nin_rows; i++) {
            if (in_rows[i].ts_ms < w || in_rows[i].ts_ms >= w + 5000) continue;
            n++;
            int key = in_rows[i].key[1] - '0', sec = (int)((in_rows[i].ts_ms - w) / 1000);
            if (!seen[key][sec]) parts++;
            seen[key][sec] = 1;
        }
        if (n == 0) continue;
        char line[96];
        snprintf(line, sizeof line, "%lld|%d|%d", (long long)w * 1000, n, parts);
        lines[nlines++] = strdup(line);
    }
    char *want = sqltest_sorted_lines(lines, nlines);
    for (int k = 0; k < nlines; k++) free(lines[k]);
    free(lines);
    char *got = output_sorted();
    CHECK(nlines > 3);
    CHECK_EQ_STR(got, want);
    free(got);
    free(want);
    weir_sql_session_free(s);
}

/* Many keys, each in a few windows: the worker's key table is compacted as windows fire,
 * and keys seen again later (i % 15000) start afresh. Every (key, window) has one row. */
TEST(many_keys_and_key_table_compaction) {
    reset();
    for (int i = 0; i < 20000; i++) {
        win_row *r = &in_rows[nin_rows++];
        r->split = i % 4;
        snprintf(r->key, sizeof r->key, "x%d", i % 15000);
        r->v = i;
        r->ts_ms = BASE_MS + i;
    }
    weir_sql_session *s = sqltest_session(1, stderr);
    CHECK(sqltest_exec(s, "CREATE TABLE ev (k STRING, v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) "
                          "WITH ('connector' = 'wintest', 'splits' = '4', 'batch' = '64');"
                          "CREATE TABLE o (k STRING, ws TIMESTAMP(3), n BIGINT, v BIGINT) WITH ('connector' = 'wintest');"
                          "SET 'table.dml-sync' = 'true';"
                          "INSERT INTO o SELECT k, window_start, COUNT(*), MAX(v) FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), "
                          "INTERVAL '1' SECOND)) GROUP BY k, window_start, window_end;") == WEIR_OK);
    weir_sql_job_stats st;
    weir_sql_session_stats(s, &st);
    CHECK_EQ_INT(st.late_rows, 0);
    CHECK_EQ_INT(noutput(), 20000);
    char **lines = calloc(20000, sizeof *lines);
    for (int i = 0; i < 20000; i++) {
        char line[96];
        snprintf(line, sizeof line, "x%d|%lld|1|%d", i % 15000, (long long)(BASE_MS + i / 1000 * 1000) * 1000, i);
        lines[i] = strdup(line);
    }
    char *want = sqltest_sorted_lines(lines, 20000);
    for (int i = 0; i < 20000; i++) free(lines[i]);
    free(lines);
    char *got = output_sorted();
    if (strcmp(got, want) != 0) { /* show where they part */
        size_t d = 0;
        while (got[d] && got[d] == want[d]) d++;
        size_t from = d > 80 ? d - 80 : 0;
        fprintf(stderr, "  got:\n%.200s\n  want:\n%.200s\n", got + from, want + from);
    }
    CHECK(strcmp(got, want) == 0);
    free(got);
    free(want);
    weir_sql_session_free(s);
}

/* One split read a row at a time: after the 12 s row the watermark (delay 0) is past the
 * first window's end, so the 3 s row after it is late: counted, not aggregated. */
TEST(late_row_is_counted_and_left_out) {
    reset();
    add_late_rows();
    weir_sql_session *s = sqltest_session(1, stderr);
    CHECK(sqltest_exec(s, "CREATE TABLE ev (k STRING, v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) "
                          "WITH ('connector' = 'wintest', 'splits' = '1', 'batch' = '1');"
                          "CREATE TABLE o (k STRING, ws TIMESTAMP(3), n BIGINT, s BIGINT) WITH ('connector' = 'wintest');"
                          "SET 'table.dml-sync' = 'true';"
                          "INSERT INTO o SELECT k, window_start, COUNT(*), SUM(v) FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), "
                          "INTERVAL '10' SECOND)) GROUP BY k, window_start, window_end;") == WEIR_OK);
    weir_sql_job_stats st;
    weir_sql_session_stats(s, &st);
    CHECK_EQ_INT(st.rows_in, 5);
    CHECK_EQ_INT(st.late_rows, 1);
    char *got = output_sorted();
    CHECK_EQ_STR(got, "a|1704067200000000|2|1\na|1704067210000000|2|6\n");
    free(got);
    weir_sql_session_free(s);
}

/* Two workers, one split each; split 1 never has a row. Without an idle timeout its
 * reader holds the watermark back and no window fires; with one, the idle split is left
 * out of the minimum and the windows that split 0's watermark passed fire. */
static void run_idle(const char *timeout, bool expect_rows, int parallelism) {
    reset();
    for (int i = 0; i < 30; i++) add_row(0, (const char *[]){"k0", "k1", "k2"}[i % 3], i, BASE_MS + i * 1000);
    weir_sql_session *s = sqltest_session(parallelism, stderr);
    char sql[1024];
    snprintf(sql, sizeof sql,
             "%s CREATE TABLE ev (k STRING, v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) "
             "WITH ('connector' = 'wintest', 'splits' = '2', 'unbounded' = 'true');"
             "CREATE TABLE o (k STRING, ws TIMESTAMP(3), n BIGINT) WITH ('connector' = 'wintest');"
             "INSERT INTO o SELECT k, window_start, COUNT(*) FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), "
             "INTERVAL '10' SECOND)) GROUP BY k, window_start, window_end;",
             timeout);
    CHECK(sqltest_exec(s, sql) == WEIR_OK);
    int64_t deadline = weir_mono_ms() + 5000;
    weir_sql_job_stats st = {0};
    while (weir_mono_ms() < deadline) { /* every row read */
        weir_sql_session_stats(s, &st);
        if (st.rows_in == 30) break;
        usleep(2000);
    }
    CHECK_EQ_INT(st.rows_in, 30);
    if (expect_rows) {
        /* windows [0, 10) and [10, 20) fire (watermark 29 s), 3 keys each; [20, 30) stays open */
        while (weir_mono_ms() < deadline && noutput() < 6) usleep(2000);
        CHECK_EQ_INT(noutput(), 6);
    } else {
        usleep(300 * 1000); /* a negative check: give a wrongly fired window time to show up */
        CHECK_EQ_INT(noutput(), 0);
    }
    weir_sql_session_stop(s);
    weir_err err;
    CHECK(weir_sql_session_wait(s, &err) == WEIR_OK);
    CHECK_EQ_INT(noutput(), expect_rows ? 6 : 0); /* stopping fires nothing: the source did not end */
    weir_sql_session_free(s);
}

TEST(idle_split_holds_back_the_watermark) { run_idle("", false, 2); }

TEST(idle_timeout_leaves_an_idle_split_out) { run_idle("SET 'table.exec.source.idle-timeout' = '100 ms';", true, 2); }

/* The same with both splits on one worker: watermarks are per split there too. */
TEST(idle_split_on_the_same_worker) {
    run_idle("", false, 1);
    run_idle("SET 'table.exec.source.idle-timeout' = '100 ms';", true, 1);
}

/* One worker reads two splits; split 1's rows are 20 s behind split 0's and come after
 * them. With a watermark per split they are not late (Flink's per-partition watermarks). */
TEST(lagging_split_is_not_late) {
    reset();
    for (int i = 0; i < 40; i++) add_row(i < 20 ? 0 : 1, "a", i, BASE_MS + (i < 20 ? 20000 + i * 1000 : (i - 20) * 1000));
    weir_sql_session *s = sqltest_session(1, stderr);
    CHECK(sqltest_exec(s, "CREATE TABLE ev (k STRING, v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) "
                          "WITH ('connector' = 'wintest', 'splits' = '2', 'batch' = '4');"
                          "CREATE TABLE o (k STRING, ws TIMESTAMP(3), n BIGINT) WITH ('connector' = 'wintest');"
                          "SET 'table.dml-sync' = 'true';"
                          "INSERT INTO o SELECT k, window_start, COUNT(*) FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), "
                          "INTERVAL '10' SECOND)) GROUP BY k, window_start, window_end;") == WEIR_OK);
    weir_sql_job_stats st;
    weir_sql_session_stats(s, &st);
    CHECK_EQ_INT(st.late_rows, 0);
    char *got = output_sorted();
    CHECK_EQ_STR(got, "a|1704067200000000|10\na|1704067210000000|10\na|1704067220000000|10\na|1704067230000000|10\n");
    free(got);
    weir_sql_session_free(s);
}

/* A runtime error before the exchange fails the job with its line:column at parallelism 2
 * (the other worker, perhaps waiting to send, stops too) and nothing is written. */
TEST(runtime_error_fails_a_window_job) {
    reset();
    make_input(3000, 7);
    weir_sql_session *s = sqltest_session(2, stderr);
    CHECK(sqltest_exec(s, SOURCE_DDL) == WEIR_OK);
    const char *sql = "INSERT INTO out9 SELECT k, window_start, window_end, COUNT(*), SUM(v / (v - v)), MIN(v), MAX(v), "
                      "AVG(v), COUNT(v), COUNT(*) FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '1' SECOND)) "
                      "GROUP BY k, window_start, window_end;";
    weir_err err;
    CHECK(weir_sql_session_execute(s, sql, strlen(sql), &err) == WEIR_ERROR);
    CHECK(strstr(err.msg, "line 1, column ") != NULL);
    CHECK(strstr(err.msg, "zero") != NULL);
    CHECK_EQ_INT(noutput(), 0);
    weir_sql_session_free(s);
}

TEST(bad_idle_timeout_is_refused) {
    reset();
    make_input(10, 1);
    weir_sql_session *s = sqltest_session(1, stderr);
    CHECK(sqltest_exec(s, SOURCE_DDL) == WEIR_OK);
    const char *sql = "SET 'table.exec.source.idle-timeout' = 'soon';"
                      "INSERT INTO out9 SELECT k, window_start, window_end, COUNT(*), SUM(v), MIN(v), MAX(v), AVG(v), "
                      "COUNT(DISTINCT v), COUNT(*) FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '1' SECOND)) "
                      "GROUP BY k, window_start, window_end;";
    weir_err err;
    CHECK(weir_sql_session_execute(s, sql, strlen(sql), &err) == WEIR_ERROR);
    CHECK_EQ_STR(err.msg, "line 1, column 1: SET 'table.exec.source.idle-timeout' = 'soon': not a duration (e.g. '10 s', "
                          "'500 ms'; '0' turns idleness detection off)");
    CHECK_EQ_INT(noutput(), 0);
    weir_sql_session_free(s);
}


/* ---- operator state: snapshot and restore ------------------------------------------------
 * The window operator driven directly (as a worker drives it after its exchange): rows in
 * batches of its input's columns, watermarks, the end; its output collected by a next
 * operator. A run interrupted by a snapshot and continued by fresh instances restored from
 * it must emit what an uninterrupted run emits. */

typedef struct op_run {
    weir_sql_job job;
    weir_sql_worker workers[2];
    weir_sql_op_shared shared;
    weir_sql_op ops[2], sinks[2];
    int64_t in_wm[2][1], sink_wm[2][1];
    bool in_idle[2][1], sink_idle[2][1];
    int n;
} op_run;

static weir_buf collected;

static int collect_push(weir_sql_op *op, int input, const weir_sql_batch *b, weir_err *err) {
    (void)op;
    (void)input;
    (void)err;
    for (int r = 0; r < b->nrows; r++) {
        sqltest_append_row(&collected, b, r, "|");
        weir_buf_append(&collected, "\n", 1);
    }
    return WEIR_OK;
}

static int collect_wm(weir_sql_op *op, int input, int64_t ts, weir_err *err) {
    (void)op, (void)input, (void)ts, (void)err;
    return WEIR_OK;
}

static int collect_finish(weir_sql_op *op, int input, weir_err *err) {
    (void)op, (void)input, (void)err;
    return WEIR_OK;
}

static const weir_sql_op_vtab collect_vt = {.name = "collect", .push = collect_push, .watermark = collect_wm,
                                            .finish = collect_finish};

/* n fresh instances (workers 0..n-1 of a job of n) of the WINDOW_AGG node agg. */
static op_run *op_run_new(const weir_sql_plan *agg, int n) {
    op_run *r = calloc(1, sizeof *r);
    r->n = n;
    r->job.nworkers = n;
    r->shared.plan = agg;
    weir_err err;
    for (int i = 0; i < n; i++) {
        r->workers[i].job = &r->job;
        r->workers[i].index = i;
        weir_sql_op *op = &r->ops[i];
        op->vt = &weir_sql_op_window_agg;
        op->plan = agg;
        op->id = agg->id;
        op->worker = &r->workers[i];
        op->shared = &r->shared;
        op->next = &r->sinks[i];
        op->input_wm = r->in_wm[i];
        op->input_idle = r->in_idle[i];
        op->input_wm[0] = op->out_wm = WEIR_SQL_WM_NONE;
        r->sinks[i] = (weir_sql_op){.vt = &collect_vt, .plan = agg, .worker = &r->workers[i], .shared = &r->shared,
                                    .input_wm = r->sink_wm[i], .input_idle = r->sink_idle[i]};
        CHECK(op->vt->init(op, &err) == WEIR_OK);
    }
    return r;
}

static void op_run_free(op_run *r) {
    for (int i = 0; i < r->n; i++) r->ops[i].vt->free(&r->ops[i]);
    free(r);
}

/* The worker of a row: the exchange's rule (the high half of the key's hash). */
static int owner_of(const weir_sql_plan *agg, const weir_sql_batch *b, int row, int n) {
    weir_buf k;
    weir_buf_init(&k);
    weir_sql_row_key(&k, b, row, agg->keys, agg->nkeys);
    int w = (int)((weir_sql_hash_bytes(k.data, k.len) >> 32) % (uint64_t)n);
    weir_buf_free(&k);
    return w;
}

/* Rows [from, to) of in_rows, 50 a batch, each followed by the watermark (the largest time
 * so far - 3 s) to every instance; keys routed as the exchange routes them. */
static void op_run_feed(op_run *r, const weir_sql_plan *agg, int from, int to, int64_t *max_ts) {
    const weir_sql_plan *in = agg->inputs[0];
    weir_err err;
    for (int at = from; at < to; at += 50) {
        weir_sql_batch b[2];
        for (int i = 0; i < r->n; i++) CHECK(weir_sql_batch_init(&b[i], in->cols, in->ncols, 64, &err) == WEIR_OK);
        weir_sql_batch all;
        CHECK(weir_sql_batch_init(&all, in->cols, in->ncols, 64, &err) == WEIR_OK);
        for (int k = at; k < to && k < at + 50; k++) {
            const win_row *x = &in_rows[k];
            int row = weir_sql_batch_add_row(&all);
            weir_sql_batch_set_i64(&all, 0, row, x->ts_ms * 1000);
            weir_sql_batch_set_str(&all, 1, row, x->key, strlen(x->key));
            if (!x->v_null) weir_sql_batch_set_i64(&all, 2, row, x->v);
            else weir_sql_batch_set_null(&all, 2, row, true);
            char s[16];
            snprintf(s, sizeof s, "s%d", k % 5);
            weir_sql_batch_set_str(&all, 3, row, s, strlen(s));
            if (x->ts_ms > *max_ts) *max_ts = x->ts_ms;
        }
        for (int row = 0; row < all.nrows; row++)
            weir_sql_batch_append_rows(&b[r->n > 1 ? owner_of(agg, &all, row, r->n) : 0], &all, row, 1);
        for (int i = 0; i < r->n; i++) {
            CHECK(r->ops[i].vt->push(&r->ops[i], 0, &b[i], &err) == WEIR_OK);
            CHECK(r->ops[i].vt->watermark(&r->ops[i], 0, (*max_ts - 3000) * 1000, &err) == WEIR_OK);
            weir_sql_batch_free(&b[i]);
        }
        weir_sql_batch_free(&all);
    }
}

static void op_run_finish(op_run *r) {
    weir_err err;
    for (int i = 0; i < r->n; i++) CHECK(r->ops[i].vt->finish(&r->ops[i], 0, &err) == WEIR_OK);
}

typedef struct rec {
    weir_buf key, val;
} rec;

static rec recs[20000];
static int nrecs;

static void rec_put(void *ctx, const void *key, size_t klen, const void *val, size_t vlen) {
    (void)ctx;
    CHECK(nrecs < 20000);
    if (nrecs >= 20000) return;
    rec *x = &recs[nrecs++];
    weir_buf_init(&x->key);
    weir_buf_init(&x->val);
    weir_buf_append(&x->key, key, klen);
    weir_buf_append(&x->val, val, vlen);
}

static void recs_free(void) {
    for (int k = 0; k < nrecs; k++) {
        weir_buf_free(&recs[k].key);
        weir_buf_free(&recs[k].val);
    }
    nrecs = 0;
}

/* The collected rows, sorted. */
static char *collected_sorted(void) {
    weir_buf_append(&collected, "", 1);
    char *text = strdup((const char *)collected.data);
    collected.len = 0;
    char *lines[20000];
    int n = 0;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l && n < 20000; l = strtok_r(NULL, "\n", &save)) lines[n++] = l;
    char *sorted = sqltest_sorted_lines(lines, n);
    free(text);
    return sorted;
}

/* Plans the last statement of sql (after its DDL) in arena; its WINDOW_AGG node, or NULL
 * (a failed CHECK, with the planner's message) when planning fails or there is none. */
static const weir_sql_plan *plan_window_agg(weir_arena *arena, const char *sql) {
    weir_err err;
    weir_sql_plan **roots = NULL;
    int nroots = 0;
    int rc = sqltest_plan_last(arena, sql, &roots, &nroots, &err);
    if (rc != WEIR_OK) fprintf(stderr, "    (planning: %s)\n", err.msg);
    CHECK(rc == WEIR_OK);
    if (rc != WEIR_OK) return NULL;
    const weir_sql_plan *agg = sqltest_find_kind(roots[0], WEIR_SQL_PLAN_WINDOW_AGG);
    CHECK(agg != NULL);
    return agg;
}

/* One window kind: the uninterrupted run, then runs cut by a snapshot after `cut` rows and
 * continued by one restored instance and by two (the records split by key hash, the empty
 * ones to both). */
static void check_restore_aggs(const char *tvf, const char *listagg) {
    make_input(3000, 99);
    for (int i = 0; i < nin_rows; i++) in_rows[i].v %= 23; /* repeats for COUNT(DISTINCT) */
    weir_arena arena;
    weir_arena_init(&arena, 0);
    char sql[2048];
    snprintf(sql, sizeof sql,
             "CREATE TABLE ev (k STRING, v BIGINT, s STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = "
             "'wintest');"
             "SELECT k, window_start, window_end, COUNT(*), SUM(v), MIN(v), MAX(s), AVG(v), COUNT(DISTINCT v), %s, "
             "FIRST_VALUE(v), LAST_VALUE(s), SUM(DISTINCT v) FROM TABLE(%s) GROUP BY k, window_start, window_end",
             listagg, tvf);
    weir_err err;
    const weir_sql_plan *agg = plan_window_agg(&arena, sql);
    if (!agg) {
        weir_arena_free(&arena);
        return;
    }
    /* the input this test builds: ts, k, v, s */
    const weir_sql_plan *in = agg->inputs[0];
    CHECK_EQ_INT(in->ncols, 4);
    CHECK_EQ_INT(in->cols[0].type->kind, WEIR_SQL_TYPE_TIMESTAMP);
    CHECK_EQ_INT(in->cols[2].type->kind, WEIR_SQL_TYPE_BIGINT);
    int64_t max_ts = 0;
    collected.len = 0;
    op_run *whole = op_run_new(agg, 1);
    op_run_feed(whole, agg, 0, nin_rows, &max_ts);
    op_run_finish(whole);
    op_run_free(whole);
    char *want = collected_sorted();
    CHECK(strlen(want) > 1000);
    for (int split = 1; split <= 2; split++) {
        const int cut = 1700;
        max_ts = 0;
        op_run *first = op_run_new(agg, 1);
        op_run_feed(first, agg, 0, cut, &max_ts);
        CHECK(first->ops[0].state_bytes > 0);
        CHECK(weir_sql_window_agg_snapshot(&first->ops[0], rec_put, NULL, &err) == WEIR_OK);
        op_run_free(first);
        CHECK(nrecs > 3);
        op_run *second = op_run_new(agg, split);
        for (int k = 0; k < nrecs; k++) {
            const rec *x = &recs[k];
            for (int i = 0; i < split; i++) {
                if (x->key.len > 0 && split > 1 &&
                    (int)((weir_sql_hash_bytes(x->key.data, x->key.len) >> 32) % (uint64_t)split) != i)
                    continue;
                CHECK(second->ops[i].vt->restore(&second->ops[i], x->key.data, x->key.len, x->val.data, x->val.len, &err) ==
                      WEIR_OK);
            }
        }
        recs_free();
        for (int i = 0; i < split; i++) CHECK(second->ops[i].state_bytes > 0);
        op_run_feed(second, agg, cut, nin_rows, &max_ts);
        op_run_finish(second);
        for (int i = 0; i < split; i++) CHECK(second->ops[i].state_bytes < 4096); /* all fired: the tables' room only */
        op_run_free(second);
        char *got = collected_sorted();
        if (strcmp(got, want) != 0) fprintf(stderr, "  %s split %d\n  got:\n%.1500s\n  want:\n%.1500s\n", tvf, split, got, want);
        CHECK(strcmp(got, want) == 0);
        free(got);
    }
    free(want);
    weir_arena_free(&arena);
}

static void check_restore(const char *tvf) { check_restore_aggs(tvf, "LISTAGG(s)"); }

TEST(tumble_state_restores) { check_restore("TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '2' SECOND)"); }
TEST(hop_state_restores) { check_restore("HOP(TABLE ev, DESCRIPTOR(ts), INTERVAL '1' SECOND, INTERVAL '4' SECOND)"); }
/* without LISTAGG, HOP and CUMULATE keep slices (the state is per slice, windows merge them) */
TEST(hop_slices_state_restores) {
    check_restore_aggs("HOP(TABLE ev, DESCRIPTOR(ts), INTERVAL '1' SECOND, INTERVAL '4' SECOND)", "COUNT(s)");
    check_restore_aggs("HOP(TABLE ev, DESCRIPTOR(ts), INTERVAL '0.5' SECOND, INTERVAL '3' SECOND, INTERVAL '0.2' SECOND)",
                       "MIN(s)");
    check_restore_aggs("CUMULATE(TABLE ev, DESCRIPTOR(ts), INTERVAL '1' SECOND, INTERVAL '3' SECOND)", "COUNT(s)");
}
TEST(cumulate_state_restores) { check_restore("CUMULATE(TABLE ev, DESCRIPTOR(ts), INTERVAL '1' SECOND, INTERVAL '3' SECOND)"); }
TEST(session_state_restores) { check_restore("SESSION(TABLE ev PARTITION BY k, DESCRIPTOR(ts), INTERVAL '0.05' SECOND)"); }

/* A state record this operator did not write is refused with a message naming it. */
TEST(corrupt_state_is_refused) {
    weir_arena arena;
    weir_arena_init(&arena, 0);
    const char *sql = "CREATE TABLE ev (k STRING, v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = "
                      "'wintest');"
                      "SELECT k, window_start, window_end, COUNT(*) FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '2' "
                      "SECOND)) GROUP BY k, window_start, window_end";
    weir_err err;
    const weir_sql_plan *agg = plan_window_agg(&arena, sql);
    if (!agg) {
        weir_arena_free(&arena);
        return;
    }
    op_run *r = op_run_new(agg, 1);
    const uint8_t bad_version[] = {9, 'W'}, short_rec[] = {1, 'G', 0, 0}, key[] = {1, 1, 0, 0, 0, 'a'};
    CHECK(r->ops[0].vt->restore(&r->ops[0], NULL, 0, bad_version, sizeof bad_version, &err) == WEIR_ERROR);
    CHECK(strstr(err.msg, "format version 9") != NULL);
    CHECK(r->ops[0].vt->restore(&r->ops[0], key, sizeof key, short_rec, sizeof short_rec, &err) == WEIR_ERROR);
    CHECK(strstr(err.msg, "does not fit this operator") != NULL);
    op_run_free(r);
    weir_arena_free(&arena);
}

/* SESSION keys whose sessions have all fired are dropped: 6000 keys, one short session
 * each, in time order; once the watermark has passed them the state is small again. */
TEST(fired_session_keys_are_freed) {
    reset();
    for (int i = 0; i < 6000; i++) {
        win_row *r = &in_rows[nin_rows++];
        snprintf(r->key, sizeof r->key, "k%d", i % 10000);
        r->v = i % 10;
        r->ts_ms = BASE_MS + i * 100;
    }
    weir_arena arena;
    weir_arena_init(&arena, 0);
    const char *sql = "CREATE TABLE ev (k STRING, v BIGINT, s STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH "
                      "('connector' = 'wintest');"
                      "SELECT k, window_start, window_end, COUNT(*), SUM(v), MIN(v), MAX(s), AVG(v), COUNT(DISTINCT v), "
                      "LISTAGG(s), FIRST_VALUE(v), LAST_VALUE(s) FROM TABLE(SESSION(TABLE ev PARTITION BY k, DESCRIPTOR(ts), "
                      "INTERVAL '1' SECOND)) GROUP BY k, window_start, window_end";
    const weir_sql_plan *agg = plan_window_agg(&arena, sql);
    if (!agg) {
        weir_arena_free(&arena);
        return;
    }
    op_run *r = op_run_new(agg, 1);
    int64_t max_ts = 0;
    op_run_feed(r, agg, 0, 3000, &max_ts);
    int64_t half = r->ops[0].state_bytes;
    op_run_feed(r, agg, 3000, nin_rows, &max_ts);
    /* about 40 keys are open at any time (3 s of watermark delay, 1 s gap, a row per 0.1 s):
     * the key table is compacted once it holds over 1024 keys, so its room stays bounded
     * (6000 keys kept would take about 450 KB) */
    if (r->ops[0].state_bytes >= 256 * 1024)
        fprintf(stderr, "    state_bytes %lld (half-way %lld)\n", (long long)r->ops[0].state_bytes, (long long)half);
    CHECK(r->ops[0].state_bytes < 256 * 1024);
    CHECK(r->ops[0].state_bytes <= half * 3 / 2);
    op_run_finish(r);
    op_run_free(r);
    char *got = collected_sorted();
    CHECK_EQ_INT(strlen(got) > 0, 1);
    int lines = 0;
    for (const char *p = got; *p; p++) lines += *p == '\n';
    CHECK_EQ_INT(lines, 6000);
    free(got);
    weir_arena_free(&arena);
}

/* ---- late rows to the dead-letter topic --------------------------------------------------
 * A stand-in 'kafka' connector (the engine opens the dead-letter sink through whatever is
 * registered under that name) records the table it was opened on and the rows written,
 * headers decoded. */

static char dlq_seen[4096];
static int dlq_flushes;

static int dlq_sink_open(const weir_sql_conn_ctx *ctx, void **sink, weir_err *err) {
    (void)err;
    const weir_sql_table *t = ctx->table;
    size_t n = strlen(dlq_seen);
    n += (size_t)snprintf(dlq_seen + n, sizeof dlq_seen - n, "open topic=%s format=%s bootstrap=%s cols=",
                          weir_sql_table_option(t, "topic"), weir_sql_table_option(t, "format"),
                          weir_sql_table_option(t, "properties.bootstrap.servers"));
    for (int c = 0; c < t->ncolumns; c++)
        n += (size_t)snprintf(dlq_seen + n, sizeof dlq_seen - n, "%s%s%s", c ? "," : "", t->columns[c].name,
                              t->columns[c].kind == WEIR_SQL_COLUMN_METADATA ? "(meta)" : "");
    snprintf(dlq_seen + n, sizeof dlq_seen - n, "\n");
    *sink = (void *)t;
    return WEIR_OK;
}

static int dlq_open_writer(void *sink, int worker, void **writer, weir_err *err) {
    (void)worker;
    (void)err;
    *writer = sink;
    return WEIR_OK;
}

static int dlq_sink_write(void *writer, const weir_sql_batch *b, weir_err *err) {
    (void)writer;
    (void)err;
    for (int r = 0; r < b->nrows; r++) {
        weir_buf line;
        weir_buf_init(&line);
        for (int c = 0; c < b->ncols - 1; c++) {
            weir_sql_batch_format(&line, b, c, r);
            weir_buf_append(&line, "|", 1);
        }
        /* the headers: u32 count, then (key, value) elements, each a tag, u32 length, bytes */
        weir_str h = weir_sql_batch_get_str(b, b->ncols - 1, r);
        const uint8_t *p = (const uint8_t *)h.ptr;
        uint32_t count;
        memcpy(&count, p, 4);
        p += 4;
        for (uint32_t k = 0; k < 2 * count; k++) {
            uint32_t len;
            memcpy(&len, p + 1, 4);
            weir_buf_append(&line, p + 5, len);
            weir_buf_append(&line, k % 2 ? ";" : "=", 1);
            p += 5 + len;
        }
        weir_buf_append(&line, "\n", 2);
        strncat(dlq_seen, (const char *)line.data, sizeof dlq_seen - strlen(dlq_seen) - 1);
        weir_buf_free(&line);
    }
    return WEIR_OK;
}

static int dlq_sink_flush(void *writer, weir_err *err) {
    (void)writer;
    (void)err;
    dlq_flushes++;
    return WEIR_OK;
}

static void dlq_close_writer(void *writer) { (void)writer; }

static const weir_sql_sink_ops dlq_sink_ops = {
    .open = dlq_sink_open, .open_writer = dlq_open_writer, .write = dlq_sink_write, .flush = dlq_sink_flush,
    .close_writer = dlq_close_writer, .close = sqltest_sink_close,
};
static const weir_sql_connector fake_kafka = {.name = "kafka", .sink = &dlq_sink_ops};

/* The late row of late_row_is_counted_and_left_out goes to the dead-letter topic of its
 * source table, with the reason; the job counts it both as late and as dead-lettered. */
TEST(late_row_goes_to_the_dead_letter_topic) {
    reset();
    dlq_seen[0] = 0;
    weir_sql_register_connector(&fake_kafka);
    add_late_rows();
    weir_sql_session *s = sqltest_session(1, stderr);
    CHECK(sqltest_exec(s, "CREATE TABLE ev (k STRING, v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) "
                          "WITH ('connector' = 'wintest', 'splits' = '1', 'batch' = '1', 'topic' = 'events', "
                          "'errors.dead-letter-topic' = 'late-events', 'properties.bootstrap.servers' = 'b:9092', "
                          "'properties.group.id' = 'g');"
                          "CREATE TABLE o (k STRING, ws TIMESTAMP(3), n BIGINT, s BIGINT) WITH ('connector' = 'wintest');"
                          "SET 'table.dml-sync' = 'true';"
                          "INSERT INTO o SELECT k, window_start, COUNT(*), SUM(v) FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), "
                          "INTERVAL '10' SECOND)) GROUP BY k, window_start, window_end;") == WEIR_OK);
    weir_sql_job_stats st;
    weir_sql_session_stats(s, &st);
    CHECK_EQ_INT(st.late_rows, 1);
    CHECK_EQ_INT(st.dead_lettered, 1);
    CHECK(dlq_flushes > 0);
    CHECK_EQ_STR(dlq_seen,
                 "open topic=late-events format=json bootstrap=b:9092 cols=ts,k,v,__weir_timestamp(meta),__weir_headers(meta)\n"
                 "2024-01-01 00:00:03.000|a|3|2024-01-01 00:00:03.000|__weir.errors.topic=events;"
                 "__weir.errors.exception.message=late row: event time 2024-01-01 00:00:03.000 is behind the window "
                 "operator's watermark 2024-01-01 00:00:12.000 (the window it belongs to has fired);"
                 "__weir.errors.stage=window;__weir.errors.table=ev;\n");
    char *got = output_sorted();
    CHECK_EQ_STR(got, "a|1704067200000000|2|1\na|1704067210000000|2|6\n");
    free(got);
    weir_sql_session_free(s);
}

/* ---- processing-time windows ------------------------------------------------------------- */

/* The output rows "k|ws|we|n|s": the sum of n, and whether every window is size_us long
 * and lies in [lo_ms, hi_ms]. */
static int64_t proc_total(int64_t size_us, int64_t lo_ms, int64_t hi_ms, bool *ok) {
    int64_t total = 0;
    *ok = true;
    pthread_mutex_lock(&out_lock);
    for (int k = 0; k < nout_rows; k++) {
        char key[16];
        long long ws, we, n, sum;
        if (sscanf(out_rows[k], "%15[^|]|%lld|%lld|%lld|%lld", key, &ws, &we, &n, &sum) != 5) {
            *ok = false;
            continue;
        }
        total += n;
        if (we - ws != size_us || ws / 1000 < lo_ms || we / 1000 > hi_ms) *ok = false;
    }
    pthread_mutex_unlock(&out_lock);
    return total;
}

/* TUMBLE over a PROCTIME() column on an unbounded source: the rows' windows are the wall
 * clock's when they arrive, and they fire on the clock's ticks, while the source still
 * runs (no watermark, no end of input). */
TEST(processing_time_windows_fire_on_the_clock) {
    reset();
    for (int i = 0; i < 30; i++) add_row(i % 2, (const char *[]){"k0", "k1", "k2"}[i % 3], i, 0);
    weir_sql_session *s = sqltest_session(2, stderr);
    int64_t t0 = weir_now_ms();
    CHECK(sqltest_exec(s, "CREATE TABLE clk (k STRING, v BIGINT, pt AS PROCTIME()) "
                          "WITH ('connector' = 'wintest', 'splits' = '2', 'unbounded' = 'true');"
                          "CREATE TABLE o (k STRING, ws TIMESTAMP(3), we TIMESTAMP(3), n BIGINT, s BIGINT) WITH ('connector' = 'wintest');"
                          "INSERT INTO o SELECT k, window_start, window_end, COUNT(*), SUM(v) FROM TABLE(TUMBLE(TABLE clk, "
                          "DESCRIPTOR(pt), INTERVAL '0.2' SECOND)) GROUP BY k, window_start, window_end;") == WEIR_OK);
    int64_t deadline = weir_mono_ms() + 10000;
    bool ok = false;
    while (weir_mono_ms() < deadline && proc_total(200000, t0 - 200, weir_now_ms(), &ok) < 30) usleep(2000);
    int64_t fired_by = weir_now_ms();
    CHECK_EQ_INT(proc_total(200000, t0 - 200, fired_by, &ok), 30);
    CHECK(ok); /* each window 200 ms, begun after the job started and ended before it fired */
    CHECK(noutput() >= 3);
    weir_sql_job_stats st;
    weir_sql_session_stats(s, &st);
    CHECK_EQ_INT(st.late_rows, 0);
    weir_sql_session_stop(s);
    weir_err err;
    CHECK(weir_sql_session_wait(s, &err) == WEIR_OK);
    weir_sql_session_free(s);
}

/* A bounded source's end fires every open processing-time window (here one hour long:
 * the clock would not have closed it), each key's rows counted once. */
TEST(processing_time_windows_fire_at_the_end_of_input) {
    reset();
    for (int i = 0; i < 30; i++) add_row(i % 2, (const char *[]){"k0", "k1", "k2"}[i % 3], i, 0);
    weir_sql_session *s = sqltest_session(2, stderr);
    int64_t t0 = weir_now_ms();
    CHECK(sqltest_exec(s, "CREATE TABLE clk (k STRING, v BIGINT, pt AS PROCTIME()) WITH ('connector' = 'wintest', 'splits' = '2');"
                          "CREATE TABLE o (k STRING, ws TIMESTAMP(3), we TIMESTAMP(3), n BIGINT, s BIGINT) WITH ('connector' = 'wintest');"
                          "SET 'table.dml-sync' = 'true';"
                          "INSERT INTO o SELECT k, window_start, window_end, COUNT(*), SUM(v) FROM TABLE(TUMBLE(TABLE clk, "
                          "DESCRIPTOR(pt), INTERVAL '1' HOUR)) GROUP BY k, window_start, window_end;") == WEIR_OK);
    bool ok = false;
    CHECK_EQ_INT(proc_total(3600000000LL, t0 - 3600000, t0 + 7200000, &ok), 30);
    CHECK(ok);
    /* the three keys, in one window each unless the clock crossed an hour meanwhile */
    CHECK(noutput() >= 3 && noutput() <= 6);
    weir_sql_session_free(s);
}

/* ---- 'table.local-time-zone' ------------------------------------------------------------- */

/* Daily TUMBLE windows over a TIMESTAMP_LTZ rowtime in zone: rows at the given UTC times
 * (ms); returns the output rows sorted ("k|window_start|window_end|window_time|n", times in
 * micros). */
static char *ltz_daily(const char *zone, const int64_t *utc_ms, int n) {
    reset();
    for (int i = 0; i < n; i++) add_row(0, "a", i, utc_ms[i]);
    weir_err err;
    weir_sql_session *s = sqltest_session(1, stderr);
    char script[1024];
    /* the zone as a user sets it: the job applies it at its start */
    snprintf(script, sizeof script,
             "SET 'table.local-time-zone' = '%s';"
             "CREATE TABLE ev (k STRING, v BIGINT, ts TIMESTAMP_LTZ(3), WATERMARK FOR ts AS ts) "
             "WITH ('connector' = 'wintest', 'splits' = '1', 'batch' = '1');"
             "CREATE TABLE o (k STRING, ws TIMESTAMP(3), we TIMESTAMP(3), wt TIMESTAMP_LTZ(3), n BIGINT) "
             "WITH ('connector' = 'wintest');"
             "SET 'table.dml-sync' = 'true';"
             "INSERT INTO o SELECT k, window_start, window_end, window_time, COUNT(*) FROM TABLE(TUMBLE(TABLE ev, "
             "DESCRIPTOR(ts), INTERVAL '1' DAY)) GROUP BY k, window_start, window_end, window_time;",
             zone);
    CHECK(sqltest_exec(s, script) == WEIR_OK);
    weir_sql_job_stats st;
    weir_sql_session_stats(s, &st);
    CHECK_EQ_INT(st.late_rows, 0);
    weir_sql_session_free(s);
    CHECK(weir_sql_time_zone_set("default", &err) == WEIR_OK);
    return output_sorted();
}

/* 2024-01-01 15:00Z is 23:00 in Shanghai (UTC+8) and 17:00Z is 01:00 the next day there:
 * two local days, one UTC day. window_start/end are the local midnights (TIMESTAMP),
 * window_time the instant before the end (TIMESTAMP_LTZ: 16:00Z - 1 ms). */
TEST(ltz_windows_align_to_the_session_zone) {
    const int64_t t[] = {BASE_MS + 15 * 3600000LL, BASE_MS + 17 * 3600000LL, BASE_MS + 30 * 3600000LL};
    const int64_t D = 86400000000LL, B = BASE_MS * 1000, H = 3600000000LL;
    char want[512];
    snprintf(want, sizeof want, "a|%lld|%lld|%lld|1\na|%lld|%lld|%lld|2\n", (long long)B, (long long)(B + D),
             (long long)(B + D - 8 * H - 1000), (long long)(B + D), (long long)(B + 2 * D), (long long)(B + 2 * D - 8 * H - 1000));
    char *got = ltz_daily("Asia/Shanghai", t, 3);
    CHECK_EQ_STR(got, want);
    free(got);
    got = ltz_daily("GMT+08:00", t, 3); /* the same as a fixed offset */
    CHECK_EQ_STR(got, want);
    free(got);
    snprintf(want, sizeof want, "a|%lld|%lld|%lld|2\na|%lld|%lld|%lld|1\n", (long long)B, (long long)(B + D),
             (long long)(B + D - 1000), (long long)(B + D), (long long)(B + 2 * D), (long long)(B + 2 * D - 1000));
    got = ltz_daily("UTC", t, 3);
    CHECK_EQ_STR(got, want);
    free(got);
}

/* New York's 2024-03-10 has 23 hours (clocks go from 02:00 to 03:00): its window runs from
 * 05:00Z to 04:00Z the next day, and fires at that instant. */
TEST(ltz_day_window_across_daylight_saving) {
    const int64_t mar10 = 1710028800000LL; /* 2024-03-10 00:00:00 UTC */
    const int64_t H = 3600000LL;
    const int64_t t[] = {mar10 + 6 * H, mar10 + 27 * H, mar10 + 29 * H};
    char want[512];
    /* local 03-10 00:00 .. 03-11 00:00 as TIMESTAMPs; window_time 03-11 04:00Z - 1 ms; the
     * 29 h row is 01:00 local on 03-11 (EDT, UTC-4) */
    snprintf(want, sizeof want, "a|%lld|%lld|%lld|2\na|%lld|%lld|%lld|1\n", (long long)mar10 * 1000,
             (long long)(mar10 + 24 * H) * 1000, (long long)(mar10 + 28 * H) * 1000 - 1000, (long long)(mar10 + 24 * H) * 1000,
             (long long)(mar10 + 48 * H) * 1000, (long long)(mar10 + 52 * H) * 1000 - 1000);
    char *got = ltz_daily("America/New_York", t, 3);
    CHECK_EQ_STR(got, want);
    free(got);
}

TEST(unknown_time_zone_is_refused) {
    weir_err err;
    CHECK(weir_sql_time_zone_check("Mars/Olympus_Mons", &err) == WEIR_ERROR);
    CHECK_EQ_STR(err.msg, "'table.local-time-zone' = 'Mars/Olympus_Mons' is not a time zone: give a region of the tz "
                          "database (e.g. 'Asia/Shanghai', 'America/Los_Angeles'), 'UTC', an offset such as 'GMT+08:00', "
                          "or 'default'");
    CHECK(weir_sql_time_zone_check("../../etc/passwd", &err) == WEIR_ERROR);
    CHECK(weir_sql_time_zone_check("GMT+25:00", &err) == WEIR_ERROR);
    CHECK(weir_sql_time_zone_check("Europe/Berlin", &err) == WEIR_OK);
    CHECK(weir_sql_time_zone_check("+05:30", &err) == WEIR_OK);
    CHECK(weir_sql_time_zone_check("UTC", &err) == WEIR_OK);
    CHECK(weir_sql_time_zone_set("Nowhere/Land", &err) == WEIR_ERROR);
}

int main(void) {
    weir_sql_register_connector(&wintest);
    weir_test_case cases[] = {
        {"tumble_matches_oracle", tumble_matches_oracle},
        {"tumble_with_offset_matches_oracle", tumble_with_offset_matches_oracle},
        {"hop_matches_oracle", hop_matches_oracle},
        {"cumulate_matches_oracle", cumulate_matches_oracle},
        {"session_matches_oracle", session_matches_oracle},
        {"distinct_aggregates_match_oracle", distinct_aggregates_match_oracle},
        {"listagg_first_last_match_oracle", listagg_first_last_match_oracle},
        {"cascaded_windows", cascaded_windows},
        {"many_keys_and_key_table_compaction", many_keys_and_key_table_compaction},
        {"late_row_is_counted_and_left_out", late_row_is_counted_and_left_out},
        {"idle_split_holds_back_the_watermark", idle_split_holds_back_the_watermark},
        {"idle_timeout_leaves_an_idle_split_out", idle_timeout_leaves_an_idle_split_out},
        {"idle_split_on_the_same_worker", idle_split_on_the_same_worker},
        {"lagging_split_is_not_late", lagging_split_is_not_late},
        {"runtime_error_fails_a_window_job", runtime_error_fails_a_window_job},
        {"bad_idle_timeout_is_refused", bad_idle_timeout_is_refused},
        {"tumble_state_restores", tumble_state_restores},
        {"hop_state_restores", hop_state_restores},
        {"hop_slices_state_restores", hop_slices_state_restores},
        {"cumulate_state_restores", cumulate_state_restores},
        {"session_state_restores", session_state_restores},
        {"corrupt_state_is_refused", corrupt_state_is_refused},
        {"fired_session_keys_are_freed", fired_session_keys_are_freed},
        {"late_row_goes_to_the_dead_letter_topic", late_row_goes_to_the_dead_letter_topic},
        {"processing_time_windows_fire_on_the_clock", processing_time_windows_fire_on_the_clock},
        {"processing_time_windows_fire_at_the_end_of_input", processing_time_windows_fire_at_the_end_of_input},
        {"ltz_windows_align_to_the_session_zone", ltz_windows_align_to_the_session_zone},
        {"ltz_day_window_across_daylight_saving", ltz_day_window_across_daylight_saving},
        {"unknown_time_zone_is_refused", unknown_time_zone_is_refused},
    };
    int rc = weir_test_run(__FILE__, cases, sizeof cases / sizeof cases[0]);
    reset();
    weir_buf_free(&collected);
    return rc;
}
