/*
 * ra-smoke.c - an end-to-end smoke client for ra-model (not linked into the model).
 *
 * It connects to two adapters with the ivshmem-server protocol, maps their BARs, and drives the
 * admin mailbox (§5) and DMA queues (§7, §8) by hand: slot loads and image refusals (§13), slices
 * (§10), a host region (§11), copies across the fabric, every engine (§12, checked against OpenSSL
 * and local reference code), descriptor refusals, faults (§6) and disconnect clean-up.
 *
 *   gcc -std=gnu11 -Wall -Wextra -O2 -D_GNU_SOURCE -Inative/include native/model/tools/ra-smoke.c \
 *       -lcrypto -o /tmp/ra-smoke
 *   mkdir -p /tmp/rs && ra-model --adapters 2 --dir /tmp/rs --memory 1G &   # wait for "ready"
 *   /tmp/ra-smoke /tmp/rs
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ra_regs.h"

#define MAX_VEC (1 + RA_QUEUE_MAX)
#define MIB (1ull << 20)

struct dev {
    int sock;
    int64_t id;
    uint8_t *bar;
    uint8_t *mem;       /* DIR/ra<i>.mem, mapped to check what DMA wrote */
    uint64_t mem_bytes;
    unsigned vectors;
    int doorbell[MAX_VEC];
    int irq[MAX_VEC];
};

static int checks, failures;

static void check(int ok, const char *fmt, ...)
{
    checks++;
    if (ok)
        return;
    failures++;
    va_list ap;
    va_start(ap, fmt);
    fputs("FAIL: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n", stderr);
    va_end(ap);
}

static void die(const char *what)
{
    fprintf(stderr, "ra-smoke: %s: %s\n", what, strerror(errno));
    exit(1);
}

static uint32_t rd32(struct dev *d, uint32_t off) { return __atomic_load_n((uint32_t *)(d->bar + off), __ATOMIC_ACQUIRE); }
static uint64_t rd64(struct dev *d, uint32_t off) { return __atomic_load_n((uint64_t *)(d->bar + off), __ATOMIC_ACQUIRE); }
static void wr32(struct dev *d, uint32_t off, uint32_t v) { __atomic_store_n((uint32_t *)(d->bar + off), v, __ATOMIC_RELEASE); }
static void wr64(struct dev *d, uint32_t off, uint64_t v) { __atomic_store_n((uint64_t *)(d->bar + off), v, __ATOMIC_RELEASE); }

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int64_t recv_msg(int sock, int *fd)
{
    int64_t v;
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } ctl;
    struct iovec iov = {.iov_base = &v, .iov_len = sizeof v};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
    if (recvmsg(sock, &msg, 0) != (ssize_t)sizeof v)
        die("recvmsg");
    *fd = -1;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (c != NULL && c->cmsg_type == SCM_RIGHTS)
        memcpy(fd, CMSG_DATA(c), sizeof *fd);
    return v;
}

static void dev_open(struct dev *d, const char *dir, unsigned index)
{
    char path[512];
    memset(d, 0, sizeof *d);
    snprintf(path, sizeof path, "%s/ra%u.sock", dir, index);
    d->sock = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    memcpy(a.sun_path, path, strnlen(path, sizeof a.sun_path - 1));
    if (connect(d->sock, (struct sockaddr *)&a, sizeof a) != 0)
        die(path);
    int fd;
    check(recv_msg(d->sock, &fd) == 0 && fd < 0, "protocol version 0 without fd");
    d->id = recv_msg(d->sock, &fd);
    check(d->id >= 1 && fd < 0, "peer id >= 1, got %lld", (long long)d->id);
    check(recv_msg(d->sock, &fd) == -1 && fd >= 0, "shm message");
    d->bar = mmap(NULL, RA_BAR_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (d->bar == MAP_FAILED)
        die("mmap bar");
    close(fd);
    d->vectors = 1 + rd32(d, RA_REG_CAP_QUEUES);
    for (unsigned v = 0; v < d->vectors; v++) {
        check(recv_msg(d->sock, &d->doorbell[v]) == 0 && d->doorbell[v] >= 0, "model vector %u", v);
    }
    for (unsigned v = 0; v < d->vectors; v++) {
        check(recv_msg(d->sock, &d->irq[v]) == d->id && d->irq[v] >= 0, "own vector %u", v);
        fcntl(d->irq[v], F_SETFL, O_NONBLOCK);
    }
    snprintf(path, sizeof path, "%s/ra%u.mem", dir, index);
    int mfd = open(path, O_RDWR);
    d->mem_bytes = rd64(d, RA_REG_CAP_MEM_BYTES);
    d->mem = mmap(NULL, d->mem_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
    if (mfd < 0 || d->mem == MAP_FAILED)
        die("mmap mem");
    close(mfd);
}

static void dev_close(struct dev *d)
{
    for (unsigned v = 0; v < d->vectors; v++) {
        close(d->doorbell[v]);
        close(d->irq[v]);
    }
    munmap(d->mem, d->mem_bytes);
    munmap(d->bar, RA_BAR_BYTES);
    close(d->sock);
}

static void ring(struct dev *d, unsigned v)
{
    uint64_t one = 1;
    if (write(d->doorbell[v], &one, sizeof one) != sizeof one)
        die("doorbell");
}

static int wait_irq(struct dev *d, unsigned v, int timeout_ms)
{
    struct pollfd p = {.fd = d->irq[v], .events = POLLIN};
    if (poll(&p, 1, timeout_ms) != 1)
        return 0;
    uint64_t n;
    return read(d->irq[v], &n, sizeof n) == sizeof n;
}

/* §5: post a command and wait for CMD_DONE_SEQ (and the vector 0 interrupt when locked). */
static uint32_t post(struct dev *d, uint32_t op, const uint64_t args[6], const void *data, uint32_t data_bytes)
{
    for (unsigned i = 0; i < 6; i++)
        wr64(d, RA_REG_CMD_ARG0 + 8 * i, args ? args[i] : 0);
    if (data)
        memcpy(d->bar + RA_REG_CMD_DATA, data, data_bytes);
    wr32(d, RA_REG_CMD_DATA_BYTES, data_bytes);
    wr32(d, RA_REG_CMD_OPCODE, op);
    uint32_t seq = rd32(d, RA_REG_CMD_SEQ) + 1;
    wr32(d, RA_REG_CMD_SEQ, seq);
    ring(d, RA_VEC_ADMIN);
    return seq;
}

static uint32_t wait_done(struct dev *d, uint32_t op, uint32_t seq, uint64_t *r0)
{
    uint64_t t0 = now_ms();
    while (rd32(d, RA_REG_CMD_DONE_SEQ) != seq) {
        if (now_ms() - t0 > 5000) {
            fprintf(stderr, "ra-smoke: command %u timed out\n", op);
            exit(1);
        }
        usleep(100);
    }
    if (rd32(d, RA_REG_CMD_LOCK) == (uint32_t)d->id + 1)
        check(wait_irq(d, RA_VEC_ADMIN, 1000), "admin interrupt for command %u", op);
    if (r0)
        *r0 = rd64(d, RA_REG_CMD_RESULT0);
    return rd32(d, RA_REG_CMD_STATUS);
}

static uint32_t cmd(struct dev *d, uint32_t op, const uint64_t args[6], const void *data, uint32_t data_bytes,
                    uint64_t *r0)
{
    return wait_done(d, op, post(d, op, args, data, data_bytes), r0);
}

static uint32_t cmd6(struct dev *d, uint32_t op, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
                     uint64_t a5)
{
    uint64_t args[6] = {a0, a1, a2, a3, a4, a5};
    return cmd(d, op, args, NULL, 0, NULL);
}

/* ---- images (§13) ------------------------------------------------------------------------------ */
static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void put64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }

static void sha256(const void *data, size_t n, uint8_t out[32])
{
    unsigned int len = 32;
    EVP_Digest(data, n, out, &len, EVP_sha256(), NULL);
}

static size_t build_image(uint8_t *img, uint32_t fn, uint32_t contexts, const uint8_t *payload, size_t payload_bytes,
                          const char *name)
{
    memset(img, 0, RA_IMG_HEADER_BYTES);
    put32(img + RA_IMG_MAGIC, RA_IMG_MAGIC_VALUE);
    img[RA_IMG_FORMAT] = RA_IMG_FORMAT_VERSION;
    img[RA_IMG_HEADER_SIZE] = RA_IMG_HEADER_BYTES;
    put32(img + RA_IMG_FUNCTION, fn);
    put32(img + RA_IMG_SPEC_MIN, 0x00010000);
    put32(img + RA_IMG_SPEC_MAX, 0x0001FFFF);
    put32(img + RA_IMG_CONTEXTS, contexts);
    put64(img + RA_IMG_PAYLOAD_BYTES, payload_bytes);
    memcpy(img + RA_IMG_HEADER_BYTES, payload, payload_bytes);
    sha256(payload, payload_bytes, img + RA_IMG_PAYLOAD_SHA256);
    put32(img + RA_IMG_VERSION, 7);
    strncpy((char *)img + RA_IMG_NAME, name, 24);
    return RA_IMG_HEADER_BYTES + payload_bytes;
}

static uint32_t load(struct dev *d, uint32_t slot, const uint8_t *img, size_t bytes, uint64_t flags)
{
    memcpy(d->bar + RA_BAR_STAGING, img, bytes);
    return cmd6(d, RA_CMD_SLOT_LOAD, slot, RA_LOAD_SRC_STAGING, bytes, flags, 0, 0);
}

static uint32_t slot_reg(uint32_t s, uint32_t f) { return RA_BAR_SLOTS + s * RA_SLOT_STRIDE + f; }
static uint32_t slice_reg(uint32_t s, uint32_t f) { return RA_BAR_SLICES + s * RA_SLICE_STRIDE + f; }
static uint32_t qcb(unsigned q, uint32_t f) { return RA_BAR_QUEUES + q * RA_QCB_STRIDE + f; }

/* ---- DMA (§7, §8) ------------------------------------------------------------------------------ */
struct desc {
    uint8_t op, flags;
    uint16_t ctx;
    uint32_t cookie;
    uint64_t key;
    uint32_t src, dst;
    uint64_t src_off, dst_off, len;
    uint8_t params[16];
};

struct cqe { uint32_t cookie, status, sq_index, out_bytes; };

static uint32_t loc_adapter(uint32_t port, uint32_t slice)
{
    return (RA_LOC_ADAPTER << RA_LOC_KIND_SHIFT) | (port << RA_LOC_PORT_SHIFT) | slice;
}

static uint32_t loc_host(uint32_t handle)
{
    return ((uint32_t)RA_LOC_HOST << RA_LOC_KIND_SHIFT) | (handle << RA_LOC_PORT_SHIFT);
}

static void write_desc(struct dev *d, unsigned q, uint32_t index, const struct desc *s)
{
    uint32_t depth = rd32(d, RA_REG_CAP_RING_DEPTH);
    uint8_t *p = d->bar + RA_BAR_RINGS + q * RA_RING_STRIDE + (index & (depth - 1)) * RA_DESC_BYTES;
    memset(p, 0, RA_DESC_BYTES);
    p[RA_DESC_OPCODE] = s->op;
    p[RA_DESC_FLAGS] = s->flags;
    p[RA_DESC_CTX_SLICE] = (uint8_t)s->ctx;
    p[RA_DESC_CTX_SLICE + 1] = (uint8_t)(s->ctx >> 8);
    put32(p + RA_DESC_COOKIE, s->cookie);
    put64(p + RA_DESC_OWNER_KEY, s->key);
    put32(p + RA_DESC_SRC_LOC, s->src);
    put32(p + RA_DESC_DST_LOC, s->dst);
    put64(p + RA_DESC_SRC_OFFSET, s->src_off);
    put64(p + RA_DESC_DST_OFFSET, s->dst_off);
    put64(p + RA_DESC_LENGTH, s->len);
    memcpy(p + RA_DESC_PARAMS, s->params, 16);
}

static struct cqe wait_cqe(struct dev *d, unsigned q)
{
    uint32_t head = rd32(d, qcb(q, RA_QCB_CQ_HEAD));
    uint64_t t0 = now_ms();
    while (rd32(d, qcb(q, RA_QCB_CQ_TAIL)) == head) {
        if (now_ms() - t0 > 10000) {
            fprintf(stderr, "ra-smoke: completion on queue %u timed out\n", q);
            exit(1);
        }
        if (rd32(d, qcb(q, RA_QCB_IRQ_ENABLE)))
            wait_irq(d, 1 + q, 10);
        else
            __builtin_ia32_pause(); /* polling mode: spin on CQ_TAIL */
    }
    uint32_t depth = rd32(d, RA_REG_CAP_RING_DEPTH);
    uint8_t *e = d->bar + RA_BAR_RINGS + q * RA_RING_STRIDE + RA_RING_CQ_OFFSET + (head & (depth - 1)) * RA_CQE_BYTES;
    struct cqe c;
    memcpy(&c, e, sizeof c);
    wr32(d, qcb(q, RA_QCB_CQ_HEAD), head + 1);
    return c;
}

/* submit n descriptors (a chain when the caller set CHAIN flags) and wait for one completion */
static struct cqe submit(struct dev *d, unsigned q, const struct desc *s, unsigned n)
{
    uint32_t tail = rd32(d, qcb(q, RA_QCB_SQ_TAIL));
    for (unsigned i = 0; i < n; i++)
        write_desc(d, q, tail + i, &s[i]);
    wr32(d, qcb(q, RA_QCB_SQ_TAIL), tail + n);
    ring(d, 1 + q);
    return wait_cqe(d, q);
}

static struct cqe submit1(struct dev *d, unsigned q, struct desc s)
{
    return submit(d, q, &s, 1);
}

/* submit without waiting; doorbell optional */
static void push(struct dev *d, unsigned q, struct desc s, int doorbell)
{
    uint32_t tail = rd32(d, qcb(q, RA_QCB_SQ_TAIL));
    write_desc(d, q, tail, &s);
    wr32(d, qcb(q, RA_QCB_SQ_TAIL), tail + 1);
    if (doorbell)
        ring(d, 1 + q);
}

/* wait up to 10 s for a condition (the model may run under valgrind) */
#define WAIT_FOR(cond)                                                                                  \
    do {                                                                                                \
        uint64_t t_end_ = now_ms() + 10000;                                                             \
        while (!(cond) && now_ms() < t_end_)                                                            \
            usleep(1000);                                                                               \
    } while (0)

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* ---- references ------------------------------------------------------------------------------ */
static uint32_t crc32c_ref(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    while (n--) {
        c ^= *p++;
        for (int b = 0; b < 8; b++)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    }
    return c ^ 0xFFFFFFFFu;
}

static void aes_gcm_ref(const uint8_t key[32], const uint8_t iv[12], const uint8_t *in, int n, uint8_t *out)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len;
    EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv);
    EVP_EncryptUpdate(c, out, &len, in, n);
    EVP_EncryptFinal_ex(c, out + len, &len);
    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + n);
    EVP_CIPHER_CTX_free(c);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: ra-smoke DIR   (a running ra-model --adapters 2 --dir DIR)\n");
        return 2;
    }
    const char *dir = argv[1];
    struct dev d0, d1;
    dev_open(&d0, dir, 0);
    dev_open(&d1, dir, 1);

    /* §3 identity */
    check(rd32(&d0, RA_REG_MAGIC) == 0x42464152, "MAGIC");
    check(rd32(&d0, RA_REG_SPEC_VERSION) == 0x00010000, "SPEC_VERSION");
    check(rd32(&d1, RA_REG_FABRIC_ID) == 1, "FABRIC_ID of ra1");
    check(rd32(&d0, RA_REG_FABRIC_PORTS) == 2, "FABRIC_PORTS");
    check(rd64(&d0, RA_REG_SERIAL) != rd64(&d1, RA_REG_SERIAL), "serials differ");
    check(rd32(&d0, RA_REG_STATUS) == RA_STATUS_READY, "STATUS READY");
    uint64_t hb = rd64(&d0, RA_REG_HEARTBEAT);
    usleep(30000);
    check(rd64(&d0, RA_REG_HEARTBEAT) > hb, "heartbeat moves");

    /* §5 mailbox */
    check(cmd6(&d0, RA_CMD_NOP, 0, 0, 0, 0, 0, 0) == RA_ERR_NOT_LOCKED, "NOP without the lock");
    uint32_t me0 = (uint32_t)d0.id + 1, me1 = (uint32_t)d1.id + 1;
    check(__sync_bool_compare_and_swap((uint32_t *)(d0.bar + RA_REG_CMD_LOCK), 0, me0), "lock ra0");
    check(__sync_bool_compare_and_swap((uint32_t *)(d1.bar + RA_REG_CMD_LOCK), 0, me1), "lock ra1");
    check(cmd6(&d0, RA_CMD_NOP, 0, 0, 0, 0, 0, 0) == RA_ERR_OK, "NOP");
    check(cmd6(&d0, 0x77, 0, 0, 0, 0, 0, 0) == RA_ERR_BAD_OPCODE, "unknown opcode");
    check(rd32(&d0, RA_REG_ERROR) == 0, "a failed command leaves REG_ERROR alone (§4, §5.2)");
    check(rd32(&d0, RA_REG_CAP_FUNCTIONS) == 0x1E, "CAP_FUNCTIONS");

    /* §9/§13 slots */
    static uint8_t img[RA_BAR_STAGING_BYTES], payload[65536];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(i * 31 + 7);
    size_t n = build_image(img, RA_FN_AES_256_GCM, 4, payload, sizeof payload, "aes-gcm-test");
    check(load(&d0, 0, img, n, 0) == RA_ERR_OK, "load aes into slot 0");
    check(rd32(&d0, slot_reg(0, RA_SLOT_STATE)) == RA_SLOT_S_READY, "slot 0 READY");
    check(rd32(&d0, slot_reg(0, RA_SLOT_FUNCTION)) == RA_FN_AES_256_GCM, "slot 0 function");
    check(rd32(&d0, slot_reg(0, RA_SLOT_CONTEXTS)) == 4, "slot 0 contexts");
    check(rd32(&d0, slot_reg(0, RA_SLOT_LOADS)) == 1, "slot 0 loads");
    check(rd32(&d0, slot_reg(0, RA_SLOT_LOAD_PERMILLE)) == 1000, "slot 0 permille");
    check(memcmp(d0.bar + slot_reg(0, RA_SLOT_IMAGE_HASH), img + RA_IMG_PAYLOAD_SHA256, 32) == 0, "slot 0 hash");
    check(strcmp((char *)d0.bar + slot_reg(0, RA_SLOT_IMAGE_NAME), "aes-gcm-test") == 0, "slot 0 name");

    uint8_t before[RA_SLOT_STRIDE], before1[RA_SLOT_STRIDE];
    memcpy(before, d0.bar + slot_reg(0, 0), RA_SLOT_STRIDE);
    memcpy(before1, d0.bar + slot_reg(1, 0), RA_SLOT_STRIDE);
    static uint8_t bad[RA_BAR_STAGING_BYTES];
    memcpy(bad, img, n);
    bad[RA_IMG_HEADER_BYTES + 5] ^= 1;
    check(load(&d0, 0, bad, n, 0) == RA_ERR_IMG_HASH, "bad hash refused");
    check(load(&d0, 1, bad, n, 0) == RA_ERR_IMG_HASH, "bad hash refused on an empty slot");
    memcpy(bad, img, n);
    bad[0] ^= 1;
    check(load(&d0, 0, bad, n, 0) == RA_ERR_IMG_MAGIC, "bad magic refused");
    check(load(&d0, 0, img, n - 1, 0) == RA_ERR_IMG_SIZE, "truncated image refused");
    check(load(&d0, 0, img, 100, 0) == RA_ERR_IMG_SIZE, "image shorter than its header refused");
    check(load(&d0, 7, img, n, 2) == RA_ERR_BAD_ARGUMENT, "unknown load flag");
    memcpy(bad, img, n);
    put32(bad + RA_IMG_SPEC_MIN, 0x00020000);
    put32(bad + RA_IMG_SPEC_MAX, 0x00020000);
    check(load(&d0, 0, bad, n, 0) == RA_ERR_IMG_SPEC, "spec 2.0 image refused");
    memcpy(bad, img, n);
    put32(bad + RA_IMG_FUNCTION, RA_FN_MATMUL_F32);
    check(load(&d0, 0, bad, n, 0) == RA_ERR_IMG_FUNCTION, "matmul image refused");
    memcpy(bad, img, n);
    put32(bad + RA_IMG_CONTEXTS, 999);
    check(load(&d0, 0, bad, n, 0) == RA_ERR_IMG_FUNCTION, "too many contexts refused");
    memcpy(bad, img, n);
    bad[RA_IMG_RESERVED + 3] = 1;
    check(load(&d0, 0, bad, n, 0) == RA_ERR_IMG_MAGIC, "reserved bytes refused");
    check(load(&d0, 9, img, n, 0) == RA_ERR_BAD_ARGUMENT, "slot out of range");
    check(memcmp(before, d0.bar + slot_reg(0, 0), RA_SLOT_STRIDE) == 0, "refused loads left slot 0 byte-identical");
    check(memcmp(before1, d0.bar + slot_reg(1, 0), RA_SLOT_STRIDE) == 0, "refused loads left slot 1 byte-identical");

    n = build_image(img, RA_FN_SHA256, 2, payload, 1000, "sha");
    check(load(&d0, 1, img, n, 0) == RA_ERR_OK, "load sha into slot 1");
    n = build_image(img, RA_FN_CRC32C, 2, payload, 1000, "crc");
    check(load(&d0, 2, img, n, 0) == RA_ERR_OK, "load crc into slot 2");
    uint8_t pl[8 + 4 * 8] = {0};
    put32(pl, 0x4C504152);
    put32(pl + 4, 4);
    uint32_t stages[4][2] = {{1, 0x5A}, {2, 3}, {3, 0}, {6, 3}};
    for (int i = 0; i < 4; i++) {
        put32(pl + 8 + 8 * i, stages[i][0]);
        put32(pl + 12 + 8 * i, stages[i][1]);
    }
    n = build_image(img, RA_FN_PIPELINE, 1, pl, sizeof pl, "pipe");
    check(load(&d0, 3, img, n, 0) == RA_ERR_OK, "load pipeline into slot 3");
    pl[8] = 9; /* unknown stage op */
    n = build_image(bad, RA_FN_PIPELINE, 1, pl, sizeof pl, "pipe-bad");
    check(load(&d0, 3, bad, n, 0) == RA_ERR_JOB_PARAMS, "pipeline with a bad stage refused");
    pl[8] = 1;
    /* a 16 MiB image from a memory slice takes ~17 ms at 1 GB/s: LOADING must be visible */

    /* §10 slices */
    const uint64_t K = 0x1111, K2 = 0x2222;
    check(cmd6(&d0, RA_CMD_SLICE_RESERVE, 0, RA_SLICE_K_MEMORY, K, 0, 4 * MIB, 0) == RA_ERR_OK, "reserve mem slice 0");
    check(cmd6(&d0, RA_CMD_SLICE_RESERVE, 1, RA_SLICE_K_MEMORY, K, 2 * MIB, 4 * MIB, 0) == RA_ERR_OVERLAP, "overlap");
    check(cmd6(&d0, RA_CMD_SLICE_RESERVE, 1, RA_SLICE_K_MEMORY, K, 5 * MIB, 4 * MIB, 0) == RA_ERR_ALIGN, "align");
    check(cmd6(&d0, RA_CMD_SLICE_RESERVE, 1, RA_SLICE_K_MEMORY, K, 0, d0.mem_bytes + 2 * MIB, 0) ==
              RA_ERR_NO_RESOURCE, "too large");
    check(cmd6(&d0, RA_CMD_SLICE_RESERVE, 0, RA_SLICE_K_MEMORY, K, 64 * MIB, 4 * MIB, 0) == RA_ERR_SLICE_STATE,
          "entry in use");
    check(cmd6(&d0, RA_CMD_SLICE_RESERVE, 1, RA_SLICE_K_MEMORY, K2, 4 * MIB, 4 * MIB, 0) == RA_ERR_OK, "slice 1 (K2)");
    check(cmd6(&d0, RA_CMD_SLICE_ACTIVATE, 0, 0, K2, 0, 0, 0) == RA_ERR_OWNER_KEY, "activate with a wrong key");
    check(cmd6(&d0, RA_CMD_SLICE_ACTIVATE, 0, 0, K, 0, 0, 0) == RA_ERR_OK, "activate 0");
    check(cmd6(&d0, RA_CMD_SLICE_ACTIVATE, 0, 0, K, 0, 0, 0) == RA_ERR_SLICE_STATE, "activate twice");
    check(cmd6(&d0, RA_CMD_SLICE_ACTIVATE, 1, 0, K2, 0, 0, 0) == RA_ERR_OK, "activate 1");
    check(cmd6(&d1, RA_CMD_SLICE_RESERVE, 0, RA_SLICE_K_MEMORY, K, 0, 4 * MIB, 0) == RA_ERR_OK, "ra1 slice 0");
    check(cmd6(&d1, RA_CMD_SLICE_ACTIVATE, 0, 0, K, 0, 0, 0) == RA_ERR_OK, "ra1 activate 0");
    check(cmd6(&d0, RA_CMD_SLICE_RESERVE, 5, RA_SLICE_K_MEMORY, K, 64 * MIB, 32 * MIB, 0) == RA_ERR_OK, "slice 5");
    check(cmd6(&d0, RA_CMD_SLICE_RESERVE, 6, RA_SLICE_K_MEMORY, K, 96 * MIB, 32 * MIB, 0) == RA_ERR_OK, "slice 6");
    check(cmd6(&d0, RA_CMD_SLICE_ACTIVATE, 5, 0, K, 0, 0, 0) == RA_ERR_OK, "activate 5");
    check(cmd6(&d0, RA_CMD_SLICE_ACTIVATE, 6, 0, K, 0, 0, 0) == RA_ERR_OK, "activate 6");
    /* contexts and compute */
    check(cmd6(&d0, RA_CMD_SLICE_RESERVE, 10, RA_SLICE_K_CONTEXT, K, (0 << 16) | 0, 1, 0) == RA_ERR_OK, "ctx 10");
    check(cmd6(&d0, RA_CMD_SLICE_RESERVE, 9, RA_SLICE_K_CONTEXT, K, (0 << 16) | 0, 2, 0) == RA_ERR_OVERLAP, "ctx overlap");
    check(cmd6(&d0, RA_CMD_SLICE_RESERVE, 9, RA_SLICE_K_CONTEXT, K, (0 << 16) | 2, 3, 0) == RA_ERR_NO_RESOURCE,
          "ctx beyond the engine");
    check(rd32(&d0, slot_reg(0, RA_SLOT_STATE)) == RA_SLOT_S_BUSY, "slot 0 BUSY");
    check(rd32(&d0, slot_reg(0, RA_SLOT_CONTEXTS_USED)) == 1, "slot 0 contexts used");
    uint8_t key[32];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(0xA0 + i);
    uint64_t args[6] = {10, 0, K, 0, 0, 0};
    check(cmd(&d0, RA_CMD_SLICE_SET_KEY, args, key, 31, NULL) == RA_ERR_BAD_ARGUMENT, "key of 31 bytes");
    check(cmd(&d0, RA_CMD_SLICE_SET_KEY, args, key, 32, NULL) == RA_ERR_OK, "set key");
    check(memcmp(d0.bar + RA_REG_CMD_DATA, key, 32) != 0 && rd32(&d0, RA_REG_CMD_DATA_BYTES) == 0,
          "key wiped from CMD_DATA");
    check(cmd6(&d0, RA_CMD_SLICE_ACTIVATE, 10, 0, K, 0, 0, 0) == RA_ERR_OK, "activate ctx 10");
    check(cmd6(&d0, RA_CMD_SLICE_RESERVE, 11, RA_SLICE_K_CONTEXT, K, (1 << 16), 1, 0) == RA_ERR_OK, "ctx 11 sha");
    check(cmd6(&d0, RA_CMD_SLICE_RESERVE, 12, RA_SLICE_K_CONTEXT, K, (2 << 16), 1, 0) == RA_ERR_OK, "ctx 12 crc");
    check(cmd6(&d0, RA_CMD_SLICE_RESERVE, 13, RA_SLICE_K_CONTEXT, K, (3 << 16), 1, 0) == RA_ERR_OK, "ctx 13 pipe");
    check(cmd6(&d0, RA_CMD_SLICE_RESERVE, 20, RA_SLICE_K_COMPUTE, K, 0, 2, 0) == RA_ERR_OK, "compute 20");
    check(cmd6(&d0, RA_CMD_SLICE_RESERVE, 21, RA_SLICE_K_COMPUTE, K, 1, 2, 0) == RA_ERR_OVERLAP, "compute overlap");
    for (unsigned s = 11; s <= 13; s++)
        check(cmd6(&d0, RA_CMD_SLICE_ACTIVATE, s, 0, K, 0, 0, 0) == RA_ERR_OK, "activate ctx %u", s);
    check(cmd6(&d0, RA_CMD_SLICE_ACTIVATE, 20, 0, K, 0, 0, 0) == RA_ERR_OK, "activate compute 20");
    check(cmd6(&d0, RA_CMD_SLOT_UNLOAD, 0, 0, 0, 0, 0, 0) == RA_ERR_SLOT_BUSY, "unload busy slot");
    check(load(&d0, 0, img, n, 0) == RA_ERR_SLOT_BUSY, "load busy slot");

    /* §11 host region */
    char hpath[512];
    snprintf(hpath, sizeof hpath, "%s/smoke-host", dir);
    int hfd = open(hpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (hfd < 0 || ftruncate(hfd, 4 * MIB) != 0)
        die("host file");
    uint8_t *host = mmap(NULL, 4 * MIB, PROT_READ | PROT_WRITE, MAP_SHARED, hfd, 0);
    for (size_t i = 0; i < 4 * MIB; i++)
        host[i] = (uint8_t)(i * 7 + (i >> 12));
    uint64_t hargs[6] = {0, 4 * MIB, 0, 0, 0, 0};
    check(cmd(&d0, RA_CMD_HOSTMEM_REGISTER, hargs, "smoke-host", 11, NULL) == RA_ERR_OK, "register host region");
    check(cmd(&d0, RA_CMD_HOSTMEM_REGISTER, hargs, "smoke-host", 11, NULL) == RA_ERR_HOSTMEM, "handle in use");
    hargs[0] = 1;
    check(cmd(&d0, RA_CMD_HOSTMEM_REGISTER, hargs, "../etc/passwd", 14, NULL) == RA_ERR_HOSTMEM, "path refused");
    check(cmd(&d0, RA_CMD_HOSTMEM_REGISTER, hargs, ".hidden", 8, NULL) == RA_ERR_HOSTMEM, "hidden name refused");
    check(cmd(&d0, RA_CMD_HOSTMEM_REGISTER, hargs, "ra0.mem", 8, NULL) == RA_ERR_HOSTMEM, "adapter memory refused");
    hargs[1] = 8 * MIB;
    check(cmd(&d0, RA_CMD_HOSTMEM_REGISTER, hargs, "smoke-host", 11, NULL) == RA_ERR_HOSTMEM, "region > file");
    check(rd32(&d0, RA_BAR_HOSTMEM + RA_HOSTMEM_STATE) == 1, "hostmem entry");

    /* §7 queue 0 of ra0 */
    const unsigned q = 0;
    check(__sync_bool_compare_and_swap((uint32_t *)(d0.bar + qcb(q, RA_QCB_OWNER)), 0, me0), "own queue 0");
    wr32(&d0, qcb(q, RA_QCB_IRQ_ENABLE), 1);
    struct cqe c;
    /* host -> ra0 slice 0 -> ra1 slice 0 (fabric) -> host */
    c = submit1(&d0, q, (struct desc){.op = RA_OP_COPY, .cookie = 1, .key = K, .src = loc_host(0),
                                      .dst = loc_adapter(0, 0), .src_off = 0, .dst_off = 4096, .len = 65536});
    check(c.status == RA_ERR_OK && c.cookie == 1 && c.out_bytes == 65536, "copy host->ra0 (%u)", c.status);
    check(memcmp(d0.mem + 4096, host, 65536) == 0, "ra0 memory holds the data");
    c = submit1(&d0, q, (struct desc){.op = RA_OP_COPY, .cookie = 2, .key = K, .src = loc_adapter(0, 0),
                                      .dst = loc_adapter(1, 0), .src_off = 4096, .dst_off = 0, .len = 65536});
    check(c.status == RA_ERR_OK, "copy ra0->ra1 over the fabric (%u)", c.status);
    check(memcmp(d1.mem, host, 65536) == 0, "ra1 memory holds the data");
    c = submit1(&d0, q, (struct desc){.op = RA_OP_COPY, .cookie = 3, .key = K, .src = loc_adapter(1, 0),
                                      .dst = loc_host(0), .src_off = 0, .dst_off = 1 * MIB, .len = 65536});
    check(c.status == RA_ERR_OK && memcmp(host + MIB, host, 65536) == 0, "copy ra1->host");
    /* refusals: nothing written */
    memset(d0.mem + 2 * MIB, 0xEE, 16);
    c = submit1(&d0, q, (struct desc){.op = RA_OP_COPY, .cookie = 4, .key = K, .src = loc_host(0),
                                      .dst = loc_adapter(0, 0), .dst_off = 4 * MIB - 10, .len = 11});
    check(c.status == RA_ERR_BOUNDS && c.cookie == 4, "bounds (%u)", c.status);
    c = submit1(&d0, q, (struct desc){.op = RA_OP_COPY, .key = K, .src = loc_host(0), .dst = loc_adapter(0, 0),
                                      .dst_off = UINT64_MAX - 5, .len = 11});
    check(c.status == RA_ERR_BOUNDS, "bounds with overflow (%u)", c.status);
    c = submit1(&d0, q, (struct desc){.op = RA_OP_COPY, .key = K2, .src = loc_host(0), .dst = loc_adapter(0, 0), .len = 8});
    check(c.status == RA_ERR_OWNER_KEY, "owner key (%u)", c.status);
    c = submit1(&d0, q, (struct desc){.op = RA_OP_COPY, .key = K, .src = loc_host(0), .dst = loc_adapter(5, 0), .len = 8});
    check(c.status == RA_ERR_FABRIC, "fabric port (%u)", c.status);
    c = submit1(&d0, q, (struct desc){.op = RA_OP_COPY, .key = K, .src = loc_host(3), .dst = loc_adapter(0, 0), .len = 8});
    check(c.status == RA_ERR_HOSTMEM, "unregistered host region (%u)", c.status);
    c = submit1(&d0, q, (struct desc){.op = RA_OP_COPY, .key = K, .src = loc_host(0), .dst = loc_adapter(0, 9), .len = 8});
    check(c.status == RA_ERR_SLICE_STATE, "free slice (%u)", c.status);
    c = submit1(&d0, q, (struct desc){.op = 9, .key = K, .src = loc_host(0), .dst = loc_adapter(0, 0), .len = 8});
    check(c.status == RA_ERR_BAD_OPCODE, "bad opcode (%u)", c.status);
    c = submit1(&d0, q, (struct desc){.op = RA_OP_COPY, .key = K, .src = loc_host(0), .dst = loc_adapter(0, 0), .len = 0});
    check(c.status == RA_ERR_BAD_ARGUMENT, "length 0 (%u)", c.status);
    /* chain: second descriptor bad -> the first writes nothing, one completion */
    struct desc chain[3] = {
        {.op = RA_OP_FILL, .flags = RA_DESC_F_CHAIN, .cookie = 10, .key = K, .dst = loc_adapter(0, 0),
         .dst_off = 2 * MIB, .len = 16, .params = {0x11}},
        {.op = RA_OP_COPY, .flags = 0, .cookie = 11, .key = K2, .src = loc_host(0), .dst = loc_adapter(0, 0),
         .dst_off = 2 * MIB, .len = 16},
    };
    uint32_t cq_before = rd32(&d0, qcb(q, RA_QCB_CQ_TAIL));
    c = submit(&d0, q, chain, 2);
    check(c.status == RA_ERR_OWNER_KEY && c.cookie == 11, "chain refused as a whole (%u, cookie %u)", c.status, c.cookie);
    check(d0.mem[2 * MIB] == 0xEE, "refused chain wrote nothing");
    check(rd32(&d0, qcb(q, RA_QCB_CQ_TAIL)) == cq_before + 1, "one completion per chain");
    /* good chain: fill then copy */
    chain[1] = (struct desc){.op = RA_OP_COPY, .flags = RA_DESC_F_CHAIN, .cookie = 12, .key = K,
                             .src = loc_adapter(0, 0), .dst = loc_adapter(0, 0), .src_off = 2 * MIB,
                             .dst_off = 3 * MIB, .len = 16};
    chain[2] = (struct desc){.op = RA_OP_FILL, .cookie = 13, .key = K, .dst = loc_adapter(0, 0),
                             .dst_off = 3 * MIB + 16, .len = 4, .params = {0x22}};
    c = submit(&d0, q, chain, 3);
    check(c.status == RA_ERR_OK && c.cookie == 13 && d0.mem[3 * MIB] == 0x11 && d0.mem[3 * MIB + 15] == 0x11 &&
              d0.mem[3 * MIB + 16] == 0x22 && d0.mem[3 * MIB + 20] == 0,
          "chain fill+copy+fill (%u)", c.status);
    /* overlapping copy inside one slice (memmove semantics, across chunks) */
    c = submit1(&d0, q, (struct desc){.op = RA_OP_COPY, .key = K, .src = loc_host(0), .dst = loc_adapter(0, 5),
                                      .dst_off = 0, .len = 3 * MIB});
    uint8_t *s5 = d0.mem + 64 * MIB;
    c = submit1(&d0, q, (struct desc){.op = RA_OP_COPY, .key = K, .src = loc_adapter(0, 5), .dst = loc_adapter(0, 5),
                                      .src_off = 0, .dst_off = 1 * MIB + 3, .len = 3 * MIB});
    check(c.status == RA_ERR_OK && memcmp(s5 + MIB + 3, host, 3 * MIB) == 0, "overlapping copy (memmove)");
    /* 32 MiB copy (chunked) */
    c = submit1(&d0, q, (struct desc){.op = RA_OP_FILL, .key = K, .dst = loc_adapter(0, 5), .len = 32 * MIB,
                                      .params = {0x5C}});
    uint64_t t0 = now_ms();
    c = submit1(&d0, q, (struct desc){.op = RA_OP_COPY, .key = K, .src = loc_adapter(0, 5), .dst = loc_adapter(0, 6),
                                      .len = 32 * MIB});
    uint64_t t1 = now_ms();
    uint8_t *s6 = d0.mem + 96 * MIB;
    check(c.status == RA_ERR_OK && s6[0] == 0x5C && s6[32 * MIB - 1] == 0x5C, "32 MiB copy");
    printf("ra-smoke: 32 MiB copy took %llu ms\n", (unsigned long long)(t1 - t0));

    /* §12 engines */
    uint8_t iv[12];
    for (int i = 0; i < 12; i++)
        iv[i] = (uint8_t)(i + 1);
    struct desc job = {.op = RA_OP_JOB, .cookie = 20, .ctx = 10, .key = K, .src = loc_host(0), .dst = loc_host(0),
                       .src_off = 0, .dst_off = 2 * MIB, .len = 1000};
    memcpy(job.params, iv, 12);
    c = submit1(&d0, q, job);
    uint8_t ref[4096];
    aes_gcm_ref(key, iv, host, 1000, ref);
    check(c.status == RA_ERR_OK && c.out_bytes == 1016 && memcmp(host + 2 * MIB, ref, 1016) == 0,
          "aes-256-gcm matches OpenSSL (%u, %u bytes)", c.status, c.out_bytes);
    job.dst_off = 4 * MIB - 1015;
    c = submit1(&d0, q, job);
    check(c.status == RA_ERR_BOUNDS, "aes output does not fit (%u)", c.status);
    job.dst_off = 2 * MIB;
    job.key = K2;
    c = submit1(&d0, q, job);
    check(c.status == RA_ERR_OWNER_KEY, "job with another tenant's key (%u)", c.status);
    job.key = K;
    job.ctx = 11; /* sha */
    c = submit1(&d0, q, job);
    sha256(host, 1000, ref);
    check(c.status == RA_ERR_OK && c.out_bytes == 32 && memcmp(host + 2 * MIB, ref, 32) == 0, "sha256 (%u)", c.status);
    job.ctx = 12; /* crc */
    memcpy(host + 3 * MIB, "123456789", 9);
    job.src_off = 3 * MIB;
    job.len = 9;
    c = submit1(&d0, q, job);
    uint32_t crc = (uint32_t)host[2 * MIB] | (uint32_t)host[2 * MIB + 1] << 8 | (uint32_t)host[2 * MIB + 2] << 16 |
                   (uint32_t)host[2 * MIB + 3] << 24;
    check(c.status == RA_ERR_OK && crc == 0xE3069283u, "crc32c check value (%08x)", crc);
    job.src_off = 0;
    job.len = 100003;
    c = submit1(&d0, q, job);
    crc = (uint32_t)host[2 * MIB] | (uint32_t)host[2 * MIB + 1] << 8 | (uint32_t)host[2 * MIB + 2] << 16 |
          (uint32_t)host[2 * MIB + 3] << 24;
    check(c.status == RA_ERR_OK && crc == crc32c_ref(host, 100003), "crc32c long");
    job.ctx = 13; /* pipeline: xor 0x5A, add 3, reverse, rotl 3 */
    job.len = 777;
    c = submit1(&d0, q, job);
    for (int i = 0; i < 777; i++)
        ref[i] = (uint8_t)((host[i] ^ 0x5A) + 3);
    for (int i = 0; i < 777 / 2; i++) {
        uint8_t t = ref[i];
        ref[i] = ref[776 - i];
        ref[776 - i] = t;
    }
    for (int i = 0; i < 777; i++)
        ref[i] = (uint8_t)((ref[i] << 3) | (ref[i] >> 5));
    check(c.status == RA_ERR_OK && c.out_bytes == 777 && memcmp(host + 2 * MIB, ref, 777) == 0, "pipeline (%u)", c.status);
    /* matmul on the compute slice */
    const uint32_t M = 3, N = 4, KK = 5;
    float A[15], B[20], C[12];
    for (unsigned i = 0; i < 15; i++)
        A[i] = (float)i * 0.37f - 1.1f;
    for (unsigned i = 0; i < 20; i++)
        B[i] = (float)i * -0.21f + 0.5f;
    memcpy(host + 3 * MIB, A, sizeof A);
    memcpy(host + 3 * MIB + sizeof A, B, sizeof B);
    for (unsigned i = 0; i < M; i++)
        for (unsigned j = 0; j < N; j++) {
            float s = 0.0f;
            for (unsigned p = 0; p < KK; p++) {
                volatile float prod = A[i * KK + p] * B[p * N + j];
                s = s + prod;
            }
            C[i * N + j] = s;
        }
    struct desc mm = {.op = RA_OP_JOB, .ctx = 20, .key = K, .src = loc_host(0), .dst = loc_host(0),
                      .src_off = 3 * MIB, .dst_off = 2 * MIB, .len = sizeof A + sizeof B};
    put32(mm.params, M);
    put32(mm.params + 4, N);
    put32(mm.params + 8, KK);
    c = submit1(&d0, q, mm);
    check(c.status == RA_ERR_OK && c.out_bytes == sizeof C && memcmp(host + 2 * MIB, C, sizeof C) == 0,
          "matmul (%u)", c.status);
    mm.len -= 4;
    c = submit1(&d0, q, mm);
    check(c.status == RA_ERR_JOB_PARAMS, "matmul with a wrong length (%u)", c.status);
    mm.len += 4;
    mm.ctx = 0; /* a memory slice runs nothing */
    c = submit1(&d0, q, mm);
    check(c.status == RA_ERR_FUNCTION, "job on a memory slice (%u)", c.status);
    check(rd64(&d0, slice_reg(20, RA_SLICE_JOBS)) == 1 && rd64(&d0, slice_reg(20, RA_SLICE_BYTES_MOVED)) == 140 &&
              rd64(&d0, slice_reg(20, RA_SLICE_LAST_ACTIVE_NS)) > 0,
          "compute slice counters");
    check(rd64(&d1, slice_reg(0, RA_SLICE_JOBS)) == 2, "ra1 slice counted two fabric copies");
    check(rd64(&d0, qcb(q, RA_QCB_ERRORS)) > 0 && rd64(&d0, qcb(q, RA_QCB_COMPLETED)) > 20, "queue counters");

    /* §6 faults */
    struct desc small = {.op = RA_OP_FILL, .cookie = 30, .key = K, .dst = loc_adapter(0, 0), .len = 4, .params = {1}};
    wr32(&d0, RA_REG_DEBUG_FAULT, RA_FAULT_FAIL_NEXT_DMA);
    c = submit1(&d0, q, small);
    check(c.status == RA_ERR_FAULT_INJECTED && rd32(&d0, RA_REG_DEBUG_FAULT) == 0 &&
              rd32(&d0, RA_REG_DEBUG_FAULTS_HIT) == 1, "FAIL_NEXT_DMA (%u)", c.status);
    c = submit1(&d0, q, small);
    check(c.status == RA_ERR_OK, "next descriptor fine again");
    wr32(&d0, RA_REG_DEBUG_FAULT_ARG, 60);
    wr32(&d0, RA_REG_DEBUG_FAULT, RA_FAULT_STALL_NEXT_DMA);
    t0 = now_ms();
    c = submit1(&d0, q, small);
    t1 = now_ms();
    check(c.status == RA_ERR_OK && t1 - t0 >= 55, "STALL_NEXT_DMA held %llu ms", (unsigned long long)(t1 - t0));
    n = build_image(img, RA_FN_SHA256, 1, payload, 8192, "sha2");
    wr32(&d1, RA_REG_DEBUG_FAULT, RA_FAULT_FAIL_NEXT_LOAD);
    check(load(&d1, 0, img, n, 0) == RA_ERR_LOAD_FAILED, "FAIL_NEXT_LOAD");
    check(rd32(&d1, slot_reg(0, RA_SLOT_STATE)) == RA_SLOT_S_ERROR &&
              rd32(&d1, slot_reg(0, RA_SLOT_LAST_ERROR)) == RA_ERR_LOAD_FAILED, "slot in ERROR");
    check(load(&d1, 0, img, n, 0) == RA_ERR_OK, "a slot in ERROR loads again");

    /* FORCE reload of a busy slot releases its contexts */
    n = build_image(img, RA_FN_CRC32C, 2, payload, 100, "crc2");
    check(load(&d0, 0, img, n, RA_LOAD_FLAG_FORCE) == RA_ERR_OK, "forced reload of a busy slot");
    check(rd32(&d0, slice_reg(10, RA_SLICE_STATE)) == RA_SLICE_S_FREE &&
              rd32(&d0, slot_reg(0, RA_SLOT_STATE)) == RA_SLOT_S_READY, "its context slice is gone");

    /* release scrubs; drain refuses new descriptors */
    check(cmd6(&d0, RA_CMD_SLICE_DRAIN, 0, 0, K, 0, 0, 0) == RA_ERR_OK, "drain");
    c = submit1(&d0, q, small);
    check(c.status == RA_ERR_SLICE_STATE, "draining slice refuses work (%u)", c.status);
    check(cmd6(&d0, RA_CMD_SLICE_RELEASE, 0, 0, K2, 0, 0, 0) == RA_ERR_OWNER_KEY, "release with a wrong key");
    check(cmd6(&d0, RA_CMD_SLICE_RELEASE, 0, 0, K, 0, 0, 0) == RA_ERR_OK, "release");
    int zero = 1;
    for (size_t i = 0; i < 4 * MIB; i += 4096)
        zero = zero && d0.mem[i + 7] == 0 && d0.mem[i + 4095] == 0;
    check(zero && d0.mem[3 * MIB] == 0, "released memory reads zeros");
    check(cmd6(&d0, RA_CMD_SLICE_RESIZE, 5, 0, K, 0, 8 * MIB, 0) == RA_ERR_OK, "shrink slice 5");
    check(s5[8 * MIB] == 0 && s5[8 * MIB - 1] == 0x5C, "the cut tail is scrubbed");
    check(cmd6(&d0, RA_CMD_SLICE_RESIZE, 5, 0, K, 0, 40 * MIB, 0) == RA_ERR_OVERLAP, "grow into slice 6");

    /* disconnect gives back the lock, the queue and the host region */
    dev_close(&d0);
    usleep(50000);
    dev_open(&d0, dir, 0);
    check(rd32(&d0, RA_REG_CMD_LOCK) == 0, "lock released on disconnect");
    check(rd32(&d0, qcb(q, RA_QCB_OWNER)) == 0, "queue released on disconnect");
    check(rd32(&d0, RA_BAR_HOSTMEM + RA_HOSTMEM_STATE) == 0, "host region released on disconnect");
    check(rd32(&d0, slice_reg(5, RA_SLICE_STATE)) == RA_SLICE_S_ACTIVE, "slices stay");

    /* ---- part 2 on the reconnected ra0 ---- */
    me0 = (uint32_t)d0.id + 1;
    check(__sync_bool_compare_and_swap((uint32_t *)(d0.bar + RA_REG_CMD_LOCK), 0, me0), "lock ra0 again");
    check(cmd6(&d0, RA_CMD_SLICE_RESERVE, 7, RA_SLICE_K_MEMORY, K, 128 * MIB, 32 * MIB, 0) == RA_ERR_OK, "slice 7");
    check(cmd6(&d0, RA_CMD_SLICE_ACTIVATE, 7, 0, K, 0, 0, 0) == RA_ERR_OK, "activate 7");
    /* a 16 MiB image loaded from a memory slice: LOADING, permille, ~17 ms at 1 GB/s */
    {
        size_t pbytes = 16 * MIB;
        uint8_t *big = malloc(RA_IMG_HEADER_BYTES + pbytes);
        uint8_t *bp = malloc(pbytes);
        for (size_t i = 0; i < pbytes; i++)
            bp[i] = (uint8_t)(i >> 9);
        size_t bn = build_image(big, RA_FN_SHA256, 2, bp, pbytes, "big");
        memcpy(d0.mem + 128 * MIB + 4096, big, bn);
        uint64_t la[6] = {0, RA_LOAD_SRC_MEMORY, bn, 0, K2, (7ull << 40) | 4096};
        check(cmd(&d0, RA_CMD_SLOT_LOAD, la, NULL, 0, NULL) == RA_ERR_OWNER_KEY, "memory load with a wrong key");
        la[4] = K;
        la[5] = (7ull << 40) | (32 * MIB - 100);
        check(cmd(&d0, RA_CMD_SLOT_LOAD, la, NULL, 0, NULL) == RA_ERR_BOUNDS, "memory load out of bounds");
        la[5] = (7ull << 40) | 4096;
        uint64_t t = now_us();
        uint32_t seq = post(&d0, RA_CMD_SLOT_LOAD, la, NULL, 0);
        int saw_loading = 0, saw_mid = 0;
        while (rd32(&d0, RA_REG_CMD_DONE_SEQ) != seq) {
            uint32_t st = rd32(&d0, slot_reg(0, RA_SLOT_STATE)), pm = rd32(&d0, slot_reg(0, RA_SLOT_LOAD_PERMILLE));
            saw_loading |= st == RA_SLOT_S_LOADING;
            saw_mid |= st == RA_SLOT_S_LOADING && pm > 0 && pm < 1000;
            usleep(500);
        }
        t = now_us() - t;
        check(wait_done(&d0, RA_CMD_SLOT_LOAD, seq, NULL) == RA_ERR_OK, "16 MiB load from memory");
        check(saw_loading && saw_mid, "LOADING with permille progress seen (%d %d)", saw_loading, saw_mid);
        check(t >= 16000, "configuration took %llu us (>= 16.7 ms)", (unsigned long long)t);
        check(rd64(&d0, slot_reg(0, RA_SLOT_IMAGE_BYTES)) == pbytes, "image bytes");
        free(big);
        free(bp);
    }
    /* queues 1..6 */
    for (unsigned qq = 1; qq <= 5; qq++)
        check(__sync_bool_compare_and_swap((uint32_t *)(d0.bar + qcb(qq, RA_QCB_OWNER)), 0, me0), "own queue %u", qq);
    struct desc tiny = {.op = RA_OP_FILL, .key = K, .dst = loc_adapter(0, 7), .len = 64, .params = {3}};
    /* adaptive polling */
    wr32(&d0, qcb(1, RA_QCB_POLL_US), 20000);
    c = submit1(&d0, 1, tiny);
    check(c.status == RA_ERR_OK && rd32(&d0, qcb(1, RA_QCB_AWAKE)) == 1, "AWAKE while polling");
    uint64_t rtt[21];
    for (int i = 0; i < 21; i++) {
        uint64_t t = now_us();
        push(&d0, 1, tiny, 0); /* no doorbell: the model is polling */
        c = wait_cqe(&d0, 1);
        rtt[i] = now_us() - t;
        for (int j = i; j > 0 && rtt[j] < rtt[j - 1]; j--) { /* insertion sort */
            uint64_t x = rtt[j];
            rtt[j] = rtt[j - 1];
            rtt[j - 1] = x;
        }
    }
    /* the median, not the worst: two spinning processes on a shared 2-core machine get preempted */
    printf("ra-smoke: polled round trip without doorbell: median %llu us, worst %llu us\n",
           (unsigned long long)rtt[10], (unsigned long long)rtt[20]);
    check(rtt[10] < 500, "polled submissions served without doorbell (median %llu us)", (unsigned long long)rtt[10]);
    usleep(40000);
    check(rd32(&d0, qcb(1, RA_QCB_AWAKE)) == 0, "AWAKE back to 0 after POLL_US");
    /* fairness: a small copy on queue 3 completes while a 32 MiB copy on queue 2 runs */
    push(&d0, 2, (struct desc){.op = RA_OP_COPY, .key = K, .src = loc_adapter(0, 6), .dst = loc_adapter(0, 7),
                               .len = 32 * MIB}, 1);
    usleep(1000);
    uint32_t big_tail = rd32(&d0, qcb(2, RA_QCB_CQ_TAIL));
    c = submit1(&d0, 3, tiny);
    check(c.status == RA_ERR_OK && rd32(&d0, qcb(2, RA_QCB_CQ_TAIL)) == big_tail, "small copy not starved by a big one");
    c = wait_cqe(&d0, 2);
    check(c.status == RA_ERR_OK, "big copy done");
    /* a release while a chunked copy runs waits for it (§5.4); new descriptors are refused meanwhile */
    uint32_t cq2 = rd32(&d0, qcb(2, RA_QCB_CQ_TAIL));
    push(&d0, 2, (struct desc){.op = RA_OP_COPY, .key = K, .src = loc_adapter(0, 6), .dst = loc_adapter(0, 7),
                               .len = 32 * MIB}, 1);
    WAIT_FOR(rd32(&d0, qcb(2, RA_QCB_SQ_HEAD)) == rd32(&d0, qcb(2, RA_QCB_SQ_TAIL))); /* consumed: in progress */
    uint64_t rel[6] = {7, 0, K, 0, 0, 0};
    uint32_t rseq = post(&d0, RA_CMD_SLICE_RELEASE, rel, NULL, 0);
    usleep(2000);
    c = submit1(&d0, 3, tiny);
    check(c.status == RA_ERR_SLICE_STATE, "slice being released refuses new work (%u)", c.status);
    check(wait_done(&d0, RA_CMD_SLICE_RELEASE, rseq, NULL) == RA_ERR_OK, "release during a copy");
    check(rd32(&d0, qcb(2, RA_QCB_CQ_TAIL)) == cq2 + 1, "the copy completed before the release did");
    c = wait_cqe(&d0, 2);
    check(c.status == RA_ERR_OK, "in-flight copy finished (%u)", c.status);
    check(d0.mem[128 * MIB + 32 * MIB - 1] == 0, "released slice scrubbed after the copy");
    check(cmd6(&d0, RA_CMD_SLICE_RESERVE, 7, RA_SLICE_K_MEMORY, K, 128 * MIB, 32 * MIB, 0) == RA_ERR_OK, "slice 7 again");
    check(cmd6(&d0, RA_CMD_SLICE_ACTIVATE, 7, 0, K, 0, 0, 0) == RA_ERR_OK, "activate 7 again");
    /* completion ring full: the model waits for room */
    uint32_t depth = rd32(&d0, RA_REG_CAP_RING_DEPTH);
    for (uint32_t i = 0; i < depth; i++)
        push(&d0, 4, tiny, i + 1 == depth);
    usleep(30000);
    check(rd32(&d0, qcb(4, RA_QCB_CQ_TAIL)) - rd32(&d0, qcb(4, RA_QCB_CQ_HEAD)) == depth, "CQ full");
    push(&d0, 4, tiny, 1);
    usleep(20000);
    check(rd32(&d0, qcb(4, RA_QCB_CQ_TAIL)) - rd32(&d0, qcb(4, RA_QCB_CQ_HEAD)) == depth, "no completion over a full CQ");
    check(rd32(&d0, qcb(4, RA_QCB_SQ_TAIL)) - rd32(&d0, qcb(4, RA_QCB_SQ_HEAD)) == 1, "a full CQ stops consumption");
    for (uint32_t i = 0; i <= depth; i++)
        c = wait_cqe(&d0, 4);
    check(c.status == RA_ERR_OK && rd64(&d0, qcb(4, RA_QCB_COMPLETED)) == depth + 1, "the waiting completion came");
    /* a chain not yet complete waits for its last descriptor */
    struct desc part = tiny;
    part.flags = RA_DESC_F_CHAIN;
    push(&d0, 4, part, 1);
    usleep(20000);
    check(rd32(&d0, qcb(4, RA_QCB_CQ_TAIL)) == rd32(&d0, qcb(4, RA_QCB_CQ_HEAD)), "partial chain waits");
    push(&d0, 4, tiny, 1);
    c = wait_cqe(&d0, 4);
    check(c.status == RA_ERR_OK, "chain completed");
    /* invalid indices */
    uint32_t head5 = rd32(&d0, qcb(5, RA_QCB_SQ_HEAD));
    wr32(&d0, qcb(5, RA_QCB_SQ_TAIL), head5 + depth + 5);
    ring(&d0, 6);
    usleep(20000);
    check(rd32(&d0, RA_REG_ERROR) == RA_ERR_QUEUE && rd32(&d0, qcb(5, RA_QCB_SQ_HEAD)) == head5, "bad indices -> ERROR");
    wr32(&d0, qcb(5, RA_QCB_SQ_TAIL), head5);
    c = submit1(&d0, 5, tiny);
    check(c.status == RA_ERR_OK, "queue usable once fixed");
    /* a queue nobody owns */
    c = submit1(&d0, 6, tiny);
    check(c.status == RA_ERR_QUEUE, "unowned queue (%u)", c.status);
    /* a host region file truncated under the model: HOSTMEM, the model survives */
    snprintf(hpath, sizeof hpath, "%s/smoke-shrink", dir);
    hfd = open(hpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (hfd < 0 || ftruncate(hfd, MIB) != 0)
        die("shrink file");
    uint64_t sargs[6] = {2, MIB, 0, 0, 0, 0};
    check(cmd(&d0, RA_CMD_HOSTMEM_REGISTER, sargs, "smoke-shrink", 13, NULL) == RA_ERR_OK, "register smoke-shrink");
    if (ftruncate(hfd, 0) != 0)
        die("truncate");
    c = submit1(&d0, 3, (struct desc){.op = RA_OP_COPY, .key = K, .src = loc_host(2), .dst = loc_adapter(0, 7),
                                      .len = 65536});
    check(c.status == RA_ERR_HOSTMEM, "SIGBUS on a host region -> HOSTMEM (%u)", c.status);
    check(cmd6(&d0, RA_CMD_HOSTMEM_UNREGISTER, 2, 0, 0, 0, 0, 0) == RA_ERR_OK, "unregister");
    close(hfd);
    unlink(hpath);
    hfd = -1;

    /* RESET on ra1, then HANG it */
    check(cmd6(&d1, RA_CMD_RESET, 0, 0, 0, 0, 0, 0) == RA_ERR_OK, "reset ra1");
    check(rd32(&d1, slice_reg(0, RA_SLICE_STATE)) == RA_SLICE_S_FREE && d1.mem[0] == 0 &&
              rd32(&d1, slot_reg(0, RA_SLOT_STATE)) == RA_SLOT_S_EMPTY, "ra1 is clean after reset");
    wr32(&d1, RA_REG_DEBUG_FAULT, RA_FAULT_HANG);
    ring(&d1, RA_VEC_ADMIN);
    usleep(30000);
    hb = rd64(&d1, RA_REG_HEARTBEAT);
    usleep(30000);
    check((rd32(&d1, RA_REG_STATUS) & RA_STATUS_HALTED) && rd64(&d1, RA_REG_HEARTBEAT) == hb, "HANG halts ra1");
    hb = rd64(&d0, RA_REG_HEARTBEAT);
    usleep(20000);
    check(rd64(&d0, RA_REG_HEARTBEAT) > hb, "ra0 still alive");

    /* unknown fault values are consumed without effect */
    uint32_t hits = rd32(&d0, RA_REG_DEBUG_FAULTS_HIT);
    wr32(&d0, RA_REG_DEBUG_FAULT, 77);
    ring(&d0, RA_VEC_ADMIN);
    usleep(20000);
    check(rd32(&d0, RA_REG_DEBUG_FAULT) == 0 && rd32(&d0, RA_REG_DEBUG_FAULTS_HIT) == hits, "unknown fault consumed");
    /* an image followed by extra bytes: the extra bytes are ignored (§5.4) */
    n = build_image(img, RA_FN_CRC32C, 1, payload, 100, "tail");
    check(load(&d0, 3, img, n + 50, RA_LOAD_FLAG_FORCE) == RA_ERR_OK, "bytes beyond the payload ignored");
    /* RESET keeps queue owners and host regions, zeroes the indices */
    check(cmd6(&d0, RA_CMD_RESET, 0, 0, 0, 0, 0, 0) == RA_ERR_OK, "reset ra0");
    check(rd32(&d0, qcb(4, RA_QCB_OWNER)) == me0 && rd32(&d0, qcb(4, RA_QCB_SQ_TAIL)) == 0 &&
              rd32(&d0, qcb(4, RA_QCB_CQ_TAIL)) == 0 && rd64(&d0, qcb(4, RA_QCB_COMPLETED)) > 0,
          "reset: owner and counters kept, indices 0");
    check(rd32(&d0, slice_reg(6, RA_SLICE_STATE)) == RA_SLICE_S_FREE && rd32(&d0, slot_reg(3, RA_SLOT_STATE)) == 0,
          "reset: slices free, slots empty");
    check(cmd6(&d0, RA_CMD_SLICE_RESERVE, 6, RA_SLICE_K_MEMORY, K, 96 * MIB, 32 * MIB, 0) == RA_ERR_OK &&
              cmd6(&d0, RA_CMD_SLICE_ACTIVATE, 6, 0, K, 0, 0, 0) == RA_ERR_OK &&
              cmd6(&d0, RA_CMD_SLICE_RESERVE, 7, RA_SLICE_K_MEMORY, K, 128 * MIB, 32 * MIB, 0) == RA_ERR_OK &&
              cmd6(&d0, RA_CMD_SLICE_ACTIVATE, 7, 0, K, 0, 0, 0) == RA_ERR_OK,
          "slices 6, 7 again");
    c = submit1(&d0, 4, (struct desc){.op = RA_OP_FILL, .key = K, .dst = loc_adapter(0, 6), .len = 32 * MIB,
                                      .params = {0x77}});
    check(c.status == RA_ERR_OK, "queue usable after reset");
    /* the owner leaves while a 32 MiB copy runs: the copy finishes, the queue is handed back (§7) */
    push(&d0, 2, (struct desc){.op = RA_OP_COPY, .key = K, .src = loc_adapter(0, 6), .dst = loc_adapter(0, 7),
                               .len = 32 * MIB}, 1);
    WAIT_FOR(rd32(&d0, qcb(2, RA_QCB_SQ_HEAD)) == rd32(&d0, qcb(2, RA_QCB_SQ_TAIL)));
    dev_close(&d0);
    dev_open(&d0, dir, 0);
    WAIT_FOR(rd32(&d0, qcb(2, RA_QCB_OWNER)) == 0);
    check(rd32(&d0, qcb(2, RA_QCB_OWNER)) == 0 && rd32(&d0, qcb(2, RA_QCB_SQ_HEAD)) == rd32(&d0, qcb(2, RA_QCB_SQ_TAIL)),
          "queue handed back after the owner left");
    check(d0.mem[128 * MIB] == 0x77 && d0.mem[160 * MIB - 1] == 0x77, "the copy in progress finished");

    /* FAULT_EXIT last: the process goes away, the files stay */
    munmap(host, 4 * MIB);
    snprintf(hpath, sizeof hpath, "%s/smoke-host", dir);
    unlink(hpath);
    wr32(&d0, RA_REG_DEBUG_FAULT, RA_FAULT_EXIT);
    ring(&d0, RA_VEC_ADMIN);
    char eof;
    struct pollfd pf = {.fd = d0.sock, .events = POLLIN};
    check(poll(&pf, 1, 10000) == 1 && recv(d0.sock, &eof, 1, 0) == 0, "EXIT: the socket closes");
    snprintf(hpath, sizeof hpath, "%s/ra0.bar", dir);
    check(access(hpath, F_OK) == 0, "EXIT leaves the files behind");
    dev_close(&d0);
    dev_close(&d1);
    printf("ra-smoke: %d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
