/* filesystem.c — the 'filesystem' connector's sink: rows encoded with the table's format
 * (json or csv) into part files of a local directory, rolled by size and time as Flink's
 * FileSystem SQL sink does. A part file is written under a hidden in-progress name and
 * renamed to its final name "part-<uuid>-<worker>-<n>" only once it is complete and
 * durable (write, fsync, rename, fsync the directory), at the checkpoint (flush) after it
 * rolled or at close. Reading files (a filesystem source) is not supported yet. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "connect/connect.h"

#define DEFAULT_FILE_SIZE ((int64_t)128 << 20)
#define DEFAULT_ROLLOVER_MS (30 * 60 * 1000)
#define DEFAULT_CHECK_MS (60 * 1000)
#define DEFAULT_INACTIVITY_MS (30 * 60 * 1000)
/* Encoded rows are handed to write(2) once this many are buffered. */
#define WRITE_CHUNK (1u << 20)

static const char *const fs_keys[] = {"connector",
                                      "path",
                                      "format",
                                      "sink.rolling-policy.file-size",
                                      "sink.rolling-policy.rollover-interval",
                                      "sink.rolling-policy.check-interval",
                                      "sink.rolling-policy.inactivity-interval",
                                      NULL};
/* Flink's other filesystem options: known, but not implemented here yet. */
static const char *const fs_unsupported[] = {"partition.default-name",
                                             "sink.shuffle-by-partition.enable",
                                             "sink.partition-commit.",
                                             "partition.time-extractor.",
                                             "auto-compaction",
                                             "compaction.file-size",
                                             "sink.parallelism",
                                             "source.",
                                             "streaming-source.",
                                             "lookup.join.cache.ttl",
                                             NULL};
static const char *const fs_formats[] = {"json", "csv", NULL};

typedef struct fs_config {
    char *dir;                  /* the local directory (file:// stripped), malloc'ed */
    const char *format;
    int64_t file_size, rollover_ms, check_ms, inactivity_ms;
} fs_config;

typedef struct fs_sink {
    const weir_sql_table *table;
    fs_config cfg;
    char uuid[40];              /* one per sink, in every file name (as Flink's) */
    int *cols;                  /* the physical columns the format writes */
    int ncols;
} fs_sink;

typedef struct fs_pending {
    char *hidden;               /* complete and fsynced, still under its in-progress name */
    char *final;
} fs_pending;

typedef struct fs_writer {
    fs_sink *sink;
    int worker;
    weir_format *format;
    int dirfd;
    weir_buf buf;               /* encoded rows not yet written to fd */
    int fd;                     /* the in-progress file, -1 when none */
    char *hidden, *final;       /* its names (relative to the directory) */
    uint64_t size;              /* bytes of the in-progress file (written + buffered) */
    uint64_t synced;            /* bytes of it made durable by the last flush */
    int64_t created_ms, last_write_ms, last_check_ms;
    int part;                   /* the next part number */
    fs_pending *pending;
    int npending, cappending;
    bool dirty;                 /* rows written since the last flush */
} fs_writer;

/* ---- options ----------------------------------------------------------------------------- */

static int check_unsupported(const weir_sql_table *t, weir_err *err) {
    for (int i = 0; i < t->noptions; i++)
        for (int j = 0; fs_unsupported[j]; j++) {
            const char *u = fs_unsupported[j];
            size_t n = strlen(u);
            bool hit = u[n - 1] == '.' ? !strncmp(t->options[i].key, u, n) : !strcmp(t->options[i].key, u);
            if (hit)
                return weir_err_set(err, "table '%s': option '%s' of connector 'filesystem' is not supported yet", t->name,
                                    t->options[i].key);
        }
    return WEIR_OK;
}

/* A local directory from 'path': a plain path, or a file: URI (file:///d, file:/d,
 * file://localhost/d). Other schemes (s3://, hdfs://) are refused. */
static int parse_path(const weir_sql_table *t, const char *v, char **out, weir_err *err) {
    const char *p = v;
    if (!strncasecmp(p, "file:", 5)) {
        p += 5;
        if (!strncmp(p, "//", 2)) {
            p += 2;
            if (!strncasecmp(p, "localhost/", 10)) p += 9;
            else if (*p != '/')
                return weir_err_set(err, "table '%s': option 'path' = '%s' names a host; only local paths are supported",
                                    t->name, v);
        }
    } else if (strstr(p, "://")) {
        return weir_err_set(err, "table '%s': option 'path' = '%s': only local directories (or file:// URIs) are supported",
                            t->name, v);
    }
    if (!*p) return weir_err_set(err, "table '%s': option 'path' is empty", t->name);
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/') n--;
    *out = strndup(p, n);
    if (!*out) abort();
    return WEIR_OK;
}

/* Every check that does not touch the disk; on success cfg->dir is malloc'ed. */
static int parse_config(const weir_sql_table *t, fs_config *cfg, weir_err *err) {
    memset(cfg, 0, sizeof *cfg);
    if (check_unsupported(t, err) != WEIR_OK) return WEIR_ERROR;
    const char *format = weir_sql_table_option(t, "format");
    if (!format)
        return weir_err_set(err, "table '%s': connector 'filesystem' needs option 'format' ('json' or 'csv')", t->name);
    int fi = -1;
    for (int i = 0; fs_formats[i]; i++)
        if (!strcmp(fs_formats[i], format)) fi = i;
    if (fi < 0) {
        const char *near = weir_sql_closest(format, fs_formats, 2);
        if (near)
            return weir_err_set(err, "table '%s': option 'format' = '%s' is not a format of the filesystem sink; did you "
                                "mean '%s'?", t->name, format, near);
        return weir_err_set(err, "table '%s': option 'format' = '%s' is not a format of the filesystem sink (json and csv "
                            "are supported)", t->name, format);
    }
    cfg->format = fs_formats[fi];
    /* the connector's keys and the format's own */
    const char *keys[64];
    int nk = 0;
    for (int i = 0; fs_keys[i]; i++) keys[nk++] = fs_keys[i];
    const char *const *fk = weir_format_option_keys(cfg->format);
    for (int i = 0; fk && fk[i] && nk < 63; i++) keys[nk++] = fk[i];
    keys[nk] = NULL;
    if (weir_connect_check_options(t, "filesystem", keys, NULL, err) != WEIR_OK) return WEIR_ERROR;
    const char *path = weir_sql_table_option(t, "path");
    if (!path) return weir_err_set(err, "table '%s': connector 'filesystem' needs option 'path' (a directory)", t->name);
    cfg->file_size = DEFAULT_FILE_SIZE;
    cfg->rollover_ms = DEFAULT_ROLLOVER_MS;
    cfg->check_ms = DEFAULT_CHECK_MS;
    cfg->inactivity_ms = DEFAULT_INACTIVITY_MS;
    if (weir_connect_opt_bytes(t, "sink.rolling-policy.file-size", &cfg->file_size, err) != WEIR_OK ||
        weir_connect_opt_duration_ms(t, "sink.rolling-policy.rollover-interval", &cfg->rollover_ms, err) != WEIR_OK ||
        weir_connect_opt_duration_ms(t, "sink.rolling-policy.check-interval", &cfg->check_ms, err) != WEIR_OK ||
        weir_connect_opt_duration_ms(t, "sink.rolling-policy.inactivity-interval", &cfg->inactivity_ms, err) != WEIR_OK)
        return WEIR_ERROR;
    const char *zero = cfg->file_size <= 0                ? "sink.rolling-policy.file-size"
                       : cfg->rollover_ms <= 0            ? "sink.rolling-policy.rollover-interval"
                       : cfg->check_ms <= 0               ? "sink.rolling-policy.check-interval"
                       : cfg->inactivity_ms <= 0          ? "sink.rolling-policy.inactivity-interval"
                                                          : NULL;
    if (zero)
        return weir_err_set(err, "table '%s': option '%s' = '%s' must be above zero", t->name, zero,
                            weir_sql_table_option(t, zero));
    for (int c = 0; c < t->ncolumns; c++)
        if (t->columns[c].kind == WEIR_SQL_COLUMN_METADATA)
            return weir_err_set(err, "table '%s': column '%s' is a METADATA column, but connector 'filesystem' has no "
                                "metadata", t->name, t->columns[c].name);
    return parse_path(t, path, &cfg->dir, err);
}

/* The physical columns (what the format writes), malloc'ed. */
static int *physical_cols(const weir_sql_table *t, int *n) {
    int *cols = malloc(sizeof(int) * (size_t)(t->ncolumns + 1));
    if (!cols) abort();
    *n = 0;
    for (int c = 0; c < t->ncolumns; c++)
        if (t->columns[c].kind == WEIR_SQL_COLUMN_PHYSICAL) cols[(*n)++] = c;
    return cols;
}

static int open_format(const weir_sql_table *t, const char *name, const int *cols, int ncols, weir_format **out,
                       weir_err *err) {
    weir_format_spec spec = {.name = name, .table = t, .prefix = "", .cols = cols, .ncols = ncols, .needed = NULL};
    return weir_format_open(&spec, out, err);
}

static int fs_validate(const weir_sql_table *t, bool as_source, weir_err *err) {
    if (as_source)
        return weir_err_set(err, "table '%s': reading files is not supported yet: connector 'filesystem' can only be "
                            "written to", t->name);
    fs_config cfg;
    if (parse_config(t, &cfg, err) != WEIR_OK) return WEIR_ERROR;
    free(cfg.dir);
    /* the format's own options and column types */
    int ncols;
    int *cols = physical_cols(t, &ncols);
    weir_format *f = NULL;
    int rc = open_format(t, cfg.format, cols, ncols, &f, err);
    weir_format_free(f);
    free(cols);
    return rc;
}

static void fs_describe(const weir_sql_table *t, weir_buf *out) {
    const char *path = weir_sql_table_option(t, "path");
    const char *format = weir_sql_table_option(t, "format");
    weir_buf_append(out, "path=[", 6);
    if (path) weir_buf_append(out, path, strlen(path));
    weir_buf_append(out, "], format=[", 11);
    if (format) weir_buf_append(out, format, strlen(format));
    weir_buf_append(out, "]", 1);
}

/* ---- the sink --------------------------------------------------------------------------- */

/* mkdir -p. */
static int make_dirs(const char *dir) {
    char *p = strdup(dir);
    if (!p) abort();
    int rc = 0;
    for (char *s = p + 1; *s && rc == 0; s++) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(p, 0755) != 0 && errno != EEXIST) rc = -1;
        *s = '/';
    }
    if (rc == 0 && mkdir(p, 0755) != 0 && errno != EEXIST) rc = -1;
    free(p);
    return rc;
}

static void new_uuid(char *out, size_t cap) {
    uint8_t u[16];
    weir_random_bytes(u, sizeof u);
    u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
    u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
    snprintf(out, cap, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3],
             u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

static int fs_open(const weir_sql_conn_ctx *ctx, void **sink, weir_err *err) {
    const weir_sql_table *t = ctx->table;
    if (fs_validate(t, false, err) != WEIR_OK) return WEIR_ERROR;
    fs_sink *s = calloc(1, sizeof *s);
    if (!s) abort();
    s->table = t;
    parse_config(t, &s->cfg, err);
    struct stat st;
    const char *why = NULL;
    if (make_dirs(s->cfg.dir) != 0 || stat(s->cfg.dir, &st) != 0) why = strerror(errno);
    else if (!S_ISDIR(st.st_mode)) why = "it is not a directory";
    else if (access(s->cfg.dir, W_OK | X_OK) != 0) why = strerror(errno);
    if (why) {
        weir_err_set(err, "table '%s': cannot write to directory '%s': %s", t->name, s->cfg.dir, why);
        free(s->cfg.dir);
        free(s);
        return WEIR_ERROR;
    }
    new_uuid(s->uuid, sizeof s->uuid);
    s->cols = physical_cols(t, &s->ncols);
    *sink = s;
    return WEIR_OK;
}

static int fs_close(void *sink, weir_err *err) {
    (void)err;
    fs_sink *s = sink;
    if (!s) return WEIR_OK;
    free(s->cfg.dir);
    free(s->cols);
    free(s);
    return WEIR_OK;
}

static int fs_open_writer(void *sink, int worker, void **writer, weir_err *err) {
    fs_sink *s = sink;
    fs_writer *w = calloc(1, sizeof *w);
    if (!w) abort();
    w->sink = s;
    w->worker = worker;
    w->fd = -1;
    weir_buf_init(&w->buf);
    if (open_format(s->table, s->cfg.format, s->cols, s->ncols, &w->format, err) != WEIR_OK) {
        free(w);
        return WEIR_ERROR;
    }
    w->dirfd = open(s->cfg.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (w->dirfd < 0) {
        weir_err_set(err, "table '%s': cannot open directory '%s': %s", s->table->name, s->cfg.dir, strerror(errno));
        weir_format_free(w->format);
        free(w);
        return WEIR_ERROR;
    }
    w->last_check_ms = weir_mono_ms();
    *writer = w;
    return WEIR_OK;
}

static int io_err(fs_writer *w, const char *what, const char *name, weir_err *err) {
    return weir_err_set(err, "table '%s': %s %s/%s: %s", w->sink->table->name, what, w->sink->cfg.dir, name,
                        strerror(errno));
}

/* Starts a new in-progress file: ".part-<uuid>-<worker>-<n>.inprogress.<uuid>" (hidden,
 * as Flink names them), to become "part-<uuid>-<worker>-<n>". */
static int start_file(fs_writer *w, weir_err *err) {
    fs_sink *s = w->sink;
    char u[40];
    new_uuid(u, sizeof u);
    char name[256];
    snprintf(name, sizeof name, "part-%s-%d-%d", s->uuid, w->worker, w->part);
    w->final = strdup(name);
    snprintf(name, sizeof name, ".part-%s-%d-%d.inprogress.%s", s->uuid, w->worker, w->part, u);
    w->hidden = strdup(name);
    if (!w->final || !w->hidden) abort();
    w->part++;
    w->fd = openat(w->dirfd, w->hidden, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (w->fd < 0) return io_err(w, "cannot create", w->hidden, err);
    w->size = 0;
    w->synced = 0;
    w->created_ms = weir_mono_ms();
    return WEIR_OK;
}

/* Writes the buffered rows to the in-progress file. */
static int drain(fs_writer *w, weir_err *err) {
    size_t off = 0;
    while (off < w->buf.len) {
        ssize_t n = write(w->fd, w->buf.data + off, w->buf.len - off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return io_err(w, "cannot write", w->hidden, err);
        off += (size_t)n;
    }
    w->buf.len = 0;
    return WEIR_OK;
}

/* Rolls the in-progress file: complete and durable, it waits under its hidden name for
 * the next flush to give it its final name. */
static int roll(fs_writer *w, weir_err *err) {
    if (w->fd < 0) return WEIR_OK;
    if (drain(w, err) != WEIR_OK) return WEIR_ERROR;
    if (fsync(w->fd) != 0) return io_err(w, "cannot fsync", w->hidden, err);
    close(w->fd);
    w->fd = -1;
    if (w->npending == w->cappending) {
        w->cappending = w->cappending ? w->cappending * 2 : 4;
        w->pending = realloc(w->pending, sizeof *w->pending * (size_t)w->cappending);
        if (!w->pending) abort();
    }
    w->pending[w->npending++] = (fs_pending){w->hidden, w->final};
    w->hidden = w->final = NULL;
    return WEIR_OK;
}

/* Gives every rolled file its final name, then makes the renames durable. */
static int commit_pending(fs_writer *w, weir_err *err) {
    if (!w->npending) return WEIR_OK;
    for (int i = 0; i < w->npending; i++) {
        fs_pending *p = &w->pending[i];
        if (!p->hidden) continue;
        if (renameat(w->dirfd, p->hidden, w->dirfd, p->final) != 0) return io_err(w, "cannot rename", p->hidden, err);
        free(p->hidden);
        free(p->final);
        p->hidden = p->final = NULL;
    }
    w->npending = 0;
    if (fsync(w->dirfd) != 0) return io_err(w, "cannot fsync", ".", err);
    return WEIR_OK;
}

/* Flink's processing-time rolling, checked every check-interval: a file open longer than
 * rollover-interval, or not written to for inactivity-interval, rolls. */
static int check_time(fs_writer *w, int64_t now, weir_err *err) {
    const fs_config *c = &w->sink->cfg;
    if (now - w->last_check_ms < c->check_ms) return WEIR_OK;
    w->last_check_ms = now;
    if (w->fd >= 0 && (now - w->created_ms >= c->rollover_ms || now - w->last_write_ms >= c->inactivity_ms))
        return roll(w, err);
    return WEIR_OK;
}

static const char *kind_name(uint8_t k) {
    return k == WEIR_SQL_ROW_UPDATE_BEFORE ? "-U" : k == WEIR_SQL_ROW_UPDATE_AFTER ? "+U" : "-D";
}

static int fs_write(void *writer, const weir_sql_batch *b, weir_err *err) {
    fs_writer *w = writer;
    const fs_config *c = &w->sink->cfg;
    for (int r = 0; r < b->nrows; r++) {
        if (b->row_kinds[r] != WEIR_SQL_ROW_INSERT)
            return weir_err_set(err, "table '%s': the filesystem sink takes only inserts (+I), got a %s row",
                                w->sink->table->name, kind_name(b->row_kinds[r]));
        /* Flink's rolling on size: checked before each row, so a file ends just past the size */
        if (w->fd >= 0 && w->size > (uint64_t)c->file_size && roll(w, err) != WEIR_OK) return WEIR_ERROR;
        if (w->fd < 0 && start_file(w, err) != WEIR_OK) return WEIR_ERROR;
        size_t before = w->buf.len;
        if (weir_format_encode(w->format, b, r, &w->buf, err) != WEIR_OK)
            return weir_err_wrap(err, "table '%s': writing %s", w->sink->table->name, w->final);
        if (w->buf.len == before || w->buf.data[w->buf.len - 1] != '\n') weir_buf_append(&w->buf, "\n", 1);
        w->size += w->buf.len - before;
        if (w->buf.len >= WRITE_CHUNK && drain(w, err) != WEIR_OK) return WEIR_ERROR;
    }
    if (b->nrows) w->dirty = true;
    int64_t now = weir_mono_ms();
    if (b->nrows) w->last_write_ms = now;
    return check_time(w, now, err);
}

/* A checkpoint: everything written so far is fsynced (in the in-progress file, or in
 * files rolled since the last checkpoint, which now get their final names). The
 * in-progress file itself is not finished here, as in Flink for row formats: finishing it
 * at every checkpoint (every second by default) would make a small file per second and
 * worker; it is finished when it rolls (size, rollover-interval, inactivity-interval) or
 * at close. */
static int fs_flush(void *writer, weir_err *err) {
    fs_writer *w = writer;
    if (w->fd >= 0) {
        if (drain(w, err) != WEIR_OK) return WEIR_ERROR;
        if (w->synced != w->size && fsync(w->fd) != 0) return io_err(w, "cannot fsync", w->hidden, err);
        w->synced = w->size;
    }
    if (check_time(w, weir_mono_ms(), err) != WEIR_OK) return WEIR_ERROR;
    if (commit_pending(w, err) != WEIR_OK) return WEIR_ERROR;
    w->dirty = false;
    return WEIR_OK;
}

/* The end of the writer. After a last flush (the normal end) the in-progress file is
 * finished. Without one (the worker failed), rows written since the last flush were not
 * checkpointed (their sources did not commit them and will give them again): files rolled
 * since are deleted and the in-progress file is cut back to what the last flush made
 * durable, then finished if anything is left. */
static void fs_close_writer(void *writer) {
    fs_writer *w = writer;
    if (!w) return;
    weir_err err;
    int rc = WEIR_OK;
    if (w->dirty) {
        for (int i = 0; i < w->npending; i++) {
            unlinkat(w->dirfd, w->pending[i].hidden, 0);
            free(w->pending[i].hidden);
            free(w->pending[i].final);
        }
        w->npending = 0;
        w->buf.len = 0;
        if (w->fd >= 0) {
            if (w->synced == 0) {
                close(w->fd);
                w->fd = -1;
                unlinkat(w->dirfd, w->hidden, 0);
            } else if (ftruncate(w->fd, (off_t)w->synced) != 0) {
                rc = io_err(w, "cannot truncate", w->hidden, &err);
            } else {
                w->size = w->synced;
            }
        }
    }
    if (rc == WEIR_OK) rc = roll(w, &err);
    if (rc == WEIR_OK) rc = commit_pending(w, &err);
    if (rc != WEIR_OK) weir_error("connect", "%s", err.msg);
    if (w->fd >= 0) close(w->fd);
    for (int i = 0; i < w->npending; i++) {
        free(w->pending[i].hidden);
        free(w->pending[i].final);
    }
    free(w->pending);
    free(w->hidden);
    free(w->final);
    close(w->dirfd);
    weir_format_free(w->format);
    weir_buf_free(&w->buf);
    free(w);
}

static const weir_sql_sink_ops fs_sink_ops = {
    .open = fs_open,
    .open_writer = fs_open_writer,
    .write = fs_write,
    .flush = fs_flush,
    .close_writer = fs_close_writer,
    .close = fs_close,
};

/* Files are append-only: the sink takes inserts only. */
static weir_sql_changes fs_changelog(const weir_sql_table *t, bool as_source) {
    (void)t;
    (void)as_source;
    return WEIR_SQL_CHANGES_INSERT_ONLY;
}

const weir_sql_connector weir_connect_filesystem = {
    .name = "filesystem",
    .source = NULL,
    .sink = &fs_sink_ops,
    .validate = fs_validate,
    .describe = fs_describe,
    .changelog = fs_changelog,
};
