/* test-prometheus.c: the prometheus module's series without a gateway:
 * names and labels (Kong 3's), escaping of label values, bucket choice,
 * and exactly what one request adds under each option. */
#include <string.h>

#include "prometheus-logic.h"

/* ---- spelling ---- */

static void
test_series_escaping (void)
{
  g_test_summary ("Label values are escaped as the exposition format asks: backslash, double quote "
                  "and newline; everything else is kept as is.");
  PrometheusSeries s;
  prometheus_series_start (&s, "kong_http_requests_total");
  prometheus_series_label (&s, "service", "a\"b\\c\nd");
  prometheus_series_label (&s, "route", "");
  prometheus_series_label (&s, "consumer", "caf\xc3\xa9 {x=1}");
  g_assert_cmpstr (prometheus_series_end (&s), ==,
                   "kong_http_requests_total{service=\"a\\\"b\\\\c\\nd\",route=\"\",consumer=\"caf\xc3\xa9 {x=1}\"}");

  prometheus_series_start (&s, "plain");
  g_assert_cmpstr (prometheus_series_end (&s), ==, "plain");
}

static void
test_series_length (void)
{
  g_test_summary ("A series that would pass PROMETHEUS_SERIES_MAX bytes (escapes counted) is refused, "
                  "never cut short into another series' name.");
  PrometheusSeries s;
  char value[PROMETHEUS_SERIES_MAX];

  /* x{k="VALUE"}: 7 bytes around the value. */
  memset (value, 'v', sizeof value);
  value[PROMETHEUS_SERIES_MAX - 7] = '\0';
  prometheus_series_start (&s, "x");
  prometheus_series_label (&s, "k", value);
  const char *fits = prometheus_series_end (&s);
  g_assert_nonnull (fits);
  g_assert_cmpuint (strlen (fits), ==, PROMETHEUS_SERIES_MAX);

  value[0] = '"'; /* escaped: one byte more */
  prometheus_series_start (&s, "x");
  prometheus_series_label (&s, "k", value);
  g_assert_null (prometheus_series_end (&s));
}

static void
test_bucket_index (void)
{
  g_test_summary ("A value goes in the first bucket whose bound it does not pass (le is inclusive); "
                  "past the last bound, the +Inf bucket.");
  const gint64 *b = prometheus_upstream_buckets;
  guint n = prometheus_n_upstream_buckets;
  g_assert_cmpuint (n, ==, 13);
  g_assert_cmpint (b[0], ==, 25);
  g_assert_cmpint (b[n - 1], ==, 60000);
  g_assert_cmpuint (prometheus_bucket_index (b, n, 0), ==, 0);
  g_assert_cmpuint (prometheus_bucket_index (b, n, 25), ==, 0);
  g_assert_cmpuint (prometheus_bucket_index (b, n, 26), ==, 1);
  g_assert_cmpuint (prometheus_bucket_index (b, n, 60000), ==, n - 1);
  g_assert_cmpuint (prometheus_bucket_index (b, n, 60001), ==, n);
  g_assert_cmpuint (prometheus_n_kong_buckets, ==, 15);
  g_assert_cmpuint (prometheus_bucket_index (prometheus_kong_buckets, prometheus_n_kong_buckets, 7), ==, 3);
}

/* ---- one request ---- */

typedef struct {
  GPtrArray *lines; /* "TYPE SERIES DELTA" */
  guint refuse_after; /* emits past this many fail */
} Recorder;

static gboolean
record (const char *type, const char *series, gint64 delta, gpointer data)
{
  Recorder *rec = data;
  if (rec->lines->len >= rec->refuse_after)
    return FALSE;
  g_ptr_array_add (rec->lines, g_strdup_printf ("%s %s %" G_GINT64_FORMAT, type, series, delta));
  return TRUE;
}

static void
recorder_init (Recorder *rec)
{
  rec->lines = g_ptr_array_new_with_free_func (g_free);
  rec->refuse_after = G_MAXUINT;
}

static gboolean
recorded (Recorder *rec, const char *line)
{
  for (guint i = 0; i < rec->lines->len; i++)
    if (strcmp (g_ptr_array_index (rec->lines, i), line) == 0)
      return TRUE;
  return FALSE;
}

static guint
recorded_prefix (Recorder *rec, const char *prefix)
{
  guint n = 0;
  for (guint i = 0; i < rec->lines->len; i++)
    n += g_str_has_prefix (g_ptr_array_index (rec->lines, i), prefix);
  return n;
}

static PrometheusObservation
request (void)
{
  return (PrometheusObservation){
    .service = "orders", .route = "orders-r", .consumer = "alice", .status = 200, .from_service = TRUE,
    .request_ms = 42, .upstream_ms = 30, .kong_ms = 3, .ingress_bytes = 120, .egress_bytes = 900,
  };
}

static void
test_observe_defaults (void)
{
  g_test_summary ("Kong's defaults turn every family off: a request adds nothing.");
  Recorder rec;
  recorder_init (&rec);
  PrometheusOptions options = { 0 };
  PrometheusObservation obs = request ();
  g_assert_cmpuint (prometheus_observe (&options, &obs, NULL, record, &rec), ==, 0);
  g_assert_cmpuint (rec.lines->len, ==, 0);
  g_ptr_array_unref (rec.lines);
}

static void
test_observe_status (void)
{
  g_test_summary ("kong_http_requests_total{service,route,code,source,consumer}: source is service "
                  "or kong; consumer is empty unless per_consumer; no service, no count.");
  Recorder rec;
  recorder_init (&rec);
  PrometheusOptions options = { .status_code_metrics = TRUE };
  PrometheusObservation obs = request ();

  prometheus_observe (&options, &obs, NULL, record, &rec);
  obs.status = 401;
  obs.from_service = FALSE;
  options.per_consumer = TRUE;
  prometheus_observe (&options, &obs, NULL, record, &rec);
  obs.consumer = NULL;
  obs.route = NULL;
  prometheus_observe (&options, &obs, NULL, record, &rec);
  obs.service = NULL;
  prometheus_observe (&options, &obs, NULL, record, &rec);

  g_assert_cmpuint (rec.lines->len, ==, 3);
  g_assert_cmpstr (g_ptr_array_index (rec.lines, 0), ==,
                   "counter kong_http_requests_total{service=\"orders\",route=\"orders-r\",code=\"200\","
                   "source=\"service\",consumer=\"\"} 1");
  g_assert_cmpstr (g_ptr_array_index (rec.lines, 1), ==,
                   "counter kong_http_requests_total{service=\"orders\",route=\"orders-r\",code=\"401\","
                   "source=\"kong\",consumer=\"alice\"} 1");
  g_assert_cmpstr (g_ptr_array_index (rec.lines, 2), ==,
                   "counter kong_http_requests_total{service=\"orders\",route=\"\",code=\"401\","
                   "source=\"kong\",consumer=\"\"} 1");
  g_ptr_array_unref (rec.lines);
}

static void
test_observe_latency (void)
{
  g_test_summary ("The three latency histograms with Kong 3's bounds: the first observation of a label "
                  "set emits every bucket (0 but the one hit) so all bounds show; later ones only the "
                  "bucket hit, _sum and _count. No upstream: no upstream histogram, and its buckets are "
                  "filled when it first comes.");
  Recorder rec;
  recorder_init (&rec);
  PrometheusOptions options = { .latency_metrics = TRUE };
  PrometheusObservation obs = request ();
  guint filled = 0;

  prometheus_observe (&options, &obs, &filled, record, &rec);
  g_assert_cmpuint (filled, ==, PROMETHEUS_FILLED_REQUEST | PROMETHEUS_FILLED_UPSTREAM | PROMETHEUS_FILLED_KONG);
  /* (13 + 1) + (13 + 1) + (15 + 1) buckets, and a _sum and a _count each. */
  g_assert_cmpuint (rec.lines->len, ==, 14 + 14 + 16 + 6);
  g_assert_true (recorded (&rec, "histogram kong_request_latency_ms_bucket{service=\"orders\",route=\"orders-r\","
                                 "le=\"50\"} 1"));
  g_assert_true (recorded (&rec, "histogram kong_request_latency_ms_bucket{service=\"orders\",route=\"orders-r\","
                                 "le=\"25\"} 0"));
  g_assert_true (recorded (&rec, "histogram kong_request_latency_ms_bucket{service=\"orders\",route=\"orders-r\","
                                 "le=\"+Inf\"} 0"));
  g_assert_true (recorded (&rec, "histogram kong_request_latency_ms_sum{service=\"orders\",route=\"orders-r\"} 42"));
  g_assert_true (recorded (&rec, "histogram kong_request_latency_ms_count{service=\"orders\",route=\"orders-r\"} 1"));
  g_assert_true (recorded (&rec, "histogram kong_upstream_latency_ms_bucket{service=\"orders\",route=\"orders-r\","
                                 "le=\"50\"} 1"));
  g_assert_true (recorded (&rec, "histogram kong_kong_latency_ms_bucket{service=\"orders\",route=\"orders-r\","
                                 "le=\"5\"} 1"));
  g_assert_true (recorded (&rec, "histogram kong_kong_latency_ms_bucket{service=\"orders\",route=\"orders-r\","
                                 "le=\"1000\"} 0"));
  g_assert_cmpuint (recorded_prefix (&rec, "histogram kong_kong_latency_ms_bucket"), ==, 16);

  g_ptr_array_set_size (rec.lines, 0);
  obs.request_ms = 90000;
  obs.upstream_ms = -1;
  prometheus_observe (&options, &obs, &filled, record, &rec);
  g_assert_cmpuint (rec.lines->len, ==, 6);
  g_assert_true (recorded (&rec, "histogram kong_request_latency_ms_bucket{service=\"orders\",route=\"orders-r\","
                                 "le=\"+Inf\"} 1"));
  g_assert_cmpuint (recorded_prefix (&rec, "histogram kong_upstream_latency_ms"), ==, 0);

  /* A label set first seen without an upstream gets that histogram filled later. */
  guint other = 0;
  obs.route = "other";
  prometheus_observe (&options, &obs, &other, record, &rec);
  g_assert_cmpuint (other, ==, PROMETHEUS_FILLED_REQUEST | PROMETHEUS_FILLED_KONG);
  g_ptr_array_set_size (rec.lines, 0);
  obs.upstream_ms = 1;
  prometheus_observe (&options, &obs, &other, record, &rec);
  g_assert_cmpuint (recorded_prefix (&rec, "histogram kong_upstream_latency_ms_bucket"), ==, 14);
  g_assert_cmpuint (rec.lines->len, ==, 3 + 16 + 3);
  g_ptr_array_unref (rec.lines);
}

static void
test_observe_bandwidth (void)
{
  g_test_summary ("kong_bandwidth_bytes{service,route,direction,consumer}: ingress and egress, each "
                  "only when it is not zero.");
  Recorder rec;
  recorder_init (&rec);
  PrometheusOptions options = { .bandwidth_metrics = TRUE, .per_consumer = TRUE };
  PrometheusObservation obs = request ();

  prometheus_observe (&options, &obs, NULL, record, &rec);
  obs.ingress_bytes = 0;
  prometheus_observe (&options, &obs, NULL, record, &rec);
  g_assert_cmpuint (rec.lines->len, ==, 3);
  g_assert_cmpstr (g_ptr_array_index (rec.lines, 0), ==,
                   "counter kong_bandwidth_bytes{service=\"orders\",route=\"orders-r\",direction=\"ingress\","
                   "consumer=\"alice\"} 120");
  g_assert_cmpstr (g_ptr_array_index (rec.lines, 1), ==,
                   "counter kong_bandwidth_bytes{service=\"orders\",route=\"orders-r\",direction=\"egress\","
                   "consumer=\"alice\"} 900");
  g_assert_cmpstr (g_ptr_array_index (rec.lines, 2), ==, g_ptr_array_index (rec.lines, 1));
  g_ptr_array_unref (rec.lines);
}

static void
test_observe_failures (void)
{
  g_test_summary ("Series too long for the dictionary and additions the dictionary refuses are "
                  "counted (the module warns once), the rest still counted.");
  Recorder rec;
  recorder_init (&rec);
  PrometheusOptions options = { .status_code_metrics = TRUE, .bandwidth_metrics = TRUE };
  PrometheusObservation obs = request ();
  char long_name[200];

  memset (long_name, 's', sizeof long_name - 1);
  long_name[sizeof long_name - 1] = '\0';
  obs.service = long_name;
  g_assert_cmpuint (prometheus_observe (&options, &obs, NULL, record, &rec), ==, 3);
  g_assert_cmpuint (rec.lines->len, ==, 0);

  obs.service = "orders";
  rec.refuse_after = 1;
  g_assert_cmpuint (prometheus_observe (&options, &obs, NULL, record, &rec), ==, 2);
  g_assert_cmpuint (rec.lines->len, ==, 1);
  g_ptr_array_unref (rec.lines);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/modules/prometheus/series/escaping", test_series_escaping);
  g_test_add_func ("/modules/prometheus/series/length", test_series_length);
  g_test_add_func ("/modules/prometheus/buckets/index", test_bucket_index);
  g_test_add_func ("/modules/prometheus/observe/defaults", test_observe_defaults);
  g_test_add_func ("/modules/prometheus/observe/status", test_observe_status);
  g_test_add_func ("/modules/prometheus/observe/latency", test_observe_latency);
  g_test_add_func ("/modules/prometheus/observe/bandwidth", test_observe_bandwidth);
  g_test_add_func ("/modules/prometheus/observe/failures", test_observe_failures);

  return g_test_run ();
}
