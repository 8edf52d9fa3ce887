/*
 * loop.c - the model's single thread: one epoll set, one 5 ms timerfd, no busy polling when idle.
 *
 * It wakes on listening sockets, client sockets, the doorbell eventfds (§14), the heartbeat timer
 * (§4) and SIGTERM/SIGINT (signalfd). Each iteration then:
 *   1. checks the fault register of every adapter (§6: HANG and EXIT act at once);
 *   2. services the admin mailbox where vector 0 rang or the tick came (§5);
 *   3. advances slot configuration (§9 LOADING) and DMA stalls by their deadlines;
 *   4. gives every queue with work one turn of at most RA_MODEL_CHUNK_BYTES, rotating the starting
 *      adapter, so a 64 MiB copy on one queue does not starve a 4 KiB one elsewhere (§8.8);
 *   5. applies a command that waited for descriptors in progress, if they are done (§5.4).
 * It sleeps in epoll_wait unless work is left, a deadline is near, or a queue asked for adaptive
 * polling (§7 QCB_POLL_US): then it spins on that queue's SQ_TAIL for the requested time.
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

#define RA_LOOP_SPIN_SLICE_NS 50000ull /* a spin checks epoll at least this often */

int ra_loop_watch(struct ra_model *m, int fd, struct ra_watch *w)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = w};
    if (w->kind == RA_W_CLIENT)
        ev.events |= EPOLLRDHUP;
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

static void drain_eventfd(int fd)
{
    uint64_t count;
    while (read(fd, &count, sizeof count) == (ssize_t)sizeof count) {
    }
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
        /* §18.5: the pump of this iteration looks at every window; only the FIFO needs emptying */
        ra_tenant_doorbell(&w->adapter->tenants[w->vector]);
        break;
    case RA_W_DOORBELL:
        drain_eventfd(w->adapter->doorbell_fd[w->vector]);
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
        if (a->admin_kicked) {
            a->admin_kicked = false;
            ra_admin_service(a);
        }
        ra_slots_tick(a); /* after the command: it may have started a load */
    }
    /* §18: tenant windows feed their queues before the queues take a turn */
    for (unsigned i = 0; i < m->adapters_open; i++)
        if (!m->adapters[i].halted)
            ra_tenants_pump(&m->adapters[i]);
    /* DMA: one turn per queue with work, starting at a rotating adapter. The clock is read once per
     * pass and again after each turn that did work: reading it for each of adapters x queues idle
     * queues cost more than the rest of the pass (this runs on every doorbell and every tick). */
    unsigned n = m->adapters_open;
    uint64_t now_ns = ra_now_ns();
    for (unsigned k = 0; k < n; k++) {
        struct ra_adapter *a = &m->adapters[(m->rr_next + k) % n];
        if (a->halted)
            continue;
        for (unsigned q = 0; q < m->cfg.queues; q++) {
            bool worked = false;
            if (ra_dma_runnable(a, q)) {
                /* AWAKE = 1 before the completion is posted: a driver that submits again as soon as
                 * it sees it may then skip the doorbell */
                ra_dma_poll_update(a, q, true, now_ns);
                worked = ra_dma_turn(a, q, RA_MODEL_CHUNK_BYTES);
                now_ns = ra_now_ns(); /* a turn moves up to RA_MODEL_CHUNK_BYTES: time passed */
            }
            if (worked || a->queues[q].spinning) /* else the update is a no-op */
                ra_dma_poll_update(a, q, worked, now_ns);
        }
    }
    m->rr_next = n ? (m->rr_next + 1) % n : 0;
    /* what waited for descriptors in progress: a blocked command, a departed owner's host regions */
    for (unsigned i = 0; i < n; i++) {
        struct ra_adapter *a = &m->adapters[i];
        if (a->halted)
            continue;
        ra_tenants_pump(a); /* completions of this turn go back to their windows at once */
        ra_admin_continue(a);
        ra_hostmem_settle(a);
    }
}

/* Spin (§7 adaptive polling) until a polled queue has a submission, or a slice of time passed. */
static void spin(struct ra_model *m)
{
    uint64_t until = ra_now_ns() + RA_LOOP_SPIN_SLICE_NS;
    for (;;) {
        for (unsigned i = 0; i < m->adapters_open; i++) {
            struct ra_adapter *a = &m->adapters[i];
            if (a->halted)
                continue;
            if (ra_tenants_pending(a))
                return;
            for (unsigned q = 0; q < m->cfg.queues; q++)
                if (a->queues[q].spinning && ra_dma_runnable(a, q))
                    return;
        }
        uint64_t now = ra_now_ns();
        if (now >= until)
            return;
        for (unsigned i = 0; i < m->adapters_open; i++)
            for (unsigned q = 0; q < m->cfg.queues; q++)
                if (m->adapters[i].queues[q].spinning && now >= m->adapters[i].queues[q].poll_until_ns)
                    return;
        __builtin_ia32_pause();
    }
}

/* epoll timeout in ms: 0 when work is left, else until the nearest deadline, else forever. */
static int next_timeout(struct ra_model *m)
{
    bool spinning = false;
    uint64_t deadline = UINT64_MAX;
    for (unsigned i = 0; i < m->adapters_open; i++) {
        struct ra_adapter *a = &m->adapters[i];
        if (a->halted)
            continue;
        if (a->admin_kicked || ra_tenants_pending(a))
            return 0;
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
    if (spinning) {
        spin(m);
        return 0;
    }
    if (deadline == UINT64_MAX)
        return -1; /* the 5 ms heartbeat timer still wakes us */
    uint64_t now = ra_now_ns();
    if (deadline <= now)
        return 0;
    uint64_t ms = (deadline - now + 999999) / 1000000;
    return ms > 1000 ? 1000 : (int)ms;
}

int ra_loop_run(struct ra_model *m)
{
    struct epoll_event events[64];
    for (;;) {
        int n = epoll_wait(m->epoll_fd, events, 64, next_timeout(m));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, RA_MODEL_NAME ": epoll_wait: %s\n", strerror(errno));
            return 1;
        }
        for (int i = 0; i < n; i++)
            if (dispatch(m, events[i].data.ptr))
                return 0;
        service_adapters(m);
    }
}
