# esremote — the short list of things you run. `make demo` then `make test`.
GO       ?= go
BIN      ?= bin/esremote
PREFIX   ?= /usr/local
VERSION  ?= $(shell packaging/version.sh)
LDFLAGS  := -X main.version=$(VERSION)
ARCH     ?= $(shell $(GO) env GOARCH)
# nfpm builds the .deb and .rpm; pinned, built from the Go module proxy on first use.
NFPM     ?= $(GO) run github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2

.PHONY: build test lint demo bench install package check-units fuzz clean

build: ## the binary, in bin/
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/esremote

test: ## every test, race detector on (CI runs exactly this)
	$(GO) test -race -count=1 -timeout 8m ./...

lint: ## gofmt, go vet, and staticcheck when it is installed
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...
	@if command -v staticcheck >/dev/null; then staticcheck ./...; else echo "staticcheck not installed: skipped"; fi

# demo: the build comes first and says so: on a cold machine it downloads and compiles
# the dependencies for minutes, and go build -v names each package as it compiles it
# (nothing when the cache is warm). Then the built binary runs the tour.
demo: ## the guided tour on the built-in simulated world
	@echo "make demo: building $(BIN) first: on a cold machine this downloads and compiles the dependencies (a few minutes; each package is named as it compiles)"
	$(GO) build -v -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/esremote
	$(BIN) demo

# bench: the DESIGN §8 figures against the sim with a 20 ms round trip. Four runs: the passes (steady at 10 to
# 1,000 clusters, first, reads alone, API-key world; go test runs each case twice, 1 pass then 3, each time on a
# world it builds first), about 300 edits of convergence (100 each in 3 cases at 1 and 8 clusters; about 0.33 s
# each, so about 100 s), 11 loads of 5,000 connections (about 0.35 s each) and the daemon footprint (two
# starts, 4 s of settle and idle each). About 5 minutes on BENCHMARKS.md's 2-CPU machine once compiled (its
# back-to-back run of 2026-12-07 took about 4 minutes a tree without the spec load and the reads alone), more
# under load. ESREMOTE_BENCH_FULL=1 adds the cases that take minutes each: the first pass of 200 clusters with
# the ledger on disk, convergence in 50 clusters.
bench: ## benchmarks against the simulated world; see BENCHMARKS.md
	$(GO) test -run '^$$' -bench 'PassSteady|PassFirst|Observe|PassAPIKey' -benchtime 3x -timeout 30m ./reconcile
	$(GO) test -run '^$$' -bench Convergence -benchtime 100x -timeout 30m ./reconcile
	$(GO) test -run '^$$' -bench Load -benchtime 10x -benchmem ./spec
	$(GO) test -run '^$$' -bench DaemonFootprint -benchtime 1x ./cmd/esremote

# fuzz: CI runs it after the tests (.ci/run); the first seconds go to the seed
# corpus in spec/testdata/fuzz/FuzzLoad (the hostile inputs of issue 18 among them).
FUZZTIME ?= 30s
fuzz: ## a bounded run of the spec loader fuzzer (FUZZTIME, default 30s)
	$(GO) test -run '^$$' -fuzz FuzzLoad -fuzztime $(FUZZTIME) ./spec

install: build ## binary, systemd unit and an example spec dir (never overwritten)
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/esremote
	install -D -m 0644 systemd/esremote.service $(DESTDIR)/etc/systemd/system/esremote.service
	test -e $(DESTDIR)/etc/esremote/connections || { install -d -m 0755 $(DESTDIR)/etc/esremote/connections && cp -R examples/api-key/. $(DESTDIR)/etc/esremote/connections/; }

# package: the binary (version from the git tag, packaging/version.sh), the unit
# with the packaged paths, /etc/esremote/connections/README.md, docs and examples,
# man pages and bash/zsh/fish completion made by the binary, the copyright file
# (DEP-5) and changelog.gz from the git history (packaging/nfpm.yaml). The maintainer scripts never enable or start the service.
package: ## .deb and .rpm in bin/, with nfpm
	rm -rf bin/pkg bin/esremote*.deb bin/esremote*.rpm && mkdir -p bin/pkg
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/pkg/esremote ./cmd/esremote
	sed -e 's|/usr/local/bin/esremote|/usr/bin/esremote|g' -e 's|/usr/local/share/doc/esremote/|/usr/share/doc/esremote/|g' \
		systemd/esremote.service > bin/pkg/esremote.service
	bin/pkg/esremote __man bin/pkg/man && gzip -9n bin/pkg/man/*.1
	mkdir -p bin/pkg/completions
	bin/pkg/esremote completion bash > bin/pkg/completions/esremote.bash
	bin/pkg/esremote completion zsh > bin/pkg/completions/_esremote
	bin/pkg/esremote completion fish > bin/pkg/completions/esremote.fish
	packaging/changelog.sh | gzip -9n > bin/pkg/changelog.gz
	for p in deb rpm; do VERSION='$(VERSION)' ARCH='$(ARCH)' $(NFPM) package -f packaging/nfpm.yaml -p $$p -t bin/ || exit 1; done

# The unit names /usr/local/bin/esremote; verify a copy pointing at the
# binary just built, so the check needs no install. The security score is
# quoted in docs/operations.md (--threshold=20, i.e. exposure 2.0, fails the target if it worsens).
check-units: build ## systemd-analyze verify and security on the unit; its ExecStartPre checks the secrets
	@grep -q '^ExecStartPre=/usr/local/bin/esremote validate --secrets ' systemd/esremote.service || \
		{ echo "check-units: ExecStartPre must run 'esremote validate --secrets': a missing secret must stop the start"; exit 1; }
	@tmp=$$(mktemp -d); \
	sed 's|/usr/local/bin/esremote|$(CURDIR)/$(BIN)|g' systemd/esremote.service > $$tmp/esremote.service && \
	systemd-analyze verify $$tmp/esremote.service && \
	systemd-analyze security --offline=yes --threshold=20 $$tmp/esremote.service; \
	rc=$$?; rm -rf $$tmp; exit $$rc

clean:
	rm -rf bin
