/* op_join.c — the join operators: regular equi-joins (INNER, LEFT, RIGHT, FULL) over append
 * and changelog inputs, emitting and retracting rows exactly as Flink's streaming join does,
 * and interval joins over event time (op_interval_join.c's vtab, built on the same state).
 * Each instance sits after two keyed exchanges, so it holds the rows of the join keys its
 * worker owns: per key, each side's rows as a multiset (distinct rows with counts). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sql/op_join_internal.h"

/* ---- index maps: byte strings kept by the caller (in a slab) to entry indexes ----------
 * Open addressing with linear probing and backward-shift deletion (no tombstones), written
 * here rather than taken from a library because it is on the per-row path and state must
 * shrink as rows are retracted or expire (agg.c's key table only grows). A slot holds the
 * entry's index and the high half of its hash. */

static uint64_t slot_of(int idx, uint64_t h) { return ((uint64_t)(uint32_t)(idx + 1) << 32) | (h >> 32); }

static const weir_sql_jhead *head_at(const weir_sql_jview *v, int i) {
    return (const weir_sql_jhead *)(v->base + (size_t)i * v->stride);
}

int weir_sql_jmap_find(const weir_sql_jmap *m, const weir_sql_jview *v, uint64_t h, const void *key, size_t len) {
    if (!m->nslots) return -1;
    size_t mask = m->nslots - 1, s = h & mask;
    uint32_t tag = (uint32_t)(h >> 32);
    for (uint64_t x; (x = m->slots[s]) != 0; s = (s + 1) & mask) {
        if ((uint32_t)x != tag) continue;
        int i = (int)(x >> 32) - 1;
        const weir_sql_jhead *e = head_at(v, i);
        if (e->hash == h && e->len == len && (len == 0 || memcmp(v->bytes + e->off, key, len) == 0)) return i;
    }
    return -1;
}

static void jmap_place(uint64_t *slots, size_t nslots, int idx, uint64_t h) {
    size_t s = h & (nslots - 1);
    while (slots[s]) s = (s + 1) & (nslots - 1);
    slots[s] = slot_of(idx, h);
}

void weir_sql_jmap_insert(weir_sql_jmap *m, const weir_sql_jview *v, int idx) {
    if ((size_t)(m->n + 1) * 2 > m->nslots) {
        size_t n = m->nslots ? m->nslots * 2 : 64;
        uint64_t *slots = calloc(n, sizeof *slots);
        if (!slots) abort();
        for (size_t s = 0; s < m->nslots; s++)
            if (m->slots[s]) {
                int i = (int)(m->slots[s] >> 32) - 1;
                jmap_place(slots, n, i, head_at(v, i)->hash);
            }
        free(m->slots);
        m->slots = slots;
        m->nslots = n;
    }
    jmap_place(m->slots, m->nslots, idx, head_at(v, idx)->hash);
    m->n++;
}

void weir_sql_jmap_remove(weir_sql_jmap *m, const weir_sql_jview *v, int idx) {
    if (!m->nslots) return;
    size_t mask = m->nslots - 1, s = head_at(v, idx)->hash & mask;
    uint64_t want = slot_of(idx, head_at(v, idx)->hash);
    while (m->slots[s] && m->slots[s] != want) s = (s + 1) & mask;
    if (!m->slots[s]) return;
    /* backward shift: later entries of the run move into the hole when their home allows */
    size_t hole = s;
    for (size_t j = (s + 1) & mask; m->slots[j]; j = (j + 1) & mask) {
        int i = (int)(m->slots[j] >> 32) - 1;
        size_t home = head_at(v, i)->hash & mask;
        bool movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
        if (movable) {
            m->slots[hole] = m->slots[j];
            hole = j;
        }
    }
    m->slots[hole] = 0;
    m->n--;
}

void weir_sql_jmap_free(weir_sql_jmap *m) {
    free(m->slots);
    memset(m, 0, sizeof *m);
}

/* ---- keys and rows ------------------------------------------------------------------- */

static weir_sql_jview key_view(const weir_sql_join_state *st) {
    return (weir_sql_jview){(const char *)st->keys, sizeof *st->keys, st->kbytes.data};
}

static weir_sql_jview row_view(const weir_sql_join_side *sd) {
    return (weir_sql_jview){(const char *)sd->rows, sizeof *sd->rows, sd->bytes.data};
}

/* The key's entry, made when absent if add; -1 when absent and !add. */
int weir_sql_join_key(weir_sql_join_state *st, const uint8_t *key, size_t len, bool add) {
    uint64_t h = weir_sql_hash_bytes(key, len);
    weir_sql_jview v = key_view(st);
    int i = weir_sql_jmap_find(&st->keymap, &v, h, key, len);
    if (i >= 0 || !add) return i;
    if (st->free_key >= 0) {
        i = st->free_key;
        st->free_key = st->keys[i].head[0];
    } else {
        if (st->nkeys == st->capkeys) {
            st->capkeys = st->capkeys ? st->capkeys * 2 : 256;
            st->keys = realloc(st->keys, (size_t)st->capkeys * sizeof *st->keys);
            if (!st->keys) abort();
        }
        i = st->nkeys++;
    }
    weir_sql_jkey *k = &st->keys[i];
    k->h.hash = h;
    k->h.off = (uint32_t)st->kbytes.len;
    k->h.len = (uint32_t)len;
    k->head[0] = k->head[1] = -1;
    k->live = true;
    k->touched_ms = st->now_ms;
    if (len) weir_buf_append(&st->kbytes, key, len);
    v = key_view(st);
    weir_sql_jmap_insert(&st->keymap, &v, i);
    st->nlive_keys++;
    return i;
}

/* Slabs keep bytes of live entries and of removed ones; when the removed ones pass half,
 * the live ones are copied to a fresh slab (amortised O(1), no malloc per row). */
static void compact_keys(weir_sql_join_state *st) {
    weir_buf nb;
    weir_buf_init(&nb);
    for (int i = 0; i < st->nkeys; i++) {
        weir_sql_jkey *k = &st->keys[i];
        if (!k->live) continue;
        uint32_t off = (uint32_t)nb.len;
        if (k->h.len) weir_buf_append(&nb, st->kbytes.data + k->h.off, k->h.len);
        k->h.off = off;
    }
    weir_buf_free(&st->kbytes);
    st->kbytes = nb;
    st->kdead = 0;
}

static void compact_rows(weir_sql_join_side *sd) {
    weir_buf nb;
    weir_buf_init(&nb);
    for (int i = 0; i < sd->nrows; i++) {
        weir_sql_jrow *r = &sd->rows[i];
        if (r->key < 0) continue;
        uint32_t off = (uint32_t)nb.len;
        weir_buf_append(&nb, sd->bytes.data + r->h.off, r->h.len);
        r->h.off = off;
    }
    weir_buf_free(&sd->bytes);
    sd->bytes = nb;
    sd->dead = 0;
}

/* Drops a key whose sides are both empty. */
void weir_sql_join_key_release(weir_sql_join_state *st, int ki) {
    weir_sql_jkey *k = &st->keys[ki];
    if (!k->live || k->head[0] >= 0 || k->head[1] >= 0) return;
    weir_sql_jview v = key_view(st);
    weir_sql_jmap_remove(&st->keymap, &v, ki);
    k->live = false;
    st->kdead += k->h.len;
    k->head[0] = st->free_key;
    st->free_key = ki;
    st->nlive_keys--;
    if (st->kdead > 65536 && st->kdead * 2 > st->kbytes.len) compact_keys(st);
}

/* A new row entry of side s under key ki (at the head of its list), with its bytes. */
int weir_sql_join_row_add(weir_sql_join_state *st, int s, int ki, const uint8_t *bytes, size_t len, uint64_t h,
                          bool index) {
    weir_sql_join_side *sd = &st->side[s];
    int i;
    if (sd->free_row >= 0) {
        i = sd->free_row;
        sd->free_row = sd->rows[i].next;
    } else {
        if (sd->nrows == sd->caprows) {
            sd->caprows = sd->caprows ? sd->caprows * 2 : 256;
            sd->rows = realloc(sd->rows, (size_t)sd->caprows * sizeof *sd->rows);
            if (!sd->rows) abort();
        }
        i = sd->nrows++;
    }
    weir_sql_jrow *r = &sd->rows[i];
    memset(r, 0, sizeof *r);
    r->h.hash = h;
    r->h.off = (uint32_t)sd->bytes.len;
    r->h.len = (uint32_t)len;
    weir_buf_append(&sd->bytes, bytes, len);
    r->key = ki;
    r->prev = -1;
    r->next = st->keys[ki].head[s];
    if (r->next >= 0) sd->rows[r->next].prev = i;
    st->keys[ki].head[s] = i;
    sd->live++;
    if (index) {
        weir_sql_jview v = row_view(sd);
        weir_sql_jmap_insert(&sd->map, &v, i);
    }
    return i;
}

/* Removes a row entry (its key is released by the caller once the batch is done). */
void weir_sql_join_row_remove(weir_sql_join_state *st, int s, int i, bool index) {
    weir_sql_join_side *sd = &st->side[s];
    weir_sql_jrow *r = &sd->rows[i];
    if (index) {
        weir_sql_jview v = row_view(sd);
        weir_sql_jmap_remove(&sd->map, &v, i);
    }
    if (r->prev >= 0) sd->rows[r->prev].next = r->next;
    else st->keys[r->key].head[s] = r->next;
    if (r->next >= 0) sd->rows[r->next].prev = r->prev;
    sd->dead += r->h.len;
    r->key = -1;
    r->next = sd->free_row;
    sd->free_row = i;
    sd->live--;
    if (sd->dead > 65536 && sd->dead * 2 > sd->bytes.len) compact_rows(sd);
}

void weir_sql_join_update_bytes(weir_sql_op *op) {
    weir_sql_join_state *st = op->state;
    int64_t n = (int64_t)st->capkeys * (int64_t)sizeof *st->keys + (int64_t)st->keymap.nslots * 8 +
                (int64_t)st->kbytes.cap;
    for (int s = 0; s < 2; s++) {
        const weir_sql_join_side *sd = &st->side[s];
        n += (int64_t)sd->caprows * (int64_t)sizeof *sd->rows + (int64_t)sd->map.nslots * 8 + (int64_t)sd->bytes.cap +
             (int64_t)sd->capheap * (int64_t)sizeof *sd->heap;
    }
    op->state_bytes = n;
}

/* ---- set-up shared by both operators ----------------------------------------------- */

static int64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int weir_sql_join_init(weir_sql_op *op, bool interval, weir_err *err) {
    weir_sql_join_state *st = calloc(1, sizeof *st);
    if (!st) abort();
    op->state = st;
    const weir_sql_plan *p = op->plan;
    st->js = p->ext;
    st->interval = interval;
    st->free_key = -1;
    st->now_ms = wall_ms();
    st->last_sweep = INT64_MIN / 2; /* the first tick sweeps */
    st->ttl_ms = interval ? 0 : weir_sql_job_state_ttl_ms(op->worker->job);
    st->wm = WEIR_SQL_WM_NONE;
    st->fwd_wm = WEIR_SQL_WM_NONE;
    weir_buf_init(&st->kbytes);
    weir_buf_init(&st->kb);
    weir_buf_init(&st->rb);
    for (int s = 0; s < 2; s++) {
        st->side[s].free_row = -1;
        weir_buf_init(&st->side[s].bytes);
        st->row_cols[s] = malloc(sizeof(int) * (size_t)(st->js->nout[s] + 1));
        if (!st->row_cols[s]) abort();
        for (int c = 0; c < st->js->nout[s]; c++) st->row_cols[s][c] = c;
        st->indexed[s] = !interval && p->inputs[s]->updates;
    }
    if (weir_sql_batch_init(&st->out, p->cols, p->ncols, 256, err) != WEIR_OK) return WEIR_ERROR;
    st->has_out = true;
    if (st->js->residual) {
        if (weir_sql_program_compile(NULL, &st->js->residual, 1, p->cols, p->ncols, &st->resid, err) != WEIR_OK)
            return WEIR_ERROR;
        if (weir_sql_batch_init(&st->cand, p->cols, p->ncols, 256, err) != WEIR_OK) return WEIR_ERROR;
        st->has_cand = true;
        if (weir_sql_batch_init(&st->res, weir_sql_program_columns(st->resid), 1, 256, err) != WEIR_OK) return WEIR_ERROR;
        st->has_res = true;
    }
    return WEIR_OK;
}

void weir_sql_join_free(weir_sql_op *op) {
    weir_sql_join_state *st = op->state;
    if (!st) return;
    free(st->keys);
    weir_sql_jmap_free(&st->keymap);
    weir_buf_free(&st->kbytes);
    for (int s = 0; s < 2; s++) {
        free(st->side[s].rows);
        weir_sql_jmap_free(&st->side[s].map);
        weir_buf_free(&st->side[s].bytes);
        free(st->side[s].heap);
        free(st->row_cols[s]);
    }
    weir_buf_free(&st->kb);
    weir_buf_free(&st->rb);
    if (st->has_out) weir_sql_batch_free(&st->out);
    if (st->has_cand) weir_sql_batch_free(&st->cand);
    if (st->has_res) weir_sql_batch_free(&st->res);
    weir_sql_program_free(st->resid);
    free(st->cand_row);
    free(st->cand_pass);
    free(st->row_key);
    free(st->row_cstart);
    free(st->release);
    free(st);
    op->state = NULL;
}

/* ---- output ---------------------------------------------------------------------------- */

int weir_sql_join_flush(weir_sql_op *op, weir_err *err) {
    return weir_sql_op_flush_batch(op, &((weir_sql_join_state *)op->state)->out, err);
}

/* Appends a joined row (left bytes, right bytes; NULL: that side NULL-padded) to b. */
void weir_sql_join_put(weir_sql_join_state *st, weir_sql_batch *b, int kind, const uint8_t *l, size_t llen,
                       const uint8_t *r, size_t rlen) {
    int row = weir_sql_batch_add_row(b);
    b->row_kinds[row] = (uint8_t)kind;
    if (l) weir_sql_row_key_store(b, row, 0, l, llen, st->js->nout[0]);
    if (r) weir_sql_row_key_store(b, row, st->js->nout[0], r, rlen, st->js->nout[1]);
}

int weir_sql_join_emit(weir_sql_op *op, int s, int kind, const uint8_t *mine, size_t mlen, const uint8_t *other,
                       size_t olen, weir_err *err) {
    weir_sql_join_state *st = op->state;
    if (s == 0) weir_sql_join_put(st, &st->out, kind, mine, mlen, other, olen);
    else weir_sql_join_put(st, &st->out, kind, other, olen, mine, mlen);
    if (st->out.nrows >= WEIR_SQL_READ_ROWS) return weir_sql_join_flush(op, err);
    return WEIR_OK;
}

/* ---- candidates and the residual condition ------------------------------------------
 * For a run of input rows, every row of the other side under the same key (within the time
 * bounds for an interval join) is a candidate; with a residual condition the candidate
 * pairs are built as one batch and the condition evaluated once for them all. */

void weir_sql_join_cand_add(weir_sql_join_state *st, int row) {
    if (st->ncand == st->capcand) {
        st->capcand = st->capcand ? st->capcand * 2 : 1024;
        st->cand_row = realloc(st->cand_row, (size_t)st->capcand * sizeof *st->cand_row);
        st->cand_pass = realloc(st->cand_pass, (size_t)st->capcand);
        if (!st->cand_row || !st->cand_pass) abort();
    }
    st->cand_pass[st->ncand] = 1;
    st->cand_row[st->ncand++] = row;
}

void weir_sql_join_rows_reserve(weir_sql_join_state *st, int n) {
    if (n + 1 <= st->caprowinfo) return;
    st->caprowinfo = n + 1;
    st->row_key = realloc(st->row_key, (size_t)st->caprowinfo * sizeof *st->row_key);
    st->row_cstart = realloc(st->row_cstart, (size_t)st->caprowinfo * sizeof *st->row_cstart);
    if (!st->row_key || !st->row_cstart) abort();
}

/* Evaluates the residual for candidates [from, ncand) of input rows [r0, r1) of b (side s). */
int weir_sql_join_eval(weir_sql_join_state *st, int s, const weir_sql_batch *b, int r0, int r1, weir_err *err) {
    if (!st->resid || st->ncand == 0) return WEIR_OK;
    weir_sql_batch_clear(&st->cand);
    const weir_sql_join_side *o = &st->side[1 - s];
    for (int r = r0; r < r1; r++) {
        st->rb.len = 0;
        weir_sql_row_key(&st->rb, b, r, st->row_cols[s], st->js->nout[s]);
        for (int c = st->row_cstart[r - r0]; c < st->row_cstart[r - r0 + 1]; c++) {
            const weir_sql_jrow *x = &o->rows[st->cand_row[c]];
            const uint8_t *xb = o->bytes.data + x->h.off;
            if (s == 0) weir_sql_join_put(st, &st->cand, WEIR_SQL_ROW_INSERT, st->rb.data, st->rb.len, xb, x->h.len);
            else weir_sql_join_put(st, &st->cand, WEIR_SQL_ROW_INSERT, xb, x->h.len, st->rb.data, st->rb.len);
        }
    }
    weir_sql_batch_clear(&st->res);
    if (weir_sql_program_run(st->resid, &st->cand, &st->res, err) != WEIR_OK) return WEIR_ERROR;
    for (int c = 0; c < st->ncand; c++)
        st->cand_pass[c] = !weir_sql_batch_is_null(&st->res, 0, c) && weir_sql_batch_get_i64(&st->res, 0, c) != 0;
    return WEIR_OK;
}

/* Whether a key column compared with = is NULL in row r: SQL's = never matches NULL (IS NOT
 * DISTINCT FROM does: its NULLs are a key like any other). */
bool weir_sql_join_null_key(const weir_sql_join_state *st, int s, const weir_sql_batch *b, int r) {
    for (int k = 0; k < st->js->nkeys; k++)
        if ((!st->js->null_safe || !st->js->null_safe[k]) && weir_sql_batch_is_null(b, st->js->keys[s][k], r)) return true;
    return false;
}

void weir_sql_join_release_later(weir_sql_join_state *st, int ki) {
    if (st->nrelease == st->caprelease) {
        st->caprelease = st->caprelease ? st->caprelease * 2 : 256;
        st->release = realloc(st->release, (size_t)st->caprelease * sizeof *st->release);
        if (!st->release) abort();
    }
    st->release[st->nrelease++] = ki;
}

void weir_sql_join_release_all(weir_sql_join_state *st) {
    for (int k = 0; k < st->nrelease; k++) weir_sql_join_key_release(st, st->release[k]);
    st->nrelease = 0;
}

/* ---- the regular join -------------------------------------------------------------------- */

#define CHUNK_CANDIDATES 2048

static bool accumulates(int kind) { return kind == WEIR_SQL_ROW_INSERT || kind == WEIR_SQL_ROW_UPDATE_AFTER; }

/* The entry of side s holding exactly these row bytes under key ki, or -1. */
static int find_row(weir_sql_join_state *st, int s, int ki, const uint8_t *bytes, size_t len) {
    weir_sql_join_side *sd = &st->side[s];
    if (st->indexed[s]) {
        weir_sql_jview v = row_view(sd);
        return weir_sql_jmap_find(&sd->map, &v, weir_sql_hash_bytes(bytes, len), bytes, len);
    }
    for (int x = st->keys[ki].head[s]; x >= 0; x = sd->rows[x].next)
        if (sd->rows[x].h.len == len && memcmp(sd->bytes.data + sd->rows[x].h.off, bytes, len) == 0) return x;
    return -1;
}

/* One input row against its candidates (Flink's StreamingJoinOperator, the multiset state
 * of an input without a unique key): see the comment of join_push. */
static int join_row(weir_sql_op *op, int s, int kind, int ki, int c0, int c1, weir_err *err) {
    weir_sql_join_state *st = op->state;
    const weir_sql_join_spec *js = st->js;
    int o = 1 - s;
    weir_sql_join_side *me = &st->side[s], *other = &st->side[o];
    const uint8_t *mine = st->rb.data;
    size_t mlen = st->rb.len;
    int64_t matched = 0;
    for (int c = c0; c < c1; c++)
        if (st->cand_pass[c]) matched += other->rows[st->cand_row[c]].count;
    if (ki >= 0) st->keys[ki].touched_ms = st->now_ms;
    if (accumulates(kind)) {
        if (js->outer[o] && matched > 0) /* the other side's padded rows are retracted first */
            for (int c = c0; c < c1; c++) {
                if (!st->cand_pass[c]) continue;
                weir_sql_jrow *x = &other->rows[st->cand_row[c]];
                if (x->assoc == 0)
                    for (int64_t n = 0; n < x->count; n++)
                        if (weir_sql_join_emit(op, o, WEIR_SQL_ROW_DELETE, other->bytes.data + x->h.off, x->h.len, NULL, 0,
                                               err) != WEIR_OK)
                            return WEIR_ERROR;
                x->assoc++;
            }
        int out_kind = js->outer[s] || js->outer[o] ? WEIR_SQL_ROW_INSERT : kind;
        if (js->outer[s] && matched == 0 &&
            weir_sql_join_emit(op, s, WEIR_SQL_ROW_INSERT, mine, mlen, NULL, 0, err) != WEIR_OK)
            return WEIR_ERROR;
        for (int c = c0; c < c1; c++) {
            if (!st->cand_pass[c]) continue;
            const weir_sql_jrow *x = &other->rows[st->cand_row[c]];
            for (int64_t n = 0; n < x->count; n++)
                if (weir_sql_join_emit(op, s, out_kind, mine, mlen, other->bytes.data + x->h.off, x->h.len, err) != WEIR_OK)
                    return WEIR_ERROR;
        }
        if (ki < 0) return WEIR_OK; /* a NULL key: never stored, never matched */
        int i = -1;
        uint64_t h = 0;
        if (st->indexed[s]) {
            h = weir_sql_hash_bytes(mine, mlen);
            weir_sql_jview v = row_view(me);
            i = weir_sql_jmap_find(&me->map, &v, h, mine, mlen);
        }
        if (i < 0) i = weir_sql_join_row_add(st, s, ki, mine, mlen, h, st->indexed[s]);
        me->rows[i].count++;
        me->rows[i].assoc = matched;
        return WEIR_OK;
    }
    /* a retraction: out of the state, then its joined rows retracted */
    if (ki >= 0) {
        int i = find_row(st, s, ki, mine, mlen);
        if (i >= 0 && --me->rows[i].count <= 0) {
            weir_sql_join_row_remove(st, s, i, st->indexed[s]);
            weir_sql_join_release_later(st, ki);
        }
    }
    if (matched == 0) {
        if (js->outer[s]) return weir_sql_join_emit(op, s, WEIR_SQL_ROW_DELETE, mine, mlen, NULL, 0, err);
        return WEIR_OK;
    }
    int out_kind = js->outer[s] ? WEIR_SQL_ROW_DELETE : kind;
    for (int c = c0; c < c1; c++) {
        if (!st->cand_pass[c]) continue;
        const weir_sql_jrow *x = &other->rows[st->cand_row[c]];
        for (int64_t n = 0; n < x->count; n++)
            if (weir_sql_join_emit(op, s, out_kind, mine, mlen, other->bytes.data + x->h.off, x->h.len, err) != WEIR_OK)
                return WEIR_ERROR;
    }
    if (js->outer[o])
        for (int c = c0; c < c1; c++) {
            if (!st->cand_pass[c]) continue;
            weir_sql_jrow *x = &other->rows[st->cand_row[c]];
            if (x->assoc == 1)
                for (int64_t n = 0; n < x->count; n++)
                    if (weir_sql_join_emit(op, o, WEIR_SQL_ROW_INSERT, other->bytes.data + x->h.off, x->h.len, NULL, 0,
                                           err) != WEIR_OK)
                        return WEIR_ERROR;
            x->assoc--;
        }
    return WEIR_OK;
}

/* A batch of one side, in runs: the candidates of a run of rows are gathered first (the
 * other side does not change while this side's rows are processed, save for the match
 * counts), the residual evaluated for them at once, then each row handled in order:
 *   accumulate (+I/+U): [outer other side: -D of its padded rows that had no match]
 *     then +I[row+null] (outer side, no match) or the joined rows (+I, or the input's kind
 *     for an inner join), and the row into the state with its match count;
 *   retract (-U/-D): the row out of the state, then -D[row+null] (outer side, no match) or
 *     the joined rows retracted (-D, or the input's kind for an inner join), then [outer
 *     other side: +I of its padded rows that lost their last match].
 * Keys emptied by retractions are dropped after the batch (later rows may still name them). */
static int join_push(weir_sql_op *op, int s, const weir_sql_batch *b, weir_err *err) {
    weir_sql_join_state *st = op->state;
    const weir_sql_join_spec *js = st->js;
    if (s < 0 || s > 1) return weir_err_set(err, "internal: join input %d", s);
    weir_sql_join_rows_reserve(st, b->nrows);
    int r0 = 0;
    while (r0 < b->nrows) {
        st->ncand = 0;
        int r1 = r0;
        while (r1 < b->nrows && (r1 == r0 || st->ncand < CHUNK_CANDIDATES)) {
            st->row_cstart[r1 - r0] = st->ncand;
            int ki = -1;
            if (!weir_sql_join_null_key(st, s, b, r1)) {
                st->kb.len = 0;
                weir_sql_row_key(&st->kb, b, r1, js->keys[s], js->nkeys);
                ki = weir_sql_join_key(st, st->kb.data, st->kb.len, accumulates(b->row_kinds[r1]));
            }
            st->row_key[r1 - r0] = ki;
            if (ki >= 0)
                for (int x = st->keys[ki].head[1 - s]; x >= 0; x = st->side[1 - s].rows[x].next)
                    weir_sql_join_cand_add(st, x);
            r1++;
        }
        st->row_cstart[r1 - r0] = st->ncand;
        if (weir_sql_join_eval(st, s, b, r0, r1, err) != WEIR_OK) return WEIR_ERROR;
        for (int r = r0; r < r1; r++) {
            st->rb.len = 0;
            weir_sql_row_key(&st->rb, b, r, st->row_cols[s], js->nout[s]);
            if (join_row(op, s, b->row_kinds[r], st->row_key[r - r0], st->row_cstart[r - r0], st->row_cstart[r - r0 + 1],
                         err) != WEIR_OK)
                return WEIR_ERROR;
        }
        r0 = r1;
    }
    weir_sql_join_release_all(st);
    weir_sql_join_update_bytes(op);
    return weir_sql_join_flush(op, err);
}

static int join_init(weir_sql_op *op, weir_err *err) { return weir_sql_join_init(op, false, err); }

/* 'table.exec.state.ttl': a key neither side has touched for that long is dropped with its
 * rows, silently, as Flink's idle state retention does (a later retraction of such a row
 * finds nothing to retract). Sweeps run every quarter of the TTL (100 ms to 1 min). */
static int join_tick(weir_sql_op *op, int64_t now_ms, weir_err *err) {
    (void)err;
    weir_sql_join_state *st = op->state;
    st->now_ms = now_ms;
    if (st->ttl_ms <= 0) return WEIR_OK;
    int64_t every = st->ttl_ms / 4;
    if (every < 100) every = 100;
    if (every > 60000) every = 60000;
    if (now_ms - st->last_sweep < every) return WEIR_OK;
    st->last_sweep = now_ms;
    for (int ki = 0; ki < st->nkeys; ki++) {
        weir_sql_jkey *k = &st->keys[ki];
        if (!k->live || now_ms - k->touched_ms < st->ttl_ms) continue;
        for (int s = 0; s < 2; s++)
            while (st->keys[ki].head[s] >= 0) weir_sql_join_row_remove(st, s, st->keys[ki].head[s], st->indexed[s]);
        weir_sql_join_key_release(st, ki);
    }
    weir_sql_join_update_bytes(op);
    return WEIR_OK;
}

/* ---- state records ----------------------------------------------------------------------
 * One record per key: the key's bytes (weir_sql_row_key of the key columns, as the exchange
 * hashes them) and a value: version 1, the key's last access (ms since the epoch), then for
 * the left and the right side: a u32 row count and per row i64 copies, i64 matches, u32
 * length and the row's bytes (weir_sql_row_key of its columns). */

#define JOIN_STATE_VERSION 1

void weir_sql_join_snapshot_keys(weir_sql_join_state *st, weir_sql_state_writer *w, uint8_t version, bool with_touched,
                                 weir_sql_join_put_row_fn put_row) {
    weir_buf val;
    weir_buf_init(&val);
    for (int ki = 0; ki < st->nkeys; ki++) {
        const weir_sql_jkey *k = &st->keys[ki];
        if (!k->live) continue;
        val.len = 0;
        weir_buf_append(&val, &version, 1);
        if (with_touched) weir_sql_rec_put_i64(&val, k->touched_ms);
        for (int s = 0; s < 2; s++) {
            const weir_sql_join_side *sd = &st->side[s];
            uint32_t n = 0;
            int tail = -1;
            for (int x = k->head[s]; x >= 0; x = sd->rows[x].next) n++, tail = x;
            weir_sql_rec_put_u32(&val, n);
            /* oldest first: a restore adds each at the head, giving back the same order */
            for (int x = tail; x >= 0; x = sd->rows[x].prev) {
                const weir_sql_jrow *r = &sd->rows[x];
                put_row(&val, r);
                weir_sql_rec_put_u32(&val, r->h.len);
                weir_buf_append(&val, sd->bytes.data + r->h.off, r->h.len);
            }
        }
        weir_sql_state_put(w, st->kbytes.data + k->h.off, k->h.len, val.data, val.len);
    }
    weir_buf_free(&val);
}

bool weir_sql_join_restore_sides(weir_sql_op *op, int ki, weir_sql_rec_reader *r, size_t nfields,
                                 weir_sql_join_add_row_fn add_row) {
    for (int s = 0; s < 2; s++) {
        uint32_t n = weir_sql_rec_get_u32(r);
        for (uint32_t i = 0; i < n && !r->bad; i++) {
            const uint8_t *fields = weir_sql_rec_get_bytes(r, nfields);
            uint32_t len = weir_sql_rec_get_u32(r);
            const uint8_t *row = weir_sql_rec_get_bytes(r, len);
            if (row) add_row(op, s, ki, fields, row, len);
        }
    }
    return !r->bad;
}

/* The regular join's fields of a row: its copies and its matches (i64 each). */
static void join_put_row(weir_buf *val, const weir_sql_jrow *r) {
    weir_sql_rec_put_i64(val, r->count);
    weir_sql_rec_put_i64(val, r->assoc);
}

static int join_snapshot(weir_sql_op *op, weir_sql_state_writer *w, weir_err *err) {
    (void)err;
    weir_sql_join_snapshot_keys(op->state, w, JOIN_STATE_VERSION, true, join_put_row);
    return WEIR_OK;
}

/* A restored row: equal rows of a retracting side fold into one entry (copies add up). */
static void join_add_row(weir_sql_op *op, int s, int ki, const uint8_t *fields, const uint8_t *row, uint32_t len) {
    weir_sql_join_state *st = op->state;
    int64_t count, assoc;
    memcpy(&count, fields, 8);
    memcpy(&assoc, fields + 8, 8);
    weir_sql_join_side *sd = &st->side[s];
    int x = st->indexed[s] ? find_row(st, s, ki, row, len) : -1;
    if (x < 0)
        x = weir_sql_join_row_add(st, s, ki, row, len, st->indexed[s] ? weir_sql_hash_bytes(row, len) : 0, st->indexed[s]);
    sd->rows[x].count += count;
    sd->rows[x].assoc = assoc;
}

static int join_restore(weir_sql_op *op, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                        weir_err *err) {
    weir_sql_join_state *st = op->state;
    weir_sql_rec_reader r = {val, val + vlen, false};
    uint8_t ver = 0;
    int64_t touched = 0;
    if (!weir_sql_rec_get(&r, &ver, 1) || ver != JOIN_STATE_VERSION || !weir_sql_rec_get(&r, &touched, 8))
        return weir_err_set(err, "join (line %d, column %d): state record of version %d, expected %d", op->plan->pos.line,
                            op->plan->pos.col, ver, JOIN_STATE_VERSION);
    int ki = weir_sql_join_key(st, key, klen, true);
    st->keys[ki].touched_ms = touched;
    if (!weir_sql_join_restore_sides(op, ki, &r, 16, join_add_row))
        return weir_err_set(err, "join (line %d, column %d): a truncated state record", op->plan->pos.line,
                            op->plan->pos.col);
    weir_sql_join_key_release(st, ki);
    weir_sql_join_update_bytes(op);
    return WEIR_OK;
}

const weir_sql_op_vtab weir_sql_op_join = {
    .name = "join",
    .init = join_init,
    .push = join_push,
    .watermark = weir_sql_op_forward_watermark,
    .finish = weir_sql_op_forward_finish,
    .free = weir_sql_join_free,
    .snapshot = join_snapshot,
    .restore = join_restore,
    .tick = join_tick,
};
