/* upstream.c: the keep-alive pool of connections to each target (which
 * target gets a request is balancer.c's). A pooled connection is reserved:
 * it serves one request at a time and goes back to the pool only after a
 * complete, clean response. A TLS connection keeps its session in the
 * pool: reusing it costs no handshake at all. */
#include "proxy/proxy-private.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>
#include "net/sock.h"

static PorticoUpPool *
pool_for (PorticoProxy *proxy, const PorticoAddress *address)
{
  PorticoUpPool *pool = g_hash_table_lookup (proxy->pools, address);
  if (pool == NULL)
    {
      pool = g_new0 (PorticoUpPool, 1);
      pool->address = address;
      g_queue_init (&pool->idle);
      g_hash_table_insert (proxy->pools, (gpointer) address, pool);
    }
  return pool;
}

static void
upconn_free (gpointer data)
{
  g_free (data);
}

static void
upconn_close (PorticoUpConn *up)
{
  PorticoProxy *proxy = up->proxy;
  if (up->exchange == NULL && up->idle_link.data != NULL)
    {
      g_queue_unlink (&up->pool->idle, &up->idle_link);
      up->idle_link.data = NULL;
      proxy->stats.upstream_idle--;
    }
  else if (up->exchange != NULL)
    proxy->stats.upstream_busy--;
  portico_conn_close (&up->conn);
  portico_loop_defer (proxy->loop, upconn_free, up);
}

/* An idle pooled connection has nothing to say: anything it reads is the
 * upstream closing it (or misbehaving), and either way it is done. */
static void
idle_on_events (PorticoUpConn *up, guint events)
{
  portico_conn_on_events (&up->conn, events);
  if (up->conn.read_ready)
    upconn_close (up);
}

static void
idle_on_timeout (PorticoTimer *timer)
{
  PorticoUpConn *up = (PorticoUpConn *) ((char *) timer - G_STRUCT_OFFSET (PorticoConn, timer));
  upconn_close (up);
}

static void
up_on_events (PorticoWatch *watch, guint events)
{
  PorticoUpConn *up = (PorticoUpConn *) watch;
  if (up->exchange == NULL)
    {
      idle_on_events (up, events);
      return;
    }
  portico_conn_on_events (&up->conn, events);
  portico_exchange_run (up->exchange);
}

/* The most recently used idle connection made the way @service connects:
 * in plain text, or with its TLS context and server name. Services that
 * share an upstream's targets share its pools, and a connection checked
 * one way must not carry a request that asked for another. */
static GList *
take_idle (PorticoUpPool *pool, const PorticoService *service)
{
  gboolean https = g_strcmp0 (service->protocol, "https") == 0;
  for (GList *l = pool->idle.head; l != NULL; l = l->next)
    {
      PorticoUpConn *up = l->data;
      gboolean fits = !https ? up->conn.tls == NULL
                             : up->conn.tls != NULL && portico_tls_is_for (up->conn.tls, service->tls_client, service->host);
      if (fits)
        {
          g_queue_unlink (&pool->idle, l);
          return l;
        }
    }
  return NULL;
}

PorticoUpConn *
portico_upstream_get (PorticoProxy *proxy, const PorticoAddress *address, PorticoExchange *x,
                      gboolean fresh, int *error)
{
  PorticoUpPool *pool = pool_for (proxy, address);
  GList *link = fresh ? NULL : take_idle (pool, x->service);
  if (link != NULL)
    {
      PorticoUpConn *up = link->data;
      up->idle_link.data = NULL;
      up->exchange = x;
      portico_timer_disarm (proxy->loop, &up->conn.timer);
      proxy->stats.upstream_idle--;
      proxy->stats.upstream_busy++;
      proxy->stats.upstream_reuses++;
      return up;
    }

  int fd = portico_sock_connect ((const struct sockaddr *) &address->addr, address->addr_len);
  if (fd < 0)
    {
      *error = errno;
      return NULL;
    }
  PorticoUpConn *up = g_new0 (PorticoUpConn, 1);
  up->proxy = proxy;
  up->pool = pool;
  up->exchange = x;
  if (!portico_conn_init (&up->conn, proxy->loop, fd, up_on_events))
    {
      *error = errno;
      close (fd);
      g_free (up);
      return NULL;
    }
  proxy->stats.upstream_connects++;
  proxy->stats.upstream_busy++;
  up->idle_link.data = NULL;
  return up;
}

void
portico_upstream_release (PorticoUpConn *up, gboolean reusable)
{
  PorticoProxy *proxy = up->proxy;
  const PorticoNodeConfig *node = &proxy->config->node;
  if (!reusable || proxy->draining || up->conn.eof || up->conn.failed ||
      portico_buf_len (&up->conn.in) > 0 || portico_buf_len (&up->conn.out) > 0 ||
      up->requests >= node->upstream_keepalive_max_requests ||
      g_queue_get_length (&up->pool->idle) >= node->upstream_keepalive_pool_size)
    {
      upconn_close (up);
      return;
    }
  up->exchange = NULL;
  proxy->stats.upstream_busy--;
  proxy->stats.upstream_idle++;
  portico_buf_clear (&up->conn.in);
  portico_buf_clear (&up->conn.out);
  up->idle_link.data = up;
  g_queue_push_head_link (&up->pool->idle, &up->idle_link);
  up->conn.timer.func = idle_on_timeout;
  portico_timer_arm (proxy->loop, &up->conn.timer, node->upstream_keepalive_idle_timeout);
  /* Bytes OpenSSL holds are stray bytes too. */
  if (up->conn.tls != NULL && portico_tls_pending (up->conn.tls))
    {
      upconn_close (up);
      return;
    }
  /* A close (or stray bytes) may have come already, with no edge left to
   * tell: look without taking. */
  if (up->conn.read_ready)
    {
      char byte;
      ssize_t n = recv (up->conn.fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        {
          up->conn.read_ready = 0;
          portico_conn_sync_wait (&up->conn);
        }
      else
        upconn_close (up);
    }
}

static void
pool_free (gpointer data)
{
  PorticoUpPool *pool = data;
  while (pool->idle.head != NULL)
    upconn_close (pool->idle.head->data);
  g_free (pool);
}

void
portico_upstream_pools_free (PorticoProxy *proxy)
{
  GHashTableIter iter;
  gpointer value;
  g_hash_table_iter_init (&iter, proxy->pools);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      pool_free (value);
      g_hash_table_iter_remove (&iter);
    }
  portico_balancers_free (proxy);
  portico_health_free (proxy);
  portico_health_probes_free (proxy);
}
