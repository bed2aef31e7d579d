/* transform-ops.c: the "name:value" lists of the transformer modules and
 * the header edits they share. */
#include "transform-ops.h"

#include <string.h>

static const char *const op_names[TRANSFORM_N_OPS] = { "remove", "rename", "replace", "add", "append" };

const char *
transform_op_name (TransformOp op)
{
  g_return_val_if_fail (op < TRANSFORM_N_OPS, NULL);
  return op_names[op];
}

gboolean
transform_split_pair (const char *entry, char **name, char **value)
{
  const char *colon = strchr (entry, ':');
  if (colon == NULL || colon == entry)
    return FALSE;
  const char *v = colon;
  while (*v == ':')
    v++;
  *name = g_strndup (entry, colon - entry);
  *value = g_strdup (v);
  return TRUE;
}

/* RFC 9110 token characters. */
static gboolean
header_name_valid (const char *name)
{
  if (*name == '\0')
    return FALSE;
  for (const char *p = name; *p; p++)
    if (!g_ascii_isalnum (*p) && strchr ("!#$%&'*+-.^_`|~", *p) == NULL)
      return FALSE;
  return TRUE;
}

static gboolean
header_value_valid (const char *value)
{
  for (const guchar *p = (const guchar *) value; *p; p++)
    if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
      return FALSE;
  return TRUE;
}

/* The gateway frames messages and handles hop-by-hop fields itself: the
 * PDK refuses edits of these on every request, so refuse them once here. */
static gboolean
header_is_framing (const char *name)
{
  static const char *const framing[] = { "Content-Length", "Transfer-Encoding", "Connection",
                                         "Keep-Alive", "Upgrade", "TE", "Trailer" };
  for (guint i = 0; i < G_N_ELEMENTS (framing); i++)
    if (g_ascii_strcasecmp (name, framing[i]) == 0)
      return TRUE;
  return FALSE;
}

static char *
percent_encode (const char *s)
{
  GString *out = g_string_sized_new (strlen (s));
  for (const guchar *p = (const guchar *) s; *p; p++)
    {
      if (g_ascii_isalnum (*p) || strchr ("-._~", *p) != NULL)
        g_string_append_c (out, *p);
      else
        g_string_append_printf (out, "%%%02X", *p);
    }
  return g_string_free (out, FALSE);
}

void
transform_json_quote (GString *out, const char *s)
{
  g_string_append_c (out, '"');
  for (const guchar *p = (const guchar *) s; *p; p++)
    {
      switch (*p)
        {
        case '"': g_string_append (out, "\\\""); break;
        case '\\': g_string_append (out, "\\\\"); break;
        case '\n': g_string_append (out, "\\n"); break;
        case '\r': g_string_append (out, "\\r"); break;
        case '\t': g_string_append (out, "\\t"); break;
        default:
          if (*p < 0x20)
            g_string_append_printf (out, "\\u%04x", *p);
          else
            g_string_append_c (out, *p);
        }
    }
  g_string_append_c (out, '"');
}

static char *
json_quote_body (const char *s)
{
  GString *out = g_string_new (NULL);
  transform_json_quote (out, s);
  /* The body only: the caller writes the quotes around a member name. */
  g_string_truncate (out, out->len - 1);
  g_string_erase (out, 0, 1);
  return g_string_free (out, FALSE);
}

gsize
transform_json_number_len (const char *p, const char *end)
{
  const char *start = p;
  if (p < end && *p == '-')
    p++;
  if (p < end && *p == '0')
    p++;
  else if (p < end && g_ascii_isdigit (*p))
    while (p < end && g_ascii_isdigit (*p))
      p++;
  else
    return 0;
  if (p < end && *p == '.')
    {
      if (++p == end || !g_ascii_isdigit (*p))
        return 0;
      while (p < end && g_ascii_isdigit (*p))
        p++;
    }
  if (p < end && (*p == 'e' || *p == 'E'))
    {
      if (++p < end && (*p == '+' || *p == '-'))
        p++;
      if (p == end || !g_ascii_isdigit (*p))
        return 0;
      while (p < end && g_ascii_isdigit (*p))
        p++;
    }
  return p - start;
}

/* The JSON text of @value as json_types says: Kong's "string", "number"
 * or "boolean". Kong turns a number it cannot read into a removal and any
 * boolean but "true" into false; we refuse both when configured. */
static char *
json_value_text (const char *value, const char *type, GError **error)
{
  if (type == NULL || strcmp (type, "string") == 0)
    {
      GString *out = g_string_new (NULL);
      transform_json_quote (out, value);
      return g_string_free (out, FALSE);
    }
  if (strcmp (type, "number") == 0)
    {
      gsize len = strlen (value);
      if (len > 0 && transform_json_number_len (value, value + len) == len)
        return g_strdup (value);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "\"%s\" is not a JSON number (json_types says number)", value);
      return NULL;
    }
  if (strcmp (type, "boolean") == 0)
    {
      if (strcmp (value, "true") == 0 || strcmp (value, "false") == 0)
        return g_strdup (value);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "\"%s\" is not a boolean: true or false (json_types says boolean)", value);
      return NULL;
    }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
               "json_types: \"%s\" is not one of boolean, number, string", type);
  return NULL;
}

static gboolean
check_header (TransformTarget target, TransformOp op, const char *name, const char *value,
              GError **error)
{
  if (!header_name_valid (name))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "'%s' is not a valid header", name);
      return FALSE;
    }
  if (value != NULL && op == TRANSFORM_RENAME && !header_name_valid (value))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "'%s' is not a valid header", value);
      return FALSE;
    }
  if (value != NULL && op != TRANSFORM_RENAME && !header_value_valid (value))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "the value of '%s' holds a control character", name);
      return FALSE;
    }
  /* Removing Content-Length from a response is how a module says it
   * changes the body's length: the gateway re-frames it. */
  gboolean framing_ok = target == TRANSFORM_TARGET_RESPONSE_HEADERS && op == TRANSFORM_REMOVE &&
                        g_ascii_strcasecmp (name, "Content-Length") == 0;
  if (!framing_ok && (header_is_framing (name) || (op == TRANSFORM_RENAME && header_is_framing (value))))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "'%s' is a framing or hop-by-hop field: the gateway's own, it cannot be changed",
                   header_is_framing (name) ? name : value);
      return FALSE;
    }
  if (target == TRANSFORM_TARGET_REQUEST_HEADERS && g_ascii_strcasecmp (name, "Host") == 0 &&
      (op == TRANSFORM_ADD || op == TRANSFORM_APPEND))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "a request has exactly one Host: %s never applies to it, use replace",
                   transform_op_name (op));
      return FALSE;
    }
  return TRUE;
}

/* Fills @pair from one configured string; @type is its json_types entry. */
static gboolean
pair_init (TransformPair *pair, const char *entry, TransformTarget target, TransformOp op,
           const char *type, GError **error)
{
  if (op == TRANSFORM_REMOVE)
    {
      if (*entry == '\0')
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "empty name");
          return FALSE;
        }
      pair->name = g_strdup (entry);
    }
  else if (!transform_split_pair (entry, &pair->name, &pair->value))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "\"%s\" is not %s", entry,
                   op == TRANSFORM_RENAME ? "OLD:NEW" : "NAME:VALUE");
      return FALSE;
    }
  else if (op == TRANSFORM_RENAME && *pair->value == '\0')
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "\"%s\": the new name is empty", entry);
      return FALSE;
    }

  switch (target)
    {
    case TRANSFORM_TARGET_REQUEST_HEADERS:
    case TRANSFORM_TARGET_RESPONSE_HEADERS:
      if (!check_header (target, op, pair->name, pair->value, error))
        return FALSE;
      pair->out_name = g_strdup (pair->name);
      pair->out_value = g_strdup (pair->value);
      return TRUE;
    case TRANSFORM_TARGET_QUERY:
      pair->out_name = percent_encode (pair->name);
      pair->out_value = pair->value ? percent_encode (pair->value) : NULL;
      return TRUE;
    case TRANSFORM_TARGET_JSON:
      pair->out_name = json_quote_body (pair->name);
      if (op == TRANSFORM_RENAME)
        pair->out_value = json_quote_body (pair->value);
      else if (pair->value != NULL && (pair->out_value = json_value_text (pair->value, type, error)) == NULL)
        return FALSE;
      return TRUE;
    }
  g_return_val_if_reached (FALSE);
}

static void
pair_clear (TransformPair *pair)
{
  g_free (pair->name);
  g_free (pair->value);
  g_free (pair->out_name);
  g_free (pair->out_value);
}

/* The string array config.@op_name.@key, or NULL (missing or null). */
static JsonArray *
config_array (JsonObject *config, const char *op_name, const char *key, GError **error)
{
  JsonNode *rec = json_object_get_member (config, op_name);
  if (rec == NULL || JSON_NODE_HOLDS_NULL (rec))
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (rec))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s: expected an object", op_name);
      return NULL;
    }
  JsonNode *node = json_object_get_member (json_node_get_object (rec), key);
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return NULL;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s.%s: expected an array of strings",
                   op_name, key);
      return NULL;
    }
  return json_node_get_array (node);
}

/* The @index-th string of @array, or NULL (with @error when it is not one). */
static const char *
array_string (JsonArray *array, guint index, const char *what, GError **error)
{
  JsonNode *node = json_array_get_element (array, index);
  if (json_node_get_value_type (node) == G_TYPE_STRING)
    return json_node_get_string (node);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s[%u]: expected a string", what, index);
  return NULL;
}

gboolean
transform_set_init (TransformSet *set, JsonObject *config, const char *key, TransformTarget target,
                    GError **error)
{
  memset (set, 0, sizeof *set);
  for (TransformOp op = 0; op < TRANSFORM_N_OPS; op++)
    {
      const char *op_name = op_names[op];
      GError *local = NULL;
      JsonArray *entries = config_array (config, op_name, key, &local);
      JsonArray *types = NULL;
      if (local == NULL && target == TRANSFORM_TARGET_JSON && op >= TRANSFORM_REPLACE)
        types = config_array (config, op_name, "json_types", &local);
      if (local != NULL)
        {
          g_propagate_error (error, local);
          goto fail;
        }
      if (entries == NULL || json_array_get_length (entries) == 0)
        continue;

      TransformList *list = &set->ops[op];
      guint n = json_array_get_length (entries);
      list->items = g_new0 (TransformPair, n);
      for (guint i = 0; i < n; i++)
        {
          g_autofree char *what = g_strdup_printf ("%s.%s", op_name, key);
          g_autofree char *types_what = g_strdup_printf ("%s.json_types", op_name);
          const char *entry = array_string (entries, i, what, &local);
          const char *type = NULL;
          if (entry != NULL && types != NULL && i < json_array_get_length (types))
            type = array_string (types, i, types_what, &local);
          if (local == NULL)
            {
              list->len++;
              if (pair_init (&list->items[i], entry, target, op, type, &local))
                continue;
              g_prefix_error (&local, "%s[%u]: ", what, i);
            }
          g_propagate_error (error, local);
          goto fail;
        }
    }
  return TRUE;

fail:
  transform_set_clear (set);
  return FALSE;
}

void
transform_set_clear (TransformSet *set)
{
  for (TransformOp op = 0; op < TRANSFORM_N_OPS; op++)
    {
      for (guint i = 0; i < set->ops[op].len; i++)
        pair_clear (&set->ops[op].items[i]);
      g_clear_pointer (&set->ops[op].items, g_free);
      set->ops[op].len = 0;
    }
}

gboolean
transform_set_is_empty (const TransformSet *set)
{
  for (TransformOp op = 0; op < TRANSFORM_N_OPS; op++)
    if (set->ops[op].len > 0)
      return FALSE;
  return TRUE;
}

gboolean
transform_set_apply (const TransformSet *set, const TransformEditor *editor, gpointer target)
{
  gboolean changed = FALSE;
  for (TransformOp op = 0; op < TRANSFORM_N_OPS; op++)
    for (guint i = 0; i < set->ops[op].len; i++)
      changed |= editor->edit[op] (target, &set->ops[op].items[i]);
  return changed;
}

typedef struct {
  const TransformHeaderOps *ops;
  PorticoRequest *r;
} HeaderTarget;

static gboolean
header_remove (gpointer target, const TransformPair *pair)
{
  HeaderTarget *t = target;
  return t->ops->remove (t->r, pair->name);
}

/* Rename keeps every value of the old name, in order, under the new one.
 * The values stay valid after the fields are removed: strings the PDK
 * returns live until the end of the request. */
static gboolean
header_rename (gpointer target, const TransformPair *pair)
{
  HeaderTarget *t = target;
  if (strcmp (pair->name, pair->value) == 0)
    return FALSE;
  g_autoptr (GPtrArray) values = NULL;
  const char *name, *value;
  for (guint i = 0; t->ops->at (t->r, i, &name, &value); i++)
    if (g_ascii_strcasecmp (name, pair->name) == 0)
      {
        if (values == NULL)
          values = g_ptr_array_new ();
        g_ptr_array_add (values, (gpointer) value);
      }
  if (values == NULL)
    return FALSE;
  t->ops->remove (t->r, pair->name);
  t->ops->remove (t->r, pair->value);
  for (guint i = 0; i < values->len; i++)
    t->ops->add (t->r, pair->value, g_ptr_array_index (values, i));
  return TRUE;
}

static gboolean
header_replace (gpointer target, const TransformPair *pair)
{
  HeaderTarget *t = target;
  return t->ops->get (t->r, pair->name) != NULL && t->ops->set (t->r, pair->name, pair->value);
}

static gboolean
header_add (gpointer target, const TransformPair *pair)
{
  HeaderTarget *t = target;
  return t->ops->get (t->r, pair->name) == NULL && t->ops->set (t->r, pair->name, pair->value);
}

static gboolean
header_append (gpointer target, const TransformPair *pair)
{
  HeaderTarget *t = target;
  return t->ops->add (t->r, pair->name, pair->value);
}

static const TransformEditor header_editor = {
  { header_remove, header_rename, header_replace, header_add, header_append },
};

void
transform_headers_apply (const TransformSet *set, const TransformHeaderOps *ops, PorticoRequest *r)
{
  HeaderTarget target = { ops, r };
  transform_set_apply (set, &header_editor, &target);
}
