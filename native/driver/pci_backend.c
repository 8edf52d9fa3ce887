/*
 * pci_backend.c - an RA seen inside a QEMU guest as an ivshmem-doorbell PCI device, opened through
 * sysfs: "pci://0000:00:03.0".
 *
 * ra-spec §14.3: BAR2 is the register file, BAR0 holds IVPosition (our peer id) and the Doorbell
 * register. sysfs resource files give no interrupts, so this backend has no interrupt eventfds:
 * the driver's waits fall back to polling the registers (CMD_DONE_SEQ, QCB_CQ_TAIL) on their timer,
 * and queues run with QCB_IRQ_ENABLE = 0. Needs no IOMMU and no kernel driver bound to the device.
 */
#include "ra_dev.h"
#include "ra_regs.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PCI_REGS_MAP_BYTES 4096 /* BAR0 is 256 bytes; sysfs maps whole pages */

struct pci_state {
	volatile uint32_t *regs; /* BAR0 (ivshmem registers) */
};

static int is_bdf(const char *s)
{
	/* DDDD:BB:SS.F, hex digits; anything else could walk out of /sys/bus/pci/devices */
	static const char shape[] = "xxxx:xx:xx.x";
	if (strlen(s) != sizeof(shape) - 1)
		return 0;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == 'x' ? !isxdigit((unsigned char)s[i]) : s[i] != shape[i])
			return 0;
	return 1;
}

int ra_pci_find_ivshmem(struct ra_dev *dev, const char *bdf, char *sysdir, size_t sysdir_bytes)
{
	if (!is_bdf(bdf))
		return ra_dev_fail(dev, "'%s' is not a PCI address: use DDDD:BB:SS.F, e.g. 0000:00:03.0", bdf);
	snprintf(sysdir, sysdir_bytes, "/sys/bus/pci/devices/%s", bdf);
	char path[256], vendor[32], device[32];
	snprintf(path, sizeof(path), "%s/vendor", sysdir);
	if (ra_sysfs_read(path, vendor, sizeof(vendor)) != 0)
		return ra_dev_fail(dev, "no PCI device %s (%s: %s)", bdf, path, strerror(errno));
	snprintf(path, sizeof(path), "%s/device", sysdir);
	if (ra_sysfs_read(path, device, sizeof(device)) != 0)
		return ra_dev_fail(dev, "reading %s: %s", path, strerror(errno));
	if (strtoul(vendor, NULL, 16) != RA_IVSHMEM_VENDOR || strtoul(device, NULL, 16) != RA_IVSHMEM_DEVICE)
		return ra_dev_fail(dev, "PCI device %s is %s:%s, not an ivshmem device (0x%04x:0x%04x) carrying an RA", bdf, vendor,
		                   device, RA_IVSHMEM_VENDOR, RA_IVSHMEM_DEVICE);
	return 0;
}

static void *map_resource(struct ra_dev *dev, const char *sysdir, int bar, size_t bytes)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/resource%d", sysdir, bar);
	int fd = open(path, O_RDWR | O_CLOEXEC | O_SYNC);
	if (fd < 0) {
		ra_dev_fail(dev, "open %s: %s%s", path, strerror(errno),
		            errno == EACCES || errno == EPERM ? " (needs root)" : "");
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) == 0 && st.st_size > 0 && (size_t)st.st_size < bytes && bar == RA_IVSHMEM_SHM_BAR) {
		close(fd);
		ra_dev_fail(dev, "BAR%d of %s is %lld bytes, smaller than an RA register file (%u)", bar, sysdir,
		            (long long)st.st_size, RA_BAR_BYTES);
		return NULL;
	}
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	int e = errno;
	close(fd);
	if (p == MAP_FAILED) {
		ra_dev_fail(dev, "mmap %s: %s%s", path, strerror(e),
		            e == EPERM ? " (a kernel driver owns the device, or the kernel forbids resource mmap)" : "");
		return NULL;
	}
	return p;
}

static int pci_open_dev(struct ra_dev *dev, const char *bdf)
{
	char sysdir[128];
	if (ra_pci_find_ivshmem(dev, bdf, sysdir, sizeof(sysdir)) != 0)
		return -1;
	struct pci_state *st = calloc(1, sizeof(*st));
	if (!st)
		return ra_dev_fail(dev, "out of memory");
	dev->priv = st;
	void *regs = map_resource(dev, sysdir, RA_IVSHMEM_REGS_BAR, PCI_REGS_MAP_BYTES);
	if (!regs)
		return -1;
	st->regs = regs;
	void *bar = map_resource(dev, sysdir, RA_IVSHMEM_SHM_BAR, RA_BAR_BYTES);
	if (!bar)
		return -1;
	dev->bar = bar;
	dev->bar_bytes = RA_BAR_BYTES;
	if (ra_dev_check_bar(dev) != 0)
		return -1;
	dev->peer_id = (int32_t)st->regs[RA_IVSHMEM_IVPOSITION / 4];
	if (dev->peer_id < 1)
		return ra_dev_fail(dev, "ivshmem device %s has peer id %d: its chardev is not connected to the RA's socket",
		                   bdf, dev->peer_id);
	return 0;
}

static int pci_ring(struct ra_dev *dev, uint32_t vector)
{
	struct pci_state *st = dev->priv;
	const uint32_t adapter_peer = ((const volatile uint32_t *)dev->bar)[RA_REG_MODEL_PEER_ID / 4];
	st->regs[RA_IVSHMEM_DOORBELL / 4] = (adapter_peer << 16) | vector; /* ra-spec §14.3 */
	return 0;
}

static void pci_close(struct ra_dev *dev)
{
	struct pci_state *st = dev->priv;
	if (dev->bar)
		munmap(dev->bar, dev->bar_bytes);
	dev->bar = NULL;
	if (st && st->regs)
		munmap((void *)st->regs, PCI_REGS_MAP_BYTES);
	free(st);
	dev->priv = NULL;
}

const struct ra_backend_ops ra_pci_backend = {
	.scheme = "pci",
	.open = pci_open_dev,
	.ring = pci_ring,
	.close = pci_close,
};
