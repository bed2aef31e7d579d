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
