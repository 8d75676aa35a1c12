/* The timing loops of the bit benchmarks' naive C (naive.c here and in
 * unseen/): map_<name>(n, x, ..., out) sets out[i] = <name>(x[i], ...), one
 * array per parameter. */
#ifndef ATLAS_BITS_MAPS_H
#define ATLAS_BITS_MAPS_H
#include <stdint.h>

#define MAP1(name, T, R)                                                          \
    void map_##name(uint64_t n, const T *x, R *out) {                             \
        for (uint64_t i = 0; i < n; i++) out[i] = (R)name(x[i]);                  \
    }
#define MAP2(name, T, R)                                                          \
    void map_##name(uint64_t n, const T *x, const T *y, R *out) {                 \
        for (uint64_t i = 0; i < n; i++) out[i] = (R)name(x[i], y[i]);            \
    }
#define MAP3(name, T, R)                                                          \
    void map_##name(uint64_t n, const T *x, const T *y, const T *z, R *out) {     \
        for (uint64_t i = 0; i < n; i++) out[i] = (R)name(x[i], y[i], z[i]);      \
    }
#define MAP4(name, T, R)                                                          \
    void map_##name(uint64_t n, const T *x, const T *y, const T *z, const T *w,   \
                    R *out) {                                                     \
        for (uint64_t i = 0; i < n; i++)                                          \
            out[i] = (R)name(x[i], y[i], z[i], w[i]);                             \
    }

#endif
