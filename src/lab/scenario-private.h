/* lab/scenario-private.h: what the files of the scenario loader share
 * (scenario.c, scenario-read.c, scenario-events.c, scenario-json.c). Not
 * for other users: scenario.h is the API.
 */
#pragma once

#include "lab/scenario.h"

G_BEGIN_DECLS

#define MAX_DURATION_S 3600.0
#define MAX_MS 600000 /* any delay or timeout: ten minutes */
#define MAX_INSTANCES 64
#define MAX_NAME_LEN 64

/* One walk over a scenario document. */
typedef struct {
  PorticoJsonReader *r;
  PorticoScenario *s;
  gboolean consumers_declared; /* "consumers" given: traffic may not name others */
  GHashTable *link_props;      /* link name -> PorticoScenarioLinkProps*, as events change them */
  GHashTable *node_configs;    /* node name -> JsonNode*, as reloads change them */
  double last_event_at, last_narration_at;
} PorticoScenarioLoader;

/* ---- scenario.c ---- */

/* The entity of @array (every entity type starts with its name) named
 * @name, or NULL. */
gpointer portico_scenario_find_named (GPtrArray *array, const char *name);
void portico_scenario_service_free (gpointer data);

/* ---- scenario-read.c ---- */

/* "%.15g" in any locale, into @buffer. */
const char *portico_scenario_format_number (char *buffer, gsize size, double value);
/* A number (integer or not) in [@min, @max] under @key. */
PorticoJsonField portico_scenario_get_number (PorticoJsonReader *r, JsonObject *object,
                                              const char *key, double min, double max,
                                              double *out);
/* The index in @names (NULL-terminated) of the string under @key, or
 * @fallback when it is absent or wrong. */
int portico_scenario_get_enum (PorticoJsonReader *r, JsonObject *object, const char *key,
                               const char *const *names, int fallback);
/* Whether @name is a valid name; records the error at "path.key" (the
 * reader's path itself when @key is NULL) when it is not. */
gboolean portico_scenario_check_name (PorticoJsonReader *r, const char *key, const char *name);
/* The entity of @array named under @key: required, or when absent the
 * only one there is (@only_default). NULL after an error. */
gpointer portico_scenario_get_reference (PorticoJsonReader *r, JsonObject *object, const char *key,
                                         GPtrArray *array, const char *kind,
                                         gboolean only_default);
/* The link props of @object, over those in *@props; returns how many it sets. */
guint portico_scenario_load_link_props (PorticoJsonReader *r, JsonObject *object,
                                        PorticoScenarioLinkProps *props);

void portico_scenario_load_services (PorticoScenarioLoader *ld, JsonObject *root);
void portico_scenario_load_nodes (PorticoScenarioLoader *ld, JsonObject *root);
void portico_scenario_load_consumers (PorticoScenarioLoader *ld, JsonObject *root);
/* The traffic, and the scenario's duration_s (given, or the traffic's). */
void portico_scenario_load_traffic (PorticoScenarioLoader *ld, JsonObject *root);
/* PorticoJsonElementFunc for "links"; @data is the loader. */
void portico_scenario_load_link (PorticoJsonReader *r, JsonNode *element, gpointer data);

/* ---- scenario-events.c ---- */

/* PorticoJsonElementFuncs for "events" and "narration"; @data is the loader. */
void portico_scenario_load_event (PorticoJsonReader *r, JsonNode *element, gpointer data);
void portico_scenario_load_narration (PorticoJsonReader *r, JsonNode *element, gpointer data);

/* ---- scenario-json.c ---- */

/* A copy that shares nothing with @node (json_node_copy() shares objects,
 * arrays and values). */
JsonNode *portico_scenario_deep_copy (JsonNode *node);
/* Sets the place @path ("a.b[2].c") of @root to a copy of @value; FALSE
 * with *@problem (give it to g_free) when it cannot. */
gboolean portico_scenario_json_path_set (JsonNode *root, const char *path, JsonNode *value,
                                         char **problem);
/* Everything wrong with a node's config, as "path: message" (paths inside
 * the config): its placeholders, then what the gateway's config loader
 * says of it with stand-in addresses. Sets *@workers when it loads. */
GPtrArray *portico_scenario_config_problems (const PorticoScenario *s, JsonNode *config,
                                             guint *workers);

G_END_DECLS
