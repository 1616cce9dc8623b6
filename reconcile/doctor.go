package reconcile

import (
	"context"

	"github.com/esremote/esremote/reconcile/es"
)

// diagnose adds the likely cause of a configured but disconnected link to
// its findings (code link_disconnected), from the same checks esremote
// doctor runs. (Being built: issue 9.)
func (ps *passState) diagnose(ctx context.Context, local *es.Client, p *ConnectionPlan) {}
