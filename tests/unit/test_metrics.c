/* test_metrics.c — the metrics registry (histogram buckets) and the renderers of
 * src/http: Prometheus text escaping and cumulative buckets, JSON of groups whose
 * partition is gone. The live endpoints are tested in tests/it/test_http.py. */
#include "http/internal.h"

#include <jansson.h>

#include "test.h"

static const double bounds[] = {1, 10, 100};
static const double size_bounds[] = {1024, 1048576};

TEST(histogram_buckets_are_upper_inclusive) {
    weir_histogram h;
    weir_histogram_init(&h, bounds, 3);
    weir_histogram_observe(&h, 0.5);
    weir_histogram_observe(&h, 1);   /* le="1" includes 1 */
    weir_histogram_observe(&h, 10.5);
    weir_histogram_observe(&h, 1000); /* only +Inf */
    CHECK_EQ_INT(h.counts[0], 2);
    CHECK_EQ_INT(h.counts[1], 0);
    CHECK_EQ_INT(h.counts[2], 1);
    CHECK_EQ_INT(h.counts[3], 1);
    CHECK_EQ_INT(h.count, 4);
    CHECK(h.sum == 1012.0);
}

static weir_http_snapshot *sample_snapshot(void) {
    weir_http_snapshot *s = calloc(1, sizeof *s);
    weir_arena_init(&s->arena, 0);
    s->have_groups = s->groups_loaded = true;
    weir_histogram_init(&s->metrics.wal_object_bytes, size_bounds, 2);
    weir_histogram_observe(&s->metrics.wal_object_bytes, 100);
    weir_histogram_observe(&s->metrics.wal_object_bytes, 2000);
    weir_histogram_init(&s->metrics.wal_flush_seconds, bounds, 3);
    s->ngroups = 1;
    s->groups = weir_arena_alloc(&s->arena, sizeof *s->groups);
    http_group *g = &s->groups[0];
    g->group = "a\"b\\c\nd";
    g->state = "Empty";
    g->protocol_type = g->protocol = "";
    g->noffsets = 2;
    g->offsets = weir_arena_alloc(&s->arena, 2 * sizeof *g->offsets);
    g->offsets[0] = (http_offset){"t", 0, 5, 10, 5};
    g->offsets[1] = (http_offset){"gone", 3, 7, -1, -1};
    return s;
}

TEST(prometheus_text_escapes_labels_and_accumulates_buckets) {
    weir_http_snapshot *s = sample_snapshot();
    weir_buf out;
    weir_buf_init(&out);
    weir_http_render_metrics(s, &out);
    weir_buf_append(&out, "", 1);
    const char *text = (const char *)out.data;
    CHECK(strstr(text, "weir_group_lag{group=\"a\\\"b\\\\c\\nd\",topic=\"t\",partition=\"0\"} 5\n") != NULL);
    CHECK(strstr(text, "topic=\"gone\",partition=\"3\"} 7\n") != NULL); /* committed is still shown */
    CHECK(strstr(text, "weir_group_lag{group=\"a\\\"b\\\\c\\nd\",topic=\"gone\"") == NULL); /* no lag for it */
    CHECK(strstr(text, "weir_wal_object_size_bytes_bucket{le=\"1024\"} 1\n") != NULL);
    CHECK(strstr(text, "weir_wal_object_size_bytes_bucket{le=\"1048576\"} 2\n") != NULL);
    CHECK(strstr(text, "weir_wal_object_size_bytes_bucket{le=\"+Inf\"} 2\n") != NULL);
    CHECK(strstr(text, "weir_wal_object_size_bytes_sum 2100\n") != NULL);
    CHECK(strstr(text, "# TYPE weir_wal_flush_duration_seconds histogram\n") != NULL);
    weir_buf_free(&out);
    weir_arena_free(&s->arena);
    free(s);
}

TEST(groups_json_gives_null_lag_for_a_gone_partition) {
    weir_http_snapshot *s = sample_snapshot();
    weir_buf out;
    weir_buf_init(&out);
    weir_http_render_groups_json(s, &out);
    json_error_t je;
    json_t *doc = json_loadb((const char *)out.data, out.len, 0, &je);
    CHECK(doc != NULL);
    json_t *g = json_array_get(json_object_get(doc, "groups"), 0);
    CHECK_EQ_STR(json_string_value(json_object_get(g, "group")), "a\"b\\c\nd");
    json_t *o0 = json_array_get(json_object_get(g, "offsets"), 0), *o1 = json_array_get(json_object_get(g, "offsets"), 1);
    CHECK_EQ_INT(json_integer_value(json_object_get(o0, "lag")), 5);
    CHECK_EQ_INT(json_integer_value(json_object_get(o0, "end_offset")), 10);
    CHECK(json_is_null(json_object_get(o1, "lag")));
    CHECK(json_is_null(json_object_get(o1, "end_offset")));
    json_decref(doc);
    weir_buf_free(&out);
    weir_arena_free(&s->arena);
    free(s);
}

TEST_MAIN(T(histogram_buckets_are_upper_inclusive), T(prometheus_text_escapes_labels_and_accumulates_buckets),
          T(groups_json_gives_null_lag_for_a_gone_partition))
