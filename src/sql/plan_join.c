/* plan_join.c — planning joins: regular equi-joins (INNER, LEFT, RIGHT, FULL) and interval
 * joins, each side's rows sent by the exchange to the worker that owns the join key. */
#include "sql/plan_internal.h"

weir_sql_plan *weir_sql_plan_join_from(weir_sql_planner *pl, const weir_sql_bquery *q, const weir_sql_brel *r) {
    (void)q;
    return weir_sql_plan_fail(pl, r->pos, "joins (%s JOIN) are not supported yet", r->join_type);
}
