/* chunked.h: the chunked transfer coding (RFC 9112 section 7.1), both ways.
 *
 * The decoder is incremental and copies nothing: it is fed whatever bytes
 * have arrived and hands back spans of the input, one at a time, so a proxy
 * can stream a body through bounded buffers. Chunk extensions are checked
 * and dropped; trailer fields are checked and handed back one by one.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  PORTICO_CHUNKED_NEED_MORE = 0, /* input consumed (but an incomplete trailer line); feed more */
  PORTICO_CHUNKED_DATA,          /* *out, *out_len is body data */
  PORTICO_CHUNKED_TRAILER,       /* *out, *out_len is one trailer field line, no CRLF */
  PORTICO_CHUNKED_DONE,          /* last chunk and trailer section read */
  PORTICO_CHUNKED_ERROR,         /* malformed: see error_reason */
} PorticoChunkedResult;

typedef struct {
  int state;               /* private */
  uint64_t remaining;      /* private: data bytes left in the current chunk */
  size_t line_len;         /* private: bytes of the current size/ext/trailer line */
  size_t trailer_bytes;    /* private: bytes of trailer section so far */
  guint n_digits;          /* private */
  uint64_t total;          /* body bytes decoded so far */
  const char *error_reason;
} PorticoChunkedDecoder;

/* Limits: a chunk-size line (size and extensions) may not pass 4 KiB, the
 * trailer section 16 KiB; a chunk size over 2^62 is an overflow. */
void portico_chunked_decoder_init (PorticoChunkedDecoder *d);

/* Decodes from @in (@in_len bytes). Sets *consumed to the bytes used (the
 * caller drops them before the next call). For DATA and TRAILER, *out and
 * *out_len point into @in. After DONE, the bytes from *consumed on belong to
 * whatever follows the message. A DATA span is never empty. A trailer line is
 * returned only once complete; an incomplete one is left unconsumed. */
PorticoChunkedResult portico_chunked_decode (PorticoChunkedDecoder *d, const char *in, size_t in_len,
                                             size_t *consumed, const char **out, size_t *out_len);

/* Writes the size line of a chunk of @size bytes ("1a2b\r\n") into @buf,
 * which holds at least PORTICO_CHUNK_HEADER_MAX bytes. Returns its length. */
#define PORTICO_CHUNK_HEADER_MAX 20
size_t portico_chunked_size_line (char *buf, uint64_t size);

G_END_DECLS
