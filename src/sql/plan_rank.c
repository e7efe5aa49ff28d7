/* plan_rank.c — planning ROW_NUMBER() Top-N and deduplication (plain and per window), OVER
 * aggregation, and the changelog normalisation after upsert sources. */
#include "sql/plan_internal.h"

bool weir_sql_plan_rank(weir_sql_planner *pl, const weir_sql_bquery *q, weir_sql_plan **out) {
    (void)pl, (void)q, (void)out;
    return false;
}

weir_sql_plan *weir_sql_plan_over(weir_sql_planner *pl, const weir_sql_bquery *q) {
    return weir_sql_plan_fail(pl, q->pos, "OVER windows are not supported yet");
}

weir_sql_plan *weir_sql_plan_normalize(weir_sql_planner *pl, weir_sql_plan *scan) {
    return weir_sql_plan_fail(pl, scan->pos, "table '%s': upsert sources are not supported yet", scan->table->name);
}
