/* expr_time.c — the temporal functions of compiled programs: the current time (read once
 * per batch), Java SimpleDateFormat-style formatting and parsing (DATE_FORMAT, TO_TIMESTAMP,
 * TO_DATE, UNIX_TIMESTAMP, FROM_UNIXTIME), EXTRACT, TIMESTAMPADD/DIFF, FLOOR/CEIL(t TO
 * unit), and the session time zone ('table.local-time-zone'; the process's TZ by default)
 * that TIMESTAMP_LTZ values are shown, converted and windowed in. */
#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sql/eval_internal.h"
#include "sql/window_internal.h" /* weir_sql_time_zone_* */

#define US_PER_DAY 86400000000LL

/* ---- the local time zone ------------------------------------------------------------
 * 'table.local-time-zone' (Flink's session zone): TIMESTAMP_LTZ values are instants (UTC
 * micros) shown, converted to TIMESTAMP and windowed in it; TIMESTAMP is zone-less.
 * weir_sql_time_zone_set applies a job's zone at its start, for the whole process: a fixed
 * offset ('UTC', 'GMT+08:00', '+05:30') is kept here, while a region ('Asia/Shanghai')
 * sets the process's TZ, because glibc reads zone rules only through TZ (localtime_r). So
 * two jobs of one process with different region zones would share the last one applied.
 * 'default' (Flink's default) is the process's zone as it was at start. */

enum { ZONE_PROCESS, ZONE_FIXED };
static atomic_int zone_mode = ZONE_PROCESS;
static _Atomic int64_t zone_fixed_sec;
static pthread_mutex_t zone_lock = PTHREAD_MUTEX_INITIALIZER;
static char zone_applied[128];     /* the region in TZ now ("" : the process's own) */
static char *zone_original;        /* TZ as the process had it (NULL: unset), saved once */
static bool zone_saved;

static int64_t offset_at_utc_sec(int64_t utc_sec) {
    if (atomic_load_explicit(&zone_mode, memory_order_relaxed) == ZONE_FIXED)
        return atomic_load_explicit(&zone_fixed_sec, memory_order_relaxed);
    time_t t = (time_t)utc_sec;
    struct tm tm;
    if (!localtime_r(&t, &tm)) return 0;
    return tm.tm_gmtoff;
}

int64_t weir_sql_tz_utc_to_local_us(int64_t utc_us) {
    return utc_us + offset_at_utc_sec(weir_sql_floordiv(utc_us, 1000000)) * 1000000;
}

/* A wall-clock time in the local zone to UTC. In a gap (spring forward) the later offset
 * wins; in an overlap the earlier instant, as java.time does. */
int64_t weir_sql_tz_local_to_utc_us(int64_t local_us) {
    int64_t local_sec = weir_sql_floordiv(local_us, 1000000);
    int64_t off1 = offset_at_utc_sec(local_sec - 86400 / 2);
    int64_t off2 = offset_at_utc_sec(local_sec - off1);
    int64_t off = offset_at_utc_sec(local_sec - off2) == off2 ? off2 : off1;
    return local_us - off * 1000000;
}

/* 'UTC', 'GMT', 'UT', 'Z', optionally followed (or replaced) by an offset: +h, +hh,
 * +hh:mm, +hhmm (java.time's ZoneId forms), at most 18 hours. */
static bool parse_fixed_zone(const char *s, int64_t *sec) {
    if (!strncmp(s, "UTC", 3) || !strncmp(s, "GMT", 3)) s += 3;
    else if (!strncmp(s, "UT", 2)) s += 2;
    else if (!strcmp(s, "Z")) s += 1;
    else if (*s != '+' && *s != '-') return false;
    *sec = 0;
    if (!*s) return true;
    if (*s != '+' && *s != '-') return false;
    int sign = *s++ == '-' ? -1 : 1;
    int digits[4], n = 0;
    bool colon = false;
    for (; *s; s++) {
        if (*s == ':' && n == 2 && !colon) {
            colon = true;
            continue;
        }
        if (!isdigit((unsigned char)*s) || n == 4) return false;
        digits[n++] = *s - '0';
    }
    int h, m = 0;
    if (n == 1 && !colon) h = digits[0];
    else if (n == 2 && !colon) h = digits[0] * 10 + digits[1];
    else if (n == 4) {
        h = digits[0] * 10 + digits[1];
        m = digits[2] * 10 + digits[3];
    } else return false;
    if (h > 18 || m > 59 || (h == 18 && m > 0)) return false;
    *sec = sign * (h * 3600 + m * 60);
    return true;
}

/* A region of the tz database: a file under TZDIR (/usr/share/zoneinfo) in the TZif format. */
static bool region_exists(const char *name) {
    size_t n = strlen(name);
    if (n == 0 || n >= sizeof zone_applied || name[0] == '/' || strstr(name, "..")) return false;
    for (const char *c = name; *c; c++)
        if (!isalnum((unsigned char)*c) && !strchr("/_+-", *c)) return false;
    const char *dir = getenv("TZDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    char magic[4] = {0};
    bool ok = fread(magic, 1, 4, f) == 4 && memcmp(magic, "TZif", 4) == 0;
    fclose(f);
    return ok;
}

int weir_sql_time_zone_check(const char *zone, weir_err *err) {
    int64_t sec;
    if (!zone || !strcmp(zone, "default") || parse_fixed_zone(zone, &sec) || region_exists(zone)) return WEIR_OK;
    return weir_err_set(err, "'table.local-time-zone' = '%s' is not a time zone: give a region of the tz database (e.g. "
                             "'Asia/Shanghai', 'America/Los_Angeles'), 'UTC', an offset such as 'GMT+08:00', or 'default'",
                        zone);
}

int weir_sql_time_zone_set(const char *zone, weir_err *err) {
    if (weir_sql_time_zone_check(zone, err) != WEIR_OK) return WEIR_ERROR;
    int64_t sec;
    if (zone && strcmp(zone, "default") != 0 && parse_fixed_zone(zone, &sec)) {
        atomic_store(&zone_fixed_sec, sec);
        atomic_store(&zone_mode, ZONE_FIXED);
        return WEIR_OK;
    }
    const char *region = zone && strcmp(zone, "default") != 0 ? zone : "";
    pthread_mutex_lock(&zone_lock);
    if (strcmp(region, zone_applied) != 0) {
        if (!zone_saved) {
            const char *tz = getenv("TZ");
            zone_original = tz ? strdup(tz) : NULL;
            zone_saved = true;
        }
        if (*region) setenv("TZ", region, 1);
        else if (zone_original) setenv("TZ", zone_original, 1);
        else unsetenv("TZ");
        tzset();
        snprintf(zone_applied, sizeof zone_applied, "%s", region);
    }
    atomic_store(&zone_mode, ZONE_PROCESS);
    pthread_mutex_unlock(&zone_lock);
    return WEIR_OK;
}

/* ---- functions ---------------------------------------------------------------------- */

enum {
    TF_CURRENT_TIMESTAMP, TF_LOCALTIMESTAMP, TF_CURRENT_DATE, TF_CURRENT_TIME, TF_DATE_FORMAT, TF_TO_TIMESTAMP,
    TF_TO_TIMESTAMP_LTZ, TF_TO_DATE, TF_UNIX_TIMESTAMP, TF_FROM_UNIXTIME, TF_EXTRACT, TF_TIMESTAMPADD,
    TF_TIMESTAMPDIFF, TF_FLOOR, TF_CEIL
};

static const struct {
    const char *name;
    int id;
} time_fns[] = {
    {"CURRENT_TIMESTAMP", TF_CURRENT_TIMESTAMP}, {"NOW", TF_CURRENT_TIMESTAMP}, {"PROCTIME", TF_CURRENT_TIMESTAMP},
    {"CURRENT_ROW_TIMESTAMP", TF_CURRENT_TIMESTAMP}, {"LOCALTIMESTAMP", TF_LOCALTIMESTAMP},
    {"CURRENT_DATE", TF_CURRENT_DATE}, {"CURRENT_TIME", TF_CURRENT_TIME}, {"LOCALTIME", TF_CURRENT_TIME},
    {"DATE_FORMAT", TF_DATE_FORMAT}, {"TO_TIMESTAMP", TF_TO_TIMESTAMP}, {"TO_TIMESTAMP_LTZ", TF_TO_TIMESTAMP_LTZ},
    {"TO_DATE", TF_TO_DATE}, {"UNIX_TIMESTAMP", TF_UNIX_TIMESTAMP}, {"FROM_UNIXTIME", TF_FROM_UNIXTIME},
    {"EXTRACT", TF_EXTRACT}, {"TIMESTAMPADD", TF_TIMESTAMPADD}, {"TIMESTAMPDIFF", TF_TIMESTAMPDIFF},
};

int weir_sql_fn_time_id(const char *name, const weir_sql_bexpr *e) {
    /* FLOOR / CEIL with a time unit are ours; over numbers they stay in expr_fn.c */
    if ((!strcmp(name, "FLOOR") || !strcmp(name, "CEIL")) && e->nargs == 2 && weir_sql_ltype_is_temporal(&e->args[0]->type))
        return WEIR_SQL_FN_TIME + (name[0] == 'F' ? TF_FLOOR : TF_CEIL);
    for (size_t k = 0; k < sizeof time_fns / sizeof time_fns[0]; k++)
        if (!strcmp(time_fns[k].name, name)) return WEIR_SQL_FN_TIME + time_fns[k].id;
    return -1;
}

/* Broken-down local wall-clock time of a timestamp value (micros). */
typedef struct civil {
    int y, mo, d, h, mi, s;
    int64_t us; /* micros of the second */
    int dow;    /* 1 = Sunday ... 7 = Saturday, as Flink's EXTRACT(DOW) */
    int doy;
} civil;

static civil to_civil(int64_t us) {
    civil c;
    int64_t days = weir_sql_floordiv(us, US_PER_DAY), rest = us - days * US_PER_DAY;
    weir_sql_civil_from_days(days, &c.y, &c.mo, &c.d);
    c.h = (int)(rest / 3600000000LL);
    c.mi = (int)(rest / 60000000 % 60);
    c.s = (int)(rest / 1000000 % 60);
    c.us = rest % 1000000;
    c.dow = (int)((days % 7 + 7 + 4) % 7) + 1; /* 1970-01-01 was a Thursday (5) */
    c.doy = (int)(days - weir_sql_days_from_civil(c.y, 1, 1)) + 1;
    return c;
}

static const char *month_names[] = {"January", "February", "March", "April", "May", "June", "July", "August",
                                    "September", "October", "November", "December"};
static const char *day_names[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};

static void put_num(weir_buf *b, int64_t v, int width) {
    char tmp[64];
    if (width > 20) width = 20;
    int len = snprintf(tmp, sizeof tmp, "%0*lld", width & 31, (long long)v);
    weir_buf_append(b, tmp, (size_t)(len < (int)sizeof tmp ? len : (int)sizeof tmp - 1));
}

/* Formats a local timestamp with a Java date pattern. Letters: y M d H h m s S a E D;
 * text in '...' is literal ('' is a quote); other letters are refused as Java does. */
static const char *format_pattern(weir_buf *b, int64_t us, weir_str pat) {
    civil c = to_civil(us);
    for (int k = 0; k < pat.len;) {
        char ch = pat.ptr[k];
        if (ch == '\'') {
            if (k + 1 < pat.len && pat.ptr[k + 1] == '\'') {
                weir_buf_append(b, "'", 1);
                k += 2;
                continue;
            }
            k++;
            while (k < pat.len) {
                if (pat.ptr[k] == '\'') {
                    if (k + 1 < pat.len && pat.ptr[k + 1] == '\'') {
                        weir_buf_append(b, "'", 1);
                        k += 2;
                        continue;
                    }
                    break;
                }
                weir_buf_append(b, &pat.ptr[k++], 1);
            }
            if (k >= pat.len) return "unterminated quote in the date format";
            k++;
            continue;
        }
        if (!isalpha((unsigned char)ch)) {
            weir_buf_append(b, &ch, 1);
            k++;
            continue;
        }
        int n = 0;
        while (k + n < pat.len && pat.ptr[k + n] == ch) n++;
        k += n;
        switch (ch) {
        case 'y':
            if (n == 2) put_num(b, c.y % 100, 2);
            else put_num(b, c.y, n);
            break;
        case 'M':
            if (n >= 4) weir_buf_append(b, month_names[c.mo - 1], strlen(month_names[c.mo - 1]));
            else if (n == 3) weir_buf_append(b, month_names[c.mo - 1], 3);
            else put_num(b, c.mo, n);
            break;
        case 'd': put_num(b, c.d, n); break;
        case 'D': put_num(b, c.doy, n); break;
        case 'H': put_num(b, c.h, n); break;
        case 'h': put_num(b, c.h % 12 == 0 ? 12 : c.h % 12, n); break;
        case 'm': put_num(b, c.mi, n); break;
        case 's': put_num(b, c.s, n); break;
        case 'S': { /* fraction digits, as java.time's S (SimpleDateFormat's SSS is the same for 3) */
            char f[8];
            snprintf(f, sizeof f, "%06lld", (long long)c.us);
            for (int j = 0; j < n; j++) weir_buf_append(b, j < 6 ? &f[j] : "0", 1);
            break;
        }
        case 'a': weir_buf_append(b, c.h < 12 ? "AM" : "PM", 2); break;
        case 'E':
            if (n >= 4) weir_buf_append(b, day_names[c.dow - 1], strlen(day_names[c.dow - 1]));
            else weir_buf_append(b, day_names[c.dow - 1], 3);
            break;
        default: return "illegal pattern character in the date format";
        }
    }
    return NULL;
}

/* Parses s with a Java date pattern into a local timestamp (micros). Numeric fields take
 * exactly their width when the next pattern item is another field (yyyyMMdd), else 1 or
 * more digits. The whole text must match. false: it does not (Flink gives NULL). */
static bool parse_pattern(weir_str s, weir_str pat, int64_t *out) {
    int y = 1970, mo = 1, d = 1, h = 0, mi = 0, sec = 0, pm = -1;
    int64_t us = 0;
    int i = 0;
    for (int k = 0; k < pat.len;) {
        char ch = pat.ptr[k];
        if (ch == '\'') {
            k++;
            while (k < pat.len && pat.ptr[k] != '\'') {
                if (i >= s.len || s.ptr[i] != pat.ptr[k]) return false;
                i++, k++;
            }
            k++;
            continue;
        }
        if (!isalpha((unsigned char)ch)) {
            if (i >= s.len || s.ptr[i] != ch) return false;
            i++, k++;
            continue;
        }
        int n = 0;
        while (k + n < pat.len && pat.ptr[k + n] == ch) n++;
        k += n;
        if (ch == 'a') {
            if (i + 2 > s.len) return false;
            if (!strncasecmp(s.ptr + i, "AM", 2)) pm = 0;
            else if (!strncasecmp(s.ptr + i, "PM", 2)) pm = 1;
            else return false;
            i += 2;
            continue;
        }
        if (ch == 'M' && n >= 3) {
            int found = -1;
            for (int m = 0; m < 12 && found < 0; m++) {
                int len = n == 3 ? 3 : (int)strlen(month_names[m]);
                if (i + len <= s.len && !strncasecmp(s.ptr + i, month_names[m], (size_t)len)) found = m, i += len;
            }
            if (found < 0) return false;
            mo = found + 1;
            continue;
        }
        bool fixed = k < pat.len && isalpha((unsigned char)pat.ptr[k]) && pat.ptr[k] != '\'';
        int maxd = fixed ? n : (ch == 'S' ? 9 : ch == 'y' ? 9 : 2 > n ? 2 : n);
        int64_t v = 0;
        int got = 0;
        while (i < s.len && got < maxd && isdigit((unsigned char)s.ptr[i])) v = v * 10 + (s.ptr[i++] - '0'), got++;
        if (got == 0 || (fixed && got != n)) return false;
        switch (ch) {
        case 'y': y = (int)(n == 2 && got == 2 ? 2000 + v : v); break;
        case 'M': mo = (int)v; break;
        case 'd': d = (int)v; break;
        case 'H': h = (int)v; break;
        case 'h': h = (int)v % 12; break;
        case 'm': mi = (int)v; break;
        case 's': sec = (int)v; break;
        case 'S': {
            int64_t f = v;
            for (int j = got; j < 6; j++) f *= 10;
            for (int j = 6; j < got; j++) f /= 10;
            us = f;
            break;
        }
        default: return false;
        }
    }
    if (i != s.len) return false;
    if (pm == 1) h += 12;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || sec > 59)
        return false;
    *out = (weir_sql_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) * 1000000LL + us;
    return true;
}

/* A timestamp-like argument as local wall-clock micros (DATE, TIMESTAMP, TIMESTAMP_LTZ in
 * the local zone, TIME on 1970-01-01, a string parsed as a timestamp). */
static bool local_micros(weir_sql_program *p, const weir_sql_reg *g, int r, int64_t *out) {
    switch (g->type.kind) {
    case WEIR_SQL_TYPE_DATE: *out = g->i[r] * US_PER_DAY; return true;
    case WEIR_SQL_TYPE_TIME: *out = g->i[r] * 1000; return true;
    case WEIR_SQL_TYPE_TIMESTAMP: *out = g->i[r]; return true;
    case WEIR_SQL_TYPE_TIMESTAMP_LTZ: *out = weir_sql_tz_utc_to_local_us(g->i[r]); return true;
    default: {
        weir_sql_ltype st = weir_sql_ltype_make(WEIR_SQL_TYPE_STRING, WEIR_SQL_MAX_LENGTH, 0, false);
        weir_sql_ltype tt = weir_sql_ltype_make(WEIR_SQL_TYPE_TIMESTAMP, 9, 0, false);
        weir_sql_val in = {0}, o;
        const char *why;
        in.s = g->s[r];
        if (weir_sql_cast_value(&p->scratch, &st, &in, &tt, &o, &why) != 0) return false;
        *out = o.i;
        return true;
    }
    }
}

/* The unit keyword's size in micros for fixed units; 0 for months-based ones. */
static int64_t unit_micros(const char *u) {
    if (!strcmp(u, "WEEK")) return 7 * US_PER_DAY;
    if (!strcmp(u, "DAY")) return US_PER_DAY;
    if (!strcmp(u, "HOUR")) return 3600000000LL;
    if (!strcmp(u, "MINUTE")) return 60000000LL;
    if (!strcmp(u, "SECOND")) return 1000000LL;
    if (!strcmp(u, "MILLISECOND")) return 1000LL;
    if (!strcmp(u, "MICROSECOND")) return 1LL;
    return 0;
}

static int unit_months(const char *u) {
    if (!strcmp(u, "YEAR")) return 12;
    if (!strcmp(u, "QUARTER")) return 3;
    if (!strcmp(u, "MONTH")) return 1;
    return 0;
}

static int64_t add_months_us(int64_t us, int64_t months) {
    int64_t days = weir_sql_floordiv(us, US_PER_DAY), rest = us - days * US_PER_DAY;
    int y, m, d;
    weir_sql_civil_from_days(days, &y, &m, &d);
    int64_t total = (int64_t)y * 12 + (m - 1) + months;
    y = (int)weir_sql_floordiv(total, 12);
    m = (int)(total - (int64_t)y * 12) + 1;
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int md = mdays[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
    if (d > md) d = md;
    return weir_sql_days_from_civil(y, m, d) * US_PER_DAY + rest;
}

/* Stores a local wall-clock result into d as its type wants it. */
static void store_local(weir_sql_reg *d, int r, int64_t local_us) {
    switch (d->type.kind) {
    case WEIR_SQL_TYPE_DATE: d->i[r] = weir_sql_floordiv(local_us, US_PER_DAY); break;
    case WEIR_SQL_TYPE_TIME: d->i[r] = (local_us - weir_sql_floordiv(local_us, US_PER_DAY) * US_PER_DAY) / 1000; break;
    case WEIR_SQL_TYPE_TIMESTAMP_LTZ: d->i[r] = weir_sql_tz_local_to_utc_us(local_us); break;
    default: d->i[r] = local_us;
    }
}

static weir_str str_arg(const weir_sql_reg *g, int r, const char *dflt) {
    if (!g) return (weir_str){dflt, (int32_t)strlen(dflt)};
    return g->s[r];
}

int weir_sql_fn_time_run(weir_sql_program *p, const weir_sql_instr *ins, int n, weir_err *err) {
    weir_sql_reg *d = &p->regs[ins->dst];
    const int64_t *m = ins->mask >= 0 ? p->regs[ins->mask].i : NULL;
    weir_sql_reg *g[4] = {0};
    int na = ins->nargs;
    for (int k = 0; k < na && k < 4; k++) g[k] = &p->regs[ins->args[k]];
    int id = ins->sub - WEIR_SQL_FN_TIME;
    int64_t now = p->now_us - p->now_us % 1000; /* milliseconds, as Flink's TIMESTAMP(3) */
    weir_buf b;
    weir_buf_init(&b);
    int rc = WEIR_OK;
    for (int r = 0; r < n; r++) {
        if (weir_sql_fn_row_null(p, ins, m, na, r)) continue;
        b.len = 0;
        switch (id) {
        case TF_CURRENT_TIMESTAMP: d->i[r] = now; break;
        case TF_LOCALTIMESTAMP:
        case TF_CURRENT_DATE:
        case TF_CURRENT_TIME: store_local(d, r, weir_sql_tz_utc_to_local_us(now)); break;
        case TF_DATE_FORMAT: {
            int64_t us;
            if (!local_micros(p, g[0], r, &us)) {
                d->null[r] = 1;
                break;
            }
            const char *why = format_pattern(&b, us, g[1]->s[r]);
            if (why) {
                rc = weir_sql_eval_fail(p, ins, g[1], r, why, err);
                goto out;
            }
            d->s[r] = (weir_str){weir_arena_strndup(&p->scratch, (const char *)b.data, b.len), (int32_t)b.len};
            break;
        }
        case TF_TO_TIMESTAMP:
        case TF_TO_DATE:
        case TF_UNIX_TIMESTAMP: {
            if (id == TF_UNIX_TIMESTAMP && na == 0) {
                d->i[r] = weir_sql_floordiv(now, 1000000);
                break;
            }
            int64_t us;
            weir_str fmt = str_arg(na > 1 ? g[1] : NULL, r, id == TF_TO_DATE ? "yyyy-MM-dd" : "yyyy-MM-dd HH:mm:ss");
            if (!parse_pattern(g[0]->s[r], fmt, &us)) {
                /* unparsable: TO_TIMESTAMP / TO_DATE give NULL; UNIX_TIMESTAMP gives
                 * Long.MIN_VALUE, as Flink's DateTimeUtils.unixTimestamp */
                if (id == TF_UNIX_TIMESTAMP) d->i[r] = INT64_MIN;
                else d->null[r] = 1;
                break;
            }
            if (id == TF_UNIX_TIMESTAMP) d->i[r] = weir_sql_floordiv(weir_sql_tz_local_to_utc_us(us), 1000000);
            else if (id == TF_TO_DATE) d->i[r] = weir_sql_floordiv(us, US_PER_DAY);
            else d->i[r] = us - ((us % 1000) + 1000) % 1000;
            break;
        }
        case TF_TO_TIMESTAMP_LTZ: {
            int64_t prec = na > 1 ? g[1]->i[r] : 3;
            if (prec != 0 && prec != 3) {
                rc = weir_sql_eval_fail(p, ins, g[1], r, "the precision must be 0 or 3", err);
                goto out;
            }
            int64_t v = g[0]->cls == WEIR_SQL_CLASS_F64 ? (int64_t)g[0]->f[r] : g[0]->i[r];
            if (g[0]->type.kind == WEIR_SQL_TYPE_DECIMAL) {
                int64_t u = 1;
                for (int k = 0; k < g[0]->type.scale; k++) u *= 10;
                v /= u;
            }
            int64_t lim = prec == 0 ? 9200000000000LL : 9200000000000000LL;
            if (v > lim || v < -lim) {
                d->null[r] = 1;
                break;
            }
            d->i[r] = prec == 0 ? v * 1000000 : v * 1000;
            break;
        }
        case TF_FROM_UNIXTIME: {
            int64_t secs = g[0]->cls == WEIR_SQL_CLASS_F64 ? (int64_t)g[0]->f[r] : g[0]->i[r];
            if (secs > 9200000000000LL || secs < -9200000000000LL) {
                d->null[r] = 1;
                break;
            }
            const char *why = format_pattern(&b, weir_sql_tz_utc_to_local_us(secs * 1000000), str_arg(na > 1 ? g[1] : NULL, r, "yyyy-MM-dd HH:mm:ss"));
            if (why) {
                rc = weir_sql_eval_fail(p, ins, g[1], r, why, err);
                goto out;
            }
            d->s[r] = (weir_str){weir_arena_strndup(&p->scratch, (const char *)b.data, b.len), (int32_t)b.len};
            break;
        }
        case TF_EXTRACT: {
            const char *u = g[0]->s[r].ptr;
            int64_t us;
            if (!local_micros(p, g[1], r, &us)) {
                d->null[r] = 1;
                break;
            }
            civil c = to_civil(us);
            int64_t v;
            if (!strcmp(u, "YEAR")) v = c.y;
            else if (!strcmp(u, "QUARTER")) v = (c.mo - 1) / 3 + 1;
            else if (!strcmp(u, "MONTH")) v = c.mo;
            else if (!strcmp(u, "DAY")) v = c.d;
            else if (!strcmp(u, "HOUR")) v = c.h;
            else if (!strcmp(u, "MINUTE")) v = c.mi;
            else if (!strcmp(u, "SECOND")) v = c.s;
            else if (!strcmp(u, "MILLISECOND")) v = c.s * 1000 + c.us / 1000;
            else if (!strcmp(u, "MICROSECOND")) v = c.s * 1000000 + c.us;
            else if (!strcmp(u, "NANOSECOND")) v = (c.s * 1000000 + c.us) * 1000;
            else if (!strcmp(u, "DOW")) v = c.dow;
            else if (!strcmp(u, "DOY")) v = c.doy;
            else if (!strcmp(u, "EPOCH")) v = weir_sql_floordiv(us, 1000000);
            else if (!strcmp(u, "WEEK")) { /* ISO-8601 week of the year */
                int64_t days = weir_sql_floordiv(us, US_PER_DAY);
                int iso_dow = (c.dow + 5) % 7 + 1; /* Monday 1 .. Sunday 7 */
                int64_t thursday = days - iso_dow + 4;
                int ty, tm, td;
                weir_sql_civil_from_days(thursday, &ty, &tm, &td);
                v = (thursday - weir_sql_days_from_civil(ty, 1, 1)) / 7 + 1;
            } else {
                rc = weir_sql_eval_fail(p, ins, g[0], r, "unsupported time unit", err);
                goto out;
            }
            d->i[r] = v;
            break;
        }
        case TF_TIMESTAMPADD: {
            const char *u = g[0]->s[r].ptr;
            int64_t k = g[1]->i[r], us;
            local_micros(p, g[2], r, &us);
            int mo = unit_months(u);
            int64_t step = unit_micros(u);
            if (mo) us = add_months_us(us, k * mo);
            else if (step) us += k * step;
            else {
                rc = weir_sql_eval_fail(p, ins, g[0], r, "unsupported time unit", err);
                goto out;
            }
            store_local(d, r, us);
            break;
        }
        case TF_TIMESTAMPDIFF: {
            /* Flink: the number of whole units from the second argument to the third */
            const char *u = g[0]->s[r].ptr;
            int64_t a, bb;
            local_micros(p, g[1], r, &a);
            local_micros(p, g[2], r, &bb);
            if (g[1]->type.kind == WEIR_SQL_TYPE_TIMESTAMP_LTZ) a = g[1]->i[r];
            if (g[2]->type.kind == WEIR_SQL_TYPE_TIMESTAMP_LTZ) bb = g[2]->i[r];
            int mo = unit_months(u);
            int64_t step = unit_micros(u), v;
            if (mo) {
                civil ca = to_civil(a), cb = to_civil(bb);
                int64_t months = ((int64_t)cb.y * 12 + cb.mo) - ((int64_t)ca.y * 12 + ca.mo);
                /* a month counts only when the day-and-time within the month has been reached */
                int64_t ina = a - weir_sql_days_from_civil(ca.y, ca.mo, 1) * US_PER_DAY;
                int64_t inb = bb - weir_sql_days_from_civil(cb.y, cb.mo, 1) * US_PER_DAY;
                if (months > 0 && inb < ina) months--;
                else if (months < 0 && inb > ina) months++;
                v = months / mo;
            } else if (step) {
                v = (bb - a) / step;
            } else {
                rc = weir_sql_eval_fail(p, ins, g[0], r, "unsupported time unit", err);
                goto out;
            }
            d->i[r] = (int32_t)v;
            break;
        }
        case TF_FLOOR:
        case TF_CEIL: {
            const char *u = g[1]->s[r].ptr;
            int64_t us;
            local_micros(p, g[0], r, &us);
            int mo = unit_months(u);
            int64_t step = unit_micros(u), fl;
            if (mo) {
                civil c = to_civil(us);
                int month0 = (c.mo - 1) / mo * mo + 1;
                fl = weir_sql_days_from_civil(c.y, month0, 1) * US_PER_DAY;
                if (id == TF_CEIL && fl != us) fl = add_months_us(fl, mo);
            } else if (step) {
                /* weeks start on Sunday (1970-01-04 was one), as Calcite's floor */
                int64_t base = !strcmp(u, "WEEK") ? 3 * US_PER_DAY : 0;
                fl = weir_sql_floordiv(us - base, step) * step + base;
                if (id == TF_CEIL && fl != us) fl += step;
            } else {
                rc = weir_sql_eval_fail(p, ins, g[1], r, "unsupported time unit", err);
                goto out;
            }
            store_local(d, r, fl);
            break;
        }
        default:
            rc = weir_sql_eval_fail(p, ins, NULL, r, "not implemented", err);
            goto out;
        }
    }
out:
    weir_buf_free(&b);
    return rc;
}
