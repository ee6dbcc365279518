# conformance/broken.mk - deliberately broken variants of panpd, the suite's
# proof that it catches what it claims to catch.  Included by the root
# Makefile after reference-server/server.mk, whose variables it reuses.
#
#   make broken                          every variant: $(B)/broken/panpd-<name>
#   make $(B)/broken/panpd-<name>        one variant
#   bash conformance/check-broken.sh     builds them and runs the suite on each
#
# A variant is panpd built from the same sources with -DPANPD_BROKEN_<NAME>:
# the reference-server/core/ sources carry small blocks marked "BROKEN ON
# PURPOSE" under #ifdef/#ifndef PANPD_BROKEN_<NAME>, each breaking one rule
# of SPEC.md.  The variants are found by scanning those sources, so adding
# one is: a block in the core, a line in conformance/broken/expectations.txt.
# Nothing here is part of `make` or `make all`; the default build never sees
# any PANPD_BROKEN_ macro.
#
# Only the core sources that mention a variant's macro are compiled again
# (into $(B)/obj/broken/<name>/); the rest of the variant is the default
# build's objects.  That is sound only while no header mentions a macro
# (headers would change struct layouts or inline code across objects), so a
# header that does makes every core source compile again for every variant.

BROKEN_DIR := $(B)/broken
BROKEN_OBJ := $(B)/obj/broken

# file:MACRO for every mention in the core sources, and the macros' names
# (PANPD_BROKEN_PER_USER_LEAK -> per-user-leak).
BROKEN_MENTIONS := $(shell grep -Eo 'PANPD_BROKEN_[A-Z0-9_]+' -H $(SRV_CORE_SRCS) /dev/null | sort -u)
BROKEN_IN_HEADERS := $(shell grep -El 'PANPD_BROKEN_[A-Z0-9_]+' $(wildcard $(SRV)/core/*.h) /dev/null)
BROKEN_MACROS := $(sort $(foreach m,$(BROKEN_MENTIONS),$(lastword $(subst :, ,$(m)))))
BROKEN_PAIRS := $(shell for m in $(BROKEN_MACROS); do \
                  echo "$$m" | awk '{n = tolower(substr($$0, 14)); gsub("_", "-", n); print n ":" $$0}'; done)
BROKEN_NAMES := $(foreach p,$(BROKEN_PAIRS),$(firstword $(subst :, ,$(p))))
BROKEN_BINS := $(BROKEN_NAMES:%=$(BROKEN_DIR)/panpd-%)

# $(1) name, $(2) macro
define BROKEN_VARIANT
BROKEN_SRCS_$(1) := $(if $(BROKEN_IN_HEADERS),$(SRV_CORE_SRCS),$(patsubst %:$(2),%,$(filter %:$(2),$(BROKEN_MENTIONS))))
BROKEN_OBJS_$(1) := $$(BROKEN_SRCS_$(1):%.c=$(BROKEN_OBJ)/$(1)/%.o) \
                    $$(filter-out $$(BROKEN_SRCS_$(1):%.c=$(B)/obj/%.o),$(SRV_CORE_OBJS))

$(BROKEN_OBJ)/$(1)/%.o: %.c | $(GENERATED)
	@mkdir -p $$(@D)
	$$(CC) $$(CPPFLAGS) $$(SRV_CPPFLAGS) -D$(2) $$(CFLAGS) -c $$< -o $$@

$(BROKEN_DIR)/panpd-$(1): $(B)/obj/$(SRV)/main.o $$(SRV_NET_OBJS) $$(BROKEN_OBJS_$(1)) $$(CODEC_LIB_A)
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) -o $$@ $$< $$(SRV_NET_OBJS) $$(BROKEN_OBJS_$(1)) $$(CODEC_LIB_A) $$(CODEC_LIBS) $$(SRV_SYS_LIBS)
endef

$(foreach p,$(BROKEN_PAIRS),$(eval $(call BROKEN_VARIANT,$(firstword $(subst :, ,$(p))),$(lastword $(subst :, ,$(p))))))

broken: $(DEPS_STAMP)
	@$(MAKE) --no-print-directory $(BROKEN_BINS)

# conformance/check-broken.sh asks for the list this way.
broken-list:
	@echo $(BROKEN_NAMES)

TEST_SCRIPTS += conformance/check-broken.sh

.PHONY: broken broken-list
