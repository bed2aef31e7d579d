/* jwt-test-tokens.h: JSON Web Tokens made by the jwt module's tests, signed
 * with OpenSSL and keys generated at test time (nothing secret is kept in
 * the tree). Shared by test-jwt.c and test-jwt-gateway.c. */
#pragma once

#include <glib.h>
#include <openssl/evp.h>

G_BEGIN_DECLS

/* base64url without padding, as JWS writes it. */
char *jwt_test_base64url (const void *data, gsize len);

/* A fresh key: "RSA" (2048 bits), "P-256", "P-384", "P-521" or "ED25519". */
EVP_PKEY *jwt_test_keygen (const char *type);

/* The public half of @pkey as PEM (SubjectPublicKeyInfo). */
char *jwt_test_public_pem (EVP_PKEY *pkey);

/* HEADER.CLAIMS.SIGNATURE. The header is {"alg":ALG,"typ":"JWT"} unless
 * @header_json is given. HS algorithms sign with @secret, the others with
 * @pkey (ES as R || S, PS with a digest-long salt). */
char *jwt_test_token (const char *alg, const char *header_json, const char *claims_json,
                      const char *secret, EVP_PKEY *pkey);

G_END_DECLS
