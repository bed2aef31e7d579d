/* test-request-transformer.c: the request-transformer's configuration, the
 * header operations (on a fake header table) and the query-string edits,
 * without a gateway. */
#include <string.h>

#include "request-transformer-logic.h"

static RequestTransformerConf *
conf_from (const char *json, GError **error)
{
  g_autoptr (JsonNode) node = json_from_string (json, NULL);
  g_assert_nonnull (node);
  return request_transformer_conf_new (json_node_get_object (node), error);
}

static RequestTransformerConf *
conf_ok (const char *json)
{
  g_autoptr (GError) error = NULL;
  RequestTransformerConf *conf = conf_from (json, &error);
  g_assert_no_error (error);
  g_assert_nonnull (conf);
  return conf;
}

/* ---- "name:value" ---------------------------------------------------------- */

static void
test_split_pair (void)
{
  g_test_summary ("Kong's split: the name ends at the first colon, the colons after it are "
                  "skipped, the value keeps later colons and may be empty; no colon or no name "
                  "is refused.");
  static const struct { const char *entry, *name, *value; } ok[] = {
    { "X-A:b", "X-A", "b" },
    { "X-Url:http://h:8080/p", "X-Url", "http://h:8080/p" },
    { "x:", "x", "" },
    { "x::y", "x", "y" },
    { "x: spaced ", "x", " spaced " },
  };
  for (guint i = 0; i < G_N_ELEMENTS (ok); i++)
    {
      g_autofree char *name = NULL, *value = NULL;
      g_assert_true (transform_split_pair (ok[i].entry, &name, &value));
      g_assert_cmpstr (name, ==, ok[i].name);
      g_assert_cmpstr (value, ==, ok[i].value);
    }
  for (const char *const *bad = (const char *const[]){ "novalue", ":v", "", NULL }; *bad; bad++)
    {
      char *name = NULL, *value = NULL;
      g_assert_false (transform_split_pair (*bad, &name, &value));
      g_assert_null (name);
      g_assert_null (value);
    }
}

static void
test_config_defaults (void)
{
  g_test_summary ("An empty configuration (records absent, as a config without schema defaults) "
                  "changes nothing; values with colons are kept whole.");
  RequestTransformerConf *conf = conf_ok ("{}");
  g_assert_null (conf->http_method);
  g_assert_null (conf->uri);
  g_assert_true (transform_set_is_empty (&conf->headers));
  g_assert_true (transform_set_is_empty (&conf->query));
  g_assert_null (request_transformer_query_apply (&conf->query, "a=1"));
  request_transformer_conf_free (conf);

  conf = conf_ok ("{\"http_method\":\"POST\",\"replace\":{\"uri\":\"/v2/x\",\"headers\":[],\"body\":[]},"
                  "\"add\":{\"headers\":[\"X-Url:http://a:1/\"],\"querystring\":[\"q:a b&c\"]}}");
  g_assert_cmpstr (conf->http_method, ==, "POST");
  g_assert_cmpstr (conf->uri, ==, "/v2/x");
  g_assert_cmpuint (conf->headers.ops[TRANSFORM_ADD].len, ==, 1);
  g_assert_cmpstr (conf->headers.ops[TRANSFORM_ADD].items[0].value, ==, "http://a:1/");
  g_assert_cmpstr (conf->query.ops[TRANSFORM_ADD].items[0].out_value, ==, "a%20b%26c");
  request_transformer_conf_free (conf);
}

static void
test_config_refusals (void)
{
  g_test_summary ("Refused configurations, each with a message that names the entry and says "
                  "why: body edits (request bodies stream), malformed pairs, invalid or framing "
                  "header names, control characters, Host added, templates, bad methods and URIs.");
  static const struct { const char *json, *message; } cases[] = {
    { "{\"add\":{\"body\":[\"a:b\"]}}", "add.body: body edits are not supported: Portico streams request bodies" },
    { "{\"remove\":{\"body\":[\"a\"]}}", "remove.body: body edits are not supported" },
    { "{\"add\":{\"headers\":[\"X-A:1\",\"novalue\"]}}", "add.headers[1]: \"novalue\" is not NAME:VALUE" },
    { "{\"rename\":{\"headers\":[\"X-A\"]}}", "rename.headers[0]: \"X-A\" is not OLD:NEW" },
    { "{\"rename\":{\"querystring\":[\"a:\"]}}", "rename.querystring[0]: \"a:\": the new name is empty" },
    { "{\"add\":{\"headers\":[\"X A:1\"]}}", "add.headers[0]: 'X A' is not a valid header" },
    { "{\"rename\":{\"headers\":[\"X-A:B C\"]}}", "rename.headers[0]: 'B C' is not a valid header" },
    { "{\"remove\":{\"headers\":[\"\"]}}", "remove.headers[0]: empty name" },
    { "{\"append\":{\"headers\":[\"X-A:1\\r\\nX-B: 2\"]}}", "append.headers[0]: the value of 'X-A' holds a control character" },
    { "{\"remove\":{\"headers\":[\"content-length\"]}}", "remove.headers[0]: 'content-length' is a framing or hop-by-hop field" },
    { "{\"append\":{\"headers\":[\"keep-alive:x\"]}}", "'keep-alive' is a framing or hop-by-hop field" },
    { "{\"add\":{\"headers\":[\"X-A:\\u0001\"]}}", "the value of 'X-A' holds a control character" },
    { "{\"rename\":{\"headers\":[\"X-A:Transfer-Encoding\"]}}", "'Transfer-Encoding' is a framing or hop-by-hop field" },
    { "{\"add\":{\"headers\":[\"Host:a\"]}}", "add.headers[0]: a request has exactly one Host" },
    { "{\"append\":{\"headers\":[\"host:a\"]}}", "append.headers[0]: a request has exactly one Host" },
    { "{\"add\":{\"headers\":[\"X-A:$(headers.b)\"]}}", "add.headers[0]: \"$(headers.b)\": templates ($(...)) are not supported" },
    { "{\"replace\":{\"uri\":\"/$(uri_captures.x)\"}}", "replace.uri: \"/$(uri_captures.x)\": templates" },
    { "{\"replace\":{\"uri\":\"v2\"}}", "replace.uri: \"v2\" must start with \"/\"" },
    { "{\"replace\":{\"uri\":\"/a?b=1\"}}", "replace.uri: \"/a?b=1\" holds \"?\" or \"#\"" },
    { "{\"replace\":{\"uri\":\"/a b\"}}", "replace.uri: \"/a b\" holds a space" },
    { "{\"http_method\":\"post\"}", "http_method: \"post\" is not a method" },
    { "{\"http_method\":\"\"}", "http_method: \"\" is not a method" },
    { "{\"add\":{\"headers\":[1]}}", "add.headers[0]: expected a string" },
    { "{\"add\":\"x\"}", "add: expected an object" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      RequestTransformerConf *conf = conf_from (cases[i].json, &error);
      g_test_message ("%s -> %s", cases[i].json, error ? error->message : "(accepted)");
      g_assert_null (conf);
      g_assert_nonnull (error);
      g_assert_nonnull (strstr (error->message, cases[i].message));
    }
}

/* ---- header operations on a fake table -------------------------------------- */

typedef struct {
  GPtrArray *names;
  GPtrArray *values;
} FakeHeaders;

static FakeHeaders *
fake (PorticoRequest *r)
{
  return (FakeHeaders *) r;
}

static int
fake_find (FakeHeaders *h, const char *name)
{
  for (guint i = 0; i < h->names->len; i++)
    if (g_ascii_strcasecmp (g_ptr_array_index (h->names, i), name) == 0)
      return (int) i;
  return -1;
}

static const char *
fake_get (PorticoRequest *r, const char *name)
{
  int i = fake_find (fake (r), name);
  return i < 0 ? NULL : g_ptr_array_index (fake (r)->values, i);
}

static gboolean
fake_at (PorticoRequest *r, guint index, const char **name, const char **value)
{
  if (index >= fake (r)->names->len)
    return FALSE;
  *name = g_ptr_array_index (fake (r)->names, index);
  *value = g_ptr_array_index (fake (r)->values, index);
  return TRUE;
}

static gboolean
fake_add (PorticoRequest *r, const char *name, const char *value)
{
  g_ptr_array_add (fake (r)->names, g_strdup (name));
  g_ptr_array_add (fake (r)->values, g_strdup (value));
  return TRUE;
}

/* Removed strings stay alive until the end, as the PDK promises for the
 * strings it returns. */
static GPtrArray *graveyard;

static gboolean
fake_remove (PorticoRequest *r, const char *name)
{
  int i;
  while ((i = fake_find (fake (r), name)) >= 0)
    {
      g_ptr_array_add (graveyard, g_ptr_array_steal_index (fake (r)->names, i));
      g_ptr_array_add (graveyard, g_ptr_array_steal_index (fake (r)->values, i));
    }
  return TRUE;
}

static gboolean
fake_set (PorticoRequest *r, const char *name, const char *value)
{
  fake_remove (r, name);
  return fake_add (r, name, value);
}

static const TransformHeaderOps fake_ops = { fake_get, fake_at, fake_set, fake_add, fake_remove };

/* The table as "Name: value|Name: value". */
static char *
fake_dump (FakeHeaders *h)
{
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < h->names->len; i++)
    g_string_append_printf (s, "%s%s: %s", i ? "|" : "", (char *) g_ptr_array_index (h->names, i),
                            (char *) g_ptr_array_index (h->values, i));
  return g_string_free (s, FALSE);
}

static char *
headers_after (const char *config_json, const char *const *fields)
{
  RequestTransformerConf *conf = conf_ok (config_json);
  FakeHeaders h = { g_ptr_array_new_with_free_func (g_free), g_ptr_array_new_with_free_func (g_free) };
  for (const char *const *f = fields; *f; f += 2)
    fake_add ((PorticoRequest *) &h, f[0], f[1]);
  transform_headers_apply (&conf->headers, &fake_ops, (PorticoRequest *) &h);
  char *dump = fake_dump (&h);
  g_ptr_array_unref (h.names);
  g_ptr_array_unref (h.values);
  request_transformer_conf_free (conf);
  return dump;
}

static void
test_headers_order (void)
{
  g_test_summary ("remove, rename, replace, add, append run in that order and each sees what the "
                  "previous ones left: a removed field can be added back, a renamed one replaced.");
  g_autofree char *out = headers_after (
    "{\"append\":{\"headers\":[\"X-Gone:appended\"]},"
    " \"add\":{\"headers\":[\"X-Gone:added\",\"X-Keep:not-added\",\"X-New:added\"]},"
    " \"replace\":{\"headers\":[\"X-New:replaced\",\"X-Absent:never\"]},"
    " \"rename\":{\"headers\":[\"X-Old:X-New\"]},"
    " \"remove\":{\"headers\":[\"x-gone\"]}}",
    (const char *const[]){ "X-Gone", "1", "X-Keep", "kept", "X-Old", "o", NULL });
  /* remove X-Gone; X-Old becomes X-New; X-New is replaced; add: X-Gone
   * (absent again) yes, X-Keep and X-New (present) no; append X-Gone. */
  g_assert_cmpstr (out, ==, "X-Keep: kept|X-New: replaced|X-Gone: added|X-Gone: appended");
}

static void
test_headers_semantics (void)
{
  g_test_summary ("Kong's semantics one by one: rename keeps every value in order and replaces the "
                  "target field, replace collapses several values into one, add never touches a "
                  "present field (any case), append always adds; names are case-insensitive.");
  g_autofree char *renamed = headers_after (
    "{\"rename\":{\"headers\":[\"x-multi:X-Target\",\"X-None:X-Other\"]}}",
    (const char *const[]){ "X-Multi", "1", "X-Target", "old", "X-Mid", "m", "X-Multi", "2", NULL });
  g_assert_cmpstr (renamed, ==, "X-Mid: m|X-Target: 1|X-Target: 2");

  g_autofree char *replaced = headers_after ("{\"replace\":{\"headers\":[\"x-multi:one\"]}}",
                                             (const char *const[]){ "X-Multi", "1", "X-Multi", "2", NULL });
  g_assert_cmpstr (replaced, ==, "x-multi: one");

  g_autofree char *added = headers_after ("{\"add\":{\"headers\":[\"x-here:no\",\"X-Empty:\"]}}",
                                          (const char *const[]){ "X-Here", "yes", NULL });
  g_assert_cmpstr (added, ==, "X-Here: yes|X-Empty: ");

  g_autofree char *appended = headers_after ("{\"append\":{\"headers\":[\"X-Here:2\",\"X-Here:3\"]}}",
                                             (const char *const[]){ "X-Here", "1", NULL });
  g_assert_cmpstr (appended, ==, "X-Here: 1|X-Here: 2|X-Here: 3");

  g_autofree char *same = headers_after ("{\"rename\":{\"headers\":[\"X-A:X-A\"]}}",
                                         (const char *const[]){ "X-A", "1", "X-B", "2", NULL });
  g_assert_cmpstr (same, ==, "X-A: 1|X-B: 2");
}

/* ---- the query string --------------------------------------------------------- */

static char *
query_after (const char *config_json, const char *query)
{
  RequestTransformerConf *conf = conf_ok (config_json);
  char *out = request_transformer_query_apply (&conf->query, query);
  request_transformer_conf_free (conf);
  return out;
}

static void
test_query (void)
{
  g_test_summary ("Query edits: matched by decoded name (%XX and +), untouched arguments kept "
                  "byte for byte and in place, new ones percent-encoded; NULL when nothing "
                  "changes.");
  static const struct { const char *config, *query, *expected; } cases[] = {
    /* remove every occurrence, bare flags too, decoded names */
    { "{\"remove\":{\"querystring\":[\"a b\",\"flag\"]}}", "x=%7E&a+b=1&flag&a%20b=2&y", "x=%7E&y" },
    /* rename in place, every value, replacing the target's values */
    { "{\"rename\":{\"querystring\":[\"old:new\"]}}", "new=0&old=1&k=v&old=2&bare", "new=1&k=v&new=2&bare" },
    { "{\"rename\":{\"querystring\":[\"old:new\"]}}", "new=0&old=1&k=v&old", "new=1&k=v&new" },
    { "{\"rename\":{\"querystring\":[\"old:n w\"]}}", "old=1", "n%20w=1" },
    /* replace only when present, one value left */
    { "{\"replace\":{\"querystring\":[\"a:x y\",\"absent:z\"]}}", "a=1&b=2&a=3&a", "a=x%20y&b=2" },
    /* add only when absent */
    { "{\"add\":{\"querystring\":[\"a:9\",\"c:3\"]}}", "a=1", "a=1&c=3" },
    { "{\"add\":{\"querystring\":[\"c:&=?\"]}}", "", "c=%26%3D%3F" },
    /* append always */
    { "{\"append\":{\"querystring\":[\"a:2\",\"a:3\"]}}", "a=1", "a=1&a=2&a=3" },
    /* order: remove then add puts it back; rename then replace sees the new name */
    { "{\"remove\":{\"querystring\":[\"a\"]},\"add\":{\"querystring\":[\"a:new\"]}}", "a=old&b", "b&a=new" },
    { "{\"rename\":{\"querystring\":[\"a:b\"]},\"replace\":{\"querystring\":[\"b:r\"]}}", "a=1", "b=r" },
    /* empty segments stay where they were */
    { "{\"append\":{\"querystring\":[\"z:1\"]}}", "&a=1&&b", "&a=1&&b&z=1" },
    /* "%" not followed by two hex digits is itself */
    { "{\"remove\":{\"querystring\":[\"%zz\"]}}", "%zz=1&%25zz=2&k", "k" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *out = query_after (cases[i].config, cases[i].query);
      g_test_message ("%s on \"%s\" -> \"%s\"", cases[i].config, cases[i].query, out);
      g_assert_cmpstr (out, ==, cases[i].expected);
    }

  static const struct { const char *config, *query; } unchanged[] = {
    { "{\"remove\":{\"querystring\":[\"a\"]}}", "b=1&ab=2" },
    { "{\"rename\":{\"querystring\":[\"a:b\"]}}", "b=1" },
    { "{\"replace\":{\"querystring\":[\"a:1\"]}}", "" },
    { "{\"add\":{\"querystring\":[\"a:1\"]}}", "a" },
    { "{}", "a=1" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (unchanged); i++)
    {
      g_autofree char *out = query_after (unchanged[i].config, unchanged[i].query);
      g_assert_null (out);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  graveyard = g_ptr_array_new_with_free_func (g_free);
  g_test_add_func ("/modules/request-transformer/pair/split", test_split_pair);
  g_test_add_func ("/modules/request-transformer/config/defaults", test_config_defaults);
  g_test_add_func ("/modules/request-transformer/config/refusals", test_config_refusals);
  g_test_add_func ("/modules/request-transformer/headers/order", test_headers_order);
  g_test_add_func ("/modules/request-transformer/headers/semantics", test_headers_semantics);
  g_test_add_func ("/modules/request-transformer/query", test_query);
  int status = g_test_run ();
  g_ptr_array_unref (graveyard);
  return status;
}
