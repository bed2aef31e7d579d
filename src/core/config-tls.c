/* core/config-tls.c: the TLS part of a configuration: certificates and the
 * server names they are for (Kong's "certificates" and "snis"), the node's
 * ssl_* keys, and the upstream TLS keys of a service.
 *
 * Every PEM is parsed here, once, when the file is loaded: a certificate
 * that does not parse, or a key that is not the certificate's, is an error
 * with its JSON path, not a handshake that fails in a worker later. Files
 * named by a path are read here too, so a reload reads them again and a
 * worker never touches the disk. Building OpenSSL contexts is net/tls.c's.
 */
#include "core/config-private.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <string.h>

/* ---- PEM -------------------------------------------------------------------------- */

/* An encrypted key is refused; OpenSSL's default would ask a terminal. */
static int
no_passphrase (char *buf, int size, int rwflag, void *user_data)
{
  return 0;
}

/* The certificates in @pem: the leaf (give it to X509_free) and how many
 * there are in all. NULL when there is none. */
static X509 *
pem_certificates (const char *pem, guint *count)
{
  BIO *bio = BIO_new_mem_buf (pem, -1);
  X509 *leaf = PEM_read_bio_X509 (bio, NULL, no_passphrase, NULL);
  X509 *next;

  *count = leaf != NULL;
  while (leaf && (next = PEM_read_bio_X509 (bio, NULL, no_passphrase, NULL))) {
    X509_free (next);
    (*count)++;
  }
  BIO_free (bio);
  ERR_clear_error ();
  return leaf;
}

static EVP_PKEY *
pem_private_key (const char *pem)
{
  BIO *bio = BIO_new_mem_buf (pem, -1);
  EVP_PKEY *key = PEM_read_bio_PrivateKey (bio, NULL, no_passphrase, NULL);

  BIO_free (bio);
  ERR_clear_error ();
  return key;
}

/* Reads the PEM inline under @key or from the file under @path_key: exactly
 * one of them. NULL after an error (reported) or when both are missing
 * (reported when @required). */
static char *
load_pem (PorticoConfigLoader *ld, JsonObject *object, const char *key, const char *path_key)
{
  g_autoptr(GError) error = NULL;
  const char *inline_pem = NULL, *path = NULL;
  PorticoJsonField has_inline, has_path;
  char *data;

  has_inline = portico_json_reader_get_nonempty_string (ld->r, object, key, &inline_pem);
  has_path = portico_json_reader_get_nonempty_string (ld->r, object, path_key, &path);
  if (has_inline == PORTICO_JSON_FIELD_INVALID || has_path == PORTICO_JSON_FIELD_INVALID)
    return NULL;
  if (inline_pem && path) {
    portico_json_reader_error (ld->r, path_key, "cannot be used together with %s", key);
    return NULL;
  }
  if (inline_pem)
    return g_strdup (inline_pem);
  if (!path) {
    portico_json_reader_error (ld->r, NULL, "must have a %s or a %s", key, path_key);
    return NULL;
  }
  if (!g_file_get_contents (path, &data, NULL, &error)) {
    portico_json_reader_error (ld->r, path_key, "%s", error->message);
    return NULL;
  }
  return data;
}

/* ---- server names ------------------------------------------------------------------ */

/* A host name, lower-cased, with at most one wildcard: the whole leftmost
 * label ("*.example.com") or the whole rightmost one ("example.*"). Each
 * name belongs to one certificate. */
static char *
check_sni (PorticoJsonReader *r, const char *value, gpointer user_data)
{
  g_autofree char *name = g_ascii_strdown (value, -1);
  size_t len = strlen (name);
  const char *star = strchr (name, '*');
  const char *first_at;

  if (len == 0 || len > 253 || strspn (name, "abcdefghijklmnopqrstuvwxyz0123456789-.*") != len ||
      name[0] == '.' || name[len - 1] == '.' || strstr (name, "..")) {
    portico_json_reader_error (r, NULL, "is not a valid host name");
    return NULL;
  }
  if (star && !((star == name && name[1] == '.' && !strchr (name + 1, '*')) ||
                (star == name + len - 1 && len > 2 && name[len - 2] == '.' &&
                 strchr (name, '*') == star))) {
    portico_json_reader_error (r, NULL,
                               "a wildcard must be the whole leftmost or rightmost label "
                               "(\"*.example.com\" or \"example.*\")");
    return NULL;
  }
  if (g_hostname_is_ip_address (name)) {
    portico_json_reader_error (r, NULL, "must be a host name: clients never send an address as SNI");
    return NULL;
  }
  if ((first_at = portico_json_reader_claim (r, "sni", name))) {
    portico_json_reader_error (r, NULL, "duplicate SNI \"%s\" (also at %s)", name, first_at);
    return NULL;
  }
  return g_steal_pointer (&name);
}

/* ---- certificates ------------------------------------------------------------------ */

static void
certificate_free (gpointer data)
{
  PorticoCertificate *cert = data;

  g_free (cert->id);
  g_free (cert->cert_pem);
  if (cert->key_pem)
    OPENSSL_cleanse (cert->key_pem, strlen (cert->key_pem));
  g_free (cert->key_pem);
  g_ptr_array_unref (cert->snis);
  g_free (cert->json_path);
  g_free (cert);
}

void
portico_config_tls_init (PorticoConfig *config)
{
  config->certificates = g_ptr_array_new_with_free_func (certificate_free);
}

/* Parses the chain and the key; reports what is wrong with them. */
static void
check_certificate (PorticoConfigLoader *ld, PorticoCertificate *cert, const char *cert_key,
                   const char *key_key)
{
  X509 *leaf = NULL;
  EVP_PKEY *key = NULL;
  guint count = 0;

  if (cert->cert_pem && !(leaf = pem_certificates (cert->cert_pem, &count)))
    portico_json_reader_error (ld->r, cert_key, "holds no PEM certificate");
  if (cert->key_pem && !(key = pem_private_key (cert->key_pem)))
    portico_json_reader_error (ld->r, key_key,
                               "holds no PEM private key (an encrypted key is not supported)");
  if (leaf && key && X509_check_private_key (leaf, key) != 1)
    portico_json_reader_error (ld->r, key_key, "does not match the certificate");
  ERR_clear_error ();
  X509_free (leaf);
  EVP_PKEY_free (key);
}

static void
load_certificate (PorticoConfigLoader *ld, JsonNode *node, gpointer data)
{
  static const char *const keys[] = { "id", "cert", "key", "cert_path", "key_path", "snis", "tags",
                                      NULL };
  g_auto(GStrv) snis = NULL, tags = NULL;
  PorticoCertificate *cert;
  JsonObject *object;
  const char *id = NULL;

  if (!(object = portico_json_reader_as_object (ld->r, node, keys)))
    return;
  cert = g_new0 (PorticoCertificate, 1);
  cert->snis = g_ptr_array_new_with_free_func (g_free);
  cert->json_path = g_strdup (portico_json_reader_get_path (ld->r));
  g_ptr_array_add (ld->config->certificates, cert);

  if (portico_json_reader_get_nonempty_string (ld->r, object, "id", &id) == PORTICO_JSON_FIELD_OK) {
    cert->id = g_strdup (id);
    if (g_hash_table_contains (ld->certificates, id))
      portico_json_reader_error (ld->r, "id", "duplicate certificate id \"%s\"", id);
    else
      g_hash_table_insert (ld->certificates, cert->id, cert);
  }
  cert->cert_pem = load_pem (ld, object, "cert", "cert_path");
  cert->key_pem = load_pem (ld, object, "key", "key_path");
  check_certificate (ld, cert, portico_json_member (object, "cert") ? "cert" : "cert_path",
                     portico_json_member (object, "key") ? "key" : "key_path");
  portico_json_reader_get_strings (ld->r, object, "snis", check_sni, NULL, &snis);
  for (guint i = 0; snis && snis[i]; i++)
    g_ptr_array_add (cert->snis, g_strdup (snis[i]));
  portico_json_reader_get_strings (ld->r, object, "tags", NULL, NULL, &tags);
}

/* A certificate named by its id: "ID" or Kong's { "id": "ID" }. NULL after
 * an error (reported at @key). */
static PorticoCertificate *
load_certificate_reference (PorticoConfigLoader *ld, JsonObject *object, const char *key)
{
  JsonNode *node = portico_json_member (object, key);
  PorticoCertificate *cert;
  const char *id = node ? portico_json_string (node) : NULL;

  if (node && JSON_NODE_HOLDS_OBJECT (node)) {
    JsonNode *inner = portico_json_member (json_node_get_object (node), "id");

    id = inner ? portico_json_string (inner) : NULL;
  }
  if (!id) {
    portico_json_reader_error (ld->r, key, "must be a certificate id (a string, or {\"id\": ...})");
    return NULL;
  }
  if (!(cert = g_hash_table_lookup (ld->certificates, id)))
    portico_json_reader_error (ld->r, key, "unknown certificate \"%s\"", id);
  return cert;
}

/* Kong's "snis" entity: one more name for a certificate. */
static void
load_sni (PorticoConfigLoader *ld, JsonNode *node, gpointer data)
{
  static const char *const keys[] = { "name", "certificate", "tags", NULL };
  g_auto(GStrv) tags = NULL;
  PorticoCertificate *cert = NULL;
  g_autofree char *name = NULL;
  JsonObject *object;
  const char *text;

  if (!(object = portico_json_reader_as_object (ld->r, node, keys)))
    return;
  if ((text = portico_json_reader_require_string (ld->r, object, "name"))) {
    portico_json_reader_push_key (ld->r, "name");
    name = check_sni (ld->r, text, NULL);
    portico_json_reader_pop (ld->r);
  }
  if (portico_json_member (object, "certificate"))
    cert = load_certificate_reference (ld, object, "certificate");
  else
    portico_json_reader_error (ld->r, "certificate", "is required");
  portico_json_reader_get_strings (ld->r, object, "tags", NULL, NULL, &tags);
  if (cert && name)
    g_ptr_array_add (cert->snis, g_steal_pointer (&name));
}

void
portico_config_load_certificates (PorticoConfigLoader *ld, JsonObject *root)
{
  portico_config_each_element (ld, root, "certificates", load_certificate, NULL);
  portico_config_each_element (ld, root, "snis", load_sni, NULL);
  if (ld->config->certificates->len > 0)
    ((PorticoCertificate *) g_ptr_array_index (ld->config->certificates, 0))->is_default = TRUE;
}

/* ---- the node ---------------------------------------------------------------------- */

void
portico_config_load_node_tls (PorticoConfigLoader *ld, JsonObject *object)
{
  const char *id;
  PorticoCertificate *cert;

  ld->ssl_handshake_timeout = 60000;
  ld->ssl_session_tickets = TRUE;
  portico_json_reader_get_uint (ld->r, object, "ssl_handshake_timeout", 1,
                                (guint) PORTICO_CONFIG_MAX_MS, &ld->ssl_handshake_timeout);
  portico_json_reader_get_bool (ld->r, object, "ssl_session_tickets", &ld->ssl_session_tickets);
  if (portico_json_reader_get_nonempty_string (ld->r, object, "ssl_default_certificate", &id) !=
      PORTICO_JSON_FIELD_OK)
    return;
  if (!(cert = g_hash_table_lookup (ld->certificates, id))) {
    portico_json_reader_error (ld->r, "ssl_default_certificate", "unknown certificate \"%s\"", id);
    return;
  }
  for (guint i = 0; i < ld->config->certificates->len; i++)
    ((PorticoCertificate *) g_ptr_array_index (ld->config->certificates, i))->is_default = FALSE;
  cert->is_default = TRUE;
}

void
portico_config_check_ssl_listen (PorticoConfigLoader *ld, PorticoListen *listen)
{
  listen->ssl_handshake_timeout = ld->ssl_handshake_timeout;
  listen->ssl_session_tickets = ld->ssl_session_tickets;
  if (ld->config->certificates->len == 0)
    portico_json_reader_error (ld->r, "ssl", "a TLS listener needs a certificate (\"certificates\" is empty)");
}

/* ---- services ---------------------------------------------------------------------- */

/* Reads the CA files named in "ca_certificates" into one PEM bundle. */
static char *
load_ca_certificates (PorticoConfigLoader *ld, JsonObject *object)
{
  g_auto(GStrv) paths = NULL;
  GString *bundle = NULL;
  gboolean valid = TRUE;

  if (portico_json_reader_get_strings (ld->r, object, "ca_certificates",
                                       portico_json_reader_check_nonempty, NULL, &paths) ==
      PORTICO_JSON_FIELD_INVALID || !paths)
    return NULL;
  if (!paths[0]) {
    portico_json_reader_error (ld->r, "ca_certificates", "must name at least one file (leave it out for the system's)");
    return NULL;
  }
  portico_json_reader_push_key (ld->r, "ca_certificates");
  bundle = g_string_new (NULL);
  for (guint i = 0; paths[i]; i++) {
    g_autoptr(GError) error = NULL;
    g_autofree char *pem = NULL;
    guint count = 0;
    X509 *leaf;

    portico_json_reader_push_index (ld->r, i);
    if (!g_file_get_contents (paths[i], &pem, NULL, &error)) {
      portico_json_reader_error (ld->r, NULL, "%s", error->message);
      valid = FALSE;
    } else if (!(leaf = pem_certificates (pem, &count))) {
      portico_json_reader_error (ld->r, NULL, "holds no PEM certificate");
      valid = FALSE;
    } else {
      X509_free (leaf);
      g_string_append (bundle, pem);
      g_string_append_c (bundle, '\n');
    }
    portico_json_reader_pop (ld->r);
  }
  portico_json_reader_pop (ld->r);
  if (!valid) {
    g_string_free (bundle, TRUE);
    return NULL;
  }
  return g_string_free (bundle, FALSE);
}

static void
load_service_tls (PorticoConfigLoader *ld, JsonNode *node, gpointer data)
{
  static const char *const keys[] = { "tls_verify", "ca_certificates", "client_certificate", NULL };
  guint *next = data;
  PorticoService *service;
  JsonObject *object;

  /* Not an object: reported already, and no service was made of it. */
  if (!JSON_NODE_HOLDS_OBJECT (node) || *next >= ld->config->services->len)
    return;
  service = g_ptr_array_index (ld->config->services, (*next)++);
  object = json_node_get_object (node);
  service->tls_verify = TRUE;
  if (!service->protocol) /* its url was wrong: said already */
    return;
  if (!g_str_equal (service->protocol, "https")) {
    for (guint i = 0; keys[i]; i++) {
      if (portico_json_member (object, keys[i]))
        portico_json_reader_error (ld->r, keys[i], "is only for https services");
    }
    return;
  }
  portico_json_reader_get_bool (ld->r, object, "tls_verify", &service->tls_verify);
  service->ca_certificates_pem = load_ca_certificates (ld, object);
  if (portico_json_member (object, "client_certificate"))
    service->client_certificate = load_certificate_reference (ld, object, "client_certificate");
}

void
portico_config_load_services_tls (PorticoConfigLoader *ld, JsonObject *root)
{
  guint next = 0;
  JsonNode *services = portico_json_member (root, "services");

  /* Not an array: reported already. */
  if (services && JSON_NODE_HOLDS_ARRAY (services))
    portico_config_each_element (ld, root, "services", load_service_tls, &next);
}
