/*
 * dax_memory.c - adapter memory through a CXL region in devdax mode: "dax:///dev/dax0.0".
 *
 * Inside a QEMU guest an RA's memory is a cxl-type3 volatile device; once its region is created and
 * its DAX device is in devdax mode (qemu/README.md), /dev/daxX.Y maps it directly, and byte X of
 * the mapping is byte X of the adapter's memory (the region's endpoint decoder starts at DPA 0).
 * devdax only maps whole alignment units (sysfs "align", usually 2 MiB), so offset and length must
 * be multiples of it: a misaligned request gets an error here rather than EINVAL from mmap.
 */
#include "ra_dev.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static int sysfs_u64(const char *dir, const char *name, uint64_t *value)
{
	char path[256], text[64];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (ra_sysfs_read(path, text, sizeof(text)) != 0)
		return -1;
	*value = strtoull(text, NULL, 0);
	return 0;
}

static int dax_map(const char *path, uint64_t offset, uint64_t bytes, void **addr, char *errbuf, size_t errlen)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		snprintf(errbuf, errlen,
		         "%s: %s (the guest has no CXL region in devdax mode: create the region and run "
		         "daxctl reconfigure-device --mode=devdax)",
		         path, strerror(errno));
		return -1;
	}
	if (!S_ISCHR(st.st_mode)) {
		snprintf(errbuf, errlen, "%s is not a DAX character device", path);
		return -1;
	}
	char sysdir[128];
	snprintf(sysdir, sizeof(sysdir), "/sys/dev/char/%u:%u", major(st.st_rdev), minor(st.st_rdev));
	uint64_t size = 0, align = 0;
	if (sysfs_u64(sysdir, "size", &size) != 0 || sysfs_u64(sysdir, "align", &align) != 0 || align == 0) {
		snprintf(errbuf, errlen, "%s: cannot read size/align from %s: not a devdax device?", path, sysdir);
		return -1;
	}
	if (bytes == 0 || offset > size || bytes > size - offset) {
		snprintf(errbuf, errlen, "%s: [%" PRIu64 ", +%" PRIu64 ") is outside the device (%" PRIu64 " bytes)", path,
		         offset, bytes, size);
		return -1;
	}
	if (offset % align != 0 || bytes % align != 0) {
		snprintf(errbuf, errlen, "%s: offset %" PRIu64 " and length %" PRIu64 " must be multiples of %" PRIu64
		         " bytes (the device's alignment)", path, offset, bytes, align);
		return -1;
	}
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		snprintf(errbuf, errlen, "open %s: %s", path, strerror(errno));
		return -1;
	}
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)offset);
	int e = errno;
	close(fd);
	if (p == MAP_FAILED) {
		snprintf(errbuf, errlen, "mmap %s: %s", path, strerror(e));
		return -1;
	}
	*addr = p;
	return 0;
}

const struct ra_mem_ops ra_dax_memory = {
	.scheme = "dax",
	.map = dax_map,
};
