/* accum.h — pieces of aggregation shared by the planner and the aggregation operators:
 * the GROUP_AGG node's parameters (plan_agg.c builds them, op_group_agg.c runs them) and
 * helpers over single values in the byte form of weir_sql_row_key (the form multisets of
 * values are kept in for DISTINCT and for MIN/MAX/FIRST_VALUE/LAST_VALUE/LISTAGG under
 * retraction), and the numeric results every aggregation operator stores. Not for other
 * modules. */
#ifndef WEIR_SQL_ACCUM_H
#define WEIR_SQL_ACCUM_H

#include <string.h>

#include "sql/window_internal.h"

/* GROUP_AGG's plan->ext. Its input (an EXCHANGE) has the keys in columns 0..nkeys-1,
 * then the aggregates' arguments and FILTERs (plan->aggs read them); its output is the
 * keys, then one column per aggregate. */
typedef struct weir_sql_group_agg_ext {
    bool retract;        /* the input is a changelog: -U/-D rows retract what +I/+U added */
    bool distinct_only;  /* SELECT DISTINCT or UNION: no aggregates, "Distinct" in EXPLAIN */
} weir_sql_group_agg_ext;

/* The aggregate functions of the group and window aggregations, decided once from the
 * name (the per-row paths compare ints). */
enum {
    WEIR_SQL_AGG_COUNT,
    WEIR_SQL_AGG_SUM,
    WEIR_SQL_AGG_MIN,
    WEIR_SQL_AGG_MAX,
    WEIR_SQL_AGG_AVG,
    WEIR_SQL_AGG_LISTAGG,
    WEIR_SQL_AGG_FIRST,
    WEIR_SQL_AGG_LAST
};

/* One aggregate of a group or window aggregation as its operator runs it. */
typedef struct weir_sql_agg_info {
    const char *fn;
    int kind;                 /* WEIR_SQL_AGG_* */
    int arg;                  /* input column, -1 for COUNT(*) */
    int filter;               /* input column, -1 without FILTER */
    bool distinct;            /* set by the operator (its own rule for MIN/MAX) */
    bool values;              /* group aggregation: keeps its values in the value table */
    const char *sep;          /* LISTAGG's separator */
    size_t seplen;
    int in_class;             /* the argument's value class, DECIMAL or not, scale */
    bool in_decimal;
    int in_scale;
    const weir_sql_ltype *out_type;
} weir_sql_agg_info;

/* Fills ai from the planner's aggregate call e over input `in` (every field but distinct
 * and values, which are each operator's own). */
void weir_sql_agg_info_init(weir_sql_agg_info *ai, const weir_sql_bexpr *e, const weir_sql_plan *in);

/* The order of strings (and binary strings) for MIN, MAX and ORDER BY: bytewise, the
 * shorter first on a common prefix; -1, 0 or 1. Inline: it runs per row. */
static inline int weir_sql_accum_str_cmp(const char *a, size_t alen, const char *b, size_t blen) {
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c) return c < 0 ? -1 : 1;
    return alen < blen ? -1 : alen > blen;
}

/* The string bytes of an encoded non-NULL string value. */
static inline weir_str weir_sql_accum_str(const uint8_t *v) {
    uint32_t n;
    memcpy(&n, v + 1, sizeof n);
    weir_str s = {(const char *)v + 1 + sizeof n, (int)n};
    return s;
}

/* One value encoded by weir_sql_row_key (a null flag, then the value) of a column whose
 * value class (weir_sql_value_class) is cls: the total order MIN, MAX and ORDER BY use
 * (numbers by value, strings as weir_sql_accum_str_cmp); -1, 0 or 1. Both values must be
 * non-NULL. */
static inline int weir_sql_accum_cmp(int cls, const uint8_t *a, const uint8_t *b) {
    a++, b++; /* the null flags (both values are present) */
    switch (cls) {
    case WEIR_SQL_CLASS_F64: {
        double x, y;
        memcpy(&x, a, sizeof x);
        memcpy(&y, b, sizeof y);
        return x < y ? -1 : x > y;
    }
    case WEIR_SQL_CLASS_I128: {
        __int128 x, y;
        memcpy(&x, a, sizeof x);
        memcpy(&y, b, sizeof y);
        return x < y ? -1 : x > y;
    }
    case WEIR_SQL_CLASS_STR: {
        weir_str x = weir_sql_accum_str(a - 1), y = weir_sql_accum_str(b - 1);
        return weir_sql_accum_str_cmp(x.ptr, (size_t)x.len, y.ptr, (size_t)y.len);
    }
    default: {
        int64_t x, y;
        memcpy(&x, a, sizeof x);
        memcpy(&y, b, sizeof y);
        return x < y ? -1 : x > y;
    }
    }
}

/* An aggregate's result from its running accumulator into column c of row `row` of o:
 * COUNT (count) gives cnt; the others are NULL without a counted value (cnt <= 0), else
 * the kept string (s, slen: MIN/MAX/FIRST/LAST_VALUE/LISTAGG of strings) or, for an input
 * of value class in_class (DECIMAL when in_decimal, at in_scale), i (integers, SUM wraps
 * as Java's), f (FLOAT/DOUBLE) or d (DECIMAL, unscaled). The rules of every aggregation
 * operator (group, window, OVER): DECIMAL results rescale to the output's scale and AVG
 * (avg) rounds HALF_UP (Java's BigDecimal division), floating AVG divides, integer AVG
 * truncates. */
void weir_sql_accum_store(weir_sql_batch *o, int c, int row, const weir_sql_ltype *out, bool count, bool avg, int in_class,
                          bool in_decimal, int in_scale, int64_t cnt, int64_t i, double f, __int128 d, const char *s,
                          size_t slen);

#endif
