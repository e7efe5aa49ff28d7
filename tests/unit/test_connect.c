/* test_connect.c — the connectors (datagen, print, blackhole, filesystem; kafka and
 * upsert-kafka against an in-process Weir broker: checkpoint positions and seek, upsert
 * reads) driven
 * through their weir_sql_connector ops with tables made by the real parser and catalog:
 * datagen's sequences over splits, random bounds, null rates and rate limit; the print
 * sink's exact lines through a real session; the filesystem sink's rolling, in-progress
 * and final files and their contents read back with the format; and every validate()
 * error a user can meet. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <librdkafka/rdkafka.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

#include "base/base.h"
#include "connect/connect.h"
#include "kafka/kafka.h"
#include "log/log.h"
#include "net/net.h"
#include "sql/sql.h"
#include "test.h"

/* ---- helpers ------------------------------------------------------------------------------ */

/* The table a CREATE TABLE statement makes (in arena a). */
static weir_sql_table *table_of(weir_arena *a, const char *ddl) {
    weir_sql_script *sc = NULL;
    weir_err err;
    if (weir_sql_parse_script(a, ddl, strlen(ddl), &sc, &err) != WEIR_OK) {
        fprintf(stderr, "    parse: %s\n", err.msg);
        return NULL;
    }
    weir_sql_catalog *cat = weir_arena_alloc(a, sizeof *cat);
    weir_sql_catalog_init(cat, a);
    weir_sql_table *t = NULL;
    if (weir_sql_catalog_apply(cat, sc->stmts[0], &t, &err) != WEIR_OK) {
        fprintf(stderr, "    catalog: %s\n", err.msg);
        return NULL;
    }
    return t;
}

/* A batch with the table's columns. */
static void batch_of(weir_sql_batch *b, const weir_sql_table *t) {
    weir_sql_lfield cols[64];
    for (int c = 0; c < t->ncolumns && c < 64; c++) cols[c] = (weir_sql_lfield){t->columns[c].name, &t->columns[c].type};
    weir_err err;
    if (weir_sql_batch_init(b, cols, t->ncolumns, 64, &err) != WEIR_OK) fprintf(stderr, "    batch: %s\n", err.msg);
}

/* What validate() says about the table ("" when it passes). */
static const char *validate_msg(const weir_sql_connector *c, const char *ddl, bool as_source) {
    static char msg[600];
    weir_arena a;
    weir_arena_init(&a, 0);
    weir_sql_table *t = table_of(&a, ddl);
    weir_err err;
    err.msg[0] = 0;
    if (!t) snprintf(msg, sizeof msg, "(no table)");
    else if (c->validate(t, as_source, &err) == WEIR_OK) msg[0] = 0;
    else snprintf(msg, sizeof msg, "%s", err.msg);
    weir_arena_free(&a);
    return msg;
}

/* ---- datagen -------------------------------------------------------------------------------- */

typedef struct dg_run {
    void *source;
    int nsplits;
    void *readers[8];
    int nreaders;
} dg_run;

static int dg_start(dg_run *run, const weir_sql_table *t, const bool *needed, int nworkers) {
    weir_sql_conn_ctx ctx = {.table = t, .needed = needed, .nworkers = nworkers, .job = NULL};
    weir_err err;
    memset(run, 0, sizeof *run);
    if (weir_connect_datagen.source->open(&ctx, &run->source, &run->nsplits, &err) != WEIR_OK) {
        fprintf(stderr, "    open: %s\n", err.msg);
        return WEIR_ERROR;
    }
    return WEIR_OK;
}

static void *dg_reader(dg_run *run, const int *splits, int n) {
    weir_err err;
    void *r = NULL;
    if (weir_connect_datagen.source->open_reader(run->source, run->nreaders, splits, n, &r, &err) != WEIR_OK) {
        fprintf(stderr, "    open_reader: %s\n", err.msg);
        return NULL;
    }
    run->readers[run->nreaders++] = r;
    return r;
}

static void dg_stop(dg_run *run) {
    for (int i = 0; i < run->nreaders; i++) weir_connect_datagen.source->close_reader(run->readers[i]);
    weir_connect_datagen.source->close(run->source);
}

/* A datagen test's start: the table ddl makes (in arena a), its source opened over
 * nworkers splits and a batch b for its rows, all for dg_close; NULL (nothing to close)
 * when the DDL fails. */
static weir_sql_table *dg_open(dg_run *run, weir_arena *a, weir_sql_batch *b, const char *ddl, const bool *needed,
                               int nworkers) {
    weir_arena_init(a, 0);
    weir_sql_table *t = table_of(a, ddl);
    CHECK(t != NULL);
    if (!t) {
        weir_arena_free(a);
        return NULL;
    }
    CHECK(dg_start(run, t, needed, nworkers) == WEIR_OK);
    batch_of(b, t);
    return t;
}

/* The end of a datagen test: the batch freed, readers and source closed, the arena freed. */
static void dg_close(dg_run *run, weir_arena *a, weir_sql_batch *b) {
    weir_sql_batch_free(b);
    dg_stop(run);
    weir_arena_free(a);
}

/* Reads until WEIR_SQL_END (or a bound on the reads), appending to b; returns the last code. */
static int dg_drain(void *reader, weir_sql_batch *b, int max_reads) {
    weir_err err;
    int rc = 0;
    for (int i = 0; i < max_reads; i++) {
        rc = weir_connect_datagen.source->read(reader, b, 1000, 100, &err);
        if (rc == WEIR_SQL_END || rc < 0) return rc;
    }
    return rc;
}

/* Opens a reader on one split and reads it to its end into b (see dg_drain). */
static int dg_read_split(dg_run *run, int split, weir_sql_batch *b, int max_reads) {
    return dg_drain(dg_reader(run, &split, 1), b, max_reads);
}

#define SEQ_DDL                                                                                                        \
    "CREATE TABLE gen (id BIGINT, code STRING, small SMALLINT, price DECIMAL(8, 2), x DOUBLE) WITH ("                 \
    "'connector' = 'datagen', 'rows-per-second' = '100000000', "                                                       \
    "'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '1000', "                               \
    "'fields.code.kind' = 'sequence', 'fields.code.start' = '5001', 'fields.code.end' = '7000', "                      \
    "'fields.small.kind' = 'sequence', 'fields.small.start' = '-500', 'fields.small.end' = '1000', "                   \
    "'fields.price.kind' = 'sequence', 'fields.price.start' = '0', 'fields.price.end' = '5000', "                      \
    "'fields.x.kind' = 'sequence', 'fields.x.start' = '10', 'fields.x.end' = '100000')"

/* Three splits, each read by its own reader: every id 1..1000 once, then each reader
 * ends; the other sequences advance in step (the shortest sequence, id, ends the source). */
TEST(datagen_sequence_over_three_splits) {
    weir_arena a;
    dg_run run;
    weir_sql_batch b;
    weir_sql_table *t = dg_open(&run, &a, &b, SEQ_DDL, NULL, 3);
    if (!t) return;
    CHECK_EQ_INT(run.nsplits, 3);
    int seen[1001] = {0};
    int total = 0;
    for (int s = 0; s < 3; s++) {
        void *r = dg_reader(&run, &s, 1);
        weir_sql_batch_clear(&b);
        CHECK_EQ_INT(dg_drain(r, &b, 100), WEIR_SQL_END);
        CHECK_EQ_INT(b.nrows, s == 0 ? 334 : 333);
        for (int i = 0; i < b.nrows; i++) {
            int64_t id = weir_sql_batch_get_i64(&b, 0, i);
            CHECK(id >= 1 && id <= 1000);
            if (id >= 1 && id <= 1000) seen[id]++;
            CHECK_EQ_INT((id - 1) % 3, s); /* split s holds start + s, start + s + 3, ... */
            /* the other sequences are at the same position as id */
            weir_str code = weir_sql_batch_get_str(&b, 1, i);
            char want[24];
            snprintf(want, sizeof want, "%lld", (long long)(5000 + id));
            CHECK(code.len == (int32_t)strlen(want) && !memcmp(code.ptr, want, (size_t)code.len));
            CHECK_EQ_INT(weir_sql_batch_get_i64(&b, 2, i), -501 + id);
            CHECK_EQ_INT(weir_sql_batch_get_i64(&b, 3, i), (id - 1) * 100); /* DECIMAL(8, 2): units scaled */
            CHECK(weir_sql_batch_get_f64(&b, 4, i) == (double)(9 + id));
            CHECK(!b.row_kinds[i]);
        }
        total += b.nrows;
        /* once ended it stays ended */
        weir_err err;
        CHECK_EQ_INT(weir_connect_datagen.source->read(r, &b, 10, 0, &err), WEIR_SQL_END);
    }
    CHECK_EQ_INT(total, 1000);
    for (int id = 1; id <= 1000; id++) CHECK_EQ_INT(seen[id], 1);
    dg_close(&run, &a, &b);
}

/* Several splits on one reader (fewer workers than splits): still each value once. */
TEST(datagen_sequence_reader_with_two_splits) {
    weir_arena a;
    dg_run run;
    weir_sql_batch b;
    weir_sql_table *t = dg_open(&run, &a, &b, SEQ_DDL, NULL, 3);
    if (!t) return;
    int s02[] = {0, 2}, s1[] = {1};
    void *r1 = dg_reader(&run, s02, 2), *r2 = dg_reader(&run, s1, 1);
    CHECK_EQ_INT(dg_drain(r1, &b, 100), WEIR_SQL_END);
    CHECK_EQ_INT(b.nrows, 667);
    CHECK_EQ_INT(dg_drain(r2, &b, 100), WEIR_SQL_END);
    CHECK_EQ_INT(b.nrows, 1000);
    int seen[1001] = {0};
    for (int i = 0; i < b.nrows; i++) {
        int64_t id = weir_sql_batch_get_i64(&b, 0, i);
        if (id >= 1 && id <= 1000) seen[id]++;
    }
    for (int id = 1; id <= 1000; id++) CHECK_EQ_INT(seen[id], 1);
    dg_close(&run, &a, &b);
}

/* number-of-rows bounds a random source, shared over the splits; it also cuts a sequence. */
TEST(datagen_number_of_rows) {
    weir_arena a;
    dg_run run;
    weir_sql_batch b;
    weir_sql_table *t = dg_open(
        &run, &a, &b,
        "CREATE TABLE g (v INT, id BIGINT) WITH ('connector' = 'datagen', "
        "'number-of-rows' = '1001', 'rows-per-second' = '100000000', "
        "'fields.id.kind' = 'sequence', 'fields.id.start' = '0', 'fields.id.end' = '1000000')",
        NULL, 2);
    if (!t) return;
    CHECK_EQ_INT(dg_read_split(&run, 0, &b, 100), WEIR_SQL_END);
    CHECK_EQ_INT(b.nrows, 501);
    CHECK_EQ_INT(dg_read_split(&run, 1, &b, 100), WEIR_SQL_END);
    CHECK_EQ_INT(b.nrows, 1001);
    /* split 0 produced 0, 2, ..., 1000; split 1 produced 1, 3, ..., 999 */
    CHECK_EQ_INT(weir_sql_batch_get_i64(&b, 1, 500), 1000);
    CHECK_EQ_INT(weir_sql_batch_get_i64(&b, 1, 1000), 999);
    weir_sql_batch_free(&b);
    dg_stop(&run);

    /* 'number-of-rows' = '0': nothing at all */
    weir_sql_table *z = table_of(&a, "CREATE TABLE z (v INT) WITH ('connector' = 'datagen', 'number-of-rows' = '0')");
    CHECK(dg_start(&run, z, NULL, 1) == WEIR_OK);
    batch_of(&b, z);
    CHECK_EQ_INT(dg_read_split(&run, 0, &b, 3), WEIR_SQL_END);
    CHECK_EQ_INT(b.nrows, 0);
    dg_close(&run, &a, &b);
}

static bool is_hex(weir_str s) {
    for (int i = 0; i < s.len; i++)
        if (!((s.ptr[i] >= '0' && s.ptr[i] <= '9') || (s.ptr[i] >= 'a' && s.ptr[i] <= 'f'))) return false;
    return true;
}

/* Random values stay in their bounds, for every scalar type. */
TEST(datagen_random_bounds) {
    weir_arena a;
    dg_run run;
    weir_sql_batch b;
    weir_sql_table *t = dg_open(
        &run, &a, &b,
        "CREATE TABLE g (i INT, d DOUBLE, m DECIMAL(5, 2), s STRING, v VARCHAR(20), c CHAR(4), bin BYTES, "
        "ok BOOLEAN, ts TIMESTAMP(3), lt TIMESTAMP_LTZ(3), dt DATE, tm TIME, ti TINYINT, big BIGINT, f FLOAT, "
        "wide DECIMAL(30, 4), plus AS i + 1) "
        "WITH ('connector' = 'datagen', 'number-of-rows' = '5000', 'rows-per-second' = '100000000', "
        "'fields.i.min' = '-5', 'fields.i.max' = '5', 'fields.d.min' = '1.5', 'fields.d.max' = '2.5', "
        "'fields.m.min' = '-1.25', 'fields.m.max' = '3.5', 'fields.s.length' = '7', "
        "'fields.v.var-len' = 'true', 'fields.bin.length' = '3', 'fields.ts.max-past' = '10 s', "
        "'fields.lt.max-past' = '1 min', 'fields.ti.min' = '100', 'fields.f.min' = '-1', 'fields.f.max' = '1', "
        "'fields.wide.min' = '-99999999999999999999.5', 'fields.wide.max' = '99999999999999999999.5')",
        NULL, 2);
    if (!t) return;
    int64_t before = weir_now_ms();
    CHECK_EQ_INT(dg_read_split(&run, 0, &b, 100), WEIR_SQL_END);
    CHECK_EQ_INT(dg_read_split(&run, 1, &b, 100), WEIR_SQL_END);
    int64_t after = weir_now_ms();
    CHECK_EQ_INT(b.nrows, 5000);
    int trues = 0, vlens[21] = {0}, imin = 100, imax = -100;
    for (int r = 0; r < b.nrows; r++) {
        for (int c = 0; c < 16; c++) CHECK(!weir_sql_batch_is_null(&b, c, r));
        CHECK(weir_sql_batch_is_null(&b, 16, r)); /* computed: the engine's job */
        int64_t i = weir_sql_batch_get_i64(&b, 0, r);
        CHECK(i >= -5 && i <= 5);
        imin = i < imin ? (int)i : imin;
        imax = i > imax ? (int)i : imax;
        double d = weir_sql_batch_get_f64(&b, 1, r);
        CHECK(d >= 1.5 && d <= 2.5);
        int64_t m = weir_sql_batch_get_i64(&b, 2, r);
        CHECK(m >= -125 && m <= 350);
        weir_str s = weir_sql_batch_get_str(&b, 3, r);
        CHECK(s.len == 7 && is_hex(s));
        weir_str v = weir_sql_batch_get_str(&b, 4, r);
        CHECK(v.len >= 1 && v.len <= 20 && is_hex(v));
        if (v.len >= 1 && v.len <= 20) vlens[v.len]++;
        CHECK_EQ_INT(weir_sql_batch_get_str(&b, 5, r).len, 4);
        CHECK_EQ_INT(weir_sql_batch_get_str(&b, 6, r).len, 3);
        trues += weir_sql_batch_get_i64(&b, 7, r) != 0;
        int64_t ts = weir_sql_batch_get_i64(&b, 8, r);
        CHECK(ts % 1000 == 0 && ts >= (before - 10000) * 1000 && ts <= after * 1000);
        int64_t lt = weir_sql_batch_get_i64(&b, 9, r);
        CHECK(lt >= (before - 60000) * 1000 && lt <= after * 1000);
        int64_t day = weir_sql_batch_get_i64(&b, 10, r);
        CHECK(llabs(day - before / 86400000) <= 1); /* today, in the local time zone */
        int64_t tm = weir_sql_batch_get_i64(&b, 11, r);
        CHECK(tm >= 0 && tm < 86400000 && tm % 1000 == 0); /* TIME(0) */
        CHECK(weir_sql_batch_get_i64(&b, 12, r) >= 100);
        double f = weir_sql_batch_get_f64(&b, 14, r);
        CHECK(f >= -1 && f <= 1);
        __int128 w = weir_sql_batch_get_i128(&b, 15, r);
        __int128 lim = (__int128)1000000000000000000LL * 1000000 - 5000; /* 99999999999999999999.5 at scale 4 */
        CHECK(w >= -lim && w <= lim);
    }
    CHECK(imin == -5 && imax == 5);      /* both ends are reachable */
    CHECK(trues > 2000 && trues < 3000); /* BOOLEAN: both values, about half each */
    CHECK(vlens[1] > 0 && vlens[20] > 0); /* var-len: lengths 1..20 */
    dg_close(&run, &a, &b);
}

/* null-rate makes about that share NULL; columns the query does not need stay NULL. */
TEST(datagen_null_rate_and_needed) {
    bool needed[3] = {true, true, false};
    weir_arena a;
    dg_run run;
    weir_sql_batch b;
    weir_sql_table *t = dg_open(&run, &a, &b, "CREATE TABLE g (a INT, b STRING, c BIGINT) WITH ('connector' = 'datagen', "
                                          "'number-of-rows' = '10000', 'rows-per-second' = '100000000', "
                                          "'fields.a.null-rate' = '0.3', 'fields.b.null-rate' = '1')", needed, 1);
    if (!t) return;
    CHECK_EQ_INT(dg_read_split(&run, 0, &b, 100), WEIR_SQL_END);
    CHECK_EQ_INT(b.nrows, 10000);
    int nulls = 0, bnulls = 0, cnulls = 0;
    for (int r = 0; r < b.nrows; r++) {
        nulls += weir_sql_batch_is_null(&b, 0, r);
        bnulls += weir_sql_batch_is_null(&b, 1, r);
        cnulls += weir_sql_batch_is_null(&b, 2, r);
    }
    CHECK(nulls > 2500 && nulls < 3500);
    CHECK_EQ_INT(bnulls, 10000);
    CHECK_EQ_INT(cnulls, 10000);
    dg_close(&run, &a, &b);
}

/* rows-per-second: a reader gives its share of the rate. Reads wait for the limiter (up
 * to their timeout); over about half a second the rows follow rate * elapsed plus the
 * initial burst (a tenth of a second's worth), within generous bounds. */
TEST(datagen_rate_limit) {
    weir_arena a;
    dg_run run;
    weir_sql_batch b;
    weir_sql_table *t = dg_open(
        &run, &a, &b,
        "CREATE TABLE g (a INT) WITH ('connector' = 'datagen', 'rows-per-second' = '4000')",
        NULL, 2);
    if (!t) return;
    int s0 = 0;
    void *r = dg_reader(&run, &s0, 1); /* one of two splits: 2000 rows/s */
    weir_err err;
    int64_t t0 = weir_mono_us(), elapsed = 0;
    long rows = 0;
    while ((elapsed = weir_mono_us() - t0) < 500000) {
        weir_sql_batch_clear(&b);
        int n = weir_connect_datagen.source->read(r, &b, 4096, 50, &err);
        CHECK(n >= 0);
        if (n < 0) break;
        rows += n;
    }
    double want = 2000.0 * (double)elapsed / 1e6 + 200;
    if (!(rows > want * 0.6 && rows < want * 1.25))
        fprintf(stderr, "    rate: %ld rows in %lld us, expected about %.0f\n", rows, (long long)elapsed, want);
    CHECK(rows > want * 0.6 && rows < want * 1.25);
    weir_sql_batch_free(&b);
    dg_stop(&run);

    /* one row a second: the first read gets the one token; the next returns no row once
     * its timeout has passed, without waiting for the next token */
    t = table_of(&a, "CREATE TABLE slow (a INT) WITH ('connector' = 'datagen', 'rows-per-second' = '1')");
    CHECK(dg_start(&run, t, NULL, 1) == WEIR_OK);
    r = dg_reader(&run, &s0, 1);
    batch_of(&b, t);
    CHECK_EQ_INT(weir_connect_datagen.source->read(r, &b, 4096, 0, &err), 1);
    int64_t before = weir_mono_us();
    CHECK_EQ_INT(weir_connect_datagen.source->read(r, &b, 4096, 0, &err), 0);
    CHECK_EQ_INT(weir_connect_datagen.source->read(r, &b, 4096, 30, &err), 0);
    int64_t waited = weir_mono_us() - before;
    CHECK(waited >= 30000 && waited < 600000);
    CHECK_EQ_INT(b.nrows, 1);
    dg_close(&run, &a, &b);
}

/* ARRAY, MAP and ROW columns: random elements; 'length' sizes the collection. */
TEST(datagen_nested) {
    weir_arena a;
    dg_run run;
    weir_sql_batch b;
    weir_sql_table *t = dg_open(&run, &a, &b, "CREATE TABLE g (arr ARRAY<INT>, m MAP<STRING, BIGINT>, r ROW<x SMALLINT, "
                                          "y VARCHAR(3), z ARRAY<BOOLEAN>>) WITH ('connector' = 'datagen', "
                                          "'number-of-rows' = '50', 'fields.arr.length' = '4')", NULL, 1);
    if (!t) return;
    CHECK_EQ_INT(dg_read_split(&run, 0, &b, 100), WEIR_SQL_END);
    CHECK_EQ_INT(b.nrows, 50);
    const weir_sql_ltype *arr = &t->columns[0].type, *map = &t->columns[1].type, *row = &t->columns[2].type;
    for (int i = 0; i < b.nrows; i++) {
        weir_sql_nested_reader rd;
        weir_sql_nested_value v;
        uint32_t n = 0;
        weir_sql_nested_reader_init(&rd, weir_sql_batch_get_str(&b, 0, i));
        CHECK(weir_sql_nested_get_count(&rd, &n) && n == 4);
        for (uint32_t k = 0; k < n; k++) CHECK(weir_sql_nested_get(&rd, arr->elem, &v) && !v.is_null);
        CHECK(rd.p == rd.end);
        weir_sql_nested_reader_init(&rd, weir_sql_batch_get_str(&b, 1, i));
        CHECK(weir_sql_nested_get_count(&rd, &n) && n == 3); /* Flink's default size */
        for (uint32_t k = 0; k < n; k++) {
            CHECK(weir_sql_nested_get(&rd, map->elem, &v) && v.s.len == 100);
            CHECK(weir_sql_nested_get(&rd, map->value, &v) && !v.is_null);
        }
        CHECK(rd.p == rd.end);
        weir_sql_nested_reader_init(&rd, weir_sql_batch_get_str(&b, 2, i));
        CHECK(weir_sql_nested_get(&rd, row->fields[0].type, &v) && v.i >= -32768 && v.i <= 32767);
        CHECK(weir_sql_nested_get(&rd, row->fields[1].type, &v) && v.s.len == 3);
        CHECK(weir_sql_nested_get(&rd, row->fields[2].type, &v) && !v.is_null);
        weir_sql_nested_reader inner;
        weir_sql_nested_reader_init(&inner, v.s);
        CHECK(weir_sql_nested_get_count(&inner, &n) && n == 3);
        CHECK(rd.p == rd.end);
    }
    dg_close(&run, &a, &b);
}

#define DG "CREATE TABLE gen (id BIGINT, name STRING, ok BOOLEAN, v VARCHAR(5), n INT NOT NULL) WITH ('connector' = 'datagen'"

TEST(datagen_validate_errors) {
    const weir_sql_connector *c = &weir_connect_datagen;
    CHECK_EQ_STR(validate_msg(c, DG ", 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '9')", true), "");
    CHECK_EQ_STR(validate_msg(c, DG ", 'rows-per-secnd' = '5')", true),
                 "table 'gen': unsupported option 'rows-per-secnd' for connector 'datagen'; did you mean 'rows-per-second'?");
    CHECK_EQ_STR(validate_msg(c, DG ", 'fields.nme.length' = '5')", true),
                 "table 'gen': option 'fields.nme.length' names no column 'nme'; did you mean 'name'?");
    CHECK_EQ_STR(validate_msg(c, DG ", 'fields.name.lenght' = '5')", true),
                 "table 'gen': unsupported option 'fields.name.lenght' for connector 'datagen'; did you mean "
                 "'fields.name.length'?");
    CHECK_EQ_STR(validate_msg(c, DG ", 'fields.id.kind' = 'seq')", true),
                 "table 'gen': option 'fields.id.kind' = 'seq' is not one of random, sequence");
    CHECK_EQ_STR(validate_msg(c, DG ", 'fields.id.kind' = 'sequence', 'fields.id.start' = '1')", true),
                 "table 'gen': option 'fields.id.kind' = 'sequence' needs 'fields.id.end'");
    CHECK_EQ_STR(validate_msg(c, DG ", 'fields.id.kind' = 'sequence', 'fields.id.start' = '9', 'fields.id.end' = '1')", true),
                 "table 'gen': option 'fields.id.start' = '9' is after 'fields.id.end' = '1'");
    CHECK_EQ_STR(validate_msg(c, DG ", 'fields.id.min' = '10', 'fields.id.max' = '1')", true),
                 "table 'gen': option 'fields.id.min' = '10' is above 'fields.id.max' = '1'");
    CHECK_EQ_STR(validate_msg(c, DG ", 'fields.n.min' = '3000000000')", true),
                 "table 'gen': option 'fields.n.min' = '3000000000' is out of range [-2147483648, 2147483647]");
    CHECK_EQ_STR(validate_msg(c, DG ", 'fields.n.max' = 'ten')", true),
                 "table 'gen': option 'fields.n.max' = 'ten' is not an integer");
    CHECK_EQ_STR(validate_msg(c, DG ", 'fields.v.length' = '6')", true),
                 "table 'gen': option 'fields.v.length' = '6' is longer than column 'v' (VARCHAR(5))");
    CHECK_EQ_STR(validate_msg(c, DG ", 'fields.ok.min' = '0')", true),
                 "table 'gen': option 'fields.ok.min' does not apply to column 'ok' (BOOLEAN, kind random)");
    CHECK_EQ_STR(validate_msg(c, DG ", 'fields.id.start' = '0')", true),
                 "table 'gen': option 'fields.id.start' does not apply to column 'id' (BIGINT, kind random)");
    CHECK_EQ_STR(validate_msg(c, DG ", 'fields.ok.kind' = 'sequence', 'fields.ok.start' = '0', 'fields.ok.end' = '1')", true),
                 "table 'gen': option 'fields.ok.kind' = 'sequence' is not supported for column 'ok' of type BOOLEAN "
                 "(sequences are numbers or strings; use 'random')");
    CHECK_EQ_STR(validate_msg(c, DG ", 'fields.name.null-rate' = '1.5')", true),
                 "table 'gen': option 'fields.name.null-rate' = '1.5' is not between 0 and 1");
    CHECK_EQ_STR(validate_msg(c, DG ", 'fields.name.null-rate' = 'half')", true),
                 "table 'gen': option 'fields.name.null-rate' = 'half' is not a number");
    CHECK_EQ_STR(validate_msg(c, DG ", 'fields.n.null-rate' = '0.1')", true),
                 "table 'gen': option 'fields.n.null-rate' = '0.1' on column 'n', which is NOT NULL");
    CHECK_EQ_STR(validate_msg(c, DG ", 'fields.ok.var-len' = 'true')", true),
                 "table 'gen': option 'fields.ok.var-len' does not apply to column 'ok' (BOOLEAN, kind random)");
    CHECK_EQ_STR(validate_msg(c, DG ", 'rows-per-second' = '0')", true),
                 "table 'gen': option 'rows-per-second' = '0' is out of range [1, 9223372036854775807]");
    CHECK_EQ_STR(validate_msg(c, DG ", 'number-of-rows' = '-1')", true),
                 "table 'gen': option 'number-of-rows' = '-1' is out of range [0, 9223372036854775807]");
    CHECK_EQ_STR(validate_msg(c, DG ", 'fields.id' = '1')", true),
                 "table 'gen': unsupported option 'fields.id' for connector 'datagen' (expected 'fields.<column>.<key>')");
    CHECK_EQ_STR(validate_msg(c, "CREATE TABLE gen (id BIGINT, m DECIMAL(4, 1)) WITH ('connector' = 'datagen', "
                                 "'fields.m.max' = '1000.5')", true),
                 "table 'gen': option 'fields.m.max' = '1000.5' is not a DECIMAL(4, 1)");
    CHECK_EQ_STR(validate_msg(c, "CREATE TABLE gen (id TINYINT) WITH ('connector' = 'datagen', 'fields.id.kind' = "
                                 "'sequence', 'fields.id.start' = '0', 'fields.id.end' = '300')", true),
                 "table 'gen': option 'fields.id.end' = '300' is out of range [-128, 127]");
    CHECK_EQ_STR(validate_msg(c, "CREATE TABLE gen (id BIGINT, p INT METADATA FROM 'partition') WITH ('connector' = "
                                 "'datagen')", true),
                 "table 'gen': column 'p' is a METADATA column, but connector 'datagen' has no metadata");
    CHECK_EQ_STR(validate_msg(c, DG ")", false), "table 'gen': connector 'datagen' can only be read, not written to");
    CHECK_EQ_STR(validate_msg(c, "CREATE TABLE gen (id BIGINT, twice AS id * 2) WITH ('connector' = 'datagen', "
                                 "'fields.twice.min' = '1')", true),
                 "table 'gen': option 'fields.twice.min': column 'twice' is computed; datagen generates only physical "
                 "columns");
}

/* ---- print ------------------------------------------------------------------------------------ */

static char *run_script(int parallelism, const char *sql, weir_err *err, int *rc) {
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    weir_sql_session_opts o = {.out = out, .parallelism = parallelism};
    weir_sql_session *s = NULL;
    *rc = weir_sql_session_new(&o, &s, err);
    if (*rc == WEIR_OK) *rc = weir_sql_session_execute(s, sql, strlen(sql), err);
    if (*rc == WEIR_OK) *rc = weir_sql_session_wait(s, err);
    if (*rc != WEIR_OK) fprintf(stderr, "    session: %s\n", err->msg);
    weir_sql_session_free(s);
    fclose(out);
    return text;
}

/* One worker: no prefix; values as Flink's Row.toString shows them. */
TEST(print_lines_exact) {
    weir_err err;
    int rc;
    char *text = run_script(
        1,
        "CREATE TABLE p (id INT, name STRING, amount DECIMAL(10, 2), ok BOOLEAN, note STRING, ts TIMESTAMP(3), "
        "d DATE, lt TIMESTAMP_LTZ(3), tm TIME, b BYTES, x DOUBLE, plus AS id + 1) WITH ('connector' = 'print');\n"
        "INSERT INTO p VALUES (1, 'Alice', 12.5, TRUE, NULL, TIMESTAMP '2024-01-31 12:00:00', DATE '2024-02-29', "
        "CAST(TIMESTAMP '2024-01-31 12:00:05.120' AS TIMESTAMP_LTZ(3)), TIME '09:05:00', X'01FF', 1.5E10), "
        "(2, 'Bob', 0.25, FALSE, 'n', TIMESTAMP '2024-01-31 12:00:01.5', DATE '1999-12-31', NULL, TIME '00:00:07', "
        "X'', 0.1);\n",
        &err, &rc);
    CHECK_EQ_INT(rc, WEIR_OK);
    CHECK_EQ_STR(text, "+I[1, Alice, 12.50, true, null, 2024-01-31T12:00, 2024-02-29, 2024-01-31T12:00:05.120Z, "
                       "09:05, [1, -1], 1.5E10]\n"
                       "+I[2, Bob, 0.25, false, n, 2024-01-31T12:00:01.500, 1999-12-31, null, 00:00:07, [], 0.1]\n");
    free(text);
}

/* Several workers: "<identifier>:<worker+1>> ", or "<worker+1>> " without an identifier;
 * one worker with an identifier: "<identifier>> ". */
TEST(print_prefixes) {
    weir_err err;
    int rc;
    char *text = run_script(
        2,
        "CREATE TABLE g (id BIGINT) WITH ('connector' = 'datagen', 'fields.id.kind' = 'sequence', "
        "'fields.id.start' = '1', 'fields.id.end' = '6', 'rows-per-second' = '1000000');\n"
        "CREATE TABLE p (id BIGINT) WITH ('connector' = 'print', 'print-identifier' = 'out');\n"
        "CREATE TABLE q (id BIGINT) WITH ('connector' = 'print');\n"
        "EXECUTE STATEMENT SET BEGIN INSERT INTO p SELECT id FROM g; INSERT INTO q SELECT id * 10 FROM g; END;\n",
        &err, &rc);
    CHECK_EQ_INT(rc, WEIR_OK);
    /* split 0 (ids 1, 3, 5) runs on worker 0, split 1 (2, 4, 6) on worker 1 */
    for (int id = 1; id <= 6; id++) {
        char line[64];
        snprintf(line, sizeof line, "out:%d> +I[%d]\n", (id - 1) % 2 + 1, id);
        CHECK(strstr(text, line) != NULL);
        snprintf(line, sizeof line, "\n%d> +I[%d]\n", (id - 1) % 2 + 1, id * 10);
        CHECK(strstr(text, line) != NULL || !strncmp(text, line + 1, strlen(line + 1)));
    }
    int lines = 0;
    for (char *p = text; *p; p++) lines += *p == '\n';
    CHECK_EQ_INT(lines, 12);
    free(text);
    text = run_script(1, "CREATE TABLE p (id INT) WITH ('connector' = 'print', 'print-identifier' = 'dbg');\n"
                         "INSERT INTO p VALUES (7);\n", &err, &rc);
    CHECK_EQ_STR(text, "dbg> +I[7]\n");
    free(text);
}

TEST(print_and_blackhole_validate) {
    const weir_sql_connector *p = &weir_connect_print, *bh = &weir_connect_blackhole;
    CHECK_EQ_STR(validate_msg(p, "CREATE TABLE p (a INT) WITH ('connector' = 'print', 'print-identifier' = 'x', "
                                 "'standard-error' = 'TRUE')", false), "");
    CHECK_EQ_STR(validate_msg(p, "CREATE TABLE p (a INT) WITH ('connector' = 'print', 'print-identifer' = 'x')", false),
                 "table 'p': unsupported option 'print-identifer' for connector 'print'; did you mean 'print-identifier'?");
    CHECK_EQ_STR(validate_msg(p, "CREATE TABLE p (a INT) WITH ('connector' = 'print', 'standard-error' = 'yes')", false),
                 "table 'p': option 'standard-error' = 'yes' is not a boolean (true or false)");
    CHECK_EQ_STR(validate_msg(p, "CREATE TABLE p (a INT) WITH ('connector' = 'print')", true),
                 "table 'p': connector 'print' can only be written to, not read");
    CHECK_EQ_STR(validate_msg(p, "CREATE TABLE p (a INT, o BIGINT METADATA FROM 'offset') WITH ('connector' = 'print')",
                              false),
                 "table 'p': column 'o' is a METADATA column, but connector 'print' has no metadata");
    CHECK_EQ_STR(validate_msg(bh, "CREATE TABLE b (a INT) WITH ('connector' = 'blackhole')", false), "");
    CHECK_EQ_STR(validate_msg(bh, "CREATE TABLE b (a INT) WITH ('connector' = 'blackhole', 'path' = '/x')", false),
                 "table 'b': unsupported option 'path' for connector 'blackhole'");
    CHECK_EQ_STR(validate_msg(bh, "CREATE TABLE b (a INT) WITH ('connector' = 'blackhole')", true),
                 "table 'b': connector 'blackhole' can only be written to, not read");
    /* what EXPLAIN shows */
    weir_arena a;
    weir_arena_init(&a, 0);
    weir_buf d;
    weir_buf_init(&d);
    p->describe(table_of(&a, "CREATE TABLE p (a INT) WITH ('connector' = 'print', 'print-identifier' = 'x')"), &d);
    weir_buf_append(&d, "", 1);
    CHECK_EQ_STR((char *)d.data, "print-identifier=[x]");
    d.len = 0;
    weir_connect_datagen.describe(table_of(&a, "CREATE TABLE g (a INT) WITH ('connector' = 'datagen', "
                                               "'number-of-rows' = '5')"), &d);
    weir_buf_append(&d, "", 1);
    CHECK_EQ_STR((char *)d.data, "rows-per-second=[10000], number-of-rows=[5]");
    weir_buf_free(&d);
    weir_arena_free(&a);
}

/* datagen -> projection + filter -> blackhole through the engine: every row read, the
 * filtered half written (the engine counts both). */
TEST(datagen_to_blackhole_job) {
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    weir_sql_session_opts o = {.out = out, .parallelism = 2};
    weir_sql_session *s = NULL;
    weir_err err;
    CHECK(weir_sql_session_new(&o, &s, &err) == WEIR_OK);
    const char *sql = "CREATE TABLE gen (id BIGINT, k INT, price DOUBLE, name STRING) WITH ('connector' = 'datagen', "
                      "'rows-per-second' = '1000000000', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', "
                      "'fields.id.end' = '200000', 'fields.k.min' = '0', 'fields.k.max' = '99', "
                      "'fields.name.length' = '10');\n"
                      "CREATE TABLE sink (id BIGINT, k2 INT, p DOUBLE, name STRING) WITH ('connector' = 'blackhole');\n"
                      "INSERT INTO sink SELECT id, k * 2, price * 1.1, name FROM gen WHERE k < 50;\n";
    CHECK(weir_sql_session_execute(s, sql, strlen(sql), &err) == WEIR_OK);
    CHECK(weir_sql_session_wait(s, &err) == WEIR_OK);
    weir_sql_job_stats st;
    weir_sql_session_stats(s, &st);
    CHECK_EQ_INT(st.rows_in, 200000);
    CHECK(st.rows_out > 90000 && st.rows_out < 110000);
    weir_sql_session_free(s);
    fclose(out);
    free(text);
}

/* ---- filesystem ------------------------------------------------------------------------------ */

static char tmp_root[256];

static const char *new_dir(const char *name) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmp_root, name);
    return path;
}

/* The directory's entries, sorted: hidden ones (in progress) counted apart. */
typedef struct dir_list {
    char names[64][256];
    int n;
    int hidden;
} dir_list;

static int cmp_part(const void *a, const void *b) {
    /* part-<uuid>-<worker>-<n>: by the number after the last '-' */
    const char *x = strrchr((const char *)a, '-'), *y = strrchr((const char *)b, '-');
    return atoi(x + 1) - atoi(y + 1);
}

static void list_dir(const char *dir, dir_list *l) {
    memset(l, 0, sizeof *l);
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (e->d_name[0] == '.') {
            CHECK(strstr(e->d_name, ".inprogress.") != NULL);
            l->hidden++;
            continue;
        }
        if (l->n < 64) snprintf(l->names[l->n++], sizeof l->names[0], "%s", e->d_name);
    }
    closedir(d);
    qsort(l->names, (size_t)l->n, sizeof l->names[0], cmp_part);
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    *len = fread(p, 1, (size_t)n, f);
    p[*len] = 0;
    fclose(f);
    return p;
}

typedef struct fs_run {
    void *sink, *writer;
} fs_run;

static int fs_start(fs_run *run, const weir_sql_table *t) {
    weir_sql_conn_ctx ctx = {.table = t, .needed = NULL, .nworkers = 1, .job = NULL};
    weir_err err;
    if (weir_connect_filesystem.sink->open(&ctx, &run->sink, &err) != WEIR_OK ||
        weir_connect_filesystem.sink->open_writer(run->sink, 0, &run->writer, &err) != WEIR_OK) {
        fprintf(stderr, "    open: %s\n", err.msg);
        return WEIR_ERROR;
    }
    return WEIR_OK;
}

static void fs_end(fs_run *run, bool flush) {
    weir_err err;
    if (flush) CHECK(weir_connect_filesystem.sink->flush(run->writer, &err) == WEIR_OK);
    weir_connect_filesystem.sink->close_writer(run->writer);
    CHECK(weir_connect_filesystem.sink->close(run->sink, &err) == WEIR_OK);
}

/* Rows id = first .. first + n - 1, name "name-<id>" (NULL every 7th), amount id.25. */
static void fill_rows(weir_sql_batch *b, int first, int n) {
    weir_sql_batch_clear(b);
    for (int i = 0; i < n; i++) {
        int r = weir_sql_batch_add_row(b), id = first + i;
        weir_sql_batch_set_i64(b, 0, r, id);
        char name[32];
        snprintf(name, sizeof name, "name-%d, \"q\"", id);
        if (id % 7) weir_sql_batch_set_str(b, 1, r, name, strlen(name));
        weir_sql_batch_set_i64(b, 2, r, (int64_t)id * 100 + 25);
    }
}

/* Decodes every line of the final files (in part order) and checks they are the rows
 * first.. in order; returns how many there were. */
static int check_contents(const char *dir, const dir_list *l, const weir_sql_table *t, const char *format, int first) {
    int cols[3] = {0, 1, 2};
    weir_format_spec spec = {.name = format, .table = t, .prefix = "", .cols = cols, .ncols = 3, .needed = NULL};
    weir_format *f = NULL;
    weir_err err;
    CHECK(weir_format_open(&spec, &f, &err) == WEIR_OK);
    if (!f) return 0;
    weir_sql_batch b;
    batch_of(&b, t);
    int want = first;
    for (int k = 0; k < l->n; k++) {
        char path[800];
        snprintf(path, sizeof path, "%s/%s", dir, l->names[k]);
        size_t len;
        char *text = read_file(path, &len);
        CHECK(text && len > 0 && text[len - 1] == '\n'); /* whole records only */
        for (char *line = text; line && *line;) {
            char *nl = strchr(line, '\n');
            weir_sql_batch_clear(&b);
            int r = weir_sql_batch_add_row(&b);
            if (weir_format_decode(f, line, (size_t)(nl - line), &b, r, &err) != WEIR_OK) {
                fprintf(stderr, "    decode: %s\n", err.msg);
                CHECK(0);
                break;
            }
            CHECK_EQ_INT(weir_sql_batch_get_i64(&b, 0, r), want);
            char name[32];
            snprintf(name, sizeof name, "name-%d, \"q\"", want);
            weir_str s = weir_sql_batch_get_str(&b, 1, r);
            if (want % 7) CHECK(!weir_sql_batch_is_null(&b, 1, r) && s.len == (int32_t)strlen(name) && !memcmp(s.ptr, name, strlen(name)));
            else CHECK(weir_sql_batch_is_null(&b, 1, r));
            CHECK_EQ_INT(weir_sql_batch_get_i64(&b, 2, r), (int64_t)want * 100 + 25);
            want++;
            line = nl + 1;
        }
        free(text);
    }
    weir_sql_batch_free(&b);
    weir_format_free(f);
    return want - first;
}

/* Rolling by size: several final files, each just past the size; rolled files get their
 * final names only at the flush (checkpoint) after they roll; nothing in progress is left
 * after close, and the files decode back to the rows in order. */
static void fs_rolling(const char *format) {
    weir_arena a;
    weir_arena_init(&a, 0);
    const char *dir = new_dir(format);
    char ddl[1024];
    snprintf(ddl, sizeof ddl,
             "CREATE TABLE out (id BIGINT, name STRING, amount DECIMAL(10, 2), c AS id * 2) WITH ("
             "'connector' = 'filesystem', 'path' = 'file://%s', 'format' = '%s', "
             "'sink.rolling-policy.file-size' = '1kb')", dir, format);
    weir_sql_table *t = table_of(&a, ddl);
    CHECK(t != NULL);
    if (!t) return;
    fs_run run;
    CHECK(fs_start(&run, t) == WEIR_OK);
    weir_sql_batch b;
    batch_of(&b, t);
    weir_err err;
    fill_rows(&b, 1, 150);
    CHECK(weir_connect_filesystem.sink->write(run.writer, &b, &err) == WEIR_OK);
    dir_list l;
    list_dir(dir, &l);
    CHECK_EQ_INT(l.n, 0);         /* rolled files wait for the checkpoint */
    CHECK(l.hidden >= 3);
    CHECK(weir_connect_filesystem.sink->flush(run.writer, &err) == WEIR_OK);
    list_dir(dir, &l);
    CHECK(l.n >= 2);
    CHECK_EQ_INT(l.hidden, 1);    /* the file in progress stays open over the checkpoint */
    int after_flush = l.n;
    fill_rows(&b, 151, 150);
    CHECK(weir_connect_filesystem.sink->write(run.writer, &b, &err) == WEIR_OK);
    fs_end(&run, true);
    list_dir(dir, &l);
    CHECK_EQ_INT(l.hidden, 0);
    CHECK(l.n > after_flush);
    for (int k = 0; k < l.n; k++) {
        char path[800];
        snprintf(path, sizeof path, "%s/%s", dir, l.names[k]);
        CHECK(!strncmp(l.names[k], "part-", 5));
        CHECK_EQ_INT(strlen(l.names[k]), strlen("part-") + 36 + strlen("-0-") + (k >= 10 ? 2 : 1));
        struct stat st;
        CHECK(stat(path, &st) == 0);
        if (k < l.n - 1) CHECK(st.st_size > 1024 && st.st_size < 1024 + 200); /* rolled just past 1kb */
    }
    CHECK_EQ_INT(check_contents(dir, &l, t, format, 1), 300);
    weir_sql_batch_free(&b);
    weir_arena_free(&a);
}

TEST(filesystem_rolls_by_size_json) { fs_rolling("json"); }
TEST(filesystem_rolls_by_size_csv) { fs_rolling("csv"); }

/* A writer closed without its last flush (its worker failed) keeps only what the last
 * flush made durable: later rows will be read again by the sources, which did not commit. */
TEST(filesystem_close_without_flush_keeps_the_checkpointed_rows) {
    weir_arena a;
    weir_arena_init(&a, 0);
    const char *dir = new_dir("failed");
    char ddl[1024];
    snprintf(ddl, sizeof ddl, "CREATE TABLE out (id BIGINT, name STRING, amount DECIMAL(10, 2)) WITH ("
                              "'connector' = 'filesystem', 'path' = '%s', 'format' = 'json')", dir);
    weir_sql_table *t = table_of(&a, ddl);
    if (!t) return;
    fs_run run;
    CHECK(fs_start(&run, t) == WEIR_OK);
    weir_sql_batch b;
    batch_of(&b, t);
    weir_err err;
    fill_rows(&b, 1, 40);
    CHECK(weir_connect_filesystem.sink->write(run.writer, &b, &err) == WEIR_OK);
    CHECK(weir_connect_filesystem.sink->flush(run.writer, &err) == WEIR_OK);
    fill_rows(&b, 41, 40);
    CHECK(weir_connect_filesystem.sink->write(run.writer, &b, &err) == WEIR_OK);
    fs_end(&run, false);
    dir_list l;
    list_dir(dir, &l);
    CHECK_EQ_INT(l.hidden, 0);
    CHECK_EQ_INT(l.n, 1);
    CHECK_EQ_INT(check_contents(dir, &l, t, "json", 1), 40);
    weir_sql_batch_free(&b);
    weir_arena_free(&a);
}

/* Rolling by time: with a 1 ms rollover interval checked every 1 ms, a flush after the
 * interval finishes the file in progress. */
TEST(filesystem_rolls_by_time) {
    weir_arena a;
    weir_arena_init(&a, 0);
    const char *dir = new_dir("time");
    char ddl[1024];
    snprintf(ddl, sizeof ddl, "CREATE TABLE out (id BIGINT, name STRING, amount DECIMAL(10, 2)) WITH ("
                              "'connector' = 'filesystem', 'path' = '%s', 'format' = 'csv', "
                              "'sink.rolling-policy.rollover-interval' = '1 ms', "
                              "'sink.rolling-policy.check-interval' = '1ms')", dir);
    weir_sql_table *t = table_of(&a, ddl);
    if (!t) return;
    fs_run run;
    CHECK(fs_start(&run, t) == WEIR_OK);
    weir_sql_batch b;
    batch_of(&b, t);
    weir_err err;
    fill_rows(&b, 1, 10);
    CHECK(weir_connect_filesystem.sink->write(run.writer, &b, &err) == WEIR_OK);
    dir_list l;
    int64_t deadline = weir_mono_ms() + 5000;
    do {
        CHECK(weir_connect_filesystem.sink->flush(run.writer, &err) == WEIR_OK);
        list_dir(dir, &l);
    } while (l.n == 0 && weir_mono_ms() < deadline);
    CHECK_EQ_INT(l.n, 1);
    CHECK_EQ_INT(l.hidden, 0);
    CHECK_EQ_INT(check_contents(dir, &l, t, "csv", 1), 10);
    fs_end(&run, true);
    list_dir(dir, &l);
    CHECK_EQ_INT(l.n, 1); /* nothing written since: no empty file */
    weir_sql_batch_free(&b);
    weir_arena_free(&a);
}

/* Through the engine: INSERT INTO a filesystem table, two workers, the files read back. */
TEST(filesystem_job) {
    const char *dir = new_dir("job");
    char sql[2048];
    snprintf(sql, sizeof sql,
             "CREATE TABLE g (id BIGINT) WITH ('connector' = 'datagen', 'fields.id.kind' = 'sequence', "
             "'fields.id.start' = '1', 'fields.id.end' = '5000', 'rows-per-second' = '100000000');\n"
             "CREATE TABLE out (id BIGINT, name STRING, amount DECIMAL(10, 2)) WITH ('connector' = 'filesystem', "
             "'path' = '%s', 'format' = 'json', 'sink.rolling-policy.file-size' = '16kb');\n"
             "INSERT INTO out SELECT id, CAST(id AS STRING), CAST(id AS DECIMAL(10, 2)) FROM g;\n", dir);
    weir_err err;
    int rc;
    char *text = run_script(2, sql, &err, &rc);
    CHECK_EQ_INT(rc, WEIR_OK);
    free(text);
    dir_list l;
    list_dir(dir, &l);
    CHECK_EQ_INT(l.hidden, 0);
    CHECK(l.n >= 4);
    int workers[2] = {0, 0};
    long lines = 0;
    for (int k = 0; k < l.n; k++) {
        char path[800];
        snprintf(path, sizeof path, "%s/%s", dir, l.names[k]);
        size_t len;
        char *body = read_file(path, &len);
        for (size_t i = 0; body && i < len; i++) lines += body[i] == '\n';
        free(body);
        /* part-<uuid>-<worker>-<n> */
        const char *w = l.names[k] + 5 + 36 + 1;
        if (*w == '0' || *w == '1') workers[*w - '0']++;
    }
    CHECK_EQ_INT(lines, 5000);
    CHECK(workers[0] > 0 && workers[1] > 0);
}

#define FS "CREATE TABLE out (a INT, b STRING) WITH ('connector' = 'filesystem'"

TEST(filesystem_validate_errors) {
    const weir_sql_connector *c = &weir_connect_filesystem;
    CHECK_EQ_STR(validate_msg(c, FS ", 'path' = '/tmp/x', 'format' = 'csv', 'csv.field-delimiter' = ';', "
                                 "'sink.rolling-policy.file-size' = '64 mb', 'sink.rolling-policy.inactivity-interval' = "
                                 "'5 min')", false), "");
    CHECK_EQ_STR(validate_msg(c, FS ", 'path' = '/tmp/x')", false),
                 "table 'out': connector 'filesystem' needs option 'format' ('json' or 'csv')");
    CHECK_EQ_STR(validate_msg(c, FS ", 'format' = 'json')", false),
                 "table 'out': connector 'filesystem' needs option 'path' (a directory)");
    CHECK_EQ_STR(validate_msg(c, FS ", 'path' = '/tmp/x', 'format' = 'jsn')", false),
                 "table 'out': option 'format' = 'jsn' is not a format of the filesystem sink; did you mean 'json'?");
    CHECK_EQ_STR(validate_msg(c, FS ", 'path' = '/tmp/x', 'format' = 'parquet')", false),
                 "table 'out': option 'format' = 'parquet' is not a format of the filesystem sink (json and csv are "
                 "supported)");
    CHECK_EQ_STR(validate_msg(c, FS ", 'path' = 's3://bucket/x', 'format' = 'json')", false),
                 "table 'out': option 'path' = 's3://bucket/x': only local directories (or file:// URIs) are supported");
    CHECK_EQ_STR(validate_msg(c, FS ", 'path' = 'file://host/x', 'format' = 'json')", false),
                 "table 'out': option 'path' = 'file://host/x' names a host; only local paths are supported");
    CHECK_EQ_STR(validate_msg(c, FS ", 'path' = '/tmp/x', 'format' = 'json', 'sink.rolling-policy.file-sze' = '1mb')",
                              false),
                 "table 'out': unsupported option 'sink.rolling-policy.file-sze' for connector 'filesystem'; did you "
                 "mean 'sink.rolling-policy.file-size'?");
    CHECK_EQ_STR(validate_msg(c, FS ", 'path' = '/tmp/x', 'format' = 'json', 'auto-compaction' = 'true')", false),
                 "table 'out': option 'auto-compaction' of connector 'filesystem' is not supported yet");
    CHECK_EQ_STR(validate_msg(c, FS ", 'path' = '/tmp/x', 'format' = 'json', 'sink.partition-commit.delay' = '1 h')",
                              false),
                 "table 'out': option 'sink.partition-commit.delay' of connector 'filesystem' is not supported yet");
    CHECK_EQ_STR(validate_msg(c, FS ", 'path' = '/tmp/x', 'format' = 'json', 'sink.rolling-policy.file-size' = 'big')",
                              false),
                 "table 'out': option 'sink.rolling-policy.file-size' = 'big' is not a memory size (e.g. '128mb', "
                 "'64 kb')");
    CHECK_EQ_STR(validate_msg(c, FS ", 'path' = '/tmp/x', 'format' = 'json', "
                                 "'sink.rolling-policy.rollover-interval' = '0 s')", false),
                 "table 'out': option 'sink.rolling-policy.rollover-interval' = '0 s' must be above zero");
    CHECK_EQ_STR(validate_msg(c, FS ", 'path' = '/tmp/x', 'format' = 'json', 'csv.field-delimiter' = ';')", false),
                 "table 'out': unsupported option 'csv.field-delimiter' for connector 'filesystem'");
    CHECK_EQ_STR(validate_msg(c, FS ", 'path' = '/tmp/x', 'format' = 'json')", true),
                 "table 'out': reading files is not supported yet: connector 'filesystem' can only be written to");
    CHECK_EQ_STR(validate_msg(c, "CREATE TABLE out (a INT, t TIMESTAMP(3) METADATA FROM 'timestamp') WITH ("
                                 "'connector' = 'filesystem', 'path' = '/tmp/x', 'format' = 'json')", false),
                 "table 'out': column 't' is a METADATA column, but connector 'filesystem' has no metadata");
    /* the format's own checks run too */
    CHECK(strstr(validate_msg(c, FS ", 'path' = '/tmp/x', 'format' = 'json', 'json.fail-on-missing-fild' = 'true')",
                              false), "did you mean 'json.fail-on-missing-field'") != NULL);
    /* what EXPLAIN shows */
    weir_arena a;
    weir_arena_init(&a, 0);
    weir_buf d;
    weir_buf_init(&d);
    c->describe(table_of(&a, FS ", 'path' = 'file:///tmp/out', 'format' = 'csv')"), &d);
    weir_buf_append(&d, "", 1);
    CHECK_EQ_STR((char *)d.data, "path=[file:///tmp/out], format=[csv]");
    weir_buf_free(&d);
    weir_arena_free(&a);
    /* opening a sink whose path is a file fails naming it */
    char file[600];
    snprintf(file, sizeof file, "%s/plainfile", tmp_root);
    FILE *f = fopen(file, "w");
    if (f) fclose(f);
    char ddl[1024];
    snprintf(ddl, sizeof ddl, FS ", 'path' = '%s', 'format' = 'json')", file);
    weir_arena_init(&a, 0);
    weir_sql_table *t = table_of(&a, ddl);
    weir_sql_conn_ctx ctx = {.table = t, .nworkers = 1};
    void *sink = NULL;
    weir_err err;
    CHECK(c->sink->open(&ctx, &sink, &err) == WEIR_ERROR);
    char want[1024];
    snprintf(want, sizeof want, "table 'out': cannot write to directory '%s': it is not a directory", file);
    CHECK_EQ_STR(err.msg, want);
    weir_arena_free(&a);
}

static void rm_tree(const char *path) {
    DIR *d = opendir(path);
    if (!d) {
        unlink(path);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char sub[1024];
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        rm_tree(sub);
    }
    closedir(d);
    rmdir(path);
}

/* ---- kafka and upsert-kafka, against an in-process broker ------------------------------- */

/* A Weir broker on this process's own event loop thread (the real server code, as
 * `weir serve` runs it), on a free port with its data under tmp_root. */
typedef struct mini_broker {
    weir_config cfg;
    weir_loop *loop;
    weir_log *log;
    weir_kafka_server *kafka;
    pthread_t tid;
    bool up;
    char bootstrap[64];
} mini_broker;

static mini_broker broker;

static void *broker_thread(void *arg) {
    weir_loop_run(((mini_broker *)arg)->loop);
    return NULL;
}

static bool broker_log_idle(void *arg) { return weir_log_idle(arg); }

/* the log flushes what the loop's turn appended before the loop sleeps (as in serve.c) */
static void broker_before_sleep(void *arg) { weir_log_before_sleep(arg); }

static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) || getsockname(fd, (struct sockaddr *)&a, &len)) return -1;
    close(fd);
    return ntohs(a.sin_port);
}

static const char *broker_start(void) {
    if (broker.up) return broker.bootstrap;
    int port = free_port();
    char listeners[96], dirs[1100];
    snprintf(listeners, sizeof listeners, "WEIR_LISTENERS=PLAINTEXT://127.0.0.1:%d", port);
    snprintf(dirs, sizeof dirs, "WEIR_LOG_DIRS=%s/broker", tmp_root);
    char *envp[] = {listeners, dirs, "WEIR_NUM_PARTITIONS=2", NULL};
    weir_err err;
    weir_log_set_level(WEIR_LOG_WARN);
    if (weir_config_load(&broker.cfg, NULL, envp, &err) != WEIR_OK || weir_loop_new(&broker.loop, &err) != WEIR_OK ||
        weir_log_open(&broker.cfg, broker.loop, &broker.log, &err) != WEIR_OK ||
        weir_kafka_server_start(&broker.cfg, broker.loop, broker.log, &broker.kafka, &err) != WEIR_OK) {
        fprintf(stderr, "    broker: %s\n", err.msg);
        return NULL;
    }
    weir_loop_set_before_sleep(broker.loop, broker_before_sleep, broker.log);
    snprintf(broker.bootstrap, sizeof broker.bootstrap, "127.0.0.1:%d", weir_kafka_server_port(broker.kafka));
    pthread_create(&broker.tid, NULL, broker_thread, &broker);
    broker.up = true;
    return broker.bootstrap;
}

static void broker_stop(void) {
    if (!broker.up) return;
    weir_loop_stop(broker.loop);
    pthread_join(broker.tid, NULL);
    weir_kafka_server_stop(broker.kafka);
    weir_loop_drain(broker.loop, broker_log_idle, broker.log, 30000);
    weir_kafka_server_free(broker.kafka);
    weir_log_close(broker.log);
    weir_loop_free(broker.loop);
    broker.up = false;
}

/* Produces (key, value) records to one partition with librdkafka (NULL value: a
 * tombstone) and waits for them all to be acknowledged. */
static int delivery_failures;

static void produce_delivered(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    (void)opaque;
    if (m->err) {
        fprintf(stderr, "    delivery: %s\n", rd_kafka_err2str(m->err));
        delivery_failures++;
    }
}

static int produce(const char *topic, int partition, const char *const *keys, const char *const *values, int n) {
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_dr_msg_cb(conf, produce_delivered);
    delivery_failures = 0;
    rd_kafka_conf_set(conf, "bootstrap.servers", broker.bootstrap, errstr, sizeof errstr);
    rd_kafka_conf_set(conf, "enable.idempotence", "false", errstr, sizeof errstr);
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) return WEIR_ERROR;
    int rc = WEIR_OK;
    for (int i = 0; i < n && rc == WEIR_OK; i++) {
        const char *k = keys ? keys[i] : NULL, *v = values[i];
        rd_kafka_resp_err_t e = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(k, k ? strlen(k) : 0), RD_KAFKA_V_VALUE((void *)v, v ? strlen(v) : 0), RD_KAFKA_V_END);
        if (e) {
            fprintf(stderr, "    produce: %s\n", rd_kafka_err2str(e));
            rc = WEIR_ERROR;
        }
    }
    if (rd_kafka_flush(rk, 20000)) {
        fprintf(stderr, "    produce: not all delivered in 20 s\n");
        rc = WEIR_ERROR;
    }
    if (delivery_failures) rc = WEIR_ERROR;
    rd_kafka_destroy(rk);
    return rc;
}

/* Reads from r into b until it has at least want rows or the reader ends (deadline 20 s). */
static int read_rows(const weir_sql_connector *c, void *r, weir_sql_batch *b, int want, int max) {
    weir_err err;
    int64_t deadline = weir_mono_ms() + 20000;
    while (b->nrows < want && weir_mono_ms() < deadline) {
        int rc = c->source->read(r, b, max, 100, &err);
        if (rc == WEIR_SQL_END) return WEIR_SQL_END;
        if (rc < 0) {
            fprintf(stderr, "    read: %s\n", err.msg);
            return WEIR_ERROR;
        }
    }
    return b->nrows >= want ? WEIR_OK : WEIR_ERROR;
}

static int64_t pos_offset(const weir_buf *pos) {
    int64_t v = 0;
    for (size_t i = pos->len - 8; i < pos->len; i++) v = v << 8 | pos->data[i];
    return v;
}

/* The table of a DDL whose one %s is the test broker's bootstrap servers. */
static weir_sql_table *broker_table(weir_arena *a, const char *ddl_fmt) {
    char ddl[600];
    snprintf(ddl, sizeof ddl, ddl_fmt, broker.bootstrap);
    return table_of(a, ddl);
}

/* Opens c's source over ctx's table (the tests' topics have two partitions: two splits)
 * and one reader of both splits. */
static void open_source_reader(const weir_sql_connector *c, const weir_sql_conn_ctx *ctx, void **src, void **r) {
    weir_err err;
    int nsplits = 0, splits[2] = {0, 1};
    CHECK(c->source->open(ctx, src, &nsplits, &err) == WEIR_OK);
    CHECK_EQ_INT(nsplits, 2);
    CHECK(c->source->open_reader(*src, 0, splits, 2, r, &err) == WEIR_OK);
}

#define POS_DDL                                                                                                        \
    "CREATE TABLE pt (id BIGINT) WITH ('connector' = 'kafka', 'topic' = 'pos_t', 'format' = 'json', "                  \
    "'properties.bootstrap.servers' = '%s', 'scan.startup.mode' = 'earliest-offset', "                                 \
    "'scan.bounded.mode' = 'latest-offset')"

/* Positions name the offset after the last row read() returned (not what the consumer
 * prefetched): a source reopened and sought there reads exactly the rest, once. */
TEST(kafka_position_and_seek) {
    CHECK(broker_start() != NULL);
    if (!broker.up) return;
    const char *vals0[10], *vals1[10];
    char text[20][32];
    for (int i = 0; i < 10; i++) {
        snprintf(text[i], sizeof text[i], "{\"id\":%d}", i);
        snprintf(text[10 + i], sizeof text[10 + i], "{\"id\":%d}", 100 + i);
        vals0[i] = text[i];
        vals1[i] = text[10 + i];
    }
    CHECK(produce("pos_t", 0, NULL, vals0, 10) == WEIR_OK);
    CHECK(produce("pos_t", 1, NULL, vals1, 10) == WEIR_OK);
    weir_arena a;
    weir_arena_init(&a, 0);
    weir_sql_table *t = broker_table(&a, POS_DDL);
    CHECK(t != NULL);
    const weir_sql_connector *c = &weir_connect_kafka;
    weir_sql_conn_ctx ctx = {.table = t, .nworkers = 1};
    weir_err err;
    void *src = NULL, *r = NULL;
    int nsplits = 0, splits[2] = {0, 1};
    open_source_reader(c, &ctx, &src, &r);
    weir_sql_batch b;
    batch_of(&b, t);
    CHECK(read_rows(c, r, &b, 7, 3) == WEIR_OK);
    int seen[200] = {0};
    int64_t first_p0 = 0, first_p1 = 0; /* rows of each partition read before the positions */
    for (int i = 0; i < b.nrows; i++) {
        int64_t id = weir_sql_batch_get_i64(&b, 0, i);
        seen[id]++;
        if (id < 100) first_p0++;
        else first_p1++;
    }
    weir_buf pos[2];
    for (int s = 0; s < 2; s++) {
        weir_buf_init(&pos[s]);
        CHECK(c->source->position(r, s, &pos[s], &err) == WEIR_OK);
    }
    CHECK_EQ_INT(pos_offset(&pos[0]), first_p0);
    CHECK_EQ_INT(pos_offset(&pos[1]), first_p1);
    c->source->close_reader(r);
    c->source->close(src);

    /* reopened at the table's startup mode (earliest) but sought to the positions */
    CHECK(c->source->open(&ctx, &src, &nsplits, &err) == WEIR_OK);
    for (int s = 0; s < 2; s++) CHECK(c->source->seek(src, pos[s].data, pos[s].len, &err) == WEIR_OK);
    CHECK(c->source->open_reader(src, 0, splits, 2, &r, &err) == WEIR_OK);
    weir_sql_batch_clear(&b);
    CHECK_EQ_INT(read_rows(c, r, &b, 1000, 1000), WEIR_SQL_END);
    CHECK_EQ_INT(b.nrows, 20 - (int)(first_p0 + first_p1));
    for (int i = 0; i < b.nrows; i++) seen[weir_sql_batch_get_i64(&b, 0, i)]++;
    for (int id = 0; id < 10; id++) {
        CHECK_EQ_INT(seen[id], 1);
        CHECK_EQ_INT(seen[100 + id], 1);
    }
    /* rows of one partition come in offset order: the rest starts right after the position */
    c->source->close_reader(r);

    /* a position naming a partition the table does not have */
    uint8_t bad[64];
    memcpy(bad, pos[1].data, pos[1].len);
    bad[3 + 5 + 3] = 7; /* the partition's low byte: "pos_t" is 5 bytes */
    CHECK(c->source->seek(src, bad, pos[1].len, &err) == WEIR_ERROR);
    CHECK(strstr(err.msg, "topic pos_t, partition 7, which the table does not read") != NULL);
    CHECK(c->source->seek(src, bad, 5, &err) == WEIR_ERROR);
    c->source->close(src);
    for (int s = 0; s < 2; s++) weir_buf_free(&pos[s]);
    weir_sql_batch_free(&b);
    weir_arena_free(&a);
}

#define UPSERT_DDL                                                                                                     \
    "CREATE TABLE ut (k STRING, n BIGINT, note STRING, PRIMARY KEY (k) NOT ENFORCED) WITH ("                          \
    "'connector' = 'upsert-kafka', 'topic' = 'ups_t', 'key.format' = 'json', 'value.format' = 'json', "              \
    "'value.fields-include' = 'EXCEPT_KEY', 'properties.bootstrap.servers' = '%s', "                                  \
    "'scan.bounded.mode' = 'latest-offset')"

/* upsert-kafka reads from the earliest offset by default: a value is +U of its key (key
 * columns from the record key), a tombstone -D with only the key set. */
TEST(upsert_kafka_source_kinds) {
    CHECK(broker_start() != NULL);
    if (!broker.up) return;
    const char *keys[] = {"{\"k\":\"a\"}", "{\"k\":\"b\"}", "{\"k\":\"a\"}", "{\"k\":\"b\"}"};
    const char *vals[] = {"{\"n\":1,\"note\":\"x\"}", "{\"n\":2,\"note\":\"y\"}", "{\"n\":3,\"note\":\"z\"}", NULL};
    CHECK(produce("ups_t", 0, keys, vals, 4) == WEIR_OK);
    weir_arena a;
    weir_arena_init(&a, 0);
    weir_sql_table *t = broker_table(&a, UPSERT_DDL);
    CHECK(t != NULL);
    const weir_sql_connector *c = &weir_connect_upsert_kafka;
    CHECK(c->changelog(t, true) == WEIR_SQL_CHANGES_UPSERT);
    /* the query reads only n: the key is read all the same */
    bool needed[3] = {false, true, false};
    weir_sql_conn_ctx ctx = {.table = t, .needed = needed, .nworkers = 1};
    void *src = NULL, *r = NULL;
    open_source_reader(c, &ctx, &src, &r);
    weir_sql_batch b;
    batch_of(&b, t);
    CHECK_EQ_INT(read_rows(c, r, &b, 1000, 1000), WEIR_SQL_END);
    CHECK_EQ_INT(b.nrows, 4);
    static const char *const want_k[] = {"a", "b", "a", "b"};
    static const int want_kind[] = {WEIR_SQL_ROW_UPDATE_AFTER, WEIR_SQL_ROW_UPDATE_AFTER, WEIR_SQL_ROW_UPDATE_AFTER,
                                    WEIR_SQL_ROW_DELETE};
    for (int i = 0; i < b.nrows && i < 4; i++) {
        weir_str k = weir_sql_batch_get_str(&b, 0, i);
        CHECK(k.len == 1 && k.ptr[0] == want_k[i][0]);
        CHECK_EQ_INT(b.row_kinds[i], want_kind[i]);
        if (i < 3) CHECK_EQ_INT(weir_sql_batch_get_i64(&b, 1, i), i + 1);
        else CHECK(weir_sql_batch_is_null(&b, 1, i));
        CHECK(weir_sql_batch_is_null(&b, 2, i)); /* not needed: not read */
    }
    c->source->close_reader(r);
    c->source->close(src);
    weir_sql_batch_free(&b);
    weir_arena_free(&a);
}

TEST(upsert_kafka_validate) {
    const weir_sql_connector *c = &weir_connect_upsert_kafka;
    CHECK(strstr(validate_msg(c, "CREATE TABLE u (k INT, v INT) WITH ('connector' = 'upsert-kafka', 'topic' = 't', "
                                 "'key.format' = 'json', 'value.format' = 'json')", false),
                 "needs a primary key") != NULL);
    CHECK(strstr(validate_msg(c, "CREATE TABLE u (k INT, v INT, PRIMARY KEY (k) NOT ENFORCED) WITH ('connector' = "
                                 "'upsert-kafka', 'topic' = 't', 'value.format' = 'json')", true),
                 "needs option 'key.format'") != NULL);
    CHECK(strstr(validate_msg(c, "CREATE TABLE u (k INT, v INT, PRIMARY KEY (k) NOT ENFORCED) WITH ('connector' = "
                                 "'upsert-kafka', 'topic' = 't', 'key.format' = 'json', 'value.format' = 'json', "
                                 "'sink.buffer-flush.max-rows' = '10')", false),
                 "must both be greater than zero") != NULL);
    CHECK_EQ_STR(validate_msg(c, "CREATE TABLE u (k INT, v INT, PRIMARY KEY (k) NOT ENFORCED) WITH ('connector' = "
                                 "'upsert-kafka', 'topic' = 't', 'key.format' = 'json', 'value.format' = 'csv', "
                                 "'properties.bootstrap.servers' = 'h:1', 'sink.buffer-flush.max-rows' = '10', "
                                 "'sink.buffer-flush.interval' = '1 s')", false),
                 "");
    /* changelog modes */
    weir_arena a;
    weir_arena_init(&a, 0);
    weir_sql_table *t = table_of(&a, "CREATE TABLE d (id INT) WITH ('connector' = 'kafka', 'topic' = 't', "
                                     "'value.format' = 'debezium-json')");
    weir_sql_table *j = table_of(&a, "CREATE TABLE d (id INT) WITH ('connector' = 'kafka', 'topic' = 't', "
                                     "'format' = 'json')");
    CHECK(t && j);
    if (t && j) {
        CHECK(weir_connect_kafka.changelog(t, true) == WEIR_SQL_CHANGES_ALL);
        CHECK(weir_connect_kafka.changelog(t, false) == WEIR_SQL_CHANGES_ALL);
        CHECK(weir_connect_kafka.changelog(j, false) == WEIR_SQL_CHANGES_INSERT_ONLY);
        CHECK(weir_connect_print.changelog(j, false) == WEIR_SQL_CHANGES_ALL);
        CHECK(weir_connect_blackhole.changelog(j, false) == WEIR_SQL_CHANGES_ALL);
        CHECK(weir_connect_filesystem.changelog(j, false) == WEIR_SQL_CHANGES_INSERT_ONLY);
    }
    weir_arena_free(&a);
}

static void setup(void) {
    weir_connect_register_all();
    snprintf(tmp_root, sizeof tmp_root, "/tmp/weir-test-connect-XXXXXX");
    if (!mkdtemp(tmp_root)) perror("mkdtemp");
}

static void teardown(void) {
    broker_stop();
    rm_tree(tmp_root);
}

TEST(begin) { setup(); }
TEST(end) { teardown(); }

TEST_MAIN(T(begin), T(datagen_sequence_over_three_splits), T(datagen_sequence_reader_with_two_splits),
          T(datagen_number_of_rows), T(datagen_random_bounds), T(datagen_null_rate_and_needed), T(datagen_rate_limit), T(datagen_nested),
          T(datagen_validate_errors), T(print_lines_exact), T(print_prefixes), T(print_and_blackhole_validate),
          T(datagen_to_blackhole_job), T(filesystem_rolls_by_size_json), T(filesystem_rolls_by_size_csv),
          T(filesystem_close_without_flush_keeps_the_checkpointed_rows), T(filesystem_rolls_by_time),
          T(filesystem_job), T(filesystem_validate_errors), T(kafka_position_and_seek), T(upsert_kafka_source_kinds),
          T(upsert_kafka_validate), T(end))
