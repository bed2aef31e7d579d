/* Health checks: passive (the traffic's own failures), active (probes by
 * one worker of the node, through the timer service), the admin API's
 * marks, 503 when no target is left, the fixed number of timers, and the
 * config's refusals. Real mocks and a real two-worker gateway. */
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "harness-gateway.h"
#include "harness-pki.h"

#define WAIT_MS 8000

typedef struct {
  PorticoProc *mocks[2];
  char *dead;        /* a loopback port nothing listens on */
  PorticoProc *gw;
  char *admin;
} Lab;

static void
lab_free (Lab *lab)
{
  for (guint i = 0; i < G_N_ELEMENTS (lab->mocks); i++)
    g_clear_pointer (&lab->mocks[i], portico_proc_free);
  g_clear_pointer (&lab->gw, portico_proc_free);
  g_free (lab->dead);
  g_free (lab->admin);
  g_free (lab);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Lab, lab_free)

static char *
dead_address (void)
{
  /* Bound and never listened on: connects are refused. */
  return g_strdup_printf ("127.0.0.1:%u", portico_test_free_port ());
}

/* Starts @lab's gateway on @json and finds its admin listener. */
static void
lab_start_gateway (Lab *lab, const char *json)
{
  g_autoptr (GError) error = NULL;
  lab->gw = portico_gateway_spawn (json, &error);
  g_assert_no_error (error);
  g_autofree char *line = portico_proc_wait_line (lab->gw, "admin ", 5000);
  g_assert_nonnull (line);
  lab->admin = g_strdup (line + strlen ("admin "));
}

/* Mocks m0 (@m0_args: four strings, NULL-padded) and m1, a dead third target, behind upstream "pool"
 * with @healthchecks (JSON, or NULL); a second upstream "other" with
 * the same checks when @two_upstreams. */
static Lab *
lab_new (const char *healthchecks, const char *const *m0_args, gboolean two_upstreams)
{
  Lab *lab = g_new0 (Lab, 1);
  const char *const none[] = { NULL, NULL, NULL, NULL }; /* read as four, like m0_args */
  const char *const *args = m0_args ? m0_args : none;
  lab->mocks[0] = portico_mock_spawn ("--name", "m0", args[0], args[1], args[2], args[3], NULL);
  lab->mocks[1] = portico_mock_spawn ("--name", "m1", NULL);
  lab->dead = dead_address ();
  g_autofree char *checks = healthchecks ? g_strdup_printf (",\"healthchecks\":%s", healthchecks) : g_strdup ("");
  g_autofree char *pool = g_strdup_printf (
    "{\"name\":\"pool\"%s,\"targets\":[{\"target\":\"%s\"},{\"target\":\"%s\"},{\"target\":\"%s\"}]}", checks,
    portico_proc_address (lab->mocks[0], 0), portico_proc_address (lab->mocks[1], 0), lab->dead);
  g_autofree char *other = g_strdup_printf (",{\"name\":\"other\"%s,\"targets\":[{\"target\":\"%s\"}]}", checks,
                                            portico_proc_address (lab->mocks[1], 0));
  g_autofree char *json = g_strdup_printf (
    "{\"_format_version\":\"1\",\"node\":{\"listen\":[\"127.0.0.1:0\"],\"admin_listen\":\"127.0.0.1:0\","
    "\"workers\":2},\"upstreams\":[%s%s],"
    "\"services\":[{\"name\":\"s\",\"host\":\"pool\",\"retries\":5,\"routes\":[{\"paths\":[\"/\"]}]}]}",
    pool, two_upstreams ? other : "");
  lab_start_gateway (lab, json);
  return lab;
}

static PorticoTestResponse *
admin (Lab *lab, const char *method, const char *path)
{
  g_autofree char *request = g_strdup_printf ("%s %s HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", method, path);
  PorticoTestResponse *resp = portico_test_request (lab->admin, request);
  g_assert_nonnull (resp);
  return resp;
}

/* The health of target @index of upstream @name: "HEALTHY", ... */
static char *
health_of (Lab *lab, const char *name, guint index)
{
  g_autofree char *path = g_strdup_printf ("/upstreams/%s/health", name);
  g_autoptr (PorticoTestResponse) resp = admin (lab, "GET", path);
  g_assert_cmpint (resp->status, ==, 200);
  g_autofree char *body = portico_test_response_body_string (resp);
  g_autoptr (JsonNode) root = json_from_string (body, NULL);
  g_assert_nonnull (root);
  JsonArray *data = json_object_get_array_member (json_node_get_object (root), "data");
  g_assert_cmpuint (index, <, json_array_get_length (data));
  return g_strdup (json_object_get_string_member (json_array_get_object_element (data, index), "health"));
}

/* Waits (bounded) until target @index of upstream @name is @health. */
static void
wait_upstream_health (Lab *lab, const char *name, guint index, const char *health)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_MS * 1000;
  for (;;)
    {
      g_autofree char *now = health_of (lab, name, index);
      if (g_str_equal (now, health))
        return;
      if (g_get_monotonic_time () > deadline)
        g_error ("%s: target %u stayed %s, expected %s", name, index, now, health);
      g_usleep (50 * 1000);
    }
}

static void
wait_health (Lab *lab, guint index, const char *health)
{
  wait_upstream_health (lab, "pool", index, health);
}

/* @n requests through the gateway: how many each mock answered (the
 * others are counted in [2]: errors or 503s). */
static void
send_some (Lab *lab, guint n, guint counts[3])
{
  counts[0] = counts[1] = counts[2] = 0;
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (PorticoTestResponse) resp =
        portico_test_request (portico_proc_address (lab->gw, 0), "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
      g_autofree char *body = resp ? portico_test_response_body_string (resp) : NULL;
      if (g_strcmp0 (body, "hello from m0\n") == 0)
        counts[0]++;
      else if (g_strcmp0 (body, "hello from m1\n") == 0)
        counts[1]++;
      else
        counts[2]++;
    }
}

static void
test_passive (void)
{
  g_test_summary ("passive: the dead target's first refused connect marks it unhealthy (tcp_failures 1) "
                  "for every worker; the try moves to another target, so clients see no error; from "
                  "then on it gets no traffic at all.");
  g_autoptr (Lab) lab = lab_new ("{\"passive\":{\"unhealthy\":{\"tcp_failures\":1}}}", NULL, FALSE);
  guint counts[3];
  send_some (lab, 12, counts);
  g_assert_cmpuint (counts[2], ==, 0);
  wait_health (lab, 2, "UNHEALTHY");
  g_autofree char *h0 = health_of (lab, "pool", 0);
  g_assert_cmpstr (h0, ==, "HEALTHY");
  send_some (lab, 20, counts);
  /* Two workers, each with its own round-robin: both live targets serve. */
  g_assert_cmpuint (counts[2], ==, 0);
  g_assert_cmpuint (counts[0], >, 0);
  g_assert_cmpuint (counts[1], >, 0);
}

static void
test_passive_statuses (void)
{
  g_test_summary ("passive http_failures: a target answering 500 twice in a row is taken out; the "
                  "other keeps the traffic.");
  const char *const args[] = { "--status", "500", NULL, NULL };
  g_autoptr (Lab) lab = lab_new ("{\"passive\":{\"unhealthy\":{\"http_failures\":2,\"tcp_failures\":1}}}", args,
                                 FALSE);
  guint counts[3];
  send_some (lab, 12, counts);
  wait_health (lab, 0, "UNHEALTHY");
  send_some (lab, 10, counts);
  g_assert_cmpuint (counts[1], ==, 10);
}

static void
test_active (void)
{
  g_test_summary ("active http probes every 0.2 s: a target that answers 500 goes unhealthy after 2, "
                  "the dead one after 2 refused connects, with no traffic at all; when the first "
                  "answers 200 again (its control API), 2 successes bring it back.");
  const char *const args[] = { "--status", "500", NULL, NULL };
  g_autoptr (Lab) lab = lab_new (
    "{\"active\":{\"http_path\":\"/status\",\"timeout\":0.5,"
    "\"healthy\":{\"interval\":0.2,\"successes\":2},"
    "\"unhealthy\":{\"interval\":0.2,\"http_failures\":2,\"tcp_failures\":2,\"timeouts\":2}}}",
    args, FALSE);
  wait_health (lab, 0, "UNHEALTHY");
  wait_health (lab, 2, "UNHEALTHY");
  g_autofree char *h1 = health_of (lab, "pool", 1);
  g_assert_cmpstr (h1, ==, "HEALTHY");
  g_autofree char *control = portico_proc_wait_line (lab->mocks[0], "control ", 1000);
  g_assert_nonnull (control);
  g_autoptr (PorticoTestResponse) set = portico_test_request (
    control + strlen ("control "),
    "POST /state HTTP/1.1\r\nHost: c\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"status\": 200}");
  g_assert_nonnull (set);
  g_assert_cmpint (set->status, ==, 200);
  wait_health (lab, 0, "HEALTHY");
}

static void
test_active_timeouts_tcp (void)
{
  g_test_summary ("active tcp probes: a target that accepts is healthy, even when it is too slow for "
                  "an http probe; with http probes and a 0.1 s timeout, the slow one goes unhealthy by "
                  "timeouts.");
  const char *const slow[] = { "--latency-ms", "1000", NULL, NULL };
  {
    g_autoptr (Lab) lab = lab_new ("{\"active\":{\"type\":\"tcp\",\"healthy\":{\"interval\":0.2,\"successes\":1},"
                                   "\"unhealthy\":{\"interval\":0.2,\"tcp_failures\":1}}}",
                                   slow, FALSE);
    wait_health (lab, 2, "UNHEALTHY");
    g_autofree char *h0 = health_of (lab, "pool", 0);
    g_assert_cmpstr (h0, ==, "HEALTHY");
  }
  {
    g_autoptr (Lab) lab = lab_new ("{\"active\":{\"timeout\":0.1,\"healthy\":{\"interval\":0.2},"
                                   "\"unhealthy\":{\"interval\":0.2,\"timeouts\":2}}}",
                                   slow, FALSE);
    wait_health (lab, 0, "UNHEALTHY");
  }
}

static void
test_admin_marks (void)
{
  g_test_summary ("The admin API: GET /upstreams/NAME/health lists each target (HEALTHCHECKS_OFF without "
                  "checks); POST .../targets/T/unhealthy takes one out of every worker at once (204), "
                  "/healthy brings it back; unknown names are 404, a GET on a mark 405.");
  g_autoptr (Lab) lab = lab_new (NULL, NULL, FALSE);
  g_autofree char *h0 = health_of (lab, "pool", 0);
  g_assert_cmpstr (h0, ==, "HEALTHCHECKS_OFF");
  g_autofree char *m0 = g_strdup_printf ("/upstreams/pool/targets/%s/unhealthy", portico_proc_address (lab->mocks[0], 0));
  g_autofree char *dead = g_strdup_printf ("/upstreams/pool/targets/%s/unhealthy", lab->dead);
  g_autoptr (PorticoTestResponse) r1 = admin (lab, "POST", m0);
  g_assert_cmpint (r1->status, ==, 204);
  g_autoptr (PorticoTestResponse) r2 = admin (lab, "POST", dead);
  g_assert_cmpint (r2->status, ==, 204);
  g_autofree char *after = health_of (lab, "pool", 0);
  g_assert_cmpstr (after, ==, "UNHEALTHY");
  guint counts[3];
  send_some (lab, 10, counts);
  g_assert_cmpuint (counts[1], ==, 10);
  g_autofree char *back = g_strdup_printf ("/upstreams/pool/targets/%s/healthy", portico_proc_address (lab->mocks[0], 0));
  g_autoptr (PorticoTestResponse) r3 = admin (lab, "POST", back);
  g_assert_cmpint (r3->status, ==, 204);
  send_some (lab, 10, counts);
  g_assert_cmpuint (counts[0], >, 0);
  g_assert_cmpuint (counts[1], >, 0);
  g_assert_cmpuint (counts[2], ==, 0);

  g_autoptr (PorticoTestResponse) e1 = admin (lab, "GET", "/upstreams/nope/health");
  g_assert_cmpint (e1->status, ==, 404);
  g_autoptr (PorticoTestResponse) e2 = admin (lab, "POST", "/upstreams/pool/targets/10.9.9.9:1/healthy");
  g_assert_cmpint (e2->status, ==, 404);
  g_autoptr (PorticoTestResponse) e3 = admin (lab, "GET", back);
  g_assert_cmpint (e3->status, ==, 405);
  g_autoptr (PorticoTestResponse) e4 = admin (lab, "POST", "/upstreams/pool/health");
  g_assert_cmpint (e4->status, ==, 405);
}

static void
test_no_target_left (void)
{
  g_test_summary ("With every target unhealthy, the gateway answers 503 with Kong's message.");
  g_autoptr (Lab) lab = lab_new (NULL, NULL, FALSE);
  const char *targets[] = { portico_proc_address (lab->mocks[0], 0), portico_proc_address (lab->mocks[1], 0),
                            lab->dead };
  for (guint i = 0; i < G_N_ELEMENTS (targets); i++)
    {
      g_autofree char *path = g_strdup_printf ("/upstreams/pool/targets/%s/unhealthy", targets[i]);
      g_autoptr (PorticoTestResponse) r = admin (lab, "POST", path);
      g_assert_cmpint (r->status, ==, 204);
    }
  g_autoptr (PorticoTestResponse) resp =
    portico_test_request (portico_proc_address (lab->gw, 0), "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  g_assert_nonnull (resp);
  g_assert_cmpint (resp->status, ==, 503);
  g_autofree char *body = portico_test_response_body_string (resp);
  g_assert_cmpstr (body, ==, "{\"message\":\"failure to get a peer from the ring-balancer\"}");
}

/* Timers of owner "health" pending in each worker, from GET /timers. */
static guint
health_timers (Lab *lab, guint *workers)
{
  g_autoptr (PorticoTestResponse) resp = admin (lab, "GET", "/timers");
  g_autofree char *body = portico_test_response_body_string (resp);
  g_autoptr (JsonNode) root = json_from_string (body, NULL);
  JsonArray *list = json_node_get_array (root);
  guint pending = 0;
  *workers = json_array_get_length (list);
  for (guint w = 0; w < json_array_get_length (list); w++)
    {
      JsonArray *owners = json_object_get_array_member (json_array_get_object_element (list, w), "owners");
      for (guint o = 0; o < json_array_get_length (owners); o++)
        {
          JsonObject *owner = json_array_get_object_element (owners, o);
          if (g_str_equal (json_object_get_string_member (owner, "name"), "health"))
            pending += (guint) json_object_get_int_member (owner, "pending");
        }
    }
  return pending;
}

static void
test_fixed_timers (void)
{
  g_test_summary ("Health checking takes one timer per upstream with active checks in each worker, "
                  "whatever the traffic: 2 upstreams x 2 workers = 4 before and after 300 requests.");
  g_autoptr (Lab) lab = lab_new ("{\"active\":{\"type\":\"tcp\",\"healthy\":{\"interval\":0.1},"
                                 "\"unhealthy\":{\"interval\":0.1,\"tcp_failures\":1}}}",
                                 NULL, TRUE);
  guint workers = 0, before = 0;
  gint64 deadline = g_get_monotonic_time () + WAIT_MS * 1000;
  while ((before = health_timers (lab, &workers)) < 4 && g_get_monotonic_time () < deadline)
    g_usleep (100 * 1000); /* the workers publish their timers every so often */
  g_assert_cmpuint (workers, ==, 2);
  g_assert_cmpuint (before, ==, 4);
  guint counts[3];
  send_some (lab, 300, counts);
  g_usleep (600 * 1000);
  g_assert_cmpuint (health_timers (lab, &workers), ==, 4);
}

/* A Portico node with a TLS listener in front of a mock: its default
 * certificate is @cert of @pki, and "other" answers the SNI other.test. */
static PorticoTestGateway *
tls_target (PorticoTestPki *pki, const char *cert)
{
  g_autofree char *pem_name = g_strdup_printf ("%s.pem", cert), *key_name = g_strdup_printf ("%s.key", cert);
  g_autofree char *pem = portico_test_pki_path (pki, pem_name), *key = portico_test_pki_path (pki, key_name);
  g_autofree char *other_pem = portico_test_pki_path (pki, "other.pem");
  g_autofree char *other_key = portico_test_pki_path (pki, "other.key");
  g_autofree char *config = g_strdup_printf (
    "{'_format_version': '1', 'node': {'listen': [{'address': '127.0.0.1:0', 'ssl': true}], 'workers': 1,"
    " 'admin_listen': 'off'}, 'certificates': [{'cert_path': '%s', 'key_path': '%s'},"
    " {'cert_path': '%s', 'key_path': '%s', 'snis': ['other.test']}],"
    " 'services': [{'name': 's', 'url': 'http://@UPSTREAM@', 'routes': [{'paths': ['/']}]}]}",
    pem, key, other_pem, other_key);
  return portico_test_gateway_new (config, NULL, NULL);
}

/* Marks target @target of upstream @name unhealthy through the admin API. */
static void
mark_unhealthy (Lab *lab, const char *name, const char *target)
{
  g_autofree char *path = g_strdup_printf ("/upstreams/%s/targets/%s/unhealthy", name, target);
  g_autoptr (PorticoTestResponse) resp = admin (lab, "POST", path);
  g_assert_cmpint (resp->status, ==, 204);
}

static void
test_active_https (void)
{
  g_test_summary ("active https probes against TLS listeners (Portico nodes): a target whose "
                  "certificate the CA signed goes healthy again after an admin mark; a self-signed one "
                  "goes unhealthy by tcp_failures while https_verify_certificate is on, and comes back "
                  "with it off; https_sni other.test gets that name's certificate, which verifies.");
  g_autoptr (PorticoTestPki) pki = portico_test_pki_new ();
  g_autoptr (PorticoTestGateway) good = tls_target (pki, "server");
  g_autoptr (PorticoTestGateway) self = tls_target (pki, "self");
  g_autofree char *ca = portico_test_pki_path (pki, "ca.pem");
  const char *probes = "'timeout': 2, 'healthy': {'interval': 0.2, 'successes': 1},"
                       " 'unhealthy': {'interval': 0.2, 'tcp_failures': 1, 'timeouts': 1, 'http_failures': 1}";
  g_autofree char *json = g_strdup_printf (
    "{'_format_version': '1', 'node': {'listen': ['127.0.0.1:0'], 'admin_listen': '127.0.0.1:0', 'workers': 2},"
    " 'upstreams': ["
    "  {'name': 'verified', 'healthchecks': {'active': {'type': 'https', %s}},"
    "   'targets': [{'target': '%s'}, {'target': '%s'}]},"
    "  {'name': 'unverified', 'healthchecks': {'active': {'type': 'https', 'https_verify_certificate': false, %s}},"
    "   'targets': [{'target': '%s'}, {'target': '%s'}]},"
    "  {'name': 'named', 'healthchecks': {'active': {'type': 'https', 'https_sni': 'other.test', %s}},"
    "   'targets': [{'target': '%s'}]}],"
    " 'services': ["
    "  {'name': 'v', 'protocol': 'https', 'host': 'verified', 'ca_certificates': ['%s'], 'routes': [{'paths': ['/v']}]},"
    "  {'name': 'u', 'protocol': 'https', 'host': 'unverified', 'ca_certificates': ['%s'], 'routes': [{'paths': ['/u']}]},"
    "  {'name': 'n', 'protocol': 'https', 'host': 'named', 'ca_certificates': ['%s'], 'routes': [{'paths': ['/n']}]}]}",
    probes, good->addr, self->addr, probes, good->addr, self->addr, probes, self->addr, ca, ca, ca);
  g_strdelimit (json, "'", '"');
  g_autoptr (Lab) lab = g_new0 (Lab, 1);
  lab_start_gateway (lab, json);

  /* Healthy at start: only a probe that gets through brings a marked one back. */
  mark_unhealthy (lab, "verified", good->addr);
  mark_unhealthy (lab, "unverified", good->addr);
  mark_unhealthy (lab, "unverified", self->addr);
  mark_unhealthy (lab, "named", self->addr);
  wait_upstream_health (lab, "verified", 1, "UNHEALTHY");
  wait_upstream_health (lab, "verified", 0, "HEALTHY");
  wait_upstream_health (lab, "unverified", 0, "HEALTHY");
  wait_upstream_health (lab, "unverified", 1, "HEALTHY");
  wait_upstream_health (lab, "named", 0, "HEALTHY");
  g_autofree char *still = health_of (lab, "verified", 1);
  g_assert_cmpstr (still, ==, "UNHEALTHY");
  /* The probes went through the TLS listeners to the mocks behind them. */
  g_assert_cmpint (portico_test_gateway_mock_requests (good), >, 0);
  g_assert_cmpint (portico_test_gateway_mock_requests (self), >, 0);
}

static void
check_refused (const char *healthchecks, const char *expected)
{
  g_autofree char *json = g_strdup_printf (
    "{\"_format_version\":\"1\",\"upstreams\":[{\"name\":\"pool\",\"healthchecks\":%s,"
    "\"targets\":[{\"target\":\"127.0.0.1:9\"}]}]}",
    healthchecks);
  portico_test_check_config (json, expected, NULL);
}

static void
test_config_refused (void)
{
  g_test_summary ("Every healthchecks key is checked at load, at its JSON path.");
  check_refused ("{\"active\":{\"healthy\":{\"interval\":-1}}}",
                 "upstreams[0].healthchecks.active.healthy.interval: must be a number of seconds between 0 and 86400");
  check_refused ("{\"active\":{\"timeout\":0}}",
                 "upstreams[0].healthchecks.active.timeout: must be a number of seconds between 0.001 and 86400");
  check_refused ("{\"active\":{\"type\":\"udp\"}}",
                 "upstreams[0].healthchecks.active.type: must be \"http\", \"https\" or \"tcp\"");
  check_refused ("{\"active\":{\"type\":\"https\",\"https_sni\":\"127.0.0.1\"}}",
                 "upstreams[0].healthchecks.active.https_sni: must be a host name: an address is never sent as SNI");
  check_refused ("{\"active\":{\"http_path\":\"status\"}}",
                 "upstreams[0].healthchecks.active.http_path: must start with \"/\"");
  check_refused ("{\"passive\":{\"unhealthy\":{\"http_statuses\":[500,\"x\",42]}}}",
                 "upstreams[0].healthchecks.passive.unhealthy.http_statuses[1]: must be an HTTP status (100 to 999)");
  check_refused ("{\"passive\":{\"unhealthy\":{\"tcp_failures\":300}}}",
                 "upstreams[0].healthchecks.passive.unhealthy.tcp_failures: must be an integer between 0 and 255");
  check_refused ("{\"passive\":{\"healthy\":{\"interval\":1}}}",
                 "upstreams[0].healthchecks.passive.healthy.interval: unknown key");
  check_refused ("{\"threshold\":50}", "upstreams[0].healthchecks.threshold: only 0 is supported");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/health/passive/tcp", test_passive);
  g_test_add_func ("/health/passive/statuses", test_passive_statuses);
  g_test_add_func ("/health/active/http", test_active);
  g_test_add_func ("/health/active/tcp-and-timeouts", test_active_timeouts_tcp);
  g_test_add_func ("/health/active/https", test_active_https);
  g_test_add_func ("/health/admin/marks", test_admin_marks);
  g_test_add_func ("/health/no-target-left", test_no_target_left);
  g_test_add_func ("/health/fixed-timers", test_fixed_timers);
  g_test_add_func ("/health/config-refused", test_config_refused);
  return g_test_run ();
}
