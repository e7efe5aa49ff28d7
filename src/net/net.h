/* net.h — the event loop (epoll), timers, cross-thread posts, and framed TCP
 * connections. All OS-specific networking lives in this module. A loop and everything
 * registered on it belong to the one thread that runs weir_loop_run(); other threads
 * talk to it only through weir_loop_post(). */
#ifndef WEIR_NET_H
#define WEIR_NET_H

#include "base/base.h"

typedef struct weir_loop weir_loop;
typedef struct weir_conn weir_conn;
typedef struct weir_timer weir_timer;

int weir_loop_new(weir_loop **out, weir_err *err);
/* Runs until weir_loop_stop(); it can be run again afterwards. @thread the loop's own. */
int weir_loop_run(weir_loop *loop);
/* Stops the loop; callable from any thread and from signal-safe contexts via post. */
void weir_loop_stop(weir_loop *loop);
void weir_loop_free(weir_loop *loop);
/* Shutdown: runs the loop with every timer due at once until idle(arg) is true and no
 * timers or posts remain, or max_ms passes. @thread the loop's own, after run returned. */
int weir_loop_drain(weir_loop *loop, bool (*idle)(void *arg), void *arg, int64_t max_ms);
/* True while weir_loop_drain runs: periodic timers should not re-arm then. */
bool weir_loop_draining(const weir_loop *loop);

/* Runs fn(arg) on the loop's thread soon. @thread any; @locks takes the post queue lock. */
void weir_loop_post(weir_loop *loop, void (*fn)(void *arg), void *arg);

/* Timers fire once on the loop's thread; cancel before the owner dies. */
typedef void (*weir_timer_fn)(void *arg);
weir_timer *weir_timer_add(weir_loop *loop, int64_t delay_ms, weir_timer_fn fn, void *arg);
void weir_timer_cancel(weir_loop *loop, weir_timer *t);

/* Called once per loop iteration before it sleeps (Valkey's beforeSleep). */
void weir_loop_set_before_sleep(weir_loop *loop, void (*fn)(void *arg), void *arg);

/* A framed connection: each frame is a big-endian int32 size and that many bytes.
 * on_frame gets the payload (valid until it returns; copy what you keep). A frame
 * larger than max_frame, or a negative size, closes the connection. */
typedef struct weir_conn_handler {
    void (*on_open)(weir_conn *c, void *ctx);
    void (*on_frame)(weir_conn *c, uint8_t *frame, size_t len, void *ctx);
    void (*on_close)(weir_conn *c, void *ctx); /* the conn is freed after this returns */
    void *ctx;
} weir_conn_handler;

typedef struct weir_listener weir_listener;
int weir_listener_open(weir_loop *loop, const char *host, int port, int32_t max_frame, int max_conns,
                       const weir_conn_handler *h, weir_listener **out, weir_err *err);
int weir_listener_port(const weir_listener *l); /* the bound port (for port 0) */
void weir_listener_close(weir_listener *l);

/* Queues bytes to send; sent in order. */
void weir_conn_send(weir_conn *c, const void *data, size_t len);
/* Closes after pending output is written (or at once if now is true). */
void weir_conn_close(weir_conn *c, bool now);
/* Stops reading new frames (backpressure) until resumed. */
void weir_conn_pause(weir_conn *c, bool paused);
void *weir_conn_user(weir_conn *c);
void weir_conn_set_user(weir_conn *c, void *user);
const char *weir_conn_peer(const weir_conn *c); /* "127.0.0.1:53422" */
size_t weir_conn_pending_output(const weir_conn *c);

#endif
