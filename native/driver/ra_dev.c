/* ra_dev.c - URI dispatch to a backend, and the operations every backend shares. */
#include "ra_dev.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct ra_backend_ops *const backends[] = {&ra_shm_backend};

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
		snprintf(errbuf, errlen, "adapter URI '%s' has no scheme: use shm:///path/to/raN.sock", uri);
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
	snprintf(errbuf, errlen, "adapter URI scheme '%.*s' is not supported (supported: shm)", (int)scheme_len, uri);
	return NULL;
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
