/* test-correlation-id-gateway.c: correlation-id in a real gateway: what the
 * upstream (the mock's /echo) receives and what the client gets back. */
#include <string.h>

#include "harness-gateway.h"

/* Single quotes become double quotes: JSON reads better that way in C. */
static const char config[] =
  "{'_format_version':'1','node':{'listen':['127.0.0.1:0'],'admin_listen':'off',@NODE@,"
  " 'module_path':['@MODULES@']},"
  " 'services':[{'name':'s','url':'http://@UPSTREAM@','routes':["
  "  {'name':'counter','paths':['/counter'],"
  "   'plugins':[{'name':'correlation-id','config':{'echo_downstream':true}}]},"
  "  {'name':'uuid','paths':['/uuid'],"
  "   'plugins':[{'name':'correlation-id','config':{'generator':'uuid','header_name':'X-Req-Id'}}]},"
  "  {'name':'tracker','paths':['/tracker'],"
  "   'plugins':[{'name':'correlation-id','config':{'generator':'tracker','echo_downstream':true}}]},"
  "  {'name':'blocked','paths':['/blocked'],"
  "   'plugins':[{'name':'correlation-id','config':{'echo_downstream':true}},"
  "              {'name':'request-termination','config':{}}]}]}]}";

/* @data: the node's workers (and more), e.g. "'workers':1". */
static void
fixture_set_up (PorticoTestGateway *f, gconstpointer data)
{
  portico_test_gateway_start (f, config, NULL, "@NODE@", data, NULL);
}

/* One exchange: the response, and in *@upstream_id the value of header
 * @name the upstream received (the mock's /echo lists them), NULL if none. */
static PorticoTestResponse *
exchange (const PorticoTestGateway *f, const char *request, const char *name, char **upstream_id)
{
  PorticoTestResponse *resp = portico_test_gateway_request (f, request);
  *upstream_id = NULL;
  if (resp->status != 200)
    return resp;

  g_autoptr (JsonNode) root = NULL;
  JsonArray *headers = json_object_get_array_member (portico_test_body_object (resp, &root), "headers");
  guint found = 0;
  for (guint i = 0; i < json_array_get_length (headers); i++)
    {
      JsonArray *pair = json_array_get_array_element (headers, i);
      if (g_ascii_strcasecmp (json_array_get_string_element (pair, 0), name) == 0 && found++ == 0)
        *upstream_id = g_strdup (json_array_get_string_element (pair, 1));
    }
  g_assert_cmpuint (found, <=, 1);
  return resp;
}

static void
test_counter (PorticoTestGateway *f, gconstpointer data)
{
  g_test_summary ("The default generator: the worker's uuid and a counter going up by one per "
                  "request, sent upstream in Kong-Request-ID and echoed to the client.");
  g_autofree char *uuid = NULL;
  guint64 last = 0;
  for (int i = 0; i < 5; i++)
    {
      g_autofree char *id = NULL;
      g_autoptr (PorticoTestResponse) resp =
        exchange (f, "GET /counter/echo/ HTTP/1.1\r\nHost: t\r\n\r\n", "Kong-Request-ID", &id);
      g_assert_cmpint (resp->status, ==, 200);
      g_assert_nonnull (id);
      g_test_message ("%s", id);
      g_assert_cmpstr (portico_test_response_header (resp, "Kong-Request-ID"), ==, id);
      g_assert_true (g_regex_match_simple (
        "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}#[0-9]+$", id, 0, 0));
      const char *hash = strchr (id, '#');
      if (uuid == NULL)
        uuid = g_strndup (id, (gsize) (hash - id));
      g_assert_cmpmem (id, hash - id, uuid, strlen (uuid));
      guint64 n = g_ascii_strtoull (hash + 1, NULL, 10);
      if (last != 0)
        g_assert_cmpuint (n, ==, last + 1);
      last = n;
    }
}

static void
test_client_id_kept (PorticoTestGateway *f, gconstpointer data)
{
  g_test_summary ("An id the client sent is kept, upstream and in the echo (any case of the name); "
                  "an empty one is replaced.");
  g_autofree char *id = NULL;
  g_autoptr (PorticoTestResponse) resp = exchange (
    f, "GET /counter/echo/ HTTP/1.1\r\nHost: t\r\nkong-request-id: from-client-1\r\n\r\n", "Kong-Request-ID", &id);
  g_assert_cmpint (resp->status, ==, 200);
  g_assert_cmpstr (id, ==, "from-client-1");
  g_assert_cmpstr (portico_test_response_header (resp, "Kong-Request-ID"), ==, "from-client-1");
  g_assert_cmpuint (portico_test_response_header_count (resp, "Kong-Request-ID"), ==, 1);

  g_autofree char *id2 = NULL;
  g_autoptr (PorticoTestResponse) resp2 =
    exchange (f, "GET /counter/echo/ HTTP/1.1\r\nHost: t\r\nKong-Request-ID: \r\n\r\n", "Kong-Request-ID", &id2);
  g_assert_cmpint (resp2->status, ==, 200);
  g_assert_nonnull (strchr (id2, '#'));
}

static void
test_uuid_not_echoed (PorticoTestGateway *f, gconstpointer data)
{
  g_test_summary ("generator uuid with header_name X-Req-Id: a fresh v4 uuid upstream per request; "
                  "without echo_downstream the client does not see it.");
  g_autofree char *a = NULL, *b = NULL;
  g_autoptr (PorticoTestResponse) r1 = exchange (f, "GET /uuid/echo/ HTTP/1.1\r\nHost: t\r\n\r\n", "X-Req-Id", &a);
  g_autoptr (PorticoTestResponse) r2 = exchange (f, "GET /uuid/echo/ HTTP/1.1\r\nHost: t\r\n\r\n", "X-Req-Id", &b);
  g_assert_cmpint (r1->status, ==, 200);
  g_assert_cmpint (r2->status, ==, 200);
  for (const char *id = a; id != NULL; id = id == a ? b : NULL)
    g_assert_true (
      g_regex_match_simple ("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", id, 0, 0));
  g_assert_cmpstr (a, !=, b);
  g_assert_null (portico_test_response_header (r1, "X-Req-Id"));
  g_assert_null (portico_test_response_header (r1, "Kong-Request-ID"));
}

static void
test_tracker (PorticoTestGateway *f, gconstpointer data)
{
  g_test_summary ("generator tracker: client address, gateway port, worker pid, client port, "
                  "request number, time.");
  g_autofree char *id = NULL;
  g_autoptr (PorticoTestResponse) resp =
    exchange (f, "GET /tracker/echo/ HTTP/1.1\r\nHost: t\r\n\r\n", "Kong-Request-ID", &id);
  g_assert_cmpint (resp->status, ==, 200);
  g_test_message ("%s", id);
  g_autofree char *pattern =
    g_strdup_printf ("^127\\.0\\.0\\.1-%s-[0-9]+-[0-9]+-[0-9]+-[0-9]{10}\\.[0-9]{3}$", strrchr (f->addr, ':') + 1);
  g_assert_true (g_regex_match_simple (pattern, id, 0, 0));
  g_assert_cmpstr (portico_test_response_header (resp, "Kong-Request-ID"), ==, id);

  /* The time is now, within a minute. */
  gint64 secs = g_ascii_strtoll (strrchr (id, '-') + 1, NULL, 10);
  g_assert_cmpint (ABS (secs - g_get_real_time () / G_USEC_PER_SEC), <, 60);
}

static void
test_gateway_response (PorticoTestGateway *f, gconstpointer data)
{
  g_test_summary ("A response the gateway made (request-termination's 503) carries the id too: "
                  "correlation-id runs first in access, and header_filter sees every response.");
  g_autoptr (PorticoTestResponse) resp = portico_test_gateway_request (
    f, "GET /blocked/echo/ HTTP/1.1\r\nHost: t\r\nKong-Request-ID: keep-me\r\n\r\n");
  g_assert_nonnull (resp);
  g_assert_cmpint (resp->status, ==, 503);
  g_assert_cmpstr (portico_test_response_header (resp, "Kong-Request-ID"), ==, "keep-me");

  g_autoptr (PorticoTestResponse) fresh =
    portico_test_gateway_request (f, "GET /blocked/ HTTP/1.1\r\nHost: t\r\n\r\n");
  g_assert_nonnull (fresh);
  g_assert_cmpint (fresh->status, ==, 503);
  g_assert_nonnull (strchr (portico_test_response_header (fresh, "Kong-Request-ID"), '#'));
}

static void
test_workers (PorticoTestGateway *f, gconstpointer data)
{
  g_test_summary ("Two workers (reuseport spreads new connections over both): each has its own "
                  "uuid (seeded after the fork, not inherited from the master) and its own "
                  "counter, from 1 up.");
  g_autoptr (GHashTable) last = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (int i = 0; i < 40; i++)
    {
      g_autofree char *id = NULL;
      g_autoptr (PorticoTestResponse) resp =
        exchange (f, "GET /counter/echo/ HTTP/1.1\r\nHost: t\r\n\r\n", "Kong-Request-ID", &id);
      g_assert_cmpint (resp->status, ==, 200);
      const char *hash = strchr (id, '#');
      g_assert_nonnull (hash);
      char *uuid = g_strndup (id, (gsize) (hash - id));
      guint64 n = g_ascii_strtoull (hash + 1, NULL, 10);
      guint64 before = GPOINTER_TO_SIZE (g_hash_table_lookup (last, uuid));
      g_assert_cmpuint (n, ==, before + 1);
      g_hash_table_replace (last, uuid, GSIZE_TO_POINTER (n));
    }
  g_assert_cmpuint (g_hash_table_size (last), ==, 2);
}

int
main (int argc, char **argv)
{
  const char *one = "'workers':1";
  g_test_init (&argc, &argv, NULL);
#define ADD(name, node, fn) \
  g_test_add ("/modules/correlation-id/gateway/" name, PorticoTestGateway, node, fixture_set_up, fn, \
              portico_test_gateway_tear_down)
  ADD ("counter", one, test_counter);
  ADD ("client-id", one, test_client_id_kept);
  ADD ("uuid", one, test_uuid_not_echoed);
  ADD ("tracker", one, test_tracker);
  ADD ("gateway-response", one, test_gateway_response);
  ADD ("workers", "'workers':2,'reuseport':true", test_workers);
#undef ADD
  return g_test_run ();
}
