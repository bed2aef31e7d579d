/* prometheus-logic.c: series names and what one request adds (see the
 * header). */
#include "prometheus-logic.h"

#include <string.h>

const gint64 prometheus_kong_buckets[] = { 1, 2, 5, 7, 10, 15, 20, 30, 50, 75, 100, 200, 500, 750, 1000 };
const guint prometheus_n_kong_buckets = G_N_ELEMENTS (prometheus_kong_buckets);
const gint64 prometheus_upstream_buckets[] = { 25, 50, 80, 100, 250, 400, 700, 1000, 2000, 5000, 10000, 30000, 60000 };
const guint prometheus_n_upstream_buckets = G_N_ELEMENTS (prometheus_upstream_buckets);

/* ---- spelling a series ----------------------------------------------------------- */

static void
series_put (PrometheusSeries *s, const char *text, gsize len)
{
  if (s->overflow || s->len + len > PROMETHEUS_SERIES_MAX)
    {
      s->overflow = TRUE;
      return;
    }
  memcpy (s->text + s->len, text, len);
  s->len += len;
}

static void
series_puts (PrometheusSeries *s, const char *text)
{
  series_put (s, text, strlen (text));
}

void
prometheus_series_start (PrometheusSeries *s, const char *name)
{
  s->len = 0;
  s->labels = 0;
  s->overflow = FALSE;
  series_puts (s, name);
}

void
prometheus_series_label (PrometheusSeries *s, const char *key, const char *value)
{
  series_put (s, s->labels++ == 0 ? "{" : ",", 1);
  series_puts (s, key);
  series_put (s, "=\"", 2);
  for (const char *p = value; *p != '\0'; p++)
    {
      const char *run = p;
      while (*p != '\0' && *p != '\\' && *p != '"' && *p != '\n')
        p++;
      series_put (s, run, (gsize) (p - run));
      if (*p == '\0')
        break;
      series_puts (s, *p == '\\' ? "\\\\" : *p == '"' ? "\\\"" : "\\n");
    }
  series_put (s, "\"", 1);
}

const char *
prometheus_series_end (PrometheusSeries *s)
{
  if (s->labels > 0)
    series_put (s, "}", 1);
  if (s->overflow)
    return NULL;
  s->text[s->len] = '\0';
  return s->text;
}

guint
prometheus_bucket_index (const gint64 *bounds, guint n, gint64 value_ms)
{
  guint i = 0;
  while (i < n && value_ms > bounds[i])
    i++;
  return i;
}

/* ---- one request -------------------------------------------------------------- */

typedef struct {
  const PrometheusObservation *obs;
  PrometheusEmit emit;
  gpointer data;
  guint failures;
} Observer;

static void
emit (Observer *o, const char *type, PrometheusSeries *s, gint64 delta)
{
  const char *series = prometheus_series_end (s);
  if (series == NULL || !o->emit (type, series, delta, o->data))
    o->failures++;
}

static void
start_with_place (Observer *o, PrometheusSeries *s, const char *name)
{
  prometheus_series_start (s, name);
  prometheus_series_label (s, "service", o->obs->service);
  prometheus_series_label (s, "route", o->obs->route != NULL ? o->obs->route : "");
}

/* @which: the histogram's bit in *filled. */
static void
observe_histogram (Observer *o, const char *family, const gint64 *bounds, guint n, gint64 value_ms,
                   guint which, guint *filled)
{
  char name[64];
  PrometheusSeries s;
  guint hit = prometheus_bucket_index (bounds, n, value_ms);
  gboolean zero_fill = filled != NULL && (*filled & which) == 0;

  if (zero_fill)
    *filled |= which;

  g_snprintf (name, sizeof name, "%s_bucket", family);
  for (guint i = zero_fill ? 0 : hit; i <= (zero_fill ? n : hit); i++)
    {
      char le[24];
      if (i < n)
        g_snprintf (le, sizeof le, "%" G_GINT64_FORMAT, bounds[i]);
      else
        g_strlcpy (le, "+Inf", sizeof le);
      start_with_place (o, &s, name);
      prometheus_series_label (&s, "le", le);
      emit (o, "histogram", &s, i == hit ? 1 : 0);
    }
  g_snprintf (name, sizeof name, "%s_sum", family);
  start_with_place (o, &s, name);
  emit (o, "histogram", &s, value_ms);
  g_snprintf (name, sizeof name, "%s_count", family);
  start_with_place (o, &s, name);
  emit (o, "histogram", &s, 1);
}

static void
observe_bandwidth (Observer *o, const char *direction, const char *consumer, guint64 bytes)
{
  PrometheusSeries s;

  if (bytes == 0)
    return;
  start_with_place (o, &s, "kong_bandwidth_bytes");
  prometheus_series_label (&s, "direction", direction);
  prometheus_series_label (&s, "consumer", consumer);
  emit (o, "counter", &s, (gint64) bytes);
}

guint
prometheus_observe (const PrometheusOptions *options, const PrometheusObservation *obs, guint *filled,
                    PrometheusEmit emit_func, gpointer data)
{
  Observer o = { obs, emit_func, data, 0 };
  const char *consumer = options->per_consumer && obs->consumer != NULL ? obs->consumer : "";

  if (obs->service == NULL)
    return 0;

  if (options->status_code_metrics)
    {
      PrometheusSeries s;
      char code[16];
      g_snprintf (code, sizeof code, "%d", obs->status);
      start_with_place (&o, &s, "kong_http_requests_total");
      prometheus_series_label (&s, "code", code);
      prometheus_series_label (&s, "source", obs->from_service ? "service" : "kong");
      prometheus_series_label (&s, "consumer", consumer);
      emit (&o, "counter", &s, 1);
    }

  if (options->latency_metrics)
    {
      if (obs->request_ms >= 0)
        observe_histogram (&o, "kong_request_latency_ms", prometheus_upstream_buckets,
                           prometheus_n_upstream_buckets, obs->request_ms, PROMETHEUS_FILLED_REQUEST, filled);
      if (obs->upstream_ms >= 0)
        observe_histogram (&o, "kong_upstream_latency_ms", prometheus_upstream_buckets,
                           prometheus_n_upstream_buckets, obs->upstream_ms, PROMETHEUS_FILLED_UPSTREAM, filled);
      if (obs->kong_ms >= 0)
        observe_histogram (&o, "kong_kong_latency_ms", prometheus_kong_buckets, prometheus_n_kong_buckets,
                           obs->kong_ms, PROMETHEUS_FILLED_KONG, filled);
    }

  if (options->bandwidth_metrics)
    {
      observe_bandwidth (&o, "ingress", consumer, obs->ingress_bytes);
      observe_bandwidth (&o, "egress", consumer, obs->egress_bytes);
    }
  return o.failures;
}
