/* expr_regex.c — REGEXP, REGEXP_EXTRACT, REGEXP_REPLACE and STR_TO_MAP for compiled
 * programs, on PCRE2 with Java's regex semantics where they differ (find() anywhere in the
 * string, Java's $n / ${name} / \x replacement syntax, String.split's handling of empty
 * pieces). A pattern is compiled once per instruction and kept while it stays the same
 * (a constant pattern: once per program). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "sql/eval_internal.h"

enum { RF_REGEXP, RF_EXTRACT, RF_REPLACE, RF_STR_TO_MAP };

int weir_sql_fn_regex_id(const char *name) {
    if (!strcmp(name, "REGEXP")) return WEIR_SQL_FN_REGEX + RF_REGEXP;
    if (!strcmp(name, "REGEXP_EXTRACT")) return WEIR_SQL_FN_REGEX + RF_EXTRACT;
    if (!strcmp(name, "REGEXP_REPLACE")) return WEIR_SQL_FN_REGEX + RF_REPLACE;
    if (!strcmp(name, "STR_TO_MAP")) return WEIR_SQL_FN_REGEX + RF_STR_TO_MAP;
    return -1;
}

/* One cached compiled pattern. */
typedef struct regex_slot {
    char *src;
    size_t len;
    pcre2_code *code;
    pcre2_match_data *md;
} regex_slot;

typedef struct regex_cache {
    regex_slot slot[2]; /* STR_TO_MAP has two delimiters */
} regex_cache;

static void slot_clear(regex_slot *s) {
    free(s->src);
    pcre2_match_data_free(s->md);
    pcre2_code_free(s->code);
    memset(s, 0, sizeof *s);
}

static void cache_free(void *aux) {
    regex_cache *c = aux;
    if (!c) return;
    for (int k = 0; k < 2; k++) slot_clear(&c->slot[k]);
    free(c);
}

/* The compiled form of pat, compiling it when it differs from the cached one. NULL with
 * *why set when the pattern is invalid. */
static regex_slot *get_regex(weir_sql_program *p, weir_sql_instr *ins, int k, weir_str pat, char *why, size_t whylen) {
    regex_cache *c = ins->aux;
    if (!c) {
        c = calloc(1, sizeof *c);
        if (!c) abort();
        ins->aux = c;
        ins->aux_free = cache_free;
    }
    regex_slot *s = &c->slot[k];
    if (s->code && s->len == (size_t)pat.len && memcmp(s->src, pat.ptr, (size_t)pat.len) == 0) return s;
    slot_clear(s);
    int errcode;
    PCRE2_SIZE erroff;
    uint32_t opts = PCRE2_UTF;
#ifdef PCRE2_MATCH_INVALID_UTF
    opts |= PCRE2_MATCH_INVALID_UTF;
#endif
    s->code = pcre2_compile((PCRE2_SPTR)pat.ptr, (PCRE2_SIZE)pat.len, opts, &errcode, &erroff, NULL);
    if (!s->code) {
        char msg[160];
        pcre2_get_error_message(errcode, (PCRE2_UCHAR *)msg, sizeof msg);
        snprintf(why, whylen, "invalid regular expression at offset %zu: %s", (size_t)erroff, msg);
        return NULL;
    }
    s->md = pcre2_match_data_create_from_pattern(s->code, NULL);
    s->src = malloc((size_t)pat.len + 1);
    if (!s->src || !s->md) abort();
    memcpy(s->src, pat.ptr, (size_t)pat.len);
    s->len = (size_t)pat.len;
    (void)p;
    return s;
}

static int match_at(regex_slot *s, weir_str str, size_t start) {
    return pcre2_match(s->code, (PCRE2_SPTR)(str.ptr ? str.ptr : ""), (PCRE2_SIZE)str.len, start, 0, s->md, NULL);
}

/* Java's replacement syntax ($1, ${name}, \x literal) as PCRE2's ($$ is a literal $). */
static bool java_replacement(weir_buf *out, weir_str r) {
    for (int k = 0; k < r.len; k++) {
        char ch = r.ptr[k];
        if (ch == '\\') {
            if (++k >= r.len) return false; /* Java: character to be escaped is missing */
            if (r.ptr[k] == '$') weir_buf_append(out, "$$", 2);
            else weir_buf_append(out, &r.ptr[k], 1);
        } else if (ch == '$') {
            if (k + 1 < r.len && r.ptr[k + 1] == '{') {
                const char *end = memchr(r.ptr + k, '}', (size_t)(r.len - k));
                if (!end) return false;
                weir_buf_append(out, r.ptr + k, (size_t)(end - (r.ptr + k)) + 1);
                k = (int)(end - r.ptr);
            } else {
                int j = k + 1;
                while (j < r.len && r.ptr[j] >= '0' && r.ptr[j] <= '9') j++;
                if (j == k + 1) return false; /* Java: illegal group reference */
                weir_buf_append(out, "${", 2);
                weir_buf_append(out, r.ptr + k + 1, (size_t)(j - k - 1));
                weir_buf_append(out, "}", 1);
                k = j - 1;
            }
        } else {
            weir_buf_append(out, &ch, 1);
        }
    }
    return true;
}

/* Java's String.split(regex, limit) pieces of s (limit 0: trailing empty pieces dropped;
 * a zero-width match at the start makes no leading empty piece). */
static int java_split(regex_slot *re, weir_str s, int limit, weir_str *pieces, int max) {
    int n = 0;
    size_t start = 0, pos = 0;
    while (n < max - 1 && (limit <= 0 || n < limit - 1) && pos <= (size_t)s.len) {
        int rc = match_at(re, s, pos);
        if (rc < 0) break;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(re->md);
        if (ov[1] == ov[0]) { /* empty match */
            if (ov[0] == 0 || ov[0] >= (size_t)s.len) {
                pos = ov[0] + 1;
                if (ov[0] >= (size_t)s.len) break;
                continue;
            }
        }
        pieces[n++] = (weir_str){s.ptr + start, (int32_t)(ov[0] - start)};
        start = ov[1];
        pos = ov[1] > ov[0] ? ov[1] : ov[1] + 1;
    }
    pieces[n++] = (weir_str){s.ptr + start, (int32_t)(s.len - (int)start)};
    if (limit == 0)
        while (n > 1 && pieces[n - 1].len == 0) n--;
    return n;
}

int weir_sql_fn_regex_run(weir_sql_program *p, const weir_sql_instr *cins, int n, weir_err *err) {
    weir_sql_instr *ins = &p->ins[cins - p->ins]; /* the cache lives in the instruction */
    weir_sql_reg *d = &p->regs[ins->dst];
    const int64_t *m = ins->mask >= 0 ? p->regs[ins->mask].i : NULL;
    weir_sql_reg *g[3] = {0};
    int na = ins->nargs;
    for (int k = 0; k < na && k < 3; k++) g[k] = &p->regs[ins->args[k]];
    int id = ins->sub - WEIR_SQL_FN_REGEX;
    char why[256];
    weir_buf b, repl;
    weir_buf_init(&b);
    weir_buf_init(&repl);
    int rc = WEIR_OK;
    weir_str *pieces = NULL, *kv = NULL;
    for (int r = 0; r < n; r++) {
        if (weir_sql_fn_row_null(p, ins, m, na, r)) continue;
        weir_str s = g[0]->s[r];
        if (id == RF_STR_TO_MAP) {
            weir_str pd = na > 1 ? g[1]->s[r] : (weir_str){",", 1}, kd = na > 2 ? g[2]->s[r] : (weir_str){"=", 1};
            b.len = 0;
            size_t slot = weir_sql_nested_put_count_slot(&b);
            uint32_t count = 0;
            if (s.len > 0) { /* an empty string is an empty map */
                regex_slot *pre = get_regex(p, ins, 0, pd, why, sizeof why), *kre = pre ? get_regex(p, ins, 1, kd, why, sizeof why) : NULL;
                if (!kre) {
                    rc = weir_sql_eval_fail(p, ins, pre ? g[2] : g[1], r, why, err);
                    goto out;
                }
                int maxp = s.len + 2;
                pieces = realloc(pieces, sizeof *pieces * (size_t)maxp);
                if (!pieces) abort();
                int np = java_split(pre, s, 0, pieces, maxp);
                for (int k = 0; k < np; k++) {
                    weir_str two[2];
                    int nk = java_split(kre, pieces[k], 2, two, 2);
                    weir_sql_nested_put_bytes(&b, two[0].ptr, (uint32_t)two[0].len);
                    if (nk < 2) weir_sql_nested_put_null(&b);
                    else weir_sql_nested_put_bytes(&b, two[1].ptr, (uint32_t)two[1].len);
                    count++;
                }
            }
            weir_sql_nested_set_count(&b, slot, count);
            d->s[r] = (weir_str){weir_arena_strndup(&p->scratch, (const char *)b.data, b.len), (int32_t)b.len};
            continue;
        }
        regex_slot *re = get_regex(p, ins, 0, g[1]->s[r], why, sizeof why);
        if (!re) {
            rc = weir_sql_eval_fail(p, ins, g[1], r, why, err);
            goto out;
        }
        switch (id) {
        case RF_REGEXP: d->i[r] = match_at(re, s, 0) >= 0; break;
        case RF_EXTRACT: {
            int64_t idx = na > 2 ? g[2]->i[r] : 0;
            uint32_t groups = 0;
            pcre2_pattern_info(re->code, PCRE2_INFO_CAPTURECOUNT, &groups);
            int mr = match_at(re, s, 0);
            if (mr < 0 || idx < 0 || idx > (int64_t)groups) { /* no match, or no such group: NULL */
                d->null[r] = 1;
                break;
            }
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(re->md);
            if (ov[2 * idx] == PCRE2_UNSET) {
                d->null[r] = 1;
                break;
            }
            d->s[r] = (weir_str){s.ptr + ov[2 * idx], (int32_t)(ov[2 * idx + 1] - ov[2 * idx])};
            break;
        }
        case RF_REPLACE: {
            repl.len = 0;
            if (!java_replacement(&repl, g[2]->s[r])) {
                rc = weir_sql_eval_fail(p, ins, g[2], r, "invalid replacement (a '$' or '\\' without what follows)", err);
                goto out;
            }
            PCRE2_SIZE outlen = (PCRE2_SIZE)s.len * 2 + repl.len + 64;
            for (;;) {
                char *buf = weir_arena_alloc(&p->scratch, outlen + 1);
                PCRE2_SIZE got = outlen + 1;
                int sr = pcre2_substitute(re->code, (PCRE2_SPTR)(s.ptr ? s.ptr : ""), (PCRE2_SIZE)s.len, 0,
                                          PCRE2_SUBSTITUTE_GLOBAL | PCRE2_SUBSTITUTE_OVERFLOW_LENGTH, re->md, NULL,
                                          (PCRE2_SPTR)(repl.data ? (const char *)repl.data : ""), repl.len, (PCRE2_UCHAR *)buf, &got);
                if (sr == PCRE2_ERROR_NOMEMORY) {
                    outlen = got;
                    continue;
                }
                if (sr < 0) {
                    pcre2_get_error_message(sr, (PCRE2_UCHAR *)why, sizeof why);
                    rc = weir_sql_eval_fail(p, ins, g[2], r, why, err);
                    goto out;
                }
                d->s[r] = (weir_str){buf, (int32_t)got};
                break;
            }
            break;
        }
        }
    }
out:
    free(pieces);
    free(kv);
    weir_buf_free(&b);
    weir_buf_free(&repl);
    return rc;
}
