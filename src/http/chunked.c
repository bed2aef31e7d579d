/* http/chunked.c: the chunked transfer coding (RFC 9112 7.1).
 *
 * The decoder keeps its place between calls in a few integers, so input may
 * arrive split anywhere, down to one byte at a time, and the output is the
 * same. Chunk data is handed back as spans of the input; only the framing
 * (size lines, extensions, CRLFs) is looked at byte by byte.
 */
#include "http/chunked.h"
#include "http/http-private.h"

#include <string.h>

#define SIZE_LINE_MAX 4096
#define TRAILER_MAX 16384
#define CHUNK_SIZE_MAX (G_GUINT64_CONSTANT (1) << 62)
#define CHUNK_DIGITS_MAX 16

enum {
  S_SIZE,           /* chunk-size digits */
  S_EXT_WS,         /* BWS after the size or an extension: ";" must follow */
  S_EXT_NAME_START, /* after ";" */
  S_EXT_NAME,
  S_EXT_NAME_WS,    /* BWS after a name: "=" or ";" */
  S_EXT_VALUE_START,
  S_EXT_VALUE,      /* token value */
  S_EXT_QUOTED,
  S_EXT_QUOTED_PAIR,
  S_EXT_QUOTED_END,
  S_SIZE_LF,
  S_DATA,
  S_DATA_CR,
  S_DATA_LF,
  S_TRAILER,        /* at the start of a trailer line or the final CRLF */
  S_FINAL_LF,
  S_DONE,
  S_ERROR,
};

/* 0-15 for hex digits, 0xff for anything else */
static const guint8 hex_value[256] = {
  [0 ... '0' - 1] = 0xff,
  ['0'] = 0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
  ['9' + 1 ... 'A' - 1] = 0xff,
  ['A'] = 10, 11, 12, 13, 14, 15,
  ['F' + 1 ... 'a' - 1] = 0xff,
  ['a'] = 10, 11, 12, 13, 14, 15,
  ['f' + 1 ... 0xff] = 0xff,
};

void
portico_chunked_decoder_init (PorticoChunkedDecoder *d)
{
  memset (d, 0, sizeof *d);
  d->state = S_SIZE;
}

static PorticoChunkedResult
fail (PorticoChunkedDecoder *d, const char *reason)
{
  d->state = S_ERROR;
  d->error_reason = reason;
  return PORTICO_CHUNKED_ERROR;
}

/* HTAB, SP, VCHAR, obs-text: what a quoted-pair may escape */
static inline gboolean
is_text (guint8 c)
{
  return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* One byte of a chunk-size line: chunk-size [ chunk-ext ] CRLF, with
 * chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ).
 * Returns FALSE (and has failed @d) on a byte the grammar does not allow. */
static gboolean
size_line_byte (PorticoChunkedDecoder *d, guint8 c)
{
  gboolean tchar = portico_http_tchar[c] != 0;

  if (++d->line_len > SIZE_LINE_MAX)
    {
      fail (d, "chunk size line too long");
      return FALSE;
    }

  switch (d->state)
    {
    case S_SIZE:
      if (hex_value[c] != 0xff)
        {
          if (++d->n_digits > CHUNK_DIGITS_MAX || d->remaining > (CHUNK_SIZE_MAX - hex_value[c]) >> 4)
            {
              fail (d, "chunk size overflow");
              return FALSE;
            }
          d->remaining = (d->remaining << 4) | hex_value[c];
          return TRUE;
        }
      if (d->n_digits == 0)
        break;
      if (c == '\r')
        d->state = S_SIZE_LF;
      else if (c == ';')
        d->state = S_EXT_NAME_START;
      else if (portico_http_is_ows (c))
        d->state = S_EXT_WS;
      else
        break;
      return TRUE;

    case S_EXT_WS:
      if (c == ';')
        d->state = S_EXT_NAME_START;
      else if (!portico_http_is_ows (c))
        break;
      return TRUE;

    case S_EXT_NAME_START:
      if (tchar)
        d->state = S_EXT_NAME;
      else if (!portico_http_is_ows (c))
        break;
      return TRUE;

    case S_EXT_NAME:
    case S_EXT_NAME_WS:
      if (tchar && d->state == S_EXT_NAME)
        ;
      else if (c == '=')
        d->state = S_EXT_VALUE_START;
      else if (c == ';')
        d->state = S_EXT_NAME_START;
      else if (portico_http_is_ows (c))
        d->state = S_EXT_NAME_WS;
      else if (c == '\r' && d->state == S_EXT_NAME)
        d->state = S_SIZE_LF;
      else
        break;
      return TRUE;

    case S_EXT_VALUE_START:
      if (tchar)
        d->state = S_EXT_VALUE;
      else if (c == '"')
        d->state = S_EXT_QUOTED;
      else if (!portico_http_is_ows (c))
        break;
      return TRUE;

    case S_EXT_VALUE:
    case S_EXT_QUOTED_END:
      if (tchar && d->state == S_EXT_VALUE)
        ;
      else if (c == ';')
        d->state = S_EXT_NAME_START;
      else if (portico_http_is_ows (c))
        d->state = S_EXT_WS;
      else if (c == '\r')
        d->state = S_SIZE_LF;
      else
        break;
      return TRUE;

    case S_EXT_QUOTED:
      if (c == '"')
        d->state = S_EXT_QUOTED_END;
      else if (c == '\\')
        d->state = S_EXT_QUOTED_PAIR;
      else if (!is_text (c))
        break;
      return TRUE;

    case S_EXT_QUOTED_PAIR:
      if (!is_text (c))
        break;
      d->state = S_EXT_QUOTED;
      return TRUE;

    case S_SIZE_LF:
      if (c != '\n')
        {
          fail (d, "CR not followed by LF in a chunk size line");
          return FALSE;
        }
      d->state = d->remaining == 0 ? S_TRAILER : S_DATA;
      return TRUE;

    default:
      g_assert_not_reached ();
    }

  fail (d, d->state == S_SIZE ? "invalid chunk size" : "invalid chunk extension");
  return FALSE;
}

PorticoChunkedResult
portico_chunked_decode (PorticoChunkedDecoder *d, const char *in, size_t in_len,
                        size_t *consumed, const char **out, size_t *out_len)
{
  size_t pos = 0;

  *consumed = 0;
  *out = NULL;
  *out_len = 0;
  if (d->state == S_DONE)
    return PORTICO_CHUNKED_DONE;
  if (d->state == S_ERROR)
    return PORTICO_CHUNKED_ERROR;

  while (pos < in_len)
    {
      guint8 c = (guint8) in[pos];

      switch (d->state)
        {
        case S_DATA:
          {
            size_t n = (size_t) MIN ((uint64_t) (in_len - pos), d->remaining);

            d->remaining -= n;
            d->total += n;
            if (d->remaining == 0)
              d->state = S_DATA_CR;
            *out = in + pos;
            *out_len = n;
            *consumed = pos + n;
            return PORTICO_CHUNKED_DATA;
          }

        case S_DATA_CR:
        case S_DATA_LF:
          if (c != (d->state == S_DATA_CR ? '\r' : '\n'))
            {
              *consumed = pos;
              return fail (d, "chunk data not followed by CRLF");
            }
          pos++;
          if (d->state == S_DATA_LF)
            {
              d->state = S_SIZE;
              d->line_len = 0;
              d->n_digits = 0;
            }
          else
            d->state = S_DATA_LF;
          break;

        case S_TRAILER:
          {
            size_t avail = in_len - pos, room = TRAILER_MAX - d->trailer_bytes, line_len = 0;
            PorticoHttpHeader field;
            const char *reason = NULL;
            PorticoHttpParseResult r;

            if (c == '\r')
              {
                if (room < 2)
                  {
                    *consumed = pos;
                    return fail (d, "trailer section too large");
                  }
                d->trailer_bytes += 2;
                d->state = S_FINAL_LF;
                pos++;
                break;
              }
            /* Looking at no more than the room left keeps the verdict the
             * same however the input was split. */
            r = portico_http_parse_field_line (in + pos, MIN (avail, room), &field, &line_len, &reason);
            *consumed = pos;
            if (r == PORTICO_HTTP_ERROR)
              return fail (d, reason);
            if (r == PORTICO_HTTP_INCOMPLETE)
              {
                if (avail >= room)
                  return fail (d, "trailer section too large");
                return PORTICO_CHUNKED_NEED_MORE;
              }
            d->trailer_bytes += line_len;
            *out = in + pos;
            *out_len = line_len - 2;
            *consumed = pos + line_len;
            return PORTICO_CHUNKED_TRAILER;
          }

        case S_FINAL_LF:
          if (c != '\n')
            {
              *consumed = pos;
              return fail (d, "CR not followed by LF after the trailer section");
            }
          d->state = S_DONE;
          *consumed = pos + 1;
          return PORTICO_CHUNKED_DONE;

        default:
          if (!size_line_byte (d, c))
            {
              *consumed = pos;
              return PORTICO_CHUNKED_ERROR;
            }
          pos++;
          break;
        }
    }

  *consumed = pos;
  return PORTICO_CHUNKED_NEED_MORE;
}

size_t
portico_chunked_size_line (char *buf, uint64_t size)
{
  static const char digits[] = "0123456789abcdef";
  char tmp[16];
  size_t n = 0, i;

  do
    {
      tmp[n++] = digits[size & 0xf];
      size >>= 4;
    }
  while (size != 0);
  for (i = 0; i < n; i++)
    buf[i] = tmp[n - 1 - i];
  buf[n] = '\r';
  buf[n + 1] = '\n';
  buf[n + 2] = '\0';
  return n + 2;
}
