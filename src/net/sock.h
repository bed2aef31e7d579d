/* sock.h: non-blocking socket helpers for listeners and upstream connects. */
#pragma once

#include <glib.h>
#include <sys/socket.h>
#include "core/config.h"

G_BEGIN_DECLS

/* Opens a non-blocking listening socket on @address (SO_REUSEADDR, and
 * SO_REUSEPORT when asked). When the port is 0, address->port is updated
 * to the one the kernel picked. */
int portico_sock_listen (PorticoAddress *address, gboolean reuseport, int backlog, GError **error);

/* Starts a non-blocking connect. Returns the fd (the connect may still be
 * in progress) or -1 with errno set. */
int portico_sock_connect (const struct sockaddr *addr, socklen_t addr_len);
/* No Nagle: a response written in two pieces (head, then body) must not
 * wait for the peer's delayed ACK (40 ms) before the second leaves. */
void portico_sock_set_nodelay (int fd);

/* The pending error of a socket after a non-blocking connect (0 if none). */
int portico_sock_error (int fd);

/* Formats the IP of @addr ("127.0.0.1", "::1") into @buf (INET6_ADDRSTRLEN),
 * and returns the port. */
guint16 portico_sock_addr_text (const struct sockaddr *addr, char *buf, gsize size);

G_END_DECLS
