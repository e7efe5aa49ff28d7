/* fs.c — the local-directory object store backend: an object is a file at root/<key>.
 * A put writes a ".tmp-" file next to the key, fsyncs it, renames it over the key and
 * fsyncs the directory, so a crash leaves the old object or the new one, never a torn
 * one. All paths are resolved relative to a directory fd opened once, so the backend
 * needs no lock except around directory creation. */
#include "objstore/backend.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

typedef struct weir_objstore_fs {
    int rootfd;                /* the root directory; every key is opened relative to it */
    char *root;                /* for error messages */
    atomic_uint_fast64_t tmp_seq; /* makes temporary names unique between threads */
    pthread_mutex_t mkdir_lock; /* see fs_mkdirs */
} weir_objstore_fs;

/* Fsyncs the directory at path (relative to dirfd), so entries made in it survive a crash. */
static int fs_fsync_dir(int dirfd, const char *path, const char *root, weir_err *err) {
    int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return weir_err_set(err, "object store %s: opening directory '%s' to fsync it: %s", root, path,
                            strerror(errno));
    }
    int rc = WEIR_OK;
    if (fsync(fd) != 0) {
        rc = weir_err_set(err, "object store %s: fsync of directory '%s': %s", root, path, strerror(errno));
    }
    close(fd);
    return rc;
}

/* Creates every directory of path (relative to dirfd, or absolute), mkdir -p style, and
 * fsyncs the parent of each directory it creates so the new entry is durable. */
static int fs_mkdirs_at(int dirfd, const char *path, const char *root, weir_err *err) {
    size_t n = strlen(path);
    char buf[PATH_MAX];
    if (n == 0) {
        return WEIR_OK;
    }
    if (n >= sizeof buf) {
        return weir_err_set(err, "object store %s: directory path '%s' is too long", root, path);
    }
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (i < n && buf[i] != '/') {
            continue;
        }
        if (buf[i - 1] == '/') {
            continue; /* "a//b" or a trailing slash */
        }
        char saved = buf[i];
        buf[i] = '\0';
        if (mkdirat(dirfd, buf, 0755) == 0) {
            /* Find the parent we just added an entry to and make that entry durable. */
            char *slash = strrchr(buf, '/');
            int rc;
            if (!slash) {
                rc = fs_fsync_dir(dirfd, ".", root, err);
            } else if (slash == buf) {
                rc = fs_fsync_dir(dirfd, "/", root, err);
            } else {
                *slash = '\0';
                rc = fs_fsync_dir(dirfd, buf, root, err);
                *slash = '/';
            }
            if (rc != WEIR_OK) {
                return rc;
            }
        } else if (errno != EEXIST) {
            return weir_err_set(err, "object store %s: creating directory '%s': %s", root, buf, strerror(errno));
        }
        buf[i] = saved;
    }
    struct stat st;
    if (fstatat(dirfd, path, &st, 0) != 0 || !S_ISDIR(st.st_mode)) {
        return weir_err_set(err, "object store %s: '%s' exists but is not a directory", root, path);
    }
    return WEIR_OK;
}

/* Makes sure the directory of a key exists. Creation runs under mkdir_lock, and so does
 * the check that it exists: a thread that finds a directory another thread just made
 * must not go on before that thread has made the new entry durable. */
static int fs_mkdirs(weir_objstore_fs *fs, const char *dir, weir_err *err) {
    pthread_mutex_lock(&fs->mkdir_lock);
    struct stat st;
    int rc = WEIR_OK;
    if (fstatat(fs->rootfd, dir, &st, 0) != 0 || !S_ISDIR(st.st_mode)) {
        rc = fs_mkdirs_at(fs->rootfd, dir, fs->root, err);
    }
    pthread_mutex_unlock(&fs->mkdir_lock);
    return rc;
}

/* Writes every byte of iov to fd, coping with short writes and IOV_MAX. */
static int fs_write_all(int fd, const struct iovec *iov, int iovcnt, const char *root, const char *key,
                        weir_err *err) {
    struct iovec local[64];
    int i = 0;
    size_t skip = 0; /* bytes of iov[i] already written */
    while (i < iovcnt) {
        int n = 0;
        for (int j = i; j < iovcnt && n < (int)(sizeof local / sizeof local[0]); j++) {
            local[n] = iov[j];
            if (j == i) {
                local[n].iov_base = (char *)local[n].iov_base + skip;
                local[n].iov_len -= skip;
            }
            n++;
        }
        ssize_t w = writev(fd, local, n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return weir_err_set(err, "object store %s: writing object '%s': %s", root, key, strerror(errno));
        }
        size_t left = (size_t)w;
        while (i < iovcnt && left >= iov[i].iov_len - skip) {
            left -= iov[i].iov_len - skip;
            skip = 0;
            i++;
        }
        skip += left;
    }
    return WEIR_OK;
}

static int fs_putv(void *impl, const char *key, const struct iovec *iov, int iovcnt, weir_err *err) {
    weir_objstore_fs *fs = impl;
    char dir[1024]; /* keys are at most 1000 bytes (objstore.c) */
    char tmp[PATH_MAX];
    const char *slash = strrchr(key, '/');
    size_t dirlen = slash ? (size_t)(slash - key) : 0;
    if (dirlen >= sizeof dir) {
        return weir_err_set(err, "putting object '%s': the key is too long", key);
    }
    memcpy(dir, key, dirlen);
    dir[dirlen] = '\0';
    if (dirlen > 0 && fs_mkdirs(fs, dir, err) != WEIR_OK) {
        return weir_err_wrap(err, "putting object '%s'", key);
    }
    uint64_t seq = atomic_fetch_add(&fs->tmp_seq, 1);
    snprintf(tmp, sizeof tmp, "%s%s" WEIR_OBJSTORE_TMP_PREFIX "%ld-%" PRIu64, dir, dirlen ? "/" : "",
             (long)getpid(), seq);

    int fd = openat(fs->rootfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        return weir_err_set(err, "object store %s: creating temporary file '%s' for object '%s': %s", fs->root, tmp,
                            key, strerror(errno));
    }
    int rc = fs_write_all(fd, iov, iovcnt, fs->root, key, err);
    if (rc == WEIR_OK && fsync(fd) != 0) {
        rc = weir_err_set(err, "object store %s: fsync of object '%s': %s", fs->root, key, strerror(errno));
    }
    if (close(fd) != 0 && rc == WEIR_OK) {
        rc = weir_err_set(err, "object store %s: closing object '%s': %s", fs->root, key, strerror(errno));
    }
    if (rc == WEIR_OK && renameat(fs->rootfd, tmp, fs->rootfd, key) != 0) {
        rc = weir_err_set(err, "object store %s: renaming '%s' to object '%s': %s", fs->root, tmp, key,
                          strerror(errno));
    }
    if (rc != WEIR_OK) {
        unlinkat(fs->rootfd, tmp, 0);
        return rc;
    }
    if (fs_fsync_dir(fs->rootfd, dirlen ? dir : ".", fs->root, err) != WEIR_OK) {
        return weir_err_wrap(err, "putting object '%s'", key);
    }
    return WEIR_OK;
}

/* Opens an object for reading; a missing key (or one naming a directory) is ENOTFOUND. */
static int fs_open_object(weir_objstore_fs *fs, const char *key, int *fd_out, uint64_t *size, weir_err *err) {
    int fd = openat(fs->rootfd, key, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            weir_err_set(err, "object '%s' not found in %s", key, fs->root);
            return WEIR_ENOTFOUND;
        }
        return weir_err_set(err, "object store %s: opening object '%s': %s", fs->root, key, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return weir_err_set(err, "object store %s: stat of object '%s': %s", fs->root, key, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        weir_err_set(err, "object '%s' not found in %s (it is a directory)", key, fs->root);
        return WEIR_ENOTFOUND;
    }
    *fd_out = fd;
    *size = (uint64_t)st.st_size;
    return WEIR_OK;
}

static int fs_get_range(void *impl, const char *key, uint64_t off, size_t len, void *dst, weir_err *err) {
    weir_objstore_fs *fs = impl;
    int fd = -1;
    uint64_t size = 0;
    int rc = fs_open_object(fs, key, &fd, &size, err);
    if (rc != WEIR_OK) {
        return rc;
    }
    if (off + len > size) {
        close(fd);
        return weir_err_set(err, "object '%s' is %" PRIu64 " bytes: cannot read %zu bytes at offset %" PRIu64, key,
                            size, len, off);
    }
    size_t done = 0;
    while (done < len) {
        ssize_t r = pread(fd, (char *)dst + done, len - done, (off_t)(off + done));
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            rc = weir_err_set(err, "object store %s: reading object '%s' at offset %" PRIu64 ": %s", fs->root, key,
                              off + done, strerror(errno));
            break;
        }
        if (r == 0) {
            rc = weir_err_set(err, "object '%s' ended at %" PRIu64 " bytes: cannot read %zu bytes at offset %" PRIu64,
                              key, off + done, len, off);
            break;
        }
        done += (size_t)r;
    }
    close(fd);
    return rc;
}

static int fs_size(void *impl, const char *key, uint64_t *size, weir_err *err) {
    weir_objstore_fs *fs = impl;
    struct stat st;
    if (fstatat(fs->rootfd, key, &st, 0) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            weir_err_set(err, "object '%s' not found in %s", key, fs->root);
            return WEIR_ENOTFOUND;
        }
        return weir_err_set(err, "object store %s: stat of object '%s': %s", fs->root, key, strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        weir_err_set(err, "object '%s' not found in %s (it is a directory)", key, fs->root);
        return WEIR_ENOTFOUND;
    }
    *size = (uint64_t)st.st_size;
    return WEIR_OK;
}

/* The directory is not fsynced after a delete: an object that comes back after a crash
 * is referenced by no range and the orphan collector removes it again. */
static int fs_delete(void *impl, const char *key, weir_err *err) {
    weir_objstore_fs *fs = impl;
    if (unlinkat(fs->rootfd, key, 0) != 0 && errno != ENOENT && errno != ENOTDIR && errno != EISDIR) {
        return weir_err_set(err, "object store %s: deleting object '%s': %s", fs->root, key, strerror(errno));
    }
    return WEIR_OK;
}

typedef struct fs_list_state {
    weir_objstore_fs *fs;
    const char *prefix;
    size_t prefix_len;
    weir_objstore_list_fn fn;
    void *ctx;
    weir_err *err;
    char path[PATH_MAX]; /* key of the directory being walked, with a trailing '/' */
} fs_list_state;

/* Walks the directory dfd whose key prefix is st->path[0..pathlen); takes dfd over. */
static int fs_list_dir(fs_list_state *st, int dfd, size_t pathlen) {
    DIR *d = fdopendir(dfd);
    if (!d) {
        int e = errno;
        close(dfd);
        return weir_err_set(st->err, "object store %s: listing '%.*s': %s", st->fs->root, (int)pathlen, st->path,
                            strerror(e));
    }
    int rc = WEIR_OK;
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            if (errno != 0) {
                rc = weir_err_set(st->err, "object store %s: listing '%.*s': %s", st->fs->root, (int)pathlen,
                                  st->path, strerror(errno));
            }
            break;
        }
        if (de->d_name[0] == '.') {
            continue; /* ".", ".." and temporary files */
        }
        size_t nlen = strlen(de->d_name);
        if (pathlen + nlen + 2 > sizeof st->path) {
            continue; /* cannot be a valid key */
        }
        memcpy(st->path + pathlen, de->d_name, nlen);
        size_t keylen = pathlen + nlen;
        size_t cmp = keylen < st->prefix_len ? keylen : st->prefix_len;
        if (memcmp(st->path, st->prefix, cmp) != 0) {
            continue; /* neither under the prefix nor on the way to it */
        }
        struct stat sb;
        if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT) {
                continue; /* deleted while we listed */
            }
            rc = weir_err_set(st->err, "object store %s: stat of '%.*s': %s", st->fs->root, (int)keylen, st->path,
                              strerror(errno));
            break;
        }
        if (S_ISDIR(sb.st_mode)) {
            st->path[keylen] = '/';
            size_t sub = keylen + 1;
            size_t c2 = sub < st->prefix_len ? sub : st->prefix_len;
            if (memcmp(st->path, st->prefix, c2) != 0) {
                continue;
            }
            int cfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (cfd < 0) {
                if (errno == ENOENT) {
                    continue;
                }
                rc = weir_err_set(st->err, "object store %s: opening '%.*s': %s", st->fs->root, (int)keylen,
                                  st->path, strerror(errno));
                break;
            }
            rc = fs_list_dir(st, cfd, sub);
        } else if (S_ISREG(sb.st_mode) && keylen >= st->prefix_len) {
            st->path[keylen] = '\0';
            rc = st->fn(st->ctx, st->path, (uint64_t)sb.st_size);
        }
        if (rc != WEIR_OK) {
            break;
        }
    }
    closedir(d);
    return rc;
}

static int fs_list(void *impl, const char *prefix, weir_objstore_list_fn fn, void *ctx, weir_err *err) {
    weir_objstore_fs *fs = impl;
    fs_list_state *st = calloc(1, sizeof *st);
    if (!st) {
        abort();
    }
    st->fs = fs;
    st->prefix = prefix;
    st->prefix_len = strlen(prefix);
    st->fn = fn;
    st->ctx = ctx;
    st->err = err;
    /* Start at the deepest directory the prefix names in full. */
    const char *slash = strrchr(prefix, '/');
    size_t dirlen = slash ? (size_t)(slash - prefix) : 0;
    memcpy(st->path, prefix, dirlen);
    st->path[dirlen] = '\0';
    int rc = WEIR_OK;
    int dfd = openat(fs->rootfd, dirlen ? st->path : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        if (errno != ENOENT && errno != ENOTDIR) {
            rc = weir_err_set(err, "object store %s: listing '%s': %s", fs->root, prefix, strerror(errno));
        }
    } else {
        if (dirlen) {
            st->path[dirlen++] = '/';
        }
        rc = fs_list_dir(st, dfd, dirlen);
    }
    free(st);
    return rc;
}

static void fs_close(void *impl) {
    weir_objstore_fs *fs = impl;
    close(fs->rootfd);
    pthread_mutex_destroy(&fs->mkdir_lock);
    free(fs->root);
    free(fs);
}

static const weir_objstore_ops fs_ops = {
    .name = "fs",
    .putv = fs_putv,
    .get_range = fs_get_range,
    .size = fs_size,
    .del = fs_delete,
    .list = fs_list,
    .close = fs_close,
};

int weir_objstore_open_fs(const char *root, weir_objstore **out, weir_err *err) {
    if (!root || !root[0]) {
        return weir_err_set(err, "object store root directory is empty");
    }
    if (fs_mkdirs_at(AT_FDCWD, root, root, err) != WEIR_OK) {
        return WEIR_ERROR;
    }
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return weir_err_set(err, "object store %s: opening root directory: %s", root, strerror(errno));
    }
    weir_objstore_fs *fs = calloc(1, sizeof *fs);
    if (!fs || !(fs->root = strdup(root))) {
        abort();
    }
    fs->rootfd = fd;
    atomic_init(&fs->tmp_seq, 0);
    pthread_mutex_init(&fs->mkdir_lock, NULL);
    *out = weir_objstore_new(&fs_ops, fs);
    return WEIR_OK;
}
