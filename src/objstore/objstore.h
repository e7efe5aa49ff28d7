/* objstore.h — the object-store interface the log is built on: whole-object puts that are
 * durable when they return, ranged reads, deletes and listing. Backends: a local
 * directory (fs, the default) and later S3. Every call blocks: call it from a worker
 * thread, never from an event-loop thread. A store may be used by several threads. */
#ifndef WEIR_OBJSTORE_H
#define WEIR_OBJSTORE_H

#include <sys/uio.h>
#include "base/base.h"

typedef struct weir_objstore weir_objstore;

/* Opens (creating if needed) a store rooted at a local directory. Keys are relative
 * paths such as "wal/0/00000000000000000042"; sub-directories are created as needed. */
int weir_objstore_open_fs(const char *root, weir_objstore **out, weir_err *err);

/* Writes a whole object from iov[0..iovcnt). Durable on return: the fs backend writes a
 * temporary file, fsyncs it, renames it over the key and fsyncs the directory. A put
 * that fails or is interrupted by a crash leaves either the old object or nothing. */
int weir_objstore_putv(weir_objstore *s, const char *key, const struct iovec *iov, int iovcnt, weir_err *err);
int weir_objstore_put(weir_objstore *s, const char *key, const void *data, size_t len, weir_err *err);

/* Reads exactly len bytes at offset off of the object into dst. A missing object gives
 * WEIR_ENOTFOUND; a short object gives WEIR_ERROR naming key, offset and size. */
int weir_objstore_get_range(weir_objstore *s, const char *key, uint64_t off, size_t len, void *dst, weir_err *err);

/* Size of an object, or WEIR_ENOTFOUND. */
int weir_objstore_size(weir_objstore *s, const char *key, uint64_t *size, weir_err *err);

/* Deletes an object; deleting a missing object is not an error. */
int weir_objstore_delete(weir_objstore *s, const char *key, weir_err *err);

/* Calls fn for every key that starts with prefix (in no particular order). A non-OK
 * return from fn stops the listing and is returned. Temporary files are never listed. */
typedef int (*weir_objstore_list_fn)(void *ctx, const char *key, uint64_t size);
int weir_objstore_list(weir_objstore *s, const char *prefix, weir_objstore_list_fn fn, void *ctx, weir_err *err);

void weir_objstore_close(weir_objstore *s);

/* Fault injection for tests: the next `count` calls of the given kind fail with an
 * injected error ("injected fault"). kind: "put", "get", "delete". */
void weir_objstore_inject_fault(weir_objstore *s, const char *kind, int count);

#endif
