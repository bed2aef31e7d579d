/* http/path.c: the normalized path the router matches on.
 *
 * Routing on the path as sent would let "/admin/../public", "//admin" or
 * "/%61dmin" slip past a route or a plugin bound to "/admin". The path is
 * brought to one spelling first (RFC 3986 6.2.2): unreserved characters
 * decoded, other escapes in upper case, dot segments removed. "%2F" stays
 * encoded: decoding it would change where the segments are.
 */
#include "http/http-parser.h"

static inline int
hex_digit (guint8 c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  c |= 0x20;
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

static inline char
upper_hex (char c)
{
  return c >= 'a' && c <= 'f' ? (char) (c - 32) : c;
}

static inline gboolean
is_unreserved (guint8 c)
{
  return g_ascii_isalnum (c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* Closes the segment out[*seg, *o): drops it when it is "." or "..", the
 * latter with the segment before it. FALSE when ".." would climb above the
 * root. A '/' still to be written is the caller's. */
static gboolean
close_segment (char *out, size_t *o, size_t *seg)
{
  size_t len = *o - *seg;
  size_t k;

  if (len == 1 && out[*seg] == '.')
    {
      *o = *seg;
      return TRUE;
    }
  if (len != 2 || out[*seg] != '.' || out[*seg + 1] != '.')
    return TRUE;
  if (*seg == 1)
    return FALSE;
  /* out[*seg - 1] is the '/' before "..": find the one before that */
  for (k = *seg - 2; out[k] != '/'; k--)
    ;
  *o = *seg = k + 1;
  return TRUE;
}

gboolean
portico_http_normalize_path (const char *path, size_t len, char *out, size_t *out_len)
{
  size_t i = 1, o = 1, seg = 1;

  if (len == 0 || path[0] != '/')
    return FALSE;
  out[0] = '/';

  /* Every step writes no more bytes than it reads: o <= i <= len. */
  while (i < len)
    {
      guint8 c = (guint8) path[i];

      if (c == '/')
        {
          i++;
          if (!close_segment (out, &o, &seg))
            return FALSE;
          /* an empty segment ("//") or a dropped one gets no second '/' */
          if (o > seg)
            {
              out[o++] = '/';
              seg = o;
            }
        }
      else if (c == '%')
        {
          int hi, lo, v;

          if (len - i < 3 || (hi = hex_digit ((guint8) path[i + 1])) < 0
              || (lo = hex_digit ((guint8) path[i + 2])) < 0)
            return FALSE;
          v = hi * 16 + lo;
          if (v == 0)
            return FALSE;
          i += 3;
          if (is_unreserved ((guint8) v))
            out[o++] = (char) v;
          else
            {
              out[o++] = '%';
              out[o++] = upper_hex (path[i - 2]);
              out[o++] = upper_hex (path[i - 1]);
            }
        }
      else
        {
          out[o++] = (char) c;
          i++;
        }
    }
  if (!close_segment (out, &o, &seg))
    return FALSE;
  *out_len = o;
  return TRUE;
}
