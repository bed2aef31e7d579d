/* core/json-reader.c: typed, path-aware reads over a json-glib document.
 *
 * The path is one string that pushes append to and pops cut back to a
 * remembered length: a walk reuses one buffer, and only an error copies
 * the path. */
#include "core/json-reader.h"

#include <stdarg.h>
#include <string.h>

/* Past this many allowed keys, listing them all would not help. */
#define MAX_LISTED_KEYS 13
/* Longer unknown keys are not typos worth a suggestion. */
#define MAX_TYPO_LEN 64

struct _PorticoJsonReader {
  GString *path;
  GArray *marks;     /* guint: the path's length before each push */
  GPtrArray *errors; /* char *, "path: message" */
  GHashTable *claims; /* owned "kind\nvalue" -> owned path; NULL until the first claim */
};

PorticoJsonReader *
portico_json_reader_new (void)
{
  PorticoJsonReader *reader = g_new0 (PorticoJsonReader, 1);

  reader->path = g_string_new (NULL);
  reader->marks = g_array_new (FALSE, FALSE, sizeof (guint));
  reader->errors = g_ptr_array_new_with_free_func (g_free);
  return reader;
}

void
portico_json_reader_free (PorticoJsonReader *reader)
{
  if (!reader)
    return;
  g_string_free (reader->path, TRUE);
  g_array_unref (reader->marks);
  g_ptr_array_unref (reader->errors);
  g_clear_pointer (&reader->claims, g_hash_table_unref);
  g_free (reader);
}

JsonNode *
portico_json_from_bytes (GBytes *bytes, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  gsize len = 0;
  const char *data = g_bytes_get_data (bytes, &len);

  if (!json_parser_load_from_data (parser, data ? data : "", (gssize) len, error))
    return NULL;
  JsonNode *root = json_parser_steal_root (parser);
  return root ? root : json_node_new (JSON_NODE_NULL);
}

JsonNode *
portico_json_reader_parse (PorticoJsonReader *reader, const char *data, gssize len)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonNode *root;

  g_return_val_if_fail (reader != NULL, NULL);
  g_return_val_if_fail (data != NULL, NULL);

  if (!json_parser_load_from_data (parser, data, len, &error)) {
    const char *message = error->message;

    /* json-glib names the input "<data>"; the caller knows its real name. */
    if (g_str_has_prefix (message, "<data>:"))
      message += strlen ("<data>:");
    g_ptr_array_add (reader->errors, g_strdup (message));
    return NULL;
  }
  /* An empty document has no root: let it read as null, so that NULL
   * means only a syntax error. */
  root = json_parser_steal_root (parser);
  return root ? root : json_node_new (JSON_NODE_NULL);
}

/* ---- the path ---------------------------------------------------------------- */

const char *
portico_json_reader_get_path (PorticoJsonReader *reader)
{
  return reader->path->str;
}

static void
push_mark (PorticoJsonReader *reader)
{
  guint len = (guint) reader->path->len;

  g_array_append_val (reader->marks, len);
}

void
portico_json_reader_push_key (PorticoJsonReader *reader, const char *key)
{
  g_return_if_fail (key != NULL);

  push_mark (reader);
  if (reader->path->len > 0)
    g_string_append_c (reader->path, '.');
  g_string_append (reader->path, key);
}

void
portico_json_reader_push_index (PorticoJsonReader *reader, guint index)
{
  push_mark (reader);
  g_string_append_printf (reader->path, "[%u]", index);
}

void
portico_json_reader_pop (PorticoJsonReader *reader)
{
  g_return_if_fail (reader->marks->len > 0);

  g_string_truncate (reader->path, g_array_index (reader->marks, guint, reader->marks->len - 1));
  g_array_set_size (reader->marks, reader->marks->len - 1);
}

/* ---- errors ------------------------------------------------------------------ */

void
portico_json_reader_error (PorticoJsonReader *reader, const char *key, const char *format, ...)
{
  const char *path = reader->path->str;
  g_autofree char *message = NULL;
  g_autofree char *where = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  if (!key)
    where = g_strdup (*path ? path : "(root)");
  else
    where = *path ? g_strconcat (path, ".", key, NULL) : g_strdup (key);
  g_ptr_array_add (reader->errors, g_strdup_printf ("%s: %s", where, message));
}

GPtrArray *
portico_json_reader_get_errors (PorticoJsonReader *reader)
{
  return reader->errors;
}

const char *
portico_json_reader_claim (PorticoJsonReader *reader, const char *kind, const char *value)
{
  g_autofree char *key = g_strconcat (kind, "\n", value, NULL);
  const char *first;

  if (!reader->claims)
    reader->claims = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  if ((first = g_hash_table_lookup (reader->claims, key)))
    return first;
  g_hash_table_insert (reader->claims, g_steal_pointer (&key), g_strdup (reader->path->str));
  return NULL;
}

/* ---- unknown keys -------------------------------------------------------------- */

/* Levenshtein distance, one row at a time. */
static guint
edit_distance (const char *a, const char *b)
{
  size_t len_b = strlen (b);
  g_autofree guint *row = g_new (guint, len_b + 1);

  for (size_t j = 0; j <= len_b; j++)
    row[j] = (guint) j;
  for (size_t i = 1; a[i - 1]; i++) {
    guint diagonal = row[0];

    row[0] = (guint) i;
    for (size_t j = 1; j <= len_b; j++) {
      guint above = row[j];

      row[j] = MIN (MIN (row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] != b[j - 1]));
      diagonal = above;
    }
  }
  return row[len_b];
}

/* A likely typo gets a suggestion (a short key may be one edit off, a
 * longer one two); otherwise the allowed keys, when they are few. */
static char *
unknown_key_hint (const char *key, const char *const *allowed)
{
  const char *best = NULL;
  guint best_distance = strlen (key) <= 4 ? 2 : 3;

  if (strlen (key) <= MAX_TYPO_LEN) {
    for (guint i = 0; allowed[i]; i++) {
      guint distance = edit_distance (key, allowed[i]);

      if (distance < best_distance) {
        best = allowed[i];
        best_distance = distance;
      }
    }
  }
  if (best)
    return g_strdup_printf (" (did you mean \"%s\"?)", best);
  if (allowed[0] && g_strv_length ((GStrv) allowed) <= MAX_LISTED_KEYS) {
    g_autofree char *list = g_strjoinv (", ", (GStrv) allowed);

    return g_strdup_printf (" (expected one of: %s)", list);
  }
  return g_strdup ("");
}

void
portico_json_reader_check_keys (PorticoJsonReader *reader, JsonObject *object,
                                const char *const *allowed)
{
  GList *keys;

  g_return_if_fail (allowed != NULL);

  keys = object ? json_object_get_members (object) : NULL;
  for (GList *l = keys; l; l = l->next) {
    const char *key = l->data;

    if (!g_strv_contains (allowed, key)) {
      g_autofree char *hint = unknown_key_hint (key, allowed);

      portico_json_reader_error (reader, key, "unknown key%s", hint);
    }
  }
  g_list_free (keys);
}

/* ---- typed reads ----------------------------------------------------------------- */

JsonNode *
portico_json_member (JsonObject *object, const char *key)
{
  JsonNode *node = object ? json_object_get_member (object, key) : NULL;

  return node && !JSON_NODE_HOLDS_NULL (node) ? node : NULL;
}

const char *
portico_json_string (JsonNode *node)
{
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

JsonObject *
portico_json_reader_as_object (PorticoJsonReader *reader, JsonNode *node,
                               const char *const *allowed)
{
  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    portico_json_reader_error (reader, NULL, "must be an object");
    return NULL;
  }
  if (allowed)
    portico_json_reader_check_keys (reader, json_node_get_object (node), allowed);
  return json_node_get_object (node);
}

const char *
portico_json_reader_as_string (PorticoJsonReader *reader, JsonNode *node)
{
  const char *value = portico_json_string (node);

  if (!value)
    portico_json_reader_error (reader, NULL, "must be a string");
  return value;
}

PorticoJsonField
portico_json_reader_get_string (PorticoJsonReader *reader, JsonObject *object, const char *key,
                                const char **out)
{
  JsonNode *node = portico_json_member (object, key);
  const char *value;

  if (!node)
    return PORTICO_JSON_FIELD_ABSENT;
  if (!(value = portico_json_string (node))) {
    portico_json_reader_error (reader, key, "must be a string");
    return PORTICO_JSON_FIELD_INVALID;
  }
  *out = value;
  return PORTICO_JSON_FIELD_OK;
}

PorticoJsonField
portico_json_reader_get_nonempty_string (PorticoJsonReader *reader, JsonObject *object,
                                         const char *key, const char **out)
{
  const char *value;
  PorticoJsonField result = portico_json_reader_get_string (reader, object, key, &value);

  if (result != PORTICO_JSON_FIELD_OK)
    return result;
  if (!*value) {
    portico_json_reader_error (reader, key, "must not be empty");
    return PORTICO_JSON_FIELD_INVALID;
  }
  *out = value;
  return PORTICO_JSON_FIELD_OK;
}

const char *
portico_json_reader_require_string (PorticoJsonReader *reader, JsonObject *object, const char *key)
{
  const char *value = NULL;

  if (portico_json_reader_get_nonempty_string (reader, object, key, &value) ==
      PORTICO_JSON_FIELD_ABSENT)
    portico_json_reader_error (reader, key, "is required");
  return value;
}

PorticoJsonField
portico_json_reader_get_int (PorticoJsonReader *reader, JsonObject *object, const char *key,
                             gint64 min, gint64 max, gint64 *out)
{
  JsonNode *node = portico_json_member (object, key);
  gint64 value;

  if (!node)
    return PORTICO_JSON_FIELD_ABSENT;
  /* A fraction holds a double, not an int64: it is refused like a string. */
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64 ||
      (value = json_node_get_int (node)) < min || value > max) {
    portico_json_reader_error (reader, key,
                               "must be an integer between %" G_GINT64_FORMAT
                               " and %" G_GINT64_FORMAT, min, max);
    return PORTICO_JSON_FIELD_INVALID;
  }
  *out = value;
  return PORTICO_JSON_FIELD_OK;
}

PorticoJsonField
portico_json_reader_get_uint (PorticoJsonReader *reader, JsonObject *object, const char *key,
                              guint min, guint max, guint *out)
{
  gint64 value;
  PorticoJsonField result = portico_json_reader_get_int (reader, object, key, min, max, &value);

  if (result == PORTICO_JSON_FIELD_OK)
    *out = (guint) value;
  return result;
}

PorticoJsonField
portico_json_reader_get_bool (PorticoJsonReader *reader, JsonObject *object, const char *key,
                              gboolean *out)
{
  JsonNode *node = portico_json_member (object, key);

  if (!node)
    return PORTICO_JSON_FIELD_ABSENT;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN) {
    portico_json_reader_error (reader, key, "must be true or false");
    return PORTICO_JSON_FIELD_INVALID;
  }
  *out = json_node_get_boolean (node);
  return PORTICO_JSON_FIELD_OK;
}

PorticoJsonField
portico_json_reader_get_object (PorticoJsonReader *reader, JsonObject *object, const char *key,
                                const char *const *allowed, JsonObject **out)
{
  JsonNode *node = portico_json_member (object, key);

  if (!node)
    return PORTICO_JSON_FIELD_ABSENT;
  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    portico_json_reader_error (reader, key, "must be an object");
    return PORTICO_JSON_FIELD_INVALID;
  }
  *out = json_node_get_object (node);
  if (allowed) {
    portico_json_reader_push_key (reader, key);
    portico_json_reader_check_keys (reader, *out, allowed);
    portico_json_reader_pop (reader);
  }
  return PORTICO_JSON_FIELD_OK;
}

PorticoJsonField
portico_json_reader_get_array (PorticoJsonReader *reader, JsonObject *object, const char *key,
                               JsonArray **out)
{
  JsonNode *node = portico_json_member (object, key);

  if (!node)
    return PORTICO_JSON_FIELD_ABSENT;
  if (!JSON_NODE_HOLDS_ARRAY (node)) {
    portico_json_reader_error (reader, key, "must be an array");
    return PORTICO_JSON_FIELD_INVALID;
  }
  *out = json_node_get_array (node);
  return PORTICO_JSON_FIELD_OK;
}

char *
portico_json_reader_check_nonempty (PorticoJsonReader *reader, const char *value,
                                    gpointer user_data)
{
  if (!*value) {
    portico_json_reader_error (reader, NULL, "must not be empty");
    return NULL;
  }
  return g_strdup (value);
}

PorticoJsonField
portico_json_reader_get_strings (PorticoJsonReader *reader, JsonObject *object, const char *key,
                                 PorticoJsonStringCheck check, gpointer user_data, GStrv *out)
{
  g_autoptr(GPtrArray) strings = NULL;
  PorticoJsonField result;
  JsonArray *array;

  if ((result = portico_json_reader_get_array (reader, object, key, &array)) !=
      PORTICO_JSON_FIELD_OK)
    return result;
  strings = g_ptr_array_new_null_terminated (0, g_free, TRUE);
  portico_json_reader_push_key (reader, key);
  for (guint i = 0; i < json_array_get_length (array); i++) {
    const char *value;
    char *copy = NULL;

    portico_json_reader_push_index (reader, i);
    if ((value = portico_json_reader_as_string (reader, json_array_get_element (array, i))))
      copy = check ? check (reader, value, user_data) : g_strdup (value);
    if (copy)
      g_ptr_array_add (strings, copy);
    else
      result = PORTICO_JSON_FIELD_INVALID;
    portico_json_reader_pop (reader);
  }
  portico_json_reader_pop (reader);
  *out = (GStrv) g_ptr_array_steal (strings, NULL);
  if (!*out) /* an empty array may never have allocated its storage */
    *out = g_new0 (char *, 1);
  return result;
}

PorticoJsonField
portico_json_reader_foreach (PorticoJsonReader *reader, JsonObject *object, const char *key,
                             PorticoJsonElementFunc func, gpointer user_data)
{
  PorticoJsonField result;
  JsonArray *array;

  if ((result = portico_json_reader_get_array (reader, object, key, &array)) !=
      PORTICO_JSON_FIELD_OK)
    return result;
  portico_json_reader_push_key (reader, key);
  for (guint i = 0; i < json_array_get_length (array); i++) {
    portico_json_reader_push_index (reader, i);
    func (reader, json_array_get_element (array, i), user_data);
    portico_json_reader_pop (reader);
  }
  portico_json_reader_pop (reader);
  return result;
}
