/*
 * group-consume: a consumer group draining a topic, and the latency of synchronous
 * offset commits, against a running `weir serve` (or any Kafka bootstrap) through
 * librdkafka.  It creates a topic (8 partitions by default), produces N messages of S
 * bytes, then C consumers (threads, each its own rd_kafka_t, one group.id, subscribe())
 * drain it; then every member commits its current offsets synchronously K times and the
 * commit latencies are reported.  This machine's loopback TCP throughput and fsync rate are
 * measured first, in the same run (limits.c), and the summary gives the drain as a % of
 * loopback and the commit latency as a multiple of one fsync.  Never part of `make test`; bench/README.md says how to
 * run it.  MB means 10^6 bytes; all clocks are CLOCK_MONOTONIC in this one process.
 */
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "limits.h"

#define MAX_CONSUMERS 64
#define MAX_PARTITIONS 1024

typedef struct gc_opts {
    const char *bootstrap;
    long messages;
    int size;
    int partitions;
    int consumers;
    int commits;
    int timeout_s;
    const char *data_dir;
    char topic[128];
    char group[160];
} gc_opts;

/* ---------------------------------------------------------------------------------- */

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "group-consume: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static rd_kafka_conf_t *conf_new(const gc_opts *o, const char *const *kv) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char errstr[256];
    if (rd_kafka_conf_set(conf, "bootstrap.servers", o->bootstrap, errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "client.id", "weir-bench-group", errstr, sizeof errstr))
        die("%s", errstr);
    for (; kv && kv[0]; kv += 2)
        if (rd_kafka_conf_set(conf, kv[0], kv[1], errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
            die("config %s=%s: %s", kv[0], kv[1], errstr);
    return conf;
}

static rd_kafka_t *client_new(rd_kafka_type_t type, rd_kafka_conf_t *conf) {
    char errstr[512];
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof errstr);
    if (!rk)
        die("rd_kafka_new: %s", errstr);
    return rk;
}

/* Creates or deletes the topic through the Admin API and checks the result. */
static void topic_admin(const gc_opts *o, int create) {
    rd_kafka_t *rk = client_new(RD_KAFKA_PRODUCER, conf_new(o, NULL));
    char errstr[256];
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *ao =
        rd_kafka_AdminOptions_new(rk, create ? RD_KAFKA_ADMIN_OP_CREATETOPICS : RD_KAFKA_ADMIN_OP_DELETETOPICS);
    rd_kafka_AdminOptions_set_request_timeout(ao, 15000, errstr, sizeof errstr);
    rd_kafka_AdminOptions_set_operation_timeout(ao, 10000, errstr, sizeof errstr);
    const rd_kafka_topic_result_t **res;
    size_t cnt = 0;
    rd_kafka_event_t *ev;
    if (create) {
        rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(o->topic, o->partitions, 1, errstr, sizeof errstr);
        if (!nt)
            die("NewTopic: %s", errstr);
        rd_kafka_CreateTopics(rk, &nt, 1, ao, q);
        ev = rd_kafka_queue_poll(q, 20000);
        rd_kafka_NewTopic_destroy(nt);
        if (!ev || rd_kafka_event_error(ev))
            die("CreateTopics: %s", ev ? rd_kafka_event_error_string(ev) : "no answer in 20 s");
        res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
    } else {
        rd_kafka_DeleteTopic_t *dt = rd_kafka_DeleteTopic_new(o->topic);
        rd_kafka_DeleteTopics(rk, &dt, 1, ao, q);
        ev = rd_kafka_queue_poll(q, 20000);
        rd_kafka_DeleteTopic_destroy(dt);
        if (!ev || rd_kafka_event_error(ev))
            die("DeleteTopics: %s", ev ? rd_kafka_event_error_string(ev) : "no answer in 20 s");
        res = rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &cnt);
    }
    for (size_t i = 0; i < cnt; i++)
        if (rd_kafka_topic_result_error(res[i]))
            die("%s %s: %s", create ? "CreateTopics" : "DeleteTopics", rd_kafka_topic_result_name(res[i]),
                rd_kafka_err2str(rd_kafka_topic_result_error(res[i])));
    rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
}

/* ---------------------------------------------------------------------------------- */
/* Produce                                                                              */

typedef struct dr_state {
    long ok, failed;
    char first_err[256];
} dr_state;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    dr_state *dr = opaque;
    if (m->err) {
        if (!dr->failed++)
            snprintf(dr->first_err, sizeof dr->first_err, "%s", rd_kafka_err2str(m->err));
    } else {
        dr->ok++;
    }
}

/* N messages of S bytes, spread evenly over the partitions, acks=all. */
static double produce(const gc_opts *o) {
    const char *kv[] = {"acks", "all", "enable.idempotence", "false", "linger.ms", "5", "batch.size", "1000000",
                        "batch.num.messages", "100000", "queue.buffering.max.messages", "1000000",
                        "queue.buffering.max.kbytes", "1048576", "compression.type", "none", NULL};
    dr_state dr = {0};
    rd_kafka_conf_t *conf = conf_new(o, kv);
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_conf_set_opaque(conf, &dr);
    rd_kafka_t *rk = client_new(RD_KAFKA_PRODUCER, conf);
    unsigned char *payload = malloc((size_t)o->size);
    if (!payload)
        die("out of memory");
    for (int i = 0; i < o->size; i++)
        payload[i] = (unsigned char)('a' + i % 26);
    uint64_t t0 = now_ns();
    for (long i = 0; i < o->messages;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(o->topic), RD_KAFKA_V_PARTITION((int32_t)(i % o->partitions)),
            RD_KAFKA_V_VALUE(payload, (size_t)o->size), RD_KAFKA_V_MSGFLAGS(0), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(rk, 10);
            continue;
        }
        if (e)
            die("produce: %s", rd_kafka_err2str(e));
        i++;
        if ((i & 1023) == 0)
            rd_kafka_poll(rk, 0);
    }
    if (rd_kafka_flush(rk, o->timeout_s * 1000))
        die("produce: not all messages delivered within %d s", o->timeout_s);
    double secs = (double)(now_ns() - t0) / 1e9;
    if (dr.failed || dr.ok != o->messages)
        die("produce: %ld delivered, %ld failed (%s)", dr.ok, dr.failed, dr.first_err);
    rd_kafka_destroy(rk);
    free(payload);
    return secs;
}

/* ---------------------------------------------------------------------------------- */
/* The group                                                                            */

typedef struct shared {
    const gc_opts *o;
    _Atomic int64_t next[MAX_PARTITIONS]; /* next offset expected per partition */
    _Atomic long unique, duplicates, gaps;
    _Atomic int drained;
    uint64_t start_ns, end_ns, commit_start_ns;
    _Atomic uint64_t first_seen;
    pthread_barrier_t commit_start, commit_end;
    int64_t *lat_us; /* consumers * commits */
    _Atomic long commit_errors;
    char commit_err[256];
    pthread_mutex_t lock;
} shared;

typedef struct member {
    shared *sh;
    int index;
    rd_kafka_t *rk;
    long consumed;
    int assigned;
    pthread_t tid;
} member;

/* One message: counts it once per (partition, offset); a rebalance may hand a partition
 * over before its offsets were committed, so repeats are counted, never double-counted. */
static void member_take(member *mb, const rd_kafka_message_t *m) {
    shared *sh = mb->sh;
    int32_t p = m->partition;
    if (p < 0 || p >= sh->o->partitions)
        return;
    int64_t expect = atomic_load(&sh->next[p]);
    if (m->offset < expect) {
        atomic_fetch_add(&sh->duplicates, 1);
        return;
    }
    if (m->offset > expect)
        atomic_fetch_add(&sh->gaps, m->offset - expect);
    atomic_store(&sh->next[p], m->offset + 1);
    mb->consumed++;
    uint64_t zero = 0;
    atomic_compare_exchange_strong(&sh->first_seen, &zero, now_ns());
    if (atomic_fetch_add(&sh->unique, 1) + 1 == sh->o->messages) {
        sh->end_ns = now_ns();
        atomic_store(&sh->drained, 1);
    }
}

/* The member's current position on each assigned partition, for an explicit commit
 * (rd_kafka_commit with NULL skips the request when nothing changed). */
static rd_kafka_topic_partition_list_t *member_positions(member *mb) {
    rd_kafka_topic_partition_list_t *parts = NULL;
    if (rd_kafka_assignment(mb->rk, &parts) || !parts)
        return NULL;
    rd_kafka_position(mb->rk, parts);
    for (int i = 0; i < parts->cnt; i++)
        if (parts->elems[i].offset < 0)
            parts->elems[i].offset = 0;
    return parts;
}

static void *member_main(void *arg) {
    member *mb = arg;
    shared *sh = mb->sh;
    const gc_opts *o = sh->o;
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, o->topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(mb->rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (e)
        die("subscribe: %s", rd_kafka_err2str(e));
    uint64_t deadline = sh->start_ns + (uint64_t)o->timeout_s * 1000000000ull;
    while (!atomic_load(&sh->drained)) {
        if (now_ns() > deadline)
            die("drain: %ld of %ld messages after %d s", atomic_load(&sh->unique), o->messages, o->timeout_s);
        rd_kafka_message_t *m = rd_kafka_consumer_poll(mb->rk, 100);
        if (!m)
            continue;
        if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            fprintf(stderr, "group-consume: consumer %d: %s\n", mb->index, rd_kafka_message_errstr(m));
        else if (!m->err)
            member_take(mb, m);
        rd_kafka_message_destroy(m);
    }

    /* Commit phase: every member, at once, commits its positions synchronously. */
    if (pthread_barrier_wait(&sh->commit_start) == PTHREAD_BARRIER_SERIAL_THREAD)
        sh->commit_start_ns = now_ns();
    rd_kafka_topic_partition_list_t *pos = member_positions(mb);
    mb->assigned = pos ? pos->cnt : 0;
    for (int i = 0; i < o->commits; i++) {
        int64_t us = -1;
        if (pos && pos->cnt) {
            uint64_t t0 = now_ns();
            e = rd_kafka_commit(mb->rk, pos, 0);
            us = (int64_t)((now_ns() - t0) / 1000);
            if (e) {
                pthread_mutex_lock(&sh->lock);
                if (!atomic_fetch_add(&sh->commit_errors, 1))
                    snprintf(sh->commit_err, sizeof sh->commit_err, "%s", rd_kafka_err2str(e));
                pthread_mutex_unlock(&sh->lock);
            }
        }
        sh->lat_us[(size_t)mb->index * (size_t)o->commits + (size_t)i] = us;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(mb->rk, 0); /* keep the member alive */
        if (m)
            rd_kafka_message_destroy(m);
    }
    if (pos)
        rd_kafka_topic_partition_list_destroy(pos);
    pthread_barrier_wait(&sh->commit_end);
    return NULL;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest rank. */
static double pct_ms(const int64_t *sorted, size_t n, double pct) {
    size_t rank = (size_t)(pct / 100.0 * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return (double)sorted[rank - 1] / 1000.0;
}

/* The group's committed offsets must add up to every message: a check that the commits
 * measured were real and durable in the broker's view. */
static long committed_total(member *mb, const gc_opts *o) {
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(o->partitions);
    for (int p = 0; p < o->partitions; p++)
        rd_kafka_topic_partition_list_add(parts, o->topic, p);
    rd_kafka_resp_err_t e = rd_kafka_committed(mb->rk, parts, 10000);
    long total = -1;
    if (!e) {
        total = 0;
        for (int i = 0; i < parts->cnt; i++)
            total += parts->elems[i].offset > 0 ? parts->elems[i].offset : 0;
    } else {
        fprintf(stderr, "group-consume: committed(): %s\n", rd_kafka_err2str(e));
    }
    rd_kafka_topic_partition_list_destroy(parts);
    return total;
}

/* ---------------------------------------------------------------------------------- */

static void usage(FILE *f) {
    fprintf(f,
            "usage: group-consume --bootstrap HOST:PORT [--messages N] [--size S] [--partitions P]\n"
            "                     [--consumers C] [--commits K] [--topic NAME] [--timeout S]\n"
            "                     [--data-dir DIR]\n"
            "defaults: 200000 messages of 1024 B, 8 partitions, 4 consumers, 500 commits per consumer,\n"
            "          topic weir-bench-group-<pid>, timeout 120 s per phase, fsync probe in .\n");
}

static void opts_parse(int argc, char **argv, gc_opts *o) {
    static const struct option longopts[] = {
        {"bootstrap", 1, 0, 'b'}, {"messages", 1, 0, 'n'}, {"size", 1, 0, 's'}, {"partitions", 1, 0, 'p'},
        {"consumers", 1, 0, 'c'}, {"commits", 1, 0, 'k'},  {"topic", 1, 0, 't'}, {"timeout", 1, 0, 'T'},
        {"data-dir", 1, 0, 'd'},  {"help", 0, 0, 'h'},  {0, 0, 0, 0}};
    *o = (gc_opts){.messages = 200000, .size = 1024, .partitions = 8, .consumers = 4, .commits = 500,
                   .timeout_s = 120, .data_dir = "."};
    snprintf(o->topic, sizeof o->topic, "weir-bench-group-%d", (int)getpid());
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'b': o->bootstrap = optarg; break;
        case 'n': o->messages = atol(optarg); break;
        case 's': o->size = atoi(optarg); break;
        case 'p': o->partitions = atoi(optarg); break;
        case 'c': o->consumers = atoi(optarg); break;
        case 'k': o->commits = atoi(optarg); break;
        case 't': snprintf(o->topic, sizeof o->topic, "%s", optarg); break;
        case 'T': o->timeout_s = atoi(optarg); break;
        case 'd': o->data_dir = optarg; break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); exit(2);
        }
    }
    if (!o->bootstrap || o->messages <= 0 || o->size <= 0 || o->partitions <= 0 ||
        o->partitions > MAX_PARTITIONS || o->consumers <= 0 || o->consumers > MAX_CONSUMERS || o->commits <= 0 ||
        o->timeout_s <= 0) {
        usage(stderr);
        exit(2);
    }
    snprintf(o->group, sizeof o->group, "%s-group", o->topic);
}

int main(int argc, char **argv) {
    gc_opts o;
    opts_parse(argc, argv, &o);
    double mb = (double)o.messages * o.size / 1e6;
    printf("group-consume: %s, topic %s (%d partitions), %ld messages x %d B (%.1f MB), %d consumers in group %s\n",
           rd_kafka_version_str(), o.topic, o.partitions, o.messages, o.size, mb, o.consumers, o.group);
    fflush(stdout);

    /* This machine's limits, measured before any Kafka traffic. */
    bench_limits_t lim = {0};
    int lim_ok = bench_limits_run(o.data_dir, &lim) == 0;
    printf("\n");

    topic_admin(&o, 1);
    double psecs = produce(&o);
    printf("produce acks=all (one producer):   %8.1f MB/s %10.0f msgs/s  (%.2f s)\n", mb / psecs,
           (double)o.messages / psecs, psecs);
    fflush(stdout);

    shared *sh = calloc(1, sizeof *sh);
    member *mbs = calloc((size_t)o.consumers, sizeof *mbs);
    sh->lat_us = calloc((size_t)o.consumers * (size_t)o.commits, sizeof *sh->lat_us);
    if (!sh || !mbs || !sh->lat_us)
        die("out of memory");
    sh->o = &o;
    pthread_mutex_init(&sh->lock, NULL);
    pthread_barrier_init(&sh->commit_start, NULL, (unsigned)o.consumers);
    pthread_barrier_init(&sh->commit_end, NULL, (unsigned)o.consumers + 1);
    /* The clients are made before the clock starts; the clock covers subscribe, the
     * group's join/sync and the whole drain. */
    for (int i = 0; i < o.consumers; i++) {
        const char *kv[] = {"group.id", o.group, "enable.auto.commit", "false", "auto.offset.reset", "earliest",
                            "enable.partition.eof", "false", "session.timeout.ms", "10000",
                            "fetch.wait.max.ms", "100", NULL};
        mbs[i] = (member){.sh = sh, .index = i, .rk = client_new(RD_KAFKA_CONSUMER, conf_new(&o, kv))};
        rd_kafka_poll_set_consumer(mbs[i].rk);
    }
    sh->start_ns = now_ns();
    for (int i = 0; i < o.consumers; i++)
        pthread_create(&mbs[i].tid, NULL, member_main, &mbs[i]);
    pthread_barrier_wait(&sh->commit_end);
    uint64_t commit_phase_end = now_ns();

    double dsecs = (double)(sh->end_ns - sh->start_ns) / 1e9;
    double first = (double)(atomic_load(&sh->first_seen) - sh->start_ns) / 1e9;
    double fsecs = (double)(sh->end_ns - atomic_load(&sh->first_seen)) / 1e9;
    printf("group drain (%d consumers):         %8.1f MB/s %10.0f msgs/s  (%.2f s from subscribe; first message "
           "after %.2f s; %.1f MB/s from it)\n",
           o.consumers, mb / dsecs, (double)o.messages / dsecs, dsecs, first, mb / fsecs);
    printf("  per consumer (msgs):");
    for (int i = 0; i < o.consumers; i++)
        printf(" %ld", mbs[i].consumed);
    printf("; duplicates %ld, gaps %ld\n", atomic_load(&sh->duplicates), atomic_load(&sh->gaps));

    size_t n = 0, total = (size_t)o.consumers * (size_t)o.commits;
    for (size_t i = 0; i < total; i++)
        if (sh->lat_us[i] >= 0)
            sh->lat_us[n++] = sh->lat_us[i];
    qsort(sh->lat_us, n, sizeof *sh->lat_us, cmp_i64);
    int committers = 0, assigned = 0;
    for (int i = 0; i < o.consumers; i++) {
        committers += mbs[i].assigned > 0;
        assigned += mbs[i].assigned;
    }
    if (n) {
        double csecs = (double)(commit_phase_end - sh->commit_start_ns) / 1e9;
        printf("commit latency (sync, %d members at once, %d commits each, %d partitions in all): p50 %.2f ms, "
               "p99 %.2f ms, max %.2f ms; %zu commits in %.2f s (%.0f/s); errors %ld%s%s\n",
               committers, o.commits, assigned, pct_ms(sh->lat_us, n, 50), pct_ms(sh->lat_us, n, 99),
               (double)sh->lat_us[n - 1] / 1000.0, n, csecs, (double)n / csecs, atomic_load(&sh->commit_errors),
               sh->commit_errors ? " first: " : "", sh->commit_errors ? sh->commit_err : "");
    } else {
        printf("commit latency: no member had partitions to commit\n");
    }
    long committed = committed_total(&mbs[0], &o);
    printf("committed offsets add up to %ld of %ld messages\n", committed, o.messages);

    /* Ratios against the limits measured above. */
    printf("\n[summary]\n");
    if (lim.loopback_ok && lim.loopback_mbps > 0)
        printf("  drain / loopback TCP = %.1f / %.1f MB/s = %.1f%% (from the first message: %.1f%%)\n",
               mb / dsecs, lim.loopback_mbps, 100.0 * (mb / dsecs) / lim.loopback_mbps,
               100.0 * (mb / fsecs) / lim.loopback_mbps);
    else
        printf("  drain / loopback TCP: no loopback measurement\n");
    double fsync_ms = bench_limits_fsync_ms(&lim);
    if (n && fsync_ms > 0)
        printf("  commit p50 / one 4 KiB fsync = %.2f / %.3f ms = %.1fx; p99 %.2f ms = %.1fx "
               "(a commit's floor is one durable write)\n",
               pct_ms(sh->lat_us, n, 50), fsync_ms, pct_ms(sh->lat_us, n, 50) / fsync_ms,
               pct_ms(sh->lat_us, n, 99), pct_ms(sh->lat_us, n, 99) / fsync_ms);
    else
        printf("  commit / one fsync: %s\n", n ? "no fsync measurement" : "no commits");

    for (int i = 0; i < o.consumers; i++)
        pthread_join(mbs[i].tid, NULL);
    for (int i = 0; i < o.consumers; i++) {
        rd_kafka_consumer_close(mbs[i].rk);
        rd_kafka_destroy(mbs[i].rk);
    }
    topic_admin(&o, 0);
    int ok = lim_ok && atomic_load(&sh->gaps) == 0 && atomic_load(&sh->commit_errors) == 0 && n > 0 && committed == o.messages;
    free(sh->lat_us);
    free(sh);
    free(mbs);
    printf("result: %s\n", ok ? "ok" : "FAILED (gaps, commit errors, committed offsets short or a limit probe failed)");
    return ok ? 0 : 1;
}
