/* expr_dec.c — DECIMAL arithmetic up to Flink's 38 digits for compiled programs (expr.c):
 * unscaled values are __int128; intermediate products, aligned sums and scaled dividends
 * can need up to 77 digits, so they are computed in 256 bits (sign and magnitude), then
 * rounded HALF_UP to the result's scale and checked against its precision. */
#include <string.h>

#include "sql/eval_internal.h"

typedef unsigned __int128 u128;

/* A 256-bit magnitude: hi * 2^128 + lo. */
typedef struct u256 {
    u128 hi, lo;
} u256;

__int128 weir_sql_pow10_128(int n) {
    __int128 v = 1;
    for (int k = 0; k < n && k < 38; k++) v *= 10;
    return v;
}

static u256 u256_of(u128 v) { return (u256){0, v}; }

static int u256_cmp(u256 a, u256 b) {
    if (a.hi != b.hi) return a.hi < b.hi ? -1 : 1;
    if (a.lo != b.lo) return a.lo < b.lo ? -1 : 1;
    return 0;
}

static u256 u256_add(u256 a, u256 b) {
    u256 r = {a.hi + b.hi, a.lo + b.lo};
    if (r.lo < a.lo) r.hi++;
    return r;
}

static u256 u256_sub(u256 a, u256 b) { /* a >= b */
    u256 r = {a.hi - b.hi, a.lo - b.lo};
    if (a.lo < b.lo) r.hi--;
    return r;
}

/* a * m for m < 2^64; *overflow set when the product needs more than 256 bits. */
static u256 u256_mul_small(u256 a, uint64_t m, bool *overflow) {
    u128 parts[4] = {(uint64_t)a.lo, (uint64_t)(a.lo >> 64), (uint64_t)a.hi, (uint64_t)(a.hi >> 64)};
    u128 carry = 0;
    uint64_t outp[4];
    for (int k = 0; k < 4; k++) {
        u128 t = parts[k] * m + carry;
        outp[k] = (uint64_t)t;
        carry = t >> 64;
    }
    if (carry) *overflow = true;
    return (u256){(u128)outp[3] << 64 | outp[2], (u128)outp[1] << 64 | outp[0]};
}

static u256 u256_mul128(u128 a, u128 b) {
    uint64_t a0 = (uint64_t)a, a1 = (uint64_t)(a >> 64), b0 = (uint64_t)b, b1 = (uint64_t)(b >> 64);
    u128 p00 = (u128)a0 * b0, p01 = (u128)a0 * b1, p10 = (u128)a1 * b0, p11 = (u128)a1 * b1;
    u128 mid = (p00 >> 64) + (uint64_t)p01 + (uint64_t)p10;
    u256 r;
    r.lo = (mid << 64) | (uint64_t)p00;
    r.hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    return r;
}

/* a / d for d < 2^64, remainder in *rem. */
static u256 u256_div_small(u256 a, uint64_t d, uint64_t *rem) {
    uint64_t parts[4] = {(uint64_t)(a.hi >> 64), (uint64_t)a.hi, (uint64_t)(a.lo >> 64), (uint64_t)a.lo};
    uint64_t q[4];
    u128 r = 0;
    for (int k = 0; k < 4; k++) {
        u128 cur = r << 64 | parts[k];
        q[k] = (uint64_t)(cur / d);
        r = cur % d;
    }
    *rem = (uint64_t)r;
    return (u256){(u128)q[0] << 64 | q[1], (u128)q[2] << 64 | q[3]};
}

/* Binary long division (not the hot path: only wide decimals and overflowing narrow ones). */
static u256 u256_div(u256 n, u256 d, u256 *rem) {
    u256 q = {0, 0}, r = {0, 0};
    for (int bit = 255; bit >= 0; bit--) {
        r.hi = r.hi << 1 | r.lo >> 127;
        r.lo <<= 1;
        u128 nb = bit >= 128 ? (n.hi >> (bit - 128)) & 1 : (n.lo >> bit) & 1;
        r.lo |= nb;
        if (u256_cmp(r, d) >= 0) {
            r = u256_sub(r, d);
            if (bit >= 128) q.hi |= (u128)1 << (bit - 128);
            else q.lo |= (u128)1 << bit;
        }
    }
    if (rem) *rem = r;
    return q;
}

static u256 u256_scale_up(u256 a, int digits, bool *overflow) {
    for (; digits > 0; digits -= 19) a = u256_mul_small(a, digits >= 19 ? 10000000000000000000ull : (uint64_t)weir_sql_pow10_128(digits), overflow);
    return a;
}

/* a / 10^digits rounded HALF_UP. */
static u256 u256_scale_down(u256 a, int digits) {
    if (digits <= 0) return a;
    uint64_t rem = 0;
    int k = digits - 1;
    for (; k > 0; k -= 18) a = u256_div_small(a, k >= 18 ? 1000000000000000000ull : (uint64_t)weir_sql_pow10_128(k), &rem);
    a = u256_div_small(a, 10, &rem);
    if (rem >= 5) a = u256_add(a, u256_of(1));
    return a;
}

static u128 mag(__int128 v) { return v < 0 ? (u128)0 - (u128)v : (u128)v; }

/* Signed 256-bit value of |v| with the sign of neg, rescaled from s1 to s2 and checked
 * against p digits. */
static int finish(u256 m, bool neg, int s1, int s2, int p, __int128 *out) {
    if (s2 > s1) {
        bool of = false;
        m = u256_scale_up(m, s2 - s1, &of);
        if (of) return 1;
    } else {
        m = u256_scale_down(m, s1 - s2);
    }
    if (m.hi != 0 || m.lo >= (u128)weir_sql_pow10_128(p < 38 ? p : 38)) return 1;
    *out = neg ? -(__int128)m.lo : (__int128)m.lo;
    return 0;
}

bool weir_sql_dec_rescale(__int128 v, int s1, int s2, int p, __int128 *out) {
    return finish(u256_of(mag(v)), v < 0, s1, s2, p, out) == 0;
}

int weir_sql_dec_arith(char op, __int128 x, int sx, __int128 y, int sy, int s, int p, __int128 *out) {
    bool xn = x < 0, yn = y < 0, of = false;
    u256 a = u256_of(mag(x)), b = u256_of(mag(y));
    switch (op) {
    case '+':
    case '-':
    case '%': {
        int cs = sx > sy ? sx : sy;
        a = u256_scale_up(a, cs - sx, &of);
        b = u256_scale_up(b, cs - sy, &of);
        if (of) return 1;
        if (op == '%') {
            if (b.hi == 0 && b.lo == 0) return 2;
            u256 r;
            u256_div(a, b, &r);
            return finish(r, xn, cs, s, p, out); /* Java's remainder takes the dividend's sign */
        }
        if (op == '-') yn = !yn;
        if (xn == yn) return finish(u256_add(a, b), xn, cs, s, p, out);
        if (u256_cmp(a, b) >= 0) return finish(u256_sub(a, b), xn, cs, s, p, out);
        return finish(u256_sub(b, a), yn, cs, s, p, out);
    }
    case '*': return finish(u256_mul128(a.lo, b.lo), xn != yn, sx + sy, s, p, out);
    default: {
        if (b.hi == 0 && b.lo == 0) return 2;
        /* x / y at scale s + 1, then rounded HALF_UP to s */
        int shift = s + 1 - sx + sy;
        if (shift >= 0) a = u256_scale_up(a, shift, &of);
        else b = u256_scale_up(b, -shift, &of);
        if (of) return 1;
        return finish(u256_div(a, b, NULL), xn != yn, s + 1, s, p, out);
    }
    }
}
