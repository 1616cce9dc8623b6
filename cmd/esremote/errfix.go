package main

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/spec"
)

// addFixes says, under each error of the report that a user can act on,
// what to do and where the spec configures what failed: the credential
// that was refused, the URL nothing answers at, the deployment id the
// platform does not know, the secret file that is missing. The error
// itself names only the cluster; an operator should not have to search
// the spec dir for the line to change.
func addFixes(set *spec.Set, r *drift.Report) {
	if set == nil || r == nil {
		return
	}
	for i := range r.Errors {
		r.Errors[i].Fix = errorFix(set, r.Errors[i].Target, r.Errors[i].Message)
	}
	for i := range r.Connections {
		c := &r.Connections[i]
		if c.Error != "" {
			c.ErrorFix = errorFix(set, "", c.Error)
		}
	}
}

// errTargetRE finds the cluster an error message is about, in the forms
// the adapters and the engine write: "… on NAME: …" (Elasticsearch),
// "cloud api NAME: …" (a control plane), "cluster NAME: …" and
// "deployment of NAME" (the engine).
var errTargetRE = regexp.MustCompile(`(?:cloud api |cluster |deployment of | on )([a-z0-9][a-z0-9_-]*)[:, ]`)

// errorFix is what to do about msg, an error of target (or of the
// cluster msg names when target is ""); "" when there is nothing better
// to say than the message.
func errorFix(set *spec.Set, target, msg string) string {
	cl := set.Cluster(target)
	if cl == nil {
		for _, m := range errTargetRE.FindAllStringSubmatch(msg, -1) {
			if cl = set.Cluster(m[1]); cl != nil {
				break
			}
		}
	}
	if cl == nil {
		return ""
	}
	control := strings.Contains(msg, "cloud api ") || strings.Contains(msg, "/api/v1/")
	auth, where := cl.Elasticsearch.Auth, "Cluster "+cl.Name
	if control && cl.Deployment != nil {
		auth, where = cl.Deployment.Auth, "the deployment block of Cluster "+cl.Name
	}
	switch {
	case strings.Contains(msg, "secret") && (strings.Contains(msg, "does not exist") || strings.Contains(msg, "cannot be read") ||
		strings.Contains(msg, "is not set") || strings.Contains(msg, "is empty") || strings.Contains(msg, "readable by")):
		return fmt.Sprintf("provide the secret referenced %s (a file of mode 0600 owned by esremote's user, a systemd credential or the variable), or correct the reference; 'esremote validate --secrets %s' checks every secret without printing one",
			credentialAt(auth, where), set.Dir)
	case strings.Contains(msg, "deployment_not_found") || (control && strings.Contains(msg, "404 ")):
		id := ""
		if cl.Deployment != nil {
			id = cl.Deployment.ID
		}
		return fmt.Sprintf("the platform has no deployment %s: correct deployment.id of Cluster %s at %s (copy it from the deployment's page in the console)", id, cl.Name, cl.Pos)
	case strings.Contains(msg, "401 "):
		if control {
			return fmt.Sprintf("the control plane refused the API key %s: check that it is valid and not expired", credentialAt(auth, where))
		}
		return fmt.Sprintf("%s refused the credentials %s: check the secret, and that the user or API key exists and is enabled", cl.Name, credentialAt(auth, where))
	case strings.Contains(msg, "403 "):
		return fmt.Sprintf("the credentials %s are valid but lack a privilege this needs: grant what README's credentials table lists", credentialAt(auth, where))
	case strings.Contains(msg, "x509") || strings.Contains(msg, "certificate"):
		return fmt.Sprintf("the TLS certificate of %s is not trusted: set ca_file of Cluster %s (at %s) to the CA that signed it", urlOf(cl, control), cl.Name, cl.Pos)
	case strings.Contains(msg, "connection refused") || strings.Contains(msg, "no such host") || strings.Contains(msg, "i/o timeout") ||
		strings.Contains(msg, "no complete response") || strings.Contains(msg, "network is unreachable") || strings.Contains(msg, "no route to host"):
		return fmt.Sprintf("nothing answers at %s (Cluster %s at %s): check the URL, that the cluster runs, and the network from this host; 'esremote doctor' checks DNS, TCP and TLS step by step", urlOf(cl, control), cl.Name, cl.Pos)
	}
	return ""
}

// credentialAt describes auth's secret and where it is written: "at
// clusters.yaml:9:9 (user elastic, password from file secrets/x)".
func credentialAt(a spec.Auth, where string) string {
	switch {
	case a.Basic != nil:
		return fmt.Sprintf("at %s (%s: user %s, password from %s)", a.Basic.Password.Pos, where, a.Basic.Username, a.Basic.Password)
	case a.APIKey != nil:
		return fmt.Sprintf("at %s (%s: API key from %s)", a.APIKey.Pos, where, a.APIKey)
	}
	return "of " + where
}

func urlOf(cl *spec.Cluster, control bool) string {
	if control && cl.Deployment != nil {
		return cl.Deployment.API
	}
	return cl.Elasticsearch.URL
}
