/* lab-pki.c: a run's CA and leaf certificate, with OpenSSL's API (see
 * lab-pki.h): no `openssl` binary needed by `portico run`. */
#include "lab/lab-pki.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#define VALID_BEFORE_S (60 * 60)      /* the clocks of the parties may differ a little */
#define VALID_FOR_S (2 * 24 * 60 * 60)

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EVP_PKEY, EVP_PKEY_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509, X509_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BIO, BIO_free)

static gboolean
openssl_failed (GError **error, const char *what)
{
  char reason[256] = "unknown error";
  unsigned long e = ERR_peek_last_error ();
  if (e != 0)
    ERR_error_string_n (e, reason, sizeof reason);
  ERR_clear_error ();
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot make the run's certificates: %s: %s", what, reason);
  return FALSE;
}

/* One extension written as `openssl x509 -extfile` would ("critical,CA:TRUE"). */
static gboolean
add_ext (X509 *cert, X509V3_CTX *ctx, int nid, const char *value)
{
  X509_EXTENSION *ext = X509V3_EXT_conf_nid (NULL, ctx, nid, value);
  gboolean ok = ext != NULL && X509_add_ext (cert, ext, -1) == 1;
  X509_EXTENSION_free (ext);
  return ok;
}

/* A certificate for @key named @cn, signed by @issuer (its key
 * @issuer_key), or self-signed when @issuer is NULL: a CA then, else a
 * server's leaf for localhost and 127.0.0.1. */
static X509 *
cert_new (EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, GError **error)
{
  g_autoptr (X509) cert = X509_new ();
  X509V3_CTX ctx;
  guint64 serial = ((guint64) g_random_int () << 31) ^ g_random_int ();
  gboolean ca = issuer == NULL;
  if (cert == NULL || X509_set_version (cert, X509_VERSION_3) != 1 ||
      ASN1_INTEGER_set_uint64 (X509_get_serialNumber (cert), serial | 1) != 1 ||
      X509_gmtime_adj (X509_getm_notBefore (cert), -VALID_BEFORE_S) == NULL ||
      X509_gmtime_adj (X509_getm_notAfter (cert), VALID_FOR_S) == NULL || X509_set_pubkey (cert, key) != 1 ||
      X509_NAME_add_entry_by_txt (X509_get_subject_name (cert), "CN", MBSTRING_ASC, (const unsigned char *) cn,
                                  -1, -1, 0) != 1 ||
      X509_set_issuer_name (cert, X509_get_subject_name (ca ? cert : issuer)) != 1)
    {
      openssl_failed (error, cn);
      return NULL;
    }
  X509V3_set_ctx (&ctx, ca ? cert : issuer, cert, NULL, NULL, 0);
  gboolean ok = add_ext (cert, &ctx, NID_subject_key_identifier, "hash");
  if (ca)
    ok = ok && add_ext (cert, &ctx, NID_basic_constraints, "critical,CA:TRUE") &&
         add_ext (cert, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
  else
    ok = ok && add_ext (cert, &ctx, NID_authority_key_identifier, "keyid") &&
         add_ext (cert, &ctx, NID_basic_constraints, "CA:FALSE") &&
         add_ext (cert, &ctx, NID_key_usage, "critical,digitalSignature") &&
         add_ext (cert, &ctx, NID_ext_key_usage, "serverAuth") &&
         add_ext (cert, &ctx, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
  if (!ok || X509_sign (cert, ca ? key : issuer_key, EVP_sha256 ()) == 0)
    {
      openssl_failed (error, cn);
      return NULL;
    }
  return g_steal_pointer (&cert);
}

/* The PEM text of a certificate (@key NULL) or of a private key. */
static char *
pem_text (X509 *cert, EVP_PKEY *key, GError **error)
{
  g_autoptr (BIO) mem = BIO_new (BIO_s_mem ());
  char *data = NULL;
  if (mem == NULL ||
      (key ? PEM_write_bio_PrivateKey (mem, key, NULL, NULL, 0, NULL, NULL) : PEM_write_bio_X509 (mem, cert)) != 1)
    {
      openssl_failed (error, "PEM");
      return NULL;
    }
  long len = BIO_get_mem_data (mem, &data);
  return g_strndup (data, (gsize) len);
}

static gboolean
write_file (const char *path, const char *text, int mode, GError **error)
{
  return g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, mode, error);
}

PorticoLabPki *
portico_lab_pki_new (const char *dir, GError **error)
{
  g_autoptr (PorticoLabPki) pki = g_new0 (PorticoLabPki, 1);
  g_autoptr (EVP_PKEY) ca_key = EVP_EC_gen ("P-256");
  g_autoptr (EVP_PKEY) key = EVP_EC_gen ("P-256");
  if (ca_key == NULL || key == NULL)
    {
      openssl_failed (error, "P-256 key");
      return NULL;
    }
  g_autoptr (X509) ca = cert_new (ca_key, "Portico Lab CA", NULL, NULL, error);
  g_autoptr (X509) leaf = ca ? cert_new (key, "localhost", ca, ca_key, error) : NULL;
  if (leaf == NULL)
    return NULL;
  g_autofree char *cert_pem = pem_text (leaf, NULL, error);
  g_autofree char *key_pem = cert_pem ? pem_text (NULL, key, error) : NULL;
  pki->ca_pem = key_pem ? pem_text (ca, NULL, error) : NULL;
  if (pki->ca_pem == NULL)
    return NULL;
  pki->ca_path = g_build_filename (dir, "lab-ca.pem", NULL);
  pki->cert_path = g_build_filename (dir, "lab-cert.pem", NULL);
  pki->key_path = g_build_filename (dir, "lab-key.pem", NULL);
  if (!write_file (pki->ca_path, pki->ca_pem, 0644, error) || !write_file (pki->cert_path, cert_pem, 0644, error) ||
      !write_file (pki->key_path, key_pem, 0600, error))
    return NULL;
  return g_steal_pointer (&pki);
}

void
portico_lab_pki_free (PorticoLabPki *pki)
{
  if (pki == NULL)
    return;
  const char *paths[] = { pki->ca_path, pki->cert_path, pki->key_path };
  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    if (paths[i] != NULL)
      g_unlink (paths[i]);
  g_free (pki->ca_path);
  g_free (pki->ca_pem);
  g_free (pki->cert_path);
  g_free (pki->key_path);
  g_free (pki);
}
