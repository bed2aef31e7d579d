/* http/http-fields.c: field lines and the comma-separated lists in their
 * values (RFC 9110 5.5, 5.6.1; RFC 9112 5).
 *
 * One grammar for every field line: the head parser's, and the chunked
 * decoder's for trailers. The proxy looks fields up and walks their lists
 * with the helpers below.
 */
#include "http/http-private.h"

const guint8 portico_http_tchar[256] = {
  ['!'] = 1, ['#' ... '\''] = 1, ['*' ... '+'] = 1, ['-' ... '.'] = 1,
  ['0' ... '9'] = 1, ['A' ... 'Z'] = 1, ['^' ... 'z'] = 1, ['|'] = 1, ['~'] = 1,
};

/* No CR, LF, NUL, DEL or other control. */
const guint8 portico_http_value_chars[256] = {
  ['\t'] = 1, [0x20 ... 0x7e] = 1, [0x80 ... 0xff] = 1,
};

/* portico_http_skip_class (p, end, portico_http_value_chars), eight bytes
 * at a time while no byte is below 0x20 or equal to 0x7f; the table settles
 * the word that has one (HTAB included). Exact: the "has a byte less than n"
 * test has no false negatives for n <= 0x80. */
static inline const char *
skip_value (const char *p, const char *end)
{
  const guint64 ones = G_GUINT64_CONSTANT (0x0101010101010101);
  const guint64 highs = G_GUINT64_CONSTANT (0x8080808080808080);

  while (end - p >= 8)
    {
      guint64 x, del;

      memcpy (&x, p, 8);
      del = x ^ (ones * 0x7f);
      if ((((x - ones * 0x20) & ~x) | ((del - ones) & ~del)) & highs)
        break;
      p += 8;
    }
  return portico_http_skip_class (p, end, portico_http_value_chars);
}

gboolean
portico_http_name_is (const char *name, size_t name_len, const char *lower)
{
  return portico_http_ci_equal (name, name_len, lower);
}

gboolean
portico_http_list_element (const char *value, size_t value_len, size_t *pos, const char **elem,
                           size_t *elem_len)
{
  const char *p, *stop, *comma;

  if (*pos > value_len)
    return FALSE;
  p = value + *pos;
  comma = memchr (p, ',', value_len - *pos);
  stop = comma != NULL ? comma : value + value_len;
  *pos = (size_t) (stop - value) + 1;
  while (p < stop && portico_http_is_ows (*p))
    p++;
  while (stop > p && portico_http_is_ows (stop[-1]))
    stop--;
  *elem = p;
  *elem_len = (size_t) (stop - p);
  return TRUE;
}

gboolean
portico_http_list_next_token (const char *value, size_t value_len, size_t *pos,
                              const char **token, size_t *token_len)
{
  while (portico_http_list_element (value, value_len, pos, token, token_len))
    if (*token_len > 0)
      return TRUE;
  return FALSE;
}

gboolean
portico_http_list_has_token (const char *value, size_t value_len, const char *token)
{
  size_t pos = 0, len;
  const char *t;

  while (portico_http_list_next_token (value, value_len, &pos, &t, &len))
    if (portico_http_ci_equal (t, len, token))
      return TRUE;
  return FALSE;
}

const PorticoHttpHeader *
portico_http_find_header (const PorticoHttpHeader *headers, size_t n, const char *lower)
{
  size_t i;

  for (i = 0; i < n; i++)
    if (portico_http_ci_equal (headers[i].name, headers[i].name_len, lower))
      return &headers[i];
  return NULL;
}

PorticoHttpParseResult
portico_http_scan_field (const char *p, const char *end, PorticoHttpHeader *field,
                         const char **next, const char **reason)
{
  const char *name = p, *value, *value_end;

  if (p == end)
    return PORTICO_HTTP_INCOMPLETE;
  if (portico_http_is_ows (*p))
    {
      *reason = "obsolete line folding";
      return PORTICO_HTTP_ERROR;
    }
  p = portico_http_skip_class (p, end, portico_http_tchar);
  if (p == end)
    return PORTICO_HTTP_INCOMPLETE;
  if (*p != ':' || p == name)
    {
      if (portico_http_is_ows (*p))
        *reason = "whitespace before the colon of a field";
      else if (*p == '\n')
        *reason = "bare LF";
      else
        *reason = "invalid field name";
      return PORTICO_HTTP_ERROR;
    }
  field->name = name;
  field->name_len = (size_t) (p - name);

  p++;
  while (p < end && portico_http_is_ows (*p))
    p++;
  value = p;
  p = skip_value (p, end);
  if (p == end)
    return PORTICO_HTTP_INCOMPLETE;
  if (*p != '\r')
    {
      *reason = *p == '\n' ? "bare LF" : "invalid character in a field value";
      return PORTICO_HTTP_ERROR;
    }
  if (p + 1 == end)
    return PORTICO_HTTP_INCOMPLETE;
  if (p[1] != '\n')
    {
      *reason = "CR not followed by LF";
      return PORTICO_HTTP_ERROR;
    }
  value_end = p;
  while (value_end > value && portico_http_is_ows (value_end[-1]))
    value_end--;
  field->value = value;
  field->value_len = (size_t) (value_end - value);
  *next = p + 2;
  return PORTICO_HTTP_OK;
}

PorticoHttpParseResult
portico_http_parse_field_line (const char *buf, size_t len, PorticoHttpHeader *field,
                               size_t *line_len, const char **error_reason)
{
  const char *next = NULL;
  PorticoHttpParseResult r;

  r = portico_http_scan_field (buf, buf + len, field, &next, error_reason);
  if (r == PORTICO_HTTP_OK)
    *line_len = (size_t) (next - buf);
  return r;
}
