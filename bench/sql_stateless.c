/*
 * sql-stateless: throughput per core of Weir's stateless SQL jobs, each reported as a ratio
 * against a limit measured in the same run.  (a) datagen -> projection + filter ->
 * blackhole, parallelism 1, against a C loop that fills, filters and projects the same
 * columns; (b) Kafka JSON -> filter -> Kafka JSON through a running broker, against a plain
 * librdkafka consume + produce of the same records without SQL.  "Per core" means rows
 * divided by the CPU seconds (user + system, all threads) of the process doing the work,
 * taken from wait4()'s rusage of the child: `weir sql` for the SQL figures, a child copy
 * of this program for the Kafka limit.  bench/run-sql-stateless starts the broker.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int bench_failed; /* a child failed or an output count was wrong: exit 1 */

#define NAME_LEN 10      /* datagen 'fields.name.length' and the C loop's strings */
#define K_MAX 99         /* k is uniform in [0, K_MAX]; the filter keeps k < 50 */
#define PRICE_MIN 0.0
#define PRICE_MAX 1000.0
#define LOOP_BATCH 1024  /* rows per column vector in the C loop, as the engine's batches */

typedef struct bench_opts {
    const char *weir;
    const char *bootstrap; /* NULL: no part (b) */
    const char *workdir;
    long rows;             /* (a): datagen rows */
    long events;           /* (b): JSON events preloaded */
    int partitions;        /* (b): partitions of the input and output topics */
    int parallelism;       /* (b): 'parallelism.default' of the Kafka job */
    int broker_pid;        /* for the broker's CPU seconds during (b); 0: unknown */
    int skip_datagen, skip_kafka;
    double timeout;        /* per child process, seconds */
} bench_opts_t;

typedef struct bench_child {
    double wall, user, sys;
    int status;            /* exit status, or 128 + signal */
} bench_child_t;

static double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double bench_thread_cpu(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void bench_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void bench_die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "sql-stateless: error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

/* CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat; -1 when
 * it cannot be read. */
static double bench_proc_cpu(int pid) {
    char path[64], buf[2048];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* the command name may contain spaces */
    if (!p) return -1;
    unsigned long long ut = 0, st = 0;
    /* after ") ": state(3) ... utime is field 14, stime 15 */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Runs argv with stdout and stderr to log (appended), waits at most timeout seconds
 * (then SIGKILL), and returns its wall time and CPU time from wait4's rusage. */
static void bench_run_child(char *const argv[], const char *log, double timeout, bench_child_t *out) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_addclose(&fa, 0);
    pid_t pid;
    double t0 = bench_now();
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc) bench_die("cannot start %s: %s", argv[0], strerror(rc));
    struct rusage ru;
    int status = 0;
    bool killed = false;
    for (;;) {
        pid_t w = wait4(pid, &status, WNOHANG, &ru);
        if (w == pid) break;
        if (w < 0 && errno != EINTR) bench_die("wait4: %s", strerror(errno));
        if (!killed && bench_now() - t0 > timeout) {
            fprintf(stderr, "sql-stateless: %s ran over %.0f s; killing it\n", argv[0], timeout);
            kill(pid, SIGKILL);
            killed = true;
        }
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    out->wall = bench_now() - t0;
    out->user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
    out->sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    out->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void bench_log_tail(const char *log) {
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "tail -n 25 '%s' >&2", log);
    if (system(cmd) != 0) fprintf(stderr, "(could not show %s)\n", log);
}

static void bench_write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) bench_die("cannot write %s: %s", path, strerror(errno));
}

/* ------------------------------------------------------------- (a) datagen -> blackhole */

/* splitmix64: a cheap generator of the same quality class as a datagen source's. */
static inline uint64_t bench_rand(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The limit of (a): one thread fills column vectors of LOOP_BATCH rows with what the
 * datagen table declares (id: a sequence; k: uniform ints; price: uniform doubles; name:
 * NAME_LEN random letters in a string heap), evaluates k < 50 into a selection vector and
 * writes the projection (id, k * 2, price * 1.1, name) into output vectors, as a columnar
 * engine must at the least.  Returns rows per CPU second of this thread. */
static double bench_limit_loop(long rows, uint64_t *checksum_out) {
    static int64_t id[LOOP_BATCH], o_id[LOOP_BATCH];
    static int32_t k[LOOP_BATCH], o_k[LOOP_BATCH], sel[LOOP_BATCH];
    static double price[LOOP_BATCH], o_price[LOOP_BATCH];
    static uint32_t name_off[LOOP_BATCH], o_name_off[LOOP_BATCH];
    static char heap[LOOP_BATCH * NAME_LEN], o_heap[LOOP_BATCH * NAME_LEN];
    uint64_t s = 42, checksum = 0;
    int64_t next_id = 1;
    double c0 = bench_thread_cpu();
    for (long done = 0; done < rows;) {
        int n = rows - done < LOOP_BATCH ? (int)(rows - done) : LOOP_BATCH;
        for (int i = 0; i < n; i++) id[i] = next_id++;
        for (int i = 0; i < n; i++) k[i] = (int32_t)(bench_rand(&s) % (K_MAX + 1));
        for (int i = 0; i < n; i++)
            price[i] = PRICE_MIN + (double)(bench_rand(&s) >> 11) * (1.0 / 9007199254740992.0) * (PRICE_MAX - PRICE_MIN);
        for (int i = 0; i < n; i++) {
            name_off[i] = (uint32_t)(i * NAME_LEN);
            uint64_t r = bench_rand(&s);
            for (int j = 0; j < NAME_LEN; j++, r >>= 5) heap[i * NAME_LEN + j] = (char)('a' + (r & 31) % 26);
        }
        int m = 0;
        for (int i = 0; i < n; i++) {
            sel[m] = i;
            m += k[i] < 50;
        }
        for (int j = 0; j < m; j++) o_id[j] = id[sel[j]];
        for (int j = 0; j < m; j++) o_k[j] = k[sel[j]] * 2;
        for (int j = 0; j < m; j++) o_price[j] = price[sel[j]] * 1.1;
        for (int j = 0; j < m; j++) {
            o_name_off[j] = (uint32_t)(j * NAME_LEN);
            memcpy(o_heap + j * NAME_LEN, heap + name_off[sel[j]], NAME_LEN);
        }
        /* consume the output so the compiler cannot drop the work */
        if (m) checksum += (uint64_t)o_id[m - 1] + (uint64_t)o_k[m / 2] + (uint64_t)o_price[0] +
                           (uint64_t)(unsigned char)o_heap[o_name_off[m - 1]] + (uint64_t)m;
        done += n;
    }
    double cpu = bench_thread_cpu() - c0;
    *checksum_out = checksum;
    return cpu > 0 ? (double)rows / cpu : 0;
}

static void bench_datagen(const bench_opts_t *o) {
    char job[4096], path[1024], log[1024];
    snprintf(job, sizeof(job),
             "SET 'parallelism.default' = '1';\n"
             "CREATE TABLE gen (\n"
             "  id BIGINT,\n  k INT,\n  price DOUBLE,\n  name STRING\n"
             ") WITH (\n"
             "  'connector' = 'datagen',\n"
             "  'number-of-rows' = '%ld',\n"
             "  'rows-per-second' = '1000000000',\n"
             "  'fields.id.kind' = 'sequence',\n  'fields.id.start' = '1',\n  'fields.id.end' = '%ld',\n"
             "  'fields.k.min' = '0',\n  'fields.k.max' = '%d',\n"
             "  'fields.price.min' = '%g',\n  'fields.price.max' = '%g',\n"
             "  'fields.name.length' = '%d'\n"
             ");\n"
             "CREATE TABLE sink (id BIGINT, k2 INT, p DOUBLE, name STRING) WITH ('connector' = 'blackhole');\n"
             "INSERT INTO sink SELECT id, k * 2, price * 1.1, name FROM gen WHERE k < 50;\n",
             o->rows, o->rows, K_MAX, PRICE_MIN, PRICE_MAX, NAME_LEN);
    snprintf(path, sizeof(path), "%s/datagen.sql", o->workdir);
    snprintf(log, sizeof(log), "%s/datagen.log", o->workdir);
    bench_write_file(path, job);

    printf("[a] datagen -> projection + filter (k < 50) -> blackhole, parallelism 1, %ld rows\n", o->rows);
    printf("    job: %s\n", path);
    uint64_t checksum = 0;
    double limit = bench_limit_loop(o->rows, &checksum);
    printf("    limit: C loop filling, filtering and projecting the same columns: %.0f rows/s per core "
           "(checksum %" PRIu64 ")\n", limit, checksum);
    char *argv[] = {(char *)o->weir, "sql", "-f", path, NULL};
    bench_child_t c;
    bench_run_child(argv, log, o->timeout, &c);
    if (c.status != 0) {
        bench_log_tail(log);
        printf("    weir sql: FAILED (exit %d) after %.2f s; log %s\n", c.status, c.wall, log);
        bench_failed = 1;
        return;
    }
    double cpu = c.user + c.sys;
    double per_core = cpu > 0 ? (double)o->rows / cpu : 0;
    printf("    weir sql: %.2f s wall, %.2f s CPU (user %.2f, sys %.2f): %.0f rows/s, %.0f rows/s per core\n",
           c.wall, cpu, c.user, c.sys, (double)o->rows / c.wall, per_core);
    printf("[summary a] %.0f rows/s per core = %.1f%% of the C loop (target >= 2000000 rows/s per core: %s)\n",
           per_core, 100.0 * per_core / limit, per_core >= 2e6 ? "met" : "MISSED");
}

/* ------------------------------------------------------------- (b) Kafka JSON -> Kafka */

typedef struct bench_pass {
    int partitions;
    uint8_t **keep;        /* per partition, per offset: the record passes k < 50 */
    int64_t *len;
    int64_t *cap;
    long delivered, failed, kept;
} bench_pass_t;

static void bench_pass_set(bench_pass_t *p, int part, int64_t off, uint8_t v) {
    if (part < 0 || part >= p->partitions || off < 0) return;
    if (off >= p->cap[part]) {
        int64_t cap = p->cap[part] ? p->cap[part] : 4096;
        while (cap <= off) cap *= 2;
        p->keep[part] = realloc(p->keep[part], (size_t)cap);
        if (!p->keep[part]) bench_die("out of memory");
        memset(p->keep[part] + p->cap[part], 0, (size_t)(cap - p->cap[part]));
        p->cap[part] = cap;
    }
    p->keep[part][off] = v;
    if (off + 1 > p->len[part]) p->len[part] = off + 1;
}

static void bench_preload_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    bench_pass_t *p = opaque;
    if (m->err) {
        p->failed++;
        return;
    }
    p->delivered++;
    uint8_t keep = (uint8_t)(uintptr_t)m->_private;
    bench_pass_set(p, m->partition, m->offset, keep);
    p->kept += keep;
}

static rd_kafka_conf_t *bench_conf(const char *bootstrap) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char errstr[256];
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
        bench_die("%s", errstr);
    return conf;
}

static void bench_conf_set(rd_kafka_conf_t *conf, const char *k, const char *v) {
    char errstr[256];
    if (rd_kafka_conf_set(conf, k, v, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
        bench_die("%s=%s: %s", k, v, errstr);
}

static void bench_create_topics(const char *bootstrap, const char *const *names, int n, int partitions) {
    char errstr[256];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, bench_conf(bootstrap), errstr, sizeof(errstr));
    if (!rk) bench_die("%s", errstr);
    rd_kafka_NewTopic_t *nt[4];
    for (int i = 0; i < n; i++) nt[i] = rd_kafka_NewTopic_new(names[i], partitions, 1, errstr, sizeof(errstr));
    rd_kafka_AdminOptions_t *ao = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_operation_timeout(ao, 10000, errstr, sizeof(errstr));
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, nt, (size_t)n, ao, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 20000);
    if (!ev) bench_die("CreateTopics: no answer in 20 s");
    if (rd_kafka_event_error(ev)) bench_die("CreateTopics: %s", rd_kafka_event_error_string(ev));
    size_t cnt = 0;
    const rd_kafka_topic_result_t **res =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
    for (size_t i = 0; i < cnt; i++)
        if (rd_kafka_topic_result_error(res[i]))
            bench_die("CreateTopics %s: %s", rd_kafka_topic_result_name(res[i]),
                      rd_kafka_err2str(rd_kafka_topic_result_error(res[i])));
    rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_NewTopic_destroy_array(nt, (size_t)n);
    /* wait until the metadata lists every partition */
    for (int i = 0; i < n; i++) {
        double deadline = bench_now() + 15;
        for (;;) {
            rd_kafka_topic_t *t = rd_kafka_topic_new(rk, names[i], NULL);
            const rd_kafka_metadata_t *md = NULL;
            int ok = 0;
            if (rd_kafka_metadata(rk, 0, t, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
                ok = md->topic_cnt == 1 && !md->topics[0].err && md->topics[0].partition_cnt == partitions;
                rd_kafka_metadata_destroy(md);
            }
            rd_kafka_topic_destroy(t);
            if (ok) break;
            if (bench_now() > deadline) bench_die("topic %s not in metadata after 15 s", names[i]);
            struct timespec ts = {0, 50 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    rd_kafka_destroy(rk);
}

/* The sum of the high watermarks of topic's partitions. */
static long bench_topic_count(const char *bootstrap, const char *topic, int partitions) {
    char errstr[256];
    rd_kafka_conf_t *conf = bench_conf(bootstrap);
    bench_conf_set(conf, "group.id", "sql-stateless-count");
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (!rk) bench_die("%s", errstr);
    long total = 0;
    for (int p = 0; p < partitions; p++) {
        int64_t lo = 0, hi = 0;
        rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 10000);
        if (e) bench_die("watermarks of %s [%d]: %s", topic, p, rd_kafka_err2str(e));
        total += (long)(hi - lo);
    }
    rd_kafka_destroy(rk);
    return total;
}

/* Produces o->events JSON events, partition i % P, and records per (partition, offset)
 * whether the event passes the job's filter. */
static void bench_preload(const bench_opts_t *o, const char *topic, bench_pass_t *pass) {
    char errstr[256];
    rd_kafka_conf_t *conf = bench_conf(o->bootstrap);
    bench_conf_set(conf, "linger.ms", "20");
    bench_conf_set(conf, "batch.size", "1000000");
    bench_conf_set(conf, "batch.num.messages", "100000");
    bench_conf_set(conf, "queue.buffering.max.messages", "1000000");
    bench_conf_set(conf, "enable.idempotence", "false");
    bench_conf_set(conf, "max.in.flight.requests.per.connection", "1"); /* offsets in produce order */
    rd_kafka_conf_set_dr_msg_cb(conf, bench_preload_dr);
    rd_kafka_conf_set_opaque(conf, pass);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) bench_die("%s", errstr);
    uint64_t s = 7;
    char buf[256];
    double t0 = bench_now();
    for (long i = 0; i < o->events; i++) {
        uint64_t r = bench_rand(&s);
        int k = (int)(r % (K_MAX + 1));
        double price = (double)((r >> 8) % 100000) / 100.0;
        char name[NAME_LEN + 1];
        uint64_t r2 = bench_rand(&s);
        for (int j = 0; j < NAME_LEN; j++, r2 >>= 5) name[j] = (char)('a' + (r2 & 31) % 26);
        name[NAME_LEN] = 0;
        long sec = (long)(i % 86400);
        int len = snprintf(buf, sizeof(buf),
                           "{\"id\":%ld,\"k\":%d,\"price\":%.2f,\"name\":\"%s\",\"ts\":\"2024-06-01 %02ld:%02ld:%02ld.%03d\"}",
                           i + 1, k, price, name, sec / 3600, sec / 60 % 60, sec % 60, (int)(i % 1000));
        for (;;) {
            rd_kafka_resp_err_t e = rd_kafka_producev(
                rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION((int32_t)(i % o->partitions)),
                RD_KAFKA_V_VALUE(buf, (size_t)len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_OPAQUE((void *)(uintptr_t)(k < 50)), RD_KAFKA_V_END);
            if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                rd_kafka_poll(rk, 10);
                continue;
            }
            if (e) bench_die("produce: %s", rd_kafka_err2str(e));
            break;
        }
        rd_kafka_poll(rk, 0);
    }
    if (rd_kafka_flush(rk, 120000)) bench_die("preload: records still undelivered after 120 s");
    rd_kafka_destroy(rk);
    if (pass->failed || pass->delivered != o->events)
        bench_die("preload: %ld delivered, %ld failed of %ld", pass->delivered, pass->failed, o->events);
    printf("    preload: %ld JSON events (%ld pass k < 50) into %s, %d partitions, in %.1f s\n", o->events,
           pass->kept, topic, o->partitions, bench_now() - t0);
}

static void bench_pass_save(const bench_pass_t *p, const char *path) {
    FILE *f = fopen(path, "wb");
    if (!f) bench_die("cannot write %s: %s", path, strerror(errno));
    for (int i = 0; i < p->partitions; i++) {
        int64_t n = p->len[i];
        if (fwrite(&n, sizeof(n), 1, f) != 1 || (n && fwrite(p->keep[i], 1, (size_t)n, f) != (size_t)n))
            bench_die("cannot write %s", path);
    }
    if (fclose(f) != 0) bench_die("cannot write %s", path);
}

static void bench_pass_load(bench_pass_t *p, const char *path, int partitions) {
    FILE *f = fopen(path, "rb");
    if (!f) bench_die("cannot read %s: %s", path, strerror(errno));
    p->partitions = partitions;
    p->keep = calloc((size_t)partitions, sizeof(*p->keep));
    p->len = calloc((size_t)partitions, sizeof(*p->len));
    p->cap = calloc((size_t)partitions, sizeof(*p->cap));
    for (int i = 0; i < partitions; i++) {
        int64_t n;
        if (fread(&n, sizeof(n), 1, f) != 1 || n < 0) bench_die("bad %s", path);
        p->keep[i] = malloc((size_t)n + 1);
        if (!p->keep[i] || (n && fread(p->keep[i], 1, (size_t)n, f) != (size_t)n)) bench_die("bad %s", path);
        p->len[i] = p->cap[i] = n;
    }
    fclose(f);
}

/* The limit of (b), run as a child process (--baseline-copy): reads every partition of
 * `in` from the beginning to the end it had at the start with one consumer, and produces
 * the records that pass the filter (known from the preload's delivery reports, so no
 * parsing) unchanged to `out` with one producer; prints how many it copied. */
static int bench_baseline_copy(const char *bootstrap, const char *in, const char *out, int partitions,
                               const char *pass_path) {
    bench_pass_t pass = {0};
    bench_pass_load(&pass, pass_path, partitions);
    char errstr[256];
    rd_kafka_conf_t *pc = bench_conf(bootstrap);
    bench_conf_set(pc, "enable.idempotence", "false");
    bench_conf_set(pc, "linger.ms", "5");
    rd_kafka_t *prod = rd_kafka_new(RD_KAFKA_PRODUCER, pc, errstr, sizeof(errstr));
    if (!prod) bench_die("%s", errstr);
    rd_kafka_conf_t *cc = bench_conf(bootstrap);
    bench_conf_set(cc, "group.id", "sql-stateless-baseline");
    bench_conf_set(cc, "enable.auto.commit", "false");
    bench_conf_set(cc, "enable.partition.eof", "true");
    bench_conf_set(cc, "auto.offset.reset", "earliest");
    rd_kafka_t *cons = rd_kafka_new(RD_KAFKA_CONSUMER, cc, errstr, sizeof(errstr));
    if (!cons) bench_die("%s", errstr);
    rd_kafka_poll_set_consumer(cons);
    rd_kafka_topic_partition_list_t *tl = rd_kafka_topic_partition_list_new(partitions);
    int64_t *end = calloc((size_t)partitions, sizeof(*end));
    int done = 0;
    for (int p = 0; p < partitions; p++) {
        int64_t lo, hi;
        if (rd_kafka_query_watermark_offsets(cons, in, p, &lo, &hi, 10000)) bench_die("watermarks of %s", in);
        end[p] = hi;
        if (hi == 0) done++;
        rd_kafka_topic_partition_list_add(tl, in, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    if (rd_kafka_assign(cons, tl)) bench_die("assign");
    rd_kafka_topic_partition_list_destroy(tl);
    long copied = 0;
    double deadline = bench_now() + 600;
    while (done < partitions) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(cons, 100);
        if (!m) {
            if (bench_now() > deadline) bench_die("baseline: no end after 600 s");
            continue;
        }
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            rd_kafka_message_destroy(m);
            continue;
        }
        if (m->err) bench_die("consume: %s", rd_kafka_message_errstr(m));
        int p = m->partition;
        if (m->offset < pass.len[p] && pass.keep[p][m->offset]) {
            for (;;) {
                rd_kafka_resp_err_t e = rd_kafka_producev(prod, RD_KAFKA_V_TOPIC(out),
                                                          RD_KAFKA_V_VALUE(m->payload, m->len),
                                                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
                if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                    rd_kafka_poll(prod, 10);
                    continue;
                }
                if (e) bench_die("produce: %s", rd_kafka_err2str(e));
                break;
            }
            copied++;
            rd_kafka_poll(prod, 0);
        }
        if (m->offset + 1 == end[p]) done++;
        rd_kafka_message_destroy(m);
    }
    if (rd_kafka_flush(prod, 120000)) bench_die("baseline: records undelivered after 120 s");
    rd_kafka_consumer_close(cons);
    rd_kafka_destroy(cons);
    rd_kafka_destroy(prod);
    printf("baseline copied %ld\n", copied);
    return 0;
}

static void bench_kafka(const bench_opts_t *o, const char *self) {
    char in[128], out[128], base_out[128];
    int tag = (int)getpid();
    snprintf(in, sizeof(in), "sql-bench-in-%d", tag);
    snprintf(out, sizeof(out), "sql-bench-out-%d", tag);
    snprintf(base_out, sizeof(base_out), "sql-bench-base-%d", tag);
    printf("[b] Kafka JSON -> filter (k < 50) -> Kafka JSON, parallelism %d, %ld events, broker %s\n",
           o->parallelism, o->events, o->bootstrap);
    const char *topics[] = {in, out, base_out};
    bench_create_topics(o->bootstrap, topics, 3, o->partitions);
    bench_pass_t pass = {.partitions = o->partitions};
    pass.keep = calloc((size_t)o->partitions, sizeof(*pass.keep));
    pass.len = calloc((size_t)o->partitions, sizeof(*pass.len));
    pass.cap = calloc((size_t)o->partitions, sizeof(*pass.cap));
    bench_preload(o, in, &pass);
    char pass_path[1024], log[1024], job_path[1024], parts[16];
    snprintf(pass_path, sizeof(pass_path), "%s/pass.bin", o->workdir);
    bench_pass_save(&pass, pass_path);
    snprintf(parts, sizeof(parts), "%d", o->partitions);

    /* the limit: consume + produce without SQL, in a child process of its own */
    snprintf(log, sizeof(log), "%s/baseline.log", o->workdir);
    char *bargv[] = {(char *)self, "--baseline-copy", "--bootstrap", (char *)o->bootstrap, "--in", in,
                     "--out", base_out, "--partitions", parts, "--pass-file", pass_path, NULL};
    double b0 = o->broker_pid ? bench_proc_cpu(o->broker_pid) : -1;
    bench_child_t bc;
    bench_run_child(bargv, log, o->timeout, &bc);
    double b1 = o->broker_pid ? bench_proc_cpu(o->broker_pid) : -1;
    long base_count = bench_topic_count(o->bootstrap, base_out, o->partitions);
    if (bc.status != 0 || base_count != pass.kept) {
        bench_log_tail(log);
        bench_die("baseline copy: exit %d, %ld records in %s, expected %ld", bc.status, base_count, base_out,
                  pass.kept);
    }
    double bcpu = bc.user + bc.sys;
    double base_per_core = (double)o->events / bcpu;
    printf("    limit: librdkafka consume + produce of the same records, no SQL: %.2f s wall, %.2f s CPU "
           "(user %.2f, sys %.2f): %.0f events/s, %.0f events/s per core",
           bc.wall, bcpu, bc.user, bc.sys, (double)o->events / bc.wall, base_per_core);
    if (b0 >= 0 && b1 >= 0) printf("; broker CPU %.2f s", b1 - b0);
    printf("\n");

    char job[4096];
    snprintf(job, sizeof(job),
             "SET 'parallelism.default' = '%d';\n"
             "CREATE TABLE src (\n  id BIGINT,\n  k INT,\n  price DOUBLE,\n  name STRING,\n  ts TIMESTAMP(3)\n"
             ") WITH (\n"
             "  'connector' = 'kafka',\n  'topic' = '%s',\n  'properties.bootstrap.servers' = '%s',\n"
             "  'properties.group.id' = 'sql-stateless',\n"
             "  'scan.startup.mode' = 'earliest-offset',\n  'scan.bounded.mode' = 'latest-offset',\n"
             "  'format' = 'json'\n);\n"
             "CREATE TABLE dst (\n  id BIGINT,\n  k INT,\n  price DOUBLE,\n  name STRING,\n  ts TIMESTAMP(3)\n"
             ") WITH (\n"
             "  'connector' = 'kafka',\n  'topic' = '%s',\n  'properties.bootstrap.servers' = '%s',\n"
             "  'format' = 'json'\n);\n"
             "INSERT INTO dst SELECT id, k, price, name, ts FROM src WHERE k < 50;\n",
             o->parallelism, in, o->bootstrap, out, o->bootstrap);
    snprintf(job_path, sizeof(job_path), "%s/kafka.sql", o->workdir);
    bench_write_file(job_path, job);
    snprintf(log, sizeof(log), "%s/kafka-job.log", o->workdir);
    printf("    job: %s\n", job_path);
    char *argv[] = {(char *)o->weir, "sql", "-f", job_path, NULL};
    b0 = o->broker_pid ? bench_proc_cpu(o->broker_pid) : -1;
    bench_child_t c;
    bench_run_child(argv, log, o->timeout, &c);
    b1 = o->broker_pid ? bench_proc_cpu(o->broker_pid) : -1;
    if (c.status != 0) {
        bench_log_tail(log);
        printf("    weir sql: FAILED (exit %d) after %.2f s; log %s\n", c.status, c.wall, log);
        bench_failed = 1;
        return;
    }
    long got = bench_topic_count(o->bootstrap, out, o->partitions);
    double cpu = c.user + c.sys;
    double per_core = (double)o->events / cpu;
    printf("    weir sql: %.2f s wall, %.2f s CPU (user %.2f, sys %.2f): %.0f events/s, %.0f events/s per core",
           c.wall, cpu, c.user, c.sys, (double)o->events / c.wall, per_core);
    if (b0 >= 0 && b1 >= 0) printf("; broker CPU %.2f s", b1 - b0);
    printf("\n    output: %ld records in %s (expected %ld)%s\n", got, out, pass.kept,
           got == pass.kept ? "" : "  <-- MISMATCH");
    if (got != pass.kept) bench_failed = 1;
    printf("[summary b] %.0f events/s per core = %.1f%% of the plain librdkafka copy "
           "(target >= 500000 events/s per core: %s; Flink: about 44000/s per core on similar jobs)\n",
           per_core, 100.0 * per_core / base_per_core, per_core >= 5e5 ? "met" : "MISSED");
}

static void bench_usage(FILE *f) {
    fprintf(f,
            "usage: sql-stateless --weir PATH [--bootstrap HOST:PORT] [--rows N] [--events N]\n"
            "                     [--partitions P] [--parallelism W] [--broker-pid PID] [--workdir DIR]\n"
            "                     [--timeout S] [--skip-datagen] [--skip-kafka]\n"
            "  (a) datagen -> filter + projection -> blackhole (no broker needed), --rows (default 20000000)\n"
            "  (b) Kafka JSON -> filter -> Kafka JSON against --bootstrap, --events (default 2000000)\n");
}

int main(int argc, char **argv) {
    bench_opts_t o = {.rows = 20000000, .events = 2000000, .partitions = 4, .parallelism = 2,
                      .workdir = ".", .timeout = 600};
    const char *in = NULL, *out = NULL, *pass_path = NULL;
    int baseline = 0;
    static const struct option longopts[] = {
        {"weir", required_argument, 0, 'w'},        {"bootstrap", required_argument, 0, 'b'},
        {"rows", required_argument, 0, 'r'},        {"events", required_argument, 0, 'e'},
        {"partitions", required_argument, 0, 'p'},  {"parallelism", required_argument, 0, 'P'},
        {"broker-pid", required_argument, 0, 'B'},  {"workdir", required_argument, 0, 'd'},
        {"timeout", required_argument, 0, 't'},     {"skip-datagen", no_argument, 0, 'A'},
        {"skip-kafka", no_argument, 0, 'K'},        {"baseline-copy", no_argument, 0, 'C'},
        {"in", required_argument, 0, 'i'},          {"out", required_argument, 0, 'o'},
        {"pass-file", required_argument, 0, 'f'},   {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'w': o.weir = optarg; break;
        case 'b': o.bootstrap = optarg; break;
        case 'r': o.rows = atol(optarg); break;
        case 'e': o.events = atol(optarg); break;
        case 'p': o.partitions = atoi(optarg); break;
        case 'P': o.parallelism = atoi(optarg); break;
        case 'B': o.broker_pid = atoi(optarg); break;
        case 'd': o.workdir = optarg; break;
        case 't': o.timeout = atof(optarg); break;
        case 'A': o.skip_datagen = 1; break;
        case 'K': o.skip_kafka = 1; break;
        case 'C': baseline = 1; break;
        case 'i': in = optarg; break;
        case 'o': out = optarg; break;
        case 'f': pass_path = optarg; break;
        case 'h': bench_usage(stdout); return 0;
        default: bench_usage(stderr); return 2;
        }
    }
    if (baseline) {
        if (!o.bootstrap || !in || !out || !pass_path) bench_die("--baseline-copy needs --bootstrap --in --out --pass-file");
        return bench_baseline_copy(o.bootstrap, in, out, o.partitions, pass_path);
    }
    if (!o.weir || o.rows <= 0 || o.events <= 0 || o.partitions <= 0 || o.parallelism <= 0) {
        bench_usage(stderr);
        return 2;
    }
    char self[1024];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0) bench_die("readlink /proc/self/exe: %s", strerror(errno));
    self[n] = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("[machine] nproc %ld, librdkafka %s, weir %s\n", sysconf(_SC_NPROCESSORS_ONLN), rd_kafka_version_str(),
           o.weir);
    if (!o.skip_datagen) bench_datagen(&o);
    if (!o.skip_kafka) {
        if (!o.bootstrap) printf("[b] skipped: no --bootstrap\n");
        else bench_kafka(&o, self);
    }
    return bench_failed ? 1 : 0;
}
