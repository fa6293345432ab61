/* Shared by the libFuzzer targets in this directory: an invariant check that aborts, so
 * that libFuzzer keeps the input that broke it, and the json-c text form the round-trip
 * checks feed back to the strict parser. */
#ifndef CV_FUZZ_H
#define CV_FUZZ_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "json.h"

/* A broken invariant is a bug like a crash: report it and abort. */
#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__,       \
			        #cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* Serialises o as the services do and parses the text back strictly: what the library
 * writes must be what it reads. Returns the new object (caller puts) or NULL when o is
 * NULL; a refusal of the library's own output is a failed invariant. */
static inline json_object *fuzz_reparse(json_object *o)
{
	json_object *again = NULL;
	const char *text;

	if (o == NULL)
		return NULL;
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	                                             JSON_C_TO_STRING_NOSLASHESCAPE);
	FUZZ_CHECK(text != NULL);
	FUZZ_CHECK(cv_json_parse(text, strlen(text), &again) == CV_OK);
	return again;
}

#endif
