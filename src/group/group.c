/* group.c — the classic consumer-group protocol on the loop thread: members join
 * (JoinGroup), wait at a barrier until every known member has rejoined or the rebalance
 * timeout passes, get a new generation with a protocol all of them support (the
 * leader's preference first), and receive the leader's assignment (SyncGroup). Members
 * that stop heartbeating within their session timeout are removed and the group
 * rebalances. Static members (group.instance.id) that come back with a new member id take
 * the old member's place without a rebalance; the old id is fenced. Kafka's
 * GroupCoordinator is the model; states: Empty, PreparingRebalance, CompletingRebalance,
 * Stable (Dead groups are simply removed). */
#include "group/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_SESSION_TIMEOUT_MS 1000
#define MAX_SESSION_TIMEOUT_MS 1800000

static const char *const STATE_NAMES[] = {"Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead"};

const char *weir_group_state_name(int state) {
    return state >= 0 && state <= GS_DEAD ? STATE_NAMES[state] : "Unknown";
}

char *gstrdup(weir_str s) {
    if (!s.ptr) return NULL;
    char *p = malloc((size_t)s.len + 1);
    if (!p) abort();
    memcpy(p, s.ptr, (size_t)s.len);
    p[s.len] = 0;
    return p;
}

static bool streq(const char *a, weir_str b) {
    return a && b.ptr && (size_t)b.len == strlen(a) && memcmp(a, b.ptr, (size_t)b.len) == 0;
}

static bool str_empty(weir_str s) { return !s.ptr || s.len == 0; }

/* ---- groups and members ---------------------------------------------------------------- */

ggroup *group_find(weir_group_coordinator *gc, weir_str id) {
    for (ggroup *g = gc->groups; g; g = g->next)
        if (streq(g->id, id)) return g;
    return NULL;
}

ggroup *group_get(weir_group_coordinator *gc, weir_str id) {
    ggroup *g = group_find(gc, id);
    if (g) return g;
    g = calloc(1, sizeof *g);
    if (!g) abort();
    g->gc = gc;
    g->id = gstrdup(id);
    g->state = GS_EMPTY;
    g->next = gc->groups;
    gc->groups = g;
    return g;
}

gmember *member_find(ggroup *g, weir_str id) {
    for (gmember *m = g->members; m; m = m->next)
        if (streq(m->id, id)) return m;
    return NULL;
}

static gmember *member_by_instance(ggroup *g, weir_str inst) {
    if (!inst.ptr) return NULL;
    for (gmember *m = g->members; m; m = m->next)
        if (m->instance_id && streq(m->instance_id, inst)) return m;
    return NULL;
}

static void protos_free(gmember *m) {
    for (int i = 0; i < m->nprotos; i++) {
        free(m->protos[i].name);
        free(m->protos[i].meta);
    }
    free(m->protos);
    m->protos = NULL;
    m->nprotos = 0;
}

static void protos_set(gmember *m, const weir_group_protocol *p, int n) {
    protos_free(m);
    m->protos = calloc((size_t)(n > 0 ? n : 1), sizeof *m->protos);
    if (!m->protos) abort();
    for (int i = 0; i < n; i++) {
        m->protos[i].name = gstrdup(p[i].name.ptr ? p[i].name : weir_str_from_cstr(""));
        m->protos[i].len = p[i].metadata.ptr ? p[i].metadata.len : 0;
        m->protos[i].meta = malloc((size_t)m->protos[i].len + 1);
        if (!m->protos[i].meta) abort();
        if (m->protos[i].len) memcpy(m->protos[i].meta, p[i].metadata.ptr, (size_t)m->protos[i].len);
    }
    m->nprotos = n;
}

static const gproto *member_proto(const gmember *m, const char *name) {
    for (int i = 0; name && i < m->nprotos; i++)
        if (strcmp(m->protos[i].name, name) == 0) return &m->protos[i];
    return NULL;
}

/* True if the request's protocols equal the member's (same names, order and metadata). */
static bool protos_same(const gmember *m, const weir_group_join_req *req) {
    if (m->nprotos != req->nprotocols) return false;
    for (int i = 0; i < m->nprotos; i++) {
        const weir_group_protocol *p = &req->protocols[i];
        int32_t len = p->metadata.ptr ? p->metadata.len : 0;
        if (!streq(m->protos[i].name, p->name) || m->protos[i].len != len ||
            (len && memcmp(m->protos[i].meta, p->metadata.ptr, (size_t)len) != 0))
            return false;
    }
    return true;
}

static void member_set_assignment(gmember *m, weir_bytes a) {
    free(m->assignment);
    m->assignment = NULL;
    m->assignment_len = 0;
    if (a.ptr && a.len > 0) {
        m->assignment = malloc((size_t)a.len);
        if (!m->assignment) abort();
        memcpy(m->assignment, a.ptr, (size_t)a.len);
        m->assignment_len = a.len;
    }
}

static void join_fail(weir_group_join_fn done, void *arg, int16_t error, const char *member_id) {
    weir_group_join_resp resp = {.error = error, .generation = -1, .member_id = member_id ? member_id : ""};
    resp.protocol_type = NULL;
    resp.protocol_name = NULL;
    resp.leader = "";
    done(arg, &resp);
}

/* Answers a member's waiting JoinGroup/SyncGroup with an error. */
static void member_fail_waiters(gmember *m, int16_t error) {
    if (m->join_done) {
        weir_group_join_fn fn = m->join_done;
        m->join_done = NULL;
        join_fail(fn, m->join_arg, error, m->id);
    }
    if (m->sync_done) {
        weir_group_sync_fn fn = m->sync_done;
        m->sync_done = NULL;
        fn(m->sync_arg, error, NULL, NULL, (weir_bytes){NULL, 0});
    }
}

static void member_free(weir_group_coordinator *gc, gmember *m) {
    if (m->session_timer) weir_timer_cancel(gc->loop, m->session_timer);
    protos_free(m);
    free(m->id);
    free(m->instance_id);
    free(m->client_id);
    free(m->client_host);
    free(m->assignment);
    free(m);
}

static void group_set_empty(ggroup *g) {
    g->state = GS_EMPTY;
    free(g->protocol);
    g->protocol = NULL;
    free(g->leader);
    g->leader = NULL;
    g->empty_since_ms = weir_now_ms();
}

/* Unlinks a member, answers its waiters with `error` and frees it. */
static void member_remove(ggroup *g, gmember *m, int16_t error) {
    for (gmember **pp = &g->members; *pp; pp = &(*pp)->next)
        if (*pp == m) {
            *pp = m->next;
            break;
        }
    g->nmembers--;
    if (g->leader && strcmp(g->leader, m->id) == 0) {
        free(g->leader);
        g->leader = g->members ? strdup(g->members->id) : NULL;
    }
    member_fail_waiters(m, error);
    member_free(g->gc, m);
}

static void prepare_rebalance(ggroup *g);
static void try_complete_join(ggroup *g);

/* After a member left or expired: the others must rebalance. */
static void member_remove_and_rebalance(ggroup *g, gmember *m, int16_t error) {
    member_remove(g, m, error);
    switch (g->state) {
    case GS_STABLE:
    case GS_COMPLETING:
        prepare_rebalance(g);
        break;
    case GS_PREPARING:
        try_complete_join(g);
        break;
    default:
        break;
    }
}

static void on_session_expired(void *arg) {
    gmember *m = arg;
    ggroup *g = m->g;
    m->session_timer = NULL;
    /* A member waiting in JoinGroup/SyncGroup is alive; the rebalance timeout covers it. */
    if (m->join_done || m->sync_done) {
        member_touch(m);
        return;
    }
    weir_info("group", "group '%s': member %s missed its session timeout (%d ms); removing it", g->id, m->id,
              m->session_timeout_ms);
    member_remove_and_rebalance(g, m, WEIR_GERR_UNKNOWN_MEMBER_ID);
}

void member_touch(gmember *m) {
    weir_group_coordinator *gc = m->g->gc;
    if (gc->stopping) return;
    if (m->session_timer) weir_timer_cancel(gc->loop, m->session_timer);
    m->session_timer = weir_timer_add(gc->loop, m->session_timeout_ms, on_session_expired, m);
}

void group_free(ggroup *g) {
    if (g->join_timer) weir_timer_cancel(g->gc->loop, g->join_timer);
    while (g->members) {
        gmember *m = g->members;
        g->members = m->next;
        member_fail_waiters(m, WEIR_GERR_COORDINATOR_NOT_AVAILABLE);
        member_free(g->gc, m);
    }
    while (g->pending) {
        gpending *p = g->pending;
        g->pending = p->next;
        free(p->id);
        free(p);
    }
    offsets_free(g);
    free(g->id);
    free(g->protocol_type);
    free(g->protocol);
    free(g->leader);
    free(g);
}

static void pending_purge(ggroup *g);

void group_maybe_remove(weir_group_coordinator *gc, ggroup *g) {
    /* Member ids handed out with MEMBER_ID_REQUIRED that lapsed unclaimed keep nothing alive. */
    if (g->state == GS_EMPTY && !g->nmembers) pending_purge(g);
    if (g->state != GS_EMPTY || g->nmembers || g->noffsets || g->pending) return;
    for (ggroup **pp = &gc->groups; *pp; pp = &(*pp)->next)
        if (*pp == g) {
            *pp = g->next;
            break;
        }
    group_free(g);
}

/* ---- protocol selection ------------------------------------------------------------------ */

static bool all_support(ggroup *g, const char *name, const weir_group_join_req *extra) {
    for (gmember *m = g->members; m; m = m->next)
        if (!member_proto(m, name)) return false;
    if (extra) {
        for (int i = 0; i < extra->nprotocols; i++)
            if (streq(name, extra->protocols[i].name)) return true;
        return false;
    }
    return true;
}

/* The first of the leader's protocols that every member supports. */
static const char *select_protocol(ggroup *g) {
    gmember *leader = g->leader ? member_find(g, weir_str_from_cstr(g->leader)) : g->members;
    if (!leader) leader = g->members;
    for (int i = 0; leader && i < leader->nprotos; i++)
        if (all_support(g, leader->protos[i].name, NULL)) return leader->protos[i].name;
    return NULL;
}

/* Can a member with these protocols join? Same protocol type and at least one protocol
 * in common with every other member (the member itself excluded when rejoining). */
static bool protocols_compatible(ggroup *g, const weir_group_join_req *req, gmember *self) {
    if (req->nprotocols <= 0 || str_empty(req->protocol_type)) return false;
    if (g->nmembers == 0 || (g->nmembers == 1 && self)) return true;
    if (g->protocol_type && !streq(g->protocol_type, req->protocol_type)) return false;
    for (int i = 0; i < req->nprotocols; i++) {
        bool ok = true;
        for (gmember *m = g->members; m && ok; m = m->next) {
            if (m == self) continue;
            bool found = false;
            for (int j = 0; j < m->nprotos && !found; j++) found = streq(m->protos[j].name, req->protocols[i].name);
            ok = found;
        }
        if (ok) return true;
    }
    return false;
}

/* ---- the join barrier ---------------------------------------------------------------------- */

static void complete_join(ggroup *g);

static void on_join_timer(void *arg) {
    ggroup *g = arg;
    g->join_timer = NULL;
    int64_t now = weir_mono_ms();
    if (g->initial_delay) {
        /* More members arrived during the initial delay: wait another delay, within the
         * rebalance timeout (Kafka's InitialDelayedJoin). */
        int64_t left = g->rebalance_deadline_ms - now;
        if (g->new_member_added && left > 0) {
            g->new_member_added = false;
            int64_t d = g->gc->initial_delay_ms < left ? g->gc->initial_delay_ms : left;
            g->join_timer = weir_timer_add(g->gc->loop, d, on_join_timer, g);
            return;
        }
        g->initial_delay = false;
        try_complete_join(g);
        if (g->state == GS_PREPARING && !g->join_timer) {
            left = g->rebalance_deadline_ms - now;
            if (left > 0) g->join_timer = weir_timer_add(g->gc->loop, left, on_join_timer, g);
            else complete_join(g);
        }
        return;
    }
    complete_join(g);
}

static void prepare_rebalance(ggroup *g) {
    weir_group_coordinator *gc = g->gc;
    if (g->state == GS_COMPLETING) {
        /* Assignments of the generation that never started are void. */
        for (gmember *m = g->members; m; m = m->next) {
            member_set_assignment(m, (weir_bytes){NULL, 0});
            if (m->sync_done) {
                weir_group_sync_fn fn = m->sync_done;
                m->sync_done = NULL;
                fn(m->sync_arg, WEIR_GERR_REBALANCE_IN_PROGRESS, NULL, NULL, (weir_bytes){NULL, 0});
            }
        }
    }
    bool was_empty = g->state == GS_EMPTY;
    g->state = GS_PREPARING;
    int64_t timeout = 0;
    for (gmember *m = g->members; m; m = m->next)
        if (m->rebalance_timeout_ms > timeout) timeout = m->rebalance_timeout_ms;
    g->rebalance_deadline_ms = weir_mono_ms() + timeout;
    if (g->join_timer) weir_timer_cancel(gc->loop, g->join_timer);
    g->join_timer = NULL;
    g->new_member_added = false;
    if (was_empty && gc->initial_delay_ms > 0) {
        g->initial_delay = true;
        int64_t d = gc->initial_delay_ms < timeout ? gc->initial_delay_ms : timeout;
        g->join_timer = weir_timer_add(gc->loop, d, on_join_timer, g);
        return;
    }
    g->initial_delay = false;
    g->join_timer = weir_timer_add(gc->loop, timeout, on_join_timer, g);
    weir_info("group", "group '%s' is rebalancing (generation %d, %d members)", g->id, g->generation, g->nmembers);
    try_complete_join(g);
}

static void pending_purge(ggroup *g) {
    int64_t now = weir_mono_ms();
    for (gpending **pp = &g->pending; *pp;) {
        gpending *p = *pp;
        if (p->expires_ms <= now) {
            *pp = p->next;
            free(p->id);
            free(p);
        } else {
            pp = &p->next;
        }
    }
}

static void try_complete_join(ggroup *g) {
    if (g->state != GS_PREPARING || g->initial_delay) return;
    pending_purge(g);
    if (g->pending) return;
    for (gmember *m = g->members; m; m = m->next)
        if (!m->join_done) return;
    complete_join(g);
}

/* Fills a JoinGroup response for m in the current generation; members (heap, freed by
 * the caller) only for the leader. */
static void join_resp_fill(ggroup *g, gmember *m, weir_group_join_resp *resp, weir_group_join_member **members) {
    memset(resp, 0, sizeof *resp);
    resp->error = WEIR_GERR_NONE;
    resp->generation = g->generation;
    resp->protocol_type = g->protocol_type;
    resp->protocol_name = g->protocol;
    resp->leader = g->leader ? g->leader : "";
    resp->member_id = m->id;
    *members = NULL;
    if (g->leader && strcmp(g->leader, m->id) == 0) {
        weir_group_join_member *arr = calloc((size_t)g->nmembers + 1, sizeof *arr);
        if (!arr) abort();
        int n = 0;
        for (gmember *x = g->members; x; x = x->next) {
            const gproto *p = member_proto(x, g->protocol);
            arr[n].member_id = x->id;
            arr[n].group_instance_id = x->instance_id;
            arr[n].metadata = p ? (weir_bytes){p->meta, p->len} : (weir_bytes){NULL, 0};
            n++;
        }
        resp->members = arr;
        resp->nmembers = n;
        *members = arr;
    }
}

static void complete_join(ggroup *g) {
    weir_group_coordinator *gc = g->gc;
    if (g->state != GS_PREPARING) return;
    if (g->join_timer) weir_timer_cancel(gc->loop, g->join_timer);
    g->join_timer = NULL;
    g->initial_delay = false;
    /* Members that did not rejoin in time are out. */
    for (gmember *m = g->members, *next; m; m = next) {
        next = m->next;
        if (!m->join_done) {
            weir_info("group", "group '%s': member %s did not rejoin within the rebalance timeout; removing it", g->id,
                      m->id);
            member_remove(g, m, WEIR_GERR_UNKNOWN_MEMBER_ID);
        }
    }
    while (g->pending) {
        gpending *p = g->pending;
        g->pending = p->next;
        free(p->id);
        free(p);
    }
    g->generation++;
    if (!g->members) {
        group_set_empty(g);
        weir_info("group", "group '%s' is empty (generation %d)", g->id, g->generation);
        return;
    }
    if (!g->leader) g->leader = strdup(g->members->id);
    const char *proto = select_protocol(g);
    free(g->protocol);
    g->protocol = proto ? strdup(proto) : NULL;
    g->state = GS_COMPLETING;
    weir_info("group", "group '%s' generation %d: %d members, protocol %s, leader %s", g->id, g->generation,
              g->nmembers, g->protocol ? g->protocol : "(none)", g->leader);
    for (gmember *m = g->members; m; m = m->next) {
        weir_group_join_fn fn = m->join_done;
        void *arg = m->join_arg;
        m->join_done = NULL;
        m->is_new = false;
        weir_group_join_resp resp;
        weir_group_join_member *members;
        join_resp_fill(g, m, &resp, &members);
        fn(arg, &resp);
        free(members);
        member_touch(m);
    }
}

/* ---- JoinGroup ------------------------------------------------------------------------------ */

static char *new_member_id(weir_str client_id) {
    uint8_t r[16];
    weir_random_bytes(r, sizeof r);
    char hex[33];
    for (int i = 0; i < 16; i++) snprintf(hex + 2 * i, 3, "%02x", r[i]);
    size_t n = (client_id.ptr ? (size_t)client_id.len : 0) + 40;
    char *id = malloc(n);
    if (!id) abort();
    snprintf(id, n, "%.*s-%.8s-%.4s-%.4s-%.4s-%.12s", client_id.ptr ? client_id.len : 0,
             client_id.ptr ? client_id.ptr : "", hex, hex + 8, hex + 12, hex + 16, hex + 20);
    return id;
}

static void member_update(gmember *m, const weir_group_join_req *req, weir_group_join_fn done, void *arg) {
    protos_set(m, req->protocols, req->nprotocols);
    m->session_timeout_ms = req->session_timeout_ms;
    m->rebalance_timeout_ms = req->rebalance_timeout_ms;
    free(m->client_id);
    m->client_id = gstrdup(req->client_id.ptr ? req->client_id : weir_str_from_cstr(""));
    free(m->client_host);
    m->client_host = gstrdup(req->client_host.ptr ? req->client_host : weir_str_from_cstr(""));
    if (m->join_done) { /* a second JoinGroup while the first waits: the first is void */
        weir_group_join_fn fn = m->join_done;
        m->join_done = NULL;
        join_fail(fn, m->join_arg, WEIR_GERR_REBALANCE_IN_PROGRESS, m->id);
    }
    m->join_done = done;
    m->join_arg = arg;
}

static void add_member_and_rebalance(ggroup *g, char *id, const weir_group_join_req *req, weir_group_join_fn done,
                                     void *arg) {
    gmember *m = calloc(1, sizeof *m);
    if (!m) abort();
    m->g = g;
    m->id = id;
    m->instance_id = gstrdup(req->group_instance_id);
    m->is_new = true;
    member_update(m, req, done, arg);
    gmember **pp = &g->members; /* append: the first to join leads */
    while (*pp) pp = &(*pp)->next;
    *pp = m;
    g->nmembers++;
    if (!g->protocol_type) g->protocol_type = gstrdup(req->protocol_type);
    if (g->initial_delay) g->new_member_added = true;
    if (g->state == GS_PREPARING) try_complete_join(g);
    else prepare_rebalance(g);
}

static void respond_current(ggroup *g, gmember *m, weir_group_join_fn done, void *arg, bool skip_assignment) {
    weir_group_join_resp resp;
    weir_group_join_member *members;
    join_resp_fill(g, m, &resp, &members);
    resp.skip_assignment = skip_assignment && members != NULL;
    done(arg, &resp);
    free(members);
}

/* A known static member came back with a new member id (a restarted process): it takes
 * the old member's place; the old id is fenced. In a Stable group with unchanged
 * protocols nothing else happens: no rebalance, the same generation and assignment. */
static void replace_static_member(ggroup *g, gmember *old, char *new_id, const weir_group_join_req *req,
                                  weir_group_join_fn done, void *arg) {
    member_fail_waiters(old, WEIR_GERR_FENCED_INSTANCE_ID);
    weir_info("group", "group '%s': static member '%s' rejoined as %s (was %s)", g->id, old->instance_id, new_id,
              old->id);
    if (g->leader && strcmp(g->leader, old->id) == 0) {
        free(g->leader);
        g->leader = strdup(new_id);
    }
    free(old->id);
    old->id = new_id;
    bool same = protos_same(old, req);
    if (g->state == GS_STABLE && same) {
        old->session_timeout_ms = req->session_timeout_ms;
        old->rebalance_timeout_ms = req->rebalance_timeout_ms;
        member_touch(old);
        respond_current(g, old, done, arg, true);
        return;
    }
    member_update(old, req, done, arg);
    if (g->state == GS_PREPARING) try_complete_join(g);
    else prepare_rebalance(g);
}

void weir_group_join(weir_group_coordinator *gc, const weir_group_join_req *req, weir_group_join_fn done, void *arg) {
    if (!gc->loaded) return join_fail(done, arg, WEIR_GERR_COORDINATOR_LOAD_IN_PROGRESS, NULL);
    if (gc->stopping) return join_fail(done, arg, WEIR_GERR_COORDINATOR_NOT_AVAILABLE, NULL);
    if (str_empty(req->group_id)) return join_fail(done, arg, WEIR_GERR_INVALID_GROUP_ID, NULL);
    if (req->session_timeout_ms < MIN_SESSION_TIMEOUT_MS || req->session_timeout_ms > MAX_SESSION_TIMEOUT_MS)
        return join_fail(done, arg, WEIR_GERR_INVALID_SESSION_TIMEOUT, NULL);
    weir_group_join_req r = *req;
    if (r.rebalance_timeout_ms <= 0) r.rebalance_timeout_ms = r.session_timeout_ms; /* v0 */
    if (r.group_instance_id.ptr && r.group_instance_id.len == 0) r.group_instance_id = WEIR_STR_NULL;
    ggroup *g = group_find(gc, r.group_id);

    if (str_empty(r.member_id)) {
        if (g && !protocols_compatible(g, &r, NULL))
            return join_fail(done, arg, WEIR_GERR_INCONSISTENT_GROUP_PROTOCOL, NULL);
        if (!g && !protocols_compatible(group_get(gc, r.group_id), &r, NULL)) {
            join_fail(done, arg, WEIR_GERR_INCONSISTENT_GROUP_PROTOCOL, NULL);
            group_maybe_remove(gc, group_find(gc, r.group_id));
            return;
        }
        g = group_get(gc, r.group_id);
        char *id = new_member_id(r.client_id);
        gmember *old = member_by_instance(g, r.group_instance_id);
        if (old) return replace_static_member(g, old, id, &r, done, arg);
        if (!r.group_instance_id.ptr && r.require_known_member_id) {
            gpending *p = calloc(1, sizeof *p);
            if (!p) abort();
            p->id = id;
            p->expires_ms = weir_mono_ms() + r.session_timeout_ms;
            p->next = g->pending;
            g->pending = p;
            join_fail(done, arg, WEIR_GERR_MEMBER_ID_REQUIRED, id);
            return;
        }
        return add_member_and_rebalance(g, id, &r, done, arg);
    }

    if (!g) return join_fail(done, arg, WEIR_GERR_UNKNOWN_MEMBER_ID, NULL);
    for (gpending **pp = &g->pending; *pp; pp = &(*pp)->next) {
        gpending *p = *pp;
        if (!streq(p->id, r.member_id)) continue;
        *pp = p->next;
        char *id = p->id;
        free(p);
        if (!protocols_compatible(g, &r, NULL)) {
            free(id);
            try_complete_join(g);
            return join_fail(done, arg, WEIR_GERR_INCONSISTENT_GROUP_PROTOCOL, NULL);
        }
        return add_member_and_rebalance(g, id, &r, done, arg);
    }
    gmember *m = member_find(g, r.member_id);
    gmember *sm = member_by_instance(g, r.group_instance_id);
    if ((sm && sm != m) || (m && m->instance_id && !streq(m->instance_id, r.group_instance_id)))
        return join_fail(done, arg, WEIR_GERR_FENCED_INSTANCE_ID, NULL);
    if (!m) return join_fail(done, arg, WEIR_GERR_UNKNOWN_MEMBER_ID, NULL);
    if (!protocols_compatible(g, &r, m)) return join_fail(done, arg, WEIR_GERR_INCONSISTENT_GROUP_PROTOCOL, m->id);
    switch (g->state) {
    case GS_PREPARING:
        member_update(m, &r, done, arg);
        try_complete_join(g);
        break;
    case GS_COMPLETING:
        if (protos_same(m, &r)) {
            member_touch(m);
            respond_current(g, m, done, arg, false);
        } else {
            member_update(m, &r, done, arg);
            prepare_rebalance(g);
        }
        break;
    case GS_STABLE:
        if ((g->leader && strcmp(g->leader, m->id) == 0) || !protos_same(m, &r)) {
            member_update(m, &r, done, arg);
            prepare_rebalance(g);
        } else {
            member_touch(m);
            respond_current(g, m, done, arg, false);
        }
        break;
    default:
        join_fail(done, arg, WEIR_GERR_UNKNOWN_MEMBER_ID, NULL);
    }
}

/* ---- SyncGroup, Heartbeat, LeaveGroup --------------------------------------------------------- */

/* The checks SyncGroup, Heartbeat and OffsetCommit share: the member exists, is not a
 * fenced static instance, and is in the group's generation. */
static int16_t member_check(ggroup *g, weir_str member_id, weir_str instance_id, int32_t generation, gmember **out) {
    *out = NULL;
    if (!g) return WEIR_GERR_UNKNOWN_MEMBER_ID;
    if (instance_id.ptr && instance_id.len) {
        gmember *sm = member_by_instance(g, instance_id);
        if (sm && !streq(sm->id, member_id)) return WEIR_GERR_FENCED_INSTANCE_ID;
    }
    gmember *m = member_find(g, member_id);
    if (!m) return WEIR_GERR_UNKNOWN_MEMBER_ID;
    if (generation != g->generation) return WEIR_GERR_ILLEGAL_GENERATION;
    *out = m;
    return WEIR_GERR_NONE;
}

void weir_group_sync(weir_group_coordinator *gc, const weir_group_sync_req *req, weir_group_sync_fn done, void *arg) {
    weir_bytes none = {NULL, 0};
    if (!gc->loaded) return done(arg, WEIR_GERR_COORDINATOR_LOAD_IN_PROGRESS, NULL, NULL, none);
    if (gc->stopping) return done(arg, WEIR_GERR_COORDINATOR_NOT_AVAILABLE, NULL, NULL, none);
    ggroup *g = group_find(gc, req->group_id);
    gmember *m;
    int16_t e = member_check(g, req->member_id, req->group_instance_id, req->generation, &m);
    if (e) return done(arg, e, NULL, NULL, none);
    if ((req->protocol_type.ptr && !streq(g->protocol_type, req->protocol_type)) ||
        (req->protocol_name.ptr && !streq(g->protocol, req->protocol_name)))
        return done(arg, WEIR_GERR_INCONSISTENT_GROUP_PROTOCOL, NULL, NULL, none);
    switch (g->state) {
    case GS_PREPARING:
        return done(arg, WEIR_GERR_REBALANCE_IN_PROGRESS, NULL, NULL, none);
    case GS_STABLE:
        member_touch(m);
        return done(arg, 0, g->protocol_type, g->protocol, (weir_bytes){m->assignment, m->assignment_len});
    case GS_COMPLETING:
        break;
    default:
        return done(arg, WEIR_GERR_UNKNOWN_MEMBER_ID, NULL, NULL, none);
    }
    if (m->sync_done) {
        weir_group_sync_fn fn = m->sync_done;
        m->sync_done = NULL;
        fn(m->sync_arg, WEIR_GERR_REBALANCE_IN_PROGRESS, NULL, NULL, none);
    }
    m->sync_done = done;
    m->sync_arg = arg;
    member_touch(m);
    if (!g->leader || strcmp(g->leader, m->id) != 0) return;
    /* The leader's assignment: every member gets its part (or nothing), the group is Stable. */
    for (gmember *x = g->members; x; x = x->next) {
        weir_bytes a = {NULL, 0};
        for (int i = 0; i < req->nassignments; i++)
            if (streq(x->id, req->assignments[i].member_id)) a = req->assignments[i].assignment;
        member_set_assignment(x, a);
    }
    g->state = GS_STABLE;
    for (gmember *x = g->members; x; x = x->next) {
        if (!x->sync_done) continue;
        weir_group_sync_fn fn = x->sync_done;
        x->sync_done = NULL;
        fn(x->sync_arg, 0, g->protocol_type, g->protocol, (weir_bytes){x->assignment, x->assignment_len});
    }
}

int16_t weir_group_heartbeat(weir_group_coordinator *gc, weir_str group_id, weir_str member_id,
                             weir_str group_instance_id, int32_t generation) {
    if (!gc->loaded) return WEIR_GERR_COORDINATOR_LOAD_IN_PROGRESS;
    if (gc->stopping) return WEIR_GERR_COORDINATOR_NOT_AVAILABLE;
    ggroup *g = group_find(gc, group_id);
    gmember *m;
    int16_t e = member_check(g, member_id, group_instance_id, generation, &m);
    if (e) return e;
    switch (g->state) {
    case GS_PREPARING:
        member_touch(m);
        return WEIR_GERR_REBALANCE_IN_PROGRESS;
    case GS_COMPLETING:
    case GS_STABLE:
        member_touch(m);
        return WEIR_GERR_NONE;
    default:
        return WEIR_GERR_UNKNOWN_MEMBER_ID;
    }
}

int16_t weir_group_leave(weir_group_coordinator *gc, weir_str group_id, weir_str member_id, weir_str group_instance_id) {
    if (!gc->loaded) return WEIR_GERR_COORDINATOR_LOAD_IN_PROGRESS;
    if (gc->stopping) return WEIR_GERR_COORDINATOR_NOT_AVAILABLE;
    ggroup *g = group_find(gc, group_id);
    if (!g) return WEIR_GERR_UNKNOWN_MEMBER_ID;
    gmember *m;
    if (group_instance_id.ptr && group_instance_id.len) {
        m = member_by_instance(g, group_instance_id);
        if (!m) return WEIR_GERR_UNKNOWN_MEMBER_ID;
        if (!str_empty(member_id) && !streq(m->id, member_id)) return WEIR_GERR_FENCED_INSTANCE_ID;
    } else {
        m = member_find(g, member_id);
        if (!m) {
            for (gpending **pp = &g->pending; *pp; pp = &(*pp)->next)
                if (streq((*pp)->id, member_id)) {
                    gpending *p = *pp;
                    *pp = p->next;
                    free(p->id);
                    free(p);
                    try_complete_join(g);
                    return WEIR_GERR_NONE;
                }
            return WEIR_GERR_UNKNOWN_MEMBER_ID;
        }
    }
    weir_info("group", "group '%s': member %s left", g->id, m->id);
    member_remove_and_rebalance(g, m, WEIR_GERR_UNKNOWN_MEMBER_ID);
    return WEIR_GERR_NONE;
}

/* ---- describe, list, snapshots --------------------------------------------------------------- */

void weir_group_describe(weir_group_coordinator *gc, weir_str group_id,
                         void (*fn)(void *ctx, const weir_group_description *d), void *ctx) {
    weir_group_description d = {0};
    if (!gc->loaded) {
        d.error = WEIR_GERR_COORDINATOR_LOAD_IN_PROGRESS;
        d.state = d.protocol_type = d.protocol = "";
        return fn(ctx, &d);
    }
    ggroup *g = group_find(gc, group_id);
    if (!g) {
        d.state = "Dead";
        d.protocol_type = d.protocol = "";
        return fn(ctx, &d);
    }
    bool stable = g->state == GS_STABLE;
    d.state = weir_group_state_name(g->state);
    d.protocol_type = g->protocol_type ? g->protocol_type : "";
    d.protocol = stable && g->protocol ? g->protocol : "";
    weir_group_describe_member *arr = calloc((size_t)g->nmembers + 1, sizeof *arr);
    if (!arr) abort();
    int n = 0;
    for (gmember *m = g->members; m; m = m->next, n++) {
        arr[n].member_id = m->id;
        arr[n].group_instance_id = m->instance_id;
        arr[n].client_id = m->client_id ? m->client_id : "";
        arr[n].client_host = m->client_host ? m->client_host : "";
        if (stable) {
            const gproto *p = member_proto(m, g->protocol);
            if (p) arr[n].metadata = (weir_bytes){p->meta, p->len};
            arr[n].assignment = (weir_bytes){m->assignment, m->assignment_len};
        }
    }
    d.members = arr;
    d.nmembers = n;
    fn(ctx, &d);
    free(arr);
}

void weir_group_foreach_group(weir_group_coordinator *gc, void (*fn)(void *ctx, const weir_group_info *g),
                              void *ctx) {
    for (ggroup *g = gc->groups; g; g = g->next) {
        weir_group_member_info *arr = calloc((size_t)g->nmembers + 1, sizeof *arr);
        if (!arr) abort();
        int n = 0;
        for (gmember *m = g->members; m; m = m->next, n++) {
            arr[n].member_id = m->id;
            arr[n].group_instance_id = m->instance_id;
            arr[n].client_id = m->client_id ? m->client_id : "";
            arr[n].client_host = m->client_host ? m->client_host : "";
        }
        weir_group_info info = {g->id,
                                weir_group_state_name(g->state),
                                g->protocol_type ? g->protocol_type : "",
                                g->protocol ? g->protocol : "",
                                g->leader ? g->leader : "",
                                g->generation,
                                n,
                                arr};
        fn(ctx, &info);
        free(arr);
    }
}

void weir_group_foreach_offset(weir_group_coordinator *gc,
                               void (*fn)(void *ctx, const char *group, const char *state, const char *topic,
                                          int32_t partition, int64_t committed),
                               void *ctx) {
    for (ggroup *g = gc->groups; g; g = g->next)
        for (int i = 0; i < g->noffsets; i++)
            fn(ctx, g->id, weir_group_state_name(g->state), g->offsets[i].topic, g->offsets[i].partition,
               g->offsets[i].offset);
}

/* ---- life cycle -------------------------------------------------------------------------------- */

int weir_group_coordinator_new(const weir_config *cfg, weir_loop *loop, weir_log *log, weir_group_coordinator **out,
                               weir_err *err) {
    (void)err;
    weir_group_coordinator *gc = calloc(1, sizeof *gc);
    if (!gc) abort();
    gc->loop = loop;
    gc->log = log;
    gc->initial_delay_ms = cfg->group_initial_rebalance_delay_ms;
    gc->retention_ms = (int64_t)cfg->offsets_retention_minutes * 60000;
    gc->retention_check_ms = cfg->offsets_retention_check_interval_ms;
    offsets_start(gc);
    offsets_watch_deletions(gc, true);
    *out = gc;
    return WEIR_OK;
}

bool weir_group_coordinator_loaded(const weir_group_coordinator *gc) { return gc->loaded; }

void weir_group_coordinator_stop(weir_group_coordinator *gc) {
    if (!gc || gc->stopping) return;
    gc->stopping = true;
    offsets_watch_deletions(gc, false);
    if (gc->retention_timer) weir_timer_cancel(gc->loop, gc->retention_timer);
    gc->retention_timer = NULL;
    for (ggroup *g = gc->groups; g; g = g->next) {
        if (g->join_timer) weir_timer_cancel(gc->loop, g->join_timer);
        g->join_timer = NULL;
        for (gmember *m = g->members; m; m = m->next) {
            if (m->session_timer) weir_timer_cancel(gc->loop, m->session_timer);
            m->session_timer = NULL;
            member_fail_waiters(m, WEIR_GERR_COORDINATOR_NOT_AVAILABLE);
        }
    }
}

void weir_group_coordinator_free(weir_group_coordinator *gc) {
    if (!gc) return;
    weir_group_coordinator_stop(gc);
    while (gc->groups) {
        ggroup *g = gc->groups;
        gc->groups = g->next;
        group_free(g);
    }
    free(gc);
}
