/* module-loader.c: GModules in, descriptors checked, instances configured. */
#include "pdk/module-loader.h"

#include <string.h>
#include "pdk/phases.h"

G_DEFINE_QUARK (portico-module-error-quark, portico_module_error)

#define MODULE_SUFFIX ".so"

PorticoLoadedModule *
portico_module_open (const char *path, GError **error)
{
  /* LOCAL: modules do not see each other's symbols; LAZY is avoided so a
   * missing symbol fails here, not in a worker in the middle of a request. */
  GModule *gm = g_module_open (path, G_MODULE_BIND_LOCAL);
  if (gm == NULL)
    {
      g_set_error (error, PORTICO_MODULE_ERROR, PORTICO_MODULE_ERROR_OPEN, "%s: cannot open: %s", path,
                   g_module_error ());
      return NULL;
    }
  gpointer symbol = NULL;
  if (!g_module_symbol (gm, "portico_module", &symbol) || symbol == NULL)
    {
      g_set_error (error, PORTICO_MODULE_ERROR, PORTICO_MODULE_ERROR_SYMBOL,
                   "%s: not a Portico module: no \"portico_module\" descriptor", path);
      g_module_close (gm);
      return NULL;
    }
  const PorticoModule *module = symbol;
  if (module->abi_version != PORTICO_MODULE_ABI_VERSION)
    {
      g_set_error (error, PORTICO_MODULE_ERROR, PORTICO_MODULE_ERROR_ABI,
                   "%s: built for module ABI %u, this portico speaks ABI %u: rebuild it against this "
                   "portico.h", path, module->abi_version, PORTICO_MODULE_ABI_VERSION);
      g_module_close (gm);
      return NULL;
    }
  if (module->name == NULL || module->name[0] == '\0')
    {
      g_set_error (error, PORTICO_MODULE_ERROR, PORTICO_MODULE_ERROR_NAME, "%s: the descriptor has no name",
                   path);
      g_module_close (gm);
      return NULL;
    }
  PorticoLoadedModule *m = g_new0 (PorticoLoadedModule, 1);
  m->path = g_strdup (path);
  m->gmodule = gm;
  m->module = module;
  return m;
}

void
portico_loaded_module_free (PorticoLoadedModule *m)
{
  if (m == NULL)
    return;
  g_module_close (m->gmodule);
  g_free (m->path);
  g_free (m);
}

char *
portico_module_find (const char *const *module_path, const char *name)
{
  /* A name is a file name, never a path. */
  if (strchr (name, '/') != NULL || name[0] == '.' || name[0] == '\0')
    return NULL;
  for (const char *const *dir = module_path; dir != NULL && *dir != NULL; dir++)
    {
      g_autofree char *file = g_strconcat (name, MODULE_SUFFIX, NULL);
      char *path = g_build_filename (*dir, file, NULL);
      if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
        return path;
      g_free (path);
    }
  return NULL;
}

const char *const *
portico_module_default_path (void)
{
  static char *dirs[3];
  if (dirs[0] == NULL)
    {
      /* Next to the binary's own build directory (build/src/portico ->
       * build/modules), then where `meson install` puts them. */
      g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
      g_autofree char *bin_dir = exe ? g_path_get_dirname (exe) : g_strdup (".");
      g_autofree char *sibling = g_build_filename (bin_dir, "..", "modules", NULL);
      guint n = 0;
      if (g_file_test (sibling, G_FILE_TEST_IS_DIR))
        dirs[n++] = g_canonicalize_filename (sibling, NULL);
      dirs[n++] = g_strdup (PORTICO_MODULE_DIR);
    }
  return (const char *const *) dirs;
}

const char *const *
portico_module_path (const PorticoConfig *config)
{
  if (config->node.module_path != NULL && config->node.module_path[0] != NULL)
    return (const char *const *) config->node.module_path;
  return portico_module_default_path ();
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

GPtrArray *
portico_modules_scan (const char *const *module_path, GPtrArray *errors)
{
  GPtrArray *found = g_ptr_array_new_with_free_func ((GDestroyNotify) portico_loaded_module_free);
  for (const char *const *dir = module_path; dir != NULL && *dir != NULL; dir++)
    {
      g_autoptr (GDir) d = g_dir_open (*dir, 0, NULL);
      const char *entry;
      g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
      while (d != NULL && (entry = g_dir_read_name (d)) != NULL)
        if (g_str_has_suffix (entry, MODULE_SUFFIX))
          g_ptr_array_add (names, g_strdup (entry));
      g_ptr_array_sort (names, compare_names);
      for (guint i = 0; i < names->len; i++)
        {
          g_autofree char *path = g_build_filename (*dir, g_ptr_array_index (names, i), NULL);
          g_autoptr (GError) error = NULL;
          PorticoLoadedModule *m = portico_module_open (path, &error);
          if (m != NULL)
            g_ptr_array_add (found, m);
          else if (errors != NULL)
            g_ptr_array_add (errors, g_strdup (error->message));
        }
    }
  return found;
}

static void
instance_free (gpointer data)
{
  PorticoModuleInstance *inst = data;
  if (inst->conf != NULL && inst->loaded->module->free_config != NULL)
    inst->loaded->module->free_config (inst->conf);
  g_free (inst);
}

void
portico_module_set_free (PorticoModuleSet *set)
{
  if (set == NULL)
    return;
  g_ptr_array_free (set->instances, TRUE); /* before the modules: free_config lives there */
  g_ptr_array_free (set->modules, TRUE);
  g_free (set);
}

static gint
by_priority (gconstpointer a, gconstpointer b)
{
  const PorticoModuleInstance *x = *(PorticoModuleInstance *const *) a;
  const PorticoModuleInstance *y = *(PorticoModuleInstance *const *) b;
  int px = x->loaded->module->priority, py = y->loaded->module->priority;
  if (px != py)
    return px > py ? -1 : 1;
  return 0; /* g_ptr_array_sort is stable: declaration order breaks ties */
}

static const PorticoLoadedModule *
module_by_name (PorticoModuleSet *set, const char *name)
{
  for (guint i = 0; i < set->modules->len; i++)
    {
      const PorticoLoadedModule *m = g_ptr_array_index (set->modules, i);
      if (g_str_equal (m->module->name, name))
        return m;
    }
  return NULL;
}

PorticoModuleSet *
portico_modules_load (const PorticoConfig *config, GPtrArray *errors)
{
  PorticoModuleSet *set = g_new0 (PorticoModuleSet, 1);
  set->modules = g_ptr_array_new_with_free_func ((GDestroyNotify) portico_loaded_module_free);
  set->instances = g_ptr_array_new_with_free_func (instance_free);
  const char *const *path = portico_module_path (config);
  guint failed = 0;

  for (guint i = 0; i < config->plugins->len; i++)
    {
      const PorticoPluginConf *plugin = g_ptr_array_index (config->plugins, i);
      const PorticoLoadedModule *loaded = module_by_name (set, plugin->name);
      if (loaded == NULL)
        {
          g_autofree char *file = portico_module_find (path, plugin->name);
          if (file == NULL)
            {
              g_autofree char *dirs = path && *path ? g_strjoinv (", ", (char **) path) : g_strdup ("empty");
              g_ptr_array_add (errors, g_strdup_printf ("%s.name: no module \"%s\" in node.module_path (%s)",
                                                        plugin->json_path, plugin->name, dirs));
              failed++;
              continue;
            }
          g_autoptr (GError) error = NULL;
          PorticoLoadedModule *m = portico_module_open (file, &error);
          if (m == NULL)
            {
              g_ptr_array_add (errors, g_strdup_printf ("%s.name: %s", plugin->json_path, error->message));
              failed++;
              continue;
            }
          if (!g_str_equal (m->module->name, plugin->name))
            {
              g_ptr_array_add (errors, g_strdup_printf ("%s.name: %s calls itself \"%s\"", plugin->json_path,
                                                        file, m->module->name));
              portico_loaded_module_free (m);
              failed++;
              continue;
            }
          g_ptr_array_add (set->modules, m);
          loaded = m;
        }
      if (!plugin->enabled)
        continue;
      g_autofree char *config_path = g_strdup_printf ("%s.config", plugin->json_path);
      g_autoptr (JsonObject) checked = portico_schema_apply (loaded->module->schema,
                                                             json_node_get_object (plugin->config),
                                                             config_path, errors);
      if (checked == NULL)
        {
          failed++;
          continue;
        }
      PorticoModuleInstance *inst = g_new0 (PorticoModuleInstance, 1);
      inst->loaded = loaded;
      inst->plugin = plugin;
      if (loaded->module->configure != NULL)
        {
          g_autoptr (GError) error = NULL;
          inst->conf = loaded->module->configure (checked, (const PorticoGateway *) config, &error);
          if (inst->conf == NULL)
            {
              g_ptr_array_add (errors, g_strdup_printf ("%s.config: %s", plugin->json_path,
                                                        error ? error->message : "refused by the module"));
              g_free (inst);
              failed++;
              continue;
            }
        }
      g_ptr_array_add (set->instances, inst);
    }
  if (failed > 0)
    {
      portico_module_set_free (set);
      return NULL;
    }
  g_ptr_array_sort (set->instances, by_priority);
  return set;
}

gboolean
portico_modules_init_worker (PorticoModuleSet *set, GError **error)
{
  for (guint i = 0; set != NULL && i < set->instances->len; i++)
    {
      PorticoModuleInstance *inst = g_ptr_array_index (set->instances, i);
      const PorticoModule *module = inst->loaded->module;
      if (module->init_worker == NULL)
        continue;
      portico_pdk_set_current_module (module);
      PorticoResult result = module->init_worker (inst->conf);
      portico_pdk_set_current_module (NULL);
      if (result != PORTICO_CONTINUE)
        {
          g_set_error (error, PORTICO_MODULE_ERROR, PORTICO_MODULE_ERROR_CONFIG,
                       "module %s (%s): init_worker failed", module->name, inst->plugin->json_path);
          return FALSE;
        }
    }
  return TRUE;
}

void
portico_modules_exit_worker (PorticoModuleSet *set)
{
  for (guint i = 0; set != NULL && i < set->instances->len; i++)
    {
      PorticoModuleInstance *inst = g_ptr_array_index (set->instances, i);
      const PorticoModule *module = inst->loaded->module;
      if (module->exit_worker == NULL)
        continue;
      portico_pdk_set_current_module (module);
      module->exit_worker (inst->conf);
      portico_pdk_set_current_module (NULL);
    }
}
