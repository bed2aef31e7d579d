/* module-list.c: `portico modules`: what a module path holds. */
#include "pdk/module-loader.h"

static const char *const phase_names[PORTICO_N_PHASES] = {
  "init_worker", "certificate", "rewrite", "access", "balancer", "header_filter", "body_filter", "log",
};

const char *
portico_phase_name (PorticoPhase phase)
{
  g_return_val_if_fail (phase < PORTICO_N_PHASES, "unknown");
  return phase_names[phase];
}

static const char *
type_name (PorticoFieldType type)
{
  switch (type)
    {
    case PORTICO_FIELD_STRING: return "string";
    case PORTICO_FIELD_INTEGER: return "integer";
    case PORTICO_FIELD_NUMBER: return "number";
    case PORTICO_FIELD_BOOLEAN: return "boolean";
    case PORTICO_FIELD_STRING_ARRAY: return "array of strings";
    case PORTICO_FIELD_RECORD: return "record";
    default: return "unknown";
    }
}

/* The phases a module takes part in, in order. */
static GPtrArray *
module_phases (const PorticoModule *module)
{
  const void *hooks[PORTICO_N_PHASES] = {
    [PORTICO_PHASE_INIT_WORKER] = module->init_worker, [PORTICO_PHASE_CERTIFICATE] = module->certificate,
    [PORTICO_PHASE_REWRITE] = module->rewrite,         [PORTICO_PHASE_ACCESS] = module->access,
    [PORTICO_PHASE_BALANCER] = module->balancer,       [PORTICO_PHASE_HEADER_FILTER] = module->header_filter,
    [PORTICO_PHASE_BODY_FILTER] = module->body_filter, [PORTICO_PHASE_LOG] = module->log,
  };
  GPtrArray *phases = g_ptr_array_new ();
  for (guint p = 0; p < PORTICO_N_PHASES; p++)
    if (hooks[p] != NULL)
      g_ptr_array_add (phases, (gpointer) portico_phase_name (p));
  return phases;
}

static void describe_fields (JsonBuilder *b, const PorticoSchemaField *fields);

static JsonNode *
describe_json (const PorticoLoadedModule *m)
{
  const PorticoModule *module = m->module;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, module->name);
  json_builder_set_member_name (b, "version");
  json_builder_add_string_value (b, module->version ? module->version : "");
  json_builder_set_member_name (b, "priority");
  json_builder_add_int_value (b, module->priority);
  json_builder_set_member_name (b, "file");
  json_builder_add_string_value (b, m->path);
  json_builder_set_member_name (b, "phases");
  json_builder_begin_array (b);
  g_autoptr (GPtrArray) phases = module_phases (module);
  for (guint i = 0; i < phases->len; i++)
    json_builder_add_string_value (b, g_ptr_array_index (phases, i));
  json_builder_end_array (b);
  json_builder_set_member_name (b, "schema");
  describe_fields (b, module->schema);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static void
describe_fields (JsonBuilder *b, const PorticoSchemaField *fields)
{
  json_builder_begin_array (b);
  for (const PorticoSchemaField *f = fields; f != NULL && f->name != NULL; f++)
    {
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, f->name);
      json_builder_set_member_name (b, "type");
      json_builder_add_string_value (b, type_name (f->type));
      json_builder_set_member_name (b, "required");
      json_builder_add_boolean_value (b, f->required);
      if (f->default_json != NULL)
        {
          json_builder_set_member_name (b, "default");
          json_builder_add_value (b, json_from_string (f->default_json, NULL));
        }
      if (f->allowed != NULL)
        {
          json_builder_set_member_name (b, "allowed");
          json_builder_begin_array (b);
          for (const char *const *v = f->allowed; *v != NULL; v++)
            json_builder_add_string_value (b, *v);
          json_builder_end_array (b);
        }
      if (f->description != NULL)
        {
          json_builder_set_member_name (b, "description");
          json_builder_add_string_value (b, f->description);
        }
      if (f->min < f->max)
        {
          json_builder_set_member_name (b, "min");
          json_builder_add_int_value (b, f->min);
          json_builder_set_member_name (b, "max");
          json_builder_add_int_value (b, f->max);
        }
      if (f->type == PORTICO_FIELD_RECORD)
        {
          json_builder_set_member_name (b, "fields");
          describe_fields (b, f->fields);
        }
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
}

static void
describe_text (GString *out, const PorticoSchemaField *fields, int indent)
{
  for (const PorticoSchemaField *f = fields; f != NULL && f->name != NULL; f++)
    {
      g_string_append_printf (out, "%*s%s: %s%s%s%s", indent, "", f->name, type_name (f->type),
                              f->required ? ", required" : "", f->default_json ? ", default " : "",
                              f->default_json ? f->default_json : "");
      if (f->min < f->max)
        g_string_append_printf (out, ", %" G_GINT64_FORMAT "..%" G_GINT64_FORMAT, f->min, f->max);
      if (f->allowed != NULL)
        {
          g_autofree char *list = g_strjoinv ("|", (char **) f->allowed);
          g_string_append_printf (out, ", one of %s", list);
        }
      g_string_append_c (out, '\n');
      if (f->type == PORTICO_FIELD_RECORD)
        describe_text (out, f->fields, indent + 4);
    }
}

char *
portico_modules_describe (GPtrArray *modules, gboolean json)
{
  if (json)
    {
      JsonArray *array = json_array_new ();
      for (guint i = 0; i < modules->len; i++)
        json_array_add_element (array, describe_json (g_ptr_array_index (modules, i)));
      JsonNode *root = json_node_init_array (json_node_alloc (), array);
      json_array_unref (array);
      g_autoptr (JsonGenerator) gen = json_generator_new ();
      json_generator_set_pretty (gen, TRUE);
      json_generator_set_root (gen, root);
      json_node_unref (root);
      char *text = json_generator_to_data (gen, NULL);
      return text;
    }
  GString *out = g_string_new (NULL);
  g_string_append_printf (out, "%-24s %-10s %8s  %s\n", "MODULE", "VERSION", "PRIORITY", "PHASES");
  for (guint i = 0; i < modules->len; i++)
    {
      const PorticoLoadedModule *m = g_ptr_array_index (modules, i);
      g_autoptr (GPtrArray) phases = module_phases (m->module);
      g_ptr_array_add (phases, NULL);
      g_autofree char *list = g_strjoinv (", ", (char **) phases->pdata);
      g_string_append_printf (out, "%-24s %-10s %8d  %s\n", m->module->name,
                              m->module->version ? m->module->version : "", m->module->priority, list);
      describe_text (out, m->module->schema, 4);
    }
  return g_string_free (out, FALSE);
}
