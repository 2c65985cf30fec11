// Package k8s holds powtcp's Kubernetes manifests (the YAML files beside
// this one) and the test that keeps them valid: each decodes strictly into
// the fields it may use, and the server's deployment keeps its invariants
// (non-root, read-only, probes on the admin port, the MAC key from a
// Secret, ports that match the server's defaults). See deploy/README.md.
package k8s
