/* tests/integration/test-traffic.c - the lab's load generator against
 * `portico mock`, a gateway in front of it (also over TLS, with
 * certificates made at test time), and the harness's raw servers: what it
 * counts must match what the other side saw.
 */
#include <math.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "harness.h"
#include "harness-pki.h"
#include "lab/traffic.h"

/* No run here should take more than a few seconds; past this it has hung. */
#define RUN_BOUND_MS 30000

typedef struct
{
  PorticoLoop *loop;
  PorticoTrafficSpec spec;
  PorticoTraffic *t;
} Fixture;

/* Back to an empty spec (keep-alive, 5 s timeout) for the next run. */
static void
fixture_reset (Fixture *f)
{
  g_clear_pointer (&f->t, portico_traffic_free);
  portico_traffic_spec_clear (&f->spec);
  f->spec.keepalive = TRUE;
  f->spec.timeout_ms = 5000;
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->loop = portico_loop_new (NULL, PORTICO_EVENT_BACKEND_EPOLL);
  fixture_reset (f);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  portico_traffic_free (f->t);
  portico_traffic_spec_clear (&f->spec);
  portico_loop_free (f->loop);
}

static void
on_done (PorticoTraffic *t, gpointer data)
{
  (*(int *) data)++;
}

static gboolean
on_wake (gpointer data)
{
  return G_SOURCE_CONTINUE; /* only makes the loop look at the clock */
}

/* Runs f->spec to its end and returns the figures. */
static const PorticoTrafficResult *
run (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  int done = 0;
  f->t = portico_traffic_new (f->loop, &f->spec, &error);
  g_assert_no_error (error);
  g_assert_nonnull (f->t);
  portico_traffic_set_done_func (f->t, on_done, &done);
  guint wake = g_timeout_add (100, on_wake, NULL);
  gint64 end = g_get_monotonic_time () + RUN_BOUND_MS * 1000;
  portico_traffic_start (f->t);
  while (done == 0 && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  /* A few more turns: the done function must not come twice. */
  for (int i = 0; i < 3; i++)
    g_main_context_iteration (NULL, FALSE);
  g_source_remove (wake);
  g_assert_cmpint (done, ==, 1);
  g_assert_true (portico_traffic_is_done (f->t));
  return portico_traffic_result (f->t);
}

static void
set_target (Fixture *f, const char *address, const char *path)
{
  f->spec.address = g_strdup (address);
  f->spec.path = g_strdup (path);
}

/* A closed loop of @concurrency connections for @count requests (or,
 * with @count 0, for f->spec.duration_ms). */
static const PorticoTrafficResult *
run_closed (Fixture *f, const char *address, const char *path, guint concurrency, guint64 count)
{
  set_target (f, address, path);
  f->spec.concurrency = concurrency;
  f->spec.count = count;
  return run (f);
}

static guint64
status_count (const PorticoTrafficResult *r, int code)
{
  guint64 *n = g_hash_table_lookup (r->status, GINT_TO_POINTER (code));
  return n ? *n : 0;
}

static guint64
errors_total (const PorticoTrafficResult *r)
{
  guint64 n = 0;
  for (int e = 0; e < PORTICO_TRAFFIC_N_ERRORS; e++)
    n += r->errors[e];
  return n;
}

/* Sums a field of every second (by its offset in PorticoTrafficSecond). */
static guint64
seconds_sum (const PorticoTrafficResult *r, gsize offset)
{
  guint64 n = 0;
  for (guint i = 0; i < r->seconds->len; i++)
    n += *(const guint64 *) (const void *) ((const char *) &g_array_index (r->seconds, PorticoTrafficSecond, i) +
                                            offset);
  return n;
}

/* The mock's /__mock/stats: requests it answered (not its own) and
 * connections it accepted (the stats one included). */
static void
mock_stats (PorticoProc *mock, gint64 *requests, gint64 *connections)
{
  g_autoptr(PorticoTestResponse) resp =
    portico_test_request (portico_proc_address (mock, 0), "GET /__mock/stats HTTP/1.1\r\nHost: m\r\n\r\n");
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  g_assert_nonnull (resp);
  g_assert_cmpint (resp->status, ==, 200);
  text = portico_test_response_body_string (resp);
  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  JsonObject *o = json_node_get_object (json_parser_get_root (parser));
  *requests = json_object_get_int_member (o, "requests");
  *connections = json_object_get_int_member (o, "connections");
}

static void
assert_clean (const PorticoTrafficResult *r)
{
  g_assert_cmpuint (errors_total (r), ==, 0);
  g_assert_cmpuint (r->completed, ==, r->started);
  g_assert_cmpuint (seconds_sum (r, G_STRUCT_OFFSET (PorticoTrafficSecond, completed)), ==, r->completed);
  g_assert_cmpuint (seconds_sum (r, G_STRUCT_OFFSET (PorticoTrafficSecond, started)), ==, r->started);
}

static void
test_closed_count (Fixture *f, gconstpointer data)
{
  g_autoptr(PorticoProc) mock = portico_mock_spawn (NULL);
  gint64 requests, connections;

  g_test_summary ("A closed loop of 8 keep-alive connections stopped after 2000 requests sends exactly "
                  "2000, on 8 connections, as the mock counts them too; latency figures are ordered.");
  const PorticoTrafficResult *r = run_closed (f, portico_proc_address (mock, 0), "/", 8, 2000);
  assert_clean (r);
  g_assert_cmpuint (r->started, ==, 2000);
  g_assert_cmpuint (status_count (r, 200), ==, 2000);
  g_assert_cmpuint (seconds_sum (r, G_STRUCT_OFFSET (PorticoTrafficSecond, status[2])), ==, 2000);
  g_assert_cmpuint (r->connections_opened, ==, 8);
  mock_stats (mock, &requests, &connections);
  g_assert_cmpint (requests, ==, 2000);
  g_assert_cmpint (connections, ==, 8 + 1);
  g_assert_cmpfloat (r->p50_ms, >, 0);
  g_assert_cmpfloat (r->p50_ms, <=, r->p90_ms);
  g_assert_cmpfloat (r->p90_ms, <=, r->p99_ms);
  g_assert_cmpfloat (r->p99_ms, <=, r->p999_ms);
  g_assert_cmpfloat (r->p999_ms, <=, r->max_ms);
  g_assert_cmpfloat (r->mean_ms, <=, r->max_ms);
  g_assert_cmpuint (r->bytes_received, >, 2000 * strlen ("hello from mock\n"));
}

static void
test_closed_duration (Fixture *f, gconstpointer data)
{
  g_autoptr(PorticoProc) mock = portico_mock_spawn (NULL);
  gint64 requests, connections;

  g_test_summary ("A closed loop for 1 s stops starting at 1 s; every request it started is answered "
                  "and the mock saw exactly those.");
  f->spec.duration_ms = 1000;
  const PorticoTrafficResult *r = run_closed (f, portico_proc_address (mock, 0), "/", 4, 0);
  assert_clean (r);
  g_assert_cmpuint (r->completed, >, 10);
  mock_stats (mock, &requests, &connections);
  g_assert_cmpint (requests, ==, (gint64) r->completed);
  g_assert_cmpfloat (r->duration_s, >, 0.5);
  g_assert_cmpfloat (r->duration_s, <, 5.0);
}

static void
test_keepalive_off (Fixture *f, gconstpointer data)
{
  g_autoptr(PorticoProc) mock = portico_mock_spawn (NULL);
  gint64 requests, connections;

  g_test_summary ("With keep-alive off every request has its own connection (Connection: close).");
  f->spec.keepalive = FALSE;
  const PorticoTrafficResult *r = run_closed (f, portico_proc_address (mock, 0), "/", 4, 200);
  assert_clean (r);
  g_assert_cmpuint (r->connections_opened, ==, 200);
  mock_stats (mock, &requests, &connections);
  g_assert_cmpint (requests, ==, 200);
  g_assert_cmpint (connections, ==, 200 + 1);
}

typedef struct
{
  PorticoTraffic **t;
  guint64 last_second;
  gboolean seen;
} ProgressProbe;

static gboolean
probe_progress (gpointer data)
{
  ProgressProbe *p = data;
  portico_traffic_progress (*p->t, NULL, NULL, &p->last_second);
  p->seen = TRUE;
  return G_SOURCE_REMOVE;
}

static void
test_open_rate (Fixture *f, gconstpointer data)
{
  g_autoptr(PorticoProc) mock = portico_mock_spawn (NULL);
  ProgressProbe probe = { &f->t, 0, FALSE };
  gint64 requests, connections;

  g_test_summary ("An open loop at 200 req/s for 2 s starts 400 requests (+-5%), all answered, on a few "
                  "reused connections; the progress at 1.2 s reports the first second's ~200.");
  set_target (f, portico_proc_address (mock, 0), "/");
  f->spec.rate = 200;
  f->spec.duration_ms = 2000;
  g_timeout_add (1200, probe_progress, &probe);
  const PorticoTrafficResult *r = run (f);
  assert_clean (r);
  g_assert_cmpuint (r->started, >=, 380);
  g_assert_cmpuint (r->started, <=, 420);
  g_assert_cmpuint (r->not_started, ==, 0);
  g_assert_cmpuint (r->connections_opened, <, 50);
  g_assert_cmpfloat (r->duration_s, >, 1.5);
  g_assert_cmpfloat (r->start_lag_mean_ms, <, 100);
  g_assert_true (probe.seen);
  g_assert_cmpuint (probe.last_second, >=, 150);
  g_assert_cmpuint (probe.last_second, <=, 250);
  mock_stats (mock, &requests, &connections);
  g_assert_cmpint (requests, ==, (gint64) r->completed);
}

static void
test_open_not_started (Fixture *f, gconstpointer data)
{
  g_autoptr(PorticoProc) mock = portico_mock_spawn (NULL);

  g_test_summary ("An open loop capped at 2 connections against a 400 ms answer cannot start what is "
                  "due meanwhile: those are counted as not started, never as errors.");
  set_target (f, portico_proc_address (mock, 0), "/delay/400");
  f->spec.rate = 100;
  f->spec.duration_ms = 1000;
  f->spec.max_connections = 2;
  const PorticoTrafficResult *r = run (f);
  assert_clean (r);
  g_assert_cmpuint (r->started + r->not_started, ==, 100);
  g_assert_cmpuint (r->started, >=, 2);
  g_assert_cmpuint (r->started, <=, 10);
  g_assert_cmpuint (r->connections_opened, <=, 2);
  g_assert_cmpuint (seconds_sum (r, G_STRUCT_OFFSET (PorticoTrafficSecond, not_started)), ==, r->not_started);
}

static void
test_status_classes (Fixture *f, gconstpointer data)
{
  g_autoptr(PorticoProc) mock = portico_mock_spawn ("--status", "503", NULL);
  g_autoptr(PorticoProc) plain = portico_mock_spawn (NULL);

  g_test_summary ("Answers are counted by exact status and by class per second: a mock answering "
                  "503, then /status/404; neither is an error.");
  const PorticoTrafficResult *r = run_closed (f, portico_proc_address (mock, 0), "/", 2, 50);
  assert_clean (r);
  g_assert_cmpuint (status_count (r, 503), ==, 50);
  g_assert_cmpuint (status_count (r, 200), ==, 0);
  g_assert_cmpuint (seconds_sum (r, G_STRUCT_OFFSET (PorticoTrafficSecond, status[5])), ==, 50);
  g_assert_cmpuint (seconds_sum (r, G_STRUCT_OFFSET (PorticoTrafficSecond, status[2])), ==, 0);

  fixture_reset (f);
  r = run_closed (f, portico_proc_address (plain, 0), "/status/404", 2, 30);
  assert_clean (r);
  g_assert_cmpuint (status_count (r, 404), ==, 30);
  g_assert_cmpuint (seconds_sum (r, G_STRUCT_OFFSET (PorticoTrafficSecond, status[4])), ==, 30);
}

static char *
closed_port_address (void)
{
  int fd = socket (AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t len = sizeof sa;
  g_assert_cmpint (bind (fd, (struct sockaddr *) &sa, sizeof sa), ==, 0);
  g_assert_cmpint (getsockname (fd, (struct sockaddr *) &sa, &len), ==, 0);
  close (fd); /* bound, never listening, now closed: connects are refused */
  return g_strdup_printf ("127.0.0.1:%u", ntohs (sa.sin_port));
}

static void
test_error_connect (Fixture *f, gconstpointer data)
{
  g_autofree char *addr = closed_port_address ();

  g_test_summary ("Connects to a closed port are connect errors, one per request started; a refused "
                  "slot retries 1 ms later, so 0.3 s makes hundreds per slot, not a spin.");
  f->spec.duration_ms = 300;
  const PorticoTrafficResult *r = run_closed (f, addr, "/", 2, 0);
  g_assert_cmpuint (r->errors[PORTICO_TRAFFIC_ERR_CONNECT], >, 0);
  g_assert_cmpuint (r->errors[PORTICO_TRAFFIC_ERR_CONNECT], ==, r->started);
  /* About one a millisecond per slot; a spin would make tens of thousands. */
  g_assert_cmpuint (r->errors[PORTICO_TRAFFIC_ERR_CONNECT], <, 2 * 300 * 4);
  g_assert_cmpuint (r->completed, ==, 0);
  g_assert_cmpuint (r->connections_opened, ==, 0);
  g_assert_cmpuint (seconds_sum (r, G_STRUCT_OFFSET (PorticoTrafficSecond, errors[PORTICO_TRAFFIC_ERR_CONNECT])),
                    ==, r->started);
}

static void
test_error_reset (Fixture *f, gconstpointer data)
{
  g_autoptr(PorticoProc) mock = portico_mock_spawn ("--close-mid-body", "--body-bytes", "100000", NULL);

  g_test_summary ("A server that closes in the middle of the body gives reset errors, not answers.");
  const PorticoTrafficResult *r = run_closed (f, portico_proc_address (mock, 0), "/", 2, 20);
  g_assert_cmpuint (r->errors[PORTICO_TRAFFIC_ERR_RESET], ==, 20);
  g_assert_cmpuint (r->completed, ==, 0);
  g_assert_cmpuint (r->connections_opened, ==, 20);
}

static void
test_error_timeout (Fixture *f, gconstpointer data)
{
  g_autoptr(PorticoProc) mock = portico_mock_spawn (NULL);

  g_test_summary ("A request slower than the timeout is a timeout error, ended at the timeout, not "
                  "when the server answers (200 ms against a 3 s delay).");
  f->spec.timeout_ms = 200;
  const PorticoTrafficResult *r = run_closed (f, portico_proc_address (mock, 0), "/delay/3000", 2, 4);
  g_assert_cmpuint (r->errors[PORTICO_TRAFFIC_ERR_TIMEOUT], ==, 4);
  g_assert_cmpuint (r->completed, ==, 0);
  g_assert_cmpfloat (r->duration_s, <, 2.5);
}

static void
test_error_protocol (Fixture *f, gconstpointer data)
{
  g_autoptr(PorticoRawServer) raw = portico_raw_server_new ("SSH-2.0-OpenSSH_9.2\r\n\r\n", TRUE);

  g_test_summary ("An answer the strict parser refuses is a protocol error.");
  const PorticoTrafficResult *r = run_closed (f, portico_raw_server_address (raw), "/", 1, 3);
  g_assert_cmpuint (r->errors[PORTICO_TRAFFIC_ERR_PROTOCOL], ==, 3);
  g_assert_cmpuint (r->completed, ==, 0);
}

static void
test_close_delimited (Fixture *f, gconstpointer data)
{
  g_autoptr(PorticoRawServer) raw = portico_raw_server_new ("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello", TRUE);

  g_test_summary ("A body without length ends when the server closes: a whole answer, not a reset; "
                  "the connection is not reused.");
  const PorticoTrafficResult *r = run_closed (f, portico_raw_server_address (raw), "/", 1, 3);
  assert_clean (r);
  g_assert_cmpuint (status_count (r, 200), ==, 3);
  g_assert_cmpuint (r->connections_opened, ==, 3);
}

static void
test_count_headers (Fixture *f, gconstpointer data)
{
  g_autoptr(PorticoProc) mock = portico_mock_spawn ("--header", "X-Test: yes", NULL);
  const char *names[] = { "X-TEST", "X-Absent", NULL };

  g_test_summary ("count_headers counts the answers that had each header, by case-insensitive name.");
  f->spec.count_headers = g_strdupv ((char **) names);
  const PorticoTrafficResult *r = run_closed (f, portico_proc_address (mock, 0), "/", 2, 40);
  assert_clean (r);
  guint64 *seen = g_hash_table_lookup (r->headers_seen, "x-test");
  guint64 *absent = g_hash_table_lookup (r->headers_seen, "x-absent");
  g_assert_nonnull (seen);
  g_assert_nonnull (absent);
  g_assert_cmpuint (*seen, ==, 40);
  g_assert_cmpuint (*absent, ==, 0);
}

static void
test_upload (Fixture *f, gconstpointer data)
{
  g_autoptr(PorticoProc) mock = portico_mock_spawn (NULL);
  gint64 requests, connections;
  gsize size = 1024 * 1024;
  char *body = g_malloc (size);

  g_test_summary ("A 1 MiB POST body goes whole, 20 times on 2 keep-alive connections: a short body would "
                  "leave the mock waiting (a timeout), a long one would be a bad next request.");
  memset (body, 'b', size);
  f->spec.method = g_strdup ("POST");
  f->spec.body = g_bytes_new_take (body, size);
  const PorticoTrafficResult *r = run_closed (f, portico_proc_address (mock, 0), "/upload", 2, 20);
  assert_clean (r);
  g_assert_cmpuint (status_count (r, 200), ==, 20);
  g_assert_cmpuint (r->connections_opened, ==, 2);
  mock_stats (mock, &requests, &connections);
  g_assert_cmpint (requests, ==, 20);
  g_assert_cmpint (connections, ==, 2 + 1);
}

static void
test_chunked (Fixture *f, gconstpointer data)
{
  g_autoptr(PorticoProc) mock = portico_mock_spawn ("--chunked", "--body-bytes", "100000", NULL);

  g_test_summary ("Chunked answers are read to their last chunk: the connections are reused, so each "
                  "answer ended exactly where its coding said.");
  const PorticoTrafficResult *r = run_closed (f, portico_proc_address (mock, 0), "/", 2, 20);
  assert_clean (r);
  g_assert_cmpuint (r->connections_opened, ==, 2);
  g_assert_cmpuint (r->bytes_received, >, 20 * 100000);
}

static void
test_head (Fixture *f, gconstpointer data)
{
  g_autoptr(PorticoProc) mock = portico_mock_spawn ("--body-bytes", "5000", NULL);

  g_test_summary ("An answer to HEAD has no body whatever its Content-Length says: the next request "
                  "goes on the same connection at once.");
  f->spec.method = g_strdup ("HEAD");
  f->spec.timeout_ms = 2000;
  const PorticoTrafficResult *r = run_closed (f, portico_proc_address (mock, 0), "/", 2, 20);
  assert_clean (r);
  g_assert_cmpuint (r->connections_opened, ==, 2);
  g_assert_cmpuint (r->bytes_received, <, 20 * 5000);
}

static void
test_gateway (Fixture *f, gconstpointer data)
{
  g_autoptr(PorticoProc) mock = portico_mock_spawn (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(PorticoProc) gw = portico_gateway_spawn_with (
    "{\"_format_version\":\"1\",\"node\":{\"listen\":[\"127.0.0.1:0\"],\"admin_listen\":\"off\",\"workers\":1,"
    "\"keepalive_requests\":1000000},"
    "\"services\":[{\"name\":\"s\",\"url\":\"http://@UPSTREAM@\",\"routes\":[{\"paths\":[\"/\"]}]}]}",
    "@UPSTREAM@", portico_proc_address (mock, 0), NULL, &error);
  gint64 requests, connections;

  /* keepalive_requests is raised: at 1000 (the default) a fast run would
   * see the gateway close connections on purpose. */
  g_test_summary ("Through a gateway in front of the mock: every answer the generator counts is one "
                  "the mock served, and the client side keeps its 4 connections.");
  g_assert_no_error (error);
  f->spec.duration_ms = 1000;
  const PorticoTrafficResult *r = run_closed (f, portico_proc_address (gw, 0), "/orders", 4, 0);
  assert_clean (r);
  g_assert_cmpuint (r->completed, >, 10);
  g_assert_cmpuint (status_count (r, 200), ==, r->completed);
  g_assert_cmpuint (r->connections_opened, ==, 4);
  mock_stats (mock, &requests, &connections);
  g_assert_cmpint (requests, ==, (gint64) r->completed);
}

/* ---- over TLS ---- */

/* A gateway with one TLS listener serving @cert_name (.pem, .key of @pki)
 * in front of @mock. */
static PorticoProc *
tls_gateway (PorticoTestPki *pki, const char *cert_name, PorticoProc *mock)
{
  g_autofree char *pem_name = g_strdup_printf ("%s.pem", cert_name);
  g_autofree char *key_name = g_strdup_printf ("%s.key", cert_name);
  g_autofree char *pem = portico_test_pki_path (pki, pem_name);
  g_autofree char *key = portico_test_pki_path (pki, key_name);
  g_autoptr(GError) error = NULL;
  PorticoProc *gw = portico_gateway_spawn_with (
    "{\"_format_version\":\"1\",\"node\":{\"listen\":[{\"address\":\"127.0.0.1:0\",\"ssl\":true}],"
    "\"admin_listen\":\"off\",\"workers\":1,\"keepalive_requests\":1000000},"
    "\"certificates\":[{\"id\":\"main\",\"cert_path\":\"@PEM@\",\"key_path\":\"@KEY@\"}],"
    "\"services\":[{\"name\":\"s\",\"url\":\"http://@UPSTREAM@\",\"routes\":[{\"paths\":[\"/\"]}]}]}",
    "@PEM@", pem, "@KEY@", key, "@UPSTREAM@", portico_proc_address (mock, 0), NULL, &error);
  g_assert_no_error (error);
  return gw;
}

/* A client context trusting the test CA (verifying), or trusting anything. */
static PorticoTlsClient *
tls_client (PorticoTestPki *pki, gboolean verify)
{
  g_autofree char *ca_path = portico_test_pki_path (pki, "ca.pem");
  g_autofree char *ca_pem = NULL;
  g_autoptr(GError) error = NULL;
  g_assert_true (g_file_get_contents (ca_path, &ca_pem, NULL, &error));
  PorticoTlsClientOptions options = { .verify = verify, .ca_pem = ca_pem };
  PorticoTlsClient *client = portico_tls_client_new (&options, &error);
  g_assert_no_error (error);
  return client;
}

static void
assert_handshakes (const PorticoTrafficResult *r, guint64 full, guint64 resumed, guint64 failed)
{
  g_test_message ("handshakes: %" G_GUINT64_FORMAT " full, %" G_GUINT64_FORMAT " resumed, %" G_GUINT64_FORMAT
                  " failed", r->tls_handshakes[PORTICO_TRAFFIC_TLS_FULL], r->tls_handshakes[PORTICO_TRAFFIC_TLS_RESUMED],
                  r->tls_handshakes[PORTICO_TRAFFIC_TLS_FAILED]);
  g_assert_cmpuint (r->tls_handshakes[PORTICO_TRAFFIC_TLS_FULL], ==, full);
  g_assert_cmpuint (r->tls_handshakes[PORTICO_TRAFFIC_TLS_RESUMED], ==, resumed);
  g_assert_cmpuint (r->tls_handshakes[PORTICO_TRAFFIC_TLS_FAILED], ==, failed);
}

static void
test_https (Fixture *f, gconstpointer data)
{
  g_autoptr(PorticoTestPki) pki = portico_test_pki_new ();
  g_autoptr(PorticoProc) mock = portico_mock_spawn (NULL);
  g_autoptr(PorticoProc) gw = tls_gateway (pki, "server", mock);
  PorticoTlsClient *client = tls_client (pki, TRUE);
  gint64 requests, connections;

  g_test_summary ("Over TLS to a gateway's TLS listener, the certificate verified against the test CA: "
                  "a connection per request does one full handshake, then resumes the session the "
                  "gateway gave every time (one request at a time); kept-alive connections handshake "
                  "once each; two connections at a time both resume (the client keeps a few tickets per "
                  "peer); without resumption every connection is a full handshake. Every answer "
                  "is one the mock served.");
  f->spec.tls = client;
  f->spec.keepalive = FALSE;
  const PorticoTrafficResult *r = run_closed (f, portico_proc_address (gw, 0), "/orders", 1, 30);
  assert_clean (r);
  g_assert_cmpuint (status_count (r, 200), ==, 30);
  g_assert_cmpuint (r->connections_opened, ==, 30);
  assert_handshakes (r, 1, 29, 0);

  fixture_reset (f);
  f->spec.tls = client;
  r = run_closed (f, portico_proc_address (gw, 0), "/orders", 2, 40);
  assert_clean (r);
  g_assert_cmpuint (r->connections_opened, ==, 2);
  g_assert_cmpuint (r->tls_handshakes[PORTICO_TRAFFIC_TLS_FULL] + r->tls_handshakes[PORTICO_TRAFFIC_TLS_RESUMED], ==, 2);

  /* Two connections at a time, each spending a ticket: the client keeps
   * a few per peer (TLS 1.3 tickets resume once), so both resume. */
  fixture_reset (f);
  f->spec.tls = client;
  f->spec.keepalive = FALSE;
  r = run_closed (f, portico_proc_address (gw, 0), "/orders", 2, 40);
  assert_clean (r);
  g_test_message ("two at a time: %" G_GUINT64_FORMAT " full, %" G_GUINT64_FORMAT " resumed",
                  r->tls_handshakes[PORTICO_TRAFFIC_TLS_FULL], r->tls_handshakes[PORTICO_TRAFFIC_TLS_RESUMED]);
  g_assert_cmpuint (r->tls_handshakes[PORTICO_TRAFFIC_TLS_FULL], <=, 2);
  g_assert_cmpuint (r->tls_handshakes[PORTICO_TRAFFIC_TLS_RESUMED], >=, 38);

  fixture_reset (f);
  f->spec.tls = client;
  f->spec.keepalive = FALSE;
  f->spec.tls_no_resume = TRUE;
  r = run_closed (f, portico_proc_address (gw, 0), "/orders", 1, 10);
  assert_clean (r);
  assert_handshakes (r, 10, 0, 0);
  mock_stats (mock, &requests, &connections);
  g_assert_cmpint (requests, ==, 30 + 40 + 40 + 10);

  fixture_reset (f);
  portico_tls_client_free (client);
}

static void
test_https_refused (Fixture *f, gconstpointer data)
{
  g_autoptr(PorticoTestPki) pki = portico_test_pki_new ();
  g_autoptr(PorticoProc) mock = portico_mock_spawn (NULL);
  g_autoptr(PorticoProc) self_signed = tls_gateway (pki, "self", mock);
  g_autoptr(PorticoProc) gw = tls_gateway (pki, "server", mock);
  PorticoTlsClient *client = tls_client (pki, TRUE);
  PorticoTlsClient *anything = tls_client (pki, FALSE);
  gint64 requests, connections;

  g_test_summary ("A certificate the client refuses (self-signed, or for another name) makes every "
                  "request a tls error and a failed handshake, retried 1 ms later, never an answer "
                  "or a crash; a client that verifies nothing takes the self-signed one.");
  f->spec.tls = client;
  f->spec.duration_ms = 300;
  const PorticoTrafficResult *r = run_closed (f, portico_proc_address (self_signed, 0), "/", 2, 0);
  g_assert_cmpuint (r->errors[PORTICO_TRAFFIC_ERR_TLS], >, 0);
  g_assert_cmpuint (r->errors[PORTICO_TRAFFIC_ERR_TLS], ==, r->started);
  g_assert_cmpuint (r->errors[PORTICO_TRAFFIC_ERR_TLS], <, 2 * 300 * 4);
  g_assert_cmpuint (r->completed, ==, 0);
  g_assert_cmpuint (r->connections_opened, ==, r->started);
  assert_handshakes (r, 0, 0, r->started);

  fixture_reset (f);
  f->spec.tls = client;
  f->spec.tls_name = g_strdup ("other.test");
  r = run_closed (f, portico_proc_address (gw, 0), "/", 1, 5);
  g_assert_cmpuint (r->errors[PORTICO_TRAFFIC_ERR_TLS], ==, 5);
  assert_handshakes (r, 0, 0, 5);

  fixture_reset (f);
  f->spec.tls = anything;
  r = run_closed (f, portico_proc_address (self_signed, 0), "/", 1, 5);
  assert_clean (r);
  g_assert_cmpuint (status_count (r, 200), ==, 5);
  mock_stats (mock, &requests, &connections);
  g_assert_cmpint (requests, ==, 5);

  fixture_reset (f);
  portico_tls_client_free (client);
  portico_tls_client_free (anything);
}

static void
test_https_mock (Fixture *f, gconstpointer data)
{
  g_autoptr(PorticoTestPki) pki = portico_test_pki_new ();
  g_autofree char *pem = portico_test_pki_path (pki, "server.pem");
  g_autofree char *key = portico_test_pki_path (pki, "server.key");
  g_autoptr(PorticoProc) mock = portico_mock_spawn ("--tls-cert", pem, "--tls-key", key, NULL);
  PorticoTlsClient *client = tls_client (pki, TRUE);
  const char *half[] = { portico_test_binary (), "mock", "--tls-cert", pem, NULL };
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("`portico mock --tls-cert --tls-key` serves HTTPS (what a scenario's tls service "
                  "runs): each connection handshakes once, kept alive or not; one option without the "
                  "other is refused.");
  f->spec.tls = client;
  f->spec.keepalive = FALSE;
  const PorticoTrafficResult *r = run_closed (f, portico_proc_address (mock, 0), "/", 1, 5);
  assert_clean (r);
  g_assert_cmpuint (r->tls_handshakes[PORTICO_TRAFFIC_TLS_FULL] + r->tls_handshakes[PORTICO_TRAFFIC_TLS_RESUMED], ==, 5);
  fixture_reset (f);
  f->spec.tls = client;
  r = run_closed (f, portico_proc_address (mock, 0), "/", 2, 40);
  assert_clean (r);
  g_assert_cmpuint (r->connections_opened, ==, 2);
  fixture_reset (f);
  portico_tls_client_free (client);

  g_assert_cmpint (portico_run_sync (half, 10000, NULL, &err, &error), ==, 2);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (err, "--tls-cert and --tls-key go together"));
}

static gboolean
stop_soon (gpointer data)
{
  portico_traffic_stop (*(PorticoTraffic **) data);
  return G_SOURCE_REMOVE;
}

static void
test_stop (Fixture *f, gconstpointer data)
{
  g_autoptr(PorticoProc) mock = portico_mock_spawn (NULL);

  g_test_summary ("portico_traffic_stop() ends a 60 s run early: the requests in flight finish, and "
                  "the done function comes once.");
  set_target (f, portico_proc_address (mock, 0), "/delay/50");
  f->spec.concurrency = 3;
  f->spec.duration_ms = 60000;
  g_timeout_add (300, stop_soon, &f->t);
  const PorticoTrafficResult *r = run (f);
  assert_clean (r);
  g_assert_cmpuint (r->completed, >=, 3);
  g_assert_cmpfloat (r->duration_s, <, 10);
}

static void
test_invalid (Fixture *f, gconstpointer data)
{
  const struct
  {
    guint concurrency;
    double rate;
    guint duration_ms;
    const char *address, *method, *header;
    const char *message; /* part of the error */
  } cases[] = {
    { 2, 10, 1000, "127.0.0.1:1", NULL, NULL, "exactly one" },
    { 0, 0, 1000, "127.0.0.1:1", NULL, NULL, "exactly one" },
    { 2, 0, 0, "127.0.0.1:1", NULL, NULL, "duration or a count" },
    { 2, 0, 1000, "127.0.0.1", NULL, NULL, "" },
    { 2, 0, 1000, "127.0.0.1:1", "GE T", NULL, "not valid HTTP/1.1" },
    { 2, 0, 1000, "127.0.0.1:1", NULL, "Content-Length", "framing" },
    { 2, 0, 1000, "127.0.0.1:1", NULL, "Bad Name", "not valid HTTP/1.1" },
    { 2, 0, 1000, "127.0.0.1:1", NULL, "X-Bad\r\nInjected", "not valid HTTP/1.1" },
  };

  g_test_summary ("A spec that cannot run is refused with an error saying why; a request the strict "
                  "parser would refuse (a bad method, header name, an injected line) is refused too.");
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      PorticoTrafficSpec spec = { .concurrency = cases[i].concurrency, .rate = cases[i].rate,
                                  .duration_ms = cases[i].duration_ms };
      g_autoptr(GError) error = NULL;
      spec.address = g_strdup (cases[i].address);
      spec.method = g_strdup (cases[i].method);
      if (cases[i].header != NULL)
        {
          PorticoTrafficHeader *h = g_new (PorticoTrafficHeader, 1);
          h->name = g_strdup (cases[i].header);
          h->value = g_strdup ("1");
          spec.headers = g_ptr_array_new ();
          g_ptr_array_add (spec.headers, h);
        }
      PorticoTraffic *t = portico_traffic_new (f->loop, &spec, &error);
      g_assert_null (t);
      g_assert_nonnull (error);
      /* On failure this prints the whole message. */
      g_assert_cmpstr (strstr (error->message, cases[i].message) ? cases[i].message : error->message, ==,
                       cases[i].message);
      portico_traffic_spec_clear (&spec);
    }
}

static void
test_latency_histogram (void)
{
  g_test_summary ("A second's latency histogram is log-linear: 8 buckets per octave from 50 us, "
                  "so a percentile read from it is within a bucket (1/8 of an octave) of the truth.");
  g_assert_cmpuint (portico_traffic_latency_bucket (0), ==, 0);
  g_assert_cmpuint (portico_traffic_latency_bucket (7), ==, 1);
  g_assert_cmpuint (portico_traffic_latency_bucket (50), ==, 7);
  g_assert_cmpuint (portico_traffic_latency_bucket (51), ==, 8);
  g_assert_cmpuint (portico_traffic_latency_bucket (100), ==, 15);
  g_assert_cmpuint (portico_traffic_latency_bucket (101), ==, 16);
  g_assert_cmpuint (portico_traffic_latency_bucket (G_MAXUINT64), ==, PORTICO_TRAFFIC_LATENCY_BUCKETS - 1);
  guint last = 0;
  for (guint64 us = 0; us < 100000000; us = us * 11 / 10 + 1)
    {
      guint b = portico_traffic_latency_bucket (us);
      g_assert_cmpuint (b, >=, last);
      g_assert_cmpuint (b, <, PORTICO_TRAFFIC_LATENCY_BUCKETS);
      last = b;
    }

  /* 1 ms to 1000 ms, evenly: p50 is 500 ms, p99 990 ms. */
  g_autofree PorticoTrafficSecond *s = g_new0 (PorticoTrafficSecond, 1);
  g_assert_true (isnan (portico_traffic_second_percentile_ms (s, 50)));
  for (guint64 ms = 1; ms <= 1000; ms++)
    s->latency_hist[portico_traffic_latency_bucket (ms * 1000)]++;
  double p50 = portico_traffic_second_percentile_ms (s, 50), p99 = portico_traffic_second_percentile_ms (s, 99);
  g_test_message ("p50 %.1f ms, p99 %.1f ms", p50, p99);
  g_assert_cmpfloat (fabs (p50 - 500) / 500, <, 1.0 / 16);
  g_assert_cmpfloat (fabs (p99 - 990) / 990, <, 1.0 / 16);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/lab/traffic/latency-histogram", test_latency_histogram);
#define ADD(path, func) g_test_add ("/lab/traffic/" path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("closed-loop/count", test_closed_count);
  ADD ("closed-loop/duration", test_closed_duration);
  ADD ("closed-loop/keepalive-off", test_keepalive_off);
  ADD ("open-loop/rate", test_open_rate);
  ADD ("open-loop/not-started", test_open_not_started);
  ADD ("status/classes", test_status_classes);
  ADD ("errors/connect", test_error_connect);
  ADD ("errors/reset", test_error_reset);
  ADD ("errors/timeout", test_error_timeout);
  ADD ("errors/protocol", test_error_protocol);
  ADD ("body/close-delimited", test_close_delimited);
  ADD ("body/chunked", test_chunked);
  ADD ("body/head", test_head);
  ADD ("body/upload", test_upload);
  ADD ("count-headers", test_count_headers);
  ADD ("gateway", test_gateway);
  ADD ("tls/gateway", test_https);
  ADD ("tls/refused", test_https_refused);
  ADD ("tls/mock", test_https_mock);
  ADD ("stop", test_stop);
  ADD ("spec/invalid", test_invalid);
#undef ADD
  return g_test_run ();
}
