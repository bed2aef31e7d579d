/* tests/integration/test-mock.c - `portico mock`, checked with the raw client,
 * its control API (GET/POST /state), and the harness's raw upstream.
 */
#include <signal.h>
#include <stdlib.h>
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

/* ------------------------------------------------------------------------ */
/* The control API */

/* The mock's control address, from its "control ADDR" line. */
static char *
control_of (PorticoProc *mock)
{
  g_autofree char *line = portico_proc_wait_line (mock, "control ", PORTICO_TEST_LISTEN_TIMEOUT_MS);

  g_assert_nonnull (line);
  return g_strdup (line + strlen ("control "));
}

static PorticoTestResponse *
control_post (const char *control, const char *json)
{
  g_autofree char *request = g_strdup_printf ("POST /state HTTP/1.1\r\nHost: c\r\n"
                                              "Content-Type: application/json\r\n"
                                              "Content-Length: %zu\r\n\r\n%s",
                                              strlen (json), json);

  return portico_test_request (control, request);
}

/* POSTs @json, which must be accepted. */
static void
control_set (const char *control, const char *json)
{
  g_autoptr(PorticoTestResponse) resp = control_post (control, json);
  g_autofree char *body = NULL;

  g_assert_nonnull (resp);
  body = portico_test_response_body_string (resp);
  g_test_message ("POST /state %s -> %d %s", json, resp->status, body);
  g_assert_cmpint (resp->status, ==, 200);
}

/* GET @path on @addr as a JSON object, owned by @parser. */
static JsonObject *
get_json (const char *addr, const char *path, JsonParser *parser)
{
  g_autoptr(PorticoTestResponse) resp = get (addr, path);

  g_assert_nonnull (resp);
  g_assert_cmpint (resp->status, ==, 200);
  return body_json (resp, parser);
}

/* Polls GET @path on @addr (for up to 2 s) until its member @key is @want.
 * Returns the last value seen. */
static gint64
wait_for_count (const char *addr, const char *path, const char *key, gint64 want)
{
  gint64 seen = -1;
  guint i;

  for (i = 0; i < 100 && seen != want; i++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();

      if (i > 0)
        g_usleep (20 * 1000);
      seen = json_object_get_int_member (get_json (addr, path, parser), key);
    }
  return seen;
}

static gint64
count_of (JsonObject *state, const char *status)
{
  JsonObject *by_status = json_object_get_object_member (state, "by_status");

  return json_object_has_member (by_status, status)
         ? json_object_get_int_member (by_status, status) : 0;
}

/* Whether a TCP connect to @addr ("127.0.0.1:PORT") is refused, not merely
 * failing. */
static gboolean
connect_refused (const char *addr)
{
  const char *colon = strrchr (addr, ':');
  g_autofree char *host = g_strndup (addr, colon - addr);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new_from_string (host, atoi (colon + 1));
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_nonnull (address);
  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_socket_set_timeout (socket, 5);
  if (g_socket_connect (socket, address, NULL, &error))
    return FALSE;
  g_test_message ("connect %s: %s", addr, error->message);
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
}

static void
test_control_line (void)
{
  const char *argv[] = { portico_test_binary (), "mock", "--listen", "127.0.0.1:0",
                         "--control", "127.0.0.1:0", "--name", "ctl", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) proc = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
  g_autoptr(GDataInputStream) out = NULL;
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *state, *settings;

  g_test_summary ("The mock prints \"listening ADDR\" and then, on the next line, "
                  "\"control ADDR\"; GET /state there reports the service's address, "
                  "its settings and its counters.");

  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (proc));
  first = g_data_input_stream_read_line_utf8 (out, NULL, NULL, &error);
  g_assert_no_error (error);
  second = g_data_input_stream_read_line_utf8 (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (first);
  g_assert_nonnull (second);
  g_assert_true (g_str_has_prefix (first, "listening 127.0.0.1:"));
  g_assert_true (g_str_has_prefix (second, "control 127.0.0.1:"));
  g_assert_cmpstr (first + strlen ("listening "), !=, second + strlen ("control "));

  state = get_json (second + strlen ("control "), "/state", parser);
  g_assert_cmpstr (json_object_get_string_member (state, "name"), ==, "ctl");
  g_assert_cmpstr (json_object_get_string_member (state, "listen"), ==, first + strlen ("listening "));
  g_assert_cmpstr (json_object_get_string_member (state, "control"), ==, second + strlen ("control "));
  settings = json_object_get_object_member (state, "settings");
  g_assert_false (json_object_get_boolean_member (settings, "down"));
  g_assert_cmpint (json_object_get_int_member (settings, "status"), ==, 200);
  g_assert_cmpint (json_object_get_int_member (settings, "latency_ms"), ==, 0);
  g_assert_true (json_object_get_null_member (settings, "body_bytes"));
  g_assert_cmpint (json_object_get_int_member (state, "requests"), ==, 0);

  g_subprocess_send_signal (proc, SIGTERM);
  g_assert_true (g_subprocess_wait (proc, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_subprocess_get_exit_status (proc), ==, 0);
}

static void
test_control_down_up (void)
{
  g_autoptr(PorticoProc) mock = portico_mock_spawn (NULL);
  const char *addr = portico_proc_address (mock, 0);
  g_autofree char *control = control_of (mock);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(PorticoTestResponse) first = NULL;
  g_autoptr(PorticoTestResponse) slow = NULL;
  g_autoptr(PorticoTestResponse) again = NULL;
  JsonObject *state;
  int idle, busy;

  g_test_summary ("\"down\": true closes the listener (connects are refused) and the idle "
                  "keep-alive connections, while a request in flight still gets its answer, "
                  "with \"Connection: close\"; \"down\": false listens again on the same port.");

  idle = portico_test_connect (addr);
  g_assert_cmpint (idle, >=, 0);
  g_assert_true (portico_test_send_all (idle, "GET / HTTP/1.1\r\nHost: m\r\n\r\n", -1));
  first = portico_test_read_response (idle, FALSE, 10000);
  g_assert_nonnull (first);
  g_assert_cmpint (first->status, ==, 200);
  g_assert_false (portico_test_is_closed (idle, 50));

  busy = portico_test_connect (addr);
  g_assert_cmpint (busy, >=, 0);
  g_assert_true (portico_test_send_all (busy, "GET /delay/700 HTTP/1.1\r\nHost: m\r\n\r\n", -1));
  /* The delayed request must have arrived before the service goes down. */
  g_assert_cmpint (wait_for_count (control, "/state", "requests", 2), ==, 2);

  control_set (control, "{\"down\": true}");
  g_assert_true (portico_test_is_closed (idle, 5000));
  g_assert_true (connect_refused (addr));

  slow = portico_test_read_response (busy, FALSE, 10000);
  g_assert_nonnull (slow);
  g_assert_cmpint (slow->status, ==, 200);
  g_assert_cmpstr (portico_test_response_header (slow, "Connection"), ==, "close");
  g_assert_true (portico_test_is_closed (busy, 5000));
  close (idle);
  close (busy);

  state = get_json (control, "/state", parser);
  g_assert_true (json_object_get_boolean_member (json_object_get_object_member (state, "settings"),
                                                 "down"));
  g_assert_cmpint (json_object_get_int_member (state, "open_connections"), ==, 0);
  g_assert_cmpstr (json_object_get_string_member (state, "listen"), ==, addr);

  control_set (control, "{\"down\": false}");
  again = get (addr, "/");
  g_assert_nonnull (again);
  g_assert_cmpint (again->status, ==, 200);
  g_assert_cmpint (portico_proc_stop (mock), ==, 0);
}

static void
test_control_latency (void)
{
  g_autoptr(PorticoProc) mock = portico_mock_spawn ("--latency-ms", "1500", NULL);
  const char *addr = portico_proc_address (mock, 0);
  g_autofree char *control = control_of (mock);
  g_autoptr(PorticoTestResponse) quick = NULL;
  g_autoptr(PorticoTestResponse) early = NULL;
  g_autoptr(PorticoTestResponse) slowed = NULL;
  gint64 start;
  char c;
  int fd;

  g_test_summary ("A latency change applies to requests that arrive after it: one sent "
                  "under 1500 ms stays pending while one sent after \"latency_ms\": 0 is "
                  "answered; then \"latency_ms\": 300 makes a response take at least 300 ms.");

  fd = portico_test_connect (addr);
  g_assert_cmpint (fd, >=, 0);
  g_assert_true (portico_test_send_all (fd, "GET / HTTP/1.1\r\nHost: m\r\n\r\n", -1));
  /* /__mock/stats is never delayed: once it counts the request, it arrived. */
  g_assert_cmpint (wait_for_count (addr, "/__mock/stats", "requests", 1), ==, 1);

  control_set (control, "{\"latency_ms\": 0}");
  quick = get (addr, "/");
  g_assert_nonnull (quick);
  g_assert_cmpint (quick->status, ==, 200);
  g_assert_cmpint (recv (fd, &c, 1, MSG_PEEK | MSG_DONTWAIT), ==, -1);
  early = portico_test_read_response (fd, FALSE, 10000);
  close (fd);
  g_assert_nonnull (early);
  g_assert_cmpint (early->status, ==, 200);

  control_set (control, "{\"latency_ms\": 300}");
  start = g_get_monotonic_time ();
  slowed = get (addr, "/");
  g_assert_nonnull (slowed);
  g_assert_cmpint (slowed->status, ==, 200);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 300 * 1000);
  g_assert_cmpint (portico_proc_stop (mock), ==, 0);
}

static void
test_control_status (void)
{
  g_autoptr(PorticoProc) mock = portico_mock_spawn (NULL);
  const char *addr = portico_proc_address (mock, 0);
  g_autofree char *control = control_of (mock);
  g_autoptr(PorticoTestResponse) before = get (addr, "/");
  g_autoptr(PorticoTestResponse) after = NULL;
  g_autoptr(PorticoTestResponse) special = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *state;

  g_test_summary ("\"status\" changes the default response's status, not /status/N's; "
                  "the counters count responses by status.");

  g_assert_nonnull (before);
  g_assert_cmpint (before->status, ==, 200);
  control_set (control, "{\"status\": 503}");
  after = get (addr, "/orders");
  g_assert_nonnull (after);
  g_assert_cmpint (after->status, ==, 503);
  special = get (addr, "/status/201");
  g_assert_nonnull (special);
  g_assert_cmpint (special->status, ==, 201);

  state = get_json (addr, "/__mock/stats", parser);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (state, "settings"),
                                              "status"), ==, 503);
  g_assert_cmpint (json_object_get_int_member (state, "requests"), ==, 3);
  g_assert_cmpint (count_of (state, "200"), ==, 1);
  g_assert_cmpint (count_of (state, "503"), ==, 1);
  g_assert_cmpint (count_of (state, "201"), ==, 1);
  g_assert_cmpint (portico_proc_stop (mock), ==, 0);
}

static void
test_control_fail_ratio (void)
{
  g_autoptr(PorticoProc) mock = portico_mock_spawn (NULL);
  const char *addr = portico_proc_address (mock, 0);
  g_autofree char *control = control_of (mock);
  const int half[] = { 200, 500, 200, 500 };
  g_autoptr(JsonParser) parser = json_parser_new ();
  guint i;

  g_test_summary ("\"fail_ratio\": 1 answers every request 500; 0.5 fails every second "
                  "request counted from the change; 0 fails none.");

  /* An odd count, so that counting 0.5 from the start would fail the next one. */
  control_set (control, "{\"fail_ratio\": 1}");
  for (i = 0; i < 9; i++)
    {
      g_autoptr(PorticoTestResponse) resp = get (addr, i % 2 ? "/echo" : "/");

      g_assert_nonnull (resp);
      g_assert_cmpint (resp->status, ==, 500);
    }
  control_set (control, "{\"fail_ratio\": 0.5}");
  for (i = 0; i < G_N_ELEMENTS (half); i++)
    {
      g_autoptr(PorticoTestResponse) resp = get (addr, "/");

      g_assert_nonnull (resp);
      g_assert_cmpint (resp->status, ==, half[i]);
    }
  control_set (control, "{\"fail_ratio\": 0}");
  for (i = 0; i < 3; i++)
    {
      g_autoptr(PorticoTestResponse) resp = get (addr, "/");

      g_assert_nonnull (resp);
      g_assert_cmpint (resp->status, ==, 200);
    }
  g_assert_cmpint (count_of (get_json (control, "/state", parser), "500"), ==, 11);
  g_assert_cmpint (portico_proc_stop (mock), ==, 0);
}

static void
test_control_body (void)
{
  g_autoptr(PorticoProc) mock = portico_mock_spawn (NULL);
  const char *addr = portico_proc_address (mock, 0);
  g_autofree char *control = control_of (mock);
  g_autoptr(PorticoTestResponse) sized = NULL;
  g_autoptr(PorticoTestResponse) cut = NULL;
  g_autoptr(PorticoTestResponse) whole = NULL;

  g_test_summary ("\"body_bytes\" switches the default body to N pattern bytes; "
                  "\"close_mid_body\" cuts it after half, and false restores it.");

  control_set (control, "{\"body_bytes\": 1000}");
  sized = get (addr, "/");
  g_assert_nonnull (sized);
  g_assert_cmpuint (sized->body_length, ==, 1000);
  g_assert_true (body_follows_pattern (sized->body));

  control_set (control, "{\"close_mid_body\": true, \"body_bytes\": 40000}");
  cut = get (addr, "/");
  g_assert_nonnull (cut);
  g_assert_cmpstr (portico_test_response_header (cut, "Content-Length"), ==, "40000");
  g_assert_false (cut->complete);
  g_assert_true (cut->closed);
  g_assert_cmpuint (cut->body_length, ==, 20000);
  g_assert_true (body_follows_pattern (cut->body));

  control_set (control, "{\"close_mid_body\": false}");
  whole = get (addr, "/");
  g_assert_nonnull (whole);
  g_assert_true (whole->complete);
  g_assert_cmpuint (whole->body_length, ==, 40000);
  g_assert_cmpint (portico_proc_stop (mock), ==, 0);
}

static void
test_control_bad (void)
{
  g_autoptr(PorticoProc) mock = portico_mock_spawn (NULL);
  g_autofree char *control = control_of (mock);
  const char *cases[][2] = {
    { "{\"latency_ms\": \"slow\"}", "latency_ms: must be an integer" },
    { "{\"latency_ms\": -1}", "latency_ms: must be an integer between 0 and" },
    { "{\"latency_ms\": 600001}", "latency_ms:" },
    { "{\"status\": 99}", "status: must be an integer between 200 and 599" },
    { "{\"status\": 200.5}", "status:" },
    { "{\"fail_ratio\": 1.5}", "fail_ratio: must be a number between 0 and 1" },
    { "{\"fail_ratio\": \"half\"}", "fail_ratio:" },
    { "{\"down\": \"yes\"}", "down: must be true or false" },
    { "{\"close_mid_body\": 1}", "close_mid_body: must be true or false" },
    { "{\"body_bytes\": -5}", "body_bytes: must be an integer between 0" },
    { "{\"colour\": \"red\"}", "colour: unknown key" },
    { "{\"stauts\": 503}", "stauts: unknown key" },
    { "{\"status\": 503, \"latency_ms\": \"x\"}", "latency_ms:" },
    { "[1, 2]", "must be an object" },
    { "not json", "" },
    { "", "" },
  };
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *settings;
  guint i;

  g_test_summary ("A bad POST /state body is answered 400 with a message naming the key "
                  "and what it expects, and changes nothing, not even its valid keys.");

  for (i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(PorticoTestResponse) resp = control_post (control, cases[i][0]);
      g_autofree char *body = NULL;

      g_assert_nonnull (resp);
      body = portico_test_response_body_string (resp);
      g_test_message ("%s -> %d %s", cases[i][0], resp->status, body);
      g_assert_cmpint (resp->status, ==, 400);
      g_assert_nonnull (strstr (body, cases[i][1]));
    }

  settings = json_object_get_object_member (get_json (control, "/state", parser), "settings");
  g_assert_cmpint (json_object_get_int_member (settings, "status"), ==, 200);
  g_assert_cmpint (json_object_get_int_member (settings, "latency_ms"), ==, 0);

  {
    g_autoptr(PorticoTestResponse) other = get (control, "/nope");
    g_autoptr(PorticoTestResponse) put = portico_test_request (control, "PUT /state HTTP/1.1\r\n"
                                                               "Host: c\r\nContent-Length: 2\r\n\r\n{}");

    g_assert_nonnull (other);
    g_assert_cmpint (other->status, ==, 404);
    g_assert_nonnull (put);
    g_assert_cmpint (put->status, ==, 405);
  }
  g_assert_cmpint (portico_proc_stop (mock), ==, 0);
}

static guint
count_fds (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/fd", (int) pid);
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir))
    n++;
  return n;
}

static void
test_client_closes (void)
{
  g_autoptr(PorticoProc) mock = portico_mock_spawn (NULL);
  const char *addr = portico_proc_address (mock, 0);
  g_autofree char *control = control_of (mock);
  guint before, after, i;

  g_test_summary ("When clients close or reset their idle keep-alive connections, the "
                  "mock closes its side: 10 closed and 10 reset connections leave no descriptor "
                  "behind (SoupServer 3.2 alone would keep all 20) and open_connections "
                  "returns to 0.");

  before = count_fds (portico_proc_pid (mock));
  for (i = 0; i < 20; i++)
    {
      g_autoptr(PorticoTestResponse) resp = NULL;
      struct linger reset = { .l_onoff = 1, .l_linger = 0 };
      int fd = portico_test_connect (addr);

      g_assert_cmpint (fd, >=, 0);
      g_assert_true (portico_test_send_all (fd, "GET / HTTP/1.1\r\nHost: m\r\n\r\n", -1));
      resp = portico_test_read_response (fd, FALSE, 10000);
      g_assert_nonnull (resp);
      g_assert_cmpint (resp->status, ==, 200);
      /* An abortive close: the peer gets a reset, not an end of stream. */
      if (i % 2)
        g_assert_cmpint (setsockopt (fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset), ==, 0);
      close (fd);
    }
  g_assert_cmpint (wait_for_count (control, "/state", "open_connections", 0), ==, 0);
  after = count_fds (portico_proc_pid (mock));
  g_test_message ("descriptors: %u before, %u after", before, after);
  g_assert_cmpuint (after, <, before + 5);
  g_assert_cmpint (portico_proc_stop (mock), ==, 0);
}

static const char gateway_config[] =
  "{\"_format_version\":\"1\",\"node\":{\"listen\":[\"127.0.0.1:0\"],\"admin_listen\":\"off\","
  "\"workers\":1},\"services\":[{\"name\":\"s\",\"url\":\"http://@UPSTREAM@\","
  "\"routes\":[{\"paths\":[\"/\"]}]}]}";

static void
test_control_gateway (void)
{
  g_autoptr(PorticoProc) mock = portico_mock_spawn (NULL);
  g_autofree char *control = control_of (mock);
  g_autoptr(PorticoProc) gw = NULL;
  g_autoptr(GError) error = NULL;
  const char *addr;
  guint i;

  g_test_summary ("A gateway in front of a mock that goes down answers 502 (the "
                  "upstream refuses), and 200 again as soon as the mock is back up.");

  gw = portico_gateway_spawn_with (gateway_config, "@UPSTREAM@", portico_proc_address (mock, 0),
                                   NULL, &error);
  g_assert_no_error (error);
  addr = portico_proc_address (gw, 0);
  g_assert_nonnull (addr);
  {
    g_autoptr(PorticoTestResponse) resp = get (addr, "/a");

    g_assert_nonnull (resp);
    g_assert_cmpint (resp->status, ==, 200);
  }

  control_set (control, "{\"down\": true}");
  for (i = 0; i < 3; i++)
    {
      g_autoptr(PorticoTestResponse) resp = get (addr, "/b");

      g_assert_nonnull (resp);
      g_assert_cmpint (resp->status, ==, 502);
    }

  control_set (control, "{\"down\": false}");
  for (i = 0; i < 3; i++)
    {
      g_autoptr(PorticoTestResponse) resp = get (addr, "/c");
      g_autofree char *body = NULL;

      g_assert_nonnull (resp);
      g_assert_cmpint (resp->status, ==, 200);
      body = portico_test_response_body_string (resp);
      g_assert_cmpstr (body, ==, "hello from mock\n");
    }
  g_assert_cmpint (portico_proc_stop (gw), ==, 0);
  g_assert_cmpint (portico_proc_stop (mock), ==, 0);
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
  g_test_add_func ("/mock/control/line", test_control_line);
  g_test_add_func ("/mock/control/down-up", test_control_down_up);
  g_test_add_func ("/mock/control/latency", test_control_latency);
  g_test_add_func ("/mock/control/status", test_control_status);
  g_test_add_func ("/mock/control/fail-ratio", test_control_fail_ratio);
  g_test_add_func ("/mock/control/body", test_control_body);
  g_test_add_func ("/mock/control/bad", test_control_bad);
  g_test_add_func ("/mock/control/gateway", test_control_gateway);
  g_test_add_func ("/mock/connections/client-closes", test_client_closes);
  g_test_add_func ("/harness/raw-server/close", test_raw_server);
  g_test_add_func ("/harness/raw-server/keep-open", test_raw_server_keep_open);

  return g_test_run ();
}
