# codec/: the panp.v1 codec library (issue 3), its tests, footprint and
# benchmark.  Included by the root Makefile.
#
#   make                    builds $(B)/lib/libpanp_codec.{a,so}
#   make test               runs the codec's cmocka tests and vector checks
#   make footprint          nanopb codec for Cortex-M4: flash, RAM, stack
#   make bench-codec        encode/decode timings, both backends vs C++ protobuf
#   make install-codec      library, headers, pkg-config file under $(DESTDIR)$(PREFIX)

CODEC_MODULES := schema text fmt wire validate size arena backend_pbc backend_nanopb \
                 framer uuid status names codec notify compare
# The received-Notify fast path (issue 8, proposal 7).
CODEC_MODULES += fastpath
CODEC_O := $(patsubst %,$(B)/obj/codec/src/%.o,$(CODEC_MODULES))
CODEC_LIB_A := $(B)/lib/libpanp_codec.a
CODEC_LIB_SO := $(B)/lib/libpanp_codec.so
# nanopb runtime: on hosts Debian's libprotobuf-nanopb (built with 16-bit
# field sizes, which is why panp.options caps payloads at 62 KiB); `make
# footprint` compiles the runtime from nanopb's source package instead (no
# heap options, Cortex-M4), fetched by codec/tools/fetch-nanopb.sh into
# build/ (set NANOPB_SRC to use a copy you already have).
NANOPB_SRC ?= build/third_party/nanopb
CODEC_LIBS := -lprotobuf-nanopb -lprotobuf-c

CODEC_ALL_O := $(CODEC_O) $(PBC_O) $(NPB_O)

$(CODEC_LIB_A): $(CODEC_ALL_O)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

# The shared library exports the panp_* API only (codec/libpanp_codec.map):
# the nanopb runtime and generated descriptors linked into it stay private.
$(CODEC_LIB_SO): $(CODEC_ALL_O) codec/libpanp_codec.map
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -shared -Wl,-soname,libpanp_codec.so \
	  -Wl,--version-script=codec/libpanp_codec.map -o $@ $(CODEC_ALL_O) $(CODEC_LIBS)

LIBS += $(CODEC_LIB_A) $(CODEC_LIB_SO)

# ---- tests -------------------------------------------------------------------
CODEC_TESTS := api framer validate vectors equality runtime_diff schema compare
CODEC_TESTS += fastpath
CODEC_TEST_BINS := $(patsubst %,$(B)/tests/codec/test_%,$(CODEC_TESTS))
CODEC_TESTUTIL_O := $(B)/obj/codec/tests/testutil.o

$(B)/tests/codec/test_%: $(B)/obj/codec/tests/test_%.o $(CODEC_TESTUTIL_O) $(CODEC_LIB_A)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(CODEC_TESTUTIL_O) $(CODEC_LIB_A) $(CODEC_LIBS) $(CMOCKA_LIBS)

TESTS += $(CODEC_TEST_BINS)
TEST_SCRIPTS += tools/check-vectors.sh

# ---- install -------------------------------------------------------------------
install-codec: $(CODEC_LIB_A) $(CODEC_LIB_SO)
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include/panp
	install -m 644 $(CODEC_LIB_A) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(CODEC_LIB_SO) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 codec/include/panp/msg.h codec/include/panp/codec.h \
	  codec/include/panp/compare.h $(DESTDIR)$(PREFIX)/include/panp/
	sed -e 's|@PREFIX@|$(PREFIX)|g' codec/panp-codec.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/panp-codec.pc

install: install-codec

.PHONY: install-codec

# ---- benchmark (not part of make test) ------------------------------------------
CPP_PB_CC := $(GEN)/cpp/panp/v1/panp.pb.cc
BENCH_CODEC := $(B)/bench/codec/bench_codec
BENCH_ITERS ?= 200000

$(CPP_PB_CC): $(PROTO) | $(DEPS_STAMP)
	@mkdir -p $(GEN)/cpp
	protoc -Iproto --cpp_out=$(GEN)/cpp $(PROTO)

$(B)/obj/bench/codec/%.o: codec/bench/%.cc $(CPP_PB_CC)
	@mkdir -p $(@D)
	g++ -std=c++17 -O2 -g -Wall -Wextra -Werror -I$(GEN)/cpp -Icodec/include -c $< -o $@
$(B)/obj/bench/codec/panp.pb.o: $(CPP_PB_CC)
	@mkdir -p $(@D)
	g++ -std=c++17 -O2 -g -I$(GEN)/cpp -c $< -o $@

$(BENCH_CODEC): $(B)/obj/codec/bench/bench_codec.o $(B)/obj/bench/codec/bench_cpp.o \
                $(B)/obj/bench/codec/panp.pb.o $(CODEC_LIB_A)
	@mkdir -p $(@D)
	g++ $(LDFLAGS) -o $@ $^ -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc $(CODEC_LIBS) -lprotobuf

bench-codec: $(BENCH_CODEC)
	$(BENCH_CODEC) $(BENCH_ITERS)

.PHONY: bench-codec

# ---- footprint (not part of make test) ----------------------------------------------
footprint: $(NPB_C) $(NPB_H)
	bash codec/footprint/footprint.sh $(B)/footprint $(GEN) $(NANOPB_SRC)

.PHONY: footprint
