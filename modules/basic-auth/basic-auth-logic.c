/* basic-auth-logic.c: reading Basic credentials (see basic-auth-logic.h). */
#include "basic-auth-logic.h"

#include <string.h>

static int
base64_value (char c)
{
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

gboolean
basic_auth_base64_decode (const char *in, gsize len, guchar *out, gsize *out_len)
{
  gsize pad = 0;
  while (pad < 2 && len > 0 && in[len - 1] == '=')
    {
      len--;
      pad++;
    }
  /* A lone sixth of a byte left over, or padding that does not complete a
   * group of four, is not base64. */
  if (len % 4 == 1 || (pad > 0 && (len + pad) % 4 != 0))
    return FALSE;

  gsize n = 0;
  guint32 bits = 0;
  guint nbits = 0;
  for (gsize i = 0; i < len; i++)
    {
      int v = base64_value (in[i]);
      if (v < 0)
        return FALSE;
      bits = (bits << 6) | (guint32) v;
      nbits += 6;
      if (nbits >= 8)
        {
          nbits -= 8;
          out[n++] = (guchar) (bits >> nbits);
          bits &= (1u << nbits) - 1;
        }
    }
  *out_len = n;
  return TRUE;
}

static gboolean
is_space (char c)
{
  return c == ' ' || c == '\t';
}

gboolean
basic_auth_parse (const char *value, char *buf, gsize buf_size, BasicAuthPair *pair)
{
  const char *p = value;
  while (is_space (*p))
    p++;
  if (g_ascii_strncasecmp (p, "basic", 5) != 0 || !is_space (p[5]))
    return FALSE;
  p += 5;
  while (is_space (*p))
    p++;
  gsize len = strlen (p);
  while (len > 0 && is_space (p[len - 1]))
    len--;
  gsize decoded_len;
  if (len == 0 || buf_size < len + 1 || !basic_auth_base64_decode (p, len, (guchar *) buf, &decoded_len))
    return FALSE;
  buf[decoded_len] = '\0';
  /* A NUL would cut the strings short of what the client sent. */
  if (memchr (buf, '\0', decoded_len) != NULL)
    return FALSE;
  char *colon = strchr (buf, ':');
  if (colon == NULL || colon == buf)
    return FALSE;
  *colon = '\0';
  pair->username = buf;
  pair->password = colon + 1;
  pair->password_len = decoded_len - (gsize) (colon + 1 - buf);
  return TRUE;
}

gboolean
basic_auth_password_equal (const char *expected, gsize expected_len, const char *given, gsize given_len)
{
  /* Every byte of @given is compared, to a byte of @expected or to 0 past
   * its end; no early exit, no branch on the data. */
  guint diff = expected_len != given_len;
  for (gsize i = 0; i < given_len; i++)
    {
      gsize in = i < expected_len;
      guchar e = (guchar) expected[in ? i : 0];
      diff |= (guchar) given[i] ^ (guchar) (e & (guchar) -in);
    }
  return diff == 0;
}
