/* deflate's Huffman codes (see dg_huffman.h). */
#include "dg_huffman.h"

#include <string.h>

static const uint8_t CLEN_ORDER[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};

static uint16_t reversed(uint16_t code, int length) {
    uint16_t r = 0;
    for (int i = 0; i < length; i++) {
        r = (uint16_t)(r << 1 | (code & 1));
        code >>= 1;
    }
    return r;
}

/* The canonical code of lengths[0..n): 0, or -1 where zlib's inflate
 * refuses it (over-subscribed, or incomplete with codes longer than 1);
 * its decoding tables too where `decoding` (a writer needs only the codes). */
static int build(huffman *h, const uint8_t *lengths, int n, int decoding) {
    memset(h->count, 0, sizeof(h->count));
    if (decoding)
        memset(h->fast, 0, sizeof(h->fast));
    memset(h->length, 0, sizeof(h->length));
    int longest = 0;
    for (int s = 0; s < n; s++) {
        h->count[lengths[s]]++;
        h->length[s] = lengths[s];
        if (lengths[s] > longest)
            longest = lengths[s];
    }
    int left = 1;
    for (int len = 1; len <= MAX_BITS; len++) {
        left = (left << 1) - h->count[len];
        if (left < 0)
            return -1;
    }
    if (left > 0 && longest > 1)
        return -1;
    uint16_t offset[MAX_BITS + 2], next[MAX_BITS + 1];
    uint16_t code = 0;
    offset[1] = 0;
    for (int len = 1; len <= MAX_BITS; len++) {
        offset[len + 1] = (uint16_t)(offset[len] + h->count[len]);
        code = (uint16_t)((code + (len > 1 ? h->count[len - 1] : 0)) << 1);
        next[len] = code;
    }
    /* next[len] above is the first code of length len, as RFC 1951 3.2.2. */
    for (int s = 0; s < n; s++) {
        int len = lengths[s];
        if (!len)
            continue;
        uint16_t r = reversed(next[len]++, len);
        h->code[s] = r;
        if (!decoding)
            continue;
        h->symbol[offset[len]++] = (uint16_t)s;
        if (len <= FAST_BITS)
            for (uint32_t fill = r; fill < (1u << FAST_BITS); fill += 1u << len)
                h->fast[fill] = (uint16_t)(s | len << 9);
    }
    return 0;
}

void dg_huffman_fixed(huffman *lit, huffman *dist) {
    uint8_t lengths[288];
    int s = 0;
    for (; s < 144; s++)
        lengths[s] = 8;
    for (; s < 256; s++)
        lengths[s] = 9;
    for (; s < 280; s++)
        lengths[s] = 7;
    for (; s < 288; s++)
        lengths[s] = 8;
    build(lit, lengths, 288, 1);
    memset(lengths, 5, 32); /* 30 and 31 complete the code; no stream uses them */
    build(dist, lengths, 32, 1);
}

int dg_huffman_read_header(bits_in *in, huffman *lit, huffman *dist, int decoding,
                           uint8_t *record, size_t *recorded) {
    size_t at = 0;
    int nlit = (int)take(in, 5) + 257, ndist = (int)take(in, 5) + 1, nclen = (int)take(in, 4) + 4;
    if (nlit > 286 || ndist > 30)
        return -1;
    if (record) {
        record[at++] = (uint8_t)(nlit - 257);
        record[at++] = (uint8_t)(ndist - 1);
        record[at++] = (uint8_t)(nclen - 4);
    }
    uint8_t lengths[320] = {0};
    for (int i = 0; i < nclen; i++) {
        lengths[CLEN_ORDER[i]] = (uint8_t)take(in, 3);
        if (record)
            record[at++] = lengths[CLEN_ORDER[i]];
    }
    huffman *clen = lit; /* the code-length code is used up before lit is built */
    if (build(clen, lengths, 19, 1) != 0)
        return -1;
    memset(lengths, 0, 19);
    for (int i = 0; i < nlit + ndist;) {
        int sym = decode(in, clen);
        if (sym < 0 || overrun(in))
            return -1;
        if (record)
            record[at++] = (uint8_t)sym;
        if (sym < 16) {
            lengths[i++] = (uint8_t)sym;
            continue;
        }
        int extra, value = 0;
        if (sym == 16) {
            if (i == 0)
                return -1;
            value = lengths[i - 1];
            extra = (int)take(in, 2);
        } else {
            extra = (int)take(in, sym == 17 ? 3 : 7);
        }
        if (record)
            record[at++] = (uint8_t)extra;
        int repeat = extra + (sym == 18 ? 11 : 3);
        if (i + repeat > nlit + ndist)
            return -1;
        while (repeat--)
            lengths[i++] = (uint8_t)value;
    }
    if (lengths[256] == 0)
        return -1; /* no end-of-block code */
    if (build(lit, lengths, nlit, decoding) != 0 ||
        build(dist, lengths + nlit, ndist, decoding) != 0)
        return -1;
    if (recorded)
        *recorded = at;
    return overrun(in) ? -1 : 0;
}

int dg_huffman_header_bits(const uint8_t *record, size_t len, uint8_t *bits, size_t cap,
                           uint64_t *nbits) {
    if (len < 3 || len > DG_HEADER_RECORD || record[0] > 29 || record[1] > 29 || record[2] > 15 ||
        len < 3 + (size_t)record[2] + 4)
        return -1;
    size_t nclen = (size_t)record[2] + 4, at = 3 + nclen;
    uint64_t n = 0;
    memset(bits, 0, cap);
#define PUT(value, count)                                                                          \
    do {                                                                                           \
        for (int b_ = 0; b_ < (count); b_++, n++) {                                                \
            if (n / 8 >= cap)                                                                      \
                return -1;                                                                         \
            bits[n / 8] |= (uint8_t)(((value) >> b_ & 1) << (n % 8));                              \
        }                                                                                          \
    } while (0)
    PUT(record[0], 5);
    PUT(record[1], 5);
    PUT(record[2], 4);
    uint8_t lengths[19] = {0};
    for (size_t i = 0; i < nclen; i++) {
        if (record[3 + i] > 7)
            return -1;
        lengths[CLEN_ORDER[i]] = record[3 + i];
        PUT(record[3 + i], 3);
    }
    huffman clen;
    if (build(&clen, lengths, 19, 0) != 0)
        return -1;
    while (at < len) {
        int sym = record[at++];
        if (sym > 18 || !clen.length[sym])
            return -1;
        PUT(clen.code[sym], clen.length[sym]);
        if (sym < 16)
            continue;
        int width = sym == 16 ? 2 : sym == 17 ? 3 : 7;
        if (at >= len || record[at] >> width)
            return -1;
        uint8_t extra = record[at++]; /* PUT reads its value once a bit */
        PUT(extra, width);
    }
#undef PUT
    *nbits = n;
    return 0;
}


