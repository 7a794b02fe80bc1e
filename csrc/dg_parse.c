/* deltaglider's deflate parse codec (see dg_parse.h): RFC 1951 read into
 * a parse of its content and written back from the two.  Both directions
 * parse a dynamic block's header, and walk the match chains, with the same
 * code, so what one writes the other reads. */
#include "dg_parse.h"

#include "dg_chains.h"
#include "dg_huffman.h"

#include <stdlib.h>
#include <string.h>

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
    size_t size = 1;
    for (uint64_t rest = v >> 7; rest; rest >>= 7)
        size++;
    if (reserve(g, size) != 0)
        return;
    while (v >= 0x80) {
        g->data[g->len++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    g->data[g->len++] = (uint8_t)v;
}

/* -- reading a stream into its parse -------------------------------------- */

typedef struct {
    growing out;
    dg_chains *chains;
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
        int64_t k = dg_chains_walk_to(r->chains, r->pos, distance);
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
    r.chains = dg_chains_new(content, content_len);
    int result = DG_PARSE_INVALID;
    *out = NULL;
    *out_len = 0;
    if (!codes || !r.chains) {
        result = DG_PARSE_ERR_NOMEM;
        goto done;
    }
    dg_huffman_fixed(codes + 2, codes + 3);
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
                uint8_t record[DG_HEADER_RECORD];
                size_t n = 0;
                if (dg_huffman_read_header(&in, lit, dist, 1, record, &n) != 0)
                    goto done;
                put_varint(&r.out, n);
                if (reserve(&r.out, n) != 0)
                    goto done;
                memcpy(r.out.data + r.out.len, record, n);
                r.out.len += n;
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
    dg_chains *chains;
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
            if ((source >> 1) >= DG_WINDOW || (source >> 1) >= w->pos)
                return -1;
            distance = (size_t)(source >> 1) + 1;
        } else {
            distance = dg_chains_walk_by(w->chains, w->pos, source >> 1);
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
    w.chains = dg_chains_new(content, content_len);
    int result = DG_PARSE_INVALID, final = 0;
    if (!codes || !w.chains) {
        result = DG_PARSE_ERR_NOMEM;
        goto done;
    }
    dg_huffman_fixed(codes + 2, codes + 3);
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
            uint8_t bits[1024];
            uint64_t nbits = 0;
            if (t->bad || n > t->len - t->pos ||
                dg_huffman_header_bits(t->data + t->pos, (size_t)n, bits, sizeof(bits), &nbits) != 0)
                goto done;
            bits_in header = {bits, (size_t)((nbits + 7) / 8), 0, 0, 0};
            if (dg_huffman_read_header(&header, lit, dist, 0, NULL, NULL) != 0 ||
                bits_done(&header) != nbits)
                goto done; /* a record its header does not read back as */
            for (uint64_t i = 0; i < nbits; i++)
                put(o, bits[i / 8] >> (i % 8) & 1, 1);
            t->pos += (size_t)n;
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
