/* lab/mock-options.c - the command line of `portico mock`, and the
 * control API's changes to its settings.
 *
 * Everything is checked here, so the service can trust its settings; each
 * error message starts with the option or key it is about.
 */
#include "lab/mock-options.h"

#include "core/address.h"
#include "core/json-reader.h"

#include <math.h>
#include <string.h>

static gboolean
mock_fail (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
mock_fail (GError **error, const char *format, ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, message);
  return FALSE;
}

/* "IP:PORT" or "[IPv6]:PORT", read as the gateway's config reads addresses;
 * the mock takes only an IP literal on loopback. */
static GInetSocketAddress *
mock_parse_listen (const char *text)
{
  PorticoAddress address;
  g_autoptr(GInetAddress) ip = NULL;
  guint16 port;

  if (!portico_address_parse (text, 0, &address, NULL))
    return NULL;
  ip = g_inet_address_new_from_string (address.host);
  port = address.port;
  portico_address_clear (&address);
  if (ip == NULL || !g_inet_address_get_is_loopback (ip))
    return NULL;
  return G_INET_SOCKET_ADDRESS (g_inet_socket_address_new (ip, port));
}

static gboolean
mock_check_header (const char *line, GError **error)
{
  static const char *const reserved[] = { "content-length", "transfer-encoding", "connection", NULL };
  const char *colon = strchr (line, ':');
  g_autofree char *name = NULL;
  g_autofree char *lower = NULL;
  const char *p;

  if (colon == NULL || colon == line)
    return mock_fail (error, "--header: '%s' is not 'Name: value'", line);
  name = g_strndup (line, colon - line);
  for (p = name; *p; p++)
    if (!g_ascii_isalnum (*p) && !strchr ("!#$%&'*+-.^_`|~", *p))
      return mock_fail (error, "--header: '%s' is not a valid header name", name);
  for (p = colon + 1; *p; p++)
    if ((g_ascii_iscntrl (*p) && *p != '\t'))
      return mock_fail (error, "--header: the value of '%s' holds a control character", name);
  lower = g_ascii_strdown (name, -1);
  if (g_strv_contains (reserved, lower))
    return mock_fail (error, "--header: '%s' is set by the mock itself", name);
  return TRUE;
}

gboolean
portico_mock_options_parse (PorticoMockOptions *opt, int argc, char **argv, GError **error)
{
  const GOptionEntry entries[] = {
    { "listen", 'l', 0, G_OPTION_ARG_STRING, &opt->listen,
      "Loopback address to listen on (default 127.0.0.1:0, a free port)", "IP:PORT" },
    { "control", 0, 0, G_OPTION_ARG_STRING, &opt->control,
      "Loopback address of the control API (default: the --listen IP, a free port)", "IP:PORT" },
    { "status", 's', 0, G_OPTION_ARG_INT, &opt->settings.status,
      "Status of the default response (default 200)", "N" },
    { "body-bytes", 0, 0, G_OPTION_ARG_INT64, &opt->settings.body_bytes,
      "Default body: N bytes of a repeating pattern", "N" },
    { "body", 0, 0, G_OPTION_ARG_STRING, &opt->body,
      "Default body text (default \"hello from NAME\\n\")", "TEXT" },
    { "header", 'H', 0, G_OPTION_ARG_STRING_ARRAY, &opt->headers,
      "Add a header to the default response (repeatable)", "'NAME: VALUE'" },
    { "latency-ms", 0, 0, G_OPTION_ARG_INT, &opt->settings.latency_ms,
      "Delay every response by N ms", "N" },
    { "chunked", 0, 0, G_OPTION_ARG_NONE, &opt->chunked,
      "Send the default body chunked, in 16 KiB pieces", NULL },
    { "fail-ratio", 0, 0, G_OPTION_ARG_DOUBLE, &opt->settings.fail_ratio,
      "Answer 500 to this fraction of requests, deterministically", "F" },
    { "close-mid-body", 0, 0, G_OPTION_ARG_NONE, &opt->settings.close_mid_body,
      "Close the connection after half of the default body", NULL },
    { "name", 'n', 0, G_OPTION_ARG_STRING, &opt->name,
      "Name of this service (default \"mock\")", "NAME" },
    { "tls-cert", 0, 0, G_OPTION_ARG_FILENAME, &opt->tls_cert,
      "Serve HTTPS with this certificate (PEM, then its chain)", "FILE" },
    { "tls-key", 0, 0, G_OPTION_ARG_FILENAME, &opt->tls_key,
      "The private key of --tls-cert (PEM)", "FILE" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- a mock upstream HTTP service");
  g_auto(GStrv) args = g_new0 (char *, argc + 1);
  PorticoMockSettings *set = &opt->settings;
  int i;

  for (i = 0; i < argc; i++)
    args[i] = g_strdup (argv[i]);
  set->status = 200;
  set->body_bytes = PORTICO_MOCK_NO_BODY_BYTES;

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_description (context,
    "Special paths: /echo/... (or header X-Mock-Echo: 1), /status/N, /bytes/N, /upload,\n"
    "/delay/MS, /__mock/stats.\n"
    "Control API (on --control): GET /state, POST /state with a JSON object of any of\n"
    "down, latency_ms, status, fail_ratio, close_mid_body, body_bytes.\n"
    "Prints \"listening ADDR\" then \"control ADDR\" once it accepts.");
  if (!g_option_context_parse_strv (context, &args, error))
    return FALSE;

  if (args[0] && args[1])
    return mock_fail (error, "unexpected argument '%s'", args[1]);
  if (opt->listen == NULL)
    opt->listen = g_strdup ("127.0.0.1:0");
  opt->address = mock_parse_listen (opt->listen);
  if (opt->address == NULL)
    return mock_fail (error, "--listen: '%s' is not a loopback IP:PORT", opt->listen);
  if (opt->control == NULL)
    {
      g_autofree char *ip = g_inet_address_to_string (g_inet_socket_address_get_address (opt->address));

      opt->control = g_strdup_printf (strchr (ip, ':') ? "[%s]:0" : "%s:0", ip);
    }
  opt->control_address = mock_parse_listen (opt->control);
  if (opt->control_address == NULL)
    return mock_fail (error, "--control: '%s' is not a loopback IP:PORT", opt->control);
  if (set->status < 200 || set->status > 599)
    return mock_fail (error, "--status: %d is not a final HTTP status (200-599)", set->status);
  if (set->body_bytes != PORTICO_MOCK_NO_BODY_BYTES && set->body_bytes < 0)
    return mock_fail (error, "--body-bytes: must not be negative");
  if (set->body_bytes != PORTICO_MOCK_NO_BODY_BYTES && opt->body)
    return mock_fail (error, "--body and --body-bytes exclude each other");
  if (set->latency_ms < 0 || set->latency_ms > PORTICO_MOCK_DELAY_MAX_MS)
    return mock_fail (error, "--latency-ms: must be between 0 and %d", PORTICO_MOCK_DELAY_MAX_MS);
  if (!isfinite (set->fail_ratio) || set->fail_ratio < 0.0 || set->fail_ratio > 1.0)
    return mock_fail (error, "--fail-ratio: must be between 0 and 1");
  for (i = 0; opt->headers && opt->headers[i]; i++)
    if (!mock_check_header (opt->headers[i], error))
      return FALSE;
  if (opt->name == NULL)
    opt->name = g_strdup ("mock");
  if (opt->name[0] == '\0' || strlen (opt->name) > 128)
    return mock_fail (error, "--name: must be 1 to 128 characters");
  for (i = 0; opt->name[i]; i++)
    if (!g_ascii_isprint (opt->name[i]))
      return mock_fail (error, "--name: must be printable ASCII");
  if ((opt->tls_cert == NULL) != (opt->tls_key == NULL))
    return mock_fail (error, "--tls-cert and --tls-key go together");
  return TRUE;
}

void
portico_mock_options_clear (PorticoMockOptions *opt)
{
  g_clear_pointer (&opt->listen, g_free);
  g_clear_object (&opt->address);
  g_clear_pointer (&opt->control, g_free);
  g_clear_object (&opt->control_address);
  g_clear_pointer (&opt->body, g_free);
  g_clear_pointer (&opt->headers, g_strfreev);
  g_clear_pointer (&opt->name, g_free);
  g_clear_pointer (&opt->tls_cert, g_free);
  g_clear_pointer (&opt->tls_key, g_free);
}

/* ------------------------------------------------------------------------ */
/* The control API's changes */

static const char *const mock_setting_keys[] = {
  "down", "latency_ms", "status", "fail_ratio", "close_mid_body", "body_bytes", NULL
};

/* JSON has no integer type of its own: 0 and 1 are as good a ratio as 0.5. */
static PorticoJsonField
mock_get_ratio (PorticoJsonReader *reader, JsonObject *object, const char *key, double *out)
{
  JsonNode *node = portico_json_member (object, key);
  GType type;

  if (node == NULL)
    return PORTICO_JSON_FIELD_ABSENT;
  type = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : G_TYPE_INVALID;
  if ((type == G_TYPE_DOUBLE || type == G_TYPE_INT64) &&
      json_node_get_double (node) >= 0.0 && json_node_get_double (node) <= 1.0)
    {
      *out = json_node_get_double (node);
      return PORTICO_JSON_FIELD_OK;
    }
  portico_json_reader_error (reader, key, "must be a number between 0 and 1");
  return PORTICO_JSON_FIELD_INVALID;
}

static void
mock_note (PorticoJsonField field, guint bit, guint *set)
{
  if (field == PORTICO_JSON_FIELD_OK)
    *set |= bit;
}

gboolean
portico_mock_settings_update (PorticoMockSettings *settings, const char *data, gssize len,
                              guint *set, GError **error)
{
  g_autoptr(PorticoJsonReader) reader = portico_json_reader_new ();
  g_autoptr(JsonNode) root = NULL;
  PorticoMockSettings next = *settings;
  JsonObject *object = NULL;
  GPtrArray *errors;
  gint64 n = 0;
  guint bits = 0;

  g_return_val_if_fail (settings != NULL && data != NULL, FALSE);

  root = portico_json_reader_parse (reader, data, len);
  if (root)
    object = portico_json_reader_as_object (reader, root, mock_setting_keys);
  if (object)
    {
      mock_note (portico_json_reader_get_bool (reader, object, "down", &next.down),
                 PORTICO_MOCK_SET_DOWN, &bits);
      if (portico_json_reader_get_int (reader, object, "latency_ms", 0, PORTICO_MOCK_DELAY_MAX_MS,
                                       &n) == PORTICO_JSON_FIELD_OK)
        {
          next.latency_ms = (int) n;
          bits |= PORTICO_MOCK_SET_LATENCY_MS;
        }
      if (portico_json_reader_get_int (reader, object, "status", 200, 599, &n) ==
          PORTICO_JSON_FIELD_OK)
        {
          next.status = (int) n;
          bits |= PORTICO_MOCK_SET_STATUS;
        }
      mock_note (mock_get_ratio (reader, object, "fail_ratio", &next.fail_ratio),
                 PORTICO_MOCK_SET_FAIL_RATIO, &bits);
      mock_note (portico_json_reader_get_bool (reader, object, "close_mid_body",
                                               &next.close_mid_body),
                 PORTICO_MOCK_SET_CLOSE_MID_BODY, &bits);
      mock_note (portico_json_reader_get_int (reader, object, "body_bytes", 0, G_MAXINT64,
                                              &next.body_bytes),
                 PORTICO_MOCK_SET_BODY_BYTES, &bits);
    }

  errors = portico_json_reader_get_errors (reader);
  if (errors->len > 0)
    {
      g_autoptr(GString) text = g_string_new (NULL);
      guint i;

      for (i = 0; i < errors->len; i++)
        g_string_append_printf (text, "%s%s", i ? "\n" : "", (char *) g_ptr_array_index (errors, i));
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, text->str);
      return FALSE;
    }
  *settings = next;
  if (set)
    *set = bits;
  return TRUE;
}

void
portico_mock_settings_build (const PorticoMockSettings *settings, JsonBuilder *builder)
{
  json_builder_set_member_name (builder, "down");
  json_builder_add_boolean_value (builder, settings->down);
  json_builder_set_member_name (builder, "latency_ms");
  json_builder_add_int_value (builder, settings->latency_ms);
  json_builder_set_member_name (builder, "status");
  json_builder_add_int_value (builder, settings->status);
  json_builder_set_member_name (builder, "fail_ratio");
  json_builder_add_double_value (builder, settings->fail_ratio);
  json_builder_set_member_name (builder, "close_mid_body");
  json_builder_add_boolean_value (builder, settings->close_mid_body);
  json_builder_set_member_name (builder, "body_bytes");
  if (settings->body_bytes == PORTICO_MOCK_NO_BODY_BYTES)
    json_builder_add_null_value (builder);
  else
    json_builder_add_int_value (builder, settings->body_bytes);
}

void
portico_mock_state_build (JsonBuilder *builder, const char *name, const char *listen,
                          const char *control, const PorticoMockSettings *settings,
                          const PorticoMockCounters *counters)
{
  guint i;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, name);
  json_builder_set_member_name (builder, "listen");
  json_builder_add_string_value (builder, listen);
  json_builder_set_member_name (builder, "control");
  json_builder_add_string_value (builder, control);
  json_builder_set_member_name (builder, "settings");
  json_builder_begin_object (builder);
  portico_mock_settings_build (settings, builder);
  json_builder_end_object (builder);
  json_builder_set_member_name (builder, "requests");
  json_builder_add_int_value (builder, (gint64) counters->requests);
  json_builder_set_member_name (builder, "connections");
  json_builder_add_int_value (builder, (gint64) counters->connections);
  json_builder_set_member_name (builder, "open_connections");
  json_builder_add_int_value (builder, (gint64) counters->open_connections);
  json_builder_set_member_name (builder, "by_status");
  json_builder_begin_object (builder);
  for (i = 0; i < PORTICO_MOCK_STATUS_MAX; i++)
    if (counters->by_status[i] > 0)
      {
        char key[8];

        g_snprintf (key, sizeof key, "%u", i);
        json_builder_set_member_name (builder, key);
        json_builder_add_int_value (builder, (gint64) counters->by_status[i]);
      }
  json_builder_end_object (builder);
  json_builder_end_object (builder);
}

gboolean
portico_mock_ratio_hits (double ratio, guint64 n)
{
  if (ratio <= 0.0 || n == 0)
    return FALSE;
  return (guint64) ((double) n * ratio + 1e-9) > (guint64) ((double) (n - 1) * ratio + 1e-9);
}
