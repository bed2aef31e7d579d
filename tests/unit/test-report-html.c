/* Unit tests for lab/report-html: the `--html` page of hand-built results
 * parses as XML, holds what each section must show (a waterfall per traced
 * variant with a bar per span, a line per event, a row per expectation),
 * escapes every text, never prints NaN or infinity, writes '.' decimals
 * under a comma locale, and gives the same bytes for the same input.
 *
 * With PORTICO_TEST_HTML_OUT=FILE set, the fixture's page is also written
 * to FILE, to look at it in a browser. */
#include "lab/report-html.h"

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define ORANGE "#E69F00"

/* Two traffic entries, the second from 2 s, and two variants; the
 * scenario's own text has characters that must be escaped. */
static const char scenario_json[] =
  "{ \"name\": \"report\", \"teaches\": \"Charts & tables <escaped>.\","
  "  \"description\": \"A \\\"quoted\\\" description.\", \"duration_s\": 6, \"gateway\": {},"
  "  \"traffic\": [ { \"name\": \"alice\", \"concurrency\": 2 },"
  "                 { \"name\": \"bob\", \"concurrency\": 1, \"start_s\": 2 } ],"
  "  \"variants\": [ { \"name\": \"fast\", \"set\": {} }, { \"name\": \"slow\", \"set\": {} } ],"
  "  \"expect\": [ { \"completed\": { \"min\": 1 } }, { \"errors\": 0 } ] }";

static const char narration_text[] = "a < b & \"c\" > d";
static const char failed_event[] = "take <b>orders</b> down & \"up\"";

static PorticoScenario *
scenario_new (void)
{
  g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  PorticoScenario *sc = portico_scenario_load_data (scenario_json, -1, "report.json", errors,
                                                    &error);

  for (guint i = 0; i < errors->len; i++)
    g_test_message ("error: %s", (char *) g_ptr_array_index (errors, i));
  g_assert_no_error (error);
  g_assert_nonnull (sc);
  return sc;
}

/* @n seconds of @rate completions, latency growing; second @gap has none. */
static void
add_seconds (PorticoTrafficFigures *f, guint n, guint64 rate, guint gap, guint64 errors_at_2)
{
  for (guint i = 0; i < n; i++) {
    PorticoResultSecond s = { .started = rate, .completed = i == gap ? 0 : rate,
                              .errors = i == 2 ? errors_at_2 : 0, .p50_ms = 1.5 + i,
                              .p99_ms = 4.25 + 2 * i };

    s.status[2] = s.completed;
    if (i == gap)
      s.p50_ms = s.p99_ms = NAN;
    g_array_append_val (f->seconds, s);
  }
  f->requests = rate * n;
  f->completed = rate * (n - 1);
  portico_traffic_figures_add_status (f, 200, f->completed);
  f->errors[PORTICO_TRAFFIC_ERR_RESET] = errors_at_2;
  f->duration_s = n;
  f->rps = (double) f->completed / n;
  f->p50_ms = 2.5;
  f->p90_ms = 6.75;
  f->p99_ms = 9.5;
  f->max_ms = 31.125;
}

static void
add_variant (PorticoResults *results, const char *name, guint64 rate, gboolean traced)
{
  PorticoVariantResults *v = portico_results_add_variant (results, name);
  PorticoNodeFigures *n;

  add_seconds (portico_variant_results_add_traffic (v, "alice"), 6, rate, 4, traced ? 7 : 0);
  add_seconds (portico_variant_results_add_traffic (v, "bob"), 4, rate / 2, 99, 0);
  for (guint i = 0; i < v->traffic->len; i++) {
    PorticoTrafficFigures *f = g_ptr_array_index (v->traffic, i);

    v->overall->requests += f->requests;
    v->overall->completed += f->completed;
    portico_traffic_figures_add_status (v->overall, 200, f->completed);
    v->overall->errors[PORTICO_TRAFFIC_ERR_RESET] += f->errors[PORTICO_TRAFFIC_ERR_RESET];
  }
  v->overall->duration_s = 6;
  v->overall->rps = (double) v->overall->completed / 6;
  v->overall->p50_ms = 2.5;
  v->overall->p99_ms = traced ? 9.5 : 19;
  v->duration_s = 6.02;
  n = portico_variant_results_add_node (v, "gateway");
  n->requests = (gint64) v->overall->completed;
  n->workers_respawned = 1;
  n->reloads = 0;
  n->upstream_connects = 4;
  n->upstream_reuses = 1000;
  n->timers_pending_max = 3;
  n->loop_lag_max_ms = 1.25;
  portico_variant_results_add_event (v, 2, "kill worker 0 of gateway (KILL)", TRUE, "pid 4242");
  portico_variant_results_add_narration (v, 1, narration_text);
  if (!traced) {
    v->trace_status = 503;
    return;
  }
  portico_variant_results_add_event (v, 3.5, failed_event, FALSE, "no such <service>");
  portico_variant_results_add_narration (v, 4, "The worker is back.");
  v->trace_at_s = 1.5;
  v->trace_status = 418;
  v->trace_id = g_strdup ("0-17");
  /* out of order on purpose: the waterfall orders them */
  portico_variant_results_add_span (v, "request", "client", NULL, NULL, NULL, 0, 3.2);
  portico_variant_results_add_span (v, "access", "phase", "gateway", NULL, NULL, 0.4, 0.3);
  portico_variant_results_add_span (v, "rewrite", "phase", "gateway", NULL, NULL, 0.1, 0.25);
  portico_variant_results_add_span (v, "latency", "module", "gateway", "rewrite", "continue", 0.12,
                                    0.2);
  portico_variant_results_add_span (v, "request-termination", "module", "gateway", "access",
                                    "respond", 0.5, 0.045);
  portico_variant_results_add_span (v, "key-auth", "module", "gateway", "access", "continue", 0.41,
                                    0.08);
  portico_variant_results_add_span (v, "header_filter", "phase", "gateway", NULL, NULL, 0.75, 0.02);
  portico_variant_results_add_span (v, "log", "phase", "gateway", NULL, NULL, 0.8, 0.01);
}

static PorticoResults *
results_new (void)
{
  PorticoResults *results = portico_results_new ("report");

  add_variant (results, "fast", 1000, TRUE);
  add_variant (results, "slow", 150, FALSE);
  return results;
}

/* The page of the fixture, with its expectations checked (one holds,
 * one fails: alice had errors in the fast variant). */
static char *
fixture_page (void)
{
  g_autoptr(PorticoScenario) sc = scenario_new ();
  g_autoptr(PorticoResults) results = results_new ();
  gboolean all_ok = TRUE;
  g_autoptr(GPtrArray) outcomes = portico_expect_check_all (sc->expect, results, &all_ok);

  g_assert_false (all_ok);
  return portico_report_html (sc, results, outcomes);
}

/* ---- reading the page back ------------------------------------------------------------- */

typedef struct {
  GHashTable *counts;  /* "element" and "element.class" -> how many */
  GString *text;       /* every text, unescaped */
  char *root;
  char *root_xmlns;
  guint numbers;       /* coordinate attributes seen */
  guint decimals;      /* ... with a '.' decimal */
  GPtrArray *bad;      /* "attr=value" of coordinates that are not plain numbers */
  guint respond_bars;  /* span bars drawn orange */
} Page;

static const char *const coordinate_attrs[] = {
  "x", "y", "x1", "x2", "y1", "y2", "cx", "cy", "r", "width", "height", "stroke-width", NULL,
};

static void
check_number (Page *page, const char *name, const char *value)
{
  page->numbers++;
  if (strchr (value, '.'))
    page->decimals++;
  if (!g_regex_match_simple ("^-?[0-9]+(\\.[0-9]+)?$", value, 0, 0))
    g_ptr_array_add (page->bad, g_strdup_printf ("%s=\"%s\"", name, value));
}

/* Paths and view boxes: numbers, spaces and path commands only. */
static void
check_numbers (Page *page, const char *name, const char *value)
{
  if (!g_regex_match_simple ("^[-0-9. ML]*$", value, 0, 0))
    g_ptr_array_add (page->bad, g_strdup_printf ("%s=\"%s\"", name, value));
}

static void
count (Page *page, const char *key)
{
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (page->counts, key));

  g_hash_table_insert (page->counts, g_strdup (key), GUINT_TO_POINTER (n + 1));
}

static guint
counted (Page *page, const char *key)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (page->counts, key));
}

static void
on_start (GMarkupParseContext *context, const char *element, const char **names,
          const char **values, gpointer data, GError **error)
{
  Page *page = data;
  const char *class = NULL, *fill = NULL;

  if (!page->root) {
    page->root = g_strdup (element);
    for (guint i = 0; names[i]; i++) {
      if (g_str_equal (names[i], "xmlns"))
        page->root_xmlns = g_strdup (values[i]);
    }
  }
  for (guint i = 0; names[i]; i++) {
    if (g_str_equal (names[i], "class"))
      class = values[i];
    else if (g_str_equal (names[i], "fill"))
      fill = values[i];
    else if (g_strv_contains (coordinate_attrs, names[i]))
      check_number (page, names[i], values[i]);
    else if (g_str_equal (names[i], "d") || g_str_equal (names[i], "viewBox")
             || g_str_equal (names[i], "stroke-dasharray"))
      check_numbers (page, names[i], values[i]);
  }
  count (page, element);
  if (class) {
    g_autofree char *key = g_strdup_printf ("%s.%s", element, class);
    count (page, key);
  }
  if (g_str_equal (element, "rect") && g_strcmp0 (class, "span") == 0
      && g_strcmp0 (fill, ORANGE) == 0)
    page->respond_bars++;
}

static void
on_text (GMarkupParseContext *context, const char *text, gsize len, gpointer data, GError **error)
{
  g_string_append_len (((Page *) data)->text, text, len);
}

static void
page_clear (Page *page)
{
  g_clear_pointer (&page->counts, g_hash_table_unref);
  if (page->text)
    g_string_free (page->text, TRUE);
  g_clear_pointer (&page->root, g_free);
  g_clear_pointer (&page->root_xmlns, g_free);
  g_clear_pointer (&page->bad, g_ptr_array_unref);
}

/* Parses @html with GMarkup, failing the test on any error. */
static void
page_read (Page *page, const char *html)
{
  static const GMarkupParser parser = { on_start, NULL, on_text, NULL, NULL };
  g_autoptr(GError) error = NULL;
  GMarkupParseContext *context;

  *page = (Page) { g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL),
                   g_string_new (NULL), NULL, NULL, 0, 0,
                   g_ptr_array_new_with_free_func (g_free), 0 };
  context = g_markup_parse_context_new (&parser, 0, page, NULL);
  if (g_markup_parse_context_parse (context, html, -1, &error))
    g_markup_parse_context_end_parse (context, &error);
  g_markup_parse_context_free (context);
  g_assert_no_error (error);
  for (guint i = 0; i < page->bad->len; i++)
    g_test_message ("not a plain number: %s", (char *) g_ptr_array_index (page->bad, i));
  g_assert_cmpuint (page->bad->len, ==, 0);
}

/* ---- tests ----------------------------------------------------------------------------- */

static void
test_well_formed (void)
{
  g_autofree char *html = fixture_page ();
  const char *out = g_getenv ("PORTICO_TEST_HTML_OUT");
  Page page;

  g_test_summary ("The page is one XHTML-compatible HTML5 document that GMarkup parses, "
                  "with nothing loaded from elsewhere.");
  if (out)
    g_assert_true (g_file_set_contents (out, html, -1, NULL));
  g_assert_true (g_str_has_prefix (html, "<!DOCTYPE html>\n"));
  page_read (&page, html);
  g_assert_cmpstr (page.root, ==, "html");
  g_assert_cmpstr (page.root_xmlns, ==, "http://www.w3.org/1999/xhtml");
  g_assert_cmpuint (counted (&page, "head"), ==, 1);
  g_assert_cmpuint (counted (&page, "style"), ==, 1);
  /* self-contained: no script, no link, no image, no URL but namespaces */
  g_assert_cmpuint (counted (&page, "script"), ==, 0);
  g_assert_cmpuint (counted (&page, "link"), ==, 0);
  g_assert_cmpuint (counted (&page, "img"), ==, 0);
  g_assert_null (strstr (html, "url("));
  g_assert_null (strstr (html, "src="));
  g_assert_null (strstr (html, "href="));
  g_assert_cmpuint (page.numbers, >, 100);
  page_clear (&page);
}

static void
test_contents (void)
{
  g_autofree char *html = fixture_page ();
  Page page;

  g_test_summary ("Each section shows what it must: the verdict, a row per expectation with "
                  "its class, a timeline per variant with a dashed line per event (the failed "
                  "one red), the variants' bar charts, one waterfall for the one traced "
                  "variant with a bar per span (the module that answered orange), and the "
                  "narration.");
  page_read (&page, html);
  g_assert_nonnull (strstr (page.text->str, "1 of 2 expectations FAILED"));
  g_assert_cmpuint (counted (&page, "tr.held"), ==, 1);
  g_assert_cmpuint (counted (&page, "tr.failed"), ==, 1);
  g_assert_nonnull (strstr (page.text->str, "expect[1]"));
  g_assert_cmpuint (counted (&page, "svg.timeline"), ==, 2);
  g_assert_cmpuint (counted (&page, "line.event"), ==, 2);
  g_assert_cmpuint (counted (&page, "line.event failed"), ==, 1);
  g_assert_cmpuint (counted (&page, "tr.event-failed"), ==, 1);
  g_assert_cmpuint (counted (&page, "g.narration"), ==, 3);
  g_assert_cmpuint (counted (&page, "rect.errors"), ==, 1);
  g_assert_cmpuint (counted (&page, "svg.bars"), ==, 2);
  g_assert_cmpuint (counted (&page, "svg.waterfall"), ==, 1);
  g_assert_cmpuint (counted (&page, "rect.span"), ==, 8);
  g_assert_cmpuint (page.respond_bars, ==, 1);
  g_assert_cmpuint (counted (&page, "text.module-name"), ==, 3);
  g_assert_nonnull (strstr (page.text->str, "0.045 ms → respond"));
  g_assert_nonnull (strstr (page.text->str, "no request traced in this variant (its answer's "
                                            "status: 503)"));
  g_assert_cmpuint (counted (&page, "ol.narration"), ==, 2);
  g_assert_nonnull (strstr (page.text->str, "The worker is back."));
  page_clear (&page);
}

static void
test_waterfall_order (void)
{
  g_autofree char *html = fixture_page ();
  const char *order[] = { ">request<", ">rewrite<", ">latency<", ">access<", ">key-auth<",
                          ">request-termination<", ">header_filter<", ">log<" };
  const char *waterfall = strstr (html, "class=\"waterfall\"");
  const char *at = waterfall;

  g_test_summary ("The waterfall's rows: the client's span first, then the phases by start, "
                  "each followed by the modules that ran in it, by start.");
  g_assert_nonnull (waterfall);
  for (guint i = 0; i < G_N_ELEMENTS (order); i++) {
    const char *found = strstr (at, order[i]);

    g_test_message ("row %u: %s", i, order[i]);
    g_assert_nonnull (found);
    at = found + 1;
  }
}

static void
test_escaped (void)
{
  g_autofree char *html = fixture_page ();
  g_autofree char *narration = g_markup_escape_text (narration_text, -1);
  g_autofree char *event = g_markup_escape_text (failed_event, -1);
  Page page;

  g_test_summary ("Text from the scenario and the run is escaped: it reads back whole, and "
                  "never appears raw.");
  page_read (&page, html);
  g_assert_nonnull (strstr (page.text->str, narration_text));
  g_assert_nonnull (strstr (page.text->str, failed_event));
  g_assert_nonnull (strstr (page.text->str, "Charts & tables <escaped>."));
  g_assert_nonnull (strstr (page.text->str, "no such <service>"));
  g_assert_nonnull (strstr (html, narration));
  g_assert_nonnull (strstr (html, event));
  g_assert_null (strstr (html, "a < b"));
  g_assert_null (strstr (html, "<b>orders"));
  g_assert_null (strstr (html, "<escaped>"));
  page_clear (&page);
}

/* No "nan" or "inf" anywhere (any case). */
static void
assert_finite (const char *html)
{
  g_autofree char *lower = g_ascii_strdown (html, -1);

  g_assert_null (strstr (lower, "nan"));
  g_assert_null (strstr (lower, "inf"));
}

static void
test_empty (void)
{
  g_autoptr(PorticoScenario) sc = scenario_new ();
  g_autoptr(PorticoResults) none = portico_results_new ("report");
  g_autoptr(PorticoResults) results = portico_results_new ("report");
  PorticoVariantResults *idle = portico_results_add_variant (results, "idle");
  PorticoVariantResults *odd = portico_results_add_variant (results, "odd");
  PorticoTrafficFigures *f = portico_variant_results_add_traffic (odd, "alice");
  PorticoResultSecond one = { .completed = G_MAXUINT64, .errors = G_MAXUINT64,
                              .p50_ms = INFINITY, .p99_ms = 1e300 };
  g_autofree char *empty_html = NULL, *html = NULL;
  Page page;

  g_test_summary ("Zero variants, a variant with no traffic at all, and one with a single "
                  "second of huge or infinite figures, NaN spans and events: the page still "
                  "parses, and no NaN or infinity reaches it.");
  empty_html = portico_report_html (sc, none, NULL);
  page_read (&page, empty_html);
  g_assert_nonnull (strstr (page.text->str, "No variant ran."));
  g_assert_cmpuint (counted (&page, "svg"), ==, 0);
  assert_finite (empty_html);
  page_clear (&page);

  g_array_append_val (f->seconds, one);
  f->requests = odd->overall->requests = G_MAXUINT64;
  f->rps = odd->overall->rps = INFINITY;
  odd->overall->p99_ms = 1e300;
  portico_variant_results_add_node (odd, "gateway");
  portico_variant_results_add_span (odd, "request", "client", NULL, NULL, NULL, NAN, NAN);
  portico_variant_results_add_span (odd, "access", "phase", "gateway", NULL, NULL, 0, INFINITY);
  portico_variant_results_add_event (odd, NAN, "never", TRUE, NULL);
  portico_variant_results_add_narration (odd, INFINITY, "never said");
  idle->trace_at_s = NAN;
  html = portico_report_html (sc, results, NULL);
  page_read (&page, html);
  assert_finite (html);
  g_assert_cmpuint (counted (&page, "svg.timeline"), ==, 2);
  g_assert_nonnull (strstr (page.text->str, "no traffic in this variant"));
  g_assert_nonnull (strstr (page.text->str, "no request traced in this variant"));
  g_assert_nonnull (strstr (page.text->str, "No expectations checked"));
  page_clear (&page);
}

static void
test_comma_locale (void)
{
  g_autofree char *in_c = NULL, *in_de = NULL;
  char probe[16];
  Page page;

  g_test_summary ("Under a locale whose decimal separator is a comma the page is the same, "
                  "byte for byte: every decimal is a '.'.");
  setlocale (LC_NUMERIC, "C");
  in_c = fixture_page ();
  if (!setlocale (LC_NUMERIC, "de_DE.UTF-8")) {
    g_test_skip ("no de_DE.UTF-8 locale here (localedef -i de_DE -f UTF-8 de_DE.UTF-8 makes one)");
    return;
  }
  /* the locale really does write commas: else this test could not fail */
  snprintf (probe, sizeof probe, "%.1f", 1.5);
  g_assert_cmpstr (probe, ==, "1,5");
  in_de = fixture_page ();
  setlocale (LC_NUMERIC, "C");
  page_read (&page, in_de);
  g_assert_cmpuint (page.decimals, >, 10);
  g_assert_cmpstr (in_de, ==, in_c);
  page_clear (&page);
}

static void
test_deterministic (void)
{
  g_autofree char *first = fixture_page ();
  g_autofree char *second = fixture_page ();

  g_test_summary ("The same input gives the same bytes (no date, no hash-table order).");
  g_assert_cmpuint (strlen (first), >, 1000);
  g_assert_cmpstr (first, ==, second);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/lab/report-html/well-formed", test_well_formed);
  g_test_add_func ("/lab/report-html/contents", test_contents);
  g_test_add_func ("/lab/report-html/waterfall-order", test_waterfall_order);
  g_test_add_func ("/lab/report-html/escaped", test_escaped);
  g_test_add_func ("/lab/report-html/empty", test_empty);
  g_test_add_func ("/lab/report-html/comma-locale", test_comma_locale);
  g_test_add_func ("/lab/report-html/deterministic", test_deterministic);
  return g_test_run ();
}
