/* deltaglider's deflate parse codec (see dg_parse.h): RFC 1951 read into
 * a parse of its content and written back from the two.  Both directions
 * parse a dynamic block's header, and walk the match chains, with the same
 * code, so what one writes the other reads. */
#include "dg_parse.h"

#include <stdlib.h>
#include <string.h>

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
static const uint8_t CLEN_ORDER[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};

/* -- bits in -------------------------------------------------------------- */

typedef struct {
    const uint8_t *data;
    size_t len;
    size_t pos; /* next byte to load (past len: zeros, which are looked at, never used) */
    uint64_t buf;
    int count; /* bits in buf */
} bits_in;

static void need(bits_in *in, int n) {
    while (in->count < n) {
        if (in->pos < in->len)
            in->buf |= (uint64_t)in->data[in->pos] << in->count;
        in->pos++;
        in->count += 8;
    }
}

static uint32_t take(bits_in *in, int n) {
    if (n == 0)
        return 0;
    need(in, n);
    uint32_t v = (uint32_t)(in->buf & ((1u << n) - 1));
    in->buf >>= n;
    in->count -= n;
    return v;
}

/* Bits consumed so far. */
static uint64_t bits_done(const bits_in *in) {
    return (uint64_t)in->pos * 8 - (uint64_t)in->count;
}

/* Whether bits past the end were consumed. */
static int overrun(const bits_in *in) {
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

/* The next symbol, or -1 where the bits are no code of h. */
static int decode(bits_in *in, const huffman *h) {
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

static void fixed_codes(huffman *lit, huffman *dist) {
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

/* A dynamic block's header (after its 3 type bits) into its two codes
 * (with their decoding tables where `decoding`):
 * 0, or -1 where zlib's inflate would refuse it. */
static int read_header(bits_in *in, huffman *lit, huffman *dist, int decoding) {
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


/* -- the chains: earlier places with the same three bytes ----------------- */

#define WINDOW 32768
#define WALK 4096 /* places a walk may pass; past them a match records its distance */

typedef struct {
    int64_t *head; /* the latest place of each hash, -1: none */
    int64_t *prev; /* the place before each with its hash, by place % WINDOW */
    int bits;      /* of the hash: from the content's size, so a small stream's chains are small */
    const uint8_t *content;
    size_t len;
    size_t inserted; /* places below this are in the chains */
    uint64_t budget; /* places all walks may still pass */
} chains;

static uint32_t three(const uint8_t *at) {
    return (uint32_t)at[0] << 16 | (uint32_t)at[1] << 8 | at[2];
}

static uint32_t hash_of(const chains *c, const uint8_t *at) {
    return (three(at) * 2654435761u) >> (32 - c->bits);
}

static chains *chains_new(const uint8_t *content, size_t len) {
    int bits = 8;
    while (bits < 16 && ((size_t)1 << bits) < len)
        bits++;
    size_t heads = (size_t)1 << bits, places = len < WINDOW ? (len ? len : 1) : WINDOW;
    chains *c = malloc(sizeof(chains) + (heads + places) * sizeof(int64_t));
    if (!c)
        return NULL;
    c->head = (int64_t *)(c + 1);
    c->prev = c->head + heads; /* written before it is read: no need to clear it */
    memset(c->head, 0xff, heads * sizeof(int64_t));
    c->bits = bits;
    c->content = content;
    c->len = len;
    c->inserted = 0;
    c->budget = (uint64_t)len * 16 + (1u << 20); /* bounds a hostile parse's walks */
    return c;
}

/* Every place before p with three bytes from it into the chains. */
static void insert_to(chains *c, size_t p) {
    size_t limit = c->len > 2 ? c->len - 2 : 0; /* places with three bytes */
    size_t end = p < limit ? p : limit;
    for (size_t q = c->inserted; q < end; q++) {
        uint32_t h = hash_of(c, c->content + q);
        c->prev[q % WINDOW] = c->head[h];
        c->head[h] = (int64_t)q;
    }
    if (end > c->inserted)
        c->inserted = end;
}

/* How many earlier places with the three bytes at p lie after p - distance
 * (0 or more), or -1 where p - distance is not found within the walk's
 * bounds.  p has three bytes (a match starts there). */
static int64_t walk_to(chains *c, size_t p, size_t distance) {
    insert_to(c, p);
    uint32_t want = three(c->content + p);
    int64_t q = (int64_t)p - (int64_t)distance, k = 0;
    uint64_t limit = c->budget < WALK ? c->budget : WALK, steps = 0;
    for (int64_t at = c->head[hash_of(c, c->content + p)]; at >= q && steps < limit;
         at = c->prev[at % WINDOW]) {
        steps++;
        if (three(c->content + at) != want)
            continue;
        if (at == q) {
            c->budget -= steps;
            return k;
        }
        k++;
    }
    return -1;
}

/* The distance back to the (k + 1)th earlier place with the three bytes at
 * p, or 0 where there is none within the window and the walk's bounds. */
static size_t walk_by(chains *c, size_t p, uint64_t k) {
    insert_to(c, p);
    uint32_t want = three(c->content + p);
    int64_t oldest = (int64_t)p - WINDOW;
    uint64_t limit = c->budget < WALK ? c->budget : WALK, steps = 0;
    for (int64_t at = c->head[hash_of(c, c->content + p)]; at >= 0 && at >= oldest && steps < limit;
         at = c->prev[at % WINDOW]) {
        steps++;
        if (three(c->content + at) != want)
            continue;
        if (k-- == 0) {
            c->budget -= steps;
            return p - (size_t)at;
        }
    }
    return 0;
}

/* -- bytes out, growing --------------------------------------------------- */

typedef struct {
    uint8_t *data;
    size_t len, cap, limit;
    int error;
} growing;

static int reserve(growing *g, size_t more) {
    if (g->error)
        return -1;
    if (g->len + more > g->limit) {
        g->error = DG_PARSE_ERR_SIZE;
        return -1;
    }
    if (g->len + more <= g->cap)
        return 0;
    size_t cap = g->cap ? g->cap : 1 << 16;
    while (cap < g->len + more)
        cap *= 2;
    uint8_t *data = realloc(g->data, cap);
    if (!data) {
        g->error = DG_PARSE_ERR_NOMEM;
        return -1;
    }
    g->data = data;
    g->cap = cap;
    return 0;
}

static void put_byte(growing *g, uint8_t b) {
    if (reserve(g, 1) == 0)
        g->data[g->len++] = b;
}

static void put_varint(growing *g, uint64_t v) {
    if (reserve(g, 10) != 0)
        return;
    while (v >= 0x80) {
        g->data[g->len++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    g->data[g->len++] = (uint8_t)v;
}

/* Bits [start, start + n) of data, as bytes from bit 0 on. */
static void put_bits_of(growing *g, const uint8_t *data, uint64_t start, uint64_t n) {
    size_t bytes = (size_t)((n + 7) / 8);
    if (reserve(g, bytes) != 0)
        return;
    uint8_t *out = g->data + g->len;
    memset(out, 0, bytes);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t at = start + i;
        if (data[at / 8] >> (at % 8) & 1)
            out[i / 8] |= (uint8_t)(1u << (i % 8));
    }
    g->len += bytes;
}

/* -- reading a stream into its parse -------------------------------------- */

typedef struct {
    growing out;
    chains *chains;
    const uint8_t *content;
    size_t len; /* the content's */
    size_t pos; /* content covered so far */
} reader;

static int read_symbols(reader *r, bits_in *in, const huffman *lit, const huffman *dist) {
    uint64_t run = 0;
    for (;;) {
        int sym = decode(in, lit);
        if (sym < 0 || overrun(in))
            return -1;
        if (sym < 256) {
            if (r->pos >= r->len || r->content[r->pos] != sym)
                return -1;
            r->pos++;
            run++;
            continue;
        }
        put_varint(&r->out, run << 1 | (sym == 256));
        run = 0;
        if (sym == 256)
            return r->out.error ? -1 : 0;
        sym -= 257;
        if (sym >= 29)
            return -1;
        uint32_t extra = take(in, LEN_EXTRA[sym]);
        size_t length = LEN_BASE[sym] + extra;
        int dsym = decode(in, dist);
        if (dsym < 0 || dsym >= 30 || overrun(in))
            return -1;
        size_t distance = DIST_BASE[dsym] + take(in, DIST_EXTRA[dsym]);
        if (distance > r->pos || length > r->len - r->pos)
            return -1;
        for (size_t i = 0; i < length; i++) /* the content must be the match's */
            if (r->content[r->pos + i] != r->content[r->pos - distance + i])
                return -1;
        put_varint(&r->out, sym == 27 && extra == 31 ? 256 : length - 3); /* 258 as code 284 */
        int64_t k = walk_to(r->chains, r->pos, distance);
        put_varint(&r->out, k >= 0 ? (uint64_t)k << 1 : (uint64_t)(distance - 1) << 1 | 1);
        r->pos += length;
        if (r->out.error)
            return -1;
    }
}

int dg_parse_read(const uint8_t *data, size_t in_len, const uint8_t *content, size_t content_len,
                  size_t out_cap, uint8_t **out, size_t *out_len) {
    bits_in in = {data, in_len, 0, 0, 0};
    reader r = {{NULL, 0, 0, out_cap, 0}, NULL, content, content_len, 0};
    huffman *codes = malloc(4 * sizeof(huffman)); /* a dynamic block's two, the fixed two */
    r.chains = chains_new(content, content_len);
    int result = DG_PARSE_INVALID;
    *out = NULL;
    *out_len = 0;
    if (!codes || !r.chains) {
        result = DG_PARSE_ERR_NOMEM;
        goto done;
    }
    fixed_codes(codes + 2, codes + 3);
    int final = 0;
    while (!final) {
        huffman *lit = codes, *dist = codes + 1;
        final = (int)take(&in, 1);
        int type = (int)take(&in, 2);
        if (type == 3 || overrun(&in))
            goto done;
        put_byte(&r.out, (uint8_t)(type | final << 2));
        if (type == 0) {
            put_byte(&r.out, (uint8_t)take(&in, in.count % 8)); /* to the byte's end */
            uint32_t len = take(&in, 16), nlen = take(&in, 16);
            if (overrun(&in) || (len ^ 0xffff) != nlen || len > r.len - r.pos)
                goto done;
            put_byte(&r.out, (uint8_t)len);
            put_byte(&r.out, (uint8_t)(len >> 8));
            for (; len && in.count; len--) /* bytes already in the bit buffer */
                if ((uint8_t)take(&in, 8) != r.content[r.pos++])
                    goto done;
            if (in.pos > in.len || len > in.len - in.pos ||
                memcmp(in.data + in.pos, r.content + r.pos, len) != 0)
                goto done;
            in.pos += len;
            r.pos += len;
        } else {
            if (type == 1) {
                lit = codes + 2, dist = codes + 3;
            } else {
                uint64_t start = bits_done(&in);
                if (read_header(&in, lit, dist, 1) != 0)
                    goto done;
                uint64_t n = bits_done(&in) - start;
                put_varint(&r.out, n);
                put_bits_of(&r.out, data, start, n);
            }
            if (read_symbols(&r, &in, lit, dist) != 0)
                goto done;
        }
        if (r.out.error)
            goto done;
    }
    put_byte(&r.out, (uint8_t)take(&in, in.count % 8));
    if (bits_done(&in) == (uint64_t)in_len * 8 && r.pos == r.len && !r.out.error)
        result = DG_PARSE_OK;
done:
    free(codes);
    free(r.chains);
    if (r.out.error)
        result = r.out.error;
    if (result != DG_PARSE_OK) {
        free(r.out.data);
        return result;
    }
    *out = r.out.data;
    *out_len = r.out.len;
    return DG_PARSE_OK;
}

void dg_parse_free(uint8_t *parse) { free(parse); }

/* -- writing content and parse back as a stream --------------------------- */

typedef struct {
    const uint8_t *data;
    size_t len, pos;
    int bad;
} parse_in;

static uint8_t parse_byte(parse_in *t) {
    if (t->pos >= t->len) {
        t->bad = 1;
        return 0;
    }
    return t->data[t->pos++];
}

static uint64_t parse_varint(parse_in *t) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        uint8_t b = parse_byte(t);
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    t->bad = 1;
    return 0;
}

typedef struct {
    uint8_t *data;
    size_t len, pos;
    uint64_t buf;
    int count;
    int over;
} bits_out;

static void flush(bits_out *o) {
    while (o->count >= 8) {
        if (o->pos < o->len)
            o->data[o->pos] = (uint8_t)o->buf;
        else
            o->over = 1;
        o->pos++;
        o->buf >>= 8;
        o->count -= 8;
    }
}

static void put(bits_out *o, uint32_t value, int n) {
    o->buf |= (uint64_t)value << o->count;
    o->count += n;
    if (o->count >= 32)
        flush(o);
}

static int emit(bits_out *o, const huffman *h, int sym) {
    if (!h->length[sym])
        return -1;
    put(o, h->code[sym], h->length[sym]);
    return 0;
}

static int write_match(bits_out *o, const huffman *lit, const huffman *dist, uint64_t stored,
                       size_t distance) {
    int sym;
    uint32_t extra;
    if (stored == 256) {
        sym = 27, extra = 31; /* 258 as code 284 */
    } else if (stored == 255) {
        sym = 28, extra = 0;
    } else {
        sym = 0;
        while (sym < 27 && LEN_BASE[sym + 1] <= stored + 3)
            sym++;
        extra = (uint32_t)(stored + 3 - LEN_BASE[sym]);
    }
    if (emit(o, lit, 257 + sym) != 0)
        return -1;
    put(o, extra, LEN_EXTRA[sym]);
    int dsym = 0;
    while (dsym < 29 && DIST_BASE[dsym + 1] <= distance)
        dsym++;
    if (emit(o, dist, dsym) != 0)
        return -1;
    put(o, (uint32_t)(distance - DIST_BASE[dsym]), DIST_EXTRA[dsym]);
    return 0;
}

typedef struct {
    parse_in t;
    bits_out o;
    chains *chains;
    const uint8_t *content;
    size_t len, pos;
} writer;

static int write_symbols(writer *w, const huffman *lit, const huffman *dist) {
    for (;;) {
        uint64_t v = parse_varint(&w->t), count = v >> 1;
        if (w->t.bad || count > w->len - w->pos)
            return -1;
        for (const uint8_t *at = w->content + w->pos, *end = at + count; at < end; at++)
            if (emit(&w->o, lit, *at) != 0)
                return -1;
        w->pos += count;
        if (w->o.over)
            return -1;
        if (v & 1)
            return emit(&w->o, lit, 256);
        uint64_t stored = parse_varint(&w->t), source = parse_varint(&w->t);
        size_t length = stored == 256 ? 258 : (size_t)stored + 3;
        if (w->t.bad || stored > 256 || length > w->len - w->pos)
            return -1;
        size_t distance;
        if (source & 1) {
            if ((source >> 1) >= WINDOW || (source >> 1) >= w->pos)
                return -1;
            distance = (size_t)(source >> 1) + 1;
        } else {
            distance = walk_by(w->chains, w->pos, source >> 1);
            if (distance == 0)
                return -1;
        }
        if (write_match(&w->o, lit, dist, stored, distance) != 0)
            return -1;
        w->pos += length;
    }
}

/* The padding bits up to the next byte boundary, from a parse byte. */
static int write_padding(bits_out *o, parse_in *t) {
    int pad = (8 - o->count % 8) % 8;
    uint8_t value = parse_byte(t);
    if (value >> pad)
        return -1;
    put(o, value, pad);
    return 0;
}

int dg_parse_write(const uint8_t *content, size_t content_len, const uint8_t *parse,
                   size_t parse_len, uint8_t *out, size_t out_len) {
    writer w = {{parse, parse_len, 0, 0}, {out, out_len, 0, 0, 0, 0}, NULL, content,
                content_len, 0};
    huffman *codes = malloc(4 * sizeof(huffman)); /* a dynamic block's two, the fixed two */
    w.chains = chains_new(content, content_len);
    int result = DG_PARSE_INVALID, final = 0;
    if (!codes || !w.chains) {
        result = DG_PARSE_ERR_NOMEM;
        goto done;
    }
    fixed_codes(codes + 2, codes + 3);
    parse_in *t = &w.t;
    bits_out *o = &w.o;
    while (!final) {
        huffman *lit = codes, *dist = codes + 1;
        uint8_t kind = parse_byte(t);
        int type = kind & 3;
        final = kind >> 2 & 1;
        if (t->bad || kind > 7 || type == 3)
            goto done;
        put(o, (uint32_t)final, 1);
        put(o, (uint32_t)type, 2);
        if (type == 0) {
            if (write_padding(o, t) != 0)
                goto done;
            uint32_t size = parse_byte(t);
            size |= (uint32_t)parse_byte(t) << 8;
            if (t->bad || size > w.len - w.pos)
                goto done;
            put(o, size, 16);
            put(o, size ^ 0xffff, 16);
            flush(o);
            if (o->pos + size > o->len)
                goto done;
            memcpy(o->data + o->pos, w.content + w.pos, size);
            o->pos += size;
            w.pos += size;
            continue;
        }
        if (type == 1) {
            lit = codes + 2, dist = codes + 3;
        } else {
            uint64_t n = parse_varint(t);
            if (t->bad || n > (uint64_t)(t->len - t->pos) * 8)
                goto done;
            size_t bytes = (size_t)((n + 7) / 8);
            bits_in header = {t->data + t->pos, bytes, 0, 0, 0};
            if (read_header(&header, lit, dist, 0) != 0 || bits_done(&header) != n)
                goto done;
            if (n % 8 && t->data[t->pos + bytes - 1] >> (n % 8))
                goto done; /* bits past the header's: not as the reader writes them */
            for (uint64_t i = 0; i < n; i++)
                put(o, t->data[t->pos + i / 8] >> (i % 8) & 1, 1);
            t->pos += bytes;
        }
        if (write_symbols(&w, lit, dist) != 0)
            goto done;
    }
    if (write_padding(o, t) != 0 || t->bad || t->pos != t->len || w.pos != w.len)
        goto done;
    flush(o);
    result = o->over || o->pos != o->len ? DG_PARSE_ERR_SIZE : DG_PARSE_OK;
done:
    free(codes);
    free(w.chains);
    if (result == DG_PARSE_INVALID && w.o.over)
        result = DG_PARSE_ERR_SIZE;
    return result;
}
