GO      ?= go
BIN     ?= bin/recloop
PKGS    ?= ./...
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)

.PHONY: build test demo bench lint fuzz clean echarts report-check

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/recloop

test:
	$(GO) vet $(PKGS)
	$(GO) test -race $(PKGS)

demo:
	$(GO) run ./cmd/recloop run scenarios/quickstart.yaml

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 $(PKGS)
	@dead=$$($(GO) run golang.org/x/tools/cmd/deadcode@v0.52.0 -test $(PKGS)); \
	if [ -n "$$dead" ]; then echo "unreachable functions (deadcode -test):"; echo "$$dead"; exit 1; fi
	$(GO) mod verify

# A short pass of every fuzz target, for local use.
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 15s $$pkg || exit 1; \
	  done; \
	done

clean:
	rm -rf bin out

# Refresh the ECharts build that reports embed (needs npm; ECHARTS_VERSION=5.x.y
# to move the pin). Commit reports/assets afterwards: go install users get it
# from the module and never need Node.
echarts:
	reports/assets/update-echarts.sh

# Opens the demo's report in headless Chromium with no network and checks
# every chart is drawn and the drill-down works (needs node and chromium).
# REPORT and SHOTS pick another report, e.g. make report-check REPORT=out/conversational/report.html
REPORT ?= out/quickstart/report.html
SHOTS ?= out/report-screenshots
report-check:
	@flag=; node -e 'process.exit(typeof WebSocket === "function" ? 0 : 1)' || flag=--experimental-websocket; \
	timeout 300 node $$flag reports/browsercheck/check.mjs $(REPORT) $(SHOTS)
