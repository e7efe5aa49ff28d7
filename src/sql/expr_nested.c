/* expr_nested.c — ARRAY, MAP and ROW values in compiled programs: element access (arr[i]
 * 1-based, map['k'], row.field; NULL when the index or key is not there, as Flink),
 * CARDINALITY, and the ARRAY[...], MAP[...] and ROW(...) constructors. Values are the byte
 * encoding of sql.h (nested.c), living in the input batch's heap or the program's scratch. */
#include <stdlib.h>
#include <string.h>

#include "sql/eval_internal.h"

enum { NF_ITEM, NF_FIELD, NF_CARDINALITY, NF_ARRAY, NF_MAP, NF_ROW };

int weir_sql_fn_nested_id(const char *name) {
    static const char *names[] = {"ITEM", "FIELD", "CARDINALITY", "ARRAY", "MAP", "ROW"};
    for (int k = 0; k < 6; k++)
        if (!strcmp(name, names[k])) return WEIR_SQL_FN_NESTED + k;
    return -1;
}

/* Appends row r of register g as one element of the encoding. */
static void put_element(weir_buf *b, const weir_sql_reg *g, int r) {
    if (g->null[r] || g->type.kind == WEIR_SQL_TYPE_NULL) return weir_sql_nested_put_null(b);
    switch (g->cls) {
    case WEIR_SQL_CLASS_F64: weir_sql_nested_put_f64(b, g->f[r]); return;
    case WEIR_SQL_CLASS_I128: weir_sql_nested_put_i128(b, g->w[r]); return;
    case WEIR_SQL_CLASS_STR: weir_sql_nested_put_bytes(b, g->s[r].ptr, (uint32_t)g->s[r].len); return;
    default: weir_sql_nested_put_i64(b, g->i[r]);
    }
}

/* Stores an element read from the encoding into row r of d. */
static void take_element(weir_sql_reg *d, int r, const weir_sql_nested_value *v) {
    d->null[r] = v->is_null;
    if (v->is_null) return;
    switch (d->cls) {
    case WEIR_SQL_CLASS_F64: d->f[r] = v->f; break;
    case WEIR_SQL_CLASS_I128: d->w[r] = v->d; break;
    case WEIR_SQL_CLASS_STR: d->s[r] = v->s; break;
    default: d->i[r] = v->i;
    }
}

/* Whether the element v (of the map's key type) equals row r of the key register. */
static bool key_equals(const weir_sql_nested_value *v, const weir_sql_reg *k, int r) {
    if (v->is_null) return false;
    switch (k->cls) {
    case WEIR_SQL_CLASS_F64: return v->f == k->f[r];
    case WEIR_SQL_CLASS_I128: return v->d == k->w[r];
    case WEIR_SQL_CLASS_STR: return v->s.len == k->s[r].len && (v->s.len == 0 || memcmp(v->s.ptr, k->s[r].ptr, (size_t)v->s.len) == 0);
    default: return v->i == k->i[r];
    }
}

static weir_str keep(weir_sql_program *p, const weir_buf *b) {
    return (weir_str){weir_arena_strndup(&p->scratch, b->data ? (const char *)b->data : "", b->len), (int32_t)b->len};
}

int weir_sql_fn_nested_run(weir_sql_program *p, const weir_sql_instr *ins, int n, weir_err *err) {
    weir_sql_reg *d = &p->regs[ins->dst];
    const int64_t *m = ins->mask >= 0 ? p->regs[ins->mask].i : NULL;
    int na = ins->nargs, id = ins->sub - WEIR_SQL_FN_NESTED;
    weir_sql_reg *a0 = na > 0 ? &p->regs[ins->args[0]] : NULL, *a1 = na > 1 ? &p->regs[ins->args[1]] : NULL;
    weir_buf b;
    weir_buf_init(&b);
    int rc = WEIR_OK;
    /* MAP[...]: the encoded pairs of one row, so a repeated key keeps its last value */
    weir_buf *pairs = id == NF_MAP ? calloc((size_t)na, sizeof *pairs) : NULL;
    if (pairs)
        for (int k = 0; k < na; k++) weir_buf_init(&pairs[k]);
    for (int r = 0; r < n; r++) {
        if (m && !m[r]) {
            d->null[r] = 1;
            continue;
        }
        d->null[r] = 0;
        b.len = 0;
        if (id == NF_ARRAY || id == NF_ROW) {
            if (id == NF_ARRAY) weir_sql_nested_put_count(&b, (uint32_t)na);
            for (int k = 0; k < na; k++) put_element(&b, &p->regs[ins->args[k]], r);
            d->s[r] = keep(p, &b);
            continue;
        }
        if (id == NF_MAP) {
            int np = na / 2, kept = 0;
            for (int k = 0; k < np; k++) {
                pairs[2 * k].len = pairs[2 * k + 1].len = 0;
                put_element(&pairs[2 * k], &p->regs[ins->args[2 * k]], r);
                put_element(&pairs[2 * k + 1], &p->regs[ins->args[2 * k + 1]], r);
            }
            size_t slot = weir_sql_nested_put_count_slot(&b);
            for (int k = 0; k < np; k++) {
                bool later = false;
                for (int j = k + 1; j < np && !later; j++)
                    later = pairs[2 * j].len == pairs[2 * k].len && memcmp(pairs[2 * j].data, pairs[2 * k].data, pairs[2 * k].len) == 0;
                if (later) continue; /* a later entry has the same key */
                weir_buf_append(&b, pairs[2 * k].data, pairs[2 * k].len);
                weir_buf_append(&b, pairs[2 * k + 1].data, pairs[2 * k + 1].len);
                kept++;
            }
            weir_sql_nested_set_count(&b, slot, (uint32_t)kept);
            d->s[r] = keep(p, &b);
            continue;
        }
        /* access: NULL in, NULL out */
        if (a0->null[r] || (a1 && a1->null[r])) {
            d->null[r] = 1;
            continue;
        }
        const weir_sql_ltype *t = &a0->type;
        weir_sql_nested_reader rd;
        weir_sql_nested_reader_init(&rd, a0->s[r]);
        weir_sql_nested_value v;
        uint32_t count = 0;
        bool ok = true;
        if (id == NF_CARDINALITY) {
            ok = weir_sql_nested_get_count(&rd, &count);
            d->i[r] = count;
        } else if (id == NF_FIELD) {
            int want = -1;
            for (int k = 0; k < t->nfields; k++)
                if (a1->s[r].len == (int)strlen(t->fields[k].name) && !memcmp(t->fields[k].name, a1->s[r].ptr, (size_t)a1->s[r].len)) want = k;
            d->null[r] = 1;
            for (int k = 0; ok && k <= want; k++) {
                ok = weir_sql_nested_get(&rd, t->fields[k].type, &v);
                if (ok && k == want) take_element(d, r, &v);
            }
        } else if (t->kind == WEIR_SQL_TYPE_ARRAY) {
            int64_t idx = a1->i[r];
            d->null[r] = 1;
            ok = weir_sql_nested_get_count(&rd, &count);
            if (ok && idx >= 1 && idx <= (int64_t)count)
                for (int64_t k = 1; ok && k <= idx; k++) {
                    ok = weir_sql_nested_get(&rd, t->elem, &v);
                    if (ok && k == idx) take_element(d, r, &v);
                }
        } else { /* MAP: the last entry with the key */
            d->null[r] = 1;
            ok = weir_sql_nested_get_count(&rd, &count);
            for (uint32_t k = 0; ok && k < count; k++) {
                weir_sql_nested_value key;
                ok = weir_sql_nested_get(&rd, t->elem, &key) && weir_sql_nested_get(&rd, t->value, &v);
                if (ok && key_equals(&key, a1, r)) take_element(d, r, &v);
            }
        }
        if (!ok) {
            rc = weir_sql_eval_fail(p, ins, NULL, r, "malformed nested value", err);
            break;
        }
    }
    if (pairs) {
        for (int k = 0; k < na; k++) weir_buf_free(&pairs[k]);
        free(pairs);
    }
    weir_buf_free(&b);
    return rc;
}
