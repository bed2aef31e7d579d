/* test-phases-gateway.c: modules in the phases of real requests through
 * the real gateway, with the probe fixture module (tests/modules/probe.c)
 * reporting what it saw in response headers; and the certificate phase of
 * TLS handshakes, with sni-pick (tests/modules/sni-pick.c). */
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "harness-gateway.h"
#include "harness-pki.h"

/* One probe instance per route, each configured for one case. */
static const char routes_json[] =
  "{\"_format_version\":\"1\","
  " \"node\":{\"listen\":[\"127.0.0.1:0\"],\"admin_listen\":\"off\",\"workers\":1,"
  "   \"module_path\":[\"@TEST_MODULES@\"]},"
  " \"services\":["
  "  {\"name\":\"echo\",\"url\":\"http://@UPSTREAM@/echo\",\"routes\":["
  "    {\"name\":\"trace\",\"paths\":[\"/trace\"]},"
  "    {\"name\":\"respond-access\",\"paths\":[\"/respond-access\"]},"
  "    {\"name\":\"respond-balancer\",\"paths\":[\"/respond-balancer\"]},"
  "    {\"name\":\"respond-header\",\"paths\":[\"/respond-header\"]},"
  "    {\"name\":\"error\",\"paths\":[\"/error\"]},"
  "    {\"name\":\"yield\",\"paths\":[\"/yield\"]},"
  "    {\"name\":\"yield-io\",\"paths\":[\"/yield-io\"]},"
  "    {\"name\":\"limit\",\"paths\":[\"/limit\"]},"
  "    {\"name\":\"edit\",\"paths\":[\"/edit\"]}]},"
  "  {\"name\":\"bytes\",\"url\":\"http://@UPSTREAM@/bytes/20\",\"routes\":["
  "    {\"name\":\"upper\",\"paths\":[\"/upper\"]},"
  "    {\"name\":\"append\",\"paths\":[\"/append\"]},"
  "    {\"name\":\"status\",\"paths\":[\"/status\"]}]}],"
  " \"consumers\":[{\"username\":\"alice\"}],"
  " \"plugins\":["
  "  {\"name\":\"probe-auth\"},"
  "  {\"name\":\"probe\",\"config\":{\"tag\":\"global\"}},"
  "  {\"name\":\"probe\",\"consumer\":\"alice\",\"route\":\"trace\",\"config\":{\"tag\":\"alice on trace\"}},"
  "  {\"name\":\"probe\",\"route\":\"respond-access\",\"config\":{\"respond_in\":\"access\",\"respond_status\":403}},"
  "  {\"name\":\"probe\",\"route\":\"respond-balancer\",\"config\":{\"respond_in\":\"balancer\",\"respond_status\":503}},"
  "  {\"name\":\"probe\",\"route\":\"respond-header\",\"config\":{\"respond_in\":\"header_filter\",\"respond_status\":451}},"
  "  {\"name\":\"probe\",\"route\":\"error\",\"config\":{\"error_in\":\"access\"}},"
  "  {\"name\":\"probe\",\"route\":\"yield\",\"config\":{\"yield_ms\":1000}},"
  "  {\"name\":\"probe\",\"route\":\"yield-io\",\"config\":{\"yield_io\":true}},"
  "  {\"name\":\"probe\",\"route\":\"limit\",\"config\":{\"max_body\":10}},"
  "  {\"name\":\"probe\",\"route\":\"edit\",\"config\":{\"set_headers\":[\"X-Added: yes\"],"
  "     \"remove_headers\":[\"X-Secret\"],\"set_query\":[\"page=2\"],\"method\":\"PUT\"}},"
  "  {\"name\":\"probe\",\"route\":\"upper\",\"config\":{\"upper_body\":true}},"
  "  {\"name\":\"probe\",\"route\":\"append\",\"config\":{\"append_body\":\"!!\"}},"
  "  {\"name\":\"probe\",\"route\":\"status\",\"config\":{\"set_status\":203}}]}";

static void
fixture_setup (PorticoTestGateway *f, gconstpointer data)
{
  portico_test_gateway_start (f, data ? data : routes_json, NULL, NULL);
}

/* The gateway must stop cleanly, whatever the test did. */
static void
fixture_teardown (PorticoTestGateway *f, gconstpointer data)
{
  g_assert_cmpint (portico_proc_stop (f->gw), ==, 0);
  portico_test_gateway_tear_down (f, data);
}

static PorticoTestResponse *
get (PorticoTestGateway *f, const char *path, const char *extra_headers)
{
  g_autofree char *req = g_strdup_printf ("GET %s HTTP/1.1\r\nHost: test\r\n%sConnection: close\r\n\r\n", path,
                                          extra_headers ? extra_headers : "");
  return portico_test_gateway_request (f, req);
}

static void
test_trace (PorticoTestGateway *f, gconstpointer data)
{
  g_test_summary ("A request passes rewrite, access, balancer and header_filter in order, through "
                  "the instance its scope picks; log runs after it (a misuse there is counted).");
  g_autoptr (PorticoTestResponse) first = get (f, "/trace", NULL);
  g_assert_cmpint (first->status, ==, 200);
  g_assert_cmpstr (portico_test_response_header (first, "X-Probe-Phases"), ==,
                   "rewrite,access,balancer,header_filter");
  g_assert_cmpstr (portico_test_response_header (first, "X-Probe-Tag"), ==, "global");
  g_assert_cmpstr (portico_test_response_header (first, "X-Probe-Consumer"), ==, "-");
  g_assert_cmpstr (portico_test_response_header (first, "X-Probe-Misuse"), ==,
                   "portico_request_set_header: not allowed in the header_filter phase (module probe)");
  g_assert_cmpstr (portico_test_response_header (first, "X-Probe-Spans"), ==, "4");

  g_autoptr (PorticoTestResponse) second = get (f, "/trace", "X-Probe-User: alice\r\n");
  g_assert_cmpstr (portico_test_response_header (second, "X-Probe-Tag"), ==, "alice on trace");
  g_assert_cmpstr (portico_test_response_header (second, "X-Probe-Consumer"), ==, "alice");
  /* The first request's log phase tried to set a request header. */
  g_assert_cmpstr (portico_test_response_header (second, "X-Probe-Log-Misuses"), ==, "1");
  g_autofree char *body = portico_test_response_body_string (second);
  g_assert_nonnull (strstr (body, "[\"X-Consumer-Username\",\"alice\"]"));
  g_assert_nonnull (strstr (body, "[\"X-Credential-Identifier\",\"probe-credential\"]"));

  g_autoptr (PorticoTestResponse) nobody = get (f, "/trace", "X-Probe-User: mallory\r\n");
  g_assert_cmpint (nobody->status, ==, 401);
}

static void
test_respond (PorticoTestGateway *f, gconstpointer data)
{
  g_test_summary ("A module answers from access or balancer without the upstream being asked, and "
                  "from header_filter instead of the upstream's answer; header_filter and log still "
                  "run on its response.");
  gint64 before = portico_test_gateway_mock_requests (f);
  g_autoptr (PorticoTestResponse) access = get (f, "/respond-access", NULL);
  g_assert_cmpint (access->status, ==, 403);
  g_autofree char *body = portico_test_response_body_string (access);
  g_assert_cmpstr (body, ==, "{\"message\":\"probe probe responds in access\"}");
  g_assert_cmpstr (portico_test_response_header (access, "Content-Type"), ==, "application/json; charset=utf-8");
  g_assert_cmpstr (portico_test_response_header (access, "X-Probe-Phases"), ==, "rewrite,access,header_filter");

  g_autoptr (PorticoTestResponse) balancer = get (f, "/respond-balancer", NULL);
  g_assert_cmpint (balancer->status, ==, 503);
  g_assert_cmpstr (portico_test_response_header (balancer, "X-Probe-Phases"), ==,
                   "rewrite,access,balancer,header_filter");
  g_assert_cmpint (portico_test_gateway_mock_requests (f), ==, before); /* the upstream was not asked */

  g_autoptr (PorticoTestResponse) header = get (f, "/respond-header", NULL);
  g_assert_cmpint (header->status, ==, 451);
  g_autofree char *hbody = portico_test_response_body_string (header);
  g_assert_cmpstr (hbody, ==, "{\"message\":\"probe probe responds in header_filter\"}");
  g_assert_cmpint (portico_test_gateway_mock_requests (f), ==, before + 1); /* the upstream was asked this time */

  g_autoptr (PorticoTestResponse) error = get (f, "/error", NULL);
  g_assert_cmpint (error->status, ==, 500);
  g_autofree char *ebody = portico_test_response_body_string (error);
  g_assert_cmpstr (ebody, ==, "{\"message\":\"An unexpected error occurred\"}");

  /* A 404 of the gateway's own goes through the global instance's header_filter. */
  g_autoptr (PorticoTestResponse) none = get (f, "/nowhere", NULL);
  g_assert_cmpint (none->status, ==, 404);
  g_assert_cmpstr (portico_test_response_header (none, "X-Probe-Tag"), ==, "global");
  g_assert_cmpstr (portico_test_response_header (none, "X-Probe-Phases"), ==, "rewrite,header_filter");
}

static gboolean
readable (int fd, int timeout_ms)
{
  struct pollfd p = { .fd = fd, .events = POLLIN };
  return poll (&p, 1, timeout_ms) == 1;
}

static void
test_yield (PorticoTestGateway *f, gconstpointer data)
{
  g_test_summary ("A handler that yields on a timer (1 s) or on an fd does not hold the worker: "
                  "another request on the same single worker is answered meanwhile, then the "
                  "yielded one completes.");
  const char *paths[] = { "/yield", "/yield-io" };
  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      int slow = portico_test_connect (f->addr);
      g_assert_cmpint (slow, >=, 0);
      g_autofree char *req = g_strdup_printf ("GET %s HTTP/1.1\r\nHost: t\r\n\r\n", paths[i]);
      g_assert_true (portico_test_send_all (slow, req, -1));
      if (i == 0)
        {
          /* The worker is free while the first waits. */
          g_autoptr (PorticoTestResponse) quick = get (f, "/trace", NULL);
          g_assert_cmpint (quick->status, ==, 200);
          g_assert_false (readable (slow, 0));
        }
      g_autoptr (PorticoTestResponse) resp = portico_test_read_response (slow, FALSE, 10000);
      g_assert_nonnull (resp);
      g_assert_cmpint (resp->status, ==, 200);
      g_assert_cmpstr (portico_test_response_header (resp, "X-Probe-Phases"), ==,
                       "rewrite,access,balancer,header_filter");
      /* access was called twice: before and after the wait */
      g_assert_cmpstr (portico_test_response_header (resp, "X-Probe-Spans"), ==, "5");
      close (slow);
    }
}

static void
test_edits (PorticoTestGateway *f, gconstpointer data)
{
  g_test_summary ("Request edits in access reach the upstream: method, headers, query.");
  g_autoptr (PorticoTestResponse) resp = get (f, "/edit/x?page=1&keep=yes", "X-Secret: s\r\n");
  g_assert_cmpint (resp->status, ==, 200);
  g_autofree char *body = portico_test_response_body_string (resp);
  g_autoptr (JsonNode) root = json_from_string (body, NULL);
  JsonObject *echo = json_node_get_object (root);
  g_assert_cmpstr (json_object_get_string_member (echo, "method"), ==, "PUT");
  g_assert_cmpstr (json_object_get_string_member (echo, "path"), ==, "/echo/x");
  g_assert_cmpstr (json_object_get_string_member (echo, "query"), ==, "keep=yes&page=2");
  g_assert_nonnull (strstr (body, "[\"X-Added\",\"yes\"]"));
  g_assert_null (strstr (body, "X-Secret"));
}

static void
test_body_filters (PorticoTestGateway *f, gconstpointer data)
{
  g_test_summary ("body_filter changes the body as it streams: same length keeps Content-Length; "
                  "a longer body is sent chunked to HTTP/1.1 and close-delimited to HTTP/1.0.");
  g_autoptr (PorticoTestResponse) upper = get (f, "/upper", NULL);
  g_assert_cmpint (upper->status, ==, 200);
  g_autofree char *ubody = portico_test_response_body_string (upper);
  g_assert_cmpstr (ubody, ==, "0123456789ABCDEFGHIJ");
  g_assert_cmpstr (portico_test_response_header (upper, "Content-Length"), ==, "20");

  g_autoptr (PorticoTestResponse) append = get (f, "/append", NULL);
  g_autofree char *abody = portico_test_response_body_string (append);
  g_assert_cmpstr (abody, ==, "0123456789abcdefghij!!");
  g_assert_true (append->chunked);
  g_assert_null (portico_test_response_header (append, "Content-Length"));

  g_autoptr (PorticoTestResponse) old =
    portico_test_request (f->addr, "GET /append HTTP/1.0\r\nHost: t\r\n\r\n");
  g_assert_nonnull (old);
  g_autofree char *obody = portico_test_response_body_string (old);
  g_assert_cmpstr (obody, ==, "0123456789abcdefghij!!");
  g_assert_false (old->chunked);

  /* HEAD says what GET would: no length, since a module changes it. */
  int fd = portico_test_connect (f->addr);
  g_assert_true (portico_test_send_all (fd, "HEAD /append HTTP/1.1\r\nHost: t\r\n\r\n", -1));
  g_autoptr (PorticoTestResponse) head = portico_test_read_response (fd, TRUE, 10000);
  close (fd);
  g_assert_nonnull (head);
  g_assert_cmpint (head->status, ==, 200);
  g_assert_null (portico_test_response_header (head, "Content-Length"));

  g_autoptr (PorticoTestResponse) status = get (f, "/status", NULL);
  g_assert_cmpint (status->status, ==, 203);
}

static void
test_body_limit (PorticoTestGateway *f, gconstpointer data)
{
  g_test_summary ("A module's body limit gives 413: at once for a declared length, and when a "
                  "chunked body crosses it.");
  g_autoptr (PorticoTestResponse) declared = portico_test_request (
    f->addr, "POST /limit HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\nConnection: close\r\n\r\nhello world");
  g_assert_nonnull (declared);
  g_assert_cmpint (declared->status, ==, 413);
  g_autofree char *body = portico_test_response_body_string (declared);
  g_assert_cmpstr (body, ==, "{\"message\":\"Request size limit exceeded\"}");

  g_autoptr (PorticoTestResponse) chunked = portico_test_request (
    f->addr, "POST /limit HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhello \r\n6\r\nworld!\r\n0\r\n\r\n");
  g_assert_nonnull (chunked);
  g_assert_cmpint (chunked->status, ==, 413);

  g_autoptr (PorticoTestResponse) small = portico_test_request (
    f->addr, "POST /limit HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
  g_assert_cmpint (small->status, ==, 200);
}

static const char rewrite_json[] =
  "{\"_format_version\":\"1\","
  " \"node\":{\"listen\":[\"127.0.0.1:0\"],\"admin_listen\":\"off\",\"workers\":1,"
  "   \"module_path\":[\"@TEST_MODULES@\"]},"
  " \"services\":[{\"name\":\"echo\",\"url\":\"http://@UPSTREAM@/echo\",\"routes\":["
  "    {\"name\":\"new\",\"paths\":[\"/new\"]}]}],"
  " \"plugins\":[{\"name\":\"probe\",\"config\":{\"rewrite_path\":\"/new/place\"}}]}";

static void
test_rewrite (PorticoTestGateway *f, gconstpointer data)
{
  g_test_summary ("A path set in rewrite is the one the router sees and the upstream gets.");
  g_autoptr (PorticoTestResponse) resp = get (f, "/old/place", NULL);
  g_assert_cmpint (resp->status, ==, 200);
  g_autofree char *body = portico_test_response_body_string (resp);
  g_assert_nonnull (strstr (body, "\"path\":\"/echo/place\""));
}

static void
test_check_schema (void)
{
  g_test_summary ("portico check refuses a plugin config that does not fit the module's schema, "
                  "naming the JSON path.");
  portico_test_check_config (
    "{'_format_version':'1','node':{'module_path':['@TEST_MODULES@']},"
    "'services':[{'name':'s','url':'http://@UPSTREAM@','routes':[{'paths':['/'],"
    "'plugins':[{'name':'probe','config':{'yield_ms':'soon'}}]}]}]}",
    "services[0].routes[0].plugins[0].config.yield_ms: expected an integer", NULL);
}

/* ---- the certificate phase ------------------------------------------------------------- */

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SSL_CTX, SSL_CTX_free)

/* A TLS listener with certificates "a" (a.test, the default) and "b"
 * (b.test), and sni-pick globally; its instance on the service must not
 * take part in handshakes (no route is known yet). */
static const char certificate_json[] =
  "{'_format_version':'1',"
  " 'node':{'listen':[{'address':'127.0.0.1:0','ssl':true}],'admin_listen':'127.0.0.1:0','workers':1,"
  "   'module_path':['@TEST_MODULES@']},"
  " 'certificates':[{'id':'a','cert_path':'@DIR@/a.pem','key_path':'@DIR@/a.key','snis':['a.test']},"
  "   {'id':'b','cert_path':'@DIR@/b.pem','key_path':'@DIR@/b.key','snis':['b.test']}],"
  " 'services':[{'name':'echo','url':'http://@UPSTREAM@/echo','routes':[{'paths':['/']}],"
  "   'plugins':[{'name':'sni-pick','config':{'refuse_sni':'a.test'}}]}],"
  " 'plugins':[{'name':'sni-pick','config':{'pick_sni':'pick.test','certificate':'b',"
  "   'refuse_sni':'refused.test','error_sni':'error.test','yield_sni':'yield.test'}}]}";

/* What one handshake came to. */
typedef struct {
  SSL *ssl;      /* NULL: it failed */
  int reason;    /* then OpenSSL's reason (an alert: SSL_R_SSLV3_ALERT_...) */
  char cn[64];   /* else the subject CN of the certificate presented */
  gboolean resumed;
} Handshake;

static Handshake
handshake (const char *addr, SSL_CTX *ctx, int max_version, const char *sni, SSL_SESSION *session)
{
  Handshake h = { NULL, 0, "", FALSE };
  int fd = portico_test_connect (addr);
  g_assert_cmpint (fd, >=, 0);
  SSL *ssl = SSL_new (ctx);
  SSL_set_fd (ssl, fd);
  SSL_set_max_proto_version (ssl, max_version);
  if (sni != NULL)
    SSL_set_tlsext_host_name (ssl, sni);
  if (session != NULL)
    SSL_set_session (ssl, session);
  if (SSL_connect (ssl) != 1)
    {
      h.reason = ERR_GET_REASON (ERR_peek_error ());
      g_test_message ("SNI %s: handshake failed: %s", sni ? sni : "none", ERR_reason_error_string (ERR_peek_error ()));
      ERR_clear_error ();
      SSL_free (ssl);
      close (fd);
      return h;
    }
  X509 *peer = SSL_get1_peer_certificate (ssl);
  g_assert_nonnull (peer);
  X509_NAME_get_text_by_NID (X509_get_subject_name (peer), NID_commonName, h.cn, sizeof h.cn);
  X509_free (peer);
  h.ssl = ssl;
  h.resumed = SSL_session_reused (ssl) == 1;
  g_test_message ("SNI %s: %s certificate %s", sni ? sni : "none", h.resumed ? "resumed," : "new session,", h.cn);
  return h;
}

/* GET / on @h's connection, read to the close; the value of the response
 * field @name ("" when absent) is at *value; returns the session, for a
 * resumption (the ticket comes after the handshake in TLS 1.3). */
static SSL_SESSION *
https_get (Handshake *h, const char *name, char **value)
{
  static const char request[] = "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
  g_autoptr (GString) text = g_string_new (NULL);
  char buf[4096];
  int n;
  g_assert_cmpint (SSL_write (h->ssl, request, sizeof request - 1), ==, sizeof request - 1);
  for (int i = 0; i < 1000 && (n = SSL_read (h->ssl, buf, sizeof buf)) > 0; i++)
    g_string_append_len (text, buf, n);
  g_assert_true (g_str_has_prefix (text->str, "HTTP/1.1 200 "));
  g_autofree char *field = g_strdup_printf ("\r\n%s: ", name);
  const char *at = strstr (text->str, field);
  const char *end = at ? strstr (at + strlen (field), "\r\n") : NULL;
  *value = end ? g_strndup (at + strlen (field), (gsize) (end - at - strlen (field))) : g_strdup ("");
  SSL_SESSION *session = SSL_get1_session (h->ssl);
  int fd = SSL_get_fd (h->ssl);
  SSL_shutdown (h->ssl); /* else OpenSSL takes the session for a cut one, not to resume */
  SSL_free (h->ssl);
  close (fd);
  h->ssl = NULL;
  return session;
}

/* The handshake's certificate CN, then what sni-pick reported as @name on
 * a request over it. */
static char *
report (const char *addr, SSL_CTX *ctx, const char *sni, const char *cn, const char *name)
{
  Handshake h = handshake (addr, ctx, TLS1_3_VERSION, sni, NULL);
  g_assert_nonnull (h.ssl);
  g_assert_cmpstr (h.cn, ==, cn);
  char *value = NULL;
  SSL_SESSION_free (https_get (&h, name, &value));
  return value;
}

/* The node's count of downstream handshakes of @kind, once it reached
 * @expected (workers publish now and then: a bounded wait); then exactly. */
static void
assert_handshakes (PorticoTestGateway *f, const char *kind, gint64 expected)
{
  gint64 value = -1;
  for (int i = 0; i < 100 && value < expected; i++)
    {
      if (i > 0)
        g_usleep (50 * 1000);
      g_autoptr (JsonNode) root = portico_test_gateway_admin_json (f, "/status");
      JsonObject *totals = json_object_get_object_member (json_node_get_object (root), "totals");
      JsonObject *tls = json_object_get_object_member (totals, "tls_handshakes");
      value = json_object_get_int_member (json_object_get_object_member (tls, "downstream"), kind);
    }
  g_assert_cmpint (value, ==, expected);
}

static void
test_certificate (void)
{
  g_test_summary ("The certificate phase runs in a new TLS session's handshake, for global plugins "
                  "only: a module sees the SNI, picks a certificate by id, or refuses the handshake "
                  "(a handshake_failure alert, counted as failed); the calls that need an HTTP "
                  "request fail cleanly; a resumed session does not run it again.");
  g_autoptr (PorticoTestPki) pki = portico_test_pki_new ();
  portico_test_pki_make_cert (pki, "a", "a.test", "DNS:a.test", FALSE, FALSE);
  portico_test_pki_make_cert (pki, "b", "b.test", "DNS:b.test", FALSE, FALSE);
  g_autofree char *dir = portico_test_pki_path (pki, "");
  g_autofree char *ca = portico_test_pki_path (pki, "ca.pem");
  PorticoTestGateway f;
  portico_test_gateway_start (&f, certificate_json, NULL, "@DIR@", dir, NULL);
  g_autoptr (SSL_CTX) ctx = SSL_CTX_new (TLS_client_method ());
  g_assert_cmpint (SSL_CTX_load_verify_file (ctx, ca), ==, 1);
  SSL_CTX_set_verify (ctx, SSL_VERIFY_PEER, NULL);

  /* The module's pick comes first (the SNI is lower-cased for it), then
   * the server's by SNI, then the default; the service's instance (which
   * would refuse a.test) takes no part. */
  g_autofree char *seen = report (f.addr, ctx, "PICK.test", "b.test", "X-Sni-Seen");
  g_assert_cmpstr (seen, ==, "pick.test");
  g_autofree char *by_sni = report (f.addr, ctx, "b.test", "b.test", "X-Sni-Seen");
  g_assert_cmpstr (by_sni, ==, "b.test");
  g_autofree char *a = report (f.addr, ctx, "a.test", "a.test", "X-Sni-Seen");
  g_assert_cmpstr (a, ==, "a.test");
  g_autofree char *none = report (f.addr, ctx, NULL, "a.test", "X-Sni-Seen");
  g_assert_cmpstr (none, ==, "-");
  /* A yield cannot be waited for in a handshake: it goes on. */
  g_autofree char *yield = report (f.addr, ctx, "yield.test", "a.test", "X-Sni-Seen");
  g_assert_cmpstr (yield, ==, "yield.test");
  assert_handshakes (&f, "full", 5);

  /* Refused by PORTICO_RESPOND and by PORTICO_ERROR, in TLS 1.3 and 1.2. */
  const char *refused[] = { "refused.test", "error.test" };
  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    for (int version = TLS1_2_VERSION; version <= TLS1_3_VERSION; version++)
      {
        Handshake h = handshake (f.addr, ctx, version, refused[i], NULL);
        g_assert_null (h.ssl);
        g_assert_cmpint (h.reason, ==, SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE);
      }
  assert_handshakes (&f, "failed", 4);

  /* What the handler saw of the API, and its contexts freed. */
  g_autofree char *checks = report (f.addr, ctx, "b.test", "b.test", "X-Sni-Checks");
  g_assert_cmpstr (checks, ==, "ok");
  g_autofree char *freed = report (f.addr, ctx, "b.test", "b.test", "X-Sni-Freed");
  g_assert_cmpstr (freed, ==, "11");
  g_autofree char *now = report (f.addr, ctx, "b.test", "b.test", "X-Sni-Now");
  g_assert_cmpstr (now, ==, "-");

  /* A resumed session needs no certificate: the phase does not run. */
  Handshake first = handshake (f.addr, ctx, TLS1_3_VERSION, "pick.test", NULL);
  g_assert_nonnull (first.ssl);
  g_autofree char *before = NULL;
  SSL_SESSION *session = https_get (&first, "X-Sni-Calls", &before);
  g_assert_cmpstr (before, ==, "13");
  Handshake again = handshake (f.addr, ctx, TLS1_3_VERSION, "pick.test", session);
  SSL_SESSION_free (session);
  g_assert_nonnull (again.ssl);
  g_assert_true (again.resumed);
  g_assert_cmpstr (again.cn, ==, "b.test");
  g_autofree char *after = NULL;
  SSL_SESSION_free (https_get (&again, "X-Sni-Calls", &after));
  g_assert_cmpstr (after, ==, "13");
  assert_handshakes (&f, "resumed", 1);
  assert_handshakes (&f, "full", 9);

  g_assert_cmpint (portico_proc_stop (f.gw), ==, 0);
  portico_test_gateway_tear_down (&f, NULL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/phases/gateway/trace", PorticoTestGateway, NULL, fixture_setup, test_trace, fixture_teardown);
  g_test_add ("/phases/gateway/respond", PorticoTestGateway, NULL, fixture_setup, test_respond, fixture_teardown);
  g_test_add ("/phases/gateway/yield", PorticoTestGateway, NULL, fixture_setup, test_yield, fixture_teardown);
  g_test_add ("/phases/gateway/edits", PorticoTestGateway, NULL, fixture_setup, test_edits, fixture_teardown);
  g_test_add ("/phases/gateway/body-filters", PorticoTestGateway, NULL, fixture_setup, test_body_filters, fixture_teardown);
  g_test_add ("/phases/gateway/body-limit", PorticoTestGateway, NULL, fixture_setup, test_body_limit, fixture_teardown);
  g_test_add ("/phases/gateway/rewrite", PorticoTestGateway, rewrite_json, fixture_setup, test_rewrite, fixture_teardown);
  g_test_add_func ("/phases/gateway/check-schema", test_check_schema);
  g_test_add_func ("/phases/gateway/certificate", test_certificate);
  return g_test_run ();
}
