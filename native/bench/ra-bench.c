/*
 * ra-bench - the C references the driver benchmarks compare against, measured in the same run
 * (scripts/bench-driver.mjs). Prints one JSON object per invocation.
 *
 *   ra-bench reg FILE OFFSET N        volatile 32-bit store and load loops on a mapping of FILE
 *   ra-bench memcpy DIR BYTES REPS    memcpy between two MAP_SHARED files in DIR (as DMA sees memory)
 *   ra-bench pingpong N               eventfd round trip between two processes
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void *map_file(const char *path, size_t bytes, int create)
{
	int fd = open(path, O_RDWR | (create ? O_CREAT : 0), 0600);
	if (fd < 0 || (create && ftruncate(fd, (off_t)bytes) != 0)) {
		fprintf(stderr, "ra-bench: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		fprintf(stderr, "ra-bench: mmap %s: %s\n", path, strerror(errno));
		exit(1);
	}
	return p;
}

static int bench_reg(const char *file, long offset, long n)
{
	uint8_t *base = map_file(file, (size_t)offset + 4096, 0);
	volatile uint32_t *reg = (volatile uint32_t *)(base + offset);
	double t0 = now_ns();
	for (long i = 0; i < n; i++)
		reg[i & 63] = (uint32_t)i;
	double t1 = now_ns();
	uint32_t sum = 0;
	for (long i = 0; i < n; i++)
		sum += reg[i & 63];
	double t2 = now_ns();
	/* seq_cst stores, the C equivalent of Atomics.store */
	uint32_t *areg = (uint32_t *)(base + offset);
	for (long i = 0; i < n; i++)
		__atomic_store_n(&areg[i & 63], (uint32_t)i, __ATOMIC_SEQ_CST);
	double t3 = now_ns();
	printf("{\"writeNsPerOp\":%.3f,\"readNsPerOp\":%.3f,\"seqCstWriteNsPerOp\":%.3f,\"checksum\":%u}\n",
	       (t1 - t0) / n, (t2 - t1) / n, (t3 - t2) / n, sum);
	return 0;
}

static int bench_memcpy(const char *dir, size_t bytes, int reps)
{
	char a[4096], b[4096];
	snprintf(a, sizeof(a), "%s/bench-memcpy-a", dir);
	snprintf(b, sizeof(b), "%s/bench-memcpy-b", dir);
	uint8_t *src = map_file(a, bytes, 1), *dst = map_file(b, bytes, 1);
	memset(src, 0x5a, bytes);
	memset(dst, 0, bytes); /* fault the pages in, as the DMA measurement does with a warm-up */
	double best = 1e30;
	for (int r = 0; r < reps; r++) {
		double t0 = now_ns();
		memcpy(dst, src, bytes);
		double t = now_ns() - t0;
		if (t < best)
			best = t;
	}
	printf("{\"bytes\":%zu,\"bestSeconds\":%.9f,\"gbPerSec\":%.3f}\n", bytes, best / 1e9, bytes / best);
	munmap(src, bytes);
	munmap(dst, bytes);
	unlink(a);
	unlink(b);
	return 0;
}

static int bench_pingpong(long n)
{
	int ping = eventfd(0, 0), pong = eventfd(0, 0);
	uint64_t v = 1;
	pid_t child = fork();
	if (child == 0) {
		for (long i = 0; i < n; i++) {
			if (read(ping, &v, 8) != 8 || write(pong, &v, 8) != 8)
				_exit(1);
		}
		_exit(0);
	}
	double t0 = now_ns();
	for (long i = 0; i < n; i++) {
		if (write(ping, &v, 8) != 8 || read(pong, &v, 8) != 8)
			return 1;
	}
	double t = now_ns() - t0;
	waitpid(child, NULL, 0);
	printf("{\"roundTrips\":%ld,\"usPerRoundTrip\":%.3f}\n", n, t / n / 1e3);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "reg") == 0)
		return bench_reg(argv[2], atol(argv[3]), atol(argv[4]));
	if (argc == 5 && strcmp(argv[1], "memcpy") == 0)
		return bench_memcpy(argv[2], (size_t)atol(argv[3]), atoi(argv[4]));
	if (argc == 3 && strcmp(argv[1], "pingpong") == 0)
		return bench_pingpong(atol(argv[2]));
	fprintf(stderr, "usage: ra-bench reg FILE OFFSET N | memcpy DIR BYTES REPS | pingpong N\n");
	return 2;
}
