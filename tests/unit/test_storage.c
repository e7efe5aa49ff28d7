/* test_storage.c — the object store (fs backend, fault injection) and the SQLite
 * metadata store: topics, configs, the range index, high watermarks, and what survives
 * a reopen, including a crash between an object put and its metadata commit. */
#include "test.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "meta/meta.h"
#include "objstore/objstore.h"

/* ---- helpers ---------------------------------------------------------------------- */

static char *tmpdir_make(void) {
    char *dir = strdup("/tmp/weir-test-storage-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        abort();
    }
    return dir;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void tmpdir_remove(char *dir) {
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

typedef struct listed {
    int n;
    char keys[32][128];
    uint64_t sizes[32];
    int stop_after; /* 0: never stop */
} listed;

static int list_collect(void *ctx, const char *key, uint64_t size) {
    listed *l = ctx;
    if (l->n < 32) {
        snprintf(l->keys[l->n], sizeof l->keys[0], "%s", key);
        l->sizes[l->n] = size;
    }
    l->n++;
    if (l->stop_after && l->n >= l->stop_after) {
        return WEIR_EAGAIN;
    }
    return WEIR_OK;
}

static bool listed_has(const listed *l, const char *key, uint64_t size) {
    for (int i = 0; i < l->n && i < 32; i++) {
        if (strcmp(l->keys[i], key) == 0 && l->sizes[i] == size) {
            return true;
        }
    }
    return false;
}

/* ---- object store ----------------------------------------------------------------- */

TEST(objstore_put_get_list_delete) {
    char *root = tmpdir_make();
    char sub[512];
    snprintf(sub, sizeof sub, "%s/store/nested", root); /* the root is created too */
    weir_objstore *s = NULL;
    weir_err err = {{0}};
    CHECK_EQ_INT(weir_objstore_open_fs(sub, &s, &err), WEIR_OK);
    if (!s) {
        tmpdir_remove(root);
        return;
    }

    CHECK_EQ_INT(weir_objstore_put(s, "wal/0/00000000000000000001", "hello world", 11, &err), WEIR_OK);
    struct iovec iov[3] = {{"abc", 3}, {"", 0}, {"defgh", 5}};
    CHECK_EQ_INT(weir_objstore_putv(s, "wal/0/00000000000000000002", iov, 3, &err), WEIR_OK);
    CHECK_EQ_INT(weir_objstore_put(s, "wal/1/00000000000000000003", "x", 1, &err), WEIR_OK);
    CHECK_EQ_INT(weir_objstore_put(s, "stream/a", "", 0, &err), WEIR_OK);

    char buf[32] = {0};
    CHECK_EQ_INT(weir_objstore_get_range(s, "wal/0/00000000000000000001", 6, 5, buf, &err), WEIR_OK);
    CHECK_MEM(buf, "world", 5);
    CHECK_EQ_INT(weir_objstore_get_range(s, "wal/0/00000000000000000002", 0, 8, buf, &err), WEIR_OK);
    CHECK_MEM(buf, "abcdefgh", 8);
    CHECK_EQ_INT(weir_objstore_get_range(s, "stream/a", 0, 0, buf, &err), WEIR_OK);

    uint64_t size = 0;
    CHECK_EQ_INT(weir_objstore_size(s, "wal/0/00000000000000000002", &size, &err), WEIR_OK);
    CHECK_EQ_INT(size, 8);

    /* A put over an existing key replaces it whole. */
    CHECK_EQ_INT(weir_objstore_put(s, "wal/1/00000000000000000003", "replaced", 8, &err), WEIR_OK);
    CHECK_EQ_INT(weir_objstore_size(s, "wal/1/00000000000000000003", &size, &err), WEIR_OK);
    CHECK_EQ_INT(size, 8);

    listed l;
    memset(&l, 0, sizeof l);
    CHECK_EQ_INT(weir_objstore_list(s, "wal/", list_collect, &l, &err), WEIR_OK);
    CHECK_EQ_INT(l.n, 3);
    CHECK(listed_has(&l, "wal/0/00000000000000000001", 11));
    CHECK(listed_has(&l, "wal/0/00000000000000000002", 8));
    CHECK(listed_has(&l, "wal/1/00000000000000000003", 8));

    memset(&l, 0, sizeof l);
    CHECK_EQ_INT(weir_objstore_list(s, "wal/0/0000000000000000000", list_collect, &l, &err), WEIR_OK);
    CHECK_EQ_INT(l.n, 2);
    memset(&l, 0, sizeof l);
    CHECK_EQ_INT(weir_objstore_list(s, "", list_collect, &l, &err), WEIR_OK);
    CHECK_EQ_INT(l.n, 4);
    CHECK(listed_has(&l, "stream/a", 0));
    memset(&l, 0, sizeof l);
    CHECK_EQ_INT(weir_objstore_list(s, "nothing/here/", list_collect, &l, &err), WEIR_OK);
    CHECK_EQ_INT(l.n, 0);

    /* A callback's non-OK return stops the listing and comes back. */
    memset(&l, 0, sizeof l);
    l.stop_after = 1;
    CHECK_EQ_INT(weir_objstore_list(s, "", list_collect, &l, &err), WEIR_EAGAIN);
    CHECK_EQ_INT(l.n, 1);

    CHECK_EQ_INT(weir_objstore_delete(s, "wal/0/00000000000000000001", &err), WEIR_OK);
    CHECK_EQ_INT(weir_objstore_delete(s, "wal/0/00000000000000000001", &err), WEIR_OK); /* missing: fine */
    CHECK_EQ_INT(weir_objstore_size(s, "wal/0/00000000000000000001", &size, &err), WEIR_ENOTFOUND);
    memset(&l, 0, sizeof l);
    CHECK_EQ_INT(weir_objstore_list(s, "wal/", list_collect, &l, &err), WEIR_OK);
    CHECK_EQ_INT(l.n, 2);

    weir_objstore_close(s);

    /* Objects survive a reopen. */
    CHECK_EQ_INT(weir_objstore_open_fs(sub, &s, &err), WEIR_OK);
    CHECK_EQ_INT(weir_objstore_get_range(s, "wal/0/00000000000000000002", 3, 5, buf, &err), WEIR_OK);
    CHECK_MEM(buf, "defgh", 5);
    weir_objstore_close(s);
    tmpdir_remove(root);
}

TEST(objstore_missing_and_short) {
    char *root = tmpdir_make();
    weir_objstore *s = NULL;
    weir_err err = {{0}};
    CHECK_EQ_INT(weir_objstore_open_fs(root, &s, &err), WEIR_OK);
    char buf[16];
    uint64_t size;

    CHECK_EQ_INT(weir_objstore_get_range(s, "wal/0/7", 0, 1, buf, &err), WEIR_ENOTFOUND);
    CHECK(strstr(err.msg, "wal/0/7") != NULL);
    CHECK_EQ_INT(weir_objstore_size(s, "wal/0/7", &size, &err), WEIR_ENOTFOUND);

    CHECK_EQ_INT(weir_objstore_put(s, "wal/0/8", "0123456789", 10, &err), WEIR_OK);
    /* A directory is not an object. */
    CHECK_EQ_INT(weir_objstore_get_range(s, "wal/0", 0, 1, buf, &err), WEIR_ENOTFOUND);
    /* A file in the middle of a key's path: not found either. */
    CHECK_EQ_INT(weir_objstore_get_range(s, "wal/0/8/x", 0, 1, buf, &err), WEIR_ENOTFOUND);

    /* Reading past the end names the key, the offset and the size. */
    memset(&err, 0, sizeof err);
    CHECK_EQ_INT(weir_objstore_get_range(s, "wal/0/8", 6, 8, buf, &err), WEIR_ERROR);
    CHECK(strstr(err.msg, "wal/0/8") != NULL);
    CHECK(strstr(err.msg, "offset 6") != NULL);
    CHECK(strstr(err.msg, "10 bytes") != NULL);
    CHECK_EQ_INT(weir_objstore_get_range(s, "wal/0/8", 10, 1, buf, &err), WEIR_ERROR);
    CHECK_EQ_INT(weir_objstore_get_range(s, "wal/0/8", 10, 0, buf, &err), WEIR_OK);
    weir_objstore_close(s);
    tmpdir_remove(root);
}

TEST(objstore_bad_keys) {
    char *root = tmpdir_make();
    weir_objstore *s = NULL;
    weir_err err = {{0}};
    CHECK_EQ_INT(weir_objstore_open_fs(root, &s, &err), WEIR_OK);
    const char *bad[] = {"", "/etc/passwd", "../escape", "wal/../../x", "wal//1", "wal/1/", "./x",
                         "wal/.", ".tmp-1", "wal/.hidden", "a\\b", "a\nb"};
    char buf[4];
    uint64_t size;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&err, 0, sizeof err);
        int rc = weir_objstore_put(s, bad[i], "x", 1, &err);
        if (rc != WEIR_ERROR) {
            fprintf(stderr, "  bad key '%s' was accepted\n", bad[i]);
        }
        CHECK_EQ_INT(rc, WEIR_ERROR);
        CHECK(strstr(err.msg, "object key") != NULL);
        CHECK_EQ_INT(weir_objstore_get_range(s, bad[i], 0, 1, buf, &err), WEIR_ERROR);
        CHECK_EQ_INT(weir_objstore_size(s, bad[i], &size, &err), WEIR_ERROR);
        CHECK_EQ_INT(weir_objstore_delete(s, bad[i], &err), WEIR_ERROR);
    }
    memset(&err, 0, sizeof err);
    weir_objstore_put(s, "../escape", "x", 1, &err);
    CHECK(strstr(err.msg, "'..'") != NULL);
    weir_objstore_put(s, "/abs", "x", 1, &err);
    CHECK(strstr(err.msg, "absolute") != NULL);
    weir_objstore_put(s, "a//b", "x", 1, &err);
    CHECK(strstr(err.msg, "empty path segment") != NULL);

    listed l;
    memset(&l, 0, sizeof l);
    CHECK_EQ_INT(weir_objstore_list(s, "../", list_collect, &l, &err), WEIR_ERROR);
    CHECK_EQ_INT(weir_objstore_list(s, "/", list_collect, &l, &err), WEIR_ERROR);
    /* Nothing escaped the root. */
    char path[512];
    snprintf(path, sizeof path, "%s/../escape", root);
    CHECK(access(path, F_OK) != 0);
    weir_objstore_close(s);
    tmpdir_remove(root);
}

TEST(objstore_faults_and_temp_files) {
    char *root = tmpdir_make();
    weir_objstore *s = NULL;
    weir_err err = {{0}};
    CHECK_EQ_INT(weir_objstore_open_fs(root, &s, &err), WEIR_OK);
    char buf[8];

    weir_objstore_inject_fault(s, "put", 2);
    CHECK_EQ_INT(weir_objstore_put(s, "wal/0/1", "abc", 3, &err), WEIR_ERROR);
    CHECK(strstr(err.msg, "injected fault") != NULL);
    CHECK(strstr(err.msg, "wal/0/1") != NULL);
    CHECK_EQ_INT(weir_objstore_put(s, "wal/0/1", "abc", 3, &err), WEIR_ERROR);
    uint64_t size;
    CHECK_EQ_INT(weir_objstore_size(s, "wal/0/1", &size, &err), WEIR_ENOTFOUND); /* failed put: nothing */
    CHECK_EQ_INT(weir_objstore_put(s, "wal/0/1", "abc", 3, &err), WEIR_OK);

    weir_objstore_inject_fault(s, "get", 1);
    memset(&err, 0, sizeof err);
    CHECK_EQ_INT(weir_objstore_get_range(s, "wal/0/1", 0, 3, buf, &err), WEIR_ERROR);
    CHECK(strstr(err.msg, "injected fault") != NULL);
    CHECK_EQ_INT(weir_objstore_get_range(s, "wal/0/1", 0, 3, buf, &err), WEIR_OK);
    CHECK_MEM(buf, "abc", 3);

    weir_objstore_inject_fault(s, "delete", 1);
    memset(&err, 0, sizeof err);
    CHECK_EQ_INT(weir_objstore_delete(s, "wal/0/1", &err), WEIR_ERROR);
    CHECK(strstr(err.msg, "injected fault") != NULL);
    CHECK_EQ_INT(weir_objstore_size(s, "wal/0/1", &size, &err), WEIR_OK); /* still there */

    /* A temporary file left by a crashed put is never listed. */
    char path[512];
    snprintf(path, sizeof path, "%s/wal/0/.tmp-999-1", root);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    CHECK(fd >= 0);
    if (fd >= 0) {
        CHECK_EQ_INT(write(fd, "torn", 4), 4);
        close(fd);
    }
    listed l;
    memset(&l, 0, sizeof l);
    CHECK_EQ_INT(weir_objstore_list(s, "", list_collect, &l, &err), WEIR_OK);
    CHECK_EQ_INT(l.n, 1);
    CHECK(listed_has(&l, "wal/0/1", 3));

    /* Successful puts leave no temporary file behind. */
    CHECK_EQ_INT(weir_objstore_put(s, "wal/0/2", "abcd", 4, &err), WEIR_OK);
    unlink(path);
    int tmp_files = 0;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/wal/0", root);
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (strncmp(de->d_name, ".tmp-", 5) == 0) {
            tmp_files++;
        }
    }
    if (d) {
        closedir(d);
    }
    CHECK_EQ_INT(tmp_files, 0);
    weir_objstore_close(s);
    tmpdir_remove(root);
}

typedef struct put_thread_arg {
    weir_objstore *s;
    int thread;
    int failures;
} put_thread_arg;

static void *put_thread(void *p) {
    put_thread_arg *a = p;
    weir_err err;
    for (int i = 0; i < 50; i++) {
        char key[64], data[64], back[64];
        snprintf(key, sizeof key, "wal/%d/%d/obj-%03d", i % 3, a->thread, i);
        int n = snprintf(data, sizeof data, "thread %d object %d", a->thread, i);
        if (weir_objstore_put(a->s, key, data, (size_t)n, &err) != WEIR_OK ||
            weir_objstore_get_range(a->s, key, 0, (size_t)n, back, &err) != WEIR_OK || memcmp(data, back, (size_t)n)) {
            fprintf(stderr, "  thread %d: %s\n", a->thread, err.msg);
            a->failures++;
        }
    }
    return NULL;
}

TEST(objstore_threads) {
    char *root = tmpdir_make();
    weir_objstore *s = NULL;
    weir_err err = {{0}};
    CHECK_EQ_INT(weir_objstore_open_fs(root, &s, &err), WEIR_OK);
    pthread_t th[6];
    put_thread_arg args[6];
    for (int i = 0; i < 6; i++) {
        args[i] = (put_thread_arg){.s = s, .thread = i, .failures = 0};
        pthread_create(&th[i], NULL, put_thread, &args[i]);
    }
    for (int i = 0; i < 6; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ_INT(args[i].failures, 0);
    }
    listed l;
    memset(&l, 0, sizeof l);
    CHECK_EQ_INT(weir_objstore_list(s, "wal/", list_collect, &l, &err), WEIR_OK);
    CHECK_EQ_INT(l.n, 300);
    weir_objstore_close(s);
    tmpdir_remove(root);
}

/* ---- metadata --------------------------------------------------------------------- */

/* Everything weir_meta_load reported, in order. */
typedef struct loaded {
    char order[256]; /* one letter per callback: t, p, o, r */
    int ntopics;
    char topic_names[8][64];
    int32_t topic_partitions[8];
    int topic_nconfigs[8];
    char topic_configs[8][256]; /* "name=value;..." */
    int nparts;
    uint8_t part_topic[32][16];
    int32_t part_index[32];
    int64_t part_hw[32];
    int nobjects;
    int64_t object_ids[16];
    char object_keys[16][64];
    int nranges;
    weir_meta_range ranges[32];
    int64_t range_objects[32];
} loaded;

static void loaded_mark(loaded *l, char c) {
    size_t n = strlen(l->order);
    if (n + 1 < sizeof l->order) {
        l->order[n] = c;
    }
}

static int load_topic(void *ctx, const weir_meta_topic *t) {
    loaded *l = ctx;
    loaded_mark(l, 't');
    if (l->ntopics < 8) {
        int i = l->ntopics;
        snprintf(l->topic_names[i], sizeof l->topic_names[i], "%s", t->name);
        l->topic_partitions[i] = t->partitions;
        l->topic_nconfigs[i] = t->nconfigs;
        size_t o = 0;
        for (int c = 0; c < t->nconfigs && o < sizeof l->topic_configs[i]; c++) {
            o += (size_t)snprintf(l->topic_configs[i] + o, sizeof l->topic_configs[i] - o, "%s=%s;",
                                  t->configs[c].name, t->configs[c].value);
        }
    }
    l->ntopics++;
    return WEIR_OK;
}

static int load_partition(void *ctx, const uint8_t id[16], int32_t partition, int64_t log_start, int64_t hw) {
    loaded *l = ctx;
    (void)log_start;
    loaded_mark(l, 'p');
    if (l->nparts < 32) {
        memcpy(l->part_topic[l->nparts], id, 16);
        l->part_index[l->nparts] = partition;
        l->part_hw[l->nparts] = hw;
    }
    l->nparts++;
    return WEIR_OK;
}

static int load_object(void *ctx, int64_t id, const char *key, int64_t size) {
    loaded *l = ctx;
    (void)size;
    loaded_mark(l, 'o');
    if (l->nobjects < 16) {
        l->object_ids[l->nobjects] = id;
        snprintf(l->object_keys[l->nobjects], sizeof l->object_keys[0], "%s", key);
    }
    l->nobjects++;
    return WEIR_OK;
}

static int load_range(void *ctx, int64_t object_id, const weir_meta_range *r) {
    loaded *l = ctx;
    loaded_mark(l, 'r');
    if (l->nranges < 32) {
        l->ranges[l->nranges] = *r;
        l->range_objects[l->nranges] = object_id;
    }
    l->nranges++;
    return WEIR_OK;
}

static int load_all(weir_meta *m, loaded *l) {
    memset(l, 0, sizeof *l);
    weir_meta_loader loader = {.ctx = l, .topic = load_topic, .partition = load_partition,
                               .object = load_object, .range = load_range};
    weir_err err = {{0}};
    int rc = weir_meta_load(m, &loader, &err);
    if (rc != WEIR_OK) {
        fprintf(stderr, "  load: %s\n", err.msg);
    }
    return rc;
}

/* High watermark of one partition as load reports it, or -1. */
static int64_t loaded_hw(const loaded *l, const uint8_t id[16], int32_t partition) {
    for (int i = 0; i < l->nparts && i < 32; i++) {
        if (memcmp(l->part_topic[i], id, 16) == 0 && l->part_index[i] == partition) {
            return l->part_hw[i];
        }
    }
    return -1;
}

static void topic_id(uint8_t id[16], uint8_t seed) {
    for (int i = 0; i < 16; i++) {
        id[i] = (uint8_t)(seed * 16 + i);
    }
}

static weir_meta_range range_of(const uint8_t id[16], int32_t p, int64_t base, int64_t end, int64_t pos, int64_t len) {
    weir_meta_range r;
    memset(&r, 0, sizeof r);
    memcpy(r.topic_id, id, 16);
    r.partition = p;
    r.base_offset = base;
    r.end_offset = end;
    r.position = pos;
    r.length = len;
    r.max_timestamp = 1700000000000 + end;
    return r;
}

static weir_meta *meta_open_in(const char *dir) {
    char path[512];
    snprintf(path, sizeof path, "%s/meta.db", dir);
    weir_meta *m = NULL;
    weir_err err = {{0}};
    if (weir_meta_open_sqlite(path, &m, &err) != WEIR_OK) {
        fprintf(stderr, "  open %s: %s\n", path, err.msg);
        return NULL;
    }
    return m;
}

TEST(meta_topics_ranges_and_reopen) {
    char *dir = tmpdir_make();
    weir_meta *m = meta_open_in(dir);
    CHECK(m != NULL);
    if (!m) {
        tmpdir_remove(dir);
        return;
    }
    weir_err err = {{0}};
    uint8_t orders[16], clicks[16], gone[16];
    topic_id(orders, 2);
    topic_id(clicks, 1);
    topic_id(gone, 3);

    weir_meta_config cfg[] = {{"retention.ms", "604800000"}, {"cleanup.policy", "delete"}};
    weir_meta_topic t = {.name = "orders", .partitions = 2, .created_ms = 1000, .configs = cfg, .nconfigs = 2};
    memcpy(t.id, orders, 16);
    CHECK_EQ_INT(weir_meta_topic_create(m, &t, &err), WEIR_OK);

    /* Same name, other id: refused with the documented message. */
    memcpy(t.id, gone, 16);
    memset(&err, 0, sizeof err);
    CHECK_EQ_INT(weir_meta_topic_create(m, &t, &err), WEIR_ERROR);
    CHECK(strstr(err.msg, "topic 'orders' already exists") != NULL);

    weir_meta_topic t2 = {.name = "clicks", .partitions = 1, .created_ms = 2000};
    memcpy(t2.id, clicks, 16);
    CHECK_EQ_INT(weir_meta_topic_create(m, &t2, &err), WEIR_OK);
    weir_meta_topic t3 = {.name = "gone", .partitions = 1, .created_ms = 3000};
    memcpy(t3.id, gone, 16);
    CHECK_EQ_INT(weir_meta_topic_create(m, &t3, &err), WEIR_OK);

    int64_t max_id = -1;
    CHECK_EQ_INT(weir_meta_max_object_id(m, &max_id, &err), WEIR_OK);
    CHECK_EQ_INT(max_id, 0);

    /* Object 1: several partitions of several topics in one group commit. */
    weir_meta_range r1[] = {
        range_of(orders, 0, 0, 10, 0, 100),
        range_of(orders, 1, 0, 5, 100, 50),
        range_of(clicks, 0, 0, 3, 150, 30),
        range_of(gone, 0, 0, 7, 180, 20),
    };
    CHECK_EQ_INT(weir_meta_commit_object(m, 1, "wal/0/00000000000000000001", 200, r1, 4, &err), WEIR_OK);
    /* Object 2 continues orders/0 and clicks/0. */
    weir_meta_range r2[] = {
        range_of(orders, 0, 10, 12, 0, 40),
        range_of(clicks, 0, 3, 4, 40, 10),
    };
    CHECK_EQ_INT(weir_meta_commit_object(m, 2, "wal/0/00000000000000000002", 50, r2, 2, &err), WEIR_OK);

    /* A range that does not start at the high watermark is refused, and nothing of its
     * object is recorded. */
    weir_meta_range gap[] = {range_of(clicks, 0, 4, 5, 0, 1), range_of(orders, 0, 20, 25, 1, 1)};
    memset(&err, 0, sizeof err);
    CHECK_EQ_INT(weir_meta_commit_object(m, 3, "wal/0/00000000000000000003", 2, gap, 2, &err), WEIR_ERROR);
    CHECK(strstr(err.msg, "'orders'") != NULL);
    CHECK(strstr(err.msg, "partition 0") != NULL);
    CHECK(strstr(err.msg, "high watermark 12") != NULL);
    /* A range beyond its object's size is refused before touching the database. */
    weir_meta_range past = range_of(clicks, 0, 4, 5, 10, 10);
    CHECK_EQ_INT(weir_meta_commit_object(m, 3, "wal/0/00000000000000000003", 15, &past, 1, &err), WEIR_ERROR);
    /* A partition the topic does not have is an error, not a skip. */
    weir_meta_range nopart = range_of(clicks, 5, 0, 1, 0, 1);
    memset(&err, 0, sizeof err);
    CHECK_EQ_INT(weir_meta_commit_object(m, 3, "wal/0/00000000000000000003", 1, &nopart, 1, &err), WEIR_ERROR);
    CHECK(strstr(err.msg, "no partition 5") != NULL);
    /* Object ids only increase. */
    weir_meta_range more = range_of(clicks, 0, 4, 5, 0, 1);
    memset(&err, 0, sizeof err);
    CHECK_EQ_INT(weir_meta_commit_object(m, 2, "wal/0/again", 1, &more, 1, &err), WEIR_ERROR);
    CHECK(strstr(err.msg, "object 2") != NULL);

    /* Deleting a topic removes its ranges and partitions; a commit that still carries its
     * data skips those ranges and keeps the rest. */
    CHECK_EQ_INT(weir_meta_topic_delete(m, gone, &err), WEIR_OK);
    CHECK_EQ_INT(weir_meta_topic_delete(m, gone, &err), WEIR_ENOTFOUND);
    weir_meta_range r3[] = {range_of(gone, 0, 7, 9, 0, 10), range_of(clicks, 0, 4, 6, 10, 10)};
    CHECK_EQ_INT(weir_meta_commit_object(m, 3, "wal/0/00000000000000000003", 20, r3, 2, &err), WEIR_OK);

    /* Configs: change one, remove one, add one. */
    weir_meta_config change[] = {{"retention.ms", "1000"}, {"cleanup.policy", NULL}, {"max.message.bytes", "2048"}};
    CHECK_EQ_INT(weir_meta_topic_set_configs(m, orders, change, 3, &err), WEIR_OK);
    CHECK_EQ_INT(weir_meta_topic_set_configs(m, gone, change, 1, &err), WEIR_ENOTFOUND);

    /* Partitions: grow, refuse to shrink. */
    CHECK_EQ_INT(weir_meta_topic_add_partitions(m, clicks, 3, &err), WEIR_OK);
    memset(&err, 0, sizeof err);
    CHECK_EQ_INT(weir_meta_topic_add_partitions(m, clicks, 2, &err), WEIR_ERROR);
    CHECK(strstr(err.msg, "clicks") != NULL);
    CHECK_EQ_INT(weir_meta_topic_add_partitions(m, gone, 2, &err), WEIR_ENOTFOUND);

    /* kv */
    char value[64];
    CHECK_EQ_INT(weir_meta_kv_get(m, "cluster.id", value, sizeof value, &err), WEIR_ENOTFOUND);
    CHECK_EQ_INT(weir_meta_kv_set(m, "cluster.id", "first", &err), WEIR_OK);
    CHECK_EQ_INT(weir_meta_kv_set(m, "cluster.id", "weir-cluster-1", &err), WEIR_OK);
    CHECK_EQ_INT(weir_meta_kv_get(m, "cluster.id", value, sizeof value, &err), WEIR_OK);
    CHECK_EQ_STR(value, "weir-cluster-1");
    CHECK_EQ_INT(weir_meta_kv_get(m, "cluster.id", value, 4, &err), WEIR_ERROR);

    CHECK_EQ_INT(weir_meta_max_object_id(m, &max_id, &err), WEIR_OK);
    CHECK_EQ_INT(max_id, 3);

    /* Load twice: now and after a reopen; both must see the same state. */
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            weir_meta_close(m);
            m = meta_open_in(dir);
            CHECK(m != NULL);
            if (!m) {
                break;
            }
            CHECK_EQ_INT(weir_meta_max_object_id(m, &max_id, &err), WEIR_OK);
            CHECK_EQ_INT(max_id, 3);
            CHECK_EQ_INT(weir_meta_kv_get(m, "cluster.id", value, sizeof value, &err), WEIR_OK);
            CHECK_EQ_STR(value, "weir-cluster-1");
        }
        loaded l;
        CHECK_EQ_INT(load_all(m, &l), WEIR_OK);
        /* topics, then partitions, then objects, then ranges */
        CHECK_EQ_STR(l.order, "ttpppppooorrrrrr");
        CHECK_EQ_INT(l.ntopics, 2);
        CHECK_EQ_STR(l.topic_names[0], "clicks");
        CHECK_EQ_STR(l.topic_names[1], "orders");
        CHECK_EQ_INT(l.topic_partitions[0], 3);
        CHECK_EQ_INT(l.topic_partitions[1], 2);
        CHECK_EQ_INT(l.topic_nconfigs[0], 0);
        CHECK_EQ_STR(l.topic_configs[1], "max.message.bytes=2048;retention.ms=1000;");
        CHECK_EQ_INT(l.nparts, 5);
        CHECK_EQ_INT(loaded_hw(&l, orders, 0), 12);
        CHECK_EQ_INT(loaded_hw(&l, orders, 1), 5);
        CHECK_EQ_INT(loaded_hw(&l, clicks, 0), 6);
        CHECK_EQ_INT(loaded_hw(&l, clicks, 1), 0);
        CHECK_EQ_INT(loaded_hw(&l, clicks, 2), 0);
        CHECK_EQ_INT(loaded_hw(&l, gone, 0), -1);
        CHECK_EQ_INT(l.nobjects, 3);
        CHECK_EQ_INT(l.object_ids[0], 1);
        CHECK_EQ_INT(l.object_ids[2], 3);
        CHECK_EQ_STR(l.object_keys[2], "wal/0/00000000000000000003");
        /* Ranges ordered by (topic, partition, base offset): clicks' id sorts first. */
        CHECK_EQ_INT(l.nranges, 6);
        int64_t want[6][4] = {
            /* partition, base, end, object */
            {0, 0, 3, 1}, {0, 3, 4, 2}, {0, 4, 6, 3}, /* clicks */
            {0, 0, 10, 1}, {0, 10, 12, 2}, {1, 0, 5, 1}, /* orders */
        };
        for (int i = 0; i < 6 && i < l.nranges; i++) {
            CHECK_MEM(l.ranges[i].topic_id, i < 3 ? clicks : orders, 16);
            CHECK_EQ_INT(l.ranges[i].partition, want[i][0]);
            CHECK_EQ_INT(l.ranges[i].base_offset, want[i][1]);
            CHECK_EQ_INT(l.ranges[i].end_offset, want[i][2]);
            CHECK_EQ_INT(l.range_objects[i], want[i][3]);
        }
        CHECK_EQ_INT(l.ranges[5].position, 100);
        CHECK_EQ_INT(l.ranges[5].length, 50);
        CHECK_EQ_INT(l.ranges[5].max_timestamp, 1700000000000 + 5);
    }
    weir_meta_close(m);
    tmpdir_remove(dir);
}

static int load_stop(void *ctx, const weir_meta_topic *t) {
    (void)t;
    (*(int *)ctx)++;
    return WEIR_EAGAIN;
}

TEST(meta_load_stops_on_callback) {
    char *dir = tmpdir_make();
    weir_meta *m = meta_open_in(dir);
    CHECK(m != NULL);
    if (!m) {
        tmpdir_remove(dir);
        return;
    }
    weir_err err = {{0}};
    for (uint8_t i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof name, "t%d", i);
        weir_meta_topic t = {.name = name, .partitions = 1};
        topic_id(t.id, i);
        CHECK_EQ_INT(weir_meta_topic_create(m, &t, &err), WEIR_OK);
    }
    int calls = 0;
    weir_meta_loader loader = {.ctx = &calls, .topic = load_stop};
    CHECK_EQ_INT(weir_meta_load(m, &loader, &err), WEIR_EAGAIN);
    CHECK_EQ_INT(calls, 1);
    /* The handle is still usable afterwards (no transaction left open). */
    weir_meta_topic t = {.name = "after", .partitions = 1};
    topic_id(t.id, 9);
    CHECK_EQ_INT(weir_meta_topic_create(m, &t, &err), WEIR_OK);
    weir_meta_close(m);
    tmpdir_remove(dir);
}

/* The produce path puts an object, then commits it. A crash between the two leaves an
 * object in the store that no range points at and a high watermark that did not move. */
TEST(meta_crash_between_put_and_commit) {
    char *dir = tmpdir_make();
    char root[512];
    snprintf(root, sizeof root, "%s/objects", dir);
    weir_err err = {{0}};
    weir_objstore *s = NULL;
    CHECK_EQ_INT(weir_objstore_open_fs(root, &s, &err), WEIR_OK);
    weir_meta *m = meta_open_in(dir);
    CHECK(m != NULL && s != NULL);
    if (!m || !s) {
        weir_meta_close(m);
        weir_objstore_close(s);
        tmpdir_remove(dir);
        return;
    }
    uint8_t id[16];
    topic_id(id, 4);
    weir_meta_topic t = {.name = "events", .partitions = 1};
    memcpy(t.id, id, 16);
    CHECK_EQ_INT(weir_meta_topic_create(m, &t, &err), WEIR_OK);

    /* One complete produce: put then commit. */
    CHECK_EQ_INT(weir_objstore_put(s, "wal/0/00000000000000000001", "batch-one", 9, &err), WEIR_OK);
    weir_meta_range r = range_of(id, 0, 0, 4, 0, 9);
    CHECK_EQ_INT(weir_meta_commit_object(m, 1, "wal/0/00000000000000000001", 9, &r, 1, &err), WEIR_OK);

    /* The second: the object is durable, then the broker dies before the commit. */
    CHECK_EQ_INT(weir_objstore_put(s, "wal/0/00000000000000000002", "batch-two", 9, &err), WEIR_OK);
    weir_meta_close(m);
    weir_objstore_close(s);

    CHECK_EQ_INT(weir_objstore_open_fs(root, &s, &err), WEIR_OK);
    m = meta_open_in(dir);
    CHECK(m != NULL);
    if (m) {
        loaded l;
        CHECK_EQ_INT(load_all(m, &l), WEIR_OK);
        CHECK_EQ_INT(l.nobjects, 1);
        CHECK_EQ_INT(l.nranges, 1);
        CHECK_EQ_INT(l.range_objects[0], 1);
        CHECK_EQ_INT(loaded_hw(&l, id, 0), 4);
        int64_t max_id = 0;
        CHECK_EQ_INT(weir_meta_max_object_id(m, &max_id, &err), WEIR_OK);
        CHECK_EQ_INT(max_id, 1);
        /* The orphan is still in the store, for the collector to find. */
        uint64_t size = 0;
        CHECK_EQ_INT(weir_objstore_size(s, "wal/0/00000000000000000002", &size, &err), WEIR_OK);
        CHECK_EQ_INT(size, 9);
        weir_meta_close(m);
    }
    weir_objstore_close(s);
    tmpdir_remove(dir);
}

TEST(meta_open_errors) {
    char *dir = tmpdir_make();
    char path[512];
    snprintf(path, sizeof path, "%s/no/such/dir/meta.db", dir);
    weir_meta *m = NULL;
    weir_err err = {{0}};
    CHECK_EQ_INT(weir_meta_open_sqlite(path, &m, &err), WEIR_ERROR);
    CHECK(strstr(err.msg, path) != NULL);
    /* A database from a newer weir is refused. */
    m = meta_open_in(dir);
    CHECK(m != NULL);
    weir_meta_close(m);
    snprintf(path, sizeof path, "%s/meta.db", dir);
    sqlite3 *db = NULL;
    CHECK_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
    CHECK_EQ_INT(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    m = NULL;
    memset(&err, 0, sizeof err);
    CHECK_EQ_INT(weir_meta_open_sqlite(path, &m, &err), WEIR_ERROR);
    CHECK(m == NULL);
    CHECK(strstr(err.msg, "schema version 99") != NULL);
    tmpdir_remove(dir);
}

TEST_MAIN(T(objstore_put_get_list_delete), T(objstore_missing_and_short), T(objstore_bad_keys),
          T(objstore_faults_and_temp_files), T(objstore_threads), T(meta_topics_ranges_and_reopen),
          T(meta_load_stops_on_callback), T(meta_crash_between_put_and_commit), T(meta_open_errors))
