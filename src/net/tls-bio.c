/* tls-bio.c: the socket under a TLS connection (see tls-bio.h). */
#include <errno.h>
#include <sys/socket.h>

#include "net/tls-bio.h"

typedef struct {
  int fd;
  gboolean drained;
  gboolean eof;
  guint64 bytes_in, bytes_out;
} Socket;

static int
socket_create (BIO *bio)
{
  BIO_set_data (bio, NULL);
  return 1;
}

static int
socket_destroy (BIO *bio)
{
  g_free (BIO_get_data (bio));
  BIO_set_data (bio, NULL);
  BIO_set_init (bio, 0);
  return 1;
}

static gboolean
again (int err)
{
  return err == EAGAIN || err == EWOULDBLOCK || err == EINPROGRESS;
}

static int
socket_read (BIO *bio, char *buf, int len)
{
  Socket *s = BIO_get_data (bio);
  ssize_t n;

  BIO_clear_retry_flags (bio);
  do
    n = recv (s->fd, buf, (size_t) len, 0);
  while (n < 0 && errno == EINTR);
  if (n > 0)
    {
      s->bytes_in += (guint64) n;
      s->drained = n < len;
    }
  else if (n == 0)
    s->eof = TRUE;
  else if (again (errno))
    {
      s->drained = TRUE;
      BIO_set_retry_read (bio);
    }
  return (int) n;
}

static int
socket_write (BIO *bio, const char *buf, int len)
{
  Socket *s = BIO_get_data (bio);
  ssize_t n;

  BIO_clear_retry_flags (bio);
  do
    n = send (s->fd, buf, (size_t) len, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n > 0)
    s->bytes_out += (guint64) n;
  else if (n < 0 && again (errno))
    BIO_set_retry_write (bio);
  return (int) n;
}

static long
socket_ctrl (BIO *bio, int cmd, long num, void *ptr)
{
  Socket *s = BIO_get_data (bio);

  (void) num;
  switch (cmd)
    {
    case BIO_CTRL_FLUSH:
    case BIO_CTRL_DUP:
      return 1;
    case BIO_CTRL_EOF:
      return s->eof;
    case BIO_C_GET_FD:
      if (ptr != NULL)
        *(int *) ptr = s->fd;
      return s->fd;
    case BIO_CTRL_GET_CLOSE:
      return BIO_NOCLOSE;
    default:
      return 0;
    }
}

static BIO_METHOD *
socket_method (void)
{
  static gsize once;
  static BIO_METHOD *method;

  if (g_once_init_enter (&once))
    {
      method = BIO_meth_new (BIO_get_new_index () | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR,
                             "portico socket");
      if (method != NULL)
        {
          BIO_meth_set_create (method, socket_create);
          BIO_meth_set_destroy (method, socket_destroy);
          BIO_meth_set_read (method, socket_read);
          BIO_meth_set_write (method, socket_write);
          BIO_meth_set_ctrl (method, socket_ctrl);
        }
      g_once_init_leave (&once, 1);
    }
  return method;
}

BIO *
portico_tls_bio_new (int fd)
{
  BIO_METHOD *method = socket_method ();
  BIO *bio = method != NULL ? BIO_new (method) : NULL;

  if (bio == NULL)
    return NULL;
  Socket *s = g_new0 (Socket, 1);
  s->fd = fd;
  BIO_set_data (bio, s);
  BIO_set_init (bio, 1);
  return bio;
}

gboolean
portico_tls_bio_drained (BIO *bio)
{
  const Socket *s = BIO_get_data (bio);
  return s->drained;
}

void
portico_tls_bio_bytes (BIO *bio, guint64 *in, guint64 *out)
{
  const Socket *s = BIO_get_data (bio);
  *in = s->bytes_in;
  *out = s->bytes_out;
}
