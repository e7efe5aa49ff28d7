/* sql.c — `weir sql`: runs Flink SQL through a session (src/sql) — a script (-f FILE,
 * -e SQL, or stdin), or an interactive prompt with libedit line editing and history.
 * SIGINT/SIGTERM are taken on a signal thread that stops the jobs cleanly; a terminal's
 * stderr gets a progress line while jobs run (with the smallest source watermark), and
 * --show-watermarks prints each source's watermark every second (SHOW WATERMARKS; at the
 * prompt prints them once). SIGTERM takes a savepoint first when the job has a savepoint
 * directory; --from-savepoint starts from one. */
#include <errno.h>
#include <fcntl.h>
#include <histedit.h>
#include <limits.h>
#include <locale.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include "cli/cli.h"
#include "connect/connect.h"
#include "sql/sql.h"

static void sql_usage(FILE *f) {
    fprintf(f,
            "usage: weir sql [-f FILE | -e SQL] [--bootstrap-servers HOST:PORT] [--parallelism N]\n"
            "                [--show-watermarks] [--from-savepoint DIR [--allow-state-reset]]\n"
            "\n"
            "Runs Flink SQL: CREATE TABLE/VIEW, SET, EXPLAIN, queries (their rows printed as a\n"
            "table on stdout) and INSERT INTO / EXECUTE STATEMENT SET jobs, here in the foreground.\n"
            "With -f or -e every statement is checked (parsed, bound and planned) before any runs,\n"
            "then they run in order and weir sql waits for the jobs to end (bounded sources) or\n"
            "for Ctrl-C / SIGTERM, which stop them cleanly (sinks flushed, offsets committed).\n"
            "Without -f and -e, a terminal gets an interactive prompt (history in\n"
            "~/.weir_sql_history; end statements with ';'; quit; or Ctrl-D leaves; Ctrl-C stops\n"
            "the running query; SHOW WATERMARKS; prints the running jobs' source watermarks);\n"
            "otherwise the script is read from stdin.\n"
            "\n"
            "options:\n"
            "  -f, --file FILE               run the statements in FILE\n"
            "  -e, --execute SQL             run the statements in SQL\n"
            "  --bootstrap-servers HOST:PORT the Kafka cluster of every kafka table (replaces\n"
            "                                its 'properties.bootstrap.servers')\n"
            "  --parallelism N               worker threads per job (1-1024; default: SET\n"
            "                                'parallelism.default', else the number of CPUs)\n"
            "  --show-watermarks             every second while jobs run, print each source table's\n"
            "                                watermark on stderr (also when it is not a terminal)\n"
            "  --from-savepoint DIR          start the job from the savepoint (or checkpoint) in DIR\n"
            "                                (SET 'execution.savepoint.path'); without it, a job with\n"
            "                                'state.checkpoints.dir' resumes from its latest checkpoint\n"
            "  --allow-state-reset           start operators whose state does not fit the restored\n"
            "                                checkpoint empty, and drop state nothing claims, instead of\n"
            "                                refusing to start\n"
            "  -h, --help                    this text\n"
            "\n"
            "Messages go to stderr, results to stdout. On a terminal, stderr shows a progress line\n"
            "(rows in and out per second; \"wm HH:MM:SS\", the smallest source watermark in UTC,\n"
            "when a job has a WATERMARK and a window). Bad records skipped or dead-lettered are summed up\n"
            "at the end: \"weir sql: N bad records skipped, M written to the dead-letter topic\".\n"
            "\n"
            "exit status:\n"
            "  0    every statement ran and every job ended (bounded input read to its end) or was\n"
            "       stopped by Ctrl-C / SIGTERM after flushing its sinks (SIGTERM: after a savepoint\n"
            "       when 'state.checkpoints.dir' or 'state.savepoints.dir' is set; its path on stderr)\n"
            "  1    a job or query failed while running (the message names the table, topic,\n"
            "       partition and offset, or the line:column of the failing expression)\n"
            "  2    usage error, or a statement was refused (syntax, unknown name, type error,\n"
            "       unsupported feature, bad option): FILE:LINE:COLUMN: message; or the checkpoint or\n"
            "       savepoint to restore holds state that does not fit the job (without\n"
            "       --allow-state-reset)\n"
            "  130  a second Ctrl-C while stopping: exited at once, without flushing\n"
            "  143  a second SIGTERM while stopping: exited at once, without flushing\n");
}

/* What the signal thread does with a signal depends on what the main thread is doing. */
typedef enum { CLI_IDLE, CLI_PROMPT, CLI_RUNNING } cli_state;
/* Why the prompt was woken: Ctrl-C discards the typed lines, SIGTERM quits. */
typedef enum { WAKE_NONE, WAKE_CANCEL, WAKE_QUIT } cli_wake;

typedef struct sql_cli {
    weir_sql_session *session;
    const char *name; /* script name for messages ("job.sql", "<stdin>"); NULL for -e */
    bool interactive;
    weir_arena texts; /* every statement text given to the session (it may point into them) */
    bool continuing;  /* interactive: a statement is open (the continuation prompt) */

    pthread_mutex_t lock; /* everything below, and writes to the terminal */
    cli_state state;
    bool stopping;  /* a signal asked the session to stop */
    bool quit;      /* SIGTERM in interactive mode: leave once the statement returns */
    cli_wake wake;
    int wake_pipe[2]; /* the prompt's getc polls it next to stdin */

    /* progress line (only when stderr is a terminal) */
    bool progress;
    bool show_watermarks; /* --show-watermarks: the per-source lines every second */
    bool shown; /* a progress line is on the screen */
    bool progress_exit;
    pthread_cond_t cond;
    pthread_t progress_thread;
    weir_sql_job_stats last;
    struct timespec last_at;
    FILE *out; /* the session's output: stdout, or a stream that erases the progress line first */
} sql_cli;

/* ---- progress line ------------------------------------------------------------------ */

static void fmt_count(char *buf, size_t cap, double v) {
    if (v < 1000) snprintf(buf, cap, "%.0f", v);
    else if (v < 1e6) snprintf(buf, cap, "%.1fK", v / 1e3);
    else if (v < 1e9) snprintf(buf, cap, "%.1fM", v / 1e6);
    else snprintf(buf, cap, "%.1fG", v / 1e9);
}

/* @locks c->lock */
static void progress_erase(sql_cli *c) {
    if (!c->shown) return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
    c->shown = false;
}

static double seconds_since(const struct timespec *t0, const struct timespec *t1) {
    return (double)(t1->tv_sec - t0->tv_sec) + (double)(t1->tv_nsec - t0->tv_nsec) / 1e9;
}

/* Redraws the line from the session's totals; rates over the time since the last draw.
 * @locks c->lock */
static void progress_draw(sql_cli *c) {
    weir_sql_job_stats st;
    weir_sql_session_stats(c->session, &st);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double dt = seconds_since(&c->last_at, &now);
    if (dt <= 0) dt = 1;
    char in_rate[16], out_rate[16], in_total[16], out_total[16];
    fmt_count(in_rate, sizeof in_rate, (double)(st.rows_in - c->last.rows_in) / dt);
    fmt_count(out_rate, sizeof out_rate, (double)(st.rows_out - c->last.rows_out) / dt);
    fmt_count(in_total, sizeof in_total, (double)st.rows_in);
    fmt_count(out_total, sizeof out_total, (double)st.rows_out);
    char line[256];
    int n = snprintf(line, sizeof line, "rows in %s/s, out %s/s (total in %s, out %s)", in_rate, out_rate, in_total,
                     out_total);
    if (st.skipped && n < (int)sizeof line)
        n += snprintf(line + n, sizeof line - (size_t)n, ", %llu skipped", (unsigned long long)st.skipped);
    if (st.dead_lettered && n < (int)sizeof line)
        n += snprintf(line + n, sizeof line - (size_t)n, ", %llu dead-lettered", (unsigned long long)st.dead_lettered);
    char wm[32];
    if (weir_sql_session_watermark_summary(c->session, wm, sizeof wm) && n < (int)sizeof line)
        snprintf(line + n, sizeof line - (size_t)n, ", wm %s", wm);
    fprintf(stderr, "\r\033[K%s", line);
    fflush(stderr);
    c->shown = true;
    c->last = st;
    c->last_at = now;
}

/* --show-watermarks: the running jobs' per-source lines on stderr, below the progress
 * line (which the next draw puts back). @locks c->lock */
static void watermarks_print(sql_cli *c) {
    weir_buf b;
    weir_buf_init(&b);
    if (weir_sql_session_watermarks(c->session, &b) > 0) {
        progress_erase(c);
        fwrite(b.data, 1, b.len, stderr);
        fflush(stderr);
    }
    weir_buf_free(&b);
}

/* Refreshes the progress line about once a second while the main thread runs statements
 * or waits for jobs. @thread progress */
static void *progress_main(void *arg) {
    sql_cli *c = arg;
    pthread_mutex_lock(&c->lock);
    while (!c->progress_exit) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        pthread_cond_timedwait(&c->cond, &c->lock, &until);
        if (c->progress_exit || c->state != CLI_RUNNING) continue;
        if (c->show_watermarks) watermarks_print(c);
        if (c->progress) progress_draw(c);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

/* The session writes results through this stream when a progress line may be on the same
 * terminal: the line is erased first (the next refresh draws it again below the rows). */
static ssize_t out_write(void *cookie, const char *buf, size_t size) {
    sql_cli *c = cookie;
    pthread_mutex_lock(&c->lock);
    progress_erase(c);
    size_t done = 0;
    while (done < size) {
        ssize_t w = write(STDOUT_FILENO, buf + done, size - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        done += (size_t)w;
    }
    pthread_mutex_unlock(&c->lock);
    return done ? (ssize_t)done : -1;
}

/* Marks the main thread running statements (progress shown, signals stop the session)
 * or not (the line erased). */
static void set_state(sql_cli *c, cli_state state) {
    pthread_mutex_lock(&c->lock);
    if (state == CLI_RUNNING && c->state != CLI_RUNNING) {
        weir_sql_session_stats(c->session, &c->last);
        clock_gettime(CLOCK_MONOTONIC, &c->last_at);
    }
    c->state = state;
    if (state != CLI_RUNNING) progress_erase(c);
    pthread_mutex_unlock(&c->lock);
}

/* ---- signals ------------------------------------------------------------------------ */

typedef struct signal_waiter {
    sigset_t set;
    sql_cli *cli;
} signal_waiter;

/* Takes SIGINT and SIGTERM (blocked in every thread). While statements run, the first one
 * asks the session to stop cleanly; a second one while it stops exits at once with
 * 128 + the signal. At the interactive prompt, Ctrl-C discards what was typed and SIGTERM
 * leaves. @thread signal */
static void *signal_main(void *arg) {
    signal_waiter *sw = arg;
    sql_cli *c = sw->cli;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
    for (;;) {
        int sig;
        pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
        int rc = sigwait(&sw->set, &sig);
        pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
        if (rc != 0) continue;
        const char *name = sig == SIGINT ? "SIGINT" : "SIGTERM";
        pthread_mutex_lock(&c->lock);
        if (c->state == CLI_PROMPT) {
            c->wake = sig == SIGINT ? WAKE_CANCEL : WAKE_QUIT;
            ssize_t w = write(c->wake_pipe[1], "w", 1);
            (void)w; /* a full pipe is already a pending wake-up */
            pthread_mutex_unlock(&c->lock);
            continue;
        }
        if (c->stopping) {
            /* The user insists: leave without waiting for the flushes. The main thread is
             * blocked in the session and cannot be woken, so this thread ends the process
             * (the one exit outside main, by design). */
            progress_erase(c);
            fprintf(stderr, "weir sql: %s again, exiting without flushing\n", name);
            _exit(128 + sig);
        }
        c->stopping = true;
        if (sig == SIGTERM && c->interactive) c->quit = true;
        progress_erase(c);
        if (!c->interactive || sig == SIGTERM)
            fprintf(stderr, "weir sql: %s, stopping the jobs (flushing sinks; %s again exits at once)\n", name,
                    sig == SIGINT ? "Ctrl-C" : "SIGTERM");
        pthread_mutex_unlock(&c->lock);
        if (sig == SIGTERM) weir_sql_session_stop_with_savepoint(c->session);
        else weir_sql_session_stop(c->session);
    }
    return NULL;
}

/* ---- statements ----------------------------------------------------------------------- */

/* One statement of a script: its text (up to and including its ';', if any) and where it
 * starts. */
typedef struct sql_piece {
    const char *text;
    size_t len;
    weir_sql_pos pos;
    const char *first; /* its first word, for telling jobs from DDL ("" for a '(') */
} sql_piece;

static bool word_is(const weir_sql_token *t, const char *w) {
    return t->kind == WEIR_SQL_TOK_IDENT && strcasecmp(t->text, w) == 0;
}

/* Splits src into statements at the ';' that end them, with the lexer so that ';' in
 * strings, quoted identifiers and comments do not count. Inside EXECUTE STATEMENT SET
 * BEGIN ... END the ';' after each INSERT does not end the statement (CASE ... END is told
 * apart by counting CASEs). Complete statements go to pieces; *rest is where the text
 * after the last one starts (it holds a statement without its ';', or nothing but
 * whitespace and comments when *tail is false). Fails only when the lexer does. */
static int split_statements(weir_arena *arena, const char *src, size_t len, sql_piece **pieces, int *npieces,
                            size_t *rest, bool *tail, weir_err *err) {
    weir_sql_token *toks = NULL;
    size_t ntoks = 0;
    if (weir_sql_lex(arena, src, len, &toks, &ntoks, err) != WEIR_OK) return WEIR_ERROR;
    *pieces = weir_arena_alloc(arena, sizeof **pieces * (ntoks + 1));
    *npieces = 0;
    *rest = 0;
    *tail = false;
    long start = -1;
    int cases = 0;
    bool in_block = false;
    for (size_t i = 0; i < ntoks && toks[i].kind != WEIR_SQL_TOK_EOF; i++) {
        const weir_sql_token *t = &toks[i];
        if (start < 0) {
            if (t->kind == WEIR_SQL_TOK_SEMI) { /* an empty statement */
                *rest = (size_t)(t->src - src) + 1;
                continue;
            }
            start = (long)i;
            cases = 0;
            in_block = false;
        }
        if (word_is(t, "CASE")) {
            cases++;
        } else if (word_is(t, "END")) {
            if (cases > 0) cases--;
            else in_block = false;
        } else if (word_is(t, "BEGIN") && i >= 2 && word_is(&toks[i - 1], "SET") && word_is(&toks[i - 2], "STATEMENT")) {
            in_block = true;
        } else if (t->kind == WEIR_SQL_TOK_SEMI && !in_block) {
            const weir_sql_token *s = &toks[start];
            sql_piece *p = &(*pieces)[(*npieces)++];
            p->text = s->src;
            p->len = (size_t)(t->src + 1 - s->src);
            p->pos = s->pos;
            p->first = s->kind == WEIR_SQL_TOK_IDENT ? s->text : "";
            *rest = (size_t)(t->src - src) + 1;
            start = -1;
        }
    }
    if (start >= 0) {
        const weir_sql_token *s = &toks[start];
        sql_piece *p = &(*pieces)[*npieces]; /* not counted: the caller decides */
        p->text = s->src;
        p->len = len - (size_t)(s->src - src);
        p->pos = s->pos;
        p->first = s->kind == WEIR_SQL_TOK_IDENT ? s->text : "";
        *rest = (size_t)(s->src - src);
        *tail = true;
    }
    return WEIR_OK;
}

/* Whether a statement runs a job (a query, INSERT or STATEMENT SET): once it passed the
 * check, its failure is a failure at run time. */
static bool piece_is_job(const sql_piece *p) {
    static const char *const words[] = {"SELECT", "VALUES", "WITH", "INSERT", "EXECUTE", "", NULL};
    for (int k = 0; words[k]; k++)
        if (strcasecmp(p->first, words[k]) == 0) return true;
    return false;
}

/* Runs one statement. The text given to the session starts with as many newlines and
 * spaces as put the statement where it was in its script, so the session's "line L,
 * column C" messages point into the script. */
static int run_piece(sql_cli *c, const sql_piece *p, weir_err *err) {
    size_t lines = (size_t)(p->pos.line - 1), cols = (size_t)(p->pos.col - 1);
    size_t n = lines + cols + p->len;
    char *text = weir_arena_alloc(&c->texts, n + 1);
    memset(text, '\n', lines);
    memset(text + lines, ' ', cols);
    memcpy(text + lines + cols, p->text, p->len);
    return weir_sql_session_execute(c->session, text, n, err);
}

/* Checks a whole script before anything runs: parse, bind (against a scratch catalog that
 * the script's own DDL fills) and plan every statement, with the same sql.h functions the
 * session uses. A mistake on line 30 then refuses the script instead of starting the jobs
 * of lines 1-29, and a failure once running is known to be a run-time one (exit 1, not 2). */
static int check_script(const char *src, size_t len, weir_err *err) {
    weir_arena arena, plans;
    weir_arena_init(&arena, 0);
    weir_arena_init(&plans, 0);
    weir_sql_catalog cat;
    weir_sql_catalog_init(&cat, &arena);
    weir_sql_script *script = NULL;
    int rc = weir_sql_parse_script(&arena, src, len, &script, err);
    for (int k = 0; rc == WEIR_OK && k < script->nstmts; k++) {
        weir_sql_bstmt *st = NULL;
        rc = weir_sql_bind_stmt(&cat, script->stmts[k], &st, err);
        if (rc != WEIR_OK) break;
        if (st->kind == WEIR_SQL_STMT_QUERY || st->kind == WEIR_SQL_STMT_INSERT ||
            st->kind == WEIR_SQL_STMT_STATEMENT_SET || st->kind == WEIR_SQL_STMT_EXPLAIN) {
            weir_sql_plan **roots = NULL;
            int nroots = 0;
            rc = weir_sql_plan_build(&plans, st, &roots, &nroots, err);
            weir_arena_reset(&plans);
        }
    }
    weir_arena_free(&plans);
    weir_arena_free(&arena);
    return rc;
}

/* An error of a script on stderr: "job.sql:3:8: message" when it names a line and
 * column, "job.sql: message" otherwise ("weir sql: ..." for -e). */
static void report(sql_cli *c, const weir_err *err) {
    pthread_mutex_lock(&c->lock);
    progress_erase(c);
    pthread_mutex_unlock(&c->lock);
    fflush(stdout);
    int line = 0, col = 0, n = 0;
    if (c->name && sscanf(err->msg, "line %d, column %d: %n", &line, &col, &n) == 2 && n > 0)
        fprintf(stderr, "%s:%d:%d: %s\n", c->name, line, col, err->msg + n);
    else fprintf(stderr, "%s: %s\n", c->name ? c->name : "weir sql", err->msg);
}

static void bad_record_summary(sql_cli *c) {
    weir_sql_job_stats st;
    weir_sql_session_stats(c->session, &st);
    if (st.skipped || st.dead_lettered)
        fprintf(stderr, "weir sql: %llu bad records skipped, %llu written to the dead-letter topic\n",
                (unsigned long long)st.skipped, (unsigned long long)st.dead_lettered);
}

static bool stop_asked(sql_cli *c) {
    pthread_mutex_lock(&c->lock);
    bool s = c->stopping;
    pthread_mutex_unlock(&c->lock);
    return s;
}

/* -f, -e and stdin: check, run the statements in order, wait for the jobs. Returns the
 * exit status. */
static int run_script(sql_cli *c, const char *src, size_t len) {
    weir_err err;
    if (check_script(src, len, &err) != WEIR_OK) {
        report(c, &err);
        return 2;
    }
    weir_arena arena;
    weir_arena_init(&arena, 0);
    sql_piece *pieces = NULL;
    int npieces = 0;
    size_t rest = 0;
    bool tail = false;
    int status = 0;
    if (split_statements(&arena, src, len, &pieces, &npieces, &rest, &tail, &err) != WEIR_OK) {
        report(c, &err);
        status = 2;
    }
    if (tail) npieces++; /* a script's last statement needs no ';' */
    set_state(c, CLI_RUNNING);
    for (int k = 0; status == 0 && k < npieces && !stop_asked(c); k++) {
        if (run_piece(c, &pieces[k], &err) != WEIR_OK) {
            report(c, &err);
            status = piece_is_job(&pieces[k]) && !weir_sql_session_state_refused(c->session) ? 1 : 2;
        }
    }
    /* after a failure, the jobs already started end cleanly too */
    if (status != 0) weir_sql_session_stop(c->session);
    if (weir_sql_session_wait(c->session, &err) != WEIR_OK && status == 0) {
        report(c, &err);
        status = 1;
    }
    set_state(c, CLI_IDLE);
    fflush(c->out);
    bad_record_summary(c);
    weir_arena_free(&arena);
    return status;
}

/* ---- interactive prompt ----------------------------------------------------------------- */

static char *prompt(EditLine *el) {
    sql_cli *c = NULL;
    el_get(el, EL_CLIENTDATA, &c);
    return c->continuing ? "   -> " : "weir> ";
}

/* libedit's character reader, replaced so that the signal thread can wake the prompt
 * (through wake_pipe) without a signal reaching libedit. Decodes the locale's multibyte
 * characters. Returns 1 with a character, 0 at end of input, -1 when woken. */
static int prompt_getc(EditLine *el, wchar_t *wc) {
    sql_cli *c = NULL;
    el_get(el, EL_CLIENTDATA, &c);
    mbstate_t mbs;
    memset(&mbs, 0, sizeof mbs);
    for (;;) {
        struct pollfd pf[2] = {{.fd = STDIN_FILENO, .events = POLLIN}, {.fd = c->wake_pipe[0], .events = POLLIN}};
        if (poll(pf, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (pf[1].revents) {
            char drain[16];
            ssize_t r = read(c->wake_pipe[0], drain, sizeof drain);
            (void)r;
            pthread_mutex_lock(&c->lock);
            bool woken = c->wake != WAKE_NONE;
            pthread_mutex_unlock(&c->lock);
            if (!woken) continue; /* left over from a wake-up the last line already took */
            errno = EINTR;
            return -1;
        }
        char ch;
        ssize_t r = read(STDIN_FILENO, &ch, 1);
        if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (r <= 0) return (int)r;
        size_t k = mbrtowc(wc, &ch, 1, &mbs);
        if (k == (size_t)-2) continue; /* more bytes of this character to come */
        if (k == (size_t)-1) {         /* not valid here: pass the byte on as it is */
            memset(&mbs, 0, sizeof mbs);
            *wc = (wchar_t)(unsigned char)ch;
        }
        return 1;
    }
}

/* A statement typed at the prompt: run it, then say how it went on stdout (Flink's
 * client's [INFO] / [ERROR] lines). */
static void run_interactive_piece(sql_cli *c, const sql_piece *p) {
    pthread_mutex_lock(&c->lock);
    c->stopping = false;
    pthread_mutex_unlock(&c->lock);
    set_state(c, CLI_RUNNING);
    weir_err err;
    int rc = run_piece(c, p, &err);
    set_state(c, CLI_IDLE);
    fflush(c->out);
    if (rc != WEIR_OK) printf("[ERROR] %s\n", err.msg);
    else if (!strcasecmp(p->first, "INSERT") || !strcasecmp(p->first, "EXECUTE"))
        printf("[INFO] Job started; it runs in the background until its sources end or weir sql leaves.\n");
    else if (!strcasecmp(p->first, "CREATE") || !strcasecmp(p->first, "DROP") || !strcasecmp(p->first, "RESET") ||
             (!strcasecmp(p->first, "SET") && memchr(p->text, '\'', p->len)))
        printf("[INFO] Execute statement succeeded.\n");
    fflush(stdout);
}

/* SHOW WATERMARKS; — a prompt command of weir sql, not SQL the session knows. */
static bool is_show_watermarks(const sql_piece *p) {
    if (strcasecmp(p->first, "SHOW")) return false;
    const char *s = p->text + 4, *end = p->text + p->len;
    while (s < end && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')) s++;
    if (end - s < 10 || strncasecmp(s, "WATERMARKS", 10)) return false;
    s += 10;
    while (s < end && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')) s++;
    return s < end && *s == ';' && s + 1 == end;
}

static void show_watermarks(sql_cli *c) {
    weir_buf b;
    weir_buf_init(&b);
    if (weir_sql_session_watermarks(c->session, &b) > 0) fwrite(b.data, 1, b.len, stdout);
    else printf("[INFO] No job is running.\n");
    fflush(stdout);
    weir_buf_free(&b);
}

static bool is_quit(const sql_piece *p) {
    if (strcasecmp(p->first, "quit") && strcasecmp(p->first, "exit")) return false;
    size_t n = strlen(p->first);
    const char *s = p->text + n;
    while (s < p->text + p->len && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')) s++;
    return s < p->text + p->len && *s == ';' && s + 1 == p->text + p->len;
}

static void history_path(char *buf, size_t cap) {
    const char *home = getenv("HOME");
    snprintf(buf, cap, "%s/.weir_sql_history", home && *home ? home : ".");
}

/* The prompt: lines are gathered until one ends a statement with ';', then each complete
 * statement runs; errors are printed and the prompt goes on. Returns the exit status. */
static int run_interactive(sql_cli *c) {
    setlocale(LC_CTYPE, ""); /* libedit edits characters of the terminal's encoding */
    char hist_file[PATH_MAX];
    history_path(hist_file, sizeof hist_file);
    HistEvent ev;
    History *hist = history_init();
    history(hist, &ev, H_SETSIZE, 1000);
    history(hist, &ev, H_SETUNIQUE, 1);
    history(hist, &ev, H_LOAD, hist_file); /* a first run has none */
    EditLine *el = el_init("weir", stdin, stdout, stderr);
    el_set(el, EL_CLIENTDATA, c);
    el_set(el, EL_EDITOR, "emacs");
    el_set(el, EL_PROMPT, prompt);
    el_set(el, EL_HIST, history, hist);
    el_set(el, EL_GETCFN, prompt_getc);
    el_source(el, NULL); /* ~/.editrc */

    printf("Weir SQL (Flink SQL dialect). End a statement with ';'. 'quit;' or Ctrl-D leaves;\n"
           "Ctrl-C stops a running query.\n\n");
    fflush(stdout);
    weir_buf pending; /* lines typed since the last complete statement */
    weir_buf_init(&pending);
    weir_arena arena;
    weir_arena_init(&arena, 0);
    bool leave = false, sigterm = false;
    while (!leave) {
        c->continuing = pending.len > 0;
        set_state(c, CLI_PROMPT);
        /* raw mode before the prompt shows (libedit would switch only at the first read):
         * keys typed once the prompt is visible are then never echoed or taken by the
         * tty's line discipline (a Ctrl-D there would be lost) */
        el_set(el, EL_PREP_TERM, 1);
        int n = 0;
        const char *line = el_gets(el, &n);
        pthread_mutex_lock(&c->lock);
        cli_wake wake = c->wake;
        c->wake = WAKE_NONE;
        pthread_mutex_unlock(&c->lock);
        set_state(c, CLI_IDLE);
        if (wake == WAKE_QUIT) {
            sigterm = true;
            break;
        }
        if (wake == WAKE_CANCEL) { /* Ctrl-C: forget what was typed */
            printf("^C\n");
            fflush(stdout);
            pending.len = 0;
            continue;
        }
        if (!line || n <= 0) { /* Ctrl-D */
            printf("\n");
            break;
        }
        size_t ln = (size_t)n;
        while (ln > 0 && (line[ln - 1] == '\n' || line[ln - 1] == '\r')) ln--;
        if (ln > 0) {
            char *entry = weir_arena_strndup(&arena, line, ln);
            history(hist, &ev, H_ENTER, entry);
            history(hist, &ev, H_SAVE, hist_file);
        }
        weir_buf_append(&pending, line, ln);
        weir_buf_append(&pending, "\n", 1);

        /* run what is complete, keep the rest */
        sql_piece *pieces = NULL;
        int npieces = 0;
        size_t rest = 0;
        bool tail = false;
        weir_err err;
        if (split_statements(&arena, (const char *)pending.data, pending.len, &pieces, &npieces, &rest, &tail, &err) !=
            WEIR_OK) {
            if (strstr(err.msg, "unterminated")) continue; /* a string or comment goes on */
            /* a character SQL does not use: once the line ends a statement, say so */
            size_t e = pending.len;
            while (e > 0 && (pending.data[e - 1] == '\n' || pending.data[e - 1] == ' ')) e--;
            if (e > 0 && pending.data[e - 1] == ';') {
                printf("[ERROR] %s\n", err.msg);
                pending.len = 0;
            }
            continue;
        }
        for (int k = 0; k < npieces && !leave; k++) {
            if (is_quit(&pieces[k])) leave = true;
            else if (is_show_watermarks(&pieces[k])) show_watermarks(c);
            else run_interactive_piece(c, &pieces[k]);
            pthread_mutex_lock(&c->lock);
            if (c->quit) leave = sigterm = true;
            pthread_mutex_unlock(&c->lock);
        }
        if (!tail) rest = pending.len; /* only whitespace or comments left */
        memmove(pending.data, pending.data + rest, pending.len - rest);
        pending.len -= rest;
        weir_arena_reset(&arena);
    }
    el_end(el);
    history(hist, &ev, H_SAVE, hist_file);
    history_end(hist);
    weir_buf_free(&pending);
    weir_arena_free(&arena);

    /* background jobs end with the session: stop them cleanly (a Ctrl-C now is a first
     * one, whatever an earlier query's stop left behind) */
    int status = 0;
    pthread_mutex_lock(&c->lock);
    c->stopping = false;
    pthread_mutex_unlock(&c->lock);
    set_state(c, CLI_RUNNING);
    /* SIGTERM: background jobs with a savepoint directory take one first */
    if (sigterm) weir_sql_session_stop_with_savepoint(c->session);
    else weir_sql_session_stop(c->session);
    weir_err err;
    if (weir_sql_session_wait(c->session, &err) != WEIR_OK) {
        fprintf(stderr, "weir sql: %s\n", err.msg);
        status = 1;
    }
    set_state(c, CLI_IDLE);
    bad_record_summary(c);
    return status;
}

/* ---- the command ---------------------------------------------------------------------- */

/* --from-savepoint and --allow-state-reset become the session's 'execution.savepoint.path'
 * and 'weir.state.allow-reset' (as if SET before the script). Returns the exit status. */
static int restore_options(sql_cli *c, const char *savepoint, bool allow_reset) {
    weir_buf b;
    weir_buf_init(&b);
    if (savepoint) {
        const char *pre = "SET 'execution.savepoint.path' = '";
        weir_buf_append(&b, pre, strlen(pre));
        for (const char *p = savepoint; *p; p++) { /* a quote in the path is doubled */
            if (*p == '\'') weir_buf_append(&b, "'", 1);
            weir_buf_append(&b, p, 1);
        }
        weir_buf_append(&b, "';\n", 3);
    }
    if (allow_reset) {
        const char *set = "SET 'weir.state.allow-reset' = 'true';\n";
        weir_buf_append(&b, set, strlen(set));
    }
    int status = 0;
    weir_err err;
    if (b.len && weir_sql_session_execute(c->session, (const char *)b.data, b.len, &err) != WEIR_OK) {
        fprintf(stderr, "weir sql: --from-savepoint: %s\n", err.msg);
        status = 2;
    }
    weir_buf_free(&b);
    return status;
}

static int read_all(FILE *f, weir_buf *b) {
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) weir_buf_append(b, chunk, n);
    return ferror(f) ? -1 : 0;
}

/* "--opt VALUE" or "--opt=VALUE"; advances *i past what it used. */
static const char *opt_value(int argc, char **argv, int *i, const char *shortname, const char *longname) {
    const char *a = argv[*i];
    size_t ln = strlen(longname);
    if (!strncmp(a, longname, ln) && a[ln] == '=') return a + ln + 1;
    if ((shortname && !strcmp(a, shortname)) || !strcmp(a, longname)) {
        if (*i + 1 >= argc) return NULL;
        return argv[++*i];
    }
    return NULL;
}

static bool opt_is(const char *a, const char *shortname, const char *longname) {
    size_t ln = strlen(longname);
    return (shortname && !strcmp(a, shortname)) || !strcmp(a, longname) || (!strncmp(a, longname, ln) && a[ln] == '=');
}

int weir_cli_sql(int argc, char **argv) {
    const char *file = NULL, *exec = NULL, *bootstrap = NULL, *savepoint = NULL;
    int parallelism = 0;
    bool show_wm = false, allow_reset = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            sql_usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--show-watermarks")) {
            show_wm = true;
            continue;
        }
        if (!strcmp(a, "--allow-state-reset")) {
            allow_reset = true;
            continue;
        }
        const char *v = NULL;
        if (opt_is(a, "-f", "--file") && (v = opt_value(argc, argv, &i, "-f", "--file"))) file = v;
        else if (opt_is(a, "-e", "--execute") && (v = opt_value(argc, argv, &i, "-e", "--execute"))) exec = v;
        else if (opt_is(a, NULL, "--bootstrap-servers") && (v = opt_value(argc, argv, &i, NULL, "--bootstrap-servers")))
            bootstrap = v;
        else if (opt_is(a, NULL, "--from-savepoint") && (v = opt_value(argc, argv, &i, NULL, "--from-savepoint")))
            savepoint = v;
        else if (opt_is(a, NULL, "--parallelism") && (v = opt_value(argc, argv, &i, NULL, "--parallelism"))) {
            char *end;
            long n = strtol(v, &end, 10);
            if (!*v || *end || n < 1 || n > 1024) {
                fprintf(stderr, "weir sql: --parallelism '%s': not a number of workers (1 to 1024)\n", v);
                return 2;
            }
            parallelism = (int)n;
        } else {
            if (opt_is(a, "-f", "--file") || opt_is(a, "-e", "--execute") || opt_is(a, NULL, "--bootstrap-servers") ||
                opt_is(a, NULL, "--parallelism") || opt_is(a, NULL, "--from-savepoint"))
                fprintf(stderr, "weir sql: %s needs a value\n\n", a);
            else fprintf(stderr, "weir sql: unknown argument '%s'\n\n", a);
            sql_usage(stderr);
            return 2;
        }
    }
    if (file && exec) {
        fprintf(stderr, "weir sql: give -f or -e, not both\n\n");
        sql_usage(stderr);
        return 2;
    }

    sql_cli c;
    memset(&c, 0, sizeof c);
    c.interactive = !file && !exec && isatty(STDIN_FILENO);
    weir_buf script;
    weir_buf_init(&script);
    if (file) {
        FILE *f = fopen(file, "r");
        if (!f || read_all(f, &script) != 0) {
            fprintf(stderr, "weir sql: cannot read %s: %s\n", file, strerror(errno));
            if (f) fclose(f);
            weir_buf_free(&script);
            return 2;
        }
        fclose(f);
        c.name = file;
    } else if (exec) {
        weir_buf_append(&script, exec, strlen(exec));
    } else if (!c.interactive) {
        if (read_all(stdin, &script) != 0) {
            fprintf(stderr, "weir sql: cannot read the script from stdin: %s\n", strerror(errno));
            weir_buf_free(&script);
            return 2;
        }
        c.name = "<stdin>";
    }

    /* Signals first: every thread created from here on (jobs, workers) inherits the mask,
     * so SIGINT and SIGTERM only ever reach the signal thread. */
    signal(SIGPIPE, SIG_IGN);
    signal_waiter sw = {.cli = &c};
    sigemptyset(&sw.set);
    sigaddset(&sw.set, SIGINT);
    sigaddset(&sw.set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sw.set, NULL);
    pthread_mutex_init(&c.lock, NULL);
    pthread_cond_init(&c.cond, NULL);
    weir_arena_init(&c.texts, 0);
    if (pipe(c.wake_pipe) != 0) {
        fprintf(stderr, "weir sql: pipe: %s\n", strerror(errno));
        return 1;
    }
    fcntl(c.wake_pipe[1], F_SETFL, O_NONBLOCK);
    fcntl(c.wake_pipe[0], F_SETFD, FD_CLOEXEC);
    fcntl(c.wake_pipe[1], F_SETFD, FD_CLOEXEC);

    c.progress = isatty(STDERR_FILENO);
    c.show_watermarks = show_wm;
    c.out = stdout;
    if (c.progress && isatty(STDOUT_FILENO)) {
        cookie_io_functions_t io = {.write = out_write};
        FILE *f = fopencookie(&c, "w", io);
        if (f) {
            setvbuf(f, NULL, _IOLBF, 0);
            c.out = f;
        }
    }

    weir_connect_register_all();
    weir_sql_session_opts opts = {.bootstrap_servers = bootstrap, .out = c.out, .parallelism = parallelism};
    weir_err err;
    int status;
    if (weir_sql_session_new(&opts, &c.session, &err) != WEIR_OK) {
        fprintf(stderr, "weir sql: %s\n", err.msg);
        status = 1;
    } else {
        pthread_t sig_tid;
        pthread_create(&sig_tid, NULL, signal_main, &sw);
        bool ticker = c.progress || c.show_watermarks;
        if (ticker) pthread_create(&c.progress_thread, NULL, progress_main, &c);
        status = restore_options(&c, savepoint, allow_reset);
        if (status == 0) status = c.interactive ? run_interactive(&c) : run_script(&c, (const char *)script.data, script.len);
        if (ticker) {
            pthread_mutex_lock(&c.lock);
            c.progress_exit = true;
            pthread_cond_signal(&c.cond);
            pthread_mutex_unlock(&c.lock);
            pthread_join(c.progress_thread, NULL);
        }
        pthread_cancel(sig_tid);
        pthread_join(sig_tid, NULL);
        weir_sql_session_free(c.session);
    }
    if (c.out != stdout) fclose(c.out);
    fflush(stdout);
    close(c.wake_pipe[0]);
    close(c.wake_pipe[1]);
    weir_arena_free(&c.texts);
    pthread_cond_destroy(&c.cond);
    pthread_mutex_destroy(&c.lock);
    weir_buf_free(&script);
    return status;
}
