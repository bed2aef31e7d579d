/* lab/mock-service.c - `portico mock`: a mock upstream service on libsoup.
 *
 * Tests, demos and scenarios put it behind the gateway.  Besides the
 * configured default response it answers a few special paths (/echo,
 * /status/N, /bytes/N, /upload, /delay/MS, /__mock/stats), so one binary
 * covers what a test usually needs from an upstream.
 *
 * Connections are accepted by our own GSocketService and handed to SoupServer
 * through a PorticoMockConn (lab/mock-tap.c), which records each request
 * head as it was sent, for /echo, and tells idle connections from busy ones.
 *
 * With --tls-cert and --tls-key the service speaks HTTPS: each accepted
 * connection is wrapped in a GTlsServerConnection (glib-networking) and
 * handshaken before the tap and SoupServer get it, so the tap sees the
 * requests decrypted. The control listener stays plain HTTP.
 *
 * A second SoupServer, the control listener, lets a scenario change the
 * running service (GET/POST /state): take it down and up on the same port,
 * slow it, change its status, failure ratio or body.  Each request copies
 * the settings when its head arrives, so a change applies to the requests
 * that arrive after it.
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
  PorticoMockSettings settings; /* live: what the control API changes */
  char *default_text;           /* the default body when not generated */
  char *pattern;                /* MOCK_PIECE_SIZE bytes of PORTICO_MOCK_PATTERN */
  SoupServer *server;
  GSocketService *service;      /* NULL while down */
  GTlsCertificate *certificate; /* HTTPS: the certificate served; NULL: plain HTTP */
  GTlsDatabase *database;       /* HTTPS: given to each connection (see on_incoming) */
  GSocketAddress *bound;        /* where the service listens, port resolved */
  char *bound_text;
  SoupServer *control;
  char *control_text;
  GMainLoop *loop;
  GHashTable *conns;            /* peer "ip:port" -> PorticoMockConn (weak) */
  PorticoMockCounters counters; /* open_connections counted when asked */
  guint64 fail_base;            /* requests when fail_ratio was last set */
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
  PorticoMockSettings settings; /* the mock's, when the head arrived */
  gboolean fail;                /* answered 500 by fail_ratio */
  PorticoMockConn *conn;        /* held while in flight, or NULL */
  PorticoMockRoute route;
  guint64 arg;                  /* the N of /status/N, /bytes/N, /delay/N */

  /* the generated response body */
  const char *text;             /* NULL: the pattern */
  guint64 total;
  guint64 offset;
  gboolean completed;
} PorticoMockRequest;

/* A connection that went idle while the service is down is ended now: down
 * means no new requests, whatever keep-alive promised. */
static void
mock_request_release (PorticoMockRequest *req)
{
  if (req->conn == NULL)
    return;
  if (portico_mock_conn_release (req->conn) == 0 && req->mock->settings.down)
    portico_mock_conn_shutdown (req->conn);
  g_clear_object (&req->conn);
}

static void
mock_request_free (gpointer data)
{
  PorticoMockRequest *req = data;

  mock_request_release (req);
  g_free (req->path);
  g_free (req->head);
  g_checksum_free (req->sha256);
  g_free (req);
}

static PorticoMockConn *
mock_conn_for (PorticoMock *mock, SoupServerMessage *msg)
{
  g_autofree char *peer = portico_mock_peer_string (soup_server_message_get_remote_address (msg));

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
mock_count_status (PorticoMock *mock, guint status)
{
  if (status < PORTICO_MOCK_STATUS_MAX)
    mock->counters.by_status[status]++;
}

static void
on_wrote_headers (SoupServerMessage *msg, gpointer data)
{
  PorticoMockRequest *req = data;

  mock_count_status (req->mock, soup_server_message_get_status (msg));
}

static void
on_finished (SoupServerMessage *msg, gpointer data)
{
  mock_request_release (data);
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
  req->settings = mock->settings;
  if (conn)
    {
      req->head = portico_mock_conn_pop_head (conn);
      req->conn = g_object_ref (conn);
      portico_mock_conn_hold (conn);
      g_signal_connect (msg, "finished", G_CALLBACK (on_finished), req);
    }
  if (!g_str_has_prefix (path, "/__mock/"))
    {
      req->seq = ++mock->counters.requests;
      /* Counted from the last change of the ratio. */
      req->fail = portico_mock_ratio_hits (req->settings.fail_ratio, req->seq - mock->fail_base);
      g_signal_connect (msg, "wrote-headers", G_CALLBACK (on_wrote_headers), req);
    }

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
 * write a response shorter than its Content-Length, and the head and half
 * the body are written on it before it is closed.  Returns FALSE: the
 * message is no longer libsoup's. */
static gboolean
mock_cut (PorticoMockRequest *req, const char *text, guint64 total)
{
  SoupServerMessage *msg = req->msg;
  SoupMessageHeadersIter iter;
  const char *name, *value;
  GString *head;
  GIOStream *stream;
  GBytes *cut;

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

  mock_count_status (req->mock, soup_server_message_get_status (msg));
  cut = g_string_free_to_bytes (head);
  portico_mock_cut_write (stream, req->conn, cut, text ? text : req->mock->pattern,
                          text ? strlen (text) : MOCK_PIECE_SIZE,
                          soup_server_message_get_method (msg) == SOUP_METHOD_HEAD ? 0 : total / 2);
  g_bytes_unref (cut);
  return FALSE;
}

/* ------------------------------------------------------------------------ */
/* /echo: the request as received */

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
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  portico_mock_echo_build (builder, req->msg, req->head);
  mock_add_body_summary (builder, req);
  json_builder_end_object (builder);
  mock_respond_json (req->msg, builder);
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

static gboolean
mock_respond_default (PorticoMockRequest *req)
{
  PorticoMock *mock = req->mock;
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (req->msg);
  gboolean generated = req->settings.body_bytes != PORTICO_MOCK_NO_BODY_BYTES;
  const char *text = generated ? NULL : mock->default_text;
  guint64 total = generated ? (guint64) req->settings.body_bytes : strlen (mock->default_text);
  guint i;

  soup_server_message_set_status (req->msg, req->settings.status, NULL);
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

  if (req->settings.close_mid_body)
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

  if (req->fail)
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

/* Down: the connection ends with this response (idle ones already have). */
static void
mock_close_if_down (PorticoMockRequest *req)
{
  if (req->mock->settings.down)
    soup_message_headers_replace (soup_server_message_get_response_headers (req->msg),
                                  "Connection", "close");
}

static gboolean
on_delay_done (gpointer data)
{
  SoupServerMessage *msg = data;
  PorticoMockRequest *req = g_object_get_data (G_OBJECT (msg), MOCK_REQUEST_KEY);

  mock_close_if_down (req);
  if (mock_respond (req))
    soup_server_message_unpause (msg);
  return G_SOURCE_REMOVE;
}

/* GET /state, /__mock/stats: the settings and the counters. */
static void
mock_respond_state (PorticoMock *mock, SoupServerMessage *msg)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  GHashTableIter iter;
  gpointer conn;

  mock->counters.open_connections = 0;
  g_hash_table_iter_init (&iter, mock->conns);
  while (g_hash_table_iter_next (&iter, NULL, &conn))
    mock->counters.open_connections += portico_mock_conn_is_open (conn);
  portico_mock_state_build (builder, mock->opt.name, mock->bound_text, mock->control_text,
                            &mock->settings, &mock->counters);
  mock_respond_json (msg, builder);
}

static void
on_request (SoupServer *server, SoupServerMessage *msg, const char *path,
            GHashTable *query, gpointer data)
{
  PorticoMockRequest *req = g_object_get_data (G_OBJECT (msg), MOCK_REQUEST_KEY);
  guint delay;

  g_return_if_fail (req != NULL);

  mock_close_if_down (req);
  if (req->seq == 0)
    {
      if (g_str_equal (req->path, "/__mock/stats"))
        mock_respond_state (req->mock, msg);
      else
        mock_respond_text (msg, SOUP_STATUS_NOT_FOUND, "no such mock control path\n");
      return;
    }
  if (!mock_route (req))
    {
      mock_respond_text (msg, SOUP_STATUS_BAD_REQUEST, "bad mock path argument\n");
      return;
    }

  delay = req->settings.latency_ms + (req->route == MOCK_ROUTE_DELAY ? (guint) req->arg : 0);
  /* Taking the connection is done from the main loop, not from inside
   * libsoup's I/O that is calling us. */
  if (delay == 0 && !(req->route == MOCK_ROUTE_DEFAULT && req->settings.close_mid_body))
    {
      mock_respond (req);
      return;
    }
  soup_server_message_pause (msg);
  g_timeout_add_full (G_PRIORITY_DEFAULT, delay, on_delay_done,
                      g_object_ref (msg), g_object_unref);
}

/* Hands @base (@connection, or TLS over it) to SoupServer through a tap. */
static void
mock_serve (PorticoMock *mock, GSocketConnection *connection, GIOStream *base)
{
  g_autoptr(GSocketAddress) local = g_socket_connection_get_local_address (connection, NULL);
  g_autoptr(GSocketAddress) remote = g_socket_connection_get_remote_address (connection, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *peer = NULL;
  PorticoMockConn *conn;

  if (local == NULL || remote == NULL)
    return;                     /* already gone */
  peer = portico_mock_peer_string (remote);
  conn = portico_mock_conn_new (base, g_socket_connection_get_socket (connection), mock->conns,
                                peer);
  if (!soup_server_accept_iostream (mock->server, G_IO_STREAM (conn), local, remote, &error))
    g_warning ("mock: cannot serve %s: %s", peer, error->message);
  g_object_unref (conn);
}

typedef struct
{
  PorticoMock *mock;
  GSocketConnection *connection;
} PorticoMockHandshake;

/* A TLS connection is served once its handshake is done; a client whose
 * handshake failed has had its alert. */
static void
on_handshake (GObject *source, GAsyncResult *result, gpointer data)
{
  PorticoMockHandshake *hs = data;

  if (g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), result, NULL))
    mock_serve (hs->mock, hs->connection, G_IO_STREAM (source));
  g_object_unref (source);
  g_object_unref (hs->connection);
  g_free (hs);
}

static gboolean
on_incoming (GSocketService *service, GSocketConnection *connection,
             GObject *source_object, gpointer data)
{
  PorticoMock *mock = data;
  g_autoptr(GError) error = NULL;
  GIOStream *tls;
  PorticoMockHandshake *hs;

  mock->counters.connections++;
  g_socket_set_option (g_socket_connection_get_socket (connection),
                       IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  if (mock->certificate == NULL)
    {
      mock_serve (mock, connection, G_IO_STREAM (connection));
      return TRUE;
    }
  /* A connection without a database of its own loads the system's trust
   * list (hundreds of certificates) at its creation, every time: 5 ms of
   * CPU per connection. It verifies no client, so the mock's own file does. */
  tls = g_initable_new (g_tls_backend_get_server_connection_type (g_tls_backend_get_default ()),
                        NULL, &error, "base-io-stream", connection, "certificate", mock->certificate,
                        "database", mock->database, NULL);
  if (tls == NULL)
    {
      g_warning ("mock: cannot serve over TLS: %s", error->message);
      return TRUE;
    }
  hs = g_new (PorticoMockHandshake, 1);
  hs->mock = mock;
  hs->connection = g_object_ref (connection);
  g_tls_connection_handshake_async (G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT, NULL,
                                    on_handshake, hs);
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
mock_listen (PorticoMock *mock, GSocketAddress *address, GSocketAddress **effective,
             GError **error)
{
  GSocketService *service = g_socket_service_new ();

  g_socket_listener_set_backlog (G_SOCKET_LISTENER (service), 1024);
  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (service), address, G_SOCKET_TYPE_STREAM,
                                      G_SOCKET_PROTOCOL_TCP, NULL, effective, error))
    {
      g_object_unref (service);
      return FALSE;
    }
  g_signal_connect (service, "incoming", G_CALLBACK (on_incoming), mock);
  g_socket_service_start (service);
  mock->service = service;
  return TRUE;
}

/* Closes the listening socket itself, so connects are refused rather than
 * left waiting in a backlog nobody accepts from. */
static void
mock_unlisten (PorticoMock *mock)
{
  if (mock->service == NULL)
    return;
  g_socket_service_stop (mock->service);
  g_socket_listener_close (G_SOCKET_LISTENER (mock->service));
  g_clear_object (&mock->service);
}

/* Down: no listener, idle connections ended, requests in flight finish (and
 * end their connection).  Up: listening again on the same address. */
static gboolean
mock_set_down (PorticoMock *mock, gboolean down, GError **error)
{
  GHashTableIter iter;
  gpointer conn;

  if (down == mock->settings.down)
    return TRUE;
  if (!down)
    {
      if (!mock_listen (mock, mock->bound, NULL, error))
        return FALSE;
      mock->settings.down = FALSE;
      return TRUE;
    }
  mock_unlisten (mock);
  mock->settings.down = TRUE;
  g_hash_table_iter_init (&iter, mock->conns);
  while (g_hash_table_iter_next (&iter, NULL, &conn))
    if (portico_mock_conn_held (conn) == 0)
      portico_mock_conn_shutdown (conn);
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* The control API */

/* Returns FALSE after answering with the error. */
static gboolean
mock_control_post (PorticoMock *mock, SoupServerMessage *msg)
{
  g_autoptr(GBytes) body = soup_message_body_flatten (soup_server_message_get_request_body (msg));
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  PorticoMockSettings next = mock->settings;
  gsize len = 0;
  const char *data = g_bytes_get_data (body, &len);
  guint set = 0;

  if (!portico_mock_settings_update (&next, data ? data : "", len, &set, &error))
    {
      text = g_strconcat (error->message, "\n", NULL);
      mock_respond_text (msg, SOUP_STATUS_BAD_REQUEST, text);
      return FALSE;
    }
  if (!mock_set_down (mock, next.down, &error))
    {
      text = g_strdup_printf ("down: cannot listen again on %s: %s\n", mock->bound_text,
                              error->message);
      mock_respond_text (msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, text);
      return FALSE;
    }
  mock->settings = next;
  if (set & PORTICO_MOCK_SET_FAIL_RATIO)
    mock->fail_base = mock->counters.requests;
  return TRUE;
}

static void
on_control (SoupServer *server, SoupServerMessage *msg, const char *path,
            GHashTable *query, gpointer data)
{
  PorticoMock *mock = data;
  const char *method = soup_server_message_get_method (msg);

  /* One request per connection: SoupServer 3.2 leaves a kept-alive socket
   * open after its client closes it (see lab/mock-tap.c). */
  soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                "Connection", "close");
  if (!g_str_equal (path, "/state"))
    {
      mock_respond_text (msg, SOUP_STATUS_NOT_FOUND, "no such control path (there is /state)\n");
      return;
    }
  if (g_str_equal (method, "POST"))
    {
      if (!mock_control_post (mock, msg))
        return;
    }
  else if (!g_str_equal (method, "GET"))
    {
      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                    "Allow", "GET, POST");
      mock_respond_text (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "/state takes GET and POST\n");
      return;
    }
  mock_respond_state (mock, msg);
}

static gboolean
mock_start_control (PorticoMock *mock, GError **error)
{
  g_autoptr(GSocketAddress) local = NULL;
  GSList *listeners;

  mock->control = soup_server_new ("server-header", "portico-mock-control", NULL);
  soup_server_add_handler (mock->control, NULL, on_control, mock, NULL);
  if (!soup_server_listen (mock->control, G_SOCKET_ADDRESS (mock->opt.control_address), 0, error))
    {
      g_prefix_error (error, "cannot listen on %s: ", mock->opt.control);
      return FALSE;
    }
  listeners = soup_server_get_listeners (mock->control);
  local = listeners ? g_socket_get_local_address (listeners->data, error) : NULL;
  g_slist_free (listeners);
  if (local == NULL)
    return FALSE;
  mock->control_text = portico_mock_peer_string (local);
  return TRUE;
}

static gboolean
mock_start (PorticoMock *mock, GError **error)
{
  guint i;

  mock->settings = mock->opt.settings;
  mock->default_text = mock->opt.body ? g_strdup (mock->opt.body)
                                      : g_strdup_printf ("hello from %s\n", mock->opt.name);
  mock->pattern = g_malloc (MOCK_PIECE_SIZE);
  for (i = 0; i < MOCK_PIECE_SIZE; i++)
    mock->pattern[i] = PORTICO_MOCK_PATTERN[i % PORTICO_MOCK_PATTERN_LEN];
  mock->conns = g_hash_table_new (g_str_hash, g_str_equal);

  if (mock->opt.tls_cert != NULL &&
      (mock->certificate = g_tls_certificate_new_from_files (mock->opt.tls_cert, mock->opt.tls_key,
                                                             error)) == NULL)
    {
      g_prefix_error (error, "--tls-cert %s: ", mock->opt.tls_cert);
      return FALSE;
    }
  if (mock->certificate != NULL &&
      (mock->database = g_tls_file_database_new (mock->opt.tls_cert, error)) == NULL)
    return FALSE;
  mock->server = soup_server_new ("server-header", "portico-mock", NULL);
  soup_server_add_early_handler (mock->server, NULL, on_early_request, mock, NULL);
  soup_server_add_handler (mock->server, NULL, on_request, mock, NULL);
  if (!mock_add_idle_listener (mock->server, error))
    return FALSE;
  if (!mock_listen (mock, G_SOCKET_ADDRESS (mock->opt.address), &mock->bound, error))
    {
      g_prefix_error (error, "cannot listen on %s: ", mock->opt.listen);
      return FALSE;
    }
  mock->bound_text = portico_mock_peer_string (mock->bound);
  return mock_start_control (mock, error);
}

static void
mock_clear (PorticoMock *mock)
{
  mock_unlisten (mock);
  if (mock->server)
    soup_server_disconnect (mock->server);
  if (mock->control)
    soup_server_disconnect (mock->control);
  g_clear_object (&mock->server);
  g_clear_object (&mock->control);
  g_clear_object (&mock->bound);
  g_clear_object (&mock->certificate);
  g_clear_object (&mock->database);
  g_clear_pointer (&mock->bound_text, g_free);
  g_clear_pointer (&mock->control_text, g_free);
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
  guint term_id, int_id;

  if (!portico_mock_options_parse (&mock.opt, argc, argv, &error))
    {
      g_printerr ("portico mock: %s\n", error->message);
      mock_clear (&mock);
      return 2;
    }
  if (!mock_start (&mock, &error))
    {
      g_printerr ("portico mock: %s\n", error->message);
      mock_clear (&mock);
      return 1;
    }

  mock.loop = g_main_loop_new (NULL, FALSE);
  term_id = g_unix_signal_add (SIGTERM, on_stop_signal, mock.loop);
  int_id = g_unix_signal_add (SIGINT, on_stop_signal, mock.loop);

  printf ("listening %s\ncontrol %s\n", mock.bound_text, mock.control_text);
  fflush (stdout);
  g_main_loop_run (mock.loop);

  g_source_remove (term_id);
  g_source_remove (int_id);
  mock_clear (&mock);
  return 0;
}
