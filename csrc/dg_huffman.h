/* deflate's bits and Huffman codes (RFC 1951), as the parse codec reads
 * and writes them (csrc/dg_parse.c): a bit reader, canonical codes with
 * decoding tables, the fixed codes and a dynamic block's header.  Internal
 * to the C layer: nothing here is in the cffi declarations. */
#ifndef DG_HUFFMAN_H
#define DG_HUFFMAN_H

#include <stddef.h>
#include <stdint.h>

#define FAST_BITS 10 /* codes up to this long decode by one table look-up */
#define MAX_BITS 15

static const uint16_t LEN_BASE[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                      31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t LEN_EXTRA[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                      2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t DIST_BASE[30] = {1,    2,    3,    4,    5,    7,     9,     13,    17,  25,
                                       33,   49,   65,   97,   129,  193,   257,   385,   513, 769,
                                       1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const uint8_t DIST_EXTRA[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                       6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

/* -- bits in -------------------------------------------------------------- */

typedef struct {
    const uint8_t *data;
    size_t len;
    size_t pos; /* next byte to load (past len: zeros, which are looked at, never used) */
    uint64_t buf;
    int count; /* bits in buf */
} bits_in;

static inline void need(bits_in *in, int n) {
    while (in->count < n) {
        if (in->pos < in->len)
            in->buf |= (uint64_t)in->data[in->pos] << in->count;
        in->pos++;
        in->count += 8;
    }
}

static inline uint32_t take(bits_in *in, int n) {
    if (n == 0)
        return 0;
    need(in, n);
    uint32_t v = (uint32_t)(in->buf & ((1u << n) - 1));
    in->buf >>= n;
    in->count -= n;
    return v;
}

/* Bits consumed so far. */
static inline uint64_t bits_done(const bits_in *in) {
    return (uint64_t)in->pos * 8 - (uint64_t)in->count;
}

/* Whether bits past the end were consumed. */
static inline int overrun(const bits_in *in) {
    return bits_done(in) > (uint64_t)in->len * 8;
}

/* -- Huffman codes -------------------------------------------------------- */

typedef struct {
    uint16_t fast[1 << FAST_BITS]; /* symbol | length << 9, 0: longer or none */
    uint16_t count[MAX_BITS + 1];
    uint16_t symbol[288]; /* by length, then value: the canonical order */
    uint16_t code[288];   /* each symbol's code, bit-reversed as it is written */
    uint8_t length[288];
} huffman;

/* The fixed block's codes, with their decoding tables. */
void dg_huffman_fixed(huffman *lit, huffman *dist);

/* The most bytes a dynamic header's record takes: its three counts, 19
 * code-length code lengths, and 316 code lengths each with an extra byte. */
#define DG_HEADER_RECORD (3 + 19 + 2 * 316)

/* A dynamic block's header (after its 3 type bits) into its two codes
 * (with their decoding tables where `decoding`): 0, or -1 where zlib's
 * inflate would refuse it.  With `record` (DG_HEADER_RECORD bytes), its
 * fields as bytes, *recorded of them: HLIT - 257, HDIST - 1, HCLEN - 4, the
 * code-length code's lengths in the order written, then each code-length
 * symbol (0-18), 16-18 followed by their extra bits' value. */
int dg_huffman_read_header(bits_in *in, huffman *lit, huffman *dist, int decoding,
                           uint8_t *record, size_t *recorded);

/* The bits of a header from its record (as dg_huffman_read_header makes
 * it), into bits[0..cap), *nbits of them: 0, or -1 where the record is
 * malformed or they would not fit (read them back to check the header). */
int dg_huffman_header_bits(const uint8_t *record, size_t len, uint8_t *bits, size_t cap,
                           uint64_t *nbits);

/* The next symbol, or -1 where the bits are no code of h. */
static inline int decode(bits_in *in, const huffman *h) {
    need(in, MAX_BITS);
    uint16_t e = h->fast[in->buf & ((1u << FAST_BITS) - 1)];
    if (e) {
        in->buf >>= e >> 9;
        in->count -= e >> 9;
        return e & 511;
    }
    /* A longer code: canonical decoding bit by bit (codes grow by length). */
    int code = 0, first = 0, index = 0;
    for (int len = 1; len <= MAX_BITS; len++) {
        code |= (int)take(in, 1);
        int count = h->count[len];
        if (code - first < count)
            return h->symbol[index + code - first];
        index += count;
        first = (first + count) << 1;
        code <<= 1;
    }
    return -1;
}

#endif
