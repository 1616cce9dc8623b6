package spec

// DefaultRefID is the Elasticsearch resource ref_id used when a deployment
// block names none: the Cloud API resolves "_main" to the deployment's
// first Elasticsearch resource.
const DefaultRefID = "_main"

// applyDefaults fills what the spec may leave out. It runs after decoding
// and before validation, and changes nothing that was written.
//
//   - Deployment.RefID: "_main".
//   - Connection.Settings.Mode: proxy (the only mode that reaches ECH/ECE).
//   - Connection.Policy: enforce.
//   - Connection.APIKey for security api_key: when the block or its
//     managed key is absent, the key is managed unless credentials name
//     a key made by hand.
//   - Role remote_indices and remote_cluster entries without clusters:
//     [alias].
func applyDefaults(s *Set) {
	for _, c := range s.Clusters {
		if c.Deployment != nil && c.Deployment.RefID == "" {
			c.Deployment.RefID = DefaultRefID
		}
	}
	for _, c := range s.Connections {
		if c.Settings.Mode == "" {
			c.Settings.Mode = ModeProxy
		}
		if c.Policy == "" {
			c.Policy = PolicyEnforce
		}
		if c.Security == SecurityAPIKey {
			if c.APIKey == nil {
				c.APIKey = &APIKey{Managed: true}
			} else if _, written := s.meta[c].pos["api_key.managed"]; !written {
				c.APIKey.Managed = c.APIKey.Credentials == nil
			}
		}
		for i := range c.Roles {
			r := &c.Roles[i]
			for j := range r.RemoteIndices {
				if len(r.RemoteIndices[j].Clusters) == 0 && c.Alias != "" {
					r.RemoteIndices[j].Clusters = []string{c.Alias}
				}
			}
			for j := range r.RemoteCluster {
				if len(r.RemoteCluster[j].Clusters) == 0 && c.Alias != "" {
					r.RemoteCluster[j].Clusters = []string{c.Alias}
				}
			}
		}
	}
}
