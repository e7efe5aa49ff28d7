/* lexer.c — turns Flink SQL text into tokens with line:column positions. Keywords are
 * not recognised here: a word is an IDENT and the parser compares it case-insensitively,
 * so a backticked `select` is always an identifier. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql/sql.h"

typedef struct lexer {
    weir_arena *arena;
    const char *src;
    size_t len;
    size_t i;
    int line;
    int col;
    weir_buf toks; /* weir_sql_token[], copied into the arena at the end */
    weir_err *err;
} lexer;

static bool is_ident_start(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static bool is_ident_char(unsigned char c) {
    return is_ident_start(c) || (c >= '0' && c <= '9') || c == '$';
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* Moves one byte on, keeping line and column; UTF-8 continuation bytes do not count as
 * columns, so a column is a character. */
static void advance(lexer *lx) {
    unsigned char c = (unsigned char)lx->src[lx->i++];
    if (c == '\n') {
        lx->line++;
        lx->col = 1;
    } else if ((c & 0xC0) != 0x80) {
        lx->col++;
    }
}

static char peek(const lexer *lx, size_t ahead) {
    return lx->i + ahead < lx->len ? lx->src[lx->i + ahead] : '\0';
}

static void push(lexer *lx, weir_sql_token_kind kind, weir_sql_pos pos, size_t start, const char *text) {
    weir_sql_token t = {
        .kind = kind,
        .pos = pos,
        .src = lx->src + start,
        .src_len = (int)(lx->i - start),
        .text = text ? text : weir_arena_strndup(lx->arena, lx->src + start, lx->i - start),
    };
    weir_buf_append(&lx->toks, &t, sizeof t);
}

/* Reads a quoted run ('...' or `...`) whose quote is doubled to escape it; returns the
 * unescaped text, or NULL at end of input. */
static char *read_quoted(lexer *lx, char quote) {
    weir_buf b;
    weir_buf_init(&b);
    advance(lx); /* opening quote */
    for (;;) {
        if (lx->i >= lx->len) {
            weir_buf_free(&b);
            return NULL;
        }
        char c = lx->src[lx->i];
        if (c == quote) {
            if (peek(lx, 1) == quote) {
                weir_buf_append(&b, &c, 1);
                advance(lx);
                advance(lx);
                continue;
            }
            advance(lx);
            break;
        }
        weir_buf_append(&b, &c, 1);
        advance(lx);
    }
    char *s = weir_arena_strndup(lx->arena, b.len ? (const char *)b.data : "", b.len);
    weir_buf_free(&b);
    return s;
}

static int lex_number(lexer *lx, weir_sql_pos pos) {
    size_t start = lx->i;
    weir_sql_token_kind kind = WEIR_SQL_TOK_INTEGER;
    while (is_digit(peek(lx, 0))) advance(lx);
    if (peek(lx, 0) == '.') {
        kind = WEIR_SQL_TOK_DECIMAL;
        advance(lx);
        while (is_digit(peek(lx, 0))) advance(lx);
    }
    char e = peek(lx, 0);
    if (e == 'e' || e == 'E') {
        size_t k = 1;
        if (peek(lx, 1) == '+' || peek(lx, 1) == '-') k = 2;
        if (!is_digit(peek(lx, k)))
            return weir_err_set(lx->err, "line %d, column %d: malformed number: expected digits after the exponent",
                                pos.line, pos.col);
        kind = WEIR_SQL_TOK_DOUBLE;
        while (k--) advance(lx);
        while (is_digit(peek(lx, 0))) advance(lx);
    }
    push(lx, kind, pos, start, NULL);
    return WEIR_OK;
}

/* The operators, longest first so "<=" wins over "<". */
static const struct { const char *text; weir_sql_token_kind kind; } operators[] = {
    {"<>", WEIR_SQL_TOK_NE}, {"!=", WEIR_SQL_TOK_NE}, {"<=", WEIR_SQL_TOK_LE},
    {">=", WEIR_SQL_TOK_GE}, {"||", WEIR_SQL_TOK_CONCAT}, {"=>", WEIR_SQL_TOK_ARROW},
    {"(", WEIR_SQL_TOK_LPAREN}, {")", WEIR_SQL_TOK_RPAREN}, {"[", WEIR_SQL_TOK_LBRACKET},
    {"]", WEIR_SQL_TOK_RBRACKET}, {",", WEIR_SQL_TOK_COMMA}, {";", WEIR_SQL_TOK_SEMI},
    {".", WEIR_SQL_TOK_DOT}, {"=", WEIR_SQL_TOK_EQ}, {"<", WEIR_SQL_TOK_LT},
    {">", WEIR_SQL_TOK_GT}, {"+", WEIR_SQL_TOK_PLUS}, {"-", WEIR_SQL_TOK_MINUS},
    {"*", WEIR_SQL_TOK_STAR}, {"/", WEIR_SQL_TOK_SLASH}, {"%", WEIR_SQL_TOK_PERCENT},
};

static int lex_one(lexer *lx) {
    weir_sql_pos pos = {lx->line, lx->col};
    size_t start = lx->i;
    unsigned char c = (unsigned char)lx->src[lx->i];

    if (c == '\'') {
        char *s = read_quoted(lx, '\'');
        if (!s) return weir_err_set(lx->err, "line %d, column %d: unterminated string literal", pos.line, pos.col);
        push(lx, WEIR_SQL_TOK_STRING, pos, start, s);
        return WEIR_OK;
    }
    if (c == '`') {
        char *s = read_quoted(lx, '`');
        if (!s) return weir_err_set(lx->err, "line %d, column %d: unterminated quoted identifier", pos.line, pos.col);
        if (!*s) return weir_err_set(lx->err, "line %d, column %d: empty quoted identifier", pos.line, pos.col);
        push(lx, WEIR_SQL_TOK_QUOTED_IDENT, pos, start, s);
        return WEIR_OK;
    }
    if ((c == 'x' || c == 'X') && peek(lx, 1) == '\'') {
        advance(lx);
        char *s = read_quoted(lx, '\'');
        if (!s) return weir_err_set(lx->err, "line %d, column %d: unterminated binary literal", pos.line, pos.col);
        for (const char *p = s; *p; p++) {
            if (!strchr("0123456789abcdefABCDEF", *p))
                return weir_err_set(lx->err, "line %d, column %d: binary literal X'...' holds a non-hex character",
                                    pos.line, pos.col);
        }
        if (strlen(s) % 2)
            return weir_err_set(lx->err, "line %d, column %d: binary literal X'...' needs an even number of hex digits",
                                pos.line, pos.col);
        push(lx, WEIR_SQL_TOK_BINARY, pos, start, s);
        return WEIR_OK;
    }
    if (is_ident_start(c)) {
        while (lx->i < lx->len && is_ident_char((unsigned char)lx->src[lx->i])) advance(lx);
        push(lx, WEIR_SQL_TOK_IDENT, pos, start, NULL);
        return WEIR_OK;
    }
    if (is_digit((char)c) || (c == '.' && is_digit(peek(lx, 1)))) return lex_number(lx, pos);
    for (size_t k = 0; k < sizeof operators / sizeof operators[0]; k++) {
        size_t n = strlen(operators[k].text);
        if (lx->len - lx->i >= n && memcmp(lx->src + lx->i, operators[k].text, n) == 0) {
            for (size_t j = 0; j < n; j++) advance(lx);
            push(lx, operators[k].kind, pos, start, NULL);
            return WEIR_OK;
        }
    }
    if (c >= 0x21 && c < 0x7f)
        return weir_err_set(lx->err, "line %d, column %d: unexpected character '%c'", pos.line, pos.col, c);
    return weir_err_set(lx->err, "line %d, column %d: unexpected character 0x%02x", pos.line, pos.col, c);
}

int weir_sql_lex(weir_arena *arena, const char *src, size_t len, weir_sql_token **tokens,
                 size_t *ntokens, weir_err *err) {
    lexer lx = {.arena = arena, .src = src, .len = len, .line = 1, .col = 1, .err = err};
    weir_buf_init(&lx.toks);
    int rc = WEIR_OK;
    while (rc == WEIR_OK) {
        char c = peek(&lx, 0);
        if (lx.i >= len) break;
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            advance(&lx);
        } else if (c == '-' && peek(&lx, 1) == '-') {
            while (lx.i < len && src[lx.i] != '\n') advance(&lx);
        } else if (c == '/' && peek(&lx, 1) == '*') {
            weir_sql_pos pos = {lx.line, lx.col};
            advance(&lx);
            advance(&lx);
            while (lx.i < len && !(src[lx.i] == '*' && peek(&lx, 1) == '/')) advance(&lx);
            if (lx.i >= len) {
                rc = weir_err_set(err, "line %d, column %d: unterminated comment (/* without */)", pos.line, pos.col);
                break;
            }
            advance(&lx);
            advance(&lx);
        } else {
            rc = lex_one(&lx);
        }
    }
    if (rc == WEIR_OK) {
        push(&lx, WEIR_SQL_TOK_EOF, (weir_sql_pos){lx.line, lx.col}, lx.i, "");
        size_t n = lx.toks.len / sizeof(weir_sql_token);
        weir_sql_token *t = weir_arena_alloc(arena, lx.toks.len);
        memcpy(t, lx.toks.data, lx.toks.len);
        *tokens = t;
        *ntokens = n;
    }
    weir_buf_free(&lx.toks);
    return rc;
}
