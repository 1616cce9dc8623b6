//go:build race

package sim

// raceEnabled says the tests run under the race detector, whose sync.Pool
// drops a share of what is put back (runtime's race build), so counts of
// allocations that a pool saves are not exact there.
const raceEnabled = true
