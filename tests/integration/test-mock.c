/* tests/integration/test-mock.c - `portico mock`, checked with the raw client,
 * and the harness's raw upstream.
 */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "harness.h"
#include "lab/lab.h"

#define ONE_MIB (1024 * 1024)

static PorticoTestResponse *
get (const char *addr, const char *path)
{
  g_autofree char *request = g_strdup_printf ("GET %s HTTP/1.1\r\nHost: mock\r\n\r\n", path);

  return portico_test_request (addr, request);
}

static JsonObject *
body_json (const PorticoTestResponse *resp, JsonParser *parser)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = portico_test_response_body_string (resp);
  JsonNode *root;

  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  root = json_parser_get_root (parser);
  g_assert_nonnull (root);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
  return json_node_get_object (root);
}

static gboolean
body_follows_pattern (GBytes *body)
{
  gsize size = 0, i;
  const char *data = g_bytes_get_data (body, &size);

  for (i = 0; i < size; i++)
    if (data[i] != PORTICO_MOCK_PATTERN[i % PORTICO_MOCK_PATTERN_LEN])
      return FALSE;
  return TRUE;
}

static void
test_default (void)
{
  g_autoptr(PorticoProc) mock = portico_mock_spawn ("--name", "alpha", NULL);
  const char *addr = portico_proc_address (mock, 0);
  g_autoptr(PorticoTestResponse) resp = NULL;
  g_autofree char *body = NULL;

  g_test_summary ("Without options the mock answers any path with 200 and "
                  "\"hello from NAME\", framed by Content-Length.");

  g_assert_true (g_str_has_prefix (addr, "127.0.0.1:"));
  g_assert_cmpuint (portico_proc_n_addresses (mock), ==, 1);
  resp = get (addr, "/any/path?x=1");
  g_assert_nonnull (resp);
  g_assert_cmpint (resp->status, ==, 200);
  g_assert_cmpint (resp->minor_version, ==, 1);
  g_assert_true (resp->complete);
  body = portico_test_response_body_string (resp);
  g_assert_cmpstr (body, ==, "hello from alpha\n");
  g_assert_cmpstr (portico_test_response_header (resp, "Content-Length"), ==, "17");
  g_assert_cmpstr (portico_test_response_header (resp, "content-type"), ==, "text/plain");
  g_assert_cmpint (portico_proc_stop (mock), ==, 0);
}

static void
test_configured (void)
{
  g_autoptr(PorticoProc) mock = portico_mock_spawn ("--status", "503", "--body", "busy",
                                                    "--header", "Retry-After: 7",
                                                    "--header", "X-Two: a: b", NULL);
  const char *addr = portico_proc_address (mock, 0);
  g_autoptr(PorticoTestResponse) resp = get (addr, "/");
  g_autoptr(PorticoTestResponse) head = NULL;
  g_autofree char *body = NULL;

  g_assert_nonnull (resp);
  g_assert_cmpint (resp->status, ==, 503);
  body = portico_test_response_body_string (resp);
  g_assert_cmpstr (body, ==, "busy");
  g_assert_cmpstr (portico_test_response_header (resp, "Retry-After"), ==, "7");
  g_assert_cmpstr (portico_test_response_header (resp, "X-Two"), ==, "a: b");

  head = portico_test_request (addr, "HEAD / HTTP/1.1\r\nHost: mock\r\n\r\n");
  g_assert_nonnull (head);
  g_assert_cmpint (head->status, ==, 503);
  g_assert_cmpstr (portico_test_response_header (head, "Content-Length"), ==, "4");
  g_assert_cmpuint (head->body_length, ==, 0);
  g_assert_cmpint (portico_proc_stop (mock), ==, 0);
}

static void
test_echo_headers (void)
{
  g_autoptr(PorticoProc) mock = portico_mock_spawn (NULL);
  g_autoptr(PorticoTestResponse) resp = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  const char *expected[][2] = {
    { "X-First", "1" }, { "host", "example.test" }, { "ACCEPT", "*/*" },
    { "x-dup", "a" }, { "User-Agent", "harness" }, { "x-dup", "b" },
  };
  JsonObject *echo;
  JsonArray *headers;
  guint i;

  g_test_summary ("/echo reports the request as sent: method, path, query, and "
                  "the headers in the order and spelling the client used.");

  resp = portico_test_request (portico_proc_address (mock, 0),
                               "GET /echo/a/b?q=1&r HTTP/1.1\r\n"
                               "X-First: 1\r\n"
                               "host: example.test\r\n"
                               "ACCEPT: */*\r\n"
                               "x-dup: a\r\n"
                               "User-Agent:   harness  \r\n"
                               "x-dup: b\r\n"
                               "\r\n");
  g_assert_nonnull (resp);
  g_assert_cmpint (resp->status, ==, 200);
  g_assert_cmpstr (portico_test_response_header (resp, "Content-Type"), ==, "application/json");
  echo = body_json (resp, parser);
  g_assert_cmpstr (json_object_get_string_member (echo, "method"), ==, "GET");
  g_assert_cmpstr (json_object_get_string_member (echo, "path"), ==, "/echo/a/b");
  g_assert_cmpstr (json_object_get_string_member (echo, "query"), ==, "q=1&r");
  g_assert_cmpstr (json_object_get_string_member (echo, "http_version"), ==, "HTTP/1.1");
  g_assert_true (json_object_get_boolean_member (echo, "headers_exact"));
  g_assert_cmpint (json_object_get_int_member (echo, "body_bytes"), ==, 0);
  g_assert_true (g_str_has_prefix (json_object_get_string_member (echo, "client"), "127.0.0.1:"));

  headers = json_object_get_array_member (echo, "headers");
  g_assert_cmpuint (json_array_get_length (headers), ==, G_N_ELEMENTS (expected));
  for (i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      JsonArray *pair = json_array_get_array_element (headers, i);

      g_assert_cmpuint (json_array_get_length (pair), ==, 2);
      g_assert_cmpstr (json_array_get_string_element (pair, 0), ==, expected[i][0]);
      g_assert_cmpstr (json_array_get_string_element (pair, 1), ==, expected[i][1]);
    }
  g_assert_cmpint (portico_proc_stop (mock), ==, 0);
}

static void
test_echo_pipelined (void)
{
  g_autoptr(PorticoProc) mock = portico_mock_spawn (NULL);
  const char *names[] = { "X-One", "x-two", "X-Three" };
  int fd = portico_test_connect (portico_proc_address (mock, 0));
  guint i;

  g_test_summary ("Heads stay exact on a keep-alive connection with pipelined "
                  "requests carrying chunked and Content-Length bodies.");

  g_assert_cmpint (fd, >=, 0);
  g_assert_true (portico_test_send_all (fd,
    "POST /echo HTTP/1.1\r\nHost: a\r\nX-One: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
    "5;ext=1\r\nhello\r\n3\r\nabc\r\n0\r\nTrailer-X: t\r\n\r\n"
    "POST /upload/x HTTP/1.1\r\nhost: a\r\nx-two: 2\r\ncontent-length: 3\r\n\r\nxyz"
    "GET /anything HTTP/1.1\r\nHost: a\r\nX-Three: 3\r\nX-Mock-Echo: 1\r\n\r\n", -1));

  for (i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autoptr(PorticoTestResponse) resp = portico_test_read_response (fd, FALSE, 10000);
      g_autoptr(JsonParser) parser = json_parser_new ();
      JsonObject *json;

      g_assert_nonnull (resp);
      g_assert_cmpint (resp->status, ==, 200);
      json = body_json (resp, parser);
      if (i == 1)
        {
          /* /upload answers with the body summary only */
          g_assert_cmpint (json_object_get_int_member (json, "body_bytes"), ==, 3);
          continue;
        }
      g_assert_true (json_object_get_boolean_member (json, "headers_exact"));
      g_assert_cmpstr (json_array_get_string_element (
                         json_array_get_array_element (
                           json_object_get_array_member (json, "headers"), 1), 0),
                       ==, names[i]);
      if (i == 0)
        g_assert_cmpint (json_object_get_int_member (json, "body_bytes"), ==, 8);
    }
  close (fd);
  g_assert_cmpint (portico_proc_stop (mock), ==, 0);
}

static void
test_echo_body (void)
{
  g_autoptr(PorticoProc) mock = portico_mock_spawn (NULL);
  g_autoptr(PorticoTestResponse) resp = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *sha = g_compute_checksum_for_string (G_CHECKSUM_SHA256, "hello body", -1);
  JsonObject *echo;

  resp = portico_test_request (portico_proc_address (mock, 0),
                               "PUT /not-echo HTTP/1.0\r\nX-Mock-Echo: 1\r\n"
                               "Content-Length: 10\r\n\r\nhello body");
  g_assert_nonnull (resp);
  g_assert_cmpint (resp->status, ==, 200);
  g_assert_cmpint (resp->minor_version, ==, 0);
  echo = body_json (resp, parser);
  g_assert_cmpstr (json_object_get_string_member (echo, "method"), ==, "PUT");
  g_assert_cmpstr (json_object_get_string_member (echo, "path"), ==, "/not-echo");
  g_assert_true (json_object_get_null_member (echo, "query"));
  g_assert_cmpstr (json_object_get_string_member (echo, "http_version"), ==, "HTTP/1.0");
  g_assert_cmpint (json_object_get_int_member (echo, "body_bytes"), ==, 10);
  g_assert_cmpstr (json_object_get_string_member (echo, "body_sha256"), ==, sha);
  g_assert_cmpint (portico_proc_stop (mock), ==, 0);
}

static void
test_status (void)
{
  g_autoptr(PorticoProc) mock = portico_mock_spawn (NULL);
  const char *addr = portico_proc_address (mock, 0);
  g_autoptr(PorticoTestResponse) teapot = get (addr, "/status/418");
  g_autoptr(PorticoTestResponse) no_content = get (addr, "/status/204");
  g_autoptr(PorticoTestResponse) bad = get (addr, "/status/abc");

  g_assert_nonnull (teapot);
  g_assert_cmpint (teapot->status, ==, 418);
  g_assert_nonnull (no_content);
  g_assert_cmpint (no_content->status, ==, 204);
  g_assert_cmpuint (no_content->body_length, ==, 0);
  g_assert_nonnull (bad);
  g_assert_cmpint (bad->status, ==, 400);
  g_assert_cmpint (portico_proc_stop (mock), ==, 0);
}

static void
test_chunked (void)
{
  g_autoptr(PorticoProc) mock = portico_mock_spawn ("--chunked", "--body-bytes", "40000", NULL);
  g_autoptr(PorticoTestResponse) resp = get (portico_proc_address (mock, 0), "/");

  g_test_summary ("--chunked streams the body in 16 KiB chunks: 40000 bytes "
                  "make chunks of 16384, 16384 and 7232.");

  g_assert_nonnull (resp);
  g_assert_cmpint (resp->status, ==, 200);
  g_assert_true (resp->chunked);
  g_assert_true (resp->complete);
  g_assert_null (portico_test_response_header (resp, "Content-Length"));
  g_assert_cmpuint (resp->n_chunks, ==, 3);
  g_assert_cmpuint (resp->body_length, ==, 40000);
  g_assert_true (body_follows_pattern (resp->body));
  g_assert_cmpint (portico_proc_stop (mock), ==, 0);
}

static void
test_bytes (void)
{
  g_autoptr(PorticoProc) mock = portico_mock_spawn (NULL);
  const char *addr = portico_proc_address (mock, 0);
  g_autoptr(PorticoTestResponse) small = get (addr, "/bytes/100");
  g_autoptr(PorticoTestResponse) empty = get (addr, "/bytes/0");
  g_autoptr(PorticoTestResponse) large = NULL;
  int fd;

  g_assert_nonnull (small);
  g_assert_cmpuint (small->body_length, ==, 100);
  g_assert_true (body_follows_pattern (small->body));
  g_assert_nonnull (empty);
  g_assert_cmpint (empty->status, ==, 200);
  g_assert_cmpstr (portico_test_response_header (empty, "Content-Length"), ==, "0");

  fd = portico_test_connect (addr);
  g_assert_cmpint (fd, >=, 0);
  g_assert_true (portico_test_send_all (fd, "GET /bytes/50000000 HTTP/1.1\r\nHost: m\r\n\r\n", -1));
  large = portico_test_read_response_flags (fd, PORTICO_TEST_READ_DISCARD_BODY, 60000);
  close (fd);
  g_assert_nonnull (large);
  g_assert_cmpstr (portico_test_response_header (large, "Content-Length"), ==, "50000000");
  g_assert_false (large->chunked);
  g_assert_true (large->complete);
  g_assert_null (large->body);
  g_assert_cmpuint (large->body_length, ==, 50000000);
  g_assert_cmpint (portico_proc_stop (mock), ==, 0);
}

static void
check_upload (const char *addr, gboolean chunked)
{
  g_autofree guint8 *data = g_malloc (ONE_MIB);
  g_autofree char *sha = NULL;
  g_autoptr(PorticoTestResponse) resp = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *json;
  int fd;
  gsize i;

  for (i = 0; i < ONE_MIB; i++)
    data[i] = (guint8) g_test_rand_int_range (0, 256);
  sha = g_compute_checksum_for_data (G_CHECKSUM_SHA256, data, ONE_MIB);

  fd = portico_test_connect (addr);
  g_assert_cmpint (fd, >=, 0);
  if (chunked)
    {
      g_autofree char *size_line = g_strdup_printf ("%x\r\n", ONE_MIB / 2);

      g_assert_true (portico_test_send_all (fd, "POST /upload HTTP/1.1\r\nHost: m\r\n"
                                            "Transfer-Encoding: chunked\r\n\r\n", -1));
      for (i = 0; i < 2; i++)
        {
          g_assert_true (portico_test_send_all (fd, size_line, -1));
          g_assert_true (portico_test_send_all (fd, data + i * (ONE_MIB / 2), ONE_MIB / 2));
          g_assert_true (portico_test_send_all (fd, "\r\n", 2));
        }
      g_assert_true (portico_test_send_all (fd, "0\r\n\r\n", -1));
    }
  else
    {
      g_autofree char *head = g_strdup_printf ("POST /upload HTTP/1.1\r\nHost: m\r\n"
                                               "Content-Length: %d\r\n\r\n", ONE_MIB);

      g_assert_true (portico_test_send_all (fd, head, -1));
      g_assert_true (portico_test_send_all (fd, data, ONE_MIB));
    }
  resp = portico_test_read_response (fd, FALSE, 30000);
  close (fd);

  g_assert_nonnull (resp);
  g_assert_cmpint (resp->status, ==, 200);
  json = body_json (resp, parser);
  g_assert_cmpint (json_object_get_int_member (json, "body_bytes"), ==, ONE_MIB);
  g_assert_cmpstr (json_object_get_string_member (json, "body_sha256"), ==, sha);
}

static void
test_upload (void)
{
  g_autoptr(PorticoProc) mock = portico_mock_spawn (NULL);

  g_test_summary ("/upload counts and hashes a 1 MiB body, sent with "
                  "Content-Length and sent chunked.");

  check_upload (portico_proc_address (mock, 0), FALSE);
  check_upload (portico_proc_address (mock, 0), TRUE);
  g_assert_cmpint (portico_proc_stop (mock), ==, 0);
}

static void
test_latency (void)
{
  g_autoptr(PorticoProc) mock = portico_mock_spawn ("--latency-ms", "200", NULL);
  g_autoptr(PorticoTestResponse) resp = NULL;
  gint64 start = g_get_monotonic_time ();

  resp = get (portico_proc_address (mock, 0), "/");
  g_assert_nonnull (resp);
  g_assert_cmpint (resp->status, ==, 200);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 200 * 1000);
  g_assert_cmpint (portico_proc_stop (mock), ==, 0);
}

static void
test_delay_does_not_block (void)
{
  g_autoptr(PorticoProc) mock = portico_mock_spawn (NULL);
  const char *addr = portico_proc_address (mock, 0);
  g_autoptr(PorticoTestResponse) quick = NULL;
  g_autoptr(PorticoTestResponse) slow = NULL;
  gint64 start = g_get_monotonic_time ();
  int fd = portico_test_connect (addr);

  g_test_summary ("While /delay/MS waits, the mock answers other connections: "
                  "a second request completes while the first is still pending.");

  g_assert_cmpint (fd, >=, 0);
  g_assert_true (portico_test_send_all (fd, "GET /delay/2500 HTTP/1.1\r\nHost: m\r\n\r\n", -1));
  quick = get (addr, "/");
  g_assert_nonnull (quick);
  g_assert_cmpint (quick->status, ==, 200);
  /* The delayed response has not come yet. */
  g_assert_false (portico_test_is_closed (fd, 0));
  {
    char c;

    g_assert_cmpint (recv (fd, &c, 1, MSG_PEEK | MSG_DONTWAIT), ==, -1);
  }
  slow = portico_test_read_response (fd, FALSE, 10000);
  close (fd);
  g_assert_nonnull (slow);
  g_assert_cmpint (slow->status, ==, 200);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 2500 * 1000);
  g_assert_cmpint (portico_proc_stop (mock), ==, 0);
}

static void
test_fail_ratio (void)
{
  g_autoptr(PorticoProc) mock = portico_mock_spawn ("--fail-ratio", "0.5", NULL);
  const int expected[] = { 200, 500, 200, 500, 200, 500 };
  guint i;

  g_test_summary ("--fail-ratio 0.5 fails exactly every second request.");

  for (i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_autoptr(PorticoTestResponse) resp = get (portico_proc_address (mock, 0), "/");

      g_assert_nonnull (resp);
      g_assert_cmpint (resp->status, ==, expected[i]);
    }
  g_assert_cmpint (portico_proc_stop (mock), ==, 0);
}

static void
test_close_mid_body (void)
{
  g_autoptr(PorticoProc) mock = portico_mock_spawn ("--close-mid-body", "--body-bytes", "100000",
                                                    NULL);
  g_autoptr(PorticoTestResponse) resp = get (portico_proc_address (mock, 0), "/");
  g_autoptr(PorticoTestResponse) after = NULL;

  g_test_summary ("--close-mid-body announces the whole Content-Length and "
                  "closes after half the body.");

  g_assert_nonnull (resp);
  g_assert_cmpint (resp->status, ==, 200);
  g_assert_cmpstr (portico_test_response_header (resp, "Content-Length"), ==, "100000");
  g_assert_false (resp->complete);
  g_assert_true (resp->closed);
  g_assert_cmpuint (resp->body_length, ==, 50000);
  g_assert_true (body_follows_pattern (resp->body));

  /* The mock keeps serving after a cut. */
  after = get (portico_proc_address (mock, 0), "/status/201");
  g_assert_nonnull (after);
  g_assert_cmpint (after->status, ==, 201);
  g_assert_cmpint (portico_proc_stop (mock), ==, 0);
}

static void
test_stats (void)
{
  g_autoptr(PorticoProc) mock = portico_mock_spawn (NULL);
  const char *addr = portico_proc_address (mock, 0);
  g_autoptr(PorticoTestResponse) stats = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *json;
  int fd;
  guint i;

  g_test_summary ("/__mock/stats counts requests (not its own) and accepted "
                  "connections (its own included): three keep-alive requests on "
                  "one connection and one on another make 4 requests, 3 connections.");

  fd = portico_test_connect (addr);
  g_assert_cmpint (fd, >=, 0);
  for (i = 0; i < 3; i++)
    {
      g_autoptr(PorticoTestResponse) resp = NULL;

      g_assert_true (portico_test_send_all (fd, "GET / HTTP/1.1\r\nHost: m\r\n\r\n", -1));
      resp = portico_test_read_response (fd, FALSE, 10000);
      g_assert_nonnull (resp);
      g_assert_cmpint (resp->status, ==, 200);
    }
  g_assert_false (portico_test_is_closed (fd, 50));
  close (fd);
  {
    g_autoptr(PorticoTestResponse) resp = get (addr, "/other");

    g_assert_nonnull (resp);
  }

  stats = get (addr, "/__mock/stats");
  g_assert_nonnull (stats);
  g_assert_cmpint (stats->status, ==, 200);
  json = body_json (stats, parser);
  g_assert_cmpint (json_object_get_int_member (json, "requests"), ==, 4);
  g_assert_cmpint (json_object_get_int_member (json, "connections"), ==, 3);
  g_assert_cmpint (portico_proc_stop (mock), ==, 0);
}

static void
test_bad_args (void)
{
  const char *cases[][3] = {
    { "--status", "abc", "--status" },
    { "--status", "99", "--status" },
    { "--fail-ratio", "1.5", "--fail-ratio" },
    { "--header", "no-colon", "--header" },
    { "--header", "Content-Length: 3", "--header" },
    { "--listen", "10.1.2.3:80", "--listen" },
    { "--listen", "nonsense", "--listen" },
    { "--body-bytes", "-1", "--body-bytes" },
    { "--latency-ms", "-5", "--latency-ms" },
    { "--no-such-option", NULL, "--no-such-option" },
  };
  guint i;

  g_test_summary ("Bad arguments make the mock exit 2 with a message naming the option.");

  for (i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const char *argv[] = { portico_test_binary (), "mock", cases[i][0], cases[i][1], NULL };
      g_autofree char *out = NULL;
      g_autofree char *err = NULL;
      g_autoptr(GError) error = NULL;
      int status = portico_run_sync (argv, 10000, &out, &err, &error);

      g_assert_no_error (error);
      g_test_message ("%s %s -> %d: %s", cases[i][0], cases[i][1] ? cases[i][1] : "", status, err);
      g_assert_cmpint (status, ==, 2);
      g_assert_nonnull (strstr (err, cases[i][2]));
      g_assert_cmpstr (out, ==, "");
    }

  {
    const char *argv[] = { portico_test_binary (), "mock", "--body", "x", "--body-bytes", "3", NULL };
    g_autofree char *err = NULL;

    g_assert_cmpint (portico_run_sync (argv, 10000, NULL, &err, NULL), ==, 2);
    g_assert_nonnull (strstr (err, "--body"));
  }
}

static void
test_raw_server (void)
{
  g_autoptr(PorticoRawServer) raw = portico_raw_server_new ("HTTP/1.1 200 OK\r\n"
                                                            "Content-Length: 5\r\n\r\nhello",
                                                            TRUE);
  g_autoptr(PorticoTestResponse) resp = NULL;
  g_autofree char *last = NULL;
  int fd;

  g_test_summary ("The raw upstream reads a head, writes its bytes verbatim and "
                  "closes; it counts connections and keeps the last head.");

  resp = portico_test_request (portico_raw_server_address (raw),
                               "GET /raw HTTP/1.1\r\nHost: r\r\n\r\n");
  g_assert_nonnull (resp);
  g_assert_cmpint (resp->status, ==, 200);
  g_assert_cmpuint (resp->body_length, ==, 5);
  g_assert_cmpuint (portico_raw_server_connections (raw), ==, 1);
  last = portico_raw_server_last_request (raw);
  g_assert_cmpstr (last, ==, "GET /raw HTTP/1.1\r\nHost: r\r\n\r\n");

  fd = portico_test_connect (portico_raw_server_address (raw));
  g_assert_cmpint (fd, >=, 0);
  g_assert_true (portico_test_send_all (fd, "GET / HTTP/1.1\r\n\r\n", -1));
  {
    g_autoptr(GBytes) all = portico_test_read_until_close (fd, 10000);

    g_assert_nonnull (all);
    g_assert_cmpuint (g_bytes_get_size (all), ==, strlen ("HTTP/1.1 200 OK\r\n"
                                                          "Content-Length: 5\r\n\r\nhello"));
  }
  close (fd);
  g_assert_cmpuint (portico_raw_server_connections (raw), ==, 2);
}

static void
test_raw_server_keep_open (void)
{
  g_autoptr(PorticoRawServer) raw = portico_raw_server_new ("HTTP/1.1 200 OK\r\n"
                                                            "Content-Length: 10\r\n\r\nhal",
                                                            FALSE);
  g_autoptr(PorticoTestResponse) resp = NULL;
  int fd = portico_test_connect (portico_raw_server_address (raw));

  g_test_summary ("A raw upstream that keeps the connection open makes a short "
                  "body time out, not end.");

  g_assert_cmpint (fd, >=, 0);
  g_assert_true (portico_test_send_all (fd, "GET / HTTP/1.1\r\nHost: r\r\n\r\n", -1));
  resp = portico_test_read_response (fd, FALSE, 300);
  g_assert_nonnull (resp);
  g_assert_false (resp->complete);
  g_assert_false (resp->closed);
  g_assert_cmpuint (resp->body_length, ==, 3);
  g_assert_false (portico_test_is_closed (fd, 100));
  close (fd);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/mock/default", test_default);
  g_test_add_func ("/mock/configured", test_configured);
  g_test_add_func ("/mock/echo/headers", test_echo_headers);
  g_test_add_func ("/mock/echo/pipelined", test_echo_pipelined);
  g_test_add_func ("/mock/echo/body", test_echo_body);
  g_test_add_func ("/mock/status", test_status);
  g_test_add_func ("/mock/chunked", test_chunked);
  g_test_add_func ("/mock/bytes", test_bytes);
  g_test_add_func ("/mock/upload", test_upload);
  g_test_add_func ("/mock/latency", test_latency);
  g_test_add_func ("/mock/delay/does-not-block", test_delay_does_not_block);
  g_test_add_func ("/mock/fail-ratio", test_fail_ratio);
  g_test_add_func ("/mock/close-mid-body", test_close_mid_body);
  g_test_add_func ("/mock/stats", test_stats);
  g_test_add_func ("/mock/bad-args", test_bad_args);
  g_test_add_func ("/harness/raw-server/close", test_raw_server);
  g_test_add_func ("/harness/raw-server/keep-open", test_raw_server_keep_open);

  return g_test_run ();
}
