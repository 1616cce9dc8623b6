package reconcile

import (
	"fmt"
	"strings"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/cloud"
	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/reconcile/observe"
	"github.com/esremote/esremote/spec"
	"golang.org/x/time/rate"
)

// credentials resolves an Auth block into an API key or a user/password.
// Errors name the reference, never the value; they are terminal (a secret
// that cannot be read stays so until someone fixes it).
func (r *Reconciler) credentials(what string, a spec.Auth) (apiKey, user, pass string, err error) {
	switch {
	case a.APIKey != nil:
		s, err := a.APIKey.Resolve(r.opts.Getenv)
		if err != nil {
			return "", "", "", drift.Terminal(fmt.Errorf("%s: api key: %w", what, err))
		}
		return s.Reveal(), "", "", nil
	case a.Basic != nil:
		s, err := a.Basic.Password.Resolve(r.opts.Getenv)
		if err != nil {
			return "", "", "", drift.Terminal(fmt.Errorf("%s: password: %w", what, err))
		}
		// The header carries base64(user:password): remember that form
		// too, so that an echo of it is scrubbed like the password.
		spec.RememberBasic(a.Basic.Username, s.Reveal())
		return "", a.Basic.Username, s.Reveal(), nil
	}
	return "", "", "", drift.Terminal(fmt.Errorf("%s: %w", what, errNoAuth))
}

// ESClient returns the cached client of a cluster, rebuilt when its
// configuration (or the secret it resolves to) changed. Reusing clients
// keeps HTTP connections alive between passes.
func (r *Reconciler) ESClient(set *spec.Set, cl *spec.Cluster) (*es.Client, error) {
	key, user, pass, err := r.credentials("cluster "+cl.Name, cl.Elasticsearch.Auth)
	if err != nil {
		return nil, err
	}
	ca, err := readCA(set, cl, cl.Elasticsearch.CAFile)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", cl.Name, err)
	}
	fp := Fingerprint(strings.Join([]string{cl.Elasticsearch.URL, key, user, pass, string(ca), fmt.Sprint(cl.Elasticsearch.InsecureSkipVerify)}, "\x00"))
	r.mu.Lock()
	defer r.mu.Unlock()
	if e := r.es[cl.Name]; e != nil && e.fp == fp {
		return e.client, nil
	}
	c, err := es.New(es.Config{Name: cl.Name, URL: cl.Elasticsearch.URL, APIKey: key, Username: user, Password: pass,
		CACert: ca, InsecureSkipVerify: cl.Elasticsearch.InsecureSkipVerify, Timeout: r.opts.RequestTimeout,
		WriteGate: r.opts.WriteGate, OpaqueID: r.opts.Identity, Logger: r.opts.Logger, Wait: r.opts.Wait})
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", cl.Name, err)
	}
	if old := r.es[cl.Name]; old != nil {
		old.client.Close()
	}
	r.es[cl.Name] = &esEntry{fp: fp, client: c}
	return c, nil
}

// CloudClient returns the cached control-plane client of a cluster's
// deployment. The cloud client retries 429/5xx itself, honouring the
// rate-limit headers: that is its one retry layer.
func (r *Reconciler) CloudClient(set *spec.Set, cl *spec.Cluster) (*cloud.Client, error) {
	d := cl.Deployment
	key, user, pass, err := r.credentials("deployment of "+cl.Name, d.Auth)
	if err != nil {
		return nil, err
	}
	ca, err := readCA(set, cl, d.CAFile)
	if err != nil {
		return nil, fmt.Errorf("deployment of %s: %w", cl.Name, err)
	}
	fp := Fingerprint(strings.Join([]string{string(d.Platform), d.API, key, user, pass, string(ca)}, "\x00"))
	r.mu.Lock()
	defer r.mu.Unlock()
	if e := r.cloud[cl.Name]; e != nil && e.fp == fp {
		return e.client, nil
	}
	lim := r.cloudLimits[d.API]
	if lim == nil {
		lim = rate.NewLimiter(rate.Limit(r.opts.CloudRate), r.opts.CloudBurst)
		r.cloudLimits[d.API] = lim
	}
	c, err := cloud.New(cloud.Config{Name: cl.Name, Platform: cloud.Platform(d.Platform), URL: d.API,
		APIKey: key, Username: user, Password: pass, CACert: ca, Timeout: r.opts.RequestTimeout,
		Logger: r.opts.Logger, Limiter: lim, WriteGate: r.opts.WriteGate, OpaqueID: r.opts.Identity, Wait: r.opts.Wait})
	if err != nil {
		return nil, fmt.Errorf("deployment of %s: %w", cl.Name, err)
	}
	r.cloud[cl.Name] = &cloudEntry{fp: fp, client: c}
	return c, nil
}

// readCA is observe.ReadCA: a PEM file named by a spec document (obj),
// relative to that document's file.
func readCA(set *spec.Set, obj any, path string) ([]byte, error) {
	return observe.ReadCA(set, obj, path)
}
