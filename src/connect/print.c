/* print.c — the 'print' connector: Flink's debugging sink. Every row becomes one line,
 * "+I[1, Alice, 12.50]" (the row kind, then the physical columns as Flink's Row.toString
 * prints them), prefixed "<print-identifier>:<worker+1>> " as Flink's PrintSinkOutputWriter
 * does, written to the job's output (or stderr with 'standard-error' = 'true'). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connect/connect.h"

static const char *const print_keys[] = {"connector", "print-identifier", "standard-error", NULL};

typedef struct print_sink {
    const weir_sql_table *table;
    weir_sql_job *job;
    int nworkers;
    char *identifier;   /* "" when not set */
    bool to_stderr;
} print_sink;

typedef struct print_writer {
    print_sink *sink;
    char prefix[320];   /* "id:2> ", "id> ", "2> " or "" */
    weir_buf text;
} print_writer;

static int print_validate(const weir_sql_table *t, bool as_source, weir_err *err) {
    if (as_source) return weir_err_set(err, "table '%s': connector 'print' can only be written to, not read", t->name);
    if (weir_connect_check_options(t, "print", print_keys, NULL, err) != WEIR_OK) return WEIR_ERROR;
    bool b = false;
    if (weir_connect_opt_bool(t, "standard-error", &b, err) != WEIR_OK) return WEIR_ERROR;
    for (int c = 0; c < t->ncolumns; c++)
        if (t->columns[c].kind == WEIR_SQL_COLUMN_METADATA)
            return weir_err_set(err, "table '%s': column '%s' is a METADATA column, but connector 'print' has no metadata",
                                t->name, t->columns[c].name);
    return WEIR_OK;
}

static void print_describe(const weir_sql_table *t, weir_buf *out) {
    const char *id = weir_sql_table_option(t, "print-identifier");
    const char *se = weir_sql_table_option(t, "standard-error");
    char buf[400];
    int n = 0;
    if (id) n += snprintf(buf + n, sizeof buf - (size_t)n, "print-identifier=[%s]", id);
    if (se) n += snprintf(buf + n, sizeof buf - (size_t)n, "%sstandard-error=[%s]", id ? ", " : "", se);
    if (n > (int)sizeof buf - 1) n = (int)sizeof buf - 1;
    weir_buf_append(out, buf, (size_t)n);
}

static int print_open(const weir_sql_conn_ctx *ctx, void **sink, weir_err *err) {
    if (print_validate(ctx->table, false, err) != WEIR_OK) return WEIR_ERROR;
    print_sink *s = calloc(1, sizeof *s);
    if (!s) abort();
    s->table = ctx->table;
    s->job = ctx->job;
    s->nworkers = ctx->nworkers;
    const char *id = weir_sql_table_option(ctx->table, "print-identifier");
    s->identifier = strdup(id ? id : "");
    if (!s->identifier) abort();
    weir_connect_opt_bool(ctx->table, "standard-error", &s->to_stderr, err);
    *sink = s;
    return WEIR_OK;
}

static int print_close(void *sink, weir_err *err) {
    (void)err;
    print_sink *s = sink;
    if (!s) return WEIR_OK;
    free(s->identifier);
    free(s);
    return WEIR_OK;
}

static int print_open_writer(void *sink, int worker, void **writer, weir_err *err) {
    (void)err;
    print_sink *s = sink;
    print_writer *w = calloc(1, sizeof *w);
    if (!w) abort();
    w->sink = s;
    weir_buf_init(&w->text);
    /* Flink: the identifier, then ":" and the subtask number (1-based) when the sink runs
     * in parallel, then "> " when anything came before */
    char num[16] = "";
    if (s->nworkers > 1) snprintf(num, sizeof num, "%d", worker + 1);
    snprintf(w->prefix, sizeof w->prefix, "%.256s%s%s%s", s->identifier, s->identifier[0] && num[0] ? ":" : "", num,
             s->identifier[0] || num[0] ? "> " : "");
    *writer = w;
    return WEIR_OK;
}

static void outs(weir_buf *b, const char *s) { weir_buf_append(b, s, strlen(s)); }

static int64_t floordiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

/* Java's LocalDate.toString: yyyy-MM-dd, years beyond 9999 with '+', before 0 with '-'. */
static void java_date(weir_buf *out, int64_t days) {
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int d = (int)(doy - (153 * mp + 2) / 5 + 1);
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    long long y = (long long)(yoe + era * 400 + (m <= 2));
    char buf[48];
    if (y > 9999) snprintf(buf, sizeof buf, "+%lld-%02d-%02d", y, m, d);
    else if (y < 0) snprintf(buf, sizeof buf, "-%04lld-%02d-%02d", -y, m, d);
    else snprintf(buf, sizeof buf, "%04lld-%02d-%02d", y, m, d);
    outs(out, buf);
}

/* Java's LocalTime.toString: HH:mm, then :ss when seconds or a fraction are not zero, then
 * the fraction in groups of three digits (millis, micros). always_seconds: Instant's form. */
static void java_time(weir_buf *out, int64_t micros_of_day, bool always_seconds) {
    int64_t secs = micros_of_day / 1000000, frac = micros_of_day % 1000000;
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%02d:%02d", (int)(secs / 3600), (int)(secs / 60 % 60));
    if (always_seconds || secs % 60 || frac) n += snprintf(buf + n, sizeof buf - (size_t)n, ":%02d", (int)(secs % 60));
    if (frac) {
        if (frac % 1000 == 0) snprintf(buf + n, sizeof buf - (size_t)n, ".%03d", (int)(frac / 1000));
        else snprintf(buf + n, sizeof buf - (size_t)n, ".%06d", (int)frac);
    }
    outs(out, buf);
}

/* One value as Flink's Row.toString shows it: Java's toString of the external type
 * (null, true, LocalDateTime "2024-01-31T12:00", Instant "...Z", byte[] "[1, -2]"); the
 * engine's text for the others, which is Java's already (numbers, decimals, strings). */
static void print_value(weir_buf *out, const weir_sql_batch *b, int col, int row) {
    if (weir_sql_batch_is_null(b, col, row)) return outs(out, "null");
    const weir_sql_ltype *t = &b->cols[col].type;
    switch (t->kind) {
    case WEIR_SQL_TYPE_BOOLEAN: return outs(out, weir_sql_batch_get_i64(b, col, row) ? "true" : "false");
    case WEIR_SQL_TYPE_DATE: return java_date(out, weir_sql_batch_get_i64(b, col, row));
    case WEIR_SQL_TYPE_TIME: return java_time(out, weir_sql_batch_get_i64(b, col, row) * 1000, false);
    case WEIR_SQL_TYPE_TIMESTAMP:
    case WEIR_SQL_TYPE_TIMESTAMP_LTZ: {
        int64_t us = weir_sql_batch_get_i64(b, col, row);
        int64_t days = floordiv(us, 86400000000LL);
        java_date(out, days);
        outs(out, "T");
        bool ltz = t->kind == WEIR_SQL_TYPE_TIMESTAMP_LTZ;
        java_time(out, us - days * 86400000000LL, ltz);
        if (ltz) outs(out, "Z");
        return;
    }
    case WEIR_SQL_TYPE_BINARY:
    case WEIR_SQL_TYPE_VARBINARY:
    case WEIR_SQL_TYPE_BYTES: {
        weir_str s = weir_sql_batch_get_str(b, col, row);
        outs(out, "[");
        for (int k = 0; k < s.len; k++) {
            char num[8];
            snprintf(num, sizeof num, "%s%d", k ? ", " : "", (int)(int8_t)s.ptr[k]);
            outs(out, num);
        }
        outs(out, "]");
        return;
    }
    default: weir_sql_batch_format(out, b, col, row);
    }
}

static const char *row_kind_text(uint8_t kind) {
    switch (kind) {
    case WEIR_SQL_ROW_UPDATE_BEFORE: return "-U";
    case WEIR_SQL_ROW_UPDATE_AFTER: return "+U";
    case WEIR_SQL_ROW_DELETE: return "-D";
    default: return "+I";
    }
}

static FILE *print_stream(print_sink *s) {
    if (s->to_stderr) return stderr;
    return s->job ? weir_sql_job_output(s->job) : stdout;
}

/* The batch's lines are formatted first and written as one block under the job's output
 * lock, so lines of parallel writers never interleave. */
static int print_write(void *writer, const weir_sql_batch *b, weir_err *err) {
    print_writer *w = writer;
    print_sink *s = w->sink;
    const weir_sql_table *t = s->table;
    w->text.len = 0;
    for (int r = 0; r < b->nrows; r++) {
        outs(&w->text, w->prefix);
        outs(&w->text, row_kind_text(b->row_kinds[r]));
        outs(&w->text, "[");
        bool first = true;
        for (int c = 0; c < t->ncolumns && c < b->ncols; c++) {
            if (t->columns[c].kind != WEIR_SQL_COLUMN_PHYSICAL) continue;
            if (!first) outs(&w->text, ", ");
            first = false;
            print_value(&w->text, b, c, r);
        }
        outs(&w->text, "]\n");
    }
    if (!w->text.len) return WEIR_OK;
    FILE *f = print_stream(s);
    if (s->job) weir_sql_job_output_lock(s->job);
    size_t n = fwrite(w->text.data, 1, w->text.len, f);
    if (s->job) weir_sql_job_output_unlock(s->job);
    if (n != w->text.len) return weir_err_set(err, "table '%s': cannot write the print sink's rows", t->name);
    return WEIR_OK;
}

static int print_flush(void *writer, weir_err *err) {
    print_writer *w = writer;
    print_sink *s = w->sink;
    FILE *f = print_stream(s);
    if (s->job) weir_sql_job_output_lock(s->job);
    int rc = fflush(f);
    if (s->job) weir_sql_job_output_unlock(s->job);
    if (rc != 0) return weir_err_set(err, "table '%s': cannot flush the print sink's output", s->table->name);
    return WEIR_OK;
}

static void print_close_writer(void *writer) {
    print_writer *w = writer;
    if (!w) return;
    weir_buf_free(&w->text);
    free(w);
}

static const weir_sql_sink_ops print_sink_ops = {
    .open = print_open,
    .open_writer = print_open_writer,
    .write = print_write,
    .flush = print_flush,
    .close_writer = print_close_writer,
    .close = print_close,
};

/* A debugging sink shows every row kind (+I, -U, +U, -D), as Flink's does. */
static weir_sql_changes print_changelog(const weir_sql_table *t, bool as_source) {
    (void)t;
    (void)as_source;
    return WEIR_SQL_CHANGES_ALL;
}

const weir_sql_connector weir_connect_print = {
    .name = "print",
    .source = NULL,
    .sink = &print_sink_ops,
    .validate = print_validate,
    .describe = print_describe,
    .changelog = print_changelog,
};
