/* cli/top-draw.h - what `portico top` draws: a dashboard frame (the JSON of
 * GET /dashboard/snapshot, docs/dashboard.md) as lines of text.
 *
 * A pure function of the frame and the width, so it is tested without a
 * terminal (tests/unit/test-top.c); cli/top.c fetches the frames, owns the
 * terminal and writes the lines in place.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/**
 * portico_top_draw:
 * @frame: (nullable): a parsed frame
 * @width: the terminal's width in columns (at least 20 is used)
 * @colour: whether to colour with ANSI escapes (SGR only: no cursor moves)
 *
 * Draws @frame: the node, a line per worker with a bar of its connection
 * slots by state, the totals with the latency percentiles, a sparkline of
 * the requests per second, the upstreams' target health, the TLS
 * handshakes.  No line shows more than @width columns: fields that do not
 * fit are left out, least useful first, and what is still too long is cut
 * with "…".
 *
 * A frame that is not what docs/dashboard.md says (a key missing, a value
 * of the wrong type) is drawn as far as it goes, with a line naming the
 * first problem by its JSON path ("frame: workers[0].pid: expected a
 * number"); strings from the frame never reach the terminal with control
 * characters in them.
 *
 * Returns: (transfer full) (element-type utf8): the lines, without "\n"
 */
GPtrArray *portico_top_draw (JsonNode *frame, guint width, gboolean colour);

/**
 * portico_top_draw_data:
 * @data: the body of GET /dashboard/snapshot
 * @len: its length, or -1 if NUL-terminated
 * @width: as for portico_top_draw()
 * @colour: as for portico_top_draw()
 *
 * Parses @data and draws it; what is not JSON is drawn as one line saying
 * so ("frame: not JSON: ...").
 *
 * Returns: (transfer full) (element-type utf8): the lines
 */
GPtrArray *portico_top_draw_data (const char *data, gssize len, guint width, gboolean colour);

/**
 * portico_top_line:
 * @sgr: (nullable): an ANSI SGR parameter for the whole line ("33":
 *   yellow), or %NULL
 * @text: the text
 * @width: as for portico_top_draw()
 * @colour: whether to use @sgr
 *
 * Returns: (transfer full): @text as a line of its own, fit to @width
 *   (portico_top_fit()): what portico_top_draw() uses for its headings,
 *   and `portico top` for what it says around the frame
 */
char *portico_top_line (const char *sgr, const char *text, guint width, gboolean colour);

/**
 * portico_top_text_width:
 * @line: UTF-8 text, possibly with ANSI escapes
 *
 * Returns: the columns @line takes on a terminal: escapes take none, wide
 * (East Asian) characters two
 */
guint portico_top_text_width (const char *line);

/**
 * portico_top_fit:
 * @line: a line of text, possibly with ANSI escapes
 * @width: the most columns it may take
 *
 * Cuts @line to @width columns, ending it with "…" when it was cut and
 * with a colour reset when it holds escapes, so a colour never runs on.
 */
void portico_top_fit (GString *line, guint width);

G_END_DECLS
