/* lab/expect.c: expectations, loaded with a scenario and checked against
 * what a run measured (see expect.h).
 *
 * Each kind of expectation is one row of a table: the figure it reads, the
 * side it is read from (the client's traffic, the gateway's nodes, the
 * traced request) and the keys its object may hold. Loading is table-driven
 * so that every kind gets the same selectors, bounds and errors; checking
 * reads the figure per variant and compares it with the bounds, and a
 * figure that is missing is a failure that says so. Two kinds are not
 * figures: "phases" compares the traced request's phase order and
 * "upstream_received" one header or field of what the service received.
 */
#include "lab/expect-private.h"

#include "pdk/module-loader.h"

#include <math.h>
#include <string.h>

#define CLIENT_KIND(name, figure, label) \
  { name, figure, SIDE_CLIENT, PLAIN, AGGREGATE_SUM, label, "", \
    { "variant", "traffic", "min", "max" } }
#define TLS_KEYS \
  { "variant", "traffic", "node", "side", "kind", "min", "max", "min_ratio", "max_ratio", "over", \
    "over_traffic", "over_node" }
#define GATEWAY_KIND(name, figure, aggregate, label, unit) \
  { name, figure, SIDE_GATEWAY, PLAIN, aggregate, label, unit, { "variant", "node", "min", "max" } }

static const Kind kinds[] = {
  CLIENT_KIND ("success_ratio", PORTICO_FIGURE_SUCCESS_RATIO, "success ratio"),
  { "status", PORTICO_FIGURE_STATUS, SIDE_CLIENT, 0, AGGREGATE_SUM, "status", "",
    { "variant", "traffic", "code", "min", "max", "min_ratio", "max_ratio" } },
  { "errors", PORTICO_FIGURE_ERRORS, SIDE_CLIENT, PLAIN, AGGREGATE_SUM, "errors", "",
    { "variant", "traffic", "kind", "min", "max" } },
  { "latency", PORTICO_FIGURE_LATENCY, SIDE_CLIENT, 0, AGGREGATE_MAX, "latency", " ms",
    { "variant", "traffic", "p", "min_ms", "max_ms", "over", "over_traffic", "min_ratio",
      "max_ratio" } },
  { "ratio", PORTICO_FIGURE_REQUESTS, SIDE_EITHER, 0, AGGREGATE_SUM, "ratio", "",
    { "of", "variant", "over", "traffic", "over_traffic", "node", "over_node", "min", "max" } },
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
  GATEWAY_KIND ("upstream_failures", PORTICO_FIGURE_UPSTREAM_FAILURES, AGGREGATE_SUM,
                "upstream failures", ""),
  GATEWAY_KIND ("gateway_requests", PORTICO_FIGURE_GATEWAY_REQUESTS, AGGREGATE_SUM,
                "gateway requests", ""),
  { "phases", PORTICO_FIGURE_PHASES, SIDE_TRACE, 0, AGGREGATE_SUM, "phases", "",
    { "variant", "order" } },
  { "service_requests", PORTICO_FIGURE_SERVICE_REQUESTS, SIDE_SERVICE, 0, AGGREGATE_SUM,
    "service requests", "", { "variant", "service", "instance", "min", "max" } },
  { "upstream_received", PORTICO_FIGURE_UPSTREAM_RECEIVED, SIDE_SERVICE, 0, AGGREGATE_SUM,
    "upstream received", "", { "variant", "traffic", "header", "field", "equals", "contains",
                               "present" } },
  /* One kind, two figures: "side": "client" reads the load generator's
   * count (the second row), the other sides the nodes'. */
  { "tls_handshakes", PORTICO_FIGURE_TLS_HANDSHAKES, SIDE_GATEWAY, 0, AGGREGATE_SUM,
    "TLS handshakes", "", TLS_KEYS },
  { "tls_handshakes", PORTICO_FIGURE_CLIENT_TLS_HANDSHAKES, SIDE_CLIENT, 0, AGGREGATE_SUM,
    "TLS handshakes", "", TLS_KEYS },
};

/* tls_handshakes' "side", in the order of PorticoNodeTlsSide, then the client. */
static const char *const tls_sides[] = { "downstream", "upstream", "client", NULL };
static const char *const tls_kinds[] = { "full", "resumed", "failed", NULL };

/* upstream_received's "field": members of the mock's echo. */
static const char *const received_fields[] = { "method", "path", "query", "http_version", NULL };

/* The ways a ratio divides: the key naming the denominator, the selector
 * naming the numerator, and what both name. */
static const struct {
  const char *over;
  const char *numerator;
  const char *noun;
} denominators[] = {
  { "over", "variant", "variant" },
  { "over_traffic", "traffic", "traffic entry" },
  { "over_node", "node", "node" },
};

/* "of" of a ratio: any kind without a parameter, or a latency percentile. */
static const struct {
  const char *name;
  double percentile;
} latency_names[] = {
  { "p50", 50 }, { "p90", 90 }, { "p99", 99 }, { "p999", 99.9 }, { "max_latency", 100 },
};

const Kind *
portico_expect_kind_of (PorticoFigure figure)
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
  g_free (e->service);
  g_strfreev (e->phases);
  g_free (e->variant);
  g_free (e->over);
  g_free (e->node);
  g_free (e->traffic);
  g_free (e->field);
  g_free (e->value);
  g_free (e->over_traffic);
  g_free (e->over_node);
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

/* A node name under @key, which must be one of the scenario's. */
static char *
load_node_name (PorticoJsonReader *r, JsonObject *object, const char *key,
                const PorticoExpectNames *names)
{
  const char *node = NULL;

  if (portico_json_reader_get_nonempty_string (r, object, key, &node) != PORTICO_JSON_FIELD_OK)
    return NULL;
  if (names_contain (names->nodes, node))
    return g_strdup (node);
  portico_json_reader_error (r, key, "unknown node \"%s\"", node);
  return NULL;
}

/* A traffic entry under @key, by name or index: its name. */
static char *
load_traffic_name (PorticoJsonReader *r, JsonObject *object, const char *key,
                   const PorticoExpectNames *names)
{
  JsonNode *traffic = portico_json_member (object, key);
  guint n = names->traffic ? g_strv_length ((GStrv) names->traffic) : 0;

  if (!traffic)
    return NULL;
  if (portico_json_string (traffic)) {
    if (names_contain (names->traffic, json_node_get_string (traffic)))
      return g_strdup (json_node_get_string (traffic));
    portico_json_reader_error (r, key, "unknown traffic entry \"%s\"",
                               json_node_get_string (traffic));
  } else if (JSON_NODE_HOLDS_VALUE (traffic) &&
             json_node_get_value_type (traffic) == G_TYPE_INT64) {
    gint64 index = json_node_get_int (traffic);

    if (index >= 0 && index < n)
      return g_strdup (names->traffic[index]);
    portico_json_reader_error (r, key, "no traffic entry %" G_GINT64_FORMAT " (there %s %u)",
                               index, n == 1 ? "is" : "are", n);
  } else {
    portico_json_reader_error (r, key, "must be a traffic entry's name or index");
  }
  return NULL;
}

/* over, over_traffic, over_node: at most one, each with its numerator,
 * and the two sides apart. */
static void
load_denominator (PorticoJsonReader *r, JsonObject *object, const Kind *kind, PorticoExpect *e)
{
  /* In the order of denominators[]. */
  const char *numerators[] = { e->variant, e->traffic, e->node };
  const char *given[] = { e->over, e->over_traffic, e->over_node };
  const char *first = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (denominators); i++) {
    const char *key = denominators[i].over;

    if (!kind_allows (kind, key) || !portico_json_member (object, key))
      continue;
    if (first)
      portico_json_reader_error (r, key, "excludes %s: a ratio compares variants, traffic "
                                         "entries or nodes, one pair at a time", first);
    else if (!portico_json_member (object, denominators[i].numerator))
      portico_json_reader_error (r, key, "needs %s: the ratio is %s over %s",
                                 denominators[i].numerator, denominators[i].numerator, key);
    else if (given[i] && numerators[i] && g_str_equal (given[i], numerators[i]))
      portico_json_reader_error (r, key, "must not be the %s itself", denominators[i].noun);
    first = first ? first : key;
  }
  /* A traffic entry named "overall" would be read as all traffic together. */
  for (guint i = 0; e->over_traffic && i < 2; i++) {
    if (g_strcmp0 (i ? e->over_traffic : e->traffic, "overall") == 0)
      portico_json_reader_error (r, i ? "over_traffic" : "traffic",
                                 "must be one traffic entry, not \"overall\" (the sum of all)");
  }
}

/* The selectors @kind takes; the others are already unknown keys. */
static void
load_selectors (PorticoJsonReader *r, JsonObject *object, const Kind *kind, PorticoExpect *e,
                const PorticoExpectNames *names)
{
  static const struct {
    const char *key;
    char *(*load) (PorticoJsonReader *, JsonObject *, const char *, const PorticoExpectNames *);
    gsize offset;
  } selectors[] = {
    { "variant", load_variant_name, G_STRUCT_OFFSET (PorticoExpect, variant) },
    { "over", load_variant_name, G_STRUCT_OFFSET (PorticoExpect, over) },
    { "node", load_node_name, G_STRUCT_OFFSET (PorticoExpect, node) },
    { "over_node", load_node_name, G_STRUCT_OFFSET (PorticoExpect, over_node) },
    { "traffic", load_traffic_name, G_STRUCT_OFFSET (PorticoExpect, traffic) },
    { "over_traffic", load_traffic_name, G_STRUCT_OFFSET (PorticoExpect, over_traffic) },
  };

  for (guint i = 0; i < G_N_ELEMENTS (selectors); i++) {
    if (kind_allows (kind, selectors[i].key))
      G_STRUCT_MEMBER (char *, e, selectors[i].offset) =
        selectors[i].load (r, object, selectors[i].key, names);
  }
  load_denominator (r, object, kind, e);
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

/* The index in @choices (NULL-terminated) of the string required under
 * @key; -1 after an error. */
static int
load_choice (PorticoJsonReader *r, JsonObject *object, const char *key, const char *const *choices)
{
  const char *text = portico_json_reader_require_string (r, object, key);

  for (int i = 0; text && choices[i]; i++) {
    if (g_str_equal (text, choices[i]))
      return i;
  }
  if (text) {
    g_autofree char *list = g_strjoinv (", ", (GStrv) choices);

    portico_json_reader_error (r, key, "must be one of: %s", list);
  }
  return -1;
}

/* tls_handshakes: a side and a kind, then a count (min, max), its ratio to
 * the requests (min_ratio, max_ratio) or, with over, over_traffic or
 * over_node, the ratio of two counts (min_ratio, max_ratio). */
static void
load_tls (PorticoJsonReader *r, JsonObject *object, PorticoExpect *e)
{
  const char *over = first_member (object, "over", "over_traffic");
  const char *count;
  int side = load_choice (r, object, "side", tls_sides);

  if (!over && portico_json_member (object, "over_node"))
    over = "over_node";
  e->tls_side = MAX (side, 0);
  e->tls_kind = MAX (load_choice (r, object, "kind", tls_kinds), 0);
  if (side == PORTICO_NODE_TLS_SIDES)
    e->figure = PORTICO_FIGURE_CLIENT_TLS_HANDSHAKES;
  if (over && (count = first_member (object, "min", "max")))
    portico_json_reader_error (r, count, "cannot be used with %s: bound the ratio with min_ratio "
                                         "or max_ratio", over);
  else
    e->per_request = load_bounds (r, object, e, "min_ratio", "max_ratio") && !over;
}

/* The parameter of the figure, and the bounds of kinds that have their own. */
static void
load_parameter (PorticoJsonReader *r, JsonObject *object, const Kind *kind, PorticoExpect *e,
                const PorticoExpectNames *names)
{
  static const double percentiles[] = { 50, 90, 99, 99.9, 100 };
  JsonNode *node;
  const char *text, *over;

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
    over = first_member (object, "over", "over_traffic");
    if (over && (text = first_member (object, "min_ms", "max_ms")))
      portico_json_reader_error (r, text, "cannot be used with %s: bound the ratio with "
                                          "min_ratio or max_ratio", over);
    else if (!over && (text = first_member (object, "min_ratio", "max_ratio")))
      portico_json_reader_error (r, text, "needs over (with variant) or over_traffic (with "
                                          "traffic): the ratio of two latencies");
    else
      load_bounds (r, object, e, over ? "min_ratio" : "min_ms", over ? "max_ratio" : "max_ms");
    break;
  case PORTICO_FIGURE_SERVICE_REQUESTS:
    e->instance = -1;
    if ((text = portico_json_reader_require_string (r, object, "service"))) {
      if (names_contain (names->services, text))
        e->service = g_strdup (text);
      else
        portico_json_reader_error (r, "service", "unknown service \"%s\"", text);
    }
    {
      guint instance = 0;
      if (portico_json_reader_get_uint (r, object, "instance", 0, 63, &instance) == PORTICO_JSON_FIELD_OK)
        e->instance = (gint) instance;
    }
    load_bounds (r, object, e, NULL, NULL);
    break;
  case PORTICO_FIGURE_TIMERS_BY_OWNER_MAX:
    if ((text = portico_json_reader_require_string (r, object, "owner")))
      e->owner = g_strdup (text);
    load_bounds (r, object, e, NULL, NULL);
    break;
  case PORTICO_FIGURE_PHASES:
    load_phases (r, object, "order", e);
    break;
  case PORTICO_FIGURE_TLS_HANDSHAKES:
    load_tls (r, object, e);
    break;
  default:
    load_bounds (r, object, e, NULL, NULL);
    break;
  }
}

/* upstream_received: the traffic entry (the first by default), header or
 * field, and one of equals, contains, present. */
static void
load_received (PorticoJsonReader *r, JsonObject *object, PorticoExpect *e,
               const PorticoExpectNames *names)
{
  /* In the order of PorticoExpectMatch. */
  static const char *const matches[] = { "equals", "contains", "present" };
  const char *header = NULL, *field = NULL, *first = NULL;

  if (!portico_json_member (object, "traffic") && names->traffic && names->traffic[0])
    e->traffic = g_strdup (names->traffic[0]);
  else if (!portico_json_member (object, "traffic"))
    portico_json_reader_error (r, NULL, "needs a traffic entry to send (the scenario has none)");
  if (portico_json_reader_get_nonempty_string (r, object, "header",
                                               &header) == PORTICO_JSON_FIELD_OK) {
    /* RFC 9110 token characters: anything else never names a header. */
    if (header[strspn (header, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                               "0123456789!#$%&'*+-.^_`|~")])
      portico_json_reader_error (r, "header", "is not a valid header name");
    else
      e->header = g_strdup (header);
  }
  if (portico_json_member (object, "header") && portico_json_member (object, "field"))
    portico_json_reader_error (r, "field", "excludes header: check one header or one field");
  else if (portico_json_reader_get_string (r, object, "field", &field) == PORTICO_JSON_FIELD_OK &&
           !g_strv_contains (received_fields, field))
    portico_json_reader_error (r, "field", "must be one of: method, path, query, http_version");
  else if (field)
    e->field = g_strdup (field);
  else if (!portico_json_member (object, "header") && !portico_json_member (object, "field"))
    portico_json_reader_error (r, NULL, "needs header or field: what the service received");

  for (guint i = 0; i < G_N_ELEMENTS (matches); i++) {
    const char *value = NULL;

    if (!portico_json_member (object, matches[i]))
      continue;
    if (first) {
      portico_json_reader_error (r, matches[i], "excludes %s: compare one way: equals, contains "
                                                "or present", first);
      continue;
    }
    first = matches[i];
    e->match = (PorticoExpectMatch) i;
    if (e->match == PORTICO_EXPECT_PRESENT)
      portico_json_reader_get_bool (r, object, matches[i], &e->present);
    else if ((e->match == PORTICO_EXPECT_EQUALS
                ? portico_json_reader_get_string (r, object, matches[i], &value)
                : portico_json_reader_get_nonempty_string (r, object, matches[i],
                                                           &value)) == PORTICO_JSON_FIELD_OK)
      e->value = g_strdup (value);
  }
  if (!first)
    portico_json_reader_error (r, NULL, "needs equals, contains or present: what to compare with");
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
      return portico_expect_kind_of (PORTICO_FIGURE_LATENCY);
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

/* What an expectation given without bounds should have said. */
static const char *
bounds_wanted (const PorticoExpect *e)
{
  gboolean ratio = e->over || e->over_traffic || e->over_node;

  switch (e->figure) {
  case PORTICO_FIGURE_LATENCY:
    return ratio ? "min_ratio or max_ratio" : "min_ms or max_ms";
  case PORTICO_FIGURE_TLS_HANDSHAKES:
  case PORTICO_FIGURE_CLIENT_TLS_HANDSHAKES:
    return ratio ? "min_ratio or max_ratio" : "min, max, min_ratio or max_ratio";
  case PORTICO_FIGURE_STATUS:
  case PORTICO_FIGURE_HEADER_SEEN:
    return "min, max, min_ratio or max_ratio";
  default:
    return "min or max";
  }
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
      if (!first_member (object, "over", "over_traffic") &&
          !portico_json_member (object, "over_node"))
        portico_json_reader_error (r, "over", "is required (or over_traffic, or over_node): a "
                                              "ratio is one figure over another");
      load_bounds (r, object, e, NULL, NULL);
    } else if (kind->figure == PORTICO_FIGURE_UPSTREAM_RECEIVED) {
      load_received (r, object, e, names);
    } else {
      load_parameter (r, object, kind, e, names);
      figure_kind = portico_expect_kind_of (e->figure);
    }
    if (figure_kind && figure_kind->side == SIDE_GATEWAY && (e->traffic || e->over_traffic))
      portico_json_reader_error (r, e->traffic ? "traffic" : "over_traffic",
                                 "does not apply to a gateway figure");
    if (figure_kind && figure_kind->side == SIDE_CLIENT && (e->node || e->over_node))
      portico_json_reader_error (r, e->node ? "node" : "over_node",
                                 "does not apply to a client figure");
  }
  if (e->figure != PORTICO_FIGURE_PHASES && e->figure != PORTICO_FIGURE_UPSTREAM_RECEIVED &&
      !e->has_min && !e->has_max && portico_json_reader_get_errors (r)->len == errors)
    portico_json_reader_error (r, NULL, "needs a bound: %s", bounds_wanted (e));
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

