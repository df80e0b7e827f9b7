/*-------------------------------------------------------------------------
 *
 * counter_marks.c
 *	  The high-water marks of the counters (counters.h, CounterMark*): for
 *	  each counter key (the complete Redis key, prefix included), the
 *	  largest number this cluster handed out from it, by counter_next or by
 *	  the assign_number trigger (from Redis, or in PostgreSQL while Redis was
 *	  unreachable), and every explicit number assign_number saw.
 *
 *	  Why: a counter step's floor is the largest committed number (the
 *	  table's), which says nothing of numbers handed out and not committed
 *	  yet.  A Redis that goes back in time (a failover to a replica that
 *	  missed the last INCRs, a FLUSHALL, a restart without persistence)
 *	  would hand those out again, and one of the two inserts would fail on
 *	  the unique index.  Every allocation passes max(floor, mark) as the
 *	  script's floor instead, so it is above every number handed out before
 *	  it, committed or not.  The same closes the race after an outage: the
 *	  numbers PostgreSQL allocated while Redis was down are marks before the
 *	  counter is raised after their commit.
 *
 *	  The table: COUNTER_MARK_SLOTS slots of (64-bit hash of the key, mark),
 *	  open addressing over at most COUNTER_MARK_PROBES slots, lock-free
 *	  (a slot is claimed by compare-and-swap of its hash, a mark raised by a
 *	  compare-and-swap loop).  Two keys with the same 64-bit hash share a
 *	  mark: the lower one only skips numbers, never repeats one.  Slots are
 *	  never given back: when the probes of a key find no free slot (more
 *	  than about COUNTER_MARK_SLOTS keys since the server started), that key
 *	  is not tracked and keeps the behaviour of a counter without a mark
 *	  (the race closed only by the unique index), with a LOG line once per
 *	  process.  The marks live as long as the postmaster: a restart of
 *	  PostgreSQL ends every transaction holding an uncommitted number, so the
 *	  table's floor covers all that is left.
 *
 *	  In shared memory when preloaded (shared.c); otherwise in this backend,
 *	  which then protects only against its own uncommitted numbers.
 *
 *-------------------------------------------------------------------------
 */
#include "prelude.h"

#include "common/hashfn.h"
#include "port/atomics.h"
#include "storage/shmem.h"

#include "counters.h"

#define COUNTER_MARK_SLOTS	16384	/* a power of two */
#define COUNTER_MARK_PROBES 64

typedef struct CounterMarkSlot
{
	pg_atomic_uint64 hash;		/* 0: free */
	pg_atomic_uint64 mark;		/* largest number handed out; encoded, 0: none */
	pg_atomic_uint64 reserved;	/* largest number PostgreSQL allocated itself */
} CounterMarkSlot;

typedef struct CounterMarksShared
{
	CounterMarkSlot slots[COUNTER_MARK_SLOTS];
} CounterMarksShared;

static CounterMarksShared local_marks;	/* without shared memory */
static CounterMarksShared *marks = NULL;
static bool full_reported = false;

Size
CounterMarksSharedSize(void)
{
	return MAXALIGN(sizeof(CounterMarksShared));
}

static void
marks_zero(CounterMarksShared *m)
{
	for (int i = 0; i < COUNTER_MARK_SLOTS; i++)
	{
		pg_atomic_init_u64(&m->slots[i].hash, 0);
		pg_atomic_init_u64(&m->slots[i].mark, 0);
		pg_atomic_init_u64(&m->slots[i].reserved, 0);
	}
}

/* Under AddinShmemInitLock (shared.c). */
void
CounterMarksSharedInit(void)
{
	bool		found;
	CounterMarksShared *m = ShmemInitStruct("cache_ext counter marks",
											sizeof(CounterMarksShared), &found);

	if (!found)
		marks_zero(m);
	marks = m;
}

/* int64 order as uint64 order: flip the sign bit (INT64_MIN is "none"). */
static inline uint64
encode(int64 value)
{
	return ((uint64) value) ^ (UINT64CONST(1) << 63);
}

static inline int64
decode(uint64 stored)
{
	return (int64) (stored ^ (UINT64CONST(1) << 63));
}

/* The key's slot, claimed when 'claim'; NULL when none. */
static CounterMarkSlot *
find_slot(const char *key, size_t keylen, bool claim)
{
	uint64		h = hash_bytes_extended((const unsigned char *) key, (int) keylen, 0);

	if (marks == NULL)
	{
		/* not preloaded: this backend's own table (zeroed pages) */
		marks_zero(&local_marks);
		marks = &local_marks;
	}
	if (h == 0)
		h = 1;
	for (int i = 0; i < COUNTER_MARK_PROBES; i++)
	{
		CounterMarkSlot *slot = &marks->slots[(h + i) & (COUNTER_MARK_SLOTS - 1)];
		uint64		seen = pg_atomic_read_u64(&slot->hash);

		if (seen == h)
			return slot;
		if (seen != 0)
			continue;
		if (!claim)
			return NULL;
		if (pg_atomic_compare_exchange_u64(&slot->hash, &seen, h) || seen == h)
			return slot;
	}
	if (claim && !full_reported)
	{
		full_reported = true;
		ereport(LOG,
				(errmsg("cache_ext: the table of counter high-water marks is full; counter \"%.*s\" is not tracked",
						(int) Min(keylen, 200), key),
				 errdetail("Its numbers are protected by the table's floor and the unique index only: after a Redis failover, FLUSHALL or restart, an insert holding an uncommitted number may fail with unique_violation."),
				 errhint("Restart PostgreSQL to empty the table (it holds %d keys).",
						 COUNTER_MARK_SLOTS)));
	}
	return NULL;
}

static int64
slot_get(pg_atomic_uint64 *v)
{
	uint64		stored = pg_atomic_read_u64(v);

	return stored == 0 ? PG_INT64_MIN : decode(stored);
}

/* Raise *v to value; true when it was raised (or already there). */
static void
slot_raise(pg_atomic_uint64 *v, int64 value)
{
	uint64		want = encode(value);
	uint64		cur = pg_atomic_read_u64(v);

	while (cur < want && !pg_atomic_compare_exchange_u64(v, &cur, want))
		;
}

int64
CounterMarkFloor(const char *key, size_t keylen, int64 floor, int64 ceiling)
{
	CounterMarkSlot *slot = find_slot(key, keylen, false);
	int64		mark;

	if (slot == NULL)
		return floor;
	mark = Max(slot_get(&slot->mark), slot_get(&slot->reserved));
	/* a mark at the ceiling came from another table sharing the key */
	if (mark > floor && mark < ceiling)
		return mark;
	return floor;
}

/*
 * Two allocators hand out numbers from one key: Redis (its counter) and
 * PostgreSQL (floor + 1 while Redis is unreachable).  Right after a
 * failover both may work at once, from the same floor, and a stale Redis
 * can answer a number PostgreSQL just took.  The two publish and check in
 * opposite orders, with full barriers in between (the compare-and-swaps):
 * Redis's number is raised into 'mark', then 'reserved' is read;
 * PostgreSQL's number is raised into 'reserved', then 'mark' is read.
 * Whichever reads second sees the other's number, so the two never both
 * keep the same one: the loser allocates again above it.
 */
bool
CounterMarkTake(const char *key, size_t keylen, int64 value)
{
	CounterMarkSlot *slot = find_slot(key, keylen, true);

	if (slot == NULL)
		return true;
	slot_raise(&slot->mark, value);
	pg_memory_barrier();
	return slot_get(&slot->reserved) < value;
}

int64
CounterMarkReserve(const char *key, size_t keylen, int64 floor, int64 ceiling)
{
	CounterMarkSlot *slot = find_slot(key, keylen, true);

	if (slot == NULL)
		return floor < ceiling ? floor + 1 : ceiling;
	for (;;)
	{
		uint64		cur = pg_atomic_read_u64(&slot->reserved);
		int64		base = Max(floor, Max(slot_get(&slot->mark),
										  cur == 0 ? PG_INT64_MIN : decode(cur)));
		int64		r;

		if (base >= ceiling)
			return ceiling;		/* used up: the caller reports it */
		r = base + 1;
		if (!pg_atomic_compare_exchange_u64(&slot->reserved, &cur, encode(r)))
			continue;
		pg_memory_barrier();
		if (slot_get(&slot->mark) < r)
			return r;
	}
}

void
CounterMarkRaise(const char *key, size_t keylen, int64 value)
{
	CounterMarkSlot *slot = find_slot(key, keylen, true);

	if (slot != NULL)
		slot_raise(&slot->mark, value);
}
