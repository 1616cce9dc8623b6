package drift_test

import (
	"fmt"
	"os"
	"time"

	"github.com/esremote/esremote/drift"
)

// The engine fills a report, sorts and tallies it, then renders it.
func ExampleWriteText() {
	r := drift.New(drift.ModePlan, drift.TriggerPlan, time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC))
	r.Connections = append(r.Connections, drift.Connection{
		Name: "analytics-to-ece-logs", Local: "ech-analytics", Alias: "ece-prod-logs",
		Security: "api_key", Policy: "enforce", Sync: drift.SyncDrifted, Health: drift.HealthConnected,
		Changes: []drift.Change{{
			Resource: drift.ResourceClusterSetting, Target: "ech-analytics",
			Key: "cluster.remote.ece-prod-logs.proxy_address", Action: drift.ActionUpdate,
			Actual: "logs.example:9400", Desired: "logs.example:9443", Origin: drift.OriginExternal,
		}},
	})
	r.Sort()
	r.Tally()
	if err := drift.WriteText(os.Stdout, r, drift.TextOptions{}); err != nil {
		fmt.Println(err)
	}
	// Output:
	// ~ connection analytics-to-ece-logs (ech-analytics → ece-prod-logs) [drifted, connected]
	//     ~ cluster_setting cluster.remote.ece-prod-logs.proxy_address: logs.example:9400 → logs.example:9443 (external)
	//
	// Plan: 0 to add, 1 to change, 0 to delete.
}

func ExampleRedacted() {
	fmt.Println(drift.Redacted("sha256:ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12"))
	// Output: <redacted> sha256:ab12cd34
}
