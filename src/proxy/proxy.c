/* proxy.c: the per-worker proxy: its router, pools and connections. */
#include "proxy/proxy-private.h"

PorticoProxy *
portico_proxy_new (PorticoLoop *loop, const PorticoConfig *config)
{
  PorticoProxy *proxy = g_new0 (PorticoProxy, 1);
  proxy->loop = loop;
  proxy->config = config;
  proxy->router = portico_router_new (config);
  portico_http_limits_init (&proxy->limits);
  proxy->limits.max_request_line = config->node.max_request_line;
  proxy->limits.max_head = config->node.max_header_size;
  g_queue_init (&proxy->clients);
  proxy->pools = g_hash_table_new (NULL, NULL);
  proxy->free_exchanges = g_ptr_array_new ();
  return proxy;
}

static void
exchange_storage_free (gpointer data)
{
  PorticoExchange *x = data;
  portico_request_clear (&x->pdk);
  g_free (x->head);
  g_free (x->path);
  g_free (x);
}

static const PorticoRequestHooks handshake_hooks = {
  .record_phase = portico_proxy_record_phase,
};

/* The certificate phase of a new TLS session (tls.h's picker): the global
 * instances see the SNI, and may pick a certificate or refuse. */
static int
proxy_pick_certificate (gpointer owner, const char *sni, gpointer data)
{
  PorticoProxy *proxy = data;
  PorticoClient *client = owner;
  PorticoRequest r = { 0 };
  portico_request_start_handshake (&r, proxy->plan, &handshake_hooks, proxy->config->certificates, sni,
                                   client ? client->peer_ip : NULL, client ? client->peer_port : 0,
                                   client ? client->local_port : 0);
  PorticoResult result = portico_phase_run (&r, PORTICO_PHASE_CERTIFICATE);
  int pick = r.certificate >= 0 ? r.certificate : PORTICO_TLS_PICK_BY_SNI;
  if (result != PORTICO_CONTINUE)
    {
      g_info ("%s: TLS handshake refused by %s in certificate (SNI %s)", client ? client->peer_ip : "?",
              r.current->loaded->module->name, sni ? sni : "none");
      pick = PORTICO_TLS_PICK_REFUSE;
    }
  portico_request_clear (&r);
  return pick;
}

/* The config's TLS listeners share one server: it asks @picker. */
static void
proxy_set_picker (PorticoProxy *proxy, PorticoTlsPicker picker)
{
  for (guint i = 0; i < proxy->config->node.listen->len; i++)
    {
      const PorticoListen *listen = g_ptr_array_index (proxy->config->node.listen, i);
      if (listen->tls != NULL)
        portico_tls_server_set_picker (listen->tls, picker, picker ? proxy : NULL);
    }
}

void
portico_proxy_free (PorticoProxy *proxy)
{
  if (proxy == NULL)
    return;
  proxy_set_picker (proxy, NULL);
  while (proxy->clients.head != NULL)
    portico_client_abort (proxy->clients.head->data);
  portico_upstream_pools_free (proxy);
  g_hash_table_destroy (proxy->pools);
  g_ptr_array_set_free_func (proxy->free_exchanges, exchange_storage_free);
  g_ptr_array_free (proxy->free_exchanges, TRUE);
  portico_router_free (proxy->router);
  portico_plan_free (proxy->plan);
  g_free (proxy->spare_trace);
  g_free (proxy);
}

void
portico_proxy_set_modules (PorticoProxy *proxy, const PorticoModuleSet *modules)
{
  portico_plan_free (proxy->plan);
  proxy->plan = portico_plan_new (modules);
  proxy_set_picker (proxy, portico_plan_global_wants (proxy->plan, PORTICO_PHASE_CERTIFICATE)
                             ? proxy_pick_certificate : NULL);
}

void
portico_proxy_set_tracer (PorticoProxy *proxy, const PorticoTracer *tracer)
{
  proxy->tracer = *tracer;
}

const PorticoProxyStats *
portico_proxy_stats (PorticoProxy *proxy)
{
  return &proxy->stats;
}

guint
portico_proxy_n_connections (PorticoProxy *proxy)
{
  return proxy->stats.connections;
}
