/* internal.h — what loop.c and conn.c share inside the net module. */
#ifndef WEIR_NET_INTERNAL_H
#define WEIR_NET_INTERNAL_H

#include "net/net.h"

typedef struct weir_watch weir_watch;
struct weir_watch {
    int fd;
    uint32_t events;
    weir_loop *loop;
    void (*fn)(weir_watch *w, uint32_t events);
};

void weir_watch_add(weir_watch *w, uint32_t events);
void weir_watch_mod(weir_watch *w, uint32_t events);
void weir_watch_del(weir_watch *w);

#endif
