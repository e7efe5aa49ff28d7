/* op_join_internal.h — the state both join operators keep (op_join.c builds and manages it;
 * op_interval_join.c adds time order): keys present on either side, each side's rows per
 * key in a linked list, row bytes in per-side slabs, and index maps with deletion. Not for
 * other modules. */
#ifndef WEIR_SQL_OP_JOIN_INTERNAL_H
#define WEIR_SQL_OP_JOIN_INTERNAL_H

#include "sql/join_internal.h"
#include "sql/state_internal.h"
#include "sql/window_internal.h"

/* What an index map needs of an entry: its hash and where its bytes are. */
typedef struct weir_sql_jhead {
    uint64_t hash;
    uint32_t off, len;
} weir_sql_jhead;

/* A join key (either side may hold rows under it). */
typedef struct weir_sql_jkey {
    weir_sql_jhead h;
    int32_t head[2];       /* first row of each side's list (-1: none); head[0] links the free list */
    bool live;
    int64_t touched_ms;    /* last access (processing time), for 'table.exec.state.ttl' */
} weir_sql_jkey;

/* A row in state: regular joins keep distinct rows with counts, interval joins one entry per
 * row with its event time. key < 0: a free entry (next links the free list). */
typedef struct weir_sql_jrow {
    weir_sql_jhead h;
    int32_t key, prev, next;
    int64_t count;         /* copies of the row */
    int64_t assoc;         /* an outer side's rows: matching rows on the other side */
    int64_t time;          /* interval joins: the row's event time (µs) */
    bool emitted;          /* interval joins: joined at least once (no padding needed) */
} weir_sql_jrow;

typedef struct weir_sql_jview {
    const char *base;
    size_t stride;
    const uint8_t *bytes;
} weir_sql_jview;

typedef struct weir_sql_jmap {
    uint64_t *slots;
    size_t nslots;
    int n;
} weir_sql_jmap;

int weir_sql_jmap_find(const weir_sql_jmap *m, const weir_sql_jview *v, uint64_t h, const void *key, size_t len);
void weir_sql_jmap_insert(weir_sql_jmap *m, const weir_sql_jview *v, int idx);
void weir_sql_jmap_remove(weir_sql_jmap *m, const weir_sql_jview *v, int idx);
void weir_sql_jmap_free(weir_sql_jmap *m);

typedef struct weir_sql_jheap_ent {
    int64_t time;
    int32_t row;
} weir_sql_jheap_ent;

typedef struct weir_sql_join_side {
    weir_sql_jrow *rows;
    int nrows, caprows, free_row;
    weir_sql_jmap map;       /* regular joins: row bytes -> entry (the multiset) */
    weir_buf bytes;          /* the rows' bytes */
    size_t dead;             /* bytes of removed rows still in the slab */
    int64_t live;
    weir_sql_jheap_ent *heap; /* interval joins: rows by event time (expiry order) */
    int nheap, capheap;
} weir_sql_join_side;

typedef struct weir_sql_join_state {
    const weir_sql_join_spec *js;
    bool interval;
    weir_sql_jkey *keys;
    int nkeys, capkeys, free_key, nlive_keys;
    weir_sql_jmap keymap;
    weir_buf kbytes;
    size_t kdead;
    weir_sql_join_side side[2];
    int *row_cols[2];        /* 0..nout-1: the columns a row's bytes hold */
    bool indexed[2];         /* regular joins: the side's rows are in its row map (an input
                                that retracts); an append-only side's rows are entries of
                                their own, found by a scan of the key's list if ever retracted */
    weir_buf kb, rb;         /* scratch: the current row's key and row bytes */
    weir_sql_batch out;
    bool has_out;
    /* the residual condition and its candidate pairs */
    weir_sql_program *resid;
    weir_sql_batch cand, res;
    bool has_cand, has_res;
    int32_t *cand_row;
    uint8_t *cand_pass;
    int ncand, capcand;
    int32_t *row_key;
    int *row_cstart;
    int caprowinfo;
    int32_t *release;        /* keys to drop after the batch if both sides are empty */
    int nrelease, caprelease;
    /* processing time and TTL */
    int64_t ttl_ms, now_ms, last_sweep;
    /* interval joins: event time (the minimum over both inputs) and what was forwarded */
    int64_t wm;
    int64_t fwd_wm;
    bool fwd_idle;
} weir_sql_join_state;

int weir_sql_join_init(weir_sql_op *op, bool interval, weir_err *err);
void weir_sql_join_free(weir_sql_op *op);
void weir_sql_join_update_bytes(weir_sql_op *op);
int weir_sql_join_key(weir_sql_join_state *st, const uint8_t *key, size_t len, bool add);
void weir_sql_join_key_release(weir_sql_join_state *st, int ki);
int weir_sql_join_row_add(weir_sql_join_state *st, int s, int ki, const uint8_t *bytes, size_t len, uint64_t h,
                          bool index);
void weir_sql_join_row_remove(weir_sql_join_state *st, int s, int i, bool index);
int weir_sql_join_flush(weir_sql_op *op, weir_err *err);
void weir_sql_join_put(weir_sql_join_state *st, weir_sql_batch *b, int kind, const uint8_t *l, size_t llen,
                       const uint8_t *r, size_t rlen);
/* A joined row for an input row of side s (mine) and a row of the other side (NULL: padded). */
int weir_sql_join_emit(weir_sql_op *op, int s, int kind, const uint8_t *mine, size_t mlen, const uint8_t *other,
                       size_t olen, weir_err *err);
void weir_sql_join_cand_add(weir_sql_join_state *st, int row);
void weir_sql_join_rows_reserve(weir_sql_join_state *st, int n);
int weir_sql_join_eval(weir_sql_join_state *st, int s, const weir_sql_batch *b, int r0, int r1, weir_err *err);
bool weir_sql_join_null_key(const weir_sql_join_state *st, int s, const weir_sql_batch *b, int r);
void weir_sql_join_release_later(weir_sql_join_state *st, int ki);
void weir_sql_join_release_all(weir_sql_join_state *st);

/* State records of both joins (op_join.c writes and reads the frame, each join its own
 * fields): one record per live key (the exchange's key bytes) whose value is the version
 * byte, the key's last access (i64 ms) when with_touched, then for the left and the right
 * side a u32 row count and per row, oldest first, the join's fields of the row (put_row),
 * a u32 length and the row's bytes. */
typedef void (*weir_sql_join_put_row_fn)(weir_buf *val, const weir_sql_jrow *r);
void weir_sql_join_snapshot_keys(weir_sql_join_state *st, weir_sql_state_writer *w, uint8_t version, bool with_touched,
                                 weir_sql_join_put_row_fn put_row);
/* Reads the two sides of such a record (r past the version and the last access) into key
 * ki: add_row gets each row's fields (nfields bytes) and bytes, in the order written (a
 * row added at its list's head comes back in the same order). False when truncated. */
typedef void (*weir_sql_join_add_row_fn)(weir_sql_op *op, int s, int ki, const uint8_t *fields, const uint8_t *row,
                                         uint32_t len);
bool weir_sql_join_restore_sides(weir_sql_op *op, int ki, weir_sql_rec_reader *r, size_t nfields,
                                 weir_sql_join_add_row_fn add_row);

#endif
