# panp top-level build.
#
#   make          build everything
#   make test     run every test (SANITIZE=1 builds and runs under ASan+UBSan)
#   make run      start panpd on its embedded configuration and run a demo
#   make deps     install the Debian packages the build needs (skipped when present)
#   make clean
#
# Each component contributes a fragment (codec/codec.mk, ...) that appends
# to the variables below; this file holds only what they share.

.DEFAULT_GOAL := all
.SUFFIXES:
.DELETE_ON_ERROR:

SANITIZE ?= 0
ifeq ($(SANITIZE),1)
B := build-san
SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else
B := build
SAN :=
endif

GEN     := $(B)/gen
CC      := gcc
OPT     ?= -O2 -g
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wformat=2 -Wno-format-nonliteral
CSTD    := -std=c11
CPPFLAGS += -D_GNU_SOURCE -Icodec/include -I$(GEN)/pbc -I$(GEN)/nanopb -I$(GEN)
CFLAGS  := $(CSTD) $(OPT) $(WARN) $(SAN) -fPIC -MMD -MP
# Generated code gets the same flags minus the prototype warnings its
# generators do not satisfy.
GEN_CFLAGS := $(CSTD) $(OPT) -Wall -Wextra -Werror $(SAN) -fPIC -MMD -MP
LDFLAGS := $(SAN)
PYTHON  := /usr/bin/python3
PREFIX  ?= /usr/local
DESTDIR ?=

# Filled in by the fragments.
LIBS :=
BINS :=
TESTS :=          # executables run by `make test`
TEST_SCRIPTS :=   # shell/python tests run by `make test` (after TESTS)
CLEAN :=

DEPS_STAMP := $(B)/.deps-ok

all: $(DEPS_STAMP)
	@$(MAKE) --no-print-directory build-all

deps: $(DEPS_STAMP)
$(DEPS_STAMP): tools/deps.sh
	@bash tools/deps.sh
	@mkdir -p $(@D) && touch $@

# ---- code generation from proto/ ------------------------------------------
PROTO := proto/panp/v1/panp.proto
PROTO_OPTS := proto/panp/v1/panp.options
PBC_C  := $(GEN)/pbc/panp/v1/panp.pb-c.c
PBC_H  := $(GEN)/pbc/panp/v1/panp.pb-c.h
NPB_C  := $(GEN)/nanopb/panp/v1/panp.pb.c
NPB_H  := $(GEN)/nanopb/panp/v1/panp.pb.h
PY_PB2 := $(GEN)/py/panp/v1/panp_pb2.py
GENERATED := $(PBC_C) $(PBC_H) $(NPB_C) $(NPB_H) $(PY_PB2)

$(PBC_C) $(PBC_H) &: $(PROTO) | $(DEPS_STAMP)
	@mkdir -p $(GEN)/pbc
	protoc-c -Iproto --c_out=$(GEN)/pbc $(PROTO)

$(NPB_C) $(NPB_H) &: $(PROTO) $(PROTO_OPTS) | $(DEPS_STAMP)
	@mkdir -p $(GEN)/nanopb
	cd proto && nanopb_generator.py -q -f panp/v1/panp.options -D $(abspath $(GEN)/nanopb) panp/v1/panp.proto

$(PY_PB2): $(PROTO) | $(DEPS_STAMP)
	@mkdir -p $(GEN)/py
	protoc -Iproto --python_out=$(GEN)/py $(PROTO)

generate: $(GENERATED)

# ---- compile rules ----------------------------------------------------------
$(B)/obj/gen/%.o: $(GEN)/%.c | $(GENERATED)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(GEN_CFLAGS) -c $< -o $@

$(B)/obj/%.o: %.c | $(GENERATED)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

PBC_O := $(B)/obj/gen/pbc/panp/v1/panp.pb-c.o
NPB_O := $(B)/obj/gen/nanopb/panp/v1/panp.pb.o
CMOCKA_LIBS := -lcmocka

# ---- components -------------------------------------------------------------
include $(wildcard proto/proto.mk codec/codec.mk reference-server/server.mk \
                   reference-client/client.mk conformance/conformance.mk \
                   conformance/broken.mk interop/interop.mk fuzz/fuzz.mk bench/bench.mk \
                   tools/tools.mk tools/certs.mk)

build-all: $(GENERATED) $(LIBS) $(BINS) $(TESTS)

test: $(DEPS_STAMP)
	@$(MAKE) --no-print-directory build-all
	@bash tools/run-tests.sh $(TESTS) -- $(TEST_SCRIPTS)

clean:
	rm -rf build build-san $(CLEAN)

.PHONY: all deps generate build-all test clean run install footprint bench bench-codec fuzz fuzz-coverage

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
