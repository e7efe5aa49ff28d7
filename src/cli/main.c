/* main.c — the weir command: parses the subcommand and hands over to it. Only here may
 * the process exit. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: weir <command> [options]\n"
            "\n"
            "Weir: a Kafka-compatible broker whose log lives in object storage.\n"
            "\n"
            "commands:\n"
            "  serve      run the broker (Kafka listener, log, metadata)\n"
            "  topics     list topics: partitions, log start/end offsets, bytes (HTTP API)\n"
            "  groups     list consumer groups: state, members, committed offsets and lag (HTTP API)\n"
            "  sql        run Flink SQL jobs and queries: -f FILE, -e SQL, or an interactive prompt\n"
            "\n"
            "Run 'weir <command> --help' for a command's options.\n");
}

int main(int argc, char **argv, char **envp) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "serve")) return weir_cli_serve(argc - 1, argv + 1, envp);
    if (!strcmp(argv[1], "topics")) return weir_cli_topics(argc - 1, argv + 1);
    if (!strcmp(argv[1], "groups")) return weir_cli_groups(argc - 1, argv + 1);
    if (!strcmp(argv[1], "sql")) return weir_cli_sql(argc - 1, argv + 1);
    fprintf(stderr, "weir: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
