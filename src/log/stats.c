/* stats.c — numbers about the log's storage for /metrics: how many objects the ranges
 * point into and their total size (objects waiting for deletion after their grace
 * period are still in the list, and still in the store, so they count). */
#include "log/internal.h"

void weir_log_object_stats(weir_log *log, int64_t *count, int64_t *bytes) {
    int64_t total = 0;
    for (size_t i = 0; i < log->nobjects; i++) total += log->objects[i]->size;
    *count = (int64_t)log->nobjects;
    *bytes = total;
}
