/* The naive specifications of naive.ax beside this file in C11, statement
 * for statement, for gcc -O3 -march=native to compile as the baseline of
 * atlas/tools/bitbench.py.  Where C's semantics differ from ours (a shift
 * by the width or more gives 0 here), the C says so.  bool stays inside. */
#include <stdbool.h>
#include <stdint.h>

static inline uint32_t highest_bit(uint32_t x) {
    uint32_t h = 0;
    for (uint32_t i = 0; i < 32; i++) {
        if (((x >> i) & 1) == 1) {
            h = 1u << i;
        }
    }
    return h;
}

static inline uint32_t swap_nibbles(uint32_t x) {
    uint32_t y = 0;
    for (uint32_t k = 0; k < 4; k++) {
        uint32_t b = (x >> (8 * k)) & 0xff;
        uint32_t turned = ((b & 0xf) << 4) | (b >> 4);
        y = y | (turned << (8 * k));
    }
    return y;
}

static inline int32_t sign_extend_12(int32_t x) {
    int32_t low = x & 0xfff;
    if (low >= 0x800) {
        return low - 0x1000;
    }
    return low;
}

static inline uint32_t ripple_mean(uint32_t x, uint32_t y) {
    uint32_t carry = 0, r = 0;
    for (uint32_t i = 0; i < 32; i++) {
        uint32_t a = (x >> i) & 1, b = (y >> i) & 1;
        uint32_t s = a ^ b ^ carry;
        carry = (a & b) | (carry & (a ^ b));
        if (i > 0) {
            r = r | (s << (i - 1));
        }
    }
    return r | (carry << 31);
}

static inline uint32_t gray_code(uint32_t x) {
    uint32_t g = 0;
    for (uint32_t i = 0; i < 32; i++) {
        uint32_t here = (x >> i) & 1;
        uint32_t above = i + 1 < 32 ? (x >> (i + 1)) & 1 : 0; /* ours: x >> 32 is 0 */
        if (here != above) {
            g = g | (1u << i);
        }
    }
    return g;
}

static inline uint32_t trailing_ones(uint32_t x) {
    for (uint32_t i = 0; i < 32; i++) {
        if (((x >> i) & 1) == 0) {
            return i;
        }
    }
    return 32;
}

static inline uint32_t all_if_any(uint32_t x) {
    bool any = false;
    for (uint32_t i = 0; i < 32; i++) {
        if (((x >> i) & 1) == 1) {
            any = true;
        }
    }
    if (any) {
        return 0xffffffffu;
    }
    return 0;
}

static inline uint32_t bytes_reversed(uint32_t x) {
    uint32_t y = 0;
    for (uint32_t k = 0; k < 4; k++) {
        y = (y << 8) | ((x >> (8 * k)) & 0xff);
    }
    return y;
}

static inline uint32_t bits_reversed(uint32_t x) {
    uint32_t y = 0;
    for (uint32_t i = 0; i < 32; i++) {
        y = y | (((x >> i) & 1) << (31 - i));
    }
    return y;
}

static inline uint32_t distance(uint32_t x, uint32_t y) {
    if (x > y) {
        return x - y;
    }
    return y - x;
}

static inline uint32_t odd_ones(uint32_t x) {
    uint32_t p = 0;
    for (uint32_t i = 0; i < 32; i++) {
        p = p ^ ((x >> i) & 1);
    }
    return p;
}

static inline uint32_t nonzero_bytes(uint32_t x) {
    uint32_t m = 0;
    for (uint32_t k = 0; k < 4; k++) {
        if (((x >> (8 * k)) & 0xff) != 0) {
            m = m | (0xffu << (8 * k));
        }
    }
    return m;
}

static inline uint8_t byte_sum_capped(uint8_t x, uint8_t y) {
    uint16_t s = (uint16_t)((uint16_t)x + (uint16_t)y);
    if (s > 255) {
        return 255;
    }
    return (uint8_t)s;
}

static inline int32_t to_byte_range(int32_t x) {
    if (x < 0) {
        return 0;
    }
    if (x > 255) {
        return 255;
    }
    return x;
}

static inline uint16_t next_same_ones_u16(uint16_t x) {
    for (uint16_t p = 0; p < 15; p++) {
        if (((x >> p) & 3) == 1) {
            uint16_t below = (uint16_t)(x & ((1u << p) - 1));
            uint16_t n = 0;
            for (uint16_t j = 0; j < 16; j++) {
                n = (uint16_t)(n + ((below >> j) & 1));
            }
            uint16_t high = 0;
            if (p < 14) {
                high = (uint16_t)(x & ~((1u << (p + 2)) - 1));
            }
            return (uint16_t)(high | (1u << (p + 1)) | ((1u << n) - 1));
        }
    }
    return x;
}

#include "maps.h" /* intents/bits/maps.h: build_c puts that folder on the include path */

MAP1(highest_bit, uint32_t, uint32_t)
MAP1(swap_nibbles, uint32_t, uint32_t)
MAP1(sign_extend_12, int32_t, int32_t)
MAP2(ripple_mean, uint32_t, uint32_t)
MAP1(gray_code, uint32_t, uint32_t)
MAP1(trailing_ones, uint32_t, uint32_t)
MAP1(all_if_any, uint32_t, uint32_t)
MAP1(bytes_reversed, uint32_t, uint32_t)
MAP1(bits_reversed, uint32_t, uint32_t)
MAP2(distance, uint32_t, uint32_t)
MAP1(odd_ones, uint32_t, uint32_t)
MAP1(nonzero_bytes, uint32_t, uint32_t)
MAP2(byte_sum_capped, uint8_t, uint8_t)
MAP1(to_byte_range, int32_t, int32_t)
MAP1(next_same_ones_u16, uint16_t, uint16_t)
