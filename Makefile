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

# OpenSSL for rediss:: (src/transport.c); getaddrinfo_a is in glibc itself
# since 2.34 (bookworm has 2.36).
SHLIB_LINK = -lhiredis -lssl -lcrypto
PG_CPPFLAGS = -Isrc
# -Wno-unused-parameter: PostgreSQL's own headers (bufpage.h) trip it.
PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter

# Checked builds (test/run_tests.sh and CI use them; see docs/testing.md):
#   CACHE_EXT_SANITIZE=address,undefined  instruments cache_ext (not
#     PostgreSQL) with the sanitizers named; test/sandbox.sh then preloads
#     their runtime into the server.  -fno-wrapv undoes PostgreSQL's
#     -fwrapv, which would hide signed overflow from UBSan.
#   CACHE_EXT_WERROR=1  turns every warning of PostgreSQL's own flags
#     (pg_config --cflags) and ours into an error, as CI builds.
# The chosen flavour is recorded in .build-flavor, and every object
# depends on it, so switching flavours rebuilds instead of mixing objects.
ifneq ($(strip $(CACHE_EXT_SANITIZE)),)
PG_CFLAGS += -fsanitize=$(CACHE_EXT_SANITIZE) -fno-omit-frame-pointer -fno-wrapv
SHLIB_LINK += -fsanitize=$(CACHE_EXT_SANITIZE)
endif
ifeq ($(CACHE_EXT_WERROR),1)
PG_CFLAGS += -Werror
endif
BUILD_FLAVOR := sanitize=$(strip $(CACHE_EXT_SANITIZE)) werror=$(CACHE_EXT_WERROR)
ifneq ($(BUILD_FLAVOR),$(shell cat .build-flavor 2>/dev/null))
$(shell echo '$(BUILD_FLAVOR)' > .build-flavor)
endif
EXTRA_CLEAN = .build-flavor

# Tests, the PGXS way: `make installcheck` runs the regression tests
# (sql/NAME.sql, expected/NAME.out) and the isolation specs
# (test/isolation/specs, test/isolation/expected) against a running server
# and a Redis: test/run_tests.sh (or test/sandbox.sh -- make installcheck)
# starts both, with cache_ext preloaded.  PRELOADED=no is the run on a
# server that does not preload the library: its first test,
# setup_nopreload, fails unless that is so (setup fails otherwise), and the
# isolation specs are left to the preloaded run.
# One line per subsystem, so each can grow without touching the others.
PRELOADED ?= yes
ifeq ($(PRELOADED),no)
REGRESS_SETUP = setup_nopreload
else
REGRESS_SETUP = setup
endif

REGRESS_FOUNDATION = $(REGRESS_SETUP) api connection errors parity privileges security_schema

REGRESS_INVALIDATION = delivery_basic delivery_prepared delivery_prefix delivery_records invalidation_templates invalidation_rows invalidation_statement invalidation_truncate invalidation_functions invalidation_usage invalidation_patterns invalidation_memo invalidation_before

REGRESS_COUNTERS = counters_functions counters_trigger counters_errors counters_gapless security_counters

REGRESS_PROFILE = profile_flags profile_errors profile_columns profile_backfill security_profile profile_drop

# Last: they create and drop roles, flush Redis and run the fallback.
REGRESS_SECURITY = security_capture security_templates security_fallback security_poison security_grants

REGRESS_UPGRADE = oldextversions

REGRESS = $(REGRESS_FOUNDATION) $(REGRESS_INVALIDATION) $(REGRESS_COUNTERS) $(REGRESS_PROFILE) $(REGRESS_UPGRADE) $(REGRESS_SECURITY)
CONTRIB_TESTDB = cache_ext_regress
REGRESS_OPTS = --inputdir=.

ifneq ($(PRELOADED),no)
ISOLATION = $(sort $(notdir $(basename $(wildcard test/isolation/specs/*.spec))))
endif
# (a later --inputdir wins over the one PGXS passes)
ISOLATION_OPTS = --inputdir=test/isolation --load-extension=cache_ext

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# Export only what PostgreSQL looks up by name (the magic block, _PG_init,
# the SQL-callable functions and their pg_finfo_ records, the workers'
# mains, all marked PGDLLEXPORT by fmgr.h or by us), so that no internal
# symbol of ours binds to, or is bound by, a same-named one of the server
# or another module.  PostgreSQL 16 and later do this for every module
# (CFLAGS_SL_MODULE); on 15, the same by hand.  test/check_exports.sh
# checks the result.
ifeq ($(strip $(CFLAGS_SL_MODULE)),)
override CFLAGS += -fvisibility=hidden
override CPPFLAGS += '-DPGDLLEXPORT=__attribute__((visibility("default")))'
endif

$(EXTENSION)--$(EXTVERSION).sql: $(INSTALL_FRAGMENTS)
	cat $^ > $@

# PGXS knows no header dependencies: rebuild every object when a header of
# ours changes (the headers define shared-memory layouts and enums that all
# files must agree on).
$(OBJS): $(wildcard src/*.h) .build-flavor
