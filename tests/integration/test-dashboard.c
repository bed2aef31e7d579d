/* test-dashboard.c: the dashboard's server side in a real node
 * (docs/dashboard.md): GET /dashboard/snapshot, the WebSocket that pushes
 * frames, who may open it, and the page compiled into the binary.
 *
 * Every wait is a bounded loop of polls; what is asserted is a count or a
 * value, never how long something took. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libsoup/soup.h>

#include "harness-gateway.h"

#define POLL_US 100000
#define POLL_STEPS 100 /* 10 s */
#define TOKEN "T0ken-of-admin"

/* Two workers, every request traced, an upstream with the mock as its
 * one target. @NODE@: the node keys a test adds. */
static const char config_json[] =
  "{'_format_version':'1',"
  " 'node':{'listen':['127.0.0.1:0'],'admin_listen':'127.0.0.1:0','workers':2,'trace_sample':1@NODE@},"
  " 'upstreams':[{'name':'pool','targets':[{'target':'@UPSTREAM@'}]}],"
  " 'services':[{'name':'orders','url':'http://pool/echo','routes':[{'name':'orders','paths':['/orders']}]}]}";

static const char no_token[] = "";
static const char with_token[] = ",'admin_token':'" TOKEN "'";

typedef struct {
  PorticoTestGateway g;
  const char *bearer; /* the header line a request needs, "" when none */
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer node)
{
  portico_test_gateway_start (&f->g, config_json, NULL, "@NODE@", node, NULL);
  f->bearer = node == with_token ? "Authorization: Bearer " TOKEN "\r\n" : "";
}

static void
fixture_teardown (Fixture *f, gconstpointer node)
{
  g_assert_cmpint (portico_proc_stop (f->g.gw), ==, 0);
  portico_test_gateway_tear_down (&f->g, node);
}

/* ------------------------------------------------------------------------ */
/* Requests */

static PorticoTestResponse *
admin_get (Fixture *f, const char *path, const char *headers)
{
  g_autofree char *req = g_strdup_printf ("GET %s HTTP/1.1\r\nHost: %s\r\n%sConnection: close\r\n\r\n", path,
                                          portico_test_gateway_admin (&f->g), headers);
  PorticoTestResponse *resp = portico_test_request (portico_test_gateway_admin (&f->g), req);
  g_assert_nonnull (resp);
  return resp;
}

static JsonNode *
snapshot (Fixture *f)
{
  g_autoptr (PorticoTestResponse) resp = admin_get (f, "/dashboard/snapshot", f->bearer);
  g_assert_cmpint (resp->status, ==, 200);
  g_assert_true (g_str_has_prefix (portico_test_response_header (resp, "Content-Type"), "application/json"));
  g_autofree char *body = portico_test_response_body_string (resp);
  g_autoptr (GError) error = NULL;
  JsonNode *root = json_from_string (body, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
  return root;
}

static void
traffic (Fixture *f, guint n)
{
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (PorticoTestResponse) resp =
        portico_test_request (f->g.addr, "GET /orders/1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
      g_assert_nonnull (resp);
      g_assert_cmpint (resp->status, ==, 200);
    }
}

/* ------------------------------------------------------------------------ */
/* Reading frames */

static JsonObject *
member_object (JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member (o, name);
  if (n == NULL || !JSON_NODE_HOLDS_OBJECT (n))
    g_test_message ("%s: expected an object", name);
  g_assert_true (n != NULL && JSON_NODE_HOLDS_OBJECT (n));
  return json_node_get_object (n);
}

static JsonArray *
member_array (JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member (o, name);
  if (n == NULL || !JSON_NODE_HOLDS_ARRAY (n))
    g_test_message ("%s: expected an array", name);
  g_assert_true (n != NULL && JSON_NODE_HOLDS_ARRAY (n));
  return json_node_get_array (n);
}

/* Each of @names (space-separated) is a member of @o of @type: 'i' an
 * integer, 'd' a number, 's' a string. */
static void
assert_members (JsonObject *o, char type, const char *names)
{
  g_auto (GStrv) list = g_strsplit (names, " ", -1);
  for (guint i = 0; list[i] != NULL; i++)
    {
      JsonNode *n = json_object_get_member (o, list[i]);
      GType t = n != NULL && JSON_NODE_HOLDS_VALUE (n) ? json_node_get_value_type (n) : G_TYPE_INVALID;
      gboolean ok = type == 'i' ? t == G_TYPE_INT64
                  : type == 'd' ? t == G_TYPE_INT64 || t == G_TYPE_DOUBLE
                                : t == G_TYPE_STRING;
      if (!ok)
        g_test_message ("member \"%s\" is not of type '%c'", list[i], type);
      g_assert_true (ok);
    }
}

static double
number (JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member (o, name);
  g_assert_nonnull (n);
  return json_node_get_value_type (n) == G_TYPE_DOUBLE ? json_node_get_double (n) : (double) json_node_get_int (n);
}

static JsonObject *
frame_worker (JsonObject *frame, guint slot)
{
  JsonArray *workers = member_array (frame, "workers");
  for (guint i = 0; i < json_array_get_length (workers); i++)
    {
      JsonObject *w = json_array_get_object_element (workers, i);
      if (json_object_get_int_member (w, "slot") == slot)
        return w;
    }
  return NULL;
}

static guint
n_serving (JsonObject *frame)
{
  JsonArray *workers = member_array (frame, "workers");
  guint n = 0;
  for (guint i = 0; i < json_array_get_length (workers); i++)
    n += g_strcmp0 (json_object_get_string_member (json_array_get_object_element (workers, i), "state"),
                    "serving") == 0;
  return n;
}

/* A snapshot once both workers serve. */
static JsonNode *
snapshot_serving (Fixture *f)
{
  for (guint i = 0; i < POLL_STEPS; i++)
    {
      JsonNode *root = snapshot (f);
      if (n_serving (json_node_get_object (root)) == 2)
        return root;
      json_node_unref (root);
      g_usleep (POLL_US);
    }
  g_assert_not_reached ();
}

static gint64
total_requests (JsonObject *frame)
{
  JsonArray *workers = member_array (frame, "workers");
  gint64 n = 0;
  for (guint i = 0; i < json_array_get_length (workers); i++)
    n += json_object_get_int_member (json_array_get_object_element (workers, i), "requests");
  return n;
}

/* Rates are differences: never negative, and not absurd. */
static void
assert_rates_sane (JsonObject *frame)
{
  JsonObject *rates = member_object (frame, "rates");
  g_assert_cmpfloat (number (rates, "rps"), >=, 0.0);
  g_assert_cmpfloat (number (rates, "rps"), <, 1e6);
  JsonArray *workers = member_array (frame, "workers");
  for (guint i = 0; i < json_array_get_length (workers); i++)
    {
      JsonObject *w = json_array_get_object_element (workers, i);
      g_assert_cmpfloat (number (w, "rps"), >=, 0.0);
      g_assert_cmpfloat (number (w, "rps"), <, 1e6);
    }
}

/* ------------------------------------------------------------------------ */
/* The snapshot */

static void
test_snapshot_shape (Fixture *f, gconstpointer data)
{
  g_test_summary ("GET /dashboard/snapshot is one frame of docs/dashboard.md: every key of the contract with "
                  "its type, the live workers in slot order with free = grid minus the five states, the "
                  "upstream's targets, TLS counts and the traced requests.");
  traffic (f, 3);
  g_autoptr (JsonNode) root = snapshot_serving (f);
  JsonObject *frame = json_node_get_object (root);

  g_assert_cmpstr (json_object_get_string_member (frame, "type"), ==, "frame");
  assert_members (frame, 'i', "time_ms");
  g_assert_cmpint (json_object_get_int_member (frame, "time_ms") / 1000, <=, g_get_real_time () / G_USEC_PER_SEC);

  JsonObject *node = member_object (frame, "node");
  assert_members (node, 'i', "master_pid generation reloads reload_failures respawns workers_configured "
                             "worker_connections");
  assert_members (node, 'd', "uptime_s");
  assert_members (node, 's', "event_backend");
  g_assert_cmpint (json_object_get_int_member (node, "master_pid"), ==, portico_proc_pid (f->g.gw));
  g_assert_cmpint (json_object_get_int_member (node, "generation"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (node, "workers_configured"), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (node, "event_backend"), ==, "epoll");
  g_assert_true (json_object_get_null_member (node, "last_reload_error"));
  gint64 grid = json_object_get_int_member (node, "worker_connections");
  g_assert_cmpint (grid, >=, 1024);

  JsonArray *workers = member_array (frame, "workers");
  g_assert_cmpuint (json_array_get_length (workers), ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      JsonObject *w = json_array_get_object_element (workers, i);
      assert_members (w, 'i', "slot pid generation requests");
      assert_members (w, 'd', "uptime_s rps loop_lag_ms loop_lag_max_ms");
      assert_members (w, 's', "state");
      g_assert_cmpint (json_object_get_int_member (w, "slot"), ==, i);
      JsonObject *conns = member_object (w, "connections");
      assert_members (conns, 'i', "reading active waiting writing keepalive free");
      gint64 held = 0;
      static const char *const states[] = { "reading", "active", "waiting", "writing", "keepalive" };
      for (guint c = 0; c < G_N_ELEMENTS (states); c++)
        held += json_object_get_int_member (conns, states[c]);
      g_assert_cmpint (json_object_get_int_member (conns, "free"), ==, grid - held);
      JsonObject *timers = member_object (w, "timers");
      assert_members (timers, 'i', "pending running");
      JsonArray *owners = member_array (timers, "owners");
      g_assert_cmpuint (json_array_get_length (owners), >=, 1);
      assert_members (json_array_get_object_element (owners, 0), 'i', "pending running fired");
      assert_members (json_array_get_object_element (owners, 0), 's', "name");
      assert_members (member_object (w, "upstream"), 'i', "idle busy");
    }

  JsonObject *rates = member_object (frame, "rates");
  assert_members (rates, 'd', "rps p50_ms p90_ms p99_ms");
  assert_members (member_object (rates, "status"), 'i', "2xx 3xx 4xx 5xx");
  member_array (frame, "history");

  JsonArray *upstreams = member_array (frame, "upstreams");
  g_assert_cmpuint (json_array_get_length (upstreams), ==, 1);
  JsonObject *pool = json_array_get_object_element (upstreams, 0);
  g_assert_cmpstr (json_object_get_string_member (pool, "name"), ==, "pool");
  g_assert_cmpstr (json_object_get_string_member (pool, "algorithm"), ==, "round-robin");
  JsonArray *targets = member_array (pool, "targets");
  g_assert_cmpuint (json_array_get_length (targets), ==, 1);
  JsonObject *target = json_array_get_object_element (targets, 0);
  g_assert_cmpstr (json_object_get_string_member (target, "target"), ==, portico_proc_address (f->g.mock, 0));
  assert_members (target, 'i', "weight");
  g_assert_cmpstr (json_object_get_string_member (target, "health"), ==, "HEALTHCHECKS_OFF");

  JsonObject *tls = member_object (frame, "tls");
  assert_members (member_object (tls, "downstream"), 'i', "full resumed failed");
  assert_members (member_object (tls, "upstream"), 'i', "full resumed failed");

  JsonArray *traces = member_array (frame, "traces");
  g_assert_cmpuint (json_array_get_length (traces), ==, 3);
  JsonObject *trace = json_array_get_object_element (traces, 0);
  assert_members (trace, 's', "id method path");
  assert_members (trace, 'i', "status");
  assert_members (trace, 'd', "total_ms");
  g_assert_cmpstr (json_object_get_string_member (trace, "path"), ==, "/orders/1");
  g_assert_cmpint (json_object_get_int_member (trace, "status"), ==, 200);
  g_autofree char *detail = g_strdup_printf ("/traces/%s", json_object_get_string_member (trace, "id"));
  g_autoptr (PorticoTestResponse) resp = admin_get (f, detail, "");
  g_assert_cmpint (resp->status, ==, 200);
}

static void
test_snapshot_traffic (Fixture *f, gconstpointer data)
{
  g_test_summary ("With requests flowing, a snapshot shows requests/s above 0 on the node and on a worker, "
                  "2xx responses and a p50 latency; the workers' request counts grow; the history gains "
                  "about a point a second, each point with its keys, in time order.");
  g_autoptr (JsonNode) first = snapshot_serving (f);
  gint64 before = total_requests (json_node_get_object (first));
  guint points_before = json_array_get_length (member_array (json_node_get_object (first), "history"));
  gboolean seen = FALSE;

  /* Requests until a frame shows them as a rate: bounded in count. */
  for (guint round = 0; round < 60 && !seen; round++)
    {
      traffic (f, 25);
      g_autoptr (JsonNode) root = snapshot (f);
      JsonObject *frame = json_node_get_object (root);
      assert_rates_sane (frame);
      JsonObject *rates = member_object (frame, "rates");
      if (number (rates, "rps") <= 0)
        continue;
      seen = TRUE;
      g_assert_cmpint (total_requests (frame), >, before);
      g_assert_cmpint (json_object_get_int_member (member_object (rates, "status"), "2xx"), >, 0);
      g_assert_cmpfloat (number (rates, "p50_ms"), >, 0.0);
      g_assert_cmpfloat (number (rates, "p50_ms"), <=, number (rates, "p90_ms"));
      g_assert_cmpfloat (number (rates, "p90_ms"), <=, number (rates, "p99_ms"));
      double worker_rps = 0;
      JsonArray *workers = member_array (frame, "workers");
      for (guint i = 0; i < json_array_get_length (workers); i++)
        worker_rps += number (json_array_get_object_element (workers, i), "rps");
      g_assert_cmpfloat (worker_rps, >, 0.0);
    }
  g_assert_true (seen);

  /* Three more points, polled for: a ring of one point a second. */
  guint points = 0;
  g_autoptr (JsonNode) last = NULL;
  for (guint i = 0; i < POLL_STEPS && points < points_before + 3; i++)
    {
      g_usleep (POLL_US);
      g_clear_pointer (&last, json_node_unref);
      last = snapshot (f);
      points = json_array_get_length (member_array (json_node_get_object (last), "history"));
    }
  g_assert_cmpuint (points, >=, points_before + 3);
  g_assert_cmpuint (points, <=, 300);
  JsonArray *history = member_array (json_node_get_object (last), "history");
  gint64 t = 0;
  double busiest = 0;
  for (guint i = 0; i < points; i++)
    {
      JsonObject *p = json_array_get_object_element (history, i);
      assert_members (p, 'i', "t errors");
      assert_members (p, 'd', "rps p50_ms p90_ms p99_ms lag_max_ms");
      g_assert_cmpint (json_object_get_int_member (p, "t"), >=, t);
      t = json_object_get_int_member (p, "t");
      busiest = MAX (busiest, number (p, "rps"));
      g_assert_cmpint (json_object_get_int_member (p, "errors"), ==, 0);
    }
  g_assert_cmpfloat (busiest, >, 0.0);
}

static void
test_snapshot_respawn (Fixture *f, gconstpointer data)
{
  g_test_summary ("A worker killed with SIGKILL: later frames show another pid in its slot and respawns up "
                  "by one, and no rate goes negative or absurd though the new worker's counters start "
                  "again from 0.");
  traffic (f, 40);
  g_autoptr (JsonNode) first = snapshot_serving (f);
  JsonObject *frame = json_node_get_object (first);
  gint64 respawns = json_object_get_int_member (member_object (frame, "node"), "respawns");
  JsonObject *w0 = frame_worker (frame, 0);
  g_assert_nonnull (w0);
  pid_t killed = (pid_t) json_object_get_int_member (w0, "pid");
  g_assert_cmpint (kill (killed, SIGKILL), ==, 0);

  gboolean replaced = FALSE;
  for (guint i = 0; i < POLL_STEPS && !replaced; i++)
    {
      g_usleep (POLL_US);
      g_autoptr (JsonNode) root = snapshot (f);
      JsonObject *now = json_node_get_object (root);
      assert_rates_sane (now);
      JsonObject *w = frame_worker (now, 0);
      if (w == NULL || json_object_get_int_member (w, "pid") == killed ||
          g_strcmp0 (json_object_get_string_member (w, "state"), "serving") != 0)
        continue;
      replaced = TRUE;
      g_assert_cmpint (json_object_get_int_member (member_object (now, "node"), "respawns"), ==, respawns + 1);
    }
  g_assert_true (replaced);
  /* A second of frames across the respawn, with traffic on the new one. */
  for (guint i = 0; i < 12; i++)
    {
      traffic (f, 2);
      g_usleep (POLL_US);
      g_autoptr (JsonNode) root = snapshot (f);
      assert_rates_sane (json_node_get_object (root));
    }
}

/* ------------------------------------------------------------------------ */
/* The WebSocket through libsoup, on the test's own main context */

typedef struct {
  GMainContext *context;
  SoupSession *session;
  SoupMessage *msg;
  SoupWebsocketConnection *conn;
  GError *error;
  gboolean done;
  GPtrArray *frames; /* JsonNode*, as they came */
} Ws;

static void
on_ws_message (SoupWebsocketConnection *conn, gint type, GBytes *message, gpointer data)
{
  Ws *ws = data;
  gsize len = 0;
  const char *text = g_bytes_get_data (message, &len);
  g_autofree char *copy = g_strndup (text, len);
  JsonNode *root = json_from_string (copy, NULL);
  g_assert_cmpint (type, ==, SOUP_WEBSOCKET_DATA_TEXT);
  g_assert_nonnull (root);
  g_ptr_array_add (ws->frames, root);
}

static void
on_ws_connected (GObject *source, GAsyncResult *result, gpointer data)
{
  Ws *ws = data;
  ws->conn = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &ws->error);
  if (ws->conn != NULL)
    g_signal_connect (ws->conn, "message", G_CALLBACK (on_ws_message), ws);
  ws->done = TRUE;
}

static gboolean
set_flag (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the context until *@flag or for @ms at most. */
static void
ws_run (Ws *ws, gboolean *flag, guint ms)
{
  gboolean timed_out = FALSE;
  GSource *timeout = g_timeout_source_new (ms);
  g_source_set_callback (timeout, set_flag, &timed_out, NULL);
  g_source_attach (timeout, ws->context);
  while (!timed_out && (flag == NULL || !*flag))
    g_main_context_iteration (ws->context, TRUE);
  g_source_destroy (timeout);
  g_source_unref (timeout);
}

/* Opens ws://ADMIN/dashboard/ws with @origin (NULL: no Origin header),
 * subprotocol @protocol and @bearer as the Authorization token (NULL:
 * none). ws->conn is NULL when refused; ws->msg has the status. */
static Ws *
ws_open (Fixture *f, const char *origin, const char *protocol, const char *bearer)
{
  Ws *ws = g_new0 (Ws, 1);
  ws->frames = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  ws->context = g_main_context_new ();
  g_main_context_push_thread_default (ws->context);
  ws->session = soup_session_new ();
  g_autofree char *url = g_strdup_printf ("ws://%s/dashboard/ws", portico_test_gateway_admin (&f->g));
  ws->msg = soup_message_new ("GET", url);
  if (bearer != NULL)
    {
      g_autofree char *value = g_strdup_printf ("Bearer %s", bearer);
      soup_message_headers_replace (soup_message_get_request_headers (ws->msg), "Authorization", value);
    }
  char *protocols[] = { (char *) protocol, NULL };
  soup_session_websocket_connect_async (ws->session, ws->msg, origin, protocol != NULL ? protocols : NULL,
                                        G_PRIORITY_DEFAULT, NULL, on_ws_connected, ws);
  ws_run (ws, &ws->done, 10000);
  g_assert_true (ws->done);
  if (ws->error != NULL)
    g_test_message ("WebSocket refused: %s (status %u)", ws->error->message, soup_message_get_status (ws->msg));
  return ws;
}

static void
ws_free (Ws *ws)
{
  if (ws->conn != NULL)
    {
      g_signal_handlers_disconnect_by_data (ws->conn, ws);
      if (soup_websocket_connection_get_state (ws->conn) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (ws->conn, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
      g_object_unref (ws->conn);
    }
  g_clear_error (&ws->error);
  g_object_unref (ws->msg);
  g_object_unref (ws->session);
  /* Let the close and the session's sources finish on this context. */
  while (g_main_context_iteration (ws->context, FALSE))
    ;
  g_main_context_pop_thread_default (ws->context);
  g_main_context_unref (ws->context);
  g_ptr_array_unref (ws->frames);
  g_free (ws);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Ws, ws_free)

static guint
history_length (JsonNode *frame)
{
  return json_array_get_length (member_array (json_node_get_object (frame), "history"));
}

static void
test_ws_frames (Fixture *f, gconstpointer data)
{
  g_test_summary ("The WebSocket's first message is a frame with the whole history; then frames come several "
                  "a second (at least 3 within 2 s), each with only the history points added since the "
                  "previous one, so that a page appending them has each point once.");
  g_autoptr (JsonNode) before = snapshot_serving (f);
  /* A history to send: at least two points. */
  for (guint i = 0; i < POLL_STEPS && history_length (before) < 2; i++)
    {
      g_usleep (POLL_US);
      json_node_unref (before);
      before = snapshot (f);
    }
  g_assert_cmpuint (history_length (before), >=, 2);

  g_autoptr (Ws) ws = ws_open (f, NULL, NULL, NULL);
  g_assert_no_error (ws->error);
  g_assert_null (soup_websocket_connection_get_protocol (ws->conn));
  ws_run (ws, NULL, 2000);
  g_assert_cmpuint (ws->frames->len, >=, 3);

  JsonNode *first = g_ptr_array_index (ws->frames, 0);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (first), "type"), ==, "frame");
  g_assert_cmpuint (history_length (first), >=, history_length (before));
  /* Points after the first frame's: each second once, in order. */
  JsonArray *h0 = member_array (json_node_get_object (first), "history");
  gint64 t = json_object_get_int_member (json_array_get_object_element (h0, json_array_get_length (h0) - 1), "t");
  guint added = 0;
  for (guint i = 1; i < ws->frames->len; i++)
    {
      JsonNode *frame = g_ptr_array_index (ws->frames, i);
      JsonArray *h = member_array (json_node_get_object (frame), "history");
      g_assert_cmpuint (json_array_get_length (h), <=, 2);
      for (guint p = 0; p < json_array_get_length (h); p++)
        {
          gint64 pt = json_object_get_int_member (json_array_get_object_element (h, p), "t");
          g_assert_cmpint (pt, >=, t);
          t = pt;
          added++;
        }
      g_assert_nonnull (frame_worker (json_node_get_object (frame), 0));
    }
  /* Two seconds of frames bring a point or more, not one per frame. */
  g_assert_cmpuint (added, >=, 1);
  g_assert_cmpuint (added, <, ws->frames->len);
}

static void
test_ws_origin (Fixture *f, gconstpointer data)
{
  g_test_summary ("A page of another origin cannot open the WebSocket (403 before the upgrade), nor one "
                  "whose name was re-pointed to the loopback (DNS rebinding: without a token the host must "
                  "be an address or localhost, and a browser's request to the rest of the admin API the same); "
                  "the node's own origin and a client that names none (not a browser) can.");
  g_autofree char *own = g_strdup_printf ("http://%s", portico_test_gateway_admin (&f->g));
  const char *refused[] = { "http://evil.example", "null", "https://127.0.0.1:1", NULL };

  for (guint i = 0; refused[i] != NULL; i++)
    {
      g_autoptr (Ws) ws = ws_open (f, refused[i], NULL, NULL);
      g_assert_null (ws->conn);
      g_assert_cmpuint (soup_message_get_status (ws->msg), ==, 403);
    }
  g_autoptr (Ws) same = ws_open (f, own, NULL, NULL);
  g_assert_no_error (same->error);
  ws_run (same, NULL, 600);
  g_assert_cmpuint (same->frames->len, >=, 1);
  g_autoptr (Ws) none = ws_open (f, NULL, NULL, NULL);
  g_assert_no_error (none->error);
  ws_run (none, NULL, 600);
  g_assert_cmpuint (none->frames->len, >=, 1);

  /* DNS rebinding: a page at a name re-pointed to 127.0.0.1 is of its own
   * origin, Host and Origin agree; only an address or localhost passes. */
  const char *port = strrchr (portico_test_gateway_admin (&f->g), ':') + 1;
  g_autofree char *rebound = g_strdup_printf (
    "GET /dashboard/ws HTTP/1.1\r\nHost: rebound.example:%s\r\nOrigin: http://rebound.example:%s\r\n"
    "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n\r\n", port, port);
  g_autoptr (PorticoTestResponse) rebinding = portico_test_request (portico_test_gateway_admin (&f->g), rebound);
  g_assert_nonnull (rebinding);
  g_assert_cmpint (rebinding->status, ==, 403);

  /* The same for the rest of the admin API, for what a browser sends (it
   * says so with Sec-Fetch-Site or Origin); other clients name any host. */
  const char *const hosts[][2] = { { "rebound.example", "403" }, { "127.0.0.1", "200" }, { "localhost", "200" } };
  for (guint i = 0; i < G_N_ELEMENTS (hosts); i++)
    {
      g_autofree char *get = g_strdup_printf ("GET /status HTTP/1.1\r\nHost: %s:%s\r\nSec-Fetch-Site: same-origin\r\n"
                                              "Connection: close\r\n\r\n", hosts[i][0], port);
      g_autoptr (PorticoTestResponse) resp = portico_test_request (portico_test_gateway_admin (&f->g), get);
      g_assert_nonnull (resp);
      g_assert_cmpint (resp->status, ==, atoi (hosts[i][1]));
    }
  g_autofree char *script = g_strdup_printf ("GET /status HTTP/1.1\r\nHost: rebound.example:%s\r\nConnection: close\r\n\r\n",
                                             port);
  g_autoptr (PorticoTestResponse) not_browser = portico_test_request (portico_test_gateway_admin (&f->g), script);
  g_assert_cmpint (not_browser->status, ==, 200);

  g_autoptr (PorticoTestResponse) plain = admin_get (f, "/dashboard/ws", "");
  g_assert_cmpint (plain->status, ==, 400);
  g_autoptr (PorticoTestResponse) below = admin_get (f, "/dashboard/ws/more", "");
  g_assert_cmpint (below->status, ==, 404);
}

static void
test_ws_token (Fixture *f, gconstpointer data)
{
  g_test_summary ("With node.admin_token: the snapshot and the WebSocket need the token (401 without), as "
                  "\"Authorization: Bearer\" or, for a browser, as the subprotocol portico-token.TOKEN, "
                  "which the server then answers with; the page itself needs none.");
  g_autoptr (PorticoTestResponse) none = admin_get (f, "/dashboard/snapshot", "");
  g_assert_cmpint (none->status, ==, 401);
  g_autoptr (PorticoTestResponse) status = admin_get (f, "/status", "");
  g_assert_cmpint (status->status, ==, 401);
  g_autoptr (JsonNode) root = snapshot (f); /* with the Bearer header */

  g_autoptr (Ws) anonymous = ws_open (f, NULL, NULL, NULL);
  g_assert_null (anonymous->conn);
  g_assert_cmpuint (soup_message_get_status (anonymous->msg), ==, 401);
  g_autoptr (Ws) wrong = ws_open (f, NULL, "portico-token.T0ken-of-someone", NULL);
  g_assert_null (wrong->conn);
  g_assert_cmpuint (soup_message_get_status (wrong->msg), ==, 401);

  g_autoptr (Ws) bearer = ws_open (f, NULL, NULL, TOKEN);
  g_assert_no_error (bearer->error);
  g_autofree char *own = g_strdup_printf ("http://%s", portico_test_gateway_admin (&f->g));
  g_autoptr (Ws) browser = ws_open (f, own, "portico-token." TOKEN, NULL);
  g_assert_no_error (browser->error);
  g_assert_cmpstr (soup_websocket_connection_get_protocol (browser->conn), ==, "portico-token." TOKEN);
  ws_run (browser, NULL, 600);
  g_assert_cmpuint (browser->frames->len, >=, 1);

  const char *pages[] = { "/", "/dashboard/app.js", "/dashboard/app.css", NULL };
  for (guint i = 0; pages[i] != NULL; i++)
    {
      g_autoptr (PorticoTestResponse) page = admin_get (f, pages[i], "");
      g_assert_cmpint (page->status, ==, 200);
    }
}

static void
test_ws_token_reload (Fixture *f, gconstpointer data)
{
  g_test_summary ("A reload that sets node.admin_token changes what the WebSocket's handshake agrees on: "
                  "the new token's subprotocol is accepted and answered, without a restart of the admin "
                  "process.");
  g_autoptr (GString) json = g_string_new (config_json);
  g_string_replace (json, "@NODE@", with_token, 0);
  g_string_replace (json, "@UPSTREAM@", portico_proc_address (f->g.mock, 0), 0);
  g_string_replace (json, "'", "\"", 0);
  g_autofree char *post = g_strdup_printf ("POST /config HTTP/1.1\r\nHost: a\r\nContent-Length: %zu\r\n"
                                           "Connection: close\r\n\r\n%s", json->len, json->str);
  g_autoptr (PorticoTestResponse) accepted = portico_test_request (portico_test_gateway_admin (&f->g), post);
  g_assert_nonnull (accepted);
  g_assert_cmpint (accepted->status, ==, 202);

  int status = 0;
  for (guint i = 0; i < POLL_STEPS && status != 401; i++)
    {
      g_usleep (POLL_US);
      g_autoptr (PorticoTestResponse) resp = admin_get (f, "/dashboard/snapshot", "");
      status = resp->status;
    }
  g_assert_cmpint (status, ==, 401);
  g_autoptr (Ws) ws = ws_open (f, NULL, "portico-token." TOKEN, NULL);
  g_assert_no_error (ws->error);
  g_assert_cmpstr (soup_websocket_connection_get_protocol (ws->conn), ==, "portico-token." TOKEN);
}

/* ------------------------------------------------------------------------ */
/* A client that does not read */

/* A WebSocket on a plain socket whose receive buffer is as small as the
 * kernel allows, so the server's sends stall as soon as it stops reading. */
static int
raw_ws_open (Fixture *f)
{
  const char *addr = portico_test_gateway_admin (&f->g);
  const char *colon = strrchr (addr, ':');
  struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons ((guint16) atoi (colon + 1)) };
  g_autofree char *host = g_strndup (addr, colon - addr);
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int small = 1024;
  struct timeval tv = { .tv_sec = 5 };

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (inet_pton (AF_INET, host, &sin.sin_addr), ==, 1);
  g_assert_cmpint (setsockopt (fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), ==, 0);
  g_assert_cmpint (setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), ==, 0);
  g_assert_cmpint (connect (fd, (struct sockaddr *) &sin, sizeof sin), ==, 0);
  g_autofree char *req = g_strdup_printf ("GET /dashboard/ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                                          "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                          "Sec-WebSocket-Version: 13\r\n\r\n", addr);
  g_assert_true (portico_test_send_all (fd, req, -1));
  /* The head, byte by byte: the frames follow it at once. */
  GString *head = g_string_new (NULL);
  char c;
  while (!g_str_has_suffix (head->str, "\r\n\r\n") && head->len < 4096 && read (fd, &c, 1) == 1)
    g_string_append_c (head, c);
  g_test_message ("%s", head->str);
  g_assert_true (g_str_has_prefix (head->str, "HTTP/1.1 101"));
  g_string_free (head, TRUE);
  return fd;
}

static gboolean
read_exact (int fd, guint8 *buf, gsize len)
{
  gsize got = 0;
  while (got < len)
    {
      ssize_t n = read (fd, buf + got, len - got);
      if (n <= 0)
        return FALSE;
      got += (gsize) n;
    }
  return TRUE;
}

/* The next text frame's time_ms (a server's frames are not masked). */
static gint64
raw_ws_frame_time (int fd)
{
  guint8 h[10];
  g_assert_true (read_exact (fd, h, 2));
  g_assert_cmpint (h[0], ==, 0x81); /* FIN, text */
  guint64 len = h[1] & 0x7f;
  if (len == 126)
    {
      g_assert_true (read_exact (fd, h, 2));
      len = (guint64) h[0] << 8 | h[1];
    }
  else if (len == 127)
    {
      g_assert_true (read_exact (fd, h, 8));
      len = 0;
      for (guint i = 0; i < 8; i++)
        len = len << 8 | h[i];
    }
  g_assert_cmpuint (len, <, 16 * 1024 * 1024);
  g_autofree char *text = g_malloc (len + 1);
  g_assert_true (read_exact (fd, (guint8 *) text, len));
  text[len] = '\0';
  g_autoptr (JsonNode) root = json_from_string (text, NULL);
  g_assert_nonnull (root);
  return json_object_get_int_member (json_node_get_object (root), "time_ms");
}

static void
test_ws_slow_client (Fixture *f, gconstpointer data)
{
  g_test_summary ("A client that stops reading is skipped, not queued for: after 4 s without reading it gets "
                  "a few frames from before (what the socket buffers held), then current ones; queued for, "
                  "it would get the 16 frames of those 4 s first.");
  g_autoptr (JsonNode) root = snapshot_serving (f);
  traffic (f, 20); /* traces make the frames bigger */
  int fd = raw_ws_open (f);
  g_usleep (4 * G_USEC_PER_SEC);
  gint64 resumed_ms = g_get_real_time () / 1000;
  guint stale = 0, read = 0;
  for (; read < 40; read++)
    {
      gint64 t = raw_ws_frame_time (fd);
      if (t >= resumed_ms)
        break;
      stale += t < resumed_ms - 500;
    }
  g_test_message ("%u frames from before the client read again, %u older than 0.5 s", read, stale);
  g_assert_cmpuint (read, <, 40);
  g_assert_cmpuint (stale, <=, 6);
  close (fd);
}

/* ------------------------------------------------------------------------ */
/* The page */

static void
test_page (Fixture *f, gconstpointer data)
{
  g_test_summary ("GET / is the dashboard's page and /dashboard/app.js, /dashboard/app.css its files, from the "
                  "binary: the types, the Content-Security-Policy, no-cache, and no http:// or https:// URL "
                  "in any of them (the page works offline). Other names are 404, other methods 405.");
  static const struct {
    const char *path, *type;
  } files[] = {
    { "/", "text/html; charset=utf-8" },
    { "/dashboard/app.js", "text/javascript; charset=utf-8" },
    { "/dashboard/app.css", "text/css; charset=utf-8" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autoptr (PorticoTestResponse) resp = admin_get (f, files[i].path, "");
      g_assert_cmpint (resp->status, ==, 200);
      g_assert_cmpstr (portico_test_response_header (resp, "Content-Type"), ==, files[i].type);
      g_assert_cmpstr (portico_test_response_header (resp, "Content-Security-Policy"), ==,
                       "default-src 'self'; connect-src 'self'; img-src 'self' data:");
      g_assert_cmpstr (portico_test_response_header (resp, "Cache-Control"), ==, "no-cache");
      g_autofree char *body = portico_test_response_body_string (resp);
      g_assert_cmpuint (strlen (body), >, 0);
      g_assert_null (strstr (body, "http://"));
      g_assert_null (strstr (body, "https://"));
    }
  g_autoptr (PorticoTestResponse) index = admin_get (f, "/dashboard/index.html", "");
  g_assert_cmpint (index->status, ==, 200);
  const char *missing[] = { "/dashboard/nope.js", "/dashboard/", "/dashboard/.", "/dashboard", "/index.html", NULL };
  for (guint i = 0; missing[i] != NULL; i++)
    {
      g_autoptr (PorticoTestResponse) resp = admin_get (f, missing[i], "");
      g_assert_cmpint (resp->status, ==, 404);
    }
  g_autoptr (PorticoTestResponse) post =
    portico_test_request (portico_test_gateway_admin (&f->g),
                          "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  g_assert_nonnull (post);
  g_assert_cmpint (post->status, ==, 405);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, node, func) g_test_add (path, Fixture, node, fixture_setup, func, fixture_teardown)
  ADD ("/dashboard/snapshot/shape", no_token, test_snapshot_shape);
  ADD ("/dashboard/snapshot/traffic", no_token, test_snapshot_traffic);
  ADD ("/dashboard/snapshot/respawn", no_token, test_snapshot_respawn);
  ADD ("/dashboard/ws/frames", no_token, test_ws_frames);
  ADD ("/dashboard/ws/origin", no_token, test_ws_origin);
  ADD ("/dashboard/ws/token", with_token, test_ws_token);
  ADD ("/dashboard/ws/token-reload", no_token, test_ws_token_reload);
  ADD ("/dashboard/ws/slow-client", no_token, test_ws_slow_client);
  ADD ("/dashboard/page", no_token, test_page);
#undef ADD
  return g_test_run ();
}
