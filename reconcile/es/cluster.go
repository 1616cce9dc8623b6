package es

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// Info reads GET / (privilege monitor).
func (c *Client) Info(ctx context.Context) (Info, error) {
	const op = "get cluster info"
	r, err := c.send(ctx, op, func(ctx context.Context) (*esapi.Response, error) {
		return c.es.Info(c.es.Info.WithContext(ctx))
	})
	if err != nil {
		return Info{}, err
	}
	var body struct {
		Name        string `json:"name"`
		ClusterName string `json:"cluster_name"`
		ClusterUUID string `json:"cluster_uuid"`
		Version     struct {
			Number      string `json:"number"`
			BuildFlavor string `json:"build_flavor"`
		} `json:"version"`
	}
	if err := c.decode(op, r, &body); err != nil {
		return Info{}, err
	}
	v, err := ParseVersion(body.Version.Number)
	if err != nil {
		return Info{}, &Error{Op: op, Target: c.name, Kind: ErrBadResponse, Status: r.status, Reason: err.Error()}
	}
	return Info{Name: body.Name, ClusterName: body.ClusterName, ClusterUUID: body.ClusterUUID,
		Version: v, BuildFlavor: body.Version.BuildFlavor}, nil
}

// Settings reads GET /_cluster/settings?flat_settings=true (privilege
// monitor). Both maps are non-nil.
func (c *Client) Settings(ctx context.Context) (Settings, error) {
	const op = "get cluster settings"
	r, err := c.send(ctx, op, func(ctx context.Context) (*esapi.Response, error) {
		return c.es.Cluster.GetSettings(c.es.Cluster.GetSettings.WithContext(ctx),
			c.es.Cluster.GetSettings.WithFlatSettings(true))
	})
	if err != nil {
		return Settings{}, err
	}
	if r.status < 300 {
		if s, ok := decodeSettings(r.body, &c.settingKeys); ok {
			return nonNil(s), nil
		}
	}
	var s Settings
	var body struct {
		Persistent *map[string]Value `json:"persistent"`
		Transient  *map[string]Value `json:"transient"`
	}
	body.Persistent, body.Transient = &s.Persistent, &s.Transient
	if err := c.decode(op, r, &body); err != nil {
		return Settings{}, err
	}
	return nonNil(s), nil
}

// nonNil makes both maps of s non-nil.
func nonNil(s Settings) Settings {
	if s.Persistent == nil {
		s.Persistent = map[string]Value{}
	}
	if s.Transient == nil {
		s.Transient = map[string]Value{}
	}
	return s
}

// PutSettings writes persistent cluster settings in one
// PUT /_cluster/settings?flat_settings=true (privilege manage). Keys are
// flat; Null removes a key. An empty map sends nothing.
//
// A 400 is ErrInvalid with Elasticsearch's validation message; a committed
// but unacknowledged change ("acknowledged": false) is ErrNotAcknowledged,
// which is retryable: the next pass observes what was applied.
//
// Elasticsearch answers only after every node applied the change, and a
// node waits up to 10 s for each alias whose connection changed
// (RemoteClusterService.updateRemoteCluster), so one PUT of several
// unreachable aliases can take tens of seconds. The request asks for an
// ack timeout (and a master timeout) of the client's timeout, and waits
// half as long again for the answer: a slow PUT comes back as
// acknowledged:false (ErrNotAcknowledged, maybe committed) instead of a
// client timeout. Either way the caller must observe again before
// deciding anything; nothing here retries a write.
func (c *Client) PutSettings(ctx context.Context, persistent map[string]Value) error {
	return c.PutScopedSettings(ctx, persistent, nil)
}

// PutScopedSettings is PutSettings with a transient part too, in the same
// request (esremote only ever removes transient keys: they override the
// persistent values it manages).
func (c *Client) PutScopedSettings(ctx context.Context, persistent, transient map[string]Value) error {
	const op = "put cluster settings"
	if len(persistent) == 0 && len(transient) == 0 {
		return nil
	}
	for _, m := range []map[string]Value{persistent, transient} {
		for k, v := range m {
			if !v.IsValid() {
				return fmt.Errorf("%s on %s: key %s has no value (use es.Null to remove it)", op, c.name, k)
			}
		}
	}
	req := map[string]any{}
	if len(persistent) > 0 {
		req["persistent"] = persistent
	}
	if len(transient) > 0 {
		req["transient"] = transient
	}
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("%s on %s: %w", op, c.name, err)
	}
	r, err := c.sendWithin(ctx, op, c.timeout+c.timeout/2, func(ctx context.Context) (*esapi.Response, error) {
		return c.es.Cluster.PutSettings(bytes.NewReader(body), c.es.Cluster.PutSettings.WithContext(ctx),
			c.es.Cluster.PutSettings.WithFlatSettings(true),
			c.es.Cluster.PutSettings.WithTimeout(c.timeout), c.es.Cluster.PutSettings.WithMasterTimeout(c.timeout))
	})
	var e *Error
	if errors.As(err, &e) && (e.Kind == ErrTimeout || e.Kind == ErrNetwork) {
		// The request may have reached the master: "maybe committed".
		e.Reason = strings.TrimPrefix(e.Reason+"; the change may be committed", "; ")
	}
	if err != nil {
		return err
	}
	var ack struct {
		Acknowledged bool `json:"acknowledged"`
	}
	if err := c.decode(op, r, &ack); err != nil {
		return err
	}
	if !ack.Acknowledged {
		return c.notAcknowledged(op, r.status)
	}
	return nil
}

func (c *Client) notAcknowledged(op string, status int) *Error {
	return &Error{Op: op, Target: c.name, Kind: ErrNotAcknowledged, Status: status,
		Reason: "not acknowledged by all nodes within the timeout (the change may be committed)"}
}

// RemoteInfo reads GET /_remote/info (privilege monitor): every enabled
// alias, keyed by alias. The map is non-nil.
func (c *Client) RemoteInfo(ctx context.Context) (map[string]RemoteInfo, error) {
	const op = "get remote info"
	r, err := c.send(ctx, op, func(ctx context.Context) (*esapi.Response, error) {
		return c.es.Cluster.RemoteInfo(c.es.Cluster.RemoteInfo.WithContext(ctx))
	})
	if err != nil {
		return nil, err
	}
	if r.status < 300 {
		if out, ok := decodeRemoteInfo(r.body, &c.aliasKeys); ok {
			return out, nil
		}
	}
	out := map[string]RemoteInfo{}
	if err := c.decode(op, r, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// ResolveCluster reads GET /_resolve/cluster/{expr} (Elasticsearch 8.13+),
// which, unlike _remote/info, actively contacts the remotes. expr is an
// index expression such as "alias:*"; an empty expr asks for every remote
// (8.18+). On a version without the endpoint the error is ErrUnsupported.
func (c *Client) ResolveCluster(ctx context.Context, expr string) (map[string]ResolvedCluster, error) {
	return c.ResolveClusterWith(ctx, expr, ResolveOptions{})
}

// ResolveOptions bound a _resolve/cluster request.
type ResolveOptions struct {
	// Timeout is sent as ?timeout= (Elasticsearch 8.18+ only: older
	// versions refuse the parameter with a 400): a remote that has not
	// answered by then is reported connected:false with
	// "Request timed out before receiving a response from the remote
	// cluster" (TransportResolveClusterAction, PR #120542). Zero sends none.
	Timeout time.Duration
	// Deadline bounds the request on the client side; zero means the
	// client's request timeout.
	Deadline time.Duration
}

// ResolveClusterWith is ResolveCluster bounded by o.
func (c *Client) ResolveClusterWith(ctx context.Context, expr string, o ResolveOptions) (map[string]ResolvedCluster, error) {
	const op = "resolve cluster"
	d := o.Deadline
	if d <= 0 {
		d = c.timeout
	}
	r, err := c.sendWithin(ctx, op, d, func(ctx context.Context) (*esapi.Response, error) {
		opts := []func(*esapi.IndicesResolveClusterRequest){c.es.Indices.ResolveCluster.WithContext(ctx)}
		if expr != "" {
			opts = append(opts, c.es.Indices.ResolveCluster.WithName(expr))
		}
		if o.Timeout > 0 {
			opts = append(opts, c.es.Indices.ResolveCluster.WithTimeout(o.Timeout))
		}
		return c.es.Indices.ResolveCluster(opts...)
	})
	if err != nil {
		return nil, err
	}
	out := map[string]ResolvedCluster{}
	if err := c.decode(op, r, &out); err != nil {
		if e, ok := err.(*Error); ok && noSuchEndpoint(e) {
			need := "8.13+"
			if expr == "" {
				need = "8.18+ without an expression"
			}
			e.Kind = ErrUnsupported
			e.Reason = "the cluster's version has no _resolve/cluster endpoint (needs " + need + "): " + e.Reason
		}
		return nil, err
	}
	return out, nil
}

// noSuchEndpoint reports whether Elasticsearch said it has no handler for
// the request's path, which is how a version without an endpoint answers
// ("no handler found for uri [...] and method [GET]", 400; or 405
// "Incorrect HTTP method for uri").
func noSuchEndpoint(e *Error) bool {
	switch e.Status {
	case http.StatusBadRequest, http.StatusNotFound, http.StatusMethodNotAllowed:
		return strings.Contains(e.Reason, "no handler found for uri") ||
			strings.Contains(e.Reason, "Incorrect HTTP method for uri")
	}
	return false
}

// SearchResult is the summary of a size-0 search, enough to tell whether a
// cross-cluster search path works.
type SearchResult struct {
	TookMillis int64 `json:"took"`
	TimedOut   bool  `json:"timed_out"`
	Shards     struct {
		Total      int `json:"total"`
		Successful int `json:"successful"`
		Skipped    int `json:"skipped"`
		Failed     int `json:"failed"`
		Failures   []struct {
			Index  string `json:"index"`
			Reason Cause  `json:"reason"`
		} `json:"failures,omitempty"`
	} `json:"_shards"`
	Hits struct {
		Total struct {
			Value    int64  `json:"value"`
			Relation string `json:"relation"`
		} `json:"total"`
	} `json:"hits"`
	// Clusters is present for cross-cluster searches.
	Clusters *struct {
		Total      int `json:"total"`
		Successful int `json:"successful"`
		Skipped    int `json:"skipped"`
		Running    int `json:"running"`
		Partial    int `json:"partial"`
		Failed     int `json:"failed"`
	} `json:"_clusters,omitempty"`
}

// Search runs POST /{index}/_search?size=0 with the given query (nil means
// match_all): a canary for a cross-cluster link, e.g. index "alias:logs*".
// It never returns documents.
func (c *Client) Search(ctx context.Context, index string, query json.RawMessage) (SearchResult, error) {
	op := "search " + index
	var body []byte
	if len(query) > 0 {
		b, err := json.Marshal(map[string]json.RawMessage{"query": query})
		if err != nil {
			return SearchResult{}, fmt.Errorf("%s on %s: invalid query: %w", op, c.name, err)
		}
		body = b
	}
	r, err := c.send(ctx, op, func(ctx context.Context) (*esapi.Response, error) {
		opts := []func(*esapi.SearchRequest){c.es.Search.WithContext(ctx), c.es.Search.WithSize(0)}
		if index != "" {
			opts = append(opts, c.es.Search.WithIndex(index))
		}
		if body != nil {
			opts = append(opts, c.es.Search.WithBody(bytes.NewReader(body)))
		}
		return c.es.Search(opts...)
	})
	if err != nil {
		return SearchResult{}, err
	}
	var res SearchResult
	if err := c.decode(op, r, &res); err != nil {
		return SearchResult{}, err
	}
	return res, nil
}
