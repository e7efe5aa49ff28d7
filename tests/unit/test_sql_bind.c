/* test_sql_bind.c — the binder and type checker against golden files: every .sql file in
 * tests/sql/bind (read relative to the repo root, where the unit tests run) is parsed,
 * bound against a fresh session catalog and printed, and the text must equal the .out
 * beside it (the bound tree with a type on every expression, or "error: " and the message
 * with its line:column). WEIR_GOLDEN_UPDATE=1 rewrites the .out files instead. Then every
 * prefix and seeded mutations of each script must bind or fail with a clean line:column
 * message, never crash (this binary also runs under ASan). Unit checks of the type rules
 * follow. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "sql/sql.h"
#include "golden.h"
#include "test.h"

#define GOLDEN_DIR "tests/sql/bind"


/* Parses and binds src, and prints what the golden file holds for it: each statement's
 * bound tree, a blank line between them, or only "error: " and the message. */
static int render(const char *src, size_t len, weir_buf *out) {
    weir_arena arena;
    weir_arena_init(&arena, 0);
    weir_sql_script *script = NULL;
    weir_err err;
    int rc = weir_sql_parse_script(&arena, src, len, &script, &err);
    weir_sql_bstmt **stmts = NULL;
    int n = 0;
    if (rc == WEIR_OK) {
        weir_sql_catalog cat;
        weir_sql_catalog_init(&cat, &arena);
        rc = weir_sql_bind_script(&cat, script, &stmts, &n, &err);
    }
    if (rc == WEIR_OK) {
        for (int k = 0; k < n; k++) {
            if (k) weir_buf_append(out, "\n", 1);
            weir_sql_print_bstmt(out, stmts[k]);
        }
    } else {
        weir_buf_append(out, "error: ", 7);
        weir_buf_append(out, err.msg, strlen(err.msg));
        weir_buf_append(out, "\n", 1);
    }
    weir_arena_free(&arena);
    return rc;
}





TEST(golden) {
    int n = 0;
    int errors = golden_run(GOLDEN_DIR, render, true, &n);
    CHECK(n >= 20);
    CHECK(errors >= 15); /* the error cases: at least fifteen files end in a line:column message */
}

/* A result is clean when it bound, or failed with "line L, column C: ...". */
static bool clean_result(const char *src, size_t len, const char *file) {
    (void)file;
    return golden_render_clean(render, src, len, false);
}

/* Every prefix cut at a statement boundary or line end, and seeded random edits. */
TEST(prefixes_and_mutations) {
    const golden_fuzz_opts o = {.min_len = 1, .prefixes = true, .cut_at = "\n ,", .mutations = 100, .edits = 2,
                                .alphabet = "()[],;.'`-/*+<>=|% \naZ09eE_", .seed = 0x2545f4914f6cdd1dull};
    CHECK(golden_fuzz(GOLDEN_DIR, &o, clean_result) > 1000);
}

static weir_sql_ltype lt(weir_sql_type_kind k, int p, int s) { return weir_sql_ltype_make(k, p, s, false); }

static const char *str(weir_arena *a, weir_sql_ltype t) { return weir_sql_ltype_str(a, &t); }

TEST(type_rules) {
    weir_arena a;
    weir_arena_init(&a, 0);
    weir_sql_ltype r;
    /* DECIMAL arithmetic, as Flink */
    weir_sql_ltype d102 = lt(WEIR_SQL_TYPE_DECIMAL, 10, 2), d53 = lt(WEIR_SQL_TYPE_DECIMAL, 5, 3);
    CHECK(weir_sql_ltype_arithmetic('+', &d102, &d53, &r));
    CHECK_EQ_STR(str(&a, r), "DECIMAL(12, 3)");
    CHECK(weir_sql_ltype_arithmetic('*', &d102, &d53, &r));
    CHECK_EQ_STR(str(&a, r), "DECIMAL(15, 5)");
    CHECK(weir_sql_ltype_arithmetic('/', &d102, &d53, &r));
    CHECK_EQ_STR(str(&a, r), "DECIMAL(19, 8)");
    CHECK(weir_sql_ltype_arithmetic('%', &d102, &d53, &r));
    CHECK_EQ_STR(str(&a, r), "DECIMAL(5, 3)");
    weir_sql_ltype d3818 = lt(WEIR_SQL_TYPE_DECIMAL, 38, 18);
    CHECK(weir_sql_ltype_arithmetic('*', &d3818, &d3818, &r));
    CHECK_EQ_STR(str(&a, r), "DECIMAL(38, 6)");
    weir_sql_ltype i = lt(WEIR_SQL_TYPE_INT, 0, 0), bi = lt(WEIR_SQL_TYPE_BIGINT, 0, 0);
    CHECK(weir_sql_ltype_arithmetic('+', &i, &d102, &r));
    CHECK_EQ_STR(str(&a, r), "DECIMAL(13, 2)");
    CHECK(weir_sql_ltype_arithmetic('/', &i, &bi, &r));
    CHECK_EQ_STR(str(&a, r), "BIGINT");
    /* common types */
    weir_sql_ltype two[2] = {lt(WEIR_SQL_TYPE_CHAR, 3, 0), lt(WEIR_SQL_TYPE_VARCHAR, 10, 0)};
    CHECK(weir_sql_ltype_common(&a, two, 2, &r));
    CHECK_EQ_STR(str(&a, r), "VARCHAR(10)");
    weir_sql_ltype mix[2] = {i, lt(WEIR_SQL_TYPE_DOUBLE, 0, 0)};
    CHECK(weir_sql_ltype_common(&a, mix, 2, &r));
    CHECK_EQ_STR(str(&a, r), "DOUBLE");
    weir_sql_ltype bad[2] = {i, lt(WEIR_SQL_TYPE_BOOLEAN, 0, 0)};
    CHECK(!weir_sql_ltype_common(&a, bad, 2, &r));
    weir_sql_ltype ts[2] = {lt(WEIR_SQL_TYPE_TIMESTAMP, 3, 0), lt(WEIR_SQL_TYPE_TIMESTAMP, 6, 0)};
    ts[0].not_null = true;
    CHECK(weir_sql_ltype_common(&a, ts, 2, &r));
    CHECK_EQ_STR(str(&a, r), "TIMESTAMP(6)");
    /* casts */
    weir_sql_ltype s = lt(WEIR_SQL_TYPE_VARCHAR, WEIR_SQL_MAX_LENGTH, 0), date = lt(WEIR_SQL_TYPE_DATE, 0, 0);
    weir_sql_ltype b = lt(WEIR_SQL_TYPE_BOOLEAN, 0, 0);
    CHECK(weir_sql_ltype_implicit_cast(&i, &bi));
    CHECK(!weir_sql_ltype_implicit_cast(&bi, &i));
    CHECK(!weir_sql_ltype_implicit_cast(&i, &s));
    CHECK(weir_sql_ltype_explicit_cast(&i, &s));
    CHECK(weir_sql_ltype_explicit_cast(&s, &date));
    CHECK(!weir_sql_ltype_explicit_cast(&b, &date));
    CHECK(!weir_sql_ltype_explicit_cast(&date, &i));
    CHECK_EQ_STR(str(&a, s), "STRING");
    weir_sql_ltype rt = weir_sql_ltype_make(WEIR_SQL_TYPE_TIMESTAMP, 3, 0, true);
    rt.time_attr = WEIR_SQL_TIME_ATTR_ROWTIME;
    CHECK_EQ_STR(str(&a, rt), "TIMESTAMP(3) NOT NULL *ROWTIME*");
    weir_arena_free(&a);
}

TEST(closest) {
    const char *cands[] = {"amount", "order_id", "customer"};
    CHECK_EQ_STR(weir_sql_closest("amout", cands, 3), "amount");
    CHECK_EQ_STR(weir_sql_closest("AMOUNT", cands, 3), "amount");
    CHECK(weir_sql_closest("zzz", cands, 3) == NULL);
}

TEST_MAIN(T(golden), T(prefixes_and_mutations), T(type_rules), T(closest))
