/*-------------------------------------------------------------------------
 *
 * sanitizer_shim.c
 *	  Preloaded first (LD_PRELOAD, before the sanitizer runtime) into the
 *	  sandbox's PostgreSQL when cache_ext is built with CACHE_EXT_SANITIZE;
 *	  test/sandbox.sh compiles it.  PostgreSQL itself is not instrumented.
 *
 *	  Why each piece exists:
 *	  - swift_demangle: ASan initialises on the first malloc, which in
 *		Debian's postgres happens inside libgpg-error's constructor
 *		(bindtextdomain); there the runtime's lookup of swift_demangle
 *		never returns.  When a preloaded object defines the symbol the
 *		lookup is satisfied and postgres starts.
 *	  - __asan_default_options / __ubsan_default_options: backends
 *		overwrite their environment area with the process title, and UBSan
 *		(loaded with cache_ext.so, possibly in a backend) reads its options
 *		from /proc/self/environ; compiled-in defaults do not depend on it.
 *		ASAN_OPTIONS given to the postmaster at start still override them
 *		(test/run_tests.sh uses that for one test).  The runtime finds these
 *		functions only when this object comes before it in LD_PRELOAD,
 *		hence verify_asan_link_order=0.
 *
 *-------------------------------------------------------------------------
 */
#include <stddef.h>

char	   *swift_demangle(const char *mangled, size_t len, char *out,
						   size_t *outlen, unsigned flags);
const char *__asan_default_options(void);
const char *__ubsan_default_options(void);

char *
swift_demangle(const char *mangled, size_t len, char *out, size_t *outlen,
			   unsigned flags)
{
	return NULL;				/* nothing to demangle: no Swift here */
}

/*
 * detect_leaks=0: a backend exits without freeing what it still holds;
 * allocator_may_return_null=1: PostgreSQL handles a failed malloc as "out
 * of memory" (an ERROR), which is what we test, not an abort;
 * allow_addr2line=1: no llvm-symbolizer on Debian, binutils' addr2line
 * gives file:line in the reports.
 */
const char *
__asan_default_options(void)
{
	return "detect_leaks=0:verify_asan_link_order=0:allocator_may_return_null=1:"
		"allow_addr2line=1:print_summary=1";
}

/* Report every finding with its stack and go on (the scan fails the run). */
const char *
__ubsan_default_options(void)
{
	return "print_stacktrace=1:report_error_type=1:halt_on_error=0:"
		"allow_addr2line=1:print_summary=1";
}
