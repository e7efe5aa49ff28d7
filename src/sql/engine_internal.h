/* engine_internal.h — shared between the engine (engine.c: jobs, workers, checkpoints),
 * its operators (op_*.c, one file each) and the session (session.c). Not for other
 * modules: sql.h is the interface. Plans are read-only; everything that changes while a
 * job runs lives here, per job or per worker. */
#ifndef WEIR_SQL_ENGINE_INTERNAL_H
#define WEIR_SQL_ENGINE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "sql/sql.h"

/* Rows a worker asks a reader for at once, and the capacity batches start with. */
#define WEIR_SQL_READ_ROWS 4096
/* the longest checkpoint path */
#define WEIR_SQL_PATH_MAX_ 1024

typedef struct weir_sql_worker weir_sql_worker;
typedef struct weir_sql_op weir_sql_op;
/* A checkpoint's state output for one operator instance (checkpoint.c). */
typedef struct weir_sql_state_writer weir_sql_state_writer;
typedef struct weir_sql_ckpt_meta weir_sql_ckpt_meta;

/* ---- operators ----------------------------------------------------------------------
 * Each worker runs its own instance of every operator of the job's plan (push model):
 * a leaf (SCAN fed by the worker's reader, VALUES) pushes batches into its parent, and
 * every operator hands its output to `next` (input number `next_input` there). Batches
 * are borrowed: an operator may not keep a pushed batch after push returns (it copies
 * what it needs), so the producer may clear and reuse it.
 *
 * Part 2 (stateful operators) slots in here: a keyed operator's instance on each worker
 * will be preceded by an exchange operator whose push hashes the batch's key columns and
 * appends each row to the queue of the worker that owns the hash (one bounded MPSC queue
 * per (exchange, worker)); each worker's loop then also drains its inbound queues and
 * pushes those batches into its instance of the keyed operator. watermark() travels the
 * same way (the minimum over the senders), and a checkpoint becomes a barrier that each
 * exchange forwards once it has it from every sender, so flush-then-commit stays correct
 * when rows cross workers. Nothing in part 1 crosses workers: rows read by a worker are
 * written by that worker's sink writers, which is why each worker may flush its writers
 * and then commit its own readers. */
typedef struct weir_sql_op_vtab {
    const char *name;
    /* Per-worker setup (programs, batches, writers). @thread worker */
    int (*init)(weir_sql_op *op, weir_err *err);
    /* One batch on input `input`. @thread worker */
    int (*push)(weir_sql_op *op, int input, const weir_sql_batch *b, weir_err *err);
    /* Event time has reached ts on input `input` (part 1: passed through). */
    int (*watermark)(weir_sql_op *op, int input, int64_t ts, weir_err *err);
    /* Input `input` has ended: its bounded source's end, or a LIMIT above it is full (not
     * called when the job is stopped or failed). */
    int (*finish)(weir_sql_op *op, int input, weir_err *err);
    /* Makes everything pushed so far durable (sinks); NULL for the others. */
    int (*flush)(weir_sql_op *op, weir_err *err);
    /* Releases what init made (also after a failed init). */
    void (*free)(weir_sql_op *op);
    /* ---- part 2: state (NULL for stateless operators) ----
     * snapshot: at a checkpoint barrier (everything before it has been pushed), appends this
     * instance's state as records with weir_sql_state_put: each record's key is the bytes
     * the keyed exchange before the operator hashes (weir_sql_row_key of the key columns),
     * so a restore with another parallelism hands it to the worker that now owns the key; a
     * record with an empty key (per-instance facts such as the operator's watermark) goes
     * to every instance. The value's format is the operator's own: start it with a version
     * byte. @thread worker */
    int (*snapshot)(weir_sql_op *op, weir_sql_state_writer *w, weir_err *err);
    /* restore: before any row, one call per record of the operator's state that this
     * instance owns (and every empty-keyed record). @thread worker */
    int (*restore)(weir_sql_op *op, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, weir_err *err);
    /* tick: the worker's clock (processing time, ms since the epoch), called at least every
     * 100 ms while the job runs: processing-time windows fire and state TTL expires here. */
    int (*tick)(weir_sql_op *op, int64_t now_ms, weir_err *err);
} weir_sql_op_vtab;

/* Appends one record of an operator instance's state to a checkpoint (checkpoint.c). */
void weir_sql_state_put(weir_sql_state_writer *w, const void *key, size_t klen, const void *val, size_t vlen);

/* Job configuration for state (engine.c): 'table.exec.state.ttl' in ms (0: state never
 * expires), read once at job start. */
int64_t weir_sql_job_state_ttl_ms(const weir_sql_job *job);

struct weir_sql_op {
    const weir_sql_op_vtab *vt;
    const weir_sql_plan *plan;
    const char *id;           /* the plan's stable id (part 2 finds its state by it) */
    weir_sql_worker *worker;
    weir_sql_op *next;        /* NULL: a root (a sink) */
    int next_input;
    int nfinished;            /* inputs that have ended */
    void *state;              /* the operator's own (op_*.c) */
    struct weir_sql_op_shared *shared; /* job-wide state of this plan node (LIMIT, sinks, VALUES) */
    /* event time: the last watermark of each input and the one forwarded (the minimum over
     * the inputs that are not idle); see weir_sql_op_forward_watermark */
    int64_t *input_wm;
    bool *input_idle;
    int64_t out_wm;
    bool out_idle;
    /* part 2: the bytes of state this instance holds (its keys, rows and accumulators,
     * roughly: what malloc gave for them), kept current by the operator as state grows and
     * shrinks; the engine sums them against the job's memory cap ('state.memory.limit') */
    int64_t state_bytes;
    /* checkpoints (engine.c): per input the last barrier number that arrived on it, and the
     * last barrier this instance handled (snapshot, flush, forwarded) */
    int64_t *barrier_in;
    int64_t barrier_done;
};

/* Pushes to the next operator (no-op for roots). */
int weir_sql_op_emit(weir_sql_op *op, const weir_sql_batch *b, weir_err *err);
/* Forwards watermark / finish (finish only once every input has finished). The watermark
 * forwarded is the minimum over the inputs that are not idle, and only when it advances; an
 * input that finished counts as the end of time (its open windows fire). */
int weir_sql_op_forward_watermark(weir_sql_op *op, int input, int64_t ts, weir_err *err);
/* The minimum-over-inputs valve behind it, over any n watermark slots (the exchange's
 * slots are its sending workers). */
int weir_sql_op_watermark_valve(weir_sql_op *op, int64_t *wm, bool *idle, int n, int slot, int64_t ts,
                                weir_err *err);
int weir_sql_op_forward_finish(weir_sql_op *op, int input, weir_err *err);
/* A checkpoint barrier numbered n reached input `input` of op (engine.c): once it has
 * reached every input, the instance snapshots its state (vt->snapshot into a state file of
 * the checkpoint), flushes (sinks) and forwards it; an exchange sends it to every worker.
 * @thread worker */
int weir_sql_op_barrier(weir_sql_op *op, int input, int64_t n, weir_err *err);
/* An exchange's receiving side handled barrier n (counted towards the worker's part). */
void weir_sql_worker_barrier_handled(weir_sql_worker *w, int64_t n);

extern const weir_sql_op_vtab weir_sql_op_scan;
extern const weir_sql_op_vtab weir_sql_op_values;
extern const weir_sql_op_vtab weir_sql_op_calc;
extern const weir_sql_op_vtab weir_sql_op_union;
extern const weir_sql_op_vtab weir_sql_op_limit;
extern const weir_sql_op_vtab weir_sql_op_sink;
/* part 2 */
extern const weir_sql_op_vtab weir_sql_op_group_agg;     /* op_group_agg.c */
extern const weir_sql_op_vtab weir_sql_op_rank;          /* op_rank.c */
extern const weir_sql_op_vtab weir_sql_op_over_agg;      /* op_over.c */
extern const weir_sql_op_vtab weir_sql_op_join;          /* op_join.c */
extern const weir_sql_op_vtab weir_sql_op_interval_join; /* op_join.c */

/* ---- job-wide state of one plan node (shared by the workers' instances) ------------- */

typedef struct weir_sql_op_shared {
    const weir_sql_plan *plan;
    /* SCAN: the opened source */
    void *source;
    int nsplits;
    weir_sql_conn_ctx *ctx;   /* what the source was opened with (nworkers set once known) */
    bool *scan_needed;        /* per table column: read, or computed from what is read */
    /* VALUES: the rows, evaluated once at job start (worker 0 emits them) */
    weir_sql_batch values;
    bool has_values;
    /* EXCHANGE: its number in the job */
    int exchange;
    /* LIMIT: rows seen so far over all workers (offset included) */
    _Atomic int64_t seen;
    /* SINK with a table: the opened sink (its input has the table's columns) */
    void *sink;
    /* SINK terminal: rows printed and the column widths */
    _Atomic uint64_t printed;
    int *widths;              /* ncols + 1, the op column first */
    /* published for weir_sql_session_watermarks (read by any thread, relaxed atomics: a
     * store per batch that moves event time, nothing on the rows' path otherwise).
     * SCAN with event time: per split its watermark (WEIR_SQL_WM_NONE, a value, END) and
     * whether it is idle. WINDOW_AGG: per worker its instance's watermark (IDLE when all
     * its inputs are idle). NULL when not tracked. */
    _Atomic int64_t *split_wm;
    atomic_bool *split_idle;
    _Atomic int64_t *worker_wm;
    int nworker_wm;
    /* rows every instance of the node has emitted (weir_sql_op_emit; for EXPLAIN
     * ANALYZE-style statistics), relaxed atomics, one add per batch */
    _Atomic uint64_t rows_out;
    /* checkpoints (engine.c). SCAN: the nth scan of its table in the job (positions are kept
     * by table and occurrence) and the restored per-split watermarks (NULL: none). Stateful
     * nodes: the checkpoint's operator whose files the instances restore (NULL: empty), its
     * directory and the parallelism that wrote it; per worker the instance's state_bytes as
     * last published (relaxed atomics, for the memory cap). */
    int occurrence;
    int64_t *restore_wm;
    const struct weir_sql_ckpt_op *restore_op;
    const char *restore_dir;
    int restore_parallelism;
    bool restore_single;      /* fed by an exchange without keys: every record to instance 0 */
    _Atomic int64_t *state_bytes_w;
    struct weir_sql_op_shared *link; /* next in the job's list */
} weir_sql_op_shared;

/* Whether a LIMIT has let through all it will (its leaves need not be read further). */
bool weir_sql_limit_exhausted(const weir_sql_op_shared *sh);

/* ---- jobs and workers --------------------------------------------------------------- */

/* A reader of one SCAN leaf on one worker. */
typedef struct weir_sql_worker_reader {
    weir_sql_op *leaf;        /* the SCAN operator it feeds */
    int sub;                  /* its input number there (event time: one reader per split) */
    weir_sql_op_shared *sh;
    int *splits;
    int nsplits;
    void *reader;             /* NULL until opened (or when the worker has no splits) */
    bool done;
    weir_sql_batch batch;     /* the table's columns */
    weir_sql_op_shared **limits; /* LIMITs between the leaf and its root */
    int nlimits;
} weir_sql_worker_reader;

struct weir_sql_worker {
    weir_sql_job *job;
    int index;
    pthread_t thread;
    bool started;
    weir_sql_op **ops;        /* every operator instance of this worker */
    int nops;
    weir_sql_worker_reader *readers;
    int nreaders;
    weir_sql_op **values_leaves; /* VALUES operators (emitted by worker 0 only) */
    int nvalues;
    bool failed;
    /* part 2: this worker's exchange instances (by the exchange's number in the job), its
     * inbound queue, and whether it is delivering from it now (no re-entry) */
    weir_sql_op **exchanges;
    struct weir_sql_inbox *inbox;
    bool draining;
    /* checkpoints (engine.c): the last barrier injected into this worker's leaves; the one in
     * progress (reading pauses until every operator instance and exchange receiving side
     * handled it); those handled; the last one finished here (an exchange holds back what a
     * sender sent after a barrier beyond it); the last completed checkpoint committed;
     * what this worker contributes to the checkpoint (positions, state files) */
    int64_t ckpt_injected;
    int64_t ckpt_pending;
    int ckpt_handled;
    int64_t ckpt_report_n;
    int64_t ckpt_released;
    int64_t ckpt_committed;
    bool ckpt_paused;         /* after a savepoint's barrier: nothing more is read */
    struct weir_sql_ckpt_report *report;
    struct weir_sql_ckpt_report *final_report; /* positions when the worker ended */
    int64_t last_tick_ms;
    atomic_bool exited;       /* its loop ended (its readers are done or the job stops) */
};

struct weir_sql_job {
    weir_sql_session *session;
    weir_arena arena;         /* the job's lifetime: plans, configuration copy, workers */
    weir_sql_plan **roots;
    int nroots;
    /* configuration snapshot (SET at start), bootstrap servers, output */
    const char **conf_keys, **conf_values;
    int nconf;
    const char *bootstrap;
    FILE *out;
    pthread_mutex_t *out_lock;
    int64_t checkpoint_ms;
    /* workers */
    int nworkers;
    weir_sql_worker *workers;
    weir_sql_op_shared *shared; /* list of the plan nodes' job-wide state */
    /* event time (part 2): exchanges, whether scans generate watermarks, the idle timeout */
    int nexchanges;
    bool event_time;          /* a window operator needs watermarks */
    bool stateful;            /* operator state lives in memory: sources are not committed */
    int64_t idle_timeout_ms;  /* 'table.exec.source.idle-timeout'; 0: never idle */
    /* state */
    atomic_bool stopping;     /* stop asked (session stop, or a failure) */
    atomic_bool stop_asked;   /* by the session (a query prints "Query terminated") */
    pthread_mutex_t lock;     /* failure message, ended */
    pthread_cond_t cond;
    bool failed;
    weir_err failure;
    bool ended;
    pthread_t supervisor;
    bool supervised;
    _Atomic uint64_t rows_in, rows_out, skipped, dead_lettered, late_rows;
    atomic_bool running;      /* started: workers, shared state and published watermarks exist */
    /* checkpoints (engine.c): with 'state.checkpoints.dir' (ckpt_dir: <dir>/<job id>) the
     * coordinator (the supervisor thread) starts barrier N every interval by publishing
     * ckpt_target and then ckpt_request; workers inject it, report to it under ckpt_lock, and
     * commit their sources once ckpt_completed reaches it. */
    bool barriers;            /* checkpoints or savepoints are possible */
    const char *ckpt_dir;     /* NULL: no periodic checkpoints */
    const char *savepoint_dir;
    char job_id[33];
    int retained;
    int64_t mem_limit;        /* 'state.memory.limit' in bytes */
    const char *mem_limit_text;
    pthread_mutex_t ckpt_lock;
    pthread_cond_t ckpt_cond;
    char ckpt_target[WEIR_SQL_PATH_MAX_];
    _Atomic int64_t ckpt_request;
    _Atomic int64_t ckpt_completed;
    int64_t ckpt_next;        /* the next checkpoint's number */
    /* under ckpt_lock */
    int64_t inflight;         /* 0: none */
    bool inflight_savepoint;
    int64_t inflight_start_ms;
    int inflight_tickets;     /* manual requests this checkpoint answers */
    atomic_bool request_savepoint; /* the requested barrier is a savepoint's */
    int nreported;
    struct weir_sql_ckpt_report **reports; /* per worker, for the in-flight one */
    int manual_asked, manual_done; /* weir_sql_job_checkpoint_now requests */
    bool manual_failed;
    weir_err manual_err;
    weir_sql_checkpoint_stats last_stats;
    bool savepoint_asked;     /* stop with a savepoint */
    bool coordinator_exit;
    int ckpt_users;           /* weir_sql_session_checkpoint_now callers (the job stays) */
    int nexited;
    /* restore */
    bool skip_savepoint_path; /* the session used 'execution.savepoint.path' for an earlier job */
    bool state_refused;       /* start failed: the checkpoint's state does not fit the plan */
    weir_sql_ckpt_meta *restored;
    char restored_from[WEIR_SQL_PATH_MAX_];
    struct weir_sql_job *link; /* the session's list */
};

/* ts = now + ms on CLOCK_MONOTONIC (the clock the engine's condition variables wait on). */
void weir_sql_deadline_in(struct timespec *ts, int ms);

/* Records a failure (the first one wins) and asks every worker to stop. @thread any */
void weir_sql_job_fail(weir_sql_job *job, const weir_err *err);

/* Plans are built by the caller into job->arena (weir_sql_job_new gives the arena).
 * Start opens the sources and sinks on the calling thread, evaluates VALUES, prints a
 * query's header, and starts the workers; it fails (nothing left running) with the
 * connector's or the program's message. */
weir_sql_job *weir_sql_job_new(weir_sql_session *s, FILE *out, pthread_mutex_t *out_lock, const char *bootstrap,
                               const char *const *conf_keys, const char *const *conf_values, int nconf);
int weir_sql_job_start(weir_sql_job *job, weir_sql_plan **roots, int nroots, int parallelism, weir_err *err);
/* Asks the job to stop cleanly. @thread any */
void weir_sql_job_stop(weir_sql_job *job);
/* Takes a savepoint first when the job has a savepoint directory, then stops. @thread any */
void weir_sql_job_stop_with_savepoint(weir_sql_job *job);
/* Waits for the job's end; WEIR_ERROR with its failure. */
int weir_sql_job_wait(weir_sql_job *job, weir_err *err);
bool weir_sql_job_ended(weir_sql_job *job);
void weir_sql_job_stats_get(weir_sql_job *job, weir_sql_job_stats *out);
/* One line per source table of a running job with its event time (see
 * weir_sql_session_watermarks); *min gets the smallest source watermark with a value
 * (INT64_MAX when none has one) and *tracked whether any source generates watermarks.
 * Only reads atomics. @thread any, while the job is listed in its session */
void weir_sql_job_watermarks(weir_sql_job *job, weir_buf *out, int64_t *min, bool *tracked);
/* After wait. */
void weir_sql_job_free(weir_sql_job *job);

/* Flink's duration syntax ('10 s', '500ms', '1 min', '2 h', a bare number of ms) in
 * milliseconds; false when it is not one. */
bool weir_sql_parse_duration_ms(const char *s, int64_t *out);

/* The terminal sink's tableau (op_sink.c): the header and the closing lines. */
void weir_sql_tableau_header(weir_sql_job *job, weir_sql_op_shared *sh);
void weir_sql_tableau_footer(weir_sql_job *job, weir_sql_op_shared *sh, bool terminated);

/* ---- checkpoint hooks of the exchange and the scan ------------------------------------ */

/* exchange.c: the sending side got barrier n: staged rows go out, then the barrier to every
 * worker. The receiving side forwards it once every sender sent it (or ended), and holds
 * back what a sender sent after it until the worker finished the barrier; release delivers
 * what was held back, in order. @thread worker */
int weir_sql_exchange_barrier(weir_sql_op *op, int64_t n, weir_err *err);
int weir_sql_exchange_release(weir_sql_op *op, weir_err *err);
/* op_scan.c: the watermark of the scan's reader `sub` (false when the scan generates
 * none). */
bool weir_sql_scan_split_wm(weir_sql_op *scan, int sub, int64_t *wm);

/* ---- checkpoints (checkpoint.c; the protocol lives in engine.c) ------------------------ */

#define WEIR_SQL_PATH_MAX WEIR_SQL_PATH_MAX_

/* A state file of one operator instance in one checkpoint. */
typedef struct weir_sql_ckpt_file {
    const char *name;         /* in the checkpoint's directory */
    int instance;             /* the worker that wrote it */
    uint64_t bytes, raw, records; /* in the file (compressed), of the records, records */
} weir_sql_ckpt_file;

typedef struct weir_sql_ckpt_op {
    char id[17];
    const char *explain;      /* its EXPLAIN line (named in refusals) */
    int instances;
    weir_sql_ckpt_file *files;
    int nfiles;
} weir_sql_ckpt_op;

typedef struct weir_sql_ckpt_split {
    int split;                /* the split's number in the source */
    const uint8_t *pos;       /* source_ops->position bytes */
    size_t len;
    bool has_wm;              /* the split's watermark (event-time jobs) */
    int64_t wm;
} weir_sql_ckpt_split;

/* Positions of one SCAN: the nth scan (occurrence) of a table in the job. */
typedef struct weir_sql_ckpt_source {
    const char *table;
    int occurrence;
    weir_sql_ckpt_split *splits;
    int nsplits;
} weir_sql_ckpt_source;

/* What _metadata says. */
struct weir_sql_ckpt_meta {
    int64_t id;
    char job_id[64];
    bool savepoint;
    int parallelism;
    int64_t time_ms;
    int64_t duration_ms;      /* from the trigger until the state files were written */
    uint64_t bytes;           /* of the state's records */
    uint64_t file_bytes;      /* of its files (compressed)*/
    weir_sql_ckpt_op *ops;
    int nops;
    weir_sql_ckpt_source *sources;
    int nsources;
};

/* State files: a writer per operator instance and checkpoint (large buffered writes; close
 * syncs, or deletes the file when keep is false), and a reader that checks the file's CRC
 * and hands each record to fn. */
int weir_sql_state_writer_open(const char *path, weir_sql_state_writer **out, weir_err *err);
int weir_sql_state_writer_close(weir_sql_state_writer *w, bool keep, uint64_t *bytes, uint64_t *raw,
                                uint64_t *records, weir_err *err);
typedef int (*weir_sql_state_record_fn)(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                                        weir_err *err);
int weir_sql_state_file_read(const char *path, weir_sql_state_record_fn fn, void *arg, weir_err *err);
/* JSON text of m (free() it); loads dir/_metadata into m (strings in arena). */
char *weir_sql_meta_encode(const weir_sql_ckpt_meta *m);
int weir_sql_meta_load(const char *dir, weir_arena *arena, weir_sql_ckpt_meta *m, weir_err *err);
/* Directories: mkdir -p; fsync of a directory; a file written to a temporary name, synced
 * and renamed into place (then the directory synced); rm -r; the chk-N numbers under a
 * job's directory with and without _metadata, ascending (free() both arrays). */
int weir_sql_mkdirs(const char *path, weir_err *err);
int weir_sql_fsync_dir(const char *path, weir_err *err);
int weir_sql_write_file_atomic(const char *dir, const char *name, const void *data, size_t len, weir_err *err);
void weir_sql_remove_tree(const char *path);
int weir_sql_list_checkpoints(const char *job_dir, int64_t **complete, int *ncomplete, int64_t **incomplete,
                              int *nincomplete);
/* Flink's MemorySize syntax ('2 gb', '512m', '1024'), and "2.1 GB" for messages. */
bool weir_sql_parse_memory_size(const char *s, int64_t *out);
void weir_sql_format_bytes(char *buf, size_t cap, int64_t n);

/* ---- engine.c and engine_ckpt.c (checkpoints) share these ------------------------------ */

typedef struct weir_sql_ckpt_report weir_sql_ckpt_report;
/* The job-wide state of a plan node (made on first use) and an operator's function table. */
weir_sql_op_shared *weir_sql_job_shared_of(weir_sql_job *job, const weir_sql_plan *p);
const weir_sql_op_vtab *weir_sql_plan_vtab(const weir_sql_plan *p);
/* At job start, on the start thread: reads the checkpoint configuration and, when there is
 * a checkpoint or savepoint to restore, checks it against the plan and loads it. */
int weir_sql_job_setup_checkpoints(weir_sql_job *job, weir_err *err);
/* The supervisor's loop while the workers run: starts, completes and abandons checkpoints
 * and enforces the memory cap. */
void weir_sql_job_coordinate(weir_sql_job *job, int nstarted);
/* On a worker: hands the restored state to its operator instances (before any row), runs
 * the operators' ticks, takes the next step of a requested barrier, and records where its
 * readers stand. @thread worker */
int weir_sql_worker_restore(weir_sql_worker *w, weir_err *err);
int weir_sql_worker_tick(weir_sql_worker *w, weir_err *err);
int weir_sql_worker_barrier_step(weir_sql_worker *w, weir_err *err);
int weir_sql_worker_record_positions(weir_sql_worker *w, weir_sql_ckpt_report *r, weir_err *err);
void weir_sql_ckpt_report_reset(weir_sql_ckpt_report *r, int64_t n);
void weir_sql_ckpt_report_free(weir_sql_ckpt_report *r);

#endif
