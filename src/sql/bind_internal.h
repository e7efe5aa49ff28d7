/* bind_internal.h — shared between the binder's files (bind.c: statements, queries and
 * FROM; bind_expr.c: expressions and the function signatures; catalog.c: DDL; bind_print.c:
 * the printer). Not for other modules. */
#ifndef WEIR_SQL_BIND_INTERNAL_H
#define WEIR_SQL_BIND_INTERNAL_H

#include "sql/sql.h"

typedef struct weir_sql_cte_binding {
    const char *name;
    weir_sql_bquery *query;
} weir_sql_cte_binding;

/* The binder's state: the first error fills err and every bind function then returns
 * NULL, so the first error is the one reported. */
typedef struct weir_sql_binder {
    weir_sql_catalog *cat;
    weir_arena *arena;
    weir_err *err;
    weir_sql_cte_binding *ctes; /* WITH names in scope, innermost last */
    int nctes;
    int depth;
} weir_sql_binder;

/* One relation whose columns names can see: a leaf of FROM (global input number index). */
typedef struct weir_sql_scope_input {
    const char *alias;  /* what qualifies its columns (t in t.col); NULL: cannot be qualified */
    const char *what;   /* for messages: "table 'orders'", "the subquery", ... */
    int index;
    const weir_sql_lfield *cols;
    int ncols;
    bool *hidden;       /* USING: the right side's copy; computed columns in DDL */
} weir_sql_scope_input;

/* Where an expression is bound: the visible inputs and what the clause allows. */
typedef struct weir_sql_scope {
    weir_sql_scope_input *inputs;
    int ninputs;
    const char *clause;   /* "WHERE", "GROUP BY", "ON", ...; NULL where aggregates are allowed */
    bool found_agg;       /* an aggregate call was bound (SELECT / HAVING) */
    const char *in_agg;   /* binding the arguments of this aggregate */
} weir_sql_scope;

#define WEIR_SQL_BIND_MAX_DEPTH 200

void *weir_sql_bind_fail(weir_sql_binder *b, weir_sql_pos pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
const char *weir_sql_tstr(weir_sql_binder *b, const weir_sql_ltype *t);
weir_sql_ltype *weir_sql_type_dup(weir_sql_binder *b, const weir_sql_ltype *t);

weir_sql_bexpr *weir_sql_bind_expr(weir_sql_binder *b, weir_sql_scope *s, const weir_sql_expr *e);
/* Wraps e in an implicit CAST to t unless it already has that type (nullability aside). */
weir_sql_bexpr *weir_sql_bind_coerce(weir_sql_binder *b, weir_sql_bexpr *e, const weir_sql_ltype *t);
weir_sql_bexpr *weir_sql_bexpr_column(weir_sql_binder *b, weir_sql_pos pos, int input, int column, const char *name,
                                      const weir_sql_ltype *t);
bool weir_sql_bexpr_equal(const weir_sql_bexpr *a, const weir_sql_bexpr *b);
/* A boolean condition (NULL is fine): fails naming the clause otherwise. */
weir_sql_bexpr *weir_sql_bind_condition(weir_sql_binder *b, weir_sql_scope *s, const weir_sql_expr *e, const char *clause);
/* The name Flink gives an unaliased select item. */
const char *weir_sql_derived_name(weir_sql_binder *b, const weir_sql_expr *e, int index);

weir_sql_bquery *weir_sql_bind_query(weir_sql_binder *b, const weir_sql_query *q);

/* Printing shared by the bound-tree printer (bind_print.c) and EXPLAIN (explain.c). */
/* s as a SQL string literal: in single quotes, a quote inside doubled. */
void weir_sql_print_quoted(weir_buf *b, const char *s);
/* A literal as it was written: 'text', X'..', INTERVAL '-1' DAY TO HOUR, DATE '...' or the
 * bare text (numbers). NULLs and booleans are left to the caller: the printers differ. */
void weir_sql_print_literal_text(weir_buf *b, const weir_sql_bexpr *e);

#endif
