/* http/http-parser.c: strict HTTP/1.1 message heads (RFC 9112, RFC 9110).
 *
 * The gateway's security boundary: whatever is ambiguous between two HTTP
 * implementations (framing, folding, bare LF, odd whitespace) is refused
 * here, so the message forwarded upstream means one thing only.
 *
 * One pass over the head, no allocation. Byte classes are table lookups;
 * line ends are found with memchr or by the class scans themselves. Field
 * lines and the lists in their values are read in http-fields.c.
 */
#include "http/http-private.h"

/* RFC 9112 2.2 lets a server skip empty lines before the request line; a
 * few are tolerated, a stream of them is not a request. */
#define MAX_LEADING_EMPTY_LINES 8

/* Content-Length and chunk sizes above this are refused as overflows. */
#define MAX_BODY_LENGTH (G_GUINT64_CONSTANT (1) << 62)

/* Request-target: visible ASCII. A fragment ('#') is never sent in a request
 * (RFC 9112 3.2), so it is refused rather than forwarded. */
static const guint8 target_chars[256] = {
  [0x21 ... 0x22] = 1, [0x24 ... 0x7e] = 1,
};

/* reg-name without pct-encoding: unreserved and sub-delims (RFC 3986 3.2.2).
 * 2 marks the extra ':' allowed inside an IP-literal. */
static const guint8 host_chars[256] = {
  ['!'] = 1, ['$'] = 1, ['&' ... '.'] = 1, ['0' ... '9'] = 1, [':'] = 2, [';'] = 1, ['='] = 1,
  ['A' ... 'Z'] = 1, ['_'] = 1, ['a' ... 'z'] = 1, ['~'] = 1,
};

static const guint8 digit_chars[256] = {
  ['0' ... '9'] = 1,
};

void
portico_http_limits_init (PorticoHttpLimits *limits)
{
  limits->max_request_line = 8192;
  limits->max_head = 32768;
  limits->max_headers = PORTICO_HTTP_MAX_HEADERS;
}

/* Where a head scan stands. The scans never look past @end, which the head
 * limit may have put before the end of the buffer. */
typedef struct {
  const char *buf;
  const char *end;
  gboolean clipped; /* @end is max_head bytes in: more bytes exist */
  size_t max_line;
  size_t max_headers;
  const char *head_end;
  int status;
  const char *reason;
} Scan;

static void
scan_init (Scan *s, const char *buf, size_t len, const PorticoHttpLimits *limits)
{
  s->buf = buf;
  s->clipped = len > limits->max_head;
  s->end = buf + (s->clipped ? limits->max_head : len);
  s->max_line = limits->max_request_line;
  s->max_headers = MIN (limits->max_headers, PORTICO_HTTP_MAX_HEADERS);
  s->head_end = NULL;
  s->status = 0;
  s->reason = NULL;
}

static PorticoHttpParseResult
scan_fail (Scan *s, int status, const char *reason)
{
  s->status = status;
  s->reason = reason;
  return PORTICO_HTTP_ERROR;
}

/* A scan needed a byte at s->end: the head is either unfinished or, when
 * the buffer already holds more than max_head bytes, too large. */
static PorticoHttpParseResult
scan_stop (Scan *s)
{
  if (s->clipped)
    return scan_fail (s, 431, "header section too large");
  return PORTICO_HTTP_INCOMPLETE;
}

/* Finds the CRLF ending the start line at @start. Only max_line + 2 bytes
 * are looked at, so an endless line is refused as soon as it is too long. */
static PorticoHttpParseResult
scan_start_line (Scan *s, const char *start, const char **cr)
{
  size_t window = (size_t) (s->end - start);
  const char *lf;

  if (window - MIN (window, 2) > s->max_line)
    window = s->max_line + 2;
  lf = memchr (start, '\n', window);

  if (lf == NULL)
    {
      size_t seen = window;

      if (seen > 0 && start[seen - 1] == '\r')
        seen--;
      if (seen > s->max_line)
        return scan_fail (s, 414, "start line too long");
      return scan_stop (s);
    }
  if (lf == start || lf[-1] != '\r')
    return scan_fail (s, 400, "bare LF");
  if ((size_t) (lf - 1 - start) > s->max_line)
    return scan_fail (s, 414, "start line too long");
  *cr = lf - 1;
  return PORTICO_HTTP_OK;
}

static PorticoHttpParseResult
scan_fields (Scan *s, const char *p, PorticoHttpHeader *headers, size_t *n_headers)
{
  size_t n = 0;

  for (;;)
    {
      PorticoHttpParseResult r;

      if (p == s->end)
        return scan_stop (s);
      if (*p == '\r')
        {
          if (p + 1 == s->end)
            return scan_stop (s);
          if (p[1] != '\n')
            return scan_fail (s, 400, "CR not followed by LF");
          s->head_end = p + 2;
          *n_headers = n;
          return PORTICO_HTTP_OK;
        }
      if (n == s->max_headers)
        return scan_fail (s, 431, "too many header fields");
      r = portico_http_scan_field (p, s->end, &headers[n], &p, &s->reason);
      if (r == PORTICO_HTTP_INCOMPLETE)
        return scan_stop (s);
      if (r == PORTICO_HTTP_ERROR)
        return scan_fail (s, 400, s->reason);
      n++;
    }
}

/* "HTTP/1.0" or "HTTP/1.1": 0 and *minor set; another well-formed version:
 * 505; anything else: 400. */
static int
parse_version (const char *v, const char *end, int *minor)
{
  if (end - v != 8 || memcmp (v, "HTTP/", 5) != 0 || !digit_chars[(guint8) v[5]] || v[6] != '.'
      || !digit_chars[(guint8) v[7]])
    return 400;
  if (v[5] != '1' || v[7] > '1')
    return 505;
  *minor = v[7] - '0';
  return 0;
}

/* uri-host [":" port] (RFC 9110 7.2, RFC 3986 3.2.2). Percent-encoded and
 * zone-id hosts are refused: no real client needs them in front of a
 * gateway and they are a way to make two parsers disagree. */
static gboolean
host_is_valid (const char *h, size_t len, gboolean need_port)
{
  const char *p = h, *end = h + len, *port;

  if (len == 0)
    return FALSE;
  if (*p == '[')
    {
      const char *close = memchr (p, ']', len);
      const char *q;

      if (close == NULL || close == p + 1)
        return FALSE;
      for (q = p + 1; q < close; q++)
        if (!host_chars[(guint8) *q])
          return FALSE;
      p = close + 1;
    }
  else
    {
      for (; p < end && host_chars[(guint8) *p] == 1; p++)
        ;
      if (p == h)
        return FALSE;
    }
  if (p == end)
    return !need_port;
  if (*p != ':')
    return FALSE;
  port = ++p;
  p = portico_http_skip_class (p, end, digit_chars);
  return p == end && p > port && p - port <= 5;
}

static PorticoHttpMethod
method_lookup (const char *m, size_t len)
{
  switch (len)
    {
    case 3:
      if (memcmp (m, "GET", 3) == 0)
        return PORTICO_METHOD_GET;
      if (memcmp (m, "PUT", 3) == 0)
        return PORTICO_METHOD_PUT;
      break;
    case 4:
      if (memcmp (m, "POST", 4) == 0)
        return PORTICO_METHOD_POST;
      if (memcmp (m, "HEAD", 4) == 0)
        return PORTICO_METHOD_HEAD;
      break;
    case 5:
      if (memcmp (m, "PATCH", 5) == 0)
        return PORTICO_METHOD_PATCH;
      if (memcmp (m, "TRACE", 5) == 0)
        return PORTICO_METHOD_TRACE;
      break;
    case 6:
      if (memcmp (m, "DELETE", 6) == 0)
        return PORTICO_METHOD_DELETE;
      break;
    case 7:
      if (memcmp (m, "OPTIONS", 7) == 0)
        return PORTICO_METHOD_OPTIONS;
      if (memcmp (m, "CONNECT", 7) == 0)
        return PORTICO_METHOD_CONNECT;
      break;
    default:
      break;
    }
  return PORTICO_METHOD_OTHER;
}

/* Splits "path[?query]". An empty path (absolute-form "http://h?q") is the
 * "/" at @slash, so that everything returned still points into the buffer. */
static void
split_path_query (const char *p, size_t len, const char *slash, PorticoHttpRequest *req)
{
  const char *q = memchr (p, '?', len);

  req->path = p;
  req->path_len = q != NULL ? (size_t) (q - p) : len;
  req->query = q != NULL ? q + 1 : NULL;
  req->query_len = q != NULL ? len - req->path_len - 1 : 0;
  if (req->path_len == 0)
    {
      req->path = slash;
      req->path_len = 1;
    }
}

/* absolute-form: "http://" authority [path] ["?" query]. Only the http and
 * https schemes are proxied; userinfo is refused (RFC 9110 4.2.4). */
static gboolean
parse_absolute_form (const char *t, size_t len, PorticoHttpRequest *req)
{
  const char *end = t + len, *colon, *a, *p;

  colon = memchr (t, ':', len);
  if (colon == NULL
      || !(portico_http_ci_equal (t, (size_t) (colon - t), "http")
           || portico_http_ci_equal (t, (size_t) (colon - t), "https")))
    return FALSE;
  if (end - colon < 3 || colon[1] != '/' || colon[2] != '/')
    return FALSE;
  a = colon + 3;
  for (p = a; p < end && *p != '/' && *p != '?'; p++)
    ;
  if (!host_is_valid (a, (size_t) (p - a), FALSE))
    return FALSE;
  req->host = a;
  req->host_len = (size_t) (p - a);
  split_path_query (p, (size_t) (end - p), colon + 2, req);
  return TRUE;
}

static PorticoHttpParseResult
parse_request_line (Scan *s, const char *line, const char *cr, PorticoHttpRequest *req)
{
  const char *m_end, *t, *t_end;
  int status;

  m_end = portico_http_skip_class (line, cr, portico_http_tchar);
  if (m_end == line || m_end == cr || *m_end != ' ')
    return scan_fail (s, 400, "invalid method");
  req->method = line;
  req->method_len = (size_t) (m_end - line);
  req->method_id = method_lookup (line, req->method_len);

  t = m_end + 1;
  t_end = portico_http_skip_class (t, cr, target_chars);
  if (t_end == t)
    return scan_fail (s, 400, "empty request-target");
  if (t_end == cr)
    return scan_fail (s, 400, "missing HTTP version");
  if (*t_end != ' ')
    return scan_fail (s, 400, "invalid character in the request-target");
  req->target = t;
  req->target_len = (size_t) (t_end - t);

  status = parse_version (t_end + 1, cr, &req->version_minor);
  if (status != 0)
    return scan_fail (s, status, status == 505 ? "unsupported HTTP version" : "invalid HTTP version");

  if (req->method_id == PORTICO_METHOD_CONNECT)
    {
      /* authority-form, and only for CONNECT (RFC 9112 3.2.3) */
      if (!host_is_valid (t, req->target_len, TRUE))
        return scan_fail (s, 400, "CONNECT needs an authority-form target");
      req->path = req->host = t;
      req->path_len = req->host_len = req->target_len;
    }
  else if (*t == '/')
    split_path_query (t, req->target_len, t, req);
  else if (req->target_len == 1 && *t == '*')
    {
      if (req->method_id != PORTICO_METHOD_OPTIONS)
        return scan_fail (s, 400, "asterisk-form is only for OPTIONS");
      req->path = t;
      req->path_len = 1;
    }
  else if (!parse_absolute_form (t, req->target_len, req))
    return scan_fail (s, 400, "invalid request-target");
  return PORTICO_HTTP_OK;
}

/* What the framing and connection fields say, gathered in one walk. */
typedef struct {
  const PorticoHttpHeader *host;
  guint n_host;
  gboolean host_invalid;
  gboolean has_length;
  uint64_t length;
  gboolean has_te;
  gboolean te_malformed;
  gboolean te_other;     /* a coding other than chunked */
  guint te_chunked;      /* times "chunked" appears */
  gboolean te_last_chunked;
  gboolean conn_close;
  gboolean conn_keep_alive;
  gboolean has_expect;
  gboolean expect_other; /* an expectation other than 100-continue */
} FieldInfo;

static gboolean
parse_decimal (const char *s, size_t len, uint64_t *out)
{
  uint64_t v = 0;
  size_t i;

  if (len == 0)
    return FALSE;
  for (i = 0; i < len; i++)
    {
      guint c = (guint8) s[i] - (guint) '0';

      if (c > 9 || v > (MAX_BODY_LENGTH - c) / 10)
        return FALSE;
      v = v * 10 + c;
    }
  *out = v;
  return TRUE;
}

/* Content-Length: 1*DIGIT, or a list of identical values (RFC 9112 6.3). */
static gboolean
note_content_length (FieldInfo *fi, const PorticoHttpHeader *h, const char **reason)
{
  size_t pos = 0, len;
  const char *e;
  uint64_t v;

  while (portico_http_list_element (h->value, h->value_len, &pos, &e, &len))
    {
      if (!parse_decimal (e, len, &v))
        {
          *reason = "invalid Content-Length";
          return FALSE;
        }
      if (fi->has_length && v != fi->length)
        {
          *reason = "conflicting Content-Length values";
          return FALSE;
        }
      fi->has_length = TRUE;
      fi->length = v;
    }
  return TRUE;
}

/* transfer-coding = token *( OWS ";" OWS transfer-parameter ). Parameters of
 * codings we refuse anyway are not looked into; chunked has none. */
static void
note_transfer_encoding (FieldInfo *fi, const PorticoHttpHeader *h)
{
  size_t pos = 0, len;
  const char *e;

  fi->has_te = TRUE;
  while (portico_http_list_element (h->value, h->value_len, &pos, &e, &len))
    {
      const char *end = e + len;
      const char *t_end = portico_http_skip_class (e, end, portico_http_tchar);
      const char *rest = t_end;
      gboolean chunked;

      while (rest < end && portico_http_is_ows (*rest))
        rest++;
      if (t_end == e || (rest < end && *rest != ';'))
        {
          fi->te_malformed = TRUE;
          fi->te_last_chunked = FALSE;
          continue;
        }
      chunked = portico_http_ci_equal (e, (size_t) (t_end - e), "chunked");
      if (chunked)
        {
          if (rest < end)
            fi->te_malformed = TRUE;
          fi->te_chunked++;
        }
      else
        fi->te_other = TRUE;
      fi->te_last_chunked = chunked;
    }
}

static void
note_connection (FieldInfo *fi, const PorticoHttpHeader *h)
{
  size_t pos = 0, len;
  const char *t;

  /* elements, not tokens: an empty one matches neither name anyway */
  while (portico_http_list_element (h->value, h->value_len, &pos, &t, &len))
    {
      if (portico_http_ci_equal (t, len, "close"))
        fi->conn_close = TRUE;
      else if (portico_http_ci_equal (t, len, "keep-alive"))
        fi->conn_keep_alive = TRUE;
    }
}

static void
note_expect (FieldInfo *fi, const PorticoHttpHeader *h)
{
  size_t pos = 0, len;
  const char *e;

  fi->has_expect = TRUE;
  while (portico_http_list_element (h->value, h->value_len, &pos, &e, &len))
    if (!portico_http_ci_equal (e, len, "100-continue"))
      fi->expect_other = TRUE;
}

static gboolean
gather_fields (const PorticoHttpHeader *headers, size_t n, FieldInfo *fi, const char **reason)
{
  size_t i;

  memset (fi, 0, sizeof *fi);
  for (i = 0; i < n; i++)
    {
      const PorticoHttpHeader *h = &headers[i];

      /* the length picks the one candidate name before any comparison */
      switch (h->name_len)
        {
        case 4:
          if (portico_http_ci_equal (h->name, 4, "host"))
            {
              fi->host = h;
              fi->n_host++;
              if (!host_is_valid (h->value, h->value_len, FALSE))
                fi->host_invalid = TRUE;
            }
          break;
        case 6:
          if (portico_http_ci_equal (h->name, 6, "expect"))
            note_expect (fi, h);
          break;
        case 10:
          if (portico_http_ci_equal (h->name, 10, "connection"))
            note_connection (fi, h);
          break;
        case 14:
          if (portico_http_ci_equal (h->name, 14, "content-length") && !note_content_length (fi, h, reason))
            return FALSE;
          break;
        case 17:
          if (portico_http_ci_equal (h->name, 17, "transfer-encoding"))
            note_transfer_encoding (fi, h);
          break;
        default:
          break;
        }
    }
  return TRUE;
}

static gboolean
keep_alive_for (int version_minor, const FieldInfo *fi)
{
  if (fi->conn_close)
    return FALSE;
  return version_minor >= 1 || fi->conn_keep_alive;
}

static PorticoHttpParseResult
parse_request (Scan *s, PorticoHttpRequest *req)
{
  const char *p = s->buf, *cr = NULL;
  PorticoHttpParseResult r;
  FieldInfo fi;
  guint empty = 0;

  while (p < s->end && *p == '\r')
    {
      if (p + 1 == s->end)
        return scan_stop (s);
      if (p[1] != '\n')
        return scan_fail (s, 400, "CR not followed by LF");
      if (++empty > MAX_LEADING_EMPTY_LINES)
        return scan_fail (s, 400, "too many empty lines before the request line");
      p += 2;
    }

  r = scan_start_line (s, p, &cr);
  if (r != PORTICO_HTTP_OK)
    return r;
  r = parse_request_line (s, p, cr, req);
  if (r != PORTICO_HTTP_OK)
    return r;
  r = scan_fields (s, cr + 2, req->headers, &req->n_headers);
  if (r != PORTICO_HTTP_OK)
    return r;
  req->head_len = (size_t) (s->head_end - s->buf);

  if (!gather_fields (req->headers, req->n_headers, &fi, &s->reason))
    return scan_fail (s, 400, s->reason);

  if (fi.n_host > 1)
    return scan_fail (s, 400, "more than one Host field");
  if (fi.host_invalid)
    return scan_fail (s, 400, "invalid Host");
  if (fi.n_host == 0 && req->version_minor == 1)
    return scan_fail (s, 400, "missing Host");
  if (req->host == NULL && fi.host != NULL)
    {
      req->host = fi.host->value;
      req->host_len = fi.host->value_len;
    }

  if (fi.has_te)
    {
      /* RFC 9112 6.1 and 6.3: the smuggling cases are refused, not repaired */
      if (fi.has_length)
        return scan_fail (s, 400, "both Transfer-Encoding and Content-Length");
      if (req->version_minor == 0)
        return scan_fail (s, 400, "Transfer-Encoding in an HTTP/1.0 request");
      if (fi.te_malformed)
        return scan_fail (s, 400, "invalid Transfer-Encoding");
      if (fi.te_other)
        return scan_fail (s, 501, "unsupported transfer coding");
      if (fi.te_chunked != 1)
        return scan_fail (s, 400, "invalid Transfer-Encoding");
      req->body = PORTICO_BODY_CHUNKED;
    }
  else if (fi.has_length)
    {
      req->body = PORTICO_BODY_LENGTH;
      req->content_length = fi.length;
    }

  if (fi.has_expect)
    {
      if (fi.expect_other)
        return scan_fail (s, 417, "unsupported expectation");
      /* RFC 9110 10.1.1: ignored in an HTTP/1.0 request */
      req->expect_continue = req->version_minor == 1;
    }

  req->keep_alive = keep_alive_for (req->version_minor, &fi);
  return PORTICO_HTTP_OK;
}

PorticoHttpParseResult
portico_http_parse_request (const char *buf, size_t len, const PorticoHttpLimits *limits,
                            PorticoHttpRequest *req)
{
  PorticoHttpParseResult r;
  Scan s;

  req->method = req->target = req->path = req->query = req->host = NULL;
  req->method_len = req->target_len = req->path_len = req->query_len = req->host_len = 0;
  req->method_id = PORTICO_METHOD_OTHER;
  req->version_minor = 0;
  req->n_headers = 0;
  req->body = PORTICO_BODY_NONE;
  req->content_length = 0;
  req->keep_alive = FALSE;
  req->expect_continue = FALSE;
  req->head_len = 0;
  req->error_status = 0;
  req->error_reason = NULL;

  scan_init (&s, buf, len, limits);
  r = parse_request (&s, req);
  if (r == PORTICO_HTTP_ERROR)
    {
      req->error_status = s.status;
      req->error_reason = s.reason;
    }
  return r;
}

/* "HTTP/1.x DDD reason". RFC 9112 4 wants the SP before an empty reason;
 * servers that leave it out are common and the line is still unambiguous. */
static PorticoHttpParseResult
parse_status_line (Scan *s, const char *line, const char *cr, PorticoHttpResponse *resp)
{
  const char *reason;

  if (cr - line < 12 || line[8] != ' ')
    return scan_fail (s, 502, "invalid status line");
  if (parse_version (line, line + 8, &resp->version_minor) != 0)
    return scan_fail (s, 502, "unsupported HTTP version in the status line");
  if (!digit_chars[(guint8) line[9]] || !digit_chars[(guint8) line[10]] || !digit_chars[(guint8) line[11]]
      || line[9] == '0')
    return scan_fail (s, 502, "invalid status code");
  resp->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');

  reason = line + 12;
  if (reason < cr)
    {
      if (*reason != ' ')
        return scan_fail (s, 502, "invalid status code");
      reason++;
      if (portico_http_skip_class (reason, cr, portico_http_value_chars) != cr)
        return scan_fail (s, 502, "invalid character in the reason phrase");
    }
  resp->reason = reason;
  resp->reason_len = (size_t) (cr - reason);
  return PORTICO_HTTP_OK;
}

static PorticoHttpParseResult
parse_response (Scan *s, PorticoHttpMethod request_method, PorticoHttpResponse *resp)
{
  const char *cr = NULL;
  PorticoHttpParseResult r;
  FieldInfo fi;
  int status;

  r = scan_start_line (s, s->buf, &cr);
  if (r != PORTICO_HTTP_OK)
    return r;
  r = parse_status_line (s, s->buf, cr, resp);
  if (r != PORTICO_HTTP_OK)
    return r;
  r = scan_fields (s, cr + 2, resp->headers, &resp->n_headers);
  if (r != PORTICO_HTTP_OK)
    return r;
  resp->head_len = (size_t) (s->head_end - s->buf);

  if (!gather_fields (resp->headers, resp->n_headers, &fi, &s->reason))
    return scan_fail (s, 502, s->reason);

  if (fi.has_te)
    {
      if (fi.has_length)
        return scan_fail (s, 502, "both Transfer-Encoding and Content-Length");
      /* RFC 9112 6.1: the framing of such a message is faulty */
      if (resp->version_minor == 0)
        return scan_fail (s, 502, "Transfer-Encoding in an HTTP/1.0 response");
      if (fi.te_malformed || fi.te_chunked > 1)
        return scan_fail (s, 502, "invalid Transfer-Encoding");
      /* RFC 9112 6.3: not ending in chunked, the body runs to the close */
      resp->body = fi.te_last_chunked ? PORTICO_BODY_CHUNKED : PORTICO_BODY_CLOSE;
    }
  else if (fi.has_length)
    {
      resp->body = PORTICO_BODY_LENGTH;
      resp->content_length = fi.length;
    }
  else
    resp->body = PORTICO_BODY_CLOSE;

  status = resp->status;
  if (status < 200 || status == 204 || status == 304 || request_method == PORTICO_METHOD_HEAD
      || (request_method == PORTICO_METHOD_CONNECT && status < 300))
    resp->body = PORTICO_BODY_NONE;

  resp->keep_alive = keep_alive_for (resp->version_minor, &fi) && resp->body != PORTICO_BODY_CLOSE;
  return PORTICO_HTTP_OK;
}

PorticoHttpParseResult
portico_http_parse_response (const char *buf, size_t len, const PorticoHttpLimits *limits,
                             PorticoHttpMethod request_method, PorticoHttpResponse *resp)
{
  PorticoHttpParseResult r;
  Scan s;

  resp->version_minor = 0;
  resp->status = 0;
  resp->reason = NULL;
  resp->reason_len = 0;
  resp->n_headers = 0;
  resp->body = PORTICO_BODY_NONE;
  resp->content_length = 0;
  resp->keep_alive = FALSE;
  resp->head_len = 0;
  resp->error_reason = NULL;

  scan_init (&s, buf, len, limits);
  r = parse_response (&s, request_method, resp);
  if (r == PORTICO_HTTP_ERROR)
    resp->error_reason = s.reason;
  return r;
}
