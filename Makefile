# esremote — the short list of things you run. `make demo` then `make test`.
GO       ?= go
BIN      ?= bin/esremote
PREFIX   ?= /usr/local
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)

.PHONY: build test lint demo bench install check-units fuzz clean

build: ## the binary, in bin/
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/esremote

test: ## every test, race detector on (CI runs exactly this)
	$(GO) test -race -count=1 ./...

lint: ## gofmt, go vet, and staticcheck when it is installed
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...
	@if command -v staticcheck >/dev/null; then staticcheck ./...; else echo "staticcheck not installed: skipped"; fi

demo: ## the guided tour on the built-in simulated world
	$(GO) run ./cmd/esremote demo

bench: ## benchmarks against the simulated world; see BENCHMARKS.md
	$(GO) test -run '^$$' -bench . -benchmem ./...

fuzz: ## a short run of the spec loader fuzzer
	$(GO) test -run '^$$' -fuzz FuzzLoad -fuzztime 30s ./spec

install: build ## binary, systemd unit and an example config
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/esremote

check-units: ## systemd-analyze verify on the unit
	systemd-analyze verify systemd/*.service

clean:
	rm -rf bin
