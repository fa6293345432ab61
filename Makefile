# ChainVote build. `make` builds the library, the CLI, the miner and the FastCGI programs;
# `make test` installs what is missing, builds, and runs every test twice: a release
# build and an ASan+UBSan build.

CC := gcc
VECTORS ?= ../shared/vectors
PORT ?= 8080
DATA ?= ./var

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-missing-field-initializers
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -g -Ilib -pthread $(WARN) -MMD -MP
REL_CFLAGS := $(BASE_CFLAGS) -O2 -fstack-protector-strong -D_FORTIFY_SOURCE=2
SAN_CFLAGS := $(BASE_CFLAGS) -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDLIBS := -ldb -ljson-c -lcrypto -pthread

BUILD ?= build
LIB_SRC ?= $(sort $(wildcard lib/*.c))
CMD_SRC ?= $(sort $(wildcard tools/cmd_*.c))
TOOLS := chainvote miner
CGI := $(patsubst cgi-bin/%.c,%,$(sort $(wildcard cgi-bin/*.c)))
TESTS := $(patsubst tests/%.c,%,$(sort $(wildcard tests/test_*.c)))

# Each build variant V (rel, san) puts objects and binaries under build/V/.
define variant
$(BUILD)/$(1)/obj/%.o: %.c
	@mkdir -p $$(dir $$@)
	$$(CC) $(2) -c $$< -o $$@
$(BUILD)/$(1)/libchainvote.a: $$(LIB_SRC:%.c=$(BUILD)/$(1)/obj/%.o)
	@rm -f $$@
	ar rcs $$@ $$^
$(BUILD)/$(1)/bin/chainvote: $(BUILD)/$(1)/obj/tools/chainvote.o $$(CMD_SRC:%.c=$(BUILD)/$(1)/obj/%.o) $(BUILD)/$(1)/libchainvote.a
	@mkdir -p $$(dir $$@)
	$$(CC) $(2) $$^ $$(LDLIBS) -lcurl -o $$@
$(BUILD)/$(1)/bin/%: $(BUILD)/$(1)/obj/tools/%.o $(BUILD)/$(1)/libchainvote.a
	@mkdir -p $$(dir $$@)
	$$(CC) $(2) $$^ $$(LDLIBS) -lcurl -o $$@
$(BUILD)/$(1)/cgi/%.fcgi: $(BUILD)/$(1)/obj/cgi-bin/%.o $(BUILD)/$(1)/libchainvote.a
	@mkdir -p $$(dir $$@)
	$$(CC) $(2) $$^ $$(LDLIBS) -lfcgi -o $$@
$(BUILD)/$(1)/tests/%: $(BUILD)/$(1)/obj/tests/%.o $(BUILD)/$(1)/libchainvote.a
	@mkdir -p $$(dir $$@)
	$$(CC) $(2) $$^ $$(LDLIBS) -o $$@
$(1)-all: $$(TOOLS:%=$(BUILD)/$(1)/bin/%) $$(CGI:%=$(BUILD)/$(1)/cgi/%.fcgi) $$(TESTS:%=$(BUILD)/$(1)/tests/%)
endef
$(eval $(call variant,rel,$(REL_CFLAGS)))
$(eval $(call variant,san,$(SAN_CFLAGS)))

.PHONY: all deps test test-rel test-san run stop clean format bench
.SECONDARY:

# bin/ and cgi-bin/*.fcgi are the release build, where users and nginx expect them.
all: rel-all
	@mkdir -p bin
	@for t in $(TOOLS); do ln -sf ../$(BUILD)/rel/bin/$$t bin/$$t; done
	@for c in $(CGI); do ln -sf ../$(BUILD)/rel/cgi/$$c.fcgi cgi-bin/$$c.fcgi; done

deps:
	@sh tools/deps.sh

test: deps
	@$(MAKE) --no-print-directory all san-all
	@BUILD=$(BUILD) sh tests/run.sh "$(VECTORS)"

run: deps
	@$(MAKE) --no-print-directory all
	@sh tools/run.sh start "$(PORT)" "$(DATA)"

stop:
	@sh tools/run.sh stop "$(PORT)" "$(DATA)"

format:
	clang-format -i lib/*.[ch] tools/*.c cgi-bin/*.c tests/*.[ch]

clean:
	rm -rf $(BUILD) bin cgi-bin/*.fcgi

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
