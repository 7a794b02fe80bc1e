/* See dg_deflate.h.  Built against vendor/zlib (deflate only). */
#include "dg_deflate.h"

#include <stdlib.h>
#include <string.h>

#include "zlib.h"

#define CHUNK_OUT 65536
#define CHUNK_IN ((uInt)1 << 30)
#define BLOCKS 8 /* deflateInit2 asks for five */

const char *dg_zlib_version(void) { return zlibVersion(); }

/* A deflate stream's parameters and the memory zlib asked for last time.
 * The stream is set up afresh for every use: a reset stream keeps the
 * previous input in its window, and deflate's last hashes read past the
 * input, so its output would depend on what it deflated before.  But it is
 * set up from blocks kept and cleared here, so a small member costs no
 * allocation (some 256 KiB, mapped and faulted in anew each time). */
struct dg_deflater {
    dg_deflate_params params;
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
        p->mem_level < 1 || p->mem_level > 9 || p->strategy < 0 || p->strategy > Z_FIXED)
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
    return d;
}

void dg_deflater_free(dg_deflater *d) {
    if (d == NULL)
        return;
    for (int i = 0; i < BLOCKS; i++)
        free(d->block[i]);
    free(d);
}

static int start(dg_deflater *d, z_stream *zs) {
    const dg_deflate_params *p = &d->params;
    memset(zs, 0, sizeof(*zs));
    zs->zalloc = dg_zalloc;
    zs->zfree = dg_zfree;
    zs->opaque = d;
    switch (deflateInit2(zs, p->level, Z_DEFLATED, -p->window_bits, p->mem_level, p->strategy)) {
    case Z_OK:
        return DG_DEFLATE_OK;
    case Z_MEM_ERROR:
        return DG_DEFLATE_ERR_NOMEM;
    default:
        return DG_DEFLATE_ERR_PARAMS;
    }
}

/* Feed the next slice of input (uInt-sized) when the stream has used up
 * the previous one; returns the flush mode for the next deflate() call. */
static int feed(z_stream *zs, const uint8_t *in, size_t in_len, size_t *fed) {
    if (zs->avail_in == 0 && *fed < in_len) {
        size_t n = in_len - *fed;
        zs->next_in = (z_const Bytef *)(in + *fed);
        zs->avail_in = n > CHUNK_IN ? CHUNK_IN : (uInt)n;
        *fed += zs->avail_in;
    }
    return *fed == in_len && zs->avail_in == 0 ? Z_FINISH : Z_NO_FLUSH;
}

int dg_deflate_matches(dg_deflater *d, const uint8_t *in, size_t in_len,
                       const uint8_t *expected, size_t expected_len, size_t probe) {
    z_stream zs;
    uint8_t scratch[CHUNK_OUT];
    size_t fed = 0, done = 0;
    int rc = start(d, &zs), result = DG_DEFLATE_OK;
    if (rc != DG_DEFLATE_OK)
        return rc;
    for (;;) {
        int flush = feed(&zs, in, in_len, &fed);
        zs.next_out = scratch;
        zs.avail_out = CHUNK_OUT;
        rc = deflate(&zs, flush);
        size_t produced = CHUNK_OUT - zs.avail_out;
        if (produced > expected_len - done || memcmp(scratch, expected + done, produced) != 0) {
            result = DG_DEFLATE_MISMATCH;
            break;
        }
        done += produced;
        if (rc == Z_STREAM_END) {
            result = done == expected_len ? DG_DEFLATE_OK : DG_DEFLATE_MISMATCH;
            break;
        }
        if (probe && done >= probe)
            break; /* enough of the output matched to go on with a full try */
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            result = DG_DEFLATE_ERR_PARAMS;
            break;
        }
    }
    deflateEnd(&zs);
    return result;
}

int dg_deflate(dg_deflater *d, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len) {
    z_stream zs;
    size_t fed = 0, done = 0;
    int rc = start(d, &zs), result = DG_DEFLATE_OK;
    if (rc != DG_DEFLATE_OK)
        return rc;
    for (;;) {
        int flush = feed(&zs, in, in_len, &fed);
        size_t room = out_len - done;
        uint8_t spare;
        /* With the output full, ask for one more byte into a spare slot:
         * a stream longer than out_len is an error, not truncated output. */
        zs.next_out = room ? out + done : &spare;
        zs.avail_out = room ? (room > CHUNK_IN ? CHUNK_IN : (uInt)room) : 1;
        uInt before = zs.avail_out;
        rc = deflate(&zs, flush);
        if (!room && zs.avail_out != before) {
            result = DG_DEFLATE_ERR_OUTPUT;
            break;
        }
        done += before - zs.avail_out;
        if (rc == Z_STREAM_END) {
            result = done == out_len ? DG_DEFLATE_OK : DG_DEFLATE_ERR_OUTPUT;
            break;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            result = DG_DEFLATE_ERR_PARAMS;
            break;
        }
    }
    deflateEnd(&zs);
    return result;
}
