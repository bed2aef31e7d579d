/* core/address.c: "host:port" text to socket addresses, for the listeners
 * and upstreams of a config and for the --listen of the lab's commands.
 */
#include "core/address.h"

#include "core/config.h"

#include <netdb.h>
#include <string.h>

/* @numeric: @host must be an address literal (it was written in brackets). */
static gboolean
resolve (const char *host, guint16 port, gboolean numeric, PorticoAddress *out, GError **error)
{
  struct addrinfo hints = { 0 }, *result = NULL;
  char service[8];
  int rc;

  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | (numeric ? AI_NUMERICHOST : 0);
  g_snprintf (service, sizeof service, "%u", port);
  rc = getaddrinfo (host, service, &hints, &result);
  if (rc != 0) {
    g_set_error (error, PORTICO_CONFIG_ERROR, PORTICO_CONFIG_ERROR_INVALID,
                 "cannot resolve \"%s\": %s", host, gai_strerror (rc));
    return FALSE;
  }
  memcpy (&out->addr, result->ai_addr, result->ai_addrlen);
  out->addr_len = result->ai_addrlen;
  freeaddrinfo (result);
  out->host = g_strdup (host);
  out->port = port;
  return TRUE;
}

static gboolean
parse_port (const char *text, guint16 *port)
{
  size_t len = strlen (text);
  guint value;

  if (len == 0 || len > 5 || strspn (text, "0123456789") != len)
    return FALSE;
  value = (guint) atoi (text);
  if (value > 65535)
    return FALSE;
  *port = (guint16) value;
  return TRUE;
}

gboolean
portico_address_parse (const char *text, guint16 default_port, PorticoAddress *out, GError **error)
{
  g_autofree char *host = NULL;
  const char *port_text = NULL;
  gboolean bracketed = FALSE;
  guint16 port = default_port;

  g_return_val_if_fail (text != NULL, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);

  memset (out, 0, sizeof *out);
  if (*text && strspn (text, "0123456789") == strlen (text)) {
    host = g_strdup ("0.0.0.0");
    port_text = text;
  } else if (text[0] == '[') {
    const char *end = strchr (text, ']');

    if (!end || (end[1] != '\0' && end[1] != ':')) {
      g_set_error (error, PORTICO_CONFIG_ERROR, PORTICO_CONFIG_ERROR_INVALID,
                   "\"%s\" is not an address (expected \"[::1]:8000\")", text);
      return FALSE;
    }
    host = g_strndup (text + 1, end - text - 1);
    port_text = end[1] ? end + 2 : NULL;
    bracketed = TRUE;
  } else {
    const char *colon = strchr (text, ':');

    if (colon && strchr (colon + 1, ':')) {
      g_set_error (error, PORTICO_CONFIG_ERROR, PORTICO_CONFIG_ERROR_INVALID,
                   "\"%s\": an IPv6 address needs brackets, as in \"[::1]:8000\"", text);
      return FALSE;
    }
    host = colon ? g_strndup (text, colon - text) : g_strdup (text);
    port_text = colon ? colon + 1 : NULL;
  }

  if (!*host) {
    g_set_error (error, PORTICO_CONFIG_ERROR, PORTICO_CONFIG_ERROR_INVALID,
                 "\"%s\" has no host", text);
    return FALSE;
  }
  if (port_text && !parse_port (port_text, &port)) {
    g_set_error (error, PORTICO_CONFIG_ERROR, PORTICO_CONFIG_ERROR_INVALID,
                 "\"%s\" has an invalid port (expected 0 to 65535)", text);
    return FALSE;
  }
  if (!port_text && default_port == 0) {
    g_set_error (error, PORTICO_CONFIG_ERROR, PORTICO_CONFIG_ERROR_INVALID,
                 "\"%s\" has no port (expected \"host:port\")", text);
    return FALSE;
  }
  if (!resolve (host, port, bracketed, out, error))
    return FALSE;
  out->text = g_strdup (text);
  return TRUE;
}

gboolean
portico_address_resolve (const char *host, guint16 port, PorticoAddress *out, GError **error)
{
  g_return_val_if_fail (host != NULL, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);

  memset (out, 0, sizeof *out);
  if (!resolve (host, port, FALSE, out, error))
    return FALSE;
  out->text = strchr (host, ':') ? g_strdup_printf ("[%s]:%u", host, port)
                                 : g_strdup_printf ("%s:%u", host, port);
  return TRUE;
}

void
portico_address_clear (PorticoAddress *address)
{
  g_clear_pointer (&address->text, g_free);
  g_clear_pointer (&address->host, g_free);
  memset (address, 0, sizeof *address);
}
