/*
 * ra_dev.h - one opened RA, whatever carries it.
 *
 * As in ixy's device.h: a small struct of identity fields plus a table of backend operations.
 * The shm backend (embedded: the device model's ivshmem-server socket) fills it today; pci, vfio
 * and dax fill the same table. Nothing above this header switches on the backend's kind.
 * Register access itself does not go through here: the BAR is mapped once and JS reads and writes
 * it directly (ra-spec §2.2); this layer only opens, maps, rings doorbells and hands out the
 * descriptors that interrupts arrive on.
 */
#ifndef RA_DEV_H
#define RA_DEV_H

#include <stddef.h>
#include <stdint.h>

#define RA_DEV_MAX_VECTORS 64
#define RA_DEV_ERR_BYTES 256

struct ra_dev;

struct ra_backend_ops {
	const char *scheme; /* URI scheme, e.g. "shm" */
	/* Open the adapter at `location` (the URI without "scheme://"); fill bar/bar_bytes/vectors. */
	int (*open)(struct ra_dev *dev, const char *location);
	/* Ring the adapter's doorbell `vector` (ra-spec §14). */
	int (*ring)(struct ra_dev *dev, uint32_t vector);
	/* Release everything open() acquired. Must tolerate a partly opened device. */
	void (*close)(struct ra_dev *dev);
};

struct ra_dev {
	const struct ra_backend_ops *ops;
	void *bar;               /* register file mapping (ra-spec §2) */
	size_t bar_bytes;
	uint32_t vectors;        /* doorbell/interrupt vectors (1 + CAP_QUEUES) */
	int32_t peer_id;         /* our ivshmem peer id; -1 where the backend has none */
	int conn_fd;             /* becomes readable/hung up when the adapter goes away; -1 if none */
	int irq_fds[RA_DEV_MAX_VECTORS];      /* eventfds the adapter signals (interrupts), -1 if none */
	int doorbell_fds[RA_DEV_MAX_VECTORS]; /* eventfds we signal (doorbells), -1 if none */
	char err[RA_DEV_ERR_BYTES];           /* message of the last failure */
};

/* Open by URI ("shm:///dir/ra0.sock"). Returns NULL and fills errbuf on failure. */
struct ra_dev *ra_dev_open(const char *uri, char *errbuf, size_t errlen);
int ra_dev_ring(struct ra_dev *dev, uint32_t vector);
/* Drain an interrupt eventfd; returns the number of interrupts since the last drain (0 if none). */
uint64_t ra_dev_ack_irq(struct ra_dev *dev, uint32_t vector);
void ra_dev_close(struct ra_dev *dev);

/* Helpers the backends share. */
int ra_dev_fail(struct ra_dev *dev, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

extern const struct ra_backend_ops ra_shm_backend;

#endif
