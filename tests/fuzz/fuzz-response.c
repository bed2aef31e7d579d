/* fuzz-response: the response-head parser on arbitrary bytes, as an answer
 * to GET, HEAD and CONNECT, with the invariants the proxy relies on. */
#include <stdlib.h>
#include <glib.h>

#include "http/http-parser.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check_span (const char *base, size_t len, const char *p, size_t n)
{
  if (n == 0)
    return;
  g_assert_nonnull (p);
  g_assert_true (p >= base && p + n <= base + len);
}

static void
check_response (const char *buf, size_t size, const PorticoHttpLimits *limits, PorticoHttpMethod method)
{
  PorticoHttpResponse *resp = malloc (sizeof *resp), *again = malloc (sizeof *again);
  PorticoHttpParseResult r;
  size_t i;

  r = portico_http_parse_response (buf, size, limits, method, resp);
  if (r == PORTICO_HTTP_ERROR)
    g_assert_nonnull (resp->error_reason);
  if (r != PORTICO_HTTP_INCOMPLETE && size > 0)
    {
      size_t prefix = (size * 7 + 3) % size;

      if (r == PORTICO_HTTP_OK)
        prefix = prefix % resp->head_len;
      g_assert_cmpint (portico_http_parse_response (buf, prefix, limits, method, again), !=, PORTICO_HTTP_OK);
    }
  if (r != PORTICO_HTTP_OK)
    goto out;

  g_assert_cmpuint (resp->head_len, <=, size);
  g_assert_cmpuint (resp->head_len, <=, limits->max_head);
  g_assert_cmpuint (resp->n_headers, <=, limits->max_headers);
  g_assert_cmpint (resp->status, >=, 100);
  g_assert_cmpint (resp->status, <=, 999);
  check_span (buf, resp->head_len, resp->reason, resp->reason_len);
  for (i = 0; i < resp->n_headers; i++)
    {
      g_assert_cmpuint (resp->headers[i].name_len, >, 0);
      check_span (buf, resp->head_len, resp->headers[i].name, resp->headers[i].name_len);
      check_span (buf, resp->head_len, resp->headers[i].value, resp->headers[i].value_len);
    }
  if (method == PORTICO_METHOD_HEAD || resp->status < 200 || resp->status == 204 || resp->status == 304)
    g_assert_cmpint (resp->body, ==, PORTICO_BODY_NONE);
  if (resp->body == PORTICO_BODY_CLOSE)
    g_assert_false (resp->keep_alive);

  g_assert_cmpint (portico_http_parse_response (buf, resp->head_len, limits, method, again), ==, PORTICO_HTTP_OK);
  g_assert_cmpuint (again->head_len, ==, resp->head_len);
  g_assert_cmpint (again->body, ==, resp->body);
  g_assert_cmpuint (again->content_length, ==, resp->content_length);
  g_assert_cmpint (again->keep_alive, ==, resp->keep_alive);
out:
  free (resp);
  free (again);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const PorticoHttpMethod methods[] = { PORTICO_METHOD_GET, PORTICO_METHOD_HEAD, PORTICO_METHOD_CONNECT };
  PorticoHttpLimits limits;
  PorticoHttpLimits small = { 64, 256, 8 };
  gsize i;

  portico_http_limits_init (&limits);
  for (i = 0; i < G_N_ELEMENTS (methods); i++)
    check_response ((const char *) data, size, &limits, methods[i]);
  check_response ((const char *) data, size, &small, PORTICO_METHOD_GET);
  return 0;
}
