/* test-jwt-gateway.c: the jwt module in the real gateway, in front of the
 * mock upstream's /echo: HS256 and RS256 tokens (the RSA key pair is made
 * here and its public half written into the configuration) authenticate
 * their consumer, whose X-Consumer-* headers reach the upstream; a missing,
 * expired, not-yet-valid or badly signed token gets Kong's 401. */
#include <string.h>

#include "harness-gateway.h"
#include "jwt-test-tokens.h"

#define ALICE_SECRET "alice-secret-for-tests"

typedef struct {
  PorticoTestGateway g;
  EVP_PKEY *bob_key; /* RS256, its public half in the configuration */
} Fixture;

/* The PEM as a JSON string's content. */
static char *
json_escaped (const char *text)
{
  g_autoptr (JsonNode) node = json_node_init_string (json_node_alloc (), text);
  g_autofree char *quoted = json_to_string (node, FALSE);
  return g_strndup (quoted + 1, strlen (quoted) - 2);
}

/* Four routes: /open (the defaults, plus a cookie), /strict (exp and nbf
 * verified, at most an hour to live), /anon (the guest consumer when
 * authentication fails) and /preflight (OPTIONS pass unauthenticated). */
static const char config_template[] =
  "{\"_format_version\":\"1\","
  "\"node\":{\"listen\":[\"127.0.0.1:0\"],\"admin_listen\":\"off\",\"workers\":1,"
  "\"module_path\":[\"@MODULES@\"]},"
  "\"services\":[{\"name\":\"s\",\"url\":\"http://@UPSTREAM@\",\"routes\":["
  "{\"name\":\"open\",\"paths\":[\"/open\"],"
  "\"plugins\":[{\"name\":\"jwt\",\"config\":{\"cookie_names\":[\"jwt_cookie\"]}}]},"
  "{\"name\":\"strict\",\"paths\":[\"/strict\"],"
  "\"plugins\":[{\"name\":\"jwt\",\"config\":{\"claims_to_verify\":[\"exp\",\"nbf\"],"
  "\"maximum_expiration\":3600,\"realm\":\"portico\"}}]},"
  "{\"name\":\"anon\",\"paths\":[\"/anon\"],"
  "\"plugins\":[{\"name\":\"jwt\",\"config\":{\"anonymous\":\"guest\"}}]},"
  "{\"name\":\"preflight\",\"paths\":[\"/preflight\"],"
  "\"plugins\":[{\"name\":\"jwt\",\"config\":{\"run_on_preflight\":false}}]}]}],"
  "\"consumers\":["
  "{\"username\":\"alice\",\"jwt_secrets\":[{\"key\":\"alice-iss\",\"secret\":\"" ALICE_SECRET "\"}]},"
  "{\"username\":\"bob\",\"custom_id\":\"bob-1\",\"jwt_secrets\":[{\"key\":\"bob-iss\",\"algorithm\":\"RS256\","
  "\"rsa_public_key\":\"@BOB_PEM@\"}]},"
  "{\"username\":\"guest\"}]}";

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->bob_key = jwt_test_keygen ("RSA");
  g_autofree char *pem = jwt_test_public_pem (f->bob_key);
  g_autofree char *pem_json = json_escaped (pem);
  portico_test_gateway_start (&f->g, config_template, NULL, "@BOB_PEM@", pem_json, NULL);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  portico_test_gateway_tear_down (&f->g, data);
  EVP_PKEY_free (f->bob_key);
}

static char *
claims_for (const char *iss, gint64 exp_in, gint64 nbf_in)
{
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  GString *json = g_string_new ("{");
  if (iss)
    g_string_append_printf (json, "\"iss\":\"%s\"", iss);
  if (exp_in)
    g_string_append_printf (json, "%s\"exp\":%" G_GINT64_FORMAT, json->len > 1 ? "," : "", now + exp_in);
  if (nbf_in)
    g_string_append_printf (json, "%s\"nbf\":%" G_GINT64_FORMAT, json->len > 1 ? "," : "", now + nbf_in);
  g_string_append_c (json, '}');
  return g_string_free (json, FALSE);
}

/* GET @path with @extra header lines ("Name: value\r\n..." or NULL). */
static PorticoTestResponse *
get (Fixture *f, const char *path, const char *extra)
{
  g_autofree char *request =
    g_strdup_printf ("GET %s HTTP/1.1\r\nHost: jwt.test\r\n%s\r\n", path, extra ? extra : "");
  return portico_test_gateway_request (&f->g, request);
}

static PorticoTestResponse *
get_bearer (Fixture *f, const char *path, const char *token)
{
  g_autofree char *header = g_strdup_printf ("Authorization: Bearer %s\r\n", token);
  return get (f, path, header);
}

/* The value of header @name in a /echo answer, or NULL. */
static const char *
echo_header (JsonObject *echo, const char *name)
{
  JsonArray *headers = json_object_get_array_member (echo, "headers");
  for (guint i = 0; i < json_array_get_length (headers); i++)
    {
      JsonArray *pair = json_array_get_array_element (headers, i);
      if (g_ascii_strcasecmp (json_array_get_string_element (pair, 0), name) == 0)
        return json_array_get_string_element (pair, 1);
    }
  return NULL;
}

static JsonObject *
echo_of (const PorticoTestResponse *resp, JsonParser *parser)
{
  g_assert_cmpint (resp->status, ==, 200);
  g_autofree char *body = portico_test_response_body_string (resp);
  g_autoptr (GError) error = NULL;
  json_parser_load_from_data (parser, body, -1, &error);
  g_assert_no_error (error);
  JsonNode *root = json_parser_get_root (parser);
  g_assert_true (root != NULL && JSON_NODE_HOLDS_OBJECT (root));
  return json_node_get_object (root);
}

/* A 401 with exactly @body and that WWW-Authenticate. */
static void
assert_refused (PorticoTestResponse *resp, const char *body, const char *www_authenticate)
{
  g_autofree char *got = portico_test_response_body_string (resp);
  g_assert_cmpint (resp->status, ==, 401);
  g_assert_cmpstr (got, ==, body);
  g_assert_cmpstr (portico_test_response_header (resp, "Content-Type"), ==, "application/json; charset=utf-8");
  g_assert_cmpstr (portico_test_response_header (resp, "WWW-Authenticate"), ==, www_authenticate);
  /* The gateway answered, not the mock upstream. */
  g_assert_cmpstr (portico_test_response_header (resp, "Server"), !=, "portico-mock");
  portico_test_response_free (resp);
}

static void
test_hs256 (Fixture *f, gconstpointer data)
{
  g_test_summary ("An HS256 token signed with alice's secret, in the Authorization header, the jwt "
                  "query argument or the configured cookie, reaches the upstream as alice: "
                  "X-Consumer-Username, X-Consumer-ID and X-Credential-Identifier (the secret's "
                  "key) are set, and the client's forged X-Consumer-Username is replaced.");
  g_autofree char *claims = claims_for ("alice-iss", 0, 0);
  g_autofree char *token = jwt_test_token ("HS256", NULL, claims, ALICE_SECRET, NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();

  g_autofree char *extra = g_strdup_printf ("Authorization: Bearer %s\r\nX-Consumer-Username: mallory\r\n", token);
  g_autoptr (PorticoTestResponse) r1 = get (f, "/open/echo/a", extra);
  JsonObject *echo = echo_of (r1, parser);
  g_assert_cmpstr (json_object_get_string_member (echo, "path"), ==, "/echo/a");
  g_assert_cmpstr (echo_header (echo, "X-Consumer-Username"), ==, "alice");
  g_assert_cmpstr (echo_header (echo, "X-Consumer-ID"), ==, "alice");
  g_assert_cmpstr (echo_header (echo, "X-Credential-Identifier"), ==, "alice-iss");
  g_assert_null (echo_header (echo, "X-Anonymous-Consumer"));
  g_assert_null (echo_header (echo, "X-Consumer-Custom-ID"));

  g_autofree char *query_path = g_strdup_printf ("/open/echo/q?jwt=%s&x=1", token);
  g_autoptr (PorticoTestResponse) r2 = get (f, query_path, NULL);
  g_assert_cmpstr (echo_header (echo_of (r2, parser), "X-Consumer-Username"), ==, "alice");

  g_autofree char *cookie = g_strdup_printf ("Cookie: theme=dark; jwt_cookie=%s\r\n", token);
  g_autoptr (PorticoTestResponse) r3 = get (f, "/open/echo/c", cookie);
  g_assert_cmpstr (echo_header (echo_of (r3, parser), "X-Consumer-Username"), ==, "alice");

  /* The same token in two places is one token. */
  g_autofree char *both = g_strdup_printf ("Authorization: bearer %s\r\n", token);
  g_autoptr (PorticoTestResponse) r4 = get (f, query_path, both);
  g_assert_cmpstr (echo_header (echo_of (r4, parser), "X-Consumer-Username"), ==, "alice");
}

static void
test_rs256 (Fixture *f, gconstpointer data)
{
  g_test_summary ("An RS256 token signed with bob's private key (generated by the test, the public "
                  "half in the configuration) reaches the upstream as bob, custom_id included.");
  g_autofree char *claims = claims_for ("bob-iss", 600, 0);
  g_autofree char *token = jwt_test_token ("RS256", NULL, claims, NULL, f->bob_key);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (PorticoTestResponse) resp = get_bearer (f, "/open/echo/b", token);
  JsonObject *echo = echo_of (resp, parser);
  g_assert_cmpstr (echo_header (echo, "X-Consumer-Username"), ==, "bob");
  g_assert_cmpstr (echo_header (echo, "X-Consumer-Custom-ID"), ==, "bob-1");
  g_assert_cmpstr (echo_header (echo, "X-Credential-Identifier"), ==, "bob-iss");
  /* Kong's jwt leaves the token for the upstream. */
  g_autofree char *authorization = g_strdup_printf ("Bearer %s", token);
  g_assert_cmpstr (echo_header (echo, "Authorization"), ==, authorization);
}

static void
test_refused (Fixture *f, gconstpointer data)
{
  g_test_summary ("Kong's 401s: no token ('Unauthorized', WWW-Authenticate: Bearer); a wrong HMAC "
                  "secret or another RSA key ('Invalid signature'); an unknown or missing iss; an "
                  "HS256 token for an RS256 secret ('Invalid algorithm'); a malformed token; two "
                  "different tokens.");
  static const char bad[] = "Bearer error=\"invalid_token\"";
  assert_refused (get (f, "/open/echo/x", NULL), "{\"message\":\"Unauthorized\"}", "Bearer");
  assert_refused (get (f, "/open/echo/x", "Authorization: Basic YTpi\r\n"), "{\"message\":\"Unauthorized\"}",
                  "Bearer");

  g_autofree char *alice = claims_for ("alice-iss", 0, 0);
  g_autofree char *wrong_secret = jwt_test_token ("HS256", NULL, alice, "not-alice-secret", NULL);
  assert_refused (get_bearer (f, "/open/echo/x", wrong_secret), "{\"message\":\"Invalid signature\"}", bad);

  EVP_PKEY *other = jwt_test_keygen ("RSA");
  g_autofree char *bob = claims_for ("bob-iss", 0, 0);
  g_autofree char *wrong_key = jwt_test_token ("RS256", NULL, bob, NULL, other);
  EVP_PKEY_free (other);
  assert_refused (get_bearer (f, "/open/echo/x", wrong_key), "{\"message\":\"Invalid signature\"}", bad);

  g_autofree char *unknown = jwt_test_token ("HS256", NULL, "{\"iss\":\"carol-iss\"}", ALICE_SECRET, NULL);
  assert_refused (get_bearer (f, "/open/echo/x", unknown),
                  "{\"message\":\"No credentials found for given 'iss'\"}", bad);
  g_autofree char *no_iss = jwt_test_token ("HS256", NULL, "{\"sub\":\"alice\"}", ALICE_SECRET, NULL);
  assert_refused (get_bearer (f, "/open/echo/x", no_iss), "{\"message\":\"No mandatory 'iss' in claims\"}", bad);

  /* The classic confusion: bob's public key used as an HMAC secret. */
  g_autofree char *pem = jwt_test_public_pem (f->bob_key);
  g_autofree char *confused = jwt_test_token ("HS256", NULL, bob, pem, NULL);
  assert_refused (get_bearer (f, "/open/echo/x", confused), "{\"message\":\"Invalid algorithm\"}", bad);

  assert_refused (get_bearer (f, "/open/echo/x", "not.a-token"), "{\"message\":\"Bad token; invalid JSON\"}", bad);
  g_autofree char *extra_dot = g_strconcat (wrong_secret, ".AA", NULL);
  assert_refused (get_bearer (f, "/open/echo/x", extra_dot), "{\"message\":\"Bad token; invalid signature\"}", bad);

  g_autofree char *good = jwt_test_token ("HS256", NULL, alice, ALICE_SECRET, NULL);
  g_autofree char *path = g_strdup_printf ("/open/echo/x?jwt=%s", good);
  assert_refused (get_bearer (f, path, wrong_secret), "{\"message\":\"Multiple tokens provided\"}", bad);
}

static void
test_claims (Fixture *f, gconstpointer data)
{
  g_test_summary ("Where exp and nbf are verified: an expired token, one not valid yet, one without "
                  "exp and one living longer than maximum_expiration are refused with Kong's "
                  "per-claim errors; a token inside its window goes through. The realm shows in "
                  "WWW-Authenticate.");
  static const char bad[] = "Bearer realm=\"portico\" error=\"invalid_token\"";
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autofree char *ok_claims = claims_for ("alice-iss", 600, -10);
  g_autofree char *ok = jwt_test_token ("HS256", NULL, ok_claims, ALICE_SECRET, NULL);
  g_autoptr (PorticoTestResponse) resp = get_bearer (f, "/strict/echo/s", ok);
  g_assert_cmpstr (echo_header (echo_of (resp, parser), "X-Consumer-Username"), ==, "alice");

  static const struct {
    gint64 exp_in, nbf_in;
    const char *body;
  } cases[] = {
    { -5, -10, "{\"exp\":\"token expired\"}" },
    { 600, 300, "{\"nbf\":\"token not valid yet\"}" },
    { -5, 300, "{\"exp\":\"token expired\",\"nbf\":\"token not valid yet\"}" },
    { 0, -10, "{\"exp\":\"must be a number\"}" },
    { 7200, -10, "{\"exp\":\"exceeds maximum allowed expiration\"}" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *claims = claims_for ("alice-iss", cases[i].exp_in, cases[i].nbf_in);
      g_autofree char *token = jwt_test_token ("HS256", NULL, claims, ALICE_SECRET, NULL);
      g_test_message ("claims %s", claims);
      assert_refused (get_bearer (f, "/strict/echo/s", token), cases[i].body, bad);
    }
  /* The same expired token where claims are not verified is fine. */
  g_autofree char *expired_claims = claims_for ("alice-iss", -5, 0);
  g_autofree char *expired = jwt_test_token ("HS256", NULL, expired_claims, ALICE_SECRET, NULL);
  g_autoptr (PorticoTestResponse) open = get_bearer (f, "/open/echo/o", expired);
  g_assert_cmpint (open->status, ==, 200);
  /* No token at all: Unauthorized, with the realm. */
  assert_refused (get (f, "/strict/echo/s", NULL), "{\"message\":\"Unauthorized\"}", "Bearer realm=\"portico\"");
}

static void
test_anonymous (Fixture *f, gconstpointer data)
{
  g_test_summary ("With anonymous, a request without a valid token goes on as the guest consumer "
                  "(X-Anonymous-Consumer: true, no credential); a valid token still authenticates "
                  "its own consumer.");
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (PorticoTestResponse) r1 = get (f, "/anon/echo/a", NULL);
  JsonObject *echo = echo_of (r1, parser);
  g_assert_cmpstr (echo_header (echo, "X-Consumer-Username"), ==, "guest");
  g_assert_cmpstr (echo_header (echo, "X-Anonymous-Consumer"), ==, "true");
  g_assert_null (echo_header (echo, "X-Credential-Identifier"));

  g_autoptr (PorticoTestResponse) r2 = get_bearer (f, "/anon/echo/a", "bad.token.here");
  g_assert_cmpstr (echo_header (echo_of (r2, parser), "X-Consumer-Username"), ==, "guest");

  g_autofree char *claims = claims_for ("alice-iss", 0, 0);
  g_autofree char *token = jwt_test_token ("HS256", NULL, claims, ALICE_SECRET, NULL);
  g_autoptr (PorticoTestResponse) r3 = get_bearer (f, "/anon/echo/a", token);
  echo = echo_of (r3, parser);
  g_assert_cmpstr (echo_header (echo, "X-Consumer-Username"), ==, "alice");
  g_assert_null (echo_header (echo, "X-Anonymous-Consumer"));
}

static void
test_preflight (Fixture *f, gconstpointer data)
{
  g_test_summary ("run_on_preflight false lets an OPTIONS request through without a token (and "
                  "unauthenticated), but not a GET; by default OPTIONS needs a token too.");
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (PorticoTestResponse) options =
    portico_test_gateway_request (&f->g, "OPTIONS /preflight/echo/p HTTP/1.1\r\nHost: jwt.test\r\n\r\n");
  JsonObject *echo = echo_of (options, parser);
  g_assert_cmpstr (json_object_get_string_member (echo, "method"), ==, "OPTIONS");
  g_assert_null (echo_header (echo, "X-Consumer-Username"));
  assert_refused (get (f, "/preflight/echo/p", NULL), "{\"message\":\"Unauthorized\"}", "Bearer");
  assert_refused (portico_test_gateway_request (&f->g, "OPTIONS /open/echo/p HTTP/1.1\r\nHost: jwt.test\r\n\r\n"),
                  "{\"message\":\"Unauthorized\"}", "Bearer");
}

static void
test_config_refused (void)
{
  g_test_summary ("portico check refuses a consumer's public key that is not PEM, and "
                  "maximum_expiration without exp to verify, naming the plugin's config.");
  static const struct {
    const char *plugin_config, *pem, *expect;
  } cases[] = {
    { "{}", "not a key", "consumers[0].jwt_secrets[0].rsa_public_key: not a PEM public key" },
    { "{\"maximum_expiration\":60}", NULL, "claims_to_verify: must contain \"exp\"" },
    { "{\"anonymous\":\"nobody\"}", NULL, "anonymous: no consumer \"nobody\"" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *secret =
        cases[i].pem ? g_strdup_printf ("{\"key\":\"k\",\"algorithm\":\"RS256\",\"rsa_public_key\":\"%s\"}", cases[i].pem)
                     : g_strdup ("{\"key\":\"k\",\"secret\":\"s\"}");
      g_autofree char *plugin = g_strdup_printf ("{'name':'jwt','config':%s}", cases[i].plugin_config);
      g_autofree char *consumers = g_strdup_printf (",'consumers':[{'username':'alice','jwt_secrets':[%s]}]", secret);
      g_autofree char *config = portico_test_plugin_config (plugin, consumers);
      portico_test_check_config (config, "plugins[0].config", cases[i].expect);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/modules/jwt/gateway/hs256", Fixture, NULL, fixture_set_up, test_hs256, fixture_tear_down);
  g_test_add ("/modules/jwt/gateway/rs256", Fixture, NULL, fixture_set_up, test_rs256, fixture_tear_down);
  g_test_add ("/modules/jwt/gateway/refused", Fixture, NULL, fixture_set_up, test_refused, fixture_tear_down);
  g_test_add ("/modules/jwt/gateway/claims", Fixture, NULL, fixture_set_up, test_claims, fixture_tear_down);
  g_test_add ("/modules/jwt/gateway/anonymous", Fixture, NULL, fixture_set_up, test_anonymous,
              fixture_tear_down);
  g_test_add ("/modules/jwt/gateway/preflight", Fixture, NULL, fixture_set_up, test_preflight,
              fixture_tear_down);
  g_test_add_func ("/modules/jwt/gateway/config-refused", test_config_refused);
  return g_test_run ();
}
