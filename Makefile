# partd — `make` builds bin/partd; `make run` runs it for real; `make test`
# runs every test. See README.md.

CC      ?= cc
PKGS    := libmicrohttpd jansson libpq zlib
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -pthread -Ibuild/gen \
           $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lcrypto -lm -pthread
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

SRCS    := $(sort $(wildcard service/*.c api/*.c))
LIBSRCS := $(filter-out service/main.c,$(SRCS))
HDRS    := $(wildcard service/*.h api/*.h)
EMBEDS  := $(sort $(wildcard sql/*.sql)) $(sort $(wildcard sql/control/*.sql)) openapi/openapi.yaml
UNIT    := $(sort $(wildcard tests/unit/*.c))
DBITEST := $(sort $(wildcard tests/integration/check_*.c))

OBJS     := $(SRCS:%.c=build/obj/%.o) build/obj/gen/embed.o
LIBOBJS  := $(LIBSRCS:%.c=build/obj/%.o) build/obj/gen/embed.o
ASANOBJS := $(SRCS:%.c=build/asan/%.o) build/asan/gen/embed.o
ASANLIB  := $(LIBSRCS:%.c=build/asan/%.o) build/asan/gen/embed.o

.PHONY: all run stop test unit unit-asan integration integration-asan lint-openapi deps clean format
.DELETE_ON_ERROR:

all: bin/partd

deps:
	@scripts/deps.sh

build/embed: tools/embed.c
	@mkdir -p build
	$(CC) -std=c11 -Wall -Wextra -Werror -O2 -o $@ $<

build/gen/embed.c build/gen/embed.h &: build/embed $(EMBEDS)
	@mkdir -p build/gen
	build/embed build/gen/embed.c build/gen/embed.h $(EMBEDS)

build/obj/%.o: %.c $(HDRS) build/gen/embed.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

build/obj/gen/embed.o: build/gen/embed.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

build/asan/%.o: %.c $(HDRS) build/gen/embed.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -O1 $(SAN) -c -o $@ $<

build/asan/gen/embed.o: build/gen/embed.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -O1 $(SAN) -c -o $@ $<

bin/partd: $(OBJS)
	@mkdir -p bin
	$(CC) -o $@ $^ $(LDLIBS)

bin/partd-asan: $(ASANOBJS)
	@mkdir -p bin
	$(CC) $(SAN) -o $@ $^ $(LDLIBS)

build/unit_tests: $(UNIT) $(LIBOBJS)
	$(CC) $(CFLAGS) -o $@ $(UNIT) $(LIBOBJS) $(shell pkg-config --libs check) $(LDLIBS)

build/asan/unit_tests: $(UNIT) $(ASANLIB)
	$(CC) $(CFLAGS) -O1 $(SAN) -o $@ $(UNIT) $(ASANLIB) $(shell pkg-config --libs check) $(LDLIBS)

build/db_itest: $(DBITEST) tests/integration/suites.h $(LIBOBJS)
	$(CC) $(CFLAGS) -o $@ $(DBITEST) $(LIBOBJS) $(shell pkg-config --libs check) $(LDLIBS)

build/asan/db_itest: $(DBITEST) tests/integration/suites.h $(ASANLIB)
	$(CC) $(CFLAGS) -O1 $(SAN) -o $@ $(DBITEST) $(ASANLIB) $(shell pkg-config --libs check) $(LDLIBS)

unit: build/unit_tests
	build/unit_tests

unit-asan: build/asan/unit_tests
	build/asan/unit_tests

integration: bin/partd build/db_itest
	DB_ITEST=$(CURDIR)/build/db_itest tests/integration/run.sh bin/partd

integration-asan: bin/partd-asan build/asan/db_itest
	DB_ITEST=$(CURDIR)/build/asan/db_itest tests/integration/run.sh bin/partd-asan

lint-openapi:
	scripts/lint-openapi.sh

# Everything, then again under AddressSanitizer and UBSan.
test: deps
	$(MAKE) all build/unit_tests build/db_itest bin/partd-asan build/asan/unit_tests build/asan/db_itest
	$(MAKE) unit
	$(MAKE) lint-openapi
	$(MAKE) integration
	$(MAKE) unit-asan
	$(MAKE) integration-asan

run: deps all
	scripts/run.sh

stop:
	scripts/stop.sh

format:
	clang-format -i service/*.[ch] api/*.[ch] tests/unit/*.[ch] tests/integration/*.[ch] tools/*.c

clean:
	rm -rf build bin
