/* options.c — reading connector and format options (the table's WITH clause) with
 * Flink's names and value syntax, and refusing unknown ones with a "did you mean". */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "connect/connect.h"

int weir_connect_check_options(const weir_sql_table *t, const char *connector, const char *const *keys,
                               const char *const *prefixes, weir_err *err) {
    int nkeys = 0;
    while (keys && keys[nkeys]) nkeys++;
    for (int i = 0; i < t->noptions; i++) {
        const char *k = t->options[i].key;
        bool ok = false;
        for (int j = 0; j < nkeys && !ok; j++) ok = !strcmp(keys[j], k);
        for (int j = 0; prefixes && prefixes[j] && !ok; j++)
            ok = !strncmp(k, prefixes[j], strlen(prefixes[j])) && strlen(k) > strlen(prefixes[j]);
        if (ok) continue;
        const char *near = weir_sql_closest(k, keys, nkeys);
        if (near)
            return weir_err_set(err, "table '%s': unsupported option '%s' for connector '%s'; did you mean '%s'?",
                                t->name, k, connector, near);
        return weir_err_set(err, "table '%s': unsupported option '%s' for connector '%s'", t->name, k, connector);
    }
    return WEIR_OK;
}

static int bad_value(const weir_sql_table *t, const char *key, const char *v, const char *what, weir_err *err) {
    return weir_err_set(err, "table '%s': option '%s' = '%s' is not %s", t->name, key, v, what);
}

int weir_connect_opt_bool(const weir_sql_table *t, const char *key, bool *out, weir_err *err) {
    const char *v = weir_sql_table_option(t, key);
    if (!v) return WEIR_OK;
    if (!strcasecmp(v, "true")) *out = true;
    else if (!strcasecmp(v, "false")) *out = false;
    else return bad_value(t, key, v, "a boolean (true or false)", err);
    return WEIR_OK;
}

int weir_connect_opt_int(const weir_sql_table *t, const char *key, int64_t min, int64_t max, int64_t *out,
                         weir_err *err) {
    const char *v = weir_sql_table_option(t, key);
    if (!v) return WEIR_OK;
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    while (end && isspace((unsigned char)*end)) end++;
    if (errno || end == v || *end) return bad_value(t, key, v, "an integer", err);
    if (x < min || x > max)
        return weir_err_set(err, "table '%s': option '%s' = '%s' is out of range [%lld, %lld]", t->name, key, v,
                            (long long)min, (long long)max);
    *out = x;
    return WEIR_OK;
}

/* A number followed by an optional unit from units[] (each with its factor). */
typedef struct unit {
    const char *name;
    int64_t factor;
} unit;

static int parse_with_unit(const char *v, const unit *units, int64_t *out) {
    const char *p = v;
    while (isspace((unsigned char)*p)) p++;
    if (!isdigit((unsigned char)*p)) return -1;
    errno = 0;
    char *end;
    unsigned long long n = strtoull(p, &end, 10);
    if (errno) return -1;
    while (isspace((unsigned char)*end)) end++;
    size_t ulen = strlen(end);
    while (ulen && isspace((unsigned char)end[ulen - 1])) ulen--;
    int64_t factor = 0;
    if (ulen == 0) factor = 1;
    for (int i = 0; units[i].name && !factor; i++)
        if (strlen(units[i].name) == ulen && !strncasecmp(units[i].name, end, ulen)) factor = units[i].factor;
    if (!factor) return -1;
    if (n > (unsigned long long)(INT64_MAX / factor)) return -1;
    *out = (int64_t)n * factor;
    return 0;
}

int weir_connect_opt_duration_ms(const weir_sql_table *t, const char *key, int64_t *out, weir_err *err) {
    static const unit units[] = {
        {"ms", 1}, {"milli", 1}, {"millis", 1}, {"millisecond", 1}, {"milliseconds", 1},
        {"s", 1000}, {"sec", 1000}, {"secs", 1000}, {"second", 1000}, {"seconds", 1000},
        {"min", 60000}, {"m", 60000}, {"mins", 60000}, {"minute", 60000}, {"minutes", 60000},
        {"h", 3600000}, {"hour", 3600000}, {"hours", 3600000},
        {"d", 86400000}, {"day", 86400000}, {"days", 86400000}, {NULL, 0}};
    const char *v = weir_sql_table_option(t, key);
    if (!v) return WEIR_OK;
    if (parse_with_unit(v, units, out))
        return bad_value(t, key, v, "a duration (e.g. '500 ms', '10 s', '1 min', '2 h')", err);
    return WEIR_OK;
}

int weir_connect_opt_bytes(const weir_sql_table *t, const char *key, int64_t *out, weir_err *err) {
    static const unit units[] = {
        {"b", 1}, {"bytes", 1}, {"k", 1024}, {"kb", 1024}, {"kibibytes", 1024},
        {"m", 1 << 20}, {"mb", 1 << 20}, {"mebibytes", 1 << 20},
        {"g", 1 << 30}, {"gb", 1 << 30}, {"gibibytes", 1 << 30},
        {"t", (int64_t)1 << 40}, {"tb", (int64_t)1 << 40}, {NULL, 0}};
    const char *v = weir_sql_table_option(t, key);
    if (!v) return WEIR_OK;
    if (parse_with_unit(v, units, out)) return bad_value(t, key, v, "a memory size (e.g. '128mb', '64 kb')", err);
    return WEIR_OK;
}

int weir_connect_opt_choice(const weir_sql_table *t, const char *key, const char *const *choices, int *out,
                            weir_err *err) {
    const char *v = weir_sql_table_option(t, key);
    if (!v) return WEIR_OK;
    weir_buf list;
    weir_buf_init(&list);
    for (int i = 0; choices[i]; i++) {
        if (!strcasecmp(choices[i], v)) {
            weir_buf_free(&list);
            *out = i;
            return WEIR_OK;
        }
        if (i) weir_buf_append(&list, ", ", 2);
        weir_buf_append(&list, choices[i], strlen(choices[i]));
    }
    weir_buf_append(&list, "", 1);
    weir_err_set(err, "table '%s': option '%s' = '%s' is not one of %s", t->name, key, v, (char *)list.data);
    weir_buf_free(&list);
    return WEIR_ERROR;
}
