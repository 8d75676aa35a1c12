// Reference C for the kernel families of `atlas bench --family`: kernels of
// the benchmark's families that nothing in Atlas was written for, each the
// plain loop a C programmer would write, compiled with gcc -O3 -march=native.

#include <stdint.h>
#include <stddef.h>
uint32_t adler32(uint64_t n, const uint8_t *data) {
    uint32_t a = 1, b = 0;
    for (uint64_t i = 0; i < n; i++) { a = (a + data[i]) % 65521; b = (b + a) % 65521; }
    return (b << 16) | a;
}
uint16_t fletcher16(uint64_t n, const uint8_t *data) {
    uint16_t lo = 0, hi = 0;
    for (uint64_t i = 0; i < n; i++) { lo = (lo + data[i]) % 255; hi = (hi + lo) % 255; }
    return (uint16_t)((hi << 8) | lo);
}
uint32_t fletcher32(uint64_t n, const uint16_t *w) {
    uint32_t s1 = 0, s2 = 0;
    for (uint64_t k = 0; k < n; k++) { s1 += w[k]; if (s1 >= 65535) s1 -= 65535; s2 += s1; if (s2 >= 65535) s2 -= 65535; }
    return (s2 << 16) | s1;
}
uint16_t ubx_checksum(uint64_t n, const uint8_t *frame) {
    uint8_t ck_a = 0, ck_b = 0;
    for (uint64_t i = 0; i < n; i++) { ck_a += frame[i]; ck_b += ck_a; }
    return (uint16_t)((ck_b << 8) | ck_a);
}
uint32_t djb2_hash(uint64_t n, const uint8_t *s) {
    uint32_t h = 5381;
    for (uint64_t i = 0; i < n; i++) h = ((h << 5) + h) + s[i];
    return h;
}
uint64_t read_decimal(uint64_t n, const uint8_t *digits) {
    uint64_t v = 0;
    for (uint64_t i = 0; i < n; i++) v = v * 10 + (uint8_t)(digits[i] - '0');
    return v;
}
uint64_t modsum(uint64_t n, const uint32_t *x) {
    uint64_t t = 0;
    for (uint64_t i = 0; i < n; i++) t = (t + x[i]) % 2147483647u;
    return t;
}
uint64_t sum_u8(uint64_t n, const uint8_t *x) {
    uint64_t s = 0;
    for (uint64_t i = 0; i < n; i++) s += x[i];
    return s;
}
uint64_t count_above(uint64_t n, const int32_t *x, int32_t t) {
    uint64_t c = 0;
    for (uint64_t i = 0; i < n; i++) if (x[i] > t) c++;
    return c;
}
// Wrapping 32-bit arithmetic, as in kernels.c: unsigned sums and products.
void matvec_t(uint64_t n, const int32_t *a, const int32_t *x, int32_t *y) {
    for (uint64_t j = 0; j < n; j++) {
        uint32_t s = 0;
        for (uint64_t i = 0; i < n; i++) s += (uint32_t)a[i * n + j] * (uint32_t)x[i];
        y[j] = (int32_t)s;
    }
}
void stencil3(uint64_t n, const int32_t *x, int32_t *out) {
    if (n == 0) return;
    out[0] = x[0];
    out[n - 1] = x[n - 1];
    for (uint64_t i = 1; i + 1 < n; i++)
        out[i] = (int32_t)((uint32_t)x[i - 1] + (uint32_t)x[i] + (uint32_t)x[i + 1]);
}
uint64_t bitcount_loop(uint64_t n, const uint64_t *w) {
    uint64_t c = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t v = w[i];
        while (v) { v &= v - 1; c++; }
    }
    return c;
}
uint64_t ones_shifted(uint64_t n, const uint32_t *w) {
    uint64_t total = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint32_t v = w[i], c = 0;
        while (v) { c += v & 1; v >>= 1; }
        total += c;
    }
    return total;
}
void chain3(uint64_t n, int32_t *a, const int32_t *b) {
    for (uint64_t i = 0; i < n; i++)
        a[i] = (int32_t)((uint32_t)a[i] * 3u);
    for (uint64_t i = 0; i < n; i++)
        a[i] = (int32_t)((uint32_t)a[i] + (uint32_t)b[i]);
    for (uint64_t i = 0; i < n; i++)
        a[i] = a[i] > 0 ? a[i] : 0;
}
uint8_t max_u8(uint64_t n, const uint8_t *x) {
    uint8_t m = 0;
    for (uint64_t i = 0; i < n; i++)
        if (x[i] > m) m = x[i];
    return m;
}
int64_t dot_i16(uint64_t n, const int16_t *a, const int16_t *b) {
    int64_t s = 0;
    for (uint64_t i = 0; i < n; i++)
        s += (int64_t)a[i] * (int64_t)b[i];
    return s;
}
void transpose(uint64_t n, const float *a, float *out) {
    for (uint64_t i = 0; i < n; i++)
        for (uint64_t j = 0; j < n; j++)
            out[j * n + i] = a[i * n + j];
}
int64_t abs_sum(uint64_t n, const int32_t *x) {
    int64_t s = 0;
    for (uint64_t i = 0; i < n; i++) {
        int64_t v = x[i];
        s += v < 0 ? -v : v;
    }
    return s;
}
uint64_t argmin_i16(uint64_t n, const int16_t *x) {
    uint64_t at = 0;
    int16_t low = 32767;
    for (uint64_t i = 0; i < n; i++)
        if (x[i] < low) { low = x[i]; at = i; }
    return at;
}
uint64_t last_min_u8(uint64_t n, const uint8_t *x) {
    uint64_t pos = 0;
    uint8_t least = 255;
    for (uint64_t i = 0; i < n; i++)
        if (least >= x[i]) { least = x[i]; pos = i; }
    return pos;
}
uint64_t closest_u16(uint64_t n, const uint16_t *x, uint16_t target) {
    uint16_t gap = 65535;
    uint64_t at = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint16_t hi = x[i] > target ? x[i] : target, lo = x[i] > target ? target : x[i];
        uint16_t d = (uint16_t)(hi - lo);
        if (d < gap) { gap = d; at = i; }
    }
    return at;
}
uint64_t best_score_f32(uint64_t n, const float *score) {
    float top = -3.4e38f;
    uint64_t winner = 0;
    for (uint64_t i = 0; i < n; i++)
        if (top < score[i]) { top = score[i]; winner = i; }
    return winner;
}
int32_t scaled_sum(uint64_t n, const int32_t *x, int32_t w) {
    uint32_t s = 0;
    for (uint64_t i = 0; i < n; i++) s = (uint32_t)x[i] * (uint32_t)w + s;
    return (int32_t)s;
}
uint32_t centred_sum(uint64_t n, const uint16_t *x, uint32_t b) {
    uint32_t s = 0;
    for (uint64_t i = 0; i < n; i++) s += (uint32_t)x[i] - b;
    return s;
}
void running_max_u8(uint64_t n, const uint8_t *x, uint8_t *out) {
    uint8_t m = 0;
    for (uint64_t i = 0; i < n; i++) {
        if (x[i] > m) m = x[i];
        out[i] = m;
    }
}
void offsets_u16(uint64_t n, const uint16_t *len, uint32_t *at) {
    uint32_t o = 0;
    for (uint64_t i = 0; i < n; i++) {
        at[i] = o;
        o += len[i];
    }
}
uint32_t adler32_while(uint64_t n, const uint8_t *data) {
    uint32_t a = 1, b = 0;
    uint64_t pos = 0;
    while (pos < n) {
        a += data[pos];
        if (a >= 65521) a -= 65521;
        b += a;
        if (b >= 65521) b -= 65521;
        pos++;
    }
    return (b << 16) | a;
}
uint32_t poly_hash_while(uint64_t n, const uint8_t *s, uint64_t skip) {
    uint32_t h = 0;
    uint64_t k = skip;
    while (k < n) {
        h = 31 * h + s[k];
        k++;
    }
    return h;
}
void prefix_in_place(uint64_t n, uint32_t *a) {
    for (uint64_t i = 1; i < n; i++) a[i] += a[i - 1];
}
uint32_t bucket_sum(uint64_t n, const uint8_t *key, uint32_t m) {
    uint32_t h = 0;
    for (uint64_t k = 0; k < n; k++) h = (h + key[k]) % m;
    return h;
}
uint32_t fletcher_mod(uint64_t len, const uint8_t *bytes, uint16_t m) {
    uint32_t lo = 0, hi = 0;
    uint64_t at = 0;
    while (at < len) {
        lo = (lo + bytes[at]) % m;
        hi = (hi + lo) % m;
        at++;
    }
    return (hi << 16) | lo;
}
uint32_t capped_total(uint64_t n, const uint16_t *samples) {
    uint32_t total = 0;
    for (uint64_t i = 0; i < n; i++) {
        total += samples[i];
        if (total > 20000000u) total = 20000000u;
    }
    return total;
}
uint16_t sat_level(uint64_t len, const uint8_t *bytes) {
    uint16_t level = 0;
    for (uint64_t p = 0; p < len; p++) {
        uint32_t s = (uint32_t)level + bytes[p];
        level = s > 0xffff ? 0xffff : (uint16_t)s;
    }
    return level;
}
uint64_t sum64_mod(uint64_t n, const uint32_t *words, uint64_t m) {
    uint64_t s = 0;
    for (uint64_t i = 0; i < n; i++) s = (s + words[i]) % m;
    return s;
}
uint32_t wrap_sum_m(uint64_t n, const uint8_t *steps, uint32_t m) {
    uint32_t pos = 0;
    for (uint64_t k = 0; k < n; k++) {
        pos += steps[k];
        if (pos >= m) pos -= m;
    }
    return pos;
}
