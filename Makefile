# cache_ext: PGXS build.
#
# The install script of the current version is assembled from the
# per-concern fragments in sql/install/ (sorted by name), so each subsystem
# keeps its SQL beside the others without one very long hand-edited file.
# Released versions are frozen: sql/cache_ext--OLD.sql is the install script
# as it was released, and sql/cache_ext--OLD--NEW.sql updates an install of
# it.  Every change to the SQL surface goes into a fragment AND into the
# upgrade script to the current version (test/fault_upgrade.sh compares an
# updated install with a fresh one).

EXTENSION = cache_ext
EXTVERSION = 0.2.0

MODULE_big = cache_ext
OBJS = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))

DATA_built = $(EXTENSION)--$(EXTVERSION).sql
DATA = $(wildcard sql/$(EXTENSION)--*.sql)
INSTALL_FRAGMENTS = $(sort $(wildcard sql/install/*.sql))

SHLIB_LINK = -lhiredis
PG_CPPFLAGS = -Isrc
# -Wno-unused-parameter: PostgreSQL's own headers (bufpage.h) trip it.
PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter

# Regression tests (sql/NAME.sql, expected/NAME.out).  They need a running
# server with cache_ext preloaded and a Redis: run them through
# test/run_tests.sh, which starts both.
# One line per subsystem, so each can grow without touching the others.
REGRESS_FOUNDATION = setup api connection errors parity privileges

REGRESS_INVALIDATION = delivery_basic delivery_prepared delivery_prefix invalidation_templates invalidation_rows invalidation_statement invalidation_truncate invalidation_functions invalidation_usage invalidation_patterns

REGRESS_COUNTERS = counters_functions counters_trigger counters_errors counters_gapless

REGRESS_PROFILE = profile_flags profile_errors profile_columns profile_backfill profile_drop

REGRESS_UPGRADE = oldextversions

REGRESS = $(REGRESS_FOUNDATION) $(REGRESS_INVALIDATION) $(REGRESS_COUNTERS) $(REGRESS_PROFILE) $(REGRESS_UPGRADE)
CONTRIB_TESTDB = cache_ext_regress
REGRESS_OPTS = --inputdir=.

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(EXTENSION)--$(EXTVERSION).sql: $(INSTALL_FRAGMENTS)
	cat $^ > $@

# PGXS knows no header dependencies: rebuild every object when a header of
# ours changes (the headers define shared-memory layouts and enums that all
# files must agree on).
$(OBJS): $(wildcard src/*.h)
