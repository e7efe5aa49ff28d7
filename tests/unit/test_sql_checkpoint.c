/* test_sql_checkpoint.c — checkpoints (engine.c, checkpoint.c, exchange.c's barriers):
 * datagen's position/seek; an in-test source "ckptest" (rows the test releases bit by bit,
 * with positions) feeding a TUMBLE count at parallelism 2 while checkpoints are taken, then
 * a restore at parallelism 3 that reads the rest: the union of both runs' windows must equal
 * the counts computed here (exactly-once state: a barrier that let a row into the state
 * after its position was recorded would count it twice); the checkpoint directory's layout
 * and retention; a refused restore naming the operator whose keys changed, accepted with
 * 'weir.state.allow-reset'; stable ids of a stateful operator under edits; the memory cap. */
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "connect/connect.h"
#include "sql/window_internal.h"
#include "sqltest.h"
#include "test.h"

/* ---- the rows ------------------------------------------------------------------------------- */

#define NROWS 6000
#define NSPLITS 4
#define NKEYS 20

typedef struct ck_row {
    char key[8];
    char group[4];
    int64_t ts_ms;
} ck_row;

static ck_row rows[NROWS];
static atomic_int avail; /* rows with a smaller index may be read */

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static weir_buf out; /* "key|window_start|count\n" per row written */
static int nout;

static void make_rows(void) {
    uint64_t x = 42;
    int64_t base = 1700000000000;
    for (int i = 0; i < NROWS; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        snprintf(rows[i].key, sizeof rows[i].key, "k%02d", (int)((x >> 33) % NKEYS));
        snprintf(rows[i].group, sizeof rows[i].group, "g%d", (int)((x >> 40) % 3));
        rows[i].ts_ms = base + (int64_t)i * 5 - (int64_t)((x >> 20) % 900); /* out of order by < 1 s */
    }
}

static void out_reset(void) {
    pthread_mutex_lock(&out_lock);
    out.len = 0;
    nout = 0;
    pthread_mutex_unlock(&out_lock);
}

/* ---- the ckptest source: split s holds rows s, s + 4, s + 8, ...; a position is the split
 * and the next index ------------------------------------------------------------------------ */

typedef struct ck_source {
    const weir_sql_table *table;
    bool unbounded;
    int start[NSPLITS]; /* where seek put each split */
} ck_source;

typedef struct ck_reader {
    ck_source *src;
    int splits[NSPLITS], nsplits;
    int pos[NSPLITS];
    int turn;
} ck_reader;

static int ck_open(const weir_sql_conn_ctx *ctx, void **source, int *nsplits, weir_err *err) {
    (void)err;
    ck_source *s = calloc(1, sizeof *s);
    s->table = ctx->table;
    s->unbounded = sqltest_opt_true(ctx->table, "unbounded");
    for (int k = 0; k < NSPLITS; k++) s->start[k] = k;
    *source = s;
    *nsplits = NSPLITS;
    return WEIR_OK;
}

static int ck_open_reader(void *source, int worker, const int *splits, int n, void **reader, weir_err *err) {
    (void)worker;
    (void)err;
    ck_source *s = source;
    ck_reader *r = calloc(1, sizeof *r);
    r->src = s;
    r->nsplits = n;
    for (int k = 0; k < n; k++) {
        r->splits[k] = splits[k];
        r->pos[k] = s->start[splits[k]];
    }
    *reader = r;
    return WEIR_OK;
}

static int ck_read(void *reader, weir_sql_batch *b, int max, int timeout_ms, weir_err *err) {
    (void)err;
    ck_reader *r = reader;
    const weir_sql_table *t = r->src->table;
    int ck = sqltest_col_of(t, "k"), cg = sqltest_col_of(t, "g"), cts = sqltest_col_of(t, "ts");
    int limit = max < 8 ? max : 8, n = 0, empty = 0, visible = atomic_load(&avail);
    while (n < limit && empty < r->nsplits) {
        int k = r->turn++ % r->nsplits;
        int i = r->pos[k];
        if (i >= NROWS || i >= visible) {
            empty++;
            continue;
        }
        empty = 0;
        r->pos[k] += NSPLITS;
        int row = weir_sql_batch_add_row(b);
        if (ck >= 0) weir_sql_batch_set_str(b, ck, row, rows[i].key, strlen(rows[i].key));
        if (cg >= 0) weir_sql_batch_set_str(b, cg, row, rows[i].group, strlen(rows[i].group));
        if (cts >= 0) weir_sql_batch_set_i64(b, cts, row, rows[i].ts_ms * 1000);
        n++;
    }
    if (n > 0) return n;
    bool all_done = true;
    for (int k = 0; k < r->nsplits; k++) all_done = all_done && r->pos[k] >= NROWS;
    if (all_done && !r->src->unbounded) return WEIR_SQL_END;
    usleep((useconds_t)(timeout_ms < 2 ? timeout_ms : 2) * 1000);
    return 0;
}

static int ck_position(void *reader, int split, weir_buf *o, weir_err *err) {
    ck_reader *r = reader;
    for (int k = 0; k < r->nsplits; k++)
        if (r->splits[k] == split) {
            int32_t v[3] = {0x434b, split, r->pos[k]};
            weir_buf_append(o, v, sizeof v);
            return WEIR_OK;
        }
    return weir_err_set(err, "ckptest: no split %d here", split);
}

static int ck_seek(void *source, const uint8_t *pos, size_t len, weir_err *err) {
    ck_source *s = source;
    int32_t v[3];
    if (len != sizeof v) return weir_err_set(err, "ckptest: bad position");
    memcpy(v, pos, sizeof v);
    if (v[0] != 0x434b || v[1] < 0 || v[1] >= NSPLITS) return weir_err_set(err, "ckptest: bad position");
    s->start[v[1]] = v[2];
    return WEIR_OK;
}

static void ck_close_reader(void *reader) { free(reader); }
static void ck_close(void *source) { free(source); }

/* ---- the sink: collects "k|ws|c" lines ---------------------------------------------------------- */

static int ck_open_writer(void *sink, int worker, void **writer, weir_err *err) {
    (void)worker;
    (void)err;
    *writer = sink;
    return WEIR_OK;
}
static int ck_write(void *writer, const weir_sql_batch *b, weir_err *err) {
    (void)writer;
    (void)err;
    weir_buf line;
    weir_buf_init(&line);
    for (int r = 0; r < b->nrows; r++) {
        line.len = 0;
        sqltest_append_row(&line, b, r, "|");
        weir_buf_append(&line, "\n", 1);
        pthread_mutex_lock(&out_lock);
        weir_buf_append(&out, line.data, line.len);
        nout++;
        pthread_mutex_unlock(&out_lock);
    }
    weir_buf_free(&line);
    return WEIR_OK;
}
static void ck_close_writer(void *writer) { (void)writer; }
static weir_sql_changes ck_changelog(const weir_sql_table *t, bool as_source) {
    (void)t;
    return as_source ? WEIR_SQL_CHANGES_INSERT_ONLY : WEIR_SQL_CHANGES_ALL;
}

static const weir_sql_source_ops ck_source_ops = {
    .open = ck_open, .open_reader = ck_open_reader, .read = ck_read, .position = ck_position, .seek = ck_seek,
    .close_reader = ck_close_reader, .close = ck_close,
};
static const weir_sql_sink_ops ck_sink_ops = {
    .open = sqltest_sink_open, .open_writer = ck_open_writer, .write = ck_write, .flush = sqltest_sink_flush,
    .close_writer = ck_close_writer, .close = sqltest_sink_close,
};
static const weir_sql_connector ckptest = {
    .name = "ckptest", .source = &ck_source_ops, .sink = &ck_sink_ops, .changelog = ck_changelog};

/* ---- helpers ----------------------------------------------------------------------------- */

/* Runs sql without waiting for its jobs; a failure prints its message. */
static int exec(weir_sql_session *s, const char *sql, weir_err *err) { return sqltest_exec_err(s, sql, false, err); }

static char tmpdir[256];

static const char *ddl_fmt =
    "SET 'state.checkpoints.dir' = '%s/chk';"
    "SET 'state.checkpoints.num-retained' = '2';"
    "SET 'execution.checkpointing.interval' = '20 ms';"
    "SET 'pipeline.name' = 'ckpt-test';"
    "CREATE TABLE src (k STRING, g STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '2' SECOND) "
    "  WITH ('connector' = 'ckptest', 'unbounded' = '%s');"
    "CREATE TABLE dst (k STRING, ws TIMESTAMP(3), c BIGINT) WITH ('connector' = 'ckptest');";

static const char *job_sql =
    "INSERT INTO dst SELECT k, window_start, COUNT(*) FROM TABLE(TUMBLE(TABLE src, DESCRIPTOR(ts), "
    "INTERVAL '1' SECOND)) GROUP BY k, window_start, window_end;";

static void setup(weir_sql_session *s, bool unbounded) {
    char sql[2048];
    snprintf(sql, sizeof sql, ddl_fmt, tmpdir, unbounded ? "true" : "false");
    weir_err err;
    int rc = exec(s, sql, &err);
    if (rc != WEIR_OK) fprintf(stderr, "    setup: %s\n", err.msg);
    CHECK(rc == WEIR_OK);
}

/* The job's directory under <tmp>/chk (the one that is not "savepoints"). */
static void job_dir(char *buf, size_t cap) {
    buf[0] = 0;
    char base[300];
    snprintf(base, sizeof base, "%s/chk", tmpdir);
    DIR *d = opendir(base);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.' && strcmp(de->d_name, "savepoints") != 0) snprintf(buf, cap, "%s/%s", base, de->d_name);
    closedir(d);
}

static int count_checkpoints(const char *dir, int *incomplete) {
    int64_t *done = NULL, *partial = NULL;
    int nd = 0, np = 0;
    weir_sql_list_checkpoints(dir, &done, &nd, &partial, &np);
    free(done);
    free(partial);
    if (incomplete) *incomplete = np;
    return nd;
}

/* The expected count of every (key, window start) over all rows. */
typedef struct window_count {
    char key[8];
    int64_t ws_ms;
    int count;
    int seen;
} window_count;

static window_count expected[NROWS];
static int nexpected;

static void oracle(void) {
    nexpected = 0;
    for (int i = 0; i < NROWS; i++) {
        int64_t ws = rows[i].ts_ms - ((rows[i].ts_ms % 1000) + 1000) % 1000;
        int k = 0;
        while (k < nexpected && !(expected[k].ws_ms == ws && !strcmp(expected[k].key, rows[i].key))) k++;
        if (k == nexpected) {
            memcpy(expected[k].key, rows[i].key, sizeof expected[k].key);
            expected[k].ws_ms = ws;
            expected[k].count = 0;
            nexpected++;
        }
        expected[k].count++;
    }
}

/* "2023-11-14 22:13:20.000" for ms since the epoch (UTC), as the sink formats TIMESTAMP(3). */
static void fmt_ts(char *buf, size_t cap, int64_t ms) {
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char tmp[80];
    snprintf(tmp, sizeof tmp, "%04d-%02d-%02d %02d:%02d:%02d.%03d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    snprintf(buf, cap, "%.39s", tmp);
}

/* Applies the output lines to the expected windows: a window's last line wins; returns the
 * windows whose final count differs or that never came (printing the first few). */
static int compare_output(void) {
    for (int k = 0; k < nexpected; k++) expected[k].seen = -1;
    pthread_mutex_lock(&out_lock);
    char *text = malloc(out.len + 1);
    memcpy(text, out.data, out.len);
    text[out.len] = 0;
    pthread_mutex_unlock(&out_lock);
    int unknown = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char key[16], ws[40];
        int c;
        if (sscanf(line, "%15[^|]|%39[^|]|%d", key, ws, &c) != 3) {
            unknown++;
            continue;
        }
        bool found = false;
        for (int k = 0; k < nexpected && !found; k++) {
            char t[40];
            fmt_ts(t, sizeof t, expected[k].ws_ms);
            if (!strcmp(expected[k].key, key) && !strcmp(t, ws)) {
                expected[k].seen = c;
                found = true;
            }
        }
        if (!found) unknown++;
    }
    free(text);
    int bad = unknown;
    for (int k = 0; k < nexpected; k++)
        if (expected[k].seen != expected[k].count) {
            if (bad < 5) fprintf(stderr, "    window %s @%lld: got %d, want %d\n", expected[k].key,
                                 (long long)expected[k].ws_ms, expected[k].seen, expected[k].count);
            bad++;
        }
    return bad;
}

/* ---- tests --------------------------------------------------------------------------------- */

/* ---- the exchange's alignment, driven by hand -------------------------------------------- */

/* A root after the exchange that counts the rows it got and, at the barrier (flush), how
 * many had come before it. */
typedef struct counter {
    int rows;
    int at_barrier;
} counter;

static int count_push(weir_sql_op *op, int input, const weir_sql_batch *b, weir_err *err) {
    (void)input;
    (void)err;
    ((counter *)op->state)->rows += b->nrows;
    return WEIR_OK;
}
static int count_flush(weir_sql_op *op, weir_err *err) {
    (void)err;
    counter *c = op->state;
    c->at_barrier = c->rows;
    return WEIR_OK;
}
static int count_wm(weir_sql_op *op, int input, int64_t ts, weir_err *err) {
    (void)op, (void)input, (void)ts, (void)err;
    return WEIR_OK;
}
static int count_finish(weir_sql_op *op, int input, weir_err *err) {
    (void)op, (void)input, (void)err;
    return WEIR_OK;
}
static const weir_sql_op_vtab count_vt = {
    .name = "count", .push = count_push, .watermark = count_wm, .finish = count_finish, .flush = count_flush};

/* Two workers' instances of one keyed exchange, each feeding a counter. Worker 0 sends rows,
 * barrier 1, more rows; worker 1 must deliver only the first rows before its own barrier
 * reaches the counter (the later ones are held back), and the rest once it finished the
 * barrier. Without alignment the counter would see the later rows before its snapshot. */
TEST(exchange_aligns_barriers) {
    static weir_sql_ltype bigint = {.kind = WEIR_SQL_TYPE_BIGINT};
    static weir_sql_lfield cols[1] = {{"k", &bigint}};
    static int keys[1] = {0};
    weir_sql_plan in = {.kind = WEIR_SQL_PLAN_CALC, .cols = cols, .ncols = 1};
    weir_sql_plan *ins[1] = {&in};
    weir_sql_plan ex = {.kind = WEIR_SQL_PLAN_EXCHANGE, .cols = cols, .ncols = 1, .inputs = ins, .ninputs = 1,
                        .keys = keys, .nkeys = 1};
    weir_sql_plan *exs[1] = {&ex};
    weir_sql_plan root = {.kind = WEIR_SQL_PLAN_SINK, .cols = cols, .ncols = 1, .inputs = exs, .ninputs = 1};
    weir_sql_job *job = calloc(1, sizeof *job);
    job->nworkers = 2;
    job->nexchanges = 1;
    weir_sql_worker w[2];
    memset(w, 0, sizeof w);
    job->workers = w;
    weir_sql_op_shared exsh = {.plan = &ex, .exchange = 0}, rootsh = {.plan = &root};
    weir_sql_op xop[2], cop[2];
    weir_sql_op *xops[2] = {&xop[0], &xop[1]};
    counter cnt[2] = {{0, -1}, {0, -1}};
    int64_t barrier_in[4] = {0};
    weir_sql_inbox inbox[2];
    weir_err err;
    for (int i = 0; i < 2; i++) {
        w[i].job = job;
        w[i].index = i;
        weir_sql_inbox_init(&inbox[i]);
        w[i].inbox = &inbox[i];
        w[i].exchanges = &xops[i];
        cop[i] = (weir_sql_op){.vt = &count_vt, .plan = &root, .worker = &w[i], .shared = &rootsh,
                               .state = &cnt[i], .barrier_in = &barrier_in[2 * i]};
        xop[i] = (weir_sql_op){.vt = &weir_sql_op_exchange, .plan = &ex, .worker = &w[i], .next = &cop[i],
                               .shared = &exsh, .barrier_in = &barrier_in[2 * i + 1], .out_wm = WEIR_SQL_WM_NONE};
        CHECK(xop[i].vt->init(&xop[i], &err) == WEIR_OK);
    }
    /* keys that the exchange sends to worker 1 */
    weir_sql_batch before, after;
    CHECK(weir_sql_batch_init(&before, cols, 1, 16, &err) == WEIR_OK);
    CHECK(weir_sql_batch_init(&after, cols, 1, 16, &err) == WEIR_OK);
    weir_buf key;
    weir_buf_init(&key);
    for (int64_t k = 0; before.nrows < 10 || after.nrows < 5; k++) {
        weir_sql_batch *b = before.nrows < 10 ? &before : &after;
        int r = weir_sql_batch_add_row(b);
        weir_sql_batch_set_i64(b, 0, r, k);
        key.len = 0;
        weir_sql_row_key(&key, b, r, keys, 1);
        if ((weir_sql_hash_bytes(key.data, key.len) >> 32) % 2 != 1) b->nrows--;
    }
    weir_buf_free(&key);
    CHECK(xop[0].vt->push(&xop[0], 0, &before, &err) == WEIR_OK);
    CHECK(weir_sql_op_barrier(&xop[0], 0, 1, &err) == WEIR_OK); /* worker 0 handled barrier 1 */
    CHECK(xop[0].vt->push(&xop[0], 0, &after, &err) == WEIR_OK); /* rows after it */
    CHECK(weir_sql_worker_drain(&w[1], 0, &err) >= 0);
    CHECK_EQ_INT(cnt[1].rows, 10); /* the rows after worker 0's barrier wait */
    CHECK_EQ_INT(cnt[1].at_barrier, -1);
    CHECK(weir_sql_op_barrier(&xop[1], 0, 1, &err) == WEIR_OK); /* worker 1 injects barrier 1 too */
    CHECK(weir_sql_worker_drain(&w[1], 0, &err) >= 0);
    CHECK_EQ_INT(cnt[1].at_barrier, 10); /* the barrier reached the counter after exactly those */
    CHECK_EQ_INT(cnt[1].rows, 10);
    CHECK_EQ_INT(w[1].ckpt_handled, 3); /* the exchange's two sides and the counter */
    w[1].ckpt_released = 1; /* the worker finished barrier 1 */
    w[1].draining = true;
    CHECK(weir_sql_exchange_release(&xop[1], &err) == WEIR_OK);
    w[1].draining = false;
    CHECK_EQ_INT(cnt[1].rows, 15);
    CHECK_EQ_INT(cnt[0].rows, 0);
    for (int i = 0; i < 2; i++) {
        weir_sql_worker_drain(&w[i], 0, &err);
        xop[i].vt->free(&xop[i]);
        weir_sql_inbox_free(&inbox[i]);
    }
    weir_sql_batch_free(&before);
    weir_sql_batch_free(&after);
    free(job);
}

/* Reads rows of a datagen table through the connector ops: a sequence and a random column. */
static int dg_read_some(void *reader, weir_sql_batch *b, int want, int64_t *ids, int64_t *rnd) {
    int got = 0;
    while (got < want) {
        weir_sql_batch_clear(b);
        weir_err err;
        int n = weir_connect_datagen.source->read(reader, b, want - got, 100, &err);
        if (n <= 0) break;
        for (int r = 0; r < b->nrows; r++) {
            ids[got + r] = weir_sql_batch_get_i64(b, 0, r);
            rnd[got + r] = weir_sql_batch_get_i64(b, 1, r);
        }
        got += b->nrows;
    }
    return got;
}

TEST(datagen_position_and_seek) {
    weir_arena a;
    weir_arena_init(&a, 0);
    weir_sql_script *sc = NULL;
    weir_err err;
    const char *ddl = "CREATE TABLE g (id BIGINT, r BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = "
                      "'10000000', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '100000')";
    CHECK(weir_sql_parse_script(&a, ddl, strlen(ddl), &sc, &err) == WEIR_OK);
    weir_sql_catalog cat;
    weir_sql_catalog_init(&cat, &a);
    weir_sql_table *t = NULL;
    CHECK(weir_sql_catalog_apply(&cat, sc->stmts[0], &t, &err) == WEIR_OK);
    if (!t) {
        weir_arena_free(&a);
        return;
    }
    const weir_sql_source_ops *ops = weir_connect_datagen.source;
    weir_sql_lfield cols[2] = {{t->columns[0].name, &t->columns[0].type}, {t->columns[1].name, &t->columns[1].type}};
    weir_sql_batch b;
    CHECK(weir_sql_batch_init(&b, cols, 2, 64, &err) == WEIR_OK);
    weir_sql_conn_ctx ctx = {.table = t, .nworkers = 2};
    void *src = NULL, *rd = NULL;
    int nsplits = 0;
    CHECK(ops->open(&ctx, &src, &nsplits, &err) == WEIR_OK);
    CHECK_EQ_INT(nsplits, 2);
    int splits[1] = {1};
    CHECK(ops->open_reader(src, 0, splits, 1, &rd, &err) == WEIR_OK);
    static int64_t ids[2000], rnd[2000], ids2[2000], rnd2[2000];
    CHECK_EQ_INT(dg_read_some(rd, &b, 1000, ids, rnd), 1000);
    weir_buf pos;
    weir_buf_init(&pos);
    CHECK(ops->position(rd, 1, &pos, &err) == WEIR_OK);
    CHECK(ops->position(rd, 0, &pos, &err) == WEIR_ERROR); /* not this reader's split */
    CHECK_EQ_INT(dg_read_some(rd, &b, 500, ids, rnd), 500); /* what comes after the position */
    ops->close_reader(rd);
    ops->close(src);
    /* a new source (another random seed) seeks there and gives the same rows */
    CHECK(ops->open(&ctx, &src, &nsplits, &err) == WEIR_OK);
    CHECK(ops->seek(src, pos.data, pos.len, &err) == WEIR_OK);
    CHECK(ops->open_reader(src, 0, splits, 1, &rd, &err) == WEIR_OK);
    CHECK_EQ_INT(dg_read_some(rd, &b, 500, ids2, rnd2), 500);
    CHECK(memcmp(ids, ids2, sizeof(int64_t) * 500) == 0);
    CHECK(memcmp(rnd, rnd2, sizeof(int64_t) * 500) == 0);
    CHECK_EQ_INT(ids2[0], 2 + 2 * 1000); /* split 1 of 2 gives 2, 4, 6, ...: the 1001st */
    ops->close_reader(rd);
    ops->close(src);
    /* another parallelism has other splits: refused, naming the table */
    ctx.nworkers = 3;
    CHECK(ops->open(&ctx, &src, &nsplits, &err) == WEIR_OK);
    CHECK(ops->seek(src, pos.data, pos.len, &err) == WEIR_ERROR);
    CHECK(strstr(err.msg, "table 'g'") && strstr(err.msg, "parallelism"));
    CHECK(ops->seek(src, (const uint8_t *)"junk", 4, &err) == WEIR_ERROR);
    ops->close(src);
    weir_buf_free(&pos);
    weir_sql_batch_free(&b);
    weir_arena_free(&a);
}

/* Job A (parallelism 2) counts windows while the test releases rows and takes checkpoints;
 * it stops without a savepoint. Job B (parallelism 3) restores the latest checkpoint and
 * reads the rest. Every window's last count over both runs must be the true count. */
TEST(restore_window_job_at_other_parallelism) {
    out_reset();
    atomic_store(&avail, 0);
    weir_sql_session *s = sqltest_session(2, stderr);
    setup(s, true);
    weir_err err;
    int rc = exec(s, job_sql, &err);
    if (rc != WEIR_OK) fprintf(stderr, "    job A: %s\n", err.msg);
    CHECK(rc == WEIR_OK);
    weir_sql_checkpoint_stats st = {0};
    int taken = 0;
    for (int step = 1; step <= 8 && rc == WEIR_OK; step++) {
        atomic_store(&avail, step * 500);
        /* rows are still on their way through the exchange while the barrier travels */
        rc = weir_sql_session_checkpoint_now(s, &st, &err);
        if (rc != WEIR_OK) fprintf(stderr, "    checkpoint: %s\n", err.msg);
        CHECK(rc == WEIR_OK);
        taken += rc == WEIR_OK;
    }
    CHECK_EQ_INT(taken, 8);
    CHECK(st.id >= 8);
    CHECK(st.bytes > 0);
    CHECK(strstr(st.path, "/chk-") != NULL);
    weir_sql_session_stop(s);
    weir_sql_session_wait(s, NULL);
    weir_sql_job_stats js;
    weir_sql_session_stats(s, &js);
    CHECK_EQ_INT(js.rows_in >= 3500, 1);
    weir_sql_session_free(s);

    /* the directory: the last two complete checkpoints ('state.checkpoints.num-retained') */
    char dir[600];
    job_dir(dir, sizeof dir);
    int incomplete = 0;
    CHECK_EQ_INT(count_checkpoints(dir, &incomplete), 2);
    CHECK_EQ_INT(incomplete, 0);
    /* the latest one (periodic checkpoints went on after the last one asked for) */
    int64_t *done = NULL, *partial = NULL;
    int nd = 0, np = 0;
    weir_sql_list_checkpoints(dir, &done, &nd, &partial, &np);
    char latest[700] = "";
    if (nd) snprintf(latest, sizeof latest, "%s/chk-%lld", dir, (long long)done[nd - 1]);
    CHECK(nd > 0 && done[nd - 1] >= st.id);
    free(done);
    free(partial);
    weir_arena a;
    weir_arena_init(&a, 0);
    weir_sql_ckpt_meta m;
    CHECK(weir_sql_meta_load(latest, &a, &m, &err) == WEIR_OK);
    CHECK_EQ_INT(m.parallelism, 2);
    CHECK_EQ_INT(m.nops, 1);
    CHECK_EQ_INT(m.nsources, 1);
    if (m.nops == 1) CHECK(strncmp(m.ops[0].explain, "WindowAggregate(groupBy=[k]", 27) == 0);
    int64_t read = 0;
    if (m.nsources == 1) {
        CHECK_EQ_STR(m.sources[0].table, "src");
        CHECK_EQ_INT(m.sources[0].nsplits, NSPLITS);
        for (int k = 0; k < m.sources[0].nsplits; k++) {
            int32_t v[3];
            memcpy(v, m.sources[0].splits[k].pos, sizeof v);
            read += (v[2] - v[1]) / NSPLITS;
            CHECK(m.sources[0].splits[k].has_wm);
        }
    }
    CHECK(read > 3000 && read <= 4000);
    weir_arena_free(&a);

    /* an incomplete checkpoint of a crash is removed at the next start */
    char junk[700];
    snprintf(junk, sizeof junk, "%s/chk-9999", dir);
    mkdir(junk, 0755);

    atomic_store(&avail, NROWS);
    s = sqltest_session(3, stderr);
    setup(s, false);
    rc = exec(s, job_sql, &err);
    if (rc != WEIR_OK) fprintf(stderr, "    job B: %s\n", err.msg);
    CHECK(rc == WEIR_OK);
    CHECK(weir_sql_session_wait(s, &err) == WEIR_OK);
    weir_sql_session_stats(s, &js);
    CHECK_EQ_INT(js.rows_in, NROWS - read); /* resumed where the checkpoint was */
    weir_sql_session_free(s);
    CHECK_EQ_INT(access(junk, F_OK), -1);
    oracle();
    CHECK_EQ_INT(compare_output(), 0);
}

/* A regular join of two scans of one table (two sources by occurrence, a two-input
 * operator aligning barriers from two exchanges): stopped after checkpoints, restored at
 * another parallelism with the rest of the rows; every joined row must be there. */
TEST(restore_join_of_two_scans) {
    out_reset();
    atomic_store(&avail, 0);
    char sql[2048];
    snprintf(sql, sizeof sql,
             "SET 'state.checkpoints.dir' = '%s/join';"
             "SET 'execution.checkpointing.interval' = '20 ms';"
             "CREATE TABLE src (k STRING, g STRING, ts TIMESTAMP(3)) WITH ('connector' = 'ckptest', 'unbounded' = "
             "'%%s');"
             "CREATE TABLE dj (k STRING, ts TIMESTAMP(3), g STRING) WITH ('connector' = 'ckptest');",
             tmpdir);
    const char *join = "INSERT INTO dj SELECT a.k, a.ts, b.g FROM src a JOIN src b ON a.k = b.k AND a.ts = b.ts;";
    char ddl[2100];
    snprintf(ddl, sizeof ddl, sql, "true");
    weir_sql_session *s = sqltest_session(2, stderr);
    weir_err err;
    CHECK(exec(s, ddl, &err) == WEIR_OK);
    int rc = exec(s, join, &err);
    if (rc != WEIR_OK) fprintf(stderr, "    join A: %s\n", err.msg);
    CHECK(rc == WEIR_OK);
    for (int step = 1; step <= 6 && rc == WEIR_OK; step++) {
        atomic_store(&avail, step * 500);
        weir_sql_checkpoint_stats st;
        rc = weir_sql_session_checkpoint_now(s, &st, &err);
        if (rc != WEIR_OK) fprintf(stderr, "    checkpoint: %s\n", err.msg);
        CHECK(rc == WEIR_OK);
    }
    weir_sql_session_stop(s);
    weir_sql_session_wait(s, NULL);
    weir_sql_session_free(s);
    atomic_store(&avail, NROWS);
    snprintf(ddl, sizeof ddl, sql, "false");
    s = sqltest_session(3, stderr);
    CHECK(exec(s, ddl, &err) == WEIR_OK);
    rc = exec(s, join, &err);
    if (rc != WEIR_OK) fprintf(stderr, "    join B: %s\n", err.msg);
    CHECK(rc == WEIR_OK);
    CHECK(weir_sql_session_wait(s, &err) == WEIR_OK);
    weir_sql_job_stats js;
    weir_sql_session_stats(s, &js);
    CHECK(js.rows_in < 2 * NROWS); /* both scans resumed */
    weir_sql_session_free(s);
    /* every pair (i, j) with the same key and time, as "k|ts|g" lines, against the output */
    weir_buf want;
    weir_buf_init(&want);
    int nwant = 0, missing = 0;
    pthread_mutex_lock(&out_lock);
    char *got = malloc(out.len + 1);
    memcpy(got, out.data, out.len);
    got[out.len] = 0;
    pthread_mutex_unlock(&out_lock);
    for (int i = 0; i < NROWS; i++)
        for (int j = 0; j < NROWS; j++) {
            if (rows[i].ts_ms != rows[j].ts_ms || strcmp(rows[i].key, rows[j].key)) continue;
            char t[40], line[80];
            fmt_ts(t, sizeof t, rows[i].ts_ms);
            snprintf(line, sizeof line, "%.7s|%.39s|%.3s\n", rows[i].key, t, rows[j].group);
            nwant++;
            if (!strstr(got, line)) {
                if (missing < 3) fprintf(stderr, "    missing %s", line);
                missing++;
            }
        }
    CHECK(nwant >= NROWS);
    CHECK_EQ_INT(missing, 0);
    free(got);
    weir_buf_free(&want);
}

/* Edits: the aggregation's keys changed is refused naming the operator; with
 * 'weir.state.allow-reset' it starts empty. A changed filter keeps the state. */
TEST(incompatible_state_is_refused) {
    atomic_store(&avail, NROWS);
    out_reset();
    weir_sql_session *s = sqltest_session(2, stderr);
    setup(s, false);
    weir_err err;
    int rc = exec(s, "INSERT INTO dst SELECT g, window_start, COUNT(*) FROM TABLE(TUMBLE(TABLE src, DESCRIPTOR(ts), "
                     "INTERVAL '1' SECOND)) GROUP BY g, window_start, window_end;", &err);
    CHECK(rc == WEIR_ERROR);
    CHECK(weir_sql_session_state_refused(s));
    if (rc == WEIR_ERROR) {
        CHECK(strstr(err.msg, "operator WindowAggregate(groupBy=[g]") != NULL);
        CHECK(strstr(err.msg, "WindowAggregate(groupBy=[k]") != NULL);
        CHECK(strstr(err.msg, "keys") != NULL && strstr(err.msg, "--allow-state-reset") != NULL);
        if (!strstr(err.msg, "--allow-state-reset")) fprintf(stderr, "    (%s)\n", err.msg);
    }
    /* a filter below the aggregation: the same operator id, the state is restored */
    rc = exec(s, "INSERT INTO dst SELECT k, window_start, COUNT(*) FROM TABLE(TUMBLE(TABLE src, DESCRIPTOR(ts), "
                 "INTERVAL '1' SECOND)) WHERE k <> 'zzz' GROUP BY k, window_start, window_end;", &err);
    if (rc != WEIR_OK) fprintf(stderr, "    filter edit: %s\n", err.msg);
    CHECK(rc == WEIR_OK);
    CHECK(!weir_sql_session_state_refused(s));
    CHECK(weir_sql_session_wait(s, &err) == WEIR_OK);
    rc = exec(s, "SET 'weir.state.allow-reset' = 'true';"
                 "INSERT INTO dst SELECT g, window_start, COUNT(*) FROM TABLE(TUMBLE(TABLE src, DESCRIPTOR(ts), "
                 "INTERVAL '1' SECOND)) GROUP BY g, window_start, window_end;", &err);
    if (rc != WEIR_OK) fprintf(stderr, "    reset: %s\n", err.msg);
    CHECK(rc == WEIR_OK);
    CHECK(weir_sql_session_wait(s, &err) == WEIR_OK);
    weir_sql_session_free(s);
}

/* A corrupt state file fails the restore, naming the file. */
TEST(corrupt_state_file_fails_the_restore) {
    char dir[600], path[900];
    job_dir(dir, sizeof dir);
    int64_t *done = NULL, *partial = NULL;
    int nd = 0, np = 0;
    weir_sql_list_checkpoints(dir, &done, &nd, &partial, &np);
    CHECK(nd > 0);
    if (nd == 0) return;
    snprintf(path, sizeof path, "%s/chk-%lld", dir, (long long)done[nd - 1]);
    free(done);
    free(partial);
    DIR *d = opendir(path);
    struct dirent *de;
    char file[1400] = "";
    while (d && (de = readdir(d)))
        if (strstr(de->d_name, ".state")) snprintf(file, sizeof file, "%s/%s", path, de->d_name);
    if (d) closedir(d);
    CHECK(file[0] != 0);
    FILE *f = fopen(file, "r+b");
    CHECK(f != NULL);
    if (!f) return;
    fseek(f, 12, SEEK_SET);
    fputc(0x5a, f);
    fclose(f);
    weir_sql_session *s = sqltest_session(2, stderr);
    setup(s, false);
    weir_err err;
    CHECK(exec(s, job_sql, &err) == WEIR_OK); /* the workers restore: the job fails */
    CHECK(weir_sql_session_wait(s, &err) == WEIR_ERROR);
    CHECK(strstr(err.msg, "corrupt") != NULL && strstr(err.msg, ".state") != NULL);
    weir_sql_session_free(s);
}

/* The window aggregation's id under edits (plan.c assign_ids). */
static char *window_id(const char *query) {
    weir_arena a;
    weir_arena_init(&a, 0);
    char sql[2048];
    snprintf(sql, sizeof sql,
             "CREATE TABLE src (k STRING, g STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '2' SECOND) "
             "WITH ('connector' = 'ckptest');"
             "CREATE TABLE dst (k STRING, ws TIMESTAMP(3), c BIGINT) WITH ('connector' = 'ckptest');"
             "CREATE TABLE dst2 (k STRING, ws TIMESTAMP(3), c BIGINT, tag STRING) WITH ('connector' = 'ckptest');"
             "CREATE TABLE dst3 (k STRING, tag STRING, ws TIMESTAMP(3), c BIGINT) WITH ('connector' = 'ckptest');%s",
             query);
    weir_sql_script *sc = NULL;
    weir_err err;
    char *id = NULL;
    weir_sql_catalog cat;
    weir_sql_catalog_init(&cat, &a);
    if (weir_sql_parse_script(&a, sql, strlen(sql), &sc, &err) == WEIR_OK) {
        for (int k = 0; k < sc->nstmts; k++) {
            weir_sql_bstmt *st = NULL;
            if (weir_sql_bind_stmt(&cat, sc->stmts[k], &st, &err) != WEIR_OK) {
                fprintf(stderr, "    bind: %s\n", err.msg);
                break;
            }
            if (st->kind != WEIR_SQL_STMT_INSERT) continue;
            weir_sql_plan **roots = NULL;
            int n = 0;
            if (weir_sql_plan_build(&a, st, &roots, &n, &err) != WEIR_OK) {
                fprintf(stderr, "    plan: %s\n", err.msg);
                break;
            }
            const weir_sql_plan *p = roots[0];
            while (p && p->kind != WEIR_SQL_PLAN_WINDOW_AGG) p = p->ninputs ? p->inputs[0] : NULL;
            if (p) id = strdup(p->id);
        }
    } else {
        fprintf(stderr, "    parse: %s\n", err.msg);
    }
    weir_arena_free(&a);
    return id ? id : strdup("none");
}

TEST(stateful_ids_survive_harmless_edits) {
    char *base = window_id(job_sql);
    char *filtered = window_id("INSERT INTO dst SELECT k, window_start, COUNT(*) FROM TABLE(TUMBLE(TABLE src, "
                               "DESCRIPTOR(ts), INTERVAL '1' SECOND)) WHERE g <> 'g9' GROUP BY k, window_start, window_end;");
    char *projected = window_id("INSERT INTO dst2 SELECT k, window_start, COUNT(*), 'x' FROM TABLE(TUMBLE(TABLE src, "
                                "DESCRIPTOR(ts), INTERVAL '1' SECOND)) GROUP BY k, window_start, window_end;");
    /* a column before the aggregate shifts its generated name (EXPR$2 to EXPR$3); an alias */
    char *shifted = window_id("INSERT INTO dst3 SELECT k, UPPER(k), window_start, COUNT(*) AS cnt FROM TABLE(TUMBLE("
                              "TABLE src, DESCRIPTOR(ts), INTERVAL '1' SECOND)) GROUP BY k, window_start, window_end;");
    char *summed = window_id("INSERT INTO dst SELECT k, window_start, SUM(1) FROM TABLE(TUMBLE(TABLE src, "
                             "DESCRIPTOR(ts), INTERVAL '1' SECOND)) GROUP BY k, window_start, window_end;");
    char *rekeyed = window_id("INSERT INTO dst SELECT g, window_start, COUNT(*) FROM TABLE(TUMBLE(TABLE src, "
                              "DESCRIPTOR(ts), INTERVAL '1' SECOND)) GROUP BY g, window_start, window_end;");
    char *resized = window_id("INSERT INTO dst SELECT k, window_start, COUNT(*) FROM TABLE(TUMBLE(TABLE src, "
                              "DESCRIPTOR(ts), INTERVAL '2' SECOND)) GROUP BY k, window_start, window_end;");
    CHECK(strcmp(base, "none") != 0);
    CHECK_EQ_STR(filtered, base);
    CHECK_EQ_STR(projected, base);
    CHECK_EQ_STR(shifted, base);
    CHECK(strcmp(summed, base) != 0);
    CHECK(strcmp(rekeyed, base) != 0);
    CHECK(strcmp(resized, base) != 0);
    free(base);
    free(filtered);
    free(projected);
    free(rekeyed);
    free(shifted);
    free(summed);
    free(resized);
}

/* 'state.memory.limit': a tiny cap fails the job naming the operator and the limit. */
TEST(memory_cap_fails_the_job) {
    atomic_store(&avail, NROWS);
    weir_sql_session *s = sqltest_session(2, stderr);
    weir_err err;
    int rc = exec(s, "SET 'state.memory.limit' = '1 kb';"
                     "CREATE TABLE src (k STRING, g STRING, ts TIMESTAMP(3)) WITH ('connector' = 'ckptest', "
                     "'unbounded' = 'true');"
                     "CREATE TABLE dst (k STRING, c BIGINT) WITH ('connector' = 'ckptest');"
                     "INSERT INTO dst SELECT k, COUNT(*) FROM src GROUP BY k;", &err);
    if (rc != WEIR_OK) fprintf(stderr, "    memory job: %s\n", err.msg);
    CHECK(rc == WEIR_OK);
    rc = weir_sql_session_wait(s, &err); /* an unbounded source: only the cap ends it */
    CHECK(rc == WEIR_ERROR);
    CHECK(strstr(err.msg, "over 'state.memory.limit' = '1 kb': operator GroupAggregate") != NULL);
    CHECK(strstr(err.msg, "table.exec.state.ttl") != NULL);
    weir_sql_session_free(s);
}

int main(void) {
    weir_connect_register_all();
    weir_sql_register_connector(&ckptest);
    weir_buf_init(&out);
    make_rows();
    snprintf(tmpdir, sizeof tmpdir, "/tmp/weir-test-ckpt-%d", (int)getpid());
    mkdir(tmpdir, 0755);
    weir_test_case cases[] = {
        T(datagen_position_and_seek),
        T(exchange_aligns_barriers),
        T(restore_window_job_at_other_parallelism),
        T(incompatible_state_is_refused),
        T(restore_join_of_two_scans),
        T(corrupt_state_file_fails_the_restore),
        T(stateful_ids_survive_harmless_edits),
        T(memory_cap_fails_the_job),
    };
    int rc = weir_test_run(__FILE__, cases, sizeof cases / sizeof cases[0]);
    weir_sql_remove_tree(tmpdir);
    weir_buf_free(&out);
    return rc;
}
