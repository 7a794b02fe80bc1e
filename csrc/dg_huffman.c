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

int dg_huffman_read_header(bits_in *in, huffman *lit, huffman *dist, int decoding) {
    int nlit = (int)take(in, 5) + 257, ndist = (int)take(in, 5) + 1, nclen = (int)take(in, 4) + 4;
    if (nlit > 286 || ndist > 30)
        return -1;
    uint8_t lengths[320] = {0};
    for (int i = 0; i < nclen; i++)
        lengths[CLEN_ORDER[i]] = (uint8_t)take(in, 3);
    huffman *clen = lit; /* the code-length code is used up before lit is built */
    if (build(clen, lengths, 19, 1) != 0)
        return -1;
    memset(lengths, 0, 19);
    for (int i = 0; i < nlit + ndist;) {
        int sym = decode(in, clen);
        if (sym < 0 || overrun(in))
            return -1;
        if (sym < 16) {
            lengths[i++] = (uint8_t)sym;
            continue;
        }
        int repeat, value = 0;
        if (sym == 16) {
            if (i == 0)
                return -1;
            value = lengths[i - 1];
            repeat = 3 + (int)take(in, 2);
        } else if (sym == 17) {
            repeat = 3 + (int)take(in, 3);
        } else {
            repeat = 11 + (int)take(in, 7);
        }
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
    return overrun(in) ? -1 : 0;
}


