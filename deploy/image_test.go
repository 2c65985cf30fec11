// Tests of the container images, read as files (OCI image layouts), so no
// container engine is needed. They run under Bazel only, which builds the
// images and hands their paths in (deploy/BUILD.bazel: //deploy:image_test);
// under plain `go test` they skip.
package deploy

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"debug/elf"
	"encoding/json"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bazelbuild/rules_go/go/runfiles"

	"github.com/powtcp/powtcp/internal/proc"
)

// What every image must say about itself.
const (
	wantUser     = "65532:65532"
	wantOS       = "linux"
	labelSource  = "org.opencontainers.image.source"
	labelVersion = "org.opencontainers.image.version"
	labelRev     = "org.opencontainers.image.revision"
)

var wantArchs = []string{"amd64", "arm64"}

// image is one program's image index as the test expects it.
type image struct {
	env        string   // variable holding the index's runfiles path
	binary     string   // path of the binary in the image
	entrypoint []string // the config's Entrypoint
	ports      []string // the config's ExposedPorts
	env0       []string // the config's Env
}

var (
	serverImage = image{
		env:        "POWTCP_SERVER_INDEX",
		binary:     "server",
		entrypoint: []string{"/server"},
		ports:      []string{"10001/tcp", "9090/tcp"},
		env0:       []string{"POWTCP_ADMIN_ADDR=:9090"},
	}
	clientImage = image{
		env:        "POWTCP_CLIENT_INDEX",
		binary:     "client",
		entrypoint: []string{"/client"},
	}
)

// OCI image layout, index, manifest and config: the fields checked.
type (
	descriptor struct {
		MediaType string            `json:"mediaType"`
		Digest    string            `json:"digest"`
		Size      int64             `json:"size"`
		Platform  *platform         `json:"platform,omitempty"`
		Annot     map[string]string `json:"annotations,omitempty"`
	}
	platform struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
	}
	index struct {
		SchemaVersion int          `json:"schemaVersion"`
		Manifests     []descriptor `json:"manifests"`
	}
	manifest struct {
		SchemaVersion int          `json:"schemaVersion"`
		Config        descriptor   `json:"config"`
		Layers        []descriptor `json:"layers"`
	}
	imageConfig struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
		Config       struct {
			User         string              `json:"User"`
			Entrypoint   []string            `json:"Entrypoint"`
			Cmd          []string            `json:"Cmd"`
			Env          []string            `json:"Env"`
			ExposedPorts map[string]struct{} `json:"ExposedPorts"`
			Labels       map[string]string   `json:"Labels"`
		} `json:"config"`
	}
)

// layout is an OCI image layout directory.
type layout string

func (l layout) blob(t *testing.T, d descriptor) []byte {
	t.Helper()
	alg, hex, ok := strings.Cut(d.Digest, ":")
	if !ok || alg != "sha256" {
		t.Fatalf("digest %q: want sha256:HEX", d.Digest)
	}
	b, err := os.ReadFile(filepath.Join(string(l), "blobs", alg, hex))
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) != d.Size {
		t.Fatalf("blob %s: %d bytes, descriptor says %d", d.Digest, len(b), d.Size)
	}
	return b
}

func (l layout) json(t *testing.T, d descriptor, v any) {
	t.Helper()
	if err := json.Unmarshal(l.blob(t, d), v); err != nil {
		t.Fatalf("blob %s: %v", d.Digest, err)
	}
}

// indexDir finds the image index Bazel built for img, or skips.
func indexDir(t *testing.T, img image) layout {
	t.Helper()
	p := os.Getenv(img.env)
	if p == "" {
		t.Skipf("$%s is unset: run under Bazel (bazel test //deploy:image_test)", img.env)
	}
	dir, err := runfiles.Rlocation(p)
	if err != nil {
		t.Fatalf("runfiles %s: %v", p, err)
	}
	return layout(dir)
}

// platformImage is one platform's image of an index.
type platformImage struct {
	config imageConfig
	binary []byte // the program, out of the layer
}

// readIndex checks an index and the images in it, and returns them by
// architecture.
func readIndex(t *testing.T, img image) map[string]platformImage {
	t.Helper()
	l := indexDir(t, img)
	var top index
	b, err := os.ReadFile(filepath.Join(string(l), "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatalf("index.json: %v", err)
	}
	// The layout's index.json points at one image index, which lists the
	// platforms' images.
	if len(top.Manifests) != 1 {
		t.Fatalf("index.json: %d manifests, want 1 (the image index)", len(top.Manifests))
	}
	var idx index
	l.json(t, top.Manifests[0], &idx)

	images := map[string]platformImage{}
	for _, d := range idx.Manifests {
		var m manifest
		l.json(t, d, &m)
		var pi platformImage
		l.json(t, m.Config, &pi.config)
		arch := pi.config.Architecture
		if _, dup := images[arch]; dup {
			t.Fatalf("two images for %s", arch)
		}
		if d.Platform != nil && (d.Platform.OS != pi.config.OS || d.Platform.Architecture != arch) {
			t.Errorf("%s: index says %s/%s, config says %s/%s", d.Digest, d.Platform.OS, d.Platform.Architecture, pi.config.OS, arch)
		}
		if len(m.Layers) != 1 {
			t.Fatalf("%s image: %d layers, want 1 (the binary)", arch, len(m.Layers))
		}
		pi.binary = layerFile(t, m.Layers[0].MediaType, l.blob(t, m.Layers[0]), img.binary)
		images[arch] = pi
	}
	got := slices.Sorted(maps.Keys(images))
	if !slices.Equal(got, wantArchs) {
		t.Fatalf("architectures %q, want %q", got, wantArchs)
	}
	return images
}

// layerFile checks that a layer holds just the file at path (a root-owned
// executable) and returns its contents.
func layerFile(t *testing.T, mediaType string, blob []byte, path string) []byte {
	t.Helper()
	// The layers are gzipped (compress = "gzip" in BUILD.bazel): a plain tar
	// would push about 2.5x the bytes.
	if !strings.HasSuffix(mediaType, ".tar+gzip") {
		t.Fatalf("layer media type %q: want a gzipped tar", mediaType)
	}
	r, err := gzip.NewReader(bytes.NewReader(blob))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(r)
	var (
		names []string
		file  []byte
	)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("layer: %v", err)
		}
		name := strings.TrimPrefix(h.Name, "./")
		names = append(names, name)
		if name != path {
			continue
		}
		if h.Typeflag != tar.TypeReg {
			t.Errorf("/%s: tar type %q, want a regular file", path, h.Typeflag)
		}
		if h.Mode&0o777 != 0o755 || h.Uid != 0 || h.Gid != 0 {
			t.Errorf("/%s: mode %o owner %d:%d, want 755 0:0", path, h.Mode&0o777, h.Uid, h.Gid)
		}
		if file, err = io.ReadAll(tr); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(names, []string{path}) {
		t.Fatalf("layer holds %q, want just %q", names, path)
	}
	return file
}

// checkELF checks that b is a static Linux executable for arch.
func checkELF(t *testing.T, arch string, b []byte) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s binary: %v", arch, err)
	}
	want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[arch]
	if f.Machine != want {
		t.Errorf("%s binary: machine %v, want %v", arch, f.Machine, want)
	}
	if f.Type != elf.ET_EXEC {
		t.Errorf("%s binary: type %v, want %v (a static, non-PIE executable)", arch, f.Type, elf.ET_EXEC)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("%s binary: has %v, want a static binary (pure = \"on\")", arch, p.Type)
		}
	}
}

func TestImages(t *testing.T) {
	for _, img := range []image{serverImage, clientImage} {
		t.Run(img.binary, func(t *testing.T) {
			for arch, pi := range readIndex(t, img) {
				c := pi.config
				if c.OS != wantOS {
					t.Errorf("%s: os %q, want %q", arch, c.OS, wantOS)
				}
				if c.Config.User != wantUser {
					t.Errorf("%s: user %q, want %q", arch, c.Config.User, wantUser)
				}
				if !slices.Equal(c.Config.Entrypoint, img.entrypoint) || len(c.Config.Cmd) != 0 {
					t.Errorf("%s: entrypoint %q cmd %q, want %q and no cmd", arch, c.Config.Entrypoint, c.Config.Cmd, img.entrypoint)
				}
				ports := slices.Sorted(maps.Keys(c.Config.ExposedPorts))
				if !slices.Equal(ports, img.ports) {
					t.Errorf("%s: exposed ports %q, want %q", arch, ports, img.ports)
				}
				for _, kv := range img.env0 {
					if !slices.Contains(c.Config.Env, kv) {
						t.Errorf("%s: env %q lacks %q", arch, c.Config.Env, kv)
					}
				}
				if src := c.Config.Labels[labelSource]; !strings.HasPrefix(src, "https://") {
					t.Errorf("%s: label %s = %q, want a URL", arch, labelSource, src)
				}
				for _, k := range []string{labelVersion, labelRev} {
					if c.Config.Labels[k] == "" || strings.Contains(c.Config.Labels[k], "{{") {
						t.Errorf("%s: label %s = %q, want a value", arch, k, c.Config.Labels[k])
					}
				}
				checkELF(t, arch, pi.binary)
			}
		})
	}
}

// TestImageBinariesServeQuotes runs the server and the client taken out of
// the images for this machine's CPU against each other.
func TestImageBinariesServeQuotes(t *testing.T) {
	if runtime.GOOS != wantOS {
		t.Skipf("the images' binaries are for %s", wantOS)
	}
	dir := t.TempDir()
	extract := func(img image) string {
		pi, ok := readIndex(t, img)[runtime.GOARCH]
		if !ok {
			t.Skipf("no %s image", runtime.GOARCH)
		}
		p := filepath.Join(dir, img.binary)
		if err := os.WriteFile(p, pi.binary, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	server, client := extract(serverImage), extract(clientImage)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	addrFile := filepath.Join(dir, "addr")
	srv, err := proc.Start(ctx, proc.Config{
		Argv:     []string{server, "-addr=127.0.0.1:0", "-addr-file=" + addrFile, "-difficulty=8", "-max-extra-bits=-1"},
		AddrFile: addrFile,
		Lifetime: 2 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(30 * time.Second); err != nil {
			t.Errorf("server: %v", err)
		}
	})
	addr := srv.Addr
	out, err := exec.CommandContext(ctx, client, "-addr="+addr, "-n=4", "-c=2", "-json").Output()
	if err != nil {
		t.Fatalf("client: %v\n%s", err, out)
	}
	if lines := strings.Count(string(out), "\n"); lines != 4 {
		t.Errorf("client printed %d lines, want 4 (one per quote):\n%s", lines, out)
	}
}
