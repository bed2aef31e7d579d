/* test-acl-gateway.c: the authentication modules (key-auth, basic-auth) and
 * acl through the real gateway, in front of the mock upstream, whose /echo
 * shows what the gateway changed in the request. One gateway holds every
 * case, one service per plugin set; consumer-scoped precedence has its own. */
#include <string.h>

#include "harness-gateway.h"

/* Consumers: alice (admins, ops), bob (users), carol (users, banned),
 * guest (no credential, no group: the anonymous one). */
#define CONSUMERS                                                                                         \
  "\"consumers\":["                                                                                       \
  "{\"username\":\"alice\",\"custom_id\":\"crm-1\",\"keyauth_credentials\":[{\"key\":\"alice-key\"}],"      \
  " \"basicauth_credentials\":[{\"username\":\"alice\",\"password\":\"wonder:land\"}],"                    \
  " \"acls\":[{\"group\":\"admins\"},{\"group\":\"ops\"}]},"                                               \
  "{\"username\":\"bob\",\"keyauth_credentials\":[{\"key\":\"bob-old\"},{\"key\":\"bob-key\"}],"           \
  " \"basicauth_credentials\":[{\"username\":\"bobby\",\"password\":\"hunter2\"}],\"acls\":[{\"group\":\"users\"}]}," \
  "{\"username\":\"carol\",\"keyauth_credentials\":[{\"key\":\"carol-key\"}],"                             \
  " \"acls\":[{\"group\":\"users\"},{\"group\":\"banned\"}]},"                                             \
  "{\"username\":\"guest\",\"custom_id\":\"anon-1\"}]"

#define NODE "\"node\":{\"listen\":[\"127.0.0.1:0\"],\"admin_listen\":\"off\",\"workers\":1,\"module_path\":[\"@MODULES@\"]}"

/* A service named @NAME on route /NAME with the plugins @PLUGINS. */
#define SERVICE(NAME, PLUGINS)                                                                            \
  "{\"name\":\"" NAME "\",\"url\":\"http://@UPSTREAM@\",\"routes\":[{\"name\":\"" NAME "\",\"paths\":[\"/" NAME \
  "\"]}],\"plugins\":[" PLUGINS "]}"

static const char auth_config[] =
  "{\"_format_version\":\"1\"," NODE ",\"services\":["
  SERVICE ("key", "{\"name\":\"key-auth\",\"config\":{\"key_names\":[\"apikey\",\"x-api-key\"]}}") ","
  SERVICE ("key-hide", "{\"name\":\"key-auth\",\"config\":{\"hide_credentials\":true}}") ","
  SERVICE ("key-anon", "{\"name\":\"key-auth\",\"config\":{\"anonymous\":\"anon-1\"}}") ","
  SERVICE ("key-header-only", "{\"name\":\"key-auth\",\"config\":{\"key_in_query\":false,"
                              "\"run_on_preflight\":false}}") ","
  SERVICE ("basic", "{\"name\":\"basic-auth\"}") ","
  SERVICE ("basic-hide", "{\"name\":\"basic-auth\",\"config\":{\"hide_credentials\":true}}") ","
  SERVICE ("basic-anon", "{\"name\":\"basic-auth\",\"config\":{\"anonymous\":\"guest\"}}") ","
  SERVICE ("acl-allow", "{\"name\":\"key-auth\"},{\"name\":\"acl\",\"config\":{\"allow\":[\"admins\",\"ops\"]}}") ","
  SERVICE ("acl-deny", "{\"name\":\"key-auth\"},{\"name\":\"acl\",\"config\":{\"deny\":[\"banned\"]}}") ","
  SERVICE ("acl-hidden", "{\"name\":\"key-auth\"},{\"name\":\"acl\",\"config\":{\"deny\":[\"banned\"],"
                         "\"hide_groups_header\":true}}") ","
  SERVICE ("acl-alone", "{\"name\":\"acl\",\"config\":{\"allow\":[\"users\"]}}") ","
  SERVICE ("either", "{\"name\":\"key-auth\",\"config\":{\"anonymous\":\"guest\"}},"
                     "{\"name\":\"basic-auth\",\"config\":{\"anonymous\":\"guest\"}},"
                     "{\"name\":\"acl\",\"config\":{\"allow\":[\"admins\",\"users\"]}}")
  "]," CONSUMERS "}";

static PorticoTestGateway *shared;

/* The gateway all but the precedence test share, started on first use. */
static const char *
auth_gateway (void)
{
  if (shared == NULL)
    shared = portico_test_gateway_new (auth_config, NULL, NULL);
  return shared->addr;
}

/* @method @target with the extra header lines @headers ("Name: v\r\n"...),
 * asking the mock to echo. */
static PorticoTestResponse *
send_request (const char *addr, const char *method, const char *target, const char *headers)
{
  g_autofree char *request = g_strdup_printf ("%s %s HTTP/1.1\r\nHost: auth.test\r\nX-Mock-Echo: 1\r\n%s\r\n",
                                              method, target, headers != NULL ? headers : "");
  PorticoTestResponse *resp = portico_test_request (addr, request);
  g_assert_nonnull (resp);
  return resp;
}

/* Sends GET @target (with the header lines @headers) and checks the
 * refusal: @status, Kong's {"message": @message}, and @challenge in
 * WWW-Authenticate (NULL: none). The upstream never answered it. */
static void
expect_refused (const char *addr, const char *target, const char *headers, int status, const char *message,
                const char *challenge)
{
  g_autoptr (PorticoTestResponse) resp = send_request (addr, "GET", target, headers);
  portico_test_expect_message (resp, status, message);
  g_assert_cmpstr (portico_test_response_header (resp, "WWW-Authenticate"), ==, challenge);
  g_assert_cmpstr (portico_test_response_header (resp, "Server"), !=, "portico-mock");
}

#define NO_KEY "No API key found in request"
#define BAD_CREDENTIALS "Invalid authentication credentials"
#define KEY_CHALLENGE "Key realm=\"kong\""
#define BASIC_CHALLENGE "Basic realm=\"kong\""
#define FORBIDDEN "You cannot consume this service"

/* What the upstream received, from a 200 /echo answer. */
typedef struct {
  JsonParser *parser;
  JsonObject *echo;
} Echo;

static void
echo_clear (Echo *e)
{
  g_clear_object (&e->parser);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Echo, echo_clear)

/* The first value of request header @name the upstream got; NULL when none. */
static const char *
echo_header (const Echo *e, const char *name)
{
  JsonArray *headers = json_object_get_array_member (e->echo, "headers");
  for (guint i = 0; i < json_array_get_length (headers); i++)
    {
      JsonArray *pair = json_array_get_array_element (headers, i);
      if (g_ascii_strcasecmp (json_array_get_string_element (pair, 0), name) == 0)
        return json_array_get_string_element (pair, 1);
    }
  return NULL;
}

static const char *
echo_query (const Echo *e)
{
  return json_object_get_string_member_with_default (e->echo, "query", NULL);
}

/* The consumer headers the upstream should get. */
typedef struct {
  const char *username;
  const char *custom_id;
  const char *credential;
  gboolean anonymous;
} Who;

static const Who alice_by_key = { "alice", "crm-1", "alice:0", FALSE };
static const Who alice_by_password = { "alice", "crm-1", "alice", FALSE };
static const Who bob_by_key = { "bob", NULL, "bob:1", FALSE }; /* his second key */
static const Who bob_by_password = { "bob", NULL, "bobby", FALSE };
static const Who carol_by_key = { "carol", NULL, "carol:0", FALSE };
static const Who guest = { "guest", "anon-1", NULL, TRUE };
static const Who nobody = { NULL, NULL, NULL, FALSE };

/* Sends @method @target (with @headers) and checks it went upstream as
 * @who; @e is what the upstream received. */
static void
expect_proxied (Echo *e, const char *addr, const char *method, const char *target, const char *headers,
                const Who *who)
{
  g_autoptr (PorticoTestResponse) resp = send_request (addr, method, target, headers);
  g_autofree char *text = portico_test_response_body_string (resp);
  g_autoptr (GError) error = NULL;
  if (resp->status != 200)
    g_test_message ("%s %s: status %d: %s", method, target, resp->status, text);
  g_assert_cmpint (resp->status, ==, 200);
  e->parser = json_parser_new ();
  json_parser_load_from_data (e->parser, text, -1, &error);
  g_assert_no_error (error);
  e->echo = json_node_get_object (json_parser_get_root (e->parser));

  g_assert_cmpstr (echo_header (e, "X-Consumer-Username"), ==, who->username);
  g_assert_cmpstr (echo_header (e, "X-Consumer-ID"), ==, who->username != NULL ? who->username : who->custom_id);
  g_assert_cmpstr (echo_header (e, "X-Consumer-Custom-ID"), ==, who->custom_id);
  g_assert_cmpstr (echo_header (e, "X-Credential-Identifier"), ==, who->credential);
  g_assert_cmpstr (echo_header (e, "X-Anonymous-Consumer"), ==, who->anonymous ? "true" : NULL);
}

/* The X-Consumer-Groups the upstream got for GET @target with @headers. */
static void
expect_groups (const char *addr, const char *target, const char *headers, const Who *who, const char *groups)
{
  g_auto (Echo) e = { 0 };
  expect_proxied (&e, addr, "GET", target, headers, who);
  g_assert_cmpstr (echo_header (&e, "X-Consumer-Groups"), ==, groups);
}

/* ---- key-auth ---------------------------------------------------------------- */

static void
test_key_missing (void)
{
  g_test_summary ("No key (or an empty one): 401, Kong's message and its Key challenge.");
  const char *addr = auth_gateway ();
  expect_refused (addr, "/key/echo", NULL, 401, NO_KEY, KEY_CHALLENGE);
  expect_refused (addr, "/key/echo", "apikey: \r\n", 401, NO_KEY, KEY_CHALLENGE);
}

static void
test_key_invalid (void)
{
  g_test_summary ("An unknown key: 401 with the challenge. Keys are case-sensitive.");
  const char *addr = auth_gateway ();
  expect_refused (addr, "/key/echo", "apikey: not-a-key\r\n", 401, BAD_CREDENTIALS, KEY_CHALLENGE);
  expect_refused (addr, "/key/echo?apikey=ALICE-KEY", NULL, 401, BAD_CREDENTIALS, KEY_CHALLENGE);
}

static void
test_key_header (void)
{
  g_test_summary ("A good key in a header: proxied, the upstream sees the consumer headers (the "
                  "credential named by consumer and position, not by the key), and the key itself, "
                  "since hide_credentials is off. Consumer headers the client sent are replaced.");
  const char *addr = auth_gateway ();
  g_auto (Echo) e = { 0 };
  expect_proxied (&e, addr, "GET", "/key/echo",
                  "ApiKey: alice-key\r\nX-Consumer-Username: root\r\nX-Anonymous-Consumer: true\r\n", &alice_by_key);
  g_assert_cmpstr (echo_header (&e, "apikey"), ==, "alice-key");

  /* The second key name. */
  g_auto (Echo) e2 = { 0 };
  expect_proxied (&e2, addr, "GET", "/key/echo", "X-API-Key: bob-key\r\n", &bob_by_key);
}

static void
test_key_query (void)
{
  g_test_summary ("A key in the query (percent-decoded) authenticates; the query goes upstream "
                  "unchanged. A key given twice is refused.");
  const char *addr = auth_gateway ();
  g_auto (Echo) e = { 0 };
  expect_proxied (&e, addr, "GET", "/key/echo?a=1&apikey=bob%2Dkey&b=2", NULL, &bob_by_key);
  g_assert_cmpstr (echo_query (&e), ==, "a=1&apikey=bob%2Dkey&b=2");

  expect_refused (addr, "/key/echo?apikey=bob-key&apikey=alice-key", NULL, 401, "Duplicate API key found",
                  KEY_CHALLENGE);
  expect_refused (addr, "/key/echo", "apikey: bob-key\r\napikey: bob-key\r\n", 401, "Duplicate API key found",
                  KEY_CHALLENGE);
}

static void
test_key_hide_credentials (void)
{
  g_test_summary ("hide_credentials: the upstream gets neither the key's header nor its query "
                  "argument; the rest of the request is unchanged.");
  const char *addr = auth_gateway ();
  g_auto (Echo) e = { 0 };
  expect_proxied (&e, addr, "GET", "/key-hide/echo?x=1", "apikey: alice-key\r\nX-Other: kept\r\n", &alice_by_key);
  g_assert_null (echo_header (&e, "apikey"));
  g_assert_cmpstr (echo_header (&e, "X-Other"), ==, "kept");
  g_assert_cmpstr (echo_query (&e), ==, "x=1");

  g_auto (Echo) eq = { 0 };
  expect_proxied (&eq, addr, "GET", "/key-hide/echo?a=1&apikey=alice-key&b=2", NULL, &alice_by_key);
  g_assert_cmpstr (echo_query (&eq), ==, "a=1&b=2");
}

static void
test_key_anonymous (void)
{
  g_test_summary ("anonymous (here a custom_id): a missing or a wrong key goes upstream as that "
                  "consumer, flagged anonymous, with no credential; a good key still wins.");
  const char *addr = auth_gateway ();
  g_auto (Echo) missing = { 0 }, wrong = { 0 }, good = { 0 };
  expect_proxied (&missing, addr, "GET", "/key-anon/echo", NULL, &guest);
  expect_proxied (&wrong, addr, "GET", "/key-anon/echo", "apikey: wrong\r\n", &guest);
  expect_proxied (&good, addr, "GET", "/key-anon/echo", "apikey: carol-key\r\n", &carol_by_key);
}

static void
test_key_preflight_and_header_only (void)
{
  g_test_summary ("run_on_preflight false lets OPTIONS through unauthenticated (other methods are "
                  "still checked); key_in_query false ignores a key in the query.");
  const char *addr = auth_gateway ();
  g_auto (Echo) options = { 0 }, header = { 0 };
  expect_proxied (&options, addr, "OPTIONS", "/key-header-only/echo", NULL, &nobody);
  g_assert_cmpstr (json_object_get_string_member (options.echo, "method"), ==, "OPTIONS");
  expect_refused (addr, "/key-header-only/echo?apikey=alice-key", NULL, 401, NO_KEY, KEY_CHALLENGE);
  expect_proxied (&header, addr, "GET", "/key-header-only/echo", "apikey: alice-key\r\n", &alice_by_key);
}

/* ---- basic-auth ------------------------------------------------------------- */

/* "@name: Basic base64(@userpass)\r\n" */
static char *
basic_header (const char *name, const char *userpass)
{
  g_autofree char *b64 = g_base64_encode ((const guchar *) userpass, strlen (userpass));
  return g_strdup_printf ("%s: Basic %s\r\n", name, b64);
}

static void
test_basic_missing_and_invalid (void)
{
  g_test_summary ("No Authorization: 401 Unauthorized with the Basic challenge; a wrong password, "
                  "an unknown user or a header that is not Basic: 401 Invalid authentication credentials.");
  const char *addr = auth_gateway ();
  expect_refused (addr, "/basic/echo", NULL, 401, "Unauthorized", BASIC_CHALLENGE);

  const char *const bad[] = { "alice:wonder", "alice:wonder:land ", "mallory:wonder:land", "Alice:wonder:land" };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *h = basic_header ("Authorization", bad[i]);
      expect_refused (addr, "/basic/echo", h, 401, BAD_CREDENTIALS, BASIC_CHALLENGE);
    }
  const char *const garbage[] = { "Authorization: Bearer abc\r\n", "Authorization: Basic %%%\r\n",
                                  "Authorization: Basic\r\n" };
  for (guint i = 0; i < G_N_ELEMENTS (garbage); i++)
    expect_refused (addr, "/basic/echo", garbage[i], 401, BAD_CREDENTIALS, BASIC_CHALLENGE);
}

static void
test_basic_good (void)
{
  g_test_summary ("Good credentials (a password with colons): proxied as the consumer, the "
                  "credential named by its username; Authorization goes upstream since "
                  "hide_credentials is off. Proxy-Authorization works too.");
  const char *addr = auth_gateway ();
  g_autofree char *h = basic_header ("Authorization", "alice:wonder:land");
  g_auto (Echo) e = { 0 }, ep = { 0 };
  expect_proxied (&e, addr, "GET", "/basic/echo", h, &alice_by_password);
  g_assert_true (g_str_has_prefix (echo_header (&e, "Authorization"), "Basic "));

  g_autofree char *bobby = basic_header ("Proxy-Authorization", "bobby:hunter2");
  expect_proxied (&ep, addr, "GET", "/basic/echo", bobby, &bob_by_password);
}

static void
test_basic_hide_and_anonymous (void)
{
  g_test_summary ("hide_credentials removes the Authorization header read; anonymous stands in "
                  "for missing or wrong credentials.");
  const char *addr = auth_gateway ();
  g_autofree char *h = basic_header ("Authorization", "alice:wonder:land");
  g_autofree char *headers = g_strconcat (h, "X-Other: kept\r\n", NULL);
  g_auto (Echo) e = { 0 }, missing = { 0 }, wrong = { 0 };
  expect_proxied (&e, addr, "GET", "/basic-hide/echo", headers, &alice_by_password);
  g_assert_null (echo_header (&e, "Authorization"));
  g_assert_cmpstr (echo_header (&e, "X-Other"), ==, "kept");

  g_autofree char *bad = basic_header ("Authorization", "alice:nope");
  expect_proxied (&missing, addr, "GET", "/basic-anon/echo", NULL, &guest);
  expect_proxied (&wrong, addr, "GET", "/basic-anon/echo", bad, &guest);
}

/* ---- acl ------------------------------------------------------------------------ */

static void
test_acl_allow (void)
{
  g_test_summary ("An allow list: a consumer in a listed group goes upstream with all its groups "
                  "in X-Consumer-Groups; one in no listed group gets 403.");
  const char *addr = auth_gateway ();
  expect_groups (addr, "/acl-allow/echo", "apikey: alice-key\r\n", &alice_by_key, "admins, ops");
  expect_refused (addr, "/acl-allow/echo", "apikey: bob-key\r\n", 403, FORBIDDEN, NULL);
  /* key-auth answers first for a request without a key. */
  expect_refused (addr, "/acl-allow/echo", NULL, 401, NO_KEY, KEY_CHALLENGE);
}

static void
test_acl_deny (void)
{
  g_test_summary ("A deny list: a consumer in a listed group gets 403, others go upstream with "
                  "their groups (a client's own X-Consumer-Groups replaced); hide_groups_header "
                  "sends none.");
  const char *addr = auth_gateway ();
  expect_refused (addr, "/acl-deny/echo", "apikey: carol-key\r\n", 403, FORBIDDEN, NULL);
  expect_groups (addr, "/acl-deny/echo", "apikey: bob-key\r\nX-Consumer-Groups: admins\r\n", &bob_by_key, "users");
  expect_groups (addr, "/acl-hidden/echo", "apikey: alice-key\r\n", &alice_by_key, NULL);
  expect_refused (addr, "/acl-hidden/echo", "apikey: carol-key\r\n", 403, FORBIDDEN, NULL);
}

static void
test_acl_no_consumer (void)
{
  g_test_summary ("acl without an authenticated consumer: 401 Unauthorized (no challenge).");
  expect_refused (auth_gateway (), "/acl-alone/echo", "apikey: bob-key\r\n", 401, "Unauthorized", NULL);
}

static void
test_acl_either_auth (void)
{
  g_test_summary ("key-auth and basic-auth both with anonymous are alternatives: either credential "
                  "authenticates, and acl judges whoever they found. The anonymous consumer, in no "
                  "group, gets 401 from the allow list (as Kong).");
  const char *addr = auth_gateway ();
  g_autofree char *basic = basic_header ("Authorization", "alice:wonder:land");
  expect_groups (addr, "/either/echo", basic, &alice_by_password, "admins, ops");
  g_autofree char *both = g_strconcat ("apikey: bob-key\r\n", basic, NULL);
  expect_groups (addr, "/either/echo", both, &bob_by_key, "users");
  expect_refused (addr, "/either/echo", NULL, 401, "Unauthorized", NULL);
}

static void
test_acl_consumer_scoped (void)
{
  g_test_summary ("A global acl (allow admins) and one scoped to bob (allow users): bob gets his "
                  "own instance, everyone else the global one. (Kong refuses acl on a consumer; "
                  "Portico allows it.)");
  static const char config[] =
    "{\"_format_version\":\"1\"," NODE ","
    "\"services\":[{\"name\":\"s\",\"url\":\"http://@UPSTREAM@\",\"routes\":[{\"name\":\"r\",\"paths\":[\"/\"]}]}],"
    CONSUMERS ","
    "\"plugins\":[{\"name\":\"key-auth\"},"
    "{\"name\":\"acl\",\"config\":{\"allow\":[\"admins\"]}},"
    "{\"name\":\"acl\",\"consumer\":\"bob\",\"config\":{\"allow\":[\"users\"]}}]}";
  g_autoptr (PorticoTestGateway) g = portico_test_gateway_new (config, NULL, NULL);
  const char *addr = g->addr;

  expect_groups (addr, "/echo", "apikey: alice-key\r\n", &alice_by_key, "admins, ops");
  expect_groups (addr, "/echo", "apikey: bob-key\r\n", &bob_by_key, "users");
  expect_refused (addr, "/echo", "apikey: carol-key\r\n", 403, FORBIDDEN, NULL);
}

/* ---- configuration errors ---------------------------------------------------- */

static void
test_config_refused (void)
{
  g_test_summary ("portico check refuses, at the plugin's JSON path: key_in_body true, an "
                  "anonymous consumer that does not exist, a key name that is no header name, an "
                  "acl with both or neither list.");
  const struct {
    const char *plugin;
    const char *field; /* the output names it after the plugin's path */
  } cases[] = {
    { "{\"name\":\"key-auth\",\"config\":{\"key_in_body\":true}}", "key_in_body" },
    { "{\"name\":\"key-auth\",\"config\":{\"anonymous\":\"nobody\"}}", "anonymous" },
    { "{\"name\":\"key-auth\",\"config\":{\"key_names\":[\"api key\"]}}", "key_names[0]" },
    { "{\"name\":\"key-auth\",\"config\":{\"key_names\":[]}}", "key_names" },
    { "{\"name\":\"basic-auth\",\"config\":{\"anonymous\":\"nobody\"}}", "anonymous" },
    { "{\"name\":\"acl\",\"config\":{\"allow\":[\"a\"],\"deny\":[\"b\"]}}", "allow, deny" },
    { "{\"name\":\"acl\",\"config\":{\"allow\":[]}}", "allow, deny" },
    { "{\"name\":\"acl\"}", "allow, deny" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *config = g_strdup_printf (
        "{\"_format_version\":\"1\",\"node\":{\"module_path\":[\"@MODULES@\"]},\"services\":[{\"name\":\"s\","
        "\"url\":\"http://@UPSTREAM@\",\"routes\":[{\"name\":\"r\",\"paths\":[\"/\"]}],\"plugins\":[%s]}],"
        CONSUMERS "}",
        cases[i].plugin);
      portico_test_check_config (config, "services[0].plugins[0].config", cases[i].field);
    }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/modules/key-auth/gateway/missing", test_key_missing);
  g_test_add_func ("/modules/key-auth/gateway/invalid", test_key_invalid);
  g_test_add_func ("/modules/key-auth/gateway/header", test_key_header);
  g_test_add_func ("/modules/key-auth/gateway/query", test_key_query);
  g_test_add_func ("/modules/key-auth/gateway/hide-credentials", test_key_hide_credentials);
  g_test_add_func ("/modules/key-auth/gateway/anonymous", test_key_anonymous);
  g_test_add_func ("/modules/key-auth/gateway/preflight-header-only", test_key_preflight_and_header_only);
  g_test_add_func ("/modules/basic-auth/gateway/missing-invalid", test_basic_missing_and_invalid);
  g_test_add_func ("/modules/basic-auth/gateway/good", test_basic_good);
  g_test_add_func ("/modules/basic-auth/gateway/hide-anonymous", test_basic_hide_and_anonymous);
  g_test_add_func ("/modules/acl/gateway/allow", test_acl_allow);
  g_test_add_func ("/modules/acl/gateway/deny", test_acl_deny);
  g_test_add_func ("/modules/acl/gateway/no-consumer", test_acl_no_consumer);
  g_test_add_func ("/modules/acl/gateway/either-auth", test_acl_either_auth);
  g_test_add_func ("/modules/acl/gateway/consumer-scoped", test_acl_consumer_scoped);
  g_test_add_func ("/modules/auth/config-refused", test_config_refused);
  int status = g_test_run ();
  g_clear_pointer (&shared, portico_test_gateway_free);
  return status;
}
