/*
 * ivshmem_server.c - the ivshmem-server protocol on DIR/ra<i>.sock (QEMU docs/specs/ivshmem-spec.rst),
 * so that QEMU's ivshmem-doorbell and the embedded driver reach an adapter the same way (§14).
 *
 * On connect the server sends little-endian int64 messages: the protocol version (0), the client's
 * own peer id, -1 carrying the shared memory fd (the BAR), then for every other peer one message per
 * vector carrying that peer's eventfd, then the client's own eventfds, one per vector. The model is
 * peer 0: its vectors are the adapter's doorbells (every client gets the same eventfds, the model
 * reads them); a client's vectors are its interrupts (the model writes to them).
 *
 * Clients are not told about each other: in this device a client only ever talks to the adapter
 * (peer 0), and handing one tenant another's interrupt eventfds would let it forge interrupts.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bar.h"
#include "model.h"

#define RA_IVSHMEM_PROTOCOL_VERSION 0

static int send_msg(int sock, int64_t value, int fd)
{
    int64_t le = (int64_t)htole64((uint64_t)value);
    struct iovec iov = {.iov_base = &le, .iov_len = sizeof le};
    union {
        struct cmsghdr hdr;
        char buf[CMSG_SPACE(sizeof(int))];
    } control;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (fd >= 0) {
        memset(&control, 0, sizeof control);
        msg.msg_control = control.buf;
        msg.msg_controllen = sizeof control.buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof fd);
    }
    ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL);
    return n == (ssize_t)sizeof le ? 0 : -1;
}

/* options.c checked that DIR/ra63.sock fits in sun_path */
static struct sockaddr_un socket_address(const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    size_t len = strnlen(path, sizeof addr.sun_path - 1);
    memcpy(addr.sun_path, path, len);
    return addr;
}

bool ra_server_probe_live(const char *sock_path)
{
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return false;
    struct sockaddr_un addr = socket_address(sock_path);
    bool live = connect(s, (struct sockaddr *)&addr, sizeof addr) == 0;
    close(s);
    return live;
}

int ra_server_listen(struct ra_adapter *a)
{
    a->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (a->listen_fd < 0) {
        fprintf(stderr, RA_MODEL_NAME ": socket: %s\n", strerror(errno));
        return -1;
    }
    struct sockaddr_un addr = socket_address(a->sock_path);
    unlink(a->sock_path); /* a stale socket of a dead model (ra_adapter_open checked nobody answers) */
    if (bind(a->listen_fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        fprintf(stderr, RA_MODEL_NAME ": cannot bind %s: %s\n", a->sock_path, strerror(errno));
        return -1;
    }
    a->sock_created = true;
    if (listen(a->listen_fd, 64) != 0) {
        fprintf(stderr, RA_MODEL_NAME ": cannot listen on %s: %s\n", a->sock_path, strerror(errno));
        return -1;
    }
    a->listen_watch = (struct ra_watch){.kind = RA_W_LISTEN, .adapter = a};
    return ra_loop_watch(a->model, a->listen_fd, &a->listen_watch);
}

static void peer_free(struct ra_peer *p)
{
    for (unsigned v = 0; v < RA_MODEL_VECTORS_MAX; v++)
        if (p->irq_fd[v] >= 0)
            close(p->irq_fd[v]);
    if (p->sock_fd >= 0)
        close(p->sock_fd);
    free(p);
}

static int peer_greet(struct ra_adapter *a, struct ra_peer *p, unsigned vectors)
{
    if (send_msg(p->sock_fd, RA_IVSHMEM_PROTOCOL_VERSION, -1) != 0 || send_msg(p->sock_fd, p->id, -1) != 0 ||
        send_msg(p->sock_fd, -1, a->bar_fd) != 0)
        return -1;
    for (unsigned v = 0; v < vectors; v++)
        if (send_msg(p->sock_fd, 0, a->doorbell_fd[v]) != 0)
            return -1;
    for (unsigned v = 0; v < vectors; v++)
        if (send_msg(p->sock_fd, p->id, p->irq_fd[v]) != 0)
            return -1;
    return 0;
}

/* §14.2: peer ids are >= 1, < 0xFFFF and unique among the connected clients. */
static int64_t allocate_peer_id(struct ra_adapter *a)
{
    for (;;) {
        int64_t id = a->next_peer_id;
        a->next_peer_id = id >= 0xFFFE ? 1 : id + 1;
        bool used = false;
        for (struct ra_peer *p = a->peers; p != NULL && !used; p = p->next)
            used = p->id == id;
        if (!used)
            return id;
    }
}

void ra_server_accept(struct ra_adapter *a)
{
    unsigned vectors = RA_VEC_QUEUE0 + a->model->cfg.queues;
    for (;;) {
        int s = accept4(a->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (s < 0)
            return; /* EAGAIN: nobody else waiting; anything else: the client went away */
        struct ra_peer *p = calloc(1, sizeof *p);
        if (p == NULL) {
            close(s);
            continue;
        }
        p->adapter = a;
        p->sock_fd = s;
        p->id = allocate_peer_id(a);
        for (unsigned v = 0; v < RA_MODEL_VECTORS_MAX; v++)
            p->irq_fd[v] = v < vectors ? eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC) : -1;
        bool ok = true;
        for (unsigned v = 0; v < vectors; v++)
            ok = ok && p->irq_fd[v] >= 0;
        p->watch = (struct ra_watch){.kind = RA_W_CLIENT, .adapter = a, .peer = p};
        if (!ok || peer_greet(a, p, vectors) != 0 || ra_loop_watch(a->model, s, &p->watch) != 0) {
            peer_free(p);
            continue;
        }
        p->next = a->peers;
        a->peers = p;
    }
}

/* §14.4: a peer that goes away gives back what it held: CMD_LOCK (after its running command), its
 * queues (after the descriptor in progress, §7) and its host regions (once unused, §11). Slices stay:
 * they belong to owner keys, not to connections. A halted adapter changes nothing. */
static void peer_disconnect(struct ra_peer *p)
{
    struct ra_adapter *a = p->adapter;
    uint32_t holder = (uint32_t)p->id + 1;
    ra_loop_unwatch(a->model, p->sock_fd);
    for (struct ra_peer **pp = &a->peers; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    }
    if (!a->halted) {
        ra_admin_peer_left(a, holder);
        for (unsigned q = 0; q < a->model->cfg.queues; q++)
            if (reg32(a, qcb(q, RA_QCB_OWNER)) == holder)
                ra_dma_queue_owner_left(a, q);
        ra_hostmem_owner_left(a, holder);
    }
    peer_free(p);
}

void ra_server_client_event(struct ra_peer *p)
{
    char buf[256];
    for (;;) {
        ssize_t n = recv(p->sock_fd, buf, sizeof buf, 0);
        if (n > 0)
            continue; /* the protocol has nothing for clients to say: ignore it */
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0 && errno == EINTR)
            continue;
        peer_disconnect(p);
        return;
    }
}

/* §14: interrupt the client whose peer id + 1 is `holder` on `vector`, if it is still connected. */
void ra_server_raise(struct ra_adapter *a, uint32_t holder, unsigned vector)
{
    if (holder == 0 || vector >= RA_MODEL_VECTORS_MAX)
        return;
    for (struct ra_peer *p = a->peers; p != NULL; p = p->next) {
        if ((uint32_t)p->id + 1 == holder) {
            uint64_t one = 1;
            if (p->irq_fd[vector] >= 0 && write(p->irq_fd[vector], &one, sizeof one) == (ssize_t)sizeof one)
                add32(a, RA_REG_INT_COUNT, 1);
            return;
        }
    }
}

void ra_server_close_all(struct ra_adapter *a)
{
    while (a->peers != NULL) {
        struct ra_peer *p = a->peers;
        a->peers = p->next;
        peer_free(p);
    }
    if (a->listen_fd >= 0) {
        close(a->listen_fd);
        a->listen_fd = -1;
    }
    if (a->sock_created) {
        unlink(a->sock_path);
        a->sock_created = false;
    }
}
