/* key-auth-logic.h: where key-auth looks for the key, without a request.
 *
 * The module reads the request through a KeyAuthSource, so the same search
 * runs on a real request (key-auth.c) and on plain arrays in the unit test.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  /* The first value named @name (a header field, any case; a query
   * argument, percent-decoded) and how many carry that name; NULL and
   * *count 0 when none. */
  const char *(*header) (gpointer data, const char *name, guint *count);
  const char *(*query_arg) (gpointer data, const char *name, guint *count);
  gpointer data;
} KeyAuthSource;

typedef enum {
  KEY_AUTH_KEY_MISSING = 0,
  KEY_AUTH_KEY_FOUND,     /* *key is set; it may be "" (Kong then says no key was found) */
  KEY_AUTH_KEY_DUPLICATE, /* the first name present is given twice: Kong refuses to pick */
} KeyAuthKeyStatus;

/* Looks for the key under each of @names in turn, in the headers (when
 * @in_header) and then in the query (when @in_query); the first name
 * present decides. *name_index is the position of that name. */
KeyAuthKeyStatus key_auth_find_key (const char *const *names, gboolean in_header, gboolean in_query,
                                    const KeyAuthSource *source, const char **key, guint *name_index);

/* How many arguments of the raw query string @query (no "?") are named
 * @name, comparing the percent-decoded names. */
guint key_auth_query_count (const char *query, const char *name);

/* Whether @name may be a header field name (an RFC 9110 token), which a
 * key name must be. */
gboolean key_auth_key_name_valid (const char *name);

G_END_DECLS
