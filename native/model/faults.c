/*
 * faults.c - fault injection through DEBUG_FAULT (ra-spec §6).
 *
 * The driver writes DEBUG_FAULT_ARG, then DEBUG_FAULT. The adapter consumes a fault when it acts
 * on it: DEBUG_FAULT goes back to 0 (compare-and-swap, so a fault written meanwhile is not lost)
 * and DEBUG_FAULTS_HIT counts it. HANG and EXIT act as soon as they are seen (every doorbell and
 * every loop iteration); FAIL_NEXT_LOAD, FAIL_NEXT_DMA and STALL_NEXT_DMA wait in the register
 * for the operation they apply to (slots.c, dma.c take them with ra_fault_take).
 */
#include <unistd.h>

#include "bar.h"
#include "model.h"

bool ra_fault_take(struct ra_adapter *a, uint32_t fault, uint32_t *arg)
{
    if (__atomic_load_n((uint32_t *)(a->bar + RA_REG_DEBUG_FAULT), __ATOMIC_ACQUIRE) != fault)
        return false;
    uint32_t value = reg32(a, RA_REG_DEBUG_FAULT_ARG);
    if (!cas32(a, RA_REG_DEBUG_FAULT, fault, RA_FAULT_NONE))
        return false;
    if (arg != NULL)
        *arg = value;
    add32(a, RA_REG_DEBUG_FAULTS_HIT, 1);
    return true;
}

/* Is a fault written and not consumed yet? One load: every pass of the loop and every descriptor ask,
 * and a fault is almost never armed, so the takes below (a load and a compare-and-swap each) run only
 * when it is. */
bool ra_fault_armed(const struct ra_adapter *a)
{
    return __atomic_load_n((const uint32_t *)(a->bar + RA_REG_DEBUG_FAULT), __ATOMIC_ACQUIRE) != RA_FAULT_NONE;
}

/* true when the adapter is (now) halted and must not be serviced */
bool ra_faults_check(struct ra_adapter *a)
{
    if (a->halted)
        return true;
    if (!ra_fault_armed(a))
        return false;
    if (ra_fault_take(a, RA_FAULT_EXIT, NULL))
        _exit(3); /* surprise removal: no cleanup, the files stay behind */
    if (ra_fault_take(a, RA_FAULT_HANG, NULL)) {
        ra_adapter_halt(a);
        return true;
    }
    /* §6: unknown values are consumed without effect (and not counted) */
    uint32_t fault = reg32(a, RA_REG_DEBUG_FAULT);
    if (fault > RA_FAULT_EXIT)
        cas32(a, RA_REG_DEBUG_FAULT, fault, RA_FAULT_NONE);
    return false;
}
