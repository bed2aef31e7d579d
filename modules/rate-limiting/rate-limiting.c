/* rate-limiting: Kong's rate-limiting plugin. Counts each request in
 * access against fixed windows aligned on the clock (second, minute, hour,
 * day), per worker ("local") or across the node's workers through the
 * shared dictionary ("shared"), tells the client where it stands in
 * X-RateLimit-* / RateLimit-* headers, and refuses it once a window is
 * used up. */
#include "pdk/portico.h"
#include "rate-limiting-logic.h"

#include <gio/gio.h>

typedef enum {
  POLICY_LOCAL = 0,
  POLICY_SHARED,
} Policy;

typedef struct {
  gint64 limits[RATE_LIMITING_N_PERIODS]; /* 0: period not configured */
  RateLimitingLimitBy limit_by;
  char *header_name;
  char *path;
  Policy policy;
  gboolean fault_tolerant;
  gboolean hide_client_headers;
  int error_code;
  char *error_message;
  guint instance;                /* tells this instance's shared keys apart */
  RateLimitingCounters *counters; /* "local": this worker's, made on first use */
} RateLimitingConf;

/* How many identifiers one instance tracks per worker ("local"). */
#define LOCAL_MAX_IDENTIFIERS 65536

static const char *const policy_allowed[] = { "local", "shared", NULL };

static const PorticoSchemaField rate_limiting_schema[] = {
  { "second", PORTICO_FIELD_INTEGER, FALSE, NULL, NULL, "requests allowed per second", 1, G_MAXINT64 },
  { "minute", PORTICO_FIELD_INTEGER, FALSE, NULL, NULL, "requests allowed per minute", 1, G_MAXINT64 },
  { "hour", PORTICO_FIELD_INTEGER, FALSE, NULL, NULL, "requests allowed per hour", 1, G_MAXINT64 },
  { "day", PORTICO_FIELD_INTEGER, FALSE, NULL, NULL, "requests allowed per day", 1, G_MAXINT64 },
  { "limit_by", PORTICO_FIELD_STRING, FALSE, "\"consumer\"", rate_limiting_limit_by_names,
    "who a request counts against; the client IP when that is unknown" },
  { "header_name", PORTICO_FIELD_STRING, FALSE, NULL, NULL, "the header limit_by \"header\" reads" },
  { "path", PORTICO_FIELD_STRING, FALSE, NULL, NULL, "the path limit_by \"path\" counts" },
  { "policy", PORTICO_FIELD_STRING, FALSE, "\"local\"", policy_allowed,
    "\"local\": each worker counts on its own; \"shared\": the node's workers count together" },
  { "fault_tolerant", PORTICO_FIELD_BOOLEAN, FALSE, "true", NULL,
    "let requests through when counting fails (else 500)" },
  { "hide_client_headers", PORTICO_FIELD_BOOLEAN, FALSE, "false", NULL, "send no rate-limit headers" },
  { "error_code", PORTICO_FIELD_INTEGER, FALSE, "429", NULL, "the status of a refused request", 100, 599 },
  { "error_message", PORTICO_FIELD_STRING, FALSE, "\"API rate limit exceeded\"", NULL,
    "the message of a refused request" },
  { NULL },
};

/* ---- configuration ------------------------------------------------------------- */

/* The member, or NULL when absent or null (configure must not trust that a
 * schema filled everything in). */
static JsonNode *
config_member (JsonObject *config, const char *name)
{
  JsonNode *node = json_object_get_member (config, name);
  return node != NULL && !JSON_NODE_HOLDS_NULL (node) ? node : NULL;
}

static const char *
config_string (JsonObject *config, const char *name, const char *fallback)
{
  JsonNode *node = config_member (config, name);
  return node != NULL ? json_node_get_string (node) : fallback;
}

static gint64
config_int (JsonObject *config, const char *name, gint64 fallback)
{
  JsonNode *node = config_member (config, name);
  return node != NULL ? json_node_get_int (node) : fallback;
}

static gboolean
config_bool (JsonObject *config, const char *name, gboolean fallback)
{
  JsonNode *node = config_member (config, name);
  return node != NULL ? json_node_get_boolean (node) : fallback;
}

static void
rate_limiting_free_config (gpointer data)
{
  RateLimitingConf *conf = data;
  rate_limiting_counters_free (conf->counters);
  g_free (conf->header_name);
  g_free (conf->path);
  g_free (conf->error_message);
  g_free (conf);
}

static gboolean
invalid (GError **error, const char *message)
{
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, message);
  return FALSE;
}

/* Kong's checks that the schema cannot express. */
static gboolean
check_conf (const RateLimitingConf *conf, const char *limit_by, const char *policy, GError **error)
{
  RateLimitingLimitBy by;
  if (!rate_limiting_check_limits (conf->limits, error))
    return FALSE;
  if (!rate_limiting_limit_by_parse (limit_by, &by))
    return invalid (error, "limit_by: expected one of: consumer, credential, ip, service, header, path");
  if (g_strcmp0 (policy, "local") != 0 && g_strcmp0 (policy, "shared") != 0)
    return invalid (error, "policy: expected one of: local, shared");
  if (by == RATE_LIMITING_BY_HEADER && (conf->header_name == NULL || *conf->header_name == '\0'))
    return invalid (error, "header_name: required field missing (limit_by is \"header\")");
  if (by == RATE_LIMITING_BY_PATH && conf->path == NULL)
    return invalid (error, "path: required field missing (limit_by is \"path\")");
  if (by == RATE_LIMITING_BY_PATH && *conf->path != '/')
    return invalid (error, "path: should start with: /");
  if (conf->error_code < 100 || conf->error_code > 599)
    return invalid (error, "error_code: must be an HTTP status (100 to 599)");
  return TRUE;
}

static gpointer
rate_limiting_configure (JsonObject *config, const PorticoGateway *gateway, GError **error)
{
  /* Configure runs in the master before the fork, so every worker sees the
   * same number for the same instance. */
  static guint next_instance;
  RateLimitingConf *conf = g_new0 (RateLimitingConf, 1);

  for (int p = 0; p < RATE_LIMITING_N_PERIODS; p++)
    conf->limits[p] = config_int (config, rate_limiting_period_names[p], 0);
  const char *limit_by = config_string (config, "limit_by", "consumer");
  const char *policy = config_string (config, "policy", "local");
  conf->header_name = g_strdup (config_string (config, "header_name", NULL));
  conf->path = g_strdup (config_string (config, "path", NULL));
  conf->fault_tolerant = config_bool (config, "fault_tolerant", TRUE);
  conf->hide_client_headers = config_bool (config, "hide_client_headers", FALSE);
  conf->error_code = (int) config_int (config, "error_code", 429);
  conf->error_message = g_strdup (config_string (config, "error_message", "API rate limit exceeded"));
  if (!check_conf (conf, limit_by, policy, error))
    {
      rate_limiting_free_config (conf);
      return NULL;
    }
  rate_limiting_limit_by_parse (limit_by, &conf->limit_by);
  conf->policy = g_str_equal (policy, "shared") ? POLICY_SHARED : POLICY_LOCAL;
  conf->instance = next_instance++;
  return conf;
}

/* ---- counting ------------------------------------------------------------------ */

static const char *
request_identifier (PorticoRequest *r, const RateLimitingConf *conf)
{
  /* Only what limit_by reads is asked for. */
  RateLimitingFacts facts = { .client_ip = portico_request_get_client_ip (r) };
  switch (conf->limit_by)
    {
    case RATE_LIMITING_BY_CONSUMER:
      {
        const PorticoConsumer *consumer = portico_request_get_consumer (r);
        facts.consumer_id = consumer != NULL ? portico_consumer_get_id (consumer) : NULL;
        facts.credential = portico_request_get_credential (r);
        break;
      }
    case RATE_LIMITING_BY_CREDENTIAL:
      facts.credential = portico_request_get_credential (r);
      break;
    case RATE_LIMITING_BY_SERVICE:
      facts.service = portico_request_get_service_name (r);
      break;
    case RATE_LIMITING_BY_HEADER:
      facts.header_value = portico_request_get_header (r, conf->header_name);
      break;
    case RATE_LIMITING_BY_PATH:
      facts.path = portico_request_get_path (r);
      break;
    case RATE_LIMITING_BY_IP:
    default:
      break;
    }
  return rate_limiting_identifier (conf->limit_by, conf->path, &facts);
}

/* Adds @delta to @ident's count in every configured period across the
 * node's workers; @usage gets the counts after. All or nothing. */
static gboolean
count_shared (const RateLimitingConf *conf, const char *ident, gint64 now_ms, gint64 delta,
              gint64 usage[RATE_LIMITING_N_PERIODS])
{
  char keys[RATE_LIMITING_N_PERIODS][RATE_LIMITING_KEY_SIZE];
  for (int p = 0; p < RATE_LIMITING_N_PERIODS; p++)
    {
      usage[p] = 0;
      if (conf->limits[p] <= 0)
        continue;
      RateLimitingPeriod period = (RateLimitingPeriod) p;
      rate_limiting_shared_key (keys[p], conf->instance, period, rate_limiting_window_start (now_ms, period), ident);
      /* The window start is in the key, so a key only has to outlive its
       * window, but it must: the dictionary's clock (monotonic) and ours
       * (real time) tick apart, and a key gone a millisecond early lets
       * the limit's worth through again at a busy window's end. A second
       * more is plenty, and costs nothing. */
      if (!portico_shared_incr (keys[p], delta, rate_limiting_window_left_ms (now_ms, period) + 1000, &usage[p]))
        {
          for (int q = 0; q < p; q++)
            if (conf->limits[q] > 0)
              portico_shared_incr (keys[q], -delta, 1, NULL);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
count (RateLimitingConf *conf, const char *ident, gint64 now_ms, gint64 delta, gint64 usage[RATE_LIMITING_N_PERIODS])
{
  if (conf->policy == POLICY_SHARED)
    return count_shared (conf, ident, now_ms, delta, usage);
  if (conf->counters == NULL)
    conf->counters = rate_limiting_counters_new (LOCAL_MAX_IDENTIFIERS);
  return rate_limiting_counters_add (conf->counters, ident, conf->limits, now_ms, delta, usage);
}

static void
set_int_header (PorticoRequest *r, const char *name, gint64 value)
{
  char text[24];
  g_snprintf (text, sizeof text, "%" G_GINT64_FORMAT, value);
  portico_response_set_header (r, name, text);
}

static PorticoResult
rate_limiting_access (PorticoRequest *r, gpointer data)
{
  RateLimitingConf *conf = data;
  gint64 now_ms = g_get_real_time () / 1000;
  const char *ident = request_identifier (r, conf);
  gint64 usage[RATE_LIMITING_N_PERIODS];

  /* Counted first, then judged: with "shared", another worker may count
   * between a read and a write, but never inside one increment. */
  if (!count (conf, ident, now_ms, 1, usage))
    {
      static gint64 last_warning_ms;
      if (now_ms - last_warning_ms >= 1000)
        {
          last_warning_ms = now_ms;
          portico_log (r, G_LOG_LEVEL_WARNING, "cannot count requests (%s full)%s",
                       conf->policy == POLICY_SHARED ? "shared dictionary" : "counter table",
                       conf->fault_tolerant ? ": letting them through" : "");
        }
      return conf->fault_tolerant ? PORTICO_CONTINUE : PORTICO_ERROR;
    }
  for (int p = 0; p < RATE_LIMITING_N_PERIODS; p++)
    usage[p] = MAX (0, usage[p] - 1);

  RateLimitingVerdict verdict;
  rate_limiting_evaluate (conf->limits, usage, now_ms, &verdict);
  if (verdict.stop >= 0)
    {
      /* A refused request is not counted (as in Kong). */
      gint64 unused[RATE_LIMITING_N_PERIODS];
      count (conf, ident, now_ms, -1, unused);
    }

  if (!conf->hide_client_headers)
    {
      for (int p = 0; p < RATE_LIMITING_N_PERIODS; p++)
        if (conf->limits[p] > 0)
          {
            set_int_header (r, rate_limiting_limit_headers[p], conf->limits[p]);
            set_int_header (r, rate_limiting_remaining_headers[p], verdict.remaining[p]);
          }
      set_int_header (r, "RateLimit-Limit", verdict.limit);
      set_int_header (r, "RateLimit-Remaining", verdict.left);
      set_int_header (r, "RateLimit-Reset", verdict.reset);
    }
  if (verdict.stop < 0)
    return PORTICO_CONTINUE;
  /* Kong computes Retry-After with the headers: hidden with them. */
  if (!conf->hide_client_headers)
    set_int_header (r, "Retry-After", verdict.reset);
  portico_response_exit_message (r, conf->error_code, conf->error_message);
  return PORTICO_RESPOND;
}

G_MODULE_EXPORT const PorticoModule portico_module = {
  .abi_version = PORTICO_MODULE_ABI_VERSION,
  .name = "rate-limiting",
  .version = "1.0.0",
  .priority = 910,
  .schema = rate_limiting_schema,
  .configure = rate_limiting_configure,
  .free_config = rate_limiting_free_config,
  .access = rate_limiting_access,
};
