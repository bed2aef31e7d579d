/* basic-auth.c: Kong's basic-auth plugin. The client sends
 * "Authorization: Basic base64(username:password)" (or the same in
 * Proxy-Authorization); the consumer holding that credential becomes the
 * request's consumer. Credentials are indexed by username in configure. */
#include <string.h>

#include "pdk/portico.h"
#include "basic-auth-logic.h"

typedef struct {
  const PorticoConsumer *consumer;
  char *username; /* also the credential identifier, as in Kong */
  char *password;
  gsize password_len;
} BasicAuthCredential;

typedef struct {
  gboolean hide_credentials;
  const PorticoConsumer *anonymous; /* NULL: answer 401 */
  GHashTable *users;                /* username -> BasicAuthCredential */
} BasicAuthConf;

static const PorticoSchemaField basic_auth_schema[] = {
  { .name = "hide_credentials", .type = PORTICO_FIELD_BOOLEAN, .default_json = "false",
    .description = "remove the Authorization (or Proxy-Authorization) header read before proxying" },
  { .name = "anonymous", .type = PORTICO_FIELD_STRING,
    .description = "username or custom_id of the consumer to use when authentication fails" },
  { NULL },
};

static GQuark
basic_auth_error_quark (void)
{
  return g_quark_from_static_string ("portico-basic-auth-error");
}

static void
basic_auth_credential_free (gpointer data)
{
  BasicAuthCredential *cred = data;
  g_free (cred->username);
  if (cred->password != NULL)
    memset (cred->password, 0, cred->password_len);
  g_free (cred->password);
  g_free (cred);
}

static void
basic_auth_free_config (gpointer data)
{
  BasicAuthConf *conf = data;
  if (conf == NULL)
    return;
  g_clear_pointer (&conf->users, g_hash_table_unref);
  g_free (conf);
}

/* Every consumer's basicauth_credentials, indexed by username. */
static GHashTable *
basic_auth_index_users (const PorticoGateway *gateway)
{
  GHashTable *users = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, basic_auth_credential_free);
  for (guint c = 0; gateway != NULL && c < portico_gateway_n_consumers (gateway); c++)
    {
      const PorticoConsumer *consumer = portico_gateway_consumer (gateway, c);
      JsonObject *entry = portico_consumer_get_entry (consumer);
      JsonArray *creds = entry != NULL && json_object_has_member (entry, "basicauth_credentials")
                           ? json_object_get_array_member (entry, "basicauth_credentials") : NULL;
      for (guint i = 0; creds != NULL && i < json_array_get_length (creds); i++)
        {
          JsonObject *cred = json_array_get_object_element (creds, i);
          const char *username = cred ? json_object_get_string_member_with_default (cred, "username", NULL) : NULL;
          const char *password = cred ? json_object_get_string_member_with_default (cred, "password", NULL) : NULL;
          if (username == NULL || password == NULL)
            continue;
          BasicAuthCredential *bc = g_new0 (BasicAuthCredential, 1);
          bc->consumer = consumer;
          bc->username = g_strdup (username);
          bc->password = g_strdup (password);
          bc->password_len = strlen (password);
          g_hash_table_replace (users, bc->username, bc);
        }
    }
  return users;
}

static gpointer
basic_auth_configure (JsonObject *config, const PorticoGateway *gateway, GError **error)
{
  const char *anonymous = json_object_get_string_member_with_default (config, "anonymous", NULL);
  const PorticoConsumer *anon = NULL;
  if (anonymous != NULL && *anonymous != '\0')
    {
      anon = gateway != NULL ? portico_gateway_find_consumer (gateway, anonymous) : NULL;
      if (anon == NULL)
        {
          g_set_error (error, basic_auth_error_quark (), 0,
                       "anonymous: no consumer has the username or custom_id \"%s\"", anonymous);
          return NULL;
        }
    }
  BasicAuthConf *conf = g_new0 (BasicAuthConf, 1);
  conf->hide_credentials = json_object_get_boolean_member_with_default (config, "hide_credentials", FALSE);
  conf->anonymous = anon;
  conf->users = basic_auth_index_users (gateway);
  return conf;
}

/* The credential the header @name names, if it parses and exists; its
 * password in *given. The header goes when hide_credentials is set, found
 * or not (Kong clears each header it read). */
static const BasicAuthCredential *
basic_auth_read (PorticoRequest *r, const BasicAuthConf *conf, const char *name, BasicAuthPair *given)
{
  const char *value = portico_request_get_header (r, name);
  if (value == NULL)
    return NULL;
  gsize size = strlen (value) + 1;
  char *buf = portico_request_alloc (r, size);
  const BasicAuthCredential *cred = NULL;
  if (basic_auth_parse (value, buf, size, given))
    cred = g_hash_table_lookup (conf->users, given->username);
  if (conf->hide_credentials)
    portico_request_remove_header (r, name);
  return cred;
}

static PorticoResult
basic_auth_access (PorticoRequest *r, gpointer data)
{
  const BasicAuthConf *conf = data;

  /* With anonymous set, auth plugins are alternatives: one that already
   * found a credential is enough. */
  if (conf->anonymous != NULL && portico_request_get_credential (r) != NULL)
    return PORTICO_CONTINUE;

  const char *failure = NULL;
  const BasicAuthCredential *cred = NULL;
  BasicAuthPair given = { 0 };
  if (portico_request_get_header (r, "Authorization") == NULL
      && portico_request_get_header (r, "Proxy-Authorization") == NULL)
    failure = "Unauthorized";
  else
    {
      /* Proxy-Authorization first; Authorization only if that named no
       * known user (as Kong). */
      cred = basic_auth_read (r, conf, "Proxy-Authorization", &given);
      if (cred == NULL)
        cred = basic_auth_read (r, conf, "Authorization", &given);
      if (cred == NULL
          || !basic_auth_password_equal (cred->password, cred->password_len, given.password, given.password_len))
        {
          cred = NULL;
          failure = "Invalid authentication credentials";
        }
    }

  if (cred != NULL)
    portico_request_authenticate (r, cred->consumer, cred->username, FALSE);
  else if (conf->anonymous != NULL)
    portico_request_authenticate (r, conf->anonymous, NULL, TRUE);
  else
    {
      /* The challenge on every 401 (as Kong does since 3.6). */
      portico_response_set_header (r, "WWW-Authenticate", "Basic realm=\"kong\"");
      portico_response_exit_message (r, 401, failure);
      return PORTICO_RESPOND;
    }
  return PORTICO_CONTINUE;
}

G_MODULE_EXPORT const PorticoModule portico_module = {
  .abi_version = PORTICO_MODULE_ABI_VERSION,
  .name = "basic-auth",
  .version = "1.0.0",
  .priority = 1100,
  .schema = basic_auth_schema,
  .configure = basic_auth_configure,
  .free_config = basic_auth_free_config,
  .access = basic_auth_access,
};
