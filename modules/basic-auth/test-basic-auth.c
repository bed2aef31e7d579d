/* test-basic-auth.c: parsing "Basic base64(user:pass)" and comparing
 * passwords (no sockets, no gateway). */
#include <string.h>

#include "basic-auth-logic.h"

typedef struct {
  gboolean ok;
  char *username;
  char *password;
  gsize password_len;
} Parsed;

static Parsed
parse (const char *value)
{
  Parsed out = { 0 };
  gsize size = strlen (value) + 1;
  g_autofree char *buf = g_malloc (size);
  BasicAuthPair pair = { 0 };
  out.ok = basic_auth_parse (value, buf, size, &pair);
  if (out.ok)
    {
      out.username = g_strdup (pair.username);
      out.password = g_strndup (pair.password, pair.password_len);
      out.password_len = pair.password_len;
    }
  return out;
}

static void
parsed_clear (Parsed *p)
{
  g_free (p->username);
  g_free (p->password);
}

static void
assert_parses (const char *value, const char *username, const char *password)
{
  Parsed p = parse (value);
  g_assert_true (p.ok);
  g_assert_cmpstr (p.username, ==, username);
  g_assert_cmpstr (p.password, ==, password);
  g_assert_cmpuint (p.password_len, ==, strlen (password));
  parsed_clear (&p);
}

static void
assert_refused (const char *value)
{
  Parsed p = parse (value);
  if (p.ok)
    g_test_message ("accepted: \"%s\" as %s / %s", value, p.username, p.password);
  g_assert_false (p.ok);
  parsed_clear (&p);
}

static void
test_parse_good (void)
{
  /* alice:wonderland */
  assert_parses ("Basic YWxpY2U6d29uZGVybGFuZA==", "alice", "wonderland");
  g_test_summary ("The scheme in any case, spaces or tabs around the token, padding optional.");
  assert_parses ("basic YWxpY2U6d29uZGVybGFuZA==", "alice", "wonderland");
  assert_parses ("  BASIC \t YWxpY2U6d29uZGVybGFuZA==  ", "alice", "wonderland");
  assert_parses ("Basic YWxpY2U6d29uZGVybGFuZA", "alice", "wonderland");
}

static void
test_parse_colons (void)
{
  g_test_summary ("The username ends at the first colon; the password keeps the others, and may be "
                  "empty.");
  /* bob:a:b:c */
  assert_parses ("Basic Ym9iOmE6YjpD", "bob", "a:b:C");
  /* bob: */
  assert_parses ("Basic Ym9iOg==", "bob", "");
  /* bob:: */
  assert_parses ("Basic Ym9iOjo=", "bob", ":");
  /* "é:ü" in UTF-8 */
  assert_parses ("Basic w6k6w7w=", "\xc3\xa9", "\xc3\xbc");
}

static void
test_parse_bad (void)
{
  g_test_summary ("Other schemes, no token, bad base64, no colon, an empty username or a NUL are "
                  "refused.");
  assert_refused ("");
  assert_refused ("Basic");
  assert_refused ("Basic ");
  assert_refused ("BasicYWxpY2U6d29uZGVybGFuZA==");
  assert_refused ("Bearer YWxpY2U6d29uZGVybGFuZA==");
  assert_refused ("Basic YWxpY2U6d29uZGVy bGFuZA==");  /* a space inside */
  assert_refused ("Basic YWxpY2U6d29uZGVybGFuZA=x");   /* padding not at the end */
  assert_refused ("Basic YWxpY2U6d29uZGVybGFuZA=");    /* padding that does not complete a group */
  assert_refused ("Basic YWxpY2U6d29uZGVybGFuZ");      /* a sixth of a byte left over */
  assert_refused ("Basic YWxpY2U6d29uZGVybGFuZA===");  /* three padding characters */
  assert_refused ("Basic YWxpY2U-d29uZGVybGFuZA==");   /* the URL alphabet */
  assert_refused ("Basic YWxpY2Vfd29uZGVybGFuZA==");   /* alice_wonderland: no colon */
  assert_refused ("Basic OnNlY3JldA==");               /* :secret: empty username */
  assert_refused ("Basic YQBiOmM=");                   /* a\0b:c */
  assert_refused ("Basic Ym9iOmEAYg==");               /* bob:a\0b */
}

static void
test_base64 (void)
{
  const struct {
    const char *in;
    const char *out; /* NULL: refused */
  } cases[] = {
    { "", "" },
    { "TQ==", "M" }, { "TQ", "M" },
    { "TWE=", "Ma" }, { "TWE", "Ma" },
    { "TWFu", "Man" },
    { "+/+/", "\xfb\xff\xbf" },
    { "T", NULL }, { "TQ=", NULL }, { "=", NULL }, { "TWFu=", NULL }, { "T$Fu", NULL },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      guchar out[16];
      gsize out_len = 0;
      gboolean ok = basic_auth_base64_decode (cases[i].in, strlen (cases[i].in), out, &out_len);
      g_test_message ("\"%s\"", cases[i].in);
      g_assert_cmpint (ok, ==, cases[i].out != NULL);
      if (ok)
        g_assert_cmpmem (out, out_len, cases[i].out, strlen (cases[i].out));
    }
}

static void
test_password_equal (void)
{
  g_assert_true (basic_auth_password_equal ("secret", 6, "secret", 6));
  g_assert_true (basic_auth_password_equal ("", 0, "", 0));
  g_assert_false (basic_auth_password_equal ("secret", 6, "secreT", 6));
  g_assert_false (basic_auth_password_equal ("secret", 6, "Secret", 6));
  g_assert_false (basic_auth_password_equal ("secret", 6, "secret2", 7));
  g_assert_false (basic_auth_password_equal ("secret", 6, "secre", 5));
  g_assert_false (basic_auth_password_equal ("secret", 6, "", 0));
  g_assert_false (basic_auth_password_equal ("", 0, "x", 1));
  /* A given password that is the expected one plus a NUL is still wrong. */
  g_assert_false (basic_auth_password_equal ("secret", 6, "secret\0", 7));
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/modules/basic-auth/parse/good", test_parse_good);
  g_test_add_func ("/modules/basic-auth/parse/colons", test_parse_colons);
  g_test_add_func ("/modules/basic-auth/parse/bad", test_parse_bad);
  g_test_add_func ("/modules/basic-auth/base64", test_base64);
  g_test_add_func ("/modules/basic-auth/password-equal", test_password_equal);
  return g_test_run ();
}
