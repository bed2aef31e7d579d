/* cors-logic.c: see cors-logic.h. */
#include "cors-logic.h"

#include <gio/gio.h>
#include <string.h>

typedef struct {
  char *origin;   /* plain entries: normalized */
  GRegex *regex;  /* other entries */
  gboolean by_host;
} CorsEntry;

struct _CorsOrigins {
  CorsAllowKind kind;
  char *single;
  GArray *entries; /* CorsEntry */
};

gboolean
cors_origin_is_plain (const char *entry)
{
  for (const char *p = entry; *p; p++)
    if (!g_ascii_isalnum (*p) && strchr (".:/-", *p) == NULL)
      return FALSE;
  return *entry != '\0';
}

gboolean
cors_is_preflight (const char *method, const char *origin, const char *request_method)
{
  return origin != NULL && request_method != NULL && g_strcmp0 (method, "OPTIONS") == 0;
}

static void
cors_entry_clear (gpointer data)
{
  CorsEntry *e = data;
  g_free (e->origin);
  if (e->regex)
    g_regex_unref (e->regex);
}

void
cors_origins_free (CorsOrigins *origins)
{
  if (origins == NULL)
    return;
  g_free (origins->single);
  if (origins->entries)
    g_array_free (origins->entries, TRUE);
  g_free (origins);
}

/* Kong anchors entries at both ends; a "^" or "$" written by the user (as
 * Kong 0.x required) is kept meaningful. */
static GRegex *
cors_compile (const char *entry, guint index, GError **error)
{
  const char *body = entry[0] == '^' ? entry + 1 : entry;
  gsize len = strlen (body);
  gboolean has_end = len > 0 && body[len - 1] == '$';
  g_autofree char *pattern = g_strdup_printf ("(?:%.*s)\\z", (int) (has_end ? len - 1 : len), body);
  g_autoptr (GError) local = NULL;
  GRegex *regex = g_regex_new (pattern, G_REGEX_ANCHORED | G_REGEX_OPTIMIZE, 0, &local);
  if (regex == NULL)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "origins[%u]: '%s' is not a valid regex: %s",
                 index, entry, local->message);
  return regex;
}

CorsOrigins *
cors_origins_new (const char *const *entries, guint n, GError **error)
{
  g_autoptr (CorsOrigins) origins = g_new0 (CorsOrigins, 1);

  origins->kind = CORS_ALLOW_LIST;
  for (guint i = 0; i < n; i++)
    if (strcmp (entries[i], "*") == 0)
      origins->kind = CORS_ALLOW_ALL;
  if (n == 0)
    origins->kind = CORS_ALLOW_ALL;
  else if (n == 1 && origins->kind != CORS_ALLOW_ALL && cors_origin_is_plain (entries[0]))
    {
      origins->kind = CORS_ALLOW_SINGLE;
      origins->single = g_strdup (entries[0]);
    }
  if (origins->kind != CORS_ALLOW_LIST)
    return g_steal_pointer (&origins);

  origins->entries = g_array_sized_new (FALSE, TRUE, sizeof (CorsEntry), n);
  g_array_set_clear_func (origins->entries, cors_entry_clear);
  for (guint i = 0; i < n; i++)
    {
      CorsEntry e = { .by_host = strchr (entries[i], ':') == NULL };
      if (cors_origin_is_plain (entries[i]))
        {
          char buf[1024];
          gsize host_at, host_len;
          if (!cors_origin_normalize (entries[i], buf, sizeof buf, &host_at, &host_len))
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "origins[%u]: too long", i);
              return NULL;
            }
          e.origin = g_strdup (buf);
        }
      else if ((e.regex = cors_compile (entries[i], i, error)) == NULL)
        return NULL;
      g_array_append_val (origins->entries, e);
    }
  return g_steal_pointer (&origins);
}

CorsAllowKind
cors_origins_kind (const CorsOrigins *origins)
{
  return origins->kind;
}

const char *
cors_origins_single (const CorsOrigins *origins)
{
  return origins->single;
}

/* Appends @len bytes of @s at *@at in @out; FALSE when they do not fit. */
static gboolean
put (char *out, gsize out_size, gsize *at, const char *s, gsize len)
{
  if (*at + len > out_size)
    return FALSE;
  memcpy (out + *at, s, len);
  *at += len;
  return TRUE;
}

gboolean
cors_origin_normalize (const char *origin, char *out, gsize out_size, gsize *host_at, gsize *host_len)
{
  const char *sep = strstr (origin, "://");
  gsize at = 0;

  if (sep == NULL || sep == origin)
    {
      /* No scheme: Kong keeps the text whole, as domain and host. */
      gsize len = strlen (origin);
      *host_at = 0;
      *host_len = len;
      return put (out, out_size, &at, origin, len + 1);
    }

  const char *scheme = origin;
  gsize scheme_len = (gsize) (sep - origin);
  const char *authority = sep + 3;
  gsize authority_len = strcspn (authority, "/?#");
  /* A user-info part ("user@") is not part of an origin's host. */
  const char *atsign = memchr (authority, '@', authority_len);
  if (atsign != NULL)
    {
      authority_len -= (gsize) (atsign + 1 - authority);
      authority = atsign + 1;
    }

  /* The port is after the last ":" that is not inside "[v6]". */
  const char *host = authority;
  gsize hlen = authority_len;
  const char *port = NULL;
  gsize port_len = 0;
  const char *close = memchr (authority, ']', authority_len);
  const char *colon = NULL;
  for (const char *p = close ? close : authority; p < authority + authority_len; p++)
    if (*p == ':')
      colon = p;
  if (colon != NULL)
    {
      hlen = (gsize) (colon - authority);
      port = colon + 1;
      port_len = authority_len - hlen - 1;
    }
  gboolean default_port = port_len == 0
                          || (scheme_len == 4 && g_ascii_strncasecmp (scheme, "http", 4) == 0 && port_len == 2
                              && memcmp (port, "80", 2) == 0)
                          || (scheme_len == 5 && g_ascii_strncasecmp (scheme, "https", 5) == 0 && port_len == 3
                              && memcmp (port, "443", 3) == 0);

  if (!put (out, out_size, &at, scheme, scheme_len) || !put (out, out_size, &at, "://", 3))
    return FALSE;
  *host_at = at;
  *host_len = hlen;
  if (!put (out, out_size, &at, host, hlen))
    return FALSE;
  if (!default_port && (!put (out, out_size, &at, ":", 1) || !put (out, out_size, &at, port, port_len)))
    return FALSE;
  return put (out, out_size, &at, "", 1);
}

gboolean
cors_origins_match (const CorsOrigins *origins, const char *origin, char *out, gsize out_size)
{
  gsize host_at, host_len;

  g_return_val_if_fail (origins->kind == CORS_ALLOW_LIST, FALSE);
  if (!cors_origin_normalize (origin, out, out_size, &host_at, &host_len))
    return FALSE;
  for (guint i = 0; i < origins->entries->len; i++)
    {
      const CorsEntry *e = &g_array_index (origins->entries, CorsEntry, i);
      if (e->origin != NULL)
        {
          /* Schemes and hosts are case-insensitive (RFC 6454); the port is
           * digits. */
          if (g_ascii_strcasecmp (e->origin, out) == 0)
            return TRUE;
        }
      else if (e->by_host ? g_regex_match_full (e->regex, out + host_at, (gssize) host_len, 0, 0, NULL, NULL)
                          : g_regex_match_full (e->regex, out, -1, 0, 0, NULL, NULL))
        return TRUE;
    }
  return FALSE;
}
