/* portico.h: the module API (the plugin development kit).
 *
 * A module is a shared object (a GModule) that exports one constant
 * descriptor named `portico_module`:
 *
 *   const PorticoModule portico_module = {
 *     .abi_version = PORTICO_MODULE_ABI_VERSION,
 *     .name = "my-module",
 *     .version = "1.0.0",
 *     .priority = 1000,
 *     .configure = my_configure,
 *     .init_worker = my_init_worker,
 *   };
 *
 * The master opens every module a configuration names before it forks, so
 * each worker starts with the module already in memory. The loader refuses
 * a module whose abi_version differs from the one this header declares,
 * with an error naming the file.
 */
#pragma once

#include <glib.h>
#include <gmodule.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Bumped whenever PorticoModule or a type it uses changes incompatibly. */
#define PORTICO_MODULE_ABI_VERSION 1

/* The phases of a request's life, in order (Kong's names). */
typedef enum {
  PORTICO_PHASE_INIT_WORKER = 0, /* once per worker, after the fork */
  PORTICO_PHASE_CERTIFICATE,     /* TLS handshake: pick or refuse a certificate */
  PORTICO_PHASE_REWRITE,         /* before routing */
  PORTICO_PHASE_ACCESS,          /* after routing: authentication, limits */
  PORTICO_PHASE_BALANCER,        /* picking the upstream target */
  PORTICO_PHASE_HEADER_FILTER,   /* the upstream's response head */
  PORTICO_PHASE_BODY_FILTER,     /* each chunk of the response body */
  PORTICO_PHASE_LOG,             /* after the response is sent */
  PORTICO_N_PHASES,
} PorticoPhase;

/* What a handler tells the phase runner. */
typedef enum {
  PORTICO_CONTINUE = 0, /* go on with the next handler */
  PORTICO_RESPOND,      /* the module answered: skip to header_filter and log */
  PORTICO_YIELD,        /* resumed later (timer or I/O); the worker serves others meanwhile */
  PORTICO_ERROR,        /* 500, logged */
} PorticoResult;

/* The type of a configuration field, for the schema. */
typedef enum {
  PORTICO_FIELD_STRING = 1,
  PORTICO_FIELD_INTEGER,
  PORTICO_FIELD_NUMBER,
  PORTICO_FIELD_BOOLEAN,
  PORTICO_FIELD_STRING_ARRAY,
} PorticoFieldType;

/* One field of a module's configuration schema. */
typedef struct {
  const char *name;
  PorticoFieldType type;
  gboolean required;
  const char *default_json;   /* the default, as JSON text ("10", "\"x\"", "true"); NULL: none */
  const char *const *allowed; /* for strings: the values allowed, NULL-terminated; NULL: any */
  const char *description;
} PorticoSchemaField;

typedef struct _PorticoModule PorticoModule;

struct _PorticoModule {
  guint32 abi_version;  /* PORTICO_MODULE_ABI_VERSION */
  const char *name;     /* as plugins name it in the configuration */
  const char *version;
  int priority;         /* higher runs first within a phase */
  const PorticoSchemaField *schema; /* terminated by a field with name NULL; NULL: no fields */

  /* Builds the module's view of one plugin instance's configuration (already
   * checked against the schema, defaults filled). Returns NULL and sets
   * @error to refuse it. NULL hook: the instance has no state. */
  gpointer (*configure) (JsonObject *config, GError **error);
  void (*free_config) (gpointer conf);

  /* Runs once in each worker after the fork, for each configured instance,
   * by priority. PORTICO_ERROR stops the worker (the master logs it and
   * resurrects it, backing off if it keeps failing). */
  PorticoResult (*init_worker) (gpointer conf);
};

G_END_DECLS
