/* lab/mock-tap.c - the mock's side of the wire beneath SoupServer: a client
 * connection that remembers request heads as sent, /echo's report of a
 * request as received, and responses cut short.
 *
 * The tap follows the request stream with just enough HTTP/1.1 to find where
 * each head starts: a head ends at its blank line, then the body is skipped
 * by Content-Length or by chunk sizes.  It never rejects anything; SoupServer
 * does the real parsing and the caller checks that a recorded head is the one
 * libsoup parsed.  Recording per read (not per request-started) matters
 * because libsoup reads ahead: the next head is often in its buffer before
 * the current response is done.
 */
#include "lab/mock-tap.h"

#include <string.h>

#define TAP_HEAD_MAX (64 * 1024)
#define TAP_LINE_MAX 4096
#define TAP_QUEUE_MAX 64

gboolean
portico_mock_head_parse (const char *text, PorticoMockHead *head)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  g_auto(GStrv) parts = NULL;
  guint i;

  memset (head, 0, sizeof *head);
  head->fields = g_ptr_array_new_with_free_func (g_free);
  for (i = 0; lines[i]; i++)
    {
      gsize len = strlen (lines[i]);

      if (len > 0 && lines[i][len - 1] == '\r')
        lines[i][len - 1] = '\0';
    }
  if (lines[0] == NULL)
    return FALSE;

  parts = g_strsplit (lines[0], " ", 3);
  if (g_strv_length (parts) != 3 || strchr (parts[2], ' '))
    return FALSE;
  head->method = g_strdup (parts[0]);
  head->target = g_strdup (parts[1]);
  head->version = g_strdup (parts[2]);

  for (i = 1; lines[i] && lines[i][0]; i++)
    {
      const char *line = lines[i];
      const char *colon;

      if (line[0] == ' ' || line[0] == '\t')
        {
          char *prev, *joined;

          if (head->fields->len == 0)
            return FALSE;
          prev = g_ptr_array_index (head->fields, head->fields->len - 1);
          joined = g_strconcat (prev, " ", line + strspn (line, " \t"), NULL);
          g_free (prev);
          g_ptr_array_index (head->fields, head->fields->len - 1) = g_strstrip (joined);
          continue;
        }
      colon = strchr (line, ':');
      if (colon == NULL || colon == line)
        return FALSE;
      g_ptr_array_add (head->fields, g_strndup (line, colon - line));
      g_ptr_array_add (head->fields, g_strstrip (g_strdup (colon + 1)));
    }
  return TRUE;
}

void
portico_mock_head_clear (PorticoMockHead *head)
{
  g_clear_pointer (&head->method, g_free);
  g_clear_pointer (&head->target, g_free);
  g_clear_pointer (&head->version, g_free);
  g_clear_pointer (&head->fields, g_ptr_array_unref);
}

/* ------------------------------------------------------------------------ */
/* PorticoMockTap: the input side, recording as it passes bytes through. */

typedef enum
{
  TAP_HEAD,
  TAP_BODY,                     /* skipping `remaining` body bytes */
  TAP_CHUNK_SIZE,
  TAP_CHUNK_DATA,               /* skipping `remaining` chunk bytes */
  TAP_CHUNK_END,                /* the CRLF after chunk data */
  TAP_TRAILER,
  TAP_LOST,
} PorticoMockTapState;

G_DECLARE_FINAL_TYPE (PorticoMockTap, portico_mock_tap, PORTICO, MOCK_TAP, GFilterInputStream)

struct _PorticoMockTap
{
  GFilterInputStream parent;
  PorticoMockTapState state;
  GByteArray *line;             /* the head or the line being read */
  guint64 remaining;
  GQueue heads;                 /* char *, oldest first */
  GSocket *socket;              /* the connection's, to close at an idle end */
  guint held;                   /* requests arrived and not answered yet */
  gboolean failed;              /* a read failed (a reset): the connection is dead */
};

static void portico_mock_tap_pollable_init (GPollableInputStreamInterface *iface);

G_DEFINE_TYPE_WITH_CODE (PorticoMockTap, portico_mock_tap, G_TYPE_FILTER_INPUT_STREAM,
                         G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_INPUT_STREAM,
                                                portico_mock_tap_pollable_init))

/* What follows a head: the body framing of RFC 9112, section 6. */
static PorticoMockTapState
tap_framing (const char *text, guint64 *length)
{
  PorticoMockHead head;
  PorticoMockTapState next = TAP_HEAD;
  gboolean have_length = FALSE;
  guint i;

  *length = 0;
  if (!portico_mock_head_parse (text, &head))
    {
      portico_mock_head_clear (&head);
      return TAP_LOST;
    }
  for (i = 0; i < head.fields->len && next != TAP_LOST; i += 2)
    {
      const char *name = g_ptr_array_index (head.fields, i);
      const char *value = g_ptr_array_index (head.fields, i + 1);
      guint64 n;

      if (g_ascii_strcasecmp (name, "Transfer-Encoding") == 0)
        {
          const char *last = strrchr (value, ',');

          last = last ? last + 1 : value;
          last += strspn (last, " \t");
          next = g_ascii_strcasecmp (last, "chunked") == 0 ? TAP_CHUNK_SIZE : TAP_LOST;
        }
      else if (g_ascii_strcasecmp (name, "Content-Length") == 0 && next == TAP_HEAD)
        {
          if (!g_ascii_string_to_unsigned (value, 10, 0, G_MAXINT64, &n, NULL) ||
              (have_length && n != *length))
            next = TAP_LOST;
          have_length = TRUE;
          *length = n;
        }
    }
  portico_mock_head_clear (&head);
  if (next == TAP_HEAD && *length > 0)
    next = TAP_BODY;
  return next;
}

/* Appends to the current line up to and including a LF.  Returns the bytes
 * used; *done tells whether the line is complete. */
static gsize
tap_take_line (PorticoMockTap *tap, const guint8 *data, gsize n, gsize max, gboolean *done)
{
  const guint8 *lf = memchr (data, '\n', n);
  gsize used = lf ? (gsize) (lf - data) + 1 : n;

  *done = lf != NULL;
  if (tap->line->len + used > max)
    {
      tap->state = TAP_LOST;
      return n;
    }
  g_byte_array_append (tap->line, data, used);
  return used;
}

static gboolean
tap_line_is_empty (PorticoMockTap *tap)
{
  return tap->line->len == 1 || (tap->line->len == 2 && tap->line->data[0] == '\r');
}

static gsize
tap_step_head (PorticoMockTap *tap, const guint8 *data, gsize n)
{
  gsize i = 0;
  const guint8 *h;
  gsize len;
  char *text;

  /* Empty lines before a request line are allowed (RFC 9112, 2.2). */
  if (tap->line->len == 0)
    {
      while (i < n && (data[i] == '\r' || data[i] == '\n'))
        i++;
      if (i == n)
        return n;
    }
  for (; i < n; i++)
    {
      g_byte_array_append (tap->line, data + i, 1);
      if (tap->line->len > TAP_HEAD_MAX)
        {
          tap->state = TAP_LOST;
          return n;
        }
      h = tap->line->data;
      len = tap->line->len;
      if (h[len - 1] != '\n')
        continue;
      if (len >= 2 && (h[len - 2] == '\n' || (len >= 3 && h[len - 2] == '\r' && h[len - 3] == '\n')))
        break;
    }
  if (i == n)
    return n;

  /* Keep the head up to the end of its last header line. */
  len = tap->line->len - (tap->line->data[tap->line->len - 2] == '\r' ? 2 : 1);
  text = g_strndup ((const char *) tap->line->data, len);
  g_byte_array_set_size (tap->line, 0);
  tap->state = tap_framing (text, &tap->remaining);
  if (tap->state == TAP_LOST || g_queue_get_length (&tap->heads) >= TAP_QUEUE_MAX)
    {
      tap->state = TAP_LOST;
      g_free (text);
    }
  else
    g_queue_push_tail (&tap->heads, text);
  return i + 1;
}

static gsize
tap_step (PorticoMockTap *tap, const guint8 *data, gsize n)
{
  gboolean done = FALSE;
  gsize used;
  guint64 size;
  char *end = NULL;

  switch (tap->state)
    {
    case TAP_HEAD:
      return tap_step_head (tap, data, n);

    case TAP_BODY:
    case TAP_CHUNK_DATA:
      used = MIN ((guint64) n, tap->remaining);
      tap->remaining -= used;
      if (tap->remaining == 0)
        tap->state = tap->state == TAP_BODY ? TAP_HEAD : TAP_CHUNK_END;
      return used;

    case TAP_CHUNK_SIZE:
      used = tap_take_line (tap, data, n, TAP_LINE_MAX, &done);
      if (!done || tap->state == TAP_LOST)
        return used;
      g_byte_array_append (tap->line, (const guint8 *) "", 1);
      size = g_ascii_strtoull ((const char *) tap->line->data, &end, 16);
      if (end == (char *) tap->line->data)
        tap->state = TAP_LOST;
      else if (size == 0)
        tap->state = TAP_TRAILER;
      else
        {
          tap->remaining = size;
          tap->state = TAP_CHUNK_DATA;
        }
      g_byte_array_set_size (tap->line, 0);
      return used;

    case TAP_CHUNK_END:
    case TAP_TRAILER:
      used = tap_take_line (tap, data, n, TAP_LINE_MAX, &done);
      if (!done || tap->state == TAP_LOST)
        return used;
      if (tap->state == TAP_CHUNK_END)
        tap->state = TAP_CHUNK_SIZE;
      else if (tap_line_is_empty (tap))
        tap->state = TAP_HEAD;
      g_byte_array_set_size (tap->line, 0);
      return used;

    case TAP_LOST:
    default:
      return n;
    }
}

/* libsoup 3.2 reads the end of an idle keep-alive connection (or a reset)
 * and then forgets it, socket open, until the server is disconnected: a
 * descriptor lost per connection a client closes.  So the tap closes the
 * socket itself once nothing more can be read or written on it: after a
 * reset when no request is in flight (or when the last one finishes), after
 * an end of stream when it comes between requests with none in flight. */
static void
tap_close_if_over (PorticoMockTap *tap, gboolean at_end)
{
  gboolean between = tap->state == TAP_HEAD && tap->line->len == 0;

  if (tap->held == 0 && (tap->failed || (at_end && between)) && !g_socket_is_closed (tap->socket))
    g_socket_close (tap->socket, NULL);
}

/* @error is the read's, when it failed. */
static void
tap_record (PorticoMockTap *tap, const guint8 *data, gssize n, const GError *error)
{
  if (n < 0 && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    tap->failed = TRUE;
  if (n <= 0)
    tap_close_if_over (tap, n == 0);
  while (n > 0 && tap->state != TAP_LOST)
    {
      gsize used = tap_step (tap, data, n);

      data += used;
      n -= used;
    }
}

static GInputStream *
tap_base (gpointer tap)
{
  return g_filter_input_stream_get_base_stream (G_FILTER_INPUT_STREAM (tap));
}

static gssize
tap_read (GInputStream *stream, void *buffer, gsize count,
          GCancellable *cancellable, GError **error)
{
  GError *local = NULL;
  gssize n = g_input_stream_read (tap_base (stream), buffer, count, cancellable, &local);

  tap_record (PORTICO_MOCK_TAP (stream), buffer, n, local);
  if (local)
    g_propagate_error (error, local);
  return n;
}

static gboolean
tap_can_poll (GPollableInputStream *stream)
{
  return g_pollable_input_stream_can_poll (G_POLLABLE_INPUT_STREAM (tap_base (stream)));
}

static gboolean
tap_is_readable (GPollableInputStream *stream)
{
  return g_pollable_input_stream_is_readable (G_POLLABLE_INPUT_STREAM (tap_base (stream)));
}

static GSource *
tap_create_source (GPollableInputStream *stream, GCancellable *cancellable)
{
  GSource *base_source, *source;

  base_source = g_pollable_input_stream_create_source (G_POLLABLE_INPUT_STREAM (tap_base (stream)),
                                                       NULL);
  source = g_pollable_source_new_full (stream, base_source, cancellable);
  g_source_unref (base_source);
  return source;
}

static gssize
tap_read_nonblocking (GPollableInputStream *stream, void *buffer, gsize count, GError **error)
{
  GError *local = NULL;
  gssize n = g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (tap_base (stream)),
                                                       buffer, count, NULL, &local);

  tap_record (PORTICO_MOCK_TAP (stream), buffer, n, local);
  if (local)
    g_propagate_error (error, local);
  return n;
}

static void
portico_mock_tap_pollable_init (GPollableInputStreamInterface *iface)
{
  iface->can_poll = tap_can_poll;
  iface->is_readable = tap_is_readable;
  iface->create_source = tap_create_source;
  iface->read_nonblocking = tap_read_nonblocking;
}

static void
portico_mock_tap_finalize (GObject *object)
{
  PorticoMockTap *tap = PORTICO_MOCK_TAP (object);

  g_byte_array_unref (tap->line);
  g_queue_clear_full (&tap->heads, g_free);
  g_clear_object (&tap->socket);
  G_OBJECT_CLASS (portico_mock_tap_parent_class)->finalize (object);
}

static void
portico_mock_tap_class_init (PorticoMockTapClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = portico_mock_tap_finalize;
  G_INPUT_STREAM_CLASS (klass)->read_fn = tap_read;
}

static void
portico_mock_tap_init (PorticoMockTap *tap)
{
  tap->line = g_byte_array_new ();
  g_queue_init (&tap->heads);
}

/* ------------------------------------------------------------------------ */
/* PorticoMockConn: the tap plus the socket's own output side. */

struct _PorticoMockConn
{
  GIOStream parent;
  GIOStream *base;              /* the accepted connection, or TLS over it */
  PorticoMockTap *tap;
  GHashTable *registry;         /* peer -> conn, not owned; we hold a ref */
  char *peer;
};

G_DEFINE_TYPE (PorticoMockConn, portico_mock_conn, G_TYPE_IO_STREAM)

static GInputStream *
conn_get_input_stream (GIOStream *stream)
{
  return G_INPUT_STREAM (PORTICO_MOCK_CONN (stream)->tap);
}

static GOutputStream *
conn_get_output_stream (GIOStream *stream)
{
  return g_io_stream_get_output_stream (PORTICO_MOCK_CONN (stream)->base);
}

static gboolean
conn_close (GIOStream *stream, GCancellable *cancellable, GError **error)
{
  return g_io_stream_close (PORTICO_MOCK_CONN (stream)->base, cancellable, error);
}

/* Closing a socket does not block, so the default (a thread) is not needed. */
static void
conn_close_async (GIOStream *stream, int io_priority, GCancellable *cancellable,
                  GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (stream, cancellable, callback, user_data);
  GError *error = NULL;

  if (conn_close (stream, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
  g_object_unref (task);
}

static gboolean
conn_close_finish (GIOStream *stream, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
portico_mock_conn_finalize (GObject *object)
{
  PorticoMockConn *conn = PORTICO_MOCK_CONN (object);

  if (g_hash_table_lookup (conn->registry, conn->peer) == conn)
    g_hash_table_remove (conn->registry, conn->peer);
  g_hash_table_unref (conn->registry);
  g_free (conn->peer);
  g_clear_object (&conn->tap);
  g_clear_object (&conn->base);
  G_OBJECT_CLASS (portico_mock_conn_parent_class)->finalize (object);
}

static void
portico_mock_conn_class_init (PorticoMockConnClass *klass)
{
  GIOStreamClass *io_class = G_IO_STREAM_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = portico_mock_conn_finalize;
  io_class->get_input_stream = conn_get_input_stream;
  io_class->get_output_stream = conn_get_output_stream;
  io_class->close_fn = conn_close;
  io_class->close_async = conn_close_async;
  io_class->close_finish = conn_close_finish;
}

static void
portico_mock_conn_init (PorticoMockConn *conn)
{
}

PorticoMockConn *
portico_mock_conn_new (GIOStream *base, GSocket *socket, GHashTable *registry, const char *peer)
{
  PorticoMockConn *conn = g_object_new (portico_mock_conn_get_type (), NULL);

  conn->base = g_object_ref (base);
  conn->tap = g_object_new (portico_mock_tap_get_type (),
                            "base-stream", g_io_stream_get_input_stream (base),
                            "close-base-stream", FALSE,
                            NULL);
  conn->tap->socket = g_object_ref (socket);
  conn->registry = g_hash_table_ref (registry);
  conn->peer = g_strdup (peer);
  g_hash_table_replace (registry, conn->peer, conn);
  return conn;
}

char *
portico_mock_conn_pop_head (PorticoMockConn *conn)
{
  g_return_val_if_fail (PORTICO_IS_MOCK_CONN (conn), NULL);

  return g_queue_pop_head (&conn->tap->heads);
}

void
portico_mock_conn_hold (PorticoMockConn *conn)
{
  g_return_if_fail (PORTICO_IS_MOCK_CONN (conn));

  conn->tap->held++;
}

guint
portico_mock_conn_release (PorticoMockConn *conn)
{
  g_return_val_if_fail (PORTICO_IS_MOCK_CONN (conn) && conn->tap->held > 0, 0);

  if (--conn->tap->held == 0)
    tap_close_if_over (conn->tap, FALSE);
  return conn->tap->held;
}

guint
portico_mock_conn_held (PorticoMockConn *conn)
{
  g_return_val_if_fail (PORTICO_IS_MOCK_CONN (conn), 0);

  return conn->tap->held;
}

gboolean
portico_mock_conn_is_open (PorticoMockConn *conn)
{
  g_return_val_if_fail (PORTICO_IS_MOCK_CONN (conn), FALSE);

  return !g_socket_is_closed (conn->tap->socket);
}

/* shutdown(2) rather than close: the fd stays valid under libsoup's pending
 * read, which wakes up with the end of the stream (and the tap closes the
 * socket, see tap_close_if_over()), while the peer sees the connection end. */
void
portico_mock_conn_shutdown (PorticoMockConn *conn)
{
  g_return_if_fail (PORTICO_IS_MOCK_CONN (conn));

  if (portico_mock_conn_is_open (conn))
    g_socket_shutdown (conn->tap->socket, TRUE, TRUE, NULL);
}

/* ------------------------------------------------------------------------ */
/* A response cut short, on a connection taken back from SoupServer */

#define CUT_PIECE_MAX (16 * 1024)

typedef struct
{
  GIOStream *stream;
  PorticoMockConn *held;        /* in flight until the cut is written */
  GBytes *head;
  gboolean head_sent;
  const char *body;
  gsize body_len;
  guint64 offset;
  guint64 end;
} PorticoMockCut;

static void cut_write_next (PorticoMockCut *cut);

static void
cut_free (PorticoMockCut *cut)
{
  if (cut->held)
    portico_mock_conn_release (cut->held);
  g_clear_object (&cut->held);
  g_object_unref (cut->stream);
  g_bytes_unref (cut->head);
  g_free (cut);
}

static void
on_cut_closed (GObject *source, GAsyncResult *result, gpointer data)
{
  g_io_stream_close_finish (G_IO_STREAM (source), result, NULL);
  cut_free (data);
}

static void
on_cut_written (GObject *source, GAsyncResult *result, gpointer data)
{
  PorticoMockCut *cut = data;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, NULL))
    cut->offset = cut->end;
  cut_write_next (cut);
}

static void
cut_write_next (PorticoMockCut *cut)
{
  GOutputStream *out = g_io_stream_get_output_stream (cut->stream);
  const char *data;
  gsize n, at;

  if (!cut->head_sent)
    {
      cut->head_sent = TRUE;
      data = g_bytes_get_data (cut->head, &n);
      g_output_stream_write_all_async (out, data, n, G_PRIORITY_DEFAULT, NULL, on_cut_written, cut);
      return;
    }
  if (cut->offset >= cut->end)
    {
      g_io_stream_close_async (cut->stream, G_PRIORITY_DEFAULT, NULL, on_cut_closed, cut);
      return;
    }
  at = cut->offset % cut->body_len;
  n = MIN (MIN ((guint64) CUT_PIECE_MAX, cut->end - cut->offset), cut->body_len - at);
  cut->offset += n;
  g_output_stream_write_all_async (out, cut->body + at, n, G_PRIORITY_DEFAULT, NULL,
                                   on_cut_written, cut);
}

void
portico_mock_cut_write (GIOStream *stream, PorticoMockConn *held, GBytes *head,
                        const char *body, gsize body_len, guint64 length)
{
  PorticoMockCut *cut;

  g_return_if_fail (G_IS_IO_STREAM (stream) && head != NULL);
  g_return_if_fail (length == 0 || (body != NULL && body_len > 0));

  cut = g_new0 (PorticoMockCut, 1);
  cut->stream = stream;
  if (held)
    {
      cut->held = g_object_ref (held);
      portico_mock_conn_hold (held);
    }
  cut->head = g_bytes_ref (head);
  cut->body = body;
  cut->body_len = body_len;
  cut->end = length;
  cut_write_next (cut);
}

/* ------------------------------------------------------------------------ */
/* /echo: the request as received */

char *
portico_mock_peer_string (GSocketAddress *address)
{
  GInetAddress *ip;
  g_autofree char *text = NULL;

  if (!G_IS_INET_SOCKET_ADDRESS (address))
    return g_strdup ("unknown");
  ip = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address));
  text = g_inet_address_to_string (ip);
  if (g_inet_address_get_family (ip) == G_SOCKET_FAMILY_IPV6)
    return g_strdup_printf ("[%s]:%u", text,
                            g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address)));
  return g_strdup_printf ("%s:%u", text,
                          g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address)));
}

/* The recorded head is only trusted when it is the head libsoup parsed. */
static gboolean
echo_head_matches (const PorticoMockHead *head, SoupServerMessage *msg)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  SoupMessageHeadersIter iter;
  const char *name, *value;
  guint count = 0, i;
  const char *version = soup_server_message_get_http_version (msg) == SOUP_HTTP_1_0
                        ? "HTTP/1.0" : "HTTP/1.1";

  if (g_strcmp0 (head->method, soup_server_message_get_method (msg)) != 0 ||
      g_strcmp0 (head->version, version) != 0)
    return FALSE;
  soup_message_headers_iter_init (&iter, headers);
  while (soup_message_headers_iter_next (&iter, &name, &value))
    count++;
  if (count * 2 != head->fields->len)
    return FALSE;
  for (i = 0; i < head->fields->len; i += 2)
    if (soup_message_headers_get_list (headers, g_ptr_array_index (head->fields, i)) == NULL)
      return FALSE;
  return TRUE;
}

static void
echo_add_pair (JsonBuilder *builder, const char *name, const char *value)
{
  json_builder_begin_array (builder);
  json_builder_add_string_value (builder, name);
  json_builder_add_string_value (builder, value);
  json_builder_end_array (builder);
}

void
portico_mock_echo_build (JsonBuilder *builder, SoupServerMessage *msg, const char *recorded)
{
  g_autofree char *client = portico_mock_peer_string (soup_server_message_get_remote_address (msg));
  PorticoMockHead head = { 0 };
  gboolean exact;
  guint i;

  exact = recorded && portico_mock_head_parse (recorded, &head) && echo_head_matches (&head, msg);

  json_builder_set_member_name (builder, "method");
  json_builder_add_string_value (builder, soup_server_message_get_method (msg));
  if (exact)
    {
      const char *query = strchr (head.target, '?');
      g_autofree char *path = g_strndup (head.target,
                                         query ? (gsize) (query - head.target) : strlen (head.target));

      json_builder_set_member_name (builder, "path");
      json_builder_add_string_value (builder, path);
      json_builder_set_member_name (builder, "query");
      if (query)
        json_builder_add_string_value (builder, query + 1);
      else
        json_builder_add_null_value (builder);
    }
  else
    {
      GUri *uri = soup_server_message_get_uri (msg);

      json_builder_set_member_name (builder, "path");
      json_builder_add_string_value (builder, g_uri_get_path (uri));
      json_builder_set_member_name (builder, "query");
      if (g_uri_get_query (uri))
        json_builder_add_string_value (builder, g_uri_get_query (uri));
      else
        json_builder_add_null_value (builder);
    }
  json_builder_set_member_name (builder, "http_version");
  json_builder_add_string_value (builder,
                                 soup_server_message_get_http_version (msg) == SOUP_HTTP_1_0
                                 ? "HTTP/1.0" : "HTTP/1.1");

  json_builder_set_member_name (builder, "headers");
  json_builder_begin_array (builder);
  if (exact)
    {
      for (i = 0; i < head.fields->len; i += 2)
        echo_add_pair (builder, g_ptr_array_index (head.fields, i),
                       g_ptr_array_index (head.fields, i + 1));
    }
  else
    {
      SoupMessageHeadersIter iter;
      const char *name, *value;

      soup_message_headers_iter_init (&iter, soup_server_message_get_request_headers (msg));
      while (soup_message_headers_iter_next (&iter, &name, &value))
        echo_add_pair (builder, name, value);
    }
  json_builder_end_array (builder);
  /* FALSE when the headers come from libsoup's table: the values are right,
   * the order and the case of well-known names may not be. */
  json_builder_set_member_name (builder, "headers_exact");
  json_builder_add_boolean_value (builder, exact);
  json_builder_set_member_name (builder, "client");
  json_builder_add_string_value (builder, client);
  portico_mock_head_clear (&head);
}

