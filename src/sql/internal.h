/* internal.h — shared between the parser's files (parser.c: statements and types,
 * parser_expr.c: expressions, parser_query.c: queries). Not for other modules. */
#ifndef WEIR_SQL_INTERNAL_H
#define WEIR_SQL_INTERNAL_H

#include "sql/sql.h"

/* The parser's state. The first error sets failed and err; every parse function then
 * returns NULL (or false) and its callers return at once, so the first error is the one
 * reported. */
typedef struct weir_sql_parser {
    weir_arena *arena;
    weir_sql_token *toks;
    size_t ntoks;
    size_t i;
    int depth; /* nesting, bounded so hostile input cannot exhaust the stack */
    bool failed;
    weir_err *err;
} weir_sql_parser;

#define WEIR_SQL_MAX_DEPTH 200

/* A growable array of pointers or structs in the arena (the old copy is left behind). */
typedef struct weir_sql_vec {
    void *items;
    int n;
    int cap;
} weir_sql_vec;

void *weir_sql_vec_push(weir_sql_parser *p, weir_sql_vec *v, size_t item_size);
#define VEC_PUSH(p, v, type) ((type *)weir_sql_vec_push((p), (v), sizeof(type)))

weir_sql_token *weir_sql_peek(weir_sql_parser *p, size_t ahead);
weir_sql_token *weir_sql_next(weir_sql_parser *p);
bool weir_sql_at(weir_sql_parser *p, weir_sql_token_kind kind);
bool weir_sql_accept(weir_sql_parser *p, weir_sql_token_kind kind);
bool weir_sql_expect(weir_sql_parser *p, weir_sql_token_kind kind, const char *what);
bool weir_sql_is_kw(const weir_sql_token *t, const char *kw);
bool weir_sql_at_kw(weir_sql_parser *p, const char *kw);
bool weir_sql_at_kw2(weir_sql_parser *p, const char *kw, const char *kw2);
bool weir_sql_accept_kw(weir_sql_parser *p, const char *kw);
bool weir_sql_expect_kw(weir_sql_parser *p, const char *kw, const char *what);
bool weir_sql_is_reserved(const weir_sql_token *t);
bool weir_sql_word_is_reserved(const char *word);
/* Records "line L, column C: expected <what>, found <token>" at the current token. */
void weir_sql_fail_expected(weir_sql_parser *p, const char *what);
void weir_sql_fail_at(weir_sql_parser *p, weir_sql_pos pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
bool weir_sql_enter(weir_sql_parser *p);
void weir_sql_leave(weir_sql_parser *p);

/* An identifier (quoted, or a word that is not reserved); what names it in errors. */
const char *weir_sql_parse_ident(weir_sql_parser *p, const char *what);
/* a.b.c; returns the parts. */
const char **weir_sql_parse_compound(weir_sql_parser *p, int *n, const char *what);
/* (a, b, c) */
const char **weir_sql_parse_ident_list(weir_sql_parser *p, int *n, const char *what);

weir_sql_type *weir_sql_parse_type(weir_sql_parser *p);
weir_sql_expr *weir_sql_parse_expr(weir_sql_parser *p);
weir_sql_query *weir_sql_parse_query(weir_sql_parser *p);
bool weir_sql_at_query_start(weir_sql_parser *p);
weir_sql_expr *weir_sql_new_expr(weir_sql_parser *p, weir_sql_expr_kind kind, weir_sql_pos pos);
/* ORDER BY items, after the ORDER BY keywords. */
weir_sql_order_item *weir_sql_parse_order_items(weir_sql_parser *p, int *n);

#endif
