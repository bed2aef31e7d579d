/* tests/integration/test-link.c - the lab's link (src/lab/link.c): a relay
 * with latency, jitter, bandwidth, resets and down, between the raw client
 * and `portico mock` (or a raw upstream), on loopback.
 *
 * The link runs on a PorticoLoop on a thread of its own, so that the test
 * can use the harness's blocking client; every call into the link is made on
 * that thread (link_call), as the link is single-threaded.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "harness.h"
#include "lab/lab.h"
#include "lab/link.h"

#define ONE_MIB (1024 * 1024)
#define MS (G_GINT64_CONSTANT (1000))

/* ------------------------------------------------------------------------ */
/* The link on its own thread */

typedef struct
{
  GMainContext *context;
  PorticoLoop *loop;
  GThread *thread;
  gint quit;                    /* atomic */
  PorticoLink *link;
  char *address;
} LinkLab;

typedef struct
{
  void (*func) (LinkLab *lab, gpointer data);
  LinkLab *lab;
  gpointer data;
  GMutex lock;
  GCond cond;
  gboolean done;
} LinkCall;

static gpointer
link_thread (gpointer data)
{
  LinkLab *lab = data;

  g_main_context_push_thread_default (lab->context);
  while (!g_atomic_int_get (&lab->quit))
    g_main_context_iteration (lab->context, TRUE);
  g_main_context_pop_thread_default (lab->context);
  return NULL;
}

static gboolean
link_call_dispatch (gpointer data)
{
  LinkCall *call = data;

  call->func (call->lab, call->data);
  g_mutex_lock (&call->lock);
  call->done = TRUE;
  g_cond_signal (&call->cond);
  g_mutex_unlock (&call->lock);
  return G_SOURCE_REMOVE;
}

/* Runs @func on the link's thread and waits for it (an idle source, never
 * g_main_context_invoke, which could run it on this thread). */
static void
link_call (LinkLab *lab, void (*func) (LinkLab *lab, gpointer data), gpointer data)
{
  LinkCall call = { .func = func, .lab = lab, .data = data };
  GSource *source = g_idle_source_new ();
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  g_mutex_init (&call.lock);
  g_cond_init (&call.cond);
  g_source_set_callback (source, link_call_dispatch, &call, NULL);
  g_source_attach (source, lab->context);
  g_source_unref (source);
  g_mutex_lock (&call.lock);
  while (!call.done)
    if (!g_cond_wait_until (&call.cond, &call.lock, deadline))
      g_error ("the link's thread did not answer within 10 s");
  g_mutex_unlock (&call.lock);
  g_mutex_clear (&call.lock);
  g_cond_clear (&call.cond);
}

typedef struct
{
  const char *target;
  const PorticoLinkProps *props;
  GError *error;
} LinkNewArgs;

static void
do_link_new (LinkLab *lab, gpointer data)
{
  LinkNewArgs *args = data;

  lab->link = portico_link_new (lab->loop, "127.0.0.1:0", args->target, args->props, &args->error);
  if (lab->link)
    lab->address = g_strdup (portico_link_address (lab->link));
}

static void
do_set_props (LinkLab *lab, gpointer data)
{
  portico_link_set_props (lab->link, data);
}

static void
do_get_stats (LinkLab *lab, gpointer data)
{
  portico_link_get_stats (lab->link, data);
}

static void
do_link_free (LinkLab *lab, gpointer data)
{
  g_clear_pointer (&lab->link, portico_link_free);
}

static void
do_quit (LinkLab *lab, gpointer data)
{
  g_atomic_int_set (&lab->quit, 1);
}

static LinkLab *
link_lab_new_backend (const char *target, const PorticoLinkProps *props, PorticoEventBackend backend)
{
  LinkLab *lab = g_new0 (LinkLab, 1);
  LinkNewArgs args = { target, props, NULL };

  lab->context = g_main_context_new ();
  lab->loop = portico_loop_new (lab->context, backend);
  lab->thread = g_thread_new ("link", link_thread, lab);
  link_call (lab, do_link_new, &args);
  g_assert_no_error (args.error);
  g_assert_nonnull (lab->link);
  g_assert_true (g_str_has_prefix (lab->address, "127.0.0.1:"));
  return lab;
}

static LinkLab *
link_lab_new (const char *target, const PorticoLinkProps *props)
{
  return link_lab_new_backend (target, props, PORTICO_EVENT_BACKEND_EPOLL);
}

static void
link_lab_set (LinkLab *lab, const PorticoLinkProps *props)
{
  link_call (lab, do_set_props, (gpointer) props);
}

static PorticoLinkStats
link_lab_stats (LinkLab *lab)
{
  PorticoLinkStats stats;

  link_call (lab, do_get_stats, &stats);
  return stats;
}

static void
link_lab_free (LinkLab *lab)
{
  link_call (lab, do_link_free, NULL);
  link_call (lab, do_quit, NULL);
  g_thread_join (lab->thread);
  portico_loop_free (lab->loop);
  g_main_context_unref (lab->context);
  g_free (lab->address);
  g_free (lab);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LinkLab, link_lab_free)

/* ------------------------------------------------------------------------ */
/* Helpers */

static const PorticoLinkProps no_props = { 0 };

static char *
pattern_sha256 (gsize n)
{
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  char block[PORTICO_MOCK_PATTERN_LEN * 256];
  gsize i;

  for (i = 0; i < sizeof block; i++)
    block[i] = PORTICO_MOCK_PATTERN[i % PORTICO_MOCK_PATTERN_LEN];
  for (i = 0; i + sizeof block <= n; i += sizeof block)
    g_checksum_update (sum, (const guchar *) block, sizeof block);
  g_checksum_update (sum, (const guchar *) block, n - i);
  return g_strdup (g_checksum_get_string (sum));
}

/* The link's stats, after checking its connection and reset counts. */
static PorticoLinkStats
check_counts (LinkLab *lab, guint64 connections, guint64 resets)
{
  PorticoLinkStats stats = link_lab_stats (lab);

  g_assert_cmpuint (stats.connections, ==, connections);
  g_assert_cmpuint (stats.resets, ==, resets);
  return stats;
}

/* GET @path through @addr, the body counted and hashed, not kept. */
static PorticoTestResponse *
get_discard (const char *addr, const char *path)
{
  g_autofree char *request = g_strdup_printf ("GET %s HTTP/1.1\r\nHost: link\r\n\r\n", path);
  PorticoTestResponse *resp;
  int fd = portico_test_connect (addr);

  g_assert_cmpint (fd, >=, 0);
  g_assert_true (portico_test_send_all (fd, request, -1));
  resp = portico_test_read_response_flags (fd, PORTICO_TEST_READ_DISCARD_BODY, 60000);
  close (fd);
  return resp;
}

/* Microseconds a GET /bytes/@n through @addr takes, connect to last byte. */
static gint64
timed_get (const char *addr, gsize n)
{
  g_autofree char *path = g_strdup_printf ("/bytes/%" G_GSIZE_FORMAT, n);
  gint64 start = g_get_monotonic_time ();
  g_autoptr(PorticoTestResponse) resp = get_discard (addr, path);

  g_assert_nonnull (resp);
  g_assert_cmpint (resp->status, ==, 200);
  g_assert_cmpuint (resp->body_length, ==, n);
  return g_get_monotonic_time () - start;
}

/* POSTs @len bytes to /upload through @addr, in sends of @piece bytes, and
 * checks what the mock received: its size and SHA-256. Returns the time it
 * took (us). */
static gint64
upload (const char *addr, const guint8 *data, gsize len, gsize piece)
{
  g_autofree char *head = g_strdup_printf ("POST /upload HTTP/1.1\r\nHost: link\r\n"
                                           "Content-Length: %" G_GSIZE_FORMAT "\r\n\r\n", len);
  g_autofree char *sha = g_compute_checksum_for_data (G_CHECKSUM_SHA256, data, len);
  g_autoptr(PorticoTestResponse) resp = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  gint64 start = g_get_monotonic_time ();
  JsonObject *json;
  gsize off;
  int fd = portico_test_connect (addr);

  g_assert_cmpint (fd, >=, 0);
  g_assert_true (portico_test_send_all (fd, head, -1));
  for (off = 0; off < len; off += piece)
    g_assert_true (portico_test_send_all (fd, data + off, MIN (piece, len - off)));
  resp = portico_test_read_response (fd, FALSE, 60000);
  close (fd);
  g_assert_nonnull (resp);
  g_assert_cmpint (resp->status, ==, 200);
  text = portico_test_response_body_string (resp);
  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  json = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpint (json_object_get_int_member (json, "body_bytes"), ==, (gint64) len);
  g_assert_cmpstr (json_object_get_string_member (json, "body_sha256"), ==, sha);
  return g_get_monotonic_time () - start;
}

static guint8 *
random_bytes (gsize len)
{
  guint8 *data = g_malloc (len);
  gsize i;

  for (i = 0; i < len; i++)
    data[i] = (guint8) g_test_rand_int_range (0, 256);
  return data;
}

/* Whether the connection ends (reset or closed) without a byte of answer. */
static gboolean
ends_without_answer (int fd)
{
  char c;
  ssize_t n;

  do
    n = recv (fd, &c, 1, 0);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    g_test_message ("recv: %s", g_strerror (errno));
  /* The socket has a 5 s receive timeout: EAGAIN means it stayed open. */
  return n == 0 || (n < 0 && (errno == ECONNRESET || errno == EPIPE));
}

/* A loopback port nothing listens on. */
static char *
refusing_address (void)
{
  struct sockaddr_in sin = { .sin_family = AF_INET };
  socklen_t len = sizeof sin;
  int fd = socket (AF_INET, SOCK_STREAM, 0);

  sin.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &sin, sizeof sin), ==, 0);
  g_assert_cmpint (getsockname (fd, (struct sockaddr *) &sin, &len), ==, 0);
  close (fd);
  return g_strdup_printf ("127.0.0.1:%u", ntohs (sin.sin_port));
}

/* ------------------------------------------------------------------------ */
/* Tests */

static void
check_relay_both_ways (PorticoEventBackend backend)
{
  const gsize size = 10 * ONE_MIB;
  g_autoptr(PorticoProc) mock = portico_mock_spawn (NULL);
  g_autoptr(LinkLab) lab = link_lab_new_backend (portico_proc_address (mock, 0), &no_props, backend);
  g_autofree char *path = g_strdup_printf ("/bytes/%" G_GSIZE_FORMAT, size);
  g_autofree char *expected_sha = pattern_sha256 (size);
  g_autofree guint8 *data = random_bytes (size);
  g_autoptr(PorticoTestResponse) resp = NULL;
  PorticoLinkStats stats;
  gint64 start = g_get_monotonic_time (), down_us, up_us, direct_us;

  resp = get_discard (lab->address, path);
  down_us = g_get_monotonic_time () - start;
  g_assert_nonnull (resp);
  g_assert_cmpint (resp->status, ==, 200);
  g_assert_true (resp->complete);
  g_assert_cmpuint (resp->body_length, ==, size);
  g_assert_cmpstr (resp->body_sha256, ==, expected_sha);

  up_us = upload (lab->address, data, size, 64 * 1024);
  direct_us = timed_get (portico_proc_address (mock, 0), size);
  g_test_message ("10 MiB through the link: down %" G_GINT64_FORMAT " us, up %" G_GINT64_FORMAT
                  " us; down without the link: %" G_GINT64_FORMAT " us", down_us, up_us, direct_us);

  stats = check_counts (lab, 2, 0);
  g_assert_cmpuint (stats.bytes_down, >, size);
  g_assert_cmpuint (stats.bytes_up, >, size);
  g_assert_cmpuint (stats.bytes_down, <, size + 64 * 1024);
  g_assert_cmpuint (stats.bytes_up, <, size + 64 * 1024);
  g_assert_cmpint (portico_proc_stop (mock), ==, 0);
}

static void
test_relay (void)
{
  g_test_summary ("A 10 MiB body goes through a link byte-exact both ways: a download from "
                  "the mock's /bytes/N and an upload to /upload, sizes and SHA-256 equal.");
  check_relay_both_ways (PORTICO_EVENT_BACKEND_EPOLL);
}

static void
test_relay_poll (void)
{
  g_test_summary ("The same relay on the poll backend (one GLib source per socket).");
  check_relay_both_ways (PORTICO_EVENT_BACKEND_POLL);
}

static void
test_latency (void)
{
  g_autoptr(PorticoProc) mock = portico_mock_spawn (NULL);
  g_autoptr(LinkLab) lab = link_lab_new (portico_proc_address (mock, 0), &no_props);
  PorticoLinkProps slow = { .latency_ms = 100 };
  gint64 fast = G_MAXINT64, delayed;
  int i;

  g_test_summary ("Through a 100 ms link a request and its answer take at least 200 ms "
                  "(one way each); through a 0 ms link, far less. The change is made "
                  "while the link runs, and applies to the next request.");

  for (i = 0; i < 3; i++)
    fast = MIN (fast, timed_get (lab->address, 100));
  link_lab_set (lab, &slow);
  delayed = timed_get (lab->address, 100);
  g_test_message ("0 ms link: %" G_GINT64_FORMAT " us, 100 ms link: %" G_GINT64_FORMAT " us",
                  fast, delayed);
  g_assert_cmpint (delayed, >=, 200 * MS);
  g_assert_cmpint (fast * 2, <, delayed);
  g_assert_cmpint (portico_proc_stop (mock), ==, 0);
}

/* One GET of /bytes/100 on @fd (kept alive): its time in us. */
static gint64
timed_get_on (int fd)
{
  static const char request[] = "GET /bytes/100 HTTP/1.1\r\nHost: link\r\n\r\n";
  gint64 start = g_get_monotonic_time ();
  g_assert_true (portico_test_send_all (fd, request, sizeof request - 1));
  g_autoptr(PorticoTestResponse) resp = portico_test_read_response (fd, FALSE, 5000);
  g_assert_nonnull (resp);
  g_assert_cmpint (resp->status, ==, 200);
  return g_get_monotonic_time () - start;
}

static void
test_handshake (void)
{
  g_autoptr(PorticoProc) mock = portico_mock_spawn (NULL);
  PorticoLinkProps props = { .latency_ms = 50 };
  g_autoptr(LinkLab) lab = link_lab_new (portico_proc_address (mock, 0), &props);
  gint64 first, second;
  int fd;

  g_test_summary ("A new connection through a 50 ms link pays the handshake's round trip: "
                  "connect and first request take at least 4 x 50 ms (SYN, SYN-ACK, the "
                  "request, the answer); the next request on the same connection, 2 x 50 ms, "
                  "and clearly less than the first.");
  fd = portico_test_connect (lab->address);
  g_assert_cmpint (fd, >=, 0);
  first = timed_get_on (fd);
  second = timed_get_on (fd);
  g_test_message ("first request %" G_GINT64_FORMAT " us, second %" G_GINT64_FORMAT " us", first, second);
  g_assert_cmpint (first, >=, 200 * MS);
  g_assert_cmpint (second, >=, 100 * MS);
  g_assert_cmpint (second + 50 * MS, <=, first);
  close (fd);
  g_assert_cmpint (portico_proc_stop (mock), ==, 0);
}

static void
test_jitter_keeps_order (void)
{
  g_autoptr(PorticoProc) mock = portico_mock_spawn ("--chunked", "--body-bytes", "3000000", NULL);
  PorticoLinkProps props = { .latency_ms = 2, .jitter_ms = 40 };
  g_autoptr(LinkLab) lab = link_lab_new (portico_proc_address (mock, 0), &props);
  g_autoptr(PorticoTestResponse) resp = NULL;
  g_autofree guint8 *data = random_bytes (ONE_MIB);
  g_autofree char *expected_sha = pattern_sha256 (3000000);
  int fd;

  g_test_summary ("With jitter far above the latency, every chunk of a streamed body is "
                  "delayed by a different amount, yet the bytes arrive in order: a chunked "
                  "3 MB answer follows the mock's pattern byte for byte, and a 1 MiB upload "
                  "sent in 4 KiB pieces has the same SHA-256 at the mock.");

  fd = portico_test_connect (lab->address);
  g_assert_cmpint (fd, >=, 0);
  g_assert_true (portico_test_send_all (fd, "GET / HTTP/1.1\r\nHost: link\r\n\r\n", -1));
  resp = portico_test_read_response (fd, FALSE, 60000);
  close (fd);
  g_assert_nonnull (resp);
  g_assert_true (resp->chunked);
  g_assert_true (resp->complete);
  g_assert_cmpuint (resp->body_length, ==, 3000000);
  g_assert_cmpstr (resp->body_sha256, ==, expected_sha);

  upload (lab->address, data, ONE_MIB, 4096);
  g_assert_cmpint (portico_proc_stop (mock), ==, 0);
}

static void
test_bandwidth (void)
{
  g_autoptr(PorticoProc) mock = portico_mock_spawn (NULL);
  PorticoLinkProps limited = { .bandwidth_bps = ONE_MIB };
  g_autoptr(LinkLab) lab = link_lab_new (portico_proc_address (mock, 0), &limited);
  g_autofree guint8 *data = random_bytes (ONE_MIB);
  gint64 down_limited, up_limited, down_free;

  g_test_summary ("At 1 MiB/s a 1 MiB body takes at least 0.8 s each way (the bucket "
                  "holds 20 ms of traffic); unlimited, the same download is much faster.");

  down_limited = timed_get (lab->address, ONE_MIB);
  up_limited = upload (lab->address, data, ONE_MIB, 64 * 1024);
  link_lab_set (lab, &no_props);
  down_free = timed_get (lab->address, ONE_MIB);
  g_test_message ("1 MiB at 1 MiB/s: down %" G_GINT64_FORMAT " us, up %" G_GINT64_FORMAT
                  " us; unlimited: %" G_GINT64_FORMAT " us", down_limited, up_limited, down_free);
  g_assert_cmpint (down_limited, >=, 800 * MS);
  g_assert_cmpint (up_limited, >=, 800 * MS);
  g_assert_cmpint (down_free * 4, <, down_limited);
  g_assert_cmpint (portico_proc_stop (mock), ==, 0);
}

/* Opens @n connections through the link, sends a request on each, and
 * returns how many ended without an answer. */
static guint
count_resets (LinkLab *lab, guint n)
{
  guint ended = 0, i;

  for (i = 0; i < n; i++)
    {
      int fd = portico_test_connect (lab->address);

      g_assert_cmpint (fd, >=, 0);
      g_assert_true (portico_test_send_all (fd, "GET /bytes/10 HTTP/1.1\r\nHost: link\r\n\r\n", -1));
      if (ends_without_answer (fd))
        ended++;
      close (fd);
    }
  return ended;
}

static void
test_reset_ratio (void)
{
  g_autoptr(PorticoProc) mock = portico_mock_spawn (NULL);
  PorticoLinkProps all = { .reset_ratio = 1.0 };
  PorticoLinkProps half = { .reset_ratio = 0.5 };
  g_autoptr(LinkLab) lab = link_lab_new (portico_proc_address (mock, 0), &all);
  PorticoLinkStats stats;

  g_test_summary ("reset_ratio 1.0 resets every connection at its first bytes (the client "
                  "gets ECONNRESET or a close, no answer); 0.5 resets exactly every other one.");

  g_assert_cmpuint (count_resets (lab, 5), ==, 5);
  stats = check_counts (lab, 5, 5);
  g_assert_cmpuint (stats.bytes_up, ==, 0);

  link_lab_set (lab, &half);
  g_assert_cmpuint (count_resets (lab, 10), ==, 5);
  check_counts (lab, 15, 10);
  g_assert_cmpint (portico_proc_stop (mock), ==, 0);
}

static void
test_down (void)
{
  g_autoptr(PorticoProc) mock = portico_mock_spawn (NULL);
  g_autoptr(LinkLab) lab = link_lab_new (portico_proc_address (mock, 0), &no_props);
  PorticoLinkProps down = { .down = TRUE };
  g_autoptr(PorticoTestResponse) first = NULL;
  int live, refused;

  g_test_summary ("Taking a link down resets its live connections and closes new ones at "
                  "once; bringing it up again lets requests through.");

  live = portico_test_connect (lab->address);
  g_assert_cmpint (live, >=, 0);
  g_assert_true (portico_test_send_all (live, "GET /bytes/10 HTTP/1.1\r\nHost: link\r\n\r\n", -1));
  first = portico_test_read_response (live, FALSE, 10000);
  g_assert_nonnull (first);
  g_assert_cmpint (first->status, ==, 200);

  link_lab_set (lab, &down);
  g_assert_true (ends_without_answer (live));
  close (live);

  refused = portico_test_connect (lab->address);
  g_assert_cmpint (refused, >=, 0);
  g_assert_true (portico_test_is_closed (refused, 5000));
  close (refused);

  link_lab_set (lab, &no_props);
  g_assert_cmpint (timed_get (lab->address, 10), >, 0);

  check_counts (lab, 3, 1);
  g_assert_cmpint (portico_proc_stop (mock), ==, 0);
}

static void
test_stats (void)
{
  const char *request = "GET /bytes/1000 HTTP/1.1\r\nHost: link\r\n\r\n";
  g_autoptr(PorticoProc) mock = portico_mock_spawn (NULL);
  g_autoptr(LinkLab) lab = link_lab_new (portico_proc_address (mock, 0), &no_props);
  guint64 down = 0;
  PorticoLinkStats stats;
  int i;

  g_test_summary ("The stats count every connection and exactly the bytes relayed each way: "
                  "the requests sent up, the heads and bodies the client read down.");

  for (i = 0; i < 3; i++)
    {
      g_autoptr(PorticoTestResponse) resp = portico_test_request (lab->address, request);

      g_assert_nonnull (resp);
      g_assert_cmpint (resp->status, ==, 200);
      down += resp->raw_head->len + resp->body_length;
    }
  stats = check_counts (lab, 3, 0);
  g_assert_cmpuint (stats.bytes_up, ==, 3 * strlen (request));
  g_assert_cmpuint (stats.bytes_down, ==, down);
  g_assert_cmpint (portico_proc_stop (mock), ==, 0);
}

static void
test_concurrent (void)
{
  const guint n = 200;
  g_autoptr(PorticoProc) mock = portico_mock_spawn (NULL);
  PorticoLinkProps props = { .latency_ms = 20, .jitter_ms = 10 };
  g_autoptr(LinkLab) lab = link_lab_new (portico_proc_address (mock, 0), &props);
  g_autofree int *fds = g_new (int, n);
  guint i, ok = 0;

  g_test_summary ("200 connections open at once through one link (with latency) each get "
                  "their own whole answer (its size and SHA-256 are the ones asked for).");

  for (i = 0; i < n; i++)
    {
      fds[i] = portico_test_connect (lab->address);
      g_assert_cmpint (fds[i], >=, 0);
    }
  for (i = 0; i < n; i++)
    {
      g_autofree char *request = g_strdup_printf ("GET /bytes/%u HTTP/1.1\r\nHost: link\r\n\r\n",
                                                  1000 + i);

      g_assert_true (portico_test_send_all (fds[i], request, -1));
    }
  for (i = 0; i < n; i++)
    {
      g_autoptr(PorticoTestResponse) resp = portico_test_read_response (fds[i], FALSE, 30000);
      g_autofree char *sha = pattern_sha256 (1000 + i);

      if (resp && resp->status == 200 && g_strcmp0 (resp->body_sha256, sha) == 0)
        ok++;
      close (fds[i]);
    }
  g_assert_cmpuint (ok, ==, n);
  check_counts (lab, n, 0);
  g_assert_cmpint (portico_proc_stop (mock), ==, 0);
}

static void
test_target_refuses (void)
{
  g_autofree char *nowhere = refusing_address ();
  g_autoptr(LinkLab) lab = link_lab_new (nowhere, &no_props);
  int fd;

  g_test_summary ("When the target refuses, the connection the link accepted is closed.");

  fd = portico_test_connect (lab->address);
  g_assert_cmpint (fd, >=, 0);
  g_assert_true (portico_test_is_closed (fd, 5000));
  close (fd);
  check_counts (lab, 1, 0);
}

static void
test_half_close (void)
{
  const char *message = "bytes that must arrive before the shutdown";
  g_autoptr(PorticoRawServer) recorder = portico_raw_server_new_recorder ();
  PorticoLinkProps props = { .latency_ms = 50 };
  g_autoptr(LinkLab) lab = link_lab_new (portico_raw_server_address (recorder), &props);
  g_autoptr(GBytes) rest = NULL;
  g_autoptr(GBytes) received = NULL;
  guint accepted = 0, closed = 0;
  gint64 deadline;
  int fd;

  g_test_summary ("A client's shutdown(SHUT_WR) reaches the target after the bytes the link "
                  "still delays, and the target's close comes back to the client as EOF.");

  fd = portico_test_connect (lab->address);
  g_assert_cmpint (fd, >=, 0);
  g_assert_true (portico_test_send_all (fd, message, -1));
  g_assert_cmpint (shutdown (fd, SHUT_WR), ==, 0);
  rest = portico_test_read_until_close (fd, 5000);
  close (fd);
  g_assert_nonnull (rest);
  g_assert_cmpuint (g_bytes_get_size (rest), ==, 0);

  deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  do
    {
      portico_raw_server_counts (recorder, &accepted, &closed);
      if (closed < 1)
        g_usleep (10 * 1000);
    }
  while (closed < 1 && g_get_monotonic_time () < deadline);
  g_assert_cmpuint (accepted, ==, 1);
  g_assert_cmpuint (closed, ==, 1);
  received = portico_raw_server_received_bytes (recorder);
  g_assert_cmpmem (g_bytes_get_data (received, NULL), g_bytes_get_size (received),
                   message, strlen (message));
}

static void
test_back_pressure (void)
{
  const gsize cap = 256 * ONE_MIB;
  const int small_buf = 64 * 1024;
  struct sockaddr_in sin = { .sin_family = AF_INET };
  socklen_t len = sizeof sin;
  int sink = socket (AF_INET, SOCK_STREAM, 0);
  g_autofree char *sink_addr = NULL;
  g_autoptr(LinkLab) lab = NULL;
  g_autofree char *block = g_malloc0 (64 * 1024);
  gsize sent = 0;
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  int fd;

  g_test_summary ("A target that never reads stops the client: the link holds at most about "
                  "1 MiB per direction and stops reading, so what the client manages to send "
                  "is bounded by that and the kernels' socket buffers (tens of MiB at most), "
                  "not by the 256 MiB the client tries.");

  /* A listener that never accepts: the kernel completes the connect, nothing reads. */
  sin.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  /* Small buffers on the test's own sockets (the sink's are inherited from
   * its listener) keep the kernels' share of the chain small. */
  setsockopt (sink, SOL_SOCKET, SO_RCVBUF, &small_buf, sizeof small_buf);
  g_assert_cmpint (bind (sink, (struct sockaddr *) &sin, sizeof sin), ==, 0);
  g_assert_cmpint (listen (sink, 4), ==, 0);
  g_assert_cmpint (getsockname (sink, (struct sockaddr *) &sin, &len), ==, 0);
  sink_addr = g_strdup_printf ("127.0.0.1:%u", ntohs (sin.sin_port));
  lab = link_lab_new (sink_addr, &no_props);

  fd = portico_test_connect (lab->address);
  g_assert_cmpint (fd, >=, 0);
  setsockopt (fd, SOL_SOCKET, SO_SNDBUF, &small_buf, sizeof small_buf);
  while (sent < cap && g_get_monotonic_time () < deadline)
    {
      struct pollfd pfd = { .fd = fd, .events = POLLOUT };
      ssize_t n;

      /* A second without room to write: the chain is full. */
      if (poll (&pfd, 1, 1000) <= 0)
        break;
      n = send (fd, block, 64 * 1024, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0 && (errno == EAGAIN || errno == EINTR))
        continue;
      g_assert_cmpint (n, >, 0);
      sent += (gsize) n;
    }
  g_test_message ("the client sent %" G_GSIZE_FORMAT " bytes before it stalled", sent);
  g_assert_cmpuint (sent, >, ONE_MIB);
  g_assert_cmpuint (sent, <, 64 * ONE_MIB);
  close (fd);
  close (sink);
}

static void
test_bad_addresses (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  PorticoLoop *loop = portico_loop_new (context, PORTICO_EVENT_BACKEND_EPOLL);
  g_autoptr(GError) error = NULL;
  PorticoLink *link;

  g_test_summary ("A link whose target is not an address, or that cannot listen (the port "
                  "is taken), is NULL with an error.");

  link = portico_link_new (loop, "127.0.0.1:0", "no-port-here", &no_props, &error);
  g_assert_null (link);
  g_assert_nonnull (error);
  g_clear_error (&error);
  link = portico_link_new (loop, "127.0.0.1:0", "127.0.0.1:80", &no_props, &error);
  g_assert_no_error (error);
  g_assert_nonnull (link);
  g_assert_null (portico_link_new (loop, portico_link_address (link), "127.0.0.1:80", &no_props,
                                   &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE);
  portico_link_free (link);
  portico_loop_free (loop);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/lab/link/relay/both-ways", test_relay);
  g_test_add_func ("/lab/link/relay/both-ways-poll", test_relay_poll);
  g_test_add_func ("/lab/link/latency", test_latency);
  g_test_add_func ("/lab/link/handshake", test_handshake);
  g_test_add_func ("/lab/link/jitter-keeps-order", test_jitter_keeps_order);
  g_test_add_func ("/lab/link/bandwidth", test_bandwidth);
  g_test_add_func ("/lab/link/reset-ratio", test_reset_ratio);
  g_test_add_func ("/lab/link/down", test_down);
  g_test_add_func ("/lab/link/stats", test_stats);
  g_test_add_func ("/lab/link/concurrent", test_concurrent);
  g_test_add_func ("/lab/link/target-refuses", test_target_refuses);
  g_test_add_func ("/lab/link/half-close", test_half_close);
  g_test_add_func ("/lab/link/back-pressure", test_back_pressure);
  g_test_add_func ("/lab/link/bad-addresses", test_bad_addresses);
  return g_test_run ();
}
