/*-------------------------------------------------------------------------
 *
 * counter_marks.c
 *	  The numbers in flight (counters.h, CounterMark*): for each backend,
 *	  the largest number its current transaction took from each counter key
 *	  (the complete Redis key, prefix included), by counter_next or by the
 *	  assign_number trigger (from Redis, or in PostgreSQL while Redis was
 *	  unreachable), and the explicit numbers assign_number saw.
 *
 *	  Why: a counter step's floor is the largest committed number (the
 *	  table's), which says nothing of numbers handed out and not committed
 *	  yet.  A Redis that goes back in time (a failover to a replica that
 *	  missed the last INCRs, a FLUSHALL, a restart without persistence)
 *	  would hand those out again, and one of the two inserts would fail on
 *	  the unique index.  Every allocation passes max(table floor, numbers in
 *	  flight) as the script's floor instead.  Once a transaction ends, its
 *	  numbers are committed (and the table's floor covers them) or gone (and
 *	  free again), so its entries are cleared at commit and abort: nothing
 *	  outlives the transactions, and a table emptied and numbered again
 *	  starts from its floor as before.
 *
 *	  Order makes it exact: an allocator reads the numbers in flight BEFORE
 *	  its floor query takes its snapshot, and a backend clears its entries
 *	  only in its commit callback, after its commit became visible: a number
 *	  is thus either seen in flight or seen committed.
 *
 *	  Two allocators may work at once right after an outage or a failover:
 *	  Redis (its counter, possibly stale) and PostgreSQL (floor + 1 while
 *	  Redis is unreachable).  Each publishes its number, then (after a full
 *	  barrier) looks at the other kind's: Redis's number is published, then
 *	  the PostgreSQL-allocated ones are read (CounterMarkTake); PostgreSQL's
 *	  number is published, then every other one is read
 *	  (CounterMarkReserve).  Whichever reads second sees the other's number,
 *	  so the two never both keep the same one: the loser allocates again
 *	  above it.  One case is left: PostgreSQL allocating, committing and
 *	  clearing its entry entirely between a Redis allocation's floor query
 *	  and its check.  A count of PostgreSQL's allocations closes it: a Redis
 *	  allocation reads it before anything else (CounterMarkSequence) and
 *	  keeps its number only if it did not change (CounterMarkTake); the
 *	  count is raised after PostgreSQL's number is published.  PostgreSQL
 *	  allocates only while Redis is unreachable, so the retries this costs
 *	  happen at the end of an outage only.  The worker raises the count too
 *	  before it announces a new primary (CounterMarkNewAllocator): sessions
 *	  still on the old one, writable until the sentinels demote it, and
 *	  sessions already on the new one are then two Redis allocators at
 *	  once, and every Redis allocation begun before the announcement
 *	  allocates again, on the new primary, above the numbers in flight.
 *
 *	  Layout: one BackendMarks per PGPROC slot in shared memory, written by
 *	  its owner only (plain atomic writes), read by every allocator: up to
 *	  MARKS_PER_XACT keys per transaction, and beyond that a catch-all
 *	  maximum that applies to every key (numbers skipped, never repeated).
 *	  An owner publishes an entry's values, then its key, then the count;
 *	  readers read the count, the key, the values, with barriers between.
 *	  Reading costs a pass over the backends (a count of zero skips one).
 *
 *	  Not covered: numbers of a PREPAREd transaction (cleared at PREPARE),
 *	  numbers the application INCRs itself, and, without preloading (no
 *	  shared memory), other backends' numbers altogether.
 *
 *-------------------------------------------------------------------------
 */
#include "prelude.h"

#include "access/twophase.h"
#include "access/xact.h"
#include "common/hashfn.h"
#include "port/atomics.h"
#include "storage/proc.h"
#include "storage/shmem.h"

#include "counters.h"

#define MARKS_PER_XACT 8

typedef struct MarkEntry
{
	pg_atomic_uint64 hash;		/* of the key; 0: none */
	pg_atomic_uint64 taken;		/* largest number taken (encoded; 0: none) */
	pg_atomic_uint64 pg;		/* largest allocated by PostgreSQL itself */
} MarkEntry;

typedef struct BackendMarks
{
	pg_atomic_uint32 count;		/* entries of the current transaction */
	pg_atomic_uint64 any_taken; /* catch-all beyond MARKS_PER_XACT keys */
	pg_atomic_uint64 any_pg;
	MarkEntry	entry[MARKS_PER_XACT];
} BackendMarks;

/* PostgreSQL allocations so far (CounterMarkSequence), then the backends */
typedef struct MarksHeader
{
	pg_atomic_uint64 pg_allocations;
} MarksHeader;

static MarksHeader local_header;
static MarksHeader *header = &local_header;
static BackendMarks local_marks;	/* without shared memory */
static BackendMarks *all_marks = NULL;
static int	nbackends = 0;
static BackendMarks *mine = NULL;
static bool callback_registered = false;
static bool dirty = false;

static int
slots_needed(void)
{
	return MaxBackends + NUM_AUXILIARY_PROCS + max_prepared_xacts;
}

Size
CounterMarksSharedSize(void)
{
	return add_size(MAXALIGN(sizeof(MarksHeader)),
					mul_size(slots_needed(), sizeof(BackendMarks)));
}

static void
marks_zero(BackendMarks *m)
{
	pg_atomic_init_u32(&m->count, 0);
	pg_atomic_init_u64(&m->any_taken, 0);
	pg_atomic_init_u64(&m->any_pg, 0);
	for (int i = 0; i < MARKS_PER_XACT; i++)
	{
		pg_atomic_init_u64(&m->entry[i].hash, 0);
		pg_atomic_init_u64(&m->entry[i].taken, 0);
		pg_atomic_init_u64(&m->entry[i].pg, 0);
	}
}

/* Under AddinShmemInitLock (shared.c). */
void
CounterMarksSharedInit(void)
{
	bool		found;
	int			n = slots_needed();
	char	   *base = ShmemInitStruct("cache_ext numbers in flight",
									   CounterMarksSharedSize(), &found);
	BackendMarks *m = (BackendMarks *) (base + MAXALIGN(sizeof(MarksHeader)));

	if (!found)
	{
		pg_atomic_init_u64(&((MarksHeader *) base)->pg_allocations, 0);
		for (int i = 0; i < n; i++)
			marks_zero(&m[i]);
	}
	header = (MarksHeader *) base;
	all_marks = m;
	nbackends = n;
}

/* int64 order as uint64 order: flip the sign bit (0 is "none"). */
static inline uint64
encode(int64 value)
{
	return ((uint64) value) ^ (UINT64CONST(1) << 63);
}

static inline int64
decode(uint64 stored)
{
	return stored == 0 ? PG_INT64_MIN : (int64) (stored ^ (UINT64CONST(1) << 63));
}

static uint64
key_hash(const char *key, size_t keylen)
{
	uint64		h = hash_bytes_extended((const unsigned char *) key, (int) keylen, 0);

	return h == 0 ? 1 : h;
}

/* A transaction ended: its numbers are committed or gone. */
static void
marks_xact_callback(XactEvent event, void *arg)
{
	if (!dirty || mine == NULL)
		return;
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			pg_atomic_write_u32(&mine->count, 0);
			pg_atomic_write_u64(&mine->any_taken, 0);
			pg_atomic_write_u64(&mine->any_pg, 0);
			dirty = false;
			break;
		default:
			break;
	}
}

static void
ensure_mine(void)
{
	if (mine != NULL)
		return;
	if (all_marks != NULL && MyProc != NULL &&
		MyProcSlotNumber() >= 0 && MyProcSlotNumber() < nbackends)
		mine = &all_marks[MyProcSlotNumber()];
	else
	{
		marks_zero(&local_marks);
		mine = &local_marks;
	}
	marks_zero(mine);
	if (!callback_registered)
	{
		RegisterXactCallback(marks_xact_callback, NULL);
		callback_registered = true;
	}
}

static void
raise_to(pg_atomic_uint64 *v, uint64 want)
{
	/* the owner is the only writer */
	if (pg_atomic_read_u64(v) < want)
		pg_atomic_write_u64(v, want);
}

/* Publish a number of this transaction; 'pg' for PostgreSQL's own. */
static void
publish(uint64 h, int64 value, bool pg)
{
	uint64		want = encode(value);
	uint32		n;

	ensure_mine();
	dirty = true;
	n = pg_atomic_read_u32(&mine->count);
	for (uint32 i = 0; i < n; i++)
	{
		if (pg_atomic_read_u64(&mine->entry[i].hash) == h)
		{
			raise_to(&mine->entry[i].taken, want);
			if (pg)
				raise_to(&mine->entry[i].pg, want);
			pg_memory_barrier();
			return;
		}
	}
	if (n < MARKS_PER_XACT)
	{
		MarkEntry  *e = &mine->entry[n];

		pg_atomic_write_u64(&e->taken, want);
		pg_atomic_write_u64(&e->pg, pg ? want : 0);
		pg_write_barrier();
		pg_atomic_write_u64(&e->hash, h);
		pg_write_barrier();
		pg_atomic_write_u32(&mine->count, n + 1);
	}
	else
	{
		/* more keys than entries: a maximum for every key */
		raise_to(&mine->any_taken, want);
		if (pg)
			raise_to(&mine->any_pg, want);
	}
	pg_memory_barrier();
}

/*
 * The largest number in flight for the key in the backends' transactions
 * (but skip's): taken by anyone, or only those PostgreSQL allocated.
 */
static int64
in_flight(uint64 h, bool pg_only, const BackendMarks *skip)
{
	uint64		best = 0;
	BackendMarks *base = all_marks != NULL ? all_marks : &local_marks;
	int			n = all_marks != NULL ? nbackends : 1;

	pg_memory_barrier();
	for (int b = 0; b < n; b++)
	{
		BackendMarks *m = &base[b];
		uint32		count;
		uint64		v;

		if (m == skip)
			continue;
		count = pg_atomic_read_u32(&m->count);
		v = pg_atomic_read_u64(pg_only ? &m->any_pg : &m->any_taken);
		best = Max(best, v);
		if (count == 0)
			continue;
		pg_read_barrier();
		for (uint32 i = 0; i < count && i < MARKS_PER_XACT; i++)
		{
			if (pg_atomic_read_u64(&m->entry[i].hash) != h)
				continue;
			pg_read_barrier();
			v = pg_atomic_read_u64(pg_only ? &m->entry[i].pg : &m->entry[i].taken);
			best = Max(best, v);
		}
	}
	return decode(best);
}

int64
CounterMarkInFlight(const char *key, size_t keylen, int64 ceiling)
{
	int64		v = in_flight(key_hash(key, keylen), false, NULL);

	/* a number at the ceiling came from another table sharing the key */
	return v < ceiling ? v : PG_INT64_MIN;
}

uint64
CounterMarkSequence(void)
{
	pg_memory_barrier();
	return pg_atomic_read_u64(&header->pg_allocations);
}

bool
CounterMarkTake(const char *key, size_t keylen, int64 value, uint64 sequence)
{
	uint64		h = key_hash(key, keylen);

	publish(h, value, false);
	return in_flight(h, true, mine) < value &&
		pg_atomic_read_u64(&header->pg_allocations) == sequence;
}

int64
CounterMarkReserve(const char *key, size_t keylen, int64 floor, int64 ceiling)
{
	uint64		h = key_hash(key, keylen);

	for (;;)
	{
		int64		base = Max(floor, CounterMarkInFlight(key, keylen, ceiling));
		int64		r;

		/* used up: base + 1, which the caller reports as out of range */
		if (base >= ceiling)
			return base == PG_INT64_MAX ? base : base + 1;
		r = base + 1;
		publish(h, r, true);
		if (in_flight(h, false, mine) < r)
		{
			/* after the number is published: see CounterMarkSequence */
			pg_atomic_fetch_add_u64(&header->pg_allocations, 1);
			return r;
		}
		floor = r;
	}
}

void
CounterMarkNewAllocator(void)
{
	/* a full barrier: nothing published before it is read after it */
	pg_atomic_fetch_add_u64(&header->pg_allocations, 1);
}

void
CounterMarkRaise(const char *key, size_t keylen, int64 value)
{
	publish(key_hash(key, keylen), value, false);
}
