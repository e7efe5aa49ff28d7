/* admin_client.c — what the HTTP-client subcommands (`weir topics`, `weir groups`) share:
 * their common options (--http HOST:PORT, -o table|json), a GET of a JSON document from
 * the broker's admin API with libcurl, and a plain-text table printer. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "cli/cli.h"

int weir_cli_admin_args(const char *cmd, int argc, char **argv, weir_cli_admin_opts *o, void (*usage)(FILE *f)) {
    const char *env = getenv("WEIR_HTTP_LISTENER");
    snprintf(o->http, sizeof o->http, "%s", env && *env ? env : "127.0.0.1:8081");
    o->json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--http") && i + 1 < argc) {
            snprintf(o->http, sizeof o->http, "%s", argv[++i]);
        } else if (!strcmp(argv[i], "-o") && i + 1 < argc) {
            const char *fmt = argv[++i];
            if (!strcmp(fmt, "json")) o->json = true;
            else if (!strcmp(fmt, "table")) o->json = false;
            else {
                fprintf(stderr, "weir %s: unknown output format '%s' (table or json)\n", cmd, fmt);
                return 2;
            }
        } else {
            fprintf(stderr, "weir %s: unknown argument '%s'\n\n", cmd, argv[i]);
            usage(stderr);
            return 2;
        }
    }
    return -1; /* go on */
}

static size_t on_body(char *p, size_t size, size_t n, void *arg) {
    weir_buf_append(arg, p, size * n);
    return size * n;
}

json_t *weir_cli_admin_get(const char *cmd, const char *http, const char *path) {
    char host[256];
    int port;
    weir_err err;
    if (weir_config_parse_listener(http, host, sizeof host, &port, &err) != WEIR_OK) {
        fprintf(stderr, "weir %s: --http %s: %s\n", cmd, http, err.msg);
        return NULL;
    }
    if (!host[0] || !strcmp(host, "0.0.0.0")) strcpy(host, "127.0.0.1");
    char url[400];
    snprintf(url, sizeof url, strchr(host, ':') ? "http://[%s]:%d%s" : "http://%s:%d%s", host, port, path);
    CURL *curl = curl_easy_init();
    if (!curl) {
        fprintf(stderr, "weir %s: could not initialise libcurl\n", cmd);
        return NULL;
    }
    weir_buf body;
    weir_buf_init(&body);
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    json_t *doc = NULL;
    if (rc != CURLE_OK) {
        fprintf(stderr,
                "weir %s: cannot reach the Weir HTTP API at %s: %s\n"
                "(is `weir serve` running with http.listener=%s? pick another address with --http HOST:PORT)\n",
                cmd, url, errbuf[0] ? errbuf : curl_easy_strerror(rc), http);
    } else if (status != 200) {
        fprintf(stderr, "weir %s: %s answered HTTP %ld: %.*s\n", cmd, url, status, (int)body.len,
                body.data ? (const char *)body.data : "");
    } else {
        json_error_t je;
        doc = json_loadb(body.data ? (const char *)body.data : "", body.len, 0, &je);
        if (!doc) fprintf(stderr, "weir %s: %s answered with invalid JSON: %s\n", cmd, url, je.text);
    }
    weir_buf_free(&body);
    return doc;
}

void weir_cli_json_print(json_t *doc) {
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text) {
        fputs(text, stdout);
        fputc('\n', stdout);
        free(text);
    }
}

/* ---- tables ------------------------------------------------------------------------------------ */

void weir_cli_table_init(weir_cli_table *t, int ncols) {
    memset(t, 0, sizeof *t);
    t->ncols = ncols;
    weir_arena_init(&t->arena, 0);
}

void weir_cli_table_row(weir_cli_table *t, ...) {
    if (t->nrows == t->caprows) {
        t->caprows = t->caprows ? t->caprows * 2 : 32;
        t->rows = realloc(t->rows, sizeof *t->rows * (size_t)t->caprows);
        if (!t->rows) abort();
    }
    char **row = weir_arena_alloc(&t->arena, sizeof *row * (size_t)t->ncols);
    va_list ap;
    va_start(ap, t);
    for (int i = 0; i < t->ncols; i++) {
        const char *s = va_arg(ap, const char *);
        row[i] = weir_arena_sprintf(&t->arena, "%s", s ? s : "-");
    }
    va_end(ap);
    t->rows[t->nrows++] = row;
}

const char *weir_cli_table_num(weir_cli_table *t, json_t *v) {
    if (json_is_integer(v)) return weir_arena_sprintf(&t->arena, "%lld", (long long)json_integer_value(v));
    if (json_is_string(v)) return json_string_value(v);
    return "-";
}

void weir_cli_table_print(weir_cli_table *t, FILE *f) {
    size_t width[16] = {0};
    for (int r = 0; r < t->nrows; r++)
        for (int c = 0; c < t->ncols && c < 16; c++)
            if (strlen(t->rows[r][c]) > width[c]) width[c] = strlen(t->rows[r][c]);
    for (int r = 0; r < t->nrows; r++) {
        for (int c = 0; c < t->ncols; c++) {
            if (c == t->ncols - 1) fprintf(f, "%s\n", t->rows[r][c]);
            else fprintf(f, "%-*s  ", (int)width[c], t->rows[r][c]);
        }
    }
    free(t->rows);
    weir_arena_free(&t->arena);
}
