/* cli/top-frame.h - reading a dashboard frame for `portico top`
 * (top-draw.c): getters that never fail, so a frame from a newer or older
 * node, or a broken one, is still drawn as far as it goes, and that note
 * what they did not find by its JSON path ("workers[0].pid: expected a
 * number"), for one line that says so.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Counts read are at most this: no frame holds more, and a double beyond
 * 2^64 would not convert. */
#define PORTICO_TOP_COUNT_MAX 1e15

/**
 * PorticoTopReader:
 * @first: the first problem noted, "PATH: expected WHAT", or %NULL
 * @n: how many were noted
 *
 * Zero-initialised before reading; free @first after.
 */
typedef struct {
  char *first;
  guint n;
} PorticoTopReader;

/* Notes that the member @name of the object at @path ("" for the root) is
 * not @expected ("a number"). */
void portico_top_reader_note (PorticoTopReader *pr, const char *path, const char *name, const char *expected);

/* Each getter reads the member @name of @o, the object at @path. When it is
 * missing or of another type, it is noted and the getter returns NULL or 0;
 * when @o is NULL (its own absence was noted), it returns that silently. */
JsonObject *portico_top_read_object (PorticoTopReader *pr, JsonObject *o, const char *path, const char *name);
JsonArray *portico_top_read_array (PorticoTopReader *pr, JsonObject *o, const char *path, const char *name);
double portico_top_read_number (PorticoTopReader *pr, JsonObject *o, const char *path, const char *name);
/* A number read as a count: never negative, at most PORTICO_TOP_COUNT_MAX. */
guint64 portico_top_read_count (PorticoTopReader *pr, JsonObject *o, const char *path, const char *name);
/* A portico_top_clean() copy of a string; with @nullable, null is not a
 * problem and reads as NULL. Free it. */
char *portico_top_read_string (PorticoTopReader *pr, JsonObject *o, const char *path, const char *name,
                               gboolean nullable);

/* Element @i of @a (the array at @path) if it is an object, else NULL
 * (noted); *@elem_path is its path ("workers[1]") either way: free it. */
JsonObject *portico_top_read_element (PorticoTopReader *pr, JsonArray *a, guint i, const char *path,
                                      char **elem_path);

/* A copy of @s fit for a terminal: its control characters (escapes above
 * all) are '?', and it is cut to 120 characters. */
char *portico_top_clean (const char *s);

G_END_DECLS
