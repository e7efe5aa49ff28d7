/* loop.c — one epoll loop per thread: fd readiness, one-shot timers kept in a binary
 * heap, a before-sleep hook, and an eventfd-woken queue through which worker threads
 * hand completions back to the loop. */
#include "net/net.h"
#include "net/internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

typedef struct post {
    struct post *next;
    void (*fn)(void *);
    void *arg;
} post;

struct weir_timer {
    int64_t due_ms;
    size_t heap_index;
    weir_timer_fn fn;
    void *arg;
};

struct weir_loop {
    int epfd, evfd;
    volatile int stopping;
    bool draining; /* shutting down: every timer is due now */
    pthread_mutex_t lock;
    post *posts_head, *posts_tail;
    weir_timer **heap;
    size_t nheap, capheap;
    void (*before_sleep)(void *);
    void *before_sleep_arg;
    weir_watch evwatch;
};

static void heap_swap(weir_loop *l, size_t a, size_t b) {
    weir_timer *t = l->heap[a];
    l->heap[a] = l->heap[b];
    l->heap[b] = t;
    l->heap[a]->heap_index = a;
    l->heap[b]->heap_index = b;
}

static void heap_up(weir_loop *l, size_t i) {
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (l->heap[p]->due_ms <= l->heap[i]->due_ms) break;
        heap_swap(l, p, i);
        i = p;
    }
}

static void heap_down(weir_loop *l, size_t i) {
    for (;;) {
        size_t a = 2 * i + 1, b = a + 1, m = i;
        if (a < l->nheap && l->heap[a]->due_ms < l->heap[m]->due_ms) m = a;
        if (b < l->nheap && l->heap[b]->due_ms < l->heap[m]->due_ms) m = b;
        if (m == i) break;
        heap_swap(l, i, m);
        i = m;
    }
}

static void heap_remove(weir_loop *l, size_t i) {
    l->nheap--;
    if (i != l->nheap) {
        l->heap[i] = l->heap[l->nheap];
        l->heap[i]->heap_index = i;
        heap_down(l, i);
        heap_up(l, i);
    }
}

weir_timer *weir_timer_add(weir_loop *l, int64_t delay_ms, weir_timer_fn fn, void *arg) {
    weir_timer *t = calloc(1, sizeof *t);
    if (!t) abort();
    t->due_ms = weir_mono_ms() + (delay_ms > 0 ? delay_ms : 0);
    t->fn = fn;
    t->arg = arg;
    if (l->nheap == l->capheap) {
        l->capheap = l->capheap ? l->capheap * 2 : 64;
        l->heap = realloc(l->heap, l->capheap * sizeof *l->heap);
        if (!l->heap) abort();
    }
    t->heap_index = l->nheap;
    l->heap[l->nheap++] = t;
    heap_up(l, t->heap_index);
    return t;
}

void weir_timer_cancel(weir_loop *l, weir_timer *t) {
    if (!t) return;
    heap_remove(l, t->heap_index);
    free(t);
}

static void drain_posts(weir_loop *l) {
    uint64_t v;
    while (read(l->evfd, &v, sizeof v) > 0) {
    }
    pthread_mutex_lock(&l->lock);
    post *p = l->posts_head;
    l->posts_head = l->posts_tail = NULL;
    pthread_mutex_unlock(&l->lock);
    while (p) {
        post *next = p->next;
        p->fn(p->arg);
        free(p);
        p = next;
    }
}

static void on_eventfd(weir_watch *w, uint32_t events) {
    (void)events;
    drain_posts(w->loop);
}

int weir_loop_new(weir_loop **out, weir_err *err) {
    weir_loop *l = calloc(1, sizeof *l);
    if (!l) return weir_err_set(err, "out of memory");
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    l->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (l->epfd < 0 || l->evfd < 0) {
        int e = errno;
        if (l->epfd >= 0) close(l->epfd);
        if (l->evfd >= 0) close(l->evfd);
        free(l);
        return weir_err_set(err, "creating the event loop: %s", strerror(e));
    }
    pthread_mutex_init(&l->lock, NULL);
    l->evwatch.fd = l->evfd;
    l->evwatch.loop = l;
    l->evwatch.fn = on_eventfd;
    weir_watch_add(&l->evwatch, EPOLLIN);
    *out = l;
    return WEIR_OK;
}

void weir_watch_add(weir_watch *w, uint32_t events) {
    struct epoll_event ev = {.events = events, .data.ptr = w};
    w->events = events;
    epoll_ctl(w->loop->epfd, EPOLL_CTL_ADD, w->fd, &ev);
}

void weir_watch_mod(weir_watch *w, uint32_t events) {
    if (events == w->events) return;
    struct epoll_event ev = {.events = events, .data.ptr = w};
    w->events = events;
    epoll_ctl(w->loop->epfd, EPOLL_CTL_MOD, w->fd, &ev);
}

void weir_watch_del(weir_watch *w) { epoll_ctl(w->loop->epfd, EPOLL_CTL_DEL, w->fd, NULL); }

void weir_loop_post(weir_loop *l, void (*fn)(void *), void *arg) {
    post *p = malloc(sizeof *p);
    if (!p) abort();
    p->next = NULL;
    p->fn = fn;
    p->arg = arg;
    pthread_mutex_lock(&l->lock);
    if (l->posts_tail) l->posts_tail->next = p;
    else l->posts_head = p;
    l->posts_tail = p;
    pthread_mutex_unlock(&l->lock);
    uint64_t one = 1;
    ssize_t rc = write(l->evfd, &one, sizeof one);
    (void)rc; /* a full counter still wakes the loop */
}

void weir_loop_set_before_sleep(weir_loop *l, void (*fn)(void *), void *arg) {
    l->before_sleep = fn;
    l->before_sleep_arg = arg;
}

static void stop_fn(void *arg) { ((weir_loop *)arg)->stopping = 1; }

void weir_loop_stop(weir_loop *l) { weir_loop_post(l, stop_fn, l); }

int weir_loop_run(weir_loop *l) {
    struct epoll_event evs[256];
    while (!l->stopping) {
        if (l->before_sleep) l->before_sleep(l->before_sleep_arg);
        int timeout = -1;
        if (l->nheap && l->draining) {
            timeout = 0;
        } else if (l->nheap) {
            int64_t d = l->heap[0]->due_ms - weir_mono_ms();
            timeout = d < 0 ? 0 : (d > 1000000 ? 1000000 : (int)d);
        }
        int n = epoll_wait(l->epfd, evs, 256, timeout);
        if (n < 0 && errno != EINTR) return WEIR_ERROR;
        for (int i = 0; i < n; i++) {
            weir_watch *w = evs[i].data.ptr;
            w->fn(w, evs[i].events);
        }
        int64_t now = weir_mono_ms();
        while (l->nheap && (l->heap[0]->due_ms <= now || l->draining)) {
            weir_timer *t = l->heap[0];
            heap_remove(l, 0);
            weir_timer_fn fn = t->fn;
            void *arg = t->arg;
            free(t);
            fn(arg);
        }
    }
    l->stopping = 0; /* a stopped loop can run again (tests run it phase by phase) */
    return WEIR_OK;
}

static void drain_check(void *arg);

typedef struct drain_ctx {
    weir_loop *loop;
    bool (*idle)(void *);
    void *arg;
    int64_t deadline;
} drain_ctx;

/* Re-arms itself until the owner says it is idle (or the deadline passes), then stops. */
static void drain_check(void *arg) {
    drain_ctx *d = arg;
    weir_loop *l = d->loop;
    bool empty;
    pthread_mutex_lock(&l->lock);
    empty = l->posts_head == NULL;
    pthread_mutex_unlock(&l->lock);
    if ((empty && l->nheap == 0 && d->idle(d->arg)) || weir_mono_ms() > d->deadline) {
        l->stopping = 1;
        return;
    }
    weir_loop_post(l, drain_check, d);
}

bool weir_loop_draining(const weir_loop *l) { return l->draining; }

int weir_loop_drain(weir_loop *l, bool (*idle)(void *arg), void *arg, int64_t max_ms) {
    drain_ctx d = {l, idle, arg, weir_mono_ms() + max_ms};
    l->stopping = 0;
    l->draining = true;
    weir_loop_post(l, drain_check, &d);
    int rc = weir_loop_run(l);
    l->draining = false;
    return rc;
}

void weir_loop_free(weir_loop *l) {
    if (!l) return;
    drain_posts(l);
    for (size_t i = 0; i < l->nheap; i++) free(l->heap[i]);
    free(l->heap);
    close(l->epfd);
    close(l->evfd);
    pthread_mutex_destroy(&l->lock);
    free(l);
}
