/* test_sql_group.c — group aggregation (plan_agg.c, op_group_agg.c): the operator driven
 * directly through its vtab with changelog input (+I/-U/+U/-D rows: retraction of MIN/MAX,
 * DISTINCT, LISTAGG, FIRST_VALUE and LAST_VALUE, -D when a key empties, unknown keys'
 * retractions ignored, unchanged results not emitted), snapshot/restore into a fresh
 * instance continuing exactly as an uninterrupted run, the state TTL, and whole jobs at
 * parallelism 2 over "cltest", an in-test changelog connector (its source gives rows with
 * kinds, its sink collects the changelog), whose applied output must equal the aggregation
 * of the rows that survive. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "sql/sql.h"
#include "sql/window_internal.h"
#include <unistd.h>
#include "sqltest.h"
#include "test.h"

/* ---- the rows the cltest source gives, and what its sink got -------------------------------- */

typedef struct cl_row {
    int kind;                 /* WEIR_SQL_ROW_* */
    char k[8];
    int v;
    int split;
} cl_row;

#define MAX_ROWS 20000
static cl_row in_rows[MAX_ROWS];
static int nin_rows;

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static char *out_rows[MAX_ROWS * 4];
static int nout_rows;

/* A row as "op|col|col...". */
static char *format_row(const weir_sql_batch *b, int r) {
    weir_buf line;
    weir_buf_init(&line);
    weir_buf_append(&line, sqltest_kind_name(b->row_kinds[r]), 2);
    weir_buf_append(&line, "|", 1);
    sqltest_append_row(&line, b, r, "|");
    weir_buf_append(&line, "", 1);
    return (char *)line.data;
}

static void clear_out(void) {
    pthread_mutex_lock(&out_lock);
    for (int k = 0; k < nout_rows; k++) free(out_rows[k]);
    nout_rows = 0;
    pthread_mutex_unlock(&out_lock);
}

static void record_batch(const weir_sql_batch *b) {
    pthread_mutex_lock(&out_lock);
    for (int r = 0; r < b->nrows; r++)
        if (nout_rows < MAX_ROWS * 4) out_rows[nout_rows++] = format_row(b, r);
    pthread_mutex_unlock(&out_lock);
}

/* ---- the cltest connector --------------------------------------------------------------- */

typedef struct cl_source {
    const weir_sql_table *table;
    int nsplits;
} cl_source;

typedef struct cl_reader {
    cl_source *src;
    int splits[16], nsplits;
    int pos;
} cl_reader;

static int cl_open(const weir_sql_conn_ctx *ctx, void **source, int *nsplits, weir_err *err) {
    (void)err;
    cl_source *s = calloc(1, sizeof *s);
    s->table = ctx->table;
    s->nsplits = (int)sqltest_opt_int(ctx->table, "splits", 4);
    *source = s;
    *nsplits = s->nsplits;
    return WEIR_OK;
}

static int cl_open_reader(void *source, int worker, const int *splits, int n, void **reader, weir_err *err) {
    (void)worker;
    (void)err;
    cl_reader *r = calloc(1, sizeof *r);
    r->src = source;
    r->nsplits = n;
    memcpy(r->splits, splits, sizeof(int) * (size_t)n);
    *reader = r;
    return WEIR_OK;
}

/* The reader's rows in input order, at most 37 a read (so batches cut keys' changes at
 * arbitrary places); k in column 0, v in column 1. */
static int cl_read(void *reader, weir_sql_batch *out, int max, int timeout_ms, weir_err *err) {
    (void)timeout_ms;
    (void)err;
    cl_reader *r = reader;
    int n = 0;
    while (n < max && n < 37 && r->pos < nin_rows) {
        const cl_row *x = &in_rows[r->pos++];
        bool mine = false;
        for (int k = 0; k < r->nsplits && !mine; k++) mine = x->split == r->splits[k];
        if (!mine) continue;
        int row = weir_sql_batch_add_row(out);
        weir_sql_batch_set_str(out, 0, row, x->k, strlen(x->k));
        weir_sql_batch_set_i64(out, 1, row, x->v);
        out->row_kinds[row] = (uint8_t)x->kind;
        n++;
    }
    return n > 0 || r->pos < nin_rows ? n : WEIR_SQL_END;
}

static void cl_close_reader(void *reader) { free(reader); }
static void cl_close(void *source) { free(source); }

static int cl_open_writer(void *sink, int worker, void **writer, weir_err *err) {
    (void)sink;
    (void)worker;
    (void)err;
    *writer = calloc(1, 1);
    return WEIR_OK;
}

static int cl_write(void *writer, const weir_sql_batch *b, weir_err *err) {
    (void)writer;
    (void)err;
    record_batch(b);
    return WEIR_OK;
}

static void cl_close_writer(void *writer) { free(writer); }
/* Any changelog, unless 'append-only' = 'true' (a sink that takes only inserts). */
static weir_sql_changes cl_changelog(const weir_sql_table *t, bool as_source) {
    (void)as_source;
    const char *a = weir_sql_table_option(t, "append-only");
    return a && strcmp(a, "true") == 0 ? WEIR_SQL_CHANGES_INSERT_ONLY : WEIR_SQL_CHANGES_ALL;
}

static const weir_sql_source_ops cl_source_ops = {
    .open = cl_open, .open_reader = cl_open_reader, .read = cl_read, .close_reader = cl_close_reader, .close = cl_close,
};
static const weir_sql_sink_ops cl_sink_ops = {
    .open = sqltest_sink_open, .open_writer = cl_open_writer, .write = cl_write, .flush = sqltest_sink_flush,
    .close_writer = cl_close_writer, .close = sqltest_sink_close,
};
static const weir_sql_connector cltest = {
    .name = "cltest", .source = &cl_source_ops, .sink = &cl_sink_ops, .changelog = cl_changelog};

/* ---- driving the operator directly ---------------------------------------------------------- */

static const char *CL_DDL = "CREATE TABLE cl (k STRING, v INT, s STRING) WITH ('connector' = 'cltest');"
                             "CREATE TABLE ins (k STRING, v INT, s STRING) WITH ('connector' = 'cltest', 'append-only' = 'true');";

typedef struct harness {
    weir_arena arena;
    weir_sql_plan *agg;       /* the GROUP_AGG node */
    weir_sql_worker worker;
    weir_sql_op op, cap;
    weir_sql_op_shared sh, capsh;
    weir_sql_batch in;
    bool ready;
    char **got;               /* what the operator emitted since the last take */
    int ngot, capgot;
} harness;

static harness *current; /* the harness whose capture op runs (tests are single-threaded) */

static int cap_push(weir_sql_op *op, int input, const weir_sql_batch *b, weir_err *err) {
    (void)op;
    (void)input;
    (void)err;
    for (int r = 0; r < b->nrows; r++) {
        if (current->ngot == current->capgot) {
            current->capgot = current->capgot ? current->capgot * 2 : 64;
            current->got = realloc(current->got, (size_t)current->capgot * sizeof *current->got);
        }
        current->got[current->ngot++] = format_row(b, r);
    }
    return WEIR_OK;
}
static const weir_sql_op_vtab cap_vt = {.name = "capture", .push = cap_push};

/* Plans `query` over cl and makes an operator instance of its (topmost) GROUP_AGG on worker
 * `worker` of job (NULL: no job). */
static bool harness_init(harness *h, const char *query, int worker, weir_sql_job *job) {
    memset(h, 0, sizeof *h);
    weir_arena_init(&h->arena, 0);
    weir_buf src;
    weir_buf_init(&src);
    weir_buf_append(&src, CL_DDL, strlen(CL_DDL));
    weir_buf_append(&src, query, strlen(query) + 1);
    weir_err err;
    weir_sql_plan **roots = NULL;
    int nroots = 0;
    bool ok = sqltest_plan_last(&h->arena, (const char *)src.data, &roots, &nroots, &err) == WEIR_OK;
    weir_buf_free(&src);
    if (!ok) fprintf(stderr, "  planning failed: %s\n", err.msg);
    CHECK(ok);
    if (!ok) return false;
    h->agg = (weir_sql_plan *)sqltest_find_kind(roots[0], WEIR_SQL_PLAN_GROUP_AGG);
    CHECK(h->agg != NULL);
    if (!h->agg) return false;
    h->worker.index = worker;
    h->worker.job = job;
    h->op.vt = &weir_sql_op_group_agg;
    h->op.plan = h->agg;
    h->op.worker = &h->worker;
    h->op.shared = &h->sh;
    h->op.next = &h->cap;
    h->cap.vt = &cap_vt;
    h->cap.shared = &h->capsh;
    h->op.input_wm = calloc(1, sizeof *h->op.input_wm);
    h->op.input_idle = calloc(1, sizeof *h->op.input_idle);
    CHECK(weir_sql_op_group_agg.init(&h->op, &err) == WEIR_OK);
    CHECK(weir_sql_batch_init(&h->in, h->agg->inputs[0]->cols, h->agg->inputs[0]->ncols, 16, &err) == WEIR_OK);
    h->ready = true;
    return true;
}

static void harness_take_clear(harness *h) {
    for (int k = 0; k < h->ngot; k++) free(h->got[k]);
    h->ngot = 0;
}

static void harness_free(harness *h) {
    harness_take_clear(h);
    free(h->got);
    if (h->ready) {
        weir_sql_op_group_agg.free(&h->op);
        weir_sql_batch_free(&h->in);
    }
    free(h->op.input_wm);
    free(h->op.input_idle);
    weir_arena_free(&h->arena);
}

static int in_col(const harness *h, const char *name) {
    const weir_sql_plan *in = h->agg->inputs[0];
    for (int c = 0; c < in->ncols; c++)
        if (strcmp(in->cols[c].name, name) == 0) return c;
    return -1;
}

/* Pushes one batch: rows "op k v s" separated by ';' (the input's k, v and s columns, each
 * only if the plan reads it). */
static void push(harness *h, const char *rows) {
    weir_sql_batch_clear(&h->in);
    int ck = in_col(h, "k"), cv = in_col(h, "v"), cs = in_col(h, "s");
    char *copy = strdup(rows), *save = NULL;
    for (char *r = strtok_r(copy, ";", &save); r; r = strtok_r(NULL, ";", &save)) {
        char op[4], k[16], s[16];
        int v = 0;
        if (sscanf(r, " %3s %15s %d %15s", op, k, &v, s) != 4) continue;
        int row = weir_sql_batch_add_row(&h->in);
        int kind = sqltest_kind_of(op);
        h->in.row_kinds[row] = (uint8_t)(kind >= 0 ? kind : WEIR_SQL_ROW_DELETE);
        if (ck >= 0) weir_sql_batch_set_str(&h->in, ck, row, k, strlen(k));
        if (cv >= 0) weir_sql_batch_set_i64(&h->in, cv, row, v);
        if (cs >= 0) weir_sql_batch_set_str(&h->in, cs, row, s, strlen(s));
    }
    free(copy);
    weir_err err;
    current = h;
    int rc = weir_sql_op_group_agg.push(&h->op, 0, &h->in, &err);
    if (rc != WEIR_OK) fprintf(stderr, "  push failed: %s\n", err.msg);
    CHECK(rc == WEIR_OK);
}

/* Whether the rows emitted since the last check are exactly `want` (separated by '\n'). */
static bool emitted(harness *h, const char *want) {
    weir_buf got;
    weir_buf_init(&got);
    for (int k = 0; k < h->ngot; k++) {
        if (k) weir_buf_append(&got, "\n", 1);
        weir_buf_append(&got, h->got[k], strlen(h->got[k]));
    }
    weir_buf_append(&got, "", 1);
    bool ok = strcmp((const char *)got.data, want) == 0;
    if (!ok) fprintf(stderr, "  emitted:\n%s\n  wanted:\n%s\n", (const char *)got.data, want);
    weir_buf_free(&got);
    harness_take_clear(h);
    return ok;
}

TEST(registers_cltest) {
    weir_sql_register_connector(&cltest);
    CHECK(weir_sql_find_connector("cltest") == &cltest);
}

static const char *ALL_AGGS =
    "SELECT k, COUNT(*) AS n, SUM(v) AS total, MIN(v) AS lo, MAX(v) AS hi, COUNT(DISTINCT v) AS dv, LISTAGG(s) AS ss, "
    "FIRST_VALUE(s) AS f, LAST_VALUE(s) AS l FROM cl GROUP BY k;";

/* Changelog input: every aggregate retracts exactly, as Flink's *_RETRACT functions do. */
TEST(retraction_of_every_aggregate) {
    harness h;
    if (!harness_init(&h, ALL_AGGS, 0, NULL)) return;
    CHECK(((const weir_sql_plan *)h.agg)->updates);
    push(&h, "+I a 5 x; +I a 3 y; +I b 7 z");
    CHECK(emitted(&h, "+I|a|2|8|3|5|2|x,y|x|y\n+I|b|1|7|7|7|1|z|z|z"));
    /* an update of a row: the minimum goes, LISTAGG loses it, LAST_VALUE moves */
    push(&h, "-U a 3 y; +U a 9 w");
    CHECK(emitted(&h, "-U|a|2|8|3|5|2|x,y|x|y\n+U|a|2|14|5|9|2|x,w|x|w"));
    /* a key's last row deleted: -D with its last result; a retraction of an unknown key
     * is ignored */
    push(&h, "-D b 7 z; -D c 1 q");
    CHECK(emitted(&h, "-D|b|1|7|7|7|1|z|z|z"));
    /* a second copy of 5: DISTINCT and MIN count copies */
    push(&h, "+I a 5 v");
    CHECK(emitted(&h, "-U|a|2|14|5|9|2|x,w|x|w\n+U|a|3|19|5|9|2|x,w,v|x|v"));
    push(&h, "-D a 5 x");
    CHECK(emitted(&h, "-U|a|3|19|5|9|2|x,w,v|x|v\n+U|a|2|14|5|9|2|w,v|w|v"));
    push(&h, "-D a 5 v");
    CHECK(emitted(&h, "-U|a|2|14|5|9|2|w,v|w|v\n+U|a|1|9|9|9|1|w|w|w"));
    /* a row added and retracted in one batch leaves the result as it was: nothing emitted */
    push(&h, "+I a 9 w; -D a 9 w");
    CHECK(emitted(&h, ""));
    push(&h, "-D a 9 w");
    CHECK(emitted(&h, "-D|a|1|9|9|9|1|w|w|w"));
    /* the key comes back: +I again */
    push(&h, "+I a 2 p");
    CHECK(emitted(&h, "+I|a|1|2|2|2|1|p|p|p"));
    harness_free(&h);
}

/* Insert-only input: no multisets are kept, results as in SQL. */
TEST(insert_only_aggregates_and_distinct) {
    harness h;
    if (!harness_init(&h, "SELECT k, SUM(DISTINCT v) AS sd, AVG(DISTINCT v) AS ad, COUNT(DISTINCT s) AS ds, MIN(s) AS ms, "
                          "LISTAGG(DISTINCT s, '/') AS ls, MAX(v) AS hi, FIRST_VALUE(s) AS f, LAST_VALUE(v) AS l FROM ins GROUP BY k;",
                      0, NULL))
        return;
    push(&h, "+I a 4 x; +I a 4 y; +I a 2 x; +I a 0 z");
    CHECK(!h.agg->inputs[0]->updates);
    CHECK(emitted(&h, "+I|a|6|2|3|x|x/y/z|4|x|0"));
    push(&h, "+I a 2 a");
    CHECK(emitted(&h, "-U|a|6|2|3|x|x/y/z|4|x|0\n+U|a|6|2|4|a|x/y/z/a|4|x|2"));
    push(&h, "+I a 2 y");
    CHECK(emitted(&h, ""));
    harness_free(&h);
}

/* Global aggregation: one key (empty), -D when its last row goes. */
TEST(global_aggregate_deletes_when_empty) {
    harness h;
    if (!harness_init(&h, "SELECT COUNT(*) AS n, MAX(v) AS hi FROM cl;", 0, NULL)) return;
    CHECK(h.agg->nkeys == 0);
    push(&h, "+I a 1 x; +I b 3 y");
    CHECK(emitted(&h, "+I|2|3"));
    push(&h, "-D b 3 y");
    CHECK(emitted(&h, "-U|2|3\n+U|1|1"));
    push(&h, "-D a 1 x");
    CHECK(emitted(&h, "-D|1|1"));
    harness_free(&h);
}

/* ---- snapshot and restore ------------------------------------------------------------------ */

typedef struct live_row {
    char k[8];
    int v;
    char s[8];
} live_row;

/* A seeded batch of changes over keys k0..k<nkeys-1>: inserts, and retractions (-D, or an
 * update -U/+U) of rows inserted earlier, so the input is a consistent changelog. */
static void random_batch(weir_buf *spec, live_row *live, int *nlive, unsigned *seed, int nkeys) {
    spec->len = 0;
    int n = 1 + (int)(rand_r(seed) % 12);
    for (int i = 0; i < n; i++) {
        char line[64];
        int what = (int)(rand_r(seed) % 10);
        if (*nlive > 0 && what < 3) { /* delete a live row */
            int at = (int)(rand_r(seed) % (unsigned)*nlive);
            snprintf(line, sizeof line, "-D %s %d %s;", live[at].k, live[at].v, live[at].s);
            live[at] = live[--*nlive];
        } else if (*nlive > 0 && what < 5) { /* update one */
            int at = (int)(rand_r(seed) % (unsigned)*nlive);
            live_row nr = live[at];
            nr.v = (int)(rand_r(seed) % 20);
            snprintf(nr.s, sizeof nr.s, "s%d", (int)(rand_r(seed) % 5));
            snprintf(line, sizeof line, "-U %s %d %s;+U %s %d %s;", live[at].k, live[at].v, live[at].s, nr.k, nr.v, nr.s);
            live[at] = nr;
        } else if (*nlive < 500) {
            live_row *r = &live[(*nlive)++];
            snprintf(r->k, sizeof r->k, "k%d", (int)(rand_r(seed) % (unsigned)nkeys));
            r->v = (int)(rand_r(seed) % 20);
            snprintf(r->s, sizeof r->s, "s%d", (int)(rand_r(seed) % 5));
            snprintf(line, sizeof line, "+I %s %d %s;", r->k, r->v, r->s);
        } else continue;
        weir_buf_append(spec, line, strlen(line));
    }
    weir_buf_append(spec, "", 1);
}

/* snapshot() of h into a state file (checkpoint.c's format); returns its records. */
static uint64_t snapshot_to(harness *h, const char *path) {
    weir_sql_state_writer *w = NULL;
    weir_err err;
    uint64_t records = 0;
    CHECK(weir_sql_state_writer_open(path, &w, &err) == WEIR_OK);
    if (!w) return 0;
    CHECK(weir_sql_op_group_agg.snapshot(&h->op, w, &err) == WEIR_OK);
    CHECK(weir_sql_state_writer_close(w, true, NULL, NULL, &records, &err) == WEIR_OK);
    return records;
}

typedef struct restoring {
    harness *h;
    int n;
} restoring;

static int restore_record(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, weir_err *err) {
    restoring *r = arg;
    r->n++;
    return weir_sql_op_group_agg.restore(&r->h->op, key, klen, val, vlen, err);
}

/* Hands every record of a state file to restore() of h, one by one, as the engine does. */
static int restore_from(harness *h, const char *path) {
    restoring r = {h, 0};
    weir_err err;
    int rc = weir_sql_state_file_read(path, restore_record, &r, &err);
    if (rc != WEIR_OK) fprintf(stderr, "  restore failed: %s\n", err.msg);
    CHECK(rc == WEIR_OK);
    return r.n;
}

static const char *state_path(void) {
    static char path[64];
    snprintf(path, sizeof path, "/tmp/test_sql_group.%d.state", (int)getpid());
    return path;
}

/* An operator's state snapshotted after 30 batches and restored into a fresh instance: the
 * next 30 batches give exactly what the uninterrupted instance gives. */
static void check_restore_continues(const char *query, int nkeys) {
    harness a, b, c;
    if (!harness_init(&a, query, 0, NULL) || !harness_init(&b, query, 0, NULL) || !harness_init(&c, query, 0, NULL)) return;
    static live_row live[600];
    int nlive = 0;
    unsigned seed = 42;
    weir_buf spec;
    weir_buf_init(&spec);
    for (int i = 0; i < 30; i++) {
        random_batch(&spec, live, &nlive, &seed, nkeys);
        push(&a, (const char *)spec.data);
        push(&b, (const char *)spec.data);
    }
    harness_take_clear(&a);
    harness_take_clear(&b);
    uint64_t records = snapshot_to(&b, state_path());
    CHECK(records > 0);
    CHECK(b.op.state_bytes > 0);
    CHECK(restore_from(&c, state_path()) == (int)records);
    unlink(state_path());
    CHECK(c.op.state_bytes > 0);
    int compared = 0;
    for (int i = 0; i < 30; i++) {
        random_batch(&spec, live, &nlive, &seed, nkeys);
        push(&a, (const char *)spec.data);
        push(&c, (const char *)spec.data);
        CHECK(a.ngot == c.ngot);
        for (int k = 0; k < a.ngot && k < c.ngot; k++) {
            if (strcmp(a.got[k], c.got[k]) != 0) fprintf(stderr, "  batch %d row %d: %s vs %s\n", i, k, a.got[k], c.got[k]);
            CHECK_EQ_STR(a.got[k], c.got[k]);
            compared++;
        }
        harness_take_clear(&a);
        harness_take_clear(&c);
    }
    CHECK(compared > 20);
    weir_buf_free(&spec);
    harness_free(&a);
    harness_free(&b);
    harness_free(&c);
}

TEST(restore_continues_as_uninterrupted) { check_restore_continues(ALL_AGGS, 6); }

TEST(restore_continues_global_and_distinct) {
    check_restore_continues("SELECT COUNT(*) AS n, SUM(DISTINCT v) AS sd, MIN(s) AS ms, LISTAGG(s) AS ls FROM cl;", 6);
}

/* A global aggregation's record has the empty key, given to every instance: only worker 0
 * (where the exchange sends every row) takes it. */
TEST(global_state_restores_on_worker_zero_only) {
    harness a, b;
    if (!harness_init(&a, "SELECT COUNT(*) AS n FROM cl;", 0, NULL) || !harness_init(&b, "SELECT COUNT(*) AS n FROM cl;", 1, NULL))
        return;
    push(&a, "+I a 1 x; +I b 2 y");
    harness_take_clear(&a);
    CHECK(snapshot_to(&a, state_path()) == 1);
    CHECK(restore_from(&b, state_path()) == 1);
    CHECK(b.op.state_bytes == 0);
    CHECK(snapshot_to(&b, state_path()) == 0);
    unlink(state_path());
    harness_free(&a);
    harness_free(&b);
}

/* A record of another version is refused with a message, not misread. */
TEST(restore_refuses_unknown_version) {
    harness h;
    if (!harness_init(&h, ALL_AGGS, 0, NULL)) return;
    uint8_t val[4] = {9, 0, 0, 0};
    weir_err err;
    CHECK(weir_sql_op_group_agg.restore(&h.op, (const uint8_t *)"x", 1, val, sizeof val, &err) == WEIR_ERROR);
    CHECK(strstr(err.msg, "version 9") != NULL);
    uint8_t bad[3] = {1, 0, 0};
    CHECK(weir_sql_op_group_agg.restore(&h.op, (const uint8_t *)"y", 1, bad, sizeof bad, &err) == WEIR_ERROR);
    CHECK(strstr(err.msg, "malformed") != NULL);
    harness_free(&h);
}

/* ---- state TTL -------------------------------------------------------------------------------- */

/* 'table.exec.state.ttl': a key idle for longer is dropped without output and starts again
 * with +I; while a TTL is set an unchanged result is emitted again (as Flink does). */
TEST(state_ttl_expires_idle_keys) {
    const char *keys[] = {"table.exec.state.ttl"}, *vals[] = {"1 s"};
    weir_sql_job *job = weir_sql_job_new(NULL, stderr, NULL, NULL, keys, vals, 1);
    harness h;
    if (!harness_init(&h, "SELECT k, COUNT(*) AS n, MAX(v) AS hi FROM cl GROUP BY k;", 0, job)) return;
    push(&h, "+I a 1 x; +I b 5 y");
    CHECK(emitted(&h, "+I|a|1|1\n+I|b|1|5"));
    int64_t before = h.op.state_bytes;
    weir_err err;
    CHECK(weir_sql_op_group_agg.tick(&h.op, weir_now_ms() + 500, &err) == WEIR_OK);
    push(&h, "+I a 0 x");
    CHECK(emitted(&h, "-U|a|1|1\n+U|a|2|1"));
    push(&h, "-D a 0 x; +I a 0 x");
    CHECK(emitted(&h, "-U|a|2|1\n+U|a|2|1")); /* unchanged, emitted again under a TTL */
    CHECK(weir_sql_op_group_agg.tick(&h.op, weir_now_ms() + 5000, &err) == WEIR_OK);
    CHECK(emitted(&h, ""));
    CHECK(h.op.state_bytes <= before);
    push(&h, "+I b 2 y");
    CHECK(emitted(&h, "+I|b|1|2"));
    push(&h, "-D a 1 x"); /* its state expired: the retraction is ignored */
    CHECK(emitted(&h, ""));
    harness_free(&h);
    weir_sql_job_free(job);
}

/* Many keys that come and go: the tables are compacted and results stay right. */
TEST(many_keys_deleted_and_compacted) {
    harness h;
    if (!harness_init(&h, "SELECT k, COUNT(*) AS n, MIN(v) AS lo FROM cl GROUP BY k;", 0, NULL)) return;
    weir_buf spec;
    weir_buf_init(&spec);
    for (int round = 0; round < 3; round++) {
        spec.len = 0;
        for (int i = 0; i < 6000; i++) {
            char line[48];
            snprintf(line, sizeof line, "+I k%d %d x;", i, i + round);
            weir_buf_append(&spec, line, strlen(line));
        }
        weir_buf_append(&spec, "", 1);
        push(&h, (const char *)spec.data);
        CHECK(h.ngot == 6000);
        harness_take_clear(&h);
        spec.len = 0;
        for (int i = 0; i < 6000; i++) {
            char line[48];
            snprintf(line, sizeof line, "-D k%d %d x;", i, i + round);
            weir_buf_append(&spec, line, strlen(line));
        }
        weir_buf_append(&spec, "", 1);
        push(&h, (const char *)spec.data);
        CHECK(h.ngot == 6000);
        bool deletes = true;
        for (int k = 0; k < h.ngot; k++) deletes = deletes && strncmp(h.got[k], "-D|", 3) == 0;
        CHECK(deletes);
        CHECK(h.op.state_bytes < 64 * 1024); /* the removed keys were compacted away */
        harness_take_clear(&h);
    }
    push(&h, "+I k7 3 x; +I k7 1 x");
    CHECK(emitted(&h, "+I|k7|2|1"));
    harness_free(&h);
    weir_buf_free(&spec);
}

/* ---- whole jobs ------------------------------------------------------------------------------ */

typedef struct agg_truth {
    char k[8];
    int n, total, lo, hi;
    bool seen[64];
    int distinct;
} agg_truth;

/* Applies the collected changelog (+I/+U insert or replace by key, the first column; -U/-D
 * delete) and returns the final rows, sorted, each ending in '\n'. */
static char *applied_state(void) {
    char **rows = calloc((size_t)nout_rows + 1, sizeof *rows);
    int n = 0;
    for (int i = 0; i < nout_rows; i++) {
        const char *body = out_rows[i] + 3;
        const char *bar = strchr(body, '|');
        size_t klen = bar ? (size_t)(bar - body) + 1 : strlen(body);
        int at = -1;
        for (int j = 0; j < n && at < 0; j++)
            if (strncmp(rows[j], body, klen) == 0) at = j;
        if (out_rows[i][0] == '+') {
            if (at >= 0) free(rows[at]);
            else at = n++;
            rows[at] = strdup(body);
        } else if (at >= 0) {
            free(rows[at]);
            rows[at] = rows[--n];
        }
    }
    char *text = sqltest_sorted_lines(rows, n);
    for (int j = 0; j < n; j++) free(rows[j]);
    free(rows);
    return text;
}


/* A seeded changelog over 4 splits (a row's -U/-D in the split of its +I, so it comes after
 * it), run at parallelism 2 into the cltest sink: the applied output equals the aggregation
 * of the rows that are left. */
TEST(job_over_changelog_matches_surviving_rows) {
    nin_rows = 0;
    clear_out();
    static live_row live[600];
    static int live_split[600];
    int nlive = 0;
    unsigned seed = 7;
    for (int i = 0; i < 4000 && nin_rows < MAX_ROWS - 2; i++) {
        int what = (int)(rand_r(&seed) % 10);
        if (nlive > 0 && what < 3) {
            int at = (int)(rand_r(&seed) % (unsigned)nlive);
            cl_row *r = &in_rows[nin_rows++];
            r->kind = WEIR_SQL_ROW_DELETE;
            memcpy(r->k, live[at].k, sizeof r->k);
            r->v = live[at].v;
            r->split = live_split[at];
            live[at] = live[--nlive];
            live_split[at] = live_split[nlive];
        } else if (nlive < 600) {
            live_row *l = &live[nlive];
            snprintf(l->k, sizeof l->k, "k%d", (int)(rand_r(&seed) % 37));
            l->v = (int)(rand_r(&seed) % 50) - 10;
            live_split[nlive] = (int)(rand_r(&seed) % 4);
            cl_row *r = &in_rows[nin_rows++];
            r->kind = WEIR_SQL_ROW_INSERT;
            memcpy(r->k, l->k, sizeof r->k);
            r->v = l->v;
            r->split = live_split[nlive];
            nlive++;
        }
    }
    /* the truth over the surviving rows */
    agg_truth truth[64];
    int ntruth = 0;
    for (int i = 0; i < nlive; i++) {
        int at = -1;
        for (int j = 0; j < ntruth && at < 0; j++)
            if (strcmp(truth[j].k, live[i].k) == 0) at = j;
        if (at < 0) {
            at = ntruth++;
            memset(&truth[at], 0, sizeof truth[at]);
            memcpy(truth[at].k, live[i].k, sizeof truth[at].k);
            truth[at].lo = 1000;
            truth[at].hi = -1000;
        }
        agg_truth *t = &truth[at];
        t->n++;
        t->total += live[i].v;
        if (live[i].v < t->lo) t->lo = live[i].v;
        if (live[i].v > t->hi) t->hi = live[i].v;
        if (!t->seen[live[i].v + 10]) t->distinct++;
        t->seen[live[i].v + 10] = true;
    }
    char *lines[64];
    for (int j = 0; j < ntruth; j++) {
        char buf[160];
        snprintf(buf, sizeof buf, "%.8s|%d|%d|%d|%d|%d", truth[j].k, truth[j].n, truth[j].total, truth[j].lo, truth[j].hi,
                 truth[j].distinct);
        lines[j] = strdup(buf);
    }
    char *want = sqltest_sorted_lines(lines, ntruth);
    for (int j = 0; j < ntruth; j++) free(lines[j]);

    weir_sql_session *s = sqltest_session(2, stderr);
    CHECK(sqltest_exec_wait(s, "CREATE TABLE src (k STRING, v INT) WITH ('connector' = 'cltest', 'splits' = '4');"
                               "CREATE TABLE res (k STRING, n BIGINT, total INT, lo INT, hi INT, dv BIGINT) WITH ('connector' = 'cltest');"
                               "INSERT INTO res SELECT k, COUNT(*), SUM(v), MIN(v), MAX(v), COUNT(DISTINCT v) FROM src GROUP BY k;") ==
          WEIR_OK);
    weir_sql_session_free(s);
    char *got = applied_state();
    if (strcmp(got, want) != 0) fprintf(stderr, "  got:\n%s  want:\n%s", got, want);
    CHECK_EQ_STR(got, want);
    bool retracted = false; /* the changelog really carried updates */
    for (int i = 0; i < nout_rows && !retracted; i++) retracted = out_rows[i][0] == '-';
    CHECK(retracted);
    free(got);
    free(want);
    clear_out();
}

/* The planner's refusal of an updating query into an append-only table names the cause and
 * the way out. */
TEST(updating_query_into_append_only_table_is_refused) {
    weir_sql_session *s = sqltest_session(1, stderr);
    weir_err err;
    const char *script = "CREATE TABLE src (k STRING, v INT) WITH ('connector' = 'cltest');\n"
                         "CREATE TABLE out (k STRING, n BIGINT) WITH ('connector' = 'cltest', 'append-only' = 'true');\n"
                         "INSERT INTO out SELECT k, COUNT(*) FROM src GROUP BY k;";
    int rc = weir_sql_session_execute(s, script, strlen(script), &err);
    CHECK(rc == WEIR_ERROR);
    if (rc == WEIR_ERROR) {
        fprintf(stderr, "  (the refusal reads: %s)\n", err.msg);
        CHECK(strstr(err.msg, "GROUP BY at line 3, column 54") != NULL);
        CHECK(strstr(err.msg, "upsert-kafka") != NULL);
    }
    weir_sql_session_free(s);
}

TEST_MAIN(T(registers_cltest), T(retraction_of_every_aggregate), T(insert_only_aggregates_and_distinct), T(global_aggregate_deletes_when_empty),
          T(restore_continues_as_uninterrupted), T(restore_continues_global_and_distinct),
          T(global_state_restores_on_worker_zero_only), T(restore_refuses_unknown_version), T(state_ttl_expires_idle_keys),
          T(many_keys_deleted_and_compacted), T(job_over_changelog_matches_surviving_rows),
          T(updating_query_into_append_only_table_is_refused))
