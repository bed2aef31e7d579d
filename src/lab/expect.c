/* lab/expect.c: expectations, loaded with a scenario and checked against
 * what a run measured (see expect.h).
 *
 * Each kind of expectation is one row of a table: the figure it reads, the
 * side it is read from (the client's traffic, the gateway's nodes, the
 * traced request) and the keys its object may hold. Loading is table-driven
 * so that every kind gets the same selectors, bounds and errors; checking
 * reads the figure per variant and compares it with the bounds, and a
 * figure that is missing is a failure that says so.
 */
#include "lab/expect.h"

#include "pdk/module-loader.h"

#include <math.h>
#include <string.h>

typedef enum {
  SIDE_CLIENT,
  SIDE_GATEWAY,
  SIDE_TRACE,
  SIDE_EITHER, /* "ratio": the side of its "of" */
} Side;

typedef enum {
  AGGREGATE_SUM,
  AGGREGATE_MAX,
} Aggregate;

/* A bare number stands for {"min": N, "max": N}; "ratio" may compare it. */
#define PLAIN (1u << 0)

typedef struct {
  const char *name;
  PorticoFigure figure;
  Side side;
  guint flags;
  Aggregate aggregate;   /* over nodes */
  const char *label;     /* in the check's text */
  const char *unit;      /* "" or " ms" */
  const char *keys[9];   /* what its object may hold */
} Kind;

#define CLIENT_KIND(name, figure, label) \
  { name, figure, SIDE_CLIENT, PLAIN, AGGREGATE_SUM, label, "", \
    { "variant", "traffic", "min", "max" } }
#define GATEWAY_KIND(name, figure, aggregate, label, unit) \
  { name, figure, SIDE_GATEWAY, PLAIN, aggregate, label, unit, { "variant", "node", "min", "max" } }

static const Kind kinds[] = {
  CLIENT_KIND ("success_ratio", PORTICO_FIGURE_SUCCESS_RATIO, "success ratio"),
  { "status", PORTICO_FIGURE_STATUS, SIDE_CLIENT, 0, AGGREGATE_SUM, "status", "",
    { "variant", "traffic", "code", "min", "max", "min_ratio", "max_ratio" } },
  { "errors", PORTICO_FIGURE_ERRORS, SIDE_CLIENT, PLAIN, AGGREGATE_SUM, "errors", "",
    { "variant", "traffic", "kind", "min", "max" } },
  { "latency", PORTICO_FIGURE_LATENCY, SIDE_CLIENT, 0, AGGREGATE_MAX, "latency", " ms",
    { "variant", "traffic", "p", "min_ms", "max_ms", "over", "min_ratio", "max_ratio" } },
  { "ratio", PORTICO_FIGURE_REQUESTS, SIDE_EITHER, 0, AGGREGATE_SUM, "ratio", "",
    { "of", "variant", "over", "traffic", "node", "min", "max" } },
  CLIENT_KIND ("requests", PORTICO_FIGURE_REQUESTS, "requests"),
  CLIENT_KIND ("completed", PORTICO_FIGURE_COMPLETED, "completed"),
  CLIENT_KIND ("rps", PORTICO_FIGURE_RPS, "rps"),
  CLIENT_KIND ("connections_opened", PORTICO_FIGURE_CONNECTIONS_OPENED, "connections opened"),
  { "header_seen", PORTICO_FIGURE_HEADER_SEEN, SIDE_CLIENT, 0, AGGREGATE_SUM, "header", "",
    { "variant", "traffic", "name", "min", "max", "min_ratio", "max_ratio" } },
  GATEWAY_KIND ("workers_respawned", PORTICO_FIGURE_WORKERS_RESPAWNED, AGGREGATE_SUM,
                "workers respawned", ""),
  GATEWAY_KIND ("reloads", PORTICO_FIGURE_RELOADS, AGGREGATE_SUM, "reloads", ""),
  GATEWAY_KIND ("reload_failures", PORTICO_FIGURE_RELOAD_FAILURES, AGGREGATE_SUM,
                "reload failures", ""),
  GATEWAY_KIND ("timers_pending_max", PORTICO_FIGURE_TIMERS_PENDING_MAX, AGGREGATE_MAX,
                "timers pending max", ""),
  { "timers_by_owner_max", PORTICO_FIGURE_TIMERS_BY_OWNER_MAX, SIDE_GATEWAY, 0, AGGREGATE_MAX,
    "timers pending max", "", { "variant", "node", "owner", "min", "max" } },
  GATEWAY_KIND ("loop_lag_max_ms", PORTICO_FIGURE_LOOP_LAG_MAX_MS, AGGREGATE_MAX, "loop lag max",
                " ms"),
  GATEWAY_KIND ("upstream_connects", PORTICO_FIGURE_UPSTREAM_CONNECTS, AGGREGATE_SUM,
                "upstream connects", ""),
  GATEWAY_KIND ("upstream_reuses", PORTICO_FIGURE_UPSTREAM_REUSES, AGGREGATE_SUM,
                "upstream reuses", ""),
  GATEWAY_KIND ("gateway_requests", PORTICO_FIGURE_GATEWAY_REQUESTS, AGGREGATE_SUM,
                "gateway requests", ""),
  { "phases", PORTICO_FIGURE_PHASES, SIDE_TRACE, 0, AGGREGATE_SUM, "phases", "",
    { "variant", "order" } },
};

/* "of" of a ratio: any kind without a parameter, or a latency percentile. */
static const struct {
  const char *name;
  double percentile;
} latency_names[] = {
  { "p50", 50 }, { "p90", 90 }, { "p99", 99 }, { "p999", 99.9 }, { "max_latency", 100 },
};

static const Kind *
kind_of_figure (PorticoFigure figure)
{
  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++) {
    if (kinds[i].figure == figure && kinds[i].side != SIDE_EITHER)
      return &kinds[i];
  }
  g_return_val_if_reached (&kinds[0]);
}

static const Kind *
kind_named (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++) {
    if (g_str_equal (kinds[i].name, name))
      return &kinds[i];
  }
  return NULL;
}

/* ---- loading ---------------------------------------------------------------------- */

void
portico_expect_free (PorticoExpect *e)
{
  if (!e)
    return;
  g_free (e->json_path);
  g_free (e->kind);
  g_free (e->header);
  g_free (e->owner);
  g_strfreev (e->phases);
  g_free (e->variant);
  g_free (e->over);
  g_free (e->node);
  g_free (e->traffic);
  g_free (e);
}

static gboolean
is_number (JsonNode *node)
{
  GType type = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : G_TYPE_INVALID;

  return type == G_TYPE_INT64 || type == G_TYPE_DOUBLE;
}

/* A number >= 0 under @key: TRUE when there is one. */
static gboolean
get_bound (PorticoJsonReader *r, JsonObject *object, const char *key, double *out)
{
  JsonNode *node = portico_json_member (object, key);

  if (!node)
    return FALSE;
  if (is_number (node) && json_node_get_double (node) >= 0 &&
      isfinite (json_node_get_double (node))) {
    *out = json_node_get_double (node);
    return TRUE;
  }
  portico_json_reader_error (r, key, "must be a number, 0 or more");
  return FALSE;
}

/* min/max, or the pair @min_key/@max_key (NULL: none); returns whether the
 * pair was the one given. */
static gboolean
load_bounds (PorticoJsonReader *r, JsonObject *object, PorticoExpect *e, const char *min_key,
             const char *max_key)
{
  gboolean other = min_key && (portico_json_member (object, min_key) ||
                               portico_json_member (object, max_key));

  if (other && (portico_json_member (object, "min") || portico_json_member (object, "max"))) {
    portico_json_reader_error (r, portico_json_member (object, min_key) ? min_key : max_key,
                               "excludes min and max: bound the count or the ratio");
    return FALSE;
  }
  e->has_min = get_bound (r, object, other ? min_key : "min", &e->min);
  e->has_max = get_bound (r, object, other ? max_key : "max", &e->max);
  if (e->has_min && e->has_max && e->min > e->max)
    portico_json_reader_error (r, other ? max_key : "max", "must not be below %s",
                               other ? min_key : "min");
  return other;
}

static gboolean
names_contain (const char *const *names, const char *name)
{
  return names && g_strv_contains (names, name);
}

/* A variant name under @key, which must be one of the scenario's. */
static char *
load_variant_name (PorticoJsonReader *r, JsonObject *object, const char *key,
                   const PorticoExpectNames *names)
{
  const char *name = NULL;

  if (portico_json_reader_get_nonempty_string (r, object, key, &name) != PORTICO_JSON_FIELD_OK)
    return NULL;
  if (!names->variants || !names->variants[0])
    portico_json_reader_error (r, key, "unknown variant \"%s\" (the scenario has no variants)",
                               name);
  else if (!names_contain (names->variants, name))
    portico_json_reader_error (r, key, "unknown variant \"%s\"", name);
  else
    return g_strdup (name);
  return NULL;
}

static gboolean
kind_allows (const Kind *kind, const char *key)
{
  return g_strv_contains (kind->keys, key);
}

/* The selectors @kind takes; the others are already unknown keys. */
static void
load_selectors (PorticoJsonReader *r, JsonObject *object, const Kind *kind, PorticoExpect *e,
                const PorticoExpectNames *names)
{
  JsonNode *traffic = kind_allows (kind, "traffic") ? portico_json_member (object,
                                                                           "traffic") : NULL;
  const char *node = NULL;

  e->variant = load_variant_name (r, object, "variant", names);
  if (kind_allows (kind, "over") && portico_json_member (object, "over")) {
    e->over = load_variant_name (r, object, "over", names);
    if (!portico_json_member (object, "variant"))
      portico_json_reader_error (r, "over", "needs variant: the ratio is variant over over");
    else if (e->over && e->variant && g_str_equal (e->over, e->variant))
      portico_json_reader_error (r, "over", "must not be the variant itself");
  }
  if (kind_allows (kind, "node") &&
      portico_json_reader_get_nonempty_string (r, object, "node", &node) == PORTICO_JSON_FIELD_OK) {
    if (names_contain (names->nodes, node))
      e->node = g_strdup (node);
    else
      portico_json_reader_error (r, "node", "unknown node \"%s\"", node);
  }
  if (!traffic)
    return;
  if (portico_json_string (traffic)) {
    if (names_contain (names->traffic, json_node_get_string (traffic)))
      e->traffic = g_strdup (json_node_get_string (traffic));
    else
      portico_json_reader_error (r, "traffic", "unknown traffic entry \"%s\"",
                                 json_node_get_string (traffic));
  } else if (JSON_NODE_HOLDS_VALUE (traffic) &&
             json_node_get_value_type (traffic) == G_TYPE_INT64) {
    guint n = names->traffic ? g_strv_length ((GStrv) names->traffic) : 0;
    gint64 index = json_node_get_int (traffic);

    if (index >= 0 && index < n)
      e->traffic = g_strdup (names->traffic[index]);
    else
      portico_json_reader_error (r, "traffic",
                                 "no traffic entry %" G_GINT64_FORMAT " (there %s %u)",
                                 index, n == 1 ? "is" : "are", n);
  } else {
    portico_json_reader_error (r, "traffic", "must be a traffic entry's name or index");
  }
}

static void
load_phases (PorticoJsonReader *r, JsonObject *object, const char *key, PorticoExpect *e)
{
  g_auto(GStrv) phases = NULL;

  if (portico_json_reader_get_strings (r, object, key, NULL, NULL,
                                       &phases) == PORTICO_JSON_FIELD_ABSENT) {
    portico_json_reader_error (r, key, "is required");
    return;
  }
  if (!phases)
    return;
  portico_json_reader_push_key (r, key);
  if (!phases[0])
    portico_json_reader_error (r, NULL, "must name at least one phase");
  for (guint i = 0; phases[i]; i++) {
    gboolean known = FALSE;

    for (PorticoPhase p = 0; p < PORTICO_N_PHASES; p++)
      known = known || g_str_equal (phases[i], portico_phase_name (p));
    if (!known) {
      portico_json_reader_push_index (r, i);
      portico_json_reader_error (r, NULL, "unknown phase \"%s\" (expected one of: init_worker, "
                                          "certificate, rewrite, access, balancer, header_filter, "
                                          "body_filter, log)", phases[i]);
      portico_json_reader_pop (r);
    }
  }
  portico_json_reader_pop (r);
  e->phases = g_steal_pointer (&phases);
}

/* @a or @b, whichever @object has (@a first), or NULL. */
static const char *
first_member (JsonObject *object, const char *a, const char *b)
{
  return portico_json_member (object, a) ? a : portico_json_member (object, b) ? b : NULL;
}

/* The parameter of the figure, and the bounds of kinds that have their own. */
static void
load_parameter (PorticoJsonReader *r, JsonObject *object, const Kind *kind, PorticoExpect *e)
{
  static const double percentiles[] = { 50, 90, 99, 99.9, 100 };
  JsonNode *node;
  const char *text;

  switch (kind->figure) {
  case PORTICO_FIGURE_STATUS:
    node = portico_json_member (object, "code");
    text = node ? portico_json_string (node) : NULL;
    if (!node)
      portico_json_reader_error (r, "code", "is required");
    else if (text && strlen (text) == 3 && text[0] >= '1' && text[0] <= '5' &&
             g_ascii_tolower (text[1]) == 'x' && g_ascii_tolower (text[2]) == 'x')
      e->status_code = text[0] - '0';
    else if (!text && JSON_NODE_HOLDS_VALUE (node) &&
             json_node_get_value_type (node) == G_TYPE_INT64 &&
             json_node_get_int (node) >= 100 && json_node_get_int (node) <= 599)
      e->status_code = (guint) json_node_get_int (node);
    else
      portico_json_reader_error (r, "code", "must be a status code (100 to 599) or a class "
                                            "(\"1xx\" to \"5xx\")");
    e->per_request = load_bounds (r, object, e, "min_ratio", "max_ratio");
    break;
  case PORTICO_FIGURE_HEADER_SEEN:
    if ((text = portico_json_reader_require_string (r, object, "name")))
      e->header = g_ascii_strdown (text, -1);
    e->per_request = load_bounds (r, object, e, "min_ratio", "max_ratio");
    break;
  case PORTICO_FIGURE_ERRORS:
    e->error_kind = -1;
    if (portico_json_reader_get_string (r, object, "kind", &text) == PORTICO_JSON_FIELD_OK) {
      g_autoptr(GString) list = g_string_new (NULL);

      for (int k = 0; k < PORTICO_TRAFFIC_N_ERRORS; k++) {
        const char *name = portico_traffic_error_name ((PorticoTrafficError) k);

        e->error_kind = g_str_equal (text, name) ? k : e->error_kind;
        g_string_append_printf (list, "%s%s", k ? ", " : "", name);
      }
      if (e->error_kind < 0)
        portico_json_reader_error (r, "kind", "must be one of: %s", list->str);
    }
    load_bounds (r, object, e, NULL, NULL);
    break;
  case PORTICO_FIGURE_LATENCY:
    e->percentile = NAN;
    if (!(node = portico_json_member (object, "p")))
      portico_json_reader_error (r, "p", "is required");
    for (guint i = 0; node && is_number (node) && i < G_N_ELEMENTS (percentiles); i++) {
      if (json_node_get_double (node) == percentiles[i])
        e->percentile = percentiles[i];
    }
    if (node && isnan (e->percentile))
      portico_json_reader_error (r, "p", "must be one of: 50, 90, 99, 99.9, 100");
    if (e->over && (text = first_member (object, "min_ms", "max_ms")))
      portico_json_reader_error (r, text, "cannot be used with over: bound the ratio with "
                                          "min_ratio or max_ratio");
    else if (!portico_json_member (object, "over") &&
             (text = first_member (object, "min_ratio", "max_ratio")))
      portico_json_reader_error (r, text, "needs variant and over: the ratio of two variants' "
                                          "latencies");
    else if (portico_json_member (object, "over"))
      load_bounds (r, object, e, "min_ratio", "max_ratio");
    else
      load_bounds (r, object, e, "min_ms", "max_ms");
    break;
  case PORTICO_FIGURE_TIMERS_BY_OWNER_MAX:
    if ((text = portico_json_reader_require_string (r, object, "owner")))
      e->owner = g_strdup (text);
    load_bounds (r, object, e, NULL, NULL);
    break;
  case PORTICO_FIGURE_PHASES:
    load_phases (r, object, "order", e);
    break;
  default:
    load_bounds (r, object, e, NULL, NULL);
    break;
  }
}

/* "ratio": {"of": FIGURE, "variant", "over", ...}: the figure is "of"'s. */
static const Kind *
load_ratio_of (PorticoJsonReader *r, JsonObject *object, PorticoExpect *e)
{
  const char *of = portico_json_reader_require_string (r, object, "of");
  const Kind *kind;

  if (!of)
    return NULL;
  for (guint i = 0; i < G_N_ELEMENTS (latency_names); i++) {
    if (g_str_equal (of, latency_names[i].name)) {
      e->figure = PORTICO_FIGURE_LATENCY;
      e->percentile = latency_names[i].percentile;
      return kind_of_figure (PORTICO_FIGURE_LATENCY);
    }
  }
  kind = kind_named (of);
  if (!kind || !(kind->flags & PLAIN)) {
    portico_json_reader_error (r, "of", "must be a figure: requests, completed, rps, "
                                        "connections_opened, success_ratio, errors, p50, p90, p99, "
                                        "p999, max_latency, or a gateway figure such as reloads");
    return NULL;
  }
  e->figure = kind->figure;
  e->error_kind = -1;
  return kind;
}

static PorticoExpect *
load_spec (PorticoJsonReader *r, const Kind *kind, JsonNode *spec, const PorticoExpectNames *names)
{
  g_autoptr(PorticoExpect) e = g_new0 (PorticoExpect, 1);
  JsonObject *object;
  guint errors = portico_json_reader_get_errors (r)->len;
  const Kind *figure_kind = kind;

  e->figure = kind->figure;
  e->error_kind = -1;
  if (kind->figure == PORTICO_FIGURE_PHASES && JSON_NODE_HOLDS_ARRAY (spec)) {
    JsonObject *wrapper = json_object_new ();

    json_object_set_member (wrapper, kind->name, json_node_ref (spec));
    portico_json_reader_pop (r); /* the array reports at the kind's path, not at "order" */
    load_phases (r, wrapper, kind->name, e);
    portico_json_reader_push_key (r, kind->name);
    json_object_unref (wrapper);
  } else if (is_number (spec) && (kind->flags & PLAIN)) {
    /* A bare number: exactly that. */
    if (json_node_get_double (spec) < 0)
      portico_json_reader_error (r, NULL, "must be a number, 0 or more");
    e->has_min = e->has_max = TRUE;
    e->min = e->max = json_node_get_double (spec);
  } else if (!(object = JSON_NODE_HOLDS_OBJECT (spec) ? json_node_get_object (spec) : NULL)) {
    portico_json_reader_error (r, NULL, kind->flags & PLAIN
                                          ? "must be a number (exactly that) or an object"
                                          : kind->figure == PORTICO_FIGURE_PHASES
                                            ? "must be an array of phases or an object"
                                            : "must be an object");
  } else {
    portico_json_reader_check_keys (r, object, kind->keys);
    load_selectors (r, object, kind, e, names);
    if (kind->side == SIDE_EITHER) {
      figure_kind = load_ratio_of (r, object, e);
      if (!portico_json_member (object, "variant"))
        portico_json_reader_error (r, "variant", "is required: a ratio is variant over over");
      if (!portico_json_member (object, "over"))
        portico_json_reader_error (r, "over", "is required: a ratio is variant over over");
      load_bounds (r, object, e, NULL, NULL);
    } else {
      load_parameter (r, object, kind, e);
    }
    if (figure_kind && figure_kind->side != SIDE_CLIENT && e->traffic)
      portico_json_reader_error (r, "traffic", "does not apply to a gateway figure");
    if (figure_kind && figure_kind->side != SIDE_GATEWAY && e->node)
      portico_json_reader_error (r, "node", "does not apply to a client figure");
  }
  if (e->figure != PORTICO_FIGURE_PHASES && !e->has_min && !e->has_max &&
      portico_json_reader_get_errors (r)->len == errors)
    portico_json_reader_error (r, NULL, "needs a bound: %s",
                               e->figure == PORTICO_FIGURE_LATENCY
                                 ? (e->over ? "min_ratio or max_ratio" : "min_ms or max_ms")
                                 : e->figure == PORTICO_FIGURE_STATUS ||
                                       e->figure == PORTICO_FIGURE_HEADER_SEEN
                                   ? "min, max, min_ratio or max_ratio"
                                   : "min or max");
  return portico_json_reader_get_errors (r)->len == errors ? g_steal_pointer (&e) : NULL;
}

PorticoExpect *
portico_expect_load (PorticoJsonReader *reader, JsonNode *node, const PorticoExpectNames *names)
{
  static const char *kind_names[G_N_ELEMENTS (kinds) + 1];
  JsonObject *object;
  const char *key;
  const Kind *kind;
  PorticoExpect *e;
  g_autoptr(GList) keys = NULL;

  g_return_val_if_fail (reader != NULL && node != NULL && names != NULL, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    kind_names[i] = kinds[i].name;
  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    portico_json_reader_error (reader, NULL, "must be an object with one key, the kind of "
                                             "expectation, like "
                                             "{\"success_ratio\": {\"min\": 0.99}}");
    return NULL;
  }
  object = json_node_get_object (node);
  keys = json_object_get_members (object);
  if (g_list_length (keys) != 1) {
    portico_json_reader_error (reader, NULL, "must have exactly one key, the kind of expectation "
                                             "(it has %u)", g_list_length (keys));
    return NULL;
  }
  key = keys->data;
  if (!(kind = kind_named (key))) {
    portico_json_reader_check_keys (reader, object, kind_names);
    return NULL;
  }
  portico_json_reader_push_key (reader, key);
  e = load_spec (reader, kind, json_object_get_member (object, key), names);
  portico_json_reader_pop (reader);
  if (e) {
    e->json_path = g_strdup (portico_json_reader_get_path (reader));
    e->kind = g_strdup (key);
  }
  return e;
}

/* ---- checking ----------------------------------------------------------------------- */

/* Integers as such, others with four significant digits (0.9985, 12.35). */
static char *
format_value (double value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  if (value == floor (value) && fabs (value) < 1e15)
    return g_strdup_printf ("%.0f", value);
  return g_strdup (g_ascii_formatd (buffer, sizeof buffer, fabs (value) >= 100 ? "%.1f" : "%.4g",
                                    value));
}

/* What the figure is called in a check's text: "p99 latency", "status 429
 * ratio", "header x-id seen", with its selectors. */
static char *
figure_label (const PorticoExpect *e)
{
  const Kind *kind = kind_of_figure (e->figure);
  GString *label = g_string_new (NULL);
  g_autofree char *p = NULL;

  switch (e->figure) {
  case PORTICO_FIGURE_STATUS:
    if (e->status_code < 10)
      g_string_append_printf (label, "status %uxx", e->status_code);
    else
      g_string_append_printf (label, "status %u", e->status_code);
    break;
  case PORTICO_FIGURE_HEADER_SEEN:
    g_string_append_printf (label, "header %s seen", e->header);
    break;
  case PORTICO_FIGURE_ERRORS:
    g_string_append_printf (label, "%s%s",
                            e->error_kind >= 0 ? portico_traffic_error_name (e->error_kind) : "",
                            e->error_kind >= 0 ? " errors" : "errors");
    break;
  case PORTICO_FIGURE_LATENCY:
    p = format_value (e->percentile);
    g_string_append_printf (label, e->percentile == 100 ? "max latency" : "p%s latency", p);
    break;
  case PORTICO_FIGURE_TIMERS_BY_OWNER_MAX:
    g_string_append_printf (label, "timers pending max of %s", e->owner);
    break;
  default:
    g_string_append (label, kind->label);
    break;
  }
  if (e->per_request)
    g_string_append (label, " ratio");
  else if (e->figure == PORTICO_FIGURE_STATUS)
    g_string_append (label, " count");
  if (e->traffic)
    g_string_append_printf (label, " of traffic %s", e->traffic);
  if (e->node)
    g_string_append_printf (label, " on node %s", e->node);
  return g_string_free (label, FALSE);
}

static double
client_value (const PorticoExpect *e, const PorticoTrafficFigures *f, char **missing)
{
  double latencies[] = { f->p50_ms, f->p90_ms, f->p99_ms, f->p999_ms, f->max_ms };
  double percentiles[] = { 50, 90, 99, 99.9, 100 };
  guint64 count;

  switch (e->figure) {
  case PORTICO_FIGURE_REQUESTS:
    return (double) f->requests;
  case PORTICO_FIGURE_COMPLETED:
    return (double) f->completed;
  case PORTICO_FIGURE_CONNECTIONS_OPENED:
    return (double) f->connections_opened;
  case PORTICO_FIGURE_RPS:
    if (isnan (f->rps))
      *missing = g_strdup ("the rate was not measured");
    return f->rps;
  case PORTICO_FIGURE_SUCCESS_RATIO:
    if (f->requests == 0)
      *missing = g_strdup ("no request was sent");
    return (double) (portico_traffic_figures_status (f, 2) + portico_traffic_figures_status (f,
                                                                                             3)) /
           (double) f->requests;
  case PORTICO_FIGURE_ERRORS:
    if (e->error_kind >= 0)
      return (double) f->errors[e->error_kind];
    return (double) portico_traffic_figures_errors (f);
  case PORTICO_FIGURE_STATUS:
    if (e->per_request && f->requests == 0)
      *missing = g_strdup ("no request was sent");
    count = portico_traffic_figures_status (f, e->status_code);
    return e->per_request ? (double) count / (double) f->requests : (double) count;
  case PORTICO_FIGURE_HEADER_SEEN: {
    guint64 *seen = f->headers_seen ? g_hash_table_lookup (f->headers_seen, e->header) : NULL;

    if (!seen)
      *missing = g_strdup_printf ("header %s was not counted", e->header);
    else if (e->per_request && f->completed == 0)
      *missing = g_strdup ("no request completed");
    else
      return e->per_request ? (double) *seen / (double) f->completed : (double) *seen;
    return NAN;
  }
  case PORTICO_FIGURE_LATENCY:
    for (guint i = 0; i < G_N_ELEMENTS (percentiles); i++) {
      if (percentiles[i] == e->percentile && f->completed > 0 && !isnan (latencies[i]))
        return latencies[i];
    }
    *missing = g_strdup ("no request completed");
    return NAN;
  default:
    g_return_val_if_reached (NAN);
  }
}

/* A count of -1 was not collected. */
static double
known (gint64 count)
{
  return count < 0 ? NAN : (double) count;
}

static double
node_value (const PorticoExpect *e, const PorticoNodeFigures *n)
{
  gint64 *owner;

  switch (e->figure) {
  case PORTICO_FIGURE_WORKERS_RESPAWNED: return known (n->workers_respawned);
  case PORTICO_FIGURE_RELOADS: return known (n->reloads);
  case PORTICO_FIGURE_RELOAD_FAILURES: return known (n->reload_failures);
  case PORTICO_FIGURE_TIMERS_PENDING_MAX: return known (n->timers_pending_max);
  case PORTICO_FIGURE_LOOP_LAG_MAX_MS: return n->loop_lag_max_ms;
  case PORTICO_FIGURE_UPSTREAM_CONNECTS: return known (n->upstream_connects);
  case PORTICO_FIGURE_UPSTREAM_REUSES: return known (n->upstream_reuses);
  case PORTICO_FIGURE_GATEWAY_REQUESTS: return known (n->requests);
  case PORTICO_FIGURE_TIMERS_BY_OWNER_MAX:
    if (!n->timers_by_owner_max)
      return NAN;
    /* An owner that never had a timer is not listed: it had none. */
    owner = g_hash_table_lookup (n->timers_by_owner_max, e->owner);
    return owner ? (double) *owner : 0;
  default:
    g_return_val_if_reached (NAN);
  }
}

/* The figure in one variant; NAN with *@missing set when it is not there. */
static double
figure_value (const PorticoExpect *e, const PorticoVariantResults *v, char **missing)
{
  const Kind *kind = kind_of_figure (e->figure);
  double total = 0;
  guint counted = 0;

  if (kind->side == SIDE_CLIENT) {
    PorticoTrafficFigures *f = e->traffic ? portico_variant_results_find_traffic (v, e->traffic)
                                          : v->overall;

    if (!f) {
      *missing = e->traffic ? g_strdup_printf ("no figures for traffic %s", e->traffic)
                            : g_strdup ("no traffic figures");
      return NAN;
    }
    return client_value (e, f, missing);
  }
  for (guint i = 0; i < v->nodes->len; i++) {
    PorticoNodeFigures *n = g_ptr_array_index (v->nodes, i);
    double value;

    if (e->node && !g_str_equal (e->node, n->node))
      continue;
    if (isnan (value = node_value (e, n))) {
      *missing = g_strdup_printf ("node %s did not report it", n->node);
      return NAN;
    }
    total = kind->aggregate == AGGREGATE_SUM ? total + value : MAX (total, value);
    counted++;
  }
  if (counted == 0) {
    *missing = e->node ? g_strdup_printf ("no figures from node %s", e->node)
                       : g_strdup ("no figures from any node");
    return NAN;
  }
  return total;
}

static gboolean
within (const PorticoExpect *e, double value)
{
  return (!e->has_min || value >= e->min) && (!e->has_max || value <= e->max);
}

/* "0.998 >= 0.99", "3 > 2", "1 == 1", "7 not in [1, 5]". */
static char *
compare_text (const PorticoExpect *e, double value, const char *unit)
{
  g_autofree char *v = format_value (value);
  g_autofree char *lo = format_value (e->min);
  g_autofree char *hi = format_value (e->max);
  gboolean ok = within (e, value);

  if (e->has_min && e->has_max && e->min == e->max)
    return g_strdup_printf ("%s%s %s %s%s", v, unit, ok ? "==" : "!=", lo, unit);
  if (e->has_min && e->has_max)
    return g_strdup_printf ("%s%s %s [%s, %s]%s", v, unit, ok ? "in" : "not in", lo, hi, unit);
  if (e->has_min)
    return g_strdup_printf ("%s%s %s %s%s", v, unit, ok ? ">=" : "<", lo, unit);
  return g_strdup_printf ("%s%s %s %s%s", v, unit, ok ? "<=" : ">", hi, unit);
}

static gboolean
check_phases (const PorticoExpect *e, const PorticoVariantResults *v, char **text)
{
  g_autofree char *expected = g_strjoinv (" > ", e->phases);
  g_autofree char *got = v->phases ? g_strjoinv (" > ", v->phases) : NULL;

  if (!got) {
    *text = g_strdup ("phases: no request was traced");
    return FALSE;
  }
  if (g_strv_equal ((const char *const *) e->phases, (const char *const *) v->phases)) {
    *text = g_strdup_printf ("phases %s, as expected", got);
    return TRUE;
  }
  *text = g_strdup_printf ("phases %s, expected %s", got, expected);
  return FALSE;
}

static gboolean
check_variant (const PorticoExpect *e, const PorticoResults *results,
               const PorticoVariantResults *v, char **text)
{
  const Kind *kind = kind_of_figure (e->figure);
  g_autofree char *label = figure_label (e);
  g_autofree char *missing = NULL;
  g_autofree char *compared = NULL;
  const PorticoVariantResults *over;
  double value, base = NAN;

  if (e->figure == PORTICO_FIGURE_PHASES)
    return check_phases (e, v, text);
  value = figure_value (e, v, &missing);
  if (!missing && e->over) {
    if (!(over = portico_results_find_variant (results, e->over)))
      missing = g_strdup_printf ("no results for variant %s", e->over);
    else if (!isnan (base = figure_value (e, over, &missing)) && base == 0)
      missing = g_strdup_printf ("it is 0 in variant %s: no ratio", e->over);
    value /= base;
  }
  if (missing) {
    *text = g_strdup_printf ("%s%s%s: %s", label, e->over ? " " : "",
                             e->over ? "ratio" : "", missing);
    return FALSE;
  }
  compared = compare_text (e, value, e->over || e->per_request ? "" : kind->unit);
  if (e->over)
    *text = g_strdup_printf ("%s %s/%s %s", label, v->variant, e->over, compared);
  else
    *text = g_strdup_printf ("%s %s", label, compared);
  return within (e, value);
}

gboolean
portico_expect_check (const PorticoExpect *e, const PorticoResults *results, char **text)
{
  g_autoptr(GString) all = g_string_new (NULL);
  gboolean ok = TRUE;
  PorticoVariantResults *v;

  g_return_val_if_fail (e != NULL && results != NULL && text != NULL, FALSE);

  if (e->variant) {
    if ((v = portico_results_find_variant (results, e->variant)))
      return check_variant (e, results, v, text);
    *text = g_strdup_printf ("%s: no results for variant %s", e->kind, e->variant);
    return FALSE;
  }
  if (results->variants->len == 0) {
    *text = g_strdup_printf ("%s: no variant ran", e->kind);
    return FALSE;
  }
  if (results->variants->len == 1)
    return check_variant (e, results, g_ptr_array_index (results->variants, 0), text);
  for (guint i = 0; i < results->variants->len; i++) {
    g_autofree char *one = NULL;

    v = g_ptr_array_index (results->variants, i);
    ok = check_variant (e, results, v, &one) && ok;
    g_string_append_printf (all, "%s%s: %s", i ? "; " : "", v->variant, one);
  }
  *text = g_string_free (g_steal_pointer (&all), FALSE);
  return ok;
}

static void
outcome_free (gpointer data)
{
  PorticoExpectOutcome *outcome = data;

  g_free (outcome->text);
  g_free (outcome);
}

GPtrArray *
portico_expect_check_all (GPtrArray *expectations, const PorticoResults *results, gboolean *all_ok)
{
  GPtrArray *outcomes = g_ptr_array_new_with_free_func (outcome_free);

  *all_ok = TRUE;
  for (guint i = 0; i < expectations->len; i++) {
    PorticoExpectOutcome *outcome = g_new0 (PorticoExpectOutcome, 1);

    outcome->expect = g_ptr_array_index (expectations, i);
    outcome->ok = portico_expect_check (outcome->expect, results, &outcome->text);
    *all_ok = *all_ok && outcome->ok;
    g_ptr_array_add (outcomes, outcome);
  }
  return outcomes;
}
