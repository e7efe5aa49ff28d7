/* op_window_internal.h — the window aggregation operator's own state, shared by its two
 * files: op_window_agg.c (windows, sessions, firing, late rows) and op_window_state.c (the
 * state's snapshot and restore). Not for other modules: window_internal.h is the interface. */
#ifndef WEIR_SQL_OP_WINDOW_INTERNAL_H
#define WEIR_SQL_OP_WINDOW_INTERNAL_H

#include <stdlib.h>
#include <string.h>

#include "sql/accum.h"
#include "sql/window_internal.h"

typedef struct acc {
    int64_t cnt;              /* COUNT; SUM/AVG/MIN/MAX: non-NULL values seen */
    int64_t i;
    double f;
    __int128 d;
    char *s;                  /* MIN/MAX/FIRST/LAST of strings, LISTAGG's list (malloc'ed) */
    size_t slen, scap;
    int64_t seq;              /* FIRST/LAST_VALUE: the kept value's arrival number; LISTAGG:
                               * the first value's (orders lists when sessions merge) */
} acc;

typedef struct window {
    int64_t start, end;       /* microseconds (over TIMESTAMP_LTZ: local wall-clock times) */
    int64_t fire;             /* the instant of end (UTC micros), when the window fires */
    /* its groups: each a key of the worker's key table (group_key[g]), found through an
     * open-addressing map from key number to group number ((key + 1) << 32 | group) */
    uint64_t *slots;
    size_t nslots;
    int *group_key;
    int ngroups;
    acc *accs;                /* ngroups × naggs */
    int cap;                  /* groups group_key and accs have room for */
    weir_sql_keytab distinct; /* DISTINCT aggregates: (group, aggregate, value) seen */
    bool has_distinct;
} window;

typedef weir_sql_agg_info agg_info;

typedef struct wagg_state {
    window *wins;             /* the open windows */
    int nwins, capwins;
    weir_sql_keytab win_index; /* (start, end) -> index into wins, rebuilt after each firing */
    struct { int64_t start, end; int index; } win_cache[64]; /* recent lookups (index -1: none) */
    int64_t wm;
    agg_info *aggs;
    weir_sql_batch out;
    bool has_out;
    weir_buf key, dkey;
    bool any_distinct;        /* some aggregate is over DISTINCT values */
    int64_t seq;              /* rows accumulated so far: the arrival order of FIRST/LAST_VALUE */
    int *key_cols;
    /* the group keys of the open windows, each once (a row is hashed once, however many
     * windows it goes into); compacted when it holds many keys of fired windows */
    weir_sql_keytab keys;
    int64_t live_groups;      /* groups over all open windows */
    /* SESSION: per key (its bytes in skeys), its open sessions; the smallest end of all */
    weir_sql_keytab skeys;
    struct session_list *slists;
    int capslists;
    int64_t min_end;
    /* state_bytes: the windows' and sessions' own allocations (groups, accumulators,
     * strings, DISTINCT sets), kept as they grow and shrink; the key tables are added from
     * their capacities (see update_bytes) */
    int64_t var_bytes;
    bool any_str;             /* some accumulator holds a string (LISTAGG, MIN/MAX/FIRST/LAST of one) */
    bool wm_restored;         /* restore: a watermark record was seen (the minimum is kept) */
    /* processing-time windows (the time column is PROCTIME()): rows go to windows by the
     * wall clock when they arrive, and wm is the clock's last tick less 1 ms (windows up
     * to it have fired); the input's watermarks are passed on, not used */
    bool proctime;
    /* over a TIMESTAMP_LTZ time column (rowtime or PROCTIME()), windows are aligned in the
     * session time zone, as Flink's: rows are placed by their local wall-clock time, the
     * windows' start and end are local TIMESTAMPs, and a window fires when the watermark
     * passes the instant of its end; the zone's offset is cached per quarter hour of UTC */
    bool ltz;
    int64_t tz_bucket, tz_off_ms;
    /* HOP and CUMULATE by slices (Flink's slicing windows): each row goes to one slice of
     * the slide's (step's) length (st->wins holds the slices), and a window is its slices
     * merged when it fires; a slice is dropped once the last window holding it has fired.
     * hop_done: the end of the last window emitted (INT64_MIN: none). Not with LISTAGG,
     * whose lists must keep the rows' arrival order across slices. */
    bool slicing;
    int64_t hop_done;
    /* late rows to 'errors.dead-letter-topic' of the source table (NULL: none): a kafka
     * sink of this instance on a table made for it, opened at the first late row */
    const weir_sql_table *dlq_source;
    const char *dlq_topic;
    weir_arena dlq_arena;
    weir_sql_table *dlq_table;
    const weir_sql_connector *dlq_conn;
    void *dlq_sink, *dlq_writer;
    weir_sql_batch dlq_batch;
    bool has_dlq_batch;
    uint64_t dlq_pending;     /* written, not yet flushed */
    weir_buf dlq_buf;
} wagg_state;

/* A session window of one key: [start, end) grows as rows within the gap come. */
typedef struct session {
    int64_t start, end;       /* microseconds */
    acc *accs;                /* naggs */
    int64_t seq;              /* the arrival number of its first row */
    weir_sql_keytab *distinct; /* DISTINCT aggregates: (0, aggregate, value) seen; NULL without */
    bool merging;             /* add_to_session: touched by the new row's session */
} session;

typedef struct session_list {
    session *s;
    int n, cap;
} session_list;

static inline int64_t floor_mod(int64_t a, int64_t m) {
    int64_t r = a % m;
    return r < 0 ? r + m : r;
}

/* ---- state size (op->state_bytes) ---- */

static inline int64_t keytab_bytes(const weir_sql_keytab *t) {
    return (int64_t)(t->nslots * sizeof *t->slots + t->keys.cap + (size_t)t->cap * (sizeof *t->offs + sizeof *t->hashes));
}

static inline int64_t str_bytes(const acc *accs, int n) {
    int64_t b = 0;
    for (int a = 0; a < n; a++) b += (int64_t)accs[a].scap;
    return b;
}

static inline int64_t window_bytes(const window *w, int naggs) {
    size_t na = (size_t)(naggs ? naggs : 1);
    int64_t b = (int64_t)((size_t)w->cap * (na * sizeof *w->accs + sizeof *w->group_key) + w->nslots * sizeof *w->slots) +
                keytab_bytes(&w->distinct);
    for (int g = 0; g < w->ngroups; g++) b += str_bytes(&w->accs[(size_t)g * na], naggs);
    return b;
}

static inline int64_t session_bytes(const session *s, int naggs) {
    int64_t b = (int64_t)((size_t)(naggs ? naggs : 1) * sizeof(acc)) + str_bytes(s->accs, naggs);
    if (s->distinct) b += (int64_t)sizeof *s->distinct + keytab_bytes(s->distinct);
    return b;
}

/* The key list's sessions and its array. */
static inline int64_t slist_bytes(const session_list *l, int naggs) {
    int64_t b = (int64_t)((size_t)l->cap * sizeof *l->s);
    for (int i = 0; i < l->n; i++) b += session_bytes(&l->s[i], naggs);
    return b;
}

/* op->state_bytes from the running count and the tables' capacities (O(1): called after
 * each batch, firing and restored record). */
static inline void update_bytes(weir_sql_op *op) {
    wagg_state *st = op->state;
    op->state_bytes = st->var_bytes + keytab_bytes(&st->keys) + keytab_bytes(&st->skeys) + keytab_bytes(&st->win_index) +
                      (int64_t)((size_t)st->capwins * sizeof *st->wins + (size_t)st->capslists * sizeof *st->slists);
}


/* op_window_agg.c: the open window [start, end) (made when absent), the window's group for
 * a key number (made with zeroed accumulators), a key's session list (made empty). */
window *weir_sql_wagg_window_of(wagg_state *st, int64_t start, int64_t end, int naggs);
int weir_sql_wagg_group_of(wagg_state *st, window *w, int key, int naggs);
session_list *weir_sql_wagg_slist_of(wagg_state *st, const void *key, size_t len);

/* op_window_state.c: the vtab's snapshot and restore hooks. */
int weir_sql_wagg_snapshot(weir_sql_op *op, weir_sql_state_writer *w, weir_err *err);
int weir_sql_wagg_restore(weir_sql_op *op, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                          weir_err *err);

#endif
