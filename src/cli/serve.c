/* serve.c — `weir serve`: loads weir.properties and WEIR_ overrides, opens the log and
 * starts the Kafka listener on one event loop; SIGINT/SIGTERM stop it cleanly (in-flight
 * flushes finish first). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "cli/cli.h"
#include "http/http.h"
#include "kafka/kafka.h"
#include "log/log.h"
#include "net/net.h"

static void serve_usage(FILE *f) {
    fprintf(f,
            "usage: weir serve [--config FILE]\n"
            "\n"
            "Runs the broker. Configuration comes from FILE (Java properties: key=value, # comments),\n"
            "then from environment variables WEIR_<KEY> (upper-cased, dots as underscores:\n"
            "log.dirs -> WEIR_LOG_DIRS). Without --config, ./weir.properties is read if it exists.\n"
            "\n"
            "keys:\n");
    weir_config_key_info ki;
    for (int i = 0; weir_config_key(i, &ki); i++)
        fprintf(f, "  %-28s %s (default: %s)\n", ki.name, ki.doc, ki.default_value[0] ? ki.default_value : "\"\"");
}

typedef struct signal_waiter {
    sigset_t set;
    weir_loop *loop;
} signal_waiter;

/* Waits for SIGINT/SIGTERM (blocked in every thread) and stops the loop. */
static void *signal_thread(void *arg) {
    signal_waiter *sw = arg;
    int sig;
    if (sigwait(&sw->set, &sig) == 0) {
        weir_info("serve", "received %s, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
        weir_loop_stop(sw->loop);
    }
    return NULL;
}

static void before_sleep(void *arg) { weir_log_before_sleep(arg); }
static bool log_idle(void *arg) { return weir_log_idle(arg); }

int weir_cli_serve(int argc, char **argv, char **envp) {
    const char *config_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            serve_usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--config") && i + 1 < argc) {
            config_path = argv[++i];
        } else {
            fprintf(stderr, "weir serve: unknown argument '%s'\n\n", argv[i]);
            serve_usage(stderr);
            return 2;
        }
    }
    if (!config_path && access("weir.properties", R_OK) == 0) config_path = "weir.properties";
    weir_config cfg;
    weir_err err;
    if (weir_config_load(&cfg, config_path, envp, &err) != WEIR_OK) {
        fprintf(stderr, "weir serve: %s\n", err.msg);
        return 2;
    }
    weir_log_set_level(!strcmp(cfg.log_level, "debug")  ? WEIR_LOG_DEBUG
                       : !strcmp(cfg.log_level, "warn")  ? WEIR_LOG_WARN
                       : !strcmp(cfg.log_level, "error") ? WEIR_LOG_ERROR
                                                         : WEIR_LOG_INFO);
    signal(SIGPIPE, SIG_IGN);
    signal_waiter sw;
    sigemptyset(&sw.set);
    sigaddset(&sw.set, SIGINT);
    sigaddset(&sw.set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sw.set, NULL); /* threads created from here on inherit it */

    weir_loop *loop = NULL;
    weir_log *log = NULL;
    weir_kafka_server *kafka = NULL;
    weir_http_server *http = NULL;
    int status = 1;
    if (weir_loop_new(&loop, &err) != WEIR_OK) goto out;
    if (weir_log_open(&cfg, loop, &log, &err) != WEIR_OK) goto out;
    if (weir_kafka_server_start(&cfg, loop, log, &kafka, &err) != WEIR_OK) goto out;
    weir_http_sources hs = {loop, log, weir_kafka_server_groups(kafka)};
    if (cfg.http_listener[0] && weir_http_start(&cfg, &hs, &http, &err) != WEIR_OK) goto out;
    if (http) weir_info("serve", "HTTP on %s (port %d): /metrics /healthz /readyz /api/v1", cfg.http_listener,
                        weir_http_port(http));
    weir_loop_set_before_sleep(loop, before_sleep, log);
    sw.loop = loop;
    pthread_t sig_tid;
    pthread_create(&sig_tid, NULL, signal_thread, &sw);
    weir_info("serve", "Weir is serving Kafka on %s (port %d), data in %s", cfg.listeners,
              weir_kafka_server_port(kafka), cfg.log_dirs);
    weir_loop_run(loop);
    pthread_cancel(sig_tid);
    pthread_join(sig_tid, NULL);
    weir_http_stop(http); /* before the drain: no new snapshots of a stopping broker */
    /* Close every connection, then let in-flight flushes, reads and waiting requests
     * finish before the log goes away. */
    weir_kafka_server_stop(kafka);
    weir_loop_drain(loop, log_idle, log, 30000);
    weir_info("serve", "stopped");
    status = 0;
out:
    if (status) fprintf(stderr, "weir serve: %s\n", err.msg);
    weir_http_free(http);
    weir_kafka_server_free(kafka);
    weir_log_close(log);
    weir_loop_free(loop);
    return status;
}
