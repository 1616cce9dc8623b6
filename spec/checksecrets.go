package spec

// CheckSecrets reads every secret the set references, as a pass would
// (SecretRef.Resolve: the systemd credential, the file, the environment
// variable), and returns one error-severity Problem at each reference
// that cannot be read: missing, empty, not a regular file, readable by
// group or others. The values are never returned or printed; like every
// resolved value they are remembered for Scrub, so no output can carry
// one.
//
// Load never reads secrets (CI has none); `esremote validate --secrets`
// calls this on the host that runs the daemon, before it starts (the
// unit's ExecStartPre), so that a missing secret stops the service from
// starting instead of starting it unusable.
func (s *Set) CheckSecrets(getenv func(string) string) Problems {
	var ps Problems
	check := func(r *SecretRef, owner string) {
		if r == nil || r.IsZero() {
			return
		}
		if _, err := r.Resolve(getenv); err != nil {
			ps = append(ps, Problem{Pos: r.Pos, Severity: SeverityError,
				Message: "secret of " + owner + " cannot be read: " + err.Error()})
		}
	}
	auth := func(a *Auth, owner string) {
		check(a.APIKey, owner)
		if a.Basic != nil {
			check(&a.Basic.Password, owner)
		}
	}
	for _, c := range s.Clusters {
		auth(&c.Elasticsearch.Auth, "Cluster "+c.Name)
		if c.Deployment != nil {
			auth(&c.Deployment.Auth, "Cluster "+c.Name+" (control plane)")
		}
	}
	for _, c := range s.Connections {
		if c.APIKey != nil {
			check(c.APIKey.Credentials, "Connection "+c.Name)
		}
	}
	ps.sort()
	return ps
}
