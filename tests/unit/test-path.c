/* Unit tests for path normalization (src/http/path.c). */
#include <string.h>
#include <glib.h>

#include "http/http-parser.h"

typedef struct {
  const char *name;
  const char *input;
  const char *expected; /* NULL: refused */
} PathVector;

static const PathVector vectors[] = {
  { "root", "/", "/" },
  { "plain", "/a/b/c", "/a/b/c" },
  { "trailing-slash", "/a/b/", "/a/b/" },
  /* merged slashes */
  { "double-slash", "/a//b", "/a/b" },
  { "leading-double-slash", "//a", "/a" },
  { "many-slashes", "///a////b///", "/a/b/" },
  /* dot segments (RFC 3986 5.2.4) */
  { "dot-start", "/./a", "/a" },
  { "dot-middle", "/a/./b", "/a/b" },
  { "dot-end", "/a/.", "/a/" },
  { "dot-only", "/.", "/" },
  { "dot-dot-middle", "/a/../b", "/b" },
  { "dot-dot-twice", "/a/b/../../c", "/c" },
  { "dot-dot-end", "/a/b/..", "/a/" },
  { "dot-dot-to-root", "/a/..", "/" },
  { "dots-mixed", "/a/b/./../c/./d/", "/a/c/d/" },
  { "dot-dot-after-double-slash", "/a//../b", "/b" },
  { "three-dots", "/.../a", "/.../a" },
  { "dot-prefix", "/.a/..b/c..", "/.a/..b/c.." },
  /* escapes */
  { "decode-unreserved", "/%61%62c%7E%2d%2E%5F%30", "/abc~-._0" },
  { "encoded-dot-dot", "/a/%2e%2E/b", "/b" },
  { "encoded-dot", "/a/%2E/b", "/a/b" },
  { "keep-slash-encoded", "/a%2fb", "/a%2Fb" },
  { "encoded-slash-is-one-segment", "/x/a%2Fb/../c", "/x/c" },
  { "upper-case-hex", "/%c3%a9/%3f%23", "/%C3%A9/%3F%23" },
  { "keep-percent-encoded", "/%25/%2541", "/%25/%2541" },
  { "keep-reserved-chars", "/a:b@c!$&'()*+,;=", "/a:b@c!$&'()*+,;=" },
  /* refused */
  { "empty", "", NULL },
  { "relative", "a/b", NULL },
  { "asterisk", "*", NULL },
  { "climb-root", "/..", NULL },
  { "climb-root-slash", "/../a", NULL },
  { "climb-after-segment", "/a/../..", NULL },
  { "climb-deep", "/a/b/../../../c", NULL },
  { "climb-encoded", "/%2e%2e/etc/passwd", NULL },
  { "climb-half-encoded", "/.%2E/x", NULL },
  { "encoded-nul", "/a%00b", NULL },
  { "bad-escape-short", "/a%4", NULL },
  { "bad-escape-end", "/a%", NULL },
  { "bad-escape-not-hex", "/a%zz", NULL },
  { "bad-escape-half-hex", "/a%4g", NULL },
  { "bad-escape-sign", "/a%+1", NULL },
};

static void
test_vector (gconstpointer data)
{
  const PathVector *v = data;
  size_t len = strlen (v->input);
  char *out = g_malloc (len + 16);
  size_t out_len = 0;
  gboolean ok;

  /* a guard after the @len bytes the function may write */
  memset (out, '#', len + 16);
  ok = portico_http_normalize_path (v->input, len, out, &out_len);
  g_assert_cmpint (ok, ==, v->expected != NULL);
  if (ok)
    {
      char *again = g_malloc (out_len + 1);
      size_t again_len = 0;

      g_assert_cmpmem (out, out_len, v->expected, strlen (v->expected));
      g_assert_cmpuint (out_len, <=, len);

      /* normalizing twice changes nothing */
      g_assert_true (portico_http_normalize_path (out, out_len, again, &again_len));
      g_assert_cmpmem (again, again_len, out, out_len);
      g_free (again);
    }
  for (size_t i = len; i < len + 16; i++)
    g_assert_cmpint (out[i], ==, '#');
  g_free (out);
}

static void
test_never_longer (void)
{
  static const char alphabet[] = "/.%2eEfF0a";
  int round;

  g_test_summary ("Random paths over a small alphabet: the output never needs more than the "
                  "input's length and normalizing is idempotent.");
  for (round = 0; round < 20000; round++)
    {
      char in[24], out[24 + 8], again[24];
      size_t len = (size_t) g_test_rand_int_range (1, 24), out_len, again_len, i;

      in[0] = '/';
      for (i = 1; i < len; i++)
        in[i] = alphabet[g_test_rand_int_range (0, sizeof alphabet - 1)];
      memset (out, '#', sizeof out);
      if (!portico_http_normalize_path (in, len, out, &out_len))
        continue;
      g_assert_cmpuint (out_len, <=, len);
      g_assert_cmpint (out[len], ==, '#');
      g_assert_true (portico_http_normalize_path (out, out_len, again, &again_len));
      g_assert_cmpmem (again, again_len, out, out_len);
      g_assert_cmpint (out[0], ==, '/');
    }
}

int
main (int argc, char **argv)
{
  gsize i;

  g_test_init (&argc, &argv, NULL);

  for (i = 0; i < G_N_ELEMENTS (vectors); i++)
    {
      char *path = g_strdup_printf ("/http/path/%s", vectors[i].name);
      g_test_add_data_func (path, &vectors[i], test_vector);
      g_free (path);
    }
  g_test_add_func ("/http/path/never-longer", test_never_longer);

  return g_test_run ();
}
