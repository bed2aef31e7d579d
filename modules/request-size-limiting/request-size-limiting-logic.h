/* request-size-limiting-logic.h: the socket-free part of the
 * request-size-limiting module: units, and what to do with a request from
 * what its head declares. The unit tests drive it directly. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The config's size_unit values, NULL-terminated. */
extern const char *const request_size_limiting_units[];

/* Bytes per unit, as Kong counts them (a kilobyte is 1024 bytes, a
 * megabyte 2^20); FALSE for an unknown unit. */
gboolean request_size_limiting_unit_factor (const char *unit, guint64 *factor);
/* @size units in bytes, G_MAXUINT64 when that overflows; 0 for a negative size. */
guint64 request_size_limiting_allowed_bytes (gint64 size, guint64 factor);

typedef enum {
  REQUEST_SIZE_OK = 0,          /* no body, or a declared length within the limit */
  REQUEST_SIZE_WATCH,           /* a chunked body: the gateway counts it as it comes */
  REQUEST_SIZE_TOO_LARGE,       /* 413 (417 when the client waits for 100 Continue) */
  REQUEST_SIZE_LENGTH_REQUIRED, /* 411 */
} RequestSizeVerdict;

/* Kong's order: a declared Content-Length is judged at once; without one,
 * require_content_length refuses the request unless its body is chunked.
 * @body_length: the declared length, -1 when chunked, 0 when none. */
RequestSizeVerdict request_size_limiting_judge (guint64 allowed, gboolean require_content_length,
                                                gboolean has_content_length, gint64 body_length);

/* Whether an Expect field asks for 100 Continue (any case, spaces around). */
gboolean request_size_limiting_expects_continue (const char *expect);

G_END_DECLS
