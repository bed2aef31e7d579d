/* test-modules.c: the module loader with fixture modules (tests/modules/):
 * the descriptor checks, errors that name the file or the JSON path,
 * configure hooks, priority order and init_worker. */
#include <glib.h>
#include <string.h>

#include "core/config.h"
#include "pdk/module-loader.h"

static const char *
module_dir (void)
{
  const char *dir = g_getenv ("PORTICO_TEST_MODULE_DIR");
  g_assert_nonnull (dir);
  return dir;
}

static char *
module_file (const char *name)
{
  g_autofree char *file = g_strconcat (name, ".so", NULL);
  return g_build_filename (module_dir (), file, NULL);
}

static void
test_open_checks (void)
{
  g_test_summary ("A module of another ABI, a shared object without the descriptor and a missing "
                  "file are refused with errors that name the file.");
  g_autoptr (GError) error = NULL;
  g_autofree char *bad_abi = module_file ("bad-abi");
  g_assert_null (portico_module_open (bad_abi, &error));
  g_assert_error (error, PORTICO_MODULE_ERROR, PORTICO_MODULE_ERROR_ABI);
  g_assert_true (g_str_has_prefix (error->message, bad_abi));
  g_assert_nonnull (strstr (error->message, "ABI"));
  g_clear_error (&error);

  g_autofree char *plain = module_file ("no-descriptor");
  g_assert_null (portico_module_open (plain, &error));
  g_assert_error (error, PORTICO_MODULE_ERROR, PORTICO_MODULE_ERROR_SYMBOL);
  g_assert_true (g_str_has_prefix (error->message, plain));
  g_clear_error (&error);

  g_autofree char *missing = module_file ("does-not-exist");
  g_assert_null (portico_module_open (missing, &error));
  g_assert_error (error, PORTICO_MODULE_ERROR, PORTICO_MODULE_ERROR_OPEN);
  g_clear_error (&error);

  g_autofree char *good = module_file ("init-counter");
  PorticoLoadedModule *m = portico_module_open (good, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (m->module->name, ==, "init-counter");
  g_assert_cmpint (m->module->priority, ==, 10);
  portico_loaded_module_free (m);
}

static void
test_find_and_scan (void)
{
  g_test_summary ("Modules are found by name in module_path (never by a path in the name); a scan "
                  "opens the good ones and reports the others.");
  const char *path[] = { "/nonexistent", module_dir (), NULL };
  g_autofree char *found = portico_module_find (path, "init-counter");
  g_assert_nonnull (found);
  g_assert_true (g_str_has_prefix (found, module_dir ()));
  g_assert_null (portico_module_find (path, "../modules/init-counter"));
  g_assert_null (portico_module_find (path, "nope"));

  g_autoptr (GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) modules = portico_modules_scan (path, errors);
  /* crash-init-worker, init-counter, probe-auth, probe, sni-pick */
  g_assert_cmpuint (modules->len, ==, 5);
  /* bad-abi, missing-symbol, no-descriptor */
  g_assert_cmpuint (errors->len, ==, 3);
  g_assert_nonnull (strstr (g_ptr_array_index (errors, 1), "missing-symbol.so"));
  g_assert_nonnull (strstr (g_ptr_array_index (errors, 1), "undefined symbol: portico_request_teleport"));
}

static PorticoConfig *
config_with (const char *plugins_json)
{
  g_autofree char *json = g_strdup_printf (
    "{\"_format_version\":\"1\",\"node\":{\"module_path\":[\"%s\"]},"
    "\"services\":[{\"name\":\"s\",\"url\":\"http://127.0.0.1:9\",\"routes\":[{\"paths\":[\"/\"]}]}],"
    "\"plugins\":%s}", module_dir (), plugins_json);
  g_autoptr (GError) error = NULL;
  PorticoConfig *config = portico_config_load_data (json, -1, "test", NULL, &error);
  g_assert_no_error (error);
  return config;
}

static void
test_schema_errors (void)
{
  g_test_summary ("A plugin config is checked against its module's schema: wrong types, values out "
                  "of bounds or not allowed, and unknown keys are errors at their JSON path.");
  g_autoptr (PorticoConfig) config = config_with (
    "[{\"name\":\"probe\",\"config\":{\"respond_status\":\"x\",\"yield_ms\":-1,"
    "\"respond_in\":\"lunch\",\"set_headers\":[\"a: b\",3],\"colour\":\"red\"}},"
    "{\"name\":\"init-counter\",\"config\":{\"refuse\":1}}]");
  g_autoptr (GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
  g_assert_null (portico_modules_load (config, errors));
  const char *expected[] = {
    "plugins[0].config.colour: unknown field",
    ("plugins[0].config.respond_in: expected one of \"rewrite\", \"access\", \"balancer\", "
     "\"header_filter\", \"body_filter\", \"log\", \"\""),
    "plugins[0].config.respond_status: expected an integer",
    "plugins[0].config.yield_ms: expected a value from 0 to 60000",
    "plugins[0].config.set_headers[1]: expected a string",
    "plugins[1].config.refuse: expected a boolean",
  };
  for (guint i = 0; i < errors->len; i++)
    g_test_message ("error: %s", (const char *) g_ptr_array_index (errors, i));
  g_assert_cmpuint (errors->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    g_assert_cmpstr (g_ptr_array_index (errors, i), ==, expected[i]);
}

static void
test_schema_defaults (void)
{
  g_test_summary ("Defaults fill the fields left out, records included, before configure sees them.");
  static const PorticoSchemaField inner[] = {
    { .name = "headers", .type = PORTICO_FIELD_STRING_ARRAY, .default_json = "[]" },
    { NULL },
  };
  static const PorticoSchemaField schema[] = {
    { .name = "minute", .type = PORTICO_FIELD_INTEGER, .default_json = "60" },
    { .name = "ratio", .type = PORTICO_FIELD_NUMBER, .default_json = "0.5" },
    { .name = "name", .type = PORTICO_FIELD_STRING, .required = TRUE },
    { .name = "remove", .type = PORTICO_FIELD_RECORD, .fields = inner },
    { NULL },
  };
  g_autoptr (GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (JsonNode) in = json_from_string ("{\"name\":\"x\",\"ratio\":2}", NULL);
  g_autoptr (JsonObject) out = portico_schema_apply (schema, json_node_get_object (in), "c", errors);
  g_assert_nonnull (out);
  g_assert_cmpint (json_object_get_int_member (out, "minute"), ==, 60);
  g_assert_cmpfloat (json_object_get_double_member (out, "ratio"), ==, 2.0);
  g_assert_cmpstr (json_object_get_string_member (out, "name"), ==, "x");
  JsonObject *remove = json_object_get_object_member (out, "remove");
  g_assert_nonnull (remove);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (remove, "headers")), ==, 0);

  g_autoptr (JsonNode) missing = json_from_string ("{\"remove\":{\"headers\":\"x\"}}", NULL);
  g_assert_null (portico_schema_apply (schema, json_node_get_object (missing), "c", errors));
  g_assert_cmpuint (errors->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (errors, 0), ==, "c.name: required, expected a string");
  g_assert_cmpstr (g_ptr_array_index (errors, 1), ==, "c.remove.headers: expected an array of strings");
}

static void
test_load_errors (void)
{
  g_test_summary ("A plugin without a module, and a configuration the module refuses, are errors "
                  "at the plugin's JSON path.");
  g_autoptr (PorticoConfig) config =
    config_with ("[{\"name\":\"nope\"},{\"name\":\"init-counter\",\"config\":{\"refuse\":true}}]");
  g_autoptr (GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
  g_assert_null (portico_modules_load (config, errors));
  g_assert_cmpuint (errors->len, ==, 2);
  g_autofree char *expected = g_strdup_printf ("plugins[0].name: no module \"nope\" in node.module_path (%s)",
                                               module_dir ());
  g_assert_cmpstr (g_ptr_array_index (errors, 0), ==, expected);
  g_assert_cmpstr (g_ptr_array_index (errors, 1), ==, "plugins[1].config: refuse is set");
}

static void
test_load_and_init_worker (void)
{
  g_test_summary ("Enabled instances are configured, ordered by priority, and their init_worker "
                  "runs; a disabled one is loaded but not instantiated.");
  g_autoptr (PorticoConfig) config = config_with (
    "[{\"name\":\"crash-init-worker\",\"enabled\":false},{\"name\":\"init-counter\"}]");
  g_autoptr (GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
  PorticoModuleSet *set = portico_modules_load (config, errors);
  g_assert_nonnull (set);
  g_assert_cmpuint (errors->len, ==, 0);
  g_assert_cmpuint (set->modules->len, ==, 2);
  g_assert_cmpuint (set->instances->len, ==, 1);
  PorticoModuleInstance *inst = g_ptr_array_index (set->instances, 0);
  g_assert_cmpstr (inst->loaded->module->name, ==, "init-counter");
  g_assert_cmpint (*(int *) inst->conf, ==, 0);
  g_autoptr (GError) error = NULL;
  g_assert_true (portico_modules_init_worker (set, &error));
  g_assert_cmpint (*(int *) inst->conf, ==, 1);
  portico_module_set_free (set);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/pdk/loader/open-checks", test_open_checks);
  g_test_add_func ("/pdk/loader/find-and-scan", test_find_and_scan);
  g_test_add_func ("/pdk/loader/load-errors", test_load_errors);
  g_test_add_func ("/pdk/loader/load-and-init-worker", test_load_and_init_worker);
  g_test_add_func ("/pdk/schema/errors", test_schema_errors);
  g_test_add_func ("/pdk/schema/defaults", test_schema_defaults);
  return g_test_run ();
}
