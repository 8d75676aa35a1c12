/* The naive specifications of intents/bits/naive.ax in C11, statement for
 * statement (same loops, same conditions), for gcc -O3 -march=native to
 * compile as the baseline of atlas/bitbench.py.
 *
 * Our semantics where C's differ: shifts by a count at or past the width give
 * 0 (only p17 can shift by 32; it says so), and signed arithmetic wraps, so
 * the negations of int32_t go through uint32_t.  bool results are bytes (0/1),
 * as Atlas stores bool arrays.  A function with a precondition (`requires`)
 * need only agree where it holds: it is never called elsewhere.
 *
 * map_<name>(n, x, ..., out): out[i] = <name>(x[i], ...), one array per parameter.
 */
#include <stdbool.h>
#include <stdint.h>

/* P1: x with its lowest set bit cleared (0 stays 0). */
static inline uint32_t p01_clear_lowest_one(uint32_t x) {
    for (uint32_t i = 0; i < 32; i++) {
        if (((x >> i) & 1) == 1) {
            return x & ~(1u << i);
        }
    }
    return x;
}

/* P2: whether x is 2^n - 1 for some n (0 included). */
static inline bool p02_is_low_mask(uint32_t x) {
    for (uint32_t i = 0; i < 32; i++) {
        if (((x >> i) & 1) == 0) {
            return (x >> i) == 0;
        }
    }
    return true;
}

/* P3: the lowest set bit of x alone. */
static inline uint32_t p03_isolate_lowest_one(uint32_t x) {
    for (uint32_t i = 0; i < 32; i++) {
        if (((x >> i) & 1) == 1) {
            return 1u << i;
        }
    }
    return 0;
}

/* P4: a mask of the lowest set bit of x and every bit below it. */
static inline uint32_t p04_mask_lowest_one_and_below(uint32_t x) {
    uint32_t mask = 0;
    for (uint32_t i = 0; i < 32; i++) {
        mask |= 1u << i;
        if (((x >> i) & 1) == 1) {
            return mask;
        }
    }
    return mask;
}

/* P5: x with every bit below its lowest set bit set too. */
static inline uint32_t p05_smear_lowest_one_down(uint32_t x) {
    uint32_t below = 0;
    for (uint32_t i = 0; i < 32; i++) {
        if (((x >> i) & 1) == 1) {
            return x | below;
        }
        below |= 1u << i;
    }
    return below;
}

/* P6: x with its lowest clear bit set. */
static inline uint32_t p06_set_lowest_zero(uint32_t x) {
    for (uint32_t i = 0; i < 32; i++) {
        if (((x >> i) & 1) == 0) {
            return x | (1u << i);
        }
    }
    return x;
}

/* P7: the lowest clear bit of x alone. */
static inline uint32_t p07_isolate_lowest_zero(uint32_t x) {
    for (uint32_t i = 0; i < 32; i++) {
        if (((x >> i) & 1) == 0) {
            return 1u << i;
        }
    }
    return 0;
}

/* P8: a mask of the trailing zero bits of x. */
static inline uint32_t p08_mask_trailing_zeros(uint32_t x) {
    uint32_t mask = 0;
    for (uint32_t i = 0; i < 32; i++) {
        if (((x >> i) & 1) == 1) {
            return mask;
        }
        mask |= 1u << i;
    }
    return mask;
}

/* P9: the absolute value of x (MIN stays MIN). */
static inline int32_t p09_abs(int32_t x) {
    if (x < 0) {
        return (int32_t)(0u - (uint32_t)x);      /* -x, wrapping */
    }
    return x;
}

/* P10: whether x and y have the same number of leading zero bits. */
static inline bool p10_nlz_equal(uint32_t x, uint32_t y) {
    uint32_t nx = 32;
    uint32_t ny = 32;
    for (uint32_t i = 0; i < 32; i++) {
        if (((x >> i) & 1) == 1) {
            nx = 31 - i;
        }
        if (((y >> i) & 1) == 1) {
            ny = 31 - i;
        }
    }
    return nx == ny;
}

/* P11: whether x has fewer leading zero bits than y. */
static inline bool p11_nlz_less(uint32_t x, uint32_t y) {
    uint32_t nx = 32;
    uint32_t ny = 32;
    for (uint32_t i = 0; i < 32; i++) {
        if (((x >> i) & 1) == 1) {
            nx = 31 - i;
        }
        if (((y >> i) & 1) == 1) {
            ny = 31 - i;
        }
    }
    return nx < ny;
}

/* P12: whether x has at most as many leading zero bits as y. */
static inline bool p12_nlz_less_equal(uint32_t x, uint32_t y) {
    uint32_t nx = 32;
    uint32_t ny = 32;
    for (uint32_t i = 0; i < 32; i++) {
        if (((x >> i) & 1) == 1) {
            nx = 31 - i;
        }
        if (((y >> i) & 1) == 1) {
            ny = 31 - i;
        }
    }
    return nx <= ny;
}

/* P13: the sign of x: -1, 0 or 1. */
static inline int32_t p13_sign(int32_t x) {
    if (x > 0) {
        return 1;
    } else if (x < 0) {
        return -1;
    }
    return 0;
}

/* P14: the average of x and y rounded down, as if computed without overflow. */
static inline uint32_t p14_floor_average(uint32_t x, uint32_t y) {
    if (x <= y) {
        return x + (y - x) / 2;
    }
    return y + (x - y) / 2;
}

/* P15: the average of x and y rounded up, as if computed without overflow. */
static inline uint32_t p15_ceil_average(uint32_t x, uint32_t y) {
    if (x <= y) {
        return y - (y - x) / 2;
    }
    return x - (x - y) / 2;
}

/* P16: the larger of x and y (unsigned). */
static inline uint32_t p16_max(uint32_t x, uint32_t y) {
    if (x >= y) {
        return x;
    }
    return y;
}

/* Our `1 << s`: 0 for a count at or past the width (C leaves it undefined). */
static inline uint32_t shl1(uint32_t s) {
    return s < 32 ? 1u << s : 0;
}

/* P17: x with its lowest run of adjacent set bits cleared. */
static inline uint32_t p17_clear_lowest_run(uint32_t x) {
    uint32_t end = 32;
    for (uint32_t i = 0; i < 32; i++) {
        uint32_t j = 31 - i;
        if (((x >> j) & 1) == 0 && (x & ((1u << j) - 1)) != 0) {
            end = j;
        }
    }
    return x & ~(shl1(end) - 1);
}

/* P18: whether x is a power of two. */
static inline bool p18_is_power_of_two(uint32_t x) {
    uint32_t ones = 0;
    for (uint32_t i = 0; i < 32; i++) {
        ones += (x >> i) & 1;
    }
    return ones == 1;
}

/* P19: x with the bit field selected by m and the one k places above it
 * exchanged.  Requires k < 32, (m & (m << k)) == 0 and (m << k) >> k == m;
 * then no count reaches 32: bit i of m is set only below 32 - k, and bit i
 * of m << k only from k up, so C's shifts are ours. */
static inline uint32_t p19_exchange_fields(uint32_t x, uint32_t m, uint32_t k) {
    uint32_t y = 0;
    for (uint32_t i = 0; i < 32; i++) {
        uint32_t from = i;
        if (((m >> i) & 1) == 1) {
            from = i + k;
        }
        if ((((m << k) >> i) & 1) == 1) {
            from = i - k;
        }
        y = y | (((x >> from) & 1) << i);
    }
    return y;
}

/* P20: the next number above x with as many set bits.  Requires some set
 * bit of x to have a clear bit above it; then p + 2 <= 32 and below < 31. */
static inline uint32_t p20_next_same_count(uint32_t x) {
    for (uint32_t p = 0; p < 31; p++) {
        if (((x >> p) & 3) == 1) {
            uint32_t below = 0;
            for (uint32_t j = 0; j < 32; j++) {
                if (j < p) {
                    below += (x >> j) & 1;
                }
            }
            uint32_t above = p + 2 < 32 ? (x >> (p + 2)) << (p + 2) : 0;
            return above | (1u << (p + 1)) | ((1u << below) - 1);
        }
    }
    return x;
}

/* P21: the next of three distinct values in the cycle a -> b -> c -> a.
 * Requires x to be one of a, b, c, and the three distinct. */
static inline uint32_t p21_cycle(uint32_t x, uint32_t a, uint32_t b, uint32_t c) {
    if (x == a) {
        return b;
    }
    if (x == b) {
        return c;
    }
    return a;
}

/* P22: the parity of x (0 or 1). */
static inline uint32_t p22_parity(uint32_t x) {
    uint32_t p = 0;
    for (uint32_t i = 0; i < 32; i++) {
        p ^= (x >> i) & 1;
    }
    return p;
}

/* P23: the number of set bits of x. */
static inline uint32_t p23_popcount(uint32_t x) {
    uint32_t ones = 0;
    for (uint32_t i = 0; i < 32; i++) {
        ones += (x >> i) & 1;
    }
    return ones;
}

/* P24: the smallest power of two at least x; 0 for x = 0 and where none fits. */
static inline uint32_t p24_round_up_power_of_two(uint32_t x) {
    if (x == 0) {
        return 0;
    }
    for (uint32_t i = 0; i < 32; i++) {
        if ((1u << i) >= x) {
            return 1u << i;
        }
    }
    return 0;
}

static inline uint32_t p25_product_high(uint32_t x, uint32_t y) {
    uint64_t product = (uint64_t)x * (uint64_t)y;
    return (uint32_t)(product >> 32);
}

/* ---- one loop per problem, for timing: out[i] = f(x[i], ...) */

#include "maps.h"

MAP1(p01_clear_lowest_one, uint32_t, uint32_t)
MAP1(p02_is_low_mask, uint32_t, uint8_t)
MAP1(p03_isolate_lowest_one, uint32_t, uint32_t)
MAP1(p04_mask_lowest_one_and_below, uint32_t, uint32_t)
MAP1(p05_smear_lowest_one_down, uint32_t, uint32_t)
MAP1(p06_set_lowest_zero, uint32_t, uint32_t)
MAP1(p07_isolate_lowest_zero, uint32_t, uint32_t)
MAP1(p08_mask_trailing_zeros, uint32_t, uint32_t)
MAP1(p09_abs, int32_t, int32_t)
MAP2(p10_nlz_equal, uint32_t, uint8_t)
MAP2(p11_nlz_less, uint32_t, uint8_t)
MAP2(p12_nlz_less_equal, uint32_t, uint8_t)
MAP1(p13_sign, int32_t, int32_t)
MAP2(p14_floor_average, uint32_t, uint32_t)
MAP2(p15_ceil_average, uint32_t, uint32_t)
MAP2(p16_max, uint32_t, uint32_t)
MAP1(p17_clear_lowest_run, uint32_t, uint32_t)
MAP1(p18_is_power_of_two, uint32_t, uint8_t)
MAP3(p19_exchange_fields, uint32_t, uint32_t)
MAP1(p20_next_same_count, uint32_t, uint32_t)
MAP4(p21_cycle, uint32_t, uint32_t)
MAP1(p22_parity, uint32_t, uint32_t)
MAP1(p23_popcount, uint32_t, uint32_t)
MAP1(p24_round_up_power_of_two, uint32_t, uint32_t)
MAP2(p25_product_high, uint32_t, uint32_t)
