package k8s

import (
	"bytes"
	"embed"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"net"
	"path"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/powtcp/powtcp/protocol"
)

//go:embed *.yaml
var manifestFS embed.FS

// What the manifests must agree on with the server and the images.
const (
	protocolPort = 10001 // protocol.DefaultPort: the server's and client's default
	adminPort    = 9090  // deploy/BUILD.bazel: the server image's admin port
	nonRootUser  = 65532 // deploy/BUILD.bazel: the images' user
	serverRepo   = "/powtcp/server"
	clientRepo   = "/powtcp/client"
	keyMinBytes  = 16 // server/config.go: hexKey
)

// The fields of the Kubernetes objects the manifests may use. Decoding is
// strict (yaml.Decoder.KnownFields), so a misspelt or misplaced field, or
// one these types do not have yet, fails the test; add it here when a
// manifest needs it.
type (
	objectMeta struct {
		Name   string            `yaml:"name"`
		Labels map[string]string `yaml:"labels"`
	}
	labelSelector struct {
		MatchLabels map[string]string `yaml:"matchLabels"`
	}
	deployment struct {
		APIVersion string     `yaml:"apiVersion"`
		Kind       string     `yaml:"kind"`
		Metadata   objectMeta `yaml:"metadata"`
		Spec       struct {
			Replicas int           `yaml:"replicas"`
			Selector labelSelector `yaml:"selector"`
			Template podTemplate   `yaml:"template"`
		} `yaml:"spec"`
	}
	job struct {
		APIVersion string     `yaml:"apiVersion"`
		Kind       string     `yaml:"kind"`
		Metadata   objectMeta `yaml:"metadata"`
		Spec       struct {
			BackoffLimit            *int        `yaml:"backoffLimit"`
			ActiveDeadlineSeconds   *int        `yaml:"activeDeadlineSeconds"`
			TTLSecondsAfterFinished *int        `yaml:"ttlSecondsAfterFinished"`
			Template                podTemplate `yaml:"template"`
		} `yaml:"spec"`
	}
	podTemplate struct {
		Metadata objectMeta `yaml:"metadata"`
		Spec     podSpec    `yaml:"spec"`
	}
	podSpec struct {
		AutomountServiceAccountToken  *bool       `yaml:"automountServiceAccountToken"`
		TerminationGracePeriodSeconds *int        `yaml:"terminationGracePeriodSeconds"`
		RestartPolicy                 string      `yaml:"restartPolicy"`
		SecurityContext               podSecurity `yaml:"securityContext"`
		Containers                    []container `yaml:"containers"`
		Volumes                       []volume    `yaml:"volumes"`
	}
	podSecurity struct {
		RunAsNonRoot   *bool `yaml:"runAsNonRoot"`
		RunAsUser      *int  `yaml:"runAsUser"`
		RunAsGroup     *int  `yaml:"runAsGroup"`
		FSGroup        *int  `yaml:"fsGroup"`
		SeccompProfile struct {
			Type string `yaml:"type"`
		} `yaml:"seccompProfile"`
	}
	container struct {
		Name            string            `yaml:"name"`
		Image           string            `yaml:"image"`
		Args            []string          `yaml:"args"`
		Env             []envVar          `yaml:"env"`
		Ports           []containerPort   `yaml:"ports"`
		ReadinessProbe  *probe            `yaml:"readinessProbe"`
		LivenessProbe   *probe            `yaml:"livenessProbe"`
		Resources       resources         `yaml:"resources"`
		SecurityContext containerSecurity `yaml:"securityContext"`
		VolumeMounts    []volumeMount     `yaml:"volumeMounts"`
	}
	envVar struct {
		Name  string `yaml:"name"`
		Value string `yaml:"value"`
	}
	containerPort struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
		Protocol      string `yaml:"protocol"`
	}
	probe struct {
		HTTPGet *struct {
			Path string `yaml:"path"`
			Port any    `yaml:"port"` // a number or a port name
		} `yaml:"httpGet"`
		Exec *struct {
			Command []string `yaml:"command"`
		} `yaml:"exec"`
		TCPSocket *struct {
			Port any `yaml:"port"`
		} `yaml:"tcpSocket"`
		InitialDelaySeconds int `yaml:"initialDelaySeconds"`
		PeriodSeconds       int `yaml:"periodSeconds"`
		FailureThreshold    int `yaml:"failureThreshold"`
	}
	resources struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	}
	containerSecurity struct {
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
		RunAsNonRoot             *bool `yaml:"runAsNonRoot"`
		RunAsUser                *int  `yaml:"runAsUser"`
		Capabilities             struct {
			Drop []string `yaml:"drop"`
		} `yaml:"capabilities"`
	}
	volumeMount struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		ReadOnly  bool   `yaml:"readOnly"`
	}
	volume struct {
		Name     string `yaml:"name"`
		EmptyDir *struct {
			SizeLimit string `yaml:"sizeLimit"`
		} `yaml:"emptyDir"`
		Secret *struct {
			SecretName  string `yaml:"secretName"`
			DefaultMode *int   `yaml:"defaultMode"`
			Items       []struct {
				Key  string `yaml:"key"`
				Path string `yaml:"path"`
			} `yaml:"items"`
		} `yaml:"secret"`
	}
	service struct {
		APIVersion string     `yaml:"apiVersion"`
		Kind       string     `yaml:"kind"`
		Metadata   objectMeta `yaml:"metadata"`
		Spec       struct {
			Type                  string            `yaml:"type"`
			ExternalTrafficPolicy string            `yaml:"externalTrafficPolicy"`
			Selector              map[string]string `yaml:"selector"`
			Ports                 []struct {
				Name       string `yaml:"name"`
				Port       int    `yaml:"port"`
				TargetPort any    `yaml:"targetPort"`
				Protocol   string `yaml:"protocol"`
			} `yaml:"ports"`
			SessionAffinity string `yaml:"sessionAffinity"`
		} `yaml:"spec"`
	}
	secret struct {
		APIVersion string            `yaml:"apiVersion"`
		Kind       string            `yaml:"kind"`
		Metadata   objectMeta        `yaml:"metadata"`
		Type       string            `yaml:"type"`
		StringData map[string]string `yaml:"stringData"`
	}
	kustomization struct {
		APIVersion string   `yaml:"apiVersion"`
		Kind       string   `yaml:"kind"`
		Resources  []string `yaml:"resources"`
		// What `kustomize edit set image` writes (deploy/README.md).
		Images []struct {
			Name    string `yaml:"name"`
			NewName string `yaml:"newName"`
			NewTag  string `yaml:"newTag"`
			Digest  string `yaml:"digest"`
		} `yaml:"images"`
	}
)

// manifests holds every manifest, decoded; Deployments and Services by name.
type manifests struct {
	deployments   map[string]deployment
	services      map[string]service
	deployment    deployment // the server's: deployments["powtcp"]
	service       service    // the server's in the cluster: services["powtcp"]
	job           job
	secret        secret
	kustomization kustomization
	files         []string
}

// decodeStrict decodes the one YAML document in b into v, refusing unknown
// fields, duplicate keys and further documents.
func decodeStrict(b []byte, v any) error {
	d := yaml.NewDecoder(bytes.NewReader(b))
	d.KnownFields(true)
	if err := d.Decode(v); err != nil {
		return err
	}
	var extra yaml.Node
	if err := d.Decode(&extra); !errors.Is(err, io.EOF) {
		return errors.New("more than one YAML document; keep one object per file")
	}
	return nil
}

// decodeFile decodes b by its apiVersion and kind into the matching field of m.
func (m *manifests) decodeFile(b []byte) error {
	var head struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
	}
	if err := yaml.Unmarshal(b, &head); err != nil {
		return err
	}
	var v any
	switch head.APIVersion + " " + head.Kind {
	case "apps/v1 Deployment":
		var d deployment
		if err := decodeStrict(b, &d); err != nil {
			return err
		}
		return addNamed(m.deployments, d.Metadata.Name, d)
	case "v1 Service":
		var sv service
		if err := decodeStrict(b, &sv); err != nil {
			return err
		}
		return addNamed(m.services, sv.Metadata.Name, sv)
	case "batch/v1 Job":
		v = &m.job
	case "v1 Secret":
		v = &m.secret
	case "kustomize.config.k8s.io/v1beta1 Kustomization":
		v = &m.kustomization
	default:
		return errors.New("unexpected apiVersion and kind: " + head.APIVersion + " " + head.Kind)
	}
	return decodeStrict(b, v)
}

// addNamed adds v under name, refusing an empty or repeated name.
func addNamed[T any](m map[string]T, name string, v T) error {
	if _, dup := m[name]; dup || name == "" {
		return errors.New("missing or repeated metadata.name " + strconv.Quote(name))
	}
	m[name] = v
	return nil
}

func newManifests() manifests {
	return manifests{deployments: map[string]deployment{}, services: map[string]service{}}
}

func load(t *testing.T) manifests {
	t.Helper()
	m := newManifests()
	files, err := fs.Glob(manifestFS, "*.yaml")
	require.NoError(t, err)
	for _, f := range files {
		b, err := manifestFS.ReadFile(f)
		require.NoError(t, err)
		require.NoError(t, m.decodeFile(b), f)
		m.files = append(m.files, f)
	}
	m.deployment, m.service = m.deployments["powtcp"], m.services["powtcp"]
	require.NotEmpty(t, m.deployment.Metadata.Name, "no Deployment powtcp")
	require.NotEmpty(t, m.service.Metadata.Name, "no Service powtcp")
	require.NotEmpty(t, m.job.Metadata.Name, "no Job")
	require.NotEmpty(t, m.secret.Metadata.Name, "no Secret")
	return m
}

// The manifests must refuse what strict decoding is there to catch.
func TestDecodeStrictRefuses(t *testing.T) {
	tests := []struct {
		name string
		give string
	}{
		{"unknown field", "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {selectr: {a: b}}\n"},
		{"misplaced field", "apiVersion: v1\nkind: Service\nmetadata: {name: x, ports: []}\n"},
		{"duplicate key", "apiVersion: v1\nkind: Service\nmetadata: {name: x, name: y}\n"},
		{"two documents", "apiVersion: v1\nkind: Service\nmetadata: {name: x}\n---\napiVersion: v1\nkind: Service\n"},
		{"wrong type", "apiVersion: v1\nkind: Service\nspec: {ports: [{port: ten}]}\n"},
		{"unknown kind", "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newManifests()
			assert.Error(t, m.decodeFile([]byte(tt.give)))
		})
	}
}

func TestManifestsDecode(t *testing.T) {
	m := load(t)
	// kubectl apply -k applies the kustomization's resources: every manifest
	// but the Secret example (a placeholder) and the demo Job.
	for _, r := range m.kustomization.Resources {
		assert.Contains(t, m.files, r, "kustomization resource")
	}
	assert.NotContains(t, m.kustomization.Resources, "secret.example.yaml")
}

// checkPod checks what every pod of ours must have: non-root, no privilege
// escalation, a read-only root, no capabilities, resource requests and
// limits; and one container.
func checkPod(t *testing.T, what string, p podSpec) {
	t.Helper()
	require.Len(t, p.Containers, 1, what)
	checkPodOf(t, what, p)
}

// checkPodOf is checkPod for a pod of any number of containers.
func checkPodOf(t *testing.T, what string, p podSpec) {
	t.Helper()
	sc := p.SecurityContext
	assert.True(t, sc.RunAsNonRoot != nil && *sc.RunAsNonRoot, "%s: pod runAsNonRoot", what)
	assert.Equal(t, nonRootUser, deref(sc.RunAsUser), "%s: pod runAsUser", what)
	assert.Equal(t, "RuntimeDefault", sc.SeccompProfile.Type, "%s: seccomp profile", what)
	assert.False(t, p.AutomountServiceAccountToken == nil || *p.AutomountServiceAccountToken,
		"%s: automountServiceAccountToken: false (it needs no API access)", what)
	for _, c := range p.Containers {
		cs := c.SecurityContext
		assert.True(t, cs.AllowPrivilegeEscalation != nil && !*cs.AllowPrivilegeEscalation,
			"%s/%s: allowPrivilegeEscalation: false", what, c.Name)
		assert.True(t, cs.ReadOnlyRootFilesystem != nil && *cs.ReadOnlyRootFilesystem,
			"%s/%s: readOnlyRootFilesystem: true", what, c.Name)
		assert.True(t, cs.RunAsNonRoot != nil && *cs.RunAsNonRoot, "%s/%s: runAsNonRoot", what, c.Name)
		if cs.RunAsUser != nil {
			assert.Equal(t, nonRootUser, *cs.RunAsUser, "%s/%s: runAsUser", what, c.Name)
		}
		assert.Equal(t, []string{"ALL"}, cs.Capabilities.Drop, "%s/%s: capabilities drop", what, c.Name)
		for _, r := range []string{"cpu", "memory"} {
			assert.NotEmpty(t, c.Resources.Requests[r], "%s/%s: requests.%s", what, c.Name, r)
			assert.NotEmpty(t, c.Resources.Limits[r], "%s/%s: limits.%s", what, c.Name, r)
		}
		for _, e := range c.Env {
			assert.NotEqual(t, "POW_KEY", e.Name, "%s/%s: the key comes from a Secret file, not the environment", what, c.Name)
		}
	}
}

func deref(p *int) int {
	if p == nil {
		return -1
	}
	return *p
}

// flags parses a Go flag-package argument list ("-a=b", "-a b", "--a b")
// into name -> value. Boolean flags are not used in the manifests.
func flags(t *testing.T, args []string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		require.True(t, strings.HasPrefix(a, "-"), "argument %q: want a flag", a)
		name, value, ok := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !ok {
			require.Less(t, i+1, len(args), "flag %q has no value", a)
			i++
			value = args[i]
		}
		m[name] = value
	}
	return m
}

// port returns the port of a HOST:PORT flag value.
func port(t *testing.T, hostport string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(hostport)
	require.NoError(t, err)
	n, err := strconv.Atoi(p)
	require.NoError(t, err)
	return n
}

// portNumber resolves a probe's or Service's port (a number or the name of
// one of c's ports) to a number.
func portNumber(t *testing.T, c container, p any) int {
	t.Helper()
	switch p := p.(type) {
	case int:
		return p
	case string:
		for _, cp := range c.Ports {
			if cp.Name == p {
				return cp.ContainerPort
			}
		}
		t.Fatalf("port %q: no such port in container %s", p, c.Name)
	}
	t.Fatalf("port %v: want a number or a name", p)
	return 0
}

// imageRepo returns an image reference's repository and checks its tag.
func imageRepo(t *testing.T, ref string) string {
	t.Helper()
	require.NotContains(t, ref, "@", "image %q: the manifests name tags, pinned at deploy time", ref)
	i := strings.LastIndex(ref, ":")
	require.Greater(t, i, strings.LastIndex(ref, "/"), "image %q: want an explicit tag", ref)
	return ref[:i]
}

func TestServerDeployment(t *testing.T) {
	m := load(t)
	d := m.deployment
	pod := d.Spec.Template.Spec
	checkPod(t, "deployment", pod)
	c := pod.Containers[0]

	assert.GreaterOrEqual(t, d.Spec.Replicas, 2, "replicas (the point of a shared key)")
	for k, v := range d.Spec.Selector.MatchLabels {
		assert.Equal(t, v, d.Spec.Template.Metadata.Labels[k], "selector label %s must match the pod's", k)
	}
	assert.True(t, strings.HasSuffix(imageRepo(t, c.Image), serverRepo), "image %q: want …%s", c.Image, serverRepo)
	assert.GreaterOrEqual(t, deref(pod.TerminationGracePeriodSeconds), 30, "grace period ≥ the server's -shutdown-timeout (30s)")

	// Ports: the protocol on the server's default, the admin on 9090, both
	// declared by name.
	f := flags(t, c.Args)
	if a, ok := f["addr"]; ok {
		assert.Equal(t, protocolPort, port(t, a), "-addr")
	}
	require.Contains(t, f, "admin-addr", "the probes need -admin-addr")
	assert.Equal(t, adminPort, port(t, f["admin-addr"]), "-admin-addr")
	assert.Equal(t, protocolPort, portNumber(t, c, "pow"), "container port pow")
	assert.Equal(t, adminPort, portNumber(t, c, "admin"), "container port admin")

	// Probes: readiness and liveness over HTTP on the admin port.
	for _, p := range []struct {
		name, path string
		probe      *probe
	}{
		{"readiness", "/readyz", c.ReadinessProbe},
		{"liveness", "/healthz", c.LivenessProbe},
	} {
		require.NotNil(t, p.probe, "%s probe", p.name)
		require.NotNil(t, p.probe.HTTPGet, "%s probe: HTTP", p.name)
		assert.Equal(t, p.path, p.probe.HTTPGet.Path, "%s probe path", p.name)
		assert.Equal(t, adminPort, portNumber(t, c, p.probe.HTTPGet.Port), "%s probe port", p.name)
	}

	// The MAC key: -key-file names a file of a read-only volume from the
	// Secret, under the name secret.example.yaml documents.
	keyFile := f["key-file"]
	require.NotEmpty(t, keyFile, "-key-file: replicas must share the MAC key")
	var mount *volumeMount
	for i, vm := range c.VolumeMounts {
		if path.Dir(keyFile) == path.Clean(vm.MountPath) {
			mount = &c.VolumeMounts[i]
		}
	}
	require.NotNil(t, mount, "-key-file %s: in no volume mount", keyFile)
	assert.True(t, mount.ReadOnly, "key mount read-only")
	var vol *volume
	for i, v := range pod.Volumes {
		if v.Name == mount.Name {
			vol = &pod.Volumes[i]
		}
	}
	require.True(t, vol != nil && vol.Secret != nil, "volume %s: want a Secret volume", mount.Name)
	assert.Equal(t, m.secret.Metadata.Name, vol.Secret.SecretName, "the key's Secret")
	file := path.Base(keyFile)
	secretKey := file
	for _, it := range vol.Secret.Items {
		if it.Path == file {
			secretKey = it.Key
		}
	}
	assert.Contains(t, m.secret.StringData, secretKey, "the Secret's key for %s", keyFile)
	if mode := vol.Secret.DefaultMode; mode != nil {
		assert.Zero(t, *mode&0o007, "key file mode %o: not world-readable", *mode)
		if *mode&0o004 == 0 {
			assert.Equal(t, nonRootUser, deref(pod.SecurityContext.FSGroup), "fsGroup lets the server read the key")
		}
	}
}

// The server's two Services: powtcp inside the cluster, powtcp-external a
// LoadBalancer that keeps the clients' source addresses.
func TestServices(t *testing.T) {
	m := load(t)
	d := m.deployment
	c := d.Spec.Template.Spec.Containers[0]
	for _, name := range []string{"powtcp", "powtcp-external"} {
		s, ok := m.services[name]
		require.True(t, ok, "Service %s", name)
		require.NotEmpty(t, s.Spec.Selector)
		for k, v := range s.Spec.Selector {
			assert.Equal(t, v, d.Spec.Template.Metadata.Labels[k], "%s selector %s must pick the server's pods", name, k)
		}
		require.Len(t, s.Spec.Ports, 1, "%s exposes the protocol only", name)
		p := s.Spec.Ports[0]
		assert.Equal(t, protocolPort, p.Port, name)
		assert.Equal(t, protocolPort, portNumber(t, c, p.TargetPort), "%s targetPort", name)
		assert.Empty(t, s.Spec.SessionAffinity, "%s: no affinity needed, the replicas share the spent store", name)
	}
	ext := m.services["powtcp-external"]
	assert.Equal(t, "LoadBalancer", ext.Spec.Type)
	assert.Equal(t, "Local", ext.Spec.ExternalTrafficPolicy, "the server must see the clients' own addresses")
	assert.Empty(t, m.service.Spec.Type, "powtcp stays a ClusterIP Service")
	assert.Contains(t, m.kustomization.Resources, "service-external.yaml")
}

// The spent store: Valkey that never evicts, with a memory limit above its
// maxmemory and probes, and the server pointed at its Service.
func TestSpentStore(t *testing.T) {
	m := load(t)
	d, ok := m.deployments["powtcp-valkey"]
	require.True(t, ok, "Deployment powtcp-valkey")
	pod := d.Spec.Template.Spec
	checkPod(t, "valkey", pod)
	for k, v := range d.Spec.Selector.MatchLabels {
		assert.Equal(t, v, d.Spec.Template.Metadata.Labels[k], "selector label %s must match the pod's", k)
	}
	c := pod.Containers[0]
	require.NotEmpty(t, c.Args)
	settings := map[string]string{}
	for i := 1; i+1 < len(c.Args); i += 2 {
		require.True(t, strings.HasPrefix(c.Args[i], "--"), "valkey argument %q: want --name value", c.Args[i])
		settings[strings.TrimPrefix(c.Args[i], "--")] = c.Args[i+1]
	}
	assert.Equal(t, "valkey-server", c.Args[0])
	assert.Equal(t, "noeviction", settings["maxmemory-policy"], "an evicted key is a replay")
	require.NotEmpty(t, settings["maxmemory"], "a bound on memory, so a full store refuses writes")
	assert.Equal(t, "", settings["save"], "no snapshots: nothing outlives a challenge's minute")
	assert.Equal(t, "no", settings["appendonly"])
	require.NotNil(t, c.ReadinessProbe)
	require.NotNil(t, c.LivenessProbe)
	var data bool
	for _, vm := range c.VolumeMounts {
		data = data || vm.MountPath == settings["dir"]
	}
	assert.True(t, data, "--dir %s: a writable volume (the root is read-only)", settings["dir"])

	svc, ok := m.services["powtcp-valkey"]
	require.True(t, ok, "Service powtcp-valkey")
	for k, v := range svc.Spec.Selector {
		assert.Equal(t, v, d.Spec.Template.Metadata.Labels[k], "powtcp-valkey selector %s", k)
	}
	require.Len(t, svc.Spec.Ports, 1)
	assert.Equal(t, settings["port"], strconv.Itoa(portNumber(t, c, svc.Spec.Ports[0].TargetPort)), "the Service reaches --port")

	f := flags(t, m.deployment.Spec.Template.Spec.Containers[0].Args)
	assert.Equal(t, "redis://"+net.JoinHostPort(svc.Metadata.Name, strconv.Itoa(svc.Spec.Ports[0].Port))+"/0", f["spent-store"],
		"the server's -spent-store is the Valkey Service")
	for _, r := range []string{"valkey.yaml", "valkey-service.yaml"} {
		assert.Contains(t, m.kustomization.Resources, r)
	}
}

func TestClientJob(t *testing.T) {
	m := load(t)
	j := m.job
	pod := j.Spec.Template.Spec
	checkPod(t, "job", pod)
	c := pod.Containers[0]
	assert.Contains(t, []string{"Never", "OnFailure"}, pod.RestartPolicy)
	assert.NotNil(t, j.Spec.ActiveDeadlineSeconds, "a demo that hangs must end")
	assert.True(t, strings.HasSuffix(imageRepo(t, c.Image), clientRepo), "image %q: want …%s", c.Image, clientRepo)
	assert.Equal(t, strings.TrimSuffix(imageRepo(t, c.Image), clientRepo),
		strings.TrimSuffix(imageRepo(t, m.deployment.Spec.Template.Spec.Containers[0].Image), serverRepo),
		"client and server images from the same registry")

	f := flags(t, c.Args)
	assert.Equal(t, map[string]string{
		"addr": net.JoinHostPort(m.service.Metadata.Name, strconv.Itoa(m.service.Spec.Ports[0].Port)),
		"n":    "20",
		"c":    "4",
	}, f)
}

func TestSecretExampleIsNotAKey(t *testing.T) {
	m := load(t)
	s := m.secret
	assert.Equal(t, "Opaque", s.Type)
	require.Len(t, s.StringData, 1)
	for k, v := range s.StringData {
		// Nobody may run on a key from the repository: the server must
		// refuse the placeholder (-key-file wants hex, ≥ 16 bytes).
		b, err := hex.DecodeString(strings.TrimSpace(v))
		assert.True(t, err != nil || len(b) < keyMinBytes, "stringData.%s is a usable key; keep a placeholder", k)
	}
}

// The protocol port above is the server's and the client's default.
func TestPortsMatchServerDefaults(t *testing.T) {
	assert.Equal(t, protocolPort, protocol.DefaultPort)
}
