/*
 * matmul.c - the hardened f32 matrix engine of the compute units (ra-spec §12, RA_FN_MATMUL_F32).
 *
 * C(m x n) = A(m x k) B(k x n), row-major. The result must be bit-identical to the TypeScript
 * reference, so the arithmetic is fixed: every C[i][j] starts at 0.0f and adds A[i][p] * B[p][j]
 * for p = 0, 1, ... k-1 in that order, in single precision, each product rounded before the add
 * (no fused multiply-add: fp-contract is off for this function). The i-k-j loop order keeps that
 * per-element order while streaming rows of B.
 */
#include <stddef.h>

#include "model.h"

__attribute__((optimize("fp-contract=off"))) void ra_matmul_rows(const float *a, const float *b, float *c,
                                                                  uint32_t row_first, uint32_t rows, uint32_t n,
                                                                  uint32_t k)
{
    for (uint32_t i = row_first; i < row_first + rows; i++) {
        float *ci = c + (size_t)i * n;
        const float *ai = a + (size_t)i * k;
        for (uint32_t j = 0; j < n; j++)
            ci[j] = 0.0f;
        for (uint32_t p = 0; p < k; p++) {
            const float aip = ai[p];
            const float *bp = b + (size_t)p * n;
            for (uint32_t j = 0; j < n; j++) {
                const float product = aip * bp[j];
                ci[j] = ci[j] + product;
            }
        }
    }
}
