/* phases.h: the phase runner. It alone reads what handlers return.
 *
 * A plan, built once per worker from the loaded modules, lists the
 * modules by priority with their instances. For each request and phase the
 * runner picks each module's instance by Kong's precedence (consumer +
 * route + service > consumer + route > consumer + service > route +
 * service > consumer > route > service > global), calls its handler, times
 * the call, and turns the result into what the data path does next.
 */
#pragma once

#include "pdk/request-private.h"

G_BEGIN_DECLS

PorticoPlan *portico_plan_new (const PorticoModuleSet *set);
void portico_plan_free (PorticoPlan *plan);
/* No module runs in any request phase. */
gboolean portico_plan_is_empty (const PorticoPlan *plan);
guint portico_plan_n_modules (const PorticoPlan *plan);
/* Some global instance has a handler for @phase: what the phases before
 * routing (certificate, rewrite) run. */
gboolean portico_plan_global_wants (const PorticoPlan *plan, PorticoPhase phase);

/* Runs @phase's handlers from where it stopped (a yielded handler is
 * called again). Returns PORTICO_CONTINUE when all ran, PORTICO_RESPOND
 * (r->local holds the response), PORTICO_YIELD (wait for hooks->resume)
 * or PORTICO_ERROR (logged; r->last_error says why). In header_filter,
 * body_filter and log, rewrite-only results are refused as misuse. In
 * certificate (@r readied by portico_request_start_handshake), RESPOND
 * and ERROR refuse the handshake and CONTINUE leaves r->certificate as
 * the modules picked; a handshake cannot wait, so a yield is taken as
 * CONTINUE (with a warning, once per module and worker). */
PorticoResult portico_phase_run (PorticoRequest *r, PorticoPhase phase);

/* Whether any module of this request has a handler for @phase (after
 * access: with the final instances). */
gboolean portico_phase_wanted (PorticoRequest *r, PorticoPhase phase);

/* body_filter over one chunk: afterwards r->chunk/r->chunk_len hold what
 * goes to the client. */
PorticoResult portico_phase_body (PorticoRequest *r, const char *data, gsize len, gboolean last);

/* The module whose handler (or timer) is running, for timers and logs;
 * NULL outside module code. */
const PorticoModule *portico_pdk_current_module (void);
void portico_pdk_set_current_module (const PorticoModule *module);

/* The worker the PDK serves (timers, shared dictionary, ids). */
typedef struct _PorticoTimers PorticoTimers;
typedef struct _PorticoShm PorticoShm;
void portico_pdk_bind_worker (PorticoTimers *timers, PorticoShm *shm, guint id, guint count);
void portico_pdk_bind_gateway (const PorticoConfig *config);

G_END_DECLS
