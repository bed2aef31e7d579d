/* request.c: the request side of the module API (portico.h). */
#include "pdk/phases.h"

#include <string.h>

struct _PorticoArenaBlock {
  PorticoArenaBlock *next;
  gsize size;
  gsize used;
  char data[];
};

#define ARENA_BLOCK 4096

gpointer
portico_request_arena_alloc (PorticoRequest *r, gsize size)
{
  size = (size + 15) & ~(gsize) 15;
  PorticoArenaBlock *b = r->arena;
  if (b == NULL || b->size - b->used < size)
    {
      gsize block = MAX (ARENA_BLOCK, size + sizeof *b);
      b = g_malloc (block);
      b->size = block - sizeof *b;
      b->used = 0;
      b->next = r->arena;
      r->arena = b;
    }
  gpointer p = b->data + b->used;
  b->used += size;
  memset (p, 0, size);
  return p;
}

char *
portico_request_arena_strndup (PorticoRequest *r, const char *s, gsize len)
{
  char *copy = portico_request_arena_alloc (r, len + 1);
  memcpy (copy, s, len);
  copy[len] = '\0';
  return copy;
}

/* What a request and a handshake's request start with. */
static void
request_begin (PorticoRequest *r, const PorticoPlan *plan, const PorticoRequestHooks *hooks,
               const char *client_ip, guint client_port, guint port)
{
  static guint64 next_id;
  r->plan = plan;
  r->hooks = hooks;
  r->id = ++next_id;
  r->client_ip = client_ip;
  r->client_port = client_port;
  r->port = port;
  r->certificate = -1;
  r->started_us = g_get_monotonic_time ();
  r->upstream_sent_us = r->upstream_head_us = -1;
  guint n = portico_plan_n_modules (plan);
  if (n > 0)
    r->ctx = portico_request_arena_alloc (r, sizeof *r->ctx * n);
}

void
portico_request_start (PorticoRequest *r, const PorticoPlan *plan, const PorticoRequestHooks *hooks,
                       gpointer owner, PorticoHttpRequest *http, const char *path, gsize path_len,
                       const char *client_ip, guint client_port, guint port)
{
  request_begin (r, plan, hooks, client_ip, client_port, port);
  r->owner = owner;
  r->http = http;
  r->path = path;
  r->path_len = path_len;
  portico_header_table_borrow (&r->req_headers, http->headers, (guint) http->n_headers);
}

void
portico_request_start_handshake (PorticoRequest *r, const PorticoPlan *plan, const PorticoRequestHooks *hooks,
                                 const GPtrArray *certificates, const char *sni, const char *client_ip,
                                 guint client_port, guint port)
{
  request_begin (r, plan, hooks, client_ip, client_port, port);
  r->phase = PORTICO_PHASE_CERTIFICATE;
  r->certificates = certificates;
  if (sni != NULL)
    {
      char *lower = portico_request_arena_strndup (r, sni, strlen (sni));
      for (char *p = lower; *p; p++)
        *p = g_ascii_tolower (*p);
      r->sni = lower;
    }
}

void
portico_request_finish (PorticoRequest *r)
{
  if (r->hooks && r->resume_scheduled)
    r->hooks->cancel (r);
  for (guint j = 0; r->ctx != NULL && j < portico_plan_n_modules (r->plan); j++)
    if (r->ctx[j].destroy != NULL && r->ctx[j].data != NULL)
      r->ctx[j].destroy (r->ctx[j].data);
  if (r->resp_edits)
    g_array_set_size (r->resp_edits, 0);
  /* Keep the newest block (it is the biggest) for the next request. */
  PorticoArenaBlock *keep = r->arena;
  if (keep != NULL)
    {
      PorticoArenaBlock *b = keep->next;
      while (b != NULL)
        {
          PorticoArenaBlock *next = b->next;
          g_free (b);
          b = next;
        }
      keep->next = NULL;
      keep->used = 0;
      if (keep->size > 4 * ARENA_BLOCK)
        {
          g_free (keep);
          keep = NULL;
        }
    }
  GArray *edits = r->resp_edits;
  GString *bufs[2] = { r->chunk_bufs[0], r->chunk_bufs[1] };
  memset (r, 0, sizeof *r);
  r->arena = keep;
  r->resp_edits = edits;
  for (int i = 0; i < 2; i++)
    if (bufs[i] != NULL && bufs[i]->allocated_len > 64 * 1024)
      {
        g_string_free (bufs[i], TRUE);
        bufs[i] = NULL;
      }
  r->chunk_bufs[0] = bufs[0];
  r->chunk_bufs[1] = bufs[1];
}

void
portico_request_clear (PorticoRequest *r)
{
  portico_request_finish (r);
  g_free (r->arena);
  if (r->resp_edits)
    g_array_free (r->resp_edits, TRUE);
  for (int i = 0; i < 2; i++)
    if (r->chunk_bufs[i])
      g_string_free (r->chunk_bufs[i], TRUE);
  memset (r, 0, sizeof *r);
}

gboolean
portico_request_misuse (PorticoRequest *r, const char *function, const char *why)
{
  const PorticoModule *m = portico_pdk_current_module ();
  g_snprintf (r->last_error, sizeof r->last_error, "%s: %s (module %s)", function, why,
              m ? m->name : "none");
  g_warning ("request %" G_GUINT64_FORMAT ": %s", r->id, r->last_error);
  return FALSE;
}

gboolean
portico_request_check_phase (PorticoRequest *r, const char *function, guint allowed_mask)
{
  if (allowed_mask & PORTICO_PHASE_BIT (r->phase))
    return TRUE;
  char why[64];
  g_snprintf (why, sizeof why, "not allowed in the %s phase", portico_phase_name (r->phase));
  return portico_request_misuse (r, function, why);
}

#define EARLY_PHASES (PORTICO_PHASE_BIT (PORTICO_PHASE_REWRITE) | PORTICO_PHASE_BIT (PORTICO_PHASE_ACCESS))

/* A handshake's request (the certificate phase) has no HTTP request. */
static gboolean
have_http (PorticoRequest *r, const char *function)
{
  if (r->http != NULL)
    return TRUE;
  return portico_request_misuse (r, function, "no HTTP request in the certificate phase");
}

/* ---- the request line -------------------------------------------------------- */

PorticoPhase
portico_request_get_phase (PorticoRequest *r)
{
  return r->phase;
}

const char *
portico_request_last_error (PorticoRequest *r)
{
  return r->last_error;
}

guint64
portico_request_get_id (PorticoRequest *r)
{
  return r->id;
}

const char *
portico_request_get_method (PorticoRequest *r)
{
  if (!have_http (r, "portico_request_get_method"))
    return NULL;
  if (r->method_override == NULL)
    r->method_override = portico_request_arena_strndup (r, r->http->method, r->http->method_len);
  return r->method_override;
}

const char *
portico_request_upstream_method (PorticoRequest *r, gsize *len)
{
  if (r->method_override == NULL)
    {
      *len = r->http->method_len;
      return r->http->method;
    }
  *len = strlen (r->method_override);
  return r->method_override;
}

const char *
portico_request_get_path (PorticoRequest *r)
{
  return r->path;
}

const char *
portico_request_get_raw_query (PorticoRequest *r)
{
  if (!have_http (r, "portico_request_get_raw_query"))
    return NULL;
  if (!r->query_changed)
    {
      r->query = r->http->query ? portico_request_arena_strndup (r, r->http->query, r->http->query_len) : "";
      r->query_changed = TRUE; /* cached: from now on r->query is the query */
    }
  return r->query;
}

void
portico_request_upstream_target (PorticoRequest *r, const char **path, const char **query, gsize *query_len)
{
  *path = r->upstream_path;
  if (r->query_changed)
    {
      *query = r->query[0] ? r->query : NULL;
      *query_len = strlen (r->query);
    }
  else
    {
      *query = r->http->query;
      *query_len = r->http->query_len;
    }
}

int
portico_request_get_http_minor (PorticoRequest *r)
{
  return have_http (r, "portico_request_get_http_minor") ? r->http->version_minor : -1;
}

static gboolean
is_token (const char *s)
{
  if (s == NULL || *s == '\0')
    return FALSE;
  for (; *s; s++)
    if (!g_ascii_isalnum (*s) && strchr ("!#$%&'*+-.^_`|~", *s) == NULL)
      return FALSE;
  return TRUE;
}

gboolean
portico_request_set_method (PorticoRequest *r, const char *method)
{
  if (!portico_request_check_phase (r, "portico_request_set_method", EARLY_PHASES))
    return FALSE;
  if (!is_token (method))
    return portico_request_misuse (r, "portico_request_set_method", "not a method token");
  r->method_override = portico_request_strdup (r, method);
  return TRUE;
}

/* No byte a request line cannot carry. */
static gboolean
is_target_text (const char *s)
{
  for (; *s; s++)
    if ((guchar) *s <= 0x20 || *s == 0x7f || *s == '#')
      return FALSE;
  return TRUE;
}

gboolean
portico_request_set_path (PorticoRequest *r, const char *path)
{
  if (!portico_request_check_phase (r, "portico_request_set_path", EARLY_PHASES))
    return FALSE;
  if (path == NULL || path[0] != '/' || !is_target_text (path) || strchr (path, '?'))
    return portico_request_misuse (r, "portico_request_set_path", "not a path (\"/...\", no space, ? or #)");
  if (r->phase == PORTICO_PHASE_REWRITE)
    {
      r->path = portico_request_strdup (r, path);
      r->path_len = strlen (path);
    }
  else
    r->upstream_path = portico_request_strdup (r, path);
  return TRUE;
}

gboolean
portico_request_set_raw_query (PorticoRequest *r, const char *query)
{
  if (!portico_request_check_phase (r, "portico_request_set_raw_query", EARLY_PHASES))
    return FALSE;
  if (query == NULL || !is_target_text (query))
    return portico_request_misuse (r, "portico_request_set_raw_query", "not a query (no space or #)");
  r->query = portico_request_strdup (r, query);
  r->query_changed = TRUE;
  return TRUE;
}

/* ---- query arguments ------------------------------------------------------------- */

static char *
percent_decode (PorticoRequest *r, const char *s, gsize len)
{
  char *out = portico_request_arena_alloc (r, len + 1);
  gsize o = 0;
  for (gsize i = 0; i < len; i++)
    {
      if (s[i] == '%' && i + 2 < len && g_ascii_isxdigit (s[i + 1]) && g_ascii_isxdigit (s[i + 2]))
        {
          out[o++] = (char) (g_ascii_xdigit_value (s[i + 1]) << 4 | g_ascii_xdigit_value (s[i + 2]));
          i += 2;
        }
      else
        out[o++] = s[i] == '+' ? ' ' : s[i];
    }
  out[o] = '\0';
  return out;
}

/* Calls @func on each "name=value" of @query (decoded name); stops when it
 * returns FALSE. */
typedef gboolean (*QueryFunc) (const char *item, gsize item_len, const char *name, gpointer data);

static void
query_each (PorticoRequest *r, const char *query, QueryFunc func, gpointer data)
{
  const char *p = query;
  while (*p)
    {
      const char *end = strchr (p, '&');
      gsize len = end ? (gsize) (end - p) : strlen (p);
      if (len > 0)
        {
          const char *eq = memchr (p, '=', len);
          char *name = percent_decode (r, p, eq ? (gsize) (eq - p) : len);
          if (!func (p, len, name, data))
            return;
        }
      if (end == NULL)
        break;
      p = end + 1;
    }
}

typedef struct {
  PorticoRequest *r;
  const char *want;
  const char *value;
} ArgLookup;

static gboolean
find_arg (const char *item, gsize item_len, const char *name, gpointer data)
{
  ArgLookup *look = data;
  if (!g_str_equal (name, look->want))
    return TRUE;
  const char *eq = memchr (item, '=', item_len);
  look->value = eq ? percent_decode (look->r, eq + 1, item_len - (gsize) (eq + 1 - item)) : "";
  return FALSE;
}

const char *
portico_request_get_query_arg (PorticoRequest *r, const char *name)
{
  if (!have_http (r, "portico_request_get_query_arg"))
    return NULL;
  ArgLookup look = { r, name, NULL };
  query_each (r, portico_request_get_raw_query (r), find_arg, &look);
  return look.value;
}

static void
append_encoded (GString *s, const char *text)
{
  g_string_append_uri_escaped (s, text, NULL, FALSE);
}

typedef struct {
  const char *drop;
  GString *out;
} ArgFilter;

static gboolean
keep_others (const char *item, gsize item_len, const char *name, gpointer data)
{
  ArgFilter *f = data;
  if (f->drop != NULL && g_str_equal (name, f->drop))
    return TRUE;
  if (f->out->len > 0)
    g_string_append_c (f->out, '&');
  g_string_append_len (f->out, item, (gssize) item_len);
  return TRUE;
}

static gboolean
edit_query (PorticoRequest *r, const char *function, const char *remove, const char *name, const char *value)
{
  if (!portico_request_check_phase (r, function, EARLY_PHASES))
    return FALSE;
  if ((remove == NULL && name == NULL) || (name != NULL && value == NULL))
    return portico_request_misuse (r, function, "NULL argument");
  g_autoptr (GString) out = g_string_new (NULL);
  ArgFilter f = { remove, out };
  query_each (r, portico_request_get_raw_query (r), keep_others, &f);
  if (name != NULL)
    {
      if (out->len > 0)
        g_string_append_c (out, '&');
      append_encoded (out, name);
      g_string_append_c (out, '=');
      append_encoded (out, value);
    }
  r->query = portico_request_arena_strndup (r, out->str, out->len);
  r->query_changed = TRUE;
  return TRUE;
}

gboolean
portico_request_set_query_arg (PorticoRequest *r, const char *name, const char *value)
{
  return edit_query (r, "portico_request_set_query_arg", name, name, value);
}

gboolean
portico_request_add_query_arg (PorticoRequest *r, const char *name, const char *value)
{
  return edit_query (r, "portico_request_add_query_arg", NULL, name, value);
}

gboolean
portico_request_remove_query_arg (PorticoRequest *r, const char *name)
{
  return edit_query (r, "portico_request_remove_query_arg", name, NULL, NULL);
}

/* ---- request headers --------------------------------------------------------------- */

const char *
portico_request_get_header (PorticoRequest *r, const char *name)
{
  return portico_header_table_get (r, &r->req_headers, name);
}

gboolean
portico_request_header_at (PorticoRequest *r, guint index, const char **name, const char **value)
{
  return portico_header_table_at (r, &r->req_headers, index, name, value);
}

static gboolean
edit_request_header (PorticoRequest *r, const char *function, PorticoEditOp op, const char *name,
                     const char *value)
{
  if (!portico_request_check_phase (r, function, EARLY_PHASES))
    return FALSE;
  if (name != NULL && portico_header_is_framing (name, strlen (name)))
    return portico_request_misuse (r, function, "framing fields are the gateway's");
  if (!portico_header_table_set (r, &r->req_headers, op, name, value))
    return portico_request_misuse (r, function, "not a valid field name or value");
  if (g_ascii_strcasecmp (name, "host") == 0)
    r->host_set = TRUE;
  return TRUE;
}

gboolean
portico_request_set_header (PorticoRequest *r, const char *name, const char *value)
{
  return edit_request_header (r, "portico_request_set_header", PORTICO_EDIT_SET, name, value);
}

gboolean
portico_request_add_header (PorticoRequest *r, const char *name, const char *value)
{
  return edit_request_header (r, "portico_request_add_header", PORTICO_EDIT_ADD, name, value);
}

gboolean
portico_request_remove_header (PorticoRequest *r, const char *name)
{
  return edit_request_header (r, "portico_request_remove_header", PORTICO_EDIT_REMOVE, name, NULL);
}

/* ---- body, client, route --------------------------------------------------------------- */

gint64
portico_request_get_body_length (PorticoRequest *r)
{
  if (!have_http (r, "portico_request_get_body_length"))
    return 0;
  switch (r->http->body)
    {
    case PORTICO_BODY_LENGTH: return (gint64) r->http->content_length;
    case PORTICO_BODY_CHUNKED: return -1;
    default: return 0;
    }
}

gboolean
portico_request_set_max_body (PorticoRequest *r, guint64 bytes)
{
  if (!portico_request_check_phase (r, "portico_request_set_max_body", EARLY_PHASES))
    return FALSE;
  r->max_body = bytes;
  return TRUE;
}

const char *
portico_request_get_client_ip (PorticoRequest *r)
{
  return r->client_ip;
}

guint
portico_request_get_client_port (PorticoRequest *r)
{
  return r->client_port;
}

guint
portico_request_get_port (PorticoRequest *r)
{
  return r->port;
}

const char *
portico_request_get_route_name (PorticoRequest *r)
{
  return r->route ? r->route->name : NULL;
}

const char *
portico_request_get_service_name (PorticoRequest *r)
{
  return r->service ? r->service->name : NULL;
}

const char *
portico_request_get_target (PorticoRequest *r)
{
  return r->target;
}

guint
portico_request_get_try (PorticoRequest *r)
{
  return r->tries;
}

/* ---- consumers ------------------------------------------------------------------------- */

gboolean
portico_request_authenticate (PorticoRequest *r, const PorticoConsumer *consumer, const char *credential,
                              gboolean anonymous)
{
  const char *fn = "portico_request_authenticate";
  if (!portico_request_check_phase (r, fn, EARLY_PHASES))
    return FALSE;
  if (consumer == NULL)
    return portico_request_misuse (r, fn, "no consumer");
  r->consumer = consumer;
  r->credential = credential ? portico_request_strdup (r, credential) : NULL;
  /* What Kong tells the upstream; a client cannot forge these. */
  const char *custom_id = portico_consumer_get_custom_id (consumer);
  portico_header_table_set (r, &r->req_headers, PORTICO_EDIT_SET, "X-Consumer-ID",
                            portico_consumer_get_id (consumer));
  if (portico_consumer_get_username (consumer))
    portico_header_table_set (r, &r->req_headers, PORTICO_EDIT_SET, "X-Consumer-Username",
                              portico_consumer_get_username (consumer));
  else
    portico_header_table_set (r, &r->req_headers, PORTICO_EDIT_REMOVE, "X-Consumer-Username", NULL);
  if (custom_id)
    portico_header_table_set (r, &r->req_headers, PORTICO_EDIT_SET, "X-Consumer-Custom-ID", custom_id);
  else
    portico_header_table_set (r, &r->req_headers, PORTICO_EDIT_REMOVE, "X-Consumer-Custom-ID", NULL);
  if (r->credential && !anonymous)
    portico_header_table_set (r, &r->req_headers, PORTICO_EDIT_SET, "X-Credential-Identifier", r->credential);
  else
    portico_header_table_set (r, &r->req_headers, PORTICO_EDIT_REMOVE, "X-Credential-Identifier", NULL);
  if (anonymous)
    portico_header_table_set (r, &r->req_headers, PORTICO_EDIT_SET, "X-Anonymous-Consumer", "true");
  else
    portico_header_table_set (r, &r->req_headers, PORTICO_EDIT_REMOVE, "X-Anonymous-Consumer", NULL);
  return TRUE;
}

const PorticoConsumer *
portico_request_get_consumer (PorticoRequest *r)
{
  return r->consumer;
}

const char *
portico_request_get_credential (PorticoRequest *r)
{
  return r->credential;
}

/* ---- per-request context and memory --------------------------------------------------------- */

gpointer
portico_request_get_ctx (PorticoRequest *r)
{
  if (r->ctx == NULL || r->current == NULL)
    return NULL;
  return r->ctx[r->current_module].data;
}

void
portico_request_set_ctx (PorticoRequest *r, gpointer data, GDestroyNotify destroy)
{
  if (r->ctx == NULL || r->current == NULL)
    {
      portico_request_misuse (r, "portico_request_set_ctx", "called outside a handler");
      if (destroy && data)
        destroy (data);
      return;
    }
  PorticoModuleCtx *c = &r->ctx[r->current_module];
  if (c->destroy && c->data && c->data != data)
    c->destroy (c->data);
  c->data = data;
  c->destroy = destroy;
}

gpointer
portico_request_alloc (PorticoRequest *r, gsize size)
{
  return portico_request_arena_alloc (r, size);
}

char *
portico_request_strdup (PorticoRequest *r, const char *s)
{
  return s ? portico_request_arena_strndup (r, s, strlen (s)) : NULL;
}

/* ---- yielding ------------------------------------------------------------------------------ */

gboolean
portico_request_yield_for (PorticoRequest *r, guint ms)
{
  if (!portico_request_check_phase (r, "portico_request_yield_for", EARLY_PHASES))
    return FALSE;
  if (r->hooks == NULL)
    return portico_request_misuse (r, "portico_request_yield_for", "no loop to resume on");
  r->resume_scheduled = TRUE;
  r->hooks->schedule (r, ms);
  return TRUE;
}

void
portico_request_resume (PorticoRequest *r)
{
  if (r->hooks == NULL || r->hooks->schedule == NULL || !r->yielded)
    {
      portico_request_misuse (r, "portico_request_resume", "the request is not waiting");
      return;
    }
  r->resume_scheduled = TRUE;
  r->hooks->schedule (r, 0);
}

/* ---- the TLS handshake (certificate phase) ------------------------------------------------------ */

const char *
portico_tls_sni (PorticoRequest *r)
{
  return r->sni;
}

gboolean
portico_tls_set_certificate (PorticoRequest *r, const char *certificate_id)
{
  const char *fn = "portico_tls_set_certificate";
  if (!portico_request_check_phase (r, fn, PORTICO_PHASE_BIT (PORTICO_PHASE_CERTIFICATE)))
    return FALSE;
  for (guint i = 0; certificate_id != NULL && r->certificates != NULL && i < r->certificates->len; i++)
    {
      const PorticoCertificate *cert = g_ptr_array_index (r->certificates, i);
      if (g_strcmp0 (cert->id, certificate_id) == 0)
        {
          r->certificate = (int) i;
          return TRUE;
        }
    }
  return portico_request_misuse (r, fn, "no certificate has that id");
}

/* ---- timings ---------------------------------------------------------------------------------- */

void
portico_request_get_timings (PorticoRequest *r, PorticoTimings *out)
{
  gint64 end = r->finished_us > 0 ? r->finished_us : g_get_monotonic_time ();
  out->started_us = r->started_us;
  out->request_us = end - r->started_us;
  out->gateway_us = r->gateway_us;
  out->upstream_us = r->upstream_sent_us >= 0 && r->upstream_head_us >= 0
                       ? r->upstream_head_us - r->upstream_sent_us
                       : -1;
  out->bytes_received = r->bytes_received;
  out->bytes_sent = r->bytes_sent;
}

guint
portico_request_n_spans (PorticoRequest *r)
{
  return r->n_spans;
}

gboolean
portico_request_get_span (PorticoRequest *r, guint index, PorticoSpan *out)
{
  if (index >= r->n_spans)
    return FALSE;
  *out = r->spans[index];
  return TRUE;
}
