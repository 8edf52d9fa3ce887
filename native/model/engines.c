/*
 * engines.c - the function engines a job runs (ra-spec §12), in steps.
 *
 * A job has three phases, each done in steps of at most the caller's budget so that a 1 GiB job
 * shares the adapter with other queues (loop.c):
 *   gather:  the input is copied into a private buffer (the pipeline transforms it in place, the
 *            matrix engine reads it many times). aes-256-gcm, sha256 and crc32c read their input
 *            once, front to back, into a private output: they skip this phase and read the source
 *            where it lies (a 64 MiB job then moves 64 MiB less; the descriptor's slices stay in
 *            place while it runs, §5.4, and the SIGBUS guard of dma.c covers every phase). A holder
 *            that rewrites its input while the job runs changes only its own job's output;
 *   compute: the engine runs over the private copy into a private output;
 *   scatter: the output is copied to the destination, which dma.c checked is large enough (§8.7:
 *            a descriptor that fails validation writes nothing).
 *            aes-256-gcm, whose output is as large as its input, skips it: it encrypts straight
 *            into the destination unless that overlaps the input other than exactly (OpenSSL
 *            encrypts in place, not over a shifted copy of its input). A private output would be a
 *            fresh allocation per job: every page of it a first-touch fault (about 20 µs each on a
 *            virtual machine that shadows page tables: 64 MiB took 0.35 s against 0.02 s for the
 *            encryption), then one more pass to copy it out. A job stopped halfway (SIGBUS of a
 *            host region, a fabric peer gone) leaves the bytes it wrote, as a copy does (§8.9).
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

enum pipeline_op { OP_XOR = 1, OP_ADD = 2, OP_REVERSE = 3, OP_SHA256 = 4, OP_CRC32C = 5, OP_ROTL = 6 };
enum job_phase { PHASE_GATHER, PHASE_COMPUTE, PHASE_SCATTER, PHASE_DONE };

struct ra_job {
    uint32_t function;
    enum job_phase phase;
    const uint8_t *src;
    uint8_t *dst;
    uint64_t in_bytes;
    uint64_t out_bytes;
    uint64_t pos;                  /* progress inside the phase (or the stage) */
    uint8_t *in;                   /* private input (the pipeline transforms it in place), or src itself */
    bool in_borrowed;              /* in == src: read where it lies, never written, not freed */
    uint8_t *out;                  /* private output (points into `in` for the pipeline), or dst itself */
    bool out_borrowed;             /* out == dst: written in place, no scatter phase, not freed */
    uint8_t key[RA_MODEL_KEY_BYTES];
    uint8_t iv[RA_GCM_IV_BYTES];
    EVP_CIPHER_CTX *cipher;
    EVP_MD_CTX *md;
    uint32_t crc;
    struct ra_pipeline_stage stages[RA_MODEL_STAGES_MAX];
    uint32_t stage_count;
    uint32_t stage;
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

/* Can the engine write [dst, dst + out_bytes) while it reads [src, src + in_bytes) front to back?
 * Yes when the ranges are apart, or when dst is src (in place: each block is read before written). */
static bool writes_straight(const uint8_t *src, uint64_t in_bytes, const uint8_t *dst, uint64_t out_bytes)
{
    uintptr_t s = (uintptr_t)src, d = (uintptr_t)dst;
    return d == s || d + out_bytes <= s || s + in_bytes <= d;
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
    if (spec->inline_key) {
        /* §12.1: the key travels in the job's own memory, read once here (the caller holds the SIGBUS
         * guard); the input follows it. No other job's key can take its place. */
        memcpy(job->key, src, sizeof job->key);
        job->src = src + RA_DESC_INLINE_KEY_BYTES;
        job->in_bytes = spec->in_bytes - RA_DESC_INLINE_KEY_BYTES;
    }
    /* one pass over the input into a private output: read it where it lies (no gather, see above) */
    job->in_borrowed = spec->function == RA_FN_AES_256_GCM || spec->function == RA_FN_SHA256 ||
                       spec->function == RA_FN_CRC32C;
    job->in = job->in_borrowed ? (uint8_t *)job->src : malloc(job->in_bytes);
    if (job->in_borrowed)
        job->phase = PHASE_COMPUTE;
    bool ok = job->in != NULL;
    switch (spec->function) {
    case RA_FN_AES_256_GCM:
        if (!spec->inline_key)
            memcpy(job->key, spec->key, sizeof job->key);
        memcpy(job->iv, spec->params, sizeof job->iv);
        job->out_borrowed = writes_straight(job->src, job->in_bytes, dst, out_bytes);
        job->out = job->out_borrowed ? dst : malloc(out_bytes);
        job->cipher = EVP_CIPHER_CTX_new();
        ok = ok && job->out != NULL && job->cipher != NULL &&
             EVP_EncryptInit_ex(job->cipher, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
             EVP_CIPHER_CTX_ctrl(job->cipher, EVP_CTRL_GCM_SET_IVLEN, RA_GCM_IV_BYTES, NULL) == 1 &&
             EVP_EncryptInit_ex(job->cipher, NULL, NULL, job->key, job->iv) == 1;
        break;
    case RA_FN_SHA256:
    case RA_FN_CRC32C:
    case RA_FN_MATMUL_F32:
        job->out = malloc(out_bytes);
        ok = ok && job->out != NULL;
        if (spec->function == RA_FN_MATMUL_F32) {
            job->m = le32(spec->params);
            job->n = le32(spec->params + 4);
            job->k = le32(spec->params + 8);
        }
        break;
    case RA_FN_PIPELINE:
        memcpy(job->stages, spec->stages, spec->stage_count * sizeof *spec->stages);
        job->stage_count = spec->stage_count;
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
    if (job->out != job->in && !job->out_borrowed)
        free(job->out);
    if (!job->in_borrowed)
        free(job->in);
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

/* sha256 over data[pos..bytes) in steps; the digest goes to out. Used by the engine and a stage. */
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

/* One step of the current pipeline stage over the working buffer `in` (length out_bytes so far). */
static uint64_t pipeline_step(struct ra_job *job, uint64_t budget, bool *finished, uint32_t *status)
{
    const struct ra_pipeline_stage *st = &job->stages[job->stage];
    uint8_t *d = job->in;
    uint64_t bytes = job->out_bytes;
    uint8_t arg = (uint8_t)(st->arg & 0xFF);
    bool stage_done = false;
    uint64_t c;
    switch (st->op) {
    case OP_XOR:
    case OP_ADD:
    case OP_ROTL: {
        c = chunk_of(bytes - job->pos, budget);
        unsigned rot = st->arg & 7;
        for (uint64_t i = job->pos; i < job->pos + c; i++) {
            if (st->op == OP_XOR)
                d[i] ^= arg;
            else if (st->op == OP_ADD)
                d[i] = (uint8_t)(d[i] + arg);
            else
                d[i] = rot ? (uint8_t)((d[i] << rot) | (d[i] >> (8 - rot))) : d[i];
        }
        job->pos += c;
        stage_done = job->pos == bytes;
        break;
    }
    case OP_REVERSE: {
        uint64_t half = bytes / 2;
        c = chunk_of(half - job->pos, budget);
        for (uint64_t i = job->pos; i < job->pos + c; i++) {
            uint8_t t = d[i];
            d[i] = d[bytes - 1 - i];
            d[bytes - 1 - i] = t;
        }
        job->pos += c;
        stage_done = job->pos == half;
        break;
    }
    case OP_SHA256: {
        uint8_t digest[32];
        c = sha_step(job, d, bytes, digest, budget, &stage_done, status);
        if (stage_done) {
            memcpy(d, digest, sizeof digest); /* the data becomes its digest */
            job->out_bytes = 32;
        }
        break;
    }
    default: { /* OP_CRC32C */
        uint8_t crc[4];
        c = crc_step(job, d, bytes, crc, budget, &stage_done);
        if (stage_done) {
            memcpy(d, crc, sizeof crc);
            job->out_bytes = 4;
        }
        break;
    }
    }
    if (stage_done) {
        job->pos = 0;
        if (++job->stage == job->stage_count) {
            job->out = job->in;
            *finished = true;
        }
    }
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
        return pipeline_step(job, budget, finished, status);
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
    case PHASE_GATHER:
        c = chunk_of(job->in_bytes - job->pos, budget_bytes);
        memcpy(job->in + job->pos, job->src + job->pos, c);
        job->pos += c;
        phase_done = job->pos == job->in_bytes;
        break;
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
        if (job->phase == PHASE_COMPUTE && job->function == RA_FN_PIPELINE)
            job->out_bytes = job->in_bytes; /* the working length, changed by SHA/CRC stages */
    }
    *finished = job->phase == PHASE_DONE;
    return c;
}
