package decide

import (
	"fmt"
	"slices"

	"github.com/esremote/esremote/reconcile/world"
)

// BuildTrust returns a deployment's trust: live with the ops made on a copy: every other entry,
// and every field esremote does not set, is kept as read.
func BuildTrust(live world.Trust, ops []*TrustOp) (world.Trust, error) {
	t := live.Clone()
	for _, op := range ops {
		_, idx := FindLive(t, op.Key)
		v := op.Write
		switch op.Kind {
		case TrustAccounts:
			switch {
			case op.Remove && idx >= 0:
				t.Accounts = slices.Delete(t.Accounts, idx, idx+1)
			case op.Remove:
			case idx >= 0:
				a := &t.Accounts[idx]
				a.Name, a.TrustAll, a.TrustAllowlist = v.Name, v.All, slices.Clone(v.IDs)
			default:
				t.Accounts = append(t.Accounts, world.AccountTrust{AccountID: v.ID, Name: v.Name, TrustAll: v.All, TrustAllowlist: slices.Clone(v.IDs)})
			}
		case TrustExternal:
			switch {
			case op.Remove && idx >= 0:
				t.External = slices.Delete(t.External, idx, idx+1)
			case op.Remove:
			case idx >= 0:
				x := &t.External[idx]
				x.TrustAll, x.TrustAllowlist = v.All, slices.Clone(v.IDs)
			default:
				t.External = append(t.External, world.ExternalTrust{TrustRelationshipID: v.ID, TrustAll: v.All, TrustAllowlist: slices.Clone(v.IDs)})
			}
		case TrustDirect:
			switch {
			case op.Remove && idx >= 0:
				t.Direct = slices.Delete(t.Direct, idx, idx+1)
			case op.Remove:
			case idx >= 0:
				e := &t.Direct[idx]
				e.Name, e.TrustAll, e.TrustAllowlist = v.Name, v.All, slices.Clone(v.IDs)
				if !slices.Equal(NormCerts(e.PEMs()), v.Certs) {
					e.Certificates = certificates(e.Certificates, v.Certs)
				}
			default:
				t.Direct = append(t.Direct, world.DirectTrust{Name: v.Name, Type: v.Type, ScopeID: v.ID,
					TrustAll: v.All, TrustAllowlist: slices.Clone(v.IDs), Certificates: certificates(nil, v.Certs)})
			}
		default:
			return world.Trust{}, fmt.Errorf("trust entry %s: unknown kind", op.Key)
		}
	}
	return t, nil
}

// certificates lists pems, reusing the live certificate (with its raw
// bytes) where the PEM is unchanged.
func certificates(live []world.TrustedCertificate, pems []string) []world.TrustedCertificate {
	out := make([]world.TrustedCertificate, 0, len(pems))
	for _, p := range pems {
		i := slices.IndexFunc(live, func(c world.TrustedCertificate) bool { return NormPEM(c.PEM) == p })
		if i >= 0 {
			out = append(out, live[i])
			continue
		}
		out = append(out, world.TrustedCertificate{PEM: p + "\n"})
	}
	return out
}
