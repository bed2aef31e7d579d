/* lab/mock-service.c - `portico mock`: a mock upstream service on libsoup.
 *
 * Tests, demos and scenarios put it behind the gateway.  Besides the
 * configured default response it answers a few special paths (/echo,
 * /status/N, /bytes/N, /upload, /delay/MS, /__mock/stats), so one binary
 * covers what a test usually needs from an upstream.
 *
 * Connections are accepted by our own GSocketService and handed to SoupServer
 * through a PorticoMockConn (lab/mock-tap.c), which records each request
 * head as it was sent, for /echo.
 */
#include "lab/lab.h"
#include "lab/mock-options.h"
#include "lab/mock-tap.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <glib-unix.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#define MOCK_PIECE_SIZE (16 * 1024)
#define MOCK_REQUEST_KEY "portico-mock-request"

/* ------------------------------------------------------------------------ */
/* The service */

typedef struct
{
  PorticoMockOptions opt;
  char *default_text;           /* the default body when not generated */
  char *pattern;                /* MOCK_PIECE_SIZE bytes of PORTICO_MOCK_PATTERN */
  SoupServer *server;
  GSocketService *service;
  GMainLoop *loop;
  GHashTable *conns;            /* peer "ip:port" -> PorticoMockConn (weak) */
  guint64 requests;
  guint64 connections;
} PorticoMock;

typedef enum
{
  MOCK_ROUTE_DEFAULT,
  MOCK_ROUTE_ECHO,
  MOCK_ROUTE_STATUS,
  MOCK_ROUTE_BYTES,
  MOCK_ROUTE_UPLOAD,
  MOCK_ROUTE_DELAY,
} PorticoMockRoute;

/* One request, stored on its SoupServerMessage and freed with it. */
typedef struct
{
  PorticoMock *mock;
  SoupServerMessage *msg;       /* not owned */
  char *path;
  char *head;                   /* the head as received, or NULL */
  GChecksum *sha256;
  guint64 body_bytes;
  guint64 seq;                  /* 1-based; 0 for /__mock/ requests */
  PorticoMockRoute route;
  guint64 arg;                  /* the N of /status/N, /bytes/N, /delay/N */

  /* the generated response body */
  const char *text;             /* NULL: the pattern */
  guint64 total;
  guint64 offset;
  gboolean completed;
} PorticoMockRequest;

static void
mock_request_free (gpointer data)
{
  PorticoMockRequest *req = data;

  g_free (req->path);
  g_free (req->head);
  g_checksum_free (req->sha256);
  g_free (req);
}

static char *
mock_peer_string (GSocketAddress *address)
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

static PorticoMockConn *
mock_conn_for (PorticoMock *mock, SoupServerMessage *msg)
{
  g_autofree char *peer = mock_peer_string (soup_server_message_get_remote_address (msg));

  return g_hash_table_lookup (mock->conns, peer);
}

static void
mock_respond_text (SoupServerMessage *msg, guint status, const char *text)
{
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_COPY, text, strlen (text));
}

static void
mock_respond_json (SoupServerMessage *msg, JsonBuilder *builder)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = json_builder_get_root (builder);
  gsize length = 0;
  char *text;

  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, &length);
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_TAKE, text, length);
}

/* Every request is counted and hashed as its body streams in, whatever the
 * path: the body is never kept, so uploads of any size cost no memory. */
static void
on_got_chunk (SoupServerMessage *msg, GBytes *chunk, gpointer data)
{
  PorticoMockRequest *req = data;
  gsize size = 0;
  const guint8 *bytes = g_bytes_get_data (chunk, &size);

  g_checksum_update (req->sha256, bytes, size);
  req->body_bytes += size;
}

static void
on_early_request (SoupServer *server, SoupServerMessage *msg, const char *path,
                  GHashTable *query, gpointer data)
{
  PorticoMock *mock = data;
  PorticoMockConn *conn = mock_conn_for (mock, msg);
  PorticoMockRequest *req = g_new0 (PorticoMockRequest, 1);

  req->mock = mock;
  req->msg = msg;
  req->path = g_strdup (path);
  req->sha256 = g_checksum_new (G_CHECKSUM_SHA256);
  if (conn)
    req->head = portico_mock_conn_pop_head (conn);
  if (!g_str_has_prefix (path, "/__mock/"))
    req->seq = ++mock->requests;

  g_object_set_data_full (G_OBJECT (msg), MOCK_REQUEST_KEY, req, mock_request_free);
  soup_message_body_set_accumulate (soup_server_message_get_request_body (msg), FALSE);
  g_signal_connect (msg, "got-chunk", G_CALLBACK (on_got_chunk), req);
}

/* ------------------------------------------------------------------------ */
/* Generated bodies: the configured text or the pattern, handed to libsoup
 * one piece at a time as the previous piece is written. */

static void
mock_stream_next (PorticoMockRequest *req)
{
  SoupMessageBody *body = soup_server_message_get_response_body (req->msg);
  gsize n;

  if (req->completed)
    return;
  if (req->offset >= req->total)
    {
      req->completed = TRUE;
      soup_message_body_complete (body);
      return;
    }

  n = MIN ((guint64) MOCK_PIECE_SIZE, req->total - req->offset);
  if (req->text)
    soup_message_body_append (body, SOUP_MEMORY_STATIC, req->text + req->offset, n);
  else
    soup_message_body_append (body, SOUP_MEMORY_STATIC, req->mock->pattern, n);
  req->offset += n;
}

static void
on_wrote_chunk (SoupServerMessage *msg, gpointer data)
{
  mock_stream_next (data);
}

static void
mock_stream_body (PorticoMockRequest *req, const char *text, guint64 total, gboolean chunked)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (req->msg);

  req->text = text;
  req->total = total;
  req->offset = 0;
  if (chunked)
    soup_message_headers_set_encoding (headers, SOUP_ENCODING_CHUNKED);
  else
    soup_message_headers_set_content_length (headers, total);
  soup_message_body_set_accumulate (soup_server_message_get_response_body (req->msg), FALSE);
  g_signal_connect (req->msg, "wrote-chunk", G_CALLBACK (on_wrote_chunk), req);
  mock_stream_next (req);
}

/* --close-mid-body: the connection is taken from libsoup, which would never
 * write a response shorter than its Content-Length, and we write the head
 * and half the body ourselves before closing. */
typedef struct
{
  GIOStream *stream;
  GBytes *head;
  gboolean head_sent;
  const char *text;             /* NULL: the pattern */
  const char *pattern;
  guint64 offset;
  guint64 end;
} PorticoMockCut;

static void mock_cut_write_next (PorticoMockCut *cut);

static void
mock_cut_free (PorticoMockCut *cut)
{
  g_object_unref (cut->stream);
  g_clear_pointer (&cut->head, g_bytes_unref);
  g_free (cut);
}

static void
on_cut_closed (GObject *source, GAsyncResult *result, gpointer data)
{
  g_io_stream_close_finish (G_IO_STREAM (source), result, NULL);
  mock_cut_free (data);
}

static void
on_cut_written (GObject *source, GAsyncResult *result, gpointer data)
{
  PorticoMockCut *cut = data;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, NULL))
    cut->offset = cut->end;
  mock_cut_write_next (cut);
}

static void
mock_cut_write_next (PorticoMockCut *cut)
{
  GOutputStream *out = g_io_stream_get_output_stream (cut->stream);
  const char *data;
  gsize n;

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
  n = MIN ((guint64) MOCK_PIECE_SIZE, cut->end - cut->offset);
  data = cut->text ? cut->text + cut->offset : cut->pattern;
  cut->offset += n;
  g_output_stream_write_all_async (out, data, n, G_PRIORITY_DEFAULT, NULL, on_cut_written, cut);
}

/* Returns FALSE when the message is no longer libsoup's. */
static gboolean
mock_cut (PorticoMockRequest *req, const char *text, guint64 total)
{
  SoupServerMessage *msg = req->msg;
  SoupMessageHeadersIter iter;
  const char *name, *value;
  PorticoMockCut *cut;
  GString *head;
  GIOStream *stream;

  head = g_string_new (NULL);
  g_string_append_printf (head, "HTTP/1.%d %u %s\r\n",
                          soup_server_message_get_http_version (msg) == SOUP_HTTP_1_0 ? 0 : 1,
                          soup_server_message_get_status (msg),
                          soup_server_message_get_reason_phrase (msg));
  soup_message_headers_iter_init (&iter, soup_server_message_get_response_headers (msg));
  while (soup_message_headers_iter_next (&iter, &name, &value))
    g_string_append_printf (head, "%s: %s\r\n", name, value);
  g_string_append_printf (head, "Content-Length: %" G_GUINT64_FORMAT "\r\n\r\n", total);

  stream = soup_server_message_steal_connection (msg);
  if (stream == NULL)
    {
      g_string_free (head, TRUE);
      return FALSE;
    }

  cut = g_new0 (PorticoMockCut, 1);
  cut->stream = stream;
  cut->head = g_string_free_to_bytes (head);
  cut->text = text;
  cut->pattern = req->mock->pattern;
  cut->end = soup_server_message_get_method (msg) == SOUP_METHOD_HEAD ? 0 : total / 2;
  mock_cut_write_next (cut);
  return FALSE;
}

/* ------------------------------------------------------------------------ */
/* /echo: the request as received */

/* The recorded head is only trusted when it is the head libsoup parsed. */
static gboolean
mock_head_matches (const PorticoMockHead *head, SoupServerMessage *msg)
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
mock_add_pair (JsonBuilder *builder, const char *name, const char *value)
{
  json_builder_begin_array (builder);
  json_builder_add_string_value (builder, name);
  json_builder_add_string_value (builder, value);
  json_builder_end_array (builder);
}

static void
mock_add_body_summary (JsonBuilder *builder, PorticoMockRequest *req)
{
  json_builder_set_member_name (builder, "body_bytes");
  json_builder_add_int_value (builder, (gint64) req->body_bytes);
  json_builder_set_member_name (builder, "body_sha256");
  json_builder_add_string_value (builder, g_checksum_get_string (req->sha256));
}

static void
mock_respond_echo (PorticoMockRequest *req)
{
  SoupServerMessage *msg = req->msg;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autofree char *client = mock_peer_string (soup_server_message_get_remote_address (msg));
  PorticoMockHead head = { 0 };
  gboolean exact;
  guint i;

  exact = req->head && portico_mock_head_parse (req->head, &head) && mock_head_matches (&head, msg);

  json_builder_begin_object (builder);
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
        mock_add_pair (builder, g_ptr_array_index (head.fields, i),
                       g_ptr_array_index (head.fields, i + 1));
    }
  else
    {
      SoupMessageHeadersIter iter;
      const char *name, *value;

      soup_message_headers_iter_init (&iter, soup_server_message_get_request_headers (msg));
      while (soup_message_headers_iter_next (&iter, &name, &value))
        mock_add_pair (builder, name, value);
    }
  json_builder_end_array (builder);
  /* FALSE when the headers come from libsoup's table: the values are right,
   * the order and the case of well-known names may not be. */
  json_builder_set_member_name (builder, "headers_exact");
  json_builder_add_boolean_value (builder, exact);

  mock_add_body_summary (builder, req);
  json_builder_set_member_name (builder, "client");
  json_builder_add_string_value (builder, client);
  json_builder_end_object (builder);

  mock_respond_json (msg, builder);
  portico_mock_head_clear (&head);
}

/* ------------------------------------------------------------------------ */
/* Routing */

static gboolean
mock_parse_arg (const char *path, const char *prefix, guint64 min, guint64 max, guint64 *out)
{
  return g_str_has_prefix (path, prefix) &&
         g_ascii_string_to_unsigned (path + strlen (prefix), 10, min, max, out, NULL);
}

/* Returns FALSE when the path names a special route with a bad argument. */
static gboolean
mock_route (PorticoMockRequest *req)
{
  const char *path = req->path;
  const char *echo = soup_message_headers_get_one (soup_server_message_get_request_headers (req->msg),
                                                   "X-Mock-Echo");

  req->route = MOCK_ROUTE_DEFAULT;
  if (g_strcmp0 (echo, "1") == 0 || g_str_equal (path, "/echo") || g_str_has_prefix (path, "/echo/"))
    req->route = MOCK_ROUTE_ECHO;
  else if (g_str_equal (path, "/upload") || g_str_has_prefix (path, "/upload/"))
    req->route = MOCK_ROUTE_UPLOAD;
  else if (g_str_has_prefix (path, "/status/"))
    {
      req->route = MOCK_ROUTE_STATUS;
      return mock_parse_arg (path, "/status/", 200, 599, &req->arg);
    }
  else if (g_str_has_prefix (path, "/bytes/"))
    {
      req->route = MOCK_ROUTE_BYTES;
      return mock_parse_arg (path, "/bytes/", 0, G_MAXINT64, &req->arg);
    }
  else if (g_str_has_prefix (path, "/delay/"))
    {
      req->route = MOCK_ROUTE_DELAY;
      return mock_parse_arg (path, "/delay/", 0, PORTICO_MOCK_DELAY_MAX_MS, &req->arg);
    }
  return TRUE;
}

/* Deterministic: the n-th request fails when floor(n * ratio) steps up, so a
 * ratio of 1/k fails every k-th request and any ratio holds over a run. */
static gboolean
mock_should_fail (double ratio, guint64 seq)
{
  if (ratio <= 0.0 || seq == 0)
    return FALSE;
  return (guint64) ((double) seq * ratio + 1e-9) > (guint64) ((double) (seq - 1) * ratio + 1e-9);
}

static gboolean
mock_respond_default (PorticoMockRequest *req)
{
  PorticoMock *mock = req->mock;
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (req->msg);
  gboolean generated = mock->opt.body_bytes != G_MININT64;
  const char *text = generated ? NULL : mock->default_text;
  guint64 total = generated ? (guint64) mock->opt.body_bytes : strlen (mock->default_text);
  guint i;

  soup_server_message_set_status (req->msg, mock->opt.status, NULL);
  for (i = 0; mock->opt.headers && mock->opt.headers[i]; i++)
    {
      const char *line = mock->opt.headers[i];
      const char *colon = strchr (line, ':');
      g_autofree char *name = g_strndup (line, colon - line);
      g_autofree char *value = g_strstrip (g_strdup (colon + 1));

      soup_message_headers_append (headers, name, value);
    }
  if (soup_message_headers_get_one (headers, "Content-Type") == NULL)
    soup_message_headers_replace (headers, "Content-Type",
                                  generated ? "application/octet-stream" : "text/plain");

  if (mock->opt.close_mid_body)
    return mock_cut (req, text, total);
  mock_stream_body (req, text, total, mock->opt.chunked);
  return TRUE;
}

/* Writes the response.  Returns FALSE when the message is no longer
 * libsoup's (its connection was taken). */
static gboolean
mock_respond (PorticoMockRequest *req)
{
  SoupServerMessage *msg = req->msg;
  g_autoptr(JsonBuilder) builder = NULL;
  g_autofree char *text = NULL;

  if (mock_should_fail (req->mock->opt.fail_ratio, req->seq))
    {
      mock_respond_text (msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, "mock failure\n");
      return TRUE;
    }

  switch (req->route)
    {
    case MOCK_ROUTE_ECHO:
      mock_respond_echo (req);
      break;
    case MOCK_ROUTE_STATUS:
      text = g_strdup_printf ("%u %s\n", (guint) req->arg, soup_status_get_phrase ((guint) req->arg));
      mock_respond_text (msg, (guint) req->arg, text);
      break;
    case MOCK_ROUTE_BYTES:
      soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                    "Content-Type", "application/octet-stream");
      mock_stream_body (req, NULL, req->arg, FALSE);
      break;
    case MOCK_ROUTE_UPLOAD:
      builder = json_builder_new ();
      json_builder_begin_object (builder);
      mock_add_body_summary (builder, req);
      json_builder_end_object (builder);
      mock_respond_json (msg, builder);
      break;
    case MOCK_ROUTE_DELAY:
      text = g_strdup_printf ("delayed %u ms\n", (guint) req->arg);
      mock_respond_text (msg, SOUP_STATUS_OK, text);
      break;
    case MOCK_ROUTE_DEFAULT:
    default:
      return mock_respond_default (req);
    }
  return TRUE;
}

static gboolean
on_delay_done (gpointer data)
{
  SoupServerMessage *msg = data;
  PorticoMockRequest *req = g_object_get_data (G_OBJECT (msg), MOCK_REQUEST_KEY);

  if (mock_respond (req))
    soup_server_message_unpause (msg);
  return G_SOURCE_REMOVE;
}

static void
mock_respond_stats (PorticoMockRequest *req)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  if (!g_str_equal (req->path, "/__mock/stats"))
    {
      mock_respond_text (req->msg, SOUP_STATUS_NOT_FOUND, "no such mock control path\n");
      return;
    }
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, req->mock->opt.name);
  json_builder_set_member_name (builder, "requests");
  json_builder_add_int_value (builder, (gint64) req->mock->requests);
  json_builder_set_member_name (builder, "connections");
  json_builder_add_int_value (builder, (gint64) req->mock->connections);
  json_builder_end_object (builder);
  mock_respond_json (req->msg, builder);
}

static void
on_request (SoupServer *server, SoupServerMessage *msg, const char *path,
            GHashTable *query, gpointer data)
{
  PorticoMock *mock = data;
  PorticoMockRequest *req = g_object_get_data (G_OBJECT (msg), MOCK_REQUEST_KEY);
  guint delay;

  g_return_if_fail (req != NULL);

  if (req->seq == 0)
    {
      mock_respond_stats (req);
      return;
    }
  if (!mock_route (req))
    {
      mock_respond_text (msg, SOUP_STATUS_BAD_REQUEST, "bad mock path argument\n");
      return;
    }

  delay = mock->opt.latency_ms + (req->route == MOCK_ROUTE_DELAY ? (guint) req->arg : 0);
  /* Taking the connection is done from the main loop, not from inside
   * libsoup's I/O that is calling us. */
  if (delay == 0 && !(req->route == MOCK_ROUTE_DEFAULT && mock->opt.close_mid_body))
    {
      mock_respond (req);
      return;
    }
  soup_server_message_pause (msg);
  g_timeout_add_full (G_PRIORITY_DEFAULT, delay, on_delay_done,
                      g_object_ref (msg), g_object_unref);
}

static gboolean
on_incoming (GSocketService *service, GSocketConnection *connection,
             GObject *source_object, gpointer data)
{
  PorticoMock *mock = data;
  g_autoptr(GSocketAddress) local = g_socket_connection_get_local_address (connection, NULL);
  g_autoptr(GSocketAddress) remote = g_socket_connection_get_remote_address (connection, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *peer = NULL;
  PorticoMockConn *conn;

  if (local == NULL || remote == NULL)
    return TRUE;                /* already gone */

  mock->connections++;
  g_socket_set_option (g_socket_connection_get_socket (connection),
                       IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  peer = mock_peer_string (remote);
  conn = portico_mock_conn_new (connection, mock->conns, peer);
  if (!soup_server_accept_iostream (mock->server, G_IO_STREAM (conn), local, remote, &error))
    g_warning ("mock: cannot serve %s: %s", peer, error->message);
  g_object_unref (conn);
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* Lifecycle */

/* SoupServer only keeps a connection alive while it has a listener of its
 * own (it takes "no listeners" to mean "shutting down"), and ours is the
 * GSocketService.  So it gets one nobody can reach by TCP: a listening unix
 * socket in the abstract namespace. */
static gboolean
mock_add_idle_listener (SoupServer *server, GError **error)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autofree char *name = g_strdup_printf ("portico-mock-%d-%08x", (int) getpid (),
                                           g_random_int ());

  socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM,
                         G_SOCKET_PROTOCOL_DEFAULT, error);
  if (socket == NULL)
    return FALSE;
  address = g_unix_socket_address_new_with_type (name, -1, G_UNIX_SOCKET_ADDRESS_ABSTRACT);
  if (!g_socket_bind (socket, address, FALSE, error) || !g_socket_listen (socket, error))
    return FALSE;
  return soup_server_listen_socket (server, socket, 0, error);
}

static gboolean
mock_start (PorticoMock *mock, char **bound, GError **error)
{
  g_autoptr(GSocketAddress) effective = NULL;
  guint i;

  mock->default_text = mock->opt.body ? g_strdup (mock->opt.body)
                                      : g_strdup_printf ("hello from %s\n", mock->opt.name);
  mock->pattern = g_malloc (MOCK_PIECE_SIZE);
  for (i = 0; i < MOCK_PIECE_SIZE; i++)
    mock->pattern[i] = PORTICO_MOCK_PATTERN[i % PORTICO_MOCK_PATTERN_LEN];
  mock->conns = g_hash_table_new (g_str_hash, g_str_equal);

  mock->server = soup_server_new ("server-header", "portico-mock", NULL);
  soup_server_add_early_handler (mock->server, NULL, on_early_request, mock, NULL);
  soup_server_add_handler (mock->server, NULL, on_request, mock, NULL);
  if (!mock_add_idle_listener (mock->server, error))
    return FALSE;

  mock->service = g_socket_service_new ();
  g_socket_listener_set_backlog (G_SOCKET_LISTENER (mock->service), 1024);
  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (mock->service),
                                      G_SOCKET_ADDRESS (mock->opt.address), G_SOCKET_TYPE_STREAM,
                                      G_SOCKET_PROTOCOL_TCP, NULL, &effective, error))
    return FALSE;
  g_signal_connect (mock->service, "incoming", G_CALLBACK (on_incoming), mock);
  g_socket_service_start (mock->service);
  *bound = mock_peer_string (effective);
  return TRUE;
}

static void
mock_clear (PorticoMock *mock)
{
  if (mock->service)
    {
      g_socket_service_stop (mock->service);
      g_socket_listener_close (G_SOCKET_LISTENER (mock->service));
      g_clear_object (&mock->service);
    }
  if (mock->server)
    soup_server_disconnect (mock->server);
  g_clear_object (&mock->server);
  g_clear_pointer (&mock->conns, g_hash_table_unref);
  g_clear_pointer (&mock->loop, g_main_loop_unref);
  g_free (mock->default_text);
  g_free (mock->pattern);
  portico_mock_options_clear (&mock->opt);
}

static gboolean
on_stop_signal (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_CONTINUE;
}

int
portico_mock_main (int argc, char **argv)
{
  PorticoMock mock = { 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *bound = NULL;
  guint term_id, int_id;

  if (!portico_mock_options_parse (&mock.opt, argc, argv, &error))
    {
      g_printerr ("portico mock: %s\n", error->message);
      mock_clear (&mock);
      return 2;
    }
  if (!mock_start (&mock, &bound, &error))
    {
      g_printerr ("portico mock: cannot listen on %s: %s\n", mock.opt.listen, error->message);
      mock_clear (&mock);
      return 1;
    }

  mock.loop = g_main_loop_new (NULL, FALSE);
  term_id = g_unix_signal_add (SIGTERM, on_stop_signal, mock.loop);
  int_id = g_unix_signal_add (SIGINT, on_stop_signal, mock.loop);

  printf ("listening %s\n", bound);
  fflush (stdout);
  g_main_loop_run (mock.loop);

  g_source_remove (term_id);
  g_source_remove (int_id);
  mock_clear (&mock);
  return 0;
}
