/* report-html.c: the `--html` report (see report-html.h): the page, its
 * sections, tables and stylesheet; the SVG charts are report-charts.c's.
 *
 * The page is written as text into one GString through
 * portico_report_emit(), a small printf whose %s escapes markup and whose
 * %f writes a coordinate with '.' decimals whatever the locale and 0 for
 * anything not finite: so no text can break the markup and no NaN can
 * reach the SVG. The same input gives the same bytes (no date, no
 * hash-table order).
 */
#include "lab/report-html.h"

#include <math.h>

#include "lab/report-charts.h"

/* ---- over time, the traced request ----------------------------------------------------- */

static void
events_table (GString *out, const PorticoVariantResults *v)
{
  if (v->events->len == 0)
    return;
  g_string_append (out, "<table class=\"events\"><tr><th class=\"num\">at</th><th>event</th>"
                   "<th>detail</th><th>applied</th></tr>\n");
  for (guint e = 0; e < v->events->len; e++) {
    PorticoEventRecord *r = g_ptr_array_index (v->events, e);
    g_autofree char *at = portico_report_fixed ("%.1f", r->at_s);

    portico_report_emit (out, "<tr class=\"%S\"><td class=\"num\">%s s</td><td>%s</td><td>%s</td>"
                         "<td>%S</td></tr>\n", r->ok ? "event-ok" : "event-failed", at, r->what,
                         r->detail, r->ok ? "yes" : "FAILED");
  }
  g_string_append (out, "</table>\n");
}

static void
trace_section (GString *out, const PorticoVariantResults *v)
{
  g_autofree char *at = portico_report_fixed ("%.1f", v->trace_at_s);

  if (v->spans->len == 0) {
    portico_report_emit (out, "<p class=\"empty\">no request traced in this variant");
    if (v->trace_status != 0)
      portico_report_emit (out, " (its answer's status: %d)", (int) v->trace_status);
    g_string_append (out, "</p>\n");
    return;
  }
  g_string_append (out, "<p class=\"trace-meta\">one request");
  if (isfinite (v->trace_at_s))
    portico_report_emit (out, ", sent at %s s", at);
  if (v->trace_status != 0)
    portico_report_emit (out, ", answered <strong>%d</strong>", (int) v->trace_status);
  if (v->trace_id)
    portico_report_emit (out, ", gateway id <code>%s</code>", v->trace_id);
  if (v->phases && v->phases[0]) {
    g_autofree char *order = g_strjoinv (" → ", v->phases);
    portico_report_emit (out, "; phases: %s", order);
  }
  g_string_append (out, "</p>\n");
  portico_report_waterfall_svg (out, v);
  g_string_append (out, "<p class=\"legend\">");
  portico_report_legend_key (out, "box", PORTICO_REPORT_BLUE, "client");
  portico_report_legend_key (out, "box", PORTICO_REPORT_GREEN, "phase");
  portico_report_legend_key (out, "box", PORTICO_REPORT_SKY, "module");
  portico_report_legend_key (out, "box", PORTICO_REPORT_PURPLE, "upstream");
  portico_report_legend_key (out, "box marked", PORTICO_REPORT_ORANGE,
                             "module that answered (respond)");
  portico_report_legend_key (out, "box marked", PORTICO_REPORT_VERMILLION, "module error");
  portico_report_legend_key (out, "box marked", PORTICO_REPORT_SKY,
                             "outlined: did not continue (respond, yield, error)");
  g_string_append (out, "</p>\n");
}

/* ---- variants side by side ------------------------------------------------------------- */

/* A count the gateway may not have reported (-1). */
static char *
count (gint64 v)
{
  return v < 0 ? g_strdup ("–") : g_strdup_printf ("%" G_GINT64_FORMAT, v);
}

static char *
ucount (guint64 v)
{
  return g_strdup_printf ("%" G_GUINT64_FORMAT, v);
}

static double
success_ratio (const PorticoTrafficFigures *f)
{
  if (f->requests == 0)
    return NAN;
  return (double) (portico_traffic_figures_status (f, 2) + portico_traffic_figures_status (f, 3))
         / (double) f->requests;
}

static const PorticoNodeFigures *
find_node (const PorticoVariantResults *v, const char *name)
{
  for (guint i = 0; i < v->nodes->len; i++) {
    const PorticoNodeFigures *n = g_ptr_array_index (v->nodes, i);
    if (g_strcmp0 (n->node, name) == 0)
      return n;
  }
  return NULL;
}

/* One row of the variants table: @label, then one cell per variant from @cell. */
typedef char *(*CellFunc) (const PorticoVariantResults *v, gconstpointer data);

static void
figures_row (GString *out, const PorticoResults *results, const char *label, CellFunc cell,
             gconstpointer data)
{
  portico_report_emit (out, "<tr><th>%s</th>", label);
  for (guint i = 0; i < results->variants->len; i++) {
    g_autofree char *text = cell (g_ptr_array_index (results->variants, i), data);
    portico_report_emit (out, "<td class=\"num\">%s</td>", text);
  }
  g_string_append (out, "</tr>\n");
}

/* The client-side figures, by an index into this list. */
static const char *const client_rows[] = {
  "requests", "completed", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors",
  "success ratio", "connections opened",
};

static char *
client_cell (const PorticoVariantResults *v, gconstpointer data)
{
  const PorticoTrafficFigures *f = v->overall;

  switch (GPOINTER_TO_INT (data)) {
  case 0: return ucount (f->requests);
  case 1: return ucount (f->completed);
  case 2: return portico_report_human (f->rps);
  case 3: return portico_report_human (f->p50_ms);
  case 4: return portico_report_human (f->p90_ms);
  case 5: return portico_report_human (f->p99_ms);
  case 6: return portico_report_human (f->max_ms);
  case 7: return ucount (portico_traffic_figures_errors (f));
  case 8: {
    g_autofree char *pct = portico_report_fixed ("%.2f", 100 * success_ratio (f));
    return isfinite (success_ratio (f)) ? g_strconcat (pct, " %", NULL) : g_strdup ("–");
  }
  default: return ucount (f->connections_opened);
  }
}

/* The gateway-side figures of one node, by an index into this list. */
static const char *const node_rows[] = {
  "served", "upstream connects", "upstream reuses", "respawns", "reloads", "timers max",
  "loop lag max ms",
};

typedef struct {
  const char *node;
  int row;
} NodeCell;

static char *
node_cell (const PorticoVariantResults *v, gconstpointer data)
{
  const NodeCell *c = data;
  const PorticoNodeFigures *n = find_node (v, c->node);

  if (!n)
    return g_strdup ("–");
  switch (c->row) {
  case 0: return count (n->requests);
  case 1: return count (n->upstream_connects);
  case 2: return count (n->upstream_reuses);
  case 3: return count (n->workers_respawned);
  case 4: return count (n->reloads);
  case 5: return count (n->timers_pending_max);
  default: return portico_report_human (n->loop_lag_max_ms);
  }
}

static void
variants_section (GString *out, const PorticoResults *results)
{
  g_autoptr(GPtrArray) nodes = g_ptr_array_new ();
  guint n = results->variants->len;
  g_autofree double *rps = g_new0 (double, MAX (n, 1)), *p99 = g_new0 (double, MAX (n, 1));

  g_string_append (out, "<section id=\"variants\"><h2>Variants side by side</h2>\n");
  if (n == 0) {
    g_string_append (out, "<p class=\"empty\">No variant ran.</p></section>\n");
    return;
  }
  g_string_append (out, "<table class=\"figures\"><tr><th></th>");
  for (guint i = 0; i < n; i++) {
    PorticoVariantResults *v = g_ptr_array_index (results->variants, i);

    portico_report_emit (out, "<th class=\"num\">%s</th>", v->variant);
    for (guint k = 0; k < v->nodes->len; k++) {
      PorticoNodeFigures *f = g_ptr_array_index (v->nodes, k);
      gboolean seen = FALSE;

      for (guint j = 0; j < nodes->len; j++)
        seen = seen || g_strcmp0 (g_ptr_array_index (nodes, j), f->node) == 0;
      if (!seen)
        g_ptr_array_add (nodes, f->node);
    }
    rps[i] = v->overall->rps;
    p99[i] = v->overall->p99_ms;
  }
  portico_report_emit (out, "</tr>\n<tr class=\"group\"><th colspan=\"%d\">client side (every traffic "
                       "entry)</th></tr>\n", (int) n + 1);
  for (guint r = 0; r < G_N_ELEMENTS (client_rows); r++)
    figures_row (out, results, client_rows[r], client_cell, GINT_TO_POINTER (r));
  for (guint k = 0; k < nodes->len; k++) {
    portico_report_emit (out, "<tr class=\"group\"><th colspan=\"%d\">node %s</th></tr>\n",
                         (int) n + 1, (char *) g_ptr_array_index (nodes, k));
    for (guint r = 0; r < G_N_ELEMENTS (node_rows); r++) {
      NodeCell c = { g_ptr_array_index (nodes, k), (int) r };
      figures_row (out, results, node_rows[r], node_cell, &c);
    }
  }
  g_string_append (out, "</table>\n");
  if (n > 1) {
    g_string_append (out, "<div class=\"pair\">");
    portico_report_bars_svg (out, results, "completed requests per second", rps);
    portico_report_bars_svg (out, results, "latency p99, ms", p99);
    g_string_append (out, "</div>\n");
  }
  g_string_append (out, "</section>\n");
}

/* ---- the page -------------------------------------------------------------------------- */

static const char style[] =
  "body { font: 18px/1.45 system-ui, 'DejaVu Sans', 'Segoe UI', Roboto, sans-serif; color: #1a1a1a;"
  " background: #fff; max-width: 1180px; margin: 0 auto; padding: 24px 28px 60px; }\n"
  "h1 { font-size: 2.3em; margin: 0 0 .2em; line-height: 1.15; } h3 { font-size: 1.25em; margin: 1.2em 0 .4em; }\n"
  "h2 { font-size: 1.6em; margin: 1.6em 0 .5em; padding-bottom: .2em; border-bottom: 3px solid #222; }\n"
  ".teaches { font-size: 1.3em; margin: .2em 0 .5em; } .description, .note, .meta { color: #444; }\n"
  ".verdict { display: inline-block; font-size: 2em; font-weight: 700; padding: .25em .7em;"
  " border-radius: 8px; margin: .4em 0; border: 4px solid #999; color: #444; background: #eee; }\n"
  ".verdict.held { color: #00664a; background: #e3f4ee; border-color: #009E73; }\n"
  ".verdict.failed { color: #a33d00; background: #fbe9e0; border-color: #D55E00; }\n"
  "table { border-collapse: collapse; width: 100%; margin: .5em 0; }\n"
  "table.figures { width: auto; min-width: 60%; } table.figures td.num { min-width: 7em; }\n"
  "th, td { padding: .3em .6em; border-bottom: 1px solid #ddd; text-align: left; vertical-align: top; }\n"
  ".num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }\n"
  "tr.group th { background: #f2f2f2; font-size: .9em; text-transform: uppercase; letter-spacing: .04em; }\n"
  ".badge { font-weight: 700; padding: .1em .5em; border-radius: 4px; color: #fff; white-space: nowrap; }\n"
  "tr.held .badge { background: #00795a; } tr.failed .badge { background: #c24f00; }\n"
  "tr.failed, tr.event-failed { background: #fdf1ea; } tr.event-failed td { color: #a33d00; font-weight: 700; }\n"
  "code { font-family: 'DejaVu Sans Mono', ui-monospace, monospace; font-size: .88em; }\n"
  "svg { display: block; width: 100%; height: auto; margin: .4em 0; }\n"
  "svg text { font-family: inherit; font-size: 14px; fill: #222; } svg .tick { font-size: 13px; fill: #444; }\n"
  "svg .panel, svg .axis-title { font-size: 15px; font-weight: 700; }\n"
  "svg .grid { stroke: #e3e3e3; stroke-width: 1; } svg .axis { stroke: #444; stroke-width: 1.5; }\n"
  "svg .empty { fill: #777; font-style: italic; font-size: 16px; } svg .errors { fill: #D55E00; }\n"
  "svg line.event { stroke: #555; stroke-width: 1.5; stroke-dasharray: 5 4; }\n"
  "svg line.event.failed { stroke: #D55E00; stroke-width: 2.5; } svg .event-label { font-size: 13px; }\n"
  "svg .event.failed .event-label { fill: #D55E00; font-weight: 700; }\n"
  "svg .narration circle { fill: #fff; stroke: #222; stroke-width: 1.5; }\n"
  "svg .narration text { font-size: 12px; font-weight: 700; } svg .stripe { fill: #f6f6f6; }\n"
  "svg .span-name { font-weight: 700; } svg .duration { font-size: 13px; font-variant-numeric: tabular-nums; }\n"
  "svg .duration.inside { fill: #fff; font-weight: 700; }\n"
  ".pair { display: flex; gap: 24px; flex-wrap: wrap; } .pair figure { flex: 1 1 400px; margin: .5em 0; }\n"
  "figcaption { font-weight: 700; } .legend { font-size: .85em; color: #333; margin: 0 0 .6em; }\n"
  ".key { margin-right: 1.4em; white-space: nowrap; } .key span { display: inline-block;"
  " vertical-align: middle; margin-right: .4em; }\n"
  ".key .line { width: 28px; height: 0; border-top: 3px solid #222; } .key .line.total { border-top-width: 4px; }\n"
  ".key .line.event { border-top: 2px dashed #555; } .key .line.event.failed { border-top: 3px dashed #D55E00; }\n"
  ".key .box { width: 14px; height: 14px; } .key .box.marked { outline: 2px solid #000; }\n"
  ".key .dot { width: 18px; height: 18px; border: 1.5px solid #222; border-radius: 50%;"
  " text-align: center; font-size: 12px; line-height: 18px; font-weight: 700; }\n"
  ".empty { color: #666; font-style: italic; } ol.narration li { margin: .3em 0; }\n"
  ".at { display: inline-block; min-width: 4.5em; font-variant-numeric: tabular-nums; color: #444; }\n"
  "@media print { body { font-size: 11pt; max-width: none; padding: 0; }"
  " section, svg, tr { break-inside: avoid; } h2 { break-after: avoid; } }\n";

static void
expectations_section (GString *out, GPtrArray *outcomes)
{
  g_string_append (out, "<section id=\"expectations\"><h2>Expectations</h2>\n");
  if (!outcomes || outcomes->len == 0) {
    g_string_append (out, "<p class=\"empty\">No expectation was checked.</p></section>\n");
    return;
  }
  g_string_append (out, "<table class=\"expectations\"><tr><th></th><th>where</th><th>kind</th>"
                   "<th>what was found</th></tr>\n");
  for (guint i = 0; i < outcomes->len; i++) {
    const PorticoExpectOutcome *o = g_ptr_array_index (outcomes, i);

    portico_report_emit (out, "<tr class=\"%S\"><td><span class=\"badge\">%S</span></td>"
                         "<td><code>%s</code></td><td>%s</td><td>%s</td></tr>\n",
                         o->ok ? "held" : "failed", o->ok ? "held" : "FAILED",
                         o->expect ? o->expect->json_path : "?", o->expect ? o->expect->kind : "?",
                         o->text);
  }
  g_string_append (out, "</table></section>\n");
}

static void
header (GString *out, const PorticoScenario *sc, const PorticoResults *results, GPtrArray *outcomes)
{
  guint failed = 0, total = outcomes ? outcomes->len : 0;
  g_autofree char *duration = portico_report_human (sc ? sc->duration_s : NAN);

  for (guint i = 0; i < total; i++)
    failed += !((PorticoExpectOutcome *) g_ptr_array_index (outcomes, i))->ok;
  portico_report_emit (out, "<header><h1>%s</h1>\n", sc ? sc->name : results->scenario);
  if (sc && sc->teaches)
    portico_report_emit (out, "<p class=\"teaches\">%s</p>\n", sc->teaches);
  if (sc && sc->description)
    portico_report_emit (out, "<p class=\"description\">%s</p>\n", sc->description);
  if (total == 0)
    portico_report_emit (out, "<p class=\"verdict none\">No expectations checked</p>\n");
  else if (failed == 0)
    portico_report_emit (out, "<p class=\"verdict held\">✓ Every expectation held (%d)</p>\n",
                         (int) total);
  else
    portico_report_emit (out, "<p class=\"verdict failed\">✗ %d of %d expectations FAILED</p>\n",
                         (int) failed, (int) total);
  portico_report_emit (out, "<p class=\"meta\">%s s scenario, %d variant%S", duration,
                       (int) results->variants->len, results->variants->len == 1 ? "" : "s");
  for (guint i = 0; i < results->variants->len; i++) {
    PorticoVariantResults *v = g_ptr_array_index (results->variants, i);

    portico_report_emit (out, "%S<strong>%s</strong>", i == 0 ? ": " : ", ", v->variant);
  }
  g_string_append (out, "</p></header>\n");
}

/* A heading per variant, unless the run had one unnamed variant. */
static void
variant_heading (GString *out, const PorticoResults *results, const PorticoVariantResults *v)
{
  if (results->variants->len > 1 || g_strcmp0 (v->variant, "default") != 0)
    portico_report_emit (out, "<h3>Variant %s</h3>\n", v->variant);
}

static void
narration_list (GString *out, const PorticoVariantResults *v)
{
  if (v->narration->len == 0) {
    g_string_append (out, "<p class=\"empty\">Nothing was said.</p>\n");
    return;
  }
  g_string_append (out, "<ol class=\"narration\">\n");
  for (guint n = 0; n < v->narration->len; n++) {
    PorticoNarrationRecord *r = g_ptr_array_index (v->narration, n);
    g_autofree char *at = portico_report_fixed ("%.1f", r->at_s);

    portico_report_emit (out, "<li><span class=\"at\">%s s</span> %s</li>\n", at, r->say);
  }
  g_string_append (out, "</ol>\n");
}

char *
portico_report_html (const PorticoScenario *sc, const PorticoResults *results, GPtrArray *outcomes)
{
  GString *out;
  PorticoReportTimeScales ts;
  guint n;

  g_return_val_if_fail (results != NULL, NULL);
  out = g_string_new (NULL);
  n = results->variants->len;
  ts = portico_report_time_scales (sc, results);
  portico_report_emit (out, "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">"
                       "<head><meta charset=\"utf-8\"/><meta name=\"viewport\" content=\"width=device-width, "
                       "initial-scale=1\"/><title>%s: Portico lab report</title>\n<style>\n%S</style>"
                       "</head>\n<body>\n", sc ? sc->name : results->scenario, style);
  header (out, sc, results, outcomes);
  expectations_section (out, outcomes);
  variants_section (out, results);

  g_string_append (out, "<section id=\"time\"><h2>Over time</h2>\n");
  if (n > 1)
    g_string_append (out, "<p class=\"note\">Every variant is drawn on the same scales.</p>\n");
  for (guint i = 0; i < n; i++) {
    PorticoVariantResults *v = g_ptr_array_index (results->variants, i);

    variant_heading (out, results, v);
    portico_report_timeline_svg (out, sc, v, &ts);
    portico_report_timeline_legend (out, sc, v);
    events_table (out, v);
  }
  g_string_append (out, "</section>\n<section id=\"trace\"><h2>The traced request</h2>\n");
  for (guint i = 0; i < n; i++) {
    variant_heading (out, results, g_ptr_array_index (results->variants, i));
    trace_section (out, g_ptr_array_index (results->variants, i));
  }
  g_string_append (out, "</section>\n<section id=\"narration\"><h2>Narration</h2>\n");
  for (guint i = 0; i < n; i++) {
    variant_heading (out, results, g_ptr_array_index (results->variants, i));
    narration_list (out, g_ptr_array_index (results->variants, i));
  }
  g_string_append (out, "</section>\n</body></html>\n");
  return g_string_free (out, FALSE);
}
