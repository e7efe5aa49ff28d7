/* topics.c — `weir topics`: lists the broker's topics through its admin API
 * (GET /api/v1/topics): one row per partition with its log start offset, end offset
 * (high watermark) and stored bytes, or the API's JSON with -o json. */
#include "cli/cli.h"

static void topics_usage(FILE *f) {
    fprintf(f, "usage: weir topics [--http HOST:PORT] [-o table|json]\n"
               "\n"
               "Lists topics with each partition's log start offset, end offset (high watermark)\n"
               "and stored bytes, read from a running broker's HTTP API (http.listener;\n"
               "default $WEIR_HTTP_LISTENER, else 127.0.0.1:8081).\n");
}

int weir_cli_topics(int argc, char **argv) {
    weir_cli_admin_opts o;
    int rc = weir_cli_admin_args("topics", argc, argv, &o, topics_usage);
    if (rc >= 0) return rc;
    json_t *doc = weir_cli_admin_get("topics", o.http, "/api/v1/topics");
    if (!doc) return 1;
    if (o.json) {
        weir_cli_json_print(doc);
        json_decref(doc);
        return 0;
    }
    weir_cli_table t;
    weir_cli_table_init(&t, 6);
    weir_cli_table_row(&t, "TOPIC", "PARTITION", "LOG-START", "END", "BYTES", "ID");
    size_t i, k;
    json_t *topic, *part;
    json_array_foreach(json_object_get(doc, "topics"), i, topic) {
        const char *name = json_string_value(json_object_get(topic, "name"));
        const char *id = json_string_value(json_object_get(topic, "id"));
        json_array_foreach(json_object_get(topic, "partitions"), k, part) {
            weir_cli_table_row(&t, name, weir_cli_table_num(&t, json_object_get(part, "partition")),
                               weir_cli_table_num(&t, json_object_get(part, "log_start_offset")),
                               weir_cli_table_num(&t, json_object_get(part, "high_watermark")),
                               weir_cli_table_num(&t, json_object_get(part, "bytes")), id);
        }
    }
    weir_cli_table_print(&t, stdout);
    json_decref(doc);
    return 0;
}
