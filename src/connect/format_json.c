/* format_json.c — Flink's 'json' format: one JSON object per record, fields matched to
 * the carried columns by name (case-sensitively), nested objects into ROW and MAP, arrays
 * into ARRAY; encoding writes one compact object per row as Flink's serializer does.
 *
 * Decoding is the hot path of every JSON source, so it is a hand-written scanner rather
 * than a library parser (jansson builds a tree of every value, then we would copy out of
 * it): the scanner walks the bytes once, writes the needed columns straight into the
 * batch, skips unknown and unneeded fields without materialising them, and checks every
 * read against the end of the buffer (records come from the network). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "connect/format_internal.h"

#define JSON_MAX_DEPTH 64

enum { NULL_KEY_FAIL, NULL_KEY_DROP, NULL_KEY_LITERAL };

typedef struct json_field {
    const char *name;
    size_t len;
    int col;            /* table column */
    char *key_json;     /* "\"name\":" for encoding */
    size_t key_json_len;
} json_field;

typedef struct json_fmt {
    bool fail_on_missing, iso, plain_decimal, ignore_null_fields, parser_enabled;
    int null_key_mode;
    const char *null_key_literal;
    json_field *fields;
    int nfields;
    int *slots; /* open addressing: field index + 1, 0 empty */
    int nslots;
    uint8_t *seen;
    weir_buf scratch, scratch2, nest;
} json_fmt;

/* Internal results: a record that is not JSON (or breaks a rule that makes the whole
 * record unusable) vs. a value that does not fit its column (ignore-parse-errors turns
 * the latter into NULL). */
enum { J_OK = 0, J_SYNTAX = -1, J_FIELD = -2 };

typedef struct path_seg {
    const char *name;
    size_t len;
    long index; /* -1: a name */
} path_seg;

typedef struct jdec {
    weir_format *f;
    json_fmt *j;
    const char *start, *p, *end;
    weir_err *err;
    bool ignore;
    path_seg path[JSON_MAX_DEPTH + 2];
    int depth;
} jdec;

enum { TK_STR, TK_NUM, TK_TRUE, TK_FALSE, TK_NULL, TK_OBJ, TK_ARR };

typedef struct jtok {
    int kind;
    const char *p; /* strings: the bytes between the quotes; others: the raw text */
    size_t len;
    bool escaped;  /* strings with backslash escapes */
    bool is_int;   /* numbers without fraction or exponent */
} jtok;

typedef weir_format_value jscalar;

/* ---- errors ----------------------------------------------------------------------- */

static void describe_at(const jdec *d, const char *at, char *buf, size_t cap) {
    if (at >= d->end) snprintf(buf, cap, "end of input");
    else if ((unsigned char)*at >= 0x20 && (unsigned char)*at < 0x7f) snprintf(buf, cap, "'%c'", *at);
    else snprintf(buf, cap, "byte 0x%02x", (unsigned char)*at);
}

__attribute__((format(printf, 3, 4))) static int syntax(jdec *d, const char *at, const char *fmt, ...) {
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    weir_err_set(d->err, "at byte %zu: %s", (size_t)(at - d->start), msg);
    return J_SYNTAX;
}

static void path_text(const jdec *d, weir_buf *out) {
    for (int i = 0; i <= d->depth && i < JSON_MAX_DEPTH + 2; i++) {
        const path_seg *s = &d->path[i];
        if (s->index >= 0) {
            char b[32];
            int n = snprintf(b, sizeof b, "[%ld]", s->index);
            weir_buf_append(out, b, (size_t)n);
        } else {
            if (i) weir_buf_append(out, ".", 1);
            weir_buf_append(out, s->name, s->len);
        }
    }
    weir_buf_append(out, "", 1);
}

static void found_text(const jtok *t, weir_buf *out) {
    if (t->kind == TK_OBJ) weir_buf_append(out, "an object", 9);
    else if (t->kind == TK_ARR) weir_buf_append(out, "an array", 8);
    else if (t->kind == TK_STR) {
        weir_buf_append(out, "\"", 1);
        weir_format_snippet(out, t->p, t->len, 40);
        weir_buf_append(out, "\"", 1);
    } else {
        weir_format_snippet(out, t->p, t->len, 40);
    }
    weir_buf_append(out, "", 1);
}

/* "field 'amount': expected a number, found \"abc\"" */
__attribute__((format(printf, 3, 4))) static int field_error(jdec *d, const jtok *t, const char *fmt, ...) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    weir_buf path, found;
    weir_buf_init(&path);
    weir_buf_init(&found);
    path_text(d, &path);
    if (t) {
        found_text(t, &found);
        weir_err_set(d->err, "field '%s': %s, found %s", (char *)path.data, msg, (char *)found.data);
    } else {
        weir_err_set(d->err, "field '%s': %s", (char *)path.data, msg);
    }
    weir_buf_free(&path);
    weir_buf_free(&found);
    return J_FIELD;
}

/* ---- scanning --------------------------------------------------------------------- */

static inline void skip_ws(jdec *d) {
    while (d->p < d->end && (*d->p == ' ' || *d->p == '\n' || *d->p == '\r' || *d->p == '\t')) d->p++;
}

static inline int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* The length of the well-formed UTF-8 sequence at s (a byte >= 0x80), or 0: no overlong
 * forms, no surrogates, nothing above U+10FFFF (what Jackson refuses too). */
static size_t utf8_len(const unsigned char *s, const unsigned char *end) {
    unsigned char c = s[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 2;
    else if (c >= 0xe0 && c <= 0xef) n = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
    else if (c >= 0xf0 && c <= 0xf4) n = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
    else return 0;
    if ((size_t)(end - s) < n || s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf) return 0;
    return n;
}

/* A string starting at d->p (a '"'): t gets the bytes between the quotes. */
static int scan_string(jdec *d, jtok *t) {
    const char *open = d->p++;
    const char *s = d->p, *end = d->end;
    bool escaped = false;
    for (;;) {
        while (s < end && *s != '"' && *s != '\\' && (unsigned char)*s >= 0x20 && (unsigned char)*s < 0x80) s++;
        if (s >= end) return syntax(d, open, "unterminated string");
        if (*s == '"') break;
        if ((unsigned char)*s >= 0x80) {
            size_t n = utf8_len((const unsigned char *)s, (const unsigned char *)end);
            if (!n) return syntax(d, s, "invalid UTF-8 in a string");
            s += n;
            continue;
        }
        if (*s == '\\') {
            escaped = true;
            if (s + 1 >= end) return syntax(d, open, "unterminated string");
            char e = s[1];
            if (e == 'u') {
                if (end - s < 6 || hexval(s[2]) < 0 || hexval(s[3]) < 0 || hexval(s[4]) < 0 || hexval(s[5]) < 0)
                    return syntax(d, s, "bad \\u escape in a string");
                s += 6;
            } else if (strchr("\"\\/bfnrt", e) && e) {
                s += 2;
            } else {
                return syntax(d, s, "bad escape '\\%c' in a string", (unsigned char)e >= 0x20 && e != 0x7f ? e : '?');
            }
            continue;
        }
        return syntax(d, s, "control character 0x%02x in a string", (unsigned char)*s);
    }
    t->kind = TK_STR;
    t->p = d->p;
    t->len = (size_t)(s - d->p);
    t->escaped = escaped;
    d->p = s + 1;
    return J_OK;
}

/* The string's text with escapes resolved (already validated by scan_string); lone
 * surrogates become U+FFFD. The result lives in `into` until it is reset. */
static void string_text(const jtok *t, weir_buf *into, const char **s, size_t *n) {
    if (!t->escaped) {
        *s = t->p;
        *n = t->len;
        return;
    }
    into->len = 0;
    const char *p = t->p, *end = t->p + t->len;
    while (p < end) {
        const char *q = p;
        while (q < end && *q != '\\') q++;
        weir_buf_append(into, p, (size_t)(q - p));
        if (q >= end) break;
        char e = q[1];
        p = q + 2;
        switch (e) {
        case 'b': weir_buf_append(into, "\b", 1); break;
        case 'f': weir_buf_append(into, "\f", 1); break;
        case 'n': weir_buf_append(into, "\n", 1); break;
        case 'r': weir_buf_append(into, "\r", 1); break;
        case 't': weir_buf_append(into, "\t", 1); break;
        case 'u': {
            uint32_t c = (uint32_t)(hexval(p[0]) << 12 | hexval(p[1]) << 8 | hexval(p[2]) << 4 | hexval(p[3]));
            p += 4;
            if (c >= 0xd800 && c < 0xdc00 && end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
                uint32_t lo = (uint32_t)(hexval(p[2]) << 12 | hexval(p[3]) << 8 | hexval(p[4]) << 4 | hexval(p[5]));
                if (lo >= 0xdc00 && lo < 0xe000) {
                    c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
                    p += 6;
                }
            }
            if (c >= 0xd800 && c < 0xe000) c = 0xfffd;
            weir_buf_append_utf8(into, c);
            break;
        }
        default: weir_buf_append(into, &e, 1); /* " \ / */
        }
    }
    *s = into->len ? (const char *)into->data : "";
    *n = into->len;
}

static inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* JSON's number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int scan_number(jdec *d, jtok *t) {
    const char *s = d->p, *end = d->end, *start = d->p;
    t->is_int = true;
    if (s < end && *s == '-') s++;
    if (s >= end || !is_digit(*s)) return syntax(d, start, "malformed number");
    if (*s == '0') s++;
    else
        while (s < end && is_digit(*s)) s++;
    if (s < end && *s == '.') {
        s++;
        t->is_int = false;
        if (s >= end || !is_digit(*s)) return syntax(d, start, "malformed number");
        while (s < end && is_digit(*s)) s++;
    }
    if (s < end && (*s == 'e' || *s == 'E')) {
        s++;
        t->is_int = false;
        if (s < end && (*s == '+' || *s == '-')) s++;
        if (s >= end || !is_digit(*s)) return syntax(d, start, "malformed number");
        while (s < end && is_digit(*s)) s++;
    }
    if (s < end && (is_digit(*s) || *s == '.' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
        return syntax(d, start, "malformed number");
    t->kind = TK_NUM;
    t->p = start;
    t->len = (size_t)(s - start);
    d->p = s;
    return J_OK;
}

static int scan_literal(jdec *d, jtok *t) {
    static const struct {
        const char *text;
        size_t len;
        int kind;
    } lits[] = {{"true", 4, TK_TRUE}, {"false", 5, TK_FALSE}, {"null", 4, TK_NULL}};
    for (int i = 0; i < 3; i++) {
        if ((size_t)(d->end - d->p) >= lits[i].len && !memcmp(d->p, lits[i].text, lits[i].len)) {
            const char *after = d->p + lits[i].len;
            if (after < d->end && ((*after >= 'a' && *after <= 'z') || (*after >= 'A' && *after <= 'Z') || is_digit(*after)))
                break;
            t->kind = lits[i].kind;
            t->p = d->p;
            t->len = lits[i].len;
            d->p = after;
            return J_OK;
        }
    }
    char what[32];
    describe_at(d, d->p, what, sizeof what);
    return syntax(d, d->p, "expected a value, found %s", what);
}

/* A field name of an object, the scanner at its opening quote (else the syntax error). */
static int field_name(jdec *d, jtok *key) {
    if (d->p >= d->end || *d->p != '"') {
        char what[32];
        describe_at(d, d->p, what, sizeof what);
        return syntax(d, d->p, "expected a field name in double quotes, found %s", what);
    }
    return scan_string(d, key);
}

/* What follows a member of an object or an element of an array (close: '}' or ']'):
 * *more is true after a ',' (white space behind it skipped), false after the closing
 * bracket; anything else is the syntax error. */
static int after_item(jdec *d, char close, bool *more) {
    skip_ws(d);
    if (d->p < d->end && (*d->p == ',' || *d->p == close)) {
        *more = *d->p++ == ',';
        if (*more) skip_ws(d);
        return J_OK;
    }
    char what[32];
    describe_at(d, d->p, what, sizeof what);
    return syntax(d, d->p, "expected ',' or '%c' in %s, found %s", close, close == '}' ? "an object" : "an array", what);
}

static int skip_value(jdec *d, int depth);

static int skip_container(jdec *d, int depth) {
    const char *open = d->p;
    bool obj = *d->p == '{';
    char close = obj ? '}' : ']';
    if (depth > JSON_MAX_DEPTH) return syntax(d, open, "nesting deeper than %d levels", JSON_MAX_DEPTH);
    d->p++;
    skip_ws(d);
    if (d->p < d->end && *d->p == close) {
        d->p++;
        return J_OK;
    }
    for (;;) {
        int rc;
        if (obj) {
            jtok key;
            if ((rc = field_name(d, &key)) != J_OK) return rc;
            skip_ws(d);
            if (d->p >= d->end || *d->p != ':')
                return syntax(d, d->p, "expected ':' after field name \"%.*s\"", (int)(key.len > 40 ? 40 : key.len), key.p);
            d->p++;
        }
        if ((rc = skip_value(d, depth + 1)) != J_OK) return rc;
        bool more;
        if ((rc = after_item(d, close, &more)) != J_OK || !more) return rc;
    }
}

/* Skips one value (after whitespace) without looking at what it holds beyond syntax. */
static int skip_value(jdec *d, int depth) {
    skip_ws(d);
    if (d->p >= d->end) return syntax(d, d->p, "expected a value, found end of input");
    jtok t;
    switch (*d->p) {
    case '"': return scan_string(d, &t);
    case '{':
    case '[': return skip_container(d, depth);
    case '-': return scan_number(d, &t);
    default:
        if (is_digit(*d->p)) return scan_number(d, &t);
        return scan_literal(d, &t);
    }
}

/* One value as a token; containers are skipped and given as their raw text. */
static int read_token(jdec *d, jtok *t, int depth) {
    skip_ws(d);
    if (d->p >= d->end) return syntax(d, d->p, "expected a value, found end of input");
    char c = *d->p;
    if (c == '"') return scan_string(d, t);
    if (c == '-' || is_digit(c)) return scan_number(d, t);
    if (c == '{' || c == '[') {
        const char *start = d->p;
        int rc = skip_container(d, depth);
        if (rc != J_OK) return rc;
        t->kind = c == '{' ? TK_OBJ : TK_ARR;
        t->p = start;
        t->len = (size_t)(d->p - start);
        return J_OK;
    }
    return scan_literal(d, t);
}

/* ---- values ----------------------------------------------------------------------- */

static const char *type_word(const weir_sql_ltype *t) { return weir_sql_type_name(t->kind); }

/* Flink's STRING from a container: the JSON text, compact (Jackson's toString). */
static void compact_json(const char *p, size_t n, weir_buf *out) {
    out->len = 0;
    bool in_str = false;
    const char *run = p, *end = p + n;
    for (const char *s = p; s < end; s++) {
        char c = *s;
        if (in_str) {
            if (c == '\\') s++;
            else if (c == '"') in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
            weir_buf_append(out, run, (size_t)(s - run));
            run = s + 1;
        }
    }
    if (end > run) weir_buf_append(out, run, (size_t)(end - run));
}

/* The text a numeric column reads: a number's digits, or a string's trimmed content. */
static bool numeric_text(jdec *d, const jtok *t, bool trim, const char **s, size_t *n) {
    if (t->kind == TK_NUM) {
        *s = t->p, *n = t->len;
        return true;
    }
    if (t->kind != TK_STR) return false;
    string_text(t, &d->j->scratch, s, n);
    if (trim) weir_format_trim(s, n);
    return true;
}

/* Converts a scalar token to column type ty as Flink's JsonToRowDataConverters do. */
static int convert_scalar(jdec *d, const weir_sql_ltype *ty, const jtok *t, jscalar *v) {
    memset(v, 0, sizeof *v);
    const char *s;
    size_t n;
    int rc;
    switch (ty->kind) {
    case WEIR_SQL_TYPE_BOOLEAN:
        if (t->kind == TK_TRUE || t->kind == TK_FALSE) {
            v->i = t->kind == TK_TRUE;
            return J_OK;
        }
        if (t->kind != TK_STR) return field_error(d, t, "expected a boolean");
        string_text(t, &d->j->scratch, &s, &n);
        weir_format_trim(&s, &n);
        v->i = n == 4 && !strncasecmp(s, "true", 4); /* Boolean.parseBoolean */
        return J_OK;
    case WEIR_SQL_TYPE_TINYINT:
    case WEIR_SQL_TYPE_SMALLINT:
    case WEIR_SQL_TYPE_INT:
    case WEIR_SQL_TYPE_BIGINT:
        if (!numeric_text(d, t, true, &s, &n)) return field_error(d, t, "expected an integer");
        rc = weir_format_parse_int(s, n, ty, &v->i);
        if (rc == WEIR_FMT_BAD && t->kind == TK_NUM && !t->is_int &&
            (ty->kind == WEIR_SQL_TYPE_INT || ty->kind == WEIR_SQL_TYPE_BIGINT)) {
            /* Jackson's canConvertToInt/Long: a fractional number is truncated */
            double x;
            weir_format_parse_double(s, n, &x);
            double lim = ty->kind == WEIR_SQL_TYPE_INT ? 2147483648.0 : 9223372036854775808.0;
            if (!(x > -lim - 1 && x < lim)) return field_error(d, t, "out of range for %s", type_word(ty));
            v->i = (int64_t)x;
            return J_OK;
        }
        if (rc == WEIR_FMT_RANGE) return field_error(d, t, "out of range for %s", type_word(ty));
        if (rc != WEIR_FMT_OK) return field_error(d, t, "expected an integer");
        return J_OK;
    case WEIR_SQL_TYPE_FLOAT:
    case WEIR_SQL_TYPE_DOUBLE:
        if (!numeric_text(d, t, true, &s, &n) || weir_format_parse_double(s, n, &v->f) != WEIR_FMT_OK)
            return field_error(d, t, "expected a number");
        return J_OK;
    case WEIR_SQL_TYPE_DECIMAL:
        if (!numeric_text(d, t, false, &s, &n)) return field_error(d, t, "expected a number");
        rc = weir_format_parse_decimal(s, n, ty->precision, ty->scale, &v->d);
        if (rc == WEIR_FMT_RANGE) v->is_null = true; /* DecimalData.fromBigDecimal: NULL on overflow */
        else if (rc != WEIR_FMT_OK) return field_error(d, t, "expected a number");
        return J_OK;
    case WEIR_SQL_TYPE_CHAR:
    case WEIR_SQL_TYPE_VARCHAR:
    case WEIR_SQL_TYPE_STRING:
        if (t->kind == TK_STR) {
            string_text(t, &d->j->scratch, &v->s, &v->len);
        } else if (t->kind == TK_OBJ || t->kind == TK_ARR) {
            compact_json(t->p, t->len, &d->j->scratch);
            v->s = d->j->scratch.len ? (const char *)d->j->scratch.data : "";
            v->len = d->j->scratch.len;
        } else {
            v->s = t->p, v->len = t->len;
        }
        return J_OK;
    case WEIR_SQL_TYPE_BINARY:
    case WEIR_SQL_TYPE_VARBINARY:
    case WEIR_SQL_TYPE_BYTES:
        if (t->kind != TK_STR) return field_error(d, t, "expected base64 bytes");
        string_text(t, &d->j->scratch, &s, &n);
        d->j->scratch2.len = 0;
        if (!weir_format_base64_decode(&d->j->scratch2, s, n)) return field_error(d, t, "expected base64 bytes");
        v->s = d->j->scratch2.len ? (const char *)d->j->scratch2.data : "";
        v->len = d->j->scratch2.len;
        return J_OK;
    case WEIR_SQL_TYPE_DATE: {
        int32_t days;
        if (t->kind != TK_STR) return field_error(d, t, "expected a DATE 'yyyy-MM-dd'");
        string_text(t, &d->j->scratch, &s, &n);
        if (weir_format_parse_date(s, n, false, &days) != WEIR_FMT_OK)
            return field_error(d, t, "expected a DATE 'yyyy-MM-dd'");
        v->i = days;
        return J_OK;
    }
    case WEIR_SQL_TYPE_TIME: {
        int64_t us;
        if (t->kind != TK_STR) return field_error(d, t, "expected a TIME 'HH:mm:ss'");
        string_text(t, &d->j->scratch, &s, &n);
        if (weir_format_parse_time(s, n, true, &us) != WEIR_FMT_OK)
            return field_error(d, t, "expected a TIME 'HH:mm:ss'");
        v->i = us / 1000000 * 1000; /* Flink's JSON TIME keeps whole seconds */
        return J_OK;
    }
    case WEIR_SQL_TYPE_TIMESTAMP:
    case WEIR_SQL_TYPE_TIMESTAMP_LTZ: {
        bool ltz = ty->kind == WEIR_SQL_TYPE_TIMESTAMP_LTZ, iso = d->j->iso;
        if (t->kind == TK_STR) {
            string_text(t, &d->j->scratch, &s, &n);
            if (weir_format_parse_timestamp(s, n, iso ? 'T' : ' ', iso, ltz ? 1 : 0, false, ty->precision, &v->i) ==
                WEIR_FMT_OK)
                return J_OK;
        }
        return field_error(d, t, "expected a %s '%s'", type_word(ty),
                           iso ? (ltz ? "yyyy-MM-ddTHH:mm:ss[.fff]Z" : "yyyy-MM-ddTHH:mm:ss[.fff]")
                               : (ltz ? "yyyy-MM-dd HH:mm:ss[.fff]Z" : "yyyy-MM-dd HH:mm:ss[.fff]"));
    }
    default: return field_error(d, t, "the json format cannot read %s", type_word(ty));
    }
}

static bool is_nested(const weir_sql_ltype *t) {
    return t->kind == WEIR_SQL_TYPE_ARRAY || t->kind == WEIR_SQL_TYPE_MAP || t->kind == WEIR_SQL_TYPE_ROW;
}

static int decode_elem(jdec *d, const weir_sql_ltype *t, weir_buf *nb, int depth);

static int push_path(jdec *d, const char *name, size_t len, long index) {
    if (d->depth + 1 >= JSON_MAX_DEPTH + 2) return syntax(d, d->p, "nesting deeper than %d levels", JSON_MAX_DEPTH);
    d->depth++;
    d->path[d->depth] = (path_seg){name, len, index};
    return J_OK;
}

static int not_a(jdec *d, const char *what, int depth) {
    jtok t;
    int rc = read_token(d, &t, depth);
    if (rc != J_OK) return rc;
    return field_error(d, &t, "expected %s", what);
}

/* The body of a nested value (an ARRAY's count and elements, a MAP's count and pairs, a
 * ROW's fields in declared order) in weir_sql_nested_* encoding, appended to nb. */
static int decode_body(jdec *d, const weir_sql_ltype *t, weir_buf *nb, int depth) {
    skip_ws(d);
    if (depth > JSON_MAX_DEPTH) return syntax(d, d->p, "nesting deeper than %d levels", JSON_MAX_DEPTH);
    bool want_obj = t->kind != WEIR_SQL_TYPE_ARRAY;
    if (d->p >= d->end || *d->p != (want_obj ? '{' : '['))
        return not_a(d, want_obj ? "an object" : "an array", depth);
    char close = want_obj ? '}' : ']';
    d->p++;
    int rc;
    if (t->kind == WEIR_SQL_TYPE_ROW) {
        /* fields may come in any order: note where each value starts, then decode them
         * in declared order */
        enum { SMALL = 32 };
        const char *small[SMALL];
        const char **at = t->nfields <= SMALL ? small : calloc((size_t)t->nfields, sizeof *at);
        if (!at) abort();
        memset(at, 0, sizeof *at * (size_t)(t->nfields <= SMALL ? SMALL : t->nfields));
        rc = J_OK;
        skip_ws(d);
        if (d->p < d->end && *d->p == '}') d->p++;
        else
            for (;;) {
                jtok key;
                if ((rc = field_name(d, &key)) != J_OK) break;
                const char *ks;
                size_t kn;
                string_text(&key, &d->j->scratch, &ks, &kn);
                skip_ws(d);
                if (d->p >= d->end || *d->p != ':') {
                    rc = syntax(d, d->p, "expected ':' after field name \"%.*s\"", (int)(kn > 40 ? 40 : kn), ks);
                    break;
                }
                d->p++;
                skip_ws(d);
                for (int i = 0; i < t->nfields; i++)
                    if (strlen(t->fields[i].name) == kn && !memcmp(t->fields[i].name, ks, kn)) at[i] = d->p;
                if ((rc = skip_value(d, depth + 1)) != J_OK) break;
                bool more;
                if ((rc = after_item(d, '}', &more)) != J_OK || !more) break;
            }
        const char *after = d->p;
        for (int i = 0; i < t->nfields && rc == J_OK; i++) {
            const char *name = t->fields[i].name;
            if ((rc = push_path(d, name, strlen(name), -1)) != J_OK) break;
            if (at[i]) {
                d->p = at[i];
                rc = decode_elem(d, t->fields[i].type, nb, depth + 1);
            } else if (d->j->fail_on_missing) {
                rc = field_error(d, NULL, "missing (%sjson.fail-on-missing-field is true)", d->f->prefix);
            } else if (t->fields[i].type->not_null) {
                rc = field_error(d, NULL, "missing, and the field is NOT NULL");
            } else {
                weir_sql_nested_put_null(nb);
            }
            d->depth--;
        }
        if (at != small) free((void *)at);
        d->p = after;
        return rc;
    }
    size_t slot = weir_sql_nested_put_count_slot(nb);
    uint32_t count = 0;
    skip_ws(d);
    if (d->p < d->end && *d->p == close) {
        d->p++;
        return J_OK;
    }
    for (;;) {
        if (t->kind == WEIR_SQL_TYPE_MAP) {
            jtok key;
            if ((rc = field_name(d, &key)) != J_OK) return rc;
            const char *ks;
            size_t kn;
            string_text(&key, &d->j->scratch, &ks, &kn);
            weir_sql_nested_put_bytes(nb, ks, (uint32_t)kn);
            skip_ws(d);
            if (d->p >= d->end || *d->p != ':')
                return syntax(d, d->p, "expected ':' after field name \"%.*s\"", (int)(kn > 40 ? 40 : kn), ks);
            d->p++;
            if ((rc = push_path(d, key.p, key.len, -1)) != J_OK) return rc;
            rc = decode_elem(d, t->value, nb, depth + 1);
        } else {
            if ((rc = push_path(d, NULL, 0, (long)count)) != J_OK) return rc;
            rc = decode_elem(d, t->elem, nb, depth + 1);
        }
        d->depth--;
        if (rc != J_OK) return rc;
        count++;
        bool more;
        if ((rc = after_item(d, close, &more)) != J_OK) return rc;
        if (!more) break;
    }
    weir_sql_nested_set_count(nb, slot, count);
    return J_OK;
}

/* One element of a nested value: NULL, a scalar, or a nested value (tag, length, body). */
static int decode_elem(jdec *d, const weir_sql_ltype *t, weir_buf *nb, int depth) {
    skip_ws(d);
    if (d->p < d->end && *d->p == 'n') {
        jtok tk;
        int rc = scan_literal(d, &tk);
        if (rc != J_OK) return rc;
        if (t->not_null && !d->ignore) return field_error(d, NULL, "null for a NOT NULL field");
        weir_sql_nested_put_null(nb);
        return J_OK;
    }
    size_t mark = nb->len;
    int rc;
    if (is_nested(t)) {
        uint8_t tag = 1;
        weir_buf_append(nb, &tag, 1);
        size_t slot = weir_sql_nested_put_count_slot(nb); /* the u32 length, filled below */
        rc = decode_body(d, t, nb, depth);
        if (rc == J_OK) weir_sql_nested_set_count(nb, slot, (uint32_t)(nb->len - slot - 4));
    } else {
        jtok tk;
        jscalar v;
        if ((rc = read_token(d, &tk, depth)) != J_OK) return rc;
        if (tk.kind == TK_NULL) v.is_null = true, rc = J_OK;
        else rc = convert_scalar(d, t, &tk, &v);
        if (rc == J_OK) weir_format_put_nested_value(nb, t, &v);
    }
    if (rc == J_FIELD && d->ignore) {
        nb->len = mark;
        weir_sql_nested_put_null(nb);
        return J_OK;
    }
    return rc;
}

/* A top-level field's value straight into its batch column. */
static int decode_column(jdec *d, const json_field *fld, weir_sql_batch *b, int row) {
    const weir_sql_ltype *t = &b->cols[fld->col].type;
    int rc;
    d->depth = 0;
    d->path[0] = (path_seg){fld->name, fld->len, -1};
    skip_ws(d);
    if (is_nested(t) && !(d->p < d->end && *d->p == 'n')) {
        weir_buf *nb = &d->j->nest;
        nb->len = 0;
        rc = decode_body(d, t, nb, 1);
        if (rc == J_OK) {
            weir_sql_batch_set_str(b, fld->col, row, nb->len ? (const char *)nb->data : "", nb->len);
            return J_OK;
        }
    } else {
        jtok tk;
        jscalar v;
        if ((rc = read_token(d, &tk, 1)) != J_OK) return rc;
        if (tk.kind == TK_NULL) v.is_null = true, rc = J_OK;
        else rc = convert_scalar(d, t, &tk, &v);
        if (rc == J_OK && !v.is_null) {
            if (t->kind == WEIR_SQL_TYPE_FLOAT || t->kind == WEIR_SQL_TYPE_DOUBLE) weir_sql_batch_set_f64(b, fld->col, row, v.f);
            else if (t->kind == WEIR_SQL_TYPE_DECIMAL) weir_format_set_decimal(b, fld->col, row, t, v.d);
            else if (weir_sql_ltype_is_string(t) || weir_sql_ltype_is_binary(t))
                weir_sql_batch_set_str(b, fld->col, row, v.s, v.len);
            else weir_sql_batch_set_i64(b, fld->col, row, v.i);
            return J_OK;
        }
        if (rc == J_OK) {
            weir_sql_batch_set_null(b, fld->col, row, true);
            if (t->not_null) {
                field_error(d, NULL, "null for a NOT NULL column");
                return J_SYNTAX;
            }
            return J_OK;
        }
    }
    if (rc == J_FIELD && d->ignore && !t->not_null) {
        weir_sql_batch_set_null(b, fld->col, row, true);
        return J_OK;
    }
    return rc == J_FIELD ? J_SYNTAX : rc;
}

static uint32_t hash_name(const char *s, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

static int find_field(const json_fmt *j, const char *s, size_t n) {
    uint32_t mask = (uint32_t)j->nslots - 1;
    for (uint32_t i = hash_name(s, n) & mask;; i = (i + 1) & mask) {
        int k = j->slots[i];
        if (!k) return -1;
        const json_field *fl = &j->fields[k - 1];
        if (fl->len == n && !memcmp(fl->name, s, n)) return k - 1;
    }
}

static int json_decode(weir_format *f, const uint8_t *data, size_t len, weir_sql_batch *b, int row, weir_err *err) {
    if (!data) return WEIR_ENOTFOUND;
    json_fmt *j = f->impl;
    jdec d = {.f = f, .j = j, .start = (const char *)data, .p = (const char *)data, .end = (const char *)data + len,
              .err = err, .ignore = f->ignore_parse_errors};
    memset(j->seen, 0, (size_t)j->nfields);
    skip_ws(&d);
    if (d.p >= d.end || *d.p != '{') {
        char what[32];
        describe_at(&d, d.p, what, sizeof what);
        syntax(&d, d.p, "expected '{' at the start of a JSON object, found %s", what);
        return WEIR_ERROR;
    }
    d.p++;
    skip_ws(&d);
    if (d.p < d.end && *d.p == '}') d.p++;
    else
        for (;;) {
            jtok key;
            if (d.p >= d.end || *d.p != '"') {
                char what[32];
                describe_at(&d, d.p, what, sizeof what);
                syntax(&d, d.p, "expected a field name in double quotes, found %s", what);
                return WEIR_ERROR;
            }
            if (scan_string(&d, &key) != J_OK) return WEIR_ERROR;
            const char *ks;
            size_t kn;
            string_text(&key, &j->scratch, &ks, &kn);
            int k = find_field(j, ks, kn);
            skip_ws(&d);
            if (d.p >= d.end || *d.p != ':') {
                syntax(&d, d.p, "expected ':' after field name \"%.*s\"", (int)(kn > 40 ? 40 : kn), ks);
                return WEIR_ERROR;
            }
            d.p++;
            int rc;
            if (k < 0 || !f->needed[j->fields[k].col]) {
                rc = skip_value(&d, 1);
            } else {
                j->seen[k] = 1;
                rc = decode_column(&d, &j->fields[k], b, row);
            }
            if (rc != J_OK) return WEIR_ERROR;
            skip_ws(&d);
            if (d.p < d.end && *d.p == ',') {
                d.p++;
                skip_ws(&d);
                continue;
            }
            if (d.p < d.end && *d.p == '}') {
                d.p++;
                break;
            }
            char what[32];
            describe_at(&d, d.p, what, sizeof what);
            syntax(&d, d.p, "expected ',' or '}' after the value of field \"%.*s\", found %s",
                   (int)(key.len > 40 ? 40 : key.len), key.p, what);
            return WEIR_ERROR;
        }
    skip_ws(&d);
    if (d.p < d.end) {
        char what[32];
        describe_at(&d, d.p, what, sizeof what);
        syntax(&d, d.p, "unexpected %s after the JSON object", what);
        return WEIR_ERROR;
    }
    for (int k = 0; k < j->nfields; k++) {
        const json_field *fl = &j->fields[k];
        if (j->seen[k] || !f->needed[fl->col]) continue;
        if (j->fail_on_missing)
            return weir_err_set(err, "field '%s' is missing (%sjson.fail-on-missing-field is true)", fl->name,
                                f->prefix);
        if (b->cols[fl->col].type.not_null)
            return weir_err_set(err, "field '%s' is missing, and the column is NOT NULL", fl->name);
        weir_sql_batch_set_null(b, fl->col, row, true);
    }
    return WEIR_OK;
}

/* ---- encoding --------------------------------------------------------------------- */

typedef struct jenc {
    json_fmt *j;
    const weir_format *f;
    const char *column;
    weir_err *err;
} jenc;

static void put_json_string(weir_buf *out, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    weir_buf_append(out, "\"", 1);
    const char *run = s;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        weir_buf_append(out, run, (size_t)(s + i - run));
        run = s + i + 1;
        char e[6] = {'\\', 0};
        size_t en = 2;
        switch (c) {
        case '"': e[1] = '"'; break;
        case '\\': e[1] = '\\'; break;
        case '\b': e[1] = 'b'; break;
        case '\f': e[1] = 'f'; break;
        case '\n': e[1] = 'n'; break;
        case '\r': e[1] = 'r'; break;
        case '\t': e[1] = 't'; break;
        default: e[1] = 'u', e[2] = '0', e[3] = '0', e[4] = hex[c >> 4], e[5] = hex[c & 15], en = 6;
        }
        weir_buf_append(out, e, en);
    }
    weir_buf_append(out, run, (size_t)(s + n - run));
    weir_buf_append(out, "\"", 1);
}

static void put_lit(weir_buf *out, const char *s) { weir_buf_append(out, s, strlen(s)); }

/* A scalar as Flink's RowDataToJsonConverters writes it (through Jackson). */
static void encode_scalar(jenc *e, weir_buf *out, const weir_sql_ltype *t, int64_t i, double f, __int128 dec,
                          weir_str s) {
    char buf[48];
    switch (t->kind) {
    case WEIR_SQL_TYPE_BOOLEAN: put_lit(out, i ? "true" : "false"); return;
    case WEIR_SQL_TYPE_FLOAT:
    case WEIR_SQL_TYPE_DOUBLE:
        if (isnan(f) || isinf(f)) { /* Jackson quotes non-numeric numbers */
            put_lit(out, isnan(f) ? "\"NaN\"" : f > 0 ? "\"Infinity\"" : "\"-Infinity\"");
            return;
        }
        weir_sql_format_f64(out, t, f);
        return;
    case WEIR_SQL_TYPE_DECIMAL: weir_format_decimal_text(out, dec, t->scale, e->j->plain_decimal); return;
    case WEIR_SQL_TYPE_CHAR:
    case WEIR_SQL_TYPE_VARCHAR:
    case WEIR_SQL_TYPE_STRING: put_json_string(out, s.ptr, (size_t)s.len); return;
    case WEIR_SQL_TYPE_BINARY:
    case WEIR_SQL_TYPE_VARBINARY:
    case WEIR_SQL_TYPE_BYTES:
        weir_buf_append(out, "\"", 1);
        weir_format_base64_encode(out, (const uint8_t *)s.ptr, (size_t)s.len);
        weir_buf_append(out, "\"", 1);
        return;
    case WEIR_SQL_TYPE_DATE:
        weir_buf_append(out, "\"", 1);
        weir_format_date_text(out, i);
        weir_buf_append(out, "\"", 1);
        return;
    case WEIR_SQL_TYPE_TIME: /* Flink's JSON TIME: whole seconds */
        weir_buf_append(out, "\"", 1);
        weir_format_time_text(out, i / 1000 * 1000000, false);
        weir_buf_append(out, "\"", 1);
        return;
    case WEIR_SQL_TYPE_TIMESTAMP:
    case WEIR_SQL_TYPE_TIMESTAMP_LTZ:
        weir_buf_append(out, "\"", 1);
        weir_format_timestamp_text(out, i, e->j->iso ? 'T' : ' ', t->kind == WEIR_SQL_TYPE_TIMESTAMP_LTZ);
        weir_buf_append(out, "\"", 1);
        return;
    default: {
        int n = snprintf(buf, sizeof buf, "%lld", (long long)i);
        weir_buf_append(out, buf, (size_t)n);
    }
    }
}

static int encode_nested(jenc *e, weir_buf *out, const weir_sql_ltype *t, weir_str enc, int depth);

static int encode_elem(jenc *e, weir_buf *out, const weir_sql_ltype *t, const weir_sql_nested_value *v, int depth) {
    if (v->is_null) {
        put_lit(out, "null");
        return WEIR_OK;
    }
    if (is_nested(t)) return encode_nested(e, out, t, v->s, depth + 1);
    encode_scalar(e, out, t, v->i, v->f, v->d, v->s);
    return WEIR_OK;
}

static int malformed(jenc *e) {
    return weir_err_set(e->err, "column '%s': malformed nested value in the batch", e->column);
}

static int encode_nested(jenc *e, weir_buf *out, const weir_sql_ltype *t, weir_str enc, int depth) {
    if (depth > JSON_MAX_DEPTH) return weir_err_set(e->err, "column '%s': nesting deeper than %d levels", e->column, JSON_MAX_DEPTH);
    weir_sql_nested_reader r;
    weir_sql_nested_reader_init(&r, enc);
    weir_sql_nested_value v, k;
    uint32_t n;
    if (t->kind == WEIR_SQL_TYPE_ROW) {
        weir_buf_append(out, "{", 1);
        bool first = true;
        for (int i = 0; i < t->nfields; i++) {
            if (!weir_sql_nested_get(&r, t->fields[i].type, &v)) return malformed(e);
            if (v.is_null && e->j->ignore_null_fields) continue;
            if (!first) weir_buf_append(out, ",", 1);
            first = false;
            put_json_string(out, t->fields[i].name, strlen(t->fields[i].name));
            weir_buf_append(out, ":", 1);
            if (encode_elem(e, out, t->fields[i].type, &v, depth) != WEIR_OK) return WEIR_ERROR;
        }
        weir_buf_append(out, "}", 1);
        return WEIR_OK;
    }
    if (!weir_sql_nested_get_count(&r, &n)) return malformed(e);
    bool map = t->kind == WEIR_SQL_TYPE_MAP;
    weir_buf_append(out, map ? "{" : "[", 1);
    bool first = true;
    for (uint32_t i = 0; i < n; i++) {
        if (map) {
            if (!weir_sql_nested_get(&r, t->elem, &k) || !weir_sql_nested_get(&r, t->value, &v)) return malformed(e);
            if (k.is_null) {
                if (e->j->null_key_mode == NULL_KEY_DROP) continue;
                if (e->j->null_key_mode == NULL_KEY_FAIL)
                    return weir_err_set(e->err,
                                        "column '%s': a MAP with a NULL key cannot be written as JSON "
                                        "(%sjson.map-null-key.mode is FAIL; DROP or LITERAL allow it)",
                                        e->column, e->f->prefix);
                k.s.ptr = e->j->null_key_literal;
                k.s.len = (int32_t)strlen(e->j->null_key_literal);
            }
            if (!first) weir_buf_append(out, ",", 1);
            put_json_string(out, k.s.ptr, (size_t)k.s.len);
            weir_buf_append(out, ":", 1);
        } else {
            if (!weir_sql_nested_get(&r, t->elem, &v)) return malformed(e);
            if (!first) weir_buf_append(out, ",", 1);
        }
        first = false;
        if (encode_elem(e, out, map ? t->value : t->elem, &v, depth) != WEIR_OK) return WEIR_ERROR;
    }
    weir_buf_append(out, map ? "}" : "]", 1);
    return WEIR_OK;
}

static int json_encode(weir_format *f, const weir_sql_batch *b, int row, weir_buf *out, weir_err *err) {
    json_fmt *j = f->impl;
    size_t mark = out->len;
    weir_buf_append(out, "{", 1);
    bool first = true;
    for (int k = 0; k < j->nfields; k++) {
        const json_field *fl = &j->fields[k];
        int c = fl->col;
        bool null = weir_sql_batch_is_null(b, c, row);
        if (null && j->ignore_null_fields) continue;
        if (!first) weir_buf_append(out, ",", 1);
        first = false;
        weir_buf_append(out, fl->key_json, fl->key_json_len);
        if (null) {
            put_lit(out, "null");
            continue;
        }
        const weir_sql_ltype *t = &b->cols[c].type;
        jenc e = {j, f, fl->name, err};
        if (is_nested(t)) {
            if (encode_nested(&e, out, t, weir_sql_batch_get_str(b, c, row), 1) != WEIR_OK) {
                out->len = mark;
                return WEIR_ERROR;
            }
        } else if (t->kind == WEIR_SQL_TYPE_FLOAT || t->kind == WEIR_SQL_TYPE_DOUBLE) {
            encode_scalar(&e, out, t, 0, weir_sql_batch_get_f64(b, c, row), 0, WEIR_STR_NULL);
        } else if (t->kind == WEIR_SQL_TYPE_DECIMAL) {
            encode_scalar(&e, out, t, 0, 0, weir_format_get_decimal(b, c, row, t), WEIR_STR_NULL);
        } else if (weir_sql_ltype_is_string(t) || weir_sql_ltype_is_binary(t)) {
            encode_scalar(&e, out, t, 0, 0, 0, weir_sql_batch_get_str(b, c, row));
        } else {
            encode_scalar(&e, out, t, weir_sql_batch_get_i64(b, c, row), 0, 0, WEIR_STR_NULL);
        }
    }
    weir_buf_append(out, "}", 1);
    return WEIR_OK;
}

/* ---- open ------------------------------------------------------------------------- */

static const char *const json_keys[] = {
    "json.fail-on-missing-field", "json.ignore-parse-errors", "json.timestamp-format.standard",
    "json.map-null-key.mode", "json.map-null-key.literal", "json.encode.decimal-as-plain-number",
    "json.encode.ignore-null-fields", "json.decode.json-parser.enabled", NULL};

/* Types the json format cannot carry: MULTISET, and MAPs whose keys are not strings. */
static int check_type(weir_format *f, const char *col, const weir_sql_ltype *t, weir_err *err) {
    if (t->kind == WEIR_SQL_TYPE_MULTISET || (t->kind == WEIR_SQL_TYPE_MAP && !weir_sql_ltype_is_string(t->elem))) {
        weir_arena a;
        weir_arena_init(&a, 0);
        weir_err_set(err, "table '%s': the json format cannot carry column '%s' of type %s%s", f->table->name, col,
                     weir_sql_ltype_str(&a, t),
                     t->kind == WEIR_SQL_TYPE_MAP ? " (JSON object keys are strings: use MAP<STRING, ...>)" : "");
        weir_arena_free(&a);
        return WEIR_ERROR;
    }
    if (t->kind == WEIR_SQL_TYPE_INTERVAL_YM || t->kind == WEIR_SQL_TYPE_INTERVAL_DT || t->kind == WEIR_SQL_TYPE_NULL ||
        t->kind == WEIR_SQL_TYPE_SYMBOL)
        return weir_err_set(err, "table '%s': the json format cannot carry column '%s' of type %s", f->table->name,
                            col, weir_sql_type_name(t->kind));
    if (t->elem && check_type(f, col, t->elem, err)) return WEIR_ERROR;
    if (t->value && check_type(f, col, t->value, err)) return WEIR_ERROR;
    for (int i = 0; i < t->nfields; i++)
        if (check_type(f, col, t->fields[i].type, err)) return WEIR_ERROR;
    return WEIR_OK;
}

static void json_free(weir_format *f) {
    json_fmt *j = f->impl;
    for (int k = 0; k < j->nfields; k++) free(j->fields[k].key_json);
    free(j->fields);
    free(j->slots);
    free(j->seen);
    weir_buf_free(&j->scratch);
    weir_buf_free(&j->scratch2);
    weir_buf_free(&j->nest);
    free(j);
    f->impl = NULL;
}

static int json_open(weir_format *f, weir_err *err) {
    json_fmt *j = weir_format_impl_new(f, sizeof *j);
    j->null_key_literal = "null";
    j->parser_enabled = true;
    static const char *const standards[] = {"SQL", "ISO-8601", NULL};
    static const char *const modes[] = {"FAIL", "DROP", "LITERAL", NULL};
    int standard = 0;
    if (weir_format_opt_bool(f, "json.fail-on-missing-field", &j->fail_on_missing, err) ||
        weir_format_opt_choice(f, "json.timestamp-format.standard", standards, &standard, err) ||
        weir_format_opt_choice(f, "json.map-null-key.mode", modes, &j->null_key_mode, err) ||
        weir_format_opt_bool(f, "json.encode.decimal-as-plain-number", &j->plain_decimal, err) ||
        weir_format_opt_bool(f, "json.encode.ignore-null-fields", &j->ignore_null_fields, err) ||
        weir_format_opt_bool(f, "json.decode.json-parser.enabled", &j->parser_enabled, err))
        goto fail;
    j->iso = standard == 1;
    const char *lit = weir_format_opt_str(f, "json.map-null-key.literal");
    if (lit) j->null_key_literal = lit;
    if (j->fail_on_missing && f->ignore_parse_errors) {
        weir_err_set(err, "table '%s': '%sjson.fail-on-missing-field' and '%sjson.ignore-parse-errors' cannot both be true",
                     f->table->name, f->prefix, f->prefix);
        goto fail;
    }
    j->nfields = f->ncols;
    j->fields = calloc((size_t)(f->ncols ? f->ncols : 1), sizeof *j->fields);
    j->seen = calloc((size_t)(f->ncols ? f->ncols : 1), 1);
    j->nslots = 8;
    while (j->nslots < 2 * f->ncols + 1) j->nslots *= 2;
    j->slots = calloc((size_t)j->nslots, sizeof *j->slots);
    if (!j->fields || !j->seen || !j->slots) abort();
    for (int k = 0; k < f->ncols; k++) {
        const weir_sql_table_column *c = &f->table->columns[f->cols[k]];
        if (check_type(f, c->name, &c->type, err)) goto fail;
        json_field *fl = &j->fields[k];
        fl->name = c->name;
        fl->len = strlen(c->name);
        fl->col = f->cols[k];
        weir_buf kb;
        weir_buf_init(&kb);
        put_json_string(&kb, fl->name, fl->len);
        weir_buf_append(&kb, ":", 1);
        fl->key_json = (char *)kb.data;
        fl->key_json_len = kb.len;
        uint32_t mask = (uint32_t)j->nslots - 1, i = hash_name(fl->name, fl->len) & mask;
        while (j->slots[i]) {
            const json_field *o = &j->fields[j->slots[i] - 1];
            if (o->len == fl->len && !memcmp(o->name, fl->name, fl->len)) break; /* same name twice: last wins */
            i = (i + 1) & mask;
        }
        j->slots[i] = k + 1;
    }
    return WEIR_OK;
fail:
    json_free(f);
    return WEIR_ERROR;
}

const weir_format_ops weir_format_json_ops = {
    .name = "json", .keys = json_keys, .open = json_open, .free = json_free, .decode = json_decode,
    .encode = json_encode};

/* ---- debezium-json ------------------------------------------------------------------ */

/* Flink's 'debezium-json': a record is Debezium's change event {"before": {...}, "after":
 * {...}, "op": "c|r|u|d"} (inside {"schema": ..., "payload": ...} with
 * 'debezium-json.schema-include'); the row images are decoded and encoded by the json
 * format above (an inner instance over the same columns whose options are the
 * 'debezium-json.*' ones), so there is one JSON codec. */

static const char *const dbz_keys[] = {
    "debezium-json.schema-include", "debezium-json.ignore-parse-errors", "debezium-json.timestamp-format.standard",
    "debezium-json.map-null-key.mode", "debezium-json.map-null-key.literal",
    "debezium-json.encode.decimal-as-plain-number", "debezium-json.encode.ignore-null-fields", NULL};

typedef struct dbz_fmt {
    weir_format inner; /* json over f's columns: prefix "<prefix>debezium-" reads 'debezium-json.*' */
    bool schema_include;
} dbz_fmt;

/* One member of the envelope: its value's raw text. */
typedef struct dbz_member {
    bool present;
    jtok tok;
} dbz_member;

/* Walks the object [p, end) and keeps the members named in names[] (the last one wins,
 * as Jackson's tree does); the others are only checked for syntax. */
static int dbz_members(jdec *d, const char *const *names, int n, dbz_member *out) {
    for (int i = 0; i < n; i++) out[i].present = false;
    skip_ws(d);
    if (d->p >= d->end || *d->p != '{') {
        char what[32];
        describe_at(d, d->p, what, sizeof what);
        return syntax(d, d->p, "expected '{' at the start of a Debezium change event, found %s", what);
    }
    d->p++;
    skip_ws(d);
    if (d->p < d->end && *d->p == '}') {
        d->p++;
        return J_OK;
    }
    for (;;) {
        jtok key;
        int rc;
        if ((rc = field_name(d, &key)) != J_OK) return rc;
        const char *ks;
        size_t kn;
        string_text(&key, &d->j->scratch2, &ks, &kn);
        int k = -1;
        for (int i = 0; i < n && k < 0; i++)
            if (strlen(names[i]) == kn && !memcmp(names[i], ks, kn)) k = i;
        skip_ws(d);
        if (d->p >= d->end || *d->p != ':')
            return syntax(d, d->p, "expected ':' after field name \"%.*s\"", (int)(key.len > 40 ? 40 : key.len), key.p);
        d->p++;
        if (k >= 0) {
            if ((rc = read_token(d, &out[k].tok, 1)) != J_OK) return rc;
            out[k].present = true;
        } else if ((rc = skip_value(d, 1)) != J_OK) {
            return rc;
        }
        bool more;
        if ((rc = after_item(d, '}', &more)) != J_OK) return rc;
        if (!more) return J_OK;
    }
}

/* One row image ("before" or "after") into row `row` with kind `kind`. */
static int dbz_image(weir_format *f, const dbz_member *m, const char *name, const char *op, weir_sql_batch *b,
                     int row, int kind, weir_err *err) {
    dbz_fmt *z = f->impl;
    if (!m->present || m->tok.kind == TK_NULL)
        return weir_err_set(err,
                            "the \"%s\" field of a change event with \"op\": \"%s\" is %s%s", name, op,
                            m->present ? "null" : "missing",
                            !strcmp(name, "before") ? " (with Debezium's Postgres connector, set the table's REPLICA "
                                                      "IDENTITY to FULL)" : "");
    if (m->tok.kind != TK_OBJ) {
        weir_buf found;
        weir_buf_init(&found);
        found_text(&m->tok, &found);
        weir_err_set(err, "the \"%s\" field is not an object: found %s", name, (char *)found.data);
        weir_buf_free(&found);
        return WEIR_ERROR;
    }
    weir_err why;
    if (json_decode(&z->inner, (const uint8_t *)m->tok.p, m->tok.len, b, row, &why) != WEIR_OK)
        return weir_err_set(err, "in \"%s\": %s", name, why.msg);
    b->row_kinds[row] = (uint8_t)kind;
    return WEIR_OK;
}

static int dbz_decode_changes(weir_format *f, const uint8_t *data, size_t len, weir_sql_batch *b, int row, int *nrows,
                              weir_err *err) {
    dbz_fmt *z = f->impl;
    *nrows = 0;
    if (!data) return WEIR_OK; /* Debezium's tombstone after a delete: no change, as in Flink */
    json_fmt *j = z->inner.impl;
    jdec d = {.f = &z->inner, .j = j, .start = (const char *)data, .p = (const char *)data,
              .end = (const char *)data + len, .err = err, .ignore = f->ignore_parse_errors};
    static const char *const names[] = {"before", "after", "op", "payload", "schema"};
    enum { M_BEFORE, M_AFTER, M_OP, M_PAYLOAD, M_SCHEMA, M_N };
    dbz_member m[M_N];
    if (dbz_members(&d, names, M_N, m) != J_OK) return WEIR_ERROR;
    skip_ws(&d);
    if (d.p < d.end) {
        char what[32];
        describe_at(&d, d.p, what, sizeof what);
        syntax(&d, d.p, "unexpected %s after the JSON object", what);
        return WEIR_ERROR;
    }
    if (z->schema_include) {
        if (!m[M_PAYLOAD].present || m[M_PAYLOAD].tok.kind != TK_OBJ)
            return weir_err_set(err, "no \"payload\" object ('%sdebezium-json.schema-include' is true: records are "
                                "{\"schema\": ..., \"payload\": {\"before\": ..., \"after\": ..., \"op\": ...}})",
                                f->prefix);
        d.start = d.p = m[M_PAYLOAD].tok.p;
        d.end = m[M_PAYLOAD].tok.p + m[M_PAYLOAD].tok.len;
        if (dbz_members(&d, names, M_OP + 1, m) != J_OK) return WEIR_ERROR;
    } else if (!m[M_OP].present && m[M_PAYLOAD].present && m[M_SCHEMA].present) {
        return weir_err_set(err, "no \"op\" field, but \"schema\" and \"payload\": the records carry their schema; set "
                            "'%sdebezium-json.schema-include' = 'true'", f->prefix);
    }
    if (!m[M_OP].present || m[M_OP].tok.kind != TK_STR) {
        if (!m[M_OP].present) return weir_err_set(err, "no \"op\" field (a Debezium change event has \"op\": c, r, u or d)");
        weir_buf found;
        weir_buf_init(&found);
        found_text(&m[M_OP].tok, &found);
        weir_err_set(err, "\"op\" is not a string: found %s", (char *)found.data);
        weir_buf_free(&found);
        return WEIR_ERROR;
    }
    const char *op;
    size_t opn;
    string_text(&m[M_OP].tok, &j->scratch2, &op, &opn);
    char opc = opn == 1 ? op[0] : 0;
    char ops[2] = {opc, 0};
    switch (opc) {
    case 'c':
    case 'r':
        if (dbz_image(f, &m[M_AFTER], "after", ops, b, row, WEIR_SQL_ROW_INSERT, err) != WEIR_OK) return WEIR_ERROR;
        *nrows = 1;
        return WEIR_OK;
    case 'u': {
        if (dbz_image(f, &m[M_BEFORE], "before", ops, b, row, WEIR_SQL_ROW_UPDATE_BEFORE, err) != WEIR_OK)
            return WEIR_ERROR;
        if (!m[M_AFTER].present || m[M_AFTER].tok.kind == TK_NULL)
            return dbz_image(f, &m[M_AFTER], "after", ops, b, row, WEIR_SQL_ROW_UPDATE_AFTER, err);
        int r2 = weir_sql_batch_add_row(b);
        if (dbz_image(f, &m[M_AFTER], "after", ops, b, r2, WEIR_SQL_ROW_UPDATE_AFTER, err) != WEIR_OK)
            return WEIR_ERROR;
        *nrows = 2;
        return WEIR_OK;
    }
    case 'd':
        if (dbz_image(f, &m[M_BEFORE], "before", ops, b, row, WEIR_SQL_ROW_DELETE, err) != WEIR_OK) return WEIR_ERROR;
        *nrows = 1;
        return WEIR_OK;
    default: {
        weir_buf shown;
        weir_buf_init(&shown);
        weir_format_snippet(&shown, op, opn, 20);
        weir_buf_append(&shown, "", 1);
        weir_err_set(err, "unknown \"op\" value \"%s\" (Debezium's are c, r, u and d)", (char *)shown.data);
        weir_buf_free(&shown);
        return WEIR_ERROR;
    }
    }
}

static int dbz_decode(weir_format *f, const uint8_t *data, size_t len, weir_sql_batch *b, int row, weir_err *err) {
    int n;
    int rc = dbz_decode_changes(f, data, len, b, row, &n, err);
    return rc != WEIR_OK ? rc : n ? WEIR_OK : WEIR_ENOTFOUND;
}

/* As Flink's DebeziumJsonSerializationSchema: Debezium has no update event made of two
 * rows, so +I and +U are written as creates ({"before":null,"after":{...},"op":"c"}) and
 * -U and -D as deletes ({"before":{...},"after":null,"op":"d"}). */
static int dbz_encode(weir_format *f, const weir_sql_batch *b, int row, weir_buf *out, weir_err *err) {
    dbz_fmt *z = f->impl;
    json_fmt *j = z->inner.impl;
    if (z->schema_include)
        return weir_err_set(err, "table '%s': the debezium-json format cannot write records with their schema "
                            "('%sdebezium-json.schema-include' is true); set it to false for a sink",
                            f->table->name, f->prefix);
    int kind = b->row_kinds[row];
    bool create = kind == WEIR_SQL_ROW_INSERT || kind == WEIR_SQL_ROW_UPDATE_AFTER;
    size_t mark = out->len;
    weir_buf_append(out, "{", 1);
    if (!create) {
        put_lit(out, "\"before\":");
        if (json_encode(&z->inner, b, row, out, err) != WEIR_OK) {
            out->len = mark;
            return WEIR_ERROR;
        }
        if (!j->ignore_null_fields) put_lit(out, ",\"after\":null");
        put_lit(out, ",\"op\":\"d\"}");
    } else {
        if (!j->ignore_null_fields) put_lit(out, "\"before\":null,");
        put_lit(out, "\"after\":");
        if (json_encode(&z->inner, b, row, out, err) != WEIR_OK) {
            out->len = mark;
            return WEIR_ERROR;
        }
        put_lit(out, ",\"op\":\"c\"}");
    }
    return WEIR_OK;
}

static void dbz_free(weir_format *f) {
    dbz_fmt *z = f->impl;
    if (z->inner.impl) json_free(&z->inner);
    free(z->inner.prefix);
    free(z);
    f->impl = NULL;
}

static int dbz_open(weir_format *f, weir_err *err) {
    dbz_fmt *z = weir_format_impl_new(f, sizeof *z);
    if (weir_format_opt_bool(f, "debezium-json.schema-include", &z->schema_include, err) != WEIR_OK) goto fail;
    /* the inner json reads 'json.x' under its prefix: "<prefix>debezium-" + "json.x" is
     * Flink's 'debezium-json.x' (the json keys debezium-json lacks were refused already) */
    z->inner = *f;
    z->inner.ops = &weir_format_json_ops;
    z->inner.impl = NULL;
    size_t pl = strlen(f->prefix);
    z->inner.prefix = malloc(pl + 10);
    if (!z->inner.prefix) abort();
    memcpy(z->inner.prefix, f->prefix, pl);
    memcpy(z->inner.prefix + pl, "debezium-", 10);
    if (json_open(&z->inner, err) != WEIR_OK) {
        z->inner.impl = NULL;
        goto fail;
    }
    return WEIR_OK;
fail:
    dbz_free(f);
    return WEIR_ERROR;
}

const weir_format_ops weir_format_debezium_json_ops = {
    .name = "debezium-json", .keys = dbz_keys, .open = dbz_open, .free = dbz_free, .decode = dbz_decode,
    .encode = dbz_encode, .decode_changes = dbz_decode_changes};
