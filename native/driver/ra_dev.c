/* ra_dev.c - URI dispatch to a backend, and the operations every backend shares. */
#include "ra_dev.h"
#include "ra_regs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct ra_backend_ops *const backends[] = {&ra_shm_backend, &ra_pci_backend, &ra_vfio_backend};
static const struct ra_mem_ops *const memories[] = {&ra_dax_memory};

int ra_dev_fail(struct ra_dev *dev, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(dev->err, sizeof(dev->err), fmt, ap);
	va_end(ap);
	return -1;
}

struct ra_dev *ra_dev_open(const char *uri, char *errbuf, size_t errlen)
{
	const char *sep = strstr(uri, "://");
	if (!sep) {
		snprintf(errbuf, errlen,
		         "adapter URI '%s' has no scheme: use shm:///path/to/raN.sock, pci://0000:00:03.0 or vfio://0000:00:03.0",
		         uri);
		return NULL;
	}
	size_t scheme_len = (size_t)(sep - uri);
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		if (strlen(backends[i]->scheme) != scheme_len || strncmp(uri, backends[i]->scheme, scheme_len) != 0)
			continue;
		struct ra_dev *dev = calloc(1, sizeof(*dev));
		if (!dev) {
			snprintf(errbuf, errlen, "out of memory");
			return NULL;
		}
		dev->ops = backends[i];
		dev->conn_fd = -1;
		dev->peer_id = -1;
		for (int v = 0; v < RA_DEV_MAX_VECTORS; v++)
			dev->irq_fds[v] = dev->doorbell_fds[v] = -1;
		if (dev->ops->open(dev, sep + 3) != 0) {
			snprintf(errbuf, errlen, "%s", dev->err);
			dev->ops->close(dev);
			free(dev);
			return NULL;
		}
		return dev;
	}
	snprintf(errbuf, errlen, "adapter URI scheme '%.*s' is not supported (supported: shm, pci, vfio)", (int)scheme_len, uri);
	return NULL;
}

int ra_dev_check_bar(struct ra_dev *dev)
{
	const volatile uint32_t *regs = dev->bar;
	if (dev->bar_bytes < RA_BAR_BYTES)
		return ra_dev_fail(dev, "register file is %zu bytes, smaller than %u: not an RA", dev->bar_bytes, RA_BAR_BYTES);
	if (regs[RA_REG_MAGIC / 4] != RA_ID_MAGIC)
		return ra_dev_fail(dev, "register file has no RA magic (read 0x%08x): not an RA, or not initialised",
		                   regs[RA_REG_MAGIC / 4]);
	uint32_t queues = regs[RA_REG_CAP_QUEUES / 4];
	if (queues < 1 || queues > RA_QUEUE_MAX)
		return ra_dev_fail(dev, "adapter reports %u queues (expected 1..%u)", queues, RA_QUEUE_MAX);
	dev->vectors = 1 + queues;
	return 0;
}

int ra_sysfs_read(const char *path, char *buf, size_t bytes)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, bytes - 1);
	int e = errno;
	close(fd);
	if (n < 0) {
		errno = e;
		return -1;
	}
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

int ra_mem_map(const char *uri, uint64_t offset, uint64_t bytes, void **addr, char *errbuf, size_t errlen)
{
	const char *sep = strstr(uri, "://");
	size_t scheme_len = sep ? (size_t)(sep - uri) : 0;
	for (size_t i = 0; sep && i < sizeof(memories) / sizeof(memories[0]); i++)
		if (strlen(memories[i]->scheme) == scheme_len && strncmp(uri, memories[i]->scheme, scheme_len) == 0)
			return memories[i]->map(sep + 3, offset, bytes, addr, errbuf, errlen);
	snprintf(errbuf, errlen, "memory URI '%s' is not supported: use dax:///dev/daxX.Y", uri);
	return -1;
}

int ra_dev_ring(struct ra_dev *dev, uint32_t vector)
{
	if (vector >= dev->vectors)
		return ra_dev_fail(dev, "doorbell vector %u out of range (adapter has %u)", vector, dev->vectors);
	return dev->ops->ring(dev, vector);
}

uint64_t ra_dev_ack_irq(struct ra_dev *dev, uint32_t vector)
{
	uint64_t count = 0;
	if (vector >= dev->vectors || dev->irq_fds[vector] < 0)
		return 0;
	/* eventfds are non-blocking: EAGAIN means no interrupt pending. */
	if (read(dev->irq_fds[vector], &count, sizeof(count)) != (ssize_t)sizeof(count))
		return 0;
	return count;
}

void ra_dev_close(struct ra_dev *dev)
{
	if (!dev)
		return;
	dev->ops->close(dev);
	free(dev);
}
