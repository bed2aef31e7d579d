/* test-traces.c: traced requests through the real gateway (core/trace.h):
 * the X-Portico-Trace token, what a trace holds (phase windows, handler
 * calls, upstream tries, on the monotonic clock), sampling, the per-worker
 * ring behind GET /traces and GET /traces/{id}, and a worker that is
 * killed and comes back into its slot. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness-gateway.h"

#define TOKEN "s3cret"
#define TRACE_HEADER "X-Portico-Trace: " TOKEN "\r\n"
#define ID_HEADER "X-Portico-Trace-Id"
#define RING 8 /* PORTICO_SHM_TRACES */
#define WAIT_STEP_US 20000
#define WAIT_STEPS 250 /* 5 s */

/* One gateway per test: the ring keeps only 8 traces per worker, so tests
 * sharing one would read each other's. Services go to the mock's /echo,
 * which shows the headers the upstream received. @NODE@ is the node keys
 * a test adds; @DEAD@ a port that is bound but not listening, so every
 * connection to it is refused. */
static const char config_json[] =
  "{'_format_version':'1',"
  " 'node':{'listen':['127.0.0.1:0'],'admin_listen':'127.0.0.1:0','workers':1,"
  "   'module_path':['@MODULES@']@NODE@},"
  " 'services':["
  "  {'name':'orders','url':'http://@UPSTREAM@/echo','routes':[{'name':'orders','paths':['/orders']}]},"
  "  {'name':'closed','url':'http://@UPSTREAM@/echo','routes':[{'name':'gone','paths':['/gone']}],"
  "   'plugins':[{'name':'key-auth'},"
  "     {'name':'request-termination','config':{'status_code':403,'message':'So long'}}]},"
  "  {'name':'dead','url':'http://@DEAD@','retries':1,'routes':[{'name':'dead','paths':['/dead']}]}],"
  " 'consumers':[{'username':'alice','keyauth_credentials':[{'key':'alice-key'}]}],"
  " 'plugins':[{'name':'latency','config':{'ms':1,'phase':'rewrite'}},{'name':'correlation-id'}]}";

static const char node_token[] = ",'trace_token':'" TOKEN "'";
static const char node_sample[] = ",'trace_sample':3";
static const char node_no_token[] = ",'trace_sample':2";

typedef struct {
  PorticoTestGateway g;
  int dead_fd;
  char *dead;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer node)
{
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t len = sizeof sa;
  f->dead_fd = socket (AF_INET, SOCK_STREAM, 0);
  g_assert_cmpint (f->dead_fd, >=, 0);
  g_assert_cmpint (bind (f->dead_fd, (struct sockaddr *) &sa, sizeof sa), ==, 0);
  g_assert_cmpint (getsockname (f->dead_fd, (struct sockaddr *) &sa, &len), ==, 0);
  f->dead = g_strdup_printf ("127.0.0.1:%u", ntohs (sa.sin_port));
  portico_test_gateway_start (&f->g, config_json, NULL, "@NODE@", node, "@DEAD@", f->dead, NULL);
}

/* The gateway must stop cleanly, whatever the test did. */
static void
fixture_teardown (Fixture *f, gconstpointer node)
{
  g_assert_cmpint (portico_proc_stop (f->g.gw), ==, 0);
  portico_test_gateway_tear_down (&f->g, node);
  close (f->dead_fd);
  g_free (f->dead);
}

/* --- requests --- */

static PorticoTestResponse *
get (Fixture *f, const char *path, const char *headers)
{
  g_autofree char *req = g_strdup_printf ("GET %s HTTP/1.1\r\nHost: test\r\n%sConnection: close\r\n\r\n", path,
                                          headers ? headers : "");
  return portico_test_gateway_request (&f->g, req);
}

/* The trace id the answer carries, which must be there exactly once. */
static const char *
trace_id_of (const PorticoTestResponse *resp)
{
  g_assert_cmpuint (portico_test_response_header_count (resp, ID_HEADER), ==, 1);
  return portico_test_response_header (resp, ID_HEADER);
}

/* How many fields named @name the upstream received (the mock's /echo
 * lists them); the first one's value in *@value. */
static guint
upstream_header (const PorticoTestResponse *resp, const char *name, char **value)
{
  g_autoptr (JsonNode) root = NULL;
  JsonArray *headers = json_object_get_array_member (portico_test_body_object (resp, &root), "headers");
  guint n = 0;
  for (guint i = 0; i < json_array_get_length (headers); i++)
    {
      JsonArray *h = json_array_get_array_element (headers, i);
      if (g_ascii_strcasecmp (json_array_get_string_element (h, 0), name) != 0)
        continue;
      if (n++ == 0 && value != NULL)
        *value = g_strdup (json_array_get_string_element (h, 1));
    }
  return n;
}

/* GET @path through to the mock: 200, the trace id @id (NULL: none),
 * and no X-Portico-Trace reached the upstream. */
static void
assert_proxied (Fixture *f, const char *path, const char *headers, const char *id)
{
  g_autoptr (PorticoTestResponse) resp = get (f, path, headers);
  g_assert_cmpint (resp->status, ==, 200);
  if (id != NULL)
    g_assert_cmpstr (trace_id_of (resp), ==, id);
  else
    g_assert_null (portico_test_response_header (resp, ID_HEADER));
  g_assert_cmpuint (upstream_header (resp, "X-Portico-Trace", NULL), ==, 0);
}

/* --- the admin API --- */

static PorticoTestResponse *
admin_request (Fixture *f, const char *method, const char *path)
{
  g_autofree char *req = g_strdup_printf ("%s %s HTTP/1.1\r\nHost: admin\r\nContent-Length: 0\r\n"
                                          "Connection: close\r\n\r\n", method, path);
  PorticoTestResponse *resp = portico_test_request (portico_test_gateway_admin (&f->g), req);
  g_assert_nonnull (resp);
  return resp;
}

/* A 404 or 405 of the admin API: {"message": ...}. */
static void
assert_admin_refuses (Fixture *f, const char *method, const char *path, int status, const char *prefix)
{
  g_autoptr (PorticoTestResponse) resp = admin_request (f, method, path);
  g_autoptr (JsonNode) root = NULL;
  g_test_message ("%s %s -> %d", method, path, resp->status);
  g_assert_cmpint (resp->status, ==, status);
  const char *message = json_object_get_string_member (portico_test_body_object (resp, &root), "message");
  g_assert_nonnull (message);
  g_assert_true (g_str_has_prefix (message, prefix));
}

/* GET /traces/{id}, waited for: the worker keeps a trace in its log
 * phase, which may end after the client has its answer. Fails the test
 * if it does not come within 5 s. */
static JsonObject *
trace_detail (Fixture *f, const char *id, JsonNode **root)
{
  g_autofree char *path = g_strdup_printf ("/traces/%s", id);
  for (int i = 0; i < WAIT_STEPS; i++)
    {
      g_autoptr (PorticoTestResponse) resp = admin_request (f, "GET", path);
      if (resp->status == 200)
        return portico_test_body_object (resp, root);
      g_assert_cmpint (resp->status, ==, 404);
      g_usleep (WAIT_STEP_US);
    }
  g_test_message ("trace %s never appeared", id);
  g_assert_not_reached ();
}

static JsonArray *
trace_list (Fixture *f, JsonNode **root)
{
  *root = portico_test_gateway_admin_json (&f->g, "/traces");
  return json_object_get_array_member (json_node_get_object (*root), "traces");
}

/* Waits for trace @newest, then GET /traces must list exactly @expected
 * (ids, "," joined, in its order), each from worker 0 and with
 * @requested. */
static void
assert_listed (Fixture *f, const char *newest, gboolean requested, const char *expected)
{
  g_autoptr (JsonNode) wait_root = NULL;
  trace_detail (f, newest, &wait_root);
  g_autoptr (JsonNode) root = NULL;
  JsonArray *traces = trace_list (f, &root);
  g_autoptr (GString) ids = g_string_new (NULL);
  for (guint i = 0; i < json_array_get_length (traces); i++)
    {
      JsonObject *t = json_array_get_object_element (traces, i);
      g_assert_cmpint (json_object_get_boolean_member (t, "requested"), ==, requested);
      g_assert_cmpint (json_object_get_int_member (t, "worker"), ==, 0);
      g_string_append_printf (ids, "%s%s", i ? "," : "", json_object_get_string_member (t, "id"));
    }
  g_assert_cmpstr (ids->str, ==, expected);
}

/* --- reading a trace --- */

/* "phases", joined by ",", must read @expected. */
static void
assert_phases (JsonObject *trace, const char *expected)
{
  JsonArray *phases = json_object_get_array_member (trace, "phases");
  g_autoptr (GString) text = g_string_new (NULL);
  for (guint i = 0; i < json_array_get_length (phases); i++)
    g_string_append_printf (text, "%s%s", i ? "," : "", json_array_get_string_element (phases, i));
  g_assert_cmpstr (text->str, ==, expected);
}

static const char *
member_text (JsonObject *span, const char *member)
{
  return json_object_get_null_member (span, member) ? "-" : json_object_get_string_member (span, member);
}

/* The spans of @kind named @name (NULL: any), as "phase/result" joined by
 * ",", in the trace's order; *@n_out (optional) counts them. Only the
 * order of one name's spans is asserted: spans that start in the same
 * microsecond have no defined order between them. */
static char *
spans_text (JsonObject *trace, const char *kind, const char *name, guint *n_out)
{
  JsonArray *spans = json_object_get_array_member (trace, "spans");
  GString *text = g_string_new (NULL);
  guint n = 0;
  for (guint i = 0; i < json_array_get_length (spans); i++)
    {
      JsonObject *s = json_array_get_object_element (spans, i);
      if (!g_str_equal (json_object_get_string_member (s, "kind"), kind) ||
          (name != NULL && !g_str_equal (json_object_get_string_member (s, "name"), name)))
        continue;
      g_string_append_printf (text, "%s%s/%s", n++ ? "," : "", member_text (s, "phase"), member_text (s, "result"));
    }
  if (n_out != NULL)
    *n_out = n;
  return g_string_free (text, FALSE);
}

/* The spans of @kind named @name (NULL: any) must read @expected. */
static void
assert_spans (JsonObject *trace, const char *kind, const char *name, const char *expected)
{
  g_autofree char *text = spans_text (trace, kind, name, NULL);
  g_assert_cmpstr (text, ==, expected);
}

static guint
count_spans (JsonObject *trace, const char *kind, const char *name)
{
  guint n = 0;
  g_free (spans_text (trace, kind, name, &n));
  return n;
}

static gint64
span_end (JsonObject *s)
{
  return json_object_get_int_member (s, "start_us") + json_object_get_int_member (s, "duration_us");
}

/* Whether a phase window of @phase holds [@start, @end]. */
static gboolean
inside_window (JsonArray *spans, const char *phase, gint64 start, gint64 end)
{
  for (guint i = 0; i < json_array_get_length (spans); i++)
    {
      JsonObject *w = json_array_get_object_element (spans, i);
      if (g_str_equal (json_object_get_string_member (w, "kind"), "phase") &&
          g_str_equal (json_object_get_string_member (w, "name"), phase) &&
          json_object_get_int_member (w, "start_us") <= start && end <= span_end (w))
        return TRUE;
    }
  return FALSE;
}

static gboolean
is_log_window (JsonObject *s)
{
  return g_str_equal (json_object_get_string_member (s, "kind"), "phase") &&
         g_str_equal (json_object_get_string_member (s, "name"), "log");
}

/* What holds for every trace: it started between @before and @after
 * (g_get_monotonic_time() of this process around the request: the
 * gateway's clock is the machine's monotonic clock); its spans are listed
 * by start_us, each with offset_us = start_us - the trace's start_us >= 0,
 * and ends within the trace's duration_us (the log window is left to
 * test_log_window); every handler call lies inside a window of its phase;
 * an upstream try lies after a balancer window. */
static void
assert_trace_clock (JsonObject *trace, gint64 before, gint64 after)
{
  gint64 start = json_object_get_int_member (trace, "start_us");
  gint64 duration = json_object_get_int_member (trace, "duration_us");
  gint64 read_at = g_get_monotonic_time ();
  g_assert_cmpint (before, <=, start);
  g_assert_cmpint (start, <=, after);
  g_assert_cmpint (duration, >, 0);
  g_assert_cmpint (start + duration, <=, read_at);
  g_assert_cmpint (json_object_get_int_member (trace, "spans_dropped"), ==, 0);

  JsonArray *spans = json_object_get_array_member (trace, "spans");
  gint64 previous = start;
  for (guint i = 0; i < json_array_get_length (spans); i++)
    {
      JsonObject *s = json_array_get_object_element (spans, i);
      gint64 s_start = json_object_get_int_member (s, "start_us");
      gint64 offset = json_object_get_int_member (s, "offset_us");
      const char *kind = json_object_get_string_member (s, "kind");
      g_test_message ("span %u: %s %s +%" G_GINT64_FORMAT " %" G_GINT64_FORMAT " us", i, kind,
                      json_object_get_string_member (s, "name"), offset,
                      json_object_get_int_member (s, "duration_us"));
      g_assert_cmpint (offset, ==, s_start - start);
      g_assert_cmpint (offset, >=, 0);
      g_assert_cmpint (s_start, >=, previous);
      g_assert_cmpint (json_object_get_int_member (s, "duration_us"), >=, 0);
      previous = s_start;
      if (is_log_window (s))
        g_assert_cmpint (offset, <=, duration);
      else
        g_assert_cmpint (offset + json_object_get_int_member (s, "duration_us"), <=, duration);
      if (g_str_equal (kind, "module"))
        g_assert_true (inside_window (spans, json_object_get_string_member (s, "phase"), s_start, span_end (s)));
      if (g_str_equal (kind, "upstream"))
        {
          g_assert_true (json_object_get_null_member (s, "phase"));
          /* The balancer window just before it ended when the try began. */
          gboolean after_balancer = FALSE;
          for (guint j = 0; j < i; j++)
            {
              JsonObject *w = json_array_get_object_element (spans, j);
              if (g_str_equal (json_object_get_string_member (w, "name"), "balancer"))
                after_balancer = span_end (w) <= s_start;
            }
          g_assert_true (after_balancer);
        }
    }
}

/* The summary fields every view shows. */
static void
assert_summary (JsonObject *t, const char *id, gboolean requested, const char *path, int status,
                const char *route, const char *service, const char *consumer)
{
  g_assert_cmpstr (json_object_get_string_member (t, "id"), ==, id);
  g_assert_cmpint (json_object_get_int_member (t, "worker"), ==, 0);
  g_assert_cmpint (json_object_get_boolean_member (t, "requested"), ==, requested);
  g_assert_cmpstr (json_object_get_string_member (t, "method"), ==, "GET");
  g_assert_cmpstr (json_object_get_string_member (t, "path"), ==, path);
  g_assert_cmpint (json_object_get_int_member (t, "status"), ==, status);
  g_assert_cmpstr (json_object_get_string_member (t, "route"), ==, route);
  g_assert_cmpstr (json_object_get_string_member (t, "service"), ==, service);
  g_assert_cmpstr (json_object_get_string_member (t, "consumer"), ==, consumer);
  g_assert_cmpint (json_object_get_int_member (t, "duration_us"), >, 0);
  /* Wall clock, ISO 8601: only checked to be one, near now (wide margin). */
  g_autoptr (GDateTime) time = g_date_time_new_from_iso8601 (json_object_get_string_member (t, "time"), NULL);
  g_assert_nonnull (time);
  gint64 skew = g_date_time_to_unix (time) - g_get_real_time () / G_USEC_PER_SEC;
  g_assert_cmpint (ABS (skew), <=, 300);
}

/* A GET of @path asked for with the token, answered @status with the
 * trace id @id; returns its trace (in *@root), after checking the summary
 * and the clock. */
static JsonObject *
traced_request (Fixture *f, const char *path, const char *headers, int status, const char *id,
                const char *route, const char *service, const char *consumer, JsonNode **root)
{
  g_autofree char *all = g_strconcat (TRACE_HEADER, headers, NULL);
  gint64 before = g_get_monotonic_time ();
  g_autoptr (PorticoTestResponse) resp = get (f, path, all);
  gint64 after = g_get_monotonic_time ();
  g_assert_cmpint (resp->status, ==, status);
  g_assert_cmpstr (trace_id_of (resp), ==, id);
  JsonObject *t = trace_detail (f, id, root);
  assert_summary (t, id, TRUE, path, status, route, service, consumer);
  assert_trace_clock (t, before, after);
  return t;
}

/* --- the token --- */

static void
test_token_proxied (Fixture *f, gconstpointer data)
{
  g_test_summary ("With the right token a proxied answer carries X-Portico-Trace-Id SLOT-N, numbered "
                  "from 1, the header name in any case; the upstream never sees X-Portico-Trace; both "
                  "traces are listed as requested.");
  assert_proxied (f, "/orders/42", TRACE_HEADER, "0-1");
  assert_proxied (f, "/orders/43", "x-portico-trace: " TOKEN "\r\n", "0-2");
  assert_listed (f, "0-2", TRUE, "0-2,0-1");
}

static void
test_token_local (Fixture *f, gconstpointer data)
{
  g_test_summary ("The gateway's own answers carry the trace id too: a 404 when no route matches, "
                  "and a module's answer (request-termination in access); the mock is not asked.");
  gint64 asked = portico_test_gateway_mock_requests (&f->g);
  g_autoptr (PorticoTestResponse) none = get (f, "/nowhere", TRACE_HEADER);
  portico_test_expect_message (none, 404, "no Route matched with those values");
  g_assert_cmpstr (trace_id_of (none), ==, "0-1");

  g_autoptr (PorticoTestResponse) gone = get (f, "/gone", TRACE_HEADER "apikey: alice-key\r\n");
  portico_test_expect_message (gone, 403, "So long");
  g_assert_cmpstr (trace_id_of (gone), ==, "0-2");
  g_assert_cmpint (portico_test_gateway_mock_requests (&f->g), ==, asked);

  assert_listed (f, "0-2", TRUE, "0-2,0-1");
}

static void
test_token_wrong (Fixture *f, gconstpointer data)
{
  g_test_summary ("A wrong token (other text, a prefix, longer, another case, empty) gets no trace id "
                  "and nothing is recorded, and the upstream never sees it; with two fields only the "
                  "first counts and both are removed. The next right one is numbered 0-1.");
  static const char *const wrong[] = {
    "X-Portico-Trace: wrong\r\n",
    "X-Portico-Trace: s3cre\r\n",
    "X-Portico-Trace: s3cretx\r\n",
    "X-Portico-Trace: S3CRET\r\n",
    "X-Portico-Trace: \r\n",
    "X-Portico-Trace: wrong\r\n" TRACE_HEADER,
  };
  for (guint i = 0; i < G_N_ELEMENTS (wrong); i++)
    {
      g_autofree char *path = g_strdup_printf ("/orders/%u", i);
      assert_proxied (f, path, wrong[i], NULL);
    }
  /* Traces are numbered when they start: had a wrong one been traced,
   * this one would not be 0-1. */
  assert_proxied (f, "/orders/right", TRACE_HEADER "X-Portico-Trace: wrong\r\n", "0-1");
  assert_listed (f, "0-1", TRUE, "0-1");
}

static void
test_token_unset (Fixture *f, gconstpointer data)
{
  g_test_summary ("Without node.trace_token the header means nothing to the gateway: no trace id, not "
                  "traced, and it reaches the upstream unchanged like any other header.");
  /* trace_sample 2: the second request is sampled, which tells when the
   * worker has logged both. */
  g_autoptr (PorticoTestResponse) resp = get (f, "/orders/1", TRACE_HEADER);
  g_assert_cmpint (resp->status, ==, 200);
  g_assert_null (portico_test_response_header (resp, ID_HEADER));
  g_autofree char *value = NULL;
  g_assert_cmpuint (upstream_header (resp, "X-Portico-Trace", &value), ==, 1);
  g_assert_cmpstr (value, ==, TOKEN);

  assert_proxied (f, "/orders/2", NULL, NULL);
  assert_listed (f, "0-1", FALSE, "0-1");
  g_autoptr (JsonNode) root = NULL;
  JsonObject *t = trace_detail (f, "0-1", &root);
  g_assert_cmpstr (json_object_get_string_member (t, "path"), ==, "/orders/2");
}

/* --- what a trace holds --- */

static void
test_detail_proxied (Fixture *f, gconstpointer data)
{
  g_test_summary ("GET /traces/{id} of a proxied GET: the summary, the phases in order, latency's "
                  "rewrite call yielding (once or more) then going on, correlation-id in access and "
                  "header_filter, one upstream try to the mock that answered; every span on the "
                  "monotonic clock inside the trace.");
  g_autoptr (JsonNode) root = NULL;
  JsonObject *t = traced_request (f, "/orders/42", NULL, 200, "0-1", "orders", "orders", "", &root);
  assert_phases (t, "rewrite,access,balancer,header_filter,body_filter,log");
  g_autofree char *latency = spans_text (t, "module", "latency", NULL);
  /* A resume may come early and yield again for the rest (docs/plugins/latency.md). */
  g_test_message ("latency: %s", latency);
  g_assert_true (g_regex_match_simple ("^(rewrite/yield,)+rewrite/continue,access/continue$", latency, 0, 0));
  assert_spans (t, "module", "correlation-id", "access/continue,header_filter/continue");
  assert_spans (t, "upstream", portico_proc_address (f->g.mock, 0), "-/answered");
  g_assert_cmpuint (count_spans (t, "upstream", NULL), ==, 1);

  /* The latency module waits at least its 1 ms inside the rewrite window
   * (a lower bound the module guarantees, not a timing). */
  JsonArray *spans = json_object_get_array_member (t, "spans");
  JsonObject *rewrite = json_array_get_object_element (spans, 0);
  g_assert_cmpstr (json_object_get_string_member (rewrite, "name"), ==, "rewrite");
  g_assert_cmpint (json_object_get_int_member (rewrite, "duration_us"), >=, 1000);
}

static void
test_detail_local (Fixture *f, gconstpointer data)
{
  g_test_summary ("An answer from request-termination in access skips the balancer: phases rewrite, "
                  "access, header_filter, body_filter, log, no upstream try, the module's call "
                  "'respond', the consumer key-auth found. A 404 without a route: access (routing) "
                  "ran, no route or service.");
  g_autoptr (JsonNode) root = NULL;
  JsonObject *t = traced_request (f, "/gone/x", "apikey: alice-key\r\n", 403, "0-1", "gone", "closed", "alice",
                                  &root);
  assert_phases (t, "rewrite,access,header_filter,body_filter,log");
  assert_spans (t, "module", "request-termination", "access/respond");
  assert_spans (t, "module", "key-auth", "access/continue");
  g_assert_cmpuint (count_spans (t, "upstream", NULL), ==, 0);
  g_assert_cmpuint (count_spans (t, "phase", "balancer"), ==, 0);

  g_autoptr (JsonNode) root404 = NULL;
  JsonObject *t404 = traced_request (f, "/nowhere", NULL, 404, "0-2", "", "", "", &root404);
  assert_phases (t404, "rewrite,access,header_filter,body_filter,log");
  g_assert_cmpuint (count_spans (t404, "upstream", NULL), ==, 0);
}

static void
test_upstream_refused (Fixture *f, gconstpointer data)
{
  g_test_summary ("A service whose port refuses connections (retries 1): two balancer windows, two "
                  "upstream tries to that address, both 'failed', and the 502 recorded as the status.");
  g_autoptr (JsonNode) root = NULL;
  JsonObject *t = traced_request (f, "/dead", NULL, 502, "0-1", "dead", "dead", "", &root);
  assert_spans (t, "upstream", f->dead, "-/failed,-/failed");
  g_assert_cmpuint (count_spans (t, "upstream", NULL), ==, 2);
  g_assert_cmpuint (count_spans (t, "phase", "balancer"), ==, 2);
  assert_phases (t, "rewrite,access,balancer,header_filter,body_filter,log");
}

static void
test_log_window (Fixture *f, gconstpointer data)
{
  g_test_summary ("The log window, like every span, ends within the trace's duration_us (the trace "
                  "ends with its log phase), over 40 traces.");
  guint over = 0;
  for (guint i = 1; i <= 40; i++)
    {
      g_autoptr (PorticoTestResponse) resp = get (f, i % 2 ? "/nowhere" : "/orders/1", TRACE_HEADER);
      g_autoptr (JsonNode) root = NULL;
      JsonObject *t = trace_detail (f, trace_id_of (resp), &root);
      JsonArray *spans = json_object_get_array_member (t, "spans");
      guint windows = 0;
      for (guint k = 0; k < json_array_get_length (spans); k++)
        {
          JsonObject *s = json_array_get_object_element (spans, k);
          if (!is_log_window (s))
            continue;
          windows++;
          gint64 end = json_object_get_int_member (s, "offset_us") + json_object_get_int_member (s, "duration_us");
          over += end > json_object_get_int_member (t, "duration_us");
        }
      g_assert_cmpuint (windows, ==, 1);
    }
  g_test_message ("log windows ending after the trace: %u of 40", over);
  g_assert_cmpuint (over, ==, 0);
}

/* --- sampling and the ring --- */

/* Sends plain requests /orders/FROM .. /orders/TO; none is requested, so
 * none gets a trace id. */
static void
send_plain (Fixture *f, guint from, guint to)
{
  for (guint i = from; i <= to; i++)
    {
      g_autofree char *path = g_strdup_printf ("/orders/%u", i);
      assert_proxied (f, path, NULL, NULL);
    }
}

/* Traces FIRST .. LAST exist, listed newest first, and trace k is request
 * 3k. */
static void
assert_sampled (Fixture *f, guint first, guint last)
{
  g_autoptr (GString) expected = g_string_new (NULL);
  for (guint k = last; k >= first; k--)
    g_string_append_printf (expected, "%s0-%u", k == last ? "" : ",", k);
  g_autofree char *newest = g_strdup_printf ("0-%u", last);
  assert_listed (f, newest, FALSE, expected->str);
  for (guint k = first; k <= last; k++)
    {
      g_autofree char *id = g_strdup_printf ("0-%u", k);
      g_autofree char *path = g_strdup_printf ("/orders/%u", 3 * k);
      g_autoptr (JsonNode) root = NULL;
      assert_summary (trace_detail (f, id, &root), id, FALSE, path, 200, "orders", "orders", "");
    }
}

static void
test_sample (Fixture *f, gconstpointer data)
{
  g_test_summary ("trace_sample 3 on one worker: after 15 requests exactly 5 sampled traces (not "
                  "requested), each the 3rd, 6th, ... request; after 33, the ring holds the newest 8 "
                  "(0-4 .. 0-11) and the older ones are gone.");
  send_plain (f, 1, 15);
  assert_sampled (f, 1, 5);
  send_plain (f, 16, 33);
  assert_sampled (f, 11 - RING + 1, 11);
  assert_admin_refuses (f, "GET", "/traces/0-3", 404, "no such trace");
}

static void
test_not_found (Fixture *f, gconstpointer data)
{
  g_test_summary ("GET /traces/{id} is 404 with a JSON message for an id not yet given, one the ring "
                  "has overwritten (also when its entry now holds another), and malformed ids; "
                  "GET /traces/ is 404 and POST /traces 405.");
  for (guint i = 0; i < RING + 1; i++)
    {
      g_autoptr (PorticoTestResponse) resp = get (f, "/nowhere", TRACE_HEADER);
      g_assert_cmpint (resp->status, ==, 404);
    }
  assert_listed (f, "0-9", TRUE, "0-9,0-8,0-7,0-6,0-5,0-4,0-3,0-2");

  static const char *const missing[] = {
    "0-1",  /* overwritten by 0-9 */
    "0-17", /* 0-9's entry, another id */
    "0-10", /* not yet */
    "0-99", "x", "0-", "-1", "0-0", "999-1", "0-1x", "0-9-1", "0-9/x",
  };
  for (guint i = 0; i < G_N_ELEMENTS (missing); i++)
    {
      g_autofree char *path = g_strdup_printf ("/traces/%s", missing[i]);
      assert_admin_refuses (f, "GET", path, 404, "no such trace");
    }
  assert_admin_refuses (f, "GET", "/traces/", 404, "");
  assert_admin_refuses (f, "POST", "/traces", 405, "");
}

static void
test_canonical_id (Fixture *f, gconstpointer data)
{
  g_test_summary ("A trace has one name: an id with a sign or a leading blank is malformed (404), not "
                  "another name of 0-1.");
  g_autoptr (PorticoTestResponse) resp = get (f, "/nowhere", TRACE_HEADER);
  g_autoptr (JsonNode) root = NULL;
  trace_detail (f, trace_id_of (resp), &root);
  static const char *const aliases[] = { "0-+1", "+0-1", "0-%2B1", "%200-1", "0-%201" };
  for (guint i = 0; i < G_N_ELEMENTS (aliases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/traces/%s", aliases[i]);
      assert_admin_refuses (f, "GET", path, 404, "no such trace");
    }
}

/* --- a worker that dies --- */

/* The pid of the one worker when it is serving, else 0. */
static gint64
serving_pid (Fixture *f)
{
  g_autoptr (JsonNode) root = portico_test_gateway_admin_json (&f->g, "/workers");
  JsonArray *workers = json_node_get_array (root);
  if (json_array_get_length (workers) != 1)
    return 0;
  JsonObject *w = json_array_get_object_element (workers, 0);
  if (json_object_get_int_member (w, "slot") != 0 ||
      !g_str_equal (json_object_get_string_member (w, "state"), "serving"))
    return 0;
  return json_object_get_int_member (w, "pid");
}

static void
test_respawn (Fixture *f, gconstpointer data)
{
  g_test_summary ("A worker killed with SIGKILL and respawned into its slot goes on numbering from "
                  "the ring (0-4 after 0-3), and the traces of the dead worker stay readable.");
  for (guint i = 1; i <= 3; i++)
    {
      g_autofree char *path = g_strdup_printf ("/orders/%u", i);
      g_autofree char *id = g_strdup_printf ("0-%u", i);
      assert_proxied (f, path, TRACE_HEADER, id);
    }
  assert_listed (f, "0-3", TRUE, "0-3,0-2,0-1");

  gint64 victim = serving_pid (f);
  g_assert_cmpint (victim, >, 0);
  g_assert_cmpint (kill ((pid_t) victim, SIGKILL), ==, 0);
  gint64 pid = 0;
  for (int i = 0; i < WAIT_STEPS && (pid == 0 || pid == victim); i++)
    {
      g_usleep (WAIT_STEP_US);
      pid = serving_pid (f);
    }
  g_test_message ("worker %" G_GINT64_FORMAT " killed, %" G_GINT64_FORMAT " serves", victim, pid);
  g_assert_cmpint (pid, >, 0);
  g_assert_cmpint (pid, !=, victim);

  assert_proxied (f, "/orders/4", TRACE_HEADER, "0-4");
  for (guint i = 1; i <= 4; i++)
    {
      g_autofree char *id = g_strdup_printf ("0-%u", i);
      g_autofree char *path = g_strdup_printf ("/orders/%u", i);
      g_autoptr (JsonNode) root = NULL;
      JsonObject *t = trace_detail (f, id, &root);
      assert_summary (t, id, TRUE, path, 200, "orders", "orders", "");
    }
  assert_listed (f, "0-4", TRUE, "0-4,0-3,0-2,0-1");
}

static void
add (const char *path, const char *node, void (*func) (Fixture *, gconstpointer))
{
  g_test_add (path, Fixture, node, fixture_setup, func, fixture_teardown);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  add ("/traces/token/proxied", node_token, test_token_proxied);
  add ("/traces/token/local", node_token, test_token_local);
  add ("/traces/token/wrong", node_token, test_token_wrong);
  add ("/traces/token/unset", node_no_token, test_token_unset);
  add ("/traces/detail/proxied", node_token, test_detail_proxied);
  add ("/traces/detail/local", node_token, test_detail_local);
  add ("/traces/detail/upstream-refused", node_token, test_upstream_refused);
  add ("/traces/detail/log-window", node_token, test_log_window);
  add ("/traces/sample/ring", node_sample, test_sample);
  add ("/traces/admin/not-found", node_token, test_not_found);
  add ("/traces/admin/canonical-id", node_token, test_canonical_id);
  add ("/traces/worker/respawn", node_token, test_respawn);
  return g_test_run ();
}
