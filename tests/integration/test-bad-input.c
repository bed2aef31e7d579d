/* tests/integration/test-bad-input.c - every malformed input against the real
 * gateway: what it answers, that it closes, and that nothing goes upstream.
 *
 * One gateway serves the whole binary (a second one checks configured
 * limits).  Its routes lead to:
 *   /         the sink: a raw upstream answering "forwarded"; a refused
 *             request must never reach it
 *   /mock     `portico mock`, for the inputs that must be accepted and for
 *             the "still serving" check after every case
 *   /body     a recorder that keeps every byte and never answers, for bad
 *             chunked bodies (their head is valid, so part may go out)
 *   /up/NAME/ one raw upstream per bad-response case
 *   /refused/, /slow/, /no-target/: the upstream failures with Kong's messages
 *
 * Assertions are non-fatal so that one broken case does not hide the others:
 * each test returns early where going on would dereference a missing result.
 */
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define CASE_TIMEOUT_MS 5000
#define CLOSE_TIMEOUT_MS 2000
#define HEADER_TIMEOUT_MS 1000          /* node.client_header_timeout */
#define SLOW_BOUND_MS 5000
#define UPSTREAM_READ_TIMEOUT_MS 3000   /* bounds a gateway that waits by mistake */

#define HOST "Host: a\r\n"
#define SLOW_HEAD "GET /mock/ HTTP/1.1\r\n" HOST "X-Slow: "
#define SINK_FORWARDED "HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\nforwarded"

/* ------------------------------------------------------------------------ */
/* Cases */

/* Long inputs are generated: "GET TARGET" + @path_fill x 'a', Host, an
 * X-Big field of @value_fill x 'b' (if any), then X-Field-N fields up to
 * @n_fields fields in all. */
typedef struct
{
  const char *target;
  guint path_fill;
  guint value_fill;
  guint n_fields;
} LongRequest;

typedef struct
{
  const char *path;
  const char *bytes;
  gsize len;
  LongRequest generated;        /* when @bytes is NULL */
  int status;
  const char *echo_has;         /* accepted cases: in the mock's /echo body */
  const char *never_sent;       /* bad bodies: what must not reach the upstream */
} RequestCase;

#define RAW(name, bytes, status) { name, bytes, sizeof (bytes) - 1, { 0 }, status, NULL, NULL }
#define LONG(name, target, path_fill, value_fill, n_fields, status, echo_has) \
  { name, NULL, 0, { target, path_fill, value_fill, n_fields }, status, echo_has, NULL }
#define ACCEPTED(name, bytes, echo_has) \
  { name, bytes, sizeof (bytes) - 1, { 0 }, 200, echo_has, NULL }
#define BAD_BODY(name, body, never_sent) \
  { name, "POST /body HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\n\r\n" body, \
    sizeof ("POST /body HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\n\r\n" body) - 1, \
    { 0 }, 400, NULL, never_sent }

static char *
long_request (const LongRequest *r, gsize *len)
{
  GString *s = g_string_new ("GET ");
  guint i;

  g_string_append (s, r->target);
  for (i = 0; i < r->path_fill; i++)
    g_string_append_c (s, 'a');
  g_string_append (s, " HTTP/1.1\r\n" HOST);
  if (r->value_fill > 0)
    {
      g_string_append (s, "X-Big: ");
      for (i = 0; i < r->value_fill; i++)
        g_string_append_c (s, 'b');
      g_string_append (s, "\r\n");
    }
  for (i = 1 + (r->value_fill > 0); i < r->n_fields; i++)
    g_string_append_printf (s, "X-Field-%u: %u\r\n", i, i);
  g_string_append (s, "\r\n");
  if (len != NULL)
    *len = s->len;
  return g_string_free (s, FALSE);
}

static const RequestCase rejected_cases[] = {
  /* framing */
  RAW ("cl-te-conflict", "POST / HTTP/1.1\r\n" HOST "Content-Length: 5\r\n"
       "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 400),
  RAW ("te-cl-conflict", "POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\n"
       "Content-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 400),
  RAW ("cl-two-different", "POST / HTTP/1.1\r\n" HOST "Content-Length: 5\r\n"
       "Content-Length: 6\r\n\r\nhello!", 400),
  RAW ("cl-list", "POST / HTTP/1.1\r\n" HOST "Content-Length: 5, 6\r\n\r\nhello!", 400),
  RAW ("cl-plus", "POST / HTTP/1.1\r\n" HOST "Content-Length: +5\r\n\r\nhello", 400),
  RAW ("cl-hex", "POST / HTTP/1.1\r\n" HOST "Content-Length: 0x10\r\n\r\n0123456789abcdef", 400),
  RAW ("cl-underscore", "POST / HTTP/1.1\r\n" HOST "Content-Length: 1_0\r\n\r\n0123456789", 400),
  RAW ("cl-negative", "POST / HTTP/1.1\r\n" HOST "Content-Length: -1\r\n\r\n", 400),
  RAW ("cl-empty", "POST / HTTP/1.1\r\n" HOST "Content-Length: \r\n\r\n", 400),
  RAW ("cl-overflow", "POST / HTTP/1.1\r\n" HOST
       "Content-Length: 99999999999999999999999\r\n\r\nhello", 400),
  RAW ("te-gzip", "POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: gzip\r\n\r\nhello", 501),
  RAW ("te-chunked-gzip", "POST / HTTP/1.1\r\n" HOST
       "Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 501),
  RAW ("te-gzip-chunked", "POST / HTTP/1.1\r\n" HOST
       "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501),
  /* twice chunked is well-formed but meaningless: the parser says 400 */
  RAW ("te-chunked-chunked", "POST / HTTP/1.1\r\n" HOST
       "Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400),
  RAW ("te-unknown", "POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: foo\r\n\r\n0\r\n\r\n", 501),
  RAW ("te-http10", "POST / HTTP/1.0\r\n" HOST "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),

  /* field syntax */
  RAW ("host-space-colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),
  RAW ("name-space-colon", "GET / HTTP/1.1\r\n" HOST "X-Foo : b\r\n\r\n", 400),
  RAW ("obs-fold", "GET / HTTP/1.1\r\n" HOST "X-Foo: b\r\n c\r\n\r\n", 400),
  RAW ("obs-fold-tab", "GET / HTTP/1.1\r\n" HOST "X-Foo: b\r\n\tc\r\n\r\n", 400),
  RAW ("nul-in-value", "GET / HTTP/1.1\r\n" HOST "X-Foo: a\0b\r\n\r\n", 400),
  RAW ("nul-in-name", "GET / HTTP/1.1\r\n" HOST "X-F\0o: b\r\n\r\n", 400),
  RAW ("cr-in-value", "GET / HTTP/1.1\r\n" HOST "X-Foo: a\rb\r\n\r\n", 400),
  RAW ("ctl-in-name", "GET / HTTP/1.1\r\n" HOST "X-F\001o: b\r\n\r\n", 400),
  RAW ("ctl-in-value", "GET / HTTP/1.1\r\n" HOST "X-Foo: a\001b\r\n\r\n", 400),
  RAW ("del-in-value", "GET / HTTP/1.1\r\n" HOST "X-Foo: a\177b\r\n\r\n", 400),
  RAW ("del-in-name", "GET / HTTP/1.1\r\n" HOST "X-F\177o: b\r\n\r\n", 400),
  RAW ("bare-lf-one", "GET / HTTP/1.1\r\n" HOST "X-Foo: b\nX-Bar: c\r\n\r\n", 400),
  RAW ("bare-lf-all", "GET / HTTP/1.1\n" "Host: a\n" "\n", 400),
  RAW ("bare-lf-request-line", "GET / HTTP/1.1\n" HOST "\r\n", 400),

  /* Host */
  RAW ("host-missing", "GET / HTTP/1.1\r\nX-Foo: b\r\n\r\n", 400),
  RAW ("host-twice", "GET / HTTP/1.1\r\n" HOST "Host: b\r\n\r\n", 400),
  RAW ("host-twice-same", "GET / HTTP/1.1\r\n" HOST HOST "\r\n", 400),

  /* limits (the defaults: 8192-byte request line, 32 KiB head, 100 fields) */
  LONG ("line-9000", "/", 9000, 0, 0, 414, NULL),
  LONG ("head-33000", "/", 0, 33000, 0, 431, NULL),
  LONG ("fields-101", "/", 0, 0, 101, 431, NULL),

  /* request line */
  RAW ("version-2.0", "GET / HTTP/2.0\r\n" HOST "\r\n", 505),
  RAW ("version-1.2", "GET / HTTP/1.2\r\n" HOST "\r\n", 505),
  RAW ("version-httx", "GET / HTTX/1.1\r\n" HOST "\r\n", 400),
  RAW ("version-missing", "GET /\r\n" HOST "\r\n", 400),
  RAW ("method-bad-char", "G@T / HTTP/1.1\r\n" HOST "\r\n", 400),
  RAW ("method-space", "GET  / HTTP/1.1\r\n" HOST "\r\n", 400),
  RAW ("expect-other", "GET / HTTP/1.1\r\n" HOST "Expect: something-else\r\n\r\n", 417),

  /* path */
  RAW ("path-climb", "GET /../../etc/passwd HTTP/1.1\r\n" HOST "\r\n", 400),
  RAW ("path-climb-encoded", "GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\n" HOST "\r\n", 400),
  RAW ("path-nul", "GET /a%00b HTTP/1.1\r\n" HOST "\r\n", 400),
  RAW ("path-bad-escape", "GET /%zz HTTP/1.1\r\n" HOST "\r\n", 400),
  RAW ("path-short-escape", "GET /a%4 HTTP/1.1\r\n" HOST "\r\n", 400),

  RAW ("connect", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", 405),
};

static const RequestCase accepted_cases[] = {
  ACCEPTED ("cl-same-twice", "POST /mock/echo HTTP/1.1\r\n" HOST "Content-Length: 5\r\n"
            "Content-Length: 5\r\n\r\nhello", "\"body_bytes\":5"),
  ACCEPTED ("http10-no-host", "GET /mock/echo HTTP/1.0\r\n\r\n", "\"http_version\":\"HTTP/1.1\""),
  ACCEPTED ("method-lowercase", "get /mock/echo HTTP/1.1\r\n" HOST "\r\n", "\"method\":\"get\""),
  ACCEPTED ("expect-continue", "GET /mock/echo HTTP/1.1\r\n" HOST "Expect: 100-continue\r\n\r\n",
            "\"method\":\"GET\""),
  LONG ("line-8000", "/mock/echo?", 8000, 0, 0, 200, "\"path\":\"/echo\""),
  LONG ("head-30000", "/mock/echo", 0, 30000, 0, 200, "X-Big"),
  LONG ("fields-100", "/mock/echo", 0, 0, 100, 200, "X-Field-99"),
};

/* After a bad size line nothing of the chunk may go out; after good chunk
 * data a streaming gateway may already have sent the data, but never the
 * last chunk that would make the request whole. */
static const RequestCase body_cases[] = {
  BAD_BODY ("chunk-size-not-hex", "zz\r\nhello\r\n0\r\n\r\n", "hello"),
  BAD_BODY ("chunk-size-overflow", "fffffffffffffffffff\r\nhello\r\n0\r\n\r\n", "hello"),
  BAD_BODY ("chunk-data-no-crlf", "5\r\nhelloXX\r\n0\r\n\r\n", NULL),
};

typedef struct
{
  const char *name;
  const char *response;
  gsize len;
  char *(*build) (gsize *len);
  gboolean close_after;
  gboolean started;             /* the head is valid: the client sees a cut response */
} UpstreamCase;

#define UP(name, response, close_after, started) \
  { name, response, sizeof (response) - 1, NULL, close_after, started }

static char *
build_big_response (gsize *len)
{
  g_autofree char *value = g_strnfill (33000, 'b');
  char *s = g_strdup_printf ("HTTP/1.1 200 OK\r\nX-Big: %s\r\nContent-Length: 0\r\n\r\n", value);

  *len = strlen (s);
  return s;
}

/* The ones that keep the connection open after answering show whether the
 * gateway would use it again: the next request must open a new one. */
static const UpstreamCase upstream_cases[] = {
  UP ("cl-te", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n0\r\n\r\n", FALSE, FALSE),
  UP ("cl-different", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
      FALSE, FALSE),
  UP ("cl-not-numeric", "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello", FALSE, FALSE),
  UP ("status-2000", "HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n", FALSE, FALSE),
  UP ("garbage", "hello\r\n\r\n", FALSE, FALSE),
  UP ("nul-in-field", "HTTP/1.1 200 OK\r\nX-A: a\0b\r\nContent-Length: 0\r\n\r\n", FALSE, FALSE),
  UP ("obs-fold", "HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n", FALSE, FALSE),
  { "head-33000", NULL, 0, build_big_response, FALSE, FALSE },
  UP ("closed-silently", "", TRUE, FALSE),
  UP ("bad-chunk-size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "zz\r\nhello\r\n0\r\n\r\n", FALSE, TRUE),
};

/* ------------------------------------------------------------------------ */
/* The fixture */

typedef struct
{
  PorticoProc *mock;
  PorticoRawServer *sink;
  PorticoRawServer *recorder;
  PorticoRawServer *silent;
  PorticoRawServer *upstreams[G_N_ELEMENTS (upstream_cases)];
  PorticoProc *gateway;
  const char *addr;
  gboolean failed;
} Fixture;

static Fixture fixture;

/* Binds 127.0.0.1:0; returns the fd and fills @port. */
static int
bind_loopback (guint16 *port)
{
  struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t len = sizeof sin;
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &sin, sizeof sin), ==, 0);
  g_assert_cmpint (getsockname (fd, (struct sockaddr *) &sin, &len), ==, 0);
  *port = ntohs (sin.sin_port);
  return fd;
}

static const char *
closed_port_address (void)
{
  static char address[32];
  guint16 port = 0;
  int fd = bind_loopback (&port);

  /* Bound, not listening, then closed: connecting is refused. */
  close (fd);
  g_snprintf (address, sizeof address, "127.0.0.1:%u", port);
  return address;
}

static void
append_service (GString *json, const char *name, const char *url, const char *path,
                const char *extra)
{
  g_string_append_printf (json,
                          "%s{\"name\":\"%s\",%s%s%s,\"routes\":[{\"name\":\"%s\",\"paths\":[\"%s\"]}]}",
                          g_str_has_suffix (json->str, "[") ? "" : ",", name, url,
                          extra ? "," : "", extra ? extra : "", name, path);
}

static char *
url_of (const char *address)
{
  return g_strdup_printf ("\"url\":\"http://%s\"", address);
}

/* The gateway and its upstreams, started by the first test that needs them. */
static Fixture *
fixture_get (void)
{
  g_autoptr(GString) json = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *sink_url = NULL, *mock_url = NULL, *body_url = NULL, *refused_url = NULL;
  g_autofree char *slow_url = NULL;
  char read_timeout[64];
  guint i;

  if (fixture.gateway || fixture.failed)
    {
      g_assert_false (fixture.failed);
      return fixture.failed ? NULL : &fixture;
    }

  fixture.mock = portico_mock_spawn ("--name", "mock", NULL);
  fixture.sink = portico_raw_server_new (SINK_FORWARDED, TRUE);
  fixture.recorder = portico_raw_server_new_recorder ();
  fixture.silent = portico_raw_server_new ("", FALSE);

  sink_url = url_of (portico_raw_server_address (fixture.sink));
  mock_url = url_of (portico_proc_address (fixture.mock, 0));
  body_url = url_of (portico_raw_server_address (fixture.recorder));
  refused_url = url_of (closed_port_address ());
  slow_url = url_of (portico_raw_server_address (fixture.silent));
  g_snprintf (read_timeout, sizeof read_timeout, "\"read_timeout\":%d", UPSTREAM_READ_TIMEOUT_MS);

  json = g_string_new ("{\"_format_version\":\"1\","
                       "\"node\":{\"listen\":[\"127.0.0.1:0\"],\"admin_listen\":\"off\","
                       "\"workers\":1,\"client_header_timeout\":1000},"
                       "\"upstreams\":[{\"name\":\"empty.internal\","
                       "\"targets\":[{\"target\":\"127.0.0.1:9\",\"weight\":0}]}],"
                       "\"services\":[");
  append_service (json, "sink", sink_url, "/", NULL);
  append_service (json, "mock", mock_url, "/mock", NULL);
  append_service (json, "body", body_url, "/body", read_timeout);
  append_service (json, "refused", refused_url, "/refused/", NULL);
  append_service (json, "slow", slow_url, "/slow/", "\"read_timeout\":300");
  append_service (json, "no-target", "\"host\":\"empty.internal\"", "/no-target/", NULL);
  for (i = 0; i < G_N_ELEMENTS (upstream_cases); i++)
    {
      const UpstreamCase *c = &upstream_cases[i];
      g_autofree char *built = NULL;
      g_autofree char *name = g_strdup_printf ("up-%s", c->name);
      g_autofree char *path = g_strdup_printf ("/up/%s/", c->name);
      g_autofree char *url = NULL;
      gsize len = c->len;

      if (c->build)
        built = c->build (&len);
      fixture.upstreams[i] = portico_raw_server_new_bytes (built ? built : c->response, len,
                                                           c->close_after);
      url = url_of (portico_raw_server_address (fixture.upstreams[i]));
      append_service (json, name, url, path, read_timeout);
    }
  g_string_append (json, "]}");

  fixture.gateway = portico_gateway_spawn (json->str, &error);
  g_assert_no_error (error);
  g_assert_nonnull (fixture.gateway);
  if (fixture.gateway)
    fixture.addr = portico_proc_address (fixture.gateway, 0);
  g_assert_nonnull (fixture.addr);
  fixture.failed = fixture.addr == NULL;
  return fixture.failed ? NULL : &fixture;
}

static void
fixture_clear (void)
{
  guint i;

  g_clear_pointer (&fixture.gateway, portico_proc_free);
  g_clear_pointer (&fixture.mock, portico_proc_free);
  g_clear_pointer (&fixture.sink, portico_raw_server_free);
  g_clear_pointer (&fixture.silent, portico_raw_server_free);
  g_clear_pointer (&fixture.recorder, portico_raw_server_free);
  for (i = 0; i < G_N_ELEMENTS (upstream_cases); i++)
    g_clear_pointer (&fixture.upstreams[i], portico_raw_server_free);
}

/* ------------------------------------------------------------------------ */
/* Helpers */

static char *
case_bytes (const RequestCase *c, gsize *len)
{
  if (c->bytes == NULL)
    return long_request (&c->generated, len);
  *len = c->len;
  return g_memdup2 (c->bytes, c->len);
}

/* Connects to @addr and sends @len bytes; -1 on failure (already asserted). */
static int
send_request (const char *addr, const char *bytes, gsize len)
{
  int fd = portico_test_connect (addr);

  g_assert_cmpint (fd, >=, 0);
  if (fd < 0)
    return -1;
  g_assert_true (portico_test_send_all (fd, bytes, (gssize) len));
  return fd;
}

/* The gateway's own refusal on @fd (the request sent): the status,
 * Connection: close, then the close. */
static void
assert_refused_fd (int fd, int status)
{
  g_autoptr(PorticoTestResponse) resp = portico_test_read_response (fd, FALSE, CASE_TIMEOUT_MS);

  g_assert_nonnull (resp);
  if (resp != NULL)
    {
      g_assert_cmpint (resp->status, ==, status);
      g_assert_cmpstr (portico_test_response_header (resp, "Connection"), ==, "close");
      g_assert_true (portico_test_is_closed (fd, CLOSE_TIMEOUT_MS));
    }
}

static void
assert_refused (const char *addr, const char *bytes, gsize len, int status)
{
  int fd = send_request (addr, bytes, len);

  if (fd < 0)
    return;
  assert_refused_fd (fd, status);
  close (fd);
}

static void
assert_still_serving (const char *addr)
{
  g_autoptr(PorticoTestResponse) resp =
    portico_test_request (addr, "GET /mock/ HTTP/1.1\r\n" HOST "\r\n");

  g_assert_nonnull (resp);
  if (resp != NULL)
    g_assert_cmpint (resp->status, ==, 200);
}

/* The mock's request count, from /__mock/stats; -1 if unknown. */
static gint64
mock_requests (Fixture *f)
{
  g_autoptr(PorticoTestResponse) resp =
    portico_test_request (portico_proc_address (f->mock, 0),
                          "GET /__mock/stats HTTP/1.1\r\nHost: mock\r\n\r\n");
  g_autofree char *body = NULL;
  const char *at;

  g_assert_nonnull (resp);
  if (resp == NULL)
    return -1;
  body = portico_test_response_body_string (resp);
  at = strstr (body, "\"requests\":");
  g_assert_nonnull (at);
  return at ? g_ascii_strtoll (at + strlen ("\"requests\":"), NULL, 10) : -1;
}

static gboolean
has_bytes (GBytes *bytes, const char *needle)
{
  gsize size = 0;
  const char *data = g_bytes_get_data (bytes, &size);

  return data && memmem (data, size, needle, strlen (needle)) != NULL;
}

/* ------------------------------------------------------------------------ */
/* Requests */

static void
test_rejected (gconstpointer data)
{
  const RequestCase *c = data;
  Fixture *f = fixture_get ();
  g_autofree char *bytes = NULL;
  gsize len = 0;
  guint before;

  g_test_summary ("A malformed request gets the documented status and the connection closes; "
                  "the upstream never sees a connection, and the gateway goes on serving.");
  if (f == NULL)
    return;
  bytes = case_bytes (c, &len);
  before = portico_raw_server_connections (f->sink);
  assert_refused (f->addr, bytes, len, c->status);
  g_assert_cmpuint (portico_raw_server_connections (f->sink), ==, before);
  assert_still_serving (f->addr);
}

static void
test_accepted (gconstpointer data)
{
  const RequestCase *c = data;
  Fixture *f = fixture_get ();
  g_autoptr(PorticoTestResponse) resp = NULL;
  g_autofree char *bytes = NULL;
  g_autofree char *body = NULL;
  gint64 before;
  gsize len = 0;
  int fd;

  g_test_summary ("Unusual but valid requests are forwarded once, not refused.");
  if (f == NULL)
    return;
  bytes = case_bytes (c, &len);
  before = mock_requests (f);
  fd = send_request (f->addr, bytes, len);
  if (fd < 0)
    return;
  resp = portico_test_read_response (fd, FALSE, CASE_TIMEOUT_MS);
  /* An interim 100 Continue may come first: the final response follows. */
  while (resp != NULL && resp->status >= 100 && resp->status < 200)
    {
      portico_test_response_free (resp);
      resp = portico_test_read_response (fd, FALSE, CASE_TIMEOUT_MS);
    }
  close (fd);
  g_assert_nonnull (resp);
  if (resp == NULL)
    return;
  g_assert_cmpint (resp->status, ==, c->status);
  body = portico_test_response_body_string (resp);
  g_assert_nonnull (strstr (body, c->echo_has));
  g_assert_cmpint (mock_requests (f), ==, before + 1);
}

/* The recorder may still be taking connections the gateway opened (and
 * closed) for an earlier case: wait, bounded, until its counts stop moving
 * and every connection it took has been closed, so that what the next case
 * counts is its own. */
static void
settle (PorticoRawServer *recorder)
{
  guint accepted = 0, finished = 0, last = G_MAXUINT;
  gint64 deadline = g_get_monotonic_time () + 3 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < deadline)
    {
      portico_raw_server_counts (recorder, &accepted, &finished);
      if (accepted == last && accepted == finished)
        return;
      last = accepted;
      g_usleep (100 * 1000);
    }
}

/* @after_head: send the head alone first and let it reach the upstream, so
 * the bad body meets a request that is already on its way. */
static void
check_bad_body (const RequestCase *c, gboolean after_head)
{
  Fixture *f = fixture_get ();
  g_autoptr(GBytes) sent = NULL;
  guint accepted_before, finished_before, accepted, finished;
  gint64 deadline;

  if (f == NULL)
    return;
  settle (f->recorder);
  portico_raw_server_counts (f->recorder, &accepted_before, &finished_before);
  if (!after_head)
    assert_refused (f->addr, c->bytes, c->len, c->status);
  else
    {
      const char *end = memmem (c->bytes, c->len, "\r\n\r\n", 4);
      gsize head_len = (gsize) (end + 4 - c->bytes);
      int fd = send_request (f->addr, c->bytes, head_len);
      gboolean forwarded;

      if (fd < 0)
        return;
      forwarded = portico_raw_server_wait_head (f->recorder, accepted_before, CLOSE_TIMEOUT_MS);
      g_test_message ("the head %s the upstream before the body was sent",
                      forwarded ? "reached" : "had not reached");
      g_assert_true (portico_test_send_all (fd, c->bytes + head_len, (gssize) (c->len - head_len)));
      assert_refused_fd (fd, c->status);
      close (fd);
    }

  portico_raw_server_counts (f->recorder, &accepted, &finished);
  g_assert_cmpuint (accepted, <=, accepted_before + 1);
  deadline = g_get_monotonic_time () + (gint64) CLOSE_TIMEOUT_MS * 1000;
  while (finished - finished_before < accepted - accepted_before &&
         g_get_monotonic_time () < deadline)
    {
      g_usleep (20 * 1000);
      portico_raw_server_counts (f->recorder, &accepted, &finished);
    }
  g_test_message ("the upstream saw %u connection(s)", accepted - accepted_before);
  g_assert_cmpuint (finished - finished_before, ==, accepted - accepted_before);

  if (accepted > accepted_before)
    {
      g_autofree char *copy = NULL, *shown = NULL;
      const char *head_end;
      gsize size;
      const char *raw;

      sent = portico_raw_server_received_bytes (f->recorder);
      raw = g_bytes_get_data (sent, &size);
      copy = g_strndup (raw ? raw : "", size);
      shown = g_strescape (copy, NULL);
      g_test_message ("the upstream got %zu bytes: %s", size, shown);
      head_end = raw ? memmem (raw, size, "\r\n\r\n", 4) : NULL;
      if (head_end != NULL)
        {
          g_autoptr(GBytes) body = g_bytes_new (head_end + 2, size - (head_end + 2 - raw));

          /* The body starts after the head's CRLF CRLF; +2 keeps a CRLF in
           * front of it so a last chunk at its very start is found too. */
          g_assert_false (has_bytes (body, "\r\n0\r\n\r\n"));
          if (c->never_sent != NULL)
            g_assert_false (has_bytes (body, c->never_sent));
        }
    }
  assert_still_serving (f->addr);
}

static void
test_bad_body (gconstpointer data)
{
  g_test_summary ("A bad chunked body under a valid head, all sent at once: the client gets "
                  "400 and the connection closes; an upstream connection, if one was opened, "
                  "is closed without the body's last chunk ever being sent.");
  check_bad_body (data, FALSE);
}

static void
test_bad_body_after_head (gconstpointer data)
{
  g_test_summary ("The same bad chunked bodies, sent once the head has gone upstream: the "
                  "upstream gets an unfinished request and a close, the client 400 and a close.");
  check_bad_body (data, TRUE);
}

static void
test_slowloris (void)
{
  Fixture *f = fixture_get ();
  g_autoptr(GBytes) rest = NULL;
  gint64 start, elapsed_ms;
  gsize size = 0;
  const char *data;
  int fd;

  g_test_summary ("A client that sends its head one byte every 200 ms is answered 408 and "
                  "dropped by client_header_timeout (1000 ms), not kept forever.");
  if (f == NULL)
    return;
  fd = send_request (f->addr, SLOW_HEAD, strlen (SLOW_HEAD));
  if (fd < 0)
    return;
  start = g_get_monotonic_time ();
  for (;;)
    {
      struct pollfd pfd = { .fd = fd, .events = POLLIN };
      int ready = poll (&pfd, 1, 200);

      elapsed_ms = (g_get_monotonic_time () - start) / 1000;
      if (ready != 0 || elapsed_ms >= SLOW_BOUND_MS)
        break;
      if (send (fd, "a", 1, MSG_NOSIGNAL) != 1)
        break;
    }
  g_test_message ("the gateway acted after %" G_GINT64_FORMAT " ms", elapsed_ms);
  g_assert_cmpint (elapsed_ms, <, SLOW_BOUND_MS);
  rest = portico_test_read_until_close (fd, CLOSE_TIMEOUT_MS);
  close (fd);
  g_assert_nonnull (rest);
  if (rest == NULL)
    return;
  data = g_bytes_get_data (rest, &size);
  g_assert_cmpuint (size, >, 0);
  if (size > 0)
    g_assert_true (g_str_has_prefix (data, "HTTP/1.1 408 "));
  assert_still_serving (f->addr);
}

static void
test_idle (void)
{
  Fixture *f = fixture_get ();
  g_autoptr(GBytes) rest = NULL;
  gint64 start, elapsed_ms;
  gsize size = 0;
  const char *data;
  int fd;

  g_test_summary ("A connection that never sends a byte is closed after "
                  "client_header_timeout (1000 ms), neither before nor much later.");
  if (f == NULL)
    return;
  fd = portico_test_connect (f->addr);
  g_assert_cmpint (fd, >=, 0);
  if (fd < 0)
    return;
  start = g_get_monotonic_time ();
  rest = portico_test_read_until_close (fd, SLOW_BOUND_MS);
  elapsed_ms = (g_get_monotonic_time () - start) / 1000;
  close (fd);
  g_test_message ("closed after %" G_GINT64_FORMAT " ms", elapsed_ms);
  g_assert_nonnull (rest);
  g_assert_cmpint (elapsed_ms, >=, HEADER_TIMEOUT_MS - 200);
  g_assert_cmpint (elapsed_ms, <, SLOW_BOUND_MS);
  if (rest == NULL)
    return;
  /* Nothing of a head came: a silent close and a 408 are both fine. */
  data = g_bytes_get_data (rest, &size);
  if (size > 0)
    g_assert_true (g_str_has_prefix (data, "HTTP/1.1 408 "));
  assert_still_serving (f->addr);
}

static void
assert_status (const char *addr, const char *request, int status)
{
  g_autoptr(PorticoTestResponse) resp = portico_test_request (addr, request);

  g_assert_nonnull (resp);
  if (resp != NULL)
    g_assert_cmpint (resp->status, ==, status);
}

static void
test_limits_configured (void)
{
  Fixture *f = fixture_get ();
  g_autoptr(PorticoProc) small = NULL;
  g_autoptr(GError) error = NULL;
  static const LongRequest long_line_request = { "/mock/", 300, 0, 0 };
  static const LongRequest short_line_request = { "/mock/", 200, 0, 0 };
  static const LongRequest big_head_request = { "/mock/", 0, 1100, 0 };
  static const LongRequest small_head_request = { "/mock/", 0, 800, 0 };
  g_autofree char *long_line = long_request (&long_line_request, NULL);
  g_autofree char *short_line = long_request (&short_line_request, NULL);
  g_autofree char *big_head = long_request (&big_head_request, NULL);
  g_autofree char *small_head = long_request (&small_head_request, NULL);
  g_autofree char *sink_address = NULL;
  g_autofree char *mock_address = NULL;
  const char *addr;
  guint before;

  g_test_summary ("node.max_request_line and node.max_header_size set the 414 and 431 "
                  "limits: what a small-limit gateway refuses, the default one forwards.");
  if (f == NULL)
    return;
  sink_address = g_strdup_printf ("http://%s", portico_raw_server_address (f->sink));
  mock_address = g_strdup_printf ("http://%s", portico_proc_address (f->mock, 0));
  small = portico_gateway_spawn_with (
    "{\"_format_version\":\"1\",\"node\":{\"listen\":[\"127.0.0.1:0\"],\"admin_listen\":\"off\","
    "\"workers\":1,\"client_header_timeout\":1000,\"max_request_line\":256,"
    "\"max_header_size\":1024},\"services\":["
    "{\"name\":\"sink\",\"url\":\"@SINK@\",\"routes\":[{\"name\":\"sink\",\"paths\":[\"/\"]}]},"
    "{\"name\":\"mock\",\"url\":\"@MOCK@\",\"routes\":[{\"name\":\"mock\",\"paths\":[\"/mock\"]}]}]}",
    "@SINK@", sink_address, "@MOCK@", mock_address, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (small);
  if (small == NULL)
    return;
  addr = portico_proc_address (small, 0);
  g_assert_nonnull (addr);
  if (addr == NULL)
    return;

  before = portico_raw_server_connections (f->sink);
  assert_refused (addr, long_line, strlen (long_line), 414);
  assert_refused (addr, big_head, strlen (big_head), 431);
  g_assert_cmpuint (portico_raw_server_connections (f->sink), ==, before);
  assert_status (addr, short_line, 200);
  assert_status (addr, small_head, 200);

  assert_status (f->addr, long_line, 200);
  assert_status (f->addr, big_head, 200);
  g_assert_cmpint (portico_proc_stop (small), ==, 0);
}

/* ------------------------------------------------------------------------ */
/* Upstream trouble */

static guint
upstream_index (const UpstreamCase *c)
{
  return (guint) (c - upstream_cases);
}

static void
test_bad_response (gconstpointer data)
{
  const UpstreamCase *c = data;
  Fixture *f = fixture_get ();
  PorticoRawServer *server;
  g_autofree char *request = g_strdup_printf ("GET /up/%s/ HTTP/1.1\r\n" HOST "\r\n", c->name);
  guint before, round;

  g_test_summary ("A response that breaks the framing rules gives the client 502 (or, once "
                  "the head is out, a cut response and a close); that upstream connection is "
                  "never used again.");
  if (f == NULL)
    return;
  server = f->upstreams[upstream_index (c)];
  before = portico_raw_server_connections (server);

  for (round = 1; round <= 2; round++)
    {
      g_autoptr(PorticoTestResponse) resp = NULL;
      int fd = send_request (f->addr, request, strlen (request));

      if (fd < 0)
        return;
      resp = portico_test_read_response (fd, FALSE, CASE_TIMEOUT_MS);
      if (c->started && (resp == NULL || resp->status != 502))
        {
          /* Whatever the client got must not pass for a whole response: a
           * cut one, or nothing at all, and then the close. */
          if (resp != NULL)
            g_assert_false (resp->complete);
          g_assert_true ((resp != NULL && resp->closed) ||
                         portico_test_is_closed (fd, CLOSE_TIMEOUT_MS));
        }
      else
        {
          g_assert_nonnull (resp);
          if (resp != NULL)
            g_assert_cmpint (resp->status, ==, 502);
        }
      close (fd);
      g_assert_cmpuint (portico_raw_server_connections (server), ==, before + round);
    }
  assert_still_serving (f->addr);
}

static void
assert_kong_error (const char *path, int status, const char *body)
{
  Fixture *f = fixture_get ();
  g_autofree char *request = NULL;
  g_autoptr(PorticoTestResponse) resp = NULL;
  g_autofree char *text = NULL;
  const char *type;

  if (f == NULL)
    return;
  request = g_strdup_printf ("GET %s HTTP/1.1\r\n" HOST "\r\n", path);
  resp = portico_test_request (f->addr, request);
  g_assert_nonnull (resp);
  if (resp == NULL)
    return;
  g_assert_cmpint (resp->status, ==, status);
  text = portico_test_response_body_string (resp);
  g_assert_cmpstr (text, ==, body);
  type = portico_test_response_header (resp, "Content-Type");
  g_assert_nonnull (type);
  if (type != NULL)
    g_assert_true (g_str_has_prefix (type, "application/json"));
  assert_still_serving (f->addr);
}

static void
test_upstream_refused (void)
{
  g_test_summary ("An upstream that refuses connections: 502 with Kong's message, in JSON.");
  assert_kong_error ("/refused/", 502,
                     "{\"message\":\"An invalid response was received from the upstream server\"}");
}

static void
test_upstream_read_timeout (void)
{
  gint64 start = g_get_monotonic_time ();

  g_test_summary ("An upstream that accepts the request and never answers: 504 after "
                  "the service's read_timeout (300 ms).");
  assert_kong_error ("/slow/", 504, "{\"message\":\"The upstream server is timing out\"}");
  g_assert_cmpint ((g_get_monotonic_time () - start) / 1000, >=, 300 - 50);
}

static void
test_upstream_no_target (void)
{
  g_test_summary ("An upstream whose only target has weight 0 has no peer to give: 503.");
  assert_kong_error ("/no-target/", 503,
                     "{\"message\":\"failure to get a peer from the ring-balancer\"}");
}

static void
test_clean_exit (void)
{
  Fixture *f = fixture_get ();

  g_test_summary ("After all of the above the gateway is still up and stops cleanly.");
  if (f == NULL)
    return;
  g_assert_cmpint (portico_proc_wait (f->gateway, 0), ==, -1);
  g_assert_cmpint (portico_proc_stop (f->gateway), ==, 0);
}

/* ------------------------------------------------------------------------ */

static void
add_request_cases (const char *prefix, const RequestCase *cases, gsize n, GTestDataFunc func)
{
  gsize i;

  for (i = 0; i < n; i++)
    {
      g_autofree char *path = g_strdup_printf ("%s/%s", prefix, cases[i].path);

      g_test_add_data_func (path, &cases[i], func);
    }
}

int
main (int argc, char **argv)
{
  int status;
  guint i;

  g_test_init (&argc, &argv, NULL);
  g_test_set_nonfatal_assertions ();

  add_request_cases ("/bad-input/request", rejected_cases, G_N_ELEMENTS (rejected_cases),
                     test_rejected);
  add_request_cases ("/bad-input/accepted", accepted_cases, G_N_ELEMENTS (accepted_cases),
                     test_accepted);
  add_request_cases ("/bad-input/body", body_cases, G_N_ELEMENTS (body_cases), test_bad_body);
  add_request_cases ("/bad-input/body-after-head", body_cases, G_N_ELEMENTS (body_cases),
                     test_bad_body_after_head);
  g_test_add_func ("/bad-input/timeout/slowloris", test_slowloris);
  g_test_add_func ("/bad-input/timeout/idle", test_idle);
  g_test_add_func ("/bad-input/limits/configured", test_limits_configured);
  for (i = 0; i < G_N_ELEMENTS (upstream_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/bad-input/upstream/%s", upstream_cases[i].name);

      g_test_add_data_func (path, &upstream_cases[i], test_bad_response);
    }
  g_test_add_func ("/bad-input/upstream/refused", test_upstream_refused);
  g_test_add_func ("/bad-input/upstream/read-timeout", test_upstream_read_timeout);
  g_test_add_func ("/bad-input/upstream/no-target", test_upstream_no_target);
  g_test_add_func ("/bad-input/end/clean-exit", test_clean_exit);

  status = g_test_run ();
  fixture_clear ();
  return status;
}
