/* fuzz-chunked: the chunked decoder must give the same output however its
 * input is split. The first byte of the input picks the splits; the rest is
 * the chunked body. */
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "http/chunked.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

typedef struct {
  char *data;
  size_t data_len;
  char *trailers; /* each trailer line followed by '\n' */
  size_t trailers_len;
  PorticoChunkedResult last;
  const char *error_reason;
  size_t end;
} Decoded;

/* Feeds @in in pieces, keeping unconsumed bytes at the front of the buffer
 * as the proxy does. @seed 0: all at once; else pieces of pseudo-random size. */
static void
decode (const char *in, size_t len, guint seed, Decoded *res)
{
  PorticoChunkedDecoder d;
  char *buf = malloc (len + 1);
  size_t fed = 0, start = 0, have = 0;
  guint32 state = seed * 2654435761u + 1;
  size_t max_piece = 1 + (seed >> 4) * 4;

  res->data = malloc (len + 1);
  res->trailers = malloc (len * 2 + 1);
  res->data_len = res->trailers_len = 0;
  res->error_reason = NULL;
  res->end = 0;
  portico_chunked_decoder_init (&d);

  for (;;)
    {
      const char *out = NULL;
      size_t consumed = 0, out_len = 0;
      PorticoChunkedResult r;

      r = portico_chunked_decode (&d, buf + start, have - start, &consumed, &out, &out_len);
      g_assert_cmpuint (consumed, <=, have - start);
      start += consumed;
      res->last = r;
      if (r == PORTICO_CHUNKED_DATA)
        {
          g_assert_cmpuint (out_len, >, 0);
          g_assert_true (out >= buf && out + out_len <= buf + start);
          memcpy (res->data + res->data_len, out, out_len);
          res->data_len += out_len;
          continue;
        }
      if (r == PORTICO_CHUNKED_TRAILER)
        {
          g_assert_true (out >= buf && out + out_len <= buf + start);
          memcpy (res->trailers + res->trailers_len, out, out_len);
          res->trailers_len += out_len;
          res->trailers[res->trailers_len++] = '\n';
          continue;
        }
      if (r == PORTICO_CHUNKED_DONE)
        {
          res->end = fed - (have - start);
          break;
        }
      if (r == PORTICO_CHUNKED_ERROR)
        {
          res->error_reason = d.error_reason;
          g_assert_nonnull (res->error_reason);
          break;
        }
      if (fed == len)
        break;
      {
        size_t n = len - fed;

        if (seed != 0)
          {
            state = state * 1103515245u + 12345u;
            n = MIN (n, 1 + (state >> 16) % max_piece);
          }
        memmove (buf, buf + start, have - start);
        have -= start;
        start = 0;
        memcpy (buf + have, in + fed, n);
        have += n;
        fed += n;
      }
    }
  g_assert_cmpuint (d.total, ==, res->data_len);
  free (buf);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  Decoded whole, split;

  if (size < 1)
    return 0;
  decode ((const char *) data + 1, size - 1, 0, &whole);
  decode ((const char *) data + 1, size - 1, 1 + data[0], &split);

  g_assert_cmpint (whole.last, ==, split.last);
  g_assert_cmpmem (whole.data, whole.data_len, split.data, split.data_len);
  g_assert_cmpmem (whole.trailers, whole.trailers_len, split.trailers, split.trailers_len);
  g_assert_true (whole.error_reason == split.error_reason);
  g_assert_cmpuint (whole.end, ==, split.end);

  free (whole.data);
  free (whole.trailers);
  free (split.data);
  free (split.trailers);
  return 0;
}
