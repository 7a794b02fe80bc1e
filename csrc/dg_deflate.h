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

/* -- restarts: one long stream re-deflated in chunks, on several threads --
 *
 * At a block boundary, deflate at levels 4-9 keeps nothing but the last
 * 32 KiB of its input and a few values that a fresh stream primed with that
 * input mostly has too; so the blocks after a boundary come out of such a
 * stream as they came out of the whole one.  The writer finds the
 * boundaries (dg_deflate_blocks), checks which restart exactly, and records
 * them; a reader deflates the chunks between them at once and joins their
 * bits (dg_bits_or). */

/* Where the blocks of the raw deflate stream stream[0..len) start, once
 * inflated (as far as content_len bytes: more is an error): for each block
 * whose content starts at least `spacing` bytes after the last one recorded
 * (the stream's start counting as recorded), the bit at which it starts and
 * the offset of its content, at most cap of them (*count set).  Returns
 * DG_DEFLATE_OK, DG_DEFLATE_MISMATCH where the stream is damaged, truncated,
 * followed by other bytes or longer than content_len, or _ERR_NOMEM. */
int dg_deflate_blocks(const uint8_t *stream, size_t len, size_t content_len, size_t spacing,
                      uint64_t *bits, uint64_t *offsets, size_t cap, size_t *count);

/* Deflate in[0..in_len), a chunk of a longer stream that starts at a block
 * boundary, with the deflater's parameters (zlib's or Info-ZIP's family
 * only, else DG_DEFLATE_ERR_PARAMS): a fresh stream
 * primed with dict[0..dict_len) (the content before the chunk, at most
 * 32 KiB; none for the first chunk), its output starting with `skip` zero
 * bits (0-7: where in its byte the chunk starts; a stored block's padding
 * depends on it), into out[0..out_cap) with *out_len set.  last: the stream
 * ends with the chunk; else the block under way is ended, so every bit
 * before it is out.  DG_DEFLATE_ERR_OUTPUT when out_cap is too small. */
int dg_deflate_restart(dg_deflater *deflater, const uint8_t *dict, size_t dict_len,
                       int skip, const uint8_t *in, size_t in_len, int last, uint8_t *out,
                       size_t out_cap, size_t *out_len);

/* OR the first nbits bits of src (bit i: bit i % 8 of byte i / 8, as
 * deflate writes them) into dst from bit dst_bit on; dst must hold them. */
void dg_bits_or(uint8_t *dst, uint64_t dst_bit, const uint8_t *src, uint64_t nbits);
/* cdef-end */

#endif
