/* schema.c: checks a plugin instance's "config" against its module's
 * schema and fills in the defaults. Every problem is reported with its
 * JSON path, e.g. plugins[0].config.minute: expected an integer. */
#include "pdk/module-loader.h"

#include <string.h>

static void
report (GPtrArray *errors, const char *path, const char *key, const char *fmt, ...) G_GNUC_PRINTF (4, 5);

static void
report (GPtrArray *errors, const char *path, const char *key, const char *fmt, ...)
{
  va_list args;
  va_start (args, fmt);
  g_autofree char *message = g_strdup_vprintf (fmt, args);
  va_end (args);
  g_ptr_array_add (errors, g_strdup_printf ("%s.%s: %s", path, key, message));
}

static const char *
type_name (PorticoFieldType type)
{
  switch (type)
    {
    case PORTICO_FIELD_STRING: return "a string";
    case PORTICO_FIELD_INTEGER: return "an integer";
    case PORTICO_FIELD_NUMBER: return "a number";
    case PORTICO_FIELD_BOOLEAN: return "a boolean";
    case PORTICO_FIELD_STRING_ARRAY: return "an array of strings";
    case PORTICO_FIELD_RECORD: return "an object";
    default: return "a value of an unknown type";
    }
}

static gboolean
is_allowed (const PorticoSchemaField *f, const char *value)
{
  return f->allowed == NULL || g_strv_contains (f->allowed, value);
}

static char *
allowed_list (const PorticoSchemaField *f)
{
  g_autoptr (GString) s = g_string_new (NULL);
  for (const char *const *a = f->allowed; *a; a++)
    g_string_append_printf (s, "%s\"%s\"", s->len ? ", " : "", *a);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static gboolean check_record (const PorticoSchemaField *fields, JsonObject *in, const char *path,
                              GPtrArray *errors, JsonObject **out);

/* Checks one value; returns the node to keep (a new reference) or NULL. */
static JsonNode *
check_value (const PorticoSchemaField *f, JsonNode *node, const char *path, GPtrArray *errors)
{
  const char *key = f->name;
  GType vt = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : G_TYPE_INVALID;
  switch (f->type)
    {
    case PORTICO_FIELD_STRING:
      if (vt != G_TYPE_STRING)
        break;
      if (!is_allowed (f, json_node_get_string (node)))
        {
          g_autofree char *list = allowed_list (f);
          report (errors, path, key, "expected one of %s", list);
          return NULL;
        }
      return json_node_ref (node);
    case PORTICO_FIELD_INTEGER:
    case PORTICO_FIELD_NUMBER:
      {
        if (vt != G_TYPE_INT64 && !(f->type == PORTICO_FIELD_NUMBER && vt == G_TYPE_DOUBLE))
          break;
        double v = vt == G_TYPE_INT64 ? (double) json_node_get_int (node) : json_node_get_double (node);
        if (f->min < f->max && (v < (double) f->min || v > (double) f->max))
          {
            report (errors, path, key, "expected a value from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT,
                    f->min, f->max);
            return NULL;
          }
        return json_node_ref (node);
      }
    case PORTICO_FIELD_BOOLEAN:
      if (vt != G_TYPE_BOOLEAN)
        break;
      return json_node_ref (node);
    case PORTICO_FIELD_STRING_ARRAY:
      {
        if (!JSON_NODE_HOLDS_ARRAY (node))
          break;
        JsonArray *a = json_node_get_array (node);
        gboolean ok = TRUE;
        for (guint i = 0; i < json_array_get_length (a); i++)
          {
            JsonNode *e = json_array_get_element (a, i);
            g_autofree char *at = g_strdup_printf ("%s[%u]", key, i);
            if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_STRING)
              {
                report (errors, path, at, "expected a string");
                ok = FALSE;
              }
            else if (!is_allowed (f, json_node_get_string (e)))
              {
                g_autofree char *list = allowed_list (f);
                report (errors, path, at, "expected one of %s", list);
                ok = FALSE;
              }
          }
        return ok ? json_node_ref (node) : NULL;
      }
    case PORTICO_FIELD_RECORD:
      {
        if (!JSON_NODE_HOLDS_OBJECT (node))
          break;
        g_autofree char *sub = g_strdup_printf ("%s.%s", path, key);
        JsonObject *out = NULL;
        if (!check_record (f->fields, json_node_get_object (node), sub, errors, &out))
          return NULL;
        JsonNode *n = json_node_init_object (json_node_alloc (), out);
        json_object_unref (out);
        return n;
      }
    default:
      report (errors, path, key, "the module's schema has a field of unknown type %d", f->type);
      return NULL;
    }
  report (errors, path, key, "expected %s", type_name (f->type));
  return NULL;
}

static JsonNode *
parse_default (const PorticoSchemaField *f, const char *path, GPtrArray *errors)
{
  g_autoptr (GError) error = NULL;
  JsonNode *node = json_from_string (f->default_json, &error);
  if (node == NULL)
    {
      report (errors, path, f->name, "the module's default is not JSON: %s", error->message);
      return NULL;
    }
  return node;
}

static gboolean
check_record (const PorticoSchemaField *fields, JsonObject *in, const char *path, GPtrArray *errors,
              JsonObject **out)
{
  guint before = errors->len;
  JsonObject *result = json_object_new ();
  g_autoptr (GList) members = json_object_get_members (in);
  for (GList *l = members; l != NULL; l = l->next)
    {
      gboolean known = FALSE;
      for (const PorticoSchemaField *f = fields; f && f->name && !known; f++)
        known = g_str_equal (f->name, l->data);
      if (!known)
        report (errors, path, l->data, "unknown field");
    }
  for (const PorticoSchemaField *f = fields; f && f->name; f++)
    {
      JsonNode *given = json_object_get_member (in, f->name);
      JsonNode *keep = NULL;
      if (given != NULL && !JSON_NODE_HOLDS_NULL (given))
        keep = check_value (f, given, path, errors);
      else if (f->required)
        report (errors, path, f->name, "required, expected %s", type_name (f->type));
      else if (f->default_json != NULL)
        {
          g_autoptr (JsonNode) def = parse_default (f, path, errors);
          if (def != NULL)
            keep = check_value (f, def, path, errors);
        }
      else if (f->type == PORTICO_FIELD_RECORD)
        {
          /* An absent record still gets its fields' defaults. */
          g_autoptr (JsonObject) empty = json_object_new ();
          JsonObject *sub_out = NULL;
          g_autofree char *sub = g_strdup_printf ("%s.%s", path, f->name);
          if (check_record (f->fields, empty, sub, errors, &sub_out))
            {
              keep = json_node_init_object (json_node_alloc (), sub_out);
              json_object_unref (sub_out);
            }
        }
      if (keep != NULL)
        json_object_set_member (result, f->name, keep);
    }
  if (errors->len > before)
    {
      json_object_unref (result);
      return FALSE;
    }
  *out = result;
  return TRUE;
}

JsonObject *
portico_schema_apply (const PorticoSchemaField *schema, JsonObject *config, const char *path,
                      GPtrArray *errors)
{
  JsonObject *out = NULL;
  if (schema == NULL)
    {
      /* No schema: the module takes no configuration. */
      g_autoptr (GList) members = json_object_get_members (config);
      for (GList *l = members; l != NULL; l = l->next)
        report (errors, path, l->data, "unknown field (the module takes no configuration)");
      return members ? NULL : json_object_ref (config);
    }
  if (!check_record (schema, config, path, errors, &out))
    return NULL;
  return out;
}
