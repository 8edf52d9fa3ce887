/*
 * crc32c.c - CRC-32C (Castagnoli) for the crc32c engine and the pipeline's CRC stage (ra-spec §12).
 *
 * Reflected polynomial 0x82F63B78. ra_crc32c_update works on the raw register: the caller starts
 * from 0xFFFFFFFF and XORs the result with 0xFFFFFFFF (init and xorout of §12), which lets a job
 * feed its input in chunks. SSE4.2 has the instruction for exactly this polynomial; a table serves
 * CPUs without it.
 */
#include <nmmintrin.h>
#include <string.h>

#include "model.h"

static uint32_t crc_table[256];
static int crc_mode; /* 0 = not yet chosen, 1 = table, 2 = sse4.2 */

static void init_table(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int b = 0; b < 8; b++)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc_table[i] = c;
    }
}

static uint32_t crc_soft(uint32_t crc, const uint8_t *p, size_t bytes)
{
    while (bytes--)
        crc = crc_table[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    return crc;
}

__attribute__((target("sse4.2"))) static uint32_t crc_sse42(uint32_t crc, const uint8_t *p, size_t bytes)
{
    uint64_t c = crc;
    while (bytes >= 8) {
        uint64_t v;
        memcpy(&v, p, sizeof v);
        c = _mm_crc32_u64(c, v);
        p += 8;
        bytes -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (bytes--)
        c32 = _mm_crc32_u8(c32, *p++);
    return c32;
}

uint32_t ra_crc32c_update(uint32_t crc, const uint8_t *data, size_t bytes)
{
    if (crc_mode == 0) {
        __builtin_cpu_init();
        crc_mode = __builtin_cpu_supports("sse4.2") ? 2 : 1;
        init_table();
    }
    return crc_mode == 2 ? crc_sse42(crc, data, bytes) : crc_soft(crc, data, bytes);
}
