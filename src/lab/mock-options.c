/* lab/mock-options.c - the command line of `portico mock`.
 *
 * Everything is checked here, so the service can trust its options; each
 * error message starts with the option it is about.
 */
#include "lab/mock-options.h"

#include "core/address.h"

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
    { "status", 's', 0, G_OPTION_ARG_INT, &opt->status,
      "Status of the default response (default 200)", "N" },
    { "body-bytes", 0, 0, G_OPTION_ARG_INT64, &opt->body_bytes,
      "Default body: N bytes of a repeating pattern", "N" },
    { "body", 0, 0, G_OPTION_ARG_STRING, &opt->body,
      "Default body text (default \"hello from NAME\\n\")", "TEXT" },
    { "header", 'H', 0, G_OPTION_ARG_STRING_ARRAY, &opt->headers,
      "Add a header to the default response (repeatable)", "'NAME: VALUE'" },
    { "latency-ms", 0, 0, G_OPTION_ARG_INT, &opt->latency_ms,
      "Delay every response by N ms", "N" },
    { "chunked", 0, 0, G_OPTION_ARG_NONE, &opt->chunked,
      "Send the default body chunked, in 16 KiB pieces", NULL },
    { "fail-ratio", 0, 0, G_OPTION_ARG_DOUBLE, &opt->fail_ratio,
      "Answer 500 to this fraction of requests, deterministically", "F" },
    { "close-mid-body", 0, 0, G_OPTION_ARG_NONE, &opt->close_mid_body,
      "Close the connection after half of the default body", NULL },
    { "name", 'n', 0, G_OPTION_ARG_STRING, &opt->name,
      "Name of this service (default \"mock\")", "NAME" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- a mock upstream HTTP service");
  g_auto(GStrv) args = g_new0 (char *, argc + 1);
  int i;

  for (i = 0; i < argc; i++)
    args[i] = g_strdup (argv[i]);
  opt->status = 200;
  opt->body_bytes = PORTICO_MOCK_NO_BODY_BYTES;

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_description (context,
    "Special paths: /echo/... (or header X-Mock-Echo: 1), /status/N, /bytes/N, /upload,\n"
    "/delay/MS, /__mock/stats.");
  if (!g_option_context_parse_strv (context, &args, error))
    return FALSE;

  if (args[0] && args[1])
    return mock_fail (error, "unexpected argument '%s'", args[1]);
  if (opt->listen == NULL)
    opt->listen = g_strdup ("127.0.0.1:0");
  opt->address = mock_parse_listen (opt->listen);
  if (opt->address == NULL)
    return mock_fail (error, "--listen: '%s' is not a loopback IP:PORT", opt->listen);
  if (opt->status < 200 || opt->status > 599)
    return mock_fail (error, "--status: %d is not a final HTTP status (200-599)", opt->status);
  if (opt->body_bytes != PORTICO_MOCK_NO_BODY_BYTES && opt->body_bytes < 0)
    return mock_fail (error, "--body-bytes: must not be negative");
  if (opt->body_bytes != PORTICO_MOCK_NO_BODY_BYTES && opt->body)
    return mock_fail (error, "--body and --body-bytes exclude each other");
  if (opt->latency_ms < 0 || opt->latency_ms > PORTICO_MOCK_DELAY_MAX_MS)
    return mock_fail (error, "--latency-ms: must be between 0 and %d", PORTICO_MOCK_DELAY_MAX_MS);
  if (!isfinite (opt->fail_ratio) || opt->fail_ratio < 0.0 || opt->fail_ratio > 1.0)
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
  return TRUE;
}

void
portico_mock_options_clear (PorticoMockOptions *opt)
{
  g_clear_pointer (&opt->listen, g_free);
  g_clear_object (&opt->address);
  g_clear_pointer (&opt->body, g_free);
  g_clear_pointer (&opt->headers, g_strfreev);
  g_clear_pointer (&opt->name, g_free);
}
