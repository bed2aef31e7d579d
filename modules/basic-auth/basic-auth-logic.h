/* basic-auth-logic.h: reading "Authorization: Basic ..." and comparing
 * passwords, without a request. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  const char *username; /* never empty, no ':' */
  const char *password; /* may be empty, may hold ':' */
  gsize password_len;
} BasicAuthPair;

/* Parses an Authorization (or Proxy-Authorization) value: the scheme
 * "Basic" (any case), whitespace, then base64 of "username:password".
 * The decoded strings are written to @buf, which needs strlen (@value) + 1
 * bytes, and @pair points into it. FALSE when the value is not that: another
 * scheme, bad base64, no ':', an empty username, a NUL byte. */
gboolean basic_auth_parse (const char *value, char *buf, gsize buf_size, BasicAuthPair *pair);

/* Strict base64 (RFC 4648 alphabet; the "=" padding may be left out, never
 * misplaced). Writes at most @len bytes to @out. FALSE on anything else. */
gboolean basic_auth_base64_decode (const char *in, gsize len, guchar *out, gsize *out_len);

/* Whether the two passwords are equal, in a time that depends on the given
 * one's length only (which its sender knows), not on where they differ. */
gboolean basic_auth_password_equal (const char *expected, gsize expected_len, const char *given,
                                    gsize given_len);

G_END_DECLS
