/* traffic-cli.c: `portico traffic`: the load generator from the command
 * line, for benchmarks (bench/traffic-vs-wrk) and by hand. It uses only the
 * API of traffic.h. */
#include "lab/traffic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <glib-unix.h>
#include <json-glib/json-glib.h>

#include "core/address.h"
#include "core/config.h"

/* Status codes are three digits: below this. */
#define N_STATUS 1000

static gboolean
invalid (GError **error, const char *fmt, const char *what)
{
  g_set_error (error, PORTICO_CONFIG_ERROR, PORTICO_CONFIG_ERROR_INVALID, fmt, what);
  return FALSE;
}

/* --- `portico traffic`: the command line. It uses only the API of
 * traffic.h, so it can move to a file of its own. --- */

static void
cli_on_done (PorticoTraffic *t, gpointer data)
{
  *(gboolean *) data = TRUE;
}

static gboolean
cli_on_signal (gpointer data)
{
  portico_traffic_stop (data);
  return G_SOURCE_CONTINUE;
}

/* "http[s]://HOST[:PORT]/PATH" (or without the scheme: http) into an
 * address with a port and the path to send; *@tls for https. */
static gboolean
cli_parse_url (const char *url, PorticoTrafficSpec *spec, gboolean *tls, GError **error)
{
  *tls = g_str_has_prefix (url, "https://");
  const char *rest = *tls ? url + 8 : g_str_has_prefix (url, "http://") ? url + 7 : url;
  if (strstr (rest, "://") != NULL)
    return invalid (error, "%s: only http:// and https:// URLs", url);
  const char *slash = strchr (rest, '/');
  g_autofree char *authority = slash ? g_strndup (rest, (gsize) (slash - rest)) : g_strdup (rest);
  const char *bracket = strrchr (authority, ']');
  gboolean has_port = strchr (bracket ? bracket : authority, ':') != NULL;
  spec->address = has_port ? g_steal_pointer (&authority) : g_strconcat (authority, *tls ? ":443" : ":80", NULL);
  spec->path = g_strdup (slash ? slash : "/");
  return TRUE;
}

static void
cli_print_text (const PorticoTrafficSpec *spec, const PorticoTrafficResult *r)
{
  double rps = r->duration_s > 0 ? (double) r->completed / r->duration_s : 0;
  if (spec->concurrency > 0)
    g_print ("traffic: closed loop, %u connections", spec->concurrency);
  else
    g_print ("traffic: open loop, %.0f requests/s", spec->rate);
  g_print (", %s, %s %s://%s%s\n", spec->keepalive ? "keep-alive" : "a connection per request", spec->method,
           spec->tls ? "https" : "http", spec->address, spec->path);
  g_print ("  requests     %" G_GUINT64_FORMAT " started, %" G_GUINT64_FORMAT " completed, %" G_GUINT64_FORMAT
           " not started, in %.2f s\n", r->started, r->completed, r->not_started, r->duration_s);
  g_print ("  status      ");
  for (int code = 0; code < N_STATUS; code++)
    {
      guint64 *n = g_hash_table_lookup (r->status, GINT_TO_POINTER (code));
      if (n != NULL)
        g_print (" %d: %" G_GUINT64_FORMAT, code, *n);
    }
  g_print ("\n  errors      ");
  for (int e = 0; e < PORTICO_TRAFFIC_N_ERRORS; e++)
    g_print (" %s %" G_GUINT64_FORMAT, portico_traffic_error_name (e), r->errors[e]);
  g_print ("\n  latency      p50 %.3f ms, p90 %.3f, p99 %.3f, p99.9 %.3f, max %.3f, mean %.3f\n", r->p50_ms,
           r->p90_ms, r->p99_ms, r->p999_ms, r->max_ms, r->mean_ms);
  if (spec->rate > 0)
    g_print ("  start lag    mean %.3f ms, max %.3f ms\n", r->start_lag_mean_ms, r->start_lag_max_ms);
  g_print ("  connections  %" G_GUINT64_FORMAT " opened; %" G_GUINT64_FORMAT " bytes received\n",
           r->connections_opened, r->bytes_received);
  if (spec->tls != NULL)
    g_print ("  tls          %" G_GUINT64_FORMAT " full, %" G_GUINT64_FORMAT " resumed, %" G_GUINT64_FORMAT
             " failed handshakes%s\n", r->tls_handshakes[PORTICO_TRAFFIC_TLS_FULL],
             r->tls_handshakes[PORTICO_TRAFFIC_TLS_RESUMED], r->tls_handshakes[PORTICO_TRAFFIC_TLS_FAILED],
             spec->tls_no_resume ? " (no session offered)" : "");
  g_print ("Requests/sec: %.2f\n", rps);
}

static void
cli_member_u64 (JsonBuilder *b, const char *name, guint64 v)
{
  json_builder_set_member_name (b, name);
  json_builder_add_int_value (b, (gint64) v);
}

/* "object": { names[i]: values[i], ... } */
static void
cli_member_doubles (JsonBuilder *b, const char *object, const char *const *names, const double *values, guint n)
{
  if (object != NULL)
    {
      json_builder_set_member_name (b, object);
      json_builder_begin_object (b);
    }
  for (guint i = 0; i < n; i++)
    {
      json_builder_set_member_name (b, names[i]);
      json_builder_add_double_value (b, values[i]);
    }
  if (object != NULL)
    json_builder_end_object (b);
}

static void
cli_print_json (const PorticoTrafficResult *r)
{
  static const char *const totals[] = { "duration_s", "rps" };
  static const char *const latency[] = { "p50", "p90", "p99", "p999", "max", "mean" };
  static const char *const lag[] = { "mean", "max" };
  g_autoptr(JsonBuilder) b = json_builder_new ();
  GHashTableIter iter;
  gpointer key, value;
  char code_text[16];

  json_builder_begin_object (b);
  cli_member_u64 (b, "started", r->started);
  cli_member_u64 (b, "not_started", r->not_started);
  cli_member_u64 (b, "completed", r->completed);
  cli_member_u64 (b, "connections_opened", r->connections_opened);
  cli_member_u64 (b, "bytes_received", r->bytes_received);
  cli_member_doubles (b, NULL, totals,
                      (double[]) { r->duration_s, r->duration_s > 0 ? (double) r->completed / r->duration_s : 0 }, 2);
  cli_member_doubles (b, "latency_ms", latency,
                      (double[]) { r->p50_ms, r->p90_ms, r->p99_ms, r->p999_ms, r->max_ms, r->mean_ms }, 6);
  cli_member_doubles (b, "start_lag_ms", lag, (double[]) { r->start_lag_mean_ms, r->start_lag_max_ms }, 2);
  json_builder_set_member_name (b, "errors");
  json_builder_begin_object (b);
  for (int e = 0; e < PORTICO_TRAFFIC_N_ERRORS; e++)
    cli_member_u64 (b, portico_traffic_error_name (e), r->errors[e]);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "tls_handshakes");
  json_builder_begin_object (b);
  for (int k = 0; k < PORTICO_TRAFFIC_TLS_KINDS; k++)
    cli_member_u64 (b, portico_traffic_tls_kind_name (k), r->tls_handshakes[k]);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "status");
  json_builder_begin_object (b);
  for (int code = 0; code < N_STATUS; code++)
    {
      guint64 *n = g_hash_table_lookup (r->status, GINT_TO_POINTER (code));
      g_snprintf (code_text, sizeof code_text, "%d", code);
      if (n != NULL)
        cli_member_u64 (b, code_text, *n);
    }
  json_builder_end_object (b);
  json_builder_set_member_name (b, "headers_seen");
  json_builder_begin_object (b);
  g_hash_table_iter_init (&iter, r->headers_seen);
  while (g_hash_table_iter_next (&iter, &key, &value))
    cli_member_u64 (b, key, *(guint64 *) value);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "seconds");
  json_builder_begin_array (b);
  for (guint i = 0; i < r->seconds->len; i++)
    {
      const PorticoTrafficSecond *s = &g_array_index (r->seconds, PorticoTrafficSecond, i);
      json_builder_begin_object (b);
      cli_member_u64 (b, "started", s->started);
      cli_member_u64 (b, "completed", s->completed);
      cli_member_u64 (b, "errors", portico_traffic_errors_total (s->errors));
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  g_autoptr(JsonNode) root = json_builder_get_root (b);
  g_autofree char *text = json_to_string (root, TRUE);
  g_print ("%s\n", text);
}

int
portico_traffic_cli_main (int argc, char **argv)
{
  int connections = 0, timeout_ms = 10000, max_connections = 10000;
  double rate = 0, duration = 0;
  gint64 count = 0;
  gboolean no_keepalive = FALSE, json = FALSE, insecure = FALSE, no_resume = FALSE, tls = FALSE;
  g_autofree char *method = NULL, *body = NULL, *cacert = NULL, *ca_pem = NULL;
  g_auto (GStrv) headers = NULL, count_headers = NULL;
  GOptionEntry entries[] = {
    { "connections", 'c', 0, G_OPTION_ARG_INT, &connections, "Closed loop: N connections (default 10)", "N" },
    { "rate", 'r', 0, G_OPTION_ARG_DOUBLE, &rate, "Open loop: R requests started per second", "R" },
    { "duration", 'd', 0, G_OPTION_ARG_DOUBLE, &duration, "Seconds of load (default 10 without -n)", "S" },
    { "requests", 'n', 0, G_OPTION_ARG_INT64, &count, "Stop after N requests", "N" },
    { "method", 'm', 0, G_OPTION_ARG_STRING, &method, "Request method (default GET)", "METHOD" },
    { "header", 'H', 0, G_OPTION_ARG_STRING_ARRAY, &headers, "A request header (repeatable)", "'NAME: VALUE'" },
    { "body", 'b', 0, G_OPTION_ARG_STRING, &body, "Request body (sent with Content-Length)", "TEXT" },
    { "no-keepalive", 0, 0, G_OPTION_ARG_NONE, &no_keepalive, "A new connection per request", NULL },
    { "timeout", 't', 0, G_OPTION_ARG_INT, &timeout_ms, "Per-request timeout (default 10000)", "MS" },
    { "max-connections", 0, 0, G_OPTION_ARG_INT, &max_connections, "Open loop: connection cap", "N" },
    { "count-header", 0, 0, G_OPTION_ARG_STRING_ARRAY, &count_headers, "Count answers with this header", "NAME" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the figures as JSON", NULL },
    { "insecure", 'k', 0, G_OPTION_ARG_NONE, &insecure, "https: accept any certificate", NULL },
    { "cacert", 0, 0, G_OPTION_ARG_FILENAME, &cacert, "https: trust these CAs (PEM), not the system's", "FILE" },
    { "no-tls-resume", 0, 0, G_OPTION_ARG_NONE, &no_resume,
      "https: offer no session, a full handshake per connection", NULL },
    { NULL },
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("URL - Portico's load generator");
  g_autoptr(GError) error = NULL;
  PorticoTrafficSpec spec = { 0 };
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc != 2 ||
      !cli_parse_url (argv[1], &spec, &tls, &error) ||
      (cacert != NULL && !g_file_get_contents (cacert, &ca_pem, NULL, &error)) || connections < 0 ||
      timeout_ms < 0 || max_connections < 0 || duration < 0 || duration > G_MAXUINT / 1000.0 || count < 0)
    {
      g_printerr ("portico traffic: %s\n", error ? error->message : "usage: portico traffic [OPTIONS] URL");
      portico_traffic_spec_clear (&spec);
      return 2;
    }
  spec.method = g_strdup (method ? method : "GET");
  spec.headers = g_ptr_array_new ();
  for (guint i = 0; headers != NULL && headers[i] != NULL; i++)
    {
      const char *colon = strchr (headers[i], ':');
      PorticoTrafficHeader *h = g_new (PorticoTrafficHeader, 1);
      h->name = colon ? g_strndup (headers[i], (gsize) (colon - headers[i])) : g_strdup (headers[i]);
      h->value = g_strstrip (g_strdup (colon ? colon + 1 : ""));
      g_ptr_array_add (spec.headers, h);
    }
  spec.body = body ? g_bytes_new (body, strlen (body)) : NULL;
  spec.rate = rate;
  spec.concurrency = rate > 0 ? (guint) connections : (guint) (connections ? connections : 10);
  spec.duration_ms = (guint) (duration > 0 ? duration * 1000 : count > 0 ? 0 : 10000);
  spec.count = (guint64) count;
  spec.keepalive = !no_keepalive;
  spec.timeout_ms = (guint) timeout_ms;
  spec.max_connections = (guint) max_connections;
  spec.count_headers = g_steal_pointer (&count_headers);

  /* Many connections need many descriptors: as many as we may have. */
  struct rlimit lim;
  if (getrlimit (RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max)
    {
      lim.rlim_cur = lim.rlim_max;
      setrlimit (RLIMIT_NOFILE, &lim);
    }
  PorticoTlsClientOptions tls_options = { .verify = !insecure, .ca_pem = ca_pem };
  PorticoTlsClient *tls_client = tls ? portico_tls_client_new (&tls_options, &error) : NULL;
  spec.tls = tls_client;
  spec.tls_no_resume = no_resume;
  PorticoLoop *loop = portico_loop_new (NULL, PORTICO_EVENT_BACKEND_EPOLL);
  PorticoTraffic *t = tls && tls_client == NULL ? NULL : portico_traffic_new (loop, &spec, &error);
  if (t == NULL)
    {
      g_printerr ("portico traffic: %s\n", error->message);
      portico_traffic_spec_clear (&spec);
      portico_tls_client_free (tls_client);
      portico_loop_free (loop);
      return 2;
    }
  gboolean done = FALSE;
  guint sig_int = g_unix_signal_add (SIGINT, cli_on_signal, t);
  guint sig_term = g_unix_signal_add (SIGTERM, cli_on_signal, t);
  portico_traffic_set_done_func (t, cli_on_done, &done);
  portico_traffic_start (t);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (sig_int);
  g_source_remove (sig_term);
  const PorticoTrafficResult *r = portico_traffic_result (t);
  if (json)
    cli_print_json (r);
  else
    cli_print_text (&spec, r);
  portico_traffic_free (t);
  portico_traffic_spec_clear (&spec);
  portico_tls_client_free (tls_client);
  portico_loop_free (loop);
  return 0;
}
