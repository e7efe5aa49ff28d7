/* op_sink.c — the SINK operator. With a table: one connector writer per worker; each
 * batch arrives in the table's columns (the planner's CALC put the INSERT's values in the
 * persisted columns and NULL in the others) and is written; flush() makes it durable
 * before the sources commit. The terminal sink (a query's rows) prints Flink's SQL client tableau to the job's output:
 * a header with an `op` column, each batch's rows as they arrive (column widths from the
 * types, longer values cut with "..."), and "Received a total of N rows" at the end. */
#include <stdlib.h>
#include <string.h>

#include "sql/engine_internal.h"

/* ---- the tableau (Flink's TableauStyle with widths by type) ----------------------------- */

#define NULL_TEXT "<NULL>"
#define DEFAULT_MAX_WIDTH 30 /* sql-client.display.max-column-width */

static void outs(weir_buf *b, const char *s) { weir_buf_append(b, s, strlen(s)); }

static void pad(weir_buf *b, char c, int n) {
    for (int k = 0; k < n; k++) weir_buf_append(b, &c, 1);
}

/* East Asian wide and full-width characters take two cells, as Flink counts them. */
static bool wide(uint32_t cp) {
    return (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0x303E) || (cp >= 0x3041 && cp <= 0x33FF) ||
           (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xA000 && cp <= 0xA4CF) ||
           (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0xFE30 && cp <= 0xFE4F) ||
           (cp >= 0xFF00 && cp <= 0xFF60) || (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1F64F) ||
           (cp >= 0x1F900 && cp <= 0x1F9FF) || (cp >= 0x20000 && cp <= 0x3FFFD);
}

/* One UTF-8 character at s[i] (invalid bytes count as one narrow character). */
static size_t next_char(const uint8_t *s, size_t n, size_t i, uint32_t *cp) {
    uint8_t c = s[i];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    if (i + len > n) len = 1;
    uint32_t v = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; k < len; k++) v = (v << 6) | (s[i + k] & 0x3F);
    *cp = v;
    return len;
}

static int display_width(const uint8_t *s, size_t n) {
    int w = 0;
    uint32_t cp;
    for (size_t i = 0; i < n;) {
        i += next_char(s, n, i, &cp);
        w += wide(cp) ? 2 : 1;
    }
    return w;
}

/* A cell: right-aligned in width, or cut to width - 3 display cells plus "...". */
static void cell(weir_buf *o, const uint8_t *s, size_t n, int width) {
    outs(o, " ");
    int w = display_width(s, n);
    if (w <= width) {
        pad(o, ' ', width - w);
        weir_buf_append(o, s, n);
    } else {
        int target = width - 3, passed = 0;
        size_t i = 0;
        uint32_t cp;
        while (i < n) {
            size_t len = next_char(s, n, i, &cp);
            passed += wide(cp) ? 2 : 1;
            if (passed > target) break;
            i += len;
        }
        int used = display_width(s, i);
        pad(o, ' ', target - used);
        weir_buf_append(o, s, i);
        outs(o, "...");
    }
    outs(o, " |");
}

static int timestamp_width(int precision) {
    return precision == 0 ? 19 : precision <= 3 ? 23 : precision <= 6 ? 26 : 29;
}

/* Flink's columnWidthsByType: the widest value a type prints, at least the name and
 * "<NULL>"; types without a bound width get the maximum column width. */
static int type_width(const weir_sql_ltype *t, int max_width) {
    switch (t->kind) {
    case WEIR_SQL_TYPE_TINYINT: return 4;
    case WEIR_SQL_TYPE_SMALLINT: return 6;
    case WEIR_SQL_TYPE_INT: return 11;
    case WEIR_SQL_TYPE_BIGINT: return 20;
    case WEIR_SQL_TYPE_DECIMAL: return t->precision + 2;
    case WEIR_SQL_TYPE_BOOLEAN: return 5;
    case WEIR_SQL_TYPE_DATE: return 10;
    case WEIR_SQL_TYPE_TIME: return t->precision == 0 ? 8 : t->precision + 9;
    case WEIR_SQL_TYPE_TIMESTAMP:
    case WEIR_SQL_TYPE_TIMESTAMP_LTZ: return timestamp_width(t->precision);
    default: return max_width;
    }
}

static void border(weir_buf *o, const int *widths, int n) {
    outs(o, "+");
    for (int c = 0; c < n; c++) {
        pad(o, '-', widths[c] + 2);
        outs(o, "+");
    }
    outs(o, "\n");
}

static void write_out(weir_sql_job *job, const weir_buf *b) {
    weir_sql_job_output_lock(job);
    fwrite(b->data, 1, b->len, job->out);
    fflush(job->out);
    weir_sql_job_output_unlock(job);
}

void weir_sql_tableau_header(weir_sql_job *job, weir_sql_op_shared *sh) {
    const weir_sql_plan *p = sh->plan;
    int max_width = DEFAULT_MAX_WIDTH;
    const char *mw = weir_sql_job_config(job, "sql-client.display.max-column-width");
    if (mw && atoi(mw) > 3) max_width = atoi(mw);
    sh->widths = weir_arena_alloc(&job->arena, sizeof(int) * (size_t)(p->ncols + 2));
    sh->widths[0] = 2;
    for (int c = 0; c < p->ncols; c++) {
        int w = type_width(p->cols[c].type, max_width);
        if (w < (int)strlen(NULL_TEXT)) w = (int)strlen(NULL_TEXT);
        int nw = display_width((const uint8_t *)p->cols[c].name, strlen(p->cols[c].name));
        sh->widths[c + 1] = w > nw ? w : nw;
    }
    weir_buf o;
    weir_buf_init(&o);
    border(&o, sh->widths, p->ncols + 1);
    outs(&o, "|");
    cell(&o, (const uint8_t *)"op", 2, 2);
    for (int c = 0; c < p->ncols; c++)
        cell(&o, (const uint8_t *)p->cols[c].name, strlen(p->cols[c].name), sh->widths[c + 1]);
    outs(&o, "\n");
    border(&o, sh->widths, p->ncols + 1);
    write_out(job, &o);
    weir_buf_free(&o);
}

void weir_sql_tableau_footer(weir_sql_job *job, weir_sql_op_shared *sh, bool terminated) {
    uint64_t n = atomic_load(&sh->printed);
    weir_buf o;
    weir_buf_init(&o);
    char line[96];
    if (terminated) {
        /* Ctrl-C: Flink prints no closing border then */
        snprintf(line, sizeof line, "Query terminated, received a total of %llu %s\n", (unsigned long long)n,
                 n > 1 ? "rows" : "row");
    } else {
        if (n > 0) border(&o, sh->widths, sh->plan->ncols + 1);
        snprintf(line, sizeof line, "Received a total of %llu %s\n", (unsigned long long)n, n > 1 ? "rows" : "row");
    }
    outs(&o, line);
    write_out(job, &o);
    weir_buf_free(&o);
}

static void print_rows(weir_sql_op *op, const weir_sql_batch *b) {
    static const char *kinds[] = {"+I", "-U", "+U", "-D"};
    const int *widths = op->shared->widths;
    weir_buf o, v;
    weir_buf_init(&o);
    weir_buf_init(&v);
    for (int r = 0; r < b->nrows; r++) {
        outs(&o, "|");
        cell(&o, (const uint8_t *)kinds[b->row_kinds[r] & 3], 2, 2);
        for (int c = 0; c < b->ncols && c < op->plan->ncols; c++) {
            v.len = 0;
            if (weir_sql_batch_is_null(b, c, r)) outs(&v, NULL_TEXT);
            else weir_sql_batch_format(&v, b, c, r);
            cell(&o, v.data ? v.data : (const uint8_t *)"", v.len, widths[c + 1]);
        }
        outs(&o, "\n");
    }
    write_out(op->worker->job, &o);
    weir_buf_free(&o);
    weir_buf_free(&v);
}

/* ---- the operator ----------------------------------------------------------------------- */

typedef struct sink_state {
    void *writer;
} sink_state;

static int sink_init(weir_sql_op *op, weir_err *err) {
    sink_state *st = calloc(1, sizeof *st);
    if (!st) abort();
    op->state = st;
    const weir_sql_plan *p = op->plan;
    if (!p->table) return WEIR_OK;
    if (p->connector->sink->open_writer(op->shared->sink, op->worker->index, &st->writer, err) != WEIR_OK) {
        st->writer = NULL;
        return WEIR_ERROR;
    }
    return WEIR_OK;
}

static int sink_push(weir_sql_op *op, int input, const weir_sql_batch *b, weir_err *err) {
    (void)input;
    weir_sql_job *job = op->worker->job;
    if (!op->plan->table) {
        print_rows(op, b);
        atomic_fetch_add(&op->shared->printed, (uint64_t)b->nrows);
        atomic_fetch_add(&job->rows_out, (uint64_t)b->nrows);
        return WEIR_OK;
    }
    sink_state *st = op->state;
    if (op->plan->connector->sink->write(st->writer, b, err) != WEIR_OK) return WEIR_ERROR;
    atomic_fetch_add(&job->rows_out, (uint64_t)b->nrows);
    return WEIR_OK;
}

static int sink_finish(weir_sql_op *op, int input, weir_err *err) {
    (void)op;
    (void)input;
    (void)err;
    return WEIR_OK; /* the worker's last checkpoint flushes */
}

static int sink_watermark(weir_sql_op *op, int input, int64_t ts, weir_err *err) {
    (void)op;
    (void)input;
    (void)ts;
    (void)err;
    return WEIR_OK;
}

static int sink_flush(weir_sql_op *op, weir_err *err) {
    sink_state *st = op->state;
    if (!op->plan->table) {
        weir_sql_job_output_lock(op->worker->job);
        fflush(op->worker->job->out);
        weir_sql_job_output_unlock(op->worker->job);
        return WEIR_OK;
    }
    if (!st->writer) return WEIR_OK;
    return op->plan->connector->sink->flush(st->writer, err);
}

static void sink_free(weir_sql_op *op) {
    sink_state *st = op->state;
    if (!st) return;
    if (st->writer) op->plan->connector->sink->close_writer(st->writer);
    free(st);
    op->state = NULL;
}

const weir_sql_op_vtab weir_sql_op_sink = {
    .name = "sink",
    .init = sink_init,
    .push = sink_push,
    .watermark = sink_watermark,
    .finish = sink_finish,
    .flush = sink_flush,
    .free = sink_free,
};
