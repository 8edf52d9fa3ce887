/*
 * engines.c - the function engines a job runs (ra-spec §12), in steps.
 *
 * A job has up to three phases, each done in steps of at most the caller's budget so that a 1 GiB
 * job shares the adapter with other queues (loop.c). No engine copies its input into a buffer of its
 * own, and none writes a private output where it can write the destination: a private buffer would be
 * a fresh allocation per job, every page of it a first-touch fault (about 20 us each on a virtual
 * machine that shadows page tables: 64 MiB of aes-256-gcm took 0.35 s against 0.02 s for the
 * encryption), then one more pass to copy it out. The engines read the source where it lies (the
 * descriptor's slices stay in place while it runs, §5.4, and the SIGBUS guard of dma.c covers every
 * phase); a holder that rewrites its input while the job runs changes only its own job's output. A job
 * stopped halfway (SIGBUS of a host region, a fabric peer gone) leaves the bytes it wrote, as a copy
 * does (§8.9).
 *   gather:  only a pipeline whose destination overlaps its source other than exactly: the input is
 *            first moved onto the destination (front to back or back to front, as a copy over itself
 *            is), then transformed there in place;
 *   compute: the engine runs. aes-256-gcm encrypts straight into the destination unless that overlaps
 *            the input other than exactly (OpenSSL encrypts in place, not over a shifted copy of its
 *            input). The pipeline folds its stages up to the first sha256/crc32c into one byte map and
 *            a direction (a per-byte map commutes with reversing the bytes' order) and makes one pass:
 *            into the destination when no stage shrinks the data, else through a small bounce buffer
 *            into the digest; the stages after that run on the digest's 32 bytes at most. matmul
 *            reads A and B where they lie and writes C straight into a destination apart from them;
 *            sha256 and crc32c output a few bytes;
 *   scatter: a private output is copied to the destination, which dma.c checked is large enough (§8.7:
 *            a descriptor that fails validation writes nothing): sha256, crc32c (4 or 32 bytes),
 *            aes-256-gcm over a shifted overlap, matmul over an overlap or a misaligned float array.
 * Engines: aes-256-gcm (OpenSSL EVP: out = ciphertext || 16-byte tag, no AAD, IV = PARAMS[0..11],
 * key = the job's inline key block (DESC_F_INLINE_KEY, §12.1) or else the context slice's SET_KEY
 * key), sha256 (32-byte digest), crc32c (4 bytes LE), the
 * pipeline of §12.2 (stages from the loaded image) and the matmul of the compute units.
 */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "bar.h"
#include "model.h"

#define RA_PIPELINE_MAGIC   0x4C504152u /* 'RAPL' */
#define RA_GCM_IV_BYTES     12
#define RA_GCM_TAG_BYTES    16
#define RA_MATMUL_DIM_MAX   4096
#define RA_BOUNCE_BYTES     (64u << 10) /* the pipeline's mapped bytes on their way into a digest */

enum pipeline_op { OP_XOR = 1, OP_ADD = 2, OP_REVERSE = 3, OP_SHA256 = 4, OP_CRC32C = 5, OP_ROTL = 6 };
enum job_phase { PHASE_GATHER, PHASE_COMPUTE, PHASE_SCATTER, PHASE_DONE };

struct ra_job {
    uint32_t function;
    enum job_phase phase;
    const uint8_t *src;
    uint8_t *dst;
    uint64_t in_bytes;
    uint64_t out_bytes;
    uint64_t pos;                  /* progress inside the phase */
    uint8_t *in;                   /* what the compute phase reads: src, or dst once the input is moved there */
    uint8_t *out;                  /* private output (freed with the job), or dst itself */
    bool out_borrowed;             /* out == dst: written in place, no scatter phase, not freed */
    uint8_t key[RA_MODEL_KEY_BYTES];
    uint8_t iv[RA_GCM_IV_BYTES];
    EVP_CIPHER_CTX *cipher;
    EVP_MD_CTX *md;
    uint32_t crc;
    struct ra_pipeline_stage stages[RA_MODEL_STAGES_MAX];
    uint32_t stage_count;
    uint32_t shrink_stage;         /* pipeline: the first sha256/crc32c stage, or stage_count */
    uint8_t map[256];              /* pipeline: the stages before shrink_stage folded, byte by byte */
    bool reversed;                 /* ... and whether they reverse the bytes' order (an odd count of REVERSE) */
    uint8_t *bounce;               /* pipeline with a shrink_stage: RA_BOUNCE_BYTES */
    uint8_t digest[32];            /* pipeline: the data from shrink_stage on (32 bytes at most) */
    uint32_t m, n, k;              /* matmul dimensions */
};

void ra_sha256(const uint8_t *data, size_t bytes, uint8_t out[32])
{
    unsigned int len = 32;
    EVP_Digest(data, bytes, out, &len, EVP_sha256(), NULL);
}

/* §12.2: u32 magic 'RAPL', u32 stage count 1..16, count x (u32 op, u32 arg); the rest is ignored. */
uint32_t ra_pipeline_parse(const uint8_t *payload, uint64_t bytes, struct ra_pipeline_stage *stages, uint32_t *count)
{
    if (bytes < 8 || le32(payload) != RA_PIPELINE_MAGIC)
        return RA_ERR_JOB_PARAMS;
    uint32_t n = le32(payload + 4);
    if (n < 1 || n > RA_MODEL_STAGES_MAX || bytes < 8 + (uint64_t)n * 8)
        return RA_ERR_JOB_PARAMS;
    for (uint32_t i = 0; i < n; i++) {
        stages[i].op = le32(payload + 8 + 8 * i);
        stages[i].arg = le32(payload + 12 + 8 * i);
        if (stages[i].op < OP_XOR || stages[i].op > OP_ROTL)
            return RA_ERR_JOB_PARAMS;
    }
    *count = n;
    return RA_ERR_OK;
}

static uint64_t pipeline_out_bytes(const struct ra_job_spec *spec)
{
    uint64_t bytes = spec->in_bytes;
    for (uint32_t i = 0; i < spec->stage_count; i++)
        bytes = spec->stages[i].op == OP_SHA256 ? 32 : spec->stages[i].op == OP_CRC32C ? 4 : bytes;
    return bytes;
}

/* Parameters and output size, without running anything (dma.c validates a chain first). */
uint32_t ra_job_check(const struct ra_job_spec *spec, uint64_t *out_bytes)
{
    if (spec->inline_key && spec->function != RA_FN_AES_256_GCM)
        return RA_ERR_JOB_PARAMS; /* §12.1: only aes-256-gcm takes a key block */
    switch (spec->function) {
    case RA_FN_AES_256_GCM:
        if (spec->inline_key) {
            if (spec->in_bytes <= RA_DESC_INLINE_KEY_BYTES)
                return RA_ERR_JOB_PARAMS; /* the key block and at least one byte of input */
            *out_bytes = spec->in_bytes - RA_DESC_INLINE_KEY_BYTES+ RA_GCM_TAG_BYTES;
            return RA_ERR_OK;
        }
        if (spec->key == NULL)
            return RA_ERR_JOB_PARAMS; /* no SLICE_SET_KEY on this context */
        *out_bytes = spec->in_bytes + RA_GCM_TAG_BYTES;
        return RA_ERR_OK;
    case RA_FN_SHA256:
        *out_bytes = 32;
        return RA_ERR_OK;
    case RA_FN_CRC32C:
        *out_bytes = 4;
        return RA_ERR_OK;
    case RA_FN_PIPELINE:
        if (spec->stage_count < 1 || spec->stage_count > RA_MODEL_STAGES_MAX)
            return RA_ERR_JOB_PARAMS;
        *out_bytes = pipeline_out_bytes(spec);
        return RA_ERR_OK;
    case RA_FN_MATMUL_F32: {
        uint64_t m = le32(spec->params), n = le32(spec->params + 4), k = le32(spec->params + 8);
        if (m < 1 || m > RA_MATMUL_DIM_MAX || n < 1 || n > RA_MATMUL_DIM_MAX || k < 1 || k > RA_MATMUL_DIM_MAX)
            return RA_ERR_JOB_PARAMS;
        if (spec->in_bytes != (m * k + k * n) * sizeof(float))
            return RA_ERR_JOB_PARAMS;
        *out_bytes = m * n * sizeof(float);
        return RA_ERR_OK;
    }
    default:
        return RA_ERR_FUNCTION;
    }
}

static bool apart(const uint8_t *src, uint64_t in_bytes, const uint8_t *dst, uint64_t out_bytes)
{
    uintptr_t s = (uintptr_t)src, d = (uintptr_t)dst;
    return d + out_bytes <= s || s + in_bytes <= d;
}

/* Can the engine write [dst, dst + out_bytes) while it reads [src, src + in_bytes) front to back?
 * Yes when the ranges are apart, or when dst is src (in place: each block is read before written). */
static bool writes_straight(const uint8_t *src, uint64_t in_bytes, const uint8_t *dst, uint64_t out_bytes)
{
    return dst == src || apart(src, in_bytes, dst, out_bytes);
}

static bool float_aligned(const uint8_t *p)
{
    return (uintptr_t)p % _Alignof(float) == 0;
}

static uint8_t stage_byte(const struct ra_pipeline_stage *st, uint8_t v)
{
    uint8_t arg = (uint8_t)(st->arg & 0xFF);
    unsigned rot = st->arg & 7;
    switch (st->op) {
    case OP_XOR:
        return v ^ arg;
    case OP_ADD:
        return (uint8_t)(v + arg);
    case OP_ROTL:
        return rot ? (uint8_t)((v << rot) | (v >> (8 - rot))) : v;
    default: /* OP_REVERSE moves bytes, it does not change them */
        return v;
    }
}

/* The stages before the first that shrinks the data, as one byte map and a direction. */
static void fold_stages(struct ra_job *job)
{
    uint32_t s = 0;
    while (s < job->stage_count && job->stages[s].op != OP_SHA256 && job->stages[s].op != OP_CRC32C)
        s++;
    job->shrink_stage = s;
    for (unsigned v = 0; v < 256; v++) {
        uint8_t b = (uint8_t)v;
        for (uint32_t i = 0; i < s; i++)
            b = stage_byte(&job->stages[i], b);
        job->map[v] = b;
    }
    for (uint32_t i = 0; i < s; i++)
        job->reversed ^= job->stages[i].op == OP_REVERSE;
}

struct ra_job *ra_job_new(const struct ra_job_spec *spec, const uint8_t *src, uint8_t *dst)
{
    uint64_t out_bytes = 0;
    if (ra_job_check(spec, &out_bytes) != RA_ERR_OK)
        return NULL;
    struct ra_job *job = calloc(1, sizeof *job);
    if (job == NULL)
        return NULL;
    job->function = spec->function;
    job->src = src;
    job->dst = dst;
    job->in_bytes = spec->in_bytes;
    job->out_bytes = out_bytes;
    job->crc = 0xFFFFFFFFu;
    job->phase = PHASE_COMPUTE;
    if (spec->inline_key) {
        /* §12.1: the key travels in the job's own memory, read once here (the caller holds the SIGBUS
         * guard); the input follows it. No other job's key can take its place. */
        memcpy(job->key, src, sizeof job->key);
        job->src = src + RA_DESC_INLINE_KEY_BYTES;
        job->in_bytes = spec->in_bytes - RA_DESC_INLINE_KEY_BYTES;
    }
    job->in = (uint8_t *)job->src; /* read where it lies (see the head of this file) */
    bool ok = true;
    switch (spec->function) {
    case RA_FN_AES_256_GCM:
        if (!spec->inline_key)
            memcpy(job->key, spec->key, sizeof job->key);
        memcpy(job->iv, spec->params, sizeof job->iv);
        job->out_borrowed = writes_straight(job->src, job->in_bytes, dst, out_bytes);
        job->out = job->out_borrowed ? dst : malloc(out_bytes);
        job->cipher = EVP_CIPHER_CTX_new();
        ok = job->out != NULL && job->cipher != NULL &&
             EVP_EncryptInit_ex(job->cipher, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
             EVP_CIPHER_CTX_ctrl(job->cipher, EVP_CTRL_GCM_SET_IVLEN, RA_GCM_IV_BYTES, NULL) == 1 &&
             EVP_EncryptInit_ex(job->cipher, NULL, NULL, job->key, job->iv) == 1;
        break;
    case RA_FN_SHA256:
    case RA_FN_CRC32C:
        job->out = malloc(out_bytes);
        ok = job->out != NULL;
        break;
    case RA_FN_MATMUL_F32:
        job->m = le32(spec->params);
        job->n = le32(spec->params + 4);
        job->k = le32(spec->params + 8);
        /* C's rows are written while A and B are still read; floats are read and written as floats */
        if (!float_aligned(job->src)) {
            job->in = malloc(job->in_bytes);
            job->phase = PHASE_GATHER;
        }
        job->out_borrowed = apart(job->src, job->in_bytes, dst, out_bytes) && float_aligned(dst);
        job->out = job->out_borrowed ? dst : malloc(out_bytes);
        ok = job->in != NULL && job->out != NULL;
        break;
    case RA_FN_PIPELINE:
        memcpy(job->stages, spec->stages, spec->stage_count * sizeof *spec->stages);
        job->stage_count = spec->stage_count;
        fold_stages(job);
        job->out_borrowed = true; /* the pass writes dst, or the digest is written there at the end */
        job->out = dst;
        if (job->shrink_stage < job->stage_count) {
            job->bounce = malloc(RA_BOUNCE_BYTES);
            ok = job->bounce != NULL;
        } else if (!writes_straight(job->src, job->in_bytes, dst, job->in_bytes)) {
            job->in = dst; /* moved there first, then transformed in place */
            job->phase = PHASE_GATHER;
        }
        break;
    }
    if (!ok) {
        ra_job_free(job);
        return NULL;
    }
    return job;
}

void ra_job_free(struct ra_job *job)
{
    if (job == NULL)
        return;
    EVP_CIPHER_CTX_free(job->cipher);
    EVP_MD_CTX_free(job->md);
    OPENSSL_cleanse(job->key, sizeof job->key);
    if (!job->out_borrowed)
        free(job->out);
    if (job->in != job->src && job->in != job->dst)
        free(job->in);
    free(job->bounce);
    free(job);
}

static uint64_t chunk_of(uint64_t left, uint64_t budget)
{
    uint64_t c = left < budget ? left : budget;
    return c < RA_MODEL_CHUNK_BYTES ? c : RA_MODEL_CHUNK_BYTES;
}

/* ---- compute steps: each returns the bytes worked on and sets *finished --------------------------- */

static uint64_t aes_step(struct ra_job *job, uint64_t budget, bool *finished, uint32_t *status)
{
    uint64_t c = chunk_of(job->in_bytes - job->pos, budget);
    int len = 0;
    if (c > 0 && EVP_EncryptUpdate(job->cipher, job->out + job->pos, &len, job->in + job->pos, (int)c) != 1) {
        *status = RA_ERR_JOB_PARAMS;
        return c;
    }
    job->pos += (uint64_t)len;
    if (job->pos == job->in_bytes) {
        int tail = 0;
        if (EVP_EncryptFinal_ex(job->cipher, job->out + job->pos, &tail) != 1 ||
            EVP_CIPHER_CTX_ctrl(job->cipher, EVP_CTRL_GCM_GET_TAG, RA_GCM_TAG_BYTES, job->out + job->in_bytes) != 1)
            *status = RA_ERR_JOB_PARAMS;
        *finished = true;
    }
    return c;
}

/* sha256 over data[pos..bytes) in steps; the digest goes to out. */
static uint64_t sha_step(struct ra_job *job, const uint8_t *data, uint64_t bytes, uint8_t *out, uint64_t budget,
                         bool *finished, uint32_t *status)
{
    if (job->md == NULL) {
        job->md = EVP_MD_CTX_new();
        if (job->md == NULL || EVP_DigestInit_ex(job->md, EVP_sha256(), NULL) != 1) {
            *status = RA_ERR_NO_RESOURCE;
            return 0;
        }
    }
    uint64_t c = chunk_of(bytes - job->pos, budget);
    if (EVP_DigestUpdate(job->md, data + job->pos, c) != 1) {
        *status = RA_ERR_JOB_PARAMS;
        return c;
    }
    job->pos += c;
    if (job->pos == bytes) {
        unsigned int len = 32;
        EVP_DigestFinal_ex(job->md, out, &len);
        EVP_MD_CTX_free(job->md);
        job->md = NULL;
        *finished = true;
    }
    return c;
}

static uint64_t crc_step(struct ra_job *job, const uint8_t *data, uint64_t bytes, uint8_t *out, uint64_t budget,
                         bool *finished)
{
    uint64_t c = chunk_of(bytes - job->pos, budget);
    job->crc = ra_crc32c_update(job->crc, data + job->pos, c);
    job->pos += c;
    if (job->pos == bytes) {
        uint32_t v = job->crc ^ 0xFFFFFFFFu;
        uint8_t le[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
        memcpy(out, le, sizeof le);
        job->crc = 0xFFFFFFFFu;
        *finished = true;
    }
    return c;
}

/* Stages [from, stage_count) over the digest (bytes long, 32 at most), at once. */
static uint64_t digest_stages(struct ra_job *job, uint32_t from, uint64_t bytes)
{
    uint8_t *d = job->digest;
    for (uint32_t i = from; i < job->stage_count; i++) {
        const struct ra_pipeline_stage *st = &job->stages[i];
        if (st->op == OP_SHA256) {
            uint8_t digest[32];
            ra_sha256(d, bytes, digest);
            memcpy(d, digest, sizeof digest);
            bytes = 32;
        } else if (st->op == OP_CRC32C) {
            uint32_t v = ra_crc32c_update(0xFFFFFFFFu, d, bytes) ^ 0xFFFFFFFFu;
            uint8_t le[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
            memcpy(d, le, sizeof le);
            bytes = 4;
        } else if (st->op == OP_REVERSE) {
            for (uint64_t j = 0; j < bytes / 2; j++) {
                uint8_t t = d[j];
                d[j] = d[bytes - 1 - j];
                d[bytes - 1 - j] = t;
            }
        } else {
            for (uint64_t j = 0; j < bytes; j++)
                d[j] = stage_byte(st, d[j]);
        }
    }
    return bytes;
}

/* Bytes [pos, pos + c) of the folded stages' output over `in` (in_bytes long) into `to`. */
static void map_range(const struct ra_job *job, const uint8_t *in, uint64_t pos, uint64_t c, uint8_t *to)
{
    if (job->reversed) {
        const uint8_t *last = in + job->in_bytes - 1 - pos;
        for (uint64_t i = 0; i < c; i++)
            to[i] = job->map[last[-(int64_t)i]];
    } else {
        for (uint64_t i = 0; i < c; i++)
            to[i] = job->map[in[pos + i]];
    }
}

/* A pipeline that keeps the data's length: one pass of the folded stages into dst. */
static uint64_t pipeline_pass_step(struct ra_job *job, uint64_t budget, bool *finished)
{
    uint64_t n = job->in_bytes;
    uint8_t *d = job->out;
    if (job->in == d && job->reversed) {
        /* in place and reversed: byte i and byte n-1-i trade places, both mapped (the middle one too) */
        uint64_t half = (n + 1) / 2;
        uint64_t c = chunk_of(half - job->pos, budget);
        for (uint64_t i = job->pos; i < job->pos + c; i++) {
            uint8_t x = d[i], y = d[n - 1 - i];
            d[i] = job->map[y];
            d[n - 1 - i] = job->map[x];
        }
        job->pos += c;
        *finished = job->pos == half;
        return c ? c : 1;
    }
    /* apart from the input, or in place front to back: each byte is read before it is written */
    uint64_t c = chunk_of(n - job->pos, budget);
    map_range(job, job->in, job->pos, c, d + job->pos);
    job->pos += c;
    *finished = job->pos == n;
    return c ? c : 1;
}

/* A pipeline with a sha256 or crc32c stage: the folded stages stream through the bounce buffer into
 * that digest; the later stages then run on the digest, which is written to dst at the end. */
static uint64_t pipeline_digest_step(struct ra_job *job, uint64_t budget, bool *finished, uint32_t *status)
{
    bool sha = job->stages[job->shrink_stage].op == OP_SHA256;
    if (sha && job->md == NULL) {
        job->md = EVP_MD_CTX_new();
        if (job->md == NULL || EVP_DigestInit_ex(job->md, EVP_sha256(), NULL) != 1) {
            *status = RA_ERR_NO_RESOURCE;
            return 0;
        }
    }
    uint64_t c = chunk_of(job->in_bytes - job->pos, budget);
    for (uint64_t done = 0; done < c;) {
        uint64_t b = c - done < RA_BOUNCE_BYTES ? c - done : RA_BOUNCE_BYTES;
        map_range(job, job->in, job->pos + done, b, job->bounce);
        if (!sha)
            job->crc = ra_crc32c_update(job->crc, job->bounce, b);
        else if (EVP_DigestUpdate(job->md, job->bounce, b) != 1) {
            *status = RA_ERR_JOB_PARAMS;
            return c;
        }
        done += b;
    }
    job->pos += c;
    if (job->pos < job->in_bytes)
        return c ? c : 1;
    uint64_t bytes = 4;
    if (sha) {
        unsigned int len = 32;
        EVP_DigestFinal_ex(job->md, job->digest, &len);
        bytes = 32;
    } else {
        uint32_t v = job->crc ^ 0xFFFFFFFFu;
        uint8_t le[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
        memcpy(job->digest, le, sizeof le);
    }
    bytes = digest_stages(job, job->shrink_stage + 1, bytes);
    memcpy(job->dst, job->digest, bytes); /* bytes == out_bytes (ra_job_check); the input is all read */
    *finished = true;
    return c ? c : 1;
}

static uint64_t matmul_step(struct ra_job *job, uint64_t budget)
{
    /* rows per step: about `budget` multiply-adds, at least one row */
    uint64_t per_row = (uint64_t)job->n * job->k;
    uint64_t rows = budget / per_row;
    if (rows == 0)
        rows = 1;
    if (rows > job->m - job->pos)
        rows = job->m - job->pos;
    const float *a = (const float *)job->in;
    const float *b = a + (size_t)job->m * job->k;
    ra_matmul_rows(a, b, (float *)job->out, (uint32_t)job->pos, (uint32_t)rows, job->n, job->k);
    job->pos += rows;
    return rows * per_row;
}

static uint64_t compute_step(struct ra_job *job, uint64_t budget, bool *finished, uint32_t *status)
{
    switch (job->function) {
    case RA_FN_AES_256_GCM:
        return aes_step(job, budget, finished, status);
    case RA_FN_SHA256:
        return sha_step(job, job->in, job->in_bytes, job->out, budget, finished, status);
    case RA_FN_CRC32C:
        return crc_step(job, job->in, job->in_bytes, job->out, budget, finished);
    case RA_FN_PIPELINE:
        return job->shrink_stage < job->stage_count ? pipeline_digest_step(job, budget, finished, status)
                                                    : pipeline_pass_step(job, budget, finished);
    default: { /* RA_FN_MATMUL_F32 */
        uint64_t n = matmul_step(job, budget);
        *finished = job->pos == job->m;
        return n;
    }
    }
}

uint64_t ra_job_step(struct ra_job *job, uint64_t budget_bytes, bool *finished, uint32_t *status)
{
    uint64_t c = 0;
    bool phase_done = false;
    *finished = false;
    switch (job->phase) {
    case PHASE_GATHER: {
        /* back to front when the copy lies ahead of an overlapping input, as a copy over itself */
        c = chunk_of(job->in_bytes - job->pos, budget_bytes);
        uint64_t off = job->in > job->src ? job->in_bytes - job->pos - c : job->pos;
        memmove(job->in + off, job->src + off, c);
        job->pos += c;
        phase_done = job->pos == job->in_bytes;
        break;
    }
    case PHASE_COMPUTE:
        c = compute_step(job, budget_bytes, &phase_done, status);
        break;
    case PHASE_SCATTER:
        c = chunk_of(job->out_bytes - job->pos, budget_bytes);
        memcpy(job->dst + job->pos, job->out + job->pos, c);
        job->pos += c;
        phase_done = job->pos == job->out_bytes;
        break;
    case PHASE_DONE:
        phase_done = true;
        break;
    }
    if (*status != RA_ERR_OK)
        return c;
    if (phase_done) {
        job->pos = 0;
        job->phase = job->phase == PHASE_DONE ? PHASE_DONE : job->phase + 1;
        if (job->phase == PHASE_SCATTER && job->out_borrowed)
            job->phase = PHASE_DONE; /* the engine wrote the destination itself */
    }
    *finished = job->phase == PHASE_DONE;
    return c;
}
