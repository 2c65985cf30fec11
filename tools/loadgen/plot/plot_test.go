package plot

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/powtcp/powtcp/tools/loadgen/report"
)

// A timeline draws as well-formed SVG with every panel's title and the
// legend of each line that has points; an empty one is refused.
func TestSVG(t *testing.T) {
	var pts []report.Point
	for i := range 20 {
		phase := "unloaded"
		if i >= 10 {
			phase = "attack"
		}
		pts = append(pts, report.Point{T: float64(i + 1), Phase: phase, Served: 20 - i/2, Failed: i / 15,
			P99ms: float64(30 + i), RefusedPerS: float64(100 * i), Difficulty: 16 + i/10, Handshakes: 50 * i, AttackConnsS: float64(200 * i)})
	}
	pts[3].RefusedPerS, pts[3].P99ms = -1, 0 // unknown, none: skipped
	var b bytes.Buffer
	require.NoError(t, SVG(&b, "honest,redial", pts))
	out := b.String()
	for _, want := range []string{"honest,redial: honest sessions", "honest p99 latency", "refused by the server", "difficulty (bits)"} {
		assert.Contains(t, out, want)
	}
	d := xml.NewDecoder(strings.NewReader(out))
	for {
		_, err := d.Token()
		if err == io.EOF {
			break
		}
		require.NoError(t, err, "the SVG is well-formed XML")
	}
	assert.Error(t, SVG(io.Discard, "empty", nil))
}
