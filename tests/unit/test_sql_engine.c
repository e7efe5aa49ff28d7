/* test_sql_engine.c — the SQL engine and session (engine.c, op_*.c, session.c) over
 * in-test connectors: "memtest", an in-memory source with several splits that produces
 * known rows (bounded, or unbounded until stopped; optionally failing or skipping rows)
 * and a sink that collects what it is written, both recording the calls they get. Checks
 * the work spread over workers by split, exactly-once delivery of every row, filters,
 * projections, computed columns, UNION ALL, VALUES, LIMIT, runtime errors, stop() with
 * flush-before-commit, statistics and SET parallelism.default; then every
 * tests/sql/run/ script run by a session with parallelism 1 against its .out. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "sql/sql.h"
#include "golden.h"
#include "sqltest.h"
#include "test.h"

/* ---- what the connectors saw ------------------------------------------------------------ */

#define MAX_EVENTS 100000
#define MAX_ROWS 200000

static pthread_mutex_t rec_lock = PTHREAD_MUTEX_INITIALIZER;
static char *events[MAX_EVENTS];
static int nevents;
static char *rows_written[MAX_ROWS];
static int nrows_written;
static int reader_workers[64];   /* per worker: readers opened */
static int reader_splits[64];    /* per split: times assigned */
static bool saw_stopping;
static char seen_config[128];
static bool needed_seen[16];

static void record(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void record(const char *fmt, ...) {
    char buf[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&rec_lock);
    if (nevents < MAX_EVENTS) events[nevents++] = strdup(buf);
    pthread_mutex_unlock(&rec_lock);
}

static void reset_records(void) {
    pthread_mutex_lock(&rec_lock);
    for (int k = 0; k < nevents; k++) free(events[k]);
    for (int k = 0; k < nrows_written; k++) free(rows_written[k]);
    nevents = nrows_written = 0;
    memset(reader_workers, 0, sizeof reader_workers);
    memset(reader_splits, 0, sizeof reader_splits);
    memset(needed_seen, 0, sizeof needed_seen);
    saw_stopping = false;
    seen_config[0] = 0;
    pthread_mutex_unlock(&rec_lock);
}

/* ---- the memtest source ------------------------------------------------------------------ */

typedef struct mem_source {
    const weir_sql_table *table;
    weir_sql_job *job;
    int64_t nrows;       /* 'rows' */
    int nsplits;         /* 'splits' */
    int batch;           /* 'batch': rows per read at most */
    bool unbounded;      /* 'unbounded' = 'true': waits for more after its rows */
    int64_t fail_after;  /* 'fail-after': a reader fails after producing this many rows */
    int64_t skip_every;  /* 'skip-every': ids divisible by it are bad records (skipped) */
    bool needed[16];
} mem_source;

typedef struct mem_reader {
    mem_source *src;
    int worker;
    int splits[64];
    int64_t next[64];
    int nsplits;
    int64_t produced;
} mem_reader;

static int mem_open(const weir_sql_conn_ctx *ctx, void **source, int *nsplits, weir_err *err) {
    (void)err;
    mem_source *s = calloc(1, sizeof *s);
    s->table = ctx->table;
    s->job = ctx->job;
    s->nrows = sqltest_opt_int(ctx->table, "rows", 10);
    s->nsplits = (int)sqltest_opt_int(ctx->table, "splits", 4);
    s->batch = (int)sqltest_opt_int(ctx->table, "batch", 7);
    s->fail_after = sqltest_opt_int(ctx->table, "fail-after", -1);
    s->skip_every = sqltest_opt_int(ctx->table, "skip-every", 0);
    s->unbounded = sqltest_opt_true(ctx->table, "unbounded");
    for (int c = 0; c < ctx->table->ncolumns && c < 16; c++) s->needed[c] = ctx->needed[c];
    pthread_mutex_lock(&rec_lock);
    for (int c = 0; c < ctx->table->ncolumns && c < 16; c++) needed_seen[c] = ctx->needed[c];
    const char *pn = weir_sql_job_config(ctx->job, "pipeline.name");
    snprintf(seen_config, sizeof seen_config, "%s|%s", pn ? pn : "-",
             weir_sql_job_bootstrap_servers(ctx->job) ? weir_sql_job_bootstrap_servers(ctx->job) : "-");
    pthread_mutex_unlock(&rec_lock);
    *source = s;
    *nsplits = s->nsplits;
    return WEIR_OK;
}

static int mem_open_reader(void *source, int worker, const int *splits, int n, void **reader, weir_err *err) {
    (void)err;
    mem_reader *r = calloc(1, sizeof *r);
    r->src = source;
    r->worker = worker;
    r->nsplits = n;
    memcpy(r->splits, splits, sizeof(int) * (size_t)n);
    pthread_mutex_lock(&rec_lock);
    reader_workers[worker]++;
    for (int k = 0; k < n; k++) reader_splits[splits[k]]++;
    pthread_mutex_unlock(&rec_lock);
    *reader = r;
    return WEIR_OK;
}

static int mem_read(void *reader, weir_sql_batch *out, int max, int timeout_ms, weir_err *err) {
    mem_reader *r = reader;
    mem_source *s = r->src;
    int limit = max < s->batch ? max : s->batch, n = 0;
    bool more = false;
    for (int k = 0; k < r->nsplits && n < limit; k++) {
        int split = r->splits[k];
        while (n < limit) {
            int64_t id = split + r->next[k] * s->nsplits;
            if (id >= s->nrows) break;
            if (s->fail_after >= 0 && r->produced >= s->fail_after)
                return weir_err_set(err, "table '%s': split %d: injected failure at offset %lld", s->table->name, split,
                                    (long long)r->next[k]);
            r->next[k]++;
            r->produced++;
            if (s->skip_every > 0 && id % s->skip_every == 0) {
                weir_sql_job_count_skipped(s->job, 1);
                continue;
            }
            sqltest_add_id_row(out, s->needed, 16, id);
            n++;
        }
        if (split + r->next[k] * s->nsplits < s->nrows) more = true;
    }
    if (n > 0 || more) return n;
    if (!s->unbounded) return WEIR_SQL_END;
    /* nothing more for now: wait as a real source would, returning early when stopping */
    int64_t until = weir_mono_ms() + timeout_ms;
    while (weir_mono_ms() < until) {
        if (weir_sql_job_stopping(s->job)) {
            pthread_mutex_lock(&rec_lock);
            saw_stopping = true;
            pthread_mutex_unlock(&rec_lock);
            break;
        }
        usleep(1000);
    }
    return 0;
}

static int mem_commit(void *reader, weir_err *err) {
    (void)err;
    mem_reader *r = reader;
    record("commit w%d %lld", r->worker, (long long)r->produced);
    return WEIR_OK;
}

static void mem_close_reader(void *reader) {
    mem_reader *r = reader;
    record("close_reader w%d", r->worker);
    free(r);
}

static void mem_close(void *source) { free(source); }

/* ---- the memtest sink -------------------------------------------------------------------- */

typedef struct mem_writer {
    int worker;
} mem_writer;

static int mem_open_writer(void *sink, int worker, void **writer, weir_err *err) {
    (void)sink;
    (void)err;
    mem_writer *w = calloc(1, sizeof *w);
    w->worker = worker;
    *writer = w;
    return WEIR_OK;
}

/* Each row as its values joined by '|' (NULL for nulls). */
static int mem_write(void *writer, const weir_sql_batch *b, weir_err *err) {
    (void)writer;
    (void)err;
    weir_buf line;
    weir_buf_init(&line);
    for (int r = 0; r < b->nrows; r++) {
        line.len = 0;
        sqltest_append_row(&line, b, r, "|");
        weir_buf_append(&line, "", 1);
        pthread_mutex_lock(&rec_lock);
        if (nrows_written < MAX_ROWS) rows_written[nrows_written++] = strdup((const char *)line.data);
        pthread_mutex_unlock(&rec_lock);
    }
    weir_buf_free(&line);
    return WEIR_OK;
}

static int mem_flush(void *writer, weir_err *err) {
    (void)err;
    record("flush w%d", ((mem_writer *)writer)->worker);
    return WEIR_OK;
}

static void mem_close_writer(void *writer) {
    record("close_writer w%d", ((mem_writer *)writer)->worker);
    free(writer);
}

static const weir_sql_source_ops mem_source_ops = {
    .open = mem_open, .open_reader = mem_open_reader, .read = mem_read, .commit = mem_commit,
    .close_reader = mem_close_reader, .close = mem_close,
};
static const weir_sql_sink_ops mem_sink_ops = {
    .open = sqltest_sink_open, .open_writer = mem_open_writer, .write = mem_write, .flush = mem_flush,
    .close_writer = mem_close_writer, .close = sqltest_sink_close,
};
static const weir_sql_connector memtest = {.name = "memtest", .source = &mem_source_ops, .sink = &mem_sink_ops};

/* ---- helpers ------------------------------------------------------------------------------ */

/* Runs sql without waiting for its jobs; a failure prints its message. */
static int exec(weir_sql_session *s, const char *sql, weir_err *err) { return sqltest_exec_err(s, sql, false, err); }

static weir_sql_session *new_session(int parallelism, FILE *out) {
    weir_sql_session_opts o = {.bootstrap_servers = "localhost:19092", .out = out, .parallelism = parallelism};
    weir_sql_session *s = NULL;
    weir_err err;
    CHECK(weir_sql_session_new(&o, &s, &err) == WEIR_OK);
    return s;
}

/* The rows written, sorted, one per line. */
static char *written_sorted(void) {
    pthread_mutex_lock(&rec_lock);
    char *text = sqltest_sorted_lines(rows_written, nrows_written);
    pthread_mutex_unlock(&rec_lock);
    return text;
}

static int count_events(const char *prefix) {
    int n = 0;
    pthread_mutex_lock(&rec_lock);
    for (int k = 0; k < nevents; k++) n += strncmp(events[k], prefix, strlen(prefix)) == 0;
    pthread_mutex_unlock(&rec_lock);
    return n;
}

/* Every commit of a worker comes after a flush of the same worker with no commit between. */
static bool flush_before_commit(int nworkers) {
    bool ok = true;
    pthread_mutex_lock(&rec_lock);
    for (int w = 0; w < nworkers; w++) {
        char flush[32], commit[32];
        snprintf(flush, sizeof flush, "flush w%d", w);
        snprintf(commit, sizeof commit, "commit w%d ", w);
        bool flushed = false;
        for (int k = 0; k < nevents; k++) {
            if (strcmp(events[k], flush) == 0) flushed = true;
            else if (strncmp(events[k], commit, strlen(commit)) == 0) {
                if (!flushed) ok = false;
                flushed = false;
            }
        }
    }
    pthread_mutex_unlock(&rec_lock);
    return ok;
}

static const char *src_ddl(const char *name, const char *opts) {
    static char buf[512];
    snprintf(buf, sizeof buf,
             "CREATE TABLE %s (id BIGINT, name STRING, amount DECIMAL(10, 2), big AS id * 10) "
             "WITH ('connector' = 'memtest'%s%s);",
             name, opts[0] ? ", " : "", opts);
    return buf;
}

/* ---- tests --------------------------------------------------------------------------------- */

/* 1000 rows in 4 splits over 2 workers: both workers read, every split is read once, and
 * every row arrives exactly once. */
TEST(rows_spread_over_workers_exactly_once) {
    reset_records();
    weir_sql_session *s = new_session(2, NULL);
    weir_err err;
    CHECK(exec(s, src_ddl("src", "'rows' = '1000', 'splits' = '4'"), &err) == WEIR_OK);
    CHECK(exec(s, "CREATE TABLE out1 (id BIGINT, name STRING) WITH ('connector' = 'memtest');", &err) == WEIR_OK);
    CHECK(exec(s, "INSERT INTO out1 SELECT id, name FROM src;", &err) == WEIR_OK);
    CHECK(weir_sql_session_wait(s, &err) == WEIR_OK);
    CHECK_EQ_INT(reader_workers[0], 1);
    CHECK_EQ_INT(reader_workers[1], 1);
    CHECK_EQ_INT(reader_workers[2], 0);
    for (int k = 0; k < 4; k++) CHECK_EQ_INT(reader_splits[k], 1);
    CHECK_EQ_INT(nrows_written, 1000);
    char *got = written_sorted();
    /* distinct and complete: sorted, each id once */
    weir_buf want;
    weir_buf_init(&want);
    char *ids[1000];
    for (int k = 0; k < 1000; k++) {
        char line[64];
        snprintf(line, sizeof line, "%d|n%d", k, k);
        ids[k] = strdup(line);
    }
    qsort(ids, 1000, sizeof *ids, sqltest_cmp_str);
    for (int k = 0; k < 1000; k++) {
        weir_buf_append(&want, ids[k], strlen(ids[k]));
        weir_buf_append(&want, "\n", 1);
        free(ids[k]);
    }
    weir_buf_append(&want, "", 1);
    CHECK(strcmp(got, (const char *)want.data) == 0);
    weir_buf_free(&want);
    free(got);
    weir_sql_job_stats st;
    weir_sql_session_stats(s, &st);
    CHECK_EQ_INT(st.rows_in, 1000);
    CHECK_EQ_INT(st.rows_out, 1000);
    /* the end: each worker flushed, then committed, then closed */
    CHECK(flush_before_commit(2));
    CHECK_EQ_INT(count_events("close_reader"), 2);
    CHECK_EQ_INT(count_events("close_writer"), 2);
    CHECK_EQ_STR(seen_config, "-|localhost:19092");
    weir_sql_session_free(s);
}

TEST(filter_and_projection) {
    reset_records();
    weir_sql_session *s = new_session(2, NULL);
    weir_err err;
    CHECK(exec(s, src_ddl("src", "'rows' = '30', 'splits' = '3'"), &err) == WEIR_OK);
    CHECK(exec(s, "CREATE TABLE out2 (id BIGINT, label STRING) WITH ('connector' = 'memtest');", &err) == WEIR_OK);
    CHECK(exec(s, "SET 'table.dml-sync' = 'true';", &err) == WEIR_OK);
    CHECK(exec(s, "INSERT INTO out2 SELECT id * 2, UPPER(name) || '!' FROM src WHERE id % 10 = 3 AND amount > 5;", &err) ==
          WEIR_OK);
    char *got = written_sorted();
    CHECK_EQ_STR(got, "26|N13!\n46|N23!\n");
    free(got);
    /* only the columns the query reads were asked for */
    CHECK(needed_seen[0] && needed_seen[1] && needed_seen[2] && !needed_seen[3]);
    weir_sql_job_stats st;
    weir_sql_session_stats(s, &st);
    CHECK_EQ_INT(st.rows_in, 30);
    CHECK_EQ_INT(st.rows_out, 2);
    weir_sql_session_free(s);
}

TEST(computed_columns) {
    reset_records();
    weir_sql_session *s = new_session(1, NULL);
    weir_err err;
    CHECK(exec(s, src_ddl("src", "'rows' = '5', 'splits' = '2'"), &err) == WEIR_OK);
    CHECK(exec(s, "CREATE TABLE out3 (big BIGINT) WITH ('connector' = 'memtest');", &err) == WEIR_OK);
    CHECK(exec(s, "SET 'table.dml-sync' = 'true';", &err) == WEIR_OK);
    CHECK(exec(s, "INSERT INTO out3 SELECT big + 1 FROM src;", &err) == WEIR_OK);
    char *got = written_sorted();
    CHECK_EQ_STR(got, "1\n11\n21\n31\n41\n");
    free(got);
    /* the source was asked for id (what big is computed from), not for the others */
    CHECK(needed_seen[0] && !needed_seen[1] && !needed_seen[2] && !needed_seen[3]);
    weir_sql_session_free(s);
}

TEST(union_all_of_two_sources) {
    reset_records();
    weir_sql_session *s = new_session(2, NULL);
    weir_err err;
    CHECK(exec(s, src_ddl("a", "'rows' = '50', 'splits' = '1'"), &err) == WEIR_OK);
    CHECK(exec(s, src_ddl("b", "'rows' = '20', 'splits' = '3'"), &err) == WEIR_OK);
    CHECK(exec(s, "CREATE TABLE out4 (id BIGINT, src STRING) WITH ('connector' = 'memtest');", &err) == WEIR_OK);
    CHECK(exec(s, "SET 'table.dml-sync' = 'true';", &err) == WEIR_OK);
    CHECK(exec(s, "INSERT INTO out4 SELECT id, 'a' FROM a UNION ALL SELECT id + 1000, 'b' FROM b;", &err) == WEIR_OK);
    CHECK_EQ_INT(nrows_written, 70);
    int as = 0, bs = 0;
    for (int k = 0; k < nrows_written; k++) {
        as += strstr(rows_written[k], "|a") != NULL;
        bs += strstr(rows_written[k], "|b") != NULL && atoi(rows_written[k]) >= 1000;
    }
    CHECK_EQ_INT(as, 50);
    CHECK_EQ_INT(bs, 20);
    /* 4 splits in all, 2 workers: each opened a reader of a source */
    CHECK(reader_workers[0] >= 1 && reader_workers[1] >= 1);
    weir_sql_session_free(s);
}

TEST(values_emitted_once) {
    reset_records();
    weir_sql_session *s = new_session(4, NULL);
    weir_err err;
    CHECK(exec(s, "CREATE TABLE out5 (id INT, name STRING) WITH ('connector' = 'memtest');", &err) == WEIR_OK);
    CHECK(exec(s, "SET 'table.dml-sync' = 'true';", &err) == WEIR_OK);
    CHECK(exec(s, "INSERT INTO out5 VALUES (1, 'x'), (2, 'y'), (3, CAST(NULL AS STRING));", &err) == WEIR_OK);
    char *got = written_sorted();
    CHECK_EQ_STR(got, "1|x\n2|y\n3|NULL\n");
    free(got);
    weir_sql_job_stats st;
    weir_sql_session_stats(s, &st);
    CHECK_EQ_INT(st.rows_in, 0);
    CHECK_EQ_INT(st.rows_out, 3);
    weir_sql_session_free(s);
}

/* LIMIT over an unbounded source ends the query once its rows have been printed. */
TEST(limit_ends_the_job) {
    reset_records();
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    weir_sql_session *s = new_session(2, out);
    weir_err err;
    CHECK(exec(s, src_ddl("src", "'rows' = '100', 'splits' = '4', 'unbounded' = 'true'"), &err) == WEIR_OK);
    CHECK(exec(s, "SELECT id FROM src WHERE id >= 10 LIMIT 5;", &err) == WEIR_OK);
    weir_sql_session_free(s);
    fclose(out);
    CHECK(strstr(text, "| op |                   id |\n") != NULL);
    CHECK(strstr(text, "Received a total of 5 rows\n") != NULL);
    int lines = 0;
    for (char *p = text; (p = strstr(p, "| +I |")); p++) lines++;
    CHECK_EQ_INT(lines, 5);
    free(text);
}

TEST(runtime_error_fails_the_job) {
    reset_records();
    weir_sql_session *s = new_session(2, NULL);
    weir_err err;
    CHECK(exec(s, src_ddl("src", "'rows' = '40', 'splits' = '4'"), &err) == WEIR_OK);
    CHECK(exec(s, "CREATE TABLE out6 (q BIGINT) WITH ('connector' = 'memtest');", &err) == WEIR_OK);
    CHECK(exec(s, "SET 'table.dml-sync' = 'true';", &err) == WEIR_OK);
    const char *sql = "INSERT INTO out6\nSELECT 100 / (id - 17) FROM src;";
    CHECK(weir_sql_session_execute(s, sql, strlen(sql), &err) == WEIR_ERROR);
    CHECK(strncmp(err.msg, "line 2, column ", 15) == 0);
    CHECK(strstr(err.msg, "division by zero") != NULL);
    /* the same error from a background job comes out of wait() */
    CHECK(exec(s, "SET 'table.dml-sync' = 'false';", &err) == WEIR_OK);
    CHECK(weir_sql_session_execute(s, sql, strlen(sql), &err) == WEIR_OK);
    /* later statements free the ended job (execute reaps them); its error is kept */
    int64_t deadline = weir_mono_ms() + 10000;
    while (count_events("close_reader") < 4 && weir_mono_ms() < deadline) CHECK(exec(s, "SET 'a' = 'b';", &err) == WEIR_OK);
    for (int k = 0; k < 3; k++) CHECK(exec(s, "SET 'a' = 'b';", &err) == WEIR_OK);
    CHECK(weir_sql_session_wait(s, &err) == WEIR_ERROR);
    CHECK(strstr(err.msg, "division by zero") != NULL);
    CHECK(weir_sql_session_wait(s, &err) == WEIR_OK); /* reported once */
    weir_sql_session_free(s);
}

TEST(source_failure_message_is_kept) {
    reset_records();
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    weir_sql_session *s = new_session(1, out);
    weir_err err;
    CHECK(exec(s, src_ddl("src", "'rows' = '40', 'splits' = '1', 'fail-after' = '12', 'batch' = '5'"), &err) == WEIR_OK);
    const char *sql = "SELECT id FROM src;";
    CHECK(weir_sql_session_execute(s, sql, strlen(sql), &err) == WEIR_ERROR);
    CHECK_EQ_STR(err.msg, "table 'src': split 0: injected failure at offset 12");
    /* the failed worker commits nothing; the rows before the failure were printed, and
     * no closing line claims the query ended */
    CHECK_EQ_INT(count_events("commit"), 0);
    weir_sql_session_free(s);
    fclose(out);
    CHECK(strstr(text, "| +I |                    9 |\n") != NULL);
    CHECK(strstr(text, "Received") == NULL);
    free(text);
}

static void *stopper(void *arg) {
    weir_sql_session *s = arg;
    int64_t deadline = weir_mono_ms() + 10000;
    weir_sql_job_stats st = {0};
    while (weir_mono_ms() < deadline) {
        weir_sql_session_stats(s, &st);
        if (st.rows_out >= 100 && count_events("commit") >= 2) break;
        usleep(1000);
    }
    weir_sql_session_stop(s);
    return NULL;
}

/* stop() (as from the thread that caught SIGINT) ends a job over an unbounded source:
 * readers see job_stopping, each worker flushes its sink before it commits its reader,
 * and checkpoints also happen while the job runs (interval 20 ms). */
TEST(stop_ends_unbounded_job_cleanly) {
    reset_records();
    weir_sql_session *s = new_session(2, NULL);
    weir_err err;
    CHECK(exec(s, src_ddl("src", "'rows' = '100', 'splits' = '2', 'unbounded' = 'true'"), &err) == WEIR_OK);
    CHECK(exec(s, "CREATE TABLE out7 (id BIGINT) WITH ('connector' = 'memtest');", &err) == WEIR_OK);
    CHECK(exec(s, "SET 'execution.checkpointing.interval' = '20 ms';", &err) == WEIR_OK);
    CHECK(exec(s, "INSERT INTO out7 SELECT id FROM src;", &err) == WEIR_OK);
    pthread_t t;
    pthread_create(&t, NULL, stopper, s);
    CHECK(weir_sql_session_wait(s, &err) == WEIR_OK);
    pthread_join(t, NULL);
    CHECK(saw_stopping);
    CHECK_EQ_INT(nrows_written, 100);
    CHECK(count_events("commit") >= 4); /* periodic ones while running, and the last ones */
    CHECK(flush_before_commit(2));
    /* the last commit of each worker holds all its rows: 50 each */
    CHECK(count_events("commit w0 50") >= 1);
    CHECK(count_events("commit w1 50") >= 1);
    CHECK_EQ_INT(count_events("close_reader"), 2);
    weir_sql_session_free(s);
}

/* A query stopped by the session ends with Flink's "Query terminated" line. */
static void *query_stopper(void *arg) {
    weir_sql_session *s = arg;
    int64_t deadline = weir_mono_ms() + 10000;
    weir_sql_job_stats st = {0};
    while (weir_mono_ms() < deadline) {
        weir_sql_session_stats(s, &st);
        if (st.rows_out >= 3) break;
        usleep(1000);
    }
    weir_sql_session_stop(s);
    return NULL;
}

TEST(stop_ends_a_query) {
    reset_records();
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    weir_sql_session *s = new_session(1, out);
    weir_err err;
    CHECK(exec(s, src_ddl("src", "'rows' = '3', 'splits' = '1', 'unbounded' = 'true'"), &err) == WEIR_OK);
    pthread_t t;
    pthread_create(&t, NULL, query_stopper, s);
    CHECK(exec(s, "SELECT id, name FROM src; SELECT 'not run';", &err) == WEIR_OK);
    pthread_join(t, NULL);
    weir_sql_session_free(s);
    fclose(out);
    CHECK(strstr(text, "Query terminated, received a total of 3 rows\n") != NULL);
    CHECK(strstr(text, "not run") == NULL);
    free(text);
}

TEST(stats_count_skipped_rows) {
    reset_records();
    weir_sql_session *s = new_session(2, NULL);
    weir_err err;
    CHECK(exec(s, src_ddl("src", "'rows' = '100', 'splits' = '4', 'skip-every' = '10'"), &err) == WEIR_OK);
    CHECK(exec(s, "CREATE TABLE out8 (id BIGINT) WITH ('connector' = 'memtest');", &err) == WEIR_OK);
    CHECK(exec(s, "SET 'table.dml-sync' = 'true';", &err) == WEIR_OK);
    CHECK(exec(s, "INSERT INTO out8 SELECT id FROM src WHERE id < 50;", &err) == WEIR_OK);
    CHECK(exec(s, "INSERT INTO out8 SELECT id FROM src WHERE id >= 50;", &err) == WEIR_OK);
    weir_sql_job_stats st;
    weir_sql_session_stats(s, &st);
    CHECK_EQ_INT(st.skipped, 20);
    CHECK_EQ_INT(st.rows_in, 180);
    CHECK_EQ_INT(st.rows_out, 90);
    CHECK_EQ_INT(nrows_written, 90);
    weir_sql_session_free(s);
}

TEST(set_parallelism_default) {
    reset_records();
    weir_sql_session *s = new_session(0, NULL);
    weir_err err;
    CHECK(exec(s, src_ddl("src", "'rows' = '60', 'splits' = '6'"), &err) == WEIR_OK);
    CHECK(exec(s, "CREATE TABLE out9 (id BIGINT) WITH ('connector' = 'memtest');", &err) == WEIR_OK);
    CHECK(exec(s, "SET 'table.dml-sync' = 'true'; SET 'parallelism.default' = '3'; SET 'pipeline.name' = 'p9';", &err) == WEIR_OK);
    CHECK(exec(s, "INSERT INTO out9 SELECT id FROM src;", &err) == WEIR_OK);
    CHECK_EQ_INT(reader_workers[0], 1);
    CHECK_EQ_INT(reader_workers[1], 1);
    CHECK_EQ_INT(reader_workers[2], 1);
    CHECK_EQ_INT(reader_workers[3], 0);
    CHECK_EQ_INT(nrows_written, 60);
    CHECK_EQ_STR(seen_config, "p9|localhost:19092");
    /* capped by the splits: 2 splits, 2 workers */
    reset_records();
    CHECK(exec(s, src_ddl("two", "'rows' = '10', 'splits' = '2'"), &err) == WEIR_OK);
    CHECK(exec(s, "SET 'parallelism.default' = '8'; INSERT INTO out9 SELECT id FROM two;", &err) == WEIR_OK);
    CHECK_EQ_INT(reader_workers[0] + reader_workers[1], 2);
    CHECK_EQ_INT(reader_workers[2], 0);
    CHECK_EQ_INT(count_events("close_writer"), 2);
    /* a bad value fails at its SET */
    const char *bad = "SET 'parallelism.default' = 'many';";
    CHECK(weir_sql_session_execute(s, bad, strlen(bad), &err) == WEIR_ERROR);
    CHECK_EQ_STR(err.msg, "line 1, column 1: SET 'parallelism.default' = 'many': not a number of workers (1 to 1024, or -1)");
    weir_sql_session_free(s);
}

/* EXECUTE STATEMENT SET: one job, two sinks fed from two scans of the same table. */
TEST(statement_set_one_job_two_sinks) {
    reset_records();
    weir_sql_session *s = new_session(2, NULL);
    weir_err err;
    CHECK(exec(s, src_ddl("src", "'rows' = '20', 'splits' = '2'"), &err) == WEIR_OK);
    CHECK(exec(s, "CREATE TABLE lo (id BIGINT, tag STRING) WITH ('connector' = 'memtest');", &err) == WEIR_OK);
    CHECK(exec(s, "CREATE TABLE hi (tag STRING, id BIGINT) WITH ('connector' = 'memtest');", &err) == WEIR_OK);
    CHECK(exec(s,
               "EXECUTE STATEMENT SET BEGIN\n"
               "  INSERT INTO lo SELECT id, 'lo' FROM src WHERE id < 5;\n"
               "  INSERT INTO hi (id, tag) SELECT id, 'hi' FROM src WHERE id >= 17;\n"
               "END;", &err) == WEIR_OK);
    CHECK(weir_sql_session_wait(s, &err) == WEIR_OK);
    char *got = written_sorted();
    CHECK_EQ_STR(got, "0|lo\n1|lo\n2|lo\n3|lo\n4|lo\nhi|17\nhi|18\nhi|19\n");
    free(got);
    weir_sql_job_stats st;
    weir_sql_session_stats(s, &st);
    CHECK_EQ_INT(st.rows_in, 40);
    CHECK_EQ_INT(st.rows_out, 8);
    /* one writer per sink per worker */
    CHECK_EQ_INT(count_events("close_writer"), 4);
    weir_sql_session_free(s);
}

/* ---- golden runs ---------------------------------------------------------------------------- */

TEST(golden) {
    int n = 0;
    int errors = golden_run("tests/sql/run", sqltest_render_run, true, &n);
    CHECK(n >= 10);
    CHECK(errors >= 5);
}

TEST(durations) {
    int64_t ms = 0;
    weir_sql_session *s = new_session(1, NULL);
    weir_err err;
    const char *ok[] = {"SET 'execution.checkpointing.interval' = '10 s';", "SET 'execution.checkpointing.interval' = '500ms';",
                        "SET 'execution.checkpointing.interval' = '1 min';", "SET 'execution.checkpointing.interval' = '250';"};
    for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) CHECK(exec(s, ok[k], &err) == WEIR_OK);
    const char *bad = "SET 'execution.checkpointing.interval' = '10 parsecs';";
    CHECK(weir_sql_session_execute(s, bad, strlen(bad), &err) == WEIR_ERROR);
    (void)ms;
    weir_sql_session_free(s);
}

int main(void) {
    weir_sql_register_connector(&memtest);
    weir_test_case cases[] = {
        T(rows_spread_over_workers_exactly_once), T(filter_and_projection), T(computed_columns),
        T(union_all_of_two_sources), T(values_emitted_once), T(limit_ends_the_job), T(runtime_error_fails_the_job),
        T(source_failure_message_is_kept), T(stop_ends_unbounded_job_cleanly), T(stop_ends_a_query),
        T(stats_count_skipped_rows), T(set_parallelism_default), T(statement_set_one_job_two_sinks), T(golden), T(durations),
    };
    int rc = weir_test_run(__FILE__, cases, sizeof cases / sizeof cases[0]);
    reset_records();
    return rc;
}
