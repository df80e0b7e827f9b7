/*-------------------------------------------------------------------------
 *
 * connection.c
 *	  The ground floor of the connection to Redis (connection.h): how an
 *	  attempt failed, and the bounded wait of every layer.
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
