/*
 * ra-bench - the C references the benchmarks compare against, measured in the same run
 * (scripts/bench/driver.mjs). Each mode runs one warm-up batch, then REPS timed batches, and prints
 * one JSON object with every batch's figure in "samples"; the caller takes the median.
 *
 *   ra-bench store FILE OFFSET N REPS      ns per seq_cst 32-bit store on a mapping of FILE
 *   ra-bench load FILE OFFSET N REPS       ns per seq_cst 32-bit load on a mapping of FILE
 *   ra-bench memcpy SRC SOFF DST DOFF BYTES COUNT REPS
 *                                          GB/s of COUNT memcpy calls of BYTES between two files
 *   ra-bench eventfd N REPS                us per eventfd round trip between two processes
 *   ra-bench spin N REPS                   us per shared-memory spin round trip between two processes
 *   ra-bench engine FUNCTION BYTES REPS    GB/s of aes-256-gcm or sha256 over BYTES in this process,
 *                                          with the OpenSSL EVP calls the device model's engines make
 *
 * Like with like: Atomics.store in V8 is a sequentially consistent store (xchg, or mov + mfence on
 * x86) and Atomics.load an ordered load, so the C loops use __atomic_*_n with __ATOMIC_SEQ_CST on
 * the same 64-word window the TypeScript loop touches.
 */
#include <errno.h>
#include <openssl/evp.h>
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

#define MAX_REPS 1000

/* The spin-wait hint: lets the sibling hyperthread run and saves power while spinning. */
#if defined(__x86_64__) || defined(__i386__)
#define cpu_relax() __builtin_ia32_pause()
#else
#define cpu_relax() __asm__ volatile("" ::: "memory")
#endif

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void *map_file(const char *path, size_t offset, size_t bytes)
{
	int fd = open(path, O_RDWR);
	if (fd < 0) {
		fprintf(stderr, "ra-bench: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	long page = sysconf(_SC_PAGESIZE);
	size_t skew = offset % (size_t)page;
	uint8_t *p = mmap(NULL, bytes + skew, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)(offset - skew));
	close(fd);
	if (p == MAP_FAILED) {
		fprintf(stderr, "ra-bench: mmap %s: %s\n", path, strerror(errno));
		exit(1);
	}
	return p + skew;
}

static void print_samples(const char *unit, const double *samples, int reps, const char *extra)
{
	printf("{\"unit\":\"%s\",\"samples\":[", unit);
	for (int r = 0; r < reps; r++)
		printf("%s%.4f", r ? "," : "", samples[r]);
	printf("]%s}\n", extra);
}

static int bench_store(const char *file, long offset, long n, int reps)
{
	uint32_t *reg = map_file(file, (size_t)offset, 64 * 4);
	double samples[MAX_REPS];
	for (int r = -1; r < reps; r++) { /* r = -1: warm-up */
		double t0 = now_ns();
		for (long i = 0; i < n; i++)
			__atomic_store_n(&reg[i & 63], (uint32_t)i, __ATOMIC_SEQ_CST);
		if (r >= 0)
			samples[r] = (now_ns() - t0) / (double)n;
	}
	print_samples("ns", samples, reps, "");
	return 0;
}

static int bench_load(const char *file, long offset, long n, int reps)
{
	uint32_t *reg = map_file(file, (size_t)offset, 64 * 4);
	double samples[MAX_REPS];
	uint32_t sum = 0;
	for (int r = -1; r < reps; r++) {
		double t0 = now_ns();
		for (long i = 0; i < n; i++)
			sum ^= __atomic_load_n(&reg[i & 63], __ATOMIC_SEQ_CST);
		if (r >= 0)
			samples[r] = (now_ns() - t0) / (double)n;
	}
	char extra[64];
	snprintf(extra, sizeof extra, ",\"checksum\":%u", sum); /* keeps the loads observable */
	print_samples("ns", samples, reps, extra);
	return 0;
}

/* memcpy between the same pages the DMA engine moves (the adapters' memory files, same offsets). */
static int bench_memcpy(const char *src_file, long src_off, const char *dst_file, long dst_off, size_t bytes,
			long count, int reps)
{
	uint8_t *src = map_file(src_file, (size_t)src_off, bytes);
	uint8_t *dst = map_file(dst_file, (size_t)dst_off, bytes);
	double samples[MAX_REPS];
	for (int r = -1; r < reps; r++) {
		double t0 = now_ns();
		for (long i = 0; i < count; i++) {
			memcpy(dst, src, bytes);
			__asm__ volatile("" ::: "memory"); /* every copy happens */
		}
		double t = now_ns() - t0;
		if (r >= 0)
			samples[r] = (double)bytes * (double)count / t; /* bytes per ns = GB/s */
	}
	print_samples("GB/s", samples, reps, "");
	return 0;
}

static int bench_eventfd(long n, int reps)
{
	int ping = eventfd(0, 0), pong = eventfd(0, 0);
	uint64_t v = 1;
	long total = n * (reps + 1);
	pid_t child = fork();
	if (child == 0) {
		for (long i = 0; i < total; i++) {
			if (read(ping, &v, 8) != 8 || write(pong, &v, 8) != 8)
				_exit(1);
		}
		_exit(0);
	}
	double samples[MAX_REPS];
	for (int r = -1; r < reps; r++) {
		double t0 = now_ns();
		for (long i = 0; i < n; i++) {
			if (write(ping, &v, 8) != 8 || read(pong, &v, 8) != 8)
				return 1;
		}
		if (r >= 0)
			samples[r] = (now_ns() - t0) / (double)n / 1e3;
	}
	waitpid(child, NULL, 0);
	print_samples("us", samples, reps, "");
	return 0;
}

/* Two counters on separate cache lines of a shared mapping; each side spins on the other's. */
static int bench_spin(long n, int reps)
{
	uint64_t *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		return 1;
	uint64_t *ping = &shared[0], *pong = &shared[16];
	long total = n * (reps + 1);
	pid_t child = fork();
	if (child == 0) {
		for (long i = 1; i <= total; i++) {
			while (__atomic_load_n(ping, __ATOMIC_ACQUIRE) != (uint64_t)i)
				cpu_relax();
			__atomic_store_n(pong, (uint64_t)i, __ATOMIC_RELEASE);
		}
		_exit(0);
	}
	double samples[MAX_REPS];
	long seq = 0;
	for (int r = -1; r < reps; r++) {
		double t0 = now_ns();
		for (long i = 0; i < n; i++) {
			seq++;
			__atomic_store_n(ping, (uint64_t)seq, __ATOMIC_RELEASE);
			while (__atomic_load_n(pong, __ATOMIC_ACQUIRE) != (uint64_t)seq)
				cpu_relax();
		}
		if (r >= 0)
			samples[r] = (now_ns() - t0) / (double)n / 1e3;
	}
	waitpid(child, NULL, 0);
	print_samples("us", samples, reps, "");
	return 0;
}

/* One pass of the engine over `in` (native/model/engines.c: EVP aes-256-gcm with a 12-byte IV and
 * a 16-byte tag, EVP sha256). Returns 0 on success. */
static int engine_pass(int aes, const uint8_t *in, uint8_t *out, size_t bytes)
{
	static const uint8_t key[32] = {1}, iv[12] = {2};
	int ok = 0, n = 0;
	if (aes) {
		EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
		ok = c && EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv) == 1;
		for (size_t at = 0; ok && at < bytes; at += 1u << 30) { /* EVP lengths are int */
			size_t len = bytes - at < (1u << 30) ? bytes - at : (1u << 30);
			ok = EVP_EncryptUpdate(c, out + at, &n, in + at, (int)len) == 1;
		}
		ok = ok && EVP_EncryptFinal_ex(c, out + bytes, &n) == 1 &&
		     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + bytes) == 1;
		EVP_CIPHER_CTX_free(c);
	} else {
		unsigned len = 0;
		ok = EVP_Digest(in, bytes, out, &len, EVP_sha256(), NULL) == 1;
	}
	return ok ? 0 : 1;
}

static int bench_engine(const char *function, size_t bytes, int reps)
{
	int aes = strcmp(function, "aes-256-gcm") == 0;
	if (!aes && strcmp(function, "sha256") != 0) {
		fprintf(stderr, "ra-bench: engine FUNCTION must be aes-256-gcm or sha256\n");
		return 2;
	}
	uint8_t *in = malloc(bytes), *out = malloc(bytes + 32);
	if (!in || !out)
		return 1;
	for (size_t i = 0; i < bytes; i++)
		in[i] = (uint8_t)(i * 131 + 7);
	double samples[MAX_REPS];
	for (int r = -1; r < reps; r++) {
		double t0 = now_ns();
		if (engine_pass(aes, in, out, bytes) != 0) {
			fprintf(stderr, "ra-bench: OpenSSL %s failed\n", function);
			return 1;
		}
		if (r >= 0)
			samples[r] = (double)bytes / (now_ns() - t0);
	}
	free(in);
	free(out);
	print_samples("GB/s", samples, reps, "");
	return 0;
}

static int reps_of(const char *s)
{
	int reps = atoi(s);
	if (reps < 1 || reps > MAX_REPS) {
		fprintf(stderr, "ra-bench: REPS must be 1..%d\n", MAX_REPS);
		exit(2);
	}
	return reps;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	if (argc == 6 && strcmp(mode, "store") == 0)
		return bench_store(argv[2], atol(argv[3]), atol(argv[4]), reps_of(argv[5]));
	if (argc == 6 && strcmp(mode, "load") == 0)
		return bench_load(argv[2], atol(argv[3]), atol(argv[4]), reps_of(argv[5]));
	if (argc == 9 && strcmp(mode, "memcpy") == 0)
		return bench_memcpy(argv[2], atol(argv[3]), argv[4], atol(argv[5]), (size_t)atol(argv[6]),
				    atol(argv[7]), reps_of(argv[8]));
	if (argc == 4 && strcmp(mode, "eventfd") == 0)
		return bench_eventfd(atol(argv[2]), reps_of(argv[3]));
	if (argc == 4 && strcmp(mode, "spin") == 0)
		return bench_spin(atol(argv[2]), reps_of(argv[3]));
	if (argc == 5 && strcmp(mode, "engine") == 0)
		return bench_engine(argv[2], (size_t)atol(argv[3]), reps_of(argv[4]));
	fprintf(stderr, "usage: ra-bench store|load FILE OFFSET N REPS | memcpy SRC SOFF DST DOFF BYTES COUNT REPS"
			" | eventfd N REPS | spin N REPS | engine FUNCTION BYTES REPS\n");
	return 2;
}
