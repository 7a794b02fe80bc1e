/* The zlib calls the deflate layer makes, as a table: csrc/dg_zlib_api.c is
 * compiled once against the vendored zlib (dg_zlib_stock) and once against
 * its GNU gzip variant, whose symbols carry zlib's Z_PREFIX (dg_zlib_gnu).
 * Streams are passed as void *: both builds share z_stream's layout, and
 * only the stock zlib.h is included where streams are made. */
#ifndef DG_ZLIB_API_H
#define DG_ZLIB_API_H

typedef struct {
    int (*init)(void *zs, int level, int window_bits, int mem_level, int strategy);
    int (*deflate)(void *zs, int flush);
    int (*end)(void *zs);
    int (*set_dictionary)(void *zs, const unsigned char *dictionary, unsigned length);
    int (*pending_bits)(void *zs, int *bits);
    int (*prime)(void *zs, int bits, int value);
    /* The GNU build only: what the stream does near the end of its input,
     * the patch's GNU_END_* flags (gzip 1.5 on both, busybox GZIP alone,
     * Info-ZIP neither). */
    int (*gnu_end)(void *zs, int how);
} dg_zlib_api;

/* GNU_END_GZIP as vendor/patches/zlib-gnu-gzip.patch defines it in
 * deflate.h (a stream starts with gzip 1.5's flags, GZIP | CLEARED). */
#define DG_GNU_END_GZIP 1

extern const dg_zlib_api dg_zlib_stock;
extern const dg_zlib_api dg_zlib_gnu;

#endif
