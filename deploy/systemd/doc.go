// Package systemd holds powtcp's systemd unit (powtcp@.service, one
// instance per env file) and an example env file, and the test that keeps
// them valid: `systemd-analyze verify` accepts the unit, which keeps its
// hardening. See README.md.
package systemd
