/* lab/expect-check.c: checking loaded expectations against what a run
 * measured (see expect.h): each reads its figure per variant, compares it
 * with its bounds, and says in one line what it found. */
#include "lab/expect-private.h"

#include <math.h>
#include <string.h>

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
 * ratio", "header x-id seen", with its selectors ("of traffic far / traffic
 * near" when it divides one by the other). */
static char *
figure_label (const PorticoExpect *e)
{
  const Kind *kind = portico_expect_kind_of (e->figure);
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
  case PORTICO_FIGURE_TLS_HANDSHAKES:
  case PORTICO_FIGURE_CLIENT_TLS_HANDSHAKES:
    g_string_append_printf (label, "%s %s TLS handshakes",
                            e->figure == PORTICO_FIGURE_TLS_HANDSHAKES ? portico_node_tls_side_name (e->tls_side)
                                                                       : "client",
                            portico_traffic_tls_kind_name (e->tls_kind));
    break;
  default:
    g_string_append (label, kind->label);
    break;
  }
  if (e->per_request && e->figure != PORTICO_FIGURE_STATUS && e->figure != PORTICO_FIGURE_HEADER_SEEN)
    g_string_append (label, " per request");
  else if (e->per_request)
    g_string_append (label, " ratio");
  else if (e->figure == PORTICO_FIGURE_STATUS)
    g_string_append (label, " count");
  if (e->traffic)
    g_string_append_printf (label, " of traffic %s", e->traffic);
  if (e->over_traffic)
    g_string_append_printf (label, " / traffic %s", e->over_traffic);
  if (e->node)
    g_string_append_printf (label, " on node %s", e->node);
  if (e->over_node)
    g_string_append_printf (label, " / node %s", e->over_node);
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
  case PORTICO_FIGURE_CLIENT_TLS_HANDSHAKES:
    if (e->per_request && f->requests == 0)
      *missing = g_strdup ("no request was sent");
    count = f->tls_handshakes[e->tls_kind];
    return e->per_request ? (double) count / (double) f->requests : (double) count;
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
  case PORTICO_FIGURE_UPSTREAM_FAILURES: return known (n->upstream_failures);
  case PORTICO_FIGURE_GATEWAY_REQUESTS: return known (n->requests);
  case PORTICO_FIGURE_TLS_HANDSHAKES: return known (n->tls_handshakes[e->tls_side][e->tls_kind]);
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

/* The figure in one variant, of traffic entry @traffic or on node @node
 * (NULL: all of them); NAN with *@missing set when it is not there. */
static double
figure_value (const PorticoExpect *e, const PorticoVariantResults *v, const char *traffic,
              const char *node, char **missing)
{
  const Kind *kind = portico_expect_kind_of (e->figure);
  double total = 0, requests = 0;
  guint counted = 0;

  if (kind->side == SIDE_CLIENT) {
    PorticoTrafficFigures *f = traffic ? portico_variant_results_find_traffic (v, traffic)
                                       : v->overall;

    if (!f) {
      *missing = traffic ? g_strdup_printf ("no figures for traffic %s", traffic)
                         : g_strdup ("no traffic figures");
      return NAN;
    }
    return client_value (e, f, missing);
  }
  for (guint i = 0; i < v->nodes->len; i++) {
    PorticoNodeFigures *n = g_ptr_array_index (v->nodes, i);
    double value;

    if (node && !g_str_equal (node, n->node))
      continue;
    if (isnan (value = node_value (e, n)) || (e->per_request && n->requests < 0)) {
      *missing = g_strdup_printf ("node %s did not report it", n->node);
      return NAN;
    }
    total = kind->aggregate == AGGREGATE_SUM ? total + value : MAX (total, value);
    requests += (double) n->requests;
    counted++;
  }
  if (counted == 0) {
    *missing = node ? g_strdup_printf ("no figures from node %s", node)
                    : g_strdup ("no figures from any node");
    return NAN;
  }
  if (!e->per_request)
    return total;
  if (requests == 0)
    *missing = g_strdup ("no request was served");
  return total / requests;
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

/* Why a variant has no phase order: nothing sent, no answer, or an
 * answer the gateway did not record a trace for. */
static char *
phases_missing (const PorticoVariantResults *v)
{
  if (isnan (v->trace_at_s))
    return g_strdup ("phases: no request was traced");
  if (v->trace_status == 0)
    return g_strdup ("phases: no request was traced (the traced request got no answer)");
  return g_strdup_printf ("phases: the gateway did not record the traced request (status %u)",
                          v->trace_status);
}

static gboolean
check_phases (const PorticoExpect *e, const PorticoVariantResults *v, char **text)
{
  g_autofree char *expected = g_strjoinv (" > ", e->phases);
  g_autofree char *got = NULL;

  if (!v->phases) {
    *text = phases_missing (v);
    return FALSE;
  }
  got = v->phases[0] ? g_strjoinv (" > ", v->phases) : g_strdup ("(none)");
  if (g_strv_equal ((const char *const *) e->phases, (const char *const *) v->phases)) {
    *text = g_strdup_printf ("phases %s, as expected", got);
    return TRUE;
  }
  *text = g_strdup_printf ("phases %s, expected %s", got, expected);
  return FALSE;
}

/* Every field of header @name in the echo's [[name, value], ...], joined
 * with ", " as a list-valued field reads; NULL when there is none. */
static char *
received_header (JsonArray *headers, const char *name)
{
  GString *joined = NULL;

  for (guint i = 0; i < json_array_get_length (headers); i++) {
    JsonNode *pair = json_array_get_element (headers, i);
    JsonArray *a = JSON_NODE_HOLDS_ARRAY (pair) ? json_node_get_array (pair) : NULL;
    const char *n = a && json_array_get_length (a) == 2
                      ? portico_json_string (json_array_get_element (a, 0)) : NULL;
    const char *value = n ? portico_json_string (json_array_get_element (a, 1)) : NULL;

    if (!value || g_ascii_strcasecmp (n, name) != 0)
      continue;
    if (joined)
      g_string_append_printf (joined, ", %s", value);
    else
      joined = g_string_new (value);
  }
  return joined ? g_string_free (joined, FALSE) : NULL;
}

static gboolean
check_received (const PorticoExpect *e, const PorticoVariantResults *v, char **text)
{
  JsonNode *echo = v->upstream_received ? g_hash_table_lookup (v->upstream_received, e->traffic)
                                        : NULL;
  JsonObject *object = echo && JSON_NODE_HOLDS_OBJECT (echo) ? json_node_get_object (echo) : NULL;
  JsonNode *headers = object ? portico_json_member (object, "headers") : NULL;
  g_autofree char *value = NULL;
  g_autofree char *found = NULL;
  g_autofree char *outcome = NULL;
  gboolean ok;

  if (!object || !headers || !JSON_NODE_HOLDS_ARRAY (headers)) {
    *text = g_strdup_printf ("upstream_received: no echo for traffic %s (the service did not "
                             "answer /echo)", e->traffic);
    return FALSE;
  }
  if (e->header) {
    value = received_header (json_node_get_array (headers), e->header);
    found = value ? g_strdup_printf ("%s: %s", e->header, value)
                  : g_strdup_printf ("no header %s", e->header);
  } else {
    JsonNode *node = portico_json_member (object, e->field);

    /* "query": null is a request without one. */
    value = g_strdup (node ? portico_json_string (node) : NULL);
    found = value ? g_strdup_printf ("%s %s", e->field, value)
                  : g_strdup_printf ("no %s", e->field);
  }
  switch (e->match) {
  case PORTICO_EXPECT_EQUALS:
    ok = value && g_str_equal (value, e->value);
    outcome = ok ? g_strdup ("as expected")
                 : *e->value ? g_strdup_printf ("expected %s", e->value)
                             : g_strdup ("expected it empty");
    break;
  case PORTICO_EXPECT_CONTAINS:
    ok = value && strstr (value, e->value);
    outcome = g_strdup_printf (ok ? "which contains %s" : "expected it to contain %s", e->value);
    break;
  default:
    ok = (value != NULL) == e->present;
    outcome = g_strdup (ok ? "as expected" : e->present ? "expected it present"
                                                        : "expected it absent");
    break;
  }
  *text = g_strdup_printf ("upstream received %s, %s", found, outcome);
  return ok;
}

/* value / the same figure in variant @over, of traffic @over_traffic or
 * on node @over_node; NAN with *@missing set when there is no ratio. */
static double
divide (const PorticoExpect *e, const PorticoResults *results, const PorticoVariantResults *v,
        double value, char **missing)
{
  const PorticoVariantResults *base_v = e->over ? portico_results_find_variant (results, e->over)
                                                : v;
  double base;

  if (!base_v) {
    *missing = g_strdup_printf ("no results for variant %s", e->over);
    return NAN;
  }
  base = figure_value (e, base_v, e->over_traffic ? e->over_traffic : e->traffic,
                       e->over_node ? e->over_node : e->node, missing);
  if (*missing || base != 0)
    return value / base;
  *missing = e->over ? g_strdup_printf ("it is 0 in variant %s: no ratio", e->over)
           : e->over_traffic ? g_strdup_printf ("it is 0 for traffic %s: no ratio", e->over_traffic)
                             : g_strdup_printf ("it is 0 on node %s: no ratio", e->over_node);
  return NAN;
}

/* Requests a service's instances received. */
static gboolean
check_service_requests (const PorticoExpect *e, const PorticoVariantResults *v, char **text)
{
  g_autofree char *who = e->instance >= 0 ? g_strdup_printf ("service %s instance %d", e->service, e->instance)
                                          : g_strdup_printf ("service %s", e->service);
  gint64 n = portico_variant_results_service_requests (v, e->service, e->instance);
  g_autofree char *compared = NULL;

  if (n < 0) {
    *text = g_strdup_printf ("requests %s received: not counted (its control API did not answer)", who);
    return FALSE;
  }
  compared = compare_text (e, (double) n, "");
  *text = g_strdup_printf ("requests %s received %s", who, compared);
  return within (e, (double) n);
}

static gboolean
check_variant (const PorticoExpect *e, const PorticoResults *results,
               const PorticoVariantResults *v, char **text)
{
  const Kind *kind = portico_expect_kind_of (e->figure);
  g_autofree char *label = NULL;
  g_autofree char *missing = NULL;
  g_autofree char *compared = NULL;
  gboolean ratio = e->over || e->over_traffic || e->over_node;
  double value;

  if (e->figure == PORTICO_FIGURE_PHASES)
    return check_phases (e, v, text);
  if (e->figure == PORTICO_FIGURE_UPSTREAM_RECEIVED)
    return check_received (e, v, text);
  if (e->figure == PORTICO_FIGURE_SERVICE_REQUESTS)
    return check_service_requests (e, v, text);
  label = figure_label (e);
  value = figure_value (e, v, e->traffic, e->node, &missing);
  if (!missing && ratio)
    value = divide (e, results, v, value, &missing);
  if (missing) {
    *text = g_strdup_printf ("%s%s: %s", label, e->over ? " ratio" : "", missing);
    return FALSE;
  }
  compared = compare_text (e, value, ratio || e->per_request ? "" : kind->unit);
  if (e->over)
    *text = g_strdup_printf ("%s %s/%s %s", label, v->variant, e->over, compared);
  else
    *text = g_strdup_printf ("%s%s %s", label, ratio ? " =" : "", compared);
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
