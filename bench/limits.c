/*
 * limits: this machine's loopback TCP and fsync'd write limits, for produce-consume and
 * group-consume (see limits.h).
 */
#include "limits.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#define BENCH_MB 1000000.0

static uint64_t bench_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double bench_secs_since(uint64_t start_ns) {
    return (double)(bench_now_ns() - start_ns) / 1e9;
}

static void bench_errf(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void bench_errf(char *err, size_t errsz, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
}

typedef struct bench_loopback {
    int listen_fd;
    uint64_t want;
    uint64_t got;
    char err[256];
} bench_loopback_t;

/* @thread loopback receiver: accepts one connection and reads until `want` bytes. */
static void *bench_loopback_receiver(void *arg) {
    bench_loopback_t *lb = arg;
    int fd = accept(lb->listen_fd, NULL, NULL);
    if (fd < 0) {
        snprintf(lb->err, sizeof(lb->err), "accept: %s", strerror(errno));
        return NULL;
    }
    char *buf = malloc(BENCH_LOOPBACK_CHUNK);
    while (buf && lb->got < lb->want) {
        ssize_t n = read(fd, buf, BENCH_LOOPBACK_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(lb->err, sizeof(lb->err), "read: %s", n ? strerror(errno) : "EOF");
            break;
        }
        lb->got += (uint64_t)n;
    }
    free(buf);
    close(fd);
    return NULL;
}

/* Raw TCP over 127.0.0.1: one sender (this thread), one receiver thread. */
int bench_loopback_measure(double *mbps, char *err, size_t errsz) {
    bench_loopback_t lb = {.listen_fd = -1, .want = BENCH_LOOPBACK_BYTES};
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t salen = sizeof(sa);
    int fd = -1, rc = -1;
    pthread_t thread;
    char *buf = calloc(1, BENCH_LOOPBACK_CHUNK);
    lb.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (lb.listen_fd < 0 || bind(lb.listen_fd, (struct sockaddr *)&sa, sizeof(sa)) ||
        listen(lb.listen_fd, 1) || getsockname(lb.listen_fd, (struct sockaddr *)&sa, &salen)) {
        bench_errf(err, errsz, "loopback listen: %s", strerror(errno));
        goto out;
    }
    if (pthread_create(&thread, NULL, bench_loopback_receiver, &lb)) {
        bench_errf(err, errsz, "pthread_create failed");
        goto out;
    }
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
        bench_errf(err, errsz, "loopback connect: %s", strerror(errno));
        shutdown(lb.listen_fd, SHUT_RDWR);
        pthread_join(thread, NULL);
        goto out;
    }
    uint64_t start = bench_now_ns(), sent = 0;
    while (sent < lb.want) {
        size_t len = BENCH_LOOPBACK_CHUNK;
        if (lb.want - sent < len)
            len = (size_t)(lb.want - sent);
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            bench_errf(err, errsz, "loopback write: %s", strerror(errno));
            break;
        }
        sent += (uint64_t)n;
    }
    pthread_join(thread, NULL);
    double secs = bench_secs_since(start);
    if (sent == lb.want && lb.got == lb.want) {
        *mbps = (double)lb.got / BENCH_MB / secs;
        rc = 0;
    } else if (lb.err[0]) {
        bench_errf(err, errsz, "loopback receiver: %s", lb.err);
    }
out:
    if (fd >= 0)
        close(fd);
    if (lb.listen_fd >= 0)
        close(lb.listen_fd);
    free(buf);
    return rc;
}

static int bench_write_all(int fd, const void *buf, size_t len) {
    const char *p = buf;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static const char *bench_fs_name(long type) {
    switch ((unsigned long)type) {
    case 0xEF53: return "ext2/3/4";
    case 0x58465342: return "xfs";
    case 0x9123683E: return "btrfs";
    case 0x01021994: return "tmpfs";
    case 0x794C7630: return "overlayfs";
    case 0x2FC12FC1: return "zfs";
    case 0x6969: return "nfs";
    default: return "other";
    }
}

/* fsync'd sequential writes in the data dir: 1 MiB chunks with an fsync after each (a
 * group commit per chunk), 4 KiB writes with an fsync after each (fsyncs/s), and the fs
 * object store's put (new file, write, fsync, rename, fsync of the directory). */
int bench_disk_measure(const char *dir, bench_limits_t *lim) {
    char path[4096], dst[4096];
    struct statfs sfs;
    if (statfs(dir, &sfs) == 0)
        snprintf(lim->fs_type, sizeof(lim->fs_type), "%s", bench_fs_name((long)sfs.f_type));
    else
        snprintf(lim->fs_type, sizeof(lim->fs_type), "unknown");
    char *chunk = malloc(BENCH_FSYNC_CHUNK);
    if (!chunk) {
        bench_errf(lim->err, sizeof(lim->err), "out of memory");
        return -1;
    }
    for (size_t i = 0; i < BENCH_FSYNC_CHUNK; i++)
        chunk[i] = (char)(i * 2654435761u >> 13);

    snprintf(path, sizeof(path), "%s/weir-bench-fsync-XXXXXX", dir);
    int fd = mkstemp(path);
    if (fd < 0) {
        bench_errf(lim->err, sizeof(lim->err), "mkstemp %s: %s", path, strerror(errno));
        free(chunk);
        return -1;
    }
    uint64_t written = 0, start = bench_now_ns();
    int rc = 0;
    while (written < BENCH_FSYNC_MAX_BYTES && bench_secs_since(start) < BENCH_FSYNC_SECS) {
        if (bench_write_all(fd, chunk, BENCH_FSYNC_CHUNK) || fsync(fd)) {
            bench_errf(lim->err, sizeof(lim->err), "write+fsync %s: %s", path, strerror(errno));
            rc = -1;
            break;
        }
        written += BENCH_FSYNC_CHUNK;
    }
    lim->fsync_mbps = (double)written / BENCH_MB / bench_secs_since(start);
    lim->fsync_bytes = (double)written;
    /* Small writes to a fresh file: each fsync also commits the new size. */
    if (rc == 0 && ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0 && fsync(fd) == 0) {
        uint64_t ops = 0;
        start = bench_now_ns();
        while (ops < BENCH_SMALL_MAX_OPS && bench_secs_since(start) < BENCH_SMALL_MAX_SECS) {
            if (bench_write_all(fd, chunk, BENCH_SMALL_WRITE) || fsync(fd)) {
                bench_errf(lim->err, sizeof(lim->err), "small write+fsync: %s", strerror(errno));
                rc = -1;
                break;
            }
            ops++;
        }
        lim->small_fsyncs_per_s = (double)ops / bench_secs_since(start);
    }
    close(fd);
    unlink(path);

    /* Object-store put pattern, 1 MiB objects. */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    uint64_t puts = 0;
    start = bench_now_ns();
    while (rc == 0 && dfd >= 0 && puts < BENCH_PUT_MAX &&
           bench_secs_since(start) < BENCH_PUT_MAX_SECS) {
        snprintf(path, sizeof(path), "%s/weir-bench-put-%d.tmp", dir, (int)getpid());
        snprintf(dst, sizeof(dst), "%s/weir-bench-put-%d-%" PRIu64, dir, (int)getpid(), puts);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || bench_write_all(fd, chunk, BENCH_FSYNC_CHUNK) || fsync(fd) ||
            close(fd) || rename(path, dst) || fsync(dfd)) {
            bench_errf(lim->err, sizeof(lim->err), "object put %s: %s", dst, strerror(errno));
            rc = -1;
            break;
        }
        puts++;
    }
    double put_secs = bench_secs_since(start);
    for (uint64_t i = 0; i < puts; i++) {
        snprintf(dst, sizeof(dst), "%s/weir-bench-put-%d-%" PRIu64, dir, (int)getpid(), i);
        unlink(dst);
    }
    if (dfd >= 0)
        close(dfd);
    lim->put_per_s = (double)puts / put_secs;
    lim->put_mbps = (double)puts * BENCH_FSYNC_CHUNK / BENCH_MB / put_secs;
    free(chunk);
    return rc;
}

int bench_limits_run(const char *dir, bench_limits_t *lim) {
    printf("\n[machine limits]\n");
    lim->loopback_ok =
        bench_loopback_measure(&lim->loopback_mbps, lim->err, sizeof(lim->err)) == 0;
    if (lim->loopback_ok)
        printf("  loopback TCP           %9.1f MB/s  (%llu MiB, 1 sender + 1 receiver "
               "thread)\n",
               lim->loopback_mbps, BENCH_LOOPBACK_BYTES >> 20);
    else
        printf("  loopback TCP           FAILED: %s\n", lim->err);
    lim->err[0] = 0;
    lim->fsync_ok = bench_disk_measure(dir, lim) == 0;
    if (lim->fsync_ok) {
        printf("  fsync'd write 1 MiB    %9.1f MB/s  (%s on %s; fsync after each chunk, %.0f MiB)\n",
               lim->fsync_mbps, dir, lim->fs_type, lim->fsync_bytes / 1048576.0);
        printf("  fsync'd write 4 KiB    %9.0f fsyncs/s\n", lim->small_fsyncs_per_s);
        printf("  object put 1 MiB       %9.0f puts/s = %.1f MB/s  (write, fsync, rename, "
               "fsync dir)\n",
               lim->put_per_s, lim->put_mbps);
        if (strcmp(lim->fs_type, "tmpfs") == 0)
            printf("  note: %s is tmpfs, fsync costs nothing there\n", dir);
    } else {
        printf("  fsync'd write          FAILED: %s\n", lim->err);
    }
    fflush(stdout);
    return lim->loopback_ok && lim->fsync_ok ? 0 : -1;
}

double bench_limits_fsync_ms(const bench_limits_t *lim) {
    return lim->fsync_ok && lim->small_fsyncs_per_s > 0 ? 1000.0 / lim->small_fsyncs_per_s : 0;
}
