# fuzz/fuzz.mk - libFuzzer campaigns (issue 7).  Included by the root
# Makefile; see fuzz/README.md.
#
#   make fuzz            every target for FUZZ_SECONDS (default 60) each, one at a
#                        time; fails on any crash, leak or timeout.
#                        FUZZ_CPU_SECONDS=N: N seconds of CPU each instead
#                        (what a campaign on shared cores should count)
#   make fuzz-smoke      FUZZ_SECONDS=5 each, plus a replay of fuzz/corpus and
#                        fuzz/regressions (what `make test` runs: fuzz/smoke.sh)
#   make fuzz-coverage   llvm-cov line coverage of codec/ and reference-server/core/
#                        reached by the committed corpora (+ fuzz/corpus-work)
#   make fuzz-build      just the binaries, in $(B)/fuzz/bin
#   make fuzz-merge      add what fuzz/corpus-work covers beyond fuzz/corpus to it
#
# Everything is built by clang-14 into $(B)/fuzz/, apart from the gcc build.
# The codec, the generated descriptors, the broker core and the client
# library are compiled from source with the sanitizers; Debian's
# libprotobuf-c and libprotobuf-nanopb are linked as they are (prebuilt,
# not instrumented).

FUZZ_CC      := clang-14
FUZZ_SECONDS ?= 60
FZ           := $(B)/fuzz
FZC          := $(FZ)/cov

FUZZ_TARGETS := decode_pbc decode_nanopb framer differential encode broker_core client
FUZZ_BINS    := $(patsubst %,$(FZ)/bin/fuzz_%,$(FUZZ_TARGETS))
FUZZ_COV_BINS := $(patsubst %,$(FZC)/bin/fuzz_%,$(FUZZ_TARGETS))

# Sanitizers.  Our own code gets the whole integer group (unsigned overflow
# and implicit truncation included); the generated descriptors get
# everything but unsigned-integer-overflow.  fuzz/ubsan-ignore.txt lists the
# functions of ours that wrap on purpose (hashes, SWAR tricks).  -fsanitize=fuzzer-no-link
# gives every object libFuzzer's coverage and comparison hooks.
FZ_SAN_BASE := -fsanitize=address,undefined,shift,integer -fno-sanitize-recover=all \
               -fno-omit-frame-pointer -fsanitize-ignorelist=fuzz/ubsan-ignore.txt
FZ_SAN      := -fsanitize=fuzzer-no-link $(FZ_SAN_BASE)
FZ_SAN_GEN  := -fsanitize=fuzzer-no-link -fsanitize=address,undefined,shift,integer \
               -fno-sanitize=unsigned-integer-overflow -fno-sanitize-recover=all \
               -fno-omit-frame-pointer
FZ_SAN_LINK := -fsanitize=fuzzer $(FZ_SAN_BASE)
# Coverage build: no sanitizers, source-based coverage, libFuzzer's driver
# only to replay corpus directories.
FZ_COV      := -fprofile-instr-generate -fcoverage-mapping -fsanitize=fuzzer-no-link
FZ_COV_LINK := -fprofile-instr-generate -fsanitize=fuzzer

FZ_CFLAGS   := -std=c11 -O1 -g -Wall -Wextra -MMD -MP
FZ_CPPFLAGS := -D_GNU_SOURCE -Icodec/include -I$(GEN)/pbc -I$(GEN)/nanopb -I$(GEN) -Ifuzz \
               -Ireference-server/core -Ireference-client/include -Ireference-client/src

# What each target links, besides its harness and fuzz_common.  compare.c
# (fz_frames_equal) reads views only: it is linked with fuzz_common, so that
# a codec given as FZ_CODEC_SRCS need not provide it.
FZ_CODEC_SRCS := $(patsubst %,codec/src/%.c,$(filter-out compare,$(CODEC_MODULES)))
FZ_GEN_SRCS   := $(PBC_C) $(NPB_C)
FZ_CORE_SRCS  := $(SRV_CORE_SRCS)
FZ_CLI_SRCS   := $(patsubst %,reference-client/src/%.c,$(CLI_MODULES))
FZ_LIBS       := $(CODEC_LIBS)

fz_obj = $(patsubst %.c,$(1)/obj/%.o,$(patsubst $(GEN)/%,gen/%,$(2)))
FZ_BASE_SRCS := fuzz/fuzz_common.c codec/src/compare.c $(FZ_CODEC_SRCS)

# $(call fz_target,name,harness sources,extra sources,extra libs)
define fz_target
$(FZ)/bin/fuzz_$(1): $(call fz_obj,$(FZ),$(2) $(FZ_BASE_SRCS) $(FZ_GEN_SRCS) $(3))
	@mkdir -p $$(@D)
	$(FUZZ_CC) $(FZ_SAN_LINK) -o $$@ $$^ $(FZ_LIBS) $(4)
$(FZC)/bin/fuzz_$(1): $(call fz_obj,$(FZC),$(2) $(FZ_BASE_SRCS) $(FZ_GEN_SRCS) $(3))
	@mkdir -p $$(@D)
	$(FUZZ_CC) $(FZ_COV_LINK) -o $$@ $$^ $(FZ_LIBS) $(4)
endef

$(eval $(call fz_target,decode_pbc,fuzz/fuzz_decode_pbc.c))
$(eval $(call fz_target,decode_nanopb,fuzz/fuzz_decode_nanopb.c))
$(eval $(call fz_target,framer,fuzz/fuzz_framer.c))
$(eval $(call fz_target,differential,fuzz/fuzz_differential.c))
$(eval $(call fz_target,encode,fuzz/fuzz_encode.c))
$(eval $(call fz_target,broker_core,fuzz/fuzz_broker_core.c,$(FZ_CORE_SRCS),-lcrypto))
$(eval $(call fz_target,client,fuzz/fuzz_client.c,$(FZ_CLI_SRCS),-lssl -lcrypto))

# fuzz_decode.c is one harness built once per backend.
fz_backend = -DFZ_BACKEND=$(if $(filter %nanopb.o,$@),PANP_BACKEND_NANOPB,PANP_BACKEND_PROTOBUF_C)
FZ_DECODE_O := $(FZ)/obj/fuzz/fuzz_decode_pbc.o $(FZ)/obj/fuzz/fuzz_decode_nanopb.o
FZC_DECODE_O := $(FZC)/obj/fuzz/fuzz_decode_pbc.o $(FZC)/obj/fuzz/fuzz_decode_nanopb.o
$(FZ_DECODE_O): $(FZ)/obj/fuzz/fuzz_decode_%.o: fuzz/fuzz_decode.c fuzz/ubsan-ignore.txt | $(GENERATED)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FZ_CPPFLAGS) $(fz_backend) $(FZ_CFLAGS) -Werror $(FZ_SAN) -c $< -o $@
$(FZC_DECODE_O): $(FZC)/obj/fuzz/fuzz_decode_%.o: fuzz/fuzz_decode.c | $(GENERATED)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FZ_CPPFLAGS) $(fz_backend) $(FZ_CFLAGS) $(FZ_COV) -c $< -o $@

# Our harnesses: warnings are errors.  Everyone else's code: warnings stay
# warnings (clang and gcc disagree on some; the gcc build is the gate).
$(FZ)/obj/fuzz/%.o: fuzz/%.c fuzz/ubsan-ignore.txt | $(GENERATED)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FZ_CPPFLAGS) $(FZ_CFLAGS) -Werror $(FZ_SAN) -c $< -o $@
$(FZ)/obj/gen/%.o: $(GEN)/%.c fuzz/ubsan-ignore.txt | $(GENERATED)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FZ_CPPFLAGS) $(FZ_CFLAGS) $(FZ_SAN_GEN) -c $< -o $@
$(FZ)/obj/%.o: %.c fuzz/ubsan-ignore.txt | $(GENERATED)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FZ_CPPFLAGS) $(FZ_CFLAGS) $(FZ_SAN) -c $< -o $@

$(FZC)/obj/gen/%.o: $(GEN)/%.c | $(GENERATED)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FZ_CPPFLAGS) $(FZ_CFLAGS) $(FZ_COV) -c $< -o $@
$(FZC)/obj/%.o: %.c | $(GENERATED)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FZ_CPPFLAGS) $(FZ_CFLAGS) $(FZ_COV) -c $< -o $@

fuzz-build: $(DEPS_STAMP)
	@$(MAKE) --no-print-directory fuzz-bins

fuzz-bins: $(FUZZ_BINS)
fuzz-cov-bins: $(FUZZ_COV_BINS)

fuzz: fuzz-build
	@FUZZ_CPU_SECONDS=$(FUZZ_CPU_SECONDS) bash fuzz/run.sh campaign $(FZ)/bin $(FUZZ_SECONDS) \
	    $(or $(FUZZ_ONLY),$(FUZZ_TARGETS))

# fuzz/smoke.sh (TEST_SCRIPTS) runs this; FUZZ_SECONDS=5 unless given.
fuzz-smoke: fuzz-build
	@bash fuzz/run.sh smoke $(FZ)/bin $(if $(filter command line environment,$(origin FUZZ_SECONDS)),$(FUZZ_SECONDS),5) $(FUZZ_TARGETS)

# Adds what fuzz/corpus-work reached beyond fuzz/corpus to fuzz/corpus.
fuzz-merge: fuzz-build
	@bash fuzz/run.sh merge $(FZ)/bin 0 $(FUZZ_TARGETS)

fuzz-coverage: $(DEPS_STAMP)
	@$(MAKE) --no-print-directory fuzz-cov-bins
	@bash fuzz/coverage.sh $(FZC) $(FUZZ_TARGETS)

TEST_SCRIPTS += fuzz/smoke.sh

.PHONY: fuzz fuzz-smoke fuzz-coverage fuzz-build fuzz-merge fuzz-bins fuzz-cov-bins

-include $(shell find $(FZ) -name '*.d' 2>/dev/null)
