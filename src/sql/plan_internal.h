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

#endif
