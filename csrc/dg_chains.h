/* The match chains of the parse codec (see dg_parse.h): earlier places
 * with the same three bytes of content, walked alike by the writer and the
 * reader of a parse.  Internal to the C layer. */
#ifndef DG_CHAINS_H
#define DG_CHAINS_H

#include <stddef.h>
#include <stdint.h>

#define DG_WINDOW 32768 /* deflate's: how far back a match may reach */

typedef struct dg_chains dg_chains;

/* Chains over content[0..len) (kept, not copied); NULL when out of memory.
 * Free with free(). */
dg_chains *dg_chains_new(const uint8_t *content, size_t len);

/* How many earlier places with the three bytes at p lie after p - distance
 * (0 or more), or -1 where p - distance is not found within the walk's
 * bounds.  p has three bytes (a match starts there). */
int64_t dg_chains_walk_to(dg_chains *c, size_t p, size_t distance);

/* The distance back to the (k + 1)th earlier place with the three bytes at
 * p, or 0 where there is none within the window and the walk's bounds. */
size_t dg_chains_walk_by(dg_chains *c, size_t p, uint64_t k);

#endif
