/* test-proxy.c: the real gateway between a real client and real upstreams:
 * what it forwards, what it changes, how it frames bodies, how it routes,
 * and what it answers when the upstream fails. */
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "harness.h"

/* PORTICO_TEST_BACKEND=poll runs the same tests on the poll backend. */
static const char *backend = "epoll";

static PorticoProc *
gateway (const char *services_json, const char *node_extra)
{
  g_autofree char *json = g_strdup_printf (
    "{\"_format_version\":\"1\",\"node\":{\"listen\":[\"127.0.0.1:0\"],\"admin_listen\":\"off\","
    "\"workers\":1,\"event_backend\":\"%s\"%s%s},%s}",
    backend, node_extra ? "," : "", node_extra ? node_extra : "", services_json);
  g_autoptr (GError) error = NULL;
  PorticoProc *gw = portico_gateway_spawn (json, &error);
  g_assert_no_error (error);
  g_assert_nonnull (gw);
  return gw;
}

static PorticoProc *
gateway_to (const char *upstream_addr, const char *route_json, const char *node_extra)
{
  g_autofree char *services = g_strdup_printf (
    "\"services\":[{\"name\":\"s\",\"url\":\"http://%s\",\"routes\":[%s]}]", upstream_addr,
    route_json ? route_json : "{\"name\":\"r\",\"paths\":[\"/\"]}");
  return gateway (services, node_extra);
}

static JsonObject *
parse_json (const PorticoTestResponse *resp, JsonParser *parser)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *text = portico_test_response_body_string (resp);
  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  JsonNode *root = json_parser_get_root (parser);
  g_assert_true (root != NULL && JSON_NODE_HOLDS_OBJECT (root));
  return json_node_get_object (root);
}

/* The value of header @name in a /echo answer, or NULL; *count: how many. */
static const char *
echo_header (JsonObject *echo, const char *name, guint *count)
{
  JsonArray *headers = json_object_get_array_member (echo, "headers");
  const char *found = NULL;
  guint n = 0;
  for (guint i = 0; i < json_array_get_length (headers); i++)
    {
      JsonArray *pair = json_array_get_array_element (headers, i);
      if (g_ascii_strcasecmp (json_array_get_string_element (pair, 0), name) == 0)
        {
          if (found == NULL)
            found = json_array_get_string_element (pair, 1);
          n++;
        }
    }
  if (count)
    *count = n;
  return found;
}

static guint
echo_header_index (JsonObject *echo, const char *name)
{
  JsonArray *headers = json_object_get_array_member (echo, "headers");
  for (guint i = 0; i < json_array_get_length (headers); i++)
    if (g_ascii_strcasecmp (json_array_get_string_element (json_array_get_array_element (headers, i), 0),
                            name) == 0)
      return i;
  return G_MAXUINT;
}

static void
test_echo_fields (void)
{
  g_test_summary ("What the upstream receives: the method, the stripped path and the query, the "
                  "client's fields unchanged and in order, Host rewritten, hop-by-hop fields and "
                  "those named in Connection removed, forwarding fields set by the gateway.");
  g_autoptr (PorticoProc) mock = portico_mock_spawn (NULL);
  const char *up = portico_proc_address (mock, 0);
  g_autoptr (PorticoProc) gw = gateway_to (up, "{\"name\":\"r\",\"paths\":[\"/api\"]}", NULL);
  const char *addr = portico_proc_address (gw, 0);

  g_autoptr (PorticoTestResponse) resp = portico_test_request (
    addr, "GET /api/echo/a%7Eb?x=1&y=%20 HTTP/1.1\r\n"
          "Host: Shop.Example:8080\r\n"
          "X-First: 1\r\n"
          "Connection: keep-alive, X-Hop-Secret\r\n"
          "X-Hop-Secret: do-not-forward\r\n"
          "Keep-Alive: timeout=5\r\n"
          "TE: trailers\r\n"
          "Upgrade: websocket\r\n"
          "Proxy-Connection: keep-alive\r\n"
          "X-Forwarded-For: 203.0.113.9\r\n"
          "X-Forwarded-Proto: https\r\n"
          "X-Real-IP: 198.51.100.1\r\n"
          "Via: 1.0 edge\r\n"
          "x-lower: Case Kept\r\n"
          "X-Last: z\r\n\r\n");
  g_assert_nonnull (resp);
  g_assert_cmpint (resp->status, ==, 200);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *echo = parse_json (resp, parser);

  g_assert_cmpstr (json_object_get_string_member (echo, "method"), ==, "GET");
  g_assert_cmpstr (json_object_get_string_member (echo, "path"), ==, "/echo/a~b");
  g_assert_cmpstr (json_object_get_string_member (echo, "query"), ==, "x=1&y=%20");
  g_assert_cmpstr (json_object_get_string_member (echo, "http_version"), ==, "HTTP/1.1");
  g_assert_cmpstr (echo_header (echo, "Host", NULL), ==, up);
  g_assert_cmpstr (echo_header (echo, "X-First", NULL), ==, "1");
  g_assert_cmpstr (echo_header (echo, "x-lower", NULL), ==, "Case Kept");
  g_assert_cmpuint (echo_header_index (echo, "X-First"), <, echo_header_index (echo, "x-lower"));
  g_assert_cmpuint (echo_header_index (echo, "x-lower"), <, echo_header_index (echo, "X-Last"));
  for (const char *const *hop = (const char *const[]){ "Connection", "X-Hop-Secret", "Keep-Alive", "TE",
                                                        "Upgrade", "Proxy-Connection", NULL };
       *hop; hop++)
    g_assert_null (echo_header (echo, *hop, NULL));

  guint n;
  g_assert_cmpstr (echo_header (echo, "X-Forwarded-For", &n), ==, "203.0.113.9, 127.0.0.1");
  g_assert_cmpuint (n, ==, 1);
  g_assert_cmpstr (echo_header (echo, "X-Forwarded-Proto", &n), ==, "http");
  g_assert_cmpuint (n, ==, 1);
  g_assert_cmpstr (echo_header (echo, "X-Real-IP", &n), ==, "127.0.0.1");
  g_assert_cmpuint (n, ==, 1);
  g_assert_cmpstr (echo_header (echo, "X-Forwarded-Host", NULL), ==, "Shop.Example");
  const char *port = strrchr (addr, ':') + 1;
  g_assert_cmpstr (echo_header (echo, "X-Forwarded-Port", NULL), ==, port);
  g_assert_cmpstr (echo_header (echo, "X-Forwarded-Path", NULL), ==, "/api/echo/a%7Eb");
  g_assert_cmpstr (echo_header (echo, "X-Forwarded-Prefix", NULL), ==, "/api");
  g_assert_cmpstr (echo_header (echo, "Via", NULL), ==, "1.0 edge, 1.1 portico");

  /* And the client sees the upstream's fields, plus Via. */
  g_assert_cmpstr (portico_test_response_header (resp, "Server"), ==, "portico-mock");
  g_assert_cmpstr (portico_test_response_header (resp, "Via"), ==, "1.1 portico");
}

static void
test_preserve_host_and_paths (void)
{
  g_test_summary ("preserve_host keeps the client's Host; strip_path off keeps the prefix; a "
                  "service path is put in front.");
  g_autoptr (PorticoProc) mock = portico_mock_spawn (NULL);
  const char *up = portico_proc_address (mock, 0);
  g_autofree char *services = g_strdup_printf (
    "\"services\":["
    "{\"name\":\"keep\",\"url\":\"http://%s\",\"routes\":[{\"paths\":[\"/echo/keep\"],"
    "\"preserve_host\":true,\"strip_path\":false}]},"
    "{\"name\":\"based\",\"url\":\"http://%s/echo/base\",\"routes\":[{\"paths\":[\"/b\"]}]}]",
    up, up);
  g_autoptr (PorticoProc) gw = gateway (services, NULL);
  const char *addr = portico_proc_address (gw, 0);
  g_autoptr (JsonParser) parser = json_parser_new ();

  g_autoptr (PorticoTestResponse) r1 =
    portico_test_request (addr, "GET /echo/keep/x HTTP/1.1\r\nHost: api.example.com\r\n\r\n");
  g_assert_cmpint (r1->status, ==, 200);
  JsonObject *e1 = parse_json (r1, parser);
  g_assert_cmpstr (echo_header (e1, "Host", NULL), ==, "api.example.com");
  g_assert_cmpstr (json_object_get_string_member (e1, "path"), ==, "/echo/keep/x");

  g_autoptr (PorticoTestResponse) r2 = portico_test_request (addr, "GET /b/c?q HTTP/1.1\r\nHost: a\r\n\r\n");
  g_assert_cmpint (r2->status, ==, 200);
  JsonObject *e2 = parse_json (r2, parser);
  g_assert_cmpstr (json_object_get_string_member (e2, "path"), ==, "/echo/base/c");
  g_assert_cmpstr (json_object_get_string_member (e2, "query"), ==, "q");

  g_autoptr (PorticoTestResponse) r3 = portico_test_request (addr, "GET /b HTTP/1.1\r\nHost: a\r\n\r\n");
  JsonObject *e3 = parse_json (r3, parser);
  g_assert_cmpstr (json_object_get_string_member (e3, "path"), ==, "/echo/base");
}

static void
test_routing (void)
{
  g_test_summary ("Routes through the real gateway: host beats no host, longer prefix beats "
                  "shorter, regex, methods; no match is a 404 with Kong's JSON message.");
  g_autoptr (PorticoProc) a = portico_mock_spawn ("--name", "a", NULL);
  g_autoptr (PorticoProc) b = portico_mock_spawn ("--name", "b", NULL);
  g_autoptr (PorticoProc) c = portico_mock_spawn ("--name", "c", NULL);
  g_autoptr (PorticoProc) d = portico_mock_spawn ("--name", "d", NULL);
  g_autofree char *services = g_strdup_printf (
    "\"services\":["
    "{\"name\":\"a\",\"url\":\"http://%s\",\"routes\":[{\"paths\":[\"/\"]}]},"
    "{\"name\":\"b\",\"url\":\"http://%s\",\"routes\":[{\"paths\":[\"/orders\"]}]},"
    "{\"name\":\"c\",\"url\":\"http://%s\",\"routes\":[{\"hosts\":[\"*.shop.test\"],\"paths\":[\"/\"]},"
    "  {\"paths\":[\"~/items/\\\\d+$\"]}]},"
    "{\"name\":\"d\",\"url\":\"http://%s\",\"routes\":[{\"paths\":[\"/orders\"],\"methods\":[\"DELETE\"]}]}]",
    portico_proc_address (a, 0), portico_proc_address (b, 0), portico_proc_address (c, 0),
    portico_proc_address (d, 0));
  g_autoptr (PorticoProc) gw = gateway (services, NULL);
  const char *addr = portico_proc_address (gw, 0);
  struct {
    const char *request;
    const char *body;
  } cases[] = {
    { "GET /x HTTP/1.1\r\nHost: h\r\n\r\n", "hello from a\n" },
    { "GET /orders/1 HTTP/1.1\r\nHost: h\r\n\r\n", "hello from b\n" },
    { "DELETE /orders/1 HTTP/1.1\r\nHost: h\r\n\r\n", "hello from d\n" },
    { "GET /orders HTTP/1.1\r\nHost: eu.shop.test\r\n\r\n", "hello from c\n" },
    { "GET /items/42 HTTP/1.1\r\nHost: h\r\n\r\n", "hello from c\n" },
    { "GET /items/42x HTTP/1.1\r\nHost: h\r\n\r\n", "hello from a\n" },
    { "GET /public/../orders/7 HTTP/1.1\r\nHost: h\r\n\r\n", "hello from b\n" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (PorticoTestResponse) r = portico_test_request (addr, cases[i].request);
      g_assert_nonnull (r);
      g_autofree char *body = portico_test_response_body_string (r);
      g_assert_cmpstr (body, ==, cases[i].body);
    }

  g_autofree char *only_orders = g_strdup_printf (
    "\"services\":[{\"name\":\"b\",\"url\":\"http://%s\",\"routes\":[{\"paths\":[\"/orders\"]}]}]",
    portico_proc_address (b, 0));
  g_autoptr (PorticoProc) gw2 = gateway (only_orders, NULL);
  g_autoptr (PorticoTestResponse) r =
    portico_test_request (portico_proc_address (gw2, 0), "GET /nope HTTP/1.1\r\nHost: h\r\n\r\n");
  g_assert_cmpint (r->status, ==, 404);
  g_autofree char *body = portico_test_response_body_string (r);
  g_assert_cmpstr (body, ==, "{\"message\":\"no Route matched with those values\"}");
  g_assert_true (g_str_has_prefix (portico_test_response_header (r, "Content-Type"), "application/json"));
}

static void
test_response_fields (void)
{
  g_test_summary ("The client gets the upstream's fields minus hop-by-hop ones and those named "
                  "in Connection; Via is appended.");
  g_autoptr (PorticoRawServer) raw = portico_raw_server_new (
    "HTTP/1.1 200 OK\r\nConnection: X-Secret\r\nX-Secret: 1\r\nKeep-Alive: timeout=5\r\n"
    "Via: 1.0 origin\r\nX-Kept: yes\r\nContent-Length: 2\r\n\r\nok", TRUE);
  g_autoptr (PorticoProc) gw = gateway_to (portico_raw_server_address (raw), NULL, NULL);
  g_autoptr (PorticoTestResponse) r =
    portico_test_request (portico_proc_address (gw, 0), "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  g_assert_cmpint (r->status, ==, 200);
  g_assert_null (portico_test_response_header (r, "X-Secret"));
  g_assert_null (portico_test_response_header (r, "Keep-Alive"));
  g_assert_cmpstr (portico_test_response_header (r, "X-Kept"), ==, "yes");
  g_assert_cmpstr (portico_test_response_header (r, "Via"), ==, "1.0 origin, 1.1 portico");
  g_autofree char *body = portico_test_response_body_string (r);
  g_assert_cmpstr (body, ==, "ok");
}

static char *
sha256_hex (const void *data, gsize len)
{
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, data, len);
}

static void
test_chunked_request (void)
{
  g_test_summary ("A chunked request body streams to the upstream re-chunked: same bytes, "
                  "chunk extensions dropped, trailers passed.");
  g_autoptr (PorticoProc) mock = portico_mock_spawn (NULL);
  g_autoptr (PorticoProc) gw = gateway_to (portico_proc_address (mock, 0), NULL, NULL);
  const char *addr = portico_proc_address (gw, 0);
  int fd = portico_test_connect (addr);
  g_assert_cmpint (fd, >=, 0);
  GString *req = g_string_new ("POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
  GString *body = g_string_new (NULL);
  for (int i = 0; i < 50; i++)
    {
      char chunk[3000];
      memset (chunk, 'a' + i % 26, sizeof chunk);
      gsize len = 100 + (gsize) i * 57;
      g_string_append_printf (req, "%zx;ext=%d\r\n", len, i);
      g_string_append_len (req, chunk, (gssize) len);
      g_string_append (req, "\r\n");
      g_string_append_len (body, chunk, (gssize) len);
    }
  g_string_append (req, "0\r\nX-Checksum: abc\r\n\r\n");
  g_assert_true (portico_test_send_all (fd, req->str, (gssize) req->len));
  g_autoptr (PorticoTestResponse) r = portico_test_read_response (fd, FALSE, 10000);
  g_assert_nonnull (r);
  g_assert_cmpint (r->status, ==, 200);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *o = parse_json (r, parser);
  g_assert_cmpint (json_object_get_int_member (o, "body_bytes"), ==, (gint64) body->len);
  g_autofree char *sum = sha256_hex (body->str, body->len);
  g_assert_cmpstr (json_object_get_string_member (o, "body_sha256"), ==, sum);
  close (fd);
  g_string_free (req, TRUE);
  g_string_free (body, TRUE);

  /* What reached the upstream, byte for byte: no extensions, the trailer kept. */
  g_autoptr (PorticoRawServer) raw =
    portico_raw_server_new ("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", TRUE);
  g_autoptr (PorticoProc) gw2 = gateway_to (portico_raw_server_address (raw), NULL, NULL);
  g_autoptr (PorticoTestResponse) r2 = portico_test_request (
    portico_proc_address (gw2, 0),
    "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;a=b\r\nabc\r\n0\r\nX-T: v\r\n\r\n");
  g_assert_cmpint (r2->status, ==, 200);
  g_autofree char *seen = portico_raw_server_last_request (raw);
  g_assert_nonnull (seen);
  g_assert_nonnull (strstr (seen, "Transfer-Encoding: chunked\r\n"));
  g_assert_null (strstr (seen, "a=b"));
}

static void
test_response_framing (void)
{
  g_test_summary ("Chunked and close-delimited upstream bodies reach HTTP/1.1 clients chunked "
                  "and HTTP/1.0 clients close-delimited; HEAD, 204 and 304 have no body.");
  g_autoptr (PorticoProc) mock = portico_mock_spawn ("--chunked", "--body-bytes", "100000", NULL);
  g_autoptr (PorticoProc) gw = gateway_to (portico_proc_address (mock, 0), NULL, NULL);
  const char *addr = portico_proc_address (gw, 0);

  g_autoptr (PorticoTestResponse) r = portico_test_request (addr, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  g_assert_cmpint (r->status, ==, 200);
  g_assert_true (r->chunked);
  g_assert_true (r->complete);
  g_assert_cmpuint (r->body_length, ==, 100000);

  int fd = portico_test_connect (addr);
  g_assert_true (portico_test_send_all (fd, "GET / HTTP/1.0\r\n\r\n", -1));
  g_autoptr (PorticoTestResponse) r10 = portico_test_read_response (fd, FALSE, 10000);
  g_assert_nonnull (r10);
  g_assert_false (r10->chunked);
  g_assert_cmpuint (r10->body_length, ==, 100000);
  g_assert_null (portico_test_response_header (r10, "Transfer-Encoding"));
  g_assert_true (portico_test_is_closed (fd, 2000));
  close (fd);

  g_autoptr (PorticoTestResponse) head = portico_test_request (addr, "HEAD /bytes/777 HTTP/1.1\r\nHost: h\r\n\r\n");
  g_assert_cmpint (head->status, ==, 200);
  g_assert_cmpuint (head->body_length, ==, 0);

  /* A close-delimited upstream answer, then 304 with a length but no body. */
  g_autoptr (PorticoRawServer) raw = portico_raw_server_new ("HTTP/1.1 200 OK\r\n\r\nuntil-close", TRUE);
  g_autoptr (PorticoProc) gw2 = gateway_to (portico_raw_server_address (raw), NULL, NULL);
  g_autoptr (PorticoTestResponse) rc =
    portico_test_request (portico_proc_address (gw2, 0), "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  g_assert_cmpint (rc->status, ==, 200);
  g_assert_true (rc->chunked);
  g_autofree char *body = portico_test_response_body_string (rc);
  g_assert_cmpstr (body, ==, "until-close");

  g_autoptr (PorticoRawServer) raw304 =
    portico_raw_server_new ("HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\nETag: \"x\"\r\n\r\n", FALSE);
  g_autoptr (PorticoProc) gw3 = gateway_to (portico_raw_server_address (raw304), NULL, NULL);
  int fd3 = portico_test_connect (portico_proc_address (gw3, 0));
  g_assert_true (portico_test_send_all (fd3, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", -1));
  g_autoptr (PorticoTestResponse) r304 = portico_test_read_response (fd3, FALSE, 5000);
  g_assert_nonnull (r304);
  g_assert_cmpint (r304->status, ==, 304);
  g_assert_cmpstr (portico_test_response_header (r304, "Content-Length"), ==, "50");
  g_assert_cmpuint (r304->body_length, ==, 0);
  /* The connection is still usable: nothing of a body was expected. */
  g_assert_false (portico_test_is_closed (fd3, 200));
  close (fd3);
}

static void
test_pipelining_and_continue (void)
{
  g_test_summary ("Pipelined requests are answered in order; Expect: 100-continue gets "
                  "100 Continue from the gateway before the body is sent.");
  g_autoptr (PorticoProc) mock = portico_mock_spawn (NULL);
  g_autoptr (PorticoProc) gw = gateway_to (portico_proc_address (mock, 0), NULL, NULL);
  const char *addr = portico_proc_address (gw, 0);
  int fd = portico_test_connect (addr);
  g_assert_true (portico_test_send_all (fd,
                                        "GET /status/201 HTTP/1.1\r\nHost: h\r\n\r\n"
                                        "POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
                                        "GET /status/202 HTTP/1.1\r\nHost: h\r\n\r\n"
                                        "HEAD /bytes/9 HTTP/1.1\r\nHost: h\r\n\r\n"
                                        "GET /status/203 HTTP/1.1\r\nHost: h\r\n\r\n", -1));
  int expected[] = { 201, 200, 202, 200, 203 };
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_autoptr (PorticoTestResponse) r = portico_test_read_response (fd, i == 3, 5000);
      g_assert_nonnull (r);
      g_assert_cmpint (r->status, ==, expected[i]);
    }
  close (fd);

  fd = portico_test_connect (addr);
  g_assert_true (portico_test_send_all (
    fd, "POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n", -1));
  g_autoptr (PorticoTestResponse) interim = portico_test_read_response (fd, FALSE, 5000);
  g_assert_nonnull (interim);
  g_assert_cmpint (interim->status, ==, 100);
  g_assert_true (portico_test_send_all (fd, "abcd", 4));
  g_autoptr (PorticoTestResponse) final = portico_test_read_response (fd, FALSE, 5000);
  g_assert_cmpint (final->status, ==, 200);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_assert_cmpint (json_object_get_int_member (parse_json (final, parser), "body_bytes"), ==, 4);
  close (fd);
}

static void
test_absolute_form (void)
{
  g_test_summary ("An absolute-form target routes on its authority and reaches the upstream in "
                  "origin form.");
  g_autoptr (PorticoProc) mock = portico_mock_spawn (NULL);
  g_autoptr (PorticoProc) gw =
    gateway_to (portico_proc_address (mock, 0), "{\"hosts\":[\"api.test\"],\"preserve_host\":true}", NULL);
  g_autoptr (PorticoTestResponse) r = portico_test_request (
    portico_proc_address (gw, 0), "GET http://api.test/echo/x?y=1 HTTP/1.1\r\nHost: other\r\n\r\n");
  g_assert_cmpint (r->status, ==, 200);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *e = parse_json (r, parser);
  g_assert_cmpstr (json_object_get_string_member (e, "path"), ==, "/echo/x");
  g_assert_cmpstr (json_object_get_string_member (e, "query"), ==, "y=1");
  g_assert_cmpstr (echo_header (e, "Host", NULL), ==, "api.test");
}

static void
test_upstream_failures (void)
{
  g_test_summary ("Refused: 502; silent upstream: 504; no usable target: 503; each with Kong's "
                  "JSON message; a refused target is retried on the next one.");
  g_autofree char *refused = g_strdup_printf ("127.0.0.1:%d", (int) portico_test_free_port ());
  g_autoptr (PorticoProc) gw = gateway_to (refused, NULL, NULL);
  g_autoptr (PorticoTestResponse) r =
    portico_test_request (portico_proc_address (gw, 0), "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  g_assert_cmpint (r->status, ==, 502);
  g_autofree char *b502 = portico_test_response_body_string (r);
  g_assert_cmpstr (b502, ==, "{\"message\":\"An invalid response was received from the upstream server\"}");

  g_autoptr (PorticoRawServer) silent = portico_raw_server_new ("", FALSE);
  g_autofree char *slow = g_strdup_printf (
    "\"services\":[{\"name\":\"s\",\"url\":\"http://%s\",\"read_timeout\":300,\"routes\":[{\"paths\":[\"/\"]}]}]",
    portico_raw_server_address (silent));
  g_autoptr (PorticoProc) gw2 = gateway (slow, NULL);
  g_autoptr (PorticoTestResponse) r2 =
    portico_test_request (portico_proc_address (gw2, 0), "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  g_assert_cmpint (r2->status, ==, 504);
  g_autofree char *b504 = portico_test_response_body_string (r2);
  g_assert_cmpstr (b504, ==, "{\"message\":\"The upstream server is timing out\"}");

  g_autoptr (PorticoProc) mock = portico_mock_spawn ("--name", "live", NULL);
  g_autofree char *balanced = g_strdup_printf (
    "\"upstreams\":[{\"name\":\"pool\",\"targets\":[{\"target\":\"%s\"},{\"target\":\"%s\"}]},"
    "{\"name\":\"empty\",\"targets\":[{\"target\":\"%s\",\"weight\":0}]}],"
    "\"services\":[{\"name\":\"s\",\"host\":\"pool\",\"routes\":[{\"paths\":[\"/\"]}]},"
    "{\"name\":\"e\",\"host\":\"empty\",\"routes\":[{\"paths\":[\"/empty\"]}]}]",
    refused, portico_proc_address (mock, 0), portico_proc_address (mock, 0));
  g_autoptr (PorticoProc) gw3 = gateway (balanced, NULL);
  for (int i = 0; i < 6; i++)
    {
      g_autoptr (PorticoTestResponse) ok =
        portico_test_request (portico_proc_address (gw3, 0), "GET /x HTTP/1.1\r\nHost: h\r\n\r\n");
      g_assert_cmpint (ok->status, ==, 200);
      g_autofree char *body = portico_test_response_body_string (ok);
      g_assert_cmpstr (body, ==, "hello from live\n");
    }
  g_autoptr (PorticoTestResponse) r3 =
    portico_test_request (portico_proc_address (gw3, 0), "GET /empty HTTP/1.1\r\nHost: h\r\n\r\n");
  g_assert_cmpint (r3->status, ==, 503);
  g_autofree char *b503 = portico_test_response_body_string (r3);
  g_assert_cmpstr (b503, ==, "{\"message\":\"failure to get a peer from the ring-balancer\"}");
}

static void
test_round_robin (void)
{
  g_test_summary ("Weighted round-robin spreads requests by weight (3:1 over 40 requests).");
  g_autoptr (PorticoProc) a = portico_mock_spawn ("--name", "a", NULL);
  g_autoptr (PorticoProc) b = portico_mock_spawn ("--name", "b", NULL);
  g_autofree char *json = g_strdup_printf (
    "\"upstreams\":[{\"name\":\"pool\",\"targets\":[{\"target\":\"%s\",\"weight\":300},"
    "{\"target\":\"%s\",\"weight\":100}]}],"
    "\"services\":[{\"name\":\"s\",\"host\":\"pool\",\"routes\":[{\"paths\":[\"/\"]}]}]",
    portico_proc_address (a, 0), portico_proc_address (b, 0));
  g_autoptr (PorticoProc) gw = gateway (json, NULL);
  int count_a = 0, count_b = 0;
  for (int i = 0; i < 40; i++)
    {
      g_autoptr (PorticoTestResponse) r =
        portico_test_request (portico_proc_address (gw, 0), "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
      g_autofree char *body = portico_test_response_body_string (r);
      if (g_str_equal (body, "hello from a\n"))
        count_a++;
      else if (g_str_equal (body, "hello from b\n"))
        count_b++;
    }
  g_assert_cmpint (count_a, ==, 30);
  g_assert_cmpint (count_b, ==, 10);
}

static void
test_bad_upstream_not_reused (void)
{
  g_test_summary ("An upstream answer with bad framing gives 502 and its connection is never "
                  "pooled: the next request opens a new one.");
  g_autoptr (PorticoRawServer) raw = portico_raw_server_new (
    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", FALSE);
  g_autoptr (PorticoProc) gw = gateway_to (portico_raw_server_address (raw), NULL, NULL);
  for (guint i = 1; i <= 3; i++)
    {
      g_autoptr (PorticoTestResponse) r =
        portico_test_request (portico_proc_address (gw, 0), "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
      g_assert_cmpint (r->status, ==, 502);
      g_assert_cmpuint (portico_raw_server_connections (raw), ==, i);
    }
}

static void
test_nginx_upstream (void)
{
  g_test_summary ("nginx as the upstream, when installed: 200 requests over kept-alive "
                  "connections on both sides, every response complete.");
  g_autofree char *nginx = g_find_program_in_path ("nginx");
  if (nginx == NULL && g_file_test ("/usr/sbin/nginx", G_FILE_TEST_IS_EXECUTABLE))
    nginx = g_strdup ("/usr/sbin/nginx");
  if (nginx == NULL)
    {
      g_test_skip ("nginx is not installed");
      return;
    }
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("portico-nginx-XXXXXX", &error);
  g_assert_no_error (error);
  int port = (int) portico_test_free_port ();
  g_autofree char *conf = g_strdup_printf (
    "worker_processes 1; daemon off; pid %s/nginx.pid; error_log %s/error.log;\n"
    "events { worker_connections 256; }\n"
    "http { access_log off; client_body_temp_path %s; proxy_temp_path %s; fastcgi_temp_path %s;\n"
    " uwsgi_temp_path %s; scgi_temp_path %s;\n"
    " server { listen 127.0.0.1:%d; location / { return 200 \"from nginx\\n\"; } } }\n",
    dir, dir, dir, dir, dir, dir, dir, port);
  g_autofree char *conf_path = g_build_filename (dir, "nginx.conf", NULL);
  g_assert_true (g_file_set_contents (conf_path, conf, -1, NULL));
  const char *argv[] = { nginx, "-p", dir, "-c", conf_path, NULL };
  g_autoptr (GSubprocess) proc = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_NONE, &error);
  g_assert_no_error (error);
  g_autofree char *up = g_strdup_printf ("127.0.0.1:%d", port);
  int probe = -1;
  for (int i = 0; i < 100 && probe < 0; i++)
    {
      g_usleep (20000);
      probe = portico_test_connect (up);
    }
  g_assert_cmpint (probe, >=, 0);
  close (probe);

  g_autoptr (PorticoProc) gw = gateway_to (up, NULL, NULL);
  int fd = portico_test_connect (portico_proc_address (gw, 0));
  for (int i = 0; i < 200; i++)
    {
      g_assert_true (portico_test_send_all (fd, "GET /x HTTP/1.1\r\nHost: h\r\n\r\n", -1));
      g_autoptr (PorticoTestResponse) r = portico_test_read_response (fd, FALSE, 5000);
      g_assert_nonnull (r);
      g_assert_cmpint (r->status, ==, 200);
      g_assert_true (r->complete);
    }
  close (fd);
  g_subprocess_send_signal (proc, SIGTERM);
  g_subprocess_wait (proc, NULL, NULL);
  g_autofree char *rm = g_strdup_printf ("rm -rf %s", dir);
  g_assert_cmpint (system (rm), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  if (g_strcmp0 (g_getenv ("PORTICO_TEST_BACKEND"), "poll") == 0)
    backend = "poll";
  g_autofree char *p = g_strdup_printf ("/proxy/%s", backend);
#define ADD(name, func) \
  do { \
      g_autofree char *path = g_strconcat (p, name, NULL); \
      g_test_add_func (path, func); \
  } while (0)
  ADD ("/forward/echo-fields", test_echo_fields);
  ADD ("/forward/preserve-host-and-paths", test_preserve_host_and_paths);
  ADD ("/forward/response-fields", test_response_fields);
  ADD ("/route/precedence-and-404", test_routing);
  ADD ("/body/chunked-request", test_chunked_request);
  ADD ("/body/response-framing", test_response_framing);
  ADD ("/http/pipelining-and-continue", test_pipelining_and_continue);
  ADD ("/http/absolute-form", test_absolute_form);
  ADD ("/upstream/failures", test_upstream_failures);
  ADD ("/upstream/round-robin", test_round_robin);
  ADD ("/upstream/bad-framing-not-reused", test_bad_upstream_not_reused);
  ADD ("/upstream/nginx", test_nginx_upstream);
#undef ADD
  return g_test_run ();
}
