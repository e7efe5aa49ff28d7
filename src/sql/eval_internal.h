/* eval_internal.h — shared between batch.c, expr.c and expr_fn.c (not part of the module's
 * interface): the compiled program's registers and instructions and the scalar helpers the
 * evaluator's loops call. */
#ifndef WEIR_SQL_EVAL_INTERNAL_H
#define WEIR_SQL_EVAL_INTERNAL_H

#include "sql/sql.h"

/* How a register holds its values: every integer-like type (booleans, integers, scaled
 * decimals, dates, times, timestamps, intervals) widened to int64, FLOAT/DOUBLE as double,
 * strings as pointer + length. Widening keeps one loop per operation and class. */
enum { WEIR_SQL_CLASS_I64, WEIR_SQL_CLASS_F64, WEIR_SQL_CLASS_STR };

int weir_sql_value_width(const weir_sql_ltype *t); /* bytes per value in a batch; 0: unsupported */
int weir_sql_value_class(const weir_sql_ltype *t);
void weir_sql_colvec_store_i64(weir_sql_colvec *v, int row, int64_t x);
int64_t weir_sql_colvec_load_i64(const weir_sql_colvec *v, int row);
void weir_sql_civil_from_days(int64_t z, int *y, int *m, int *d);
int64_t weir_sql_days_from_civil(int y, int m, int d);
void weir_sql_format_decimal(weir_buf *out, int64_t v, int scale);

/* A vector register: cap values of one class and a null byte per row. */
typedef struct weir_sql_reg {
    weir_sql_ltype type;
    int cls;
    int64_t *i;
    double *f;
    weir_str *s;
    uint8_t *null;
} weir_sql_reg;

typedef struct weir_sql_val {
    int64_t i;
    double f;
    weir_str s;
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
};

/* Scalar casts: 0 ok, 1 NULL (Flink's result for a decimal overflow), -1 error (why set). */
int weir_sql_cast_value(weir_arena *scratch, const weir_sql_ltype *from, const weir_sql_val *in,
                        const weir_sql_ltype *to, weir_sql_val *out, const char **why);

/* Functions of expr_fn.c: an id for a name (-1: not implemented), and the run of OP_FN. */
int weir_sql_fn_id(const char *name);
int weir_sql_fn_run(weir_sql_program *p, const weir_sql_instr *ins, int n, weir_err *err);
/* The runtime error: "line L, column C: <what> failed for <value>: <why>". */
int weir_sql_eval_fail(weir_sql_program *p, const weir_sql_instr *ins, const weir_sql_reg *arg, int row, const char *why,
                       weir_err *err);

#endif
