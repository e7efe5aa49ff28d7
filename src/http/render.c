/* render.c — turns a snapshot into what the endpoints answer: Prometheus text format
 * 0.0.4 for /metrics (HELP and TYPE for every family, escaped label values, cumulative
 * histogram buckets with le="+Inf", _sum and _count), and JSON (jansson) for /api/v1.
 * Runs on the HTTP thread and reads nothing but the snapshot. */
#include "http/internal.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put(weir_buf *out, const char *s) { weir_buf_append(out, s, strlen(s)); }

static void putf(weir_buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(weir_buf *out, const char *fmt, ...) {
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof tmp) {
        weir_buf_append(out, tmp, (size_t)n);
        return;
    }
    weir_buf_reserve(out, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf((char *)out->data + out->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    out->len += (size_t)n;
}

/* The shortest decimal that reads back as v (so le="1048576", not "1.04858e+06"). */
static void fmt_double(double v, char *dst, size_t cap) {
    if (v == (double)(int64_t)v && v > -1e15 && v < 1e15) {
        snprintf(dst, cap, "%" PRId64, (int64_t)v);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(dst, cap, "%.*g", prec, v);
        if (strtod(dst, NULL) == v) return;
    }
}

/* A label value with \, " and newline escaped, as the text format requires. */
static void put_label_value(weir_buf *out, const char *v) {
    put(out, "\"");
    for (const char *p = v ? v : ""; *p; p++) {
        if (*p == '\\') put(out, "\\\\");
        else if (*p == '"') put(out, "\\\"");
        else if (*p == '\n') put(out, "\\n");
        else weir_buf_append(out, p, 1);
    }
    put(out, "\"");
}

static void family(weir_buf *out, const char *name, const char *type, const char *help) {
    putf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* labels: "topic" / "api" etc. already rendered as `k="v",` pieces (may be empty). */
static void sample_i64(weir_buf *out, const char *name, const char *labels, int64_t v) {
    put(out, name);
    if (labels && *labels) putf(out, "{%.*s}", (int)strlen(labels) - 1, labels); /* drop trailing comma */
    putf(out, " %" PRId64 "\n", v);
}

static char *labels_of(weir_buf *scratch, const char *k1, const char *v1, const char *k2, const char *v2,
                       const char *k3, const char *v3) {
    scratch->len = 0;
    const char *ks[3] = {k1, k2, k3}, *vs[3] = {v1, v2, v3};
    for (int i = 0; i < 3; i++) {
        if (!ks[i]) break;
        put(scratch, ks[i]);
        put(scratch, "=");
        put_label_value(scratch, vs[i]);
        put(scratch, ",");
    }
    weir_buf_append(scratch, "", 1);
    return (char *)scratch->data;
}

static void histogram(weir_buf *out, const char *name, const char *labels, const weir_histogram *h) {
    uint64_t cum = 0;
    char num[64];
    for (int i = 0; i <= h->nbounds; i++) {
        cum += h->counts[i];
        if (i < h->nbounds) fmt_double(h->bounds[i], num, sizeof num);
        else strcpy(num, "+Inf");
        putf(out, "%s_bucket{%sle=\"%s\"} %" PRIu64 "\n", name, labels, num, cum);
    }
    fmt_double(h->sum, num, sizeof num);
    if (labels && *labels) {
        putf(out, "%s_sum{%.*s} %s\n", name, (int)strlen(labels) - 1, labels, num);
        putf(out, "%s_count{%.*s} %" PRIu64 "\n", name, (int)strlen(labels) - 1, labels, h->count);
    } else {
        putf(out, "%s_sum %s\n%s_count %" PRIu64 "\n", name, num, name, h->count);
    }
}

void weir_http_render_metrics(const weir_http_snapshot *s, weir_buf *out) {
    weir_buf sc;
    weir_buf_init(&sc);
    char part[16];
    static const struct {
        const char *name, *help;
        size_t field;
    } topic_counters[] = {
        {"weir_topic_bytes_in_total", "Bytes of record batches produced to the topic since the broker started.",
         offsetof(http_topic, bytes_in)},
        {"weir_topic_records_in_total", "Records produced to the topic since the broker started.",
         offsetof(http_topic, records_in)},
        {"weir_topic_bytes_out_total", "Bytes of record batches fetched from the topic since the broker started.",
         offsetof(http_topic, bytes_out)},
        {"weir_topic_records_out_total", "Records in the batches fetched from the topic since the broker started.",
         offsetof(http_topic, records_out)},
    };
    for (size_t c = 0; c < sizeof topic_counters / sizeof topic_counters[0]; c++) {
        family(out, topic_counters[c].name, "counter", topic_counters[c].help);
        for (int i = 0; i < s->ntopics; i++) {
            const http_topic *t = &s->topics[i];
            int64_t v = *(const int64_t *)((const char *)t + topic_counters[c].field);
            sample_i64(out, topic_counters[c].name, labels_of(&sc, "topic", t->name, NULL, NULL, NULL, NULL), v);
        }
    }
    static const struct {
        const char *name, *help;
        size_t field;
    } part_gauges[] = {
        {"weir_partition_log_start_offset", "First offset still stored in the partition.",
         offsetof(http_partition, log_start)},
        {"weir_partition_high_watermark", "End of the partition's committed data (next offset).",
         offsetof(http_partition, hw)},
        {"weir_partition_bytes", "Bytes of committed record batches stored for the partition.",
         offsetof(http_partition, bytes)},
    };
    for (size_t c = 0; c < sizeof part_gauges / sizeof part_gauges[0]; c++) {
        family(out, part_gauges[c].name, "gauge", part_gauges[c].help);
        for (int i = 0; i < s->ntopics; i++) {
            const http_topic *t = &s->topics[i];
            for (int32_t k = 0; k < t->npartitions; k++) {
                int64_t v = *(const int64_t *)((const char *)&t->partitions[k] + part_gauges[c].field);
                snprintf(part, sizeof part, "%d", (int)k);
                sample_i64(out, part_gauges[c].name, labels_of(&sc, "topic", t->name, "partition", part, NULL, NULL),
                           v);
            }
        }
    }

    const weir_metrics *m = &s->metrics;
    family(out, "weir_requests_total", "counter", "Kafka requests served, by API.");
    for (int k = 0; k < WEIR_METRICS_MAX_API; k++)
        if (m->api[k].name)
            sample_i64(out, "weir_requests_total", labels_of(&sc, "api", m->api[k].name, NULL, NULL, NULL, NULL),
                       (int64_t)m->api[k].requests);
    family(out, "weir_request_duration_seconds", "histogram",
           "Time from a Kafka request's arrival to its encoded response, by API.");
    for (int k = 0; k < WEIR_METRICS_MAX_API; k++)
        if (m->api[k].name)
            histogram(out, "weir_request_duration_seconds",
                      labels_of(&sc, "api", m->api[k].name, NULL, NULL, NULL, NULL), &m->api[k].latency);

    family(out, "weir_connections", "gauge", "Open Kafka client connections.");
    sample_i64(out, "weir_connections", "", m->connections);
    family(out, "weir_connections_accepted_total", "counter", "Kafka client connections accepted since start.");
    sample_i64(out, "weir_connections_accepted_total", "", (int64_t)m->connections_total);

    family(out, "weir_wal_flush_duration_seconds", "histogram",
           "Time to make one WAL object durable: object put plus metadata commit.");
    histogram(out, "weir_wal_flush_duration_seconds", "", &m->wal_flush_seconds);
    family(out, "weir_wal_object_size_bytes", "histogram", "Size of each WAL object written.");
    histogram(out, "weir_wal_object_size_bytes", "", &m->wal_object_bytes);
    family(out, "weir_wal_flush_failures_total", "counter", "WAL flushes that failed (object store or metadata).");
    sample_i64(out, "weir_wal_flush_failures_total", "", (int64_t)m->wal_flush_failures);

    family(out, "weir_objects", "gauge", "Objects in the object store that the log knows of.");
    sample_i64(out, "weir_objects", "", s->objects);
    family(out, "weir_object_bytes", "gauge", "Total size of those objects.");
    sample_i64(out, "weir_object_bytes", "", s->object_bytes);

    if (s->have_groups) {
        family(out, "weir_group_members", "gauge", "Members of the consumer group.");
        for (int i = 0; i < s->ngroups; i++)
            sample_i64(out, "weir_group_members",
                       labels_of(&sc, "group", s->groups[i].group, NULL, NULL, NULL, NULL),
                       s->groups[i].nmembers);
        family(out, "weir_group_committed_offset", "gauge", "Offset the group committed for the partition.");
        for (int i = 0; i < s->ngroups; i++)
            for (int k = 0; k < s->groups[i].noffsets; k++) {
                const http_offset *o = &s->groups[i].offsets[k];
                snprintf(part, sizeof part, "%d", (int)o->partition);
                sample_i64(out, "weir_group_committed_offset",
                           labels_of(&sc, "group", s->groups[i].group, "topic", o->topic, "partition", part),
                           o->committed);
            }
        family(out, "weir_group_lag", "gauge",
               "Consumer-group lag: the partition's high watermark minus the group's committed offset.");
        for (int i = 0; i < s->ngroups; i++)
            for (int k = 0; k < s->groups[i].noffsets; k++) {
                const http_offset *o = &s->groups[i].offsets[k];
                if (o->lag < 0) continue; /* the partition is gone */
                snprintf(part, sizeof part, "%d", (int)o->partition);
                sample_i64(out, "weir_group_lag",
                           labels_of(&sc, "group", s->groups[i].group, "topic", o->topic, "partition", part), o->lag);
            }
    }
    weir_buf_free(&sc);
}

/* ---- JSON ------------------------------------------------------------------------------------ */

static void dump_json(json_t *root, weir_buf *out) {
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!text) abort();
    put(out, text);
    put(out, "\n");
    free(text);
}

static json_t *jstr(const char *s) { return s ? json_string(s) : json_null(); }

void weir_http_render_topics_json(const weir_http_snapshot *s, weir_buf *out) {
    json_t *topics = json_array();
    for (int i = 0; i < s->ntopics; i++) {
        const http_topic *t = &s->topics[i];
        json_t *parts = json_array();
        int64_t bytes = 0;
        for (int32_t k = 0; k < t->npartitions; k++) {
            const http_partition *p = &t->partitions[k];
            bytes += p->bytes;
            json_array_append_new(parts, json_pack("{s:i, s:I, s:I, s:I}", "partition", (int)p->partition,
                                                   "log_start_offset", (json_int_t)p->log_start, "high_watermark",
                                                   (json_int_t)p->hw, "bytes", (json_int_t)p->bytes));
        }
        json_array_append_new(
            topics, json_pack("{s:o, s:s, s:i, s:I, s:o, s:I, s:I, s:I, s:I}", "name", jstr(t->name), "id", t->id,
                              "partition_count", (int)t->npartitions, "bytes", (json_int_t)bytes, "partitions", parts,
                              "bytes_in", (json_int_t)t->bytes_in, "records_in", (json_int_t)t->records_in,
                              "bytes_out", (json_int_t)t->bytes_out, "records_out", (json_int_t)t->records_out));
    }
    dump_json(json_pack("{s:o}", "topics", topics), out);
}

void weir_http_render_groups_json(const weir_http_snapshot *s, weir_buf *out) {
    json_t *groups = json_array();
    for (int i = 0; i < s->ngroups; i++) {
        const http_group *g = &s->groups[i];
        json_t *members = json_array();
        for (int k = 0; k < g->nmembers; k++) {
            const http_member *m = &g->members[k];
            json_array_append_new(members, json_pack("{s:o, s:o, s:o, s:o}", "member_id", jstr(m->member_id),
                                                     "group_instance_id", jstr(m->instance_id), "client_id",
                                                     jstr(m->client_id), "client_host", jstr(m->client_host)));
        }
        json_t *offsets = json_array();
        for (int k = 0; k < g->noffsets; k++) {
            const http_offset *o = &g->offsets[k];
            json_array_append_new(
                offsets, json_pack("{s:o, s:i, s:I, s:o, s:o}", "topic", jstr(o->topic), "partition", (int)o->partition,
                                   "committed_offset", (json_int_t)o->committed, "end_offset",
                                   o->end >= 0 ? json_integer(o->end) : json_null(), "lag",
                                   o->lag >= 0 ? json_integer(o->lag) : json_null()));
        }
        json_array_append_new(groups, json_pack("{s:o, s:o, s:o, s:o, s:i, s:o, s:o}", "group", jstr(g->group),
                                                "state", jstr(g->state), "protocol_type", jstr(g->protocol_type),
                                                "protocol", jstr(g->protocol), "generation", (int)g->generation,
                                                "members", members, "offsets", offsets));
    }
    dump_json(json_pack("{s:b, s:o}", "loaded", s->have_groups ? s->groups_loaded : 1, "groups", groups), out);
}
