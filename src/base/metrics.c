/* metrics.c — the process-wide counters and histograms of metrics.h. Updated and read on
 * the event loop's thread only, so there are no locks or atomics: the HTTP thread gets a
 * copy taken on the loop (src/http/snapshot.c). */
#include "base/base.h"

#include <string.h>

static const double latency_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                        0.1,    0.25,  0.5,    1,     2.5,  5,     10};
static const double size_bounds[] = {1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864};

#define NELEMS(a) ((int)(sizeof(a) / sizeof((a)[0])))

static weir_metrics metrics;

void weir_histogram_init(weir_histogram *h, const double *bounds, int nbounds) {
    memset(h, 0, sizeof *h);
    h->bounds = bounds;
    h->nbounds = nbounds < WEIR_HIST_MAX_BUCKETS ? nbounds : WEIR_HIST_MAX_BUCKETS;
}

void weir_histogram_observe(weir_histogram *h, double v) {
    int i = 0;
    while (i < h->nbounds && v > h->bounds[i]) i++;
    h->counts[i]++;
    h->count++;
    h->sum += v;
}

weir_metrics *weir_metrics_get(void) {
    if (!metrics.wal_flush_seconds.bounds) {
        weir_histogram_init(&metrics.wal_flush_seconds, latency_bounds, NELEMS(latency_bounds));
        weir_histogram_init(&metrics.wal_object_bytes, size_bounds, NELEMS(size_bounds));
    }
    return &metrics;
}

void weir_metrics_request(int16_t api_key, const char *api_name, int64_t us) {
    if (api_key < 0 || api_key >= WEIR_METRICS_MAX_API) return;
    weir_api_metrics *a = &metrics.api[api_key];
    if (!a->name) {
        a->name = api_name;
        weir_histogram_init(&a->latency, latency_bounds, NELEMS(latency_bounds));
    }
    a->requests++;
    weir_histogram_observe(&a->latency, (double)us / 1e6);
}

void weir_metrics_connection(int delta) {
    metrics.connections += delta;
    if (delta > 0) metrics.connections_total += (uint64_t)delta;
}

void weir_metrics_wal_flush(int64_t us, int64_t bytes, bool ok) {
    weir_metrics *m = weir_metrics_get();
    if (!ok) {
        m->wal_flush_failures++;
        return;
    }
    weir_histogram_observe(&m->wal_flush_seconds, (double)us / 1e6);
    weir_histogram_observe(&m->wal_object_bytes, (double)bytes);
}
