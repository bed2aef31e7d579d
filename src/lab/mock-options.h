/* lab/mock-options.h - the settings of `portico mock`: its command line,
 * and the part of it that the control API (POST /state) changes while it
 * runs.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/** The longest --latency-ms, "latency_ms" and /delay/MS the mock accepts. */
#define PORTICO_MOCK_DELAY_MAX_MS (10 * 60 * 1000)

/** PORTICO_MOCK_NO_BODY_BYTES: body_bytes when no generated body is set. */
#define PORTICO_MOCK_NO_BODY_BYTES G_MININT64

/**
 * PorticoMockSettings:
 * @down: the service is not listening (connections are refused)
 * @latency_ms: delay before every response (0 to %PORTICO_MOCK_DELAY_MAX_MS)
 * @status: the default response's status (200-599)
 * @fail_ratio: fraction of requests answered 500 (0 to 1)
 * @close_mid_body: cut the default body in the middle
 * @body_bytes: generated default body size, or %PORTICO_MOCK_NO_BODY_BYTES
 *   for the text body
 *
 * What a running mock lets the control API change.  Every request takes a
 * copy when its head arrives, so a change applies to the requests that
 * arrive after it.
 */
typedef struct
{
  gboolean down;
  int latency_ms;
  int status;
  double fail_ratio;
  gboolean close_mid_body;
  gint64 body_bytes;
} PorticoMockSettings;

/**
 * PorticoMockSetting:
 *
 * One bit per #PorticoMockSettings field, for saying which ones a control
 * request named.
 */
typedef enum
{
  PORTICO_MOCK_SET_DOWN = 1 << 0,
  PORTICO_MOCK_SET_LATENCY_MS = 1 << 1,
  PORTICO_MOCK_SET_STATUS = 1 << 2,
  PORTICO_MOCK_SET_FAIL_RATIO = 1 << 3,
  PORTICO_MOCK_SET_CLOSE_MID_BODY = 1 << 4,
  PORTICO_MOCK_SET_BODY_BYTES = 1 << 5,
} PorticoMockSetting;

/** One past the highest status the counters keep apart. */
#define PORTICO_MOCK_STATUS_MAX 600

/**
 * PorticoMockCounters:
 * @requests: requests arrived (those to /__mock/ paths not counted)
 * @connections: connections accepted on the service's listener
 * @open_connections: of those, how many are open now
 * @by_status: responses whose head was written (or, for a cut response,
 *   queued), by status; a response's status is counted when it starts
 *
 * What a running mock has seen, reported by GET /state and /__mock/stats.
 */
typedef struct
{
  guint64 requests;
  guint64 connections;
  guint64 open_connections;
  guint64 by_status[PORTICO_MOCK_STATUS_MAX];
} PorticoMockCounters;

/**
 * PorticoMockOptions:
 * @listen: the --listen text
 * @address: @listen parsed, a loopback address (port 0: any free port)
 * @control: the --control text
 * @control_address: @control parsed, a loopback address (by default the
 *   IP of @address with port 0)
 * @body: the --body text, or %NULL
 * @headers: (nullable): "Name: value" lines, validated
 * @chunked: send the default body chunked
 * @name: the service's name
 * @tls_cert: (nullable): --tls-cert: a PEM certificate (then its chain) to
 *   serve HTTPS with; %NULL: plain HTTP
 * @tls_key: (nullable): --tls-key: its private key (PEM); set with @tls_cert
 * @settings: the initial values of what the control API changes
 *   (@settings.down is always %FALSE here)
 *
 * The options, validated: every field holds a usable value after a
 * successful portico_mock_options_parse().
 */
typedef struct
{
  char *listen;
  GInetSocketAddress *address;
  char *control;
  GInetSocketAddress *control_address;
  char *body;
  char **headers;
  gboolean chunked;
  char *name;
  char *tls_cert;
  char *tls_key;
  PorticoMockSettings settings;
} PorticoMockOptions;

/**
 * portico_mock_options_parse:
 * @opt: zero-filled options to fill
 * @argc: number of arguments
 * @argv: the arguments, @argv[0] being the command name (not modified)
 * @error: return location for a %G_OPTION_ERROR whose message names the
 *   faulty option
 *
 * Returns: whether the arguments are valid
 */
gboolean portico_mock_options_parse (PorticoMockOptions *opt, int argc, char **argv,
                                     GError **error);

/** Frees what portico_mock_options_parse() put in @opt (valid or not). */
void portico_mock_options_clear (PorticoMockOptions *opt);

/**
 * portico_mock_settings_update:
 * @settings: the settings to change
 * @data: a JSON object: any of "down" (bool), "latency_ms" (int), "status"
 *   (int), "fail_ratio" (number), "close_mid_body" (bool), "body_bytes"
 *   (int >= 0); a member whose value is null counts as absent
 * @len: the length of @data, or -1 if it is NUL-terminated
 * @set: (out) (optional): the #PorticoMockSetting bits of the keys given
 * @error: return location for a %G_OPTION_ERROR_BAD_VALUE error holding one
 *   line per problem, each "KEY: what was expected" (unknown keys, wrong
 *   types and values out of range; "(root): ..." or "LINE:COL: ..." when
 *   @data is not a JSON object)
 *
 * Checks every key first and changes @settings only when all are valid.
 *
 * Returns: whether @data was valid (and applied)
 */
gboolean portico_mock_settings_update (PorticoMockSettings *settings, const char *data, gssize len,
                                       guint *set, GError **error);

/**
 * portico_mock_settings_build:
 * @settings: the settings
 * @builder: a builder inside an object (a member name not yet set)
 *
 * Adds the members "down", "latency_ms", "status", "fail_ratio",
 * "close_mid_body" and "body_bytes" (null for the text body): the object
 * portico_mock_settings_update() reads.
 */
void portico_mock_settings_build (const PorticoMockSettings *settings, JsonBuilder *builder);

/**
 * portico_mock_state_build:
 * @builder: a builder where a value may be added
 * @name: the service's name
 * @listen: where the service listens ("IP:PORT"; also while down)
 * @control: where the control API listens
 * @settings: the current settings
 * @counters: the counters
 *
 * Adds the object that GET /state and /__mock/stats answer: "name",
 * "listen", "control", "settings" (as portico_mock_settings_build()),
 * "requests", "connections", "open_connections", and "by_status" (an
 * object from each status seen, as a string, to its count).
 */
void portico_mock_state_build (JsonBuilder *builder, const char *name, const char *listen,
                               const char *control, const PorticoMockSettings *settings,
                               const PorticoMockCounters *counters);

/**
 * portico_mock_ratio_hits:
 * @ratio: a fraction, 0 to 1
 * @n: which event, counted from 1 (0 never hits)
 *
 * Deterministic sampling: the @n-th event is hit when floor(@n * @ratio)
 * steps up, so a ratio of 1/k hits every k-th event and any ratio holds
 * over a run of any length (within one event).  The mock's "fail_ratio"
 * picks the requests it fails this way.
 *
 * Returns: whether the @n-th event is hit
 */
gboolean portico_mock_ratio_hits (double ratio, guint64 n);

G_END_DECLS
