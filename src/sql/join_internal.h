/* join_internal.h — what the join planner (plan_join.c) tells the join operators
 * (op_join.c: regular equi-joins, op_interval_join.c: interval joins) through a JOIN or
 * INTERVAL_JOIN plan node's `ext`. Not for other modules. */
#ifndef WEIR_SQL_JOIN_INTERNAL_H
#define WEIR_SQL_JOIN_INTERNAL_H

#include "sql/sql.h"

typedef struct weir_sql_join_spec {
    const char *join_type;   /* INNER, LEFT, RIGHT, FULL (CROSS with an equality is INNER) */
    bool outer[2];           /* [0]: left rows without a match are emitted NULL-padded (LEFT,
                                FULL); [1]: right rows (RIGHT, FULL) */
    int nkeys;               /* equality conditions; 0 only for an interval join */
    int *keys[2];            /* per input: its key columns (the exchange's), in pair order */
    bool *null_safe;         /* per key: IS NOT DISTINCT FROM (NULL meets NULL), not = */
    int nout[2];             /* per input: the leading columns the join outputs (the rest are
                                key columns its pre-CALC computed) */
    /* the non-equality rest of the condition (NULL: none), over the output columns: the left
     * input's nout[0] columns, then the right's nout[1] */
    weir_sql_bexpr *residual;
    /* INTERVAL_JOIN: the rowtime columns and the bounds of left.ts - right.ts, inclusive, in
     * microseconds (a strict < or > moved by one microsecond) */
    int time_col[2];
    int64_t lower_us, upper_us;
    /* for EXPLAIN: the whole condition over the inputs' columns (left's, then right's, named
     * by in_names), and what each input's upsert key says */
    weir_sql_bexpr *cond;
    weir_sql_lfield *in_names;
    int nin_names;
    const char *input_spec[2];
} weir_sql_join_spec;

#endif
