/* test_sql_join.c — joins (plan_join.c, op_join.c, op_interval_join.c). The join goldens:
 * tests/sql/explain/j*.sql (and the refused e01_join*, e02_comma_join*) planned with
 * plan-only connectors, tests/sql/run/j*.sql run by a session over "memtest" (the same
 * in-memory source test_sql_engine.c registers). Then the operators driven directly with
 * changelog batches: Flink's row kinds for INNER / LEFT / FULL joins over inserts, updates
 * and deletes, NULL keys, the residual condition, TTL expiry, an interval join's padding at
 * the watermark, and a snapshot taken mid-stream and restored into a fresh instance giving
 * the same output as an uninterrupted run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "sql/window_internal.h"
#include "sql/join_internal.h"
#include "sql/sql.h"
#include "golden.h"
#include "sqltest.h"
#include "test.h"

/* ---- connectors: plan-only test-source / test-sink, and memtest ------------------------ */

static int plan_only_open(const weir_sql_conn_ctx *ctx, void **source, int *nsplits, weir_err *err) {
    (void)source;
    (void)nsplits;
    return weir_err_set(err, "table '%s': the test connectors only plan, they do not run", ctx->table->name);
}

static int plan_only_sink_open(const weir_sql_conn_ctx *ctx, void **sink, weir_err *err) {
    (void)sink;
    return weir_err_set(err, "table '%s': the test connectors only plan, they do not run", ctx->table->name);
}

static const weir_sql_source_ops plan_only_source = {.open = plan_only_open};
static const weir_sql_sink_ops plan_only_sink = {.open = plan_only_sink_open};
static const weir_sql_connector test_source = {.name = "test-source", .source = &plan_only_source};
static const weir_sql_connector test_sink = {.name = "test-sink", .sink = &plan_only_sink};

/* A changelog source (as 'debezium-json' makes a Kafka table): +I, -U, +U and -D rows. */
static weir_sql_changes all_changes(const weir_sql_table *t, bool as_source) {
    (void)t, (void)as_source;
    return WEIR_SQL_CHANGES_ALL;
}
static const weir_sql_connector test_changelog = {.name = "test-changelog", .source = &plan_only_source,
                                                  .changelog = all_changes};

/* memtest: ids 0..rows-1 over 'splits' splits (id = split + k * splits), read 7 at a time;
 * every needed column holds the id (strings "n<id>"), as test_sql_engine.c's. */
typedef struct mem_source {
    const weir_sql_table *table;
    int64_t nrows;
    int nsplits, batch;
    bool needed[32];
} mem_source;

typedef struct mem_reader {
    mem_source *src;
    int splits[64];
    int64_t next[64];
    int nsplits;
} mem_reader;

static int mem_open(const weir_sql_conn_ctx *ctx, void **source, int *nsplits, weir_err *err) {
    (void)err;
    mem_source *s = calloc(1, sizeof *s);
    s->table = ctx->table;
    s->nrows = sqltest_opt_int(ctx->table, "rows", 10);
    s->nsplits = (int)sqltest_opt_int(ctx->table, "splits", 4);
    s->batch = (int)sqltest_opt_int(ctx->table, "batch", 7);
    for (int c = 0; c < ctx->table->ncolumns && c < 32; c++) s->needed[c] = ctx->needed[c];
    *source = s;
    *nsplits = s->nsplits;
    return WEIR_OK;
}

static int mem_open_reader(void *source, int worker, const int *splits, int n, void **reader, weir_err *err) {
    (void)worker;
    (void)err;
    mem_reader *r = calloc(1, sizeof *r);
    r->src = source;
    r->nsplits = n;
    memcpy(r->splits, splits, sizeof(int) * (size_t)n);
    *reader = r;
    return WEIR_OK;
}

static int mem_read(void *reader, weir_sql_batch *out, int max, int timeout_ms, weir_err *err) {
    (void)timeout_ms;
    (void)err;
    mem_reader *r = reader;
    mem_source *s = r->src;
    int limit = max < s->batch ? max : s->batch, n = 0;
    bool more = false;
    for (int k = 0; k < r->nsplits && n < limit; k++) {
        while (n < limit) {
            int64_t id = r->splits[k] + r->next[k] * s->nsplits;
            if (id >= s->nrows) break;
            r->next[k]++;
            sqltest_add_id_row(out, s->needed, 32, id);
            n++;
        }
        if (r->splits[k] + r->next[k] * s->nsplits < s->nrows) more = true;
    }
    return n > 0 || more ? n : WEIR_SQL_END;
}

static void mem_close_reader(void *reader) { free(reader); }
static void mem_close(void *source) { free(source); }

static const weir_sql_source_ops mem_source_ops = {.open = mem_open, .open_reader = mem_open_reader, .read = mem_read,
                                                   .close_reader = mem_close_reader, .close = mem_close};
static const weir_sql_connector memtest = {.name = "memtest", .source = &mem_source_ops};

/* ---- goldens ------------------------------------------------------------------------------- */

/* As test_sql_plan.c renders its goldens: each plan's EXPLAIN, or "error: " and the message. */
static int render_explain(const char *src, size_t len, weir_buf *out) { return sqltest_render_explain(src, len, out, NULL); }

TEST(explain_goldens) {
    static const char *const prefixes[] = {"j", "e01_join", "e02_comma_join"};
    int n = 0;
    int errors = golden_run_prefixes("tests/sql/explain", prefixes, 3, render_explain, true, &n);
    CHECK(n >= 5);
    CHECK(errors >= 2);
}

/* A result is clean when it planned, or failed naming a place ("line L, column C: ...") or
 * a table. */
static bool clean_result(const char *src, size_t len, const char *file) {
    (void)file;
    return golden_render_clean(render_explain, src, len, true);
}

/* Prefixes and random edits of the join goldens (copied to a directory of their own) plan
 * or fail cleanly: no crash, no message without a place. */
TEST(join_goldens_survive_mutations) {
    char dir[] = "/tmp/weir-join-fuzz-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    int n = 0, copied = 0;
    char **names = golden_list("tests/sql/explain", &n);
    for (int k = 0; k < n; k++) {
        if (names[k][0] != 'j' && strncmp(names[k], "e01_join", 8) != 0) continue;
        char from[512], to[512];
        snprintf(from, sizeof from, "tests/sql/explain/%s", names[k]);
        snprintf(to, sizeof to, "%s/%s", dir, names[k]);
        size_t len = 0;
        char *src = golden_read_file(from, &len);
        FILE *f = src ? fopen(to, "w") : NULL;
        if (f) {
            fwrite(src, 1, len, f);
            fclose(f);
            copied++;
        }
        free(src);
    }
    golden_free_names(names, n);
    const golden_fuzz_opts o = {.min_len = 1, .prefixes = true, .cut_at = "\n ,", .mutations = 150, .edits = 2,
                                .alphabet = "()[],;.'`-/*+<>=|% \naZ09eE_", .seed = 0x6a6f696e73ull};
    CHECK(copied >= 4);
    CHECK(golden_fuzz(dir, &o, clean_result) > 500);
    names = golden_list(dir, &n);
    for (int k = 0; k < n; k++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, names[k]);
        unlink(path);
    }
    golden_free_names(names, n);
    rmdir(dir);
}

/* Plans the last statement of sql; the error message, or "" when it planned. */
static const char *plan_error(weir_arena *arena, const char *sql) {
    weir_err err;
    weir_sql_plan **roots = NULL;
    int nroots = 0;
    if (sqltest_plan_last(arena, sql, &roots, &nroots, &err) == WEIR_OK) return "";
    return weir_arena_strndup(arena, err.msg, strlen(err.msg));
}

/* An interval join keeps rows only until the watermark passes them: it cannot take
 * retractions. A regular join over the same changelog plans, and updates. */
TEST(interval_join_refuses_a_changelog) {
    weir_arena arena;
    weir_arena_init(&arena, 0);
    const char *tables =
        "CREATE TABLE c (id BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'test-changelog');"
        "CREATE TABLE o (id BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'test-source');";
    char sql[1024];
    snprintf(sql, sizeof sql, "%sSELECT o.id FROM o JOIN c ON o.id = c.id AND o.ts BETWEEN c.ts AND c.ts + INTERVAL '1' "
                              "MINUTE;", tables);
    const char *msg = plan_error(&arena, sql);
    CHECK(strstr(msg, "line 1, column") == msg);
    CHECK(strstr(msg, "an interval join needs append-only inputs, but its right input produces updates because of the "
                      "table 'c' is a changelog source") != NULL);
    snprintf(sql, sizeof sql, "%sSELECT o.id FROM o JOIN c ON o.id = c.id;", tables);
    CHECK_EQ_STR(plan_error(&arena, sql), "");
    weir_arena_free(&arena);
}

TEST(run_goldens) {
    static const char *const prefixes[] = {"j", "ej"};
    int n = 0;
    golden_run_prefixes("tests/sql/run", prefixes, 2, sqltest_render_run, true, &n);
    CHECK(n >= 2);
}

/* ---- the operators, driven directly -------------------------------------------------------- */

typedef struct harness {
    weir_arena arena;
    weir_sql_job *job;
    weir_sql_worker worker;
    weir_sql_op_shared shared, cap_shared;
    weir_sql_op op, cap;
    const weir_sql_plan *join;
    int64_t input_wm[2];
    bool input_idle[2];
    weir_buf seen; /* what reached the capture operator: one line per row */
} harness;

static const weir_sql_plan *find_join(const weir_sql_plan *p) {
    if (p->kind == WEIR_SQL_PLAN_JOIN || p->kind == WEIR_SQL_PLAN_INTERVAL_JOIN) return p;
    for (int k = 0; k < p->ninputs; k++) {
        const weir_sql_plan *j = find_join(p->inputs[k]);
        if (j) return j;
    }
    return NULL;
}

static harness *capture_of(weir_sql_op *op) { return (harness *)((char *)op - offsetof(harness, cap)); }

static int cap_push(weir_sql_op *op, int input, const weir_sql_batch *b, weir_err *err) {
    (void)input;
    (void)err;
    harness *h = capture_of(op);
    for (int r = 0; r < b->nrows; r++) {
        weir_buf_append(&h->seen, sqltest_kind_name(b->row_kinds[r]), 2);
        weir_buf_append(&h->seen, " ", 1);
        sqltest_append_row(&h->seen, b, r, ",");
        weir_buf_append(&h->seen, "\n", 1);
    }
    return WEIR_OK;
}

static int cap_watermark(weir_sql_op *op, int input, int64_t ts, weir_err *err) {
    (void)input;
    (void)err;
    harness *h = capture_of(op);
    char line[64];
    if (ts == INT64_MAX) snprintf(line, sizeof line, "wm end\n");
    else snprintf(line, sizeof line, "wm %lld\n", (long long)ts);
    weir_buf_append(&h->seen, line, strlen(line));
    return WEIR_OK;
}

static int cap_finish(weir_sql_op *op, int input, weir_err *err) {
    (void)op, (void)input, (void)err;
    return WEIR_OK;
}

static const weir_sql_op_vtab capture_vt = {.name = "capture", .push = cap_push, .watermark = cap_watermark,
                                            .finish = cap_finish};

/* Plans the last statement of sql and makes an instance of its join feeding a capture. */
static harness *harness_new(const char *sql, const char *ttl) {
    harness *h = calloc(1, sizeof *h);
    weir_arena_init(&h->arena, 0);
    weir_buf_init(&h->seen);
    weir_err err;
    weir_sql_plan **roots = NULL;
    int nroots = 0;
    if (sqltest_plan_last(&h->arena, sql, &roots, &nroots, &err) != WEIR_OK) fprintf(stderr, "  plan: %s\n", err.msg);
    h->join = roots ? find_join(roots[0]) : NULL;
    if (!h->join) {
        fprintf(stderr, "  no join in the plan of: %s\n", sql);
        abort();
    }
    const char *keys[] = {"table.exec.state.ttl"}, *vals[] = {ttl};
    h->job = weir_sql_job_new(NULL, stdout, NULL, NULL, keys, vals, ttl ? 1 : 0);
    h->worker.job = h->job;
    h->shared.plan = h->join;
    h->cap = (weir_sql_op){.vt = &capture_vt, .plan = h->join, .worker = &h->worker, .shared = &h->cap_shared};
    return h;
}

/* A fresh instance of the join (after a restart: the same plan, empty state). */
static void harness_start(harness *h) {
    h->input_wm[0] = h->input_wm[1] = WEIR_SQL_WM_NONE;
    h->input_idle[0] = h->input_idle[1] = false;
    h->op = (weir_sql_op){.vt = h->join->kind == WEIR_SQL_PLAN_JOIN ? &weir_sql_op_join : &weir_sql_op_interval_join,
                          .plan = h->join, .id = h->join->id, .worker = &h->worker, .next = &h->cap, .shared = &h->shared,
                          .input_wm = h->input_wm, .input_idle = h->input_idle, .out_wm = WEIR_SQL_WM_NONE};
    weir_err err;
    CHECK(h->op.vt->init(&h->op, &err) == WEIR_OK);
}

static void harness_free(harness *h) {
    h->op.vt->free(&h->op);
    weir_sql_job_free(h->job);
    weir_buf_free(&h->seen);
    weir_arena_free(&h->arena);
    free(h);
}

/* Pushes rows to input s: "kind v1,v2,..." per line (NULL for a null; integers, strings,
 * timestamps in ms for TIMESTAMP columns). */
static void push(harness *h, int s, const char *rows) {
    const weir_sql_plan *in = h->join->inputs[s];
    weir_sql_batch b;
    weir_err err;
    CHECK(weir_sql_batch_init(&b, in->cols, in->ncols, 16, &err) == WEIR_OK);
    const char *p = rows;
    while (*p) {
        int row = weir_sql_batch_add_row(&b);
        int kind = sqltest_kind_of(p);
        if (kind >= 0) b.row_kinds[row] = (uint8_t)kind;
        p += 3;
        for (int c = 0; c < in->ncols && *p && *p != '\n'; c++) {
            const char *end = p;
            while (*end && *end != ',' && *end != '\n') end++;
            const weir_sql_ltype *t = in->cols[c].type;
            if (end - p == 4 && strncmp(p, "NULL", 4) == 0) weir_sql_batch_set_null(&b, c, row, true);
            else if (weir_sql_ltype_is_string(t)) weir_sql_batch_set_str(&b, c, row, p, (size_t)(end - p));
            else if (t->kind == WEIR_SQL_TYPE_TIMESTAMP) weir_sql_batch_set_i64(&b, c, row, atoll(p) * 1000);
            else weir_sql_batch_set_i64(&b, c, row, atoll(p));
            p = *end == ',' ? end + 1 : end;
        }
        while (*p && *p != '\n') p++;
        if (*p == '\n') p++;
    }
    CHECK(h->op.vt->push(&h->op, s, &b, &err) == WEIR_OK);
    weir_sql_batch_free(&b);
}

static void watermark(harness *h, int s, int64_t ms) {
    weir_err err;
    CHECK(h->op.vt->watermark(&h->op, s, ms == INT64_MAX ? INT64_MAX : ms * 1000, &err) == WEIR_OK);
}

static bool seen_is(harness *h, const char *want) {
    bool same = h->seen.len == strlen(want) && (h->seen.len == 0 || memcmp(h->seen.data, want, h->seen.len) == 0);
    if (!same) fprintf(stderr, "  got:\n%.*s  want:\n%s", (int)h->seen.len, (const char *)h->seen.data, want);
    h->seen.len = 0;
    return same;
}

#define TABLES                                                                                                      \
    "CREATE TABLE l (k BIGINT, a STRING) WITH ('connector' = 'test-source');"                                      \
    "CREATE TABLE r (k BIGINT, b STRING) WITH ('connector' = 'test-source');"

TEST(inner_join_forwards_row_kinds) {
    harness *h = harness_new(TABLES "SELECT * FROM l JOIN r ON l.k = r.k;", NULL);
    CHECK(h->join && h->join->kind == WEIR_SQL_PLAN_JOIN);
    harness_start(h);
    push(h, 0, "+I 1,a\n+I 2,b\n");
    CHECK(seen_is(h, ""));
    push(h, 1, "+I 1,x\n+I 1,y\n+I 3,z\n");
    CHECK(seen_is(h, "+I 1,a,1,x\n+I 1,a,1,y\n"));
    /* an update of a left row: -U and +U come out with their kinds, one per match */
    push(h, 0, "-U 1,a\n+U 1,A\n");
    CHECK(seen_is(h, "-U 1,a,1,y\n-U 1,a,1,x\n+U 1,A,1,y\n+U 1,A,1,x\n"));
    /* a duplicate row is a second copy: retracting one leaves the other */
    push(h, 1, "+I 1,y\n");
    CHECK(seen_is(h, "+I 1,A,1,y\n"));
    push(h, 1, "-D 1,y\n");
    CHECK(seen_is(h, "-D 1,A,1,y\n"));
    push(h, 0, "+I 1,a2\n");
    CHECK(seen_is(h, "+I 1,a2,1,y\n+I 1,a2,1,x\n"));
    /* NULL keys never match */
    push(h, 0, "+I NULL,n\n");
    push(h, 1, "+I NULL,m\n");
    CHECK(seen_is(h, ""));
    harness_free(h);
}

TEST(left_join_pads_and_retracts) {
    harness *h = harness_new(TABLES "SELECT * FROM l LEFT JOIN r ON l.k = r.k;", NULL);
    harness_start(h);
    push(h, 0, "+I 1,a\n");
    CHECK(seen_is(h, "+I 1,a,NULL,NULL\n"));
    push(h, 1, "+I 1,x\n");
    CHECK(seen_is(h, "-D 1,a,NULL,NULL\n+I 1,a,1,x\n"));
    push(h, 1, "+I 1,y\n");
    CHECK(seen_is(h, "+I 1,a,1,y\n"));
    push(h, 1, "-D 1,x\n");
    CHECK(seen_is(h, "-D 1,a,1,x\n"));
    push(h, 1, "-U 1,y\n");
    CHECK(seen_is(h, "-U 1,a,1,y\n+I 1,a,NULL,NULL\n"));
    /* the left row goes: its padded row is retracted */
    push(h, 0, "-D 1,a\n");
    CHECK(seen_is(h, "-D 1,a,NULL,NULL\n"));
    /* a right row without a left row: nothing; then a left row joins it */
    push(h, 1, "+I 2,q\n");
    CHECK(seen_is(h, ""));
    push(h, 0, "+I 2,b\n");
    CHECK(seen_is(h, "+I 2,b,2,q\n"));
    push(h, 0, "+I NULL,c\n");
    CHECK(seen_is(h, "+I NULL,c,NULL,NULL\n"));
    push(h, 0, "-D NULL,c\n");
    CHECK(seen_is(h, "-D NULL,c,NULL,NULL\n"));
    harness_free(h);
}

TEST(full_join_pads_both_sides) {
    /* the right side updates (a GROUP BY): its duplicate rows are one entry with a count */
    harness *h = harness_new(TABLES "SELECT * FROM l FULL JOIN (SELECT k, MAX(b) AS b FROM r GROUP BY k) AS m ON l.k = m.k;",
                             NULL);
    harness_start(h);
    push(h, 1, "+I 1,x\n+I 1,x\n");
    CHECK(seen_is(h, "+I NULL,NULL,1,x\n+I NULL,NULL,1,x\n"));
    push(h, 0, "+I 1,a\n");
    CHECK(seen_is(h, "-D NULL,NULL,1,x\n-D NULL,NULL,1,x\n+I 1,a,1,x\n+I 1,a,1,x\n"));
    push(h, 0, "+I 1,b\n");
    CHECK(seen_is(h, "+I 1,b,1,x\n+I 1,b,1,x\n"));
    push(h, 0, "-D 1,a\n-D 1,b\n");
    CHECK(seen_is(h, "-D 1,a,1,x\n-D 1,a,1,x\n-D 1,b,1,x\n-D 1,b,1,x\n+I NULL,NULL,1,x\n+I NULL,NULL,1,x\n"));
    harness_free(h);
}

TEST(residual_condition_decides_matches) {
    harness *h = harness_new(TABLES "SELECT * FROM l LEFT JOIN r ON l.k = r.k AND r.b > l.a;", NULL);
    harness_start(h);
    push(h, 1, "+I 1,m\n+I 1,c\n");
    push(h, 0, "+I 1,d\n+I 1,z\n");
    CHECK(seen_is(h, "+I 1,d,1,m\n+I 1,z,NULL,NULL\n"));
    push(h, 1, "-D 1,m\n");
    CHECK(seen_is(h, "-D 1,d,1,m\n+I 1,d,NULL,NULL\n"));
    harness_free(h);
}

TEST(ttl_expires_idle_keys) {
    harness *h = harness_new(TABLES "SELECT * FROM l JOIN r ON l.k = r.k;", "1 s");
    harness_start(h);
    weir_err err;
    CHECK(h->op.vt->tick(&h->op, 1000000, &err) == WEIR_OK);
    push(h, 0, "+I 1,a\n+I 2,b\n");
    int64_t full = h->op.state_bytes;
    CHECK(full > 0);
    CHECK(h->op.vt->tick(&h->op, 1000600, &err) == WEIR_OK);
    push(h, 0, "+I 2,c\n"); /* key 2 touched at 1000.6 s */
    CHECK(h->op.vt->tick(&h->op, 1001300, &err) == WEIR_OK); /* key 1 idle for 1.3 s: gone */
    push(h, 1, "+I 1,x\n+I 2,y\n");
    CHECK(seen_is(h, "+I 2,c,2,y\n+I 2,b,2,y\n"));
    harness_free(h);
}

/* Feeds the same changelog to two instances; the second is snapshotted into a state file
 * after `cut` steps and restored into a fresh instance. Their outputs must be equal. */
typedef void (*step_fn)(harness *h, int step);

static int restore_record(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, weir_err *err) {
    weir_sql_op *op = arg;
    return op->vt->restore(op, key, klen, val, vlen, err);
}

static void restore_matches(const char *sql, step_fn step, int nsteps, int cut) {
    harness *a = harness_new(sql, NULL), *b = harness_new(sql, NULL);
    harness_start(a);
    harness_start(b);
    for (int k = 0; k < nsteps; k++) step(a, k);
    for (int k = 0; k < cut; k++) step(b, k);
    char path[] = "/tmp/weir-join-state-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    weir_sql_state_writer *w = NULL;
    weir_err err;
    CHECK(weir_sql_state_writer_open(path, &w, &err) == WEIR_OK);
    CHECK(b->op.vt->snapshot(&b->op, w, &err) == WEIR_OK);
    uint64_t bytes = 0, raw = 0, records = 0;
    CHECK(weir_sql_state_writer_close(w, true, &bytes, &raw, &records, &err) == WEIR_OK);
    CHECK(records > 0);
    b->op.vt->free(&b->op);
    harness_start(b);
    CHECK(b->op.state_bytes == 0 || b->op.state_bytes > 0);
    CHECK(weir_sql_state_file_read(path, restore_record, &b->op, &err) == WEIR_OK);
    for (int k = cut; k < nsteps; k++) step(b, k);
    bool same = a->seen.len == b->seen.len && (a->seen.len == 0 || memcmp(a->seen.data, b->seen.data, a->seen.len) == 0);
    if (!same)
        fprintf(stderr, "  uninterrupted:\n%.*s  restored:\n%.*s", (int)a->seen.len, (const char *)a->seen.data,
                (int)b->seen.len, (const char *)b->seen.data);
    CHECK(same);
    CHECK(a->seen.len > 0);
    unlink(path);
    harness_free(a);
    harness_free(b);
}

static void full_join_steps(harness *h, int k) {
    char rows[256];
    /* keys 0..4, values cycling; retractions of earlier rows every third step */
    snprintf(rows, sizeof rows, "+I %d,v%d\n+I %d,w%d\n", k % 5, k, (k * 3) % 5, k);
    push(h, k % 2, rows);
    if (k % 3 == 2) {
        snprintf(rows, sizeof rows, "-D %d,v%d\n", (k - 2) % 5, k - 2);
        push(h, (k - 2) % 2, rows);
    }
}

TEST(snapshot_restore_regular_join) {
    restore_matches(TABLES "SELECT * FROM l FULL JOIN r ON l.k = r.k;", full_join_steps, 24, 11);
    restore_matches(TABLES "SELECT * FROM l JOIN r ON l.k = r.k AND l.a < r.b;", full_join_steps, 24, 7);
    /* an updating input: its rows are a multiset indexed by their bytes */
    restore_matches(TABLES "SELECT * FROM (SELECT k, MAX(a) AS a FROM l GROUP BY k) AS m LEFT JOIN r ON m.k = r.k;",
                    full_join_steps, 24, 12);
}

#define TIMED                                                                                                       \
    "CREATE TABLE l (k BIGINT, a STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'test-source');" \
    "CREATE TABLE r (k BIGINT, b STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'test-source');"

TEST(interval_join_pads_at_the_watermark) {
    harness *h = harness_new(TIMED "SELECT * FROM l LEFT JOIN r ON l.k = r.k AND r.ts BETWEEN l.ts - INTERVAL '1' SECOND "
                                   "AND l.ts + INTERVAL '2' SECOND;",
                             NULL);
    CHECK(h->join && h->join->kind == WEIR_SQL_PLAN_INTERVAL_JOIN);
    const weir_sql_join_spec *js = h->join->ext;
    CHECK_EQ_INT(js->lower_us, -2000000);
    CHECK_EQ_INT(js->upper_us, 1000000);
    harness_start(h);
    push(h, 0, "+I 1,a,10000\n+I 2,b,10000\n");
    push(h, 1, "+I 1,x,11500\n+I 1,y,12500\n+I 1,z,8000\n");
    CHECK(seen_is(h, "+I 1,a,1970-01-01 00:00:10.000,1,x,1970-01-01 00:00:11.500\n"));
    /* the right watermark alone does not move event time */
    watermark(h, 1, 20000);
    CHECK(seen_is(h, ""));
    /* left at 11 s: right rows up to 11 s + ... ; a's window ends at 12 s, so a stays */
    watermark(h, 0, 11000);
    CHECK(seen_is(h, "wm 9000000\n"));
    watermark(h, 0, 12001);
    /* b never matched: padded once the watermark passed 12 s */
    CHECK(seen_is(h, "+I 2,b,1970-01-01 00:00:10.000,NULL,NULL,NULL\nwm 10001000\n"));
    /* a late right row still finds nothing; a left row beyond the watermark joins y */
    push(h, 0, "+I 1,c,11000\n");
    CHECK(seen_is(h, "+I 1,c,1970-01-01 00:00:11.000,1,y,1970-01-01 00:00:12.500\n"
                     "+I 1,c,1970-01-01 00:00:11.000,1,x,1970-01-01 00:00:11.500\n"));
    watermark(h, 0, INT64_MAX);
    watermark(h, 1, INT64_MAX);
    CHECK(seen_is(h, "wm 18000000\nwm end\n"));
    CHECK_EQ_INT(h->op.state_bytes > 0, 1);
    harness_free(h);
}

static void interval_steps(harness *h, int k) {
    char rows[256];
    snprintf(rows, sizeof rows, "+I %d,v%d,%d\n", k % 3, k, 1000 * k + (k % 2 ? 700 : 0));
    push(h, k % 2, rows);
    if (k % 4 == 3) {
        watermark(h, 0, 1000 * (k - 3));
        watermark(h, 1, 1000 * (k - 3));
    }
}

TEST(snapshot_restore_interval_join) {
    restore_matches(TIMED "SELECT * FROM l FULL JOIN r ON l.k = r.k AND l.ts BETWEEN r.ts - INTERVAL '2' SECOND AND r.ts;",
                    interval_steps, 30, 13);
}

int main(void) {
    weir_sql_register_connector(&test_source);
    weir_sql_register_connector(&test_sink);
    weir_sql_register_connector(&test_changelog);
    weir_sql_register_connector(&memtest);
    weir_test_case cases[] = {
        T(explain_goldens), T(join_goldens_survive_mutations), T(interval_join_refuses_a_changelog), T(run_goldens),
        T(inner_join_forwards_row_kinds), T(left_join_pads_and_retracts),
        T(full_join_pads_both_sides), T(residual_condition_decides_matches), T(ttl_expires_idle_keys),
        T(snapshot_restore_regular_join), T(interval_join_pads_at_the_watermark), T(snapshot_restore_interval_join),
    };
    return weir_test_run(__FILE__, cases, sizeof cases / sizeof cases[0]);
}
