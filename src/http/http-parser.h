/* http-parser.h: strict HTTP/1.1 message-head parser (RFC 9112).
 *
 * Pure functions over bytes: no I/O, no allocation, no global state. The
 * parser is called on the whole buffer received so far; it either parses a
 * complete head, asks for more bytes, or rejects the input with the status
 * code the peer should get. Everything it returns points into the caller's
 * buffer, which must stay unchanged while the result is in use.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <glib.h>

G_BEGIN_DECLS

#define PORTICO_HTTP_MAX_HEADERS 100

typedef struct {
  const char *name;
  size_t name_len;
  const char *value; /* leading and trailing OWS removed */
  size_t value_len;
} PorticoHttpHeader;

typedef enum {
  PORTICO_HTTP_OK = 0,    /* a complete head was parsed */
  PORTICO_HTTP_INCOMPLETE, /* more bytes are needed */
  PORTICO_HTTP_ERROR,     /* invalid: see error_status and error_reason */
} PorticoHttpParseResult;

typedef enum {
  PORTICO_BODY_NONE = 0, /* no body follows the head */
  PORTICO_BODY_LENGTH,   /* content_length bytes follow */
  PORTICO_BODY_CHUNKED,  /* chunked transfer coding follows */
  PORTICO_BODY_CLOSE,    /* (responses only) body ends when the peer closes */
} PorticoBodyKind;

typedef enum {
  PORTICO_METHOD_OTHER = 0,
  PORTICO_METHOD_GET,
  PORTICO_METHOD_HEAD,
  PORTICO_METHOD_POST,
  PORTICO_METHOD_PUT,
  PORTICO_METHOD_DELETE,
  PORTICO_METHOD_OPTIONS,
  PORTICO_METHOD_PATCH,
  PORTICO_METHOD_TRACE,
  PORTICO_METHOD_CONNECT,
} PorticoHttpMethod;

/* Size limits. A request line longer than max_request_line gives 414; a head
 * (request line + fields) longer than max_head gives 431, as do more than
 * max_headers fields (never more than PORTICO_HTTP_MAX_HEADERS). */
typedef struct {
  size_t max_request_line;
  size_t max_head;
  size_t max_headers;
} PorticoHttpLimits;

typedef struct {
  const char *method;
  size_t method_len;
  PorticoHttpMethod method_id;
  const char *target; /* the request-target as sent */
  size_t target_len;
  /* The path of an origin-form or absolute-form target ("*" for
   * asterisk-form, the authority for CONNECT), without the query. An
   * absolute-form target without a path ("http://h") gives the "/" of "://". */
  const char *path;
  size_t path_len;
  const char *query; /* after '?', NULL when there is no '?' */
  size_t query_len;
  int version_minor; /* HTTP/1.<version_minor>: 0 or 1 */

  PorticoHttpHeader headers[PORTICO_HTTP_MAX_HEADERS];
  size_t n_headers;

  /* Derived from the fields. */
  const char *host; /* authority of an absolute-form target, else Host */
  size_t host_len;
  PorticoBodyKind body; /* NONE, LENGTH or CHUNKED for requests */
  uint64_t content_length;
  gboolean keep_alive;      /* HTTP version and Connection tokens */
  gboolean expect_continue; /* "Expect: 100-continue" */
  size_t head_len;          /* bytes of the head, final CRLF included */

  int error_status;         /* when PORTICO_HTTP_ERROR: 400, 414, 417, 431, 501, 505 */
  const char *error_reason; /* short static text saying what was wrong */
} PorticoHttpRequest;

typedef struct {
  int version_minor;
  int status; /* 100..999 */
  const char *reason;
  size_t reason_len;

  PorticoHttpHeader headers[PORTICO_HTTP_MAX_HEADERS];
  size_t n_headers;

  PorticoBodyKind body; /* NONE for 1xx, 204, 304 and responses to HEAD */
  uint64_t content_length;
  gboolean keep_alive;
  size_t head_len;

  const char *error_reason; /* when PORTICO_HTTP_ERROR (the client gets 502) */
} PorticoHttpResponse;

/* Fills @limits with the defaults: 8 KiB request line, 32 KiB head, 100 fields. */
void portico_http_limits_init (PorticoHttpLimits *limits);

PorticoHttpParseResult portico_http_parse_request (const char *buf, size_t len,
                                                   const PorticoHttpLimits *limits,
                                                   PorticoHttpRequest *req);

/* @request_method: the method of the request this response answers (a
 * response to HEAD has no body, whatever its fields say). */
PorticoHttpParseResult portico_http_parse_response (const char *buf, size_t len,
                                                    const PorticoHttpLimits *limits,
                                                    PorticoHttpMethod request_method,
                                                    PorticoHttpResponse *resp);

/* Field lines and lists (http-fields.c). */

/* Case-insensitive comparison of a header name with a NUL-terminated name. */
gboolean portico_http_name_is (const char *name, size_t name_len, const char *lower);

/* Does a comma-separated field value (Connection, Transfer-Encoding...)
 * contain @token, compared case-insensitively? */
gboolean portico_http_list_has_token (const char *value, size_t value_len, const char *token);

/* Iterates over the tokens of a comma-separated list: returns FALSE when
 * there are no more. *pos starts at 0. */
gboolean portico_http_list_next_token (const char *value, size_t value_len, size_t *pos,
                                       const char **token, size_t *token_len);

/* Finds the first field named @lower (lower-case) in @headers; NULL if none. */
const PorticoHttpHeader *portico_http_find_header (const PorticoHttpHeader *headers, size_t n,
                                                   const char *lower);

/* Parses one field line ("name: value" CRLF) at the start of @buf by the
 * rules of the head parser; the chunked decoder checks trailers with it.
 * OK: *field is set and *line_len counts the line with its CRLF;
 * INCOMPLETE: no error in @len bytes but no CRLF yet; ERROR: *error_reason. */
PorticoHttpParseResult portico_http_parse_field_line (const char *buf, size_t len,
                                                      PorticoHttpHeader *field, size_t *line_len,
                                                      const char **error_reason);

/* Normalizes an absolute path for routing (path.c): decodes %XX of unreserved
 * characters, upper-cases the hex of the other escapes, merges "//", and
 * removes "." and ".." segments (RFC 3986 5.2.4). @out must have room for
 * @len bytes. An encoded '/' stays encoded. Returns FALSE (the client
 * gets 400) when the path does not start with '/', holds a bad escape or an
 * encoded NUL, or climbs above the root. */
gboolean portico_http_normalize_path (const char *path, size_t len, char *out, size_t *out_len);

G_END_DECLS
