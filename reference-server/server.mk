# reference-server/server.mk - panpd, its routing core, tests and demo.
# Included by the root Makefile; uses its $(B)/obj pattern rules.

SRV := reference-server
SRV_CPPFLAGS := -I$(SRV)/core -I$(SRV)

SRV_CORE_SRCS := $(addprefix $(SRV)/core/,hmap.c timer.c outq.c deliver.c conf.c \
                   emit.c conn.c reg.c chan.c conv.c core.c)
SRV_CORE_OBJS := $(SRV_CORE_SRCS:%.c=$(B)/obj/%.o)
SRV_CORE_LIB  := $(B)/lib/libpanpd_core.a

$(B)/obj/$(SRV)/%.o: CPPFLAGS += $(SRV_CPPFLAGS)

$(SRV_CORE_LIB): $(SRV_CORE_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

LIBS += $(SRV_CORE_LIB)

# ---- unit tests of the core -------------------------------------------------
SRV_TEST_NAMES := units conn reg chan flow robust
SRV_TEST_BINS  := $(patsubst %,$(B)/tests/server/test_%,$(SRV_TEST_NAMES))
SRV_HARNESS_O  := $(B)/obj/$(SRV)/tests/harness.o $(B)/obj/$(SRV)/tests/support.o
SRV_LINK       := $(SRV_CORE_LIB) $(CODEC_LIB_A) $(CODEC_LIBS) -lcrypto

$(B)/tests/server/test_%: $(B)/obj/$(SRV)/tests/test_%.o $(SRV_HARNESS_O) $(SRV_CORE_LIB) $(CODEC_LIB_A)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(SRV_HARNESS_O) $(SRV_LINK) $(CMOCKA_LIBS)

TESTS += $(SRV_TEST_BINS)

# ---- panpd -------------------------------------------------------------------
SRV_NET_SRCS := $(SRV)/net/addr.c $(SRV)/net/net.c $(SRV)/net/tls.c $(SRV)/config.c
SRV_NET_OBJS := $(SRV_NET_SRCS:%.c=$(B)/obj/%.o)
PANPD        := $(B)/bin/panpd
SRV_SYS_LIBS := -levent -linih -lssl -lcrypto

$(PANPD): $(B)/obj/$(SRV)/main.o $(SRV_NET_OBJS) $(SRV_CORE_LIB) $(CODEC_LIB_A)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(SRV_NET_OBJS) $(SRV_CORE_LIB) $(CODEC_LIB_A) $(CODEC_LIBS) $(SRV_SYS_LIBS)

BINS += $(PANPD)

# ---- demo: `make run` -------------------------------------------------------
# The demo drives panpd with the real `panp` tool (reference-client).
run: $(DEPS_STAMP)
	@$(MAKE) --no-print-directory -s $(PANPD) $(CLI_TOOL)
	@bash tools/demo.sh $(PANPD) $(CLI_TOOL)

# ---- integration tests over real sockets ---------------------------------------
PCLIENT_O := $(B)/obj/$(SRV)/tests/pclient.o
SRV_INTEG := $(B)/tests/server/test_integ

$(SRV_INTEG): $(B)/obj/$(SRV)/tests/test_integ.o $(PCLIENT_O) $(CODEC_LIB_A) | $(PANPD)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(PCLIENT_O) $(CODEC_LIB_A) $(CODEC_LIBS) -lcrypto

TESTS += $(SRV_INTEG)

TEST_SCRIPTS += $(SRV)/tests/valgrind.sh

# ---- install ------------------------------------------------------------------
SYSCONFDIR ?= /etc
SRV_UNITDIR ?= $(PREFIX)/lib/systemd/system

install: install-server
install-server: $(PANPD)
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/doc/panpd \
	  $(DESTDIR)$(SRV_UNITDIR) $(DESTDIR)$(SYSCONFDIR)/panp
	install -m 0755 $(PANPD) $(DESTDIR)$(PREFIX)/sbin/panpd
	install -m 0644 contrib/panpd.conf $(DESTDIR)$(PREFIX)/share/doc/panpd/panpd.conf.example
	install -m 0644 $(SRV)/README.md $(DESTDIR)$(PREFIX)/share/doc/panpd/README.md
	@# never overwrite a configuration already in place
	test -e $(DESTDIR)$(SYSCONFDIR)/panp/panpd.conf || \
	  install -m 0644 contrib/panpd.conf $(DESTDIR)$(SYSCONFDIR)/panp/panpd.conf
	sed -e 's|/usr/local/sbin/panpd|$(PREFIX)/sbin/panpd|g' \
	    -e 's|/etc/panp/panpd.conf|$(SYSCONFDIR)/panp/panpd.conf|g' \
	    -e 's|/usr/local/share/doc|$(PREFIX)/share/doc|g' \
	  contrib/panpd.service > $(DESTDIR)$(SRV_UNITDIR)/panpd.service
	chmod 0644 $(DESTDIR)$(SRV_UNITDIR)/panpd.service

.PHONY: install-server
