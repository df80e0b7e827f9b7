/*-------------------------------------------------------------------------
 *
 * transport.h
 *	  The byte stream to Redis: one socket (TCP or unix), optionally wrapped
 *	  in a TLS session, per process.  The second layer of the connection
 *	  (endpoint, transport, protocol); transport.c is the only file that
 *	  includes OpenSSL.
 *
 *	  Nothing here raises an ERROR or pallocs when called with 'critical'
 *	  (after commit): every failure becomes a RedisOutcome.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CACHE_EXT_TRANSPORT_H
#define CACHE_EXT_TRANSPORT_H

#include "datatype/timestamp.h"

#include "connection.h"
#include "endpoint.h"

/* Define the TLS settings (_PG_init). */
extern void TransportInit(void);

/*
 * TLS (superuser-only; a change makes every process reconnect and rebuild
 * its TLS context).
 */
typedef enum CacheExtTlsVerify
{
	CACHE_EXT_TLS_VERIFY_FULL,	/* chain, and host name or IP address */
	CACHE_EXT_TLS_VERIFY_CA,	/* chain only */
	CACHE_EXT_TLS_VERIFY_NONE	/* nothing: encryption only */
} CacheExtTlsVerify;

extern char *cache_ext_tls_ca_file;
extern char *cache_ext_tls_cert_file;
extern char *cache_ext_tls_key_file;
extern int	cache_ext_tls_verify;	/* CacheExtTlsVerify */

/*
 * Open the stream to 'endpoint' before 'deadline': resolve the host name,
 * try every address in turn, shake hands with TLS for rediss://.  Returns
 * false with the outcome filled (kind UNAVAILABLE, TIMEOUT or CONFIG).
 */
extern bool TransportConnect(const RedisEndpoint *endpoint,
							 TimestampTz deadline, bool critical,
							 bool *latch_seen, RedisOutcome *outcome);

extern bool TransportIsOpen(void);

/*
 * Once open, the socket blocks for at most IO slice (a few ms) per call:
 * Write and Read return the bytes moved, 0 when the slice passed or a
 * signal arrived with nothing moved (check the deadline and interrupts,
 * then call again), or -1 with the outcome filled when the stream is
 * broken (the caller closes it).
 */
extern ssize_t TransportWrite(const char *buf, size_t len, RedisOutcome *outcome);
extern ssize_t TransportRead(char *buf, size_t len, RedisOutcome *outcome);

/*
 * For a connection idle since the last round trip: true when the server
 * closed it (or sent something unasked, which makes it useless too).
 */
extern bool TransportPeerClosed(void);

/* Close the stream.  Never raises, never allocates. */
extern void TransportClose(void);

/*
 * Set the open stream aside while the process talks to another server
 * (the worker's poll of the sentinels) and take it back afterwards: after
 * Suspend no stream is open; Resume closes the stream opened meanwhile, if
 * any, and makes the saved one the open stream again; CloseSuspended
 * closes a saved stream instead.  Never raise, never allocate.
 */
typedef struct TransportStream
{
	int			sock;
	void	   *tls;			/* SSL *, or NULL */
} TransportStream;

extern void TransportSuspend(TransportStream *saved);
extern void TransportResume(TransportStream *saved);
extern void TransportCloseSuspended(TransportStream *saved);

/* A WARNING deferred from a critical section (tls_verify = none). */
extern void TransportEmitDeferredWarnings(void);

#endif							/* CACHE_EXT_TRANSPORT_H */
