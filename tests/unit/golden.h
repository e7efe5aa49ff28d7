/* golden.h — golden-file tests (PostgreSQL's sql/ + expected/ habit): every .sql file in
 * a folder (relative to the repo root, where unit tests run) is rendered by the test's
 * function and must equal the .out beside it; WEIR_GOLDEN_UPDATE=1 rewrites the .out
 * files instead. A mismatch shows the first differing line, as diff would. */
#ifndef WEIR_GOLDEN_H
#define WEIR_GOLDEN_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "test.h"

/* Renders one script into out; returns WEIR_OK, or WEIR_ERROR for an error case. */
typedef int (*golden_render_fn)(const char *src, size_t len, weir_buf *out);

/* The whole file, NUL-terminated (len excludes the NUL), or NULL. Caller frees. */
static inline char *golden_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    weir_buf b;
    weir_buf_init(&b);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) weir_buf_append(&b, chunk, n);
    fclose(f);
    weir_buf_append(&b, "", 1);
    *len = b.len - 1;
    return (char *)b.data;
}

static inline int golden_cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The .sql files of dir, sorted; *n of them. Free with golden_free_names. */
static inline char **golden_list(const char *dir, int *n) {
    DIR *d = opendir(dir);
    *n = 0;
    if (!d) return NULL;
    char **names = NULL;
    int cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 5 || strcmp(de->d_name + l - 4, ".sql") != 0) continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 32;
            names = realloc(names, (size_t)cap * sizeof *names);
            if (!names) abort();
        }
        names[(*n)++] = strdup(de->d_name);
    }
    closedir(d);
    if (*n > 0) qsort(names, (size_t)*n, sizeof *names, golden_cmp_names);
    return names;
}

static inline void golden_free_names(char **names, int n) {
    for (int k = 0; k < n; k++) free(names[k]);
    free(names);
}

/* Shows where two texts first differ, line by line. */
static inline void golden_show_diff(const char *file, const char *want, size_t want_len, const char *got,
                                    size_t got_len) {
    int line = 1;
    size_t i = 0, j = 0;
    while (i < want_len && j < got_len) {
        size_t ie = i, je = j;
        while (ie < want_len && want[ie] != '\n') ie++;
        while (je < got_len && got[je] != '\n') je++;
        if (ie - i != je - j || memcmp(want + i, got + j, ie - i) != 0) break;
        i = ie + 1;
        j = je + 1;
        line++;
    }
    size_t ie = i, je = j;
    while (ie < want_len && want[ie] != '\n') ie++;
    while (je < got_len && got[je] != '\n') je++;
    fprintf(stderr, "  %s: differs from the .out at line %d\n", file, line);
    fprintf(stderr, "  - %.*s\n", (int)(i < want_len ? ie - i : 0), i < want_len ? want + i : "");
    fprintf(stderr, "  + %.*s\n", (int)(j < got_len ? je - j : 0), j < got_len ? got + j : "");
    if (i >= want_len) fprintf(stderr, "  (the .out ends here; the output has more)\n");
    if (j >= got_len) fprintf(stderr, "  (the output ends here; the .out has more)\n");
    fprintf(stderr, "  (WEIR_GOLDEN_UPDATE=1 rewrites the .out files)\n");
}

/* Runs every .sql of dir whose name starts with one of prefixes (every one when
 * nprefixes is 0) through render and compares (or rewrites) its .out. With
 * e_names_errors, files named e*.sql must fail and the others succeed. Sets *nfiles to
 * the files run and returns how many of them rendered an error. */
static inline int golden_run_prefixes(const char *dir, const char *const *prefixes, int nprefixes,
                                      golden_render_fn render, bool e_names_errors, int *nfiles) {
    int n = 0, ran = 0;
    char **names = golden_list(dir, &n);
    const char *upd = getenv("WEIR_GOLDEN_UPDATE");
    bool update = upd && strcmp(upd, "1") == 0;
    int errors = 0;
    for (int k = 0; k < n; k++) {
        bool mine = nprefixes == 0;
        for (int p = 0; p < nprefixes && !mine; p++) mine = strncmp(names[k], prefixes[p], strlen(prefixes[p])) == 0;
        if (!mine) continue;
        ran++;
        char path[512], out_path[512];
        snprintf(path, sizeof path, "%s/%s", dir, names[k]);
        snprintf(out_path, sizeof out_path, "%.*s.out", (int)(strlen(path) - 4), path);
        size_t len = 0;
        char *src = golden_read_file(path, &len);
        CHECK(src != NULL);
        if (!src) continue;
        weir_buf got;
        weir_buf_init(&got);
        bool failed = render(src, len, &got) != WEIR_OK;
        if (failed) errors++;
        bool want_error = names[k][0] == 'e';
        if (e_names_errors && failed != want_error) {
            fprintf(stderr, "  %s: %s\n", path, want_error ? "succeeded, but it is an error case" : "failed");
            weir_test_failed_checks++;
        }
        if (update) {
            FILE *f = fopen(out_path, "wb");
            CHECK(f != NULL);
            if (f) {
                fwrite(got.data, 1, got.len, f);
                fclose(f);
            }
        } else {
            size_t want_len = 0;
            char *want = golden_read_file(out_path, &want_len);
            if (!want) {
                fprintf(stderr, "  %s: missing (WEIR_GOLDEN_UPDATE=1 writes it)\n", out_path);
                weir_test_failed_checks++;
            } else if (want_len != got.len || memcmp(want, got.data, got.len) != 0) {
                golden_show_diff(path, want, want_len, (const char *)got.data, got.len);
                weir_test_failed_checks++;
            }
            free(want);
        }
        weir_buf_free(&got);
        free(src);
    }
    golden_free_names(names, n);
    *nfiles = ran;
    return errors;
}

/* golden_run_prefixes over every .sql of dir. */
static inline int golden_run(const char *dir, golden_render_fn render, bool e_names_errors, int *nfiles) {
    return golden_run_prefixes(dir, NULL, 0, render, e_names_errors, nfiles);
}

/* A seeded random edit of src: `edits` times, delete, replace or insert one character
 * (inserted and replacing characters come from alphabet). Returns a malloc'd copy, not
 * NUL-terminated, of *out_len bytes; *seed advances, so runs are repeatable. */
static inline char *golden_mutate(const char *src, size_t len, int edits, const char *alphabet, uint64_t *seed,
                                  size_t *out_len) {
    size_t nalpha = strlen(alphabet);
    char *copy = malloc(len + (size_t)edits + 1);
    if (!copy) abort();
    memcpy(copy, src, len);
    size_t clen = len;
    for (int e = 0; e < edits; e++) {
        *seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
        size_t at = clen ? (size_t)(*seed >> 33) % clen : 0;
        int op = (int)((*seed >> 20) % 3);
        char c = alphabet[(*seed >> 8) % nalpha];
        if (op == 0 && clen > 1) {
            memmove(copy + at, copy + at + 1, clen - at - 1);
            clen--;
        } else if (op == 1 && clen > 0) {
            copy[at] = c;
        } else {
            memmove(copy + at + 1, copy + at, clen - at);
            copy[at] = c;
            clen++;
        }
    }
    *out_len = clen;
    return copy;
}

/* Checks one variant of a golden script (file: its name, for messages); true
 * when the outcome was clean (it worked, or failed with a message that names a place). */
typedef bool (*golden_check_fn)(const char *src, size_t len, const char *file);

/* Whether render's outcome for src is clean: it worked, or its message (after the 7
 * characters of "error: ") starts "line L, column C: " or, with table_ok, "table '". An
 * unclean one is shown on stderr with the start of the script. */
static inline bool golden_render_clean(golden_render_fn render, const char *src, size_t len, bool table_ok) {
    weir_buf b;
    weir_buf_init(&b);
    bool ok = true;
    if (render(src, len, &b) != WEIR_OK) {
        weir_buf_append(&b, "", 1);
        int line = 0, col = 0;
        const char *msg = (const char *)b.data + 7;
        ok = (sscanf(msg, "line %d, column %d: ", &line, &col) == 2 && line >= 1 && col >= 1) ||
             (table_ok && strncmp(msg, "table '", 7) == 0);
        if (!ok) fprintf(stderr, "  unclean error for %.*s: %s\n", (int)(len > 60 ? 60 : len), src, (const char *)b.data);
    }
    weir_buf_free(&b);
    return ok;
}

/* How golden_fuzz varies the scripts. */
typedef struct golden_fuzz_opts {
    size_t min_len;       /* scripts shorter than this are skipped */
    bool prefixes;        /* check every prefix of each script... */
    const char *cut_at;   /* ...ending before one of these characters or at the end (NULL: any) */
    int mutations, edits; /* then this many golden_mutate variants of `edits` edits each */
    const char *alphabet; /* the characters mutations insert */
    uint64_t seed;        /* where the mutations' sequence starts, so a failure repeats */
} golden_fuzz_opts;

/* Robustness over the golden scripts of dir: every variant (a prefix or a mutation, each
 * in its own allocation so ASan sees a read past its end) must pass check (a CHECK each).
 * Returns how many variants were tried. */
static inline long golden_fuzz(const char *dir, const golden_fuzz_opts *o, golden_check_fn check) {
    uint64_t seed = o->seed;
    int n = 0;
    char **names = golden_list(dir, &n);
    long tried = 0;
    for (int k = 0; k < n; k++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, names[k]);
        size_t len = 0;
        char *src = golden_read_file(path, &len);
        if (!src || len < o->min_len) {
            free(src);
            continue;
        }
        for (size_t cut = 0; o->prefixes && cut <= len; cut++) {
            if (o->cut_at && cut < len && !memchr(o->cut_at, src[cut], strlen(o->cut_at))) continue;
            char *copy = malloc(cut ? cut : 1);
            if (!copy) abort();
            memcpy(copy, src, cut);
            CHECK(check(copy, cut, names[k]));
            free(copy);
            tried++;
        }
        for (int m = 0; m < o->mutations; m++) {
            size_t clen;
            char *copy = golden_mutate(src, len, o->edits, o->alphabet, &seed, &clen);
            CHECK(check(copy, clen, names[k]));
            free(copy);
            tried++;
        }
        free(src);
    }
    golden_free_names(names, n);
    return tried;
}

#endif
