package k8s

import (
	"embed"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

//go:embed examples/gate-sidecar/*.yaml
var sidecarFS embed.FS

// The gate as a sidecar: the service listens on the Pod's loopback only,
// the gate relays to it, and the Service publishes the gate's port alone.
func TestGateSidecar(t *testing.T) {
	m := newManifests()
	files, err := fs.Glob(sidecarFS, "examples/gate-sidecar/*.yaml")
	require.NoError(t, err)
	for _, f := range files {
		b, err := sidecarFS.ReadFile(f)
		require.NoError(t, err)
		require.NoError(t, m.decodeFile(b), f)
	}
	d, ok := m.deployments["gated-valkey"]
	require.True(t, ok, "Deployment gated-valkey")
	pod := d.Spec.Template.Spec
	require.Len(t, pod.Containers, 2, "the service and the gate")
	checkPodOf(t, "gate sidecar", pod)
	for k, v := range d.Spec.Selector.MatchLabels {
		assert.Equal(t, v, d.Spec.Template.Metadata.Labels[k], "selector label %s must match the pod's", k)
	}

	var app, gate container
	for _, c := range pod.Containers {
		if c.Name == "gate" {
			gate = c
		} else {
			app = c
		}
	}
	require.Equal(t, "gate", gate.Name)
	assert.True(t, strings.HasSuffix(imageRepo(t, gate.Image), serverRepo), "the gate runs the server image: %s", gate.Image)
	gf := flags(t, gate.Args)
	assert.Equal(t, "127.0.0.1:6379", gf["upstream"], "the gate relays to the service over the Pod's loopback")
	assert.Equal(t, protocolPort, port(t, gf["addr"]))
	assert.Equal(t, adminPort, port(t, gf["admin-addr"]))
	require.NotNil(t, gate.ReadinessProbe)
	assert.Equal(t, "/readyz", gate.ReadinessProbe.HTTPGet.Path, "not ready while the upstream refuses")
	assert.Empty(t, app.Ports, "the service publishes no port of its own")
	i := slices.Index(app.Args, "--bind")
	require.GreaterOrEqual(t, i, 0, "the service binds explicitly")
	assert.Equal(t, "127.0.0.1", app.Args[i+1], "the service listens on loopback only: nothing reaches it but the gate")

	s, ok := m.services["gated-valkey"]
	require.True(t, ok, "Service gated-valkey")
	require.Len(t, s.Spec.Ports, 1, "the gate's port alone")
	assert.Equal(t, protocolPort, portNumber(t, gate, s.Spec.Ports[0].TargetPort))
	for k, v := range s.Spec.Selector {
		assert.Equal(t, v, d.Spec.Template.Metadata.Labels[k], "selector %s must pick the sidecar's pods", k)
	}
}
