/*
 * shm_backend.c - the embedded backend: an RA served by the device model on a unix socket.
 *
 * The model speaks the ivshmem-server protocol (QEMU docs/specs/ivshmem-spec.rst; ra-spec §14),
 * so this backend is an ivshmem client, exactly as QEMU's ivshmem-doorbell is: it receives the
 * protocol version, its own peer id, the register file (the "shared memory") and one eventfd per
 * vector for the adapter peer (doorbells we ring) and for itself (interrupts we wait on).
 */
#include "ra_dev.h"
#include "ra_regs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define SETUP_TIMEOUT_S 5

/* One protocol message: a little-endian int64 and, optionally, one fd (SCM_RIGHTS). */
static int recv_msg(struct ra_dev *dev, int64_t *value, int *fd)
{
	char control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {.iov_base = value, .iov_len = sizeof(*value)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control)};
	*fd = -1;
	ssize_t n;
	do /* a signal (e.g. the profiler's SIGPROF) interrupting the wait is not the adapter's failure */
		n = recvmsg(dev->conn_fd, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return ra_dev_fail(dev, "adapter closed the connection during setup");
	if (n < 0)
		return ra_dev_fail(dev, "reading the adapter's setup messages: %s", errno == EAGAIN ? "timed out" : strerror(errno));
	if (n != (ssize_t)sizeof(*value))
		return ra_dev_fail(dev, "short setup message (%zd bytes): not an ivshmem server?", n);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(fd, CMSG_DATA(c), sizeof(int));
	return 0;
}

static int connect_socket(struct ra_dev *dev, const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(addr.sun_path))
		return ra_dev_fail(dev, "socket path too long: %s", path);
	strcpy(addr.sun_path, path);
	dev->conn_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (dev->conn_fd < 0)
		return ra_dev_fail(dev, "socket: %s", strerror(errno));
	if (connect(dev->conn_fd, (struct sockaddr *)&addr, sizeof(addr)) != 0)
		return ra_dev_fail(dev, "cannot connect to %s: %s (is the device model running?)", path, strerror(errno));
	struct timeval tv = {.tv_sec = SETUP_TIMEOUT_S};
	setsockopt(dev->conn_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return 0;
}

static int map_bar(struct ra_dev *dev, int shm_fd)
{
	struct stat st;
	if (fstat(shm_fd, &st) != 0 || (size_t)st.st_size < RA_BAR_BYTES)
		return ra_dev_fail(dev, "register file is smaller than %u bytes", RA_BAR_BYTES);
	void *p = mmap(NULL, RA_BAR_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, shm_fd, 0);
	if (p == MAP_FAILED)
		return ra_dev_fail(dev, "mmap of the register file: %s", strerror(errno));
	dev->bar = p;
	dev->bar_bytes = RA_BAR_BYTES;
	const volatile uint32_t *regs = p;
	if (regs[RA_REG_MAGIC / 4] != RA_ID_MAGIC)
		return ra_dev_fail(dev, "register file has no RA magic (read 0x%08x): not an RA, or not initialised", regs[RA_REG_MAGIC / 4]);
	uint32_t queues = regs[RA_REG_CAP_QUEUES / 4];
	if (queues < 1 || queues > RA_QUEUE_MAX)
		return ra_dev_fail(dev, "adapter reports %u queues (expected 1..%u)", queues, RA_QUEUE_MAX);
	dev->vectors = 1 + queues;
	return 0;
}

static int shm_open_dev(struct ra_dev *dev, const char *path)
{
	int64_t value;
	int fd;
	if (connect_socket(dev, path) != 0)
		return -1;
	if (recv_msg(dev, &value, &fd) != 0)
		return -1;
	if (fd >= 0)
		close(fd);
	if (value != 0)
		return ra_dev_fail(dev, "unsupported ivshmem protocol version %lld", (long long)value);
	if (recv_msg(dev, &value, &fd) != 0)
		return -1;
	if (fd >= 0)
		close(fd);
	if (value < 0 || value > 0xFFFF)
		return ra_dev_fail(dev, "invalid peer id %lld", (long long)value);
	dev->peer_id = (int32_t)value;
	if (recv_msg(dev, &value, &fd) != 0)
		return -1;
	if (value != -1 || fd < 0) {
		if (fd >= 0)
			close(fd);
		return ra_dev_fail(dev, "expected the shared-memory fd as the third setup message");
	}
	int rc = map_bar(dev, fd);
	close(fd);
	if (rc != 0)
		return -1;

	/* Then one fd per vector for every peer: the adapter's (doorbells) and our own (interrupts). */
	const uint32_t adapter_peer = ((const volatile uint32_t *)dev->bar)[RA_REG_MODEL_PEER_ID / 4];
	uint32_t doorbells = 0, irqs = 0;
	while (doorbells < dev->vectors || irqs < dev->vectors) {
		if (recv_msg(dev, &value, &fd) != 0)
			return -1;
		if (fd < 0)
			continue; /* a peer went away: not ours to track */
		if (value == (int64_t)adapter_peer && doorbells < dev->vectors) {
			dev->doorbell_fds[doorbells++] = fd;
		} else if (value == dev->peer_id && irqs < dev->vectors) {
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
			dev->irq_fds[irqs++] = fd;
		} else {
			close(fd); /* another client's vectors */
		}
	}
	struct timeval none = {0};
	setsockopt(dev->conn_fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none));
	return 0;
}

static int shm_ring(struct ra_dev *dev, uint32_t vector)
{
	const uint64_t one = 1;
	if (write(dev->doorbell_fds[vector], &one, sizeof(one)) != (ssize_t)sizeof(one))
		return ra_dev_fail(dev, "ringing doorbell %u: %s", vector, strerror(errno));
	return 0;
}

static void shm_close(struct ra_dev *dev)
{
	for (int v = 0; v < RA_DEV_MAX_VECTORS; v++) {
		if (dev->irq_fds[v] >= 0)
			close(dev->irq_fds[v]);
		if (dev->doorbell_fds[v] >= 0)
			close(dev->doorbell_fds[v]);
		dev->irq_fds[v] = dev->doorbell_fds[v] = -1;
	}
	if (dev->bar)
		munmap(dev->bar, dev->bar_bytes);
	dev->bar = NULL;
	if (dev->conn_fd >= 0)
		close(dev->conn_fd);
	dev->conn_fd = -1;
}

const struct ra_backend_ops ra_shm_backend = {
	.scheme = "shm",
	.open = shm_open_dev,
	.ring = shm_ring,
	.close = shm_close,
};
