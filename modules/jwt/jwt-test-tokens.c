/* jwt-test-tokens.c: see jwt-test-tokens.h. Written apart from the module's
 * verification code on purpose: a test that signed with the code it checks
 * would agree with any mistake in it. */
#include "jwt-test-tokens.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

char *
jwt_test_base64url (const void *data, gsize len)
{
  char *text = g_base64_encode (data, len);
  for (char *p = text; *p; p++)
    {
      if (*p == '+')
        *p = '-';
      else if (*p == '/')
        *p = '_';
      else if (*p == '=')
        {
          *p = '\0';
          break;
        }
    }
  return text;
}

EVP_PKEY *
jwt_test_keygen (const char *type)
{
  EVP_PKEY *pkey;
  if (strcmp (type, "RSA") == 0)
    pkey = EVP_PKEY_Q_keygen (NULL, NULL, "RSA", (size_t) 2048);
  else if (g_str_has_prefix (type, "P-"))
    pkey = EVP_PKEY_Q_keygen (NULL, NULL, "EC", type);
  else
    pkey = EVP_PKEY_Q_keygen (NULL, NULL, type);
  g_assert_nonnull (pkey);
  return pkey;
}

char *
jwt_test_public_pem (EVP_PKEY *pkey)
{
  BIO *bio = BIO_new (BIO_s_mem ());
  g_assert_cmpint (PEM_write_bio_PUBKEY (bio, pkey), ==, 1);
  char *data = NULL;
  long len = BIO_get_mem_data (bio, &data);
  char *pem = g_strndup (data, (gsize) len);
  BIO_free (bio);
  return pem;
}

static const EVP_MD *
digest_of (const char *alg)
{
  if (g_str_has_suffix (alg, "384"))
    return EVP_sha384 ();
  if (g_str_has_suffix (alg, "512"))
    return EVP_sha512 ();
  if (g_str_has_suffix (alg, "256"))
    return EVP_sha256 ();
  return NULL; /* EdDSA */
}

/* R || S, each as long as the curve's order, from OpenSSL's DER. */
static GBytes *
ecdsa_raw (const guint8 *der, gsize der_len, const char *alg)
{
  gsize half = strcmp (alg, "ES256") == 0 ? 32 : strcmp (alg, "ES384") == 0 ? 48 : 66;
  const guint8 *p = der;
  ECDSA_SIG *sig = d2i_ECDSA_SIG (NULL, &p, (long) der_len);
  g_assert_nonnull (sig);
  guint8 *raw = g_malloc (2 * half);
  g_assert_cmpint (BN_bn2binpad (ECDSA_SIG_get0_r (sig), raw, (int) half), ==, (int) half);
  g_assert_cmpint (BN_bn2binpad (ECDSA_SIG_get0_s (sig), raw + half, (int) half), ==, (int) half);
  ECDSA_SIG_free (sig);
  return g_bytes_new_take (raw, 2 * half);
}

static GBytes *
sign (const char *alg, const char *input, const char *secret, EVP_PKEY *pkey)
{
  const EVP_MD *md = digest_of (alg);
  if (alg[0] == 'H')
    {
      guint8 mac[EVP_MAX_MD_SIZE];
      unsigned int mac_len = 0;
      g_assert_nonnull (HMAC (md, secret, (int) strlen (secret), (const guint8 *) input, strlen (input), mac,
                              &mac_len));
      return g_bytes_new (mac, mac_len);
    }
  g_assert_nonnull (pkey);
  EVP_MD_CTX *ctx = EVP_MD_CTX_new ();
  EVP_PKEY_CTX *pctx = NULL;
  g_assert_cmpint (EVP_DigestSignInit (ctx, &pctx, md, NULL, pkey), ==, 1);
  if (alg[0] == 'P')
    {
      g_assert_cmpint (EVP_PKEY_CTX_set_rsa_padding (pctx, RSA_PKCS1_PSS_PADDING), >, 0);
      g_assert_cmpint (EVP_PKEY_CTX_set_rsa_pss_saltlen (pctx, RSA_PSS_SALTLEN_DIGEST), >, 0);
    }
  size_t len = 0;
  g_assert_cmpint (EVP_DigestSign (ctx, NULL, &len, (const guint8 *) input, strlen (input)), ==, 1);
  guint8 *sig = g_malloc (len);
  g_assert_cmpint (EVP_DigestSign (ctx, sig, &len, (const guint8 *) input, strlen (input)), ==, 1);
  EVP_MD_CTX_free (ctx);
  if (alg[0] == 'E' && alg[1] == 'S')
    {
      GBytes *raw = ecdsa_raw (sig, len, alg);
      g_free (sig);
      return raw;
    }
  return g_bytes_new_take (sig, len);
}

char *
jwt_test_token (const char *alg, const char *header_json, const char *claims_json, const char *secret,
                EVP_PKEY *pkey)
{
  g_autofree char *default_header = g_strdup_printf ("{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg);
  const char *header = header_json ? header_json : default_header;
  g_autofree char *h64 = jwt_test_base64url (header, strlen (header));
  g_autofree char *c64 = jwt_test_base64url (claims_json, strlen (claims_json));
  g_autofree char *input = g_strconcat (h64, ".", c64, NULL);
  g_autoptr (GBytes) sig = sign (alg, input, secret, pkey);
  gsize sig_len;
  const void *sig_data = g_bytes_get_data (sig, &sig_len);
  g_autofree char *s64 = jwt_test_base64url (sig_data, sig_len);
  return g_strconcat (input, ".", s64, NULL);
}
