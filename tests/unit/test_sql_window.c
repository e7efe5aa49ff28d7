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

static int col_of(const weir_sql_table *t, const char *name) {
    for (int c = 0; c < t->ncolumns; c++)
        if (strcmp(t->columns[c].name, name) == 0) return c;
    return -1;
}

static int win_open(const weir_sql_conn_ctx *ctx, void **source, int *nsplits, weir_err *err) {
    (void)err;
    win_source *s = calloc(1, sizeof *s);
    s->table = ctx->table;
    s->job = ctx->job;
    const char *v = weir_sql_table_option(ctx->table, "splits");
    s->nsplits = v ? atoi(v) : 4;
    v = weir_sql_table_option(ctx->table, "batch");
    s->batch = v ? atoi(v) : 16;
    v = weir_sql_table_option(ctx->table, "unbounded");
    s->unbounded = v && strcmp(v, "true") == 0;
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
    int ck = col_of(t, "k"), cv = col_of(t, "v"), cts = col_of(t, "ts");
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

static int win_sink_open(const weir_sql_conn_ctx *ctx, void **sink, weir_err *err) {
    (void)err;
    *sink = (void *)ctx->table;
    return WEIR_OK;
}

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
        weir_buf line;
        weir_buf_init(&line);
        for (int c = 0; c < b->ncols; c++) {
            char num[32];
            if (c) weir_buf_append(&line, "|", 1);
            const weir_sql_ltype *t = &b->cols[c].type;
            if (weir_sql_batch_is_null(b, c, r)) weir_buf_append(&line, "NULL", 4);
            else if (t->kind == WEIR_SQL_TYPE_STRING || t->kind == WEIR_SQL_TYPE_VARCHAR) weir_sql_batch_format(&line, b, c, r);
            else {
                snprintf(num, sizeof num, "%lld", (long long)weir_sql_batch_get_i64(b, c, r));
                weir_buf_append(&line, num, strlen(num));
            }
        }
        weir_buf_append(&line, "", 1);
        pthread_mutex_lock(&out_lock);
        if (nout_rows < MAX_IN) {
            out_workers[nout_rows] = ((win_writer *)writer)->worker;
            out_rows[nout_rows++] = strdup((const char *)line.data);
        }
        pthread_mutex_unlock(&out_lock);
        weir_buf_free(&line);
    }
    return WEIR_OK;
}

static int win_flush(void *writer, weir_err *err) {
    (void)writer;
    (void)err;
    return WEIR_OK;
}

static void win_close_writer(void *writer) { free(writer); }

static int win_sink_close(void *sink, weir_err *err) {
    (void)sink;
    (void)err;
    return WEIR_OK;
}

static const weir_sql_source_ops win_source_ops = {
    .open = win_open, .open_reader = win_open_reader, .read = win_read, .close_reader = win_close_reader, .close = win_close,
};
static const weir_sql_sink_ops win_sink_ops = {
    .open = win_sink_open, .open_writer = win_open_writer, .write = win_write, .flush = win_flush,
    .close_writer = win_close_writer, .close = win_sink_close,
};
static const weir_sql_connector wintest = {.name = "wintest", .source = &win_source_ops, .sink = &win_sink_ops};

/* ---- helpers ------------------------------------------------------------------------------ */

static weir_sql_session *new_session(int parallelism) {
    weir_sql_session_opts o = {.out = stderr, .parallelism = parallelism};
    weir_sql_session *s = NULL;
    weir_err err;
    CHECK(weir_sql_session_new(&o, &s, &err) == WEIR_OK);
    return s;
}

static int exec(weir_sql_session *s, const char *sql) {
    weir_err err;
    int rc = weir_sql_session_execute(s, sql, strlen(sql), &err);
    if (rc != WEIR_OK) fprintf(stderr, "    (execute: %s)\n", err.msg);
    return rc;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The output rows, sorted, one per line. */
static char *output_sorted(void) {
    pthread_mutex_lock(&out_lock);
    char **copy = malloc(sizeof *copy * (size_t)(nout_rows + 1));
    memcpy(copy, out_rows, sizeof *copy * (size_t)nout_rows);
    qsort(copy, (size_t)nout_rows, sizeof *copy, cmp_str);
    weir_buf b;
    weir_buf_init(&b);
    for (int k = 0; k < nout_rows; k++) {
        weir_buf_append(&b, copy[k], strlen(copy[k]));
        weir_buf_append(&b, "\n", 1);
    }
    weir_buf_append(&b, "", 1);
    pthread_mutex_unlock(&out_lock);
    free(copy);
    return (char *)b.data;
}

static const char *SOURCE_DDL =
    "CREATE TABLE ev (k STRING, v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) "
    "WITH ('connector' = 'wintest', 'splits' = '4', 'batch' = '16');"
    "CREATE TABLE out9 (k STRING, ws TIMESTAMP(3), we TIMESTAMP(3), n BIGINT, s BIGINT, lo BIGINT, hi BIGINT, a BIGINT, "
    "cd BIGINT, big BIGINT) WITH ('connector' = 'wintest');"
    "SET 'table.dml-sync' = 'true';";

#define BASE_MS 1704067200000LL /* 2024-01-01 00:00:00 UTC */

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
static char *oracle(const char *windows_sql, bool distinct) {
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
             windows_sql, distinct ? "COUNT(DISTINCT v % 7)" : "COUNT(v)");
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
static void check_against_oracle(const char *tvf, const char *windows_sql, bool distinct) {
    reset();
    make_input(3000, 42);
    weir_sql_session *s = new_session(2);
    CHECK(exec(s, SOURCE_DDL) == WEIR_OK);
    char sql[1024];
    snprintf(sql, sizeof sql,
             "INSERT INTO out9 SELECT k, window_start, window_end, COUNT(*), SUM(v), MIN(v), MAX(v), AVG(v), "
             "%s, COUNT(*) FILTER (WHERE v > 500) FROM TABLE(%s) GROUP BY k, window_start, window_end;",
             distinct ? "COUNT(DISTINCT MOD(v, 7))" : "COUNT(v)", tvf);
    CHECK(exec(s, sql) == WEIR_OK);
    weir_err err;
    CHECK(weir_sql_session_wait(s, &err) == WEIR_OK);
    weir_sql_job_stats st;
    weir_sql_session_stats(s, &st);
    CHECK_EQ_INT(st.rows_in, 3000);
    CHECK_EQ_INT(st.late_rows, 0);
    char *got = output_sorted();
    char *want = oracle(windows_sql, distinct);
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
                         "AS we FROM ev", true);
}

TEST(tumble_with_offset_matches_oracle) {
    check_against_oracle("TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '2' SECOND, INTERVAL '0.3' SECOND)",
                         "SELECT k, v, ts - ((((ts - 300) % 2000) + 2000) % 2000) AS ws, "
                         "ts - ((((ts - 300) % 2000) + 2000) % 2000) + 2000 AS we FROM ev", true);
}

TEST(hop_matches_oracle) {
    /* slide 500 ms, size 2 s, offset 100 ms: each row is in 4 windows */
    check_against_oracle("HOP(TABLE ev, DESCRIPTOR(ts), INTERVAL '0.5' SECOND, INTERVAL '2' SECOND, INTERVAL '0.1' SECOND)",
                         "SELECT k, v, ts - ((((ts - 100) % 500) + 500) % 500) - n.i * 500 AS ws, "
                         "ts - ((((ts - 100) % 500) + 500) % 500) - n.i * 500 + 2000 AS we FROM ev, n WHERE n.i < 4", true);
}

TEST(cumulate_matches_oracle) {
    /* step 1 s, size 3 s: windows [s, s + 1 s), [s, s + 2 s), [s, s + 3 s) that hold the row */
    check_against_oracle("CUMULATE(TABLE ev, DESCRIPTOR(ts), INTERVAL '1' SECOND, INTERVAL '3' SECOND)",
                         "SELECT k, v, ts - (((ts % 3000) + 3000) % 3000) AS ws, "
                         "ts - (((ts % 3000) + 3000) % 3000) + (n.i + 1) * 1000 AS we FROM ev, n "
                         "WHERE n.i < 3 AND ts - (((ts % 3000) + 3000) % 3000) + (n.i + 1) * 1000 > ts", true);
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
                         true);
}

/* LISTAGG, FIRST_VALUE and LAST_VALUE go by arrival order: one split read by one worker
 * gives the rows in input order, which SQLite's rowid keeps (its group_concat of an
 * ordered subquery follows that order; 3.40 has no ORDER BY inside group_concat). NULL
 * values are skipped by all three, as Flink's. */
TEST(listagg_first_last_match_oracle) {
    reset();
    make_input(3000, 7);
    for (int i = 0; i < nin_rows; i++) in_rows[i].split = 0;
    weir_sql_session *s = new_session(1);
    CHECK(exec(s, "CREATE TABLE ev (k STRING, v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) "
                  "WITH ('connector' = 'wintest', 'splits' = '1', 'batch' = '16');"
                  "CREATE TABLE o (k STRING, ws TIMESTAMP(3), l STRING, lf STRING, f BIGINT, la BIGINT, fb BIGINT) "
                  "WITH ('connector' = 'wintest');"
                  "SET 'table.dml-sync' = 'true';") == WEIR_OK);
    CHECK(exec(s, "INSERT INTO o SELECT k, window_start, LISTAGG(CAST(v AS STRING), ';'), "
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
    weir_sql_session *s = new_session(2);
    CHECK(exec(s, SOURCE_DDL) == WEIR_OK);
    CHECK(exec(s, "CREATE TABLE o (ws TIMESTAMP(3), n BIGINT, parts BIGINT) WITH ('connector' = 'wintest');"
                  "CREATE VIEW per_key AS SELECT k, window_time AS wt, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE ev, "
                  "DESCRIPTOR(ts), INTERVAL '1' SECOND)) GROUP BY k, window_start, window_end, window_time;"
                  "INSERT INTO o SELECT window_start, SUM(n), COUNT(*) FROM TABLE(TUMBLE(TABLE per_key, DESCRIPTOR(wt), "
                  "INTERVAL '5' SECOND)) GROUP BY window_start, window_end;") == WEIR_OK);
    weir_sql_job_stats st;
    weir_sql_session_stats(s, &st);
    CHECK_EQ_INT(st.late_rows, 0);
    /* the oracle: rows per 5 s window, and the (key, second) pairs in it */
    weir_buf want;
    weir_buf_init(&want);
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
    qsort(lines, (size_t)nlines, sizeof *lines, cmp_str);
    for (int k = 0; k < nlines; k++) {
        weir_buf_append(&want, lines[k], strlen(lines[k]));
        weir_buf_append(&want, "\n", 1);
        free(lines[k]);
    }
    free(lines);
    weir_buf_append(&want, "", 1);
    char *got = output_sorted();
    CHECK(nlines > 3);
    CHECK_EQ_STR(got, (const char *)want.data);
    free(got);
    weir_buf_free(&want);
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
    weir_sql_session *s = new_session(1);
    CHECK(exec(s, "CREATE TABLE ev (k STRING, v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) "
                  "WITH ('connector' = 'wintest', 'splits' = '4', 'batch' = '64');"
                  "CREATE TABLE o (k STRING, ws TIMESTAMP(3), n BIGINT, v BIGINT) WITH ('connector' = 'wintest');"
                  "SET 'table.dml-sync' = 'true';"
                  "INSERT INTO o SELECT k, window_start, COUNT(*), MAX(v) FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), "
                  "INTERVAL '1' SECOND)) GROUP BY k, window_start, window_end;") == WEIR_OK);
    weir_sql_job_stats st;
    weir_sql_session_stats(s, &st);
    CHECK_EQ_INT(st.late_rows, 0);
    CHECK_EQ_INT(noutput(), 20000);
    char **want = calloc(20000, sizeof *want);
    for (int i = 0; i < 20000; i++) {
        char line[96];
        snprintf(line, sizeof line, "x%d|%lld|1|%d", i % 15000, (long long)(BASE_MS + i / 1000 * 1000) * 1000, i);
        want[i] = strdup(line);
    }
    qsort(want, 20000, sizeof *want, cmp_str);
    weir_buf w;
    weir_buf_init(&w);
    for (int i = 0; i < 20000; i++) {
        weir_buf_append(&w, want[i], strlen(want[i]));
        weir_buf_append(&w, "\n", 1);
        free(want[i]);
    }
    free(want);
    weir_buf_append(&w, "", 1);
    char *got = output_sorted();
    if (strcmp(got, (const char *)w.data) != 0) { /* show where they part */
        size_t d = 0;
        while (got[d] && got[d] == ((const char *)w.data)[d]) d++;
        size_t from = d > 80 ? d - 80 : 0;
        fprintf(stderr, "  got:\n%.200s\n  want:\n%.200s\n", got + from, (const char *)w.data + from);
    }
    CHECK(strcmp(got, (const char *)w.data) == 0);
    free(got);
    weir_buf_free(&w);
    weir_sql_session_free(s);
}

/* One split read a row at a time: after the 12 s row the watermark (delay 0) is past the
 * first window's end, so the 3 s row after it is late: counted, not aggregated. */
TEST(late_row_is_counted_and_left_out) {
    reset();
    const int64_t ts[] = {1000, 2000, 12000, 3000, 15000};
    for (int i = 0; i < 5; i++) {
        win_row *r = &in_rows[nin_rows++];
        r->split = 0;
        snprintf(r->key, sizeof r->key, "a");
        r->v = i;
        r->ts_ms = BASE_MS + ts[i];
    }
    weir_sql_session *s = new_session(1);
    CHECK(exec(s, "CREATE TABLE ev (k STRING, v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) "
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
    for (int i = 0; i < 30; i++) {
        win_row *r = &in_rows[nin_rows++];
        r->split = 0;
        snprintf(r->key, sizeof r->key, "k%d", i % 3);
        r->v = i;
        r->ts_ms = BASE_MS + i * 1000;
    }
    weir_sql_session *s = new_session(parallelism);
    char sql[1024];
    snprintf(sql, sizeof sql,
             "%s CREATE TABLE ev (k STRING, v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) "
             "WITH ('connector' = 'wintest', 'splits' = '2', 'unbounded' = 'true');"
             "CREATE TABLE o (k STRING, ws TIMESTAMP(3), n BIGINT) WITH ('connector' = 'wintest');"
             "INSERT INTO o SELECT k, window_start, COUNT(*) FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), "
             "INTERVAL '10' SECOND)) GROUP BY k, window_start, window_end;",
             timeout);
    CHECK(exec(s, sql) == WEIR_OK);
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
    for (int i = 0; i < 40; i++) {
        win_row *r = &in_rows[nin_rows++];
        r->split = i < 20 ? 0 : 1;
        snprintf(r->key, sizeof r->key, "a");
        r->v = i;
        r->ts_ms = BASE_MS + (i < 20 ? 20000 + i * 1000 : (i - 20) * 1000);
    }
    weir_sql_session *s = new_session(1);
    CHECK(exec(s, "CREATE TABLE ev (k STRING, v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) "
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
    weir_sql_session *s = new_session(2);
    CHECK(exec(s, SOURCE_DDL) == WEIR_OK);
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
    weir_sql_session *s = new_session(1);
    CHECK(exec(s, SOURCE_DDL) == WEIR_OK);
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

int main(void) {
    weir_sql_register_connector(&wintest);
    weir_test_case cases[] = {
        {"tumble_matches_oracle", tumble_matches_oracle},
        {"tumble_with_offset_matches_oracle", tumble_with_offset_matches_oracle},
        {"hop_matches_oracle", hop_matches_oracle},
        {"cumulate_matches_oracle", cumulate_matches_oracle},
        {"session_matches_oracle", session_matches_oracle},
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
    };
    int passed = 0, failed = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int before = weir_test_failed_checks;
        cases[i].fn();
        if (weir_test_failed_checks == before) passed++;
        else {
            failed++;
            fprintf(stderr, "FAIL %s\n", cases[i].name);
        }
    }
    reset();
    printf("tests/unit/test_sql_window.c: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
