/* Load balancing over an upstream's targets: least-connections, latency,
 * consistent hashing (header, cookie, path, ip, fallback), retries on a
 * dead target, and the config's refusals. Real mocks, a real gateway with
 * one worker (balancing is per worker). */
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include <json-glib/json-glib.h>

#include "harness-gateway.h"

#define N_MOCKS 3

typedef struct {
  PorticoProc *mocks[N_MOCKS];
  PorticoProc *gw;
} Lab;

static void
lab_free (Lab *lab)
{
  for (guint i = 0; i < N_MOCKS; i++)
    g_clear_pointer (&lab->mocks[i], portico_proc_free);
  g_clear_pointer (&lab->gw, portico_proc_free);
  g_free (lab);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Lab, lab_free)

/* Three mocks named m0, m1, m2 (@latency_ms[i] each; NULL: none) behind
 * an upstream with @upstream_keys ("\"algorithm\":...") and one worker. */
static Lab *
lab_new (const char *upstream_keys, const guint *latency_ms)
{
  Lab *lab = g_new0 (Lab, 1);
  GString *targets = g_string_new (NULL);
  for (guint i = 0; i < N_MOCKS; i++)
    {
      g_autofree char *name = g_strdup_printf ("m%u", i);
      g_autofree char *latency = g_strdup_printf ("%u", latency_ms ? latency_ms[i] : 0);
      lab->mocks[i] = portico_mock_spawn ("--name", name, "--latency-ms", latency, NULL);
      g_string_append_printf (targets, "%s{\"target\":\"%s\"}", i ? "," : "",
                              portico_proc_address (lab->mocks[i], 0));
    }
  g_autofree char *json = g_strdup_printf (
    "{\"_format_version\":\"1\",\"node\":{\"listen\":[\"127.0.0.1:0\"],\"admin_listen\":\"off\",\"workers\":1},"
    "\"upstreams\":[{\"name\":\"pool\",%s,\"targets\":[%s]}],"
    "\"services\":[{\"name\":\"s\",\"host\":\"pool\",\"retries\":5,\"routes\":[{\"paths\":[\"/\"]}]}]}",
    upstream_keys, targets->str);
  g_string_free (targets, TRUE);
  g_autoptr (GError) error = NULL;
  lab->gw = portico_gateway_spawn (json, &error);
  g_assert_no_error (error);
  return lab;
}

static const char *
gw_addr (Lab *lab)
{
  return portico_proc_address (lab->gw, 0);
}

/* Which mock answered @request: 0..2, or -1. */
static int
served_by (Lab *lab, const char *request, PorticoTestResponse **out)
{
  PorticoTestResponse *resp = portico_test_request (gw_addr (lab), request);
  g_assert_nonnull (resp);
  g_autofree char *body = portico_test_response_body_string (resp);
  int who = -1;
  for (int i = 0; i < N_MOCKS; i++)
    {
      g_autofree char *hello = g_strdup_printf ("hello from m%d\n", i);
      if (g_strcmp0 (body, hello) == 0)
        who = i;
    }
  if (out != NULL)
    *out = resp;
  else
    portico_test_response_free (resp);
  return who;
}

static int
served_by_header (Lab *lab, const char *name, const char *value)
{
  g_autofree char *request = g_strdup_printf ("GET /x HTTP/1.1\r\nHost: h\r\n%s: %s\r\n\r\n", name, value);
  return served_by (lab, request, NULL);
}

/* The mock's request count (its /__mock/stats, which is not counted). */
static gint64
mock_requests (PorticoProc *mock)
{
  g_autoptr (PorticoTestResponse) resp =
    portico_test_request (portico_proc_address (mock, 0), "GET /__mock/stats HTTP/1.1\r\nHost: c\r\n\r\n");
  g_assert_nonnull (resp);
  g_autofree char *body = portico_test_response_body_string (resp);
  g_autoptr (JsonNode) root = json_from_string (body, NULL);
  g_assert_nonnull (root);
  return json_object_get_int_member (json_node_get_object (root), "requests");
}

/* `portico traffic -c @connections -d @seconds` through the gateway. */
static void
load (Lab *lab, const char *connections, const char *seconds)
{
  g_autofree char *url = g_strdup_printf ("http://%s/load", gw_addr (lab));
  const char *argv[] = { portico_test_binary (), "traffic", "-c", connections, "-d", seconds, url, NULL };
  g_autoptr (GError) error = NULL;
  g_assert_cmpint (portico_run_sync (argv, 30000, NULL, NULL, &error), ==, 0);
  g_assert_no_error (error);
}

static void
test_least_connections (void)
{
  g_test_summary ("least-connections: with one target 20x slower than the others, 12 connections "
                  "of closed-loop load send it far fewer requests (round-robin would give each a third).");
  const guint latency[N_MOCKS] = { 100, 5, 5 };
  g_autoptr (Lab) lab = lab_new ("\"algorithm\":\"least-connections\"", latency);
  load (lab, "12", "2");
  gint64 slow = mock_requests (lab->mocks[0]), fast = mock_requests (lab->mocks[1]) + mock_requests (lab->mocks[2]);
  g_test_message ("slow target %" G_GINT64_FORMAT " requests, the fast two %" G_GINT64_FORMAT, slow, fast);
  g_assert_cmpint (fast, >, 0);
  g_assert_cmpint (slow * 10, <, fast);
}

static void
test_latency (void)
{
  g_test_summary ("latency: the target whose answers take 20x longer gets far fewer requests "
                  "once each has been measured.");
  const guint latency[N_MOCKS] = { 5, 100, 5 };
  g_autoptr (Lab) lab = lab_new ("\"algorithm\":\"latency\"", latency);
  load (lab, "4", "2");
  gint64 slow = mock_requests (lab->mocks[1]), fast = mock_requests (lab->mocks[0]) + mock_requests (lab->mocks[2]);
  g_test_message ("slow target %" G_GINT64_FORMAT " requests, the fast two %" G_GINT64_FORMAT, slow, fast);
  g_assert_cmpint (slow, >=, 1); /* measured at least once */
  g_assert_cmpint (slow * 10, <, fast);
}

static void
test_round_robin_even (void)
{
  g_test_summary ("round-robin (the default) under the same slow target: each target gets a third "
                  "of the requests, whatever their latency: what least-connections improves on.");
  const guint latency[N_MOCKS] = { 100, 5, 5 };
  g_autoptr (Lab) lab = lab_new ("\"algorithm\":\"round-robin\"", latency);
  load (lab, "12", "1");
  gint64 counts[N_MOCKS], total = 0;
  for (guint i = 0; i < N_MOCKS; i++)
    total += counts[i] = mock_requests (lab->mocks[i]);
  for (guint i = 0; i < N_MOCKS; i++)
    {
      g_assert_cmpint (counts[i] * 3, >=, total - 3 * N_MOCKS);
      g_assert_cmpint (counts[i] * 3, <=, total + 3 * N_MOCKS);
    }
}

static void
test_hash_header (void)
{
  g_test_summary ("consistent-hashing on a header: each value always lands on the same target, and 60 "
                  "values spread over all three.");
  g_autoptr (Lab) lab = lab_new ("\"algorithm\":\"consistent-hashing\",\"hash_on\":\"header\","
                                 "\"hash_on_header\":\"X-Cart\"", NULL);
  int per_target[N_MOCKS] = { 0 };
  for (guint k = 0; k < 60; k++)
    {
      g_autofree char *value = g_strdup_printf ("cart-%u", k);
      int first = served_by_header (lab, "X-Cart", value);
      g_assert_cmpint (first, >=, 0);
      per_target[first]++;
      for (guint again = 0; again < 2; again++)
        g_assert_cmpint (served_by_header (lab, "x-cart", value), ==, first);
    }
  g_test_message ("keys per target: %d %d %d", per_target[0], per_target[1], per_target[2]);
  for (guint i = 0; i < N_MOCKS; i++)
    g_assert_cmpint (per_target[i], >=, 5);
}

static void
test_hash_moves_only_dead_keys (void)
{
  g_test_summary ("consistent-hashing: when a target dies, only the keys that landed on it move (the "
                  "connect fails and the try goes to the next target on the ring); the others stay.");
  g_autoptr (Lab) lab = lab_new ("\"algorithm\":\"consistent-hashing\",\"hash_on\":\"header\","
                                 "\"hash_on_header\":\"X-Cart\"", NULL);
  int before[40];
  for (guint k = 0; k < 40; k++)
    {
      g_autofree char *value = g_strdup_printf ("k%u", k);
      before[k] = served_by_header (lab, "X-Cart", value);
    }
  g_assert_cmpint (portico_proc_stop (lab->mocks[2]), ==, 0);
  g_clear_pointer (&lab->mocks[2], portico_proc_free);
  guint moved = 0, stayed = 0;
  for (guint k = 0; k < 40; k++)
    {
      g_autofree char *value = g_strdup_printf ("k%u", k);
      int now = served_by_header (lab, "X-Cart", value);
      g_assert_cmpint (now, >=, 0);
      g_assert_cmpint (now, !=, 2);
      if (before[k] == 2)
        moved++;
      else
        {
          g_assert_cmpint (now, ==, before[k]);
          stayed++;
        }
    }
  g_assert_cmpuint (moved, >, 0);
  g_assert_cmpuint (stayed, >, 0);
}

static void
test_hash_cookie (void)
{
  g_test_summary ("consistent-hashing on a cookie: without it the gateway makes one up and sets it "
                  "(Set-Cookie with the configured path); sent back, it keeps the client on one target.");
  g_autoptr (Lab) lab = lab_new ("\"algorithm\":\"consistent-hashing\",\"hash_on\":\"cookie\","
                                 "\"hash_on_cookie\":\"lb\",\"hash_on_cookie_path\":\"/shop\"", NULL);
  PorticoTestResponse *first = NULL;
  int target = served_by (lab, "GET /x HTTP/1.1\r\nHost: h\r\n\r\n", &first);
  g_assert_cmpint (target, >=, 0);
  const char *set = portico_test_response_header (first, "set-cookie");
  g_assert_nonnull (set);
  g_assert_true (g_str_has_prefix (set, "lb="));
  g_assert_nonnull (strstr (set, "; Path=/shop"));
  g_autofree char *value = g_strndup (set + 3, strcspn (set + 3, ";"));
  g_assert_cmpuint (strlen (value), >=, 16);
  portico_test_response_free (first);
  g_autofree char *cookie = g_strdup_printf ("theme=dark; lb=%s", value);
  for (guint i = 0; i < 10; i++)
    {
      PorticoTestResponse *resp = NULL;
      g_autofree char *request = g_strdup_printf ("GET /x HTTP/1.1\r\nHost: h\r\nCookie: %s\r\n\r\n", cookie);
      g_assert_cmpint (served_by (lab, request, &resp), ==, target);
      g_assert_null (portico_test_response_header (resp, "set-cookie"));
      portico_test_response_free (resp);
    }
}

static void
test_hash_fallback_and_path (void)
{
  g_test_summary ("consistent-hashing: a request without the header falls back to hash_fallback (the "
                  "path here): one path, one target; without either, round-robin reaches every target.");
  g_autoptr (Lab) lab = lab_new ("\"algorithm\":\"consistent-hashing\",\"hash_on\":\"header\","
                                 "\"hash_on_header\":\"X-Cart\",\"hash_fallback\":\"path\"", NULL);
  int seen[N_MOCKS] = { 0 };
  for (guint k = 0; k < 30; k++)
    {
      g_autofree char *request = g_strdup_printf ("GET /item/%u HTTP/1.1\r\nHost: h\r\n\r\n", k);
      int first = served_by (lab, request, NULL);
      g_assert_cmpint (first, >=, 0);
      g_assert_cmpint (served_by (lab, request, NULL), ==, first);
      seen[first]++;
    }
  for (guint i = 0; i < N_MOCKS; i++)
    g_assert_cmpint (seen[i], >, 0);
}

static void
test_hash_ip (void)
{
  g_test_summary ("consistent-hashing on the client address: every request from 127.0.0.1 lands on "
                  "the same target.");
  g_autoptr (Lab) lab = lab_new ("\"algorithm\":\"consistent-hashing\",\"hash_on\":\"ip\"", NULL);
  int first = served_by (lab, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", NULL);
  g_assert_cmpint (first, >=, 0);
  for (guint i = 0; i < 15; i++)
    g_assert_cmpint (served_by (lab, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", NULL), ==, first);
}

static void
check_refused (const char *upstream_keys, const char *expected)
{
  g_autofree char *json = g_strdup_printf (
    "{\"_format_version\":\"1\",\"upstreams\":[{\"name\":\"pool\",%s,\"targets\":[{\"target\":\"127.0.0.1:9\"}]}]}",
    upstream_keys);
  portico_test_check_config (json, expected, NULL);
}

static void
test_config_refused (void)
{
  g_test_summary ("The balancing keys are checked at load, each error at its JSON path.");
  check_refused ("\"algorithm\":\"random\"",
                 "upstreams[0].algorithm: must be one of: round-robin, least-connections, consistent-hashing, latency");
  check_refused ("\"algorithm\":\"consistent-hashing\"",
                 "upstreams[0].hash_on: is required with algorithm \"consistent-hashing\"");
  check_refused ("\"hash_on\":\"ip\"", "upstreams[0].hash_on: needs algorithm \"consistent-hashing\"");
  check_refused ("\"algorithm\":\"consistent-hashing\",\"hash_on\":\"header\"",
                 "upstreams[0].hash_on_header: is required with hash_on \"header\"");
  check_refused ("\"algorithm\":\"consistent-hashing\",\"hash_on\":\"cookie\"",
                 "upstreams[0].hash_on_cookie: is required with hash_on \"cookie\"");
  check_refused ("\"algorithm\":\"consistent-hashing\",\"hash_on\":\"cookie\",\"hash_on_cookie\":\"c\","
                 "\"hash_fallback\":\"ip\"",
                 "upstreams[0].hash_fallback: cannot be used with a cookie");
  check_refused ("\"algorithm\":\"consistent-hashing\",\"hash_on\":\"ip\",\"hash_fallback\":\"ip\"",
                 "upstreams[0].hash_fallback: must differ from hash_on");
  check_refused ("\"algorithm\":\"consistent-hashing\",\"hash_on\":\"weather\"",
                 "upstreams[0].hash_on: must be one of: none, consumer, ip, header, cookie, path");
  check_refused ("\"slots\":5", "upstreams[0].slots: must be an integer between 10 and 65536");
  check_refused ("\"algorithm\":\"consistent-hashing\",\"hash_on\":\"cookie\",\"hash_on_cookie\":\"c\","
                 "\"hash_on_cookie_path\":\"shop\"",
                 "upstreams[0].hash_on_cookie_path: must start with \"/\"");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/balancing/least-connections", test_least_connections);
  g_test_add_func ("/balancing/latency", test_latency);
  g_test_add_func ("/balancing/round-robin-even", test_round_robin_even);
  g_test_add_func ("/balancing/hash/header", test_hash_header);
  g_test_add_func ("/balancing/hash/dead-target", test_hash_moves_only_dead_keys);
  g_test_add_func ("/balancing/hash/cookie", test_hash_cookie);
  g_test_add_func ("/balancing/hash/fallback-path", test_hash_fallback_and_path);
  g_test_add_func ("/balancing/hash/ip", test_hash_ip);
  g_test_add_func ("/balancing/config-refused", test_config_refused);
  return g_test_run ();
}
