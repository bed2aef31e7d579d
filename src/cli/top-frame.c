/* top-frame.c: reading a dashboard frame, naming what is wrong in it by
 * its JSON path (top-frame.h). */
#include "cli/top-frame.h"

/* Strings from the frame (names, errors) are cut to this many characters. */
#define STRING_MAX 120

void
portico_top_reader_note (PorticoTopReader *pr, const char *path, const char *name, const char *expected)
{
  if (pr->n++ == 0)
    pr->first = g_strdup_printf ("%s%s%s: expected %s", path, *path != '\0' ? "." : "", name, expected);
}

/* @o's member @name if it has @type, else NULL (noted). NULL without a note
 * when @o is NULL: what held it was noted already. */
static JsonNode *
get (PorticoTopReader *pr, JsonObject *o, const char *path, const char *name, JsonNodeType type,
     const char *expected)
{
  if (o == NULL)
    return NULL;
  JsonNode *n = json_object_get_member (o, name);
  if (n == NULL || JSON_NODE_TYPE (n) != type)
    {
      portico_top_reader_note (pr, path, name, expected);
      return NULL;
    }
  return n;
}

JsonObject *
portico_top_read_object (PorticoTopReader *pr, JsonObject *o, const char *path, const char *name)
{
  JsonNode *n = get (pr, o, path, name, JSON_NODE_OBJECT, "an object");
  return n != NULL ? json_node_get_object (n) : NULL;
}

JsonArray *
portico_top_read_array (PorticoTopReader *pr, JsonObject *o, const char *path, const char *name)
{
  JsonNode *n = get (pr, o, path, name, JSON_NODE_ARRAY, "an array");
  return n != NULL ? json_node_get_array (n) : NULL;
}

double
portico_top_read_number (PorticoTopReader *pr, JsonObject *o, const char *path, const char *name)
{
  JsonNode *n = get (pr, o, path, name, JSON_NODE_VALUE, "a number");
  if (n == NULL)
    return 0;
  GType t = json_node_get_value_type (n);
  if (t != G_TYPE_INT64 && t != G_TYPE_DOUBLE)
    {
      portico_top_reader_note (pr, path, name, "a number");
      return 0;
    }
  return json_node_get_double (n);
}

guint64
portico_top_read_count (PorticoTopReader *pr, JsonObject *o, const char *path, const char *name)
{
  double v = portico_top_read_number (pr, o, path, name);
  return v <= 0 ? 0 : (guint64) MIN (v, PORTICO_TOP_COUNT_MAX);
}

char *
portico_top_clean (const char *s)
{
  GString *out = g_string_new (NULL);
  guint n = 0;
  for (const char *p = s; *p != '\0' && n < STRING_MAX; p = g_utf8_next_char (p), n++)
    {
      gunichar c = g_utf8_get_char (p);
      if (g_unichar_iscntrl (c))
        g_string_append_c (out, '?');
      else
        g_string_append_unichar (out, c);
    }
  return g_string_free (out, FALSE);
}

char *
portico_top_read_string (PorticoTopReader *pr, JsonObject *o, const char *path, const char *name,
                         gboolean nullable)
{
  if (o == NULL)
    return NULL;
  JsonNode *n = json_object_get_member (o, name);
  if (nullable && n != NULL && JSON_NODE_HOLDS_NULL (n))
    return NULL;
  n = get (pr, o, path, name, JSON_NODE_VALUE, nullable ? "a string or null" : "a string");
  if (n == NULL)
    return NULL;
  if (json_node_get_value_type (n) != G_TYPE_STRING)
    {
      portico_top_reader_note (pr, path, name, nullable ? "a string or null" : "a string");
      return NULL;
    }
  return portico_top_clean (json_node_get_string (n));
}

JsonObject *
portico_top_read_element (PorticoTopReader *pr, JsonArray *a, guint i, const char *path, char **elem_path)
{
  JsonNode *n = json_array_get_element (a, i);
  *elem_path = g_strdup_printf ("%s[%u]", path, i);
  if (JSON_NODE_TYPE (n) != JSON_NODE_OBJECT)
    {
      portico_top_reader_note (pr, "", *elem_path, "an object");
      return NULL;
    }
  return json_node_get_object (n);
}
