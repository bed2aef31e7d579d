/* head.c: the heads Portico writes: the request to the upstream and the
 * response to the client. Hop-by-hop fields stop here; the forwarding
 * fields are added. */
#include "proxy/proxy-private.h"

#include <stdio.h>

#define PORTICO_VIA "1.1 portico"
#define MAX_CONNECTION_TOKENS 16

typedef struct {
  const char *name[MAX_CONNECTION_TOKENS];
  size_t len[MAX_CONNECTION_TOKENS];
  guint n;
} TokenSet;

/* The fields named by Connection are hop-by-hop too (RFC 9110 7.6.1). */
static void
connection_tokens (const PorticoHttpHeader *headers, size_t n, TokenSet *set)
{
  set->n = 0;
  for (size_t i = 0; i < n; i++)
    {
      if (!portico_http_name_is (headers[i].name, headers[i].name_len, "connection"))
        continue;
      size_t pos = 0;
      const char *tok;
      size_t tok_len;
      while (set->n < MAX_CONNECTION_TOKENS &&
             portico_http_list_next_token (headers[i].value, headers[i].value_len, &pos, &tok, &tok_len))
        {
          set->name[set->n] = tok;
          set->len[set->n] = tok_len;
          set->n++;
        }
    }
}

static gboolean
in_token_set (const TokenSet *set, const char *name, size_t len)
{
  for (guint i = 0; i < set->n; i++)
    if (set->len[i] == len && g_ascii_strncasecmp (set->name[i], name, len) == 0)
      return TRUE;
  return FALSE;
}

/* Fields a proxy never forwards as they are. */
static gboolean
is_hop_by_hop (const char *name, size_t len)
{
  switch (len)
    {
    case 2: return portico_http_name_is (name, len, "te");
    case 7:
      return portico_http_name_is (name, len, "upgrade") || portico_http_name_is (name, len, "trailer");
    case 10:
      return portico_http_name_is (name, len, "connection") || portico_http_name_is (name, len, "keep-alive");
    case 16: return portico_http_name_is (name, len, "proxy-connection");
    case 17: return portico_http_name_is (name, len, "transfer-encoding");
    default: return FALSE;
    }
}

static void
append_field (PorticoBuf *out, const char *name, size_t name_len, const char *value, size_t value_len)
{
  portico_buf_reserve (out, name_len + value_len + 4);
  portico_buf_append (out, name, name_len);
  portico_buf_append (out, ": ", 2);
  portico_buf_append (out, value, value_len);
  portico_buf_append (out, "\r\n", 2);
}

static void
append_str (PorticoBuf *out, const char *s)
{
  portico_buf_append (out, s, strlen (s));
}

static void
append_content_length (PorticoBuf *out, guint64 length)
{
  append_str (out, "Content-Length: ");
  portico_buf_append_uint (out, length);
  portico_buf_append (out, "\r\n", 2);
}

/* The upstream path: the service's path, then the route's remainder. */
static void
append_upstream_target (PorticoExchange *x, PorticoBuf *out)
{
  const PorticoRoute *route = x->match.route;
  const char *rest = x->path;
  size_t rest_len = x->path_len;
  if (route->strip_path && x->match.matched_len > 0)
    {
      rest += x->match.matched_len;
      rest_len -= x->match.matched_len;
    }
  const char *base = x->service->path;
  size_t base_len = base ? strlen (base) : 0;
  if (base_len > 0)
    {
      portico_buf_append (out, base, base_len);
      if (rest_len > 0)
        {
          gboolean base_slash = base[base_len - 1] == '/';
          gboolean rest_slash = rest[0] == '/';
          if (base_slash && rest_slash)
            rest++, rest_len--;
          else if (!base_slash && !rest_slash)
            portico_buf_append (out, "/", 1);
          portico_buf_append (out, rest, rest_len);
        }
    }
  else
    {
      if (rest_len == 0 || rest[0] != '/')
        portico_buf_append (out, "/", 1);
      portico_buf_append (out, rest, rest_len);
    }
}

static void
append_query (PorticoBuf *out, const char *query, gsize len)
{
  if (query != NULL)
    {
      portico_buf_append (out, "?", 1);
      portico_buf_append (out, query, len);
    }
}

/* The Host value without its port. */
static size_t
host_without_port (const char *host, size_t len)
{
  if (len > 0 && host[0] == '[')
    {
      const char *end = memchr (host, ']', len);
      return end ? (size_t) (end - host) + 1 : len;
    }
  const char *colon = memchr (host, ':', len);
  return colon ? (size_t) (colon - host) : len;
}

void
portico_head_upstream_request (PorticoExchange *x, PorticoBuf *out)
{
  const PorticoHttpRequest *req = &x->req;
  PorticoRequest *r = &x->pdk;
  const PorticoClient *client = x->client;
  const PorticoNodeConfig *node = &client->proxy->config->node;
  /* The fields as modules left them (the parser's own when none did). */
  const PorticoHttpHeader *fields = r->req_headers.v;
  size_t n_fields = r->req_headers.n;
  TokenSet tokens;
  connection_tokens (fields, n_fields, &tokens);

  portico_buf_reserve (out, req->head_len + 512);
  gsize method_len;
  const char *method = portico_request_upstream_method (r, &method_len);
  portico_buf_append (out, method, method_len);
  portico_buf_append (out, " ", 1);
  const char *path, *query;
  gsize query_len;
  portico_request_upstream_target (r, &path, &query, &query_len);
  if (path != NULL)
    append_str (out, path);
  else
    append_upstream_target (x, out);
  append_query (out, query, query_len);
  portico_buf_append (out, " HTTP/1.1\r\nHost: ", 17);
  int host_at = r->host_set ? portico_header_table_find (&r->req_headers, "host", 4, 0) : -1;
  if (host_at >= 0)
    portico_buf_append (out, fields[host_at].value, fields[host_at].value_len);
  else if (x->match.route->preserve_host && req->host != NULL)
    portico_buf_append (out, req->host, req->host_len);
  else if (x->service->port == (g_strcmp0 (x->service->protocol, "https") == 0 ? 443 : 80))
    append_str (out, x->service->host); /* the scheme's own port goes unsaid */
  else
    {
      append_str (out, x->service->host);
      portico_buf_append (out, ":", 1);
      portico_buf_append_uint (out, x->service->port);
    }
  portico_buf_append (out, "\r\n", 2);

  const PorticoHttpHeader *xff = NULL, *via = NULL;
  for (size_t i = 0; i < n_fields; i++)
    {
      const PorticoHttpHeader *h = &fields[i];
      if (is_hop_by_hop (h->name, h->name_len) || in_token_set (&tokens, h->name, h->name_len))
        continue;
      switch (h->name_len)
        {
        case 3:
          if (portico_http_name_is (h->name, h->name_len, "via"))
            {
              via = h;
              continue;
            }
          break;
        case 4:
          if (portico_http_name_is (h->name, h->name_len, "host"))
            continue;
          break;
        case 6:
          if (portico_http_name_is (h->name, h->name_len, "expect"))
            continue;
          break;
        case 9:
          if (portico_http_name_is (h->name, h->name_len, "x-real-ip"))
            continue;
          break;
        case 14:
          if (portico_http_name_is (h->name, h->name_len, "content-length"))
            continue;
          break;
        case 15:
          if (portico_http_name_is (h->name, h->name_len, "x-forwarded-for"))
            {
              xff = h; /* several fields: the last one wins, as list items they are one */
              continue;
            }
          break;
        default:
          break;
        }
      /* The client cannot set what the gateway vouches for. */
      if (h->name_len > 12 && g_ascii_strncasecmp (h->name, "x-forwarded-", 12) == 0)
        continue;
      append_field (out, h->name, h->name_len, h->value, h->value_len);
    }

  if (req->body == PORTICO_BODY_LENGTH)
    append_content_length (out, req->content_length);
  else if (req->body == PORTICO_BODY_CHUNKED)
    append_str (out, "Transfer-Encoding: chunked\r\n");

  append_str (out, "X-Real-IP: ");
  append_str (out, client->peer_ip);
  append_str (out, "\r\nX-Forwarded-For: ");
  if (xff != NULL && xff->value_len > 0)
    {
      portico_buf_append (out, xff->value, xff->value_len);
      portico_buf_append (out, ", ", 2);
    }
  append_str (out, client->peer_ip);
  append_str (out, client->conn.tls != NULL ? "\r\nX-Forwarded-Proto: https\r\n" : "\r\nX-Forwarded-Proto: http\r\n");
  if (req->host != NULL)
    append_field (out, "X-Forwarded-Host", 16, req->host, host_without_port (req->host, req->host_len));
  append_str (out, "X-Forwarded-Port: ");
  portico_buf_append_uint (out, client->local_port);
  portico_buf_append (out, "\r\n", 2);
  append_field (out, "X-Forwarded-Path", 16, req->path, req->path_len);
  if (x->match.route->strip_path && x->match.matched_len > 0)
    append_field (out, "X-Forwarded-Prefix", 18, x->path, x->match.matched_len);
  append_str (out, "Via: ");
  if (via != NULL)
    {
      portico_buf_append (out, via->value, via->value_len);
      portico_buf_append (out, ", ", 2);
    }
  append_str (out, PORTICO_VIA "\r\n");
  if (node->upstream_keepalive_pool_size == 0)
    append_str (out, "Connection: close\r\n");
  portico_buf_append (out, "\r\n", 2);
}

void
portico_head_client_response (PorticoExchange *x, PorticoBuf *out)
{
  const PorticoHttpResponse *resp = &x->resp;
  const PorticoRequest *r = &x->pdk;
  /* Modules may have changed the head (header_filter). */
  const PorticoHttpHeader *fields = r->have_response ? r->resp_headers.v : resp->headers;
  size_t n_fields = r->have_response ? r->resp_headers.n : resp->n_headers;
  TokenSet tokens;
  connection_tokens (fields, n_fields, &tokens);

  portico_buf_reserve (out, resp->head_len + 256);
  if (r->have_response && r->status != resp->status)
    portico_buf_printf (out, "HTTP/1.1 %d %s\r\n", r->status, portico_http_reason (r->status));
  else
    {
      append_str (out, "HTTP/1.1 ");
      portico_buf_append_uint (out, (guint64) resp->status);
      portico_buf_append (out, " ", 1);
      portico_buf_append (out, resp->reason, resp->reason_len);
      portico_buf_append (out, "\r\n", 2);
    }

  const PorticoHttpHeader *via = NULL;
  const char *trace_id = portico_trace_requested_id (x);
  for (size_t i = 0; i < n_fields; i++)
    {
      const PorticoHttpHeader *h = &fields[i];
      if (is_hop_by_hop (h->name, h->name_len) || in_token_set (&tokens, h->name, h->name_len))
        continue;
      if (portico_http_name_is (h->name, h->name_len, "via"))
        {
          via = h;
          continue;
        }
      /* The client asked this gateway for the id: one, ours. */
      if (trace_id != NULL && portico_http_name_is (h->name, h->name_len, "x-portico-trace-id"))
        continue;
      /* A body without a body (HEAD, 304) keeps the length it describes,
       * unless a module said the length changes (RFC 9110 8.6: then none). */
      if ((resp->body != PORTICO_BODY_NONE || r->length_removed) &&
          portico_http_name_is (h->name, h->name_len, "content-length"))
        continue;
      append_field (out, h->name, h->name_len, h->value, h->value_len);
    }
  if (x->resp_pipe.to == PORTICO_BODY_LENGTH && resp->body == PORTICO_BODY_LENGTH)
    append_content_length (out, resp->content_length);
  else if (x->resp_pipe.to == PORTICO_BODY_CHUNKED)
    append_str (out, "Transfer-Encoding: chunked\r\n");
  append_str (out, "Via: ");
  if (via != NULL)
    {
      portico_buf_append (out, via->value, via->value_len);
      portico_buf_append (out, ", ", 2);
    }
  append_str (out, PORTICO_VIA "\r\n");
  if (trace_id != NULL)
    portico_buf_printf (out, PORTICO_TRACE_ID_HEADER ": %s\r\n", trace_id);
  if (x->hash_cookie[0] != '\0')
    portico_buf_printf (out, "Set-Cookie: %s=%s; Path=%s\r\n", x->service->upstream->hash_on_cookie,
                        x->hash_cookie, x->service->upstream->hash_on_cookie_path);
  if (!x->keep_client)
    append_str (out, "Connection: close\r\n");
  else if (x->req.version_minor == 0)
    append_str (out, "Connection: keep-alive\r\n");
  portico_buf_append (out, "\r\n", 2);
}

void
portico_head_https_required (PorticoExchange *x)
{
  const PorticoHttpRequest *req = &x->req;
  PorticoRequest *r = &x->pdk;
  int status = x->match.route->https_redirect_status_code;
  /* Without a host there is no URL to send the client to. */
  if (status == 426 || req->host == NULL || host_without_port (req->host, req->host_len) == 0)
    {
      char body[64];
      gsize len = portico_message_json (body, sizeof body, "Please use HTTPS protocol");
      portico_response_set_local (r, 426, "application/json; charset=utf-8", body, len);
      /* RFC 9110 15.5.22: a 426 names the protocol to upgrade to. */
      portico_header_table_set (r, &r->resp_headers, PORTICO_EDIT_SET, "Upgrade", "TLS/1.2, HTTP/1.1");
      return;
    }
  /* Kong's https://HOST/TARGET: the Host lower-cased without its port
   * (nginx's $host), the path and query as the client sent them. */
  size_t host_len = host_without_port (req->host, req->host_len);
  g_autofree char *location =
    g_strdup_printf ("https://%.*s%.*s%s%.*s", (int) host_len, req->host, (int) req->path_len, req->path,
                     req->query != NULL ? "?" : "", (int) req->query_len, req->query != NULL ? req->query : "");
  for (size_t i = 0; i < host_len; i++)
    location[8 + i] = g_ascii_tolower (location[8 + i]);
  portico_response_set_local (r, status, NULL, NULL, 0);
  portico_header_table_set (r, &r->resp_headers, PORTICO_EDIT_SET, "Location", location);
}
