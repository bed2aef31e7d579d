/* lab-pki.h: the certificates of one scenario run, made when it starts.
 *
 * A scenario whose nodes listen with TLS, or whose mock services serve
 * HTTPS, needs a certificate its clients can verify: a CA of the run's own
 * and one leaf certificate it signed, for localhost and 127.0.0.1, made
 * with OpenSSL's API (ECDSA P-256, valid from an hour ago for two days)
 * into the run's temporary directory. Nothing is committed and nothing
 * outlives the run; every party that listens with TLS serves the same leaf,
 * and every client of the run (the load generator, the gateway towards an
 * https mock, the runner's probes) trusts the CA alone, with verification
 * on, as a real deployment would.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  char *ca_path;   /* DIR/lab-ca.pem: the CA certificate, what clients trust */
  char *ca_pem;    /* its text */
  char *cert_path; /* DIR/lab-cert.pem: the leaf (CN localhost, DNS:localhost, IP:127.0.0.1) */
  char *key_path;  /* DIR/lab-key.pem: the leaf's private key (PKCS#8, mode 0600) */
} PorticoLabPki;

/* Makes the CA and the leaf in @dir. NULL with @error (OpenSSL's reason,
 * or the file that could not be written) when it cannot. */
PorticoLabPki *portico_lab_pki_new (const char *dir, GError **error);
/* Removes the files and frees. NULL is ignored. */
void portico_lab_pki_free (PorticoLabPki *pki);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PorticoLabPki, portico_lab_pki_free)

G_END_DECLS
