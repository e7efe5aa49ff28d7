/* test_sql_watermarks.c — the per-source watermarks a session reports for its running jobs
 * (weir_sql_session_watermarks / _watermark_summary): datagen sources with a WATERMARK
 * feeding a TUMBLE window aggregation into blackhole. Checks that the reported watermark
 * advances, that idle splits and ended sources are reported as such, and that the window
 * operator's watermark and late rows appear. Polls with deadlines (no sleeps as sync). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "connect/connect.h"
#include "sql/sql.h"
#include "sqltest.h"
#include "test.h"

/* The session's line for table (without its newline) into buf; false when absent. */
static bool line_of(weir_sql_session *s, const char *table, char *buf, size_t cap) {
    weir_buf b;
    weir_buf_init(&b);
    weir_sql_session_watermarks(s, &b);
    weir_buf_append(&b, "", 1);
    bool found = false;
    size_t tl = strlen(table);
    for (const char *l = (const char *)b.data; l && *l;) {
        const char *nl = strchr(l, '\n');
        size_t n = nl ? (size_t)(nl - l) : strlen(l);
        if (n > tl && !strncmp(l, table, tl) && l[tl] == ':') {
            snprintf(buf, cap, "%.*s", (int)n, l);
            found = true;
            break;
        }
        l = nl ? nl + 1 : NULL;
    }
    weir_buf_free(&b);
    return found;
}

/* Polls table's line until it contains want (deadline 10 s); the last line in buf. */
static bool wait_for(weir_sql_session *s, const char *table, const char *want, char *buf, size_t cap) {
    int64_t deadline = weir_mono_ms() + 10000;
    while (weir_mono_ms() < deadline) {
        if (line_of(s, table, buf, cap) && strstr(buf, want)) return true;
        usleep(10000);
    }
    fprintf(stderr, "    (waited for '%s' in: %s)\n", want, buf);
    return false;
}

/* The watermark's timestamp text ("2024-01-31 12:00:05.000") after "watermark "; "" if
 * the line has none. */
static void wm_text(const char *line, char *out, size_t cap) {
    out[0] = 0;
    const char *p = strstr(line, ": watermark ");
    if (!p) return;
    p += 12;
    if (strlen(p) >= 23 && p[4] == '-' && p[10] == ' ') snprintf(out, cap, "%.23s", p);
}

static const char *DDL =
    "CREATE TABLE src (k INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) "
    "WITH ('connector' = 'datagen', 'rows-per-second' = '%s' %s);"
    "CREATE TABLE bh (ws TIMESTAMP(3), we TIMESTAMP(3), n BIGINT) WITH ('connector' = 'blackhole');";

static const char *INSERT =
    "INSERT INTO bh SELECT window_start, window_end, COUNT(*) FROM "
    "TABLE(TUMBLE(TABLE src, DESCRIPTOR(ts), INTERVAL '1' SECOND)) GROUP BY window_start, window_end;";

static void setup(weir_sql_session *s, const char *rps, const char *extra) {
    char ddl[1024];
    snprintf(ddl, sizeof ddl, DDL, rps, extra);
    CHECK(sqltest_exec(s, ddl) == WEIR_OK);
}

TEST(nothing_running_nothing_reported) {
    weir_sql_session *s = sqltest_session(2, stderr);
    setup(s, "100", "");
    weir_buf b;
    weir_buf_init(&b);
    CHECK_EQ_INT(weir_sql_session_watermarks(s, &b), 0);
    CHECK_EQ_INT((int)b.len, 0);
    char sum[32] = "";
    CHECK(!weir_sql_session_watermark_summary(s, sum, sizeof sum));
    weir_buf_free(&b);
    weir_sql_session_free(s);
}

TEST(watermark_advances) {
    weir_sql_session *s = sqltest_session(2, stderr);
    setup(s, "2000", "");
    CHECK(sqltest_exec(s, INSERT) == WEIR_OK);
    char line[512] = "", first[32], later[32] = "";
    CHECK(wait_for(s, "src", "(2 splits, 0 idle); window operator: ", line, sizeof line));
    wm_text(line, first, sizeof first);
    int64_t deadline = weir_mono_ms() + 10000;
    while (first[0] == 0 && weir_mono_ms() < deadline) { /* "none yet" until rows came */
        line_of(s, "src", line, sizeof line);
        wm_text(line, first, sizeof first);
        usleep(10000);
    }
    CHECK(first[0] != 0);
    /* the same format compares as text in time order */
    while (weir_mono_ms() < deadline) {
        line_of(s, "src", line, sizeof line);
        wm_text(line, later, sizeof later);
        if (later[0] && strcmp(later, first) > 0) break;
        usleep(10000);
    }
    CHECK(later[0] && strcmp(later, first) > 0);
    CHECK(strstr(line, " late rows") || strstr(line, " late row"));
    /* the window operator gets a watermark too once a window could have fired */
    char wline[512] = "";
    CHECK(wait_for(s, "src", "window operator: 20", wline, sizeof wline));
    char sum[32] = "";
    CHECK(weir_sql_session_watermark_summary(s, sum, sizeof sum));
    CHECK(strlen(sum) == 8 && sum[2] == ':' && sum[5] == ':');
    weir_sql_session_stop(s);
    weir_err err;
    CHECK(weir_sql_session_wait(s, &err) == WEIR_OK);
    CHECK(!line_of(s, "src", line, sizeof line)); /* ended jobs are not reported */
    weir_sql_session_free(s);
}

TEST(idle_splits_are_reported) {
    weir_sql_session *s = sqltest_session(2, stderr);
    setup(s, "1", "");
    CHECK(sqltest_exec(s, "SET 'table.exec.source.idle-timeout' = '50 ms';") == WEIR_OK);
    CHECK(sqltest_exec(s, INSERT) == WEIR_OK);
    /* one row a second over two splits: both go idle between rows */
    char line[512] = "";
    CHECK(wait_for(s, "src", "watermark idle (2 splits, 2 idle)", line, sizeof line));
    char sum[32] = "";
    CHECK(weir_sql_session_watermark_summary(s, sum, sizeof sum));
    weir_sql_session_stop(s);
    weir_err err;
    CHECK(weir_sql_session_wait(s, &err) == WEIR_OK);
    weir_sql_session_free(s);
}

TEST(ended_source_says_end_of_input) {
    weir_sql_session *s = sqltest_session(2, stderr);
    setup(s, "1000", "");
    CHECK(sqltest_exec(s, "CREATE TABLE fin (k INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) "
                          "WITH ('connector' = 'datagen', 'number-of-rows' = '10');"
                          "CREATE TABLE bh2 (n BIGINT) WITH ('connector' = 'blackhole');"
                          "CREATE TABLE plain (k INT) WITH ('connector' = 'datagen', 'rows-per-second' = '10');"
                          "CREATE TABLE bh3 (k INT) WITH ('connector' = 'blackhole');") == WEIR_OK);
    /* one job: the bounded source ends while the unbounded one keeps it running */
    CHECK(sqltest_exec(s, "EXECUTE STATEMENT SET BEGIN "
                          "INSERT INTO bh SELECT window_start, window_end, COUNT(*) FROM "
                          "TABLE(TUMBLE(TABLE src, DESCRIPTOR(ts), INTERVAL '1' SECOND)) GROUP BY window_start, window_end; "
                          "INSERT INTO bh2 SELECT COUNT(*) FROM "
                          "TABLE(TUMBLE(TABLE fin, DESCRIPTOR(ts), INTERVAL '1' SECOND)) GROUP BY window_start, window_end; "
                          "END;") == WEIR_OK);
    char line[512] = "";
    CHECK(wait_for(s, "fin", "fin: watermark end of input (2 splits, 0 idle)", line, sizeof line));
    CHECK(wait_for(s, "src", "src: watermark 20", line, sizeof line));
    /* a job without a window operator does not generate watermarks; a table without one says so */
    CHECK(sqltest_exec(s, "INSERT INTO bh3 SELECT k FROM plain;") == WEIR_OK);
    CHECK(wait_for(s, "plain", "plain: no WATERMARK", line, sizeof line));
    weir_sql_session_stop(s);
    weir_err err;
    CHECK(weir_sql_session_wait(s, &err) == WEIR_OK);
    weir_sql_session_free(s);
}

int main(void) {
    weir_connect_register_all();
    weir_test_case cases[] = {
        {"nothing_running_nothing_reported", nothing_running_nothing_reported},
        {"watermark_advances", watermark_advances},
        {"idle_splits_are_reported", idle_splits_are_reported},
        {"ended_source_says_end_of_input", ended_source_says_end_of_input},
    };
    return weir_test_run(__FILE__, cases, sizeof cases / sizeof cases[0]);
}
