/* test-jwt.c: the jwt module's logic without the gateway: base64url,
 * splitting and decoding tokens (and every way a token can be malformed),
 * HMAC and public-key signatures, consumers' secrets, the registered
 * claims, and finding a token in header and cookie values. Tokens and keys
 * are made here, at test time. */
#include <string.h>

#include <openssl/encoder.h>

#include "jwt-logic.h"
#include "jwt-test-tokens.h"

/* "HEADER.CLAIMS.SIG" from raw JSON texts and a raw third part. */
static char *
raw_token (const char *header, const char *claims, const char *sig_part)
{
  g_autofree char *h = jwt_test_base64url (header, strlen (header));
  g_autofree char *c = jwt_test_base64url (claims, strlen (claims));
  return g_strconcat (h, ".", c, ".", sig_part, NULL);
}

static JwtDecodeError
decode (const char *token)
{
  g_auto (JwtToken) t = { NULL };
  return jwt_token_decode (&t, token, strlen (token), NULL);
}

static JwtSecret *
secret_from_json (const char *json, gboolean secret_is_base64, GError **error)
{
  g_autoptr (JsonNode) node = json_from_string (json, NULL);
  g_assert_nonnull (node);
  return jwt_secret_new (json_node_get_object (node), secret_is_base64, error);
}

static JwtSecret *
secret_for_key (const char *alg, EVP_PKEY *pkey)
{
  g_autofree char *pem = jwt_test_public_pem (pkey);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "key");
  json_builder_add_string_value (b, "issuer");
  json_builder_set_member_name (b, "algorithm");
  json_builder_add_string_value (b, alg);
  json_builder_set_member_name (b, "rsa_public_key");
  json_builder_add_string_value (b, pem);
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autoptr (GError) error = NULL;
  JwtSecret *secret = jwt_secret_new (json_node_get_object (root), FALSE, &error);
  g_assert_no_error (error);
  g_assert_nonnull (secret);
  return secret;
}

/* Decodes @token and checks its signature with @secret. */
static gboolean
token_verifies (const char *token, const JwtSecret *secret)
{
  g_auto (JwtToken) t = { NULL };
  if (jwt_token_decode (&t, token, strlen (token), NULL) != JWT_DECODE_OK)
    return FALSE;
  return t.alg == secret->alg &&
         jwt_verify_signature (secret, t.signing_input, t.signing_input_len, t.signature, t.signature_len);
}

/* @token with the character at @index replaced by another of the alphabet. */
static char *
tampered (const char *token, gsize index)
{
  char *copy = g_strdup (token);
  copy[index] = copy[index] == 'A' ? 'B' : 'A';
  return copy;
}

/* ---- base64 ----------------------------------------------------------------- */

static void
test_base64url_strict (void)
{
  g_test_summary ("Base64url as JWS writes it: RFC 4648's vectors decode; padding, the standard "
                  "alphabet's + and /, a dangling sixth of a byte, bits left over after the last "
                  "byte and anything outside the alphabet are refused; the output never passes "
                  "its bound.");
  static const struct {
    const char *in, *out;
  } good[] = {
    { "", "" }, { "Zg", "f" }, { "Zm8", "fo" }, { "Zm9v", "foo" }, { "Zm9vYg", "foob" },
    { "Zm9vYmE", "fooba" }, { "Zm9vYmFy", "foobar" }, { "-_8", "\xfb\xff" },
  };
  guint8 out[16];
  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      gssize n = jwt_base64_decode (good[i].in, strlen (good[i].in), out, sizeof out, TRUE);
      g_assert_cmpint (n, ==, (gssize) strlen (good[i].out));
      g_assert_cmpmem (out, (gsize) n, good[i].out, strlen (good[i].out));
    }
  static const char *const bad[] = { "Zg==", "Zm9v+A", "Zm9v/A", "Z", "Zm9vY", "Zh", "Zm9", "Zm 9v",
                                     "Zm9v\n", "Zm.9", "Zm9v=", "\xc3\xa9" };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    g_assert_cmpint (jwt_base64_decode (bad[i], strlen (bad[i]), out, sizeof out, TRUE), ==, -1);
  /* A NUL inside the length is a character like any other. */
  g_assert_cmpint (jwt_base64_decode ("Zm\0v", 4, out, sizeof out, TRUE), ==, -1);
  /* Bounded: six bytes do not fit in five. */
  g_assert_cmpint (jwt_base64_decode ("Zm9vYmFy", 8, out, 5, TRUE), ==, -1);
  g_assert_cmpint (jwt_base64_decode ("Zm9vYmFy", 8, out, 6, TRUE), ==, 6);
}

static void
test_base64_lenient (void)
{
  g_test_summary ("secret_is_base64 reads secrets as Kong does: either alphabet, padding optional, "
                  "but still nothing outside the alphabets and no more than two pads.");
  static const struct {
    const char *in, *out;
  } good[] = { { "Zg==", "f" }, { "Zg", "f" }, { "Zm8=", "fo" }, { "+/8", "\xfb\xff" }, { "-_8", "\xfb\xff" },
               { "Zh", "f" }, { "c2VjcmV0", "secret" } };
  guint8 out[16];
  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      gssize n = jwt_base64_decode (good[i].in, strlen (good[i].in), out, sizeof out, FALSE);
      g_assert_cmpint (n, ==, (gssize) strlen (good[i].out));
      g_assert_cmpmem (out, (gsize) n, good[i].out, strlen (good[i].out));
    }
  static const char *const bad[] = { "Z===", "Zg=g", "Z", "!!!!", "Zm9v Zg" };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    g_assert_cmpint (jwt_base64_decode (bad[i], strlen (bad[i]), out, sizeof out, FALSE), ==, -1);
}

/* ---- decoding ---------------------------------------------------------------------- */

static void
test_decode_good (void)
{
  g_test_summary ("A well-formed token decodes into its header and claims objects, its algorithm, "
                  "the signing input (the first two parts as sent) and the signature's bytes.");
  g_autofree char *token = jwt_test_token ("HS256", NULL, "{\"iss\":\"alice\",\"n\":1}", "k", NULL);
  g_auto (JwtToken) t = { NULL };
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_assert_cmpint (jwt_token_decode (&t, token, strlen (token), parser), ==, JWT_DECODE_OK);
  g_assert_cmpint (t.alg, ==, JWT_ALG_HS256);
  g_assert_cmpstr (json_object_get_string_member (t.header, "typ"), ==, "JWT");
  g_assert_cmpstr (json_object_get_string_member (t.claims, "iss"), ==, "alice");
  const char *last_dot = strrchr (token, '.');
  g_assert_cmpmem (t.signing_input, t.signing_input_len, token, (gsize) (last_dot - token));
  g_assert_cmpuint (t.signature_len, ==, 32);
  g_autofree char *again = jwt_test_base64url (t.signature, t.signature_len);
  g_assert_cmpstr (again, ==, last_dot + 1);

  /* The parser is reused: a second token through it keeps both apart. */
  g_autofree char *other = jwt_test_token ("HS512", NULL, "{\"iss\":\"bob\"}", "k", NULL);
  g_auto (JwtToken) t2 = { NULL };
  g_assert_cmpint (jwt_token_decode (&t2, other, strlen (other), parser), ==, JWT_DECODE_OK);
  g_assert_cmpstr (json_object_get_string_member (t2.claims, "iss"), ==, "bob");
  g_assert_cmpstr (json_object_get_string_member (t.claims, "iss"), ==, "alice");
  g_assert_cmpint (t2.alg, ==, JWT_ALG_HS512);
}

static void
test_decode_malformed (void)
{
  g_test_summary ("Every malformed shape gets Kong's reason, in Kong's order: fewer than three "
                  "parts, bad base64 or bad JSON in the first two is 'invalid JSON'; a header that "
                  "is not an object or names no known alg is 'invalid alg'; claims that are not an "
                  "object 'invalid claims'; a third part that is not base64url (a fourth part "
                  "included) 'invalid signature'.");
  static const char *const hs = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
  static const char *const claims = "{\"iss\":\"a\"}";
  static const struct {
    const char *header, *claims, *sig;
    JwtDecodeError expect;
  } cases[] = {
    { "{", claims, "AA", JWT_DECODE_JSON },
    { hs, "{\"iss\":", "AA", JWT_DECODE_JSON },
    { "", claims, "AA", JWT_DECODE_JSON },
    { hs, "", "AA", JWT_DECODE_JSON },
    { "[1]", claims, "AA", JWT_DECODE_ALG },
    { "\"HS256\"", claims, "AA", JWT_DECODE_ALG },
    { "123", claims, "AA", JWT_DECODE_ALG },
    { "{\"typ\":\"JWT\"}", claims, "AA", JWT_DECODE_ALG },
    { "{\"alg\":\"none\"}", claims, "", JWT_DECODE_ALG },
    { "{\"alg\":\"hs256\"}", claims, "AA", JWT_DECODE_ALG },
    { "{\"alg\":256}", claims, "AA", JWT_DECODE_ALG },
    { "{\"alg\":null}", claims, "AA", JWT_DECODE_ALG },
    { hs, "[1,2]", "AA", JWT_DECODE_CLAIMS },
    { hs, "\"iss\"", "AA", JWT_DECODE_CLAIMS },
    { hs, "null", "AA", JWT_DECODE_CLAIMS },
    { hs, claims, "AA.AA", JWT_DECODE_SIGNATURE },
    { hs, claims, "AA.", JWT_DECODE_SIGNATURE },
    { hs, claims, "AA==", JWT_DECODE_SIGNATURE },
    { hs, claims, "A+/A", JWT_DECODE_SIGNATURE },
    { hs, claims, "A", JWT_DECODE_SIGNATURE },
    { hs, claims, "", JWT_DECODE_OK }, /* empty: decodes, then cannot verify */
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *token = raw_token (cases[i].header, cases[i].claims, cases[i].sig);
      g_test_message ("case %u: %s", i, token);
      g_assert_cmpint (decode (token), ==, cases[i].expect);
    }

  /* Not three parts, or parts that are not base64url at all. */
  static const char *const shapes[] = { "", ".", "..", "abc", "a.b", "eyJhbGciOiJIUzI1NiJ9",
                                        "!!.eyJpc3MiOiJhIn0.AA", "eyJhbGciOiJIUzI1NiJ9.!!.AA",
                                        "eyJhbGciOiJIUzI1NiJ9=.eyJpc3MiOiJhIn0.AA" };
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    g_assert_cmpint (decode (shapes[i]), ==, JWT_DECODE_JSON);

  /* A NUL in the decoded JSON would hide what follows it from json-glib. */
  static const char with_nul[] = "{\"alg\":\"HS256\"}\0{\"x\":1}";
  g_autofree char *h = jwt_test_base64url (with_nul, sizeof with_nul - 1);
  g_autofree char *c = jwt_test_base64url (claims, strlen (claims));
  g_autofree char *nul_token = g_strconcat (h, ".", c, ".AA", NULL);
  g_assert_cmpint (decode (nul_token), ==, JWT_DECODE_JSON);

  g_assert_cmpstr (jwt_decode_error_message (JWT_DECODE_JSON), ==, "Bad token; invalid JSON");
  g_assert_cmpstr (jwt_decode_error_message (JWT_DECODE_ALG), ==, "Bad token; invalid alg");
  g_assert_cmpstr (jwt_decode_error_message (JWT_DECODE_CLAIMS), ==, "Bad token; invalid claims");
  g_assert_cmpstr (jwt_decode_error_message (JWT_DECODE_SIGNATURE), ==, "Bad token; invalid signature");
}

static void
test_decode_truncated (void)
{
  g_test_summary ("Every prefix of a good token, and the token with any one character changed, is "
                  "refused: it fails to decode or its signature does not verify.");
  g_autoptr (JsonNode) node = json_from_string ("{\"key\":\"issuer\",\"secret\":\"s3cr3t\"}", NULL);
  JwtSecret *secret = jwt_secret_new (json_node_get_object (node), FALSE, NULL);
  g_assert_nonnull (secret);
  g_autofree char *token = jwt_test_token ("HS256", NULL, "{\"iss\":\"issuer\",\"exp\":99}", "s3cr3t", NULL);
  g_assert_true (token_verifies (token, secret));
  gsize len = strlen (token);
  for (gsize cut = 0; cut < len; cut++)
    {
      g_autofree char *prefix = g_strndup (token, cut);
      g_assert_false (token_verifies (prefix, secret));
    }
  for (gsize i = 0; i < len; i++)
    {
      if (token[i] == '.')
        continue;
      g_autofree char *changed = tampered (token, i);
      g_assert_false (token_verifies (changed, secret));
    }
  jwt_secret_free (secret);
}

static void
test_decode_huge (void)
{
  g_test_summary ("A token up to the bound decodes (a big claim is fine); one byte over is refused "
                  "before anything is decoded; a megabyte of garbage too.");
  gsize claim_len = JWT_MAX_TOKEN_LEN * 3 / 4 - 200;
  g_autofree char *big = g_strnfill (claim_len, 'x');
  g_autofree char *claims = g_strdup_printf ("{\"iss\":\"a\",\"pad\":\"%s\"}", big);
  g_autofree char *token = jwt_test_token ("HS256", NULL, claims, "k", NULL);
  g_assert_cmpuint (strlen (token), <=, JWT_MAX_TOKEN_LEN);
  g_assert_cmpint (decode (token), ==, JWT_DECODE_OK);

  g_autofree char *over = g_strnfill (JWT_MAX_TOKEN_LEN + 1, 'A');
  over[10] = over[20] = '.';
  g_assert_cmpint (decode (over), ==, JWT_DECODE_TOO_LONG);
  g_autofree char *meg = g_strnfill (1 << 20, '.');
  g_assert_cmpint (decode (meg), ==, JWT_DECODE_TOO_LONG);
  g_assert_cmpstr (jwt_decode_error_message (JWT_DECODE_TOO_LONG), ==, "Bad token; too long");

  /* Deeply nested JSON within the bound is bad claims, not a crash. */
  g_autoptr (GString) nested = g_string_new ("");
  for (int i = 0; i < 5000; i++)
    g_string_append_c (nested, '[');
  for (int i = 0; i < 5000; i++)
    g_string_append_c (nested, ']');
  g_autofree char *deep = raw_token ("{\"alg\":\"HS256\"}", nested->str, "AA");
  g_assert_cmpuint (strlen (deep), <=, JWT_MAX_TOKEN_LEN);
  JwtDecodeError e = decode (deep);
  g_assert_true (e == JWT_DECODE_CLAIMS || e == JWT_DECODE_JSON);
}

/* ---- signatures ------------------------------------------------------------------------ */

static void
test_hmac (void)
{
  g_test_summary ("HS256, HS384 and HS512 verify with the consumer's secret and not with another "
                  "secret, another algorithm's length, or changed claims.");
  static const char *const algs[] = { "HS256", "HS384", "HS512" };
  for (guint i = 0; i < G_N_ELEMENTS (algs); i++)
    {
      g_autofree char *json = g_strdup_printf ("{\"key\":\"k1\",\"algorithm\":\"%s\",\"secret\":\"right\"}", algs[i]);
      g_autoptr (GError) error = NULL;
      JwtSecret *secret = secret_from_json (json, FALSE, &error);
      g_assert_no_error (error);
      g_assert_cmpint (secret->alg, ==, jwt_alg_from_name (algs[i]));
      g_assert_true (jwt_alg_is_hmac (secret->alg));

      g_autofree char *good = jwt_test_token (algs[i], NULL, "{\"iss\":\"k1\"}", "right", NULL);
      g_autofree char *wrong = jwt_test_token (algs[i], NULL, "{\"iss\":\"k1\"}", "wrong", NULL);
      g_assert_true (token_verifies (good, secret));
      g_assert_false (token_verifies (wrong, secret));

      /* The claims of one token under the signature of another. */
      g_autofree char *other = jwt_test_token (algs[i], NULL, "{\"iss\":\"k1\",\"admin\":true}", "wrong", NULL);
      g_auto (GStrv) a = g_strsplit (good, ".", 3);
      g_auto (GStrv) b = g_strsplit (other, ".", 3);
      g_autofree char *spliced = g_strjoin (".", a[0], b[1], a[2], NULL);
      g_assert_false (token_verifies (spliced, secret));
      jwt_secret_free (secret);
    }

  /* An HS512 signature cut to HS256's length does not pass as HS256. */
  g_autoptr (GError) error = NULL;
  JwtSecret *secret = secret_from_json ("{\"key\":\"k1\",\"secret\":\"right\"}", FALSE, &error);
  g_assert_cmpint (secret->alg, ==, JWT_ALG_HS256); /* the default */
  g_autofree char *long_sig = jwt_test_token ("HS512", "{\"alg\":\"HS256\"}", "{\"iss\":\"k1\"}", "right", NULL);
  g_assert_false (token_verifies (long_sig, secret));
  jwt_secret_free (secret);
}

static void
test_public_keys (void)
{
  g_test_summary ("RS256/384/512 and PS256/384/512 with an RSA key, ES256/384/512 with their curves "
                  "and EdDSA with Ed25519: each verifies with the consumer's public key (PEM, "
                  "parsed once) and fails with another key pair's, or once a character changed.");
  EVP_PKEY *rsa = jwt_test_keygen ("RSA");
  EVP_PKEY *rsa2 = jwt_test_keygen ("RSA");
  static const struct {
    const char *alg, *key;
  } cases[] = {
    { "RS256", "RSA" }, { "RS384", "RSA" }, { "RS512", "RSA" }, { "PS256", "RSA" },
    { "PS384", "RSA" }, { "PS512", "RSA" }, { "ES256", "P-256" }, { "ES384", "P-384" },
    { "ES512", "P-521" }, { "EdDSA", "ED25519" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      gboolean is_rsa = strcmp (cases[i].key, "RSA") == 0;
      EVP_PKEY *key = is_rsa ? EVP_PKEY_dup (rsa) : jwt_test_keygen (cases[i].key);
      EVP_PKEY *other = is_rsa ? EVP_PKEY_dup (rsa2) : jwt_test_keygen (cases[i].key);
      JwtSecret *secret = secret_for_key (cases[i].alg, key);
      g_test_message ("%s", cases[i].alg);
      g_assert_cmpint (secret->alg, ==, jwt_alg_from_name (cases[i].alg));
      g_assert_false (jwt_alg_is_hmac (secret->alg));

      g_autofree char *good = jwt_test_token (cases[i].alg, NULL, "{\"iss\":\"issuer\"}", NULL, key);
      g_autofree char *foreign = jwt_test_token (cases[i].alg, NULL, "{\"iss\":\"issuer\"}", NULL, other);
      g_assert_true (token_verifies (good, secret));
      g_assert_false (token_verifies (foreign, secret));
      const char *claims_part = strchr (good, '.') + 1;
      g_autofree char *changed = tampered (good, (gsize) (claims_part - good) + 2);
      g_assert_false (token_verifies (changed, secret));
      /* An empty signature, and one of the wrong length. */
      g_autofree char *unsigned_token = g_strndup (good, (gsize) (strrchr (good, '.') - good) + 1);
      g_assert_false (token_verifies (unsigned_token, secret));
      g_autofree char *short_sig = g_strconcat (unsigned_token, "AAAA", NULL);
      g_assert_false (token_verifies (short_sig, secret));

      jwt_secret_free (secret);
      EVP_PKEY_free (key);
      EVP_PKEY_free (other);
    }
  EVP_PKEY_free (rsa);
  EVP_PKEY_free (rsa2);
}

static void
test_pem_forms (void)
{
  g_test_summary ("A public key parses from SubjectPublicKeyInfo PEM and from PKCS#1 'RSA PUBLIC "
                  "KEY' PEM; text that is not PEM does not.");
  EVP_PKEY *rsa = jwt_test_keygen ("RSA");
  g_autofree char *spki = jwt_test_public_pem (rsa);
  g_autoptr (GError) error = NULL;
  EVP_PKEY *parsed = jwt_public_key_from_pem (spki, strlen (spki), &error);
  g_assert_no_error (error);
  g_assert_cmpint (EVP_PKEY_eq (parsed, rsa), ==, 1);
  EVP_PKEY_free (parsed);

  OSSL_ENCODER_CTX *ectx = OSSL_ENCODER_CTX_new_for_pkey (rsa, EVP_PKEY_PUBLIC_KEY, "PEM", "type-specific", NULL);
  unsigned char *pkcs1 = NULL;
  size_t pkcs1_len = 0;
  g_assert_cmpint (OSSL_ENCODER_to_data (ectx, &pkcs1, &pkcs1_len), ==, 1);
  OSSL_ENCODER_CTX_free (ectx);
  g_assert_nonnull (g_strstr_len ((char *) pkcs1, (gssize) pkcs1_len, "BEGIN RSA PUBLIC KEY"));
  parsed = jwt_public_key_from_pem ((char *) pkcs1, pkcs1_len, &error);
  g_assert_no_error (error);
  g_assert_cmpint (EVP_PKEY_eq (parsed, rsa), ==, 1);
  EVP_PKEY_free (parsed);
  OPENSSL_free (pkcs1);

  static const char *const bad[] = { "", "not a key", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n" };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_assert_null (jwt_public_key_from_pem (bad[i], strlen (bad[i]), &error));
      g_assert_nonnull (error);
      g_clear_error (&error);
    }
  EVP_PKEY_free (rsa);
}

/* ---- secrets ------------------------------------------------------------------------------ */

static void
test_secrets_refused (void)
{
  g_test_summary ("A jwt_secrets entry is refused with the field named when it has no key, an "
                  "unknown algorithm, no secret for HMAC, no or a bad public key, or a key that "
                  "cannot verify its algorithm (EC for RS256, P-384 for ES256, RSA for EdDSA).");
  EVP_PKEY *ec384 = jwt_test_keygen ("P-384");
  EVP_PKEY *rsa = jwt_test_keygen ("RSA");
  g_autofree char *ec384_pem = jwt_test_public_pem (ec384);
  g_autofree char *rsa_pem = jwt_test_public_pem (rsa);
  g_autofree char *ec384_json = g_strescape (ec384_pem, NULL);
  g_autofree char *rsa_json = g_strescape (rsa_pem, NULL);
  g_autofree char *ec_for_rs = g_strdup_printf ("{\"key\":\"a\",\"algorithm\":\"RS256\",\"rsa_public_key\":\"%s\"}", ec384_json);
  g_autofree char *p384_for_es256 = g_strdup_printf ("{\"key\":\"a\",\"algorithm\":\"ES256\",\"rsa_public_key\":\"%s\"}", ec384_json);
  g_autofree char *rsa_for_eddsa = g_strdup_printf ("{\"key\":\"a\",\"algorithm\":\"EdDSA\",\"rsa_public_key\":\"%s\"}", rsa_json);
  const struct {
    const char *json, *error_prefix;
  } cases[] = {
    { "{\"secret\":\"s\"}", "key: required" },
    { "{\"key\":\"\",\"secret\":\"s\"}", "key: required" },
    { "{\"key\":\"a\",\"algorithm\":\"HS257\",\"secret\":\"s\"}", "algorithm: unknown \"HS257\"" },
    { "{\"key\":\"a\",\"algorithm\":\"none\",\"secret\":\"s\"}", "algorithm: unknown" },
    { "{\"key\":\"a\"}", "secret: required for HS256" },
    { "{\"key\":\"a\",\"algorithm\":\"RS256\",\"secret\":\"s\"}", "rsa_public_key: required for RS256" },
    { "{\"key\":\"a\",\"algorithm\":\"RS256\",\"rsa_public_key\":\"nope\"}", "rsa_public_key: not a PEM public key" },
    { ec_for_rs, "rsa_public_key: a EC key cannot verify RS256" },
    { p384_for_es256, "rsa_public_key: a EC key cannot verify ES256" },
    { rsa_for_eddsa, "rsa_public_key: a RSA key cannot verify EdDSA" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_null (secret_from_json (cases[i].json, FALSE, &error));
      g_assert_nonnull (error);
      g_test_message ("case %u: %s", i, error->message);
      g_assert_true (g_str_has_prefix (error->message, cases[i].error_prefix));
    }
  EVP_PKEY_free (ec384);
  EVP_PKEY_free (rsa);
}

static void
test_secrets_base64 (void)
{
  g_test_summary ("secret_is_base64: the secret is decoded once, and tokens are signed with the "
                  "decoded bytes; a secret that is not base64 keeps its credential known but "
                  "unusable (Kong's 'Invalid key/secret'); a base64-written PEM key works.");
  g_autoptr (GError) error = NULL;
  JwtSecret *secret = secret_from_json ("{\"key\":\"k\",\"secret\":\"c2VjcmV0\"}", TRUE, &error);
  g_assert_no_error (error);
  g_assert_true (secret->usable);
  g_assert_cmpmem (secret->secret, secret->secret_len, "secret", 6);
  g_autofree char *token = jwt_test_token ("HS256", NULL, "{\"iss\":\"k\"}", "secret", NULL);
  g_autofree char *literal = jwt_test_token ("HS256", NULL, "{\"iss\":\"k\"}", "c2VjcmV0", NULL);
  g_assert_true (token_verifies (token, secret));
  g_assert_false (token_verifies (literal, secret));
  jwt_secret_free (secret);

  secret = secret_from_json ("{\"key\":\"k\",\"secret\":\"not base64!\"}", TRUE, &error);
  g_assert_no_error (error);
  g_assert_nonnull (secret);
  g_assert_false (secret->usable);
  g_assert_false (token_verifies (token, secret));
  jwt_secret_free (secret);

  EVP_PKEY *rsa = jwt_test_keygen ("RSA");
  g_autofree char *pem = jwt_test_public_pem (rsa);
  g_autofree char *pem64 = g_base64_encode ((const guchar *) pem, strlen (pem));
  g_autofree char *json = g_strdup_printf ("{\"key\":\"k\",\"algorithm\":\"RS256\",\"rsa_public_key\":\"%s\"}", pem64);
  secret = secret_from_json (json, TRUE, &error);
  g_assert_no_error (error);
  g_assert_true (secret->usable);
  g_autofree char *rs = jwt_test_token ("RS256", NULL, "{\"iss\":\"k\"}", NULL, rsa);
  g_assert_true (token_verifies (rs, secret));
  jwt_secret_free (secret);
  EVP_PKEY_free (rsa);
}

/* ---- claims -------------------------------------------------------------------------------- */

static JsonObject *
claims_object (JsonNode **holder, const char *json)
{
  g_clear_pointer (holder, json_node_unref);
  *holder = json_from_string (json, NULL);
  g_assert_nonnull (*holder);
  return json_node_get_object (*holder);
}

static void
test_claims (void)
{
  g_test_summary ("exp fails at and after its second ('token expired'), nbf before its second "
                  "('token not valid yet'); either must be a JSON number (an integer or not); "
                  "maximum_expiration refuses a missing exp or one too far away.");
  const gint64 now = 1700000000;
  JsonNode *holder = NULL;
  static const struct {
    const char *json;
    JwtClaim claim;
    const char *expect;
  } cases[] = {
    { "{\"exp\":1699999999}", JWT_CLAIM_EXP, "token expired" },
    { "{\"exp\":1700000000}", JWT_CLAIM_EXP, "token expired" },
    { "{\"exp\":1700000001}", JWT_CLAIM_EXP, NULL },
    { "{\"exp\":1700000000.5}", JWT_CLAIM_EXP, NULL },
    { "{\"exp\":1699999999.5}", JWT_CLAIM_EXP, "token expired" },
    { "{\"exp\":\"1800000000\"}", JWT_CLAIM_EXP, "must be a number" },
    { "{\"exp\":true}", JWT_CLAIM_EXP, "must be a number" },
    { "{\"exp\":null}", JWT_CLAIM_EXP, "must be a number" },
    { "{\"exp\":[1800000000]}", JWT_CLAIM_EXP, "must be a number" },
    { "{}", JWT_CLAIM_EXP, "must be a number" },
    { "{\"nbf\":1700000001}", JWT_CLAIM_NBF, "token not valid yet" },
    { "{\"nbf\":1700000000}", JWT_CLAIM_NBF, NULL },
    { "{\"nbf\":0}", JWT_CLAIM_NBF, NULL },
    { "{\"nbf\":\"0\"}", JWT_CLAIM_NBF, "must be a number" },
    { "{\"exp\":1}", JWT_CLAIM_NBF, "must be a number" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      JsonObject *claims = claims_object (&holder, cases[i].json);
      g_test_message ("case %u: %s", i, cases[i].json);
      g_assert_cmpstr (jwt_claim_check (claims, cases[i].claim, now), ==, cases[i].expect);
    }

  g_assert_true (jwt_claim_exceeds_maximum (claims_object (&holder, "{}"), 100, now));
  g_assert_true (jwt_claim_exceeds_maximum (claims_object (&holder, "{\"exp\":\"x\"}"), 100, now));
  g_assert_true (jwt_claim_exceeds_maximum (claims_object (&holder, "{\"exp\":1700000101}"), 100, now));
  g_assert_false (jwt_claim_exceeds_maximum (claims_object (&holder, "{\"exp\":1700000100}"), 100, now));
  g_assert_false (jwt_claim_exceeds_maximum (claims_object (&holder, "{\"exp\":1700000050}"), 100, now));
  json_node_unref (holder);

  JwtClaim claim;
  g_assert_true (jwt_claim_from_name ("nbf", &claim));
  g_assert_cmpint (claim, ==, JWT_CLAIM_NBF);
  g_assert_cmpstr (jwt_claim_name (claim), ==, "nbf");
  g_assert_false (jwt_claim_from_name ("iat", &claim));
}

static void
test_key_claim (void)
{
  g_test_summary ("The key claim is read from the claims, then from the header (a false value "
                  "counts as absent); an empty string and a value that is not a string are told "
                  "apart from a missing one.");
  static const struct {
    const char *header, *claims;
    JwtKeyLookup expect;
    const char *value;
  } cases[] = {
    { "{\"alg\":\"HS256\"}", "{\"iss\":\"alice\"}", JWT_KEY_FOUND, "alice" },
    { "{\"alg\":\"HS256\",\"iss\":\"hdr\"}", "{\"iss\":\"claims\"}", JWT_KEY_FOUND, "claims" },
    { "{\"alg\":\"HS256\",\"iss\":\"hdr\"}", "{}", JWT_KEY_FOUND, "hdr" },
    { "{\"alg\":\"HS256\",\"iss\":\"hdr\"}", "{\"iss\":false}", JWT_KEY_FOUND, "hdr" },
    { "{\"alg\":\"HS256\"}", "{}", JWT_KEY_MISSING, NULL },
    { "{\"alg\":\"HS256\"}", "{\"iss\":false}", JWT_KEY_MISSING, NULL },
    { "{\"alg\":\"HS256\"}", "{\"iss\":\"\"}", JWT_KEY_EMPTY, NULL },
    { "{\"alg\":\"HS256\"}", "{\"iss\":5}", JWT_KEY_NOT_STRING, NULL },
    { "{\"alg\":\"HS256\"}", "{\"iss\":null}", JWT_KEY_NOT_STRING, NULL },
    { "{\"alg\":\"HS256\"}", "{\"iss\":{\"a\":1}}", JWT_KEY_NOT_STRING, NULL },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *token = raw_token (cases[i].header, cases[i].claims, "AA");
      g_auto (JwtToken) t = { NULL };
      g_assert_cmpint (jwt_token_decode (&t, token, strlen (token), NULL), ==, JWT_DECODE_OK);
      const char *value = NULL;
      g_assert_cmpint (jwt_token_find_key (&t, "iss", &value), ==, cases[i].expect);
      g_assert_cmpstr (value, ==, cases[i].value);
    }
}

/* ---- finding the token ------------------------------------------------------------------------ */

/* @len bytes at @found are @expect (both NULL: nothing found). */
static void
assert_span (const char *found, gsize len, const char *expect)
{
  g_autofree char *got = found ? g_strndup (found, len) : NULL;
  g_assert_cmpstr (got, ==, expect);
}

static void
test_bearer (void)
{
  g_test_summary ("Kong's \\s*[Bb]earer\\s+(.+), unanchored: 'Bearer' or 'bearer', then blanks, then "
                  "the rest; 'BEARER', no blank, or nothing after are no token.");
  static const struct {
    const char *value, *token;
  } cases[] = {
    { "Bearer abc", "abc" },   { "bearer   abc", "abc" }, { "Bearer\tabc def", "abc def" },
    { "  Bearer x.y.z", "x.y.z" }, { "Token a, Bearer b", "b" }, { "BEARER abc", NULL },
    { "Bearerabc", NULL },     { "Bearer", NULL },        { "Bearer   ", NULL },
    { "Basic YWxhZGRpbjpvcGVu", NULL }, { "", NULL },     { "earer abc", NULL },
    { "Bearer Bearer x", "Bearer x" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      gsize len = 0;
      const char *token = jwt_bearer_token (cases[i].value, &len);
      assert_span (token, len, cases[i].token);
    }
}

static void
test_cookie (void)
{
  g_test_summary ("A cookie by name (any case, as nginx's $cookie_NAME) in a Cookie value; a name "
                  "that only ends like it, or no '=', is not it.");
  static const struct {
    const char *cookie, *name, *value;
  } cases[] = {
    { "jwt=tok", "jwt", "tok" },          { "a=1; jwt=tok; b=2", "jwt", "tok" },
    { "a=1;jwt=tok", "jwt", "tok" },      { "JWT=tok", "jwt", "tok" },
    { "xjwt=1; jwtx=2", "jwt", NULL },    { "jwt", "jwt", NULL },
    { "jwt=", "jwt", "" },                { "jwt=tok  ; b=1", "jwt", "tok" },
    { "a=jwt=1", "jwt", NULL },           { "", "jwt", NULL },
    { "jwt=a=b", "jwt", "a=b" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      gsize len = 0;
      const char *value = jwt_cookie_value (cases[i].cookie, cases[i].name, &len);
      assert_span (value, len, cases[i].value);
    }
}

static void
test_token_set (void)
{
  g_test_summary ("Candidates: empty ones do not count, the same token twice is one, two different "
                  "ones are several.");
  JwtTokenSet set = { NULL };
  jwt_token_set_add (&set, "", 0);
  g_assert_null (set.token);
  jwt_token_set_add (&set, "abc", 3);
  jwt_token_set_add (&set, "abcdef", 3);
  g_assert_cmpmem (set.token, set.len, "abc", 3);
  g_assert_false (set.several);
  jwt_token_set_add (&set, "abd", 3);
  g_assert_true (set.several);
  g_assert_cmpmem (set.token, set.len, "abc", 3);
}

static void
test_alg_names (void)
{
  g_test_summary ("Algorithm names are Kong's, exactly (case matters).");
  static const char *const names[] = { "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256",
                                       "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA" };
  g_assert_cmpuint (G_N_ELEMENTS (names), ==, JWT_N_ALGS);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    g_assert_cmpstr (jwt_alg_name (jwt_alg_from_name (names[i])), ==, names[i]);
  g_assert_cmpint (jwt_alg_from_name ("EDDSA"), ==, JWT_ALG_INVALID);
  g_assert_cmpint (jwt_alg_from_name ("none"), ==, JWT_ALG_INVALID);
  g_assert_cmpint (jwt_alg_from_name (NULL), ==, JWT_ALG_INVALID);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/modules/jwt/base64url/strict", test_base64url_strict);
  g_test_add_func ("/modules/jwt/base64url/lenient", test_base64_lenient);
  g_test_add_func ("/modules/jwt/decode/good", test_decode_good);
  g_test_add_func ("/modules/jwt/decode/malformed", test_decode_malformed);
  g_test_add_func ("/modules/jwt/decode/truncated", test_decode_truncated);
  g_test_add_func ("/modules/jwt/decode/huge", test_decode_huge);
  g_test_add_func ("/modules/jwt/verify/hmac", test_hmac);
  g_test_add_func ("/modules/jwt/verify/public-keys", test_public_keys);
  g_test_add_func ("/modules/jwt/verify/pem-forms", test_pem_forms);
  g_test_add_func ("/modules/jwt/secrets/refused", test_secrets_refused);
  g_test_add_func ("/modules/jwt/secrets/base64", test_secrets_base64);
  g_test_add_func ("/modules/jwt/claims", test_claims);
  g_test_add_func ("/modules/jwt/key-claim", test_key_claim);
  g_test_add_func ("/modules/jwt/find/bearer", test_bearer);
  g_test_add_func ("/modules/jwt/find/cookie", test_cookie);
  g_test_add_func ("/modules/jwt/find/token-set", test_token_set);
  g_test_add_func ("/modules/jwt/alg-names", test_alg_names);
  return g_test_run ();
}
