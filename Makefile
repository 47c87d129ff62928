# postern — a Postfix-style mail system in Go.
# "make help" lists the targets; "make check" is what CI runs.

GO        ?= go
PREFIX    ?= /usr
DESTDIR   ?=
SYSCONFDIR ?= /etc
UNITDIR   ?= $(PREFIX)/lib/systemd/system
BIN       := bin
BUILD     ?= build
DAEMONS   := master smtpd postscreen qmgr local smtp anvil showq pickup imapd pop3d
COMMANDS  := postern sendmail
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.1.0)
LDFLAGS   := -s -w -X postern.dev/postern/libmail/version.Version=$(VERSION)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOIMPORTS   := golang.org/x/tools/cmd/goimports@v0.52.0
# make bench BENCH=...: all (the matrix and the rest, ~30-40 min), quick
# (10 sessions, 5 KB, relay and local, < 3 min), relay, local, dkim,
# inbound, mailbox, idle, bigmsg, deferred; see test/bench/run.sh -h.
BENCH     ?= all

.PHONY: help build run test bench lint install install-files deb rpm generate check clean fuzz

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build every binary into ./bin
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/...

run: build ## sandbox in ./var (kept if it exists) and the master in the foreground
	@test -f var/postern.toml || $(BIN)/postern sandbox var
	$(BIN)/master -c var/postern.toml

test: build ## unit, fuzz-corpus, golden and end-to-end tests
	$(GO) test -count=1 ./...

bench: build ## postern against Debian's Postfix, one table (BENCH=all|quick|relay|local|...; root for Postfix)
	test/bench/run.sh $(BENCH)

lint: ## gofmt, goimports grouping, go vet, staticcheck, mandoc -Tlint on the man pages
	@fmt=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$fmt" ]; then echo "gofmt needed:"; echo "$$fmt"; exit 1; fi
	@imp=$$($(GO) run $(GOIMPORTS) -local postern.dev/postern -l $$(git ls-files '*.go')); if [ -n "$$imp" ]; then echo "goimports -local postern.dev/postern needed (standard library, other modules, postern: three groups):"; echo "$$imp"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	@command -v mandoc >/dev/null || { echo "mandoc is needed to check the man pages (apt-get install mandoc)"; exit 1; }
	mandoc -Tlint -W warning man/man*/*.[1-8]

generate: ## regenerate conf/postern.toml and the parameter man page from the parameter table
	UPDATE_GENERATED=1 $(GO) test -count=1 -run TestGeneratedFilesAreCurrent ./libmail/config/

fuzz: ## run every fuzz target for FUZZTIME (default 30s) each
	test/tools/fuzz-all.sh $(or $(FUZZTIME),30s)

check: lint test ## what CI runs

install: install-files ## install into DESTDIR/PREFIX; without DESTDIR also users, spool, aliases, accounts
	@if [ -z "$(DESTDIR)" ]; then \
		POSTERN=$(PREFIX)/sbin/postern CONF=$(SYSCONFDIR)/postern/postern.toml sh packaging/post-install; \
	else \
		echo "DESTDIR set: not creating users or the spool (run $(PREFIX)/lib/postern/post-install on the target)"; \
	fi

# install-files copies the files and changes nothing else on the system;
# make deb and make rpm package exactly what it installs. Man pages are
# gzipped (Debian policy 12.1). sendmail is one of the COMMANDS, with
# mailq, newaliases and /usr/lib/sendmail as links to it (it acts by its
# name).
install-files: build ## the files of make install only, into DESTDIR (what the packages hold)
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/postern $(DESTDIR)$(SYSCONFDIR)/postern
	install -m 0755 $(addprefix $(BIN)/,$(COMMANDS)) $(DESTDIR)$(PREFIX)/sbin/
	install -m 0755 $(addprefix $(BIN)/,$(DAEMONS)) $(DESTDIR)$(PREFIX)/lib/postern/
	install -m 0755 packaging/post-install $(DESTDIR)$(PREFIX)/lib/postern/post-install
	ln -sf ../sbin/sendmail $(DESTDIR)$(PREFIX)/bin/mailq
	ln -sf ../sbin/sendmail $(DESTDIR)$(PREFIX)/bin/newaliases
	ln -sf ../sbin/sendmail $(DESTDIR)$(PREFIX)/lib/sendmail
	test -e $(DESTDIR)$(SYSCONFDIR)/postern/postern.toml || install -m 0644 conf/postern.toml $(DESTDIR)$(SYSCONFDIR)/postern/postern.toml
	install -D -m 0644 conf/fail2ban/postern.conf $(DESTDIR)$(PREFIX)/share/postern/fail2ban/postern.conf
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(PREFIX)/share/doc/postern
	sed 's|@DAEMONDIR@|$(PREFIX)/lib/postern|g; s|@SBINDIR@|$(PREFIX)/sbin|g; s|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		packaging/postern.service >$(DESTDIR)$(UNITDIR)/postern.service
	install -m 0644 packaging/copyright $(DESTDIR)$(PREFIX)/share/doc/postern/copyright
	gzip -9nc packaging/changelog >$(DESTDIR)$(PREFIX)/share/doc/postern/changelog.gz
	chmod 0644 $(DESTDIR)$(UNITDIR)/postern.service $(DESTDIR)$(PREFIX)/share/doc/postern/changelog.gz
	for s in 1 5 7 8; do \
		for f in man/man$$s/*.$$s; do \
			[ -e "$$f" ] || continue; \
			install -d $(DESTDIR)$(PREFIX)/share/man/man$$s; \
			gzip -9nc "$$f" >$(DESTDIR)$(PREFIX)/share/man/man$$s/$${f##*/}.gz; \
			chmod 0644 $(DESTDIR)$(PREFIX)/share/man/man$$s/$${f##*/}.gz; \
		done; \
	done

# The packages are built by nfpm (github.com/goreleaser/nfpm), pinned in
# the tools module packaging/go.mod so that the main module's dependencies
# stay those of the mail system. The file list comes from install-files,
# staged in $(BUILD)/root.
package-%:
	rm -rf $(BUILD)/root
	$(MAKE) install-files DESTDIR=$(abspath $(BUILD))/root PREFIX=/usr SYSCONFDIR=/etc UNITDIR=/usr/lib/systemd/system
	sh packaging/nfpm-contents.sh $(BUILD)/root >$(BUILD)/nfpm.yaml
	cd packaging && POSTERN_ARCH=$$($(GO) env GOARCH) POSTERN_VERSION=$$(sh version.sh '$(VERSION)') $(GO) tool nfpm package -f $(abspath $(BUILD))/nfpm.yaml \
		-p $* -t $(abspath $(BUILD))/

deb: package-deb ## build the Debian package into ./build (nfpm)

rpm: package-rpm ## build the RPM package into ./build (nfpm)

clean: ## remove build output and the make-run sandbox
	rm -rf $(BIN) var $(BUILD)
