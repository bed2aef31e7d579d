/* http-private.h: byte classes and scans shared by the http/ codecs only
 * (http-parser.c, http-fields.c, chunked.c). Inline, because the head
 * parser runs them on every byte of every head.
 */
#pragma once

#include <string.h>

#include "http/http-parser.h"

G_BEGIN_DECLS

/* token (RFC 9110 5.6.2): method, field names, transfer codings. */
extern const guint8 portico_http_tchar[256];

/* field-value and reason-phrase: VCHAR, obs-text, SP, HTAB. */
extern const guint8 portico_http_value_chars[256];

/* The first byte in [@p, @end) that @table does not mark, or @end. */
static inline const char *
portico_http_skip_class (const char *p, const char *end, const guint8 *table)
{
  while (end - p >= 4)
    {
      if (!table[(guint8) p[0]])
        return p;
      if (!table[(guint8) p[1]])
        return p + 1;
      if (!table[(guint8) p[2]])
        return p + 2;
      if (!table[(guint8) p[3]])
        return p + 3;
      p += 4;
    }
  while (p < end && table[(guint8) *p])
    p++;
  return p;
}

static inline gboolean
portico_http_is_ows (char c)
{
  return c == ' ' || c == '\t';
}

static inline guint8
portico_http_ascii_lower (guint8 c)
{
  return (guint8) (c - 'A') < 26 ? c + 32 : c;
}

/* Case-insensitive comparison of @s/@len with the NUL-terminated @word. */
static inline gboolean
portico_http_ci_equal (const char *s, size_t len, const char *word)
{
  size_t i;

  for (i = 0; i < len; i++)
    if (word[i] == '\0'
        || portico_http_ascii_lower ((guint8) s[i]) != portico_http_ascii_lower ((guint8) word[i]))
      return FALSE;
  return word[i] == '\0';
}

/* One element of a comma-separated list, OWS removed. Unlike the public
 * iterator it also returns empty elements, which the framing fields refuse.
 * Quoted strings are not looked into: none of the lists read here has any. */
gboolean portico_http_list_element (const char *value, size_t value_len, size_t *pos,
                                    const char **elem, size_t *elem_len);

/* One field line ("name: value" CRLF) at @p, not looking past @end; on OK
 * *next is the start of the next line. The head parser's loop calls this
 * and portico_http_parse_field_line() wraps it. */
PorticoHttpParseResult portico_http_scan_field (const char *p, const char *end,
                                                PorticoHttpHeader *field, const char **next,
                                                const char **reason);

G_END_DECLS
