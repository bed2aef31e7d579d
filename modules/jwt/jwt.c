/* jwt.c: Kong's jwt plugin as a Portico module. In access, it finds a JSON
 * Web Token (query argument, cookie or "Bearer" header), picks the
 * consumer's secret by the token's key claim ("iss" by default), checks the
 * algorithm, the signature and the registered claims, and authenticates the
 * request as that consumer; otherwise it answers 401 the way Kong does (or
 * lets the anonymous consumer through). The secrets are indexed and the
 * public keys parsed once, in configure. */
#include <string.h>

#include "pdk/portico.h"
#include "jwt-logic.h"

typedef struct {
  char **uri_param_names;
  char **cookie_names;
  char **header_names;
  char *key_claim_name;
  JwtClaim claims[JWT_N_CLAIMS]; /* claims_to_verify, in order, without repeats */
  guint n_claims;
  double maximum_expiration; /* 0: off */
  const PorticoConsumer *anonymous;
  gboolean run_on_preflight;
  /* The answers that depend on the configuration, made once. */
  char *www_authenticate;       /* no token */
  char *www_authenticate_error; /* a bad one */
  char *msg_no_key;
  char *msg_empty_key;
  char *msg_no_credentials;
  GHashTable *secrets; /* key claim value -> JwtSecret */
  JsonParser *parser;  /* this worker's (made in init_worker) */
} JwtConf;

static const char *const claim_values[] = { "exp", "nbf", NULL };

static const PorticoSchemaField jwt_schema[] = {
  { "uri_param_names", PORTICO_FIELD_STRING_ARRAY, FALSE, "[\"jwt\"]", NULL,
    "query arguments that may carry the token" },
  { "cookie_names", PORTICO_FIELD_STRING_ARRAY, FALSE, "[]", NULL, "cookies that may carry the token" },
  { "header_names", PORTICO_FIELD_STRING_ARRAY, FALSE, "[\"authorization\"]", NULL,
    "headers that may carry \"Bearer TOKEN\"" },
  { "key_claim_name", PORTICO_FIELD_STRING, FALSE, "\"iss\"", NULL,
    "the claim (or header field) whose value picks the consumer's secret" },
  { "secret_is_base64", PORTICO_FIELD_BOOLEAN, FALSE, "false", NULL,
    "the secrets (and public keys) are written base64-encoded" },
  { "claims_to_verify", PORTICO_FIELD_STRING_ARRAY, FALSE, "[]", claim_values,
    "registered claims to check: exp, nbf" },
  { "maximum_expiration", PORTICO_FIELD_NUMBER, FALSE, "0", NULL,
    "seconds a token may still live (0: no limit); needs exp in claims_to_verify", 0, 31536000 },
  { "anonymous", PORTICO_FIELD_STRING, FALSE, NULL, NULL,
    "the consumer (username or custom_id) to let through when authentication fails" },
  { "run_on_preflight", PORTICO_FIELD_BOOLEAN, FALSE, "true", NULL,
    "authenticate OPTIONS requests too" },
  { "realm", PORTICO_FIELD_STRING, FALSE, NULL, NULL, "the realm of WWW-Authenticate on a 401" },
  { NULL },
};

/* ---- configure ----------------------------------------------------------------- */

static void
jwt_free_config (gpointer data)
{
  JwtConf *conf = data;
  if (conf == NULL)
    return;
  g_strfreev (conf->uri_param_names);
  g_strfreev (conf->cookie_names);
  g_strfreev (conf->header_names);
  g_free (conf->key_claim_name);
  g_free (conf->www_authenticate);
  g_free (conf->www_authenticate_error);
  g_free (conf->msg_no_key);
  g_free (conf->msg_empty_key);
  g_free (conf->msg_no_credentials);
  g_clear_pointer (&conf->secrets, g_hash_table_unref);
  g_clear_object (&conf->parser);
  g_free (conf);
}

/* A string array of the (schema-checked) config; NULL members are empty. */
static char **
config_strv (JsonObject *config, const char *name)
{
  GPtrArray *out = g_ptr_array_new ();
  JsonNode *node = json_object_get_member (config, name);
  JsonArray *array = node && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
  for (guint i = 0; array && i < json_array_get_length (array); i++)
    g_ptr_array_add (out, g_strdup (json_array_get_string_element (array, i)));
  g_ptr_array_add (out, NULL);
  return (char **) g_ptr_array_free (out, FALSE);
}

static const char *
config_string (JsonObject *config, const char *name)
{
  JsonNode *node = json_object_get_member (config, name);
  return node && JSON_NODE_HOLDS_VALUE (node) ? json_node_get_string (node) : NULL;
}

static gboolean
config_boolean (JsonObject *config, const char *name, gboolean fallback)
{
  JsonNode *node = json_object_get_member (config, name);
  return node && JSON_NODE_HOLDS_VALUE (node) ? json_node_get_boolean (node) : fallback;
}

static gboolean
jwt_index_secrets (JwtConf *conf, const PorticoGateway *gw, gboolean secret_is_base64, GError **error)
{
  conf->secrets = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) jwt_secret_free);
  for (guint i = 0; gw != NULL && i < portico_gateway_n_consumers (gw); i++)
    {
      const PorticoConsumer *consumer = portico_gateway_consumer (gw, i);
      JsonObject *entry = portico_consumer_get_entry (consumer);
      JsonNode *node = entry ? json_object_get_member (entry, "jwt_secrets") : NULL;
      JsonArray *secrets = node && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
      for (guint j = 0; secrets && j < json_array_get_length (secrets); j++)
        {
          JsonNode *item = json_array_get_element (secrets, j);
          g_autoptr (GError) local = NULL;
          JwtSecret *secret = JSON_NODE_HOLDS_OBJECT (item)
                                ? jwt_secret_new (json_node_get_object (item), secret_is_base64, &local)
                                : NULL;
          if (secret == NULL)
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "consumers[%u].jwt_secrets[%u]%s%s", i, j,
                           local ? "." : "", local ? local->message : ": not an object");
              return FALSE;
            }
          if (g_hash_table_contains (conf->secrets, secret->key))
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "consumers[%u].jwt_secrets[%u].key: used by another secret", i, j);
              jwt_secret_free (secret);
              return FALSE;
            }
          secret->consumer = consumer;
          g_hash_table_insert (conf->secrets, secret->key, secret);
        }
    }
  return TRUE;
}

static gpointer
jwt_configure (JsonObject *config, const PorticoGateway *gw, GError **error)
{
  g_autoptr (GError) local = NULL;
  JwtConf *conf = g_new0 (JwtConf, 1);
  conf->uri_param_names = config_strv (config, "uri_param_names");
  conf->cookie_names = config_strv (config, "cookie_names");
  conf->header_names = config_strv (config, "header_names");
  conf->key_claim_name = g_strdup (config_string (config, "key_claim_name") ?: "iss");
  conf->run_on_preflight = config_boolean (config, "run_on_preflight", TRUE);
  JsonNode *max = json_object_get_member (config, "maximum_expiration");
  conf->maximum_expiration = max && JSON_NODE_HOLDS_VALUE (max) ? json_node_get_double (max) : 0;

  g_auto (GStrv) claims = config_strv (config, "claims_to_verify");
  gboolean checks_exp = FALSE;
  for (guint i = 0; claims[i]; i++)
    {
      JwtClaim claim;
      gboolean seen = FALSE;
      if (!jwt_claim_from_name (claims[i], &claim))
        {
          g_set_error (&local, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "claims_to_verify[%u]: must be \"exp\" or \"nbf\"", i);
          goto refuse;
        }
      for (guint k = 0; k < conf->n_claims; k++)
        seen |= conf->claims[k] == claim;
      if (!seen)
        conf->claims[conf->n_claims++] = claim;
      checks_exp |= claim == JWT_CLAIM_EXP;
    }
  if (conf->maximum_expiration > 0 && !checks_exp)
    {
      g_set_error_literal (&local, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "claims_to_verify: must contain \"exp\" when maximum_expiration is set");
      goto refuse;
    }

  const char *anonymous = config_string (config, "anonymous");
  if (anonymous != NULL)
    {
      conf->anonymous = gw ? portico_gateway_find_consumer (gw, anonymous) : NULL;
      if (conf->anonymous == NULL)
        {
          g_set_error (&local, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "anonymous: no consumer \"%s\"", anonymous);
          goto refuse;
        }
    }

  const char *realm = config_string (config, "realm");
  for (const char *p = realm; p && *p; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\')
      {
        g_set_error_literal (&local, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                             "realm: no quotes, backslashes or control characters");
        goto refuse;
      }
  conf->www_authenticate = realm ? g_strdup_printf ("Bearer realm=\"%s\"", realm) : g_strdup ("Bearer");
  conf->www_authenticate_error = g_strconcat (conf->www_authenticate, " error=\"invalid_token\"", NULL);
  conf->msg_no_key = g_strdup_printf ("No mandatory '%s' in claims", conf->key_claim_name);
  conf->msg_empty_key = g_strdup_printf ("Invalid '%s' in claims", conf->key_claim_name);
  conf->msg_no_credentials = g_strdup_printf ("No credentials found for given '%s'", conf->key_claim_name);

  if (!jwt_index_secrets (conf, gw, config_boolean (config, "secret_is_base64", FALSE), &local))
    goto refuse;
  return conf;

refuse:
  g_propagate_error (error, g_steal_pointer (&local));
  jwt_free_config (conf);
  return NULL;
}

static PorticoResult
jwt_init_worker (gpointer data)
{
  JwtConf *conf = data;
  /* Each worker is one thread: one parser serves all its requests. */
  if (conf->parser == NULL)
    conf->parser = json_parser_new ();
  return PORTICO_CONTINUE;
}

/* ---- access -------------------------------------------------------------------- */

/* Kong's retrieve_tokens: every place the configuration names, in order. */
static JwtTokenSet
jwt_find_tokens (PorticoRequest *r, const JwtConf *conf)
{
  JwtTokenSet set = { NULL };
  for (char **name = conf->uri_param_names; *name; name++)
    {
      const char *arg = portico_request_get_query_arg (r, *name);
      if (arg)
        jwt_token_set_add (&set, arg, strlen (arg));
    }
  const char *field, *value;
  gsize len;
  for (guint i = 0; conf->cookie_names[0] && portico_request_header_at (r, i, &field, &value); i++)
    if (g_ascii_strcasecmp (field, "Cookie") == 0)
      for (char **name = conf->cookie_names; *name; name++)
        {
          const char *cookie = jwt_cookie_value (value, *name, &len);
          if (cookie)
            jwt_token_set_add (&set, cookie, len);
        }
  for (char **name = conf->header_names; *name; name++)
    {
      const char *header = portico_request_get_header (r, *name);
      const char *token = header ? jwt_bearer_token (header, &len) : NULL;
      if (token)
        jwt_token_set_add (&set, token, len);
    }
  return set;
}

/* Why authentication failed: a message, or Kong's per-claim errors. */
typedef struct {
  const char *message;
  const char *www_authenticate;
  const char *claims[JWT_N_CLAIMS + 1][2]; /* (name, reason) pairs, NULL-terminated */
} JwtFailure;

static gboolean
jwt_fail (JwtFailure *failure, const char *message, const char *www_authenticate)
{
  failure->message = message;
  failure->www_authenticate = www_authenticate;
  return FALSE;
}

static gboolean
jwt_check_claims (const JwtConf *conf, const JwtToken *token, JwtFailure *failure)
{
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  guint n = 0;
  for (guint i = 0; i < conf->n_claims; i++)
    {
      const char *reason = jwt_claim_check (token->claims, conf->claims[i], now);
      if (reason)
        {
          failure->claims[n][0] = jwt_claim_name (conf->claims[i]);
          failure->claims[n++][1] = reason;
        }
    }
  if (n == 0 && conf->maximum_expiration > 0 &&
      jwt_claim_exceeds_maximum (token->claims, conf->maximum_expiration, now))
    {
      failure->claims[n][0] = "exp";
      failure->claims[n++][1] = "exceeds maximum allowed expiration";
    }
  failure->www_authenticate = conf->www_authenticate_error;
  return n == 0;
}

/* Kong's do_authentication: TRUE once the request is authenticated. */
static gboolean
jwt_authenticate (PorticoRequest *r, const JwtConf *conf, JwtFailure *failure)
{
  JwtTokenSet set = jwt_find_tokens (r, conf);
  if (set.token == NULL)
    return jwt_fail (failure, "Unauthorized", conf->www_authenticate);
  if (set.several)
    return jwt_fail (failure, "Multiple tokens provided", conf->www_authenticate_error);

  g_auto (JwtToken) token = { NULL };
  JwtDecodeError bad = jwt_token_decode (&token, set.token, set.len, conf->parser);
  if (bad != JWT_DECODE_OK)
    return jwt_fail (failure, jwt_decode_error_message (bad), conf->www_authenticate_error);

  const char *key = NULL;
  switch (jwt_token_find_key (&token, conf->key_claim_name, &key))
    {
    case JWT_KEY_MISSING:
      return jwt_fail (failure, conf->msg_no_key, conf->www_authenticate_error);
    case JWT_KEY_EMPTY:
      return jwt_fail (failure, conf->msg_empty_key, conf->www_authenticate_error);
    case JWT_KEY_NOT_STRING:
      return jwt_fail (failure, conf->msg_no_credentials, conf->www_authenticate_error);
    case JWT_KEY_FOUND:
      break;
    }
  const JwtSecret *secret = g_hash_table_lookup (conf->secrets, key);
  if (secret == NULL)
    return jwt_fail (failure, conf->msg_no_credentials, conf->www_authenticate_error);
  if (token.alg != secret->alg)
    return jwt_fail (failure, "Invalid algorithm", conf->www_authenticate_error);
  if (!secret->usable)
    return jwt_fail (failure, "Invalid key/secret", conf->www_authenticate_error);
  if (!jwt_verify_signature (secret, token.signing_input, token.signing_input_len, token.signature,
                             token.signature_len))
    return jwt_fail (failure, "Invalid signature", conf->www_authenticate_error);
  if (!jwt_check_claims (conf, &token, failure))
    return FALSE;

  portico_request_authenticate (r, secret->consumer, secret->key, FALSE);
  return TRUE;
}

static PorticoResult
jwt_reject (PorticoRequest *r, const JwtFailure *failure)
{
  portico_response_set_header (r, "WWW-Authenticate", failure->www_authenticate);
  if (failure->message)
    {
      portico_response_exit_message (r, 401, failure->message);
      return PORTICO_RESPOND;
    }
  /* {"exp":"token expired","nbf":"token not valid yet"}: fixed words only. */
  char body[256];
  gsize len = 0;
  body[len++] = '{';
  for (guint i = 0; failure->claims[i][0]; i++)
    len += (gsize) g_snprintf (body + len, sizeof body - len, "%s\"%s\":\"%s\"", i ? "," : "",
                               failure->claims[i][0], failure->claims[i][1]);
  len += (gsize) g_snprintf (body + len, sizeof body - len, "}");
  portico_response_exit (r, 401, "application/json; charset=utf-8", body, len);
  return PORTICO_RESPOND;
}

static PorticoResult
jwt_access (PorticoRequest *r, gpointer data)
{
  const JwtConf *conf = data;
  if (!conf->run_on_preflight && strcmp (portico_request_get_method (r), "OPTIONS") == 0)
    return PORTICO_CONTINUE;
  /* With anonymous, auth plugins are alternatives: another one already
   * identified the client. */
  if (conf->anonymous && portico_request_get_credential (r) != NULL)
    return PORTICO_CONTINUE;

  JwtFailure failure = { NULL };
  if (jwt_authenticate (r, conf, &failure))
    return PORTICO_CONTINUE;
  if (conf->anonymous)
    {
      portico_request_authenticate (r, conf->anonymous, NULL, TRUE);
      return PORTICO_CONTINUE;
    }
  return jwt_reject (r, &failure);
}

G_MODULE_EXPORT const PorticoModule portico_module = {
  .abi_version = PORTICO_MODULE_ABI_VERSION,
  .name = "jwt",
  .version = "1.0.0",
  .priority = 1450,
  .schema = jwt_schema,
  .configure = jwt_configure,
  .free_config = jwt_free_config,
  .init_worker = jwt_init_worker,
  .access = jwt_access,
};
