/* jwt-logic.h: the jwt module's logic, without the gateway: base64url,
 * splitting and decoding a token, signature verification (HMAC and the
 * public-key algorithms through OpenSSL), the registered claims, consumers'
 * secrets, and finding a token in header and cookie values.
 *
 * Unit-tested on its own (test-jwt.c); jwt.c ties it to the PDK. Every
 * function is internal to the module's shared object.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include <openssl/evp.h>

G_BEGIN_DECLS

/* A token longer than this is refused before any decoding: tokens are
 * a few hundred bytes, and this bounds the work one request can ask for. */
#define JWT_MAX_TOKEN_LEN 16384

/* The signing algorithms of RFC 7518 that Kong accepts (its "alg" names). */
typedef enum {
  JWT_ALG_HS256 = 0,
  JWT_ALG_HS384,
  JWT_ALG_HS512,
  JWT_ALG_RS256,
  JWT_ALG_RS384,
  JWT_ALG_RS512,
  JWT_ALG_ES256,
  JWT_ALG_ES384,
  JWT_ALG_ES512,
  JWT_ALG_PS256,
  JWT_ALG_PS384,
  JWT_ALG_PS512,
  JWT_ALG_EDDSA,
  JWT_N_ALGS,
  JWT_ALG_INVALID = -1,
} JwtAlg;

/* The algorithm named @name (case-sensitive, as in a token's header), or
 * JWT_ALG_INVALID. */
G_GNUC_INTERNAL JwtAlg jwt_alg_from_name (const char *name);
G_GNUC_INTERNAL const char *jwt_alg_name (JwtAlg alg);
/* HS256/384/512: a shared secret; the others: a public key. */
G_GNUC_INTERNAL gboolean jwt_alg_is_hmac (JwtAlg alg);

/* Decodes base64 into @out (at most @out_size bytes). @strict: base64url
 * as JWS writes it (RFC 7515 section 2): "-" and "_", no padding, no
 * stray bits after the last byte. Not strict: Kong's reading of a
 * secret, either alphabet, padding optional. Returns the length written,
 * or -1 when the input is not base64 or does not fit. */
G_GNUC_INTERNAL gssize jwt_base64_decode (const char *in, gsize len, guint8 *out, gsize out_size,
                                          gboolean strict);

/* Why a token did not decode: Kong's "Bad token; ..." reasons, in the
 * order Kong checks them. */
typedef enum {
  JWT_DECODE_OK = 0,
  JWT_DECODE_TOO_LONG,  /* over JWT_MAX_TOKEN_LEN (Portico's own) */
  JWT_DECODE_JSON,      /* not three parts, bad base64 or bad JSON in the first two */
  JWT_DECODE_ALG,       /* header not an object, or "alg" missing or unknown */
  JWT_DECODE_CLAIMS,    /* the claims are not an object */
  JWT_DECODE_SIGNATURE, /* the third part is not base64url */
} JwtDecodeError;

/* Kong's message for @error: "Bad token; invalid JSON", ... */
G_GNUC_INTERNAL const char *jwt_decode_error_message (JwtDecodeError error);

/* A decoded token. The signing input points into the token given to
 * jwt_token_decode(), which must outlive this. */
typedef struct {
  const char *signing_input; /* "HEADER.CLAIMS", base64url as sent */
  gsize signing_input_len;
  JsonNode *header_root;
  JsonNode *claims_root;
  JsonObject *header;
  JsonObject *claims;
  JwtAlg alg;
  guint8 *buffer; /* what the three parts decode to */
  const guint8 *signature;
  gsize signature_len;
} JwtToken;

/* Splits @token (@len bytes) in three at its dots and decodes the parts.
 * @parser: a parser to reuse (NULL: a new one). On failure @t is left
 * cleared. Call jwt_token_clear() either way. */
G_GNUC_INTERNAL JwtDecodeError jwt_token_decode (JwtToken *t, const char *token, gsize len,
                                                 JsonParser *parser);
G_GNUC_INTERNAL void jwt_token_clear (JwtToken *t);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (JwtToken, jwt_token_clear)

/* What a token says in its key claim. */
typedef enum {
  JWT_KEY_FOUND = 0,
  JWT_KEY_MISSING,    /* neither the claims nor the header have it (or it is false) */
  JWT_KEY_EMPTY,      /* "" */
  JWT_KEY_NOT_STRING, /* a number, an object...: names no secret */
} JwtKeyLookup;

/* The value of claim @name, from the claims or else the header (Kong's
 * order). *value is set when JWT_KEY_FOUND. */
G_GNUC_INTERNAL JwtKeyLookup jwt_token_find_key (const JwtToken *t, const char *name, const char **value);

/* A consumer's entry of "jwt_secrets", ready to verify with. */
typedef struct {
  char *key;     /* the key claim's value that selects it */
  JwtAlg alg;
  /* FALSE when secret_is_base64 and the secret (or key) is not base64:
   * Kong then answers "Invalid key/secret". */
  gboolean usable;
  guint8 *secret; /* HMAC algorithms */
  gsize secret_len;
  EVP_PKEY *pkey; /* the others, parsed once */
  gconstpointer consumer; /* whose it is: opaque here, set by the caller */
} JwtSecret;

/* Builds a secret from one "jwt_secrets" entry ({key, algorithm, secret,
 * rsa_public_key}). Refuses (NULL, @error naming the field) an entry
 * without a key, an unknown algorithm, an HMAC algorithm without a secret,
 * and a public key that is missing, does not parse as PEM, or does not
 * fit the algorithm (RSA for RS and PS, the curve for ES, Ed25519 or
 * Ed448 for EdDSA). */
G_GNUC_INTERNAL JwtSecret *jwt_secret_new (JsonObject *entry, gboolean secret_is_base64, GError **error);
G_GNUC_INTERNAL void jwt_secret_free (JwtSecret *secret);

/* Parses a PEM public key (SubjectPublicKeyInfo, or PKCS#1 "RSA PUBLIC
 * KEY"); NULL with @error when it does not. */
G_GNUC_INTERNAL EVP_PKEY *jwt_public_key_from_pem (const char *pem, gsize len, GError **error);

/* Whether @sig is @secret's signature of @data under @secret->alg.
 * Constant-time for HMAC. FALSE for an unusable secret. */
G_GNUC_INTERNAL gboolean jwt_verify_signature (const JwtSecret *secret, const char *data, gsize len,
                                               const guint8 *sig, gsize sig_len);

/* The registered claims Kong can check. */
typedef enum {
  JWT_CLAIM_EXP = 0,
  JWT_CLAIM_NBF,
  JWT_N_CLAIMS,
} JwtClaim;

G_GNUC_INTERNAL const char *jwt_claim_name (JwtClaim claim);
/* "exp" or "nbf" to the claim; FALSE for anything else. */
G_GNUC_INTERNAL gboolean jwt_claim_from_name (const char *name, JwtClaim *claim);

/* NULL when @claim holds at @now (seconds since the epoch), else Kong's
 * reason: "must be a number", "token expired", "token not valid yet". */
G_GNUC_INTERNAL const char *jwt_claim_check (JsonObject *claims, JwtClaim claim, gint64 now);

/* Kong's maximum_expiration: TRUE when "exp" is missing, not a number, or
 * more than @maximum seconds after @now. */
G_GNUC_INTERNAL gboolean jwt_claim_exceeds_maximum (JsonObject *claims, double maximum, gint64 now);

/* Finding the token. */

/* In a header value, Kong's "\s*[Bb]earer\s+(.+)" (unanchored): what
 * follows the first "Bearer" or "bearer" and the blanks after it; NULL
 * when there is none. */
G_GNUC_INTERNAL const char *jwt_bearer_token (const char *value, gsize *len);

/* The value of cookie @name (ASCII case-insensitive, as nginx's
 * $cookie_NAME) in a Cookie field value "a=1; b=2"; NULL when absent. */
G_GNUC_INTERNAL const char *jwt_cookie_value (const char *cookie, const char *name, gsize *len);

/* The distinct tokens a request carries: Kong refuses several. */
typedef struct {
  const char *token; /* the first one, not copied */
  gsize len;
  gboolean several;
} JwtTokenSet;

/* Adds a candidate; empty ones are ignored, repeats of the first too. */
G_GNUC_INTERNAL void jwt_token_set_add (JwtTokenSet *set, const char *token, gsize len);

G_END_DECLS
