/* cors-logic.h: origin matching and preflight detection, without the PDK.
 *
 * Origins are matched the way Kong's cors plugin does:
 * - no entries, or "*" among them: every origin is allowed, the answer is
 *   "Access-Control-Allow-Origin: *";
 * - exactly one plain entry (letters, digits and ".:/-" only): that entry
 *   is the answer, whatever the request's Origin;
 * - otherwise each entry is tried against the request's Origin. A plain
 *   entry matches the same origin once both are normalized (scheme://host,
 *   plus :port unless it is the scheme's default). Any other entry is a
 *   regular expression that must match all of the origin's host (when the
 *   entry holds no ":") or all of the normalized origin; the answer is the
 *   normalized origin.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  CORS_ALLOW_ALL,    /* "*" */
  CORS_ALLOW_SINGLE, /* one plain entry, answered as is */
  CORS_ALLOW_LIST,   /* entries tried in order */
} CorsAllowKind;

typedef struct _CorsOrigins CorsOrigins;

/* Compiles @entries (@n of them). A regular expression that does not
 * compile is refused: NULL, with @error naming "origins[INDEX]". */
CorsOrigins *cors_origins_new (const char *const *entries, guint n, GError **error);
void cors_origins_free (CorsOrigins *origins);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CorsOrigins, cors_origins_free)

CorsAllowKind cors_origins_kind (const CorsOrigins *origins);
/* CORS_ALLOW_SINGLE: the entry. */
const char *cors_origins_single (const CorsOrigins *origins);

/* Whether @origin (the request's Origin, not NULL) is allowed. When it is,
 * the normalized origin (Access-Control-Allow-Origin's value) is written
 * to @out, @out_size bytes. An origin whose normalized form does not fit
 * is not allowed. For CORS_ALLOW_LIST only. */
gboolean cors_origins_match (const CorsOrigins *origins, const char *origin, char *out, gsize out_size);

/* Kong's normalization of an origin: "scheme://host" plus ":port" unless it
 * is 80 for http or 443 for https; what follows the authority is dropped;
 * text without "://" stays as it is. Writes it to @out (NUL-terminated)
 * and the host's offset and length within it to @host_at and @host_len.
 * FALSE when it does not fit in @out_size bytes. */
gboolean cors_origin_normalize (const char *origin, char *out, gsize out_size, gsize *host_at, gsize *host_len);

/* Whether an entry is plain (compared as an origin) rather than a regular
 * expression: only letters, digits and ".:/-". */
gboolean cors_origin_is_plain (const char *entry);

/* A CORS preflight: OPTIONS with an Origin and an
 * Access-Control-Request-Method (headers NULL when absent). */
gboolean cors_is_preflight (const char *method, const char *origin, const char *request_method);

G_END_DECLS
