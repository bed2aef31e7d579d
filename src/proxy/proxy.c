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

void
portico_proxy_free (PorticoProxy *proxy)
{
  if (proxy == NULL)
    return;
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
