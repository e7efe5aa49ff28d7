/* accum.h — pieces of aggregation shared by the planner and the aggregation operators:
 * the GROUP_AGG node's parameters (plan_agg.c builds them, op_group_agg.c runs them) and
 * helpers over single values in the byte form of weir_sql_row_key (the form multisets of
 * values are kept in for DISTINCT and for MIN/MAX/FIRST_VALUE/LAST_VALUE/LISTAGG under
 * retraction). Not for other modules. */
#ifndef WEIR_SQL_ACCUM_H
#define WEIR_SQL_ACCUM_H

#include "sql/window_internal.h"

/* GROUP_AGG's plan->ext. Its input (an EXCHANGE) has the keys in columns 0..nkeys-1,
 * then the aggregates' arguments and FILTERs (plan->aggs read them); its output is the
 * keys, then one column per aggregate. */
typedef struct weir_sql_group_agg_ext {
    bool retract;        /* the input is a changelog: -U/-D rows retract what +I/+U added */
    bool distinct_only;  /* SELECT DISTINCT or UNION: no aggregates, "Distinct" in EXPLAIN */
} weir_sql_group_agg_ext;

/* One value encoded by weir_sql_row_key (a null flag, then the value) of a column whose
 * value class (weir_sql_value_class) is cls: the total order MIN and MAX use (numbers by
 * value, strings and binary strings bytewise, shorter first on a common prefix). Both
 * values must be non-NULL. */
int weir_sql_accum_cmp(int cls, const uint8_t *a, const uint8_t *b);
/* The string bytes of an encoded non-NULL string value. */
weir_str weir_sql_accum_str(const uint8_t *v);

#endif
