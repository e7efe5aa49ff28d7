/*
 * produce-consume: Weir's throughput and end-to-end latency benchmark.  It drives a
 * Kafka bootstrap (a running `weir serve`, or librdkafka's in-process mock cluster with
 * `--bootstrap mock`) through librdkafka, measures this machine's loopback TCP and fsync'd
 * write limits in the same run, repeats the workload on a mock cluster as a reference,
 * and prints the ratios.  Never part of `make test`; bench/README.md says how to run it.
 *
 * Units: MB means 10^6 bytes everywhere; message sizes are value bytes (no key, no
 * headers).  All clocks are CLOCK_MONOTONIC in this one process.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "limits.h"

#define BENCH_MB 1000000.0
#define BENCH_E2E_MAGIC 0x57454952u /* "WEIR" */
#define BENCH_E2E_HEADER 24         /* magic u32, run id u32, seq u64, send ns u64 */

#define BENCH_MOCK_REPS 3

typedef struct bench_opts {
    const char *bootstrap;
    long messages;
    int size;
    double rate_mbps;
    int latency_seconds;
    int latency_size;
    char topic[200];
    const char *data_dir;
    int partitions;
    int skip_mock;
    int timeout_s;
    int fetch_wait_ms;
} bench_opts_t;

/* A cluster to drive: a real bootstrap, or a mock cluster this process owns. */
typedef struct bench_target {
    const char *label;
    char bootstrap[512];
    rd_kafka_t *mock_rk; /* hosts the mock cluster; NULL for a real bootstrap */
    rd_kafka_mock_cluster_t *mcluster;
} bench_target_t;

/* One throughput phase's outcome. */
typedef struct bench_rate {
    int ran;
    int ok;
    double secs;
    uint64_t msgs;
    uint64_t bytes;
    char err[512];
} bench_rate_t;

/* The produce/consume workload against one target. */
typedef struct bench_workload {
    bench_rate_t produce_all;
    bench_rate_t produce_one;
    bench_rate_t consume;
    uint64_t consume_gaps; /* offsets not contiguous within a partition */
} bench_workload_t;

typedef struct bench_e2e_result {
    int ran;
    int ok;
    double target_mbps;
    double achieved_mbps;
    double seconds;
    double warmup_s;
    uint64_t sent;
    uint64_t send_failed;
    uint64_t received;
    uint64_t measured;
    uint64_t lost;
    uint64_t dups;
    uint64_t foreign;
    uint64_t queue_full;
    double p50_ms, p99_ms, p999_ms, max_ms;
    char err[512];
} bench_e2e_result_t;

/* Delivery-report tally for one producer; only touched by the thread that polls it. */
typedef struct bench_dr {
    uint64_t ok;
    uint64_t failed;
    uint64_t bytes;
    char first_err[256];
} bench_dr_t;

static uint64_t bench_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double bench_secs_since(uint64_t start_ns) {
    return (double)(bench_now_ns() - start_ns) / 1e9;
}

static void bench_sleep_until(uint64_t due_ns) {
    struct timespec ts = {.tv_sec = (time_t)(due_ns / 1000000000ull),
                          .tv_nsec = (long)(due_ns % 1000000000ull)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

static void bench_errf(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void bench_errf(char *err, size_t errsz, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
}

static double bench_mbps(const bench_rate_t *rate) {
    return rate->secs > 0 ? (double)rate->bytes / BENCH_MB / rate->secs : 0;
}

static double bench_msgps(const bench_rate_t *rate) {
    return rate->secs > 0 ? (double)rate->msgs / rate->secs : 0;
}

/* ---------------------------------------------------------------------------------- */
/* librdkafka plumbing                                                                 */

static rd_kafka_conf_t *bench_conf_new(const char *bootstrap) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char errstr[256];
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "client.id", "weir-bench", errstr, sizeof(errstr))) {
        fprintf(stderr, "produce-consume: %s\n", errstr);
        exit(2);
    }
    return conf;
}

/* Sets a list of key/value pairs; a bad key is a bug in this file, so it is fatal. */
static void bench_conf_set_all(rd_kafka_conf_t *conf, const char *const *kv) {
    char errstr[256];
    for (; kv[0]; kv += 2) {
        if (rd_kafka_conf_set(conf, kv[0], kv[1], errstr, sizeof(errstr)) !=
            RD_KAFKA_CONF_OK) {
            fprintf(stderr, "produce-consume: config %s=%s: %s\n", kv[0], kv[1], errstr);
            exit(2);
        }
    }
}

static rd_kafka_t *bench_client_new(rd_kafka_type_t type, rd_kafka_conf_t *conf, char *err,
                                    size_t errsz) {
    char errstr[512];
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        bench_errf(err, errsz, "rd_kafka_new: %s", errstr);
    }
    return rk;
}

/* Waits until metadata shows the topic with all partitions led; the connection it opens
 * also keeps connection setup out of the timed phases. */
static int bench_topic_wait(rd_kafka_t *rk, const char *topic, int partitions,
                            int timeout_ms, char *err, size_t errsz) {
    uint64_t deadline = bench_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    char last[256] = "no answer";
    for (;;) {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, 2000);
        if (e) {
            snprintf(last, sizeof(last), "%s", rd_kafka_err2str(e));
        } else {
            int ready = md->topic_cnt == 1 && !md->topics[0].err &&
                        md->topics[0].partition_cnt == partitions;
            for (int i = 0; ready && i < md->topics[0].partition_cnt; i++)
                if (md->topics[0].partitions[i].err || md->topics[0].partitions[i].leader < 0)
                    ready = 0;
            if (!ready)
                snprintf(last, sizeof(last), "topic error %s, %d partitions",
                         md->topic_cnt ? rd_kafka_err2str(md->topics[0].err) : "none",
                         md->topic_cnt ? md->topics[0].partition_cnt : 0);
            rd_kafka_metadata_destroy(md);
            if (ready) {
                rd_kafka_topic_destroy(rkt);
                return 0;
            }
        }
        if (bench_now_ns() > deadline)
            break;
        usleep(100 * 1000);
    }
    rd_kafka_topic_destroy(rkt);
    bench_errf(err, errsz, "topic %s not ready after %d ms: %s", topic, timeout_ms, last);
    return -1;
}

/* Creates the topics through the Admin API, or directly on a mock cluster (which does
 * not implement CreateTopics), then waits until metadata shows them. */
static int bench_topics_create(bench_target_t *target, const char *const *names, int n,
                               int partitions, char *err, size_t errsz) {
    if (target->mcluster) {
        for (int i = 0; i < n; i++) {
            rd_kafka_resp_err_t e =
                rd_kafka_mock_topic_create(target->mcluster, names[i], partitions, 1);
            if (e) {
                bench_errf(err, errsz, "mock topic %s: %s", names[i], rd_kafka_err2str(e));
                return -1;
            }
        }
    }
    rd_kafka_t *rk = bench_client_new(RD_KAFKA_PRODUCER, bench_conf_new(target->bootstrap),
                                      err, errsz);
    if (!rk)
        return -1;
    int rc = 0;
    if (!target->mcluster) {
        rd_kafka_NewTopic_t *newts[8];
        char errstr[256];
        for (int i = 0; i < n; i++)
            newts[i] = rd_kafka_NewTopic_new(names[i], partitions, 1, errstr, sizeof(errstr));
        rd_kafka_AdminOptions_t *aopts =
            rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
        rd_kafka_AdminOptions_set_request_timeout(aopts, 15000, errstr, sizeof(errstr));
        rd_kafka_AdminOptions_set_operation_timeout(aopts, 10000, errstr, sizeof(errstr));
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        rd_kafka_CreateTopics(rk, newts, (size_t)n, aopts, q);
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 20000);
        if (!ev) {
            bench_errf(err, errsz, "CreateTopics: no answer in 20 s");
            rc = -1;
        } else if (rd_kafka_event_error(ev)) {
            bench_errf(err, errsz, "CreateTopics: %s", rd_kafka_event_error_string(ev));
            rc = -1;
        } else {
            size_t cnt = 0;
            const rd_kafka_topic_result_t **res = rd_kafka_CreateTopics_result_topics(
                rd_kafka_event_CreateTopics_result(ev), &cnt);
            for (size_t i = 0; i < cnt && rc == 0; i++) {
                if (rd_kafka_topic_result_error(res[i])) {
                    const char *msg = rd_kafka_topic_result_error_string(res[i]);
                    bench_errf(err, errsz, "CreateTopics %s: %s%s%s",
                               rd_kafka_topic_result_name(res[i]),
                               rd_kafka_err2str(rd_kafka_topic_result_error(res[i])),
                               msg ? ": " : "", msg ? msg : "");
                    rc = -1;
                }
            }
        }
        if (ev)
            rd_kafka_event_destroy(ev);
        rd_kafka_queue_destroy(q);
        rd_kafka_AdminOptions_destroy(aopts);
        rd_kafka_NewTopic_destroy_array(newts, (size_t)n);
    }
    for (int i = 0; i < n && rc == 0; i++)
        rc = bench_topic_wait(rk, names[i], partitions, 15000, err, errsz);
    rd_kafka_destroy(rk);
    return rc;
}

/* Deletes the topics through the Admin API; a mock cluster's topics die with it. */
static int bench_topics_delete(bench_target_t *target, const char *const *names, int n,
                               char *err, size_t errsz) {
    if (target->mcluster)
        return 0;
    rd_kafka_t *rk = bench_client_new(RD_KAFKA_PRODUCER, bench_conf_new(target->bootstrap),
                                      err, errsz);
    if (!rk)
        return -1;
    rd_kafka_DeleteTopic_t *dts[8];
    char errstr[256];
    for (int i = 0; i < n; i++)
        dts[i] = rd_kafka_DeleteTopic_new(names[i]);
    rd_kafka_AdminOptions_t *aopts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DELETETOPICS);
    rd_kafka_AdminOptions_set_request_timeout(aopts, 15000, errstr, sizeof(errstr));
    rd_kafka_AdminOptions_set_operation_timeout(aopts, 10000, errstr, sizeof(errstr));
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_DeleteTopics(rk, dts, (size_t)n, aopts, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 20000);
    int rc = 0;
    if (!ev) {
        bench_errf(err, errsz, "DeleteTopics: no answer in 20 s");
        rc = -1;
    } else if (rd_kafka_event_error(ev)) {
        bench_errf(err, errsz, "DeleteTopics: %s", rd_kafka_event_error_string(ev));
        rc = -1;
    } else {
        size_t cnt = 0;
        const rd_kafka_topic_result_t **res = rd_kafka_DeleteTopics_result_topics(
            rd_kafka_event_DeleteTopics_result(ev), &cnt);
        for (size_t i = 0; i < cnt && rc == 0; i++) {
            if (rd_kafka_topic_result_error(res[i])) {
                bench_errf(err, errsz, "DeleteTopics %s: %s",
                           rd_kafka_topic_result_name(res[i]),
                           rd_kafka_err2str(rd_kafka_topic_result_error(res[i])));
                rc = -1;
            }
        }
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_AdminOptions_destroy(aopts);
    rd_kafka_DeleteTopic_destroy_array(dts, (size_t)n);
    rd_kafka_destroy(rk);
    return rc;
}

/* Called from rd_kafka_poll()/rd_kafka_flush() on the producing thread. */
static void bench_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque) {
    (void)rk;
    bench_dr_t *dr = opaque;
    if (rkm->err) {
        if (!dr->failed++)
            snprintf(dr->first_err, sizeof(dr->first_err), "%s", rd_kafka_err2str(rkm->err));
        return;
    }
    dr->ok++;
    dr->bytes += rkm->len;
}

/* A producer tuned for throughput: no idempotence, no compression, a short linger and
 * batches big enough that the network sees few, large Produce requests. */
static rd_kafka_t *bench_producer_new(const char *bootstrap, const char *acks,
                                      const char *linger_ms, int timeout_s, bench_dr_t *dr,
                                      char *err, size_t errsz) {
    rd_kafka_conf_t *conf = bench_conf_new(bootstrap);
    char timeout[32];
    snprintf(timeout, sizeof(timeout), "%d", timeout_s * 1000);
    const char *kv[] = {"acks", acks,
                        "enable.idempotence", "false",
                        "linger.ms", linger_ms,
                        "batch.size", "1000000",
                        "batch.num.messages", "100000",
                        "queue.buffering.max.messages", "1000000",
                        "queue.buffering.max.kbytes", "1048576",
                        "compression.type", "none",
                        "message.timeout.ms", timeout,
                        NULL};
    bench_conf_set_all(conf, kv);
    rd_kafka_conf_set_dr_msg_cb(conf, bench_dr_cb);
    rd_kafka_conf_set_opaque(conf, dr);
    return bench_client_new(RD_KAFKA_PRODUCER, conf, err, errsz);
}

/* A consumer for manual assignment: the broker has no consumer groups yet, so nothing is
 * committed or stored; group.id is only there because librdkafka requires one for
 * rd_kafka_assign(). */
static rd_kafka_t *bench_consumer_new(const char *bootstrap, int fetch_wait_ms, char *err,
                                      size_t errsz) {
    rd_kafka_conf_t *conf = bench_conf_new(bootstrap);
    char group[64], wait[32];
    snprintf(group, sizeof(group), "weir-bench-%d", (int)getpid());
    snprintf(wait, sizeof(wait), "%d", fetch_wait_ms);
    const char *kv[] = {"group.id", group,
                        "enable.auto.commit", "false",
                        "enable.auto.offset.store", "false",
                        "enable.partition.eof", "false",
                        "auto.offset.reset", "error",
                        "fetch.wait.max.ms", wait,
                        "fetch.min.bytes", "1",
                        NULL};
    bench_conf_set_all(conf, kv);
    rd_kafka_t *rk = bench_client_new(RD_KAFKA_CONSUMER, conf, err, errsz);
    if (rk)
        rd_kafka_poll_set_consumer(rk);
    return rk;
}

/* Assigns every partition of the topic at explicit offset 0 (the topic is new). */
static int bench_assign_all(rd_kafka_t *rk, const char *topic, int partitions, char *err,
                            size_t errsz) {
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(partitions);
    for (int p = 0; p < partitions; p++)
        rd_kafka_topic_partition_list_add(parts, topic, p)->offset = 0;
    rd_kafka_resp_err_t e = rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (e) {
        bench_errf(err, errsz, "assign %s: %s", topic, rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------- */
/* Throughput phases                                                                   */

/* Produces `count` copies of the shared payload and waits for every delivery report;
 * -1 with a message if anything failed or the deadline passed. */
static int bench_produce_some(rd_kafka_t *rk, const char *topic, const unsigned char *payload,
                              size_t size, long count, uint64_t deadline, bench_dr_t *dr,
                              char *err, size_t errsz) {
    uint64_t ok_before = dr->ok, failed_before = dr->failed;
    for (long i = 0; i < count; i++) {
        rd_kafka_resp_err_t e;
        /* The payload is shared and outlives the producer: no F_COPY, no F_FREE. */
        while ((e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
                                      RD_KAFKA_V_VALUE((void *)payload, size),
                                      RD_KAFKA_V_MSGFLAGS(0), RD_KAFKA_V_END)) ==
                   RD_KAFKA_RESP_ERR__QUEUE_FULL &&
               bench_now_ns() < deadline)
            rd_kafka_poll(rk, 5);
        if (e) {
            bench_errf(err, errsz, "produce message %ld: %s", i, rd_kafka_err2str(e));
            rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE);
            rd_kafka_flush(rk, 5000);
            return -1;
        }
        if ((i & 1023) == 0)
            rd_kafka_poll(rk, 0);
    }
    int64_t left_ms = ((int64_t)deadline - (int64_t)bench_now_ns()) / 1000000;
    rd_kafka_resp_err_t fe = rd_kafka_flush(rk, left_ms > 0 ? (int)left_ms : 0);
    if (fe) {
        bench_errf(err, errsz, "flush: %s with %d messages outstanding", rd_kafka_err2str(fe),
                   rd_kafka_outq_len(rk));
        return -1;
    }
    if (dr->failed > failed_before) {
        bench_errf(err, errsz, "%" PRIu64 " of %ld deliveries failed: %s",
                   dr->failed - failed_before, count, dr->first_err);
        return -1;
    }
    if (dr->ok - ok_before != (uint64_t)count) {
        bench_errf(err, errsz, "%" PRIu64 " of %ld deliveries reported", dr->ok - ok_before,
                   count);
        return -1;
    }
    return 0;
}

static void bench_produce(const bench_opts_t *opts, const char *bootstrap, const char *topic,
                          const char *acks, const unsigned char *payload, bench_rate_t *out) {
    bench_dr_t dr = {0};
    memset(out, 0, sizeof(*out));
    out->ran = 1;
    rd_kafka_t *rk = bench_producer_new(bootstrap, acks, "5", opts->timeout_s, &dr, out->err,
                                        sizeof(out->err));
    if (!rk)
        return;
    if (bench_topic_wait(rk, topic, opts->partitions, 10000, out->err, sizeof(out->err))) {
        rd_kafka_destroy(rk);
        return;
    }
    uint64_t start = bench_now_ns();
    uint64_t deadline = start + (uint64_t)opts->timeout_s * 1000000000ull;
    int rc = bench_produce_some(rk, topic, payload, (size_t)opts->size, opts->messages,
                                deadline, &dr, out->err, sizeof(out->err));
    out->secs = bench_secs_since(start);
    out->msgs = dr.ok;
    out->bytes = dr.bytes;
    out->ok = rc == 0;
    rd_kafka_destroy(rk);
}

/* A consumer's running tally; offsets must come contiguous within each partition. */
typedef struct bench_reader {
    rd_kafka_t *rk;
    int partitions;
    int64_t *next;
    uint64_t msgs;
    uint64_t bytes;
    uint64_t gaps;
    uint64_t errors;
    char first_err[256];
} bench_reader_t;

#define BENCH_STALL_NS (15ull * 1000000000ull)

/* Polls until `count` messages in all were read; -1 on an offset reset (the data is not
 * there), on 15 s without progress, or at the deadline. */
static int bench_reader_until(bench_reader_t *rd, uint64_t count, uint64_t deadline,
                              char *err, size_t errsz) {
    uint64_t progress = bench_now_ns();
    while (rd->msgs < count) {
        uint64_t now = bench_now_ns();
        if (now > deadline || now - progress > BENCH_STALL_NS) {
            bench_errf(err, errsz, "read %" PRIu64 " of %" PRIu64 " messages, %s%s%s",
                       rd->msgs, count,
                       now > deadline ? "phase timeout" : "no progress for 15 s",
                       rd->errors ? "; first consumer error: " : "", rd->first_err);
            return -1;
        }
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(rd->rk, 100);
        if (!rkm)
            continue;
        if (rkm->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET) {
            bench_errf(err, errsz, "offset out of range: %s", rd_kafka_message_errstr(rkm));
            rd_kafka_message_destroy(rkm);
            return -1;
        }
        if (rkm->err) {
            if (!rd->errors++)
                snprintf(rd->first_err, sizeof(rd->first_err), "%s",
                         rd_kafka_message_errstr(rkm));
        } else {
            if (rkm->partition >= 0 && rkm->partition < rd->partitions) {
                if (rkm->offset != rd->next[rkm->partition])
                    rd->gaps++;
                rd->next[rkm->partition] = rkm->offset + 1;
            }
            rd->msgs++;
            rd->bytes += rkm->len;
            progress = bench_now_ns();
        }
        rd_kafka_message_destroy(rkm);
    }
    return 0;
}

static int bench_reader_open(bench_reader_t *rd, const bench_opts_t *opts,
                             const char *bootstrap, const char *topic, char *err,
                             size_t errsz) {
    memset(rd, 0, sizeof(*rd));
    rd->partitions = opts->partitions;
    rd->next = calloc((size_t)opts->partitions, sizeof(*rd->next));
    rd->rk = bench_consumer_new(bootstrap, opts->fetch_wait_ms, err, errsz);
    if (!rd->next || !rd->rk)
        return -1;
    return bench_topic_wait(rd->rk, topic, opts->partitions, 10000, err, errsz);
}

static void bench_reader_close(bench_reader_t *rd) {
    if (rd->rk) {
        rd_kafka_consumer_close(rd->rk);
        rd_kafka_destroy(rd->rk);
    }
    free(rd->next);
    rd->rk = NULL;
    rd->next = NULL;
}

static void bench_reader_finish(bench_reader_t *rd, uint64_t expected, bench_rate_t *out,
                                uint64_t *gaps) {
    out->msgs = rd->msgs;
    out->bytes = rd->bytes;
    *gaps = rd->gaps;
    if (!out->err[0] && rd->gaps)
        bench_errf(out->err, sizeof(out->err), "%" PRIu64 " offset gaps", rd->gaps);
    out->ok = !out->err[0] && rd->msgs == expected;
    if (out->ok && rd->errors)
        fprintf(stderr, "  consume: %" PRIu64 " consumer errors (first: %s), all read\n",
                rd->errors, rd->first_err);
}

/* Reads `expected` messages from explicit offset 0 of every partition (the topic is new,
 * so 0 is its beginning); no group, no commits. */
static void bench_consume(const bench_opts_t *opts, const char *bootstrap, const char *topic,
                          uint64_t expected, bench_rate_t *out, uint64_t *gaps) {
    bench_reader_t rd;
    memset(out, 0, sizeof(*out));
    out->ran = 1;
    *gaps = 0;
    if (bench_reader_open(&rd, opts, bootstrap, topic, out->err, sizeof(out->err)) == 0) {
        uint64_t start = bench_now_ns();
        uint64_t deadline = start + (uint64_t)opts->timeout_s * 1000000000ull;
        if (bench_assign_all(rd.rk, topic, opts->partitions, out->err, sizeof(out->err)) == 0)
            bench_reader_until(&rd, expected, deadline, out->err, sizeof(out->err));
        out->secs = bench_secs_since(start);
        bench_reader_finish(&rd, expected, out, gaps);
    }
    bench_reader_close(&rd);
}

#define BENCH_ROUND_BYTES (3u << 20)

/* Assigns every partition at the given explicit offsets. */
static int bench_assign_at(rd_kafka_t *rk, const char *topic, int partitions,
                           const int64_t *offsets, char *err, size_t errsz) {
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(partitions);
    for (int p = 0; p < partitions; p++)
        rd_kafka_topic_partition_list_add(parts, topic, p)->offset = offsets[p];
    rd_kafka_resp_err_t e = rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (e) {
        bench_errf(err, errsz, "assign %s: %s", topic, rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

/* The mock cluster keeps only the newest 5 MiB of each partition, so a 100 MB log cannot
 * be read from offset 0 there.  Its consume phase runs in rounds instead: produce a
 * 3 MiB slice (untimed), open a fresh consumer and warm its connection to
 * the leader (untimed), then time assign-at-the-slice's-start to its last message.  A
 * fresh consumer per round avoids pause/resume, which on the mock waits behind an empty
 * fetch held for fetch.wait.max.ms.  The reported time is the sum of the timed reads. */
static void bench_consume_rounds(const bench_opts_t *opts, const char *bootstrap,
                                 const char *topic, const unsigned char *payload,
                                 uint64_t expected, bench_rate_t *out, uint64_t *gaps) {
    bench_reader_t rd = {0};
    bench_dr_t dr = {0};
    memset(out, 0, sizeof(*out));
    out->ran = 1;
    *gaps = 0;
    /* 3 MiB in all, not per partition: the sticky partitioner may put a whole round on
     * one partition. */
    long per_round = (long)BENCH_ROUND_BYTES / opts->size;
    if (per_round < 1)
        per_round = 1;
    int64_t *next = calloc((size_t)opts->partitions, sizeof(*next));
    rd_kafka_t *producer = bench_producer_new(bootstrap, "1", "5", opts->timeout_s, &dr,
                                              out->err, sizeof(out->err));
    uint64_t deadline = bench_now_ns() + (uint64_t)opts->timeout_s * 1000000000ull;
    uint64_t timed_ns = 0, produced = 0, read = 0, read_bytes = 0;
    if (!next || !producer ||
        bench_topic_wait(producer, topic, opts->partitions, 10000, out->err, sizeof(out->err)))
        goto done;
    while (read < expected) {
        long n = (long)(expected - produced < (uint64_t)per_round ? expected - produced
                                                                  : (uint64_t)per_round);
        if (bench_produce_some(producer, topic, payload, (size_t)opts->size, n, deadline, &dr,
                               out->err, sizeof(out->err)) ||
            bench_reader_open(&rd, opts, bootstrap, topic, out->err, sizeof(out->err)))
            break;
        produced += (uint64_t)n;
        int64_t lo, hi;
        for (int p = 0; p < opts->partitions; p++) {
            rd_kafka_resp_err_t e =
                rd_kafka_query_watermark_offsets(rd.rk, topic, p, &lo, &hi, 5000);
            if (e) {
                bench_errf(out->err, sizeof(out->err), "watermarks %s [%d]: %s", topic, p,
                           rd_kafka_err2str(e));
                goto done;
            }
        }
        memcpy(rd.next, next, (size_t)opts->partitions * sizeof(*next));
        uint64_t t0 = bench_now_ns();
        if (bench_assign_at(rd.rk, topic, opts->partitions, next, out->err, sizeof(out->err)) ||
            bench_reader_until(&rd, (uint64_t)n, deadline, out->err, sizeof(out->err)))
            break;
        timed_ns += bench_now_ns() - t0;
        memcpy(next, rd.next, (size_t)opts->partitions * sizeof(*next));
        read += rd.msgs;
        read_bytes += rd.bytes;
        *gaps += rd.gaps;
        bench_reader_close(&rd);
    }
done:
    if (rd.rk) {
        read += rd.msgs;
        read_bytes += rd.bytes;
        *gaps += rd.gaps;
    }
    bench_reader_close(&rd);
    out->secs = (double)timed_ns / 1e9;
    out->msgs = read;
    out->bytes = read_bytes;
    if (!out->err[0] && *gaps)
        bench_errf(out->err, sizeof(out->err), "%" PRIu64 " offset gaps", *gaps);
    out->ok = !out->err[0] && read == expected;
    if (!out->err[0] && !out->ok)
        bench_errf(out->err, sizeof(out->err), "read %" PRIu64 " of %" PRIu64, read, expected);
    if (producer)
        rd_kafka_destroy(producer);
    free(next);
}

static void bench_rate_print(const char *what, const bench_rate_t *rate) {
    if (!rate->ran)
        return;
    if (rate->ok)
        printf("  %-22s %9.1f MB/s %11.0f msgs/s  (%" PRIu64 " msgs in %.2f s)\n", what,
               bench_mbps(rate), bench_msgps(rate), rate->msgs, rate->secs);
    else
        printf("  %-22s FAILED: %s\n", what, rate->err);
}

/* The median run of one phase by MB/s; a failed run, if any, wins so it is not hidden. */
static void bench_rate_median(const bench_workload_t *reps, size_t field, bench_rate_t *out) {
    const bench_rate_t *r[BENCH_MOCK_REPS];
    for (int i = 0; i < BENCH_MOCK_REPS; i++) {
        r[i] = (const bench_rate_t *)((const char *)&reps[i] + field);
        if (!r[i]->ok) {
            *out = *r[i];
            return;
        }
    }
    for (int i = 1; i < BENCH_MOCK_REPS; i++)
        for (int j = i; j > 0 && bench_mbps(r[j]) < bench_mbps(r[j - 1]); j--) {
            const bench_rate_t *t = r[j];
            r[j] = r[j - 1];
            r[j - 1] = t;
        }
    *out = *r[BENCH_MOCK_REPS / 2];
}

/* acks=all produce, acks=1 produce, then consume everything from the beginning; on a
 * mock cluster (rounds_topic set) the consume phase runs in rounds, see above. */
static void bench_workload_run(const bench_opts_t *opts, const char *bootstrap,
                               const char *topic, const char *rounds_topic,
                               const unsigned char *payload, bench_workload_t *wl) {
    memset(wl, 0, sizeof(*wl));
    bench_produce(opts, bootstrap, topic, "all", payload, &wl->produce_all);
    bench_rate_print("produce acks=all", &wl->produce_all);
    bench_produce(opts, bootstrap, topic, "1", payload, &wl->produce_one);
    bench_rate_print("produce acks=1", &wl->produce_one);
    uint64_t expected = (uint64_t)opts->messages * 2;
    if (rounds_topic) {
        bench_consume_rounds(opts, bootstrap, rounds_topic, payload, expected, &wl->consume,
                             &wl->consume_gaps);
        bench_rate_print("consume (3 MiB rounds)", &wl->consume);
    } else if (wl->produce_all.ok && wl->produce_one.ok) {
        bench_consume(opts, bootstrap, topic, expected, &wl->consume, &wl->consume_gaps);
        bench_rate_print("consume (assign, 0)", &wl->consume);
    } else {
        wl->consume.ran = 1;
        bench_errf(wl->consume.err, sizeof(wl->consume.err), "skipped: a produce phase failed");
        bench_rate_print("consume", &wl->consume);
    }
}

/* ---------------------------------------------------------------------------------- */
/* End-to-end latency                                                                  */

typedef struct bench_e2e {
    rd_kafka_t *consumer;
    uint32_t run_id;
    uint64_t capacity;
    int64_t *lat_ns; /* by sequence number; -1 until received */
    atomic_uint_fast64_t received;
    atomic_int stop;
    uint64_t foreign;
    uint64_t dups;
    uint64_t errors;
    char first_err[256];
} bench_e2e_t;

static uint64_t bench_get_u64(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static uint32_t bench_get_u32(const unsigned char *p) {
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/* @thread the e2e consumer thread; owns e2e->consumer and lat_ns until joined. */
static void *bench_e2e_consumer_main(void *arg) {
    bench_e2e_t *e2e = arg;
    while (!atomic_load(&e2e->stop)) {
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(e2e->consumer, 50);
        if (!rkm)
            continue;
        uint64_t now = bench_now_ns();
        if (rkm->err) {
            if (!e2e->errors++)
                snprintf(e2e->first_err, sizeof(e2e->first_err), "%s",
                         rd_kafka_message_errstr(rkm));
        } else if (rkm->len < BENCH_E2E_HEADER ||
                   bench_get_u32(rkm->payload) != BENCH_E2E_MAGIC ||
                   bench_get_u32((const unsigned char *)rkm->payload + 4) != e2e->run_id) {
            e2e->foreign++;
        } else {
            const unsigned char *p = rkm->payload;
            uint64_t seq = bench_get_u64(p + 8);
            uint64_t sent = bench_get_u64(p + 16);
            if (seq >= e2e->capacity) {
                e2e->foreign++;
            } else if (e2e->lat_ns[seq] >= 0) {
                e2e->dups++;
            } else {
                e2e->lat_ns[seq] = (int64_t)(now - sent);
                atomic_fetch_add(&e2e->received, 1);
            }
        }
        rd_kafka_message_destroy(rkm);
    }
    return NULL;
}

static int bench_cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array. */
static double bench_pct_ms(const int64_t *sorted, uint64_t n, double pct) {
    if (!n)
        return NAN;
    uint64_t rank = (uint64_t)ceil(pct / 100.0 * (double)n);
    if (rank < 1)
        rank = 1;
    return (double)sorted[rank - 1] / 1e6;
}

/* The producer paces itself on an absolute schedule (so oversleeping one message does not
 * slow the rate); each message carries its send time; a consumer thread tailing the
 * partition computes receive minus send. */
static void bench_e2e_run(const bench_opts_t *opts, const char *bootstrap, const char *topic,
                          bench_e2e_result_t *out) {
    memset(out, 0, sizeof(*out));
    out->ran = 1;
    out->target_mbps = opts->rate_mbps;
    out->seconds = opts->latency_seconds;
    out->warmup_s = opts->latency_seconds >= 3 ? 1.0 : 0.0;
    size_t size = (size_t)opts->latency_size;
    double interval_ns = 1e9 * (double)size / (opts->rate_mbps * BENCH_MB);
    bench_e2e_t e2e = {0};
    e2e.run_id = (uint32_t)getpid() ^ (uint32_t)bench_now_ns();
    e2e.capacity = (uint64_t)ceil(opts->latency_seconds * 1e9 / interval_ns) + 16;
    e2e.lat_ns = malloc(e2e.capacity * sizeof(*e2e.lat_ns));
    unsigned char *buf = calloc(1, size);
    if (!e2e.lat_ns || !buf) {
        bench_errf(out->err, sizeof(out->err), "out of memory for %" PRIu64 " samples",
                   e2e.capacity);
        free(e2e.lat_ns);
        free(buf);
        return;
    }
    for (uint64_t i = 0; i < e2e.capacity; i++)
        e2e.lat_ns[i] = -1;
    for (size_t i = BENCH_E2E_HEADER; i < size; i++)
        buf[i] = (unsigned char)(i * 131u + 7u);

    bench_dr_t dr = {0};
    rd_kafka_t *producer = NULL;
    pthread_t thread;
    int thread_started = 0;
    e2e.consumer = bench_consumer_new(bootstrap, opts->fetch_wait_ms, out->err, sizeof(out->err));
    if (!e2e.consumer)
        goto done;
    if (bench_topic_wait(e2e.consumer, topic, opts->partitions, 10000, out->err,
                         sizeof(out->err)) ||
        bench_assign_all(e2e.consumer, topic, opts->partitions, out->err, sizeof(out->err)))
        goto done;
    producer = bench_producer_new(bootstrap, "all", "1", opts->timeout_s, &dr, out->err,
                                  sizeof(out->err));
    if (!producer ||
        bench_topic_wait(producer, topic, opts->partitions, 10000, out->err, sizeof(out->err)))
        goto done;
    if (pthread_create(&thread, NULL, bench_e2e_consumer_main, &e2e)) {
        bench_errf(out->err, sizeof(out->err), "pthread_create: %s", strerror(errno));
        goto done;
    }
    thread_started = 1;
    /* Let the consumer's first fetch reach the broker before the clock starts. */
    usleep(500 * 1000);
    prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);

    uint64_t start = bench_now_ns();
    uint64_t end = start + (uint64_t)opts->latency_seconds * 1000000000ull;
    uint64_t seq;
    uint32_t magic = BENCH_E2E_MAGIC;
    memcpy(buf, &magic, 4);
    memcpy(buf + 4, &e2e.run_id, 4);
    for (seq = 0; seq < e2e.capacity; seq++) {
        uint64_t due = start + (uint64_t)((double)seq * interval_ns);
        if (due >= end)
            break;
        if (bench_now_ns() < due)
            bench_sleep_until(due);
        uint64_t sent = bench_now_ns();
        memcpy(buf + 8, &seq, 8);
        memcpy(buf + 16, &sent, 8);
        rd_kafka_resp_err_t e;
        while ((e = rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(topic),
                                      RD_KAFKA_V_VALUE(buf, size),
                                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                      RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            out->queue_full++;
            rd_kafka_poll(producer, 1);
        }
        if (e) {
            bench_errf(out->err, sizeof(out->err), "produce: %s", rd_kafka_err2str(e));
            break;
        }
        rd_kafka_poll(producer, 0);
    }
    double send_secs = bench_secs_since(start);
    rd_kafka_resp_err_t fe = rd_kafka_flush(producer, opts->timeout_s * 1000);
    if (fe && !out->err[0])
        bench_errf(out->err, sizeof(out->err), "flush: %s", rd_kafka_err2str(fe));
    out->sent = seq;
    out->send_failed = dr.failed;
    out->achieved_mbps = (double)dr.bytes / BENCH_MB / send_secs;
    /* Drain: everything acknowledged should arrive within a few seconds. */
    uint64_t drain_deadline = bench_now_ns() + 10ull * 1000000000ull;
    while (atomic_load(&e2e.received) < dr.ok && bench_now_ns() < drain_deadline)
        usleep(10 * 1000);
done:
    if (thread_started) {
        atomic_store(&e2e.stop, 1);
        pthread_join(thread, NULL);
    }
    if (producer)
        rd_kafka_destroy(producer);
    if (e2e.consumer) {
        rd_kafka_consumer_close(e2e.consumer);
        rd_kafka_destroy(e2e.consumer);
    }
    if (thread_started) {
        uint64_t warm = (uint64_t)ceil(out->warmup_s * 1e9 / interval_ns);
        int64_t *samples = malloc((out->sent + 1) * sizeof(*samples));
        uint64_t n = 0;
        out->received = atomic_load(&e2e.received);
        for (uint64_t i = 0; i < out->sent; i++) {
            if (e2e.lat_ns[i] < 0)
                out->lost++;
            else if (i >= warm)
                samples[n++] = e2e.lat_ns[i];
        }
        qsort(samples, n, sizeof(*samples), bench_cmp_i64);
        out->measured = n;
        out->p50_ms = bench_pct_ms(samples, n, 50);
        out->p99_ms = bench_pct_ms(samples, n, 99);
        out->p999_ms = bench_pct_ms(samples, n, 99.9);
        out->max_ms = n ? (double)samples[n - 1] / 1e6 : NAN;
        out->dups = e2e.dups;
        out->foreign = e2e.foreign;
        free(samples);
        if (!out->err[0] && out->send_failed)
            bench_errf(out->err, sizeof(out->err), "%" PRIu64 " deliveries failed: %s",
                       out->send_failed, dr.first_err);
        if (!out->err[0] && out->lost)
            bench_errf(out->err, sizeof(out->err),
                       "%" PRIu64 " of %" PRIu64 " messages never arrived%s%s", out->lost,
                       out->sent, e2e.errors ? "; first consumer error: " : "", e2e.first_err);
        if (!out->err[0] && !n)
            bench_errf(out->err, sizeof(out->err), "no samples");
    }
    out->ok = !out->err[0];
    free(e2e.lat_ns);
    free(buf);
}

/* ---------------------------------------------------------------------------------- */
/* Targets                                                                              */

static int bench_target_mock(bench_target_t *target, const char *label, char *err,
                             size_t errsz) {
    memset(target, 0, sizeof(*target));
    target->label = label;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* The host instance never connects anywhere; it only owns the mock cluster (and would
     * otherwise log that it has no bootstrap.servers). */
    const char *kv[] = {"log_level", "3", NULL};
    bench_conf_set_all(conf, kv);
    target->mock_rk = bench_client_new(RD_KAFKA_PRODUCER, conf, err, errsz);
    if (!target->mock_rk)
        return -1;
    target->mcluster = rd_kafka_mock_cluster_new(target->mock_rk, 1);
    if (!target->mcluster) {
        bench_errf(err, errsz, "rd_kafka_mock_cluster_new failed");
        rd_kafka_destroy(target->mock_rk);
        target->mock_rk = NULL;
        return -1;
    }
    snprintf(target->bootstrap, sizeof(target->bootstrap), "%s",
             rd_kafka_mock_cluster_bootstraps(target->mcluster));
    return 0;
}

static void bench_target_close(bench_target_t *target) {
    if (target->mcluster)
        rd_kafka_mock_cluster_destroy(target->mcluster);
    if (target->mock_rk)
        rd_kafka_destroy(target->mock_rk);
    target->mcluster = NULL;
    target->mock_rk = NULL;
}

/* ---------------------------------------------------------------------------------- */
/* CLI                                                                                  */

static void bench_usage(FILE *f) {
    fprintf(f,
            "usage: produce-consume --bootstrap HOST:PORT|mock [options]\n"
            "  --messages N          messages per throughput phase (default 250000)\n"
            "  --size S              message value bytes for throughput (default 1024)\n"
            "  --rate-mbps R         latency phase rate, MB/s = 10^6 B/s (default 20)\n"
            "  --latency-seconds T   latency phase length (default 10; 0 skips it)\n"
            "  --latency-size S      latency message value bytes (default 1024)\n"
            "  --topic NAME          topic name (default weir-bench-<pid>); NAME-e2e too\n"
            "  --partitions P        partitions per topic (default 1)\n"
            "  --data-dir DIR        where the fsync probe writes (default .)\n"
            "  --timeout S           bound on each phase (default 60)\n"
            "  --fetch-wait-ms MS    consumers' fetch.wait.max.ms (default 100)\n"
            "  --skip-mock           do not run the mock-cluster reference\n");
}

static int bench_opts_parse(int argc, char **argv, bench_opts_t *opts) {
    static const struct option longopts[] = {
        {"bootstrap", required_argument, NULL, 'b'},
        {"messages", required_argument, NULL, 'n'},
        {"size", required_argument, NULL, 's'},
        {"rate-mbps", required_argument, NULL, 'r'},
        {"latency-seconds", required_argument, NULL, 'l'},
        {"latency-size", required_argument, NULL, 'L'},
        {"topic", required_argument, NULL, 't'},
        {"partitions", required_argument, NULL, 'p'},
        {"data-dir", required_argument, NULL, 'd'},
        {"timeout", required_argument, NULL, 'T'},
        {"skip-mock", no_argument, NULL, 'M'},
        {"fetch-wait-ms", required_argument, NULL, 'W'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    *opts = (bench_opts_t){.messages = 250000,
                           .size = 1024,
                           .rate_mbps = 20,
                           .latency_seconds = 10,
                           .latency_size = 1024,
                           .data_dir = ".",
                           .partitions = 1,
                           .timeout_s = 60,
                           .fetch_wait_ms = 100};
    snprintf(opts->topic, sizeof(opts->topic), "weir-bench-%d", (int)getpid());
    int c;
    char *end;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        errno = 0;
        end = NULL;
        switch (c) {
        case 'b': opts->bootstrap = optarg; break;
        case 'n': opts->messages = strtol(optarg, &end, 10); break;
        case 's': opts->size = (int)strtol(optarg, &end, 10); break;
        case 'r': opts->rate_mbps = strtod(optarg, &end); break;
        case 'l': opts->latency_seconds = (int)strtol(optarg, &end, 10); break;
        case 'L': opts->latency_size = (int)strtol(optarg, &end, 10); break;
        case 't': snprintf(opts->topic, sizeof(opts->topic), "%s", optarg); break;
        case 'p': opts->partitions = (int)strtol(optarg, &end, 10); break;
        case 'd': opts->data_dir = optarg; break;
        case 'T': opts->timeout_s = (int)strtol(optarg, &end, 10); break;
        case 'M': opts->skip_mock = 1; break;
        case 'W': opts->fetch_wait_ms = (int)strtol(optarg, &end, 10); break;
        case 'h': bench_usage(stdout); exit(0);
        default: bench_usage(stderr); return -1;
        }
        if (end && (*end || errno)) {
            fprintf(stderr, "produce-consume: bad number '%s'\n", optarg);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "produce-consume: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    if (!opts->bootstrap) {
        fprintf(stderr, "produce-consume: --bootstrap is required\n");
        bench_usage(stderr);
        return -1;
    }
    if (opts->messages < 1 || opts->size < 1 || opts->size > 900000 || opts->rate_mbps <= 0 ||
        opts->latency_seconds < 0 || opts->latency_size < BENCH_E2E_HEADER ||
        opts->latency_size > 900000 || opts->partitions < 1 || opts->partitions > 10000 ||
        opts->timeout_s < 1 || opts->fetch_wait_ms < 0) {
        fprintf(stderr, "produce-consume: option out of range (size 1..900000, latency-size "
                        ">= %d, messages/partitions/timeout >= 1, rate > 0)\n",
                BENCH_E2E_HEADER);
        return -1;
    }
    return 0;
}

static void bench_machine_print(void) {
    char model[256] = "unknown", line[512];
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof(line), f)) {
        if (strncmp(line, "model name", 10) == 0) {
            char *colon = strchr(line, ':');
            if (colon) {
                snprintf(model, sizeof(model), "%s", colon + 2);
                model[strcspn(model, "\n")] = 0;
            }
            break;
        }
    }
    if (f)
        fclose(f);
    struct utsname u;
    uname(&u);
    printf("machine: %ld cpus, %s, Linux %s, librdkafka %s\n", sysconf(_SC_NPROCESSORS_ONLN),
           model, u.release, rd_kafka_version_str());
}

static const char *bench_yes(int b) {
    return b ? "yes" : "NO";
}

int main(int argc, char **argv) {
    bench_opts_t opts;
    if (bench_opts_parse(argc, argv, &opts))
        return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    int failed = 0;
    char err[512];
    char e2e_topic[256], read_topic[256];
    snprintf(e2e_topic, sizeof(e2e_topic), "%s-e2e", opts.topic);
    snprintf(read_topic, sizeof(read_topic), "%s-read", opts.topic);
    /* The -read topic exists only on mock clusters (see bench_consume_rounds). */
    const char *topics[] = {opts.topic, e2e_topic, read_topic};
    int is_mock = strcmp(opts.bootstrap, "mock") == 0;

    unsigned char *payload = malloc((size_t)opts.size);
    if (!payload) {
        fprintf(stderr, "produce-consume: out of memory\n");
        return 1;
    }
    uint64_t x = 0x9E3779B97F4A7C15ull; /* incompressible-looking filler */
    for (int i = 0; i < opts.size; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        payload[i] = (unsigned char)x;
    }

    printf("produce-consume: target %s, %ld msgs x %d B per phase, %d partition(s), "
           "topic %s\n",
           opts.bootstrap, opts.messages, opts.size, opts.partitions, opts.topic);
    bench_machine_print();

    /* 1. This machine's limits, measured before any Kafka traffic. */
    bench_limits_t lim = {0};
    if (bench_limits_run(opts.data_dir, &lim))
        failed = 1;

    /* 2. The target: produce/consume, then end-to-end latency. */
    bench_target_t target = {.label = "target"};
    bench_workload_t wl = {0};
    bench_e2e_result_t e2e = {0};
    int target_ready = 0;
    if (is_mock) {
        target_ready = bench_target_mock(&target, "mock target", err, sizeof(err)) == 0;
    } else {
        snprintf(target.bootstrap, sizeof(target.bootstrap), "%s", opts.bootstrap);
        target_ready = 1;
    }
    printf("\n[target %s]\n", is_mock ? "mock cluster" : opts.bootstrap);
    if (target_ready &&
        bench_topics_create(&target, topics, is_mock ? 3 : 2, opts.partitions, err,
                            sizeof(err)) == 0) {
        bench_workload_run(&opts, target.bootstrap, opts.topic, is_mock ? read_topic : NULL,
                           payload, &wl);
        if (opts.latency_seconds > 0) {
            bench_e2e_run(&opts, target.bootstrap, e2e_topic, &e2e);
            if (e2e.measured) {
                printf("  e2e latency @%.0f MB/s  p50 %.2f ms  p99 %.2f ms  p999 %.2f ms  "
                       "max %.2f ms\n",
                       e2e.target_mbps, e2e.p50_ms, e2e.p99_ms, e2e.p999_ms, e2e.max_ms);
                printf("                         achieved %.1f MB/s, %" PRIu64 " sent, %" PRIu64
                       " received, %" PRIu64 " measured (first %.0f s warm-up excluded), "
                       "%d B msgs, acks=all, linger.ms=1, fetch.wait.max.ms=%d\n",
                       e2e.achieved_mbps, e2e.sent, e2e.received, e2e.measured, e2e.warmup_s,
                       opts.latency_size, opts.fetch_wait_ms);
            }
            if (!e2e.ok)
                printf("  e2e latency            FAILED: %s\n", e2e.err);
        }
        if (bench_topics_delete(&target, topics, 2, err, sizeof(err)))
            printf("  warning: could not delete topics: %s\n", err);
    } else {
        printf("  FAILED to set up: %s\n", err);
        failed = 1;
    }
    bench_target_close(&target);
    if (!wl.produce_all.ok || !wl.produce_one.ok || !wl.consume.ok ||
        (opts.latency_seconds > 0 && !e2e.ok))
        failed = 1;

    /* 3. The reference: the same workload on librdkafka's in-memory mock cluster, three
     * times on fresh topics (its phases last a fraction of a second, so one run is noisy);
     * the ratios use the median of each phase. */
    bench_workload_t ref = {0};
    if (!opts.skip_mock) {
        bench_workload_t reps[BENCH_MOCK_REPS];
        bench_target_t mock;
        printf("\n[reference: librdkafka mock cluster, in memory, 1 broker; %d runs]\n",
               BENCH_MOCK_REPS);
        if (bench_target_mock(&mock, "mock", err, sizeof(err)) == 0) {
            int rep;
            for (rep = 0; rep < BENCH_MOCK_REPS; rep++) {
                char ref_topic[256], ref_read[256];
                snprintf(ref_topic, sizeof(ref_topic), "%s-mock%d", opts.topic, rep);
                snprintf(ref_read, sizeof(ref_read), "%s-mock%d-read", opts.topic, rep);
                const char *ref_topics[] = {ref_topic, ref_read};
                printf("  run %d:\n", rep + 1);
                if (bench_topics_create(&mock, ref_topics, 2, opts.partitions, err,
                                        sizeof(err))) {
                    printf("  FAILED to set up: %s\n", err);
                    failed = 1;
                    break;
                }
                bench_workload_run(&opts, mock.bootstrap, ref_topic, ref_read, payload,
                                   &reps[rep]);
            }
            if (rep == BENCH_MOCK_REPS) {
                bench_rate_median(reps, offsetof(bench_workload_t, produce_all),
                                  &ref.produce_all);
                bench_rate_median(reps, offsetof(bench_workload_t, produce_one),
                                  &ref.produce_one);
                bench_rate_median(reps, offsetof(bench_workload_t, consume), &ref.consume);
                printf("  median:\n");
                bench_rate_print("produce acks=all", &ref.produce_all);
                bench_rate_print("produce acks=1", &ref.produce_one);
                bench_rate_print("consume (3 MiB rounds)", &ref.consume);
            }
        } else {
            printf("  FAILED to set up: %s\n", err);
            failed = 1;
        }
        bench_target_close(&mock);
    }

    /* 4. Ratios. */
    printf("\n[summary]\n");
    double limit = 0;
    if (lim.loopback_ok && lim.fsync_ok)
        limit = lim.loopback_mbps < lim.fsync_mbps ? lim.loopback_mbps : lim.fsync_mbps;
    if (wl.produce_all.ok && limit > 0) {
        double pct = 100.0 * bench_mbps(&wl.produce_all) / limit;
        printf("  produce acks=all (%d B) / min(loopback, fsync'd write) = %.1f / %.1f = "
               "%.0f%% of the measured limit (target >= 50%%: %s)%s\n",
               opts.size, bench_mbps(&wl.produce_all), limit, pct, bench_yes(pct >= 50),
               opts.size == 1024 ? "" : "  [note: size is not 1 KiB]");
    }
    if (!opts.skip_mock) {
        const struct {
            const char *what;
            bench_rate_t *t, *m;
        } rows[] = {{"produce acks=all", &wl.produce_all, &ref.produce_all},
                    {"produce acks=1", &wl.produce_one, &ref.produce_one},
                    {"consume", &wl.consume, &ref.consume}};
        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
            if (rows[i].t->ok && rows[i].m->ok && bench_mbps(rows[i].m) > 0)
                printf("  %-16s target / mock = %.1f / %.1f MB/s = %.2fx\n", rows[i].what,
                       bench_mbps(rows[i].t), bench_mbps(rows[i].m),
                       bench_mbps(rows[i].t) / bench_mbps(rows[i].m));
    }
    if (e2e.ok) {
        int rate_met = e2e.achieved_mbps >= 0.95 * e2e.target_mbps;
        printf("  e2e p99 %.2f ms < 10 ms at %.0f MB/s: %s%s\n", e2e.p99_ms, e2e.target_mbps,
               bench_yes(e2e.p99_ms < 10.0 && rate_met),
               rate_met ? "" : "  (the producer did not reach the target rate)");
    }
    printf("\nresult: %s\n", failed ? "some phases FAILED (see above)" : "all phases ran");
    free(payload);
    return failed ? 1 : 0;
}
