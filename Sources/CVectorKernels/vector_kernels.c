#include "vector_kernels.h"

#if defined(__AVX2__)
#include <immintrin.h>

static inline __m256i row_products(const uint8_t *row, const int8_t *query, size_t stride, __m256i ones) {
    __m256i acc = _mm256_setzero_si256();
    for (size_t j = 0; j < stride; j += 32) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(row + j));
        __m256i b = _mm256_loadu_si256((const __m256i *)(query + j));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), ones));
    }
    return acc;
}

void cvk_dot_u8_s8_rows(const uint8_t *codes, size_t rows, size_t stride, const int8_t *query, int32_t *out) {
    const __m256i ones = _mm256_set1_epi16(1);
    size_t r = 0;
    // Four rows at a time: their eight-lane sums fold into one vector with two horizontal adds.
    for (; r + 4 <= rows; r += 4) {
        const uint8_t *base = codes + r * stride;
        __m256i s0 = row_products(base, query, stride, ones);
        __m256i s1 = row_products(base + stride, query, stride, ones);
        __m256i s2 = row_products(base + 2 * stride, query, stride, ones);
        __m256i s3 = row_products(base + 3 * stride, query, stride, ones);
        __m256i h01 = _mm256_hadd_epi32(s0, s1);
        __m256i h23 = _mm256_hadd_epi32(s2, s3);
        __m256i h = _mm256_hadd_epi32(h01, h23);
        __m128i sum = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
        _mm_storeu_si128((__m128i *)(out + r), sum);
    }
    for (; r < rows; r++) {
        __m256i s = row_products(codes + r * stride, query, stride, ones);
        __m128i half = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
        half = _mm_hadd_epi32(half, half);
        half = _mm_hadd_epi32(half, half);
        out[r] = _mm_cvtsi128_si32(half);
    }
}

#else

void cvk_dot_u8_s8_rows(const uint8_t *codes, size_t rows, size_t stride, const int8_t *query, int32_t *out) {
    for (size_t r = 0; r < rows; r++) {
        const uint8_t *row = codes + r * stride;
        int32_t sum = 0;
        for (size_t j = 0; j < stride; j++) sum += (int32_t)row[j] * (int32_t)query[j];
        out[r] = sum;
    }
}

#endif
