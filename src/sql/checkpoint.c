/* checkpoint.c — checkpoints of a job's state on disk: each stateful operator instance
 * writes its state as (key, value) records into a state file at a checkpoint barrier (large
 * buffered writes, a CRC at the end); the coordinator writes the checkpoint's _metadata
 * (JSON: operators, their files, source positions and split watermarks) last and
 * atomically; a restore reads them back. Also the directory helpers and memory sizes. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <lz4.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sql/engine_internal.h"

/* A state file: "WEIRST02", then blocks of records, each as u32 raw length, u32 stored
 * length and the stored bytes (LZ4 when shorter than raw, else the raw bytes), then the
 * trailer: u64 records, u32 CRC32C of everything before the trailer, "WEIREND2". Inside a
 * block, records are laid out as u32 key length, key, u32 value length, value
 * (little-endian), and a record never spans two blocks. LZ4 because checkpoints are bound
 * by the disk (a 1 GB state must checkpoint in seconds) and operator state (counters,
 * repeated keys) compresses well at a cost far below the disk's. */
#define STATE_MAGIC "WEIRST02"
#define STATE_END "WEIREND2"
#define STATE_BLOCK (4u << 20) /* raw bytes gathered before one block is compressed and written */

struct weir_sql_state_writer {
    weir_buf out;        /* the block being gathered */
    char *z;             /* its compressed form */
    size_t zcap;
    uint64_t records;
    uint64_t raw;        /* record bytes before compression */
    int fd;
    uint64_t bytes;      /* written to the file so far */
    uint32_t crc;
    int error;           /* the first errno of a failed write */
    char path[WEIR_SQL_PATH_MAX];
};

static int write_all(int fd, const void *p, size_t n) {
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return errno;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

static void writer_put(weir_sql_state_writer *w, const void *p, size_t n) {
    w->crc = weir_crc32c(w->crc, p, n);
    if (!w->error) w->error = write_all(w->fd, p, n);
    w->bytes += n;
}

/* Compresses and writes the gathered block. */
static void writer_drain(weir_sql_state_writer *w) {
    if (w->out.len == 0) return;
    size_t bound = (size_t)LZ4_compressBound((int)w->out.len);
    if (bound > w->zcap) {
        free(w->z);
        w->z = malloc(bound);
        if (!w->z) abort();
        w->zcap = bound;
    }
    int z = LZ4_compress_default((const char *)w->out.data, w->z, (int)w->out.len, (int)w->zcap);
    uint32_t head[2] = {(uint32_t)w->out.len, z > 0 && (size_t)z < w->out.len ? (uint32_t)z : (uint32_t)w->out.len};
    writer_put(w, head, sizeof head);
    if (head[1] < head[0]) writer_put(w, w->z, head[1]);
    else writer_put(w, w->out.data, w->out.len);
    w->out.len = 0;
}

void weir_sql_state_put(weir_sql_state_writer *w, const void *key, size_t klen, const void *val, size_t vlen) {
    size_t rec = 8 + klen + vlen;
    if (w->out.len > 0 && w->out.len + rec > STATE_BLOCK) writer_drain(w);
    uint8_t *at = weir_buf_extend(&w->out, rec);
    uint32_t n = (uint32_t)klen;
    memcpy(at, &n, 4);
    if (klen) memcpy(at + 4, key, klen);
    n = (uint32_t)vlen;
    memcpy(at + 4 + klen, &n, 4);
    if (vlen) memcpy(at + 8 + klen, val, vlen);
    w->records++;
    w->raw += rec;
    if (w->out.len >= STATE_BLOCK) writer_drain(w);
}

int weir_sql_state_writer_open(const char *path, weir_sql_state_writer **out, weir_err *err) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return weir_err_set(err, "checkpoint: cannot create %s: %s", path, strerror(errno));
    weir_sql_state_writer *w = calloc(1, sizeof *w);
    if (!w) abort();
    weir_buf_init(&w->out);
    weir_buf_reserve(&w->out, STATE_BLOCK + 4096);
    w->fd = fd;
    snprintf(w->path, sizeof w->path, "%s", path);
    writer_put(w, STATE_MAGIC, 8);
    *out = w;
    return WEIR_OK;
}

int weir_sql_state_writer_close(weir_sql_state_writer *w, bool keep, uint64_t *bytes, uint64_t *raw,
                                uint64_t *records, weir_err *err) {
    int rc = WEIR_OK;
    if (keep) {
        writer_drain(w);
        uint8_t trailer[20];
        memcpy(trailer, &w->records, 8);
        memcpy(trailer + 8, &w->crc, 4);
        memcpy(trailer + 12, STATE_END, 8);
        if (!w->error) w->error = write_all(w->fd, trailer, sizeof trailer);
        w->bytes += sizeof trailer;
        if (!w->error && fsync(w->fd) != 0) w->error = errno;
        if (w->error) rc = weir_err_set(err, "checkpoint: cannot write %s: %s", w->path, strerror(w->error));
    }
    close(w->fd);
    if (!keep || rc != WEIR_OK) unlink(w->path);
    if (bytes) *bytes = w->bytes;
    if (raw) *raw = w->raw;
    if (records) *records = w->records;
    weir_buf_free(&w->out);
    free(w->z);
    free(w);
    return rc;
}

/* Hands the records of one raw block to fn; false when one is cut short. */
static int read_block(const uint8_t *at, const uint8_t *end, weir_sql_state_record_fn fn, void *arg, uint64_t *seen,
                      bool *cut, weir_err *err) {
    while (at < end) {
        uint32_t kl, vl;
        if ((size_t)(end - at) < 4) break;
        memcpy(&kl, at, 4);
        at += 4;
        if ((size_t)(end - at) < (size_t)kl + 4) break;
        const uint8_t *key = at;
        at += kl;
        memcpy(&vl, at, 4);
        at += 4;
        if ((size_t)(end - at) < vl) break;
        const uint8_t *val = at;
        at += vl;
        (*seen)++;
        if (fn(arg, key, kl, val, vl, err) != WEIR_OK) return WEIR_ERROR;
    }
    *cut = at != end;
    return WEIR_OK;
}

int weir_sql_state_file_read(const char *path, weir_sql_state_record_fn fn, void *arg, weir_err *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return weir_err_set(err, "checkpoint: cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < 28) {
        close(fd);
        return weir_err_set(err, "checkpoint: %s is not a state file (too short)", path);
    }
    size_t n = (size_t)st.st_size;
    uint8_t *p = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) return weir_err_set(err, "checkpoint: cannot map %s: %s", path, strerror(errno));
    madvise(p, n, MADV_SEQUENTIAL);
    int rc = WEIR_OK;
    uint64_t records, seen = 0;
    uint32_t crc;
    memcpy(&records, p + n - 20, 8);
    memcpy(&crc, p + n - 12, 4);
    char *raw = NULL;
    size_t rawcap = 0;
    if (memcmp(p, STATE_MAGIC, 8) != 0 || memcmp(p + n - 8, STATE_END, 8) != 0) {
        rc = weir_err_set(err, "checkpoint: %s is not a complete state file", path);
    } else if (weir_crc32c(0, p, n - 20) != crc) {
        rc = weir_err_set(err, "checkpoint: %s is corrupt (CRC mismatch)", path);
    } else {
        const uint8_t *at = p + 8, *end = p + n - 20;
        bool cut = false;
        while (rc == WEIR_OK && !cut && at < end) {
            uint32_t head[2];
            if ((size_t)(end - at) < sizeof head) {
                cut = true;
                break;
            }
            memcpy(head, at, sizeof head);
            at += sizeof head;
            if ((size_t)(end - at) < head[1] || head[1] > head[0]) {
                cut = true;
                break;
            }
            const uint8_t *block = at;
            if (head[1] < head[0]) {
                if (head[0] > rawcap) {
                    free(raw);
                    raw = malloc(head[0]);
                    if (!raw) abort();
                    rawcap = head[0];
                }
                if (LZ4_decompress_safe((const char *)at, raw, (int)head[1], (int)head[0]) != (int)head[0]) {
                    cut = true;
                    break;
                }
                block = (const uint8_t *)raw;
            }
            at += head[1];
            rc = read_block(block, block + head[0], fn, arg, &seen, &cut, err);
        }
        if (rc == WEIR_OK && (cut || seen != records))
            rc = weir_err_set(err, "checkpoint: %s is corrupt (record %llu cut short)", path, (unsigned long long)seen);
    }
    free(raw);
    munmap(p, n);
    return rc;
}

/* ---- directories ---------------------------------------------------------------------- */

int weir_sql_mkdirs(const char *path, weir_err *err) {
    char buf[WEIR_SQL_PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *s = buf + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return weir_err_set(err, "checkpoint: cannot create directory %s: %s", buf, strerror(errno));
        *s = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return weir_err_set(err, "checkpoint: cannot create directory %s: %s", buf, strerror(errno));
    return WEIR_OK;
}

int weir_sql_fsync_dir(const char *path, weir_err *err) {
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return weir_err_set(err, "checkpoint: cannot open directory %s: %s", path, strerror(errno));
    int rc = fsync(fd) == 0 ? WEIR_OK : weir_err_set(err, "checkpoint: cannot sync directory %s: %s", path, strerror(errno));
    close(fd);
    return rc;
}

/* Written to a temporary name, synced, renamed over the final name, and the directory
 * synced: a reader sees the old file or the whole new one, also after a crash. */
int weir_sql_write_file_atomic(const char *dir, const char *name, const void *data, size_t len, weir_err *err) {
    char tmp[WEIR_SQL_PATH_MAX], final[WEIR_SQL_PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
    snprintf(final, sizeof final, "%s/%s", dir, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return weir_err_set(err, "checkpoint: cannot create %s: %s", tmp, strerror(errno));
    int e = write_all(fd, data, len);
    if (!e && fsync(fd) != 0) e = errno;
    close(fd);
    if (!e && rename(tmp, final) != 0) e = errno;
    if (e) {
        unlink(tmp);
        return weir_err_set(err, "checkpoint: cannot write %s: %s", final, strerror(e));
    }
    return weir_sql_fsync_dir(dir, err);
}

void weir_sql_remove_tree(const char *path) {
    DIR *d = opendir(path);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
            char sub[WEIR_SQL_PATH_MAX];
            snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
            struct stat st;
            if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode)) weir_sql_remove_tree(sub);
            else unlink(sub);
        }
        closedir(d);
    }
    rmdir(path);
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int weir_sql_list_checkpoints(const char *job_dir, int64_t **complete, int *ncomplete, int64_t **incomplete,
                              int *nincomplete) {
    *complete = *incomplete = NULL;
    *ncomplete = *nincomplete = 0;
    DIR *d = opendir(job_dir);
    if (!d) return WEIR_OK;
    int capc = 0, capi = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, "chk-", 4) != 0) continue;
        char *end;
        long long n = strtoll(de->d_name + 4, &end, 10);
        if (*end || n <= 0) continue;
        char meta[WEIR_SQL_PATH_MAX];
        snprintf(meta, sizeof meta, "%s/%s/_metadata", job_dir, de->d_name);
        bool done = access(meta, F_OK) == 0;
        int64_t **arr = done ? complete : incomplete;
        int *cnt = done ? ncomplete : nincomplete, *cap = done ? &capc : &capi;
        if (*cnt == *cap) {
            *cap = *cap ? *cap * 2 : 8;
            *arr = realloc(*arr, sizeof **arr * (size_t)*cap);
            if (!*arr) abort();
        }
        (*arr)[(*cnt)++] = (int64_t)n;
    }
    closedir(d);
    if (*ncomplete) qsort(*complete, (size_t)*ncomplete, sizeof **complete, cmp_i64);
    if (*nincomplete) qsort(*incomplete, (size_t)*nincomplete, sizeof **incomplete, cmp_i64);
    return WEIR_OK;
}

/* ---- memory sizes ---------------------------------------------------------------------- */

/* Flink's MemorySize syntax: a number and an optional unit (b, k/kb, m/mb, g/gb, t/tb and
 * their long names; powers of 1024), spaces allowed between. */
bool weir_sql_parse_memory_size(const char *s, int64_t *out) {
    while (*s == ' ') s++;
    if (*s < '0' || *s > '9') return false;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(s, &end, 10);
    if (errno) return false;
    while (*end == ' ') end++;
    char unit[16];
    size_t k = 0;
    while (*end && *end != ' ' && k < sizeof unit - 1) unit[k++] = *end++;
    unit[k] = 0;
    while (*end == ' ') end++;
    if (*end) return false;
    static const struct { const char *name; int shift; } units[] = {
        {"", 0}, {"b", 0}, {"bytes", 0}, {"k", 10}, {"kb", 10}, {"kibibytes", 10}, {"m", 20}, {"mb", 20},
        {"mebibytes", 20}, {"g", 30}, {"gb", 30}, {"gibibytes", 30}, {"t", 40}, {"tb", 40}, {"tebibytes", 40},
    };
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++)
        if (!strcasecmp(unit, units[u].name)) {
            if (n > (unsigned long long)(INT64_MAX >> units[u].shift)) return false;
            *out = (int64_t)(n << units[u].shift);
            return true;
        }
    return false;
}

void weir_sql_format_bytes(char *buf, size_t cap, int64_t n) {
    static const char *names[] = {"bytes", "KB", "MB", "GB", "TB"};
    double v = (double)n;
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    if (u == 0) snprintf(buf, cap, "%lld bytes", (long long)n);
    else snprintf(buf, cap, "%.1f %s", v, names[u]);
}

/* ---- _metadata ----------------------------------------------------------------------------- */

static void hex_of(char *out, const uint8_t *p, size_t n) {
    static const char digits[] = "0123456789abcdef";
    for (size_t k = 0; k < n; k++) {
        out[2 * k] = digits[p[k] >> 4];
        out[2 * k + 1] = digits[p[k] & 15];
    }
    out[2 * n] = 0;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

char *weir_sql_meta_encode(const weir_sql_ckpt_meta *m) {
    json_t *root = json_object();
    json_object_set_new(root, "format", json_string("weir-checkpoint"));
    json_object_set_new(root, "version", json_integer(1));
    json_object_set_new(root, "checkpoint", json_integer(m->id));
    json_object_set_new(root, "job_id", json_string(m->job_id));
    json_object_set_new(root, "savepoint", json_boolean(m->savepoint));
    json_object_set_new(root, "parallelism", json_integer(m->parallelism));
    json_object_set_new(root, "time_ms", json_integer(m->time_ms));
    json_object_set_new(root, "state_bytes", json_integer((json_int_t)m->bytes));
    json_object_set_new(root, "file_bytes", json_integer((json_int_t)m->file_bytes));
    json_object_set_new(root, "duration_ms", json_integer(m->duration_ms));
    json_t *ops = json_array();
    for (int k = 0; k < m->nops; k++) {
        const weir_sql_ckpt_op *o = &m->ops[k];
        json_t *jo = json_object();
        json_object_set_new(jo, "id", json_string(o->id));
        json_object_set_new(jo, "operator", json_string(o->explain));
        json_object_set_new(jo, "instances", json_integer(o->instances));
        json_t *files = json_array();
        for (int f = 0; f < o->nfiles; f++) {
            json_t *jf = json_object();
            json_object_set_new(jf, "file", json_string(o->files[f].name));
            json_object_set_new(jf, "instance", json_integer(o->files[f].instance));
            json_object_set_new(jf, "bytes", json_integer((json_int_t)o->files[f].bytes));
            json_object_set_new(jf, "state_bytes", json_integer((json_int_t)o->files[f].raw));
            json_object_set_new(jf, "records", json_integer((json_int_t)o->files[f].records));
            json_array_append_new(files, jf);
        }
        json_object_set_new(jo, "files", files);
        json_array_append_new(ops, jo);
    }
    json_object_set_new(root, "operators", ops);
    json_t *srcs = json_array();
    for (int k = 0; k < m->nsources; k++) {
        const weir_sql_ckpt_source *s = &m->sources[k];
        json_t *js = json_object();
        json_object_set_new(js, "table", json_string(s->table));
        json_object_set_new(js, "occurrence", json_integer(s->occurrence));
        json_t *splits = json_array();
        for (int p = 0; p < s->nsplits; p++) {
            const weir_sql_ckpt_split *sp = &s->splits[p];
            json_t *jp = json_object();
            json_object_set_new(jp, "split", json_integer(sp->split));
            char *hex = malloc(sp->len * 2 + 1);
            if (!hex) abort();
            hex_of(hex, sp->pos, sp->len);
            json_object_set_new(jp, "position", json_string(hex));
            free(hex);
            if (sp->has_wm) json_object_set_new(jp, "watermark", json_integer(sp->wm));
            json_array_append_new(splits, jp);
        }
        json_object_set_new(js, "splits", splits);
        json_array_append_new(srcs, js);
    }
    json_object_set_new(root, "sources", srcs);
    char *text = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    json_decref(root);
    return text;
}

static const char *jstr(json_t *o, const char *k) {
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

int weir_sql_meta_load(const char *dir, weir_arena *arena, weir_sql_ckpt_meta *m, weir_err *err) {
    char path[WEIR_SQL_PATH_MAX];
    snprintf(path, sizeof path, "%s/_metadata", dir);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) {
        if (access(path, F_OK) != 0)
            return weir_err_set(err, "%s is not a checkpoint or savepoint (no _metadata)", dir);
        return weir_err_set(err, "checkpoint %s: _metadata line %d: %s", dir, je.line, je.text);
    }
    memset(m, 0, sizeof *m);
    int rc = WEIR_OK;
    const char *fmt = jstr(root, "format");
    json_t *ops = json_object_get(root, "operators"), *srcs = json_object_get(root, "sources");
    if (!fmt || strcmp(fmt, "weir-checkpoint") != 0 || json_integer_value(json_object_get(root, "version")) != 1 ||
        !json_is_array(ops) || !json_is_array(srcs)) {
        rc = weir_err_set(err, "checkpoint %s: _metadata is not a Weir checkpoint of version 1", dir);
        goto out;
    }
    m->id = json_integer_value(json_object_get(root, "checkpoint"));
    m->savepoint = json_is_true(json_object_get(root, "savepoint"));
    m->parallelism = (int)json_integer_value(json_object_get(root, "parallelism"));
    m->time_ms = json_integer_value(json_object_get(root, "time_ms"));
    m->bytes = (uint64_t)json_integer_value(json_object_get(root, "state_bytes"));
    m->file_bytes = (uint64_t)json_integer_value(json_object_get(root, "file_bytes"));
    const char *jid = jstr(root, "job_id");
    snprintf(m->job_id, sizeof m->job_id, "%s", jid ? jid : "");
    m->nops = (int)json_array_size(ops);
    m->ops = weir_arena_alloc(arena, sizeof *m->ops * (size_t)(m->nops + 1));
    for (int k = 0; k < m->nops; k++) {
        json_t *jo = json_array_get(ops, (size_t)k);
        weir_sql_ckpt_op *o = &m->ops[k];
        const char *id = jstr(jo, "id"), *ex = jstr(jo, "operator");
        json_t *files = json_object_get(jo, "files");
        if (!id || strlen(id) != 16 || !json_is_array(files)) {
            rc = weir_err_set(err, "checkpoint %s: _metadata: operator %d is malformed", dir, k);
            goto out;
        }
        snprintf(o->id, sizeof o->id, "%s", id);
        o->explain = weir_arena_strndup(arena, ex ? ex : "?", strlen(ex ? ex : "?"));
        o->instances = (int)json_integer_value(json_object_get(jo, "instances"));
        o->nfiles = (int)json_array_size(files);
        o->files = weir_arena_alloc(arena, sizeof *o->files * (size_t)(o->nfiles + 1));
        for (int f = 0; f < o->nfiles; f++) {
            json_t *jf = json_array_get(files, (size_t)f);
            const char *name = jstr(jf, "file");
            if (!name || strchr(name, '/')) {
                rc = weir_err_set(err, "checkpoint %s: _metadata: a file of operator %s is malformed", dir, o->id);
                goto out;
            }
            o->files[f].name = weir_arena_strndup(arena, name, strlen(name));
            o->files[f].instance = (int)json_integer_value(json_object_get(jf, "instance"));
            o->files[f].bytes = (uint64_t)json_integer_value(json_object_get(jf, "bytes"));
            o->files[f].raw = (uint64_t)json_integer_value(json_object_get(jf, "state_bytes"));
            o->files[f].records = (uint64_t)json_integer_value(json_object_get(jf, "records"));
        }
    }
    m->nsources = (int)json_array_size(srcs);
    m->sources = weir_arena_alloc(arena, sizeof *m->sources * (size_t)(m->nsources + 1));
    for (int k = 0; k < m->nsources; k++) {
        json_t *js = json_array_get(srcs, (size_t)k);
        weir_sql_ckpt_source *s = &m->sources[k];
        const char *t = jstr(js, "table");
        json_t *splits = json_object_get(js, "splits");
        if (!t || !json_is_array(splits)) {
            rc = weir_err_set(err, "checkpoint %s: _metadata: source %d is malformed", dir, k);
            goto out;
        }
        s->table = weir_arena_strndup(arena, t, strlen(t));
        s->occurrence = (int)json_integer_value(json_object_get(js, "occurrence"));
        s->nsplits = (int)json_array_size(splits);
        s->splits = weir_arena_alloc(arena, sizeof *s->splits * (size_t)(s->nsplits + 1));
        for (int p = 0; p < s->nsplits; p++) {
            json_t *jp = json_array_get(splits, (size_t)p);
            weir_sql_ckpt_split *sp = &s->splits[p];
            const char *hex = jstr(jp, "position");
            size_t hl = hex ? strlen(hex) : 1;
            if (hl % 2) {
                rc = weir_err_set(err, "checkpoint %s: _metadata: a position of table '%s' is malformed", dir, s->table);
                goto out;
            }
            sp->split = (int)json_integer_value(json_object_get(jp, "split"));
            sp->len = hl / 2;
            uint8_t *pos = weir_arena_alloc(arena, sp->len + 1);
            for (size_t i = 0; i < sp->len; i++) {
                int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
                if (hi < 0 || lo < 0) {
                    rc = weir_err_set(err, "checkpoint %s: _metadata: a position of table '%s' is malformed", dir,
                                      s->table);
                    goto out;
                }
                pos[i] = (uint8_t)(hi << 4 | lo);
            }
            sp->pos = pos;
            json_t *wm = json_object_get(jp, "watermark");
            sp->has_wm = json_is_integer(wm);
            sp->wm = sp->has_wm ? json_integer_value(wm) : 0;
        }
    }
out:
    json_decref(root);
    return rc;
}
