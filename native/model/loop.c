/*
 * loop.c - the model's single thread: one epoll set, one 5 ms timerfd, no busy polling when idle.
 *
 * It wakes on listening sockets, client sockets, the doorbell eventfds (§14), the heartbeat timer
 * (§4) and SIGTERM/SIGINT (signalfd). Each iteration then:
 *   1. checks the fault register of every adapter (§6: HANG and EXIT act at once);
 *   2. services the admin mailbox where vector 0 rang or the tick came (§5);
 *   3. advances slot configuration (§9 LOADING) and DMA stalls by their deadlines;
 *   4. gives every queue with work one turn of at most RA_MODEL_CHUNK_BYTES and RA_MODEL_TURN_NS,
 *      rotating the starting queue, so a 64 MiB copy on one queue does not starve a 4 KiB one
 *      elsewhere (§8.8); a command posted meanwhile ends the pass (admin before data);
 *   5. applies a command that waited for descriptors in progress, if they are done (§5.4).
 * It sleeps in epoll_wait unless work is left, a deadline is near, or a queue or a tenant window asked
 * for adaptive polling (§7 QCB_POLL_US, §18.5): then it spins on their SQ_TAIL for the requested time,
 * like io_uring's SQPOLL thread, and sleeps in epoll (doorbells wake it) once they were idle that long.
 * While it spins or works it asks epoll only every RA_LOOP_EVENTS_EVERY_NS: a system call costs
 * about as much as the rest of a polled round trip.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "bar.h"
#include "model.h"
#include "trace.h"

#define RA_LOOP_EVENTS_EVERY_NS 50000ull /* while work or spinning goes on, epoll is asked this often */
#define RA_LOOP_LOOKS_PER_CLOCK 64u     /* a spin reads the clock once per this many looks */
#define RA_LOOP_SPIN (-2)               /* next_timeout: spin instead of sleeping */
#define RA_LOOP_DMA_PASS_NS 1000000ull /* a DMA pass ends after the turn that passed this */

int ra_loop_watch(struct ra_model *m, int fd, struct ra_watch *w)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = w};
    if (w->kind == RA_W_CLIENT)
        ev.events |= EPOLLRDHUP;
    /* Doorbells are edge-triggered, so that a ring wakes the loop without a read() per ring (a system
     * call per interrupt round trip): every write to an eventfd or a FIFO that epoll watches is an
     * edge. A doorbell eventfd (§14) is never read: its counter would take centuries of rings to
     * reach 2^64 - 2. A window's doorbell FIFO (§18.5) is emptied at the tick
     * (ra_tenants_drain_doorbells), long before it fills. */
    if (w->kind == RA_W_TENANT_DOORBELL || w->kind == RA_W_DOORBELL)
        ev.events |= EPOLLET;
    if (epoll_ctl(m->epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        fprintf(stderr, RA_MODEL_NAME ": epoll_ctl: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

void ra_loop_unwatch(struct ra_model *m, int fd)
{
    epoll_ctl(m->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
}

static void on_tick(struct ra_model *m)
{
    uint64_t expirations;
    if (read(m->timer_fd, &expirations, sizeof expirations) != (ssize_t)sizeof expirations)
        return;
    uint64_t clock_ns = ra_clock_ns(m); /* one clock read per tick, not one per adapter */
    for (unsigned i = 0; i < m->adapters_open; i++) {
        struct ra_adapter *a = &m->adapters[i];
        ra_adapter_heartbeat(a, clock_ns);
        /* a command posted without a doorbell is still picked up, within one tick */
        a->admin_kicked = true;
        ra_tenants_drain_doorbells(a);
    }
}

/* true when the signal asks the model to stop */
static bool dispatch(struct ra_model *m, struct ra_watch *w)
{
    switch (w->kind) {
    case RA_W_SIGNAL: {
        struct signalfd_siginfo si;
        return read(m->signal_fd, &si, sizeof si) == (ssize_t)sizeof si;
    }
    case RA_W_TIMER:
        on_tick(m);
        break;
    case RA_W_LISTEN:
        ra_server_accept(w->adapter);
        break;
    case RA_W_CLIENT:
        ra_server_client_event(w->peer);
        break;
    case RA_W_TENANT_DOORBELL:
        /* §18.5: the pump of this iteration looks at every window; the FIFO is emptied at the tick */
        break;
    case RA_W_DOORBELL:
        /* edge-triggered: nothing to read (ra_loop_watch) */
        if (w->vector == RA_VEC_ADMIN)
            w->adapter->admin_kicked = true;
        /* queue doorbells need no flag: every queue's SQ_TAIL is looked at each iteration */
        break;
    }
    return false;
}

static void service_adapters(struct ra_model *m)
{
    for (unsigned i = 0; i < m->adapters_open; i++) {
        struct ra_adapter *a = &m->adapters[i];
        if (a->halted || ra_faults_check(a))
            continue;
        /* a command posted is taken in this pass even before its doorbell was read: epoll is asked
         * only every RA_LOOP_EVENTS_EVERY_NS while the loop spins or works, and a driver that posts a
         * command and then a descriptor must not see the descriptor run first (§5, §8) */
        if (!a->cmd_busy && reg32_acquire(a, RA_REG_CMD_SEQ) != reg32(a, RA_REG_CMD_DONE_SEQ))
            a->admin_kicked = true;
        if (a->admin_kicked) {
            a->admin_kicked = false;
            ra_admin_service(a);
        }
        ra_slots_tick(a); /* after the command: it may have started a load */
    }
    /* §18: tenant windows feed their queues before the queues take a turn. One clock reading serves
     * the pumps (a window's POLL_US) and the DMA pass below: the first pump that forwards work reads
     * it, after forwarding (so a descriptor's SLICE_BUSY_NS does not count the forwarding), else it is
     * read here */
    uint64_t now_ns = 0;
    for (unsigned i = 0; i < m->adapters_open; i++)
        if (!m->adapters[i].halted)
            ra_tenants_pump(&m->adapters[i], &now_ns);
    if (now_ns == 0)
        now_ns = ra_now_ns();
    /* DMA: one turn per queue with work (at most RA_MODEL_TURN_NS each), over adapters x queues from
     * where the last pass stopped. Admin commands go before data turns (§8.8): a command posted on any
     * adapter, or a pass that took RA_LOOP_DMA_PASS_NS, ends the pass after the turn at hand; the loop
     * then takes the command, the tick and the doorbells, and the next pass goes on with the next queue.
     * The clock is read once before the pumps; each turn that did work hands back its last reading
     * (ra_dma_turn): reading it for each of adapters x queues idle queues cost more than the rest of
     * the pass (this runs on every doorbell and every tick). */
    unsigned n = m->adapters_open, queues = m->cfg.queues, places = n * queues;
    uint64_t pass_until_ns = now_ns + RA_LOOP_DMA_PASS_NS;
    unsigned next = places ? (m->rr_next + queues) % places : 0; /* a whole pass: one adapter on */
    for (unsigned k = 0; k < places; k++) {
        unsigned at = (m->rr_next + k) % places, q = at % queues;
        struct ra_adapter *a = &m->adapters[at / queues];
        if (a->halted)
            continue;
        bool worked = false;
        if (ra_dma_runnable(a, q)) {
            /* AWAKE = 1 before the completion is posted: a driver that submits again as soon as it
             * sees it may then skip the doorbell */
            ra_dma_poll_update(a, q, true, now_ns);
            /* a turn takes up to RA_MODEL_TURN_NS: it hands back its last clock reading */
            worked = ra_dma_turn(a, q, RA_MODEL_CHUNK_BYTES, &now_ns);
        }
        if (worked || a->queues[q].spinning) /* else the update is a no-op */
            ra_dma_poll_update(a, q, worked, now_ns);
        if (worked && k + 1 < places && (now_ns >= pass_until_ns || ra_admin_waiting(m))) {
            next = (at + 1) % places;
            break;
        }
    }
    m->rr_next = next;
    /* what waited for descriptors in progress: a blocked command, a departed owner's host regions */
    for (unsigned i = 0; i < n; i++) {
        struct ra_adapter *a = &m->adapters[i];
        if (a->halted)
            continue;
        /* completions of this turn go back to their windows at once; now_ns is fresh from the turns */
        ra_tenants_pump(a, &now_ns);
        ra_tenants_show_heads(a); /* what the first pump took, unless a completion showed it already */
        ra_admin_continue(a);
        ra_hostmem_settle(a);
    }
}

/* Is there work a polled queue or window shows? One look: a few loads per open window and per
 * spinning queue, no system call. */
static bool polled_work(struct ra_model *m)
{
    for (unsigned i = 0; i < m->adapters_open; i++) {
        struct ra_adapter *a = &m->adapters[i];
        if (a->halted)
            continue;
        if (ra_tenants_pending(a))
            return true;
        for (unsigned q = 0; q < m->cfg.queues; q++)
            if (a->queues[q].spinning && ra_dma_runnable(a, q))
                return true;
    }
    return false;
}

/* When the first spinning queue or window stops spinning; UINT64_MAX when nothing spins. */
static uint64_t spin_until(struct ra_model *m)
{
    uint64_t until = UINT64_MAX;
    for (unsigned i = 0; i < m->adapters_open; i++) {
        struct ra_adapter *a = &m->adapters[i];
        if (a->halted)
            continue;
        uint64_t w = ra_tenants_poll_until(a);
        if (w < until)
            until = w;
        for (unsigned q = 0; q < m->cfg.queues; q++)
            if (a->queues[q].spinning && a->queues[q].poll_until_ns < until)
                until = a->queues[q].poll_until_ns;
    }
    return until;
}

/* Spin (§7, §18.5 adaptive polling) until a polled queue or window has work (true) or `until_ns`
 * passed (false). A look costs no system call and the clock is read once per
 * RA_LOOP_LOOKS_PER_CLOCK looks: what a submission waits for is one look, not a syscall. */
static bool spin(struct ra_model *m, uint64_t until_ns)
{
    RA_TRACE(RA_TRACE_SPINNING);
    for (unsigned looks = 1;; looks++) {
        RA_TRACE_LOOK();
        if (polled_work(m)) {
            RA_TRACE(RA_TRACE_FOUND);
            return true;
        }
        if (looks % RA_LOOP_LOOKS_PER_CLOCK == 0 && ra_now_ns() >= until_ns)
            return false;
        __builtin_ia32_pause();
    }
}

/* What the loop does next: RA_LOOP_SPIN when a queue or window is polled and nothing is at hand,
 * else the epoll timeout in ms: 0 when work is left, until the nearest deadline, or -1 (forever). */
static int next_timeout(struct ra_model *m, uint64_t now_ns, uint64_t *deadline_ns)
{
    bool spinning = false;
    uint64_t deadline = UINT64_MAX;
    for (unsigned i = 0; i < m->adapters_open; i++) {
        struct ra_adapter *a = &m->adapters[i];
        if (a->halted)
            continue;
        ra_tenants_poll_expire(a, now_ns); /* before the look below: see ra_tenants_poll_expire */
        if (a->admin_kicked || ra_tenants_pending(a)) {
            RA_TRACE(RA_TRACE_FOUND);
            return 0;
        }
        spinning = spinning || ra_tenants_poll_until(a) != UINT64_MAX;
        for (unsigned q = 0; q < m->cfg.queues; q++) {
            if (ra_dma_runnable(a, q))
                return 0;
            spinning = spinning || a->queues[q].spinning;
        }
        uint64_t d = ra_dma_next_deadline(a);
        if (d < deadline)
            deadline = d;
        d = ra_slots_next_deadline(a);
        if (d < deadline)
            deadline = d;
    }
    *deadline_ns = deadline;
    if (spinning)
        return RA_LOOP_SPIN;
    if (deadline == UINT64_MAX)
        return -1; /* the 5 ms heartbeat timer still wakes us */
    if (deadline <= now_ns)
        return 0;
    uint64_t ms = (deadline - now_ns + 999999) / 1000000;
    return ms > 1000 ? 1000 : (int)ms;
}

static uint64_t min_u64(uint64_t x, uint64_t y)
{
    return x < y ? x : y;
}

int ra_loop_run(struct ra_model *m)
{
    struct epoll_event events[64];
    uint64_t events_ns = 0; /* when epoll was last asked */
    for (;;) {
        uint64_t now_ns = ra_now_ns(), deadline_ns = UINT64_MAX;
        int timeout_ms = next_timeout(m, now_ns, &deadline_ns);
        uint64_t events_due_ns = events_ns + RA_LOOP_EVENTS_EVERY_NS;
        /* work at hand, or found by spinning: epoll only when it was last asked long enough ago, so
         * that a polled round trip costs no system call (the tick, sockets and doorbells still wait
         * at most RA_LOOP_EVENTS_EVERY_NS) */
        bool ask_epoll = now_ns >= events_due_ns;
        if (timeout_ms == RA_LOOP_SPIN) {
            ask_epoll = ask_epoll || !spin(m, min_u64(min_u64(spin_until(m), deadline_ns), events_due_ns));
            timeout_ms = 0;
        }
        if (ask_epoll || timeout_ms != 0) {
            int n = epoll_wait(m->epoll_fd, events, 64, timeout_ms);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                fprintf(stderr, RA_MODEL_NAME ": epoll_wait: %s\n", strerror(errno));
                return 1;
            }
            events_ns = ra_now_ns();
            for (int i = 0; i < n; i++)
                if (dispatch(m, events[i].data.ptr))
                    return 0;
        }
        service_adapters(m);
    }
}
