/* test-response-transformer-gateway.c: response-transformer in the real
 * gateway, in front of mocks answering JSON (whole or chunked), non-JSON,
 * HEAD, and bodies past the cap. */
#include <string.h>
#include <unistd.h>

#include "harness-gateway.h"

#define JSON_TYPE "Content-Type: application/json"

/* One service to the mock, one route "/", the plugin with the edits below
 * on the service. */
static const char config[] =
  "{'_format_version':'1',"
  "'node':{'listen':['127.0.0.1:0'],'admin_listen':'off','workers':1,'module_path':['@MODULES@']},"
  "'services':[{'name':'s','url':'http://@UPSTREAM@','routes':[{'name':'r','paths':['/']}],"
  "'plugins':[{'name':'response-transformer','config':{"
  " 'remove':{'headers':['Server'],'json':['secret']},"
  " 'rename':{'json':['a:alpha']},"
  " 'replace':{'headers':['X-Mock-Absent:never']},"
  " 'add':{'headers':['X-Added:yes'],'json':['added:true','big:only-when-absent'],'json_types':['boolean']},"
  " 'append':{'json':['tags:y']}}}]}]}";

static PorticoTestResponse *
get (int fd, const char *method, const char *path)
{
  g_autofree char *request = g_strdup_printf ("%s %s HTTP/1.1\r\nHost: h\r\n\r\n", method, path);
  g_assert_true (portico_test_send_all (fd, request, -1));
  PorticoTestResponse *resp = portico_test_read_response (fd, g_str_equal (method, "HEAD"),
                                                          PORTICO_TEST_IO_TIMEOUT_MS);
  g_assert_nonnull (resp);
  g_assert_true (resp->complete);
  return resp;
}

/* The body, checked against its framing: a Content-Length, if any, is its
 * length. */
static char *
body_of (const PorticoTestResponse *resp)
{
  const char *length = portico_test_response_header (resp, "Content-Length");
  if (length != NULL)
    g_assert_cmpuint (g_ascii_strtoull (length, NULL, 10), ==, resp->body_length);
  return portico_test_response_body_string (resp);
}

static void
test_json (void)
{
  g_test_summary ("A JSON body with a Content-Length: members removed, renamed, added (typed) and "
                  "appended, the rest byte for byte (an integer past 2^63 too); header fields "
                  "edited; the body re-framed, and the connection stays usable.");
  const char *const mock_args[] = {
    "-H", JSON_TYPE, "--body", "{\"a\":1, \"secret\":\"s\",\"big\":12345678901234567890,\"tags\":\"x\"}", NULL,
  };
  g_autoptr (PorticoTestGateway) g = portico_test_gateway_new (config, mock_args, NULL);
  int fd = portico_test_connect (g->addr);
  g_assert_cmpint (fd, >=, 0);

  for (int i = 0; i < 2; i++)
    {
      g_autoptr (PorticoTestResponse) resp = get (fd, "GET", "/");
      g_assert_cmpint (resp->status, ==, 200);
      g_autofree char *body = body_of (resp);
      g_assert_cmpstr (body, ==, "{\"alpha\":1,\"big\":12345678901234567890,\"tags\":[\"x\",\"y\"],\"added\":true}");
      g_assert_null (portico_test_response_header (resp, "Server"));
      g_assert_null (portico_test_response_header (resp, "X-Mock-Absent"));
      g_assert_cmpstr (portico_test_response_header (resp, "X-Added"), ==, "yes");
      g_assert_cmpstr (portico_test_response_header (resp, "Content-Type"), ==, "application/json");
    }
  close (fd);
}

static void
test_chunked (void)
{
  g_test_summary ("A chunked JSON body in several 16 KiB chunks is held back and edited whole.");
  GString *big = g_string_new ("{\"pad\":\"");
  for (int i = 0; i < 40000; i++)
    g_string_append_c (big, 'a' + i % 26);
  g_string_append (big, "\",\"secret\":{\"nested\":[1,2]},\"n\":1}");
  const char *const mock_args[] = { "-H", JSON_TYPE, "--chunked", "--body", big->str, NULL };
  g_autoptr (PorticoTestGateway) g = portico_test_gateway_new (config, mock_args, NULL);

  g_autoptr (PorticoTestResponse) resp = portico_test_gateway_request (g, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  g_assert_cmpint (resp->status, ==, 200);
  g_assert_true (resp->complete);
  g_autofree char *body = body_of (resp);
  /* The expected body: secret gone, added and tags appended at the end. */
  g_string_truncate (big, strstr (big->str, ",\"secret\"") - big->str);
  g_string_append (big, ",\"n\":1,\"added\":true,\"big\":\"only-when-absent\",\"tags\":[\"y\"]}");
  g_assert_cmpuint (strlen (body), ==, big->len);
  g_assert_cmpstr (body, ==, big->str);
  g_string_free (big, TRUE);
}

static void
test_not_json (void)
{
  g_test_summary ("A body that is not JSON passes unchanged (declared JSON or not); a non-JSON "
                  "type keeps its Content-Length; header edits still apply.");
  const char *const broken[] = { "-H", JSON_TYPE, "--body", "{\"secret\": oops", NULL };
  const char *const plain[] = { "-H", "Content-Type: text/plain", "--body", "{\"secret\":\"s\"}", NULL };
  g_autoptr (PorticoTestGateway) g1 = portico_test_gateway_new (config, broken, NULL);
  g_autoptr (PorticoTestGateway) g2 = portico_test_gateway_new (config, plain, NULL);

  g_autoptr (PorticoTestResponse) r1 = portico_test_gateway_request (g1, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  g_autofree char *b1 = body_of (r1);
  g_assert_cmpstr (b1, ==, "{\"secret\": oops");
  g_assert_cmpstr (portico_test_response_header (r1, "X-Added"), ==, "yes");

  g_autoptr (PorticoTestResponse) r2 = portico_test_gateway_request (g2, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  g_autofree char *b2 = body_of (r2);
  g_assert_cmpstr (b2, ==, "{\"secret\":\"s\"}");
  g_assert_cmpstr (portico_test_response_header (r2, "Content-Length"), ==, "14");
  g_assert_null (portico_test_response_header (r2, "Server"));
}

static void
test_head (void)
{
  g_test_summary ("HEAD to a JSON upstream: the head is edited, no body comes, and the next "
                  "request on the connection gets its edited body.");
  const char *const mock_args[] = { "-H", JSON_TYPE, "--body", "{\"a\":1,\"secret\":2}", NULL };
  g_autoptr (PorticoTestGateway) g = portico_test_gateway_new (config, mock_args, NULL);
  int fd = portico_test_connect (g->addr);
  g_assert_cmpint (fd, >=, 0);

  g_autoptr (PorticoTestResponse) head = get (fd, "HEAD", "/");
  g_assert_cmpint (head->status, ==, 200);
  g_assert_cmpuint (head->body_length, ==, 0);
  g_assert_cmpstr (portico_test_response_header (head, "X-Added"), ==, "yes");

  g_autoptr (PorticoTestResponse) resp = get (fd, "GET", "/");
  g_autofree char *body = body_of (resp);
  g_assert_cmpstr (body, ==, "{\"alpha\":1,\"added\":true,\"big\":\"only-when-absent\",\"tags\":[\"y\"]}");
  close (fd);
}

static void
test_cap (void)
{
  g_test_summary ("Past the 8 MiB cap the body passes unchanged: chunked (held, then sent on at "
                  "the cap) and with a Content-Length (never held).");
  const char *headers[][2] = { { "--chunked", NULL }, { "--name", "with-length" } };
  for (guint i = 0; i < G_N_ELEMENTS (headers); i++)
    {
      const char *const mock_args[] = { "-H", JSON_TYPE, "--body-bytes", "9000000", headers[i][0], headers[i][1],
                                        NULL };
      g_autoptr (PorticoTestGateway) g = portico_test_gateway_new (config, mock_args, NULL);
      const char *request = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";

      int direct_fd = portico_test_connect (portico_proc_address (g->mock, 0));
      g_assert_true (portico_test_send_all (direct_fd, request, -1));
      g_autoptr (PorticoTestResponse) direct = portico_test_read_response_flags (
        direct_fd, PORTICO_TEST_READ_DISCARD_BODY, 30000);
      close (direct_fd);
      int fd = portico_test_connect (g->addr);
      g_assert_true (portico_test_send_all (fd, request, -1));
      g_autoptr (PorticoTestResponse) resp = portico_test_read_response_flags (
        fd, PORTICO_TEST_READ_DISCARD_BODY, 30000);
      close (fd);

      g_assert_nonnull (direct);
      g_assert_nonnull (resp);
      g_assert_cmpint (resp->status, ==, 200);
      g_assert_true (resp->complete);
      g_assert_cmpuint (resp->body_length, ==, 9000000);
      g_assert_cmpstr (resp->body_sha256, ==, direct->body_sha256);
      g_assert_cmpstr (portico_test_response_header (resp, "X-Added"), ==, "yes");
      g_assert_cmpuint (resp->chunked, ==, i == 0);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/modules/response-transformer/gateway/json", test_json);
  g_test_add_func ("/modules/response-transformer/gateway/chunked", test_chunked);
  g_test_add_func ("/modules/response-transformer/gateway/not-json", test_not_json);
  g_test_add_func ("/modules/response-transformer/gateway/head", test_head);
  g_test_add_func ("/modules/response-transformer/gateway/cap", test_cap);
  return g_test_run ();
}
