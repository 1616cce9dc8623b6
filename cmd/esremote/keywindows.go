package main

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/esremote/esremote/reconcile"
)

// keyWindows are the two windows of an API-key link's credential (DESIGN
// §5), flags of plan, apply and run: --keystore-grace, the fallback for
// evidence that names no key, and --rotation-overlap, how long a new key
// is proven before the old one is invalidated.
type keyWindows struct {
	grace, overlap time.Duration
}

func (k *keyWindows) declare(fs *pflag.FlagSet) {
	fs.DurationVar(&k.grace, "keystore-grace", reconcile.DefaultKeystoreLoadGrace,
		"how long after esremote wrote a keystore entry a link whose evidence names no key (no credential shown, a refusal without a key id) counts as not loaded yet; evidence naming a key decides without it")
	fs.DurationVar(&k.overlap, "rotation-overlap", reconcile.DefaultRotationOverlap,
		"how long a rotation's new key must be proven in use before the old key is invalidated (a request proves it on one node only; every node must have loaded it)")
}

// set puts the windows on opts, or says which flag is wrong.
func (k keyWindows) set(opts *reconcile.Options) error {
	if k.grace <= 0 {
		return fmt.Errorf("--keystore-grace %s: give a positive duration such as 5m", k.grace)
	}
	if k.overlap <= 0 {
		return fmt.Errorf("--rotation-overlap %s: give a positive duration such as 15m", k.overlap)
	}
	opts.KeystoreLoadGrace, opts.RotationOverlap = k.grace, k.overlap
	return nil
}
