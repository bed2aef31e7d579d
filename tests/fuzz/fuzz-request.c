/* fuzz-request: the request-head parser on arbitrary bytes.
 *
 * Beyond "no crash, no out-of-bounds read" (ASan), it checks what the proxy
 * relies on: every span points into the head, the head alone parses the
 * same, a shorter prefix is never accepted, and path normalization never
 * writes more bytes than it reads. */
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
check_path (const char *path, size_t len)
{
  char *out, *again;
  size_t out_len = 0, again_len = 0;

  /* exactly @len bytes: ASan reports any write past them */
  out = malloc (len);
  if (portico_http_normalize_path (path, len, out, &out_len))
    {
      g_assert_cmpuint (out_len, <=, len);
      g_assert_cmpint (out[0], ==, '/');
      again = malloc (out_len);
      g_assert_true (portico_http_normalize_path (out, out_len, again, &again_len));
      g_assert_cmpmem (again, again_len, out, out_len);
      free (again);
    }
  free (out);
}

static void
check_request (const char *buf, size_t size, const PorticoHttpLimits *limits)
{
  PorticoHttpRequest *req = malloc (sizeof *req), *again = malloc (sizeof *again);
  PorticoHttpParseResult r;
  size_t i, prefix;

  r = portico_http_parse_request (buf, size, limits, req);
  if (r == PORTICO_HTTP_ERROR)
    {
      int s = req->error_status;

      g_assert_true (s == 400 || s == 414 || s == 417 || s == 431 || s == 501 || s == 505);
      g_assert_nonnull (req->error_reason);
    }
  if (r != PORTICO_HTTP_INCOMPLETE && size > 0)
    {
      /* a shorter prefix is never accepted */
      prefix = (size * 7 + 3) % size;
      if (r == PORTICO_HTTP_OK)
        prefix = prefix % req->head_len;
      g_assert_cmpint (portico_http_parse_request (buf, prefix, limits, again), !=, PORTICO_HTTP_OK);
    }
  if (r != PORTICO_HTTP_OK)
    goto out;

  g_assert_cmpuint (req->head_len, <=, size);
  g_assert_cmpuint (req->head_len, <=, limits->max_head);
  g_assert_cmpuint (req->n_headers, <=, limits->max_headers);
  g_assert_true (req->version_minor == 0 || req->version_minor == 1);
  g_assert_cmpuint (req->method_len, >, 0);
  g_assert_cmpuint (req->target_len, >, 0);
  check_span (buf, req->head_len, req->method, req->method_len);
  check_span (buf, req->head_len, req->target, req->target_len);
  check_span (buf, req->head_len, req->path, req->path_len);
  check_span (buf, req->head_len, req->query, req->query_len);
  check_span (buf, req->head_len, req->host, req->host_len);
  g_assert_true (req->version_minor == 0 || req->host != NULL);
  for (i = 0; i < req->n_headers; i++)
    {
      g_assert_cmpuint (req->headers[i].name_len, >, 0);
      check_span (buf, req->head_len, req->headers[i].name, req->headers[i].name_len);
      check_span (buf, req->head_len, req->headers[i].value, req->headers[i].value_len);
    }
  g_assert_true (req->body == PORTICO_BODY_NONE || req->body == PORTICO_BODY_LENGTH
                 || req->body == PORTICO_BODY_CHUNKED);
  g_assert_true (req->body == PORTICO_BODY_LENGTH || req->content_length == 0);

  /* the head alone gives the same result */
  g_assert_cmpint (portico_http_parse_request (buf, req->head_len, limits, again), ==, PORTICO_HTTP_OK);
  g_assert_cmpuint (again->head_len, ==, req->head_len);
  g_assert_cmpuint (again->n_headers, ==, req->n_headers);
  g_assert_cmpint (again->body, ==, req->body);
  g_assert_cmpuint (again->content_length, ==, req->content_length);
  g_assert_cmpint (again->keep_alive, ==, req->keep_alive);
  g_assert_true (again->host == req->host && again->path == req->path);

  if (req->path[0] == '/')
    check_path (req->path, req->path_len);
out:
  free (req);
  free (again);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  PorticoHttpLimits limits;
  PorticoHttpLimits small = { 64, 256, 8 };

  portico_http_limits_init (&limits);
  check_request ((const char *) data, size, &limits);
  check_request ((const char *) data, size, &small);
  /* every input also as a path */
  if (size > 0 && data[0] == '/')
    check_path ((const char *) data, size);
  return 0;
}
