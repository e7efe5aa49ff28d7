/* test_group.c — the consumer-group coordinator on a real event loop, log and SQLite,
 * through group.h only: offsets of empty groups expire after offsets.retention.minutes
 * (driven with an explicit now) and the expiry reaches the store, offsets of groups with
 * members never expire; protocol selection, generation bumps, MEMBER_ID_REQUIRED,
 * static-member replacement without a rebalance, and session expiry. */
#include <stdlib.h>
#include <unistd.h>

#include "group/group.h"
#include "logtest.h"

/* ---- a loop that runs until a condition holds ------------------------------------------ */

typedef struct until {
    weir_loop *loop;
    bool (*cond)(void *arg);
    void *arg;
    int64_t deadline;
} until;

static void until_poll(void *arg) {
    until *u = arg;
    if (u->cond(u->arg) || weir_mono_ms() > u->deadline) {
        weir_loop_stop(u->loop);
        return;
    }
    weir_timer_add(u->loop, 1, until_poll, u);
}

/* Runs the loop (timers at their real times) until cond(arg) or max_ms; returns cond. */
static bool run_until(weir_loop *loop, bool (*cond)(void *), void *arg, int64_t max_ms) {
    until u = {loop, cond, arg, weir_mono_ms() + max_ms};
    weir_timer_add(loop, 0, until_poll, &u);
    weir_loop_run(loop);
    return cond(arg);
}

static bool flag_set(void *arg) { return *(int *)arg != 0; }

typedef struct fixture {
    char dir[64];
    weir_loop *loop;
    weir_log *log;
    weir_group_coordinator *gc;
} fixture;

static bool gc_loaded(void *arg) { return weir_group_coordinator_loaded(arg); }

static void coordinator_open(fixture *f) {
    weir_config cfg;
    weir_err err;
    char *env[] = {NULL};
    weir_config_load(&cfg, NULL, env, &err);
    cfg.group_initial_rebalance_delay_ms = 0; /* a lone member's join completes at once */
    cfg.offsets_retention_minutes = 1;
    f->gc = NULL;
    CHECK_EQ_INT(weir_group_coordinator_new(&cfg, f->loop, f->log, &f->gc, &err), WEIR_OK);
    CHECK(run_until(f->loop, gc_loaded, f->gc, 10000));
}

static void coordinator_close(fixture *f) {
    weir_group_coordinator_stop(f->gc);
    run_until_idle(f->loop, f->log);
    weir_group_coordinator_free(f->gc);
    f->gc = NULL;
}

static void fixture_open(fixture *f) {
    snprintf(f->dir, sizeof f->dir, "/tmp/weir-test-group-XXXXXX");
    CHECK(mkdtemp(f->dir) != NULL);
    weir_err err;
    CHECK_EQ_INT(weir_loop_new(&f->loop, &err), WEIR_OK);
    f->log = logtest_open(f->loop, f->dir, NULL, NULL);
    CHECK(f->log != NULL);
    coordinator_open(f);
}

static void fixture_close(fixture *f) {
    coordinator_close(f);
    weir_log_close(f->log);
    weir_loop_free(f->loop);
    logtest_rmdir(f->dir);
}

/* ---- calls with their answers copied out ------------------------------------------------- */

typedef struct join_result {
    int called;
    int16_t error;
    int32_t generation;
    bool skip_assignment;
    char protocol[32], leader[96], member_id[96];
    int nmembers;
} join_result;

static void on_join(void *arg, const weir_group_join_resp *resp) {
    join_result *j = arg;
    j->called++;
    j->error = resp->error;
    j->generation = resp->generation;
    j->skip_assignment = resp->skip_assignment;
    snprintf(j->protocol, sizeof j->protocol, "%s", resp->protocol_name ? resp->protocol_name : "");
    snprintf(j->leader, sizeof j->leader, "%s", resp->leader ? resp->leader : "");
    snprintf(j->member_id, sizeof j->member_id, "%s", resp->member_id ? resp->member_id : "");
    j->nmembers = resp->nmembers;
}

static weir_str S(const char *s) { return s ? weir_str_from_cstr(s) : WEIR_STR_NULL; }

/* JoinGroup of the consumer protocol type with the given protocol names (a NULL-ended
 * list); instance may be NULL. The answer may come later (a rebalance). */
static void join(fixture *f, const char *group, const char *member, const char *instance, const char *const *protos,
                 bool require_known_id, join_result *out) {
    char member_copy[96]; /* member may point into *out, which is cleared below */
    snprintf(member_copy, sizeof member_copy, "%s", member ? member : "");
    weir_group_protocol p[4];
    int n = 0;
    for (; protos[n]; n++) p[n] = (weir_group_protocol){S(protos[n]), {(const uint8_t *)"meta", 4}};
    weir_group_join_req req = {.group_id = S(group),
                               .member_id = S(member_copy),
                               .group_instance_id = S(instance),
                               .protocol_type = S("consumer"),
                               .client_id = S("unit"),
                               .client_host = S("/127.0.0.1"),
                               .session_timeout_ms = 30000,
                               .rebalance_timeout_ms = 30000,
                               .protocols = p,
                               .nprotocols = n,
                               .require_known_member_id = require_known_id};
    memset(out, 0, sizeof *out);
    weir_group_join(f->gc, &req, on_join, out);
}

typedef struct sync_result {
    int called;
    int16_t error;
    char assignment[32];
} sync_result;

static void on_sync(void *arg, int16_t error, const char *ptype, const char *pname, weir_bytes a) {
    (void)ptype;
    (void)pname;
    sync_result *s = arg;
    s->called++;
    s->error = error;
    snprintf(s->assignment, sizeof s->assignment, "%.*s", a.ptr ? a.len : 0, a.ptr ? (const char *)a.ptr : "");
}

/* SyncGroup; assignments: member id, assignment, ... NULL. */
static void sync_group(fixture *f, const char *group, const char *member, int32_t generation, sync_result *out,
                       const char *const *assignments) {
    weir_group_assignment a[4];
    int n = 0;
    for (; assignments && assignments[2 * n]; n++)
        a[n] = (weir_group_assignment){S(assignments[2 * n]),
                                       {(const uint8_t *)assignments[2 * n + 1], (int32_t)strlen(assignments[2 * n + 1])}};
    weir_group_sync_req req = {.group_id = S(group), .member_id = S(member), .generation = generation,
                               .assignments = a, .nassignments = n};
    memset(out, 0, sizeof *out);
    weir_group_sync(f->gc, &req, on_sync, out);
}

static int16_t heartbeat(fixture *f, const char *group, const char *member, const char *instance, int32_t gen) {
    return weir_group_heartbeat(f->gc, S(group), S(member), S(instance), gen);
}

typedef struct commit_call {
    weir_group_commit_req req;
    weir_group_offset offsets[2];
    int done;
} commit_call;

static void on_commit(void *arg, int16_t error) {
    (void)error;
    ((commit_call *)arg)->done = 1;
}

/* Commits offset to partitions 0 and 1 of topic and waits until it is durable. */
static void commit(fixture *f, const char *group, const char *member, int32_t generation, const char *topic,
                   int64_t offset, int16_t *errors) {
    commit_call c;
    memset(&c, 0, sizeof c);
    for (int i = 0; i < 2; i++)
        c.offsets[i] = (weir_group_offset){S(topic), i, offset + i, -1, S("md"), 0};
    c.req = (weir_group_commit_req){S(group), S(member), WEIR_STR_NULL, generation, c.offsets, 2};
    weir_group_commit(f->gc, &c.req, on_commit, &c);
    CHECK(run_until(f->loop, flag_set, &c.done, 10000));
    errors[0] = c.offsets[0].error;
    errors[1] = c.offsets[1].error;
}

static int64_t committed(fixture *f, const char *group, const char *topic, int32_t partition) {
    int64_t off;
    int32_t epoch;
    const char *md;
    if (weir_group_offset_get(f->gc, S(group), S(topic), partition, &off, &epoch, &md) != WEIR_OK) return -1;
    return off;
}

typedef struct group_seen {
    const char *id;
    char state[32];
    int32_t generation;
    int nmembers;
    bool found;
} group_seen;

static void see_group(void *ctx, const weir_group_info *g) {
    group_seen *s = ctx;
    if (strcmp(g->group_id, s->id) != 0) return;
    s->found = true;
    snprintf(s->state, sizeof s->state, "%s", g->state);
    s->generation = g->generation;
    s->nmembers = g->nmembers;
}

static group_seen find_group(fixture *f, const char *id) {
    group_seen s = {.id = id};
    weir_group_foreach_group(f->gc, see_group, &s);
    return s;
}

static const char *const RANGE[] = {"range", NULL};
static const char *const RR_RANGE[] = {"roundrobin", "range", NULL};

/* ---- tests --------------------------------------------------------------------------------- */

TEST(offsets_of_empty_groups_expire_and_of_active_groups_never) {
    fixture f;
    fixture_open(&f);
    int16_t e[2];
    commit(&f, "idle", "", -1, "t", 10, e); /* a simple consumer: the group stays Empty */
    CHECK_EQ_INT(e[0], 0);
    CHECK_EQ_INT(e[1], 0);

    join_result j;
    join(&f, "busy", "", NULL, RANGE, false, &j);
    CHECK_EQ_INT(j.called, 1);
    CHECK_EQ_INT(j.error, 0);
    sync_result s;
    sync_group(&f, "busy", j.member_id, j.generation, &s, (const char *const[]){j.member_id, "a", NULL});
    CHECK_EQ_INT(s.error, 0);
    commit(&f, "busy", j.member_id, j.generation, "t", 20, e);
    CHECK_EQ_INT(e[0], 0);

    int64_t now = weir_now_ms();
    CHECK_EQ_INT(weir_group_expire_offsets(f.gc, now), 0);
    CHECK_EQ_INT(weir_group_expire_offsets(f.gc, now + 59000), 0); /* within the minute */
    CHECK_EQ_INT(committed(&f, "idle", "t", 1), 11);
    /* Past the retention: the empty group's offsets go, the active group's stay, however
     * old they are. */
    CHECK_EQ_INT(weir_group_expire_offsets(f.gc, now + 61000), 2);
    CHECK_EQ_INT(committed(&f, "idle", "t", 0), -1);
    CHECK(!find_group(&f, "idle").found); /* neither members nor offsets: gone */
    CHECK_EQ_INT(weir_group_expire_offsets(f.gc, now + 10LL * 365 * 86400000), 0);
    CHECK_EQ_INT(committed(&f, "busy", "t", 1), 21);

    /* The expiry reached the store: a new coordinator loads only the active group's. */
    CHECK(run_until(f.loop, logtest_idle, f.log, 10000));
    coordinator_close(&f);
    coordinator_open(&f);
    CHECK_EQ_INT(committed(&f, "idle", "t", 0), -1);
    CHECK_EQ_INT(committed(&f, "busy", "t", 0), 20);
    CHECK_EQ_INT(committed(&f, "busy", "t", 1), 21);

    /* Once the group is empty its offsets expire after the retention too. */
    join(&f, "busy", "", NULL, RANGE, false, &j);
    CHECK_EQ_INT(j.error, 0);
    int64_t left = weir_now_ms();
    CHECK_EQ_INT(weir_group_leave(f.gc, S("busy"), S(j.member_id), WEIR_STR_NULL), 0);
    CHECK_EQ_STR(find_group(&f, "busy").state, "Empty");
    CHECK_EQ_INT(weir_group_expire_offsets(f.gc, left + 59000), 0);
    CHECK_EQ_INT(weir_group_expire_offsets(f.gc, left + 61000), 2);
    CHECK_EQ_INT(committed(&f, "busy", "t", 0), -1);
    fixture_close(&f);
}

TEST(protocol_selection_and_generations) {
    fixture f;
    fixture_open(&f);
    join_result a, b, c;
    join(&f, "g", "", NULL, RR_RANGE, false, &a);
    CHECK_EQ_INT(a.called, 1);
    CHECK_EQ_INT(a.error, 0);
    CHECK_EQ_INT(a.generation, 1);
    CHECK_EQ_STR(a.protocol, "roundrobin"); /* the leader's first choice */
    CHECK_EQ_STR(a.leader, a.member_id);
    char ma[96];
    snprintf(ma, sizeof ma, "%s", a.member_id);
    sync_result s;
    sync_group(&f, "g", ma, 1, &s, (const char *const[]){ma, "A1", NULL});
    CHECK_EQ_INT(s.error, 0);
    CHECK_EQ_STR(s.assignment, "A1");
    CHECK_EQ_STR(find_group(&f, "g").state, "Stable");

    /* No protocol in common, or another protocol type: refused at once. */
    join(&f, "g", "", NULL, (const char *const[]){"sticky", NULL}, false, &c);
    CHECK_EQ_INT(c.called, 1);
    CHECK_EQ_INT(c.error, WEIR_GERR_INCONSISTENT_GROUP_PROTOCOL);
    /* A session timeout out of bounds. */
    weir_group_join_req bad = {.group_id = S("g"), .member_id = S(""), .protocol_type = S("consumer"),
                               .session_timeout_ms = 10, .protocols = &(weir_group_protocol){S("range"), {0}},
                               .nprotocols = 1};
    join_result jb;
    memset(&jb, 0, sizeof jb);
    weir_group_join(f.gc, &bad, on_join, &jb);
    CHECK_EQ_INT(jb.error, WEIR_GERR_INVALID_SESSION_TIMEOUT);

    /* A member that only speaks "range" joins (v4+: first MEMBER_ID_REQUIRED): the
     * group rebalances, waits for the leader, and settles on "range" in generation 2. */
    join(&f, "g", "", NULL, RANGE, true, &b);
    CHECK_EQ_INT(b.error, WEIR_GERR_MEMBER_ID_REQUIRED);
    CHECK(b.member_id[0] != 0);
    char mb[96];
    snprintf(mb, sizeof mb, "%s", b.member_id);
    join(&f, "g", mb, NULL, RANGE, true, &b);
    CHECK_EQ_INT(b.called, 0); /* at the barrier */
    CHECK_EQ_STR(find_group(&f, "g").state, "PreparingRebalance");
    CHECK_EQ_INT(heartbeat(&f, "g", ma, NULL, 1), WEIR_GERR_REBALANCE_IN_PROGRESS);
    join(&f, "g", ma, NULL, RR_RANGE, true, &a);
    CHECK_EQ_INT(a.called, 1);
    CHECK_EQ_INT(b.called, 1);
    CHECK_EQ_INT(a.generation, 2);
    CHECK_EQ_INT(b.generation, 2);
    CHECK_EQ_STR(a.protocol, "range");
    CHECK_EQ_STR(b.protocol, "range");
    CHECK_EQ_STR(b.leader, ma);
    CHECK_EQ_INT(a.nmembers, 2); /* the leader gets every member */
    CHECK_EQ_INT(b.nmembers, 0);
    CHECK_EQ_STR(find_group(&f, "g").state, "CompletingRebalance");

    /* The follower's sync waits for the leader's. */
    sync_result sa, sb;
    sync_group(&f, "g", mb, 2, &sb, NULL);
    CHECK_EQ_INT(sb.called, 0);
    CHECK_EQ_INT(heartbeat(&f, "g", mb, NULL, 1), WEIR_GERR_ILLEGAL_GENERATION);
    sync_group(&f, "g", ma, 2, &sa, (const char *const[]){ma, "A2", mb, "B2", NULL});
    CHECK_EQ_INT(sa.called, 1);
    CHECK_EQ_INT(sb.called, 1);
    CHECK_EQ_STR(sa.assignment, "A2");
    CHECK_EQ_STR(sb.assignment, "B2");
    CHECK_EQ_INT(heartbeat(&f, "g", mb, NULL, 2), 0);

    /* The leader leaves: the other becomes leader of generation 3, alone again its
     * protocols are all that count. */
    CHECK_EQ_INT(weir_group_leave(f.gc, S("g"), S(ma), WEIR_STR_NULL), 0);
    CHECK_EQ_INT(heartbeat(&f, "g", ma, NULL, 2), WEIR_GERR_UNKNOWN_MEMBER_ID);
    join(&f, "g", mb, NULL, RANGE, true, &b);
    CHECK_EQ_INT(b.called, 1);
    CHECK_EQ_INT(b.generation, 3);
    CHECK_EQ_STR(b.leader, mb);
    CHECK_EQ_INT(b.nmembers, 1);
    CHECK_EQ_INT(weir_group_leave(f.gc, S("g"), S(mb), WEIR_STR_NULL), 0);
    group_seen g = find_group(&f, "g");
    CHECK_EQ_STR(g.state, "Empty");
    CHECK_EQ_INT(g.generation, 4);
    fixture_close(&f);
}

TEST(static_member_replacement) {
    fixture f;
    fixture_open(&f);
    join_result l, s;
    join(&f, "sg", "", NULL, RANGE, true, &l);
    join(&f, "sg", l.member_id, NULL, RANGE, true, &l);
    CHECK_EQ_INT(l.error, 0);
    char ml[96];
    snprintf(ml, sizeof ml, "%s", l.member_id);
    sync_result sl, ss;
    sync_group(&f, "sg", ml, 1, &sl, (const char *const[]){ml, "L1", NULL});
    /* A static member joins without MEMBER_ID_REQUIRED. */
    join(&f, "sg", "", "inst", RANGE, true, &s);
    CHECK_EQ_INT(s.called, 0);
    join(&f, "sg", ml, NULL, RANGE, true, &l);
    CHECK_EQ_INT(s.called, 1);
    CHECK_EQ_INT(s.error, 0);
    CHECK_EQ_INT(s.generation, 2);
    char ms[96];
    snprintf(ms, sizeof ms, "%s", s.member_id);
    sync_group(&f, "sg", ms, 2, &ss, NULL);
    sync_group(&f, "sg", ml, 2, &sl, (const char *const[]){ml, "L2", ms, "S2", NULL});
    CHECK_EQ_STR(ss.assignment, "S2");

    /* The static member's process restarts: a new member id, the same generation and
     * assignment, no rebalance; the old id is fenced. */
    join_result s2;
    join(&f, "sg", "", "inst", RANGE, true, &s2);
    CHECK_EQ_INT(s2.called, 1);
    CHECK_EQ_INT(s2.error, 0);
    CHECK_EQ_INT(s2.generation, 2);
    CHECK(strcmp(s2.member_id, ms) != 0);
    CHECK_EQ_STR(s2.leader, ml);
    CHECK_EQ_STR(find_group(&f, "sg").state, "Stable");
    CHECK_EQ_INT(heartbeat(&f, "sg", ml, NULL, 2), 0);
    CHECK_EQ_INT(heartbeat(&f, "sg", ms, "inst", 2), WEIR_GERR_FENCED_INSTANCE_ID);
    CHECK_EQ_INT(heartbeat(&f, "sg", s2.member_id, "inst", 2), 0);
    sync_result ss2;
    sync_group(&f, "sg", s2.member_id, 2, &ss2, NULL);
    CHECK_EQ_INT(ss2.error, 0);
    CHECK_EQ_STR(ss2.assignment, "S2");
    int16_t e[2];
    commit(&f, "sg", ms, 2, "t", 1, e); /* the fenced id cannot commit either */
    CHECK_EQ_INT(e[0], WEIR_GERR_UNKNOWN_MEMBER_ID);

    /* Coming back with other protocols does rebalance. */
    join_result s3;
    join(&f, "sg", "", "inst", RR_RANGE, true, &s3);
    CHECK_EQ_INT(s3.called, 0);
    CHECK_EQ_INT(heartbeat(&f, "sg", ml, NULL, 2), WEIR_GERR_REBALANCE_IN_PROGRESS);
    join(&f, "sg", ml, NULL, RANGE, true, &l);
    CHECK_EQ_INT(s3.called, 1);
    CHECK_EQ_INT(s3.generation, 3);
    CHECK_EQ_STR(s3.protocol, "range");
    fixture_close(&f);
}

static bool group_empty(void *arg) {
    fixture *f = arg;
    group_seen g = find_group(f, "short");
    return g.found && strcmp(g.state, "Empty") == 0;
}

TEST(silent_member_expires_after_its_session_timeout) {
    fixture f;
    fixture_open(&f);
    weir_group_join_req req = {.group_id = S("short"), .member_id = S(""), .protocol_type = S("consumer"),
                               .client_id = S("unit"), .session_timeout_ms = 1000, .rebalance_timeout_ms = 1000,
                               .protocols = &(weir_group_protocol){S("range"), {(const uint8_t *)"m", 1}},
                               .nprotocols = 1};
    join_result j;
    memset(&j, 0, sizeof j);
    weir_group_join(f.gc, &req, on_join, &j);
    CHECK_EQ_INT(j.error, 0);
    sync_result s;
    sync_group(&f, "short", j.member_id, 1, &s, (const char *const[]){j.member_id, "x", NULL});
    CHECK_EQ_STR(find_group(&f, "short").state, "Stable");
    int64_t t0 = weir_mono_ms();
    CHECK(run_until(f.loop, group_empty, &f, 10000));
    CHECK(weir_mono_ms() - t0 >= 900); /* not before its session timeout */
    group_seen g = find_group(&f, "short");
    CHECK_EQ_INT(g.nmembers, 0);
    CHECK_EQ_INT(g.generation, 2);
    CHECK_EQ_INT(heartbeat(&f, "short", j.member_id, NULL, 1), WEIR_GERR_UNKNOWN_MEMBER_ID);
    fixture_close(&f);
}

static bool mono_passed(void *arg) { return weir_mono_ms() >= *(int64_t *)arg; }

/* A client that got MEMBER_ID_REQUIRED and never came back: its id lapses after the
 * session timeout and the group it created (no members, no offsets) goes away at the
 * next retention check instead of being listed forever. */
TEST(unclaimed_member_id_does_not_keep_a_group_alive) {
    fixture f;
    fixture_open(&f);
    weir_group_join_req req = {.group_id = S("ghost"), .member_id = S(""), .protocol_type = S("consumer"),
                               .client_id = S("unit"), .session_timeout_ms = 1000, .rebalance_timeout_ms = 1000,
                               .protocols = &(weir_group_protocol){S("range"), {(const uint8_t *)"m", 1}},
                               .nprotocols = 1, .require_known_member_id = true};
    join_result j;
    memset(&j, 0, sizeof j);
    weir_group_join(f.gc, &req, on_join, &j);
    CHECK_EQ_INT(j.error, WEIR_GERR_MEMBER_ID_REQUIRED);
    CHECK(find_group(&f, "ghost").found);
    weir_group_expire_offsets(f.gc, weir_now_ms());
    CHECK(find_group(&f, "ghost").found); /* the id is still good */
    int64_t lapsed = weir_mono_ms() + 1100;
    CHECK(run_until(f.loop, mono_passed, &lapsed, 5000));
    weir_group_expire_offsets(f.gc, weir_now_ms());
    CHECK(!find_group(&f, "ghost").found);
    fixture_close(&f);
}

TEST_MAIN(T(offsets_of_empty_groups_expire_and_of_active_groups_never), T(protocol_selection_and_generations),
          T(static_member_replacement), T(silent_member_expires_after_its_session_timeout),
          T(unclaimed_member_id_does_not_keep_a_group_alive))
