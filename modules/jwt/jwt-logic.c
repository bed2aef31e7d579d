/* jwt-logic.c: tokens, signatures and claims for the jwt module (see
 * jwt-logic.h). No gateway here: everything is a pure function of its
 * arguments, so test-jwt.c drives it with tokens it makes itself. */
#include "jwt-logic.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

/* ---- algorithms --------------------------------------------------------- */

typedef enum {
  JWT_FAMILY_HMAC,
  JWT_FAMILY_RSA,   /* RSASSA-PKCS1-v1_5 */
  JWT_FAMILY_PSS,   /* RSASSA-PSS, salt as long as the digest (RFC 7518 3.5) */
  JWT_FAMILY_ECDSA, /* the signature is R || S, each ec_bytes long */
  JWT_FAMILY_EDDSA,
} JwtFamily;

typedef struct {
  const char *name;
  JwtFamily family;
  const EVP_MD *(*md) (void); /* NULL for EdDSA, which hashes by itself */
  guint ec_bytes;
  int ec_nid;
} JwtAlgInfo;

static const JwtAlgInfo alg_info[JWT_N_ALGS] = {
  [JWT_ALG_HS256] = { "HS256", JWT_FAMILY_HMAC, EVP_sha256 },
  [JWT_ALG_HS384] = { "HS384", JWT_FAMILY_HMAC, EVP_sha384 },
  [JWT_ALG_HS512] = { "HS512", JWT_FAMILY_HMAC, EVP_sha512 },
  [JWT_ALG_RS256] = { "RS256", JWT_FAMILY_RSA, EVP_sha256 },
  [JWT_ALG_RS384] = { "RS384", JWT_FAMILY_RSA, EVP_sha384 },
  [JWT_ALG_RS512] = { "RS512", JWT_FAMILY_RSA, EVP_sha512 },
  [JWT_ALG_ES256] = { "ES256", JWT_FAMILY_ECDSA, EVP_sha256, 32, NID_X9_62_prime256v1 },
  [JWT_ALG_ES384] = { "ES384", JWT_FAMILY_ECDSA, EVP_sha384, 48, NID_secp384r1 },
  [JWT_ALG_ES512] = { "ES512", JWT_FAMILY_ECDSA, EVP_sha512, 66, NID_secp521r1 },
  [JWT_ALG_PS256] = { "PS256", JWT_FAMILY_PSS, EVP_sha256 },
  [JWT_ALG_PS384] = { "PS384", JWT_FAMILY_PSS, EVP_sha384 },
  [JWT_ALG_PS512] = { "PS512", JWT_FAMILY_PSS, EVP_sha512 },
  [JWT_ALG_EDDSA] = { "EdDSA", JWT_FAMILY_EDDSA, NULL },
};

JwtAlg
jwt_alg_from_name (const char *name)
{
  if (name == NULL)
    return JWT_ALG_INVALID;
  for (int i = 0; i < JWT_N_ALGS; i++)
    if (strcmp (alg_info[i].name, name) == 0)
      return (JwtAlg) i;
  return JWT_ALG_INVALID;
}

const char *
jwt_alg_name (JwtAlg alg)
{
  g_return_val_if_fail (alg >= 0 && alg < JWT_N_ALGS, NULL);
  return alg_info[alg].name;
}

gboolean
jwt_alg_is_hmac (JwtAlg alg)
{
  return alg >= 0 && alg < JWT_N_ALGS && alg_info[alg].family == JWT_FAMILY_HMAC;
}

/* ---- base64 --------------------------------------------------------------- */

static int
base64_value (guchar c, gboolean strict)
{
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '-' || (!strict && c == '+'))
    return 62;
  if (c == '_' || (!strict && c == '/'))
    return 63;
  return -1;
}

gssize
jwt_base64_decode (const char *in, gsize len, guint8 *out, gsize out_size, gboolean strict)
{
  gsize n = len;
  if (!strict)
    while (n > 0 && len - n < 2 && in[n - 1] == '=')
      n--;
  if (n % 4 == 1)
    return -1;
  gsize out_len = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
  if (out_len > out_size)
    return -1;

  guint32 acc = 0;
  guint bits = 0;
  gsize o = 0;
  for (gsize i = 0; i < n; i++)
    {
      int v = base64_value ((guchar) in[i], strict);
      if (v < 0)
        return -1;
      acc = ((acc << 6) | (guint32) v) & 0xffffff;
      bits += 6;
      if (bits >= 8)
        {
          bits -= 8;
          out[o++] = (guint8) (acc >> bits);
        }
    }
  /* A JWS encoder leaves the bits past the last byte at zero; anything
   * else is a second spelling of the same token. */
  if (strict && (acc & ((1u << bits) - 1)) != 0)
    return -1;
  return (gssize) o;
}

/* ---- tokens ----------------------------------------------------------------- */

static const char *const decode_messages[] = {
  [JWT_DECODE_OK] = "",
  [JWT_DECODE_TOO_LONG] = "Bad token; too long",
  [JWT_DECODE_JSON] = "Bad token; invalid JSON",
  [JWT_DECODE_ALG] = "Bad token; invalid alg",
  [JWT_DECODE_CLAIMS] = "Bad token; invalid claims",
  [JWT_DECODE_SIGNATURE] = "Bad token; invalid signature",
};

const char *
jwt_decode_error_message (JwtDecodeError error)
{
  g_return_val_if_fail (error >= 0 && error < G_N_ELEMENTS (decode_messages), "");
  return decode_messages[error];
}

/* Base64url then JSON; the root node is ours (NULL when not). */
static JsonNode *
decode_json_part (JsonParser *parser, const char *part, gsize len, guint8 *scratch, gsize scratch_size)
{
  gssize n = jwt_base64_decode (part, len, scratch, scratch_size, TRUE);
  if (n <= 0)
    return NULL;
  /* json-glib reads up to a NUL whatever the length: a NUL inside the
   * JSON text would let it ignore the rest. */
  if (memchr (scratch, '\0', (gsize) n) != NULL)
    return NULL;
  if (!json_parser_load_from_data (parser, (const char *) scratch, n, NULL))
    return NULL;
  return json_parser_steal_root (parser);
}

static JsonObject *
node_object (JsonNode *node)
{
  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

JwtDecodeError
jwt_token_decode (JwtToken *t, const char *token, gsize len, JsonParser *parser)
{
  memset (t, 0, sizeof *t);
  t->alg = JWT_ALG_INVALID;
  if (len > JWT_MAX_TOKEN_LEN)
    return JWT_DECODE_TOO_LONG;

  /* Kong keeps a third dot in the signature part, which then fails to
   * decode: "a.b.c.d" is a bad signature, "a.b" bad JSON. */
  const char *end = token + len;
  const char *dot1 = memchr (token, '.', len);
  const char *dot2 = dot1 ? memchr (dot1 + 1, '.', (gsize) (end - dot1 - 1)) : NULL;
  if (dot2 == NULL)
    return JWT_DECODE_JSON;

  g_autoptr (JsonParser) own = parser ? g_object_ref (parser) : json_parser_new ();
  /* Each part decodes to fewer bytes than the token has; the signature
   * is decoded last and stays in the buffer. */
  guint8 *buffer = g_malloc (len);
  JwtDecodeError error = JWT_DECODE_OK;
  t->header_root = decode_json_part (own, token, (gsize) (dot1 - token), buffer, len);
  t->claims_root = decode_json_part (own, dot1 + 1, (gsize) (dot2 - dot1 - 1), buffer, len);
  t->header = node_object (t->header_root);
  t->claims = node_object (t->claims_root);
  if (t->header_root == NULL || t->claims_root == NULL)
    error = JWT_DECODE_JSON;
  else
    {
      JsonNode *alg = t->header ? json_object_get_member (t->header, "alg") : NULL;
      if (alg != NULL && JSON_NODE_HOLDS_VALUE (alg) && json_node_get_value_type (alg) == G_TYPE_STRING)
        t->alg = jwt_alg_from_name (json_node_get_string (alg));
      if (t->alg == JWT_ALG_INVALID)
        error = JWT_DECODE_ALG;
      else if (t->claims == NULL)
        error = JWT_DECODE_CLAIMS;
    }
  if (error == JWT_DECODE_OK)
    {
      gssize n = jwt_base64_decode (dot2 + 1, (gsize) (end - dot2 - 1), buffer, len, TRUE);
      if (n < 0)
        error = JWT_DECODE_SIGNATURE;
      t->signature_len = n < 0 ? 0 : (gsize) n;
    }
  t->buffer = buffer;
  if (error != JWT_DECODE_OK)
    {
      jwt_token_clear (t);
      return error;
    }
  t->signature = buffer;
  t->signing_input = token;
  t->signing_input_len = (gsize) (dot2 - token);
  return JWT_DECODE_OK;
}

void
jwt_token_clear (JwtToken *t)
{
  g_clear_pointer (&t->header_root, json_node_unref);
  g_clear_pointer (&t->claims_root, json_node_unref);
  g_clear_pointer (&t->buffer, g_free);
  memset (t, 0, sizeof *t);
  t->alg = JWT_ALG_INVALID;
}

static JwtKeyLookup
find_key_in (JsonObject *object, const char *name, const char **value)
{
  JsonNode *node = object ? json_object_get_member (object, name) : NULL;
  if (node == NULL)
    return JWT_KEY_MISSING;
  if (!JSON_NODE_HOLDS_VALUE (node))
    return JWT_KEY_NOT_STRING;
  GType type = json_node_get_value_type (node);
  /* Kong reads the claims, then the header, with Lua's "or": false
   * counts as absent. */
  if (type == G_TYPE_BOOLEAN && !json_node_get_boolean (node))
    return JWT_KEY_MISSING;
  if (type != G_TYPE_STRING)
    return JWT_KEY_NOT_STRING;
  const char *s = json_node_get_string (node);
  if (*s == '\0')
    return JWT_KEY_EMPTY;
  *value = s;
  return JWT_KEY_FOUND;
}

JwtKeyLookup
jwt_token_find_key (const JwtToken *t, const char *name, const char **value)
{
  JwtKeyLookup found = find_key_in (t->claims, name, value);
  if (found == JWT_KEY_MISSING)
    found = find_key_in (t->header, name, value);
  return found;
}

/* ---- keys and secrets ------------------------------------------------------------ */

EVP_PKEY *
jwt_public_key_from_pem (const char *pem, gsize len, GError **error)
{
  EVP_PKEY *pkey = NULL;
  OSSL_DECODER_CTX *dctx =
    OSSL_DECODER_CTX_new_for_pkey (&pkey, "PEM", NULL, NULL, EVP_PKEY_PUBLIC_KEY, NULL, NULL);
  const unsigned char *data = (const unsigned char *) pem;
  size_t left = len;
  gboolean ok = dctx != NULL && OSSL_DECODER_from_data (dctx, &data, &left) == 1 && pkey != NULL;
  OSSL_DECODER_CTX_free (dctx);
  ERR_clear_error ();
  if (!ok)
    {
      EVP_PKEY_free (pkey);
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "not a PEM public key");
      return NULL;
    }
  return pkey;
}

static int
key_curve (EVP_PKEY *pkey)
{
  char name[64];
  if (!EVP_PKEY_get_group_name (pkey, name, sizeof name, NULL))
    return NID_undef;
  int nid = OBJ_sn2nid (name);
  return nid != NID_undef ? nid : EC_curve_nist2nid (name);
}

static gboolean
key_fits (EVP_PKEY *pkey, JwtAlg alg)
{
  const JwtAlgInfo *info = &alg_info[alg];
  switch (info->family)
    {
    case JWT_FAMILY_RSA:
      return EVP_PKEY_is_a (pkey, "RSA");
    case JWT_FAMILY_PSS:
      return EVP_PKEY_is_a (pkey, "RSA") || EVP_PKEY_is_a (pkey, "RSA-PSS");
    case JWT_FAMILY_ECDSA:
      return EVP_PKEY_is_a (pkey, "EC") && key_curve (pkey) == info->ec_nid;
    case JWT_FAMILY_EDDSA:
      return EVP_PKEY_is_a (pkey, "ED25519") || EVP_PKEY_is_a (pkey, "ED448");
    case JWT_FAMILY_HMAC:
    default:
      return FALSE;
    }
}

static const char *
member_string (JsonObject *object, const char *name)
{
  JsonNode *node = json_object_get_member (object, name);
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

/* secret_is_base64: the value decoded, or NULL. */
static guint8 *
decode_secret (const char *text, gsize *len)
{
  gsize n = strlen (text);
  guint8 *out = g_malloc (n + 1);
  gssize decoded = jwt_base64_decode (text, n, out, n, FALSE);
  if (decoded < 0)
    {
      g_free (out);
      return NULL;
    }
  out[decoded] = '\0';
  *len = (gsize) decoded;
  return out;
}

JwtSecret *
jwt_secret_new (JsonObject *entry, gboolean secret_is_base64, GError **error)
{
  const char *key = member_string (entry, "key");
  if (key == NULL || *key == '\0')
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "key: required");
      return NULL;
    }
  const char *alg_name = member_string (entry, "algorithm");
  JwtAlg alg = jwt_alg_from_name (alg_name ? alg_name : "HS256");
  if (alg == JWT_ALG_INVALID)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "algorithm: unknown \"%s\"", alg_name);
      return NULL;
    }
  const char *field = jwt_alg_is_hmac (alg) ? "secret" : "rsa_public_key";
  const char *value = member_string (entry, field);
  if (value == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: required for %s", field,
                   alg_info[alg].name);
      return NULL;
    }

  g_autoptr (GError) local = NULL;
  JwtSecret *secret = g_new0 (JwtSecret, 1);
  secret->key = g_strdup (key);
  secret->alg = alg;
  gsize len = strlen (value);
  g_autofree guint8 *decoded = secret_is_base64 ? decode_secret (value, &len) : NULL;
  /* Kong decodes the secret at each request and answers "Invalid
   * key/secret" when it is not base64; the credential stays known. */
  secret->usable = !secret_is_base64 || decoded != NULL;
  if (!secret->usable)
    return secret;
  const char *bytes = decoded ? (const char *) decoded : value;

  if (jwt_alg_is_hmac (alg))
    {
      secret->secret = g_memdup2 (bytes, len + 1);
      secret->secret_len = len;
      return secret;
    }
  secret->pkey = jwt_public_key_from_pem (bytes, len, &local);
  if (secret->pkey == NULL)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "rsa_public_key: %s", local->message);
  else if (!key_fits (secret->pkey, alg))
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                 "rsa_public_key: a %s key cannot verify %s", EVP_PKEY_get0_type_name (secret->pkey),
                 alg_info[alg].name);
  else
    return secret;
  jwt_secret_free (secret);
  return NULL;
}

void
jwt_secret_free (JwtSecret *secret)
{
  if (secret == NULL)
    return;
  g_free (secret->key);
  if (secret->secret)
    OPENSSL_cleanse (secret->secret, secret->secret_len);
  g_free (secret->secret);
  EVP_PKEY_free (secret->pkey);
  g_free (secret);
}

/* ---- signatures ---------------------------------------------------------------------- */

static gboolean
verify_hmac (const JwtSecret *secret, const JwtAlgInfo *info, const char *data, gsize len,
             const guint8 *sig, gsize sig_len)
{
  guint8 mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  static const guint8 empty[1];
  if (HMAC (info->md (), secret->secret ? secret->secret : empty, (int) secret->secret_len,
            (const guint8 *) data, len, mac, &mac_len) == NULL)
    return FALSE;
  return sig_len == mac_len && CRYPTO_memcmp (mac, sig, mac_len) == 0;
}

/* JWS writes ECDSA signatures as R || S; OpenSSL verifies DER. Returns
 * the DER (OPENSSL_free it) or NULL when the length is wrong. */
static guint8 *
ecdsa_der (const JwtAlgInfo *info, const guint8 *sig, gsize sig_len, int *der_len)
{
  if (sig_len != 2 * info->ec_bytes)
    return NULL;
  ECDSA_SIG *es = ECDSA_SIG_new ();
  BIGNUM *r = BN_bin2bn (sig, (int) info->ec_bytes, NULL);
  BIGNUM *s = BN_bin2bn (sig + info->ec_bytes, (int) info->ec_bytes, NULL);
  guint8 *der = NULL;
  if (es != NULL && r != NULL && s != NULL && ECDSA_SIG_set0 (es, r, s) == 1)
    {
      r = s = NULL; /* owned by es now */
      *der_len = i2d_ECDSA_SIG (es, &der);
      if (*der_len <= 0)
        der = NULL;
    }
  BN_free (r);
  BN_free (s);
  ECDSA_SIG_free (es);
  return der;
}

gboolean
jwt_verify_signature (const JwtSecret *secret, const char *data, gsize len, const guint8 *sig,
                      gsize sig_len)
{
  if (secret == NULL || !secret->usable || secret->alg < 0 || secret->alg >= JWT_N_ALGS)
    return FALSE;
  const JwtAlgInfo *info = &alg_info[secret->alg];
  if (info->family == JWT_FAMILY_HMAC)
    return verify_hmac (secret, info, data, len, sig, sig_len);
  if (secret->pkey == NULL)
    return FALSE;

  guint8 *der = NULL;
  if (info->family == JWT_FAMILY_ECDSA)
    {
      int der_len = 0;
      der = ecdsa_der (info, sig, sig_len, &der_len);
      if (der == NULL)
        return FALSE;
      sig = der;
      sig_len = (gsize) der_len;
    }
  EVP_MD_CTX *ctx = EVP_MD_CTX_new ();
  EVP_PKEY_CTX *pctx = NULL;
  gboolean ok = ctx != NULL &&
                EVP_DigestVerifyInit (ctx, &pctx, info->md ? info->md () : NULL, NULL, secret->pkey) == 1;
  if (ok && info->family == JWT_FAMILY_PSS)
    ok = EVP_PKEY_CTX_set_rsa_padding (pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen (pctx, RSA_PSS_SALTLEN_DIGEST) > 0;
  if (ok)
    ok = EVP_DigestVerify (ctx, sig, sig_len, (const guint8 *) data, len) == 1;
  EVP_MD_CTX_free (ctx);
  OPENSSL_free (der);
  /* A failed verification leaves errors on the thread's queue. */
  ERR_clear_error ();
  return ok;
}

/* ---- registered claims ------------------------------------------------------------- */

static const char *const claim_names[JWT_N_CLAIMS] = { "exp", "nbf" };

const char *
jwt_claim_name (JwtClaim claim)
{
  g_return_val_if_fail (claim >= 0 && claim < JWT_N_CLAIMS, NULL);
  return claim_names[claim];
}

gboolean
jwt_claim_from_name (const char *name, JwtClaim *claim)
{
  for (int i = 0; i < JWT_N_CLAIMS; i++)
    if (g_strcmp0 (name, claim_names[i]) == 0)
      {
        *claim = (JwtClaim) i;
        return TRUE;
      }
  return FALSE;
}

/* A JSON number (integer or not); FALSE for anything else. */
static gboolean
claim_number (JsonObject *claims, const char *name, double *out)
{
  JsonNode *node = json_object_get_member (claims, name);
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  GType type = json_node_get_value_type (node);
  if (type == G_TYPE_INT64)
    *out = (double) json_node_get_int (node);
  else if (type == G_TYPE_DOUBLE)
    *out = json_node_get_double (node);
  else
    return FALSE;
  return TRUE;
}

const char *
jwt_claim_check (JsonObject *claims, JwtClaim claim, gint64 now)
{
  double value;
  if (!claim_number (claims, jwt_claim_name (claim), &value))
    return "must be a number";
  if (claim == JWT_CLAIM_EXP && value <= (double) now)
    return "token expired";
  if (claim == JWT_CLAIM_NBF && value > (double) now)
    return "token not valid yet";
  return NULL;
}

gboolean
jwt_claim_exceeds_maximum (JsonObject *claims, double maximum, gint64 now)
{
  double exp;
  if (!claim_number (claims, "exp", &exp))
    return TRUE;
  return exp - (double) now > maximum;
}

/* ---- finding the token --------------------------------------------------------------- */

/* PCRE's \s */
static gboolean
is_blank (char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

const char *
jwt_bearer_token (const char *value, gsize *len)
{
  for (const char *p = value; (p = strstr (p, "earer")) != NULL; p++)
    {
      if (p == value || (p[-1] != 'B' && p[-1] != 'b') || !is_blank (p[5]))
        continue;
      const char *token = p + 5;
      while (is_blank (*token))
        token++;
      if (*token == '\0')
        continue;
      *len = strlen (token);
      return token;
    }
  return NULL;
}

const char *
jwt_cookie_value (const char *cookie, const char *name, gsize *len)
{
  gsize name_len = strlen (name);
  const char *p = cookie;
  while (*p != '\0')
    {
      while (*p == ' ' || *p == '\t' || *p == ';')
        p++;
      const char *end = strchr (p, ';');
      if (end == NULL)
        end = p + strlen (p);
      const char *eq = memchr (p, '=', (gsize) (end - p));
      if (eq != NULL && (gsize) (eq - p) == name_len && g_ascii_strncasecmp (p, name, name_len) == 0)
        {
          const char *value_end = end;
          while (value_end > eq + 1 && (value_end[-1] == ' ' || value_end[-1] == '\t'))
            value_end--;
          *len = (gsize) (value_end - eq - 1);
          return eq + 1;
        }
      p = end;
    }
  return NULL;
}

void
jwt_token_set_add (JwtTokenSet *set, const char *token, gsize len)
{
  if (token == NULL || len == 0)
    return;
  if (set->token == NULL)
    {
      set->token = token;
      set->len = len;
    }
  else if (len != set->len || memcmp (token, set->token, len) != 0)
    set->several = TRUE;
}
