/* test-cors.c: origin normalization and matching, preflight detection. */
#include <gio/gio.h>
#include <string.h>

#include "cors-logic.h"

static CorsOrigins *
origins_of (const char *first, ...)
{
  g_autoptr (GPtrArray) entries = g_ptr_array_new ();
  va_list ap;
  va_start (ap, first);
  for (const char *e = first; e != NULL; e = va_arg (ap, const char *))
    g_ptr_array_add (entries, (gpointer) e);
  va_end (ap);
  g_autoptr (GError) error = NULL;
  CorsOrigins *origins = cors_origins_new ((const char *const *) entries->pdata, entries->len, &error);
  g_assert_no_error (error);
  return origins;
}

/* The normalized origin when @origin matches, else NULL (a static buffer). */
static const char *
match (const CorsOrigins *origins, const char *origin)
{
  static char out[256];
  return cors_origins_match (origins, origin, out, sizeof out) ? out : NULL;
}

static void
test_normalize (void)
{
  static const struct {
    const char *in, *out, *host;
  } cases[] = {
    { "http://example.com", "http://example.com", "example.com" },
    { "http://example.com:80", "http://example.com", "example.com" },
    { "https://example.com:443", "https://example.com", "example.com" },
    { "http://example.com:443", "http://example.com:443", "example.com" },
    { "https://example.com:80", "https://example.com:80", "example.com" },
    { "http://example.com:8080/", "http://example.com:8080", "example.com" },
    { "https://a.example.com/path?q#f", "https://a.example.com", "a.example.com" },
    { "http://user@example.com:81", "http://example.com:81", "example.com" },
    { "http://[::1]:8080", "http://[::1]:8080", "[::1]" },
    { "http://[::1]", "http://[::1]", "[::1]" },
    { "http://[::1]:80", "http://[::1]", "[::1]" },
    { "http://example.com:", "http://example.com", "example.com" },
    { "null", "null", "null" },
    { "example.com", "example.com", "example.com" },
    { "", "", "" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      char out[64];
      gsize host_at = 99, host_len = 99;
      g_test_message ("%s", cases[i].in);
      g_assert_true (cors_origin_normalize (cases[i].in, out, sizeof out, &host_at, &host_len));
      g_assert_cmpstr (out, ==, cases[i].out);
      g_autofree char *host = g_strndup (out + host_at, host_len);
      g_assert_cmpstr (host, ==, cases[i].host);
    }

  char small[16];
  gsize a, l;
  g_assert_true (cors_origin_normalize ("http://a.b:8080", small, sizeof small, &a, &l));
  g_assert_false (cors_origin_normalize ("http://a.bc:8080", small, sizeof small, &a, &l));
  g_assert_false (cors_origin_normalize ("nothing-to-see", small, 14, &a, &l));
}

static void
test_plain (void)
{
  g_assert_true (cors_origin_is_plain ("http://example.com:8080"));
  g_assert_true (cors_origin_is_plain ("example-1.com"));
  g_assert_false (cors_origin_is_plain ("*"));
  g_assert_false (cors_origin_is_plain ("(.*\\.)?example\\.com"));
  g_assert_false (cors_origin_is_plain ("http://example.com/?"));
  g_assert_false (cors_origin_is_plain ("http://exa mple.com"));
  g_assert_false (cors_origin_is_plain (""));
}

static void
test_preflight (void)
{
  g_test_summary ("A preflight is OPTIONS with both Origin and Access-Control-Request-Method; "
                  "anything less is an actual request.");
  g_assert_true (cors_is_preflight ("OPTIONS", "http://a", "GET"));
  g_assert_true (cors_is_preflight ("OPTIONS", "", ""));
  g_assert_false (cors_is_preflight ("OPTIONS", NULL, "GET"));
  g_assert_false (cors_is_preflight ("OPTIONS", "http://a", NULL));
  g_assert_false (cors_is_preflight ("GET", "http://a", "GET"));
  g_assert_false (cors_is_preflight ("options", "http://a", "GET"));
  g_assert_false (cors_is_preflight (NULL, "http://a", "GET"));
}

static void
test_kinds (void)
{
  g_test_summary ("No entries or a \"*\" anywhere allow all; one plain entry is answered as is; "
                  "anything else is a list to match.");
  g_autoptr (CorsOrigins) none = cors_origins_new (NULL, 0, NULL);
  g_assert_cmpint (cors_origins_kind (none), ==, CORS_ALLOW_ALL);
  g_autoptr (CorsOrigins) star = origins_of ("*", NULL);
  g_assert_cmpint (cors_origins_kind (star), ==, CORS_ALLOW_ALL);
  g_autoptr (CorsOrigins) star2 = origins_of ("http://a.com", "*", NULL);
  g_assert_cmpint (cors_origins_kind (star2), ==, CORS_ALLOW_ALL);
  g_autoptr (CorsOrigins) single = origins_of ("http://a.com:80", NULL);
  g_assert_cmpint (cors_origins_kind (single), ==, CORS_ALLOW_SINGLE);
  g_assert_cmpstr (cors_origins_single (single), ==, "http://a.com:80");
  g_autoptr (CorsOrigins) one_regex = origins_of ("http://.*\\.a\\.com", NULL);
  g_assert_cmpint (cors_origins_kind (one_regex), ==, CORS_ALLOW_LIST);
  g_autoptr (CorsOrigins) two = origins_of ("http://a.com", "http://b.com", NULL);
  g_assert_cmpint (cors_origins_kind (two), ==, CORS_ALLOW_LIST);
}

static void
test_match_plain (void)
{
  g_test_summary ("Plain entries match the same origin after normalization: default ports, "
                  "paths and case do not matter; scheme, host and other ports do.");
  g_autoptr (CorsOrigins) o = origins_of ("http://a.com", "https://b.com:443", "http://c.com:8080", NULL);
  g_assert_cmpstr (match (o, "http://a.com"), ==, "http://a.com");
  g_assert_cmpstr (match (o, "http://a.com:80"), ==, "http://a.com");
  g_assert_cmpstr (match (o, "HTTP://A.com"), ==, "HTTP://A.com");
  g_assert_cmpstr (match (o, "https://b.com"), ==, "https://b.com");
  g_assert_cmpstr (match (o, "http://c.com:8080/x"), ==, "http://c.com:8080");
  g_assert_null (match (o, "https://a.com"));
  g_assert_null (match (o, "http://a.com:8080"));
  g_assert_null (match (o, "http://b.com"));
  g_assert_null (match (o, "http://c.com"));
  g_assert_null (match (o, "http://a.com.evil.org"));
  g_assert_null (match (o, "http://xa.com"));
  g_assert_null (match (o, "null"));
  g_assert_null (match (o, ""));
}

static void
test_match_regex (void)
{
  g_test_summary ("Regex entries must match the whole host (entry without \":\") or the whole "
                  "normalized origin; a user's ^ and $ are accepted.");
  g_autoptr (CorsOrigins) o = origins_of ("(.*\\.)?example\\.com", "^https://[a-z]+\\.test:9\\d+$", NULL);
  g_assert_cmpstr (match (o, "http://example.com"), ==, "http://example.com");
  g_assert_cmpstr (match (o, "https://api.example.com:8443"), ==, "https://api.example.com:8443");
  g_assert_cmpstr (match (o, "https://a.b.example.com/"), ==, "https://a.b.example.com");
  g_assert_null (match (o, "http://example.com.evil.org"));
  g_assert_null (match (o, "http://notexample.com"));
  g_assert_null (match (o, "http://example.community"));
  g_assert_cmpstr (match (o, "https://shop.test:9000"), ==, "https://shop.test:9000");
  g_assert_null (match (o, "https://shop.test:8000"));
  g_assert_null (match (o, "http://shop.test:9000"));
  g_assert_null (match (o, "https://shop.test:9000.evil"));

  g_test_message ("an alternation is anchored as a whole");
  g_autoptr (CorsOrigins) alt = origins_of ("a\\.com|b\\.com", NULL);
  g_assert_nonnull (match (alt, "http://b.com"));
  g_assert_null (match (alt, "http://a.com.evil"));
  g_assert_null (match (alt, "http://evil.b.com"));

  g_test_message ("a plain entry and a regex in one list");
  g_autoptr (CorsOrigins) mixed = origins_of ("http://a.com", "[bc]\\.com", NULL);
  g_assert_nonnull (match (mixed, "http://a.com"));
  g_assert_nonnull (match (mixed, "https://c.com"));
  g_assert_null (match (mixed, "https://d.com"));
}

static void
test_bad_regex (void)
{
  g_autoptr (GError) error = NULL;
  const char *entries[] = { "http://a.com", "(unclosed" };
  g_assert_null (cors_origins_new (entries, 2, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_true (g_str_has_prefix (error->message, "origins[1]: '(unclosed' is not a valid regex"));
}

static void
test_long_origin (void)
{
  g_test_summary ("An origin too long for the buffer is not allowed, not truncated into a match.");
  g_autoptr (CorsOrigins) o = origins_of (".*", "http://a.com", NULL);
  g_autoptr (GString) s = g_string_new ("http://");
  while (s->len < 300)
    g_string_append (s, "a");
  g_string_append (s, ".com");
  g_assert_null (match (o, s->str));
  g_assert_nonnull (match (o, "http://short.com"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/modules/cors/origin/normalize", test_normalize);
  g_test_add_func ("/modules/cors/origin/plain", test_plain);
  g_test_add_func ("/modules/cors/preflight", test_preflight);
  g_test_add_func ("/modules/cors/origins/kinds", test_kinds);
  g_test_add_func ("/modules/cors/origins/match-plain", test_match_plain);
  g_test_add_func ("/modules/cors/origins/match-regex", test_match_regex);
  g_test_add_func ("/modules/cors/origins/bad-regex", test_bad_regex);
  g_test_add_func ("/modules/cors/origins/long", test_long_origin);
  return g_test_run ();
}
