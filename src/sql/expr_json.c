/* expr_json.c — JSON_VALUE, JSON_QUERY and JSON_EXISTS for compiled programs, over jansson
 * (not the hot path), with Flink's JSON path subset: an optional 'lax' / 'strict' mode, $,
 * .key, ['key'], [n] and [*]. Defaults as Flink's: NULL ON EMPTY / NULL ON ERROR for
 * JSON_VALUE and JSON_QUERY (without array wrapper), FALSE ON ERROR for JSON_EXISTS; in lax
 * mode a missing member is empty, in strict mode it is an error (so NULL / FALSE too).
 * JSON_STRING and JSON_ARRAY serialise SQL values. */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql/eval_internal.h"

enum { JF_VALUE, JF_QUERY, JF_EXISTS, JF_STRING, JF_ARRAY };

int weir_sql_fn_json_id(const char *name) {
    if (!strcmp(name, "JSON_STRING")) return WEIR_SQL_FN_JSON + JF_STRING;
    if (!strcmp(name, "JSON_ARRAY")) return WEIR_SQL_FN_JSON + JF_ARRAY;
    if (!strcmp(name, "JSON_VALUE")) return WEIR_SQL_FN_JSON + JF_VALUE;
    if (!strcmp(name, "JSON_QUERY")) return WEIR_SQL_FN_JSON + JF_QUERY;
    if (!strcmp(name, "JSON_EXISTS")) return WEIR_SQL_FN_JSON + JF_EXISTS;
    return -1;
}

/* One step of a path: a member name, an index, or every element. */
typedef struct step {
    int kind; /* 0 member, 1 index, 2 wildcard */
    char *name;
    long index;
} step;

/* Parses a JSON path; returns the number of steps, or -1 when the path is not valid. */
static int parse_path(weir_str s, step *steps, int max, bool *strict, weir_arena *a) {
    int k = 0, n = 0;
    while (k < s.len && isspace((unsigned char)s.ptr[k])) k++;
    *strict = false;
    if (s.len - k >= 4 && !strncmp(s.ptr + k, "lax", 3) && isspace((unsigned char)s.ptr[k + 3])) k += 4;
    else if (s.len - k >= 7 && !strncmp(s.ptr + k, "strict", 6) && isspace((unsigned char)s.ptr[k + 6])) k += 7, *strict = true;
    while (k < s.len && isspace((unsigned char)s.ptr[k])) k++;
    if (k >= s.len || s.ptr[k] != '$') return -1;
    k++;
    while (k < s.len) {
        if (n == max) return -1;
        step *st = &steps[n];
        if (s.ptr[k] == '.') {
            k++;
            if (k < s.len && s.ptr[k] == '*') {
                st->kind = 2, k++;
            } else {
                int b = k;
                while (k < s.len && (isalnum((unsigned char)s.ptr[k]) || s.ptr[k] == '_' || s.ptr[k] == '$' || (unsigned char)s.ptr[k] >= 0x80)) k++;
                if (k == b) return -1;
                st->kind = 0;
                st->name = weir_arena_strndup(a, s.ptr + b, (size_t)(k - b));
            }
        } else if (s.ptr[k] == '[') {
            k++;
            while (k < s.len && s.ptr[k] == ' ') k++;
            if (k < s.len && (s.ptr[k] == '\'' || s.ptr[k] == '"')) {
                char q = s.ptr[k++];
                int b = k;
                while (k < s.len && s.ptr[k] != q) k++;
                if (k >= s.len) return -1;
                st->kind = 0;
                st->name = weir_arena_strndup(a, s.ptr + b, (size_t)(k - b));
                k++;
            } else if (k < s.len && s.ptr[k] == '*') {
                st->kind = 2, k++;
            } else {
                int b = k;
                while (k < s.len && isdigit((unsigned char)s.ptr[k])) k++;
                if (k == b) return -1;
                st->kind = 1;
                st->index = strtol(s.ptr + b, NULL, 10);
            }
            while (k < s.len && s.ptr[k] == ' ') k++;
            if (k >= s.len || s.ptr[k] != ']') return -1;
            k++;
        } else if (isspace((unsigned char)s.ptr[k])) {
            k++;
            continue;
        } else {
            return -1;
        }
        n++;
    }
    return n;
}

/* Collects what the path selects from v into out (a JSON array of borrowed references).
 * Returns false on a structural error (strict mode: a missing member or index, a step
 * into a scalar). */
static bool walk(json_t *v, const step *steps, int n, bool strict, json_t *out, bool *wild) {
    if (n == 0) return json_array_append(out, v), true;
    const step *st = &steps[0];
    if (st->kind == 0) {
        json_t *c = json_is_object(v) ? json_object_get(v, st->name) : NULL;
        if (!c) return !strict;
        return walk(c, steps + 1, n - 1, strict, out, wild);
    }
    if (st->kind == 1) {
        if (!json_is_array(v)) {
            if (!strict && st->index == 0) return walk(v, steps + 1, n - 1, strict, out, wild); /* lax: a scalar is [it] */
            return !strict;
        }
        json_t *c = json_array_get(v, (size_t)st->index);
        if (!c) return !strict;
        return walk(c, steps + 1, n - 1, strict, out, wild);
    }
    *wild = true;
    if (json_is_array(v)) {
        for (size_t k = 0; k < json_array_size(v); k++)
            if (!walk(json_array_get(v, k), steps + 1, n - 1, strict, out, wild)) return false;
        return true;
    }
    if (json_is_object(v)) {
        const char *key;
        json_t *c;
        json_object_foreach(v, key, c) if (!walk(c, steps + 1, n - 1, strict, out, wild)) return false;
        return true;
    }
    return !strict;
}

static char *scalar_text(json_t *v, weir_arena *a) {
    char buf[64];
    switch (json_typeof(v)) {
    case JSON_STRING: return weir_arena_strndup(a, json_string_value(v), json_string_length(v));
    case JSON_INTEGER: snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v)); break;
    case JSON_REAL: {
        weir_buf b;
        weir_buf_init(&b);
        weir_sql_ltype dt = weir_sql_ltype_make(WEIR_SQL_TYPE_DOUBLE, 0, 0, false);
        weir_sql_format_f64(&b, &dt, json_real_value(v));
        char *s = weir_arena_strndup(a, (const char *)b.data, b.len);
        weir_buf_free(&b);
        return s;
    }
    case JSON_TRUE: return weir_arena_strndup(a, "true", 4);
    case JSON_FALSE: return weir_arena_strndup(a, "false", 5);
    default: return NULL;
    }
    return weir_arena_strndup(a, buf, strlen(buf));
}

static void json_quote(weir_buf *b, const char *s, size_t n) {
    weir_buf_append(b, "\"", 1);
    for (size_t k = 0; k < n; k++) {
        unsigned char ch = (unsigned char)s[k];
        char esc[8];
        if (ch == '"' || ch == '\\') {
            esc[0] = '\\', esc[1] = (char)ch;
            weir_buf_append(b, esc, 2);
        } else if (ch < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", ch);
            weir_buf_append(b, esc, 6);
        } else {
            weir_buf_append(b, &s[k], 1);
        }
    }
    weir_buf_append(b, "\"", 1);
}

/* A value as JSON text: numbers and booleans as JSON literals, strings quoted, date/time
 * values as their SQL text in quotes, ARRAY/MULTISET as arrays, MAP and ROW as objects.
 * False when a nested value is malformed. */
static bool json_of(weir_buf *b, const weir_sql_ltype *t, const weir_sql_nested_value *v) {
    if (v->is_null) return weir_buf_append(b, "null", 4), true;
    switch (weir_sql_value_class(t)) {
    case WEIR_SQL_CLASS_F64: weir_sql_format_f64(b, t, v->f); return true;
    case WEIR_SQL_CLASS_I128: weir_sql_format_decimal128(b, v->d, t->scale); return true;
    case WEIR_SQL_CLASS_STR: break;
    default:
        if (t->kind == WEIR_SQL_TYPE_BOOLEAN) weir_buf_append(b, v->i ? "true" : "false", v->i ? 4 : 5);
        else if (weir_sql_ltype_is_numeric(t)) weir_sql_format_i64(b, t, v->i);
        else {
            weir_buf tmp;
            weir_buf_init(&tmp);
            weir_sql_format_i64(&tmp, t, v->i);
            json_quote(b, (const char *)tmp.data, tmp.len);
            weir_buf_free(&tmp);
        }
        return true;
    }
    if (!weir_sql_ltype_is_nested(t)) return json_quote(b, v->s.ptr, (size_t)v->s.len), true;
    weir_sql_nested_reader r;
    weir_sql_nested_reader_init(&r, v->s);
    weir_sql_nested_value e, val;
    if (t->kind == WEIR_SQL_TYPE_ROW) {
        weir_buf_append(b, "{", 1);
        for (int k = 0; k < t->nfields; k++) {
            if (k) weir_buf_append(b, ",", 1);
            json_quote(b, t->fields[k].name, strlen(t->fields[k].name));
            weir_buf_append(b, ":", 1);
            if (!weir_sql_nested_get(&r, t->fields[k].type, &e) || !json_of(b, t->fields[k].type, &e)) return false;
        }
        return weir_buf_append(b, "}", 1), true;
    }
    uint32_t count;
    if (!weir_sql_nested_get_count(&r, &count)) return false;
    bool map = t->kind == WEIR_SQL_TYPE_MAP;
    weir_buf_append(b, map ? "{" : "[", 1);
    for (uint32_t k = 0; k < count; k++) {
        if (k) weir_buf_append(b, ",", 1);
        if (!weir_sql_nested_get(&r, t->elem, &e)) return false;
        if (map) {
            weir_buf key;
            weir_buf_init(&key);
            bool ok = json_of(&key, t->elem, &e);
            if (ok && key.len && key.data[0] == '"') weir_buf_append(b, key.data, key.len);
            else json_quote(b, (const char *)key.data, key.len);
            weir_buf_free(&key);
            weir_buf_append(b, ":", 1);
            if (!ok || !weir_sql_nested_get(&r, t->value, &val) || !json_of(b, t->value, &val)) return false;
        } else if (!json_of(b, t->elem, &e)) {
            return false;
        }
    }
    return weir_buf_append(b, map ? "}" : "]", 1), true;
}

static weir_sql_nested_value reg_value(const weir_sql_reg *g, int r) {
    weir_sql_nested_value v = {0};
    v.is_null = g->null[r] || g->type.kind == WEIR_SQL_TYPE_NULL;
    if (v.is_null) return v;
    if (g->cls == WEIR_SQL_CLASS_F64) v.f = g->f[r];
    else if (g->cls == WEIR_SQL_CLASS_I128) v.d = g->w[r];
    else if (g->cls == WEIR_SQL_CLASS_STR) v.s = g->s[r];
    else v.i = g->i[r];
    return v;
}

/* JSON_STRING(value) and JSON_ARRAY(values...) (ABSENT ON NULL, Flink's default; an argument
 * that is itself a JSON_ARRAY call is inserted as JSON, not as a string). */
static int json_build(weir_sql_program *p, const weir_sql_instr *ins, int n, weir_err *err) {
    weir_sql_reg *d = &p->regs[ins->dst];
    const int64_t *m = ins->mask >= 0 ? p->regs[ins->mask].i : NULL;
    bool array = ins->sub - WEIR_SQL_FN_JSON == JF_ARRAY;
    weir_buf b;
    weir_buf_init(&b);
    for (int r = 0; r < n; r++) {
        if (m && !m[r]) {
            d->null[r] = 1;
            continue;
        }
        b.len = 0;
        d->null[r] = 0;
        if (!array) {
            const weir_sql_reg *g = &p->regs[ins->args[0]];
            weir_sql_nested_value v = reg_value(g, r);
            if ((d->null[r] = v.is_null)) continue;
            if (!json_of(&b, &g->type, &v)) return weir_buf_free(&b), weir_sql_eval_fail(p, ins, NULL, r, "malformed nested value", err);
        } else {
            weir_buf_append(&b, "[", 1);
            bool first = true;
            for (int k = 0; k < ins->nargs; k++) {
                const weir_sql_reg *g = &p->regs[ins->args[k]];
                weir_sql_nested_value v = reg_value(g, r);
                if (v.is_null) continue;
                if (!first) weir_buf_append(&b, ",", 1);
                first = false;
                const weir_sql_bexpr *ae = ins->e ? ins->e->args[k] : NULL;
                if (ae && ae->kind == WEIR_SQL_BEXPR_CALL && !strcmp(ae->fn, "JSON_ARRAY")) weir_buf_append(&b, v.s.ptr, (size_t)v.s.len);
                else if (!json_of(&b, &g->type, &v)) return weir_buf_free(&b), weir_sql_eval_fail(p, ins, NULL, r, "malformed nested value", err);
            }
            weir_buf_append(&b, "]", 1);
        }
        d->s[r] = (weir_str){weir_arena_strndup(&p->scratch, (const char *)b.data, b.len), (int32_t)b.len};
    }
    weir_buf_free(&b);
    return WEIR_OK;
}

int weir_sql_fn_json_run(weir_sql_program *p, const weir_sql_instr *ins, int n, weir_err *err) {
    if (ins->sub - WEIR_SQL_FN_JSON >= JF_STRING) return json_build(p, ins, n, err);
    weir_sql_reg *d = &p->regs[ins->dst];
    const int64_t *m = ins->mask >= 0 ? p->regs[ins->mask].i : NULL;
    weir_sql_reg *doc = &p->regs[ins->args[0]], *path = &p->regs[ins->args[1]];
    int id = ins->sub - WEIR_SQL_FN_JSON;
    step steps[64];
    for (int r = 0; r < n; r++) {
        if (weir_sql_fn_row_null(p, ins, m, 2, r)) continue; /* the document and the path */
        bool strict;
        int ns = parse_path(path->s[r], steps, 64, &strict, &p->scratch);
        if (ns < 0) /* Flink rejects an invalid path */
            return weir_sql_eval_fail(p, ins, path, r, "invalid JSON path (expected $ followed by .key, ['key'], [n] or [*])", err);
        json_error_t je;
        json_t *root = json_loadb(doc->s[r].ptr, (size_t)doc->s[r].len, JSON_DECODE_ANY, &je);
        json_t *found = json_array();
        bool wild = false;
        bool ok = root && walk(root, steps, ns, strict, found, &wild);
        size_t nf = json_array_size(found);
        switch (id) {
        case JF_EXISTS:
            d->null[r] = 0;
            d->i[r] = ok && nf > 0;
            break;
        case JF_VALUE: { /* one scalar, else NULL */
            json_t *v = nf == 1 && !wild ? json_array_get(found, 0) : NULL;
            char *s = ok && v ? scalar_text(v, &p->scratch) : NULL;
            d->null[r] = s == NULL;
            if (s) d->s[r] = (weir_str){s, (int32_t)strlen(s)};
            break;
        }
        default: { /* an object or array (several wildcard matches: as one array), else NULL */
            json_t *v = !ok || nf == 0 ? NULL : wild ? found : json_array_get(found, 0);
            char *s = v && (json_is_object(v) || json_is_array(v)) ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
            d->null[r] = s == NULL;
            if (s) {
                d->s[r] = (weir_str){weir_arena_strndup(&p->scratch, s, strlen(s)), (int32_t)strlen(s)};
                free(s);
            }
        }
        }
        json_decref(found);
        json_decref(root);
    }
    return WEIR_OK;
}
