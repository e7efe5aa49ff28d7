/* plan_internal.h — shared between the planner (plan.c) and the EXPLAIN printer
 * (explain.c): a node's one-line description is both what EXPLAIN prints and what its
 * stable id hashes, so the two cannot drift apart. Not for other modules. */
#ifndef WEIR_SQL_PLAN_INTERNAL_H
#define WEIR_SQL_PLAN_INTERNAL_H

#include "sql/sql.h"

/* The node's operator and parameters, as one EXPLAIN line without its tree prefix and
 * newline: "Calc(select=[id, UPPER(name) AS name], where=[>(amount, 10)])". Column
 * references print as the names of the node's input columns. for_id leaves out what must
 * not change a node's id: the columns a scan reads (reading one more column is the same
 * source, whose offsets part 2 must find again). */
void weir_sql_plan_describe(weir_buf *out, const weir_sql_plan *p, bool for_id);

/* An expression as Flink prints a RexNode, compactly: calls and operators as FN(args)
 * (>(a, 10), UPPER(name), IS NULL(x)), CAST(x AS INT), literals (10, 'text', null:INT,
 * true), column references by the name of in_cols[column] (NULL: the reference's own). */
void weir_sql_plan_print_expr(weir_buf *out, const weir_sql_bexpr *e, const weir_sql_lfield *in_cols, int nin);

/* Pieces of EXPLAIN lines shared by the describe hooks of the plan_*.c families:
 * print_fields: tag=[the names of cols[0..n-1]] ("select=[id, name]");
 * print_names: in's columns cols[0..n-1] by name, comma-separated ("user_id, item");
 * print_duration: a length as Flink prints durations ("10 min", "5 s", "1 h", "500 ms");
 * print_window_params: what follows a window's column(s) up to the end of window=[...]:
 * "], size=[10 min], slide=[5 min], offset=[-1 h])]" (SESSION: gap, CUMULATE: max_size,
 * step), fn being TUMBLE, HOP, CUMULATE or SESSION. */
void weir_sql_plan_print_fields(weir_buf *out, const char *tag, const weir_sql_lfield *cols, int n);
void weir_sql_plan_print_names(weir_buf *out, const weir_sql_plan *in, const int *cols, int n);
void weir_sql_plan_print_duration(weir_buf *out, int64_t ms);
void weir_sql_plan_print_window_params(weir_buf *out, const char *fn, int64_t size_ms, int64_t step_ms, int64_t offset_ms);

/* The EXPLAIN tree under p: each node's line, its inputs indented below it behind ":- " /
 * "+- "; lead is what every line of p's inputs starts with (empty at a root). after, when
 * set, is called after each node's line with the lead its inputs' lines start with (EXPLAIN
 * ANALYZE puts the node's figures there). */
typedef void (*weir_sql_plan_tree_hook)(weir_buf *out, const weir_sql_plan *p, const weir_buf *lead, void *ctx);
void weir_sql_plan_print_tree(weir_buf *out, const weir_sql_plan *p, weir_buf *lead, weir_sql_plan_tree_hook after, void *ctx);

/* ---- the planner's shared pieces (plan.c) ---------------------------------------------
 * The planner is split by operator family: plan.c (statements, scans, CALC, UNION, LIMIT,
 * sinks, ids), plan_agg.c (aggregation: the shared builder and group aggregation),
 * plan_window.c (window aggregation), plan_join.c (joins), plan_rank.c (ROW_NUMBER Top-N and
 * deduplication, OVER aggregation, changelog normalisation). Every function fails by
 * returning NULL / false / -1 with pl->err set ("line L, column C: ..."). */

typedef struct weir_sql_planner {
    weir_arena *arena;
    weir_err *err;
    int depth;
    const char **ids; /* the ids given so far (they must be distinct within a statement) */
    int nids, capids;
} weir_sql_planner;

void *weir_sql_plan_fail(weir_sql_planner *pl, weir_sql_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
weir_sql_plan *weir_sql_plan_node(weir_sql_planner *pl, weir_sql_plan_kind kind, weir_sql_pos pos, int ninputs);
/* An EXCHANGE over in routing rows by the hash of in's columns keys[0..nkeys-1] (none:
 * every row to one worker), as a keyed operator's input; in's rows, columns and changelog
 * (updates, updates_why) pass through unchanged. */
weir_sql_plan *weir_sql_plan_exchange(weir_sql_planner *pl, weir_sql_pos pos, weir_sql_plan *in, int *keys, int nkeys);
weir_sql_bexpr *weir_sql_plan_bexpr(weir_sql_planner *pl, weir_sql_bexpr_kind kind, weir_sql_pos pos);
/* A reference to column `column` of input 0, typed and named as f. */
weir_sql_bexpr *weir_sql_plan_colref(weir_sql_planner *pl, weir_sql_pos pos, int column, const weir_sql_lfield *f);
weir_sql_bexpr *weir_sql_plan_null(weir_sql_planner *pl, weir_sql_pos pos, const weir_sql_ltype *t);
weir_sql_bexpr *weir_sql_plan_and(weir_sql_planner *pl, weir_sql_bexpr *a, weir_sql_bexpr *b);
weir_sql_bexpr *weir_sql_plan_boolean_filter(weir_sql_planner *pl, weir_sql_bexpr *f);
/* Refuses aggregates, OVER and subqueries inside an expression evaluated row by row. */
bool weir_sql_plan_check_expr(weir_sql_planner *pl, const weir_sql_bexpr *e);
/* e with each column reference c replaced by lower[c] (shared subtrees, no copies). */
weir_sql_bexpr *weir_sql_plan_substitute(weir_sql_planner *pl, weir_sql_bexpr *e, weir_sql_bexpr *const *lower);
/* A CALC over in (merged with a CALC below, vanishing when it is the identity); names
 * gives the outputs' names. The result carries in's changelog fields (updates,
 * updates_why); the upsert key is kept when every key column passes through unchanged. */
weir_sql_plan *weir_sql_plan_calc(weir_sql_planner *pl, weir_sql_pos pos, weir_sql_plan *in, weir_sql_bexpr *filter,
                                  weir_sql_bexpr *const *exprs, int n, const weir_sql_lfield *names);
const weir_sql_connector *weir_sql_plan_connector(weir_sql_planner *pl, const weir_sql_table *t, bool as_source);
/* A leaf of FROM (table, view, subquery, and the join and window TVF hooks below). */
weir_sql_plan *weir_sql_plan_leaf(weir_sql_planner *pl, const weir_sql_brel *r);
/* A whole query (ORDER BY, LIMIT included). */
weir_sql_plan *weir_sql_plan_subquery(weir_sql_planner *pl, const weir_sql_bquery *q);
bool weir_sql_plan_same_expr(const weir_sql_bexpr *a, const weir_sql_bexpr *b);
/* Whether e holds an aggregate OVER (...) (ROW_NUMBER() OVER included). */
bool weir_sql_plan_has_over(const weir_sql_bexpr *e);
/* A constant INTERVAL DAY TO SECOND in ms; `what` names it in the error ("size"). */
bool weir_sql_plan_interval_ms(weir_sql_planner *pl, weir_sql_bexpr *e, const char *what, int64_t *out);
const char *weir_sql_plan_constant_string(weir_sql_planner *pl, weir_sql_bexpr *e);

/* A SELECT's FROM as one relation whose columns are its inputs' (q->inputs) one after
 * another, so expressions over (input, column) become expressions over input 0 with
 * weir_sql_plan_flatten. A single leaf is planned as is; a join goes to
 * weir_sql_plan_join_from. */
weir_sql_plan *weir_sql_plan_from(weir_sql_planner *pl, const weir_sql_bquery *q);
/* e with references to (input i, column c) of q rewritten to (0, offset of i + c). */
weir_sql_bexpr *weir_sql_plan_flatten(weir_sql_planner *pl, const weir_sql_bquery *q, weir_sql_bexpr *e);
/* The first column of input i in q's flattened FROM. */
int weir_sql_plan_input_offset(const weir_sql_bquery *q, int input);

/* ---- the aggregation builder (plan_agg.c) ------------------------------------------------ */

typedef struct weir_sql_agg_builder {
    weir_sql_bexpr **pre;      /* the pre-aggregation CALC's expressions over the source */
    weir_sql_lfield *pre_cols;
    int npre, cappre;
    weir_sql_bexpr **aggs;     /* the aggregate calls, rewritten over the pre-CALC */
    const weir_sql_bexpr **agg_orig;
    int naggs, capaggs;
    const weir_sql_bquery *q;
    int nsrc;                  /* columns of the windowed relation's source */
    int nkeys;                 /* GROUP BY items other than the window columns */
    const weir_sql_bexpr **key_exprs;
    int nwin;                  /* output: keys, nwin window columns (WINDOW_AGG: start, end,
                                  time; GROUP_AGG: none), then the aggregates */
    bool session;              /* SESSION windows */
} weir_sql_agg_builder;

int weir_sql_agg_pre_add(weir_sql_planner *pl, weir_sql_agg_builder *wb, weir_sql_bexpr *e, const char *name, bool reuse);
bool weir_sql_agg_reads_window_column(const weir_sql_bexpr *e, int nsrc);
const char *weir_sql_agg_name(weir_sql_planner *pl, int k);
int weir_sql_agg_add(weir_sql_planner *pl, weir_sql_agg_builder *wb, const weir_sql_bexpr *e);
bool weir_sql_agg_collect(weir_sql_planner *pl, weir_sql_agg_builder *wb, const weir_sql_bexpr *e);
weir_sql_bexpr *weir_sql_agg_over(weir_sql_planner *pl, weir_sql_agg_builder *wb, weir_sql_bexpr *e,
                                  const weir_sql_plan *agg);

/* ---- the operator families' entry points ---------------------------------------------- */

/* plan_window.c: SELECT ... FROM TABLE(TUMBLE|HOP|CUMULATE|SESSION(...)) GROUP BY
 * window_start, window_end, ... */
weir_sql_plan *weir_sql_plan_window_agg(weir_sql_planner *pl, const weir_sql_bquery *q);
/* plan_agg.c: a SELECT with GROUP BY or aggregates and no window TVF, or SELECT DISTINCT:
 * a GROUP_AGG (a changelog) under a CALC for the items and HAVING. */
weir_sql_plan *weir_sql_plan_group_agg(weir_sql_planner *pl, const weir_sql_bquery *q);
/* plan_agg.c: every distinct row of in once (UNION without ALL): a GROUP_AGG keyed by all
 * of in's columns with no aggregates. */
weir_sql_plan *weir_sql_plan_distinct(weir_sql_planner *pl, weir_sql_plan *in, weir_sql_pos pos);
/* plan_join.c: the FROM of q when it is a join (r is q->from or a join under it), its
 * columns the inputs' in order (see weir_sql_plan_from). q's WHERE may hold an interval
 * join's time bounds. */
weir_sql_plan *weir_sql_plan_join_from(weir_sql_planner *pl, const weir_sql_bquery *q, const weir_sql_brel *r);
/* plan_rank.c: when q is a Top-N or deduplication (an outer SELECT filtering ROW_NUMBER()
 * of its FROM subquery), a window Top-N / deduplication, returns true and sets *out (NULL
 * on error); false when q is none of these (nothing set). */
bool weir_sql_plan_rank(weir_sql_planner *pl, const weir_sql_bquery *q, weir_sql_plan **out);
/* plan_rank.c: a SELECT whose items hold aggregates OVER (...): an OVER_AGG under a CALC. */
weir_sql_plan *weir_sql_plan_over(weir_sql_planner *pl, const weir_sql_bquery *q);
/* plan_rank.c: after a scan of an upsert source (upsert-kafka): Flink's
 * ChangelogNormalize, keyed by the table's primary key, turning upserts (+U/-D without the
 * old row) into a full changelog (-U old, +U new; -D with the old row). */
weir_sql_plan *weir_sql_plan_normalize(weir_sql_planner *pl, weir_sql_plan *scan);

#endif
