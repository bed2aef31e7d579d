/* Unit tests for core/json-reader on its own: the paths it builds, the
 * exact text of every error its getters record, unknown keys, and walks
 * over nested objects and arrays. */
#include "core/json-reader.h"

#include <stdarg.h>
#include <string.h>

typedef struct {
  PorticoJsonReader *reader;
  JsonNode *root;
  guint checked; /* errors already compared by assert_errors() */
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->reader = portico_json_reader_new ();
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_clear_pointer (&f->root, json_node_unref);
  g_clear_pointer (&f->reader, portico_json_reader_free);
}

/* Parses @text, written with ' for ", and returns its root object. */
static JsonObject *
load (Fixture *f, const char *text)
{
  g_autofree char *json = g_strdup (text);

  g_strdelimit (json, "'", '"');
  g_clear_pointer (&f->root, json_node_unref);
  f->root = portico_json_reader_parse (f->reader, json, -1);
  g_assert_nonnull (f->root);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (f->root));
  return json_node_get_object (f->root);
}

/* Asserts that the errors recorded since the last call are exactly the
 * NULL-terminated list given, in order. */
static void
assert_errors (Fixture *f, ...)
{
  GPtrArray *errors = portico_json_reader_get_errors (f->reader);
  const char *expected;
  va_list args;

  va_start (args, f);
  while ((expected = va_arg (args, const char *))) {
    if (f->checked >= errors->len)
      g_assert_cmpstr (NULL, ==, expected);
    g_assert_cmpstr (g_ptr_array_index (errors, f->checked), ==, expected);
    f->checked++;
  }
  va_end (args);
  if (f->checked < errors->len)
    g_assert_cmpstr (g_ptr_array_index (errors, f->checked), ==, NULL);
}

/* ---- paths and errors ------------------------------------------------------------ */

static void
test_path_build (Fixture *f, gconstpointer data)
{
  PorticoJsonReader *r = f->reader;

  g_test_summary ("Keys join with \".\", indexes append \"[i]\", and each pop restores the "
                  "path exactly as it was before the matching push.");
  g_assert_cmpstr (portico_json_reader_get_path (r), ==, "");
  portico_json_reader_push_key (r, "services");
  g_assert_cmpstr (portico_json_reader_get_path (r), ==, "services");
  portico_json_reader_push_index (r, 0);
  portico_json_reader_push_key (r, "routes");
  portico_json_reader_push_index (r, 1);
  portico_json_reader_push_key (r, "paths");
  portico_json_reader_push_index (r, 0);
  g_assert_cmpstr (portico_json_reader_get_path (r), ==, "services[0].routes[1].paths[0]");
  portico_json_reader_pop (r);
  g_assert_cmpstr (portico_json_reader_get_path (r), ==, "services[0].routes[1].paths");
  portico_json_reader_pop (r);
  portico_json_reader_pop (r);
  g_assert_cmpstr (portico_json_reader_get_path (r), ==, "services[0].routes");
  portico_json_reader_pop (r);
  portico_json_reader_push_index (r, 12);
  g_assert_cmpstr (portico_json_reader_get_path (r), ==, "services[0][12]");
  portico_json_reader_pop (r);
  portico_json_reader_pop (r);
  portico_json_reader_pop (r);
  g_assert_cmpstr (portico_json_reader_get_path (r), ==, "");

  /* A document that is an array starts with an index. */
  portico_json_reader_push_index (r, 3);
  portico_json_reader_push_key (r, "name");
  g_assert_cmpstr (portico_json_reader_get_path (r), ==, "[3].name");
  portico_json_reader_pop (r);
  portico_json_reader_pop (r);
  g_assert_cmpstr (portico_json_reader_get_path (r), ==, "");
  assert_errors (f, NULL);
}

static void
test_path_pop_unbalanced (Fixture *f, gconstpointer data)
{
  g_test_summary ("A pop without a push is a programmer error: reported, path unchanged.");
  g_test_expect_message ("portico", G_LOG_LEVEL_CRITICAL, "*marks->len > 0*");
  portico_json_reader_pop (f->reader);
  g_test_assert_expected_messages ();
  g_assert_cmpstr (portico_json_reader_get_path (f->reader), ==, "");
}

static void
test_path_errors (Fixture *f, gconstpointer data)
{
  PorticoJsonReader *r = f->reader;

  g_test_summary ("An error names the path, plus the key when one is given; an error about "
                  "the root itself says (root).");
  portico_json_reader_error (r, NULL, "must be a JSON object");
  portico_json_reader_error (r, "version", "is required (use \"%d\")", 1);
  portico_json_reader_push_key (r, "items");
  portico_json_reader_push_index (r, 2);
  portico_json_reader_error (r, NULL, "is wrong");
  portico_json_reader_error (r, "size", "must be %s than %u", "less", 7u);
  portico_json_reader_pop (r);
  portico_json_reader_pop (r);
  assert_errors (f, "(root): must be a JSON object", "version: is required (use \"1\")",
                 "items[2]: is wrong", "items[2].size: must be less than 7", NULL);
}

static void
test_parse (Fixture *f, gconstpointer data)
{
  GPtrArray *errors = portico_json_reader_get_errors (f->reader);
  JsonNode *root;

  g_test_summary ("A syntax error is recorded as line:col: without json-glib's <data> name; "
                  "an empty document reads as null, so NULL always means a syntax error.");
  g_assert_null (portico_json_reader_parse (f->reader, "{\n  \"a\": 1,\n  \"b\": }", -1));
  g_assert_cmpuint (errors->len, ==, 1);
  g_assert_true (g_str_has_prefix (g_ptr_array_index (errors, 0), "3:8: "));
  g_assert_null (strstr (g_ptr_array_index (errors, 0), "<data>"));
  f->checked = 1;

  root = portico_json_reader_parse (f->reader, "", -1);
  g_assert_nonnull (root);
  g_assert_true (JSON_NODE_HOLDS_NULL (root));
  json_node_unref (root);

  root = portico_json_reader_parse (f->reader, "[1, 2] and more", 6);
  g_assert_nonnull (root);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (root));
  json_node_unref (root);
  assert_errors (f, NULL);
}

/* ---- typed reads ------------------------------------------------------------------- */

#define MIXED "{'s': 'text', 'e': '', 'n': null, 'i': 1, 'b': true, 'a': [], 'o': {}, 'f': 1.5}"

static void
test_get_string (Fixture *f, gconstpointer data)
{
  JsonObject *o = load (f, MIXED);
  PorticoJsonReader *r = f->reader;
  const char *out = "untouched";

  g_test_summary ("null reads as absent; any type but a string is recorded once; *out only "
                  "changes on OK.");
  portico_json_reader_push_key (r, "obj");
  g_assert_cmpint (portico_json_reader_get_string (r, o, "missing", &out), ==,
                   PORTICO_JSON_FIELD_ABSENT);
  g_assert_cmpint (portico_json_reader_get_string (r, o, "n", &out), ==,
                   PORTICO_JSON_FIELD_ABSENT);
  g_assert_cmpstr (out, ==, "untouched");
  for (const char *const *key = (const char *const[]) { "i", "b", "a", "o", "f", NULL }; *key;
       key++)
    g_assert_cmpint (portico_json_reader_get_string (r, o, *key, &out), ==,
                     PORTICO_JSON_FIELD_INVALID);
  g_assert_cmpstr (out, ==, "untouched");
  assert_errors (f, "obj.i: must be a string", "obj.b: must be a string",
                 "obj.a: must be a string", "obj.o: must be a string", "obj.f: must be a string",
                 NULL);
  g_assert_cmpint (portico_json_reader_get_string (r, o, "e", &out), ==, PORTICO_JSON_FIELD_OK);
  g_assert_cmpstr (out, ==, "");
  g_assert_cmpint (portico_json_reader_get_string (r, o, "s", &out), ==, PORTICO_JSON_FIELD_OK);
  g_assert_cmpstr (out, ==, "text");
  assert_errors (f, NULL);
}

static void
test_get_nonempty (Fixture *f, gconstpointer data)
{
  JsonObject *o = load (f, MIXED);
  PorticoJsonReader *r = f->reader;
  const char *out = NULL;

  portico_json_reader_push_key (r, "obj");
  g_assert_cmpint (portico_json_reader_get_nonempty_string (r, o, "e", &out), ==,
                   PORTICO_JSON_FIELD_INVALID);
  g_assert_null (out);
  g_assert_cmpint (portico_json_reader_get_nonempty_string (r, o, "n", &out), ==,
                   PORTICO_JSON_FIELD_ABSENT);
  g_assert_cmpint (portico_json_reader_get_nonempty_string (r, o, "s", &out), ==,
                   PORTICO_JSON_FIELD_OK);
  g_assert_cmpstr (out, ==, "text");
  assert_errors (f, "obj.e: must not be empty", NULL);

  g_assert_cmpstr (portico_json_reader_require_string (r, o, "s"), ==, "text");
  g_assert_null (portico_json_reader_require_string (r, o, "missing"));
  g_assert_null (portico_json_reader_require_string (r, o, "n"));
  g_assert_null (portico_json_reader_require_string (r, o, "e"));
  g_assert_null (portico_json_reader_require_string (r, o, "i"));
  assert_errors (f, "obj.missing: is required", "obj.n: is required", "obj.e: must not be empty",
                 "obj.i: must be a string", NULL);
}

static void
test_get_int (Fixture *f, gconstpointer data)
{
  JsonObject *o = load (f, "{'zero': 0, 'low': -5, 'high': 5, 'under': -6, 'over': 6, "
                           "'frac': 1.5, 'text': '2', 'bool': true, 'huge': 9223372036854775807}");
  PorticoJsonReader *r = f->reader;
  gint64 value = 42;
  guint unsigned_value = 42;

  g_test_summary ("Both bounds are inclusive; outside them, a fraction, a string or a boolean "
                  "give the same message with the range; *out only changes on OK.");
  g_assert_cmpint (portico_json_reader_get_int (r, o, "zero", -5, 5, &value), ==,
                   PORTICO_JSON_FIELD_OK);
  g_assert_cmpint (value, ==, 0);
  g_assert_cmpint (portico_json_reader_get_int (r, o, "low", -5, 5, &value), ==,
                   PORTICO_JSON_FIELD_OK);
  g_assert_cmpint (value, ==, -5);
  g_assert_cmpint (portico_json_reader_get_int (r, o, "high", -5, 5, &value), ==,
                   PORTICO_JSON_FIELD_OK);
  g_assert_cmpint (value, ==, 5);
  for (const char *const *key =
           (const char *const[]) { "under", "over", "frac", "text", "bool", NULL };
       *key; key++)
    g_assert_cmpint (portico_json_reader_get_int (r, o, *key, -5, 5, &value), ==,
                     PORTICO_JSON_FIELD_INVALID);
  g_assert_cmpint (value, ==, 5);
  g_assert_cmpint (portico_json_reader_get_int (r, o, "missing", -5, 5, &value), ==,
                   PORTICO_JSON_FIELD_ABSENT);
  g_assert_cmpint (portico_json_reader_get_int (r, o, "huge", 0, G_MAXINT64, &value), ==,
                   PORTICO_JSON_FIELD_OK);
  g_assert_cmpint (value, ==, G_MAXINT64);
  assert_errors (f, "under: must be an integer between -5 and 5",
                 "over: must be an integer between -5 and 5",
                 "frac: must be an integer between -5 and 5",
                 "text: must be an integer between -5 and 5",
                 "bool: must be an integer between -5 and 5", NULL);

  g_assert_cmpint (portico_json_reader_get_uint (r, o, "high", 0, 10, &unsigned_value), ==,
                   PORTICO_JSON_FIELD_OK);
  g_assert_cmpuint (unsigned_value, ==, 5);
  g_assert_cmpint (portico_json_reader_get_uint (r, o, "low", 0, 10, &unsigned_value), ==,
                   PORTICO_JSON_FIELD_INVALID);
  g_assert_cmpint (portico_json_reader_get_uint (r, o, "huge", 0, G_MAXUINT, &unsigned_value),
                   ==, PORTICO_JSON_FIELD_INVALID);
  g_assert_cmpuint (unsigned_value, ==, 5);
  assert_errors (f, "low: must be an integer between 0 and 10",
                 "huge: must be an integer between 0 and 4294967295", NULL);
}

static void
test_get_bool (Fixture *f, gconstpointer data)
{
  JsonObject *o = load (f, "{'yes': true, 'no': false, 'one': 1, 'text': 'true', 'n': null}");
  PorticoJsonReader *r = f->reader;
  gboolean value = TRUE;

  g_assert_cmpint (portico_json_reader_get_bool (r, o, "no", &value), ==, PORTICO_JSON_FIELD_OK);
  g_assert_false (value);
  g_assert_cmpint (portico_json_reader_get_bool (r, o, "yes", &value), ==, PORTICO_JSON_FIELD_OK);
  g_assert_true (value);
  g_assert_cmpint (portico_json_reader_get_bool (r, o, "n", &value), ==,
                   PORTICO_JSON_FIELD_ABSENT);
  portico_json_reader_push_key (r, "flags");
  g_assert_cmpint (portico_json_reader_get_bool (r, o, "one", &value), ==,
                   PORTICO_JSON_FIELD_INVALID);
  g_assert_cmpint (portico_json_reader_get_bool (r, o, "text", &value), ==,
                   PORTICO_JSON_FIELD_INVALID);
  g_assert_true (value);
  assert_errors (f, "flags.one: must be true or false", "flags.text: must be true or false",
                 NULL);
}

static void
test_get_object_array (Fixture *f, gconstpointer data)
{
  static const char *const allowed[] = { "host", "port", NULL };
  JsonObject *o = load (f, "{'obj': {'host': 'h', 'prt': 1}, 'list': [1, 2], 'n': null}");
  PorticoJsonReader *r = f->reader;
  JsonObject *object = NULL;
  JsonArray *array = NULL;

  g_test_summary ("get_object checks the object's keys at its own path when given the "
                  "allowed ones; a value of the other container type is recorded.");
  g_assert_cmpint (portico_json_reader_get_object (r, o, "obj", NULL, &object), ==,
                   PORTICO_JSON_FIELD_OK);
  g_assert_true (json_object_has_member (object, "prt"));
  assert_errors (f, NULL);
  portico_json_reader_push_key (r, "outer");
  g_assert_cmpint (portico_json_reader_get_object (r, o, "obj", allowed, &object), ==,
                   PORTICO_JSON_FIELD_OK);
  g_assert_cmpstr (portico_json_reader_get_path (r), ==, "outer");
  assert_errors (f, "outer.obj.prt: unknown key (did you mean \"port\"?)", NULL);

  g_assert_cmpint (portico_json_reader_get_array (r, o, "list", &array), ==,
                   PORTICO_JSON_FIELD_OK);
  g_assert_cmpuint (json_array_get_length (array), ==, 2);
  g_assert_cmpint (portico_json_reader_get_object (r, o, "list", allowed, &object), ==,
                   PORTICO_JSON_FIELD_INVALID);
  g_assert_cmpint (portico_json_reader_get_array (r, o, "obj", &array), ==,
                   PORTICO_JSON_FIELD_INVALID);
  g_assert_cmpint (portico_json_reader_get_object (r, o, "n", NULL, &object), ==,
                   PORTICO_JSON_FIELD_ABSENT);
  g_assert_cmpint (portico_json_reader_get_array (r, o, "n", &array), ==,
                   PORTICO_JSON_FIELD_ABSENT);
  assert_errors (f, "outer.list: must be an object", "outer.obj: must be an array", NULL);
}

static void
test_as_node (Fixture *f, gconstpointer data)
{
  static const char *const allowed[] = { "alpha", NULL };
  JsonObject *o = load (f, "{'list': ['x', 2, {'alpha': 1, 'b': 2}]}");
  JsonArray *list = json_object_get_array_member (o, "list");
  PorticoJsonReader *r = f->reader;

  g_test_summary ("as_object and as_string judge a node at the current path.");
  g_assert_true (portico_json_reader_as_object (r, f->root, NULL) == o);
  portico_json_reader_push_key (r, "list");
  portico_json_reader_push_index (r, 0);
  g_assert_cmpstr (portico_json_reader_as_string (r, json_array_get_element (list, 0)), ==, "x");
  g_assert_null (portico_json_reader_as_object (r, json_array_get_element (list, 0), NULL));
  portico_json_reader_pop (r);
  portico_json_reader_push_index (r, 1);
  g_assert_null (portico_json_reader_as_string (r, json_array_get_element (list, 1)));
  portico_json_reader_pop (r);
  portico_json_reader_push_index (r, 2);
  g_assert_nonnull (portico_json_reader_as_object (r, json_array_get_element (list, 2), allowed));
  portico_json_reader_pop (r);
  portico_json_reader_pop (r);
  assert_errors (f, "list[0]: must be an object", "list[1]: must be a string",
                 "list[2].b: unknown key (expected one of: alpha)", NULL);

  g_assert_cmpstr (portico_json_string (json_array_get_element (list, 0)), ==, "x");
  g_assert_null (portico_json_string (json_array_get_element (list, 1)));
  g_assert_nonnull (portico_json_member (o, "list"));
  g_assert_null (portico_json_member (o, "missing"));
  g_assert_null (portico_json_member (NULL, "list"));
  assert_errors (f, NULL);
}

/* ---- arrays of strings -------------------------------------------------------------- */

/* Upper-cases, refuses "x"; counts its calls in @user_data and checks that
 * the reader's path is the element's. */
static char *
check_upper (PorticoJsonReader *reader, const char *value, gpointer user_data)
{
  guint *calls = user_data;
  g_autofree char *expected = g_strdup_printf ("words[%u]", *calls + 1);

  g_assert_cmpstr (portico_json_reader_get_path (reader), ==, expected);
  (*calls)++;
  if (g_str_equal (value, "x")) {
    portico_json_reader_error (reader, NULL, "must not be \"%s\"", value);
    return NULL;
  }
  return g_ascii_strup (value, -1);
}

static void
test_get_strings (Fixture *f, gconstpointer data)
{
  JsonObject *o = load (f, "{'tags': ['a', 1, 'b', null, ''], 'empty': [], 'text': 'a', "
                           "'words': [true, 'get', 'x', 'Put'], 'blank': ['ok', '']}");
  PorticoJsonReader *r = f->reader;
  g_auto(GStrv) tags = NULL;
  g_auto(GStrv) empty = NULL;
  g_auto(GStrv) text = NULL;
  g_auto(GStrv) words = NULL;
  g_auto(GStrv) blank = NULL;
  guint calls = 0;

  g_test_summary ("Each element that is not a string is recorded at its index, the valid "
                  "ones are still returned; the check sees the element's path and may "
                  "normalize.");
  g_assert_cmpint (portico_json_reader_get_strings (r, o, "tags", NULL, NULL, &tags), ==,
                   PORTICO_JSON_FIELD_INVALID);
  g_assert_cmpuint (g_strv_length (tags), ==, 3);
  g_assert_cmpstr (tags[0], ==, "a");
  g_assert_cmpstr (tags[1], ==, "b");
  g_assert_cmpstr (tags[2], ==, "");
  assert_errors (f, "tags[1]: must be a string", "tags[3]: must be a string", NULL);

  g_assert_cmpint (portico_json_reader_get_strings (r, o, "empty", NULL, NULL, &empty), ==,
                   PORTICO_JSON_FIELD_OK);
  g_assert_nonnull (empty);
  g_assert_null (empty[0]);
  g_assert_cmpint (portico_json_reader_get_strings (r, o, "text", NULL, NULL, &text), ==,
                   PORTICO_JSON_FIELD_INVALID);
  g_assert_null (text);
  g_assert_cmpint (portico_json_reader_get_strings (r, o, "missing", NULL, NULL, &text), ==,
                   PORTICO_JSON_FIELD_ABSENT);
  g_assert_null (text);
  assert_errors (f, "text: must be an array", NULL);

  g_assert_cmpint (portico_json_reader_get_strings (r, o, "words", check_upper, &calls, &words),
                   ==, PORTICO_JSON_FIELD_INVALID);
  g_assert_cmpuint (calls, ==, 3);
  g_assert_cmpuint (g_strv_length (words), ==, 2);
  g_assert_cmpstr (words[0], ==, "GET");
  g_assert_cmpstr (words[1], ==, "PUT");
  assert_errors (f, "words[0]: must be a string", "words[2]: must not be \"x\"", NULL);

  g_assert_cmpint (portico_json_reader_get_strings (r, o, "blank",
                                                    portico_json_reader_check_nonempty, NULL,
                                                    &blank),
                   ==, PORTICO_JSON_FIELD_INVALID);
  g_assert_cmpuint (g_strv_length (blank), ==, 1);
  assert_errors (f, "blank[1]: must not be empty", NULL);
  g_assert_cmpstr (portico_json_reader_get_path (r), ==, "");
}

/* ---- unknown keys ------------------------------------------------------------------ */

static void
test_keys_hint (Fixture *f, gconstpointer data)
{
  static const char *const allowed[] = { "name", "paths", "hosts", "methods", NULL };
  JsonObject *o = load (f, "{'name': 1, 'path': 1, 'hostss': 1, 'nmae': 1, 'colour': 1, "
                           "'methods': 1, 'Paths': 1}");

  g_test_summary ("A key close to an allowed one gets \"did you mean\" (one edit for keys of "
                  "up to 4 characters, two beyond); otherwise the list of allowed keys. "
                  "Keys are reported in the document's order.");
  portico_json_reader_push_key (f->reader, "routes");
  portico_json_reader_push_index (f->reader, 1);
  portico_json_reader_check_keys (f->reader, o, allowed);
  assert_errors (f, "routes[1].path: unknown key (did you mean \"paths\"?)",
                 "routes[1].hostss: unknown key (did you mean \"hosts\"?)",
                 "routes[1].nmae: unknown key (expected one of: name, paths, hosts, methods)",
                 "routes[1].colour: unknown key (expected one of: name, paths, hosts, methods)",
                 "routes[1].Paths: unknown key (did you mean \"paths\"?)", NULL);
}

static void
test_keys_list (Fixture *f, gconstpointer data)
{
  static const char *const thirteen[] = { "a1", "b2", "c3", "d4", "e5", "f6", "g7",
                                          "h8", "i9", "j10", "k11", "l12", "m13", NULL };
  static const char *const fourteen[] = { "a1", "b2", "c3", "d4", "e5", "f6", "g7", "h8",
                                          "i9", "j10", "k11", "l12", "m13", "n14", NULL };
  static const char *const none[] = { NULL };
  JsonObject *o = load (f, "{'zzzzzz': 1}");

  g_test_summary ("Up to 13 allowed keys are listed; past that, or with none allowed, the "
                  "error says only \"unknown key\".");
  portico_json_reader_check_keys (f->reader, o, thirteen);
  portico_json_reader_check_keys (f->reader, o, fourteen);
  portico_json_reader_check_keys (f->reader, o, none);
  assert_errors (f,
                 "zzzzzz: unknown key (expected one of: a1, b2, c3, d4, e5, f6, g7, h8, i9, "
                 "j10, k11, l12, m13)",
                 "zzzzzz: unknown key", "zzzzzz: unknown key", NULL);
}

static void
test_keys_long (Fixture *f, gconstpointer data)
{
  g_autofree char *key = g_strnfill (70, 'k');
  g_autofree char *near = g_strconcat (key, "s", NULL);
  const char *allowed[] = { near, NULL };
  g_autoptr(JsonObject) o = json_object_new ();
  g_autofree char *expected = g_strdup_printf ("%s: unknown key (expected one of: %s)", key, near);

  g_test_summary ("A very long unknown key gets no suggestion, however close it is.");
  json_object_set_int_member (o, key, 1);
  portico_json_reader_check_keys (f->reader, o, allowed);
  assert_errors (f, expected, NULL);
}

static void
test_keys_valid (Fixture *f, gconstpointer data)
{
  static const char *const allowed[] = { "a", "b", NULL };
  JsonObject *o = load (f, "{'b': 1, 'a': null}");

  portico_json_reader_check_keys (f->reader, o, allowed);
  portico_json_reader_check_keys (f->reader, NULL, allowed);
  assert_errors (f, NULL);
}

/* ---- walks --------------------------------------------------------------------------- */

typedef struct {
  GPtrArray *visited; /* paths at which load_book ran */
} Walk;

static char *
check_tag (PorticoJsonReader *reader, const char *value, gpointer user_data)
{
  if (value[0] != '#') {
    portico_json_reader_error (reader, NULL, "must start with \"#\"");
    return NULL;
  }
  return g_strdup (value + 1);
}

static void
load_book (PorticoJsonReader *reader, JsonNode *element, gpointer user_data)
{
  static const char *const keys[] = { "title", "tags", "pages", NULL };
  Walk *walk = user_data;
  g_auto(GStrv) tags = NULL;
  JsonObject *book;
  guint pages = 0;

  g_ptr_array_add (walk->visited, g_strdup (portico_json_reader_get_path (reader)));
  if (!(book = portico_json_reader_as_object (reader, element, keys)))
    return;
  portico_json_reader_require_string (reader, book, "title");
  portico_json_reader_get_strings (reader, book, "tags", check_tag, NULL, &tags);
  portico_json_reader_get_uint (reader, book, "pages", 1, 10000, &pages);
}

static void
load_shelf (PorticoJsonReader *reader, JsonNode *element, gpointer user_data)
{
  static const char *const keys[] = { "books", "label", NULL };
  JsonObject *shelf;

  if (!(shelf = portico_json_reader_as_object (reader, element, keys)))
    return;
  portico_json_reader_foreach (reader, shelf, "books", load_book, user_data);
}

static void
test_walk_nested (Fixture *f, gconstpointer data)
{
  JsonObject *o = load (f, "{'shelves': ["
                           "  {'books': [{'title': 'A', 'tags': ['#x', 'y']},"
                           "             {'title': '', 'pages': 0, 'isbn': 1},"
                           "             'loose']},"
                           "  {'label': 'empty', 'books': []},"
                           "  {'books': {'title': 'B'}},"
                           "  7,"
                           "  {'books': [{'tags': [1]}], 'lable': 'x'}"
                           "]}");
  g_autoptr(GPtrArray) visited = g_ptr_array_new_with_free_func (g_free);
  Walk walk = { visited };

  g_test_summary ("A walk over arrays of objects in arrays: each element is visited at its "
                  "own path, every error in the document is recorded at the right place and "
                  "in document order, and the path is back at the root afterwards.");
  g_assert_cmpint (portico_json_reader_foreach (f->reader, o, "shelves", load_shelf, &walk), ==,
                   PORTICO_JSON_FIELD_OK);
  g_assert_cmpstr (portico_json_reader_get_path (f->reader), ==, "");
  g_assert_cmpuint (visited->len, ==, 4);
  g_assert_cmpstr (g_ptr_array_index (visited, 0), ==, "shelves[0].books[0]");
  g_assert_cmpstr (g_ptr_array_index (visited, 1), ==, "shelves[0].books[1]");
  g_assert_cmpstr (g_ptr_array_index (visited, 2), ==, "shelves[0].books[2]");
  g_assert_cmpstr (g_ptr_array_index (visited, 3), ==, "shelves[4].books[0]");
  assert_errors (f, "shelves[0].books[0].tags[1]: must start with \"#\"",
                 "shelves[0].books[1].isbn: unknown key (expected one of: title, tags, pages)",
                 "shelves[0].books[1].title: must not be empty",
                 "shelves[0].books[1].pages: must be an integer between 1 and 10000",
                 "shelves[0].books[2]: must be an object",
                 "shelves[2].books: must be an array",
                 "shelves[3]: must be an object",
                 "shelves[4].lable: unknown key (did you mean \"label\"?)",
                 "shelves[4].books[0].title: is required",
                 "shelves[4].books[0].tags[0]: must be a string", NULL);
}

static void
test_walk_absent (Fixture *f, gconstpointer data)
{
  JsonObject *o = load (f, "{'n': null, 's': 'x'}");
  g_autoptr(GPtrArray) visited = g_ptr_array_new_with_free_func (g_free);
  Walk walk = { visited };

  g_assert_cmpint (portico_json_reader_foreach (f->reader, o, "missing", load_book, &walk), ==,
                   PORTICO_JSON_FIELD_ABSENT);
  g_assert_cmpint (portico_json_reader_foreach (f->reader, o, "n", load_book, &walk), ==,
                   PORTICO_JSON_FIELD_ABSENT);
  g_assert_cmpint (portico_json_reader_foreach (f->reader, NULL, "s", load_book, &walk), ==,
                   PORTICO_JSON_FIELD_ABSENT);
  g_assert_cmpint (portico_json_reader_foreach (f->reader, o, "s", load_book, &walk), ==,
                   PORTICO_JSON_FIELD_INVALID);
  g_assert_cmpuint (visited->len, ==, 0);
  assert_errors (f, "s: must be an array", NULL);
}

static void
test_null_object (Fixture *f, gconstpointer data)
{
  PorticoJsonReader *r = f->reader;
  const char *text = "default";
  JsonObject *object = NULL;
  g_auto(GStrv) strings = NULL;
  gboolean flag = TRUE;
  guint number = 3;

  g_test_summary ("A NULL object (a section left out, or already reported as wrong) reads as "
                  "an empty one: everything is absent, and only a required key is recorded.");
  portico_json_reader_push_key (r, "section");
  g_assert_cmpint (portico_json_reader_get_string (r, NULL, "a", &text), ==,
                   PORTICO_JSON_FIELD_ABSENT);
  g_assert_cmpint (portico_json_reader_get_uint (r, NULL, "a", 0, 9, &number), ==,
                   PORTICO_JSON_FIELD_ABSENT);
  g_assert_cmpint (portico_json_reader_get_bool (r, NULL, "a", &flag), ==,
                   PORTICO_JSON_FIELD_ABSENT);
  g_assert_cmpint (portico_json_reader_get_object (r, NULL, "a", NULL, &object), ==,
                   PORTICO_JSON_FIELD_ABSENT);
  g_assert_cmpint (portico_json_reader_get_strings (r, NULL, "a", NULL, NULL, &strings), ==,
                   PORTICO_JSON_FIELD_ABSENT);
  g_assert_cmpstr (text, ==, "default");
  g_assert_cmpuint (number, ==, 3);
  g_assert_true (flag);
  g_assert_null (object);
  g_assert_null (strings);
  g_assert_null (portico_json_reader_require_string (r, NULL, "name"));
  assert_errors (f, "section.name: is required", NULL);
}

/* ---- claims ------------------------------------------------------------------------- */

static void
test_claim (Fixture *f, gconstpointer data)
{
  PorticoJsonReader *r = f->reader;

  g_test_summary ("The first claim of a value wins and is remembered by path; kinds are "
                  "separate namespaces.");
  portico_json_reader_push_key (r, "users");
  portico_json_reader_push_index (r, 0);
  g_assert_null (portico_json_reader_claim (r, "username", "alice"));
  g_assert_null (portico_json_reader_claim (r, "key", "alice"));
  portico_json_reader_pop (r);
  portico_json_reader_push_index (r, 1);
  g_assert_cmpstr (portico_json_reader_claim (r, "username", "alice"), ==, "users[0]");
  g_assert_null (portico_json_reader_claim (r, "username", "bob"));
  g_assert_null (portico_json_reader_claim (r, "username", "Alice"));
  portico_json_reader_pop (r);
  portico_json_reader_push_index (r, 2);
  g_assert_cmpstr (portico_json_reader_claim (r, "username", "alice"), ==, "users[0]");
  g_assert_cmpstr (portico_json_reader_claim (r, "username", "bob"), ==, "users[1]");
  g_assert_cmpstr (portico_json_reader_claim (r, "key", "alice"), ==, "users[0]");
  portico_json_reader_pop (r);
  portico_json_reader_pop (r);
  assert_errors (f, NULL);
}

int
main (int argc, char **argv)
{
  static const struct {
    const char *path;
    void (*func) (Fixture *f, gconstpointer data);
  } tests[] = {
    { "/json-reader/path/build", test_path_build },
    { "/json-reader/path/pop-unbalanced", test_path_pop_unbalanced },
    { "/json-reader/path/errors", test_path_errors },
    { "/json-reader/parse", test_parse },
    { "/json-reader/get/string", test_get_string },
    { "/json-reader/get/nonempty-required", test_get_nonempty },
    { "/json-reader/get/int", test_get_int },
    { "/json-reader/get/bool", test_get_bool },
    { "/json-reader/get/object-array", test_get_object_array },
    { "/json-reader/get/node", test_as_node },
    { "/json-reader/get/strings", test_get_strings },
    { "/json-reader/keys/hint", test_keys_hint },
    { "/json-reader/keys/list", test_keys_list },
    { "/json-reader/keys/long", test_keys_long },
    { "/json-reader/keys/valid", test_keys_valid },
    { "/json-reader/walk/nested", test_walk_nested },
    { "/json-reader/walk/absent", test_walk_absent },
    { "/json-reader/walk/null-object", test_null_object },
    { "/json-reader/claim", test_claim },
  };

  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (tests); i++)
    g_test_add (tests[i].path, Fixture, NULL, fixture_set_up, tests[i].func, fixture_tear_down);
  return g_test_run ();
}
