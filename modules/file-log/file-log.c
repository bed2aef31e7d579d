/* file-log.c: Kong's file-log. One JSON line per request, appended to a
 * file.
 *
 * The worker must not wait on the disk for every request, so the log
 * handler only appends the line to this worker's buffer; a recurring timer
 * writes the buffer every 100 ms, and so does the handler when the buffer
 * passes 64 KiB. exit_worker writes what is left, so a graceful stop loses
 * no line. Each plugin instance has its own buffer and descriptor in each
 * worker (the configure'd state is copied by fork); file-log-logic.c says
 * why lines from several workers never interleave.
 */
#include "pdk/portico.h"

#include <string.h>

#include "file-log-logic.h"

#define FILE_LOG_FLUSH_MS 100

typedef struct {
  FileLogBuffer buffer;
  FileLogSerializer serializer;
  PorticoTimerEntry *timer;
} FileLog;

static const PorticoSchemaField file_log_schema[] = {
  { .name = "path", .type = PORTICO_FIELD_STRING, .required = TRUE,
    .description = "The file the lines are appended to, created when missing." },
  { .name = "reopen", .type = PORTICO_FIELD_BOOLEAN, .default_json = "false",
    .description = "Close and reopen the file on every write, so a rotated file is let go at once." },
  { NULL },
};

static const char *const phase_names[PORTICO_N_PHASES] = {
  "init_worker", "certificate", "rewrite", "access", "balancer", "header_filter", "body_filter", "log",
};

static gpointer
file_log_configure (JsonObject *config, const PorticoGateway *gateway, GError **error)
{
  const char *path = json_object_get_string_member (config, "path");

  /* Kong's rule for the path, kept so a Kong file moves over as is. */
  if (path[0] == '\0' || strpbrk (path, "*&%\\`") != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "path: not a valid filename: \"%s\"", path);
      return NULL;
    }
  if (!file_log_path_check (path, error))
    return NULL;

  FileLog *fl = g_new0 (FileLog, 1);
  file_log_buffer_init (&fl->buffer, path, json_object_get_boolean_member (config, "reopen"),
                        FILE_LOG_FLUSH_BYTES);
  file_log_serializer_init (&fl->serializer);
  return fl;
}

static void
file_log_free_config (gpointer conf)
{
  FileLog *fl = conf;

  file_log_buffer_clear (&fl->buffer);
  file_log_serializer_clear (&fl->serializer);
  g_free (fl);
}

static void
file_log_flush (FileLog *fl)
{
  g_autoptr (GError) error = NULL;
  guint lines = fl->buffer.pending;

  if (!file_log_buffer_flush (&fl->buffer, &error))
    portico_log (NULL, G_LOG_LEVEL_WARNING, "%s; %u lines lost (%" G_GUINT64_FORMAT " so far)", error->message,
                 lines, fl->buffer.dropped);
}

static gboolean
file_log_on_timer (gpointer data)
{
  file_log_flush (data);
  return TRUE;
}

static PorticoResult
file_log_init_worker (gpointer conf)
{
  FileLog *fl = conf;
  g_autoptr (GError) error = NULL;

  if (!file_log_buffer_open (&fl->buffer, &error))
    {
      portico_log (NULL, G_LOG_LEVEL_WARNING, "%s", error->message);
      return PORTICO_ERROR;
    }
  fl->timer = portico_timer_add ("file-log", FILE_LOG_FLUSH_MS, FILE_LOG_FLUSH_MS, file_log_on_timer, fl, NULL);
  if (fl->timer == NULL)
    portico_log (NULL, G_LOG_LEVEL_WARNING, "no flush timer: lines are written every %u bytes and at exit",
                 (guint) FILE_LOG_FLUSH_BYTES);
  return PORTICO_CONTINUE;
}

static void
file_log_exit_worker (gpointer conf)
{
  FileLog *fl = conf;

  file_log_flush (fl);
  file_log_buffer_close (&fl->buffer);
}

/* Adapters from the PDK's walkers to the serializer's. */
static gboolean
request_header_at (gpointer r, guint index, const char **name, const char **value)
{
  return portico_request_header_at (r, index, name, value);
}

static gboolean
response_header_at (gpointer r, guint index, const char **name, const char **value)
{
  return portico_response_header_at (r, index, name, value);
}

static gboolean
span_at (gpointer r, guint index, const char **module, const char **phase, gint64 *duration_us)
{
  PorticoSpan span;

  if (!portico_request_get_span (r, index, &span))
    return FALSE;
  *module = span.module;
  *phase = (guint) span.phase < PORTICO_N_PHASES ? phase_names[span.phase] : "unknown";
  *duration_us = span.duration_us;
  return TRUE;
}

static PorticoResult
file_log_log (PorticoRequest *r, gpointer conf)
{
  FileLog *fl = conf;
  PorticoTimings t;

  portico_request_get_timings (r, &t);
  /* started_us is monotonic: carry it over to the wall clock. */
  gint64 started_wall_us = g_get_real_time () - (g_get_monotonic_time () - t.started_us);
  const PorticoConsumer *consumer = portico_request_get_consumer (r);

  FileLogEntry e = {
    .method = portico_request_get_method (r),
    .path = portico_request_get_path (r),
    .query = portico_request_get_raw_query (r),
    .request_size = t.bytes_received,
    .request_header_at = request_header_at,
    .request_headers = r,
    .status = portico_response_get_status (r),
    .response_size = t.bytes_sent,
    .response_header_at = response_header_at,
    .response_headers = r,
    .latency_request_ms = t.request_us / 1000,
    .latency_kong_ms = t.gateway_us / 1000,
    .latency_proxy_ms = t.upstream_us < 0 ? -1 : t.upstream_us / 1000,
    .client_ip = portico_request_get_client_ip (r),
    .started_at_ms = started_wall_us / 1000,
    .route_name = portico_request_get_route_name (r),
    .service_name = portico_request_get_service_name (r),
    .consumer_id = consumer != NULL ? portico_consumer_get_id (consumer) : NULL,
    .consumer_username = consumer != NULL ? portico_consumer_get_username (consumer) : NULL,
    .consumer_custom_id = consumer != NULL ? portico_consumer_get_custom_id (consumer) : NULL,
    .span_at = span_at,
    .spans = r,
  };
  file_log_serialize (&fl->serializer, fl->buffer.lines, &e);
  if (file_log_buffer_line_added (&fl->buffer))
    file_log_flush (fl);
  return PORTICO_CONTINUE;
}

G_MODULE_EXPORT const PorticoModule portico_module = {
  .abi_version = PORTICO_MODULE_ABI_VERSION,
  .name = "file-log",
  .version = "1.0.0",
  .priority = 9,
  .schema = file_log_schema,
  .configure = file_log_configure,
  .free_config = file_log_free_config,
  .init_worker = file_log_init_worker,
  .exit_worker = file_log_exit_worker,
  .log = file_log_log,
};
