/* sql.h — the SQL module's one header: the Flink SQL lexer, the recursive-descent parser
 * and the syntax tree it builds (with its canonical printer). Everything the parser makes
 * lives in the caller's arena and dies with it; errors name line:column and what was
 * expected. Binding, planning and execution build on this tree (not yet written). */
#ifndef WEIR_SQL_H
#define WEIR_SQL_H

#include "base/base.h"

/* A place in the SQL text: 1-based line and column (columns count characters). */
typedef struct weir_sql_pos {
    int line;
    int col;
} weir_sql_pos;

/* ---- tokens ----------------------------------------------------------------------- */

typedef enum {
    WEIR_SQL_TOK_EOF,
    WEIR_SQL_TOK_IDENT,        /* word: keyword or identifier (keywords are not told apart) */
    WEIR_SQL_TOK_QUOTED_IDENT, /* `identifier` (text without backticks, `` undoubled) */
    WEIR_SQL_TOK_STRING,       /* 'text' (text without quotes, '' undoubled) */
    WEIR_SQL_TOK_BINARY,       /* X'0A1B' (text: the hex digits) */
    WEIR_SQL_TOK_INTEGER,      /* 42 */
    WEIR_SQL_TOK_DECIMAL,      /* 4.2, .5, 4. */
    WEIR_SQL_TOK_DOUBLE,       /* 4.2E-3 */
    WEIR_SQL_TOK_LPAREN, WEIR_SQL_TOK_RPAREN, WEIR_SQL_TOK_LBRACKET, WEIR_SQL_TOK_RBRACKET,
    WEIR_SQL_TOK_COMMA, WEIR_SQL_TOK_SEMI, WEIR_SQL_TOK_DOT,
    WEIR_SQL_TOK_EQ, WEIR_SQL_TOK_NE, WEIR_SQL_TOK_LT, WEIR_SQL_TOK_LE, WEIR_SQL_TOK_GT,
    WEIR_SQL_TOK_GE, WEIR_SQL_TOK_PLUS, WEIR_SQL_TOK_MINUS, WEIR_SQL_TOK_STAR,
    WEIR_SQL_TOK_SLASH, WEIR_SQL_TOK_PERCENT, WEIR_SQL_TOK_CONCAT, /* || */
    WEIR_SQL_TOK_ARROW                                             /* => */
} weir_sql_token_kind;

typedef struct weir_sql_token {
    weir_sql_token_kind kind;
    weir_sql_pos pos;
    const char *src; /* where it starts in the source */
    int src_len;     /* its length there, quotes included */
    const char *text; /* NUL-terminated value (see the kinds above); arena-owned */
} weir_sql_token;

/* Splits src into tokens, ending with one WEIR_SQL_TOK_EOF (positioned at the end).
 * Comments (-- to end of line, / * ... * /) and whitespace are skipped. Errors:
 * unterminated strings, identifiers or comments, and characters SQL does not use. */
int weir_sql_lex(weir_arena *arena, const char *src, size_t len, weir_sql_token **tokens,
                 size_t *ntokens, weir_err *err);

/* ---- types ------------------------------------------------------------------------ */

typedef enum {
    WEIR_SQL_TYPE_BOOLEAN, WEIR_SQL_TYPE_TINYINT, WEIR_SQL_TYPE_SMALLINT, WEIR_SQL_TYPE_INT,
    WEIR_SQL_TYPE_BIGINT, WEIR_SQL_TYPE_FLOAT, WEIR_SQL_TYPE_DOUBLE, WEIR_SQL_TYPE_DECIMAL,
    WEIR_SQL_TYPE_CHAR, WEIR_SQL_TYPE_VARCHAR, WEIR_SQL_TYPE_STRING, WEIR_SQL_TYPE_BINARY,
    WEIR_SQL_TYPE_VARBINARY, WEIR_SQL_TYPE_BYTES, WEIR_SQL_TYPE_DATE, WEIR_SQL_TYPE_TIME,
    WEIR_SQL_TYPE_TIMESTAMP, WEIR_SQL_TYPE_TIMESTAMP_LTZ, WEIR_SQL_TYPE_ARRAY,
    WEIR_SQL_TYPE_MULTISET, WEIR_SQL_TYPE_MAP, WEIR_SQL_TYPE_ROW
} weir_sql_type_kind;

typedef struct weir_sql_type weir_sql_type;
typedef struct weir_sql_expr weir_sql_expr;
typedef struct weir_sql_query weir_sql_query;
typedef struct weir_sql_stmt weir_sql_stmt;

typedef struct weir_sql_row_field {
    const char *name;
    weir_sql_type *type;
} weir_sql_row_field;

/* A declared type as written. precision/scale/length are -1 when not given (the binder
 * applies Flink's defaults); STRING and BYTES stay as written. */
struct weir_sql_type {
    weir_sql_type_kind kind;
    weir_sql_pos pos;
    int precision; /* DECIMAL p, CHAR/VARCHAR/BINARY/VARBINARY n, TIME/TIMESTAMP(_LTZ) p */
    int scale;     /* DECIMAL s */
    bool not_null;
    weir_sql_type *elem;  /* ARRAY, MULTISET; MAP's key */
    weir_sql_type *value; /* MAP's value */
    weir_sql_row_field *fields; /* ROW */
    int nfields;
};

/* ---- expressions ------------------------------------------------------------------ */

typedef enum {
    WEIR_SQL_EXPR_INTEGER,   /* text: digits */
    WEIR_SQL_EXPR_DECIMAL,   /* text: 1.5 */
    WEIR_SQL_EXPR_DOUBLE,    /* text: 1.5E3 */
    WEIR_SQL_EXPR_STRING,    /* text */
    WEIR_SQL_EXPR_BINARY,    /* text: hex digits */
    WEIR_SQL_EXPR_BOOL,      /* bool_value */
    WEIR_SQL_EXPR_NULL,
    WEIR_SQL_EXPR_TYPED_LITERAL, /* DATE / TIME / TIMESTAMP 'text': name is the type word */
    WEIR_SQL_EXPR_INTERVAL,  /* INTERVAL 'text' unit [TO unit2]; negated by a leading '-' */
    WEIR_SQL_EXPR_COLUMN,    /* names[0..nnames): a, t.a, t.a.field (the binder decides) */
    WEIR_SQL_EXPR_STAR,      /* *, or t.* (names: the qualifier) */
    WEIR_SQL_EXPR_UNARY,     /* op: "-", "+", "NOT"; args[0] */
    WEIR_SQL_EXPR_BINARY_OP, /* op: OR AND = <> < <= > >= + - * / % ||; args[0], args[1] */
    WEIR_SQL_EXPR_IS,        /* args[0] IS [NOT] name: NULL / TRUE / FALSE / UNKNOWN */
    WEIR_SQL_EXPR_DISTINCT_FROM, /* args[0] IS [NOT] DISTINCT FROM args[1] */
    WEIR_SQL_EXPR_LIKE,      /* args[0] [NOT] LIKE args[1] [ESCAPE args[2]] */
    WEIR_SQL_EXPR_IN_LIST,   /* args[0] [NOT] IN (args[1..]) */
    WEIR_SQL_EXPR_IN_QUERY,  /* args[0] [NOT] IN (query) */
    WEIR_SQL_EXPR_BETWEEN,   /* args[0] [NOT] BETWEEN args[1] AND args[2] */
    WEIR_SQL_EXPR_CASE,      /* CASE [args[0] if has_operand] WHEN/THEN pairs [ELSE last] */
    WEIR_SQL_EXPR_CAST,      /* CAST / TRY_CAST (try_cast) (args[0] AS type) */
    WEIR_SQL_EXPR_CALL,      /* name(args) [FILTER (WHERE filter)] [OVER (window)] */
    WEIR_SQL_EXPR_SUBSCRIPT, /* args[0][args[1]] */
    WEIR_SQL_EXPR_FIELD,     /* (args[0]).name */
    WEIR_SQL_EXPR_SUBQUERY,  /* (query) as a scalar, or EXISTS (query) (name "EXISTS") */
    WEIR_SQL_EXPR_TABLE_ARG, /* TABLE name, as a table function's argument */
    WEIR_SQL_EXPR_NAMED_ARG, /* name => args[0] */
    WEIR_SQL_EXPR_SYMBOL     /* a keyword argument: a time unit, BOTH/LEADING/TRAILING */
} weir_sql_expr_kind;

typedef struct weir_sql_order_item {
    weir_sql_expr *expr;
    bool desc;
    int nulls; /* 0: not said, 1: NULLS FIRST, 2: NULLS LAST */
} weir_sql_order_item;

/* OVER (PARTITION BY ... ORDER BY ... [ROWS|RANGE BETWEEN lower AND upper]) */
typedef struct weir_sql_window {
    weir_sql_expr **partition_by;
    int npartition_by;
    weir_sql_order_item *order_by;
    int norder_by;
    const char *frame;  /* NULL, "ROWS" or "RANGE" */
    weir_sql_expr *lower, *upper; /* SYMBOL "UNBOUNDED PRECEDING" / "CURRENT ROW", or
                                     (UNARY "PRECEDING"/"FOLLOWING" offset) */
} weir_sql_window;

struct weir_sql_expr {
    weir_sql_expr_kind kind;
    weir_sql_pos pos;
    const char *text;  /* literals, symbols, interval value */
    const char *name;  /* CALL / FIELD / NAMED_ARG / TYPED_LITERAL / IS name; INTERVAL unit */
    const char *name2; /* INTERVAL's TO unit */
    const char *op;    /* UNARY / BINARY_OP operator */
    const char **names; /* COLUMN parts, STAR qualifier, TABLE_ARG name */
    int nnames;
    weir_sql_expr **args;
    int nargs;
    bool bool_value;  /* BOOL */
    bool negated;     /* NOT LIKE / NOT IN / NOT BETWEEN / IS NOT ...; negative interval */
    bool has_operand; /* CASE x WHEN ... */
    bool has_else;    /* CASE ... ELSE */
    bool try_cast;
    bool distinct;    /* COUNT(DISTINCT x) */
    bool star_arg;    /* COUNT(*) */
    weir_sql_type *type;    /* CAST target */
    weir_sql_expr *filter;  /* agg(...) FILTER (WHERE filter) */
    weir_sql_window *over;  /* f(...) OVER (...) */
    weir_sql_query *query;  /* SUBQUERY, IN_QUERY */
};

/* ---- queries ---------------------------------------------------------------------- */

typedef struct weir_sql_select_item {
    weir_sql_expr *expr;
    const char *alias; /* NULL if none */
} weir_sql_select_item;

typedef enum {
    WEIR_SQL_REF_TABLE,    /* names [FOR SYSTEM_TIME AS OF system_time] [alias] */
    WEIR_SQL_REF_SUBQUERY, /* (query) [alias] */
    WEIR_SQL_REF_FUNCTION, /* TABLE(call) [alias], LATERAL TABLE(call) */
    WEIR_SQL_REF_JOIN      /* left join_type JOIN right [ON on | USING (using)] */
} weir_sql_ref_kind;

typedef struct weir_sql_table_ref weir_sql_table_ref;
struct weir_sql_table_ref {
    weir_sql_ref_kind kind;
    weir_sql_pos pos;
    const char **names;
    int nnames;
    const char *alias;
    const char **column_aliases; /* AS t (a, b) */
    int ncolumn_aliases;
    weir_sql_expr *system_time;
    weir_sql_query *query;
    weir_sql_expr *call;
    bool lateral;
    const char *join_type; /* "INNER", "LEFT", "RIGHT", "FULL", "CROSS" ("," is CROSS) */
    weir_sql_table_ref *left, *right;
    weir_sql_expr *on;
    const char **using_cols;
    int nusing;
};

typedef enum { WEIR_SQL_QUERY_SELECT, WEIR_SQL_QUERY_SET_OP, WEIR_SQL_QUERY_VALUES } weir_sql_query_kind;

typedef struct weir_sql_cte {
    const char *name;
    weir_sql_query *query;
} weir_sql_cte;

struct weir_sql_query {
    weir_sql_query_kind kind;
    weir_sql_pos pos;
    weir_sql_cte *ctes; /* WITH name AS (query), ... */
    int nctes;
    /* SELECT */
    bool distinct;
    weir_sql_select_item *items;
    int nitems;
    weir_sql_table_ref *from; /* NULL: no FROM */
    weir_sql_expr *where;
    weir_sql_expr **group_by;
    int ngroup_by;
    weir_sql_expr *having;
    /* SET_OP: left op right; op is "UNION", "INTERSECT" or "EXCEPT" */
    const char *set_op;
    bool all;
    weir_sql_query *left, *right;
    /* VALUES: rows of row_len expressions each */
    weir_sql_expr ***rows;
    int nrows;
    int *row_lens;
    /* any kind */
    weir_sql_order_item *order_by;
    int norder_by;
    weir_sql_expr *limit;
    weir_sql_expr *offset;
};

/* ---- statements ------------------------------------------------------------------- */

typedef enum {
    WEIR_SQL_COLUMN_PHYSICAL, /* name type */
    WEIR_SQL_COLUMN_COMPUTED, /* name AS expr */
    WEIR_SQL_COLUMN_METADATA  /* name type METADATA [FROM 'key'] [VIRTUAL] */
} weir_sql_column_kind;

typedef struct weir_sql_column {
    weir_sql_column_kind kind;
    weir_sql_pos pos;
    const char *name;
    weir_sql_type *type;        /* PHYSICAL, METADATA */
    weir_sql_expr *expr;        /* COMPUTED */
    const char *metadata_key;   /* METADATA FROM 'key'; NULL: the column's name */
    bool is_virtual;
    const char *comment;
} weir_sql_column;

typedef struct weir_sql_option {
    weir_sql_pos pos;
    const char *key;
    const char *value;
} weir_sql_option;

typedef enum {
    WEIR_SQL_STMT_CREATE_TABLE,
    WEIR_SQL_STMT_CREATE_VIEW,
    WEIR_SQL_STMT_DROP_TABLE,
    WEIR_SQL_STMT_DROP_VIEW,
    WEIR_SQL_STMT_SET,          /* SET 'k' = 'v', or SET alone (key NULL: list them) */
    WEIR_SQL_STMT_RESET,        /* RESET 'k', or RESET alone */
    WEIR_SQL_STMT_INSERT,
    WEIR_SQL_STMT_STATEMENT_SET, /* EXECUTE STATEMENT SET BEGIN insert; ... END */
    WEIR_SQL_STMT_EXPLAIN,
    WEIR_SQL_STMT_QUERY
} weir_sql_stmt_kind;

struct weir_sql_stmt {
    weir_sql_stmt_kind kind;
    weir_sql_pos pos;
    const char **names; /* table / view name parts */
    int nnames;
    bool temporary;
    bool if_not_exists;
    bool if_exists;
    /* CREATE TABLE */
    weir_sql_column *columns;
    int ncolumns;
    const char *watermark_column;  /* WATERMARK FOR col AS watermark */
    weir_sql_expr *watermark;
    const char **primary_key;      /* PRIMARY KEY (cols) NOT ENFORCED */
    int nprimary_key;
    const char *primary_key_constraint; /* CONSTRAINT name */
    const char *comment;
    weir_sql_option *options;      /* WITH (...) */
    int noptions;
    /* CREATE VIEW column list, INSERT column list */
    const char **column_names;
    int ncolumn_names;
    /* CREATE VIEW, INSERT, QUERY */
    weir_sql_query *query;
    bool overwrite; /* INSERT OVERWRITE */
    /* SET / RESET */
    const char *key;
    const char *value;
    /* STATEMENT_SET: inserts; EXPLAIN: body[0] */
    weir_sql_stmt **body;
    int nbody;
    const char **explain_details; /* EXPLAIN CHANGELOG_MODE, ... */
    int nexplain_details;
};

typedef struct weir_sql_script {
    weir_sql_stmt **stmts;
    int nstmts;
} weir_sql_script;

/* Parses a script: statements separated by ';' (a trailing ';' and empty statements are
 * fine; no statement at all is an empty script). On error, err reads
 * "line L, column C: expected ..., found '...'" and WEIR_ERROR is returned. */
int weir_sql_parse_script(weir_arena *arena, const char *src, size_t len, weir_sql_script **out,
                          weir_err *err);

/* Parses exactly one statement (an optional trailing ';'). */
int weir_sql_parse_statement(weir_arena *arena, const char *src, size_t len, weir_sql_stmt **out,
                             weir_err *err);

/* ---- printing (ast.c) ------------------------------------------------------------- */

/* The canonical form: S-expressions, one clause per line, indented by depth; keywords
 * in upper case, identifiers as written (in backticks when they need them), strings in
 * single quotes. Golden tests compare this text. */
void weir_sql_print_script(weir_buf *out, const weir_sql_script *script);
void weir_sql_print_stmt(weir_buf *out, const weir_sql_stmt *stmt);
void weir_sql_print_expr(weir_buf *out, const weir_sql_expr *expr);
void weir_sql_print_type(weir_buf *out, const weir_sql_type *type);

const char *weir_sql_type_name(weir_sql_type_kind kind);

#endif
