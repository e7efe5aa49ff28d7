/* test_sql_analyze.c — EXPLAIN ANALYZE (analyze.c, the parser's ANALYZE): jobs started
 * directly (catalog, bind, plan, weir_sql_job_new/start/wait) over the datagen and
 * blackhole connectors, then weir_sql_job_analyze's text: the plan exactly as EXPLAIN
 * prints it, each node's rows, watermarks and state, and how the job ended (finished,
 * stopped, failed, still running). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "connect/connect.h"
#include "sql/engine_internal.h"
#include "sql/sql.h"
#include "test.h"

typedef struct ajob {
    weir_arena arena;
    weir_sql_catalog cat;
    weir_sql_job *job;
    pthread_mutex_t out_lock;
    weir_buf explain;  /* weir_sql_plan_explain of the same roots */
} ajob;

/* Binds the script's statements (DDL into a fresh catalog), plans its last INSERT into a
 * job and starts it with the given parallelism; NULL (with a message) when any step fails. */
static ajob *start(const char *sql, int parallelism) {
    ajob *a = calloc(1, sizeof *a);
    weir_arena_init(&a->arena, 0);
    weir_sql_catalog_init(&a->cat, &a->arena);
    pthread_mutex_init(&a->out_lock, NULL);
    weir_buf_init(&a->explain);
    weir_err err = {{0}};
    weir_sql_script *script = NULL;
    if (weir_sql_parse_script(&a->arena, sql, strlen(sql), &script, &err) != WEIR_OK) goto fail;
    weir_sql_bstmt *ins = NULL;
    for (int k = 0; k < script->nstmts; k++) {
        weir_sql_bstmt *bs = NULL;
        if (weir_sql_bind_stmt(&a->cat, script->stmts[k], &bs, &err) != WEIR_OK) goto fail;
        if (bs->kind == WEIR_SQL_STMT_INSERT) ins = bs;
    }
    if (!ins) {
        weir_err_set(&err, "no INSERT");
        goto fail;
    }
    a->job = weir_sql_job_new(NULL, stdout, &a->out_lock, NULL, NULL, NULL, 0);
    weir_sql_plan **roots = NULL;
    int nroots = 0;
    if (weir_sql_plan_build(&a->job->arena, ins, &roots, &nroots, &err) != WEIR_OK) goto fail;
    weir_sql_plan_explain(&a->explain, roots, nroots);
    if (weir_sql_job_start(a->job, roots, nroots, parallelism, &err) != WEIR_OK) goto fail;
    return a;
fail:
    fprintf(stderr, "  job: %s\n", err.msg);
    if (a->job) weir_sql_job_free(a->job);
    weir_buf_free(&a->explain);
    weir_arena_free(&a->arena);
    free(a);
    return NULL;
}

static void finish(ajob *a) {
    weir_sql_job_free(a->job);
    weir_buf_free(&a->explain);
    pthread_mutex_destroy(&a->out_lock);
    weir_arena_free(&a->arena);
    free(a);
}

/* start, then waits for the job's end, which must return want (the job's error in *err);
 * NULL when the start failed. */
static ajob *run_to_end(const char *sql, int parallelism, int want, weir_err *err) {
    ajob *a = start(sql, parallelism);
    CHECK(a != NULL);
    if (a) CHECK(weir_sql_job_wait(a->job, err) == want);
    return a;
}

/* The analysis as a NUL-terminated string (caller frees). */
static char *analyze(weir_sql_job *job) {
    weir_buf b;
    weir_buf_init(&b);
    weir_sql_job_analyze(job, &b);
    char *s = malloc(b.len + 1);
    memcpy(s, b.data, b.len);
    s[b.len] = 0;
    weir_buf_free(&b);
    return s;
}

/* The line after the first line that starts (after tree marks) with node; "" if none. */
static const char *figures_of(const char *text, const char *node, char *buf, size_t cap) {
    buf[0] = 0;
    const char *p = text;
    while (p && *p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        const char *q = p;
        while (q < p + len && strchr(" :+-", *q)) q++;
        if ((size_t)(p + len - q) >= strlen(node) && strncmp(q, node, strlen(node)) == 0 && eol) {
            const char *n = eol + 1, *e2 = strchr(n, '\n');
            size_t l2 = e2 ? (size_t)(e2 - n) : strlen(n);
            if (l2 >= cap) l2 = cap - 1;
            memcpy(buf, n, l2);
            buf[l2] = 0;
            return buf;
        }
        p = eol ? eol + 1 : NULL;
    }
    return buf;
}

/* The analysis with its figure lines and its runtime section removed, and its header
 * renamed: what is left must be EXPLAIN's text, byte for byte. */
static char *plan_part(const char *text) {
    weir_buf b;
    weir_buf_init(&b);
    const char *p = text;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) + 1 : strlen(p);
        if (strncmp(p, "\n== Runtime ==", 14) == 0 || strncmp(p, "== Runtime ==", 13) == 0) break;
        bool figures = memchr(p, '\n', len) && strstr(p, "rows=[") && strstr(p, "rows=[") < p + len &&
                       strncmp(p, "== ", 3) != 0;
        /* a figures line is tree marks and blanks, then rows=[ */
        const char *q = p;
        while (q < p + len && strchr(" :|", *q)) q++;
        figures = figures && strncmp(q, "rows=[", 6) == 0;
        if (strncmp(p, "== Physical Plan (analyzed) ==\n", 31) == 0) weir_buf_append(&b, "== Physical Plan ==\n", 20);
        else if (!figures) weir_buf_append(&b, p, len);
        p += len;
    }
    /* the runtime section is preceded by a blank line that is not EXPLAIN's */
    if (b.len && b.data[b.len - 1] == '\n' && b.len >= 2 && b.data[b.len - 2] == '\n') b.len--;
    char *s = malloc(b.len + 1);
    memcpy(s, b.data, b.len);
    s[b.len] = 0;
    weir_buf_free(&b);
    return s;
}

static char *explain_text(ajob *a) {
    char *s = malloc(a->explain.len + 1);
    memcpy(s, a->explain.data, a->explain.len);
    s[a->explain.len] = 0;
    return s;
}

TEST(parse_explain_analyze) {
    struct {
        const char *sql;
        bool analyze;
    } cases[] = {
        {"EXPLAIN ANALYZE SELECT 1", true},
        {"explain analyze INSERT INTO t SELECT 1", true},
        {"EXPLAIN ANALYZE STATEMENT SET BEGIN INSERT INTO t SELECT 1; END", true},
        {"EXPLAIN SELECT 1", false},
        {"EXPLAIN CHANGELOG_MODE SELECT 1", false},
        {"EXPLAIN PLAN FOR SELECT 1", false},
        {"SELECT 1", false},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        weir_arena arena;
        weir_arena_init(&arena, 0);
        weir_sql_script *script = NULL;
        weir_err err;
        CHECK(weir_sql_parse_script(&arena, cases[k].sql, strlen(cases[k].sql), &script, &err) == WEIR_OK);
        if (script && script->nstmts == 1) {
            CHECK(weir_sql_stmt_is_explain_analyze(script->stmts[0]) == cases[k].analyze);
            if (cases[k].analyze) CHECK(script->stmts[0]->nbody == 1);
        } else {
            CHECK(false);
        }
        weir_arena_free(&arena);
    }
    /* ANALYZE needs a statement after it, as EXPLAIN does */
    weir_arena arena;
    weir_arena_init(&arena, 0);
    weir_sql_script *script = NULL;
    weir_err err;
    CHECK(weir_sql_parse_script(&arena, "EXPLAIN ANALYZE", 15, &script, &err) == WEIR_ERROR);
    CHECK(strstr(err.msg, "line 1, column 16") != NULL);
    weir_arena_free(&arena);
}

static const char *gen_table =
    "CREATE TABLE gen (id BIGINT, k INT) WITH ('connector' = 'datagen', 'number-of-rows' = '1000',"
    " 'rows-per-second' = '1000000000', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1',"
    " 'fields.id.end' = '1000', 'fields.k.min' = '0', 'fields.k.max' = '9');\n";

TEST(bounded_job_rows_per_node) {
    char sql[2048];
    snprintf(sql, sizeof sql,
             "%sCREATE TABLE sink (id BIGINT, k2 INT) WITH ('connector' = 'blackhole');\n"
             "INSERT INTO sink SELECT id, k * 2 FROM gen WHERE id <= 300;\n",
             gen_table);
    weir_err err;
    ajob *a = run_to_end(sql, 2, WEIR_OK, &err);
    if (!a) return;
    char *text = analyze(a->job), buf[512];
    CHECK(strncmp(text, "== Physical Plan (analyzed) ==\nSink(table=[default_catalog.default_database.sink]", 80) == 0);
    CHECK_EQ_STR(figures_of(text, "Sink(", buf, sizeof buf), ":  rows=[300]");
    CHECK_EQ_STR(figures_of(text, "Calc(", buf, sizeof buf), "   :  rows=[300]");
    CHECK_EQ_STR(figures_of(text, "TableSourceScan(", buf, sizeof buf), "         rows=[1000]");
    CHECK(strstr(text, "\n== Runtime ==\nfinished (every source ended); 2 workers\n"
                       "rows read: 1000, rows written: 300, late rows: 0, bad records skipped: 0, dead-lettered: 0\n") != NULL);
    /* no event time: no watermark anywhere; no stateful operator: no state */
    CHECK(strstr(text, "watermark") == NULL);
    CHECK(strstr(text, "state=") == NULL);
    char *plan = plan_part(text), *ex = explain_text(a);
    CHECK_EQ_STR(plan, ex);
    free(plan);
    free(ex);
    free(text);
    finish(a);
}

static const char *window_sql =
    "CREATE TABLE gen (id BIGINT, k INT, ts AS TO_TIMESTAMP_LTZ(id, 3),"
    " WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'datagen', 'number-of-rows' = '10000',"
    " 'rows-per-second' = '1000000000', 'fields.id.kind' = 'sequence', 'fields.id.start' = '0',"
    " 'fields.id.end' = '9999', 'fields.k.min' = '0', 'fields.k.max' = '4');\n"
    "CREATE TABLE sink (k INT, ws TIMESTAMP(3), c BIGINT) WITH ('connector' = 'blackhole');\n"
    "INSERT INTO sink SELECT k, window_start, COUNT(*) FROM TABLE(TUMBLE(TABLE gen, DESCRIPTOR(ts), INTERVAL '1' SECOND))"
    " GROUP BY k, window_start, window_end;\n";

TEST(window_job_watermarks_and_state) {
    weir_err err;
    ajob *a = run_to_end(window_sql, 2, WEIR_OK, &err);
    if (!a) return;
    char *text = analyze(a->job), buf[512];
    /* 10 s of event time (ids are ms), 5 keys: 50 windows, every one fired at the end */
    const char *wa = figures_of(text, "WindowAggregate(", buf, sizeof buf);
    CHECK(strstr(wa, "rows=[50], watermark=[end of input], state=[") != NULL);
    CHECK(strstr(wa, " in 2 instances]") != NULL);
    CHECK(strstr(figures_of(text, "Exchange(", buf, sizeof buf), "rows=[10000], watermark=[end of input]") != NULL);
    CHECK(strstr(figures_of(text, "TableSourceScan(", buf, sizeof buf),
                 "rows=[10000], watermark=[end of input (2 splits, 0 idle, 2 ended)]") != NULL);
    CHECK_EQ_STR(figures_of(text, "Sink(", buf, sizeof buf), ":  rows=[50]");
    CHECK(strstr(text, "rows read: 10000, rows written: 50, late rows: 0") != NULL);
    char *plan = plan_part(text), *ex = explain_text(a);
    CHECK_EQ_STR(plan, ex);
    free(plan);
    free(ex);
    free(text);
    finish(a);
}

/* An unbounded source stopped while it runs: before the stop only the published counters
 * show ("running", the published state size); after it, the job says it was stopped and the watermarks are
 * event times (now, as datagen's random timestamps are), not the end of input. */
TEST(stopped_job_shows_event_time) {
    const char *sql =
        "CREATE TABLE gen (k INT, ts TIMESTAMP_LTZ(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)"
        " WITH ('connector' = 'datagen', 'rows-per-second' = '2000', 'fields.k.min' = '0', 'fields.k.max' = '3',"
        " 'fields.ts.max-past' = '0');\n"
        "CREATE TABLE sink (k INT, c BIGINT) WITH ('connector' = 'blackhole');\n"
        "INSERT INTO sink SELECT k, COUNT(*) FROM TABLE(TUMBLE(TABLE gen, DESCRIPTOR(ts), INTERVAL '1' HOUR))"
        " GROUP BY k, window_start, window_end;\n";
    ajob *a = start(sql, 1);
    CHECK(a != NULL);
    if (!a) return;
    weir_sql_job_stats st = {0};
    int64_t deadline = weir_mono_ms() + 10000;
    while (st.rows_in < 100 && weir_mono_ms() < deadline) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL); /* polling with a deadline, not synchronising */
        weir_sql_job_stats_get(a->job, &st);
    }
    CHECK(st.rows_in >= 100);
    char *running = analyze(a->job), buf[512];
    CHECK(strstr(running, "\n== Runtime ==\nrunning; 1 worker\n") != NULL);
    /* the published state size is shown while it runs */
    CHECK(strstr(figures_of(running, "WindowAggregate(", buf, sizeof buf), ", state=[") != NULL);
    free(running);
    weir_sql_job_stop(a->job);
    weir_err err;
    CHECK(weir_sql_job_wait(a->job, &err) == WEIR_OK);
    char *text = analyze(a->job);
    CHECK(strstr(text, "\n== Runtime ==\nstopped; 1 worker\n") != NULL);
    char year[16];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    snprintf(year, sizeof year, "%04d-", tm.tm_year + 1900);
    const char *scan = figures_of(text, "TableSourceScan(", buf, sizeof buf);
    CHECK(strstr(scan, "watermark=[") != NULL && strstr(scan, year) != NULL);
    CHECK(strstr(scan, "(1 split, 0 idle, 0 ended)") != NULL);
    /* the 1-hour window has not fired: nothing out, state held */
    const char *wa = figures_of(text, "WindowAggregate(", buf, sizeof buf);
    CHECK(strstr(wa, "rows=[0], watermark=[") != NULL && strstr(wa, year) != NULL);
    CHECK(strstr(wa, "state=[") != NULL && strstr(wa, "state=[0 B") == NULL);
    free(text);
    finish(a);
}

/* Two inputs: the tree marks of the figure lines follow EXPLAIN's (":" continues the first
 * input's branch), and the join's state is shown. */
TEST(join_job_two_inputs) {
    const char *sql =
        "CREATE TABLE a (id BIGINT, x INT) WITH ('connector' = 'datagen', 'number-of-rows' = '500',"
        " 'rows-per-second' = '1000000000', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1',"
        " 'fields.id.end' = '500');\n"
        "CREATE TABLE b (id BIGINT, y INT) WITH ('connector' = 'datagen', 'number-of-rows' = '300',"
        " 'rows-per-second' = '1000000000', 'fields.id.kind' = 'sequence', 'fields.id.start' = '201',"
        " 'fields.id.end' = '500');\n"
        "CREATE TABLE sink (id BIGINT, x INT, y INT) WITH ('connector' = 'blackhole');\n"
        "INSERT INTO sink SELECT a.id, a.x, b.y FROM a JOIN b ON a.id = b.id;\n";
    weir_err err;
    ajob *a = run_to_end(sql, 2, WEIR_OK, &err);
    if (!a) return;
    char *text = analyze(a->job), buf[512];
    /* ids 201..500 match: 300 rows */
    const char *j = figures_of(text, "Join(", buf, sizeof buf);
    CHECK(strstr(j, ":  rows=[300], state=[") != NULL);
    CHECK(strstr(j, "state=[0 B") == NULL);
    CHECK(strstr(text, "rows read: 800, rows written: 300") != NULL);
    /* the first input's scan is under ":  " marks, the last one's under blanks */
    CHECK(strstr(text, "\n      :        rows=[500]\n") != NULL || strstr(text, ":        rows=[500]\n") != NULL);
    char *plan = plan_part(text), *ex = explain_text(a);
    CHECK_EQ_STR(plan, ex);
    free(plan);
    free(ex);
    free(text);
    finish(a);
}

/* A job whose start fails (a bad setting) never ran: the plan alone, "not started". */
TEST(job_that_never_started) {
    char sql[2048];
    snprintf(sql, sizeof sql,
             "%sCREATE TABLE sink (id BIGINT) WITH ('connector' = 'blackhole');\n"
             "INSERT INTO sink SELECT id FROM gen;\n",
             gen_table);
    weir_arena arena;
    weir_arena_init(&arena, 0);
    weir_sql_catalog cat;
    weir_sql_catalog_init(&cat, &arena);
    weir_sql_script *script = NULL;
    weir_err err;
    CHECK(weir_sql_parse_script(&arena, sql, strlen(sql), &script, &err) == WEIR_OK);
    weir_sql_bstmt *ins = NULL;
    for (int k = 0; script && k < script->nstmts; k++) {
        weir_sql_bstmt *bs = NULL;
        CHECK(weir_sql_bind_stmt(&cat, script->stmts[k], &bs, &err) == WEIR_OK);
        if (bs && bs->kind == WEIR_SQL_STMT_INSERT) ins = bs;
    }
    CHECK(ins != NULL);
    if (!ins) {
        weir_arena_free(&arena);
        return;
    }
    const char *keys[] = {"table.exec.source.idle-timeout"}, *vals[] = {"soon"};
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    weir_sql_job *job = weir_sql_job_new(NULL, stdout, &lock, NULL, keys, vals, 1);
    weir_sql_plan **roots = NULL;
    int nroots = 0;
    CHECK(weir_sql_plan_build(&job->arena, ins, &roots, &nroots, &err) == WEIR_OK);
    CHECK(weir_sql_job_start(job, roots, nroots, 1, &err) == WEIR_ERROR);
    char *text = analyze(job);
    CHECK(strncmp(text, "== Physical Plan ==\nSink(", 25) == 0);
    CHECK(strstr(text, ":  rows=[") == NULL); /* no figure lines (the scan's options hold "number-of-rows=[") */
    CHECK(strstr(text, "\n== Runtime ==\nnot started\n") != NULL);
    free(text);
    weir_sql_job_free(job);
    weir_arena_free(&arena);
}

TEST(failed_job_says_why) {
    char sql[2048];
    snprintf(sql, sizeof sql,
             "%sCREATE TABLE sink (x BIGINT) WITH ('connector' = 'blackhole');\n"
             "INSERT INTO sink SELECT 10 / (id - 1) FROM gen;\n",
             gen_table);
    weir_err err;
    ajob *a = run_to_end(sql, 1, WEIR_ERROR, &err);
    if (!a) return;
    char *text = analyze(a->job);
    char *at = strstr(text, "\n== Runtime ==\nfailed: ");
    CHECK(at != NULL);
    if (at) CHECK(strstr(at, err.msg) != NULL);
    free(text);
    finish(a);
}

int main(void) {
    weir_connect_register_all();
    weir_test_case cases[] = {
        T(parse_explain_analyze),
        T(bounded_job_rows_per_node),
        T(window_job_watermarks_and_state),
        T(stopped_job_shows_event_time),
        T(join_job_two_inputs),
        T(job_that_never_started),
        T(failed_job_says_why),
    };
    return weir_test_run(__FILE__, cases, sizeof cases / sizeof cases[0]);
}
