#ifndef CAUSALREC_VECTOR_KERNELS_H
#define CAUSALREC_VECTOR_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// Dot products of `rows` rows of unsigned 8-bit codes (each `stride` bytes, stride a multiple of
/// 32) with one signed 8-bit query of `stride` bytes whose values lie in [-63, 63]:
/// out[r] = sum_j codes[r][j] * query[j]. With AVX2 two instructions cover 32 products
/// (vpmaddubsw + vpmaddwd); the query bound keeps vpmaddubsw's 16-bit pair sums from saturating.
void cvk_dot_u8_s8_rows(const uint8_t *codes, size_t rows, size_t stride, const int8_t *query, int32_t *out);

/// Asks the cache for the `bytes` bytes at `row`, one request per 64-byte line, before they are
/// read: training touches rows in an order no hardware prefetcher can guess.
static inline void cvk_prefetch(const void *row, size_t bytes) {
    for (size_t offset = 0; offset < bytes; offset += 64) {
        __builtin_prefetch((const char *)row + offset, 0, 3);
    }
}

#endif
