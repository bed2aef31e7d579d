/* probe: a fixture module that exercises the edges of the module API.
 *
 * Everything it does is chosen by its config, and everything it sees is
 * reported back in response headers, so an integration test can tell:
 *   X-Probe-Phases    the phases its handlers ran in, in order
 *   X-Probe-Tag       which instance ran (its "tag": shows scope precedence)
 *   X-Probe-Consumer  the consumer it saw in header_filter
 *   X-Probe-Misuse    what the API said when header_filter set a request header
 *   X-Probe-Log-Misuses  how many log-phase misuses earlier requests recorded
 *   X-Probe-Spans     how many handler calls the core had timed before header_filter
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "pdk/portico.h"

static const char *const phase_names[] = { "rewrite", "access", "balancer", "header_filter",
                                           "body_filter", "log", "", NULL };

static const PorticoSchemaField probe_schema[] = {
  { .name = "tag", .type = PORTICO_FIELD_STRING, .default_json = "\"probe\"" },
  { .name = "respond_in", .type = PORTICO_FIELD_STRING, .default_json = "\"\"", .allowed = phase_names },
  { .name = "respond_status", .type = PORTICO_FIELD_INTEGER, .default_json = "418", .min = 200, .max = 599 },
  { .name = "error_in", .type = PORTICO_FIELD_STRING, .default_json = "\"\"", .allowed = phase_names },
  { .name = "yield_ms", .type = PORTICO_FIELD_INTEGER, .default_json = "0", .min = 0, .max = 60000 },
  { .name = "yield_io", .type = PORTICO_FIELD_BOOLEAN, .default_json = "false" },
  { .name = "rewrite_path", .type = PORTICO_FIELD_STRING },
  { .name = "upstream_path", .type = PORTICO_FIELD_STRING },
  { .name = "set_headers", .type = PORTICO_FIELD_STRING_ARRAY, .default_json = "[]" },
  { .name = "remove_headers", .type = PORTICO_FIELD_STRING_ARRAY, .default_json = "[]" },
  { .name = "set_query", .type = PORTICO_FIELD_STRING_ARRAY, .default_json = "[]" },
  { .name = "method", .type = PORTICO_FIELD_STRING },
  { .name = "upper_body", .type = PORTICO_FIELD_BOOLEAN, .default_json = "false" },
  { .name = "append_body", .type = PORTICO_FIELD_STRING },
  { .name = "set_status", .type = PORTICO_FIELD_INTEGER, .default_json = "0", .min = 0, .max = 599 },
  { .name = "max_body", .type = PORTICO_FIELD_INTEGER, .default_json = "0", .min = 0, .max = 1 << 30 },
  { NULL },
};

typedef struct {
  char *tag;
  char *respond_in;
  int respond_status;
  char *error_in;
  guint yield_ms;
  gboolean yield_io;
  char *rewrite_path;
  char *upstream_path;
  GStrv set_headers;
  GStrv remove_headers;
  GStrv set_query;
  char *method;
  gboolean upper_body;
  char *append_body;
  int set_status;
  guint64 max_body;
} Probe;

typedef struct {
  GString *phases;
  gboolean yielded;
} ProbeCtx;

static char *
opt_string (JsonObject *config, const char *name)
{
  return json_object_has_member (config, name) ? g_strdup (json_object_get_string_member (config, name)) : NULL;
}

static GStrv
strings (JsonObject *config, const char *name)
{
  JsonArray *a = json_object_get_array_member (config, name);
  GStrv v = g_new0 (char *, json_array_get_length (a) + 1);
  for (guint i = 0; i < json_array_get_length (a); i++)
    v[i] = g_strdup (json_array_get_string_element (a, i));
  return v;
}

static gpointer
probe_configure (JsonObject *config, const PorticoGateway *gateway, GError **error)
{
  Probe *p = g_new0 (Probe, 1);
  p->tag = opt_string (config, "tag");
  p->respond_in = opt_string (config, "respond_in");
  p->respond_status = (int) json_object_get_int_member (config, "respond_status");
  p->error_in = opt_string (config, "error_in");
  p->yield_ms = (guint) json_object_get_int_member (config, "yield_ms");
  p->yield_io = json_object_get_boolean_member (config, "yield_io");
  p->rewrite_path = opt_string (config, "rewrite_path");
  p->upstream_path = opt_string (config, "upstream_path");
  p->set_headers = strings (config, "set_headers");
  p->remove_headers = strings (config, "remove_headers");
  p->set_query = strings (config, "set_query");
  p->method = opt_string (config, "method");
  p->upper_body = json_object_get_boolean_member (config, "upper_body");
  p->append_body = opt_string (config, "append_body");
  p->set_status = (int) json_object_get_int_member (config, "set_status");
  p->max_body = (guint64) json_object_get_int_member (config, "max_body");
  return p;
}

static void
probe_free (gpointer data)
{
  Probe *p = data;
  g_free (p->tag);
  g_free (p->respond_in);
  g_free (p->error_in);
  g_free (p->rewrite_path);
  g_free (p->upstream_path);
  g_strfreev (p->set_headers);
  g_strfreev (p->remove_headers);
  g_strfreev (p->set_query);
  g_free (p->method);
  g_free (p->append_body);
  g_free (p);
}

static void
ctx_free (gpointer data)
{
  ProbeCtx *c = data;
  g_string_free (c->phases, TRUE);
  g_free (c);
}

static ProbeCtx *
ctx_of (PorticoRequest *r)
{
  ProbeCtx *c = portico_request_get_ctx (r);
  if (c == NULL)
    {
      c = g_new0 (ProbeCtx, 1);
      c->phases = g_string_new (NULL);
      portico_request_set_ctx (r, c, ctx_free);
    }
  return c;
}

/* Notes the phase, then does what the config says for it. */
static PorticoResult
visit (PorticoRequest *r, Probe *p, const char *phase)
{
  ProbeCtx *c = ctx_of (r);
  if (!c->yielded || strcmp (phase, "access") != 0)
    {
      /* body_filter runs per chunk: noted once */
      gboolean seen = strstr (c->phases->str, phase) != NULL && strcmp (phase, "body_filter") == 0;
      if (!seen)
        g_string_append_printf (c->phases, "%s%s", c->phases->len ? "," : "", phase);
    }
  if (g_strcmp0 (p->error_in, phase) == 0)
    return PORTICO_ERROR;
  if (g_strcmp0 (p->respond_in, phase) == 0)
    {
      g_autofree char *message = g_strdup_printf ("probe %s responds in %s", p->tag, phase);
      /* In body_filter and log this is misuse: the call fails, the result is refused. */
      portico_response_exit_message (r, p->respond_status, message);
      return PORTICO_RESPOND;
    }
  return PORTICO_CONTINUE;
}

static PorticoResult
probe_rewrite (PorticoRequest *r, gpointer conf)
{
  Probe *p = conf;
  PorticoResult res = visit (r, p, "rewrite");
  if (res == PORTICO_CONTINUE && p->rewrite_path != NULL)
    portico_request_set_path (r, p->rewrite_path);
  return res;
}

typedef struct {
  int fds[2];
  PorticoRequest *r;
} IoWait;

static gboolean
io_ready (int fd, GIOCondition condition, gpointer data)
{
  IoWait *w = data;
  char byte;
  if (read (fd, &byte, 1) == 1)
    portico_request_resume (w->r);
  return FALSE;
}

static void
io_wait_free (gpointer data)
{
  IoWait *w = data;
  close (w->fds[0]);
  close (w->fds[1]);
  g_free (w);
}

static gboolean
io_write_later (gpointer data)
{
  IoWait *w = data;
  if (write (w->fds[1], "x", 1) != 1)
    g_warning ("probe: cannot write to its pipe");
  return FALSE;
}

static PorticoResult
probe_access (PorticoRequest *r, gpointer conf)
{
  Probe *p = conf;
  ProbeCtx *c = ctx_of (r);
  PorticoResult res = visit (r, p, "access");
  if (res != PORTICO_CONTINUE)
    return res;
  if (!c->yielded && (p->yield_ms > 0 || p->yield_io))
    {
      c->yielded = TRUE;
      if (p->yield_io)
        {
          /* An "I/O completion": a pipe that becomes readable later. */
          IoWait *w = g_new0 (IoWait, 1);
          w->r = r;
          if (pipe2 (w->fds, O_CLOEXEC | O_NONBLOCK) != 0)
            {
              g_free (w);
              return PORTICO_ERROR;
            }
          portico_fd_watch (w->fds[0], G_IO_IN, io_ready, w, io_wait_free);
          portico_timer_add ("probe-io", 30, 0, io_write_later, w, NULL);
        }
      else
        portico_request_yield_for (r, p->yield_ms);
      return PORTICO_YIELD;
    }
  for (char **h = p->set_headers; *h; h++)
    {
      g_auto (GStrv) kv = g_strsplit (*h, ":", 2);
      if (kv[1] != NULL)
        portico_request_set_header (r, kv[0], g_strstrip (kv[1]));
    }
  for (char **h = p->remove_headers; *h; h++)
    portico_request_remove_header (r, *h);
  for (char **q = p->set_query; *q; q++)
    {
      g_auto (GStrv) kv = g_strsplit (*q, "=", 2);
      if (kv[1] != NULL)
        portico_request_set_query_arg (r, kv[0], kv[1]);
    }
  if (p->method)
    portico_request_set_method (r, p->method);
  if (p->upstream_path)
    portico_request_set_path (r, p->upstream_path);
  if (p->max_body > 0)
    portico_request_set_max_body (r, p->max_body);
  portico_response_set_header (r, "X-Probe-Tag", p->tag);
  return PORTICO_CONTINUE;
}

static PorticoResult
probe_balancer (PorticoRequest *r, gpointer conf)
{
  return visit (r, conf, "balancer");
}

static PorticoResult
probe_header_filter (PorticoRequest *r, gpointer conf)
{
  Probe *p = conf;
  ProbeCtx *c = ctx_of (r);
  PorticoResult res = visit (r, p, "header_filter");
  if (res != PORTICO_CONTINUE)
    return res;
  portico_response_set_header (r, "X-Probe-Phases", c->phases->str);
  portico_response_set_header (r, "X-Probe-Tag", p->tag);
  const PorticoConsumer *consumer = portico_request_get_consumer (r);
  portico_response_set_header (r, "X-Probe-Consumer", consumer ? portico_consumer_get_id (consumer) : "-");
  if (!portico_request_set_header (r, "X-Too-Late", "1"))
    portico_response_set_header (r, "X-Probe-Misuse", portico_request_last_error (r));
  gint64 misuses = 0;
  portico_shared_get ("probe:log-misuses", &misuses, NULL);
  g_autofree char *n = g_strdup_printf ("%" G_GINT64_FORMAT, misuses);
  portico_response_set_header (r, "X-Probe-Log-Misuses", n);
  g_autofree char *spans = g_strdup_printf ("%u", portico_request_n_spans (r));
  portico_response_set_header (r, "X-Probe-Spans", spans);
  if (p->set_status)
    portico_response_set_status (r, p->set_status);
  if (p->append_body)
    portico_response_remove_header (r, "Content-Length");
  return PORTICO_CONTINUE;
}

static PorticoResult
probe_body_filter (PorticoRequest *r, gpointer conf)
{
  Probe *p = conf;
  PorticoResult res = visit (r, p, "body_filter");
  if (res != PORTICO_CONTINUE)
    return res;
  gsize len;
  gboolean last;
  const char *chunk = portico_response_get_chunk (r, &len, &last);
  if (!p->upper_body && (p->append_body == NULL || !last))
    return PORTICO_CONTINUE;
  g_autoptr (GString) out = g_string_new_len (chunk, (gssize) len);
  if (p->upper_body)
    for (gsize i = 0; i < out->len; i++)
      out->str[i] = g_ascii_toupper (out->str[i]);
  if (p->append_body && last)
    g_string_append (out, p->append_body);
  portico_response_set_chunk (r, out->str, out->len);
  return PORTICO_CONTINUE;
}

static PorticoResult
probe_log (PorticoRequest *r, gpointer conf)
{
  PorticoResult res = visit (r, conf, "log");
  /* Too late to change the request: the call must fail and say so. */
  if (!portico_request_set_header (r, "X-Too-Late", "1") && strstr (portico_request_last_error (r), "log"))
    portico_shared_incr ("probe:log-misuses", 1, 0, NULL);
  return res;
}

G_MODULE_EXPORT const PorticoModule portico_module = {
  .abi_version = PORTICO_MODULE_ABI_VERSION,
  .name = "probe",
  .version = "1.0.0",
  .priority = 500,
  .schema = probe_schema,
  .configure = probe_configure,
  .free_config = probe_free,
  .rewrite = probe_rewrite,
  .access = probe_access,
  .balancer = probe_balancer,
  .header_filter = probe_header_filter,
  .body_filter = probe_body_filter,
  .log = probe_log,
};
