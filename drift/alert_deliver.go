package drift

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// deliverer is one sink's queue and worker: batches are sent in order, each
// retried with capped exponential backoff until it is delivered, refused
// for good or out of attempts. Enqueueing never blocks; a full queue drops
// the batch with a log line.
type deliverer struct {
	sink     Sink
	queue    chan []Alert
	clock    Clock
	log      *slog.Logger
	attempts int
	backoff  time.Duration
	max      time.Duration
	timeout  time.Duration

	mu      sync.Mutex
	pending int           // batches queued or being delivered
	idle    chan struct{} // closed while pending is zero
}

func newDeliverer(s Sink, cfg AlertConfig, clock Clock, log *slog.Logger) *deliverer {
	idle := make(chan struct{})
	close(idle)
	return &deliverer{
		sink:     s,
		queue:    make(chan []Alert, cmp.Or(cfg.QueueSize, DefaultAlertQueue)),
		clock:    clock,
		log:      log.With("sink", s.Name()),
		attempts: cmp.Or(cfg.MaxAttempts, DefaultAlertAttempts),
		backoff:  cmp.Or(cfg.Backoff, DefaultAlertBackoff),
		max:      cmp.Or(cfg.BackoffMax, DefaultAlertBackoffMax),
		timeout:  cmp.Or(cfg.Timeout, DefaultAlertTimeout),
		idle:     idle,
	}
}

// enqueue queues batch without blocking, or drops it when the queue is full.
func (d *deliverer) enqueue(batch []Alert) {
	d.mu.Lock()
	defer d.mu.Unlock()
	select {
	case d.queue <- batch:
		if d.pending == 0 {
			d.idle = make(chan struct{})
		}
		d.pending++
	default:
		d.log.Warn("alert queue full, batch dropped", "alerts", len(batch))
	}
}

// done marks one batch delivered or dropped.
func (d *deliverer) done() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.pending--
	if d.pending == 0 {
		close(d.idle)
	}
}

// idleChan is closed once nothing is queued or being delivered.
func (d *deliverer) idleChan() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.idle
}

func (d *deliverer) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case batch := <-d.queue:
			d.deliver(ctx, batch)
			d.done()
		}
	}
}

// deliver sends batch, retrying with backoff.
func (d *deliverer) deliver(ctx context.Context, batch []Alert) {
	for attempt := 1; ; attempt++ {
		sctx, cancel := context.WithTimeout(ctx, d.timeout)
		err := d.sink.Send(sctx, batch)
		cancel()
		if err == nil {
			if attempt > 1 {
				d.log.Info("alerts delivered", "alerts", len(batch), "attempt", attempt)
			}
			return
		}
		if ctx.Err() != nil {
			return
		}
		if _, ok := errors.AsType[*PermanentError](err); ok || attempt >= d.attempts {
			d.log.Warn("alert delivery dropped", "alerts", len(batch), "attempt", attempt, "err", err)
			return
		}
		wait := d.wait(attempt)
		d.log.Info("alert delivery failed, retrying", "attempt", attempt, "retry_in", wait, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-d.clock.After(wait):
		}
	}
}

// wait is the pause after the given failed attempt: backoff doubled per
// attempt, capped at max. There is no jitter: each sink is one receiver
// fed by one daemon, so there is no herd to spread.
func (d *deliverer) wait(attempt int) time.Duration {
	w := d.backoff
	for i := 1; i < attempt && w < d.max; i++ {
		w *= 2
	}
	return min(w, d.max)
}
