/* See dg_zlib_api.h.  DG_ZLIB_API names the table this build defines;
 * DG_ZLIB_GNU is defined for the GNU gzip build. */
#include "dg_zlib_api.h"

#include "zlib.h"

static int init(void *zs, int level, int window_bits, int mem_level, int strategy) {
    return deflateInit2((z_streamp)zs, level, Z_DEFLATED, window_bits, mem_level, strategy);
}

static int run(void *zs, int flush) { return deflate((z_streamp)zs, flush); }

static int end(void *zs) { return deflateEnd((z_streamp)zs); }

static int set_dictionary(void *zs, const unsigned char *dictionary, unsigned length) {
    return deflateSetDictionary((z_streamp)zs, dictionary, length);
}

static int pending_bits(void *zs, int *bits) {
    return deflatePending((z_streamp)zs, Z_NULL, bits);
}

static int prime(void *zs, int bits, int value) { return deflatePrime((z_streamp)zs, bits, value); }

#ifdef DG_ZLIB_GNU
/* Added by vendor/patches/zlib-gnu-gzip.patch. */
int deflateGnuEnd(z_streamp strm, int how);

static int gnu_end(void *zs, int how) { return deflateGnuEnd((z_streamp)zs, how); }

const dg_zlib_api DG_ZLIB_API = {init, run, end, set_dictionary, pending_bits, prime, gnu_end};
#else
const dg_zlib_api DG_ZLIB_API = {init, run, end, set_dictionary, pending_bits, prime, Z_NULL};
#endif
