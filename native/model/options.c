/*
 * options.c - command line of ra-model: parse, validate, refuse with a clear message (exit 2).
 *
 * Every capability register of §3 that a test or a user may want to vary is an option here; the
 * defaults describe a mid-size adapter (8 GiB memory, 4 slots, 16 compute units).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "model.h"

static const char usage_text[] =
    "usage: ra-model --adapters N --dir DIR [options]\n"
    "\n"
    "Serves N reconfigurable adapters (RAs): DIR/ra<i>.bar (register file), DIR/ra<i>.mem (on-card\n"
    "memory, sparse) and DIR/ra<i>.sock (ivshmem-server protocol). Prints one line with 'ready' when\n"
    "every socket listens, with each adapter's fabric port (ports=P0,P1,...). SIGTERM/SIGINT remove\n"
    "the files and exit 0.\n"
    "\n"
    "  --adapters N          adapters to serve, 1..64 (fabric ports 0..N-1 without --fabric)\n"
    "  --dir DIR             existing directory for the files and sockets\n"
    "  --memory BYTES        on-card memory per adapter (default 8G; a multiple of --mem-align)\n"
    "  --slots N             programmable-logic slots, 1..32 (default 4)\n"
    "  --slot-bytes BYTES    largest image payload a slot accepts (default 16M)\n"
    "  --compute-units N     hardened matrix units, 1..65536 (default 16)\n"
    "  --contexts N          contexts per loaded engine, 1..65536 (default 8)\n"
    "  --slices N            slice table entries, 1..256 (default 256)\n"
    "  --queues N            DMA queue pairs, 1..16 (default 8)\n"
    "  --ring-depth N        ring entries, a power of two 1..256 (default 256)\n"
    "  --config-rate B/S     configuration port speed in bytes per second (default 1000000000)\n"
    "  --mem-align BYTES     memory slice granularity, a power of two >= 4K (default 2M)\n"
    "  --max-transfer BYTES  largest length one descriptor may carry, 4K..1T (default 1G)\n"
    "  --fabric DIR          join the fabric of the models sharing the existing directory DIR: their\n"
    "                        adapters' memory slices become reachable by DMA and these adapters'\n"
    "                        by theirs (ra-spec §8.9); the fabric has 256 ports\n"
    "  --fabric-base PORT    with --fabric: the adapters take ports PORT..PORT+N-1 (default: the\n"
    "                        lowest free ports of the fabric)\n"
    "  --help                print this text\n"
    "\n"
    "Sizes take the suffixes K, M, G, T (powers of 1024).\n"
    "Environment: RA_MODEL_DIE_WITH_PARENT=1 stops the model when its parent process dies.\n";

static void fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

static void fail(const char *fmt, ...)
{
    va_list ap;
    fputs(RA_MODEL_NAME ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n", stderr);
    exit(2);
}

/* A decimal number with an optional K/M/G/T suffix (powers of 1024). */
static uint64_t parse_size(const char *opt, const char *text, uint64_t min, uint64_t max)
{
    char *end = NULL;
    if (text[0] < '0' || text[0] > '9')
        fail("--%s must be a number (suffixes K, M, G, T allowed), got '%s'", opt, text);
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    unsigned shift = 0;
    if (*end != '\0') {
        switch (*end) {
        case 'K': case 'k': shift = 10; break;
        case 'M': case 'm': shift = 20; break;
        case 'G': case 'g': shift = 30; break;
        case 'T': case 't': shift = 40; break;
        default: fail("--%s must be a number (suffixes K, M, G, T allowed), got '%s'", opt, text);
        }
        if (end[1] != '\0')
            fail("--%s must be a number (suffixes K, M, G, T allowed), got '%s'", opt, text);
    }
    if (errno == ERANGE || (shift && v > (UINT64_MAX >> shift)))
        fail("--%s is too large, got '%s'", opt, text);
    uint64_t value = (uint64_t)v << shift;
    if (value < min || value > max)
        fail("--%s must be %llu..%llu, got %s", opt, (unsigned long long)min, (unsigned long long)max, text);
    return value;
}

static bool is_power_of_two(uint64_t v)
{
    return v != 0 && (v & (v - 1)) == 0;
}

enum {
    OPT_ADAPTERS = 1, OPT_DIR, OPT_MEMORY, OPT_SLOTS, OPT_SLOT_BYTES, OPT_COMPUTE_UNITS, OPT_CONTEXTS,
    OPT_SLICES, OPT_QUEUES, OPT_RING_DEPTH, OPT_CONFIG_RATE, OPT_MEM_ALIGN, OPT_MAX_TRANSFER, OPT_FABRIC, OPT_FABRIC_BASE, OPT_HELP,
};

void ra_options_parse(int argc, char **argv, struct ra_config *cfg)
{
    static const struct option options[] = {
        {"adapters", required_argument, NULL, OPT_ADAPTERS},
        {"dir", required_argument, NULL, OPT_DIR},
        {"memory", required_argument, NULL, OPT_MEMORY},
        {"slots", required_argument, NULL, OPT_SLOTS},
        {"slot-bytes", required_argument, NULL, OPT_SLOT_BYTES},
        {"compute-units", required_argument, NULL, OPT_COMPUTE_UNITS},
        {"contexts", required_argument, NULL, OPT_CONTEXTS},
        {"slices", required_argument, NULL, OPT_SLICES},
        {"queues", required_argument, NULL, OPT_QUEUES},
        {"ring-depth", required_argument, NULL, OPT_RING_DEPTH},
        {"config-rate", required_argument, NULL, OPT_CONFIG_RATE},
        {"mem-align", required_argument, NULL, OPT_MEM_ALIGN},
        {"max-transfer", required_argument, NULL, OPT_MAX_TRANSFER},
        {"fabric", required_argument, NULL, OPT_FABRIC},
        {"fabric-base", required_argument, NULL, OPT_FABRIC_BASE},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    *cfg = (struct ra_config){
        .adapters = 0,
        .dir = NULL,
        .memory_bytes = 8ull << 30,
        .slots = 4,
        .slot_bytes = 16u << 20,
        .compute_units = 16,
        .contexts = 8,
        .slices = RA_SLICE_MAX,
        .queues = 8,
        .ring_depth = RA_RING_MAX_DEPTH,
        .config_rate = 1000000000ull,
        .mem_align_bytes = 2ull << 20,
        .max_transfer_bytes = RA_MODEL_MAX_TRANSFER,
        .fabric_dir = NULL,
        .fabric_base = -1,
    };
    bool have_adapters = false;
    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, ":", options, NULL);
        if (c == -1)
            break;
        switch (c) {
        case OPT_ADAPTERS:
            cfg->adapters = (unsigned)parse_size("adapters", optarg, 1, RA_MODEL_ADAPTERS_MAX);
            have_adapters = true;
            break;
        case OPT_DIR:
            if (optarg[0] == '\0')
                fail("--dir must name a directory, got ''");
            cfg->dir = optarg;
            break;
        case OPT_MEMORY: cfg->memory_bytes = parse_size("memory", optarg, 1, 1ull << 46); break;
        case OPT_SLOTS: cfg->slots = (uint32_t)parse_size("slots", optarg, 1, RA_SLOT_MAX); break;
        case OPT_SLOT_BYTES: cfg->slot_bytes = (uint32_t)parse_size("slot-bytes", optarg, 1, UINT32_MAX); break;
        case OPT_COMPUTE_UNITS:
            cfg->compute_units = (uint32_t)parse_size("compute-units", optarg, 1, 65536);
            break;
        case OPT_CONTEXTS: cfg->contexts = (uint32_t)parse_size("contexts", optarg, 1, 65536); break;
        case OPT_SLICES: cfg->slices = (uint32_t)parse_size("slices", optarg, 1, RA_SLICE_MAX); break;
        case OPT_QUEUES: cfg->queues = (uint32_t)parse_size("queues", optarg, 1, RA_QUEUE_MAX); break;
        case OPT_RING_DEPTH:
            cfg->ring_depth = (uint32_t)parse_size("ring-depth", optarg, 1, RA_RING_MAX_DEPTH);
            if (!is_power_of_two(cfg->ring_depth))
                fail("--ring-depth must be a power of two 1..%d, got %s", RA_RING_MAX_DEPTH, optarg);
            break;
        case OPT_CONFIG_RATE: cfg->config_rate = parse_size("config-rate", optarg, 1, UINT64_MAX); break;
        case OPT_MEM_ALIGN:
            cfg->mem_align_bytes = parse_size("mem-align", optarg, 4096, 1ull << 40);
            if (!is_power_of_two(cfg->mem_align_bytes))
                fail("--mem-align must be a power of two >= 4096, got %s", optarg);
            break;
        case OPT_MAX_TRANSFER:
            cfg->max_transfer_bytes = parse_size("max-transfer", optarg, 4096, 1ull << 40);
            break;
        case OPT_FABRIC:
            if (optarg[0] == '\0')
                fail("--fabric must name a directory, got ''");
            cfg->fabric_dir = optarg;
            break;
        case OPT_FABRIC_BASE:
            cfg->fabric_base = (int)parse_size("fabric-base", optarg, 0, RA_LOC_FABRIC_PORTS - 1);
            break;
        case OPT_HELP:
            fputs(usage_text, stdout);
            exit(0);
        case ':':
            fail("%s needs a value; see --help", argv[optind - 1]);
        default:
            fail("unknown option '%s'; see --help", argv[optind - 1]);
        }
    }
    if (optind < argc)
        fail("unexpected argument '%s'; see --help", argv[optind]);
    if (!have_adapters)
        fail("--adapters is required (1..%d); see --help", RA_MODEL_ADAPTERS_MAX);
    if (cfg->dir == NULL)
        fail("--dir is required: an existing directory for the adapter files; see --help");
    if (cfg->memory_bytes % cfg->mem_align_bytes != 0)
        fail("--memory must be a multiple of --mem-align (%llu), got %llu",
             (unsigned long long)cfg->mem_align_bytes, (unsigned long long)cfg->memory_bytes);

    if (cfg->fabric_base >= 0 && cfg->fabric_dir == NULL)
        fail("--fabric-base needs --fabric DIR (the fabric whose ports it numbers); see --help");
    if (cfg->fabric_base >= 0 && (unsigned)cfg->fabric_base + cfg->adapters > RA_LOC_FABRIC_PORTS)
        fail("--fabric-base %d with %u adapters passes the last fabric port %d; use a base <= %u", cfg->fabric_base,
             cfg->adapters, RA_LOC_FABRIC_PORTS - 1, RA_LOC_FABRIC_PORTS - cfg->adapters);
    struct stat st;
    if (cfg->fabric_dir != NULL && (stat(cfg->fabric_dir, &st) != 0 || !S_ISDIR(st.st_mode)))
        fail("--fabric %s is not a directory; create it first (every model of the fabric names the same one)",
             cfg->fabric_dir);
    if (stat(cfg->dir, &st) != 0)
        fail("--dir %s: %s; create the directory first", cfg->dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        fail("--dir %s is not a directory", cfg->dir);
    struct sockaddr_un sun;
    size_t longest = strlen(cfg->dir) + sizeof("/ra63.sock");
    if (longest > sizeof(sun.sun_path))
        fail("--dir %s is too long for a unix socket path (at most %zu bytes); use a shorter path", cfg->dir,
             sizeof(sun.sun_path) - sizeof("/ra63.sock"));
}
