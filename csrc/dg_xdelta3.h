/* deltaglider's thin C layer over the vendored xdelta3 library.
 *
 * Everything between the cdef markers is parsed by cffi (csrc/ffi_build.py),
 * so that block holds plain declarations only: no preprocessor logic.
 * Policy (window sizes, memory budgets, retries, what an error means to a
 * user) lives in Python; this layer drives the xdelta3 state machine,
 * enforces hard output limits and translates library errors into codes.
 * Nothing here prints or touches files. */
#ifndef DG_XDELTA3_H
#define DG_XDELTA3_H

#include <stddef.h>
#include <stdint.h>

/* cdef-begin */
/* Result codes: 0 is success, negative values are errors. */
#define DG_OK 0
#define DG_ERR_NOMEM -1
#define DG_ERR_INVALID_ARG -2
#define DG_ERR_CORRUPT -3
#define DG_ERR_CHECKSUM -4
#define DG_ERR_SOURCE_SHORT -5
#define DG_ERR_OUTPUT_LIMIT -6
#define DG_ERR_DELTA_TOO_LARGE -7
#define DG_ERR_UNSUPPORTED -8
#define DG_ERR_TRUNCATED -9
#define DG_ERR_INTERNAL -10

/* Events returned by dg_stream_run. */
#define DG_EVENT_INPUT 1
#define DG_EVENT_OUTPUT 2
#define DG_EVENT_BLOCK 3
#define DG_EVENT_DONE 4

/* VCDIFF secondary compressor ids (RFC 3284 header byte, xdelta3 values). */
#define DG_SECONDARY_NONE 0
#define DG_SECONDARY_DJW 1
#define DG_SECONDARY_LZMA 2
#define DG_SECONDARY_FGK 16

typedef struct {
    int level;                  /* 0..9, as `xdelta3 -0` .. `-9` */
    int secondary;              /* DG_SECONDARY_* */
    int secondary_level;        /* LZMA preset 0..9, or DJW level 0..9 */
    uint64_t source_window;     /* bytes of source the matcher may see */
    uint64_t target_window;     /* target window size in bytes */
    int checksum;               /* nonzero: Adler-32 on every window */
    int soft_matcher;           /* nonzero: use soft[] instead of the level's matcher */
    unsigned int soft[7];       /* as `xdelta3 -C`: large_look, large_step, small_look,
                                   small_chain, small_lchain, max_lazy, long_enough */
    const unsigned char *appheader;
    size_t appheader_len;
} dg_encode_options;

typedef struct {
    unsigned int header_indicator;  /* VCD_SECONDARY|VCD_CODETABLE|VCD_APPHEADER */
    int secondary_id;               /* DG_SECONDARY_* or an unknown id */
    unsigned char *appheader;       /* caller buffer, filled up to appheader_cap */
    size_t appheader_cap;
    size_t appheader_len;           /* true length, may exceed appheader_cap */
    uint64_t window_count;
    uint64_t target_size;           /* sum of all target window lengths */
} dg_header_info;

typedef struct {
    uint64_t target_offset;
    uint64_t target_length;
    uint64_t copy_offset;
    uint64_t copy_length;
    uint64_t delta_length;
    unsigned int indicator;         /* VCD_SOURCE|VCD_TARGET|VCD_ADLER32 */
    unsigned int delta_indicator;   /* per-section secondary compression bits */
    uint32_t adler32;
} dg_window_info;

typedef struct dg_stream dg_stream;

/* One-shot encode of target against source, both fully in memory.  The delta
 * goes to out[0..out_cap); if it would not fit the encoder stops at once and
 * returns DG_ERR_DELTA_TOO_LARGE. */
int dg_encode(const unsigned char *source, size_t source_len,
              const unsigned char *target, size_t target_len,
              const dg_encode_options *options,
              unsigned char *out, size_t out_cap, size_t *out_len,
              const char **message);

/* One-shot decode.  Never writes past out_cap: a delta that produces more
 * returns DG_ERR_OUTPUT_LIMIT. */
int dg_decode(const unsigned char *source, size_t source_len,
              const unsigned char *delta, size_t delta_len,
              unsigned char *out, size_t out_cap, size_t *out_len,
              const char **message);

/* Parse the VCDIFF header and every window header without decoding data.
 * Fills windows[0..windows_cap) and counts all windows in header. */
int dg_inspect(const unsigned char *delta, size_t delta_len,
               dg_header_info *header,
               dg_window_info *windows, size_t windows_cap,
               const char **message);

/* Streaming: the caller drives the state machine.  The source is read in
 * blocks of block_size bytes (a power of two) on request. */
dg_stream *dg_stream_new_encoder(const dg_encode_options *options,
                                 uint64_t source_size, uint64_t block_size,
                                 int *error, const char **message);
dg_stream *dg_stream_new_decoder(uint64_t source_size, uint64_t block_size,
                                 int *error, const char **message);
void dg_stream_free(dg_stream *stream);

/* Offer input.  The buffer must stay valid until dg_stream_run next returns
 * DG_EVENT_INPUT.  is_final marks the end of the input. */
int dg_stream_input(dg_stream *stream, const unsigned char *data, size_t len,
                    int is_final);

/* Advance until an event or an error (negative). */
int dg_stream_run(dg_stream *stream);

/* After DG_EVENT_OUTPUT: the bytes to take before the next dg_stream_run. */
void dg_stream_output(dg_stream *stream, const unsigned char **data, size_t *len);

/* Limit total output bytes: encoder -> DG_ERR_DELTA_TOO_LARGE, decoder ->
 * DG_ERR_OUTPUT_LIMIT.  A new stream has no limit. */
void dg_stream_set_output_limit(dg_stream *stream, uint64_t limit);

/* After DG_EVENT_BLOCK: which block is wanted, then hand it over.  The
 * stream keeps the block and serves it again without asking, so it must
 * stay valid until released, or until the end of the stream. */
uint64_t dg_stream_block_wanted(dg_stream *stream);
int dg_stream_provide_block(dg_stream *stream, uint64_t block_number,
                            const unsigned char *data, size_t len);

/* The caller is about to reuse or free a block it provided. */
void dg_stream_release_block(dg_stream *stream, uint64_t block_number);

const char *dg_stream_message(dg_stream *stream);
uint64_t dg_stream_total_out(dg_stream *stream);

const char *dg_xdelta3_version(void);
/* cdef-end */

#endif /* DG_XDELTA3_H */
