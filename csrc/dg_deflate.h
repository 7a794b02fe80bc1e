/* deltaglider's thin C layer over the vendored zlib's deflate.
 *
 * Archive-aware deltas store a changed member's uncompressed content and
 * the deflate parameters that re-create its compressed bytes exactly; this
 * layer deflates with those parameters and checks candidates against the
 * original bytes without building the output.  Which parameters to try,
 * and in what order, is decided in Python (deltaglider.archive). */
#ifndef DG_DEFLATE_H
#define DG_DEFLATE_H

#include <stddef.h>
#include <stdint.h>

/* cdef-begin */
/* Result codes of the deflate layer (0 is success). */
#define DG_DEFLATE_OK 0
#define DG_DEFLATE_MISMATCH 1
#define DG_DEFLATE_ERR_PARAMS -1
#define DG_DEFLATE_ERR_NOMEM -2
#define DG_DEFLATE_ERR_OUTPUT -3

/* Deflate families: which deflate makes the stream, and how it is driven.
 * ZLIB: the vendored zlib, the input in one go (zlib, Python, Java).
 * GNU: the vendored zlib patched to deflate as GNU gzip does
 *   (vendor/patches/zlib-gnu-gzip.patch), gzip 1.5 and later.
 * BUSYBOX: the same, without gzip 1.5's clearing of two bytes after the
 *   input, which matches near the end are measured into (busybox gzip,
 *   gzip before 1.5).
 * INFOZIP: the same, matches measured only up to the end (Info-ZIP's zip). */
#define DG_FAMILY_ZLIB 0
#define DG_FAMILY_GNU 1
#define DG_FAMILY_PIGZ 2
#define DG_FAMILY_BUSYBOX 3
#define DG_FAMILY_INFOZIP 4

/* A raw deflate stream's parameters, as deflateInit2 takes them:
 * level 0-9, window_bits 9-15 (raw, no zlib or gzip wrapper),
 * mem_level 1-9, strategy 0-4 (Z_DEFAULT_STRATEGY .. Z_FIXED); its family
 * and, for PIGZ, the chunk size in bytes (at least 32 KiB, else 0). */
typedef struct {
    int level;
    int window_bits;
    int mem_level;
    int strategy;
    int family;
    size_t block;
} dg_deflate_params;

/* The vendored zlib's version string ("1.3.1"). */
const char *dg_zlib_version(void);

/* Deflate parameters with the memory their streams use kept between uses
 * (allocating some 256 KiB per small member of a large archive cost more
 * than its deflate); every use is a fresh stream, so its output is the one
 * deflateInit2 gives.  One thread at a time. */
typedef struct dg_deflater dg_deflater;

/* NULL with *error set (DG_DEFLATE_ERR_PARAMS or _NOMEM) on failure. */
dg_deflater *dg_deflater_new(const dg_deflate_params *params, int *error);
void dg_deflater_free(dg_deflater *deflater);

/* Deflate in[0..in_len) and compare the output with expected[0..expected_len)
 * as it is produced, stopping at the first difference.  With probe > 0 it
 * stops as soon as probe output bytes matched: a cheap way to rule
 * parameters out before a full try.  Returns DG_DEFLATE_OK when the output
 * matches (all of it, with the stream finished, when probe is 0),
 * DG_DEFLATE_MISMATCH at the first differing or extra byte, or an error. */
int dg_deflate_matches(dg_deflater *deflater, const uint8_t *in, size_t in_len,
                       const uint8_t *expected, size_t expected_len, size_t probe);

/* Deflate in[0..in_len) into out, which must receive exactly out_len bytes:
 * DG_DEFLATE_ERR_OUTPUT when the stream is longer or shorter. */
int dg_deflate(dg_deflater *deflater, const uint8_t *in, size_t in_len, uint8_t *out,
               size_t out_len);
/* cdef-end */

#endif
