/* base.c — the small pieces every module uses: errors, arenas, buffers, strings,
 * varints, CRC-32C, clocks, logging and randomness. */
#include "base/base.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* ---- errors ---------------------------------------------------------------------- */

int weir_err_set(weir_err *err, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return WEIR_ERROR;
}

int weir_err_wrap(weir_err *err, const char *fmt, ...) {
    if (err) {
        char prefix[256], old[sizeof err->msg];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(prefix, sizeof prefix, fmt, ap);
        va_end(ap);
        memcpy(old, err->msg, sizeof old);
        size_t n = strlen(prefix);
        if (n > sizeof err->msg - 3) n = sizeof err->msg - 3;
        memcpy(err->msg, prefix, n);
        memcpy(err->msg + n, ": ", 2);
        size_t rest = sizeof err->msg - n - 3, olen = strnlen(old, sizeof old - 1);
        if (olen > rest) olen = rest;
        memcpy(err->msg + n + 2, old, olen);
        err->msg[n + 2 + olen] = 0;
    }
    return WEIR_ERROR;
}

/* ---- strings --------------------------------------------------------------------- */

weir_str weir_str_from_cstr(const char *s) {
    weir_str r = {s, s ? (int32_t)strlen(s) : 0};
    return r;
}

bool weir_str_eq_cstr(weir_str s, const char *cstr) {
    if (!s.ptr || !cstr) return false;
    size_t n = strlen(cstr);
    return (size_t)s.len == n && memcmp(s.ptr, cstr, n) == 0;
}

/* ---- arenas ---------------------------------------------------------------------- */

struct weir_arena_block {
    weir_arena_block *next;
    size_t used, cap;
    _Alignas(16) uint8_t data[];
};

static void *weir_xmalloc(size_t n) {
    void *p = malloc(n);
    if (!p) {
        fprintf(stderr, "weir: out of memory allocating %zu bytes\n", n);
        abort();
    }
    return p;
}

void weir_arena_init(weir_arena *a, size_t block_size) {
    a->head = NULL;
    a->block_size = block_size ? block_size : 8192;
}

void *weir_arena_alloc(weir_arena *a, size_t n) {
    n = (n + 15) & ~(size_t)15;
    if (n == 0) n = 16;
    weir_arena_block *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > a->block_size ? n : a->block_size;
        b = weir_xmalloc(sizeof *b + cap);
        b->used = 0;
        b->cap = cap;
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

char *weir_arena_strndup(weir_arena *a, const char *s, size_t n) {
    char *p = weir_arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

char *weir_arena_sprintf(weir_arena *a, const char *fmt, ...) {
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    char *p = weir_arena_alloc(a, (size_t)n + 1);
    if ((size_t)n < sizeof small) {
        memcpy(p, small, (size_t)n + 1);
        return p;
    }
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void weir_arena_reset(weir_arena *a) {
    weir_arena_block *b = a->head;
    while (b) {
        weir_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
}

void weir_arena_free(weir_arena *a) { weir_arena_reset(a); }

/* ---- buffers --------------------------------------------------------------------- */

void weir_buf_init(weir_buf *b) {
    b->data = NULL;
    b->len = b->cap = 0;
}

void weir_buf_reserve(weir_buf *b, size_t extra) {
    if (b->cap - b->len >= extra) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < extra) cap *= 2;
    uint8_t *p = realloc(b->data, cap);
    if (!p) {
        fprintf(stderr, "weir: out of memory growing a buffer to %zu bytes\n", cap);
        abort();
    }
    b->data = p;
    b->cap = cap;
}

void weir_buf_append(weir_buf *b, const void *p, size_t n) {
    if (n == 0) return;
    weir_buf_reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

uint8_t *weir_buf_extend(weir_buf *b, size_t n) {
    weir_buf_reserve(b, n);
    uint8_t *p = b->data + b->len;
    b->len += n;
    return p;
}

void weir_buf_free(weir_buf *b) {
    free(b->data);
    weir_buf_init(b);
}

void weir_buf_append_utf8(weir_buf *b, uint32_t c) {
    uint8_t u[4];
    size_t n;
    if (c < 0x80) u[0] = (uint8_t)c, n = 1;
    else if (c < 0x800) u[0] = (uint8_t)(0xc0 | c >> 6), u[1] = (uint8_t)(0x80 | (c & 63)), n = 2;
    else if (c < 0x10000)
        u[0] = (uint8_t)(0xe0 | c >> 12), u[1] = (uint8_t)(0x80 | ((c >> 6) & 63)), u[2] = (uint8_t)(0x80 | (c & 63)), n = 3;
    else
        u[0] = (uint8_t)(0xf0 | c >> 18), u[1] = (uint8_t)(0x80 | ((c >> 12) & 63)),
        u[2] = (uint8_t)(0x80 | ((c >> 6) & 63)), u[3] = (uint8_t)(0x80 | (c & 63)), n = 4;
    weir_buf_append(b, u, n);
}

/* ---- varints --------------------------------------------------------------------- */

size_t weir_uvarint_put(uint8_t *p, uint64_t v) {
    size_t i = 0;
    while (v >= 0x80) {
        p[i++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[i++] = (uint8_t)v;
    return i;
}

size_t weir_uvarint_get(const uint8_t *p, size_t n, uint64_t *v) {
    uint64_t r = 0;
    for (size_t i = 0; i < n && i < 10; i++) {
        uint64_t b = p[i];
        if (i == 9 && b > 1) return 0; /* would overflow 64 bits */
        r |= (b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = r;
            return i + 1;
        }
    }
    return 0;
}

size_t weir_varint_put(uint8_t *p, int64_t v) {
    return weir_uvarint_put(p, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

size_t weir_varint_get(const uint8_t *p, size_t n, int64_t *v) {
    uint64_t u;
    size_t k = weir_uvarint_get(p, n, &u);
    if (k) *v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
    return k;
}

size_t weir_varint32_get(const uint8_t *p, size_t n, int32_t *v) {
    uint64_t u;
    size_t k = weir_uvarint_get(p, n < 5 ? n : 5, &u);
    if (!k || u > 0xffffffffu) return 0;
    *v = (int32_t)((uint32_t)(u >> 1) ^ -(uint32_t)(u & 1));
    return k;
}

size_t weir_uvarint_size(uint64_t v) {
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

size_t weir_varint_size(int64_t v) { return weir_uvarint_size(((uint64_t)v << 1) ^ (uint64_t)(v >> 63)); }

/* ---- CRC-32C ----------------------------------------------------------------------- */
/* Slicing-by-8 tables in software; the SSE4.2 crc32 instruction when the CPU has it,
 * since every produced byte is checked. */

static uint32_t crc32c_table[8][256];
static int crc32c_hw = -1;

static void crc32c_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc32c_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc32c_table[t][i] = (crc32c_table[t - 1][i] >> 8) ^ crc32c_table[0][crc32c_table[t - 1][i] & 0xff];
#if defined(__x86_64__)
    __builtin_cpu_init();
    crc32c_hw = __builtin_cpu_supports("sse4.2") ? 1 : 0;
#else
    crc32c_hw = 0;
#endif
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw_update(uint32_t crc, const uint8_t *p, size_t n) {
    uint64_t c = crc;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c = __builtin_ia32_crc32di(c, w);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n--) c32 = __builtin_ia32_crc32qi(c32, *p++);
    return c32;
}
#endif

static uint32_t crc32c_sw_update(uint32_t crc, const uint8_t *p, size_t n) {
    while (n >= 8) {
        uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
        crc = crc32c_table[7][lo & 0xff] ^ crc32c_table[6][(lo >> 8) & 0xff] ^ crc32c_table[5][(lo >> 16) & 0xff] ^
              crc32c_table[4][lo >> 24] ^ crc32c_table[3][p[4]] ^ crc32c_table[2][p[5]] ^ crc32c_table[1][p[6]] ^
              crc32c_table[0][p[7]];
        p += 8;
        n -= 8;
    }
    while (n--) crc = (crc >> 8) ^ crc32c_table[0][(crc ^ *p++) & 0xff];
    return crc;
}

uint32_t weir_crc32c(uint32_t crc, const void *data, size_t n) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, crc32c_init);
    crc = ~crc;
#if defined(__x86_64__)
    if (crc32c_hw) return ~crc32c_hw_update(crc, data, n);
#endif
    return ~crc32c_sw_update(crc, data, n);
}

/* ---- clocks ---------------------------------------------------------------------- */

int64_t weir_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t weir_mono_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t weir_mono_ms(void) { return weir_mono_us() / 1000; }

/* ---- logging --------------------------------------------------------------------- */

static weir_log_level log_level = WEIR_LOG_INFO;

void weir_log_set_level(weir_log_level level) { log_level = level; }

void weir_logf(weir_log_level level, const char *module, const char *fmt, ...) {
    if (level < log_level) return;
    static const char *names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    char line[1024];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: ", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, names[level], module);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof line) vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line);
}

/* ---- randomness ------------------------------------------------------------------ */

void weir_random_bytes(void *dst, size_t n) {
    uint8_t *p = dst;
    while (n > 0) {
        ssize_t k = getrandom(p, n, 0);
        if (k < 0) {
            if (errno == EINTR) continue;
            /* getrandom cannot fail on a supported kernel; fall back to /dev/urandom. */
            int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
            if (fd < 0 || read(fd, p, n) != (ssize_t)n) abort();
            close(fd);
            return;
        }
        p += k;
        n -= (size_t)k;
    }
}

uint64_t weir_fnv1a64(uint64_t h, const void *data, size_t n) {
    const uint8_t *b = data;
    for (size_t k = 0; k < n; k++) {
        h ^= b[k];
        h *= 0x100000001b3ull;
    }
    return h;
}
