/* respond.c: responses the gateway makes itself (errors, Kong's messages). */
#include "proxy/proxy-private.h"

#include <time.h>

const char *
portico_http_reason (int status)
{
  switch (status)
    {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 417: return "Expectation Failed";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

/* The Date field, formatted once a second. */
const char *
portico_proxy_date (PorticoProxy *proxy)
{
  time_t now = time (NULL);
  if (now != proxy->date_second)
    {
      struct tm tm;
      gmtime_r (&now, &tm);
      strftime (proxy->date, sizeof proxy->date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
      proxy->date_second = now;
    }
  return proxy->date;
}

void
portico_respond_full (PorticoClient *client, int status, const PorticoHttpHeader *headers, gsize n_headers,
                      const char *body, gsize body_len, gboolean head_only, gboolean keep_alive)
{
  PorticoBuf *out = &client->conn.out;
  portico_buf_printf (out, "HTTP/1.1 %d %s\r\nDate: %s\r\n", status, portico_http_reason (status),
                      portico_proxy_date (client->proxy));
  gboolean server = FALSE, upgrade = FALSE;
  for (gsize i = 0; i < n_headers; i++)
    {
      const PorticoHttpHeader *h = &headers[i];
      /* A 426 must name the protocol to upgrade to (RFC 9110 15.5.22). */
      if (status == 426 && portico_http_name_is (h->name, h->name_len, "upgrade"))
        upgrade = TRUE;
      else if (portico_header_is_framing (h->name, h->name_len) || portico_http_name_is (h->name, h->name_len, "date"))
        continue;
      server |= portico_http_name_is (h->name, h->name_len, "server");
      portico_buf_reserve (out, h->name_len + h->value_len + 4);
      portico_buf_append (out, h->name, h->name_len);
      portico_buf_append (out, ": ", 2);
      portico_buf_append (out, h->value, h->value_len);
      portico_buf_append (out, "\r\n", 2);
    }
  /* 204 and 304 have no body and say no length (RFC 9110 8.6). */
  gboolean bodiless = status == 204 || status == 304;
  if (!bodiless)
    portico_buf_printf (out, "Content-Length: %" G_GSIZE_FORMAT "\r\n", body_len);
  /* Upgrade is hop-by-hop: the Connection field lists it (RFC 9110 7.8). */
  const char *connection = upgrade ? (keep_alive ? "Connection: upgrade\r\n" : "Connection: upgrade, close\r\n")
                           : keep_alive ? "" : "Connection: close\r\n";
  portico_buf_printf (out, "%s%s\r\n", server ? "" : "Server: portico\r\n", connection);
  if (!head_only && !bodiless)
    portico_buf_append (out, body, body_len);
  client->proxy->stats.responses[status / 100 <= 5 ? status / 100 : 0]++;
}

void
portico_respond_json (PorticoClient *client, int status, const char *message, gboolean head_only,
                      gboolean keep_alive)
{
  char body[256];
  gsize body_len = portico_message_json (body, sizeof body, message);
  static char content_type[] = "Content-Type";
  static char json[] = "application/json; charset=utf-8";
  PorticoHttpHeader h = { content_type, sizeof content_type - 1, json, sizeof json - 1 };
  portico_respond_full (client, status, &h, 1, body, body_len, head_only, keep_alive);
}
