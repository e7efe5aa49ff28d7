/* agg.c — rows as keys: the byte form of a row's key columns (equal keys, equal bytes),
 * its hash, and a byte-keyed open-addressing hash table with dense indexes. The keyed
 * exchange routes rows by these hashes and the window aggregation keeps its groups and
 * COUNT(DISTINCT) sets in these tables (written here rather than taken from a library:
 * they sit on the per-row hot path, and the dense indexes give a deterministic order). */
#include <stdlib.h>
#include <string.h>

#include "sql/window_internal.h"

void weir_sql_row_key(weir_buf *out, const weir_sql_batch *b, int row, const int *cols, int ncols) {
    for (int k = 0; k < ncols; k++) {
        int c = cols[k];
        if (weir_sql_batch_is_null(b, c, row)) {
            uint8_t z = 0;
            weir_buf_append(out, &z, 1);
            continue;
        }
        uint8_t one = 1;
        weir_buf_append(out, &one, 1);
        switch (weir_sql_value_class(&b->cols[c].type)) {
        case WEIR_SQL_CLASS_F64: {
            double d = weir_sql_batch_get_f64(b, c, row);
            if (d == 0) d = 0; /* -0.0 and 0.0 are one key */
            weir_buf_append(out, &d, sizeof d);
            break;
        }
        case WEIR_SQL_CLASS_I128: {
            __int128 v = weir_sql_batch_get_i128(b, c, row);
            weir_buf_append(out, &v, sizeof v);
            break;
        }
        case WEIR_SQL_CLASS_STR: {
            weir_str s = weir_sql_batch_get_str(b, c, row);
            uint32_t n = (uint32_t)s.len;
            weir_buf_append(out, &n, sizeof n);
            weir_buf_append(out, s.ptr, (size_t)s.len);
            break;
        }
        default: {
            int64_t v = weir_sql_batch_get_i64(b, c, row);
            weir_buf_append(out, &v, sizeof v);
        }
        }
    }
}

void weir_sql_row_key_store(weir_sql_batch *b, int row, int first, const uint8_t *key, size_t len, int ncols) {
    const uint8_t *p = key, *end = key + len;
    for (int k = 0; k < ncols && p < end; k++) {
        int c = first + k;
        if (*p++ == 0) {
            weir_sql_batch_set_null(b, c, row, true);
            continue;
        }
        switch (weir_sql_value_class(&b->cols[c].type)) {
        case WEIR_SQL_CLASS_F64: {
            double d;
            memcpy(&d, p, sizeof d);
            p += sizeof d;
            weir_sql_batch_set_f64(b, c, row, d);
            break;
        }
        case WEIR_SQL_CLASS_I128: {
            __int128 v;
            memcpy(&v, p, sizeof v);
            p += sizeof v;
            weir_sql_batch_set_i128(b, c, row, v);
            break;
        }
        case WEIR_SQL_CLASS_STR: {
            uint32_t n;
            memcpy(&n, p, sizeof n);
            p += sizeof n;
            weir_sql_batch_set_str(b, c, row, (const char *)p, n);
            p += n;
            break;
        }
        default: {
            int64_t v;
            memcpy(&v, p, sizeof v);
            p += sizeof v;
            weir_sql_batch_set_i64(b, c, row, v);
        }
        }
    }
}

/* FNV-1a with a final avalanche (the low bits pick slots and workers). */
uint64_t weir_sql_hash_bytes(const void *data, size_t n) {
    uint64_t h = weir_fnv1a64(WEIR_FNV1A64_INIT, data, n);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

void weir_sql_keytab_init(weir_sql_keytab *t) {
    memset(t, 0, sizeof *t);
    weir_buf_init(&t->keys);
}

void weir_sql_keytab_free(weir_sql_keytab *t) {
    free(t->slots);
    free(t->offs);
    free(t->hashes);
    weir_buf_free(&t->keys);
    memset(t, 0, sizeof *t);
}

/* A slot holds the entry's index and the high half of its hash, so a probe rejects most
 * other keys without touching the entry arrays (fewer cache misses on big tables). */
static uint64_t slot_of(int index, uint64_t h) { return ((uint64_t)(index + 1) << 32) | (h >> 32); }

static void grow_slots(weir_sql_keytab *t) {
    size_t n = t->nslots ? t->nslots * 2 : 16;
    uint64_t *slots = calloc(n, sizeof *slots);
    if (!slots) abort();
    for (int i = 0; i < t->n; i++) {
        size_t s = t->hashes[i] & (n - 1);
        while (slots[s]) s = (s + 1) & (n - 1);
        slots[s] = slot_of(i, t->hashes[i]);
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = n;
}

int weir_sql_keytab_put(weir_sql_keytab *t, const void *key, size_t len, bool *added) {
    if ((size_t)(t->n + 1) * 2 > t->nslots) grow_slots(t);
    uint64_t h = weir_sql_hash_bytes(key, len);
    uint32_t tag = (uint32_t)(h >> 32);
    size_t s = h & (t->nslots - 1);
    while (t->slots[s]) {
        uint64_t v = t->slots[s];
        if ((uint32_t)v == tag) {
            int i = (int)(v >> 32) - 1;
            size_t ilen = t->offs[i + 1] - t->offs[i];
            if (t->hashes[i] == h && ilen == len && (len == 0 || memcmp(t->keys.data + t->offs[i], key, len) == 0)) {
                if (added) *added = false;
                return i;
            }
        }
        s = (s + 1) & (t->nslots - 1);
    }
    if (t->n + 2 > t->cap) {
        int cap = t->cap ? t->cap * 2 : 16;
        t->offs = realloc(t->offs, (size_t)(cap + 1) * sizeof *t->offs);
        t->hashes = realloc(t->hashes, (size_t)cap * sizeof *t->hashes);
        if (!t->offs || !t->hashes) abort();
        if (t->cap == 0) t->offs[0] = 0;
        t->cap = cap;
    }
    int i = t->n++;
    if (len > 0) weir_buf_append(&t->keys, key, len);
    t->offs[i + 1] = t->keys.len;
    t->hashes[i] = h;
    t->slots[s] = slot_of(i, h);
    if (added) *added = true;
    return i;
}

const uint8_t *weir_sql_keytab_key(const weir_sql_keytab *t, int index, size_t *len) {
    *len = t->offs[index + 1] - t->offs[index];
    return t->keys.data + t->offs[index];
}
