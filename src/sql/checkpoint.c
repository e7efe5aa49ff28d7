/* checkpoint.c — checkpoints of a job's state: each stateful operator instance writes its
 * state as (key, value) records into a state writer at a checkpoint barrier; the records
 * are what a restore hands back, by key, to the instance that owns the key. */
#include <stdint.h>
#include <string.h>

#include "sql/engine_internal.h"

/* Records are laid out as u32 key length, key, u32 value length, value (little-endian). */
struct weir_sql_state_writer {
    weir_buf out;
    uint64_t records;
};

void weir_sql_state_put(weir_sql_state_writer *w, const void *key, size_t klen, const void *val, size_t vlen) {
    uint32_t n = (uint32_t)klen;
    weir_buf_append(&w->out, &n, sizeof n);
    weir_buf_append(&w->out, key, klen);
    n = (uint32_t)vlen;
    weir_buf_append(&w->out, &n, sizeof n);
    weir_buf_append(&w->out, val, vlen);
    w->records++;
}
