/* window_internal.h — event time and keyed state for the engine (part 2): watermark values,
 * the keyed exchange between workers (exchange.c), the byte-keyed hash table and row keys
 * that the exchange and the window aggregation share (agg.c), and the window operator
 * (op_window_agg.c). Not for other modules. */
#ifndef WEIR_SQL_WINDOW_INTERNAL_H
#define WEIR_SQL_WINDOW_INTERNAL_H

#include "sql/engine_internal.h"
#include "sql/eval_internal.h" /* weir_sql_value_class: how a column's values are held */

/* Watermarks are event times in microseconds since the epoch (the batch's TIMESTAMP form).
 * NONE: nothing seen yet; END: the input has ended (every window fires); IDLE: the input
 * has been idle for 'table.exec.source.idle-timeout' and is left out of minimums until it
 * sends a watermark again. */
#define WEIR_SQL_WM_NONE INT64_MIN
#define WEIR_SQL_WM_IDLE (INT64_MIN + 1)
#define WEIR_SQL_WM_END INT64_MAX

/* ---- rows as keys (agg.c) ------------------------------------------------------------- */

/* The key columns of one row as bytes (a null flag, then 8 bytes for 64-bit values, 16 for
 * wide decimals, a length and the bytes for strings), appended to out: equal keys give
 * equal bytes. */
void weir_sql_row_key(weir_buf *out, const weir_sql_batch *b, int row, const int *cols, int ncols);
/* Writes a key made by weir_sql_row_key back into columns [first, first + ncols) of row. */
void weir_sql_row_key_store(weir_sql_batch *b, int row, int first, const uint8_t *key, size_t len, int ncols);
uint64_t weir_sql_hash_bytes(const void *p, size_t n);

/* An open-addressing table from byte strings to dense indexes 0, 1, 2... (insertion
 * order), owning copies of its keys. */
typedef struct weir_sql_keytab {
    uint64_t *slots;      /* (index + 1) << 32 | the hash's high half; 0: empty */
    size_t nslots;
    weir_buf keys;        /* the keys' bytes, one after another */
    size_t *offs;         /* per index: where its key starts in keys (and offs[n]: the end) */
    uint64_t *hashes;
    int n, cap;
} weir_sql_keytab;

void weir_sql_keytab_init(weir_sql_keytab *t);
void weir_sql_keytab_free(weir_sql_keytab *t);
/* The index of key, added when absent (*added says which). */
int weir_sql_keytab_put(weir_sql_keytab *t, const void *key, size_t len, bool *added);
const uint8_t *weir_sql_keytab_key(const weir_sql_keytab *t, int index, size_t *len);

/* ---- exchange (exchange.c) ------------------------------------------------------------ */

/* A message from a sending worker's exchange instance to a receiving worker's. */
typedef struct weir_sql_xmsg {
    /* BARRIER: checkpoint number ts has passed the sender (exchange.c aligns them) */
    enum { WEIR_SQL_XMSG_BATCH, WEIR_SQL_XMSG_WATERMARK, WEIR_SQL_XMSG_FINISH, WEIR_SQL_XMSG_BARRIER } kind;
    int exchange;             /* the exchange's number in the job */
    int sender;               /* the sending worker */
    int64_t ts;               /* WATERMARK */
    weir_sql_batch batch;     /* BATCH: owned by the message */
    struct weir_sql_xmsg *next;
} weir_sql_xmsg;

/* A worker's inbound queue (every exchange of the job sends through it). */
typedef struct weir_sql_inbox {
    pthread_mutex_t lock;
    pthread_cond_t cond;      /* a message arrived, or one was taken (room for senders) */
    weir_sql_xmsg *head, *tail;
    int nbatches;             /* BATCH messages queued: senders wait above WEIR_SQL_INBOX_CAP */
} weir_sql_inbox;

#define WEIR_SQL_INBOX_CAP 64

void weir_sql_inbox_init(weir_sql_inbox *in);
void weir_sql_inbox_free(weir_sql_inbox *in);
/* Delivers every queued message to this worker's exchange instances (waiting up to
 * wait_ms for the first). Returns the messages handled, or WEIR_ERROR. @thread worker */
int weir_sql_worker_drain(weir_sql_worker *w, int wait_ms, weir_err *err);
/* Whether every exchange instance of this worker has heard the end from every sender. */
bool weir_sql_worker_exchanges_done(const weir_sql_worker *w);

extern const weir_sql_op_vtab weir_sql_op_exchange;
extern const weir_sql_op_vtab weir_sql_op_window_agg;

/* The window operator's snapshot (its vtab's snapshot hook) with each record handed to
 * put(ctx, ...) instead of a checkpoint's writer: what the hook writes, record for record
 * (tests compare a restored run with an uninterrupted one through it). */
typedef void (*weir_sql_state_put_fn)(void *ctx, const void *key, size_t klen, const void *val, size_t vlen);
int weir_sql_window_agg_snapshot(weir_sql_op *op, weir_sql_state_put_fn put, void *ctx, weir_err *err);

/* ---- the session time zone (expr_time.c) ----------------------------------------------
 * 'table.local-time-zone': NULL or 'default' (the process's zone), a fixed offset ('UTC',
 * 'GMT+08:00', '+05:30') or a region of the tz database ('Asia/Shanghai'). check refuses
 * anything else with a message naming the option; set applies the zone to every
 * TIMESTAMP_LTZ conversion of the process (a region through the process's TZ: glibc has no
 * per-thread zones), and is meant to run at a job's start, before its workers. */
int weir_sql_time_zone_check(const char *zone, weir_err *err);
int weir_sql_time_zone_set(const char *zone, weir_err *err);

/* ---- scans: watermark generation (op_scan.c) ------------------------------------------ */

/* Called by the worker loop after each read of the scan's reader `sub`: marks the reader
 * active (rows came) or, after 'table.exec.source.idle-timeout' without rows, idle. */
int weir_sql_scan_tick(weir_sql_op *scan, int sub, bool got_rows, int64_t now_ms, weir_err *err);

#endif
