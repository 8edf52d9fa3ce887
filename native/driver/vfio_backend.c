/*
 * vfio_backend.c - an RA inside a QEMU guest opened through VFIO: "vfio://0000:00:03.0".
 *
 * The ivshmem-doorbell device (ra-spec §14.3) is bound to vfio-pci behind the guest's virtual
 * IOMMU. Open: container (/dev/vfio/vfio, type-1 IOMMU) + the device's IOMMU group + the device fd
 * (Linux include/uapi/linux/vfio.h); BAR2 (register file) is mmapped, BAR0 (IVPosition, Doorbell)
 * is read and written through the device fd at the region's offset; Bus Master Enable is set in
 * the PCI command register (without it MSI-X is never delivered); one eventfd per vector is
 * attached to the MSI-X vectors with VFIO_DEVICE_SET_IRQS, and those are the interrupt fds the
 * driver waits on. Every precondition that is missing (no IOMMU, not bound to vfio-pci, group not
 * viable) is a clear error at open, never a hang.
 */
#include "ra_dev.h"
#include "ra_regs.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define PCI_COMMAND 0x04
#define PCI_COMMAND_MEMORY 0x2
#define PCI_COMMAND_MASTER 0x4

struct vfio_state {
	int container;
	int group;
	int device;
	uint64_t regs_offset;   /* BAR0 region offset in the device fd */
	uint64_t config_offset; /* PCI config space region offset */
	int irqs_set;
};

static int region_info(struct ra_dev *dev, struct vfio_state *st, uint32_t index, struct vfio_region_info *info)
{
	*info = (struct vfio_region_info){.argsz = sizeof(*info), .index = index};
	if (ioctl(st->device, VFIO_DEVICE_GET_REGION_INFO, info) != 0)
		return ra_dev_fail(dev, "VFIO_DEVICE_GET_REGION_INFO(%u): %s", index, strerror(errno));
	return 0;
}

static int open_group(struct ra_dev *dev, struct vfio_state *st, const char *bdf, const char *sysdir)
{
	char link[256], target[256];
	snprintf(link, sizeof(link), "%s/iommu_group", sysdir);
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return ra_dev_fail(dev,
		                   "%s has no IOMMU group: the guest has no IOMMU, so VFIO cannot be used (QEMU: -device "
		                   "intel-iommu,intremap=on with -machine kernel-irqchip=split, guest kernel intel_iommu=on); "
		                   "open pci://%s instead",
		                   bdf, bdf);
	target[n] = '\0';
	snprintf(link, sizeof(link), "%s/driver", sysdir);
	char driver[256];
	n = readlink(link, driver, sizeof(driver) - 1);
	driver[n < 0 ? 0 : n] = '\0';
	if (n < 0 || strcmp(basename(driver), "vfio-pci") != 0)
		return ra_dev_fail(dev,
		                   "%s is not bound to vfio-pci (driver: %s): modprobe vfio-pci vfio_iommu_type1, then "
		                   "echo vfio-pci > %s/driver_override and echo %s > /sys/bus/pci/drivers_probe",
		                   bdf, n < 0 ? "none" : basename(driver), sysdir, bdf);
	char group_path[64];
	snprintf(group_path, sizeof(group_path), "/dev/vfio/%s", basename(target));
	st->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (st->container < 0)
		return ra_dev_fail(dev, "open /dev/vfio/vfio: %s (modprobe vfio vfio_iommu_type1)", strerror(errno));
	if (ioctl(st->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
		return ra_dev_fail(dev, "unexpected VFIO API version");
	if (!ioctl(st->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU))
		return ra_dev_fail(dev, "VFIO has no type-1 IOMMU support: modprobe vfio_iommu_type1");
	st->group = open(group_path, O_RDWR | O_CLOEXEC);
	if (st->group < 0)
		return ra_dev_fail(dev, "open %s: %s%s", group_path, strerror(errno),
		                   errno == EBUSY ? " (another process has the device open)" : "");
	struct vfio_group_status status = {.argsz = sizeof(status)};
	if (ioctl(st->group, VFIO_GROUP_GET_STATUS, &status) != 0)
		return ra_dev_fail(dev, "VFIO_GROUP_GET_STATUS: %s", strerror(errno));
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE))
		return ra_dev_fail(dev, "IOMMU group %s is not viable: bind every device in it to vfio-pci", basename(target));
	if (ioctl(st->group, VFIO_GROUP_SET_CONTAINER, &st->container) != 0)
		return ra_dev_fail(dev, "VFIO_GROUP_SET_CONTAINER: %s", strerror(errno));
	if (ioctl(st->container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU) != 0)
		return ra_dev_fail(dev, "VFIO_SET_IOMMU: %s", strerror(errno));
	st->device = ioctl(st->group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (st->device < 0)
		return ra_dev_fail(dev, "VFIO_GROUP_GET_DEVICE_FD(%s): %s", bdf, strerror(errno));
	return 0;
}

static int enable_bus_master(struct ra_dev *dev, struct vfio_state *st)
{
	uint16_t cmd = 0;
	if (pread(st->device, &cmd, sizeof(cmd), (off_t)(st->config_offset + PCI_COMMAND)) != (ssize_t)sizeof(cmd))
		return ra_dev_fail(dev, "reading the PCI command register: %s", strerror(errno));
	cmd |= PCI_COMMAND_MASTER | PCI_COMMAND_MEMORY;
	if (pwrite(st->device, &cmd, sizeof(cmd), (off_t)(st->config_offset + PCI_COMMAND)) != (ssize_t)sizeof(cmd))
		return ra_dev_fail(dev, "setting Bus Master Enable: %s", strerror(errno));
	return 0;
}

static int attach_msix(struct ra_dev *dev, struct vfio_state *st)
{
	struct vfio_irq_info irq = {.argsz = sizeof(irq), .index = VFIO_PCI_MSIX_IRQ_INDEX};
	if (ioctl(st->device, VFIO_DEVICE_GET_IRQ_INFO, &irq) != 0)
		return ra_dev_fail(dev, "VFIO_DEVICE_GET_IRQ_INFO(MSI-X): %s", strerror(errno));
	if (irq.count < dev->vectors)
		return ra_dev_fail(dev,
		                   "the device has %u MSI-X vectors, the adapter needs %u: start QEMU's ivshmem-doorbell "
		                   "with vectors=%u (1 + CAP_QUEUES)",
		                   irq.count, dev->vectors, dev->vectors);
	size_t bytes = sizeof(struct vfio_irq_set) + sizeof(int32_t) * dev->vectors;
	struct vfio_irq_set *set = calloc(1, bytes);
	if (!set)
		return ra_dev_fail(dev, "out of memory");
	set->argsz = (uint32_t)bytes;
	set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	set->index = VFIO_PCI_MSIX_IRQ_INDEX;
	set->start = 0;
	set->count = dev->vectors;
	int32_t *fds = (int32_t *)set->data;
	for (uint32_t v = 0; v < dev->vectors; v++) {
		dev->irq_fds[v] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (dev->irq_fds[v] < 0) {
			free(set);
			return ra_dev_fail(dev, "eventfd: %s", strerror(errno));
		}
		fds[v] = dev->irq_fds[v];
	}
	int rc = ioctl(st->device, VFIO_DEVICE_SET_IRQS, set);
	int e = errno;
	free(set);
	if (rc != 0)
		return ra_dev_fail(dev, "VFIO_DEVICE_SET_IRQS(MSI-X, %u vectors): %s", dev->vectors, strerror(e));
	st->irqs_set = 1;
	return 0;
}

static int vfio_open_dev(struct ra_dev *dev, const char *bdf)
{
	char sysdir[128];
	if (ra_pci_find_ivshmem(dev, bdf, sysdir, sizeof(sysdir)) != 0)
		return -1;
	struct vfio_state *st = calloc(1, sizeof(*st));
	if (!st)
		return ra_dev_fail(dev, "out of memory");
	st->container = st->group = st->device = -1;
	dev->priv = st;
	if (open_group(dev, st, bdf, sysdir) != 0)
		return -1;

	struct vfio_region_info info;
	if (region_info(dev, st, VFIO_PCI_CONFIG_REGION_INDEX, &info) != 0)
		return -1;
	st->config_offset = info.offset;
	if (region_info(dev, st, VFIO_PCI_BAR0_REGION_INDEX + RA_IVSHMEM_REGS_BAR, &info) != 0)
		return -1;
	st->regs_offset = info.offset;
	if (region_info(dev, st, VFIO_PCI_BAR0_REGION_INDEX + RA_IVSHMEM_SHM_BAR, &info) != 0)
		return -1;
	if (info.size < RA_BAR_BYTES)
		return ra_dev_fail(dev, "BAR2 of %s is %llu bytes, smaller than an RA register file (%u)", bdf,
		                   (unsigned long long)info.size, RA_BAR_BYTES);
	if (!(info.flags & VFIO_REGION_INFO_FLAG_MMAP))
		return ra_dev_fail(dev, "VFIO does not allow mmap of BAR2 of %s", bdf);
	void *bar = mmap(NULL, RA_BAR_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, st->device, (off_t)info.offset);
	if (bar == MAP_FAILED)
		return ra_dev_fail(dev, "mmap of BAR2 through VFIO: %s", strerror(errno));
	dev->bar = bar;
	dev->bar_bytes = RA_BAR_BYTES;
	if (enable_bus_master(dev, st) != 0 || ra_dev_check_bar(dev) != 0)
		return -1;
	uint32_t position = 0;
	if (pread(st->device, &position, sizeof(position), (off_t)(st->regs_offset + RA_IVSHMEM_IVPOSITION)) !=
	    (ssize_t)sizeof(position))
		return ra_dev_fail(dev, "reading IVPosition: %s", strerror(errno));
	dev->peer_id = (int32_t)position;
	if (dev->peer_id < 1)
		return ra_dev_fail(dev, "ivshmem device %s has peer id %d: its chardev is not connected to the RA's socket",
		                   bdf, dev->peer_id);
	return attach_msix(dev, st);
}

static int vfio_ring(struct ra_dev *dev, uint32_t vector)
{
	struct vfio_state *st = dev->priv;
	const uint32_t adapter_peer = ((const volatile uint32_t *)dev->bar)[RA_REG_MODEL_PEER_ID / 4];
	const uint32_t value = (adapter_peer << 16) | vector; /* ra-spec §14.3 */
	if (pwrite(st->device, &value, sizeof(value), (off_t)(st->regs_offset + RA_IVSHMEM_DOORBELL)) !=
	    (ssize_t)sizeof(value))
		return ra_dev_fail(dev, "ringing doorbell %u: %s", vector, strerror(errno));
	return 0;
}

static void vfio_close(struct ra_dev *dev)
{
	struct vfio_state *st = dev->priv;
	if (st && st->irqs_set) {
		struct vfio_irq_set off = {.argsz = sizeof(off),
		                           .flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
		                           .index = VFIO_PCI_MSIX_IRQ_INDEX};
		ioctl(st->device, VFIO_DEVICE_SET_IRQS, &off);
	}
	for (int v = 0; v < RA_DEV_MAX_VECTORS; v++) {
		if (dev->irq_fds[v] >= 0)
			close(dev->irq_fds[v]);
		dev->irq_fds[v] = -1;
	}
	if (dev->bar)
		munmap(dev->bar, dev->bar_bytes);
	dev->bar = NULL;
	if (st) {
		if (st->device >= 0)
			close(st->device);
		if (st->group >= 0)
			close(st->group);
		if (st->container >= 0)
			close(st->container);
		free(st);
	}
	dev->priv = NULL;
}

const struct ra_backend_ops ra_vfio_backend = {
	.scheme = "vfio",
	.open = vfio_open_dev,
	.ring = vfio_ring,
	.close = vfio_close,
};
