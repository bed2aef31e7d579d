/* sock.c: non-blocking socket helpers. */
#include "net/sock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>
#include <gio/gio.h>

int
portico_sock_listen (PorticoAddress *address, gboolean reuseport, int backlog, GError **error)
{
  const struct sockaddr *sa = (const struct sockaddr *) &address->addr;
  int fd = socket (sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    goto fail;
  int one = 1;
  setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (reuseport && setsockopt (fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
    goto fail;
  if (sa->sa_family == AF_INET6)
    setsockopt (fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind (fd, sa, address->addr_len) < 0)
    goto fail;
  if (listen (fd, backlog) < 0)
    goto fail;
  if (address->port == 0)
    {
      struct sockaddr_storage ss;
      socklen_t len = sizeof ss;
      if (getsockname (fd, (struct sockaddr *) &ss, &len) < 0)
        goto fail;
      memcpy (&address->addr, &ss, len);
      address->port = ntohs (ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *) &ss)->sin6_port
                                                      : ((struct sockaddr_in *) &ss)->sin_port);
    }
  return fd;

fail:
  {
    int saved = errno;
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "cannot listen on %s: %s",
                 address->text, g_strerror (saved));
    if (fd >= 0)
      close (fd);
    errno = saved;
    return -1;
  }
}

void
portico_sock_set_nodelay (int fd)
{
  int one = 1;
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

int
portico_sock_connect (const struct sockaddr *addr, socklen_t addr_len)
{
  int fd = socket (addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  portico_sock_set_nodelay (fd);
  if (connect (fd, addr, addr_len) < 0 && errno != EINPROGRESS)
    {
      int saved = errno;
      close (fd);
      errno = saved;
      return -1;
    }
  return fd;
}

int
portico_sock_error (int fd)
{
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt (fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
    return errno;
  return err;
}

guint16
portico_sock_addr_text (const struct sockaddr *addr, char *buf, gsize size)
{
  if (addr->sa_family == AF_INET6)
    {
      const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) addr;
      inet_ntop (AF_INET6, &in6->sin6_addr, buf, size);
      return ntohs (in6->sin6_port);
    }
  if (addr->sa_family == AF_INET)
    {
      const struct sockaddr_in *in = (const struct sockaddr_in *) addr;
      inet_ntop (AF_INET, &in->sin_addr, buf, size);
      return ntohs (in->sin_port);
    }
  g_strlcpy (buf, "unix", size);
  return 0;
}
