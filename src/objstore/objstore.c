/* objstore.c — the backend-independent half of the object store: key validation, fault
 * injection for tests, and dispatch through the backend vtable (backend.h). Backends
 * therefore never see a bad key and never need their own fault hooks. */
#include "objstore/backend.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest key accepted: well under PATH_MAX once joined to a root, and under S3's 1024. */
#define WEIR_OBJSTORE_KEY_MAX 1000

struct weir_objstore {
    const weir_objstore_ops *ops;
    void *impl;
    pthread_mutex_t fault_lock; /* guards the fault counters below */
    int fault_put;
    int fault_get;
    int fault_delete;
};

weir_objstore *weir_objstore_new(const weir_objstore_ops *ops, void *impl) {
    weir_objstore *s = calloc(1, sizeof *s);
    if (!s) {
        abort();
    }
    s->ops = ops;
    s->impl = impl;
    pthread_mutex_init(&s->fault_lock, NULL);
    return s;
}

void weir_objstore_close(weir_objstore *s) {
    if (!s) {
        return;
    }
    s->ops->close(s->impl);
    pthread_mutex_destroy(&s->fault_lock);
    free(s);
}

/* Checks a key or (when is_prefix) a listing prefix. Keys are relative, '/'-separated
 * paths whose segments are non-empty, not "." or "..", and do not start with '.' (names
 * starting with '.' are reserved for temporary files). A prefix may be empty and its
 * last segment may be empty or partial. */
static int objstore_key_check(const char *key, bool is_prefix, weir_err *err) {
    const char *what = is_prefix ? "object key prefix" : "object key";
    if (!key) {
        return weir_err_set(err, "%s is missing", what);
    }
    size_t n = strlen(key);
    if (n == 0 && !is_prefix) {
        return weir_err_set(err, "object key is empty");
    }
    if (n > WEIR_OBJSTORE_KEY_MAX) {
        return weir_err_set(err, "%s '%.40s...' is %zu bytes long; the limit is %d", what, key, n,
                            WEIR_OBJSTORE_KEY_MAX);
    }
    if (key[0] == '/') {
        return weir_err_set(err, "%s '%s' is absolute; keys are relative paths", what, key);
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)key[i];
        if (c < 0x20 || c == 0x7f || c == '\\') {
            return weir_err_set(err, "%s '%s' has a forbidden character (0x%02x) at byte %zu", what, key, c, i);
        }
    }
    const char *seg = key;
    while (*seg) {
        const char *slash = strchr(seg, '/');
        size_t len = slash ? (size_t)(slash - seg) : strlen(seg);
        bool last = !slash;
        if (len == 0 && !(is_prefix && last)) {
            return weir_err_set(err, "%s '%s' has an empty path segment", what, key);
        }
        if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.')) {
            return weir_err_set(err, "%s '%s' has a '%.*s' path segment", what, key, (int)len, seg);
        }
        if (len > 0 && seg[0] == '.') {
            return weir_err_set(err, "%s '%s' has a segment starting with '.' (reserved for temporary files)",
                                what, key);
        }
        if (last) {
            break;
        }
        seg = slash + 1;
        if (*seg == '\0' && !is_prefix) {
            return weir_err_set(err, "%s '%s' ends with '/'", what, key);
        }
    }
    return WEIR_OK;
}

/* Consumes one injected fault of a kind, if any is pending. */
static bool objstore_fault_take(weir_objstore *s, int *counter) {
    bool hit = false;
    pthread_mutex_lock(&s->fault_lock);
    if (*counter > 0) {
        (*counter)--;
        hit = true;
    }
    pthread_mutex_unlock(&s->fault_lock);
    return hit;
}

void weir_objstore_inject_fault(weir_objstore *s, const char *kind, int count) {
    int *counter = NULL;
    if (strcmp(kind, "put") == 0) {
        counter = &s->fault_put;
    } else if (strcmp(kind, "get") == 0) {
        counter = &s->fault_get;
    } else if (strcmp(kind, "delete") == 0) {
        counter = &s->fault_delete;
    } else {
        /* A typo in a test must not silently inject nothing. */
        fprintf(stderr, "weir_objstore_inject_fault: unknown kind '%s' (put, get, delete)\n", kind);
        abort();
    }
    pthread_mutex_lock(&s->fault_lock);
    *counter = count < 0 ? 0 : count;
    pthread_mutex_unlock(&s->fault_lock);
}

int weir_objstore_putv(weir_objstore *s, const char *key, const struct iovec *iov, int iovcnt, weir_err *err) {
    if (objstore_key_check(key, false, err) != WEIR_OK) {
        return WEIR_ERROR;
    }
    if (iovcnt < 0 || (iovcnt > 0 && !iov)) {
        return weir_err_set(err, "putting object '%s': bad iovec (count %d)", key, iovcnt);
    }
    if (objstore_fault_take(s, &s->fault_put)) {
        return weir_err_set(err, "putting object '%s': injected fault", key);
    }
    return s->ops->putv(s->impl, key, iov, iovcnt, err);
}

int weir_objstore_put(weir_objstore *s, const char *key, const void *data, size_t len, weir_err *err) {
    struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
    return weir_objstore_putv(s, key, &iov, len > 0 ? 1 : 0, err);
}

int weir_objstore_get_range(weir_objstore *s, const char *key, uint64_t off, size_t len, void *dst, weir_err *err) {
    if (objstore_key_check(key, false, err) != WEIR_OK) {
        return WEIR_ERROR;
    }
    if (off > UINT64_MAX - len) {
        return weir_err_set(err, "reading object '%s': range at offset %" PRIu64 " of %zu bytes overflows", key,
                            off, len);
    }
    if (objstore_fault_take(s, &s->fault_get)) {
        return weir_err_set(err, "reading object '%s' at offset %" PRIu64 ": injected fault", key, off);
    }
    return s->ops->get_range(s->impl, key, off, len, dst, err);
}

int weir_objstore_size(weir_objstore *s, const char *key, uint64_t *size, weir_err *err) {
    if (objstore_key_check(key, false, err) != WEIR_OK) {
        return WEIR_ERROR;
    }
    return s->ops->size(s->impl, key, size, err);
}

int weir_objstore_delete(weir_objstore *s, const char *key, weir_err *err) {
    if (objstore_key_check(key, false, err) != WEIR_OK) {
        return WEIR_ERROR;
    }
    if (objstore_fault_take(s, &s->fault_delete)) {
        return weir_err_set(err, "deleting object '%s': injected fault", key);
    }
    return s->ops->del(s->impl, key, err);
}

int weir_objstore_list(weir_objstore *s, const char *prefix, weir_objstore_list_fn fn, void *ctx, weir_err *err) {
    if (!prefix) {
        prefix = "";
    }
    if (objstore_key_check(prefix, true, err) != WEIR_OK) {
        return WEIR_ERROR;
    }
    return s->ops->list(s->impl, prefix, fn, ctx, err);
}
