# strata — GNU Make + pkg-config.
#   make                     build strata, libstrata.a and libstrata.so
#   make check               unit + CLI tests (prints "N passed, N failed")
#   make check SANITIZE=address,undefined
#   make check-deps          the include graph against lib/MODULES (also a test in make check)
#   make install PREFIX=/usr/local DESTDIR=   (strata, headers, .a, .so, strata.pc,
#                            bash/zsh completion and man pages: make docs)
#   make fuzz FUZZ_SECONDS=N  each libFuzzer target of tests/fuzz N seconds (clang)
STRATA_VERSION := 0.1.0
STRATA_SOVERSION := 0
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DESTDIR ?=
CC ?= cc
PKGS := libcrypto jansson zlib libzstd libisal libcurl yaml-0.1
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS := $(shell pkg-config --libs $(PKGS)) -lpthread
# the API server (src/serve) is the only user of the HTTP server library
SERVE_PKGS := libmicrohttpd
SERVE_CFLAGS := $(shell pkg-config --cflags $(SERVE_PKGS))
SERVE_LIBS := $(shell pkg-config --libs $(SERVE_PKGS))

WARN := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
	-Wno-unused-parameter -Wno-missing-field-initializers
CFLAGS ?= -O2 -g
ifdef WERROR
WARN += -Werror
endif
ifdef SANITIZE
CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=$(SANITIZE) -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
BUILD := build-san
else
BUILD := build
endif
ALL_CFLAGS := -std=gnu11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 $(WARN) $(CFLAGS) \
	-Iinclude -Ilib $(PKG_CFLAGS) -MMD -MP
CLI_CFLAGS := -Isrc
# the library's objects go into the static and the shared library alike;
# only STRATA_PUBLIC functions are visible outside it
LIB_CFLAGS := -fPIC -fvisibility=hidden
SONAME := libstrata.so.$(STRATA_SOVERSION)

LIB_SRC := $(sort $(wildcard lib/*/*.c))
CLI_SRC := $(sort $(wildcard src/*.c src/serve/*.c))
FORMAT_SRC := $(sort $(wildcard src/format/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test-*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
FORMAT_OBJ := $(FORMAT_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# lib/ code cannot call the functions util/banned.h names (t0020 proves it)
$(LIB_OBJ): ALL_CFLAGS += -include util/banned.h

all: $(BUILD)/strata strata $(BUILD)/libstrata.so

strata: $(BUILD)/strata
	ln -sf $(BUILD)/strata strata

$(BUILD)/libstrata.a: $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

# exports only strata_* (lib/libstrata.map), resolves everything it uses
$(BUILD)/$(SONAME): $(LIB_OBJ) lib/libstrata.map
	$(CC) -shared $(LDFLAGS) -Wl,-soname,$(SONAME) -Wl,--version-script=lib/libstrata.map \
		-Wl,-z,defs -o $@ $(LIB_OBJ) $(PKG_LIBS)

$(BUILD)/libstrata.so: $(BUILD)/$(SONAME)
	ln -sf $(SONAME) $@

# the CLI's display code (templates, tables, units), also linked by its unit tests
$(BUILD)/libformat.a: $(FORMAT_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/strata: $(CLI_OBJ) $(BUILD)/libformat.a $(BUILD)/libstrata.a
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libformat.a $(BUILD)/libstrata.a $(PKG_LIBS) $(SERVE_LIBS)

$(BUILD)/src/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CLI_CFLAGS) -c -o $@ $<

$(BUILD)/src/serve/%.o: ALL_CFLAGS += $(SERVE_CFLAGS)

$(BUILD)/lib/%.o: lib/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LIB_CFLAGS) -c -o $@ $<

$(BUILD)/lib/util/version.o: ALL_CFLAGS += -DSTRATA_VERSION='"$(STRATA_VERSION)"'
# flags and the version live here: objects built with others are stale
$(LIB_OBJ) $(CLI_OBJ) $(FORMAT_OBJ): Makefile

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libformat.a $(BUILD)/libstrata.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CLI_CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(BUILD)/libformat.a $(BUILD)/libstrata.a $(PKG_LIBS)

libstrata.a: $(BUILD)/libstrata.a

# The fuzz targets also link with a plain main (tests/fuzz/replay.c) that runs
# them once per file: make check replays the committed corpora with them.
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz-*.c))
FUZZ_REPLAY := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/tests/%)
$(BUILD)/tests/fuzz-%: tests/fuzz/fuzz-%.c tests/fuzz/replay.c tests/fuzz/fuzz.h $(BUILD)/libformat.a $(BUILD)/libstrata.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CLI_CFLAGS) -Itests/fuzz $(LDFLAGS) -o $@ $< tests/fuzz/replay.c $(BUILD)/libformat.a $(BUILD)/libstrata.a $(PKG_LIBS)

units: $(UNIT_BIN) $(FUZZ_REPLAY)

# libFuzzer builds: everything again with clang, coverage and sanitizers
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 10
FUZZ_DIR := build-fuzz
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS := -std=gnu11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -g -O1 -fno-omit-frame-pointer \
	$(FUZZ_SAN) -fsanitize=fuzzer-no-link -Iinclude -Ilib -Isrc -Itests/fuzz $(PKG_CFLAGS)
FUZZ_OBJ := $(LIB_SRC:%.c=$(FUZZ_DIR)/%.o) $(FORMAT_SRC:%.c=$(FUZZ_DIR)/%.o)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_DIR)/%)

$(FUZZ_DIR)/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -DSTRATA_VERSION='"$(STRATA_VERSION)"' -MMD -MP -c -o $@ $<

$(FUZZ_DIR)/libstrata-fuzz.a: $(FUZZ_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_DIR)/fuzz-%: tests/fuzz/fuzz-%.c tests/fuzz/fuzz.h $(FUZZ_DIR)/libstrata-fuzz.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_DIR)/libstrata-fuzz.a $(PKG_LIBS)

fuzz-build: $(FUZZ_BIN)

# each target FUZZ_SECONDS from its seed corpus; any crash, leak or sanitizer report fails
fuzz: fuzz-build
	bash tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BIN)

# STRATA_SANITIZE: the CLI tests that build against the library build alike
check: all units
	STRATA_BUILD=$(BUILD) STRATA_SANITIZE=$(SANITIZE) ./tests/run.sh

check-deps:
	bash scripts/check-deps.sh

# completion and man pages, from what the built binary prints for --help
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
docs: $(BUILD)/docs/.stamp
$(BUILD)/docs/.stamp: $(BUILD)/strata scripts/gen-docs.sh
	rm -rf $(BUILD)/docs
	bash scripts/gen-docs.sh $(BUILD)/strata $(BUILD)/docs
	touch $@

# strata.pc is written at install time: it names the prefix installed to
install: all docs
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)/strata
	install -m 0755 $(BUILD)/strata $(DESTDIR)$(PREFIX)/bin/strata
	install -m 0644 $(BUILD)/libstrata.a $(DESTDIR)$(LIBDIR)/libstrata.a
	install -m 0755 $(BUILD)/$(SONAME) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libstrata.so
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
		-e 's|@VERSION@|$(STRATA_VERSION)|g' -e 's|@REQUIRES@|$(PKGS)|g' \
		lib/strata.pc.in >$(DESTDIR)$(LIBDIR)/pkgconfig/strata.pc
	install -m 0644 include/strata/*.h $(DESTDIR)$(INCLUDEDIR)/strata/
	install -d $(DESTDIR)$(DATADIR)/bash-completion/completions $(DESTDIR)$(DATADIR)/zsh/site-functions \
		$(DESTDIR)$(MANDIR)/man1
	install -m 0644 $(BUILD)/docs/completion/strata.bash $(DESTDIR)$(DATADIR)/bash-completion/completions/strata
	install -m 0644 $(BUILD)/docs/completion/_strata $(DESTDIR)$(DATADIR)/zsh/site-functions/_strata
	install -m 0644 $(BUILD)/docs/man/*.1 $(DESTDIR)$(MANDIR)/man1/

clean:
	rm -rf build build-san build-fuzz strata

.PHONY: all check check-deps units install clean libstrata.a strata fuzz fuzz-build docs
-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(FORMAT_OBJ:.o=.d)
-include $(FUZZ_OBJ:.o=.d)
