/* test-tls.c: TLS on both sides, through real sockets: handshakes, SNI,
 * ALPN, resumption, keep-alive, large bodies, bad input on a TLS port, and
 * Portico's own https upstreams (another Portico node with a TLS listener in
 * front of the mock, and `openssl s_server` asking for a client
 * certificate). The certificates are made when the test starts, with the
 * `openssl` command, in a temporary directory. */
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <netinet/in.h>

#include <glib/gstdio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "harness-gateway.h"
#include "harness-pki.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SSL_CTX, SSL_CTX_free)

/* PORTICO_TEST_BACKEND=poll runs the same tests on the poll backend. */
static const char *backend = "epoll";
static PorticoTestPki *the_pki;

static char *
pki (const char *name)
{
  return portico_test_pki_path (the_pki, name);
}

/* ---- gateways ------------------------------------------------------------------ */

/* Certificates "main" (localhost, the default) and "other" (other.test,
 * *.other.test), paths filled in. */
static char *
certificates_json (const char *main_name)
{
  g_autofree char *mc_name = g_strdup_printf ("%s.pem", main_name);
  g_autofree char *mk_name = g_strdup_printf ("%s.key", main_name);
  g_autofree char *mc = pki (mc_name), *mk = pki (mk_name);
  g_autofree char *oc = pki ("other.pem"), *ok = pki ("other.key");
  return g_strdup_printf ("'certificates': [{'id': 'main', 'cert_path': '%s', 'key_path': '%s', 'snis': ['localhost']},"
                          " {'id': 'other', 'cert_path': '%s', 'key_path': '%s', 'snis': ['other.test', '*.other.test']}]",
                          mc, mk, oc, ok);
}

/* A gateway with one TLS listener in front of a mock, serving the
 * certificate @main_name as its default; @node_extra goes into "node". */
static PorticoTestGateway *
tls_gateway_with (const char *main_name, const char *node_extra)
{
  g_autofree char *certs = certificates_json (main_name);
  g_autofree char *config = g_strdup_printf (
    "{'_format_version': '1', 'node': {'listen': [{'address': '127.0.0.1:0', 'ssl': true}],"
    " 'admin_listen': '127.0.0.1:0', 'workers': 1, 'event_backend': '%s'%s%s}, %s,"
    " 'services': [{'name': 's', 'url': 'http://@UPSTREAM@', 'routes': [{'paths': ['/']}]}]}",
    backend, node_extra ? ", " : "", node_extra ? node_extra : "", certs);
  return portico_test_gateway_new (config, NULL, NULL);
}

static PorticoTestGateway *
tls_gateway (const char *node_extra)
{
  return tls_gateway_with ("server", node_extra);
}

/* A plain gateway whose services (@services, a JSON array's inside) reach
 * https upstreams; the certificate "client" is there to present. */
static PorticoTestGateway *
front_gateway (const char *services, const char *node_extra)
{
  g_autofree char *cc = pki ("client.pem"), *ck = pki ("client.key");
  g_autofree char *config = g_strdup_printf (
    "{'_format_version': '1', 'node': {'listen': ['127.0.0.1:0'], 'admin_listen': '127.0.0.1:0',"
    " 'workers': 1, 'event_backend': '%s'%s%s},"
    " 'certificates': [{'id': 'client', 'cert_path': '%s', 'key_path': '%s'}], 'services': [%s]}",
    backend, node_extra ? ", " : "", node_extra ? node_extra : "", cc, ck, services);
  return portico_test_gateway_new (config, NULL, NULL);
}

/* The node's count of @side handshakes of @kind, once the workers have
 * published at least @expected (bounded wait); then it must be exactly that. */
static void
assert_handshakes (PorticoTestGateway *g, const char *side, const char *kind, gint64 expected)
{
  gint64 value = -1;
  for (int i = 0; i < 100; i++)
    {
      g_autoptr (JsonNode) root = portico_test_gateway_admin_json (g, "/status");
      JsonObject *totals = json_object_get_object_member (json_node_get_object (root), "totals");
      JsonObject *tls = json_object_get_object_member (totals, "tls_handshakes");
      value = json_object_get_int_member (json_object_get_object_member (tls, side), kind);
      if (value >= expected)
        break;
      g_usleep (50 * 1000);
    }
  g_test_message ("%s %s handshakes: %" G_GINT64_FORMAT, side, kind, value);
  g_assert_cmpint (value, ==, expected);
}

/* ---- a blocking TLS client ------------------------------------------------------------ */

static SSL_CTX *
client_ctx (int max_version, const unsigned char *alpn, gsize alpn_len)
{
  g_autofree char *ca = pki ("ca.pem");
  SSL_CTX *ctx = SSL_CTX_new (TLS_client_method ());
  g_assert_nonnull (ctx);
  SSL_CTX_set_min_proto_version (ctx, TLS1_2_VERSION);
  if (max_version != 0)
    SSL_CTX_set_max_proto_version (ctx, max_version);
  g_assert_cmpint (SSL_CTX_load_verify_file (ctx, ca), ==, 1);
  SSL_CTX_set_verify (ctx, SSL_VERIFY_PEER, NULL);
  if (alpn != NULL)
    g_assert_cmpint (SSL_CTX_set_alpn_protos (ctx, alpn, (unsigned) alpn_len), ==, 0);
  return ctx;
}

/* A TLS connection (the socket has 5 s timeouts, so nothing waits longer). */
static SSL *
tls_connect (const char *addr, SSL_CTX *ctx, const char *sni, SSL_SESSION *session)
{
  int fd = portico_test_connect (addr);
  g_assert_cmpint (fd, >=, 0);
  SSL *ssl = SSL_new (ctx);
  SSL_set_fd (ssl, fd);
  if (sni != NULL)
    SSL_set_tlsext_host_name (ssl, sni);
  if (session != NULL)
    SSL_set_session (ssl, session);
  if (SSL_connect (ssl) != 1)
    {
      char buf[256];
      ERR_error_string_n (ERR_get_error (), buf, sizeof buf);
      g_test_message ("TLS connect to %s: %s", addr, buf);
      SSL_free (ssl);
      close (fd);
      return NULL;
    }
  return ssl;
}

static void
tls_close (SSL *ssl)
{
  int fd = SSL_get_fd (ssl);
  SSL_shutdown (ssl);
  SSL_free (ssl);
  close (fd);
}

typedef struct {
  SSL *ssl;
  GByteArray *buf;
  gsize pos;
} Reader;

/* At least @n unread bytes in the buffer, or FALSE at the end. */
static gboolean
reader_need (Reader *r, gsize n)
{
  while (r->buf->len - r->pos < n)
    {
      guint8 chunk[16384];
      int got = SSL_read (r->ssl, chunk, sizeof chunk);
      if (got <= 0)
        return FALSE;
      g_byte_array_append (r->buf, chunk, (guint) got);
    }
  return TRUE;
}

/* A line without its CRLF, or NULL. */
static char *
reader_line (Reader *r)
{
  for (int i = 0; i < 20000; i++)
    {
      if (r->buf->len == r->pos && !reader_need (r, 1))
        return NULL;
      const char *start = (const char *) r->buf->data + r->pos;
      const char *end = g_strstr_len (start, (gssize) (r->buf->len - r->pos), "\r\n");
      if (end != NULL)
        {
          char *line = g_strndup (start, (gsize) (end - start));
          r->pos += (gsize) (end - start) + 2;
          return line;
        }
      if (!reader_need (r, r->buf->len - r->pos + 1))
        return NULL;
    }
  return NULL;
}

typedef struct {
  int status;
  GByteArray *body;
} Reply;

static void
reply_free (Reply *reply)
{
  g_byte_array_unref (reply->body);
  g_free (reply);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Reply, reply_free)

/* Sends @head then @body_len bytes of @body, reads one response, whose
 * length the mock always gives. NULL if it does not come. Each response
 * comes in records of its own (the gateway writes the next one only once
 * this one is out), so reading stops where it ends. */
static Reply *
tls_request (SSL *ssl, const char *head, const void *body, gsize body_len)
{
  Reader r = { ssl, g_byte_array_new (), 0 };
  g_autoptr (Reply) reply = g_new0 (Reply, 1);
  gsize sent = 0, len = strlen (head);
  gint64 length = -1;
  gboolean ok = FALSE;
  char *line = NULL;

  reply->body = g_byte_array_new ();
  if (len > 0 && SSL_write (ssl, head, (int) len) != (int) len)
    goto out;
  while (sent < body_len)
    {
      int n = SSL_write (ssl, (const char *) body + sent, (int) MIN (body_len - sent, 65536));
      if (n <= 0)
        goto out;
      sent += (gsize) n;
    }
  for (gboolean first = TRUE; (line = reader_line (&r)) != NULL && *line != '\0'; first = FALSE)
    {
      if (first && sscanf (line, "HTTP/1.%*d %d", &reply->status) != 1)
        reply->status = -1;
      if (g_ascii_strncasecmp (line, "content-length:", 15) == 0)
        length = g_ascii_strtoll (line + 15, NULL, 10);
      g_free (line);
    }
  if (line != NULL && length >= 0 && reader_need (&r, (gsize) length))
    {
      g_byte_array_append (reply->body, r.buf->data + r.pos, (guint) length);
      ok = TRUE;
    }
out:
  g_free (line);
  g_byte_array_unref (r.buf);
  return ok ? g_steal_pointer (&reply) : NULL;
}

static Reply *
tls_get (SSL *ssl, const char *path)
{
  g_autofree char *head = g_strdup_printf ("GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n", path);
  return tls_request (ssl, head, NULL, 0);
}

/* One request on a new connection: its status, and its session. */
static int
get_once (const char *addr, SSL_CTX *ctx, const char *sni, SSL_SESSION *session, SSL_SESSION **out,
          gboolean *reused)
{
  SSL *ssl = tls_connect (addr, ctx, sni, session);
  g_assert_nonnull (ssl);
  g_autoptr (Reply) reply = tls_get (ssl, "/echo");
  g_assert_nonnull (reply);
  if (reused != NULL)
    *reused = SSL_session_reused (ssl);
  /* After a response: TLS 1.3 tickets come after the handshake. */
  if (out != NULL)
    *out = SSL_get1_session (ssl);
  tls_close (ssl);
  return reply->status;
}

/* The CN of the certificate the server showed. */
static char *
peer_cn (SSL *ssl)
{
  char cn[256] = "";
  X509 *cert = SSL_get1_peer_certificate (ssl);
  g_assert_nonnull (cert);
  X509_NAME_get_text_by_NID (X509_get_subject_name (cert), NID_commonName, cn, sizeof cn);
  X509_free (cert);
  return g_strdup (cn);
}

/* ---- downstream --------------------------------------------------------------------- */

static void
test_versions (void)
{
  g_test_summary ("TLS 1.2 and TLS 1.3 handshakes on a TLS listener, each followed by a request "
                  "that reaches the upstream; each is one full handshake in /status.");
  g_autoptr (PorticoTestGateway) g = tls_gateway (NULL);
  const int versions[] = { TLS1_2_VERSION, TLS1_3_VERSION };
  for (guint i = 0; i < G_N_ELEMENTS (versions); i++)
    {
      SSL_CTX *ctx = client_ctx (versions[i], NULL, 0);
      SSL *ssl = tls_connect (g->addr, ctx, "localhost", NULL);
      g_assert_nonnull (ssl);
      g_assert_cmpint (SSL_version (ssl), ==, versions[i]);
      g_autoptr (Reply) reply = tls_get (ssl, "/echo");
      g_assert_nonnull (reply);
      g_assert_cmpint (reply->status, ==, 200);
      g_assert_nonnull (strstr ((const char *) reply->body->data, "\"path\""));
      tls_close (ssl);
      SSL_CTX_free (ctx);
    }
  g_autoptr (SSL_CTX) old = SSL_CTX_new (TLS_client_method ());
  SSL_CTX_set_max_proto_version (old, TLS1_1_VERSION);
  SSL_CTX_set_security_level (old, 0);
  g_test_message ("TLS 1.1 is refused");
  int fd = portico_test_connect (g->addr);
  SSL *ssl = SSL_new (old);
  SSL_set_fd (ssl, fd);
  g_assert_cmpint (SSL_connect (ssl), !=, 1);
  SSL_free (ssl);
  close (fd);
  assert_handshakes (g, "downstream", "full", 2);
  assert_handshakes (g, "downstream", "failed", 1);
}

static void
check_sni (const char *addr, const char *sni, const char *expected_cn)
{
  g_autoptr (SSL_CTX) ctx = client_ctx (0, NULL, 0);
  SSL *ssl = tls_connect (addr, ctx, sni, NULL);
  g_assert_nonnull (ssl);
  g_autofree char *cn = peer_cn (ssl);
  g_test_message ("SNI %s: %s", sni ? sni : "(none)", cn);
  g_assert_cmpstr (cn, ==, expected_cn);
  tls_close (ssl);
}

static void
test_sni (void)
{
  g_test_summary ("The certificate follows the SNI: an exact name, then a wildcard, then the "
                  "default (the first certificate, or node.ssl_default_certificate).");
  g_autoptr (PorticoTestGateway) g = tls_gateway (NULL);
  check_sni (g->addr, "localhost", "localhost");
  check_sni (g->addr, "other.test", "other.test");
  check_sni (g->addr, "OTHER.test", "other.test");
  check_sni (g->addr, "a.other.test", "other.test");
  check_sni (g->addr, "a.b.other.test", "localhost");
  check_sni (g->addr, "unknown.test", "localhost");
  check_sni (g->addr, NULL, "localhost");

  g_autoptr (PorticoTestGateway) g2 = tls_gateway ("'ssl_default_certificate': 'other'");
  check_sni (g2->addr, "unknown.test", "other.test");
  check_sni (g2->addr, "localhost", "localhost");
}

static void
test_alpn (void)
{
  g_test_summary ("ALPN: http/1.1 is selected when the client offers it; a client that offers "
                  "only h2 goes on without ALPN.");
  g_autoptr (PorticoTestGateway) g = tls_gateway (NULL);
  static const unsigned char both[] = "\x02h2\x08http/1.1", h2[] = "\x02h2";
  const unsigned char *selected;
  unsigned int len;

  g_autoptr (SSL_CTX) ctx = client_ctx (0, both, sizeof both - 1);
  SSL *ssl = tls_connect (g->addr, ctx, "localhost", NULL);
  g_assert_nonnull (ssl);
  SSL_get0_alpn_selected (ssl, &selected, &len);
  g_assert_cmpmem (selected, len, "http/1.1", 8);
  tls_close (ssl);

  g_autoptr (SSL_CTX) ctx2 = client_ctx (0, h2, sizeof h2 - 1);
  ssl = tls_connect (g->addr, ctx2, "localhost", NULL);
  g_assert_nonnull (ssl);
  SSL_get0_alpn_selected (ssl, &selected, &len);
  g_assert_cmpuint (len, ==, 0);
  g_autoptr (Reply) reply = tls_get (ssl, "/");
  g_assert_nonnull (reply);
  g_assert_cmpint (reply->status, ==, 200);
  tls_close (ssl);
}

/* Three connections with the session of the first: two resumptions. */
static void
resume_three (const char *addr, int version)
{
  g_autoptr (SSL_CTX) ctx = client_ctx (version, NULL, 0);
  SSL_SESSION *session = NULL;
  gboolean reused = TRUE;
  g_assert_cmpint (get_once (addr, ctx, "localhost", NULL, &session, &reused), ==, 200);
  g_assert_false (reused);
  g_assert_nonnull (session);
  for (int i = 0; i < 2; i++)
    {
      SSL_SESSION *next = NULL;
      g_assert_cmpint (get_once (addr, ctx, "localhost", session, &next, &reused), ==, 200);
      g_assert_true (reused);
      SSL_SESSION_free (session);
      session = next;
    }
  SSL_SESSION_free (session);
}

static void
test_resumption (void)
{
  g_test_summary ("A connection that offers the session (a ticket) of an earlier one resumes it, "
                  "in TLS 1.2 and 1.3, and /status counts it resumed; with ssl_session_tickets off, "
                  "the worker's session cache resumes TLS 1.2 sessions by id.");
  g_autoptr (PorticoTestGateway) g = tls_gateway (NULL);
  resume_three (g->addr, TLS1_2_VERSION);
  resume_three (g->addr, TLS1_3_VERSION);
  assert_handshakes (g, "downstream", "full", 2);
  assert_handshakes (g, "downstream", "resumed", 4);

  g_autoptr (PorticoTestGateway) cache = tls_gateway ("'ssl_session_tickets': false");
  resume_three (cache->addr, TLS1_2_VERSION);
  assert_handshakes (cache, "downstream", "resumed", 2);
}

/* The pid of the node's one serving worker of @generation, once there is
 * one and no other generation's worker serves (bounded wait). */
static gint64
serving_worker (PorticoTestGateway *g, gint64 generation, gint64 not_pid)
{
  for (int i = 0; i < 200; i++)
    {
      g_autoptr (JsonNode) root = portico_test_gateway_admin_json (g, "/workers");
      JsonArray *workers = json_node_get_array (root);
      gint64 pid = 0;
      gboolean others = FALSE;
      for (guint w = 0; w < json_array_get_length (workers); w++)
        {
          JsonObject *o = json_array_get_object_element (workers, w);
          const char *state = json_object_get_string_member (o, "state");
          gboolean live = g_str_equal (state, "serving") || g_str_equal (state, "draining") ||
                          g_str_equal (state, "starting");
          if (json_object_get_int_member (o, "generation") == generation && g_str_equal (state, "serving") &&
              json_object_get_int_member (o, "pid") != not_pid)
            pid = json_object_get_int_member (o, "pid");
          else if (live)
            others = TRUE;
        }
      if (pid != 0 && !others)
        return pid;
      g_usleep (50 * 1000);
    }
  g_assert_not_reached ();
}

static void
test_tickets_outlive_workers (void)
{
  g_test_summary ("Ticket keys are made once by the master: a session ticket from one worker "
                  "resumes on a respawned worker and on the next generation after a reload.");
  g_autoptr (PorticoTestGateway) g = tls_gateway (NULL);
  g_autoptr (SSL_CTX) ctx = client_ctx (TLS1_3_VERSION, NULL, 0);
  SSL_SESSION *session = NULL;
  gboolean reused = TRUE;
  gint64 first = serving_worker (g, 1, 0);
  g_assert_cmpint (get_once (g->addr, ctx, "localhost", NULL, &session, &reused), ==, 200);
  g_assert_false (reused);

  g_test_message ("worker %" G_GINT64_FORMAT " killed", first);
  kill ((pid_t) first, SIGKILL);
  serving_worker (g, 1, first);
  g_assert_cmpint (get_once (g->addr, ctx, "localhost", session, NULL, &reused), ==, 200);
  g_assert_true (reused);

  g_test_message ("reload");
  portico_proc_signal (g->gw, SIGHUP);
  serving_worker (g, 2, 0);
  g_assert_cmpint (get_once (g->addr, ctx, "localhost", session, NULL, &reused), ==, 200);
  g_assert_true (reused);
  SSL_SESSION_free (session);
}

static void
test_keepalive (void)
{
  g_test_summary ("Keep-alive over TLS: five requests, then three pipelined in separate records, "
                  "on one connection cost one handshake; /status and /metrics count it.");
  g_autoptr (PorticoTestGateway) g = tls_gateway (NULL);
  g_autoptr (SSL_CTX) ctx = client_ctx (0, NULL, 0);
  SSL *ssl = tls_connect (g->addr, ctx, "localhost", NULL);
  g_assert_nonnull (ssl);
  for (int i = 0; i < 5; i++)
    {
      g_autoptr (Reply) reply = tls_get (ssl, "/echo");
      g_assert_nonnull (reply);
      g_assert_cmpint (reply->status, ==, 200);
      /* The upstream learns the client came over TLS. */
      g_autofree char *echo = g_strndup ((const char *) reply->body->data, reply->body->len);
      g_assert_nonnull (strstr (echo, "[\"X-Forwarded-Proto\",\"https\"]"));
    }
  /* Pipelined, one TLS record each, sent at once: the gateway's first read
   * takes one record and the rest waits inside OpenSSL or the socket, with
   * no new readiness event to tell. */
  static const char request[] = "GET /echo HTTP/1.1\r\nHost: localhost\r\n\r\n";
  for (int i = 0; i < 3; i++)
    g_assert_cmpint (SSL_write (ssl, request, sizeof request - 1), ==, sizeof request - 1);
  for (int i = 0; i < 3; i++)
    {
      g_autoptr (Reply) reply = tls_request (ssl, "", NULL, 0);
      g_assert_nonnull (reply);
      g_assert_cmpint (reply->status, ==, 200);
    }
  tls_close (ssl);
  assert_handshakes (g, "downstream", "full", 1);
  assert_handshakes (g, "downstream", "resumed", 0);

  g_autoptr (JsonNode) workers = portico_test_gateway_admin_json (g, "/workers");
  JsonObject *w = json_array_get_object_element (json_node_get_array (workers), 0);
  JsonObject *tls = json_object_get_object_member (w, "tls_handshakes");
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (tls, "downstream"), "full"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (tls, "upstream"), "full"), ==, 0);
  g_autofree char *metrics = portico_test_gateway_admin_text (g, "/metrics");
  g_assert_nonnull (strstr (metrics, "# TYPE portico_tls_handshakes_total counter\n"));
  g_assert_nonnull (strstr (metrics, "portico_tls_handshakes_total{worker=\"0\",side=\"downstream\",kind=\"full\"} 1\n"));
  g_assert_nonnull (strstr (metrics, "portico_tls_handshakes_total{worker=\"0\",side=\"upstream\",kind=\"failed\"} 0\n"));
}

static void
test_big_bodies (void)
{
  g_test_summary ("A 1 MiB request body and a 1 MiB response body cross a TLS connection whole, "
                  "with a key update between them.");
  g_autoptr (PorticoTestGateway) g = tls_gateway (NULL);
  g_autoptr (SSL_CTX) ctx = client_ctx (0, NULL, 0);
  const gsize size = 1024 * 1024;
  g_autofree guint8 *body = g_malloc (size);
  for (gsize i = 0; i < size; i++)
    body[i] = (guint8) (i * 7 + i / 4096);
  g_autofree char *sha = g_compute_checksum_for_data (G_CHECKSUM_SHA256, body, size);
  g_autofree char *head = g_strdup_printf ("POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: %zu\r\n\r\n", size);

  SSL *ssl = tls_connect (g->addr, ctx, "localhost", NULL);
  g_assert_nonnull (ssl);
  g_autoptr (Reply) up = tls_request (ssl, head, body, size);
  g_assert_nonnull (up);
  g_assert_cmpint (up->status, ==, 200);
  g_byte_array_append (up->body, (const guint8 *) "", 1);
  g_assert_nonnull (strstr ((const char *) up->body->data, "\"body_bytes\":1048576"));
  g_assert_nonnull (strstr ((const char *) up->body->data, sha));

  /* A TLS 1.3 key update, asked of the gateway: reading it makes the
   * gateway write (its own key update) in the middle of a read. */
  g_assert_cmpint (SSL_version (ssl), ==, TLS1_3_VERSION);
  g_assert_cmpint (SSL_key_update (ssl, SSL_KEY_UPDATE_REQUESTED), ==, 1);
  g_autoptr (Reply) down = tls_get (ssl, "/bytes/1048576");
  g_assert_nonnull (down);
  g_assert_cmpint (down->status, ==, 200);
  g_assert_cmpuint (down->body->len, ==, size);
  static const char pattern[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-\n";
  for (gsize i = 0; i < size; i += 4093)
    g_assert_cmpint (down->body->data[i], ==, pattern[i % 64]);
  tls_close (ssl);
}

/* ---- bad input on a TLS port ------------------------------------------------------------- */

static void
test_plaintext (void)
{
  g_test_summary ("A plain HTTP request on a TLS port gets nginx's 400, in plain text, and the "
                  "connection closes; the handshake counts as failed.");
  g_autoptr (PorticoTestGateway) g = tls_gateway (NULL);
  int fd = portico_test_connect (g->addr);
  g_assert_true (portico_test_send_all (fd, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", -1));
  g_autoptr (PorticoTestResponse) resp = portico_test_read_response (fd, FALSE, PORTICO_TEST_IO_TIMEOUT_MS);
  g_assert_nonnull (resp);
  portico_test_expect_message (resp, 400, "The plain HTTP request was sent to HTTPS port");
  g_assert_true (portico_test_is_closed (fd, 5000));
  close (fd);
  assert_handshakes (g, "downstream", "failed", 1);
  g_assert_cmpint (portico_test_gateway_mock_requests (g), ==, 0);
}

static void
test_stalled_and_garbage (void)
{
  g_test_summary ("A handshake that stalls (nothing, or half a ClientHello) is closed at "
                  "ssl_handshake_timeout; bytes that are no ClientHello are closed at once; all "
                  "count as failed handshakes.");
  g_autoptr (PorticoTestGateway) g = tls_gateway ("'ssl_handshake_timeout': 300");
  int silent = portico_test_connect (g->addr);
  int half = portico_test_connect (g->addr);
  int garbage = portico_test_connect (g->addr);
  g_assert_true (portico_test_send_all (half, "\x16\x03\x01\x02\x00\x01", 6));
  g_assert_true (portico_test_send_all (garbage, "\x01\x02\x03\x04 not a hello at all\r\n\r\n", -1));
  g_assert_true (portico_test_is_closed (garbage, 5000));
  g_assert_true (portico_test_is_closed (silent, 5000));
  g_assert_true (portico_test_is_closed (half, 5000));
  close (silent);
  close (half);
  close (garbage);
  assert_handshakes (g, "downstream", "failed", 3);
  g_test_message ("the listener still serves");
  g_autoptr (SSL_CTX) ctx = client_ctx (0, NULL, 0);
  g_assert_cmpint (get_once (g->addr, ctx, "localhost", NULL, NULL, NULL), ==, 200);
}

/* ---- upstream ---------------------------------------------------------------------------- */

/* 'name': NAME, 'url': URL, 'retries': 0, a route on /NAME, then @extra. */
static char *
service_json (const char *name, const char *url, const char *extra)
{
  return g_strdup_printf ("{'name': '%s', 'url': '%s', 'retries': 0, 'routes': [{'paths': ['/%s']}]%s%s}",
                          name, url, name, extra ? ", " : "", extra ? extra : "");
}

static int
plain_get (PorticoTestGateway *g, const char *path, char **body)
{
  g_autofree char *request = g_strdup_printf ("GET %s HTTP/1.1\r\nHost: front\r\n\r\n", path);
  g_autoptr (PorticoTestResponse) resp = portico_test_gateway_request (g, request);
  if (body != NULL)
    *body = portico_test_response_body_string (resp);
  return resp->status;
}

static void
test_upstream_verify (void)
{
  g_test_summary ("https services: the upstream's chain is verified against ca_certificates (on by "
                  "default), and its name: a certificate for another name, or one no CA of ours "
                  "signed, is a 502; tls_verify false lets it through.");
  g_autoptr (PorticoTestGateway) b = tls_gateway (NULL);
  g_autoptr (PorticoTestGateway) c = tls_gateway_with ("other", NULL);
  g_autofree char *ca = pki ("ca.pem");
  g_autofree char *with_ca = g_strdup_printf ("'ca_certificates': ['%s']", ca);
  g_autofree char *url_b = g_strdup_printf ("https://%s", b->addr);
  g_autofree char *url_b_name = g_strdup_printf ("https://localhost:%s", strrchr (b->addr, ':') + 1);
  g_autofree char *url_c = g_strdup_printf ("https://localhost:%s", strrchr (c->addr, ':') + 1);
  g_autofree char *s1 = service_json ("ca", url_b_name, with_ca);
  g_autofree char *s2 = service_json ("ip", url_b, with_ca);
  g_autofree char *s3 = service_json ("system", url_b_name, NULL);
  g_autofree char *s4 = service_json ("noverify", url_b_name, "'tls_verify': false");
  g_autofree char *s5 = service_json ("mismatch", url_c, with_ca);
  g_autofree char *s6 = service_json ("mismatchoff", url_c, "'tls_verify': false");
  g_autofree char *services = g_strjoin (", ", s1, s2, s3, s4, s5, s6, NULL);
  g_autoptr (PorticoTestGateway) a = front_gateway (services, NULL);

  g_autofree char *body = NULL;
  g_assert_cmpint (plain_get (a, "/ca/echo", &body), ==, 200);
  g_assert_nonnull (strstr (body, "\"X-Forwarded-For\""));
  g_assert_cmpint (plain_get (a, "/ip/echo", NULL), ==, 200);
  g_assert_cmpint (plain_get (a, "/system/echo", NULL), ==, 502);
  g_assert_cmpint (plain_get (a, "/noverify/echo", NULL), ==, 200);
  g_assert_cmpint (plain_get (a, "/mismatch/echo", NULL), ==, 502);
  g_assert_cmpint (plain_get (a, "/mismatchoff/echo", NULL), ==, 200);
  assert_handshakes (a, "upstream", "full", 4);
  assert_handshakes (a, "upstream", "failed", 2);
  g_assert_cmpint (portico_test_gateway_mock_requests (b), ==, 3);
}

static void
test_upstream_bad_certificates (void)
{
  g_test_summary ("An upstream with an expired or a self-signed certificate: 502 while "
                  "verification is on, 200 with tls_verify false.");
  g_autoptr (PorticoTestGateway) expired = tls_gateway_with ("expired", NULL);
  g_autoptr (PorticoTestGateway) self = tls_gateway_with ("self", NULL);
  g_autofree char *ca = pki ("ca.pem");
  g_autofree char *with_ca = g_strdup_printf ("'ca_certificates': ['%s']", ca);
  g_autofree char *url_e = g_strdup_printf ("https://localhost:%s", strrchr (expired->addr, ':') + 1);
  g_autofree char *url_s = g_strdup_printf ("https://localhost:%s", strrchr (self->addr, ':') + 1);
  g_autofree char *s1 = service_json ("expired", url_e, with_ca);
  g_autofree char *s2 = service_json ("expiredoff", url_e, "'tls_verify': false");
  g_autofree char *s3 = service_json ("self", url_s, with_ca);
  g_autofree char *s4 = service_json ("selfoff", url_s, "'tls_verify': false");
  g_autofree char *services = g_strjoin (", ", s1, s2, s3, s4, NULL);
  g_autoptr (PorticoTestGateway) a = front_gateway (services, NULL);

  g_autofree char *body = NULL;
  g_assert_cmpint (plain_get (a, "/expired/", &body), ==, 502);
  g_assert_nonnull (strstr (body, "An invalid response was received from the upstream server"));
  g_assert_cmpint (plain_get (a, "/expiredoff/", NULL), ==, 200);
  g_assert_cmpint (plain_get (a, "/self/", NULL), ==, 502);
  g_assert_cmpint (plain_get (a, "/selfoff/", NULL), ==, 200);
  assert_handshakes (a, "upstream", "failed", 2);
  assert_handshakes (a, "upstream", "full", 2);
}

static void
test_upstream_sessions (void)
{
  g_test_summary ("Upstream keep-alive: four requests share one TLS connection (one handshake); "
                  "with the pool off each opens its own and resumes the session of the last.");
  g_autoptr (PorticoTestGateway) b = tls_gateway (NULL);
  g_autofree char *ca = pki ("ca.pem");
  g_autofree char *with_ca = g_strdup_printf ("'ca_certificates': ['%s']", ca);
  g_autofree char *url = g_strdup_printf ("https://localhost:%s", strrchr (b->addr, ':') + 1);
  g_autofree char *service = service_json ("s", url, with_ca);

  g_autoptr (PorticoTestGateway) pooled = front_gateway (service, NULL);
  for (int i = 0; i < 4; i++)
    g_assert_cmpint (plain_get (pooled, "/s/echo", NULL), ==, 200);
  assert_handshakes (pooled, "upstream", "full", 1);
  assert_handshakes (pooled, "upstream", "resumed", 0);

  g_autoptr (PorticoTestGateway) unpooled = front_gateway (service, "'upstream_keepalive_pool_size': 0");
  for (int i = 0; i < 4; i++)
    g_assert_cmpint (plain_get (unpooled, "/s/echo", NULL), ==, 200);
  assert_handshakes (unpooled, "upstream", "full", 1);
  assert_handshakes (unpooled, "upstream", "resumed", 3);
  /* The other end saw the same: 1 + 1 full, 3 resumed. */
  assert_handshakes (b, "downstream", "full", 2);
  assert_handshakes (b, "downstream", "resumed", 3);
}

/* A free loopback port, for a server that takes one on its command line. */
static int
free_port (void)
{
  struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t len = sizeof sin;
  int fd = socket (AF_INET, SOCK_STREAM, 0);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &sin, sizeof sin), ==, 0);
  g_assert_cmpint (getsockname (fd, (struct sockaddr *) &sin, &len), ==, 0);
  close (fd);
  return ntohs (sin.sin_port);
}

static void
test_upstream_client_certificate (void)
{
  g_test_summary ("client_certificate: the upstream (openssl s_server, which requires one) sees "
                  "the certificate; without it the upstream refuses and the client gets 502.");
  g_autofree char *cert = pki ("server.pem"), *key = pki ("server.key"), *ca = pki ("ca.pem");
  g_autofree char *log = pki ("s_server.log");
  g_autofree char *accept = g_strdup_printf ("127.0.0.1:%d", free_port ());
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE);
  g_subprocess_launcher_set_stdout_file_path (launcher, log);
  g_subprocess_launcher_set_stderr_file_path (launcher, "/dev/null");
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) server = g_subprocess_launcher_spawn (
    launcher, &error, "openssl", "s_server", "-accept", accept, "-cert", cert, "-key", key, "-CAfile", ca,
    "-Verify", "1", "-www", NULL);
  g_assert_no_error (error);
  gboolean up = FALSE;
  for (int i = 0; i < 200 && !up; i++)
    {
      g_autofree char *text = NULL;
      up = g_file_get_contents (log, &text, NULL, NULL) && strstr (text, "ACCEPT") != NULL;
      if (!up)
        g_usleep (25 * 1000);
    }
  g_assert_true (up);

  g_autofree char *url = g_strdup_printf ("https://localhost:%s", strrchr (accept, ':') + 1);
  g_autofree char *with = g_strdup_printf ("'ca_certificates': ['%s'], 'client_certificate': 'client'", ca);
  g_autofree char *without = g_strdup_printf ("'ca_certificates': ['%s']", ca);
  g_autofree char *s1 = service_json ("with", url, with);
  g_autofree char *s2 = service_json ("without", url, without);
  g_autofree char *services = g_strjoin (", ", s1, s2, NULL);
  g_autoptr (PorticoTestGateway) a = front_gateway (services, "'upstream_keepalive_pool_size': 0");
  g_autofree char *body = NULL;
  g_assert_cmpint (plain_get (a, "/with", &body), ==, 200);
  g_assert_nonnull (strstr (body, "Client certificate"));
  g_assert_nonnull (strstr (body, "CN=portico-client"));
  g_assert_cmpint (plain_get (a, "/without", NULL), ==, 502);
  g_subprocess_force_exit (server);
  g_subprocess_wait (server, NULL, NULL);
}

/* ---- routes by scheme ---------------------------------------------------------------- */

/* GET @path over TLS on @addr: the status, and the body in @body. */
static int
tls_status (const char *addr, const char *path, char **body)
{
  g_autoptr (SSL_CTX) ctx = client_ctx (0, NULL, 0);
  SSL *ssl = tls_connect (addr, ctx, "localhost", NULL);
  g_assert_nonnull (ssl);
  g_autoptr (Reply) reply = tls_get (ssl, path);
  g_assert_nonnull (reply);
  tls_close (ssl);
  *body = g_strndup ((const char *) reply->body->data, reply->body->len);
  return reply->status;
}

static void
test_route_protocols (void)
{
  g_test_summary ("Route protocols, as in Kong: an https-only route serves TLS clients and answers "
                  "plain http with 426 (Upgrade: TLS/1.2, HTTP/1.1) or its https_redirect_status_code "
                  "with a Location to the https URL; an http-only route does not match a TLS request "
                  "(404 no route); a route without protocols serves both. None of the refused "
                  "requests reaches the upstream.");
  g_autofree char *certs = certificates_json ("server");
  g_autofree char *config = g_strdup_printf (
    "{'_format_version': '1', 'node': {'listen': ['127.0.0.1:0', {'address': '127.0.0.1:0', 'ssl': true}],"
    " 'admin_listen': 'off', 'workers': 1, 'event_backend': '%s'}, %s,"
    " 'services': [{'name': 's', 'url': 'http://@UPSTREAM@', 'routes': ["
    "   {'paths': ['/secure'], 'protocols': ['https']},"
    "   {'paths': ['/moved'], 'protocols': ['https'], 'https_redirect_status_code': 301},"
    "   {'paths': ['/plain'], 'protocols': ['http']},"
    "   {'paths': ['/both']}]}]}",
    backend, certs);
  g_autoptr (PorticoTestGateway) g = portico_test_gateway_new (config, NULL, NULL);
  const char *tls_addr = portico_proc_address (g->gw, 1);
  g_assert_nonnull (tls_addr);

  g_autofree char *b1 = NULL, *b2 = NULL, *b3 = NULL;
  g_assert_cmpint (tls_status (tls_addr, "/secure/x", &b1), ==, 200);
  g_assert_cmpint (tls_status (tls_addr, "/both", &b2), ==, 200);
  g_assert_cmpint (tls_status (tls_addr, "/plain", &b3), ==, 404);
  g_assert_cmpstr (b3, ==, "{\"message\":\"no Route matched with those values\"}");
  g_assert_cmpint (portico_test_gateway_mock_requests (g), ==, 2);

  g_autoptr (PorticoTestResponse) upgrade =
    portico_test_gateway_request (g, "GET /secure/x HTTP/1.1\r\nHost: localhost:8000\r\n\r\n");
  portico_test_expect_message (upgrade, 426, "Please use HTTPS protocol");
  g_assert_cmpstr (portico_test_response_header (upgrade, "Upgrade"), ==, "TLS/1.2, HTTP/1.1");
  g_assert_cmpstr (portico_test_response_header (upgrade, "Connection"), ==, "upgrade");
  g_assert_cmpstr (upgrade->reason, ==, "Upgrade Required");
  g_autoptr (PorticoTestResponse) moved =
    portico_test_gateway_request (g, "GET /moved/a%20b?q=1&r HTTP/1.1\r\nHost: Example.test:8000\r\n\r\n");
  g_assert_cmpint (moved->status, ==, 301);
  g_assert_cmpstr (portico_test_response_header (moved, "Location"), ==, "https://example.test/moved/a%20b?q=1&r");
  g_assert_cmpuint (moved->body_length, ==, 0);
  g_autoptr (PorticoTestResponse) plain = portico_test_gateway_request (g, "GET /plain HTTP/1.1\r\nHost: h\r\n\r\n");
  g_assert_cmpint (plain->status, ==, 200);
  g_autoptr (PorticoTestResponse) both = portico_test_gateway_request (g, "GET /both HTTP/1.1\r\nHost: h\r\n\r\n");
  g_assert_cmpint (both->status, ==, 200);
  g_assert_cmpint (portico_test_gateway_mock_requests (g), ==, 4);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  if (g_strcmp0 (g_getenv ("PORTICO_TEST_BACKEND"), "poll") == 0)
    backend = "poll";
  the_pki = portico_test_pki_new ();
  g_test_add_func ("/tls/handshake/versions", test_versions);
  g_test_add_func ("/tls/handshake/sni", test_sni);
  g_test_add_func ("/tls/handshake/alpn", test_alpn);
  g_test_add_func ("/tls/resumption/tickets-and-cache", test_resumption);
  g_test_add_func ("/tls/resumption/outlives-workers", test_tickets_outlive_workers);
  g_test_add_func ("/tls/keepalive/one-handshake", test_keepalive);
  g_test_add_func ("/tls/bodies/1mib-both-ways", test_big_bodies);
  g_test_add_func ("/tls/bad-input/plaintext", test_plaintext);
  g_test_add_func ("/tls/bad-input/stalled-and-garbage", test_stalled_and_garbage);
  g_test_add_func ("/tls/upstream/verify", test_upstream_verify);
  g_test_add_func ("/tls/upstream/bad-certificates", test_upstream_bad_certificates);
  g_test_add_func ("/tls/upstream/sessions", test_upstream_sessions);
  g_test_add_func ("/tls/upstream/client-certificate", test_upstream_client_certificate);
  g_test_add_func ("/tls/routes/protocols", test_route_protocols);
  int status = g_test_run ();
  g_clear_pointer (&the_pki, portico_test_pki_free);
  return status;
}
