/*
 * sql-stateful: throughput per core of Weir's stateful SQL jobs (issue 5 item 10), each
 * reported as ratios against two limits measured in the same run: the same datagen rows
 * through the stateless path (scan + calc + blackhole, no state) and a hand-written C loop
 * doing the operator's work (hash aggregation, symmetric hash join) over the same columns.
 * Cases: (a) TUMBLE count over 100K keys, (b) HOP count, (c) a regular join, (d) an
 * interval join, (e) checkpoint time per GB of group-aggregation state.  Every job runs
 * in a forked child (its own memory, its own CPU clock) with parallelism 1, linked with
 * libweir.a; "per core" is rows read by the sources divided by the CPU seconds (user +
 * system, all threads) the child used between job start and its end.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "connect/connect.h"
#include "sql/engine_internal.h"
#include "sql/sql.h"

#define NKEYS 100000          /* (a), (b): keys uniform in [0, NKEYS) */
#define EV_PER_MS 1000        /* (a), (b): event time advances 1 ms per 1000 rows (1M events per event-time second) */
#define TUMBLE_MS 1000        /* (a) TUMBLE 1 s */
#define HOP_SIZE_MS 10000     /* (b) HOP size 10 s */
#define HOP_SLIDE_MS 1000     /*     slide 1 s */
#define HOP_SLICES (HOP_SIZE_MS / HOP_SLIDE_MS)
#define IJ_EV_PER_MS 100      /* (d): 100K orders per event-time second */
#define IJ_LAG_MS 2000        /* (d): a shipment's time is its order's + 2 s */
#define IJ_BOUND_MS 10000     /* (d): s.ts BETWEEN o.ts AND o.ts + 10 s */
#define LOOP_BATCH 1024

static int bench_failed;

typedef struct bench_opts {
    const char *workdir;
    long window_rows;   /* (a), (b) */
    long join_rows;     /* (c), per side */
    long ij_rows;       /* (d), per side */
    double state_gb;    /* (e) target state */
    double timeout;
    bool skip[5];
} bench_opts_t;

/* What a child reports through its pipe. */
typedef struct bench_result {
    int ok;                  /* 1: ran; 0: failed; 2: refused by the planner (not yet supported) */
    char msg[600];
    uint64_t rows_in, rows_out, late;
    double cpu, wall;
    int64_t state_bytes;     /* (e): published state; rss: the child's resident memory then */
    int64_t rss;
    double checkpoint_s;     /* (e) */
    uint64_t checksum;       /* C loops */
} bench_result_t;

static double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double bench_cpu_self(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

static void bench_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void bench_die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "sql-stateful: error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

/* ------------------------------------------------------------------ running a job */

/* Parses and binds sql into a fresh catalog on arena (DDL; the last INSERT is the job),
 * plans that INSERT into a new job with the given configuration and starts it with
 * parallelism 1; *cpu0 and *wall0 are the clocks just before the start. On failure fills
 * r->msg (r->ok = 2 when binding, planning or an operator refused it: the operator is not
 * there yet) and returns NULL. out_lock must outlive the job. */
static weir_sql_job *bench_start_job(weir_arena *arena, const char *sql, FILE *log, pthread_mutex_t *out_lock,
                                     const char *const *keys, const char *const *vals, int nconf, double *cpu0, double *wall0,
                                     bench_result_t *r) {
    weir_err err = {{0}};
    weir_sql_catalog cat;
    weir_sql_catalog_init(&cat, arena);
    weir_sql_script *script = NULL;
    if (weir_sql_parse_script(arena, sql, strlen(sql), &script, &err) != WEIR_OK) {
        snprintf(r->msg, sizeof r->msg, "parse: %s", err.msg);
        return NULL;
    }
    weir_sql_bstmt *job_stmt = NULL;
    for (int k = 0; k < script->nstmts; k++) {
        weir_sql_bstmt *bs = NULL;
        if (weir_sql_bind_stmt(&cat, script->stmts[k], &bs, &err) != WEIR_OK) {
            snprintf(r->msg, sizeof r->msg, "bind: %s", err.msg);
            r->ok = 2;
            return NULL;
        }
        if (bs->kind == WEIR_SQL_STMT_INSERT) job_stmt = bs;
    }
    if (!job_stmt) bench_die("no INSERT in the job");
    weir_sql_job *job = weir_sql_job_new(NULL, log, out_lock, NULL, keys, vals, nconf);
    weir_sql_plan **roots = NULL;
    int nroots = 0;
    if (weir_sql_plan_build(&job->arena, job_stmt, &roots, &nroots, &err) != WEIR_OK) {
        snprintf(r->msg, sizeof r->msg, "%s", err.msg);
        r->ok = 2; /* refused at planning: the operator is not there yet */
        weir_sql_job_free(job);
        return NULL;
    }
    *cpu0 = bench_cpu_self();
    *wall0 = bench_now();
    if (weir_sql_job_start(job, roots, nroots, 1, &err) != WEIR_OK) {
        snprintf(r->msg, sizeof r->msg, "start: %s", err.msg);
        if (strstr(err.msg, "not implemented yet")) r->ok = 2;
        weir_sql_job_free(job);
        return NULL;
    }
    return job;
}

/* Writes the job's EXPLAIN ANALYZE text to path (best effort: the figures are extra). */
static void bench_write_analyze(weir_sql_job *job, const char *path) {
    weir_buf b;
    weir_buf_init(&b);
    weir_sql_job_analyze(job, &b);
    FILE *f = fopen(path, "w");
    if (f) {
        fwrite(b.data, 1, b.len, f);
        fclose(f);
    }
    weir_buf_free(&b);
}

/* Parses, binds and plans the script (DDL into a fresh catalog; the last INSERT is the
 * job), runs it with parallelism 1 to its end, and fills r. The analyzed plan goes to
 * analyze_path. */
static void bench_job(const char *sql, const char *analyze_path, FILE *log, bench_result_t *r) {
    weir_err err = {{0}};
    weir_arena arena;
    weir_arena_init(&arena, 0);
    pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
    double c0, t0;
    weir_sql_job *job = bench_start_job(&arena, sql, log, &out_lock, NULL, NULL, 0, &c0, &t0, r);
    if (!job) return;
    int rc = weir_sql_job_wait(job, &err);
    r->cpu = bench_cpu_self() - c0;
    r->wall = bench_now() - t0;
    weir_sql_job_stats st;
    weir_sql_job_stats_get(job, &st);
    r->rows_in = st.rows_in;
    r->rows_out = st.rows_out;
    r->late = st.late_rows;
    bench_write_analyze(job, analyze_path);
    if (rc != WEIR_OK) {
        snprintf(r->msg, sizeof r->msg, "job: %s", err.msg);
        if (strstr(err.msg, "not implemented yet")) r->ok = 2; /* an operator that is still a placeholder */
    }
    else r->ok = 1;
    weir_sql_job_free(job);
    weir_arena_free(&arena);
}

/* Runs fn(arg, &result) in a forked child and returns what it reported. */
typedef void (*bench_child_fn)(const void *arg, bench_result_t *r);

static void bench_fork(const bench_opts_t *o, bench_child_fn fn, const void *arg, bench_result_t *r) {
    int fd[2];
    if (pipe(fd) != 0) bench_die("pipe: %s", strerror(errno));
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) bench_die("fork: %s", strerror(errno));
    if (pid == 0) {
        close(fd[0]);
        bench_result_t res;
        memset(&res, 0, sizeof res);
        fn(arg, &res);
        ssize_t w = write(fd[1], &res, sizeof res);
        _exit(w == (ssize_t)sizeof res ? 0 : 1);
    }
    close(fd[1]);
    memset(r, 0, sizeof *r);
    size_t got = 0;
    double t0 = bench_now();
    bool killed = false;
    for (;;) {
        fd_set rs;
        FD_ZERO(&rs);
        FD_SET(fd[0], &rs);
        struct timeval tv = {0, 200000};
        int n = select(fd[0] + 1, &rs, NULL, NULL, &tv);
        if (n > 0) {
            ssize_t k = read(fd[0], (char *)r + got, sizeof *r - got);
            if (k <= 0) break;
            got += (size_t)k;
            if (got == sizeof *r) break;
        } else if (n < 0 && errno != EINTR) {
            break;
        }
        if (!killed && bench_now() - t0 > o->timeout) {
            fprintf(stderr, "sql-stateful: a case ran over %.0f s; killing it\n", o->timeout);
            kill(pid, SIGKILL);
            killed = true;
        }
    }
    close(fd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (got != sizeof *r) {
        memset(r, 0, sizeof *r);
        snprintf(r->msg, sizeof r->msg, "the child died (%s %d)", WIFSIGNALED(status) ? "signal" : "exit",
                 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    }
}

typedef struct bench_sql_arg {
    const char *sql;
    const char *log;
    const char *analyze;
} bench_sql_arg_t;

static void bench_sql_child(const void *arg, bench_result_t *r) {
    const bench_sql_arg_t *a = arg;
    FILE *log = fopen(a->log, "w");
    if (!log) log = stderr;
    weir_connect_register_all();
    bench_job(a->sql, a->analyze, log, r);
    fflush(log);
}

/* Runs one SQL script in a child; returns its rows read per CPU second (0 when it did not
 * run), printing a line named label. */
static double bench_sql(const bench_opts_t *o, const char *name, const char *label, const char *sql,
                        bench_result_t *r) {
    char path[1024], log[1024], an[1024];
    snprintf(path, sizeof path, "%s/%s.sql", o->workdir, name);
    snprintf(log, sizeof log, "%s/%s.log", o->workdir, name);
    snprintf(an, sizeof an, "%s/%s.analyze.txt", o->workdir, name);
    FILE *f = fopen(path, "w");
    if (!f || fputs(sql, f) < 0 || fclose(f) != 0) bench_die("cannot write %s", path);
    bench_sql_arg_t a = {sql, log, an};
    bench_fork(o, bench_sql_child, &a, r);
    if (r->ok == 2) {
        printf("    %s: not run: not supported by this build yet: %s\n", label, r->msg);
        return 0;
    }
    if (r->ok != 1) {
        printf("    %s: FAILED: %s (job %s, log %s)\n", label, r->msg, path, log);
        bench_failed = 1;
        return 0;
    }
    double pc = r->cpu > 0 ? (double)r->rows_in / r->cpu : 0;
    printf("    %s: %" PRIu64 " rows in, %" PRIu64 " out, %" PRIu64 " late; %.2f s wall, %.2f s CPU: "
           "%.0f events/s per core (%.0f/s wall)\n",
           label, r->rows_in, r->rows_out, r->late, r->wall, r->cpu, pc, r->wall > 0 ? (double)r->rows_in / r->wall : 0);
    printf("      job %s, analyzed plan %s\n", path, an);
    return pc;
}

/* ------------------------------------------------------------------ the C loops */

static inline uint64_t bench_rand(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline uint64_t bench_hash(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}

/* An open-addressing (linear probing) table of int64 keys with `width` int64 values each,
 * deletion by backward shift: what a hand-written keyed operator would use. */
typedef struct bench_ht {
    int64_t *slots; /* per slot: key, then width values */
    uint8_t *used;
    size_t cap, n;
    int width;
} bench_ht_t;

static void ht_init(bench_ht_t *h, size_t want, int width) {
    size_t cap = 1024;
    while (cap < want * 2) cap *= 2;
    h->cap = cap;
    h->n = 0;
    h->width = width;
    h->slots = calloc(cap, sizeof(int64_t) * (size_t)(1 + width));
    h->used = calloc(cap, 1);
    if (!h->slots || !h->used) bench_die("out of memory (C loop table of %zu slots)", cap);
}

static void ht_free(bench_ht_t *h) {
    free(h->slots);
    free(h->used);
}

static inline int64_t *ht_slot(bench_ht_t *h, size_t i) { return h->slots + i * (size_t)(1 + h->width); }

static void ht_grow(bench_ht_t *h);

/* The values of key (created zeroed when absent and create is set; NULL otherwise). */
static inline int64_t *ht_get(bench_ht_t *h, int64_t key, bool create) {
    size_t mask = h->cap - 1, i = bench_hash((uint64_t)key) & mask;
    for (;;) {
        if (!h->used[i]) {
            if (!create) return NULL;
            if ((h->n + 1) * 10 > h->cap * 7) {
                ht_grow(h);
                return ht_get(h, key, true);
            }
            h->used[i] = 1;
            h->n++;
            int64_t *s = ht_slot(h, i);
            s[0] = key;
            memset(s + 1, 0, sizeof(int64_t) * (size_t)h->width);
            return s + 1;
        }
        int64_t *s = ht_slot(h, i);
        if (s[0] == key) return s + 1;
        i = (i + 1) & mask;
    }
}

static void ht_grow(bench_ht_t *h) {
    bench_ht_t g;
    ht_init(&g, h->cap, h->width);
    for (size_t i = 0; i < h->cap; i++)
        if (h->used[i]) {
            int64_t *s = ht_slot(h, i);
            memcpy(ht_get(&g, s[0], true), s + 1, sizeof(int64_t) * (size_t)h->width);
        }
    ht_free(h);
    *h = g;
}

static void ht_del(bench_ht_t *h, int64_t key) {
    size_t mask = h->cap - 1, i = bench_hash((uint64_t)key) & mask;
    for (;;) {
        if (!h->used[i]) return;
        if (ht_slot(h, i)[0] == key) break;
        i = (i + 1) & mask;
    }
    /* backward shift: move later entries of the cluster into the hole when their home
     * position allows it */
    size_t hole = i, j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!h->used[j]) break;
        size_t home = bench_hash((uint64_t)ht_slot(h, j)[0]) & mask;
        bool between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (between) continue;
        memcpy(ht_slot(h, hole), ht_slot(h, j), sizeof(int64_t) * (size_t)(1 + h->width));
        hole = j;
    }
    h->used[hole] = 0;
    h->n--;
}

typedef struct bench_loop_arg {
    int kind;   /* 0 tumble, 1 hop, 2 join, 3 interval join */
    long rows;  /* windows: rows; joins: per side */
} bench_loop_arg_t;

/* Slice `cur` ends: emits (sums into checksum) every key's count of the window that ends
 * with it and returns the rows emitted; tumbling windows then start empty, HOP clears
 * the oldest slice (it leaves the next window). */
static uint64_t loop_slice_end(bench_ht_t *h, int64_t cur, bool hop, uint64_t *checksum) {
    uint64_t out = 0;
    for (size_t j = 0; j < h->cap; j++) {
        if (!h->used[j]) continue;
        int64_t *v = ht_slot(h, j) + 1, sum = 0;
        if (hop) {
            for (int q = 0; q < HOP_SLICES; q++) sum += v[q];
            v[(cur + 1) % HOP_SLICES] = 0;
        } else {
            sum = v[0];
        }
        if (sum) {
            *checksum += (uint64_t)(ht_slot(h, j)[0] * 31 + sum);
            out++;
        }
    }
    if (!hop) {
        memset(h->used, 0, h->cap);
        h->n = 0;
    }
    return out;
}

/* (a), (b): datagen's columns (id a sequence, k uniform), ts = id / EV_PER_MS ms, hash
 * aggregation per key in the current slice, emitted (summed into a checksum) when event
 * time leaves it.  HOP keeps HOP_SLICES counts per key and sums them per slide. */
static void bench_loop_window(long rows, bool hop, bench_result_t *r) {
    static int64_t id[LOOP_BATCH], ts[LOOP_BATCH];
    static int32_t k[LOOP_BATCH];
    uint64_t s = 7, checksum = 0, out = 0;
    int width = hop ? HOP_SLICES : 1;
    int64_t slice_ms = hop ? HOP_SLIDE_MS : TUMBLE_MS;
    bench_ht_t h;
    ht_init(&h, NKEYS, width);
    int64_t cur = -1, next_id = 1;
    double c0 = bench_cpu_self();
    for (long done = 0; done < rows;) {
        int n = rows - done < LOOP_BATCH ? (int)(rows - done) : LOOP_BATCH;
        for (int i = 0; i < n; i++) id[i] = next_id++;
        for (int i = 0; i < n; i++) k[i] = (int32_t)(bench_rand(&s) % NKEYS);
        for (int i = 0; i < n; i++) ts[i] = id[i] / EV_PER_MS;
        for (int i = 0; i < n; i++) {
            int64_t sl = ts[i] / slice_ms;
            if (sl != cur) {
                if (cur >= 0) out += loop_slice_end(&h, cur, hop, &checksum);
                cur = sl;
            }
            ht_get(&h, k[i], true)[hop ? sl % HOP_SLICES : 0]++;
        }
        done += n;
    }
    /* the end of input fires what is open, as the engine's end-of-time watermark: the last
     * tumbling window, or the HOP windows that still hold the last slices */
    for (int q = 0; q < (hop ? HOP_SLICES : 1) && cur >= 0; q++) out += loop_slice_end(&h, cur + q, hop, &checksum);
    r->cpu = bench_cpu_self() - c0;
    r->rows_in = (uint64_t)rows;
    r->rows_out = out;
    r->checksum = checksum;
    ht_free(&h);
}

/* (c), (d): a symmetric hash join of two sides of `rows` each (id a sequence on both
 * sides, a payload column), taking LOOP_BATCH rows from each side in turn as the engine's
 * worker does: insert into the own side's table, probe the other's.  Interval (d): rows
 * carry ts (orders: id / IJ_EV_PER_MS ms, shipments: + IJ_LAG_MS), a match needs
 * o.ts <= s.ts <= o.ts + IJ_BOUND_MS, and rows leave a side's table once the watermark
 * (the smaller side's time) has passed the last time they could still match. */
static void bench_loop_join(long rows, bool interval, bench_result_t *r) {
    uint64_t s = 11, checksum = 0, out = 0;
    bench_ht_t side[2];
    /* sized for what each side holds at most: everything (regular join), or the rows of
     * the bound and the lag (interval join); the tables grow if that is wrong */
    size_t want = interval ? (size_t)(IJ_BOUND_MS + IJ_LAG_MS + 2000) * IJ_EV_PER_MS : (size_t)rows;
    if (want > (size_t)rows) want = (size_t)rows;
    ht_init(&side[0], want, 2);
    ht_init(&side[1], want, 2);
    int64_t next[2] = {1, 1}, expired[2] = {1, 1};
    static int64_t id[LOOP_BATCH], pay[LOOP_BATCH], ts[LOOP_BATCH];
    double c0 = bench_cpu_self();
    while (next[0] <= rows || next[1] <= rows) {
        for (int sd = 0; sd < 2; sd++) {
            if (next[sd] > rows) continue;
            int n = rows - next[sd] + 1 < LOOP_BATCH ? (int)(rows - next[sd] + 1) : LOOP_BATCH;
            for (int i = 0; i < n; i++) id[i] = next[sd] + i;
            for (int i = 0; i < n; i++) pay[i] = (int64_t)(bench_rand(&s) % 1000);
            for (int i = 0; i < n; i++) ts[i] = id[i] / IJ_EV_PER_MS + (sd ? IJ_LAG_MS : 0);
            next[sd] += n;
            bench_ht_t *own = &side[sd], *other = &side[1 - sd];
            for (int i = 0; i < n; i++) {
                int64_t *v = ht_get(own, id[i], true);
                v[0] = pay[i];
                v[1] = ts[i];
                int64_t *m = ht_get(other, id[i], false);
                if (!m) continue;
                if (interval) {
                    int64_t ots = sd ? m[1] : ts[i], sts = sd ? ts[i] : m[1];
                    if (sts < ots || sts > ots + IJ_BOUND_MS) continue;
                }
                checksum += (uint64_t)(id[i] + pay[i] * 3 + m[0]);
                out++;
            }
        }
        if (interval) {
            /* the watermark: the smaller of the two sides' times; an order can match
             * shipments up to ts + bound, a shipment orders down to ts - bound */
            int64_t t0 = (next[0] - 1) / IJ_EV_PER_MS, t1 = (next[1] - 1) / IJ_EV_PER_MS + IJ_LAG_MS;
            int64_t wm = t0 < t1 ? t0 : t1;
            while (expired[0] < next[0] && expired[0] / IJ_EV_PER_MS + IJ_BOUND_MS < wm) ht_del(&side[0], expired[0]++);
            while (expired[1] < next[1] && expired[1] / IJ_EV_PER_MS + IJ_LAG_MS < wm) ht_del(&side[1], expired[1]++);
        }
    }
    r->cpu = bench_cpu_self() - c0;
    r->rows_in = (uint64_t)(2 * rows);
    r->rows_out = out;
    r->checksum = checksum;
    ht_free(&side[0]);
    ht_free(&side[1]);
}

static void bench_loop_child(const void *arg, bench_result_t *r) {
    const bench_loop_arg_t *a = arg;
    if (a->kind <= 1) bench_loop_window(a->rows, a->kind == 1, r);
    else bench_loop_join(a->rows, a->kind == 3, r);
    r->ok = 1;
}

static double bench_loop(const bench_opts_t *o, int kind, long rows, const char *what, bench_result_t *r) {
    bench_loop_arg_t a = {kind, rows};
    bench_fork(o, bench_loop_child, &a, r);
    if (r->ok != 1) {
        printf("    C loop: FAILED: %s\n", r->msg);
        return 0;
    }
    double pc = r->cpu > 0 ? (double)r->rows_in / r->cpu : 0;
    printf("    limit, C loop (%s): %" PRIu64 " rows in, %" PRIu64 " out, %.2f s CPU: %.0f events/s per core "
           "(checksum %" PRIu64 ")\n",
           what, r->rows_in, r->rows_out, r->cpu, pc, r->checksum);
    return pc;
}

/* ------------------------------------------------------------------ the cases */

static void bench_summary(const char *tag, double weir, double stateless, double loop, double target) {
    printf("[summary %s] %.0f events/s per core", tag, weir);
    if (stateless > 0) printf(" = %.1f%% of the stateless path", 100.0 * weir / stateless);
    if (loop > 0) printf(", %.1f%% of the C loop", 100.0 * weir / loop);
    printf(" (target >= %.0f per core: %s)\n", target, weir >= target ? "met" : "MISSED");
}

/* The windows' source: id a sequence, k uniform over NKEYS keys, event time from id. */
static void window_table(char *buf, size_t cap, long rows) {
    snprintf(buf, cap,
             "CREATE TABLE gen (\n"
             "  id BIGINT,\n  k INT,\n"
             "  ts AS TO_TIMESTAMP_LTZ(id / %d, 3),\n"
             "  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND\n"
             ") WITH (\n"
             "  'connector' = 'datagen',\n  'number-of-rows' = '%ld',\n  'rows-per-second' = '1000000000',\n"
             "  'fields.id.kind' = 'sequence',\n  'fields.id.start' = '1',\n  'fields.id.end' = '%ld',\n"
             "  'fields.k.min' = '0',\n  'fields.k.max' = '%d'\n"
             ");\n",
             EV_PER_MS, rows, rows, NKEYS - 1);
}

static void bench_windows(const bench_opts_t *o) {
    char tbl[2048], sql[4096];
    bench_result_t r;
    window_table(tbl, sizeof tbl, o->window_rows);
    printf("[a,b] source: datagen, %ld rows, k uniform over %d keys, event time = id / %d ms "
           "(1M events per event-time second), WATERMARK ts - 1 s, parallelism 1\n",
           o->window_rows, NKEYS, EV_PER_MS);
    snprintf(sql, sizeof sql,
             "%sCREATE TABLE sink (k INT, ts TIMESTAMP_LTZ(3)) WITH ('connector' = 'blackhole');\n"
             "INSERT INTO sink SELECT k, ts FROM gen;\n",
             tbl);
    double stateless = bench_sql(o, "windows-stateless", "limit, stateless path (scan + calc, same rows)", sql, &r);

    for (int hop = 0; hop < 2; hop++) { /* (a) TUMBLE, (b) HOP: the same job over another window TVF */
        if (o->skip[hop]) continue;
        if (!hop) printf("[a] TUMBLE(1 s) COUNT(*) GROUP BY k over %d keys\n", NKEYS);
        else printf("[b] HOP(size 10 s, slide 1 s) COUNT(*) GROUP BY k over %d keys (each row in 10 windows)\n", NKEYS);
        double loop = bench_loop(o, hop, o->window_rows,
                                 hop ? "10 one-second slices per key, summed per slide" : "hash aggregation per 1 s window", &r);
        snprintf(sql, sizeof sql,
                 "%sCREATE TABLE sink (k INT, ws TIMESTAMP(3), we TIMESTAMP(3), c BIGINT) WITH ('connector' = 'blackhole');\n"
                 "INSERT INTO sink SELECT k, window_start, window_end, COUNT(*)\n"
                 "FROM TABLE(%s)\n"
                 "GROUP BY k, window_start, window_end;\n",
                 tbl, hop ? "HOP(TABLE gen, DESCRIPTOR(ts), INTERVAL '1' SECOND, INTERVAL '10' SECOND)"
                          : "TUMBLE(TABLE gen, DESCRIPTOR(ts), INTERVAL '1' SECOND)");
        double w = bench_sql(o, hop ? "hop" : "tumble", "weir", sql, &r);
        if (w > 0) bench_summary(hop ? "b hop" : "a tumble", w, stateless, loop, 5e5);
    }
}

static void join_tables(char *buf, size_t cap, long rows, bool interval) {
    char ts_o[200] = "", ts_s[200] = "";
    if (interval) {
        snprintf(ts_o, sizeof ts_o,
                 ",\n  ts AS TO_TIMESTAMP_LTZ(id / %d, 3),\n  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND", IJ_EV_PER_MS);
        snprintf(ts_s, sizeof ts_s,
                 ",\n  ts AS TO_TIMESTAMP_LTZ(order_id / %d + %d, 3),\n  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND",
                 IJ_EV_PER_MS, IJ_LAG_MS);
    }
    snprintf(buf, cap,
             "CREATE TABLE orders (\n  id BIGINT,\n  amount INT%s\n) WITH (\n"
             "  'connector' = 'datagen',\n  'number-of-rows' = '%ld',\n  'rows-per-second' = '1000000000',\n"
             "  'fields.id.kind' = 'sequence',\n  'fields.id.start' = '1',\n  'fields.id.end' = '%ld',\n"
             "  'fields.amount.min' = '0',\n  'fields.amount.max' = '999'\n);\n"
             "CREATE TABLE shipments (\n  order_id BIGINT,\n  carrier INT%s\n) WITH (\n"
             "  'connector' = 'datagen',\n  'number-of-rows' = '%ld',\n  'rows-per-second' = '1000000000',\n"
             "  'fields.order_id.kind' = 'sequence',\n  'fields.order_id.start' = '1',\n  'fields.order_id.end' = '%ld',\n"
             "  'fields.carrier.min' = '0',\n  'fields.carrier.max' = '999'\n);\n",
             ts_o, rows, rows, ts_s, rows, rows);
}

static void bench_joins(const bench_opts_t *o) {
    char tbl[4096], sql[8192];
    bench_result_t r;
    for (int interval = 0; interval < 2; interval++) {
        if (o->skip[2 + interval]) continue;
        long rows = interval ? o->ij_rows : o->join_rows;
        join_tables(tbl, sizeof tbl, rows, interval);
        if (!interval)
            printf("[c] regular INNER JOIN orders o JOIN shipments s ON o.id = s.order_id: two datagen streams of %ld "
                   "rows, ids 1..%ld on both sides (each row matches once; all rows stay in state), parallelism 1\n",
                   rows, rows);
        else
            printf("[d] interval join ON o.id = s.order_id AND s.ts BETWEEN o.ts AND o.ts + INTERVAL '10' SECOND: "
                   "%ld rows a side, 100K orders per event-time second, shipments 2 s after their order, "
                   "WATERMARK ts - 1 s, parallelism 1\n",
                   rows);
        snprintf(sql, sizeof sql,
                 "%sCREATE TABLE sink (id BIGINT, x INT) WITH ('connector' = 'blackhole');\n"
                 "INSERT INTO sink SELECT id, amount FROM orders UNION ALL SELECT order_id, carrier FROM shipments;\n",
                 tbl);
        double stateless = bench_sql(o, interval ? "ijoin-stateless" : "join-stateless",
                                     "limit, stateless path (both scans + calc, UNION ALL)", sql, &r);
        double loop = bench_loop(o, interval ? 3 : 2, rows, interval ? "symmetric hash join with time bounds and expiry"
                                                                       : "symmetric hash join",
                                 &r);
        snprintf(sql, sizeof sql,
                 "%sCREATE TABLE sink (id BIGINT, amount INT, carrier INT) WITH ('connector' = 'blackhole');\n"
                 "INSERT INTO sink SELECT o.id, o.amount, s.carrier\n"
                 "FROM orders o JOIN shipments s ON o.id = s.order_id%s;\n",
                 tbl, interval ? " AND s.ts BETWEEN o.ts AND o.ts + INTERVAL '10' SECOND" : "");
        double w = bench_sql(o, interval ? "ijoin" : "join", "weir", sql, &r);
        if (w > 0) {
            if (r.rows_out != (uint64_t)rows) {
                printf("    output: %" PRIu64 " rows, expected %ld  <-- MISMATCH\n", r.rows_out, rows);
                bench_failed = 1;
            }
            bench_summary(interval ? "d interval join" : "c join", w, stateless, loop, 3e5);
        }
    }
}

/* (e), in the child: an unbounded datagen (id a sequence that does not end in practice) into
 * SELECT id, COUNT(*) ... GROUP BY id, so every row adds a key; once the state the engine
 * publishes (per worker, for the memory cap) reaches the target, one checkpoint is taken
 * with weir_sql_job_checkpoint_now and timed, and the job is stopped. */
typedef struct bench_ckpt_arg {
    const char *workdir;
    double state_gb;
    double timeout;
} bench_ckpt_arg_t;

static int64_t bench_published_state(weir_sql_job *job) {
    int64_t total = 0;
    for (weir_sql_op_shared *sh = job->shared; sh; sh = sh->link)
        if (sh->state_bytes_w)
            for (int i = 0; i < job->nworkers; i++)
                total += atomic_load_explicit(&sh->state_bytes_w[i], memory_order_relaxed);
    return total;
}

static void bench_ckpt_child(const void *arg, bench_result_t *r) {
    const bench_ckpt_arg_t *a = arg;
    char sql[2048], log_path[1024], dir[1024], an[1024];
    snprintf(log_path, sizeof log_path, "%s/checkpoint.log", a->workdir);
    snprintf(dir, sizeof dir, "%s/checkpoints", a->workdir);
    snprintf(an, sizeof an, "%s/checkpoint.analyze.txt", a->workdir);
    FILE *log = fopen(log_path, "w");
    if (!log) log = stderr;
    weir_connect_register_all();
    snprintf(sql, sizeof sql,
             "CREATE TABLE gen (id BIGINT, v INT) WITH ('connector' = 'datagen', 'rows-per-second' = '1000000000',\n"
             "  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '1000000000000',\n"
             "  'fields.v.min' = '0', 'fields.v.max' = '999');\n"
             "CREATE TABLE sink (id BIGINT, c BIGINT, s BIGINT) WITH ('connector' = 'blackhole');\n"
             "INSERT INTO sink SELECT id, COUNT(*), SUM(v) FROM gen GROUP BY id;\n");
    const char *keys[] = {"state.checkpoints.dir", "execution.checkpointing.interval", "state.memory.limit"};
    const char *vals[] = {dir, "1 h", "16 gb"};
    weir_err err = {{0}};
    weir_arena arena;
    weir_arena_init(&arena, 0);
    pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
    double c0, t0;
    weir_sql_job *job = bench_start_job(&arena, sql, log, &out_lock, keys, vals, 3, &c0, &t0, r);
    if (!job) return;
    int64_t target = (int64_t)(a->state_gb * 1e9);
    while (bench_published_state(job) < target && !weir_sql_job_ended(job) && bench_now() - t0 < a->timeout * 0.6) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    r->state_bytes = bench_published_state(job);
    FILE *statm = fopen("/proc/self/statm", "r");
    long pages_total = 0, pages_res = 0;
    if (statm) {
        if (fscanf(statm, "%ld %ld", &pages_total, &pages_res) != 2) pages_res = 0;
        fclose(statm);
    }
    r->rss = (int64_t)pages_res * sysconf(_SC_PAGESIZE);
    weir_sql_job_stats st;
    weir_sql_job_stats_get(job, &st);
    r->rows_in = st.rows_in;
    r->cpu = bench_cpu_self() - c0; /* growing the state: the group aggregation's rate */
    r->wall = bench_now() - t0;
    weir_sql_checkpoint_stats cs;
    memset(&cs, 0, sizeof cs);
    double k0 = bench_now();
    int rc = weir_sql_job_ended(job) ? WEIR_ERROR : weir_sql_job_checkpoint_now(job, &cs, &err);
    r->checkpoint_s = bench_now() - k0;
    if (rc == WEIR_OK) {
        r->rows_out = cs.bytes; /* the checkpoint's bytes (reported as such) */
        r->late = (uint64_t)cs.duration_ms;
        r->ok = 1;
    } else if (weir_sql_job_ended(job)) {
        weir_err jerr = {{0}};
        weir_sql_job_wait(job, &jerr);
        snprintf(r->msg, sizeof r->msg, "the job ended before the checkpoint: %s", jerr.msg);
    } else {
        snprintf(r->msg, sizeof r->msg, "checkpoint: %s", err.msg);
    }
    weir_sql_job_stop(job);
    weir_sql_job_wait(job, &err);
    bench_write_analyze(job, an);
    weir_sql_job_free(job);
    weir_arena_free(&arena);
    fflush(log);
}

static void bench_checkpoint(const bench_opts_t *o) {
    printf("[e] checkpoint of group-aggregation state: unbounded datagen (id a sequence, v uniform in [0, 999]) -> SELECT id, COUNT(*), "
           "SUM(v) GROUP BY id (a new key per row) until the published state reaches %.2f GB, then "
           "weir_sql_job_checkpoint_now into %s/checkpoints, parallelism 1\n",
           o->state_gb, o->workdir);
    bench_ckpt_arg_t a = {o->workdir, o->state_gb, o->timeout};
    bench_result_t r;
    bench_fork(o, bench_ckpt_child, &a, &r);
    if (r.ok == 2) {
        printf("    not run: not supported by this build yet: %s\n", r.msg);
        return;
    }
    if (r.ok != 1) {
        printf("    FAILED: %s (log %s/checkpoint.log)\n", r.msg, o->workdir);
        bench_failed = 1;
        return;
    }
    double gb = (double)r.state_bytes / 1e9;
    printf("    grew %.2f GB of state (published state_bytes; process RSS %.2f GB) from %" PRIu64 " keys in %.1f s "
           "wall, %.1f s CPU: %.0f rows/s per core into the group aggregation\n",
           gb, (double)r.rss / 1e9, r.rows_in, r.wall, r.cpu, r.cpu > 0 ? (double)r.rows_in / r.cpu : 0);
    printf("    checkpoint: %.2f GB written in %.2f s (engine: %" PRIu64 " ms from trigger to _metadata)\n",
           (double)r.rows_out / 1e9, r.checkpoint_s, r.late);
    double per_gb = gb > 0 ? r.checkpoint_s / gb : 0;
    double written = (double)r.rows_out / 1e9;
    printf("[summary e checkpoint] %.2f s per GB of state (%.2f s per GB written; target < 5 s per GB: %s)\n", per_gb,
           written > 0 ? r.checkpoint_s / written : 0, per_gb < 5 ? "met" : "MISSED");
}

static void bench_usage(FILE *f) {
    fprintf(f,
            "usage: sql-stateful [--workdir DIR] [--window-rows N] [--join-rows N] [--ijoin-rows N]\n"
            "                    [--state-gb G] [--timeout S] [--skip a,b,c,d,e]\n"
            "  (a) TUMBLE and (b) HOP counts over 100K keys, --window-rows (default 20000000)\n"
            "  (c) regular join, --join-rows per side (default 3000000)\n"
            "  (d) interval join, --ijoin-rows per side (default 5000000)\n"
            "  (e) checkpoint of --state-gb of group-aggregation state (default 1)\n");
}

int main(int argc, char **argv) {
    bench_opts_t o = {.workdir = ".", .window_rows = 20000000, .join_rows = 3000000, .ij_rows = 5000000,
                      .state_gb = 1.0, .timeout = 600};
    static const struct option longopts[] = {
        {"workdir", required_argument, 0, 'd'},   {"window-rows", required_argument, 0, 'w'},
        {"join-rows", required_argument, 0, 'j'}, {"ijoin-rows", required_argument, 0, 'i'},
        {"state-gb", required_argument, 0, 'g'},  {"timeout", required_argument, 0, 't'},
        {"skip", required_argument, 0, 's'},      {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': o.workdir = optarg; break;
        case 'w': o.window_rows = atol(optarg); break;
        case 'j': o.join_rows = atol(optarg); break;
        case 'i': o.ij_rows = atol(optarg); break;
        case 'g': o.state_gb = atof(optarg); break;
        case 't': o.timeout = atof(optarg); break;
        case 's':
            for (const char *p = optarg; *p; p++)
                if (*p >= 'a' && *p <= 'e') o.skip[*p - 'a'] = true;
            break;
        case 'h': bench_usage(stdout); return 0;
        default: bench_usage(stderr); return 2;
        }
    }
    if (o.window_rows <= 0 || o.join_rows <= 0 || o.ij_rows <= 0 || o.state_gb <= 0) {
        bench_usage(stderr);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    double load[3] = {0};
    if (getloadavg(load, 3) < 0) load[0] = -1;
    printf("[machine] nproc %ld, load average %.2f %.2f %.2f\n", sysconf(_SC_NPROCESSORS_ONLN), load[0], load[1],
           load[2]);
    if (!o.skip[0] || !o.skip[1]) bench_windows(&o);
    if (!o.skip[2] || !o.skip[3]) bench_joins(&o);
    if (!o.skip[4]) bench_checkpoint(&o);
    return bench_failed ? 1 : 0;
}
