# interop/interop.mk - the independent Python client of panp (interop/README.md).
# Included by the root Makefile.  Nothing to build: the client uses the
# generated $(PY_PB2) (from proto/ by the root Makefile) and the standard
# library with Debian's python3-protobuf (/usr/bin/python3).
#
# make test runs
#   interop/python/test_interop.py            end to end against a real panpd
#   interop/python/run-client-conformance.sh  panp-conformance --as-broker
#                                             against the Python adapter
# Both find this build's binaries and generated code through $(PANP_BUILD)
# (exported by conformance/conformance.mk; default build/).

export PANP_BUILD := $(B)

TEST_SCRIPTS += interop/python/test_interop.py interop/python/run-client-conformance.sh
