/* test-keepalive.c: connections over time: keep-alive on both sides, the
 * upstream pool, memory under large bodies and many idle connections, and
 * stopping. */
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "harness.h"

/* PORTICO_TEST_BACKEND=poll runs the same tests on the poll backend. */
static const char *backend = "epoll";

static PorticoProc *
gateway_to (const char *upstream, const char *node_extra)
{
  g_autofree char *json = g_strdup_printf (
    "{\"_format_version\":\"1\",\"node\":{\"listen\":[\"127.0.0.1:0\"],\"admin_listen\":\"off\","
    "\"workers\":1,\"event_backend\":\"%s\"%s%s},"
    "\"services\":[{\"name\":\"s\",\"url\":\"http://%s\",\"routes\":[{\"paths\":[\"/\"]}]}]}",
    backend, node_extra ? "," : "", node_extra ? node_extra : "", upstream);
  g_autoptr (GError) error = NULL;
  PorticoProc *gw = portico_gateway_spawn (json, &error);
  g_assert_no_error (error);
  return gw;
}

/* The mock's count of connections it accepted (the stats request's own
 * connection included). */
static gint64
mock_connections (PorticoProc *mock)
{
  g_autoptr (PorticoTestResponse) r =
    portico_test_request (portico_proc_address (mock, 0), "GET /__mock/stats HTTP/1.1\r\nHost: m\r\n\r\n");
  g_assert_nonnull (r);
  g_autofree char *text = portico_test_response_body_string (r);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser, text, -1, NULL));
  return json_object_get_int_member (json_node_get_object (json_parser_get_root (parser)), "connections");
}

static void
test_upstream_pool (void)
{
  g_test_summary ("Requests from many client connections share a few kept-alive upstream "
                  "connections; with the pool off, each request opens its own.");
  g_autoptr (PorticoProc) mock = portico_mock_spawn (NULL);
  g_autoptr (PorticoProc) gw = gateway_to (portico_proc_address (mock, 0), NULL);
  const char *addr = portico_proc_address (gw, 0);
  for (int i = 0; i < 30; i++)
    {
      g_autoptr (PorticoTestResponse) r = portico_test_request (addr, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
      g_assert_cmpint (r->status, ==, 200);
    }
  /* One upstream connection served all 30 (plus the stats request's own). */
  g_assert_cmpint (mock_connections (mock), ==, 2);

  g_autoptr (PorticoProc) mock2 = portico_mock_spawn (NULL);
  g_autoptr (PorticoProc) gw2 =
    gateway_to (portico_proc_address (mock2, 0), "\"upstream_keepalive_pool_size\":0");
  for (int i = 0; i < 10; i++)
    {
      g_autoptr (PorticoTestResponse) r =
        portico_test_request (portico_proc_address (gw2, 0), "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
      g_assert_cmpint (r->status, ==, 200);
    }
  g_assert_cmpint (mock_connections (mock2), ==, 11);
}

static void
test_upstream_max_requests (void)
{
  g_test_summary ("upstream_keepalive_max_requests retires an upstream connection after that "
                  "many requests.");
  g_autoptr (PorticoProc) mock = portico_mock_spawn (NULL);
  g_autoptr (PorticoProc) gw =
    gateway_to (portico_proc_address (mock, 0), "\"upstream_keepalive_max_requests\":5");
  for (int i = 0; i < 20; i++)
    {
      g_autoptr (PorticoTestResponse) r =
        portico_test_request (portico_proc_address (gw, 0), "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
      g_assert_cmpint (r->status, ==, 200);
    }
  g_assert_cmpint (mock_connections (mock), ==, 4 + 1);
}

static void
test_upstream_closed_while_pooled (void)
{
  g_test_summary ("An upstream that closes a pooled connection (its own keep-alive timeout) "
                  "costs the client nothing: the next request gets a fresh connection.");
  g_autoptr (PorticoRawServer) raw =
    portico_raw_server_new ("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", TRUE);
  g_autoptr (PorticoProc) gw = gateway_to (portico_raw_server_address (raw), NULL);
  for (int i = 0; i < 5; i++)
    {
      g_autoptr (PorticoTestResponse) r =
        portico_test_request (portico_proc_address (gw, 0), "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
      g_assert_nonnull (r);
      g_assert_cmpint (r->status, ==, 200);
      g_usleep (50000);
    }
  g_assert_cmpuint (portico_raw_server_connections (raw), ==, 5);
}

static void
test_client_keepalive (void)
{
  g_test_summary ("keepalive_requests ends a client connection after that many requests, with "
                  "Connection: close on the last; an idle connection closes after keepalive_timeout; "
                  "HTTP/1.0 keep-alive works when asked for.");
  g_autoptr (PorticoProc) mock = portico_mock_spawn (NULL);
  g_autoptr (PorticoProc) gw = gateway_to (portico_proc_address (mock, 0),
                                           "\"keepalive_requests\":3,\"keepalive_timeout\":300");
  const char *addr = portico_proc_address (gw, 0);
  int fd = portico_test_connect (addr);
  for (int i = 1; i <= 3; i++)
    {
      g_assert_true (portico_test_send_all (fd, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", -1));
      g_autoptr (PorticoTestResponse) r = portico_test_read_response (fd, FALSE, 5000);
      g_assert_nonnull (r);
      g_assert_cmpint (r->status, ==, 200);
      g_assert_cmpstr (portico_test_response_header (r, "Connection"), ==, i == 3 ? "close" : NULL);
    }
  g_assert_true (portico_test_is_closed (fd, 2000));
  close (fd);

  fd = portico_test_connect (addr);
  g_assert_true (portico_test_send_all (fd, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", -1));
  g_autoptr (PorticoTestResponse) r = portico_test_read_response (fd, FALSE, 5000);
  g_assert_cmpint (r->status, ==, 200);
  g_assert_false (portico_test_is_closed (fd, 50)); /* still open right after */
  g_assert_true (portico_test_is_closed (fd, 5000)); /* closed once idle for 300 ms */
  close (fd);

  fd = portico_test_connect (addr);
  g_assert_true (portico_test_send_all (fd, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", -1));
  g_autoptr (PorticoTestResponse) r10 = portico_test_read_response (fd, FALSE, 5000);
  g_assert_cmpint (r10->status, ==, 200);
  g_assert_cmpstr (portico_test_response_header (r10, "Connection"), ==, "keep-alive");
  g_assert_true (portico_test_send_all (fd, "GET / HTTP/1.0\r\n\r\n", -1));
  g_autoptr (PorticoTestResponse) r10b = portico_test_read_response (fd, FALSE, 5000);
  g_assert_cmpint (r10b->status, ==, 200);
  g_assert_true (portico_test_is_closed (fd, 2000));
  close (fd);
}

/* A process's peak resident set (VmHWM) or current one (VmRSS), in KiB. */
static gint64
proc_kib (GPid pid, const char *field)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", (int) pid);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  const char *line = strstr (text, field);
  g_assert_nonnull (line);
  return g_ascii_strtoll (line + strlen (field) + 1, NULL, 10);
}

/* The worker of a one-worker node: the master's only child (no admin). */
static GPid
worker_pid (PorticoProc *gw)
{
  GPid master = portico_proc_pid (gw);
  g_autofree char *path = g_strdup_printf ("/proc/%d/task/%d/children", (int) master, (int) master);
  for (int i = 0; i < 100; i++)
    {
      g_autofree char *text = NULL;
      if (g_file_get_contents (path, &text, NULL, NULL) && g_ascii_isdigit (text[0]))
        return (GPid) g_ascii_strtoll (text, NULL, 10);
      g_usleep (20000);
    }
  g_assert_not_reached ();
}

static guint64
big_bytes (void)
{
  /* 1 GiB by default; the sanitizer build is slower, so it may ask for less. */
  const char *mib = g_getenv ("PORTICO_TEST_BIG_MIB");
  return (guint64) (mib ? g_ascii_strtoull (mib, NULL, 10) : 1024) * 1024 * 1024;
}

static void
test_big_bodies_bounded_memory (void)
{
  g_test_summary ("A 1 GiB response and a 1 GiB upload stream through while the gateway's peak "
                  "resident memory grows by less than 16 MiB.");
  g_autoptr (PorticoProc) mock = portico_mock_spawn (NULL);
  g_autoptr (PorticoProc) gw = gateway_to (portico_proc_address (mock, 0), NULL);
  const char *addr = portico_proc_address (gw, 0);
  GPid pid = worker_pid (gw);
  guint64 size = big_bytes ();

  g_autoptr (PorticoTestResponse) warm = portico_test_request (addr, "GET /bytes/100000 HTTP/1.1\r\nHost: h\r\n\r\n");
  g_assert_cmpint (warm->status, ==, 200);
  gint64 before = proc_kib (pid, "VmHWM:");

  int fd = portico_test_connect (addr);
  g_autofree char *get = g_strdup_printf ("GET /bytes/%" G_GUINT64_FORMAT " HTTP/1.1\r\nHost: h\r\n\r\n", size);
  g_assert_true (portico_test_send_all (fd, get, -1));
  g_autoptr (PorticoTestResponse) down =
    portico_test_read_response_flags (fd, PORTICO_TEST_READ_DISCARD_BODY, 300000);
  g_assert_nonnull (down);
  g_assert_cmpint (down->status, ==, 200);
  g_assert_cmpuint (down->body_length, ==, size);
  g_assert_true (down->complete);
  close (fd);

  fd = portico_test_connect (addr);
  g_autofree char *post =
    g_strdup_printf ("POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: %" G_GUINT64_FORMAT "\r\n\r\n", size);
  g_assert_true (portico_test_send_all (fd, post, -1));
  char block[65536];
  memset (block, 'u', sizeof block);
  for (guint64 sent = 0; sent < size; sent += sizeof block)
    g_assert_true (portico_test_send_all (fd, block, (gssize) MIN (sizeof block, size - sent)));
  g_autoptr (PorticoTestResponse) up = portico_test_read_response (fd, FALSE, 300000);
  g_assert_nonnull (up);
  g_assert_cmpint (up->status, ==, 200);
  g_autofree char *text = portico_test_response_body_string (up);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser, text, -1, NULL));
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (json_parser_get_root (parser)), "body_bytes"),
                   ==, (gint64) size);
  close (fd);

  gint64 after = proc_kib (pid, "VmHWM:");
  g_test_message ("gateway peak RSS: %" G_GINT64_FORMAT " KiB before, %" G_GINT64_FORMAT " KiB after",
                  before, after);
  g_assert_cmpint (after - before, <, 16 * 1024);
}

static void
test_idle_connections_cheap (void)
{
  g_test_summary ("Idle kept-alive client connections give their buffers back: 2000 of them "
                  "cost the gateway well under 2 KiB each.");
  if (g_strcmp0 (g_getenv ("PORTICO_SANITIZED"), "1") == 0)
    {
      g_test_skip ("AddressSanitizer's allocator makes per-connection memory meaningless");
      return;
    }
  struct rlimit rl;
  getrlimit (RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < 4500)
    {
      rl.rlim_cur = MIN (rl.rlim_max, 4500);
      setrlimit (RLIMIT_NOFILE, &rl);
    }
  if (rl.rlim_cur < 4500)
    {
      g_test_skip ("needs 4500 file descriptors");
      return;
    }
  enum { N = 2000 };
  g_autoptr (PorticoProc) mock = portico_mock_spawn (NULL);
  g_autoptr (PorticoProc) gw = gateway_to (portico_proc_address (mock, 0), NULL);
  const char *addr = portico_proc_address (gw, 0);
  GPid pid = worker_pid (gw);
  /* Warm: let the free lists and the heap reach their working size. */
  for (int i = 0; i < 20; i++)
    {
      g_autoptr (PorticoTestResponse) r = portico_test_request (addr, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
      g_assert_cmpint (r->status, ==, 200);
    }
  gint64 before = proc_kib (pid, "VmRSS:");
  int *fds = g_new (int, N);
  for (int i = 0; i < N; i++)
    {
      fds[i] = portico_test_connect (addr);
      g_assert_cmpint (fds[i], >=, 0);
      g_assert_true (portico_test_send_all (fds[i], "GET / HTTP/1.1\r\nHost: h\r\n\r\n", -1));
      PorticoTestResponse *r = portico_test_read_response (fds[i], FALSE, 5000);
      g_assert_nonnull (r);
      g_assert_cmpint (r->status, ==, 200);
      portico_test_response_free (r);
    }
  gint64 after = proc_kib (pid, "VmRSS:");
  gint64 per_conn = (after - before) * 1024 / N;
  g_test_message ("RSS %" G_GINT64_FORMAT " -> %" G_GINT64_FORMAT " KiB: %" G_GINT64_FORMAT
                  " bytes per idle connection", before, after, per_conn);
  g_assert_cmpint (per_conn, <, 2048);
  /* They are really held: one of them still works. */
  g_assert_true (portico_test_send_all (fds[N / 2], "GET / HTTP/1.1\r\nHost: h\r\n\r\n", -1));
  g_autoptr (PorticoTestResponse) again = portico_test_read_response (fds[N / 2], FALSE, 5000);
  g_assert_cmpint (again->status, ==, 200);
  for (int i = 0; i < N; i++)
    close (fds[i]);
  g_free (fds);
}

static void
test_graceful_stop (void)
{
  g_test_summary ("SIGQUIT lets a request in flight finish, then the gateway exits 0; SIGTERM "
                  "stops at once.");
  g_autoptr (PorticoProc) mock = portico_mock_spawn (NULL);
  g_autoptr (PorticoProc) gw = gateway_to (portico_proc_address (mock, 0), NULL);
  int fd = portico_test_connect (portico_proc_address (gw, 0));
  g_assert_true (portico_test_send_all (fd, "GET /delay/600 HTTP/1.1\r\nHost: h\r\n\r\n", -1));
  g_usleep (100000);
  portico_proc_signal (gw, SIGQUIT);
  g_autoptr (PorticoTestResponse) r = portico_test_read_response (fd, FALSE, 5000);
  g_assert_nonnull (r);
  g_assert_cmpint (r->status, ==, 200);
  g_assert_cmpstr (portico_test_response_header (r, "Connection"), ==, "close");
  close (fd);
  g_assert_cmpint (portico_proc_wait (gw, 5000), ==, 0);

  g_autoptr (PorticoProc) gw2 = gateway_to (portico_proc_address (mock, 0), NULL);
  int fd2 = portico_test_connect (portico_proc_address (gw2, 0));
  g_assert_true (portico_test_send_all (fd2, "GET /delay/3000 HTTP/1.1\r\nHost: h\r\n\r\n", -1));
  g_usleep (100000);
  portico_proc_signal (gw2, SIGTERM);
  g_assert_cmpint (portico_proc_wait (gw2, 1000), ==, 0);
  g_assert_true (portico_test_is_closed (fd2, 1000));
  close (fd2);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  if (g_strcmp0 (g_getenv ("PORTICO_TEST_BACKEND"), "poll") == 0)
    backend = "poll";
  g_autofree char *p = g_strdup_printf ("/keepalive/%s", backend);
#define ADD(name, func) \
  do { \
      g_autofree char *path = g_strconcat (p, name, NULL); \
      g_test_add_func (path, func); \
  } while (0)
  ADD ("/upstream/pool", test_upstream_pool);
  ADD ("/upstream/max-requests", test_upstream_max_requests);
  ADD ("/upstream/closed-while-pooled", test_upstream_closed_while_pooled);
  ADD ("/client/requests-and-timeout", test_client_keepalive);
  ADD ("/memory/big-bodies", test_big_bodies_bounded_memory);
  ADD ("/memory/idle-connections", test_idle_connections_cheap);
  ADD ("/stop/graceful-and-fast", test_graceful_stop);
#undef ADD
  return g_test_run ();
}
