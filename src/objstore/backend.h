/* backend.h — what an object-store backend implements (private to src/objstore). The
 * generic layer in objstore.c validates keys and injects faults, then calls the backend
 * through this vtable; a backend (fs.c, later s3.c) only sees keys that passed the check. */
#ifndef WEIR_OBJSTORE_BACKEND_H
#define WEIR_OBJSTORE_BACKEND_H

#include "objstore/objstore.h"

/* Every function may be called by several threads at once on the same store. */
typedef struct weir_objstore_ops {
    const char *name; /* "fs", "s3": used in error messages */
    int (*putv)(void *impl, const char *key, const struct iovec *iov, int iovcnt, weir_err *err);
    int (*get_range)(void *impl, const char *key, uint64_t off, size_t len, void *dst, weir_err *err);
    int (*size)(void *impl, const char *key, uint64_t *size, weir_err *err);
    int (*del)(void *impl, const char *key, weir_err *err);
    int (*list)(void *impl, const char *prefix, weir_objstore_list_fn fn, void *ctx, weir_err *err);
    void (*close)(void *impl);
} weir_objstore_ops;

/* Wraps a backend's state into a store; the store owns impl and closes it through ops. */
weir_objstore *weir_objstore_new(const weir_objstore_ops *ops, void *impl);

/* Names that start with this are temporary files: keys may not use them, list skips them. */
#define WEIR_OBJSTORE_TMP_PREFIX ".tmp-"

#endif
