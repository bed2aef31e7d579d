/* transform-ops.h: what request-transformer and response-transformer share.
 *
 * Both read lists of "name:value" strings under config.OP.TARGET, where OP is
 * remove, rename, replace, add or append (applied in that order, as Kong
 * does), and both edit header fields through the same five calls, which the
 * PDK offers twice: once for the upstream request, once for the response.
 * response-transformer builds this file through `transform_ops_dep`
 * (request-transformer/meson.build).
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "pdk/portico.h"

G_BEGIN_DECLS

typedef enum {
  TRANSFORM_REMOVE = 0,
  TRANSFORM_RENAME,
  TRANSFORM_REPLACE,
  TRANSFORM_ADD,
  TRANSFORM_APPEND,
  TRANSFORM_N_OPS,
} TransformOp;

/* What a list applies to: it decides which names are valid and how names
 * and values are written out. */
typedef enum {
  TRANSFORM_TARGET_REQUEST_HEADERS,
  TRANSFORM_TARGET_RESPONSE_HEADERS,
  TRANSFORM_TARGET_QUERY,
  TRANSFORM_TARGET_JSON,
} TransformTarget;

/* One entry of a list. For remove, @value is NULL; for rename, @value is
 * the new name. @out_name and @out_value are how they are written, computed
 * once: percent-encoded for a query; for JSON, a name is the string's body
 * (no quotes) and a value the JSON text json_types asks for; for headers,
 * the same strings as @name and @value. */
typedef struct {
  char *name;
  char *value;
  char *out_name;
  char *out_value;
} TransformPair;

typedef struct {
  TransformPair *items;
  guint len;
} TransformList;

/* The five lists of one target. */
typedef struct {
  TransformList ops[TRANSFORM_N_OPS];
} TransformSet;

/* "remove", "rename", ... as the configuration spells them. */
const char *transform_op_name (TransformOp op);

/* Splits "name:value" the way Kong does: the name ends at the first colon,
 * the colons right after it are skipped, the value is the rest (it may hold
 * more colons, or be empty). FALSE when there is no colon or no name. */
gboolean transform_split_pair (const char *entry, char **name, char **value);

/* Reads config.OP.@key for every OP into @set (and, for JSON, the parallel
 * config.OP.json_types). A missing record or key is an empty list. Errors
 * name the entry: "add.headers[1]: ...". */
gboolean transform_set_init (TransformSet *set, JsonObject *config, const char *key,
                             TransformTarget target, GError **error);
void transform_set_clear (TransformSet *set);
gboolean transform_set_is_empty (const TransformSet *set);

/* The JSON text of a string: "a\"b" for a"b (quotes included). */
void transform_json_quote (GString *out, const char *s);
/* The length of the JSON number (RFC 8259) at @p, 0 when there is none. */
gsize transform_json_number_len (const char *p, const char *end);

/* One edit of a target (header fields, a query, a JSON object) by one
 * entry of a list; TRUE when it changed something. */
typedef gboolean (*TransformEditFunc) (gpointer target, const TransformPair *pair);

/* What each operation does to one kind of target, indexed by TransformOp
 * (add must check that the name is absent). */
typedef struct {
  TransformEditFunc edit[TRANSFORM_N_OPS];
} TransformEditor;

/* Runs every entry of @set through @editor, the lists in Kong's order:
 * remove, rename, replace, add, append. TRUE when anything changed. */
gboolean transform_set_apply (const TransformSet *set, const TransformEditor *editor, gpointer target);

/* How header fields are read and edited: the request's or the response's
 * functions of portico.h (or a test's). */
typedef struct {
  const char *(*get) (PorticoRequest *r, const char *name);
  gboolean (*at) (PorticoRequest *r, guint index, const char **name, const char **value);
  gboolean (*set) (PorticoRequest *r, const char *name, const char *value);
  gboolean (*add) (PorticoRequest *r, const char *name, const char *value);
  gboolean (*remove) (PorticoRequest *r, const char *name);
} TransformHeaderOps;

/* Applies @set to the header fields of @r, each operation seeing the result
 * of the ones before: remove every field; rename (every value moves, and
 * replaces any field of the new name); replace only a present field (all
 * its values become one); add only an absent one; append always. */
void transform_headers_apply (const TransformSet *set, const TransformHeaderOps *ops, PorticoRequest *r);

G_END_DECLS
