/* metrics.h — the broker's own counters, gauges and fixed-bucket histograms (included by
 * base.h). They are updated only on the event loop's thread, so an update is a plain
 * add; a scrape copies them on that same thread (src/http) and renders the copy
 * elsewhere. Per-topic counters live in the topic (log.h), not here. */
#ifndef WEIR_BASE_METRICS_H
#define WEIR_BASE_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#define WEIR_HIST_MAX_BUCKETS 16

/* A histogram with fixed upper bounds (Prometheus "le"); counts[i] holds observations
 * in (bounds[i-1], bounds[i]], counts[nbounds] the ones above the last bound. */
typedef struct weir_histogram {
    const double *bounds;
    int nbounds;
    uint64_t counts[WEIR_HIST_MAX_BUCKETS + 1];
    uint64_t count;
    double sum;
} weir_histogram;

void weir_histogram_init(weir_histogram *h, const double *bounds, int nbounds);
void weir_histogram_observe(weir_histogram *h, double v);

/* Kafka API keys are below this (the generated codec knows keys up to 69). */
#define WEIR_METRICS_MAX_API 128

typedef struct weir_api_metrics {
    const char *name;       /* the API's name (static), NULL until its first request */
    uint64_t requests;
    weir_histogram latency; /* seconds from frame arrival to response encoded */
} weir_api_metrics;

/* Everything the process counts outside topics. One instance; @thread loop. */
typedef struct weir_metrics {
    weir_api_metrics api[WEIR_METRICS_MAX_API];
    int64_t connections;          /* open Kafka connections */
    uint64_t connections_total;   /* accepted since start */
    weir_histogram wal_flush_seconds; /* put + metadata commit of one WAL object */
    weir_histogram wal_object_bytes;  /* size of each WAL object written */
    uint64_t wal_flush_failures;
} weir_metrics;

/* The process's metrics. @thread loop (read and write). */
weir_metrics *weir_metrics_get(void);
/* One request of api_key answered (or dropped, acks=0) after us microseconds. */
void weir_metrics_request(int16_t api_key, const char *api_name, int64_t us);
/* A Kafka connection opened (+1) or closed (-1). */
void weir_metrics_connection(int delta);
/* A WAL flush finished: how long it took, the object's size, whether it succeeded. */
void weir_metrics_wal_flush(int64_t us, int64_t bytes, bool ok);

#endif
