/* See dg_deflate.h.  Built against vendor/zlib (its inflate only to find
 * where a stream's blocks start). */
#include "dg_deflate.h"

#include <stdlib.h>
#include <string.h>

#include "dg_zlib_api.h"
#include "zlib.h"

#define CHUNK_OUT 65536
#define CHUNK_IN ((uInt)1 << 30)
#define BLOCKS 8 /* deflateInit2 asks for five */
#define DICTIONARY 32768 /* pigz primes each chunk with this much input */

const char *dg_zlib_version(void) { return zlibVersion(); }

/* A deflate stream's parameters and the memory zlib asked for last time.
 * The stream is set up afresh for every use: a reset stream keeps the
 * previous input in its window, and deflate's last hashes read past the
 * input, so its output would depend on what it deflated before.  But it is
 * set up from blocks kept and cleared here, so a small member costs no
 * allocation (some 256 KiB, mapped and faulted in anew each time). */
struct dg_deflater {
    dg_deflate_params params;
    const dg_zlib_api *zlib; /* the stock or the GNU gzip build */
    void *block[BLOCKS];
    size_t size[BLOCKS];
    int in_use[BLOCKS];
};

/* zlib built with Z_SOLO has no default allocator: cleared memory, as
 * calloc gives, from a kept block of that size where there is one. */
static voidpf dg_zalloc(voidpf opaque, uInt items, uInt size) {
    struct dg_deflater *d = opaque;
    size_t want = (size_t)items * size;
    int free_slot = -1;
    for (int i = 0; i < BLOCKS; i++) {
        if (d->block[i] != NULL && !d->in_use[i] && d->size[i] == want) {
            d->in_use[i] = 1;
            return memset(d->block[i], 0, want);
        }
        if (d->block[i] == NULL && free_slot < 0)
            free_slot = i;
    }
    void *block = calloc(items, size);
    if (block != NULL && free_slot >= 0) {
        d->block[free_slot] = block;
        d->size[free_slot] = want;
        d->in_use[free_slot] = 1;
    }
    return block;
}

static void dg_zfree(voidpf opaque, voidpf address) {
    struct dg_deflater *d = opaque;
    for (int i = 0; i < BLOCKS; i++) {
        if (d->block[i] == address) {
            d->in_use[i] = 0; /* kept for the next use */
            return;
        }
    }
    free(address);
}

static int check(const dg_deflate_params *p) {
    if (p->level < 0 || p->level > 9 || p->window_bits < 9 || p->window_bits > 15 ||
        p->mem_level < 1 || p->mem_level > 9 || p->strategy < 0 || p->strategy > Z_FIXED ||
        p->family < DG_FAMILY_ZLIB || p->family > DG_FAMILY_INFOZIP ||
        (p->family == DG_FAMILY_PIGZ) != (p->block != 0) ||
        (p->block != 0 && p->block < DICTIONARY))
        return DG_DEFLATE_ERR_PARAMS;
    return DG_DEFLATE_OK;
}

dg_deflater *dg_deflater_new(const dg_deflate_params *params, int *error) {
    *error = check(params);
    if (*error != DG_DEFLATE_OK)
        return NULL;
    dg_deflater *d = calloc(1, sizeof(*d));
    if (d == NULL) {
        *error = DG_DEFLATE_ERR_NOMEM;
        return NULL;
    }
    d->params = *params;
    int stock = params->family == DG_FAMILY_ZLIB || params->family == DG_FAMILY_PIGZ;
    d->zlib = stock ? &dg_zlib_stock : &dg_zlib_gnu;
    return d;
}

void dg_deflater_free(dg_deflater *d) {
    if (d == NULL)
        return;
    for (int i = 0; i < BLOCKS; i++)
        free(d->block[i]);
    free(d);
}

/* Where output goes: take() returns DG_DEFLATE_OK to go on, anything else
 * stops the deflate with that result. */
typedef struct {
    int (*take)(void *ctx, const uint8_t *bytes, size_t n);
    void *ctx;
} sink;

#define STOP 2 /* a sink's "enough": the probe matched */

static int start(dg_deflater *d, z_stream *zs) {
    const dg_deflate_params *p = &d->params;
    memset(zs, 0, sizeof(*zs));
    zs->zalloc = dg_zalloc;
    zs->zfree = dg_zfree;
    zs->opaque = d;
    switch (d->zlib->init(zs, p->level, -p->window_bits, p->mem_level, p->strategy)) {
    case Z_OK:
        if (p->family == DG_FAMILY_BUSYBOX || p->family == DG_FAMILY_INFOZIP)
            d->zlib->gnu_end(zs, p->family == DG_FAMILY_BUSYBOX ? DG_GNU_END_GZIP : 0);
        return DG_DEFLATE_OK;
    case Z_MEM_ERROR:
        return DG_DEFLATE_ERR_NOMEM;
    default:
        return DG_DEFLATE_ERR_PARAMS;
    }
}

/* Deflate with `flush` until the stream has taken all its input and, but
 * for Z_NO_FLUSH, given all the output the flush asks for. */
static int pump(dg_deflater *d, z_stream *zs, int flush, sink *out, uint8_t *scratch) {
    for (;;) {
        zs->next_out = scratch;
        zs->avail_out = CHUNK_OUT;
        int rc = d->zlib->deflate(zs, flush);
        size_t produced = CHUNK_OUT - zs->avail_out;
        if (produced) {
            int taken = out->take(out->ctx, scratch, produced);
            if (taken != DG_DEFLATE_OK)
                return taken;
        }
        if (rc == Z_STREAM_END)
            return DG_DEFLATE_OK;
        if (rc != Z_OK && rc != Z_BUF_ERROR)
            return DG_DEFLATE_ERR_PARAMS;
        if (flush != Z_FINISH && zs->avail_in == 0 && zs->avail_out != 0)
            return DG_DEFLATE_OK;
    }
}

/* One stream over in[0..len): fed in uInt-sized slices, the last with
 * `flush`. */
static int feed(dg_deflater *d, z_stream *zs, const uint8_t *in, size_t len, int flush,
                sink *out, uint8_t *scratch) {
    size_t fed = 0;
    do {
        size_t n = len - fed > CHUNK_IN ? CHUNK_IN : len - fed;
        zs->next_in = (z_const Bytef *)(in + fed);
        zs->avail_in = (uInt)n;
        fed += n;
        int rc = pump(d, zs, fed == len ? flush : Z_NO_FLUSH, out, scratch);
        if (rc != DG_DEFLATE_OK)
            return rc;
    } while (fed < len);
    return DG_DEFLATE_OK;
}

/* pigz's end of a chunk that is not the last: the block ended (Z_BLOCK),
 * then a byte boundary reached with an empty stored block if an odd number
 * of bits is pending, else with empty fixed blocks (10 bits each). */
static int end_chunk(dg_deflater *d, z_stream *zs, sink *out, uint8_t *scratch) {
    int rc = pump(d, zs, Z_BLOCK, out, scratch), bits = 0;
    if (rc != DG_DEFLATE_OK)
        return rc;
    d->zlib->pending_bits(zs, &bits);
    if (bits & 1)
        return pump(d, zs, Z_SYNC_FLUSH, out, scratch);
    if (!(bits & 7))
        return DG_DEFLATE_OK;
    do {
        if (d->zlib->prime(zs, 10, 2) != Z_OK)
            return DG_DEFLATE_ERR_PARAMS;
        d->zlib->pending_bits(zs, &bits);
    } while (bits & 7);
    return pump(d, zs, Z_BLOCK, out, scratch);
}

/* The whole deflate of in[0..in_len) into `out`, as the family makes it. */
static int run(dg_deflater *d, const uint8_t *in, size_t in_len, sink *out) {
    uint8_t scratch[CHUNK_OUT];
    size_t chunk = d->params.block ? d->params.block : in_len, at = 0;
    for (;;) {
        size_t n = in_len - at < chunk ? in_len - at : chunk;
        int last = at + n == in_len;
        z_stream zs;
        int rc = start(d, &zs);
        if (rc != DG_DEFLATE_OK)
            return rc;
        if (at) {
            size_t primed = at < DICTIONARY ? at : DICTIONARY;
            if (d->zlib->set_dictionary(&zs, in + at - primed, (unsigned)primed) != Z_OK)
                rc = DG_DEFLATE_ERR_PARAMS;
        }
        if (rc == DG_DEFLATE_OK)
            rc = feed(d, &zs, in + at, n, last ? Z_FINISH : Z_BLOCK, out, scratch);
        if (rc == DG_DEFLATE_OK && !last)
            rc = end_chunk(d, &zs, out, scratch);
        d->zlib->end(&zs);
        if (rc != DG_DEFLATE_OK || last)
            return rc;
        at += n;
    }
}

typedef struct {
    const uint8_t *expected;
    size_t expected_len, done, probe;
} comparison;

static int compare(void *ctx, const uint8_t *bytes, size_t n) {
    comparison *c = ctx;
    if (n > c->expected_len - c->done || memcmp(bytes, c->expected + c->done, n) != 0)
        return DG_DEFLATE_MISMATCH;
    c->done += n;
    return c->probe && c->done >= c->probe ? STOP : DG_DEFLATE_OK;
}

int dg_deflate_matches(dg_deflater *d, const uint8_t *in, size_t in_len,
                       const uint8_t *expected, size_t expected_len, size_t probe) {
    comparison c = {expected, expected_len, 0, probe};
    sink out = {compare, &c};
    int rc = run(d, in, in_len, &out);
    if (rc == STOP)
        return DG_DEFLATE_OK; /* enough of the output matched to go on with a full try */
    if (rc == DG_DEFLATE_OK && c.done != expected_len)
        return DG_DEFLATE_MISMATCH;
    return rc;
}

typedef struct {
    uint8_t *out;
    size_t out_len, done;
} placement;

static int place(void *ctx, const uint8_t *bytes, size_t n) {
    placement *p = ctx;
    if (n > p->out_len - p->done)
        return DG_DEFLATE_ERR_OUTPUT; /* longer than recorded: an error, not truncated */
    memcpy(p->out + p->done, bytes, n);
    p->done += n;
    return DG_DEFLATE_OK;
}

int dg_deflate(dg_deflater *d, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len) {
    placement p = {out, out_len, 0};
    sink to = {place, &p};
    int rc = run(d, in, in_len, &to);
    if (rc == DG_DEFLATE_OK && p.done != out_len)
        return DG_DEFLATE_ERR_OUTPUT;
    return rc;
}

/* -- restarts -------------------------------------------------------------- */

static voidpf plain_alloc(voidpf opaque, uInt items, uInt size) {
    (void)opaque;
    return calloc(items, size);
}

static void plain_free(voidpf opaque, voidpf address) {
    (void)opaque;
    free(address);
}

int dg_deflate_blocks(const uint8_t *stream, size_t len, size_t content_len, size_t spacing,
                      uint64_t *bits, uint64_t *offsets, size_t cap, size_t *count) {
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    zs.zalloc = plain_alloc;
    zs.zfree = plain_free;
    *count = 0;
    if (inflateInit2(&zs, -15) != Z_OK)
        return DG_DEFLATE_ERR_NOMEM;
    uint8_t scratch[CHUNK_OUT]; /* the content is not kept: inflate keeps its window */
    size_t fed = 0, last = 0, out = 0;
    int result = DG_DEFLATE_MISMATCH;
    for (;;) {
        if (zs.avail_in == 0 && fed < len) {
            size_t n = len - fed > CHUNK_IN ? CHUNK_IN : len - fed;
            zs.next_in = (z_const Bytef *)(stream + fed);
            zs.avail_in = (uInt)n;
            fed += n;
        }
        zs.next_out = scratch;
        zs.avail_out = CHUNK_OUT;
        int rc = inflate(&zs, Z_BLOCK);
        out += CHUNK_OUT - zs.avail_out;
        if (out > content_len)
            break;
        if (rc == Z_STREAM_END) {
            if (zs.avail_in == 0 && fed == len)
                result = DG_DEFLATE_OK;
            break;
        }
        if (rc == Z_MEM_ERROR) {
            result = DG_DEFLATE_ERR_NOMEM;
            break;
        }
        if (rc != Z_OK && !(rc == Z_BUF_ERROR && fed < len))
            break; /* damaged, or truncated */
        if ((zs.data_type & 128) && out >= last + spacing && *count < cap) {
            bits[*count] = (uint64_t)fed * 8 - (uint64_t)zs.avail_in * 8 - (zs.data_type & 7);
            offsets[*count] = out;
            ++*count;
            last = out;
        }
    }
    inflateEnd(&zs);
    return result;
}

int dg_deflate_restart(dg_deflater *d, const uint8_t *dict, size_t dict_len,
                       int skip, const uint8_t *in, size_t in_len, int last, uint8_t *out,
                       size_t out_cap, size_t *out_len) {
    *out_len = 0;
    /* Not the GNU end of input's families: the patch takes a primed
     * window's end for the input's, and would wait for more input forever. */
    int family = d->params.family;
    if ((family != DG_FAMILY_ZLIB && family != DG_FAMILY_INFOZIP) || dict_len > DICTIONARY ||
        skip < 0 || skip > 7)
        return DG_DEFLATE_ERR_PARAMS;
    uint8_t scratch[CHUNK_OUT];
    placement p = {out, out_cap, 0};
    sink to = {place, &p};
    z_stream zs;
    int rc = start(d, &zs);
    if (rc != DG_DEFLATE_OK)
        return rc;
    if (dict_len && d->zlib->set_dictionary(&zs, dict, (unsigned)dict_len) != Z_OK)
        rc = DG_DEFLATE_ERR_PARAMS;
    if (rc == DG_DEFLATE_OK && skip && d->zlib->prime(&zs, skip, 0) != Z_OK)
        rc = DG_DEFLATE_ERR_PARAMS;
    if (rc == DG_DEFLATE_OK)
        rc = feed(d, &zs, in, in_len, last ? Z_FINISH : Z_BLOCK, &to, scratch);
    d->zlib->end(&zs);
    *out_len = p.done;
    return rc;
}

void dg_bits_or(uint8_t *dst, uint64_t dst_bit, const uint8_t *src, uint64_t nbits) {
    uint8_t *at = dst + dst_bit / 8;
    unsigned shift = (unsigned)(dst_bit % 8);
    uint64_t whole = nbits / 8;
    unsigned rest = (unsigned)(nbits % 8);
    if (shift == 0) {
        for (uint64_t i = 0; i < whole; i++)
            at[i] |= src[i];
    } else {
        for (uint64_t i = 0; i < whole; i++) {
            at[i] |= (uint8_t)(src[i] << shift);
            at[i + 1] |= (uint8_t)(src[i] >> (8 - shift));
        }
    }
    if (rest) {
        unsigned v = src[whole] & ((1u << rest) - 1);
        at[whole] |= (uint8_t)(v << shift);
        if (shift + rest > 8)
            at[whole + 1] |= (uint8_t)(v >> (8 - shift));
    }
}
