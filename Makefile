# postern — a Postfix-style mail system in Go.
# "make help" lists the targets; "make check" is what CI runs.

GO        ?= go
PREFIX    ?= /usr
DESTDIR   ?=
SYSCONFDIR ?= /etc
BIN       := bin
DAEMONS   := master smtpd qmgr local smtp anvil pickup
COMMANDS  := postern sendmail
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.1.0)
LDFLAGS   := -s -w -X postern.dev/postern/libmail/version.Version=$(VERSION)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOIMPORTS   := golang.org/x/tools/cmd/goimports@v0.52.0

.PHONY: help build run test bench lint install generate check clean fuzz

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build every binary into ./bin
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/...

run: build ## sandbox in ./var (kept if it exists) and the master in the foreground
	@test -f var/postern.toml || $(BIN)/postern sandbox var
	$(BIN)/master -c var/postern.toml

test: build ## unit, fuzz-corpus, golden and end-to-end tests
	$(GO) test -count=1 ./...

bench: build ## postern against Debian's Postfix, side by side (needs root for Postfix)
	test/bench/run.sh

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

install: build ## install into DESTDIR/PREFIX (daemons in PREFIX/lib/postern)
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/lib/postern $(DESTDIR)$(SYSCONFDIR)/postern
	install -m 0755 $(addprefix $(BIN)/,$(COMMANDS)) $(DESTDIR)$(PREFIX)/sbin/
	install -m 0755 $(addprefix $(BIN)/,$(DAEMONS)) $(DESTDIR)$(PREFIX)/lib/postern/
	ln -sf sendmail $(DESTDIR)$(PREFIX)/sbin/mailq
	ln -sf sendmail $(DESTDIR)$(PREFIX)/sbin/newaliases
	test -e $(DESTDIR)$(SYSCONFDIR)/postern/postern.toml || install -m 0644 conf/postern.toml $(DESTDIR)$(SYSCONFDIR)/postern/postern.toml
	install -D -m 0644 conf/fail2ban/postern.conf $(DESTDIR)$(PREFIX)/share/postern/fail2ban/postern.conf
	for s in 1 5 7 8; do \
		if ls man/man$$s/*.$$s >/dev/null 2>&1; then \
			install -d $(DESTDIR)$(PREFIX)/share/man/man$$s; \
			install -m 0644 man/man$$s/*.$$s $(DESTDIR)$(PREFIX)/share/man/man$$s/; \
		fi; \
	done

clean: ## remove build output and the make-run sandbox
	rm -rf $(BIN) var
