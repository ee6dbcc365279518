# proto/: schema checks that do not involve our codec.

PROTO_TEST_RT := $(B)/tests/test_generated_roundtrip

$(PROTO_TEST_RT): $(B)/obj/proto/tests/test_generated_roundtrip.o $(PBC_O) $(NPB_O)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ -lprotobuf-c -lprotobuf-nanopb $(CMOCKA_LIBS)

TESTS += $(PROTO_TEST_RT)
TEST_SCRIPTS += tools/check-spec.py tools/check-spec-appendix.sh
