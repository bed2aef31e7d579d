/* sni-pick: a fixture module for the certificate phase.
 *
 * In certificate it notes the SNI, picks its config's "certificate" for
 * "pick_sni", refuses "refuse_sni" (PORTICO_RESPOND) and "error_sni"
 * (PORTICO_ERROR), yields for "yield_sni", and checks that the calls that
 * need an HTTP request fail cleanly there. Its header_filter reports what
 * this worker's handshakes saw, so a test with one worker can tell:
 *   X-Sni-Seen    the SNI of the last handshake the phase ran for ("-": none)
 *   X-Sni-Calls   how many times the phase ran
 *   X-Sni-Freed   how many of those handshakes' contexts were freed
 *   X-Sni-Checks  "ok", or the first check that failed
 *   X-Sni-Now     portico_tls_sni() in header_filter ("-": NULL)
 */
#include <string.h>
#include "pdk/portico.h"

static const PorticoSchemaField sni_pick_schema[] = {
  { .name = "pick_sni", .type = PORTICO_FIELD_STRING, .default_json = "\"\"" },
  { .name = "certificate", .type = PORTICO_FIELD_STRING, .default_json = "\"\"" },
  { .name = "refuse_sni", .type = PORTICO_FIELD_STRING, .default_json = "\"\"" },
  { .name = "error_sni", .type = PORTICO_FIELD_STRING, .default_json = "\"\"" },
  { .name = "yield_sni", .type = PORTICO_FIELD_STRING, .default_json = "\"\"" },
  { NULL },
};

typedef struct {
  char *pick_sni;
  char *certificate;
  char *refuse_sni;
  char *error_sni;
  char *yield_sni;
} SniPick;

/* What this worker's handshakes saw. */
static struct {
  char *last_sni;
  guint calls;
  guint freed;
  const char *checks;
} seen = { NULL, 0, 0, "ok" };

static gpointer
sni_pick_configure (JsonObject *config, const PorticoGateway *gateway, GError **error)
{
  SniPick *p = g_new0 (SniPick, 1);
  p->pick_sni = g_strdup (json_object_get_string_member (config, "pick_sni"));
  p->certificate = g_strdup (json_object_get_string_member (config, "certificate"));
  p->refuse_sni = g_strdup (json_object_get_string_member (config, "refuse_sni"));
  p->error_sni = g_strdup (json_object_get_string_member (config, "error_sni"));
  p->yield_sni = g_strdup (json_object_get_string_member (config, "yield_sni"));
  return p;
}

static void
sni_pick_free (gpointer data)
{
  SniPick *p = data;
  g_free (p->pick_sni);
  g_free (p->certificate);
  g_free (p->refuse_sni);
  g_free (p->error_sni);
  g_free (p->yield_sni);
  g_free (p);
}

static void
ctx_freed (gpointer data)
{
  seen.freed++;
}

/* The first check that fails, or NULL. */
static const char *
check_api (PorticoRequest *r)
{
  if (portico_request_get_phase (r) != PORTICO_PHASE_CERTIFICATE)
    return "phase";
  if (g_strcmp0 (portico_request_get_client_ip (r), "127.0.0.1") != 0 || portico_request_get_port (r) == 0)
    return "client address or port";
  if (portico_request_get_method (r) != NULL || portico_request_get_path (r) != NULL ||
      portico_request_get_raw_query (r) != NULL || portico_request_get_query_arg (r, "a") != NULL)
    return "request line";
  if (portico_request_get_header (r, "Host") != NULL || portico_request_get_http_minor (r) != -1 ||
      portico_request_get_body_length (r) != 0 || portico_request_get_route_name (r) != NULL)
    return "request head";
  if (portico_request_set_header (r, "X-No", "1") || portico_response_set_header (r, "X-No", "1") ||
      portico_response_exit_message (r, 403, "no") || portico_response_get_header (r, "Server") != NULL)
    return "edits";
  if (portico_request_yield_for (r, 10))
    return "yield_for";
  if (portico_tls_set_certificate (r, "no-such-certificate") ||
      strstr (portico_request_last_error (r), "no certificate has that id") == NULL)
    return "unknown certificate id";
  return NULL;
}

static PorticoResult
sni_pick_certificate (PorticoRequest *r, gpointer conf)
{
  SniPick *p = conf;
  const char *sni = portico_tls_sni (r);
  const char *failed = check_api (r);
  if (failed != NULL && g_strcmp0 (seen.checks, "ok") == 0)
    seen.checks = failed;
  portico_request_set_ctx (r, GINT_TO_POINTER (1), ctx_freed);
  g_free (seen.last_sni);
  seen.last_sni = g_strdup (sni ? sni : "-");
  seen.calls++;
  if (sni == NULL)
    return PORTICO_CONTINUE;
  if (strcmp (sni, p->refuse_sni) == 0)
    return PORTICO_RESPOND;
  if (strcmp (sni, p->error_sni) == 0)
    return PORTICO_ERROR;
  if (strcmp (sni, p->yield_sni) == 0)
    return PORTICO_YIELD;
  if (strcmp (sni, p->pick_sni) == 0 && !portico_tls_set_certificate (r, p->certificate))
    return PORTICO_ERROR;
  return PORTICO_CONTINUE;
}

static PorticoResult
sni_pick_header_filter (PorticoRequest *r, gpointer conf)
{
  g_autofree char *calls = g_strdup_printf ("%u", seen.calls);
  g_autofree char *freed = g_strdup_printf ("%u", seen.freed);
  const char *now = portico_tls_sni (r);
  portico_response_set_header (r, "X-Sni-Seen", seen.last_sni ? seen.last_sni : "-");
  portico_response_set_header (r, "X-Sni-Calls", calls);
  portico_response_set_header (r, "X-Sni-Freed", freed);
  portico_response_set_header (r, "X-Sni-Checks", seen.checks);
  portico_response_set_header (r, "X-Sni-Now", now ? now : "-");
  return PORTICO_CONTINUE;
}

G_MODULE_EXPORT const PorticoModule portico_module = {
  .abi_version = PORTICO_MODULE_ABI_VERSION,
  .name = "sni-pick",
  .version = "1.0.0",
  .priority = 600,
  .schema = sni_pick_schema,
  .configure = sni_pick_configure,
  .free_config = sni_pick_free,
  .certificate = sni_pick_certificate,
  .header_filter = sni_pick_header_filter,
};
