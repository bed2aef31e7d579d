/* health-probe.c: active health checks, run by one worker of the node.
 *
 * Each worker calls portico_health_probe() for an upstream from one timer
 * per upstream (so the timers are as many as the upstreams with active
 * checks, whatever the traffic). At each tick one worker of the node runs
 * the round: the first to take the round's lease, a key of the shared
 * dictionary that lives one tick ("h|U|lease": the incr that makes it 1
 * wins). A killed worker or a reload loses nothing: the next tick, any
 * worker takes it. The round probes the targets that are due (when each
 * was last probed is shared too: "h|U|T|at"): a healthy target every
 * active.healthy.interval, an unhealthy one every active.unhealthy.interval
 * (0: not probed in that state), at most active.concurrency at once. A
 * probe connects (tcp: that is all; https: then a TLS handshake with the
 * upstream's probe client, net/tls.h; http and https: GET http_path and
 * read the status line's head), within active.timeout, and reports what
 * happened to health.c, which counts it towards the target's state for
 * every worker. A handshake that fails counts as a tcp failure, as Kong's
 * do.
 */
#include "proxy/proxy-private.h"

#include <errno.h>
#include <unistd.h>
#include "net/sock.h"

typedef struct _ProbeState ProbeState;

typedef struct {
  PorticoConn conn; /* first: the watch callback casts back */
  ProbeState *state;
  guint target;
  gboolean connected;
} Probe;

/* One upstream's probes in this worker. */
struct _ProbeState {
  PorticoProxy *proxy;
  const PorticoUpstream *upstream;
  Probe **running;  /* the probe in flight per target, or NULL */
  guint n_running;
};

static void
state_free (gpointer data)
{
  ProbeState *s = data;
  for (guint i = 0; i < s->upstream->targets->len; i++)
    if (s->running[i] != NULL)
      {
        portico_conn_close (&s->running[i]->conn);
        g_free (s->running[i]);
      }
  g_free (s->running);
  g_free (s);
}

void
portico_health_probes_free (PorticoProxy *proxy)
{
  g_clear_pointer (&proxy->probes, g_hash_table_destroy);
}

guint
portico_health_probe_interval (const PorticoUpstream *upstream)
{
  guint healthy = upstream->healthchecks.active_healthy.interval_ms;
  guint unhealthy = upstream->healthchecks.active_unhealthy.interval_ms;
  if (healthy == 0 || unhealthy == 0)
    return MAX (healthy, unhealthy);
  return MIN (healthy, unhealthy);
}

static void
probe_end (Probe *p, PorticoHealthOutcome outcome, guint status)
{
  ProbeState *s = p->state;
  s->running[p->target] = NULL;
  s->n_running--;
  portico_health_report (s->upstream, p->target, TRUE, outcome, status);
  portico_conn_close (&p->conn);
  portico_loop_defer (s->proxy->loop, g_free, p);
}

static void
probe_on_timeout (PorticoTimer *timer)
{
  Probe *p = (Probe *) ((char *) timer - G_STRUCT_OFFSET (PorticoConn, timer));
  probe_end (p, PORTICO_HEALTH_TIMEOUT, 0);
}

/* A probe that could not talk TLS: one line with the upstream, the target
 * and OpenSSL's reason; it counts as a tcp failure, as in Kong. */
static void
probe_tls_failed (Probe *p, const char *why)
{
  const PorticoUpstream *upstream = p->state->upstream;
  const PorticoTarget *t = g_ptr_array_index (upstream->targets, p->target);
  g_message ("upstream %s: health probe to %s: %s", upstream->name, t->target, why);
  probe_end (p, PORTICO_HEALTH_TCP_FAILURE, 0);
}

/* https: TLS starts once the connect is done. The name is https_sni, else
 * the target's host (not sent as SNI when it is an address, but checked
 * all the same when the probes verify). */
static gboolean
probe_start_tls (Probe *p)
{
  const PorticoUpstream *upstream = p->state->upstream;
  const PorticoTarget *t = g_ptr_array_index (upstream->targets, p->target);
  const char *name = upstream->healthchecks.https_sni ? upstream->healthchecks.https_sni : t->address.host;
  return upstream->probe_tls_client != NULL &&
         portico_conn_tls_client (&p->conn, upstream->probe_tls_client, name, t->target);
}

/* The connect, then (https) the handshake: TRUE once the request may go,
 * FALSE while they go on or once the probe has ended. */
static gboolean
probe_connected (Probe *p)
{
  PorticoProbeType type = p->state->upstream->healthchecks.active_type;
  if (!p->connected)
    {
      if (!p->conn.write_ready)
        return FALSE;
      if (portico_sock_error (p->conn.fd) != 0)
        {
          probe_end (p, PORTICO_HEALTH_TCP_FAILURE, 0);
          return FALSE;
        }
      p->connected = TRUE;
      if (type == PORTICO_PROBE_TCP)
        {
          probe_end (p, PORTICO_HEALTH_CONNECTED, 0);
          return FALSE;
        }
      if (type == PORTICO_PROBE_HTTPS && !probe_start_tls (p))
        {
          probe_tls_failed (p, "cannot start TLS");
          return FALSE;
        }
    }
  /* At once on a plaintext connection. */
  PorticoIoResult io = portico_conn_handshake (&p->conn);
  if (io == PORTICO_IO_OK)
    return TRUE;
  if (io != PORTICO_IO_AGAIN)
    {
      char why[200] = "closed during the TLS handshake", reason[160];
      if (p->conn.failed)
        g_snprintf (why, sizeof why, "TLS handshake failed: %s",
                    portico_conn_error_text (&p->conn, reason, sizeof reason));
      probe_tls_failed (p, why);
    }
  return FALSE;
}

/* http(s): once connected, the request is in conn.out; read until the head. */
static void
probe_run (Probe *p)
{
  if (!probe_connected (p))
    return;
  if (portico_buf_len (&p->conn.out) > 0 && portico_conn_flush (&p->conn) == PORTICO_IO_ERROR)
    {
      probe_end (p, PORTICO_HEALTH_TCP_FAILURE, 0);
      return;
    }
  for (;;)
    {
      PorticoIoResult io = portico_conn_fill (&p->conn, 16384);
      if (io == PORTICO_IO_AGAIN)
        break;
      PorticoHttpLimits limits;
      PorticoHttpResponse resp;
      portico_http_limits_init (&limits);
      PorticoHttpParseResult parsed = portico_http_parse_response (
        portico_buf_head (&p->conn.in), portico_buf_len (&p->conn.in), &limits, PORTICO_METHOD_GET, &resp);
      if (parsed == PORTICO_HTTP_OK)
        {
          probe_end (p, PORTICO_HEALTH_ANSWERED, (guint) resp.status);
          return;
        }
      if (parsed == PORTICO_HTTP_ERROR || io != PORTICO_IO_OK)
        {
          /* Closed, reset or not HTTP before a whole head. */
          probe_end (p, PORTICO_HEALTH_TCP_FAILURE, 0);
          return;
        }
    }
  portico_conn_sync_wait (&p->conn);
}

static void
probe_on_events (PorticoWatch *watch, guint events)
{
  Probe *p = (Probe *) watch;
  portico_conn_on_events (&p->conn, events);
  probe_run (p);
}

static void
probe_start (ProbeState *s, guint target)
{
  const PorticoUpstream *upstream = s->upstream;
  const PorticoTarget *t = g_ptr_array_index (upstream->targets, target);
  int fd = portico_sock_connect ((const struct sockaddr *) &t->address.addr, t->address.addr_len);
  if (fd < 0)
    {
      portico_health_report (upstream, target, TRUE, PORTICO_HEALTH_TCP_FAILURE, 0);
      return;
    }
  Probe *p = g_new0 (Probe, 1);
  p->state = s;
  p->target = target;
  if (!portico_conn_init (&p->conn, s->proxy->loop, fd, probe_on_events))
    {
      close (fd);
      g_free (p);
      portico_health_report (upstream, target, TRUE, PORTICO_HEALTH_TCP_FAILURE, 0);
      return;
    }
  if (upstream->healthchecks.active_type != PORTICO_PROBE_TCP)
    portico_buf_printf (&p->conn.out,
                        "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: portico-health\r\nConnection: close\r\n\r\n",
                        upstream->healthchecks.http_path, t->target);
  p->conn.timer.func = probe_on_timeout;
  portico_timer_arm (s->proxy->loop, &p->conn.timer, upstream->healthchecks.timeout_ms);
  s->running[target] = p;
  s->n_running++;
  portico_conn_sync_wait (&p->conn);
}

/* Whether this worker runs this tick's round (see the top). */
static gboolean
take_lease (const PorticoUpstream *upstream, guint tick_ms)
{
  char key[PORTICO_HEALTH_KEY_MAX];
  gint64 n = 0;
  int len = g_snprintf (key, sizeof key, "h|%s|lease", upstream->name);
  /* A little short of a tick, so that the next tick finds it gone. */
  return len > 0 && (gsize) len < sizeof key &&
         portico_shared_incr (key, 1, MAX (tick_ms * 9 / 10, 1), &n) && n == 1;
}

/* When target @i was last probed by any worker (monotonic ms), or -1. */
static gint64
last_probe_ms (const PorticoUpstream *upstream, guint i)
{
  char key[PORTICO_HEALTH_KEY_MAX];
  gint64 at = -1;
  if (!portico_health_key (key, sizeof key, upstream, i, "at") || !portico_shared_get (key, &at, NULL))
    return -1;
  return at;
}

static void
set_last_probe_ms (const PorticoUpstream *upstream, guint i, gint64 at)
{
  char key[PORTICO_HEALTH_KEY_MAX];
  if (portico_health_key (key, sizeof key, upstream, i, "at"))
    portico_shared_set (key, at, 0);
}

void
portico_health_probe (PorticoProxy *proxy, const PorticoUpstream *upstream)
{
  guint tick = portico_health_probe_interval (upstream);
  if (proxy->draining || tick == 0 || !take_lease (upstream, tick))
    return;
  if (proxy->probes == NULL)
    proxy->probes = g_hash_table_new_full (NULL, NULL, NULL, state_free);
  ProbeState *s = g_hash_table_lookup (proxy->probes, upstream);
  if (s == NULL)
    {
      s = g_new0 (ProbeState, 1);
      s->proxy = proxy;
      s->upstream = upstream;
      s->running = g_new0 (Probe *, upstream->targets->len);
      g_hash_table_insert (proxy->probes, (gpointer) upstream, s);
    }
  const PorticoHealthchecks *hc = &upstream->healthchecks;
  gint64 now_ms = g_get_monotonic_time () / 1000;
  for (guint i = 0; i < upstream->targets->len && s->n_running < hc->concurrency; i++)
    {
      if (s->running[i] != NULL)
        continue;
      gboolean up = portico_health_target_up (proxy, upstream, i);
      guint interval = up ? hc->active_healthy.interval_ms : hc->active_unhealthy.interval_ms;
      gint64 last = last_probe_ms (upstream, i);
      /* Due a little early rather than a whole tick late: timers fire in whole ms. */
      if (interval > 0 && (last < 0 || now_ms - last + 2 >= (gint64) interval))
        {
          set_last_probe_ms (upstream, i, now_ms);
          probe_start (s, i);
        }
    }
}
