/* Unit tests for the strict HTTP/1.1 head parser (src/http/http-parser.c). */
#include <string.h>
#include <glib.h>

#include "http/http-parser.h"

#define H "Host: example.com\r\n"
/* a literal and its length, for inputs holding NUL bytes */
#define LIT(s) s, sizeof (s) - 1

static PorticoHttpParseResult
parse_request_len (const char *s, size_t len, PorticoHttpRequest *req)
{
  PorticoHttpLimits limits;

  portico_http_limits_init (&limits);
  return portico_http_parse_request (s, len, &limits, req);
}

static PorticoHttpParseResult
parse_request (const char *s, PorticoHttpRequest *req)
{
  return parse_request_len (s, strlen (s), req);
}

static PorticoHttpParseResult
parse_response (const char *s, PorticoHttpMethod method, PorticoHttpResponse *resp)
{
  PorticoHttpLimits limits;

  portico_http_limits_init (&limits);
  return portico_http_parse_response (s, strlen (s), &limits, method, resp);
}

static void
assert_span (const char *p, size_t len, const char *expected)
{
  g_assert_nonnull (p);
  g_assert_cmpmem (p, len, expected, strlen (expected));
}

/* Every proper prefix of a valid head is incomplete, never an error. */
static void
assert_prefixes_incomplete (const char *s, size_t head_len, gboolean response)
{
  PorticoHttpLimits limits;
  size_t k;

  portico_http_limits_init (&limits);
  for (k = 0; k < head_len; k++)
    {
      PorticoHttpParseResult r;

      if (response)
        {
          PorticoHttpResponse resp;
          r = portico_http_parse_response (s, k, &limits, PORTICO_METHOD_GET, &resp);
        }
      else
        {
          PorticoHttpRequest req;
          r = portico_http_parse_request (s, k, &limits, &req);
        }
      if (r != PORTICO_HTTP_INCOMPLETE)
        g_test_message ("prefix of %zu bytes gave %d", k, r);
      g_assert_cmpint (r, ==, PORTICO_HTTP_INCOMPLETE);
    }
}

/* --- requests that parse --- */

static void
test_request_simple (void)
{
  const char *s = "GET /index.html HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n";
  PorticoHttpRequest req;

  g_assert_cmpint (parse_request (s, &req), ==, PORTICO_HTTP_OK);
  assert_span (req.method, req.method_len, "GET");
  g_assert_cmpint (req.method_id, ==, PORTICO_METHOD_GET);
  assert_span (req.target, req.target_len, "/index.html");
  assert_span (req.path, req.path_len, "/index.html");
  g_assert_null (req.query);
  g_assert_cmpint (req.version_minor, ==, 1);
  g_assert_cmpuint (req.n_headers, ==, 2);
  assert_span (req.headers[0].name, req.headers[0].name_len, "Host");
  assert_span (req.headers[0].value, req.headers[0].value_len, "example.com");
  assert_span (req.headers[1].name, req.headers[1].name_len, "Accept");
  assert_span (req.headers[1].value, req.headers[1].value_len, "*/*");
  assert_span (req.host, req.host_len, "example.com");
  g_assert_cmpint (req.body, ==, PORTICO_BODY_NONE);
  g_assert_true (req.keep_alive);
  g_assert_false (req.expect_continue);
  g_assert_cmpuint (req.head_len, ==, strlen (s));
  g_assert_cmpint (req.error_status, ==, 0);
}

static void
test_request_query (void)
{
  PorticoHttpRequest req;

  g_assert_cmpint (parse_request ("GET /a/b?x=1&y=/z? HTTP/1.1\r\n" H "\r\n", &req), ==, PORTICO_HTTP_OK);
  assert_span (req.path, req.path_len, "/a/b");
  assert_span (req.query, req.query_len, "x=1&y=/z?");
  assert_span (req.target, req.target_len, "/a/b?x=1&y=/z?");

  g_assert_cmpint (parse_request ("GET /a? HTTP/1.1\r\n" H "\r\n", &req), ==, PORTICO_HTTP_OK);
  assert_span (req.path, req.path_len, "/a");
  g_assert_nonnull (req.query);
  g_assert_cmpuint (req.query_len, ==, 0);
}

static void
test_request_absolute_form (void)
{
  PorticoHttpRequest req;

  g_test_summary ("An absolute-form target gives the host; the Host field is still required "
                  "but the authority wins (RFC 9112 3.2.2).");
  g_assert_cmpint (parse_request ("GET http://api.example.com:8080/v1/x?q=2 HTTP/1.1\r\n"
                                  "Host: other.example\r\n\r\n", &req), ==, PORTICO_HTTP_OK);
  assert_span (req.host, req.host_len, "api.example.com:8080");
  assert_span (req.path, req.path_len, "/v1/x");
  assert_span (req.query, req.query_len, "q=2");

  {
    const char *s = "GET HTTPS://example.com HTTP/1.1\r\n" H "\r\n";

    /* no path: "/", still a span of the buffer (the proxy moves heads) */
    g_assert_cmpint (parse_request (s, &req), ==, PORTICO_HTTP_OK);
    assert_span (req.path, req.path_len, "/");
    g_assert_true (req.path >= s && req.path < s + req.head_len);
    g_assert_null (req.query);
  }

  g_assert_cmpint (parse_request ("GET http://example.com?a HTTP/1.1\r\n" H "\r\n", &req), ==, PORTICO_HTTP_OK);
  assert_span (req.path, req.path_len, "/");
  assert_span (req.query, req.query_len, "a");

  g_assert_cmpint (parse_request ("GET http://[::1]:80/ HTTP/1.0\r\n\r\n", &req), ==, PORTICO_HTTP_OK);
  assert_span (req.host, req.host_len, "[::1]:80");
}

static void
test_request_asterisk_form (void)
{
  PorticoHttpRequest req;

  g_assert_cmpint (parse_request ("OPTIONS * HTTP/1.1\r\n" H "\r\n", &req), ==, PORTICO_HTTP_OK);
  g_assert_cmpint (req.method_id, ==, PORTICO_METHOD_OPTIONS);
  assert_span (req.path, req.path_len, "*");
  g_assert_null (req.query);
}

static void
test_request_authority_form (void)
{
  PorticoHttpRequest req;

  g_assert_cmpint (parse_request ("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", &req),
                   ==, PORTICO_HTTP_OK);
  g_assert_cmpint (req.method_id, ==, PORTICO_METHOD_CONNECT);
  assert_span (req.path, req.path_len, "example.com:443");
  assert_span (req.host, req.host_len, "example.com:443");
}

static void
test_request_leading_empty_lines (void)
{
  const char *s = "\r\n\r\nGET / HTTP/1.1\r\n" H "\r\n";
  PorticoHttpRequest req;

  g_test_summary ("RFC 9112 2.2: a few CRLFs before the request line are skipped and "
                  "belong to the head.");
  g_assert_cmpint (parse_request (s, &req), ==, PORTICO_HTTP_OK);
  g_assert_cmpuint (req.head_len, ==, strlen (s));
  assert_span (req.method, req.method_len, "GET");
}

static void
test_request_http10 (void)
{
  PorticoHttpRequest req;

  g_assert_cmpint (parse_request ("GET / HTTP/1.0\r\n\r\n", &req), ==, PORTICO_HTTP_OK);
  g_assert_cmpint (req.version_minor, ==, 0);
  g_assert_null (req.host);
  g_assert_false (req.keep_alive);

  g_assert_cmpint (parse_request ("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &req), ==, PORTICO_HTTP_OK);
  g_assert_true (req.keep_alive);

  g_assert_cmpint (parse_request ("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", &req),
                   ==, PORTICO_HTTP_OK);
  g_assert_false (req.keep_alive);
}

static void
test_request_keep_alive (void)
{
  PorticoHttpRequest req;

  g_assert_cmpint (parse_request ("GET / HTTP/1.1\r\n" H "Connection: close\r\n\r\n", &req), ==, PORTICO_HTTP_OK);
  g_assert_false (req.keep_alive);
  g_assert_cmpint (parse_request ("GET / HTTP/1.1\r\n" H "Connection: Upgrade, CLOSE\r\n\r\n", &req),
                   ==, PORTICO_HTTP_OK);
  g_assert_false (req.keep_alive);
  g_assert_cmpint (parse_request ("GET / HTTP/1.1\r\n" H "Connection: x\r\nConnection: close\r\n\r\n", &req),
                   ==, PORTICO_HTTP_OK);
  g_assert_false (req.keep_alive);
  g_assert_cmpint (parse_request ("GET / HTTP/1.1\r\n" H "Connection: closed\r\n\r\n", &req), ==, PORTICO_HTTP_OK);
  g_assert_true (req.keep_alive);
}

static void
test_request_field_values (void)
{
  PorticoHttpRequest req;

  g_assert_cmpint (parse_request ("GET / HTTP/1.1\r\n" H "X-A:  \t a \t b \t \r\nX-B:\r\nX-C: caf\xc3\xa9\r\n"
                                  "X-D: \"q\" (c) <x> \\ {}\r\n\r\n", &req), ==, PORTICO_HTTP_OK);
  g_assert_cmpuint (req.n_headers, ==, 5);
  assert_span (req.headers[1].value, req.headers[1].value_len, "a \t b");
  g_assert_cmpuint (req.headers[2].value_len, ==, 0);
  assert_span (req.headers[3].value, req.headers[3].value_len, "caf\xc3\xa9");
  assert_span (req.headers[4].value, req.headers[4].value_len, "\"q\" (c) <x> \\ {}");
}

static void
test_request_value_bytes (void)
{
  PorticoHttpRequest req;
  guint b, at;

  g_test_summary ("Every byte value at every offset of a long field value: accepted exactly "
                  "when it is HTAB, SP, VCHAR or obs-text (the scan goes 8 bytes at a time).");
  for (b = 0; b < 256; b++)
    for (at = 0; at < 24; at++)
      {
        GString *msg = g_string_new ("GET / HTTP/1.1\r\n" H "X-V: v");
        gboolean allowed = b == '\t' || (b >= 0x20 && b != 0x7f);
        char value[24];

        memset (value, 'v', sizeof value);
        value[at] = (char) b;
        g_string_append_len (msg, value, sizeof value);
        g_string_append (msg, "v\r\n\r\n");
        g_assert_cmpint (parse_request_len (msg->str, msg->len, &req), ==,
                         allowed ? PORTICO_HTTP_OK : PORTICO_HTTP_ERROR);
        if (allowed)
          g_assert_cmpuint (req.headers[1].value_len, ==, 26);
        else
          g_assert_cmpint (req.error_status, ==, 400);
        g_string_free (msg, TRUE);
      }
}

static void
test_request_content_length (void)
{
  PorticoHttpRequest req;

  g_assert_cmpint (parse_request ("POST / HTTP/1.1\r\n" H "Content-Length: 42\r\n\r\n", &req), ==, PORTICO_HTTP_OK);
  g_assert_cmpint (req.body, ==, PORTICO_BODY_LENGTH);
  g_assert_cmpuint (req.content_length, ==, 42);

  g_assert_cmpint (parse_request ("POST / HTTP/1.1\r\n" H "content-length: 0\r\n\r\n", &req), ==, PORTICO_HTTP_OK);
  g_assert_cmpint (req.body, ==, PORTICO_BODY_LENGTH);
  g_assert_cmpuint (req.content_length, ==, 0);

  g_assert_cmpint (parse_request ("POST / HTTP/1.1\r\n" H "Content-Length: 4611686018427387904\r\n\r\n", &req),
                   ==, PORTICO_HTTP_OK);
  g_assert_cmpuint (req.content_length, ==, G_GUINT64_CONSTANT (1) << 62);
}

static void
test_request_content_length_identical (void)
{
  PorticoHttpRequest req;

  g_test_summary ("RFC 9112 6.3: repeated Content-Length values are accepted only when all are "
                  "the same.");
  g_assert_cmpint (parse_request ("POST / HTTP/1.1\r\n" H "Content-Length: 7, 7\r\n\r\n", &req), ==, PORTICO_HTTP_OK);
  g_assert_cmpint (req.body, ==, PORTICO_BODY_LENGTH);
  g_assert_cmpuint (req.content_length, ==, 7);
  g_assert_cmpint (parse_request ("POST / HTTP/1.1\r\n" H "Content-Length: 7\r\nContent-Length: 7\r\n\r\n", &req),
                   ==, PORTICO_HTTP_OK);
  g_assert_cmpuint (req.content_length, ==, 7);
}

static void
test_request_chunked (void)
{
  PorticoHttpRequest req;

  g_assert_cmpint (parse_request ("POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n", &req),
                   ==, PORTICO_HTTP_OK);
  g_assert_cmpint (req.body, ==, PORTICO_BODY_CHUNKED);
  g_assert_cmpint (parse_request ("POST / HTTP/1.1\r\n" H "transfer-encoding:  Chunked \r\n\r\n", &req),
                   ==, PORTICO_HTTP_OK);
  g_assert_cmpint (req.body, ==, PORTICO_BODY_CHUNKED);
}

static void
test_request_expect (void)
{
  PorticoHttpRequest req;

  g_assert_cmpint (parse_request ("PUT / HTTP/1.1\r\n" H "Expect: 100-Continue\r\nContent-Length: 1\r\n\r\n", &req),
                   ==, PORTICO_HTTP_OK);
  g_assert_true (req.expect_continue);

  g_test_summary ("RFC 9110 10.1.1: 100-continue in an HTTP/1.0 request is ignored.");
  g_assert_cmpint (parse_request ("PUT / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", &req), ==, PORTICO_HTTP_OK);
  g_assert_false (req.expect_continue);
}

static void
test_request_methods (void)
{
  static const struct {
    const char *name;
    PorticoHttpMethod id;
  } methods[] = {
    { "GET", PORTICO_METHOD_GET },         { "HEAD", PORTICO_METHOD_HEAD },
    { "POST", PORTICO_METHOD_POST },       { "PUT", PORTICO_METHOD_PUT },
    { "DELETE", PORTICO_METHOD_DELETE },   { "OPTIONS", PORTICO_METHOD_OPTIONS },
    { "PATCH", PORTICO_METHOD_PATCH },     { "TRACE", PORTICO_METHOD_TRACE },
    { "get", PORTICO_METHOD_OTHER },       { "PROPFIND", PORTICO_METHOD_OTHER },
    { "GETS", PORTICO_METHOD_OTHER },      { "M-SEARCH", PORTICO_METHOD_OTHER },
  };
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (methods); i++)
    {
      char *s = g_strdup_printf ("%s / HTTP/1.1\r\n" H "\r\n", methods[i].name);
      PorticoHttpRequest req;

      g_assert_cmpint (parse_request (s, &req), ==, PORTICO_HTTP_OK);
      g_assert_cmpint (req.method_id, ==, methods[i].id);
      assert_span (req.method, req.method_len, methods[i].name);
      g_free (s);
    }
}

static void
test_request_pipelined (void)
{
  const char *first = "GET /one HTTP/1.1\r\n" H "\r\n";
  const char *s = "GET /one HTTP/1.1\r\n" H "\r\nGET /two HTTP/1.1\r\n" H "\r\n";
  PorticoHttpRequest req;
  size_t len = strlen (s);

  g_test_summary ("Two requests in one buffer: head_len ends the first, the second parses from there.");
  g_assert_cmpint (parse_request_len (s, len, &req), ==, PORTICO_HTTP_OK);
  g_assert_cmpuint (req.head_len, ==, strlen (first));
  assert_span (req.path, req.path_len, "/one");
  g_assert_cmpint (parse_request_len (s + req.head_len, len - req.head_len, &req), ==, PORTICO_HTTP_OK);
  assert_span (req.path, req.path_len, "/two");
  g_assert_cmpuint (req.head_len, ==, len - strlen (first));
}

static void
test_request_body_follows (void)
{
  const char *s = "POST /x HTTP/1.1\r\n" H "Content-Length: 5\r\n\r\nhello";
  PorticoHttpRequest req;

  g_assert_cmpint (parse_request (s, &req), ==, PORTICO_HTTP_OK);
  g_assert_cmpuint (req.head_len, ==, strlen (s) - 5);
  g_assert_cmpmem (s + req.head_len, 5, "hello", 5);
}

static const char *const valid_requests[] = {
  "GET / HTTP/1.1\r\n" H "\r\n",
  "\r\nPOST /submit?a=b HTTP/1.1\r\n" H "Content-Length: 3\r\nX-Empty:\r\n\r\n",
  "GET http://example.com/p HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n",
  "OPTIONS * HTTP/1.0\r\nUser-Agent: t\r\n\r\n",
  "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nExpect: 100-continue\r\n\r\n",
};

static void
test_request_incomplete_splits (void)
{
  gsize i;

  g_test_summary ("Every proper prefix of a valid request is INCOMPLETE; the whole is OK and "
                  "stays OK when more bytes follow.");
  for (i = 0; i < G_N_ELEMENTS (valid_requests); i++)
    {
      const char *s = valid_requests[i];
      char *more = g_strconcat (s, "GET / HTTP/1.1\r\n", NULL);
      PorticoHttpRequest req;

      g_assert_cmpint (parse_request (s, &req), ==, PORTICO_HTTP_OK);
      g_assert_cmpuint (req.head_len, ==, strlen (s));
      assert_prefixes_incomplete (s, req.head_len, FALSE);
      g_assert_cmpint (parse_request (more, &req), ==, PORTICO_HTTP_OK);
      g_assert_cmpuint (req.head_len, ==, strlen (s));
      g_free (more);
    }
}

/* --- requests refused --- */

typedef struct {
  const char *name;
  const char *input;
  size_t len; /* 0: strlen (input) */
  int status;
} BadRequest;

static const BadRequest bad_requests[] = {
  /* request line */
  { "method-not-token", "G(T / HTTP/1.1\r\n" H "\r\n", 0, 400 },
  { "method-empty", " / HTTP/1.1\r\n" H "\r\n", 0, 400 },
  { "method-only", "GET\r\n" H "\r\n", 0, 400 },
  { "tab-separator", "GET\t/ HTTP/1.1\r\n" H "\r\n", 0, 400 },
  { "two-spaces-after-method", "GET  / HTTP/1.1\r\n" H "\r\n", 0, 400 },
  { "two-spaces-before-version", "GET /  HTTP/1.1\r\n" H "\r\n", 0, 400 },
  { "space-after-version", "GET / HTTP/1.1 \r\n" H "\r\n", 0, 400 },
  { "missing-version", "GET /\r\n" H "\r\n", 0, 400 },
  { "version-lowercase", "GET / http/1.1\r\n" H "\r\n", 0, 400 },
  { "version-garbage", "GET / HTTP/1.x\r\n" H "\r\n", 0, 400 },
  { "version-long", "GET / HTTP/1.10\r\n" H "\r\n", 0, 400 },
  { "version-short", "GET / HTTP/1\r\n" H "\r\n", 0, 400 },
  { "version-other-protocol", "GET / FTTP/1.1\r\n" H "\r\n", 0, 400 },
  { "version-2", "GET / HTTP/2.0\r\n" H "\r\n", 0, 505 },
  { "version-1.2", "GET / HTTP/1.2\r\n" H "\r\n", 0, 505 },
  { "version-0.9", "GET / HTTP/0.9\r\n" H "\r\n", 0, 505 },
  { "target-ctl", "GET /a\x01z HTTP/1.1\r\n" H "\r\n", 0, 400 },
  { "target-nul", LIT ("GET /a\0z HTTP/1.1\r\n" H "\r\n"), 400 },
  { "target-tab", "GET /a\tz HTTP/1.1\r\n" H "\r\n", 0, 400 },
  { "target-del", "GET /a\x7fz HTTP/1.1\r\n" H "\r\n", 0, 400 },
  { "target-high-byte", "GET /caf\xc3\xa9 HTTP/1.1\r\n" H "\r\n", 0, 400 },
  { "target-fragment", "GET /a#frag HTTP/1.1\r\n" H "\r\n", 0, 400 },
  { "target-relative", "GET a/b HTTP/1.1\r\n" H "\r\n", 0, 400 },
  { "asterisk-not-options", "GET * HTTP/1.1\r\n" H "\r\n", 0, 400 },
  { "authority-not-connect", "GET example.com:80 HTTP/1.1\r\n" H "\r\n", 0, 400 },
  { "connect-origin-form", "CONNECT / HTTP/1.1\r\n" H "\r\n", 0, 400 },
  { "connect-no-port", "CONNECT example.com HTTP/1.1\r\n" H "\r\n", 0, 400 },
  { "connect-asterisk", "CONNECT * HTTP/1.1\r\n" H "\r\n", 0, 400 },
  { "absolute-scheme", "GET ftp://example.com/ HTTP/1.1\r\n" H "\r\n", 0, 400 },
  { "absolute-no-slashes", "GET http:example.com/ HTTP/1.1\r\n" H "\r\n", 0, 400 },
  { "absolute-userinfo", "GET http://user@example.com/ HTTP/1.1\r\n" H "\r\n", 0, 400 },
  { "absolute-empty-host", "GET http:///x HTTP/1.1\r\n" H "\r\n", 0, 400 },
  { "absolute-missing-host-field", "GET http://example.com/ HTTP/1.1\r\n\r\n", 0, 400 },
  /* line endings */
  { "bare-lf-request-line", "GET / HTTP/1.1\n" H "\r\n", 0, 400 },
  { "bare-lf-field", "GET / HTTP/1.1\r\nHost: example.com\n\r\n", 0, 400 },
  { "bare-lf-end", "GET / HTTP/1.1\r\n" H "\n", 0, 400 },
  { "bare-lf-leading", "\nGET / HTTP/1.1\r\n" H "\r\n", 0, 400 },
  { "bare-cr-request-line", "GET / HTTP/1.1\rX: y\r\n" H "\r\n", 0, 400 },
  { "bare-cr-end", "GET / HTTP/1.1\r\n" H "\rX\r\n", 0, 400 },
  { "bare-cr-leading", "\rGET / HTTP/1.1\r\n" H "\r\n", 0, 400 },
  { "too-many-empty-lines", "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n" H "\r\n", 0, 400 },
  /* field lines */
  { "field-space-before-colon", "GET / HTTP/1.1\r\nHost : example.com\r\n\r\n", 0, 400 },
  { "field-tab-before-colon", "GET / HTTP/1.1\r\n" H "X-A\t: b\r\n\r\n", 0, 400 },
  { "field-empty-name", "GET / HTTP/1.1\r\n" H ": b\r\n\r\n", 0, 400 },
  { "field-name-not-token", "GET / HTTP/1.1\r\n" H "X(A): b\r\n\r\n", 0, 400 },
  { "field-name-high-byte", "GET / HTTP/1.1\r\n" H "X\xc3\xa9: b\r\n\r\n", 0, 400 },
  { "field-no-colon", "GET / HTTP/1.1\r\n" H "X-A\r\n\r\n", 0, 400 },
  { "obs-fold", "GET / HTTP/1.1\r\n" H "X-A: b\r\n c\r\n\r\n", 0, 400 },
  { "obs-fold-tab", "GET / HTTP/1.1\r\n" H "X-A: b\r\n\tc\r\n\r\n", 0, 400 },
  { "whitespace-before-first-field", "GET / HTTP/1.1\r\n " H "\r\n", 0, 400 },
  { "value-nul", LIT ("GET / HTTP/1.1\r\n" H "X-A: b\0c\r\n\r\n"), 400 },
  { "value-ctl", "GET / HTTP/1.1\r\n" H "X-A: b\x01c\r\n\r\n", 0, 400 },
  { "value-del", "GET / HTTP/1.1\r\n" H "X-A: b\x7f\r\n\r\n", 0, 400 },
  { "value-cr", "GET / HTTP/1.1\r\n" H "X-A: b\rc\r\n\r\n", 0, 400 },
  { "value-vertical-tab", "GET / HTTP/1.1\r\n" H "X-A: \x0b\r\n\r\n", 0, 400 },
  /* Host */
  { "host-missing", "GET / HTTP/1.1\r\nX-A: b\r\n\r\n", 0, 400 },
  { "host-twice", "GET / HTTP/1.1\r\n" H H "\r\n", 0, 400 },
  { "host-twice-different", "GET / HTTP/1.1\r\n" H "host: other\r\n\r\n", 0, 400 },
  { "host-empty", "GET / HTTP/1.1\r\nHost:\r\n\r\n", 0, 400 },
  { "host-space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 0, 400 },
  { "host-slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 0, 400 },
  { "host-userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 0, 400 },
  { "host-percent", "GET / HTTP/1.1\r\nHost: a%2fb\r\n\r\n", 0, 400 },
  { "host-high-byte", "GET / HTTP/1.1\r\nHost: caf\xc3\xa9\r\n\r\n", 0, 400 },
  { "host-port-letters", "GET / HTTP/1.1\r\nHost: a:http\r\n\r\n", 0, 400 },
  { "host-port-empty", "GET / HTTP/1.1\r\nHost: a:\r\n\r\n", 0, 400 },
  { "host-port-long", "GET / HTTP/1.1\r\nHost: a:123456\r\n\r\n", 0, 400 },
  { "host-two-colons", "GET / HTTP/1.1\r\nHost: a:1:2\r\n\r\n", 0, 400 },
  { "host-ipv6-unclosed", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 0, 400 },
  { "host-ipv6-empty", "GET / HTTP/1.1\r\nHost: []\r\n\r\n", 0, 400 },
  { "host-ipv6-junk-after", "GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n", 0, 400 },
  /* Content-Length */
  { "cl-plus", "POST / HTTP/1.1\r\n" H "Content-Length: +5\r\n\r\n", 0, 400 },
  { "cl-minus", "POST / HTTP/1.1\r\n" H "Content-Length: -1\r\n\r\n", 0, 400 },
  { "cl-hex", "POST / HTTP/1.1\r\n" H "Content-Length: 0x10\r\n\r\n", 0, 400 },
  { "cl-underscore", "POST / HTTP/1.1\r\n" H "Content-Length: 1_0\r\n\r\n", 0, 400 },
  { "cl-inner-space", "POST / HTTP/1.1\r\n" H "Content-Length: 1 0\r\n\r\n", 0, 400 },
  { "cl-blank", "POST / HTTP/1.1\r\n" H "Content-Length:  \r\n\r\n", 0, 400 },
  { "cl-empty", "POST / HTTP/1.1\r\n" H "Content-Length:\r\n\r\n", 0, 400 },
  { "cl-overflow", "POST / HTTP/1.1\r\n" H "Content-Length: 4611686018427387905\r\n\r\n", 0, 400 },
  { "cl-overflow-u64", "POST / HTTP/1.1\r\n" H "Content-Length: 18446744073709551617\r\n\r\n", 0, 400 },
  { "cl-different", "POST / HTTP/1.1\r\n" H "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", 0, 400 },
  { "cl-list-different", "POST / HTTP/1.1\r\n" H "Content-Length: 5, 6\r\n\r\n", 0, 400 },
  { "cl-list-empty-element", "POST / HTTP/1.1\r\n" H "Content-Length: 5,\r\n\r\n", 0, 400 },
  /* Transfer-Encoding */
  { "te-gzip", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: gzip\r\n\r\n", 0, 501 },
  { "te-identity", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: identity\r\n\r\n", 0, 501 },
  { "te-unknown", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: xchunked\r\n\r\n", 0, 501 },
  { "te-gzip-chunked", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: gzip, chunked\r\n\r\n", 0, 501 },
  { "te-chunked-gzip", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked, gzip\r\n\r\n", 0, 501 },
  { "te-fields-combined", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
    0, 501 },
  { "te-chunked-twice", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked, chunked\r\n\r\n", 0, 400 },
  { "te-chunked-two-fields", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
    0, 400 },
  { "te-with-cl", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 0, 400 },
  { "cl-with-te", "POST / HTTP/1.1\r\n" H "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 0, 400 },
  { "te-http10", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 0, 400 },
  { "te-empty", "POST / HTTP/1.1\r\n" H "Transfer-Encoding:\r\n\r\n", 0, 400 },
  { "te-trailing-comma", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked,\r\n\r\n", 0, 400 },
  { "te-quoted", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: \"chunked\"\r\n\r\n", 0, 400 },
  { "te-chunked-parameter", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked;q=1\r\n\r\n", 0, 400 },
  { "te-junk-after-token", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked x\r\n\r\n", 0, 400 },
  /* Expect */
  { "expect-other", "PUT / HTTP/1.1\r\n" H "Expect: 200-ok\r\n\r\n", 0, 417 },
  { "expect-list", "PUT / HTTP/1.1\r\n" H "Expect: 100-continue, x\r\n\r\n", 0, 417 },
  { "expect-empty", "PUT / HTTP/1.1\r\n" H "Expect:\r\n\r\n", 0, 417 },
};

static void
test_bad_request (gconstpointer data)
{
  const BadRequest *v = data;
  size_t len = v->len != 0 ? v->len : strlen (v->input);
  PorticoHttpRequest req;
  size_t k;

  g_assert_cmpint (parse_request_len (v->input, len, &req), ==, PORTICO_HTTP_ERROR);
  g_assert_cmpint (req.error_status, ==, v->status);
  g_assert_nonnull (req.error_reason);

  /* a prefix may be undecided, never accepted */
  for (k = 0; k < len; k++)
    g_assert_cmpint (parse_request_len (v->input, k, &req), !=, PORTICO_HTTP_OK);
}

/* --- limits --- */

static void
test_limits_defaults (void)
{
  PorticoHttpLimits limits;

  portico_http_limits_init (&limits);
  g_assert_cmpuint (limits.max_request_line, ==, 8192);
  g_assert_cmpuint (limits.max_head, ==, 32768);
  g_assert_cmpuint (limits.max_headers, ==, 100);
}

static PorticoHttpParseResult
parse_limited (const char *s, size_t len, size_t max_line, size_t max_head, size_t max_headers,
               PorticoHttpRequest *req)
{
  PorticoHttpLimits limits = { max_line, max_head, max_headers };

  return portico_http_parse_request (s, len, &limits, req);
}

static void
test_limits_request_line (void)
{
  /* request line "GET /aaaa HTTP/1.1" is 18 bytes */
  const char *s = "GET /aaaa HTTP/1.1\r\n" H "\r\n";
  PorticoHttpRequest req;

  g_assert_cmpint (parse_limited (s, strlen (s), 18, 1000, 10, &req), ==, PORTICO_HTTP_OK);
  g_assert_cmpint (parse_limited (s, strlen (s), 17, 1000, 10, &req), ==, PORTICO_HTTP_ERROR);
  g_assert_cmpint (req.error_status, ==, 414);
  /* an absurd limit does not wrap around */
  g_assert_cmpint (parse_limited (s, strlen (s), G_MAXSIZE, 1000, 10, &req), ==, PORTICO_HTTP_OK);
  g_assert_cmpint (parse_limited (s, strlen (s), G_MAXSIZE - 1, G_MAXSIZE, G_MAXSIZE, &req), ==, PORTICO_HTTP_OK);
}

static void
test_limits_request_line_incomplete (void)
{
  const char *s = "GET /aaaa HTTP/1.1\r\n";
  PorticoHttpRequest req;

  g_test_summary ("A request line without CRLF is refused with 414 as soon as it is longer than "
                  "the limit, without waiting for its end.");
  g_assert_cmpint (parse_limited (s, 17, 16, 1000, 10, &req), ==, PORTICO_HTTP_ERROR);
  g_assert_cmpint (req.error_status, ==, 414);
  g_assert_cmpint (parse_limited (s, 16, 16, 1000, 10, &req), ==, PORTICO_HTTP_INCOMPLETE);
  /* 18 bytes and the CR: the LF may still come and make it exactly 18 */
  g_assert_cmpint (parse_limited (s, 19, 18, 1000, 10, &req), ==, PORTICO_HTTP_INCOMPLETE);
  g_assert_cmpint (parse_limited (s, 19, 17, 1000, 10, &req), ==, PORTICO_HTTP_ERROR);
  g_assert_cmpint (req.error_status, ==, 414);
}

static void
test_limits_request_line_default (void)
{
  GString *s = g_string_new ("GET /");
  PorticoHttpRequest req;

  /* "GET /" + 8178 + " HTTP/1.1" is 8192 bytes: the default limit exactly */
  while (s->len < 5 + 8178)
    g_string_append_c (s, 'a');
  g_string_append (s, " HTTP/1.1\r\n" H "\r\n");
  g_assert_cmpint (parse_request (s->str, &req), ==, PORTICO_HTTP_OK);
  g_string_insert_c (s, 5, 'a');
  g_assert_cmpint (parse_request (s->str, &req), ==, PORTICO_HTTP_ERROR);
  g_assert_cmpint (req.error_status, ==, 414);

  /* unfinished: 8192 bytes may still end well, 8193 cannot */
  g_string_truncate (s, 5);
  while (s->len < 8192)
    g_string_append_c (s, 'a');
  g_assert_cmpint (parse_request_len (s->str, s->len, &req), ==, PORTICO_HTTP_INCOMPLETE);
  g_string_append_c (s, 'a');
  g_assert_cmpint (parse_request_len (s->str, s->len, &req), ==, PORTICO_HTTP_ERROR);
  g_assert_cmpint (req.error_status, ==, 414);
  g_string_free (s, TRUE);
}

static void
test_limits_head (void)
{
  const char *s = "GET / HTTP/1.1\r\n" H "X-Long: 0123456789\r\n\r\n";
  size_t len = strlen (s);
  PorticoHttpRequest req;

  g_assert_cmpint (parse_limited (s, len, 100, len, 10, &req), ==, PORTICO_HTTP_OK);
  g_assert_cmpint (parse_limited (s, len, 100, len - 1, 10, &req), ==, PORTICO_HTTP_ERROR);
  g_assert_cmpint (req.error_status, ==, 431);
}

static void
test_limits_head_incomplete (void)
{
  const char *s = "GET / HTTP/1.1\r\n" H "X-Long: 0123456789012345678901234567890123456789";
  size_t len = strlen (s);
  PorticoHttpRequest req;

  g_test_summary ("An unfinished head that already holds more than max_head bytes gives 431 at once.");
  g_assert_cmpint (parse_limited (s, len, 100, len, 10, &req), ==, PORTICO_HTTP_INCOMPLETE);
  g_assert_cmpint (parse_limited (s, len, 100, len - 1, 10, &req), ==, PORTICO_HTTP_ERROR);
  g_assert_cmpint (req.error_status, ==, 431);

  /* the head limit also bounds an unfinished request line */
  g_assert_cmpint (parse_limited ("GET /aaaaaaaaaa", 15, 100, 10, 10, &req), ==, PORTICO_HTTP_ERROR);
  g_assert_cmpint (req.error_status, ==, 431);
}

static void
test_limits_headers_count (void)
{
  const char *s = "GET / HTTP/1.1\r\n" H "A: 1\r\nB: 2\r\n\r\n";
  PorticoHttpRequest req;

  g_assert_cmpint (parse_limited (s, strlen (s), 100, 1000, 3, &req), ==, PORTICO_HTTP_OK);
  g_assert_cmpuint (req.n_headers, ==, 3);
  g_assert_cmpint (parse_limited (s, strlen (s), 100, 1000, 2, &req), ==, PORTICO_HTTP_ERROR);
  g_assert_cmpint (req.error_status, ==, 431);
  /* unfinished, but the third field has begun */
  g_assert_cmpint (parse_limited (s, strlen (s) - 6, 100, 1000, 2, &req), ==, PORTICO_HTTP_ERROR);
  g_assert_cmpint (req.error_status, ==, 431);
}

static void
test_limits_headers_cap (void)
{
  GString *s = g_string_new ("GET / HTTP/1.1\r\n" H);
  PorticoHttpRequest req;
  int i;

  g_test_summary ("max_headers above PORTICO_HTTP_MAX_HEADERS is capped: the table has 100 slots.");
  for (i = 0; i < 99; i++)
    g_string_append_printf (s, "X-%d: v\r\n", i);
  g_string_append (s, "\r\n");
  g_assert_cmpint (parse_limited (s->str, s->len, 8192, 1 << 20, 1000, &req), ==, PORTICO_HTTP_OK);
  g_assert_cmpuint (req.n_headers, ==, 100);
  g_string_insert (s, s->len - 2, "X-last: v\r\n");
  g_assert_cmpint (parse_limited (s->str, s->len, 8192, 1 << 20, 1000, &req), ==, PORTICO_HTTP_ERROR);
  g_assert_cmpint (req.error_status, ==, 431);
  g_string_free (s, TRUE);
}

/* --- responses --- */

static void
test_response_simple (void)
{
  const char *s = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: t\r\n\r\nhello";
  PorticoHttpResponse resp;

  g_assert_cmpint (parse_response (s, PORTICO_METHOD_GET, &resp), ==, PORTICO_HTTP_OK);
  g_assert_cmpint (resp.version_minor, ==, 1);
  g_assert_cmpint (resp.status, ==, 200);
  assert_span (resp.reason, resp.reason_len, "OK");
  g_assert_cmpuint (resp.n_headers, ==, 2);
  g_assert_cmpint (resp.body, ==, PORTICO_BODY_LENGTH);
  g_assert_cmpuint (resp.content_length, ==, 5);
  g_assert_true (resp.keep_alive);
  g_assert_cmpuint (resp.head_len, ==, strlen (s) - 5);
  g_assert_null (resp.error_reason);
}

static void
test_response_reason (void)
{
  PorticoHttpResponse resp;

  g_assert_cmpint (parse_response ("HTTP/1.1 404 Not  Found\t!\r\n\r\n", PORTICO_METHOD_GET, &resp),
                   ==, PORTICO_HTTP_OK);
  assert_span (resp.reason, resp.reason_len, "Not  Found\t!");
  g_assert_cmpint (parse_response ("HTTP/1.1 200 \r\n\r\n", PORTICO_METHOD_GET, &resp), ==, PORTICO_HTTP_OK);
  g_assert_cmpuint (resp.reason_len, ==, 0);
  g_assert_cmpint (parse_response ("HTTP/1.0 200\r\n\r\n", PORTICO_METHOD_GET, &resp), ==, PORTICO_HTTP_OK);
  g_assert_cmpuint (resp.reason_len, ==, 0);
  g_assert_cmpint (resp.status, ==, 200);
  g_assert_cmpint (parse_response ("HTTP/1.1 999 Odd\r\n\r\n", PORTICO_METHOD_GET, &resp), ==, PORTICO_HTTP_OK);
  g_assert_cmpint (resp.status, ==, 999);
}

static void
test_response_no_body (void)
{
  static const struct {
    const char *head;
    PorticoHttpMethod method;
    PorticoBodyKind body;
  } cases[] = {
    { "HTTP/1.1 100 Continue\r\n\r\n", PORTICO_METHOD_GET, PORTICO_BODY_NONE },
    { "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\n\r\n", PORTICO_METHOD_GET, PORTICO_BODY_NONE },
    { "HTTP/1.1 204 No Content\r\n\r\n", PORTICO_METHOD_GET, PORTICO_BODY_NONE },
    { "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", PORTICO_METHOD_GET, PORTICO_BODY_NONE },
    { "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", PORTICO_METHOD_GET, PORTICO_BODY_NONE },
    { "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", PORTICO_METHOD_HEAD, PORTICO_BODY_NONE },
    { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", PORTICO_METHOD_HEAD, PORTICO_BODY_NONE },
    { "HTTP/1.1 200 Connection established\r\n\r\n", PORTICO_METHOD_CONNECT, PORTICO_BODY_NONE },
    { "HTTP/1.1 407 Auth\r\nContent-Length: 1\r\n\r\n", PORTICO_METHOD_CONNECT, PORTICO_BODY_LENGTH },
    { "HTTP/1.1 205 Reset\r\nContent-Length: 0\r\n\r\n", PORTICO_METHOD_GET, PORTICO_BODY_LENGTH },
  };
  gsize i;

  g_test_summary ("RFC 9112 6.3: 1xx, 204, 304, responses to HEAD and 2xx to CONNECT have no body.");
  for (i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      PorticoHttpResponse resp;

      g_assert_cmpint (parse_response (cases[i].head, cases[i].method, &resp), ==, PORTICO_HTTP_OK);
      g_assert_cmpint (resp.body, ==, cases[i].body);
      g_assert_true (resp.keep_alive);
    }
}

static void
test_response_framing (void)
{
  static const struct {
    const char *head;
    PorticoBodyKind body;
    gboolean keep_alive;
  } cases[] = {
    { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", PORTICO_BODY_CHUNKED, TRUE },
    { "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, CHUNKED\r\n\r\n", PORTICO_BODY_CHUNKED, TRUE },
    { "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", PORTICO_BODY_CHUNKED, TRUE },
    { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", PORTICO_BODY_CLOSE, FALSE },
    { "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", PORTICO_BODY_CLOSE, FALSE },
    { "HTTP/1.1 200 OK\r\n\r\n", PORTICO_BODY_CLOSE, FALSE },
    { "HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\n", PORTICO_BODY_LENGTH, TRUE },
    { "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\n", PORTICO_BODY_LENGTH, FALSE },
    { "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\n", PORTICO_BODY_LENGTH, FALSE },
    { "HTTP/1.0 200 OK\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\n", PORTICO_BODY_LENGTH, TRUE },
    { "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n", PORTICO_BODY_CLOSE, FALSE },
  };
  gsize i;

  g_test_summary ("Response framing (RFC 9112 6.3): TE ending in chunked is chunked, other TE "
                  "and no framing field run to the close, which also ends keep-alive.");
  for (i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      PorticoHttpResponse resp;

      g_assert_cmpint (parse_response (cases[i].head, PORTICO_METHOD_GET, &resp), ==, PORTICO_HTTP_OK);
      g_assert_cmpint (resp.body, ==, cases[i].body);
      g_assert_cmpint (resp.keep_alive, ==, cases[i].keep_alive);
    }
}

static void
test_response_incomplete_splits (void)
{
  static const char *const heads[] = {
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
    "HTTP/1.0 204\r\n\r\n",
    "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\nX: \r\n\r\n",
  };
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (heads); i++)
    {
      PorticoHttpResponse resp;

      g_assert_cmpint (parse_response (heads[i], PORTICO_METHOD_GET, &resp), ==, PORTICO_HTTP_OK);
      g_assert_cmpuint (resp.head_len, ==, strlen (heads[i]));
      assert_prefixes_incomplete (heads[i], resp.head_len, TRUE);
    }
}

static void
test_response_limits (void)
{
  const char *s = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\n\r\n";
  PorticoHttpLimits limits = { 15, 1000, 10 };
  PorticoHttpResponse resp;

  g_assert_cmpint (portico_http_parse_response (s, strlen (s), &limits, PORTICO_METHOD_GET, &resp),
                   ==, PORTICO_HTTP_OK);
  limits.max_request_line = 14;
  g_assert_cmpint (portico_http_parse_response (s, strlen (s), &limits, PORTICO_METHOD_GET, &resp),
                   ==, PORTICO_HTTP_ERROR);
  g_assert_nonnull (resp.error_reason);
  limits.max_request_line = 100;
  limits.max_headers = 1;
  g_assert_cmpint (portico_http_parse_response (s, strlen (s), &limits, PORTICO_METHOD_GET, &resp),
                   ==, PORTICO_HTTP_ERROR);
  limits.max_headers = 10;
  limits.max_head = strlen (s) - 1;
  g_assert_cmpint (portico_http_parse_response (s, strlen (s), &limits, PORTICO_METHOD_GET, &resp),
                   ==, PORTICO_HTTP_ERROR);
}

typedef struct {
  const char *name;
  const char *input;
} BadResponse;

static const BadResponse bad_responses[] = {
  { "status-two-digits", "HTTP/1.1 20 OK\r\n\r\n" },
  { "status-four-digits", "HTTP/1.1 2000 OK\r\n\r\n" },
  { "status-below-100", "HTTP/1.1 099 Low\r\n\r\n" },
  { "status-letters", "HTTP/1.1 2x0 OK\r\n\r\n" },
  { "status-missing", "HTTP/1.1 \r\n\r\n" },
  { "two-spaces", "HTTP/1.1  200 OK\r\n\r\n" },
  { "version-2", "HTTP/2.0 200 OK\r\n\r\n" },
  { "version-1.2", "HTTP/1.2 200 OK\r\n\r\n" },
  { "version-lowercase", "http/1.1 200 OK\r\n\r\n" },
  { "not-http", "ICY 200 OK\r\n\r\n" },
  { "leading-empty-line", "\r\nHTTP/1.1 200 OK\r\n\r\n" },
  { "reason-ctl", "HTTP/1.1 200 O\x01K\r\n\r\n" },
  { "bare-lf-status", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n" },
  { "bare-lf-end", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\n" },
  { "obs-fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n" },
  { "field-space-before-colon", "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n" },
  { "value-ctl", "HTTP/1.1 200 OK\r\nX: \x02\r\nContent-Length: 0\r\n\r\n" },
  { "cl-invalid", "HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\n" },
  { "cl-different", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n" },
  { "te-with-cl", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n" },
  { "te-with-cl-no-body", "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n" },
  { "te-http10", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" },
  { "te-chunked-twice", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n" },
  { "te-malformed", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked;x\r\n\r\n" },
  { "te-empty-element", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip,,chunked\r\n\r\n" },
};

static void
test_bad_response (gconstpointer data)
{
  const BadResponse *v = data;
  PorticoHttpResponse resp;

  g_assert_cmpint (parse_response (v->input, PORTICO_METHOD_GET, &resp), ==, PORTICO_HTTP_ERROR);
  g_assert_nonnull (resp.error_reason);
}

/* --- helpers --- */

static void
test_helpers_name_is (void)
{
  g_assert_true (portico_http_name_is ("Content-Length", 14, "content-length"));
  g_assert_true (portico_http_name_is ("HOST", 4, "host"));
  g_assert_false (portico_http_name_is ("Host", 4, "hostx"));
  g_assert_false (portico_http_name_is ("Hostx", 5, "host"));
  g_assert_false (portico_http_name_is ("Hosq", 4, "host"));
  g_assert_true (portico_http_name_is ("", 0, ""));
}

static void
test_helpers_list (void)
{
  const char *v = " a ,, B\t,c d ,";
  const char *t;
  size_t pos = 0, len;

  g_assert_true (portico_http_list_next_token (v, strlen (v), &pos, &t, &len));
  assert_span (t, len, "a");
  g_assert_true (portico_http_list_next_token (v, strlen (v), &pos, &t, &len));
  assert_span (t, len, "B");
  g_assert_true (portico_http_list_next_token (v, strlen (v), &pos, &t, &len));
  assert_span (t, len, "c d");
  g_assert_false (portico_http_list_next_token (v, strlen (v), &pos, &t, &len));
  pos = 0;
  g_assert_false (portico_http_list_next_token ("", 0, &pos, &t, &len));

  g_assert_true (portico_http_list_has_token ("keep-alive, Upgrade", 19, "upgrade"));
  g_assert_true (portico_http_list_has_token ("keep-alive, Upgrade", 19, "KEEP-ALIVE"));
  g_assert_false (portico_http_list_has_token ("closed, xclose", 14, "close"));
  g_assert_false (portico_http_list_has_token ("", 0, "close"));
}

static void
test_helpers_find_header (void)
{
  PorticoHttpRequest req;
  const PorticoHttpHeader *h;

  g_assert_cmpint (parse_request ("GET / HTTP/1.1\r\n" H "X-Id: 1\r\nx-id: 2\r\n\r\n", &req), ==, PORTICO_HTTP_OK);
  h = portico_http_find_header (req.headers, req.n_headers, "x-id");
  g_assert_nonnull (h);
  assert_span (h->value, h->value_len, "1");
  g_assert_null (portico_http_find_header (req.headers, req.n_headers, "x-other"));
  g_assert_null (portico_http_find_header (req.headers, 0, "host"));
}

static void
test_helpers_field_line (void)
{
  PorticoHttpHeader f;
  const char *reason = NULL;
  size_t line_len = 0;

  g_assert_cmpint (portico_http_parse_field_line ("Name:  v v \r\nrest", 17, &f, &line_len, &reason),
                   ==, PORTICO_HTTP_OK);
  g_assert_cmpuint (line_len, ==, 13);
  assert_span (f.name, f.name_len, "Name");
  assert_span (f.value, f.value_len, "v v");
  g_assert_cmpint (portico_http_parse_field_line ("Name: v\r", 8, &f, &line_len, &reason),
                   ==, PORTICO_HTTP_INCOMPLETE);
  g_assert_cmpint (portico_http_parse_field_line ("Na me: v", 8, &f, &line_len, &reason), ==, PORTICO_HTTP_ERROR);
  g_assert_nonnull (reason);
}

int
main (int argc, char **argv)
{
  gsize i;

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/http/parser/request/simple", test_request_simple);
  g_test_add_func ("/http/parser/request/query", test_request_query);
  g_test_add_func ("/http/parser/request/absolute-form", test_request_absolute_form);
  g_test_add_func ("/http/parser/request/asterisk-form", test_request_asterisk_form);
  g_test_add_func ("/http/parser/request/authority-form", test_request_authority_form);
  g_test_add_func ("/http/parser/request/leading-empty-lines", test_request_leading_empty_lines);
  g_test_add_func ("/http/parser/request/http10", test_request_http10);
  g_test_add_func ("/http/parser/request/keep-alive", test_request_keep_alive);
  g_test_add_func ("/http/parser/request/field-values", test_request_field_values);
  g_test_add_func ("/http/parser/request/value-bytes", test_request_value_bytes);
  g_test_add_func ("/http/parser/request/content-length", test_request_content_length);
  g_test_add_func ("/http/parser/request/content-length-identical", test_request_content_length_identical);
  g_test_add_func ("/http/parser/request/chunked", test_request_chunked);
  g_test_add_func ("/http/parser/request/expect", test_request_expect);
  g_test_add_func ("/http/parser/request/methods", test_request_methods);
  g_test_add_func ("/http/parser/request/pipelined", test_request_pipelined);
  g_test_add_func ("/http/parser/request/body-follows", test_request_body_follows);
  g_test_add_func ("/http/parser/request/incomplete-splits", test_request_incomplete_splits);
  for (i = 0; i < G_N_ELEMENTS (bad_requests); i++)
    {
      char *path = g_strdup_printf ("/http/parser/request/bad/%s", bad_requests[i].name);
      g_test_add_data_func (path, &bad_requests[i], test_bad_request);
      g_free (path);
    }

  g_test_add_func ("/http/parser/limits/defaults", test_limits_defaults);
  g_test_add_func ("/http/parser/limits/request-line", test_limits_request_line);
  g_test_add_func ("/http/parser/limits/request-line-incomplete", test_limits_request_line_incomplete);
  g_test_add_func ("/http/parser/limits/request-line-default", test_limits_request_line_default);
  g_test_add_func ("/http/parser/limits/head", test_limits_head);
  g_test_add_func ("/http/parser/limits/head-incomplete", test_limits_head_incomplete);
  g_test_add_func ("/http/parser/limits/headers-count", test_limits_headers_count);
  g_test_add_func ("/http/parser/limits/headers-cap", test_limits_headers_cap);

  g_test_add_func ("/http/parser/response/simple", test_response_simple);
  g_test_add_func ("/http/parser/response/reason", test_response_reason);
  g_test_add_func ("/http/parser/response/no-body", test_response_no_body);
  g_test_add_func ("/http/parser/response/framing", test_response_framing);
  g_test_add_func ("/http/parser/response/incomplete-splits", test_response_incomplete_splits);
  g_test_add_func ("/http/parser/response/limits", test_response_limits);
  for (i = 0; i < G_N_ELEMENTS (bad_responses); i++)
    {
      char *path = g_strdup_printf ("/http/parser/response/bad/%s", bad_responses[i].name);
      g_test_add_data_func (path, &bad_responses[i], test_bad_response);
      g_free (path);
    }

  g_test_add_func ("/http/parser/helpers/name-is", test_helpers_name_is);
  g_test_add_func ("/http/parser/helpers/list", test_helpers_list);
  g_test_add_func ("/http/parser/helpers/find-header", test_helpers_find_header);
  g_test_add_func ("/http/parser/helpers/field-line", test_helpers_field_line);

  return g_test_run ();
}
