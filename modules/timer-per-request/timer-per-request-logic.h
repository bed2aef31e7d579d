/* timer-per-request-logic.h: the timer-per-request module's configuration
 * and the life of one of its timers, without a worker. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct {
  guint interval_ms; /* how often each request's "health check" runs */
  guint lifetime_ms; /* how long it keeps running */
} TimerPerRequestConf;

/* From a config the core already checked against the schema and filled
 * with defaults. Refuses a lifetime shorter than the interval: such a
 * timer would outlive its lifetime before its first run. */
TimerPerRequestConf *timer_per_request_conf_new (JsonObject *config, GError **error);

/* One request's health check: what its timer carries. */
typedef struct {
  gint64 deadline_us; /* monotonic: it must be gone by then */
  guint interval_ms;
} TimerPerRequestCheck;

void timer_per_request_check_init (TimerPerRequestCheck *check, const TimerPerRequestConf *conf,
                                   gint64 now_us);
/* After a run at @now_us: whether to run again, that is whether the next
 * run still falls within the lifetime. So a check runs
 * lifetime_ms / interval_ms times when its timer is on time, and fewer
 * when the worker makes it late, but never past its deadline. */
gboolean timer_per_request_check_again (const TimerPerRequestCheck *check, gint64 now_us);

G_END_DECLS
