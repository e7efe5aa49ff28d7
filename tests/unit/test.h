/* test.h — the unit-test harness: each tests/unit/test_*.c defines TEST(name) functions
 * and one TEST_MAIN listing them; a failed CHECK names file:line and the expression,
 * and the binary ends with "N passed, N failed" and a non-zero exit on failure. */
#ifndef WEIR_TEST_H
#define WEIR_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>

static int weir_test_failed_checks;

#define TEST(name) static void name(void)

#define CHECK(cond) do { \
    if (!(cond)) { \
        fprintf(stderr, "  %s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        weir_test_failed_checks++; \
    } } while (0)

#define CHECK_EQ_INT(a, b) do { \
    long long va_ = (long long)(a), vb_ = (long long)(b); \
    if (va_ != vb_) { \
        fprintf(stderr, "  %s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, #a, #b, va_, vb_); \
        weir_test_failed_checks++; \
    } } while (0)

#define CHECK_EQ_STR(a, b) do { \
    const char *sa_ = (a), *sb_ = (b); \
    if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0) { \
        fprintf(stderr, "  %s:%d: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__, __LINE__, #a, #b, \
                sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)"); \
        weir_test_failed_checks++; \
    } } while (0)

#define CHECK_MEM(a, b, n) CHECK(memcmp((a), (b), (n)) == 0)

typedef struct { const char *name; void (*fn)(void); } weir_test_case;

/* Runs the n cases, names each that failed, prints "file: N passed, N failed"; returns the
 * exit status. For a main() that sets up before (or cleans up after) its cases. */
static inline int weir_test_run(const char *file, const weir_test_case *cases, size_t n) {
    int passed = 0, failed = 0;
    for (size_t i = 0; i < n; i++) {
        int before = weir_test_failed_checks;
        cases[i].fn();
        if (weir_test_failed_checks == before) {
            passed++;
        } else {
            failed++;
            fprintf(stderr, "FAIL %s\n", cases[i].name);
        }
    }
    printf("%s: %d passed, %d failed\n", file, passed, failed);
    return failed ? 1 : 0;
}

#define TEST_MAIN(...) \
    int main(void) { \
        weir_test_case cases_[] = {__VA_ARGS__}; \
        return weir_test_run(__FILE__, cases_, sizeof cases_ / sizeof cases_[0]); \
    }
#define T(fn) {#fn, fn}

#endif
