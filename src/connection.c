/*-------------------------------------------------------------------------
 *
 * connection.c
 *	  The ground floor of the connection to Redis (connection.h): its time
 *	  limits, the generation of its settings, how an attempt failed, and
 *	  the bounded wait of every layer.
 *
 *	  Nothing here pallocs or raises, except ConnectionCheckInterrupts
 *	  (which is there to raise) and the latch wait outside a critical
 *	  section: both work after commit.
 *
 *-------------------------------------------------------------------------
 */
#include "prelude.h"

#include <poll.h>

#include "storage/latch.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "connection.h"

int			cache_ext_connect_timeout = 1000;
int			cache_ext_command_timeout = 1000;
int			cache_ext_reconnect_interval = 1000;

static uint64 settings_generation = 0;

void
ConnectionInit(void)
{
	DefineCustomIntVariable("cache_ext.connect_timeout",
							"Longest wait for a connection to Redis, handshake included.",
							NULL,
							&cache_ext_connect_timeout,
							1000, 1, 60 * 1000,
							PGC_USERSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("cache_ext.command_timeout",
							"Longest wait for Redis to answer one round trip.",
							"Also bounds how long COMMIT can wait to deliver invalidations.",
							&cache_ext_command_timeout,
							1000, 1, 60 * 1000,
							PGC_USERSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("cache_ext.reconnect_interval",
							"After a failed connection or a timeout, how long to wait "
							"before trying Redis again.",
							"Calls made meanwhile fail at once instead of each waiting "
							"for a timeout.",
							&cache_ext_reconnect_interval,
							1000, 0, 10 * 60 * 1000,
							PGC_USERSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);
}

uint64
ConnectionSettingsGeneration(void)
{
	return settings_generation;
}

void
ConnectionSettingChanged(void)
{
	settings_generation++;
}

static bool
same_string(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

void
ConnectionNoteSetting(const char *newval, char **seen)
{
	if (same_string(*seen, newval))
		return;
	free(*seen);
	*seen = newval ? strdup(newval) : NULL;
	ConnectionSettingChanged();
}

void
ConnectionFail(RedisOutcome *outcome, RedisFailureKind kind, const char *fmt,...)
{
	va_list		args;

	outcome->kind = kind;
	va_start(args, fmt);
	vsnprintf(outcome->message, sizeof(outcome->message), fmt, args);
	va_end(args);
}

void
ConnectionCheckInterrupts(void)
{
	if (INTERRUPTS_PENDING_CONDITION() && INTERRUPTS_CAN_BE_PROCESSED())
		CHECK_FOR_INTERRUPTS();
}

int
ConnectionWait(int fd, int events, TimestampTz deadline, long max_ms,
			   bool critical, bool *latch_seen)
{
	TimestampTz end = deadline;

	if (max_ms >= 0)
		end = Min(end, TimestampTzPlusMilliseconds(GetCurrentTimestamp(), max_ms));

	for (;;)
	{
		long		timeout_ms;

		timeout_ms = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), end);
		if (timeout_ms <= 0)
		{
			/* TimestampDifferenceMilliseconds rounds down: sleep the rest */
			if (GetCurrentTimestamp() >= end)
				return 0;
			timeout_ms = 1;
		}

		if (!critical)
		{
			int			wl = WL_LATCH_SET | WL_EXIT_ON_PM_DEATH | WL_TIMEOUT;
			int			rc;

			if (fd >= 0)
				wl |= events;
			rc = WaitLatchOrSocket(MyLatch, wl, fd >= 0 ? fd : PGINVALID_SOCKET,
								   timeout_ms, PG_WAIT_EXTENSION);
			if (rc & WL_LATCH_SET)
			{
				ResetLatch(MyLatch);
				*latch_seen = true;
				ConnectionCheckInterrupts();
			}
			if (rc & (WL_SOCKET_READABLE | WL_SOCKET_WRITEABLE))
				return rc & (WL_SOCKET_READABLE | WL_SOCKET_WRITEABLE);
		}
		else
		{
			/*
			 * After commit (interrupts are held off anyway): poll(), which
			 * a signal also wakes up, in slices of at most 100 ms.
			 */
			struct pollfd pfd;
			int			rc;

			pfd.fd = fd;
			pfd.events = 0;
			if (events & WL_SOCKET_READABLE)
				pfd.events |= POLLIN;
			if (events & WL_SOCKET_WRITEABLE)
				pfd.events |= POLLOUT;
			pfd.revents = 0;
			rc = poll(&pfd, fd >= 0 ? 1 : 0, (int) Min(timeout_ms, 100));
			if (rc > 0 && fd >= 0)
			{
				rc = 0;
				if (pfd.revents & (POLLIN | POLLERR | POLLHUP))
					rc |= WL_SOCKET_READABLE;
				if (pfd.revents & (POLLOUT | POLLERR | POLLHUP))
					rc |= WL_SOCKET_WRITEABLE;
				return (rc & events) ? (rc & events) : events;
			}
		}
	}
}
