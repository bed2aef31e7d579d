/* test-key-auth.c: where key-auth finds the key, on requests made of
 * plain arrays (no sockets, no gateway). */
#include <string.h>

#include "key-auth-logic.h"

/* A request: header fields as "Name: value" strings and a raw query whose
 * values are given unencoded (the real source decodes them). */
typedef struct {
  const char *const *headers;
  const char *query;
  char *value; /* the last query value handed out */
} FakeRequest;

static const char *
fake_header (gpointer data, const char *name, guint *count)
{
  FakeRequest *req = data;
  const char *first = NULL;
  gsize len = strlen (name);
  *count = 0;
  for (guint i = 0; req->headers != NULL && req->headers[i] != NULL; i++)
    if (g_ascii_strncasecmp (req->headers[i], name, len) == 0 && req->headers[i][len] == ':')
      {
        if (first == NULL)
          first = req->headers[i] + len + 2;
        (*count)++;
      }
  return first;
}

static const char *
fake_query_arg (gpointer data, const char *name, guint *count)
{
  FakeRequest *req = data;
  *count = key_auth_query_count (req->query, name);
  if (*count == 0)
    return NULL;
  g_autofree char *prefix = g_strconcat (name, "=", NULL);
  g_auto (GStrv) args = g_strsplit (req->query, "&", -1);
  g_clear_pointer (&req->value, g_free);
  for (guint i = 0; args[i] != NULL; i++)
    if (g_str_has_prefix (args[i], prefix))
      return req->value = g_strdup (args[i] + strlen (prefix));
    else if (g_str_equal (args[i], name))
      return req->value = g_strdup ("");
  return NULL;
}

typedef struct {
  KeyAuthKeyStatus status;
  const char *key;
  guint name_index;
} Found;

static Found
find (const char *const *names, gboolean in_header, gboolean in_query, const char *const *headers,
      const char *query)
{
  FakeRequest req = { headers, query, NULL };
  const KeyAuthSource source = { fake_header, fake_query_arg, &req };
  Found found = { 0, NULL, G_MAXUINT };
  const char *key = NULL;
  found.status = key_auth_find_key (names, in_header, in_query, &source, &key, &found.name_index);
  /* Keep the key past the fake request's life. */
  found.key = key != NULL ? g_intern_string (key) : NULL;
  g_free (req.value);
  return found;
}

static const char *const apikey[] = { "apikey", NULL };

static void
test_header (void)
{
  const char *const headers[] = { "Host: a", "ApiKey: s3cret", NULL };
  Found f = find (apikey, TRUE, TRUE, headers, "");
  g_assert_cmpint (f.status, ==, KEY_AUTH_KEY_FOUND);
  g_assert_cmpstr (f.key, ==, "s3cret");
  g_assert_cmpuint (f.name_index, ==, 0);

  f = find (apikey, FALSE, TRUE, headers, "");
  g_assert_cmpint (f.status, ==, KEY_AUTH_KEY_MISSING);
}

static void
test_query (void)
{
  g_test_summary ("The query is searched when the header is absent; key_in_query false skips it.");
  const char *const headers[] = { "Host: a", NULL };
  Found f = find (apikey, TRUE, TRUE, headers, "a=1&apikey=q-key&b=2");
  g_assert_cmpint (f.status, ==, KEY_AUTH_KEY_FOUND);
  g_assert_cmpstr (f.key, ==, "q-key");

  f = find (apikey, TRUE, FALSE, headers, "apikey=q-key");
  g_assert_cmpint (f.status, ==, KEY_AUTH_KEY_MISSING);

  f = find (apikey, TRUE, TRUE, headers, "apikeys=x&xapikey=y&apikey");
  g_assert_cmpint (f.status, ==, KEY_AUTH_KEY_FOUND);
  g_assert_cmpstr (f.key, ==, "");
}

static void
test_header_before_query (void)
{
  g_test_summary ("For one name the header wins over the query; names are tried in order, and "
                  "the first one present decides even if a later one is elsewhere.");
  const char *const names[] = { "x-key", "apikey", NULL };
  const char *const only_apikey[] = { "apikey: from-header", NULL };
  Found f = find (names, TRUE, TRUE, only_apikey, "apikey=from-query");
  g_assert_cmpint (f.status, ==, KEY_AUTH_KEY_FOUND);
  g_assert_cmpstr (f.key, ==, "from-header");
  g_assert_cmpuint (f.name_index, ==, 1);

  f = find (names, TRUE, TRUE, only_apikey, "x-key=first-name");
  g_assert_cmpstr (f.key, ==, "first-name");
  g_assert_cmpuint (f.name_index, ==, 0);
}

static void
test_duplicate (void)
{
  g_test_summary ("A key given twice under the name found first is refused (Kong: \"Duplicate "
                  "API key found\"), in headers and in the query.");
  const char *const twice[] = { "apikey: a", "APIKEY: b", NULL };
  g_assert_cmpint (find (apikey, TRUE, TRUE, twice, "").status, ==, KEY_AUTH_KEY_DUPLICATE);
  const char *const none[] = { NULL };
  g_assert_cmpint (find (apikey, TRUE, TRUE, none, "apikey=a&apikey=b").status, ==, KEY_AUTH_KEY_DUPLICATE);
  /* One in the header and one in the query: the header wins. */
  const char *const once[] = { "apikey: a", NULL };
  g_assert_cmpint (find (apikey, TRUE, TRUE, once, "apikey=b").status, ==, KEY_AUTH_KEY_FOUND);
}

static void
test_query_count (void)
{
  g_test_summary ("Query argument names are compared percent-decoded, whole, and case-sensitively.");
  g_assert_cmpuint (key_auth_query_count ("", "apikey"), ==, 0);
  g_assert_cmpuint (key_auth_query_count ("apikey=1", "apikey"), ==, 1);
  g_assert_cmpuint (key_auth_query_count ("api%6Bey=1&apikey", "apikey"), ==, 2);
  g_assert_cmpuint (key_auth_query_count ("APIKEY=1&apikeyx=2&xapikey=3&apike=4", "apikey"), ==, 0);
  g_assert_cmpuint (key_auth_query_count ("&&apikey=%3D&", "apikey"), ==, 1);
  g_assert_cmpuint (key_auth_query_count ("a=apikey&b=apikey=", "apikey"), ==, 0);
  g_assert_cmpuint (key_auth_query_count ("apikey%=1&apikey%2", "apikey"), ==, 0);
}

static void
test_key_names (void)
{
  g_assert_true (key_auth_key_name_valid ("apikey"));
  g_assert_true (key_auth_key_name_valid ("X-API-Key_2.v~1"));
  g_assert_false (key_auth_key_name_valid (""));
  g_assert_false (key_auth_key_name_valid (NULL));
  g_assert_false (key_auth_key_name_valid ("api key"));
  g_assert_false (key_auth_key_name_valid ("apikey:"));
  g_assert_false (key_auth_key_name_valid ("a\r\nX-Evil: 1"));
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/modules/key-auth/find/header", test_header);
  g_test_add_func ("/modules/key-auth/find/query", test_query);
  g_test_add_func ("/modules/key-auth/find/header-before-query", test_header_before_query);
  g_test_add_func ("/modules/key-auth/find/duplicate", test_duplicate);
  g_test_add_func ("/modules/key-auth/query-count", test_query_count);
  g_test_add_func ("/modules/key-auth/key-names", test_key_names);
  return g_test_run ();
}
