/*
 * trace.c - RA_TRACE points (trace.h); empty unless built with -DRA_MODEL_TRACE.
 */
#include "trace.h"

#ifdef RA_MODEL_TRACE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <x86intrin.h>

static const char *const names[RA_TRACE_POINTS] = {"found", "taken", "turn", "started", "ran", "done", "posted", "spinning"};
static uint64_t round_start, last_mark, sum[RA_TRACE_POINTS], count[RA_TRACE_POINTS], gap_sum, gap_count;
static uint64_t tsc0, ns0;
static int seen[RA_TRACE_POINTS];
unsigned long long ra_trace_looks;
static uint64_t spin_start, spin_ticks, spin_looks;

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void report(void)
{
    const char *path = getenv("RA_MODEL_TRACE_FILE");
    FILE *f = path ? fopen(path, "w") : NULL;
    if (f == NULL)
        return;
    double ns_per_tick = (double)(mono_ns() - ns0) / (double)(__rdtsc() - tsc0);
    for (int p = 1; p < RA_TRACE_POINTS; p++)
        fprintf(f, "%s: %.0f ns after found (%llu)\n", names[p], count[p] ? sum[p] * ns_per_tick / count[p] : 0.0,
                (unsigned long long)count[p]);
    fprintf(f, "posted -> next found: %.0f ns (%llu)\n", gap_count ? gap_sum * ns_per_tick / gap_count : 0.0,
            (unsigned long long)gap_count);
    fprintf(f, "one spin look: %.1f ns\n", spin_looks ? spin_ticks * ns_per_tick / spin_looks : 0.0);
    fclose(f);
}

void ra_trace(enum ra_trace_point point)
{
    uint64_t now = __rdtsc();
    if (tsc0 == 0) {
        tsc0 = now;
        ns0 = mono_ns();
        atexit(report);
    }
    if (point == RA_TRACE_FOUND) {
        /* a round that posted: the time since then is the other side's (and the loop's way back) */
        if (seen[RA_TRACE_POSTED] && now - last_mark < 200000) {
            gap_sum += now - last_mark;
            gap_count++;
        }
        if (seen[RA_TRACE_SPINNING] && now - spin_start < 200000) {
            spin_ticks += now - spin_start;
            spin_looks += ra_trace_looks;
        }
        for (int p = 0; p < RA_TRACE_POINTS; p++)
            seen[p] = 0;
        round_start = now;
        seen[point] = 1;
        return;
    }
    /* only the first time a point is reached in a round that saw work */
    if (!seen[RA_TRACE_FOUND] || seen[point])
        return;
    seen[point] = 1;
    if (point == RA_TRACE_SPINNING) {
        spin_start = now;
        ra_trace_looks = 0;
    }
    if (point == RA_TRACE_POSTED)
        last_mark = now;
    if (now - round_start < 200000) {
        sum[point] += now - round_start;
        count[point]++;
    }
}
#endif
