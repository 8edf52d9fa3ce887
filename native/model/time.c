/*
 * time.c - the adapter clock (ra-spec §4 CLOCK_NS: nanoseconds since power-on).
 *
 * CLOCK_MONOTONIC, so that a wall-clock step never makes CLOCK_NS or a deadline jump.
 */
#include <time.h>

#include "model.h"

uint64_t ra_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t ra_clock_ns(const struct ra_model *m)
{
    return ra_now_ns() - m->start_ns;
}
