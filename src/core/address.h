/* address.h: "host:port" text resolved to a socket address.
 *
 * Resolution blocks (getaddrinfo): it happens when a config is loaded or a
 * command starts, never in a worker. Errors are PORTICO_CONFIG_ERROR_INVALID
 * (config.h), since a wrong address is a wrong config.
 */
#pragma once

#include <glib.h>
#include <sys/socket.h>

G_BEGIN_DECLS

/* A resolved socket address with the text it came from. */
typedef struct {
  char *text; /* "127.0.0.1:8000", "[::1]:8000" as written */
  char *host; /* "127.0.0.1", "::1", "localhost" */
  guint16 port;
  struct sockaddr_storage addr;
  socklen_t addr_len;
} PorticoAddress;

/* Parses "host:port", "[v6]:port" or a bare "port" (meaning 0.0.0.0:port)
 * and resolves the host (blocking: only at load time, never in a worker).
 * @default_port is used when the text has no port (0: a port is required). */
gboolean portico_address_parse (const char *text, guint16 default_port, PorticoAddress *out,
                                GError **error);

/* Resolves @host (a name or an address, without brackets) and @port given
 * apart; the text becomes "host:port", or "[host]:port" for an IPv6 host. */
gboolean portico_address_resolve (const char *host, guint16 port, PorticoAddress *out,
                                  GError **error);

void portico_address_clear (PorticoAddress *address);

G_END_DECLS
