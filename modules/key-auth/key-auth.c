/* key-auth.c: Kong's key-auth plugin. The client sends a key (a header or
 * a query argument); the consumer that owns it becomes the request's
 * consumer. Keys are indexed once, in configure; a request costs a hash
 * lookup. */
#include <string.h>

#include "pdk/portico.h"
#include "key-auth-logic.h"

typedef struct {
  const PorticoConsumer *consumer;
  char *id; /* "<consumer id>:<n>": the credential identifier, never the key */
} KeyAuthCredential;

typedef struct {
  char **key_names;
  gboolean in_header;
  gboolean in_query;
  gboolean hide_credentials;
  gboolean run_on_preflight;
  const PorticoConsumer *anonymous; /* NULL: answer 401 */
  GHashTable *keys;                 /* key -> KeyAuthCredential */
} KeyAuthConf;

static const char *const default_key_names[] = { "apikey", NULL };

static const PorticoSchemaField key_auth_schema[] = {
  { .name = "key_names", .type = PORTICO_FIELD_STRING_ARRAY, .default_json = "[\"apikey\"]",
    .description = "header and query argument names that may carry the key, tried in order" },
  { .name = "key_in_header", .type = PORTICO_FIELD_BOOLEAN, .default_json = "true",
    .description = "look for the key in the request headers" },
  { .name = "key_in_query", .type = PORTICO_FIELD_BOOLEAN, .default_json = "true",
    .description = "look for the key in the query string" },
  { .name = "key_in_body", .type = PORTICO_FIELD_BOOLEAN, .default_json = "false",
    .description = "look for the key in the body: not supported (only false)" },
  { .name = "hide_credentials", .type = PORTICO_FIELD_BOOLEAN, .default_json = "false",
    .description = "remove the key's header and query argument before proxying" },
  { .name = "anonymous", .type = PORTICO_FIELD_STRING,
    .description = "username or custom_id of the consumer to use when authentication fails" },
  { .name = "run_on_preflight", .type = PORTICO_FIELD_BOOLEAN, .default_json = "true",
    .description = "authenticate OPTIONS requests too" },
  { NULL },
};

static GQuark
key_auth_error_quark (void)
{
  return g_quark_from_static_string ("portico-key-auth-error");
}

static void
key_auth_credential_free (gpointer data)
{
  KeyAuthCredential *cred = data;
  g_free (cred->id);
  g_free (cred);
}

static void
key_auth_free_config (gpointer data)
{
  KeyAuthConf *conf = data;
  if (conf == NULL)
    return;
  g_strfreev (conf->key_names);
  g_clear_pointer (&conf->keys, g_hash_table_unref);
  g_free (conf);
}

/* Reads key_names, refusing what could never match a header. */
static char **
key_auth_read_key_names (JsonObject *config, GError **error)
{
  JsonArray *array = json_object_has_member (config, "key_names")
                       ? json_object_get_array_member (config, "key_names") : NULL;
  if (array == NULL)
    return g_strdupv ((char **) default_key_names);
  guint n = json_array_get_length (array);
  if (n == 0)
    {
      g_set_error (error, key_auth_error_quark (), 0, "key_names: must hold at least one name");
      return NULL;
    }
  char **names = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++)
    {
      const char *name = json_array_get_string_element (array, i);
      if (!key_auth_key_name_valid (name))
        {
          g_set_error (error, key_auth_error_quark (), 0,
                       "key_names[%u]: \"%s\" is not a valid header name", i, name ? name : "");
          g_strfreev (names);
          return NULL;
        }
      names[i] = g_strdup (name);
    }
  return names;
}

/* Every consumer's keyauth_credentials, indexed by key. */
static GHashTable *
key_auth_index_keys (const PorticoGateway *gateway)
{
  GHashTable *keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, key_auth_credential_free);
  for (guint c = 0; gateway != NULL && c < portico_gateway_n_consumers (gateway); c++)
    {
      const PorticoConsumer *consumer = portico_gateway_consumer (gateway, c);
      JsonObject *entry = portico_consumer_get_entry (consumer);
      JsonArray *creds = entry != NULL && json_object_has_member (entry, "keyauth_credentials")
                           ? json_object_get_array_member (entry, "keyauth_credentials") : NULL;
      for (guint i = 0; creds != NULL && i < json_array_get_length (creds); i++)
        {
          JsonObject *cred = json_array_get_object_element (creds, i);
          const char *key = cred ? json_object_get_string_member_with_default (cred, "key", NULL) : NULL;
          if (key == NULL)
            continue;
          KeyAuthCredential *kc = g_new0 (KeyAuthCredential, 1);
          kc->consumer = consumer;
          kc->id = g_strdup_printf ("%s:%u", portico_consumer_get_id (consumer), i);
          g_hash_table_replace (keys, g_strdup (key), kc);
        }
    }
  return keys;
}

static gpointer
key_auth_configure (JsonObject *config, const PorticoGateway *gateway, GError **error)
{
  if (json_object_get_boolean_member_with_default (config, "key_in_body", FALSE))
    {
      g_set_error (error, key_auth_error_quark (), 0,
                   "key_in_body: true is not supported (Portico does not buffer request bodies "
                   "to look for keys); send the key in a header or the query");
      return NULL;
    }
  const char *anonymous = json_object_get_string_member_with_default (config, "anonymous", NULL);
  const PorticoConsumer *anon = NULL;
  if (anonymous != NULL && *anonymous != '\0')
    {
      anon = gateway != NULL ? portico_gateway_find_consumer (gateway, anonymous) : NULL;
      if (anon == NULL)
        {
          g_set_error (error, key_auth_error_quark (), 0,
                       "anonymous: no consumer has the username or custom_id \"%s\"", anonymous);
          return NULL;
        }
    }
  char **names = key_auth_read_key_names (config, error);
  if (names == NULL)
    return NULL;

  KeyAuthConf *conf = g_new0 (KeyAuthConf, 1);
  conf->key_names = names;
  conf->in_header = json_object_get_boolean_member_with_default (config, "key_in_header", TRUE);
  conf->in_query = json_object_get_boolean_member_with_default (config, "key_in_query", TRUE);
  conf->hide_credentials = json_object_get_boolean_member_with_default (config, "hide_credentials", FALSE);
  conf->run_on_preflight = json_object_get_boolean_member_with_default (config, "run_on_preflight", TRUE);
  conf->anonymous = anon;
  conf->keys = key_auth_index_keys (gateway);
  return conf;
}

/* ---- the request, as key-auth-logic.c reads it ---- */

static const char *
key_auth_source_header (gpointer data, const char *name, guint *count)
{
  PorticoRequest *r = data;
  const char *first = portico_request_get_header (r, name);
  *count = 0;
  if (first == NULL)
    return NULL;
  /* Walked only when the name is there: a repeated key is refused. */
  const char *n, *v;
  for (guint i = 0; portico_request_header_at (r, i, &n, &v); i++)
    if (g_ascii_strcasecmp (n, name) == 0)
      (*count)++;
  return first;
}

static const char *
key_auth_source_query_arg (gpointer data, const char *name, guint *count)
{
  PorticoRequest *r = data;
  const char *query = portico_request_get_raw_query (r);
  *count = query != NULL && *query != '\0' ? key_auth_query_count (query, name) : 0;
  return *count > 0 ? portico_request_get_query_arg (r, name) : NULL;
}

/* 401 with Kong's challenge, on every refusal (as Kong does since 3.6). */
static PorticoResult
key_auth_refuse (PorticoRequest *r, const char *message)
{
  portico_response_set_header (r, "WWW-Authenticate", "Key realm=\"kong\"");
  portico_response_exit_message (r, 401, message);
  return PORTICO_RESPOND;
}

static PorticoResult
key_auth_access (PorticoRequest *r, gpointer data)
{
  const KeyAuthConf *conf = data;

  if (!conf->run_on_preflight && strcmp (portico_request_get_method (r), "OPTIONS") == 0)
    return PORTICO_CONTINUE;
  /* With anonymous set, auth plugins are alternatives: one that already
   * found a credential is enough. */
  if (conf->anonymous != NULL && portico_request_get_credential (r) != NULL)
    return PORTICO_CONTINUE;

  const KeyAuthSource source = { key_auth_source_header, key_auth_source_query_arg, r };
  const char *key = NULL;
  guint name_index = 0;
  const char *failure = NULL;
  const KeyAuthCredential *cred = NULL;
  switch (key_auth_find_key ((const char *const *) conf->key_names, conf->in_header, conf->in_query, &source,
                             &key, &name_index))
    {
    case KEY_AUTH_KEY_MISSING:
      failure = "No API key found in request";
      break;
    case KEY_AUTH_KEY_DUPLICATE:
      failure = "Duplicate API key found";
      break;
    case KEY_AUTH_KEY_FOUND:
      if (conf->hide_credentials)
        {
          const char *name = conf->key_names[name_index];
          guint count;
          if (key_auth_source_header (r, name, &count) != NULL)
            portico_request_remove_header (r, name);
          if (key_auth_source_query_arg (r, name, &count) != NULL)
            portico_request_remove_query_arg (r, name);
        }
      if (*key == '\0')
        failure = "No API key found in request";
      else if ((cred = g_hash_table_lookup (conf->keys, key)) == NULL)
        failure = "Invalid authentication credentials";
      break;
    }

  if (cred != NULL)
    portico_request_authenticate (r, cred->consumer, cred->id, FALSE);
  else if (conf->anonymous != NULL)
    portico_request_authenticate (r, conf->anonymous, NULL, TRUE);
  else
    return key_auth_refuse (r, failure);
  return PORTICO_CONTINUE;
}

G_MODULE_EXPORT const PorticoModule portico_module = {
  .abi_version = PORTICO_MODULE_ABI_VERSION,
  .name = "key-auth",
  .version = "1.0.0",
  .priority = 1250,
  .schema = key_auth_schema,
  .configure = key_auth_configure,
  .free_config = key_auth_free_config,
  .access = key_auth_access,
};
