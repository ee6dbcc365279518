# conformance/conformance.mk - panp-conformance, the black-box conformance
# suite (conformance/README.md), and the reference client's adapter for its
# client-side mode.  Included by the root Makefile.
#
#   $(B)/bin/panp-conformance          the suite
#   $(B)/bin/panp-client-adapter       libpanp behind the adapter protocol
#
# make test runs the whole suite against panpd (run-against-panpd.sh) and
# the requirement coverage gate (check-coverage.sh).

PC_DIR := conformance/src
PC_SRCS := $(wildcard $(PC_DIR)/*.c $(PC_DIR)/cases/*.c $(PC_DIR)/client/*.c)
PC_OBJS := $(PC_SRCS:%.c=$(B)/obj/%.o)
PC_BIN  := $(B)/bin/panp-conformance
# tls: both ways (src/tls.c): OpenSSL, and a relay thread per TLS connection
PC_TLS_LIBS := -lssl -lcrypto -lpthread

# Defaults baked in so the suite finds the vectors and the SPEC when run
# from anywhere; --vectors / --spec override them.
$(B)/obj/$(PC_DIR)/%.o: CPPFLAGS += -I$(PC_DIR) \
    -DPC_DEFAULT_VECTORS='"$(abspath conformance/vectors)"' -DPC_DEFAULT_SPEC='"$(abspath SPEC.md)"'

$(PC_BIN): $(PC_OBJS) $(CODEC_LIB_A)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(PC_OBJS) $(CODEC_LIB_A) $(CODEC_LIBS) $(PC_TLS_LIBS)

BINS += $(PC_BIN)
TEST_SCRIPTS += conformance/check-coverage.sh conformance/run-against-panpd.sh

# The scripts above find this build's binaries (build/ or build-san/) here.
export PANP_BUILD := $(B)

# ---- the reference client behind the adapter protocol --------------------------
# (built when reference-client/client.mk provides libpanp)
ifneq ($(CLI_LIB_A),)
PC_ADAPTER := $(B)/bin/panp-client-adapter
PC_ADAPTER_OBJS := $(B)/obj/conformance/adapters/libpanp-adapter.o $(B)/obj/$(PC_DIR)/json.o $(B)/obj/$(PC_DIR)/sbuf.o

$(B)/obj/conformance/adapters/%.o: CPPFLAGS += -I$(PC_DIR) $(CLI_CPPFLAGS)

$(PC_ADAPTER): $(PC_ADAPTER_OBJS) $(CLI_LIB_A)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(PC_ADAPTER_OBJS) $(CLI_LINK)

BINS += $(PC_ADAPTER)
TEST_SCRIPTS += conformance/run-client-side.sh
endif
