/* lab/mock-tap.c - a client connection that remembers request heads as sent.
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

static void
tap_record (PorticoMockTap *tap, const guint8 *data, gssize n)
{
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
  gssize n = g_input_stream_read (tap_base (stream), buffer, count, cancellable, error);

  tap_record (PORTICO_MOCK_TAP (stream), buffer, n);
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
  gssize n = g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (tap_base (stream)),
                                                       buffer, count, NULL, error);

  tap_record (PORTICO_MOCK_TAP (stream), buffer, n);
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
  GSocketConnection *base;
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
  return g_io_stream_get_output_stream (G_IO_STREAM (PORTICO_MOCK_CONN (stream)->base));
}

static gboolean
conn_close (GIOStream *stream, GCancellable *cancellable, GError **error)
{
  return g_io_stream_close (G_IO_STREAM (PORTICO_MOCK_CONN (stream)->base), cancellable, error);
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
portico_mock_conn_new (GSocketConnection *base, GHashTable *registry, const char *peer)
{
  PorticoMockConn *conn = g_object_new (portico_mock_conn_get_type (), NULL);

  conn->base = g_object_ref (base);
  conn->tap = g_object_new (portico_mock_tap_get_type (),
                            "base-stream", g_io_stream_get_input_stream (G_IO_STREAM (base)),
                            "close-base-stream", FALSE,
                            NULL);
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
