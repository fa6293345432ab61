/* A minimal test harness: TEST functions, CHECK assertions that record and go on, and a
 * closing line "name: N passed, N failed" that tests/run.sh adds up. */
#ifndef CV_CHECK_H
#define CV_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failed_now, check_passed, check_failed;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
			check_failed_now = 1;                                                      \
		}                                                                                  \
	} while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
	do {                                                                                       \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b);                    \
		if (check_a_ != check_b_) {                                                        \
			fprintf(stderr, "  %s:%d: %s == %lld, expected %s == %lld\n", __FILE__,    \
			        __LINE__, #a, check_a_, #b, check_b_);                             \
			check_failed_now = 1;                                                      \
		}                                                                                  \
	} while (0)

#define CHECK_STR(a, b)                                                                            \
	do {                                                                                       \
		const char *check_a_ = (a), *check_b_ = (b);                                       \
		if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_) != 0) {                   \
			fprintf(stderr, "  %s:%d: %s is \"%s\", expected \"%s\"\n", __FILE__,      \
			        __LINE__, #a, check_a_ ? check_a_ : "(null)",                      \
			        check_b_ ? check_b_ : "(null)");                                   \
			check_failed_now = 1;                                                      \
		}                                                                                  \
	} while (0)

#define RUN(test)                                                                                  \
	do {                                                                                       \
		check_failed_now = 0;                                                              \
		test();                                                                            \
		if (check_failed_now) {                                                            \
			check_failed++;                                                            \
			printf("not ok - %s\n", #test);                                            \
		} else {                                                                           \
			check_passed++;                                                            \
			printf("ok - %s\n", #test);                                                \
		}                                                                                  \
		fflush(stdout);                                                                    \
	} while (0)

#define CHECK_DONE(suite)                                                                          \
	(printf("%s: %d passed, %d failed\n", suite, check_passed, check_failed),                  \
	 check_failed ? 1 : 0)

#endif
