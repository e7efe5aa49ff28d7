/* accum.c — aggregation pieces the operators share (see accum.h): the numeric results of
 * SUM/MIN/MAX/AVG that the group, window and OVER aggregations store, and the group and
 * window aggregations' description of an aggregate. */
#include <string.h>

#include "sql/accum.h"

static __int128 pow10_i128(int n) {
    __int128 r = 1;
    while (n-- > 0) r *= 10;
    return r;
}

void weir_sql_accum_store(weir_sql_batch *o, int c, int row, const weir_sql_ltype *out, bool count, bool avg, int in_class,
                          bool in_decimal, int in_scale, int64_t cnt, int64_t i, double f, __int128 d, const char *s,
                          size_t slen) {
    if (count) {
        weir_sql_batch_set_i64(o, c, row, cnt > 0 ? cnt : 0);
        return;
    }
    if (cnt <= 0) { /* no non-NULL value: NULL, as SQL says */
        weir_sql_batch_set_null(o, c, row, true);
        return;
    }
    if (in_class == WEIR_SQL_CLASS_STR) {
        weir_sql_batch_set_str(o, c, row, s ? s : "", slen);
        return;
    }
    if (out->kind == WEIR_SQL_TYPE_DECIMAL) {
        __int128 v = in_decimal ? d : (__int128)i;
        int scale = in_decimal ? in_scale : 0;
        if (out->scale > scale) v *= pow10_i128(out->scale - scale);
        if (avg) { /* HALF_UP, as Java's BigDecimal division in Flink */
            __int128 n = cnt, q = v / n, r = v % n;
            if ((r < 0 ? -r : r) * 2 >= n) q += v < 0 ? -1 : 1;
            v = q;
        }
        weir_sql_batch_set_i128(o, c, row, v);
        return;
    }
    if (out->kind == WEIR_SQL_TYPE_FLOAT || out->kind == WEIR_SQL_TYPE_DOUBLE) {
        double v = in_class == WEIR_SQL_CLASS_F64 ? f : in_decimal ? (double)d / (double)pow10_i128(in_scale) : (double)i;
        weir_sql_batch_set_f64(o, c, row, avg ? v / (double)cnt : v);
        return;
    }
    if (in_class == WEIR_SQL_CLASS_I128) { /* DECIMAL(p > 18) into a non-DECIMAL result */
        weir_sql_batch_set_i128(o, c, row, d);
        return;
    }
    if (avg) i /= cnt; /* integer AVG truncates, as Flink's */
    weir_sql_batch_set_i64(o, c, row, i);
}

void weir_sql_agg_info_init(weir_sql_agg_info *ai, const weir_sql_bexpr *e, const weir_sql_plan *in) {
    ai->fn = e->fn;
    ai->kind = strcmp(e->fn, "COUNT") == 0         ? WEIR_SQL_AGG_COUNT
               : strcmp(e->fn, "SUM") == 0         ? WEIR_SQL_AGG_SUM
               : strcmp(e->fn, "MIN") == 0         ? WEIR_SQL_AGG_MIN
               : strcmp(e->fn, "MAX") == 0         ? WEIR_SQL_AGG_MAX
               : strcmp(e->fn, "LISTAGG") == 0     ? WEIR_SQL_AGG_LISTAGG
               : strcmp(e->fn, "FIRST_VALUE") == 0 ? WEIR_SQL_AGG_FIRST
               : strcmp(e->fn, "LAST_VALUE") == 0  ? WEIR_SQL_AGG_LAST
                                                   : WEIR_SQL_AGG_AVG;
    /* the planner made LISTAGG's separator a literal holding its value; ',' by default, as
     * Flink's */
    ai->sep = e->nargs > 1 && e->args[1]->text ? e->args[1]->text : ",";
    ai->seplen = strlen(ai->sep);
    ai->arg = e->nargs ? e->args[0]->column : -1;
    ai->filter = e->filter ? e->filter->column : -1;
    ai->out_type = &e->type;
    if (ai->arg >= 0) {
        const weir_sql_ltype *t = in->cols[ai->arg].type;
        ai->in_class = weir_sql_value_class(t);
        ai->in_decimal = t->kind == WEIR_SQL_TYPE_DECIMAL;
        ai->in_scale = t->scale;
    }
}
