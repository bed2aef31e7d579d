/* test-request-size-limiting-gateway.c: the request-size-limiting module in a
 * real gateway in front of `portico mock`: declared lengths, Expect:
 * 100-continue, chunked bodies that cross the limit, require_content_length. */
#include <unistd.h>

#include "harness-gateway.h"

/* A gateway in front of a mock, with the plugin config the test names. */
static void
fixture_setup (PorticoTestGateway *f, gconstpointer plugin_config)
{
  static const char config[] =
    "{'_format_version':'1',"
    "'node':{'listen':['127.0.0.1:0'],'admin_listen':'off','workers':1,'module_path':['@MODULES@']},"
    "'services':[{'name':'s','url':'http://@UPSTREAM@','routes':[{'name':'r','paths':['/']}]}],"
    "'plugins':[{'name':'request-size-limiting','config':@CONFIG@}]}";
  portico_test_gateway_start (f, config, NULL, "@CONFIG@", plugin_config, NULL);
}

/* A POST to /echo/size with a Content-Length body of @n bytes. */
static PorticoTestResponse *
post_sized (const char *addr, gsize n, const char *extra_headers)
{
  g_autofree char *body = g_strnfill (n, 'b');
  g_autofree char *req = g_strdup_printf ("POST /echo/size HTTP/1.1\r\nHost: t\r\nContent-Length: %" G_GSIZE_FORMAT
                                          "\r\n%s\r\n%s",
                                          n, extra_headers ? extra_headers : "", body);
  PorticoTestResponse *resp = portico_test_request (addr, req);
  g_assert_nonnull (resp);
  return resp;
}

/* A chunked POST of @n_chunks chunks of @chunk bytes on a new connection;
 * *@closed: whether the gateway closed the connection after answering. */
static PorticoTestResponse *
post_chunked (const char *addr, guint n_chunks, gsize chunk, gboolean *closed)
{
  int fd = portico_test_connect (addr);
  g_assert_cmpint (fd, >=, 0);
  const char *head = "POST /echo/chunked HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
  g_assert_true (portico_test_send_all (fd, head, -1));
  g_autofree char *data = g_strnfill (chunk, 'c');
  g_autofree char *size_line = g_strdup_printf ("%" G_GSIZE_MODIFIER "x\r\n", chunk);
  gboolean sent = TRUE;
  /* The gateway may refuse and close before the last chunks: stop then. */
  for (guint i = 0; i < n_chunks && sent; i++)
    sent = portico_test_send_all (fd, size_line, -1) && portico_test_send_all (fd, data, chunk)
           && portico_test_send_all (fd, "\r\n", 2);
  if (sent)
    portico_test_send_all (fd, "0\r\n\r\n", -1);
  PorticoTestResponse *resp = portico_test_read_response (fd, FALSE, PORTICO_TEST_IO_TIMEOUT_MS);
  g_assert_nonnull (resp);
  if (closed != NULL)
    *closed = resp->closed || portico_test_is_closed (fd, 2000);
  close (fd);
  return resp;
}

#define ONE_KILOBYTE "{\"allowed_payload_size\":1,\"size_unit\":\"kilobytes\"}"

static void
test_content_length (PorticoTestGateway *f, gconstpointer data)
{
  g_test_summary ("A declared Content-Length over the limit gets Kong's 413 before the upstream is "
                  "asked; the limit itself passes (1 kilobyte is 1024 bytes).");
  g_autoptr (PorticoTestResponse) ok = post_sized (f->addr, 1024, NULL);
  g_assert_cmpint (ok->status, ==, 200);
  g_autoptr (JsonNode) root = NULL;
  g_assert_cmpint (json_object_get_int_member (portico_test_body_object (ok, &root), "body_bytes"), ==, 1024);

  gint64 before = portico_test_gateway_mock_requests (f);
  g_autoptr (PorticoTestResponse) refused = post_sized (f->addr, 1025, NULL);
  portico_test_expect_message (refused, 413, "Request size limit exceeded");
  g_assert_cmpint (portico_test_gateway_mock_requests (f), ==, before);
}

static void
test_bytes_unit (PorticoTestGateway *f, gconstpointer data)
{
  g_test_summary ("size_unit bytes: ten bytes pass, eleven do not; a bodiless GET passes.");
  g_autoptr (PorticoTestResponse) ten = post_sized (f->addr, 10, NULL);
  g_autoptr (PorticoTestResponse) eleven = post_sized (f->addr, 11, NULL);
  g_autoptr (PorticoTestResponse) get = portico_test_request (f->addr, "GET /echo/g HTTP/1.1\r\nHost: t\r\n\r\n");
  g_assert_cmpint (ten->status, ==, 200);
  portico_test_expect_message (eleven, 413, "Request size limit exceeded");
  g_assert_nonnull (get);
  g_assert_cmpint (get->status, ==, 200);
}

static void
test_expect_continue (PorticoTestGateway *f, gconstpointer data)
{
  g_test_summary ("A client that waits for 100 Continue with a declared length over the limit "
                  "gets 417 at once (Kong's answer), not 100 Continue, and never sends its body.");
  int fd = portico_test_connect (f->addr);
  g_assert_cmpint (fd, >=, 0);
  g_assert_true (portico_test_send_all (
    fd, "POST /echo/e HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n", -1));
  g_autoptr (PorticoTestResponse) resp = portico_test_read_response (fd, FALSE, PORTICO_TEST_IO_TIMEOUT_MS);
  close (fd);
  g_assert_nonnull (resp);
  portico_test_expect_message (resp, 417, "Request size limit exceeded");
}

static void
test_chunked (PorticoTestGateway *f, gconstpointer data)
{
  g_test_summary ("A chunked body has no declared length: within the limit it streams through; "
                  "once it crosses the limit the client gets 413 and its connection is closed.");
  g_autoptr (PorticoTestResponse) ok = post_chunked (f->addr, 2, 500, NULL);
  g_assert_cmpint (ok->status, ==, 200);
  g_autoptr (JsonNode) root = NULL;
  g_assert_cmpint (json_object_get_int_member (portico_test_body_object (ok, &root), "body_bytes"), ==, 1000);

  gboolean closed = FALSE;
  g_autoptr (PorticoTestResponse) refused = post_chunked (f->addr, 8, 500, &closed);
  portico_test_expect_message (refused, 413, "Request size limit exceeded");
  g_assert_true (closed);
}

static void
test_require_content_length (PorticoTestGateway *f, gconstpointer data)
{
  g_test_summary ("require_content_length: a request that declares no length gets 411 with Kong's "
                  "message; Content-Length: 0 and a chunked body are accepted.");
  g_autoptr (PorticoTestResponse) none = portico_test_request (f->addr, "GET /echo/n HTTP/1.1\r\nHost: t\r\n\r\n");
  g_assert_nonnull (none);
  portico_test_expect_message (none, 411, "A valid Content-Length header is required");

  g_autoptr (PorticoTestResponse) zero =
    portico_test_request (f->addr, "GET /echo/z HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
  g_assert_nonnull (zero);
  g_assert_cmpint (zero->status, ==, 200);

  g_autoptr (PorticoTestResponse) chunked = post_chunked (f->addr, 1, 10, NULL);
  g_assert_cmpint (chunked->status, ==, 200);
}

#define ADD(path, config, func) \
  g_test_add ("/modules/request-size-limiting/gateway/" path, PorticoTestGateway, config, fixture_setup, func, \
              portico_test_gateway_tear_down)

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  ADD ("content-length", ONE_KILOBYTE, test_content_length);
  ADD ("bytes-unit", "{\"allowed_payload_size\":10,\"size_unit\":\"bytes\"}", test_bytes_unit);
  ADD ("expect-continue", ONE_KILOBYTE, test_expect_continue);
  ADD ("chunked", ONE_KILOBYTE, test_chunked);
  ADD ("require-content-length", "{\"require_content_length\":true}", test_require_content_length);
  return g_test_run ();
}
