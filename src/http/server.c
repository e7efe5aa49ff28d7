/* server.c — the HTTP listener on libmicrohttpd (one thread per connection, so a slow
 * scrape never holds up /healthz). A request that needs broker state posts a closure to
 * the event loop, which copies a snapshot (snapshot.c) and signals; the HTTP thread
 * waits for it with a deadline and renders it (render.c). The closure is shared by the
 * two threads and freed by whichever lets go of it last, so a timed-out request never
 * leaves the loop holding freed memory. */
#include "http/internal.h"

#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "group/group.h"

#define SNAPSHOT_TIMEOUT_MS 5000

struct weir_http_server {
    weir_http_sources src;
    struct MHD_Daemon *daemon;
    int port;
    atomic_bool stopping;
};

/* One snapshot request, shared by the HTTP thread and the loop. */
typedef struct http_call {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int refs; /* 2: the HTTP thread and the loop's post */
    bool done;
    weir_http_sources src;
    weir_http_snapshot *snap;
} http_call;

static void call_release(http_call *c) {
    pthread_mutex_lock(&c->lock);
    bool last = --c->refs == 0;
    pthread_mutex_unlock(&c->lock);
    if (!last) return;
    weir_http_snapshot_free(c->snap);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cond);
    free(c);
}

/* @thread loop. */
static void call_run(void *arg) {
    http_call *c = arg;
    weir_http_snapshot *s = weir_http_snapshot_take(&c->src);
    pthread_mutex_lock(&c->lock);
    c->snap = s;
    c->done = true;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->lock);
    call_release(c);
}

/* Takes a snapshot on the loop; NULL if the loop does not answer in time or the server
 * is stopping. @thread HTTP. */
static weir_http_snapshot *snapshot_get(weir_http_server *h) {
    if (atomic_load(&h->stopping)) return NULL;
    http_call *c = calloc(1, sizeof *c);
    if (!c) abort();
    pthread_mutex_init(&c->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cond, &ca);
    pthread_condattr_destroy(&ca);
    c->refs = 2;
    c->src = h->src;
    weir_loop_post(h->src.loop, call_run, c);
    int64_t deadline = weir_mono_ms() + SNAPSHOT_TIMEOUT_MS;
    weir_http_snapshot *s = NULL;
    pthread_mutex_lock(&c->lock);
    while (!c->done && !atomic_load(&h->stopping)) {
        int64_t now = weir_mono_ms();
        if (now >= deadline) break;
        /* wake up now and then to notice a stop */
        int64_t until = now + 100 < deadline ? now + 100 : deadline;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t ns = (int64_t)ts.tv_nsec + (until - now) * 1000000;
        ts.tv_sec += ns / 1000000000;
        ts.tv_nsec = ns % 1000000000;
        pthread_cond_timedwait(&c->cond, &c->lock, &ts);
    }
    if (c->done) {
        s = c->snap;
        c->snap = NULL;
    }
    pthread_mutex_unlock(&c->lock);
    call_release(c);
    return s;
}

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, const char *type, weir_buf *body) {
    /* the response takes the buffer; libmicrohttpd frees it with free() */
    struct MHD_Response *r;
    if (body->len)
        r = MHD_create_response_from_buffer(body->len, body->data, MHD_RESPMEM_MUST_FREE);
    else {
        weir_buf_free(body);
        r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    body->data = NULL;
    body->len = body->cap = 0;
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result respond_text(struct MHD_Connection *conn, unsigned status, const char *type, const char *text) {
    weir_buf b;
    weir_buf_init(&b);
    weir_buf_append(&b, text, strlen(text));
    return respond(conn, status, type, &b);
}

static enum MHD_Result unavailable(struct MHD_Connection *conn, weir_http_server *h) {
    return respond_text(conn, 503, "text/plain; charset=utf-8",
                        atomic_load(&h->stopping) ? "shutting down\n"
                                                  : "the broker's event loop did not answer within 5 seconds\n");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
    (void)version;
    (void)upload_data;
    weir_http_server *h = cls;
    if (!*con_cls) { /* first call: headers only; answer on the next */
        *con_cls = (void *)1;
        return MHD_YES;
    }
    if (*upload_data_size) { /* no endpoint takes a body */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return respond_text(conn, 405, "text/plain; charset=utf-8", "only GET is served here\n");
    if (!strcmp(url, "/healthz")) return respond_text(conn, 200, "text/plain; charset=utf-8", "ok\n");

    bool metrics = !strcmp(url, "/metrics"), readyz = !strcmp(url, "/readyz"),
         topics = !strcmp(url, "/api/v1/topics"), groups = !strcmp(url, "/api/v1/groups");
    if (!metrics && !readyz && !topics && !groups) {
        json_t *e = json_pack("{s:s+}", "error", "no such endpoint: ", url);
        char *msg = e ? json_dumps(e, 0) : NULL;
        json_decref(e);
        enum MHD_Result rc = respond_text(conn, 404, "application/json", msg ? msg : "{}");
        free(msg);
        return rc;
    }
    weir_http_snapshot *s = snapshot_get(h);
    if (!s) return unavailable(conn, h);
    weir_buf body;
    weir_buf_init(&body);
    enum MHD_Result rc;
    if (readyz) {
        /* The loop answered, so the log is loaded and the Kafka listener accepts;
         * committed offsets must be loaded too. */
        if (s->have_groups && !s->groups_loaded)
            rc = respond_text(conn, 503, "text/plain; charset=utf-8", "loading committed offsets\n");
        else
            rc = respond_text(conn, 200, "text/plain; charset=utf-8", "ready\n");
    } else if (metrics) {
        weir_http_render_metrics(s, &body);
        rc = respond(conn, 200, "text/plain; version=0.0.4; charset=utf-8", &body);
    } else if (topics) {
        weir_http_render_topics_json(s, &body);
        rc = respond(conn, 200, "application/json", &body);
    } else {
        weir_http_render_groups_json(s, &body);
        rc = respond(conn, 200, "application/json", &body);
    }
    weir_buf_free(&body);
    weir_http_snapshot_free(s);
    return rc;
}

/* Binds the listening socket ourselves, for a clear error and the bound port. */
static int listen_on(const char *listener, int *fd_out, int *port_out, weir_err *err) {
    char host[256];
    int port;
    if (weir_config_parse_listener(listener, host, sizeof host, &port, err) != WEIR_OK)
        return weir_err_wrap(err, "http.listener");
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *ai;
    char ports[16];
    snprintf(ports, sizeof ports, "%d", port);
    int gai = getaddrinfo(host[0] ? host : NULL, ports, &hints, &ai);
    if (gai != 0) return weir_err_set(err, "http.listener %s: %s", listener, gai_strerror(gai));
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        freeaddrinfo(ai);
        return weir_err_set(err, "http.listener %s: socket: %s", listener, strerror(errno));
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 128) != 0) {
        int e = errno;
        close(fd);
        freeaddrinfo(ai);
        return weir_err_set(err, "http.listener %s: %s", listener, strerror(e));
    }
    freeaddrinfo(ai);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    *port_out = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                               : ((struct sockaddr_in *)&ss)->sin_port);
    *fd_out = fd;
    return WEIR_OK;
}

int weir_http_start(const weir_config *cfg, const weir_http_sources *src, weir_http_server **out, weir_err *err) {
    int fd, port;
    if (listen_on(cfg->http_listener, &fd, &port, err) != WEIR_OK) return WEIR_ERROR;
    weir_http_server *h = calloc(1, sizeof *h);
    if (!h) abort();
    h->src = *src;
    h->port = port;
    h->daemon = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL,
                                 on_request, h, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
                                 (unsigned)64, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_END);
    if (!h->daemon) {
        close(fd);
        free(h);
        return weir_err_set(err, "http.listener %s: libmicrohttpd could not start", cfg->http_listener);
    }
    *out = h;
    return WEIR_OK;
}

int weir_http_port(const weir_http_server *h) { return h->port; }

void weir_http_stop(weir_http_server *h) {
    if (!h || !h->daemon) return;
    atomic_store(&h->stopping, true);
    MHD_stop_daemon(h->daemon); /* closes the socket, joins the threads */
    h->daemon = NULL;
}

void weir_http_free(weir_http_server *h) {
    if (!h) return;
    weir_http_stop(h);
    free(h);
}
