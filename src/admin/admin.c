/* admin.c: the admin process's server: who may ask, which path does what,
 * and POST /config, which validates a configuration and hands it to the
 * master as a file. The views themselves are in admin-views.c and
 * admin-metrics.c, the dashboard's data in admin-dashboard.c. */
#include "admin/admin.h"
#include "admin/admin-dashboard.h"
#include "admin/admin-private.h"
#include "node/signals.h"
#include "pdk/phases.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <glib-unix.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>

/* How many of its own config-N.json files the admin leaves in the runtime
 * directory; older ones are removed. The master reads a file as soon as it
 * gets the line, so the old ones are only history. */
#define ADMIN_KEEP_CONFIG_FILES 8

#define DASHBOARD_WS "/dashboard/ws"
/* The WebSocket subprotocol a browser carries the token in, as it cannot
 * set an Authorization header on a WebSocket. */
#define TOKEN_PROTOCOL "portico-token."
/* The page loads only what this server serves; its socket goes to the same
 * host ('self' covers ws: to it). */
#define DASHBOARD_CSP "default-src 'self'; connect-src 'self'; img-src 'self' data:"

typedef struct {
  const PorticoAdminContext *ctx;
  const PorticoConfig *config; /* the generation's: ctx->config, then what the master sends */
  PorticoConfig *owned_config; /* config, when it came from the master after the fork */
  GString *control_in;         /* partial line from the master */
  SoupServer *server;
  GMainLoop *loop;
  char *token_digest;  /* SHA-256 of node.admin_token, hex; NULL without a token */
  char *token_protocol; /* TOKEN_PROTOCOL + node.admin_token; NULL without a token */
  guint config_serial; /* the N of the last config-N.json written */
  PorticoAdminDashboard *dashboard;
} PorticoAdmin;

typedef void (*AdminHandler) (PorticoAdmin *admin, SoupServerMessage *msg);

/* ------------------------------------------------------------------------ */
/* Responses */

static void
respond_json (SoupServerMessage *msg, guint status, JsonNode *node)
{
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  gsize length = 0;

  json_generator_set_pretty (generator, TRUE);
  json_generator_set_root (generator, node);
  g_autofree char *text = json_generator_to_data (generator, &length);
  char *body = g_strconcat (text, "\n", NULL);
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_TAKE, body, length + 1);
}

/* {"message": MESSAGE} plus, when @errors is given, "errors": [...]. */
static void
respond_error_full (SoupServerMessage *msg, guint status, const char *message, GPtrArray *errors)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "message");
  json_builder_add_string_value (b, message);
  if (errors != NULL)
    {
      json_builder_set_member_name (b, "errors");
      json_builder_begin_array (b);
      for (guint i = 0; i < errors->len; i++)
        {
          g_autofree char *text = g_utf8_make_valid (g_ptr_array_index (errors, i), -1);
          json_builder_add_string_value (b, text);
        }
      json_builder_end_array (b);
    }
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  respond_json (msg, status, root);
}

static void
respond_error (SoupServerMessage *msg, guint status, const char *message)
{
  respond_error_full (msg, status, message, NULL);
}

/* An answer given before the body is read. libsoup still reads whatever
 * body follows: drop it as it comes instead of keeping it, and close the
 * connection afterwards, since a client that sent "Expect: 100-continue" may
 * or may not send the body now. */
static void
reject (SoupServerMessage *msg, guint status, const char *message)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);

  soup_message_body_set_accumulate (body, FALSE);
  soup_message_body_truncate (body);
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection", "close");
  respond_error (msg, status, message);
}

/* ------------------------------------------------------------------------ */
/* Who may ask */

static gboolean
peer_is_loopback (GSocketAddress *address)
{
  static const guint8 v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

  if (address == NULL || !G_IS_INET_SOCKET_ADDRESS (address))
    return FALSE;
  GInetAddress *ip = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address));
  if (g_inet_address_get_is_loopback (ip))
    return TRUE;
  /* ::ffff:127.x.y.z, as a dual-stack socket sees an IPv4 loopback peer. */
  if (g_inet_address_get_family (ip) != G_SOCKET_FAMILY_IPV6)
    return FALSE;
  const guint8 *bytes = g_inet_address_to_bytes (ip);
  return memcmp (bytes, v4_mapped, sizeof v4_mapped) == 0 && bytes[12] == 127;
}

static char *
token_digest (const char *token, gsize len)
{
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) token, len);
}

/* Comparing digests (both SHA-256 in hex, so of one length), not tokens, and
 * with no early exit: the time taken says nothing about the real token's
 * length or about how much of it a guess got right. */
static gboolean
digest_equal (const char *a, const char *b)
{
  gsize n = strlen (a);
  guint diff = 0;

  if (strlen (b) != n)
    return FALSE;
  for (gsize i = 0; i < n; i++)
    diff |= (guint) ((guchar) a[i] ^ (guchar) b[i]);
  return diff == 0;
}

static gboolean
token_matches (PorticoAdmin *admin, const char *token, gsize len)
{
  if (len == 0)
    return FALSE;
  g_autofree char *digest = token_digest (token, len);
  return digest_equal (digest, admin->token_digest);
}

/* "Authorization: Bearer TOKEN" (the scheme in any case). */
static gboolean
bearer_matches (PorticoAdmin *admin, SoupServerMessage *msg)
{
  const char *value = soup_message_headers_get_one (soup_server_message_get_request_headers (msg),
                                                    "Authorization");
  if (value == NULL)
    return FALSE;
  while (*value == ' ' || *value == '\t')
    value++;
  if (g_ascii_strncasecmp (value, "Bearer", 6) != 0 || (value[6] != ' ' && value[6] != '\t'))
    return FALSE;
  const char *token = value + 7;
  while (*token == ' ' || *token == '\t')
    token++;
  gsize len = strlen (token);
  while (len > 0 && (token[len - 1] == ' ' || token[len - 1] == '\t'))
    len--;
  return token_matches (admin, token, len);
}

/* "Sec-WebSocket-Protocol: ..., portico-token.TOKEN, ...". */
static gboolean
protocol_matches (PorticoAdmin *admin, SoupServerMessage *msg)
{
  const char *value = soup_message_headers_get_list (soup_server_message_get_request_headers (msg),
                                                     "Sec-WebSocket-Protocol");
  if (value == NULL)
    return FALSE;
  g_auto (GStrv) offered = g_strsplit (value, ",", -1);
  for (guint i = 0; offered[i] != NULL; i++)
    {
      const char *p = g_strstrip (offered[i]);
      if (g_str_has_prefix (p, TOKEN_PROTOCOL) &&
          token_matches (admin, p + strlen (TOKEN_PROTOCOL), strlen (p + strlen (TOKEN_PROTOCOL))))
        return TRUE;
    }
  return FALSE;
}

/* Whether @host ("name:port") names the loopback by address or as
 * localhost. */
static gboolean
host_is_loopback_name (const char *host)
{
  g_autofree char *name = NULL;

  if (host[0] == '[')
    name = g_strndup (host + 1, strcspn (host + 1, "]"));
  else
    name = g_strndup (host, strcspn (host, ":"));
  return g_ascii_strcasecmp (name, "localhost") == 0 || g_hostname_is_ip_address (name);
}

/* A request a browser sent (it says so with Origin or Sec-Fetch-Site)
 * whose host is a name other than localhost: a page of a site that
 * re-pointed its own name to 127.0.0.1 (DNS rebinding), which would
 * otherwise be of the same origin as the node's answers. */
static gboolean
rebound_browser_request (SoupServerMessage *msg)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const char *host = soup_message_headers_get_one (headers, "Host");

  if (soup_message_headers_get_one (headers, "Origin") == NULL &&
      soup_message_headers_get_one (headers, "Sec-Fetch-Site") == NULL)
    return FALSE;
  return host == NULL || !host_is_loopback_name (host);
}

/* Whether @msg may be answered; refuses it when not. @page: what is asked
 * needs no token (the dashboard's page, which holds no data); @websocket:
 * the token may come as a subprotocol. */
static gboolean
admit (PorticoAdmin *admin, SoupServerMessage *msg, gboolean page, gboolean websocket)
{
  if (admin->token_digest == NULL)
    {
      if (!peer_is_loopback (soup_server_message_get_remote_address (msg)))
        reject (msg, SOUP_STATUS_FORBIDDEN, "the admin API answers loopback peers only unless node.admin_token is set");
      else if (rebound_browser_request (msg))
        reject (msg, SOUP_STATUS_FORBIDDEN,
                "without node.admin_token, a browser must reach the admin API by address or as localhost");
      else
        return TRUE;
      return FALSE;
    }
  if (page || bearer_matches (admin, msg) || (websocket && protocol_matches (admin, msg)))
    return TRUE;
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "WWW-Authenticate",
                                "Bearer realm=\"portico-admin\"");
  reject (msg, SOUP_STATUS_UNAUTHORIZED,
          websocket ? "a valid \"Authorization: Bearer TOKEN\" header or \"" TOKEN_PROTOCOL "TOKEN\" subprotocol "
                      "is required"
                    : "a valid \"Authorization: Bearer TOKEN\" header is required");
  return FALSE;
}

static void
on_got_chunk (SoupServerMessage *msg, GBytes *chunk, gpointer data)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);

  if (soup_server_message_get_status (msg) == 0 && body->length > PORTICO_ADMIN_MAX_BODY)
    reject (msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "the request body is larger than 8 MiB");
}

/* Runs once the head is read, before any body: a request that will be
 * refused is refused here, so its body is never kept. */
static void
on_early_request (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
                  gpointer data)
{
  PorticoAdmin *admin = data;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const char *method = soup_server_message_get_method (msg);
  g_autoptr (GBytes) page = NULL;
  gboolean is_page = (method == SOUP_METHOD_GET || method == SOUP_METHOD_HEAD) &&
                     (page = portico_admin_dashboard_asset (path, NULL)) != NULL;

  if (!admit (admin, msg, is_page, FALSE))
    return;

  if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH &&
      soup_message_headers_get_content_length (headers) > PORTICO_ADMIN_MAX_BODY)
    {
      reject (msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "the request body is larger than 8 MiB");
      return;
    }
  /* A chunked body has no length up front: count it as it comes. */
  g_signal_connect (msg, "got-chunk", G_CALLBACK (on_got_chunk), NULL);
}

/* A browser names the origin of the page that opens a WebSocket: it must
 * be this very host's, so no other site's page can read the node through a
 * browser on the loopback. Without a token, the host must also be an
 * address or localhost: a page whose name an attacker re-pointed at
 * 127.0.0.1 (DNS rebinding) has its own origin as its host. No Origin: not
 * a browser (portico top, curl), which the rules above cover. */
static gboolean
origin_allowed (PorticoAdmin *admin, SoupServerMessage *msg)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const char *origin = soup_message_headers_get_one (headers, "Origin");
  const char *host = soup_message_headers_get_one (headers, "Host");

  if (origin == NULL)
    return TRUE;
  if (host == NULL || (admin->token_digest == NULL && !host_is_loopback_name (host)))
    return FALSE;
  g_autofree char *own = g_strconcat ("http://", host, NULL);
  return g_ascii_strcasecmp (origin, own) == 0;
}

/* GET /dashboard/ws, before libsoup takes up the handshake. */
static void
on_early_websocket (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
                    gpointer data)
{
  PorticoAdmin *admin = data;

  if (strcmp (path, DASHBOARD_WS) != 0)
    reject (msg, SOUP_STATUS_NOT_FOUND, "no such endpoint");
  else if (!origin_allowed (admin, msg))
    reject (msg, SOUP_STATUS_FORBIDDEN, "the dashboard's WebSocket answers pages of its own origin only");
  else if (admit (admin, msg, FALSE, TRUE))
    /* libsoup gives the socket up to the WebSocket: keep hold of it to see
     * how much the kernel still has to send. */
    g_object_set_data_full (G_OBJECT (msg), "portico-socket", g_object_ref (soup_server_message_get_socket (msg)),
                            g_object_unref);
}

static void
on_websocket (SoupServer *server, SoupServerMessage *msg, const char *path, SoupWebsocketConnection *conn,
              gpointer data)
{
  PorticoAdmin *admin = data;
  GSocket *socket = g_object_get_data (G_OBJECT (msg), "portico-socket");

  g_debug ("admin: dashboard WebSocket open (protocol %s)",
           soup_websocket_connection_get_protocol (conn) != NULL ? "token" : "none");
  portico_admin_dashboard_watch (admin->dashboard, conn, socket);
}

/* The token's subprotocol is the one the handshake may agree on, so the
 * handler changes with the token. */
static void
serve_websocket (PorticoAdmin *admin)
{
  char *protocols[] = { admin->token_protocol, NULL };

  soup_server_add_early_handler (admin->server, DASHBOARD_WS, on_early_websocket, admin, NULL);
  soup_server_add_websocket_handler (admin->server, DASHBOARD_WS, NULL,
                                     admin->token_protocol != NULL ? protocols : NULL, on_websocket, admin,
                                     NULL);
}

/* ------------------------------------------------------------------------ */
/* The endpoints */

/* GET / and GET /dashboard/NAME: the page, compiled in. */
static void
handle_dashboard_asset (PorticoAdmin *admin, SoupServerMessage *msg)
{
  const char *type = NULL;
  g_autoptr (GBytes) bytes = portico_admin_dashboard_asset (g_uri_get_path (soup_server_message_get_uri (msg)),
                                                            &type);
  if (bytes == NULL)
    {
      respond_error (msg, SOUP_STATUS_NOT_FOUND, "no such endpoint");
      return;
    }
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  soup_message_headers_replace (headers, "Content-Security-Policy", DASHBOARD_CSP);
  soup_message_headers_replace (headers, "Cache-Control", "no-cache");
  soup_message_headers_replace (headers, "X-Content-Type-Options", "nosniff");
  soup_message_headers_set_content_type (headers, type, NULL);
  soup_message_body_append_bytes (soup_server_message_get_response_body (msg), bytes);
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
}

static void
handle_dashboard_snapshot (PorticoAdmin *admin, SoupServerMessage *msg)
{
  g_autoptr (JsonNode) root = portico_admin_dashboard_frame (admin->dashboard);
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Cache-Control", "no-cache");
  respond_json (msg, SOUP_STATUS_OK, root);
}

static void
handle_status (PorticoAdmin *admin, SoupServerMessage *msg)
{
  g_autoptr (PorticoAdminSnapshot) snap = portico_admin_snapshot_take (admin->ctx->shm, admin->config);
  g_autoptr (JsonNode) root = portico_admin_status_json (snap);
  respond_json (msg, SOUP_STATUS_OK, root);
}

static void
handle_workers (PorticoAdmin *admin, SoupServerMessage *msg)
{
  g_autoptr (PorticoAdminSnapshot) snap = portico_admin_snapshot_take (admin->ctx->shm, admin->config);
  g_autoptr (JsonNode) root = portico_admin_workers_json (snap);
  respond_json (msg, SOUP_STATUS_OK, root);
}

static void
handle_timers (PorticoAdmin *admin, SoupServerMessage *msg)
{
  g_autoptr (PorticoAdminSnapshot) snap = portico_admin_snapshot_take (admin->ctx->shm, admin->config);
  g_autoptr (JsonNode) root = portico_admin_timers_json (snap);
  respond_json (msg, SOUP_STATUS_OK, root);
}

static void
handle_metrics (PorticoAdmin *admin, SoupServerMessage *msg)
{
  g_autoptr (PorticoAdminSnapshot) snap = portico_admin_snapshot_take (admin->ctx->shm, admin->config);
  gsize length = 0;
  char *text = portico_admin_metrics_text (snap, &length);

  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "text/plain; version=0.0.4; charset=utf-8", SOUP_MEMORY_TAKE,
                                    text, length);
}

static void
handle_traces (PorticoAdmin *admin, SoupServerMessage *msg)
{
  const char *path = g_uri_get_path (soup_server_message_get_uri (msg));
  g_autoptr (JsonNode) root = NULL;
  if (strcmp (path, "/traces") == 0)
    root = portico_admin_traces_json (admin->ctx->shm);
  else if ((root = portico_admin_trace_json (admin->ctx->shm, path + strlen ("/traces/"))) == NULL)
    {
      respond_error (msg, SOUP_STATUS_NOT_FOUND, "no such trace (the ring keeps the last few per worker)");
      return;
    }
  respond_json (msg, SOUP_STATUS_OK, root);
}

static void
handle_upstreams (PorticoAdmin *admin, SoupServerMessage *msg)
{
  const char *path = g_uri_get_path (soup_server_message_get_uri (msg)) + strlen ("/upstreams/");
  const char *message = NULL;
  g_autoptr (JsonNode) body = NULL;
  guint status = portico_admin_upstreams (admin->config, soup_server_message_get_method (msg), path, &body, &message);
  if (body != NULL)
    respond_json (msg, status, body);
  else if (status == SOUP_STATUS_NO_CONTENT)
    soup_server_message_set_status (msg, status, NULL);
  else
    respond_error (msg, status, message);
}

static void
handle_get_config (PorticoAdmin *admin, SoupServerMessage *msg)
{
  JsonNode *root = admin->config->root;

  if (root != NULL)
    {
      respond_json (msg, SOUP_STATUS_OK, root);
      return;
    }
  g_autoptr (JsonNode) null = json_node_new (JSON_NODE_NULL);
  respond_json (msg, SOUP_STATUS_OK, null);
}

/* RUNTIME_DIR/config-N.json for the next N whose file does not exist. */
static char *
next_config_path (PorticoAdmin *admin)
{
  for (;;)
    {
      char name[32];
      g_snprintf (name, sizeof name, "config-%u.json", ++admin->config_serial);
      char *path = g_build_filename (admin->ctx->runtime_dir, name, NULL);
      if (!g_file_test (path, G_FILE_TEST_EXISTS))
        return path;
      g_free (path);
    }
}

static void
forget_old_config (PorticoAdmin *admin)
{
  if (admin->config_serial <= ADMIN_KEEP_CONFIG_FILES)
    return;
  char name[32];
  g_snprintf (name, sizeof name, "config-%u.json", admin->config_serial - ADMIN_KEEP_CONFIG_FILES);
  g_autofree char *path = g_build_filename (admin->ctx->runtime_dir, name, NULL);
  g_unlink (path);
}

/* The line fits in PIPE_BUF, so it reaches the master whole or not at all. */
static gboolean
tell_master (PorticoAdmin *admin, const char *path, const char **why)
{
  g_autofree char *line = g_strdup_printf ("reload %s\n", path);
  gsize len = strlen (line);
  ssize_t n;

  if (len > PIPE_BUF)
    {
      *why = "the runtime directory's path is too long for the control pipe";
      return FALSE;
    }
  do
    n = write (admin->ctx->control_fd, line, len);
  while (n < 0 && errno == EINTR);
  if (n == (ssize_t) len)
    return TRUE;
  *why = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
           ? "the master is not reading its control pipe; try again later"
           : "the master cannot be reached";
  return FALSE;
}

static void
handle_post_config (PorticoAdmin *admin, SoupServerMessage *msg)
{
  g_autoptr (GBytes) bytes = soup_message_body_flatten (soup_server_message_get_request_body (msg));
  gsize len = 0;
  const char *data = g_bytes_get_data (bytes, &len);
  g_autoptr (GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;

  if (data == NULL)
    data = "";
  g_autoptr (PorticoConfig) config = portico_config_load_data (data, (gssize) len, "<admin>", errors, &error);
  if (config == NULL)
    {
      if (errors->len == 0)
        g_ptr_array_add (errors, g_strdup (error != NULL ? error->message : "cannot load"));
      respond_error_full (msg, SOUP_STATUS_BAD_REQUEST, "invalid configuration", errors);
      return;
    }

  g_autofree char *path = next_config_path (admin);
  if (!g_file_set_contents (path, data, (gssize) len, &error))
    {
      g_warning ("admin: %s", error->message);
      respond_error (msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, "cannot store the configuration");
      return;
    }
  /* The generation serving now: the master may have moved on before we
   * answer. */
  guint32 generation = portico_shm_generation (admin->ctx->shm);
  const char *why = NULL;
  if (!tell_master (admin, path, &why))
    {
      g_warning ("admin: reload not requested: %s", why);
      g_unlink (path);
      respond_error (msg, SOUP_STATUS_SERVICE_UNAVAILABLE, why);
      return;
    }
  forget_old_config (admin);
  g_info ("admin: reload requested with %s", path);

  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "message");
  json_builder_add_string_value (b, "configuration accepted, reloading");
  json_builder_set_member_name (b, "generation");
  json_builder_add_int_value (b, generation);
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  respond_json (msg, SOUP_STATUS_ACCEPTED, root);
}

typedef struct {
  const char *path;
  AdminHandler get; /* GET and HEAD */
  AdminHandler post;
} AdminRoute;

static const AdminRoute routes[] = {
  { "/", handle_dashboard_asset, NULL },
  { "/dashboard/snapshot", handle_dashboard_snapshot, NULL },
  { "/dashboard/", handle_dashboard_asset, NULL }, /* a prefix: the page's files */
  { "/status", handle_status, NULL },
  { "/workers", handle_workers, NULL },
  { "/timers", handle_timers, NULL },
  { "/config", handle_get_config, handle_post_config },
  { "/metrics", handle_metrics, NULL },
  { "/traces", handle_traces, NULL },
  { "/traces/", handle_traces, NULL }, /* a prefix: /traces/{id} */
  { "/upstreams/", handle_upstreams, handle_upstreams }, /* the handler checks the method */
};

static void
on_request (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query, gpointer data)
{
  PorticoAdmin *admin = data;
  const char *method = soup_server_message_get_method (msg);
  const AdminRoute *route = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (routes) && route == NULL; i++)
    {
      const char *p = routes[i].path;
      gsize len = strlen (p);
      gboolean prefix = len > 1 && p[len - 1] == '/'; /* "/" itself is the page */
      if (prefix ? strncmp (path, p, len) == 0 && path[len] != '\0' : strcmp (path, p) == 0)
        route = &routes[i];
    }
  if (route == NULL)
    {
      respond_error (msg, SOUP_STATUS_NOT_FOUND, "no such endpoint");
      return;
    }

  AdminHandler handler = NULL;
  if (method == SOUP_METHOD_GET || method == SOUP_METHOD_HEAD)
    handler = route->get;
  else if (method == SOUP_METHOD_POST)
    handler = route->post;
  if (handler == NULL)
    {
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow",
                                    route->post != NULL ? "GET, HEAD, POST" : "GET, HEAD");
      respond_error (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "method not allowed");
      return;
    }
  handler (admin, msg);
  g_debug ("admin: %s %s -> %u", method, path, soup_server_message_get_status (msg));
}

/* ------------------------------------------------------------------------ */
/* The process */

static void
use_token (PorticoAdmin *admin)
{
  g_clear_pointer (&admin->token_digest, g_free);
  g_clear_pointer (&admin->token_protocol, g_free);
  const char *token = admin->config->node.admin_token;
  if (token != NULL)
    {
      admin->token_digest = token_digest (token, strlen (token));
      admin->token_protocol = g_strconcat (TOKEN_PROTOCOL, token, NULL);
    }
  serve_websocket (admin);
}

/* A reload does not replace the admin process (a request arriving as an
 * old one exits would be lost): the master sends "config PATH" for the new
 * generation's configuration, already validated, and the views switch. */
static void
take_config (PorticoAdmin *admin, const char *path)
{
  g_autoptr (GError) error = NULL;
  PorticoConfig *config = portico_config_load_file (path, NULL, &error);
  if (config == NULL)
    {
      g_warning ("admin: cannot take the new configuration %s: %s", path, error->message);
      return;
    }
  portico_admin_dashboard_set_config (admin->dashboard, config);
  g_clear_pointer (&admin->owned_config, portico_config_free);
  admin->owned_config = config;
  admin->config = config;
  use_token (admin);
}

static gboolean
on_control_input (gint fd, GIOCondition cond, gpointer data)
{
  PorticoAdmin *admin = data;
  char buf[4096];
  ssize_t n = read (fd, buf, sizeof buf);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
    return G_SOURCE_REMOVE; /* the master is gone: POST /config will say 503 */
  if (n < 0)
    return G_SOURCE_CONTINUE;
  g_string_append_len (admin->control_in, buf, n);
  char *nl;
  while ((nl = memchr (admin->control_in->str, '\n', admin->control_in->len)) != NULL)
    {
      *nl = '\0';
      if (g_str_has_prefix (admin->control_in->str, "config "))
        take_config (admin, admin->control_in->str + strlen ("config "));
      g_string_erase (admin->control_in, 0, nl - admin->control_in->str + 1);
    }
  return G_SOURCE_CONTINUE;
}

static void
on_stop_signal (int signum, gpointer data)
{
  PorticoAdmin *admin = data;

  g_info ("admin: signal %d, stopping", signum);
  g_main_loop_quit (admin->loop);
}

int
portico_admin_run (const PorticoAdminContext *ctx)
{
  g_return_val_if_fail (ctx != NULL && ctx->shm != NULL && ctx->config != NULL, 1);
  g_return_val_if_fail (ctx->runtime_dir != NULL, 1);

  PorticoAdmin admin = { .ctx = ctx };
  g_autoptr (GError) error = NULL;

  /* A master that died must give 503 on POST /config, not kill us. */
  signal (SIGPIPE, SIG_IGN);
  if (ctx->control_fd >= 0)
    {
      int flags = fcntl (ctx->control_fd, F_GETFL);
      if (flags >= 0)
        fcntl (ctx->control_fd, F_SETFL, flags | O_NONBLOCK);
    }
  admin.config = ctx->config;
  admin.control_in = g_string_new (NULL);
  /* The shared dictionary through the same calls the workers use: the
   * targets' health is kept there (proxy/health.c). */
  portico_pdk_bind_worker (NULL, ctx->shm, 0, 0);

  GSocket *socket = g_socket_new_from_fd (ctx->listen_fd, &error);
  if (socket == NULL)
    {
      g_warning ("admin: cannot use the listening socket: %s", error->message);
      close (ctx->listen_fd);
      g_string_free (admin.control_in, TRUE);
      return 1;
    }

  g_autoptr (GMainContext) context = g_main_context_ref_thread_default ();
  admin.loop = g_main_loop_new (context, FALSE);
  admin.server = soup_server_new ("server-header", "portico-admin/" PORTICO_VERSION, NULL);
  soup_server_add_early_handler (admin.server, NULL, on_early_request, &admin, NULL);
  soup_server_add_handler (admin.server, NULL, on_request, &admin, NULL);
  use_token (&admin);
  admin.dashboard = portico_admin_dashboard_new (ctx->shm, admin.config);

  int status = 0;
  if (!soup_server_listen_socket (admin.server, socket, 0, &error))
    {
      g_warning ("admin: cannot listen: %s", error->message);
      status = 1;
    }
  g_object_unref (socket);

  if (status == 0)
    {
      guint signals[] = {
        portico_signal_add (SIGTERM, on_stop_signal, &admin),
        portico_signal_add (SIGINT, on_stop_signal, &admin),
        portico_signal_add (SIGQUIT, on_stop_signal, &admin),
      };
      g_info ("admin: serving on fd %d", ctx->listen_fd);
      GSource *control = NULL;
      if (ctx->control_fd >= 0)
        {
          control = g_unix_fd_source_new (ctx->control_fd, G_IO_IN | G_IO_HUP);
          g_source_set_callback (control, G_SOURCE_FUNC (on_control_input), &admin, NULL);
          g_source_attach (control, context);
        }
      g_main_loop_run (admin.loop);
      if (control != NULL)
        {
          g_source_destroy (control);
          g_source_unref (control);
        }
      for (gsize i = 0; i < G_N_ELEMENTS (signals); i++)
        portico_signal_remove (signals[i]);
    }

  portico_admin_dashboard_free (admin.dashboard);
  soup_server_disconnect (admin.server);
  g_object_unref (admin.server);
  g_main_loop_unref (admin.loop);
  g_free (admin.token_digest);
  g_free (admin.token_protocol);
  g_clear_pointer (&admin.owned_config, portico_config_free);
  g_string_free (admin.control_in, TRUE);
  return status;
}
