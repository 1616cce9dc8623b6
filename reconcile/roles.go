package reconcile

// roleWrite is a role body to PUT on a local cluster.
type roleWrite struct {
	Conn string
	Body map[string]any
}
