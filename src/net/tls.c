/* tls.c: every OpenSSL call Portico makes for a connection: the contexts a
 * generation needs (built in the master), the certificate picked by SNI,
 * ALPN, session resumption, and the non-blocking handshake, reads and
 * writes that net/conn.c drives. */
#include "net/tls.h"
#include "net/tls-bio.h"

#include <errno.h>
#include <string.h>
#include <gio/gio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

/* Debian's bundle (ca-certificates); OpenSSL's own default file after it. */
#define SYSTEM_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

static const unsigned char alpn_http11[] = "\x08http/1.1";

/* ---- errors ---------------------------------------------------------------------- */

/* The last OpenSSL error of this thread as a GError, and the queue emptied. */
static gboolean
fail (GError **error, const char *what)
{
  gulong e = ERR_peek_last_error ();
  const char *reason = e ? ERR_reason_error_string (e) : NULL;

  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", what, reason ? reason : "failed");
  ERR_clear_error ();
  return FALSE;
}

gboolean
portico_tls_ticket_keys_init (PorticoTlsTicketKeys *keys, GError **error)
{
  if (RAND_bytes (keys->bytes, sizeof keys->bytes) != 1)
    return fail (error, "session ticket keys");
  return TRUE;
}

/* ---- PEM ---------------------------------------------------------------------------- */

/* An encrypted key is refused (the config loader said so already). */
static int
no_passphrase (char *buf, int size, int rwflag, void *user_data)
{
  return 0;
}

/* A leaf, its key and its chain, ready for SSL_use_cert_and_key. */
typedef struct {
  X509 *cert;
  EVP_PKEY *key;
  STACK_OF (X509) *chain;
} KeyPair;

static void
key_pair_free (gpointer data)
{
  KeyPair *pair = data;

  X509_free (pair->cert);
  EVP_PKEY_free (pair->key);
  sk_X509_pop_free (pair->chain, X509_free);
  g_free (pair);
}

static KeyPair *
key_pair_new (const char *cert_pem, const char *key_pem, GError **error)
{
  KeyPair *pair = g_new0 (KeyPair, 1);
  BIO *bio = BIO_new_mem_buf (cert_pem, -1);
  X509 *next;

  pair->chain = sk_X509_new_null ();
  pair->cert = PEM_read_bio_X509 (bio, NULL, no_passphrase, NULL);
  while (pair->cert && (next = PEM_read_bio_X509 (bio, NULL, no_passphrase, NULL)))
    sk_X509_push (pair->chain, next);
  BIO_free (bio);
  bio = BIO_new_mem_buf (key_pem, -1);
  pair->key = PEM_read_bio_PrivateKey (bio, NULL, no_passphrase, NULL);
  BIO_free (bio);
  ERR_clear_error (); /* the end of the chain reads as an error */
  if (!pair->cert || !pair->key || X509_check_private_key (pair->cert, pair->key) != 1)
    {
      fail (error, "certificate or key");
      key_pair_free (pair);
      return NULL;
    }
  return pair;
}

/* The certificates of @pem into a new store. */
static X509_STORE *
store_from_pem (const char *pem, GError **error)
{
  X509_STORE *store = X509_STORE_new ();
  BIO *bio = BIO_new_mem_buf (pem, -1);
  guint count = 0;
  X509 *cert;

  while ((cert = PEM_read_bio_X509 (bio, NULL, no_passphrase, NULL)))
    {
      X509_STORE_add_cert (store, cert);
      X509_free (cert);
      count++;
    }
  BIO_free (bio);
  ERR_clear_error ();
  if (count == 0)
    {
      X509_STORE_free (store);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "ca_certificates: no certificate");
      return NULL;
    }
  return store;
}

/* The system bundle, read now: a worker never reads a CA file mid-handshake. */
static X509_STORE *
system_store (GError **error)
{
  X509_STORE *store = X509_STORE_new ();

  if (X509_STORE_load_file (store, SYSTEM_CA_BUNDLE) == 1 ||
      X509_STORE_load_file (store, X509_get_default_cert_file ()) == 1)
    {
      ERR_clear_error ();
      return store;
    }
  X509_STORE_free (store);
  ERR_clear_error ();
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
               "no system CA bundle (%s): give the service ca_certificates, or tls_verify false",
               SYSTEM_CA_BUNDLE);
  return NULL;
}

/* What both sides set: TLS 1.2 and 1.3 only; writes that may be partial
 * and retried from a buffer that moved (conn's buffers compact); buffers
 * given back while a connection idles; a peer that closes without
 * close_notify reads as a close (framing, not TLS, tells a cut body). */
static void
context_common (SSL_CTX *ctx)
{
  SSL_CTX_set_min_proto_version (ctx, TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version (ctx, TLS1_3_VERSION);
  SSL_CTX_set_mode (ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                             SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_options (ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_read_ahead (ctx, 1);
}

/* @ssl reads and writes @fd through Portico's socket BIO (tls-bio.h). */
static gboolean
attach_socket (SSL *ssl, int fd)
{
  BIO *bio = portico_tls_bio_new (fd);

  if (bio == NULL)
    return FALSE;
  SSL_set_bio (ssl, bio, bio);
  return TRUE;
}

/* ---- the server ----------------------------------------------------------------------- */

struct _PorticoTlsServer {
  SSL_CTX *ctx;
  GPtrArray *pairs;    /* KeyPair*, one per certificate, in config order */
  GHashTable *by_name; /* SNI (lower-cased, maybe a wildcard) -> KeyPair* */
  KeyPair *fallback;   /* the default: the context's own */
  PorticoTlsPicker picker; /* the worker's, asked first */
  gpointer picker_data;
};

/* Marks a connection the picker refused, so that its error says so. */
static int refused_index = -1;

static KeyPair *
server_lookup (PorticoTlsServer *server, const char *sni)
{
  char name[256], wild[258];
  const char *dot;
  KeyPair *pair;
  gsize len;

  if (sni == NULL || (len = strlen (sni)) == 0 || len >= sizeof name)
    return server->fallback;
  for (gsize i = 0; i <= len; i++)
    name[i] = g_ascii_tolower (sni[i]);
  if ((pair = g_hash_table_lookup (server->by_name, name)))
    return pair;
  /* Kong's wildcards: one label for the leftmost "*", one for the rightmost. */
  if ((dot = strchr (name, '.')))
    {
      g_snprintf (wild, sizeof wild, "*%s", dot);
      if ((pair = g_hash_table_lookup (server->by_name, wild)))
        return pair;
      dot = strrchr (name, '.');
      g_snprintf (wild, sizeof wild, "%.*s.*", (int) (dot - name), name);
      if ((pair = g_hash_table_lookup (server->by_name, wild)))
        return pair;
    }
  return server->fallback;
}

/* Runs during the handshake, once the ClientHello (and its SNI) is in, for
 * a new session only: a resumed one needs no certificate. The picker
 * (the modules) first, then the SNI, then the default. */
static int
server_pick_certificate (SSL *ssl, void *arg)
{
  PorticoTlsServer *server = arg;
  const char *sni = SSL_get_servername (ssl, TLSEXT_NAMETYPE_host_name);
  int pick = server->picker ? server->picker (SSL_get_app_data (ssl), sni, server->picker_data)
                            : PORTICO_TLS_PICK_BY_SNI;
  KeyPair *pair;

  if (pick == PORTICO_TLS_PICK_REFUSE)
    {
      /* Failing here would send internal_error. Without a certificate no
       * cipher suite (1.2) or signature (1.3) fits: handshake_failure. */
      SSL_set_ex_data (ssl, refused_index, server);
      SSL_certs_clear (ssl);
      return 1;
    }
  if (pick >= 0 && (guint) pick < server->pairs->len)
    pair = g_ptr_array_index (server->pairs, pick);
  else
    pair = server_lookup (server, sni);
  if (pair == server->fallback)
    return 1;
  return SSL_use_cert_and_key (ssl, pair->cert, pair->key, pair->chain, 1) == 1 ? 1 : 0;
}

void
portico_tls_server_set_picker (PorticoTlsServer *server, PorticoTlsPicker picker, gpointer data)
{
  server->picker = picker;
  server->picker_data = data;
}

void
portico_tls_set_owner (PorticoTls *tls, gpointer owner)
{
  SSL_set_app_data (tls, owner);
}

/* HTTP/1.1 is all Portico speaks: chosen when offered; a client that offers
 * only other protocols goes on without ALPN, as nginx does. */
static int
server_select_alpn (SSL *ssl, const unsigned char **out, unsigned char *out_len, const unsigned char *in,
                    unsigned int in_len, void *arg)
{
  unsigned char *selected;

  if (SSL_select_next_proto (&selected, out_len, alpn_http11, sizeof alpn_http11 - 1, in, in_len) !=
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

static void
server_free (PorticoTlsServer *server)
{
  if (server == NULL)
    return;
  SSL_CTX_free (server->ctx);
  g_hash_table_unref (server->by_name);
  g_ptr_array_unref (server->pairs);
  g_free (server);
}

static PorticoTlsServer *
server_new (const PorticoConfig *config, const PorticoListen *listen, const PorticoTlsTicketKeys *keys,
            GError **error)
{
  static const unsigned char session_context[] = "portico";
  PorticoTlsServer *server = g_new0 (PorticoTlsServer, 1);

  if (refused_index < 0)
    refused_index = SSL_get_ex_new_index (0, NULL, NULL, NULL, NULL);
  server->pairs = g_ptr_array_new_with_free_func (key_pair_free);
  server->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < config->certificates->len; i++)
    {
      const PorticoCertificate *cert = g_ptr_array_index (config->certificates, i);
      KeyPair *pair = key_pair_new (cert->cert_pem, cert->key_pem, error);

      if (pair == NULL)
        {
          server_free (server);
          return NULL;
        }
      g_ptr_array_add (server->pairs, pair);
      for (guint j = 0; j < cert->snis->len; j++)
        g_hash_table_insert (server->by_name, g_ptr_array_index (cert->snis, j), pair);
      if (cert->is_default || server->fallback == NULL)
        server->fallback = pair;
    }
  if (server->fallback == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "a TLS listener needs a certificate");
      server_free (server);
      return NULL;
    }

  if (!(server->ctx = SSL_CTX_new (TLS_server_method ())))
    {
      fail (error, "TLS server context");
      server_free (server);
      return NULL;
    }
  context_common (server->ctx);
  /* Sessions resume across the generation's listeners, and across
   * generations: the same context id and the master's ticket keys. */
  SSL_CTX_set_session_id_context (server->ctx, session_context, sizeof session_context - 1);
  SSL_CTX_set_session_cache_mode (server->ctx, SSL_SESS_CACHE_SERVER);
  if (listen->ssl_session_tickets)
    SSL_CTX_set_tlsext_ticket_keys (server->ctx, (void *) keys->bytes, sizeof keys->bytes);
  else
    SSL_CTX_set_options (server->ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_alpn_select_cb (server->ctx, server_select_alpn, NULL);
  SSL_CTX_set_cert_cb (server->ctx, server_pick_certificate, server);
  if (SSL_CTX_use_cert_and_key (server->ctx, server->fallback->cert, server->fallback->key,
                                server->fallback->chain, 1) != 1)
    {
      fail (error, "default certificate");
      server_free (server);
      return NULL;
    }
  return server;
}

PorticoTls *
portico_tls_server_accept (PorticoTlsServer *server, int fd)
{
  SSL *ssl = SSL_new (server->ctx);

  if (ssl == NULL || !attach_socket (ssl, fd))
    {
      SSL_free (ssl);
      ERR_clear_error ();
      return NULL;
    }
  SSL_set_accept_state (ssl);
  return ssl;
}

/* ---- the client ---------------------------------------------------------------------- */

/* The sessions one peer gave, under one name, newest last. A TLS 1.3
 * ticket is good for one resumption (OpenSSL marks it spent), and a server
 * sends two per handshake: keeping a few lets connections that open at the
 * same time each resume, where one slot made all but the first do full
 * handshakes until a new ticket came. */
#define PEER_SESSIONS_MAX 4
typedef struct {
  PorticoTlsClient *client;
  char *name;
  GQueue sessions; /* SSL_SESSION*, each holding a reference */
} PeerSession;

struct _PorticoTlsClient {
  SSL_CTX *ctx;
  gboolean verify;
  GHashTable *peers; /* "name\npeer" -> PeerSession*: grows per worker, one entry per target */
};

static void
peer_session_free (gpointer data)
{
  PeerSession *peer = data;
  SSL_SESSION *session;

  while ((session = g_queue_pop_head (&peer->sessions)))
    SSL_SESSION_free (session);
  g_free (peer->name);
  g_free (peer);
}

/* OpenSSL has a new session for a connection (after the handshake in TLS
 * 1.2, with each ticket in 1.3): a next connection to that peer offers it. */
static int
client_new_session (SSL *ssl, SSL_SESSION *session)
{
  PeerSession *peer = SSL_get_app_data (ssl);

  if (peer == NULL || g_queue_find (&peer->sessions, session))
    return 0;
  g_queue_push_tail (&peer->sessions, session);
  if (peer->sessions.length > PEER_SESSIONS_MAX)
    SSL_SESSION_free (g_queue_pop_head (&peer->sessions));
  return 1; /* the reference is ours now */
}

/* Offers @peer's newest resumable session on @ssl. A TLS 1.3 one is taken
 * out (it resumes once); a TLS 1.2 one stays for the next connection. */
static void
peer_offer_session (PeerSession *peer, SSL *ssl)
{
  SSL_SESSION *session;

  while ((session = g_queue_peek_tail (&peer->sessions)) && !SSL_SESSION_is_resumable (session))
    SSL_SESSION_free (g_queue_pop_tail (&peer->sessions));
  if (session == NULL)
    return;
  SSL_set_session (ssl, session);
  if (SSL_SESSION_get_protocol_version (session) == TLS1_3_VERSION)
    SSL_SESSION_free (g_queue_pop_tail (&peer->sessions));
}

void
portico_tls_client_free (PorticoTlsClient *client)
{
  if (client == NULL)
    return;
  SSL_CTX_free (client->ctx);
  g_hash_table_unref (client->peers);
  g_free (client);
}

/* @store: the CAs when the options name none (NULL: the caller's default). */
static PorticoTlsClient *
client_new (const PorticoTlsClientOptions *options, X509_STORE *store, GError **error)
{
  PorticoTlsClient *client = g_new0 (PorticoTlsClient, 1);

  client->verify = options->verify;
  client->peers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, peer_session_free);
  if (!(client->ctx = SSL_CTX_new (TLS_client_method ())))
    {
      fail (error, "TLS client context");
      portico_tls_client_free (client);
      return NULL;
    }
  context_common (client->ctx);
  SSL_CTX_set_session_cache_mode (client->ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb (client->ctx, client_new_session);
  SSL_CTX_set_alpn_protos (client->ctx, alpn_http11, sizeof alpn_http11 - 1);
  SSL_CTX_set_verify (client->ctx, options->verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
  if (options->verify)
    {
      X509_STORE *own = NULL;

      if (options->ca_pem && !(own = store_from_pem (options->ca_pem, error)))
        {
          portico_tls_client_free (client);
          return NULL;
        }
      if (!own && !store && !(own = system_store (error)))
        {
          portico_tls_client_free (client);
          return NULL;
        }
      SSL_CTX_set1_cert_store (client->ctx, own ? own : store);
      X509_STORE_free (own);
    }
  if (options->cert_pem)
    {
      KeyPair *pair = key_pair_new (options->cert_pem, options->key_pem, error);
      gboolean ok = pair != NULL;

      if (ok && SSL_CTX_use_cert_and_key (client->ctx, pair->cert, pair->key, pair->chain, 1) != 1)
        ok = fail (error, "client certificate");
      if (pair)
        key_pair_free (pair);
      if (!ok)
        {
          portico_tls_client_free (client);
          return NULL;
        }
    }
  return client;
}

PorticoTlsClient *
portico_tls_client_new (const PorticoTlsClientOptions *options, GError **error)
{
  return client_new (options, NULL, error);
}

PorticoTls *
portico_tls_client_connect (PorticoTlsClient *client, int fd, const char *name, const char *peer)
{
  gboolean address = name != NULL && g_hostname_is_ip_address (name);
  g_autofree char *key = NULL;
  PeerSession *slot;
  SSL *ssl = SSL_new (client->ctx);

  if (ssl == NULL || !attach_socket (ssl, fd))
    goto fail;
  SSL_set_connect_state (ssl);
  if (name != NULL && !address && SSL_set_tlsext_host_name (ssl, name) != 1)
    goto fail;
  if (client->verify && name != NULL)
    {
      if (address ? X509_VERIFY_PARAM_set1_ip_asc (SSL_get0_param (ssl), name) != 1
                  : SSL_set1_host (ssl, name) != 1)
        goto fail;
      SSL_set_hostflags (ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    }
  if (peer == NULL)
    return ssl; /* no session offered, none kept */
  key = g_strdup_printf ("%s\n%s", name ? name : "", peer);
  if (!(slot = g_hash_table_lookup (client->peers, key)))
    {
      slot = g_new0 (PeerSession, 1);
      slot->client = client;
      slot->name = g_strdup (name);
      g_queue_init (&slot->sessions);
      g_hash_table_insert (client->peers, g_steal_pointer (&key), slot);
    }
  SSL_set_app_data (ssl, slot);
  peer_offer_session (slot, ssl);
  return ssl;

fail:
  SSL_free (ssl);
  ERR_clear_error ();
  return NULL;
}

gboolean
portico_tls_is_for (PorticoTls *tls, PorticoTlsClient *client, const char *name)
{
  PeerSession *slot = SSL_is_server (tls) ? NULL : SSL_get_app_data (tls);

  return slot != NULL && slot->client == client && g_strcmp0 (slot->name, name) == 0;
}

/* ---- the contexts of a config ------------------------------------------------------------ */

struct _PorticoTlsContexts {
  PorticoTlsServer *server;
  GPtrArray *clients; /* PorticoTlsClient* */
};

void
portico_tls_contexts_free (PorticoTlsContexts *contexts)
{
  if (contexts == NULL)
    return;
  server_free (contexts->server);
  g_ptr_array_unref (contexts->clients);
  g_free (contexts);
}

/* The client for @options: the one built for the same keys already, or a
 * new one. Whoever connects the same way shares a context (and the system
 * bundle, read once, is shared by all). */
static PorticoTlsClient *
contexts_client (PorticoTlsContexts *contexts, GHashTable *by_options, X509_STORE **system,
                 const PorticoTlsClientOptions *options, GError **error)
{
  /* A client certificate is one of the config's: its PEM's address names it. */
  g_autofree char *key = g_strdup_printf ("%d\n%p\n%s", options->verify, (gpointer) options->cert_pem,
                                          options->ca_pem ? options->ca_pem : "");
  PorticoTlsClient *client = g_hash_table_lookup (by_options, key);

  if (client != NULL)
    return client;
  if (options->verify && !options->ca_pem && !*system && !(*system = system_store (error)))
    return NULL;
  if (!(client = client_new (options, *system, error)))
    return NULL;
  g_ptr_array_add (contexts->clients, client);
  g_hash_table_insert (by_options, g_steal_pointer (&key), client);
  return client;
}

/* How @service connects (@verify: whether it checks the peer). */
static PorticoTlsClientOptions
service_options (const PorticoService *service, gboolean verify)
{
  const PorticoCertificate *cert = service ? service->client_certificate : NULL;
  PorticoTlsClientOptions options = {
    .verify = verify,
    .ca_pem = service ? service->ca_certificates_pem : NULL,
    .cert_pem = cert ? cert->cert_pem : NULL,
    .key_pem = cert ? cert->key_pem : NULL,
  };
  return options;
}

/* An upstream's https probes connect as the first https service that uses
 * it does (its CAs, its client certificate), verifying or not as the
 * probes say; without such a service, with the system bundle. */
static const PorticoService *
upstream_https_service (const PorticoConfig *config, const PorticoUpstream *upstream)
{
  for (guint i = 0; i < config->services->len; i++)
    {
      const PorticoService *service = g_ptr_array_index (config->services, i);

      if (service->upstream == upstream && g_strcmp0 (service->protocol, "https") == 0)
        return service;
    }
  return NULL;
}

static gboolean
contexts_add_clients (PorticoTlsContexts *contexts, PorticoConfig *config, GError **error)
{
  g_autoptr (GHashTable) by_options = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  X509_STORE *system = NULL;
  gboolean ok = TRUE;

  for (guint i = 0; ok && i < config->services->len; i++)
    {
      PorticoService *service = g_ptr_array_index (config->services, i);
      PorticoTlsClientOptions options = service_options (service, service->tls_verify);

      if (g_strcmp0 (service->protocol, "https") == 0)
        ok = (service->tls_client = contexts_client (contexts, by_options, &system, &options, error)) != NULL;
    }
  for (guint i = 0; ok && i < config->upstreams->len; i++)
    {
      PorticoUpstream *upstream = g_ptr_array_index (config->upstreams, i);
      const PorticoHealthchecks *hc = &upstream->healthchecks;
      const PorticoService *service = upstream_https_service (config, upstream);
      PorticoTlsClientOptions options = service_options (service, hc->https_verify_certificate);

      if (hc->active_type == PORTICO_PROBE_HTTPS && (hc->active_healthy.interval_ms || hc->active_unhealthy.interval_ms))
        ok = (upstream->probe_tls_client = contexts_client (contexts, by_options, &system, &options, error)) != NULL;
    }
  X509_STORE_free (system);
  return ok;
}

PorticoTlsContexts *
portico_tls_contexts_new (PorticoConfig *config, const PorticoTlsTicketKeys *keys, GError **error)
{
  PorticoTlsContexts *contexts = g_new0 (PorticoTlsContexts, 1);

  contexts->clients = g_ptr_array_new_with_free_func ((GDestroyNotify) portico_tls_client_free);
  for (guint i = 0; i < config->node.listen->len; i++)
    {
      PorticoListen *listen = g_ptr_array_index (config->node.listen, i);

      if (!listen->ssl)
        continue;
      /* The node's ssl_* keys are the same on every listener: one server. */
      if (contexts->server == NULL && !(contexts->server = server_new (config, listen, keys, error)))
        {
          portico_tls_contexts_free (contexts);
          return NULL;
        }
      listen->tls = contexts->server;
    }
  if (!contexts_add_clients (contexts, config, error))
    {
      portico_tls_contexts_free (contexts);
      return NULL;
    }
  return contexts;
}

/* ---- one connection ------------------------------------------------------------------ */

void
portico_tls_free (PorticoTls *tls, gboolean clean)
{
  /* OpenSSL drops from the cache a session whose connection it thinks was
   * cut; one that ended well (the peer closed first, say) stays
   * resumable. */
  if (clean && SSL_is_init_finished (tls))
    SSL_set_shutdown (tls, SSL_get_shutdown (tls) | SSL_SENT_SHUTDOWN);
  SSL_free (tls);
}

/* Every call here leaves OpenSSL's error queue empty (status_of drains it
 * after a failure), but SSL_get_error misreads a WANT_READ when a stale
 * entry from elsewhere is there, so reads and writes make sure first:
 * peeking costs a fraction of clearing, which is most of a small read's
 * cost otherwise. */
static inline void
error_queue_empty (void)
{
  if (ERR_peek_error () != 0)
    ERR_clear_error ();
}

/* What the last call on @tls came to. errno is kept for FAILED with
 * *error 0 (a socket error). */
static PorticoTlsStatus
status_of (PorticoTls *tls, int ret, gulong *error)
{
  int saved = errno;
  PorticoTlsStatus status;

  *error = 0;
  switch (SSL_get_error (tls, ret))
    {
    case SSL_ERROR_WANT_READ:
      status = PORTICO_TLS_WANT_READ;
      break;
    case SSL_ERROR_WANT_WRITE:
      status = PORTICO_TLS_WANT_WRITE;
      break;
    case SSL_ERROR_ZERO_RETURN:
      status = PORTICO_TLS_CLOSED;
      break;
    case SSL_ERROR_SYSCALL:
      /* errno 0: the peer closed the socket mid-handshake. */
      status = saved == 0 ? PORTICO_TLS_CLOSED : PORTICO_TLS_FAILED;
      break;
    default:
      *error = ERR_peek_last_error ();
      status = PORTICO_TLS_FAILED;
      if (*error == 0)
        saved = EPROTO;
      break;
    }
  ERR_clear_error ();
  errno = saved;
  return status;
}

PorticoTlsStatus
portico_tls_handshake (PorticoTls *tls, gulong *error)
{
  int ret;

  ERR_clear_error ();
  errno = 0;
  ret = SSL_do_handshake (tls);
  return ret == 1 ? (*error = 0, PORTICO_TLS_OK) : status_of (tls, ret, error);
}

PorticoTlsStatus
portico_tls_read (PorticoTls *tls, void *buf, gsize len, gsize *n, gulong *error)
{
  size_t done = 0;
  int ret;

  error_queue_empty ();
  errno = 0;
  ret = SSL_read_ex (tls, buf, len, &done);
  *n = done;
  return ret == 1 ? (*error = 0, PORTICO_TLS_OK) : status_of (tls, ret, error);
}

PorticoTlsStatus
portico_tls_write (PorticoTls *tls, const void *buf, gsize len, gsize *n, gulong *error)
{
  size_t done = 0;
  int ret;

  error_queue_empty ();
  errno = 0;
  ret = SSL_write_ex (tls, buf, len, &done);
  *n = done;
  return ret == 1 ? (*error = 0, PORTICO_TLS_OK) : status_of (tls, ret, error);
}

void
portico_tls_shutdown (PorticoTls *tls)
{
  if (!SSL_is_init_finished (tls) || (SSL_get_shutdown (tls) & SSL_SENT_SHUTDOWN))
    return;
  ERR_clear_error ();
  SSL_shutdown (tls);
  ERR_clear_error ();
}

void
portico_tls_socket_bytes (PorticoTls *tls, guint64 *in, guint64 *out)
{
  portico_tls_bio_bytes (SSL_get_rbio (tls), in, out);
}

gboolean
portico_tls_drained (PorticoTls *tls)
{
  return SSL_has_pending (tls) != 1 && portico_tls_bio_drained (SSL_get_rbio (tls));
}

gboolean
portico_tls_resumed (PorticoTls *tls)
{
  return SSL_session_reused (tls) == 1;
}

gboolean
portico_tls_pending (PorticoTls *tls)
{
  return SSL_has_pending (tls) == 1;
}

void
portico_tls_error_text (PorticoTls *tls, gulong error, char *buf, gsize size)
{
  const char *reason = error ? ERR_reason_error_string (error) : NULL;
  long verify = tls != NULL ? SSL_get_verify_result (tls) : X509_V_OK;

  if (tls != NULL && SSL_is_server (tls) && SSL_get_ex_data (tls, refused_index) != NULL)
    reason = "refused in the certificate phase";
  if (reason == NULL)
    reason = "TLS protocol error";
  if (ERR_GET_REASON (error) == SSL_R_CERTIFICATE_VERIFY_FAILED && verify != X509_V_OK)
    g_snprintf (buf, size, "%s: %s", reason, X509_verify_cert_error_string (verify));
  else
    g_snprintf (buf, size, "%s", reason);
}
