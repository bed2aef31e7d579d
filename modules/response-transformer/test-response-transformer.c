/* test-response-transformer.c: the response-transformer's configuration,
 * the JSON member edits, which heads get their body edited, and the body
 * buffer with its cap, without a gateway. (The header operations are
 * transform-ops.c's, tested in test-request-transformer.c.) */
#include <string.h>

#include "response-transformer-json.h"
#include "response-transformer-logic.h"

static ResponseTransformerConf *
conf_from (const char *json, GError **error)
{
  g_autoptr (JsonNode) node = json_from_string (json, NULL);
  g_assert_nonnull (node);
  return response_transformer_conf_new (json_node_get_object (node), error);
}

static ResponseTransformerConf *
conf_ok (const char *json)
{
  g_autoptr (GError) error = NULL;
  ResponseTransformerConf *conf = conf_from (json, &error);
  g_assert_no_error (error);
  g_assert_nonnull (conf);
  return conf;
}

static void
test_config (void)
{
  g_test_summary ("Refused: values json_types cannot read (Kong would silently drop or falsify "
                  "them), malformed pairs, framing headers; accepted: removing Content-Length, "
                  "more json_types than values.");
  static const struct { const char *json, *message; } cases[] = {
    { "{\"add\":{\"json\":[\"n:abc\"],\"json_types\":[\"number\"]}}", "add.json[0]: \"abc\" is not a JSON number" },
    { "{\"replace\":{\"json\":[\"a:1\",\"n:0x10\"],\"json_types\":[\"string\",\"number\"]}}", "replace.json[1]: \"0x10\" is not a JSON number" },
    { "{\"append\":{\"json\":[\"n:1.\"],\"json_types\":[\"number\"]}}", "append.json[0]: \"1.\" is not a JSON number" },
    { "{\"add\":{\"json\":[\"b:yes\"],\"json_types\":[\"boolean\"]}}", "add.json[0]: \"yes\" is not a boolean" },
    { "{\"add\":{\"json\":[\"b:x\"],\"json_types\":[\"date\"]}}", "add.json[0]: json_types: \"date\" is not one of" },
    { "{\"rename\":{\"json\":[\"a\"]}}", "rename.json[0]: \"a\" is not OLD:NEW" },
    { "{\"add\":{\"headers\":[\"Transfer-Encoding:gzip\"]}}", "add.headers[0]: 'Transfer-Encoding' is a framing or hop-by-hop field" },
    { "{\"replace\":{\"headers\":[\"Content-Length:1\"]}}", "replace.headers[0]: 'Content-Length' is a framing or hop-by-hop field" },
    { "{\"remove\":{\"json\":[\"\"]}}", "remove.json[0]: empty name" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      ResponseTransformerConf *conf = conf_from (cases[i].json, &error);
      g_test_message ("%s -> %s", cases[i].json, error ? error->message : "(accepted)");
      g_assert_null (conf);
      g_assert_nonnull (error);
      g_assert_nonnull (strstr (error->message, cases[i].message));
    }

  ResponseTransformerConf *conf = conf_ok (
    "{\"remove\":{\"headers\":[\"Content-Length\"]},"
    " \"add\":{\"json\":[\"n:-1.5e3\"],\"json_types\":[\"number\",\"boolean\"]}}");
  g_assert_cmpstr (conf->json.ops[TRANSFORM_ADD].items[0].out_value, ==, "-1.5e3");
  g_assert_cmpuint (conf->max_body, ==, RESPONSE_TRANSFORMER_MAX_BODY);
  response_transformer_conf_free (conf);
}

static char *
json_after (const char *config_json, const char *body)
{
  ResponseTransformerConf *conf = conf_ok (config_json);
  gsize len = 0;
  char *out = response_transformer_json_apply (&conf->json, body, strlen (body), &len);
  if (out != NULL)
    g_assert_cmpuint (len, ==, strlen (out));
  response_transformer_conf_free (conf);
  return out;
}

static void
test_json_edits (void)
{
  g_test_summary ("Edits of top-level members, in Kong's order and semantics; json_types string, "
                  "number, boolean; what no edit touches (numbers past 2^63, 0.1, blanks, nested "
                  "values) is kept byte for byte.");
  static const struct { const char *config, *body, *expected; } cases[] = {
    { "{\"remove\":{\"json\":[\"a\"]}}", "{\"a\":1,\"b\":2}", "{\"b\":2}" },
    { "{\"remove\":{\"json\":[\"a\"]}}", "{ \"a\" : 1 ,\n \"b\": [1, {\"a\":2}] }\n", "{\n \"b\": [1, {\"a\":2}] }\n" },
    { "{\"remove\":{\"json\":[\"x\"]}}", "{\"id\":12345678901234567890,\"f\":0.1,\"x\":1}",
      "{\"id\":12345678901234567890,\"f\":0.1}" },
    /* rename in place; the new name's member goes */
    { "{\"rename\":{\"json\":[\"a:c\"]}}", "{\"a\":{\"k\":[1]},\"b\":2,\"c\":3}", "{\"c\":{\"k\":[1]},\"b\":2}" },
    /* replace only when present (null is present), typed */
    { "{\"replace\":{\"json\":[\"n:5\",\"s:hi\",\"z:true\",\"absent:1\"],\"json_types\":[\"number\",\"string\",\"boolean\"]}}",
      "{\"n\":\"x\",\"s\":1,\"z\":null}", "{\"n\":5,\"s\":\"hi\",\"z\":true}" },
    /* add only when absent, typed, default string */
    { "{\"add\":{\"json\":[\"a:9\",\"b:true\",\"n:1.5\",\"s:x\"],\"json_types\":[\"number\",\"boolean\",\"number\"]}}",
      "{\"a\":1}", "{\"a\":1,\"b\":true,\"n\":1.5,\"s\":\"x\"}" },
    { "{\"add\":{\"json\":[\"a:1\"]}}", "{ }", "{\"a\":\"1\"}" },
    /* append: string -> array, array grows, empty array, other -> [new], absent -> [new] */
    { "{\"append\":{\"json\":[\"s:n\",\"a:n\",\"e:n\",\"o:n\",\"x:n\"]}}",
      "{\"s\":\"old\",\"a\":[1, 2],\"e\":[ ],\"o\":{\"k\":1}}",
      "{\"s\":[\"old\",\"n\"],\"a\":[1, 2,\"n\"],\"e\":[\"n\"],\"o\":[\"n\"],\"x\":[\"n\"]}" },
    { "{\"append\":{\"json\":[\"a:1\",\"a:2\"],\"json_types\":[\"number\",\"number\"]}}", "{}", "{\"a\":[1,2]}" },
    /* the order: removed then added back (at the end); renamed then replaced */
    { "{\"remove\":{\"json\":[\"a\"]},\"add\":{\"json\":[\"a:new\"]}}", "{\"a\":1,\"b\":2}", "{\"b\":2,\"a\":\"new\"}" },
    { "{\"rename\":{\"json\":[\"a:b\"]},\"replace\":{\"json\":[\"b:r\"]}}", "{\"a\":1}", "{\"b\":\"r\"}" },
    /* escaped names match their decoded form; written names and values are escaped */
    { "{\"remove\":{\"json\":[\"a\",\"\xf0\x9f\x98\x80\",\"\xc3\xa9\"]}}", "{\"\\u0061\":1,\"\\ud83d\\ude00\":2,\"\\u00E9\":3,\"k\":4}", "{\"k\":4}" },
    { "{\"add\":{\"json\":[\"we\\\"ird:q\\\"uote\\n\\u0001\"]}}", "{}", "{\"we\\\"ird\":\"q\\\"uote\\n\\u0001\"}" },
    /* duplicates: replace keeps one */
    { "{\"replace\":{\"json\":[\"a:x\"]}}", "{\"a\":1,\"b\":2,\"a\":3}", "{\"a\":\"x\",\"b\":2}" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *out = json_after (cases[i].config, cases[i].body);
      g_autofree char *body = g_strescape (cases[i].body, NULL), *got = out ? g_strescape (out, NULL) : NULL;
      g_test_message ("%s on %s -> %s", cases[i].config, body, got);
      g_assert_cmpstr (out, ==, cases[i].expected);
    }
}

static void
test_json_passes (void)
{
  g_test_summary ("What is not a JSON object (strictly, RFC 8259 and UTF-8), or what the edits "
                  "leave unchanged, gives NULL: the body passes as it came.");
  static const char *const bodies[] = {
    "", "   ", "[1,2]", "\"str\"", "42", "{", "{\"a\":1", "{\"a\":1}x", "{\"a\":1}{\"b\":2}", "{'a':1}",
    "{a:1}", "{\"a\":0x1}", "{\"a\":01}", "{\"a\":.5}", "{\"a\":1.}", "{\"a\":+1}", "{\"a\":1,}", "{\"a\":[1,]}",
    "{/*c*/\"a\":1}", "{\"a\":tru}", "{\"a\":nul}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}", "{\"a\":\"\x01\"}",
    "{\"a\":\"\xff\"}", "{\"a\" 1}", "{\"a\":1 \"b\":2}", "{\"a\":NaN}", "{\"a\":\"unterminated}",
  };
  for (guint i = 0; i < G_N_ELEMENTS (bodies); i++)
    {
      g_autofree char *out = json_after ("{\"add\":{\"json\":[\"added:1\"]}}", bodies[i]);
      g_autofree char *body = g_strescape (bodies[i], NULL);
      g_test_message ("%s -> %s", body, out);
      g_assert_null (out);
    }

  /* Nesting past the limit is refused, not a stack overflow. */
  GString *deep = g_string_new ("{\"a\":");
  for (int i = 0; i < 100000; i++)
    g_string_append_c (deep, '[');
  g_autofree char *out = json_after ("{\"add\":{\"json\":[\"added:1\"]}}", deep->str);
  g_assert_null (out);
  g_string_free (deep, TRUE);

  g_autofree char *none = json_after ("{\"remove\":{\"json\":[\"absent\"]},\"rename\":{\"json\":[\"x:y\"]}}",
                                      "{\"a\":1}");
  g_assert_null (none);
  g_autofree char *ok = json_after ("{\"add\":{\"json\":[\"b:1\"],\"json_types\":[\"number\"]}}",
                                    " \r\n{\"a\":[true,false,null,-0.5e-3,\"\\/\\b\\f\\n\\r\\t\"]}\t");
  g_assert_cmpstr (ok, ==, " \r\n{\"a\":[true,false,null,-0.5e-3,\"\\/\\b\\f\\n\\r\\t\"],\"b\":1}\t");
}

static void
test_wants_body (void)
{
  g_test_summary ("Which heads get their body edited: JSON edits configured, application/json or "
                  "+json (any case, with parameters), not compressed, not known to be too long.");
  ResponseTransformerConf *conf = conf_ok ("{\"remove\":{\"json\":[\"a\"]}}");
  g_assert_true (response_transformer_wants_body (conf, "application/json", NULL, NULL));
  g_assert_true (response_transformer_wants_body (conf, " Application/JSON ; charset=utf-8", NULL, "10"));
  g_assert_true (response_transformer_wants_body (conf, "application/problem+json", "identity", NULL));
  g_assert_true (response_transformer_wants_body (conf, "application/vnd.api+JSON;v=1", NULL, NULL));
  g_assert_false (response_transformer_wants_body (conf, NULL, NULL, NULL));
  g_assert_false (response_transformer_wants_body (conf, "text/plain", NULL, NULL));
  g_assert_false (response_transformer_wants_body (conf, "application/jsonp", NULL, NULL));
  g_assert_false (response_transformer_wants_body (conf, "application/json-seq", NULL, NULL));
  g_assert_false (response_transformer_wants_body (conf, "+json", NULL, NULL));
  g_assert_false (response_transformer_wants_body (conf, "application/json", "gzip", NULL));
  g_assert_false (response_transformer_wants_body (conf, "application/json", NULL, "8388609"));
  g_assert_true (response_transformer_wants_body (conf, "application/json", NULL, "8388608"));
  response_transformer_conf_free (conf);

  conf = conf_ok ("{\"remove\":{\"headers\":[\"X-A\"]}}");
  g_assert_false (response_transformer_wants_body (conf, "application/json", NULL, NULL));
  response_transformer_conf_free (conf);
}

typedef struct {
  ResponseTransformerConf *conf;
  ResponseTransformerBody *body;
} BodyFixture;

static void
body_setup (BodyFixture *f, gconstpointer data)
{
  f->conf = conf_ok ("{\"add\":{\"json\":[\"n:1\"],\"json_types\":[\"number\"]}}");
  f->conf->max_body = 16;
  f->body = g_new0 (ResponseTransformerBody, 1);
}

static void
body_teardown (BodyFixture *f, gconstpointer data)
{
  response_transformer_body_free (f->body);
  response_transformer_conf_free (f->conf);
}

static ResponseTransformerStep
feed (BodyFixture *f, const char *chunk, gboolean last, char **out)
{
  const char *o = NULL;
  gsize len = 0;
  ResponseTransformerStep step = response_transformer_body_feed (f->body, f->conf, chunk, strlen (chunk), last, &o, &len);
  *out = o ? g_strndup (o, len) : NULL;
  return step;
}

static void
test_body_chunks (BodyFixture *f, gconstpointer data)
{
  g_test_summary ("Chunks are held back (an empty chunk goes on) and the edited body goes on "
                  "with the last one, even an empty last chunk.");
  g_autofree char *o1 = NULL, *o2 = NULL, *o3 = NULL;
  g_assert_cmpint (feed (f, "{\"a\":", FALSE, &o1), ==, RESPONSE_TRANSFORMER_HOLD);
  g_assert_cmpint (feed (f, "[1]}", FALSE, &o2), ==, RESPONSE_TRANSFORMER_HOLD);
  g_assert_cmpint (feed (f, "", TRUE, &o3), ==, RESPONSE_TRANSFORMER_EMIT);
  g_assert_cmpstr (o3, ==, "{\"a\":[1],\"n\":1}");
}

static void
test_body_one_chunk (BodyFixture *f, gconstpointer data)
{
  g_test_summary ("A body in one last chunk is edited without being copied; one that is not JSON "
                  "passes as it is.");
  g_autofree char *o1 = NULL, *o2 = NULL;
  g_assert_cmpint (feed (f, "{}", TRUE, &o1), ==, RESPONSE_TRANSFORMER_EMIT);
  g_assert_cmpstr (o1, ==, "{\"n\":1}");
  g_assert_null (f->body->held);

  response_transformer_body_free (f->body);
  f->body = g_new0 (ResponseTransformerBody, 1);
  g_assert_cmpint (feed (f, "not json", TRUE, &o2), ==, RESPONSE_TRANSFORMER_PASS);
}

static void
test_body_not_json (BodyFixture *f, gconstpointer data)
{
  g_test_summary ("A held body that turns out not to be JSON goes on unchanged with the last chunk.");
  g_autofree char *o1 = NULL, *o2 = NULL;
  g_assert_cmpint (feed (f, "{\"a\":", FALSE, &o1), ==, RESPONSE_TRANSFORMER_HOLD);
  g_assert_cmpint (feed (f, "oops}", TRUE, &o2), ==, RESPONSE_TRANSFORMER_EMIT);
  g_assert_cmpstr (o2, ==, "{\"a\":oops}");
}

static void
test_body_cap (BodyFixture *f, gconstpointer data)
{
  g_test_summary ("The cap: a body of exactly max_body bytes is edited; past it, all that was held "
                  "goes on unchanged at once and every later chunk passes as it is.");
  g_autofree char *o1 = NULL, *o2 = NULL, *o3 = NULL, *o4 = NULL, *o5 = NULL, *o6 = NULL;
  /* 16 bytes exactly. */
  g_assert_cmpint (feed (f, "{\"a\":\"0123", FALSE, &o1), ==, RESPONSE_TRANSFORMER_HOLD);
  g_assert_cmpint (feed (f, "4567\"}", TRUE, &o2), ==, RESPONSE_TRANSFORMER_EMIT);
  g_assert_cmpstr (o2, ==, "{\"a\":\"01234567\",\"n\":1}");

  response_transformer_body_free (f->body);
  f->body = g_new0 (ResponseTransformerBody, 1);
  g_assert_cmpint (feed (f, "{\"a\":\"0123", FALSE, &o3), ==, RESPONSE_TRANSFORMER_HOLD);
  g_assert_cmpint (feed (f, "4567890", FALSE, &o4), ==, RESPONSE_TRANSFORMER_OVERFLOW);
  g_assert_cmpstr (o4, ==, "{\"a\":\"01234567890");
  g_assert_cmpint (feed (f, "\"}", FALSE, &o5), ==, RESPONSE_TRANSFORMER_PASS);
  g_assert_cmpint (feed (f, "", TRUE, &o6), ==, RESPONSE_TRANSFORMER_PASS);

  /* One last chunk over the cap passes too. */
  response_transformer_body_free (f->body);
  f->body = g_new0 (ResponseTransformerBody, 1);
  g_autofree char *o7 = NULL;
  g_assert_cmpint (feed (f, "{\"a\":\"0123456789\"}", TRUE, &o7), ==, RESPONSE_TRANSFORMER_PASS);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/modules/response-transformer/config", test_config);
  g_test_add_func ("/modules/response-transformer/json/edits", test_json_edits);
  g_test_add_func ("/modules/response-transformer/json/passes", test_json_passes);
  g_test_add_func ("/modules/response-transformer/wants-body", test_wants_body);
  g_test_add ("/modules/response-transformer/body/chunks", BodyFixture, NULL, body_setup, test_body_chunks,
              body_teardown);
  g_test_add ("/modules/response-transformer/body/one-chunk", BodyFixture, NULL, body_setup,
              test_body_one_chunk, body_teardown);
  g_test_add ("/modules/response-transformer/body/not-json", BodyFixture, NULL, body_setup,
              test_body_not_json, body_teardown);
  g_test_add ("/modules/response-transformer/body/cap", BodyFixture, NULL, body_setup, test_body_cap,
              body_teardown);
  return g_test_run ();
}
