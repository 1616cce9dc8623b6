package es

import (
	"time"

	"github.com/esremote/esremote/reconcile/world"
)

// The data this package reads and writes is plain data of package world,
// which decisions use without importing an adapter (DESIGN §4: decide
// imports no adapter). The names below keep the adapter's API as it was.

// Cluster answers.
type (
	Info            = world.Info
	Version         = world.Version
	Settings        = world.Settings
	RemoteInfo      = world.RemoteInfo
	ResolvedCluster = world.ResolvedCluster
	UserPrivileges  = world.UserPrivileges
	PrivilegesGroup = world.PrivilegesGroup
)

// Security objects.
type (
	CrossClusterAccess      = world.CrossClusterAccess
	SearchAccess            = world.SearchAccess
	ReplicationAccess       = world.ReplicationAccess
	FieldSecurity           = world.FieldSecurity
	APIKey                  = world.APIKey
	Role                    = world.Role
	IndicesPrivileges       = world.IndicesPrivileges
	RemoteIndicesPrivileges = world.RemoteIndicesPrivileges
	RemoteClusterPrivileges = world.RemoteClusterPrivileges
)

// Value is a cluster setting value (world.Value).
type Value = world.Value

// Null removes a key when sent in PutSettings.
var Null = world.Null

// RemotePrefix starts every remote-cluster setting key.
const RemotePrefix = world.RemotePrefix

// ParseVersion is world.ParseVersion.
func ParseVersion(s string) (Version, error) { return world.ParseVersion(s) }

// String is world.String.
func String(s string) Value { return world.String(s) }

// List is world.List.
func List(items ...string) Value { return world.List(items...) }

// Bool is world.Bool.
func Bool(b bool) Value { return world.Bool(b) }

// Int is world.Int.
func Int(n int) Value { return world.Int(n) }

// ValueOf is world.ValueOf.
func ValueOf(x any) (Value, error) { return world.ValueOf(x) }

// ValidAlias is world.ValidAlias.
func ValidAlias(alias string) bool { return world.ValidAlias(alias) }

// RemoteKey is world.RemoteKey.
func RemoteKey(alias, suffix string) string { return world.RemoteKey(alias, suffix) }

// RemoteSettings is world.RemoteSettings.
func RemoteSettings(flat map[string]Value) map[string]map[string]Value {
	return world.RemoteSettings(flat)
}

// SplitRemoteKey is world.SplitRemoteKey.
func SplitRemoteKey(key string) (alias, suffix string, ok bool) { return world.SplitRemoteKey(key) }

// IsListSuffix is world.IsListSuffix.
func IsListSuffix(suffix string) bool { return world.IsListSuffix(suffix) }

// Normalize is world.Normalize.
func Normalize(suffix, v string) string { return world.Normalize(suffix, v) }

// ParseTimeValue is world.ParseTimeValue.
func ParseTimeValue(s string) (time.Duration, bool) { return world.ParseTimeValue(s) }

// FormatTimeValue is world.FormatTimeValue.
func FormatTimeValue(d time.Duration) string { return world.FormatTimeValue(d) }
