/* accum.c — helpers over single values in weir_sql_row_key's byte form (see accum.h):
 * the ordering MIN/MAX use when their candidates live in a multiset of encoded values
 * (group aggregation under retraction), and the string inside an encoded string. */
#include <string.h>

#include "sql/accum.h"

int weir_sql_accum_cmp(int cls, const uint8_t *a, const uint8_t *b) {
    a++, b++; /* the null flags (both values are present) */
    switch (cls) {
    case WEIR_SQL_CLASS_F64: {
        double x, y;
        memcpy(&x, a, sizeof x);
        memcpy(&y, b, sizeof y);
        return x < y ? -1 : x > y;
    }
    case WEIR_SQL_CLASS_I128: {
        __int128 x, y;
        memcpy(&x, a, sizeof x);
        memcpy(&y, b, sizeof y);
        return x < y ? -1 : x > y;
    }
    case WEIR_SQL_CLASS_STR: {
        weir_str x = weir_sql_accum_str(a - 1), y = weir_sql_accum_str(b - 1);
        size_t n = (size_t)(x.len < y.len ? x.len : y.len);
        int c = n ? memcmp(x.ptr, y.ptr, n) : 0;
        if (c) return c < 0 ? -1 : 1;
        return x.len < y.len ? -1 : x.len > y.len;
    }
    default: {
        int64_t x, y;
        memcpy(&x, a, sizeof x);
        memcpy(&y, b, sizeof y);
        return x < y ? -1 : x > y;
    }
    }
}

weir_str weir_sql_accum_str(const uint8_t *v) {
    uint32_t n;
    memcpy(&n, v + 1, sizeof n);
    weir_str s = {(const char *)v + 1 + sizeof n, (int)n};
    return s;
}
