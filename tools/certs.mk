# tools/certs.mk - the test PKI of the tls: binding and the tests that use it.
# Included by the root Makefile (after every component fragment).
#
#   make certs          a throwaway CA and certificates into $(B)/certs/
#                       (tools/make-certs.sh: server for localhost/127.0.0.1/::1,
#                       client identities, an expired one, one from another CA,
#                       a server certificate for a wrong name)
#   make test           also runs test_tls (the tls: binding, tokens, the limits
#                       before authentication), the same under valgrind, and the
#                       whole conformance suite over tls:

CERTS_DIR   := $(B)/certs
CERTS_STAMP := $(CERTS_DIR)/.stamp

$(CERTS_STAMP): tools/make-certs.sh | $(DEPS_STAMP)
	@bash tools/make-certs.sh $(CERTS_DIR)

certs: $(CERTS_STAMP)
BINS += $(CERTS_STAMP)

.PHONY: certs

# ---- test_tls: panpd and libpanp over tls:, and the limits ---------------------
TLS_TEST := $(B)/tests/server/test_tls
TLS_TEST_O := $(B)/obj/reference-server/tests/test_tls.o

$(TLS_TEST_O): CPPFLAGS += $(CLI_CPPFLAGS) -DCERTS_DIR='"$(abspath $(CERTS_DIR))"' \
                           -DPANPD_BIN='"$(abspath $(PANPD))"'

$(TLS_TEST): $(TLS_TEST_O) $(CLI_LIB_A) | $(PANPD) $(CERTS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(CLI_LINK)

TESTS += $(TLS_TEST)
.SECONDARY: $(TLS_TEST_O)

# test_tls again with panpd under valgrind (the plain build, as
# reference-server/tests/valgrind.sh does), and the conformance suite over
# tls: (a script beside the suite's own).
TEST_SCRIPTS += reference-server/tests/valgrind-tls.sh conformance/run-against-panpd-tls.sh
