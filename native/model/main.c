/*
 * main.c - ra-model: start N adapters, say "ready", run the loop, stop cleanly on SIGTERM/SIGINT.
 *
 * Startup order matters to clients: every register of an adapter is initialised and MAGIC is
 * published (§3) before its socket listens, and the "ready" line comes only when every socket
 * listens. On SIGTERM/SIGINT the model removes the files it created and exits 0; FAULT_EXIT (§6)
 * is the only path that leaves them behind (a surprise removal).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "model.h"

/* 64 adapters hold ~20 fds each, beyond the usual soft limit of 1024 */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int setup_events(struct ra_model *m)
{
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    m->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    m->signal_fd = signalfd(-1, &stop, SFD_NONBLOCK | SFD_CLOEXEC);
    m->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (m->epoll_fd < 0 || m->signal_fd < 0 || m->timer_fd < 0) {
        fprintf(stderr, RA_MODEL_NAME ": cannot create event fds: %s\n", strerror(errno));
        return -1;
    }
    struct itimerspec tick = {
        .it_interval = {.tv_sec = 0, .tv_nsec = RA_MODEL_TICK_NS},
        .it_value = {.tv_sec = 0, .tv_nsec = RA_MODEL_TICK_NS},
    };
    if (timerfd_settime(m->timer_fd, 0, &tick, NULL) != 0) {
        fprintf(stderr, RA_MODEL_NAME ": timerfd_settime: %s\n", strerror(errno));
        return -1;
    }
    m->timer_watch = (struct ra_watch){.kind = RA_W_TIMER};
    m->signal_watch = (struct ra_watch){.kind = RA_W_SIGNAL};
    if (ra_loop_watch(m, m->timer_fd, &m->timer_watch) != 0 || ra_loop_watch(m, m->signal_fd, &m->signal_watch) != 0)
        return -1;
    return 0;
}

static void shutdown_model(struct ra_model *m)
{
    for (unsigned i = 0; i < m->adapters_open; i++)
        ra_adapter_close(&m->adapters[i], true);
    ra_fabric_shutdown(m);
    free(m->adapters);
    if (m->timer_fd >= 0)
        close(m->timer_fd);
    if (m->signal_fd >= 0)
        close(m->signal_fd);
    if (m->epoll_fd >= 0)
        close(m->epoll_fd);
}

int main(int argc, char **argv)
{
    static struct ra_model model;
    struct ra_model *m = &model;
    m->epoll_fd = m->timer_fd = m->signal_fd = -1;
    ra_options_parse(argc, argv, &m->cfg);

    /* SIGTERM/SIGINT arrive through the signalfd, so block them before anything can send them */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigprocmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    const char *die = getenv("RA_MODEL_DIE_WITH_PARENT");
    if (die != NULL && strcmp(die, "1") == 0) {
        pid_t parent = getppid();
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            return 0; /* the parent died before the request took effect */
    }
    raise_fd_limit();
    ra_dma_install_guard();
    m->start_ns = ra_now_ns();

    int rc = 1;
    m->adapters = calloc(m->cfg.adapters, sizeof *m->adapters);
    if (m->adapters == NULL) {
        fprintf(stderr, RA_MODEL_NAME ": out of memory\n");
        return 1;
    }
    if (setup_events(m) != 0)
        goto out;
    for (unsigned i = 0; i < m->cfg.adapters; i++) {
        m->adapters_open = i + 1;
        if (ra_adapter_open(m, i) != 0)
            goto out;
    }
    for (unsigned i = 0; i < m->adapters_open; i++)
        ra_adapter_publish(&m->adapters[i]);
    for (unsigned i = 0; i < m->adapters_open; i++)
        if (ra_server_listen(&m->adapters[i]) != 0)
            goto out;
    printf(RA_MODEL_NAME ": ready adapters=%u dir=%s ports=", m->cfg.adapters, m->cfg.dir);
    for (unsigned i = 0; i < m->adapters_open; i++)
        printf("%s%u", i ? "," : "", m->adapters[i].port);
    printf("\n");
    fflush(stdout);
    rc = ra_loop_run(m);
out:
    shutdown_model(m);
    return rc;
}
