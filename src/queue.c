/*-------------------------------------------------------------------------
 *
 * queue.c
 *	  The queue of effects waiting for the background worker (queue.h):
 *	  retries and asynchronous hand-offs, in shared memory, set up only
 *	  when the library is preloaded (shared.c calls QueueSharedInit); its
 *	  consumer's pid and latch; and the state file that tells a restart
 *	  whether effects may have been lost.
 *
 *	  The queue (shared memory, cache_ext.queue_size) is a ring of
 *	  EffectRecords; producers append under the exclusive lock, the single
 *	  consumer (the worker) copies records from the head under the shared
 *	  lock and removes them once delivered, so a worker that dies loses
 *	  nothing.  A full queue drops the transaction's effects, counts them and
 *	  raises the "fallback needed" flag (delivery.c: the producer): once
 *	  Redis is reachable the worker invalidates every namespace.  The queue dies with shared memory: a file
 *	  in the data directory says whether the previous postmaster stopped
 *	  cleanly with an empty queue; if not (crash restart, immediate shutdown,
 *	  effects still queued), the flag is raised at start.
 *
 *	  Two regions of the ring.  Records are addressed by a byte position
 *	  that only grows; where a position lives in the ring depends on the
 *	  region it was written to.  While the worker keeps up, every record
 *	  goes to the first QUEUE_HOT_BYTES of the ring, reused round and round:
 *	  those pages stay mapped in every backend and warm in the caches.
 *	  Writing through the whole ring instead made each backend take a page
 *	  fault every few dozen commits (a backend maps a page of shared memory
 *	  at its first touch): most of what an async bump cost a backend over
 *	  an empty trigger (perf: the page-fault path under QueuePush).  When a
 *	  push does not fit in the hot region (an outage, a slow Redis), the
 *	  records from that position on go to the rest of the ring, and the
 *	  queue returns to the hot region once it is empty.  The records of the
 *	  two regions never mix: all records before the switch position are
 *	  hot, all after it cold, so the order is kept.
 *
 *	  Locking: QueueShared->lock (an LWLock of the tranche "cache_ext")
 *	  protects head, tail, nrecords, cold_from and the ring bytes between
 *	  head and tail; depth mirrors nrecords as an atomic, readable without
 *	  the lock; the consumer's pid and latch are under the spinlock
 *	  QueueShared->mutex.
 *
 *-------------------------------------------------------------------------
 */
#include "prelude.h"

#include "port/atomics.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"

#include "effects.h"
#include "fallback.h"
#include "queue.h"

#define STATE_FILE			"cache_ext_delivery.state"

/*
 * The hot region: 256 kB holds about 50 ms of effects at 50,000 commits a
 * second, ten times the default batch delay; 64 pages per backend.
 */
#define QUEUE_HOT_BYTES		(256 * 1024)
#define QUEUE_ALL_HOT		PG_UINT64_MAX

typedef struct QueueShared
{
	LWLock	   *lock;
	Size		ring_size;
	uint64		head;			/* byte position of the oldest record */
	uint64		tail;			/* byte position after the newest */
	uint64		nrecords;
	uint64		cold_from;		/* records from here on are in the cold
								 * region; QUEUE_ALL_HOT while none is */
	pg_atomic_uint64 depth;		/* nrecords, readable without the lock */
	slock_t		mutex;			/* the consumer: */
	pid_t		consumer_pid;
	Latch	   *consumer_latch;
	char		ring[FLEXIBLE_ARRAY_MEMBER];
} QueueShared;

int			cache_ext_queue_size = 16 * 1024;	/* kB */

static QueueShared *shared = NULL;

/* ------------------------------------------------------------ the queue */

Size
QueueSharedSize(void)
{
	return add_size(offsetof(QueueShared, ring),
					MAXALIGN((Size) cache_ext_queue_size * 1024));
}

/*
 * Where the record at pos lives: the region (its start in the ring, its
 * size) and the offset in it.  Under the lock.
 */
static void
ring_place(uint64 pos, Size *base, Size *size, Size *off)
{
	if (pos >= shared->cold_from)
	{
		*base = QUEUE_HOT_BYTES;
		*size = shared->ring_size - QUEUE_HOT_BYTES;
		*off = (pos - shared->cold_from) % *size;
	}
	else
	{
		*base = 0;
		*size = QUEUE_HOT_BYTES;
		*off = pos % QUEUE_HOT_BYTES;
	}
}

static void
ring_write(uint64 pos, const void *src, Size len)
{
	Size		base,
				size,
				off,
				first;

	ring_place(pos, &base, &size, &off);
	first = Min(len, size - off);
	memcpy(shared->ring + base + off, src, first);
	if (len > first)
		memcpy(shared->ring + base, (const char *) src + first, len - first);
}

static void
ring_read(uint64 pos, void *dst, Size len)
{
	Size		base,
				size,
				off,
				first;

	ring_place(pos, &base, &size, &off);
	first = Min(len, size - off);
	memcpy(dst, shared->ring + base + off, first);
	if (len > first)
		memcpy((char *) dst + first, shared->ring + base, len - first);
}

bool
QueueReady(void)
{
	return shared != NULL;
}

uint64
QueueDepth(void)
{
	return shared ? pg_atomic_read_u64(&shared->depth) : 0;
}

/* Records and bytes queued, and the ring's size (cache_ext.stats). */
void
QueueUsage(uint64 *records, uint64 *bytes, uint64 *capacity)
{
	*records = pg_atomic_read_u64(&shared->depth);
	LWLockAcquire(shared->lock, LW_SHARED);
	*bytes = shared->tail - shared->head;
	LWLockRelease(shared->lock);
	*capacity = shared->ring_size;
}

/*
 * Append records to the queue, all or none.  Never allocates, never raises:
 * called after commit.  Returns false when they do not fit.  *was_empty
 * tells whether the queue was empty: only then can the consumer be asleep
 * (it sleeps only after finding the queue empty, and records stay counted
 * until delivered), so only then does it need waking; under load this
 * saves a wake-up per commit and lets the worker pipeline whatever
 * accumulated during its previous round trip.
 */
bool
QueuePush(EffectRecord **recs, int n, uint8 flags, bool *was_empty)
{
	Size		total = 0;
	int			i;
	bool		fits;

	*was_empty = false;

	if (n == 0)
		return true;
	for (i = 0; i < n; i++)
	{
		recs[i]->flags |= flags;
		total += recs[i]->size;
	}

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	/* an empty queue goes back to the hot region */
	if (shared->nrecords == 0)
		shared->cold_from = QUEUE_ALL_HOT;
	if (shared->cold_from == QUEUE_ALL_HOT)
	{
		fits = shared->tail - shared->head + total <= QUEUE_HOT_BYTES;
		if (!fits && total <= shared->ring_size - QUEUE_HOT_BYTES)
		{
			/* the hot region is full: from here on, the cold one */
			shared->cold_from = shared->tail;
			fits = true;
		}
	}
	else
	{
		/* the cold records still queued: those after the head */
		uint64		cold_start = Max(shared->head, shared->cold_from);

		fits = shared->tail - cold_start + total <=
			shared->ring_size - QUEUE_HOT_BYTES;
	}
	if (fits)
	{
		*was_empty = shared->nrecords == 0;
		for (i = 0; i < n; i++)
		{
			ring_write(shared->tail, recs[i], recs[i]->size);
			shared->tail += recs[i]->size;
		}
		shared->nrecords += n;
		pg_atomic_write_u64(&shared->depth, shared->nrecords);
	}
	LWLockRelease(shared->lock);
	return fits;
}

Size
QueuePeek(char *buf, Size bufsize, int *nrecords)
{
	uint64		pos;
	Size		used = 0;
	int			n = 0;

	LWLockAcquire(shared->lock, LW_SHARED);
	pos = shared->head;
	while (pos < shared->tail)
	{
		EffectRecord hdr;

		ring_read(pos, &hdr, sizeof(hdr));
		if (used + hdr.size > bufsize)
			break;
		ring_read(pos, buf + used, hdr.size);
		used += hdr.size;
		pos += hdr.size;
		n++;
	}
	LWLockRelease(shared->lock);
	*nrecords = n;
	return used;
}

void
QueueConsume(Size bytes, int nrecords)
{
	if (bytes == 0)
		return;
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	Assert(shared->head + bytes <= shared->tail);
	shared->head += bytes;
	shared->nrecords -= nrecords;
	pg_atomic_write_u64(&shared->depth, shared->nrecords);
	LWLockRelease(shared->lock);
}

/* Remember how far a pattern got, in its record at offset from the head. */
void
QueueSaveCursor(Size offset, uint64 cursor)
{
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	ring_write(shared->head + offset + offsetof(EffectRecord, cursor),
			   &cursor, sizeof(cursor));
	LWLockRelease(shared->lock);
}

/* ------------------------------------------------------------ consumer */

void
QueueAttachConsumer(void)
{
	SpinLockAcquire(&shared->mutex);
	shared->consumer_pid = MyProcPid;
	shared->consumer_latch = MyLatch;
	SpinLockRelease(&shared->mutex);
}

void
QueueDetachConsumer(void)
{
	if (shared == NULL)
		return;
	SpinLockAcquire(&shared->mutex);
	shared->consumer_pid = 0;
	shared->consumer_latch = NULL;
	SpinLockRelease(&shared->mutex);
}

/* The consumer's pid, 0 when none is attached (cache_ext.stats). */
pid_t
QueueConsumerPid(void)
{
	pid_t		pid;

	if (shared == NULL)
		return 0;
	SpinLockAcquire(&shared->mutex);
	pid = shared->consumer_pid;
	SpinLockRelease(&shared->mutex);
	return pid;
}

void
QueueWakeConsumer(void)
{
	Latch	   *latch;

	if (shared == NULL)
		return;
	SpinLockAcquire(&shared->mutex);
	latch = shared->consumer_latch;
	SpinLockRelease(&shared->mutex);
	if (latch)
		SetLatch(latch);
}

/* ---------------------------------------------- shared memory, state file */

static void
write_state_file(const char *state)
{
	FILE	   *f;

	f = AllocateFile(STATE_FILE ".tmp", PG_BINARY_W);
	if (f == NULL)
	{
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("cache_ext: could not write \"%s\": %m", STATE_FILE ".tmp")));
		return;
	}
	fprintf(f, "%s\n", state);
	if (FreeFile(f) != 0)
	{
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("cache_ext: could not write \"%s\": %m", STATE_FILE ".tmp")));
		return;
	}
	(void) durable_rename(STATE_FILE ".tmp", STATE_FILE, LOG);
}

/*
 * Postmaster exit (or crash reinitialisation, code != 0).  A clean stop
 * with nothing queued and no fallback owed leaves "clean"; anything else
 * leaves "running", which the next start reads as "effects may be lost".
 */
static void
queue_shmem_exit(int code, Datum arg)
{
	uint64		depth;

	if (code != 0 || shared == NULL)
		return;
	depth = pg_atomic_read_u64(&shared->depth);
	if (depth == 0 && !FallbackNeeded())
		write_state_file("clean");
	else
		ereport(LOG,
				(errmsg("cache_ext: %llu cache effects were still queued at shutdown",
						(unsigned long long) depth),
				 errdetail("Every namespace will be invalidated once Redis is reachable after the next start.")));
}

/*
 * Under AddinShmemInitLock (shared.c): set up the queue.  In the
 * postmaster, at the first start or after a crash: was the previous run's
 * queue lost?
 */
void
QueueSharedInit(void)
{
	bool		found;

	shared = ShmemInitStruct("cache_ext queue", QueueSharedSize(), &found);
	if (!found)
	{
		shared->lock = &(GetNamedLWLockTranche("cache_ext"))->lock;
		shared->ring_size = MAXALIGN((Size) cache_ext_queue_size * 1024);
		shared->head = shared->tail = shared->nrecords = 0;
		shared->cold_from = QUEUE_ALL_HOT;
		pg_atomic_init_u64(&shared->depth, 0);
		SpinLockInit(&shared->mutex);
		shared->consumer_pid = 0;
		shared->consumer_latch = NULL;
	}

	if (!IsUnderPostmaster && !found)
	{
		FILE	   *f = AllocateFile(STATE_FILE, PG_BINARY_R);
		char		line[64] = "";

		if (f != NULL)
		{
			if (fgets(line, sizeof(line), f) == NULL)
				line[0] = '\0';
			FreeFile(f);
			if (strncmp(line, "clean", 5) != 0)
			{
				FallbackRequest("PostgreSQL did not stop cleanly with an empty delivery queue (crash, immediate shutdown or effects still queued)");
				ereport(LOG,
						(errmsg("cache_ext: cache effects may have been lost by the previous run; every namespace will be invalidated once Redis is reachable")));
			}
		}
		write_state_file("running");
		on_shmem_exit(queue_shmem_exit, (Datum) 0);
	}
}

/* Define cache_ext.queue_size when preloading (_PG_init). */
void
QueueInit(void)
{
	/* a PGC_POSTMASTER setting can only be defined while preloading */
	if (!process_shared_preload_libraries_in_progress)
		return;
	DefineCustomIntVariable("cache_ext.queue_size",
							"Shared memory for effects waiting for the background worker.",
							"Retries and asynchronous hand-offs; when full, effects are "
							"dropped and every namespace is invalidated once Redis is back.",
							&cache_ext_queue_size,
							16 * 1024, 4 * 1024, 1024 * 1024,
							PGC_POSTMASTER,
							GUC_UNIT_KB,
							NULL, NULL, NULL);
}
