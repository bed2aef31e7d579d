/* correlation-id: give each request an id in a header, keep the client's
 * own, and optionally echo it in the response (Kong's correlation-id,
 * priority 100001 as in Kong 3.x: it runs before every other module, so
 * they all see the id).
 *
 * The generator's state lives in the instance's configuration: configure
 * runs in the master, each worker gets a copy-on-write copy at the fork and
 * reseeds it in init_worker, so every worker has its own uuid and
 * sequence, untouched by the others, with no lock and no global.
 *
 * "tracker" follows Kong's six dash-separated fields, with what the PDK
 * knows in place of what it does not: the client's address where nginx
 * has the server's, the client's port (which, with that address, names
 * the connection) where nginx has its connection serial number, and the
 * worker's request number where nginx has the connection's.
 */
#include "pdk/portico.h"

#include <gio/gio.h>

#include "correlation-id-logic.h"

typedef struct {
  char *header_name;
  CorrelationIdGenerator generator;
  gboolean echo_downstream;
  CorrelationIdState state; /* per worker, after the fork */
} CorrelationIdConf;

static const char *const correlation_id_generators[] = { "uuid", "uuid#counter", "tracker", NULL };

static const PorticoSchemaField correlation_id_schema[] = {
  { .name = "header_name", .type = PORTICO_FIELD_STRING, .default_json = "\"Kong-Request-ID\"",
    .description = "The request (and, with echo_downstream, response) header that carries the id." },
  { .name = "generator", .type = PORTICO_FIELD_STRING, .default_json = "\"uuid#counter\"",
    .allowed = correlation_id_generators,
    .description = "uuid: a random uuid per request; uuid#counter: the worker's uuid and a counter; "
                   "tracker: client address, port, pid, client port, request number, time." },
  { .name = "echo_downstream", .type = PORTICO_FIELD_BOOLEAN, .default_json = "false",
    .description = "Also send the id to the client, in the response." },
  { NULL },
};

static void
correlation_id_free_config (gpointer data)
{
  CorrelationIdConf *conf = data;
  g_free (conf->header_name);
  g_free (conf);
}

static gpointer
correlation_id_configure (JsonObject *config, const PorticoGateway *gateway, GError **error)
{
  const char *header_name = json_object_get_string_member (config, "header_name");
  const char *generator = json_object_get_string_member (config, "generator");
  CorrelationIdConf *conf = g_new0 (CorrelationIdConf, 1);

  if (header_name == NULL || *header_name == '\0')
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "header_name: must not be empty");
  else if (!correlation_id_generator_from_string (generator, &conf->generator))
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                 "generator: expected one of \"uuid\", \"uuid#counter\", \"tracker\"");
  else
    {
      conf->header_name = g_strdup (header_name);
      conf->echo_downstream = json_object_get_boolean_member (config, "echo_downstream");
      return conf;
    }
  correlation_id_free_config (conf);
  return NULL;
}

static PorticoResult
correlation_id_init_worker (gpointer data)
{
  CorrelationIdConf *conf = data;
  correlation_id_state_seed (&conf->state);
  return PORTICO_CONTINUE;
}

/* A new id for @r, in @out. */
static void
correlation_id_generate (CorrelationIdConf *conf, PorticoRequest *r, char out[CORRELATION_ID_MAX])
{
  CorrelationIdTracker tracker = { 0 };
  if (conf->generator == CORRELATION_ID_TRACKER)
    {
      if (!conf->state.seeded)
        correlation_id_state_seed (&conf->state);
      tracker = (CorrelationIdTracker){
        .client_ip = portico_request_get_client_ip (r),
        .server_port = portico_request_get_port (r),
        .pid = conf->state.pid,
        .client_port = portico_request_get_client_port (r),
        .request_id = portico_request_get_id (r),
        .now_us = g_get_real_time (),
      };
    }
  correlation_id_next (&conf->state, conf->generator, &tracker, out);
}

static PorticoResult
correlation_id_access (PorticoRequest *r, gpointer data)
{
  CorrelationIdConf *conf = data;
  const char *id = portico_request_get_header (r, conf->header_name);
  if (id == NULL || *id == '\0')
    {
      char buf[CORRELATION_ID_MAX];
      correlation_id_generate (conf, r, buf);
      portico_request_set_header (r, conf->header_name, buf);
    }
  return PORTICO_CONTINUE;
}

static PorticoResult
correlation_id_header_filter (PorticoRequest *r, gpointer data)
{
  CorrelationIdConf *conf = data;
  if (!conf->echo_downstream)
    return PORTICO_CONTINUE;

  /* Access set it, or the client sent it; a request answered before
   * access (no route) gets a fresh one, as in Kong. */
  const char *id = portico_request_get_header (r, conf->header_name);
  char buf[CORRELATION_ID_MAX];
  if (id == NULL || *id == '\0')
    {
      correlation_id_generate (conf, r, buf);
      id = buf;
    }
  portico_response_set_header (r, conf->header_name, id);
  return PORTICO_CONTINUE;
}

G_MODULE_EXPORT const PorticoModule portico_module = {
  .abi_version = PORTICO_MODULE_ABI_VERSION,
  .name = "correlation-id",
  .version = "1.0.0",
  .priority = 100001,
  .schema = correlation_id_schema,
  .configure = correlation_id_configure,
  .free_config = correlation_id_free_config,
  .init_worker = correlation_id_init_worker,
  .access = correlation_id_access,
  .header_filter = correlation_id_header_filter,
};
