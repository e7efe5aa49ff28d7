/* groups.c — `weir groups`: lists consumer groups through the broker's admin API
 * (GET /api/v1/groups): state and member count, and per committed partition the
 * committed offset, the partition's end offset and the lag between them; or the API's
 * JSON with -o json. */
#include "cli/cli.h"

static void groups_usage(FILE *f) {
    fprintf(f, "usage: weir groups [--http HOST:PORT] [-o table|json]\n"
               "\n"
               "Lists consumer groups: state, members, and for each partition with a committed\n"
               "offset the committed offset, the end offset (high watermark) and the lag, read\n"
               "from a running broker's HTTP API (http.listener; default $WEIR_HTTP_LISTENER,\n"
               "else 127.0.0.1:8081).\n");
}

int weir_cli_groups(int argc, char **argv) {
    weir_cli_admin_opts o;
    int rc = weir_cli_admin_args("groups", argc, argv, &o, groups_usage);
    if (rc >= 0) return rc;
    json_t *doc = weir_cli_admin_get("groups", o.http, "/api/v1/groups");
    if (!doc) return 1;
    if (o.json) {
        weir_cli_json_print(doc);
        json_decref(doc);
        return 0;
    }
    weir_cli_table t;
    weir_cli_table_init(&t, 8);
    weir_cli_table_row(&t, "GROUP", "STATE", "MEMBERS", "TOPIC", "PARTITION", "COMMITTED", "END", "LAG");
    size_t i, k;
    json_t *g, *off;
    json_array_foreach(json_object_get(doc, "groups"), i, g) {
        const char *name = json_string_value(json_object_get(g, "group"));
        const char *state = json_string_value(json_object_get(g, "state"));
        const char *members =
            weir_arena_sprintf(&t.arena, "%zu", json_array_size(json_object_get(g, "members")));
        json_t *offsets = json_object_get(g, "offsets");
        if (json_array_size(offsets) == 0) weir_cli_table_row(&t, name, state, members, NULL, NULL, NULL, NULL, NULL);
        json_array_foreach(offsets, k, off) {
            weir_cli_table_row(&t, name, state, members, json_string_value(json_object_get(off, "topic")),
                               weir_cli_table_num(&t, json_object_get(off, "partition")),
                               weir_cli_table_num(&t, json_object_get(off, "committed_offset")),
                               weir_cli_table_num(&t, json_object_get(off, "end_offset")),
                               weir_cli_table_num(&t, json_object_get(off, "lag")));
        }
    }
    if (!json_is_true(json_object_get(doc, "loaded")))
        fprintf(stderr, "weir groups: the broker is still loading committed offsets; the list may be incomplete\n");
    weir_cli_table_print(&t, stdout);
    json_decref(doc);
    return 0;
}
