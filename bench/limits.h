/*
 * limits: this machine's limits, measured in the same run as a benchmark so that its
 * numbers can be reported as ratios (the machines are shared and noisy).  Used by
 * produce-consume and group-consume.  MB means 10^6 bytes; clocks are CLOCK_MONOTONIC.
 */
#ifndef WEIR_BENCH_LIMITS_H
#define WEIR_BENCH_LIMITS_H

#include <stddef.h>

/* Probe sizes: bounded in bytes and in time so a slow disk ends early. */
#define BENCH_LOOPBACK_BYTES (2048ull << 20)
#define BENCH_LOOPBACK_CHUNK (256u << 10)
#define BENCH_FSYNC_CHUNK (1u << 20)
/* Time-bound, not byte-bound: a VM disk can absorb a few hundred MiB in a host cache. */
#define BENCH_FSYNC_MAX_BYTES (2048ull << 20)
#define BENCH_FSYNC_SECS 3.0
#define BENCH_SMALL_WRITE 4096u
#define BENCH_SMALL_MAX_OPS 5000u
#define BENCH_SMALL_MAX_SECS 3.0
#define BENCH_PUT_MAX 64u
#define BENCH_PUT_MAX_SECS 5.0

typedef struct bench_limits {
    int loopback_ok;
    double loopback_mbps;       /* raw TCP over 127.0.0.1, 1 sender + 1 receiver thread */
    int fsync_ok;               /* the three disk probes below all ran */
    double fsync_mbps;          /* sequential 1 MiB writes, fsync after each */
    double fsync_bytes;
    double small_fsyncs_per_s;  /* 4 KiB writes, fsync after each */
    double put_per_s;           /* fs object store put: write, fsync, rename, fsync dir */
    double put_mbps;
    char fs_type[32];
    char err[512];              /* the last probe's error */
} bench_limits_t;

/* Raw TCP over 127.0.0.1: one sender (the calling thread), one receiver thread, 2 GiB in
 * 256 KiB writes.  0 on success with *mbps set; -1 with err set. */
int bench_loopback_measure(double *mbps, char *err, size_t errsz);

/* fsync'd writes in `dir`: 1 MiB chunks (MB/s), 4 KiB writes (fsyncs/s) and the object
 * put; fills lim's disk fields and fs_type.  0 on success; -1 with lim->err set. */
int bench_disk_measure(const char *dir, bench_limits_t *lim);

/* Runs both probes and prints the "[machine limits]" block as each one ends; sets
 * lim->loopback_ok and lim->fsync_ok.  0 when both probes ran, -1 otherwise. */
int bench_limits_run(const char *dir, bench_limits_t *lim);

/* The latency of one 4 KiB write + fsync in ms (1000 / fsyncs per second); 0 if the
 * probe did not run. */
double bench_limits_fsync_ms(const bench_limits_t *lim);

#endif
