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
portico_respond_json (PorticoClient *client, int status, const char *message, gboolean head_only,
                      gboolean keep_alive)
{
  char body[256];
  int body_len = g_snprintf (body, sizeof body, "{\"message\":\"%s\"}", message);
  portico_buf_printf (&client->conn.out,
                      "HTTP/1.1 %d %s\r\n"
                      "Date: %s\r\n"
                      "Content-Type: application/json; charset=utf-8\r\n"
                      "Content-Length: %d\r\n"
                      "Server: portico\r\n"
                      "%s"
                      "\r\n",
                      status, portico_http_reason (status), portico_proxy_date (client->proxy),
                      body_len, keep_alive ? "" : "Connection: close\r\n");
  if (!head_only)
    portico_buf_append (&client->conn.out, body, (gsize) body_len);
  client->proxy->stats.responses[status / 100 <= 5 ? status / 100 : 0]++;
}
