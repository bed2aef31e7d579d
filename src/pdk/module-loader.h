/* module-loader.h: finding, opening and configuring modules. */
#pragma once

#include <glib.h>
#include <gmodule.h>
#include "core/config.h"
#include "pdk/portico.h"

G_BEGIN_DECLS

#define PORTICO_MODULE_ERROR (portico_module_error_quark ())
GQuark portico_module_error_quark (void);

typedef enum {
  PORTICO_MODULE_ERROR_NOT_FOUND,
  PORTICO_MODULE_ERROR_OPEN,
  PORTICO_MODULE_ERROR_SYMBOL,
  PORTICO_MODULE_ERROR_ABI,
  PORTICO_MODULE_ERROR_NAME,
  PORTICO_MODULE_ERROR_CONFIG,
} PorticoModuleError;

typedef struct {
  char *path;
  GModule *gmodule;
  const PorticoModule *module;
} PorticoLoadedModule;

/* Opens one module file and checks its descriptor (the symbol, the ABI
 * version, a name). Errors name the file. */
PorticoLoadedModule *portico_module_open (const char *path, GError **error);
void portico_loaded_module_free (PorticoLoadedModule *m);

/* "<dir>/<name>.so" for the first directory of @module_path that has it. */
char *portico_module_find (const char *const *module_path, const char *name);

/* Every module file in @module_path, opened (PorticoLoadedModule*); files
 * that fail are reported in @errors ("FILE: why") and skipped. */
GPtrArray *portico_modules_scan (const char *const *module_path, GPtrArray *errors);

typedef struct {
  const PorticoLoadedModule *loaded;
  const PorticoPluginConf *plugin;
  gpointer conf; /* what the module's configure hook built */
} PorticoModuleInstance;

typedef struct {
  GPtrArray *modules;   /* PorticoLoadedModule*, each module once */
  GPtrArray *instances; /* PorticoModuleInstance*, enabled plugins, by priority (higher first) */
} PorticoModuleSet;

/* Opens every module @config's plugins name and configures every enabled
 * instance. Each problem goes to @errors as "json.path: message"
 * (plugins[0].name: no module "x" in module_path (...)); returns NULL if
 * there was any. */
PorticoModuleSet *portico_modules_load (const PorticoConfig *config, GPtrArray *errors);
void portico_module_set_free (PorticoModuleSet *set);

/* Before a worker exits: runs exit_worker of every instance, by priority. */
void portico_modules_exit_worker (PorticoModuleSet *set);

/* The directories modules are looked for in: the config's
 * node.module_path, or when it is empty the default one (the build tree's
 * modules next to the binary, then the installed ones). */
const char *const *portico_module_path (const PorticoConfig *config);
const char *const *portico_module_default_path (void);

/* Checks @config (a plugin's "config") against @schema and returns a copy
 * with the defaults filled in, or NULL after adding each problem to
 * @errors as "PATH.key: message". */
JsonObject *portico_schema_apply (const PorticoSchemaField *schema, JsonObject *config, const char *path,
                                  GPtrArray *errors);

/* In a new worker: runs init_worker of every instance, by priority.
 * Returns FALSE (with @error naming the module) if one failed. */
gboolean portico_modules_init_worker (PorticoModuleSet *set, GError **error);

G_END_DECLS

G_BEGIN_DECLS
/* "init_worker", "access", ... (Kong's names). */
const char *portico_phase_name (PorticoPhase phase);

/* What `portico modules` prints for @modules (PorticoLoadedModule*): a
 * table, or with @json an array of {name, version, priority, file, phases,
 * schema}. */
char *portico_modules_describe (GPtrArray *modules, gboolean json);
G_END_DECLS
