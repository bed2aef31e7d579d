/* Unit tests for lab/expect: each kind of expectation passing and failing
 * on hand-built results, ratios across variants, traffic entries and nodes,
 * what the service received (the mock's echo), missing data as a failure
 * that says what is missing, the kinds' own load errors, and the JSON
 * report. */
#include "error-list.h"
#include "lab/expect.h"

#include <math.h>
#include <string.h>

static const char *const variant_names[] = { "blocking", "nonblocking", NULL };
static const char *const node_names[] = { "gateway", "edge", NULL };
static const char *const traffic_names[] = { "alice", "bob", "far", "near", NULL };
static const char *const service_names[] = { "orders", NULL };
static const PorticoExpectNames default_names = { variant_names, node_names, traffic_names, service_names };

/* Loads one expectation (' for ") as the scenario loader does, at
 * "expect[0]", in a scenario with @names; the errors go to @errors when it
 * is not NULL. */
static PorticoExpect *
load_expect_in (const char *text, const PorticoExpectNames *names, GPtrArray *errors)
{
  g_autoptr(PorticoJsonReader) reader = portico_json_reader_new ();
  g_autofree char *json = g_strdup (text);
  JsonNode *root;
  PorticoExpect *e;
  GPtrArray *found;

  g_strdelimit (json, "'", '"');
  root = portico_json_reader_parse (reader, json, -1);
  g_assert_nonnull (root);
  portico_json_reader_push_key (reader, "expect");
  portico_json_reader_push_index (reader, 0);
  e = portico_expect_load (reader, root, names);
  json_node_unref (root);
  found = portico_json_reader_get_errors (reader);
  for (guint i = 0; i < found->len; i++) {
    g_test_message ("error: %s", (char *) g_ptr_array_index (found, i));
    if (errors)
      g_ptr_array_add (errors, g_strdup (g_ptr_array_index (found, i)));
  }
  if (!errors) {
    g_assert_cmpuint (found->len, ==, 0);
    g_assert_nonnull (e);
  }
  return e;
}

static PorticoExpect *
load_expect (const char *text, GPtrArray *errors)
{
  return load_expect_in (text, &default_names, errors);
}

/* What a mock echoes for GET /echo/42 through a gateway that added
 * X-Forwarded-Prefix and a second X-Forwarded-For field. */
#define ECHO "{\"method\": \"GET\", \"path\": \"/echo/42\", \"query\": null, " \
  "\"http_version\": \"HTTP/1.1\", \"headers\": [[\"Host\", \"example.test\"], " \
  "[\"X-Forwarded-Prefix\", \"/orders\"], [\"x-forwarded-for\", \"10.0.0.1\"], " \
  "[\"X-Forwarded-For\", \"127.0.0.1\"], [\"X-Mock-Echo\", \"1\"]], \"headers_exact\": true, " \
  "\"client\": \"127.0.0.1:5000\", \"body_bytes\": 0, \"body_sha256\": \"e3b0\"}"

/* Two variants that differ as blocking and non-blocking workers would: the
 * second serves six times the rate at a fifth of the latency, and traced
 * no request. The first has a far and a near traffic entry (p99 41.2 ms
 * against 1 ms) and the echo of one request of alice; the second only
 * near, and no echo. Over TLS, the first's 20 connections were full
 * handshakes (far's 100 too, and 2 failed), the second's 6000 requests
 * resumed all but 2; its node did not report its handshakes. */
static PorticoResults *
results_new (void)
{
  PorticoResults *results = portico_results_new ("non-blocking");
  PorticoVariantResults *v = portico_results_add_variant (results, "blocking");
  PorticoTrafficFigures *f = v->overall;
  PorticoNodeFigures *n;
  static const char *const phases[] = { "rewrite", "access", "balancer", "header_filter",
                                        "body_filter", "log", NULL };

  f->requests = 1000;
  f->completed = 990;
  portico_traffic_figures_add_status (f, 503, 5);
  portico_traffic_figures_add_status (f, 200, 900);
  portico_traffic_figures_add_status (f, 429, 5);
  portico_traffic_figures_add_status (f, 200, 80);
  f->errors[PORTICO_TRAFFIC_ERR_RESET] = 10;
  f->connections_opened = 20;
  f->tls_handshakes[PORTICO_TRAFFIC_TLS_FULL] = 20;
  f->duration_s = 10;
  f->rps = 99;
  f->p50_ms = 5;
  f->p90_ms = 9;
  f->p99_ms = 20;
  f->p999_ms = 40;
  f->max_ms = 50;
  portico_traffic_figures_add_header (f, "X-RateLimit-Remaining-Minute", 990);
  portico_traffic_figures_add_header (f, "x-id", 500);
  f = portico_variant_results_add_traffic (v, "alice");
  f->requests = f->completed = 600;
  portico_traffic_figures_add_status (f, 200, 595);
  portico_traffic_figures_add_status (f, 429, 5);
  f->rps = 60;
  f->p99_ms = 10;
  f = portico_variant_results_add_traffic (v, "far");
  f->requests = f->completed = 100;
  f->p99_ms = 41.2;
  f->errors[PORTICO_TRAFFIC_ERR_TIMEOUT] = 3;
  f->errors[PORTICO_TRAFFIC_ERR_TLS] = 2;
  f->tls_handshakes[PORTICO_TRAFFIC_TLS_FULL] = 100;
  f->tls_handshakes[PORTICO_TRAFFIC_TLS_FAILED] = 2;
  f = portico_variant_results_add_traffic (v, "near");
  f->requests = f->completed = 300;
  f->p99_ms = 1;
  portico_variant_results_set_received (v, "alice", json_from_string (ECHO, NULL));
  n = portico_variant_results_add_node (v, "gateway");
  n->workers_respawned = 1;
  n->reloads = 1;
  n->reload_failures = 0;
  n->timers_pending_max = 7;
  portico_node_figures_set_owner_max (n, "health", 3);
  n->loop_lag_max_ms = 12.5;
  n->upstream_connects = 40;
  n->upstream_reuses = 950;
  n->upstream_failures = 4;
  n->requests = 990;
  n->tls_handshakes[PORTICO_NODE_TLS_DOWNSTREAM][PORTICO_TRAFFIC_TLS_FULL] = 20;
  n->tls_handshakes[PORTICO_NODE_TLS_DOWNSTREAM][PORTICO_TRAFFIC_TLS_RESUMED] = 0;
  n->tls_handshakes[PORTICO_NODE_TLS_DOWNSTREAM][PORTICO_TRAFFIC_TLS_FAILED] = 0;
  n->tls_handshakes[PORTICO_NODE_TLS_UPSTREAM][PORTICO_TRAFFIC_TLS_FULL] = 40;
  n->tls_handshakes[PORTICO_NODE_TLS_UPSTREAM][PORTICO_TRAFFIC_TLS_RESUMED] = 0;
  n->tls_handshakes[PORTICO_NODE_TLS_UPSTREAM][PORTICO_TRAFFIC_TLS_FAILED] = 1;
  n = portico_variant_results_add_node (v, "edge");
  n->workers_respawned = 0;
  n->reloads = 1;
  n->reload_failures = 0;
  n->timers_pending_max = 12;
  n->loop_lag_max_ms = 3;
  n->upstream_connects = 10;
  n->upstream_reuses = 0;
  n->upstream_failures = 1;
  n->requests = 10;
  for (guint kind = 0; kind < PORTICO_TRAFFIC_TLS_KINDS; kind++) {
    n->tls_handshakes[PORTICO_NODE_TLS_DOWNSTREAM][kind] = 0;
    n->tls_handshakes[PORTICO_NODE_TLS_UPSTREAM][kind] = 0;
  }
  n->tls_handshakes[PORTICO_NODE_TLS_UPSTREAM][PORTICO_TRAFFIC_TLS_FULL] = 10;
  portico_variant_results_set_service_requests (v, "orders", 0, 700);
  portico_variant_results_set_service_requests (v, "orders", 1, 290);
  v->phases = g_strdupv ((GStrv) phases);
  portico_variant_results_add_span (v, "access", "phase", "gateway", NULL, NULL, 1.5, 0.25);
  portico_variant_results_add_event (v, 2, "kill worker 0 of gateway (KILL)", TRUE, "pid 42");
  portico_variant_results_add_narration (v, 2, "Worker 0 is killed.");

  v = portico_results_add_variant (results, "nonblocking");
  f = v->overall;
  f->requests = f->completed = 6000;
  portico_traffic_figures_add_status (f, 200, 6000);
  f->rps = 600;
  f->p50_ms = 1;
  f->p90_ms = 2;
  f->p99_ms = 4;
  f->p999_ms = 5;
  f->max_ms = 9;
  f->connections_opened = 20;
  f->tls_handshakes[PORTICO_TRAFFIC_TLS_FULL] = 2;
  f->tls_handshakes[PORTICO_TRAFFIC_TLS_RESUMED] = 5998;
  f = portico_variant_results_add_traffic (v, "near");
  f->requests = f->completed = 6000;
  f->p99_ms = 4;
  n = portico_variant_results_add_node (v, "gateway");
  n->workers_respawned = 0;
  n->reloads = 0;
  n->upstream_connects = 20;
  return results;
}

typedef struct {
  const char *expect;
  gboolean ok;
  const char *text;
} CheckCase;

static const CheckCase check_cases[] = {
  /* client side */
  { "{'success_ratio': {'min': 0.97, 'variant': 'blocking'}}", TRUE, "success ratio 0.98 >= 0.97" },
  { "{'success_ratio': {'min': 0.99, 'variant': 'blocking'}}", FALSE, "success ratio 0.98 < 0.99" },
  { "{'success_ratio': {'min': 0.97}}", TRUE,
    "blocking: success ratio 0.98 >= 0.97; nonblocking: success ratio 1 >= 0.97" },
  { "{'success_ratio': {'min': 0.99}}", FALSE,
    "blocking: success ratio 0.98 < 0.99; nonblocking: success ratio 1 >= 0.99" },
  { "{'status': {'code': 429, 'min': 1, 'variant': 'blocking'}}", TRUE, "status 429 count 5 >= 1" },
  { "{'status': {'code': 429, 'min': 1}}", FALSE,
    "blocking: status 429 count 5 >= 1; nonblocking: status 429 count 0 < 1" },
  { "{'status': {'code': 200, 'min': 981, 'variant': 'blocking'}}", FALSE,
    "status 200 count 980 < 981" },
  { "{'status': {'code': '5xx', 'max_ratio': 0.01, 'variant': 'blocking'}}", TRUE,
    "status 5xx ratio 0.005 <= 0.01" },
  { "{'status': {'code': '4XX', 'min': 1, 'max': 4, 'variant': 'blocking'}}", FALSE,
    "status 4xx count 5 not in [1, 4]" },
  { "{'status': {'code': 429, 'min_ratio': 0.01, 'traffic': 'alice', 'variant': 'blocking'}}",
    FALSE,
    "status 429 ratio of traffic alice 0.008333 < 0.01" },
  { "{'errors': {'max': 0, 'variant': 'nonblocking'}}", TRUE, "errors 0 <= 0" },
  { "{'errors': {'max': 0, 'variant': 'blocking'}}", FALSE, "errors 10 > 0" },
  { "{'errors': {'max': 0, 'kind': 'timeout', 'variant': 'blocking'}}", TRUE,
    "timeout errors 0 <= 0" },
  { "{'errors': {'max': 5, 'kind': 'reset', 'variant': 'blocking'}}", FALSE,
    "reset errors 10 > 5" },
  { "{'latency': {'p': 99, 'max_ms': 50, 'variant': 'blocking'}}", TRUE,
    "p99 latency 20 ms <= 50 ms" },
  { "{'latency': {'p': 99, 'max_ms': 10, 'variant': 'blocking'}}", FALSE,
    "p99 latency 20 ms > 10 ms" },
  { "{'latency': {'p': 50, 'min_ms': 5, 'variant': 'blocking'}}", TRUE,
    "p50 latency 5 ms >= 5 ms" },
  { "{'latency': {'p': 99.9, 'max_ms': 30, 'variant': 'blocking'}}", FALSE,
    "p99.9 latency 40 ms > 30 ms" },
  { "{'latency': {'p': 100, 'max_ms': 9, 'variant': 'nonblocking'}}", TRUE,
    "max latency 9 ms <= 9 ms" },
  { "{'latency': {'p': 90, 'max_ms': 9, 'traffic': 'alice', 'variant': 'blocking'}}", FALSE,
    "p90 latency of traffic alice: no request completed" },
  { "{'requests': {'min': 100, 'traffic': 'alice', 'variant': 'blocking'}}", TRUE,
    "requests of traffic alice 600 >= 100" },
  { "{'requests': 6000}", FALSE,
    "blocking: requests 1000 != 6000; nonblocking: requests 6000 == 6000" },
  { "{'completed': {'max': 989, 'variant': 'blocking'}}", FALSE, "completed 990 > 989" },
  { "{'rps': {'min': 100, 'variant': 'blocking'}}", FALSE, "rps 99 < 100" },
  { "{'connections_opened': 20}", TRUE,
    "blocking: connections opened 20 == 20; nonblocking: connections opened 20 == 20" },
  { "{'header_seen': {'name': 'X-RateLimit-Remaining-Minute', 'min_ratio': 1, 'variant': 'blocking'}}",
    TRUE, "header x-ratelimit-remaining-minute seen ratio 1 >= 1" },
  { "{'header_seen': {'name': 'X-Id', 'min_ratio': 1, 'variant': 'blocking'}}", FALSE,
    "header x-id seen ratio 0.5051 < 1" },
  { "{'header_seen': {'name': 'x-id', 'min': 500, 'variant': 'blocking'}}", TRUE,
    "header x-id seen 500 >= 500" },

  /* across variants */
  { "{'ratio': {'of': 'rps', 'variant': 'nonblocking', 'over': 'blocking', 'min': 5}}", TRUE,
    "rps nonblocking/blocking 6.061 >= 5" },
  { "{'ratio': {'of': 'rps', 'variant': 'nonblocking', 'over': 'blocking', 'min': 7}}", FALSE,
    "rps nonblocking/blocking 6.061 < 7" },
  { "{'ratio': {'of': 'p99', 'variant': 'nonblocking', 'over': 'blocking', 'max': 0.25}}", TRUE,
    "p99 latency nonblocking/blocking 0.2 <= 0.25" },
  { "{'ratio': {'of': 'upstream_connects', 'variant': 'nonblocking', 'over': 'blocking', 'max': 0.5,"
    " 'node': 'gateway'}}", TRUE, "upstream connects on node gateway nonblocking/blocking 0.5 <= 0.5" },
  { "{'ratio': {'of': 'errors', 'variant': 'nonblocking', 'over': 'blocking', 'max': 0}}", TRUE,
    "errors nonblocking/blocking 0 <= 0" },
  { "{'latency': {'p': 99, 'variant': 'nonblocking', 'over': 'blocking', 'max_ratio': 0.5}}", TRUE,
    "p99 latency nonblocking/blocking 0.2 <= 0.5" },
  { "{'latency': {'p': 50, 'variant': 'blocking', 'over': 'nonblocking', 'max_ratio': 4}}", FALSE,
    "p50 latency blocking/nonblocking 5 > 4" },

  /* within a variant: one traffic entry over another, one node over another */
  { "{'ratio': {'of': 'p99', 'traffic': 'far', 'over_traffic': 'near', 'min': 20, "
    "'variant': 'blocking'}}", TRUE, "p99 latency of traffic far / traffic near = 41.2 >= 20" },
  { "{'ratio': {'of': 'p99', 'traffic': 'far', 'over_traffic': 'near', 'min': 50, "
    "'variant': 'blocking'}}", FALSE, "p99 latency of traffic far / traffic near = 41.2 < 50" },
  { "{'ratio': {'of': 'requests', 'traffic': 3, 'over_traffic': 'far', 'min': 2, 'max': 4}}", FALSE,
    "blocking: requests of traffic near / traffic far = 3 in [2, 4]; nonblocking: requests of "
    "traffic near / traffic far: no figures for traffic far" },
  { "{'ratio': {'of': 'errors', 'traffic': 'far', 'over_traffic': 'near', 'max': 1, "
    "'variant': 'blocking'}}", FALSE,
    "errors of traffic far / traffic near: it is 0 for traffic near: no ratio" },
  { "{'latency': {'p': 99, 'traffic': 'far', 'over_traffic': 'near', 'min_ratio': 20, "
    "'variant': 'blocking'}}", TRUE, "p99 latency of traffic far / traffic near = 41.2 >= 20" },
  { "{'latency': {'p': 99, 'traffic': 'near', 'over_traffic': 'far', 'min_ratio': 1, "
    "'variant': 'blocking'}}", FALSE, "p99 latency of traffic near / traffic far = 0.02427 < 1" },
  { "{'ratio': {'of': 'upstream_connects', 'node': 'gateway', 'over_node': 'edge', 'min': 4, "
    "'variant': 'blocking'}}", TRUE, "upstream connects on node gateway / node edge = 4 >= 4" },
  { "{'ratio': {'of': 'upstream_connects', 'node': 'gateway', 'over_node': 'edge', 'max': 3}}",
    FALSE, "blocking: upstream connects on node gateway / node edge = 4 > 3; nonblocking: "
           "upstream connects on node gateway / node edge: no figures from node edge" },
  { "{'ratio': {'of': 'workers_respawned', 'node': 'gateway', 'over_node': 'edge', 'max': 1, "
    "'variant': 'blocking'}}", FALSE,
    "workers respawned on node gateway / node edge: it is 0 on node edge: no ratio" },

  /* what the service received (the first traffic entry's echo by default) */
  { "{'upstream_received': {'header': 'X-Forwarded-Prefix', 'equals': '/orders', "
    "'variant': 'blocking'}}", TRUE, "upstream received X-Forwarded-Prefix: /orders, as expected" },
  { "{'upstream_received': {'header': 'x-forwarded-prefix', 'equals': '/shop', "
    "'variant': 'blocking'}}", FALSE, "upstream received x-forwarded-prefix: /orders, expected /shop" },
  { "{'upstream_received': {'field': 'path', 'equals': '/42', 'variant': 'blocking'}}", FALSE,
    "upstream received path /echo/42, expected /42" },
  { "{'upstream_received': {'field': 'path', 'contains': '/42', 'variant': 'blocking', "
    "'traffic': 'alice'}}", TRUE, "upstream received path /echo/42, which contains /42" },
  { "{'upstream_received': {'header': 'X-Forwarded-For', 'equals': '10.0.0.1, 127.0.0.1', "
    "'variant': 'blocking'}}", TRUE,
    "upstream received X-Forwarded-For: 10.0.0.1, 127.0.0.1, as expected" },
  { "{'upstream_received': {'header': 'X-Forwarded-For', 'contains': '192.168.', "
    "'variant': 'blocking'}}", FALSE,
    "upstream received X-Forwarded-For: 10.0.0.1, 127.0.0.1, expected it to contain 192.168." },
  { "{'upstream_received': {'header': 'X-Trace', 'present': true, 'variant': 'blocking'}}", FALSE,
    "upstream received no header X-Trace, expected it present" },
  { "{'upstream_received': {'header': 'X-Trace', 'present': false, 'variant': 'blocking'}}", TRUE,
    "upstream received no header X-Trace, as expected" },
  { "{'upstream_received': {'header': 'X-Trace', 'equals': 'a', 'variant': 'blocking'}}", FALSE,
    "upstream received no header X-Trace, expected a" },
  { "{'upstream_received': {'header': 'X-Mock-Echo', 'present': false, 'variant': 'blocking'}}",
    FALSE, "upstream received X-Mock-Echo: 1, expected it absent" },
  { "{'upstream_received': {'field': 'query', 'present': false, 'variant': 'blocking'}}", TRUE,
    "upstream received no query, as expected" },
  { "{'upstream_received': {'field': 'query', 'equals': '', 'variant': 'blocking'}}", FALSE,
    "upstream received no query, expected it empty" },
  { "{'upstream_received': {'field': 'http_version', 'equals': 'HTTP/1.1', 'variant': 'blocking'}}",
    TRUE, "upstream received http_version HTTP/1.1, as expected" },
  { "{'upstream_received': {'field': 'method', 'equals': 'GET'}}", FALSE,
    "blocking: upstream received method GET, as expected; nonblocking: upstream_received: no echo "
    "for traffic alice (the service did not answer /echo)" },
  { "{'upstream_received': {'field': 'method', 'present': true, 'traffic': 1, "
    "'variant': 'blocking'}}", FALSE,
    "upstream_received: no echo for traffic bob (the service did not answer /echo)" },

  /* gateway side: counts add up over nodes, maxima take the largest */
  { "{'workers_respawned': {'min': 1, 'variant': 'blocking'}}", TRUE, "workers respawned 1 >= 1" },
  { "{'workers_respawned': {'min': 1, 'variant': 'nonblocking'}}", FALSE,
    "workers respawned 0 < 1" },
  { "{'workers_respawned': {'min': 1, 'variant': 'blocking', 'node': 'edge'}}", FALSE,
    "workers respawned on node edge 0 < 1" },
  { "{'reloads': {'min': 2, 'max': 2, 'variant': 'blocking'}}", TRUE, "reloads 2 == 2" },
  { "{'reload_failures': {'max': 0, 'variant': 'blocking'}}", TRUE, "reload failures 0 <= 0" },
  { "{'timers_pending_max': {'max': 10, 'variant': 'blocking'}}", FALSE,
    "timers pending max 12 > 10" },
  { "{'timers_pending_max': {'max': 10, 'variant': 'blocking', 'node': 'gateway'}}", TRUE,
    "timers pending max on node gateway 7 <= 10" },
  { "{'timers_by_owner_max': {'owner': 'health', 'max': 2, 'variant': 'blocking', 'node': 'gateway'}}",
    FALSE, "timers pending max of health on node gateway 3 > 2" },
  { "{'timers_by_owner_max': {'owner': 'core', 'max': 0, 'variant': 'blocking', 'node': 'gateway'}}",
    TRUE, "timers pending max of core on node gateway 0 <= 0" },
  { "{'loop_lag_max_ms': {'max': 10, 'variant': 'blocking'}}", FALSE,
    "loop lag max 12.5 ms > 10 ms" },
  { "{'upstream_connects': {'max': 60, 'variant': 'blocking'}}", TRUE,
    "upstream connects 50 <= 60" },
  { "{'upstream_reuses': {'min': 1000, 'variant': 'blocking'}}", FALSE,
    "upstream reuses 950 < 1000" },
  { "{'gateway_requests': {'min': 1000, 'variant': 'blocking'}}", TRUE,
    "gateway requests 1000 >= 1000" },
  { "{'upstream_failures': {'max': 4, 'variant': 'blocking'}}", FALSE,
    "upstream failures 5 > 4" },
  { "{'upstream_failures': {'max': 4, 'variant': 'blocking', 'node': 'gateway'}}", TRUE,
    "upstream failures on node gateway 4 <= 4" },
  { "{'service_requests': {'service': 'orders', 'min': 990, 'variant': 'blocking'}}", TRUE,
    "requests service orders received 990 >= 990" },
  { "{'service_requests': {'service': 'orders', 'instance': 1, 'min': 300, 'variant': 'blocking'}}", FALSE,
    "requests service orders instance 1 received 290 < 300" },
  { "{'service_requests': {'service': 'orders', 'instance': 5, 'min': 1, 'variant': 'blocking'}}", FALSE,
    "requests service orders instance 5 received: not counted (its control API did not answer)" },

  /* TLS handshakes: the client's (one entry, or all), the nodes' by side */
  { "{'tls_handshakes': {'side': 'client', 'kind': 'full', 'max': 20, 'variant': 'blocking'}}", TRUE,
    "client full TLS handshakes 20 <= 20" },
  { "{'tls_handshakes': {'side': 'client', 'kind': 'resumed', 'min_ratio': 0.9}}", FALSE,
    "blocking: client resumed TLS handshakes per request 0 < 0.9; nonblocking: client resumed TLS "
    "handshakes per request 0.9997 >= 0.9" },
  { "{'tls_handshakes': {'side': 'client', 'kind': 'full', 'variant': 'blocking', 'over': "
    "'nonblocking', 'min_ratio': 10}}", TRUE, "client full TLS handshakes blocking/nonblocking 10 >= 10" },
  { "{'tls_handshakes': {'side': 'client', 'kind': 'resumed', 'variant': 'nonblocking', 'over': "
    "'blocking', 'min_ratio': 1}}", FALSE,
    "client resumed TLS handshakes ratio: it is 0 in variant blocking: no ratio" },
  { "{'tls_handshakes': {'side': 'client', 'kind': 'full', 'traffic': 'far', 'min': 101, "
    "'variant': 'blocking'}}", FALSE, "client full TLS handshakes of traffic far 100 < 101" },
  { "{'tls_handshakes': {'side': 'client', 'kind': 'failed', 'traffic': 'far', 'max': 0, "
    "'variant': 'blocking'}}", FALSE, "client failed TLS handshakes of traffic far 2 > 0" },
  { "{'errors': {'kind': 'tls', 'traffic': 'far', 'max': 0, 'variant': 'blocking'}}", FALSE,
    "tls errors of traffic far 2 > 0" },
  { "{'tls_handshakes': {'side': 'upstream', 'kind': 'full', 'max': 49, 'variant': 'blocking'}}",
    FALSE, "upstream full TLS handshakes 50 > 49" },
  { "{'tls_handshakes': {'side': 'upstream', 'kind': 'failed', 'node': 'gateway', 'max': 0, "
    "'variant': 'blocking'}}", FALSE, "upstream failed TLS handshakes on node gateway 1 > 0" },
  { "{'tls_handshakes': {'side': 'downstream', 'kind': 'full', 'max_ratio': 0.05, "
    "'variant': 'blocking'}}", TRUE, "downstream full TLS handshakes per request 0.02 <= 0.05" },
  { "{'tls_handshakes': {'side': 'downstream', 'kind': 'full', 'node': 'edge', 'max_ratio': 0.05, "
    "'variant': 'blocking'}}", TRUE, "downstream full TLS handshakes per request on node edge 0 <= 0.05" },
  { "{'tls_handshakes': {'side': 'upstream', 'kind': 'full', 'node': 'gateway', 'over_node': 'edge', "
    "'min_ratio': 4, 'variant': 'blocking'}}", TRUE,
    "upstream full TLS handshakes on node gateway / node edge = 4 >= 4" },
  { "{'tls_handshakes': {'side': 'downstream', 'kind': 'full', 'max': 10, 'variant': 'nonblocking'}}",
    FALSE, "downstream full TLS handshakes: node gateway did not report it" },

  /* the traced request */
  { "{'phases': ['rewrite', 'access', 'balancer', 'header_filter', 'body_filter', 'log']}", TRUE,
    "" },
  { "{'phases': {'order': ['rewrite', 'access', 'balancer', 'header_filter', 'body_filter', 'log'], "
    "'variant': 'blocking'}}", TRUE,
    "phases rewrite > access > balancer > header_filter > body_filter > log, as expected" },
  { "{'phases': {'order': ['rewrite', 'access', 'header_filter', 'body_filter', 'log'], "
    "'variant': 'blocking'}}", FALSE,
    "phases rewrite > access > balancer > header_filter > body_filter > log, expected rewrite > "
    "access > header_filter > body_filter > log" },

  /* missing data: a failure that says what is missing */
  { "{'phases': {'order': ['log'], 'variant': 'nonblocking'}}", FALSE,
    "phases: no request was traced" },
  { "{'timers_by_owner_max': {'owner': 'health', 'max': 9, 'variant': 'blocking'}}", FALSE,
    "timers pending max of health: node edge did not report it" },
  { "{'reload_failures': {'max': 0, 'variant': 'nonblocking'}}", FALSE,
    "reload failures: node gateway did not report it" },
  { "{'reloads': {'max': 0, 'variant': 'nonblocking', 'node': 'edge'}}", FALSE,
    "reloads on node edge: no figures from node edge" },
  { "{'header_seen': {'name': 'x-id', 'min': 1, 'variant': 'nonblocking'}}", FALSE,
    "header x-id seen: header x-id was not counted" },
  { "{'requests': {'min': 1, 'variant': 'nonblocking', 'traffic': 'bob'}}", FALSE,
    "requests of traffic bob: no figures for traffic bob" },
  { "{'rps': {'min': 1, 'variant': 'blocking', 'traffic': 'bob'}}", FALSE,
    "rps of traffic bob: no figures for traffic bob" },
  { "{'ratio': {'of': 'reload_failures', 'variant': 'blocking', 'over': 'nonblocking', 'max': 1}}",
    FALSE, "reload failures ratio: node gateway did not report it" },
  { "{'ratio': {'of': 'reloads', 'variant': 'blocking', 'over': 'nonblocking', 'max': 1}}", FALSE,
    "reloads ratio: it is 0 in variant nonblocking: no ratio" },
};

static void
test_check_case (gconstpointer data)
{
  const CheckCase *cc = data;
  g_autoptr(PorticoResults) results = results_new ();
  g_autoptr(PorticoExpect) e = load_expect (cc->expect, NULL);
  g_autofree char *text = NULL;
  gboolean ok = portico_expect_check (e, results, &text);

  g_test_message ("%s -> %s", cc->expect, text);
  if (!*cc->text) /* both variants; the one without a trace fails */
    g_assert_cmpstr (text, ==, "blocking: phases rewrite > access > balancer > header_filter > "
                               "body_filter > log, as expected; nonblocking: phases: no request "
                               "was traced");
  else
    g_assert_cmpstr (text, ==, cc->text);
  g_assert_cmpint (ok, ==, *cc->text ? cc->ok : FALSE);
}

static void
test_missing_runs (void)
{
  g_autoptr(PorticoResults) empty = portico_results_new ("s");
  g_autoptr(PorticoResults) one = portico_results_new ("s");
  g_autoptr(PorticoExpect) reloads = load_expect ("{'reloads': 1}", NULL);
  g_autoptr(PorticoExpect) fast = load_expect ("{'reloads': {'max': 1, 'variant': 'nonblocking'}}",
                                               NULL);
  g_autoptr(PorticoExpect) ratio =
    load_expect ("{'ratio': {'of': 'rps', 'variant': 'blocking', 'over': 'nonblocking', 'min': 1}}",
                 NULL);
  g_autoptr(PorticoExpect) success = load_expect ("{'success_ratio': {'min': 0}}", NULL);
  g_autoptr(PorticoExpect) latency = load_expect ("{'latency': {'p': 99, 'max_ms': 1}}", NULL);
  g_autoptr(PorticoExpect) rps = load_expect ("{'rps': {'min': 0}}", NULL);
  PorticoVariantResults *v;
  char *text = NULL;

  g_test_summary ("Results that lack what an expectation reads (no run at all, no such "
                  "variant, nothing sent, no node) fail, and the text says what is missing: "
                  "a bound of 0 never passes on no data.");
  g_assert_false (portico_expect_check (reloads, empty, &text));
  g_assert_cmpstr (text, ==, "reloads: no variant ran");
  g_clear_pointer (&text, g_free);

  v = portico_results_add_variant (one, "blocking");
  g_assert_false (portico_expect_check (fast, one, &text));
  g_assert_cmpstr (text, ==, "reloads: no results for variant nonblocking");
  g_clear_pointer (&text, g_free);
  g_assert_false (portico_expect_check (ratio, one, &text));
  g_assert_cmpstr (text, ==, "rps ratio: the rate was not measured");
  g_clear_pointer (&text, g_free);
  v->overall->rps = 10;
  g_assert_false (portico_expect_check (ratio, one, &text));
  g_assert_cmpstr (text, ==, "rps ratio: no results for variant nonblocking");
  g_clear_pointer (&text, g_free);
  g_assert_false (portico_expect_check (reloads, one, &text));
  g_assert_cmpstr (text, ==, "reloads: no figures from any node");
  g_clear_pointer (&text, g_free);
  g_assert_false (portico_expect_check (success, one, &text));
  g_assert_cmpstr (text, ==, "success ratio: no request was sent");
  g_clear_pointer (&text, g_free);
  g_assert_false (portico_expect_check (latency, one, &text));
  g_assert_cmpstr (text, ==, "p99 latency: no request completed");
  g_clear_pointer (&text, g_free);
  v->overall->rps = NAN;
  g_assert_false (portico_expect_check (rps, one, &text));
  g_assert_cmpstr (text, ==, "rps: the rate was not measured");
  g_clear_pointer (&text, g_free);
}

static void
test_phases_missing (void)
{
  g_autoptr(PorticoResults) results = portico_results_new ("s");
  g_autoptr(PorticoExpect) e = load_expect ("{'phases': ['rewrite', 'log']}", NULL);
  PorticoVariantResults *v = portico_results_add_variant (results, "default");
  g_autofree char *none = NULL, *unanswered = NULL, *unrecorded = NULL, *empty = NULL;

  g_test_summary ("A variant without a phase order says why: no request was sent, the traced "
                  "request got no answer, or the gateway answered (status N) without recording "
                  "it; an empty order is shown as (none). Each is a failure.");
  g_assert_false (portico_expect_check (e, results, &none));
  g_assert_cmpstr (none, ==, "phases: no request was traced");
  v->trace_at_s = 3.5;
  g_assert_false (portico_expect_check (e, results, &unanswered));
  g_assert_cmpstr (unanswered, ==,
                   "phases: no request was traced (the traced request got no answer)");
  v->trace_status = 502;
  g_assert_false (portico_expect_check (e, results, &unrecorded));
  g_assert_cmpstr (unrecorded, ==,
                   "phases: the gateway did not record the traced request (status 502)");
  v->phases = g_new0 (char *, 1);
  g_assert_false (portico_expect_check (e, results, &empty));
  g_assert_cmpstr (empty, ==, "phases (none), expected rewrite > log");
}

static void
test_received_traffic (void)
{
  static const char *const no_traffic[] = { NULL };
  static const char *const overall[] = { "overall", "near", NULL };
  const PorticoExpectNames without = { variant_names, node_names, no_traffic };
  const PorticoExpectNames with_overall = { variant_names, node_names, overall };
  g_autoptr(PorticoExpect) first = load_expect ("{'upstream_received': {'field': 'path', "
                                                "'present': true}}", NULL);
  g_autoptr(PorticoExpect) third = load_expect ("{'upstream_received': {'field': 'path', "
                                                "'present': true, 'traffic': 2}}", NULL);
  g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(PorticoExpect) none = NULL;
  g_autoptr(PorticoExpect) sum = NULL;
  g_autoptr(PorticoResults) results = portico_results_new ("s");
  PorticoVariantResults *v = portico_results_add_variant (results, "default");
  g_autofree char *text = NULL;
  static const char *const no_entry[] = {
    "expect[0].upstream_received: needs a traffic entry to send (the scenario has none)", NULL
  };
  static const char *const sum_errors[] = {
    "expect[0].ratio.over_traffic: must be one traffic entry, not \"overall\" (the sum of all)",
    NULL
  };

  g_test_summary ("upstream_received names the traffic entry whose request is echoed (the "
                  "runner reads it): the first one by default, an index resolved to its name; "
                  "a scenario without traffic cannot have one. A ratio refuses a traffic entry "
                  "named overall, which reads as all traffic together. An echo that is not an "
                  "object with headers is no echo.");
  g_assert_cmpstr (first->traffic, ==, "alice");
  g_assert_cmpstr (third->traffic, ==, "far");
  g_assert_cmpint (first->match, ==, PORTICO_EXPECT_PRESENT);
  g_assert_cmpstr (first->field, ==, "path");
  none = load_expect_in ("{'upstream_received': {'field': 'path', 'present': true}}", &without,
                         errors);
  g_assert_null (none);
  portico_test_assert_errors (errors, no_entry, 2);
  g_ptr_array_set_size (errors, 0);
  sum = load_expect_in ("{'ratio': {'of': 'rps', 'traffic': 'near', 'over_traffic': 'overall', "
                        "'min': 1}}", &with_overall, errors);
  g_assert_null (sum);
  portico_test_assert_errors (errors, sum_errors, 2);

  portico_variant_results_set_received (v, "alice", json_from_string ("{\"path\": \"/\"}", NULL));
  g_assert_false (portico_expect_check (first, results, &text));
  g_assert_cmpstr (text, ==, "upstream_received: no echo for traffic alice (the service did not "
                             "answer /echo)");
}

static void
test_check_all (void)
{
  g_autoptr(PorticoResults) results = results_new ();
  g_autoptr(GPtrArray) expectations =
    g_ptr_array_new_with_free_func ((GDestroyNotify) portico_expect_free);
  g_autoptr(GPtrArray) outcomes = NULL;
  gboolean all_ok = TRUE;

  g_test_summary ("check_all keeps the order and is ok only when every expectation holds.");
  g_ptr_array_add (expectations,
                   load_expect ("{'workers_respawned': {'min': 1, 'variant': 'blocking'}}", NULL));
  g_ptr_array_add (expectations, load_expect ("{'errors': {'max': 0, 'variant': 'blocking'}}",
                                              NULL));
  outcomes = portico_expect_check_all (expectations, results, &all_ok);
  g_assert_false (all_ok);
  g_assert_cmpuint (outcomes->len, ==, 2);
  g_assert_true (((PorticoExpectOutcome *) g_ptr_array_index (outcomes, 0))->ok);
  g_assert_false (((PorticoExpectOutcome *) g_ptr_array_index (outcomes, 1))->ok);
  g_assert_true (((PorticoExpectOutcome *) g_ptr_array_index (outcomes, 1))->expect ==
                 g_ptr_array_index (expectations, 1));
  g_clear_pointer (&outcomes, g_ptr_array_unref);
  g_ptr_array_remove_index (expectations, 1);
  outcomes = portico_expect_check_all (expectations, results, &all_ok);
  g_assert_true (all_ok);
}

/* ---- load errors of the kinds ----------------------------------------------------- */

typedef struct {
  const char *expect;
  const char *errors[4];
} LoadCase;

static const LoadCase load_cases[] = {
  { "{'status': {'min': 1}}", { "expect[0].status.code: is required" } },
  { "{'status': {'code': 600, 'min': 1}}",
    { "expect[0].status.code: must be a status code (100 to 599) or a class (\"1xx\" to \"5xx\")" } },
  { "{'status': {'code': '6xx', 'min': 1}}", { "expect[0].status.code: must be a status code*" } },
  { "{'status': {'code': 200}}",
    { "expect[0].status: needs a bound: min, max, min_ratio or max_ratio" } },
  { "{'status': {'code': 200, 'min': 1, 'max_ratio': 0.5}}",
    { "expect[0].status.max_ratio: excludes min and max: bound the count or the ratio" } },
  { "{'status': 5}", { "expect[0].status: must be an object" } },
  { "{'success_ratio': {'min': 0.9, 'max': 0.5}}",
    { "expect[0].success_ratio.max: must not be below min" } },
  { "{'success_ratio': {'min': -1}}",
    { "expect[0].success_ratio.min: must be a number, 0 or more" } },
  { "{'success_ratio': {'min': '1'}}",
    { "expect[0].success_ratio.min: must be a number, 0 or more" } },
  { "{'success_ratio': {}}", { "expect[0].success_ratio: needs a bound: min or max" } },
  { "{'success_ratio': true}",
    { "expect[0].success_ratio: must be a number (exactly that) or an object" } },
  { "{'reloads': -1}", { "expect[0].reloads: must be a number, 0 or more" } },
  { "{'errors': {'kind': 'dns', 'max': 0}}",
    { "expect[0].errors.kind: must be one of: connect, reset, timeout, protocol, tls" } },
  { "{'latency': {'max_ms': 5}}", { "expect[0].latency.p: is required" } },
  { "{'latency': {'p': 95, 'max_ms': 5}}",
    { "expect[0].latency.p: must be one of: 50, 90, 99, 99.9, 100" } },
  { "{'latency': {'p': 99}}", { "expect[0].latency: needs a bound: min_ms or max_ms" } },
  { "{'latency': {'p': 99, 'max_ratio': 0.5}}",
    { "expect[0].latency.max_ratio: needs over (with variant) or over_traffic (with traffic): the "
      "ratio of two latencies" } },
  { "{'latency': {'p': 99, 'variant': 'blocking', 'over': 'nonblocking', 'max_ms': 5}}",
    { "expect[0].latency.max_ms: cannot be used with over: bound the ratio with min_ratio or max_ratio" } },
  { "{'latency': {'p': 99, 'over': 'blocking', 'max_ratio': 1}}",
    { "expect[0].latency.over: needs variant: the ratio is variant over over" } },
  { "{'latency': {'p': 99, 'variant': 'blocking', 'over': 'blocking', 'max_ratio': 1}}",
    { "expect[0].latency.over: must not be the variant itself" } },
  { "{'ratio': {'of': 'phases', 'variant': 'blocking', 'over': 'nonblocking', 'min': 1}}",
    { "expect[0].ratio.of: must be a figure: requests, completed, rps, connections_opened, "
      "success_ratio, errors, p50, p90, p99, p999, max_latency, or a gateway figure such as reloads" } },
  { "{'ratio': {'of': 'rps', 'min': 1}}",
    { "expect[0].ratio.over: is required (or over_traffic, or over_node): a ratio is one figure "
      "over another" } },
  { "{'ratio': {'of': 'rps', 'over': 'blocking', 'min': 1}}",
    { "expect[0].ratio.over: needs variant: the ratio is variant over over" } },
  { "{'ratio': {'of': 'rps', 'over_traffic': 'near', 'min': 1}}",
    { "expect[0].ratio.over_traffic: needs traffic: the ratio is traffic over over_traffic" } },
  { "{'ratio': {'of': 'reloads', 'over_node': 'edge', 'min': 1}}",
    { "expect[0].ratio.over_node: needs node: the ratio is node over over_node" } },
  { "{'ratio': {'of': 'rps', 'variant': 'blocking', 'over': 'nonblocking', 'traffic': 'far', "
    "'over_traffic': 'near', 'min': 1}}",
    { "expect[0].ratio.over_traffic: excludes over: a ratio compares variants, traffic entries or "
      "nodes, one pair at a time" } },
  { "{'ratio': {'of': 'rps', 'traffic': 'far', 'over_traffic': 2, 'min': 1}}",
    { "expect[0].ratio.over_traffic: must not be the traffic entry itself" } },
  { "{'ratio': {'of': 'reloads', 'node': 'edge', 'over_node': 'edge', 'min': 1}}",
    { "expect[0].ratio.over_node: must not be the node itself" } },
  { "{'ratio': {'of': 'rps', 'traffic': 'far', 'over_traffic': 'moon', 'min': 1}}",
    { "expect[0].ratio.over_traffic: unknown traffic entry \"moon\"" } },
  { "{'ratio': {'of': 'rps', 'traffic': 'far', 'over_traffic': 9, 'min': 1}}",
    { "expect[0].ratio.over_traffic: no traffic entry 9 (there are 4)" } },
  { "{'ratio': {'of': 'reloads', 'node': 'gateway', 'over_node': 'moon', 'min': 1}}",
    { "expect[0].ratio.over_node: unknown node \"moon\"" } },
  { "{'ratio': {'of': 'reloads', 'traffic': 'far', 'over_traffic': 'near', 'min': 1}}",
    { "expect[0].ratio.traffic: does not apply to a gateway figure" } },
  { "{'ratio': {'of': 'p99', 'node': 'gateway', 'over_node': 'edge', 'min': 1}}",
    { "expect[0].ratio.node: does not apply to a client figure" } },
  { "{'latency': {'p': 99, 'traffic': 'far', 'over_traffic': 'near', 'max_ms': 5}}",
    { "expect[0].latency.max_ms: cannot be used with over_traffic: bound the ratio with min_ratio "
      "or max_ratio" } },
  { "{'latency': {'p': 99, 'traffic': 'far', 'over_traffic': 'near'}}",
    { "expect[0].latency: needs a bound: min_ratio or max_ratio" } },
  { "{'latency': {'p': 99, 'node': 'edge', 'over_node': 'gateway', 'max_ratio': 2}}",
    { "expect[0].latency.node: unknown key*", "expect[0].latency.over_node: unknown key*",
      "expect[0].latency.max_ratio: needs over (with variant) or over_traffic (with traffic): the "
      "ratio of two latencies" } },
  { "{'upstream_received': {'header': 'X-A', 'field': 'path', 'equals': '/'}}",
    { "expect[0].upstream_received.field: excludes header: check one header or one field" } },
  { "{'upstream_received': {'equals': '/'}}",
    { "expect[0].upstream_received: needs header or field: what the service received" } },
  { "{'upstream_received': {'field': 'path', 'equals': '/', 'contains': '/', 'present': true}}",
    { "expect[0].upstream_received.contains: excludes equals: compare one way: equals, contains or "
      "present",
      "expect[0].upstream_received.present: excludes equals: compare one way: equals, contains or "
      "present" } },
  { "{'upstream_received': {'header': 'X-A'}}",
    { "expect[0].upstream_received: needs equals, contains or present: what to compare with" } },
  { "{'upstream_received': {'field': 'body', 'present': true}}",
    { "expect[0].upstream_received.field: must be one of: method, path, query, http_version" } },
  { "{'upstream_received': {'header': 5, 'equals': 1}}",
    { "expect[0].upstream_received.header: must be a string",
      "expect[0].upstream_received.equals: must be a string" } },
  { "{'upstream_received': {'header': 'X A', 'present': 'yes'}}",
    { "expect[0].upstream_received.header: is not a valid header name",
      "expect[0].upstream_received.present: must be true or false" } },
  { "{'upstream_received': {'field': 'path', 'contains': ''}}",
    { "expect[0].upstream_received.contains: must not be empty" } },
  { "{'upstream_received': {'field': 'path', 'equals': '/', 'traffic': 'moon', 'variant': 'x'}}",
    { "expect[0].upstream_received.variant: unknown variant \"x\"",
      "expect[0].upstream_received.traffic: unknown traffic entry \"moon\"" } },
  { "{'upstream_received': {'field': 'path', 'equals': '/', 'node': 'edge', 'min': 1}}",
    { "expect[0].upstream_received.node: unknown key (expected one of: variant, traffic, header, "
      "field, equals, contains, present)", "expect[0].upstream_received.min: unknown key*" } },
  { "{'upstream_received': true}", { "expect[0].upstream_received: must be an object" } },
  { "{'service_requests': {'min': 1}}", { "expect[0].service_requests.service: is required" } },
  { "{'service_requests': {'service': 'billing', 'min': 1}}",
    { "expect[0].service_requests.service: unknown service \"billing\"" } },
  { "{'service_requests': {'service': 'orders', 'instance': 64, 'min': 1}}",
    { "expect[0].service_requests.instance: must be an integer between 0 and 63" } },
  { "{'service_requests': {'service': 'orders'}}", { "expect[0].service_requests: needs a bound: min or max" } },
  { "{'ratio': {'of': 'reloads', 'variant': 'blocking', 'over': 'nonblocking', 'traffic': 'alice', 'min': 1}}",
    { "expect[0].ratio.traffic: does not apply to a gateway figure" } },
  { "{'ratio': {'of': 'rps', 'variant': 'blocking', 'over': 'nonblocking', 'node': 'edge', 'min': 1}}",
    { "expect[0].ratio.node: does not apply to a client figure" } },
  { "{'requests': {'node': 'edge', 'min': 1}}",
    { "expect[0].requests.node: unknown key (expected one of: variant, traffic, min, max)" } },
  { "{'requests': {'traffic': true, 'min': 1}}",
    { "expect[0].requests.traffic: must be a traffic entry's name or index" } },
  { "{'header_seen': {'min': 1}}", { "expect[0].header_seen.name: is required" } },
  { "{'timers_by_owner_max': {'max': 1}}", { "expect[0].timers_by_owner_max.owner: is required" } },
  { "{'phases': []}", { "expect[0].phases: must name at least one phase" } },
  { "{'phases': ['rewrite', 'acess']}",
    { "expect[0].phases[1]: unknown phase \"acess\" (expected one of: init_worker, certificate, "
      "rewrite, access, balancer, header_filter, body_filter, log)" } },
  { "{'phases': {'variant': 'blocking'}}", { "expect[0].phases.order: is required" } },
  { "{'phases': 'rewrite'}", { "expect[0].phases: must be an array of phases or an object" } },
  { "{'tls_handshakes': {'kind': 'full', 'max': 1}}", { "expect[0].tls_handshakes.side: is required" } },
  { "{'tls_handshakes': {'side': 'both', 'kind': 'all', 'max': 1}}",
    { "expect[0].tls_handshakes.side: must be one of: downstream, upstream, client",
      "expect[0].tls_handshakes.kind: must be one of: full, resumed, failed" } },
  { "{'tls_handshakes': {'side': 'client', 'kind': 'full'}}",
    { "expect[0].tls_handshakes: needs a bound: min, max, min_ratio or max_ratio" } },
  { "{'tls_handshakes': {'side': 'client', 'kind': 'full', 'min': 1, 'max_ratio': 0.5}}",
    { "expect[0].tls_handshakes.max_ratio: excludes min and max: bound the count or the ratio" } },
  { "{'tls_handshakes': {'side': 'client', 'kind': 'full', 'variant': 'blocking', 'over': "
    "'nonblocking', 'max': 5}}",
    { "expect[0].tls_handshakes.max: cannot be used with over: bound the ratio with min_ratio or "
      "max_ratio" } },
  { "{'tls_handshakes': {'side': 'upstream', 'kind': 'full', 'node': 'gateway', 'over_node': 'edge'}}",
    { "expect[0].tls_handshakes: needs a bound: min_ratio or max_ratio" } },
  { "{'tls_handshakes': {'side': 'client', 'kind': 'full', 'node': 'edge', 'max': 1}}",
    { "expect[0].tls_handshakes.node: does not apply to a client figure" } },
  { "{'tls_handshakes': {'side': 'downstream', 'kind': 'full', 'traffic': 'far', 'max': 1}}",
    { "expect[0].tls_handshakes.traffic: does not apply to a gateway figure" } },
  { "{'tls_handshakes': {'side': 'client', 'kind': 'full', 'over': 'blocking', 'min_ratio': 1}}",
    { "expect[0].tls_handshakes.over: needs variant: the ratio is variant over over" } },
  { "{'tls_handshakes': {'side': 'client', 'kind': 'full', 'max': 1, 'protocol': 'tls1.3'}}",
    { "expect[0].tls_handshakes.protocol: unknown key (expected one of: variant, traffic, node, side, "
      "kind, min, max, min_ratio, max_ratio, over, over_traffic, over_node)" } },
  { "{'tls_handshakes': 5}", { "expect[0].tls_handshakes: must be an object" } },
  { "{'ratio': {'of': 'tls_handshakes', 'variant': 'blocking', 'over': 'nonblocking', 'min': 1}}",
    { "expect[0].ratio.of: must be a figure: *" } },
  { "{'sucess_ratio': {'min': 1}}",
    { "expect[0].sucess_ratio: unknown key (did you mean \"success_ratio\"?)" } },
};

static void
test_load_case (gconstpointer data)
{
  const LoadCase *lc = data;
  g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(PorticoExpect) e = load_expect (lc->expect, errors);

  g_assert_null (e);
  portico_test_assert_errors (errors, lc->errors, G_N_ELEMENTS (lc->errors));
}

/* ---- the results model ------------------------------------------------------------ */

static void
test_status_counts (void)
{
  g_autoptr(PorticoResults) results = results_new ();
  PorticoVariantResults *v = portico_results_find_variant (results, "blocking");
  PorticoTrafficFigures *f = v->overall;

  g_test_summary ("Status counts stay sorted and merged by code; a code of 1 to 5 counts a class.");
  g_assert_cmpuint (f->status->len, ==, 3);
  g_assert_cmpuint (g_array_index (f->status, PorticoStatusCount, 0).code, ==, 200);
  g_assert_cmpuint (g_array_index (f->status, PorticoStatusCount, 0).count, ==, 980);
  g_assert_cmpuint (g_array_index (f->status, PorticoStatusCount, 2).code, ==, 503);
  g_assert_cmpuint (portico_traffic_figures_status (f, 4), ==, 5);
  g_assert_cmpuint (portico_traffic_figures_status (f, 429), ==, 5);
  g_assert_cmpuint (portico_traffic_figures_status (f, 404), ==, 0);
  g_assert_cmpuint (portico_traffic_figures_errors (f), ==, 10);
  g_assert_true (portico_variant_results_find_traffic (v, "overall") == f);
  g_assert_null (portico_variant_results_find_traffic (v, "bob"));
  g_assert_null (portico_results_find_variant (results, "default"));
}

static JsonNode *
at (JsonNode *root, const char *path)
{
  g_auto(GStrv) steps = g_strsplit (path, ".", 0);
  JsonNode *node = root;

  for (guint i = 0; steps[i]; i++) {
    if (JSON_NODE_HOLDS_ARRAY (node))
      node = json_array_get_element (json_node_get_array (node), atoi (steps[i]));
    else
      node = json_object_get_member (json_node_get_object (node), steps[i]);
    g_assert_nonnull (node);
  }
  return node;
}

static void
test_json (void)
{
  g_autoptr(PorticoResults) results = results_new ();
  g_autoptr(GPtrArray) expectations =
    g_ptr_array_new_with_free_func ((GDestroyNotify) portico_expect_free);
  g_autoptr(GPtrArray) outcomes = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(JsonNode) bare = NULL;
  PorticoResultSecond second = { 10, 9, 1, { 1, 0, 7, 1, 0, 0 }, 2.5, NAN };
  gboolean all_ok;
  g_autofree char *text = NULL;

  g_test_summary ("The --json report holds every figure, with unknown ones as null, the "
                  "expectations' outcomes and an overall ok.");
  g_array_append_val (portico_results_find_variant (results, "blocking")->overall->seconds, second);
  g_ptr_array_add (expectations,
                   load_expect ("{'workers_respawned': {'min': 1, 'variant': 'blocking'}}", NULL));
  outcomes = portico_expect_check_all (expectations, results, &all_ok);
  root = portico_results_to_json (results, outcomes);
  text = json_to_string (root, FALSE);
  g_test_message ("%s", text);

  g_assert_cmpstr (json_node_get_string (at (root, "scenario")), ==, "non-blocking");
  g_assert_true (json_node_get_boolean (at (root, "ok")));
  g_assert_cmpstr (json_node_get_string (at (root, "expectations.0.path")), ==, "expect[0]");
  g_assert_cmpstr (json_node_get_string (at (root, "expectations.0.kind")), ==,
                   "workers_respawned");
  g_assert_cmpstr (json_node_get_string (at (root, "expectations.0.text")), ==,
                   "workers respawned 1 >= 1");
  g_assert_cmpstr (json_node_get_string (at (root, "variants.0.name")), ==, "blocking");
  g_assert_cmpint (json_node_get_int (at (root, "variants.0.overall.requests")), ==, 1000);
  g_assert_cmpint (json_node_get_int (at (root, "variants.0.overall.status.429")), ==, 5);
  g_assert_cmpint (json_node_get_int (at (root, "variants.0.overall.errors.reset")), ==, 10);
  g_assert_cmpfloat (json_node_get_double (at (root, "variants.0.overall.latency_ms.p99")), ==, 20);
  g_assert_cmpint (json_node_get_int (at (root, "variants.0.overall.headers_seen.x-id")), ==, 500);
  g_assert_cmpint (json_node_get_int (at (root, "variants.0.overall.seconds.0.status.2xx")), ==, 7);
  g_assert_cmpint (json_node_get_int (at (root, "variants.0.overall.seconds.0.status.other")), ==,
                   1);
  g_assert_cmpfloat (json_node_get_double (at (root, "variants.0.overall.seconds.0.p50_ms")), ==,
                     2.5);
  g_assert_true (JSON_NODE_HOLDS_NULL (at (root, "variants.0.overall.seconds.0.p99_ms")));
  g_assert_cmpstr (json_node_get_string (at (root, "variants.0.traffic.0.name")), ==, "alice");
  g_assert_true (JSON_NODE_HOLDS_NULL (at (root, "variants.0.traffic.0.latency_ms.p50")));
  g_assert_cmpint (json_node_get_int (at (root, "variants.0.nodes.0.timers_by_owner_max.health")),
                   ==, 3);
  g_assert_true (JSON_NODE_HOLDS_NULL (at (root, "variants.0.nodes.1.timers_by_owner_max")));
  g_assert_cmpfloat (json_node_get_double (at (root, "variants.0.nodes.0.loop_lag_max_ms")), ==,
                     12.5);
  g_assert_cmpstr (json_node_get_string (at (root, "variants.0.trace.phases.1")), ==, "access");
  g_assert_cmpfloat (json_node_get_double (at (root, "variants.0.trace.spans.0.duration_ms")), ==,
                     0.25);
  g_assert_cmpstr (json_node_get_string (at (root, "variants.0.events.0.detail")), ==, "pid 42");
  g_assert_cmpstr (json_node_get_string (at (root, "variants.0.narration.0.say")), ==,
                   "Worker 0 is killed.");
  g_assert_true (JSON_NODE_HOLDS_NULL (at (root, "variants.1.nodes.0.reload_failures")));
  g_assert_true (JSON_NODE_HOLDS_NULL (at (root, "variants.1.trace.phases")));
  g_assert_cmpint (json_node_get_int (at (root, "variants.0.overall.tls_handshakes.full")), ==, 20);
  g_assert_cmpint (json_node_get_int (at (root, "variants.0.traffic.1.tls_handshakes.failed")), ==, 2);
  g_assert_cmpint (json_node_get_int (at (root, "variants.0.overall.errors.tls")), ==, 0);
  g_assert_cmpint (json_node_get_int (at (root, "variants.0.nodes.0.tls_handshakes.upstream.failed")),
                   ==, 1);
  g_assert_cmpint (json_node_get_int (at (root, "variants.0.nodes.1.tls_handshakes.downstream.full")),
                   ==, 0);
  g_assert_true (JSON_NODE_HOLDS_NULL (at (root, "variants.1.nodes.0.tls_handshakes.downstream.full")));

  bare = portico_results_to_json (results, NULL);
  g_assert_false (json_object_has_member (json_node_get_object (bare), "ok"));
  g_assert_false (json_object_has_member (json_node_get_object (bare), "expectations"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (check_cases); i++) {
    g_autofree char *path = g_strdup_printf ("/lab/expect/check/%02u", i);

    g_test_add_data_func (path, &check_cases[i], test_check_case);
  }
  g_test_add_func ("/lab/expect/check/missing-runs", test_missing_runs);
  g_test_add_func ("/lab/expect/check/phases-missing", test_phases_missing);
  g_test_add_func ("/lab/expect/check/received-traffic", test_received_traffic);
  g_test_add_func ("/lab/expect/check/all", test_check_all);
  for (guint i = 0; i < G_N_ELEMENTS (load_cases); i++) {
    g_autofree char *path = g_strdup_printf ("/lab/expect/load/%02u", i);

    g_test_add_data_func (path, &load_cases[i], test_load_case);
  }
  g_test_add_func ("/lab/expect/results/status", test_status_counts);
  g_test_add_func ("/lab/expect/results/json", test_json);
  return g_test_run ();
}
