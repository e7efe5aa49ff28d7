/* rank_internal.h — the parameters of the RANK and OVER_AGG plan nodes (plan->ext), shared
 * by the planner (plan_rank.c), which builds them, and the operators (op_rank.c,
 * op_over.c), which run them. Not for other modules. */
#ifndef WEIR_SQL_RANK_INTERNAL_H
#define WEIR_SQL_RANK_INTERNAL_H

#include "sql/window_internal.h"

typedef enum {
    WEIR_SQL_RANK_TOPN,          /* ROW_NUMBER() ... WHERE rn <= N: a changelog */
    WEIR_SQL_RANK_DEDUP,         /* rn = 1 ordered by a time attribute */
    WEIR_SQL_RANK_WINDOW_TOPN,   /* per window, emitted when the watermark passes its end */
    WEIR_SQL_RANK_WINDOW_DEDUP,
    WEIR_SQL_RANK_NORMALIZE      /* ChangelogNormalize after an upsert source */
} weir_sql_rank_kind;

/* RANK's plan->ext. The input (an EXCHANGE on the partition keys) has the rows to rank;
 * the output is the input's columns, then (window TVF mode) window_start, window_end,
 * window_time, then (output_rank) the row number as BIGINT. */
typedef struct weir_sql_rank_ext {
    weir_sql_rank_kind kind;
    int *partition;          /* input columns hashed by the exchange (window columns left out) */
    int npartition;
    int *order;              /* input columns of ORDER BY */
    bool *desc;
    int norder;
    int64_t rank_start, rank_end; /* 1-based, inclusive */
    bool output_rank;
    bool keep_last;          /* dedup: the last row (ORDER BY time DESC), else the first */
    bool rowtime;            /* dedup: ordered by an event-time attribute (else processing time) */
    bool retract;            /* the input is a changelog (-U/-D retract earlier rows) */
    /* window variants: either computed from a time column (TVF mode: time_col >= 0) or
     * read from window_start / window_end columns of a window aggregation's output */
    const char *window_fn;   /* TUMBLE, HOP, CUMULATE */
    int64_t size_ms, step_ms, offset_ms;
    int time_col;            /* TVF mode: the rowtime column; -1 otherwise */
    int ws_col, we_col;      /* window aggregation mode: the input's window_start/end columns */
    const char *time_name;   /* EXPLAIN: the time column's name */
} weir_sql_rank_ext;

typedef enum { WEIR_SQL_OVER_COUNT, WEIR_SQL_OVER_SUM, WEIR_SQL_OVER_MIN, WEIR_SQL_OVER_MAX, WEIR_SQL_OVER_AVG,
               WEIR_SQL_OVER_FIRST, WEIR_SQL_OVER_LAST } weir_sql_over_fn;

/* OVER_AGG's plan->ext. Output: the input's columns, then one column per aggregate. */
typedef struct weir_sql_over_ext {
    int *partition;
    int npartition;
    int time_col;            /* ORDER BY: a time attribute of the input, ascending */
    bool rowtime;            /* event time (rows wait for the watermark); else processing time */
    bool rows;               /* ROWS frame, else RANGE */
    bool unbounded;          /* UNBOUNDED PRECEDING */
    int64_t preceding;       /* ROWS: rows before the current one; RANGE: milliseconds */
    int naggs;
    weir_sql_over_fn *fns;
    int *args;               /* input column, -1 for COUNT(*) */
    const weir_sql_ltype **types; /* result types */
    const char **names;      /* EXPLAIN: the aggregates' calls as text */
} weir_sql_over_ext;

#endif
