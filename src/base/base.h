/* base.h — the shared vocabulary of Weir: return codes, error messages with context,
 * arenas, growable buffers, byte strings, varints, CRC-32C, logging and clocks.
 * Every other module includes this header; it includes nothing of Weir's. */
#ifndef WEIR_BASE_H
#define WEIR_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Return codes shared by every module (nginx style: small and few). */
enum {
    WEIR_OK = 0,
    WEIR_ERROR = -1,    /* failed; the weir_err says why */
    WEIR_EAGAIN = -2,   /* not ready yet; try again when woken */
    WEIR_ENOTFOUND = -3 /* the thing asked for does not exist */
};

/* An error message that travels with a return code. Fill it with weir_err_set();
 * the message names the context (topic, offset, file, line:column). */
typedef struct weir_err {
    char msg[512];
} weir_err;

/* Formats the message into err (if err is non-NULL) and returns WEIR_ERROR. */
int weir_err_set(weir_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefixes an existing message with more context: "reading topic t: <old>". */
int weir_err_wrap(weir_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A string or byte range that does not own its memory. ptr == NULL means SQL/Kafka
 * null; an empty value has a non-NULL ptr and len 0. */
typedef struct weir_str {
    const char *ptr;
    int32_t len;
} weir_str;

typedef struct weir_bytes {
    const uint8_t *ptr;
    int32_t len;
} weir_bytes;

#define WEIR_STR_NULL ((weir_str){NULL, 0})
weir_str weir_str_from_cstr(const char *s);             /* NULL stays null */
bool weir_str_eq_cstr(weir_str s, const char *cstr);   /* false if s is null */

/* Arena: many small allocations freed together when the request, batch or connection
 * that owns the arena ends. Allocations are 16-byte aligned and zeroed. */
typedef struct weir_arena_block weir_arena_block;
typedef struct weir_arena {
    weir_arena_block *head;
    size_t block_size;
} weir_arena;

void weir_arena_init(weir_arena *a, size_t block_size); /* 0 picks a default */
void *weir_arena_alloc(weir_arena *a, size_t n);         /* zeroed; aborts on OOM */
char *weir_arena_strndup(weir_arena *a, const char *s, size_t n);
char *weir_arena_sprintf(weir_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void weir_arena_reset(weir_arena *a); /* frees all but keeps the arena usable */
void weir_arena_free(weir_arena *a);

/* Growable byte buffer, owned by whoever holds it. */
typedef struct weir_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} weir_buf;

void weir_buf_init(weir_buf *b);
void weir_buf_reserve(weir_buf *b, size_t extra); /* aborts on OOM */
void weir_buf_append(weir_buf *b, const void *p, size_t n);
uint8_t *weir_buf_extend(weir_buf *b, size_t n); /* grows len by n, returns start */
void weir_buf_free(weir_buf *b);
/* Appends code point c encoded as UTF-8 (1 to 4 bytes). */
void weir_buf_append_utf8(weir_buf *b, uint32_t c);

/* Big-endian fixed-width helpers (Kafka's wire order). */
static inline void weir_be16_put(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void weir_be32_put(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline void weir_be64_put(uint8_t *p, uint64_t v) { weir_be32_put(p, (uint32_t)(v >> 32)); weir_be32_put(p + 4, (uint32_t)v); }
static inline uint16_t weir_be16_get(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t weir_be32_get(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}
static inline uint64_t weir_be64_get(const uint8_t *p) { return ((uint64_t)weir_be32_get(p) << 32) | weir_be32_get(p + 4); }

/* Varints as Kafka uses them: unsigned LEB128, and zigzag for signed values.
 * Decoders return the number of bytes consumed, or 0 if the input is truncated or
 * the varint is longer than its type allows. Encoders return bytes written (<= 10). */
size_t weir_uvarint_put(uint8_t *p, uint64_t v);
size_t weir_uvarint_get(const uint8_t *p, size_t n, uint64_t *v);
size_t weir_varint_put(uint8_t *p, int64_t v);                     /* zigzag */
size_t weir_varint_get(const uint8_t *p, size_t n, int64_t *v);    /* zigzag, 64-bit */
size_t weir_varint32_get(const uint8_t *p, size_t n, int32_t *v);  /* zigzag, 32-bit range */
size_t weir_uvarint_size(uint64_t v);
size_t weir_varint_size(int64_t v);

/* CRC-32C (Castagnoli), as record batches use. Hardware instruction when available. */
uint32_t weir_crc32c(uint32_t crc, const void *data, size_t n);

/* FNV-1a 64 over n bytes, continuing from h (start with WEIR_FNV1A64_INIT): stable across
 * processes and machines, for ids and keys that must hash the same after a restart. */
#define WEIR_FNV1A64_INIT 0xcbf29ce484222325ull
uint64_t weir_fnv1a64(uint64_t h, const void *data, size_t n);

/* Clocks. */
int64_t weir_now_ms(void);   /* wall clock, ms since the epoch */
int64_t weir_mono_ms(void);  /* monotonic ms */
int64_t weir_mono_us(void);  /* monotonic us */

/* Structured log lines on stderr: "ts level module: message". */
typedef enum { WEIR_LOG_DEBUG, WEIR_LOG_INFO, WEIR_LOG_WARN, WEIR_LOG_ERROR } weir_log_level;
void weir_log_set_level(weir_log_level level);
void weir_logf(weir_log_level level, const char *module, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#define weir_info(mod, ...) weir_logf(WEIR_LOG_INFO, mod, __VA_ARGS__)
#define weir_warn(mod, ...) weir_logf(WEIR_LOG_WARN, mod, __VA_ARGS__)
#define weir_error(mod, ...) weir_logf(WEIR_LOG_ERROR, mod, __VA_ARGS__)
#define weir_debug(mod, ...) weir_logf(WEIR_LOG_DEBUG, mod, __VA_ARGS__)

/* Random bytes (for topic ids, cluster id). */
void weir_random_bytes(void *dst, size_t n);


/* ---- configuration (config.c) -------------------------------------------------------
 * weir.properties with Kafka's key names where one exists; every key overridable by a
 * WEIR_ environment variable (upper-cased, dots to underscores). Unknown keys and bad
 * values are refused with a message naming the key and where it came from. */

typedef enum { WEIR_CONF_STRING, WEIR_CONF_INT, WEIR_CONF_LONG, WEIR_CONF_BOOL } weir_conf_type;

/* Where a value came from, in DescribeConfigs' terms. */
typedef enum { WEIR_CONF_SRC_DEFAULT, WEIR_CONF_SRC_FILE, WEIR_CONF_SRC_ENV } weir_conf_source;

typedef struct weir_config {
    char listeners[256];
    char advertised_listeners[256];
    char http_listener[256]; /* host:port of /metrics and the admin API (src/http); "" disables */
    char log_dirs[1024];
    int32_t num_partitions;
    bool auto_create_topics_enable;
    int32_t message_max_bytes;
    int32_t socket_request_max_bytes;
    int64_t log_retention_ms;
    int64_t log_retention_bytes;
    char log_message_timestamp_type[32];
    int32_t node_id;
    int32_t num_io_threads;
    int64_t wal_object_bytes;
    int64_t wal_flush_ms;
    int64_t log_tail_cache_bytes;
    int64_t log_catchup_cache_bytes;
    int64_t producer_id_expiration_ms;
    int64_t log_retention_check_interval_ms; /* object lifecycle (src/log/lifecycle.c) */
    int64_t log_object_delete_grace_ms;
    int64_t group_initial_rebalance_delay_ms; /* consumer groups (src/group) */
    int32_t offsets_retention_minutes;
    int64_t offsets_retention_check_interval_ms;
    int32_t max_connections;
    char log_level[16];
    /* Per key: the source of its value, indexed like weir_config_key(). */
    weir_conf_source source[64];
} weir_config;

/* Fills defaults, then the file (if path != NULL), then WEIR_ variables from envp. */
int weir_config_load(weir_config *c, const char *path, char *const *envp, weir_err *err);
/* Sets one key from a string (used by the loader and by tests). */
int weir_config_set(weir_config *c, const char *key, const char *value, const char *origin, weir_err *err);

/* The known keys, for help text and DescribeConfigs: returns false past the last. */
typedef struct weir_config_key_info {
    const char *name;
    weir_conf_type type;
    const char *default_value;
    const char *doc;
} weir_config_key_info;
bool weir_config_key(int i, weir_config_key_info *info);
/* Current value of key i formatted as a string into dst. */
void weir_config_value(const weir_config *c, int i, char *dst, size_t cap);

/* Splits "PLAINTEXT://host:port" (or "host:port") into host and port. */
int weir_config_parse_listener(const char *listener, char *host, size_t hostcap, int *port, weir_err *err);

/* Counters, gauges and histograms of the broker (metrics.c). */
#include "base/metrics.h"

#endif
