/* conn.c — TCP listener and framed connections. Reads fill one buffer per connection
 * and every complete frame (int32 size + payload) goes to the handler; output is queued
 * and written as the socket allows. Teardown is deferred to a loop post so a handler may
 * close the connection from inside its own callback. */
#include "net/net.h"
#include "net/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

struct weir_listener {
    weir_watch w;
    weir_conn *conns; /* open connections, to close them all at shutdown */
    int32_t max_frame;
    int max_conns, nconns;
    weir_conn_handler h;
    int port;
};

struct weir_conn {
    weir_watch w;
    weir_listener *listener;
    weir_conn *prev, *next; /* in the listener's list */
    weir_buf in;       /* bytes read, not yet handed out as frames */
    size_t in_pos;     /* start of the first unconsumed byte in `in` */
    weir_buf out;      /* queued output */
    size_t out_pos;    /* bytes of `out` already written */
    bool dead;         /* torn down or about to be */
    bool close_after_write;
    bool paused;
    bool in_callback;
    void *user;
    char peer[64];
};

static void conn_update_events(weir_conn *c) {
    if (c->dead) return;
    uint32_t ev = 0;
    if (!c->paused && !c->close_after_write) ev |= EPOLLIN;
    if (c->out.len > c->out_pos) ev |= EPOLLOUT;
    weir_watch_mod(&c->w, ev);
}

static void conn_free_post(void *arg) {
    weir_conn *c = arg;
    weir_listener *l = c->listener;
    if (l->h.on_close) l->h.on_close(c, l->h.ctx);
    l->nconns--;
    if (c->prev) c->prev->next = c->next;
    else l->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    close(c->w.fd);
    weir_buf_free(&c->in);
    weir_buf_free(&c->out);
    free(c);
}

static void conn_teardown(weir_conn *c) {
    if (c->dead) return;
    c->dead = true;
    weir_watch_del(&c->w);
    shutdown(c->w.fd, SHUT_RDWR);
    weir_loop_post(c->w.loop, conn_free_post, c);
}

void weir_conn_close(weir_conn *c, bool now) {
    if (c->dead) return;
    if (now || c->out.len == c->out_pos) {
        conn_teardown(c);
        return;
    }
    c->close_after_write = true;
    conn_update_events(c);
}

static void conn_flush(weir_conn *c) {
    while (!c->dead && c->out.len > c->out_pos) {
        ssize_t n = send(c->w.fd, c->out.data + c->out_pos, c->out.len - c->out_pos, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) break;
            conn_teardown(c);
            return;
        }
        c->out_pos += (size_t)n;
    }
    if (c->out_pos == c->out.len) {
        c->out.len = c->out_pos = 0;
        if (c->out.cap > (4u << 20)) weir_buf_free(&c->out); /* give back big buffers */
        if (c->close_after_write) {
            conn_teardown(c);
            return;
        }
    }
    conn_update_events(c);
}

void weir_conn_send(weir_conn *c, const void *data, size_t len) {
    if (c->dead) return;
    weir_buf_append(&c->out, data, len);
    if (!c->in_callback) conn_flush(c);
}

static void conn_dispatch(weir_conn *c);

/* Resumes frame dispatch after a pause was lifted (frames may already be buffered).
 * Posted, so it never runs inside a handler's callback; a teardown posted later frees
 * the connection only after this has run. */
static void conn_resume_post(void *arg) {
    weir_conn *c = arg;
    if (!c->dead && !c->paused) conn_dispatch(c);
}

void weir_conn_pause(weir_conn *c, bool paused) {
    if (c->dead || c->paused == paused) return;
    c->paused = paused;
    conn_update_events(c);
    if (!paused) weir_loop_post(c->w.loop, conn_resume_post, c);
}

void *weir_conn_user(weir_conn *c) { return c->user; }
void weir_conn_set_user(weir_conn *c, void *user) { c->user = user; }
const char *weir_conn_peer(const weir_conn *c) { return c->peer; }
size_t weir_conn_pending_output(const weir_conn *c) { return c->out.len - c->out_pos; }

/* Hands every complete frame in the input buffer to the handler. */
static void conn_dispatch(weir_conn *c) {
    weir_listener *l = c->listener;
    c->in_callback = true;
    while (!c->dead && !c->paused && !c->close_after_write) {
        size_t avail = c->in.len - c->in_pos;
        if (avail < 4) break;
        int32_t size = (int32_t)weir_be32_get(c->in.data + c->in_pos);
        if (size < 0 || size > l->max_frame) {
            weir_warn("net", "closing %s: request frame of %d bytes (socket.request.max.bytes is %d)", c->peer, size,
                      l->max_frame);
            conn_teardown(c);
            break;
        }
        if (avail - 4 < (size_t)size) {
            weir_buf_reserve(&c->in, (size_t)size + 4 - avail);
            break;
        }
        uint8_t *frame = c->in.data + c->in_pos + 4;
        c->in_pos += 4 + (size_t)size;
        l->h.on_frame(c, frame, (size_t)size, l->h.ctx);
    }
    c->in_callback = false;
    if (c->in_pos == c->in.len) c->in.len = c->in_pos = 0;
    else if (c->in_pos > 0 && c->in_pos > c->in.len / 2) {
        memmove(c->in.data, c->in.data + c->in_pos, c->in.len - c->in_pos);
        c->in.len -= c->in_pos;
        c->in_pos = 0;
    }
    if (!c->dead) conn_flush(c);
}

static void conn_on_event(weir_watch *w, uint32_t events) {
    weir_conn *c = (weir_conn *)w;
    if (c->dead) return;
    if (events & EPOLLOUT) conn_flush(c);
    if (c->dead) return;
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        if (c->paused || c->close_after_write) {
            if (events & (EPOLLHUP | EPOLLERR)) conn_teardown(c);
            return;
        }
        for (int rounds = 0; rounds < 16 && !c->dead; rounds++) {
            weir_buf_reserve(&c->in, 65536);
            ssize_t n = recv(c->w.fd, c->in.data + c->in.len, c->in.cap - c->in.len, 0);
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno != EAGAIN) conn_teardown(c);
                break;
            }
            if (n == 0) {
                conn_teardown(c);
                break;
            }
            c->in.len += (size_t)n;
            if (c->in.len < c->in.cap) break;
        }
        if (!c->dead) conn_dispatch(c);
    }
}


static void listener_on_event(weir_watch *w, uint32_t events) {
    (void)events;
    weir_listener *l = (weir_listener *)w;
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(l->w.fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN) weir_warn("net", "accept: %s", strerror(errno));
            return;
        }
        if (l->nconns >= l->max_conns) {
            weir_warn("net", "refusing a connection: max.connections (%d) reached", l->max_conns);
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        weir_conn *c = calloc(1, sizeof *c);
        if (!c) abort();
        c->w.fd = fd;
        c->w.loop = l->w.loop;
        c->w.fn = conn_on_event;
        c->listener = l;
        char host[INET6_ADDRSTRLEN] = "?", serv[16] = "?";
        getnameinfo((struct sockaddr *)&ss, sl, host, sizeof host, serv, sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV);
        snprintf(c->peer, sizeof c->peer, "%s:%s", host, serv);
        l->nconns++;
        c->next = l->conns;
        if (l->conns) l->conns->prev = c;
        l->conns = c;
        weir_watch_add(&c->w, EPOLLIN);
        if (l->h.on_open) l->h.on_open(c, l->h.ctx);
    }
}

int weir_listener_open(weir_loop *loop, const char *host, int port, int32_t max_frame, int max_conns,
                       const weir_conn_handler *h, weir_listener **out, weir_err *err) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *ai;
    char ports[16];
    snprintf(ports, sizeof ports, "%d", port);
    int rc = getaddrinfo(host[0] ? host : NULL, ports, &hints, &ai);
    if (rc) return weir_err_set(err, "listener %s:%d: %s", host, port, gai_strerror(rc));
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1024) < 0) {
        int e = errno;
        if (fd >= 0) close(fd);
        freeaddrinfo(ai);
        return weir_err_set(err, "cannot listen on %s:%d: %s", host, port, strerror(e));
    }
    freeaddrinfo(ai);
    weir_listener *l = calloc(1, sizeof *l);
    if (!l) abort();
    l->w.fd = fd;
    l->w.loop = loop;
    l->w.fn = listener_on_event;
    l->max_frame = max_frame;
    l->max_conns = max_conns;
    l->h = *h;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    l->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                             : ((struct sockaddr_in *)&ss)->sin_port);
    weir_watch_add(&l->w, EPOLLIN);
    *out = l;
    return WEIR_OK;
}

int weir_listener_port(const weir_listener *l) { return l->port; }

static void listener_free_post(void *arg) { free(arg); }

/* Stops accepting, closes every connection, and frees the listener after their
 * teardown posts have run (posts run in order). */
void weir_listener_close(weir_listener *l) {
    if (!l) return;
    weir_watch_del(&l->w);
    close(l->w.fd);
    for (weir_conn *c = l->conns; c; c = c->next) conn_teardown(c);
    weir_loop_post(l->w.loop, listener_free_post, l);
}
