/* tests/integration/harness-pki.h - certificates made at test time, with the
 * `openssl` command, in a temporary directory (nothing secret is committed).
 *
 * portico_test_pki_new() makes a test CA and these certificates, each as
 * NAME.pem and NAME.key:
 *   ca       the test CA (self-signed, "Portico Test CA")
 *   server   localhost, DNS:localhost and IP:127.0.0.1, signed by the CA
 *   other    other.test, DNS:other.test and DNS:*.other.test, signed by the CA
 *   expired  as server, but valid only on 2020-01-01
 *   self     as server, but self-signed
 *   client   portico-client, signed by the CA (a client certificate)
 * A test may make more with portico_test_pki_make_cert().
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _PorticoTestPki PorticoTestPki;

/* A new directory with the CA and the certificates above; fails the test
 * if openssl does. */
PorticoTestPki *portico_test_pki_new (void);

/* Removes the directory and everything in it. */
void portico_test_pki_free (PorticoTestPki *pki);

/* The path of @name in the directory ("server.pem"); free it. */
char *portico_test_pki_path (PorticoTestPki *pki, const char *name);

/* Makes @name.pem and @name.key: for CN @cn and the subjectAltName @san (may
 * be NULL), signed by the test CA (valid for two days, or expired in 2020),
 * or self-signed. */
void portico_test_pki_make_cert (PorticoTestPki *pki, const char *name, const char *cn, const char *san,
                                 gboolean self_signed, gboolean expired);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PorticoTestPki, portico_test_pki_free)

G_END_DECLS
