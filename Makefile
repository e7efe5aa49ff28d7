# Weir's build. `make` builds build/weir; `make run` starts it on the embedded defaults;
# `make test` installs what is missing, builds the normal and the ASan+UBSan binaries and
# runs the unit and integration tests; `make asan` builds build/asan/weir.

CC      ?= cc
CFLAGS  ?= -O2 -g
WFLAGS  := -std=gnu11 -Wall -Wextra -Werror -Wno-missing-field-initializers -Isrc -pthread -D_GNU_SOURCE
LIBS    := -lrdkafka -lsqlite3 -lz -lzstd -llz4 -lsnappy -lcrypto -lmicrohttpd -ljansson -lcurl \
           -lpcre2-8 -ledit -lm -pthread
# B: where objects and binaries go (helpers building side by side use their own)
B       ?= build
ASANFL  := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

LIB_SRC  := $(sort $(filter-out src/cli/%,$(wildcard src/*/*.c src/*/*/*.c)))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
HDRS     := $(wildcard src/*/*.h src/*/*/*.h tests/unit/*.h)

.PHONY: all run test asan unit unit-asan it deps clean bench gen

all: $(B)/weir

# Objects of one flavour (normal or asan) live under $(B)/<flavour>/obj.
define flavour
$(B)/$(1)/obj/%.o: %.c $(HDRS)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS) $(2) $$(WFLAGS) -c $$< -o $$@
$(B)/$(1)/libweir.a: $$(LIB_SRC:%.c=$(B)/$(1)/obj/%.o)
	@rm -f $$@
	ar rcs $$@ $$^
$(B)/$(1)/weir: $$(CLI_SRC:%.c=$(B)/$(1)/obj/%.o) $(B)/$(1)/libweir.a
	$$(CC) $$(CFLAGS) $(2) -o $$@ $$^ $$(LIBS)
$(B)/$(1)/tests/%: $(B)/$(1)/obj/tests/unit/%.o $(B)/$(1)/libweir.a
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS) $(2) -o $$@ $$^ $$(LIBS)
endef
$(eval $(call flavour,normal,))
$(eval $(call flavour,asan,$(ASANFL)))

# cp -f: replaces $(B)/weir even while it runs (a plain cp fails with ETXTBSY)
$(B)/weir: $(B)/normal/weir
	cp -f $< $@
asan: $(B)/asan/weir

UNIT_NORMAL := $(UNIT_SRC:tests/unit/%.c=$(B)/normal/tests/%)
UNIT_ASAN   := $(UNIT_SRC:tests/unit/%.c=$(B)/asan/tests/%)

deps:
	@scripts/deps

unit: $(UNIT_NORMAL)
	@tests/run-unit $(UNIT_NORMAL)
unit-asan: $(UNIT_ASAN)
	@tests/run-unit $(UNIT_ASAN)

run: $(B)/weir
	$(B)/weir serve

# Integration tests drive the real binary with real clients; WEIR_BIN picks which.
it: $(B)/weir $(B)/asan/weir
	@tests/it/run

test: deps
	$(MAKE) all asan $(UNIT_NORMAL) $(UNIT_ASAN)
	@tests/run-all

bench: $(B)/weir
	$(MAKE) -C bench

gen:
	/usr/bin/python3 scripts/gen_kafka.py ../shared/reference/kafka-protocol src/kafka/gen

clean:
	rm -rf build
