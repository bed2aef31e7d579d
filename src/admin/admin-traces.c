/* admin-traces.c: GET /traces and GET /traces/{id}: the requests the
 * workers traced (core/trace.h), read from each slot's ring. */
#include "admin/admin-private.h"

#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = { "phase", "module", "upstream" };
static const char *const result_names[] = { "continue", "respond", "yield", "error" };

typedef struct {
  GArray *records; /* PorticoTraceRecord */
} TraceList;

/* Every record in every slot's ring, newest first. */
static gint
newest_first (gconstpointer a, gconstpointer b)
{
  const PorticoTraceRecord *ra = a, *rb = b;
  if (ra->wall_us != rb->wall_us)
    return ra->wall_us > rb->wall_us ? -1 : 1;
  return ra->id > rb->id ? -1 : ra->id < rb->id;
}

static GArray *
read_all (PorticoShm *shm)
{
  GArray *records = g_array_new (FALSE, FALSE, sizeof (PorticoTraceRecord));
  PorticoTraceRecord rec;
  for (guint slot = 0; slot < portico_shm_n_slots (shm); slot++)
    {
      if (portico_shm_trace_last_id (shm, slot) == 0)
        continue;
      for (guint i = 0; i < PORTICO_SHM_TRACES; i++)
        if (portico_shm_trace_read (shm, slot, i, &rec))
          g_array_append_val (records, rec);
    }
  g_array_sort (records, newest_first);
  return records;
}

/* Request text is whatever the client sent: JSON needs valid UTF-8. */
static void
add_text (JsonBuilder *b, const char *member, const char *text)
{
  g_autofree char *valid = g_utf8_make_valid (text, -1);
  json_builder_set_member_name (b, member);
  json_builder_add_string_value (b, valid);
}

static void
add_summary (JsonBuilder *b, const PorticoTraceRecord *rec)
{
  char id[32];
  portico_trace_id_format (id, sizeof id, rec->slot, rec->id);
  add_text (b, "id", id);
  json_builder_set_member_name (b, "worker");
  json_builder_add_int_value (b, rec->slot);
  json_builder_set_member_name (b, "requested");
  json_builder_add_boolean_value (b, rec->requested);
  portico_admin_add_time (b, "time", rec->wall_us);
  add_text (b, "method", rec->method);
  add_text (b, "path", rec->path);
  json_builder_set_member_name (b, "status");
  json_builder_add_int_value (b, rec->status);
  add_text (b, "route", rec->route);
  add_text (b, "service", rec->service);
  add_text (b, "consumer", rec->consumer);
  json_builder_set_member_name (b, "duration_us");
  json_builder_add_int_value (b, rec->duration_us);
  portico_admin_add_ms (b, "total_ms", (guint64) MAX (rec->duration_us, 0));
}

/* Spans by start; in the same microsecond, by phase (a handler before
 * the next phase's window), then a window before the handlers inside it,
 * then as recorded: a total order, whatever qsort does with ties. */
typedef struct {
  PorticoTraceSpanRecord span;
  guint index;
} Ordered;

static gint
by_start (gconstpointer a, gconstpointer b)
{
  const Ordered *oa = a, *ob = b;
  const PorticoTraceSpanRecord *sa = &oa->span, *sb = &ob->span;
  if (sa->start_us != sb->start_us)
    return sa->start_us < sb->start_us ? -1 : 1;
  if (sa->phase != sb->phase)
    return sa->phase < sb->phase ? -1 : 1;
  if (sa->kind != sb->kind)
    return sa->kind < sb->kind ? -1 : 1;
  return oa->index < ob->index ? -1 : oa->index > ob->index;
}

static void
add_detail (JsonBuilder *b, const PorticoTraceRecord *rec)
{
  Ordered ordered[PORTICO_TRACE_SPANS];
  PorticoTraceSpanRecord spans[PORTICO_TRACE_SPANS];
  guint n = rec->n_spans;
  for (guint i = 0; i < n; i++)
    ordered[i] = (Ordered) { rec->spans[i], i };
  qsort (ordered, n, sizeof ordered[0], by_start);
  for (guint i = 0; i < n; i++)
    spans[i] = ordered[i].span;

  json_builder_set_member_name (b, "start_us");
  json_builder_add_int_value (b, rec->start_us);
  json_builder_set_member_name (b, "spans_dropped");
  json_builder_add_int_value (b, rec->spans_dropped);
  /* The phases in the order they ran (a balancer retried shows once per run). */
  json_builder_set_member_name (b, "phases");
  json_builder_begin_array (b);
  int last = -1;
  for (guint i = 0; i < n; i++)
    if (spans[i].kind == PORTICO_TRACE_PHASE && spans[i].phase != last)
      {
        json_builder_add_string_value (b, portico_admin_phase_name (spans[i].phase));
        last = spans[i].phase;
      }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "spans");
  json_builder_begin_array (b);
  for (guint i = 0; i < n; i++)
    {
      const PorticoTraceSpanRecord *s = &spans[i];
      guint kind = MIN (s->kind, G_N_ELEMENTS (kind_names) - 1);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "kind");
      json_builder_add_string_value (b, kind_names[kind]);
      if (s->kind == PORTICO_TRACE_PHASE)
        add_text (b, "name", portico_admin_phase_name (s->phase));
      else
        add_text (b, "name", s->name);
      json_builder_set_member_name (b, "phase");
      if (s->kind == PORTICO_TRACE_UPSTREAM)
        json_builder_add_null_value (b);
      else
        json_builder_add_string_value (b, portico_admin_phase_name (s->phase));
      json_builder_set_member_name (b, "result");
      if (s->kind == PORTICO_TRACE_MODULE && s->result >= 0 && (guint) s->result < G_N_ELEMENTS (result_names))
        json_builder_add_string_value (b, result_names[s->result]);
      else if (s->kind == PORTICO_TRACE_UPSTREAM)
        json_builder_add_string_value (b, s->result ? "failed" : "answered");
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "start_us");
      json_builder_add_int_value (b, s->start_us);
      json_builder_set_member_name (b, "offset_us");
      json_builder_add_int_value (b, s->start_us - rec->start_us);
      json_builder_set_member_name (b, "duration_us");
      json_builder_add_int_value (b, s->duration_us);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
}

void
portico_admin_add_trace_summaries (JsonBuilder *b, PorticoShm *shm, guint limit)
{
  g_autoptr (GArray) records = read_all (shm);
  guint n = limit != 0 ? MIN (limit, records->len) : records->len;
  json_builder_begin_array (b);
  for (guint i = 0; i < n; i++)
    {
      json_builder_begin_object (b);
      add_summary (b, &g_array_index (records, PorticoTraceRecord, i));
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
}

JsonNode *
portico_admin_traces_json (PorticoShm *shm)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "traces");
  portico_admin_add_trace_summaries (b, shm, 0);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

JsonNode *
portico_admin_trace_json (PorticoShm *shm, const char *id)
{
  /* "SLOT-N", digits only: strtoull alone would take signs and blanks. */
  char *end = NULL;
  if (!g_ascii_isdigit (id[0]))
    return NULL;
  guint64 slot = g_ascii_strtoull (id, &end, 10);
  if (*end != '-' || slot >= portico_shm_n_slots (shm))
    return NULL;
  const char *rest = end + 1;
  if (!g_ascii_isdigit (rest[0]))
    return NULL;
  guint64 number = g_ascii_strtoull (rest, &end, 10);
  if (*end != '\0' || number == 0)
    return NULL;
  PorticoTraceRecord rec;
  if (!portico_shm_trace_read (shm, (guint) slot, (guint) ((number - 1) % PORTICO_SHM_TRACES), &rec) ||
      rec.id != number)
    return NULL;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  add_summary (b, &rec);
  add_detail (b, &rec);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}
