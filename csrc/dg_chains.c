/* The parse codec's match chains (see dg_chains.h). */
#include "dg_chains.h"

#include <stdlib.h>
#include <string.h>

#define WALK 4096 /* places a walk may pass; past them a match records its distance */

struct dg_chains {
    int64_t *head; /* the latest place of each hash, -1: none */
    int64_t *prev; /* the place before each with its hash, by place % DG_WINDOW */
    int bits;      /* of the hash: from the content's size, so a small stream's chains are small */
    const uint8_t *content;
    size_t len;
    size_t inserted; /* places below this are in the chains */
    uint64_t budget; /* places all walks may still pass */
};

static uint32_t three(const uint8_t *at) {
    return (uint32_t)at[0] << 16 | (uint32_t)at[1] << 8 | at[2];
}

static uint32_t hash_of(const dg_chains *c, const uint8_t *at) {
    return (three(at) * 2654435761u) >> (32 - c->bits);
}

dg_chains *dg_chains_new(const uint8_t *content, size_t len) {
    int bits = 8;
    while (bits < 16 && ((size_t)1 << bits) < len)
        bits++;
    size_t heads = (size_t)1 << bits, places = len < DG_WINDOW ? (len ? len : 1) : DG_WINDOW;
    dg_chains *c = malloc(sizeof(dg_chains) + (heads + places) * sizeof(int64_t));
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
static void insert_to(dg_chains *c, size_t p) {
    size_t limit = c->len > 2 ? c->len - 2 : 0; /* places with three bytes */
    size_t end = p < limit ? p : limit;
    for (size_t q = c->inserted; q < end; q++) {
        uint32_t h = hash_of(c, c->content + q);
        c->prev[q % DG_WINDOW] = c->head[h];
        c->head[h] = (int64_t)q;
    }
    if (end > c->inserted)
        c->inserted = end;
}

int64_t dg_chains_walk_to(dg_chains *c, size_t p, size_t distance) {
    insert_to(c, p);
    uint32_t want = three(c->content + p);
    int64_t q = (int64_t)p - (int64_t)distance, k = 0;
    uint64_t limit = c->budget < WALK ? c->budget : WALK, steps = 0;
    for (int64_t at = c->head[hash_of(c, c->content + p)]; at >= q && steps < limit;
         at = c->prev[at % DG_WINDOW]) {
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

size_t dg_chains_walk_by(dg_chains *c, size_t p, uint64_t k) {
    insert_to(c, p);
    uint32_t want = three(c->content + p);
    int64_t oldest = (int64_t)p - DG_WINDOW;
    uint64_t limit = c->budget < WALK ? c->budget : WALK, steps = 0;
    for (int64_t at = c->head[hash_of(c, c->content + p)]; at >= 0 && at >= oldest && steps < limit;
         at = c->prev[at % DG_WINDOW]) {
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

