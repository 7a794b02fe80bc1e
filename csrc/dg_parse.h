/* deltaglider's deflate parse codec: any valid deflate stream as its
 * content plus its parse, and the two written back as the same bits.
 *
 * A stream no deflate of ours re-creates (libdeflate's, 7-Zip's, Go's,
 * zlib-ng's, ISA-L's) is its content and the choices its encoder made:
 * where blocks end and their Huffman headers, which bytes are literals,
 * each match's length and which earlier occurrence it copies.  Given the
 * content, those choices are all that is needed to write the stream back,
 * with no match search.  A match's source is recorded as how many earlier
 * places with the same three bytes lie between it and the match, not as
 * its distance: an insertion elsewhere in the window leaves that count as
 * it was, so where two versions' content is alike their parses are too,
 * and one deltas against the other.
 *
 * The parse's layout (numbers are LEB128 varints unless said):
 *   per block: a byte (bits 0-1: type 0 stored, 1 fixed, 2 dynamic;
 *   bit 2: final), then
 *     stored: a byte of the padding bits before the block's bytes (their
 *       value), LEN (2 bytes, little-endian); the bytes are the content's;
 *     dynamic: the header's fields as bytes, their count first (see
 *       dg_huffman_read_header in dg_huffman.h);
 *     fixed and dynamic: runs, v = count << 1 | last: count literals (the
 *       content's next bytes), then unless last a match: length - 3 (0-255,
 *       258 as code 285; 256: 258 as code 284), then its source: k << 1,
 *       the (k + 1)th earlier place with the match's first three bytes
 *       (a hash chain over the last 32 KiB), or (distance - 1) << 1 | 1;
 *   after the final block, a byte of the padding bits that end the stream.
 * Both directions walk the same chains; a walk past 4,096 places,
 * or past a budget for the whole stream, is recorded as a distance. */
#ifndef DG_PARSE_H
#define DG_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* cdef-begin */
/* Result codes of the parse codec (0 is success). */
#define DG_PARSE_OK 0
#define DG_PARSE_INVALID 1
#define DG_PARSE_ERR_NOMEM -2
#define DG_PARSE_ERR_SIZE -3

/* The parse of the raw deflate stream stream[0..len), which must end with
 * its final block's last byte and inflate to content[0..content_len): into
 * *out (malloc'd, free with dg_parse_free), *out_len bytes.
 * DG_PARSE_INVALID where the stream is damaged, truncated, followed by other
 * bytes or not that content; DG_PARSE_ERR_SIZE where the parse would take
 * more than out_cap bytes. */
int dg_parse_read(const uint8_t *stream, size_t len, const uint8_t *content, size_t content_len,
                  size_t out_cap, uint8_t **out, size_t *out_len);

void dg_parse_free(uint8_t *parse);

/* The deflate stream of content[0..content_len) with parse[0..parse_len),
 * into out, which must receive exactly out_len bytes: DG_PARSE_ERR_SIZE
 * where it is longer or shorter, DG_PARSE_INVALID where the parse is
 * malformed or does not fit the content (a symbol the block's codes lack,
 * a header that does not parse, a match outside the content, a chain walk
 * past its budget, bytes left over). */
int dg_parse_write(const uint8_t *content, size_t content_len, const uint8_t *parse,
                   size_t parse_len, uint8_t *out, size_t out_len);
/* cdef-end */

#endif
