/* link.c: the lab's network link, a TCP relay on a PorticoLoop (see link.h).
 *
 * Each accepted connection becomes a relay: the accepted side, the target
 * side (a non-blocking connect) and two lanes, one per direction. A lane
 * reads its source into timestamped chunks and writes them to its sink once
 * due, through a token bucket. Bytes wait in the lane, never in the kernel
 * of the writer, so latency is real latency and not a side effect of socket
 * buffers.
 */
#include "lab/link.h"
#include "lab/mock-options.h"

#include "core/address.h"
#include "net/conn.h"
#include "net/sock.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#include <gio/gio.h>

/* A lane stops reading its source past this many pending bytes (data and
 * chunk overhead), and reads again once writes bring it under: a link's
 * memory is bounded whatever the peers do. It also bounds a lane's
 * throughput to LINK_PENDING_MAX per latency (the bandwidth-delay product,
 * as a TCP window does): 10 MiB/s at 100 ms. */
#define LINK_PENDING_MAX (1024 * 1024)
/* The most a token bucket holds: this many ms of traffic. */
#define LINK_BURST_MS 20
#define LINK_ACCEPT_PAUSE_MS 100
#define LINK_BACKLOG 1024

typedef struct _LinkRelay LinkRelay;

/* Bytes read at one instant, to be written from @due on. */
typedef struct {
  gint64 due;       /* loop ms */
  guint64 bps;      /* the bandwidth when it was read (0: unlimited) */
  gsize len;
  gsize off;        /* already handed to the sink */
  char data[];
} LinkChunk;

typedef struct {
  PorticoConn conn; /* first: the watch callback casts back */
  LinkRelay *relay;
} LinkSide;

/* One direction of a relay. */
typedef struct {
  PorticoTimer timer; /* first: the timer callback casts back; the next due chunk or token */
  LinkRelay *relay;
  LinkSide *from;
  LinkSide *to;
  GQueue chunks;      /* LinkChunk*, in read order */
  gsize pending;      /* queued bytes plus chunk overhead */
  gint64 last_due;    /* due times never go back: jitter does not reorder */
  double tokens;
  gint64 refilled_at;
  guint64 *counter;   /* the link's bytes_up or bytes_down */
  gboolean eof;       /* the source said EOF */
  gboolean shut;      /* ... and the sink got shutdown(SHUT_WR) after the last byte */
} LinkLane;

struct _LinkRelay {
  PorticoLink *link;
  GList node;         /* in link->relays */
  LinkSide accepted;
  LinkSide target;
  LinkLane up;        /* accepted -> target */
  LinkLane down;      /* target -> accepted */
  gboolean connected; /* the connect to the target completed */
  gboolean doomed;    /* reset at the first bytes (reset_ratio) */
  gboolean closed;
};

struct _PorticoLink {
  PorticoLoop *loop;
  PorticoWatch listen_watch;
  int listen_fd;
  PorticoTimer accept_pause;
  char *address;
  PorticoAddress target;
  PorticoLinkProps props;
  PorticoLinkStats stats;
  GQueue relays;      /* LinkRelay* */
  GRand *rand;
};

static void relay_run (LinkRelay *r);

/* --- closing --- */

static void
relay_free (gpointer data)
{
  LinkRelay *r = data;
  LinkChunk *c;
  while ((c = g_queue_pop_head (&r->up.chunks)) != NULL)
    g_free (c);
  while ((c = g_queue_pop_head (&r->down.chunks)) != NULL)
    g_free (c);
  g_free (r);
}

/* @abort: with SO_LINGER 0, so each peer gets a RST instead of a FIN. */
static void
relay_close (LinkRelay *r, gboolean abort)
{
  if (r->closed)
    return;
  r->closed = TRUE;
  PorticoLoop *loop = r->link->loop;
  LinkSide *sides[] = { &r->accepted, &r->target };
  for (guint i = 0; i < G_N_ELEMENTS (sides); i++)
    {
      if (abort && sides[i]->conn.fd >= 0)
        {
          struct linger lg = { .l_onoff = 1, .l_linger = 0 };
          setsockopt (sides[i]->conn.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        }
      portico_conn_close (&sides[i]->conn);
    }
  portico_timer_disarm (loop, &r->up.timer);
  portico_timer_disarm (loop, &r->down.timer);
  g_queue_unlink (&r->link->relays, &r->node);
  /* Later events of this batch may still name its watches. */
  portico_loop_defer (loop, relay_free, r);
}

/* A reset the link decided (reset_ratio, down), counted in the stats. */
static void
relay_reset (LinkRelay *r)
{
  r->link->stats.resets++;
  relay_close (r, TRUE);
}

/* --- lanes --- */

/* Takes up to @want bytes' worth of tokens. When none are there, returns 0
 * and sets @wait_ms to when enough will be. */
static gsize
lane_take_tokens (LinkLane *l, guint64 bps, gsize want, gint64 now, guint *wait_ms)
{
  double burst = MAX ((double) bps * LINK_BURST_MS / 1000.0, 1.0);
  l->tokens = MIN (burst, l->tokens + (double) (now - l->refilled_at) * (double) bps / 1000.0);
  l->refilled_at = now;
  if (l->tokens >= 1.0)
    {
      gsize n = MIN (want, (gsize) l->tokens);
      l->tokens -= (double) n;
      return n;
    }
  /* Wait for a full burst (or the rest of the chunk) rather than trickling
   * a byte per wakeup. */
  double need = MIN ((double) want, burst) - l->tokens;
  double ms = need * 1000.0 / (double) bps;
  *wait_ms = ms >= G_MAXINT ? G_MAXINT : MAX (1, (guint) (ms + 0.999));
  return 0;
}

/* Writes what is due. Returns FALSE when the relay was closed. */
static gboolean
lane_write (LinkLane *l)
{
  PorticoLoop *loop = l->relay->link->loop;
  PorticoConn *to = &l->to->conn;
  if (!l->relay->connected || l->shut)
    return TRUE;
  for (;;)
    {
      guint64 before = to->bytes_out;
      PorticoIoResult res = portico_conn_flush (to);
      *l->counter += to->bytes_out - before;
      if (res == PORTICO_IO_AGAIN)
        return TRUE; /* the sink's next write event comes back here */
      if (res == PORTICO_IO_ERROR)
        {
          relay_close (l->relay, TRUE);
          return FALSE;
        }
      LinkChunk *c = g_queue_peek_head (&l->chunks);
      if (c == NULL)
        break;
      gint64 now = portico_loop_now (loop);
      gsize n = c->len - c->off;
      guint wait_ms = 0;
      if (c->due > now)
        wait_ms = (guint) (c->due - now);
      else if (c->bps > 0)
        n = lane_take_tokens (l, c->bps, n, now, &wait_ms);
      if (n == 0 || wait_ms > 0)
        {
          portico_timer_arm (loop, &l->timer, wait_ms);
          return TRUE;
        }
      portico_buf_append (&to->out, c->data + c->off, n);
      c->off += n;
      if (c->off == c->len)
        {
          g_queue_pop_head (&l->chunks);
          l->pending -= sizeof *c + c->len;
          g_free (c);
        }
    }
  if (l->eof && !l->shut)
    {
      shutdown (to->fd, SHUT_WR);
      l->shut = TRUE;
      if (l->relay->up.shut && l->relay->down.shut)
        {
          relay_close (l->relay, FALSE);
          return FALSE;
        }
    }
  return TRUE;
}

/* Queues what was just read, timed by the link's current properties. */
static void
lane_queue (LinkLane *l, const char *data, gsize len)
{
  PorticoLink *link = l->relay->link;
  /* The loop's clock is in whole ms and may lag the real time by almost
   * one: the extra ms makes the delay at least latency_ms, never less. */
  gint64 due = portico_loop_now (link->loop);
  if (link->props.latency_ms > 0)
    due += link->props.latency_ms + 1;
  if (link->props.jitter_ms > 0)
    due += g_rand_int_range (link->rand, 0, (gint32) MIN (link->props.jitter_ms, G_MAXINT32 - 1) + 1);
  due = MAX (due, l->last_due);
  l->last_due = due;

  LinkChunk *c = g_malloc (sizeof *c + len);
  c->due = due;
  c->bps = link->props.bandwidth_bps;
  c->len = len;
  c->off = 0;
  memcpy (c->data, data, len);
  g_queue_push_tail (&l->chunks, c);
  l->pending += sizeof *c + len;
}

/* Moves bytes from source to sink as far as readiness, due times, tokens
 * and the pending bound allow. Returns FALSE when the relay was closed. */
static gboolean
lane_run (LinkLane *l)
{
  PorticoConn *from = &l->from->conn;
  for (;;)
    {
      if (!lane_write (l))
        return FALSE;
      if (l->eof || l->pending >= LINK_PENDING_MAX || !from->read_ready)
        return TRUE;
      switch (portico_conn_fill (from, PORTICO_BUF_BLOCK))
        {
        case PORTICO_IO_OK:
          if (l->relay->doomed)
            {
              relay_reset (l->relay);
              return FALSE;
            }
          lane_queue (l, portico_buf_head (&from->in), portico_buf_len (&from->in));
          portico_buf_consume (&from->in, portico_buf_len (&from->in));
          break;
        case PORTICO_IO_EOF:
          l->eof = TRUE; /* lane_write shuts the sink once the queue is written */
          break;
        case PORTICO_IO_AGAIN:
          return TRUE;
        case PORTICO_IO_ERROR:
        default:
          /* A reset (or worse) on one side: the other side learns it the same way. */
          relay_close (l->relay, TRUE);
          return FALSE;
        }
    }
}

static void
lane_on_timer (PorticoTimer *timer)
{
  relay_run (((LinkLane *) timer)->relay);
}

static void
lane_init (LinkLane *l, LinkRelay *r, LinkSide *from, LinkSide *to, guint64 *counter)
{
  l->timer.func = lane_on_timer;
  l->relay = r;
  l->from = from;
  l->to = to;
  g_queue_init (&l->chunks);
  l->refilled_at = portico_loop_now (r->link->loop);
  l->counter = counter;
}

/* --- relays --- */

static void
relay_run (LinkRelay *r)
{
  if (!lane_run (&r->up) || !lane_run (&r->down))
    return;
  /* Only the poll backend needs to know what each side now waits for. */
  portico_conn_sync_wait (&r->accepted.conn);
  portico_conn_sync_wait (&r->target.conn);
}

static void
side_on_events (PorticoWatch *watch, guint events)
{
  LinkSide *side = (LinkSide *) watch;
  LinkRelay *r = side->relay;
  portico_conn_on_events (&side->conn, events);
  if (side == &r->target && !r->connected)
    {
      if (!(events & (PORTICO_EV_WRITE | PORTICO_EV_HUP)))
        return;
      int err = portico_sock_error (side->conn.fd);
      if (err != 0)
        {
          /* The target refused: the accepted side sees its connection closed. */
          g_debug ("link %s: connect to %s: %s", r->link->address, r->link->target.text,
                   g_strerror (err));
          relay_close (r, FALSE);
          return;
        }
      r->connected = TRUE;
    }
  relay_run (r);
}

static void
relay_start (PorticoLink *link, int fd)
{
  int one = 1;
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

  LinkRelay *r = g_new0 (LinkRelay, 1);
  r->link = link;
  r->node.data = r;
  r->accepted.relay = r;
  r->target.relay = r;
  r->accepted.conn.fd = -1;
  r->target.conn.fd = -1;
  /* Deterministic, as the mock's failure ratio: a ratio of 1/k resets
   * every k-th connection, and any ratio holds exactly over a run. */
  r->doomed = portico_mock_ratio_hits (link->props.reset_ratio, link->stats.connections);
  lane_init (&r->up, r, &r->accepted, &r->target, &link->stats.bytes_up);
  lane_init (&r->down, r, &r->target, &r->accepted, &link->stats.bytes_down);
  /* The handshake's round trip: on loopback the client's connect is done
   * at once, so its first bytes wait here instead, and arrive when they
   * would have after SYN, SYN-ACK and their own way across (3 x latency). */
  if (link->props.latency_ms > 0)
    r->up.last_due = portico_loop_now (link->loop) + 3 * (gint64) link->props.latency_ms + 1;
  g_queue_push_tail_link (&link->relays, &r->node);

  /* On failure the conn holds the fd all the same: relay_close closes it. */
  if (!portico_conn_init (&r->accepted.conn, link->loop, fd, side_on_events))
    {
      relay_close (r, FALSE);
      return;
    }
  int tfd = portico_sock_connect ((const struct sockaddr *) &link->target.addr, link->target.addr_len);
  if (tfd < 0)
    {
      g_debug ("link %s: connect to %s: %s", link->address, link->target.text, g_strerror (errno));
      relay_close (r, FALSE);
      return;
    }
  /* Chunks leave when due, not when Nagle lets them: both sides. */
  portico_sock_set_nodelay (tfd);
  if (!portico_conn_init (&r->target.conn, link->loop, tfd, side_on_events))
    relay_close (r, FALSE);
}

/* --- the listener --- */

static void
link_accept_all (PorticoLink *link)
{
  for (;;)
    {
      int fd = accept4 (link->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd >= 0)
        {
          link->stats.connections++;
          if (link->props.down)
            close (fd);
          else
            relay_start (link, fd);
          continue;
        }
      if (errno == EINTR || errno == ECONNABORTED)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        {
          portico_watch_wait (link->loop, &link->listen_watch, PORTICO_EV_READ);
          return;
        }
      /* Out of descriptors or memory: pause rather than spin; closing
       * relays frees some. */
      g_warning ("link %s: accept: %s (pausing %d ms)", link->address, g_strerror (errno),
                 LINK_ACCEPT_PAUSE_MS);
      portico_timer_arm (link->loop, &link->accept_pause, LINK_ACCEPT_PAUSE_MS);
      return;
    }
}

static void
link_on_listen_events (PorticoWatch *watch, guint events)
{
  link_accept_all ((PorticoLink *) ((char *) watch - G_STRUCT_OFFSET (PorticoLink, listen_watch)));
}

static void
link_on_accept_pause (PorticoTimer *timer)
{
  link_accept_all ((PorticoLink *) ((char *) timer - G_STRUCT_OFFSET (PorticoLink, accept_pause)));
}

/* --- the API --- */

PorticoLink *
portico_link_new (PorticoLoop *loop, const char *listen, const char *target,
                  const PorticoLinkProps *props, GError **error)
{
  g_return_val_if_fail (loop != NULL, NULL);
  g_return_val_if_fail (listen != NULL, NULL);
  g_return_val_if_fail (target != NULL, NULL);
  g_return_val_if_fail (props != NULL, NULL);

  PorticoAddress laddr;
  if (!portico_address_parse (listen, 0, &laddr, error))
    return NULL;
  PorticoLink *link = g_new0 (PorticoLink, 1);
  link->loop = loop;
  link->listen_fd = -1;
  link->listen_watch.fd = -1;
  link->accept_pause.func = link_on_accept_pause;
  link->props = *props;
  g_queue_init (&link->relays);
  link->rand = g_rand_new ();

  if (!portico_address_parse (target, 0, &link->target, error))
    goto fail;
  link->listen_fd = portico_sock_listen (&laddr, FALSE, LINK_BACKLOG, error);
  if (link->listen_fd < 0)
    goto fail;
  char host[INET6_ADDRSTRLEN];
  guint16 port = portico_sock_addr_text ((const struct sockaddr *) &laddr.addr, host, sizeof host);
  link->address = g_strdup_printf (strchr (host, ':') ? "[%s]:%u" : "%s:%u", host, port);
  if (!portico_watch_add (loop, &link->listen_watch, link->listen_fd, link_on_listen_events))
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "cannot watch %s: %s",
                   link->address, g_strerror (errno));
      close (link->listen_fd);
      link->listen_fd = -1;
      goto fail;
    }
  portico_watch_wait (loop, &link->listen_watch, PORTICO_EV_READ);
  portico_address_clear (&laddr);
  return link;

fail:
  portico_address_clear (&laddr);
  portico_link_free (link);
  return NULL;
}

const char *
portico_link_address (PorticoLink *link)
{
  g_return_val_if_fail (link != NULL, NULL);
  return link->address;
}

void
portico_link_set_props (PorticoLink *link, const PorticoLinkProps *props)
{
  g_return_if_fail (link != NULL && props != NULL);
  gboolean going_down = props->down && !link->props.down;
  link->props = *props;
  if (going_down)
    while (link->relays.head != NULL)
      relay_reset (link->relays.head->data);
}

void
portico_link_get_stats (PorticoLink *link, PorticoLinkStats *stats)
{
  g_return_if_fail (link != NULL && stats != NULL);
  *stats = link->stats;
}

void
portico_link_free (PorticoLink *link)
{
  if (link == NULL)
    return;
  while (link->relays.head != NULL)
    relay_close (link->relays.head->data, FALSE);
  if (link->listen_fd >= 0)
    {
      portico_watch_remove (link->loop, &link->listen_watch);
      close (link->listen_fd);
    }
  portico_timer_disarm (link->loop, &link->accept_pause);
  portico_address_clear (&link->target);
  g_rand_free (link->rand);
  g_free (link->address);
  g_free (link);
}
