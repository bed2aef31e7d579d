/* tests/integration/harness-server.c - see harness.h: the raw upstream, a
 * plain socket server on its own thread that either answers every request
 * with fixed bytes or records every byte it is sent.
 */
#include "harness-private.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RAW_HEAD_TIMEOUT_MS 5000
#define RAW_DRAIN_TIMEOUT_MS 1000
#define RAW_RECORD_TIMEOUT_MS 5000

struct _PorticoRawServer
{
  int listen_fd;
  char *address;
  GBytes *response;
  gboolean close_after;
  gboolean recorder;            /* records, never answers */
  GThread *thread;
  gint stopping;                /* atomic */
  gint connections;             /* atomic; changed under @lock */
  GMutex lock;
  char *last_request;
  GByteArray *received;         /* what was read from the last connection */
  guint closed_by_peer;
  GArray *open_fds;             /* the thread's until joined */
};

static void
raw_server_answer (PorticoRawServer *server, int fd)
{
  g_autoptr(GString) head = g_string_new (NULL);
  PorticoReadResult result;
  gsize size = 0;
  const void *data = g_bytes_get_data (server->response, &size);

  result = portico_harness_read_until (fd, "\r\n\r\n", HEAD_MAX, head,
                                       deadline_after (RAW_HEAD_TIMEOUT_MS), &server->stopping);
  g_mutex_lock (&server->lock);
  g_free (server->last_request);
  server->last_request = g_strdup (head->str);
  g_byte_array_append (server->received, (const guint8 *) head->str, head->len);
  g_mutex_unlock (&server->lock);

  if (result != READ_EOF && result != READ_ERROR)
    portico_harness_send_all (fd, data, size);

  if (!server->close_after)
    {
      g_array_append_val (server->open_fds, fd);
      return;
    }
  /* Lingering close: a request body left unread would make close() send a
   * reset, and the peer could lose the response before reading it. */
  shutdown (fd, SHUT_WR);
  {
    gint64 deadline = deadline_after (RAW_DRAIN_TIMEOUT_MS);
    char buf[4096];

    while (portico_harness_wait_readable (fd, deadline, &server->stopping) &&
           recv (fd, buf, sizeof buf, 0) > 0)
      ;
  }
  close (fd);
}

/* Keeps every byte until the peer closes, or RAW_RECORD_TIMEOUT_MS passes. */
static void
raw_server_record (PorticoRawServer *server, int fd)
{
  gint64 deadline = deadline_after (RAW_RECORD_TIMEOUT_MS);
  gboolean closed = FALSE;
  char buf[4096];

  while (!closed && portico_harness_wait_readable (fd, deadline, &server->stopping))
    {
      gssize n = recv (fd, buf, sizeof buf, 0);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        closed = TRUE;
      else
        {
          g_mutex_lock (&server->lock);
          g_byte_array_append (server->received, (const guint8 *) buf, (guint) n);
          g_mutex_unlock (&server->lock);
        }
    }
  close (fd);
  g_mutex_lock (&server->lock);
  if (closed)
    server->closed_by_peer++;
  g_mutex_unlock (&server->lock);
}

static gpointer
raw_server_thread (gpointer data)
{
  PorticoRawServer *server = data;

  while (!g_atomic_int_get (&server->stopping))
    {
      struct pollfd pfd = { .fd = server->listen_fd, .events = POLLIN };
      int fd;

      if (poll (&pfd, 1, POLL_SLICE_MS) <= 0)
        continue;
      fd = accept4 (server->listen_fd, NULL, NULL, SOCK_CLOEXEC);
      if (fd < 0)
        continue;
      /* One step, so that a reader never sees the new count with the
       * previous connection's bytes. */
      g_mutex_lock (&server->lock);
      g_atomic_int_inc (&server->connections);
      g_byte_array_set_size (server->received, 0);
      g_mutex_unlock (&server->lock);
      if (server->recorder)
        raw_server_record (server, fd);
      else
        raw_server_answer (server, fd);
    }
  return NULL;
}

static PorticoRawServer *
raw_server_start (GBytes *response, gboolean close_after, gboolean recorder)
{
  PorticoRawServer *server = g_new0 (PorticoRawServer, 1);
  struct sockaddr_in sin = { .sin_family = AF_INET };
  socklen_t sin_len = sizeof sin;
  int one = 1;

  sin.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  server->listen_fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (server->listen_fd, >=, 0);
  setsockopt (server->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  g_assert_cmpint (bind (server->listen_fd, (struct sockaddr *) &sin, sizeof sin), ==, 0);
  g_assert_cmpint (listen (server->listen_fd, 64), ==, 0);
  g_assert_cmpint (getsockname (server->listen_fd, (struct sockaddr *) &sin, &sin_len), ==, 0);

  server->address = g_strdup_printf ("127.0.0.1:%u", ntohs (sin.sin_port));
  server->response = response;
  server->close_after = close_after;
  server->recorder = recorder;
  server->received = g_byte_array_new ();
  server->open_fds = g_array_new (FALSE, FALSE, sizeof (int));
  g_mutex_init (&server->lock);
  server->thread = g_thread_new ("portico-raw-server", raw_server_thread, server);
  return server;
}

PorticoRawServer *
portico_raw_server_new_bytes (const void *response, gsize len, gboolean close_after)
{
  return raw_server_start (g_bytes_new (response, len), close_after, FALSE);
}

PorticoRawServer *
portico_raw_server_new (const char *response, gboolean close_after)
{
  return portico_raw_server_new_bytes (response, strlen (response), close_after);
}

PorticoRawServer *
portico_raw_server_new_recorder (void)
{
  return raw_server_start (NULL, TRUE, TRUE);
}

const char *
portico_raw_server_address (PorticoRawServer *server)
{
  return server->address;
}

guint
portico_raw_server_connections (PorticoRawServer *server)
{
  return (guint) g_atomic_int_get (&server->connections);
}

void
portico_raw_server_counts (PorticoRawServer *server, guint *accepted, guint *closed_by_peer)
{
  g_mutex_lock (&server->lock);
  *accepted = (guint) g_atomic_int_get (&server->connections);
  *closed_by_peer = server->closed_by_peer;
  g_mutex_unlock (&server->lock);
}

char *
portico_raw_server_last_request (PorticoRawServer *server)
{
  char *copy;

  g_mutex_lock (&server->lock);
  copy = g_strdup (server->last_request);
  g_mutex_unlock (&server->lock);
  return copy;
}

GBytes *
portico_raw_server_received_bytes (PorticoRawServer *server)
{
  GBytes *bytes;

  g_mutex_lock (&server->lock);
  bytes = g_bytes_new (server->received->data, server->received->len);
  g_mutex_unlock (&server->lock);
  return bytes;
}

gboolean
portico_raw_server_wait_head (PorticoRawServer *server, guint before, int timeout_ms)
{
  gint64 deadline = deadline_after (timeout_ms);

  for (;;)
    {
      gboolean done;

      g_mutex_lock (&server->lock);
      done = (guint) g_atomic_int_get (&server->connections) > before &&
             memmem (server->received->data, server->received->len, "\r\n\r\n", 4) != NULL;
      g_mutex_unlock (&server->lock);
      if (done || g_get_monotonic_time () >= deadline)
        return done;
      g_usleep (10 * 1000);
    }
}

void
portico_raw_server_free (PorticoRawServer *server)
{
  guint i;

  if (server == NULL)
    return;
  g_atomic_int_set (&server->stopping, 1);
  g_thread_join (server->thread);
  for (i = 0; i < server->open_fds->len; i++)
    close (g_array_index (server->open_fds, int, i));
  g_array_unref (server->open_fds);
  close (server->listen_fd);
  g_clear_pointer (&server->response, g_bytes_unref);
  g_byte_array_unref (server->received);
  g_free (server->address);
  g_free (server->last_request);
  g_mutex_clear (&server->lock);
  g_free (server);
}
