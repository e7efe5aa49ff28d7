/* sql.h — the SQL module's one header: the Flink SQL lexer, the recursive-descent parser
 * and the syntax tree it builds (with its canonical printer). Everything the parser makes
 * lives in the caller's arena and dies with it; errors name line:column and what was
 * expected. The binder (bind*.c, catalog.c, types.c) resolves names and types against a
 * session catalog into a bound tree; batch.c and expr*.c hold columnar batches and compile
 * bound expressions into per-batch programs; plan.c builds physical plans, the engine
 * (engine.c and one file per operator) runs them over connectors, session.c runs scripts. */
#ifndef WEIR_SQL_H
#define WEIR_SQL_H

#include <stdio.h>

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
    WEIR_SQL_TYPE_MULTISET, WEIR_SQL_TYPE_MAP, WEIR_SQL_TYPE_ROW,
    /* only in logical types (the binder's), never declared in DDL: */
    WEIR_SQL_TYPE_NULL,        /* the type of an untyped NULL literal */
    WEIR_SQL_TYPE_INTERVAL_YM, /* INTERVAL YEAR TO MONTH family */
    WEIR_SQL_TYPE_INTERVAL_DT, /* INTERVAL DAY TO SECOND family */
    WEIR_SQL_TYPE_SYMBOL       /* a keyword argument (time unit, TRIM side) or DESCRIPTOR */
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

/* ---- logical types (types.c) ----------------------------------------------------- */

/* Flink's logical types as values: what the binder gives every column and expression.
 * STRING is VARCHAR(WEIR_SQL_MAX_LENGTH) and BYTES is VARBINARY(WEIR_SQL_MAX_LENGTH), as in
 * Flink (and printed back as STRING / BYTES). Nested types point into an arena. */
#define WEIR_SQL_MAX_LENGTH 2147483647
#define WEIR_SQL_MAX_DECIMAL_PRECISION 38

typedef struct weir_sql_ltype weir_sql_ltype;

typedef struct weir_sql_lfield {
    const char *name;
    const weir_sql_ltype *type;
} weir_sql_lfield;

enum { WEIR_SQL_TIME_ATTR_NONE, WEIR_SQL_TIME_ATTR_ROWTIME, WEIR_SQL_TIME_ATTR_PROCTIME };

/* Interval units, for INTERVAL_YM / INTERVAL_DT: precision holds the leading unit and
 * scale the trailing one (equal when the interval has one unit). */
enum { WEIR_SQL_UNIT_YEAR, WEIR_SQL_UNIT_MONTH, WEIR_SQL_UNIT_DAY, WEIR_SQL_UNIT_HOUR,
       WEIR_SQL_UNIT_MINUTE, WEIR_SQL_UNIT_SECOND };

struct weir_sql_ltype {
    weir_sql_type_kind kind;
    bool not_null;
    int time_attr; /* WEIR_SQL_TIME_ATTR_*: a TIMESTAMP(_LTZ) that is a time attribute */
    int precision; /* DECIMAL p; CHAR/VARCHAR/BINARY/VARBINARY length; TIME/TIMESTAMP p */
    int scale;     /* DECIMAL s */
    const weir_sql_ltype *elem;  /* ARRAY / MULTISET element, MAP key */
    const weir_sql_ltype *value; /* MAP value */
    const weir_sql_lfield *fields; /* ROW */
    int nfields;
};

weir_sql_ltype weir_sql_ltype_make(weir_sql_type_kind kind, int precision, int scale, bool not_null);
/* The logical type of a declared type, with Flink's defaults (DECIMAL → DECIMAL(10, 0),
 * CHAR/VARCHAR → length 1, TIME → TIME(0), TIMESTAMP(_LTZ) → precision 6). Fails on
 * out-of-range lengths and precisions, naming line:column. */
int weir_sql_ltype_from_ast(weir_arena *arena, const weir_sql_type *t, weir_sql_ltype *out, weir_err *err);
/* Flink's summary string: INT NOT NULL, VARCHAR(10), STRING, DECIMAL(10, 2),
 * TIMESTAMP(3) *ROWTIME*, ARRAY<INT>, MAP<STRING, BIGINT>, ROW<`a` INT, `b` STRING>. */
void weir_sql_ltype_print(weir_buf *out, const weir_sql_ltype *t);
const char *weir_sql_ltype_str(weir_arena *arena, const weir_sql_ltype *t);
/* Same type, nullability and time attributes included (equal_ignoring: without them). */
bool weir_sql_ltype_equal(const weir_sql_ltype *a, const weir_sql_ltype *b);
bool weir_sql_ltype_equal_ignoring_null(const weir_sql_ltype *a, const weir_sql_ltype *b);
bool weir_sql_ltype_is_numeric(const weir_sql_ltype *t);
bool weir_sql_ltype_is_exact_int(const weir_sql_ltype *t);
bool weir_sql_ltype_is_string(const weir_sql_ltype *t);   /* CHAR / VARCHAR / STRING */
bool weir_sql_ltype_is_binary(const weir_sql_ltype *t);   /* BINARY / VARBINARY / BYTES */
bool weir_sql_ltype_is_temporal(const weir_sql_ltype *t); /* DATE, TIME, TIMESTAMP(_LTZ) */
bool weir_sql_ltype_is_timestamp(const weir_sql_ltype *t);
bool weir_sql_ltype_is_interval(const weir_sql_ltype *t);
/* The type without its time attribute (what an expression over a time attribute gives). */
weir_sql_ltype weir_sql_ltype_materialize(weir_sql_ltype t);
weir_sql_ltype weir_sql_ltype_with_null(weir_sql_ltype t, bool not_null);
/* Flink's least restrictive common type of n types (CASE, COALESCE, IN, UNION ALL,
 * comparisons): numeric widening with DECIMAL precision/scale merging, CHAR/VARCHAR to
 * the longer VARCHAR (equal-length CHARs stay CHAR), the finer timestamp precision,
 * element-wise for ARRAY/MAP/ROW; NULL fits anything. Nullable when any input is.
 * Returns false when the types have no common type. */
bool weir_sql_ltype_common(weir_arena *arena, const weir_sql_ltype *types, int n, weir_sql_ltype *out);
/* Whether a value of type from may be compared with one of type to (after an implicit
 * cast of one side), as Flink's = < > ... and IN accept. */
bool weir_sql_ltype_comparable(const weir_sql_ltype *a, const weir_sql_ltype *b);
/* Flink's implicit casts (supportsImplicitCast): the widenings allowed when a value is
 * written to a column (INSERT) or passed where a wider type is expected. */
bool weir_sql_ltype_implicit_cast(const weir_sql_ltype *from, const weir_sql_ltype *to);
/* Flink's explicit casts (CAST / TRY_CAST) (supportsExplicitCast). */
bool weir_sql_ltype_explicit_cast(const weir_sql_ltype *from, const weir_sql_ltype *to);
/* The result type of a + - * / % b for numeric operands (Flink's decimal rules:
 * + -: s = max(s1, s2), p = max(p1 - s1, p2 - s2) + s + 1; *: p1 + p2, s1 + s2;
 * /: s = max(6, s1 + p2 + 1), p = p1 - s1 + s2 + s; %: p = min(p1 - s1, p2 - s2) + s;
 * capped at 38 keeping at least min(s, 6) digits of scale). false: not numeric. */
bool weir_sql_ltype_arithmetic(char op, const weir_sql_ltype *a, const weir_sql_ltype *b, weir_sql_ltype *out);

/* ---- catalog (catalog.c) and binder (bind.c, bind_expr.c, bind_print.c) ------------- */

typedef struct weir_sql_bexpr weir_sql_bexpr;
typedef struct weir_sql_bquery weir_sql_bquery;
typedef struct weir_sql_brel weir_sql_brel;

/* A column of a catalog table. */
typedef struct weir_sql_table_column {
    const char *name;
    weir_sql_pos pos;
    weir_sql_column_kind kind;
    weir_sql_ltype type;        /* the watermark column's is a ROWTIME attribute */
    weir_sql_bexpr *expr;       /* COMPUTED: bound over the table's physical and metadata columns */
    const char *metadata_key;   /* METADATA: the key (the column's name when not given) */
    bool is_virtual;            /* METADATA ... VIRTUAL: read only, not written by INSERT */
} weir_sql_table_column;

/* A table or a view of the session catalog. */
typedef struct weir_sql_table {
    const char *name;
    weir_sql_pos pos;
    bool is_view;
    bool temporary;
    weir_sql_table_column *columns;
    int ncolumns;
    int watermark_column;       /* -1: none */
    weir_sql_bexpr *watermark;  /* bound over the table's columns */
    int *primary_key;           /* column indexes */
    int nprimary_key;
    const char *primary_key_name;
    const weir_sql_option *options; /* WITH ('k' = 'v'), kept as strings, in order */
    int noptions;
    weir_sql_bquery *query;     /* a view's query, bound when the view was created */
    const char *comment;
} weir_sql_table;

/* One session's tables and views (Flink's default_catalog.default_database; names are
 * case-sensitive, as in Flink). Everything lives in the catalog's arena. */
typedef struct weir_sql_catalog {
    weir_arena *arena;
    weir_sql_table **tables;
    int ntables;
    int cap;
} weir_sql_catalog;

void weir_sql_catalog_init(weir_sql_catalog *cat, weir_arena *arena);
/* The table or view named by parts ([default_catalog.][default_database.]name); NULL if none. */
weir_sql_table *weir_sql_catalog_find(const weir_sql_catalog *cat, const char **parts, int nparts);
/* CREATE TABLE / CREATE VIEW / DROP TABLE / DROP VIEW: validates and changes the catalog.
 * Errors carry line:column (unknown columns in computed columns and watermarks with
 * "did you mean", a watermark on a column that is not TIMESTAMP(p)/TIMESTAMP_LTZ(p),
 * duplicate names, a primary key naming an unknown or computed column, ...). */
int weir_sql_catalog_apply(weir_sql_catalog *cat, const weir_sql_stmt *stmt, weir_sql_table **out, weir_err *err);

typedef enum {
    WEIR_SQL_BEXPR_LITERAL,  /* text (as written; strings unquoted), type */
    WEIR_SQL_BEXPR_COLUMN,   /* (input, column) of the enclosing scope; name for printing */
    WEIR_SQL_BEXPR_CALL,     /* fn: an operator (+, =, AND, LIKE, IS NULL, CASE, ITEM, ...) or a function */
    WEIR_SQL_BEXPR_CAST,     /* args[0] to type: implicit (inserted by the binder), CAST or TRY_CAST */
    WEIR_SQL_BEXPR_AGG,      /* an aggregate call: fn(args) [DISTINCT] [FILTER (filter)] */
    WEIR_SQL_BEXPR_SYMBOL,   /* a keyword argument: a time unit, BOTH/LEADING/TRAILING */
    WEIR_SQL_BEXPR_SUBQUERY  /* fn "SCALAR", "EXISTS" or "IN" (args[0] IN query) */
} weir_sql_bexpr_kind;

/* OVER (PARTITION BY ... ORDER BY ... frame), bound. */
typedef struct weir_sql_bwindow {
    weir_sql_bexpr **partition_by;
    int npartition_by;
    weir_sql_bexpr **order_by;
    bool *desc;
    int norder_by;
    const weir_sql_window *ast; /* the frame, as written */
} weir_sql_bwindow;

struct weir_sql_bexpr {
    weir_sql_bexpr_kind kind;
    weir_sql_pos pos;
    weir_sql_ltype type;
    const char *text;
    const char *fn;
    const char *name;
    int input, column;
    weir_sql_bexpr **args;
    int nargs;
    bool implicit;   /* CAST inserted by the binder */
    bool try_cast;
    bool distinct;
    weir_sql_bexpr *filter;
    weir_sql_bwindow *over;
    weir_sql_bquery *query;
};

typedef enum {
    WEIR_SQL_BREL_TABLE,    /* a catalog table */
    WEIR_SQL_BREL_QUERY,    /* a subquery in FROM, or a view (table is the view) */
    WEIR_SQL_BREL_WINDOW,   /* TUMBLE/HOP/CUMULATE/SESSION(TABLE input, DESCRIPTOR(time_column), args) */
    WEIR_SQL_BREL_JOIN      /* left join_type right ON on */
} weir_sql_brel_kind;

/* A relation of a FROM clause. Its leaves (tables, subqueries, window TVFs) are the
 * SELECT's inputs, numbered left to right; a column reference names (input, column). */
struct weir_sql_brel {
    weir_sql_brel_kind kind;
    weir_sql_pos pos;
    const char *alias;          /* the name columns are qualified with */
    const weir_sql_lfield *cols;
    int ncols;
    int input;                  /* leaves: the input number */
    const weir_sql_table *table;
    weir_sql_bquery *query;
    const char *fn;             /* WINDOW: TUMBLE, HOP, CUMULATE, SESSION */
    weir_sql_brel *source;      /* WINDOW: the windowed relation (its own input numbering) */
    int time_column;            /* WINDOW: the DESCRIPTOR column of source */
    weir_sql_bexpr **args;      /* WINDOW: size, slide/step, offset...; PARTITION BY keys after */
    int nargs;
    int npartition;
    const char *join_type;      /* INNER, LEFT, RIGHT, FULL, CROSS */
    weir_sql_brel *left, *right;
    weir_sql_bexpr *on;         /* ON, or the equalities of USING */
    const char **using_cols;
    int nusing;
};

typedef enum { WEIR_SQL_BQUERY_SELECT, WEIR_SQL_BQUERY_SET_OP, WEIR_SQL_BQUERY_VALUES } weir_sql_bquery_kind;

struct weir_sql_bquery {
    weir_sql_bquery_kind kind;
    weir_sql_pos pos;
    const weir_sql_lfield *cols; /* the output: names and types */
    int ncols;
    /* SELECT */
    bool distinct;
    weir_sql_brel *from;         /* NULL: no FROM */
    weir_sql_brel **inputs;
    int ninputs;
    weir_sql_bexpr *where;
    weir_sql_bexpr **group_by;
    int ngroup_by;
    bool aggregate;              /* GROUP BY, or aggregates in SELECT / HAVING */
    weir_sql_bexpr *having;
    weir_sql_bexpr **items;      /* one per output column, * and t.* expanded */
    /* SET_OP: each side's columns cast to the common output types (NULL: no cast) */
    const char *set_op;
    bool all;
    weir_sql_bquery *left, *right;
    weir_sql_bexpr **left_casts, **right_casts;
    /* VALUES: nrows rows of ncols expressions, cast to the common types */
    weir_sql_bexpr ***rows;
    int nrows;
    /* any kind: ORDER BY over the output columns, LIMIT, OFFSET */
    weir_sql_bexpr **order_by;
    bool *order_desc;
    int norder_by;
    weir_sql_bexpr *limit, *offset;
};

typedef struct weir_sql_bstmt weir_sql_bstmt;
struct weir_sql_bstmt {
    weir_sql_stmt_kind kind;
    weir_sql_pos pos;
    const weir_sql_stmt *ast;
    weir_sql_table *table;      /* CREATE TABLE / VIEW: the new entry; INSERT: the sink */
    const char *name;           /* DROP: the name dropped (NULL if IF EXISTS found nothing) */
    weir_sql_bquery *query;     /* INSERT, QUERY, EXPLAIN's body query */
    int *target_columns;        /* INSERT: the sink column each query column goes to */
    weir_sql_bexpr **sink_exprs; /* INSERT: query column i (cast to the sink's type when needed) */
    int ntargets;
    weir_sql_bstmt **body;      /* STATEMENT SET inserts; EXPLAIN: body[0] */
    int nbody;
};

/* Binds one statement against the catalog: resolves every name, types every expression
 * with Flink's rules and implicit casts, checks INSERT against its sink; DDL changes the
 * catalog. Errors read "line L, column C: <what is wrong>" and, for unknown names,
 * "; did you mean '<closest>'?". The bound tree lives in the catalog's arena. */
int weir_sql_bind_stmt(weir_sql_catalog *cat, const weir_sql_stmt *stmt, weir_sql_bstmt **out, weir_err *err);
/* Binds a script's statements in order; stops at the first error. */
int weir_sql_bind_script(weir_sql_catalog *cat, const weir_sql_script *script, weir_sql_bstmt ***out, int *n,
                         weir_err *err);

/* The closest of cands to name by edit distance (case-insensitive; at most a third of the
 * name's length, up to 3), or NULL when none is close: the "did you mean" of errors. */
const char *weir_sql_closest(const char *name, const char *const *cands, int n);

/* The bound tree for golden tests: types on every expression, columns as name#input.column. */
void weir_sql_print_bstmt(weir_buf *out, const weir_sql_bstmt *stmt);
void weir_sql_print_bexpr(weir_buf *out, const weir_sql_bexpr *e);
void weir_sql_print_table(weir_buf *out, const weir_sql_table *table);


/* ---- columnar batches (batch.c) and compiled expressions (expr*.c) ------------------ */

/* Why columnar: an expression program runs one tight loop per instruction over a whole
 * column (vectorised, branch-predictable, no per-row dispatch), a filter becomes a
 * selection vector instead of copied rows, and a column's values sit next to each other
 * in memory (cache-friendly, and what JSON decoding writes straight into). */

enum { WEIR_SQL_ROW_INSERT, WEIR_SQL_ROW_UPDATE_BEFORE, WEIR_SQL_ROW_UPDATE_AFTER, WEIR_SQL_ROW_DELETE };

/* A string in a batch: bytes [off, off + len) of the batch's heap. */
typedef struct weir_sql_sref {
    uint32_t off;
    uint32_t len;
} weir_sql_sref;

/* One column of a batch. data holds cap values of the type's native width:
 * BOOLEAN uint8_t; TINYINT int8_t; SMALLINT int16_t; INT int32_t; BIGINT int64_t;
 * FLOAT float; DOUBLE double; DECIMAL(p <= 18, s) int64_t scaled by 10^s; DATE int32_t
 * days since 1970-01-01; TIME int32_t milliseconds of the day; TIMESTAMP(_LTZ) int64_t
 * microseconds since the epoch; INTERVAL YEAR TO MONTH int64_t months, DAY TO SECOND
 * int64_t milliseconds; strings and binary strings weir_sql_sref. nulls: one bit per row,
 * set when the value is NULL. */
typedef struct weir_sql_colvec {
    weir_sql_ltype type;
    void *data;
    uint8_t *nulls;
} weir_sql_colvec;

/* nrows rows of ncols columns, each row tagged with a row kind (WEIR_SQL_ROW_*: +I, -U,
 * +U, -D) for the changelog operators. The batch owns its vectors and heap. */
typedef struct weir_sql_batch {
    int nrows, cap, ncols;
    weir_sql_colvec *cols;
    uint8_t *row_kinds;
    weir_buf heap; /* string bytes */
} weir_sql_batch;

/* Fails (naming the column) for types the engine cannot hold yet: DECIMAL precision
 * above 18, ARRAY, MAP, MULTISET, ROW. */
int weir_sql_batch_init(weir_sql_batch *b, const weir_sql_lfield *cols, int ncols, int cap, weir_err *err);
void weir_sql_batch_free(weir_sql_batch *b);
void weir_sql_batch_clear(weir_sql_batch *b); /* no rows, heap emptied, same columns */
/* Drops the rows from nrows on (a source undoing a row it could not decode); their
 * string bytes stay in the heap until the next clear. */
void weir_sql_batch_truncate(weir_sql_batch *b, int nrows);
/* Appends a row of NULLs with kind +I; returns its index (grows the batch if full). */
int weir_sql_batch_add_row(weir_sql_batch *b);
/* Appends rows [from, from + n) of src (same column types) to b. */
void weir_sql_batch_append_rows(weir_sql_batch *b, const weir_sql_batch *src, int from, int n);
bool weir_sql_batch_is_null(const weir_sql_batch *b, int col, int row);
void weir_sql_batch_set_null(weir_sql_batch *b, int col, int row, bool is_null);
/* Values in the engine's 64-bit form (integers, scaled decimals, dates, times,
 * timestamps and intervals as int64; FLOAT/DOUBLE as double); narrowed on store. */
void weir_sql_batch_set_i64(weir_sql_batch *b, int col, int row, int64_t v);
void weir_sql_batch_set_f64(weir_sql_batch *b, int col, int row, double v);
void weir_sql_batch_set_str(weir_sql_batch *b, int col, int row, const char *s, size_t len);
int64_t weir_sql_batch_get_i64(const weir_sql_batch *b, int col, int row);
double weir_sql_batch_get_f64(const weir_sql_batch *b, int col, int row);
weir_str weir_sql_batch_get_str(const weir_sql_batch *b, int col, int row);
/* A value as Flink prints it (NULL, TRUE, 1.5, 1.0E10, 2024-01-31 12:00:00.000, text). */
void weir_sql_batch_format(weir_buf *out, const weir_sql_batch *b, int col, int row);
/* The engine's text for a value in 64-bit form of type t (CAST to STRING uses it). */
void weir_sql_format_i64(weir_buf *out, const weir_sql_ltype *t, int64_t v);
void weir_sql_format_f64(weir_buf *out, const weir_sql_ltype *t, double v);

/* Nested values (ARRAY, MULTISET, MAP, ROW) are one byte string in the batch heap (a
 * weir_sql_sref, like a string), encoded as: ARRAY/MULTISET: a u32 count, then count
 * elements; MAP: a u32 count, then count (key, value) element pairs; ROW: its fields'
 * elements in order. An element is a tag byte (0: NULL, 1: present) followed, when
 * present, by 8 bytes (little-endian) for values the engine holds as int64 (BOOLEAN,
 * integers, DECIMAL(p <= 18), DATE, TIME, TIMESTAMP(_LTZ), intervals) or as double
 * (FLOAT, DOUBLE), 16 bytes for DECIMAL(p > 18), and a u32 length plus the bytes for
 * strings, binary strings and nested values. Writers append to a weir_buf and then store
 * the bytes with weir_sql_batch_set_str; readers walk them with a reader. */
void weir_sql_nested_put_null(weir_buf *b);
void weir_sql_nested_put_i64(weir_buf *b, int64_t v);
void weir_sql_nested_put_f64(weir_buf *b, double v);
void weir_sql_nested_put_i128(weir_buf *b, __int128 v);
void weir_sql_nested_put_bytes(weir_buf *b, const void *p, uint32_t len); /* strings, binary, nested */
/* A count whose value is known only later: put_count_slot reserves it and returns its
 * position; set_count fills it in. */
void weir_sql_nested_put_count(weir_buf *b, uint32_t n);
size_t weir_sql_nested_put_count_slot(weir_buf *b);
void weir_sql_nested_set_count(weir_buf *b, size_t slot, uint32_t n);

typedef struct weir_sql_nested_reader {
    const uint8_t *p, *end;
} weir_sql_nested_reader;
/* One element of type t: its class decides the width (see above). Sets *is_null or one
 * of i/f/d/s. Returns false when the bytes are malformed (never reads past end). */
typedef struct weir_sql_nested_value {
    bool is_null;
    int64_t i;
    double f;
    __int128 d;
    weir_str s; /* strings, binary strings, nested values */
} weir_sql_nested_value;
void weir_sql_nested_reader_init(weir_sql_nested_reader *r, weir_str encoded);
bool weir_sql_nested_get_count(weir_sql_nested_reader *r, uint32_t *n);
bool weir_sql_nested_get(weir_sql_nested_reader *r, const weir_sql_ltype *t, weir_sql_nested_value *v);

/* DECIMAL values of any precision as unscaled 128-bit integers (narrowed for p <= 18). */
void weir_sql_batch_set_i128(weir_sql_batch *b, int col, int row, __int128 v);
__int128 weir_sql_batch_get_i128(const weir_sql_batch *b, int col, int row);

/* A compiled program: an optional filter and n projections over one input's columns,
 * compiled from bound expressions into a flat array of instructions over vector
 * registers. Running it executes each instruction once per batch, as one loop over the
 * batch's rows; the filter's result becomes a selection vector and the projections are
 * computed only for (and gathered from) the selected rows. The program owns its registers
 * and scratch memory; it is not thread-safe (one per worker). */
typedef struct weir_sql_program weir_sql_program;

/* Compiles. Column references must name input 0 of the enclosing SELECT, whose columns
 * are in_cols. Fails, naming line:column, on what the evaluator does not support yet. */
int weir_sql_program_compile(const weir_sql_bexpr *filter, weir_sql_bexpr *const *exprs, int n,
                             const weir_sql_lfield *in_cols, int nin, weir_sql_program **out, weir_err *err);
void weir_sql_program_free(weir_sql_program *p);
/* The output columns' types (n of them). */
const weir_sql_lfield *weir_sql_program_columns(const weir_sql_program *p);
/* Appends the rows of in that pass the filter, projected, to out (initialised with
 * weir_sql_program_columns). Row kinds pass through. A runtime error (a failed CAST,
 * division by zero) names line:column, the function and the row's value. */
int weir_sql_program_run(weir_sql_program *p, const weir_sql_batch *in, weir_sql_batch *out, weir_err *err);
/* The number of instructions, and how many instruction dispatches all runs made (a
 * per-batch evaluator dispatches instructions × batches, independent of the rows). */
int weir_sql_program_ninstrs(const weir_sql_program *p);
long weir_sql_program_dispatches(const weir_sql_program *p);
/* The program as text, one instruction a line (for tests and EXPLAIN later). */
void weir_sql_program_print(weir_buf *out, const weir_sql_program *p);

/* ---- connectors (the engine's side; implementations live in src/connect) ----------- */

/* A connector turns a catalog table's WITH ('connector' = '<name>', ...) into sources
 * and sinks. src/connect registers the built-in ones (weir_connect_register_all); the
 * engine finds them by name. The engine never talks Kafka itself.
 *
 * A source has splits (a Kafka source: its topic partitions; datagen: slices of its
 * sequence) that the engine spreads over its worker threads; each worker opens one reader
 * over its splits and reads batches from it. A sink has one writer per worker. */

typedef struct weir_sql_job weir_sql_job;

/* What a source produces or a sink accepts (weir_sql_connector.changelog): only inserts
 * (+I); upserts by primary key (+I/+U/-D, no -U: upsert-kafka); or any changelog
 * (+I/-U/+U/-D: debezium-json, print, the terminal). */
typedef enum { WEIR_SQL_CHANGES_INSERT_ONLY, WEIR_SQL_CHANGES_UPSERT, WEIR_SQL_CHANGES_ALL } weir_sql_changes;

/* What a connector is opened with. The batches a source reader fills, and the batches a
 * sink writer receives, have one column per table column (table->columns, in order):
 * a source fills the PHYSICAL and METADATA columns that needed[] asks for and leaves the
 * others NULL (the engine computes COMPUTED columns after it); a sink gets the INSERT's
 * values in the PHYSICAL and writable METADATA columns and NULL in the others. */
typedef struct weir_sql_conn_ctx {
    const weir_sql_table *table;   /* columns, primary key, WITH options */
    const bool *needed;            /* source: per table column, read by the query; sink: NULL */
    int nworkers;                  /* how many workers the job runs (readers/writers <= it) */
    weir_sql_job *job;             /* job services: configuration, counters, output */
} weir_sql_conn_ctx;

/* A table's WITH option value, or NULL when not given. */
const char *weir_sql_table_option(const weir_sql_table *t, const char *key);

typedef struct weir_sql_source_ops {
    /* Prepares the source (e.g. fetches Kafka metadata and start offsets) and says how
     * many splits it has (0 is allowed: nothing to read). Runs on the job's start thread. */
    int (*open)(const weir_sql_conn_ctx *ctx, void **source, int *nsplits, weir_err *err);
    /* A reader of the given splits, used only by worker `worker`. @thread worker */
    int (*open_reader)(void *source, int worker, const int *splits, int nsplits, void **reader, weir_err *err);
    /* Appends up to max rows to out (which has the table's columns), waiting at most
     * timeout_ms for the first. Returns the rows appended (0: none yet), WEIR_SQL_END when
     * every split reached its end (bounded sources), or WEIR_ERROR (err names the table,
     * topic, partition, offset and reason). @thread worker */
    int (*read)(void *reader, weir_sql_batch *out, int max, int timeout_ms, weir_err *err);
    /* Every row read so far has been written and flushed by the sinks: commit the
     * position (Kafka: the group's offsets when properties.group.id is set). May be NULL.
     * @thread worker */
    int (*commit)(void *reader, weir_err *err);
    /* Part 2, checkpoints. position: appends where the reader stands in one of its splits
     * (the split's number in the source), as bytes that name the split (Kafka: topic,
     * partition and the next offset to read; datagen: the slice and the rows it gave), so
     * that reading again from there gives exactly the rows after the last one read()
     * returned. seek: on the start thread, after open and before any open_reader, makes the
     * split those bytes name start there instead of at the table's startup options; a
     * position naming a split the source no longer has is an error naming it. Both NULL: the
     * source cannot resume (a restored job fails at start, naming the table). */
    int (*position)(void *reader, int split, weir_buf *out, weir_err *err);
    int (*seek)(void *source, const uint8_t *pos, size_t len, weir_err *err);
    void (*close_reader)(void *reader); /* @thread worker */
    void (*close)(void *source);
} weir_sql_source_ops;

#define WEIR_SQL_END (-100)

typedef struct weir_sql_sink_ops {
    /* Prepares the sink (e.g. creates the Kafka producer, checks the topic). */
    int (*open)(const weir_sql_conn_ctx *ctx, void **sink, weir_err *err);
    int (*open_writer)(void *sink, int worker, void **writer, weir_err *err); /* @thread worker */
    /* Writes the batch's rows (each with its row kind). May buffer. @thread worker */
    int (*write)(void *writer, const weir_sql_batch *b, weir_err *err);
    /* Makes every row written so far durable and visible (Kafka: delivered and
     * acknowledged; filesystem: in a finished file or an in-progress file that the next
     * flush or close finishes). The engine calls it before committing sources, and at the
     * end. @thread worker */
    int (*flush)(void *writer, weir_err *err);
    void (*close_writer)(void *writer); /* after a last flush; @thread worker */
    int (*close)(void *sink, weir_err *err);
} weir_sql_sink_ops;

typedef struct weir_sql_connector {
    const char *name;                   /* the 'connector' option's value */
    const weir_sql_source_ops *source;  /* NULL: cannot be read */
    const weir_sql_sink_ops *sink;      /* NULL: cannot be written */
    /* Checks the table's options and metadata columns for use as a source (as_source) or
     * a sink, at planning time, so EXPLAIN and job start refuse a bad table before
     * anything runs: "table 'orders': unsupported option 'scan.startup.mod' for
     * connector 'kafka'; did you mean 'scan.startup.mode'?". May be NULL. */
    int (*validate)(const weir_sql_table *t, bool as_source, weir_err *err);
    /* How EXPLAIN names what the table reads or writes, e.g. "topic=[orders]"; may be NULL. */
    void (*describe)(const weir_sql_table *t, weir_buf *out);
    /* Part 2: which rows the table produces as a source (as_source) or accepts as a sink
     * (WEIR_SQL_CHANGES_*; e.g. kafka with 'json': insert-only, with 'debezium-json': all;
     * upsert-kafka: upsert). NULL: insert-only both ways. The planner refuses an updating
     * query into an insert-only sink, and puts a changelog normalisation after an upsert
     * source. */
    weir_sql_changes (*changelog)(const weir_sql_table *t, bool as_source);
} weir_sql_connector;

/* Registers a connector (the table is process-wide; register before any session starts;
 * a second registration of a name replaces the first). */
void weir_sql_register_connector(const weir_sql_connector *c);
const weir_sql_connector *weir_sql_find_connector(const char *name);
/* Names of the registered connectors (for "did you mean"); returns their number. */
int weir_sql_connector_names(const char **names, int max);

/* Job services for connectors (thread-safe). */
/* A job configuration value: the session's SET 'key' = 'value' (Flink's keys), NULL if unset. */
const char *weir_sql_job_config(const weir_sql_job *job, const char *key);
/* `weir sql --bootstrap-servers`: when non-NULL it replaces every Kafka table's
 * properties.bootstrap.servers. */
const char *weir_sql_job_bootstrap_servers(const weir_sql_job *job);
/* Where the print connector and query results write (stdout unless a test says otherwise),
 * and a lock to hold while writing a block of lines to it. */
FILE *weir_sql_job_output(weir_sql_job *job);
void weir_sql_job_output_lock(weir_sql_job *job);
void weir_sql_job_output_unlock(weir_sql_job *job);
/* Bad records: skipped (json.ignore-parse-errors) or written to the dead-letter topic. */
void weir_sql_job_count_skipped(weir_sql_job *job, uint64_t n);
void weir_sql_job_count_dead_lettered(weir_sql_job *job, uint64_t n);
/* True once the job is asked to stop (Ctrl-C, SIGTERM, a failure elsewhere): a reader
 * waiting for data should return soon. */
bool weir_sql_job_stopping(const weir_sql_job *job);

/* ---- plans (plan.c, explain.c) ---------------------------------------------------- */

typedef enum {
    WEIR_SQL_PLAN_SCAN,   /* a table source; cols: the table's columns (needed[] says which are read) */
    WEIR_SQL_PLAN_VALUES, /* constant rows (a VALUES query, or SELECT without FROM) */
    WEIR_SQL_PLAN_CALC,   /* filter and projections over inputs[0], compiled into a program */
    WEIR_SQL_PLAN_UNION,  /* UNION ALL of the inputs (same column types) */
    WEIR_SQL_PLAN_LIMIT,  /* the first `limit` rows after `offset`, across the whole job */
    WEIR_SQL_PLAN_SINK,   /* a table's sink (INSERT), or the terminal (table NULL: a query's rows) */
    /* part 2 (event time and windows) */
    WEIR_SQL_PLAN_EXCHANGE,  /* rows to the worker owning hash(keys) (no keys: all to one worker) */
    WEIR_SQL_PLAN_WINDOW_AGG, /* window aggregation; cols: keys, window_start, window_end, window_time, aggs */
    /* part 2 (changelogs, ranking, joins): parameters beyond the common fields below live in
     * `ext`, a struct of the owning plan_*.c / op_*.c pair, and `describe` prints them */
    WEIR_SQL_PLAN_GROUP_AGG,     /* GROUP BY without windows, SELECT DISTINCT: a changelog (plan_agg.c, op_group_agg.c) */
    WEIR_SQL_PLAN_RANK,          /* ROW_NUMBER() Top-N, deduplication, window Top-N / dedup, changelog
                                    normalisation of upsert sources (plan_rank.c, op_rank.c) */
    WEIR_SQL_PLAN_OVER_AGG,      /* aggregates OVER (PARTITION BY ... ORDER BY time ROWS|RANGE ...) (plan_rank.c, op_over.c) */
    WEIR_SQL_PLAN_JOIN,          /* regular equi-join INNER/LEFT/RIGHT/FULL (plan_join.c, op_join.c) */
    WEIR_SQL_PLAN_INTERVAL_JOIN  /* a.ts BETWEEN b.ts - x AND b.ts + y (plan_join.c, op_join.c) */
} weir_sql_plan_kind;


/* A physical plan node. Plans are read-only once built; execution state lives in the
 * engine. `id` is stable across restarts: a hash of the node's kind, its parameters and
 * its inputs' ids (so part 2's state can be found again after a restart or a harmless
 * edit of the query). */
typedef struct weir_sql_plan weir_sql_plan;
struct weir_sql_plan {
    weir_sql_plan_kind kind;
    weir_sql_pos pos;
    char id[17];                       /* 16 hex digits */
    const weir_sql_lfield *cols;       /* output columns */
    int ncols;
    weir_sql_plan **inputs;
    int ninputs;
    const weir_sql_table *table;       /* SCAN, SINK (NULL for the terminal) */
    const weir_sql_connector *connector; /* SCAN, SINK with a table */
    bool *needed;                      /* SCAN: per table column, read downstream */
    weir_sql_bexpr *filter;            /* CALC: NULL when every row passes */
    weir_sql_bexpr **exprs;            /* CALC: one per output column, over inputs[0]'s columns */
    int nexprs;
    weir_sql_bexpr ***rows;            /* VALUES: nrows rows of ncols constant expressions */
    int nrows;
    int64_t limit, offset;             /* LIMIT (-1: no limit) */
    /* part 2 (event time and windows) */
    weir_sql_bexpr *watermark;         /* SCAN: the table's WATERMARK over the scan's columns, computed
                                          columns replaced by their expressions (NULL: none) */
    int *keys;                         /* EXCHANGE, WINDOW_AGG: key columns of inputs[0] */
    int nkeys;
    const char *window_fn;             /* WINDOW_AGG: TUMBLE, HOP or CUMULATE */
    int time_col;                      /* WINDOW_AGG: the rowtime column of inputs[0] */
    int64_t window_size_ms, window_step_ms, window_offset_ms; /* step: HOP's slide, CUMULATE's step */
    weir_sql_bexpr **aggs;             /* WINDOW_AGG: aggregate calls over inputs[0]'s columns */
    int naggs;
    /* part 2: changelogs. updates: the output may carry -U/+U/-D rows (a group aggregation,
     * a changelog source, a join over one...), and updates_why says which operator makes it
     * so ("the GROUP BY at line 3, column 1"), for the append-only sink's refusal. The
     * upsert key (columns of this node's output that identify a row of the changelog; none
     * when unknown) lets an upsert sink check its primary key. */
    bool updates;
    const char *updates_why;
    int *upsert_keys;
    int nupsert_keys;
    /* kind-specific parameters (GROUP_AGG, RANK, OVER_AGG, JOIN, INTERVAL_JOIN) and their
     * EXPLAIN text (as weir_sql_plan_describe: no tree prefix, no newline; for_id leaves
     * out what must not change the node's id) */
    void *ext;
    void (*describe)(weir_buf *out, const weir_sql_plan *p, bool for_id);
};

/* Plans a bound INSERT, STATEMENT SET, query or EXPLAIN body into one SINK root per
 * INSERT (a query gets a terminal SINK). Checks every table's connector (registered,
 * readable or writable, validate()). What part 1 cannot run yet (joins, GROUP BY and
 * aggregates, window TVFs, ORDER BY, DISTINCT, subqueries in expressions) fails naming
 * line:column and what is missing. The plan lives in arena. */
int weir_sql_plan_build(weir_arena *arena, const weir_sql_bstmt *stmt, weir_sql_plan ***roots, int *nroots,
                        weir_err *err);
/* The physical plan as EXPLAIN prints it: one operator a line, inputs indented below
 * ("+- "), with readable names and each source and sink named:
 *   Sink(table=[default_catalog.default_database.out], fields=[id, name])
 *   +- Calc(select=[id, UPPER(name) AS name], where=[>(amount, 10)])
 *      +- TableSourceScan(table=[[default_catalog, default_database, orders]], connector=[kafka], topic=[orders], fields=[id, name, amount]) */
void weir_sql_plan_explain(weir_buf *out, weir_sql_plan *const *roots, int nroots);

/* ---- jobs and sessions (engine.c, session.c) --------------------------------------- */

typedef struct weir_sql_job_stats {
    uint64_t rows_in;        /* rows read by sources */
    uint64_t rows_out;       /* rows written to sinks */
    uint64_t skipped;        /* bad records skipped */
    uint64_t dead_lettered;  /* bad records written to a dead-letter topic */
    uint64_t late_rows;      /* rows a window operator got behind its watermark (not aggregated) */
} weir_sql_job_stats;

typedef struct weir_sql_session weir_sql_session;

typedef struct weir_sql_session_opts {
    const char *bootstrap_servers; /* NULL: each table's properties.bootstrap.servers */
    FILE *out;                     /* results, EXPLAIN output, the print connector (stdout if NULL) */
    int parallelism;               /* workers per job; 0: 'parallelism.default', else the CPUs */
} weir_sql_session_opts;

int weir_sql_session_new(const weir_sql_session_opts *opts, weir_sql_session **out, weir_err *err);
void weir_sql_session_free(weir_sql_session *s);
/* Runs a script's statements in order: CREATE/DROP change the catalog, SET/RESET the
 * job configuration (SET alone prints it), EXPLAIN prints the plan, a query runs and
 * prints its rows (Flink's tableau: op column +I/-U/+U/-D) until its sources end or the
 * session is stopped, and INSERT / EXECUTE STATEMENT SET start a job (waited for when
 * 'table.dml-sync' is 'true'). The first failing statement stops the script: err names
 * line:column, or the job's failure (topic, partition, offset, reason). */
int weir_sql_session_execute(weir_sql_session *s, const char *src, size_t len, weir_err *err);
/* Waits until every job started by the session has ended; WEIR_ERROR with the first
 * failure's message if one failed. */
int weir_sql_session_wait(weir_sql_session *s, weir_err *err);
/* Asks the running jobs and queries to stop cleanly (sinks flushed, sources committed).
 * Safe to call from another thread (e.g. the one that caught SIGINT). */
void weir_sql_session_stop(weir_sql_session *s);
/* Totals over the session's jobs so far (for the progress line). */
void weir_sql_session_stats(weir_sql_session *s, weir_sql_job_stats *out);
/* Event time of the running jobs, so "why is nothing emitted" has an answer: one line per
 * source table, e.g. "orders: watermark 2024-01-31 12:00:05.000 (3 splits, 1 idle); window
 * operator: 2024-01-31 12:00:00.000, 2 late rows". A table's watermark is the minimum over
 * its splits that are neither idle nor ended ("none yet", "idle", "end of input" when there
 * is none); times are UTC. Appends to out; returns the lines written. @thread any */
int weir_sql_session_watermarks(weir_sql_session *s, weir_buf *out);
/* The smallest source watermark of the running jobs as "12:00:05" (UTC) in buf, or "none
 * yet" / "idle" / "end of input"; false (buf untouched) when no running job generates
 * watermarks (no WATERMARK, or no window operator). @thread any */
bool weir_sql_session_watermark_summary(weir_sql_session *s, char *buf, size_t cap);

/* ---- EXPLAIN ANALYZE (analyze.c; Weir's extension, not Flink's) ---------------------- */

/* Whether stmt is EXPLAIN ANALYZE <query | INSERT | STATEMENT SET> (the parser keeps
 * ANALYZE as the statement's only explain detail). */
bool weir_sql_stmt_is_explain_analyze(const weir_sql_stmt *stmt);
/* The job's physical plan as EXPLAIN prints it, each operator followed by its runtime
 * figures (rows emitted, watermark where event time is tracked, state held at the end),
 * then how the job ended and its totals. Call it after weir_sql_job_wait: while the job
 * runs only the published counters are shown. @thread any */
void weir_sql_job_analyze(weir_sql_job *job, weir_buf *out);

/* ---- checkpoints (engine.c, checkpoint.c) ------------------------------------------
 * With 'state.checkpoints.dir' set, a job takes aligned checkpoints every
 * 'execution.checkpointing.interval' into <dir>/<job id>/chk-N/ and resumes from the latest
 * complete one when started again; see src/sql/README.md. */

typedef struct weir_sql_checkpoint_stats {
    int64_t id;             /* the checkpoint's number N */
    uint64_t bytes;         /* bytes of the state's records (all operator instances) */
    uint64_t file_bytes;    /* bytes of its state files (LZ4-compressed) */
    int64_t duration_ms;    /* from the trigger until _metadata was renamed into place */
    char path[1024];        /* its directory */
} weir_sql_checkpoint_stats;

/* Takes a checkpoint of every running job of the session now (one after another) and
 * blocks until each completes; out gets the totals (bytes summed, duration summed, the
 * last one's id and path). Fails when no running job has 'state.checkpoints.dir', or a
 * checkpoint fails or the job ends first. For benchmarks and tests. @thread any */
int weir_sql_session_checkpoint_now(weir_sql_session *s, weir_sql_checkpoint_stats *out, weir_err *err);
/* The same for one job. @thread any */
int weir_sql_job_checkpoint_now(weir_sql_job *job, weir_sql_checkpoint_stats *out, weir_err *err);
/* Like weir_sql_session_stop, but each running job with a savepoint directory
 * ('state.savepoints.dir', or <state.checkpoints.dir>/savepoints) first takes a final
 * checkpoint there (a savepoint) and prints its path on stderr. (SIGTERM in weir sql.) */
void weir_sql_session_stop_with_savepoint(weir_sql_session *s);
/* Whether the last failure of weir_sql_session_execute was a job refusing to start from
 * a checkpoint or savepoint whose operator state does not fit the job (weir sql exits 2). */
bool weir_sql_session_state_refused(weir_sql_session *s);

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
