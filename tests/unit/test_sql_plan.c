/* test_sql_plan.c — the planner and EXPLAIN. Every .sql file in tests/sql/explain is
 * parsed, bound against a fresh catalog and each query, INSERT, statement set or EXPLAIN
 * is planned; the EXPLAIN text of each plan (or "error: " and the message) must equal the
 * .out beside it (e*.sql must fail). Successful plans are also checked for shape (column
 * references within their input, ids of 16 hex digits) and every CALC and VALUES must
 * compile into a program. The test registers its own connectors ('test-source',
 * 'test-sink', 'readonly'), so it does not depend on src/connect. Then: which columns a
 * scan reads, stable ids, and prefixes and mutations that must plan or fail cleanly. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "sql/sql.h"
#include "golden.h"
#include "sqltest.h"
#include "test.h"

#define GOLDEN_DIR "tests/sql/explain"

/* ---- test connectors -------------------------------------------------------------------- */

static int test_source_open(const weir_sql_conn_ctx *ctx, void **source, int *nsplits, weir_err *err) {
    (void)source;
    (void)nsplits;
    return weir_err_set(err, "table '%s': the test connectors only plan, they do not run", ctx->table->name);
}

static int test_sink_open(const weir_sql_conn_ctx *ctx, void **sink, weir_err *err) {
    (void)sink;
    return weir_err_set(err, "table '%s': the test connectors only plan, they do not run", ctx->table->name);
}

static const weir_sql_source_ops test_source_ops = {.open = test_source_open};
static const weir_sql_sink_ops test_sink_ops = {.open = test_sink_open};

/* Refuses the option 'bad', as a real connector refuses options it does not know. */
static int test_validate(const weir_sql_table *t, bool as_source, weir_err *err) {
    if (weir_sql_table_option(t, "bad"))
        return weir_err_set(err, "table '%s': unsupported option 'bad' for connector '%s' (used as a %s)", t->name,
                            weir_sql_table_option(t, "connector"), as_source ? "source" : "sink");
    return WEIR_OK;
}

static void test_describe(const weir_sql_table *t, weir_buf *out) {
    const char *topic = weir_sql_table_option(t, "topic");
    if (!topic) return;
    weir_buf_append(out, "topic=[", 7);
    weir_buf_append(out, topic, strlen(topic));
    weir_buf_append(out, "]", 1);
}

static const weir_sql_connector test_source = {
    .name = "test-source", .source = &test_source_ops, .validate = test_validate, .describe = test_describe};
static const weir_sql_connector test_sink = {
    .name = "test-sink", .sink = &test_sink_ops, .validate = test_validate, .describe = test_describe};
static const weir_sql_connector test_readonly = {.name = "readonly", .source = &test_source_ops};

/* Runs first: the other tests plan tables that use these connectors. */
TEST(registers_test_connectors) {
    weir_sql_register_connector(&test_source);
    weir_sql_register_connector(&test_sink);
    weir_sql_register_connector(&test_readonly);
    CHECK(weir_sql_find_connector("test-source") == &test_source);
    CHECK(weir_sql_find_connector("readonly") == &test_readonly);
}

/* ---- plan checks ------------------------------------------------------------------------ */

static bool refs_ok(const weir_sql_bexpr *e, const weir_sql_lfield *cols, int ncols) {
    if (!e) return true;
    if (e->kind == WEIR_SQL_BEXPR_COLUMN) {
        if (e->input != 0 || e->column < 0 || e->column >= ncols) return false;
        return weir_sql_ltype_equal_ignoring_null(&e->type, cols[e->column].type);
    }
    if (e->kind == WEIR_SQL_BEXPR_SUBQUERY || e->kind == WEIR_SQL_BEXPR_AGG || e->over) return false;
    for (int k = 0; k < e->nargs; k++)
        if (!refs_ok(e->args[k], cols, ncols)) return false;
    return true;
}

/* The evaluator refuses some functions and types for now (FIELD, DECIMAL above 18
 * digits...); those plans are still well formed. */
static bool evaluator_gap(const char *msg) { return strstr(msg, "not supported") != NULL; }

/* A plan the engine can run: CALC expressions over their input's columns, VALUES
 * constant, SCANs with needed[], 16-hex-digit ids; with compile, every program compiles. */
static bool plan_ok(const weir_sql_plan *p, bool compile, weir_buf *why) {
    bool ok = strlen(p->id) == 16;
    for (int k = 0; k < 16 && ok; k++) ok = isxdigit((unsigned char)p->id[k]);
    if (!ok) weir_buf_append(why, "bad id; ", 8);
    static const weir_sql_lfield none[1];
    weir_err err;
    switch (p->kind) {
    case WEIR_SQL_PLAN_SCAN:
        if (!p->needed || !p->connector || !p->connector->source || !p->table || p->ninputs != 0) ok = false;
        break;
    case WEIR_SQL_PLAN_CALC: {
        const weir_sql_plan *in = p->inputs[0];
        if (p->ninputs != 1 || p->nexprs != p->ncols || !refs_ok(p->filter, in->cols, in->ncols)) ok = false;
        for (int k = 0; k < p->nexprs; k++)
            if (!refs_ok(p->exprs[k], in->cols, in->ncols)) ok = false;
        if (!ok) weir_buf_append(why, "bad CALC; ", 10);
        weir_sql_program *prog = NULL;
        if (ok && compile && weir_sql_program_compile(p->filter, p->exprs, p->nexprs, in->cols, in->ncols, &prog, &err) != WEIR_OK &&
            !evaluator_gap(err.msg)) {
            weir_buf_append(why, err.msg, strlen(err.msg));
            ok = false;
        }
        weir_sql_program_free(prog);
        break;
    }
    case WEIR_SQL_PLAN_VALUES:
        for (int r = 0; r < p->nrows; r++) {
            for (int c = 0; c < p->ncols; c++)
                if (!refs_ok(p->rows[r][c], none, 0)) ok = false;
            weir_sql_program *prog = NULL;
            if (ok && compile && weir_sql_program_compile(NULL, p->rows[r], p->ncols, none, 0, &prog, &err) != WEIR_OK &&
                !evaluator_gap(err.msg)) {
                weir_buf_append(why, err.msg, strlen(err.msg));
                ok = false;
            }
            weir_sql_program_free(prog);
        }
        break;
    case WEIR_SQL_PLAN_UNION:
        for (int i = 0; i < p->ninputs; i++)
            if (p->inputs[i]->ncols != p->ncols) ok = false;
        break;
    case WEIR_SQL_PLAN_LIMIT:
        if (p->ninputs != 1 || p->offset < 0) ok = false;
        break;
    case WEIR_SQL_PLAN_SINK:
        if (p->ninputs != 1 || (p->table && (!p->connector || !p->connector->sink))) ok = false;
        if (p->table && p->ncols != p->table->ncolumns) ok = false;
        break;
    case WEIR_SQL_PLAN_EXCHANGE: /* keys within its input, same columns */
    case WEIR_SQL_PLAN_WINDOW_AGG: /* keys, window_start, window_end, window_time, aggregates */
        if (p->ninputs != 1) {
            ok = false;
            break;
        }
        for (int k = 0; k < p->nkeys; k++)
            if (p->keys[k] < 0 || p->keys[k] >= p->inputs[0]->ncols) ok = false;
        if (p->kind == WEIR_SQL_PLAN_EXCHANGE && p->ncols != p->inputs[0]->ncols) ok = false;
        if (p->kind == WEIR_SQL_PLAN_WINDOW_AGG && (p->ncols != p->nkeys + 3 + p->naggs || p->window_size_ms <= 0))
            ok = false;
        if (!ok) weir_buf_append(why, "bad EXCHANGE/WINDOW_AGG; ", 25);
        break;
    case WEIR_SQL_PLAN_GROUP_AGG:
    case WEIR_SQL_PLAN_RANK:
    case WEIR_SQL_PLAN_OVER_AGG:
    case WEIR_SQL_PLAN_JOIN:
    case WEIR_SQL_PLAN_INTERVAL_JOIN: /* parameters in ext, printed by describe */
        if (p->ninputs < 1 || p->ninputs > 2 || !p->ext || !p->describe || p->ncols < 1) {
            ok = false;
            weir_buf_append(why, "bad stateful node; ", 19);
        }
        break;
    }
    for (int i = 0; i < p->ninputs; i++) ok = plan_ok(p->inputs[i], compile, why) && ok;
    return ok;
}

/* ---- golden files ------------------------------------------------------------------------- */

static bool check_plans; /* the golden run checks shapes and compiles the programs */

/* With check_plans, every root must be a sink over a well-formed plan whose programs compile. */
static void check_roots(weir_sql_plan **roots, int nroots, int stmt) {
    for (int r = 0; r < nroots && check_plans; r++) {
        weir_buf why;
        weir_buf_init(&why);
        bool ok = roots[r]->kind == WEIR_SQL_PLAN_SINK && plan_ok(roots[r], true, &why);
        if (!ok) fprintf(stderr, "  plan of statement %d is malformed: %.*s\n", stmt, (int)why.len, (const char *)why.data);
        CHECK(ok);
        weir_buf_free(&why);
    }
}

/* Parses, binds and plans src statement by statement; prints each plan's EXPLAIN text (a
 * blank line between them), or only "error: " and the first message. */
static int render(const char *src, size_t len, weir_buf *out) { return sqltest_render_explain(src, len, out, check_roots); }

TEST(golden) {
    check_plans = true;
    int n = 0;
    int errors = golden_run(GOLDEN_DIR, render, true, &n);
    check_plans = false;
    CHECK(n >= 30);
    CHECK(errors >= 18);
}

/* A result is clean when it planned, or failed with "line L, column C: ..." or a
 * message naming the table ("table 'orders': ..."). */
static bool clean_result(const char *src, size_t len, const char *file) {
    (void)file;
    return golden_render_clean(render, src, len, true);
}

TEST(prefixes_and_mutations) {
    const golden_fuzz_opts o = {.min_len = 1, .prefixes = true, .cut_at = "\n ,", .mutations = 100, .edits = 2,
                                .alphabet = "()[],;.'`-/*+<>=|% \naZ09eE_", .seed = 0x5851f42d4c957f2dull};
    CHECK(golden_fuzz(GOLDEN_DIR, &o, clean_result) > 1000);
}

/* ---- assertions in C ---------------------------------------------------------------------- */

/* Plans the last statement of sql (the ones before it only change the catalog). */
static weir_sql_plan **plan_sql(weir_arena *arena, const char *sql, int *nroots, weir_err *err) {
    weir_sql_plan **roots = NULL;
    return sqltest_plan_last(arena, sql, &roots, nroots, err) == WEIR_OK ? roots : NULL;
}

#define FIVE_COLUMNS                                                                                         \
    "CREATE TABLE t (a INT, b STRING, c INT, d DOUBLE, e STRING, f AS a + c, g AS UPPER(e)) "                 \
    "WITH ('connector' = 'test-source');"

TEST(scan_reads_only_needed_columns) {
    weir_arena arena;
    weir_arena_init(&arena, 0);
    weir_err err;
    int n = 0;
    /* 2 of 5 physical columns */
    weir_sql_plan **roots = plan_sql(&arena, FIVE_COLUMNS "SELECT b, d FROM t WHERE d > 1.5", &n, &err);
    CHECK(roots != NULL);
    if (roots) {
        const weir_sql_plan *scan = sqltest_find_kind(roots[0], WEIR_SQL_PLAN_SCAN);
        CHECK(scan != NULL);
        if (scan) {
            bool want[7] = {false, true, false, true, false, false, false};
            for (int k = 0; k < 7; k++) CHECK_EQ_INT(scan->needed[k], want[k]);
            CHECK_EQ_INT(scan->ncols, 7); /* a scan yields all the table's columns */
        }
        /* no computed column is read: no CALC computes them */
        const weir_sql_plan *calc = sqltest_find_kind(roots[0], WEIR_SQL_PLAN_CALC);
        CHECK(calc && calc->inputs[0] == scan);
    }
    /* a computed column pulls in what it is computed from, and gets a CALC of its own */
    roots = plan_sql(&arena, FIVE_COLUMNS "SELECT b, f FROM t", &n, &err);
    CHECK(roots != NULL);
    if (roots) {
        const weir_sql_plan *scan = sqltest_find_kind(roots[0], WEIR_SQL_PLAN_SCAN);
        CHECK(scan != NULL);
        if (scan) {
            bool want[7] = {true, true, true, false, false, true, false};
            for (int k = 0; k < 7; k++) CHECK_EQ_INT(scan->needed[k], want[k]);
        }
        const weir_sql_plan *top = roots[0]->inputs[0];
        CHECK(top->kind == WEIR_SQL_PLAN_CALC && top->nexprs == 2);
        const weir_sql_plan *computed = top->inputs[0];
        CHECK(computed->kind == WEIR_SQL_PLAN_CALC && computed->inputs[0] == scan && computed->nexprs == 7);
        if (computed->kind == WEIR_SQL_PLAN_CALC && computed->nexprs == 7) {
            CHECK(computed->exprs[5]->kind == WEIR_SQL_BEXPR_CALL); /* f = a + c */
            CHECK(computed->exprs[6]->kind == WEIR_SQL_BEXPR_LITERAL); /* g is not read: NULL */
        }
    }
    /* the watermark's column is read even when the query does not name it */
    roots = plan_sql(&arena,
                     "CREATE TABLE w (id INT, ts TIMESTAMP(3), x STRING, WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) "
                     "WITH ('connector' = 'test-source'); SELECT id FROM w",
                     &n, &err);
    CHECK(roots != NULL);
    if (roots) {
        const weir_sql_plan *scan = sqltest_find_kind(roots[0], WEIR_SQL_PLAN_SCAN);
        CHECK(scan && scan->needed[0] && scan->needed[1] && !scan->needed[2]);
    }
    weir_arena_free(&arena);
}

static void collect_ids(const weir_sql_plan *p, weir_buf *out) {
    weir_buf_append(out, p->id, 16);
    weir_buf_append(out, " ", 1);
    for (int i = 0; i < p->ninputs; i++) collect_ids(p->inputs[i], out);
}

static char *ids_of(const char *sql) {
    weir_arena arena;
    weir_arena_init(&arena, 0);
    weir_err err;
    int n = 0;
    weir_sql_plan **roots = plan_sql(&arena, sql, &n, &err);
    weir_buf b;
    weir_buf_init(&b);
    for (int k = 0; roots && k < n; k++) collect_ids(roots[k], &b);
    weir_buf_append(&b, "", 1);
    weir_arena_free(&arena);
    return (char *)b.data;
}

TEST(stable_ids) {
    const char *ddl = "CREATE TABLE src (id BIGINT, name STRING, amount INT) WITH ('connector' = 'test-source');"
                      "CREATE TABLE dst (id BIGINT, name STRING) WITH ('connector' = 'test-sink');";
    char sql1[1024], sql2[1024], sql3[1024];
    snprintf(sql1, sizeof sql1, "%s INSERT INTO dst SELECT id, name FROM src WHERE amount > 10", ddl);
    /* the same query, written differently (spacing, case of keywords) */
    snprintf(sql2, sizeof sql2, "%s insert into dst\n  select id,   name\n  from src where amount > 10;", ddl);
    snprintf(sql3, sizeof sql3, "%s INSERT INTO dst SELECT id, name FROM src WHERE amount > 11", ddl);
    char *a = ids_of(sql1), *b = ids_of(sql1), *c = ids_of(sql2), *d = ids_of(sql3);
    CHECK(strlen(a) == 3 * 17); /* sink, calc, scan */
    CHECK_EQ_STR(a, b);          /* two plannings of the same text */
    CHECK_EQ_STR(a, c);          /* a harmless edit */
    CHECK(strcmp(a, d) != 0);    /* a different filter */
    /* the scan under the changed filter keeps its id; the calc and the sink change */
    CHECK(strncmp(a, d, 16) != 0);
    CHECK(strncmp(a + 17, d + 17, 16) != 0);
    CHECK(strncmp(a + 34, d + 34, 16) == 0);
    free(a);
    free(b);
    free(c);
    free(d);
    /* reading one more column is the same source: the scan keeps its id */
    snprintf(sql1, sizeof sql1, "%s SELECT id FROM src", ddl);
    snprintf(sql2, sizeof sql2, "%s SELECT id, amount FROM src", ddl);
    a = ids_of(sql1);
    b = ids_of(sql2);
    CHECK(strlen(a) == 3 * 17 && strlen(b) == 3 * 17);
    CHECK(strncmp(a + 34, b + 34, 16) == 0);
    CHECK(strncmp(a + 17, b + 17, 16) != 0);
    free(a);
    free(b);
    /* equal subtrees in one statement set still get distinct ids */
    snprintf(sql1, sizeof sql1,
             "%s CREATE TABLE dst2 (id BIGINT, name STRING) WITH ('connector' = 'test-sink');"
             "EXECUTE STATEMENT SET BEGIN INSERT INTO dst SELECT id, name FROM src; INSERT INTO dst2 SELECT id, name FROM src; END",
             ddl);
    a = ids_of(sql1);
    CHECK(strlen(a) == 6 * 17);
    for (int i = 0; i < 6; i++)
        for (int j = i + 1; j < 6; j++) CHECK(strncmp(a + 17 * i, a + 17 * j, 16) != 0);
    b = ids_of(sql1);
    CHECK_EQ_STR(a, b);
    free(a);
    free(b);
}

TEST(explain_tree_marks) {
    /* a UNION's inputs: ":- " for all but the last, whose subtree is indented by spaces */
    weir_arena arena;
    weir_arena_init(&arena, 0);
    weir_err err;
    int n = 0;
    weir_sql_plan **roots = plan_sql(&arena,
                                     "CREATE TABLE a (x INT) WITH ('connector' = 'test-source');"
                                     "CREATE TABLE b (x BIGINT) WITH ('connector' = 'readonly');"
                                     "SELECT x FROM a WHERE x > 0 UNION ALL SELECT x FROM b",
                                     &n, &err);
    CHECK(roots != NULL && n == 1);
    if (roots) {
        weir_buf out;
        weir_buf_init(&out);
        weir_sql_plan_explain(&out, roots, n);
        weir_buf_append(&out, "", 1);
        CHECK_EQ_STR((const char *)out.data,
                     "== Physical Plan ==\n"
                     "Sink(table=[*terminal*], fields=[x])\n"
                     "+- Union(all=[true], union=[x])\n"
                     "   :- Calc(select=[CAST(x AS BIGINT) AS x], where=[>(x, 0)])\n"
                     "   :  +- TableSourceScan(table=[[default_catalog, default_database, a]], connector=[test-source], fields=[x])\n"
                     "   +- TableSourceScan(table=[[default_catalog, default_database, b]], connector=[readonly], fields=[x])\n");
        weir_buf_free(&out);
    }
    weir_arena_free(&arena);
}

TEST_MAIN(T(registers_test_connectors), T(golden), T(prefixes_and_mutations), T(scan_reads_only_needed_columns),
          T(stable_ids), T(explain_tree_marks))
