package world

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
)

// Trust is an Elasticsearch resource's settings.trust
// (ElasticsearchClusterTrustSettings, cloud-api.md §2.2).
//
// Every entry keeps the raw JSON it was decoded from. When a Trust is
// encoded (MarshalJSON, UpdateTrust), an entry whose known fields still
// equal what its Raw says is written back byte-for-byte; an entry whose
// known fields were changed is written as its Raw object with only those
// known fields replaced, so fields this package does not model survive; an
// entry without Raw (a new one) is written from its fields alone. The three
// lists are always written, as [] when empty, never null. Members of the
// trust object other than the three lists are kept from Raw.
type Trust struct {
	Accounts []AccountTrust
	External []ExternalTrust
	Direct   []DirectTrust
	// Raw is the trust object as read; nil for a Trust built in code.
	Raw json.RawMessage
}

// AccountTrust trusts clusters of one account (ECH: an organization).
type AccountTrust struct {
	AccountID      string   // account_id
	Name           string   // name
	TrustAll       bool     // trust_all
	TrustAllowlist []string // trust_allowlist: ES cluster IDs, used when TrustAll is false
	Raw            json.RawMessage
}

// ExternalTrust trusts clusters of an ECE environment through a
// platform-level trust relationship.
type ExternalTrust struct {
	TrustRelationshipID string   // trust_relationship_id
	Name                string   // name (read-only: ignored on write by the API)
	TrustAll            bool     // trust_all
	TrustAllowlist      []string // trust_allowlist
	Raw                 json.RawMessage
}

// Direct trust types (DirectTrustRelationship.type).
const (
	DirectECE     = "ECE"     // an ECE environment; ScopeID is its environment ID
	DirectESS     = "ESS"     // ECH; ScopeID is the organization ID
	DirectGeneric = "generic" // the default when type is unset
	DirectProxy   = "proxy"   // a proxy CA (API-key model with a private proxy certificate)
)

// DirectTrust trusts clusters signed by the bundled certificates.
type DirectTrust struct {
	UID                 string // uid: server-generated; keep it for existing entries
	Name                string // name
	Type                string // type: DirectECE, DirectESS, DirectGeneric, DirectProxy or ""
	TrustAll            bool
	TrustAllowlist      []string
	ScopeID             string   // scope_id: environment or organization ID
	AdditionalNodeNames []string // additional_node_names
	Certificates        []TrustedCertificate
	Raw                 json.RawMessage
}

// TrustedCertificate is one CA of a direct trust entry. The read-only
// metadata the API adds on read is kept in Raw only.
type TrustedCertificate struct {
	PEM string
	Raw json.RawMessage
}

// ParseTrust decodes a settings.trust object; null or empty input gives an
// empty Trust.
func ParseTrust(raw json.RawMessage) (Trust, error) {
	var t Trust
	if err := t.UnmarshalJSON(raw); err != nil {
		return Trust{}, err
	}
	return t, nil
}

// Clone returns a deep copy of t, so that a desired trust can be edited
// without changing the observed one it started from.
func (t Trust) Clone() Trust {
	c := Trust{Raw: slices.Clone(t.Raw)}
	for _, a := range t.Accounts {
		a.TrustAllowlist, a.Raw = slices.Clone(a.TrustAllowlist), slices.Clone(a.Raw)
		c.Accounts = append(c.Accounts, a)
	}
	for _, x := range t.External {
		x.TrustAllowlist, x.Raw = slices.Clone(x.TrustAllowlist), slices.Clone(x.Raw)
		c.External = append(c.External, x)
	}
	for _, d := range t.Direct {
		d.TrustAllowlist, d.AdditionalNodeNames, d.Raw = slices.Clone(d.TrustAllowlist), slices.Clone(d.AdditionalNodeNames), slices.Clone(d.Raw)
		certs := make([]TrustedCertificate, 0, len(d.Certificates))
		for _, tc := range d.Certificates {
			certs = append(certs, TrustedCertificate{PEM: tc.PEM, Raw: slices.Clone(tc.Raw)})
		}
		d.Certificates = certs
		c.Direct = append(c.Direct, d)
	}
	return c
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *Trust) UnmarshalJSON(data []byte) error {
	*t = Trust{}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || string(data) == "null" {
		return nil
	}
	var w struct {
		Accounts []AccountTrust  `json:"accounts"`
		External []ExternalTrust `json:"external"`
		Direct   []DirectTrust   `json:"direct"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return fmt.Errorf("decode trust: %w", err)
	}
	t.Accounts, t.External, t.Direct = w.Accounts, w.External, w.Direct
	t.Raw = slices.Clone(json.RawMessage(data))
	return nil
}

// MarshalJSON encodes t as described on Trust. (When nested in a larger
// json.Marshal, encoding/json compacts the whitespace of raw entries;
// UpdateTrust builds its body itself and keeps them exactly.)
func (t Trust) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	writeList := func(key string, n int, enc func(i int) ([]byte, error)) error {
		b.WriteString(`"` + key + `":[`)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			e, err := enc(i)
			if err != nil {
				return fmt.Errorf("trust %s[%d]: %w", key, i, err)
			}
			b.Write(e)
		}
		b.WriteByte(']')
		return nil
	}
	if err := writeList("accounts", len(t.Accounts), func(i int) ([]byte, error) { return t.Accounts[i].encode() }); err != nil {
		return nil, err
	}
	b.WriteByte(',')
	if err := writeList("direct", len(t.Direct), func(i int) ([]byte, error) { return t.Direct[i].encode() }); err != nil {
		return nil, err
	}
	b.WriteByte(',')
	if err := writeList("external", len(t.External), func(i int) ([]byte, error) { return t.External[i].encode() }); err != nil {
		return nil, err
	}
	if len(t.Raw) > 0 {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(t.Raw, &m); err != nil {
			return nil, fmt.Errorf("trust: raw: %w", err)
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if k == "accounts" || k == "direct" || k == "external" {
				continue
			}
			kb, err := marshal(k)
			if err != nil {
				return nil, err
			}
			b.WriteByte(',')
			b.Write(kb)
			b.WriteByte(':')
			b.Write(m[k])
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON implements json.Unmarshaler, keeping the raw entry.
func (a *AccountTrust) UnmarshalJSON(data []byte) error {
	var w struct {
		AccountID      string   `json:"account_id"`
		Name           string   `json:"name"`
		TrustAll       bool     `json:"trust_all"`
		TrustAllowlist []string `json:"trust_allowlist"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*a = AccountTrust{AccountID: w.AccountID, Name: w.Name, TrustAll: w.TrustAll, TrustAllowlist: w.TrustAllowlist,
		Raw: slices.Clone(json.RawMessage(data))}
	return nil
}

// MarshalJSON implements json.Marshaler (see Trust for the rules).
func (a AccountTrust) MarshalJSON() ([]byte, error) { return a.encode() }

// Equal reports whether a and o have the same known fields (Raw and the
// difference between a nil and an empty list are ignored).
func (a AccountTrust) Equal(o AccountTrust) bool {
	return a.AccountID == o.AccountID && a.Name == o.Name && a.TrustAll == o.TrustAll &&
		slices.Equal(a.TrustAllowlist, o.TrustAllowlist)
}

func (a AccountTrust) encode() ([]byte, error) {
	fields := []field{
		{key: "account_id", val: a.AccountID},
		{key: "name", val: a.Name, omit: a.Name == ""},
		{key: "trust_all", val: a.TrustAll},
		{key: "trust_allowlist", val: list(a.TrustAllowlist)},
	}
	if len(a.Raw) > 0 {
		var orig AccountTrust
		if err := orig.UnmarshalJSON(a.Raw); err == nil && orig.Equal(a) {
			return a.Raw, nil
		}
		return mergeRaw(a.Raw, fields)
	}
	return object(fields)
}

// UnmarshalJSON implements json.Unmarshaler, keeping the raw entry.
func (x *ExternalTrust) UnmarshalJSON(data []byte) error {
	var w struct {
		TrustRelationshipID string   `json:"trust_relationship_id"`
		Name                string   `json:"name"`
		TrustAll            bool     `json:"trust_all"`
		TrustAllowlist      []string `json:"trust_allowlist"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*x = ExternalTrust{TrustRelationshipID: w.TrustRelationshipID, Name: w.Name, TrustAll: w.TrustAll,
		TrustAllowlist: w.TrustAllowlist, Raw: slices.Clone(json.RawMessage(data))}
	return nil
}

// MarshalJSON implements json.Marshaler (see Trust for the rules).
func (x ExternalTrust) MarshalJSON() ([]byte, error) { return x.encode() }

// Equal reports whether x and o have the same known fields.
func (x ExternalTrust) Equal(o ExternalTrust) bool {
	return x.TrustRelationshipID == o.TrustRelationshipID && x.Name == o.Name && x.TrustAll == o.TrustAll &&
		slices.Equal(x.TrustAllowlist, o.TrustAllowlist)
}

func (x ExternalTrust) encode() ([]byte, error) {
	fields := []field{
		{key: "trust_relationship_id", val: x.TrustRelationshipID},
		{key: "name", val: x.Name, omit: x.Name == ""},
		{key: "trust_all", val: x.TrustAll},
		{key: "trust_allowlist", val: list(x.TrustAllowlist)},
	}
	if len(x.Raw) > 0 {
		var orig ExternalTrust
		if err := orig.UnmarshalJSON(x.Raw); err == nil && orig.Equal(x) {
			return x.Raw, nil
		}
		return mergeRaw(x.Raw, fields)
	}
	return object(fields)
}

// UnmarshalJSON implements json.Unmarshaler, keeping the raw entry.
func (d *DirectTrust) UnmarshalJSON(data []byte) error {
	var w struct {
		UID                 string               `json:"uid"`
		Name                string               `json:"name"`
		Type                string               `json:"type"`
		TrustAll            bool                 `json:"trust_all"`
		TrustAllowlist      []string             `json:"trust_allowlist"`
		ScopeID             string               `json:"scope_id"`
		AdditionalNodeNames []string             `json:"additional_node_names"`
		Certificates        []TrustedCertificate `json:"certificates"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*d = DirectTrust{UID: w.UID, Name: w.Name, Type: w.Type, TrustAll: w.TrustAll, TrustAllowlist: w.TrustAllowlist,
		ScopeID: w.ScopeID, AdditionalNodeNames: w.AdditionalNodeNames, Certificates: w.Certificates,
		Raw: slices.Clone(json.RawMessage(data))}
	return nil
}

// MarshalJSON implements json.Marshaler (see Trust for the rules).
func (d DirectTrust) MarshalJSON() ([]byte, error) { return d.encode() }

// Equal reports whether d and o have the same known fields (certificates
// are compared by PEM).
func (d DirectTrust) Equal(o DirectTrust) bool {
	return d.UID == o.UID && d.Name == o.Name && d.Type == o.Type && d.TrustAll == o.TrustAll &&
		slices.Equal(d.TrustAllowlist, o.TrustAllowlist) && d.ScopeID == o.ScopeID &&
		slices.Equal(d.AdditionalNodeNames, o.AdditionalNodeNames) &&
		slices.EqualFunc(d.Certificates, o.Certificates, func(a, b TrustedCertificate) bool { return a.PEM == b.PEM })
}

// PEMs lists the PEM of every certificate.
func (d DirectTrust) PEMs() []string {
	out := make([]string, 0, len(d.Certificates))
	for _, c := range d.Certificates {
		out = append(out, c.PEM)
	}
	return out
}

func (d DirectTrust) encode() ([]byte, error) {
	certs := make([]json.RawMessage, 0, len(d.Certificates))
	for i, c := range d.Certificates {
		e, err := c.encode()
		if err != nil {
			return nil, fmt.Errorf("certificates[%d]: %w", i, err)
		}
		certs = append(certs, e)
	}
	proxy := d.Type == DirectProxy
	fields := []field{
		{key: "uid", val: d.UID, omit: d.UID == ""},
		{key: "name", val: d.Name},
		{key: "type", val: d.Type, omit: d.Type == ""},
		{key: "scope_id", val: d.ScopeID, omit: d.ScopeID == ""},
		{key: "trust_all", val: d.TrustAll},
		// A proxy entry must not carry an allowlist (cloud-api.md §2.2).
		{key: "trust_allowlist", val: list(d.TrustAllowlist), omit: proxy && len(d.TrustAllowlist) == 0},
		{key: "additional_node_names", val: list(d.AdditionalNodeNames), omit: len(d.AdditionalNodeNames) == 0},
		{key: "certificates", val: certs},
	}
	if len(d.Raw) > 0 {
		var orig DirectTrust
		if err := orig.UnmarshalJSON(d.Raw); err == nil && orig.Equal(d) {
			return d.Raw, nil
		}
		return mergeRaw(d.Raw, fields)
	}
	return object(fields)
}

// UnmarshalJSON implements json.Unmarshaler, keeping the raw certificate.
func (c *TrustedCertificate) UnmarshalJSON(data []byte) error {
	var w struct {
		PEM string `json:"pem"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*c = TrustedCertificate{PEM: w.PEM, Raw: slices.Clone(json.RawMessage(data))}
	return nil
}

// MarshalJSON implements json.Marshaler: Raw when its PEM is unchanged,
// else {"pem": …}.
func (c TrustedCertificate) MarshalJSON() ([]byte, error) { return c.encode() }

func (c TrustedCertificate) encode() ([]byte, error) {
	if len(c.Raw) > 0 {
		var orig TrustedCertificate
		if err := orig.UnmarshalJSON(c.Raw); err == nil && orig.PEM == c.PEM {
			return c.Raw, nil
		}
	}
	return object([]field{{key: "pem", val: c.PEM}})
}

// field is one member of a JSON object being written.
type field struct {
	key  string
	val  any
	omit bool
}

// list turns a nil slice into an empty one so it encodes as [].
func list(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// object writes fields in order as a JSON object.
func object(fields []field) ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	n := 0
	for _, f := range fields {
		if f.omit {
			continue
		}
		v, err := marshal(f.val)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.key, err)
		}
		if n > 0 {
			b.WriteByte(',')
		}
		k, _ := marshal(f.key)
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
		n++
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// mergeRaw writes raw with the given known fields replaced (or removed when
// omitted) and every other member kept. Members are written in sorted order.
func mergeRaw(raw json.RawMessage, fields []field) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("raw entry: %w", err)
	}
	if m == nil {
		m = map[string]json.RawMessage{}
	}
	for _, f := range fields {
		if f.omit {
			delete(m, f.key)
			continue
		}
		v, err := marshal(f.val)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.key, err)
		}
		m[f.key] = v
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		b.Write(m[k])
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// marshal encodes v without HTML escaping (PEMs and names stay readable)
// and without the encoder's trailing newline.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
