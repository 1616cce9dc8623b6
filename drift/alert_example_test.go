package drift_test

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/esremote/esremote/drift"
)

// How the daemon wires metrics and alerts around its passes.
func ExampleAlerter() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	metrics := drift.NewMetrics()
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics.Handler())

	alerter, err := drift.NewAlerter(drift.AlertConfig{
		// AlertmanagerURLs, WebhookURL, SlackWebhookURL come from flags.
		// The daemon's --external-url: alerts link to its pages.
		ExternalURL: "https://esremote.example.com",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	go alerter.Run(ctx)

	// After loading the specs (and after every reload):
	metrics.ObserveReload(true, time.Now())
	alerter.SpecValid()

	// After every pass:
	start := time.Now()
	r := drift.New(drift.ModeRun, drift.TriggerResync, start)
	r.Connections = append(r.Connections, drift.Connection{Name: "a-to-b", Local: "a", Alias: "b",
		Security: "api_key", Policy: "report", Sync: drift.SyncDrifted, Health: drift.HealthConnected})
	r.Tally()
	metrics.Observe(r, time.Since(start))
	for _, a := range alerter.Observe(r) {
		fmt.Println(a.Name(), a.Labels["connection"], a.Resolved())
	}

	// On shutdown, before cancelling Run:
	flushCtx, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	alerter.Flush(flushCtx)
	// Output:
	// EsremoteConnectionDrifted a-to-b false
}
