/* sqltest.h — pieces the SQL unit tests share: sessions and statements run the way a
 * test wants them, batch rows and row kinds as the text the tests compare, no-op sink
 * hooks for in-test connectors, planning a script's last statement and finding a node in
 * it, and the two golden renderers (EXPLAIN of each plan, a session's output).
 * Header-only (static inline): each unit test binary is built from one .c file. */
#ifndef WEIR_SQLTEST_H
#define WEIR_SQLTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "sql/sql.h"
#include "test.h"

/* ---- sessions ------------------------------------------------------------------------------ */

/* A session at parallelism writing its output to out (NULL: none); the creation is CHECKed. */
static inline weir_sql_session *sqltest_session(int parallelism, FILE *out) {
    weir_sql_session_opts o = {.out = out, .parallelism = parallelism};
    weir_sql_session *s = NULL;
    weir_err err;
    CHECK(weir_sql_session_new(&o, &s, &err) == WEIR_OK);
    return s;
}

/* Executes sql (a script); on failure prints the message (the test shows why) and returns
 * the code. With wait, also waits for the jobs it started, as `weir sql -f` does. */
static inline int sqltest_exec_err(weir_sql_session *s, const char *sql, bool wait, weir_err *err) {
    int rc = weir_sql_session_execute(s, sql, strlen(sql), err);
    if (rc == WEIR_OK && wait) rc = weir_sql_session_wait(s, err);
    if (rc != WEIR_OK) fprintf(stderr, "    (execute: %s)\n", err->msg);
    return rc;
}

static inline int sqltest_exec(weir_sql_session *s, const char *sql) {
    weir_err err;
    return sqltest_exec_err(s, sql, false, &err);
}

static inline int sqltest_exec_wait(weir_sql_session *s, const char *sql) {
    weir_err err;
    return sqltest_exec_err(s, sql, true, &err);
}

/* ---- rows as text -------------------------------------------------------------------------- */

static inline int sqltest_cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The index of column name in t, or -1. */
static inline int sqltest_col_of(const weir_sql_table *t, const char *name) {
    for (int c = 0; c < t->ncolumns; c++)
        if (strcmp(t->columns[c].name, name) == 0) return c;
    return -1;
}

/* Option key of an in-test connector's table as an integer, def when it is not set. */
static inline int64_t sqltest_opt_int(const weir_sql_table *t, const char *key, int64_t def) {
    const char *v = weir_sql_table_option(t, key);
    return v ? atoll(v) : def;
}

/* Whether option key of t is 'true'. */
static inline bool sqltest_opt_true(const weir_sql_table *t, const char *key) {
    const char *v = weir_sql_table_option(t, key);
    return v && strcmp(v, "true") == 0;
}

/* Row r of b as "v|v|...": NULL, strings as they are, every other type (integers,
 * timestamps in µs) as its int64 number. Caller frees. */
static inline char *sqltest_format_row(const weir_sql_batch *b, int r) {
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
    return (char *)line.data;
}

/* Appends row r of b's values as weir_sql_batch_format writes them (NULL as "NULL"),
 * separated by sep. */
static inline void sqltest_append_row(weir_buf *out, const weir_sql_batch *b, int r, const char *sep) {
    for (int c = 0; c < b->ncols; c++) {
        if (c) weir_buf_append(out, sep, strlen(sep));
        weir_sql_batch_format(out, b, c, r);
    }
}

/* A row kind as Flink prints it ("+I", "-U", "+U", "-D"; "??" for anything else). */
static inline const char *sqltest_kind_name(int k) {
    static const char *const names[] = {"+I", "-U", "+U", "-D"};
    return k >= 0 && k < 4 ? names[k] : "??";
}

/* The row kind text starts with ("+I", "-U", "+U" or "-D"), or -1. */
static inline int sqltest_kind_of(const char *text) {
    for (int k = 0; k < 4; k++)
        if (strncmp(text, sqltest_kind_name(k), 2) == 0) return k;
    return -1;
}

/* lines[0..n) sorted in place and joined, each followed by "\n"; NUL-terminated, caller frees. */
static inline char *sqltest_sorted_lines(char **lines, int n) {
    qsort(lines, (size_t)n, sizeof *lines, sqltest_cmp_str);
    weir_buf b;
    weir_buf_init(&b);
    for (int k = 0; k < n; k++) {
        weir_buf_append(&b, lines[k], strlen(lines[k]));
        weir_buf_append(&b, "\n", 1);
    }
    weir_buf_append(&b, "", 1);
    return (char *)b.data;
}

/* Adds a row of an in-memory source ("memtest") to out: each needed column (of the first
 * nneeded) holds id — strings "n<id>", DOUBLE id + 0.5, BOOLEAN id % 2, DECIMAL id at its
 * scale, anything else id itself. */
static inline void sqltest_add_id_row(weir_sql_batch *out, const bool *needed, int nneeded, int64_t id) {
    int row = weir_sql_batch_add_row(out);
    char text[32];
    for (int c = 0; c < out->ncols && c < nneeded; c++) {
        if (!needed[c]) continue;
        const weir_sql_ltype *t = &out->cols[c].type;
        switch (t->kind) {
        case WEIR_SQL_TYPE_STRING:
        case WEIR_SQL_TYPE_VARCHAR:
            snprintf(text, sizeof text, "n%lld", (long long)id);
            weir_sql_batch_set_str(out, c, row, text, strlen(text));
            break;
        case WEIR_SQL_TYPE_DECIMAL: {
            int64_t v = id;
            for (int k = 0; k < t->scale; k++) v *= 10;
            weir_sql_batch_set_i64(out, c, row, v);
            break;
        }
        case WEIR_SQL_TYPE_DOUBLE: weir_sql_batch_set_f64(out, c, row, (double)id + 0.5); break;
        case WEIR_SQL_TYPE_BOOLEAN: weir_sql_batch_set_i64(out, c, row, id % 2); break;
        default: weir_sql_batch_set_i64(out, c, row, id);
        }
    }
}

/* ---- no-op hooks for in-test sinks ---------------------------------------------------------- */

static inline int sqltest_sink_open(const weir_sql_conn_ctx *ctx, void **sink, weir_err *err) {
    (void)err;
    *sink = (void *)ctx->table;
    return WEIR_OK;
}

static inline int sqltest_sink_flush(void *writer, weir_err *err) {
    (void)writer, (void)err;
    return WEIR_OK;
}

static inline int sqltest_sink_close(void *sink, weir_err *err) {
    (void)sink, (void)err;
    return WEIR_OK;
}

/* ---- plans ------------------------------------------------------------------------------------ */

/* Parses and binds sql in arena (its DDL into a fresh catalog, also in arena) and plans its
 * last statement: WEIR_OK with the plan's roots, or the first error in *err. */
static inline int sqltest_plan_last(weir_arena *arena, const char *sql, weir_sql_plan ***roots, int *nroots,
                                    weir_err *err) {
    weir_sql_script *script = NULL;
    weir_sql_catalog *cat = weir_arena_alloc(arena, sizeof *cat);
    weir_sql_catalog_init(cat, arena);
    weir_sql_bstmt **stmts = NULL;
    int n = 0;
    *roots = NULL;
    *nroots = 0;
    int rc = weir_sql_parse_script(arena, sql, strlen(sql), &script, err);
    if (rc == WEIR_OK) rc = weir_sql_bind_script(cat, script, &stmts, &n, err);
    if (rc == WEIR_OK && n < 1) {
        weir_err_set(err, "no statement to plan");
        rc = WEIR_ERROR;
    }
    if (rc == WEIR_OK) rc = weir_sql_plan_build(arena, stmts[n - 1], roots, nroots, err);
    return rc;
}

/* The first node of kind in p's tree (depth first, inputs in order), or NULL. */
static inline const weir_sql_plan *sqltest_find_kind(const weir_sql_plan *p, weir_sql_plan_kind kind) {
    if (!p || p->kind == kind) return p;
    for (int i = 0; i < p->ninputs; i++) {
        const weir_sql_plan *f = sqltest_find_kind(p->inputs[i], kind);
        if (f) return f;
    }
    return NULL;
}

/* ---- golden renderers ------------------------------------------------------------------------ */

static inline bool sqltest_plannable(weir_sql_stmt_kind k) {
    return k == WEIR_SQL_STMT_INSERT || k == WEIR_SQL_STMT_QUERY || k == WEIR_SQL_STMT_STATEMENT_SET ||
           k == WEIR_SQL_STMT_EXPLAIN;
}

/* Called on each statement's plan roots (stmt counts from 1), e.g. to check their shape. */
typedef void (*sqltest_plan_hook)(weir_sql_plan **roots, int nroots, int stmt);

/* Parses, binds and plans src statement by statement; appends each plan's EXPLAIN text (a
 * blank line between them), or only "error: " and the first message. hook may be NULL. */
static inline int sqltest_render_explain(const char *src, size_t len, weir_buf *out, sqltest_plan_hook hook) {
    weir_arena arena;
    weir_arena_init(&arena, 0);
    weir_sql_script *script = NULL;
    weir_err err;
    weir_buf text;
    weir_buf_init(&text);
    int rc = weir_sql_parse_script(&arena, src, len, &script, &err);
    if (rc == WEIR_OK) {
        weir_sql_catalog cat;
        weir_sql_catalog_init(&cat, &arena);
        int planned = 0;
        for (int k = 0; k < script->nstmts && rc == WEIR_OK; k++) {
            weir_sql_bstmt *bs = NULL;
            if ((rc = weir_sql_bind_stmt(&cat, script->stmts[k], &bs, &err)) != WEIR_OK) break;
            if (!sqltest_plannable(bs->kind)) continue;
            weir_sql_plan **roots = NULL;
            int nroots = 0;
            if ((rc = weir_sql_plan_build(&arena, bs, &roots, &nroots, &err)) != WEIR_OK) break;
            if (planned++) weir_buf_append(&text, "\n", 1);
            weir_sql_plan_explain(&text, roots, nroots);
            if (hook) hook(roots, nroots, k + 1);
        }
    }
    if (rc == WEIR_OK) {
        weir_buf_append(out, text.data, text.len);
    } else {
        weir_buf_append(out, "error: ", 7);
        weir_buf_append(out, err.msg, strlen(err.msg));
        weir_buf_append(out, "\n", 1);
    }
    weir_buf_free(&text);
    weir_arena_free(&arena);
    return rc;
}

/* Runs src in a session at parallelism 1 and waits for its jobs; appends what the session
 * printed, then "error: " and the message if it failed. */
static inline int sqltest_render_run(const char *src, size_t len, weir_buf *out) {
    char *text = NULL;
    size_t tlen = 0;
    FILE *f = open_memstream(&text, &tlen);
    weir_sql_session_opts o = {.out = f, .parallelism = 1};
    weir_sql_session *s = NULL;
    weir_err err;
    int rc = weir_sql_session_new(&o, &s, &err);
    if (rc == WEIR_OK) rc = weir_sql_session_execute(s, src, len, &err);
    if (rc == WEIR_OK) rc = weir_sql_session_wait(s, &err);
    weir_sql_session_free(s);
    if (rc != WEIR_OK) fprintf(f, "error: %s\n", err.msg);
    fclose(f);
    weir_buf_append(out, text, tlen);
    free(text);
    return rc;
}

#endif
