/*-------------------------------------------------------------------------
 *
 * transport.c
 *	  The byte stream to Redis: a socket (TCP or unix), wrapped in a TLS
 *	  session for rediss://.  The only file that includes OpenSSL.
 *
 *	  Connecting: every address the endpoint resolves to is tried in turn
 *	  (each gets an equal share of what is left of connect_timeout, so one
 *	  silent address cannot eat the whole budget), with a non-blocking
 *	  connect() and, for TLS, a non-blocking handshake, both waited for on
 *	  the latch and the socket (ConnectionWait: cancel, statement_timeout,
 *	  termination and postmaster death are honoured) or, after commit where
 *	  nothing may be palloc'd, with poll().
 *
 *	  Once connected, the socket is made blocking with kernel send and
 *	  receive timeouts of IO_SLICE_MS: a reply then costs one read() (or one
 *	  SSL_read(), which with read-ahead is one read() per TLS record batch)
 *	  instead of a wait plus a read; every call returns within the slice,
 *	  and at once with EINTR when a signal arrives (socket calls with a
 *	  timeout are never restarted), so the protocol layer checks its
 *	  deadline and pending interrupts between calls.  OpenSSL sees the
 *	  timeout or EINTR as a retryable read (SSL_ERROR_WANT_READ) and keeps
 *	  a partly read record for the next call.
 *
 *	  TLS: one SSL_CTX per process, built from the settings cache_ext.tls_*
 *	  (defined here) at the first TLS connection and rebuilt when the
 *	  connection settings change (ConnectionSettingsGeneration).  Nothing global of OpenSSL is touched: the backend may
 *	  run its own SSL for client connections (ssl = on) in the same thread.
 *	  OpenSSL initialises itself once on first use (OpenSSL 1.1+); we never
 *	  call the old global init or locking functions.  OpenSSL keeps a
 *	  per-thread error queue that the backend's SSL code shares: every
 *	  OpenSSL call here is preceded by ERR_clear_error() and followed by
 *	  draining the queue, so it is empty whenever we return.  OpenSSL
 *	  allocates with malloc; its failures become RedisOutcome, never
 *	  ereport, so this works after commit too.
 *
 *	  Verification (cache_ext.tls_verify): full checks the chain and the
 *	  host name (X509_check_host, subjectAltName DNS entries only) or IP
 *	  address (X509_check_ip_asc) of the URL; ca checks the chain only;
 *	  none checks nothing and says so with a WARNING whenever a TLS
 *	  connection is made under it for the first time since the settings
 *	  changed.  SNI carries the host name (not an address, RFC 6066).
 *
 *-------------------------------------------------------------------------
 */
#include "prelude.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "pgstat.h"
#include "storage/latch.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "connection.h"
#include "endpoint.h"
#include "transport.h"

char	   *cache_ext_tls_ca_file = NULL;
char	   *cache_ext_tls_cert_file = NULL;
char	   *cache_ext_tls_key_file = NULL;
int			cache_ext_tls_verify = CACHE_EXT_TLS_VERIFY_FULL;

/* The values last seen: a change makes every process reconnect. */
static char *seen_ca_file,
		   *seen_cert_file,
		   *seen_key_file;
static int	seen_verify = -1;

static const struct config_enum_entry tls_verify_options[] = {
	{"full", CACHE_EXT_TLS_VERIFY_FULL, false},
	{"ca", CACHE_EXT_TLS_VERIFY_CA, false},
	{"none", CACHE_EXT_TLS_VERIFY_NONE, false},
	{NULL, 0, false}
};

static void
assign_tls_ca_file(const char *newval, void *extra)
{
	ConnectionNoteSetting(newval, &seen_ca_file);
}

static void
assign_tls_cert_file(const char *newval, void *extra)
{
	ConnectionNoteSetting(newval, &seen_cert_file);
}

static void
assign_tls_key_file(const char *newval, void *extra)
{
	ConnectionNoteSetting(newval, &seen_key_file);
}

static void
assign_tls_verify(int newval, void *extra)
{
	if (seen_verify == newval)
		return;
	seen_verify = newval;
	ConnectionSettingChanged();
}

void
TransportInit(void)
{
	DefineCustomStringVariable("cache_ext.tls_ca_file",
							   "PEM bundle of the certificate authorities trusted for rediss:// "
							   "(empty: the system's trust store).",
							   NULL,
							   &cache_ext_tls_ca_file,
							   "",
							   PGC_SUSET,
							   0,
							   NULL,
							   assign_tls_ca_file,
							   NULL);

	DefineCustomStringVariable("cache_ext.tls_cert_file",
							   "Client certificate (PEM) for mutual TLS with Redis.",
							   NULL,
							   &cache_ext_tls_cert_file,
							   "",
							   PGC_SUSET,
							   0,
							   NULL,
							   assign_tls_cert_file,
							   NULL);

	DefineCustomStringVariable("cache_ext.tls_key_file",
							   "Private key (PEM) of cache_ext.tls_cert_file.",
							   "Must not be readable by group or others.",
							   &cache_ext_tls_key_file,
							   "",
							   PGC_SUSET,
							   0,
							   NULL,
							   assign_tls_key_file,
							   NULL);

	DefineCustomEnumVariable("cache_ext.tls_verify",
							 "What a rediss:// connection checks of the server's certificate.",
							 "full: the chain and the host name or IP address; ca: the chain; "
							 "none: nothing (encryption only).",
							 &cache_ext_tls_verify,
							 CACHE_EXT_TLS_VERIFY_FULL,
							 tls_verify_options,
							 PGC_SUSET,
							 0,
							 NULL,
							 assign_tls_verify,
							 NULL);
}

/*
 * Longest single blocking read() or write() once connected: the deadline
 * and pending interrupts are checked at least this often.
 */
#define IO_SLICE_MS 20

static int	sock = -1;
static SSL *tls = NULL;

/* The process's TLS context and the settings generation it was built for. */
static SSL_CTX *tls_ctx = NULL;
static uint64 tls_ctx_generation = 0;

/* tls_verify = none: warn once per settings generation. */
static uint64 none_warned_generation = 0;
static bool none_warning_pending = false;

bool
TransportIsOpen(void)
{
	return sock >= 0;
}

void
TransportClose(void)
{
	if (tls != NULL)
	{
		/*
		 * No SSL_shutdown: it would write (and could block) on a connection
		 * we are giving up on; Redis copes with an unannounced close.
		 */
		SSL_free(tls);
		tls = NULL;
		ERR_clear_error();
	}
	if (sock >= 0)
	{
		close(sock);
		sock = -1;
	}
}

void
TransportSuspend(TransportStream *saved)
{
	saved->sock = sock;
	saved->tls = tls;
	sock = -1;
	tls = NULL;
}

void
TransportResume(TransportStream *saved)
{
	TransportClose();
	sock = saved->sock;
	tls = (SSL *) saved->tls;
	saved->sock = -1;
	saved->tls = NULL;
}

void
TransportCloseSuspended(TransportStream *saved)
{
	TransportStream current;

	TransportSuspend(&current);
	TransportResume(saved);
	TransportClose();
	TransportResume(&current);
}

void
TransportEmitDeferredWarnings(void)
{
	if (none_warning_pending)
	{
		none_warning_pending = false;
		ereport(WARNING,
				(errmsg("cache_ext connects to Redis at %s over TLS without verifying its certificate",
						EndpointDescription()),
				 errdetail("cache_ext.tls_verify is none: the connection is encrypted, but anyone on the network path can impersonate the server."),
				 errhint("Set cache_ext.tls_verify to full and cache_ext.tls_ca_file to the provider's CA bundle.")));
	}
}

/* ------------------------------------------------------------------ TLS */

/*
 * The text of the first error in OpenSSL's queue (or 'fallback'), then an
 * empty queue.
 */
static void
ssl_error_text(char *buf, size_t len, const char *fallback)
{
	unsigned long e = ERR_get_error();

	if (e != 0)
	{
		const char *reason = ERR_reason_error_string(e);

		if (reason != NULL)
			snprintf(buf, len, "%s", reason);
		else
			ERR_error_string_n(e, buf, len);
	}
	else
		snprintf(buf, len, "%s", fallback);
	ERR_clear_error();
}

/* Never ask for a key's passphrase on the server's terminal. */
static int
no_passphrase(char *buf, int size, int rwflag, void *userdata)
{
	return 0;
}

/*
 * Refuse a private key readable by others, as libpq does: owned by us and
 * without any group or world permission, or owned by root and at most
 * group-readable (a key managed by the system's certificate tooling).
 */
static bool
key_file_is_private(const char *path, RedisOutcome *outcome)
{
	struct stat st;

	if (stat(path, &st) != 0)
	{
		ConnectionFail(outcome, REDIS_FAIL_CONFIG,
					   "could not read cache_ext.tls_key_file \"%s\": %s",
					   path, strerror(errno));
		return false;
	}
	if (!S_ISREG(st.st_mode))
	{
		ConnectionFail(outcome, REDIS_FAIL_CONFIG,
					   "cache_ext.tls_key_file \"%s\" is not a regular file", path);
		return false;
	}
	if ((st.st_uid == geteuid() && (st.st_mode & (S_IRWXG | S_IRWXO))) ||
		(st.st_uid == 0 && (st.st_mode & (S_IWGRP | S_IXGRP | S_IRWXO))) ||
		(st.st_uid != geteuid() && st.st_uid != 0))
	{
		ConnectionFail(outcome, REDIS_FAIL_CONFIG,
					   "cache_ext.tls_key_file \"%s\" has group or world access, or another owner; "
					   "it must be owned by the database server's user with permissions u=rw (0600) or less",
					   path);
		return false;
	}
	return true;
}

static bool
build_tls_context(RedisOutcome *outcome)
{
	SSL_CTX    *ctx;
	char		err[160];
	const char *ca = cache_ext_tls_ca_file;
	const char *cert = cache_ext_tls_cert_file;
	const char *key = cache_ext_tls_key_file;

	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL)
	{
		ssl_error_text(err, sizeof(err), "out of memory");
		ConnectionFail(outcome, REDIS_FAIL_UNAVAILABLE,
					   "could not create a TLS context: %s", err);
		return false;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET);

	/*
	 * Partial writes, retried with a moved buffer pointer; read-ahead, so
	 * one read() takes a whole reply however many records it spans.
	 */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
					 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);

	if (cache_ext_tls_verify == CACHE_EXT_TLS_VERIFY_NONE)
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	else
	{
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		if (ca != NULL && ca[0] != '\0')
		{
			if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1)
			{
				ssl_error_text(err, sizeof(err), "unknown error");
				ConnectionFail(outcome, REDIS_FAIL_CONFIG,
							   "could not load cache_ext.tls_ca_file \"%s\": %s",
							   ca, err);
				goto fail;
			}
		}
		else if (SSL_CTX_set_default_verify_paths(ctx) != 1)
		{
			ssl_error_text(err, sizeof(err), "unknown error");
			ConnectionFail(outcome, REDIS_FAIL_CONFIG,
						   "could not load the system's trusted certificates: %s",
						   err);
			goto fail;
		}
	}

	if ((cert != NULL && cert[0] != '\0') != (key != NULL && key[0] != '\0'))
	{
		ConnectionFail(outcome, REDIS_FAIL_CONFIG,
					   "cache_ext.tls_cert_file and cache_ext.tls_key_file must be set together");
		goto fail;
	}
	if (cert != NULL && cert[0] != '\0')
	{
		if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
		{
			ssl_error_text(err, sizeof(err), "unknown error");
			ConnectionFail(outcome, REDIS_FAIL_CONFIG,
						   "could not load cache_ext.tls_cert_file \"%s\": %s",
						   cert, err);
			goto fail;
		}
		if (!key_file_is_private(key, outcome))
			goto fail;
		if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
		{
			ssl_error_text(err, sizeof(err), "unknown error");
			ConnectionFail(outcome, REDIS_FAIL_CONFIG,
						   "could not load cache_ext.tls_key_file \"%s\": %s",
						   key, err);
			goto fail;
		}
		if (SSL_CTX_check_private_key(ctx) != 1)
		{
			ssl_error_text(err, sizeof(err), "unknown error");
			ConnectionFail(outcome, REDIS_FAIL_CONFIG,
						   "cache_ext.tls_key_file \"%s\" does not match cache_ext.tls_cert_file \"%s\": %s",
						   key, cert, err);
			goto fail;
		}
	}
	ERR_clear_error();

	if (tls_ctx != NULL)
		SSL_CTX_free(tls_ctx);
	tls_ctx = ctx;
	tls_ctx_generation = ConnectionSettingsGeneration();
	return true;

fail:
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return false;
}

/* Why a handshake failed, in words a user can act on. */
static void
describe_handshake_failure(int ssl_err, int saved_errno, char *buf, size_t len)
{
	long		verify = SSL_get_verify_result(tls);
	char		err[160];

	if (verify != X509_V_OK)
	{
		snprintf(buf, len, "certificate verify failed: %s",
				 X509_verify_cert_error_string(verify));
		ERR_clear_error();
		return;
	}
	if (ssl_err == SSL_ERROR_SYSCALL || ssl_err == SSL_ERROR_ZERO_RETURN)
	{
		if (ERR_peek_error() == 0)
		{
			if (saved_errno != 0)
				snprintf(buf, len, "%s during the TLS handshake", strerror(saved_errno));
			else
				snprintf(buf, len, "the server closed the connection during the TLS handshake (is the port a plain-text one? use redis://)");
			ERR_clear_error();
			return;
		}
	}
	ssl_error_text(err, sizeof(err), "unknown TLS error");
	if (strstr(err, "wrong version number") != NULL ||
		strstr(err, "packet length too long") != NULL ||
		strstr(err, "record layer failure") != NULL ||
		strstr(err, "unexpected eof") != NULL)
		snprintf(buf, len, "TLS handshake failed: %s (is the port a plain-text one? use redis://)", err);
	else
		snprintf(buf, len, "TLS handshake failed: %s", err);
}

/* Check the certificate's subjectAltName against the URL's host. */
static bool
check_peer_name(const char *host, RedisOutcome *outcome)
{
	X509	   *cert;
	int			rc;

#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	cert = SSL_get1_peer_certificate(tls);
#else
	cert = SSL_get_peer_certificate(tls);
#endif
	if (cert == NULL)
	{
		ConnectionFail(outcome, REDIS_FAIL_UNAVAILABLE,
					   "Redis at %s presented no TLS certificate",
					   EndpointDescription());
		ERR_clear_error();
		return false;
	}
	if (EndpointHostIsAddress(host))
		rc = X509_check_ip_asc(cert, host, 0);
	else
		rc = X509_check_host(cert, host, 0,
							 X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS |
							 X509_CHECK_FLAG_NEVER_CHECK_SUBJECT, NULL);
	X509_free(cert);
	ERR_clear_error();
	if (rc != 1)
	{
		ConnectionFail(outcome, REDIS_FAIL_UNAVAILABLE,
					   "the TLS certificate of Redis at %s does not match the %s \"%s\" (host name mismatch; "
					   "cache_ext.tls_verify = full checks the certificate's subjectAltName)",
					   EndpointDescription(),
					   EndpointHostIsAddress(host) ? "address" : "host name", host);
		return false;
	}
	return true;
}

static bool
tls_handshake(const RedisEndpoint *endpoint, TimestampTz deadline,
			  bool critical, bool *latch_seen, RedisOutcome *outcome)
{
	char		err[200];

	ERR_clear_error();
	tls = SSL_new(tls_ctx);
	if (tls == NULL || SSL_set_fd(tls, sock) != 1)
	{
		ssl_error_text(err, sizeof(err), "out of memory");
		ConnectionFail(outcome, REDIS_FAIL_UNAVAILABLE,
					   "could not start TLS with Redis at %s: %s",
					   EndpointDescription(), err);
		return false;
	}
	if (!EndpointHostIsAddress(endpoint->host) &&
		SSL_set_tlsext_host_name(tls, endpoint->host) != 1)
	{
		ssl_error_text(err, sizeof(err), "out of memory");
		ConnectionFail(outcome, REDIS_FAIL_UNAVAILABLE,
					   "could not set the TLS server name for Redis at %s: %s",
					   EndpointDescription(), err);
		return false;
	}

	for (;;)
	{
		int			rc;
		int			ssl_err;
		int			saved_errno;
		int			events;

		ERR_clear_error();
		errno = 0;
		rc = SSL_connect(tls);
		if (rc == 1)
			break;
		saved_errno = errno;
		ssl_err = SSL_get_error(tls, rc);
		if (ssl_err == SSL_ERROR_WANT_READ)
			events = WL_SOCKET_READABLE;
		else if (ssl_err == SSL_ERROR_WANT_WRITE)
			events = WL_SOCKET_WRITEABLE;
		else
		{
			describe_handshake_failure(ssl_err, saved_errno, err, sizeof(err));
			ConnectionFail(outcome, REDIS_FAIL_UNAVAILABLE,
						   "could not connect to Redis at %s: %s",
						   EndpointDescription(), err);
			return false;
		}
		ERR_clear_error();
		if (ConnectionWait(sock, events, deadline, -1, critical, latch_seen) == 0)
		{
			ConnectionFail(outcome, REDIS_FAIL_UNAVAILABLE,
						   "could not connect to Redis at %s: the TLS handshake did not complete within %d ms (is the port a plain-text one? use redis://)",
						   EndpointDescription(), cache_ext_connect_timeout);
			return false;
		}
	}
	ERR_clear_error();

	if (cache_ext_tls_verify == CACHE_EXT_TLS_VERIFY_FULL &&
		!check_peer_name(endpoint->host, outcome))
		return false;

	if (cache_ext_tls_verify == CACHE_EXT_TLS_VERIFY_NONE &&
		none_warned_generation != ConnectionSettingsGeneration())
	{
		none_warned_generation = ConnectionSettingsGeneration();
		none_warning_pending = true;
		if (!critical)
			TransportEmitDeferredWarnings();
	}
	return true;
}

/* ------------------------------------------------------------ connecting */

/*
 * connect() one address before 'deadline'.  On failure, the reason goes to
 * 'why' and the socket is closed.
 */
static bool
connect_address(const struct sockaddr *addr, socklen_t addrlen,
				TimestampTz deadline, bool critical, bool *latch_seen,
				char *why, size_t whylen, bool *timed_out)
{
	int			err = 0;
	socklen_t	errlen = sizeof(err);

	*timed_out = false;
	sock = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (sock < 0)
	{
		snprintf(why, whylen, "%s", strerror(errno));
		return false;
	}
	if (addr->sa_family != AF_UNIX)
	{
		int			on = 1;

		(void) setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	}
	if (connect(sock, addr, addrlen) == 0)
		return true;
	if (errno != EINPROGRESS && errno != EAGAIN && errno != EINTR)
	{
		snprintf(why, whylen, "%s", strerror(errno));
		TransportClose();
		return false;
	}
	if (ConnectionWait(sock, WL_SOCKET_WRITEABLE, deadline, -1, critical,
					   latch_seen) == 0)
	{
		snprintf(why, whylen, "timed out after %d ms", cache_ext_connect_timeout);
		*timed_out = true;
		TransportClose();
		return false;
	}
	if (getsockopt(sock, SOL_SOCKET, SO_ERROR, &err, &errlen) < 0)
		err = errno;
	if (err != 0)
	{
		snprintf(why, whylen, "%s", strerror(err));
		TransportClose();
		return false;
	}
	return true;
}

/*
 * Blocking socket with send and receive timeouts of IO_SLICE_MS (or
 * command_timeout, if shorter): see the header comment.
 */
static bool
make_socket_blocking(RedisOutcome *outcome)
{
	int			flags = fcntl(sock, F_GETFL);
	int			slice_ms = Min(IO_SLICE_MS, cache_ext_command_timeout);
	struct timeval tv;

	tv.tv_sec = slice_ms / 1000;
	tv.tv_usec = (slice_ms % 1000) * 1000;
	if (flags < 0 || fcntl(sock, F_SETFL, flags & ~O_NONBLOCK) < 0 ||
		setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
		setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
	{
		ConnectionFail(outcome, REDIS_FAIL_IO,
					   "could not configure the socket to Redis at %s: %s",
					   EndpointDescription(), strerror(errno));
		return false;
	}
	return true;
}

bool
TransportConnect(const RedisEndpoint *endpoint, TimestampTz deadline,
				 bool critical, bool *latch_seen, RedisOutcome *outcome)
{
	RedisAddressList list;
	char		why[160] = "";
	char		where[64] = "";
	int			i;
	bool		timed_out = false;

	TransportClose();

	if (endpoint->tls &&
		(tls_ctx == NULL || tls_ctx_generation != ConnectionSettingsGeneration()) &&
		!build_tls_context(outcome))
		return false;

	if (endpoint->is_unix)
	{
		struct sockaddr_un *un = (struct sockaddr_un *) &list.addr[0];

		memset(un, 0, sizeof(*un));
		un->sun_family = AF_UNIX;
		strlcpy(un->sun_path, endpoint->path, sizeof(un->sun_path));
		list.addrlen[0] = sizeof(*un);
		list.count = 1;
	}
	else if (!EndpointResolve(endpoint->host, endpoint->port, &list, deadline,
							  critical, latch_seen, outcome))
		return false;

	for (i = 0; i < list.count; i++)
	{
		TimestampTz now = GetCurrentTimestamp();
		TimestampTz share;

		/* an equal share of the time left for each address left */
		share = now + (deadline - now) / (list.count - i);
		if (connect_address((struct sockaddr *) &list.addr[i], list.addrlen[i],
							share, critical, latch_seen, why, sizeof(why),
							&timed_out))
			break;
		if (list.count > 1 && !endpoint->is_unix)
			EndpointFormatAddress(&list.addr[i], where, sizeof(where));
	}
	if (i == list.count)
	{
		if (list.count > 1)
			ConnectionFail(outcome, REDIS_FAIL_UNAVAILABLE,
						   "could not connect to Redis at %s: %s (each of its %d addresses was tried; the last was %s)",
						   EndpointDescription(), why, list.count, where);
		else
			ConnectionFail(outcome, REDIS_FAIL_UNAVAILABLE,
						   "could not connect to Redis at %s: %s",
						   EndpointDescription(), why);
		return false;
	}

	if (endpoint->tls &&
		!tls_handshake(endpoint, deadline, critical, latch_seen, outcome))
	{
		TransportClose();
		return false;
	}
	if (!make_socket_blocking(outcome))
	{
		TransportClose();
		return false;
	}
	return true;
}

/* ------------------------------------------------------------------ I/O */

/*
 * A plain TCP connection the server dropped at once may have reached a TLS
 * port (Redis closes on the first bytes that are no TLS handshake).
 */
static const char *
plain_tcp_hint(void)
{
	const RedisEndpoint *endpoint = EndpointCurrent();

	if (endpoint->tls || endpoint->is_unix)
		return "";
	return " (is the port a TLS one? use rediss://)";
}

/* errno values that mean "nothing moved within the slice, try again" */
#define RETRYABLE_ERRNO(e) ((e) == EAGAIN || (e) == EWOULDBLOCK || (e) == EINTR)

/* A TLS read or write that did not move data: retry (0) or broken (-1). */
static ssize_t
tls_io_failure(int rc, const char *what, RedisOutcome *outcome)
{
	int			saved_errno = errno;
	int			ssl_err = SSL_get_error(tls, rc);
	char		err[160];

	switch (ssl_err)
	{
		case SSL_ERROR_WANT_READ:
		case SSL_ERROR_WANT_WRITE:
			ERR_clear_error();
			return 0;
		case SSL_ERROR_ZERO_RETURN:
			ERR_clear_error();
			ConnectionFail(outcome, REDIS_FAIL_IO,
						   "lost the connection to Redis at %s: the server closed the TLS session",
						   EndpointDescription());
			return -1;
		case SSL_ERROR_SYSCALL:
			if (ERR_peek_error() == 0)
			{
				ERR_clear_error();
				if (RETRYABLE_ERRNO(saved_errno))
					return 0;
				ConnectionFail(outcome, REDIS_FAIL_IO,
							   "lost the connection to Redis at %s while %s: %s",
							   EndpointDescription(), what,
							   saved_errno ? strerror(saved_errno) : "the server closed the connection");
				return -1;
			}
			/* FALLTHROUGH */
		default:
			ssl_error_text(err, sizeof(err), "unknown TLS error");
			ConnectionFail(outcome, REDIS_FAIL_IO,
						   "lost the connection to Redis at %s while %s: %s",
						   EndpointDescription(), what, err);
			return -1;
	}
}

ssize_t
TransportWrite(const char *buf, size_t len, RedisOutcome *outcome)
{
	ssize_t		n;

	if (tls != NULL)
	{
		ERR_clear_error();
		errno = 0;
		n = SSL_write(tls, buf, (int) Min(len, (size_t) INT_MAX));
		if (n > 0)
		{
			ERR_clear_error();
			return n;
		}
		return tls_io_failure((int) n, "writing", outcome);
	}

	n = send(sock, buf, len, MSG_NOSIGNAL);
	if (n >= 0)
		return n;
	if (RETRYABLE_ERRNO(errno))
		return 0;
	ConnectionFail(outcome, REDIS_FAIL_IO,
				   "lost the connection to Redis at %s while writing: %s",
				   EndpointDescription(), strerror(errno));
	return -1;
}

ssize_t
TransportRead(char *buf, size_t len, RedisOutcome *outcome)
{
	ssize_t		n;

	pgstat_report_wait_start(PG_WAIT_EXTENSION);
	if (tls != NULL)
	{
		ERR_clear_error();
		errno = 0;
		n = SSL_read(tls, buf, (int) Min(len, (size_t) INT_MAX));
		pgstat_report_wait_end();
		if (n > 0)
		{
			ERR_clear_error();
			return n;
		}
		return tls_io_failure((int) n, "reading", outcome);
	}

	n = recv(sock, buf, len, 0);
	pgstat_report_wait_end();
	if (n > 0)
		return n;
	if (n == 0)
	{
		ConnectionFail(outcome, REDIS_FAIL_IO,
					   "lost the connection to Redis at %s: the server closed the connection%s",
					   EndpointDescription(), plain_tcp_hint());
		return -1;
	}
	if (RETRYABLE_ERRNO(errno))
		return 0;
	ConnectionFail(outcome, REDIS_FAIL_IO,
				   "lost the connection to Redis at %s: %s%s",
				   EndpointDescription(), strerror(errno),
				   plain_tcp_hint());
	return -1;
}

bool
TransportPeerClosed(void)
{
	struct pollfd pfd;
	char		byte;
	int			flags;
	int			rc;
	bool		closed;

	if (sock < 0)
		return true;
	pfd.fd = sock;
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) == 0)
		return false;			/* nothing to read: alive */
	if (tls == NULL)
		return true;			/* EOF, or bytes nobody asked for */

	/*
	 * TLS: the readable bytes may be a TLS 1.3 session ticket, sent after
	 * the handshake, which carries no data.  Read without blocking: no
	 * application data (WANT_READ) means the session is alive.
	 */
	flags = fcntl(sock, F_GETFL);
	if (flags < 0 || fcntl(sock, F_SETFL, flags | O_NONBLOCK) < 0)
		return true;
	ERR_clear_error();
	rc = SSL_read(tls, &byte, 1);
	closed = rc > 0 || SSL_get_error(tls, rc) != SSL_ERROR_WANT_READ;
	ERR_clear_error();
	if (fcntl(sock, F_SETFL, flags) < 0)
		closed = true;
	return closed;
}
