/* json-reader.h: strict reading of a JSON document, with every error found
 * recorded as "JSON.path: message".
 *
 * A PorticoJsonReader is the context of one walk over a document: it holds
 * the path of the place being read (`services[0].routes[1].paths[0]`) and
 * the errors found so far. Its getters read one member of an object, check
 * its type, and on a mismatch record an error at the member's path instead
 * of failing, so that one walk reports every problem. The walker builds its
 * own structures as it goes; the reader knows nothing of what they mean.
 *
 * `null` counts as absent everywhere: `"path": null` reads like no "path".
 * Where a function takes the JsonObject to read from, NULL reads as an
 * empty object, so that an optional section that is missing (or wrong,
 * and already reported) needs no special case.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct _PorticoJsonReader PorticoJsonReader;

/* What a getter found under a key. */
typedef enum {
  PORTICO_JSON_FIELD_ABSENT,  /* missing, or null: nothing recorded, *out untouched */
  PORTICO_JSON_FIELD_OK,      /* *out set */
  PORTICO_JSON_FIELD_INVALID, /* present and wrong: the error is already recorded */
} PorticoJsonField;

/* Checks, and may normalize, one string of an array. Returns a newly
 * allocated string to keep, or NULL after recording why @value is wrong
 * (the reader's path is the element's). */
typedef char *(*PorticoJsonStringCheck) (PorticoJsonReader *reader, const char *value,
                                         gpointer user_data);

/* Called for one element of an array; the reader's path is the element's. */
typedef void (*PorticoJsonElementFunc) (PorticoJsonReader *reader, JsonNode *element,
                                        gpointer user_data);

PorticoJsonReader *portico_json_reader_new (void);
void portico_json_reader_free (PorticoJsonReader *reader);

/* Parses a whole document. Returns its root (give it to json_node_unref),
 * or NULL after recording the syntax error as "line:col: message". */
JsonNode *portico_json_reader_parse (PorticoJsonReader *reader, const char *data, gssize len);

/* ---- the path ---- */

/* The path of the place being read: "" at the root, then "node",
 * "services[0]", "services[0].routes". Valid until the next push or pop. */
const char *portico_json_reader_get_path (PorticoJsonReader *reader);
void portico_json_reader_push_key (PorticoJsonReader *reader, const char *key);
void portico_json_reader_push_index (PorticoJsonReader *reader, guint index);
/* Undoes the last push. */
void portico_json_reader_pop (PorticoJsonReader *reader);

/* ---- errors ---- */

/* Records "path.key: message", or "path: message" when @key is NULL. An
 * error about the root itself reads "(root): message". */
G_GNUC_PRINTF (3, 4)
void portico_json_reader_error (PorticoJsonReader *reader, const char *key, const char *format,
                                ...);

/* Every error recorded so far, in order (char *; owned by the reader). */
GPtrArray *portico_json_reader_get_errors (PorticoJsonReader *reader);

/* Claims @value in the namespace @kind (say "service name") for the
 * reader's path. Returns NULL the first time, and from then on the path
 * that claimed it first (owned by the reader), for a "duplicate" error. */
const char *portico_json_reader_claim (PorticoJsonReader *reader, const char *kind,
                                       const char *value);

/* ---- unknown keys ---- */

/* Records "path.key: unknown key" for each key of @object not in @allowed
 * (NULL-terminated), adding the allowed key it is a likely typo of, or else
 * the allowed keys when they are few enough to read on one line. */
void portico_json_reader_check_keys (PorticoJsonReader *reader, JsonObject *object,
                                     const char *const *allowed);

/* ---- typed reads ---- */

/* Neither records anything: for the caller's own checks. */
/* The document in @bytes (an HTTP body: not NUL-terminated, so not for
 * json_from_string), or NULL with @error; an empty one reads as null. */
JsonNode *portico_json_from_bytes (GBytes *bytes, GError **error);
JsonNode *portico_json_member (JsonObject *object, const char *key); /* NULL if absent or null */
const char *portico_json_string (JsonNode *node); /* NULL unless @node holds a string */

/* @node itself, at the reader's path: NULL after "must be an object" /
 * "must be a string". The object's keys are checked against @allowed, as
 * portico_json_reader_check_keys() does, unless it is NULL. */
JsonObject *portico_json_reader_as_object (PorticoJsonReader *reader, JsonNode *node,
                                           const char *const *allowed);
const char *portico_json_reader_as_string (PorticoJsonReader *reader, JsonNode *node);

/* Members of @object, reported at "path.key". Strings point into the
 * document. */
PorticoJsonField portico_json_reader_get_string (PorticoJsonReader *reader, JsonObject *object,
                                                 const char *key, const char **out);
/* An empty string is INVALID ("must not be empty"). */
PorticoJsonField portico_json_reader_get_nonempty_string (PorticoJsonReader *reader,
                                                          JsonObject *object, const char *key,
                                                          const char **out);
/* A non-empty string that must be there: NULL after "is required" or the
 * error above. */
const char *portico_json_reader_require_string (PorticoJsonReader *reader, JsonObject *object,
                                                const char *key);
/* An integer in [@min, @max]; a fraction or a string is INVALID too. */
PorticoJsonField portico_json_reader_get_int (PorticoJsonReader *reader, JsonObject *object,
                                              const char *key, gint64 min, gint64 max,
                                              gint64 *out);
PorticoJsonField portico_json_reader_get_uint (PorticoJsonReader *reader, JsonObject *object,
                                               const char *key, guint min, guint max, guint *out);
PorticoJsonField portico_json_reader_get_bool (PorticoJsonReader *reader, JsonObject *object,
                                               const char *key, gboolean *out);
/* Checks the object's keys against @allowed unless it is NULL. */
PorticoJsonField portico_json_reader_get_object (PorticoJsonReader *reader, JsonObject *object,
                                                 const char *key, const char *const *allowed,
                                                 JsonObject **out);
PorticoJsonField portico_json_reader_get_array (PorticoJsonReader *reader, JsonObject *object,
                                                const char *key, JsonArray **out);

/* A PorticoJsonStringCheck that refuses "" ("must not be empty"). */
char *portico_json_reader_check_nonempty (PorticoJsonReader *reader, const char *value,
                                          gpointer user_data);

/* An array of strings, each passed through @check (kept as is when @check
 * is NULL). When @key holds an array, *@out is set (give it to g_strfreev)
 * to every valid element, possibly none, and the result is INVALID if any
 * element was wrong; when it holds something else *@out is untouched. */
PorticoJsonField portico_json_reader_get_strings (PorticoJsonReader *reader, JsonObject *object,
                                                  const char *key, PorticoJsonStringCheck check,
                                                  gpointer user_data, GStrv *out);

/* Calls @func on each element of the array under @key, with the path set
 * to "path.key[i]". Returns what was found under @key (INVALID when it is
 * not an array; errors @func records do not count). */
PorticoJsonField portico_json_reader_foreach (PorticoJsonReader *reader, JsonObject *object,
                                              const char *key, PorticoJsonElementFunc func,
                                              gpointer user_data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PorticoJsonReader, portico_json_reader_free)

G_END_DECLS
