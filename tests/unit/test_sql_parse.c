/* test_sql_parse.c — the Flink SQL parser against golden files: every .sql file in tests/sql/parse
 * (read relative to the repo root, where the unit tests run) is parsed and printed, and
 * the text must equal the .out beside it (the canonical AST, or "error: " and the message
 * with its line:column). WEIR_GOLDEN_UPDATE=1 rewrites the .out files instead. Then the
 * robustness checks: every prefix and many mutations of each script must parse or fail
 * with a clean line:column message, never crash (this binary also runs under ASan). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "sql/sql.h"
#include "golden.h"
#include "test.h"

#define GOLDEN_DIR "tests/sql/parse"


/* Parses src and prints what the golden file holds for it. Returns WEIR_OK or WEIR_ERROR. */
static int render(const char *src, size_t len, weir_buf *out) {
    weir_arena arena;
    weir_arena_init(&arena, 0);
    weir_sql_script *script = NULL;
    weir_err err;
    int rc = weir_sql_parse_script(&arena, src, len, &script, &err);
    if (rc == WEIR_OK) {
        weir_sql_print_script(out, script);
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
    int errors = golden_run(GOLDEN_DIR, render, false, &n);
    CHECK(n >= 20);
    CHECK(errors >= 10); /* the error cases: at least ten files end in a line:column message */
}

/* A result is clean when it parsed, or failed with "line L, column C: ..." (the error
 * message must name a place). */
static bool clean_result(const char *src, size_t len, const char *file) {
    (void)file;
    weir_arena arena;
    weir_arena_init(&arena, 0);
    weir_sql_script *script = NULL;
    weir_err err;
    bool ok;
    if (weir_sql_parse_script(&arena, src, len, &script, &err) == WEIR_OK) {
        weir_buf b;
        weir_buf_init(&b);
        weir_sql_print_script(&b, script); /* the printer must cope with every tree */
        weir_buf_free(&b);
        ok = true;
    } else {
        int line = 0, col = 0;
        ok = sscanf(err.msg, "line %d, column %d: ", &line, &col) == 2 && line >= 1 && col >= 1 &&
             strstr(err.msg, ": ") != NULL;
        if (!ok) fprintf(stderr, "  unclean error for %.*s: %s\n", (int)(len > 60 ? 60 : len), src, err.msg);
    }
    weir_arena_free(&arena);
    return ok;
}

/* Every prefix of every golden script (the valid ones cut mid-token, mid-string,
 * mid-comment) parses or fails cleanly. The prefix is copied so ASan sees reads past it. */
TEST(every_prefix) {
    const golden_fuzz_opts o = {.min_len = 0, .prefixes = true};
    CHECK(golden_fuzz(GOLDEN_DIR, &o, clean_result) > 1000);
}

/* Random edits (seeded, so a failure repeats): delete, duplicate or replace a byte with
 * one of SQL's troublemakers. */
TEST(mutations) {
    const golden_fuzz_opts o = {.min_len = 1, .mutations = 300, .edits = 3,
                                .alphabet = "()[],;.'`\"-/*+<>=!|%$ \n\taZ09eE_\x80\xff", .seed = 0x9e3779b97f4a7c15ull};
    golden_fuzz(GOLDEN_DIR, &o, clean_result);
}

TEST(lexer_positions) {
    weir_arena arena;
    weir_arena_init(&arena, 0);
    const char *src = "SELECT `my col`, 'it''s'\n  -- note\n  /* a\n b */ x1 <> 1.5e-3 FROM t;";
    weir_sql_token *toks = NULL;
    size_t n = 0;
    weir_err err;
    CHECK_EQ_INT(weir_sql_lex(&arena, src, strlen(src), &toks, &n, &err), WEIR_OK);
    CHECK_EQ_INT(n, 11);
    if (n == 11) {
        CHECK_EQ_INT(toks[0].kind, WEIR_SQL_TOK_IDENT);
        CHECK_EQ_INT(toks[1].kind, WEIR_SQL_TOK_QUOTED_IDENT);
        CHECK_EQ_STR(toks[1].text, "my col");
        CHECK_EQ_INT(toks[1].pos.col, 8);
        CHECK_EQ_INT(toks[3].kind, WEIR_SQL_TOK_STRING);
        CHECK_EQ_STR(toks[3].text, "it's");
        CHECK_EQ_INT(toks[4].kind, WEIR_SQL_TOK_IDENT);
        CHECK_EQ_STR(toks[4].text, "x1");
        CHECK_EQ_INT(toks[4].pos.line, 4);
        CHECK_EQ_INT(toks[4].pos.col, 7);
        CHECK_EQ_INT(toks[5].kind, WEIR_SQL_TOK_NE);
        CHECK_EQ_INT(toks[6].kind, WEIR_SQL_TOK_DOUBLE);
        CHECK_EQ_STR(toks[6].text, "1.5e-3");
        CHECK_EQ_INT(toks[9].kind, WEIR_SQL_TOK_SEMI);
        CHECK_EQ_INT(toks[10].kind, WEIR_SQL_TOK_EOF);
        CHECK_EQ_INT(toks[10].pos.line, 4);
    }
    /* columns count characters, not bytes */
    const char *utf = "SELECT 'é', x";
    CHECK_EQ_INT(weir_sql_lex(&arena, utf, strlen(utf), &toks, &n, &err), WEIR_OK);
    CHECK_EQ_INT(toks[3].pos.col, 13);
    weir_arena_free(&arena);
}

/* Deep nesting ends in a message, not a stack overflow. */
TEST(deep_nesting) {
    size_t depth = 100000;
    char *src = malloc(depth * 2 + 16);
    /* ((((...1)))) */
    size_t len = 0;
    memcpy(src, "SELECT ", 7);
    len = 7;
    for (size_t k = 0; k < depth; k++) src[len++] = '(';
    src[len++] = '1';
    for (size_t k = 0; k < depth; k++) src[len++] = ')';
    weir_arena arena;
    weir_arena_init(&arena, 0);
    weir_sql_script *script = NULL;
    weir_err err;
    CHECK_EQ_INT(weir_sql_parse_script(&arena, src, len, &script, &err), WEIR_ERROR);
    CHECK(strstr(err.msg, "nested too deeply") != NULL);
    /* - - - ... 1 too ("--" would start a comment) */
    len = 7;
    for (size_t k = 0; k < depth; k++) {
        src[len++] = '-';
        src[len++] = ' ';
    }
    src[len++] = '1';
    CHECK_EQ_INT(weir_sql_parse_script(&arena, src, len, &script, &err), WEIR_ERROR);
    CHECK(strstr(err.msg, "nested too deeply") != NULL);
    weir_arena_free(&arena);
    free(src);
}

TEST(single_statement) {
    weir_arena arena;
    weir_arena_init(&arena, 0);
    weir_sql_stmt *st = NULL;
    weir_err err;
    const char *ok = "SELECT a FROM t;";
    CHECK_EQ_INT(weir_sql_parse_statement(&arena, ok, strlen(ok), &st, &err), WEIR_OK);
    CHECK(st && st->kind == WEIR_SQL_STMT_QUERY);
    const char *two = "SELECT a FROM t; SELECT b FROM t";
    CHECK_EQ_INT(weir_sql_parse_statement(&arena, two, strlen(two), &st, &err), WEIR_ERROR);
    CHECK_EQ_STR(err.msg, "line 1, column 18: expected the end of the statement, found 'SELECT'");
    weir_arena_free(&arena);
}

TEST_MAIN(T(golden), T(every_prefix), T(mutations), T(lexer_positions), T(deep_nesting),
          T(single_statement))
