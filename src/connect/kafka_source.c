/* kafka_source.c — the 'kafka' connector's source: open() reads the cluster's metadata and
 * fixes every partition's start and stop offsets (scan.startup.* / scan.bounded.*); each
 * worker's reader is one librdkafka consumer assigned its partitions (no group
 * rebalancing) that decodes records in batches into the engine's columns, fills metadata
 * columns, applies the bad-record policy (fail, skip, dead-letter topic) and commits the
 * offsets of rows it returned to properties.group.id at checkpoints. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connect/kafka_internal.h"

/* One split: a topic partition and the offsets [start, stop) to read. */
typedef struct kafka_split {
    int topic;
    int32_t partition;
    int64_t start;
    int64_t stop; /* INT64_MAX: unbounded */
} kafka_split;

typedef struct kafka_source {
    kafka_opts o;
    weir_sql_job *job;
    bool *needed;
    char *bootstrap;
    rd_kafka_conf_t *conf; /* the readers' configuration (each takes a copy) */
    const char **topics;   /* the topics read (the list, or the pattern's matches, sorted) */
    int ntopics;
    kafka_split *splits;
    int nsplits;
    /* errors.dead-letter-topic: one producer shared by the readers (librdkafka producers
     * are thread-safe); delivery reports find their reader through the message opaque */
    rd_kafka_t *dlq;
} kafka_source;

/* One assigned partition of a reader. */
typedef struct kafka_rpart {
    const kafka_split *split;
    int64_t next;      /* the offset after the last record returned (or skipped) */
    int64_t committed; /* what the group has (-1: nothing committed by this reader) */
    bool done;
} kafka_rpart;

typedef struct kafka_reader {
    kafka_source *src;
    rd_kafka_t *rk;
    rd_kafka_queue_t *q;
    weir_format *key, *value;
    weir_format *tkey;      /* upsert-kafka: every key column, for tombstones (deletes) */
    int max_msgs_div;       /* 2 with a changelog value format: a record may give two rows */
    kafka_rpart *parts;
    int nparts, nactive;
    int **pmap;             /* per source topic: partition number → index in parts (-1), or NULL */
    int *pmap_len;
    struct {
        const rd_kafka_topic_t *rkt;
        int topic;
    } rkt_cache[8];
    int nrkt_cache;
    rd_kafka_message_t **msgs;
    int msgs_cap;
    int *meta_cols, *meta_kinds; /* the metadata columns the query reads */
    int nmeta;
    weir_buf scratch;
    int64_t last_warn_ms;
    /* dead-letter deliveries (served on any thread that polls the shared producer) */
    atomic_long dlq_inflight;
    pthread_mutex_t dlq_lock;
    bool dlq_failed;
    weir_err dlq_err;
} kafka_reader;

/* ---- open: metadata and offsets ------------------------------------------------------ */

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* The topics to read and their partition counts, from one metadata request. */
static int resolve_topics(kafka_source *s, rd_kafka_t *rk, int **nparts, weir_err *err) {
    const kafka_opts *o = &s->o;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1, NULL, &md, KAFKA_METADATA_TIMEOUT_MS);
    if (e)
        return weir_err_set(err, "table '%s': cannot read the cluster's metadata from %s: %s", o->table->name,
                            s->bootstrap, rd_kafka_err2str(e));
    int rc = WEIR_OK;
    int cap = o->pattern ? md->topic_cnt : o->ntopics;
    s->topics = weir_arena_alloc(&s->o.arena, sizeof *s->topics * (size_t)(cap + 1));
    *nparts = weir_arena_alloc(&s->o.arena, sizeof(int) * (size_t)(cap + 1));
    if (o->pattern) {
        void *re;
        if (weir_kafka_pattern_compile(o, &re, err) != WEIR_OK) {
            rd_kafka_metadata_destroy(md);
            return WEIR_ERROR;
        }
        for (int i = 0; i < md->topic_cnt; i++) {
            const char *name = md->topics[i].topic;
            /* internal topics are left out, as Java's consumer does (exclude.internal.topics) */
            if (md->topics[i].err || !strcmp(name, "__consumer_offsets") || !strcmp(name, "__transaction_state"))
                continue;
            if (weir_kafka_pattern_matches(re, name))
                s->topics[s->ntopics++] = weir_arena_strndup(&s->o.arena, name, strlen(name));
        }
        weir_kafka_pattern_free(re);
        qsort(s->topics, (size_t)s->ntopics, sizeof *s->topics, cmp_str);
        if (s->ntopics == 0)
            weir_warn("kafka", "table '%s': no topic matches 'topic-pattern' = '%s' (topics are discovered when the job "
                      "starts)", o->table->name, o->pattern);
    } else {
        for (int i = 0; i < o->ntopics; i++) s->topics[s->ntopics++] = o->topics[i];
    }
    for (int t = 0; t < s->ntopics && rc == WEIR_OK; t++) {
        int found = -1;
        for (int i = 0; i < md->topic_cnt; i++)
            if (!strcmp(md->topics[i].topic, s->topics[t])) found = i;
        if (found < 0 || md->topics[found].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
            rc = weir_err_set(err, "table '%s': topic '%s' does not exist (bootstrap servers %s)", o->table->name,
                              s->topics[t], s->bootstrap);
        else if (md->topics[found].err)
            rc = weir_err_set(err, "table '%s': topic '%s': %s", o->table->name, s->topics[t],
                              rd_kafka_err2str(md->topics[found].err));
        else
            (*nparts)[t] = md->topics[found].partition_cnt;
    }
    rd_kafka_metadata_destroy(md);
    return rc;
}

/* ListOffsets for every split at once: timestamp ts, or -2 (earliest) / -1 (latest).
 * Fills out[i] with the offset (-1 when no record has a timestamp >= ts). */
static int list_offsets(kafka_source *s, rd_kafka_t *rk, int64_t ts, int64_t *out, weir_err *err) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(s->nsplits);
    for (int i = 0; i < s->nsplits; i++)
        rd_kafka_topic_partition_list_add(l, s->topics[s->splits[i].topic], s->splits[i].partition)->offset = ts;
    rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(rk, l, KAFKA_METADATA_TIMEOUT_MS);
    int rc = WEIR_OK;
    const char *what = ts == -2 ? "earliest offsets" : ts == -1 ? "latest offsets" : "offsets for a timestamp";
    if (e)
        rc = weir_err_set(err, "table '%s': cannot list the %s of its partitions: %s", s->o.table->name, what,
                          rd_kafka_err2str(e));
    for (int i = 0; i < l->cnt && rc == WEIR_OK; i++) {
        if (l->elems[i].err)
            rc = weir_err_set(err, "table '%s': cannot list the %s of topic %s, partition %d: %s", s->o.table->name,
                              what, l->elems[i].topic, l->elems[i].partition, rd_kafka_err2str(l->elems[i].err));
        out[i] = l->elems[i].offset;
    }
    rd_kafka_topic_partition_list_destroy(l);
    return rc;
}

/* The group's committed offsets (-1 where it has none). */
static int committed_offsets(kafka_source *s, rd_kafka_t *rk, int64_t *out, weir_err *err) {
    for (int i = 0; i < s->nsplits; i++) out[i] = -1;
    if (!s->o.group_id) return WEIR_OK;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(s->nsplits);
    for (int i = 0; i < s->nsplits; i++)
        rd_kafka_topic_partition_list_add(l, s->topics[s->splits[i].topic], s->splits[i].partition);
    rd_kafka_resp_err_t e = rd_kafka_committed(rk, l, KAFKA_METADATA_TIMEOUT_MS);
    int rc = WEIR_OK;
    if (e)
        rc = weir_err_set(err, "table '%s': cannot read the committed offsets of group '%s': %s", s->o.table->name,
                          s->o.group_id, rd_kafka_err2str(e));
    for (int i = 0; i < l->cnt && rc == WEIR_OK; i++) {
        if (l->elems[i].err)
            rc = weir_err_set(err, "table '%s': cannot read group '%s''s offset of topic %s, partition %d: %s",
                              s->o.table->name, s->o.group_id, l->elems[i].topic, l->elems[i].partition,
                              rd_kafka_err2str(l->elems[i].err));
        out[i] = l->elems[i].offset >= 0 ? l->elems[i].offset : -1;
    }
    rd_kafka_topic_partition_list_destroy(l);
    return rc;
}

static const kafka_specific_offset *find_specific(const kafka_specific_offset *v, int n, int32_t partition) {
    for (int i = 0; i < n; i++)
        if (v[i].partition == partition) return &v[i];
    return NULL;
}

/* Fixes [start, stop) of every split, as Flink's OffsetsInitializers would at job start. */
static int resolve_offsets(kafka_source *s, rd_kafka_t *rk, weir_err *err) {
    const kafka_opts *o = &s->o;
    size_t n = (size_t)s->nsplits + 1;
    int64_t *earliest = calloc(n, 8), *latest = calloc(n, 8), *committed = calloc(n, 8), *tsoff = calloc(n, 8);
    if (!earliest || !latest || !committed || !tsoff) abort();
    bool need_committed = o->startup == KAFKA_POS_GROUP || o->startup == KAFKA_POS_SPECIFIC ||
                          o->bounded == KAFKA_POS_GROUP;
    int rc = list_offsets(s, rk, -2, earliest, err);
    if (rc == WEIR_OK) rc = list_offsets(s, rk, -1, latest, err);
    if (rc == WEIR_OK && need_committed) rc = committed_offsets(s, rk, committed, err);
    for (int i = 0; i < s->nsplits && rc == WEIR_OK; i++) {
        kafka_split *sp = &s->splits[i];
        const char *topic = s->topics[sp->topic];
        const kafka_specific_offset *so;
        switch (o->startup) {
        case KAFKA_POS_EARLIEST: sp->start = earliest[i]; break;
        case KAFKA_POS_LATEST: sp->start = latest[i]; break;
        case KAFKA_POS_TIMESTAMP: sp->start = -1; break; /* below */
        case KAFKA_POS_SPECIFIC:
            so = find_specific(o->startup_offsets, o->nstartup_offsets, sp->partition);
            /* partitions not listed: the group's offset, else the earliest (Flink's
             * SpecifiedOffsetsInitializer) */
            sp->start = so ? so->offset : committed[i] >= 0 ? committed[i] : earliest[i];
            break;
        default: /* group-offsets */
            if (committed[i] >= 0) sp->start = committed[i];
            else if (o->auto_offset_reset && !strcmp(o->auto_offset_reset, "earliest")) sp->start = earliest[i];
            else if (o->auto_offset_reset && !strcmp(o->auto_offset_reset, "latest")) sp->start = latest[i];
            else if (o->group_id)
                rc = weir_err_set(err,
                                  "table '%s': group '%s' has no committed offset for topic %s, partition %d and "
                                  "'scan.startup.mode' is 'group-offsets'%s: set 'properties.auto.offset.reset' "
                                  "(earliest or latest) or another 'scan.startup.mode'",
                                  o->table->name, o->group_id, topic, sp->partition,
                                  weir_sql_table_option(o->table, "scan.startup.mode") ? "" : " (the default)");
            else
                rc = weir_err_set(err,
                                  "table '%s': 'scan.startup.mode' is 'group-offsets'%s but the table has no "
                                  "'properties.group.id' to read offsets from: set 'scan.startup.mode' (e.g. "
                                  "'earliest-offset'), 'properties.group.id', or 'properties.auto.offset.reset'",
                                  o->table->name,
                                  weir_sql_table_option(o->table, "scan.startup.mode") ? "" : " (the default)");
        }
        switch (o->bounded) {
        case KAFKA_POS_UNBOUNDED: sp->stop = INT64_MAX; break;
        case KAFKA_POS_LATEST: sp->stop = latest[i]; break;
        case KAFKA_POS_TIMESTAMP: sp->stop = -1; break; /* below */
        case KAFKA_POS_SPECIFIC:
            /* a partition without an offset is not read (Flink) */
            so = find_specific(o->bounded_offsets, o->nbounded_offsets, sp->partition);
            sp->stop = so ? so->offset : INT64_MIN;
            break;
        default: /* group-offsets */
            if (committed[i] >= 0) sp->stop = committed[i];
            else if (rc == WEIR_OK)
                rc = weir_err_set(err,
                                  "table '%s': 'scan.bounded.mode' is 'group-offsets' but %s has no committed offset "
                                  "for topic %s, partition %d to stop at",
                                  o->table->name, o->group_id ? "the group" : "the table has no 'properties.group.id' and",
                                  topic, sp->partition);
        }
    }
    if (rc == WEIR_OK && o->startup == KAFKA_POS_TIMESTAMP) {
        rc = list_offsets(s, rk, o->startup_ts, tsoff, err);
        /* no record at or after the timestamp: start at the end */
        for (int i = 0; i < s->nsplits && rc == WEIR_OK; i++) s->splits[i].start = tsoff[i] >= 0 ? tsoff[i] : latest[i];
    }
    if (rc == WEIR_OK && o->bounded == KAFKA_POS_TIMESTAMP) {
        rc = list_offsets(s, rk, o->bounded_ts, tsoff, err);
        for (int i = 0; i < s->nsplits && rc == WEIR_OK; i++) s->splits[i].stop = tsoff[i] >= 0 ? tsoff[i] : latest[i];
    }
    for (int i = 0; i < s->nsplits && rc == WEIR_OK; i++)
        if (s->splits[i].stop == INT64_MIN) s->splits[i].stop = s->splits[i].start;
    free(earliest);
    free(latest);
    free(committed);
    free(tsoff);
    return rc;
}

static void dlq_delivered(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);

static void source_free(kafka_source *s) {
    if (!s) return;
    if (s->dlq) {
        rd_kafka_flush(s->dlq, 30000);
        rd_kafka_destroy(s->dlq);
    }
    if (s->conf) rd_kafka_conf_destroy(s->conf);
    free(s->needed);
    free(s->bootstrap);
    weir_kafka_opts_free(&s->o);
    free(s);
}

static int source_open_as(const weir_sql_conn_ctx *ctx, bool upsert, void **out, int *nsplits, weir_err *err) {
    kafka_source *s = calloc(1, sizeof *s);
    if (!s) abort();
    if (weir_kafka_opts_parse_as(ctx->table, true, upsert, &s->o, err) != WEIR_OK) {
        free(s);
        return WEIR_ERROR;
    }
    s->job = ctx->job;
    const weir_sql_table *t = ctx->table;
    s->needed = malloc((size_t)t->ncolumns + 1);
    if (!s->needed) abort();
    for (int c = 0; c < t->ncolumns; c++) s->needed[c] = ctx->needed ? ctx->needed[c] : true;
    /* an upsert row is nothing without its key (the changelog normaliser keys on it) */
    for (int i = 0; upsert && i < s->o.nkey_cols; i++) s->needed[s->o.key_cols[i]] = true;
    const char *bs = weir_kafka_bootstrap(&s->o, ctx->job, err);
    if (!bs) goto fail;
    s->bootstrap = strdup(bs);
    if (weir_kafka_conf_new(&s->o, s->bootstrap, KAFKA_ROLE_CONSUMER, &s->conf, err) != WEIR_OK) {
        s->conf = NULL;
        goto fail;
    }
    /* a short-lived consumer of our own for metadata, offsets and the group's commits */
    rd_kafka_t *rk = weir_kafka_client_new(&s->o, RD_KAFKA_CONSUMER, rd_kafka_conf_dup(s->conf), err);
    if (!rk) goto fail;
    int *nparts = NULL;
    int rc = resolve_topics(s, rk, &nparts, err);
    if (rc == WEIR_OK) {
        int total = 0;
        for (int i = 0; i < s->ntopics; i++) total += nparts[i];
        s->splits = weir_arena_alloc(&s->o.arena, sizeof *s->splits * (size_t)(total + 1));
        for (int i = 0; i < s->ntopics; i++)
            for (int p = 0; p < nparts[i]; p++) s->splits[s->nsplits++] = (kafka_split){.topic = i, .partition = p};
        if (s->nsplits) rc = resolve_offsets(s, rk, err);
    }
    rd_kafka_destroy(rk);
    if (rc != WEIR_OK) goto fail;
    if (s->o.dead_letter_topic) {
        rd_kafka_conf_t *pc;
        if (weir_kafka_conf_new(&s->o, s->bootstrap, KAFKA_ROLE_PRODUCER, &pc, err) != WEIR_OK) goto fail;
        rd_kafka_conf_set_dr_msg_cb(pc, dlq_delivered);
        s->dlq = weir_kafka_client_new(&s->o, RD_KAFKA_PRODUCER, pc, err);
        if (!s->dlq) goto fail;
        int n;
        weir_err e;
        if (weir_kafka_partition_count(&s->o, s->dlq, s->o.dead_letter_topic, s->bootstrap, &n, &e) != WEIR_OK) {
            const char *why = strstr(e.msg, "': ");
            weir_err_set(err, "table '%s': 'errors.dead-letter-topic': %s", t->name, why ? why + 3 : e.msg);
            goto fail;
        }
    }
    for (int i = 0; i < s->nsplits; i++)
        weir_debug("kafka", "table '%s': topic %s, partition %d: offsets [%lld, %lld)", t->name,
                   s->topics[s->splits[i].topic], s->splits[i].partition, (long long)s->splits[i].start,
                   (long long)s->splits[i].stop);
    *out = s;
    *nsplits = s->nsplits;
    return WEIR_OK;
fail:
    source_free(s);
    return WEIR_ERROR;
}

static int source_open(const weir_sql_conn_ctx *ctx, void **out, int *nsplits, weir_err *err) {
    return source_open_as(ctx, false, out, nsplits, err);
}

static int upsert_source_open(const weir_sql_conn_ctx *ctx, void **out, int *nsplits, weir_err *err) {
    return source_open_as(ctx, true, out, nsplits, err);
}

static void source_close(void *sv) { source_free(sv); }

/* ---- readers -------------------------------------------------------------------------- */

static void reader_free(kafka_reader *r) {
    if (!r) return;
    /* dead-letter delivery reports name this reader (a failed worker closes without a
     * commit): let them come before it goes */
    while (r->src->dlq && atomic_load(&r->dlq_inflight) > 0) rd_kafka_poll(r->src->dlq, 100);
    if (r->rk) {
        if (r->q) rd_kafka_queue_destroy(r->q);
        rd_kafka_consumer_close(r->rk);
        rd_kafka_destroy(r->rk);
    }
    weir_format_free(r->key);
    weir_format_free(r->value);
    weir_format_free(r->tkey);
    if (r->pmap)
        for (int t = 0; t < r->src->ntopics; t++) free(r->pmap[t]);
    free(r->pmap);
    free(r->pmap_len);
    free(r->parts);
    free(r->msgs);
    free(r->meta_cols);
    free(r->meta_kinds);
    weir_buf_free(&r->scratch);
    pthread_mutex_destroy(&r->dlq_lock);
    free(r);
}

static void close_reader(void *rv) { reader_free(rv); }

static int open_reader(void *sv, int worker, const int *splits, int nsplits, void **out, weir_err *err) {
    (void)worker;
    kafka_source *s = sv;
    const weir_sql_table *t = s->o.table;
    kafka_reader *r = calloc(1, sizeof *r);
    if (!r) abort();
    r->src = s;
    pthread_mutex_init(&r->dlq_lock, NULL);
    atomic_init(&r->dlq_inflight, 0);
    weir_buf_init(&r->scratch);
    r->parts = calloc((size_t)nsplits + 1, sizeof *r->parts);
    r->pmap = calloc((size_t)s->ntopics + 1, sizeof *r->pmap);
    r->pmap_len = calloc((size_t)s->ntopics + 1, sizeof *r->pmap_len);
    r->meta_cols = calloc((size_t)t->ncolumns + 1, sizeof(int));
    r->meta_kinds = calloc((size_t)t->ncolumns + 1, sizeof(int));
    if (!r->parts || !r->pmap || !r->pmap_len || !r->meta_cols || !r->meta_kinds) abort();
    for (int c = 0; c < t->ncolumns; c++)
        if (s->o.meta[c] != KAFKA_META_NONE && s->needed[c]) {
            r->meta_cols[r->nmeta] = c;
            r->meta_kinds[r->nmeta++] = s->o.meta[c];
        }
    if (weir_kafka_formats_open(&s->o, s->needed, &r->key, &r->value, err) != WEIR_OK) goto fail;
    if (s->o.upsert && weir_kafka_key_format_open(&s->o, s->needed, &r->tkey, err) != WEIR_OK) goto fail;
    r->max_msgs_div = weir_format_is_changelog(r->value) ? 2 : 1;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(nsplits ? nsplits : 1);
    for (int i = 0; i < nsplits; i++) {
        const kafka_split *sp = &s->splits[splits[i]];
        kafka_rpart *p = &r->parts[r->nparts];
        p->split = sp;
        p->next = sp->start;
        p->committed = -1;
        p->done = sp->start >= sp->stop;
        if (!p->done) {
            rd_kafka_topic_partition_list_add(l, s->topics[sp->topic], sp->partition)->offset = sp->start;
            r->nactive++;
        }
        if (r->pmap_len[sp->topic] <= sp->partition) {
            int len = sp->partition + 1;
            int *m = realloc(r->pmap[sp->topic], sizeof(int) * (size_t)len);
            if (!m) abort();
            for (int k = r->pmap_len[sp->topic]; k < len; k++) m[k] = -1;
            r->pmap[sp->topic] = m;
            r->pmap_len[sp->topic] = len;
        }
        r->pmap[sp->topic][sp->partition] = r->nparts++;
    }
    r->rk = weir_kafka_client_new(&s->o, RD_KAFKA_CONSUMER, rd_kafka_conf_dup(s->conf), err);
    if (!r->rk) {
        rd_kafka_topic_partition_list_destroy(l);
        goto fail;
    }
    rd_kafka_poll_set_consumer(r->rk);
    r->q = rd_kafka_queue_get_consumer(r->rk);
    rd_kafka_resp_err_t e = l->cnt ? rd_kafka_assign(r->rk, l) : RD_KAFKA_RESP_ERR_NO_ERROR;
    rd_kafka_topic_partition_list_destroy(l);
    if (e) {
        weir_err_set(err, "table '%s': cannot assign the partitions to the consumer: %s", t->name,
                     rd_kafka_err2str(e));
        goto fail;
    }
    *out = r;
    return WEIR_OK;
fail:
    reader_free(r);
    return WEIR_ERROR;
}

static kafka_rpart *find_part(kafka_reader *r, const rd_kafka_message_t *m) {
    if (!m->rkt) return NULL;
    int topic = -1;
    for (int i = 0; i < r->nrkt_cache && topic < 0; i++)
        if (r->rkt_cache[i].rkt == m->rkt) topic = r->rkt_cache[i].topic;
    if (topic < 0) {
        const char *name = rd_kafka_topic_name(m->rkt);
        for (int i = 0; i < r->src->ntopics && topic < 0; i++)
            if (!strcmp(r->src->topics[i], name)) topic = i;
        if (topic < 0) return NULL;
        if (r->nrkt_cache < (int)(sizeof r->rkt_cache / sizeof r->rkt_cache[0])) {
            r->rkt_cache[r->nrkt_cache].rkt = m->rkt;
            r->rkt_cache[r->nrkt_cache++].topic = topic;
        }
    }
    if (m->partition < 0 || m->partition >= r->pmap_len[topic]) return NULL;
    int k = r->pmap[topic][m->partition];
    return k < 0 ? NULL : &r->parts[k];
}

/* A partition reached its stop offset: stop fetching it. */
static void part_done(kafka_reader *r, kafka_rpart *p) {
    if (p->done) return;
    p->done = true;
    r->nactive--;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, r->src->topics[p->split->topic], p->split->partition);
    rd_kafka_pause_partitions(r->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
}

/* An integer metadata value into a column of the declared type (checked by validate). */
static void set_meta_int(weir_sql_batch *b, int col, int row, int64_t v) {
    const weir_sql_ltype *ty = &b->cols[col].type;
    if (ty->kind == WEIR_SQL_TYPE_DECIMAL) {
        for (int i = 0; i < ty->scale; i++) v *= 10;
        weir_sql_batch_set_i64(b, col, row, v);
    } else if (weir_sql_ltype_is_string(ty)) {
        char tmp[24];
        int n = snprintf(tmp, sizeof tmp, "%lld", (long long)v);
        weir_sql_batch_set_str(b, col, row, tmp, (size_t)n);
    } else {
        weir_sql_batch_set_i64(b, col, row, v);
    }
}

static void set_meta_str(weir_sql_batch *b, int col, int row, const char *s) {
    weir_sql_batch_set_str(b, col, row, s, strlen(s));
}

/* headers as MAP<STRING, BYTES> in the engine's nested encoding; a name given twice keeps
 * its last value (Flink builds a HashMap) */
static void set_meta_headers(kafka_reader *r, weir_sql_batch *b, int col, int row, const rd_kafka_message_t *m) {
    weir_buf *buf = &r->scratch;
    buf->len = 0;
    size_t slot = weir_sql_nested_put_count_slot(buf);
    uint32_t n = 0;
    rd_kafka_headers_t *h = NULL;
    if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR && h) {
        size_t cnt = rd_kafka_header_cnt(h);
        for (size_t i = 0; i < cnt; i++) {
            const char *name;
            const void *val;
            size_t size;
            if (rd_kafka_header_get_all(h, i, &name, &val, &size)) continue;
            bool later = false;
            for (size_t j = i + 1; j < cnt && !later; j++) {
                const char *n2;
                const void *v2;
                size_t s2;
                if (!rd_kafka_header_get_all(h, j, &n2, &v2, &s2)) later = !strcmp(n2, name);
            }
            if (later) continue;
            weir_sql_nested_put_bytes(buf, name, (uint32_t)strlen(name));
            if (val) weir_sql_nested_put_bytes(buf, val, (uint32_t)size);
            else weir_sql_nested_put_null(buf);
            n++;
        }
    }
    weir_sql_nested_set_count(buf, slot, n);
    weir_sql_batch_set_str(b, col, row, (const char *)buf->data, buf->len);
}

static void fill_metadata(kafka_reader *r, weir_sql_batch *b, int row, const rd_kafka_message_t *m) {
    for (int i = 0; i < r->nmeta; i++) {
        int c = r->meta_cols[i];
        switch (r->meta_kinds[i]) {
        case KAFKA_META_TOPIC: set_meta_str(b, c, row, rd_kafka_topic_name(m->rkt)); break;
        case KAFKA_META_PARTITION: set_meta_int(b, c, row, m->partition); break;
        case KAFKA_META_OFFSET: set_meta_int(b, c, row, m->offset); break;
        case KAFKA_META_LEADER_EPOCH: {
#if RD_KAFKA_VERSION >= 0x020100ff
            int32_t epoch = rd_kafka_message_leader_epoch(m);
            if (epoch >= 0) set_meta_int(b, c, row, epoch);
#endif
            /* librdkafka before 2.1 does not expose it: NULL, "if available" in Flink */
            break;
        }
        case KAFKA_META_TIMESTAMP: {
            rd_kafka_timestamp_type_t tt;
            int64_t ms = rd_kafka_message_timestamp(m, &tt);
            int64_t us = ms * 1000;
            int p = b->cols[c].type.precision;
            if (p < 3) {
                int64_t unit = p == 0 ? 1000000 : p == 1 ? 100000 : 10000;
                us = (us / unit - (us % unit < 0)) * unit;
            }
            weir_sql_batch_set_i64(b, c, row, us);
            break;
        }
        case KAFKA_META_TIMESTAMP_TYPE: {
            rd_kafka_timestamp_type_t tt;
            rd_kafka_message_timestamp(m, &tt);
            set_meta_str(b, c, row, tt == RD_KAFKA_TIMESTAMP_CREATE_TIME       ? "CreateTime"
                                    : tt == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME ? "LogAppendTime"
                                                                               : "NoTimestampType");
            break;
        }
        case KAFKA_META_HEADERS: set_meta_headers(r, b, c, row, m); break;
        }
    }
}

/* ---- bad records ------------------------------------------------------------------------ */

/* Delivery report of a dead-lettered record; runs on whichever thread polls the producer. */
static void dlq_delivered(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    (void)opaque;
    kafka_reader *r = m->_private;
    if (!r) return;
    if (m->err) {
        pthread_mutex_lock(&r->dlq_lock);
        if (!r->dlq_failed) {
            r->dlq_failed = true;
            weir_err_set(&r->dlq_err, "table '%s': cannot write a bad record to the dead-letter topic '%s': %s",
                         r->src->o.table->name, r->src->o.dead_letter_topic, rd_kafka_err2str(m->err));
        }
        pthread_mutex_unlock(&r->dlq_lock);
    } else {
        weir_sql_job_count_dead_lettered(r->src->job, 1);
    }
    atomic_fetch_sub(&r->dlq_inflight, 1);
}

static void add_header(rd_kafka_headers_t *h, const char *name, const char *value) {
    rd_kafka_header_add(h, name, -1, value, (ssize_t)strlen(value));
}

/* Produces the record's original key, value, timestamp and headers to the dead-letter
 * topic, with headers saying where it came from and why (like Kafka Connect's
 * __connect.errors.* headers). Delivery is waited for in commit(). */
static int dead_letter(kafka_reader *r, const rd_kafka_message_t *m, const char *stage, const char *why,
                       weir_err *err) {
    kafka_source *s = r->src;
    rd_kafka_headers_t *orig = NULL, *h;
    if (rd_kafka_message_headers(m, &orig) == RD_KAFKA_RESP_ERR_NO_ERROR && orig) h = rd_kafka_headers_copy(orig);
    else h = rd_kafka_headers_new(6);
    char num[32];
    add_header(h, "__weir.errors.topic", rd_kafka_topic_name(m->rkt));
    snprintf(num, sizeof num, "%d", (int)m->partition);
    add_header(h, "__weir.errors.partition", num);
    snprintf(num, sizeof num, "%lld", (long long)m->offset);
    add_header(h, "__weir.errors.offset", num);
    add_header(h, "__weir.errors.exception.message", why);
    add_header(h, "__weir.errors.stage", stage);
    add_header(h, "__weir.errors.table", s->o.table->name);
    rd_kafka_timestamp_type_t tt;
    int64_t ts = rd_kafka_message_timestamp(m, &tt);
    atomic_fetch_add(&r->dlq_inflight, 1);
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            s->dlq, RD_KAFKA_V_TOPIC(s->o.dead_letter_topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(m->key, m->key_len), RD_KAFKA_V_VALUE(m->payload, m->len),
            RD_KAFKA_V_TIMESTAMP(tt == RD_KAFKA_TIMESTAMP_CREATE_TIME ? ts : 0), RD_KAFKA_V_HEADERS(h),
            RD_KAFKA_V_OPAQUE(r), RD_KAFKA_V_END);
        if (!e) return WEIR_OK;
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(s->dlq, 50);
            continue;
        }
        atomic_fetch_sub(&r->dlq_inflight, 1);
        rd_kafka_headers_destroy(h);
        return weir_err_set(err, "table '%s': cannot write the bad record at topic %s, partition %d, offset %lld to "
                            "the dead-letter topic '%s': %s",
                            s->o.table->name, rd_kafka_topic_name(m->rkt), (int)m->partition, (long long)m->offset,
                            s->o.dead_letter_topic, rd_kafka_err2str(e));
    }
}

/* A record whose key or value did not decode: dead-letter topic, else skip when the
 * format ignores parse errors, else fail the job naming the record. The row is undone. */
static int bad_record(kafka_reader *r, const rd_kafka_message_t *m, bool is_key, const weir_format *f,
                      weir_sql_batch *out, int row, const weir_err *why, weir_err *err) {
    kafka_source *s = r->src;
    weir_sql_batch_truncate(out, row);
    if (s->dlq) return dead_letter(r, m, is_key ? "KEY_FORMAT" : "VALUE_FORMAT", why->msg, err);
    if (weir_format_ignores_parse_errors(f)) {
        weir_sql_job_count_skipped(s->job, 1);
        return WEIR_OK;
    }
    return weir_err_set(err, "table '%s': cannot decode the %s of the record at topic %s, partition %d, offset %lld: %s",
                        s->o.table->name, is_key ? "key" : "value", rd_kafka_topic_name(m->rkt), (int)m->partition,
                        (long long)m->offset, why->msg);
}

/* ---- reading ----------------------------------------------------------------------------- */

static bool fatal_consumer_error(rd_kafka_resp_err_t e) {
    switch (e) {
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
    case RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE:
    case RD_KAFKA_RESP_ERR__FATAL:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED: return true;
    default: return false;
    }
}

/* One message from the consumer: a row (or nothing: tombstones, records past the stop
 * offset, skipped or dead-lettered bad records), or an event. */
static int handle_message(kafka_reader *r, const rd_kafka_message_t *m, weir_sql_batch *out, int *rows,
                          weir_err *err) {
    kafka_source *s = r->src;
    if (m->err) {
        kafka_rpart *p = find_part(r, m);
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (p && !p->done && m->offset >= p->split->stop) part_done(r, p);
            return WEIR_OK;
        }
        if (fatal_consumer_error(m->err)) {
            if (m->rkt)
                return weir_err_set(err, "table '%s': reading topic %s, partition %d: %s", s->o.table->name,
                                    rd_kafka_topic_name(m->rkt), (int)m->partition, rd_kafka_message_errstr(m));
            return weir_err_set(err, "table '%s': reading from %s: %s", s->o.table->name, s->bootstrap,
                                rd_kafka_message_errstr(m));
        }
        /* transient (a broker down, a timeout): librdkafka retries; say so now and then */
        int64_t now = weir_mono_ms();
        if (now - r->last_warn_ms > 10000) {
            r->last_warn_ms = now;
            weir_warn("kafka", "table '%s': %s (retrying)", s->o.table->name, rd_kafka_message_errstr(m));
        }
        return WEIR_OK;
    }
    kafka_rpart *p = find_part(r, m);
    if (!p || p->done) return WEIR_OK;
    if (m->offset >= p->split->stop) {
        part_done(r, p);
        return WEIR_OK;
    }
    int row = weir_sql_batch_add_row(out);
    weir_err why;
    int n = 0;
    if (!m->payload) {
        /* a tombstone (null value): upsert-kafka's delete of its key; else no row, as in Flink */
        if (s->o.upsert) {
            if (!m->key) {
                weir_err_set(&why, "a tombstone without a key (upsert-kafka's deletes name the primary key)");
                if (bad_record(r, m, true, r->tkey, out, row, &why, err) != WEIR_OK) return WEIR_ERROR;
            } else if (weir_format_decode(r->tkey, m->key, m->key_len, out, row, &why) == WEIR_ERROR) {
                if (bad_record(r, m, true, r->tkey, out, row, &why, err) != WEIR_OK) return WEIR_ERROR;
            } else {
                out->row_kinds[row] = WEIR_SQL_ROW_DELETE;
                n = 1;
            }
        }
    } else if (weir_format_decode_changes(r->value, m->payload, m->len, out, row, &n, &why) != WEIR_OK) {
        if (bad_record(r, m, false, r->value, out, row, &why, err) != WEIR_OK) return WEIR_ERROR;
        n = 0;
    } else if (s->o.upsert) {
        /* a value is the key's latest row: an upsert (the normaliser after this source
         * turns it into +I or -U/+U) */
        for (int i = 0; i < n; i++) out->row_kinds[row + i] = WEIR_SQL_ROW_UPDATE_AFTER;
    }
    /* the key columns the value does not carry (r->key decodes only those), into every
     * row the record gave */
    if (n > 0 && m->payload && r->key && m->key)
        for (int i = 0; i < n; i++)
            if (weir_format_decode(r->key, m->key, m->key_len, out, row + i, &why) == WEIR_ERROR) {
                if (bad_record(r, m, true, r->key, out, row, &why, err) != WEIR_OK) return WEIR_ERROR;
                n = 0;
                break;
            }
    if (n == 0) weir_sql_batch_truncate(out, row);
    for (int i = 0; i < n; i++) fill_metadata(r, out, row + i, m);
    *rows += n;
    p->next = m->offset + 1;
    if (p->next >= p->split->stop) part_done(r, p);
    return WEIR_OK;
}

static int reader_read(void *rv, weir_sql_batch *out, int max, int timeout_ms, weir_err *err) {
    kafka_reader *r = rv;
    if (r->src->dlq && atomic_load(&r->dlq_inflight) > 0) rd_kafka_poll(r->src->dlq, 0);
    if (r->nactive == 0) return WEIR_SQL_END;
    /* a changelog record may give two rows (-U, +U): take half as many records */
    if (r->max_msgs_div > 1) max /= r->max_msgs_div;
    if (max < 1) max = 1;
    if (r->msgs_cap < max) {
        rd_kafka_message_t **m = realloc(r->msgs, sizeof *m * (size_t)max);
        if (!m) abort();
        r->msgs = m;
        r->msgs_cap = max;
    }
    /* whatever is there now; if nothing, wait for one record, then take what came with it
     * (rd_kafka_consume_batch_queue with a timeout would wait for a full batch) */
    ssize_t got = rd_kafka_consume_batch_queue(r->q, 0, r->msgs, (size_t)max);
    if (got == 0 && timeout_ms > 0) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(r->rk, timeout_ms);
        if (m) {
            r->msgs[0] = m;
            got = 1;
            if (max > 1) {
                ssize_t more = rd_kafka_consume_batch_queue(r->q, 0, r->msgs + 1, (size_t)max - 1);
                if (more > 0) got += more;
            }
        }
    }
    if (got < 0)
        return weir_err_set(err, "table '%s': cannot read from the consumer: %s", r->src->o.table->name,
                            rd_kafka_err2str(rd_kafka_last_error()));
    int rows = 0, rc = WEIR_OK;
    for (ssize_t i = 0; i < got; i++) {
        if (rc == WEIR_OK) rc = handle_message(r, r->msgs[i], out, &rows, err);
        rd_kafka_message_destroy(r->msgs[i]);
    }
    if (rc != WEIR_OK) return WEIR_ERROR;
    if (rows == 0 && r->nactive == 0) return WEIR_SQL_END;
    return rows;
}

/* Every row returned so far is written: wait for the dead-letter deliveries of the bad
 * records among them, then commit the next offsets to the group (synchronously, so a
 * restart with 'group-offsets' resumes exactly there). */
static int reader_commit(void *rv, weir_err *err) {
    kafka_reader *r = rv;
    kafka_source *s = r->src;
    if (s->dlq) {
        while (atomic_load(&r->dlq_inflight) > 0) rd_kafka_poll(s->dlq, 100);
        pthread_mutex_lock(&r->dlq_lock);
        bool failed = r->dlq_failed;
        if (failed) *err = r->dlq_err;
        pthread_mutex_unlock(&r->dlq_lock);
        if (failed) return WEIR_ERROR;
    }
    if (!s->o.group_id) return WEIR_OK;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(r->nparts ? r->nparts : 1);
    for (int i = 0; i < r->nparts; i++) {
        kafka_rpart *p = &r->parts[i];
        if (p->next > p->committed && p->next > p->split->start)
            rd_kafka_topic_partition_list_add(l, s->topics[p->split->topic], p->split->partition)->offset = p->next;
    }
    int rc = WEIR_OK;
    if (l->cnt) {
        rd_kafka_resp_err_t e = rd_kafka_commit(r->rk, l, 0);
        if (e)
            rc = weir_err_set(err, "table '%s': cannot commit offsets to group '%s': %s", s->o.table->name,
                              s->o.group_id, rd_kafka_err2str(e));
        for (int i = 0; i < l->cnt && rc == WEIR_OK; i++)
            if (l->elems[i].err)
                rc = weir_err_set(err, "table '%s': cannot commit offset %lld of topic %s, partition %d to group '%s': %s",
                                  s->o.table->name, (long long)l->elems[i].offset, l->elems[i].topic,
                                  l->elems[i].partition, s->o.group_id, rd_kafka_err2str(l->elems[i].err));
        if (rc == WEIR_OK)
            for (int i = 0; i < r->nparts; i++)
                if (r->parts[i].next > r->parts[i].committed && r->parts[i].next > r->parts[i].split->start)
                    r->parts[i].committed = r->parts[i].next;
    }
    rd_kafka_topic_partition_list_destroy(l);
    return rc;
}

/* ---- checkpoint positions ----------------------------------------------------------- */

/* A position is: version byte 1, the topic's length (u16, big-endian) and name, the
 * partition (i32) and the next offset to read (i64), both big-endian. */
enum { KAFKA_POS_VERSION = 1 };

static void put_be(weir_buf *out, uint64_t v, int n) {
    uint8_t b[8];
    for (int i = 0; i < n; i++) b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    weir_buf_append(out, b, (size_t)n);
}

static uint64_t get_be(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v = v << 8 | p[i];
    return v;
}

/* p->next is the offset after the last record read() handed back (the records of one
 * read call are all handled before it returns), never what librdkafka prefetched. */
static int reader_position(void *rv, int split, weir_buf *out, weir_err *err) {
    kafka_reader *r = rv;
    kafka_source *s = r->src;
    if (split < 0 || split >= s->nsplits)
        return weir_err_set(err, "table '%s': no split %d (the source has %d)", s->o.table->name, split, s->nsplits);
    const kafka_split *sp = &s->splits[split];
    for (int i = 0; i < r->nparts; i++) {
        if (r->parts[i].split != sp) continue;
        const char *topic = s->topics[sp->topic];
        size_t tl = strlen(topic);
        put_be(out, KAFKA_POS_VERSION, 1);
        put_be(out, tl, 2);
        weir_buf_append(out, topic, tl);
        put_be(out, (uint32_t)sp->partition, 4);
        put_be(out, (uint64_t)r->parts[i].next, 8);
        return WEIR_OK;
    }
    return weir_err_set(err, "table '%s': topic %s, partition %d is not read by this reader", s->o.table->name,
                        s->topics[sp->topic], sp->partition);
}

static int source_seek(void *sv, const uint8_t *pos, size_t len, weir_err *err) {
    kafka_source *s = sv;
    if (len < 3 || pos[0] != KAFKA_POS_VERSION)
        return weir_err_set(err, "table '%s': a saved position that is not a Kafka position (%zu bytes, version %d)",
                            s->o.table->name, len, len ? pos[0] : -1);
    size_t tl = (size_t)get_be(pos + 1, 2);
    if (len != 3 + tl + 12)
        return weir_err_set(err, "table '%s': a saved Kafka position of %zu bytes, expected %zu", s->o.table->name,
                            len, 3 + tl + 12);
    const char *topic = (const char *)pos + 3;
    int32_t partition = (int32_t)get_be(pos + 3 + tl, 4);
    int64_t offset = (int64_t)get_be(pos + 3 + tl + 4, 8);
    for (int i = 0; i < s->nsplits; i++) {
        kafka_split *sp = &s->splits[i];
        const char *t = s->topics[sp->topic];
        if (sp->partition != partition || strlen(t) != tl || memcmp(t, topic, tl)) continue;
        if (offset < 0)
            return weir_err_set(err, "table '%s': saved offset %lld of topic %s, partition %d is negative",
                                s->o.table->name, (long long)offset, t, partition);
        weir_debug("kafka", "table '%s': topic %s, partition %d: resuming at offset %lld (was %lld)",
                   s->o.table->name, t, partition, (long long)offset, (long long)sp->start);
        sp->start = offset;
        return WEIR_OK;
    }
    return weir_err_set(err, "table '%s': the saved position names topic %.*s, partition %d, which the table does not "
                        "read (any more)", s->o.table->name, (int)tl, topic, partition);
}

const weir_sql_source_ops weir_kafka_source_ops = {
    .open = source_open,
    .open_reader = open_reader,
    .read = reader_read,
    .commit = reader_commit,
    .position = reader_position,
    .seek = source_seek,
    .close_reader = close_reader,
    .close = source_close,
};

const weir_sql_source_ops weir_upsert_kafka_source_ops = {
    .open = upsert_source_open,
    .open_reader = open_reader,
    .read = reader_read,
    .commit = reader_commit,
    .position = reader_position,
    .seek = source_seek,
    .close_reader = close_reader,
    .close = source_close,
};
