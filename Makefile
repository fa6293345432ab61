# ChainVote build. `make` builds the library, the CLI, the miner and the FastCGI programs;
# `make test` installs what is missing, builds, and runs every test twice: a release
# build and an ASan+UBSan build.

.DEFAULT_GOAL := all

CC := gcc
VECTORS ?= ../shared/vectors
PORT ?= 8080
DATA ?= ./var

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-missing-field-initializers
# lib/ in its layers: the chain format and rules, the store, the FastCGI service, the
# HTTP client. Each layer's headers are included by name.
LIB_LAYERS := chain store service client
LIB_INC := $(LIB_LAYERS:%=-Ilib/%)
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -g $(LIB_INC) -pthread $(WARN) -MMD -MP
REL_CFLAGS := $(BASE_CFLAGS) -O2 -fstack-protector-strong -D_FORTIFY_SOURCE=2
SAN_CFLAGS := $(BASE_CFLAGS) -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDLIBS := -ldb -ljson-c -lcrypto -lz -pthread

BUILD ?= build
LIB_SRC ?= $(sort $(wildcard lib/*/*.c))
CMD_SRC ?= $(sort $(wildcard tools/cmd_*.c))
# Shipped programs are in tools/; the bench and test helpers (load generator, ceilings,
# test signer) in tools/dev/ are built beside them but neither linked into bin/ nor
# installed.
TOOLS := $(filter-out cmd_%,$(patsubst tools/%.c,%,$(wildcard tools/*.c)))
DEV_TOOLS := $(patsubst tools/dev/%.c,%,$(wildcard tools/dev/*.c))
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
$(BUILD)/$(1)/bin/%: $(BUILD)/$(1)/obj/tools/dev/%.o $(BUILD)/$(1)/libchainvote.a
	@mkdir -p $$(dir $$@)
	$$(CC) $(2) $$^ $$(LDLIBS) -lcurl -o $$@
$(BUILD)/$(1)/cgi/%.fcgi: $(BUILD)/$(1)/obj/cgi-bin/%.o $(BUILD)/$(1)/libchainvote.a
	@mkdir -p $$(dir $$@)
	$$(CC) $(2) $$^ $$(LDLIBS) -lfcgi -lcurl -o $$@
$(BUILD)/$(1)/tests/%: $(BUILD)/$(1)/obj/tests/%.o $(BUILD)/$(1)/libchainvote.a
	@mkdir -p $$(dir $$@)
	$$(CC) $(2) $$^ $$(LDLIBS) -lfcgi -lcurl -o $$@
$(1)-all: $$(TOOLS:%=$(BUILD)/$(1)/bin/%) $$(DEV_TOOLS:%=$(BUILD)/$(1)/bin/%) $$(CGI:%=$(BUILD)/$(1)/cgi/%.fcgi) $$(TESTS:%=$(BUILD)/$(1)/tests/%)
endef
$(eval $(call variant,rel,$(REL_CFLAGS)))
$(eval $(call variant,san,$(SAN_CFLAGS)))

.PHONY: all deps test run stop cluster cluster-add cluster-stop cluster-chaos bench-cluster clean format bench chaos fuzz install
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

# A replication group of NODES nodes on this machine: node I on 127.0.0.1:PORT+I-1, its
# data in DATA/node-I (tools/cluster.sh; docs/ARCHITECTURE.md, "Past one machine").
NODES ?= 3
cluster: deps
	@$(MAKE) --no-print-directory all
	@sh tools/cluster.sh start "$(NODES)" "$(PORT)" "$(if $(filter ./var,$(DATA)),./var-cluster,$(DATA))"

# One more node for the running group in DATA: HTTP on HTTP_PORT, replication on REP_PORT
# (tools/cluster.sh add; README, "Adding a node").
cluster-add: deps
	@$(MAKE) --no-print-directory all
	@sh tools/cluster.sh add "$(if $(filter ./var,$(DATA)),./var-cluster,$(DATA))" "$(HTTP_PORT)" "$(REP_PORT)"

cluster-stop:
	@sh tools/cluster.sh stop "$(if $(filter ./var,$(DATA)),./var-cluster,$(DATA))"

# The longer replication run (the short one is part of make test): tests/e2e_cluster.py
# with the master stopped 15 s (SIGSTOP) besides the SIGKILL failover.
cluster-chaos: deps
	@$(MAKE) --no-print-directory all
	@BIN=$(BUILD)/rel/bin CGI=$(BUILD)/rel/cgi CLUSTER_CHAOS=1 python3 tests/e2e_cluster.py

# Measurements against this machine's own limits (tools/dev/bench.sh prints the table).
bench: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) sh tools/dev/bench.sh

# Durable votes/s of a three-node replication group beside one node (tools/dev/bench_cluster.sh).
bench-cluster: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) sh tools/dev/bench_cluster.sh

# The long crash-chaos run (a shorter one is part of make test).
chaos: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) CHAOS_SECONDS=$${CHAOS_SECONDS:-120} python3 tests/chaos.py

# libFuzzer targets (clang, ASan+UBSan) for FUZZ_SECONDS each (a short run is in make test).
fuzz: deps
	@BUILD=$(BUILD) FUZZ_SECONDS=$${FUZZ_SECONDS:-60} sh tests/fuzz/run.sh

format:
	clang-format -i lib/*/*.[ch] tools/*.c tools/dev/*.c cgi-bin/*.c tests/*.[ch]

clean:
	rm -rf $(BUILD) bin cgi-bin/*.fcgi

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# A packaged install: binaries, programs, pages, configuration and systemd units. The
# nginx site is nginx.conf rendered for the systemd layout (sockets in /run/chainvote, no
# `daemon` line: Debian's nginx.service sets it on the command line): HTTPS on 443 with
# the certificate in /var/lib/chainvote/tls/ (made self-signed at boot by
# chainvote-tls.service until the admin puts a real one there or names another in the
# file), port 80 only redirecting to it, OCSP stapling left commented for the admin.
PREFIX ?= /usr/local
DESTDIR ?=
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/chainvote \
		$(DESTDIR)$(PREFIX)/share/chainvote/www $(DESTDIR)$(PREFIX)/share/chainvote/conf \
		$(DESTDIR)$(PREFIX)/lib/systemd/system
	install -m 755 $(BUILD)/rel/bin/chainvote $(BUILD)/rel/bin/miner $(DESTDIR)$(PREFIX)/bin/
	install -m 755 $(CGI:%=$(BUILD)/rel/cgi/%.fcgi) $(DESTDIR)$(PREFIX)/lib/chainvote/
	install -m 755 tools/tlscert.sh $(DESTDIR)$(PREFIX)/lib/chainvote/
	cp -R www/. $(DESTDIR)$(PREFIX)/share/chainvote/www/
	install -m 644 conf/DB_CONFIG conf/fastcgi.conf conf/logrotate $(DESTDIR)$(PREFIX)/share/chainvote/conf/
	sed -e 's#^\([[:space:]]*\)@TLS@#\1#' -e 's#^\([[:space:]]*\)@REDIRECT@#\1#' \
		-e 's#^\([[:space:]]*\)@STAPLING@#\1\# #' -e 's#@RESOLVER@#DNS-SERVER-ADDRESS#g' \
		-e 's#@SSL@# ssl#g' -e 's#@HTTP_PORT@#80#g' -e 's#https://$$host:@PORT@#https://$$host#' \
		-e 's#@TLS_CERT@#/var/lib/chainvote/tls/cert.pem#g' \
		-e 's#@TLS_KEY@#/var/lib/chainvote/tls/key.pem#g' \
		-e 's#@PORT@#443#g' -e 's#@RUN@#/run/chainvote#g' -e 's#@SOCK@#/run/chainvote#g' \
		-e 's#@USER@#www-data#g' -e '/^daemon @DAEMON@;/d' \
		-e 's#@LISTEN@#0.0.0.0#g' -e 's#@RATE_EXEMPT@##g' \
		-e 's#@WWW@#$(PREFIX)/share/chainvote/www#g' \
		-e 's#/run/chainvote/fastcgi.conf#$(PREFIX)/share/chainvote/conf/fastcgi.conf#g' \
		-e 's#/run/chainvote/nginx-#/var/log/chainvote/nginx-#g' \
		-e 's#/run/chainvote/tmp#/var/lib/chainvote/nginx-tmp#g' \
		nginx.conf >$(DESTDIR)$(PREFIX)/share/chainvote/conf/nginx.conf
	for u in conf/systemd/*; do \
		sed 's#@PREFIX@#$(PREFIX)#g' $$u >$(DESTDIR)$(PREFIX)/lib/systemd/system/$$(basename $$u); \
	done
