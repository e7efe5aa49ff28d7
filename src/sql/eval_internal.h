/* eval_internal.h — shared between batch.c, nested.c and expr*.c (not part of the module's
 * interface): the compiled program's registers and instructions and the scalar helpers the
 * evaluator's loops call. */
#ifndef WEIR_SQL_EVAL_INTERNAL_H
#define WEIR_SQL_EVAL_INTERNAL_H

#include "sql/sql.h"

/* How a register holds its values: every integer-like type (booleans, integers, scaled
 * decimals, dates, times, timestamps, intervals) widened to int64, FLOAT/DOUBLE as double,
 * strings, binary strings and nested values (ARRAY, MULTISET, MAP, ROW in the encoding of
 * sql.h) as pointer + length, DECIMAL(p > 18) as an unscaled __int128. Widening keeps one
 * loop per operation and class. */
enum { WEIR_SQL_CLASS_I64, WEIR_SQL_CLASS_F64, WEIR_SQL_CLASS_STR, WEIR_SQL_CLASS_I128 };

int weir_sql_value_width(const weir_sql_ltype *t); /* bytes per value in a batch; 0: unsupported */
int weir_sql_value_class(const weir_sql_ltype *t);
void weir_sql_colvec_store_i64(weir_sql_colvec *v, int row, int64_t x);
int64_t weir_sql_colvec_load_i64(const weir_sql_colvec *v, int row);
void weir_sql_civil_from_days(int64_t z, int *y, int *m, int *d);
int64_t weir_sql_days_from_civil(int y, int m, int d);
void weir_sql_format_decimal(weir_buf *out, int64_t v, int scale);
void weir_sql_format_decimal128(weir_buf *out, __int128 v, int scale);
/* A nested value (ARRAY [1, 2], MAP {a=1}, ROW (1, foo), as Flink's casts to STRING print
 * them; NULL elements as NULL). False when the encoding is malformed. */
bool weir_sql_format_nested(weir_buf *out, const weir_sql_ltype *t, weir_str enc);
bool weir_sql_ltype_is_nested(const weir_sql_ltype *t);
int64_t weir_sql_floordiv(int64_t a, int64_t b);

/* DECIMAL arithmetic of any precision up to 38 digits: x (scale sx) op y (scale sy) into a
 * result of scale s and precision p, rounded HALF_UP. Returns 0, 1 when the result does not
 * fit p digits (Flink gives NULL), 2 on division by zero. op: + - * / %. */
int weir_sql_dec_arith(char op, __int128 x, int sx, __int128 y, int sy, int s, int p, __int128 *out);
/* Rescales v from scale s1 to s2 (HALF_UP); false when it does not fit precision p. */
bool weir_sql_dec_rescale(__int128 v, int s1, int s2, int p, __int128 *out);
__int128 weir_sql_pow10_128(int n); /* n in 0..38 */

/* A vector register: cap values of one class and a null byte per row. */
typedef struct weir_sql_reg {
    weir_sql_ltype type;
    int cls;
    int64_t *i;
    double *f;
    weir_str *s;
    __int128 *w;
    uint8_t *null;
} weir_sql_reg;

typedef struct weir_sql_val {
    int64_t i;
    double f;
    weir_str s;
    __int128 d;
} weir_sql_val;

typedef struct weir_sql_instr {
    int op, sub;
    int dst, mask;  /* mask: a register whose nonzero rows are computed (-1: all rows) */
    int a, b, c;
    int *args;      /* OP_FN */
    int nargs;
    int col;        /* OP_LOAD */
    weir_sql_val imm; /* OP_CONST */
    bool imm_null;
    const weir_sql_bexpr *e; /* for error messages */
    const char *name;
    void *aux;                 /* per-instruction state (a compiled constant regex) */
    void (*aux_free)(void *);  /* frees aux with the program */
} weir_sql_instr;

struct weir_sql_program {
    weir_sql_instr *ins;
    int nins, capins;
    weir_sql_reg *regs;
    int nregs, capregs;
    int rows_cap;   /* rows the registers hold */
    int *outs;      /* the projections' registers */
    int nouts;
    int sel;        /* the selection register (-1: every row) */
    weir_sql_lfield *out_cols;
    const weir_sql_lfield *in_cols;
    int nin;
    weir_arena arena;   /* the program's lifetime: types, names, constants */
    weir_arena scratch; /* strings made while running one batch */
    long dispatches;
    int64_t now_us;     /* the current time for this batch (CURRENT_TIMESTAMP, NOW...) */
};

/* Scalar casts: 0 ok, 1 NULL (Flink's result for a decimal overflow), -1 error (why set). */
int weir_sql_cast_value(weir_arena *scratch, const weir_sql_ltype *from, const weir_sql_val *in,
                        const weir_sql_ltype *to, weir_sql_val *out, const char **why);

/* Functions of expr_fn.c: an id for a name (-1: not implemented), and the run of OP_FN.
 * weir_sql_fn_lookup also finds those of expr_time.c, expr_regex.c, expr_json.c and
 * expr_nested.c (their ids start at the bases below; weir_sql_fn_run hands them over). */
enum { WEIR_SQL_FN_TIME = 100, WEIR_SQL_FN_REGEX = 200, WEIR_SQL_FN_JSON = 300, WEIR_SQL_FN_NESTED = 400 };
int weir_sql_fn_id(const char *name);
int weir_sql_fn_lookup(const weir_sql_bexpr *e);
int weir_sql_fn_run(weir_sql_program *p, const weir_sql_instr *ins, int n, weir_err *err);
int weir_sql_fn_time_id(const char *name, const weir_sql_bexpr *e);
int weir_sql_fn_time_run(weir_sql_program *p, const weir_sql_instr *ins, int n, weir_err *err);
int weir_sql_fn_regex_id(const char *name);
int weir_sql_fn_regex_run(weir_sql_program *p, const weir_sql_instr *ins, int n, weir_err *err);
int weir_sql_fn_json_id(const char *name);
int weir_sql_fn_json_run(weir_sql_program *p, const weir_sql_instr *ins, int n, weir_err *err);
int weir_sql_fn_nested_id(const char *name);
int weir_sql_fn_nested_run(weir_sql_program *p, const weir_sql_instr *ins, int n, weir_err *err);

/* The row prelude of every OP_FN loop: whether row r yields NULL without being computed,
 * because the mask leaves it out or (NULL in, NULL out) one of the first nchk arguments is
 * NULL. Sets the destination's null byte either way. Inline: it runs once per row. */
static inline bool weir_sql_fn_row_null(const weir_sql_program *p, const weir_sql_instr *ins, const int64_t *mask,
                                        int nchk, int r) {
    weir_sql_reg *d = &p->regs[ins->dst];
    bool null = mask && !mask[r];
    for (int k = 0; k < nchk && !null; k++) null = p->regs[ins->args[k]].null[r];
    d->null[r] = null;
    return null;
}

/* The local time zone (the process's TZ, Flink's default 'table.local-time-zone'):
 * TIMESTAMP_LTZ values are UTC micros, shown and converted to TIMESTAMP in local time. */
int64_t weir_sql_tz_utc_to_local_us(int64_t utc_us);
int64_t weir_sql_tz_local_to_utc_us(int64_t local_us);
/* The runtime error: "line L, column C: <what> failed for <value>: <why>". */
int weir_sql_eval_fail(weir_sql_program *p, const weir_sql_instr *ins, const weir_sql_reg *arg, int row, const char *why,
                       weir_err *err);

#endif
