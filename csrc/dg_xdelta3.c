/* deltaglider's thin C layer over the vendored xdelta3 library.
 *
 * The library is compiled here, in this translation unit, as its authors
 * intend (xdelta3.c is a single-file library); vendor/ stays unmodified.  */
#include <lzma.h>

/* xdelta3 opens its LZMA secondary decoder with no memory limit, so a
 * hostile delta could make it allocate a 1.5 GiB dictionary.  xdelta3's own
 * encoder never needs more than preset 9 (64 MiB dictionary).  The macro is
 * defined after lzma.h declared the function and a macro is not re-expanded
 * inside its own replacement, so this calls the real function with a cap. */
#define DG_LZMA_DECODER_MEMLIMIT ((uint64_t) 128 << 20)
#define lzma_stream_decoder(strm, memlimit, flags) \
  lzma_stream_decoder ((strm), DG_LZMA_DECODER_MEMLIMIT, (flags))

/* xdelta3.h marks printf-like functions with a GCC attribute unless told
 * otherwise; MSVC has no such attribute. */
#if defined(_MSC_VER) && !defined(__clang__)
#define PRINTF_ATTRIBUTE(x, y)
#endif

#include "xdelta3.c"

#undef lzma_stream_decoder

#include "dg_xdelta3.h"

/* The hash table of the source matcher has max_winsize / large_step
 * entries; xd3_size_hashtable_bits() shifts a 32-bit 1U, so more than 2^31
 * entries would be undefined behaviour.  2 GiB keeps every level safe. */
#define DG_MAX_SOURCE_WINDOW ((uint64_t) 1 << 31)

/* Source blocks never exceed 1 GiB: xdelta3 keeps the byte count of a block
 * in an ssize_t, which its own Windows typedef makes a 32-bit int. */
#define DG_MAX_BLOCK ((usize_t) 1 << 30)

/* Targets windows above 16 MiB do not decode with xdelta3 3.0.x. */
#define DG_MAX_TARGET_WINDOW ((uint64_t) 1 << 24)

/* xd3_avail_input() treats NULL as "never called", so empty input needs a
 * real pointer. */
static const unsigned char dg_empty[1] = { 0 };

/* The decoder sizes some buffers from numbers in the delta (secondary
 * section sizes, the app header) without a bound.  A valid window is at
 * most XD3_HARDMAXWINSIZE (64 MiB) and no section xdelta3 writes for it
 * comes near 4 times that; refuse larger requests as corrupt input. */
#define DG_DECODER_ALLOC_LIMIT ((size_t) 4 * XD3_HARDMAXWINSIZE)

typedef struct
{
  size_t limit;   /* largest single allocation; 0 = none */
  int refused;    /* an allocation was refused for exceeding the limit */
  int failed;     /* malloc itself failed */
} dg_alloc_state;

static void *
dg_alloc (void *opaque, size_t items, usize_t size)
{
  dg_alloc_state *state = (dg_alloc_state *) opaque;

  if (size != 0 && items > SIZE_MAX / size)
    {
      state->refused = 1;
      return NULL;
    }
  if (state->limit != 0 && items * (size_t) size > state->limit)
    {
      state->refused = 1;
      return NULL;
    }
  void *block = malloc (items * (size_t) size);
  if (block == NULL)
    {
      state->failed = 1;
    }
  return block;
}

static void
dg_free (void *opaque, void *address)
{
  (void) opaque;
  free (address);
}

struct dg_stream
{
  xd3_stream xs;
  xd3_source src;
  int encoding;
  int input_final;    /* no input after the current buffer */
  int close_now;      /* encoder: final empty input after whole windows */
  int output_pending; /* an XD3_OUTPUT not yet consumed */
  int done;
  uint64_t output_limit;
  uint64_t total_out;
  dg_alloc_state alloc;
  unsigned char *appheader; /* owned copy: xdelta3 keeps only a pointer */
  /* Blocks the caller holds, by block number (NULL: not held).  xdelta3
   * gets these at once from dg_stream_getblk; only a block not held makes
   * the stream return DG_EVENT_BLOCK. */
  const unsigned char **held;
  size_t *held_len;
  uint64_t held_count;
};

const char *
dg_xdelta3_version (void)
{
  return "xdelta3 3.1.1 (release3_1_apl), liblzma " LZMA_VERSION_STRING;
}

static int
dg_matches (const char *message, const char *text)
{
  return message != NULL && strcmp (message, text) == 0;
}

static int
dg_starts (const char *message, const char *prefix)
{
  return message != NULL && strncmp (message, prefix, strlen (prefix)) == 0;
}

/* Translate an xdelta3 result into a DG_ERR_* code, keeping its message. */
static int
dg_error (xd3_stream *xs, int ret, int encoding, const char **message)
{
  const char *msg = xs->msg;

  if (message != NULL)
    {
      *message = (msg != NULL && *msg != 0) ? msg : xd3_strerror (ret);
      if (*message == NULL)
        {
          *message = "unknown xdelta3 error";
        }
    }
  if (ret == ENOMEM)
    {
      dg_alloc_state *state = (dg_alloc_state *) xs->opaque;
      if (state != NULL && state->refused)
        {
          if (message != NULL)
            {
              *message = "the delta declares a buffer larger than any valid delta needs";
            }
          return DG_ERR_CORRUPT;
        }
      /* The decoder also says ENOMEM for some malformed headers. */
      if (state != NULL && !state->failed)
        {
          return DG_ERR_CORRUPT;
        }
      return DG_ERR_NOMEM;
    }
  if (ret == XD3_UNIMPLEMENTED || dg_matches (msg, "unknown secondary compressor ID")
      || dg_matches (msg, "VCD_CODETABLE support was removed")
      || dg_starts (msg, "unavailable secondary compressor"))
    {
      return DG_ERR_UNSUPPORTED;
    }
  if (encoding)
    {
      return (ret == XD3_INVALID) ? DG_ERR_INVALID_ARG : DG_ERR_INTERNAL;
    }
  if (dg_matches (msg, "target window checksum mismatch"))
    {
      return DG_ERR_CHECKSUM;
    }
  if (dg_matches (msg, "source file too short"))
    {
      return DG_ERR_SOURCE_SHORT;
    }
  if (dg_matches (msg, "eof in decode") || dg_matches (msg, "further input required"))
    {
      return DG_ERR_TRUNCATED;
    }
  /* Any other decoder failure comes from the bytes of the delta. */
  return DG_ERR_CORRUPT;
}

static int
dg_fail (int code, const char *text, const char **message)
{
  if (message != NULL)
    {
      *message = text;
    }
  return code;
}

static int
dg_check_options (const dg_encode_options *o, const char **message)
{
  if (o == NULL)
    {
      return dg_fail (DG_ERR_INVALID_ARG, "options are required", message);
    }
  if (o->level < 0 || o->level > 9)
    {
      return dg_fail (DG_ERR_INVALID_ARG, "level must be 0..9", message);
    }
  if (o->secondary != DG_SECONDARY_NONE && o->secondary != DG_SECONDARY_DJW
      && o->secondary != DG_SECONDARY_LZMA && o->secondary != DG_SECONDARY_FGK)
    {
      return dg_fail (DG_ERR_INVALID_ARG, "unknown secondary compressor", message);
    }
  if (o->secondary_level < 0 || o->secondary_level > 9)
    {
      return dg_fail (DG_ERR_INVALID_ARG, "secondary level must be 0..9", message);
    }
  if (o->target_window < XD3_ALLOCSIZE || o->target_window > DG_MAX_TARGET_WINDOW)
    {
      return dg_fail (DG_ERR_INVALID_ARG,
                      "target window must be 16 KiB..16 MiB", message);
    }
  if (o->appheader_len > 0 && o->appheader == NULL)
    {
      return dg_fail (DG_ERR_INVALID_ARG, "application header is NULL", message);
    }
  return DG_OK;
}

/* Mirror `xdelta3 -e -N -S X`: same string matcher per level, same
 * secondary compressor setup, the CLI's instruction buffer and sprevsz. */
static int
dg_configure_encoder (xd3_stream *xs, const dg_encode_options *o,
                      usize_t winsize, const char **message)
{
  xd3_config cfg;
  int ret;

  xd3_init_config (&cfg, o->checksum ? XD3_ADLER32 : 0);
  cfg.winsize = winsize;
  cfg.iopt_size = XD3_DEFAULT_IOPT_SIZE;
  cfg.sprevsz = XD3_DEFAULT_SPREVSZ;

  if (o->soft_matcher)
    {
      cfg.smatch_cfg = XD3_SMATCH_SOFT;
      cfg.smatcher_soft.large_look = o->soft[0];
      cfg.smatcher_soft.large_step = o->soft[1];
      cfg.smatcher_soft.small_look = o->soft[2];
      cfg.smatcher_soft.small_chain = o->soft[3];
      cfg.smatcher_soft.small_lchain = o->soft[4];
      cfg.smatcher_soft.max_lazy = o->soft[5];
      cfg.smatcher_soft.long_enough = o->soft[6];
      if (o->level == 0)
        {
          cfg.flags |= XD3_NOCOMPRESS;
        }
    }
  else switch (o->level)
    {
    case 0: cfg.flags |= XD3_NOCOMPRESS; cfg.smatch_cfg = XD3_SMATCH_FASTEST; break;
    case 1: cfg.smatch_cfg = XD3_SMATCH_FASTEST; break;
    case 2: cfg.smatch_cfg = XD3_SMATCH_FASTER; break;
    case 3: case 4: case 5: cfg.smatch_cfg = XD3_SMATCH_FAST; break;
    case 6: cfg.smatch_cfg = XD3_SMATCH_DEFAULT; break;
    default: cfg.smatch_cfg = XD3_SMATCH_SLOW; break;
    }

  switch (o->secondary)
    {
    case DG_SECONDARY_LZMA: cfg.flags |= XD3_SEC_LZMA; break;
    case DG_SECONDARY_FGK: cfg.flags |= XD3_SEC_FGK; break;
    case DG_SECONDARY_DJW:
      /* The CLI's `-S djwN` mapping from level to sections and groups. */
      cfg.flags |= XD3_SEC_DJW;
      if (o->secondary_level < 1) { cfg.flags |= XD3_SEC_NODATA; }
      if (o->secondary_level < 3) { cfg.flags |= XD3_SEC_NOINST; }
      if (o->secondary_level < 5) { cfg.flags |= XD3_SEC_NOADDR; }
      cfg.sec_data.ngroups = (o->secondary_level < 7) ? 1 : 0;
      cfg.sec_inst.ngroups = (o->secondary_level < 8) ? 1 : 0;
      cfg.sec_addr.ngroups = (o->secondary_level < 9) ? 1 : 0;
      break;
    default: break;
    }

  if ((ret = xd3_config_stream (xs, &cfg)) != 0)
    {
      return dg_error (xs, ret, 1, message);
    }

  /* The LZMA preset is read from the level bits of the stream flags; set
   * them only now, because in the config they would also pick the string
   * matcher at level 6. */
  if (o->secondary == DG_SECONDARY_LZMA)
    {
      xs->flags |= ((uint32_t) o->secondary_level << XD3_COMPLEVEL_SHIFT);
    }
  return DG_OK;
}

static usize_t
dg_source_window (const dg_encode_options *o, uint64_t source_size)
{
  /* A window larger than the source only enlarges the match table, which
   * finds more matches; the caller decides. */
  uint64_t window = o->source_window ? o->source_window : source_size;

  if (window > DG_MAX_SOURCE_WINDOW)
    {
      window = DG_MAX_SOURCE_WINDOW;
    }
  return (usize_t) window;
}

/* A source held whole in memory.  Up to 1 GiB it is one block whose size is
 * the next power of two above the length, so the last block is partial and
 * xdelta3 knows where the source ends; larger sources are 1 GiB blocks,
 * served on request by dg_memory_block(). */
static int
dg_set_memory_source (xd3_stream *xs, xd3_source *src,
                      const unsigned char *source, size_t source_len,
                      usize_t max_winsize)
{
  memset (src, 0, sizeof (*src));
  src->blksize = xd3_pow2_roundup ((usize_t) source_len + 1);
  src->blksize = xd3_min (xd3_max (src->blksize, XD3_ALLOCSIZE), DG_MAX_BLOCK);
  src->name = "source";
  src->curblkno = 0;
  src->curblk = source != NULL ? source : dg_empty;
  src->onblk = (usize_t) xd3_min ((size_t) src->blksize, source_len);
  src->max_winsize = max_winsize;
  return xd3_set_source_and_size (xs, src, (xoff_t) source_len);
}

/* Answer a block request from a source held in memory. */
static void
dg_memory_block (xd3_source *src, const unsigned char *source, size_t source_len)
{
  xoff_t offset = src->getblkno * (xoff_t) src->blksize;

  src->curblkno = src->getblkno;
  if (source == NULL || src->getblkno >= ((xoff_t) 1 << (64 - src->shiftby))
      || offset >= source_len)
    {
      src->curblk = dg_empty;
      src->onblk = 0;
      return;
    }
  src->curblk = source + offset;
  src->onblk = (usize_t) xd3_min ((xoff_t) src->blksize, source_len - offset);
}

/* Decode the next window straight into out[]: point the decoder's window
 * buffer at the next free output bytes, exactly the window's length, so the
 * library neither allocates a buffer of its own nor needs a copy.  A window
 * that does not fit gets a library buffer and fails the output check.
 * Returns whether the buffer now belongs to out[]. */
static int
dg_direct_window (xd3_stream *xs, int direct, unsigned char *out,
                  size_t out_cap, size_t out_len)
{
  if (!direct)
    {
      xd3_free (xs, xs->dec_buffer);
    }
  if (xs->dec_tgtlen <= out_cap - out_len)
    {
      xs->dec_buffer = out + out_len;
      xs->space_out = xs->dec_tgtlen;
      direct = 1;
    }
  else
    {
      xs->dec_buffer = NULL;
      xs->space_out = 0;
      direct = 0;
    }
  xs->next_out = xs->dec_buffer;
  return direct;
}

/* Run a configured stream over input held in memory.  The encoder is fed
 * one window at a time, the decoder all at once and straight into out[]. */
static int
dg_run_memory (xd3_stream *xs, int encoding,
               const unsigned char *input, size_t input_len,
               const unsigned char *source, size_t source_len,
               unsigned char *out, size_t out_cap, size_t *out_len,
               const char **message)
{
  size_t pos = 0;
  size_t chunk = encoding ? xd3_min ((size_t) xs->winsize, input_len) : input_len;
  int direct = 0;
  int ret;

  *out_len = 0;
  if (encoding)
    {
      xs->flags |= XD3_FLUSH;
    }
  xd3_avail_input (xs, input != NULL ? input : dg_empty, (usize_t) chunk);
  pos = chunk;

  for (;;)
    {
      ret = encoding ? xd3_encode_input (xs) : xd3_decode_input (xs);
      switch (ret)
        {
        case XD3_OUTPUT:
          if (xs->avail_out > out_cap - *out_len)
            {
              ret = encoding
                ? dg_fail (DG_ERR_DELTA_TOO_LARGE, "delta exceeds the size limit", message)
                : dg_fail (DG_ERR_OUTPUT_LIMIT, "decoded output exceeds the expected size", message);
              goto end;
            }
          if (xs->next_out != out + *out_len)
            {
              memcpy (out + *out_len, xs->next_out, xs->avail_out);
            }
          *out_len += xs->avail_out;
          xd3_consume_output (xs);
          break;
        case XD3_INPUT:
          if (encoding && pos < input_len)
            {
              chunk = xd3_min ((size_t) xs->winsize, input_len - pos);
              xd3_avail_input (xs, input + pos, (usize_t) chunk);
              pos += chunk;
              break;
            }
          if (!encoding && xs->dec_state == DEC_VCHEAD)
            {
              ret = dg_fail (DG_ERR_TRUNCATED, "incomplete VCDIFF header", message);
              goto end;
            }
          ret = xd3_close_stream (xs);
          ret = (ret == 0) ? DG_OK : dg_error (xs, ret, encoding, message);
          goto end;
        case XD3_GETSRCBLK:
          dg_memory_block (xs->src, source, source_len);
          break;
        case XD3_GOTHEADER:
        case XD3_WINSTART:
          if (!encoding)
            {
              direct = dg_direct_window (xs, direct, out, out_cap, *out_len);
            }
          break;
        case XD3_WINFINISH:
          break;
        default:
          ret = dg_error (xs, ret, encoding, message);
          goto end;
        }
    }
end:
  if (direct)
    {
      /* out[] is the caller's: keep xd3_free_stream away from it. */
      xs->dec_buffer = NULL;
      xs->next_out = NULL;
    }
  return ret;
}

int
dg_encode (const unsigned char *source, size_t source_len,
           const unsigned char *target, size_t target_len,
           const dg_encode_options *options,
           unsigned char *out, size_t out_cap, size_t *out_len,
           const char **message)
{
  xd3_stream xs;
  xd3_source src;
  usize_t winsize;
  int ret;

  *out_len = 0;
  if ((ret = dg_check_options (options, message)) != DG_OK)
    {
      return ret;
    }
  memset (&xs, 0, sizeof (xs));
  /* Like the CLI: the window is no larger than the input. */
  winsize = (usize_t) xd3_max (xd3_min ((uint64_t) target_len, options->target_window),
                               (uint64_t) XD3_ALLOCSIZE);
  if ((ret = dg_configure_encoder (&xs, options, winsize, message)) != DG_OK)
    {
      xd3_free_stream (&xs);
      return ret;
    }
  if (source_len > 0
      && (ret = dg_set_memory_source (&xs, &src, source, source_len,
                                      dg_source_window (options, source_len))) != 0)
    {
      ret = dg_error (&xs, ret, 1, message);
      xd3_free_stream (&xs);
      return ret;
    }
  if (options->appheader_len > 0)
    {
      xd3_set_appheader (&xs, options->appheader, (usize_t) options->appheader_len);
    }
  ret = dg_run_memory (&xs, 1, target, target_len, source, source_len,
                       out, out_cap, out_len, message);
  xd3_free_stream (&xs);
  return ret;
}

static int
dg_configure_decoder (xd3_stream *xs, uint32_t flags, dg_alloc_state *alloc,
                      const char **message)
{
  xd3_config cfg;
  int ret;

  xd3_init_config (&cfg, flags);
  alloc->limit = DG_DECODER_ALLOC_LIMIT;
  alloc->refused = 0;
  alloc->failed = 0;
  cfg.alloc = dg_alloc;
  cfg.freef = dg_free;
  cfg.opaque = alloc;
  if ((ret = xd3_config_stream (xs, &cfg)) != 0)
    {
      return dg_error (xs, ret, 0, message);
    }
  return DG_OK;
}

int
dg_decode (const unsigned char *source, size_t source_len,
           const unsigned char *delta, size_t delta_len,
           unsigned char *out, size_t out_cap, size_t *out_len,
           const char **message)
{
  xd3_stream xs;
  xd3_source src;
  dg_alloc_state alloc;
  int ret;

  *out_len = 0;
  memset (&xs, 0, sizeof (xs));
  if ((ret = dg_configure_decoder (&xs, 0, &alloc, message)) == DG_OK)
    {
      /* Always set a source, even an empty one: a delta that copies from
       * a source we do not have must fail, not read garbage. */
      if ((ret = dg_set_memory_source (&xs, &src, source, source_len,
                                       (usize_t) source_len)) != 0)
        {
          ret = dg_error (&xs, ret, 0, message);
        }
      else
        {
          ret = dg_run_memory (&xs, 0, delta, delta_len, source, source_len,
                               out, out_cap, out_len, message);
        }
    }
  xd3_free_stream (&xs);
  return ret;
}

int
dg_inspect (const unsigned char *delta, size_t delta_len,
            dg_header_info *header,
            dg_window_info *windows, size_t windows_cap,
            const char **message)
{
  xd3_stream xs;
  dg_alloc_state alloc;
  int ret;

  header->header_indicator = 0;
  header->secondary_id = 0;
  header->appheader_len = 0;
  header->window_count = 0;
  header->target_size = 0;

  memset (&xs, 0, sizeof (xs));
  if ((ret = dg_configure_decoder (&xs, XD3_SKIP_WINDOW | XD3_ADLER32_NOVER,
                                   &alloc, message)) != DG_OK)
    {
      xd3_free_stream (&xs);
      return ret;
    }
  xd3_avail_input (&xs, delta != NULL ? delta : dg_empty, (usize_t) delta_len);

  for (;;)
    {
      ret = xd3_decode_input (&xs);
      switch (ret)
        {
        case XD3_GOTHEADER:
          header->header_indicator = (unsigned int) xs.dec_hdr_ind;
          header->secondary_id = (xs.dec_hdr_ind & VCD_SECONDARY)
            ? (int) xs.dec_secondid : DG_SECONDARY_NONE;
          if (xs.dec_hdr_ind & VCD_APPHEADER)
            {
              header->appheader_len = xs.dec_appheadsz;
              if (header->appheader != NULL)
                {
                  memcpy (header->appheader, xs.dec_appheader,
                          xd3_min (header->appheader_cap, (size_t) xs.dec_appheadsz));
                }
            }
          /* FALLTHROUGH: the first window header is also ready. */
        case XD3_WINSTART:
          if (header->window_count < windows_cap)
            {
              dg_window_info *w = &windows[header->window_count];
              w->target_offset = xs.dec_winstart;
              w->target_length = xs.dec_tgtlen;
              w->copy_offset = xs.dec_cpyoff;
              w->copy_length = xs.dec_cpylen;
              w->delta_length = xs.dec_enclen;
              w->indicator = (unsigned int) xs.dec_win_ind;
              w->delta_indicator = (unsigned int) xs.dec_del_ind;
              w->adler32 = (xs.dec_win_ind & VCD_ADLER32) ? xs.dec_adler32 : 0;
            }
          header->window_count += 1;
          header->target_size += xs.dec_tgtlen;
          break;
        case XD3_OUTPUT: /* empty in skip mode */
          xd3_consume_output (&xs);
          break;
        case XD3_WINFINISH:
          break;
        case XD3_INPUT:
          if (xs.dec_state < DEC_WININD)
            {
              ret = dg_fail (DG_ERR_TRUNCATED, "incomplete VCDIFF header", message);
            }
          else if ((ret = xd3_close_stream (&xs)) != 0)
            {
              ret = dg_error (&xs, ret, 0, message);
            }
          xd3_free_stream (&xs);
          return ret;
        default:
          ret = dg_error (&xs, ret, 0, message);
          xd3_free_stream (&xs);
          return ret;
        }
    }
}

/* ---------------------------------------------------------------------
 * Streaming
 * --------------------------------------------------------------------- */

static dg_stream *
dg_stream_alloc (int *error, const char **message)
{
  dg_stream *s = (dg_stream *) calloc (1, sizeof (dg_stream));

  if (s == NULL)
    {
      *error = dg_fail (DG_ERR_NOMEM, "out of memory", message);
      return NULL;
    }
  s->output_limit = UINT64_MAX;
  return s;
}

/* xdelta3's block callback: a held block is served at once.  Answering
 * XD3_GETSRCBLK instead (the library's non-blocking protocol) would make
 * the encoder drop any match it was extending into that block: deltas of
 * large files came out up to twice the size of the xdelta3 CLI's, whose
 * callback reads blocks synchronously. */
static int
dg_stream_getblk (xd3_stream *xs, xd3_source *src, xoff_t blkno)
{
  dg_stream *s = (dg_stream *) src->ioh;

  (void) xs;
  if (blkno >= s->held_count || s->held[blkno] == NULL)
    {
      return XD3_GETSRCBLK; /* xd3_getblk has set src->getblkno */
    }
  src->curblkno = blkno;
  src->curblk = s->held[blkno];
  src->onblk = (usize_t) s->held_len[blkno];
  return 0;
}

static int
dg_stream_set_source (dg_stream *s, uint64_t source_size, uint64_t block_size,
                      usize_t max_winsize, const char **message)
{
  usize_t shift;

  if (xd3_check_pow2 ((usize_t) block_size, &shift) != 0 || block_size < XD3_ALLOCSIZE
      || block_size > DG_MAX_BLOCK)
    {
      return dg_fail (DG_ERR_INVALID_ARG,
                      "block size must be a power of two from 16 KiB to 1 GiB", message);
    }
  s->src.blksize = (usize_t) block_size;
  s->src.name = "source";
  s->src.ioh = s;
  s->src.curblkno = ~(xoff_t) 0; /* nothing loaded yet */
  s->src.curblk = NULL;
  s->src.max_winsize = max_winsize;
  s->held_count = source_size / block_size + 1;
  s->held = (const unsigned char **) calloc ((size_t) s->held_count, sizeof (*s->held));
  s->held_len = (size_t *) calloc ((size_t) s->held_count, sizeof (*s->held_len));
  if (s->held == NULL || s->held_len == NULL)
    {
      return dg_fail (DG_ERR_NOMEM, "out of memory", message);
    }
  s->xs.getblk = dg_stream_getblk;
  return xd3_set_source_and_size (&s->xs, &s->src, (xoff_t) source_size);
}

dg_stream *
dg_stream_new_encoder (const dg_encode_options *options,
                       uint64_t source_size, uint64_t block_size,
                       int *error, const char **message)
{
  dg_stream *s;
  int ret;

  *error = DG_OK;
  if ((ret = dg_check_options (options, message)) != DG_OK)
    {
      *error = ret;
      return NULL;
    }
  if ((s = dg_stream_alloc (error, message)) == NULL)
    {
      return NULL;
    }
  s->encoding = 1;
  if (options->appheader_len > 0)
    {
      if ((s->appheader = (unsigned char *) malloc (options->appheader_len)) == NULL)
        {
          *error = dg_fail (DG_ERR_NOMEM, "out of memory", message);
          free (s);
          return NULL;
        }
      memcpy (s->appheader, options->appheader, options->appheader_len);
    }
  ret = dg_configure_encoder (&s->xs, options, (usize_t) options->target_window, message);
  if (ret == DG_OK && source_size > 0)
    {
      ret = dg_stream_set_source (s, source_size, block_size,
                                  dg_source_window (options, source_size), message);
    }
  if (ret != DG_OK)
    {
      *error = ret;
      dg_stream_free (s);
      return NULL;
    }
  if (s->appheader != NULL)
    {
      xd3_set_appheader (&s->xs, s->appheader, (usize_t) options->appheader_len);
    }
  return s;
}

dg_stream *
dg_stream_new_decoder (uint64_t source_size, uint64_t block_size,
                       int *error, const char **message)
{
  dg_stream *s;
  int ret;

  *error = DG_OK;
  if ((s = dg_stream_alloc (error, message)) == NULL)
    {
      return NULL;
    }
  ret = dg_configure_decoder (&s->xs, 0, &s->alloc, message);
  if (ret == DG_OK)
    {
      ret = dg_stream_set_source (s, source_size, block_size,
                                  (usize_t) xd3_max (source_size, (uint64_t) XD3_ALLOCSIZE),
                                  message);
    }
  if (ret != DG_OK)
    {
      *error = ret;
      dg_stream_free (s);
      return NULL;
    }
  return s;
}

void
dg_stream_free (dg_stream *s)
{
  if (s == NULL)
    {
      return;
    }
  xd3_free_stream (&s->xs);
  free (s->appheader);
  free (s->held);
  free (s->held_len);
  free (s);
}

int
dg_stream_input (dg_stream *s, const unsigned char *data, size_t len, int is_final)
{
  if (s->done || s->input_final)
    {
      s->xs.msg = "input after the end of the stream";
      return DG_ERR_INVALID_ARG;
    }
  s->input_final = is_final != 0;
  /* The CLI's rule: an empty read after whole windows ends the input
   * without another (empty) window. */
  if (s->encoding && is_final && len == 0 && s->xs.current_window > 0)
    {
      s->close_now = 1;
      return DG_OK;
    }
  if (s->encoding && is_final)
    {
      s->xs.flags |= XD3_FLUSH;
    }
  xd3_avail_input (&s->xs, data != NULL ? data : dg_empty, (usize_t) len);
  return DG_OK;
}

static int
dg_stream_finish (dg_stream *s)
{
  int ret;

  if (!s->encoding && s->xs.dec_state == DEC_VCHEAD)
    {
      s->xs.msg = "incomplete VCDIFF header";
      return DG_ERR_TRUNCATED;
    }
  if ((ret = xd3_close_stream (&s->xs)) != 0)
    {
      return dg_error (&s->xs, ret, s->encoding, NULL);
    }
  s->done = 1;
  return DG_EVENT_DONE;
}

int
dg_stream_run (dg_stream *s)
{
  int ret;

  if (s->output_pending)
    {
      xd3_consume_output (&s->xs);
      s->output_pending = 0;
    }
  if (s->done)
    {
      return DG_EVENT_DONE;
    }
  if (s->close_now)
    {
      return dg_stream_finish (s);
    }
  for (;;)
    {
      ret = s->encoding ? xd3_encode_input (&s->xs) : xd3_decode_input (&s->xs);
      switch (ret)
        {
        case XD3_OUTPUT:
          if (s->xs.avail_out > s->output_limit - s->total_out)
            {
              s->xs.msg = s->encoding ? "delta exceeds the size limit"
                                      : "decoded output exceeds the expected size";
              return s->encoding ? DG_ERR_DELTA_TOO_LARGE : DG_ERR_OUTPUT_LIMIT;
            }
          s->total_out += s->xs.avail_out;
          s->output_pending = 1;
          return DG_EVENT_OUTPUT;
        case XD3_INPUT:
          return s->input_final ? dg_stream_finish (s) : DG_EVENT_INPUT;
        case XD3_GETSRCBLK:
          return DG_EVENT_BLOCK;
        case XD3_GOTHEADER:
        case XD3_WINSTART:
        case XD3_WINFINISH:
          break;
        default:
          return dg_error (&s->xs, ret, s->encoding, NULL);
        }
    }
}

void
dg_stream_output (dg_stream *s, const unsigned char **data, size_t *len)
{
  *data = s->output_pending ? s->xs.next_out : dg_empty;
  *len = s->output_pending ? (size_t) s->xs.avail_out : 0;
}

void
dg_stream_set_output_limit (dg_stream *s, uint64_t limit)
{
  s->output_limit = limit;
}

uint64_t
dg_stream_block_wanted (dg_stream *s)
{
  return s->xs.src != NULL ? (uint64_t) s->src.getblkno : 0;
}

int
dg_stream_provide_block (dg_stream *s, uint64_t block_number,
                         const unsigned char *data, size_t len)
{
  if (s->xs.src == NULL || block_number != s->src.getblkno)
    {
      s->xs.msg = "block was not requested";
      return DG_ERR_INVALID_ARG;
    }
  if (len > s->src.blksize)
    {
      s->xs.msg = "block is larger than the block size";
      return DG_ERR_INVALID_ARG;
    }
  s->src.curblkno = block_number;
  s->src.curblk = (data != NULL && len > 0) ? data : dg_empty;
  s->src.onblk = (usize_t) len;
  if (block_number < s->held_count)
    {
      s->held[block_number] = s->src.curblk;
      s->held_len[block_number] = len;
    }
  return DG_OK;
}

void
dg_stream_release_block (dg_stream *s, uint64_t block_number)
{
  if (s->xs.src != NULL && block_number < s->held_count)
    {
      s->held[block_number] = NULL;
      if (s->src.curblkno == block_number)
        {
          /* xdelta3 must ask again before it reads this block. */
          s->src.curblkno = ~(xoff_t) 0;
          s->src.curblk = NULL;
        }
    }
}

const char *
dg_stream_message (dg_stream *s)
{
  return (s->xs.msg != NULL && *s->xs.msg != 0) ? s->xs.msg : "unknown xdelta3 error";
}

uint64_t
dg_stream_total_out (dg_stream *s)
{
  return s->total_out;
}
