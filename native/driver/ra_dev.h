/*
 * ra_dev.h - one opened RA, whatever carries it.
 *
 * As in ixy's device.h: a small struct of identity fields plus a table of backend operations.
 * Backends: shm (embedded: the device model's ivshmem-server socket), pci (a guest's sysfs
 * resource files, polled) and vfio (a guest's VFIO device behind a virtual IOMMU, MSI-X). Adapter
 * memory seen through CXL is a separate, smaller table (struct ra_mem_ops: dax). Nothing above this
 * header switches on the backend's kind.
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
	void *priv;                           /* backend's own state (pci, vfio); freed by its close() */
};

/* Open by URI ("shm:///dir/ra0.sock"). Returns NULL and fills errbuf on failure. */
struct ra_dev *ra_dev_open(const char *uri, char *errbuf, size_t errlen);
int ra_dev_ring(struct ra_dev *dev, uint32_t vector);
/* Drain an interrupt eventfd; returns the number of interrupts since the last drain (0 if none). */
uint64_t ra_dev_ack_irq(struct ra_dev *dev, uint32_t vector);
void ra_dev_close(struct ra_dev *dev);

/* Helpers the backends share. */
int ra_dev_fail(struct ra_dev *dev, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Checks a mapped register file (ra-spec §17.1: MAGIC, CAP_QUEUES) and sets dev->vectors. */
int ra_dev_check_bar(struct ra_dev *dev);
/* Reads a whole small sysfs file into buf (NUL-terminated, trailing newline dropped). */
int ra_sysfs_read(const char *path, char *buf, size_t bytes);

/* Validates a PCI address "DDDD:BB:SS.F" as an ivshmem device; fills sysdir with its sysfs folder. */
int ra_pci_find_ivshmem(struct ra_dev *dev, const char *bdf, char *sysdir, size_t sysdir_bytes);

extern const struct ra_backend_ops ra_shm_backend;
extern const struct ra_backend_ops ra_pci_backend;
extern const struct ra_backend_ops ra_vfio_backend;

/* ivshmem's PCI identity and BAR0 registers (ra-spec §14.3) */
#define RA_IVSHMEM_VENDOR 0x1af4
#define RA_IVSHMEM_DEVICE 0x1110
#define RA_IVSHMEM_IVPOSITION 0x08
#define RA_IVSHMEM_DOORBELL 0x0C
#define RA_IVSHMEM_REGS_BAR 0
#define RA_IVSHMEM_SHM_BAR 2

/*
 * Adapter memory mapped by URI, for memory the driver reaches directly rather than through the
 * device model's files: "dax:///dev/dax0.0" is a CXL region in devdax mode inside a guest.
 */
struct ra_mem_ops {
	const char *scheme;
	/* Map [offset, offset + bytes) of `location`; fills *addr. Errors go to errbuf. */
	int (*map)(const char *location, uint64_t offset, uint64_t bytes, void **addr, char *errbuf, size_t errlen);
};

/* Map adapter memory by URI; unmap with munmap(addr, bytes). Returns -1 and fills errbuf on failure. */
int ra_mem_map(const char *uri, uint64_t offset, uint64_t bytes, void **addr, char *errbuf, size_t errlen);

extern const struct ra_mem_ops ra_dax_memory;

#endif
