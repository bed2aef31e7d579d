/* phases.c: the phase runner (see phases.h). */
#include "pdk/phases.h"

typedef struct {
  const PorticoModule *module;
  GPtrArray *instances; /* PorticoModuleInstance*, most specific scope first */
  const PorticoModuleInstance *global; /* the unscoped instance, or NULL */
  gboolean yield_warned; /* it yielded in certificate once (said once per worker) */
} PlanModule;

struct _PorticoPlan {
  PlanModule *modules; /* by priority, higher first */
  guint n_modules;
  guint phase_mask;    /* phases some module has a handler for */
};

static const PorticoModule *current_module;

const PorticoModule *
portico_pdk_current_module (void)
{
  return current_module;
}

void
portico_pdk_set_current_module (const PorticoModule *module)
{
  current_module = module;
}

static PorticoHandler
handler_for (const PorticoModule *m, PorticoPhase phase)
{
  switch (phase)
    {
    case PORTICO_PHASE_CERTIFICATE: return m->certificate;
    case PORTICO_PHASE_REWRITE: return m->rewrite;
    case PORTICO_PHASE_ACCESS: return m->access;
    case PORTICO_PHASE_BALANCER: return m->balancer;
    case PORTICO_PHASE_HEADER_FILTER: return m->header_filter;
    case PORTICO_PHASE_BODY_FILTER: return m->body_filter;
    case PORTICO_PHASE_LOG: return m->log;
    case PORTICO_PHASE_INIT_WORKER:
    case PORTICO_N_PHASES:
    default: return NULL;
    }
}

/* Kong's precedence, as a number: the more specific, the higher. */
static int
scope_rank (const PorticoPluginConf *p)
{
  gboolean c = p->consumer != NULL, r = p->route != NULL, s = p->service != NULL;
  if (c && r && s) return 8;
  if (c && r) return 7;
  if (c && s) return 6;
  if (r && s) return 5;
  if (c) return 4;
  if (r) return 3;
  if (s) return 2;
  return 1;
}

static gint
by_rank (gconstpointer a, gconstpointer b)
{
  const PorticoModuleInstance *x = *(PorticoModuleInstance *const *) a;
  const PorticoModuleInstance *y = *(PorticoModuleInstance *const *) b;
  return scope_rank (y->plugin) - scope_rank (x->plugin);
}

PorticoPlan *
portico_plan_new (const PorticoModuleSet *set)
{
  PorticoPlan *plan = g_new0 (PorticoPlan, 1);
  if (set == NULL || set->instances->len == 0)
    return plan;
  /* set->instances is sorted by priority: modules come in that order. */
  plan->modules = g_new0 (PlanModule, set->instances->len);
  for (guint i = 0; i < set->instances->len; i++)
    {
      PorticoModuleInstance *inst = g_ptr_array_index (set->instances, i);
      const PorticoModule *m = inst->loaded->module;
      PlanModule *pm = NULL;
      for (guint j = 0; j < plan->n_modules && pm == NULL; j++)
        if (plan->modules[j].module == m)
          pm = &plan->modules[j];
      if (pm == NULL)
        {
          pm = &plan->modules[plan->n_modules++];
          pm->module = m;
          pm->instances = g_ptr_array_new ();
          for (guint p = PORTICO_PHASE_CERTIFICATE; p < PORTICO_N_PHASES; p++)
            if (handler_for (m, p) != NULL)
              plan->phase_mask |= PORTICO_PHASE_BIT (p);
        }
      g_ptr_array_add (pm->instances, inst);
      if (scope_rank (inst->plugin) == 1)
        pm->global = inst;
    }
  for (guint j = 0; j < plan->n_modules; j++)
    g_ptr_array_sort (plan->modules[j].instances, by_rank);
  return plan;
}

void
portico_plan_free (PorticoPlan *plan)
{
  if (plan == NULL)
    return;
  for (guint j = 0; j < plan->n_modules; j++)
    g_ptr_array_free (plan->modules[j].instances, TRUE);
  g_free (plan->modules);
  g_free (plan);
}

gboolean
portico_plan_is_empty (const PorticoPlan *plan)
{
  return plan == NULL || plan->phase_mask == 0;
}

guint
portico_plan_n_modules (const PorticoPlan *plan)
{
  return plan ? plan->n_modules : 0;
}

gboolean
portico_plan_global_wants (const PorticoPlan *plan, PorticoPhase phase)
{
  for (guint j = 0; plan != NULL && j < plan->n_modules; j++)
    if (plan->modules[j].global != NULL && handler_for (plan->modules[j].module, phase) != NULL)
      return TRUE;
  return FALSE;
}

/* The most specific instance of @pm that applies to @r as it stands. */
static const PorticoModuleInstance *
best_instance (const PorticoRequest *r, const PlanModule *pm)
{
  if (r->route == NULL)
    return pm->global; /* before routing, or nothing matched: global plugins only */
  for (guint i = 0; i < pm->instances->len; i++)
    {
      const PorticoModuleInstance *inst = g_ptr_array_index (pm->instances, i);
      const PorticoPluginConf *p = inst->plugin;
      if ((p->route == NULL || p->route == r->route) && (p->service == NULL || p->service == r->service) &&
          (p->consumer == NULL || p->consumer == r->consumer))
        return inst;
    }
  return NULL;
}

static void
resolve_final (PorticoRequest *r)
{
  const PorticoPlan *plan = r->plan;
  r->resolved = portico_request_arena_alloc (r, sizeof *r->resolved * plan->n_modules);
  for (guint j = 0; j < plan->n_modules; j++)
    r->resolved[j] = best_instance (r, &plan->modules[j]);
}

static const PorticoModuleInstance *
instance_for (PorticoRequest *r, guint j, PorticoPhase phase)
{
  const PlanModule *pm = &r->plan->modules[j];
  switch (phase)
    {
    case PORTICO_PHASE_CERTIFICATE: /* a handshake: no route is known */
    case PORTICO_PHASE_REWRITE:
      return pm->global;
    case PORTICO_PHASE_ACCESS:
      return best_instance (r, pm); /* a consumer found by a module above counts */
    default:
      if (r->resolved == NULL)
        resolve_final (r);
      return r->resolved[j];
    }
}

gboolean
portico_phase_wanted (PorticoRequest *r, PorticoPhase phase)
{
  const PorticoPlan *plan = r->plan;
  if (plan == NULL || !(plan->phase_mask & PORTICO_PHASE_BIT (phase)))
    return FALSE;
  for (guint j = 0; j < plan->n_modules; j++)
    if (handler_for (plan->modules[j].module, phase) != NULL && instance_for (r, j, phase) != NULL)
      return TRUE;
  return FALSE;
}

static const char *
result_name (PorticoResult result)
{
  switch (result)
    {
    case PORTICO_CONTINUE: return "PORTICO_CONTINUE";
    case PORTICO_RESPOND: return "PORTICO_RESPOND";
    case PORTICO_YIELD: return "PORTICO_YIELD";
    case PORTICO_ERROR: return "PORTICO_ERROR";
    default: return "an unknown result";
    }
}

#define RESPOND_PHASES                                                                             \
  (PORTICO_PHASE_BIT (PORTICO_PHASE_REWRITE) | PORTICO_PHASE_BIT (PORTICO_PHASE_ACCESS) |          \
   PORTICO_PHASE_BIT (PORTICO_PHASE_BALANCER) | PORTICO_PHASE_BIT (PORTICO_PHASE_HEADER_FILTER))
#define YIELD_PHASES (PORTICO_PHASE_BIT (PORTICO_PHASE_REWRITE) | PORTICO_PHASE_BIT (PORTICO_PHASE_ACCESS))

/* A result the phase does not allow becomes an error that says so. */
static PorticoResult
check_result (PorticoRequest *r, PorticoResult result)
{
  const char *phase = portico_phase_name (r->phase);
  switch (result)
    {
    case PORTICO_CONTINUE:
    case PORTICO_ERROR:
      return result;
    case PORTICO_RESPOND:
      if (r->phase == PORTICO_PHASE_CERTIFICATE)
        return result; /* refuses the handshake: there is nothing to answer with */
      if (!(RESPOND_PHASES & PORTICO_PHASE_BIT (r->phase)))
        break;
      if (!r->local)
        {
          g_snprintf (r->last_error, sizeof r->last_error,
                      "%s returned PORTICO_RESPOND in %s without calling portico_response_exit()",
                      r->current->loaded->module->name, phase);
          return PORTICO_ERROR;
        }
      return result;
    case PORTICO_YIELD:
      if (YIELD_PHASES & PORTICO_PHASE_BIT (r->phase))
        return result;
      if (r->phase == PORTICO_PHASE_CERTIFICATE)
        {
          /* A handshake does not wait for a module: it goes on without it. */
          PlanModule *pm = &r->plan->modules[r->current_module];
          if (!pm->yield_warned)
            g_warning ("%s returned PORTICO_YIELD in certificate, which cannot wait: taken as "
                       "PORTICO_CONTINUE (said once)", pm->module->name);
          pm->yield_warned = TRUE;
          return PORTICO_CONTINUE;
        }
      break;
    default:
      break;
    }
  g_snprintf (r->last_error, sizeof r->last_error, "%s returned %s, which %s does not allow",
              r->current->loaded->module->name, result_name (result), phase);
  return PORTICO_ERROR;
}

static PorticoResult
call (PorticoRequest *r, guint j, const PorticoModuleInstance *inst, PorticoHandler handler)
{
  r->current = inst;
  r->current_module = j;
  current_module = inst->loaded->module;
  gint64 start = g_get_monotonic_time ();
  PorticoResult result = handler (r, inst->conf);
  gint64 took = g_get_monotonic_time () - start;
  current_module = NULL;

  if (r->phase != PORTICO_PHASE_LOG) /* Kong's "kong" latency leaves the log phase out */
    r->gateway_us += took;
  if (r->hooks && r->hooks->record_phase)
    r->hooks->record_phase (r->phase, (guint64) took);
  if (r->n_spans < PORTICO_MAX_SPANS)
    {
      if (r->spans == NULL)
        r->spans = portico_request_arena_alloc (r, sizeof (PorticoSpan) * PORTICO_MAX_SPANS);
      PorticoSpan *span = &r->spans[r->n_spans++];
      span->module = inst->loaded->module->name;
      span->phase = r->phase;
      span->start_us = start;
      span->duration_us = took;
      span->result = result;
    }
  result = check_result (r, result);
  if (result == PORTICO_ERROR)
    {
      if (r->last_error[0] == '\0')
        g_snprintf (r->last_error, sizeof r->last_error, "%s failed in %s", inst->loaded->module->name,
                    portico_phase_name (r->phase));
      g_warning ("request %" G_GUINT64_FORMAT ": %s (%s)", r->id, r->last_error, inst->plugin->json_path);
    }
  return result;
}

PorticoResult
portico_phase_run (PorticoRequest *r, PorticoPhase phase)
{
  const PorticoPlan *plan = r->plan;
  if (r->phase != phase || !r->yielded)
    r->cursor = 0;
  r->phase = phase;
  r->yielded = FALSE;
  if (plan == NULL || !(plan->phase_mask & PORTICO_PHASE_BIT (phase)))
    return PORTICO_CONTINUE;
  for (; r->cursor < plan->n_modules; r->cursor++)
    {
      guint j = r->cursor;
      PorticoHandler handler = handler_for (plan->modules[j].module, phase);
      if (handler == NULL)
        continue;
      const PorticoModuleInstance *inst = instance_for (r, j, phase);
      if (inst == NULL)
        continue;
      r->last_error[0] = '\0';
      PorticoResult result = call (r, j, inst, handler);
      if (phase == PORTICO_PHASE_LOG && result != PORTICO_CONTINUE)
        continue; /* nothing left to change: logged, and the others still log */
      if (result == PORTICO_YIELD)
        {
          r->yielded = TRUE;
          return result;
        }
      if (result != PORTICO_CONTINUE)
        return result;
    }
  return PORTICO_CONTINUE;
}

PorticoResult
portico_phase_body (PorticoRequest *r, const char *data, gsize len, gboolean last)
{
  r->chunk = data;
  r->chunk_len = len;
  r->chunk_last = last;
  r->yielded = FALSE;
  return portico_phase_run (r, PORTICO_PHASE_BODY_FILTER);
}
